"""Timing helpers shared by the benchmarks (tinygrad_tf vs PyTorch on the CPU).

Rules that make the numbers honest on a small, shared machine:

1. **Every core by default, and the same thread count on both sides.** A user runs with the default
   thread count -- all cores (``os.cpu_count()``) for NumPy's BLAS, PyTorch and tinygrad_tf's
   elementwise pool (tinygrad_tf/parallel_cpu.py) -- so that is the headline column. NumPy's BLAS
   (OpenBLAS here) sizes its pool from the environment *when it is loaded*, so
   ``configure_threads()`` must run before ``import numpy``: the benchmark scripts call it first
   thing. ``set_threads(n)`` then applies a count to all three (threadpoolctl for the BLAS), so the
   same invocation also measures **one thread** (the second column: ``thread_columns``).
2. **Interleave, then take medians.** ``interleaved()`` alternates the contenders sample by sample
   (and flips their order every round), so a burst of load from another process hits both alike and
   the *ratio* stays meaningful even when the absolute times wander.
3. **Wall time** (what a user waits for; CPU time would add the threads up). ``--clock cpu`` counts the
   process's CPU time instead: robust to other processes on a shared machine, but only meaningful with
   one thread.

Nothing here imports numpy or torch at module level (see rule 1).
"""

from __future__ import annotations

import datetime
import gc
import os
import platform
import statistics
import sys
import time

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
DEFAULT_THREADS = os.cpu_count() or 1


def configure_threads(argv=None) -> int:
    """Read ``--threads N`` (default: every core) from argv and export it to every BLAS/OpenMP variable. Call
    before numpy is imported."""
    argv = sys.argv[1:] if argv is None else argv
    n = DEFAULT_THREADS
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            n = int(argv[i + 1])
        elif a.startswith("--threads="):
            n = int(a.split("=", 1)[1])
    if "numpy" in sys.modules:
        print("warning: numpy was imported before configure_threads(); its BLAS thread count may not follow "
              "--threads (threadpoolctl is used when installed)", file=sys.stderr)
    for var in _THREAD_VARS:
        os.environ[var] = str(n)
    return n


def pin_threads(n: int) -> dict:
    """Apply ``n`` threads (``set_threads``) and say what was set."""
    return set_threads(n)


def set_threads(n: int) -> dict:
    """Use ``n`` threads from now on in torch, numpy's BLAS (threadpoolctl, when installed) and tinygrad_tf's
    elementwise pool; returns what was set."""
    info = {"threads": n}
    try:
        import torch
        torch.set_num_threads(n)
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        info["torch_threads"] = None
    from tinygrad_tf import parallel_cpu
    parallel_cpu.set_num_threads(n)
    info["tinygrad_tf_threads"] = parallel_cpu.get_num_threads()
    try:
        import threadpoolctl
        global _LIMITER
        if _LIMITER is not None:
            _LIMITER.restore_original_limits()
        _LIMITER = threadpoolctl.threadpool_limits(limits=n)   # kept alive until the next set_threads
        pools = threadpoolctl.threadpool_info()
        info["blas_pools"] = [f"{p.get('internal_api')} {p.get('version')} ({p.get('num_threads')} threads)"
                              for p in pools]
    except ImportError:
        info["blas_pools"] = [f"threadpoolctl not installed; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}"]
    return info


def thread_columns(threads: int, one_thread: bool = True) -> list:
    """The thread counts a run measures: the headline count, then 1 (unless it is 1, or ``one_thread`` is off)."""
    return [threads] + ([1] if one_thread and threads > 1 else [])


_LIMITER = None


def peak_step_memory(fn) -> float:
    """MiB by which one call of ``fn`` raises the process's peak resident memory above what it holds now:
    Linux's peak-RSS mark is reset (``/proc/self/clear_refs``), and after the call the peak (VmHWM) is read
    against the resident size before (VmRSS). Meaningful where freed memory leaves the process (glibc with
    MALLOC_MMAP_THRESHOLD_ set, as bench_gpt's child processes run); nan where /proc is not writable."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return float("nan")
    before = _proc_status("VmRSS")
    fn()
    return (_proc_status("VmHWM") - before) / 1024


def _proc_status(key: str) -> int:
    """A kB figure from /proc/self/status (VmRSS: resident now; VmHWM: the peak since the last reset)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def machine_info() -> dict:
    """CPU model, cores, numpy/BLAS and torch versions: what docs/performance.md records with every table."""
    import numpy as np

    cpu = platform.processor() or platform.machine()
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and cpu in (platform.processor(), platform.machine()):
                    cpu = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    have = set(line.split(":", 1)[1].split())
                    flags = " ".join(f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if f in have)
    except OSError:
        pass
    blas = "unknown"
    try:
        cfg = np.show_config(mode="dicts")
        b = cfg["Build Dependencies"]["blas"]
        blas = f"{b.get('name')} {b.get('version')}"
    except Exception:  # noqa: BLE001  (show_config's layout differs across numpy versions)
        pass
    try:
        import torch
        tv = torch.__version__
    except ImportError:
        tv = None
    try:
        import scipy
        sv = scipy.__version__
    except ImportError:
        sv = None
    return {"cpu": cpu, "cpu_flags": flags, "logical_cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "numpy_blas": blas, "scipy": sv, "torch": tv,
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def device_sync(device: str = "cpu"):
    """A function that waits until the GPU has finished the work queued so far (CuPy's stream and PyTorch's),
    so a timer read after it counts the kernels, not just their launch; on the CPU it does nothing.
    GPU runs are timed in wall time (``--clock wall``): the CPU time of a process waiting on the GPU is not the
    work done."""
    if device == "cpu":
        return lambda: None
    import cupy
    import torch

    def sync():
        cupy.cuda.Device().synchronize()
        torch.cuda.synchronize()
    return sync


def gpu_info(device: str = "cpu") -> dict:
    """GPU model, CUDA and CuPy versions (what docs/performance.md records next to GPU tables)."""
    if device == "cpu":
        return {}
    import cupy
    import torch
    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    return {"gpu": name, "gpu_memory_gib": round(props["totalGlobalMem"] / 2 ** 30, 1),
            "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion(), "cupy": cupy.__version__,
            "torch_cuda": torch.version.cuda}


def default_clock(threads: int) -> str:
    """Wall time: what a user waits for (``--clock cpu`` is there for one-thread runs on a busy machine)."""
    return "wall"


def calibrate(fn, target_s: float = 0.01, max_inner: int = 10000, clock=time.perf_counter) -> int:
    """How many calls of ``fn`` make one sample of about ``target_s`` seconds (at least 1)."""
    fn()
    n = 1
    while True:
        t0 = clock()
        for _ in range(n):
            fn()
        dt = clock() - t0
        if dt >= target_s / 4 or n >= max_inner:
            break
        n *= 4
    return max(1, min(max_inner, int(round(n * target_s / max(dt, 1e-9)))))


def interleaved(fns: dict, repeats: int = 15, target_s: float = 0.01, warmup: int = 2, clock: str = "wall") -> dict:
    """Median seconds per call for each ``name -> fn``, sampled alternately.

    Each sample times ``inner`` back-to-back calls (``inner`` calibrated per fn so
    a sample lasts about ``target_s``); the contenders take turns, and the turn
    order is reversed every round. ``clock`` is "wall" or "cpu" (see the module docstring).
    Returns ``{name: {"median": s, "min": s, "iqr": s, "samples": [...]}}``.
    """
    now = CLOCKS[clock]
    names = list(fns)
    inner = {k: calibrate(fns[k], target_s, clock=now) for k in names}
    for _ in range(warmup):
        for k in names:
            fns[k]()
    samples = {k: [] for k in names}
    gc.collect()
    for r in range(repeats):
        order = names if r % 2 == 0 else names[::-1]
        for k in order:
            fn, n = fns[k], inner[k]
            t0 = now()
            for _ in range(n):
                fn()
            samples[k].append((now() - t0) / n)
    out = {}
    for k in names:
        s = sorted(samples[k])
        q = statistics.quantiles(s, n=4) if len(s) >= 4 else [s[0], s[len(s) // 2], s[-1]]
        out[k] = {"median": statistics.median(s), "min": s[0], "iqr": q[2] - q[0], "inner": inner[k], "samples": s}
    return out


def fmt_ms(s: float) -> str:
    ms = s * 1e3
    if ms < 0.1:
        return f"{ms * 1e3:.1f} µs"
    if ms < 10:
        return f"{ms:.3f} ms"
    return f"{ms:.1f} ms"


def ratio_style(r: float, target: float) -> str:
    return "green" if r <= target else ("yellow" if r <= 2 * target else "red")


def markdown_table(headers, rows) -> str:
    """A GitHub-flavoured Markdown table (first column left-aligned, the rest right-aligned)."""
    out = ["| " + " | ".join(headers) + " |",
           "|" + "|".join([" --- "] + [" ---: "] * (len(headers) - 1)) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out) + "\n"
