"""Creation and random functions as PyTorch has them: argument forms, dtypes, errors and deterministic values
against PyTorch (tests/fixtures/random_reference.json, from scripts/make_random_fixture.py); and, since a
random stream cannot match PyTorch's numbers, the properties that must hold: seeded reproducibility, a
Generator independent of the global stream, distributions within chi-square bounds, multinomial without
replacement never repeating and never drawing a zero weight, normal's reparameterised gradient."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import broadcastable_shapes

import tinygrad_tf as tg

REF = json.loads((Path(__file__).parent / "fixtures" / "random_reference.json").read_text())

# where tinygrad_tf differs from PyTorch 2.13 on purpose (the reason is in the test that checks ours)
DIFFERS = {
    # PyTorch's CPU kernel fills the missing samples with zero-weight categories; its docs say num_samples
    # must not exceed the non-zero weights, and tinygrad_tf raises instead of returning impossible draws
    "T.multinomial(T.tensor([0., 0.8, 0.]), 2)": {"error": "RuntimeError"},
}
ERROR_TYPES = {"RuntimeError": RuntimeError, "NotImplementedError": RuntimeError, "TypeError": TypeError,
               "ValueError": ValueError, "IndexError": IndexError}


def _describe(expr):
    try:
        value = eval(expr, {"T": tg})  # noqa: S307  (the fixture's own expressions)
    except Exception as e:  # noqa: BLE001
        return e
    return value


@pytest.mark.parametrize("expr", sorted(REF["calls"]))
def test_call_matches_pytorch(expr):
    want = DIFFERS.get(expr, REF["calls"][expr])
    got = _describe(expr)
    if "error" in want:
        assert isinstance(got, BaseException), f"{expr} gave {got!r}; PyTorch raises {want['error']}"
        assert isinstance(got, ERROR_TYPES[want["error"]]), f"{expr}: {type(got).__name__}: {got}"
        assert str(got) and "\n" not in str(got)
        return
    if isinstance(got, BaseException):
        raise got
    assert isinstance(got, tg.Tensor)
    assert str(got.dtype) == want["dtype"]
    assert list(got.shape) == want["shape"]
    assert got.requires_grad == want["requires_grad"]
    if "values" in want:
        expected = np.array(want["values"], dtype=want["dtype"]).reshape(want["shape"])
        if got.dtype == np.float64:
            np.testing.assert_allclose(got.numpy(), expected, rtol=4e-16, atol=0)    # PyTorch fuses the multiply-add
        else:
            np.testing.assert_array_equal(got.numpy(), expected)                     # bit for bit


def test_error_messages_name_the_op_and_the_problem():
    cases = [
        (lambda: tg.multinomial(tg.tensor([0.2, 0.8]), 3), "multinomial(): cannot draw 3 samples without replacement"),
        (lambda: tg.multinomial(tg.tensor([0., 0.8, 0.]), 2), "only 1 non-zero weights"),
        (lambda: tg.multinomial(tg.tensor([0., 0.]), 1, True), "sums to 0"),
        (lambda: tg.multinomial(tg.tensor([-1., 2.]), 1), "inf, nan or a value < 0"),
        (lambda: tg.multinomial(tg.ones(2, 2, 2), 1), "1-D (one distribution) or 2-D"),
        (lambda: tg.multinomial(tg.tensor([1, 2]), 1), "floating-point tensor of weights, got int64"),
        (lambda: tg.multinomial(tg.ones(2), 0), "num_samples=0"),
        (lambda: tg.randint(5, 5, (3,)), "low must be less than high, got low=5, high=5"),
        (lambda: tg.randint(5, 3), "size is missing"),
        (lambda: tg.randn(2, dtype=tg.int64), "randn: dtype int64 is not a floating-point dtype"),
        (lambda: tg.normal(0., 1.), "give the size too"),
        (lambda: tg.normal(tg.zeros(3), tg.ones(2)), "mean (3,) and std (2,) do not broadcast"),
        (lambda: tg.bernoulli(tg.full((2,), 1.5)), "bernoulli(): probabilities must be in [0, 1]"),
        (lambda: tg.randperm(-1), "randperm(): n must be >= 0, got -1"),
        (lambda: tg.linspace(0, 1, -1), "number of steps must be non-negative, got -1"),
        (lambda: tg.randn(2, sise=3), "unexpected keyword argument 'sise'"),
    ]
    for fn, text in cases:
        with pytest.raises((RuntimeError, TypeError)) as e:
            fn()
        assert text in str(e.value), str(e.value)


# ---------------------------------------------------------------- streams
DRAWS = {
    "randn": lambda g=None: tg.randn(5, 3, generator=g),
    "rand": lambda g=None: tg.rand(7, generator=g),
    "randint": lambda g=None: tg.randint(0, 1000, (6,), generator=g),
    "randperm": lambda g=None: tg.randperm(20, generator=g),
    "normal": lambda g=None: tg.normal(tg.zeros(4), tg.ones(4), generator=g),
    "bernoulli": lambda g=None: tg.bernoulli(tg.full((30,), 0.5), generator=g),
    "multinomial": lambda g=None: tg.multinomial(tg.ones(3, 50), 10, generator=g),
    "multinomial_replacement": lambda g=None: tg.multinomial(tg.ones(50), 30, True, generator=g),
    "randn_like": lambda g=None: tg.randn_like(tg.zeros(4, 2), generator=g),
    "randint_like": lambda g=None: tg.randint_like(tg.zeros(9), 100, generator=g),
}


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_manual_seed_reproduces_and_the_stream_moves_on(name):
    draw = DRAWS[name]
    tg.manual_seed(7)
    a, b = draw().numpy(), draw().numpy()
    tg.manual_seed(7)
    np.testing.assert_array_equal(draw().numpy(), a)
    np.testing.assert_array_equal(draw().numpy(), b)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_a_generator_is_a_stream_of_its_own(name):
    draw = DRAWS[name]
    tg.manual_seed(3)
    plain = [draw().numpy() for _ in range(2)]
    tg.manual_seed(3)
    g = tg.Generator().manual_seed(11)
    first = draw().numpy()
    mine = draw(g).numpy()                     # drawing from g does not move the global stream ...
    np.testing.assert_array_equal(draw().numpy(), plain[1])
    np.testing.assert_array_equal(first, plain[0])
    tg.manual_seed(99)                         # ... and seeding the global stream does not touch g
    again = tg.Generator().manual_seed(11)
    np.testing.assert_array_equal(draw(again).numpy(), mine)
    np.testing.assert_array_equal(draw(g).numpy(), draw(again).numpy())


def test_generator_must_be_a_generator_on_the_right_device():
    with pytest.raises(TypeError, match="tg.Generator"):
        tg.randn(2, generator=np.random.default_rng(0))


# ---------------------------------------------------------------- distributions
def chi2_bound(df: int, z: float = 5.0) -> float:
    """The chi-square quantile about z standard deviations out (Wilson-Hilferty): a fair sampler exceeds it
    with probability ~3e-7, a biased one by far."""
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def assert_frequencies(samples, probs):
    probs = np.asarray(probs, dtype=np.float64) / np.sum(probs)
    counts = np.bincount(np.asarray(samples).ravel(), minlength=len(probs))
    assert len(counts) == len(probs), "a sample outside the categories"
    n = counts.sum()
    assert np.all(counts[probs == 0] == 0), f"drew a category of weight 0: {counts}"
    live = probs > 0
    stat = float((((counts - n * probs) ** 2)[live] / (n * probs)[live]).sum())
    assert stat < chi2_bound(max(int(live.sum()) - 1, 1)), f"chi-square {stat:.1f}: counts {counts}, p {probs}"


def test_randn_rand_moments_and_range():
    tg.manual_seed(0)
    x = tg.randn(40000, dtype=tg.float64).numpy()
    assert abs(x.mean()) < 0.03 and abs(x.std() - 1) < 0.03
    assert abs((np.abs(x) < 1).mean() - 0.6827) < 0.01
    for dtype in (tg.float16, tg.float32, tg.float64):
        u = tg.rand(20000, dtype=dtype).numpy()
        assert u.dtype == dtype and u.min() >= 0 and u.max() < 1
        assert_frequencies(np.floor(u.astype(np.float64) * 10).astype(int), np.ones(10))


def test_randint_and_randperm_are_uniform():
    tg.manual_seed(1)
    assert_frequencies(tg.randint(3, 10, (20000,)).numpy() - 3, np.ones(7))
    perms = np.stack([tg.randperm(5).numpy() for _ in range(3000)])
    assert np.all(np.sort(perms, axis=1) == np.arange(5))          # each one a permutation
    for position in range(5):
        assert_frequencies(perms[:, position], np.ones(5))         # every value equally likely everywhere
    assert len({tuple(p) for p in perms}) == 120                   # all 5! orders turn up
    big = tg.randperm(100000).numpy()
    assert np.array_equal(np.sort(big), np.arange(100000))


def test_normal_moments_follow_mean_and_std():
    tg.manual_seed(2)
    mean, std = tg.tensor([[-3.0], [5.0]], dtype=tg.float64), tg.tensor([0.5, 2.0, 4.0], dtype=tg.float64)
    x = np.stack([tg.normal(mean, std).numpy() for _ in range(4000)])
    assert x.shape == (4000, 2, 3)
    np.testing.assert_allclose(x.mean(0), np.broadcast_to(mean.numpy(), (2, 3)), atol=0.25)
    np.testing.assert_allclose(x.std(0), np.broadcast_to(std.numpy(), (2, 3)), rtol=0.06)
    y = tg.normal(2.0, 3.0, size=(40000,), dtype=tg.float64).numpy()
    assert abs(y.mean() - 2) < 0.06 and abs(y.std() - 3) < 0.06


def unbroadcast(g, shape):
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True).reshape(shape)


@given(data=st.data())
def test_normal_is_differentiable_in_mean_and_std(data):
    """normal(mean, std) = mean + std * eps: the gradient is 1 for mean and eps for std (PyTorch's)."""
    (ms, ss), out = data.draw(broadcastable_shapes(n=2))
    seed = data.draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    mean = tg.tensor(rng.uniform(-2, 2, ms), requires_grad=True)
    std = tg.tensor(rng.uniform(0.5, 2, ss), requires_grad=True)

    def fn(m, s):
        return tg.normal(m, s, generator=tg.Generator().manual_seed(seed))
    y = fn(mean, std)
    assert y.shape == out and y.dtype == np.float64 and y.requires_grad
    eps = (y.numpy() - mean.numpy()) / std.numpy()
    y.sum().backward()
    np.testing.assert_allclose(mean.grad.numpy(), unbroadcast(np.ones(out), ms), rtol=1e-12)
    np.testing.assert_allclose(std.grad.numpy(), unbroadcast(eps, ss), rtol=1e-9, atol=1e-12)
    tg.gradcheck(fn, mean, std)


def test_normal_dtype_follows_mean_and_numbers_broadcast():
    assert tg.normal(tg.zeros(3, dtype=tg.float64), tg.ones(3)).dtype == np.float64
    assert tg.normal(0.0, tg.ones(2, 2, dtype=tg.float16)).dtype == np.float16
    np.testing.assert_array_equal(tg.normal(tg.full((3,), 2.0), 0.0).numpy(), [2, 2, 2])


def test_bernoulli_frequency_and_shape():
    tg.manual_seed(4)
    p = tg.tensor(np.linspace(0, 1, 11))
    x = np.stack([tg.bernoulli(p).numpy() for _ in range(3000)])
    assert set(np.unique(x)) <= {0.0, 1.0} and x.dtype == np.float64
    np.testing.assert_allclose(x.mean(0), p.numpy(), atol=0.04)
    assert x[:, 0].sum() == 0 and x[:, -1].sum() == 3000
    y = tg.bernoulli(tg.zeros(20000), 0.3).numpy()
    assert abs(y.mean() - 0.3) < 0.02


# ---------------------------------------------------------------- multinomial
def test_multinomial_with_replacement_follows_the_weights():
    tg.manual_seed(5)
    w = np.array([0.0, 1.0, 2.0, 0.0, 5.0, 0.5])
    assert_frequencies(tg.multinomial(tg.tensor(w), 20000, replacement=True).numpy(), w)
    rows = np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 3.0, 0.0, 1.0], [1e-30, 0.0, 3e-30, 0.0]], dtype=np.float32)
    out = tg.multinomial(tg.tensor(rows), 15000, replacement=True).numpy()
    assert out.shape == (3, 15000) and out.dtype == np.int64
    for r in range(3):
        assert_frequencies(out[r], rows[r])


def test_multinomial_one_sample_per_row_follows_the_weights():
    """The sampling step of a language model: (batch, vocab) probabilities, one draw per row."""
    tg.manual_seed(6)
    probs = np.array([0.1, 0.2, 0.3, 0.0, 0.4])
    for replacement in (False, True):
        draws = tg.multinomial(tg.tensor(np.tile(probs, (20000, 1))), 1, replacement).numpy()
        assert draws.shape == (20000, 1)
        assert_frequencies(draws, probs)


def test_multinomial_without_replacement_is_successive_sampling():
    """Without replacement: no index repeats in a row, zero weights never come out, and the ordered pair
    (first, second) has probability p_i * p_j / (1 - p_i), as when drawing one by one and removing each."""
    tg.manual_seed(7)
    w = np.array([1.0, 2.0, 3.0, 4.0, 0.0])
    p = w / w.sum()
    out = tg.multinomial(tg.tensor(np.tile(w, (30000, 1))), 2).numpy()
    assert np.all(out[:, 0] != out[:, 1]) and not np.any(out == 4)
    pairs = out[:, 0] * 5 + out[:, 1]
    expected = np.zeros(25)
    for i in range(5):
        for j in range(5):
            if i != j and p[i] < 1:
                expected[i * 5 + j] = p[i] * p[j] / (1 - p[i])
    assert_frequencies(pairs, expected)
    full = tg.multinomial(tg.tensor(w[:4]), 4).numpy()                 # all of them: a permutation
    assert sorted(full) == [0, 1, 2, 3]
    rows = tg.multinomial(tg.rand(50, 30) + 0.01, 30).numpy()
    assert all(sorted(r) == list(range(30)) for r in rows)


def test_multinomial_takes_float16_and_tiny_or_huge_weights():
    assert tg.multinomial(tg.tensor([0.0, 1.0], dtype=tg.float16), 1).item() == 1
    assert tg.multinomial(tg.tensor([0.0, 1e-300, 0.0], dtype=tg.float64), 1).item() == 1
    assert tg.multinomial(tg.tensor([1e-320, 0.0, 1e-320], dtype=tg.float64), 2).numpy().tolist() in ([0, 2], [2, 0])
    assert set(tg.multinomial(tg.tensor([3e38, 0.0, 3e38]), 20, True).tolist()) <= {0, 2}
    assert set(tg.multinomial(tg.tensor([3e38, 0.0, 3e38]), 2).tolist()) == {0, 2}


# ---------------------------------------------------------------- deterministic creators
def test_linspace_logspace_match_numpy_and_take_tensors():
    np.testing.assert_allclose(tg.linspace(-3, 7, 101, dtype=tg.float64).numpy(), np.linspace(-3, 7, 101),
                               rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(tg.logspace(-3, 3, 13, dtype=tg.float64).numpy(), np.logspace(-3, 3, 13), rtol=1e-13)
    x = tg.linspace(tg.tensor(1.0), tg.tensor(2.0), 5, requires_grad=True)
    assert x.requires_grad and x.is_leaf and x.tolist() == [1.0, 1.25, 1.5, 1.75, 2.0]


def test_factory_sizes_in_every_spelling():
    for fn in (tg.zeros, tg.ones, tg.empty, tg.randn, tg.rand):
        assert fn(2, 3).shape == fn((2, 3)).shape == fn([2, 3]).shape == fn(size=(2, 3)).shape == (2, 3)
        assert fn().shape == fn(()).shape == ()
    with pytest.raises(TypeError, match="not both"):
        tg.zeros(2, size=(2,))
    with pytest.raises(TypeError, match="must be ints"):
        tg.ones(2.5)
    with pytest.raises(RuntimeError, match="negative dimension"):
        tg.zeros(2, -1)


def test_like_functions_keep_shape_dtype_device():
    x = tg.zeros(2, 3, dtype=tg.float64)
    for y in (tg.randn_like(x), tg.rand_like(x), tg.randint_like(x, 9), tg.zeros_like(x), tg.full_like(x, 2)):
        assert y.shape == (2, 3) and y.dtype == np.float64 and y.device == "cpu"
    assert tg.randint_like(tg.zeros(4, dtype=tg.int64), 3, 4).tolist() == [3, 3, 3, 3]
    g = tg.Generator().manual_seed(5)
    a = tg.rand_like(x, generator=g)
    np.testing.assert_array_equal(tg.rand_like(x, generator=tg.Generator().manual_seed(5)).numpy(), a.numpy())


# ---------------------------------------------------------------- on the GPU (or CuPy's stand-in)
def test_random_functions_on_cuda(cuda):
    tg.manual_seed(0)
    draws = {
        "randn": tg.randn(3, 4, device="cuda"), "rand": tg.rand(5, device=tg.device("cuda")),
        "randint": tg.randint(0, 9, (6,), device="cuda"), "randperm": tg.randperm(10, device="cuda"),
        "normal": tg.normal(tg.zeros(3, device="cuda"), tg.ones(3, device="cuda")),
        "normal_size": tg.normal(0.0, 1.0, (2,), device="cuda"),
        "bernoulli": tg.bernoulli(tg.full((8,), 0.5, device="cuda")),
        "multinomial": tg.multinomial(tg.tensor([[0.0, 1.0, 3.0]] * 4, device="cuda"), 2),
        "multinomial_r": tg.multinomial(tg.tensor([0.0, 1.0, 3.0], device="cuda"), 50, True),
        "linspace": tg.linspace(0, 1, 5, device="cuda"), "logspace": tg.logspace(0, 2, 3, device="cuda"),
        "randn_like": tg.randn_like(tg.zeros(2, device="cuda")),
    }
    for name, t in draws.items():
        assert t.device == "cuda", name
    assert sorted(draws["randperm"].tolist()) == list(range(10))
    m = draws["multinomial"].numpy()
    assert np.all(m != 0) and np.all(m[:, 0] != m[:, 1])
    assert set(draws["multinomial_r"].tolist()) <= {1, 2}
    np.testing.assert_allclose(draws["linspace"].numpy(), [0, 0.25, 0.5, 0.75, 1])
    tg.manual_seed(0)
    np.testing.assert_array_equal(tg.randn(3, 4, device="cuda").numpy(), draws["randn"].numpy())


def test_generators_on_cuda(cuda):
    g = tg.Generator("cuda").manual_seed(3)
    assert g.device == "cuda" and g.device.type == "cuda"
    a = tg.randn(4, device="cuda", generator=g).numpy()
    np.testing.assert_array_equal(tg.randn(4, device="cuda", generator=tg.Generator("cuda").manual_seed(3)).numpy(), a)
    with pytest.raises(tg.DeviceError, match="generator on cuda cannot draw numbers for a tensor on cpu"):
        tg.randn(4, generator=g)
    with pytest.raises(tg.DeviceError, match="generator on cpu cannot draw numbers for a tensor on cuda"):
        tg.multinomial(tg.ones(3, device="cuda"), 1, generator=tg.Generator())
