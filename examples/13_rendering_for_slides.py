"""13 — Pictures for slides: a computation graph as SVG (Graphviz), terminal readouts as SVG (rich).

Everything is written into ./slides/. The graph goes through Graphviz's `dot`; without it the DOT source
is written instead and a line says how to install Graphviz. The rich readouts need nothing: each is
printed on a recording true-colour console and exported as SVG (viridis cells, square, token labels).

    python -i examples/13_rendering_for_slides.py
    >>> viz.save_svg(maps.heatmap(1, 1), "slides/other_head.svg", width=80)
"""

from pathlib import Path

import numpy as np

import tinygrad_tf as tg
from tinygrad_tf import viz
from tinygrad_tf.nn.models import GPT, GPTConfig

tg.manual_seed(0)
out = Path("slides")

# --- 1. micrograd's neuron, o = tanh(x1 w1 + x2 w2 + b), after backward: values and gradients in the boxes
x1, x2 = tg.tensor(2.0, requires_grad=True), tg.tensor(0.0, requires_grad=True)
w1, w2 = tg.tensor(-3.0, requires_grad=True), tg.tensor(1.0, requires_grad=True)
b = tg.tensor(6.8813735870195432, requires_grad=True)
for t, name in ((x1, "x1"), (x2, "x2"), (w1, "w1"), (w2, "w2"), (b, "b")):
    t.name = name
o = (x1 * w1 + x2 * w2 + b).tanh()
o.name = "o"
o.backward()
graph = viz.draw_graph(o, rankdir="LR", title="o = tanh(x1·w1 + x2·w2 + b)")
path = viz.render(graph, out / "neuron.svg")                  # -> slides/neuron.dot if Graphviz is missing
print(f"graph: {path}" + ("" if path.suffix == ".svg" else "  (DOT source: Graphviz's dot is not installed)"))

# --- 2. a tiny GPT's attention: one head as a heatmap, and all heads as small multiples
model = GPT(GPTConfig(vocab_size=32, context_length=16, d_model=16, n_layer=2, n_head=2))
text = "attention!"
maps = viz.attention_maps(model, [ord(c) % 32 for c in text], tokens=list(text))
print("heatmap:", viz.save_svg(maps.heatmap(1, 0), out / "attention_head.svg", width=80))
print("overview:", viz.save_svg(maps.overview(), out / "attention_heads.svg", width=80))

# --- 3. a model summary and a gradient table, the same way
ids = tg.tensor([[1, 2, 3, 4]])
model(ids, labels=ids).loss.backward()
print("summary:", viz.save_svg(viz.model_summary(model, input_ids=ids, depth=2), out / "summary.svg", width=100))
print("gradients:", viz.save_svg(viz.grad_table(model, show="layers"), out / "gradients.svg", width=100))

# --- 4. any rich renderable works too: here a synthetic previous-token pattern, for a lecture
prev = np.zeros((8, 8))
prev[0, 0] = 1.0
prev[np.arange(1, 8), np.arange(0, 7)] = 1.0
hm = viz.AttentionHeatmap(prev, list("previous"), title="what a previous-token head looks like")
print("synthetic:", viz.save_svg(hm, out / "previous_token.svg", width=70))
svgs = sorted(p.name for p in out.glob("*.svg"))
print(f"wrote {len(svgs)} SVG files to {out}/: {', '.join(svgs)}")
