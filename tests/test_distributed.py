"""tinygrad_tf.distributed and the Trainer on many processes.

The test that matters is equivalence: N processes at per-process batch b give the same run as one process at
batch N*b — the same loss at every step and the same final weights, up to float32 summation order. Shown with
real MPI processes (mpirun -n 2 and -n 3 --oversubscribe, Open MPI from the distribution), for GPT (through the
`tinygrad-tf train` command) and for a BERT masked LM, whose ranks have different numbers of loss terms.

Tolerance. A batch mean is summed in another order (per rank, then across ranks) than in one process, which
changes the last bit or two of a float32 (relative 6e-8 per rounding). AdamW divides each gradient by the root
of its own second moment, so a weight whose gradient is tiny gets a full-size update whose last digits depend
on those rounded bits: over a few steps at lr 3e-3 that leaves weights apart by ~1e-6 (measured up to 2.5e-6,
and 1e-7 on the losses, for N = 2 and 3). We allow 1e-5 relative on each loss and 2e-5 absolute on each weight:
a real mistake (a gradient not averaged, a rank's share weighted wrongly) moves losses by 1e-3 and weights by
the learning rate. Every rank's weights must be *bitwise* the same as rank 0's: they all apply the same
all-reduced gradient.

Faults: a rank killed with SIGKILL, and a rank that raises, each end the whole job within seconds, with a
message naming the rank, and leave a checkpoint that resumes.

Without mpirun or mpi4py the MPI tests skip, saying so; CI installs both (.ci/run: apt-get install openmpi-bin
libopenmpi-dev; pip install -e ".[mpi]"). Every mpirun job runs under a timeout: a hang fails, it never blocks.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import tinygrad_tf as tg
from tinygrad_tf import distributed as dist
from tinygrad_tf.train import CheckpointError, TrainConfig, Trainer, load_checkpoint

HERE = Path(__file__).resolve().parent
WORKER = HERE / "dist_worker.py"
TEXT = ("def f(x):\n    return x + 1\n\nThe quick brown fox jumps over the lazy dog. " * 40
        + "class A:\n    pass\n" * 20)
LOSS_RTOL, WEIGHT_ATOL = 1e-5, 2e-5

needs_mpi = pytest.mark.skipif(shutil.which("mpirun") is None or not dist.is_mpi_available(),
                               reason="needs Open MPI (apt-get install openmpi-bin libopenmpi-dev) and mpi4py "
                                      "(pip install -e '.[mpi]'); CI installs both")


def mpi_env() -> dict:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent), "OMPI_MCA_rmaps_base_oversubscribe": "1",
           "OMPI_MCA_btl_vader_single_copy_mechanism": "none"}     # containers may forbid cross-process reads
    if hasattr(os, "geteuid") and os.geteuid() == 0:          # CI runs as root; Open MPI refuses without these
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    for k in [k for k in env if k.startswith(("OMPI_COMM_WORLD", "PMI_")) or k in ("RANK", "WORLD_SIZE")]:
        del env[k]
    return env


def mpirun(n, *args, timeout=120, **kw):
    return subprocess.run(["mpirun", "-n", str(n), "--oversubscribe", *map(str, args)], capture_output=True,
                          text=True, env=mpi_env(), timeout=timeout, **kw)


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


# ------------------------------------------------------------------ without MPI
def test_launch_info_reads_each_launcher():
    assert dist.launch_info({}) == dist.LaunchInfo(0, 1, 0, None)
    ompi = {"OMPI_COMM_WORLD_RANK": "2", "OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_LOCAL_RANK": "0"}
    assert dist.launch_info(ompi) == dist.LaunchInfo(2, 4, 0, "mpirun")
    assert dist.launch_info({"PMI_RANK": "1", "PMI_SIZE": "3"}) == dist.LaunchInfo(1, 3, 0, "mpirun")
    torchrun = {"RANK": "3", "WORLD_SIZE": "8", "LOCAL_RANK": "1"}
    assert dist.launch_info(torchrun) == dist.LaunchInfo(3, 8, 1, "torchrun")
    with pytest.raises(dist.DistError, match="WORLD_SIZE='two'"):
        dist.launch_info({"WORLD_SIZE": "two"})


def test_misuse_is_one_clear_error(monkeypatch):
    assert not dist.is_initialized() and dist.is_available()
    with pytest.raises(dist.DistError, match="init_process_group"):
        dist.get_rank()
    with pytest.raises(dist.DistError, match="'gloo'.*'mpi'.*'nccl'"):
        dist.init_process_group("gloo")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(dist.DistError, match="mpirun -n 2"):
        dist.init_process_group("mpi")
    with pytest.raises(dist.DistError, match="init_process_group"):
        dist.DistributedDataParallel(tg.nn.Linear(2, 2))
    monkeypatch.delenv("WORLD_SIZE")
    from tinygrad_tf.distributed import process_group
    monkeypatch.setattr(process_group, "is_mpi_available", lambda: False)
    with pytest.raises(dist.DistError, match=r"apt-get install openmpi-bin libopenmpi-dev, then pip install 'tinygrad-tf\[mpi\]'"):
        dist.init_process_group("mpi")
    assert not dist.is_initialized()


def test_distributed_sampler_follows_pytorch():
    data = list(range(10))
    parts = [list(dist.DistributedSampler(data, num_replicas=3, rank=r, shuffle=False)) for r in range(3)]
    assert parts == [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]              # padded with the first indices
    dropped = [list(dist.DistributedSampler(data, 3, r, shuffle=False, drop_last=True)) for r in range(3)]
    assert dropped == [[0, 3, 6], [1, 4, 7], [2, 5, 8]] and len(dist.DistributedSampler(data, 3, 0, drop_last=True)) == 3
    samplers = [dist.DistributedSampler(data, 2, r, seed=7) for r in range(2)]
    first = [list(s) for s in samplers]
    assert sorted(first[0] + first[1]) == data and first[0] != list(range(0, 10, 2))
    assert [list(s) for s in samplers] == first                              # the same epoch, the same order
    for s in samplers:
        s.set_epoch(1)
    second = [list(s) for s in samplers]
    assert sorted(second[0] + second[1]) == data and second != first
    loader = tg.utils.data.DataLoader(data, batch_size=2, sampler=samplers[1])
    assert [b.tolist() for b in loader] == [second[1][i:i + 2] for i in range(0, 5, 2)]
    with pytest.raises(ValueError, match="rank"):
        dist.DistributedSampler(data, num_replicas=2, rank=2)


def test_rendezvous_hands_rank0_bytes_to_every_rank():
    from tinygrad_tf.distributed.rendezvous import share_from_rank0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    got = {}

    def rank(r):
        got[r] = share_from_rank0(r, 3, "127.0.0.1", port, b"\x00\xffid" if r == 0 else None, timeout=20)
    threads = [threading.Thread(target=rank, args=(r,)) for r in (1, 2, 0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert got == {0: b"\x00\xffid", 1: b"\x00\xffid", 2: b"\x00\xffid"}
    with pytest.raises(dist.DistBackendError, match=r"rank\(s\) \[1\] did not connect"):
        share_from_rank0(0, 2, "127.0.0.1", port, b"x", timeout=0.5)


def test_nccl_backend_world_size_one_on_the_standin():
    """The nccl code path in one process (a single GPU's world size 1): NCCL's calls with device pointers,
    counts and datatypes, on tests/cupy_standin.py + tests/nccl_standin.py (no GPU here)."""
    import cupy_standin
    import nccl_standin
    with cupy_standin.installed(), nccl_standin.installed() as nccl:
        nccl_standin.calls.clear()
        dist.init_process_group("nccl")
        try:
            assert (dist.get_backend(), dist.get_rank(), dist.get_world_size()) == ("nccl", 0, 1)
            x = tg.tensor([1.0, 2.0], device="cuda")
            dist.all_reduce(x, op=dist.ReduceOp.AVG)
            assert x.tolist() == [1.0, 2.0] and nccl_standin.calls[-1] == ("allReduce", 2, nccl.NCCL_FLOAT32)
            with pytest.raises(dist.DistError, match="CUDA tensors"):
                dist.all_reduce(tg.tensor([1.0]))
            model = tg.nn.Linear(3, 2).to("cuda")
            ddp = dist.DistributedDataParallel(model)
            ddp(tg.ones(4, 3, device="cuda")).sum().backward()
            assert model.weight.grad.device.type == "cuda" and model.weight.grad.tolist() == [[4.0] * 3] * 2
        finally:
            dist.destroy_process_group()
    assert not dist.is_initialized()



def _real_nccl():
    if not tg.cuda_available():
        return "needs CuPy and a GPU (pip install -e '.[cuda]' on a machine with an NVIDIA GPU)"
    try:
        from cupy.cuda import nccl  # noqa: F401
    except ImportError as e:
        return f"CuPy has no NCCL bindings here: {e}"
    return None


@pytest.mark.skipif(_real_nccl() is not None, reason=str(_real_nccl()))
def test_nccl_backend_world_size_one_on_a_real_gpu():
    """The same as above on real CuPy and NCCL (scripts/gpu-check runs it on the GPU machine)."""
    dist.init_process_group("nccl")
    try:
        assert (dist.get_backend(), dist.get_world_size()) == ("nccl", 1)
        x = tg.tensor([1.0, 2.0], device="cuda")
        dist.all_reduce(x)
        assert x.tolist() == [1.0, 2.0]
        model = tg.nn.Linear(3, 2).to("cuda")
        ddp = dist.DistributedDataParallel(model)
        ddp(tg.ones(4, 3, device="cuda")).sum().backward()
        assert model.weight.grad.tolist() == [[4.0] * 3] * 2
    finally:
        dist.destroy_process_group()

@pytest.fixture
def text_file(tmp_path):
    p = tmp_path / "data.txt"
    p.write_text(TEXT, encoding="utf-8")
    return str(p)


def gpt_options(data, **kw):
    return dict(preset="tiny", context_length=16, data=data, steps=6, warmup_steps=2, eval_interval=3,
                eval_iters=2, dropout=0.0, lr=3e-3, **kw)


def test_resume_needs_the_same_global_batch(text_file, tmp_path, monkeypatch):
    Trainer(TrainConfig(**gpt_options(text_file, batch_size=6, out_dir=str(tmp_path / "ck"))),
            show_progress=False).run()
    with pytest.raises(CheckpointError, match="batch_size=6 on 1 process, a global batch of 6; on 1 process --batch-size must be 6"):
        Trainer.from_checkpoint(tmp_path / "ck", {"batch_size": 3})
    from tinygrad_tf.train import parallel
    monkeypatch.setattr(parallel, "launched_world_size", lambda: 4)
    with pytest.raises(CheckpointError, match="4 processes cannot share evenly"):
        Trainer.from_checkpoint(tmp_path / "ck", {"steps": 8})


# ------------------------------------------------------------------ with MPI processes
def one_process(options) -> tuple[list, dict]:
    t = Trainer(TrainConfig(**options), show_progress=False)
    history = t.run()
    return history, {k: v.numpy() for k, v in t.model.state_dict().items()}


def assert_same_run(history, weights, ref_history, ref_weights):
    assert [r["step"] for r in history] == [r["step"] for r in ref_history]
    for got, want in zip(history, ref_history):
        assert got["loss"] == pytest.approx(want["loss"], rel=LOSS_RTOL), got["step"]
        for k in ("val_loss", "val_accuracy"):
            if k in want:
                assert got[k] == pytest.approx(want[k], rel=LOSS_RTOL, abs=1e-6), (got["step"], k)
    assert weights.keys() == ref_weights.keys()
    worst = max(float(np.abs(weights[k] - ref_weights[k]).max()) for k in weights)
    assert worst < WEIGHT_ATOL, worst


def read_ranks(out, n):
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in range(n)]
    assert all(d["refused"] for d in ranks)                  # a finished Trainer does not train alone again
    weights = [dict(np.load(out / f"rank{r}.npz")) for r in range(n)]
    for w in weights[1:]:                                   # every rank took the same steps: bitwise equal
        assert all(np.array_equal(w[k], weights[0][k]) for k in w)
    return ranks, weights


@needs_mpi
def test_collectives_and_ddp_on_three_processes(tmp_path):
    ok(mpirun(3, sys.executable, WORKER, "collectives", tmp_path))
    check_collectives(tmp_path, 3)


@needs_mpi
def test_nccl_code_path_on_two_processes_with_the_standin(tmp_path):
    """The nccl backend (unique id through MPI, NCCL calls with device pointers) over the stand-ins: the code
    path, not a GPU run (no GPU here)."""
    ok(mpirun(2, sys.executable, WORKER, "nccl", tmp_path))
    check_collectives(tmp_path, 2, backend="nccl")


def check_collectives(out, n, backend="mpi"):
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in range(n)]
    total = sum(range(1, n + 1))
    for r, d in enumerate(ranks):
        assert (d["rank"], d["size"], d["backend"]) == (r, n, backend)
        assert d["SUM"] == [total, -total] and d["AVG"] == pytest.approx([total / n, -total / n])
        assert d["MAX"] == [n, -1] and d["MIN"] == [1, -n]
        assert d["PRODUCT"] == [float(np.prod(range(1, n + 1))), float(np.prod([-k for k in range(1, n + 1)]))]
        assert d["int64"] == [total, n * (n - 1)] and d["float16"] == [total / 2] * 3
        assert d["strided"] == [total * v for v in (1, 5, 9)]
        assert d["async"] == [True, True, [sum(range(n))] * 2]
        assert d["broadcast"] == [n - 1, 10 * (n - 1)]
        assert d["all_gather"] == [[k, k * k] for k in range(n)]
        assert d["objects"] == [{"from": 0, "text": ""}, None]
        assert d["gathered"] == [["rank", k, list(range(k))] for k in range(n)]
        assert d["weights"] == ranks[0]["weights"] and d["buckets"] >= 2
        assert d["state_keys"] == ["module.0.bias", "module.0.weight"]
        assert d["stats"]["syncs"] == 2 and d["stats"]["allreduces"] == 2 * d["buckets"]
        assert d["sampler"] == (list(range(10)) + [0, 1, 2][:(-10) % n])[r::n]     # padded to a multiple of n
    # DDP's averaged gradient = one process's gradient of the mean over all ranks' rows
    model = tg.nn.Sequential(tg.nn.Linear(3, 5), tg.nn.Tanh(), tg.nn.Linear(5, 2))
    for p, w in zip(model.parameters(), ranks[0]["weights"]):
        p.data[...] = np.asarray(w, dtype=np.float32)
    xs = tg.tensor(np.asarray(ranks[0]["xs"], dtype=np.float32))
    rows = 3
    sum(model(xs[rows * r:rows * r + rows]).pow(2).mean() for r in range(n)).backward()
    for d in ranks:
        for p, g in zip(model.parameters(), d["grads"]):
            np.testing.assert_allclose(np.asarray(g), p.grad.numpy() / n, rtol=1e-5, atol=1e-7)
    model.zero_grad()
    model(xs).pow(2).sum().backward()                       # no_sync + one synced micro-batch = everything / n
    for r, d in enumerate(ranks):
        for p, g in zip(model.parameters(), d["accumulated"]):
            np.testing.assert_allclose(np.asarray(g), p.grad.numpy() / n, rtol=1e-5, atol=1e-6)
        assert d["local_after_no_sync"] != ranks[(r + 1) % n]["local_after_no_sync"]   # no_sync: not reduced
        assert d["unused"] == ranks[0]["unused"] and d["unused"][1] is not None   # used by rank 0 only


@needs_mpi
def test_two_processes_via_the_cli_equal_one_process(text_file, tmp_path):
    """`mpirun -n 2 tinygrad-tf train` at --batch-size 3 = one process at 6: the lesson's command."""
    opts = gpt_options(text_file)
    flags = ["--preset", "tiny", "--context", "16", "--data", text_file, "--steps", "6", "--warmup", "2",
             "--eval-interval", "3", "--eval-iters", "2", "--dropout", "0", "--lr", "3e-3", "--quiet"]
    ok(mpirun(2, sys.executable, "-m", "tinygrad_tf", "train", *flags, "--batch-size", "3", "--out", tmp_path / "dp"))
    assert sorted(os.listdir(tmp_path)) == ["data.txt", "dp"]               # rank 0 alone wrote
    saved = load_checkpoint(tmp_path / "dp")
    assert (saved.trainer_state["world_size"], saved.trainer_state["global_batch_size"]) == (2, 6)
    ref_history, ref_weights = one_process(dict(opts, batch_size=6))
    weights = {k: v.numpy() for k, v in saved.model.state_dict().items()}
    assert_same_run(saved.trainer_state["history"], weights, ref_history, ref_weights)


@needs_mpi
@pytest.mark.parametrize("family", ["gpt", "bert"])
def test_three_processes_equal_one_process(family, text_file, tmp_path):
    """N=3; BERT's masked LM gives each rank another number of masked positions, so this also checks that a
    rank's share is weighted by its loss terms (a mean of the ranks' means would differ)."""
    opts = gpt_options(text_file) if family == "gpt" else dict(
        family="bert", data=text_file, steps=5, warmup_steps=1, eval_interval=5, eval_iters=1, lr=3e-3,
        context_length=16, d_model=16, n_layer=1, n_head=2, vocab_size=100, dropout=0.0)
    ok(mpirun(3, sys.executable, WORKER, "train", tmp_path, json.dumps(dict(opts, batch_size=2))))
    ranks, weights = read_ranks(tmp_path, 3)
    ref_history, ref_weights = one_process(dict(opts, batch_size=6))
    assert ranks[0]["global_batch"] == 6
    assert_same_run(ranks[0]["history"], weights[0], ref_history, ref_weights)


@needs_mpi
def test_resume_on_another_number_of_processes(text_file, tmp_path):
    """3 steps on 2 processes (batch 3 each), then on to step 6 on 3 processes (batch 2 each, the same global 6):
    the same run as 6 steps in one process at batch 6."""
    opts = gpt_options(text_file)
    ck = tmp_path / "ck"
    ok(mpirun(2, sys.executable, WORKER, "train", tmp_path, json.dumps(dict(opts, batch_size=3, steps=3,
                                                                          out_dir=str(ck)))))
    ok(mpirun(3, sys.executable, WORKER, "train", tmp_path, json.dumps({"resume": str(ck), "steps": 6})))
    ranks, weights = read_ranks(tmp_path, 3)
    assert load_checkpoint(ck).trainer_state["world_size"] == 3
    ref_history, ref_weights = one_process(dict(opts, batch_size=6))
    assert_same_run(ranks[0]["history"], weights[0], ref_history, ref_weights)


def rank_pid(parent: int, rank: int) -> int | None:
    """The pid of mpirun's child with OMPI_COMM_WORLD_RANK=rank (read from /proc)."""
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            if int((p / "stat").read_text().rsplit(")", 1)[1].split()[1]) != parent:
                continue
            env = (p / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if f"OMPI_COMM_WORLD_RANK={rank}".encode() in env:
            return int(p.name)
    return None


@needs_mpi
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the rank's pid through /proc (Linux)")
def test_a_killed_rank_ends_the_job_and_the_checkpoint_resumes(text_file, tmp_path):
    ck = tmp_path / "ck"
    cmd = ["mpirun", "-n", "2", "--oversubscribe", sys.executable, "-m", "tinygrad_tf", "train", "--preset", "tiny",
           "--context", "16", "--data", text_file, "--batch-size", "2", "--steps", "100000", "--eval-interval",
           "100000", "--checkpoint-interval", "5", "--out", str(ck), "--quiet"]
    job = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=mpi_env())
    try:
        deadline = time.monotonic() + 90
        while not (ck / "trainer_state.json").exists() and time.monotonic() < deadline and job.poll() is None:
            time.sleep(0.2)
        assert (ck / "trainer_state.json").exists(), job.communicate(timeout=30)[0]
        pid = rank_pid(job.pid, 1)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        out, _ = job.communicate(timeout=60)
        took = time.monotonic() - killed
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode != 0 and took < 20, (took, out[-2000:])
    assert "rank 1" in out, out[-2000:]
    step = load_checkpoint(ck).trainer_state["step"]                 # whole, and it resumes (on one process)
    resumed = Trainer.from_checkpoint(ck, {"steps": step + 2}, show_progress=False)
    assert resumed.config.batch_size == 4 and len(resumed.run()) == step + 2


@needs_mpi
def test_a_raising_rank_ends_the_job_naming_it(tmp_path):
    start = time.monotonic()
    r = mpirun(2, sys.executable, WORKER, "raise", tmp_path, timeout=120)
    took = time.monotonic() - start
    assert r.returncode != 0 and took < 60
    assert "rank 1 of 2: RuntimeError: boom on purpose" in r.stderr + r.stdout, r.stderr[-2000:]
    assert load_checkpoint(tmp_path / "ck").trainer_state["step"] >= 2
