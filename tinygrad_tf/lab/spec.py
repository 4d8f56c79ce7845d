"""What the lab's controls describe: one training run (``LabSpec``), its choices, and its validation.

    spec = LabSpec(family="gpt", n_layer=2, d_model=64, n_head=4, residual="post", steps=200)
    spec.problems()        # [] or one-line messages (the configs' own validation errors)
    spec.train_config(out_dir="runs/x/checkpoint")      # the TrainConfig a GPT run uses

Every field is a plain value, so a spec round-trips through JSON (``run.json`` in a run folder) and
``LabSpec.from_form`` turns the strings a user typed into one, with a message for each field that
does not parse instead of an exception.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LabSpec", "FAMILIES", "FIXED_VALUES", "OPTIMIZERS", "FIELD_LABELS", "choices", "fixed_fields", "SpecError"]

FAMILIES = ("gpt", "bert", "t5")
FAMILY_NAMES = {"gpt": "GPT (decoder, next token)", "bert": "BERT (encoder, masked LM)",
                "t5": "T5 (encoder-decoder, reverse digits)"}
OPTIMIZERS = ("adamw", "adam", "sgd")

# the label each field has in the app, in the CLI's tables and in config diffs
FIELD_LABELS = {
    "family": "family", "n_layer": "depth", "d_model": "width", "n_head": "heads", "context_length": "context",
    "norm": "norm", "residual": "residual", "activation": "activation", "position": "position",
    "dropout": "dropout", "lr": "learning rate", "batch_size": "batch size", "steps": "steps",
    "optimizer": "optimizer", "warmup_steps": "warmup", "corpus": "corpus", "seed": "seed",
}


class SpecError(ValueError):
    """A spec that cannot be built into a run; the message is one line meant for the user."""


def choices(field: str, family: str = "gpt") -> tuple[str, ...]:
    """The values a choice field may take for a model family."""
    from ..nn.blocks import ACTIVATION_CHOICES, RESIDUALS
    from ..nn.models.config import BERT_ACTIVATIONS, T5_FEED_FORWARDS
    from ..nn.norm import NORMS
    from ..nn.positional import POSITIONS
    if field == "family":
        return FAMILIES
    if field == "optimizer":
        return OPTIMIZERS
    if field == "norm":
        return tuple(NORMS)
    if field == "residual":
        return tuple(RESIDUALS)
    if field == "position":
        return tuple(POSITIONS)
    if field == "activation":
        return {"gpt": tuple(ACTIVATION_CHOICES), "bert": tuple(BERT_ACTIVATIONS),
                "t5": tuple(T5_FEED_FORWARDS)}[family]
    raise KeyError(field)


def fixed_fields(family: str) -> dict[str, str]:
    """Fields a family does not let you choose -> why (shown beside the disabled control)."""
    if family == "bert":
        why = "BERT is post-LN LayerNorm with learned positions"
        return {"norm": why, "residual": why, "position": why}
    if family == "t5":
        why = "T5 is pre-LN RMSNorm with a relative position bias"
        return {"norm": why, "residual": why, "position": why,
                "context_length": "T5 trains on digit strings of 3-10 (reverse task)",
                "corpus": "T5 trains on generated digit strings (the reverse task)"}
    return {}


# what a fixed choice is for the families that fix it (shown in the disabled controls)
FIXED_VALUES = {"bert": {"norm": "layernorm", "residual": "post", "position": "learned"},
                "t5": {"norm": "rmsnorm", "residual": "pre", "position": "relative"}}


@dataclass
class LabSpec:
    """One lab run: the model (family and its component choices) and how to train it."""

    family: str = "gpt"
    n_layer: int = 2
    d_model: int = 64
    n_head: int = 4
    context_length: int = 64
    norm: str = "layernorm"
    residual: str = "pre"
    activation: str = "gelu_tanh"
    position: str = "learned"
    dropout: float = 0.0
    lr: float = 3e-3
    batch_size: int = 16
    steps: int = 300
    optimizer: str = "adamw"
    warmup_steps: int = 30
    corpus: str = ""                    # a UTF-8 text file; "" = the embedded default corpus
    seed: int = 0
    eval_interval: int = 0              # 0 = about 20 evaluations per run
    eval_iters: int = 4
    sample_every: int = 0               # 0 = about 5 samples per run (at most one every 25 steps)
    checkpoint_every: int = 0           # 0 = about 4 checkpoints per run (so an interrupted run keeps one)

    # ------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LabSpec":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @classmethod
    def from_form(cls, values: dict[str, str]) -> tuple["LabSpec", list[str]]:
        """A spec from the strings a form holds; (spec with defaults where a value did not parse, messages)."""
        spec, errors = cls(), []
        for f in dataclasses.fields(cls):
            if f.name not in values:
                continue
            raw = values[f.name]
            label = FIELD_LABELS.get(f.name, f.name)
            typ = type(getattr(spec, f.name))
            if typ is str:
                setattr(spec, f.name, "" if raw is None else str(raw).strip())
                continue
            text = "" if raw is None else str(raw).strip()
            try:
                setattr(spec, f.name, typ(text) if typ is float else int(text))
            except ValueError:
                kind = "a whole number" if typ is int else "a number"
                errors.append(f"{label} must be {kind}, got {text!r}" if text else f"{label} is empty")
        return spec, errors

    # ------------------------------------------------------------ derived settings
    @property
    def resolved_eval_interval(self) -> int:
        return self.eval_interval or max(1, self.steps // 20)

    @property
    def resolved_sample_every(self) -> int:
        return self.sample_every or max(25, self.steps // 5)

    @property
    def resolved_checkpoint_every(self) -> int:
        return self.checkpoint_every or max(25, self.steps // 4)

    def label(self) -> str:
        """A short description for run names and lists, e.g. ``gpt-2x64-pre-ln`` (depth x width, residual
        layout and norm: ln, rms, gn, nonorm)."""
        if self.family == "gpt":
            norm = {"layernorm": "ln", "rmsnorm": "rms", "groupnorm": "gn", "none": "nonorm"}.get(self.norm, self.norm)
            return f"gpt-{self.n_layer}x{self.d_model}-{self.residual}-{norm}"
        return f"{self.family}-{self.n_layer}x{self.d_model}-{self.activation}"

    # ------------------------------------------------------------ validation
    def problems(self) -> list[str]:
        """Everything wrong with this spec, as one-line messages (the configs' own errors); [] when it can run."""
        from ..nn.models import ConfigError
        out = []
        if self.family not in FAMILIES:
            return [f"family must be one of {', '.join(FAMILIES)}, got {self.family!r}"]
        for name in ("norm", "residual", "position", "activation", "optimizer"):
            if name in fixed_fields(self.family):
                continue
            if getattr(self, name) not in choices(name, self.family):
                out.append(f"{FIELD_LABELS[name]}={getattr(self, name)!r} is not valid for {self.family}; choose one "
                           f"of {', '.join(choices(name, self.family))}")
        for name in ("steps", "batch_size", "eval_iters"):
            if getattr(self, name) <= 0:
                out.append(f"{FIELD_LABELS.get(name, name)} must be a positive whole number, got {getattr(self, name)}")
        for name in ("warmup_steps", "eval_interval", "sample_every", "checkpoint_every", "seed"):
            if getattr(self, name) < 0:
                out.append(f"{FIELD_LABELS.get(name, name)} must be >= 0, got {getattr(self, name)}")
        if not self.lr > 0:
            out.append(f"learning rate must be positive, got {self.lr}")
        if self.corpus and self.family != "t5":
            p = Path(self.corpus).expanduser()
            if not p.exists():
                out.append(f"corpus file not found: {p}")
            elif not p.is_file():
                out.append(f"corpus {p} is not a file (give a UTF-8 text file, or leave it empty for the default)")
        if out:
            return out
        try:
            self.model_config(vocab_size=256)
        except (ConfigError, SpecError) as e:
            out.append(str(e))
        return out

    def check(self) -> None:
        """Raise SpecError with every problem when the spec cannot run."""
        probs = self.problems()
        if probs:
            raise SpecError("; ".join(probs))

    # ------------------------------------------------------------ what the spec builds
    def model_config(self, vocab_size: int):
        """The model config (GPTConfig, BertConfig or T5Config) a run of this spec builds; raises the config's
        own ConfigError."""
        from ..train.tasks import TASK_CLASSES
        config = self.train_config(out_dir=None)
        return TASK_CLASSES[config.task].config_for(config, vocab_size)

    def train_config(self, out_dir):
        """The TrainConfig of a run (the model, the data, the schedule, ``out_dir``): the lab trains every family
        with the same Trainer as ``tinygrad-tf train``, so a lab run resumes from the command line."""
        from ..train import TrainConfig
        model = {"gpt": {"norm": self.norm, "residual": self.residual, "position": self.position,
                         "activation": self.activation},
                 "bert": {"activation": self.activation},
                 "t5": {"feed_forward_proj": self.activation}}[self.family]
        task = {"gpt": dict(task="lm", eval_iters=self.eval_iters),
                "bert": dict(task="mlm", vocab_size=1000, eval_iters=self.eval_iters),
                "t5": dict(task="reverse", min_len=T5_MIN_LEN, max_len=T5_MAX_LEN, eval_size=64)}[self.family]
        return TrainConfig(family=self.family, n_layer=self.n_layer, d_model=self.d_model, n_head=self.n_head,
                           context_length=self.context_length if self.family != "t5" else None,
                           dropout=self.dropout, model=model,
                           data=str(Path(self.corpus).expanduser()) if self.corpus and self.family != "t5" else None,
                           optimizer=self.optimizer, batch_size=self.batch_size, steps=self.steps, lr=self.lr,
                           warmup_steps=min(self.warmup_steps, self.steps), eval_interval=self.resolved_eval_interval,
                           checkpoint_interval=self.resolved_checkpoint_every,
                           out_dir=None if out_dir is None else str(out_dir), seed=self.seed, **task)


T5_MIN_LEN, T5_MAX_LEN = 3, 10
