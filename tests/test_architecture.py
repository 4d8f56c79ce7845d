"""nn/models/architecture.py: one description of each architecture (every weight, from a config alone), and what
derives from it: count_parameters, the breakdown by component and head, FLOPs. Checked against instantiated
models of every family and option (hypothesis draws the configs), by hand, and against the forward hooks of
viz.model_summary."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from strategies import bert_configs, gpt_configs, t5_configs

from tinygrad_tf import viz
from tinygrad_tf.nn.models import (BERT, COMPONENTS, GPT, T5, BertConfig, GPTConfig, T5Config, component_of,
                                   count_parameters, flops_per_sequence, flops_per_token, head_breakdown,
                                   model_stats, parameter_breakdown)
from tinygrad_tf.nn.models.architecture import HEADS, parameters, weights

MODELS = {"gpt": GPT, "bert": BERT, "t5": T5}
ALL_PRESETS = [cls.preset(n) for cls in (GPTConfig, BertConfig, T5Config) for n in cls.presets()]


def expected_component(name: str) -> str:
    """The component of a parameter by its name alone: an oracle written apart from the description."""
    top = name.split(".")[0]
    if top in ("lm_head", "pooler", "nsp_head", "classifier") or top.startswith("mlm_"):
        return "heads"
    if top in ("wte", "wpe", "wtt", "shared"):
        return "embeddings"
    if top in ("encoder_bias", "decoder_bias") or ".attn." in name or ".cross_attn." in name:
        return "attention"
    return "ffn" if ".mlp." in name else "norms"


def check_against_the_model(cfg):
    model = MODELS[cfg.model_type](cfg)
    # every weight, tied uses included, with its shape; a tied use really is the matrix it names
    every = dict(model.named_parameters(remove_duplicate=False))
    assert {w.name: w.shape for w in weights(cfg)} == {n: p.shape for n, p in every.items()}
    assert all(every[w.name] is every[w.tied_to] for w in weights(cfg) if w.tied_to)
    # the parameters: tied weights once, as named_parameters() gives them
    assert [(w.name, w.shape) for w in parameters(cfg)] == [(n, p.shape) for n, p in model.named_parameters()]
    n = count_parameters(cfg)
    assert n == model.num_parameters() == type(model).count_parameters(cfg)
    parts = parameter_breakdown(cfg)
    assert tuple(parts) == COMPONENTS and sum(parts.values()) == n
    assert tuple(head_breakdown(cfg)) == HEADS and sum(head_breakdown(cfg).values()) == parts["heads"]
    for name, _ in model.named_parameters():
        assert component_of(cfg, name) == expected_component(name), name
    # FLOPs: the forward hooks of model_summary on one full-context sequence count the same matmuls
    s = viz.model_summary(model, np.zeros((1, cfg.context_length), dtype=np.int64))
    assert s.flops == flops_per_sequence(cfg)


@given(gpt_configs())
def test_gpt_description_matches_the_model(cfg):
    check_against_the_model(cfg)


@given(bert_configs())
def test_bert_description_matches_the_model(cfg):
    check_against_the_model(cfg)


@given(t5_configs())
def test_t5_description_matches_the_model(cfg):
    check_against_the_model(cfg)


@pytest.mark.parametrize("cfg", ALL_PRESETS, ids=lambda c: f"{c.model_type}-{c.n_layer}-{c.d_model}")
def test_presets_add_up(cfg):
    parts = parameter_breakdown(cfg)
    assert all(v >= 0 for v in parts.values()) and sum(parts.values()) == count_parameters(cfg)
    stats = model_stats(cfg)
    assert json.loads(json.dumps(stats)) == stats
    assert stats["parameters"] == count_parameters(cfg) and stats["fp16_bytes"] * 2 == stats["fp32_bytes"]
    assert stats["flops_per_token"] > 2 * (parts["attention"] + parts["ffn"]) * 0.9


def test_published_counts():
    assert count_parameters(GPTConfig.preset("gpt2")) == 124_439_808
    assert count_parameters(GPTConfig.preset("gpt2-medium")) == 354_823_168
    assert count_parameters(GPTConfig.preset("llama-7b")) == 6_738_415_616
    assert count_parameters(BertConfig.preset("bert-base")) == 109_482_240
    assert count_parameters(T5Config.preset("t5-small")) == 60_506_624


def test_named_heads():
    h = head_breakdown(BertConfig(vocab_size=11, context_length=8, d_model=8, n_layer=1, n_head=2, nsp_head=True,
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


def test_unknown_names_and_configs_are_errors():
    cfg = GPTConfig(vocab_size=11, context_length=8, d_model=8, n_layer=1, n_head=2)
    with pytest.raises(KeyError):
        component_of(cfg, "mystery.weight")
    with pytest.raises(KeyError):
        component_of(cfg, "lm_head.weight")                    # tied: not a parameter of its own
    with pytest.raises(TypeError):
        parameter_breakdown(object())
    with pytest.raises(TypeError):
        count_parameters(object())
