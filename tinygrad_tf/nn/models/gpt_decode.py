"""GPT's decoding step on arrays: one new token per row, after the tokens in the KV cache.

``generate`` scores every token after the prompt with one such step. It computes what
``GPT.forward(ids, past_key_values=cache)`` computes for one new position, by the array functions that the
ops' ``forward``s call (``parallel_cpu.matmul`` for a Linear, ``nn_ops.normalise_rows`` and ``scale_shift``
for a LayerNorm, ...), in the same order, so the logits and the cache are the same numbers, bit for bit
(tests/test_gpt_decode.py) -- without the modules, ``Function.apply`` and Tensors around each op.

Why: at one position per row the arithmetic is small (a 4-layer, d_model 256 model does ~0.15 ms of
matrix-vector products per token), and the ~70 ops of a step through the modules cost more than that in
Python: Module.__call__, the functional layer's checks, Function.apply, a Tensor per result (~0.4 ms).
PyTorch's nn.TransformerEncoderLayer has an inference fast path for the same reason.

One step of a pre-norm block (x is (B, d_model), one row per sequence):

    h = norm_1(x)
    q, k, v = h Wq, h Wk, h Wv                (split into heads; RoPE rotates q and k)
    K, V = the cache's keys and values, with k and v appended      (B, n_kv_head, S, head_dim)
    x = x + concat_heads(softmax(q K^T * scale + bias) V) Wo        (no mask: the new position sees all S)
    x = x + mlp(norm_2(x))                    mlp = down(act(up(h)))  or  down(act(gate(h)) * up(h))

It runs only where nothing could tell it from the modules (``ready``): the CPU, float32/float64 weights,
no autocast, eval mode, pre-norm blocks built from the library's own modules with the forwards they were
imported with (exact types: a subclass, a swapped-in layer or a patched forward goes through the modules)
and no hooks on any module. Anything else, and every prefill (the prompt's forward pass), goes through
``GPT.forward``. ``set_enabled(False)`` turns it off.
"""

from __future__ import annotations

import math

import numpy as np

from ...attention_ops import attend_by_heads
from ...nn_ops import normalise_rows, rms_normalise_rows, scale_shift
from ...ops import ReLU as ReLUOp, SiLU as SiLUOp, gelu_by_chunks
from ...parallel_cpu import matmul
from ...tensor import Tensor
from .. import amp
from ..activations import GELU, Identity, ReLU, SiLU
from ..attention import MultiHeadAttention
from ..blocks import Block, FeedForward, GatedFeedForward
from ..layers import Dropout, Embedding, Linear
from ..norm import LayerNorm, RMSNorm
from ..positional import apply_rotary, positions

_enabled = True


def set_enabled(flag: bool) -> None:
    """Decode through the modules (False) or on arrays where ``ready`` allows (True, the default)."""
    global _enabled
    _enabled = bool(flag)


def enabled() -> bool:
    return _enabled


# ---------------------------------------------------------------- when it can run
_ACTIVATIONS = (GELU, ReLU, SiLU)
_NORMS = (LayerNorm, RMSNorm, Identity)
# the forward of every module type the step stands in for, as imported: one patched later (on the class or on
# an instance) is a forward the step does not know
_FORWARDS = {cls: cls.forward for cls in (*_ACTIVATIONS, *_NORMS, Block, MultiHeadAttention, FeedForward,
                                          GatedFeedForward, Linear, Embedding, Dropout)}


def _own(m, *types) -> bool:
    """Is m exactly one of the library's ``types``, with the forward it was imported with?"""
    return type(m) in types and "forward" not in m.__dict__ and type(m).forward is _FORWARDS[type(m)]


def ready(model) -> bool:
    """Can ``step`` stand in for ``model.forward`` in this generate call? (Checked once per call; the caller
    checks that the model's own forward and new_cache are GPT's.)"""
    c = model.config
    if not _enabled or model.training or amp.autocast_dtype() is not None or c.residual != "pre":
        return False
    params = list(model.parameters())
    if not params or any(type(p.data) is not np.ndarray or p.dtype not in (np.float32, np.float64)
                         or p.dtype != params[0].dtype for p in params):
        return False
    for m in model.modules():
        if m._forward_hooks or m._forward_pre_hooks or m._backward_hooks or m._backward_pre_hooks:
            return False                       # a hook must see (and may change) every module's call
    if not (_own(model.wte, Embedding) and _own(model.drop, Dropout) and _own(model.lm_head, Linear)
            and _norm_ok(model.ln_f) and all(_block_ok(b) for b in model.blocks)):
        return False
    # a token the head can score but the embedding has no row for: the module path says so (F.embedding)
    return model.lm_head.weight.shape[0] <= model.wte.weight.shape[0]


def _norm_ok(m):
    return _own(m, *_NORMS) and (type(m) is Identity or len(m.normalized_shape) == 1)


def _block_ok(b):
    if not (_own(b, Block) and b.residual == "pre" and b.cross_attn is None):
        return False
    a, mlp = b.attn, b.mlp
    if not (_own(a, MultiHeadAttention) and not a.cross and _own(mlp, FeedForward, GatedFeedForward)):
        return False
    linears = [a.q_proj, a.k_proj, a.v_proj, a.o_proj, mlp.up, mlp.down] + ([mlp.gate] if hasattr(mlp, "gate") else [])
    return (_norm_ok(b.ln_1) and _norm_ok(b.ln_2) and _own(mlp.act, *_ACTIVATIONS)
            and all(_own(m, Linear) for m in linears) and _own(b.drop, Dropout) and _own(mlp.drop, Dropout))


# ---------------------------------------------------------------- the step
class Plan:
    """What ``step`` needs of a model, looked up once per generate call: every norm, linear and activation as a
    function of an array, made of the array functions that the ops' ``forward``s call, weights bound."""

    def __init__(self, model):
        self.model, self.wte = model, model.wte.weight.data
        self.blocks = [_BlockPlan(b) for b in model.blocks]
        self.ln_f, self.lm_head = _norm(model.ln_f), _linear(model.lm_head)


class _BlockPlan:
    def __init__(self, block):
        a, mlp = block.attn, block.mlp
        self.n_head, self.n_kv_head, self.head_dim = a.n_head, a.n_kv_head, a.head_dim
        self.scale = 1 / math.sqrt(a.head_dim) if a.scale is None else a.scale     # (as F.attention)
        self.ln_1, self.ln_2 = _norm(block.ln_1), _norm(block.ln_2)
        self.q, self.k, self.v, self.o = (_linear(m) for m in (a.q_proj, a.k_proj, a.v_proj, a.o_proj))
        up, down, act = _linear(mlp.up), _linear(mlp.down), _activation(mlp.act)
        if type(mlp) is GatedFeedForward:
            gate = _linear(mlp.gate)
            self.mlp = lambda h: down(act(gate(h)) * up(h))                  # down(act(gate(h)) * up(h))
        else:
            self.mlp = lambda h: down(act(up(h)))                            # down(act(up(h)))


def step(plan, ids, cache):
    """Logits (B, vocab) of the token after each row: ``ids`` (B, 1) are the new tokens, placed after the
    ``cache``'s positions (a list of KVCache, one per block, which grows by one position)."""
    model, past = plan.model, len(cache[0])
    pos = positions(1, past, "cpu")                                   # the new position, a Tensor (1,)
    x = plan.wte[ids[:, 0]]                                           # (B, d): the token embeddings' rows
    if model.wpe is not None:
        x = x + model.wpe(pos).data
    rotary = model.rotary(pos, x.dtype) if model.rotary is not None else None
    bias = None
    if model.alibi is not None:                                       # (1, H, 1, S) distance penalties
        bias = model.alibi(pos, positions(past + 1, 0, "cpu")).data.astype(x.dtype, copy=False)
    fill = float(np.finfo(x.dtype).min)                               # (as F.attention; no score is masked)
    for p, kv in zip(plan.blocks, cache):
        b = x.shape[0]
        h = p.ln_1(x)
        q = p.q(h).reshape(b, p.n_head, 1, p.head_dim)                 # (B, H, 1, d): one position per row
        k = p.k(h).reshape(b, p.n_kv_head, 1, p.head_dim)
        v = p.v(h).reshape(b, p.n_kv_head, 1, p.head_dim)
        if rotary is not None:
            cos, sin = rotary
            q, k = (apply_rotary(Tensor._wrap(t, "cpu"), cos, sin).data for t in (q, k))
        keys, values = kv.append(k, v)                                # (B, n_kv_head, S, d)
        kv.k, kv.v = Tensor._wrap(keys, "cpu"), Tensor._wrap(values, "cpu")
        y, _, _ = attend_by_heads(np, q, keys, values, bias, None, p.scale, fill, None)   # (B, H, 1, d)
        x = x + p.o(y.reshape(b, -1))
        x = x + p.mlp(p.ln_2(x))
    return plan.lm_head(plan.ln_f(x))


# Each returns what the op's forward returns, by the same calls (nn_ops.Linear, LayerNorm, RMSNorm; ops.GELU ...).
def _linear(m):
    wt, b = m.weight.data.T, None if m.bias is None else m.bias.data
    return lambda x: matmul(x, wt, add=b)                              # x W^T + b


def _norm(m):
    if type(m) is Identity:
        return lambda x: x
    w = None if m.weight is None else m.weight.data
    if type(m) is RMSNorm:
        return lambda x: scale_shift(np, rms_normalise_rows(np, x, m.eps)[0], w, None)
    b, n = None if m.bias is None else m.bias.data, m.normalized_shape[0]
    return lambda x: scale_shift(np, normalise_rows(np, x, (-1,), n, m.eps)[0], w, b)


def _activation(act):
    if type(act) is GELU:
        return lambda x: gelu_by_chunks(np, x, act.approximate, slope=False)[0]
    return (ReLUOp if type(act) is ReLU else SiLUOp).forward_only
