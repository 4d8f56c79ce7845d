"""The training loop: a GPT on a text corpus, with evaluation, checkpoints and exact resume.

    from tinygrad_tf.train import TrainConfig, Trainer, train
    history = train(TrainConfig(steps=200, out_dir="runs/mini"))          # a list of per-step dicts
    history = train(resume="runs/mini", steps=400)                        # continue the same run

One step is the whole of deep learning in six lines (``Trainer.train_step``):

    window = sampler.sample()                       # (B, T+1) random windows of the training text
    x, y = window[:, :-1], window[:, 1:]            # each position's target is the next token
    loss = F.cross_entropy(model(x).logits.reshape(-1, V), y.reshape(-1))    # all B*T positions
    loss.backward()                                 # gradients for every parameter
    clip_grad_norm_(params, grad_clip)              # tame the rare huge step
    optimizer.step(); scheduler.step()              # AdamW with warmup + cosine learning rate
    optimizer.zero_grad()

Why not ``model(x, labels=x)``? Hugging Face labels are shifted *inside* the
window, so a window of T tokens trains only T-1 positions and the output at the
last position (T-1) never gets a gradient; with learned position embeddings,
sliding-window generation reads exactly that output once the context is full,
and the text falls apart after T characters. Windows of T+1 tokens train all T.

Everything else here is bookkeeping: periodic validation loss, a rich progress
line (step, loss, val loss, tokens/s, lr, grad norm), callbacks for live
readouts, checkpoints, and a Ctrl-C that saves before it stops. A resumed run
reproduces the uninterrupted one bit for bit: the checkpoint holds the weights,
the optimizer moments, the scheduler, the data sampler's random state and the
global random state (dropout), and nothing that changes them happens outside a
step.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..nn import functional as F
from ..nn.amp import GradScaler, autocast
from ..nn.models import ConfigError
from ..optim import AdamW, WarmupCosine
from ..tensor import Tensor
from ..text import DataError, load_corpus
from . import checkpoint as ckpt
from .checkpoint import CheckpointError, deferred_sigint
from .data import BatchSampler, TokenData, build_tokenizer, eval_batches

__all__ = ["TrainConfig", "Trainer", "train", "TRAIN_PRESETS", "MODEL_FIELDS"]

# Small model sizes for training on a laptop CPU (the vocabulary comes from the tokenizer).
# Published architectures ("gpt2", "llama-7b", ...) come from GPTConfig.preset.
TRAIN_PRESETS: dict[str, dict] = {
    "tiny": dict(n_layer=2, d_model=32, n_head=2, context_length=32),        # tests, seconds
    "demo": dict(n_layer=4, d_model=128, n_head=4, context_length=64),       # `tinygrad-tf demo`, minutes
    "small": dict(n_layer=6, d_model=192, n_head=6, context_length=128),     # a better model, ~an hour on CPU
}
DEFAULT_MODEL = "demo"
# TrainConfig fields that describe the model (a resumed run may not change them).
MODEL_FIELDS = ("n_layer", "d_model", "n_head", "d_ff", "context_length", "dropout")


@dataclass
class TrainConfig:
    """Everything a training run depends on. Saved in every checkpoint; ``--config FILE`` reads one as JSON.

    The model is ``preset`` (a TRAIN_PRESETS size or a GPTConfig preset; "demo" when
    None), then the model fields below when not None, then any other GPTConfig
    fields in ``model`` (e.g. ``{"position": "rope", "norm": "rmsnorm"}``). Its
    ``vocab_size`` always comes from the tokenizer.
    """

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
    data: str | None = None                 # a UTF-8 text file; None = the embedded default corpus
    tokenizer: str = "char"                 # "char" | "bpe"
    bpe_vocab_size: int = 512
    val_fraction: float = 0.1
    # optimization
    batch_size: int = 16
    steps: int = 1000
    lr: float = 1e-3                        # peak learning rate (after warmup)
    min_lr: float | None = None             # the cosine ends here; None = lr / 10
    warmup_steps: int = 100
    weight_decay: float = 0.1               # AdamW, decoupled; only on matrices (not biases, norms)
    beta1: float = 0.9
    beta2: float = 0.99                     # 0.99 suits small models and batches (nanoGPT: 0.95 for GPT-2 sizes)
    grad_clip: float = 1.0                  # max global grad norm; 0 = no clipping
    precision: str = "fp32"                 # "fp16": float16 products under autocast + loss scaling (for GPUs)
    # evaluation, logging, saving
    eval_interval: int = 100
    eval_iters: int = 10
    checkpoint_interval: int = 0            # also save every N steps (0 = only at the end and on Ctrl-C)
    out_dir: str | None = None              # the checkpoint folder; None = do not save
    # run
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self):
        self.validate()

    def validate(self):
        def bad(msg):
            raise ConfigError(f"TrainConfig: {msg}")
        for name in ("batch_size", "eval_iters", "eval_interval", "bpe_vocab_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                bad(f"{name} must be a positive integer, got {v!r}")
        for name in ("steps", "warmup_steps", "checkpoint_interval", "seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                bad(f"{name} must be a non-negative integer, got {v!r}")
        if not self.lr > 0:
            bad(f"lr must be positive, got {self.lr}")
        if self.min_lr is not None and not 0 <= self.min_lr <= self.lr:
            bad(f"min_lr must be between 0 and lr={self.lr}, got {self.min_lr}")
        if self.weight_decay < 0 or self.grad_clip < 0:
            bad("weight_decay and grad_clip must be >= 0")
        if self.precision not in ("fp32", "fp16"):
            bad(f"precision must be 'fp32' or 'fp16', got {self.precision!r}")
        if self.tokenizer not in ("char", "bpe"):
            bad(f"tokenizer must be 'char' or 'bpe', got {self.tokenizer!r}")
        if self.tokenizer == "bpe" and self.bpe_vocab_size < 257:
            bad(f"bpe_vocab_size must be at least 257 (256 bytes + 1 merge), got {self.bpe_vocab_size}")
        if not 0 < self.val_fraction < 1:
            bad(f"val_fraction must be between 0 and 1, got {self.val_fraction}")
        if not isinstance(self.model, dict):
            bad(f"model must be a dict of GPTConfig fields, got {type(self.model).__name__}")

    @property
    def min_lr_ratio(self) -> float:
        return 0.1 if self.min_lr is None else self.min_lr / self.lr

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
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
        p = Path(path)
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {p}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ConfigError(f"cannot read config file {p}: {e}") from None
        if not isinstance(d, dict):
            raise ConfigError(f"config file {p} must hold a JSON object of training options")
        return cls.from_dict(d)

    def model_config(self, vocab_size: int):
        """The GPTConfig this run trains (``vocab_size`` from the tokenizer)."""
        from ..nn.models import GPTConfig
        name = self.preset or DEFAULT_MODEL
        if name in TRAIN_PRESETS:
            base = dict(TRAIN_PRESETS[name])
        else:
            GPTConfig.preset(name)                           # raises ConfigError naming the valid presets
            base = dict(GPTConfig.PRESETS[name])             # as written: derived fields (n_kv_head) stay unset
        for k in MODEL_FIELDS:
            v = getattr(self, k)
            if v is not None:
                base[k] = v
        if self.d_model is not None and self.d_ff is None and "d_ff" not in self.model:
            base.pop("d_ff", None)                           # a new width: d_ff follows it (4 * d_model)
        base.update(self.model)
        base["vocab_size"] = vocab_size
        return GPTConfig.from_dict(base)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _human(n: float) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.1f}{unit}"
    return f"{n:.0f}"


class Trainer:
    """Builds (or restores) model, tokenizer, data, optimizer and schedule; ``run()`` trains.

    ``callbacks`` are called after every step with that step's metrics dict
    (``step, loss, lr, grad_norm, tokens_per_sec, time`` and ``val_loss`` on
    evaluation steps); a viz dashboard or the lab app hooks in here. Raise
    ``KeyboardInterrupt`` from one (or press Ctrl-C) to stop with a checkpoint;
    call ``request_stop()`` to stop quietly after the current step.
    """

    def __init__(self, config: TrainConfig, *, callbacks: list[Callable[[dict], object]] = (), console=None,
                 show_progress: bool = True, _resume_from: ckpt.Checkpoint | None = None):
        from rich.console import Console
        self.config = config
        self.callbacks = list(callbacks)
        self.console = console or Console(stderr=False)
        self.show_progress = show_progress
        self.device = backend.check_device(config.device)
        self.interrupted = False
        self._stop = False
        if config.out_dir is not None:
            ckpt.check_target(config.out_dir)

        text = load_corpus(config.data)
        self.data_sha256 = _sha256(text)
        if _resume_from is None:
            self.tokenizer = build_tokenizer(text, config.tokenizer, config.bpe_vocab_size)
        else:
            self.tokenizer = _resume_from.tokenizer
        self.data = TokenData.from_text(text, self.tokenizer, config.val_fraction)

        if _resume_from is None:
            from ..nn.models import GPT
            backend.manual_seed(config.seed)
            self.model_config = config.model_config(self.tokenizer.vocab_size)
            self.model = GPT(self.model_config).to(self.device)
        else:
            self.model_config, self.model = _resume_from.config, _resume_from.model.to(self.device)
        self.context = self.model_config.context_length
        self.data.check_block(self.context + 1)

        decay = [p for p in self.model.parameters() if p.ndim >= 2]
        no_decay = [p for p in self.model.parameters() if p.ndim < 2]
        groups = [{"params": decay, "weight_decay": config.weight_decay}]
        if no_decay:
            groups.append({"params": no_decay, "weight_decay": 0.0})
        self.optimizer = AdamW(groups, lr=config.lr, betas=(config.beta1, config.beta2))
        self.scheduler = WarmupCosine(self.optimizer, config.warmup_steps, config.steps, config.min_lr_ratio)
        self.sampler = BatchSampler(self.data.train, config.batch_size, self.context + 1, seed=config.seed)
        self.scaler = GradScaler(enabled=config.precision == "fp16")      # a pass-through in fp32
        self.step = 0
        self.history: list[dict] = []

        if _resume_from is not None:
            self._restore(_resume_from)
        self._snap = (self.sampler.state_dict(), backend.get_rng_state())

    # ------------------------------------------------------------ resume
    @classmethod
    def from_checkpoint(cls, path, overrides: dict | None = None, *, verify: bool = True, **kwargs) -> "Trainer":
        """Continue the run saved at ``path``. ``overrides`` may change e.g. ``steps`` or ``out_dir``,
        not the model; a model option that differs from the checkpoint is a CheckpointError.
        ``verify=False`` skips the integrity check of the weights files."""
        overrides = dict(overrides or {})
        if overrides.get("device"):
            backend.check_device(overrides["device"])       # a missing GPU is reported before any loading
        c = ckpt.load_checkpoint(path, device="cpu", verify=verify)   # Trainer moves it to the run's device
        if c.trainer_state is None or c.optimizer_state is None or c.tokenizer is None:
            raise CheckpointError(f"{c.path} holds a model but no training state, so it cannot be resumed "
                                  "(it was saved by model.save or without an optimizer)")
        try:
            saved = TrainConfig.from_dict(c.trainer_state["config"])
        except (KeyError, ConfigError, TypeError) as e:
            raise CheckpointError(f"{c.path / ckpt.STATE_FILE}: corrupt training config ({e})") from None
        asked = {k: overrides[k] for k in MODEL_FIELDS if overrides.get(k) is not None}
        asked.update(overrides.get("model") or {})
        if overrides.get("preset") not in (None, saved.preset):
            asked["preset"] = overrides["preset"]
        for k, v in asked.items():
            have = saved.preset if k == "preset" else getattr(c.config, k, None)
            if v != have:
                raise CheckpointError(f"checkpoint {c.path} holds a model with {k}={have!r}, but {k}={v!r} was "
                                      "asked for; leave the model options out when resuming, or start a new run "
                                      "with another --out")
        for k in ("tokenizer", "bpe_vocab_size", "val_fraction"):
            if k in overrides and overrides[k] != getattr(saved, k):
                raise CheckpointError(f"checkpoint {c.path} was trained with {k}={getattr(saved, k)!r}; "
                                      f"it cannot be resumed with {k}={overrides[k]!r}")
        merged = {**saved.to_dict(), **{k: v for k, v in overrides.items() if v is not None and k != "model"}}
        merged["out_dir"] = overrides.get("out_dir") or str(path)   # where it is now, not where it was made
        config = TrainConfig.from_dict(merged)
        text_sha = c.trainer_state.get("data_sha256")
        if text_sha is not None and _sha256(load_corpus(config.data)) != text_sha:
            if config.data is None:
                raise DataError(f"checkpoint {c.path} was trained on another version of the default corpus "
                                "(it ships with Python and changes between Python versions); it cannot be "
                                "resumed bit for bit here")
            raise DataError(f"{config.data} is not the text checkpoint {c.path} was trained on; pass the same "
                            "--data to resume")
        return cls(config, _resume_from=c, **kwargs)

    def _restore(self, c: ckpt.Checkpoint) -> None:
        st = c.trainer_state
        try:
            self.optimizer.load_state_dict(c.optimizer_state)
            sched = st["scheduler"]
            self.scheduler.last_epoch = int(sched["last_epoch"]) - 1   # re-derive the lr with today's schedule
            self.scheduler.step()
            self.sampler.load_state_dict(st["sampler"])
            backend.set_rng_state(st["rng"])
            if "grad_scaler" in st:
                self.scaler.load_state_dict({**st["grad_scaler"], "enabled": self.config.precision == "fp16"})
            self.step = int(st["step"])
            self.history = list(st["history"])
        except (KeyError, ValueError, TypeError) as e:
            raise CheckpointError(f"{c.path / ckpt.STATE_FILE}: corrupt or incompatible training state "
                                  f"({type(e).__name__}: {e})") from None

    # ------------------------------------------------------------ saving
    def trainer_state(self) -> dict:
        sampler_state, rng_state = self._snap
        return {"step": self.step, "config": self.config.to_dict(), "data_sha256": self.data_sha256,
                "scheduler": {"last_epoch": self.scheduler.last_epoch}, "sampler": sampler_state,
                "rng": rng_state, "history": self.history, "grad_scaler": self.scaler.state_dict()}

    def save(self, path=None) -> Path | None:
        """Write a checkpoint (atomically) to ``path`` or the config's ``out_dir``; returns the folder."""
        path = path or self.config.out_dir
        if path is None:
            return None
        return ckpt.save_checkpoint(path, self.model, self.tokenizer, optimizer_state=self.optimizer.state_dict(),
                                    trainer_state=self.trainer_state())

    def set_total_steps(self, steps: int) -> None:
        """Change the run's length (and the end of the cosine) while it runs, e.g. from a callback.

        During warmup this gives exactly the run that ``steps`` from the start would have given:
        warmup learning rates do not depend on the total.
        """
        if steps < self.step:
            raise ValueError(f"cannot end the run at step {steps}: it is already at step {self.step}")
        self.config.steps = int(steps)
        self.scheduler.total_steps = int(steps)

    def request_stop(self) -> None:
        """Stop after the current step (from a callback or another thread); ``run`` then saves and returns."""
        self._stop = True

    # ------------------------------------------------------------ one step, evaluation
    def loss(self, window: np.ndarray) -> Tensor:
        """Mean next-token cross-entropy over every position of a (B, T+1) batch of windows."""
        x = Tensor(np.ascontiguousarray(window[:, :-1]), device=self.device)
        y = Tensor(np.ascontiguousarray(window[:, 1:]), device=self.device)
        logits = self.model(x).logits                                  # (B, T, vocab)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    def train_step(self) -> dict:
        """One optimizer step; returns its metrics."""
        t0 = time.perf_counter()
        self.model.train()
        window = self.sampler.sample()
        with autocast(enabled=self.scaler.enabled):
            loss = self.loss(window)
        self.optimizer.zero_grad()
        # fp16: the loss times S, so small gradients survive, then the gradients divided by S again. An
        # overflow is expected now and then (the scaler skips that step), so NumPy need not warn about it.
        with np.errstate(over="ignore", invalid="ignore") if self.scaler.enabled else contextlib.nullcontext():
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        from ..nn.utils import clip_grad_norm_, get_total_norm
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        if self.config.grad_clip > 0 and not self.scaler.found_inf:
            gnorm = clip_grad_norm_(params, self.config.grad_clip)
        else:
            gnorm = get_total_norm([p.grad for p in params if p.grad is not None])
        loss_value, gnorm_value = float(loss.item()), float(gnorm.item())
        lr = self.optimizer.param_groups[0]["lr"]
        with deferred_sigint():              # the state changes: all of them or none
            stepped = self.scaler.step(self.optimizer)    # fp16: skipped when a gradient overflowed
            scale = self.scaler.get_scale()
            self.scaler.update()
            self.scheduler.step()
            self.optimizer.zero_grad()
            self.step += 1
            dt = time.perf_counter() - t0
            rec = {"step": self.step, "loss": loss_value, "lr": lr, "grad_norm": gnorm_value,
                   "tokens_per_sec": (window.size - len(window)) / dt, "time": dt}
            if self.scaler.enabled:
                rec.update(loss_scale=scale, skipped=not stepped)
            self.history.append(rec)
            self._snap = (self.sampler.state_dict(), backend.get_rng_state())
        return rec

    def evaluate(self, split: str = "val") -> float:
        """Mean loss over a fixed set of ``eval_iters`` batches of ``split`` (the same batches every time)."""
        data = self.data.val if split == "val" else self.data.train
        batches = eval_batches(data, self.config.batch_size, self.context + 1, self.config.eval_iters,
                               seed=self.config.seed)
        was_training = self.model.training
        self.model.eval()
        try:
            with no_grad(), autocast(enabled=self.scaler.enabled):
                losses = [float(self.loss(b).item()) for b in batches]
        finally:
            self.model.train(was_training)
        return float(np.mean(losses))

    # ------------------------------------------------------------ the loop
    def describe(self) -> str:
        c, cfg = self.model_config, self.config
        n = self.model.num_parameters()
        data = cfg.data or "default corpus (Python Language Reference)"
        return (f"GPT: {c.n_layer} layers, d_model {c.d_model}, {c.n_head} heads, context {c.context_length}, "
                f"vocab {c.vocab_size} ({cfg.tokenizer}) = {n:,} parameters | data: {data}, "
                f"{len(self.data.train):,} train / {len(self.data.val):,} val tokens | device {self.device}")

    def _line(self, rec: dict, tok_s: float) -> str:
        val = f"  val {rec['val_loss']:.4f}" if "val_loss" in rec else ""
        return (f"step {rec['step']:>{len(str(self.config.steps))}}/{self.config.steps}  loss {rec['loss']:.4f}{val}  "
                f"{_human(tok_s)} tok/s  lr {rec['lr']:.2e}  |grad| {rec['grad_norm']:.3f}")

    def run(self) -> list[dict]:
        """Train until ``config.steps``; returns the history (one dict per step, resumed steps included)."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        cfg, console = self.config, self.console
        progress = Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            TextColumn("{task.fields[info]}"), console=console, transient=True,
                            disable=not (self.show_progress and console.is_terminal))
        tokens = 0
        t_window = time.perf_counter()
        last_val = None
        try:
            with progress:
                task = progress.add_task("train", total=cfg.steps, completed=self.step, info="")
                while self.step < cfg.steps and not self._stop:
                    rec = self.train_step()
                    tokens += rec["tokens_per_sec"] * rec["time"]
                    due = self.step % cfg.eval_interval == 0 or self.step == cfg.steps
                    if due:
                        last_val = rec["val_loss"] = self.evaluate()
                        now = time.perf_counter()
                        tok_s = tokens / max(now - t_window, 1e-9)
                        tokens, t_window = 0, now
                        if self.show_progress:
                            console.print(self._line(rec, tok_s), highlight=False, soft_wrap=True)
                    for cb in self.callbacks:
                        cb(dict(rec))
                    val = f" val {last_val:.3f}" if last_val is not None else ""
                    progress.update(task, completed=self.step, total=cfg.steps,
                                    info=f"loss {rec['loss']:.3f}{val} {_human(rec['tokens_per_sec'])} tok/s "
                                         f"lr {rec['lr']:.1e} |g| {rec['grad_norm']:.2f}")
                    if cfg.checkpoint_interval and self.step % cfg.checkpoint_interval == 0 and self.step < cfg.steps:
                        self.save()
        except KeyboardInterrupt:
            self.interrupted = True
            sampler_state, rng_state = self._snap       # the state as of the last completed step
            self.sampler.load_state_dict(sampler_state)
            backend.set_rng_state(rng_state)
            where = self.save()
            if where is not None:
                console.print(f"interrupted at step {self.step}/{cfg.steps}; checkpoint saved to {where} "
                              f"(continue with: tinygrad-tf train --resume {where})", highlight=False, soft_wrap=True)
            else:
                console.print(f"interrupted at step {self.step}/{cfg.steps} (no --out folder, nothing saved)",
                              highlight=False, soft_wrap=True)
            return self.history
        self.save()
        return self.history


def train(config: TrainConfig | None = None, *, resume=None, callbacks=(), console=None, show_progress=True,
          **overrides) -> list[dict]:
    """Train a GPT and return its history: ``train(TrainConfig(...))``, ``train(steps=100, lr=3e-3)``,
    or ``train(resume="runs/x", steps=2000)``."""
    if resume is not None:
        if config is not None:
            raise TypeError("train(resume=...) takes the options to change as keywords, not a TrainConfig")
        trainer = Trainer.from_checkpoint(resume, overrides, callbacks=callbacks, console=console,
                                          show_progress=show_progress)
    else:
        config = dataclasses.replace(config, **overrides) if config is not None else TrainConfig(**overrides)
        trainer = Trainer(config, callbacks=callbacks, console=console, show_progress=show_progress)
    return trainer.run()

