"""Background training for the lab: one run, step by step, in a thread, with pause / resume / stop.

    worker = TrainingWorker(LabSpec(steps=100), RunStore("runs"), emit=print)
    worker.start()            # a daemon thread; emit(kind, data) is called from it
    worker.pause(); worker.resume(); worker.stop()      # stop = request_stop, then the final checkpoint
    worker.wait()             # -> the RunInfo of the finished run

    run = train_run(LabSpec(steps=100), RunStore("runs"))   # the same run, in this thread (scripts, docs, tests)

Every run — GPT, BERT or T5 — is the one training loop (``tinygrad_tf.train.Trainer``) with a callback,
so its checkpoint folder resumes from the command line (``tinygrad-tf train --resume RUN/checkpoint``)
with any optimizer the lab offers. The callback is where everything else happens, between two optimizer
steps: the metrics line is appended to the run's metrics.jsonl, a gradient reading is taken,
a sample is generated now and then, requests from the app (an attention map for a prompt) are served,
and a pause simply waits there. All model work happens in this one thread, so the app never touches a
model in the middle of a step.

Events (``emit(kind, data)``): "created" {name, path}; "started" {description, parameters, monitor, lock};
"metrics" [rec, ...] (batched, at most every ``throttle`` seconds); "sample" {step, text};
"attention" {maps, prompt, step}; "state" {state}; "error" {message}; "finished" {name, status, path}.
"""

from __future__ import annotations

import io
import queue
import threading
import time
import traceback
from collections.abc import Callable

import numpy as np

from .runs import RunInfo, RunStore
from .spec import LabSpec, SpecError

__all__ = ["TrainingWorker", "train_run", "RunFailed", "Locked", "DEFAULT_PROMPTS"]

DEFAULT_PROMPTS = {"gpt": "The ", "bert": "the [MASK] statement leaves the current function call .",
                   "t5": "31415926"}


class Locked:
    """A renderable drawn while holding ``lock`` (the worker holds it while it updates the object);
    ``adapt(renderable, options)`` may adjust it to the width first (under the lock too)."""

    def __init__(self, renderable, lock, adapt=None):
        self.renderable, self.lock, self.adapt = renderable, lock, adapt

    def __rich_console__(self, console, options):
        from rich.segment import Segment
        with self.lock:
            if self.adapt is not None:
                self.adapt(self.renderable, options)
            lines = console.render_lines(self.renderable, options, pad=False, new_lines=False)
        for line in lines:
            yield from line
            yield Segment.line()


def _user_message(e: BaseException) -> str:
    from ..backend import DeviceError
    from ..nn.models import CheckpointError, ConfigError
    from ..text import DataError, TokenizerError
    msg = " ".join(str(e).split())
    if isinstance(e, (DeviceError, CheckpointError, ConfigError, DataError, TokenizerError, SpecError)):
        return msg
    if isinstance(e, OSError):
        return f"{e.strerror or e}: {e.filename}" if getattr(e, "filename", None) else msg
    return f"{type(e).__name__}: {msg} (an internal error; the traceback is in the run's error.log)"


class TrainingWorker:
    """One lab run in a background thread (see the module docstring)."""

    def __init__(self, spec: LabSpec, store: RunStore, emit: Callable[[str, object], object] | None = None, *,
                 prompt: str | None = None, sample_tokens: int = 80, throttle: float = 0.1, yield_gil: float = 0.0):
        self.spec, self.store = spec, store
        self._emit = emit or (lambda kind, data: None)
        self.prompt = DEFAULT_PROMPTS[spec.family] if prompt is None else prompt
        self.sample_tokens, self.throttle, self.yield_gil = sample_tokens, throttle, yield_gil
        self.state = "idle"            # idle, starting, running, paused, stopping, done, stopped, failed
        self.error: str | None = None
        self.writer = None
        self.model = self.tokenizer = self.trainer = self.monitor = None
        self.lock = threading.RLock()  # held while the gradient monitor changes (the app draws it under it too)
        self.step = 0
        self.last: dict = {}
        self._thread: threading.Thread | None = None
        self._resume = threading.Event()
        self._resume.set()
        self._stop = threading.Event()
        self._requests: queue.Queue = queue.Queue()
        self._req_lock = threading.Lock()
        self._model_lock = threading.RLock()
        self._closed = False            # the training thread serves no more requests
        self._pending: list[dict] = []
        self._last_emit = 0.0
        self._t0 = time.perf_counter()
        self._result: RunInfo | None = None

    # ------------------------------------------------------------ control (any thread)
    def start(self) -> "TrainingWorker":
        if self._thread is not None:
            raise RuntimeError("this worker has already been started; make a new one for a new run")
        self.state = "starting"
        self._thread = threading.Thread(target=self.run, name="tinygrad-tf-lab-train", daemon=True)
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def active(self) -> bool:
        return self.state in ("starting", "running", "paused", "stopping")

    def pause(self) -> None:
        if self.state == "running":
            self._resume.clear()
            self._set_state("paused")

    def resume(self) -> None:
        if self.state == "paused":
            self._set_state("running")
        self._resume.set()

    def toggle_pause(self) -> None:
        self.resume() if self.state == "paused" else self.pause()

    def stop(self) -> None:
        """Stop after the current step; the run then saves its checkpoint and is marked "stopped"."""
        if self.active:
            self._stop.set()
            if self.state != "starting":
                self._set_state("stopping")
        self._resume.set()

    def wait(self, timeout: float | None = None) -> RunInfo | None:
        if self._thread is not None:
            self._thread.join(timeout)
        return self._result

    def request(self, fn: Callable[[], object]) -> None:
        """Run ``fn()`` in the training thread between two steps (or now, in a helper thread, when no run is
        training) — the way to touch the model safely."""
        with self._req_lock:
            if self.alive and not self._closed:
                self._requests.put(fn)
                return
        threading.Thread(target=self._guarded, args=(fn,), daemon=True).start()

    def request_attention(self, prompt: str | None = None) -> None:
        if prompt is not None:
            self.prompt = prompt
        self.request(self._attention)

    def request_sample(self) -> None:
        self.request(lambda: self._sample(self.step))

    # ------------------------------------------------------------ the run (the worker thread)
    def run(self) -> RunInfo | None:
        """Do the whole run in the calling thread; returns its RunInfo (None if the spec is invalid or the
        runs folder cannot be written)."""
        self._t0 = time.perf_counter()
        self._set_state("starting")
        problems = self.spec.problems()
        if problems:
            self.error = "; ".join(problems)
            self._set_state("failed")
            self._emit("error", {"message": self.error})
            return None
        try:
            self.writer = w = self.store.create(self.spec.to_dict(), label=self.spec.label())
        except OSError as e:                       # a runs folder that cannot be written
            self.error = f"cannot create a run in {self.store.root}: {_user_message(e)}"
            self._set_state("failed")
            self._emit("error", {"message": self.error})
            return None
        self._emit("created", {"name": w.name, "path": str(w.path)})
        status, extra = "failed", {}
        try:
            status = self._train()
            self._flush(force=True)
            self._readout(lambda: self._sample(self.step, final=True))
        except Exception as e:  # noqa: BLE001  (reported to the user as one line; traceback in error.log)
            self.error = _user_message(e)
            status, extra = "failed", {"error": self.error}
            try:
                (w.path / "error.log").write_text(traceback.format_exc(), encoding="utf-8")
            except OSError:
                pass
            self._emit("error", {"message": self.error})
        finally:
            self._flush(force=True)
            if self.monitor is not None:
                self.monitor.remove()
        recs = [r for r in [self.last] if r]
        w.finish(status, steps=self.step, seconds=round(time.perf_counter() - self._t0, 3),
                 loss=recs[0].get("loss") if recs else None, **extra)
        self._result = self.store.load(w.path)
        with self._req_lock:                       # from now on requests run in helper threads
            self._closed = True
        self._serve()
        self._set_state(status)
        self._emit("finished", {"name": w.name, "status": status, "path": str(w.path)})
        return self._result

    def _started(self, description: str) -> None:
        from ..viz import GradientMonitor
        self.monitor = GradientMonitor(self.model, hooks=True, max_rows=8, history=30)
        n = self.model.num_parameters()
        self.writer.update_info(model_config=self.model.config.to_dict(), parameters=n, description=description)
        self._set_state("paused" if not self._resume.is_set() else "running")
        self._emit("started", {"name": self.writer.name, "description": description, "parameters": n,
                               "monitor": self.monitor, "lock": self.lock, "family": self.spec.family,
                               "n_layer": self.model.config.n_layer, "n_head": self.model.config.n_head,
                               "steps": self.spec.steps})

    def _train(self) -> str:
        from rich.console import Console

        from ..train import Trainer
        cfg = self.spec.train_config(out_dir=self.writer.checkpoint_dir)
        trainer = Trainer(cfg, callbacks=[self._on_step], console=Console(file=io.StringIO()), show_progress=False)
        self.trainer, self.model, self.tokenizer = trainer, trainer.model, trainer.tokenizer
        self._started(trainer.describe())
        if self._stop.is_set():
            trainer.request_stop()
        trainer.run()
        return "done" if trainer.step >= cfg.steps else "stopped"

    # ------------------------------------------------------------ between two steps
    def _on_step(self, rec: dict) -> None:
        rec = dict(rec)
        rec["elapsed"] = round(time.perf_counter() - self._t0, 4)
        self.step, self.last = int(rec.get("step", self.step + 1)), rec
        with self.lock:
            self.monitor.record(self.step)
            if "val_loss" in rec or "accuracy" in rec:          # evaluation steps: gradient norm per layer too
                rec["layer_grad_norms"] = {k: pg.grad_norm for k, pg in self.monitor.layers.items()}
        self.writer.append_metrics(rec)
        self._pending.append(rec)
        every = self.spec.resolved_sample_every
        if self.step % every == 0 and self.step < self.spec.steps:
            self._flush(force=True)
            self._readout(lambda: self._sample(self.step))     # this thread owns the model: no lock needed
            self._readout(self._attention)                     # (the lock guards the monitor the app draws)
        self._flush(force="val_loss" in rec or "accuracy" in rec)
        self._serve()
        while not self._resume.is_set() and not self._stop.is_set():    # paused: wait here, still serving
            self._flush(force=True)
            self._resume.wait(0.05)
            self._serve()
        if self.yield_gil:
            time.sleep(self.yield_gil)   # let the app's thread in: a tight loop of small steps would starve it
        if self._stop.is_set():
            self._flush(force=True)
            self.trainer.request_stop()

    def _serve(self) -> None:
        while True:
            try:
                fn = self._requests.get_nowait()
            except queue.Empty:
                return
            self._guarded(fn)

    def _guarded(self, fn) -> None:
        with self._model_lock:                 # one model user at a time (helper threads after the run)
            self._readout(fn)

    def _readout(self, fn) -> None:
        """A sample or an attention map: if it fails, say so, and go on training."""
        try:
            fn()
        except Exception as e:  # noqa: BLE001  (a failed readout must not end the run)
            self._emit("error", {"message": f"readout failed: {_user_message(e)}"})

    def _flush(self, force=False) -> None:
        now = time.perf_counter()
        if self._pending and (force or now - self._last_emit >= self.throttle):
            batch, self._pending = self._pending, []
            self._last_emit = now
            self._emit("metrics", batch)

    def _set_state(self, state: str) -> None:
        self.state = state
        self._emit("state", {"state": state})

    # ------------------------------------------------------------ samples and attention (model work)
    def _prompt_ids(self, prompt: str) -> tuple[list[int], list[str] | None]:
        """Token ids of ``prompt`` for this run's model (cropped to its context), and labels when needed."""
        if self.spec.family == "t5":
            from ..train.seq2seq import encode_digits
            digits = "".join(c for c in prompt if c.isdigit()) or DEFAULT_PROMPTS["t5"]
            ids = encode_digits(digits[:self.model.config.context_length - 1])
            return ids, [*digits[:len(ids) - 1], "</s>"]
        from ..train.data import encode_prompt
        ids = encode_prompt(self.tokenizer, prompt or ("\n" if self.spec.family == "gpt" else DEFAULT_PROMPTS["bert"]))
        return ids[-self.model.config.context_length:], None

    def _sample(self, step: int, final: bool = False) -> None:
        if self.trainer is None:
            return
        options = {"n": self.sample_tokens} if self.spec.family == "gpt" else {}
        text = self.trainer.sample(self.prompt, **options)         # the run's random state is left as it was
        self.writer.add_sample(step, text, final=final)
        self._emit("sample", {"step": step, "text": text, "final": final})

    def _attention(self) -> None:
        if self.model is None:
            return
        from ..viz import attention_maps
        ids, labels = self._prompt_ids(self.prompt)
        tok = None if self.spec.family == "t5" else self.tokenizer
        kw = {"tokens": labels} if labels else {}
        if self.spec.family == "t5":
            kw["decoder_tokens"] = labels
        maps = attention_maps(self.model, np.array(ids, dtype=np.int64), tokenizer=tok, **kw)
        self._emit("attention", {"maps": maps, "prompt": self.prompt, "step": self.step})


class RunFailed(RuntimeError):
    """``train_run``: the run started but failed (the message is the one the lab shows)."""


def train_run(spec: LabSpec, store: RunStore | None = None, emit=None, **kwargs) -> RunInfo:
    """Train one lab run in this thread and return its RunInfo (raises SpecError for an invalid spec)."""
    spec.check()
    worker = TrainingWorker(spec, store or RunStore(), emit, **kwargs)
    info = worker.run()
    if info is None:                                   # the runs folder could not be written
        raise RunFailed(worker.error or "the run could not start")
    if info.status == "failed":
        raise RunFailed(f"run {info.name} failed: {worker.error}")
    return info
