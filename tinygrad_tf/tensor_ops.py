"""Tensor's ops: the Python operators, elementwise math, reductions, shapes and indexing.

``Tensor`` (tensor.py) inherits these from ``TensorOps``. Each method checks what
the user passed, naming the op and the shapes when it is wrong, then calls one
Function (ops.py, reduce_ops.py, shape_ops.py) -- read those for the math.
"""

from __future__ import annotations

import operator
import weakref

import numpy as np

from . import autograd, backend
from . import ops as O
from . import reduce_ops as R
from . import shape_ops as S
from .tensor_args import (_arith, _axes, _numpy_names, _check_broadcast, _check_choice, _dim, _index_arg, _is_tensor,
                          _operand, _shape_arg, _short)
from .function import OpError, bump_version
from .tensor_inplace import _update


def _binary(op, division=False):
    """``t (op) other`` and the reflected ``other (op) t`` (which Python calls when ``other`` is no Tensor)."""
    def forward(self, other):
        return op.apply(*_arith(self, other, division=division))

    def reflected(self, other):
        return op.apply(*_arith(self, other, reflected=True, division=division))
    return forward, reflected


def _scaled(op, t, other, alpha):
    """``alpha * other`` for add / sub (``other`` itself when alpha is 1). A float alpha with integer tensors
    is refused, as PyTorch refuses it (the result could not stay an integer)."""
    if isinstance(alpha, float) and t.dtype.kind in "biu" and \
            (other.dtype.kind in "biu" if _is_tensor(other) else not isinstance(other, float)):
        raise RuntimeError(f"{op}: for integer tensors (here {t.dtype}), alpha must not be a float; got {alpha}")
    return other if alpha == 1 else _operand(other, t) * alpha


def _cumulative(op, fn, t, dim, dtype):
    """cumsum / cumprod: ``fn`` (the op's Function) along ``dim``; integers and bools give int64 unless ``dtype``
    says otherwise, and a 0-d tensor counts as one element."""
    d = _dim(op, dim, t.ndim)
    if dtype is None and t.dtype.kind in "biu":
        dtype = backend.int64
    if t.ndim == 0:
        return fn.apply(t.reshape(1), 0, backend.as_dtype(dtype)).reshape(())
    return fn.apply(t, d, backend.as_dtype(dtype))


def _floating(t):
    """``t`` itself if it is floating point, else converted to the default float dtype (``tg.arange(3).exp()``)."""
    return t if t.dtype.kind in "fc" else t.type(backend.DEFAULT_FLOAT)


def _comparison(compare):
    """A comparison: a plain boolean tensor, never on the graph."""
    def method(self, other):
        other = _operand(other, self)
        if _is_tensor(other) and other._device != self._device:
            raise backend.DeviceError(f"comparing tensors on two devices: {self._device} {self.shape} and "
                                      f"{other._device} {other.shape}")
        return self._wrap(compare(self.data, other.data if _is_tensor(other) else other), self._device)
    return method


class TensorOps:
    __slots__ = ()

    # ------------------------------------------------------------ operators
    __add__, __radd__ = _binary(O.Add)
    __sub__, __rsub__ = _binary(O.Sub)
    __mul__, __rmul__ = _binary(O.Mul)
    __truediv__, __rtruediv__ = _binary(O.Div, division=True)
    __pow__, __rpow__ = _binary(O.Pow)

    def __matmul__(self, other):
        return _matmul(self, _operand(other, self))

    def __rmatmul__(self, other):
        return _matmul(_operand(other, self), self)

    def __neg__(self):
        return O.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    __eq__, __ne__ = _comparison(operator.eq), _comparison(operator.ne)
    __lt__, __le__ = _comparison(operator.lt), _comparison(operator.le)
    __gt__, __ge__ = _comparison(operator.gt), _comparison(operator.ge)
    __and__, __or__, __xor__ = _comparison(operator.and_), _comparison(operator.or_), _comparison(operator.xor)

    def __invert__(self):
        return self._wrap(~self.data, self._device)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    @_numpy_names
    def any(self, dim=None, keepdim=False):
        return self._wrap(self.data.any(axis=dim, keepdims=keepdim), self._device)

    @_numpy_names
    def all(self, dim=None, keepdim=False):
        return self._wrap(self.data.all(axis=dim, keepdims=keepdim), self._device)

    # ------------------------------------------------------------ elementwise
    # (exp, log, sqrt, tanh, sigmoid, sin, cos of integers or bools give the default float dtype, as PyTorch)
    def exp(self): return O.Exp.apply(_floating(self))            # noqa: E704
    def log(self): return O.Log.apply(_floating(self))            # noqa: E704
    def sqrt(self): return O.Sqrt.apply(_floating(self))          # noqa: E704
    def abs(self): return O.Abs.apply(self)                       # noqa: E704
    def tanh(self): return O.Tanh.apply(_floating(self))          # noqa: E704
    def sigmoid(self): return O.Sigmoid.apply(_floating(self))    # noqa: E704
    def relu(self): return O.ReLU.apply(self)                     # noqa: E704
    def sin(self): return O.Sin.apply(_floating(self))            # noqa: E704
    def cos(self): return O.Cos.apply(_floating(self))            # noqa: E704
    def neg(self): return O.Neg.apply(self)            # noqa: E704
    def rsqrt(self): return self.sqrt() ** -1          # noqa: E704
    def square(self): return self * self               # noqa: E704

    def gelu(self, approximate="none"):
        _check_choice("gelu", "approximate", approximate, ("none", "tanh"))
        return O.GELU.apply(self, approximate)

    def silu(self):
        return O.SiLU.apply(self)

    def pow(self, exponent):
        return self ** exponent

    def clamp(self, min=None, max=None):  # noqa: A002  (PyTorch's argument names)
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        return O.Clamp.apply(self, min, max)

    clip = clamp

    def maximum(self, other):
        return O.Maximum.apply(self, _operand(other, self))

    def minimum(self, other):
        return O.Minimum.apply(self, _operand(other, self))

    def masked_fill(self, mask, value):
        if _is_tensor(mask) and mask.device != self._device:
            raise backend.DeviceError(f"masked_fill: the tensor is on {self._device} but the mask on {mask.device}")
        m = mask.data if _is_tensor(mask) else self._xp().asarray(mask)
        if m.dtype != np.bool_:
            raise TypeError(f"masked_fill: mask must be a bool tensor, got {m.dtype} of shape {tuple(m.shape)} "
                            f"(for a tensor of shape {self.shape}); compare to make one, e.g. mask == 0")
        _check_broadcast("masked_fill", m.shape, self.shape)
        return O.MaskedFill.apply(self, m, value)

    def matmul(self, other):
        return self @ other

    def add(self, other, *, alpha=1):
        """``self + alpha * other``."""
        return self + _scaled("add", self, other, alpha)

    def sub(self, other, *, alpha=1):
        """``self - alpha * other``."""
        return self - _scaled("sub", self, other, alpha)

    def mul(self, other):
        """``self * other``."""
        return self * other

    def div(self, other, *, rounding_mode=None):
        """``self / other``; ``rounding_mode="trunc"`` rounds the quotient toward zero, ``"floor"`` down (as
        Python's ``//``; integers stay integers). Rounded quotients have gradient 0, as in PyTorch."""
        _check_choice("div", "rounding_mode", rounding_mode, (None, "trunc", "floor"))
        if rounding_mode is None:
            return self / other
        a, b = _arith(self, other)
        if a.dtype.kind in "biu" and (b.dtype.kind in "biu" if _is_tensor(b) else isinstance(b, int)) and \
                bool((b.data == 0).any() if _is_tensor(b) else b == 0):
            raise ZeroDivisionError(f"div: integer division by zero (rounding_mode={rounding_mode!r}, tensor of "
                                    f"shape {self.shape})")
        return O.RoundedDiv.apply(a, b, rounding_mode)

    # ------------------------------------------------------------ reductions
    @_numpy_names
    def sum(self, dim=None, keepdim=False):
        return R.Sum.apply(self, _axes("sum", dim, self.ndim), keepdim)

    @_numpy_names
    def mean(self, dim=None, keepdim=False):
        return R.Mean.apply(self, _axes("mean", dim, self.ndim), keepdim)

    @_numpy_names
    def max(self, dim=None, keepdim=False):
        """Values only (``argmax`` gives the indices); ties share the gradient evenly. ``x.max(other_tensor)``
        is ``maximum``, as in PyTorch. With a ``dim``, the result also answers PyTorch's ``.values`` and
        ``.indices`` (``x.max(1).indices``); it does not unpack into two, as PyTorch's named tuple does."""
        if _is_tensor(dim):
            return self.maximum(dim)
        return _with_indices(R.Max.apply(self, _axes("max", dim, self.ndim), keepdim, True), self, dim, keepdim,
                             "argmax")

    @_numpy_names
    def min(self, dim=None, keepdim=False):
        """Values only (``argmin`` gives the indices); ``x.min(other_tensor)`` is ``minimum``; ``.values`` and
        ``.indices`` as for ``max``."""
        if _is_tensor(dim):
            return self.minimum(dim)
        return _with_indices(R.Max.apply(self, _axes("min", dim, self.ndim), keepdim, False), self, dim, keepdim,
                             "argmin")

    @_numpy_names
    def var(self, dim=None, keepdim=False, correction=1, unbiased=None):
        if unbiased is not None:
            correction = int(unbiased)
        return R.Var.apply(self, _axes("var", dim, self.ndim), keepdim, correction)

    @_numpy_names
    def std(self, dim=None, keepdim=False, correction=1, unbiased=None):
        return self.var(dim, keepdim, correction, unbiased).sqrt()

    @_numpy_names
    def logsumexp(self, dim=None, keepdim=False):
        return R.LogSumExp.apply(self, _axes("logsumexp", dim, self.ndim), keepdim)

    def softmax(self, dim=-1):
        _axes("softmax", dim, self.ndim)
        return R.Softmax.apply(self, dim)

    def log_softmax(self, dim=-1):
        _axes("log_softmax", dim, self.ndim)
        return R.LogSoftmax.apply(self, dim)

    def cumsum(self, dim, *, dtype=None):
        """Running sums along ``dim``: ``y[i] = x[0] + ... + x[i]``. Integer and bool tensors give int64."""
        return _cumulative("cumsum", R.CumSum, self, dim, dtype)

    @_numpy_names
    def argmax(self, dim=None, keepdim=False):
        return self._arg(self.data.argmax, dim, keepdim)

    @_numpy_names
    def argmin(self, dim=None, keepdim=False):
        return self._arg(self.data.argmin, dim, keepdim)

    def _arg(self, fn, dim, keepdim):
        if dim is None:
            out = fn()
            return self._wrap(self._xp().asarray(out, dtype=np.int64).reshape((1,) * self.ndim if keepdim else ()),
                              self._device)
        return self._wrap(fn(axis=dim, keepdims=keepdim).astype(np.int64), self._device)

    # ------------------------------------------------------------ shapes
    def reshape(self, *shape):
        shape = list(_shape_arg(shape))
        if shape.count(-1) == 1:                      # infer the one -1 from the element count
            known = 1
            for s in shape:
                known *= s if s != -1 else 1
            if known and self.data.size % known == 0:
                shape[shape.index(-1)] = self.data.size // known
        n = 1
        for s in shape:
            n *= s
        if n != self.data.size or any(s < 0 for s in shape):
            raise RuntimeError(f"reshape: shape {tuple(_shape_arg(shape))} is invalid for a tensor of shape "
                               f"{self.shape} ({self.data.size} elements)")
        return S.Reshape.apply(self, tuple(shape))

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s, e = _dim("flatten", start_dim, self.ndim), _dim("flatten", end_dim, self.ndim)
        if s > e:
            raise RuntimeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} in a tensor of shape "
                               f"{self.shape}")
        shape = self.shape
        n = 1
        for d in shape[s:e + 1]:
            n *= d
        return self.reshape(shape[:s] + (n,) + shape[e + 1:])

    def unflatten(self, dim, sizes):
        dim = _dim("unflatten", dim, self.ndim)
        return self.reshape(self.shape[:dim] + tuple(sizes) + self.shape[dim + 1:])

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        dims = set(_axes("squeeze", dim, self.ndim))   # range-checked, negative dims allowed
        return self.reshape(tuple(s for i, s in enumerate(self.shape) if not (i in dims and s == 1)))

    def unsqueeze(self, dim):
        if not -self.ndim - 1 <= dim <= self.ndim:
            raise IndexError(f"unsqueeze: dim {dim} out of range for a tensor with {self.ndim} dimensions")
        dim = dim % (self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def permute(self, *dims):
        dims = _shape_arg(dims)
        if len(dims) != self.ndim:
            raise ValueError(f"permute: dims {tuple(dims)} name {len(dims)} axes, but the tensor of shape {self.shape} "
                             f"has {self.ndim}; give each axis once")
        axes = tuple(_dim("permute", d, self.ndim) for d in dims) if self.ndim else ()
        if len(set(axes)) != len(axes):
            raise ValueError(f"permute: dims {tuple(dims)} repeat an axis; give each of the {self.ndim} axes of "
                             f"{self.shape} once")
        return S.Permute.apply(self, axes)

    def transpose(self, dim0, dim1):
        d0, d1 = _dim("transpose", dim0, self.ndim), _dim("transpose", dim1, self.ndim)
        axes = list(range(self.ndim))
        if not axes:                                  # a 0-d tensor: transpose(0, -1) is itself, as PyTorch
            return S.Permute.apply(self, ())
        axes[d0], axes[d1] = axes[d1], axes[d0]
        return S.Permute.apply(self, tuple(axes))

    def t(self):
        """The 2-D transpose; 0-D and 1-D tensors come back as they are (as PyTorch)."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but this one has shape {self.shape}; "
                               "use transpose(dim0, dim1) or .mT")
        return self.transpose(0, 1) if self.ndim == 2 else self

    def tril(self, diagonal=0):
        """The lower triangle of the last two dims: elements above the ``diagonal``-th diagonal become 0
        (``diagonal=0`` keeps the main diagonal, 1 one more above it, -1 one fewer)."""
        return self._triangle("tril", O.Tril, diagonal)

    def triu(self, diagonal=0):
        """The upper triangle of the last two dims: elements below the ``diagonal``-th diagonal become 0."""
        return self._triangle("triu", O.Triu, diagonal)

    def _triangle(self, op, fn, diagonal):
        if self.ndim < 2:
            raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions, got shape {self.shape}")
        return fn.apply(self, operator.index(diagonal))

    def flip(self, *dims):
        """Reverse the order of the elements along ``dims`` (``x.flip(0)``, ``x.flip(0, 1)``, ``x.flip([0, 1])``)."""
        dims = tuple(_dim("flip", d, self.ndim) for d in _shape_arg(dims))
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"flip: a dim appears more than once in dims {dims} (tensor of shape {self.shape})")
        return S.Flip.apply(self, dims if self.ndim else ())

    def roll(self, shifts, dims=None):
        """Shift the elements cyclically by ``shifts`` along ``dims`` (ints or tuples of equal length); those
        pushed off one end come back at the other. ``dims=None`` rolls the flattened tensor, keeping the shape."""
        if dims is None:
            if not isinstance(shifts, int):
                shifts = tuple(shifts)
                if len(shifts) != 1:
                    raise RuntimeError(f"roll: without dims, shifts must be one int, got {shifts}")
                shifts = shifts[0]
            return S.Roll.apply(self, operator.index(shifts), None)
        shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        if len(shifts) != len(dims):
            raise RuntimeError(f"roll: shifts {shifts} and dims {dims} must have the same length")
        dims = tuple(_dim("roll", d, self.ndim) for d in dims)
        if self.ndim == 0:
            return S.Roll.apply(self, 0, None)
        return S.Roll.apply(self, tuple(operator.index(s) for s in shifts), dims)

    def expand(self, *sizes):
        sizes = _shape_arg(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise RuntimeError(f"expand: target {tuple(sizes)} has fewer dimensions than the tensor {self.shape}")
        if any(s == -1 for s in sizes[:lead]):
            raise RuntimeError(f"expand: -1 is not allowed for a new leading dimension (target {tuple(sizes)}, "
                               f"tensor {self.shape})")
        shape = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
        _check_broadcast("expand", self.shape, shape, exact=True)
        return S.Expand.apply(self, shape)

    def expand_as(self, other):
        return self.expand(*other.shape)

    def broadcast_to(self, shape):
        return self.expand(*shape)

    def split(self, split_size_or_sections, dim=0):
        n = self.shape[dim]
        if isinstance(split_size_or_sections, int):
            sizes = [min(split_size_or_sections, n - i) for i in range(0, n, split_size_or_sections)]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != n:
                raise ValueError(f"split: sections {sizes} do not add up to the size {n} of dim {dim}")
        out, start = [], 0
        lead = (slice(None),) * (dim % self.ndim)
        for s in sizes:
            out.append(self[lead + (slice(start, start + s),)])
            start += s
        return tuple(out)

    def chunk(self, chunks, dim=0):
        n = self.shape[dim]
        return self.split(-(-n // chunks), dim)

    def __getitem__(self, index):
        index = _index_arg(index, self)
        try:
            return S.GetItem.apply(self, index)
        except IndexError as e:
            raise IndexError(f"index {_short(index)} is invalid for a tensor of shape {self.shape}: {e}") from None

    def __setitem__(self, index, value):
        """``t[index] = value``. Where no graph is recorded, the values are written into t's array; on a tensor in
        a graph (or with a value that needs gradients) it is recorded as a SetItem node, as PyTorch records it, and
        t becomes that node's output. A parameter (a leaf that requires grad) only changes under no_grad."""
        index = _index_arg(index, self)
        graph = autograd.is_grad_enabled() and (self.requires_grad or (_is_tensor(value) and value.requires_grad))
        if not graph:
            self.data[index] = value.data if _is_tensor(value) else value
            bump_version(self.data)
            return
        _update(self, "t[index] = value", lambda: S.SetItem.apply(self, _operand(value, self), index))


def _matmul(a, b):
    """``a @ b`` once the shapes are known to fit: a's last dim is b's first matrix dim (its only one for a vector),
    and the batch dims in front broadcast -- else an error that shows the shapes and says which sizes differ."""
    if not (_is_tensor(a) and _is_tensor(b)):                # a NumPy array or a list on one side: MatMul says
        return O.MatMul.apply(a, b)
    sa, sb = a._data.shape, b._data.shape
    if not sa or not sb:
        raise OpError(f"MatMul: {sa} @ {sb}: both operands need at least 1 dimension; multiply by a 0-d tensor "
                      "with *")
    k_a, k_b = sa[-1], sb[-2 if len(sb) > 1 else 0]
    if k_a != k_b:
        raise OpError(f"MatMul: {sa} @ {sb}: the inner sizes {k_a} and {k_b} differ (the last dim of the left "
                      f"operand must equal the {'first' if len(sb) == 1 else 'second-to-last'} dim of the right)")
    if len(sa) > 2 and len(sb) > 2 and sa[:-2] != sb[:-2]:
        try:
            np.broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            raise OpError(f"MatMul: {sa} @ {sb}: the batch dims {sa[:-2]} and {sb[:-2]} in front of the matrices do "
                          "not broadcast") from None
    return O.MatMul.apply(a, b)


# ``x.max(dim)`` is its values (DESIGN: argmax gives the indices), but PyTorch code reads ``x.max(dim).values`` and
# ``.indices``: the result remembers where its indices come from, and Tensor.__getattr__ answers the two names.
_INDICES_OF: dict = {}


def _with_indices(values, source, dim, keepdim, arg):
    if dim is not None:
        key = id(values)
        _INDICES_OF[key] = (source, dim, keepdim, arg)
        weakref.finalize(values, _INDICES_OF.pop, key, None)
    return values


def values_or_indices(t, name):
    """``.values`` / ``.indices`` of a ``max(dim)`` / ``min(dim)`` result, or None for any other tensor."""
    found = _INDICES_OF.get(id(t))
    if found is None or name not in ("values", "indices"):
        return None
    source, dim, keepdim, arg = found
    return t if name == "values" else getattr(source, arg)(dim, keepdim)
