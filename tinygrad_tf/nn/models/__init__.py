"""Transformer models: ``GPT`` (decoder-only; GPT-2 and Llama are configs of it).

    from tinygrad_tf.nn.models import GPT, GPTConfig, count_parameters, load
    count_parameters(GPTConfig.preset("gpt2"))      # 124,439,808, computed without allocating anything
    model = load("runs/my-model")                   # any native checkpoint, by its config.json "model_type"
"""

from .base import CheckpointError, ModelOutput, PretrainedModel, load_checkpoint, register_model, sample_next_token
from .base import MODEL_CLASSES
from .config import ConfigError, GPTConfig, TransformerConfig
from .gpt import GPT, GPTOutput


def count_parameters(config) -> int:
    """Parameters of the model ``config`` describes, counted analytically (no allocation)."""
    cls = MODEL_CLASSES.get(getattr(config, "model_type", None))
    if cls is None:
        raise TypeError(f"count_parameters: expected a model config ({', '.join(MODEL_CLASSES)}), "
                        f"got {type(config).__name__}")
    return cls.count_parameters(config)


def load(path, device=None):
    """Load a native checkpoint folder (``model.save(path)``) into the class its config.json names."""
    return load_checkpoint(path, None, device=device)


__all__ = ["GPT", "GPTConfig", "GPTOutput", "ModelOutput", "TransformerConfig", "ConfigError", "CheckpointError",
           "PretrainedModel", "count_parameters", "load", "register_model", "sample_next_token"]
