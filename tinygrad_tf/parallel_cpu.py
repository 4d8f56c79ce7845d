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

import numpy as np

MIN_SIZE = 1 << 20         # values (4 MiB of float32): below, one call -- its temporaries stay in the cache and
                           # the allocator hands the same blocks back, so chunks only add their overhead (measured
                           # 10-40% slower for softmax, layer norm and AdamW at 0.5M values; see docs/design.md)
CHUNK = 1 << 16            # values per chunk, one thread: 256 KiB of float32, so a formula's temporaries stay in L2
SHARED_CHUNK = 1 << 18     # values per chunk when threads share the work: fewer, larger chunks, as every NumPy call
                           # of a chunk takes the GIL (GELU makes ~18): measured at 2 threads, GELU on 3M values
                           # 4.4 -> 3.3 ms, layer norm on 4M 4.0 -> 2.0 ms; at 1 thread 64K stays the best
LIGHT_MIN = 3 << 18        # values: over_rows cuts a light loop only from here (measured at 2 threads on (2048, 256),
                           # 512K values: layer norm's statistics 0.097 ms cut, 0.062 whole; its scale and shift 0.085
                           # and 0.057; a product 0.094 and 0.063; at 768K even; from 1.5M the cut ones win)
SPLIT_GEMM = 1 << 24       # multiply-adds: a matrix product at least this big is cut into row blocks (matmul); handing
                           # parts to the pool costs ~30 us: below this (a (128, 128) @ (128, 512) took 144 us cut,
                           # 131 us on one BLAS thread) the product is one call, on one BLAS thread
HEADS_MIN = 1 << 18        # for_heads: scores from which attention is cut into parts (its products are then run
                           # by the pool, one BLAS thread each: see matmul for why that matters beyond speed)
HEADS_PART = 1 << 20       # for_heads: attention scores per part, a few heads (fewer, larger parts than CHUNK's:
                           # a part makes ~15 NumPy calls per block of queries, and the threads share one GIL;
                           # measured on attention at T 128-256: 4x smaller parts were 1.3-1.5x slower)

_threads: int | None = None
_pool: _Helpers | None = None
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
        _threads, old = int(n), _pool
        if old is not None and old.n != max(1, _threads - 1):
            _pool = None        # the next call makes new helpers; the old ones end once no call is using them
            old.retire()        # (not waiting for that: this may be a call's own helper, which cannot wait for itself)


class _Helper:
    """One helper thread, parked on its ``go`` lock until it is handed a function, which it runs; then it
    releases ``done``. (Two plain locks: a cut call costs ~40 us less than with an executor's futures and
    queue, measured on a (2048, 256) @ (256, 256) product cut in two: 1157 -> 1117 us, against ~1060 us for a
    half alone -- the rest is the OS waking the helper, then the caller.)"""

    def __init__(self, name):
        self.go, self.done = threading.Lock(), threading.Lock()
        self.go.acquire()
        self.done.acquire()
        self.fn, self.error = None, None
        threading.Thread(target=self._loop, name=name, daemon=True).start()

    def _loop(self):
        while True:
            self.go.acquire()
            fn, self.fn, self.error = self.fn, None, None      # (taken: what fn holds is not kept after the call)
            if fn is None:                          # retired
                return
            try:
                fn()
            except BaseException as e:  # noqa: BLE001  (handed back to the caller, which raises it)
                self.error = e
            del fn
            self.done.release()


class _Helpers:
    """The pool: ``n`` helpers, used by one call at a time (``busy``); a call that finds them busy (another
    thread's) runs its items alone."""

    def __init__(self, n):
        self.n, self.busy, self.retired = n, threading.Lock(), False
        self.helpers = [_Helper(f"tinygrad_tf_{i}") for i in range(n)]

    def take(self):
        return self if self.busy.acquire(blocking=False) else None

    def give_back(self):
        self.busy.release()
        if self.retired:
            self._stop()

    def retire(self):
        self.retired = True
        self._stop()

    def _stop(self):
        if self.busy.acquire(blocking=False):        # (whoever gets here second finds it taken: stops once)
            for h in self.helpers:
                h.fn = None
                h.go.release()


def _helpers():
    """The pool's helpers for this call, or None when another call is using them (made or replaced under the
    lock, so that set_num_threads in another thread cannot retire them between taking and using them)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = _Helpers(max(1, get_num_threads() - 1))
        return _pool.take()


# ---------------------------------------------------------------- the BLAS's own threads
_OPENBLAS = ("scipy_openblas{}_num_threads64_", "openblas{}_num_threads64_", "openblas{}_num_threads",
             "scipy_openblas{}_num_threads")
_blas: tuple | None = None        # (get, set) of NumPy's OpenBLAS thread count, once found; () if not found


def _find_blas() -> tuple:
    """OpenBLAS's get/set thread-count functions, from the libraries this process has loaded (Linux's
    /proc/self/maps; NumPy's wheels bundle OpenBLAS); threadpoolctl, when installed, anywhere else."""
    import ctypes
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f if "blas" in line.lower() and "/" in line})
    except OSError:
        paths = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _OPENBLAS:
            get, set_ = getattr(lib, name.format("_get"), None), getattr(lib, name.format("_set"), None)
            if get is not None and set_ is not None:
                return get, lambda n, set_=set_: set_(ctypes.c_int(n))
    try:
        from threadpoolctl import ThreadpoolController
        libs = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
    except ImportError:
        libs = []
    if libs:
        return libs[0].get_num_threads, lambda n: [c.set_num_threads(n) for c in libs]
    return ()


def set_blas_threads(n: int) -> int | None:
    """Ask the BLAS under NumPy for ``n`` threads; returns the count it had (None: no BLAS found to ask,
    e.g. a BLAS other than OpenBLAS without threadpoolctl installed -- then nothing changes)."""
    global _blas
    if _blas is None:
        _blas = _find_blas()
    if not _blas:
        return None
    before = _blas[0]()
    if before != n:
        _blas[1](n)
    return before


_pinned = [0, None]               # callers that hold the BLAS at one thread now, and its count before the first
_pin_lock = threading.Lock()


def _pin_blas() -> None:
    """One BLAS thread until the matching ``_unpin_blas``. Counted: calls from several threads overlap, and
    only the last one out puts back the count the first one found."""
    with _pin_lock:
        if _pinned[0] == 0:
            _pinned[1] = set_blas_threads(1)
        _pinned[0] += 1


def _unpin_blas() -> None:
    with _pin_lock:
        _pinned[0] -= 1
        if _pinned[0] == 0 and _pinned[1] not in (None, 1):
            set_blas_threads(_pinned[1])


def _after_fork_in_child() -> None:
    """A forked child has none of the parent's pool threads (nor its lock holders): start from no pool, or the
    child's first cut call would wait forever for helpers that do not exist."""
    global _pool, _pool_lock, _pin_lock
    _pool, _pool_lock, _pin_lock = None, threading.Lock(), threading.Lock()
    _pinned[:] = [0, None]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# ---------------------------------------------------------------- chunks on the pool
def in_chunks(xp, x) -> bool:
    """Will ``for_rows`` cut ``x`` into chunks (a NumPy array of at least MIN_SIZE values; a quarter of that when
    threads share the chunks: then even two chunks halve the time -- layer norm on (2048, 384), forward and
    backward, measured 2.1 -> 1.9 ms at 2 threads)?"""
    return xp is np and type(x) is np.ndarray and _worth_cutting(x.size)


def _worth_cutting(size) -> bool:
    return size >= (MIN_SIZE if get_num_threads() == 1 else MIN_SIZE // 4)


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
    parts = _row_blocks(n, x.size)
    single, full = run_parts(lambda lo, hi: fn(np, x2[lo:hi], *_cut(args2, args, lo, hi)), parts,
                             lambda p: (n, *p.shape[1:]), lambda o, lo, hi: o[lo:hi])
    full = [None if o is None else o.reshape(*lead, *o.shape[1:]) for o in full]
    return full[0] if single else tuple(full)


def _row_blocks(n, size):
    """[(lo, hi)]: n rows (of ``size`` values in all) in chunks of about CHUNK values (SHARED_CHUNK when threads
    share them), at least one chunk per thread."""
    chunk = CHUNK if get_num_threads() == 1 else SHARED_CHUNK
    per = max(1, chunk // max(1, size // n))                   # rows per chunk
    per = min(per, -(-n // get_num_threads()))                 # at least one chunk per thread
    return [(lo, min(lo + per, n)) for lo in range(0, n, per)]


def over_rows(work, n, size, light=False):
    """``work(lo, hi)`` for the chunks [lo, hi) of n rows (``size`` values in all), on the calling thread and the
    pool's helpers, cut where ``for_rows`` would cut an array of that size (else one call, ``work(0, n)``). For a
    compiled loop (kernels_cpu) that writes each chunk of rows straight into whole outputs allocated before:
    nothing to gather afterwards. ``light``: a loop of a few operations per value (a norm, a scale and shift, a
    product), which runs faster whole below LIGHT_MIN values than cut and handed out."""
    if n < 2 or not _worth_cutting(size) or (light and size < LIGHT_MIN):
        work(0, n)
        return
    _share(lambda part: work(*part), _row_blocks(n, size))


def multiply(a, b):
    """``a * b`` for two NumPy arrays of one shape and dtype, C-contiguous, chunk by chunk on all cores, each
    chunk written straight into the result (else the plain ``a * b``)."""
    if not (type(a) is np.ndarray and type(b) is np.ndarray and a.shape == b.shape and a.dtype == b.dtype
            and a.flags.c_contiguous and b.flags.c_contiguous):
        return a * b
    out = np.empty_like(a)
    a1, b1, o1 = a.reshape(-1), b.reshape(-1), out.reshape(-1)
    over_rows(lambda lo, hi: np.multiply(a1[lo:hi], b1[lo:hi], out=o1[lo:hi]), a.size, a.size, light=True)
    return out


def run_parts(compute, parts, full_shape, where, blas=False):
    """Run ``compute(*part)`` for every part, on the calling thread and ``threads - 1`` pool helpers, and
    gather what each returns (an array or a tuple of arrays and Nones) into whole arrays: output j of a part
    is written to ``where(out_j, *part)`` of ``out_j``, an array of shape ``full_shape(first part's output j)``.
    Returns (single, outs): whether compute returned one array, and the whole outputs.

    ``blas``: ``compute`` runs matrix products. Each part then gets one BLAS thread (while the parts run side
    by side): two threads that each ask the BLAS for every core fight over them (measured: attention's
    products 1.5x slower than with one BLAS thread per part)."""
    outs, lock = [], threading.Lock()

    def work(part):
        out = compute(*part)
        single = not isinstance(out, tuple)
        outs_part = (out,) if single else out
        with lock:
            if not outs:                                      # the first part done sets the outputs' shapes
                outs.append(single)
                outs.append([None if o is None else np.empty(full_shape(o), o.dtype) for o in outs_part])
        for o, p in zip(outs[1], outs_part):
            if o is not None:
                where(o, *part)[...] = p

    _share(work, parts, blas)
    return outs[0], outs[1]


_inside = threading.local()      # .busy: this thread is running a part (a nested call runs its parts in place)


def _share(work, items, blas=False):
    """``work(item)`` for every item: the calling thread and ``threads - 1`` pool helpers take items one at
    a time until none is left (a helper the OS puts aside holds up at most the item it has in hand). From
    inside an item (a for_rows in an optimizer's update) the items run here, one after the other.
    If an item raises, no item starts after it, and the error comes back once every item under way is done."""
    threads = 1 if getattr(_inside, "busy", False) else get_num_threads()
    if threads == 1:
        for item in items:
            work(item)
        return
    todo, take, failed = iter(items), threading.Lock(), []

    def drain():
        _inside.busy = True
        try:
            while True:
                with take:
                    item = None if failed else next(todo, None)
                if item is None:
                    return
                try:
                    work(item)
                except BaseException:
                    failed.append(True)          # the others take no more items
                    raise
        finally:
            _inside.busy = False
    if blas:
        _pin_blas()
    try:
        pool = _helpers()
        if pool is None:                         # another thread's call has the helpers: this one runs alone
            drain()
            return
        helpers = pool.helpers[:threads - 1]
        for h in helpers:
            h.fn = drain
            h.go.release()
        try:
            drain()
        finally:
            for h in helpers:                    # (an error here or in a helper: the others stop first)
                h.done.acquire()
            pool.give_back()
        for h in helpers:
            if h.error is not None:
                error, h.error = h.error, None
                raise error
    finally:
        if blas:
            _unpin_blas()


def matmul(a, b, add=None):
    """``a @ b`` (``+ add``, a row broadcast over the result) for 2-D NumPy arrays, with ``a``'s rows cut into one
    block per thread and the blocks multiplied side by side, one BLAS thread each (as attention's parts).

    The BLAS would thread one product itself, as fast (measured: (2048, 384) @ (384, 1536) in 9.5 ms both
    ways at 2 threads) -- but OpenBLAS's helper threads then spin for a while after every product, waiting
    for the next, and take the cores from whatever runs next: GELU, a layer norm, attention's parts, or
    PyTorch in the same process (a GPT step's elementwise work measured ~2x slower right after an OpenBLAS
    product). So the engine never asks OpenBLAS for its threads: a product of at least SPLIT_GEMM
    multiply-adds is cut into row blocks on the pool, a smaller one runs on one BLAS thread
    (``one_blas_thread``). CuPy arrays and Tensors (create_graph) take the plain ``@``.

    One row (a vector times a matrix: a decoding step with batch 1) is the exception: reading ``b`` is all
    the work, the BLAS shares it out with far less overhead than the pool (~3 us against ~40 us), and one
    thread would take twice as long (measured at 2 threads: (1, 768) @ (768, 3072) in 52 us, 96 us on one). Its
    last bits can then depend on the BLAS's thread count at the time (~1e-6 apart at 1 and 2 threads, where
    OpenBLAS cuts the columns differently), as a PyTorch product's can on torch's thread count."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray or a.ndim != 2 or b.ndim != 2 or \
            (a.shape[0] == 1 and not getattr(_inside, "busy", False)):
        out = a @ b
    elif not _worth_blocks(a, b):
        with one_blas_thread(a.shape[0] * a.shape[1] * b.shape[1]):
            out = a @ b
    else:
        n, threads = a.shape[0], get_num_threads()
        out = np.empty((n, b.shape[1]), np.result_type(a, b))

        def block(lo_hi):
            lo, hi = lo_hi
            np.matmul(a[lo:hi], b, out=out[lo:hi])
            if add is not None:
                out[lo:hi] += add
        _share(block, [(i * n // threads, (i + 1) * n // threads) for i in range(threads)], blas=True)
        return out
    if add is not None:
        out += add
    return out


def matmuls(*pairs) -> tuple:
    """``tuple(a @ b for a, b in pairs)`` for independent products (Linear's two gradients), their row blocks
    handed to the pool in one go, ``threads`` blocks in all: the products run side by side, one BLAS thread
    each, rather than one after the other, each cut in two with a wait at its end (measured at 2 threads,
    dL/dx and dL/dW of (2048, 384) -> 1536: 19.7 -> 18.8 ms). Products that ``matmul`` would not cut go to
    ``matmul`` one by one."""
    threads = get_num_threads()
    if len(pairs) < 2 or not all(type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == b.ndim == 2
                                 and _worth_blocks(a, b) for a, b in pairs):
        return tuple(matmul(a, b) for a, b in pairs)
    outs = [np.empty((a.shape[0], b.shape[1]), np.result_type(a, b)) for a, b in pairs]
    per = max(1, threads // len(pairs))                         # row blocks per product
    items = [(i, j * len(a) // per, (j + 1) * len(a) // per) for i, (a, _) in enumerate(pairs) for j in range(per)]

    def block(item):
        i, lo, hi = item
        np.matmul(pairs[i][0][lo:hi], pairs[i][1], out=outs[i][lo:hi])
    _share(block, items, blas=True)
    return tuple(outs)


def _worth_blocks(a, b) -> bool:
    """Is the 2-D product a @ b worth cutting into row blocks on the pool: at least SPLIT_GEMM multiply-adds, two
    rows per thread, more than one thread, and not already inside a part?"""
    threads = get_num_threads()
    return (a.shape[0] * a.shape[1] * b.shape[1] >= SPLIT_GEMM and threads > 1 and a.shape[0] >= 2 * threads
            and not getattr(_inside, "busy", False))


class one_blas_thread:  # noqa: N801  (used as a context manager, like a function)
    """``with one_blas_thread(work):`` the products inside run on one BLAS thread (then the BLAS's count is put
    back), when the pool has more than one thread and ``work`` (multiply-adds) is enough for OpenBLAS to
    wake its helpers (2^18; below, it never does, and asking costs ~1 us): see ``matmul`` for why."""

    def __init__(self, work):
        self.wanted = work >= 1 << 18 and get_num_threads() > 1 and not getattr(_inside, "busy", False)

    def __enter__(self):
        if self.wanted:
            _pin_blas()

    def __exit__(self, *exc):
        if self.wanted:
            _unpin_blas()


def column_sums(xp, g):
    """``xp.sum(g, axis=0)`` for a 2-D array (a bias's gradient: g summed over the rows). A NumPy float array
    takes the product ones @ g on one BLAS thread instead: a matrix-vector product streams g once, in vector
    registers (measured on float32 at 2 threads: 27 vs 47 us on (2048, 256), 93 vs 111 us on (2048, 1024)).
    Its last bits can differ from NumPy's sum's: the additions come in another order."""
    if type(g) is not np.ndarray or g.ndim != 2 or g.dtype not in (np.float32, np.float64):
        return xp.sum(g, axis=0)
    with one_blas_thread(g.size):
        return np.ones(g.shape[0], g.dtype) @ g


def each_on_all_cores(fn, items) -> list:
    """``[fn(item) for item in items]``, the items shared out over all cores (``_share``): for independent
    pieces of NumPy work, each too small to cut (the optimizer's update of each parameter)."""
    out = [None] * len(items)

    def work(i):
        out[i] = fn(items[i])
    _share(work, range(len(items)))
    return out


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


def for_heads(fn, xp, *args, work, out=None):
    """``fn(xp, *args, out=out)`` for attention's arrays, run a few (batch, head) pairs at a time on all cores.

    ``args[0]`` is (B, H, T, d); every other array among ``args`` is (B, H, x, y) or broadcasts to it (a (T, S)
    mask, a (1, H, T, S) bias) and is cut the same way; anything else goes whole to every part. A part is a
    few heads of one batch item, or (where a batch item's heads are fewer scores than HEADS_PART) a few
    whole batch items. ``out``: the whole results, (B, H, ...) arrays (and Nones) made by the caller, which
    ``fn`` writes into -- each part into its (batch, head) slices of them, so nothing is gathered afterwards;
    returned. ``work``: the values one call's formula touches (B*H*T*S for attention's scores): it decides
    whether to cut at all (HEADS_MIN) and how many heads go in a part (HEADS_PART). The parts' products and
    softmaxes run side by side (one BLAS thread each), on arrays a few times smaller. CuPy arrays, Tensors
    (create_graph), calls without ``out`` and arrays that would not cut this way take the single call."""
    q = args[0]
    if out is None or xp is not np or type(q) is not np.ndarray or q.ndim != 4:
        return fn(xp, *args, out=out)
    if work < HEADS_MIN:                                       # one call, its products on one BLAS thread
        with one_blas_thread(work * q.shape[-1]):
            return fn(xp, *args, out=out)
    b_, h_ = q.shape[:2]
    for a in args:
        if getattr(a, "ndim", 0) and (type(a) is not np.ndarray or a.ndim > 4 or any(
                n not in (1, full) for n, full in zip(_as_4d(a).shape[:2], (b_, h_)))):
            return fn(xp, *args, out=out)
    threads = get_num_threads()
    per_head = max(1, work // (b_ * h_))                       # scores of one head
    heads = min(h_, max(1, HEADS_PART // per_head), max(1, b_ * h_ // threads))       # heads per part
    items = 1 if heads < h_ else min(max(1, HEADS_PART // (per_head * h_)), max(1, b_ // threads))  # batch items
    parts = [(b, min(b + items, b_), h0, min(h0 + heads, h_))
             for b in range(0, b_, items) for h0 in range(0, h_, heads)]
    _share(lambda part: fn(np, *(_heads_of(a, *part) for a in args), out=tuple(_heads_of(o, *part) for o in out)),
           parts, blas=True)
    return out


def heads_outside(shape, dtype):
    """An empty (B, H, T, d) array laid out in memory as (B, T, H, d): the heads of a position side by side, as
    the (B, T, H * d) activations they came from and go back to -- so merging the heads of attention's output
    (and splitting its q/k/v gradients back) is a free reshape instead of a copy. Other shapes: np.empty."""
    if len(shape) != 4:
        return np.empty(shape, dtype)
    b, h, t, d = shape
    return np.empty((b, t, h, d), dtype).transpose(0, 2, 1, 3)


def _as_4d(a):
    return a.reshape((1,) * (4 - a.ndim) + a.shape) if a.ndim < 4 else a


def _heads_of(a, b0, b1, h0, h1):
    """Batch items b0:b1, heads h0:h1 of ``a`` ((b, h, x, y); an axis along which ``a`` broadcasts stays 1)."""
    if not getattr(a, "ndim", 0):                # a number (NumPy's too), None, a tuple: whole
        return a
    a = _as_4d(a)
    return a[slice(b0, b1) if a.shape[0] > 1 else slice(None), slice(h0, h1) if a.shape[1] > 1 else slice(None)]
