"""Fused attention: y = softmax(q k^T * scale + bias, keep) v as ONE op, with its own backward.

The lesson's attention (nn.functional._attend / attention) is a chain of small ops -- scale, matmul, add,
masked_fill, softmax, matmul -- and autograd keeps what each of them needs: the scores, the mask, the
softmax output. Every one of those is (B, H, T, S), T times larger than q, k or v when S = T. This op keeps
only q, k, v (and the bias and mask) and two numbers per query row (the row's max m and l = sum e^(s - m), i.e. its
log-sum-exp lse = m + log l, kept in two parts so that P comes out bit for bit as the unfused softmax's), and computes the weights P again in backward from them: one more matrix
product, no (B, H, T, S) array kept between the passes (FlashAttention's bookkeeping, without the tiling).

Shapes: q (*, Hq, T, d), k (*, Hkv, S, d), v (*, Hkv, S, dv), Hq = G * Hkv (grouped-query attention: each
key/value head serves G query heads in a row). The G query heads of a group are stacked into one
(G * T, d) matrix, so q k^T is ONE product per key/value head and the keys are never repeated in memory.
``bias`` and ``keep`` broadcast to the scores (*, Hq, T, S), which are the folded (*, Hkv, G * T, S)
ones seen with the group axis split back out (a free reshape). ``fill`` is what masked scores become:
-inf (a row with no key left gets weights 0, output 0 and gradient 0: PyTorch's SDPA) or the dtype's
lowest number (such a row is uniform: Hugging Face's models). ``dtype``: the softmax's dtype (float32
under autocast while the products run in float16). nn.functional checks the arguments; this is the math.
"""

import math

import numpy as np

from . import kernels_cpu
from .autograd import Function
from .parallel_cpu import for_heads, heads_outside


def _cast(xp, x, dtype):
    return x if dtype is None or x.dtype == dtype else xp.asarray(x, dtype=dtype)


def _fold(xp, x, hkv):
    """(*, Hq, T, d) -> (*, Hkv, G * T, d): the G query heads of a group stacked into one matrix."""
    if x.ndim < 3 or x.shape[-3] == hkv:
        return x
    return xp.reshape(x, (*x.shape[:-3], hkv, (x.shape[-3] // hkv) * x.shape[-2], x.shape[-1]))


def _scores(xp, q, k, bias, keep, scale, fill, dtype):
    """s~ = where(keep, q k^T * scale + bias, fill), folded: (*, Hkv, G * T, S), in the softmax dtype."""
    hkv = k.shape[-3] if k.ndim >= 3 else 1
    s = _cast(xp, _fold(xp, q * scale if scale != 1 else q, hkv) @ xp.swapaxes(k, -1, -2), dtype)
    if bias is None and keep is None:
        return s
    s = xp.reshape(s, (*q.shape[:-1], k.shape[-2]))                 # (*, Hq, T, S): what bias/keep broadcast to
    if bias is not None:
        s = xp.add(s, bias, out=s)
    if keep is not None:
        s = xp.where(keep, s, fill)
    return xp.reshape(s, (*q.shape[:-3], hkv, -1, k.shape[-2])) if q.ndim >= 3 else s


def _loop_mask(xp, q, k, keep, dtype):
    """``keep`` as kernels_cpu's compiled softmax loops take it, or None where they do not run: not NumPy, not
    float32/64 scores, grouped heads (folded rows), a mask per batch item, numba absent or switched off."""
    if xp is not np or type(q) is not np.ndarray or q.ndim != 4 or k.shape[-3] != q.shape[-3] or k.shape[-2] == 0:
        return None
    if np.dtype(dtype or q.dtype) not in (np.float32, np.float64) or not kernels_cpu.enabled():
        return None
    return kernels_cpu.attention_mask(keep, q.shape[-2], k.shape[-2])


def softmax_stats(xp, q, k, bias, keep, scale, fill, dtype):
    """(P, m, l): P = e^(s~ - m) / l, m = the row max (0 for a row of -inf), l = sum_j e^(s~_j - m) (>= 1;
    set to 1 in a row with nothing to attend to, whose e, and so P, are 0). The row's lse is m + log l."""
    mask = _loop_mask(xp, q, k, keep, dtype)
    if mask is not None:                          # the same as loops over the rows (kernels_cpu): 3 passes, not 8
        return kernels_cpu.masked_softmax(_scores(xp, q, k, bias, None, scale, fill, dtype), mask, fill,
                                          keep is not None or bias is not None)
    s = _scores(xp, q, k, bias, keep, scale, fill, dtype)
    m = xp.max(s, axis=-1, keepdims=True)
    maybe_empty = keep is not None or bias is not None        # (else every score is a number: no empty row)
    if maybe_empty:
        m = xp.where(m == -math.inf, 0.0, m)
    e = xp.exp(xp.subtract(s, m, out=s), out=s)
    total = xp.sum(e, axis=-1, keepdims=True)
    if maybe_empty:
        total = xp.where(total > 0, total, 1.0)
    return xp.divide(e, total, out=e), m, total


def attend(xp, q, k, v, bias, keep, scale, fill, dtype, out=None):
    """(y, m, l): y = P v, with P, m, l from softmax_stats (P is dropped: backward computes it again).
    ``out``: (y, m, l) arrays to write them into instead (one query head per key head)."""
    p, m, l = softmax_stats(xp, q, k, bias, keep, scale, fill, dtype)
    if out is not None:
        xp.matmul(_cast(xp, p, v.dtype), v, out=out[0])
        out[1][...], out[2][...] = m, l
        return out
    y = _cast(xp, p, v.dtype) @ v                                     # (*, Hkv, G * T, dv)
    if q.ndim >= 3 and q.shape[-3] != k.shape[-3]:
        y = xp.reshape(y, (*q.shape[:-1], v.shape[-1]))               # (*, Hq, T, dv)
    return y, m, l


def _product(xp, a, b, scale, out, add):
    """a @ b * scale: a new array (``out`` None), written into ``out``, or added to it (``add``)."""
    if out is not None and not add:
        xp.matmul(a, b, out=out)
        if scale != 1:
            out *= scale
        return out
    r = a @ b
    r = r * scale if scale != 1 else r
    if out is None:
        return r
    out += r
    return out


def attention_grads(xp, q, k, v, do, bias, keep, m, l, scale, fill, dtype, need, out=None, add=False):
    """(dq, dk, dv, dbias) from dO = dL/dy: the formulas in Attention's docstring. ``out``: (dq, dk, dv, dbias)
    arrays (None where not needed) to write them into instead (one query head per key head); ``add``: add
    dk and dv to what ``out`` holds (a block of queries' share of the keys' gradients)."""
    out = out or (None,) * 4
    hkv = k.shape[-3] if k.ndim >= 3 else 1
    mask = _loop_mask(xp, q, k, keep, dtype)                  # (not None: compiled loops over the rows, kernels_cpu)
    if mask is not None:
        p = kernels_cpu.softmax_again(_scores(xp, q, k, bias, None, scale, fill, dtype), mask, fill, m, l)
    else:
        s = _scores(xp, q, k, bias, keep, scale, fill, dtype)
        p = xp.divide(xp.exp(xp.subtract(s, m, out=s), out=s), l, out=s)            # P = e^(s - m) / l, again
    do_f = _fold(xp, do, hkv)                                                       # (*, Hkv, G * T, dv)
    dv = _product(xp, xp.swapaxes(_cast(xp, p, v.dtype), -1, -2), do_f, 1, out[2], add) if need[2] else None
    dp = _cast(xp, do_f @ xp.swapaxes(v, -1, -2), p.dtype)                          # dP = dO V^T
    if mask is not None:
        ds = kernels_cpu.softmax_backward(p, dp)
    else:
        dd = xp.sum(p * dp, axis=-1, keepdims=True)                                 # D = rowsum(P * dP)
        ds = xp.multiply(p, xp.subtract(dp, dd, out=dp), out=dp)                    # dS = P * (dP - D)
    if keep is not None and fill != -math.inf and (xp is not np or not (m > fill).all()):
        # a row with no key (its max m is the fill) is uniform: no gradient to s there. (In every other row a
        # masked weight is e^(fill - m) / l = 0 exactly, and so is its dS: on the CPU the pass runs only where
        # it can matter; on a GPU asking would wait for the device, so the pass always runs there)
        ds = _fold(xp, xp.where(keep, xp.reshape(ds, (*q.shape[:-1], k.shape[-2])), 0.0), hkv)
    dsl = _cast(xp, ds, q.dtype)
    dq = dk = None
    if need[0]:                                                                     # dQ = dS K * scale
        dq = _product(xp, dsl, k, scale, out[0], False)
        dq = xp.reshape(dq, q.shape) if dq.shape != q.shape else dq                 # (grouped heads: unfolded)
    if need[1]:                                                                     # dK = dS^T Q * scale
        dk = _product(xp, xp.swapaxes(dsl, -1, -2), _fold(xp, q, hkv), scale, out[1], add)
    db = xp.reshape(ds, (*q.shape[:-1], k.shape[-2])) if need[3] else None
    if db is not None and out[3] is not None:
        out[3][...] = db
        db = out[3]
    return dq, dk, dv, db


# ---------------------------------------------------------------- on the CPU: a few heads, a block of queries
BLOCK = 64           # query rows per block, where a mask lets a block of queries skip keys (causal attention)


def key_blocks(keep, t, s, fill):
    """[(t0, t1, lo, hi)]: query rows [t0, t1) in blocks of BLOCK, and the keys [lo, hi) that any of them may
    see; None when nothing can be skipped. For a mask shared by every head and batch item ((T, S)): causal
    attention's first block of queries sees only the first BLOCK keys, so it skips the rest of q k^T, of
    the softmax, of P v and of their gradients -- (T - BLOCK) / T of them -- and all blocks together skip
    nearly half. A skipped key is masked for every row of its block, so its weight is exactly 0 (e^-inf,
    or e^(lowest - m) with m a real score), unless a row has no key at all and the fill is the dtype's
    lowest number (that row is uniform over all S keys): such a block keeps every key."""
    if keep is None or t < 2 * BLOCK or keep.shape[-2:] != (t, s) or keep.size != t * s:
        return None
    keep = keep.reshape(t, s)
    blocks = []
    for t0 in range(0, t, BLOCK):
        rows = keep[t0:t0 + BLOCK]
        seen = rows.any(axis=0).nonzero()[0]
        whole = len(seen) == 0 or (fill != -math.inf and not rows.any(axis=1).all())
        blocks.append((t0, min(t0 + BLOCK, t), 0 if whole else int(seen[0]), s if whole else int(seen[-1]) + 1))
    return None if all(lo == 0 and hi == s for *_, lo, hi in blocks) else blocks


def _blocks_for(q, k, keep, fill, bias):
    """key_blocks for NumPy arrays with one query head per key head (CuPy, Tensors for create_graph and grouped
    heads, whose m and l are folded, take one call). Under the "lowest number" fill, a bias of -inf could
    empty a row that the mask leaves some keys: that row is uniform over all S keys, so no block skips."""
    if type(q) is not np.ndarray or q.shape[:-2] != k.shape[:-2]:
        return None
    if fill != -math.inf and bias is not None and not np.isfinite(bias).all():
        return None
    return key_blocks(keep, q.shape[-2], k.shape[-2], fill)


def _block(a, t0, t1, lo, hi):
    """Rows [t0, t1) and columns [lo, hi) of a (.., T, S) mask or bias (an axis of size 1 broadcasts: whole;
    a bias of shape (S,) or () is seen as (1, S) or (1, 1), as broadcasting does)."""
    if a is None:
        return None
    if a.ndim < 2:
        a = a.reshape((1,) * (2 - a.ndim) + a.shape)
    return a[..., slice(t0, t1) if a.shape[-2] > 1 else slice(None), slice(lo, hi) if a.shape[-1] > 1 else slice(None)]


def _whole(q, k):
    """The one block of a call that skips nothing: every query row, every key."""
    return [(0, q.shape[-2], 0, k.shape[-2])]


def attend_in_blocks(xp, q, k, v, bias, keep, scale, fill, dtype, blocks, out=None):
    """attend(...), block of queries by block, each over the keys it can see (``blocks``: from _blocks_for;
    None: one block), written into ``out`` = (y, m, l) (made here when None): each block's P v goes straight
    into its rows of y."""
    if out is None and blocks is None:
        return attend(xp, q, k, v, bias, keep, scale, fill, dtype)
    out = out or _outputs(q, k, v, scale, dtype)
    for t0, t1, lo, hi in blocks or _whole(q, k):
        rows, cols = (..., slice(t0, t1), slice(None)), (..., slice(lo, hi), slice(None))
        attend(xp, q[rows], k[cols], v[cols], _block(bias, t0, t1, lo, hi), _block(keep, t0, t1, lo, hi), scale,
               fill, dtype, out=tuple(o[rows] for o in out))
    return out


def attention_grads_in_blocks(xp, q, k, v, do, bias, keep, m, l, scale, fill, dtype, need, blocks, out=None):
    """attention_grads(...), block of queries by block, written into ``out`` = (dq, dk, dv, dbias) (made here
    when None): dq's and dbias's rows are the block's; dk and dv sum the blocks' contributions to the keys
    they saw -- the block that sees every key writes its share, the others add theirs (where no block sees
    every key, dk and dv start from 0) -- and a key no block sees gets none: its weights are 0."""
    if out is None and blocks is None:
        return attention_grads(xp, q, k, v, do, bias, keep, m, l, scale, fill, dtype, need)
    out = out or _grad_outputs(q, k, v, do, scale, dtype, need)
    blocks = sorted(blocks or _whole(q, k), key=lambda b: b[2] - b[3])            # the most keys first
    add = (blocks[0][2], blocks[0][3]) != (0, k.shape[-2])
    if add:
        for g in out[1:3]:
            if g is not None:
                g[...] = 0
    for t0, t1, lo, hi in blocks:
        rows, cols = (..., slice(t0, t1), slice(None)), (..., slice(lo, hi), slice(None))
        where = (rows, cols, cols, (..., slice(t0, t1), slice(lo, hi)))
        attention_grads(xp, q[rows], k[cols], v[cols], do[rows], _block(bias, t0, t1, lo, hi),
                        _block(keep, t0, t1, lo, hi), m[rows], l[rows], scale, fill, dtype, need,
                        out=tuple(None if g is None else g[w] for g, w in zip(out, where)), add=add)
        add = True
    return out


def _score_dtype(q, k, scale, dtype):
    """The dtype of _scores' s~: the softmax's, else that of (q * scale) k^T -- a NumPy float64 ``scale`` makes
    float32 scores float64 (NumPy 2's promotion; a Python float does not), and m and l must be kept in it."""
    if dtype is not None:
        return np.dtype(dtype)
    return np.result_type(np.result_type(q.dtype, scale) if scale != 1 else q.dtype, k.dtype)


def _outputs(q, k, v, scale, dtype):
    """Empty (y, m, l) for a call with one query head per key head: y laid out with the heads of a position
    side by side (heads_outside), m and l in the scores' dtype."""
    soft = _score_dtype(q, k, scale, dtype)
    rows = (*q.shape[:-1], 1)
    return heads_outside((*q.shape[:-1], v.shape[-1]), v.dtype), np.empty(rows, soft), np.empty(rows, soft)


def _grad_outputs(q, k, v, do, scale, dtype, need):
    """Empty dq, dk, dv (heads_outside) and a zero dbias (keys a block skips get 0), each where needed."""
    soft = _score_dtype(q, k, scale, dtype)
    return (heads_outside(q.shape, np.result_type(q.dtype, k.dtype)) if need[0] else None,
            heads_outside(k.shape, q.dtype) if need[1] else None,
            heads_outside(v.shape, np.result_type(v.dtype, do.dtype)) if need[2] else None,
            np.zeros((*q.shape[:-1], k.shape[-2]), soft) if need[3] else None)


def _by_heads(fn, make_out, xp, q, k, v, *args):
    """``fn(xp, q, k, v, ...)`` a few heads at a time on all cores (parallel_cpu.for_heads), each part writing
    into its slices of the whole results that ``make_out()`` makes, when q, k and v are NumPy arrays with the
    same (batch, heads) -- not with grouped keys, whose gradients sum over their query heads."""
    if type(q) is np.ndarray and q.ndim == 4 and q.shape[:2] == k.shape[:2] == v.shape[:2]:
        return for_heads(fn, xp, q, k, v, *args, work=math.prod(q.shape[:-1]) * k.shape[-2], out=make_out())
    return fn(xp, q, k, v, *args)


class Attention(Function):
    """y = P v,  P = softmax(s),  s = q k^T * scale + bias  (masked: s = fill where keep is False).

    With dO = dL/dy and P recomputed from the saved m, l (one product, q k^T, instead of keeping P):
        dV = P^T dO                       (summed over the G query heads of a group by the product)
        dP = dO V^T
        dS = P * (dP - D),  D = rowsum(P * dP)          (softmax's backward; 0 where masked. FlashAttention
                                                         uses rowsum(dO * y), equal but it overflows sooner)
        dQ = dS K * scale,  dK = dS^T Q * scale,  dbias = dS (summed over bias's broadcast axes by the engine)
    """

    @staticmethod
    def forward(ctx, q, k, v, bias=None, keep=None, scale=1.0, fill=-math.inf, dtype=None):
        y, m, l = ctx.derived(attend_by_heads, q, k, v, bias, keep, scale, fill, dtype)   # P is not kept
        ctx.save_for_backward(q, k, v, bias, keep, m, l)
        ctx.scale, ctx.fill, ctx.dtype = scale, fill, dtype
        return y

    @staticmethod
    def backward(ctx, do):
        q, k, v, bias, keep, m, l = ctx.saved_tensors
        blocks = _blocks_for(q, k, keep, ctx.fill, bias)         # decided once, for every part
        need = ctx.needs_input_grad
        outputs = lambda: _grad_outputs(q, k, v, do, ctx.scale, ctx.dtype, need)  # noqa: E731
        return (*_by_heads(attention_grads_in_blocks, outputs, ctx.xp, q, k, v, do, bias, keep, m, l, ctx.scale,
                           ctx.fill, ctx.dtype, need, blocks), None)


def attend_by_heads(xp, q, k, v, bias, keep, scale, fill, dtype):
    """attend(...), a few heads at a time on all cores (the same function, cut: parallel_cpu.for_heads)."""
    blocks = _blocks_for(q, k, keep, fill, bias)                  # decided once, for every part
    return _by_heads(attend_in_blocks, lambda: _outputs(q, k, v, scale, dtype), xp, q, k, v, bias, keep, scale, fill,
                     dtype, blocks)
