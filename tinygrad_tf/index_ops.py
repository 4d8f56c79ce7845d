"""Ops that pick values by an index tensor along one dim -- gather, scatter, scatter_add -- and the
orders that sort, argsort and topk pick with.

PyTorch's rules, written for dim=1 of a 2-D tensor (y starts as a copy of x for the scatters):

    gather:       y[i][j] = x[i][index[i][j]]
    scatter:      y[i][index[i][j]] = src[i][j]
    scatter_add:  y[i][index[i][j]] += src[i][j]      (an index met twice adds twice)

``index`` has as many dims as x; along the other dims it may be shorter than x (and than src): only its
own extent is used. Each op's backward is another of them: gather's is scatter_add (a value picked twice
gets both gradients), and both scatters give src the gradient gathered from where it went.
Sorting is not differentiable in its indices, but its values are x gathered at them, so sort and topk
return Gather's output and get Gather's gradient: each value's gradient goes back to where it came from.
"""

from __future__ import annotations

from . import backend
from .autograd import Function


def along(xp, index, dim):
    """The full index that addresses position ``index[i, j, k]`` along ``dim`` and ``(i, j, k)`` along the
    others: ``x[along(xp, index, 1)]`` is ``x[i, index[i, j, k], k]`` for every (i, j, k) of ``index``."""
    parts = []
    for d, n in enumerate(index.shape):
        if d == dim:
            parts.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = n
            parts.append(xp.arange(n).reshape(shape))    # broadcasts against index
    return tuple(parts)


def _extent(index):
    """The part of a tensor that ``index`` covers: its first ``index.shape[d]`` entries along every dim d."""
    return tuple(slice(0, n) for n in index.shape)


class Gather(Function):       # y = x[along(index)]     dL/dx = g added back where each value came from
    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.where, ctx.shape = along(ctx.xp, index, dim), x.shape
        return x[ctx.where]

    @staticmethod
    def backward(ctx, g):
        gx = ctx.xp.zeros(ctx.shape, dtype=g.dtype)
        return backend.scatter_add(ctx.xp, gx, ctx.where, g)


class Scatter(Function):
    """y = x, then y[along(index)] = src (a tensor, or one number for every position).

    dL/dx = g, except 0 where x was overwritten;  dL/dsrc = g gathered at the positions src went to
    (PyTorch's formula: with a repeated index, every src value that aimed there gets the gradient).
    """

    @staticmethod
    def forward(ctx, x, dim, index, src):
        xp = ctx.xp
        ctx.where, ctx.cover = along(xp, index, dim), _extent(index)
        ctx.src_shape = getattr(src, "shape", None)
        y = x.copy()
        y[ctx.where] = src[ctx.cover] if ctx.src_shape is not None else src
        return y

    @staticmethod
    def backward(ctx, g):
        gx = gsrc = None
        if ctx.needs_input_grad[0]:
            gx = ctx.xp.copy(g)
            gx[ctx.where] = 0
        if ctx.needs_input_grad[3]:
            gsrc = _gathered(ctx, g)
        return gx, None, None, gsrc


class ScatterAdd(Function):
    """y = x, then y[along(index)] += src, an index met twice adding twice.   dL/dx = g;
    dL/dsrc = g gathered at the positions src was added to."""

    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.where, ctx.cover, ctx.src_shape = along(ctx.xp, index, dim), _extent(index), src.shape
        return backend.scatter_add(ctx.xp, x.copy(), ctx.where, src[ctx.cover])

    @staticmethod
    def backward(ctx, g):
        return g, None, None, (_gathered(ctx, g) if ctx.needs_input_grad[3] else None)


def _gathered(ctx, g):
    """src's gradient: g at the positions src was written to, 0 for the part of src the index does not cover."""
    gsrc = ctx.xp.zeros(ctx.src_shape, dtype=g.dtype)
    gsrc[ctx.cover] = g[ctx.where]
    return gsrc


# ---------------------------------------------------------------- orders (no gradient: integer indices)
def sort_order(xp, x, dim, descending=False):
    """Indices that sort ``x`` along ``dim``: a stable sort (equal values keep their order), NaN counted as
    the largest value, as PyTorch does. Descending: sort the reversed axis ascending and read the result
    backwards, which keeps equal values in their original order and puts NaN first."""
    if not descending:
        return xp.argsort(x, axis=dim, kind="stable")
    n = x.shape[dim]
    order = xp.flip(xp.argsort(xp.flip(x, axis=dim), axis=dim, kind="stable"), axis=dim)
    return (n - 1) - order


def topk_order(xp, x, k, dim, largest=True):
    """Indices of the k largest (smallest) values along ``dim``, best first. A long axis with a small k is
    first cut down to k candidates by ``argpartition`` (linear time), so sampling from a 50,000-token
    vocabulary sorts 50 values, not 50,000; then which of several equal values at the k-th place is taken
    is not defined (as in PyTorch). Otherwise equal values come in index order."""
    n = x.shape[dim]
    if k == 0 or 8 * k > n or n < 256:
        order = sort_order(xp, x, dim, descending=largest)
        return xp.take(order, xp.arange(k), axis=dim)
    kth = n - k if largest else k - 1
    cand = xp.argpartition(x, kth, axis=dim)
    cand = xp.take(cand, xp.arange(n - k, n) if largest else xp.arange(k), axis=dim)
    cand = xp.sort(cand, axis=dim)                        # candidates in index order: ties among them stay so
    order = sort_order(xp, xp.take_along_axis(x, cand, axis=dim), dim, descending=largest)
    return xp.take_along_axis(cand, order, axis=dim)


# ---------------------------------------------------------------- whole slices picked by a 1-D index along dim
def _at(dim, index):
    """The index that addresses slices ``index`` along axis ``dim`` (all of every other axis)."""
    return (slice(None),) * dim + (index,)


class IndexAdd(Function):
    """y = x, then y[.., index[i], ..] += alpha * src[.., i, ..] along dim (an index met twice adds twice).
    dL/dx = g;  dL/dsrc = alpha * g[.., index[i], ..]."""

    @staticmethod
    def forward(ctx, x, dim, index, src, alpha=1):
        ctx.where, ctx.alpha = _at(dim, index), alpha
        return backend.scatter_add(ctx.xp, x.copy(), ctx.where, src * alpha if alpha != 1 else src)

    @staticmethod
    def backward(ctx, g):
        return g, None, None, (g[ctx.where] * ctx.alpha if ctx.needs_input_grad[3] else None)


class IndexCopy(Function):
    """y = x, then y[.., index[i], ..] = src[.., i, ..] along dim (``src`` may be one number: index_fill).
    dL/dx = g, 0 on the overwritten slices;  dL/dsrc = g[.., index[i], ..]."""

    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.where = _at(dim, index)
        y = x.copy()
        y[ctx.where] = src
        return y

    @staticmethod
    def backward(ctx, g):
        gx = ctx.xp.copy(g)
        gx[ctx.where] = 0
        return gx, None, None, (g[ctx.where] if ctx.needs_input_grad[3] else None)
