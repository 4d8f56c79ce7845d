"""What a learner's graph drawing shows: every input (inputs that need no gradient as dashed grey leaves),
the intermediates' names, values and gradients in the small presets and --expr drawings, the output by its
name, and a shape that fits a 16:9 slide."""

from __future__ import annotations

import re
import shutil
import subprocess
import weakref

import pytest

import tinygrad_tf as tg
from tinygrad_tf import viz
from tinygrad_tf.autograd import topological_order
from tinygrad_tf.commands import main
from tinygrad_tf.viz.graph_presets import graph_preset

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")


def node_label(src: str, text: str) -> str:
    """The whole line of the node whose label holds ``text``."""
    m = re.search(rf"^\s*\w+ \[label=\"?[^\n]*{re.escape(text)}[^\n]*$", src, re.M)
    assert m, f"no node labelled with {text!r} in\n{src}"
    return m.group(0)


def mlp():
    tg.manual_seed(0)
    x = tg.randn(2, 3); x.name = "x"
    y = tg.tensor([[1.0], [-1.0]]); y.name = "y"
    w1 = tg.randn(3, 4, requires_grad=True); w1.name = "w1"
    w2 = tg.randn(4, 1, requires_grad=True); w2.name = "w2"
    loss = (((x @ w1).tanh() @ w2 - y) ** 2).mean()
    loss.name = "loss"
    loss.backward()
    return loss, x, y


def as_the_engine_would_record(loss, inputs):
    """Record, on the graph nodes, the inputs that need no gradient the way the drawing reads them:
    ``in_meta[slot]`` = (shape, dtype) and ``in_refs[slot]`` = a weak reference (``inputs``: {op name: (slot,
    tensor)})."""
    for node in topological_order(loss.grad_fn):
        if type(node).__name__ in inputs:
            slot, t = inputs.pop(type(node).__name__)
            meta, refs = list(node.in_meta), [None] * len(node.in_meta)
            meta[slot], refs[slot] = (t.data.shape, t.data.dtype), weakref.ref(t)
            node.in_meta, node.in_refs = tuple(meta), tuple(refs)
    assert not inputs


def test_inputs_that_need_no_gradient_are_drawn_as_their_own_leaves():
    loss, x, y = mlp()
    as_the_engine_would_record(loss, {"MatMul": (0, x), "Sub": (1, y)})
    src = viz.draw_graph(loss).source
    xl = node_label(src, "{x|(2, 3) float32 cpu|no grad}")
    assert "dashed" in xl and "#f4f4f4" in xl                            # styled apart from parameters
    assert "{y|(2, 1) float32 cpu|data [1, -1]|no grad}" in src           # small: its values too
    xid, yid = (node_label(src, n).split()[0] for n in ("{x|", "{y|"))
    assert re.search(rf"^\s*{xid} -> op0 \[color=\"#8c8c8c\" style=dashed\]", src, re.M)   # no gradient flows back
    assert re.search(rf"^\s*{yid} -> op\d+ \[color=\"#8c8c8c\" style=dashed\]", src, re.M)
    assert "{w1|(3, 4) float32 cpu|grad norm" in src                     # a parameter is drawn as before
    back = viz.draw_graph(loss, view="backward").source
    assert re.search(rf"^\s*{xid} -> op0 \[color=\"#8c8c8c\" dir=none style=dashed\]", back, re.M)


def test_an_input_the_engine_knows_only_by_shape_is_still_drawn():
    loss, x, _ = mlp()
    as_the_engine_would_record(loss, {"MatMul": (0, x)})
    x = None                                                               # noqa: F841  (the weak reference dies)
    import gc
    gc.collect()
    assert "{(2, 3) float32 cpu|no grad}" in viz.draw_graph(loss).source


def test_the_mlp_preset_shows_x_and_its_target():
    out, extra = graph_preset("mlp")
    out.backward()
    src = viz.draw_graph(out, **extra).source
    assert "{x|(2, 3) float32 cpu|no grad}" in src and "|no grad}" in node_label(src, "{y|")


def test_small_presets_show_intermediates_with_values_and_gradients(tmp_path):
    out = tmp_path / "mlp.dot"
    assert main(["graph", "--preset", "mlp", "--out", str(out)]) == 0
    src = out.read_text()
    pred = node_label(src, "{pred = h@w2|")
    assert "data [" in pred and "grad [" in pred                          # micrograd's data | grad
    assert "grad norm" in node_label(src, "{h = tanh z|")                  # 8 values: the norm
    assert "{loss|() float32 cpu|data" in src
    out = tmp_path / "neuron.dot"
    assert main(["graph", "--preset", "neuron", "--out", str(out)]) == 0
    assert "{x1*w1|() float32 cpu|data -6|grad 0.5}" in out.read_text()


def test_an_expression_names_each_intermediate_and_the_output_by_its_source(tmp_path):
    out = tmp_path / "e.dot"
    assert main(["graph", "--expr", "(a*b + c).tanh()", "--var", "a=2", "--var", "b=-3", "--var", "c=10",
                 "--out", str(out)]) == 0
    src = out.read_text()
    assert "{a*b|() float32 cpu|data -6|grad" in src
    assert "{a*b + c|() float32 cpu|data 4|grad" in src
    assert "{(a*b + c).tanh()|() float32 cpu|data 0.9993|grad 1}" in src  # the last node: its own name
    assert "output" not in src


def test_a_models_loss_is_labelled_loss_not_output():
    out, extra = graph_preset("gpt")
    out.backward()
    src = viz.draw_graph(out, **extra).source
    assert "{loss|() float32 cpu|data" in src and "{output|" not in src
    assert "{logits|" in src                                                # the output's other fields too


def svg_size(path) -> tuple[float, float]:
    head = open(path).read(2000)
    m = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', head)
    return float(m[1]), float(m[2])


@needs_dot
@pytest.mark.parametrize("preset", ["mlp", "layernorm", "gpt2"])
def test_a_drawing_fits_a_16_9_slide(preset, tmp_path):
    """The MLP drew 421 x 936 pt and GPT-2 small 634 x 1065 pt: tall strips. Now each fits 960 x 540 pt (13.33 x
    7.5 inches, a 16:9 slide) and is landscape, so a slide shows it large."""
    out = tmp_path / f"{preset}.svg"
    assert main(["graph", "--preset", preset, "--out", str(out)]) == 0
    w, h = svg_size(out)
    assert w <= 960.5 and h <= 540.5, (w, h)
    assert 1.0 <= w / h <= 2.4, (w, h)


@needs_dot
def test_wrapped_drawings_render_in_every_view(tmp_path):
    out, extra = graph_preset("layernorm")
    with viz.capture_grads(out):
        out.backward()
    g = viz.draw_graph(out, **extra)
    assert "wrap0a" in g.source and "continues at A" in g.source           # a long chain: wrapped
    for view in ("forward", "backward"):
        src = viz.draw_graph(out, view=view, **extra).source
        r = subprocess.run(["dot", "-Tsvg"], input=src.encode(), capture_output=True, timeout=60)
        assert r.returncode == 0 and not r.stderr, r.stderr.decode()
    for frame in viz.backward_steps(out, **extra):
        r = subprocess.run(["dot", "-Tsvg"], input=frame.source.encode(), capture_output=True, timeout=60)
        assert r.returncode == 0 and not r.stderr, r.stderr.decode()
    assert "wrap" not in viz.draw_graph(out, rankdir="TB", **extra).source    # asked for TB: drawn whole
    small = (tg.tensor([1.0, 2.0], requires_grad=True) * 3).sum()
    assert "wrap" not in viz.draw_graph(small).source                         # fits as it is: not wrapped


def test_a_create_graph_gradient_draws_as_the_backward_graph_of_ops():
    """d/dx tanh(x) made with create_graph=True is Tanh's backward, grad * (1 - y*y), recorded op by op: drawn as
    x -> Tanh -> y -> Mul (y*y) -> Sub (1 - y*y) -> Mul (times the incoming gradient) -> dy/dx. A plain gradient
    is a constant with nothing behind it; the second derivative's graph is the backward of that backward."""
    x = tg.tensor(0.5, requires_grad=True)
    x.name = "x"
    y = x.tanh()
    y.name = "y"
    (dydx,) = tg.autograd.grad(y, x, create_graph=True)
    dydx.name = "dy/dx"
    src = viz.draw_graph(dydx, params=[y], rankdir="LR").source
    assert re.findall(r"^\s*op\d+ \[label=(\w+)", src, re.M) == ["Tanh", "Mul", "Sub", "Mul"]
    assert re.findall(r"^\s*(\w+) -> (\w+)$", src, re.M) == [
        ("in0", "op0"), ("op0", "v0"), ("v0", "op1"), ("v0", "op1"), ("op1", "v1"), ("v1", "op2"), ("op2", "v2"),
        ("v2", "op3"), ("op3", "v3")]
    assert "data 0.4621" in node_label(src, "{y|") and "data 0.7864" in node_label(src, "{dy/dx|")
    (plain,) = tg.autograd.grad(x.tanh(), x)
    assert plain.grad_fn is None and "op0" not in viz.draw_graph(plain).source
    (d2,) = tg.autograd.grad(dydx, x, create_graph=True)
    ops2 = re.findall(r"^\s*op\d+ \[label=(\w+)", viz.draw_graph(d2).source, re.M)
    assert len(ops2) > 4 and ops2[0] == "Tanh" and abs(d2.item() + 0.7269) < 1e-4      # -2 y (1 - y^2)
