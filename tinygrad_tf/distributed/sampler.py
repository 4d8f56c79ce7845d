"""DistributedSampler: each process reads its own share of a dataset (PyTorch's
``torch.utils.data.distributed.DistributedSampler``; here in ``tinygrad_tf.distributed``, because
``utils.data`` sits beside ``distributed`` and does not import it).

    sampler = DistributedSampler(dataset, shuffle=True, seed=0)      # rank and world size from the group
    loader = DataLoader(dataset, batch_size=16, sampler=sampler)     # 16 per process: the global batch is 16 * N
    for epoch in range(epochs):
        sampler.set_epoch(epoch)                                     # a new order each epoch, the same on all ranks
        for batch in loader: ...

One epoch's order is a permutation drawn from ``seed + epoch`` (the same on every rank). It is made a multiple
of ``num_replicas`` long — by repeating its first indices (default) or by dropping its last ones
(``drop_last=True``) — and rank r takes positions r, r + N, r + 2N, ...: every index goes to exactly one rank
(up to the padding), and every rank gets the same number of samples, so no rank waits for a batch that another
never has.
"""

from __future__ import annotations

import math

import numpy as np

from ..utils.data.sampler import Sampler
from .process_group import _group

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler[int]):
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` reads (see the module docstring).
    ``num_replicas`` / ``rank`` default to the process group's."""

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = _group().size
        if rank is None:
            rank = _group().rank
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"num_replicas should be a positive integer, got {num_replicas!r}")
        if not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = bool(shuffle), int(seed), bool(drop_last), 0
        n = len(dataset)
        if self.drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Call before each epoch: the shuffled order depends on ``seed + epoch`` (the same on every rank)."""
        self.epoch = int(epoch)
