"""parallel_cpu: the chunked, threaded NumPy work gives what the single call gives (bit for bit: rows are
computed by the same NumPy calls), the ops that use it match their single-call formulas, and the thread count
follows the environment and the setter."""

import numpy as np
import pytest

import tinygrad_tf as tg
from tinygrad_tf import nn_ops as N
from tinygrad_tf import ops as O
from tinygrad_tf import optim
from tinygrad_tf import parallel_cpu as P
from tinygrad_tf import reduce_ops as R


@pytest.fixture(params=[1, 2, 3])
def threads(request, monkeypatch):
    """The thread count, with the chunked path taken from 16K values in chunks of 4K (small test arrays; many
    chunks, most of them ending mid-way through nothing in particular)."""
    monkeypatch.setattr(P, "MIN_SIZE", 1 << 14)
    monkeypatch.setattr(P, "CHUNK", 1 << 12)
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
    same(N.normalise_by_chunks(np, x, (-1,), 513, 1e-5), (xhat, rstd))
    w = rand(513, seed=2)
    same(P.for_rows(N.layer_norm_backward, np, g, xhat, rstd, w, (-1,), 513),
         N.layer_norm_backward(np, g, xhat, rstd, w, (-1,), 513))
    same(N.rms_normalise_by_chunks(np, x, 1e-6), N.rms_normalise(np, x, 1e-6))
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
    assert len(calls) >= max(threads, 600 * 600 // P.CHUNK) and all(c[1:] == (600,) for c in calls)
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
