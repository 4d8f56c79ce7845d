"""The rest of PyTorch's losses, each a few Tensor ops (``nn.functional`` re-exports them; cross_entropy,
nll_loss and mse_loss live in functional.py).

Each follows PyTorch's formula, arguments (including the deprecated ``size_average`` / ``reduce``) and shape
rules: the binary cross-entropies refuse a target whose shape differs from the input's (the classic
(N, 1) output against an (N,) target), the regression losses warn about it and broadcast, as PyTorch does.
"""

from __future__ import annotations

import math
import warnings

from ..factory import where
from ..tensor import Tensor
from ._reduction import REDUCTIONS, legacy_reduction
from ._reduction import reduce as _reduce
from .functional_activations import _softplus
from .functional_distance import pairwise_distance

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "l1_loss", "smooth_l1_loss", "huber_loss",
           "kl_div", "poisson_nll_loss", "gaussian_nll_loss", "margin_ranking_loss", "hinge_embedding_loss",
           "soft_margin_loss", "cosine_embedding_loss", "triplet_margin_loss", "multilabel_soft_margin_loss"]


def warn_if_broadcast(op, input, target):  # noqa: A002
    """PyTorch's warning for the regression losses when the shapes differ (they broadcast, usually by mistake)."""
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"{op}: Using a target size {tuple(target.shape)} that is different to the input size "
                      f"{tuple(input.shape)}. This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)


def weighted_reduce(op, loss, weight, reduction, input, mean_over_weights):  # noqa: A002
    """loss * weight, reduced; with a weight, PyTorch's l1/mse "mean" divides by sum(weight), huber's by the count."""
    if weight is None:
        return _reduce(loss, reduction)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(f"{op}: weights and input must have the same size, got weight {tuple(weight.shape)} and "
                         f"input {tuple(input.shape)}")
    loss = loss * weight
    if reduction == "mean" and mean_over_weights:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


def _same_shape(op, input, target, message):  # noqa: A002
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"{op}: " + message.format(t=tuple(target.shape), i=tuple(input.shape)))


def _clamped_log(x):
    """log(x) clamped below at -100, as PyTorch's binary_cross_entropy (so log(0) is -100, not -inf); at x = 0
    the stand-in 1 keeps the unused branch's gradient finite."""
    pos = x > 0
    return where(pos, where(pos, x, 1.0).log().clamp(min=-100), -100.0)


# ---------------------------------------------------------------- binary classification
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                         reduction="mean"):
    """-(y log p + (1 - y) log(1 - p)) for probabilities p in [0, 1] (each log clamped at -100, as PyTorch);
    ``weight`` broadcasts to the input and scales each element's loss."""
    op = "binary_cross_entropy"
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    _same_shape(op, input, target, "Using a target size {t} that is different to the input size {i} is "
                                   "deprecated. Please ensure they have the same size.")
    data = input.data
    if data.size and not bool(((data >= 0) & (data <= 1)).all()):
        raise RuntimeError(f"{op}: all elements of input should be between 0 and 1 (got values from "
                           f"{float(data.min()):g} to {float(data.max()):g}; pass logits to "
                           "binary_cross_entropy_with_logits, or apply sigmoid first)")
    loss = -(target * _clamped_log(input) + (1 - target) * _clamped_log(1 - input))
    return _reduce(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                                     reduction="mean", pos_weight=None):
    """binary_cross_entropy(sigmoid(x), y), computed from the logits x without overflow:
    (1 - y) x + (1 + (pos_weight - 1) y) log(1 + e^-x). ``pos_weight`` (one per class, broadcast along the
    last dim) weighs the positive examples; ``weight`` scales each element's loss."""
    op = "binary_cross_entropy_with_logits"
    reduction = legacy_reduction(op, size_average, reduce, reduction)
    _same_shape(op, input, target, "Target size {t} must be the same as input size {i}")
    log_weight = 1 if pos_weight is None else (pos_weight - 1) * target + 1
    loss = (1 - target) * input + log_weight * _softplus(-input)
    return _reduce(loss if weight is None else loss * weight, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    """log(1 + e^(-y x)) for labels y in {-1, 1}."""
    reduction = legacy_reduction("soft_margin_loss", size_average, reduce, reduction)
    return _reduce(_softplus(-target * input), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                                reduction="mean"):
    """Per sample, the mean over the C classes (last dim) of the binary cross-entropy of logit x_c with y_c."""
    reduction = legacy_reduction("multilabel_soft_margin_loss", size_average, reduce, reduction)
    loss = target * _softplus(-input) + (1 - target) * _softplus(input)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.sum(-1) / input.shape[-1], reduction)


# ---------------------------------------------------------------- regression
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):  # noqa: A002
    """The mean (or sum, or none) of the absolute errors |x - y| (times ``weight``; "mean" is then
    sum(w |x - y|) / sum(w), as PyTorch)."""
    reduction = legacy_reduction("l1_loss", size_average, reduce, reduction)
    warn_if_broadcast("l1_loss", input, target)
    return weighted_reduce("l1_loss", (input - target).abs(), weight, reduction, input, True)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):  # noqa: A002
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = x - y); beta = 0 is the L1 loss."""
    reduction = legacy_reduction("smooth_l1_loss", size_average, reduce, reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    warn_if_broadcast("smooth_l1_loss", input, target)
    d = input - target
    a = d.abs()
    return _reduce(a if beta == 0 else where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):  # noqa: A002
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), d = x - y (smooth_l1_loss times delta);
    with ``weight``, "mean" divides by the number of elements, as PyTorch."""
    legacy_reduction("huber_loss", None, None, reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    warn_if_broadcast("huber_loss", input, target)
    d = input - target
    a = d.abs()
    return weighted_reduce("huber_loss", where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta)), weight,
                           reduction, input, False)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):  # noqa: A002
    """KL(target || q) summed pointwise, with ``input`` = log q: y (log y - x), 0 where y = 0; with
    ``log_target`` the target is log y too: e^y (y - x). ``reduction="batchmean"`` divides the sum by the
    batch size (the KL divergence per sample); "mean" divides by every element (PyTorch warns, and so does this)."""
    op = "kl_div"
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(op, size_average, reduce, reduction)
    else:
        legacy_reduction(op, None, None, reduction, REDUCTIONS + ("batchmean",))
        if reduction == "mean":
            warnings.warn("kl_div: reduction: 'mean' divides the total loss by both the batch size and the support "
                          "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
                          "definition.'mean' will be changed to behave the same as 'batchmean' in the next major "
                          "release.", stacklevel=2)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        pos = target > 0
        loss = where(pos, target * where(pos, target, 1.0).log(), 0.0) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,  # noqa: A002
                     reduce=None, reduction="mean"):
    """Negative log-likelihood of target ~ Poisson(rate): e^x - y x when ``log_input`` (x = log rate), else
    x - y log(x + eps); ``full`` adds Stirling's y log y - y + 0.5 log(2 pi y) where y > 1."""
    reduction = legacy_reduction("poisson_nll_loss", size_average, reduce, reduction)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        big = target > 1
        y = where(big, target, 1.0)
        loss = loss + where(big, y * y.log() - y + 0.5 * (2 * math.pi * y).log(), 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):  # noqa: A002
    """Negative log-likelihood of target ~ N(input, var): 0.5 (log var + (x - y)^2 / var) (+ 0.5 log 2 pi with
    ``full``). ``var`` has the input's shape, or one dim fewer, or a single mismatched dim of size 1, or is a
    float; it is clamped to at least ``eps`` in value only (the gradient ignores the clamp, as PyTorch)."""
    op = "gaussian_nll_loss"
    legacy_reduction(op, None, None, reduction)
    if not isinstance(var, Tensor):
        if float(var) < 0:
            raise ValueError(f"{op}: var has negative entry/entries")
        var = input.detach() * 0 + float(var)
    elif bool((var.data < 0).any()):
        raise ValueError(f"{op}: var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (var.ndim == input.ndim and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1):
            raise ValueError(f"{op}: var is of incorrect size {tuple(var.shape)} for input {tuple(input.shape)} "
                             "(give the input's shape, the input's shape without its last dim, or one dim of size 1)")
    var = var + (var.detach().clamp(min=eps) - var.detach())
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- margins and embeddings
def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """max(0, -y (x1 - x2) + margin): x1 should rank above x2 where y = 1, below where y = -1."""
    reduction = legacy_reduction("margin_ranking_loss", size_average, reduce, reduction)
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    """x where y = 1, max(0, margin - x) where y = -1 (x is usually a distance)."""
    reduction = legacy_reduction("hinge_embedding_loss", size_average, reduce, reduction)
    loss = where(target != 1, (margin - input).clamp(min=0), 0.0) + where(target != -1, input, 0.0)
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1 (rows of (N, D) inputs, or
    two D vectors); cos uses sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)), as PyTorch."""
    reduction = legacy_reduction("cosine_embedding_loss", size_average, reduce, reduction)
    if input1.ndim not in (1, 2) or tuple(input1.shape) != tuple(input2.shape):
        raise RuntimeError(f"cosine_embedding_loss: expected two 1-D or 2-D inputs of one shape, got "
                           f"{tuple(input1.shape)} and {tuple(input2.shape)}")
    dim = input1.ndim - 1
    eps = 1e-12
    cos = (input1 * input2).sum(dim) / (((input1 * input1).sum(dim) + eps) * ((input2 * input2).sum(dim) + eps)).sqrt()
    loss = where(target == 1, 1 - cos, 0.0) + where(target == -1, (cos - margin).clamp(min=0), 0.0)
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """max(0, d(a, p) - d(a, n) + margin) with d the ``p``-norm pairwise distance; ``swap`` uses
    min(d(a, n), d(p, n)) as the negative distance."""
    reduction = legacy_reduction("triplet_margin_loss", size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"triplet_margin_loss: margin must be greater than 0, got {margin}")
    shapes = {tuple(t.shape) for t in (anchor, positive, negative)}
    if len(shapes) != 1 or anchor.ndim not in (1, 2):
        raise RuntimeError(f"triplet_margin_loss: anchor, positive and negative must be 1-D or 2-D of one shape, got "
                           f"{tuple(anchor.shape)}, {tuple(positive.shape)}, {tuple(negative.shape)}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)
