"""Ops that move values around without changing them: reshape, permute, expand,
indexing, concatenation, stacking and copies between devices. Each backward puts
the gradient back where the value came from.
"""

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
        return g.transpose(inverse)


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
        return x[index]

    @staticmethod
    def backward(ctx, g):
        out = ctx.xp.zeros(ctx.shape, dtype=g.dtype)
        if _picks_once(ctx.index):
            out[ctx.index] = g
        else:
            backend.scatter_add(ctx.xp, out, ctx.index, g)
        return out


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
