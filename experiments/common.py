"""What every experiment shares: the data, one small training function, evaluation, tables, output files.

    data = char_data()                                   # the default corpus, character tokens, 90/10 split
    run = train_char_gpt(dict(d_model=48, n_layer=2, n_head=4), TrainSettings(steps=300, seq_len=32, seed=0))
    run.final_val_loss, run.final_val_ppl, run.val_loss, run.train_loss, run.grad_norm, run.diverged

The training function is deliberately plain (no Trainer, no callbacks): sample random windows of the
training text, ``loss = model(ids, labels=ids).loss``, backward, (clip), AdamW step — so what an
experiment changes is only the model config or one setting, and everything else is identical, including
the order of the batches (it depends on the seed only, not on the architecture).

Validation always uses the same windows: ``n`` evenly spaced windows of the held-out last 10% of the text.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

import tinygrad_tf as tg
from tinygrad_tf.nn.models import GPT, GPTConfig, count_parameters
from tinygrad_tf.optim import AdamW, cosine_with_warmup
from tinygrad_tf.text import CharTokenizer, default_corpus, train_val_split
from tinygrad_tf.viz.readout import atomic_write, json_safe

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "img" / "experiments"


# ---------------------------------------------------------------- data
@dataclass(frozen=True)
class CharData:
    tokenizer: CharTokenizer
    train: np.ndarray          # int64 token ids
    val: np.ndarray

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size


@functools.lru_cache(maxsize=2)
def char_data(val_fraction: float = 0.1) -> CharData:
    """The built-in corpus (Python's language reference, ~465K characters) as character ids, split
    train / validation (the last 10%, contiguous: text the model never trained on)."""
    text = default_corpus()
    tok = CharTokenizer.train(text)                    # every character of the whole text: val has no unknowns
    ids = np.asarray(tok.encode(text), dtype=np.int64)
    train, val = train_val_split(ids, val_fraction)
    return CharData(tok, train, val)


def random_batch(data: np.ndarray, seq_len: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    starts = rng.integers(0, len(data) - seq_len, size=batch_size)
    return np.stack([data[s:s + seq_len] for s in starts])


def eval_windows(data: np.ndarray, seq_len: int, n: int) -> np.ndarray:
    """``n`` windows of ``seq_len`` tokens at evenly spaced offsets: the same ones every time."""
    starts = np.linspace(0, len(data) - seq_len - 1, n).astype(np.int64)
    return np.stack([data[s:s + seq_len] for s in starts])


# ---------------------------------------------------------------- evaluation
def per_position_loss(model, windows: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Mean cross-entropy (nats) of predicting token t+1 from tokens 0..t, for t = 0 .. seq_len-2."""
    total = np.zeros(windows.shape[1] - 1)
    was_training = model.training
    model.eval()
    try:
        with tg.no_grad():
            for i in range(0, len(windows), batch_size):
                ids = windows[i:i + batch_size]
                logits = model(ids).logits.numpy()[:, :-1].astype(np.float64)        # (B, T-1, V)
                m = logits.max(-1, keepdims=True)
                logp = logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))
                nll = -np.take_along_axis(logp, ids[:, 1:, None], axis=-1)[..., 0]
                total += nll.sum(0)
    finally:
        model.train(was_training)
    return total / len(windows)


def evaluate(model, windows: np.ndarray, batch_size: int = 32) -> float:
    """Mean validation loss (nats per character) over the windows."""
    return float(per_position_loss(model, windows, batch_size).mean())


# ---------------------------------------------------------------- training
@dataclass
class TrainSettings:
    steps: int = 300
    seq_len: int = 32              # training window (tokens); the model predicts seq_len - 1 of them
    batch_size: int = 16
    lr: float = 3e-3
    warmup: int = 0                # linear warmup steps
    schedule: str = "cosine"       # "cosine" (to min_lr_ratio * lr at the last step) | "constant"
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.0
    grad_clip: float | None = 1.0  # None: no clipping (the gradient norm is recorded either way, before clipping)
    seed: int = 0                  # model init and batch order
    eval_every: int = 50
    eval_windows: int = 48         # validation windows for the curve during training
    final_eval_windows: int = 256  # ... and for the final number


@dataclass
class RunResult:
    name: str
    model_config: dict
    settings: dict
    n_params: int
    train_loss: list               # one per step
    grad_norm: list                # global gradient norm before clipping, one per step
    val_steps: list
    val_loss: list
    final_val_loss: float
    seconds: float
    diverged: bool
    model: object = field(default=None, repr=False)

    @property
    def final_val_ppl(self) -> float:
        return math.exp(self.final_val_loss) if math.isfinite(self.final_val_loss) else math.inf

    @property
    def max_grad_norm(self) -> float:
        g = np.asarray(self.grad_norm, dtype=np.float64)
        g = g[np.isfinite(g)]
        return float(g.max()) if g.size else math.nan

    @property
    def spikes(self) -> int:
        return count_spikes(self.train_loss)

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "model"}
        d.update(final_val_ppl=self.final_val_ppl, max_grad_norm=self.max_grad_norm, spikes=self.spikes)
        return json_safe(d)


SPIKE_WINDOW, SPIKE_NATS = 10, 0.3


def count_spikes(losses, window: int = SPIKE_WINDOW, nats: float = SPIKE_NATS) -> int:
    """Steps whose training loss is more than ``nats`` above the mean of the ``window`` steps before it
    (batch-to-batch noise at these sizes is about +-0.1 nats); a non-finite loss counts as a spike."""
    x = np.asarray(losses, dtype=np.float64)
    n = 0
    for t in range(window, len(x)):
        prev = x[t - window:t]
        if not np.isfinite(x[t]):
            n += 1
        elif np.isfinite(prev).all() and x[t] > prev.mean() + nats:
            n += 1
    return n


def steps_to_reach(losses, level: float, k: int = 20):
    """The first step (1-based) at which the ``k``-step moving average of the losses is below ``level``;
    None if it never is (e.g. a model stuck on the unigram plateau)."""
    below = np.flatnonzero(smooth(losses, k) < level)
    return int(below[0]) + 1 if below.size else None


def unigram_entropy(ids: np.ndarray, vocab_size: int) -> float:
    """Entropy (nats) of the character frequencies: the loss of a model that ignores all context."""
    p = np.bincount(ids, minlength=vocab_size) / len(ids)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def model_config(data: CharData, **kw) -> GPTConfig:
    kw.setdefault("dropout", 0.0)
    return GPTConfig(vocab_size=data.vocab_size, **kw)


def train_char_gpt(model_kwargs: dict, settings: TrainSettings, name: str = "", data: CharData | None = None,
                   log=None, prepare=None) -> RunResult:
    """Train GPT(GPTConfig(vocab_size=<chars>, **model_kwargs)) on random windows of the corpus.

    ``model_kwargs`` needs at least ``d_model, n_layer, n_head``; ``context_length`` defaults to the
    training window. Returns the curves and the final validation loss on ``final_eval_windows`` windows
    of the training length. A non-finite loss stops the run and marks it diverged (so does a final
    validation loss above the loss of uniform guessing, ln(vocab)). ``prepare(model)``, if given, runs
    once after the model is built (an experiment's own change to it)."""
    data = data or char_data()
    s = settings
    kw = dict(model_kwargs)
    kw.setdefault("context_length", s.seq_len)
    cfg = model_config(data, **kw)
    tg.manual_seed(s.seed)
    model = GPT(cfg)
    if prepare is not None:
        prepare(model)
    model.train()
    opt = AdamW(model.parameters(), lr=s.lr, weight_decay=s.weight_decay, betas=(0.9, 0.99))
    rng = np.random.default_rng(10_000 + s.seed)            # batch order: the seed's, whatever the model
    curve_windows = eval_windows(data.val, s.seq_len, s.eval_windows)
    train_loss, grad_norm, val_steps, val_loss = [], [], [], []
    diverged = False
    t0 = time.perf_counter()
    for step in range(s.steps):
        factor = (cosine_with_warmup(step, s.warmup, s.steps, s.min_lr_ratio) if s.schedule == "cosine"
                  else min(1.0, (step + 1) / s.warmup) if s.warmup else 1.0)
        for g in opt.param_groups:
            g["lr"] = s.lr * factor
        ids = random_batch(data.train, s.seq_len, s.batch_size, rng)
        loss = model(ids, labels=ids).loss
        opt.zero_grad()
        loss.backward()
        lv = float(loss.item())
        gn = _grad_norm(model)
        train_loss.append(lv)
        grad_norm.append(gn)
        if not (math.isfinite(lv) and math.isfinite(gn)):
            diverged = True
            break
        if s.grad_clip is not None and gn > s.grad_clip:
            scale = s.grad_clip / (gn + 1e-6)
            for p in model.parameters():
                if p.grad is not None:
                    p.grad = tg.Tensor(p.grad.data * np.float32(scale))
        opt.step()
        if s.eval_every and ((step + 1) % s.eval_every == 0 or step + 1 == s.steps):
            val_steps.append(step + 1)
            val_loss.append(evaluate(model, curve_windows))
            if log:
                log(f"{name or 'run'}: step {step + 1}/{s.steps}  train {lv:.3f}  val {val_loss[-1]:.3f}")
    if diverged:
        final = math.nan
    else:
        final = evaluate(model, eval_windows(data.val, s.seq_len, s.final_eval_windows))
        diverged = not math.isfinite(final) or final > math.log(data.vocab_size)
    return RunResult(name=name, model_config=cfg.to_dict(), settings=asdict(s), n_params=count_parameters(cfg),
                     train_loss=train_loss, grad_norm=grad_norm, val_steps=val_steps, val_loss=val_loss,
                     final_val_loss=final, seconds=time.perf_counter() - t0, diverged=diverged, model=model)


def _grad_norm(model) -> float:
    total = 0.0
    seen = set()
    for p in model.parameters():
        if p.grad is None or id(p) in seen:
            continue
        seen.add(id(p))
        g = np.asarray(p.grad.data, dtype=np.float64)
        total += float((g * g).sum())
    return math.sqrt(total)


def non_embedding_params(cfg: GPTConfig | dict) -> int:
    """Parameters outside the token / position embeddings (Kaplan et al.'s N)."""
    c = cfg if isinstance(cfg, GPTConfig) else GPTConfig.from_dict(cfg)
    n = count_parameters(c) - c.vocab_size * c.d_model * (1 if c.tie_embeddings else 2)
    return n - (c.context_length * c.d_model if c.position == "learned" else 0)


def smooth(values, k: int = 10) -> np.ndarray:
    """Moving average over the last ``k`` values (shorter at the start): for plotting noisy batch losses."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return x
    c = np.cumsum(np.insert(x, 0, 0.0))
    idx = np.arange(1, x.size + 1)
    lo = np.maximum(0, idx - k)
    return (c[idx] - c[lo]) / (idx - lo)


# ---------------------------------------------------------------- output
def console():
    import sys

    from rich.console import Console
    return Console(highlight=False, width=None if sys.stdout.isatty() else 150)   # a pipe / file: wide enough


def print_table(title: str, columns: list[str], rows: list[list], caption: str | None = None, out=None):
    """A rich table on the terminal (numbers right-aligned)."""
    from rich import box
    from rich.table import Table
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, caption=caption, caption_justify="left")
    for i, c in enumerate(columns):
        table.add_column(c, justify="left" if i == 0 else "right", no_wrap=True)
    for r in rows:
        table.add_row(*[str(x) for x in r])
    (out or console()).print(table)
    return table


def markdown_table(columns: list[str], rows: list[list]) -> str:
    """The same rows as a Markdown table (written next to the JSON, pasted into docs/experiments.md)."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in
                                                              range(len(columns))) + "|"]
    lines += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _rounded(obj, digits: int = 5):
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}")
    if isinstance(obj, dict):
        return {k: _rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v, digits) for v in obj]
    return obj


_NUMBER_LIST = re.compile(r"\[\s*(?:-?[\d.eE+-]+|null)(?:,\s*(?:-?[\d.eE+-]+|null))*\s*\]")


def write_json(path, obj) -> Path:
    """JSON with floats rounded to 5 significant digits and lists of numbers on one line (curves stay
    readable and the files small)."""
    text = json.dumps(_rounded(json_safe(obj)), indent=1)
    text = _NUMBER_LIST.sub(lambda m: re.sub(r"\s+", " ", m.group(0)).replace("[ ", "[").replace(" ]", "]"), text)
    return atomic_write(path, (text + "\n").encode("utf-8"))


def write_text(path, text: str) -> Path:
    return atomic_write(path, text.encode("utf-8"))


def fmt(v, digits: int = 3) -> str:
    """A loss / perplexity for a table: fixed decimals, "—" for NaN (a diverged run)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—" if v is None or math.isnan(v) else "inf"
    return f"{v:.{digits}f}"


def arg_parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--out", type=Path, default=None, help="folder for the JSON, Markdown and SVG files "
                   "(default: docs/img/experiments; with --smoke, a new temporary folder)")
    p.add_argument("--smoke", action="store_true", help="a few steps of a tiny model: checks the script runs")
    p.add_argument("--steps", type=int, default=None, help="override the number of training steps")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


def resolve_out(args) -> Path:
    """The output folder: --out, else docs/img/experiments, else (smoke runs) a fresh temporary folder, so
    a smoke test never overwrites the measured results."""
    if args.out is not None:
        out = Path(args.out)
    elif args.smoke:
        import tempfile
        out = Path(tempfile.mkdtemp(prefix="tg-experiments-smoke-"))
    else:
        out = DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    return out


def settings_for(args, full: dict, smoke: dict) -> dict:
    """The documented settings (or the smoke ones), with --steps applied."""
    s = dict(smoke if args.smoke else full)
    if args.steps is not None:
        s["steps"] = args.steps
    return s


def rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
