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

from .autograd import Function


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


def softmax_stats(xp, q, k, bias, keep, scale, fill, dtype):
    """(P, m, l): P = e^(s~ - m) / l, m = the row max (0 for a row of -inf), l = sum_j e^(s~_j - m) (>= 1;
    set to 1 in a row with nothing to attend to, whose e, and so P, are 0). The row's lse is m + log l."""
    s = _scores(xp, q, k, bias, keep, scale, fill, dtype)
    m = xp.max(s, axis=-1, keepdims=True)
    m = xp.where(m == -math.inf, 0.0, m)
    e = xp.exp(xp.subtract(s, m, out=s), out=s)
    total = xp.sum(e, axis=-1, keepdims=True)
    total = xp.where(total > 0, total, 1.0)
    return xp.divide(e, total, out=e), m, total


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
        xp = ctx.xp
        hkv = k.shape[-3] if k.ndim >= 3 else 1
        p, m, l = ctx.derived(softmax_stats, q, k, bias, keep, scale, fill, dtype)   # P is not kept
        y = _cast(xp, p, v.dtype) @ v                                 # (*, Hkv, G * T, dv)
        if q.ndim >= 3 and q.shape[-3] != hkv:
            y = xp.reshape(y, (*q.shape[:-1], v.shape[-1]))           # (*, Hq, T, dv)
        ctx.save_for_backward(q, k, v, bias, keep, m, l)
        ctx.scale, ctx.fill, ctx.dtype = scale, fill, dtype
        return y

    @staticmethod
    def backward(ctx, do):
        xp = ctx.xp
        q, k, v, bias, keep, m, l = ctx.saved_tensors
        hkv = k.shape[-3] if k.ndim >= 3 else 1
        s = _scores(xp, q, k, bias, keep, ctx.scale, ctx.fill, ctx.dtype)
        p = xp.divide(xp.exp(xp.subtract(s, m, out=s), out=s), l, out=s)            # P = e^(s - m) / l, again
        do_f = _fold(xp, do, hkv)                                                   # (*, Hkv, G * T, dv)
        dv = xp.swapaxes(_cast(xp, p, v.dtype), -1, -2) @ do_f if ctx.needs_input_grad[2] else None
        dp = _cast(xp, do_f @ xp.swapaxes(v, -1, -2), p.dtype)                      # dP = dO V^T
        dd = xp.sum(p * dp, axis=-1, keepdims=True)                                 # D = rowsum(P * dP)
        ds = xp.multiply(p, xp.subtract(dp, dd, out=dp), out=dp)                    # dS = P * (dP - D)
        if keep is not None and ctx.fill != -math.inf:      # a row with no key is uniform: no gradient to s there
            ds = _fold(xp, xp.where(keep, xp.reshape(ds, (*q.shape[:-1], k.shape[-2])), 0.0), hkv)
        dsl = _cast(xp, ds, q.dtype)
        dq = dk = None
        if ctx.needs_input_grad[0]:                                                 # dQ = dS K * scale
            dq = xp.reshape(dsl @ k, q.shape) if dsl.shape[:-1] != q.shape[:-1] else dsl @ k
            dq = dq * ctx.scale if ctx.scale != 1 else dq
        if ctx.needs_input_grad[1]:                                                 # dK = dS^T Q * scale
            dk = xp.swapaxes(dsl, -1, -2) @ _fold(xp, q, hkv)
            dk = dk * ctx.scale if ctx.scale != 1 else dk
        db = xp.reshape(ds, (*q.shape[:-1], k.shape[-2])) if ctx.needs_input_grad[3] else None
        return dq, dk, dv, db, None
