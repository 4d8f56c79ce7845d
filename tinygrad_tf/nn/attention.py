"""Multi-head attention, with everything GPT, Llama, BERT and T5 need.

    q = x Wq,  k = m Wk,  v = m Wv            (m = x for self-attention, the encoder output for cross-attention)
    split into heads: (B, T, H * d) -> (B, H, T, d)
    a_h = softmax(q_h k_h^T * scale + bias_h, masked) v_h        per head h, scale = 1/sqrt(d) by default
    y = concat(a_1 .. a_H) Wo

Projections are four separate Linears, named as Llama's files (q_proj, k_proj, v_proj, o_proj): Llama,
BERT and T5 store q/k/v separately; GPT-2's fused ``c_attn`` is split in three when it is loaded.

Grouped-query attention: ``n_kv_head`` < ``n_head`` key/value heads, each shared by n_head / n_kv_head
query heads (the fused op stacks each group's query heads into one product; the unfused path, used when
the weights are asked for, repeats the keys). The KV cache stores the un-repeated keys and values.

Unless the attention weights are asked for (``output_attentions``) or dropped (dropout in training), the
product runs as one fused op (F.attention(..., need_weights=False) -> attention_ops.Attention), which
recomputes the weights in backward instead of keeping them; the tests check it equals the unfused path.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import is_grad_enabled
from ..factory import cat
from ..tensor import Tensor
from . import functional as F
from .layers import Linear
from .module import Module
from .positional import apply_rotary


class KVCache:
    """One layer's keys and values so far, each (B, n_kv_head, S, head_dim); ``update`` appends the new ones.

    Decoding appends one position per step. Concatenating would copy the whole cache every step (O(S)
    per token, O(S^2) per sequence), so without a graph to keep the new positions are written into
    buffers that grow by doubling, and ``k``/``v`` are views of their first S positions. When gradients
    flow through the cache (grad mode on and keys that require grad) it concatenates, which autograd
    can follow. For cross-attention the cache holds the projected encoder output, computed once.
    """

    def __init__(self):
        self.k = self.v = None
        self._buffers = None          # (keys, values) arrays of capacity >= len(self), or None

    def __len__(self):
        return 0 if self.k is None else self.k.shape[2]

    def update(self, k, v):
        n, t = len(self), k.shape[2]
        if is_grad_enabled() and (k.requires_grad or v.requires_grad or (n and self.k.requires_grad)):
            self._buffers = None                                  # keep the graph: concatenate
            self.k, self.v = (k, v) if not n else (cat([self.k, k], dim=2), cat([self.v, v], dim=2))
            return self.k, self.v
        kb, vb = self.append(k.data, v.data, k._device)
        self.k, self.v = Tensor._wrap(kb, k._device), Tensor._wrap(vb, v._device)
        return self.k, self.v

    def append(self, k, v, device="cpu"):
        """Write the new keys and values (arrays, (B, n_kv_head, T, head_dim)) after the cached ones, growing the
        buffers by doubling when full; returns views of the buffers' first S positions (arrays). The caller
        sets ``self.k``/``self.v`` to them, wrapped in Tensors (``update``; GPT's decoding step on arrays,
        nn/models/gpt_decode.py)."""
        n, t = len(self), k.shape[2]
        if self._buffers is None or self._buffers[0].shape[2] < n + t:
            grown = []
            for old, new in ((self.k, k), (self.v, v)):
                buf = backend.xp_for(device).empty((*new.shape[:2], max(2 * (n + t), 16), new.shape[3]),
                                                   dtype=new.dtype)
                if n:
                    buf[:, :, :n] = old.data
                grown.append(buf)
            self._buffers = tuple(grown)
        kb, vb = self._buffers
        kb[:, :, n:n + t], vb[:, :, n:n + t] = k, v               # only the new positions are copied
        return kb[:, :, :n + t], vb[:, :, :n + t]

    def __repr__(self):
        return f"KVCache(length={len(self)})"


def repeat_kv(x, n_rep):
    """(B, Hkv, S, d) -> (B, Hkv * n_rep, S, d): each key/value head repeated for its group of query heads."""
    if n_rep == 1:
        return x
    b, h, s, d = x.shape
    return x.unsqueeze(2).expand(b, h, n_rep, s, d).reshape(b, h * n_rep, s, d)


class MultiHeadAttention(Module):
    """Self- or cross-attention over (B, T, d_model) inputs.

    causal:     a query may only see keys at its own position or earlier (GPT); False for BERT / T5 encoder.
    scale:      multiplies q.k; None means 1/sqrt(head_dim); T5 uses 1.0 (its init absorbs the factor).
    cross:      keys/values come from ``memory`` (B, S, d_memory) passed to forward (T5's decoder).
    """

    def __init__(self, d_model, n_head, n_kv_head=None, bias=True, dropout=0.0, causal=True, scale=None,
                 head_dim=None, cross=False, d_memory=None):
        super().__init__()
        n_kv_head = n_kv_head or n_head
        if head_dim is None and d_model % n_head:
            raise ValueError(f"d_model={d_model} is not divisible by n_head={n_head}")
        if n_head % n_kv_head:
            raise ValueError(f"n_head={n_head} is not divisible by n_kv_head={n_kv_head}")
        self.n_head, self.n_kv_head = n_head, n_kv_head
        self.head_dim = head_dim or d_model // n_head
        self.causal, self.scale, self.dropout, self.cross = causal and not cross, scale, dropout, cross
        d_kv_in = d_memory or d_model
        self.q_proj = Linear(d_model, n_head * self.head_dim, bias=bias)
        self.k_proj = Linear(d_kv_in, n_kv_head * self.head_dim, bias=bias)
        self.v_proj = Linear(d_kv_in, n_kv_head * self.head_dim, bias=bias)
        self.o_proj = Linear(n_head * self.head_dim, d_model, bias=bias)

    def forward(self, x, memory=None, attention_mask=None, bias=None, rotary=None, cache=None,
                output_attentions=False):
        """x (B, T, d_model) -> (y (B, T, d_model), attention weights (B, H, T, S) or None).

        attention_mask: (B, S) of 1 (attend) / 0 (padding) over the keys — with a cache, S covers the
                        cached keys too (as Hugging Face); for cross-attention, the memory's padding.
        bias:           additive scores broadcastable to (B, H, T, S): ALiBi, T5's relative positions.
        rotary:         (cos, sin) from RotaryEmbedding for the new positions; rotates q and the new k.
        cache:          a KVCache; the new keys/values are appended and attention covers all of them.
        """
        b, t, _ = x.shape
        q = F.split_heads(self.q_proj(x), self.n_head)                      # (B, T, H * d) -> (B, H, T, d)
        if self.cross and cache is not None and cache.k is not None:
            k, v = cache.k, cache.v                              # encoder keys/values: computed once
        else:
            src = memory if self.cross else x
            if src is None:
                raise ValueError("cross-attention needs memory= (the encoder output)")
            k, v = F.split_heads(self.k_proj(src), self.n_kv_head), F.split_heads(self.v_proj(src), self.n_kv_head)
            if rotary is not None:
                cos, sin = rotary
                q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
            if cache is not None:
                k, v = cache.update(k, v)
        s = k.shape[2]

        # (T, S); one new query (a cached decoding step) is the last position and sees every key: no mask
        mask = F.causal_mask(t, s, x.device) if self.causal and t > 1 else None
        if attention_mask is not None:
            keep = _as_bool(attention_mask, x.device)
            if keep.shape[-1] != s:
                raise ValueError(f"attention_mask covers {keep.shape[-1]} keys but there are {s} "
                                 "(with a KV cache, the mask must include the cached positions)")
            keep = keep.reshape(b, 1, 1, s)                                      # (B, 1, 1, S)
            mask = keep if mask is None else mask & keep
        # grouped-query attention: F.attention shares each key/value head with its group of query heads (the
        # fused op without repeating them; the unfused path, when weights are returned or dropped, repeats them)
        y, w = F.attention(q, k, v, mask, bias, self.scale, self.dropout, self.training,
                           need_weights=output_attentions)
        y = F.merge_heads(y)                                                 # concatenate the heads: (B, T, H * d)
        return self.o_proj(y), (w if output_attentions else None)

    def extra_repr(self):
        kind = "cross" if self.cross else ("causal" if self.causal else "bidirectional")
        kv = f", n_kv_head={self.n_kv_head}" if self.n_kv_head != self.n_head else ""
        return f"n_head={self.n_head}{kv}, head_dim={self.head_dim}, {kind}"


def _as_bool(mask, device):
    m = mask if isinstance(mask, Tensor) else Tensor(mask, device=device)
    return m if m.dtype == np.bool_ else m != 0
