"""Norms and distances between vectors: ``normalize``, ``cosine_similarity``, ``pairwise_distance``
(``nn.functional`` re-exports them; the triplet and cosine-embedding losses use them).

The p-norm is composed here from Tensor ops (the engine has no norm op yet). Its gradient x |x|^(p-2) / n^(p-1)
is 0/0 for an all-zero vector; PyTorch makes that gradient 0, and so does ``vector_norm``: the root is taken of
a stand-in 1 wherever the sum is 0, and ``where`` then puts back the 0.
"""

from __future__ import annotations

import math

from ..factory import where

__all__ = ["normalize", "cosine_similarity", "pairwise_distance"]


def vector_norm(x, p=2.0, dim=-1, keepdim=False):
    """||x||_p along ``dim``: (sum |x|^p)^(1/p); p = inf is max |x|. The gradient is 0 where the norm is 0."""
    if p == math.inf:
        return x.abs().max(dim, keepdim)
    if p == 1:
        return x.abs().sum(dim, keepdim)
    if p <= 0:
        raise ValueError(f"norm: p must be positive (or inf), got {p}")
    s = (x * x).sum(dim, keepdim) if p == 2 else (x.abs() ** p).sum(dim, keepdim)
    nonzero = s > 0
    safe = where(nonzero, s, 1.0)
    return where(nonzero, safe.sqrt() if p == 2 else safe ** (1.0 / p), 0.0)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):  # noqa: A002
    """x / max(||x||_p, eps) along ``dim``: unit vectors (an all-zero vector stays zero). ``out``, when given,
    receives the result (as PyTorch)."""
    if input.ndim == 0:
        raise IndexError("normalize: a 0-d tensor has no dim to normalise along")
    y = input / vector_norm(input, p, dim, keepdim=True).clamp(min=eps)
    return y if out is None else out.copy_(y)


def _straight_through_clamp(n, eps):
    """max(n, eps) in value, but with the gradient of n itself: PyTorch clamps the norms in cosine_similarity
    under no_grad, in place, so its backward never sees the clamp."""
    return n + (n.detach().clamp(min=eps) - n.detach())


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 * x2) / (max(||x1||, eps) max(||x2||, eps)) along ``dim`` (x1 and x2 broadcast), as PyTorch."""
    nd = max(x1.ndim, x2.ndim)
    if not -nd <= dim < max(nd, 1):
        raise IndexError(f"cosine_similarity: dim {dim} is out of range for inputs of shapes {x1.shape} and "
                         f"{x2.shape}")
    n1 = _straight_through_clamp(vector_norm(x1, 2, dim, keepdim=True), eps)
    n2 = _straight_through_clamp(vector_norm(x2, 2, dim, keepdim=True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dim (row by row for (N, D) inputs; x1 and x2 broadcast)."""
    if x1.ndim == 0 and x2.ndim == 0:
        raise RuntimeError("pairwise_distance: inputs must have at least one dimension")
    return vector_norm(x1 - x2 + eps, p, -1, keepdim)
