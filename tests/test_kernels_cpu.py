"""kernels_cpu: the compiled loops give what the NumPy formulas they replace give (to rounding; float64 to
~1e-12), cut into chunks on any number of threads they give what one call gives (bit for bit: each row or
value is computed by the same loop), NaN still comes out as NaN, and everything falls back to the formulas
where the loops cannot run (numba switched off, float16, strided arrays)."""

import importlib.util
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_tf as tg
from tinygrad_tf import attention_ops as A
from tinygrad_tf import kernels_cpu as K
from tinygrad_tf import nn_ops as N
from tinygrad_tf import ops as O
from tinygrad_tf import optim
from tinygrad_tf import parallel_cpu as P
from tinygrad_tf.gradcheck import gradcheck
from tinygrad_tf.nn import functional as F

TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}

# numba is optional for users; the [test] extra installs it, and CI (where only a missing GPU may skip a test,
# tests/conftest.py) therefore always runs these. Elsewhere (a bare GPU machine) they skip, saying why.
pytestmark = pytest.mark.skipif(importlib.util.find_spec("numba") is None,
                                reason="numba is not installed (pip install -e '.[fast]'): the compiled loops cannot run")


@pytest.fixture(autouse=True)
def loops_on():
    """The loops, whatever TINYGRAD_TF_KERNELS says for the rest of the suite."""
    before = K.set_enabled(True)
    yield
    K.set_enabled(before)


@pytest.fixture
def formulas():
    """Run a block with the NumPy formulas: ``with formulas(): ...``."""
    class _Off:
        def __enter__(self):
            self.before = K.set_enabled(False)

        def __exit__(self, *exc):
            K.set_enabled(self.before)
    return _Off


def data(shape, dtype, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def close(a, b, dtype):
    for u, v in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        assert u.dtype == v.dtype and u.shape == v.shape
        np.testing.assert_allclose(u, v, **TOL[dtype])


rows_and_width = st.tuples(st.integers(1, 40), st.integers(1, 300))
dtypes = st.sampled_from([np.float32, np.float64])


@given(rows_and_width, dtypes, st.integers(0, 2 ** 16))
def test_norm_loops_equal_the_formulas(shape, dtype, seed):
    x, g, w = data(shape, dtype, seed, 3.0), data(shape, dtype, seed + 1), data(shape[1], dtype, seed + 2)
    xhat, rstd = N.normalise(np, x, (-1,), shape[1], 1e-5)
    close(K.normalise(np, x, 1e-5), (xhat, rstd), dtype)
    close(K.normalise_grad(np, g, xhat, rstd, w), N.layer_norm_backward(np, g, xhat, rstd, w, (-1,), shape[1]), dtype)
    close(K.normalise_grad(np, g, xhat, rstd, None), N.layer_norm_backward(np, g, xhat, rstd, None, (-1,), shape[1]),
          dtype)
    bias = data(shape[1], dtype, seed + 3)
    np.testing.assert_array_equal(K.scale_shift(np, xhat, w, bias), N._scale_shift(np, xhat, w, bias))   # exactly
    np.testing.assert_array_equal(K.scale_shift(np, xhat, w, None), N._scale_shift(np, xhat, w, None))
    gx = N.layer_norm_backward(np, g, xhat, rstd, w, (-1,), shape[1])     # with the weight's and bias's gradients
    close(K.normalise_grad(np, g, xhat, rstd, w, sums=True), (gx, (g * xhat).sum(0), g.sum(0)), dtype)
    xhat, rstd = N.rms_normalise(np, x, 1e-6)
    close(K.normalise(np, x, 1e-6, True), (xhat, rstd), dtype)
    close(K.normalise_grad(np, g, xhat, rstd, w, True), N.rms_norm_backward(np, g, xhat, rstd, w), dtype)
    close(K.normalise_grad(np, g, xhat, rstd, w, True, sums=True)[:2],
          (N.rms_norm_backward(np, g, xhat, rstd, w), (g * xhat).sum(0)), dtype)


@given(st.integers(1, 5000), dtypes, st.integers(0, 2 ** 16))
def test_gelu_and_adam_loops_equal_the_formulas(n, dtype, seed):
    x = data(n, dtype, seed, 4.0)
    close(K.gelu_tanh(np, x), O.gelu(np, x, "tanh"), dtype)
    y, none = K.gelu_tanh(np, x, False)
    assert none is None
    close(y, O.gelu(np, x, "tanh", False)[0], dtype)
    p, g, m, v = (data(n, dtype, seed + i) for i in range(4))
    v = v * v
    for decay in (1.0, 0.999):
        args = (0.9, 0.999, 1e-3 / 0.1, math.sqrt(1 - 0.999 ** 3), 1e-8, decay)
        m1, v1, m2, v2 = m.copy(), v.copy(), m.copy(), v.copy()
        new = K.adam_moments_and_step(np, p, g, m1, v1, *args)
        close((new, m1, v1), (optim.adam_moments_and_step(np, p, g, m2, v2, *args), m2, v2), dtype)


MASKS = ["causal", "none", "one row", "rows with no key", "kv-cache step"]


def mask_for(kind, t, s):
    causal = np.tril(np.ones((t, s), bool), k=s - t)
    return {"causal": causal, "none": None, "one row": np.arange(s)[None, :] % 3 != 1,
            "rows with no key": causal & (np.arange(t) % 5 != 2)[:, None], "kv-cache step": causal}[kind]


@pytest.mark.parametrize("fill", ["-inf", "lowest"])
@pytest.mark.parametrize("kind", MASKS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_attention_with_the_loops_equals_the_formulas(formulas, kind, fill, dtype):
    """The fused attention op's output and gradients, its softmax run as loops (kernels_cpu.masked_softmax,
    softmax_again, softmax_backward) and as the NumPy formula, for every mask the loops take."""
    t, s = (5, 70) if kind == "kv-cache step" else (70, 70)
    keep, fillv = mask_for(kind, t, s), (-np.inf if fill == "-inf" else np.finfo(dtype).min)
    q0, k0, v0, g0 = data((2, 3, t, 16), dtype), data((2, 3, s, 16), dtype, 1), data((2, 3, s, 8), dtype, 2), \
        data((2, 3, t, 8), dtype, 3)

    def run():
        q, k, v = (tg.tensor(a, requires_grad=True) for a in (q0, k0, v0))
        y = A.Attention.apply(q, k, v, None, keep, 0.25, fillv)
        y.backward(tg.tensor(g0))
        return tuple(a.numpy() for a in (y, q.grad, k.grad, v.grad))

    used = []
    real = K.masked_softmax
    try:
        K.masked_softmax = lambda *a: used.append(1) or real(*a)
        fast = run()
    finally:
        K.masked_softmax = real
    assert used, "the loops must have run"
    with formulas():
        ref = run()
    for a in fast + ref:
        assert np.isfinite(a).all()
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else TOL[np.float64]
    for a, b in zip(fast, ref):
        np.testing.assert_allclose(a, b, **tol)


def test_masks_the_loops_cannot_take_go_to_the_formula():
    per_item = np.ones((2, 1, 4, 4), bool)                # one mask per batch item (padding): the formula
    assert K.attention_mask(per_item, 4, 4) is None
    assert K.attention_mask(np.ones((3, 1, 1, 6), bool), 3, 6) is None     # 3 items, not 3 query rows
    assert K.attention_mask(np.ones((5, 6), bool), 4, 6) is None
    assert K.attention_mask(np.ones((4, 4), np.float32), 4, 4) is None
    assert K.attention_mask(None, 4, 6).shape == (1, 6)
    assert K.attention_mask(np.ones((1, 1, 4, 6), bool), 4, 6).shape == (4, 6)


def test_light_loops_run_whole_below_light_min(monkeypatch):
    """A norm's statistics and its scale and shift (a few operations per value) are not cut below LIGHT_MIN
    values, where handing them out costs more than it saves; the heavier loops are."""
    x, g, w = data((1024, 512), np.float32, 0), data((1024, 512), np.float32, 1), data(512, np.float32, 2)
    cuts = []
    share = P._share
    monkeypatch.setattr(P, "_share", lambda work, items, *a: cuts.append(len(items)) or share(work, items, *a))
    before = P.get_num_threads()
    P.set_num_threads(2)
    try:
        xhat, rstd = K.normalise(np, x, 1e-5)
        K.scale_shift(np, xhat, w, w)
        assert cuts == []                                  # 512K values < LIGHT_MIN: whole
        K.normalise_grad(np, g, xhat, rstd, w)
        K.gelu_tanh(np, x)
        assert len(cuts) == 2                              # (cut from MIN_SIZE // 4 at 2 threads)
    finally:
        P.set_num_threads(before)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_chunks_equal_one_call_bit_for_bit(monkeypatch, threads):
    """The loops cut into chunks of rows on the pool (parallel_cpu.over_rows) give one call's result exactly."""
    x, g, w = data((129, 513), np.float32, 0, 2.0), data((129, 513), np.float32, 1), data(513, np.float32, 2)
    b, pm, v = data(513, np.float32, 3), g.copy(), g * g

    def everything():
        xhat, rstd = K.normalise(np, x, 1e-5)
        m1, v1 = pm.copy(), v.copy()
        return (xhat, rstd, K.normalise_grad(np, g, xhat, rstd, w), *K.normalise(np, x, 1e-6, True),
                K.normalise_grad(np, g, xhat, rstd, w, True), K.scale_shift(np, xhat, w, b), *K.gelu_tanh(np, x),
                K.gelu_tanh(np, x, False)[0], K.adam_moments_and_step(np, x, g, m1, v1, 0.9, 0.99, 1e-3, 0.5, 1e-8,
                                                                      0.99), m1, v1)

    one = everything()
    monkeypatch.setattr(P, "MIN_SIZE", 1 << 14)
    monkeypatch.setattr(P, "CHUNK", 1 << 12)
    monkeypatch.setattr(P, "SHARED_CHUNK", 1 << 13)
    monkeypatch.setattr(P, "LIGHT_MIN", 0)
    cuts = []
    share = P._share
    monkeypatch.setattr(P, "_share", lambda work, items, *a: cuts.append(len(items)) or share(work, items, *a))
    before = P.get_num_threads()
    P.set_num_threads(threads)
    try:
        cut = everything()
    finally:
        P.set_num_threads(before)
    assert len(cuts) == 8 and min(cuts) > 1, "every loop must have run in chunks"
    for a, r in zip(cut, one):
        np.testing.assert_array_equal(a, r)


def test_nan_and_inf_still_come_out():
    """fastmath is only "reassoc": a NaN in the input is a NaN in the output, as NumPy's."""
    x = data((3, 8), np.float32)
    x[1, 2] = np.nan
    xhat, rstd = K.normalise(np, x, 1e-5)
    assert np.isnan(xhat[1]).all() and np.isfinite(xhat[[0, 2]]).all()
    y, d = K.gelu_tanh(np, np.array([np.nan, 1.0], np.float32))
    assert np.isnan(y[0]) and np.isnan(d[0]) and np.isfinite(y[1])
    g = np.array([np.nan, 1.0], np.float32)
    new = K.adam_moments_and_step(np, np.ones(2, np.float32), g, np.zeros(2, np.float32), np.zeros(2, np.float32),
                                  0.9, 0.999, 1e-3, 1.0, 1e-8)
    assert np.isnan(new[0]) and np.isfinite(new[1])
    for guard in (True, False):                              # a NaN score: that row's weights are NaN
        s = np.array([[[[1.0, np.nan, 0.0], [1.0, 2.0, 0.0]]]], np.float32)
        p, m, _ = K.masked_softmax(s, K.attention_mask(None, 2, 3), -np.inf, guard)
        assert np.isnan(p[0, 0, 0]).all() and np.isnan(m[0, 0, 0]) and np.isfinite(p[0, 0, 1]).all()


def test_a_zero_variance_row_with_eps_zero_is_inf_not_an_exception():
    """numba's error model is NumPy's: 1 / 0 is inf (as the formula's), not a ZeroDivisionError."""
    x = np.ones((2, 4), np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = N.normalise(np, x, (-1,), 4, 0.0)
    got = K.normalise(np, x, 0.0)
    np.testing.assert_array_equal(got[1], ref[1])
    assert np.isinf(got[1]).all()


def test_arrays_the_loops_cannot_take():
    x = data((4, 6), np.float32)
    assert K.ready(x) and K.ready(x, None, x)
    assert not K.ready(x[:, ::2])                        # strided
    assert not K.ready(x.astype(np.float16))
    assert not K.ready(x, x.astype(np.float64))          # mixed dtypes
    assert not K.ready(tg.tensor(x))                     # a Tensor (create_graph)
    assert not K.ready()


def test_ops_fall_back_to_the_formulas_where_the_loops_cannot_run(formulas):
    """float16, a strided input, and numba switched off: the ops give the formula's values."""
    x16 = tg.tensor(data((4, 8), np.float16), requires_grad=True)
    y = F.layer_norm(x16, (8,))
    assert y.dtype == tg.float16
    xs = tg.tensor(data((4, 16), np.float32)[:, ::2], requires_grad=True)
    a = F.gelu(xs, approximate="tanh").numpy()
    with formulas():
        assert not K.enabled()
        b = F.gelu(xs, approximate="tanh").numpy()
    np.testing.assert_array_equal(a, b)


def test_switched_off_by_the_environment():
    code = "from tinygrad_tf import kernels_cpu as K; print(K.enabled())"
    env = dict(os.environ, TINYGRAD_TF_KERNELS="numpy")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("op", ["layer_norm", "rms_norm", "gelu_tanh", "causal_attention"])
def test_gradcheck_through_the_loops(op):
    """Central differences in float64 against the backward the loops compute."""
    rng = np.random.default_rng(0)
    if op == "causal_attention":
        q, k, v = (tg.tensor(rng.standard_normal((1, 2, 5, 4)), requires_grad=True) for _ in range(3))
        mask = tg.tensor(np.tril(np.ones((5, 5), bool)))
        fn = lambda q, k, v: F._fused_attention(q, k, v, mask, None, None, lowest=True)  # noqa: E731
        inputs = (q, k, v)
    else:
        x = tg.tensor(rng.standard_normal((3, 7)) * 2, requires_grad=True)
        w = tg.tensor(rng.standard_normal(7), requires_grad=True)
        b = tg.tensor(rng.standard_normal(7), requires_grad=True)
        fn, inputs = {"layer_norm": (lambda x, w, b: F.layer_norm(x, (7,), w, b), (x, w, b)),
                      "rms_norm": (lambda x, w: F.rms_norm(x, (7,), w), (x, w)),
                      "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), (x,))}[op]
    used = []
    real = K._kernels
    K._kernels = lambda: used.append(1) or real()
    try:
        assert gradcheck(fn, *inputs, eps=1e-6, atol=1e-7, rtol=1e-5)
    finally:
        K._kernels = real
    assert used, "the loops must have run"


@pytest.mark.parametrize("norm", ["layer_norm", "rms_norm"])
@pytest.mark.parametrize("wshape", [(1,), (), (3, 4)])
def test_a_weight_that_only_broadcasts_takes_the_formula(formulas, norm, wshape):
    """The loops read one weight (and bias) value per column: a weight of another shape that broadcasts (which
    nn.functional accepts, as the formula does) must not reach them."""
    x0, w0 = data((3, 4), np.float32), data(wshape, np.float32, 1) + 2

    def run():
        x, w = tg.tensor(x0, requires_grad=True), tg.tensor(w0, requires_grad=True)
        y = (F.layer_norm(x, (4,), w, tg.tensor(np.full(wshape, 5, np.float32))) if norm == "layer_norm"
             else F.rms_norm(x, (4,), w))
        y.backward(tg.tensor(data((3, 4), np.float32, 2)))
        return y.numpy(), x.grad.numpy()
    fast = run()
    with formulas():
        ref = run()
    for a, b in zip(fast, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("norm", ["layer_norm", "rms_norm"])
@pytest.mark.parametrize("bshape", [(6,), (1, 6)])
def test_weight_and_bias_gradients_summed_in_the_loop(formulas, norm, bshape):
    """The norm-gradient loop also sums the weight's and the bias's gradients over the rows (chunked rows too);
    a bias of another shape (here (1, C)) gets the engine's sum instead. All as the formulas give them."""
    x0, w0, b0, g0 = data((5, 7, 6), np.float32), data(6, np.float32, 1) + 2, data(bshape, np.float32, 2), \
        data((5, 7, 6), np.float32, 3)

    def run():
        x, w, b = (tg.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        y = F.layer_norm(x, (6,), w, b) if norm == "layer_norm" else F.rms_norm(x, (6,), w)
        y.backward(tg.tensor(g0))
        return [t.grad.numpy() for t in (x, w, b) if t.grad is not None]
    fast = run()
    with formulas():
        ref = run()
    assert [a.shape for a in fast] == [a.shape for a in ref]
    for a, b in zip(fast, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("norm", ["layer_norm", "rms_norm"])
def test_rows_of_width_zero(norm, formulas):
    """Rows of no values take the formula (whose mean over nothing warns, as NumPy's): an empty result."""
    x = tg.tensor(np.ones((3, 0), np.float32), requires_grad=True)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)                 # "Mean of empty slice"
        y = F.layer_norm(x, (0,)) if norm == "layer_norm" else F.rms_norm(x, (0,))
    assert y.shape == (3, 0)


def test_a_row_of_minus_inf_scores_without_mask_is_nan_as_the_formula(formulas):
    """With no mask and no bias no row can be empty: an all -inf row comes from non-finite q or k, and gives NaN
    as the formula does (rather than a quiet 0)."""
    q, k, v = data((1, 1, 3, 4), np.float32), np.abs(data((1, 1, 5, 4), np.float32, 1)), data((1, 1, 5, 2), np.float32, 2)
    q[0, 0, 1] = -np.inf
    with np.errstate(invalid="ignore"):
        fast = A.Attention.apply(tg.tensor(q), tg.tensor(k), tg.tensor(v), None, None, 1.0, -np.inf).numpy()
        with formulas():
            ref = A.Attention.apply(tg.tensor(q), tg.tensor(k), tg.tensor(v), None, None, 1.0, -np.inf).numpy()
    np.testing.assert_allclose(fast, ref, rtol=1e-6, equal_nan=True)
    assert np.isnan(fast[0, 0, 1]).all() and np.isfinite(fast[0, 0, [0, 2]]).all()


def test_scale_without_bias_keeps_the_sign_of_zero():
    xhat = np.array([[-0.0, 1.0]], np.float32)
    y = K.scale_shift(np, xhat, np.ones(2, np.float32), None)
    assert np.signbit(y[0, 0])


def test_compiled_once_then_loaded_from_the_cache(tmp_path):
    """Every loop is compiled once per dtype and loaded from numba's disk cache by the next process (a loop
    that calls another compiled function through a closure would be compiled again in every process)."""
    code = ("import numpy as np; from tinygrad_tf import kernels_cpu as K\n"
            "s = np.ones((2, 3, 4, 5), np.float32); K.masked_softmax(s, K.attention_mask(None, 4, 5), -np.inf)\n"
            "x = np.ones((4, 8), np.float32); K.normalise(np, x, 1e-5); K.gelu_tanh(np, x)\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    for _ in range(2):
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
    compiled = sorted(p.name for p in tmp_path.rglob("*.nbc"))
    for loop in ("mask_max_shift", "norm", "gelu_tanh_arg"):
        assert len([n for n in compiled if f".{loop}-" in n]) == 1, compiled


def test_set_enabled_wins_over_the_environment():
    code = ("from tinygrad_tf import kernels_cpu as K; a = K.enabled(); K.set_enabled(True); "
            "print(a, K.enabled())")
    env = dict(os.environ, TINYGRAD_TF_KERNELS="numpy")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
