"""Transformer models: ``GPT`` (decoder-only; GPT-2 and Llama are configs of it), ``BERT`` (encoder-only)
and ``T5`` (encoder-decoder), plus Hugging Face checkpoint interop.

    from tinygrad_tf.nn.models import GPT, GPTConfig, count_parameters, load
    count_parameters(GPTConfig.preset("gpt2"))      # 124,439,808, computed without allocating anything
    count_parameters(BertConfig.preset("bert-base"))   # 109,482,240;  T5Config.preset("t5-small"): 60,506,624
    parameter_breakdown(cfg), flops_per_token(cfg), model_stats(cfg)   # by component, FLOPs: architecture.py
    model = load("runs/my-model")                   # any native checkpoint, by its config.json "model_type"
    model = load_hf("path/to/hf-folder")            # a local Hugging Face folder: GPT-2, Llama, BERT, T5
    model = from_pretrained("gpt2")                 # a folder or a Hub name (huggingface_hub, its cache, offline)
    save_hf(model, "out/")                          # and back: transformers' from_pretrained reads it
"""

from .architecture import (COMPONENTS, component_of, count_parameters, flops_per_sequence, flops_per_token,
                           head_breakdown, model_stats, parameter_breakdown)
from .base import CheckpointError, ModelOutput, PretrainedModel, load_checkpoint, register_model, sample_next_token
from .base import MODEL_CLASSES
from .config import BertConfig, ConfigError, GPTConfig, T5Config, TransformerConfig
from .gpt import GPT, GPTOutput
from .bert import BERT, BertOutput
from .t5 import T5, Seq2SeqAttentions, T5Output, shift_right
from .hf import load_hf, save_hf
from .hub import from_pretrained, hub_cache_dir, resolve_pretrained


def load(path, device=None, verify=True):
    """Load a native checkpoint folder (``model.save(path)``) into the class its config.json names; ``verify``
    checks the weights against the folder's integrity manifest first."""
    return load_checkpoint(path, None, device=device, verify=verify)


__all__ = ["GPT", "GPTConfig", "GPTOutput", "BERT", "BertConfig", "BertOutput", "T5", "T5Config", "T5Output",
           "Seq2SeqAttentions", "shift_right", "ModelOutput", "TransformerConfig", "ConfigError", "CheckpointError",
           "PretrainedModel", "count_parameters", "load", "load_hf", "save_hf",
           "from_pretrained", "resolve_pretrained", "hub_cache_dir", "register_model",
           "sample_next_token", "model_stats", "parameter_breakdown", "head_breakdown", "flops_per_token",
           "flops_per_sequence", "component_of", "COMPONENTS"]
