"""Elementwise and row-by-row NumPy work on all cores (the CPU backend).

A many-pass NumPy formula on a big array is slow for two reasons: every pass (GELU makes ~10) allocates
a fresh temporary as big as the array (fresh pages: the kernel zeroes them, page fault by page fault)
and streams it through memory; and NumPy runs every ufunc on one core. Both go away when the array is
cut into chunks of ~64K values: a chunk's temporaries are small (reused by the allocator, hot in L2),
and as NumPy lets go of the GIL inside a ufunc, the chunks can run side by side: the calling thread and
``threads - 1`` helpers from a small pool take chunks one at a time until none is left.
The formula itself stays the plain NumPy function -- the single call is the reference:

    y = for_rows(fn, xp, x, *args)           # == fn(xp, x, *args), computed chunk by chunk of x's rows

``fn`` must treat rows independently (elementwise, or a reduction over the last ``row`` axes: softmax,
layer norm). Arrays among ``args`` with x's leading shape are cut in the same places (a per-row
statistic of shape (..., 1) too); anything else (a weight row, a number) goes to every chunk whole
(an array that does neither, e.g. one broadcast along x's rows, sends the call to the single call).
Rows are computed by the same NumPy calls in the same order, so the result equals the single call's
bit for bit.

Chunks only for NumPy arrays of at least ``MIN_SIZE`` values (with one thread they run one after the
other, in the calling thread); CuPy arrays, Tensors (a backward with create_graph=True, where ``xp`` is
the Tensor namespace) and small arrays take the single call.

Thread count: ``set_num_threads(n)``; by default ``TINYGRAD_TF_NUM_THREADS``, else
``OMP_NUM_THREADS``, else every core (``os.cpu_count()``), as NumPy's BLAS and PyTorch do.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MIN_SIZE = 1 << 20         # values (4 MiB of float32): below, one call -- its temporaries stay in the cache and
                           # the allocator hands the same blocks back, so chunks only add their overhead (measured
                           # 10-40% slower for softmax, layer norm and AdamW at 0.5M values; see docs/design.md)
CHUNK = 1 << 16            # values per chunk: 256 KiB of float32, so a formula's temporaries stay in L2

_threads: int | None = None
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _default_threads() -> int:
    for var in ("TINYGRAD_TF_NUM_THREADS", "OMP_NUM_THREADS"):
        v = os.environ.get(var, "").strip()
        if v.isdigit() and int(v) > 0:
            return int(v)
    return os.cpu_count() or 1


def get_num_threads() -> int:
    """Threads the elementwise CPU work uses (see the module docstring for the default)."""
    global _threads
    if _threads is None:
        _threads = _default_threads()
    return _threads


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for elementwise CPU work from now on (1: every op is one NumPy call)."""
    global _threads, _pool
    if int(n) < 1:
        raise ValueError(f"set_num_threads: need at least 1 thread, got {n}")
    with _pool_lock:
        _threads = int(n)
        if _pool is not None and _pool._max_workers != max(1, _threads - 1):
            _pool.shutdown(wait=True)
            _pool = None


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=max(1, get_num_threads() - 1), thread_name_prefix="tinygrad_tf")
        return _pool


def in_chunks(xp, x) -> bool:
    """Will ``for_rows`` cut ``x`` into chunks (a NumPy array of at least MIN_SIZE values)?"""
    return xp is np and type(x) is np.ndarray and x.size >= MIN_SIZE


def for_rows(fn, xp, x, *args, row=1):
    """``fn(xp, x, *args)``, run chunk by chunk over the rows of ``x`` (on the thread pool) when ``in_chunks``;
    a row is the last ``row`` axes (0: single values). ``fn`` returns an array or a tuple of arrays (and
    Nones), each with one entry per row of its chunk (``(rows, ...)``, like x's rows or a keepdims statistic)."""
    if not in_chunks(xp, x) or x.ndim < row:
        return fn(xp, x, *args)
    lead = x.shape[:x.ndim - row]
    n = math.prod(lead)
    if n < 2:
        return fn(xp, x, *args)

    def rows_of(a):          # (*lead, *tail) -> (n, *tail); other arguments go whole to every chunk
        if type(a) is np.ndarray and a.ndim == x.ndim and a.shape[:len(lead)] == lead:
            return a.reshape(n, *a.shape[len(lead):])
        return a

    x2, args2 = rows_of(x), [rows_of(a) for a in args]
    if any(hasattr(a, "ndim") and a.ndim > row for a, a2 in zip(args, args2) if a2 is a):
        return fn(xp, x, *args)          # an array that would not broadcast against one row alone
    per = max(1, CHUNK // max(1, x.size // n))                 # rows per chunk
    per = min(per, -(-n // get_num_threads()))                 # at least one chunk per thread
    bounds = [(i, min(i + per, n)) for i in range(0, n, per)]
    outs, lock = [], threading.Lock()

    def work(lo_hi):
        lo, hi = lo_hi
        part = fn(np, x2[lo:hi], *_cut(args2, args, lo, hi))
        single = not isinstance(part, tuple)
        parts = (part,) if single else part
        with lock:
            if not outs:                                      # the first chunk done sets the outputs' shapes
                outs.append(single)
                outs.append([None if p is None else np.empty((n, *p.shape[1:]), p.dtype) for p in parts])
        for o, p in zip(outs[1], parts):
            if o is not None:
                o[lo:hi] = p

    todo, take = iter(bounds), threading.Lock()

    def drain():                       # take the next chunk until none is left
        while True:
            with take:
                b = next(todo, None)
            if b is None:
                return
            work(b)
    # the calling thread works too, beside threads - 1 helpers: a helper that the OS puts aside (another
    # process wants the core) holds up at most the one chunk it has in hand
    helpers = [_get_pool().submit(drain) for _ in range(get_num_threads() - 1)]
    drain()
    for h in helpers:
        h.result()
    single, full = outs
    full = [None if o is None else o.reshape(*lead, *o.shape[1:]) for o in full]
    return full[0] if single else tuple(full)


def _cut(args2, args, lo, hi):
    """The chunk [lo, hi) of every argument that was cut into rows (``rows_of`` gave a new view)."""
    return [a2[lo:hi] if a2 is not a else a for a2, a in zip(args2, args)]


def by_rows(fn, row=1):
    """``fn`` as a function that runs ``for_rows`` (same signature ``fn(xp, x, *args)``): for ``ctx.derived``,
    whose recipe then re-runs it on Tensors for create_graph -- where it is the single call to ``fn``."""
    def chunked(xp, x, *args):
        return for_rows(fn, xp, x, *args, row=row)
    chunked.__name__ = chunked.__qualname__ = f"{fn.__name__}_by_rows"
    chunked.__doc__ = f"{fn.__name__}, chunk by chunk of rows on all cores (parallel_cpu.for_rows)."
    return chunked
