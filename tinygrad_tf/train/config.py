"""What a training run depends on: ``TrainConfig``, one dataclass for every family (GPT, BERT, T5).

    TrainConfig(steps=500)                                   # a character-level GPT on the embedded corpus
    TrainConfig(family="bert", steps=600)                    # masked-LM BERT with a WordPiece tokenizer
    TrainConfig(family="bert", task="classify", data="labelled.tsv")     # sequence classification
    TrainConfig(family="t5", task="reverse")                 # T5 on a generated digit task

A field left at None takes its family's default (``FAMILY_DEFAULTS``), so each family starts from settings
that train well at its size; the resolved values are what a checkpoint saves and ``--resume`` reads back.
Every check of a user's options happens here, once: a bad value is a ConfigError naming the field.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass, field

from ..fileio import read_json
from ..nn.models import MODEL_CLASSES, ConfigError

__all__ = ["TrainConfig", "FAMILIES", "TASKS", "TRAIN_PRESETS", "MODEL_FIELDS", "FAMILY_DEFAULTS", "SCOPED"]

FAMILIES = ("gpt", "bert", "t5")
# the tasks each family trains on (train/tasks.py): GPT next-token prediction; BERT masked-LM or sequence
# classification; T5 a generated digit task (seq2seq.TASKS)
TASKS = {"gpt": ("lm",), "bert": ("mlm", "classify"), "t5": ("reverse", "sort", "copy", "add1")}

# Small GPT sizes for training on a laptop CPU (the vocabulary comes from the tokenizer).
TRAIN_PRESETS: dict[str, dict] = {
    "tiny": dict(n_layer=2, d_model=32, n_head=2, context_length=32),        # tests, seconds
    "demo": dict(n_layer=4, d_model=128, n_head=4, context_length=64),       # `tinygrad-tf demo`, minutes
    "small": dict(n_layer=6, d_model=192, n_head=6, context_length=128),     # a better model, ~an hour on CPU
}
# The model a run builds when no preset is named: sizes that learn something in minutes on a CPU.
DEFAULT_MODELS = {
    "gpt": TRAIN_PRESETS["demo"],
    "bert": dict(context_length=64, d_model=128, n_layer=2, n_head=4, dropout=0.1, pooler=False),
    "t5": dict(d_model=64, n_layer=2, n_head=4, d_ff=256, dropout=0.0, feed_forward_proj="relu",
               relative_attention_num_buckets=32, relative_attention_max_distance=64),
}
# TrainConfig fields that describe the model (a resumed run may not change them).
MODEL_FIELDS = ("n_layer", "d_model", "n_head", "d_ff", "context_length", "dropout")

# What a field left at None becomes, per family: settings that train each family's small default model well
# (T5's toy model likes a higher learning rate). Warmup is at most a tenth of the run.
FAMILY_DEFAULTS = {
    "gpt": dict(task="lm", tokenizer="char", batch_size=16, steps=1000, lr=1e-3, warmup_steps=100, eval_interval=100),
    "bert": dict(task="mlm", tokenizer="wordpiece", batch_size=32, steps=600, lr=1e-3, warmup_steps=60,
                 eval_interval=100),
    "t5": dict(task="reverse", tokenizer="digits", batch_size=64, steps=1200, lr=3e-3, warmup_steps=100,
               eval_interval=200),
}
MIN_LR_RATIO = {"gpt": 0.1, "bert": 0.1, "t5": 0.05}          # the cosine ends at lr * this, unless min_lr
# Adam(W)'s settings per family: BERT's betas and eps follow Devlin et al.; 0.99 suits small GPTs and batches
# (nanoGPT uses 0.95 for GPT-2 sizes).
ADAM_DEFAULTS = {"gpt": dict(weight_decay=0.1, beta1=0.9, beta2=0.99, eps=1e-8),
                 "bert": dict(weight_decay=0.01, beta1=0.9, beta2=0.98, eps=1e-6),
                 "t5": dict(weight_decay=0.01, beta1=0.9, beta2=0.98, eps=1e-8)}
# Options only some runs read: name -> (does this run read it?, its default there, who reads it). An option a
# run does not read stays None, and giving one is a mistake worth a message, not something to ignore.
SCOPED = {
    "data": (lambda c: c.family != "t5", None, "runs on text (GPT, BERT); T5 trains on a generated digit task"),
    "context_length": (lambda c: c.family != "t5", None,
                       "GPT and BERT; a T5 digit task's length comes from min_len / max_len"),
    "vocab_size": (lambda c: c.tokenizer in ("bpe", "wordpiece"), lambda c: 512 if c.tokenizer == "bpe" else 2000,
                   "trained vocabularies (GPT with tokenizer='bpe', BERT's WordPiece)"),
    "val_fraction": (lambda c: c.family != "t5", lambda c: 0.1, "runs on text (GPT, BERT)"),
    "eval_iters": (lambda c: c.task in ("lm", "mlm"), lambda c: 10 if c.task == "lm" else 4,
                   "GPT and BERT mlm (classify and T5 evaluate their whole held-out set)"),
    "mlm_probability": (lambda c: c.task == "mlm", lambda c: 0.15, "BERT's mlm task"),
    "min_len": (lambda c: c.family == "t5", lambda c: 3, "T5's digit tasks"),
    "max_len": (lambda c: c.family == "t5", lambda c: 10, "T5's digit tasks"),
    "eval_size": (lambda c: c.family == "t5", lambda c: 256, "T5's digit tasks"),
    "target_accuracy": (lambda c: c.task != "lm", None, "tasks measured by accuracy (BERT, T5)"),
    "weight_decay": (lambda c: c.optimizer == "adamw", lambda c: ADAM_DEFAULTS[c.family]["weight_decay"],
                     "AdamW (Adam and SGD here run without weight decay)"),
    **{name: (lambda c: c.optimizer in ("adamw", "adam"), lambda c, name=name: ADAM_DEFAULTS[c.family][name],
              "Adam and AdamW") for name in ("beta1", "beta2", "eps")},
}


# a field's flag, where it is not --FIELD-NAME
FLAG_NAMES = {"context_length": "context", "warmup_steps": "warmup", "out_dir": "out", "family": "model"}
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


def _parse_field(owner: str, name: str, value, tp):
    """``value`` as the type ``tp`` of the model config field ``name`` (bool, int, float, str, or X | None);
    a string is parsed, anything else must already be of that type. ConfigError otherwise."""
    args = typing.get_args(tp) if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union else ()
    optional = type(None) in args
    base = next((a for a in args if a is not type(None)), tp) if args else tp
    text = value.strip() if isinstance(value, str) else None
    if optional and (value is None or text is not None and text.lower() in ("none", "null")):
        return None
    kind = {bool: "true or false (also 1/0, yes/no)", int: "an integer", float: "a finite number",
            str: "a string"}.get(base, getattr(base, "__name__", str(base)))

    def wrong():
        return ConfigError(f"TrainConfig: model field {name} ({owner}) has a value of the wrong type: it must be "
                           f"{kind}{' or none' if optional else ''}, got {value!r}")
    if base is bool:
        if isinstance(value, bool):
            return value
        if text is not None and text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise wrong()
    if base is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if text is not None:
            try:
                return int(text, 10)
            except ValueError:
                pass
        raise wrong()
    if base is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out = float(value)
        elif text is not None:
            try:
                out = float(text)
            except ValueError:
                raise wrong() from None
        else:
            raise wrong()
        if not math.isfinite(out):
            raise wrong()
        return out
    if base is str:
        if isinstance(value, str):
            return value
        raise wrong()
    return value


@dataclass
class TrainConfig:
    """Everything a training run depends on. Saved in every checkpoint; ``--config FILE`` reads one as JSON.

    The model is ``preset`` (a TRAIN_PRESETS size or a published preset of the family; the family's small
    default when None), then the model fields below when not None, then any other config fields in
    ``model`` (e.g. ``{"position": "rope", "norm": "rmsnorm"}``). Its vocabulary comes from the task.
    """

    family: str = "gpt"                     # "gpt" | "bert" | "t5"
    task: str | None = None                 # see TASKS; the family's first when None
    # model
    preset: str | None = None
    n_layer: int | None = None
    d_model: int | None = None
    n_head: int | None = None
    d_ff: int | None = None
    context_length: int | None = None
    dropout: float | None = None
    model: dict = field(default_factory=dict)
    # data
    data: str | None = None                 # a UTF-8 text file (classify: LABEL<tab>TEXT lines); None = built in
    tokenizer: str | None = None            # gpt: "char" | "bpe"; bert: "wordpiece"; t5: "digits"
    vocab_size: int | None = None           # size of a trained BPE / WordPiece vocabulary
    val_fraction: float | None = None       # the end of the text kept for validation (0.1)
    mlm_probability: float | None = None    # bert mlm: share of tokens chosen as targets (0.15)
    min_len: int | None = None              # t5: shortest and longest digit string (3, 10)
    max_len: int | None = None
    eval_size: int | None = None            # t5: held-out strings (256)
    target_accuracy: float | None = None    # stop once the evaluation's accuracy reaches this
    # optimization
    optimizer: str = "adamw"                # "adamw" | "adam" | "sgd" (momentum 0.9)
    batch_size: int | None = None
    steps: int | None = None
    lr: float | None = None                 # peak learning rate (after warmup)
    min_lr: float | None = None             # the cosine ends here; None = lr * the family's ratio
    warmup_steps: int | None = None
    weight_decay: float | None = None       # AdamW, decoupled; only on matrices (not biases, norms)
    beta1: float | None = None              # Adam(W); see ADAM_DEFAULTS
    beta2: float | None = None
    eps: float | None = None
    grad_clip: float = 1.0                  # max global grad norm; 0 = no clipping
    precision: str = "fp32"                 # "fp16": float16 products under autocast + loss scaling (for GPUs)
    # evaluation, logging, saving
    eval_interval: int | None = None
    eval_iters: int | None = None           # validation batches per evaluation
    checkpoint_interval: int = 0            # also save every N steps (0 = only at the end and on Ctrl-C)
    out_dir: str | None = None              # the checkpoint folder; None = do not save
    # run
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ConfigError(f"TrainConfig: family must be one of {', '.join(FAMILIES)}, got {self.family!r}")
        self.data = None if self.data is None else str(self.data)           # paths as strings: they go to JSON
        self.out_dir = None if self.out_dir is None else str(self.out_dir)
        defaults = FAMILY_DEFAULTS[self.family]
        for name, value in defaults.items():
            if getattr(self, name) is None and name != "warmup_steps":
                setattr(self, name, value)
        if self.warmup_steps is None and isinstance(self.steps, int) and not isinstance(self.steps, bool):
            self.warmup_steps = min(defaults["warmup_steps"], max(self.steps // 10, 1))
        self._check_choices()
        self._check_preset()
        for name, (reads, default, readers) in SCOPED.items():
            if not reads(self):
                if getattr(self, name) is not None:
                    raise ConfigError(f"TrainConfig: {name} does not apply to this run (family={self.family!r}, "
                                      f"task={self.task!r}, tokenizer={self.tokenizer!r}, optimizer="
                                      f"{self.optimizer!r}); only {readers} use it")
            elif getattr(self, name) is None and default is not None:
                setattr(self, name, default(self))
        self.validate()

    def _check_choices(self):
        """The choices other options depend on: task, tokenizer, optimizer, precision."""
        def bad(msg):
            raise ConfigError(f"TrainConfig: {msg}")
        if self.task not in TASKS[self.family]:
            owner = [f for f, tasks in TASKS.items() if self.task in tasks]
            bad(f"task {self.task!r} is not one of {self.family}'s ({', '.join(TASKS[self.family])})"
                + (f"; it is a {owner[0]} task (family={owner[0]!r}, --model {owner[0]})" if owner else ""))
        tokenizers = {"gpt": ("char", "bpe"), "bert": ("wordpiece",), "t5": ("digits",)}[self.family]
        if self.tokenizer not in tokenizers:
            bad(f"tokenizer {self.tokenizer!r} does not apply to family {self.family!r} (it uses "
                f"{' or '.join(tokenizers)}; 'char' and 'bpe' are for gpt)")
        if self.optimizer not in ("adamw", "adam", "sgd"):
            bad(f"optimizer must be 'adamw', 'adam' or 'sgd', got {self.optimizer!r}")
        if self.precision not in ("fp32", "fp16"):
            bad(f"precision must be 'fp32' or 'fp16', got {self.precision!r}")

    def _check_preset(self):
        """``preset``: a training size (GPT) or a published preset of the family; a typo gets the closest names."""
        if self.preset is None:
            return
        own = MODEL_CLASSES[self.family].config_class.PRESETS
        valid = [*(TRAIN_PRESETS if self.family == "gpt" else ()), *own]
        if self.preset in valid:
            return
        other = [f for f in FAMILIES if f != self.family and self.preset in MODEL_CLASSES[f].config_class.PRESETS]
        if other:
            raise ConfigError(f"TrainConfig: preset {self.preset!r} is a {other[0]} preset, not a {self.family} one "
                              f"(family={other[0]!r}, --model {other[0]})")
        close = difflib.get_close_matches(str(self.preset), valid, n=3, cutoff=0.6)
        raise ConfigError(f"TrainConfig: unknown {self.family} preset {self.preset!r}"
                          + (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else "")
                          + f" (valid: {', '.join(valid)})")

    def _check_model_fields(self) -> dict:
        """``model``: each key a field of the family's model config, each value of that field's type (a string,
        as ``--set`` gives, is parsed by it: bool true/false/1/0/yes/no, int, float, str, "none" for an optional
        field); the fields the task decides and those with a flag of their own that was given too are refused."""
        if not isinstance(self.model, dict):
            raise ConfigError(f"TrainConfig: model must be a dict of model config fields, got "
                              f"{type(self.model).__name__}")
        cls = MODEL_CLASSES[self.family].config_class
        hints = typing.get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        out = {}
        for key, value in self.model.items():
            if key in ("vocab_size", "model_type"):
                why = ("the tokenizer decides it (--vocab-size sets the size of a trained vocabulary)"
                       if key == "vocab_size" else "the family decides it (--model gpt|bert|t5)")
                raise ConfigError(f"TrainConfig: model field {key} cannot be set: {why}")
            if key not in names:
                close = difflib.get_close_matches(str(key), names, n=2, cutoff=0.6)
                raise ConfigError(f"TrainConfig: {key!r} is not a {cls.__name__} field"
                                  + (f"; did you mean {' or '.join(close)}?" if close else "")
                                  + f" (fields: {', '.join(n for n in names if n not in ('vocab_size',))})")
            value = _parse_field(cls.__name__, key, value, hints[key])
            flag = getattr(self, key, None) if key in MODEL_FIELDS else None
            if flag is not None and flag != value:
                raise ConfigError(f"TrainConfig: {key} is given twice, as {flag!r} and as model field {key}={value!r} "
                                  f"(--{FLAG_NAMES.get(key, key.replace('_', '-'))} and --set); give it once")
            out[key] = value
        return out

    def validate(self):
        def bad(msg):
            raise ConfigError(f"TrainConfig: {msg}")
        self._check_choices()
        for name in ("lr", "min_lr", "weight_decay", "beta1", "beta2", "eps", "grad_clip", "val_fraction",
                     "mlm_probability", "target_accuracy", "dropout"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                bad(f"{name} must be a number, got {v!r}")
            if v is not None and not math.isfinite(v):
                bad(f"{name} must be a finite number, got {v!r}")
        for name in ("batch_size", "eval_interval", "steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                bad(f"{name} must be a positive integer, got {v!r}")
        for name in ("warmup_steps", "checkpoint_interval", "seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                bad(f"{name} must be a non-negative integer, got {v!r}")
        for name in ("vocab_size", "eval_iters", "min_len", "max_len", "eval_size"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= 0):
                bad(f"{name} must be a positive integer, got {v!r}")
        if not self.lr > 0:
            bad(f"lr must be positive, got {self.lr}")
        if self.min_lr is not None and not 0 <= self.min_lr <= self.lr:
            bad(f"min_lr must be between 0 and lr={self.lr}, got {self.min_lr}")
        if (self.weight_decay or 0) < 0 or self.grad_clip < 0:
            bad("weight_decay and grad_clip must be >= 0")
        for name in ("beta1", "beta2"):
            if getattr(self, name) is not None and not 0 <= getattr(self, name) < 1:
                bad(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.eps is not None and not self.eps > 0:
            bad(f"eps must be positive, got {self.eps}")
        if self.tokenizer == "bpe" and self.vocab_size < 257:
            bad(f"vocab_size must be at least 257 for BPE (256 bytes + 1 merge), got {self.vocab_size}")
        if self.val_fraction is not None and not 0 < self.val_fraction < 1:
            bad(f"val_fraction must be between 0 and 1, got {self.val_fraction}")
        if self.mlm_probability is not None and not 0 < self.mlm_probability < 1:
            bad(f"mlm_probability must be between 0 and 1, got {self.mlm_probability}")
        if self.target_accuracy is not None and not 0 < self.target_accuracy <= 1:
            bad(f"target_accuracy must be in (0, 1], got {self.target_accuracy}")
        if self.min_len is not None and self.min_len > self.max_len:
            bad(f"min_len={self.min_len} is longer than max_len={self.max_len}")
        if self.eval_size is not None:
            distinct = sum(10 ** n for n in range(self.min_len, self.max_len + 1))
            if distinct < 2 * self.eval_size + self.batch_size:
                bad(f"digit strings of length {self.min_len}-{self.max_len} give only {distinct} different inputs: "
                    f"too few to hold out eval_size={self.eval_size} and still train; allow longer strings or "
                    "a smaller eval_size")
        if not isinstance(self.model, dict):
            bad(f"model must be a dict of model config fields, got {type(self.model).__name__}")
        self.model = self._check_model_fields()

    @property
    def min_lr_ratio(self) -> float:
        return MIN_LR_RATIO[self.family] if self.min_lr is None else self.min_lr / self.lr

    # ------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        if "bpe_vocab_size" in d:                       # checkpoints from before the tokenizer sizes merged
            size = d.pop("bpe_vocab_size")
            d.setdefault("vocab_size", size if d.get("tokenizer") == "bpe" else None)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"unknown training option(s) {', '.join(unknown)}; valid: {', '.join(sorted(names))}")
        try:
            return cls(**d)
        except TypeError as e:
            raise ConfigError(f"bad training options: {e}") from None

    @classmethod
    def from_json(cls, path) -> "TrainConfig":
        return cls.from_dict(read_json(path, "training config (--config: a JSON object of TrainConfig fields)",
                                       ConfigError))

    # ------------------------------------------------------------ the model it trains
    def model_config(self, vocab_size: int, **fixed):
        """The model config this run trains: GPTConfig, BertConfig or T5Config. ``vocab_size`` and ``fixed``
        (the fields the task decides, e.g. a BERT's ``mlm_head``) cannot be overridden by ``model``."""
        cls = MODEL_CLASSES[self.family].config_class
        name = self.preset
        if name is None:
            base = dict(DEFAULT_MODELS[self.family])
        elif self.family == "gpt" and name in TRAIN_PRESETS:
            base = dict(TRAIN_PRESETS[name])
        else:                                                # (a valid name: _check_preset)
            base = dict(cls.PRESETS[name])                   # as written: derived fields (n_kv_head) stay unset
        for k in MODEL_FIELDS:
            if getattr(self, k) is not None:
                base[k] = getattr(self, k)
        if self.d_model is not None and self.d_ff is None and "d_ff" not in self.model:
            base.pop("d_ff", None)                           # a new width: d_ff follows it (4 * d_model)
        if self.family == "t5" and (self.d_model or self.n_head) and "d_kv" not in self.model:
            base.pop("d_kv", None)                           # and so does T5's head width
        taken = sorted(set(self.model) & {"vocab_size", *fixed})      # fixed: the fields the task decides
        if taken:
            raise ConfigError(f"model field(s) {', '.join(taken)} cannot be set: the {self.family} {self.task} task "
                              "decides them")
        try:
            return cls.from_dict({**base, **self.model, **fixed, "vocab_size": vocab_size})
        except TypeError as e:                  # e.g. --set dropout=x: a string where a number belongs
            raise ConfigError(f"{cls.__name__}: a field has a value of the wrong type ({e})") from None
