"""05 — Positional encodings: attention cannot see order, so give it positions.

Learned and sinusoidal vectors are added to the tokens; RoPE rotates queries and
keys so that q.k depends only on the distance m - n; ALiBi subtracts
slope * distance from the scores. All in tinygrad_tf.nn.positional
(docs/lesson-04-positional-encodings.md explains each).

    python -i examples/05_positional_encodings.py
    >>> pe[:4, :6].round(2)           # the first sinusoidal vectors
    >>> bias[0, 0].numpy()            # ALiBi's penalty for head 0
"""

import numpy as np

import tinygrad_tf as tg
from tinygrad_tf.nn import functional as F
from tinygrad_tf.nn.models import GPTConfig, count_parameters
from tinygrad_tf.nn.positional import ALiBi, RotaryEmbedding, alibi_slopes, apply_rotary, positions, sinusoidal_table

tg.manual_seed(0)

# --- 1. without positions, attention is permutation-equivariant: shuffle in, shuffle out
x = tg.randn(5, 8)
perm = [3, 0, 4, 1, 2]
y = F.scaled_dot_product_attention(x, x, x)
y_perm = F.scaled_dot_product_attention(x[perm], x[perm], x[perm])
print("shuffled tokens give the same outputs, shuffled: max diff",
      f"{np.abs(y_perm.numpy() - y.numpy()[perm]).max():.1e}")

# --- 2. sinusoidal: sin/cos pairs turning at different speeds; PE[p] . PE[p+k] depends on k only
pe = sinusoidal_table(64, 16)
for k in (1, 4, 16):
    dots = [pe[p] @ pe[p + k] for p in (0, 7, 40)]
    print(f"sinusoidal: PE[p].PE[p+{k:2}] at p = 0, 7, 40: {np.round(dots, 4)}")

# --- 3. RoPE: rotate q and k by angle p * theta_i (pairs i, i + d/2); scores depend on m - n only
rope = RotaryEmbedding(8)
cos, sin = rope(positions(16))
q, k = tg.randn(1, 8), tg.randn(1, 8)


def at(t, p):                                             # place t at position p
    return apply_rotary(t, cos[p:p + 1], sin[p:p + 1])


for m, n in [(3, 1), (9, 7), (15, 13), (9, 1)]:
    print(f"RoPE: q at {m:2}, k at {n:2} (distance {m - n}): q.k = {(at(q, m) * at(k, n)).sum().item():+.5f}")
print("RoPE: q.k depends only on m - n; lengths are kept:",
      np.isclose(np.linalg.norm(q.numpy()), np.linalg.norm(at(q, 11).numpy())))

# --- 4. ALiBi: no vectors at all; each head adds -slope * |i - j| to its scores
print("\nALiBi slopes for 8 heads:", alibi_slopes(8))
bias = ALiBi(4)(positions(6), positions(6))              # (1, 4, 6, 6)
w = bias.masked_fill(~F.causal_mask(6), float("-inf")).softmax(-1)    # heads with no preference but distance
print("ALiBi, query 5, head 0 (steep):  ", w[0, 0, 5].numpy().round(3))
print("ALiBi, query 5, head 3 (shallow):", w[0, 3, 5].numpy().round(3))

# --- 5. in a GPT: only learned positions cost parameters
for position in ("learned", "sinusoidal", "rope", "alibi", "none"):
    cfg = GPTConfig(vocab_size=50, context_length=32, d_model=32, n_layer=2, n_head=4, position=position)
    print(f"GPTConfig(position={position!r:13}): {count_parameters(cfg)} parameters")
