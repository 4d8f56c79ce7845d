"""16 — data parallelism by hand: one model per process, each on its share of the data, gradients averaged.

    mpirun -n 2 python examples/17_data_parallel.py     # 2 CPU processes (Open MPI; pip install -e ".[mpi]")
    python examples/17_data_parallel.py                 # starts itself under `mpirun -n 2` when mpirun is there
    python examples/17_data_parallel.py --here          # one process, no mpirun

The loop is the plain PyTorch one — a DataLoader, forward, loss, backward, step — with three additions from
tinygrad_tf.distributed (docs/lesson-12-distributed.md):

* init_process_group("mpi") joins the processes mpirun started;
* DistributedSampler gives each rank every N-th window of one shared shuffled order;
* DistributedDataParallel copies rank 0's weights to every rank, and its gradient hooks all-reduce (average)
  the gradients during loss.backward(), so every rank takes the same step and the weights stay identical.

`tinygrad-tf train` does all of this for you under mpirun; this script shows the moving parts.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import numpy as np

import tinygrad_tf as tg
from tinygrad_tf import distributed as dist
from tinygrad_tf.nn import functional as F
from tinygrad_tf.nn.models import GPT, GPTConfig
from tinygrad_tf.optim import AdamW
from tinygrad_tf.text import CharTokenizer, default_corpus
from tinygrad_tf.utils.data import DataLoader, TensorDataset

STEPS, BATCH, CONTEXT = 40, 8, 32


def relaunch_under_mpirun() -> int | None:
    """Run this script as `mpirun -n 2 ...` (None when mpirun or mpi4py is not installed)."""
    if shutil.which("mpirun") is None or not dist.is_mpi_available():
        return None
    env = dict(os.environ)
    if hasattr(os, "geteuid") and os.geteuid() == 0:       # Open MPI refuses to run as root unless told twice
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return subprocess.run(["mpirun", "-n", "2", "--oversubscribe", sys.executable, os.path.abspath(__file__)],
                          env=env).returncode


def main() -> None:
    launched = dist.launch_info().world_size > 1
    if launched:
        dist.init_process_group("mpi")
    rank, world = (dist.get_rank(), dist.get_world_size()) if launched else (0, 1)

    text = default_corpus()[:200_000]
    tok = CharTokenizer.train(text)
    ids = np.asarray(tok.encode(text), dtype=np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(ids, CONTEXT + 1)[::CONTEXT]     # inputs + next tokens
    data = TensorDataset(tg.tensor(np.ascontiguousarray(windows)))
    sampler = dist.DistributedSampler(data, num_replicas=world, rank=rank, seed=0)   # this rank's windows
    loader = DataLoader(data, batch_size=BATCH, sampler=sampler)                    # BATCH per process

    tg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, context_length=CONTEXT, d_model=32, n_layer=2, n_head=2,
                          dropout=0.0))
    net = dist.DistributedDataParallel(model) if launched else model
    opt = AdamW(model.parameters(), lr=3e-3)
    losses = []
    for step, (batch,) in zip(range(STEPS), loader):
        logits = net(batch[:, :-1]).logits
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()                           # DDP: the gradients are averaged over the ranks here
        opt.step()
        mean = loss.detach()
        if launched:
            dist.all_reduce(mean, op=dist.ReduceOp.AVG)          # the global batch's loss, for the printout
        losses.append(mean.item())

    digest = hashlib.sha256(b"".join(p.numpy().tobytes() for p in model.parameters())).hexdigest()
    digests = [digest] * world
    if launched:
        dist.all_gather_object(digests, digest)
    if rank == 0:
        print(f"{world} process{'es' if world > 1 else ''}, global batch {BATCH * world}: loss {losses[0]:.3f} -> "
              f"{losses[-1]:.3f} in {len(losses)} steps; weights identical on every rank: "
              f"{all(d == digests[0] for d in digests)}")
    if launched:
        dist.destroy_process_group()


if __name__ == "__main__":
    if dist.launch_info().world_size == 1 and "--here" not in sys.argv:
        code = relaunch_under_mpirun()
        if code is not None:
            sys.exit(code)
        print("(no mpirun / mpi4py here: running as one process; apt-get install openmpi-bin libopenmpi-dev and "
              "pip install -e '.[mpi]' for more)")
    main()
