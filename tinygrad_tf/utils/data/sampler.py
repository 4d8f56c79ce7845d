"""Samplers: which dataset indices a DataLoader visits, and in what order (PyTorch's ``torch.utils.data.sampler``).

A sampler is an iterable of indices (``BatchSampler``: of lists of indices) with a ``len``. The random
ones draw from ``generator`` (a ``tg.Generator``) when one is given, else from the global stream that
``tg.manual_seed`` resets — so ``tg.manual_seed(0)`` makes a shuffled DataLoader repeat itself. Each
``iter()`` draws afresh: a new epoch, a new order. PyTorch's own random numbers are not reproduced (its
generator is not NumPy's); the distributions and the way the streams are used are.
"""

from __future__ import annotations

import itertools
from typing import Generic, TypeVar

import numpy as np

from ... import backend
from ...factory import tensor

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler"]

T_co = TypeVar("T_co", covariant=True)


def _rng(generator=None) -> np.random.Generator:
    """The NumPy generator a sampler draws from: ``generator``'s own stream, or the global CPU one."""
    if generator is None:
        return backend.rng("cpu")
    if getattr(generator, "device", "cpu") != "cpu":
        raise RuntimeError(f"Expected a 'cpu' device type for generator but found '{generator.device}'")
    return generator.rng


def _randperm(n: int, generator=None) -> list[int]:
    """A random permutation of range(n) (PyTorch's ``randperm``), as a list of ints."""
    return _rng(generator).permutation(n).tolist()


class Sampler(Generic[T_co]):
    """Base class: subclasses implement ``__iter__`` (the indices) and usually ``__len__``."""

    def __init__(self, data_source=None) -> None:
        # PyTorch 2.2 dropped this argument; older code (and many tutorials) still pass it up: accepted, unused
        pass

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler[int]):
    """0, 1, ..., len(data_source) - 1, in order."""

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """A random order of the indices (a new one at each ``iter``); with ``replacement=True``,
    ``num_samples`` independent uniform draws.

    ``num_samples`` (default: the dataset's length) larger than the dataset without replacement gives
    whole permutations one after another, then part of one more. Without a ``generator``, each
    ``iter`` takes one seed from the global stream (as PyTorch does), so ``tg.manual_seed`` fixes the order.
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None) -> None:
        self.data_source, self.replacement, self._num_samples, self.generator = \
            data_source, replacement, num_samples, generator
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        """How many indices one pass yields."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        if self.generator is None:          # one draw from the global stream seeds this pass
            rng = np.random.default_rng(int(_rng().integers(0, 2 ** 63 - 1)))
        else:
            rng = _rng(self.generator)
        if self.replacement:              # in chunks of 32, as PyTorch: num_samples may be "forever" (1e10)
            for start in range(0, self.num_samples, 32):
                yield from rng.integers(0, n, size=min(32, self.num_samples - start)).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from rng.permutation(n).tolist()
            yield from rng.permutation(n).tolist()[: self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given indices, in a random order (a new one at each ``iter``)."""

    def __init__(self, indices, generator=None) -> None:
        self.indices, self.generator = indices, generator

    def __iter__(self):
        for i in _randperm(len(self.indices), self.generator):
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """``num_samples`` indices drawn with probability proportional to ``weights`` (PyTorch's multinomial):
    with replacement by default; without, each index at most once."""

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        w = np.asarray(backend.to_numpy(weights.data) if hasattr(weights, "data") and hasattr(weights, "grad")
                       else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}")
        # PyTorch's multinomial finds these at the first draw; here they are found where the weights are given
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if w.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement and num_samples > np.count_nonzero(w):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement"
                               if num_samples > w.size else
                               "invalid multinomial distribution (with replacement=False, not enough non-negative "
                               "category to sample)")
        self.weights = tensor(w)                     # float64, as PyTorch keeps them
        self.num_samples, self.replacement, self.generator = num_samples, replacement, generator

    def __iter__(self):
        w = self.weights.numpy()
        yield from _rng(self.generator).choice(len(w), size=self.num_samples, replace=self.replacement,
                                               p=w / w.sum()).tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list]):
    """Groups another sampler's indices into lists of ``batch_size``; the last, shorter one is kept
    unless ``drop_last``.

        list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False))
        # [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self):
        it = iter(self.sampler)
        while batch := list(itertools.islice(it, self.batch_size)):
            if self.drop_last and len(batch) < self.batch_size:
                return
            yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
