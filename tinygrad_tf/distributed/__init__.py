"""``tinygrad_tf.distributed``: data-parallel training on many processes, as ``torch.distributed``.

    mpirun -n 4 python train.py          # 4 CPU processes, on this host or many (a hostfile)
    mpirun -n 8 python train.py          # ... or 8 GPUs with init_process_group("nccl")

    import tinygrad_tf.distributed as dist
    dist.init_process_group("mpi")                       # "nccl" on GPUs
    model = dist.DistributedDataParallel(model)          # rank 0's weights everywhere; gradients averaged
    sampler = dist.DistributedSampler(dataset)           # each rank reads its own share
    ...
    dist.all_reduce(t, op=dist.ReduceOp.SUM)             # any tensor, in place, on every rank
    dist.destroy_process_group()

The moving of bytes is left to engines built for it: MPI (Open MPI or MPICH, through mpi4py; CPU processes,
one host or many) and NCCL (through CuPy; GPUs). What is built here, on top of their collectives, is data
parallelism itself: the process group and its faults (process_group.py), collectives on Tensors (collectives.py),
DistributedDataParallel with bucketed gradient all-reduce (ddp.py) and the DistributedSampler (sampler.py).
docs/lesson-12-distributed.md teaches it; ``tinygrad-tf train`` runs under ``mpirun`` as it is.
"""

from .backends import DistBackendError, DistError, Work
from .collectives import (ReduceOp, all_gather, all_gather_object, all_reduce, barrier, broadcast,
                          broadcast_object_list)
from .ddp import DistributedDataParallel
from .process_group import (DEFAULT_TIMEOUT, Backend, LaunchInfo, abort, destroy_process_group, get_backend, get_rank,
                    get_world_size, group, init_process_group, is_available, is_initialized, is_mpi_available,
                    is_nccl_available, launch_info)
from .sampler import DistributedSampler

__all__ = ["init_process_group", "destroy_process_group", "is_initialized", "is_available", "is_mpi_available",
           "is_nccl_available", "get_rank", "get_world_size", "get_backend", "barrier", "all_reduce", "broadcast",
           "all_gather", "broadcast_object_list", "all_gather_object", "ReduceOp", "Backend", "group", "Work",
           "DistributedDataParallel", "DistributedSampler", "DistError", "DistBackendError", "launch_info",
           "LaunchInfo", "abort", "DEFAULT_TIMEOUT"]
