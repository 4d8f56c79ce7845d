"""Model configurations: dataclasses with validation and named presets.

    cfg = GPTConfig(vocab_size=65, context_length=64, d_model=64, n_layer=2, n_head=4)
    cfg = GPTConfig.preset("gpt2")                  # or "gpt2-medium", "llama-7b"; keyword overrides allowed
    cfg.to_dict() / GPTConfig.from_dict(d)          # what config.json holds

The fields every transformer shares live in ``TransformerConfig``; BERT and T5 configs subclass it too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from ..blocks import ACTIVATION_CHOICES, RESIDUALS
from ..norm import NORMS
from ..positional import POSITIONS


class ConfigError(ValueError):
    """A configuration that cannot describe a model; the message says which field and why."""


@dataclass
class TransformerConfig:
    vocab_size: int = 50257
    context_length: int = 1024      # the longest sequence the model handles (learned positions need a table this long)
    d_model: int = 768              # width of the residual stream
    n_layer: int = 12
    n_head: int = 12
    d_ff: int | None = None         # hidden width of the feed-forward network; None means 4 * d_model
    dropout: float = 0.0
    norm_eps: float = 1e-5

    model_type: ClassVar[str] = ""
    PRESETS: ClassVar[dict] = {}

    def __post_init__(self):
        if self.d_ff is None:
            self.d_ff = 4 * self.d_model
        self.validate()

    def _fail(self, msg):
        raise ConfigError(f"{type(self).__name__}: {msg}")

    def _choice(self, name, valid):
        value = getattr(self, name)
        if value not in valid:
            self._fail(f"{name}={value!r} is not valid; choose one of: {', '.join(repr(v) for v in valid)}")

    def validate(self):
        for name in ("vocab_size", "context_length", "d_model", "n_layer", "n_head", "d_ff"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                self._fail(f"{name} must be a positive integer, got {v!r}")
        if self.d_model % self.n_head:
            self._fail(f"d_model={self.d_model} is not divisible by n_head={self.n_head} "
                       f"(each head gets d_model / n_head features)")
        if not 0 <= self.dropout < 1:
            self._fail(f"dropout must be in [0, 1), got {self.dropout}")
        if not self.norm_eps > 0:
            self._fail(f"norm_eps must be positive, got {self.norm_eps}")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_head

    # ------------------------------------------------------------ presets and (de)serialisation
    @classmethod
    def preset(cls, name, **overrides):
        """A published architecture by name (``cls.presets()`` lists them); keywords override fields."""
        if name not in cls.PRESETS:
            raise ConfigError(f"unknown {cls.__name__} preset {name!r}; valid: {', '.join(cls.PRESETS)}")
        return cls(**{**cls.PRESETS[name], **overrides})

    @classmethod
    def presets(cls):
        return list(cls.PRESETS)

    def to_dict(self) -> dict:
        return {"model_type": self.model_type, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, d: dict):
        d = {k: v for k, v in d.items() if k != "model_type"}
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"{cls.__name__}: unknown field(s) {', '.join(unknown)}; valid: {', '.join(sorted(names))}")
        return cls(**d)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


@dataclass
class GPTConfig(TransformerConfig):
    """A decoder-only transformer; the defaults are GPT-2 (124M). Component choices:

    norm        "layernorm" | "rmsnorm" | "groupnorm" (each position's features in n_head groups) | "none"
    residual    "pre" | "post" | "sandwich"                                 (see nn/blocks.py)
    position    "learned" | "sinusoidal" | "rope" | "alibi" | "none"        (see nn/positional.py)
    activation  "gelu" | "gelu_tanh" | "relu" | "silu" | "swiglu" | "geglu" (the last two are gated)
    bias        biases in every Linear and norm;  tie_embeddings: the output layer reuses the token embeddings
    n_kv_head   key/value heads (grouped-query attention); None means n_head
    """

    norm: str = "layernorm"
    residual: str = "pre"
    position: str = "learned"
    activation: str = "gelu_tanh"
    bias: bool = True
    tie_embeddings: bool = True
    n_kv_head: int | None = None
    rope_theta: float = 10000.0

    model_type: ClassVar[str] = "gpt"
    PRESETS: ClassVar[dict] = {
        "gpt2": dict(vocab_size=50257, context_length=1024, d_model=768, n_layer=12, n_head=12, d_ff=3072),
        "gpt2-medium": dict(vocab_size=50257, context_length=1024, d_model=1024, n_layer=24, n_head=16, d_ff=4096),
        "gpt2-large": dict(vocab_size=50257, context_length=1024, d_model=1280, n_layer=36, n_head=20, d_ff=5120),
        "gpt2-xl": dict(vocab_size=50257, context_length=1024, d_model=1600, n_layer=48, n_head=25, d_ff=6400),
        "llama-7b": dict(vocab_size=32000, context_length=2048, d_model=4096, n_layer=32, n_head=32, d_ff=11008,
                         norm="rmsnorm", position="rope", activation="swiglu", bias=False, tie_embeddings=False,
                         norm_eps=1e-6, rope_theta=10000.0),
    }

    def __post_init__(self):
        if self.n_kv_head is None:
            self.n_kv_head = self.n_head
        super().__post_init__()

    def validate(self):
        super().validate()
        self._choice("norm", NORMS)
        self._choice("residual", RESIDUALS)
        self._choice("position", POSITIONS)
        self._choice("activation", ACTIVATION_CHOICES)
        if isinstance(self.n_kv_head, bool) or not isinstance(self.n_kv_head, int) or self.n_kv_head <= 0:
            self._fail(f"n_kv_head must be a positive integer, got {self.n_kv_head!r}")
        if self.n_head % self.n_kv_head:
            self._fail(f"n_head={self.n_head} is not divisible by n_kv_head={self.n_kv_head} "
                       "(each key/value head serves an equal group of query heads)")
        if self.position == "rope" and self.head_dim % 2:
            self._fail(f"position='rope' needs an even head dimension; d_model / n_head = {self.head_dim}")
        if not self.rope_theta > 0:
            self._fail(f"rope_theta must be positive, got {self.rope_theta}")
