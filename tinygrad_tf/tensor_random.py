"""Tensor's random draws from its own values: ``multinomial`` (category indices, with probabilities proportional
to the weights in each row) and ``bernoulli`` (0 or 1, with the probability each element holds).

``Tensor`` (tensor.py) inherits these from ``RandomOps``; ``tg.multinomial`` and ``tg.bernoulli`` (factory.py) are
their module-level forms. The draws come from ``generator`` (a ``tg.Generator``) or the device's global stream.
The in-place fills (``normal_``, ``uniform_``, ``bernoulli_``, ...) are in tensor_inplace.py.
"""

from __future__ import annotations

import operator

from . import autograd, backend
from .autograd import OpError


class RandomOps:
    __slots__ = ()

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        """Draw ``num_samples`` category indices per row (1-D: one distribution; 2-D: one per row), each with
        probability proportional to its weight (rows need not sum to 1). Without replacement no index repeats
        within a row. Returns int64 of shape (num_samples,) or (rows, num_samples).

        Without replacement (and with one sample) each row draws keys E_i / w_i, E_i ~ Exp(1), and takes the
        smallest: the same distribution as drawing one by one and removing each. With replacement, each
        sample inverts the row's cumulative weights at a uniform draw."""
        _check_multinomial(self, num_samples, replacement)
        xp = self._xp()
        w = self.data.astype(backend.float64).reshape(-1, self.shape[-1])
        rng = backend.rng(self.device, generator)
        if not replacement or num_samples == 1:
            if len(w):
                w = w / w.max(axis=-1, keepdims=True)                # keys E / w must not overflow
            e = -xp.log1p(-rng.random(w.shape))                     # Exp(1); 1 - U is in (0, 1]
            keys = xp.where(w > 0, e / xp.where(w > 0, w, 1), xp.inf)
            out = xp.argsort(keys, axis=-1)[:, :num_samples]
        else:
            cdf = xp.cumsum(w, axis=-1)
            cdf /= cdf[:, -1:]                                       # the last is exactly 1 in every row
            u = rng.random((w.shape[0], num_samples))
            out = xp.stack([xp.searchsorted(c, r, side="right") for c, r in zip(cdf, u)]) if len(w) else \
                xp.zeros((0, num_samples), dtype=backend.int64)
        return autograd.Tensor._wrap(out.astype(backend.int64).reshape(*self.shape[:-1], num_samples), self.device)

    def bernoulli(self, *, generator=None):
        """1 with probability given by each element of this tensor of probabilities, else 0 (same shape and dtype)."""
        if self.dtype.kind != "f":
            raise TypeError(f"bernoulli: expected a floating-point tensor of probabilities, got {self.dtype}")
        if not bool(((self.data >= 0) & (self.data <= 1)).all()):
            raise RuntimeError("bernoulli: every probability must be in [0, 1]")
        return self.new_zeros(self.shape).bernoulli_(self, generator=generator)


def _check_multinomial(input, num_samples, replacement):  # noqa: A002
    try:
        n = operator.index(num_samples)
    except TypeError:
        raise TypeError(f"multinomial(): num_samples must be an int, got {type(num_samples).__name__}") from None
    if input.ndim not in (1, 2):
        raise OpError(f"multinomial(): input must be 1-D (one distribution) or 2-D (one per row), got shape "
                      f"{input.shape}")
    if input.dtype.kind != "f":
        raise OpError(f"multinomial(): input must be a floating-point tensor of weights, got {input.dtype}")
    if n <= 0:
        raise OpError(f"multinomial(): cannot draw num_samples={n} <= 0 samples")
    k = input.shape[-1]
    if not replacement and n > k:
        raise OpError(f"multinomial(): cannot draw {n} samples without replacement from {k} categories")
    if k == 0:
        raise OpError(f"multinomial(): input of shape {input.shape} has no categories to draw from")
    w = input.data.reshape(-1, k)
    if len(w) == 0:
        return
    xp = input._xp()
    if not bool(xp.isfinite(w).all()) or bool((w < 0).any()):
        raise OpError("multinomial(): the weights contain inf, nan or a value < 0")
    if not bool((w.astype(backend.float64).sum(axis=-1) > 0).all()):
        raise OpError("multinomial(): a row of weights sums to 0; every row needs a weight > 0")
    if not replacement and n > 1:
        fewest = int((w > 0).sum(axis=-1).min())
        if n > fewest:
            raise OpError(f"multinomial(): cannot draw {n} samples without replacement from a row with only "
                          f"{fewest} non-zero weights")


