"""Reductions and normalised exponentials: sum mean max min var logsumexp softmax log_softmax, and cumsum.

A reduction gets ``axes``, a sorted tuple of non-negative axes (the Tensor
methods turn the user's ``dim`` into it and check its range); ``keepdim`` keeps
the reduced axes with size 1. The backward of a reduction spreads the gradient
back over the reduced axes: ``_unreduce`` re-inserts them so it broadcasts.
"""

import numpy as np

from .autograd import Function
from .parallel_cpu import for_rows


def _unreduce(xp, g, axes, keepdim):
    """Give ``g`` back the reduced axes (size 1) so that it broadcasts against the input."""
    return g if keepdim or not axes else xp.expand_dims(g, axes)


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


class Sum(Function):          # y = sum_i x_i      dy/dx_i = 1
    @staticmethod
    def forward(ctx, x, axes, keepdim=False):
        ctx.axes, ctx.keepdim, ctx.shape = axes, keepdim, x.shape
        return x.sum(axis=ctx.axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.broadcast_to(_unreduce(ctx.xp, g, ctx.axes, ctx.keepdim), ctx.shape)


class Mean(Function):         # y = sum_i x_i / n   dy/dx_i = 1/n
    @staticmethod
    def forward(ctx, x, axes, keepdim=False):
        ctx.axes, ctx.keepdim, ctx.shape = axes, keepdim, x.shape
        ctx.n = _count(x.shape, axes)
        return x.mean(axis=ctx.axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        g = _unreduce(ctx.xp, g, ctx.axes, ctx.keepdim) / ctx.n
        return ctx.xp.broadcast_to(g, ctx.shape)


class CumSum(Function):
    """y_i = sum_{j <= i} x_j along dim.   dL/dx_j = sum_{i >= j} g_i: the running sum taken from the other end,
    i.e. flip, cumsum, flip back."""

    @staticmethod
    def forward(ctx, x, dim, dtype=None):
        ctx.dim = dim
        return ctx.xp.cumsum(x, axis=dim, dtype=dtype)

    @staticmethod
    def backward(ctx, g):
        xp, d = ctx.xp, ctx.dim
        return xp.flip(xp.cumsum(xp.flip(g, axis=d), axis=d), axis=d)


class Max(Function):
    """y = max_i x_i. The gradient goes to the maximal elements, split evenly over ties."""

    @staticmethod
    def forward(ctx, x, axes, keepdim=False, largest=True):
        y = x.max(axis=axes, keepdims=True) if largest else x.min(axis=axes, keepdims=True)
        winners = x == y
        ctx.save_for_backward(winners, winners.sum(axis=axes, keepdims=True))
        ctx.axes, ctx.keepdim = axes, keepdim
        return y if keepdim else y.squeeze(axis=axes)

    @staticmethod
    def backward(ctx, g):
        winners, count = ctx.saved_tensors
        return _unreduce(ctx.xp, g, ctx.axes, ctx.keepdim) * winners / count


def _centered(xp, x, axes):
    """x - mean(x) over axes."""
    return x - x.mean(axis=axes, keepdims=True)


class Var(Function):
    """y = sum_i (x_i - mean)^2 / (n - correction).   dy/dx_i = 2 (x_i - mean) / (n - correction).

    (The mean's own dependence on x_i drops out because sum_i (x_i - mean) = 0.)
    """

    @staticmethod
    def forward(ctx, x, axes, keepdim=False, correction=1):
        d = ctx.derived(_centered, x, axes)
        denom = max(_count(x.shape, axes) - correction, 0)
        ctx.save_for_backward(d)
        ctx.axes, ctx.keepdim, ctx.denom = axes, keepdim, denom
        with np.errstate(divide="ignore", invalid="ignore"):   # n <= correction gives nan/inf, as PyTorch
            return (d * d).sum(axis=axes, keepdims=keepdim) / ctx.xp.asarray(denom, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            return _unreduce(ctx.xp, g, ctx.axes, ctx.keepdim) * d * (2 / ctx.xp.asarray(ctx.denom, dtype=d.dtype))

    @staticmethod
    def input_from_saved(ctx, i):      # x - mean: the variance cannot tell it from x
        return ctx.saved_tensors[0]


def _stable_max(xp, x, axes):
    """max over axes, with rows that are all -inf given 0 so that x - m stays finite."""
    m = x.max(axis=axes, keepdims=True)
    return xp.where(xp.isfinite(m), m, 0)


class LogSumExp(Function):
    """y = log sum_i e^(x_i) = m + log sum_i e^(x_i - m), m = max x  (never overflows).

    dy/dx_i = e^(x_i - y) = softmax(x)_i
    """

    @staticmethod
    def forward(ctx, x, axes, keepdim=False):
        xp = ctx.xp
        m = _stable_max(xp, x, axes)
        with np.errstate(divide="ignore"):
            y = m + xp.log(xp.exp(x - m).sum(axis=axes, keepdims=True))
        y = y if keepdim else y.squeeze(axis=axes)
        ctx.save_for_backward(x, y)
        ctx.axes, ctx.keepdim = axes, keepdim
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xp, axes, keepdim = ctx.xp, ctx.axes, ctx.keepdim
        return _unreduce(xp, g, axes, keepdim) * xp.exp(x - _unreduce(xp, y, axes, keepdim))


class Softmax(Function):
    """y_i = e^(x_i - m) / sum_j e^(x_j - m).   dL/dx = y * (g - sum_j g_j y_j).

    (Big arrays: each NumPy call is a pass over memory, so the formulas run in place on one buffer; along the
    last axis, chunk by chunk of rows on all cores: parallel_cpu.)
    """

    @staticmethod
    def forward(ctx, x, dim=-1):
        ctx.dim = dim
        y = _along(softmax, ctx.xp, dim, x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return _along(softmax_backward, ctx.xp, ctx.dim, g, y)


def softmax(xp, x, dim):
    e = x - _stable_max(xp, x, dim)
    xp.exp(e, out=e)
    e /= e.sum(axis=dim, keepdims=True)
    return e


def softmax_backward(xp, g, y, dim):
    gx = g * y
    s = gx.sum(axis=dim, keepdims=True)   # sum_j g_j y_j
    xp.subtract(g, s, out=gx)             # then reuse the buffer: gx = (g - s) * y
    gx *= y
    return gx


class LogSoftmax(Function):
    """y_i = x_i - logsumexp(x).   dL/dx = g - softmax(x) * sum_j g_j."""

    @staticmethod
    def forward(ctx, x, dim=-1):
        ctx.dim = dim
        y = _along(log_softmax, ctx.xp, dim, x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return _along(log_softmax_backward, ctx.xp, ctx.dim, g, y)


def log_softmax(xp, x, dim):
    z = x - _stable_max(xp, x, dim)
    with np.errstate(divide="ignore"):
        z -= xp.log(xp.exp(z).sum(axis=dim, keepdims=True))
    return z


def log_softmax_backward(xp, g, y, dim):
    gx = xp.exp(y)
    gx *= -g.sum(axis=dim, keepdims=True)
    gx += g
    return gx


def _along(fn, xp, dim, x, *args):
    """``fn(xp, x, *args, dim)``; along the last axis, row chunk by row chunk (parallel_cpu.for_rows)."""
    if isinstance(dim, int) and dim in (-1, x.ndim - 1):
        return for_rows(fn, xp, x, *args, -1)
    return fn(xp, x, *args, dim)


def _exclusive_products(xp, x, axis):
    """(prod of the elements before i, prod of the elements after i) along ``axis``: the product of all the others
    is their product, with no division -- so it is right where some x are 0."""
    x = xp.moveaxis(x, axis, -1)
    ones = xp.ones_like(x[..., :1])
    before = xp.cumprod(xp.concatenate([ones, x[..., :-1]], axis=-1), axis=-1)
    after = xp.flip(xp.cumprod(xp.concatenate([ones, xp.flip(x, axis=-1)[..., :-1]], axis=-1), axis=-1), axis=-1)
    return xp.moveaxis(before, -1, axis), xp.moveaxis(after, -1, axis)


class Prod(Function):
    """y = prod_i x_i.   dy/dx_i = prod_{j != i} x_j  (the product of the others; exact where x has zeros).

    Over several axes, those axes are first moved to the end and merged into one."""

    @staticmethod
    def forward(ctx, x, axes, keepdim=False, dtype=None):
        ctx.save_for_backward(x)
        ctx.axes, ctx.keepdim = axes, keepdim
        return x.prod(axis=axes, keepdims=keepdim, dtype=dtype)

    @staticmethod
    def backward(ctx, g):
        xp, axes = ctx.xp, ctx.axes
        (x,) = ctx.saved_tensors
        rest = tuple(a for a in range(x.ndim) if a not in axes)
        moved = xp.transpose(x, rest + axes)
        flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
        if flat.shape[-1] == 0:
            return xp.zeros_like(x)
        before, after = _exclusive_products(xp, flat, -1)
        others = (before * after).reshape(moved.shape)
        inverse = [0] * x.ndim
        for i, a in enumerate(rest + axes):
            inverse[a] = i
        return _unreduce(xp, g, axes, ctx.keepdim) * xp.transpose(others, inverse)


class CumProd(Function):
    """y_i = prod_{j <= i} x_j along dim.   dL/dx_j = sum_{i >= j} g_i prod_{k <= i, k != j} x_k
                                                   = (prod_{k < j} x_k) r_j,   r_j = g_j + x_{j+1} r_{j+1}

    r is run from the far end, one step per position along dim; no division, so zeros in x are exact."""

    @staticmethod
    def forward(ctx, x, dim, dtype=None):
        ctx.dim = dim
        ctx.save_for_backward(x)
        return ctx.xp.cumprod(x, axis=dim, dtype=dtype)

    @staticmethod
    def backward(ctx, g):
        xp, d = ctx.xp, ctx.dim
        (x,) = ctx.saved_tensors
        x, g = xp.moveaxis(x, d, 0), xp.moveaxis(g, d, 0)
        if x.shape[0] == 0:
            return xp.moveaxis(xp.zeros_like(x), 0, d)
        before, _ = _exclusive_products(xp, x, 0)
        r = xp.empty_like(g)
        r[-1] = g[-1]
        for j in range(x.shape[0] - 2, -1, -1):
            r[j] = g[j] + x[j + 1] * r[j + 1]
        return xp.moveaxis(before * r, 0, d)


class Norm(Function):
    """y = (sum_i |x_i|^p)^(1/p) over axes (p = inf: max |x_i|; p = -inf: min |x_i|; p = 0: the count of non-zeros).

        dy/dx_i = sign(x_i) |x_i|^(p-1) / y^(p-1)        (p = 2: x_i / y;  p = 1: sign(x_i))
        p = +-inf: sign(x_i) where |x_i| is the extreme, split evenly over ties;  p = 0: 0.

    Where y = 0 the gradient is 0 (PyTorch's choice: the norm has no derivative at the origin)."""

    @staticmethod
    def forward(ctx, x, p, axes, keepdim=False):
        xp = ctx.xp
        a = xp.abs(x)
        if p == float("inf") or p == float("-inf"):
            y = a.max(axis=axes, keepdims=True) if p > 0 else a.min(axis=axes, keepdims=True)
        elif p == 0:
            y = (a != 0).sum(axis=axes, keepdims=True).astype(x.dtype)
        elif p == 1:
            y = a.sum(axis=axes, keepdims=True)
        elif p == 2:
            y = xp.sqrt((x * x).sum(axis=axes, keepdims=True))
        else:
            y = (a ** p).sum(axis=axes, keepdims=True) ** (1 / p)
        y = y if keepdim else y.reshape(tuple(n for i, n in enumerate(y.shape) if i not in axes))
        ctx.save_for_backward(x, y)
        ctx.p, ctx.axes, ctx.keepdim = p, axes, keepdim
        return y

    @staticmethod
    def backward(ctx, g):
        xp, p = ctx.xp, ctx.p
        x, y = ctx.saved_tensors
        g, y = _unreduce(xp, g, ctx.axes, ctx.keepdim), _unreduce(xp, y, ctx.axes, ctx.keepdim)
        if p == 0:
            return xp.zeros_like(x)
        if p == 1:
            return g * xp.sign(x)
        if p in (float("inf"), float("-inf")):
            hit = xp.abs(x) == y
            return g * xp.sign(x) * hit / hit.sum(axis=ctx.axes, keepdims=True)
        safe = xp.where(y == 0, 1, y)
        if p == 2:
            return xp.where(y == 0, 0, g * x / safe)
        return xp.where(y == 0, 0, g * xp.sign(x) * (xp.abs(x) / safe) ** (p - 1))
