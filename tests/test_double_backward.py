"""Higher-order gradients: ``backward(create_graph=True)``, ``tinygrad_tf.autograd.grad`` and ``gradgradcheck``.

* PyTorch's numbers: second and third derivatives of every differentiable op (tests/double_backward_cases.py,
  several drawn shapes each, broadcasting included) against tests/fixtures/double_backward_reference.npz,
  made by scripts/make_double_backward_fixture.py with torch.autograd.grad(..., create_graph=True); and a
  Hessian-vector product of a small GPT's loss against PyTorch's from the same weights (this file never
  imports torch);
* gradgradcheck (float64 central differences of the first derivatives) of every op in opcheck's catalogue,
  over hypothesis-drawn sizes; and a deliberately wrong double backward that gradgradcheck must catch;
* PyTorch's semantics of grad() and backward(create_graph=True): tuples, allow_unused, retain_graph,
  non-leaf inputs, .grad on the graph, hooks, drawings, errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from double_backward_cases import CASES, weights
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_tf as tg
from tinygrad_tf import autograd, graph_xp, opcheck
from tinygrad_tf.autograd import grad
from tinygrad_tf.nn.models import GPT, GPTConfig

REF = np.load(Path(__file__).parent / "fixtures" / "double_backward_reference.npz")
DRAWS = 3
TOL = dict(rtol=1e-7, atol=1e-9)
LOOSE = {"cast": dict(rtol=1e-4, atol=1e-5)}       # float32 inside: PyTorch and NumPy round differently


def _outs(out):
    return [o for o in (out if isinstance(out, (tuple, list)) else (out,)) if o.dtype.kind == "f"]


def derivatives(name, draw, fn, xs):
    """tinygrad_tf's outputs and (g1, g2, g3) per input, as the fixture script computes PyTorch's."""
    ts = [tg.tensor(x, requires_grad=True) for x in xs]
    outs = _outs(fn(tg, *ts))
    vs, ws = weights(name, draw, [o.shape for o in outs], [x.shape for x in xs])
    loss = sum((o * tg.tensor(v)).sum() for o, v in zip(outs, vs))
    grads = []
    for order in range(3):
        g = grad(loss, ts, create_graph=order < 2, materialize_grads=True) if loss.requires_grad else \
            [tg.zeros_like(t) for t in ts]
        grads.append([x.numpy() for x in g])
        live = [(gi, wi) for gi, wi in zip(g, ws[order]) if gi.requires_grad]
        loss = sum((gi * tg.tensor(wi)).sum() for gi, wi in live) if live else tg.zeros(())
    return [o.numpy() for o in outs], [np.stack(gs) for gs in zip(*grads)]


@pytest.mark.parametrize("name", list(CASES))
def test_second_and_third_derivatives_match_pytorch(name):
    fn, specs = CASES[name]
    tol = LOOSE.get(name, TOL)
    for k in range(DRAWS):
        key = f"op/{name}/{k}/"
        xs = [REF[f"{key}x{i}"] for i in range(len(specs))]
        outs, grads = derivatives(name, k, fn, xs)
        for i, o in enumerate(outs):
            np.testing.assert_allclose(o, REF[f"{key}out{i}"], **tol, err_msg=f"{name}: output {i}")
        for i, g in enumerate(grads):
            ref = REF[f"{key}g{i}"]
            for order in range(3):
                if np.isnan(ref[order]).all():       # PyTorch has no derivative of that order here
                    continue
                np.testing.assert_allclose(g[order], ref[order], **tol,
                                           err_msg=f"{name} (draw {k}): derivative {order + 1} for input {i}")


def _functions():
    todo = list(autograd.Function.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("tinygrad_tf.") and not cls.__module__.startswith("tinygrad_tf.exercises"):
            yield cls.__name__


def _double_differentiated(monkeypatch, run):
    """The ops whose backward ran with create_graph=True while ``run()`` ran."""
    seen = set()
    init = graph_xp.GraphContext.__init__

    def spy(self, node):
        seen.add(type(node).__name__)
        init(self, node)
    monkeypatch.setattr(graph_xp.GraphContext, "__init__", spy)
    run()
    return seen


def test_every_op_is_differentiated_twice_against_pytorch(monkeypatch):
    def run():
        for name, (fn, specs) in CASES.items():
            derivatives(name, 0, fn, [REF[f"op/{name}/0/x{i}"] for i in range(len(specs))])
    missing = set(_functions()) - _double_differentiated(monkeypatch, run)
    # ToDevice: test_double_backward_on_the_device_path below; Dropout (random): the catalogue's gradgradcheck
    assert missing == {"ToDevice", "Dropout"}


# ---------------------------------------------------------------- gradgradcheck over the catalogue
@st.composite
def letter_sizes(draw):
    return {n: draw(st.integers(1, 3)) for n in opcheck.SIZES}


@pytest.mark.parametrize("name", list(opcheck.CATALOG))
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=letter_sizes(), seed=st.integers(0, 2 ** 16))
def test_gradgradcheck_every_catalogue_op(name, sizes, seed):
    fn, specs = opcheck.CATALOG[name]
    rng = np.random.default_rng(seed)
    inputs = [tg.Tensor(opcheck.sample(s, d, rng, sizes), requires_grad=True) for s, d in specs]
    assert tg.gradgradcheck(fn, *inputs)


def test_catalogue_differentiates_every_op_twice(monkeypatch):
    seen = _double_differentiated(monkeypatch, lambda: opcheck.check_all(order=2))
    # Cast: a float32 round trip is below what central differences resolve (the PyTorch cases have it);
    # ToDevice needs a second device; AddAt is indexing's backward, differentiated from the third order on;
    # Dropout is random (test_dropout_twice below; the catalogue also runs on the GPU against the CPU).
    assert set(_functions()) - seen == {"Cast", "ToDevice", "AddAt", "Dropout"}


def test_dropout_twice():
    from tinygrad_tf import nn_ops

    def dropout(a):                      # the same mask at every call: the seed is set first
        with tg.no_grad():
            tg.manual_seed(0)
        return nn_ops.Dropout.apply(a * a, 0.3)
    x = tg.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    assert tg.gradgradcheck(dropout, x)
    keep = dropout(tg.ones(3, 4)).numpy() != 0
    (h,) = grad(grad(dropout(x).sum(), x, create_graph=True)[0].sum(), x)
    np.testing.assert_allclose(h.numpy(), keep * 2 / 0.7)


def test_gradcheck_table_second_order(capsys):
    from tinygrad_tf.commands import main
    assert main(["gradcheck", "--order", "2"]) == 0
    out = capsys.readouterr().out
    assert "second derivatives" in out and f"{len(opcheck.CATALOG)} passed, 0 failed" in out


class SlopeAsConstant(tg.Function):
    """y = x^2 with dy/dx = 2x saved as a plain array: right at first order, a constant to a second backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(2 * x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved_tensors[0]


class SlopeDerived(SlopeAsConstant):
    """The same, with the slope saved through ctx.derived: a function of x, so the second derivative is 2."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(ctx.derived(lambda xp, x: 2 * x, x))
        return x * x


def test_gradgradcheck_catches_a_wrong_double_backward():
    x = tg.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    assert tg.gradcheck(SlopeAsConstant.apply, x)                    # first order: right
    report = tg.gradgradcheck(SlopeAsConstant.apply, x, raise_exception=False)
    assert not report.ok and report.check == "gradgradcheck"
    assert "input 0" in report.describe() and "analytic gradient is 0" in report.describe()
    with pytest.raises(tg.GradcheckError, match="gradgradcheck failed"):
        tg.gradgradcheck(SlopeAsConstant.apply, x)
    assert tg.gradgradcheck(SlopeDerived.apply, x)
    (h,) = grad(grad(SlopeDerived.apply(x).sum(), x, create_graph=True)[0].sum(), x)
    np.testing.assert_allclose(h.numpy(), 2.0)


def test_gradgradcheck_names_grad_outputs():
    x = tg.tensor(np.ones(3), requires_grad=True)
    report = tg.gradgradcheck(lambda a: a * a, x, grad_outputs=[tg.tensor(np.arange(3.0))])
    assert [r.label for r in report.inputs] == ["", "grad_outputs[0]"]
    with pytest.raises(ValueError, match="grad_outputs"):
        tg.gradgradcheck(lambda a: a * a, x, grad_outputs=[tg.ones(3), tg.ones(3)])


# ---------------------------------------------------------------- a Hessian-vector product of a GPT's loss
def test_gpt_hessian_vector_product_matches_pytorch():
    vocab, ctx, d, layers, heads, ff = (int(n) for n in REF["gpt/config"])
    model = GPT(GPTConfig(vocab_size=vocab, context_length=ctx, d_model=d, n_layer=layers, n_head=heads, d_ff=ff,
                          dropout=0.0)).double()
    names = [k[len("gpt/weight/"):] for k in REF.files if k.startswith("gpt/weight/")]
    model.load_state_dict({k: REF[f"gpt/weight/{k}"] for k in names})
    params = dict(model.named_parameters())
    ws = [params[k] for k in names]
    ids = tg.tensor(REF["gpt/ids"])
    loss = model(ids, labels=ids).loss
    np.testing.assert_allclose(loss.item(), REF["gpt/loss"], rtol=1e-12)
    grads = grad(loss, ws, create_graph=True)
    for k, g in zip(names, grads):
        np.testing.assert_allclose(g.numpy(), REF[f"gpt/grad/{k}"], rtol=1e-9, atol=1e-12, err_msg=k)
    hvp = grad(sum((g * tg.tensor(REF[f"gpt/v/{k}"])).sum() for k, g in zip(names, grads)), ws)
    for k, h in zip(names, hvp):
        np.testing.assert_allclose(h.numpy(), REF[f"gpt/hvp/{k}"], rtol=1e-6, atol=1e-6, err_msg=k)


# ---------------------------------------------------------------- grad() and backward(create_graph=True), as PyTorch
def _x(*values, dtype="float64"):
    return tg.tensor(np.array(values), dtype=dtype, requires_grad=True)


def test_derivatives_of_x_to_the_fourth_up_to_the_fourth():
    x = _x(0.5, -1.0, 2.0)
    g1, = grad((x ** 4).sum(), x, create_graph=True)
    g2, = grad(g1.sum(), x, create_graph=True)
    g3, = grad(g2.sum(), x, create_graph=True)
    g4, = grad(g3.sum(), x)
    v = x.numpy()
    for g, want in ((g1, 4 * v ** 3), (g2, 12 * v ** 2), (g3, 24 * v), (g4, 24 + 0 * v)):
        np.testing.assert_allclose(g.numpy(), want)
    assert g1.grad_fn is not None and g4.grad_fn is None and not g4.requires_grad


def test_second_derivatives_of_0d_outputs():
    """NumPy gives a 0-d op's result as a NumPy scalar (np.tanh of a 0-d array is an np.float64), not an array;
    saved as the output, it must still be found on the graph (it was taken for a constant: d2/dx2 tanh was 0)."""
    for fn in (lambda t: t.tanh(), lambda t: t.sigmoid(), lambda t: t.exp(), lambda t: t.sqrt(), lambda t: 1 / t):
        x = tg.tensor(0.5, dtype="float64", requires_grad=True)
        assert x.shape == () and tg.gradgradcheck(fn, x)
        g, = grad(fn(x), x, create_graph=True)
        assert g.requires_grad
    x = tg.tensor(0.5, dtype="float64", requires_grad=True)
    (h,) = grad(grad(x.tanh(), x, create_graph=True)[0], x)
    np.testing.assert_allclose(h.item(), -2 * np.tanh(0.5) * (1 - np.tanh(0.5) ** 2))


def test_grad_takes_tensors_or_sequences_and_returns_a_tuple():
    x, y = _x(1.0, 2.0), _x(3.0)
    out = (x * y).sum()
    gx, = grad(out, x, retain_graph=True)
    both = grad([out], (x, y))
    assert isinstance(both, tuple) and len(both) == 2
    np.testing.assert_allclose(gx.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(both[1].numpy(), [3.0])
    assert x.grad is None and y.grad is None                 # grad() touches no .grad
    two = grad([x.sum(), (x * x).sum()], x)                   # several outputs: their gradients add up
    np.testing.assert_allclose(two[0].numpy(), [3.0, 5.0])


def test_grad_of_a_non_scalar_needs_grad_outputs():
    x = _x(1.0, 2.0)
    y = x * x
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        grad(y, x, retain_graph=True)
    g, = grad(y, x, grad_outputs=tg.tensor(np.array([1.0, 10.0])))
    np.testing.assert_allclose(g.numpy(), [2.0, 40.0])
    with pytest.raises(RuntimeError, match="shape"):
        grad(x * x, x, grad_outputs=tg.ones(3, dtype="float64"))


def test_unused_inputs_need_allow_unused():
    x, z = _x(1.0), _x(2.0)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        grad((x * 2).sum(), [x, z], retain_graph=True)
    gx, gz = grad((x * 2).sum(), [x, z], allow_unused=True, retain_graph=True)
    assert gz is None and gx.item() == 2.0
    assert grad((x * 2).sum(), [x, z], materialize_grads=True)[1].tolist() == [0.0]
    with pytest.raises(RuntimeError, match="does not require grad"):
        grad((x * 2).sum(), tg.ones(1))
    with pytest.raises(RuntimeError, match="does not require grad"):
        grad(tg.ones(1).sum(), x)


def test_retain_graph_defaults_to_create_graph():
    x = _x(1.0, 2.0)
    y = (x.exp() * x).sum()
    grad(y, x)                                                # frees the saved arrays
    with pytest.raises(tg.GraphReleasedError, match="retain_graph=True"):
        grad(y, x)
    y = (x.exp() * x).sum()
    g, = grad(y, x, create_graph=True)                        # keeps them: the graph is needed again
    grad(y, x, retain_graph=True)
    grad(g.sum(), x)                                          # (the second derivative runs Exp's backward again)
    with pytest.raises(tg.GraphReleasedError):                # ... and, not retained, frees it, as PyTorch
        grad(y, x)


def test_grad_of_a_non_leaf_and_of_an_output_itself():
    x = _x(1.0, 2.0)
    h = x * 3
    y = (h * h).sum()
    gh, gx = grad(y, [h, x], create_graph=True)
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy())
    np.testing.assert_allclose(gx.numpy(), 18 * x.numpy())
    (d,) = grad(gh.sum(), x)                                  # d/dx sum(2 h) = 6
    np.testing.assert_allclose(d.numpy(), [6.0, 6.0])
    (same,) = grad(x, x, grad_outputs=tg.tensor(np.array([4.0, 5.0])))
    np.testing.assert_allclose(same.numpy(), [4.0, 5.0])


def test_grad_outputs_that_require_grad_are_differentiated_too():
    x = _x(1.0, 2.0)
    v = _x(3.0, 4.0)
    g, = grad(x * x, x, grad_outputs=v, create_graph=True)  # g = 2 x v
    gx, gv = grad(g.sum(), [x, v])
    np.testing.assert_allclose(gx.numpy(), 2 * v.numpy())
    np.testing.assert_allclose(gv.numpy(), 2 * x.numpy())


def test_backward_create_graph_leaves_grad_on_the_graph_and_accumulates():
    x = _x(1.0, 2.0)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.grad_fn is not None and x.grad.requires_grad
    first = x.grad
    (x ** 2).sum().backward(create_graph=True)               # added, as PyTorch: 3 x^2 + 2 x
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.numpy() ** 2 + 2 * x.numpy())
    assert x.grad is not first and x.grad.grad_fn is not None
    gx = x.grad
    x.grad = None
    gx.sum().backward()                                       # 6 x + 2
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy() + 2)
    assert x.grad.grad_fn is None


def test_backward_create_graph_gives_each_leaf_its_own_grad():
    a, b = _x(1.0, 2.0), _x(3.0, 4.0)
    (a + b).sum().backward(create_graph=True)                # Add hands both inputs the same gradient
    assert a.grad is not b.grad
    a.grad.data[0] = 7.0
    assert b.grad.tolist() == [1.0, 1.0]


def test_backward_with_inputs_and_the_module_function():
    x, y = _x(1.0, 2.0), _x(3.0)
    (x * y).sum().backward(inputs=[y])
    assert x.grad is None and y.grad.tolist() == [3.0]
    h = x * 2
    tg.autograd.backward([(h * h).sum()], inputs=[h], create_graph=True)
    np.testing.assert_allclose(h.grad.numpy(), 2 * h.numpy())
    assert h.grad.grad_fn is not None and x.grad is None
    z = x * x
    z.backward(gradient=tg.tensor(np.array([1.0, 0.5])))    # PyTorch's name for the starting gradient
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_hooks_see_graph_tensors_and_may_replace_them():
    x = _x(1.0, 2.0)
    h = x * x
    seen = []
    h.register_hook(lambda g: seen.append(g) or g * 10)
    g, = grad(h.sum(), x, create_graph=True)
    assert seen[0].requires_grad is False                    # d(sum)/dh = ones: a constant
    np.testing.assert_allclose(g.numpy(), 20 * x.numpy())
    x.register_hook(lambda g: g * 0.5)
    y = (x ** 3).sum()
    y.backward(create_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), 1.5 * x.numpy() ** 2)
    assert x.grad.requires_grad


def test_float32_stays_float32_and_no_grad_outside_changes_nothing():
    x = _x(1.0, 2.0, dtype="float32")
    with tg.no_grad():
        pass
    g, = grad((x.tanh() * x).sum(), x, create_graph=True)
    h, = grad(g.sum(), x)
    assert g.dtype == h.dtype == np.float32
    with tg.no_grad():                                         # create_graph records even here, as PyTorch
        y = (x * x).sum() if False else None
    y = (x * x).sum()
    with tg.no_grad():
        g, = grad(y, x, create_graph=True)
    assert g.requires_grad


def test_plain_backward_stays_on_arrays():
    x = _x(1.0, 2.0)
    y = (x.exp() * x).sum()
    y.backward()
    assert x.grad.grad_fn is None and not x.grad.requires_grad
    z = x * 2                                                 # no graph recorded: no bookkeeping either
    with tg.no_grad():
        w = x * 2
    assert "_in_ids" in z.grad_fn.__dict__ and w.grad_fn is None


@pytest.mark.filterwarnings("ignore::RuntimeWarning")        # (1 / sqrt(0), on purpose)
def test_detect_anomaly_with_create_graph():
    x = _x(0.0, 1.0)
    g, = grad(x.sqrt().sum(), x, create_graph=True)           # 1 / (2 sqrt x): inf at 0
    s = g.sum()
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError, match="gradient"):
        grad(s, x)


def test_a_gradient_graph_draws_like_any_graph():
    from tinygrad_tf import viz
    x = _x(1.0, 2.0)
    x.name = "x"
    g, = grad((x.sin() * x).sum(), x, create_graph=True)
    dot = viz.draw_graph(g)
    assert "Cos" in dot.source and "Mul" in dot.source
    assert autograd.topological_order(g.grad_fn)              # an ordinary chain of grad_fn nodes


def test_the_same_array_as_two_inputs():
    """x * x.detach(): both inputs are one array; the saved ones are matched to the inputs in order, so the
    detached one stays a constant (d/dx = x.detach(), with no second derivative), as in PyTorch."""
    x = _x(1.0, 2.0)
    for y in ((x * x.detach()).sum(), (x.detach() * x).sum()):
        g, = grad(y, x, create_graph=True)
        np.testing.assert_allclose(g.numpy(), x.numpy())
        assert not g.requires_grad
    g, = grad((x * x).sum(), x, create_graph=True)
    np.testing.assert_allclose(grad(g.sum(), x)[0].numpy(), [2.0, 2.0])


def test_double_backward_on_the_device_path(cuda):
    """The same second derivatives on "cuda" (the GPU, or tests/cupy_standin.py's stand-in) as on the CPU,
    through .to() both ways (ToDevice's backward, differentiated)."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4,))

    def run(device):
        x = tg.tensor(a, requires_grad=True)
        w = tg.tensor(b, requires_grad=True)
        xd = x.to(device)
        y = (tg.nn.functional.layer_norm(xd * w.to(device), (4,)).softmax(-1) * xd.gelu()).sum().to("cpu")
        gx, gw = grad(y, [x, w], create_graph=True)
        assert gx.device == "cpu"
        return [t.numpy() for t in (gx, gw) + grad((gx * gx).sum() + gw.sum(), [x, w])]
    for c, g in zip(run("cpu"), run("cuda")):
        np.testing.assert_allclose(g, c, rtol=1e-9, atol=1e-12)


def test_gradgradcheck_table_on_the_device(cuda):
    bad = [row for row in opcheck.check_all(device="cuda", order=2) if not row[3]]
    assert bad == []


def test_gradcheck_of_a_function_that_takes_a_gradient_inside():
    """gradcheck evaluates in the caller's grad mode (as PyTorch): a gradient penalty needs no enable_grad."""
    rng = np.random.default_rng(0)
    W = tg.tensor(rng.normal(size=(2, 4)), requires_grad=True)
    points = tg.tensor(rng.normal(size=(3, 2)))

    def penalty(W):
        x = points.detach().requires_grad_()
        (slope,) = tg.autograd.grad(((x @ W).tanh()).sum(), x, create_graph=True)
        return ((slope.norm(dim=1) - 1) ** 2).mean()

    assert tg.gradcheck(penalty, W)
