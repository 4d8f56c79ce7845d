"""What each process of tests/test_distributed.py's mpirun jobs runs: ``python dist_worker.py SCENARIO OUT [ARGS]``.

Every rank writes what it saw to OUT/rank{R}.json (or .npz); the test reads them and decides. Scenarios:
collectives (mpi), nccl (the nccl backend on tests/cupy_standin.py + tests/nccl_standin.py), train (the Trainer,
its history and weights), raise (rank 1 raises in a callback at step 3).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tinygrad_tf as tg  # noqa: E402
from tinygrad_tf import distributed as dist  # noqa: E402
from tinygrad_tf import nn  # noqa: E402


def collectives(out: Path, device="cpu", backend="mpi") -> None:
    if backend == "nccl":
        dist.init_process_group("nccl", device_id=0)
    else:
        dist.init_process_group(backend)
    r, n = dist.get_rank(), dist.get_world_size()
    res = {"rank": r, "size": n, "backend": dist.get_backend()}

    def t(values, dtype=tg.float32):
        return tg.tensor(np.asarray(values), dtype=dtype, device=device)

    for op in ("SUM", "AVG", "MAX", "MIN", "PRODUCT"):
        x = t([r + 1.0, -(r + 1.0)])
        dist.all_reduce(x, op=getattr(dist.ReduceOp, op))
        res[op] = x.tolist()
    x = t([r + 1, 2 * r], dtype=tg.int64)
    dist.all_reduce(x)
    res["int64"] = x.tolist()
    x = t([0.5 * (r + 1)] * 3, dtype=tg.float16)
    dist.all_reduce(x)
    res["float16"] = [float(v) for v in x.tolist()]
    m = t(np.arange(12.0).reshape(3, 4) * (r + 1))
    col = m[:, 1]                                        # a strided view
    dist.all_reduce(col)
    res["strided"] = col.tolist()
    x = t([float(r)] * 2)
    work = dist.all_reduce(x, async_op=True)
    res["async"] = [work.wait(), work.is_completed(), x.tolist()]
    x = t([float(r), 10.0 * r])
    dist.broadcast(x, src=n - 1)
    res["broadcast"] = x.tolist()
    outs = [t([0.0, 0.0]) for _ in range(n)]
    dist.all_gather(outs, t([r, r * r]))
    res["all_gather"] = [o.tolist() for o in outs]
    objs = [{"from": r, "text": "é" * r}, None]
    dist.broadcast_object_list(objs, src=0)
    res["objects"] = objs
    gathered = [None] * n
    dist.all_gather_object(gathered, ("rank", r, list(range(r))))
    res["gathered"] = [list(g) for g in gathered]
    dist.barrier()

    # DDP: rank 0's weights everywhere, gradients averaged (several buckets), no_sync accumulation
    tg.manual_seed(100 + r)                              # different weights on purpose: DDP copies rank 0's
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).to(device)
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=60 / 2 ** 20)
    res["buckets"] = len(ddp.buckets)
    res["weights"] = [p.numpy().tolist() for p in model.parameters()]
    rng = np.random.default_rng(7)
    xs = rng.standard_normal((3 * n, 3)).astype(np.float32)
    mine = t(xs[3 * r:3 * r + 3])
    ddp(mine).pow(2).mean().backward()
    res["grads"] = [p.grad.numpy().tolist() for p in model.parameters()]
    model.zero_grad()
    with ddp.no_sync():                                  # two micro-batches: the first stays local
        ddp(t(xs[3 * r:3 * r + 1])).pow(2).sum().backward()
        res["local_after_no_sync"] = model[0].bias.grad.numpy().tolist()
    ddp(t(xs[3 * r + 1:3 * r + 3])).pow(2).sum().backward()
    res["accumulated"] = [p.grad.numpy().tolist() for p in model.parameters()]
    res["xs"] = xs.tolist()
    res["state_keys"] = sorted(ddp.state_dict())[:2]
    res["stats"] = {k: v for k, v in ddp.stats.items() if k != "allreduce_seconds"}

    # find_unused_parameters: the second head is used on rank 0 only
    tg.manual_seed(5)
    a, b = nn.Linear(2, 2).to(device), nn.Linear(2, 1).to(device)
    two = dist.DistributedDataParallel(nn.ModuleList([a, b]), find_unused_parameters=True)
    h = a(t([[1.0, 2.0]]))
    loss = (b(h).sum() if r == 0 else h.sum())
    two.prepare_for_backward(loss)
    loss.backward()
    res["unused"] = [None if p.grad is None else p.grad.numpy().tolist() for p in (a.weight, b.weight)]
    sampler = dist.DistributedSampler(list(range(10)), shuffle=False)
    res["sampler"] = list(sampler)
    dist.destroy_process_group()
    (out / f"rank{r}.json").write_text(json.dumps(res))


def train(out: Path, options: str) -> None:
    from tinygrad_tf.train import TrainConfig, Trainer
    opts = json.loads(options)
    resume = opts.pop("resume", None)
    if resume:
        trainer = Trainer.from_checkpoint(resume, opts, show_progress=False)
    else:
        trainer = Trainer(TrainConfig(**opts), show_progress=False)
    r, n = trainer.parallel.rank, trainer.parallel.world_size
    history = trainer.run()
    try:
        trainer.run()                                    # its group is closed: a clear error, not a lone run
        refused = False
    except dist.DistError as e:
        refused = "process group was closed" in str(e)
    weights = {k: v.numpy() for k, v in trainer.model.state_dict().items()}
    np.savez(out / f"rank{r}.npz", **weights)
    (out / f"rank{r}.json").write_text(json.dumps({"rank": r, "size": n, "history": history, "refused": refused,
                                                   "global_batch": trainer.config.batch_size * n}))


def raising(out: Path) -> None:
    from tinygrad_tf.train import TrainConfig, Trainer

    def boom(rec):
        if dist.get_rank() == 1 and rec["step"] == 3:
            raise RuntimeError("boom on purpose")
    Trainer(TrainConfig(preset="tiny", context_length=16, steps=10_000, batch_size=2, eval_interval=1000,
                        checkpoint_interval=2, out_dir=str(out / "ck")), callbacks=[boom], show_progress=False).run()


if __name__ == "__main__":
    scenario, where = sys.argv[1], Path(sys.argv[2])
    if scenario == "collectives":
        collectives(where)
    elif scenario == "nccl":
        import cupy_standin
        import nccl_standin
        with cupy_standin.installed(), nccl_standin.installed(devices=1):
            collectives(where, device="cuda", backend="nccl")
    elif scenario == "train":
        train(where, sys.argv[3])
    elif scenario == "raise":
        raising(where)
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")
