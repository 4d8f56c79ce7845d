"""``tinygrad_tf.utils.data``: datasets, samplers and the DataLoader, as ``torch.utils.data``.

    from tinygrad_tf.utils.data import DataLoader, Dataset, TensorDataset, random_split

dataset.py (Dataset, IterableDataset, TensorDataset, Subset, ConcatDataset, ... random_split),
sampler.py (SequentialSampler, RandomSampler, BatchSampler, ...), dataloader.py (DataLoader,
get_worker_info) and _utils/collate.py (default_collate: how samples become a batch).
"""

from ._utils.collate import default_collate, default_convert
from .dataloader import DataLoader, WorkerInfo, get_worker_info
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset, TensorDataset,
                      random_split)
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                      WeightedRandomSampler)

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset", "ChainDataset", "Subset",
           "random_split", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DataLoader", "get_worker_info", "WorkerInfo",
           "default_collate", "default_convert"]

from ...compat import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr(__name__, "torch.utils.data")
