"""Make the pictures of docs/seeing-inside.md from the code that draws them (about 15 s on a laptop CPU).

    python scripts/make_doc_images.py                 # writes docs/img/seeing-inside/*.svg
    python scripts/make_doc_images.py --out slides    # anywhere else
    python scripts/make_doc_images.py --only derivative   # one group: graphs, derivative, attention, training

Every picture is a readout of a real computation: a graph after backward, the attention of a tiny GPT
trained for a few seconds (example 12's recipe), the gradient table, the model summary and the dashboard
of a short `Trainer` run on the default corpus, and that run's loss curve. Graphviz's ``dot`` draws the
graphs; without it their DOT source is written instead (and a line says so).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path("docs/img/seeing-inside")


def _graphs(out: Path) -> list[Path]:
    from tinygrad_tf.viz.graph import draw_graph, render
    from tinygrad_tf.viz.graph_presets import GRAPH_PRESETS
    paths = []
    for name, file in (("neuron", "graph_neuron.svg"), ("gpt", "graph_gpt.svg")):
        t, extra = GRAPH_PRESETS[name]()
        t.backward()
        g = draw_graph(t, model=extra.get("model"), depth=extra.get("depth"),
                       rankdir="LR" if name == "neuron" else "TB",
                       title=f"{name}: {GRAPH_PRESETS[name].__doc__.splitlines()[0]}")
        paths.append(render(g, out / file))
    return paths


def _derivative(out: Path) -> list[Path]:
    """d/dx tanh(x) made with create_graph=True: Tanh's backward, recorded op by op, drawn as a graph."""
    import tinygrad_tf as tg
    from tinygrad_tf.viz.graph import draw_graph, render
    x = tg.tensor(0.5, requires_grad=True)
    x.name = "x"
    y = x.tanh()
    y.name = "y"
    (dydx,) = tg.autograd.grad(y, x, create_graph=True)
    dydx.name = "dy/dx"
    g = draw_graph(dydx, params=[y], rankdir="LR",
                   title="d/dx tanh(x) = grad * (1 - y*y), with create_graph=True: the backward pass is a graph")
    return [render(g, out / "graph_tanh_derivative.svg")]


def _attention(out: Path) -> list[Path]:
    """Example 12 in short: a 2-layer GPT learns "the next letter is the one two back" and grows a
    previous-token head; the picture is that head and the overview of all four."""
    import tinygrad_tf as tg
    from tinygrad_tf.nn.models import GPT, GPTConfig
    from tinygrad_tf.optim import AdamW
    from tinygrad_tf.viz.attention import attention_maps
    from tinygrad_tf.viz.readout import save_svg
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    letters = list("abcdefghijklmnop")
    text = "".join((a + b) * 4 for a, b in (rng.choice(letters, 2, replace=False) for _ in range(400)))
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = np.array([stoi[c] for c in text])
    T = 16
    model = GPT(GPTConfig(vocab_size=len(chars), context_length=T, d_model=32, n_layer=2, n_head=2))
    opt = AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    for _ in range(80):
        x = tg.tensor(np.stack([data[i:i + T] for i in rng.integers(0, len(data) - T, 8)]))
        loss = model(x, labels=x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    s = "klklklklpcpcpcpc"
    maps = attention_maps(model, [stoi[c] for c in s], tokens=list(s))
    layer, head = max(((li, h) for li in range(2) for h in range(2)),
                      key=lambda lh: maps.stack().stats(*lh).mass["previous"])
    return [save_svg(maps.heatmap(layer, head), out / "attention_head.svg", width=90, title="attention"),
            save_svg(maps.overview(), out / "attention_overview.svg", width=90, title="attention overview")]


def _training(out: Path) -> list[Path]:
    """A short Trainer run on the default corpus with the dashboard, a gradient monitor and the loss curve."""
    from rich.console import Console

    from tinygrad_tf.nn.models import GPT
    from tinygrad_tf.train import TrainConfig, Trainer
    from tinygrad_tf.viz.dashboard import dashboard_callbacks, save_loss_curve
    from tinygrad_tf.viz.gradients import GradientMonitor
    from tinygrad_tf.viz.readout import save_svg
    from tinygrad_tf.viz.summary import model_summary
    cfg = TrainConfig(preset="tiny", steps=150, eval_interval=25, eval_iters=4, batch_size=8, warmup_steps=10,
                      lr=3e-3)
    trainer = Trainer(cfg, console=Console(file=io.StringIO()), show_progress=False)
    dash = dashboard_callbacks(trainer, grad_table=True, title="tinygrad-tf train --preset tiny --steps 150",
                               plot_height=6)
    monitor = GradientMonitor(trainer.model, hooks=True, max_rows=12, history=30)
    trainer.callbacks.append(monitor)
    history = trainer.run()
    paths = [save_svg(dash, out / "dashboard.svg", width=100, title="training dashboard"),
             save_loss_curve(history, out / "loss_curve.svg", title="tiny GPT on the Python Language Reference"),
             save_svg(monitor, out / "gradients.svg", width=100, title="gradients")]
    demo = GPT(TrainConfig(preset="demo").model_config(trainer.tokenizer.vocab_size))   # `tinygrad-tf demo`'s
    ids = [[int(i) for i in trainer.task.data.val[:demo.config.context_length]]]
    paths.append(save_svg(model_summary(demo, input_ids=ids, depth=2), out / "summary.svg", width=100,
                          title="model summary"))
    return paths


MAKERS = {"graphs": _graphs, "derivative": _derivative, "attention": _attention, "training": _training}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python scripts/make_doc_images.py",
                                 description="Write the SVG pictures of docs/seeing-inside.md.")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help=f"folder (default {DEFAULT_OUT})")
    ap.add_argument("--only", choices=sorted(MAKERS), help="make only these pictures (default: all)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [p for name, make in MAKERS.items() if args.only in (None, name) for p in make(out)]
    for p in paths:
        note = "" if Path(p).suffix == ".svg" else "  (DOT source: install Graphviz for the SVG)"
        print(f"wrote {p}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
