"""Ops that move values around without changing them: reshape, permute, expand,
indexing, concatenation, stacking and copies between devices. Each backward puts
the gradient back where the value came from.
"""

import numpy as np

from . import backend
from .autograd import Function


class Reshape(Function):      # same values, new shape: the gradient just takes the old shape back
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape)


class Permute(Function):      # y = x.transpose(axes): undo it with the inverse permutation
    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        inverse = [0] * len(ctx.axes)
        for i, a in enumerate(ctx.axes):
            inverse[a] = i
        return ctx.xp.transpose(g, inverse)


class SplitHeads(Function):
    """(B, T, H * d) -> (B, H, T, d): attention's heads as a batch axis, in one op instead of two.

        y = x.reshape(B, T, H, d).transpose(0, 2, 1, 3)      y[b, h, t, i] = x[b, t, h * d + i]

    Values only move (y is a view of x), so the gradient moves them back: merge the heads of g.
    """

    @staticmethod
    def forward(ctx, x, n_head):
        b, t, e = x.shape
        return x.reshape(b, t, n_head, e // n_head).transpose(0, 2, 1, 3)

    @staticmethod
    def backward(ctx, g):
        b, h, t, d = g.shape
        return ctx.xp.transpose(g, (0, 2, 1, 3)).reshape(b, t, h * d)


class MergeHeads(Function):
    """(B, H, T, d) -> (B, T, H * d): the heads side by side again (SplitHeads undone), in one op.

        y = x.transpose(0, 2, 1, 3).reshape(B, T, H * d)     y[b, t, h * d + i] = x[b, h, t, i]

    The gradient splits g back into heads.
    """

    @staticmethod
    def forward(ctx, x):
        b, h, t, d = x.shape
        ctx.n_head = h
        return x.transpose(0, 2, 1, 3).reshape(b, t, h * d)

    @staticmethod
    def backward(ctx, g):
        b, t, e = g.shape
        return ctx.xp.transpose(g.reshape(b, t, ctx.n_head, e // ctx.n_head), (0, 2, 1, 3))


class Expand(Function):
    """y = x broadcast to ``shape``: each element of x is copied along the broadcast axes
    (the new leading axes, and the axes where x has size 1). A copy's gradient flows back
    to its original, so the gradient of a broadcast is the sum over the broadcast axes:

        x (3, 1) -> y (2, 3, 4):   dL/dx[i, 0] = sum over a, j of g[a, i, j]

    That sum is the one every broadcasting op needs (a + b with b of shape (1, 4) is the same
    story), so the engine does it in one place, autograd._fit: backward hands g over whole.
    """

    @staticmethod
    def forward(ctx, x, shape):
        return ctx.xp.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return g            # of y's shape; autograd._fit sums it over the broadcast axes to x's shape


class Flip(Function):         # y = x reversed along dims: flipping the gradient back returns each value home
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return ctx.xp.flip(x, axis=dims)

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.flip(g, axis=ctx.dims)


class Roll(Function):
    """y = x shifted cyclically along dims: y[(i + s) mod n] = x[i].  dL/dx = g rolled back by -s.

    ``dims=None`` rolls the flattened tensor (NumPy's ``roll`` with ``axis=None`` does the same)."""

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return ctx.xp.roll(x, shifts, axis=dims)

    @staticmethod
    def backward(ctx, g):
        back = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        return ctx.xp.roll(g, back, axis=ctx.dims)


class Copy(Function):
    """``x.copy_(src)``, ``fill_``, ``zero_``, ``normal_``, ...: y = src cast to x's dtype and broadcast to
    x's shape. x's old values are gone, so its gradient is 0; src's is g (summed over the broadcast axes
    and cast back to src's dtype by the engine)."""

    @staticmethod
    def forward(ctx, x, src):
        xp = ctx.xp
        return xp.broadcast_to(xp.asarray(src), x.shape).astype(x.dtype)   # astype copies

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.zeros_like(g), g


def _picks_once(index) -> bool:
    """True when no element can be picked twice: no integer arrays (ints, slices, None, ... and bool masks)."""
    parts = index if isinstance(index, tuple) else (index,)
    return not any(getattr(p, "ndim", 0) > 0 and p.dtype.kind in "iu" for p in parts)


class GetItem(Function):
    """y = x[index].  The gradient is scattered back to the picked positions.

    With integer arrays the same element may be picked several times, so the
    backward *adds* into place (np.add.at) instead of assigning.
    """

    @staticmethod
    def forward(ctx, x, index):
        ctx.index, ctx.shape, ctx.dtype = index, x.shape, x.dtype
        parts = index if isinstance(index, tuple) else (index,)
        if all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in parts):
            return x[parts + (Ellipsis,)]   # NumPy's x[i, j] is a scalar, a copy; x[i, j, ...] is the same value as
        return x[index]                     # a 0-d view, as in PyTorch (so x[i, j].fill_(v) under no_grad writes x)

    @staticmethod
    def backward(ctx, g):
        out = ctx.xp.zeros(ctx.shape, dtype=g.dtype)
        if _picks_once(ctx.index):
            out[ctx.index] = g
            return out
        return backend.scatter_add(ctx.xp, out, ctx.index, g)


class SetItem(Function):
    """y = x with y[index] = v (``x[index] = v`` on a tensor in a graph).  The positions written take their
    gradient from v, the rest from x:  dL/dx = g with zeros at index,  dL/dv = g[index] (summed over what v
    was broadcast across, by the engine)."""

    @staticmethod
    def forward(ctx, x, v, index):
        ctx.index = index
        y = x.copy()
        y[index] = v
        return y

    @staticmethod
    def backward(ctx, g):
        gx = None
        if ctx.needs_input_grad[0]:
            gx = ctx.xp.copy(g)
            gx[ctx.index] = 0
        return gx, (g[ctx.index] if ctx.needs_input_grad[1] else None)


class AddAt(Function):
    """y = x with v added at ``x[index]``, a position named twice getting both (NumPy's ``np.add.at``): the
    backward of indexing with repeated integers, as an op, so that it can be differentiated in turn.
    dL/dx = g,  dL/dv = g[index]."""

    @staticmethod
    def forward(ctx, x, v, index):
        ctx.index = index
        return backend.scatter_add(ctx.xp, x.copy(), index, v)

    @staticmethod
    def backward(ctx, g):
        return g, (g[ctx.index] if ctx.needs_input_grad[1] else None)


class Cat(Function):          # y = [x0 | x1 | ...] along dim: the gradient is cut back into pieces
    @staticmethod
    def forward(ctx, *xs, dim=0):
        ctx.dim = dim
        ctx.bounds = []
        total = 0
        for x in xs:
            total += x.shape[dim]
            ctx.bounds.append(total)
        return ctx.xp.concatenate(xs, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return tuple(ctx.xp.split(g, ctx.bounds[:-1], axis=ctx.dim))


class Stack(Function):        # y[..., i, ...] = x_i along a new axis dim
    @staticmethod
    def forward(ctx, *xs, dim=0):
        ctx.dim, ctx.n = dim, len(xs)
        return ctx.xp.stack(xs, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return tuple(ctx.xp.take(g, i, axis=ctx.dim) for i in range(ctx.n))


class ToDevice(Function):     # y = x copied to another device ("cpu" or "cuda"): the gradient is copied back
    @staticmethod
    def forward(ctx, x, device):
        ctx.source = ctx.device
        return backend.to_device(x, device)

    @staticmethod
    def backward(ctx, g):
        return backend.to_device(g, ctx.source)


class Repeat(Function):
    """y = x tiled ``reps`` times along each axis (``x.repeat(2, 3)``; x already has as many axes as reps).

    Each element of x appears once in every tile, so its gradient is the sum over the tiles: view g as
    (r0, n0, r1, n1, ...) and sum the r axes."""

    @staticmethod
    def forward(ctx, x, reps):
        ctx.reps, ctx.shape = reps, x.shape
        return ctx.xp.tile(x, reps)

    @staticmethod
    def backward(ctx, g):
        split = tuple(s for r, n in zip(ctx.reps, ctx.shape) for s in (r, n))
        return g.reshape(split).sum(axis=tuple(range(0, len(split), 2)))


class RepeatInterleave(Function):
    """y = each slice of x along dim repeated ``repeats`` times in place (``[a, b] -> [a, a, b, b]``);
    ``repeats`` is one int or one count per slice. The gradient of a slice is the sum of its copies'."""

    @staticmethod
    def forward(ctx, x, repeats, dim):
        xp = ctx.xp
        ctx.dim, ctx.shape = dim, x.shape
        ctx.source = xp.repeat(xp.arange(x.shape[dim]), repeats)      # which slice of x each slice of y copies
        return xp.repeat(x, repeats, axis=dim)

    @staticmethod
    def backward(ctx, g):
        gx = ctx.xp.zeros(ctx.shape, dtype=g.dtype)
        return backend.scatter_add(ctx.xp, gx, (slice(None),) * ctx.dim + (ctx.source,), g)


def _diagonal_index(xp, n, m, offset):
    """(rows, cols) of the ``offset``-th diagonal of an n x m matrix (offset > 0: above the main one)."""
    k = max(0, min(n + min(offset, 0), m - max(offset, 0)))
    i = xp.arange(k)
    return i + max(-offset, 0), i + max(offset, 0)


class Diagonal(Function):
    """y = the ``offset``-th diagonal of the (dim1, dim2) matrices of x, as a new last axis (y[..., i] =
    x[..., i, i + offset]).   dL/dx: g written back onto that diagonal, 0 elsewhere."""

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        ctx.args, ctx.shape = (offset, dim1, dim2), x.shape
        return ctx.xp.diagonal(x, offset, dim1, dim2).copy()

    @staticmethod
    def backward(ctx, g):
        xp, (offset, d1, d2) = ctx.xp, ctx.args
        moved = [n for i, n in enumerate(ctx.shape) if i not in (d1, d2)] + [ctx.shape[d1], ctx.shape[d2]]
        mats = xp.zeros(tuple(moved), dtype=g.dtype)           # gx with the (d1, d2) matrices last
        rows, cols = _diagonal_index(xp, mats.shape[-2], mats.shape[-1], offset)
        mats[..., rows, cols] = g
        return xp.moveaxis(mats, (-2, -1), (d1, d2))


class DiagEmbed(Function):
    """y = matrices with the last axis of x on their ``offset``-th diagonal, zeros elsewhere, the two new axes at
    (dim1, dim2).   dL/dx = that diagonal of g."""

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        xp = ctx.xp
        n = x.shape[-1] + abs(offset)
        y = xp.zeros(x.shape[:-1] + (n, n), dtype=x.dtype)
        ctx.where = _diagonal_index(xp, n, n, offset)
        y[(Ellipsis,) + ctx.where] = x
        ctx.dims = (dim1, dim2)
        return xp.moveaxis(y, (-2, -1), ctx.dims)

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.moveaxis(g, ctx.dims, (-2, -1))[(Ellipsis,) + ctx.where]
