"""What the readouts say about their own numbers, in words a newcomer reads: the dashboard explains nats,
|grad| and a validation loss below the training loss; the gradient table's footer is not Python API text;
each attention-overview caption sits on its own map's line, not between two rows of maps."""

from __future__ import annotations

import io
import re

import numpy as np
from rich.console import Console

from tinygrad_tf import nn, viz
from tinygrad_tf.viz.attention_analysis import AttentionStack


def render(obj, width=100) -> str:
    c = Console(file=io.StringIO(), width=width, record=True)
    c.print(obj)
    return c.export_text()


def flat(text: str) -> str:
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def dashboard(val):
    d = viz.TrainingDashboard(total_steps=10)
    for step in range(1, 6):
        d.update({"step": step, "loss": 3.0 - 0.2 * step, "lr": 1e-3, "grad_norm": 1.7, "tokens_per_sec": 900.0,
                  **({"val_loss": val} if step == 5 else {})})
    return d


def test_the_dashboard_says_what_nats_and_grad_are():
    out = flat(render(dashboard(2.5)))
    assert "nats" in out and "ln V" in out
    assert "|grad|: all gradients as one vector, its length before clipping" in out
    assert "val below loss" not in out                          # val 2.5 > loss 2.0: nothing to explain


def test_the_dashboard_explains_a_validation_loss_below_the_training_loss():
    out = flat(render(dashboard(1.7)))
    assert "val below loss is normal" in out and "one training batch" in out and "held-out" in out
    assert "lesson-09-training.md" in out
    assert "val below loss" not in flat(render(viz.TrainingDashboard(total_steps=10, legend=False)))


def test_the_lab_compact_view_says_it_too():
    from tinygrad_tf.lab.widgets import LiveView
    out = flat(render(LiveView(dashboard(1.7)), width=44))
    assert "nats" in out and "|grad|: before clipping" in out and "val < loss" in out


def test_the_gradient_table_footer_is_words_not_python():
    model = nn.Sequential(*[nn.Linear(3, 3) for _ in range(6)])      # 12 parameters
    for p in model.parameters():
        p.grad = p * 0 + 1
    out = render(viz.grad_table(model, max_rows=8, show="params"), width=120)
    assert "4 more parameters" in out
    assert "max_rows" not in out and "None" not in out


def test_overview_captions_sit_on_their_maps_line_not_between_rows():
    t = 6
    prev = np.zeros((t, t))
    prev[0, 0] = 1
    for q in range(1, t):
        prev[q, q - 1] = 1
    uniform = np.tril(np.ones((t, t))) / np.arange(1, t + 1)[:, None]
    weights = np.stack([np.stack([prev, uniform]), np.stack([uniform, prev])])        # (layers, heads, T, T)
    stack = AttentionStack("self-attention", weights, list("abcdef"))
    lines = render(viz.AttentionGrid(stack)).splitlines()
    l0 = next(i for i, ln in enumerate(lines) if ln.startswith("L0"))
    l1 = next(i for i, ln in enumerate(lines) if ln.startswith("L1"))
    assert lines[l0].split()[1:] == ["prev", "broad"]               # each layer's captions on its own line
    assert lines[l1].split()[1:] == ["broad", "prev"]
    assert lines[l1 - 1].strip() == ""                              # and a blank line before the next layer
    assert all(w not in lines[l1 - 2] for w in ("prev", "broad"))   # no caption at the end of L0's maps
