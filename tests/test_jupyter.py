"""Jupyter: every readout and every graph drawing shows itself in a notebook cell (IPython's own display
formatter gives text/html or image/svg+xml), rich's console never displays behind our back, and the training
dashboard redraws one cell output in place inside a real kernel (jupyter_client + ipykernel), detected by
itself: ``with dash.live(): trainer.run()``."""

from __future__ import annotations

import os
import sys
import time

import pytest

import tinygrad_tf as tg
from tinygrad_tf import viz
from tinygrad_tf.nn.models import GPT, GPTConfig, T5, T5Config
from tinygrad_tf.viz.readout import Readout

formatters = pytest.importorskip("IPython.core.formatters", reason="Jupyter display needs IPython (the test extra)")


def display_formats(obj) -> dict:
    data, _ = formatters.DisplayFormatter().format(obj)
    return data


def all_readout_classes():
    out, todo = set(), [Readout]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("tinygrad_tf.viz") and sub not in out:
                out.add(sub)
                todo.append(sub)
    return out


@pytest.fixture(scope="module")
def readouts():
    """One instance of every readout the library has."""
    tg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=32, context_length=16, d_model=32, n_layer=2, n_head=4))
    ids = [[1, 2, 3, 4, 5, 6]]
    maps = viz.attention_maps(model, ids, tokens=list("abcdef"))
    model(tg.tensor(ids), labels=tg.tensor(ids)).loss.backward()
    dash = viz.TrainingDashboard(total_steps=10)
    for s in range(1, 11):
        dash.update({"step": s, "loss": 3 / s, "lr": 1e-3, "grad_norm": 1 / s})
    t5 = T5(T5Config(vocab_size=32, context_length=16, d_model=32, n_layer=1, n_head=2, d_ff=64))
    out = t5(tg.tensor([[1, 2, 3]]), decoder_input_ids=tg.tensor([[0, 4]]), output_attentions=True)
    cross = viz.attention_maps(out, tokens=list("abc"), decoder_tokens=["<s>", "d"]).heatmap(0, 1, "cross")
    return [maps, maps.heatmap(0, 1), maps.overview(), maps.analysis(), maps.rollout(), cross,
            viz.grad_table(model), viz.model_summary(model, ids), viz.config_summary(model.config), dash,
            viz.LinePlot({"loss": ([1, 2, 3], [3.0, 2.0, 1.5])})]


def test_every_readout_shows_itself_as_html(readouts):
    assert {type(r) for r in readouts} >= all_readout_classes(), "a readout class has no instance in this test"
    for r in readouts:
        data = display_formats(r)
        html = data["text/html"]
        assert html.startswith('<pre class="tinygrad-tf-readout"') and html.rstrip().endswith("</pre>"), type(r)
        assert "color: #" in html or "color:#" in html                      # coloured, inline (no stylesheet)
        assert "<script" not in html and "<link" not in html
        assert data["text/plain"].strip()                                   # and the plain form beside it
    heat = display_formats(readouts[1])["text/html"]
    assert "layer 0 · head 1" in heat and "background-color: #" in heat    # viridis cells as backgrounds


def test_braille_plots_keep_their_columns_in_html(readouts):
    html = readouts[-2].html()                                              # the dashboard's loss curve
    cells = html.count('display:inline-block;width:1ch')
    assert cells > 0 and cells == sum(1 for ch in readouts[-2].text() if "\u2801" <= ch <= "\u28ff")


def test_rich_does_not_display_behind_our_back(monkeypatch, readouts):
    """In a kernel rich's consoles display by themselves; ours record (so .html() / .text() show nothing)."""
    import rich.console
    monkeypatch.setattr(rich.console, "_is_jupyter", lambda: True)
    shown = []
    monkeypatch.setattr("rich.jupyter.display", lambda *a, **k: shown.append(a))
    for r in readouts:
        assert r.html() and r.text() and viz.render_text(r)
    assert shown == []


def test_graph_drawings_show_as_svg_and_say_what_is_missing_without_dot(monkeypatch):
    a = tg.tensor(2.0, requires_grad=True)
    a.name = "a"
    loss = (a * a + a).tanh()
    loss.backward()
    drawings = [viz.draw_graph(loss), *viz.backward_steps(loss)]
    import shutil
    if shutil.which("dot"):
        for g in drawings:
            data = display_formats(g)
            assert data["image/svg+xml"].lstrip().startswith(("<?xml", "<svg")) and "Tanh" in data["image/svg+xml"]
            assert data["text/plain"].startswith("<graph drawing: ")
    monkeypatch.setenv("PATH", "")                                          # no Graphviz `dot` anywhere
    data = display_formats(drawings[0])
    assert "image/svg+xml" not in data
    assert "Graphviz's `dot` program is missing" in data["text/html"] and "digraph" in data["text/html"]


# ---------------------------------------------------------------- a real kernel
KERNEL_CODE = '''
import tinygrad_tf as tg
from tinygrad_tf import viz
from tinygrad_tf.train import TrainConfig, Trainer
print("in kernel:", viz.in_kernel())
trainer = Trainer(TrainConfig(preset="tiny", steps=6, eval_interval=3, eval_iters=1, batch_size=2, warmup_steps=1))
dash = viz.dashboard_callbacks(trainer)
with dash.live():
    history = trainer.run()
print("progress back on:", trainer.show_progress)
'''

KERNEL_CODE_2 = '''
dash2 = viz.TrainingDashboard(total_steps=5, title="by hand")
with dash2.live_notebook(interval=0):
    for s in range(1, 6):
        dash2.update({"step": s, "loss": 3.0 / s})
'''


def run_cell(kc, code, timeout=120):
    msg_id = kc.execute(code)
    msgs, deadline = [], time.time() + timeout
    while time.time() < deadline:
        m = kc.get_iopub_msg(timeout=timeout)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            return msgs
        msgs.append(m)
    raise TimeoutError("the kernel did not finish the cell")


def test_dashboard_redraws_one_cell_output_in_a_real_kernel(tmp_path):
    pytest.importorskip("ipykernel", reason="a real kernel needs ipykernel (the test extra)")
    from jupyter_client.manager import start_new_kernel
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env)
    try:
        msgs = run_cell(kc, KERNEL_CODE)
        errors = [m["content"] for m in msgs if m["msg_type"] == "error"]
        assert not errors, errors[0]["evalue"] if errors else ""
        out = "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream")
        assert "in kernel: True" in out and "progress back on: True" in out
        shown = [m for m in msgs if m["msg_type"] in ("display_data", "update_display_data")]
        assert [m["msg_type"] for m in shown][0] == "display_data"
        ids = {m["content"]["transient"].get("display_id") for m in shown}
        assert len(ids) == 1 and None not in ids                             # one output, redrawn in place
        assert any(m["msg_type"] == "update_display_data" for m in shown)
        last = shown[-1]["content"]["data"]["text/html"]
        assert "step 6/6" in last and "tinygrad-tf-readout" in last
        assert "step 6/6" not in out                                          # not printed as text as well
        msgs = run_cell(kc, KERNEL_CODE_2)
        updates = [m for m in msgs if m["msg_type"] == "update_display_data"]
        assert len(updates) == 5 + 1                                          # every step (interval 0), and the end
        assert "step 5/5" in updates[-1]["content"]["data"]["text/html"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_not_a_kernel_here():
    import IPython  # noqa: F401  (imported, but no kernel running: not a notebook)
    assert not viz.in_kernel()
