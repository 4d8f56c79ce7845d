"""14 — Gradients, update sizes and model summaries: what each number is, checked by hand.

A tiny GPT is summarised (a tree and a table: parameters, their share, output shapes, FLOPs per forward),
the FLOPs are recomputed from the formula, then the model trains for a few steps while a GradientMonitor
reads every gradient: norms per parameter and per layer, the share of exact zeros, NaN / inf counts, and
the size of each update as log10(|Δw| / |w|) (about -3 is healthy). A hand-made SGD step checks that last
number against log10(lr·|g|/|w|); plain SGD with too small and too big a learning rate lands far below
and far above -3. The loss curve goes to ./gradient_readouts/loss_curve.svg.

    python -i examples/14_gradient_readouts.py
    >>> monitor.show = "both"; monitor          # every parameter too
    >>> viz.model_summary(model, ids, show="tree")
"""

import math

import numpy as np
from rich.console import Console

import tinygrad_tf as tg
from tinygrad_tf import viz
from tinygrad_tf.nn.models import GPT, GPTConfig
from tinygrad_tf.optim import SGD, AdamW

tg.manual_seed(0)
rng = np.random.default_rng(0)
console = Console(width=100)

# --- 1. a model summary: the module tree, then a table with parameters, share, output shape and FLOPs
V, T, d, L = 32, 16, 32, 3
model = GPT(GPTConfig(vocab_size=V, context_length=T, d_model=d, n_layer=L, n_head=2))
ids = tg.tensor(rng.integers(0, V, (2, T)))
summary = viz.model_summary(model, input_ids=ids)
console.print(summary)
B, d_ff = 2, model.config.d_ff
by_hand = L * (2 * B * T * (4 * d * d + 2 * d * d_ff) + 4 * B * T * T * d) + 2 * B * T * d * V
print(f"FLOPs per forward: summary {summary.flops:,} = by hand {by_hand:,}: {summary.flops == by_hand}")

# --- 2. train a few steps on "the next token is the one two back", reading the gradients after each step
data = np.array([t for a, b in rng.integers(0, V, (300, 2)) for t in (a, b) * 4])
opt = AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
monitor = viz.GradientMonitor(model, hooks=True, show="layers")   # hooks: .grad may be gone when it reads
dash = viz.TrainingDashboard(total_steps=40, title="training", plot_height=5)
for step in range(1, 41):
    x = tg.tensor(np.stack([data[i:i + T] for i in rng.integers(0, len(data) - T, 8)]))
    loss = model(x, labels=x).loss
    opt.zero_grad()
    loss.backward()
    opt.step()
    opt.zero_grad()
    monitor({"step": step})                  # after opt.step(): "update" is exactly this step's
    dash.update({"step": step, "loss": loss.item(), "grad_norm": monitor.total_grad_norm, "lr": 3e-3})
console.print(dash)
console.print(monitor)
print(f"update size of the whole model at lr 3e-3: {monitor.total.update:.2f} (log10 |Δw|/|w|)")

# --- 3. the update column, checked by hand on one SGD step: log10(lr * |g| / |w|)
def one_sgd_step(lr):
    """A GradientMonitor's reading of one plain SGD step of size lr (the weights are put back afterwards)."""
    saved = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    check = viz.GradientMonitor(model, show="layers")
    model.zero_grad()
    model(x, labels=x).loss.backward()
    check.record(0)                           # copies the weights
    SGD(model.parameters(), lr=lr).step()
    check.record(1)                           # how far they moved
    model.load_state_dict({k: tg.tensor(v) for k, v in saved.items()})
    model.zero_grad()
    return check


lr = 1e-3
w = model.blocks[0].mlp.up.weight
model(x, labels=x).loss.backward()
g_norm, w_norm = np.linalg.norm(w.grad.numpy()), np.linalg.norm(w.numpy())
small = one_sgd_step(lr)
measured = small.latest["blocks.0.mlp.up.weight"].update
print(f"blocks.0.mlp.up.weight: measured {measured:.4f}, log10(lr·|g|/|w|) = {math.log10(lr * g_norm / w_norm):.4f}")
assert abs(measured - math.log10(lr * g_norm / w_norm)) < 1e-3
print("update ratio matches log10(lr·|g|/|w|)")

# --- 4. too small and too big: plain SGD at lr 1e-3 barely moves the weights; at lr 3 they jump
big = one_sgd_step(3.0)
console.print(big)
print(f"whole-model update, log10 |Δw|/|w|: SGD lr 1e-3 {small.total.update:.2f} (too small), SGD lr 3 "
      f"{big.total.update:.2f} (too big), AdamW lr 3e-3 {monitor.total.update:.2f}")

# --- 5. the loss curve as an SVG (what `tinygrad-tf train` saves next to its checkpoint)
path = viz.save_loss_curve(dash, "gradient_readouts/loss_curve.svg", title="40 steps of a tiny GPT")
print(f"wrote {path}")
