"""Weight initialisation, in place (``nn.init.normal_(layer.weight, std=0.02)``), as ``torch.nn.init``.

Random numbers come from the generator that ``tg.manual_seed`` seeds, on the tensor's device.
"""

from __future__ import annotations

import contextlib
import math

from .. import backend

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


def _fill(t, arr):
    t.data = arr.astype(t.dtype, copy=False)
    return t


def _dtype(t):          # the generators draw float32 or float64 directly (float16: draw float32, then cast)
    return t.dtype if t.dtype in (backend.float32, backend.float64) else backend.float32


def normal_(t, mean=0.0, std=1.0):
    x = backend.rng(t.device).standard_normal(t.shape, dtype=_dtype(t))
    x *= std
    x += mean
    return _fill(t, x)


def uniform_(t, a=0.0, b=1.0):
    x = backend.rng(t.device).random(t.shape, dtype=_dtype(t))
    x *= b - a
    x += a
    return _fill(t, x)


def default_normal_(t):
    """N(0, 1): PyTorch's default for Embedding (skipped inside ``skip_default_init``)."""
    return t if _skip[0] else normal_(t)


def zeros_(t):
    return _fill(t, backend.get_array_module(t.data).zeros_like(t.data))


def ones_(t):
    return _fill(t, backend.get_array_module(t.data).ones_like(t.data))


def fan_in_uniform_(t, fan_in):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for Linear weights and biases."""
    if _skip[0]:
        return t
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return uniform_(t, -bound, bound)
