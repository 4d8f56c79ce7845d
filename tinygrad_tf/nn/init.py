"""Weight initialisation, in place (``nn.init.normal_(layer.weight, std=0.02)``), as ``torch.nn.init``.

Each function fills the tensor's values (nothing is recorded on the graph, as under ``torch.no_grad()``)
and returns the tensor. Random numbers come from the generator that ``tg.manual_seed`` seeds, on the
tensor's device, or from ``generator=`` (a ``tg.Generator``) when one is given.

The scaled initialisers pick a standard deviation from the tensor's fans
(``fan_in = size(1) * receptive field``, ``fan_out = size(0) * receptive field``) and a gain
(``calculate_gain``):

    xavier (Glorot):  std = gain * sqrt(2 / (fan_in + fan_out))
    kaiming (He):     std = gain / sqrt(fan)              fan = fan_in or fan_out (``mode``)
    uniform variants draw U(-sqrt(3) std, sqrt(3) std), which has that standard deviation.
"""

from __future__ import annotations

import contextlib
import functools
import math
import warnings

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
           "skip_default_init", "default_normal_", "fan_in_uniform_"]

_skip = [False]


@contextlib.contextmanager
def skip_default_init():
    """Layers built inside skip their own default initialisation (the model initialises every weight
    itself afterwards, so drawing the defaults first would only cost time)."""
    prev, _skip[0] = _skip[0], True
    try:
        yield
    finally:
        _skip[0] = prev


def _arrays_too(fn):
    """Let an initialiser fill a backend array as well as a Tensor: PyTorch programs write
    ``nn.init.normal_(m.weight.data, 0.0, 0.02)``, and ``.data`` is the array here. The values are written
    into that array in place, so the parameter holding it sees them; the array is returned."""
    @functools.wraps(fn)
    def init(tensor, *args, **kwargs):
        if not (isinstance(tensor, np.ndarray) or backend.device_of(tensor) == "cuda"):
            return fn(tensor, *args, **kwargs)              # a Tensor (or something _check refuses)
        t = Tensor._wrap(tensor, backend.device_of(tensor))
        fn(t, *args, **kwargs)
        tensor[...] = t.data
        return tensor
    return init


def _check(op, t):
    if not isinstance(t, Tensor):
        raise TypeError(f"nn.init.{op}: expected a Tensor to fill, got {type(t).__name__}")


def _fill(t, arr):
    t.data = arr.astype(t.dtype, copy=False)
    return t


def _dtype(t):          # the generators draw float32 or float64 directly (float16: draw float32, then cast)
    return t.dtype if t.dtype in (backend.float32, backend.float64) else backend.float32


def _normal(t, mean, std, generator):
    x = backend.rng(t.device, generator).standard_normal(t.shape, dtype=_dtype(t))
    x *= std
    x += mean
    return _fill(t, x)


def _uniform(t, a, b, generator):
    x = backend.rng(t.device, generator).random(t.shape, dtype=_dtype(t))
    x *= b - a
    x += a
    return _fill(t, x)


# ---------------------------------------------------------------- plain fills
@_arrays_too
def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with N(mean, std^2)."""
    _check("normal_", tensor)
    return _normal(tensor, mean, std, generator)


@_arrays_too
def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with U(a, b)."""
    _check("uniform_", tensor)
    return _uniform(tensor, a, b, generator)


@_arrays_too
def constant_(tensor, val):
    """Fill with the value ``val``."""
    _check("constant_", tensor)
    return _fill(tensor, backend.get_array_module(tensor.data).full(tensor.shape, val, dtype=tensor.dtype))


@_arrays_too
def zeros_(tensor):
    """Fill with 0."""
    _check("zeros_", tensor)
    return _fill(tensor, backend.get_array_module(tensor.data).zeros_like(tensor.data))


@_arrays_too
def ones_(tensor):
    """Fill with 1."""
    _check("ones_", tensor)
    return _fill(tensor, backend.get_array_module(tensor.data).ones_like(tensor.data))


@_arrays_too
def eye_(tensor):
    """Fill a 2-D tensor with the identity matrix (ones on the diagonal, also when it is not square)."""
    _check("eye_", tensor)
    if tensor.ndim != 2:
        raise ValueError(f"nn.init.eye_: only 2-D tensors are supported, got shape {tensor.shape}")
    return _fill(tensor, backend.get_array_module(tensor.data).eye(*tensor.shape, dtype=tensor.dtype))


@_arrays_too
def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std^2) truncated to [a, b] (``a`` and ``b`` are values, not numbers of stds).

    Drawn by rejection, as PyTorch 2.13: when [a, b] holds more than 30% of the normal's mass, draw normals
    and redraw the ones outside; otherwise (a narrow or far-out window) draw uniformly on [a, b] and keep a
    draw x with probability pdf(x) / max pdf on [a, b]. Either way the values follow the truncated normal
    exactly.
    """
    _check("trunc_normal_", tensor)
    if not a < b:
        raise ValueError(f"nn.init.trunc_normal_: the bounds must satisfy a < b, got a={a}, b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("nn.init.trunc_normal_: mean is more than 2 std from [a, b]; the distribution of values "
                      "may be incorrect", stacklevel=2)
    xp, r, dt, n = backend.get_array_module(tensor.data), backend.rng(tensor.device, generator), _dtype(tensor), \
        tensor.numel()
    mass = _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std)
    x = xp.empty(n, dtype=dt)
    pending = xp.ones(n, dtype=bool)
    peak = max(a, min(mean, b))                                  # where the density is highest on [a, b]
    while bool(pending.any()):
        idx = xp.flatnonzero(pending)
        if mass > 0.3:                                           # normals, keep those inside [a, b]
            c = r.standard_normal(idx.size, dtype=dt) * std + mean
            keep = (c >= a) & (c <= b)
        else:                                                    # uniform on [a, b], keep with pdf(c) / pdf(peak)
            c = r.random(idx.size, dtype=dt) * (b - a) + a
            log_ratio = -0.5 * ((c - mean) / std) ** 2 + 0.5 * ((peak - mean) / std) ** 2
            keep = xp.log(r.random(idx.size, dtype=dt)) <= log_ratio
        x[idx[keep]] = c[keep]
        pending[idx[keep]] = False
    return _fill(tensor, x.reshape(tensor.shape))


def _norm_cdf(x):
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


# ---------------------------------------------------------------- fans and gains
def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight: (size(1), size(0)) times the receptive field (the product of the
    sizes past the first two), as PyTorch. Needs at least 2 dimensions."""
    if tensor.ndim < 2:
        raise ValueError(f"Fan in and fan out can not be computed for tensor with fewer than 2 dimensions "
                         f"(got shape {tensor.shape})")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity, param=None):
    """The gain that keeps activations' variance steady through ``nonlinearity``, as PyTorch:
    1 for linear/conv*/sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu
    (``param`` is the slope, default 0.01), 3/4 for selu."""
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


# ---------------------------------------------------------------- scaled initialisers
@_arrays_too
def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot uniform: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    _check("xavier_uniform_", tensor)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _uniform(tensor, -bound, bound, generator)


@_arrays_too
def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    _check("xavier_normal_", tensor)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return _normal(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))


@_arrays_too
def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He uniform: U(-b, b) with b = sqrt(3) * gain / sqrt(fan); ``a`` is the leaky_relu slope for the gain,
    ``mode`` picks fan_in (keeps the forward pass's variance) or fan_out (the backward pass's).
    A tensor with no elements is left as it is."""
    _check("kaiming_uniform_", tensor)
    if 0 in tensor.shape:
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return _uniform(tensor, -bound, bound, generator)


@_arrays_too
def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He normal: N(0, std^2) with std = gain / sqrt(fan) (arguments as ``kaiming_uniform_``)."""
    _check("kaiming_normal_", tensor)
    if 0 in tensor.shape:
        return tensor
    return _normal(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


@_arrays_too
def orthogonal_(tensor, gain=1, generator=None):
    """A (semi-)orthogonal matrix times ``gain``: the tensor seen as (size(0), rest) gets orthonormal rows or
    columns (whichever are fewer), from the QR decomposition of a Gaussian matrix (signs fixed so the
    result is uniform over orthogonal matrices)."""
    _check("orthogonal_", tensor)
    if tensor.ndim < 2:
        raise ValueError(f"Only tensors with 2 or more dimensions are supported (got shape {tensor.shape})")
    if tensor.numel() == 0:
        return tensor
    xp = backend.get_array_module(tensor.data)
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = backend.rng(tensor.device, generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q = q * xp.sign(xp.diagonal(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (q * gain).reshape(tensor.shape))


# ---------------------------------------------------------------- the layers' defaults
def default_normal_(t):
    """N(0, 1): PyTorch's default for Embedding (skipped inside ``skip_default_init``)."""
    return t if _skip[0] else _normal(t, 0.0, 1.0, None)


def fan_in_uniform_(t, fan_in):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for Linear weights and biases
    (``kaiming_uniform_(w, a=sqrt(5))`` works out to the same bound)."""
    if _skip[0]:
        return t
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return _uniform(t, -bound, bound, None)

from ..compat import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr(__name__, "torch.nn.init")
