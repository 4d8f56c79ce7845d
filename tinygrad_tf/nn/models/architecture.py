"""One description of each architecture: every weight of GPT, BERT and T5, listed from a config alone.

    from tinygrad_tf.nn.models import GPTConfig, count_parameters, parameter_breakdown, flops_per_token
    cfg = GPTConfig.preset("gpt2")
    weights(cfg)               # [Weight('wte.weight', (50257, 768), 'embeddings', ...), ...]: nothing allocated
    count_parameters(cfg)      # 124,439,808
    parameter_breakdown(cfg)   # {'embeddings': 39383808, 'attention': 28348416, 'ffn': 56669184, 'norms': 38400,
                               #  'heads': 0}
    flops_per_token(cfg)       # 2 x matmul weights + attention at context 1024
    model_stats(cfg)           # all of it, JSON-ready (what `tinygrad-tf params --json` prints)

``weights(config)`` walks the model in the order its ``_build`` creates the layers and lists each weight: the
name ``named_parameters()`` gives it, its shape, its component, and whether tokens are multiplied by it.
Everything else here is a sum or a lookup over that one list, and the tests check the list against
instantiated models, name by name and shape by shape.

Tied weights: GPT's and T5's output layer can be the token embedding matrix, and BERT's masked-LM decoder
always is. The list names such a use (``lm_head.weight``, ``mlm_decoder.weight``) with ``tied_to`` set: it is
not a parameter of its own (``parameters(config)`` leaves it out, as ``named_parameters()`` does), but its
product with the hidden states is work all the same, so the FLOPs count it.

Components (each parameter is in exactly one; they add up EXACTLY to ``count_parameters``):

    embeddings  token table (GPT wte, BERT wte, T5 shared), learned position table (wpe), BERT's token-type table
    attention   every attention projection (q, k, v, o, with their biases) of every layer, self and cross;
                T5's two relative-position bias tables (they only feed the attention scores)
    ffn         every feed-forward network (gate / up / down, with their biases)
    norms       every norm: per layer (ln_1, ln_2, ln_cross, the sandwich layout's extra ones), final norms,
                BERT's embedding LayerNorm
    heads       what sits on top of the stack: an untied ``lm_head`` (GPT, T5; a tied one is the embedding
                table, counted once, under embeddings), BERT's pooler, masked-LM head (dense, LayerNorm,
                per-token output bias; its decoder matrix is the tied word embeddings), NSP head, classifier.
                ``head_breakdown`` splits it by ``HEADS``.

FLOPs (forward pass, a multiply-add = 2 FLOPs, the same accounting as ``viz.model_summary``):

    flops_per_token = 2 * (matmul weights one token passes through) + attention scores and values

Matmul weights are the weight matrices of the Linear layers (``Weight.matmul == "token"``), bias vectors
excluded, the output projection to the vocabulary included whether or not it is tied (a tied one is still a
d x V product); embedding lookups, norms, activations, softmax and residual adds are not counted (O(d) per
token). Attention: each query scores all ``T = context`` keys and mixes their values, ``2 * 2 * T * width``
per attention module per token, where width = n_head * head_dim is the output width of its q projection;
the full T x T score matrix is computed and masked, so causal attention is not halved (as our kernels do).
Worked out, that is

    GPT   L * (2 * (2 d^2 + 2 d kv + n_in d d_ff + d_ff d) + 4 T d) + 2 d V
          (kv = n_kv_head * head_dim; n_in = 2 for swiglu / geglu, else 1; the scores use all n_head heads)
    BERT  L * (2 * (4 d^2 + d d_ff + d_ff d) + 4 T d)  [+ 2 (d^2 + d V) with the masked-LM head]
          The pooler, NSP head and classifier run once per sequence, not per token (``matmul == "sequence"``):
          they are left out of flops_per_token and added to ``flops_per_sequence`` (= T * per token + 2 * them).
    T5    per token PAIR: one encoder token + one decoder (target) token, source and target both T = context:
          encoder  L_e * (2 * (4 d i + ff) + 4 T i)
          decoder  L_d * (2 * (8 d i + ff) + 4 T i + 4 T i) + 2 d V      (self and cross attention)
          (i = n_head * d_kv; ff = (3 if gated else 2) * d * d_ff). The cross-attention k / v projections run
          on the encoder's outputs; with source and target of equal length that is one encoder token per
          decoder token, which is why the pair is the unit. ``flops_per_sequence`` = T * flops_per_token.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ..blocks import GATED

__all__ = ["COMPONENTS", "HEADS", "Weight", "weights", "parameters", "count_parameters", "parameter_breakdown",
           "head_breakdown", "component_of", "flops_per_token", "flops_per_sequence", "model_stats"]

COMPONENTS = ("embeddings", "attention", "ffn", "norms", "heads")
HEADS = ("lm_head", "pooler", "mlm_head", "nsp_head", "classifier")
FLOPS_UNIT = {"gpt": "token", "bert": "token", "t5": "token pair (1 encoder + 1 decoder token)"}


class Weight(NamedTuple):
    """One weight of a model, as ``weights(config)`` lists it."""

    name: str               # as named_parameters() spells it
    shape: tuple
    component: str          # one of COMPONENTS
    head: str = ""          # for component "heads": which one of HEADS
    matmul: str = ""        # "token": every token is multiplied by it; "sequence": once per sequence; "": never
    tied_to: str = ""       # the parameter whose matrix this is (then it is not a parameter of its own)

    @property
    def size(self) -> int:
        return math.prod(self.shape)


# ---------------------------------------------------------------- the pieces, as nn/ builds them
def linear(name, d_in, d_out, bias, component, head="", matmul="token"):
    """nn.Linear: y = x W^T + b, W (d_out, d_in), b (d_out,)."""
    out = [Weight(f"{name}.weight", (d_out, d_in), component, head, matmul)]
    return out + ([Weight(f"{name}.bias", (d_out,), component, head)] if bias else [])


def norm(name, kind, d, bias, component="norms", head=""):
    """nn.norm.make_norm: LayerNorm / GroupNorm scale (d,) and shift (d,) (without bias: scale only); RMSNorm
    scale only; "none" is the identity."""
    if kind == "none":
        return []
    out = [Weight(f"{name}.weight", (d,), component, head)]
    return out + ([Weight(f"{name}.bias", (d,), component, head)] if bias and kind != "rmsnorm" else [])


def attention(name, d, n_head, n_kv_head, head_dim, bias):
    """nn.attention.MultiHeadAttention: q and o map d <-> n_head * head_dim; k and v map d -> n_kv_head * head_dim
    (fewer key/value heads under grouped-query attention)."""
    q, kv = n_head * head_dim, n_kv_head * head_dim
    return (linear(f"{name}.q_proj", d, q, bias, "attention") + linear(f"{name}.k_proj", d, kv, bias, "attention")
            + linear(f"{name}.v_proj", d, kv, bias, "attention") + linear(f"{name}.o_proj", q, d, bias, "attention"))


def feedforward(name, d, d_ff, gated, bias):
    """nn.blocks.FeedForward: up d -> d_ff, down d_ff -> d; a gated one (SwiGLU, GEGLU) adds gate d -> d_ff."""
    gate = linear(f"{name}.gate", d, d_ff, bias, "ffn") if gated else []
    return gate + linear(f"{name}.up", d, d_ff, bias, "ffn") + linear(f"{name}.down", d_ff, d, bias, "ffn")


def block(name, d, n_head, d_ff, norm_kind, residual, gated, bias, n_kv_head, head_dim, cross=False):
    """nn.blocks.Block: a norm and self-attention, (cross: a norm and cross-attention), a norm and the
    feed-forward network; the sandwich layout also normalises each sub-layer's output (the *_post norms)."""
    def norms(ln):
        post = norm(f"{name}.{ln}_post", norm_kind, d, bias) if residual == "sandwich" else []
        return norm(f"{name}.{ln}", norm_kind, d, bias) + post

    out = norms("ln_1") + attention(f"{name}.attn", d, n_head, n_kv_head, head_dim, bias)
    if cross:
        out += norms("ln_cross") + attention(f"{name}.cross_attn", d, n_head, n_kv_head, head_dim, bias)
    return out + norms("ln_2") + feedforward(f"{name}.mlp", d, d_ff, gated, bias)


def output_layer(name, vocab, d, tied_to, head):
    """The projection of the hidden states onto the vocabulary, (vocab, d): its own matrix, or the embedding
    table again (tied: listed for its FLOPs, not counted as a parameter)."""
    return [Weight(f"{name}.weight", (vocab, d), "heads", head, "token", tied_to)]


# ---------------------------------------------------------------- the three families, as their _build
def _gpt(c) -> list:
    d = c.d_model
    out = [Weight("wte.weight", (c.vocab_size, d), "embeddings")]
    if c.position == "learned":                    # sinusoidal / rope / alibi positions are computed, not learned
        out.append(Weight("wpe.weight", (c.context_length, d), "embeddings"))
    for i in range(c.n_layer):
        out += block(f"blocks.{i}", d, c.n_head, c.d_ff, c.norm, c.residual, c.activation in GATED, c.bias,
                     c.n_kv_head, c.head_dim)
    if c.residual != "post":                       # post-LN blocks end normalised already
        out += norm("ln_f", c.norm, d, c.bias)
    return out + output_layer("lm_head", c.vocab_size, d, "wte.weight" if c.tie_embeddings else "", "lm_head")


def _bert(c) -> list:
    d = c.d_model
    out = [Weight("wte.weight", (c.vocab_size, d), "embeddings"),
           Weight("wpe.weight", (c.context_length, d), "embeddings"),
           Weight("wtt.weight", (c.type_vocab_size, d), "embeddings")] + norm("ln_emb", "layernorm", d, True)
    for i in range(c.n_layer):                     # post-LN, LayerNorm, biases everywhere
        out += block(f"blocks.{i}", d, c.n_head, c.d_ff, "layernorm", "post", c.activation in GATED, True,
                     c.n_head, c.head_dim)
    if c.pooler:                                   # the heads on the pooled [CLS] vector run once per sequence
        out += linear("pooler", d, d, True, "heads", "pooler", matmul="sequence")
    if c.mlm_head:                                 # dense, LayerNorm, then the word embeddings + a bias per token
        out += linear("mlm_dense", d, d, True, "heads", "mlm_head")
        out += norm("mlm_ln", "layernorm", d, True, "heads", "mlm_head")
        out += output_layer("mlm_decoder", c.vocab_size, d, "wte.weight", "mlm_head")
        out.append(Weight("mlm_decoder.bias", (c.vocab_size,), "heads", "mlm_head"))
    if c.nsp_head:
        out += linear("nsp_head", d, 2, True, "heads", "nsp_head", matmul="sequence")
    if c.num_labels:
        out += linear("classifier", d, c.num_labels, True, "heads", "classifier", matmul="sequence")
    return out


def _t5(c) -> list:
    d = c.d_model

    def stack(name, n, cross):                     # pre-norm, RMSNorm, no biases, d_kv-wide heads
        return [w for i in range(n) for w in block(f"{name}.{i}", d, c.n_head, c.d_ff, "rmsnorm", "pre", c.gated,
                                                   False, c.n_head, c.d_kv, cross)]

    def bias_table(name):                          # one learned score per (distance bucket, head), per stack
        return [Weight(f"{name}.embed.weight", (c.relative_attention_num_buckets, c.n_head), "attention")]

    out = [Weight("shared.weight", (c.vocab_size, d), "embeddings")]
    out += bias_table("encoder_bias") + stack("encoder", c.n_layer, False) + norm("encoder_norm", "rmsnorm", d, False)
    out += bias_table("decoder_bias") + stack("decoder", c.n_decoder_layer, True)
    out += norm("decoder_norm", "rmsnorm", d, False)
    return out + output_layer("lm_head", c.vocab_size, d, "shared.weight" if c.tie_embeddings else "", "lm_head")


_FAMILIES = {"gpt": _gpt, "bert": _bert, "t5": _t5}


def weights(config) -> list[Weight]:
    """Every weight of the model ``config`` describes, tied uses included, in the order the model is built."""
    if getattr(config, "model_type", None) not in _FAMILIES:
        raise TypeError(f"expected a GPTConfig, BertConfig or T5Config, got {type(config).__name__}")
    return _FAMILIES[config.model_type](config)


def parameters(config) -> list[Weight]:
    """``weights(config)`` less the tied uses: the names, shapes and order of ``named_parameters()``."""
    return [w for w in weights(config) if not w.tied_to]


# ---------------------------------------------------------------- counts
def count_parameters(config) -> int:
    """Parameters of the model ``config`` describes, counted from the config alone (nothing is allocated)."""
    return sum(w.size for w in parameters(config))


def _totals(config, field, keys) -> dict:
    out = dict.fromkeys(keys, 0)
    for w in parameters(config):
        if getattr(w, field):
            out[getattr(w, field)] += w.size
    return out


def parameter_breakdown(config) -> dict:
    """{embeddings, attention, ffn, norms, heads} -> parameters; the values add up to count_parameters(config)."""
    return _totals(config, "component", COMPONENTS)


def head_breakdown(config) -> dict:
    """{lm_head, pooler, mlm_head, nsp_head, classifier} -> parameters (0 where the model has none)."""
    return _totals(config, "head", HEADS)


def component_of(config, name: str) -> str:
    """The component of parameter ``name`` (as ``named_parameters()`` names it) of ``config``'s model, or KeyError."""
    for w in parameters(config):
        if w.name == name:
            return w.component
    raise KeyError(f"component_of: {type(config).__name__} has no parameter {name!r}")


# ---------------------------------------------------------------- FLOPs
def _flops(config, context=None) -> tuple[int, int]:
    """(FLOPs per token, extra FLOPs once per sequence) at ``context`` tokens (default: the config's)."""
    T = config.context_length if context is None else int(context)
    per_token = once = 0
    for w in weights(config):
        if w.matmul == "token":
            per_token += 2 * w.size
        elif w.matmul == "sequence":
            once += 2 * w.size
        if w.name.endswith(".q_proj.weight"):      # an attention module: q k^T, then the weights times v
            per_token += 2 * 2 * T * w.shape[0]       # (each T x width per query)
    return per_token, once


def flops_per_token(config, context=None) -> int:
    """Forward FLOPs per token (T5: per encoder + decoder token pair) at ``context`` tokens; see the module doc."""
    return _flops(config, context)[0]


def flops_per_sequence(config, context=None) -> int:
    """Forward FLOPs of one sequence of ``context`` tokens (T5: source and target of that length each)."""
    T = config.context_length if context is None else int(context)
    per_token, once = _flops(config, T)
    return T * per_token + once


# ---------------------------------------------------------------- everything, JSON-ready
def model_stats(config) -> dict:
    """Shape, parameters by component (+ share), heads, sizes and FLOPs of ``config``: one JSON-ready dict."""
    c, comps, heads = config, parameter_breakdown(config), head_breakdown(config)
    total = sum(comps.values())
    return {
        "family": c.model_type,
        "layers": c.n_layer, "decoder_layers": getattr(c, "n_decoder_layer", None),
        "d_model": c.d_model, "heads": c.n_head, "head_dim": c.head_dim, "d_ff": c.d_ff,
        "context": c.context_length, "vocab": c.vocab_size,
        "parameters": total, "components": comps,
        "shares": {k: (v / total if total else 0.0) for k, v in comps.items()},
        "head_components": {k: v for k, v in heads.items() if v},
        "fp32_bytes": 4 * total, "fp16_bytes": 2 * total,
        "fp32_mib": round(4 * total / 2**20, 2), "fp16_mib": round(2 * total / 2**20, 2),
        "flops_per_token": flops_per_token(c), "flops_unit": FLOPS_UNIT[c.model_type],
        "flops_per_sequence": flops_per_sequence(c),
    }
