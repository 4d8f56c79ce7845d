"""The Trainer on many processes: ``mpirun -n N tinygrad-tf train ...`` (or N GPUs with ``--device cuda``).

What is the same as in one process, by construction:

* the data. Every rank draws the whole *global* batch (N x --batch-size rows) from the task's seeded generator —
  the generator a single process at batch N*b would use — and keeps its own rows ``[rank*b, (rank+1)*b)``.
  No data is sent, every rank's generator stays in the same state, and the checkpoint's task state is that of
  the global stream: it does not depend on N. A resume with another N (and the same global batch, which is
  the default: --batch-size becomes global / N) continues the same global data order, step for step;
* the loss. A task's loss is a mean over its terms (tokens, masked positions, target digits, texts). A rank's
  share of the gradient is weighted by n_r * N / n, its number of terms n_r out of the global n, so that the
  average of the ranks' gradients is the gradient of the mean over the global batch (and not a mean of means,
  when masked positions or target lengths differ between ranks);
* the step. DistributedDataParallel averages the gradients, so clipping, the optimizer and the schedule see
  what one process would see, and the weights (never sent after the start) stay identical on every rank.

Rank 0 alone evaluates (and broadcasts the numbers, so a --target-accuracy stop is the same everywhere),
prints, draws the dashboard and writes checkpoints. Dropout draws from a stream per rank (rank 0 keeps the run's
global stream and saves it; rank r > 0 reseeds from (seed, r, step)), so runs with dropout are equivalent in
distribution, not bit for bit. An error on any rank ends the job (``distributed.abort``) with the rank's
name; Ctrl-C under mpirun reaches every rank as SIGTERM: rank 0 saves the last finished step, then the job ends.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from .. import backend
from .. import distributed as dist
from ..distributed.collectives import array_all_reduce
from ..distributed.process_group import format_exception
from .checkpoint import CheckpointError

__all__ = ["DataParallel", "launched_world_size", "resume_batch_size", "INTERRUPT_GRACE"]

INTERRUPT_GRACE = 10.0          # seconds an interrupted rank > 0 leaves rank 0 to save before it ends the job


def launched_world_size() -> int:
    """How many processes this run will have: the group's size if one exists, else what the launcher says."""
    return dist.get_world_size() if dist.is_initialized() else dist.launch_info().world_size


def resume_batch_size(c, saved, asked) -> int:
    """The per-process batch of a run resumed on N processes: its global batch (what it was trained with,
    whatever its N) over N. Another global batch would be another run (another data order, another step).
    ``c``: the loaded checkpoint; ``saved``: its TrainConfig; ``asked``: the --batch-size given, if any."""
    world, was = launched_world_size(), int(c.trainer_state.get("world_size", 1))
    global_batch = int(c.trainer_state.get("global_batch_size", saved.batch_size))
    trained = (f"checkpoint {c.path} was trained with batch_size={saved.batch_size} on {was} "
               f"process{'es' if was > 1 else ''}, a global batch of {global_batch}")
    if global_batch % world:
        raise CheckpointError(f"{trained}, which {world} processes cannot share evenly; resume it on a number of "
                              f"processes that divides {global_batch}")
    if asked is not None and asked * world != global_batch:
        raise CheckpointError(f"{trained}; on {world} process{'es' if world > 1 else ''} --batch-size must be "
                              f"{global_batch // world} (the global batch is processes x --batch-size), not {asked}")
    return global_batch // world


class DataParallel:
    """This run's place among its processes (one process: rank 0 of 1, and every method is a pass-through)."""

    def __init__(self, rank: int = 0, world_size: int = 1, owned: bool = False):
        self.rank, self.world_size, self.owned = rank, world_size, owned
        self.ddp = None

    @classmethod
    def join(cls, device: str) -> "DataParallel":
        """Use the process group that exists, or make one when a launcher started more than one process
        ("nccl" for --device cuda, else "mpi")."""
        if dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size())
        if dist.launch_info().world_size <= 1:
            return cls()
        dist.init_process_group("nccl" if device == "cuda" else "mpi")
        return cls(dist.get_rank(), dist.get_world_size(), owned=True)

    @property
    def active(self) -> bool:
        return self.world_size > 1 and dist.is_initialized()

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # ------------------------------------------------------------ data and loss
    def task_config(self, config):
        """The config the task is built with: the global batch (the task draws N*b rows, then we split)."""
        return dataclasses.replace(config, batch_size=config.batch_size * self.world_size) \
            if self.world_size > 1 else config

    def shard(self, batch):
        """This rank's rows of the global batch (every array of it: ids, masks, labels)."""
        if self.world_size == 1:
            return batch
        b = len(batch[0]) // self.world_size
        return tuple(a[self.rank * b:(self.rank + 1) * b] for a in batch)

    def loss_weight(self, task, local, full) -> float:
        """n_r * N / n: this rank's loss terms over the global batch's (1.0 when every rank has as many)."""
        if self.world_size == 1:
            return 1.0
        n = task.loss_terms(full)
        return 1.0 if n == 0 else task.loss_terms(local) * self.world_size / n

    def wrap(self, model):
        """DistributedDataParallel around the model (rank 0's weights everywhere); None in one process.
        ``find_unused_parameters``: a masked-LM batch with no masked token leaves the head without a gradient."""
        if self.world_size > 1:
            self.ddp = dist.DistributedDataParallel(model, find_unused_parameters=True, broadcast_buffers=False)
        return self.ddp

    def prepare(self, loss) -> None:
        if self.ddp is not None:
            self.ddp.prepare_for_backward(loss)

    def global_loss(self, loss_value: float, weight: float) -> float:
        """The loss over the global batch: sum over ranks of loss_r * n_r / n."""
        if not self.active:
            return loss_value
        share = np.array([loss_value * weight / self.world_size], dtype=np.float64)
        array_all_reduce(share, "sum").wait()
        return float(share[0])

    def comm_seconds(self) -> float:
        return self.ddp.stats["allreduce_seconds"] if self.ddp is not None else 0.0

    # ------------------------------------------------------------ agreeing
    def from_main(self, fn):
        """``fn()`` run on rank 0 only; its (picklable) result on every rank."""
        if not self.active:
            return fn()
        box = [fn() if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def any(self, flag: bool) -> bool:
        """True on every rank when it is True on any (a stop asked for on one rank stops all)."""
        if not self.active:
            return bool(flag)
        a = np.array([1.0 if flag else 0.0])
        array_all_reduce(a, "max").wait()
        return bool(a[0] > 0)

    def seed_dropout(self, seed: int, step: int) -> None:
        """Rank r > 0 draws dropout masks from its own stream (rank 0 keeps the run's, which the checkpoint saves)."""
        if self.world_size > 1 and self.rank > 0:
            backend.manual_seed(int(np.random.SeedSequence([seed, self.rank, step]).generate_state(1)[0]))

    # ------------------------------------------------------------ the end
    def check_open(self) -> None:
        """A Trainer whose run ended has left the group it made: it cannot train on N processes again."""
        if self.world_size > 1 and not dist.is_initialized():
            raise dist.DistError("this Trainer's process group was closed when its run ended; to train further, "
                                 "make a new one (Trainer.from_checkpoint) in a new mpirun job")

    def finish(self) -> None:
        """A run that ended normally: wait for rank 0's checkpoint, then leave the group if the Trainer made it
        (before rank 0 goes on alone: a report, a sample)."""
        if self.active:
            dist.barrier()
            if self.owned:
                self.ddp.remove_hooks()
                dist.destroy_process_group()

    def fail(self, exc: BaseException) -> None:
        """An error on this rank ends every process of the job (the others would wait for it forever)."""
        if not self.active:
            return
        one_line = type(exc).__name__ in ("ConfigError", "CheckpointError", "DataError", "TrainingDiverged",
                                          "IntegrityError", "DeviceError")
        detail = "" if one_line else "\n" + format_exception(exc)
        dist.abort(f"{type(exc).__name__}: {exc}{detail}\nending all {self.world_size} processes", 1)

    def interrupted(self, where) -> None:
        """After Ctrl-C / SIGTERM: rank 0 has saved (``where``), and ends the job; another rank gives rank 0
        INTERRUPT_GRACE seconds to do so first."""
        if not self.active:
            return
        if self.is_main:
            dist.abort(f"interrupted; checkpoint saved to {where}" if where else "interrupted; nothing saved", 130)
        time.sleep(INTERRUPT_GRACE)
        dist.abort("interrupted; ending the job", 130)
