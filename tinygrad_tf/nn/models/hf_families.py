"""Hugging Face's four families (GPT-2, Llama, BERT, T5), weight by weight: for each, the map between its
names and ours, a reader (config.json + weights -> our config + state dict) and a writer (back), as used by
``load_hf`` / ``save_hf`` in hf.py.

How the names and layouts differ, and what load_hf / save_hf do about it:
- prefixes: the base model's weights are stored with or without "transformer." (GPT-2), "model." (Llama),
  "bert." (BERT), depending on the class that saved them; both are accepted, and save_hf writes what the
  matching transformers class writes.
- GPT-2 uses Conv1D layers, y = x W + b with W stored (in, out): transposed into our Linear's (out, in).
  Its attention projection is fused, c_attn = [q | k | v] along the output axis; our GPT keeps q_proj,
  k_proj, v_proj apart (as Llama), so it is split in three (and concatenated again on saving).
- tied weights are stored once (GPT-2's and BERT's output layers are the word embeddings; T5's encoder and
  decoder embeddings are ``shared``); a copy that is also present is checked to be equal, then dropped.
- old BERT files name LayerNorm parameters gamma / beta instead of weight / bias.
- non-persistent buffers some files contain (GPT-2's attn.bias causal mask, BERT's embeddings.position_ids,
  Llama's rotary_emb.inv_freq) are recomputed by the model, so they are ignored.
- anything else the model does not use is an error that names it, never silently dropped.
"""

from __future__ import annotations

import re

import numpy as np

from ... import backend
from .base import CheckpointError
from .bert import BERT
from .config import BertConfig, ConfigError, GPTConfig, T5Config
from .gpt import GPT
from .t5 import T5

FAMILIES = ("gpt2", "llama", "bert", "t5")
BASE_PREFIX = {"gpt2": "transformer.", "llama": "model.", "bert": "bert.", "t5": ""}
IGNORED = (re.compile(r"(^|\.)attn\.(masked_)?bias$"),                 # GPT-2's causal-mask buffers
           re.compile(r"(^|\.)position_ids$"),                           # BERT's arange buffer
           re.compile(r"(^|\.)rotary_emb\.inv_freq$"),                   # Llama's RoPE frequencies
           re.compile(r"^decoder\.block\.0\.layer\.1\.EncDecAttention\.relative_attention_bias\.weight$"))

# Hugging Face activation names -> ours, and the names written back
HF_ACTIVATIONS = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu_fast": "gelu_tanh",
                  "relu": "relu", "silu": "silu", "swish": "silu"}
TO_HF_ACTIVATIONS = {"gelu": "gelu", "gelu_tanh": "gelu_new", "relu": "relu", "silu": "silu"}


def _pop_tied(weights, name, target):
    """Drop a stored copy of a tied weight, after checking it really is the same matrix."""
    if name in weights:
        copy = weights.pop(name)
        if copy.shape != target.shape or not np.array_equal(copy, target):
            raise CheckpointError(f"{name} differs from the weight it is tied to; untied copies are not supported "
                                  "for this model")


def _untie_or_tie(cfg, weights, head, embedding, default_tie=True):
    """Is the output layer tied to the embeddings? Returns (tie, head weight or None)."""
    tie = cfg.get("tie_word_embeddings", default_tie) is not False
    if head not in weights:
        return True, None                          # stored once: the head reads the embedding matrix
    w = weights.pop(head)
    if tie and w.shape == embedding.shape and np.array_equal(w, embedding):
        return True, None
    return False, w


# ---------------------------------------------------------------- GPT-2
def _gpt2_names(n_layer):
    """(Hugging Face name, our name) for every GPT-2 weight except the fused / transposed ones."""
    pairs = [("wte.weight", "wte.weight"), ("wpe.weight", "wpe.weight"), ("ln_f.weight", "ln_f.weight"),
             ("ln_f.bias", "ln_f.bias")]
    for i in range(n_layer):
        for ln in ("ln_1", "ln_2"):
            pairs += [(f"h.{i}.{ln}.{p}", f"blocks.{i}.{ln}.{p}") for p in ("weight", "bias")]
    return pairs


GPT2_CONV1D = (("attn.c_proj", "attn.o_proj"), ("mlp.c_fc", "mlp.up"), ("mlp.c_proj", "mlp.down"))


def _read_gpt2(cfg, w):
    for flag in ("scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn", "add_cross_attention"):
        if cfg.get(flag):
            raise ConfigError(f"GPT-2 option {flag}=true is not supported")
    if cfg.get("scale_attn_weights", True) is False:
        raise ConfigError("GPT-2 option scale_attn_weights=false is not supported")
    act = cfg.get("activation_function", "gelu_new")
    if act not in HF_ACTIVATIONS:
        raise ConfigError(f"GPT-2 activation_function={act!r} is not supported ({', '.join(HF_ACTIVATIONS)})")
    d = cfg["n_embd"]
    tie, head = _untie_or_tie(cfg, w, "lm_head.weight", w["wte.weight"])
    c = GPTConfig(vocab_size=cfg["vocab_size"], context_length=cfg["n_positions"], d_model=d,
                  n_layer=cfg["n_layer"], n_head=cfg["n_head"], d_ff=cfg.get("n_inner") or 4 * d,
                  norm_eps=cfg.get("layer_norm_epsilon", 1e-5), activation=HF_ACTIVATIONS[act],
                  dropout=cfg.get("resid_pdrop", 0.0), tie_embeddings=tie)
    sd = {ours: w.pop(hf) for hf, ours in _gpt2_names(c.n_layer)}
    for i in range(c.n_layer):
        qkv, qkv_b = w.pop(f"h.{i}.attn.c_attn.weight"), w.pop(f"h.{i}.attn.c_attn.bias")   # (d, 3d), (3d,)
        for j, name in enumerate("qkv"):                          # split the fused projection in three
            sd[f"blocks.{i}.attn.{name}_proj.weight"] = qkv[:, j * d:(j + 1) * d].T
            sd[f"blocks.{i}.attn.{name}_proj.bias"] = qkv_b[j * d:(j + 1) * d]
        for theirs, ours in GPT2_CONV1D:                          # Conv1D (in, out) -> Linear (out, in)
            sd[f"blocks.{i}.{ours}.weight"] = w.pop(f"h.{i}.{theirs}.weight").T
            sd[f"blocks.{i}.{ours}.bias"] = w.pop(f"h.{i}.{theirs}.bias")
    if head is not None:
        sd["lm_head.weight"] = head
    return c, sd


def _write_gpt2(model):
    c, sd = model.config, _state(model)
    if c.activation not in TO_HF_ACTIVATIONS:
        raise ValueError(f"save_hf: GPT-2 has no activation {c.activation!r}")
    act = TO_HF_ACTIVATIONS[c.activation]
    out = {"transformer." + hf: sd[ours] for hf, ours in _gpt2_names(c.n_layer)}
    for i in range(c.n_layer):
        b = f"blocks.{i}.attn."
        out[f"transformer.h.{i}.attn.c_attn.weight"] = np.concatenate([sd[b + f"{n}_proj.weight"].T for n in "qkv"], 1)
        out[f"transformer.h.{i}.attn.c_attn.bias"] = np.concatenate([sd[b + f"{n}_proj.bias"] for n in "qkv"])
        for theirs, ours in GPT2_CONV1D:
            out[f"transformer.h.{i}.{theirs}.weight"] = sd[f"blocks.{i}.{ours}.weight"].T
            out[f"transformer.h.{i}.{theirs}.bias"] = sd[f"blocks.{i}.{ours}.bias"]
    if not c.tie_embeddings:
        out["lm_head.weight"] = sd["lm_head.weight"]
    eos = c.vocab_size - 1 if c.vocab_size == 50257 else None      # GPT-2's <|endoftext|>, when it is GPT-2's vocab
    config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": c.vocab_size,
              "n_positions": c.context_length, "n_embd": c.d_model, "n_layer": c.n_layer, "n_head": c.n_head,
              "n_inner": c.d_ff, "activation_function": act, "layer_norm_epsilon": c.norm_eps,
              "resid_pdrop": c.dropout, "embd_pdrop": c.dropout, "attn_pdrop": c.dropout,
              "tie_word_embeddings": c.tie_embeddings, "bos_token_id": eos, "eos_token_id": eos}
    return config, out


# ---------------------------------------------------------------- Llama
def _llama_names(n_layer, bias=False):
    """(Hugging Face name without the "model." prefix, our name); with ``bias``, every projection's bias too."""
    pairs = [("embed_tokens.weight", "wte.weight"), ("norm.weight", "ln_f.weight")]
    projections = {"self_attn.q_proj": "attn.q_proj", "self_attn.k_proj": "attn.k_proj",
                   "self_attn.v_proj": "attn.v_proj", "self_attn.o_proj": "attn.o_proj", "mlp.gate_proj": "mlp.gate",
                   "mlp.up_proj": "mlp.up", "mlp.down_proj": "mlp.down"}
    layer = {"input_layernorm": "ln_1", "post_attention_layernorm": "ln_2", **projections}
    for i in range(n_layer):
        pairs += [(f"layers.{i}.{hf}.weight", f"blocks.{i}.{ours}.weight") for hf, ours in layer.items()]
        if bias:
            pairs += [(f"layers.{i}.{hf}.bias", f"blocks.{i}.{ours}.bias") for hf, ours in projections.items()]
    return pairs


def _rope_theta(cfg):
    rope = cfg.get("rope_parameters") or cfg.get("rope_scaling") or {}
    kind = rope.get("rope_type", rope.get("type", "default"))
    if kind not in ("default", None):
        raise ConfigError(f"Llama rope_type={kind!r} (RoPE scaling) is not supported; only the default RoPE is")
    return float(rope.get("rope_theta", cfg.get("rope_theta", 10000.0)))


def _read_llama(cfg, w):
    if cfg.get("hidden_act", "silu") not in ("silu", "swish"):
        raise ConfigError(f"Llama hidden_act={cfg.get('hidden_act')!r} is not supported (only silu: SwiGLU)")
    bias = bool(cfg.get("attention_bias", False))
    if bias != bool(cfg.get("mlp_bias", False)):
        raise ConfigError("Llama with attention_bias != mlp_bias is not supported (GPTConfig has one bias switch)")
    d, h = cfg["hidden_size"], cfg["num_attention_heads"]
    if cfg.get("head_dim") not in (None, d // h):
        raise ConfigError(f"Llama head_dim={cfg['head_dim']} != hidden_size / num_attention_heads is not supported")
    tie, head = _untie_or_tie(cfg, w, "lm_head.weight", w["embed_tokens.weight"], default_tie=False)
    c = GPTConfig(vocab_size=cfg["vocab_size"], context_length=cfg.get("max_position_embeddings", 2048), d_model=d,
                  n_layer=cfg["num_hidden_layers"], n_head=h, n_kv_head=cfg.get("num_key_value_heads") or h,
                  d_ff=cfg["intermediate_size"], norm="rmsnorm", position="rope", activation="swiglu", bias=bias,
                  tie_embeddings=tie, norm_eps=cfg.get("rms_norm_eps", 1e-6), rope_theta=_rope_theta(cfg),
                  dropout=cfg.get("attention_dropout", 0.0))
    sd = {ours: w.pop(hf) for hf, ours in _llama_names(c.n_layer, c.bias)}
    if head is not None:
        sd["lm_head.weight"] = head
    return c, sd


def _write_llama(model):
    c, sd = model.config, _state(model)
    out = {"model." + hf: sd[ours] for hf, ours in _llama_names(c.n_layer, c.bias)}
    if not c.tie_embeddings:
        out["lm_head.weight"] = sd["lm_head.weight"]
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": c.vocab_size,
              "hidden_size": c.d_model, "intermediate_size": c.d_ff, "num_hidden_layers": c.n_layer,
              "num_attention_heads": c.n_head, "num_key_value_heads": c.n_kv_head, "head_dim": c.head_dim,
              "hidden_act": "silu", "max_position_embeddings": c.context_length, "rms_norm_eps": c.norm_eps,
              "rope_theta": c.rope_theta, "rope_parameters": {"rope_type": "default", "rope_theta": c.rope_theta},
              "attention_bias": c.bias, "mlp_bias": c.bias, "attention_dropout": c.dropout,
              "tie_word_embeddings": c.tie_embeddings, "bos_token_id": None, "eos_token_id": None}
    return config, out


# ---------------------------------------------------------------- BERT
def _bert_names(c: BertConfig):
    """(Hugging Face name without the "bert." prefix, our name), and which of them are heads (never prefixed)."""
    base = [("embeddings.word_embeddings.weight", "wte.weight"),
            ("embeddings.position_embeddings.weight", "wpe.weight"),
            ("embeddings.token_type_embeddings.weight", "wtt.weight")]
    base += [(f"embeddings.LayerNorm.{p}", f"ln_emb.{p}") for p in ("weight", "bias")]
    parts = {"attention.self.query": "attn.q_proj", "attention.self.key": "attn.k_proj",
             "attention.self.value": "attn.v_proj", "attention.output.dense": "attn.o_proj",
             "attention.output.LayerNorm": "ln_1", "intermediate.dense": "mlp.up", "output.dense": "mlp.down",
             "output.LayerNorm": "ln_2"}
    for i in range(c.n_layer):
        base += [(f"encoder.layer.{i}.{hf}.{p}", f"blocks.{i}.{ours}.{p}") for hf, ours in parts.items()
                 for p in ("weight", "bias")]
    heads = []
    if c.pooler:
        base += [(f"pooler.dense.{p}", f"pooler.{p}") for p in ("weight", "bias")]
    if c.mlm_head:
        heads += [(f"cls.predictions.transform.dense.{p}", f"mlm_dense.{p}") for p in ("weight", "bias")]
        heads += [(f"cls.predictions.transform.LayerNorm.{p}", f"mlm_ln.{p}") for p in ("weight", "bias")]
        heads += [("cls.predictions.bias", "mlm_decoder.bias")]
    if c.nsp_head:
        heads += [(f"cls.seq_relationship.{p}", f"nsp_head.{p}") for p in ("weight", "bias")]
    if c.num_labels:
        heads += [(f"classifier.{p}", f"classifier.{p}") for p in ("weight", "bias")]
    return base, heads


def _read_bert(cfg, w):
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        raise ConfigError(f"BERT position_embedding_type={cfg['position_embedding_type']!r} is not supported")
    if cfg.get("is_decoder") or cfg.get("add_cross_attention"):
        raise ConfigError("BERT as a decoder (is_decoder / add_cross_attention) is not supported")
    act = cfg.get("hidden_act", "gelu")
    if act not in HF_ACTIVATIONS:
        raise ConfigError(f"BERT hidden_act={act!r} is not supported ({', '.join(HF_ACTIVATIONS)})")
    if "cls.predictions.decoder.bias" in w:                    # older files store the output bias twice
        bias = w.pop("cls.predictions.decoder.bias")
        w.setdefault("cls.predictions.bias", bias)
    c = BertConfig(vocab_size=cfg["vocab_size"], context_length=cfg.get("max_position_embeddings", 512),
                   d_model=cfg["hidden_size"], n_layer=cfg["num_hidden_layers"], n_head=cfg["num_attention_heads"],
                   d_ff=cfg["intermediate_size"], dropout=cfg.get("hidden_dropout_prob", 0.1),
                   norm_eps=cfg.get("layer_norm_eps", 1e-12), type_vocab_size=cfg.get("type_vocab_size", 2),
                   activation=HF_ACTIVATIONS[act], pad_token_id=cfg.get("pad_token_id") or 0,
                   # which heads: decided by the weights present, so any of the Bert* classes loads
                   pooler="pooler.dense.weight" in w, mlm_head="cls.predictions.transform.dense.weight" in w,
                   nsp_head="cls.seq_relationship.weight" in w,
                   num_labels=int(w["classifier.weight"].shape[0]) if "classifier.weight" in w else 0)
    if c.mlm_head:                                             # the decoder is tied to the word embeddings
        _pop_tied(w, "cls.predictions.decoder.weight", w["embeddings.word_embeddings.weight"])
    base, heads = _bert_names(c)
    return c, {ours: w.pop(hf) for hf, ours in base + heads}


def bert_architecture(c: BertConfig) -> str:
    """The transformers class whose saved files have this BERT's weights."""
    if c.mlm_head and c.nsp_head:
        return "BertForPreTraining"
    if c.mlm_head:
        return "BertForMaskedLM"            # (a pooler, if any, is saved too; BertForMaskedLM ignores it)
    if c.num_labels:
        return "BertForSequenceClassification"
    if c.nsp_head:
        return "BertForNextSentencePrediction"
    return "BertModel"


def _write_bert(model):
    c, sd = model.config, _state(model)
    arch = bert_architecture(c)
    prefix = "" if arch == "BertModel" else "bert."
    base, heads = _bert_names(c)
    out = {prefix + hf: sd[ours] for hf, ours in base}
    out.update({hf: sd[ours] for hf, ours in heads})
    act = TO_HF_ACTIVATIONS[c.activation]
    config = {"architectures": [arch], "model_type": "bert", "vocab_size": c.vocab_size, "hidden_size": c.d_model,
              "num_hidden_layers": c.n_layer, "num_attention_heads": c.n_head, "intermediate_size": c.d_ff,
              "hidden_act": act, "hidden_dropout_prob": c.dropout, "attention_probs_dropout_prob": c.dropout,
              "max_position_embeddings": c.context_length, "type_vocab_size": c.type_vocab_size,
              "layer_norm_eps": c.norm_eps, "pad_token_id": c.pad_token_id, "tie_word_embeddings": True}
    if c.num_labels:
        config["id2label"] = {str(i): f"LABEL_{i}" for i in range(c.num_labels)}
        config["label2id"] = {f"LABEL_{i}": i for i in range(c.num_labels)}
    return config, out


# ---------------------------------------------------------------- T5
def _t5_names(c: T5Config):
    pairs = [("shared.weight", "shared.weight"),
             ("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", "encoder_bias.embed.weight"),
             ("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", "decoder_bias.embed.weight"),
             ("encoder.final_layer_norm.weight", "encoder_norm.weight"),
             ("decoder.final_layer_norm.weight", "decoder_norm.weight")]
    ff = {"wi_0": "gate", "wi_1": "up", "wo": "down"} if c.gated else {"wi": "up", "wo": "down"}

    def attention(hf, ours):
        return [(f"{hf}.{x}.weight", f"{ours}.{x}_proj.weight") for x in "qkvo"]

    for i in range(c.n_layer):
        e, o = f"encoder.block.{i}.layer", f"encoder.{i}"
        pairs += attention(f"{e}.0.SelfAttention", f"{o}.attn") + [(f"{e}.0.layer_norm.weight", f"{o}.ln_1.weight")]
        pairs += [(f"{e}.1.DenseReluDense.{hf}.weight", f"{o}.mlp.{ours}.weight") for hf, ours in ff.items()]
        pairs += [(f"{e}.1.layer_norm.weight", f"{o}.ln_2.weight")]
    for i in range(c.n_decoder_layer):
        e, o = f"decoder.block.{i}.layer", f"decoder.{i}"
        pairs += attention(f"{e}.0.SelfAttention", f"{o}.attn") + [(f"{e}.0.layer_norm.weight", f"{o}.ln_1.weight")]
        pairs += attention(f"{e}.1.EncDecAttention", f"{o}.cross_attn")
        pairs += [(f"{e}.1.layer_norm.weight", f"{o}.ln_cross.weight")]
        pairs += [(f"{e}.2.DenseReluDense.{hf}.weight", f"{o}.mlp.{ours}.weight") for hf, ours in ff.items()]
        pairs += [(f"{e}.2.layer_norm.weight", f"{o}.ln_2.weight")]
    return pairs


def _read_t5(cfg, w):
    if not cfg.get("is_encoder_decoder", True):
        raise ConfigError("only encoder-decoder T5 checkpoints (T5ForConditionalGeneration) are supported")
    if "shared.weight" not in w and "encoder.embed_tokens.weight" in w:
        w["shared.weight"] = w.pop("encoder.embed_tokens.weight")
    for name in ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight"):
        _pop_tied(w, name, w["shared.weight"])
    # transformers >= 5 writes scale_decoder_outputs; older configs say tie_word_embeddings (false for v1.1)
    scale = cfg.get("scale_decoder_outputs", cfg.get("tie_word_embeddings", True) is not False)
    head = w.pop("lm_head.weight", None)
    if scale and head is not None and not np.array_equal(head, w["shared.weight"]):
        raise ConfigError("T5 with rescaled decoder outputs but an untied lm_head is not supported")
    if not scale and head is None:
        head = np.array(w["shared.weight"])                     # untied, but stored once: start from a copy
    eos = cfg.get("eos_token_id", 1)
    eos = eos[0] if isinstance(eos, list) else eos
    pad = cfg.get("pad_token_id", 0)
    pad = 0 if pad is None else pad
    start = cfg.get("decoder_start_token_id")
    c = T5Config(vocab_size=cfg["vocab_size"], context_length=cfg.get("n_positions", 512), d_model=cfg["d_model"],
                 n_layer=cfg["num_layers"], n_decoder_layer=cfg.get("num_decoder_layers") or cfg["num_layers"],
                 n_head=cfg["num_heads"], d_kv=cfg["d_kv"], d_ff=cfg["d_ff"], dropout=cfg.get("dropout_rate", 0.1),
                 norm_eps=cfg.get("layer_norm_epsilon", 1e-6),
                 relative_attention_num_buckets=cfg.get("relative_attention_num_buckets", 32),
                 relative_attention_max_distance=cfg.get("relative_attention_max_distance", 128),
                 feed_forward_proj=cfg.get("feed_forward_proj", "relu"), tie_embeddings=bool(scale),
                 pad_token_id=pad, eos_token_id=1 if eos is None else eos,
                 decoder_start_token_id=pad if start is None else start)
    sd = {ours: w.pop(hf) for hf, ours in _t5_names(c)}
    if not c.tie_embeddings:
        sd["lm_head.weight"] = head
    return c, sd


def _write_t5(model):
    c, sd = model.config, _state(model)
    out = {hf: sd[ours] for hf, ours in _t5_names(c)}
    if not c.tie_embeddings:
        out["lm_head.weight"] = sd["lm_head.weight"]
    config = {"architectures": ["T5ForConditionalGeneration"], "model_type": "t5", "vocab_size": c.vocab_size,
              "d_model": c.d_model, "d_kv": c.d_kv, "d_ff": c.d_ff, "num_layers": c.n_layer,
              "num_decoder_layers": c.n_decoder_layer, "num_heads": c.n_head,
              "relative_attention_num_buckets": c.relative_attention_num_buckets,
              "relative_attention_max_distance": c.relative_attention_max_distance, "dropout_rate": c.dropout,
              "layer_norm_epsilon": c.norm_eps, "feed_forward_proj": c.feed_forward_proj,
              "tie_word_embeddings": c.tie_embeddings, "is_encoder_decoder": True, "pad_token_id": c.pad_token_id,
              "eos_token_id": c.eos_token_id, "decoder_start_token_id": c.decoder_start_token_id,
              "n_positions": c.context_length}
    return config, out


READERS = {"gpt2": _read_gpt2, "llama": _read_llama, "bert": _read_bert, "t5": _read_t5}


def _state(model) -> dict:
    """Our state dict as NumPy arrays (on the CPU)."""
    return {k: backend.to_numpy(t.data) for k, t in model.state_dict().items()}


def hf_writer(model):
    """The function that turns ``model`` into (config.json dict, {Hugging Face name: array})."""
    if isinstance(model, BERT):
        return _write_bert
    if isinstance(model, T5):
        return _write_t5
    if isinstance(model, GPT):
        c = model.config
        if (c.position, c.norm, c.residual, c.bias, c.n_kv_head) == ("learned", "layernorm", "pre", True, c.n_head):
            return _write_gpt2
        if (c.position, c.norm, c.residual, c.activation) == ("rope", "rmsnorm", "pre", "swiglu"):
            return _write_llama
        raise ValueError(f"save_hf: no Hugging Face architecture matches this GPT (position={c.position!r}, "
                         f"norm={c.norm!r}, residual={c.residual!r}, activation={c.activation!r}, bias={c.bias}); "
                         "GPT-2 needs learned/layernorm/pre with biases, Llama rope/rmsnorm/pre/swiglu")
    raise TypeError(f"save_hf: expected a GPT, BERT or T5 model, got {type(model).__name__}")
