"""The ops that neural-network layers are made of: embedding lookup, dropout,
fused cross-entropy, and fused layer / RMS normalisation.

"Fused" means forward and backward are written as one formula instead of a
chain of small ops: fewer temporaries, and the numerically stable form. The
plain composite versions (built from Tensor ops) are in the tests, which check
that both agree.

Like every op, these are pure math: the arguments were checked where the user
passed them (nn.functional), e.g. that ids and targets are in range, which
CuPy would not catch (it wraps an out-of-range index around silently).
"""

import numpy as np

from . import backend, kernels_cpu
from .autograd import Function
from .ops import _fold as _rows        # (..., k) -> (-1, k): MatMul's fold, the batch axes into rows
from .parallel_cpu import by_rows, column_sums, for_rows, matmul, matmuls


class Embedding(Function):
    """y[..., :] = W[ids[...], :].   dL/dW[v] = sum of g over the positions where ids == v."""

    @staticmethod
    def forward(ctx, weight, ids):
        ctx.ids, ctx.shape = ids, weight.shape
        return weight[ids]

    @staticmethod
    def backward(ctx, g):
        gw = ctx.xp.zeros(ctx.shape, dtype=g.dtype)
        return backend.scatter_add(ctx.xp, gw, ctx.ids.ravel(), g.reshape(-1, ctx.shape[-1])), None


class Linear(Function):
    """y = x @ W^T + b,  W of shape (out, in), x of shape (..., in) -- one op, one large GEMM.

        dL/dx = g @ W,   dL/dW = g^T @ x,   dL/db = sum of g over the rows

    with x and g folded to rows, (-1, in) and (-1, out): every product, forward and backward, is ONE GEMM
    over all the batch's positions, and no transposed copy of W is made or recorded on the graph.
    (``matmul`` is ``@``, with the rows shared out over the cores on the CPU: parallel_cpu.matmul.)
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        ctx.save_for_backward(x, weight)
        y = matmul(_rows(x), weight.T, add=bias)
        return y.reshape(*x.shape[:-1], weight.shape[0])

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        xp, need = ctx.xp, ctx.needs_input_grad
        g2 = _rows(g)
        if need[0] and need[1]:                      # two independent products: side by side on the CPU's cores
            gx, gw = matmuls((g2, weight), (xp.swapaxes(g2, 0, 1), _rows(x)))
            gx = gx.reshape(*x.shape)
        else:
            gx = matmul(g2, weight).reshape(*x.shape) if need[0] else None
            gw = matmul(xp.swapaxes(g2, 0, 1), _rows(x)) if need[1] else None
        gb = column_sums(xp, g2) if len(need) > 2 and need[2] else None
        return gx, gw, gb


class Dropout(Function):
    """y = x * mask / (1 - p), mask ~ Bernoulli(1 - p): zero a fraction p, rescale the rest
    so the expected value is unchanged. Seeded by ``tg.manual_seed``."""

    @staticmethod
    def forward(ctx, x, p):
        keep = backend.rng(ctx.device).random(x.shape, dtype=np.float32) >= p
        ctx.scale = keep * x.dtype.type(1 / (1 - p) if p < 1 else 0)   # p = 1 drops everything
        return x * ctx.scale

    @staticmethod
    def backward(ctx, g):
        return g * ctx.scale


def softmax_rows(xp, logits):
    """(z, lse, p) for each row of logits: z = logits - max, lse = log sum_c e^z (so log p = z - lse), and the
    softmax p itself: everything the loss and its gradient need."""
    z = logits - xp.max(logits, axis=1, keepdims=True)
    e = xp.exp(z)
    sum_e = e.sum(axis=1, keepdims=True)
    return z, xp.log(sum_e), e / sum_e


softmax_rows_by_chunks = by_rows(softmax_rows)   # the same, chunk by chunk of rows on all cores (parallel_cpu)


class CrossEntropy(Function):
    """loss_i = -(1 - s) log p_i[t_i] - s * mean_c log p_i[c],  p_i = softmax(logits_i), s = label smoothing.

    Fused with log-softmax, the gradient is the famous  dL/dlogits_i = p_i - (1 - s) onehot(t_i) - s / C.
    Rows whose target is ``ignore_index`` contribute nothing; 'mean' divides by the rows that count.
    """

    @staticmethod
    def forward(ctx, logits, target, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
        xp = ctx.xp
        n = logits.shape[0]
        z, lse, p = ctx.derived(softmax_rows_by_chunks, logits)  # (p is kept for the backward pass)
        lse = lse[:, 0]                                # log p_i[c] = z_ic - lse_i
        valid = target != ignore_index
        safe = xp.where(valid, target, 0)
        rows = xp.arange(n)
        loss = lse - z[rows, safe]
        if label_smoothing:
            loss = (1 - label_smoothing) * loss - label_smoothing * (z.mean(axis=1) - lse)
        loss = loss * valid
        count = int(valid.sum()) if reduction == "mean" else 1
        ctx.save_for_backward(p, safe, valid)
        ctx.s, ctx.reduction, ctx.count = label_smoothing, reduction, count
        if reduction == "none":
            return loss
        total = loss.sum()
        if reduction == "mean":
            return total / max(count, 1) if count else total * np.nan   # all ignored: nan, as PyTorch
        return total

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        p, safe, valid = ctx.saved_tensors
        n, c = p.shape
        w = valid.astype(p.dtype)
        w = w * g if ctx.reduction == "none" else w * (g / max(ctx.count, 1))
        grad = p * w[:, None]                          # (p - (1 - s) onehot - s / C) * w, row by row
        grad[xp.arange(n), safe] -= (1 - ctx.s) * w
        if ctx.s:
            grad -= (ctx.s / c) * w[:, None]
        return grad, None

    @staticmethod
    def input_from_saved(ctx, i):      # log p: the logits up to a constant per row, which softmax cannot see
        with np.errstate(divide="ignore"):
            return ctx.xp.log(ctx.saved_tensors[0])


def normalise(xp, x, axes, n, eps):
    """(xhat, rstd): x - mean over ``axes`` (n values), scaled by rstd = 1 / sqrt(var + eps)."""
    xhat = x - x.sum(axis=axes, keepdims=True) / n
    rstd = 1 / xp.sqrt((xhat * xhat).sum(axis=axes, keepdims=True) / n + eps)
    xhat *= rstd
    return xhat, rstd


class LayerNorm(Function):
    """y = (x - mean) / sqrt(var + eps) * w + b over the last ``k`` axes.

    With xhat the normalised x and gh = g * w (n values per row):
        dL/dx = (gh - mean(gh) - xhat * mean(gh * xhat)) / sqrt(var + eps)
        dL/dw = sum over rows of g * xhat,   dL/db = sum over rows of g
    (Each NumPy call is a pass over memory: the formulas reuse their buffers in place. Over the last axis
    they run chunk by chunk of rows on all cores: parallel_cpu.)
    """

    @staticmethod
    def forward(ctx, x, w, b, k=1, eps=1e-5):
        axes = tuple(range(-k, 0))
        n = 1
        for s in x.shape[-k:]:
            n *= s
        xhat, rstd = ctx.derived(normalise if k > 1 else normalise_rows, x, axes, n, eps)
        ctx.save_for_backward(xhat, rstd, w)
        ctx.axes, ctx.n = axes, n
        return scale_shift(ctx.xp, xhat, w, b, k)

    @staticmethod
    def backward(ctx, g):
        xhat, rstd, w = ctx.saved_tensors
        if len(ctx.axes) == 1 and kernels_cpu.ready_rows(g, w) and kernels_cpu.ready(g, xhat, rstd):
            return norm_grads_in_loop(ctx, g, xhat, rstd, w)
        gx = for_rows(layer_norm_backward, ctx.xp, g, xhat, rstd, w, ctx.axes, ctx.n, row=len(ctx.axes))
        gw = g * xhat if ctx.needs_input_grad[1] else None   # (summed over the rows by the engine: w broadcasts)
        gb = g if ctx.needs_input_grad[2] else None
        return gx, gw, gb

    @staticmethod
    def input_from_saved(ctx, i):      # x - mean: layer norm cannot tell it from x (create_graph re-derives from it)
        xhat, rstd, _ = ctx.saved_tensors
        return xhat / rstd


def normalise_rows(xp, x, axes, n, eps):
    """normalise over the last axis, chunk by chunk of rows on all cores (parallel_cpu): as one compiled loop
    per row where it can run (kernels_cpu), else the formula."""
    if kernels_cpu.ready_rows(x):
        return kernels_cpu.normalise(xp, x, eps)
    return for_rows(normalise, xp, x, axes, n, eps)


def scale_shift(xp, xhat, w, b, k=1):
    """y = xhat * w + b, a norm's last step (w or b None: left out), ``k`` the normalised trailing axes: one
    compiled loop over the rows where it can run (kernels_cpu), else the formula chunk by chunk of rows."""
    if w is None:
        return xhat if b is None else xhat + b
    if k == 1 and kernels_cpu.ready_rows(xhat, w, b):
        return kernels_cpu.scale_shift(xp, xhat, w, b)
    return for_rows(_scale_shift, xp, xhat, w, b, row=k)


def _scale_shift(xp, xhat, w, b):
    """y = xhat * w (+ b)."""
    y = xhat * w
    if b is not None:
        y += b
    return y


def layer_norm_backward(xp, g, xhat, rstd, w, axes, n):
    """dL/dx = (gh - mean(gh) - xhat * mean(gh * xhat)) * rstd,  gh = g * w."""
    gh = g if w is None else g * w
    gx = gh * xhat
    m2 = gx.sum(axis=axes, keepdims=True) / n            # mean(gh * xhat)
    m1 = gh.sum(axis=axes, keepdims=True) / n            # mean(gh)
    xp.multiply(xhat, m2, out=gx)                        # gx = (gh - m1 - xhat * m2) * rstd
    gx += m1
    xp.subtract(gh, gx, out=gx)
    gx *= rstd
    return gx


def rms_normalise(xp, x, eps):
    """(xhat, rstd): x scaled by rstd = 1 / sqrt(mean(x^2) + eps) over the last axis."""
    rstd = 1 / xp.sqrt((x * x).mean(axis=-1, keepdims=True) + eps)
    return x * rstd, rstd


class RMSNorm(Function):
    """y = x / sqrt(mean(x^2) + eps) * w   (no mean subtraction, no bias: Llama, T5).

        dL/dx = (gh - xhat * mean(gh * xhat)) / rms,  gh = g * w;   dL/dw = sum over rows of g * xhat
    (Chunk by chunk of rows on all cores: parallel_cpu.)
    """

    @staticmethod
    def forward(ctx, x, w, eps=1e-6):
        xhat, rstd = ctx.derived(rms_normalise_rows, x, eps)
        ctx.save_for_backward(xhat, rstd, w)
        return scale_shift(ctx.xp, xhat, w, None)

    @staticmethod
    def backward(ctx, g):
        xhat, rstd, w = ctx.saved_tensors
        if kernels_cpu.ready_rows(g, w) and kernels_cpu.ready(g, xhat, rstd):
            return norm_grads_in_loop(ctx, g, xhat, rstd, w, rms=True)[:2]
        gx = for_rows(rms_norm_backward, ctx.xp, g, xhat, rstd, w)
        return gx, (g * xhat if ctx.needs_input_grad[1] else None)

    @staticmethod
    def input_from_saved(ctx, i):      # x itself (create_graph re-derives xhat and rstd from it)
        xhat, rstd, _ = ctx.saved_tensors
        return xhat / rstd


def norm_grads_in_loop(ctx, g, xhat, rstd, w, rms=False):
    """(dL/dx, dL/dw, dL/db) of layer norm (or RMS norm: ``rms``) over the last axis, as one compiled loop
    (kernels_cpu), which also sums dL/dw = g * xhat and dL/db = g over the rows where the weight and bias are
    one value per column; otherwise those go whole to the engine, which sums them (None where not needed)."""
    need = ctx.needs_input_grad
    wanted = [i for i in (1, 2) if i < len(need) and need[i]]
    if wanted and all(ctx.in_meta[i][0] == g.shape[-1:] for i in wanted):
        gx, gw, gb = kernels_cpu.normalise_grad(ctx.xp, g, xhat, rstd, w, rms, sums=True)
        return gx, gw if 1 in wanted else None, gb if 2 in wanted else None
    gx = kernels_cpu.normalise_grad(ctx.xp, g, xhat, rstd, w, rms)
    return gx, g * xhat if 1 in wanted else None, g if 2 in wanted else None


def rms_normalise_rows(xp, x, eps):
    """rms_normalise, chunk by chunk of rows on all cores: a compiled loop where it can run (kernels_cpu)."""
    if kernels_cpu.ready_rows(x):
        return kernels_cpu.normalise(xp, x, eps, True)
    return for_rows(rms_normalise, xp, x, eps)


def rms_norm_backward(xp, g, xhat, rstd, w):
    """dL/dx = (gh - xhat * mean(gh * xhat)) * rstd,  gh = g * w."""
    gh = g if w is None else g * w
    return (gh - xhat * (gh * xhat).mean(axis=-1, keepdims=True)) * rstd
