"""viz.draw_graph and friends: DOT golden files, escaping, gradients, collapsing, steps, rendering.

Golden files (tests/golden/*.dot) hold the exact DOT source of a few small graphs. After an intended
change to the drawing (or to an op's name), regenerate them and review the diff:

    UPDATE_GOLDEN=1 python -m pytest tests/test_viz_graph.py
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import tinygrad_tf as tg
from tinygrad_tf import autograd, nn, viz
from tinygrad_tf.viz.graph import escape_record, viridis
from tinygrad_tf.viz.graph_model import EngineGraph

GOLDEN = Path(__file__).parent / "golden"
HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz dot not installed")


def check_golden(name, source):
    path = GOLDEN / f"{name}.dot"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(source, encoding="utf-8", newline="\n")
        return
    assert path.exists(), f"{path} is missing: run UPDATE_GOLDEN=1 python -m pytest tests/test_viz_graph.py"
    expected = path.read_text(encoding="utf-8")
    assert source == expected, (f"DOT source differs from {path}; if the change is intended, regenerate with "
                                "UPDATE_GOLDEN=1 python -m pytest tests/test_viz_graph.py and review the diff")


def dot_parses(source):
    """Graphviz accepts the source (and lays it out) without errors or warnings."""
    r = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, timeout=30)
    assert r.returncode == 0 and not r.stderr, r.stderr.decode()
    return r.stdout.decode()


def node_line(source, node_id):
    m = re.search(rf"^\s*{node_id} \[.*$", source, re.M)
    assert m, f"no node {node_id} in\n{source}"
    return m.group(0)


# ---------------------------------------------------------------- small models made of plain Tensor ops
class TinyLinear(nn.Module):
    def __init__(self, w, b):
        super().__init__()
        self.weight = nn.Parameter(np.asarray(w, dtype=np.float32))
        self.bias = nn.Parameter(np.asarray(b, dtype=np.float32))

    def forward(self, x):
        return x @ self.weight + self.bias


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = TinyLinear([[0.5, -1.0], [0.25, 0.5], [-0.5, 1.0]], [0.1, -0.2])
        self.fc2 = TinyLinear([[1.0], [-2.0]], [0.5])

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())


class TinyBlock(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.fc = TinyLinear(np.eye(2) * (0.5 + 0.1 * k), [0.0, 0.1 * k])

    def forward(self, x):
        return x + self.fc(x).tanh()


class Stack(nn.Module):
    def __init__(self, n=4):
        super().__init__()
        self.inp = TinyLinear([[1.0, 0.5], [0.5, 1.0], [0.0, 1.0]], [0.0, 0.0])
        self.blocks = nn.ModuleList([TinyBlock(k) for k in range(n)])
        self.head = TinyLinear([[1.0], [1.0]], [0.0])

    def forward(self, x):
        x = self.inp(x)
        for block in self.blocks:
            x = block(x)
        return (self.head(x) ** 2).mean()


X = tg.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])


def traced_loss(model, backward=True):
    with viz.trace(model):
        out = model(X)
    loss = out if out.numel() == 1 else (out ** 2).mean()     # a loss made outside the model
    if backward:
        loss.backward()
    return loss


def scalar_expression():
    """micrograd's example: L = (a*b + c) * f, names set, intermediate gradients captured."""
    a, b, c, f = (tg.tensor(v, requires_grad=True) for v in (2.0, -3.0, 10.0, -2.0))
    for t, n in zip((a, b, c, f), "abcf"):
        t.name = n
    e = a * b
    e.name = "e"
    d = e + c
    d.name = "d"
    L = d * f
    L.name = "L"
    with viz.capture_grads(L):
        L.backward()
    return L, (a, b, c, d, e, f)


# ---------------------------------------------------------------- golden DOT files
def test_golden_scalar_expression():
    L, (a, b, c, d, e, f) = scalar_expression()
    g = viz.draw_graph(L, params=[e, d], rankdir="LR", title="L = (a*b + c) * f")
    check_golden("scalar_expression", g.source)
    assert "{a|() float32 cpu|data 2|grad 6}" in g.source        # data | grad records, micrograd style
    assert "{e|() float32 cpu|data -6|grad -2}" in g.source      # an intermediate, named through params


def test_golden_mlp_named_params():
    mlp = MLP()
    loss = traced_loss(mlp)
    g = viz.draw_graph(loss, model=mlp, title="MLP")
    check_golden("mlp_named_params", g.source)
    for name in ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"):
        assert name in g.source
    assert 'label="fc1 (TinyLinear)"' in g.source and "label=MLP" in g.source


def test_golden_broadcast_backward():
    x = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    b = tg.tensor([0.5, -0.5, 1.0], requires_grad=True)
    s = tg.tensor([[2.0], [-1.0]], requires_grad=True)
    x.name, b.name, s.name = "x", "b", "s"
    loss = ((x + b) * s).sum()
    loss.backward()
    g = viz.draw_graph(loss, view="backward")
    check_golden("broadcast_backward", g.source)
    # gradients flow from the output to the inputs, each edge labelled with the gradient's shape,
    # and where an input was broadcast, the shape its gradient was summed from
    assert 'op0 -> in0 [label="(2, 3)"]' in g.source
    assert 'op0 -> in1 [label="(3,) (summed from (2, 3))"]' in g.source
    assert 'op1 -> in2 [label="(2, 1) (summed from (2, 3))"]' in g.source


def test_output_is_deterministic():
    a = viz.draw_graph(traced_loss(MLP()), model=None).source
    b = viz.draw_graph(traced_loss(MLP()), model=None).source
    assert a == b                                # ids come from the traversal, never from id()


# ---------------------------------------------------------------- escaping
NASTY = 'we|ird {x} <y> "q" back\\slash\\ end\\'


def test_escape_record_round_trips():
    def unescape(s):
        return re.sub(r"\\(.)", r"\1", s)
    for s in (NASTY, "<b>html?</b>", '\\"', "{}|<>", "plain"):
        esc = escape_record(s)
        assert unescape(esc) == s
        assert not re.search(r'(?<!\\)(\\\\)*[{}|<>"]', esc.replace("\\\\", "")), esc


def test_nasty_names_do_not_break_labels():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    w.name = NASTY + "\nnewline"
    model = nn.Module()
    model.add_module('odd"name<x>|y', TinyLinear([[1.0], [2.0]], [0.0]))
    with viz.trace(model):
        y = model._modules['odd"name<x>|y'](w.reshape(1, 2))
    loss = (y * y).sum()
    loss.backward()
    g = viz.draw_graph(loss, params={"<b>x</b>": w}, model=model)
    assert r"\<b\>x\</b\>" in g.source
    if HAS_DOT:
        svg = dot_parses(g.source)
        assert "&lt;b&gt;x&lt;/b&gt;" in svg
        assert "odd&quot;name&lt;x&gt;|y" in svg or 'odd"name&lt;x&gt;|y' in svg
    g2 = viz.draw_graph(loss)
    assert "we\\|ird \\{x\\} \\<y\\> \\\"q\\\" back\\\\slash\\\\ end\\\\ newline" in g2.source
    if HAS_DOT:
        svg = dot_parses(g2.source)
        assert "we|ird {x} &lt;y&gt;" in svg and "back\\slash\\ end\\" in svg


# ---------------------------------------------------------------- values and gradients
def test_values_shown_for_tiny_tensors_only():
    small = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    big = tg.tensor(np.arange(6, dtype=np.float32), requires_grad=True)
    small.name, big.name = "small", "big"
    loss = small.sum() + big.sum()
    src = viz.draw_graph(loss).source
    assert "{small|(3,) float32 cpu|data [1, 2, 3]|grad None}" in src     # before backward
    loss.backward()
    src = viz.draw_graph(loss).source
    assert "{small|(3,) float32 cpu|data [1, 2, 3]|grad [1, 1, 1]}" in src
    assert "{big|(6,) float32 cpu|grad norm 2.45}" in src                   # numel > 4: the norm only
    assert "data [0, 1, 2, 3, 4, 5]" in viz.draw_graph(loss, show_values=True).source
    assert "data [" not in viz.draw_graph(loss, show_values=False).source


def test_grad_norms_coloured_on_viridis_with_legend():
    lo = tg.tensor([1.0, 1.0], requires_grad=True)
    hi = tg.tensor([1.0, 1.0], requires_grad=True)
    lo.name, hi.name = "lo", "hi"
    loss = (lo * 0.001).sum() + (hi * 100.0).sum()
    loss.backward()
    src = viz.draw_graph(loss, show_tensors="none").source
    assert f'fillcolor="{viridis(0.0)}"' in node_line(src, "in0")          # smallest norm: dark end
    assert f'fillcolor="{viridis(1.0)}"' in node_line(src, "in1")          # largest norm: bright end
    assert "gradient norm (log scale)" in node_line(src, "legend")
    assert viridis(0.0) == "#440154" and viridis(1.0) == "#fde725" and viridis(0.5) == "#21918c"


def test_nan_inf_and_zero_gradients_flagged():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    z = tg.tensor([3.0, 4.0], requires_grad=True)
    x.name, w.name, z.name = "x", "w", "z"
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = (x.log() * 0.0).sum() + (w * 2.0).sum() + (z * 0.0).sum()
        with viz.capture_grads(loss) as cap:
            loss.backward()
    assert np.isnan(x.grad.numpy()[0])                     # 0 * d/dx log(x) at 0 = 0 * inf = NaN
    src = viz.draw_graph(loss).source
    assert "NaN in grad!" in node_line(src, "in0") and 'color="#d62728"' in node_line(src, "in0")
    assert "grad is all zero" in node_line(src, "in2") and "dashed" in node_line(src, "in2")
    assert "NaN" not in node_line(src, "in1")
    w.grad = tg.tensor([np.inf, 1.0])                       # .grad is read as it is, whoever set it
    assert "inf in grad!" in node_line(viz.draw_graph(loss).source, "in1")
    assert cap[loss].norm == 1.0 and cap[loss].flag is None


def test_capture_grads_records_intermediates_and_removes_its_hooks():
    x = tg.tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    h = x * 3.0
    y = h.relu()
    loss = y.sum()
    with viz.capture_grads(loss) as cap:
        loss.backward(retain_graph=True)
    assert cap[y].norm == pytest.approx(2.0) and cap[y].shape == (2, 2)
    assert cap[h].norm == pytest.approx(np.sqrt(3.0)) and cap[h].zero is False
    assert cap._handles == []
    before = cap[h]
    loss.backward()                                         # hooks gone: nothing recorded again
    assert cap[h] is before
    src = viz.draw_graph(loss, show_tensors="all").source
    assert "grad [1, 0, 1, 1]" in src                       # h's captured gradient: tiny, so its values


# ---------------------------------------------------------------- trace, clusters, collapsing
def test_trace_attributes_ops_to_the_innermost_module_and_cleans_up():
    stack = Stack(2)
    with viz.trace(stack) as tr:
        loss = stack(X)
        inner = stack.blocks[0].fc(X[:, :2])
    eg = EngineGraph(loss)
    where = {}
    for op in eg.ops:
        where.setdefault(op.module, []).append(op.name)
    assert where["inp"] == ["MatMul", "Add"]
    assert where["blocks.0.fc"] == ["MatMul", "Add"]
    assert sorted(where["blocks.0"]) == ["Add", "Tanh"]     # made in the block's own forward, between calls
    assert sorted(where[""]) == ["Mean", "Pow"]             # the model's own ops
    assert tr.module_of(inner) == "blocks.0.fc"
    after = stack(X)                                         # hooks removed on exit
    assert tr.module_of(after) is None


def test_collapse_by_depth_and_repeated_blocks():
    stack = Stack(4)
    loss = traced_loss(stack)
    full = viz.draw_graph(loss, model=stack)
    assert full.summary["depth"] is None and 'label="blocks.2.fc (TinyLinear)"' in full.source
    d2 = viz.draw_graph(loss, model=stack, depth=2)
    assert "TinyBlock x 4\\nblocks.0-3" in d2.source          # one node for the four identical blocks
    assert d2.source.count("shape=box3d") == 1
    d1 = viz.draw_graph(loss, model=stack, depth=1)
    assert "ModuleList\\nblocks\\n" in d1.source and "TinyLinear\\ninp" in d1.source
    d0 = viz.draw_graph(loss, model=stack, depth=0)
    assert d0.summary["nodes"] == 2 and "Stack\\n" in d0.source  # the whole model in one node + the output
    assert len(full.source) > len(d2.source) > len(d1.source) > len(d0.source)
    if HAS_DOT:
        dot_parses(d2.source)


def test_expand_one_of_the_repeated_blocks():
    stack = Stack(4)
    loss = traced_loss(stack)
    g = viz.draw_graph(loss, model=stack, depth=2, expand="blocks.2")
    assert "TinyBlock x 2\\nblocks.0-1" in g.source
    assert 'label="blocks.2 (TinyBlock)"' in g.source          # drawn in full, as a cluster
    assert "TinyBlock\\nblocks.3\\n" in g.source                # the one after it, alone


def test_node_budget_collapses_with_a_note():
    stack = Stack(6)
    loss = traced_loss(stack)
    g = viz.draw_graph(loss, model=stack, max_nodes=15)
    assert g.summary["nodes"] <= 15 and g.summary["depth"] is not None
    assert "collapsed to depth=" in g.source and "max_nodes=15" in g.source


def test_node_budget_without_modules_keeps_the_nodes_nearest_the_output():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x
    for _ in range(60):
        y = (y * 1.01).tanh()
    g = viz.draw_graph(y.sum(), max_nodes=20)
    assert g.summary["nodes"] <= 20
    assert "... 1" in g.source and "more nodes" in g.source and "showing the 19 nodes nearest the output" in g.source
    assert "Sum" in g.source and "in0" not in g.source       # the output end is kept, the far input is not
    if HAS_DOT:
        dot_parses(g.source)


def test_tied_weights_are_drawn_once():
    w = tg.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    loss = ((tg.tensor([[1.0, 2.0]]) @ w) @ w).sum()
    src = viz.draw_graph(loss).source
    inputs = re.findall(r'^\s*(in\d+) \[label="([^"]*)"', src, re.M)
    w_nodes = [name for name, label in inputs if "no grad" not in label]   # (the other input is the constant x)
    assert len(w_nodes) == 1 and len(inputs) == 2
    assert f"{w_nodes[0]} -> op0" in src and f"{w_nodes[0]} -> op1" in src

    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = TinyLinear([[1.0, 2.0], [3.0, 4.0]], [0.0, 0.0])
            self.b = TinyLinear([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0])
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x)).sum()
    model = Tied()
    with viz.trace(model):
        loss = model(tg.tensor([[1.0, 1.0]]))
    src = viz.draw_graph(loss, model=model).source
    assert src.count("{a.weight (tied: b.weight)|") == 1 and "{b.weight" not in src
    labels = re.findall(r'^\s*in\d+ \[label="([^"]*)"', src, re.M)
    assert len([label for label in labels if "no grad" not in label]) == 3      # a.weight, a.bias, b.bias


# ---------------------------------------------------------------- backward view and step-through
def test_backward_steps_follow_the_engines_order():
    L, _ = scalar_expression()
    order = autograd._topological_order(L.grad_fn)
    frames = list(viz.backward_steps(L))
    assert len(frames) == len(order) == viz.draw_graph(L).summary["ops"]
    for k, (frame, node) in enumerate(zip(frames, reversed(order))):
        assert f"backward step {k + 1}/{len(order)}: {type(node).__name__}.backward" in frame.source
        current = f"op{len(order) - 1 - k}"
        assert 'fillcolor="#ffd54f"' in node_line(frame.source, current)
        for later in range(len(order) - k, len(order)):      # already visited: greyed out
            assert 'fillcolor="#d9d9d9"' in node_line(frame.source, f"op{later}")
    assert "op2 -> v1" in frames[0].source                    # backward view: edges point to the inputs
    assert "{a|() float32 cpu|data 2}" in frames[0].source     # a's gradient is not known yet at the first step
    assert "{a|() float32 cpu|data 2|grad 6}" in frames[-1].source


def test_steps_on_a_collapsed_model():
    stack = Stack(3)
    loss = traced_loss(stack)
    frames = list(viz.backward_steps(loss, model=stack, depth=1))
    assert len(frames) == viz.draw_graph(loss).summary["ops"]
    assert 'fillcolor="#ffd54f"' in frames[-1].source


def test_gpt_depth2_draws_block_x_n():
    from tinygrad_tf.nn.models import GPT, GPTConfig
    tg.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=20, context_length=8, d_model=8, n_layer=3, n_head=2, d_ff=16, dropout=0.0))
    ids = np.array([[1, 2, 3, 4, 5, 6]])
    with viz.trace(gpt):
        loss = gpt(ids, labels=ids).loss
    loss.backward()
    g = viz.draw_graph(loss, model=gpt, depth=2)
    assert "Block x 3\\nblocks.0-2" in g.source and g.summary["nodes"] < 40
    assert "wte.weight" in g.source
    b = viz.draw_graph(loss, model=gpt, depth=2, view="backward", expand="blocks.1")
    assert 'label="blocks.1 (Block)"' in b.source
    if HAS_DOT:
        assert "<svg" in dot_parses(g.source)


# ---------------------------------------------------------------- rendering
def test_render_without_dot_writes_the_source_and_one_line(tmp_path, monkeypatch, capsys):
    g = viz.draw_graph(scalar_expression()[0])
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))                  # no `dot` anywhere
    out = viz.render(g, tmp_path / "graph.svg")
    assert out == tmp_path / "graph.dot" and out.read_text() == g.source
    assert not (tmp_path / "graph.svg").exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "apt-get install graphviz" in err and "brew install graphviz" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "graph.dot"]     # no temp files left
    saved = g.render(str(tmp_path / "direct"), format="png")                      # the Digraph's own render
    assert Path(saved).read_text() == g.source and "install Graphviz" in capsys.readouterr().err
    assert "install Graphviz" in g._repr_mimebundle_()["text/plain"]


def test_render_rejects_unknown_formats(tmp_path):
    g = viz.draw_graph(scalar_expression()[0])
    with pytest.raises(ValueError, match="format"):
        viz.render(g, tmp_path / "g.bmp")
    assert viz.render(g.source, tmp_path / "g", format="dot").read_text() == g.source


@needs_dot
def test_render_with_dot(tmp_path):
    g = viz.draw_graph(traced_loss(MLP()), model=None, view="backward")
    svg = viz.render(g, tmp_path / "g.svg")
    assert svg.suffix == ".svg" and "<svg" in svg.read_text()
    png = viz.render(g, tmp_path / "g", format="png")
    assert png.name == "g.png" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert viz.render(g, tmp_path / "g.pdf").read_bytes()[:4] == b"%PDF"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# ---------------------------------------------------------------- small cases and errors
def test_leaves_and_constants():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.name = "x"
    assert "{x|(2,) float32 cpu|data [1, 2]|grad None}" in viz.draw_graph(x).source
    c = tg.tensor(3.0)
    assert viz.draw_graph(c).summary["nodes"] == 1


def test_bad_arguments_are_named():
    y = (tg.tensor([1.0], requires_grad=True) * 2).sum()
    with pytest.raises(ValueError, match="view"):
        viz.draw_graph(y, view="sideways")
    with pytest.raises(ValueError, match="max_nodes"):
        viz.draw_graph(y, max_nodes=0)
    with pytest.raises(ValueError, match="show_values"):
        viz.draw_graph(y, show_values="some")
    with pytest.raises(TypeError, match="Tensor"):
        viz.draw_graph([1, 2])
