"""``tinygrad_tf.nn.functional`` (import it as F): the layers as plain functions.

Every function is a few Tensor ops or one fused engine Function (nn_ops.py);
the layer classes in this package call these.
"""

from __future__ import annotations

import math

import numpy as np

from .. import attention_ops as A
from .. import backend
from .. import nn_ops as N
from .. import shape_ops as S
from ..factory import where
from ..tensor import Tensor
from ..tensor_args import _check_probability
from . import amp
from ._reduction import legacy_reduction as _legacy_reduction
from ._reduction import reduce as _reduce
from .functional_activations import *  # noqa: F401,F403  (the rest of PyTorch's activations)
from .functional_activations import __all__ as _activations
from .functional_conv import *  # noqa: F401,F403  (convolution, pooling, unfold / fold)
from .functional_conv import __all__ as _conv
from .functional_distance import *  # noqa: F401,F403  (normalize, cosine_similarity, pairwise_distance)
from .functional_distance import __all__ as _distance
from .functional_losses import *  # noqa: F401,F403  (the binary, regression and margin losses)
from .functional_losses import __all__ as _losses
from .functional_losses import warn_if_broadcast as _warn_if_broadcast
from .functional_losses import weighted_reduce as _weighted_reduce
from .functional_norm import *  # noqa: F401,F403  (batch_norm, instance_norm, local_response_norm)
from .functional_norm import __all__ as _norms
from .functional_pad import pad
from .functional_resize import *  # noqa: F401,F403  (interpolate, pixel_shuffle)
from .functional_resize import __all__ as _resize


# ---------------------------------------------------------------- activations
def relu(x, inplace=False):
    """max(x, 0) (``inplace=True`` writes it into x, as PyTorch)."""
    return x.copy_(x.relu()) if inplace else x.relu()


def gelu(x, approximate="none"):
    """x * Phi(x); approximate="tanh" is GPT-2's tanh formula."""
    return x.gelu(approximate)


def silu(x, inplace=False):
    """x * sigmoid(x) (a.k.a. swish); ``inplace=True`` writes it into x."""
    return x.copy_(x.silu()) if inplace else x.silu()


def tanh(x):
    """tanh(x)."""
    return x.tanh()


def sigmoid(x):
    """1 / (1 + exp(-x))."""
    return x.sigmoid()


def softmax(x, dim=-1, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim``; ``dtype`` casts x first (e.g. float32 for float16 input)."""
    return (x if dtype is None else x.type(dtype)).softmax(dim)


def log_softmax(x, dim=-1, dtype=None):
    """log(softmax(x)) along ``dim``, computed stably; ``dtype`` casts x first."""
    return (x if dtype is None else x.type(dtype)).log_softmax(dim)


# ---------------------------------------------------------------- layers
def linear(x, weight, bias=None):
    """y = x @ W^T + b, with W of shape (out_features, in_features) as PyTorch. (In float16 inside autocast.)"""
    x, weight, bias = amp.low(x, weight, bias)
    xs, ws = x.shape, weight.shape
    if len(ws) == 2 and xs and xs[-1] == ws[1] and x.dtype == weight.dtype and \
            (bias is None or (bias.shape == ws[:1] and bias.dtype == weight.dtype)):
        return N.Linear.apply(x, weight, bias) if bias is not None else N.Linear.apply(x, weight)
    y = x @ weight.T                                   # anything else (and its errors) as the ops compose it
    return y if bias is None else y + bias


def embedding(ids, weight, padding_idx=None):
    """Row lookup: y[..., :] = weight[ids[...], :]; the gradient scatter-adds into the rows used.
    Positions whose id is ``padding_idx`` still read their row but send it no gradient (as PyTorch)."""
    ids = ids if isinstance(ids, Tensor) else Tensor(np.asarray(ids), device=weight.device)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"embedding: ids must be integers, got {ids.dtype}")
    _check_in_range("embedding", "id", ids.data, weight.shape[0],
                    f"a table of {weight.shape[0]} rows (weight shape {weight.shape}, ids shape {ids.shape})")
    out = N.Embedding.apply(weight, ids)
    if padding_idx is not None:
        hit = ids.data == _padding_row("embedding", padding_idx, weight.shape[0])
        if bool(hit.any()):
            out = where(Tensor._wrap(hit[..., None], out.device), out.detach(), out)
    return out


def _padding_row(op, padding_idx, n):
    if not -n <= padding_idx < n:
        raise IndexError(f"{op}: padding_idx {padding_idx} is out of range for a table of {n} rows")
    return padding_idx % n


def _check_in_range(op, what, ids, n, of, ignore=None):
    """Every id (but ``ignore``) must lie in [0, n). Checked here, once for both backends: NumPy would
    raise deep inside the op, and CuPy would silently wrap an out-of-range id around to another row."""
    bad = (ids < 0) | (ids >= n)
    if ignore is not None:
        bad &= ids != ignore
    if bool(bad.any()):
        raise IndexError(f"{op}: {what} {int(ids[bad][0])} is out of range for {of}")


def dropout(x, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1-p) (identity when not training);
    ``inplace=True`` writes the result into x."""
    _check_probability("dropout", "p", p)
    if not training or p == 0:
        return x
    y = x * 0 if p == 1 else N.Dropout.apply(x, p)
    return x.copy_(y) if inplace else y


def _norm_shape(normalized_shape):
    return (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias, statistics over the trailing ``normalized_shape`` axes."""
    shape = _norm_shape(normalized_shape)
    if x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"layer_norm: normalized_shape {shape} does not match the end of input shape {x.shape}")
    return N.LayerNorm.apply(amp.full(x), weight, bias, len(shape), eps)


def rms_norm(x, normalized_shape, weight=None, eps=1e-6):
    """x / sqrt(mean(x^2) + eps) * weight, over the trailing ``normalized_shape`` axes."""
    shape = _norm_shape(normalized_shape)
    if x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"rms_norm: normalized_shape {shape} does not match the end of input shape {x.shape}")
    x = amp.full(x)
    if len(shape) == 1:
        return N.RMSNorm.apply(x, weight, eps)
    flat = x.reshape(*x.shape[:x.ndim - len(shape)], -1)        # the fused op works on the last axis
    w = None if weight is None else weight.reshape(-1)
    return N.RMSNorm.apply(flat, w, eps).reshape(x.shape)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5, channels_last=False):
    """Split the C channels into ``num_groups`` groups and normalise each group (per sample) to mean 0, var 1.

    channels_last=False: x is (N, C, *) as PyTorch; a group's statistics cover its C/G channels AND all
    of ``*``.  channels_last=True: x is (..., C) (e.g. (B, T, C) transformer activations); each position's
    C features are normalised in G groups of C/G, never mixing positions (so a causal model stays causal).
    """
    c = x.shape[-1] if channels_last else x.shape[1]
    x = amp.full(x)
    if c % num_groups:
        raise ValueError(f"group_norm: {c} channels do not split into {num_groups} groups")
    if channels_last:
        y = N.LayerNorm.apply(x.reshape(*x.shape[:-1], num_groups, c // num_groups), None, None, 1, eps)
        y, affine_shape = y.reshape(x.shape), (c,)
    else:
        y = N.LayerNorm.apply(x.reshape(x.shape[0], num_groups, -1), None, None, 1, eps).reshape(x.shape)
        affine_shape = (c,) + (1,) * (x.ndim - 2)       # one weight per channel, broadcast over *
    if weight is not None:
        y = y * weight.reshape(affine_shape)
    if bias is not None:
        y = y + bias.reshape(affine_shape)
    return y


# ---------------------------------------------------------------- losses
def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,  # noqa: A002
                  reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy from logits, as PyTorch: input (N, C) with target (N,), (C,) with a scalar target,
    or (N, C, d1, ...) with target (N, d1, ...) (the class axis is dim 1). A float target of input's shape is
    read as class probabilities.

    Targets equal to ``ignore_index`` (any value, e.g. -1 or a padding id) count for nothing; "mean" averages
    over the rest (nan when every target is ignored, as PyTorch). ``weight`` (C,) scales each class's loss,
    and "mean" then divides by the summed weights of the targets that count, as PyTorch (``weight`` is
    a constant: no gradient flows into it). ``size_average`` / ``reduce`` are PyTorch's deprecated
    spellings of ``reduction``.
    """
    reduction = _legacy_reduction("cross_entropy", size_average, reduce, reduction)
    _check_probability("cross_entropy", "label_smoothing", label_smoothing)
    input = amp.full(input)                                 # noqa: A001  (float32 inside autocast)
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target), device=input.device)
    probs = target.dtype.kind == "f"
    logits, target, lead = _classes_last("cross_entropy", input, target, probs)
    c = logits.shape[1]
    w = _class_weight("cross_entropy", weight, c, logits)
    if probs:                                               # class probabilities
        q = target * (1 - label_smoothing) + label_smoothing / c if label_smoothing else target
        logp = logits.log_softmax(-1)
        loss = -((q * logp) if w is None else (q * logp) * Tensor._wrap(w, logits.device)).sum(-1)
        return _reduce(loss.reshape(lead), reduction)
    t = target.data.reshape(-1)
    _check_in_range("cross_entropy", "target", t, c, f"{c} classes (input shape {input.shape})", ignore_index)
    if w is None:
        loss = N.CrossEntropy.apply(logits, t, ignore_index, label_smoothing, reduction)
        return loss.reshape(lead) if reduction == "none" else loss
    logp = logits.log_softmax(-1)
    loss = _nll(logp, t, w, ignore_index, reduction, lead)
    if not label_smoothing:
        return loss
    valid = t != ignore_index                               # smoothing term: -sum_c w_c log p_c, per row
    smooth = -(logp * Tensor._wrap(w, logits.device)).sum(-1) * Tensor._wrap(valid.astype(logp.dtype), logp.device)
    if reduction == "mean":
        denom = float(w[t[valid]].sum())
        smooth = smooth.sum() / denom if denom else smooth.sum() * float("nan")
    elif reduction == "sum":
        smooth = smooth.sum()
    else:
        smooth = smooth.reshape(lead)
    return (1 - label_smoothing) * loss + (label_smoothing / c) * smooth


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,  # noqa: A002
             reduction="mean"):
    """Negative log-likelihood of log-probabilities: ``-input[n, target[n]]`` (times ``weight[target[n]]``),
    with the shapes of ``cross_entropy`` (input (N, C), (C,) or (N, C, d1, ...)); targets equal to
    ``ignore_index`` count for nothing, and "mean" divides by the summed weights of the rest."""
    reduction = _legacy_reduction("nll_loss", size_average, reduce, reduction)
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target), device=input.device)
    if target.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold class indices (integers), got {target.dtype}")
    logp, target, lead = _classes_last("nll_loss", input, target, False)
    c = logp.shape[1]
    t = target.data.reshape(-1)
    _check_in_range("nll_loss", "target", t, c, f"{c} classes (input shape {input.shape})", ignore_index)
    return _nll(logp, t, _class_weight("nll_loss", weight, c, logp), ignore_index, reduction, lead)


def _nll(logp, t, w, ignore_index, reduction, lead):
    """-logp[i, t_i] * w[t_i] for the rows i whose target is not ignore_index (logp (M, C), t (M,) array)."""
    xp = backend.get_array_module(t)
    valid = t != ignore_index
    safe = xp.where(valid, t, 0)
    scale = valid.astype(logp.dtype) if w is None else xp.where(valid, w[safe], 0).astype(logp.dtype)
    picked = -logp[xp.arange(len(t)), safe] * Tensor._wrap(scale, logp.device)
    if reduction == "none":
        return picked.reshape(lead)
    total = picked.sum()
    if reduction == "sum":
        return total
    denom = float(scale.sum())
    return total / denom if denom else total * float("nan")    # nothing counts: nan, as PyTorch


def _classes_last(op, input, target, probs):  # noqa: A002
    """(input as (M, C) with the classes last, target as (M,) or (M, C), the shape of a per-element loss)."""
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension, got a 0-d tensor")
    if input.ndim == 1:                                     # one sample: (C,) with a scalar target
        if tuple(target.shape) != (() if not probs else input.shape):
            raise ValueError(f"{op}: an unbatched input {input.shape} needs a scalar target, got {target.shape}")
        return input.unsqueeze(0), target.reshape(1, *target.shape), ()
    c = input.shape[1]
    lead = (input.shape[0],) + tuple(input.shape[2:])
    want = input.shape if probs else lead
    if tuple(target.shape) != tuple(want):
        kind = "probability targets must have the input's shape" if probs else \
            "class-index targets must have the input's shape without the class dim 1"
        raise ValueError(f"{op}: {kind} {tuple(want)}, got {tuple(target.shape)} (input shape {input.shape})")
    if input.ndim > 2:                                      # (N, C, d...) -> (N*d..., C): classes last
        input = input.permute(0, *range(2, input.ndim), 1).reshape(-1, c)  # noqa: A001
        if probs:
            target = target.permute(0, *range(2, target.ndim), 1).reshape(-1, c)
    return input, target, lead


def _class_weight(op, weight, c, like):
    """``weight`` as an array of C values in ``like``'s dtype on its device (None stays None)."""
    if weight is None:
        return None
    arr = weight.data if isinstance(weight, Tensor) else like._xp().asarray(weight)
    if tuple(arr.shape) != (c,):
        raise ValueError(f"{op}: weight must have one value per class ({c},), got shape {tuple(arr.shape)}")
    return backend.to_device(arr, like.device).astype(like.dtype, copy=False)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):  # noqa: A002
    """The mean (or sum, or none) of the squared errors (input - target)^2 (times ``weight``; "mean" is then
    sum(w (x - y)^2) / sum(w), as PyTorch). Shapes that differ warn, as PyTorch: they broadcast, usually by
    mistake ((N, 1) predictions against (N,) targets)."""
    reduction = _legacy_reduction("mse_loss", size_average, reduce, reduction)
    if isinstance(target, Tensor):
        _warn_if_broadcast("mse_loss", input, target)
    return _weighted_reduce("mse_loss", (input - target) ** 2, weight, reduction, input, True)


# ---------------------------------------------------------------- attention
def attention(q, k, v, mask=None, bias=None, scale=None, dropout_p=0.0, training=True, need_weights=True):
    """softmax(q k^T * scale + bias, masked) v, and the attention weights (the models' attention).

    q (..., T, d), k and v (..., S, d). ``mask`` is boolean (True = may attend), ``bias`` additive;
    both broadcast to (..., T, S). Masked scores are set to the most negative float, not -inf, so a
    row with nothing to attend to becomes uniform instead of NaN.

    ``need_weights=False`` (and no dropout) runs the fused op instead (attention_ops.Attention: the same
    numbers, one node that keeps no (..., T, S) array for backward) and returns (y, None); k and v may
    then have fewer heads (dim -3) than q, each shared by a group of query heads (grouped-query attention).
    The code below is the readable reference, and the tests check that both agree.
    """
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    if not need_weights and not (dropout_p > 0 and training):
        y = _fused_attention(q, k, v, mask, bias, scale, lowest=True, group=True)
        if y is not None:
            return y, None
    if q.ndim >= 3 and k.ndim >= 3 and 0 < k.shape[-3] < q.shape[-3] and q.shape[-3] % k.shape[-3] == 0:
        k, v = _repeat_heads(k, q.shape[-3] // k.shape[-3]), _repeat_heads(v, q.shape[-3] // k.shape[-3])
    q, k, v = amp.low(q, k, v)                                            # inside autocast: float16 products,
    scores = amp.full((q * scale if scale != 1 else q) @ k.transpose(-2, -1))   # float32 softmax (..., T, S)
    if bias is not None:
        scores = scores + bias
    if mask is not None:
        scores = scores.masked_fill(~mask, float(np.finfo(scores.dtype).min))
    weights = scores.softmax(-1)
    (used,) = amp.low(dropout(weights, dropout_p, training))
    return used @ v, weights


def _fused_attention(q, k, v, keep=None, bias=None, scale=None, lowest=False, group=False):
    """attention_ops.Attention (one node, P recomputed in backward) for q (*, Hq, T, d), k (*, Hkv, S, d),
    v (*, Hkv, S, dv), or None where only the unfused path can do it (leading dims that broadcast between q,
    k and v, a mask or bias that would make the scores bigger than (*, Hq, T, S)). Hkv may be smaller than Hq
    with ``group`` (or 1: what broadcasting would do). ``lowest``: masked scores become the dtype's lowest
    number (a row with no key is uniform: ``attention``), else -inf (such a row gives 0: ``_attend``).
    Inside autocast the products run in float16 and the softmax in float32, as in the unfused path."""
    if not (q.ndim == k.ndim == v.ndim >= 2) or q.shape[:-3] != k.shape[:-3] or k.shape[:-1] != v.shape[:-1] \
            or q.shape[-1] != k.shape[-1] or q.dtype.kind != "f":
        return None
    if q.ndim >= 3 and k.shape[-3] != q.shape[-3] and \
            not (k.shape[-3] == 1 or (group and k.shape[-3] and q.shape[-3] % k.shape[-3] == 0)):
        return None
    scores = (*q.shape[:-1], k.shape[-2])
    for m in (keep, bias):
        if m is not None and (m.ndim > len(scores) or np.broadcast_shapes(scores, m.shape) != scores):
            return None
    if keep is not None and keep.dtype != np.bool_:
        return None
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    q, k, v = amp.low(q, k, v)
    dtype = np.dtype(np.float32) if amp.autocast_dtype() is not None and q.dtype.itemsize < 4 else None
    work = dtype or q.dtype
    if bias is not None and bias.dtype != work:
        bias = bias.type(work)
    fill = float(np.finfo(work).min) if lowest else -math.inf
    return A.Attention.apply(q, k, v, bias, keep, scale, fill, dtype)


def causal_mask(t, s=None, device="cpu"):
    """(T, S) booleans, True where query i (the last T of S positions) may see key j: j <= i + (S - T)."""
    s = t if s is None else s
    xp = backend.xp_for(device)
    return Tensor._wrap(xp.tril(xp.ones((t, s), dtype=bool), k=s - t), device)


def split_heads(x, n_head):
    """(B, T, n_head * d) -> (B, n_head, T, d): ``x.reshape(B, T, n_head, d).transpose(1, 2)`` as one op
    (shape_ops.SplitHeads), how attention gives each head its own slice of the features."""
    if x.ndim != 3 or isinstance(n_head, bool) or not isinstance(n_head, int) or n_head < 1 \
            or x.shape[2] % n_head:
        raise ValueError(f"split_heads: expected (B, T, n_head * d) and a positive n_head dividing the last dim, "
                         f"got shape {x.shape} and n_head={n_head!r}")
    return S.SplitHeads.apply(x, n_head)


def merge_heads(x):
    """(B, H, T, d) -> (B, T, H * d): ``x.transpose(1, 2).reshape(B, T, H * d)`` as one op
    (shape_ops.MergeHeads), the heads' outputs side by side again (split_heads undone)."""
    if x.ndim != 4:
        raise ValueError(f"merge_heads: expected (B, H, T, d), got shape {x.shape}")
    return S.MergeHeads.apply(x)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """PyTorch's function: softmax(q k^T * scale + mask) v over query (..., L, E), key (..., S, E),
    value (..., S, Ev); the leading dims broadcast.

    A bool ``attn_mask`` (broadcasting to (..., L, S)) keeps the True entries (True = takes part); a float one
    is added to the scores (-inf masks). ``is_causal`` keeps key j for query i only where j <= i (top-left
    aligned when L != S, as PyTorch), combined with ``attn_mask`` when both are given. A query that can see
    no key at all gets output 0 (and gradient 0), as PyTorch. ``scale`` defaults to 1/sqrt(E); dropout
    with ``dropout_p`` is applied to the weights whenever it is > 0 (pass 0 in eval, as PyTorch code does).
    ``enable_gqa``: key/value may have fewer heads (dim -3) than query, each shared by a group of query heads.
    Without dropout this runs the fused op (attention_ops.Attention, keys never repeated in memory); with
    dropout, the unfused reference path (``_attend``), which has the weights to drop.
    """
    _check_probability("scaled_dot_product_attention", "dropout_p", dropout_p)
    keep = bias = None
    if attn_mask is not None:
        attn_mask = attn_mask if isinstance(attn_mask, Tensor) else Tensor(np.asarray(attn_mask), device=query.device)
        if attn_mask.dtype == np.bool_:
            keep = attn_mask
        elif attn_mask.dtype.kind == "f":
            bias = attn_mask
        else:
            raise TypeError(f"scaled_dot_product_attention: attn_mask must be bool (True = takes part) or float "
                            f"(added to the scores), got {attn_mask.dtype}")
    if is_causal:
        xp = backend.xp_for(query.device)
        causal = Tensor._wrap(xp.tril(xp.ones((query.shape[-2], key.shape[-2]), dtype=bool)), query.device)
        keep = causal if keep is None else keep & causal
    if dropout_p == 0:                 # the fused op (one node; the weights are recomputed in backward)
        y = _fused_attention(query, key, value, keep, bias, scale, group=enable_gqa)
        if y is not None:
            return y
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        hq, hk = query.shape[-3], key.shape[-3]
        if hk == 0 or hq % hk or value.shape[-3] != hk:
            raise ValueError(f"scaled_dot_product_attention: with enable_gqa the query heads ({hq}) must be a "
                             f"multiple of the key/value heads (key {key.shape}, value {value.shape})")
        key, value = _repeat_heads(key, hq // hk), _repeat_heads(value, hq // hk)
    return _attend(query, key, value, keep, bias, scale, dropout_p)[0]


def _repeat_heads(x, n):
    """(..., H, S, E) -> (..., H * n, S, E), each head repeated n times in a row (repeat_interleave on dim -3)."""
    *lead, h, s, e = x.shape
    return x.unsqueeze(-3).expand(*lead, h, n, s, e).reshape(*lead, h * n, s, e)


def _attend(q, k, v, keep=None, bias=None, scale=None, dropout_p=0.0, safe=True):
    """PyTorch's attention arithmetic: (softmax(q k^T * scale + bias, keep) -> dropout) v, and the weights
    after dropout. Entries where ``keep`` is False become -inf. ``safe``: a row of -inf only gets weights 0
    (scaled_dot_product_attention); unsafe, it gets NaN (what MultiheadAttention returns with need_weights)."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    q, k, v = amp.low(q, k, v)
    scores = amp.full((q * scale if scale != 1 else q) @ k.transpose(-2, -1))      # (..., L, S)
    if bias is not None:
        scores = scores + (bias if bias.dtype == scores.dtype else bias.type(scores.dtype))
    if keep is not None:
        scores = scores.masked_fill(~keep, float("-inf"))
    dead = (scores.data == -np.inf).all(axis=-1, keepdims=True) if safe else None
    if dead is not None and bool(dead.any()):              # softmax of a row of -inf: 0, not NaN
        dead = Tensor._wrap(dead, scores.device)
        weights = scores.masked_fill(dead, 0.0).softmax(-1).masked_fill(dead, 0.0)
    else:
        weights = scores.softmax(-1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, True)
    (used,) = amp.low(weights)
    return used @ v, weights


# ---------------------------------------------------------------- tensors
def one_hot(tensor, num_classes=-1):
    """(*) class indices -> (*, num_classes) int64 with a 1 at each index, as PyTorch; ``num_classes=-1``
    takes the largest index + 1. Not differentiable (call ``.float()`` on the result to use it as input)."""
    t = tensor if isinstance(tensor, Tensor) else Tensor(np.asarray(tensor))
    if t.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected a tensor of class indices (int64), got {t.dtype}")
    arr = t.data
    if num_classes == -1:
        if arr.size == 0:
            raise ValueError("one_hot: can not infer the number of classes from an empty tensor; pass num_classes")
        num_classes = int(arr.max()) + 1
    if arr.size and int(arr.min()) < 0:
        raise IndexError(f"one_hot: class values must be non-negative, got {int(arr.min())}")
    if arr.size and int(arr.max()) >= num_classes:
        raise IndexError(f"one_hot: class value {int(arr.max())} is out of range for num_classes={num_classes}")
    xp = t._xp()
    return Tensor._wrap((arr[..., None] == xp.arange(num_classes)).astype(np.int64), t.device)


__all__ = sorted(["relu", "gelu", "silu", "tanh", "sigmoid", "softmax", "log_softmax", "linear", "embedding", "dropout",
                  "layer_norm", "rms_norm", "group_norm", "cross_entropy", "nll_loss", "mse_loss", "attention",
                  "causal_mask", "split_heads", "merge_heads", "scaled_dot_product_attention", "one_hot", "pad",
                  *_activations, *_conv, *_distance, *_losses, *_norms, *_resize])

from ..compat import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr(__name__, "torch.nn.functional")
