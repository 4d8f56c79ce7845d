"""04 — Attention from scratch: one head, the causal mask, then many heads on a batch.

Attention is a weighted average of values, with weights from how well each
query matches each key:  softmax(q k^T / sqrt(d)) v.  Built here from Tensor
ops and compared with nn.functional.scaled_dot_product_attention and
nn.MultiHeadAttention (docs/lesson-03-attention.md explains each step).

    python -i examples/04_attention_from_scratch.py
    >>> w.numpy().round(2)            # who attends to whom (rows sum to 1)
    >>> weights[0, 1].numpy().round(2)  # head 1 of the multi-head module, sequence 0
"""

import math

import numpy as np

import tinygrad_tf as tg
from tinygrad_tf import nn
from tinygrad_tf.nn import functional as F

tg.manual_seed(0)

# --- 1. one head: tokens -> queries, keys, values -> weights -> a weighted average of values
T, d_model, d = 5, 8, 4
x = tg.randn(T, d_model)                                  # five tokens (embeddings, in a model)
Wq, Wk, Wv = (tg.randn(d_model, d) / math.sqrt(d_model) for _ in range(3))
q, k, v = x @ Wq, x @ Wk, x @ Wv                          # (5, 4) each
scores = q @ k.T / math.sqrt(d)                           # (5, 5): query i against key j
w = scores.softmax(dim=-1)                                # each row sums to 1
out = w @ v                                               # (5, 4)
print("shapes: q", q.shape, " scores", scores.shape, " out", out.shape)
print("attention weights (row i = where token i looks):\n", w.numpy().round(2))
ref = F.scaled_dot_product_attention(q, k, v)
print("same as F.scaled_dot_product_attention:", np.allclose(ref.numpy(), out.numpy(), atol=1e-6))

# --- 2. why / sqrt(d): unscaled dot products grow like sqrt(d) and saturate the softmax
qq, kk = tg.randn(2000, 256), tg.randn(2000, 256)
raw = (qq * kk).sum(dim=-1)
print(f"\nd=256: std of q.k = {raw.std().item():.1f}; divided by sqrt(d): {(raw / 16).std().item():.2f}")

# --- 3. the causal mask: position i may only look at j <= i
mask = F.causal_mask(T)                                   # True on and below the diagonal
wc = scores.masked_fill(~mask, float("-inf")).softmax(dim=-1)
print("\ncausal weights (zero above the diagonal):\n", wc.numpy().round(2))
causal = F.scaled_dot_product_attention(q, k, v, is_causal=True)
print("same as is_causal=True:", np.allclose(causal.numpy(), (wc @ v).numpy(), atol=1e-6))

# the future cannot leak: position 1's output has no gradient from tokens 2, 3, 4
xg = tg.tensor(x.numpy(), requires_grad=True)
F.scaled_dot_product_attention(xg @ Wq, xg @ Wk, xg @ Wv, is_causal=True)[1].sum().backward()
print("|gradient| reaching each token from output 1:", np.abs(xg.grad.numpy()).sum(axis=1).round(3))

# --- 4. many heads on a batch: the heads become one more batch axis
B, T, d_model, H = 2, 6, 16, 4
dh = d_model // H
mha = nn.MultiHeadAttention(d_model, H, causal=True)
xb = tg.randn(B, T, d_model)


def split_heads(t):                                       # (B, T, H * dh) -> (B, H, T, dh)
    return t.reshape(B, T, H, dh).transpose(1, 2)


qh, kh, vh = split_heads(mha.q_proj(xb)), split_heads(mha.k_proj(xb)), split_heads(mha.v_proj(xb))
att = (qh @ kh.transpose(-2, -1) / math.sqrt(dh)).masked_fill(~F.causal_mask(T), float("-inf")).softmax(-1)
mine = mha.o_proj((att @ vh).transpose(1, 2).reshape(B, T, d_model))    # merge heads, mix them
theirs, weights = mha(xb, output_attentions=True)
print(f"\nbatch {B}, {H} heads: per-head q {qh.shape}, weights {weights.shape}")
diff = np.abs(mine.numpy() - theirs.numpy()).max()
print(f"multi-head attention by hand matches nn.MultiHeadAttention: max abs diff {diff:.1e}")

# --- 5. and its gradient is right: gradcheck in float64
q64, k64, v64 = (tg.randn(3, 4, dtype=tg.float64, requires_grad=True) for _ in range(3))
print(tg.gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True), q64, k64, v64)
      .describe())
