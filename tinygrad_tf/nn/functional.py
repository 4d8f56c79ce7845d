"""``tinygrad_tf.nn.functional`` (import it as F): the layers as plain functions.

Every function is a few Tensor ops or one fused engine Function (nn_ops.py);
the layer classes in this package call these.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from .. import nn_ops as N
from ..tensor import Tensor
from ..tensor_args import _check_choice, _check_probability
from . import amp

_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------- activations
def relu(x):
    return x.relu()


def gelu(x, approximate="none"):
    """x * Phi(x); approximate="tanh" is GPT-2's tanh formula."""
    return x.gelu(approximate)


def silu(x):
    """x * sigmoid(x) (a.k.a. swish)."""
    return x.silu()


def tanh(x):
    return x.tanh()


def sigmoid(x):
    return x.sigmoid()


def softmax(x, dim=-1):
    return x.softmax(dim)


def log_softmax(x, dim=-1):
    return x.log_softmax(dim)


# ---------------------------------------------------------------- layers
def linear(x, weight, bias=None):
    """y = x @ W^T + b, with W of shape (out_features, in_features) as PyTorch. (In float16 inside autocast.)"""
    x, weight, bias = amp.low(x, weight, bias)
    y = x @ weight.T
    return y if bias is None else y + bias


def embedding(ids, weight):
    """Row lookup: y[..., :] = weight[ids[...], :]; the gradient scatter-adds into the rows used."""
    ids = ids if isinstance(ids, Tensor) else Tensor(np.asarray(ids), device=weight.device)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"embedding: ids must be integers, got {ids.dtype}")
    _check_in_range("embedding", "id", ids.data, weight.shape[0],
                    f"a table of {weight.shape[0]} rows (weight shape {weight.shape}, ids shape {ids.shape})")
    return N.Embedding.apply(weight, ids)


def _check_in_range(op, what, ids, n, of, ignore=None):
    """Every id (but ``ignore``) must lie in [0, n). Checked here, once for both backends: NumPy would
    raise deep inside the op, and CuPy would silently wrap an out-of-range id around to another row."""
    bad = (ids < 0) | (ids >= n)
    if ignore is not None:
        bad &= ids != ignore
    if bool(bad.any()):
        raise IndexError(f"{op}: {what} {int(ids[bad][0])} is out of range for {of}")


def dropout(x, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1/(1-p) (identity when not training)."""
    _check_probability("dropout", "p", p)
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0
    return N.Dropout.apply(x, p)


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
def cross_entropy(input, target, ignore_index=-100, label_smoothing=0.0, reduction="mean"):  # noqa: A002
    """Softmax cross-entropy from logits, as PyTorch: input (N, C) with target (N,), or (N, C, d1, ...) with
    target (N, d1, ...) (the class axis is dim 1). A float target of input's shape is read as probabilities.
    Targets equal to ``ignore_index`` count for nothing; "mean" averages over the rest.
    """
    _check_choice("cross_entropy", "reduction", reduction, _REDUCTIONS)
    _check_probability("cross_entropy", "label_smoothing", label_smoothing)
    input = amp.full(input)                                 # noqa: A001  (float32 inside autocast)
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target), device=input.device)
    if input.ndim == 1:                                     # one sample: (C,) with a scalar target
        input, target = input.unsqueeze(0), target.reshape(1, *target.shape)
    c = input.shape[1]
    if input.ndim > 2:                                      # (N, C, d...) -> (N*d..., C): classes last
        input = input.permute(0, *range(2, input.ndim), 1).reshape(-1, c)
        if target.dtype.kind == "f":
            target = target.permute(0, *range(2, target.ndim), 1).reshape(-1, c)
    if target.dtype.kind == "f":                            # class probabilities
        if target.shape != input.shape:
            raise ValueError(f"cross_entropy: probability targets must have the input's shape {input.shape}, "
                             f"got {target.shape}")
        q = target * (1 - label_smoothing) + label_smoothing / c
        return _reduce(-(q * input.log_softmax(-1)).sum(-1), reduction)
    lead = target.shape
    if target.numel() != input.shape[0]:
        raise ValueError(f"cross_entropy: target shape {tuple(lead)} does not match input (N={input.shape[0]} rows)")
    t = target.data.reshape(-1)
    _check_in_range("cross_entropy", "target", t, c, f"{c} classes (input shape {input.shape})", ignore_index)
    loss = N.CrossEntropy.apply(input, t, ignore_index, label_smoothing, reduction)
    return loss.reshape(lead) if reduction == "none" else loss


def nll_loss(input, target, ignore_index=-100, reduction="mean"):  # noqa: A002
    """Negative log-likelihood of log-probabilities ``input`` (N, C) at ``target`` (N,)."""
    _check_choice("nll_loss", "reduction", reduction, _REDUCTIONS)
    t = target.data if isinstance(target, Tensor) else np.asarray(target)
    valid = t != ignore_index
    picked = -input[np.arange(len(t)), np.where(valid, t, 0)] * Tensor(valid.astype(input.dtype))
    if reduction == "none":
        return picked
    return picked.sum() / max(int(valid.sum()), 1) if reduction == "mean" else picked.sum()


def mse_loss(input, target, reduction="mean"):  # noqa: A002
    _check_choice("mse_loss", "reduction", reduction, _REDUCTIONS)
    return _reduce((input - target) ** 2, reduction)


def _reduce(loss, reduction):
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


# ---------------------------------------------------------------- attention
def attention(q, k, v, mask=None, bias=None, scale=None, dropout_p=0.0, training=True):
    """softmax(q k^T * scale + bias, masked) v, and the attention weights.

    q (..., T, d), k and v (..., S, d). ``mask`` is boolean (True = may attend), ``bias`` additive;
    both broadcast to (..., T, S). Masked scores are set to the most negative float, not -inf, so a
    row with nothing to attend to becomes uniform instead of NaN.
    """
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    q, k, v = amp.low(q, k, v)                                            # inside autocast: float16 products,
    scores = amp.full((q * scale if scale != 1 else q) @ k.transpose(-2, -1))   # float32 softmax (..., T, S)
    if bias is not None:
        scores = scores + bias
    if mask is not None:
        scores = scores.masked_fill(~mask, float(np.finfo(scores.dtype).min))
    weights = scores.softmax(-1)
    (used,) = amp.low(dropout(weights, dropout_p, training))
    return used @ v, weights


def causal_mask(t, s=None, device="cpu"):
    """(T, S) booleans, True where query i (the last T of S positions) may see key j: j <= i + (S - T)."""
    s = t if s is None else s
    xp = backend.xp_for(device)
    return Tensor._wrap(xp.tril(xp.ones((t, s), dtype=bool), k=s - t), device)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """PyTorch's function: a bool ``attn_mask`` keeps the True entries, a float one is added to the scores;
    ``is_causal`` masks the future (top-left aligned, as PyTorch); ``scale`` defaults to 1/sqrt(d)."""
    mask = bias = None
    if attn_mask is not None:
        attn_mask = attn_mask if isinstance(attn_mask, Tensor) else Tensor(np.asarray(attn_mask), device=query.device)
        if attn_mask.dtype == np.bool_:
            mask = attn_mask
        else:
            bias = attn_mask
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: pass either attn_mask or is_causal, not both (as PyTorch)")
        xp = backend.xp_for(query.device)
        t, s = query.shape[-2], key.shape[-2]
        mask = Tensor._wrap(xp.tril(xp.ones((t, s), dtype=bool)), query.device)
    return attention(query, key, value, mask, bias, scale, dropout_p, dropout_p > 0)[0]
