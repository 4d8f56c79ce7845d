"""nn/models/breakdown.py: parameters by component and forward FLOPs per token, from a config alone, checked
against count_parameters, against instantiated tiny models (per component, by parameter name) and against a
hand computation / the forward hooks of viz.model_summary."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_tf import viz
from tinygrad_tf.nn.models import BERT, GPT, T5, BertConfig, GPTConfig, T5Config, count_parameters
from tinygrad_tf.nn.models.breakdown import (COMPONENTS, component_of, flops_per_sequence, flops_per_token,
                                             head_breakdown, model_stats, parameter_breakdown)

T = 8
TINY = [
    GPTConfig(vocab_size=11, context_length=T, d_model=8, n_layer=2, n_head=2),
    GPTConfig(vocab_size=11, context_length=T, d_model=8, n_layer=2, n_head=4, n_kv_head=2, tie_embeddings=False,
              activation="swiglu", bias=False, norm="rmsnorm", position="rope", residual="sandwich"),
    GPTConfig(vocab_size=11, context_length=T, d_model=8, n_layer=1, n_head=2, residual="post", norm="groupnorm",
              position="sinusoidal", activation="geglu"),
    GPTConfig(vocab_size=11, context_length=T, d_model=8, n_layer=1, n_head=2, position="alibi", norm="none"),
    BertConfig(vocab_size=11, context_length=T, d_model=8, n_layer=1, n_head=2, nsp_head=True, num_labels=3),
    BertConfig(vocab_size=11, context_length=T, d_model=8, n_layer=2, n_head=2, mlm_head=False, pooler=False,
               activation="relu"),
    T5Config(vocab_size=11, context_length=T, d_model=8, n_layer=1, n_head=2, tie_embeddings=False),
    T5Config(vocab_size=11, context_length=T, d_model=8, n_layer=2, n_decoder_layer=1, n_head=2, d_kv=3,
             feed_forward_proj="gated-gelu", relative_attention_num_buckets=8),
]
MODELS = {"gpt": GPT, "bert": BERT, "t5": T5}
ALL_PRESETS = [cls.preset(n) for cls in (GPTConfig, BertConfig, T5Config) for n in cls.presets()]


def _name(c):
    return f"{c.model_type}-{c.n_layer}-{getattr(c, 'activation', getattr(c, 'feed_forward_proj', ''))}"


@pytest.mark.parametrize("cfg", ALL_PRESETS + TINY, ids=lambda c: _name(c))
def test_components_sum_to_count_parameters(cfg):
    parts = parameter_breakdown(cfg)
    assert tuple(parts) == COMPONENTS and all(v >= 0 for v in parts.values())
    assert sum(parts.values()) == count_parameters(cfg)
    assert sum(head_breakdown(cfg).values()) == parts["heads"]
    stats = model_stats(cfg)
    assert stats["parameters"] == count_parameters(cfg) and stats["fp16_bytes"] * 2 == stats["fp32_bytes"]
    assert stats["flops_per_token"] > 2 * (parts["attention"] + parts["ffn"]) * 0.9


@pytest.mark.parametrize("cfg", TINY, ids=lambda c: _name(c))
def test_components_match_the_instantiated_model(cfg):
    model = MODELS[cfg.model_type](cfg)
    got = dict.fromkeys(COMPONENTS, 0)
    for name, p in model.named_parameters():                  # tied weights appear once
        got[component_of(name)] += int(np.prod(p.shape))
    assert got == parameter_breakdown(cfg)
    assert sum(got.values()) == model.num_parameters()
    # and FLOPs: the forward hooks of model_summary on one full-context sequence count the same matmuls
    s = viz.model_summary(model, np.zeros((1, T), dtype=np.int64))
    assert s.flops == flops_per_sequence(cfg)


def test_named_heads():
    h = head_breakdown(BertConfig(vocab_size=11, context_length=T, d_model=8, n_layer=1, n_head=2, nsp_head=True,
                                  num_labels=3))
    assert h == {"lm_head": 0, "pooler": 8 * 8 + 8, "mlm_head": 8 * 8 + 8 + 16 + 11, "nsp_head": 2 * 8 + 2,
                 "classifier": 3 * 8 + 3}
    assert head_breakdown(GPTConfig.preset("llama-7b"))["lm_head"] == 32000 * 4096
    assert head_breakdown(GPTConfig.preset("gpt2"))["lm_head"] == 0          # tied: counted under embeddings
    assert parameter_breakdown(GPTConfig.preset("gpt2")) == {
        "embeddings": 50257 * 768 + 1024 * 768, "attention": 12 * (4 * 768 * 768 + 4 * 768),
        "ffn": 12 * (2 * 768 * 3072 + 3072 + 768), "norms": 25 * 2 * 768, "heads": 0}


def test_flops_per_token_of_a_tiny_gpt_by_hand():
    L, d, ff, V, ctx = 2, 16, 64, 50, 32
    cfg = GPTConfig(vocab_size=V, context_length=ctx, d_model=d, n_layer=L, n_head=4, d_ff=ff)
    per_layer = 2 * (4 * d * d) + 2 * (2 * d * ff) + 2 * 2 * ctx * d       # q k v o, up down, scores + values
    assert flops_per_token(cfg) == L * per_layer + 2 * d * V == 17_984
    assert flops_per_token(cfg, context=1) == L * (per_layer - 4 * (ctx - 1) * d) + 2 * d * V
    assert flops_per_sequence(cfg) == ctx * flops_per_token(cfg)
    gqa = cfg.replace(n_kv_head=2)                             # k, v shrink to d x d/2; the scores do not
    assert flops_per_token(cfg) - flops_per_token(gqa) == L * 2 * 2 * d * (d // 2)


def test_component_of_rejects_unknown_names():
    with pytest.raises(KeyError):
        component_of("mystery.weight")
    with pytest.raises(TypeError):
        parameter_breakdown(object())
