"""Background training for the lab: one run, step by step, in a thread, with pause / resume / stop.

    worker = TrainingWorker(LabSpec(steps=100), RunStore("runs"), emit=print)
    worker.start()            # a daemon thread; emit(kind, data) is called from it
    worker.pause(); worker.resume(); worker.stop()      # stop = request_stop, then the final checkpoint
    worker.wait()             # -> the RunInfo of the finished run

    run = train_run(LabSpec(steps=100), RunStore("runs"))   # the same run, in this thread (scripts, docs, tests)

GPT runs use the real training loop (``tinygrad_tf.train.Trainer``) with a callback; BERT runs use
``train.mlm.train_mlm`` and T5 runs ``train.seq2seq.train_seq2seq`` (the reverse-digits task), each with a
model built from the spec and passed in. The callback is where everything else happens, between two
optimizer steps: the metrics line is appended to the run's metrics.jsonl, a gradient reading is taken,
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
from .spec import T5_MAX_LEN, T5_MIN_LEN, LabSpec, SpecError

__all__ = ["TrainingWorker", "train_run", "RunFailed", "Locked", "DEFAULT_PROMPTS"]

DEFAULT_PROMPTS = {"gpt": "The ", "bert": "the [MASK] statement leaves the current function call .",
                   "t5": "31415926"}


class _StopTraining(Exception):
    """Raised from a BERT / T5 callback to leave their loops early (the model is ours: we save it)."""


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
            family = self.spec.family
            status = {"gpt": self._run_gpt, "bert": self._run_bert, "t5": self._run_t5}[family]()
            self._flush(force=True)
            from ..train.integrity import MANIFEST_FILE, write_manifest
            if w.checkpoint_dir.is_dir() and not (w.checkpoint_dir / MANIFEST_FILE).exists():
                write_manifest(w.checkpoint_dir)      # save_checkpoint writes it; older versions of it did not
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

    # GPT: the real Trainer, one callback per step
    def _run_gpt(self) -> str:
        from rich.console import Console

        from ..optim import SGD, Adam, WarmupCosine
        from ..train import Trainer
        cfg = self.spec.train_config(out_dir=self.writer.checkpoint_dir)
        trainer = Trainer(cfg, callbacks=[self._on_step], console=Console(file=io.StringIO()), show_progress=False)
        if self.spec.optimizer != "adamw":
            params = list(trainer.model.parameters())
            opt = (Adam(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2)) if self.spec.optimizer == "adam"
                   else SGD(params, lr=cfg.lr, momentum=0.9))
            trainer.optimizer = opt
            trainer.scheduler = WarmupCosine(opt, cfg.warmup_steps, cfg.steps, cfg.min_lr_ratio)
        self.trainer, self.model, self.tokenizer = trainer, trainer.model, trainer.tokenizer
        self._started(trainer.describe() + ("" if self.spec.optimizer == "adamw" else f" | {self.spec.optimizer}"))
        if self._stop.is_set():
            trainer.request_stop()
        trainer.run()
        return "done" if trainer.step >= cfg.steps else "stopped"

    # BERT: masked-language modelling with train_mlm, our model passed in
    def _run_bert(self) -> str:
        from ..nn.models import BERT
        from ..text import WordPieceTokenizer, load_corpus
        from ..train.checkpoint import save_checkpoint
        from ..train.mlm import train_mlm
        s = self.spec
        text = load_corpus(str(s.corpus) if s.corpus else None)
        self.tokenizer = tok = WordPieceTokenizer.train(text, 1000)
        from ..backend import manual_seed
        manual_seed(s.seed)
        cfg = s.model_config(tok.vocab_size)
        cfg.pad_token_id = tok.pad_token_id
        self.model = BERT(cfg)
        self._started(f"BERT MLM: {cfg.n_layer} layers, d_model {cfg.d_model}, {cfg.n_head} heads, vocab "
                      f"{tok.vocab_size} (WordPiece) = {self.model.num_parameters():,} parameters")
        tokens = s.batch_size * s.context_length
        stopped = False
        try:
            train_mlm(str(s.corpus) if s.corpus else None, tokenizer=tok, model=self.model, seq_len=s.context_length,
                      steps=s.steps, batch_size=s.batch_size, lr=s.lr, warmup_steps=min(s.warmup_steps, s.steps),
                      eval_interval=s.resolved_eval_interval, eval_iters=s.eval_iters, seed=s.seed,
                      callbacks=[lambda rec: self._on_step(rec, tokens=tokens)], log=None)
        except _StopTraining:
            stopped = True
        save_checkpoint(self.writer.checkpoint_dir, self.model, tok)
        return "stopped" if stopped else "done"

    # T5: the reverse-digits task with train_seq2seq, our model passed in
    def _run_t5(self) -> str:
        from ..backend import manual_seed
        from ..nn.models import T5
        from ..train.checkpoint import save_checkpoint
        from ..train.seq2seq import train_seq2seq
        s = self.spec
        manual_seed(s.seed)
        cfg = s.model_config(0)
        self.model = T5(cfg)
        self._started(f"T5 (reverse digits): {cfg.n_layer}+{cfg.n_decoder_layer} layers, d_model {cfg.d_model}, "
                      f"{cfg.n_head} heads, {cfg.feed_forward_proj} = {self.model.num_parameters():,} parameters")
        tokens = s.batch_size * 2 * (T5_MAX_LEN + T5_MIN_LEN) // 2
        stopped = False
        try:
            train_seq2seq("reverse", model=self.model, steps=s.steps, batch_size=s.batch_size, lr=s.lr,
                          min_len=T5_MIN_LEN, max_len=T5_MAX_LEN, warmup_steps=min(s.warmup_steps, s.steps),
                          eval_interval=s.resolved_eval_interval, eval_size=64, seed=s.seed,
                          callbacks=[lambda rec: self._on_step(rec, tokens=tokens)], log=None)
        except _StopTraining:
            stopped = True
        save_checkpoint(self.writer.checkpoint_dir, self.model, None)
        return "stopped" if stopped else "done"

    # ------------------------------------------------------------ between two steps
    def _on_step(self, rec: dict, tokens: int | None = None) -> None:
        rec = dict(rec)
        if tokens and "tokens_per_sec" not in rec and rec.get("time"):
            rec["tokens_per_sec"] = tokens / rec["time"]
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
            if self.trainer is not None:
                self.trainer.request_stop()
            else:
                raise _StopTraining

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
        fam = self.spec.family
        if fam == "t5":
            from ..train.seq2seq import encode_digits
            digits = "".join(c for c in prompt if c.isdigit()) or DEFAULT_PROMPTS["t5"]
            ids = encode_digits(digits[:self.model.config.context_length - 1])
            return ids, [*digits[:len(ids) - 1], "</s>"]
        tok = self.tokenizer
        if fam == "gpt":
            ids = tok.encode(prompt or "\n", errors="replace") if hasattr(tok, "char_to_id") else tok.encode(prompt)
            if not ids:
                ids = tok.encode("\n", errors="replace") or [0]
        else:
            ids = tok.encode(prompt or DEFAULT_PROMPTS["bert"])
        return ids[-self.model.config.context_length:], None

    def _sample(self, step: int, final: bool = False) -> None:
        if self.model is None:
            return
        from .. import backend
        rng = backend.get_rng_state()           # sampling must not change the run's random stream
        try:
            text = {"gpt": self._sample_gpt, "bert": self._sample_bert, "t5": self._sample_t5}[self.spec.family]()
        finally:
            backend.set_rng_state(rng)
        self.writer.add_sample(step, text, final=final)
        self._emit("sample", {"step": step, "text": text, "final": final})

    def _sample_gpt(self) -> str:
        from ..tensor import Tensor
        ids, _ = self._prompt_ids(self.prompt)
        out = self.model.generate(Tensor(np.array([ids], dtype=np.int64), device=self.model.device),
                                  self.sample_tokens, temperature=0.8, top_k=None)
        new = _ids(out)[0][len(ids):].tolist()
        return self.tokenizer.decode(ids) + self.tokenizer.decode(new)

    def _sample_bert(self) -> str:
        from ..train.mlm import fill_mask
        prompt = self.prompt if "[MASK]" in (self.prompt or "") else DEFAULT_PROMPTS["bert"]
        guesses = fill_mask(self.model, self.tokenizer, prompt, top_k=3)
        parts = prompt.split("[MASK]")
        out = parts[0]
        for g, rest in zip(guesses, parts[1:]):
            out += "[" + " | ".join(f"{t} {p:.0%}" for t, p in g) + "]" + rest
        return out

    def _sample_t5(self) -> str:
        from ..tensor import Tensor
        from ..train.seq2seq import EOS, TASKS, decode_digits, make_examples
        lines = []
        for s in make_examples(3, T5_MIN_LEN, T5_MAX_LEN, seed=self.spec.seed + 77):
            ids, _ = self._prompt_ids(s)
            out = self.model.generate(Tensor(np.array([ids], dtype=np.int64)), len(s) + 1, temperature=0,
                                      eos_token_id=EOS)
            got = decode_digits(_ids(out)[0][1:])
            lines.append(f"{s} -> {got} {'✓' if got == TASKS['reverse'](s) else '✗'}")
        return "\n".join(lines)

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


def _ids(out) -> np.ndarray:
    """Generated ids (a Tensor or an array) as a 2-D NumPy array."""
    from .. import backend
    a = np.asarray(backend.to_numpy(getattr(out, "data", out)))
    return a[None] if a.ndim == 1 else a


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
