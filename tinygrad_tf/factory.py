"""Making tensors (zeros, randn, arange, ...) and the module-level twins of Tensor
methods (``tg.exp(x)``, ``tg.cat([...])``, ``tg.where(c, a, b)``), as in PyTorch."""

from __future__ import annotations

import numpy as np

from . import backend
from . import ops as O
from . import shape_ops as S
from .tensor import Tensor
from .tensor_args import _operand


def tensor(data, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor holding a *copy* of ``data`` (lists, numbers, NumPy arrays, tensors)."""
    if isinstance(data, Tensor):
        data = data.data
    copy = data.copy() if hasattr(data, "copy") and hasattr(data, "dtype") else data
    return Tensor(copy, dtype=dtype, device=device, requires_grad=requires_grad)


def _new(fill, shape, dtype, device, requires_grad, default=backend.DEFAULT_FLOAT):
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    device = backend.check_device(device)
    dtype = backend.as_dtype(dtype) or default
    arr = fill(backend.xp_for(device), tuple(int(s) for s in shape), dtype, device)
    return Tensor(arr, requires_grad=requires_grad)


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    return _new(lambda xp, s, d, dev: xp.zeros(s, dtype=d), shape, dtype, device, requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    return _new(lambda xp, s, d, dev: xp.ones(s, dtype=d), shape, dtype, device, requires_grad)


def empty(*shape, dtype=None, device=None, requires_grad=False):
    return _new(lambda xp, s, d, dev: xp.empty(s, dtype=d), shape, dtype, device, requires_grad)


def full(shape, fill_value, dtype=None, device=None, requires_grad=False):
    default = backend.DEFAULT_FLOAT if isinstance(fill_value, float) else \
        (backend.bool_ if isinstance(fill_value, bool) else backend.int64)
    return _new(lambda xp, s, d, dev: xp.full(s, fill_value, dtype=d), (shape,) if isinstance(shape, int) else
                (tuple(shape),), dtype, device, requires_grad, default)


def randn(*shape, dtype=None, device=None, requires_grad=False):
    """Standard normal samples, from the generator that ``tg.manual_seed`` seeds."""
    return _new(lambda xp, s, d, dev: backend.rng(dev).standard_normal(s, dtype=np.float32 if d == np.float16
                                                                       else d).astype(d, copy=False),
                shape, dtype, device, requires_grad)


def rand(*shape, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1)."""
    def fill(xp, s, d, dev):
        x = backend.rng(dev).random(s, dtype=np.float32 if d == np.float16 else d).astype(d, copy=False)
        return xp.minimum(x, np.nextafter(d.type(1), d.type(0)))   # float16 rounding must not reach 1
    return _new(fill, shape, dtype, device, requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None):
    if high is None:
        low, high = 0, low
    device = backend.check_device(device)
    arr = backend.rng(device).integers(low, high, size=tuple(size))
    return Tensor(arr.astype(backend.as_dtype(dtype) or backend.int64))


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    floats = any(isinstance(v, float) for v in (start, end, step))
    dtype = backend.as_dtype(dtype) or (backend.DEFAULT_FLOAT if floats else backend.int64)
    device = backend.check_device(device)
    return Tensor(backend.xp_for(device).arange(start, end, step, dtype=dtype), requires_grad=requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _new(lambda xp, s, d, dev: xp.eye(n, m, dtype=d), (), dtype, device, requires_grad)


def _like(fn):
    def like(t, dtype=None, device=None, requires_grad=False):
        return fn(*t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)
    like.__name__ = fn.__name__ + "_like"
    like.__doc__ = f"``{fn.__name__}`` with the shape, dtype and device of a tensor."
    return like


zeros_like, ones_like, randn_like, rand_like = _like(zeros), _like(ones), _like(randn), _like(rand)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def _check_same(op, tensors, dim):
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    ref = tensors[0]
    for t in tensors[1:]:
        if t.device != ref.device:
            raise backend.DeviceError(f"{op}: tensors on different devices ({ref.device} and {t.device})")
    return tensors


def cat(tensors, dim=0) -> Tensor:
    """Join tensors along an existing axis ``dim``."""
    tensors = _check_same("cat", tensors, dim)
    ref = tensors[0]
    if ref.ndim == 0 or not -ref.ndim <= dim < ref.ndim:
        raise IndexError(f"cat: dim {dim} is out of range for tensors of shape {ref.shape}")
    d = dim % ref.ndim
    for t in tensors[1:]:
        if t.ndim != ref.ndim or t.shape[:d] + t.shape[d + 1:] != ref.shape[:d] + ref.shape[d + 1:]:
            raise RuntimeError(f"cat: shapes {[x.shape for x in tensors]} must match except in dim {dim}")
    return S.Cat.apply(*tensors, dim=d)


concatenate = cat


def stack(tensors, dim=0) -> Tensor:
    """Join same-shaped tensors along a new axis ``dim``."""
    tensors = _check_same("stack", tensors, dim)
    if len({t.shape for t in tensors}) != 1:
        raise RuntimeError(f"stack: all tensors must have the same shape, got {[t.shape for t in tensors]}")
    if not -tensors[0].ndim - 1 <= dim <= tensors[0].ndim:
        raise IndexError(f"stack: dim {dim} is out of range for stacking tensors of shape {tensors[0].shape}")
    return S.Stack.apply(*tensors, dim=dim % (tensors[0].ndim + 1))


def where(condition, input, other) -> Tensor:  # noqa: A002
    """``input`` where ``condition`` holds, else ``other`` (both differentiable)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = Tensor(input)        # two Python numbers: a float32 result, as for any Python number
    like = input if isinstance(input, Tensor) else other
    for t in (condition, input, other):
        if isinstance(t, Tensor) and t.device != like.device:
            raise backend.DeviceError(f"where: condition and values must be on one device, got {t.device} and "
                                      f"{like.device}")
    cond = condition.data if isinstance(condition, Tensor) else like._xp().asarray(condition)
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    return O.Where.apply(cond, _operand(input, like), _operand(other, like))


def twin(name):
    """The module-level twin of the Tensor method ``name`` (``tg.exp(x)`` is ``x.exp()``)."""
    def fn(x, *args, **kwargs):
        if not isinstance(x, Tensor):
            x = Tensor(x)
        return getattr(x, name)(*args, **kwargs)
    fn.__name__ = name
    fn.__doc__ = f"``tg.{name}(x, ...)`` is ``x.{name}(...)``."
    return fn


TWINS = ("exp log sqrt abs tanh sigmoid relu sin cos clamp pow maximum minimum sum mean max min var std "
         "logsumexp softmax log_softmax argmax argmin reshape transpose permute squeeze unsqueeze flatten "
         "split chunk masked_fill matmul gelu silu "
         "tril triu topk sort argsort roll flip cumsum gather scatter scatter_add clone t add sub mul div "
         "numel").split()
