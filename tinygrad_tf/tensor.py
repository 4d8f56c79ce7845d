"""Tensor: an array (NumPy or CuPy), its gradient, and the op that made it.

This file is the tensor itself: its data, attributes, conversions and autograd
entry points. Its ops (operators, math, reductions, shapes, indexing) are thin
calls into Functions, inherited from ``TensorOps`` in tensor_ops.py, ``MathOps`` in
tensor_math.py (log1p, erf, prod, isclose, ...), ``LinalgOps`` in tensor_linalg.py
(mm, bmm, norm, inverse, det), ``ShapeOps`` in tensor_shape.py (repeat, narrow,
diagonal, new_zeros, ...), ``IndexOps`` in tensor_index.py (gather, scatter, sort,
topk, index_select, nonzero), ``RandomOps`` in tensor_random.py (multinomial,
bernoulli) and ``InPlaceOps`` in tensor_inplace.py (``add_``,
``copy_``, ``normal_``, ``exp_``, ...); read the Functions (ops.py, math_ops.py,
reduce_ops.py, shape_ops.py, index_ops.py, linalg_ops.py, nn_ops.py) for the math.
``backward()`` runs autograd.py's backward pass.
"""

from __future__ import annotations

from operator import attrgetter

import numpy as np

from . import autograd, backend, function
from . import ops as O
from . import shape_ops as S
from .compat import missing
from .tensor_args import _dim, _infer_array, _to_args
from .tensor_index import IndexOps
from .tensor_inplace import InPlaceOps
from .tensor_linalg import LinalgOps
from .tensor_math import MathOps
from .tensor_ops import TensorOps, values_or_indices
from .tensor_random import RandomOps
from .tensor_shape import ShapeOps

# how tensors print (``tg.set_printoptions``): NumPy's array2string options
PRINT_OPTIONS = dict(precision=4, threshold=50, edgeitems=3, linewidth=75, sci_mode=None)
_PROFILES = {"default": dict(precision=4, threshold=50, edgeitems=3, linewidth=75),
             "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
             "full": dict(precision=4, threshold=float("inf"), edgeitems=3, linewidth=80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """How tensors print, as ``torch.set_printoptions``: ``precision`` (digits after the point), ``threshold``
    (more elements than this are summarised with ``...``), ``edgeitems`` (elements kept at each end when
    summarised), ``linewidth``, ``profile`` ("default", "short" or "full": a preset of the four, applied first)
    and ``sci_mode`` (True: always scientific notation; False: never; None: NumPy's choice)."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be 'default', 'short' or 'full', got {profile!r}")
        PRINT_OPTIONS.update(_PROFILES[profile])
    for name, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                        ("linewidth", linewidth)):
        if value is not None:
            PRINT_OPTIONS[name] = value
    PRINT_OPTIONS["sci_mode"] = sci_mode


class Tensor(TensorOps, MathOps, LinalgOps, ShapeOps, IndexOps, RandomOps, InPlaceOps):
    __slots__ = ("_data", "grad", "requires_grad", "grad_fn", "_hooks", "_device", "name", "__weakref__")
    __array_priority__ = 1000   # so that ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        arr = _infer_array(data, dtype, device)
        self._data = arr
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
        t._data, t._device = arr, device
        t.grad = t.grad_fn = t._hooks = t.name = None
        t.requires_grad = False
        return t

    # ------------------------------------------------------------ attributes
    @property
    def data(self):
        """The backend array (NumPy or CuPy) that holds the values; no graph, no gradient."""
        return self._data

    @data.setter
    def data(self, value):
        # ``p.data += -lr * p.grad`` (hand-written updates in PyTorch code): NumPy hands ``+=`` with a Tensor on
        # the right to Tensor.__radd__, so the new value arrives as a Tensor; keep its array.
        self._data = value._data if isinstance(value, Tensor) else value

    # read straight off the array (operator.attrgetter: no Python frame; these are asked on every op)
    shape = property(attrgetter("_data.shape"), doc="The size of each dimension, a tuple.")
    ndim = property(attrgetter("_data.ndim"), doc="The number of dimensions.")
    dtype = property(attrgetter("_data.dtype"), doc="The element type, a NumPy dtype (tg.float32, ...).")
    device = property(lambda self: backend.DEVICE[self._device])   # a tg.device: == "cpu", and .type
    is_leaf = property(lambda self: self.grad_fn is None)
    T = property(lambda self: self.permute(*reversed(range(self.ndim))))
    mT = property(lambda self: self.transpose(-2, -1))

    def size(self, dim=None):
        """The shape, or the size of one ``dim``."""
        if dim is None:
            return self.shape
        if self.ndim == 0:
            raise IndexError(f"size: dim {dim} asked of a 0-d tensor, which has no dimensions")
        return self.shape[_dim("size", dim, self.ndim)]

    def numel(self) -> int:
        return int(self.data.size)

    nelement = numel

    def __getattr__(self, name):        # only called when normal lookup fails: a torch.Tensor name we lack?
        found = values_or_indices(self, name)       # x.max(dim).values / .indices
        if found is not None:
            return found
        raise missing("'Tensor' object", name, f"torch.Tensor.{name}")

    def __format__(self, spec):
        """``f"{loss:.4f}"``: a 0-d tensor formats as its number, as in PyTorch."""
        return format(self.item(), spec) if self.ndim == 0 else object.__format__(self, spec)

    def dim(self) -> int:
        return self.ndim

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self):
        opts = PRINT_OPTIONS
        arr = backend.to_numpy(self.data)
        formatter = {"float_kind": f"{{:.{opts['precision']}e}}".format} if opts["sci_mode"] else None
        threshold = opts["threshold"] if opts["threshold"] != float("inf") else max(arr.size, 1)
        body = np.array2string(arr, precision=opts["precision"], separator=", ", threshold=threshold,
                               edgeitems=opts["edgeitems"], max_line_width=opts["linewidth"], prefix="tensor(",
                               suppress_small=opts["sci_mode"] is False, formatter=formatter)
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

    def __float__(self): return float(self.item())   # noqa: E704
    def __int__(self): return int(self.item())       # noqa: E704
    def __index__(self): return int(self.item())     # noqa: E704

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

    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False):
        """``.to("cuda")``, ``.to(tg.float64)``, ``.to(other_tensor)`` or ``.to(device=..., dtype=...)``;
        ``copy=True`` returns a new tensor even when nothing changes. (``non_blocking`` is accepted: copies
        between devices here always complete before ``to`` returns.)"""
        device, dtype = _to_args(args, device, dtype)
        out = self
        if dtype is not None and backend.as_dtype(dtype) != self.dtype:
            out = out.type(dtype)
        if device is not None:
            device = backend.check_device(device)
            if device != out._device:
                out = S.ToDevice.apply(out, device)
        return out.clone() if copy and out is self else out

    def cpu(self, memory_format=None):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        return self.to("cuda" if device is None else device)

    def type(self, dtype):
        dtype = backend.as_dtype(dtype)
        if dtype == self.dtype:
            return self
        if self.requires_grad and dtype.kind == "f":
            return O.Cast.apply(self, dtype)
        return Tensor._wrap(self.data.astype(dtype), self._device)

    def float(self): return self.type(backend.float32)    # noqa: E704
    def double(self): return self.type(backend.float64)   # noqa: E704
    def half(self): return self.type(backend.float16)     # noqa: E704
    def long(self): return self.type(backend.int64)       # noqa: E704
    def bool(self): return self.type(backend.bool_)       # noqa: E704
    def contiguous(self): return self                     # noqa: E704

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

    def backward(self, grad=None, retain_graph=None, create_graph=False, inputs=None, *, gradient=None):
        """Compute d(self)/d(leaf) for every leaf that requires grad, adding into ``leaf.grad``.

        ``grad`` (or ``gradient``, PyTorch's name) is d(loss)/d(self), needed unless self is a scalar.
        ``retain_graph=True`` keeps the saved arrays for another backward. ``create_graph=True`` records the
        backward pass too: each ``.grad`` is then a Tensor on a graph, to differentiate again (second
        derivatives); ``retain_graph`` defaults to it. ``inputs``: add into these tensors' ``.grad`` only.
        """
        grad = gradient if grad is None else grad
        if create_graph or inputs is not None:
            return autograd.backward(self, grad, retain_graph, create_graph, inputs)
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
        autograd.run_backward(self, g, bool(retain_graph))

    def zero_grad(self):
        self.grad = None

    def _xp(self):
        return np if self._device == "cpu" else backend.xp_for(self._device)


class _HookHandle:
    def __init__(self, hooks, fn):
        self.hooks, self.fn = hooks, fn

    def remove(self):
        if self.fn in self.hooks:
            self.hooks.remove(self.fn)


autograd.Tensor = function.Tensor = Tensor
