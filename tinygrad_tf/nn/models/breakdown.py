"""Parameters by component and forward FLOPs per token, from a config alone (nothing is allocated).

    from tinygrad_tf.nn.models import GPTConfig
    from tinygrad_tf.nn.models.breakdown import model_stats, parameter_breakdown, flops_per_token
    parameter_breakdown(GPTConfig.preset("gpt2"))
    # {'embeddings': 39383808, 'attention': 28348416, 'ffn': 56669184, 'norms': 38400, 'heads': 0}
    flops_per_token(GPTConfig.preset("gpt2"))       # 2 x matmul weights + attention at context 1024
    model_stats(cfg)                                # all of it, JSON-ready (what `tinygrad-tf params --json` prints)

Components (each parameter of the model is in exactly one; they add up EXACTLY to ``count_parameters``):

    embeddings  token table (GPT wte, BERT wte, T5 shared), learned position table (wpe), BERT's token-type table
    attention   every attention projection (q, k, v, o, with their biases) of every layer, self and cross;
                T5's two relative-position bias tables (they only feed the attention scores)
    ffn         every feed-forward network (up / gate / down, with their biases)
    norms       every norm: per layer (ln_1, ln_2, ln_cross, the sandwich layout's extra ones), final norms,
                BERT's embedding LayerNorm
    heads       what sits on top of the stack: an untied ``lm_head`` (GPT, T5; a tied one is the embedding
                table, counted once, under embeddings), BERT's pooler, masked-LM head (dense, LayerNorm,
                per-token output bias; its decoder matrix is the tied word embeddings), NSP head, classifier.
                ``head_breakdown`` splits it.

``component_of(name)`` maps a ``named_parameters()`` name to its component (the tests check the analytic counts
against instantiated models that way).

FLOPs (forward pass, a multiply-add = 2 FLOPs, the same accounting as ``viz.model_summary``):

    flops_per_token = 2 * (matmul weights one token passes through) + attention scores and values

Matmul weights are the weight matrices of the Linear layers, bias vectors excluded, and the output projection
to the vocabulary counted whether or not it is tied (a tied one is still a d x V product); embedding lookups,
norms, activations, softmax and residual adds are not counted (O(d) per token). Attention: each query scores
all ``T = context`` keys and mixes their values, ``2 * 2 * T * (n_head * head_dim)`` per layer per token; the
full T x T score matrix is computed and masked, so causal attention is not halved (as our kernels do).

    GPT   L * (2 * (2 d^2 + 2 d kv + n_in d d_ff + d_ff d) + 4 T d) + 2 d V
          (kv = n_kv_head * head_dim; n_in = 2 for swiglu / geglu, else 1; the scores use all n_head heads)
    BERT  L * (2 * (4 d^2 + d d_ff + d_ff d) + 4 T d)  [+ 2 (d^2 + d V) with the masked-LM head]
          The pooler, NSP head and classifier run once per sequence, not per token: they are left out of
          flops_per_token and added to ``flops_per_sequence`` (= T * flops_per_token + 2 * their weights).
    T5    per token PAIR: one encoder token + one decoder (target) token, source and target both T = context:
          encoder  L_e * (2 * (4 d i + ff) + 4 T i)
          decoder  L_d * (2 * (8 d i + ff) + 4 T i + 4 T i) + 2 d V      (self and cross attention)
          (i = n_head * d_kv; ff = (3 if gated else 2) * d * d_ff). The cross-attention k / v projections run
          on the encoder's outputs; with source and target of equal length that is one encoder token per
          decoder token, which is why the pair is the unit. ``flops_per_sequence`` = T * flops_per_token.
"""

from __future__ import annotations

__all__ = ["COMPONENTS", "HEADS", "parameter_breakdown", "head_breakdown", "flops_per_token", "flops_per_sequence",
           "component_of", "model_stats"]

COMPONENTS = ("embeddings", "attention", "ffn", "norms", "heads")
HEADS = ("lm_head", "pooler", "mlm_head", "nsp_head", "classifier")
FLOPS_UNIT = {"gpt": "token", "bert": "token", "t5": "token pair (1 encoder + 1 decoder token)"}


def _family(config) -> str:
    family = getattr(config, "model_type", None)
    if family not in ("gpt", "bert", "t5"):
        raise TypeError(f"expected a GPTConfig, BertConfig or T5Config, got {type(config).__name__}")
    return family


def _ffn(activation, d, d_ff, bias) -> tuple[int, int]:
    """(parameters, matmul weights) of one feed-forward network (``nn.blocks.feedforward_parameters``)."""
    from ..blocks import GATED
    n_in = 2 if activation in GATED else 1
    weights = n_in * d * d_ff + d_ff * d
    return weights + ((n_in * d_ff + d) if bias else 0), weights


# ---------------------------------------------------------------- parameters
def _parts(c) -> tuple[dict, dict]:
    """(components, heads) for config ``c``."""
    from ..norm import norm_parameters
    family = _family(c)
    d = c.d_model
    heads = dict.fromkeys(HEADS, 0)
    if family == "gpt":
        kv = c.n_kv_head * c.head_dim
        emb = c.vocab_size * d + (c.context_length * d if c.position == "learned" else 0)
        attn = c.n_layer * (2 * d * d + 2 * d * kv + ((2 * d + 2 * kv) if c.bias else 0))
        ffn = c.n_layer * _ffn(c.activation, d, c.d_ff, c.bias)[0]
        one = norm_parameters(c.norm, d, c.bias)
        norms = c.n_layer * one * (4 if c.residual == "sandwich" else 2) + (one if c.residual != "post" else 0)
        if not c.tie_embeddings:
            heads["lm_head"] = c.vocab_size * d
    elif family == "bert":
        emb = (c.vocab_size + c.context_length + c.type_vocab_size) * d
        attn = c.n_layer * (4 * d * d + 4 * d)
        ffn = c.n_layer * _ffn(c.activation, d, c.d_ff, True)[0]
        norms = 2 * d + c.n_layer * 2 * 2 * d                          # embedding LayerNorm + two per layer
        if c.pooler:
            heads["pooler"] = d * d + d
        if c.mlm_head:
            heads["mlm_head"] = d * d + d + 2 * d + c.vocab_size          # dense, LayerNorm, output bias
        if c.nsp_head:
            heads["nsp_head"] = 2 * d + 2
        if c.num_labels:
            heads["classifier"] = c.num_labels * d + c.num_labels
    else:                                                               # t5: no biases anywhere
        inner = c.n_head * c.d_kv
        emb = c.vocab_size * d
        attn = (c.n_layer + 2 * c.n_decoder_layer) * 4 * d * inner + 2 * c.relative_attention_num_buckets * c.n_head
        ffn = (c.n_layer + c.n_decoder_layer) * (3 if c.gated else 2) * d * c.d_ff
        norms = (2 * c.n_layer + 3 * c.n_decoder_layer + 2) * d
        if not c.tie_embeddings:
            heads["lm_head"] = c.vocab_size * d
    comps = {"embeddings": emb, "attention": attn, "ffn": ffn, "norms": norms, "heads": sum(heads.values())}
    return comps, heads


def parameter_breakdown(config) -> dict:
    """{embeddings, attention, ffn, norms, heads} -> parameters; the values add up to count_parameters(config)."""
    return _parts(config)[0]


def head_breakdown(config) -> dict:
    """{lm_head, pooler, mlm_head, nsp_head, classifier} -> parameters (0 where the model has none)."""
    return _parts(config)[1]


def component_of(name: str) -> str:
    """The component of a ``named_parameters()`` name of a GPT, BERT or T5 (KeyError for an unknown one)."""
    top = name.split(".")[0]
    if top in ("lm_head", "pooler", "nsp_head", "classifier") or top.startswith("mlm_"):
        return "heads"
    if top in ("wte", "wpe", "wtt", "shared"):
        return "embeddings"
    if top in ("encoder_bias", "decoder_bias") or ".attn." in name or ".cross_attn." in name:
        return "attention"
    if ".mlp." in name:
        return "ffn"
    module = name.split(".")[-2] if "." in name else name
    if module.startswith("ln") or module.endswith("norm"):
        return "norms"
    raise KeyError(f"component_of: no component for parameter {name!r}")


# ---------------------------------------------------------------- FLOPs
def _flops(c, context=None) -> tuple[int, int]:
    """(FLOPs per token, extra FLOPs once per sequence) at ``context`` tokens (default: the config's)."""
    family = _family(c)
    T = c.context_length if context is None else int(context)
    d = c.d_model
    if family == "gpt":
        kv = c.n_kv_head * c.head_dim
        width = c.n_head * c.head_dim
        per_layer = 2 * (2 * d * d + 2 * d * kv + _ffn(c.activation, d, c.d_ff, False)[1]) + 4 * T * width
        return c.n_layer * per_layer + 2 * d * c.vocab_size, 0
    if family == "bert":
        per_layer = 2 * (4 * d * d + _ffn(c.activation, d, c.d_ff, False)[1]) + 4 * T * d
        per_token = c.n_layer * per_layer + (2 * (d * d + d * c.vocab_size) if c.mlm_head else 0)
        once = 2 * ((d * d if c.pooler else 0) + (2 * d if c.nsp_head else 0) + c.num_labels * d)
        return per_token, once
    inner = c.n_head * c.d_kv
    ff = (3 if c.gated else 2) * d * c.d_ff
    encoder = c.n_layer * (2 * (4 * d * inner + ff) + 4 * T * inner)
    decoder = c.n_decoder_layer * (2 * (8 * d * inner + ff) + 8 * T * inner) + 2 * d * c.vocab_size
    return encoder + decoder, 0


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
    from . import count_parameters
    family = _family(config)
    comps, heads = _parts(config)
    total = count_parameters(config)
    if sum(comps.values()) != total:                                   # a model family changed under us
        raise AssertionError(f"parameter_breakdown({type(config).__name__}) adds up to {sum(comps.values()):,}, "
                             f"count_parameters says {total:,}")
    c = config
    return {
        "family": family,
        "layers": c.n_layer, "decoder_layers": getattr(c, "n_decoder_layer", None),
        "d_model": c.d_model, "heads": c.n_head, "head_dim": c.head_dim, "d_ff": c.d_ff,
        "context": c.context_length, "vocab": c.vocab_size,
        "parameters": total,
        "components": comps,
        "shares": {k: (v / total if total else 0.0) for k, v in comps.items()},
        "head_components": {k: v for k, v in heads.items() if v},
        "fp32_bytes": 4 * total, "fp16_bytes": 2 * total,
        "fp32_mib": round(4 * total / 2**20, 2), "fp16_mib": round(2 * total / 2**20, 2),
        "flops_per_token": flops_per_token(c), "flops_unit": FLOPS_UNIT[family],
        "flops_per_sequence": flops_per_sequence(c),
    }
