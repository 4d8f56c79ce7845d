"""Model configurations: dataclasses with validation and named presets.

    cfg = GPTConfig(vocab_size=65, context_length=64, d_model=64, n_layer=2, n_head=4)
    cfg = GPTConfig.preset("gpt2")                  # or "gpt2-medium", "llama-7b"; keyword overrides allowed
    cfg.to_dict() / GPTConfig.from_dict(d)          # what config.json holds

The fields every transformer shares live in ``TransformerConfig``; ``BertConfig`` and ``T5Config`` subclass it
too (``BertConfig.preset("bert-base")``, ``T5Config.preset("t5-small")``).
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

    def _positive_ints(self, *names):
        for name in names:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                self._fail(f"{name} must be a positive integer, got {v!r}")

    def validate(self):
        self._positive_ints("vocab_size", "context_length", "d_model", "n_layer", "n_head", "d_ff")
        self._check_heads()
        if not 0 <= self.dropout < 1:
            self._fail(f"dropout must be in [0, 1), got {self.dropout}")
        if not self.norm_eps > 0:
            self._fail(f"norm_eps must be positive, got {self.norm_eps}")

    def _check_heads(self):
        if self.d_model % self.n_head:
            self._fail(f"d_model={self.d_model} is not divisible by n_head={self.n_head} "
                       f"(each head gets d_model / n_head features)")

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
        self._positive_ints("n_kv_head")
        if self.n_head % self.n_kv_head:
            self._fail(f"n_head={self.n_head} is not divisible by n_kv_head={self.n_kv_head} "
                       "(each key/value head serves an equal group of query heads)")
        if self.position == "rope" and self.head_dim % 2:
            self._fail(f"position='rope' needs an even head dimension; d_model / n_head = {self.head_dim}")
        if not self.rope_theta > 0:
            self._fail(f"rope_theta must be positive, got {self.rope_theta}")


BERT_ACTIVATIONS = ("gelu", "gelu_tanh", "relu", "silu")


@dataclass
class BertConfig(TransformerConfig):
    """An encoder-only transformer (BERT); the defaults are BERT-Base (uncased) with a masked-LM head.

    type_vocab_size  segment ("token type") embeddings: 2 for sentence A / sentence B
    activation       "gelu" (exact, erf: BERT) | "gelu_tanh" | "relu" | "silu"
    pooler           dense + tanh on the first ([CLS]) token -> ``pooler_output``
    mlm_head         masked-LM head (dense, activation, LayerNorm, decoder tied to the word embeddings)
    nsp_head         next-sentence head on the pooled output (2 classes); needs the pooler
    num_labels       > 0: a sequence-classification head on the pooled output (1 = regression); needs the pooler
    The preset "bert-base" is the published encoder + pooler with no heads (Hugging Face's BertModel,
    109,482,240 parameters); add heads by keyword: ``BertConfig.preset("bert-base", mlm_head=True)``.
    """

    vocab_size: int = 30522
    context_length: int = 512       # max_position_embeddings: BERT's position table has this many rows
    dropout: float = 0.1            # (d_model 768, n_layer 12, n_head 12, d_ff 3072: TransformerConfig's defaults)
    norm_eps: float = 1e-12
    type_vocab_size: int = 2
    activation: str = "gelu"
    pooler: bool = True
    mlm_head: bool = True
    nsp_head: bool = False
    num_labels: int = 0
    pad_token_id: int = 0

    model_type: ClassVar[str] = "bert"
    PRESETS: ClassVar[dict] = {
        "bert-base": dict(vocab_size=30522, context_length=512, d_model=768, n_layer=12, n_head=12, d_ff=3072,
                          mlm_head=False),
        "bert-large": dict(vocab_size=30522, context_length=512, d_model=1024, n_layer=24, n_head=16, d_ff=4096,
                           mlm_head=False),
    }

    def validate(self):
        super().validate()
        self._choice("activation", BERT_ACTIVATIONS)
        self._positive_ints("type_vocab_size")
        if isinstance(self.num_labels, bool) or not isinstance(self.num_labels, int) or self.num_labels < 0:
            self._fail(f"num_labels must be an integer >= 0 (0: no classification head), got {self.num_labels!r}")
        if (self.nsp_head or self.num_labels) and not self.pooler:
            self._fail("nsp_head and num_labels read the pooled [CLS] output, so they need pooler=True")


T5_FEED_FORWARDS = ("relu", "gated-gelu", "gelu", "gated-relu", "gated-silu")


@dataclass
class T5Config(TransformerConfig):
    """An encoder-decoder transformer (T5); the defaults are T5-Small (original T5, v1.0).

    n_layer / n_decoder_layer    encoder / decoder layers (None: as many as the encoder)
    d_kv                         width of each head (None: d_model / n_head); T5 keeps it apart from d_model
    relative_attention_num_buckets, relative_attention_max_distance    the relative position bias buckets
    feed_forward_proj            "relu" (T5 v1.0) | "gated-gelu" (v1.1, flan-T5: GELU(tanh)-gated) |
                                 "gelu" | "gated-relu" | "gated-silu"
    tie_embeddings               the output layer reuses the shared embeddings, and the decoder output is
                                 scaled by d_model**-0.5 before it (T5 v1.0); v1.1 unties them and drops the scale
    decoder_start_token_id       the first decoder input (T5 uses the pad token, 0)
    context_length is only the length ``generate`` and the examples plan for: relative positions have no limit.
    """

    vocab_size: int = 32128
    context_length: int = 512
    d_model: int = 512
    n_layer: int = 6
    n_head: int = 8
    d_ff: int | None = None         # None: 4 * d_model (2048 for T5-Small)
    dropout: float = 0.1
    norm_eps: float = 1e-6
    n_decoder_layer: int | None = None
    d_kv: int | None = None
    relative_attention_num_buckets: int = 32
    relative_attention_max_distance: int = 128
    feed_forward_proj: str = "relu"
    tie_embeddings: bool = True
    pad_token_id: int = 0
    eos_token_id: int = 1
    decoder_start_token_id: int = 0

    model_type: ClassVar[str] = "t5"
    PRESETS: ClassVar[dict] = {
        "t5-small": dict(vocab_size=32128, d_model=512, n_layer=6, n_head=8, d_kv=64, d_ff=2048),
        "t5-base": dict(vocab_size=32128, d_model=768, n_layer=12, n_head=12, d_kv=64, d_ff=3072),
        "t5-v1_1-small": dict(vocab_size=32128, d_model=512, n_layer=8, n_head=6, d_kv=64, d_ff=1024,
                              feed_forward_proj="gated-gelu", tie_embeddings=False),
    }

    def __post_init__(self):
        if self.n_decoder_layer is None:
            self.n_decoder_layer = self.n_layer
        if self.d_kv is None and isinstance(self.n_head, int) and self.n_head > 0 and isinstance(self.d_model, int):
            self.d_kv = self.d_model // self.n_head if self.d_model % self.n_head == 0 else None
        super().__post_init__()

    def _check_heads(self):
        if self.d_kv is None:            # not set and d_model does not split evenly
            super()._check_heads()

    @property
    def head_dim(self) -> int:
        return self.d_kv

    @property
    def gated(self) -> bool:
        return self.feed_forward_proj.startswith("gated-")

    def validate(self):
        super().validate()
        self._positive_ints("n_decoder_layer", "d_kv", "relative_attention_num_buckets",
                            "relative_attention_max_distance")
        if self.relative_attention_num_buckets < 4:
            self._fail("relative_attention_num_buckets must be at least 4 (half exact, half log-spaced distances, "
                       f"split by direction in the encoder), got {self.relative_attention_num_buckets}")
        self._choice("feed_forward_proj", T5_FEED_FORWARDS)
        for name in ("pad_token_id", "eos_token_id", "decoder_start_token_id"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < self.vocab_size:
                self._fail(f"{name} must be a token id in [0, vocab_size={self.vocab_size}), got {v!r}")
