"""16 — Figures for a slide or a paper (matplotlib), and the backward pass as a player (one HTML page).

Needs the plots extra: pip install -e ".[plots]". Everything is written into ./figures/; the format of each
figure comes from its file name (.svg, .png, .pdf). The same objects show themselves in a Jupyter cell: put
``maps.heatmap(1, 0)`` or ``player`` last in a cell, or ``maps.heatmap(1, 0).figure()`` for the matplotlib
figure (change it there as any matplotlib figure).

    python -i examples/16_figures_and_player.py
    >>> maps.heatmap(0, 1).save_figure("figures/another_head.pdf")
    >>> fig = monitor.figure(which="params"); fig.axes[0].set_title("every parameter"); fig.save("figures/p.svg")
"""

from pathlib import Path

import tinygrad_tf as tg
from tinygrad_tf import viz
from tinygrad_tf.nn.models import GPT, GPTConfig

tg.manual_seed(0)
out = Path("figures")

# --- 1. a tiny GPT learns "the next letter is the one two back" for 60 steps, watched by a dashboard and a monitor
text = "abcabcabcabcabca"
vocab = sorted(set(text))
ids = tg.tensor([[vocab.index(c) for c in text]])
model = GPT(GPTConfig(vocab_size=len(vocab), context_length=16, d_model=32, n_layer=2, n_head=2))
opt = tg.optim.AdamW(model.parameters(), lr=1e-2)
dash = viz.TrainingDashboard(total_steps=60, title="a tiny GPT on abcabc…")
monitor = viz.GradientMonitor(model, track_updates=False)
for step in range(1, 61):
    loss = model(ids, labels=ids).loss
    loss.backward()
    grad_norm = sum(float((p.grad.data ** 2).sum()) for p in model.parameters() if p.grad is not None) ** 0.5
    monitor.record(step)
    opt.step()
    opt.zero_grad()
    dash.update({"step": step, "loss": loss.item(), "lr": 1e-2, "grad_norm": grad_norm})

# --- 2. its figures: one head with the letters on both axes, every head, the gradients, the training curves
maps = viz.attention_maps(model, ids, tokens=list(text))
written = [maps.heatmap(1, 0).save_figure(out / "head.svg"),
           maps.overview().save_figure(out / "heads.png"),
           monitor.save_figure(out / "gradients.svg"),
           dash.save_figure(out / "training.pdf"),
           viz.model_summary(model).save_figure(out / "parameters.png")]

# --- 3. micrograd's neuron, backward one node at a time: buttons, a slider, ← →; open the page in a browser
x1, x2 = tg.tensor(2.0, requires_grad=True), tg.tensor(0.0, requires_grad=True)
w1, w2 = tg.tensor(-3.0, requires_grad=True), tg.tensor(1.0, requires_grad=True)
b = tg.tensor(6.8813735870195432, requires_grad=True)
for t, name in ((x1, "x1"), (x2, "x2"), (w1, "w1"), (w2, "w2"), (b, "b")):
    t.name = name
o = (x1 * w1 + x2 * w2 + b).tanh()
o.backward()
try:
    player = viz.play(viz.backward_steps(o), title="o = tanh(x1·w1 + x2·w2 + b), backward")
    written.append(player.save(out / "backward.html"))
    print(f"player: {len(player)} frames, from {player.captions[0]!r} to {player.captions[-1]!r}")
except RuntimeError as e:                          # no Graphviz `dot`: the frames cannot be drawn
    print(f"player: not written ({e})")
print(f"final loss {dash.loss[-1]:.3f}; wrote {len(written)} files to {out}/: {', '.join(p.name for p in written)}")
