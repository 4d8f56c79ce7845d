"""DataLoader: batches from a dataset, in the order its sampler gives (PyTorch's ``torch.utils.data.dataloader``).

    loader = DataLoader(TensorDataset(X, Y), batch_size=32, shuffle=True)
    for xb, yb in loader:            # xb: X[i] for 32 indices i, stacked; yb likewise
        ...

How a batch is made, as in PyTorch:

* map-style dataset: the ``batch_sampler`` (by default ``BatchSampler(sampler, batch_size, drop_last)``
  over a ``SequentialSampler``, or a ``RandomSampler`` with ``shuffle=True``) gives a list of indices;
  the samples ``dataset[i]`` (or ``dataset.__getitems__(indices)``) go through ``collate_fn``
  (``default_collate``: see _utils/collate.py).
* iterable dataset: the next ``batch_size`` items of ``iter(dataset)``; the last, short batch is kept
  unless ``drop_last``.
* ``batch_size=None``: no batching; each sample goes through ``default_convert`` (NumPy to tensors).

Workers. ``num_workers > 0`` does not start processes here: the workers run in this process, one batch at
a time, and the batches are exactly the ones PyTorch's worker processes deliver (with ``in_order=True``,
its default): for a map-style dataset the same batches as ``num_workers=0``, batch ``k`` fetched by worker
``k % num_workers``; for an iterable dataset every worker iterates its own copy of the dataset (a
``copy.deepcopy``, as a worker process holds its own copy), ``get_worker_info()`` tells ``__iter__``
which worker it is in (to give each worker its share), and the workers' batches come round-robin, a
worker that runs out dropping out of the turn. ``worker_init_fn(worker_id)`` runs once per worker when
iteration starts (once in all with ``persistent_workers=True``). What differs: there is no parallelism;
a worker's random draws come from this process's streams (PyTorch seeds each worker's torch stream
with ``base_seed + worker_id``; ``get_worker_info().seed`` reports that number); a map-style dataset is
shared, not copied; ``timeout``, ``prefetch_factor``, ``multiprocessing_context``, ``pin_memory`` and
``pin_memory_device`` are checked as PyTorch checks them and then have nothing to do.
"""

from __future__ import annotations

import contextlib
import copy
import math
import multiprocessing
import warnings
from dataclasses import dataclass
from typing import Generic, TypeVar

from ._utils.collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, _rng

__all__ = ["DataLoader", "get_worker_info", "WorkerInfo", "default_collate", "default_convert"]

T_co = TypeVar("T_co", covariant=True)


# ---------------------------------------------------------------------------
# workers
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: its ``id`` (0 .. ``num_workers - 1``), the
    number of workers, the ``seed`` PyTorch's worker would be seeded with, and the worker's ``dataset``."""

    id: int
    num_workers: int
    seed: int
    dataset: object


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """The current worker's ``WorkerInfo`` while a DataLoader worker runs your code (the dataset's
    ``__iter__``/``__getitem__``, ``worker_init_fn``, ``collate_fn``); ``None`` in the main program."""
    return _worker_info


@contextlib.contextmanager
def _as_worker(info: WorkerInfo | None):
    global _worker_info
    outer, _worker_info = _worker_info, info
    try:
        yield
    finally:
        _worker_info = outer


class _InfiniteConstantSampler(Sampler):
    """The "sampler" of an iterable dataset: ``None`` forever (the dataset decides what comes next)."""

    def __iter__(self):
        while True:
            yield None


class _MapFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        getitems = getattr(self.dataset, "__getitems__", None)
        data = getitems(index) if getitems else [self.dataset[i] for i in index]
        return self.collate_fn(data)


class _IterableFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset_iter, self.ended = iter(dataset), False
        self.auto_collation, self.collate_fn, self.drop_last = auto_collation, collate_fn, drop_last

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        data = []
        for _ in index:
            try:
                data.append(next(self.dataset_iter))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(index)):
            raise StopIteration
        return self.collate_fn(data)


# ---------------------------------------------------------------------------
# the loader
# ---------------------------------------------------------------------------
class DataLoader(Generic[T_co]):
    """Iterate over ``dataset`` in batches (PyTorch's signature, defaults and argument checks).

    ``shuffle=True`` draws a new order every epoch from ``generator`` (a ``tg.Generator``) or the global
    stream (``tg.manual_seed`` makes it repeat). ``sampler`` / ``batch_sampler`` choose the indices
    yourself; ``collate_fn`` builds a batch from a list of samples. ``len(loader)`` is the number of
    batches. ``num_workers > 0`` runs the workers in this process (see the module docstring: the same
    batches, in the same order, as PyTorch's worker processes).
    """

    _initialized = False

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn=None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn=None, multiprocessing_context=None,
                 generator=None, *, prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers "
                             "> 0 to enable multiprocessing, otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset, self.num_workers, self.prefetch_factor = dataset, num_workers, prefetch_factor
        self.pin_memory, self.pin_memory_device, self.timeout = pin_memory, pin_memory_device, timeout
        self.worker_init_fn, self.in_order = worker_init_fn, in_order
        self.multiprocessing_context = _check_context(multiprocessing_context, num_workers)

        self._is_iterable = isinstance(dataset, IterableDataset)
        if self._is_iterable:
            if shuffle not in {False, None}:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                                 f"but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with "
                             "drop_last")
        if sampler is None:
            if self._is_iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last, self.generator = batch_size, drop_last, generator
        self.sampler, self.batch_sampler = sampler, batch_sampler
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn, self.persistent_workers = collate_fn, persistent_workers
        self._IterableDataset_len_called = None
        self._iterator = None
        self._initialized = True

    def __setattr__(self, attr, val):
        if self._initialized and attr in ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
                                          "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self):
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None:
                self._iterator = _LoaderIter(self)
            else:
                self._iterator._reset(self)
            return self._iterator
        return _LoaderIter(self)

    def __len__(self) -> int:
        """The number of batches (an iterable dataset must have ``__len__``: its length over the batch size)."""
        if not self._is_iterable:
            return len(self._index_sampler)
        length = self._IterableDataset_len_called = len(self.dataset)
        if self.batch_size is not None:
            length = length // self.batch_size if self.drop_last else math.ceil(length / self.batch_size)
        return length


def _check_context(context, num_workers):
    """multiprocessing_context: checked as PyTorch checks it (there are no processes to start here)."""
    if context is None:
        return None
    if num_workers == 0:
        raise ValueError("multiprocessing_context can only be used with multi-process loading (num_workers > 0), "
                         f"but got num_workers={num_workers}")
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise ValueError(f"multiprocessing_context option should specify a valid start method in {methods!r}, "
                             f"but got multiprocessing_context={context!r}")
        return multiprocessing.get_context(context)
    if not isinstance(context, multiprocessing.context.BaseContext):
        raise TypeError("multiprocessing_context option should be a valid context object or a string specifying "
                        f"the start method, but got multiprocessing_context={context}")
    return context


class _LoaderIter:
    """One pass over a DataLoader. With workers, each worker has its fetcher (an iterable dataset: its own
    copy and iterator); batch k goes to the next worker in turn that has not run out."""

    def __init__(self, loader: DataLoader):
        self._loader = loader
        self._sampler_iter = iter(loader._index_sampler)    # PyTorch's order: the sampler, then the base seed
        self._base_seed = int(_rng(loader.generator).integers(0, 2 ** 63 - 1))   # one draw per pass
        self._workers = [WorkerInfo(i, loader.num_workers, self._base_seed + i,
                                    _copy(loader.dataset) if loader._is_iterable else loader.dataset)
                         for i in range(loader.num_workers)]
        for w in self._workers:
            if loader.worker_init_fn is not None:
                with _as_worker(w):
                    loader.worker_init_fn(w.id)
        self._reset(loader, first=True)

    def _reset(self, loader: DataLoader, first: bool = False) -> None:
        if not first:                                # a new epoch of persistent workers
            self._sampler_iter = iter(loader._index_sampler)
        self._num_yielded = 0
        self._len_called = loader._IterableDataset_len_called
        fetcher = _IterableFetcher if loader._is_iterable else _MapFetcher
        args = (loader._auto_collation, loader.collate_fn, loader.drop_last)
        if not self._workers:
            self._fetchers = [fetcher(loader.dataset, *args)]
        else:
            self._fetchers = []
            for w in self._workers:
                with _as_worker(w):                  # iter(dataset) runs inside the worker
                    self._fetchers.append(fetcher(w.dataset, *args))
        self._active = list(range(len(self._fetchers)))   # workers that have not run out, in turn order
        self._turn = 0

    def __iter__(self):
        return self

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        if self._loader._is_iterable and self._len_called is not None and self._num_yielded > self._len_called:
            msg = (f"Length of IterableDataset {self._loader.dataset} was reported to be {self._len_called}(when "
                   f"accessing len(dataloader)), but {self._num_yielded} samples have been fetched. ")
            if self._workers:
                msg += ("For multiprocessing data-loading, this could be caused by not properly configuring the "
                        "IterableDataset replica at each worker.")
            warnings.warn(msg, stacklevel=2)
        return data

    def _next_data(self):
        while self._active:
            index = next(self._sampler_iter)         # StopIteration here ends the pass
            k = self._turn % len(self._active)
            w = self._active[k]
            try:
                with _as_worker(self._workers[w] if self._workers else None):
                    data = self._fetchers[w].fetch(index)
            except StopIteration:                    # an iterable dataset's worker ran out: drop it
                del self._active[k]
                self._turn = k
                continue
            self._turn = k + 1
            return data
        raise StopIteration

    def __len__(self) -> int:
        return len(self._loader._index_sampler)


def _copy(dataset):
    """A worker's own copy of an iterable dataset (what a worker process would hold)."""
    try:
        return copy.deepcopy(dataset)
    except Exception as e:                            # e.g. a dataset holding an open generator
        warnings.warn(f"DataLoader: could not copy the IterableDataset for each worker ({type(e).__name__}: "
                      f"{e}); the workers share it, so a stateful dataset may give other batches than PyTorch's "
                      "worker processes", stacklevel=3)
        return dataset
