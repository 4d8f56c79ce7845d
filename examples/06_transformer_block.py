"""06 — The transformer block: attention + MLP, each in a residual, with norms.

Shows nn.Block in its three residual layouts (pre, post, sandwich), the size of
the residual stream through a stack of blocks, why the residual lets gradients
reach the first layers, and a small stack of blocks learning a task that needs
attention (docs/lesson-05-blocks-and-residuals.md explains each).

    python -i examples/06_transformer_block.py
    >>> print(block)                  # the modules of one block
    >>> rms["pre"], rms["post"]       # the residual stream's size after each block
"""

import numpy as np

import tinygrad_tf as tg
from tinygrad_tf import nn
from tinygrad_tf.nn import functional as F
from tinygrad_tf.optim import AdamW

tg.manual_seed(0)

# --- 1. one block: (B, T, d_model) in, the same shape out
block = nn.Block(d_model=32, n_head=4, d_ff=128)          # pre-LN, LayerNorm, GELU (GPT-2)
print(block)
x = tg.randn(2, 6, 32)
y, weights, _ = block(x, output_attentions=True)
print("in", x.shape, "-> out", y.shape, "; attention weights", weights.shape)

# --- 2. the residual stream through 8 blocks, in each layout (its root-mean-square after each block)
rms = {}
for residual in ("pre", "post", "sandwich"):
    tg.manual_seed(1)
    stack = [nn.Block(32, 4, 128, residual=residual) for _ in range(8)]
    h, sizes = tg.randn(2, 6, 32), []
    with tg.no_grad():
        for b in stack:
            h = b(h)[0]
            sizes.append(round((h * h).mean().sqrt().item(), 2))
    rms[residual] = sizes
    print(f"{residual:9} stream rms per block: {sizes}")


# --- 3. gradients with and without residual connections (30 Linear + tanh layers)
def input_gradient(residual, n_layer=30):
    tg.manual_seed(2)
    layers = [nn.Sequential(nn.Linear(32, 32), nn.Tanh()) for _ in range(n_layer)]
    inp = tg.randn(4, 32, requires_grad=True)
    h = inp
    for f in layers:
        h = h + f(h) if residual else f(h)
    h.sum().backward()
    return (inp.grad ** 2).sum().sqrt().item()


print(f"\n|dL/dx| at the input of 30 layers: with residuals {input_gradient(True):.3g}, "
      f"without {input_gradient(False):.3g}")

# --- 4. two blocks learn a task that needs attention: repeat the token from 3 positions back
tg.manual_seed(3)
V, T, D = 8, 10, 32
embed, pos = nn.Embedding(V, D), nn.Embedding(T, D)
blocks = nn.ModuleList([nn.Block(D, 4, 4 * D), nn.Block(D, 4, 4 * D)])
norm, head = nn.LayerNorm(D), nn.Linear(D, V)
params = [p for m in (embed, pos, blocks, norm, head) for p in m.parameters()]
opt = AdamW(params, lr=1e-2, weight_decay=0.0)
for step in range(60):
    ids = np.random.default_rng(step).integers(0, V, (8, T))
    h = embed(tg.tensor(ids)) + pos(tg.arange(T))
    for b in blocks:
        h = b(h)[0]
    logits = head(norm(h))[:, 3:]                           # from position 3 on, the target is ids[t - 3]
    loss = F.cross_entropy(logits.reshape(-1, V), tg.tensor(ids[:, :-3].reshape(-1)))
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 15 == 0 or step == 59:
        acc = (logits.argmax(-1).numpy() == ids[:, :-3]).mean()
        print(f"step {step:3}: loss {loss.item():.3f}, accuracy {acc:.2f}")
print(f"two blocks learned to copy from 3 positions back: final accuracy {acc:.2f}")
