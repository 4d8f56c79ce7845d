"""parallel_cpu: the chunked, threaded NumPy work gives what the single call gives (bit for bit: rows are
computed by the same NumPy calls), the ops that use it match their single-call formulas, and the thread count
follows the environment and the setter."""

import numpy as np
import pytest

import tinygrad_tf as tg
from tinygrad_tf import kernels_cpu as K
from tinygrad_tf import nn_ops as N
from tinygrad_tf import ops as O
from tinygrad_tf import optim
from tinygrad_tf import parallel_cpu as P
from tinygrad_tf import reduce_ops as R


@pytest.fixture(autouse=True)
def formulas():
    """The NumPy formulas (the compiled loops that replace some of them have their own tests, with the same
    chunking: tests/test_kernels_cpu.py)."""
    before = K.set_enabled(False)
    yield
    K.set_enabled(before)


@pytest.fixture(params=[1, 2, 3])
def threads(request, monkeypatch):
    """The thread count, with the chunked path taken from 16K values in chunks of 4K (small test arrays; many
    chunks, most of them ending mid-way through nothing in particular)."""
    monkeypatch.setattr(P, "MIN_SIZE", 1 << 14)
    monkeypatch.setattr(P, "CHUNK", 1 << 12)
    monkeypatch.setattr(P, "SHARED_CHUNK", 1 << 13)
    before = P.get_num_threads()
    P.set_num_threads(request.param)
    yield request.param
    P.set_num_threads(before)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def big(*shape, seed=0):
    assert np.prod(shape) >= 1 << 14, "the test must reach the chunked path"
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def same(a, b):
    a, b = (a if isinstance(a, tuple) else (a,)), (b if isinstance(b, tuple) else (b,))
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert (u is None) == (v is None)
        if u is not None:
            assert u.shape == v.shape and u.dtype == v.dtype
            np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_chunks_equal_single_call(threads, approximate):
    x = big(3, 100, 700)
    same(P.for_rows(O.gelu, np, x, approximate, True, row=0), O.gelu(np, x, approximate, True))
    same(O.gelu_by_chunks(np, x, approximate, False), O.gelu(np, x, approximate, False))


def test_row_functions_equal_single_call(threads):
    x, g = big(4, 129, 513), big(4, 129, 513, seed=1)
    y = R.softmax(np, x, -1)
    same(P.for_rows(R.softmax, np, x, -1), y)
    same(P.for_rows(R.softmax_backward, np, g, y, -1), R.softmax_backward(np, g, y, -1))
    z = R.log_softmax(np, x, -1)
    same(P.for_rows(R.log_softmax, np, x, -1), z)
    same(P.for_rows(R.log_softmax_backward, np, g, z, -1), R.log_softmax_backward(np, g, z, -1))
    xhat, rstd = N.normalise(np, x, (-1,), 513, 1e-5)
    same(N.normalise_rows(np, x, (-1,), 513, 1e-5), (xhat, rstd))
    w = rand(513, seed=2)
    same(P.for_rows(N.layer_norm_backward, np, g, xhat, rstd, w, (-1,), 513),
         N.layer_norm_backward(np, g, xhat, rstd, w, (-1,), 513))
    same(N.rms_normalise_rows(np, x, 1e-6), N.rms_normalise(np, x, 1e-6))
    logits = x.reshape(-1, 513)
    same(N.softmax_rows_by_chunks(np, logits), N.softmax_rows(np, logits))


def test_adam_chunks_equal_single_call(threads):
    p, g, m, v = (big(300, 500, seed=s) for s in range(4))
    v = v * v
    args = (0.9, 0.999, 1e-3 / 0.1, 0.03, 1e-8)
    m1, v1, m2, v2 = m.copy(), v.copy(), m.copy(), v.copy()       # the moments are updated in place
    same(P.for_rows(optim.adam_moments_and_step, np, p, g, m1, v1, *args, row=0),
         optim.adam_moments_and_step(np, p, g, m2, v2, *args))
    same((m1, v1), (m2, v2))
    assert not np.array_equal(m1, m)


def test_a_weight_the_size_of_the_rows_is_not_cut(threads):
    """x (n, n) and w (n,): w broadcasts along each row and must reach every chunk whole."""
    x, w, b = big(512, 512), rand(512, seed=1), rand(512, seed=2)
    same(P.for_rows(N._scale_shift, np, x, w, b), N._scale_shift(np, x, w, b))
    col = rand(512, 1, seed=3)          # a per-row statistic: cut with x
    same(P.for_rows(N._scale_shift, np, x, col, None), x * col)
    lead = rand(1, 512, seed=4)         # broadcast along the rows, ndim == x.ndim: not cut, still right
    same(P.for_rows(N._scale_shift, np, x, lead, None), x * lead)


def test_ops_through_the_engine_match_the_single_calls(threads, monkeypatch):
    """A GPT-shaped forward+backward through the chunked ops gives the numbers of the unchunked single calls."""
    x0 = big(4, 64, 640)

    def run():
        x = tg.tensor(x0, requires_grad=True)
        ln = tg.nn.LayerNorm(640)
        ln.weight.data[...] = np.linspace(0.5, 1.5, 640, dtype=np.float32)
        h = tg.nn.functional.gelu(ln(x), approximate="tanh")
        loss = (h.softmax(-1) * h.log_softmax(-1)).sum()
        loss.backward()
        return loss.item(), x.grad.numpy()

    a = run()
    monkeypatch.setattr(P, "MIN_SIZE", 10 ** 12)     # every op one NumPy call: the reference
    b = run()
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])


def test_small_cupy_and_tensor_inputs_take_the_single_call(threads):
    calls = []

    def fn(xp, x):
        calls.append(x.shape)
        return x * 2
    small = np.ones((4, 4), np.float32)
    P.for_rows(fn, np, small)
    assert calls == [(4, 4)]
    calls.clear()
    P.for_rows(fn, object(), big(600, 600))          # any namespace but numpy (CuPy, the Tensor namespace)
    assert calls == [(600, 600)]
    calls.clear()
    x = big(600, 600)
    same(P.for_rows(fn, np, x), x * 2)              # a big NumPy array: in chunks of whole rows, at least one per thread
    chunk = P.CHUNK if threads == 1 else P.SHARED_CHUNK
    assert len(calls) >= max(threads, 600 * 600 // chunk) and all(c[1:] == (600,) for c in calls)
    assert sum(c[0] for c in calls) == 600


def test_thread_count_follows_env_and_setter(monkeypatch):
    before = P.get_num_threads()
    try:
        monkeypatch.setenv("TINYGRAD_TF_NUM_THREADS", "3")
        assert P._default_threads() == 3
        monkeypatch.delenv("TINYGRAD_TF_NUM_THREADS")
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert P._default_threads() == 1
        monkeypatch.delenv("OMP_NUM_THREADS")
        import os
        assert P._default_threads() == (os.cpu_count() or 1)
        P.set_num_threads(2)
        assert P.get_num_threads() == 2
        with pytest.raises(ValueError, match="at least 1"):
            P.set_num_threads(0)
    finally:
        P.set_num_threads(before)


ATTENTION_CASES = {
    # name: (q heads, kv heads, T, S, mask, bias shape or None, bias needs a gradient, fill)
    "causal": (4, 4, 40, 40, "causal", None, False, -np.inf),
    "kv-cache step": (4, 4, 8, 160, "causal", None, False, -np.inf),
    "padding, lowest fill": (4, 4, 24, 48, "padding", None, False, np.finfo(np.float64).min),
    "T5 bias with a gradient": (4, 4, 32, 32, None, (1, 4, 32, 32), True, -np.inf),
    "bias (T, S) and causal": (4, 4, 32, 32, "causal", (32, 32), False, -np.inf),
    "causal, rows with no key, lowest fill": (4, 4, 40, 40, "causal, empty rows", None, False,
                                               np.finfo(np.float64).min),
    "causal, rows with no key, -inf": (4, 4, 40, 40, "causal, empty rows", None, False, -np.inf),
    "per-item causal mask (B, 1, T, S)": (4, 4, 40, 40, "per item", None, False, -np.inf),
    "sliding window (no block sees every key)": (4, 4, 40, 40, "window", None, False, -np.inf),
    "causal, a last key no query sees": (4, 4, 40, 40, "causal, key unseen", None, False, -np.inf),
    "causal and a bias with a gradient": (4, 4, 40, 40, "causal", (1, 4, 40, 40), True, -np.inf),
    "grouped keys (one call)": (4, 2, 40, 40, "causal", None, False, -np.inf),
    "one key head (one call)": (4, 1, 40, 40, "causal", None, False, -np.inf),
}


@pytest.mark.parametrize("part", [1 << 11, 1 << 16])          # a head per part; whole batch items per part
@pytest.mark.parametrize("case", list(ATTENTION_CASES))
def test_fused_attention_by_heads_equals_the_single_call(threads, monkeypatch, case, part):
    """The fused attention op cut into (batch, head) parts on the pool (parallel_cpu.for_heads), and within a
    part into blocks of queries that skip the keys they cannot see (attention_ops.key_blocks), gives the single
    call's output and gradients (float64), for every mask and bias the models use; grouped keys take one call."""
    from tinygrad_tf import attention_ops
    hq, hkv, t, s, mask, bias_shape, bias_grad, fill = ATTENTION_CASES[case]
    rng = np.random.default_rng(0)
    b = 3
    q0, k0 = rng.standard_normal((b, hq, t, 16)), rng.standard_normal((b, hkv, s, 16))
    v0 = rng.standard_normal((b, hkv, s, 8))
    causal = np.tril(np.ones((t, s), bool), k=s - t)
    empty_rows = causal & (np.arange(t) % 7 != 3)[:, None]
    keep = {None: None, "causal": causal, "padding": rng.random((b, 1, 1, s)) < 0.7, "causal, empty rows": empty_rows,
            "per item": causal & (rng.random((b, 1, t, s)) < 0.8),
            "window": causal & ~np.tril(np.ones((t, s), bool), k=s - t - 12),
            "causal, key unseen": causal & (np.arange(s) != s - 1)}[mask]
    bias0 = None if bias_shape is None else rng.standard_normal(bias_shape)
    g0 = rng.standard_normal((b, hq, t, 8))
    monkeypatch.setattr(P, "HEADS_MIN", 1 << 12)
    monkeypatch.setattr(P, "HEADS_PART", part)
    monkeypatch.setattr(attention_ops, "BLOCK", 8)
    assert b * hq * t * s >= P.HEADS_MIN, "the test must reach the cut path"
    parts = []
    share = P._share                                   # for_heads hands its parts out in one _share(blas=True)
    monkeypatch.setattr(P, "_share", lambda work, items, blas=False: (blas and parts.append(len(items)),
                                                                     share(work, items, blas)))

    def run():
        q, k, v = (tg.tensor(a, requires_grad=True) for a in (q0, k0, v0))
        bias = None if bias0 is None else tg.tensor(bias0, requires_grad=bias_grad)
        y = attention_ops.Attention.apply(q, k, v, bias, keep, 0.25, fill)
        y.backward(tg.tensor(g0))
        return [y.numpy()] + [x.grad.numpy() for x in (q, k, v) + ((bias,) if bias_grad else ())]

    cut = run()
    assert len(parts) == (0 if hq != hkv else 2)       # forward and backward, each in parts (or not at all)
    monkeypatch.setattr(P, "HEADS_MIN", 10 ** 12)      # the single call, no blocks: the reference
    monkeypatch.setattr(attention_ops, "BLOCK", 10 ** 9)
    for a, r in zip(cut, run()):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


@pytest.fixture
def fake_blas(monkeypatch):
    """A BLAS thread count the tests can read and set (at 2 to begin with), whatever BLAS NumPy was built with:
    parallel_cpu asks and sets it through ``_blas`` = (get, set)."""
    count = {"n": 2}
    monkeypatch.setattr(P, "_blas", (lambda: count["n"], lambda n: count.update(n=n)))
    return count


def test_blas_threads_come_back_after_a_cut_call(threads, monkeypatch, fake_blas):
    """The parts run with one BLAS thread each; the BLAS's count is what it was before, afterwards."""
    monkeypatch.setattr(P, "HEADS_MIN", 1 << 12)
    seen = []

    def fn(xp, q, k, out):
        seen.append(fake_blas["n"])
        np.matmul(q, k, out=out[0])
    q = big(2, 4, 48, 48)
    same(P.for_heads(fn, np, q, q, work=q.size, out=(np.empty_like(q),))[0], q @ q)
    assert set(seen) == ({1} if threads > 1 else {2})
    assert fake_blas["n"] == 2


def test_key_blocks_skip_only_keys_no_query_of_the_block_sees(monkeypatch):
    from tinygrad_tf import attention_ops as A
    monkeypatch.setattr(A, "BLOCK", 4)
    causal = np.tril(np.ones((10, 10), bool))
    assert A.key_blocks(causal, 10, 10, -np.inf) == [(0, 4, 0, 4), (4, 8, 0, 8), (8, 10, 0, 10)]
    step = np.tril(np.ones((8, 12), bool), k=4)                    # 8 new queries after 4 cached keys
    assert A.key_blocks(step, 8, 12, -np.inf) == [(0, 4, 0, 8), (4, 8, 0, 12)]
    window = causal & ~np.tril(np.ones((10, 10), bool), k=-3)      # each query sees itself and 2 before it
    assert A.key_blocks(window, 10, 10, -np.inf) == [(0, 4, 0, 4), (4, 8, 2, 8), (8, 10, 6, 10)]
    no_key = causal.copy()
    no_key[1] = False                                              # row 1 sees nothing
    assert A.key_blocks(no_key, 10, 10, -np.inf)[0] == (0, 4, 0, 4)
    assert A.key_blocks(no_key, 10, 10, np.finfo(np.float32).min)[0] == (0, 4, 0, 10)   # uniform over all keys
    assert A.key_blocks(np.ones((10, 10), bool), 10, 10, -np.inf) is None            # nothing to skip
    assert A.key_blocks(causal[None, None], 10, 10, -np.inf) is not None              # (1, 1, T, S) too
    assert A.key_blocks(np.ones((2, 1, 10, 10), bool), 10, 10, -np.inf) is None       # one mask per item: no
    assert A.key_blocks(causal[:6], 6, 10, -np.inf) is None                            # fewer than 2 blocks


@pytest.mark.parametrize("make", [lambda ps: optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
                                  lambda ps: optim.SGD(ps, lr=1e-2, momentum=0.9, nesterov=True),
                                  lambda ps: optim.Adam(ps, lr=1e-2, amsgrad=True)])
def test_optimizer_updates_on_all_cores_equal_one_after_the_other(threads, monkeypatch, make):
    """The parameters' updates shared out over the cores (each_on_all_cores; a big parameter's own for_rows then
    runs in place) give the one-after-the-other updates bit for bit, over several steps."""
    shapes = [(130, 70), (70,), (300, 80), (5,), (64, 64)]          # one of 24K values: chunked on its own too

    def run():
        ps = [tg.tensor(big(*s, seed=i) if np.prod(s) >= 1 << 14 else rand(*s, seed=i), requires_grad=True)
              for i, s in enumerate(shapes)]
        opt = make(ps)
        for step in range(3):
            for i, p in enumerate(ps):
                p.grad = tg.tensor(rand(*p.shape, seed=100 * step + i))
            opt.step()
        return [p.numpy() for p in ps]

    calls = []
    share = P._share
    monkeypatch.setattr(P, "_share",
                        lambda work, items, blas=False: calls.append(len(items)) or share(work, items, blas))
    spread = run()
    assert len(shapes) in calls                                      # the parameters were shared out
    monkeypatch.setattr(P, "MIN_SIZE", 10 ** 12)
    for a, b in zip(spread, run()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("shapes", [((300, 70), (70, 50)), ((70, 300), (300, 90))])
def test_matmul_in_row_blocks_equals_one_product(threads, monkeypatch, shapes):
    """parallel_cpu.matmul: a's rows in one block per thread (one BLAS thread each), bias added per block --
    equal to one product (float64, a transposed view on the left too); small products take the one call."""
    monkeypatch.setattr(P, "SPLIT_GEMM", 1 << 12)
    a, b = (np.random.default_rng(i).standard_normal(s) for i, s in enumerate(shapes))
    bias = np.random.default_rng(9).standard_normal(shapes[1][1])
    blocks = []
    share = P._share
    monkeypatch.setattr(P, "_share", lambda work, items, blas=False: blocks.append((list(items), blas)) or
                        share(work, items, blas))
    for left in (a, np.ascontiguousarray(a.T).T):                  # C order, and a transposed view
        np.testing.assert_allclose(P.matmul(left, b), a @ b, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(P.matmul(left, b, add=bias), a @ b + bias, rtol=1e-12, atol=1e-12)
    assert len(blocks) == (4 if threads > 1 else 0) and all(blas and len(items) == threads for items, blas in blocks)
    blocks.clear()
    np.testing.assert_allclose(P.matmul(a[:1, :8], b[:8]), a[:1, :8] @ b[:8])      # small: one call
    assert blocks == []


@pytest.mark.parametrize("threads", [1, 2, 3, 4], indirect=True)
def test_matmuls_side_by_side_equal_each_product(threads, monkeypatch):
    """parallel_cpu.matmuls (Linear's dL/dx and dL/dW): every product's row blocks handed to the pool in one go,
    ``threads`` blocks in all, equal to the products one by one (a transposed view on the left too); with a
    product too small to cut, or one thread, each goes through matmul."""
    monkeypatch.setattr(P, "SPLIT_GEMM", 1 << 12)
    rng = np.random.default_rng(0)
    g, w, x = rng.standard_normal((64, 24)), rng.standard_normal((24, 40)), rng.standard_normal((64, 40))
    calls = []
    share = P._share
    monkeypatch.setattr(P, "_share", lambda work, items, blas=False: calls.append(list(items)) or
                        share(work, items, blas))
    gx, gw = P.matmuls((g, w), (g.T, x))
    np.testing.assert_allclose(gx, g @ w, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gw, g.T @ x, rtol=1e-12, atol=1e-12)
    if threads > 1:                               # one hand-out, every block of both products in it
        assert len(calls) == 1 and len(calls[0]) == max(1, threads // 2) * 2
        assert {i for i, *_ in calls[0]} == {0, 1}
    calls.clear()
    small = P.matmuls((g[:2, :3], w[:3]), (g.T, x))                # one product too small to cut: one by one
    np.testing.assert_allclose(small[0], g[:2, :3] @ w[:3], rtol=1e-12)
    assert all(len(items) == threads for items in calls)      # (only matmul's own cuts of the big one)


def _parts(compute, n):
    """run_parts over n one-row parts of an (n,) output, with one BLAS thread per part."""
    return P.run_parts(compute, [(i, i + 1) for i in range(n)], lambda o: (n,), lambda o, lo, hi: o[lo:hi], blas=True)


def test_a_failing_part_stops_the_others_before_the_error_comes_back(fake_blas):
    """A part that raises: no part starts after that, every part under way is done before the error reaches the
    caller (nothing keeps writing behind its back), the BLAS count is back, and the pool still works."""
    import threading
    import time
    before = P.get_num_threads()
    P.set_num_threads(2)
    try:
        caller, done = threading.current_thread(), []

        def compute(i, _):
            if threading.current_thread() is caller:
                time.sleep(0.01)                   # the helper has taken a part by now
                raise RuntimeError("boom")
            time.sleep(0.01)
            done.append(i)
            return np.zeros(1)
        with pytest.raises(RuntimeError, match="boom"):
            _parts(compute, 50)
        finished = len(done)
        assert finished <= 2                       # the helper finished the part it had in hand, took no more
        time.sleep(0.1)
        assert len(done) == finished               # and nothing ran after the error came back
        assert fake_blas["n"] == 2
        same(_parts(lambda i, _: np.full(1, i, np.float32), 6)[1][0], np.arange(6, dtype=np.float32))
    finally:
        P.set_num_threads(before)


def test_calls_from_two_threads_that_overlap_put_the_blas_count_back(fake_blas):
    """Thread B's cut call starts while thread A's runs and ends after it: the BLAS's count is what it was
    before both (not the 1 that B found when it started), and each part ran on one BLAS thread."""
    import threading
    before = P.get_num_threads()
    P.set_num_threads(2)
    try:
        b_inside, a_done, seen = threading.Event(), threading.Event(), []

        def part_b(i, _):
            b_inside.set()
            a_done.wait(10)
            seen.append(fake_blas["n"])
            return np.zeros(1)
        thread_b = threading.Thread(target=_parts, args=(part_b, 1))

        def part_a(i, _):
            thread_b.start()
            b_inside.wait(10)
            seen.append(fake_blas["n"])
            return np.zeros(1)
        _parts(part_a, 1)
        a_done.set()
        thread_b.join(10)
        assert seen == [1, 1]                      # B's part still had one BLAS thread after A was done
        assert fake_blas["n"] == 2
        with P.one_blas_thread(1 << 20):           # (the small products' guard counts the same way)
            assert fake_blas["n"] == 1
            _parts(lambda i, _: np.zeros(1), 2)
            assert fake_blas["n"] == 1
        assert fake_blas["n"] == 2
    finally:
        P.set_num_threads(before)


def test_set_num_threads_retires_the_old_helpers():
    """Changing the thread count makes new helper threads for the next call and ends the old ones (none left
    parked for good), and each call still gets every item done."""
    import threading
    import time

    def helpers():
        return [t for t in threading.enumerate() if t.name.startswith("tinygrad_tf_")]
    before = P.get_num_threads()
    try:
        P.set_num_threads(3)
        assert P.each_on_all_cores(lambda i: i + 1, list(range(7))) == list(range(1, 8))
        old = helpers()
        assert len(old) >= 2
        P.set_num_threads(2)
        assert P.each_on_all_cores(lambda i: i * 2, list(range(7))) == [2 * i for i in range(7)]
        deadline = time.time() + 10
        while any(t.is_alive() for t in old) and time.time() < deadline:
            time.sleep(0.01)
        assert not any(t.is_alive() for t in old)
        assert len(helpers()) == 1
    finally:
        P.set_num_threads(before)


def test_set_num_threads_from_inside_a_part_leaves_the_pool_usable():
    """set_num_threads called while the pool runs parts -- here from a helper's own part, which cannot wait for
    itself -- takes effect for the next call; the pool keeps working."""
    import threading
    before = P.get_num_threads()
    P.set_num_threads(2)
    try:
        both = threading.Barrier(2, timeout=10)    # the caller and the helper each hold a part
        caller = threading.current_thread()

        def work(i):
            both.wait()
            if threading.current_thread() is not caller:
                P.set_num_threads(3)
            return i
        assert P.each_on_all_cores(work, [0, 1]) == [0, 1]
        assert P.get_num_threads() == 3
        assert P.each_on_all_cores(lambda i: i * i, list(range(7))) == [i * i for i in range(7)]
    finally:
        P.set_num_threads(before)


@pytest.mark.parametrize("bias_shape", [(40,), (), (1, 4, 40, 1)])
def test_fused_attention_in_blocks_with_a_bias_of_few_dims(monkeypatch, bias_shape):
    """A bias of shape (S,) or () (SDPA's float attn_mask broadcasts from any shape) or (1, H, T, 1), with a
    causal mask: the blocks of queries cut the bias as they cut the mask, and give the one call's output and
    gradients (the bias's too)."""
    from tinygrad_tf import attention_ops
    monkeypatch.setattr(attention_ops, "BLOCK", 8)
    rng = np.random.default_rng(0)
    q0, k0, v0, g0 = (rng.standard_normal((2, 4, 40, 8)) for _ in range(4))
    bias0 = rng.standard_normal(bias_shape)

    def run():
        q, k, v, bias = (tg.tensor(a, requires_grad=True) for a in (q0, k0, v0, bias0))
        y = tg.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias, is_causal=True)
        y.backward(tg.tensor(g0))
        return [y.numpy()] + [x.grad.numpy() for x in (q, k, v, bias)]
    blocked = run()
    monkeypatch.setattr(attention_ops, "BLOCK", 10 ** 9)
    for a, r in zip(blocked, run()):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


def _child_shares(out):
    out.put(P.each_on_all_cores(lambda i: i * i, list(range(5))))


@pytest.mark.skipif(not hasattr(__import__("os"), "register_at_fork"), reason="no fork on this platform")
def test_a_forked_child_makes_its_own_pool():
    """A process forked after the pool started (multiprocessing's fork: a user's worker processes) has none of
    the pool's threads; its first cut call makes a new pool instead of waiting forever for the parent's."""
    import multiprocessing
    before = P.get_num_threads()
    P.set_num_threads(2)
    try:
        assert P.each_on_all_cores(lambda i: i, [0, 1, 2]) == [0, 1, 2]       # the parent's pool is up
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        child = ctx.Process(target=_child_shares, args=(out,))
        child.start()
        child.join(30)
        if child.is_alive():
            child.kill()
            pytest.fail("the forked child hung in its first cut call")
        assert child.exitcode == 0 and out.get(timeout=5) == [0, 1, 4, 9, 16]
    finally:
        P.set_num_threads(before)


def test_a_bias_of_minus_infinity_under_the_lowest_fill_keeps_every_key(monkeypatch):
    """Under the models' fill (the dtype's lowest number) a row whose every visible key has a bias of -inf is
    uniform over all S keys; query blocks must not skip keys then (blocked == one call, float64)."""
    from tinygrad_tf import attention_ops as A
    rng = np.random.default_rng(0)
    t = 16
    q, k, v = (rng.standard_normal((1, 2, t, 4)) for _ in range(3))
    keep = np.tril(np.ones((t, t), bool))
    bias = np.zeros((t, t))
    bias[3, :4] = -np.inf                       # row 3 sees keys 0..3, all of them at -inf
    lowest = np.finfo(np.float64).min
    monkeypatch.setattr(A, "BLOCK", 4)
    blocked = A.attend_by_heads(np, q, k, v, bias, keep, 0.5, lowest, None)
    whole = A.attend(np, q, k, v, bias, keep, 0.5, lowest, None)
    for a, b in zip(blocked, whole):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_numpys_openblas_is_found_and_set():
    """Where NumPy's wheel brought OpenBLAS (it is in this process's memory map: Linux), set_blas_threads finds
    it, sets it and reports the count it had; elsewhere it answers None or a count, never an error."""
    try:
        with open("/proc/self/maps") as f:
            openblas = any("openblas" in line.lower() for line in f)
    except OSError:
        openblas = False
    first = P.set_blas_threads(1)
    try:
        if openblas:
            assert isinstance(first, int) and first >= 1
            assert P.set_blas_threads(3) == 1 and P.set_blas_threads(1) == 3
        else:
            assert first is None or isinstance(first, int)
    finally:
        if first:
            P.set_blas_threads(first)


def test_multiply_in_chunks_equals_the_product(threads):
    """parallel_cpu.multiply (GELU's backward): chunks written straight into the result give a * b exactly; other
    arrays (strided, broadcast, Tensors) take the plain product."""
    a, b = big(3, 100, 700), big(3, 100, 700, seed=1)
    got = P.multiply(a, b)
    assert got.dtype == a.dtype and got.flags.c_contiguous
    np.testing.assert_array_equal(got, a * b)
    np.testing.assert_array_equal(P.multiply(a[:, ::2], b[:, ::2]), a[:, ::2] * b[:, ::2])
    np.testing.assert_array_equal(P.multiply(a, b[0]), a * b[0])
    t = P.multiply(tg.tensor(a[0]), tg.tensor(b[0]))
    assert isinstance(t, tg.Tensor)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(0, 3), (1, 5), (7, 1), (2048, 256), (300, 1030)])
def test_column_sums_is_the_sum_over_the_rows(threads, fake_blas, dtype, shape):
    """A bias's gradient as ones @ g (one BLAS thread, the count put back after): the rows' sum, to rounding;
    what is not a 2-D NumPy float array takes xp.sum."""
    g = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    out = P.column_sums(np, g)
    assert out.shape == (shape[1],) and out.dtype == dtype
    np.testing.assert_allclose(out, g.astype(np.float64).sum(axis=0), rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-3 if dtype == np.float32 else 1e-10)
    assert fake_blas["n"] == 2
    ints = np.arange(12).reshape(4, 3)
    assert P.column_sums(np, ints).tolist() == [18, 22, 26]
    t = tg.tensor(g[:4])
    np.testing.assert_allclose(P.column_sums(tg, t).numpy(), g[:4].sum(axis=0), rtol=1e-6)


def test_a_numpy_float64_scale_keeps_the_scores_dtype_in_the_cut_call(monkeypatch):
    """A NumPy float64 scale (1 / np.sqrt(d)) makes float32 scores float64 (NumPy 2's promotion): the cut call's
    m and l must be kept in float64 as the single call's are, else backward's P no longer matches forward's."""
    from tinygrad_tf import attention_ops as A
    rng = np.random.default_rng(0)
    q, k, v, do = (rng.standard_normal((2, 2, 8, 4)).astype(np.float32) * 3 for _ in range(4))
    keep, scale, need = np.tril(np.ones((8, 8), bool)), 1 / np.sqrt(np.float64(4)), (True, True, True, False)
    whole = A.attend(np, q, k, v, None, keep, scale, -np.inf, None)
    monkeypatch.setattr(P, "HEADS_MIN", 1)
    monkeypatch.setattr(A, "BLOCK", 2)
    cut = A.attend_by_heads(np, q, k, v, None, keep, scale, -np.inf, None)
    assert [a.dtype for a in cut] == [a.dtype for a in whole] == [np.float32, np.float64, np.float64]
    np.testing.assert_allclose(cut[0], whole[0], rtol=1e-6, atol=1e-6)
    blocks = A._blocks_for(q, k, keep, -np.inf, None)
    grads = A._by_heads(A.attention_grads_in_blocks, lambda: A._grad_outputs(q, k, v, do, scale, None, need), np,
                        q, k, v, do, None, keep, *cut[1:], scale, -np.inf, None, need, blocks)
    ref = A.attention_grads(np, q, k, v, do, None, keep, *whole[1:], scale, -np.inf, None, need)
    for a, r in zip(grads[:3], ref[:3]):
        np.testing.assert_allclose(a, r, rtol=1e-6, atol=1e-6)
