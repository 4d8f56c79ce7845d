"""Convolution and pooling over 1, 2 or 3 spatial dims, written once for all three (``nn.functional``
re-exports them).

The whole trick is ``windows``: for each tap of the kernel, one strided slice of the (padded) input, the
values that tap sees at every output position; stacked, they are the "im2col" matrix

    windows(x)[n, c, t, o] = x[n, c, o * stride + t * dilation]        (t, o: positions in the kernel / output)

Then a convolution is one matrix product with the kernel flattened the same way, a max pool is the max over
the taps, an average pool their mean. Slicing and stacking are Tensor ops, so every gradient comes from the
engine: the gradient of a window is added back into the slice it came from.

A transposed convolution is the convolution whose gradient is this one: spread the input out by the stride
(zeros in between), pad it by dilation * (kernel - 1) - padding, and convolve with the kernel flipped and its
in/out channels swapped.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..factory import cat, zeros
from ..tensor import Tensor
from .functional_pad import pad

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "unfold", "fold"]


def ntuple(op, name, value, n):
    """An int (or a 1-tuple) repeated for each of the n spatial dims, or a tuple of n ints."""
    t = (value,) * n if isinstance(value, (int, np.integer)) else tuple(value)
    if len(t) == 1 and n > 1:
        t = t * n
    if len(t) != n or not all(isinstance(v, (int, np.integer)) for v in t):
        raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    return tuple(int(v) for v in t)


def out_size(size, k, stride, pad_lo, pad_hi, dilation, ceil_mode=False):
    """How many windows fit: floor((size + pads - dilation (k - 1) - 1) / stride) + 1 (ceil in ceil_mode, where
    the last window must still start inside the input or its left padding, as PyTorch)."""
    span = size + pad_lo + pad_hi - dilation * (k - 1) - 1
    if span < 0:
        return 0
    n = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (n - 1) * stride >= size + pad_lo:
        n -= 1
    return n


def windows(x, kernel, stride, dilation, out):
    """(N, C, *S) -> (N, C, K, *out): for each of the K = prod(kernel) taps (in C order), the strided slice
    of x that tap reads at every output position."""
    taps = []
    for tap in itertools.product(*(range(k) for k in kernel)):
        index = tuple(slice(t * d, t * d + s * (o - 1) + 1, s) for t, d, s, o in zip(tap, dilation, stride, out))
        taps.append(x[(slice(None), slice(None)) + index].unsqueeze(2))
    return cat(taps, dim=2)           # (cat, not stack: its gradient is cut back into views, not copies)


def _batched(op, x, nd):
    """(N, C, *S) as it is; (C, *S) (unbatched) gets a batch dim of 1. Returns (x, whether to drop it again)."""
    if x.ndim == nd + 2:
        return x, False
    if x.ndim == nd + 1:
        return x.unsqueeze(0), True
    raise ValueError(f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got shape {x.shape}")


def _pad_spatial(x, pads, value=0.0):
    """pads: one (lo, hi) pair per spatial dim, first dim first."""
    flat = [p for lo_hi in reversed(pads) for p in lo_hi]
    return pad(x, flat, value=value) if any(flat) else x


# ---------------------------------------------------------------- convolution
def _conv_padding(op, padding, kernel, dilation, stride, nd):
    """PyTorch's padding argument -> one (lo, hi) pair per dim: ints, "valid" (none) or "same" (the output
    keeps the input's size; an odd total goes on the right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * nd
        if padding != "same":
            raise ValueError(f"{op}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions (stride {stride})")
        return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation)]
    return [(p, p) for p in ntuple(op, "padding", padding, nd)]


def _conv(op, nd, input, weight, bias, stride, padding, dilation, groups):  # noqa: A002
    x, unbatched = _batched(op, input, nd)
    if weight.ndim != nd + 2:
        raise ValueError(f"{op}: weight must be {nd + 2}-D (out_channels, in_channels / groups, *kernel), got "
                         f"shape {weight.shape}")
    c_out, c_per_group, kernel = weight.shape[0], weight.shape[1], tuple(weight.shape[2:])
    n, c = x.shape[:2]
    if groups < 1 or c_out % groups:
        raise ValueError(f"{op}: groups={groups} must be positive and divide out_channels={c_out}")
    if c != c_per_group * groups:
        raise ValueError(f"{op}: given groups={groups}, weight of size {weight.shape}, expected input of shape "
                         f"{input.shape} to have {c_per_group * groups} channels, but got {c} channels instead")
    stride, dilation = ntuple(op, "stride", stride, nd), ntuple(op, "dilation", dilation, nd)
    pads = _conv_padding(op, padding, kernel, dilation, stride, nd)
    spatial = x.shape[2:]
    out = [out_size(s, k, st, lo, hi, d) for s, k, st, (lo, hi), d in zip(spatial, kernel, stride, pads, dilation)]
    if any(o <= 0 for o in out):
        padded = tuple(s + lo + hi for s, (lo, hi) in zip(spatial, pads))
        raise ValueError(f"{op}: the padded input size per channel {padded} is smaller than the (dilated) kernel "
                         f"{tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))} (input {input.shape}, weight "
                         f"{weight.shape})")
    cols = windows(_pad_spatial(x, pads), kernel, stride, dilation, out)       # (N, C, K, *out)
    k, length = math.prod(kernel), math.prod(out)
    cols = cols.permute(0, *range(3, nd + 3), 1, 2)                             # (N, *out, C, K): one row per
    if groups == 1:                                                             # output position
        y = cols.reshape(n * length, c_per_group * k) @ weight.reshape(c_out, -1).T
    else:                                                                       # one product per group
        cols = cols.reshape(n * length, groups, c_per_group * k).transpose(0, 1)
        w = weight.reshape(groups, c_out // groups, c_per_group * k).transpose(1, 2)
        y = (cols @ w).transpose(0, 1)
    y = y.reshape(n, *out, c_out).permute(0, nd + 1, *range(1, nd + 1))        # (N, C_out, *out)
    if bias is not None:
        y = y + bias.reshape(c_out, *(1,) * nd)
    return y.squeeze(0) if unbatched else y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """1-D convolution (cross-correlation, as PyTorch): input (N, C_in, L) or (C_in, L), weight
    (C_out, C_in / groups, k); ``padding`` an int, 'valid' or 'same'."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """2-D convolution: input (N, C_in, H, W) or (C_in, H, W), weight (C_out, C_in / groups, kH, kW);
    stride, padding and dilation an int or a pair (padding also 'valid' or 'same')."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """3-D convolution: input (N, C_in, D, H, W) or unbatched, weight (C_out, C_in / groups, kD, kH, kW)."""
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def _spread(x, stride, nd):
    """Put stride - 1 zeros between neighbouring positions of each spatial dim (the first dim first)."""
    for i, s in enumerate(stride):
        if s == 1:
            continue
        d = 2 + i
        size = x.shape[d]
        gap = zeros(*x.shape[:d + 1], s - 1, *x.shape[d + 1:], dtype=x.dtype, device=x.device)
        x = cat([x.unsqueeze(d + 1), gap], dim=d + 1)                       # (..., size, s, ...)
        x = x.reshape(*x.shape[:d], size * s, *x.shape[d + 2:])
        x = x[(slice(None),) * d + (slice(0, (size - 1) * s + 1),)]
    return x


def _conv_transpose(op, nd, input, weight, bias, stride, padding, output_padding, groups, dilation):  # noqa: A002
    x, unbatched = _batched(op, input, nd)
    if weight.ndim != nd + 2:
        raise ValueError(f"{op}: weight must be {nd + 2}-D (in_channels, out_channels / groups, *kernel), got "
                         f"shape {weight.shape}")
    c_in, c_out_per_group, kernel = weight.shape[0], weight.shape[1], tuple(weight.shape[2:])
    if x.shape[1] != c_in or groups < 1 or c_in % groups:
        raise ValueError(f"{op}: weight of size {weight.shape} with groups={groups} expects an input with {c_in} "
                         f"channels (divisible by groups), got input of shape {input.shape}")
    stride, dilation = ntuple(op, "stride", stride, nd), ntuple(op, "dilation", dilation, nd)
    padding, output_padding = ntuple(op, "padding", padding, nd), ntuple(op, "output_padding", output_padding, nd)
    if any(op_ >= max(s, d) for op_, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(f"{op}: output_padding {output_padding} must be smaller than either stride {stride} or "
                         f"dilation {dilation}")
    pads = [(d * (k - 1) - p, d * (k - 1) - p + o) for k, d, p, o in zip(kernel, dilation, padding, output_padding)]
    spread = _pad_spatial(_spread(x, stride, nd), pads)                   # negative padding crops
    g = groups
    w = weight.reshape(g, c_in // g, c_out_per_group, *kernel).transpose(1, 2)      # swap in and out channels
    w = w.reshape(g * c_out_per_group, c_in // g, *kernel).flip(list(range(2, nd + 2)))
    y = _conv(op, nd, spread, w, bias, 1, 0, dilation, groups)
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    """The transpose (gradient) of conv1d: input (N, C_in, L), weight (C_in, C_out / groups, k); the output
    has length (L - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    """The transpose (gradient) of conv2d, the "deconvolution" of decoders and GANs: input (N, C_in, H, W),
    weight (C_in, C_out / groups, kH, kW)."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    """The transpose (gradient) of conv3d: input (N, C_in, D, H, W), weight (C_in, C_out / groups, kD, kH, kW)."""
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


# ---------------------------------------------------------------- pooling
def _pool_setup(op, nd, x, kernel_size, stride, padding, dilation, ceil_mode):
    kernel = ntuple(op, "kernel_size", kernel_size, nd)
    stride = kernel if stride is None or stride == () or stride == [] else ntuple(op, "stride", stride, nd)
    padding, dilation = ntuple(op, "padding", padding, nd), ntuple(op, "dilation", dilation, nd)
    if any(2 * p > d * (k - 1) + 1 for p, k, d in zip(padding, kernel, dilation)):
        raise ValueError(f"{op}: padding {padding} should be at most half of the (dilated) kernel size {kernel}")
    spatial = x.shape[2:]
    out = [out_size(s, k, st, p, p, d, ceil_mode) for s, k, st, p, d in zip(spatial, kernel, stride, padding, dilation)]
    if any(o <= 0 for o in out):
        raise ValueError(f"{op}: the output size {tuple(out)} is too small (input {x.shape}, kernel {kernel}, "
                         f"stride {stride}, padding {padding}, dilation {dilation})")
    # the right padding also covers the last window of ceil_mode, which may reach past the padding
    pads = [(p, max(p, (o - 1) * st + d * (k - 1) + 1 - s - p))
            for s, k, st, p, d, o in zip(spatial, kernel, stride, padding, dilation, out)]
    return kernel, stride, padding, dilation, out, pads


def _max_pool(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):  # noqa: A002
    x, unbatched = _batched(op, input, nd)
    kernel, stride, padding, dilation, out, pads = _pool_setup(op, nd, x, kernel_size, stride, padding, dilation,
                                                               ceil_mode)
    w = windows(_pad_spatial(x, pads, float("-inf")), kernel, stride, dilation, out)   # (N, C, K, *out)
    best = w.data.argmax(axis=2)[:, :, None]                # the first largest tap (PyTorch's pick on a tie)
    y = w.gather(2, Tensor._wrap(best, x.device)).squeeze(2)   # the gradient goes to that one element
    y = y.squeeze(0) if unbatched else y
    if not return_indices:
        return y
    xp = x._xp()
    taps = np.array(list(itertools.product(*(range(k) for k in kernel))))      # (K, nd)
    flat = xp.zeros(best.shape[:2] + tuple(out), dtype=np.int64)
    tap = xp.asarray(taps)[best[:, :, 0]]                                         # (N, C, *out, nd)
    for i in range(nd):                       # the input position of the picked tap, flattened over the spatial dims
        o = xp.arange(out[i]).reshape((-1,) + (1,) * (nd - 1 - i))
        pos = o * stride[i] - padding[i] + tap[..., i] * dilation[i]
        flat = flat * x.shape[2 + i] + pos
    return y, Tensor._wrap(flat[0] if unbatched else flat, x.device)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """The largest value in each window of (N, C, L) (padding counts as -inf); with ``return_indices`` also
    where it was (the flat position in L), as PyTorch."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """The largest value in each kernel_size window of (N, C, H, W); ``stride`` defaults to the kernel size.
    With ``return_indices`` also where each maximum was (its flat index h * W + w)."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    """The largest value in each window of (N, C, D, H, W)."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _counts(size, k, stride, pad, out, lo, hi):
    """For each of ``out`` windows along one dim: how many of its taps fall inside [lo, hi) (input coordinates)."""
    start = np.arange(out) * stride - pad
    return np.clip(np.minimum(start + k, hi) - np.maximum(start, lo), 0, None)


def _avg_pool(op, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad,  # noqa: A002
              divisor_override=None):
    x, unbatched = _batched(op, input, nd)
    kernel, stride, padding, _, out, pads = _pool_setup(op, nd, x, kernel_size, stride, padding, 1, ceil_mode)
    total = windows(_pad_spatial(x, pads), kernel, stride, (1,) * nd, out).sum(2)
    if divisor_override:
        y = total / divisor_override
    else:                 # padding counts when count_include_pad, the overhang of a ceil_mode window never does
        count = np.ones((), dtype=np.float64)
        for i in range(nd):
            s = x.shape[2 + i]
            lo, hi = (-padding[i], s + padding[i]) if count_include_pad else (0, s)
            count = np.multiply.outer(count, _counts(s, kernel[i], stride[i], padding[i], out[i], lo, hi))
        y = total / Tensor._wrap(x._xp().asarray(count.astype(x.dtype)), x.device)
    return y.squeeze(0) if unbatched else y


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):  # noqa: A002
    """The mean of each window of (N, C, L) (zero padding counts in the mean unless count_include_pad=False)."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,  # noqa: A002
               divisor_override=None):
    """The mean of each kernel_size window of (N, C, H, W); ``divisor_override`` divides by that instead."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,  # noqa: A002
               divisor_override=None):
    """The mean of each window of (N, C, D, H, W)."""
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def _adaptive(op, nd, input, output_size, reduce_bin):  # noqa: A002
    """Split each spatial dim into ``output_size`` bins [floor(i L / n), ceil((i + 1) L / n)) and reduce each bin,
    one dim at a time (a mean or max over a box is the mean or max of its rows' means or maxima); the last dim
    first, so that a max keeps PyTorch's pick of the first largest element in row-major order."""
    x, unbatched = _batched(op, input, nd)
    sizes = (output_size,) * nd if isinstance(output_size, (int, np.integer)) or output_size is None \
        else tuple(output_size)
    if len(sizes) == 1 and nd > 1:
        sizes = sizes * nd
    if len(sizes) != nd:
        raise ValueError(f"{op}: output_size must be an int or a tuple of {nd}, got {output_size!r}")
    for i in reversed(range(nd)):
        d, size = 2 + i, x.shape[2 + i]
        n = size if sizes[i] is None else int(sizes[i])
        if n <= 0 or size == 0:
            raise ValueError(f"{op}: output_size {output_size} and input {input.shape} must both be positive")
        if n == size:
            continue
        bins = [x[(slice(None),) * d + (slice(j * size // n, -(-(j + 1) * size // n)),)] for j in range(n)]
        x = cat([reduce_bin(b, d) for b in bins], dim=d)
    return x.squeeze(0) if unbatched else x


def _mean_bin(b, d):
    return b.mean(d, keepdim=True)


def _max_bin(b, d):
    return b.gather(d, Tensor._wrap(b.data.argmax(axis=d)[(slice(None),) * d + (None,)], b.device))


def adaptive_avg_pool1d(input, output_size):  # noqa: A002
    """Average (N, C, L) down (or up) to ``output_size`` positions, whatever L is."""
    return _adaptive("adaptive_avg_pool1d", 1, input, output_size, _mean_bin)


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    """Average (N, C, H, W) to (N, C, *output_size), whatever H and W are (``(1, 1)``: global average pooling;
    None keeps that dim)."""
    return _adaptive("adaptive_avg_pool2d", 2, input, output_size, _mean_bin)


def adaptive_avg_pool3d(input, output_size):  # noqa: A002
    """Average (N, C, D, H, W) to (N, C, *output_size)."""
    return _adaptive("adaptive_avg_pool3d", 3, input, output_size, _mean_bin)


def _no_indices(op, return_indices):
    if return_indices:
        raise NotImplementedError(f"{op}: return_indices=True is not supported by tinygrad_tf (the max values "
                                  "are; use max_pool with a fixed kernel for indices)")


def adaptive_max_pool1d(input, output_size, return_indices=False):  # noqa: A002
    """The largest value of each of ``output_size`` bins of (N, C, L)."""
    _no_indices("adaptive_max_pool1d", return_indices)
    return _adaptive("adaptive_max_pool1d", 1, input, output_size, _max_bin)


def adaptive_max_pool2d(input, output_size, return_indices=False):  # noqa: A002
    """The largest value of each bin of (N, C, H, W), ``output_size`` bins per dim."""
    _no_indices("adaptive_max_pool2d", return_indices)
    return _adaptive("adaptive_max_pool2d", 2, input, output_size, _max_bin)


def adaptive_max_pool3d(input, output_size, return_indices=False):  # noqa: A002
    """The largest value of each bin of (N, C, D, H, W)."""
    _no_indices("adaptive_max_pool3d", return_indices)
    return _adaptive("adaptive_max_pool3d", 3, input, output_size, _max_bin)


# ---------------------------------------------------------------- im2col and back
def unfold(input, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """im2col: (N, C, H, W) -> (N, C * kH * kW, L), each column one window (L windows, row-major)."""
    x, unbatched = _batched("unfold", input, 2)
    kernel = ntuple("unfold", "kernel_size", kernel_size, 2)
    dilation, stride = ntuple("unfold", "dilation", dilation, 2), ntuple("unfold", "stride", stride, 2)
    pads = [(p, p) for p in ntuple("unfold", "padding", padding, 2)]
    out = [out_size(s, k, st, lo, hi, d) for s, k, st, (lo, hi), d in zip(x.shape[2:], kernel, stride, pads, dilation)]
    if any(o <= 0 for o in out):
        raise ValueError(f"unfold: no window of kernel {kernel} fits the input {input.shape} with padding "
                         f"{padding} and dilation {dilation}")
    cols = windows(_pad_spatial(x, pads), kernel, stride, dilation, out)
    cols = cols.reshape(x.shape[0], x.shape[1] * math.prod(kernel), math.prod(out))
    return cols.squeeze(0) if unbatched else cols


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):  # noqa: A002
    """col2im, the transpose of unfold: (N, C * kH * kW, L) -> (N, C, *output_size), overlapping window values
    summed."""
    x = input.unsqueeze(0) if input.ndim == 2 else input
    size = ntuple("fold", "output_size", output_size, 2)
    kernel = ntuple("fold", "kernel_size", kernel_size, 2)
    dilation, stride = ntuple("fold", "dilation", dilation, 2), ntuple("fold", "stride", stride, 2)
    padding = ntuple("fold", "padding", padding, 2)
    out = [out_size(s, k, st, p, p, d) for s, k, st, p, d in zip(size, kernel, stride, padding, dilation)]
    k = math.prod(kernel)
    if x.ndim != 3 or x.shape[1] % k or x.shape[2] != math.prod(out):
        raise ValueError(f"fold: expected input of shape (N, C * {k}, {math.prod(out)}) for output_size {size} and "
                         f"kernel {kernel}, got {input.shape}")
    n, c = x.shape[0], x.shape[1] // k
    hp, wp = size[0] + 2 * padding[0], size[1] + 2 * padding[1]
    taps = np.array(list(itertools.product(range(kernel[0]), range(kernel[1]))))          # (K, 2)
    rows = np.arange(out[0])[:, None] * stride[0] + taps[:, 0, None, None] * dilation[0]  # (K, oH, 1)
    cols = np.arange(out[1])[None, :] * stride[1] + taps[:, 1, None, None] * dilation[1]  # (K, 1, oW)
    where_to = (rows * wp + cols).reshape(1, 1, -1)                                        # (1, 1, K * L)
    xp = x._xp()
    index = Tensor._wrap(xp.asarray(np.broadcast_to(where_to, (n, c, where_to.shape[-1])).copy()), x.device)
    canvas = zeros(n, c, hp * wp, dtype=x.dtype, device=x.device)
    y = canvas.scatter_add(2, index, x.reshape(n, c, -1)).reshape(n, c, hp, wp)
    y = y[:, :, padding[0]:padding[0] + size[0], padding[1]:padding[1] + size[1]]
    return y.squeeze(0) if input.ndim == 2 else y
