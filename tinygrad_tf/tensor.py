"""Tensor: an array (NumPy or CuPy), its gradient, and the op that made it.

Every method here is a thin call into a Function (ops.py, reduce_ops.py,
shape_ops.py, nn_ops.py) — read those for the math. ``backward()`` is in
autograd.py.
"""

from __future__ import annotations

import numpy as np

from . import autograd, backend
from . import ops as O
from . import reduce_ops as R
from . import shape_ops as S
from .tensor_args import (_arith, _check_broadcast, _index_arg, _infer_array, _operand, _shape_arg,  # noqa: F401
                          _short)


class Tensor:
    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "_hooks", "_device", "name", "__weakref__")
    __array_priority__ = 1000   # so that ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        arr = _infer_array(data, dtype, device)
        self.data = arr
        self._device = backend.device_of(arr)
        self.grad = None
        self.grad_fn = None
        self._hooks = None
        self.name = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, arr, device):
        """Fast constructor for op outputs (no conversion, except that a NumPy scalar, which NumPy
        returns for math on 0-d arrays, becomes the 0-d array it stands for)."""
        if type(arr) is not np.ndarray and isinstance(arr, np.generic):
            arr = np.asarray(arr)
        t = cls.__new__(cls)
        t.data, t._device = arr, device
        t.grad = t.grad_fn = t._hooks = t.name = None
        t.requires_grad = False
        return t

    # ------------------------------------------------------------ attributes
    shape = property(lambda self: tuple(self.data.shape))
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    device = property(lambda self: self._device)
    is_leaf = property(lambda self: self.grad_fn is None)
    T = property(lambda self: self.permute(*reversed(range(self.ndim))))
    mT = property(lambda self: self.transpose(-2, -1))

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        return int(self.data.size)

    def dim(self) -> int:
        return self.ndim

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self):
        body = np.array2string(backend.to_numpy(self.data), precision=4, separator=", ", threshold=50,
                               prefix="tensor(")
        extras = []
        if self.dtype not in (backend.float32, backend.int64, backend.bool_):
            extras.append(f"dtype={self.dtype}")
        if self._device != "cpu":
            extras.append(f"device='{self._device}'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{type(self.grad_fn).__name__}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def __hash__(self):
        return id(self)

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with {self.data.size} elements is ambiguous; "
                               "use .any() or .all()")
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        return int(self.item())

    # ------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (shares memory on the CPU; copies from the GPU)."""
        return backend.to_numpy(self.data)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted to a Python number; "
                             f"this one has shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return backend.to_numpy(self.data).tolist()

    def to(self, *args, dtype=None, device=None):
        """``.to("cuda")``, ``.to(tg.float64)``, ``.to(other_tensor)`` or ``.to(device=..., dtype=...)``."""
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, str) and (a == "cpu" or a.startswith("cuda")):
                device = a
            elif isinstance(a, str):
                try:
                    dtype = backend.as_dtype(a)
                except TypeError:
                    device = backend.check_device(a)   # neither a dtype nor a device: says which devices exist
            else:
                dtype = a
        out = self
        if dtype is not None and backend.as_dtype(dtype) != self.dtype:
            out = out.type(dtype)
        if device is not None:
            device = backend.check_device(device)
            if device != out._device:
                out = _ToDevice.apply(out, device)
        return out

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def type(self, dtype):
        dtype = backend.as_dtype(dtype)
        if dtype == self.dtype:
            return self
        if self.requires_grad and dtype.kind == "f":
            return O.Cast.apply(self, dtype)
        return Tensor._wrap(self.data.astype(dtype), self._device)

    def float(self):
        return self.type(backend.float32)

    def double(self):
        return self.type(backend.float64)

    def half(self):
        return self.type(backend.float16)

    def long(self):
        return self.type(backend.int64)

    def bool(self):
        return self.type(backend.bool_)

    def contiguous(self):
        return self

    def clone(self):
        return self * 1 if self.requires_grad else Tensor._wrap(self.data.copy(), self._device)

    # ------------------------------------------------------------ autograd
    def detach(self):
        """The same values, cut off from the graph."""
        return Tensor._wrap(self.data, self._device)

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients; this one is {self.dtype}")
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor: use .detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    def register_hook(self, fn):
        """Call ``fn(grad)`` when this tensor's gradient is computed; if it returns a tensor, that replaces the gradient.

        Returns a handle whose ``.remove()`` unregisters the hook.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook on a tensor that does not require grad")
        if self.grad_fn is None:
            self._hooks = self._hooks or []
            hooks = self._hooks
        else:
            self.grad_fn._hooks = self.grad_fn._hooks or []
            hooks = self.grad_fn._hooks
        hooks.append(fn)
        return _HookHandle(hooks, fn)

    def retain_grad(self):
        """Keep ``.grad`` on a non-leaf tensor after backward (leaves always keep it)."""
        if self.grad_fn is not None:
            import weakref
            self.grad_fn._retain = weakref.ref(self)
        return self

    def backward(self, grad=None, retain_graph=False):
        """Compute d(self)/d(leaf) for every leaf that requires grad, adding into ``leaf.grad``."""
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no grad_fn; "
                               "did you create the inputs with requires_grad=True (and not under no_grad)?")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward(): grad can be implicitly created only for scalar outputs; this "
                                   f"tensor has shape {self.shape}, so pass grad= a tensor of that shape")
            g = self._xp().ones(self.data.shape, dtype=self.dtype)
        else:
            g = grad.data if isinstance(grad, Tensor) else _infer_array(grad, self.dtype, self._device)
            if tuple(g.shape) != self.shape:
                raise RuntimeError(f"backward(): grad has shape {tuple(g.shape)} but the tensor has shape {self.shape}")
            g = g.astype(self.dtype)   # a copy: no tensor's .grad may alias the caller's array
        if self.grad_fn is None:   # a leaf: its gradient w.r.t. itself
            if self._hooks:
                g = autograd._run_hooks(self._hooks, g, self._device, "a leaf")
            self.grad = Tensor._wrap(autograd._own(g, set()) if self.grad is None else self.grad.data + g,
                                     self._device)
            return
        autograd.run_backward(self, g, retain_graph)

    def zero_grad(self):
        self.grad = None

    def _xp(self):
        return np if self._device == "cpu" else backend.xp_for(self._device)

    # ------------------------------------------------------------ operators
    def __add__(self, other):
        return O.Add.apply(*_arith(self, other))

    def __radd__(self, other):
        return O.Add.apply(*_arith(self, other, reflected=True))

    def __sub__(self, other):
        return O.Sub.apply(*_arith(self, other))

    def __rsub__(self, other):
        return O.Sub.apply(*_arith(self, other, reflected=True))

    def __mul__(self, other):
        return O.Mul.apply(*_arith(self, other))

    def __rmul__(self, other):
        return O.Mul.apply(*_arith(self, other, reflected=True))

    def __truediv__(self, other):
        return O.Div.apply(*_arith(self, other, division=True))

    def __rtruediv__(self, other):
        return O.Div.apply(*_arith(self, other, reflected=True, division=True))

    def __pow__(self, other):
        return O.Pow.apply(*_arith(self, other))

    def __rpow__(self, other):
        return O.Pow.apply(*_arith(self, other, reflected=True))

    def __matmul__(self, other):
        return O.MatMul.apply(self, _operand(other, self))

    def __rmatmul__(self, other):
        return O.MatMul.apply(_operand(other, self), self)

    # in-place arithmetic (``w -= lr * w.grad`` under no_grad): changes .data, records nothing
    def _inplace(self, other, op):
        if self.requires_grad and autograd.is_grad_enabled():
            raise RuntimeError(f"in-place {op} on a tensor that requires grad (shape {self.shape}) would corrupt "
                               "its gradient; do parameter updates inside `with tg.no_grad():`")
        other = _operand(other, self)
        if isinstance(other, Tensor):
            if other._device != self._device:
                raise backend.DeviceError(f"in-place {op}: tensors on {self._device} and {other._device}")
            other = other.data
        _check_broadcast(f"in-place {op}", getattr(other, "shape", ()), self.shape)
        arr = self.data
        if op == "+=":
            arr += other
        elif op == "-=":
            arr -= other
        elif op == "*=":
            arr *= other
        else:
            arr /= other
        return self

    def __iadd__(self, other):
        return self._inplace(other, "+=")

    def __isub__(self, other):
        return self._inplace(other, "-=")

    def __imul__(self, other):
        return self._inplace(other, "*=")

    def __itruediv__(self, other):
        return self._inplace(other, "/=")

    def __neg__(self):
        return O.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    # comparisons: plain boolean tensors, never on the graph
    def _compare(self, other, fn):
        other = _operand(other, self)
        if isinstance(other, Tensor) and other._device != self._device:
            raise backend.DeviceError(f"comparing tensors on two devices: {self._device} {self.shape} and "
                                      f"{other._device} {other.shape}")
        return Tensor._wrap(fn(self.data, other.data if isinstance(other, Tensor) else other), self._device)

    def __lt__(self, o): return self._compare(o, lambda a, b: a < b)    # noqa: E704
    def __le__(self, o): return self._compare(o, lambda a, b: a <= b)   # noqa: E704
    def __gt__(self, o): return self._compare(o, lambda a, b: a > b)    # noqa: E704
    def __ge__(self, o): return self._compare(o, lambda a, b: a >= b)   # noqa: E704
    def __eq__(self, o): return self._compare(o, lambda a, b: a == b)   # noqa: E704
    def __ne__(self, o): return self._compare(o, lambda a, b: a != b)   # noqa: E704
    def __invert__(self): return Tensor._wrap(~self.data, self._device)  # noqa: E704
    def __and__(self, o): return self._compare(o, lambda a, b: a & b)   # noqa: E704
    def __or__(self, o): return self._compare(o, lambda a, b: a | b)    # noqa: E704

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def any(self, dim=None, keepdim=False):
        return Tensor._wrap(self.data.any(axis=dim, keepdims=keepdim), self._device)

    def all(self, dim=None, keepdim=False):
        return Tensor._wrap(self.data.all(axis=dim, keepdims=keepdim), self._device)

    # ------------------------------------------------------------ elementwise
    def exp(self): return O.Exp.apply(self)            # noqa: E704
    def log(self): return O.Log.apply(self)            # noqa: E704
    def sqrt(self): return O.Sqrt.apply(self)          # noqa: E704
    def abs(self): return O.Abs.apply(self)            # noqa: E704
    def tanh(self): return O.Tanh.apply(self)          # noqa: E704
    def sigmoid(self): return O.Sigmoid.apply(self)    # noqa: E704
    def relu(self): return O.ReLU.apply(self)          # noqa: E704
    def sin(self): return O.Sin.apply(self)            # noqa: E704
    def cos(self): return O.Cos.apply(self)            # noqa: E704
    def neg(self): return O.Neg.apply(self)            # noqa: E704
    def rsqrt(self): return self.sqrt() ** -1          # noqa: E704
    def square(self): return self * self               # noqa: E704

    def gelu(self, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
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
        if isinstance(mask, Tensor) and mask.device != self._device:
            raise backend.DeviceError(f"masked_fill: the tensor is on {self._device} but the mask on {mask.device}")
        m = mask.data if isinstance(mask, Tensor) else self._xp().asarray(mask)
        if m.dtype != np.bool_:
            raise TypeError(f"masked_fill: mask must be a bool tensor, got {m.dtype} of shape {tuple(m.shape)} "
                            f"(for a tensor of shape {self.shape}); compare to make one, e.g. mask == 0")
        _check_broadcast("masked_fill", m.shape, self.shape)
        return O.MaskedFill.apply(self, m, value)

    def matmul(self, other):
        return self @ other

    # ------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False):
        return R.Sum.apply(self, dim, keepdim)

    def mean(self, dim=None, keepdim=False):
        return R.Mean.apply(self, dim, keepdim)

    def max(self, dim=None, keepdim=False):
        """Values only (``argmax`` gives the indices); ties share the gradient evenly."""
        return R.Max.apply(self, dim, keepdim, True)

    def min(self, dim=None, keepdim=False):
        return R.Max.apply(self, dim, keepdim, False)

    def var(self, dim=None, keepdim=False, correction=1, unbiased=None):
        if unbiased is not None:
            correction = int(unbiased)
        return R.Var.apply(self, dim, keepdim, correction)

    def std(self, dim=None, keepdim=False, correction=1, unbiased=None):
        return self.var(dim, keepdim, correction, unbiased).sqrt()

    def logsumexp(self, dim=None, keepdim=False):
        return R.LogSumExp.apply(self, dim, keepdim)

    def softmax(self, dim=-1):
        R._axes(dim, self.ndim)
        return R.Softmax.apply(self, dim)

    def log_softmax(self, dim=-1):
        R._axes(dim, self.ndim)
        return R.LogSoftmax.apply(self, dim)

    def argmax(self, dim=None, keepdim=False):
        return self._arg(self.data.argmax, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return self._arg(self.data.argmin, dim, keepdim)

    def _arg(self, fn, dim, keepdim):
        if dim is None:
            out = fn()
            return Tensor._wrap(self._xp().asarray(out, dtype=np.int64).reshape((1,) * self.ndim if keepdim else ()),
                                self._device)
        return Tensor._wrap(fn(axis=dim, keepdims=keepdim).astype(np.int64), self._device)

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
        s, e = start_dim % self.ndim, end_dim % self.ndim
        shape = self.shape
        n = 1
        for d in shape[s:e + 1]:
            n *= d
        return self.reshape(shape[:s] + (n,) + shape[e + 1:])

    def unflatten(self, dim, sizes):
        dim %= self.ndim
        return self.reshape(self.shape[:dim] + tuple(sizes) + self.shape[dim + 1:])

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        dims = set(R._axes(dim, self.ndim))          # range-checked, negative dims allowed
        return self.reshape(tuple(s for i, s in enumerate(self.shape) if not (i in dims and s == 1)))

    def unsqueeze(self, dim):
        if not -self.ndim - 1 <= dim <= self.ndim:
            raise IndexError(f"unsqueeze: dim {dim} out of range for a tensor with {self.ndim} dimensions")
        dim = dim % (self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def permute(self, *dims):
        dims = _shape_arg(dims)
        if sorted(d % max(self.ndim, 1) for d in dims) != list(range(self.ndim)):
            raise ValueError(f"permute: dims {tuple(dims)} are not a permutation of the {self.ndim} axes of {self.shape}")
        return S.Permute.apply(self, tuple(d % self.ndim for d in dims))

    def transpose(self, dim0, dim1):
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return S.Permute.apply(self, tuple(axes))

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
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError("in-place assignment into a tensor that requires grad would corrupt its gradient; "
                               "build a new tensor (tg.where, masked_fill, cat) or wrap it in tg.no_grad()")
        self.data[_index_arg(index, self)] = value.data if isinstance(value, Tensor) else value


def is_grad_enabled():
    return autograd.is_grad_enabled()


class _ToDevice(autograd.Function):
    """Copy between CPU and GPU; the gradient is copied back."""

    @staticmethod
    def forward(ctx, x, device):
        ctx.src = backend.device_of(x)
        return backend.to_device(x, device)

    @staticmethod
    def backward(ctx, g):
        return backend.to_device(g, ctx.src)

    @classmethod
    def apply(cls, x, device):   # the output lives on the *target* device
        ctx = cls.__new__(cls)
        out = cls.forward(ctx, x.data, device)
        t = Tensor._wrap(out, device)
        if x.requires_grad and is_grad_enabled():
            ctx.xp, ctx.device, ctx.needs_input_grad = backend.xp_for(device), device, (True, False)
            ctx.next, ctx.in_meta = (x.grad_fn or x, None), ((x.shape, x.dtype), None)
            ctx.out_shape, ctx.out_dtype, ctx._hooks, ctx._retain, ctx.released = out.shape, out.dtype, None, None, False
            t.grad_fn, t.requires_grad = ctx, True
        return t


class _HookHandle:
    def __init__(self, hooks, fn):
        self.hooks, self.fn = hooks, fn

    def remove(self):
        if self.fn in self.hooks:
            self.hooks.remove(self.fn)


autograd.Tensor = Tensor
