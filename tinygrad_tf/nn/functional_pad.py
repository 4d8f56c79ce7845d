"""``F.pad``: padding (or cropping) the trailing dims in PyTorch's four modes. Its own file because the
convolution and pooling functions pad too (``nn.functional`` re-exports it)."""

from __future__ import annotations

import numpy as np

from ..factory import cat, full
from ..tensor_args import _check_choice

__all__ = ["pad"]

_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input, pad, mode="constant", value=None):  # noqa: A002
    """Pad (or, with negative sizes, crop) the trailing dims, as PyTorch: ``pad = (left, right)`` for the
    last dim, ``(left, right, top, bottom)`` for the last two, and so on. Differentiable.

    constant:   new entries are ``value`` (0 by default)        [1 2 3] pad (2, 1) -> [0 0 1 2 3 0]
    reflect:    mirrored without repeating the edge              [1 2 3] pad (2, 1) -> [3 2 1 2 3 2]
    replicate:  the edge value repeated                          [1 2 3] pad (2, 1) -> [1 1 1 2 3 3]
    circular:   wrapped around                                    [1 2 3] pad (2, 1) -> [2 3 1 2 3 1]

    Unlike PyTorch, the non-constant modes work on any number of trailing dims (PyTorch allows 1-3).
    """
    pads = tuple(int(p) for p in pad)
    _check_choice("pad", "mode", mode, _PAD_MODES)
    if len(pads) % 2:
        raise ValueError(f"pad: the padding length must be divisible by 2 (a (left, right) pair per dim), "
                         f"got {len(pads)}: {pads}")
    if len(pads) // 2 > input.ndim:
        raise ValueError(f"pad: padding {pads} covers {len(pads) // 2} dims but the input has only {input.ndim} "
                         f"(shape {input.shape})")
    if mode != "constant" and value not in (None, 0):
        raise ValueError(f"pad: mode {mode!r} doesn't take a value (got value={value})")
    out = input
    for i in range(len(pads) // 2):
        dim, lo, hi = input.ndim - 1 - i, pads[2 * i], pads[2 * i + 1]
        n = out.shape[dim]
        if n + lo + hi < 0 or (mode in ("reflect", "replicate") and n + lo + hi <= 0):
            raise ValueError(f"pad: padding ({lo}, {hi}) leaves dim {dim} of size {n} with size {n + lo + hi}")
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(f"pad: reflect padding ({lo}, {hi}) must be smaller than the size {n} of dim {dim}")
        if mode == "circular" and (lo > n or hi > n):
            raise ValueError(f"pad: circular padding ({lo}, {hi}) may wrap around at most once (dim {dim} has "
                             f"size {n})")
        if mode != "constant" and n == 0:
            raise ValueError(f"pad: {mode} padding needs a non-empty dim {dim}")
        lead = (slice(None),) * dim
        if mode == "constant":
            out = _pad_constant(out, dim, lo, hi, 0 if value is None else value)
        elif lo or hi:
            j = np.arange(-lo, n + hi)                             # which source index each output position reads
            j = np.abs(j) if mode == "reflect" else np.clip(j, 0, n - 1) if mode == "replicate" else j % n
            if mode == "reflect":
                j = np.where(j > n - 1, 2 * (n - 1) - j, j)
            out = out[lead + (j,)]
    return out


def _pad_constant(x, dim, lo, hi, value):
    lead = (slice(None),) * dim
    n = x.shape[dim]
    if lo < 0 or hi < 0:                                           # negative padding crops
        x = x[lead + (slice(max(-lo, 0), n - max(-hi, 0)),)]
    parts = []
    for size in (max(lo, 0), None, max(hi, 0)):
        if size is None:
            parts.append(x)
        elif size:
            shape = x.shape[:dim] + (size,) + x.shape[dim + 1:]
            parts.append(full(shape, value, dtype=x.dtype, device=x.device))
    return parts[0] if len(parts) == 1 else cat(parts, dim=dim)
