"""Where is each token? The position encodings a transformer can use.

- learned:     a table of vectors, one per position, added to the token embeddings (GPT-2's ``wpe``).
- sinusoidal:  a fixed table of sines and cosines (Vaswani et al. 2017), added the same way.
- rope:        rotary embeddings (Su et al. 2021): q and k are rotated by an angle proportional to their
               position, so q.k depends on the positions only through their difference (Llama).
- alibi:       no embeddings at all; each head adds -slope * distance to its attention scores
               (Press et al. 2021), so far-away keys count less.
- none:        nothing: a causal model can still infer positions from what it may attend to.
- relative:    T5's learned bias per (bucketed) key - query distance and head, added to the scores
               (``RelativePositionBias``; used by the T5 model, not a GPTConfig choice).

Every encoding here takes *absolute* positions (``offset`` = tokens already in the KV cache).
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..factory import cat
from ..tensor import Tensor
from .module import Module

POSITIONS = ("learned", "sinusoidal", "rope", "alibi", "none")


def positions(t, offset=0, device="cpu"):
    """The int64 positions offset, offset+1, ..., offset+t-1 as a Tensor."""
    return Tensor._wrap(backend.xp_for(device).arange(offset, offset + t, dtype=np.int64), device)


# ---------------------------------------------------------------- sinusoidal
def sinusoidal_table(n_positions, d, base=10000.0):
    """PE[p, 2i] = sin(p / base^(2i/d)),  PE[p, 2i+1] = cos(p / base^(2i/d))   (an (n_positions, d) array)."""
    p = np.arange(n_positions, dtype=np.float64)[:, None]
    angle = p / base ** (np.arange(0, d, 2, dtype=np.float64) / d)      # (n, ceil(d/2))
    pe = np.zeros((n_positions, d))
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle[:, : d // 2])
    return pe


class SinusoidalPositionalEncoding(Module):
    """``forward(pos)`` -> the fixed vectors of those positions (no parameters; the table is a buffer)."""

    def __init__(self, n_positions, d_model, base=10000.0):
        super().__init__()
        self.n_positions, self.d_model = n_positions, d_model
        self.register_buffer("table", Tensor(sinusoidal_table(n_positions, d_model, base).astype(np.float32)),
                             persistent=False)

    def forward(self, pos):
        return self.table[pos.data if isinstance(pos, Tensor) else pos]

    def extra_repr(self):
        return f"{self.n_positions}, {self.d_model}"


# ---------------------------------------------------------------- RoPE
def rotate_half(x):
    """[x1, x2] -> [-x2, x1] on the last axis, halves split down the middle (HF Llama's convention)."""
    h = x.shape[-1] // 2
    return cat([-x[..., h:], x[..., :h]], dim=-1)


def apply_rotary(x, cos, sin):
    """Rotate each pair (x[i], x[i + d/2]) by the angle pos * theta^(-2i/d):  x cos + rotate_half(x) sin."""
    return x * cos + rotate_half(x) * sin


class RotaryEmbedding(Module):
    """``forward(pos)`` -> (cos, sin), each (T, head_dim), to pass to ``apply_rotary`` for q and k.

    Frequencies inv_freq[i] = theta^(-2i/d) for i < d/2, each used twice (once per half), so the
    angle of position p in feature j is p * inv_freq[j mod d/2].
    """

    def __init__(self, head_dim, theta=10000.0):
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"RoPE needs an even head dimension, got {head_dim}")
        self.head_dim, self.theta = head_dim, theta
        inv_freq = 1.0 / theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
        self.register_buffer("inv_freq", Tensor(inv_freq), persistent=False)

    def forward(self, pos, dtype=np.float32):
        xp = backend.xp_for(self.inv_freq.device)
        p = pos.data if isinstance(pos, Tensor) else xp.asarray(pos)
        freqs = p.astype(np.float64)[..., None] * self.inv_freq.data          # (T, d/2), float64 for accuracy
        angle = xp.concatenate([freqs, freqs], axis=-1)                         # (T, d)
        device = self.inv_freq.device
        return (Tensor._wrap(xp.cos(angle).astype(dtype), device), Tensor._wrap(xp.sin(angle).astype(dtype), device))

    def extra_repr(self):
        return f"head_dim={self.head_dim}, theta={self.theta}"


# ---------------------------------------------------------------- ALiBi
def alibi_slopes(n_head):
    """The head slopes of the ALiBi paper: for n a power of two, the geometric sequence starting at and with
    ratio 2^(-8/n) (so 1/2, 1/4, ..., 1/256 for 8 heads); otherwise the slopes for the closest lower power
    of two m, followed by every other slope of the 2m-head sequence (the ones that fall between them)."""
    def power_of_2(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start ** i for i in range(n)]
    if math.log2(n_head).is_integer():
        return power_of_2(n_head)
    m = 2 ** math.floor(math.log2(n_head))
    return power_of_2(m) + alibi_slopes(2 * m)[0::2][: n_head - m]


class ALiBi(Module):
    """``forward(q_pos, k_pos)`` -> the additive attention bias (1, H, T, S) = -slope_h * |q_pos - k_pos|.

    (The paper writes slope * (k - q) for the causal case; the future half is masked anyway, and the
    absolute distance also makes sense for a bidirectional model.)
    """

    def __init__(self, n_head):
        super().__init__()
        self.n_head = n_head
        self.register_buffer("slopes", Tensor(np.array(alibi_slopes(n_head), dtype=np.float32)), persistent=False)

    def forward(self, q_pos, k_pos):
        q = q_pos.data if isinstance(q_pos, Tensor) else q_pos
        k = k_pos.data if isinstance(k_pos, Tensor) else k_pos
        dist = abs(q[:, None] - k[None, :]).astype(self.slopes.dtype)          # (T, S)
        return Tensor._wrap(-self.slopes.data[None, :, None, None] * dist[None, None], self.slopes.device)

    def extra_repr(self):
        return f"n_head={self.n_head}"


# ---------------------------------------------------------------- T5's relative position bias
def relative_position_bucket(relative_position, bidirectional=True, num_buckets=32, max_distance=128):
    """Map key - query distances (an int array) to bucket ids in [0, num_buckets), as T5 (Mesh TensorFlow).

    Half the buckets hold exact distances 0, 1, ..., max_exact - 1; the other half cover max_exact up to
    max_distance on a log scale (far-away tokens need less precise positions), and everything beyond
    max_distance shares the last bucket. Bidirectional (the encoder): the buckets are split in two, one
    half for keys before the query and one for keys after it. Causal (the decoder): only keys at or
    before the query exist, so all the buckets go to backward distances.
    The log is taken in float32, as the reference does, so bucket edges fall exactly where its do.
    """
    xp = backend.get_array_module(relative_position)
    rp = relative_position.astype(np.int64)
    buckets = xp.zeros_like(rp)
    if bidirectional:
        num_buckets //= 2
        buckets = buckets + (rp > 0) * num_buckets                # keys after the query: the upper half
        rp = xp.abs(rp)
    else:
        rp = -xp.minimum(rp, 0)                                   # distance back; later keys count as 0
    max_exact = num_buckets // 2
    far = xp.maximum(rp, 1).astype(np.float32) / max_exact        # (max(.,1): the log of 0 is never used)
    log_bucket = max_exact + (xp.log(far) / math.log(max_distance / max_exact)
                              * (num_buckets - max_exact)).astype(np.int64)
    log_bucket = xp.minimum(log_bucket, num_buckets - 1)
    return buckets + xp.where(rp < max_exact, rp, log_bucket)


class RelativePositionBias(Module):
    """T5's position signal: a learned scalar per (bucket of key - query distance, head), added to the
    attention scores. ``forward(q_pos, k_pos)`` -> (1, H, T, S). T5 computes it once per stack, in the
    first layer, and every layer of that stack adds the same bias; there are no position embeddings."""

    def __init__(self, n_head, num_buckets=32, max_distance=128, bidirectional=True):
        super().__init__()
        from .layers import Embedding
        self.n_head, self.num_buckets, self.max_distance = n_head, num_buckets, max_distance
        self.bidirectional = bidirectional
        self.embed = Embedding(num_buckets, n_head)             # row b: one bias per head for bucket b

    def forward(self, q_pos, k_pos):
        q = q_pos.data if isinstance(q_pos, Tensor) else q_pos
        k = k_pos.data if isinstance(k_pos, Tensor) else k_pos
        bucket = relative_position_bucket(k[None, :] - q[:, None], self.bidirectional, self.num_buckets,
                                          self.max_distance)                        # (T, S)
        values = self.embed(Tensor._wrap(bucket, self.embed.weight.device))       # (T, S, H)
        return values.permute(2, 0, 1).unsqueeze(0)                                # (1, H, T, S)

    def extra_repr(self):
        kind = "bidirectional" if self.bidirectional else "causal"
        return f"n_head={self.n_head}, num_buckets={self.num_buckets}, max_distance={self.max_distance}, {kind}"
