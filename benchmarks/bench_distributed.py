"""Data-parallel scaling on this machine: step time, tokens/s and the communication share for N = 1, 2, ...

    python -m benchmarks.bench_distributed                          # N = 1, 2; the table for lesson 12
    python -m benchmarks.bench_distributed --procs 1,2,4 --steps 40 --json dp.json

Each row is one ``mpirun -n N`` job of the real Trainer (``tinygrad_tf.train``, the "demo" GPT: 4 layers,
d_model 128, context 64, character vocabulary; dropout off), one BLAS thread per process. Per step, rank 0
records the wall time of the whole step (batch, forward, backward with the gradient all-reduce, clipping,
AdamW) and the seconds spent in the all-reduce (DistributedDataParallel's ``stats["allreduce_seconds"]``,
from the first bucket's start to the last one's end: the transfer, plus any wait for a slower rank to finish
its backward). After training, the same number of bytes is all-reduced again with nothing around it ("alone":
the transfer by itself). The first ``--warmup`` steps are dropped; the table gives medians. Weak scaling, as DDP is used: the per-process batch stays at ``--batch-size`` and the global
batch grows with N, so ideal scaling is the same step time and N times the tokens/s. A row "N = 1 at N*b"
shows what one process takes for the same global batch.

Run it on a quiet machine: with N processes on N cores, anything else running takes a core from a rank, and
every rank then waits for the slowest at each all-reduce (``uptime`` before and after is printed with the
table).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def worker(out: str, steps: int, batch: int, warmup: int) -> None:
    """One rank of the job (run by mpirun): train, and rank 0 writes the per-step numbers."""
    import time

    import numpy as np

    from tinygrad_tf import distributed as dist
    from tinygrad_tf.train import TrainConfig, Trainer
    if dist.launch_info().world_size > 1:
        dist.init_process_group("mpi")              # ours, so that it outlives the Trainer's run
    cfg = TrainConfig(preset="demo", steps=steps + warmup, batch_size=batch, eval_interval=10 ** 6, dropout=0.0,
                      warmup_steps=1)
    t = Trainer(cfg, show_progress=False)
    history = t.run()[warmup:]
    alone = []
    if dist.is_initialized():                       # the same bytes all-reduced with no training around them
        grads = np.zeros(t.model.num_parameters(), dtype=np.float32)
        for _ in range(warmup + steps):
            dist.barrier()
            t0 = time.perf_counter()
            dist.collectives.array_all_reduce(grads).wait()
            alone.append(time.perf_counter() - t0)
        alone = alone[warmup:]
        dist.destroy_process_group()
    if t.parallel.rank == 0:
        Path(out).write_text(json.dumps({"world_size": t.parallel.world_size, "batch": batch,
                                         "tokens_per_step": batch * t.parallel.world_size * t.context,
                                         "parameters": t.model.num_parameters(), "allreduce_alone": alone,
                                         "steps": [{"time": r["time"], "comm": r.get("comm_time", 0.0)}
                                                   for r in history]}))


def run(n: int, batch: int, steps: int, warmup: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT)}
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "rank0.json")
        cmd = ["mpirun", "-n", str(n), "--oversubscribe", "--bind-to", "core" if n <= (os.cpu_count() or 1) else
               "none", sys.executable, "-m", "benchmarks.bench_distributed", "--worker", out, "--steps", str(steps),
               "--batch-size", str(batch), "--warmup", str(warmup)]
        subprocess.run(cmd, check=True, env=env, cwd=ROOT)
        data = json.loads(Path(out).read_text())
    times = [s["time"] for s in data["steps"]]
    comms = [s["comm"] for s in data["steps"]]
    step = statistics.median(times)
    comm = statistics.median(comms)
    alone = 1000 * statistics.median(data["allreduce_alone"]) if data["allreduce_alone"] else 0.0
    return dict(procs=n, batch=batch, global_batch=batch * n, step_ms=1000 * step, comm_ms=1000 * comm,
                comm_share=comm / step, tokens_per_s=data["tokens_per_step"] / step, parameters=data["parameters"],
                steps=len(times), allreduce_alone_ms=alone)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--procs", default="1,2", help="process counts, comma-separated (default 1,2)")
    p.add_argument("--batch-size", type=int, default=8, help="per-process batch (default 8)")
    p.add_argument("--steps", type=int, default=30, help="timed steps per job (default 30)")
    p.add_argument("--warmup", type=int, default=5, help="steps dropped first (default 5)")
    p.add_argument("--json", help="also write the rows here")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        worker(a.worker, a.steps, a.batch_size, a.warmup)
        return 0
    if shutil.which("mpirun") is None:
        print("needs mpirun (apt-get install openmpi-bin libopenmpi-dev) and mpi4py (pip install -e '.[mpi]')")
        return 2
    print("load before:", os.getloadavg())
    procs = [int(x) for x in a.procs.split(",")]
    rows = [run(n, a.batch_size, a.steps, a.warmup) for n in procs]
    rows += [dict(run(1, a.batch_size * n, a.steps, a.warmup), note=f"one process at {n} x {a.batch_size}")
             for n in procs if n > 1]
    print("load after:", os.getloadavg())
    print(f"\nGPT 'demo' preset ({rows[0]['parameters']:,} parameters), context 64, {rows[0]['steps']} timed steps, "
          "medians\n")
    print("| processes | batch per process | global batch | step time | tokens/s | all-reduce in the step | share "
          "| all-reduce alone |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['procs']} | {r['batch']} | {r['global_batch']} | {r['step_ms']:.0f} ms | "
              f"{r['tokens_per_s']:,.0f} | {r['comm_ms']:.1f} ms | {r['comm_share']:.0%} | "
              f"{r['allreduce_alone_ms']:.2f} ms |")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
