"""Resizing images and moving pixels between channels and space: ``interpolate`` (``upsample``...),
``pixel_shuffle``, ``pixel_unshuffle`` (``nn.functional`` re-exports them).

``interpolate`` works one spatial dim at a time (nearest and (bi/tri)linear interpolation are separable). For
output position j of a dim of input size n resized to m, with scale s = n / m (or 1 / scale_factor when that is
given, as PyTorch):

    nearest         reads x[floor(j s)]
    nearest-exact   reads x[floor((j + 0.5) s)]
    linear          src = (j + 0.5) s - 0.5 (clamped at 0), or j (n - 1) / (m - 1) with align_corners;
                    y = (1 - w) x[floor(src)] + w x[floor(src) + 1],  w = src - floor(src)

Each read is an integer-array index into the input, so the gradient is the engine's scatter-add.
"""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from ..tensor_args import _check_choice
from .functional_conv import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle", "pixel_unshuffle"]

_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "area")
_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _sizes(input, nd, size, scale_factor, recompute_scale_factor):  # noqa: A002
    """(output sizes, the scale each dim's source coordinates use: 1/scale_factor, or None for in/out)."""
    spatial = input.shape[2:]
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: exactly one of size and scale_factor must be given")
    if size is not None:
        out = (size,) * nd if isinstance(size, (int, np.integer)) else tuple(size)
        if len(out) != nd:
            raise ValueError(f"interpolate: size {size} must have one entry per spatial dim of the input "
                             f"{input.shape} ({nd})")
        return tuple(int(o) for o in out), (None,) * nd
    factors = (scale_factor,) * nd if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
    if len(factors) != nd:
        raise ValueError(f"interpolate: scale_factor {scale_factor} must have one entry per spatial dim of the input "
                         f"{input.shape} ({nd})")
    out = tuple(int(math.floor(n * f)) for n, f in zip(spatial, factors))
    scales = (None,) * nd if recompute_scale_factor else tuple(1.0 / f for f in factors)
    return out, scales


def _take(x, d, index):
    return x[(slice(None),) * d + (Tensor._wrap(x._xp().asarray(index), x.device),)]


def _resize_dim(x, d, m, scale, mode, align_corners):
    n = x.shape[d]
    j = np.arange(m, dtype=np.float64)
    s = n / m if scale is None else scale
    if mode in ("nearest", "nearest-exact"):
        src = np.floor((j + 0.5) * s if mode == "nearest-exact" else j * s)
        return _take(x, d, np.minimum(src.astype(np.int64), n - 1))
    if align_corners:
        src = j * ((n - 1) / (m - 1) if m > 1 else 0.0)
    else:
        src = np.maximum((j + 0.5) * s - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), n - 1)
    hi = np.minimum(lo + 1, n - 1)
    w = (src - lo).reshape((m,) + (1,) * (x.ndim - 1 - d)).astype(x.dtype)
    w = Tensor._wrap(x._xp().asarray(w), x.device)
    return _take(x, d, lo) * (1 - w) + _take(x, d, hi) * w


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,  # noqa: A002
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of (N, C, *spatial) to ``size`` (or by ``scale_factor``): mode "nearest",
    "nearest-exact", "linear" (3-D input), "bilinear" (4-D), "trilinear" (5-D) or "area" (adaptive average
    pooling). ``align_corners`` as PyTorch, for the linear modes only. (PyTorch's "bicubic" is not here.)"""
    if mode == "bicubic":
        raise NotImplementedError("interpolate: mode='bicubic' is not supported by tinygrad_tf (nearest, "
                                  "nearest-exact, linear, bilinear, trilinear and area are)")
    _check_choice("interpolate", "mode", mode, _MODES)
    nd = input.ndim - 2
    if nd not in (1, 2, 3):
        raise ValueError(f"interpolate: expected a 3-D, 4-D or 5-D input (N, C, *spatial), got {input.shape}")
    if mode in _LINEAR and _LINEAR[mode] != nd:
        raise ValueError(f"interpolate: mode {mode!r} needs a {_LINEAR[mode] + 2}-D input, got {input.shape}")
    if align_corners is not None and mode not in _LINEAR:
        raise ValueError("interpolate: align_corners is only for the linear modes (linear, bilinear, trilinear)")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported by tinygrad_tf")
    out, scales = _sizes(input, nd, size, scale_factor, recompute_scale_factor)
    if mode == "area":
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[nd - 1](input, out)
    x = input
    for i in range(nd):
        x = _resize_dim(x, 2 + i, out[i], scales[i], mode, bool(align_corners))
    return x


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):  # noqa: A002
    """``interpolate`` under its old name (deprecated in PyTorch)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):  # noqa: A002
    """``interpolate(..., mode="nearest")`` (deprecated in PyTorch)."""
    return interpolate(input, size, scale_factor, "nearest")


def upsample_bilinear(input, size=None, scale_factor=None):  # noqa: A002
    """``interpolate(..., mode="bilinear", align_corners=True)`` (deprecated in PyTorch)."""
    return interpolate(input, size, scale_factor, "bilinear", True)


def pixel_shuffle(input, upscale_factor):  # noqa: A002
    """(*, C r^2, H, W) -> (*, C, H r, W r): each group of r^2 channels becomes an r x r block of pixels."""
    r = int(upscale_factor)
    *lead, c, h, w = input.shape
    if input.ndim < 3 or c % (r * r):
        raise ValueError(f"pixel_shuffle: expected (*, C * {r}^2, H, W) with C * {r * r} channels, got {input.shape}")
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    k = len(lead)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)              # (*, C, H, r, W, r)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):  # noqa: A002
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of pixel_shuffle."""
    r = int(downscale_factor)
    *lead, c, h, w = input.shape
    if input.ndim < 3 or h % r or w % r:
        raise ValueError(f"pixel_unshuffle: expected (*, C, H, W) with H and W divisible by {r}, got {input.shape}")
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    k = len(lead)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)              # (*, C, r, r, H, W)
    return x.reshape(*lead, c * r * r, h // r, w // r)
