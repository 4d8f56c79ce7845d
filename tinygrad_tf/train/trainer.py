"""The training loop: one Trainer for GPT, BERT and T5, with evaluation, checkpoints and exact resume.

    from tinygrad_tf.train import TrainConfig, Trainer, train
    history = train(TrainConfig(steps=200, out_dir="runs/mini"))          # a list of per-step dicts
    history = train(resume="runs/mini", steps=400)                        # continue the same run
    trainer = Trainer(TrainConfig(family="t5", task="reverse")); trainer.run(); trainer.model
    (one-call recipes for notebooks, train_mlm and train_seq2seq: recipes.py)

One step is the whole of deep learning in six lines (``Trainer.train_step``); the task (tasks.py) says what
a batch and its loss are for the model's family:

    batch = task.batch()                            # e.g. (B, T+1) random windows of the training text
    loss = task.loss(model, batch)                  # e.g. next-token cross-entropy at all B*T positions
    loss.backward()                                 # gradients for every parameter
    clip_grad_norm_(params, grad_clip)              # tame the rare huge step
    optimizer.step(); scheduler.step()              # AdamW with warmup + cosine learning rate
    optimizer.zero_grad()

Everything else here is bookkeeping, written once for every family: periodic evaluation, a rich progress
line, callbacks for live readouts (a dashboard, the lab), checkpoints, float16 with loss scaling, a Ctrl-C
(or SIGTERM) that saves before it stops, and a run that diverges (a NaN or inf loss) stopping with a
TrainingDiverged error instead of writing NaN weights over a good checkpoint. A resumed run reproduces the
uninterrupted one bit for bit: the checkpoint holds the weights, the optimizer moments, the scheduler, the task's random state and the global random state
(dropout), and nothing that changes them happens outside a step.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..fileio import HELD_SIGNALS, deferred_signals
from ..nn.amp import GradScaler, autocast
from ..nn.models import MODEL_CLASSES, ConfigError
from ..nn.utils import clip_grad_norm_, get_total_norm
from ..optim import SGD, Adam, AdamW, WarmupCosine
from . import checkpoint as ckpt
from .checkpoint import CheckpointError
from .config import MODEL_FIELDS, TrainConfig
from .parallel import DataParallel, resume_batch_size
from .tasks import make_task

__all__ = ["Trainer", "train", "make_optimizer", "TrainingDiverged", "MAX_NONFINITE_STEPS", "interrupt_signals"]

# A step whose loss (or, in float32, gradient) is NaN or inf changes no weight; this many in a row stop the run.
MAX_NONFINITE_STEPS = 3


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or inf and stayed so (the learning rate is too high, or clipping is off); the message
    says at which step and what to change. Nothing non-finite is ever saved."""

# options a resumed run may not change: they decide the data it sees and how it is evaluated (and the optimizer's
# state fits only its own kind)
FIXED_ON_RESUME = ("family", "task", "tokenizer", "vocab_size", "val_fraction", "mlm_probability", "min_len",
                   "max_len", "eval_size", "seed", "batch_size", "eval_iters", "optimizer")


def make_optimizer(config: TrainConfig, model):
    """The optimizer of a run, with the weight-decay groups of nanoGPT's ``configure_optimizers``: matrices
    (ndim >= 2: Linear and embedding weights) decay, vectors (biases, norm gains) do not — shrinking a gain
    toward 0 would switch its feature off. Adam and SGD (momentum 0.9) run without weight decay."""
    params = list(model.parameters())
    if config.optimizer == "sgd":
        return SGD(params, lr=config.lr, momentum=0.9)
    if config.optimizer == "adam":
        return Adam(params, lr=config.lr, betas=(config.beta1, config.beta2), eps=config.eps)
    groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": config.weight_decay},
              {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    return AdamW([g for g in groups if g["params"]], lr=config.lr, betas=(config.beta1, config.beta2), eps=config.eps)


@contextlib.contextmanager
def interrupt_signals():
    """While a run trains: Ctrl-C (SIGINT) and SIGTERM (kill, systemd, job schedulers) raise KeyboardInterrupt
    in the main thread, once. From the first on, further ones are held back and dropped, so the checkpoint
    save that follows is never cut short; the handlers that were there before come back when the block ends.
    Yields a dict whose "stopping" the caller sets when it stops for another reason (a callback's
    KeyboardInterrupt). Outside the main thread (the lab's worker) it does nothing."""
    state = {"stopping": False, "held": []}      # held: the signals that came while it stopped
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum, frame):
        if state["stopping"]:
            state["held"].append(signum)
            with contextlib.suppress(OSError):
                os.write(2, b"\n(saving the checkpoint first; one moment)\n")
            return
        state["stopping"] = True
        raise KeyboardInterrupt

    olds = {}
    try:
        for sig in HELD_SIGNALS:
            olds[sig] = signal.signal(sig, handler)
    except (ValueError, OSError):
        pass
    try:
        yield state
    finally:
        for sig, old in olds.items():
            signal.signal(sig, signal.SIG_DFL if old is None else old)


def _human(n: float) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.1f}{unit}"
    return f"{n:.0f}"


class Trainer:
    """Builds (or restores) the task, model, optimizer and schedule; ``run()`` trains.

    ``model`` / ``tokenizer``: train these instead of new ones (they must fit the task). ``callbacks`` are
    called after every step with that step's metrics dict (``step, loss, lr, grad_norm, tokens_per_sec, time``
    and the task's evaluation numbers on evaluation steps); a dashboard or the lab hooks in here. Raise
    ``KeyboardInterrupt`` from one (or press Ctrl-C) to stop with a checkpoint; call ``request_stop()`` to
    stop quietly after the current step.
    """

    def __init__(self, config: TrainConfig, *, model=None, tokenizer=None,
                 callbacks: list[Callable[[dict], object]] = (), console=None, show_progress: bool = True,
                 _resume_from: ckpt.Checkpoint | None = None):
        from rich.console import Console
        self.config, self.callbacks = config, list(callbacks)
        self.console = console or Console(stderr=False)
        self.device = backend.check_device(config.device)
        self.parallel = DataParallel.join(self.device)     # one process, or rank r of mpirun's N (parallel.py)
        self.show_progress = show_progress and self.parallel.is_main
        self.interrupted = self._stop = False
        if config.out_dir is not None and self.parallel.is_main:
            ckpt.check_writable(config.out_dir)      # a folder that cannot be written: now, not at the first save

        resume = _resume_from
        self.task = make_task(self.parallel.task_config(config), resume.tokenizer if resume is not None else tokenizer,
                              fingerprint=resume.trainer_state.get("data_sha256") if resume is not None else None)
        self.tokenizer = self.task.tokenizer
        backend.manual_seed(config.seed)
        if resume is not None:
            model = resume.model
        elif model is None:
            model = MODEL_CLASSES[config.family](self.task.model_config())
        self.model, self.model_config = model.to(self.device), model.config
        self.context = model.config.context_length
        self.task.setup(self.model)
        self.parallel.wrap(self.model)          # N processes: DistributedDataParallel, rank 0's weights everywhere

        self.optimizer = make_optimizer(config, self.model)
        self.scheduler = WarmupCosine(self.optimizer, config.warmup_steps, config.steps, config.min_lr_ratio)
        self.scaler = GradScaler(enabled=config.precision == "fp16")      # a pass-through in fp32
        self.step, self.history = 0, []
        self._nonfinite = 0               # steps in a row whose loss was NaN / inf (they changed no weight)
        self._saved_step = None           # the step of the last checkpoint this run wrote (or resumed from)
        self._unfinished = False          # the last step's evaluation and callbacks have not run (a Ctrl-C)
        if resume is not None:
            self._restore(resume)
            if config.out_dir is not None and Path(config.out_dir).resolve() == Path(resume.path).resolve():
                self._saved_step = self.step
        self.parallel.seed_dropout(config.seed, self.step)
        self._snap = (self.task.state_dict(), backend.get_rng_state())

    # ------------------------------------------------------------ resume
    @classmethod
    def from_checkpoint(cls, path, overrides: dict | None = None, *, verify: bool = True, **kwargs) -> "Trainer":
        """Continue the run saved at ``path``. ``overrides`` may change e.g. ``steps`` or ``out_dir``, not the
        model or the data; one that differs from the checkpoint is a CheckpointError. ``verify=False`` skips
        the integrity check of the weights files."""
        overrides = dict(overrides or {})
        if overrides.get("device"):
            backend.check_device(overrides["device"])       # a missing GPU is reported before any loading
        if (Path(path) / "run.json").is_file() and (Path(path) / "checkpoint").is_dir():
            raise CheckpointError(f"{path} is a lab run; its checkpoint is {Path(path) / 'checkpoint'} (resume that)")
        c = ckpt.load_checkpoint(path, device="cpu", verify=verify)   # Trainer moves it to the run's device
        if c.trainer_state is None:
            raise CheckpointError(f"{c.path} holds a model but no training state (no {ckpt.STATE_FILE}: no "
                                  "optimizer state, schedule or data position), so it cannot be resumed: it was "
                                  "saved by model.save; load the model with tinygrad_tf.nn.models.load")
        if "config" not in c.trainer_state or c.optimizer_state is None:
            missing = "training config" if "config" not in c.trainer_state else "optimizer state"
            raise CheckpointError(f"{c.path / ckpt.STATE_FILE} holds no {missing}, so the run cannot be resumed "
                                  "(a checkpoint saved without it, or an edited file)")
        try:
            saved = TrainConfig.from_dict(c.trainer_state["config"])
        except (ConfigError, TypeError) as e:
            raise CheckpointError(f"{c.path / ckpt.STATE_FILE}: corrupt training config ({e})") from None
        if c.tokenizer is None and saved.tokenizer in ("char", "bpe", "wordpiece"):
            raise CheckpointError(f"{c.path} has no {ckpt.TOKENIZER_FILE}, so the run cannot be resumed: the model "
                                  f"was trained on the ids of its {saved.tokenizer} tokenizer, and a new one would "
                                  f"give other ids; put the run's {ckpt.TOKENIZER_FILE} back")
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
        overrides["batch_size"] = resume_batch_size(c, saved, overrides.get("batch_size"))
        for k in FIXED_ON_RESUME:
            if overrides.get(k) is not None and overrides[k] != getattr(saved, k) and k != "batch_size":
                raise CheckpointError(f"checkpoint {c.path} was trained with {k}={getattr(saved, k)!r}; "
                                      f"it cannot be resumed with {k}={overrides[k]!r}")
        step = int(c.trainer_state.get("step", 0))
        if overrides.get("steps") is not None and overrides["steps"] < step:
            raise CheckpointError(f"checkpoint {c.path} is already at step {step}; --steps {overrides['steps']} would "
                                  "end the run before it (give a larger --steps to train further)")
        merged = {**saved.to_dict(), **{k: v for k, v in overrides.items() if v is not None and k != "model"}}
        merged["out_dir"] = overrides.get("out_dir") or str(path)   # where it is now, not where it was made
        return cls(TrainConfig.from_dict(merged), _resume_from=c, **kwargs)

    def _restore(self, c: ckpt.Checkpoint) -> None:
        st = c.trainer_state
        try:
            self.optimizer.load_state_dict(c.optimizer_state)
            self.scheduler.last_epoch = int(st["scheduler"]["last_epoch"]) - 1   # re-derive the lr with today's
            self.scheduler.step()                                                 # schedule
            self.task.load_state_dict(st["sampler"])
            backend.set_rng_state(st["rng"])
            if "grad_scaler" in st:
                self.scaler.load_state_dict({**st["grad_scaler"], "enabled": self.config.precision == "fp16"})
            self.step, self.history = int(st["step"]), list(st["history"])
            self._unfinished = bool(st.get("unfinished", False))
        except (KeyError, ValueError, TypeError) as e:
            raise CheckpointError(f"{c.path / ckpt.STATE_FILE}: corrupt or incompatible training state "
                                  f"({type(e).__name__}: {e})") from None

    # ------------------------------------------------------------ saving
    def trainer_state(self) -> dict:
        task_state, rng_state = self._snap
        return {"step": self.step, "config": self.config.to_dict(), "data_sha256": self.task.fingerprint,
                "world_size": self.parallel.world_size,
                "global_batch_size": self.config.batch_size * self.parallel.world_size,
                "scheduler": {"last_epoch": self.scheduler.last_epoch}, "sampler": task_state,
                "rng": rng_state, "history": self.history, "grad_scaler": self.scaler.state_dict(),
                "unfinished": self._unfinished, **self.task.info()}

    def save(self, path=None) -> Path | None:
        """Write a checkpoint (atomically) to ``path`` or the config's ``out_dir``; returns the folder."""
        path = path or self.config.out_dir
        if path is None or not self.parallel.is_main:         # N processes: rank 0 alone writes
            return None
        bad = [name for name, p in self.model.named_parameters()
               if not bool(backend.get_array_module(p.data).isfinite(p.data).all())]
        if bad:
            raise TrainingDiverged(f"not saving the checkpoint at step {self.step}: the weights hold NaN or inf "
                                   f"({', '.join(bad[:3])}{' ...' if len(bad) > 3 else ''}), and {path} keeps what it "
                                   f"had; {self._hint()}")
        where = ckpt.save_checkpoint(path, self.model, self.tokenizer, optimizer_state=self.optimizer.state_dict(),
                                     trainer_state=self.trainer_state())
        if Path(path).resolve() == Path(self.config.out_dir or path).resolve():
            self._saved_step = self.step
        return where

    def _hint(self) -> str:
        cfg = self.config
        clip = (f"clip gradients harder (--grad-clip {cfg.grad_clip:g} now)" if cfg.grad_clip > 0 else
                "clip gradients (--grad-clip 1.0; it is off)")
        return f"lower the learning rate (--lr {cfg.lr:g} now) or {clip}"

    def _diverged(self) -> TrainingDiverged:
        first = self.step - self._nonfinite + 1
        losses = [r["loss"] for r in self.history[-self._nonfinite:]]
        what = (f"the loss was {' / '.join(sorted({repr(x) for x in losses}))}"
                if not any(math.isfinite(x) for x in losses) else "the loss or its gradient was NaN or inf")
        kept = (f"the checkpoint in {self.config.out_dir} (step {self._saved_step}) is kept as it was"
                if self._saved_step is not None and self.config.out_dir else "nothing was saved")
        return TrainingDiverged(f"training diverged at step {first}: {what} for {self._nonfinite} steps in a row "
                                f"(steps {first}-{self.step}, skipped: no weight changed); {kept}; {self._hint()}")

    def set_total_steps(self, steps: int) -> None:
        """Change the run's length (and the end of the cosine) while it runs, e.g. from a callback.

        During warmup this gives exactly the run that ``steps`` from the start would have given:
        warmup learning rates do not depend on the total.
        """
        if steps < self.step:
            raise ValueError(f"cannot end the run at step {steps}: it is already at step {self.step}")
        self.config.steps = self.scheduler.total_steps = int(steps)

    def request_stop(self) -> None:
        """Stop after the current step (from a callback or another thread); ``run`` then saves and returns."""
        self._stop = True

    # ------------------------------------------------------------ one step, evaluation
    def train_step(self) -> dict:
        """One optimizer step; returns its metrics."""
        t0 = time.perf_counter()
        self.model.train()
        full = self.task.batch()
        batch = self.parallel.shard(full)       # N processes: this rank's rows of the global batch
        weight = self.parallel.loss_weight(self.task, batch, full)
        # fp16: the loss times S, so small gradients survive, then the gradients divided by S again. An
        # overflow is expected now and then (the scaler skips that step), so NumPy need not warn about it; nor
        # in fp32, where a NaN / inf loss or gradient is caught below (the step is skipped, a streak stops the run).
        with np.errstate(over="ignore", invalid="ignore"):
            with autocast(enabled=self.scaler.enabled):
                loss = self.task.loss(self.model, batch)
            self.optimizer.zero_grad()
            self.parallel.prepare(loss)
            comm = self.parallel.comm_seconds()
            self.scaler.scale(loss * weight if weight != 1.0 else loss).backward()   # N processes: DDP's hooks
            comm = self.parallel.comm_seconds() - comm                            # average the gradients
            self.scaler.unscale_(self.optimizer)
            params = [p for g in self.optimizer.param_groups for p in g["params"]]
            if self.config.grad_clip > 0 and not self.scaler.found_inf:
                gnorm = clip_grad_norm_(params, self.config.grad_clip)
            else:
                gnorm = get_total_norm([p.grad for p in params if p.grad is not None])
        loss_value, gnorm_value = self.parallel.global_loss(float(loss.item()), weight), float(gnorm.item())
        lr = self.optimizer.param_groups[0]["lr"]
        # a NaN / inf loss (or, in fp32, gradient) changes no weight; fp16's scaler skips overflowing gradients
        nonfinite = not math.isfinite(loss_value) or (not self.scaler.enabled and not math.isfinite(gnorm_value))
        with deferred_signals():             # the state changes: all of them or none
            if nonfinite and not self.scaler.enabled:
                stepped = False
            elif nonfinite:
                self.scaler.found_inf = True                  # skipped; the scaler also lowers its scale
                stepped = self.scaler.step(self.optimizer)
            else:
                stepped = self.scaler.step(self.optimizer)    # fp16: skipped when a gradient overflowed
            scale = self.scaler.get_scale()
            self.scaler.update()
            self.scheduler.step()
            self.optimizer.zero_grad()
            self.step += 1
            dt = time.perf_counter() - t0
            rec = {"step": self.step, "loss": loss_value, "lr": lr, "grad_norm": gnorm_value,
                   "tokens_per_sec": self.task.tokens(full) / dt, "time": dt}
            if self.parallel.world_size > 1:
                rec["comm_time"] = comm
            if self.scaler.enabled:
                rec.update(loss_scale=scale, skipped=not stepped)
            elif not stepped:
                rec["skipped"] = True
            self._nonfinite = self._nonfinite + 1 if nonfinite else 0
            self.history.append(rec)
            self._snap = (self.task.state_dict(), backend.get_rng_state())
            self._unfinished = True
        return rec

    def evaluate(self) -> dict:
        """The task's evaluation on its fixed held-out set (e.g. ``{"val_loss": ...}``), in eval mode. N processes:
        rank 0 evaluates and every rank gets its numbers (every rank must call it)."""
        return self.parallel.from_main(self._evaluate)

    def _evaluate(self) -> dict:
        was_training = self.model.training
        self.model.eval()
        try:                                # a diverging run evaluates to NaN: shown, not warned about
            with no_grad(), autocast(enabled=self.scaler.enabled), np.errstate(over="ignore", invalid="ignore"):
                return self.task.evaluate(self.model)
        finally:
            self.model.train(was_training)

    def sample(self, prompt=None, **kwargs) -> str:
        """What the model makes of ``prompt`` now (the task's readout; ``kwargs`` go to ``task.sample``, e.g.
        ``n=300`` tokens for a GPT), seeded by the run's seed, without touching the run's random state."""
        saved = backend.get_rng_state()
        was_training = self.model.training
        self.model.eval()                       # no dropout in a readout
        try:
            backend.manual_seed(self.config.seed)
            with no_grad():
                return self.task.sample(self.model, **({"prompt": prompt} if prompt is not None else {}), **kwargs)
        finally:
            backend.set_rng_state(saved)
            self.model.train(was_training)

    # ------------------------------------------------------------ the loop
    def describe(self) -> str:
        c, cfg = self.model_config, self.config
        layers = f"{c.n_layer}+{c.n_decoder_layer}" if cfg.family == "t5" else str(c.n_layer)
        data = cfg.data or ("generated" if cfg.family == "t5" else "default corpus (Python Language Reference)")
        return (f"{self.task.title}: {layers} layers, d_model "
                f"{c.d_model}, {c.n_head} heads, context {c.context_length}, vocab {c.vocab_size} = "
                f"{self.model.num_parameters():,} parameters | data: {data}, {self.task.describe(self.model)} | "
                f"{cfg.optimizer} | device {self.device}")

    def _line(self, rec: dict, tok_s: float) -> str:
        evals = "".join(f"  {label} {rec[k]:.1%}" if "accuracy" in k else f"  {label} {rec[k]:.4f}"
                        for k, label in self.task.labels.items() if k in rec)
        return (f"step {rec['step']:>{len(str(self.config.steps))}}/{self.config.steps}  loss {rec['loss']:.4f}{evals}"
                f"  {_human(tok_s)} tok/s  lr {rec['lr']:.2e}  |grad| {rec['grad_norm']:.3f}")

    def _reached_target(self, rec: dict) -> bool:
        key, target = self.task.accuracy_key, self.config.target_accuracy
        return target is not None and key is not None and rec.get(key, -1.0) >= target

    def _finish_step(self, rec: dict, progress, bar) -> None:
        """After a step: the evaluation when one is due, the progress line, the callbacks, an interval checkpoint.
        A Ctrl-C in here leaves the step unfinished; the checkpoint says so, and a resumed run finishes it."""
        cfg = self.config
        if self.step % cfg.eval_interval == 0 or self.step == cfg.steps:
            rec.update(self.evaluate())
            now = time.perf_counter()
            if self.show_progress:
                self.console.print(self._line(rec, self._tokens / max(now - self._t_window, 1e-9)), highlight=False,
                                   soft_wrap=True)
            self._tokens, self._t_window = 0.0, now
            if self._reached_target(rec):
                self._stop = True
        for cb in self.callbacks:
            cb(dict(rec))
        progress.update(bar, completed=self.step, total=cfg.steps,
                        info=f"loss {rec['loss']:.3f} {_human(rec['tokens_per_sec'])} tok/s "
                             f"lr {rec['lr']:.1e} |g| {rec['grad_norm']:.2f}")
        self._unfinished = False
        if self._nonfinite:                  # no interval checkpoint while the loss is NaN / inf
            if self._nonfinite >= MAX_NONFINITE_STEPS:
                raise self._diverged()
            return
        if cfg.checkpoint_interval and self.step % cfg.checkpoint_interval == 0 and self.step < cfg.steps:
            self.save()

    def run(self) -> list[dict]:
        """Train until ``config.steps`` (or ``target_accuracy``), then save; returns the history (one dict per
        step, resumed steps included). Ctrl-C stops after the last whole step, saves, and returns."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        cfg, console = self.config, self.console
        self.parallel.check_open()
        progress = Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            TextColumn("{task.fields[info]}"), console=console, transient=True,
                            disable=not (self.show_progress and console.is_terminal))
        self._tokens, self._t_window = 0.0, time.perf_counter()
        with interrupt_signals() as signals:
            try:
                with progress:
                    bar = progress.add_task("train", total=cfg.steps, completed=self.step, info="")
                    if self._unfinished and self.history:        # interrupted between its step and its evaluation
                        self._finish_step(self.history[-1], progress, bar)
                    while self.step < cfg.steps and not self._stop:
                        rec = self.train_step()
                        self._tokens += rec["tokens_per_sec"] * rec["time"]
                        self._finish_step(rec, progress, bar)
                        self._stop = self.parallel.any(self._stop)     # N processes: one stops, all stop
                    self.save()
                self.parallel.finish()
            except KeyboardInterrupt:
                signals["stopping"] = True           # a second Ctrl-C / SIGTERM must not cut the save short
                self.interrupted = True
                task_state, rng_state = self._snap       # the state as of the last completed step
                self.task.load_state_dict(task_state)
                backend.set_rng_state(rng_state)
                self.scaler.found_inf = self.scaler._unscaled = False    # a step cut short before its update
                where = self.save()
                if self.parallel.is_main:
                    console.print(f"interrupted at step {self.step}/{cfg.steps}; " +
                                  (f"checkpoint saved to {where} (continue with: tinygrad-tf train --resume {where})"
                                   if where is not None else "no --out folder, nothing saved"),
                                  highlight=False, soft_wrap=True)
                self.parallel.interrupted(where)          # N processes: the job ends here
            except Exception as e:
                self.parallel.fail(e)                     # N processes: an error on one rank ends them all
                raise
        return self.history


def train(config: TrainConfig | None = None, *, resume=None, callbacks=(), console=None, show_progress=True,
          **overrides) -> list[dict]:
    """Train and return the history: ``train(TrainConfig(...))``, ``train(steps=100, lr=3e-3)``,
    ``train(family="bert", steps=600)`` or ``train(resume="runs/x", steps=2000)``."""
    if resume is not None:
        if config is not None:
            raise TypeError("train(resume=...) takes the options to change as keywords, not a TrainConfig")
        trainer = Trainer.from_checkpoint(resume, overrides, callbacks=callbacks, console=console,
                                          show_progress=show_progress)
    else:
        config = dataclasses.replace(config, **overrides) if config is not None else TrainConfig(**overrides)
        trainer = Trainer(config, callbacks=callbacks, console=console, show_progress=show_progress)
    return trainer.run()
