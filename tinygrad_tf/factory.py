"""Making tensors (zeros, randn, arange, ...) and the module-level twins of Tensor
methods (``tg.exp(x)``, ``tg.cat([...])``, ``tg.where(c, a, b)``), as in PyTorch."""

from __future__ import annotations

import operator

import numpy as np

from . import backend
from . import ops as O
from . import shape_ops as S
from .autograd import OpError, is_grad_enabled
from .tensor import Tensor
from .tensor_args import _arith


def tensor(data, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor holding a *copy* of ``data`` (lists, numbers, NumPy arrays, tensors)."""
    if isinstance(data, Tensor):
        data = data.data
    copy = data.copy() if hasattr(data, "copy") and hasattr(data, "dtype") else data
    return Tensor(copy, dtype=dtype, device=device, requires_grad=requires_grad)


def _size(op, shape, kwargs) -> tuple:
    """The shape of a factory call, as PyTorch takes it: ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` or
    ``f(size=(2, 3))``."""
    if kwargs:
        if set(kwargs) != {"size"}:
            raise TypeError(f"{op}() got an unexpected keyword argument {sorted(set(kwargs) - {'size'})[0]!r}")
        if shape:
            raise TypeError(f"{op}(): give the size positionally or as size=, not both")
        shape = (kwargs["size"],)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        shape = tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"{op}(): the size must be ints, got {shape!r}") from None
    if any(s < 0 for s in shape):
        raise OpError(f"{op}(): negative dimension in size {shape}")
    return shape


def _new(fill, shape, dtype, device, requires_grad, default=None):
    device = backend.check_device(device)
    dtype = backend.as_dtype(dtype) or default or backend.DEFAULT_FLOAT
    arr = fill(backend.xp_for(device), shape, dtype, device)
    return Tensor(arr, requires_grad=requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False, **kwargs):
    """A tensor of zeros: ``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(size=(2, 3))``."""
    return _new(lambda xp, s, d, dev: xp.zeros(s, dtype=d), _size("zeros", size, kwargs), dtype, device,
                requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, **kwargs):
    """A tensor of ones (sizes as for ``zeros``)."""
    return _new(lambda xp, s, d, dev: xp.ones(s, dtype=d), _size("ones", size, kwargs), dtype, device,
                requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False, **kwargs):
    """A tensor whose values are whatever the memory held (sizes as for ``zeros``)."""
    return _new(lambda xp, s, d, dev: xp.empty(s, dtype=d), _size("empty", size, kwargs), dtype, device,
                requires_grad)


def full(shape, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of ``shape`` filled with ``fill_value``; the dtype follows the value (float32, int64 or bool)."""
    default = backend.DEFAULT_FLOAT if isinstance(fill_value, float) else \
        (backend.bool_ if isinstance(fill_value, bool) else backend.int64)
    shape = _size("full", (shape,) if isinstance(shape, int) else (tuple(shape),), {})
    return _new(lambda xp, s, d, dev: xp.full(s, fill_value, dtype=d), shape, dtype, device,
                requires_grad, default)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    floats = any(isinstance(v, float) for v in (start, end, step))
    dtype = backend.as_dtype(dtype) or (backend.DEFAULT_FLOAT if floats else backend.int64)
    device = backend.check_device(device)
    return Tensor(backend.xp_for(device).arange(start, end, step, dtype=dtype), requires_grad=requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` (both included), as PyTorch computes them:
    the first half counted up from ``start``, the second half down from ``end``, so both ends are exact.
    Integer dtypes round each value toward zero."""
    return _spaced("linspace", start, end, steps, None, dtype, device, requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    """``base ** linspace(start, end, steps)``: ``steps`` values spaced evenly on a log scale."""
    return _spaced("logspace", start, end, steps, base, dtype, device, requires_grad)


def _spaced(op, start, end, steps, base, dtype, device, requires_grad):
    try:
        steps = operator.index(steps)
    except TypeError:
        raise TypeError(f"{op}(): steps must be an int, got {type(steps).__name__} {steps!r}") from None
    if steps < 0:
        raise OpError(f"{op}(): number of steps must be non-negative, got {steps}")
    device = backend.check_device(device)
    dtype = backend.as_dtype(dtype) or backend.DEFAULT_FLOAT
    xp = backend.xp_for(device)
    # ends and step are rounded to the dtype, then each value computed exactly and rounded once (PyTorch's
    # fused multiply-add); integer dtypes work in float64 and round toward zero at the end
    f64, start, end = backend.float64, float(start), float(end)
    t = dtype.type if dtype.kind == "f" else f64.type
    step = f64.type((t(end) - t(start)) / t(max(steps - 1, 1)))
    start, end = f64.type(t(start)), f64.type(t(end))
    i = xp.arange(steps, dtype=f64)
    x = xp.where(i < steps // 2, start + i * step, end - (steps - 1 - i) * step)
    if steps == 1:
        x = xp.full(1, start, dtype=f64)
    if base is not None:
        x = xp.power(f64.type(base), x)
    return Tensor(x.astype(dtype), requires_grad=requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _new(lambda xp, s, d, dev: xp.eye(n, m, dtype=d), (), dtype, device, requires_grad)


# ---------------------------------------------------------------------------
# random tensors: drawn from the global stream of the device (``tg.manual_seed``) or from a
# ``tg.Generator`` passed as ``generator=`` (a stream of its own). Each draw uses only what CuPy's random
# Generator offers too (random, standard_normal, integers), so one code serves both devices.
# ---------------------------------------------------------------------------
def _float_dtype(op, dtype):
    dtype = backend.as_dtype(dtype) or backend.DEFAULT_FLOAT
    if dtype.kind != "f":
        raise OpError(f"{op}: dtype {dtype} is not a floating-point dtype; random samples of this kind are "
                      "float16, float32 or float64")
    return dtype


def _draw(method, rng, shape, dtype):
    """``rng.random`` / ``rng.standard_normal`` in ``dtype`` (float16 is drawn as float32, then rounded)."""
    return getattr(rng, method)(shape, dtype=np.float32 if dtype == backend.float16 else dtype).astype(dtype,
                                                                                                      copy=False)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False, **kwargs):
    """Standard normal samples: ``randn(2, 3)``, ``randn((2, 3))``; from ``generator`` when given, else from
    the stream that ``tg.manual_seed`` seeds."""
    dtype = _float_dtype("randn", dtype)
    return _new(lambda xp, s, d, dev: _draw("standard_normal", backend.rng(dev, generator), s, d),
                _size("randn", size, kwargs), dtype, device, requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False, **kwargs):
    """Uniform samples in [0, 1) (sizes and ``generator`` as for ``randn``)."""
    def fill(xp, s, d, dev):
        x = _draw("random", backend.rng(dev, generator), s, d)
        return xp.minimum(x, np.nextafter(d.type(1), d.type(0)))   # float16 rounding must not reach 1
    return _new(fill, _size("rand", size, kwargs), _float_dtype("rand", dtype), device, requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``, ``size`` a
    tuple; int64 unless ``dtype`` says otherwise."""
    if size is None and isinstance(high, (tuple, list)):       # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:                                         # randint(high, size=...)
        low, high = 0, low
    if size is None:
        raise TypeError("randint(): size is missing; e.g. randint(10, (3,)) or randint(0, 10, (3,))")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint(): size must be a tuple of ints, got {type(size).__name__} {size!r}")
    try:
        low, high = operator.index(low), operator.index(high)
    except TypeError:
        raise TypeError(f"randint(): low and high must be ints, got {low!r} and {high!r}") from None
    if low >= high:
        raise OpError(f"randint(): low must be less than high, got low={low}, high={high}")
    dtype = backend.as_dtype(dtype) or backend.int64
    if dtype == backend.bool_:
        raise OpError("randint(): dtype bool cannot hold random integers; use rand(size) < p for random booleans")
    return _new(lambda xp, s, d, dev: backend.rng(dev, generator).integers(low, high, size=s).astype(d),
                _size("randint", (tuple(size),), {}), dtype, device, requires_grad)


def randperm(n, *, generator=None, dtype=backend.int64, device=None, requires_grad=False):
    """A random permutation of 0 .. n-1 (every order equally likely): the order that sorts ``n`` uniform
    draws."""
    n = operator.index(n)
    if n < 0:
        raise OpError(f"randperm(): n must be >= 0, got {n}")
    return _new(lambda xp, s, d, dev: xp.argsort(backend.rng(dev, generator).random(n)).astype(d),
                (n,), dtype, device, requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Normal samples ``mean + std * eps``, eps ~ N(0, 1): ``normal(mean_tensor, std_tensor)`` (broadcast
    together), ``normal(mean_tensor, 1.0)``, ``normal(0.0, std_tensor)``, or ``normal(0.0, 1.0, size)``.
    Differentiable in tensor ``mean`` and ``std`` (d/dmean = 1, d/dstd = eps), as in PyTorch."""
    if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        if size is None:
            raise TypeError("normal(mean, std): with two numbers, give the size too, e.g. normal(0., 1., (2, 3)); "
                            "or give mean or std as a tensor")
        if not std >= 0:
            raise OpError(f"normal(): std must be >= 0, got {std}")
        eps = randn(size, generator=generator, dtype=dtype, device=device)
        return Tensor._wrap(eps.data * eps.dtype.type(std) + eps.dtype.type(mean),
                            eps.device).requires_grad_(requires_grad)
    if size is not None or dtype is not None or device is not None or requires_grad:
        raise TypeError("normal(): size=, dtype=, device= and requires_grad= belong to the form normal(float, "
                        "float, size); with a tensor mean or std the result takes their shape, dtype and device")
    like = mean if isinstance(mean, Tensor) else std
    for name, t in (("mean", mean), ("std", std)):
        if isinstance(t, Tensor) and t.dtype.kind != "f":
            raise OpError(f"normal(): {name} must be a floating-point tensor, got {t.dtype}")
        if isinstance(t, Tensor) and t.device != like.device:
            raise backend.DeviceError(f"normal(): mean and std are on different devices ({mean.device} and "
                                      f"{std.device})")
    std_ok = bool((std.data >= 0).all()) if isinstance(std, Tensor) else std >= 0
    if not std_ok:
        raise OpError("normal(): every std must be >= 0")
    shapes = [t.shape for t in (mean, std) if isinstance(t, Tensor)]
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise OpError(f"normal(): mean {shapes[0]} and std {shapes[1]} do not broadcast together") from None
    dt = like.dtype
    eps = Tensor._wrap(_draw("standard_normal", backend.rng(like.device, generator), shape, dt), like.device)
    mean, std = (t.type(dt) if isinstance(t, Tensor) else t for t in (mean, std))
    return eps * std + mean


def bernoulli(input, p=None, *, generator=None):  # noqa: A002
    """1 with probability ``input`` (or ``p``, for every element), else 0, in ``input``'s shape and dtype."""
    if not isinstance(input, Tensor) or input.dtype.kind != "f":
        raise OpError(f"bernoulli(): input must be a floating-point tensor of probabilities, got "
                      f"{getattr(input, 'dtype', type(input).__name__)}")
    probs = input.data if p is None else p
    in_range = bool(((probs >= 0) & (probs <= 1)).all()) if p is None else 0 <= p <= 1
    if not in_range:
        raise OpError(f"bernoulli(): probabilities must be in [0, 1]{'' if p is None else f', got p={p}'}")
    u = backend.rng(input.device, generator).random(input.shape)
    return Tensor._wrap((u < probs).astype(input.dtype), input.device)


def multinomial(input, num_samples, replacement=False, *, generator=None):  # noqa: A002
    """Draw ``num_samples`` category indices per row of ``input`` (1-D: one distribution; 2-D: one per row),
    each with probability proportional to its weight (rows need not sum to 1). Without replacement no index
    repeats within a row. Returns int64 of shape (num_samples,) or (rows, num_samples). (``input.multinomial``;
    tensor_random.py draws them.)"""
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial(): input must be a tensor of weights, got {type(input).__name__}")
    return input.multinomial(num_samples, replacement, generator=generator)


def _like(fn):
    def like(input, *, dtype=None, device=None, requires_grad=False):  # noqa: A002
        return fn(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                  requires_grad=requires_grad)
    like.__name__ = like.__qualname__ = fn.__name__ + "_like"
    like.__doc__ = f"``{fn.__name__}`` with the shape, dtype and device of ``input``."
    return like


zeros_like, ones_like = _like(zeros), _like(ones)


def randn_like(input, *, generator=None, dtype=None, device=None, requires_grad=False):  # noqa: A002
    """``randn`` with the shape, dtype and device of ``input``."""
    return randn(input.shape, generator=generator, dtype=dtype or input.dtype, device=device or input.device,
                 requires_grad=requires_grad)


def rand_like(input, *, generator=None, dtype=None, device=None, requires_grad=False):  # noqa: A002
    """``rand`` with the shape, dtype and device of ``input``."""
    return rand(input.shape, generator=generator, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, device=None,  # noqa: A002
                 requires_grad=False):
    """``randint(low, high, input.shape)`` in ``input``'s dtype and device (``randint_like(x, high)`` too)."""
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, generator=generator, dtype=dtype or input.dtype,
                   device=device or input.device, requires_grad=requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False):  # noqa: A002
    """``full`` with the shape, dtype and device of ``input``."""
    return full(input.shape, fill_value, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)


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


def where(condition, input=None, other=None) -> Tensor:  # noqa: A002
    """``input`` where ``condition`` holds, else ``other`` (both differentiable; either may be a number).
    ``where(condition)`` alone is ``condition.nonzero(as_tuple=True)``."""
    if input is None and other is None:
        return (condition if isinstance(condition, Tensor) else Tensor(condition)).nonzero(as_tuple=True)
    if input is None or other is None:
        raise TypeError("where(condition, input, other): give both input and other, or neither")
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
    # PyTorch's promotion: an integer tensor meeting a float (tensor or number) becomes float, float32 by default
    a, b = _arith(input, other) if isinstance(input, Tensor) else _arith(other, input, reflected=True)
    return O.Where.apply(cond, a, b)


def twin(name):
    """The module-level twin of the Tensor method ``name`` (``tg.exp(x)`` is ``x.exp()``). ``out=`` (a tensor)
    receives the result, as in PyTorch (``tg.add(a, b, out=c)``)."""
    def fn(x, *args, out=None, **kwargs):
        if not isinstance(x, Tensor):
            x = Tensor(x)
        result = getattr(x, name)(*args, **kwargs)
        return result if out is None else _write_out(name, result, out)
    fn.__name__ = name
    fn.__doc__ = f"``tg.{name}(x, ...)`` is ``x.{name}(...)``."
    return fn


def _write_out(op, result, out):
    """``out=``: the result's values written into ``out`` (resized when its shape differs, as PyTorch does), which
    is returned. Like PyTorch, refused where the result would need a gradient."""
    if not isinstance(out, Tensor) or not isinstance(result, Tensor):
        raise TypeError(f"{op}(): out= must be a Tensor (and the op must return one), got {type(out).__name__}")
    if result.requires_grad or (out.requires_grad and is_grad_enabled()):
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic differentiation, but "
                           "one of the arguments requires grad")
    if out.device != result.device:
        raise backend.DeviceError(f"{op}(): out= is on {out.device} but the result on {result.device}")
    if not np.can_cast(result.dtype, out.dtype, "same_kind"):
        raise RuntimeError(f"{op}(): result type {result.dtype} can't be cast to the desired output type {out.dtype}")
    if out.shape == result.shape:
        out._xp().copyto(out.data, result.data, casting="same_kind")
    else:
        out.data = result.data.astype(out.dtype)
    return out


TWINS = ("exp log sqrt abs tanh sigmoid relu sin cos clamp pow maximum minimum sum mean max min var std "
         "logsumexp softmax log_softmax argmax argmin reshape transpose permute squeeze unsqueeze flatten "
         "split chunk masked_fill matmul gelu silu "
         "tril triu topk sort argsort roll flip cumsum gather scatter scatter_add clone t add sub mul div "
         "numel").split()
