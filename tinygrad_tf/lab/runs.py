"""The runs store: every lab run is a folder that survives crashes, and runs can be listed and compared.

    store = RunStore("runs")                 # default: $TINYGRAD_TF_RUNS or ./runs
    store.list()                             # [RunInfo, ...] oldest first, partial runs included
    compare(store.resolve(["pre", "post"]))  # a Comparison: overlaid loss curves + a config diff

A run folder (``runs/20250101-120000-gpt-2x64-pre-layernorm/``)::

    run.json        the spec, the model config, when and where it ran        (written atomically)
    metrics.jsonl   one JSON object per training step, appended as it goes    (flushed every line)
    samples.jsonl   generated text as training goes
    checkpoint/     the model, tokenizer and training state (an atomic checkpoint folder + integrity.json)
    done.json       the "done" marker: status (done | stopped | failed), final numbers  (written atomically)

A run without ``done.json`` is "running" while its process lives and "interrupted" after that: it is
listed, its metrics up to the last whole line are read (a line cut short by a crash is skipped), and
nothing in it is rewritten. JSON files are replaced with a rename, never written in place.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import fileio

__all__ = ["RUNS_ENV", "RunStore", "RunWriter", "RunInfo", "Comparison", "compare", "runs_dir", "RunsError",
           "atomic_write_json", "read_jsonl"]

RUNS_ENV = "TINYGRAD_TF_RUNS"
RUN_FILE, METRICS_FILE, SAMPLES_FILE, DONE_FILE, CHECKPOINT_DIR = (
    "run.json", "metrics.jsonl", "samples.jsonl", "done.json", "checkpoint")
FORMAT = "tinygrad_tf.lab.run"
STATUSES = ("done", "stopped", "failed", "running", "interrupted")


class RunsError(ValueError):
    """A runs folder or run name that cannot be used; one line for the user."""


def runs_dir(path=None) -> Path:
    """The runs folder: ``path``, else $TINYGRAD_TF_RUNS, else ./runs."""
    return Path(path or os.environ.get(RUNS_ENV) or "runs").expanduser()


# ---------------------------------------------------------------------------- atomic files
def atomic_write_json(path, obj) -> None:
    """Write ``obj`` as JSON to ``path`` through a temporary file in the same folder and a rename."""
    fileio.atomic_write_json(path, _jsonable(obj), indent=1)


def _jsonable(v):
    """NaN/inf become None (strict JSON), NumPy scalars become numbers."""
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def read_jsonl(path) -> tuple[list[dict], int]:
    """(records, lines skipped): every whole JSON object line of ``path``; a torn or bad line is skipped."""
    records, bad = [], 0
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    continue
                if not line.endswith("\n"):          # the last line of a run that died mid-write
                    bad += 1
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    bad += 1
                    continue
                if isinstance(rec, dict):
                    records.append(rec)
                else:
                    bad += 1
    except FileNotFoundError:
        pass
    return records, bad


def _read_json(path) -> dict | None:
    """A run's JSON file, or None when it is missing or torn (a run that died is listed, not an error)."""
    try:
        return fileio.read_json(path, "run file", RunsError)
    except RunsError:
        return None


# ---------------------------------------------------------------------------- writing one run
class RunWriter:
    """The open end of one run folder: append metrics and samples, then ``finish`` with the done marker."""

    def __init__(self, path: Path, info: dict):
        self.path = Path(path)
        self.info = info
        self._metrics = open(self.path / METRICS_FILE, "a", encoding="utf-8")
        self._samples = open(self.path / SAMPLES_FILE, "a", encoding="utf-8")
        self._lines = 0
        self.finished = False

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / CHECKPOINT_DIR

    def update_info(self, **fields) -> None:
        """Add fields (the model config, parameter count, ...) to run.json, atomically."""
        self.info.update(fields)
        atomic_write_json(self.path / RUN_FILE, self.info)

    def append_metrics(self, rec: dict) -> None:
        self._metrics.write(json.dumps(_jsonable(rec)) + "\n")
        self._metrics.flush()
        self._lines += 1
        if self._lines % 50 == 0:
            os.fsync(self._metrics.fileno())

    def add_sample(self, step: int, text: str, **extra) -> None:
        self._samples.write(json.dumps(_jsonable({"step": step, "text": text, **extra})) + "\n")
        self._samples.flush()

    def finish(self, status: str, **summary) -> None:
        """Close the files and write ``done.json`` (the marker that the run ended on purpose)."""
        if status not in ("done", "stopped", "failed"):
            raise ValueError(f"finish: status must be done, stopped or failed, got {status!r}")
        self.close()
        atomic_write_json(self.path / DONE_FILE, {"status": status, "finished": time.time(), **summary})
        self.finished = True

    def close(self) -> None:
        for f in (self._metrics, self._samples):
            if not f.closed:
                f.flush()
                with contextlib.suppress(OSError):
                    os.fsync(f.fileno())
                f.close()


# ---------------------------------------------------------------------------- reading runs
@dataclass
class RunInfo:
    """One run folder as read from disk (cheap: metrics are read on demand)."""

    path: Path
    info: dict = field(default_factory=dict)
    done: dict | None = None
    broken: str | None = None            # why run.json could not be read

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def spec(self) -> dict:
        return dict(self.info.get("spec") or {})

    @property
    def family(self) -> str:
        return self.spec.get("family", "?")

    @property
    def created(self) -> float:
        return float(self.info.get("created") or 0.0)

    @property
    def status(self) -> str:
        if self.broken:
            return "broken"
        if self.done is not None:
            return str(self.done.get("status", "done"))
        if self.info.get("host") == socket.gethostname() and fileio.pid_alive(self.info.get("pid")):
            return "running"
        return "interrupted"

    @property
    def finished(self) -> bool:
        return self.done is not None

    def metrics(self) -> list[dict]:
        return read_jsonl(self.path / METRICS_FILE)[0]

    def samples(self) -> list[dict]:
        return read_jsonl(self.path / SAMPLES_FILE)[0]

    @property
    def checkpoint(self) -> Path | None:
        p = self.path / CHECKPOINT_DIR
        return p if p.is_dir() else None

    def curves(self) -> dict:
        """{"step": [...], "loss": [...], "val_step": [...], "val_loss": [...], "extra": {...}} from the metrics."""
        steps, loss, vsteps, vloss = [], [], [], []
        for r in self.metrics():
            if "step" not in r:
                continue
            steps.append(r["step"])
            loss.append(r.get("loss"))
            if r.get("val_loss") is not None:
                vsteps.append(r["step"])
                vloss.append(r["val_loss"])
        return {"step": steps, "loss": loss, "val_step": vsteps, "val_loss": vloss}

    def summary(self) -> dict:
        """The numbers a list or a comparison shows (from done.json when finished, else from the metrics)."""
        recs = self.metrics()
        last = recs[-1] if recs else {}
        vals = [r["val_loss"] for r in recs if r.get("val_loss") is not None]
        tps = [r["tokens_per_sec"] for r in recs if r.get("tokens_per_sec")]
        spec = self.spec
        out = {"name": self.name, "status": self.status, "family": self.family, "label": self.info.get("label"),
               "created": self.created, "step": last.get("step", 0), "steps": spec.get("steps"),
               "loss": last.get("loss"), "val_loss": vals[-1] if vals else None,
               "best_val_loss": min(vals) if vals else None,
               "tokens_per_sec": sorted(tps)[len(tps) // 2] if tps else None,
               "parameters": self.info.get("parameters"), "checkpoint": str(self.checkpoint) if self.checkpoint else None,
               "path": str(self.path)}
        if self.done:
            out["seconds"] = self.done.get("seconds")
            if self.done.get("error"):
                out["error"] = self.done["error"]
        if self.broken:
            out["error"] = self.broken
        return out

    def flat_config(self) -> dict:
        """Spec and model config in one flat dict (``model.*`` for the model config) for diffs."""
        from .spec import fixed_fields
        fixed = fixed_fields(self.family)
        flat = {k: v for k, v in self.spec.items() if k not in fixed}
        if flat.get("corpus") == "":
            flat["corpus"] = "(embedded default)"
        for k, v in (self.info.get("model_config") or {}).items():
            flat[f"model.{k}"] = v
        if self.info.get("parameters") is not None:
            flat["parameters"] = self.info["parameters"]
        return flat


class RunStore:
    """A folder of run folders."""

    def __init__(self, root=None):
        self.root = runs_dir(root)

    def __repr__(self):
        return f"RunStore({str(self.root)!r})"

    def create(self, spec: dict, label: str = "run") -> RunWriter:
        """Claim a new run folder (named by time and ``label``) and write its run.json."""
        self.root.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in label).strip("-.") or "run"
        for n in range(1, 1000):
            name = f"{stamp}-{safe}" + (f"-{n}" if n > 1 else "")
            path = self.root / name
            try:
                path.mkdir()                  # atomic claim: two labs starting at once get two folders
                break
            except FileExistsError:
                continue
        else:  # pragma: no cover
            raise RunsError(f"cannot find a free run name under {self.root}")
        info = {"format": FORMAT, "format_version": 1, "name": name, "label": label, "created": time.time(),
                "pid": os.getpid(), "host": socket.gethostname(), "spec": dict(spec)}
        atomic_write_json(path / RUN_FILE, info)
        return RunWriter(path, info)

    def load(self, path) -> RunInfo:
        path = Path(path)
        info = _read_json(path / RUN_FILE)
        done = _read_json(path / DONE_FILE) if (path / DONE_FILE).exists() else None
        if info is None:
            return RunInfo(path, {}, done, broken=f"{RUN_FILE} is missing or unreadable")
        return RunInfo(path, info, done)

    def list(self) -> list[RunInfo]:
        """Every run folder, oldest first (folders without a run.json that hold metrics are listed as broken)."""
        if not self.root.is_dir():
            return []
        runs = []
        for p in self.root.iterdir():
            if not p.is_dir() or p.name.startswith("."):
                continue
            if not (p / RUN_FILE).exists() and not (p / METRICS_FILE).exists():
                continue                       # not a run (a checkpoint made by `train --out runs/x`, ...)
            runs.append(self.load(p))
        return sorted(runs, key=lambda r: (r.created, r.name))

    def get(self, key: str, runs: list[RunInfo] | None = None) -> RunInfo:
        """A run by exact name, by its number in ``list()`` (1 = oldest, -1 = newest) or by a unique part of its name."""
        runs = self.list() if runs is None else runs
        if not runs:
            raise RunsError(f"no runs in {self.root} (start one with `tinygrad-tf lab`)")
        for r in runs:
            if r.name == key:
                return r
        try:
            i = int(key)
        except ValueError:
            i = None
        if i is not None:
            if 1 <= i <= len(runs):
                return runs[i - 1]
            if -len(runs) <= i <= -1:
                return runs[i]
            raise RunsError(f"there is no run number {i} in {self.root} ({len(runs)} runs)")
        hits = [r for r in runs if r.name.startswith(key)] or [r for r in runs if key in r.name]
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise RunsError(f"no run named like {key!r} in {self.root}; `tinygrad-tf runs list` shows them")
        raise RunsError(f"{key!r} matches {len(hits)} runs ({', '.join(h.name for h in hits[:4])}"
                        f"{', ...' if len(hits) > 4 else ''}); give more of the name or its number")

    def resolve(self, keys) -> list[RunInfo]:
        runs = self.list()
        out = [self.get(k, runs) for k in keys]
        return out


# ---------------------------------------------------------------------------- comparing runs
@dataclass
class Comparison:
    """Two or more runs side by side: ``.plot()`` (overlaid curves), ``.diff`` (config keys that differ),
    ``.table()`` (diff + final numbers), ``.to_dict()``; printing it shows all of them."""

    runs: list[RunInfo]
    show_all: bool = False

    def __post_init__(self):
        if len(self.runs) < 2:
            raise RunsError("compare needs two or more runs")
        self.configs = [r.flat_config() for r in self.runs]
        self.curves = [r.curves() for r in self.runs]
        self.summaries = [r.summary() for r in self.runs]
        keys: list[str] = []
        for c in self.configs:
            keys += [k for k in c if k not in keys]
        self.all_keys = keys
        self.diff = {k: [c.get(k) for c in self.configs] for k in keys
                     if len({json.dumps(c.get(k), sort_keys=True) for c in self.configs}) > 1}

    def short_names(self) -> list[str]:
        """Run names without their common prefix (the date), for legends."""
        names = [r.name for r in self.runs]
        stamp = 16                                    # "YYYYmmdd-HHMMSS-"
        short = [n[stamp:] if len(n) > stamp and n[8] == "-" else n for n in names]
        return short if len(set(short)) == len(short) else names

    def plot(self, height=10, what="loss", width=None, smooth: float = 0.9):
        """Overlaid curves: the training loss (an exponential moving average with factor ``smooth``, since
        one batch is noisy; 0 = raw) or the validation loss (``what="val"``; never smoothed)."""
        from ..viz import LinePlot
        series = {}
        for name, c in zip(self.short_names(), self.curves):
            if what == "loss":
                series[name] = (c["step"], ema(c["loss"], smooth))
            else:
                series[name] = (c["val_step"], c["val_loss"])
        title = "validation loss" if what != "loss" else (
            f"training loss (moving average, {smooth:g})" if smooth else "training loss")
        return LinePlot(series, height=height, title=title, width=width)

    def table(self):
        from rich import box
        from rich.table import Table
        t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold",
                  title="configs: " + ("all settings" if self.show_all else "what differs"), title_justify="left")
        t.add_column("", style="dim", no_wrap=True)
        for i, name in enumerate(self.short_names()):
            t.add_column(f"{name}", overflow="fold", style=("cyan", "magenta", "yellow", "green")[i % 4])
        keys = self.all_keys if self.show_all else list(self.diff)
        if not keys:
            t.add_row("(settings)", *["identical"] * len(self.runs))
        for k in keys:
            t.add_row(k, *[fmt_cell(c.get(k)) for c in self.configs])
        t.add_section()
        for label, key in (("status", "status"), ("steps", "step"), ("final loss", "loss"),
                           ("final val loss", "val_loss"), ("best val loss", "best_val_loss"),
                           ("tokens/s", "tokens_per_sec")):
            t.add_row(label, *[fmt_cell(s.get(key)) for s in self.summaries])
        return t

    def to_dict(self) -> dict:
        return {"runs": [dict(s, config=c) for s, c in zip(self.summaries, self.configs)],
                "diff": {k: v for k, v in self.diff.items()},
                "curves": {r.name: c for r, c in zip(self.runs, self.curves)}}

    def __rich_console__(self, console, options):
        yield self.plot(height=8)
        if any(c["val_loss"] for c in self.curves):
            yield self.plot(height=6, what="val")
        yield self.table()


def ema(values, factor: float = 0.9) -> list:
    """Exponential moving average (bias-corrected, so the first points are not pulled toward 0); None skipped."""
    if not factor:
        return list(values)
    out, avg, weight = [], 0.0, 0.0
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(v)
            continue
        avg = factor * avg + (1 - factor) * v
        weight = factor * weight + (1 - factor)
        out.append(avg / weight)
    return out


def compare(runs: list[RunInfo], show_all: bool = False) -> Comparison:
    return Comparison(list(runs), show_all=show_all)


def fmt_cell(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        if abs(v) >= 1e4:
            return f"{v:,.0f}"
        if v != 0 and abs(v) < 1e-3:
            return f"{v:.3g}"
        return f"{v:.4g}"
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 1000:
        return f"{v:,}"
    if v == "":
        return '""'
    return str(v)
