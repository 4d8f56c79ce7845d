"""Turning what users pass (numbers, lists, arrays, index expressions, shapes) into what ops take,
with the checks that make a bad argument fail with a message naming the op and the shapes."""

from __future__ import annotations

import numbers
import operator

import numpy as np

from . import backend


def _is_tensor(x) -> bool:      # (this module comes before tensor.py, so it cannot name the class)
    return hasattr(x, "grad_fn")


def _infer_array(data, dtype, device):
    """Turn Python numbers, lists, NumPy/CuPy arrays into a backend array.

    Python floats become float32 (PyTorch's default), Python ints int64, bools bool;
    a NumPy array keeps its dtype.
    """
    dtype = backend.as_dtype(dtype)
    if _is_tensor(data):
        data = data.data
    if hasattr(data, "__cuda_array_interface__") or isinstance(data, np.ndarray):
        arr = data if dtype is None else data.astype(dtype, copy=False)
    else:
        arr = np.asarray(data)
        if dtype is not None:
            arr = arr.astype(dtype, copy=False)
        elif arr.dtype.kind == "f":
            arr = arr.astype(backend.DEFAULT_FLOAT)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(backend.int64)
        elif arr.dtype.kind not in "b":
            raise TypeError(f"tensor(): cannot make a tensor from {type(data).__name__} of dtype {arr.dtype}")
    if device is not None:
        arr = backend.to_device(arr, backend.check_device(device))
    return arr


def _operand(other, like):
    """Python numbers pass through untouched (so they never upcast float32);
    arrays and lists become tensors on ``like``'s device."""
    if _is_tensor(other):
        return other
    if isinstance(other, np.generic) and other.dtype.kind in "biuf":
        other = other.item()     # np.float64(2.5) acts like 2.5: a NumPy scalar does not upcast float32 either
    if isinstance(other, numbers.Number):
        return other
    arr = _infer_array(other, None, None)
    if arr.dtype.kind == "f" and like.dtype.kind == "f" and arr.ndim == 0:
        arr = arr.astype(like.dtype)
    return type(like)(arr, device=like.device)


def _arith(t, other, reflected=False, division=False):
    """The two operands of ``t (op) other`` (``other (op) t`` when reflected), promoted as PyTorch does
    where NumPy would differ: an integer or bool tensor meeting a float -- a Python float, a float
    tensor, or true division -- becomes that float tensor's dtype, else the default float32
    (NumPy would make ``int64 * 2.5`` and ``int64 / 2`` float64). Floats with floats are left to NumPy."""
    other = _operand(other, t)
    a, b = (other, t) if reflected else (t, other)
    if t.dtype.kind == "f" and (not _is_tensor(other) or other.dtype.kind == "f"):
        return a, b                                       # the common case: floats only
    floats = [x.dtype for x in (t, other) if _is_tensor(x) and x.dtype.kind == "f"]
    if floats:                                            # one integer tensor, one float tensor
        target = floats[0]
    elif division or isinstance(other, float):
        target = backend.DEFAULT_FLOAT
    else:
        return a, b
    return tuple(x.to(target) if _is_tensor(x) and x.dtype.kind in "biu" else x for x in (a, b))


def _to_args(args, device, dtype):
    """``.to``'s arguments (of a Tensor or a Module) as (device, dtype): each positional one a device string, a
    dtype (or its name) or a tensor (its device and dtype). A string that is neither is returned as the device,
    for ``backend.check_device`` to say which devices exist."""
    for a in args:
        if _is_tensor(a):
            device, dtype = a.device, a.dtype
        elif isinstance(a, str) and (a == "cpu" or a.startswith("cuda")):
            device = a
        elif isinstance(a, str):
            try:
                dtype = backend.as_dtype(a)
            except TypeError:
                device = a
        else:
            dtype = a
    return device, dtype


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _index_arg(index, t):
    """Tensors and lists inside an index become arrays on the tensor's device; bounds are checked here
    so that a bad index names the op and shapes instead of failing deep inside NumPy."""
    parts = index if isinstance(index, tuple) else (index,)
    xp = t._xp()
    out = []
    for p in parts:
        if _is_tensor(p):
            if p.device != t.device:
                raise backend.DeviceError(f"indexing a tensor on {t.device} with an index tensor on {p.device}")
            p = p.data
        elif isinstance(p, (list, np.ndarray)):
            p = xp.asarray(p)
        if isinstance(p, float) or (hasattr(p, "dtype") and p.dtype.kind == "f"):
            what = "tensor" if hasattr(p, "dtype") else p
            raise IndexError(f"indexing a tensor of shape {t.shape} with a float {what}; "
                             "indices must be integers, slices, None, ... or bool masks")
        out.append(p)
    _check_bounds(out, t.shape)
    return tuple(out) if isinstance(index, tuple) else out[0]


def _check_bounds(parts, shape):
    """Integer-array indices must lie in [-n, n) for the axis they index. NumPy checks this itself,
    but CuPy silently wraps out-of-range array indices around, so the check is done here, once for both."""
    consumed = sum(1 if not hasattr(p, "ndim") or p.dtype.kind != "b" else p.ndim
                   for p in parts if p is not None and p is not Ellipsis)
    axis = 0
    for p in parts:
        if p is None:
            continue
        if p is Ellipsis:
            axis += len(shape) - consumed
            continue
        if hasattr(p, "ndim") and p.dtype.kind == "b":
            axis += p.ndim
            continue
        if hasattr(p, "ndim") and p.ndim > 0 and p.size and axis < len(shape):
            n, lo, hi = shape[axis], int(p.min()), int(p.max())
            if hi >= n or lo < -n:
                bad = hi if hi >= n else lo
                raise IndexError(f"index {bad} is out of bounds for dim {axis} with size {n} "
                                 f"(indexing a tensor of shape {tuple(shape)})")
        axis += 1


def _short(index):
    s = repr(index)
    return s if len(s) < 80 else s[:77] + "..."


def _broadcast_pair(op, a, b, message):
    """``a`` and ``b`` expanded to the shape they broadcast to; where they do not, a RuntimeError ``op: message``."""
    try:
        shape = tuple(np.broadcast_shapes(a.shape, b.shape))
    except ValueError:
        raise RuntimeError(f"{op}: {message}") from None
    return tuple(t if t.shape == shape else t.expand(*shape) for t in (a, b))


def _check_broadcast(op, src, dst, exact=False):
    """Can ``src`` broadcast to ``dst`` (aligned from the right)? If not, say so naming the op."""
    ok = len(src) <= len(dst) and all(a == b or a == 1 for a, b in zip(reversed(src), reversed(dst)))
    if not ok:
        raise RuntimeError(f"{op}: shape {tuple(src)} cannot be broadcast to {tuple(dst)}")


_UNSET = object()


def _numpy_names(method):
    """PyTorch's reductions also take NumPy's names (``x.sum(1, keepdims=True)``, ``x.mean(axis=0)``), and
    lecture code uses them: translate them to ``dim`` / ``keepdim``."""
    def reduction(self, *args, axis=_UNSET, keepdims=_UNSET, **kwargs):
        if axis is not _UNSET:
            kwargs["dim"] = axis
        if keepdims is not _UNSET:
            kwargs["keepdim"] = keepdims
        return method(self, *args, **kwargs)
    reduction.__name__ = reduction.__qualname__ = method.__name__
    reduction.__doc__, reduction.__wrapped__ = method.__doc__, method
    return reduction


def _axes(op, dim, ndim):
    """``dim`` (an int, a tuple of ints or None for all axes) as the sorted tuple of non-negative axes
    that the reductions take; a dim out of range names the op."""
    if dim is None:
        return tuple(range(ndim))
    n = max(ndim, 1)              # a 0-d tensor takes dim 0 or -1, as PyTorch
    out = []
    for d in ((dim,) if isinstance(dim, int) else tuple(dim)):
        if not -n <= d < n:
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dimensions "
                             f"(expected -{n} <= dim < {n})")
        out.append(d % n)
    return tuple(sorted(set(out))) if ndim else ()


def _check_choice(op, name, value, choices):
    """``value`` must be one of ``choices``, or a ValueError names the op, the argument and the choices."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices[:-1]) + f" or {choices[-1]!r}"
        raise ValueError(f"{op}: {name} must be {listed}, got {value!r}")


def _check_probability(op, name, p):
    if not 0 <= p <= 1:
        raise ValueError(f"{op}: {name} must be a probability in [0, 1], got {p}")


def _dim(op, dim, ndim):
    """One ``dim`` as a non-negative axis; out of range names the op (a 0-d tensor takes 0 or -1, as PyTorch)."""
    try:
        d = operator.index(dim)
    except TypeError:
        raise TypeError(f"{op}: dim must be an int, got {dim!r}") from None
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dimensions "
                         f"(expected -{n} <= dim < {n})")
    return d % n


def _index_array(op, index, t):
    """``index`` (a tensor, which must be on ``t``'s device, a list or an array) as an array on ``t``'s device."""
    if not _is_tensor(index):
        return t._xp().asarray(index)
    if index.device != t.device:
        raise backend.DeviceError(f"{op}: the tensor is on {t.device} but the index on {index.device}")
    return index.data


def _index_tensor(op, index, t, dim):
    """The ``index`` of gather / scatter / scatter_add as an integer array on ``t``'s device, checked: integers,
    as many dims as ``t``, every entry in [0, size of ``dim``) (negative entries are errors, as PyTorch)."""
    index = _index_array(op, index, t)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor (int64), got {index.dtype} of shape "
                        f"{tuple(index.shape)}")
    if index.ndim != t.ndim:
        raise RuntimeError(f"{op}: index of shape {tuple(index.shape)} must have as many dimensions as the tensor "
                           f"of shape {t.shape}")
    n = t.shape[dim] if t.ndim else 1
    if index.size:
        lo, hi = int(index.min()), int(index.max())
        if lo < 0 or hi >= n:
            raise IndexError(f"{op}: index {lo if lo < 0 else hi} is out of bounds for dim {dim} with size {n} "
                             f"(tensor of shape {t.shape}, index of shape {tuple(index.shape)})")
    return index
