"""``nn.MultiheadAttention``: PyTorch's attention layer, with its parameter names, layouts and mask rules,
so a PyTorch program (and its ``state_dict``) runs unchanged.

    q, k, v = query Wq^T + bq,  key Wk^T + bk,  value Wv^T + bv        (Wq, Wk, Wv: the three row blocks of
                                                                         in_proj_weight (3E, E))
    split into H heads of E/H:  (N, L, E) -> (N, H, L, E/H)
    a_h = softmax(q_h k_h^T / sqrt(E/H) + mask) v_h
    y = concat(a_1 .. a_H) Wo^T + bo                                    (out_proj)

The layer the GPT/BERT/T5 models use is ``nn.MultiHeadAttention`` (attention.py: separate q/k/v/o
projections, RoPE, KV cache); this one is PyTorch's, for code written against ``torch.nn``. Its
differences from that one are PyTorch's: sequence-first inputs unless ``batch_first=True``, masks where
True means *masked out*, and attention weights averaged over the heads unless asked otherwise.
"""

from __future__ import annotations

import numpy as np

from ..factory import cat, empty, zeros
from ..tensor import Tensor
from ..tensor_args import _check_probability
from . import functional as F
from . import init
from .layers import Linear
from .module import Module, Parameter

__all__ = ["MultiheadAttention", "NonDynamicallyQuantizableLinear"]


class NonDynamicallyQuantizableLinear(Linear):
    """A plain Linear under the name PyTorch gives MultiheadAttention's ``out_proj`` (so reprs match)."""


class MultiheadAttention(Module):
    """PyTorch's ``nn.MultiheadAttention(embed_dim, num_heads, ...)``.

    Parameters (PyTorch's names and shapes, so its ``state_dict`` loads): ``in_proj_weight`` (3E, E) with
    the query, key and value projections stacked, ``in_proj_bias`` (3E,), ``out_proj.weight`` /
    ``out_proj.bias``; when ``kdim`` or ``vdim`` differ from E, ``q_proj_weight`` (E, E), ``k_proj_weight``
    (E, kdim) and ``v_proj_weight`` (E, vdim) instead of ``in_proj_weight``. ``add_bias_kv`` adds learned
    ``bias_k`` / ``bias_v`` (1, 1, E) as one more key/value position; ``add_zero_attn`` adds a position of
    zeros. Initialised as PyTorch: Xavier-uniform projections, zero biases.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim must be divisible by num_heads, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads}")
        _check_probability("MultiheadAttention", "dropout", dropout)
        e = embed_dim
        self.embed_dim, self.num_heads, self.head_dim = e, num_heads, e // num_heads
        self.kdim = kdim if kdim is not None else e
        self.vdim = vdim if vdim is not None else e
        self._qkv_same_embed_dim = self.kdim == e and self.vdim == e
        self.dropout, self.batch_first, self.add_zero_attn = dropout, batch_first, add_zero_attn
        kw = dict(device=device, dtype=dtype)
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * e, e, **kw))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(empty(e, e, **kw))
            self.k_proj_weight = Parameter(empty(e, self.kdim, **kw))
            self.v_proj_weight = Parameter(empty(e, self.vdim, **kw))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * e, **kw))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(e, e, bias=bias, **kw)
        if add_bias_kv:
            self.bias_k, self.bias_v = Parameter(empty(1, 1, e, **kw)), Parameter(empty(1, 1, e, **kw))
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)          # the whole (3E, E) matrix: fans E and 3E
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        """-> (attn_output, attn_weights or None), as PyTorch.

        query (L, N, E), key (S, N, kdim), value (S, N, vdim) — or (N, L, E) ... with ``batch_first``, or
        (L, E) ... unbatched. ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S) or (N * num_heads, L, S):
        bool True = this key is *not* attended to; float = added to the scores. ``attn_output`` has the
        query's layout; ``attn_weights`` is (N, L, S) averaged over the heads, or (N, num_heads, L, S) with
        ``average_attn_weights=False`` (returned after dropout, as PyTorch). ``is_causal`` is PyTorch's hint
        that ``attn_mask`` is the causal mask: the mask must be given, and it is what is applied.
        A query whose keys are all masked gets NaN with ``need_weights=True`` and 0 without, as PyTorch.
        """
        batched = self._check_shapes(query, key, value, key_padding_mask, attn_mask)
        if is_causal and attn_mask is None:
            raise RuntimeError("MultiheadAttention: is_causal=True is only a hint that attn_mask is the causal "
                               "mask, so attn_mask must be given too (as PyTorch), e.g. "
                               "attn_mask = torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)")
        self_attention = query is key and key is value
        if not batched:                                            # everything batch-first from here on
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
        elif not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        n, tq, e = query.shape
        h, d = self.num_heads, self.head_dim
        q, k, v = self._project(query, key, value, self_attention)

        mask = _float_mask(attn_mask, "attn_mask", q.dtype, q.device)
        if mask is not None:                                       # (L, S) or (N*H, L, S) -> broadcasts to (N, H, L, S)
            mask = mask.reshape(1, 1, *mask.shape) if mask.ndim == 2 else mask.reshape(n, h, *mask.shape[1:])
        pad_mask = _float_mask(key_padding_mask, "key_padding_mask", q.dtype, q.device)
        if pad_mask is not None:
            pad_mask = pad_mask.reshape(n, -1)
        if self.bias_k is not None:                                # one more key/value: the learned biases
            k = cat([k, self.bias_k.expand(n, 1, e)], dim=1)
            v = cat([v, self.bias_v.expand(n, 1, e)], dim=1)
            mask, pad_mask = _one_more_key(mask), _one_more_key(pad_mask)
        q, k, v = (x.reshape(n, x.shape[1], h, d).transpose(1, 2) for x in (q, k, v))     # (N, H, T, d)
        if self.add_zero_attn:                                     # one more key/value: zeros
            z = zeros(n, h, 1, d, dtype=k.dtype, device=k.device)
            k, v = cat([k, z], dim=2), cat([v, z], dim=2)
            mask, pad_mask = _one_more_key(mask), _one_more_key(pad_mask)
        if pad_mask is not None:
            pad_mask = pad_mask.reshape(n, 1, 1, pad_mask.shape[-1])
            mask = pad_mask if mask is None else mask + pad_mask

        p = self.dropout if self.training else 0.0
        y = F._fused_attention(q, k, v, None, mask) if not need_weights and p == 0 else None   # one fused op
        if y is None:
            y, weights = F._attend(q, k, v, None, mask, None, p, safe=not need_weights)
        y = self.out_proj(y.transpose(1, 2).reshape(n, tq, e))  # concatenate the heads
        if need_weights:
            weights = weights.mean(1) if average_attn_weights else weights
        else:
            weights = None
        if not batched:
            return y[0], (None if weights is None else weights[0])
        return (y if self.batch_first else y.transpose(0, 1)), weights

    def _project(self, query, key, value, self_attention):
        e = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            if self_attention:                                     # one product for all three
                return F.linear(query, w, b).chunk(3, dim=-1)
            wq, wk, wv = w[:e], w[e:2 * e], w[2 * e:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def _check_shapes(self, query, key, value, key_padding_mask, attn_mask) -> bool:
        """PyTorch's shape rules, with messages that name the argument and both shapes. Returns batched."""
        name = "MultiheadAttention"
        for arg, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{name}: {arg} must be a Tensor, got {type(t).__name__}")
        if query.ndim not in (2, 3):
            raise ValueError(f"{name}: query should be unbatched 2D (L, E) or batched 3D, got shape {query.shape}")
        batched = query.ndim == 3
        if key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"{name}: key and value must be {query.ndim}-D like the query {query.shape}, got "
                             f"key {key.shape} and value {value.shape}")
        dims = (("query", query, self.embed_dim), ("key", key, self.kdim), ("value", value, self.vdim))
        for arg, t, want in dims:
            if t.shape[-1] != want:
                raise ValueError(f"{name}: {arg} has embedding dimension {t.shape[-1]} (shape {t.shape}), "
                                 f"expected {want}")
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(f"{name}: key shape {key.shape} does not match value shape {value.shape}")
        batch_dim = 0 if self.batch_first else 1
        seq_dim = 1 - batch_dim
        if batched and query.shape[batch_dim] != key.shape[batch_dim]:
            raise ValueError(f"{name}: query {query.shape} and key {key.shape} have different batch sizes "
                             f"(batch_first={self.batch_first})")
        n = query.shape[batch_dim] if batched else None
        tq = query.shape[seq_dim] if batched else query.shape[0]
        s = key.shape[seq_dim] if batched else key.shape[0]
        if key_padding_mask is not None:
            want = (n, s) if batched else (s,)
            if tuple(key_padding_mask.shape) != want:
                raise ValueError(f"{name}: key_padding_mask must have shape {want} (batch, keys), got "
                                 f"{tuple(key_padding_mask.shape)}")
        if attn_mask is not None:
            shape = tuple(attn_mask.shape)
            want3 = ((n if batched else 1) * self.num_heads, tq, s)
            if shape not in ((tq, s), want3):
                raise ValueError(f"{name}: attn_mask must have shape {(tq, s)} or {want3} (batch * num_heads, "
                                 f"queries, keys), got {shape}")
        return batched


def _float_mask(mask, name, dtype, device):
    """PyTorch's canonical mask: bool True -> -inf (masked out), False -> 0; a float mask as it is."""
    if mask is None:
        return None
    m = mask if isinstance(mask, Tensor) else Tensor(np.asarray(mask), device=device)
    if m.dtype == np.bool_:
        return zeros(m.shape, dtype=dtype, device=device).masked_fill(m, float("-inf"))
    if m.dtype.kind != "f":
        raise TypeError(f"MultiheadAttention: only bool and floating types of {name} are supported, got {m.dtype}")
    return m


def _one_more_key(mask):
    """A mask over one more key (at the end), which every query may see."""
    return None if mask is None else F.pad(mask, (0, 1))
