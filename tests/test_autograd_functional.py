"""``tinygrad_tf.autograd.functional``: jacobian, hessian, vjp, jvp (the double-vjp trick), hvp, vhp.

* PyTorch's numbers AND structures (tuples, shapes): every case of tests/autograd_functional_cases.py
  against tests/fixtures/autograd_functional_reference.npz, made by scripts/make_autograd_functional_fixture.py
  with torch.autograd.functional (this file never imports torch) -- a small MLP's full Hessian and
  Hessian-vector products among them, and the gradients of create_graph=True Jacobians and Hessians;
* the identities between them on hypothesis-drawn shapes (hvp = H v, vjp = v^T J, jvp = J v, forward mode =
  reverse mode), and a GPT's Hessian-vector product by hvp and vhp against PyTorch's;
* PyTorch's semantics: detached results, strict mode, optional v, clear errors, the import paths.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from autograd_functional_cases import CASES, block_weights, flatten
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_tf as tg
from tinygrad_tf.autograd.functional import hessian, hvp, jacobian, jvp, vhp, vjp

FIXTURES = Path(__file__).parent / "fixtures"
REF = np.load(FIXTURES / "autograd_functional_reference.npz")
TOL = dict(rtol=1e-10, atol=1e-12)
SCALAR = [n for n, (_, _, s) in CASES.items() if s]


def _arrays(name, tag, n):
    return [REF[f"{name}/{tag}{i}"] for i in range(n)]


def _pack(arrays, single, requires_grad=False):
    ts = tuple(tg.tensor(a, requires_grad=requires_grad) for a in arrays)
    return ts[0] if single else ts


def setup(name):
    fn, shapes, scalar = CASES[name]
    single = len(shapes) == 1
    n_out = sum(1 for k in REF.files if k.startswith(f"{name}/v_out"))
    f = lambda *xs: fn(tg, *xs)          # noqa: E731
    vo = tuple(tg.tensor(a) for a in _arrays(name, "v_out", n_out))
    out_tuple = REF[f"{name}/vjp/@structure"].item().startswith("((")
    return (f, _pack(_arrays(name, "x", len(shapes)), single), vo if out_tuple else vo[0],
            _pack(_arrays(name, "v_in", len(shapes)), single), single)


def assert_matches(name, what, res):
    leaves, structure = flatten(res)
    assert structure == REF[f"{name}/{what}/@structure"].item(), f"{name}: {what} has another structure"
    for k, t in leaves.items():
        assert isinstance(t, tg.Tensor), f"{name}: {what}[{k}] is a {type(t).__name__}"
        np.testing.assert_allclose(t.numpy(), REF[f"{name}/{what}/{k}"], **TOL, err_msg=f"{name}: {what}[{k}]")


# ---------------------------------------------------------------- against PyTorch
@pytest.mark.parametrize("name", list(CASES))
def test_jacobian_vjp_jvp_match_pytorch(name):
    f, x, vo, vi, _ = setup(name)
    assert_matches(name, "jacobian", jacobian(f, x))
    assert_matches(name, "jacobian", jacobian(f, x, strategy="forward-mode"))   # columns by the double-vjp trick
    assert_matches(name, "jacobian", jacobian(f, x, vectorize=True))
    assert_matches(name, "vjp", vjp(f, x, vo))
    assert_matches(name, "jvp", jvp(f, x, vi))


@pytest.mark.parametrize("name", SCALAR)
def test_hessian_hvp_vhp_match_pytorch(name):
    f, x, _, vi, _ = setup(name)
    assert_matches(name, "hessian", hessian(f, x))
    assert_matches(name, "hessian", hessian(f, x, outer_jacobian_strategy="forward-mode"))
    assert_matches(name, "hvp", hvp(f, x, vi))
    assert_matches(name, "vhp", vhp(f, x, vi))


def _grad_of_weighted(blocks, inputs, weights):
    s = sum((b * tg.tensor(w)).sum() for b, w in zip(blocks, weights))
    if not s.requires_grad:
        return tuple(tg.zeros_like(x) for x in inputs)
    return tg.autograd.grad(s, inputs, materialize_grads=True)


@pytest.mark.parametrize("name", list(CASES))
def test_create_graph_results_differentiate_as_pytorchs(name):
    """d/dx sum(J * W) and d/dx sum(H * W): the Jacobian and the Hessian are on a graph, with PyTorch's values."""
    fn, shapes, scalar = CASES[name]
    f, _, _, _, single = setup(name)
    leaves = tuple(tg.tensor(a, requires_grad=True) for a in _arrays(name, "x", len(shapes)))
    arg = leaves[0] if single else leaves
    blocks = list(flatten(jacobian(f, arg, create_graph=True))[0].values())
    assert_matches(name, "jacobian_grad",
                   _grad_of_weighted(blocks, leaves, block_weights(name, [b.shape for b in blocks])))
    if scalar:
        blocks = list(flatten(hessian(f, arg, create_graph=True))[0].values())
        assert_matches(name, "hessian_grad",
                       _grad_of_weighted(blocks, leaves, block_weights(f"{name}/h", [b.shape for b in blocks])))


def test_the_mlp_hessian_is_symmetric_and_hvp_is_h_times_v():
    f, x, _, vi, _ = setup("mlp")
    H = hessian(f, x)
    sizes = [t.numel() for t in x]
    full = np.block([[H[i][j].numpy().reshape(sizes[i], sizes[j]) for j in range(4)] for i in range(4)])
    assert full.shape == (26, 26)
    np.testing.assert_allclose(full, full.T, atol=1e-12)
    v = np.concatenate([t.numpy().ravel() for t in vi])
    loss, hv = hvp(f, x, vi)
    np.testing.assert_allclose(np.concatenate([t.numpy().ravel() for t in hv]), full @ v, rtol=1e-10, atol=1e-12)
    assert loss.shape == () and not loss.requires_grad


def test_gpt_hessian_vector_product_by_hvp_and_vhp_matches_pytorch():
    """The GPT of tests/test_double_backward.py: hvp (three backward passes) and vhp (two) give PyTorch's H v."""
    from tinygrad_tf.nn.models import GPT, GPTConfig
    ref = np.load(FIXTURES / "double_backward_reference.npz")
    vocab, ctx, d, layers, heads, ff = (int(n) for n in ref["gpt/config"])
    model = GPT(GPTConfig(vocab_size=vocab, context_length=ctx, d_model=d, n_layer=layers, n_head=heads, d_ff=ff,
                          dropout=0.0)).double()
    names = [k[len("gpt/weight/"):] for k in ref.files if k.startswith("gpt/weight/")]
    ids = tg.tensor(ref["gpt/ids"])
    model.load_state_dict({k: ref[f"gpt/weight/{k}"] for k in names})
    originals = dict(model.named_parameters())
    slots = [(m, key, names.index(next(k for k in names if originals[k] is p)))
             for m in model.modules() for key, p in m._parameters.items() if p is not None]

    def loss(*ws):                                   # the model's loss as a function of its weights
        for m, key, i in slots:
            m._parameters[key] = ws[i]
        try:
            return model(ids, labels=ids).loss
        finally:
            for m, key, i in slots:
                m._parameters[key] = originals[names[i]]

    weights = tuple(originals[k].detach() for k in names)
    v = tuple(tg.tensor(ref[f"gpt/v/{k}"]) for k in names)
    for fn in (hvp, vhp):
        value, hv = fn(loss, weights, v)
        np.testing.assert_allclose(value.item(), ref["gpt/loss"], rtol=1e-12)
        for k, h in zip(names, hv):
            np.testing.assert_allclose(h.numpy(), ref[f"gpt/hvp/{k}"], rtol=1e-6, atol=1e-6, err_msg=f"{fn.__name__}: {k}")


# ---------------------------------------------------------------- identities, on drawn shapes
shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)


def _rand(shape, seed, requires_grad=False):
    return tg.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=requires_grad)


@settings(max_examples=15, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2 ** 16))
def test_elementwise_jacobian_is_diagonal(shape, seed):
    x = _rand(shape, seed)
    J = jacobian(lambda t: t.tanh(), x)
    n = x.numel()
    assert J.shape == shape + shape
    slope = 1 - np.tanh(x.numpy().ravel()) ** 2
    np.testing.assert_allclose(J.numpy().reshape(n, n), np.diag(slope), atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(m=st.integers(1, 4), n=st.integers(1, 4), seed=st.integers(0, 2 ** 16))
def test_jacobian_of_a_linear_map_is_its_matrix_and_quadratic_hessian_is_a_plus_at(m, n, seed):
    A, x = _rand((m, n), seed), _rand((n,), seed + 1)
    np.testing.assert_allclose(jacobian(lambda t: A @ t, x).numpy(), A.numpy())
    B = _rand((n, n), seed + 2)
    H = hessian(lambda t: t @ (B @ t), x)
    np.testing.assert_allclose(H.numpy(), B.numpy() + B.numpy().T, atol=1e-12)


def _f(x, y):
    """A smooth function of two drawn-shape inputs with two outputs (one of them a scalar)."""
    return (x.sin() * y.exp()).tanh(), (x * x * y).sum() + x.sum() ** 3


def _g(x, y):
    return _f(x, y)[1] + (x.cos() * y * y).sum()


@settings(max_examples=10, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2 ** 16))
def test_products_agree_with_the_matrices(shape, seed):
    x, y = _rand(shape, seed), _rand(shape, seed + 1)
    n = x.numel()
    J = jacobian(_f, (x, y))                                       # J[i][j]: output i, input j
    assert [[b.shape for b in row] for row in J] == [[shape + shape] * 2, [shape] * 2]
    assert isinstance(J, tuple) and all(isinstance(r, tuple) for r in J)
    Jf = jacobian(_f, (x, y), strategy="forward-mode")
    for a, b in zip(flatten(J)[0].values(), flatten(Jf)[0].values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)
    u, w = _rand(shape, seed + 2), _rand((), seed + 3)
    vx, vy = _rand(shape, seed + 4), _rand(shape, seed + 5)
    mat = np.block([[J[0][0].numpy().reshape(n, n), J[0][1].numpy().reshape(n, n)],
                    [J[1][0].numpy().reshape(1, n), J[1][1].numpy().reshape(1, n)]])
    (o1, o2), (ju1, ju2) = jvp(_f, (x, y), (vx, vy))
    v_in = np.concatenate([vx.numpy().ravel(), vy.numpy().ravel()])
    np.testing.assert_allclose(np.concatenate([ju1.numpy().ravel(), ju2.numpy().ravel()]), mat @ v_in, atol=1e-10)
    _, (gx, gy) = vjp(_f, (x, y), (u, w))
    v_out = np.concatenate([u.numpy().ravel(), w.numpy().ravel()])
    np.testing.assert_allclose(np.concatenate([gx.numpy().ravel(), gy.numpy().ravel()]), v_out @ mat, atol=1e-10)
    H = hessian(_g, (x, y))
    full = np.block([[H[i][j].numpy().reshape(n, n) for j in range(2)] for i in range(2)])
    np.testing.assert_allclose(full, full.T, atol=1e-10)
    for fn, want in ((hvp, full @ v_in), (vhp, v_in @ full)):
        value, (hx, hy) = fn(_g, (x, y), (vx, vy))
        np.testing.assert_allclose(value.item(), _g(x, y).item())
        np.testing.assert_allclose(np.concatenate([hx.numpy().ravel(), hy.numpy().ravel()]), want, atol=1e-10)
    Hf = hessian(_g, (x, y), outer_jacobian_strategy="forward-mode")
    for a, b in zip(flatten(H)[0].values(), flatten(Hf)[0].values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- PyTorch's semantics
def test_results_are_detached_unless_create_graph():
    x = _rand((3,), 0, requires_grad=True)
    out, g = vjp(lambda t: (t ** 3).sum(), x)
    assert not out.requires_grad and not g.requires_grad and x.grad is None
    out, g = vjp(lambda t: (t ** 3).sum(), x, create_graph=True)
    assert out.requires_grad and g.requires_grad               # on x's graph: differentiate again
    (h,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy())
    H = hessian(lambda t: (t ** 3).sum(), x, create_graph=True)
    (d3,) = tg.autograd.grad(H.sum(), x)                        # third derivative: 6 on the diagonal
    np.testing.assert_allclose(d3.numpy(), [6.0, 6.0, 6.0])
    assert not hessian(lambda t: (t ** 3).sum(), x).requires_grad
    z = _rand((3,), 1)               # an input that needs no grad: on the graph of a fresh leaf, as PyTorch's
    assert jacobian(lambda t: t * t, z, create_graph=True).requires_grad and not z.requires_grad


def test_v_may_be_left_out_only_for_one_element():
    x1 = tg.tensor([0.5], dtype="float64")
    for fn, shape in ((jvp, ()), (hvp, (1,)), (vhp, (1,))):       # jvp: shaped like the output; the others: x
        _, r = fn(lambda t: (t ** 3).sum(), x1)
        assert r.shape == shape and r.item() == pytest.approx(0.75 if fn is jvp else 3.0)
    _, r = vjp(lambda t: (t ** 3).sum(), _rand((3,), 0))
    assert r.shape == (3,)
    x = _rand((3,), 0)
    with pytest.raises(RuntimeError, match="v can be left out only when the function returns a single"):
        vjp(lambda t: t * 2, x)
    for fn in (jvp, hvp, vhp):
        with pytest.raises(RuntimeError, match="v can be left out only when the input is a single"):
            fn(lambda t: (t ** 3).sum(), x)


def test_v_of_the_wrong_shape_or_count():
    x = _rand((3,), 0)
    with pytest.raises(RuntimeError, match=r"v has shape \(2,\); it should have shape \(3,\)"):
        jvp(lambda t: t * 2, x, tg.ones(2))
    with pytest.raises(RuntimeError, match="entry 1 of v has shape"):
        hvp(lambda a, b: (a * b).sum(), (x, x), (tg.ones(3), tg.ones(2)))
    with pytest.raises(RuntimeError, match="v is a tuple of 1 Tensors; it should have 2"):
        vhp(lambda a, b: (a * b).sum(), (x, x), (tg.ones(3),))


def test_unused_inputs_give_zeros_or_a_strict_error():
    x, y = _rand((2,), 0), _rand((3,), 1)
    f = lambda a, b: (a * a).sum()                              # noqa: E731
    assert jacobian(f, (x, y))[1].tolist() == [0.0, 0.0, 0.0]
    assert hessian(f, (x, y))[1][1].shape == (3, 3)
    with pytest.raises(RuntimeError, match="output 0 of the function is independent of input 1"):
        jacobian(f, (x, y), strict=True)
    for fn in (vjp, vhp, hvp):
        with pytest.raises(RuntimeError, match="independent of input 1.*strict"):
            fn(f, (x, y), None if fn is vjp else (tg.ones(2), tg.ones(3)), strict=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        vjp(lambda a: tg.ones(2), x, tg.ones(2), strict=True)
    lin = lambda a: (a * 3).sum()                               # noqa: E731  (a Hessian of zeros)
    np.testing.assert_allclose(hessian(lin, x).numpy(), np.zeros((2, 2)))
    with pytest.raises(RuntimeError, match="Jacobian with respect to input 0 turned out independent"):
        hessian(lin, x, strict=True)
    with pytest.raises(RuntimeError, match="do not go together"):
        jacobian(f, (x, y), strict=True, strategy="forward-mode")


def test_bad_input_is_one_clear_line():
    x = _rand((2,), 0)
    for call, words in ((lambda: jacobian(lambda t: t, [x, 3.0]), "the value at index 1 has type float"),
                        (lambda: jacobian(lambda t: t, np.ones(2)), "the given inputs has type ndarray"),
                        (lambda: jacobian(lambda t: t.tolist(), x), "outputs of the function must be a Tensor"),
                        (lambda: hessian(lambda t: t * 2, x), "should return a single element (a loss)"),
                        (lambda: hvp(lambda t: (t, t.sum()), x, x), "should return a single Tensor, not a tuple"),
                        (lambda: jacobian(lambda t: t, x, strategy="sideways"), "strategy must be")):
        with pytest.raises((TypeError, RuntimeError, ValueError)) as info:
            call()
        assert words in str(info.value) and "\n" not in str(info.value)


def test_empty_and_zero_d_shapes():
    x = _rand((3,), 0)
    assert jacobian(lambda t: t[:0] * 2, x).shape == (0, 3)
    s = tg.tensor(0.5, dtype="float64")
    assert jacobian(lambda t: t.tanh(), s).shape == () and hessian(lambda t: t.tanh(), s).shape == ()
    np.testing.assert_allclose(hessian(lambda t: t.tanh(), s).item(), -2 * np.tanh(0.5) * (1 - np.tanh(0.5) ** 2))


def test_the_function_sees_new_tensors_and_the_originals_are_untouched():
    x = _rand((2,), 0, requires_grad=True)
    seen = []
    jacobian(lambda t: seen.append(t) or t * 2, x)
    assert seen[0] is not x and x.grad is None


def test_import_paths():
    from tinygrad_tf import autograd
    from tinygrad_tf.autograd import functional
    assert tg.autograd.functional is functional is autograd.functional and functional.hvp is hvp
    assert sorted(functional.__all__) == ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]
    code = ("import tinygrad_tf.autograd.functional as F; import tinygrad_tf as tg; "
            "x = tg.tensor([1.0, 2.0], dtype='float64'); print(F.hessian(lambda t: (t ** 3).sum(), x).tolist())")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "[[6.0, 0.0], [0.0, 12.0]]", r.stderr


def test_on_the_device_path(cuda):
    """The same results on "cuda" (the GPU, or tests/cupy_standin.py's stand-in) as on the CPU."""
    f = lambda a, b: ((a.tanh() * b).sum() ** 2 + (a @ b).exp())   # noqa: E731
    xs, vs = (_rand((3,), 0), _rand((3,), 1)), (_rand((3,), 2), _rand((3,), 3))

    def run(device):
        x, v = tuple(t.to(device) for t in xs), tuple(t.to(device) for t in vs)
        results = [hessian(f, x), hvp(f, x, v)[1], jvp(f, x, v)[1], jacobian(f, x, strategy="forward-mode")]
        leaves = list(flatten(tuple(results))[0].values())
        assert all(t.device == device for t in leaves)
        return [t.cpu().numpy() for t in leaves]
    for c, g in zip(run("cpu"), run("cuda")):
        np.testing.assert_allclose(g, c, rtol=1e-10, atol=1e-12)
