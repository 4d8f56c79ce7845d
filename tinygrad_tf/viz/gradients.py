"""Gradient norms per parameter and per layer, with their history and the problems they show.

    from tinygrad_tf import viz
    loss.backward()
    viz.grad_table(model)                          # one look: |w|, |grad|, |grad|/|w|, flags, per parameter and layer

    monitor = viz.GradientMonitor(model)           # over training: call record() after each backward
    for step in range(100):
        loss = model(ids, labels=ids).loss; loss.backward()
        monitor.record(step)                       # reads each parameter's .grad
        opt.step(); opt.zero_grad()
    monitor                                        # the table, with a sparkline of each norm's history

    # as a Trainer callback: the trainer clears .grad before its callbacks run, so let hooks catch the gradients
    monitor = viz.GradientMonitor(trainer.model, hooks=True); trainer.callbacks.append(monitor)

Flags: NaN, inf, zero (all exactly 0: a dead path), no grad (the parameter got no gradient: unused),
exploding (|grad| above ``explode``), vanishing (0 < |grad| below ``vanish``). Layers are the parameters
grouped by module path up to the first number ("blocks.3"), or the first ``group_depth`` path parts.

Norms are 2-norms, computed without overflow (the gradient is scaled by its largest entry first) and
without a float64 copy of big arrays (``GradStat.of``).
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from rich import box
from rich.console import Console, ConsoleOptions
from rich.table import Table
from rich.text import Text

from .graph_record import GradStat
from .readout import Readout, fmt_count, fmt_num, sparkline

__all__ = ["GradientMonitor", "ParamGrad", "grad_table", "group_of"]

FLAG_STYLE = {"NaN": "bold red", "inf": "bold red", "exploding": "red", "zero": "yellow", "vanishing": "yellow",
              "no grad": "dim"}


def group_of(name: str, depth: int | None = None) -> str:
    """The layer a parameter belongs to: its module path up to and including the first numeric part
    ("blocks.3.attn.q_proj.weight" -> "blocks.3", "encoder.2.mlp.up.bias" -> "encoder.2"), else the
    first part ("wte.weight" -> "wte"); with ``depth``, the first ``depth`` parts of the module path."""
    parts = name.split(".")[:-1]
    if not parts:
        return "(root)"
    if depth is not None:
        return ".".join(parts[:max(1, depth)])
    for i, part in enumerate(parts):
        if part.isdigit():
            return ".".join(parts[:i + 1])
    return parts[0]


@dataclass
class ParamGrad:
    """One parameter (or one layer) at one step."""

    name: str
    shape: tuple
    numel: int
    weight_norm: float
    grad_norm: float | None            # None: no gradient
    nan: bool = False
    inf: bool = False
    flags: list = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        """|grad| / |w|: how big a plain SGD step (lr = 1) would be relative to the weight."""
        if self.grad_norm is None or not self.weight_norm or not math.isfinite(self.weight_norm):
            return None
        return self.grad_norm / self.weight_norm

    def to_dict(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "numel": self.numel, "weight_norm": self.weight_norm,
                "grad_norm": self.grad_norm, "ratio": self.ratio, "nan": self.nan, "inf": self.inf,
                "flags": list(self.flags)}


def _flags(stat: GradStat | None, explode: float, vanish: float) -> list[str]:
    if stat is None:
        return ["no grad"]
    out = []
    if stat.nan:
        out.append("NaN")
    if stat.inf:
        out.append("inf")
    if not out:
        if stat.norm == 0.0:
            out.append("zero")
        elif stat.norm > explode:
            out.append("exploding")
        elif stat.norm < vanish:
            out.append("vanishing")
    return out


def _named_params(model):
    if hasattr(model, "named_parameters"):
        return list(model.named_parameters())
    if isinstance(model, dict):
        return list(model.items())
    items = list(model)
    if items and isinstance(items[0], tuple):
        return items
    return [(f"param{i}", p) for i, p in enumerate(items)]


class GradientMonitor(Readout):
    """Per-parameter and per-layer gradient norms of ``model`` (a Module, a dict name -> tensor, or a list of
    tensors), step after step. ``record()`` after backward; ``hooks=True`` catches each gradient as backward
    computes it (``Tensor.register_hook``), for when ``.grad`` is cleared before you look (a Trainer callback).
    The monitor itself is a training callback: ``monitor(metrics)`` records with ``metrics["step"]``.

    explode / vanish: the |grad| thresholds for the "exploding" / "vanishing" flags; ``history``: how many
    steps the sparklines keep; ``max_rows``: parameter rows shown (the flagged ones first; None = all)."""

    def __init__(self, model, *, hooks=False, explode=10.0, vanish=1e-6, history=40, group_depth=None,
                 max_rows=None, show="both"):
        if show not in ("both", "params", "layers"):
            raise ValueError(f"show must be 'both', 'params' or 'layers', got {show!r}")
        self.params = _named_params(model)
        self.explode, self.vanish, self.group_depth = float(explode), float(vanish), group_depth
        self.max_rows, self.show = max_rows, show
        self.history: dict[str, deque] = {n: deque(maxlen=history) for n, _ in self.params}
        self.groups: dict[str, list[str]] = OrderedDict()
        for n, _ in self.params:
            self.groups.setdefault(group_of(n, group_depth), []).append(n)
        self.group_history: dict[str, deque] = {g: deque(maxlen=history) for g in self.groups}
        self.total_history: deque = deque(maxlen=history)
        self.latest: dict[str, ParamGrad] = {}
        self.layers: dict[str, ParamGrad] = {}
        self.step = None
        self.steps_recorded = 0
        self._pending: dict[str, GradStat] = {}
        self._handles = []
        if hooks:
            self.attach()

    # ------------------------------------------------------------ hooks
    def attach(self):
        """Register a gradient hook on every parameter that requires grad (idempotent)."""
        if self._handles:
            return self
        for name, p in self.params:
            if getattr(p, "requires_grad", False):
                self._handles.append(p.register_hook(self._hook(name)))
        return self

    def _hook(self, name):
        def hook(grad):
            self._pending[name] = GradStat.of(grad.data)
        return hook

    def remove(self):
        """Unregister the hooks."""
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self):
        return self.attach()

    def __exit__(self, *exc):
        self.remove()

    # ------------------------------------------------------------ recording
    def record(self, step=None) -> "GradientMonitor":
        """Take one reading: the gradients the hooks caught since the last reading, else each ``.grad``."""
        pending, self._pending = self._pending, {}
        self.step = step if step is not None else (self.steps_recorded if self.step is None else self.step + 1)
        self.steps_recorded += 1
        latest, stats = {}, {}
        for name, p in self.params:
            if name in pending:
                stat = pending[name]
            elif getattr(p, "grad", None) is not None:
                stat = GradStat.of(p.grad.data)
            else:
                stat = None
            stats[name] = stat
            w = GradStat.of(p.data)
            latest[name] = ParamGrad(name, tuple(p.shape), int(p.data.size), w.norm,
                                     None if stat is None else stat.norm, bool(stat and stat.nan),
                                     bool(stat and stat.inf), _flags(stat, self.explode, self.vanish))
            self.history[name].append(_hist_value(stat))
        self.latest = latest
        layers = {}
        for g, names in self.groups.items():
            combined = GradStat.combine([stats[n] for n in names])
            wnorm = math.sqrt(sum(latest[n].weight_norm ** 2 for n in names))
            layers[g] = ParamGrad(g, (len(names),), sum(latest[n].numel for n in names), wnorm,
                                  None if combined is None else combined.norm, bool(combined and combined.nan),
                                  bool(combined and combined.inf), _flags(combined, self.explode, self.vanish))
            self.group_history[g].append(_hist_value(combined))
        self.layers = layers
        total = GradStat.combine(list(stats.values()))
        self.total_grad_norm = None if total is None else total.norm
        self.total_history.append(_hist_value(total))
        return self

    def __call__(self, metrics=None):
        """A training callback: ``Trainer(config, callbacks=[monitor])`` (use ``hooks=True`` there)."""
        self.record(None if not metrics else metrics.get("step"))

    def problems(self) -> list[tuple[str, list[str]]]:
        """(parameter, flags) for every parameter flagged at the latest reading."""
        return [(n, pg.flags) for n, pg in self.latest.items() if pg.flags]

    # ------------------------------------------------------------ plain data
    def to_dict(self) -> dict:
        return {"step": self.step, "total_grad_norm": getattr(self, "total_grad_norm", None),
                "thresholds": {"explode": self.explode, "vanish": self.vanish},
                "parameters": [dict(pg.to_dict(), history=list(self.history[n])) for n, pg in self.latest.items()],
                "layers": [dict(pg.to_dict(), history=list(self.group_history[n])) for n, pg in self.layers.items()],
                "problems": [{"name": n, "flags": f} for n, f in self.problems()]}

    # ------------------------------------------------------------ drawing
    def _table(self, title, rows, history, first_col):
        t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  header_style="bold")
        t.add_column(first_col, overflow="fold")
        t.add_column("shape" if first_col == "parameter" else "params", justify="right", no_wrap=True)
        t.add_column("|w|", justify="right", no_wrap=True)
        t.add_column("|grad|", justify="right", no_wrap=True)
        t.add_column("|grad|/|w|", justify="right", no_wrap=True)
        t.add_column("history (log)", no_wrap=True)
        t.add_column("flags", no_wrap=True)
        for pg in rows:
            shape = ("×".join(map(str, pg.shape)) or "scalar") if first_col == "parameter" else fmt_count(pg.numel)
            flags = Text(" ".join(pg.flags))
            for f in pg.flags:
                start = flags.plain.find(f)
                flags.stylize(FLAG_STYLE.get(f, ""), start, start + len(f))
            grad = Text(fmt_num(pg.grad_norm), style=FLAG_STYLE.get(pg.flags[0], "") if pg.flags else "")
            t.add_row(pg.name, shape, fmt_num(pg.weight_norm), grad, fmt_num(pg.ratio),
                      Text(sparkline(history[pg.name], width=16, log=True), style="cyan"), flags)
        return t

    def __rich_console__(self, console: Console, options: ConsoleOptions):
        if not self.latest:
            yield Text("GradientMonitor: nothing recorded yet — call record() after backward()", style="dim")
            return
        step = f" · step {self.step}" if self.step is not None else ""
        if self.show in ("both", "params"):
            rows = list(self.latest.values())
            hidden = 0
            if self.max_rows is not None and len(rows) > self.max_rows:
                rows = sorted(rows, key=lambda pg: not pg.flags)[:self.max_rows]   # flagged first, stable
                hidden = len(self.latest) - len(rows)
            yield self._table(f"gradients per parameter{step}", rows, self.history, "parameter")
            if hidden:
                yield Text(f"… {hidden} more parameters (max_rows={self.max_rows}; None shows all)", style="dim")
        if self.show in ("both", "layers"):
            yield self._table(f"gradients per layer{step}", list(self.layers.values()), self.group_history, "layer")
        total = Text("total |grad| ")
        total.append(fmt_num(self.total_grad_norm), style="bold")
        total.append(f"  {sparkline(self.total_history, width=24, log=True)}", style="cyan")
        total.append(f"   flags: exploding |grad| > {self.explode:g}, vanishing 0 < |grad| < {self.vanish:g}, "
                     "zero, NaN, inf, no grad", style="dim")
        yield total
        probs = self.problems()
        if probs:
            msg = Text(f"{len(probs)} parameter(s) flagged: ", style="bold red")
            msg.append("; ".join(f"{n} ({', '.join(f)})" for n, f in probs[:6]) + (" …" if len(probs) > 6 else ""))
            yield msg


def _hist_value(stat):
    if stat is None:
        return None
    if stat.nan or stat.inf:
        return float("nan")
    return stat.norm


def grad_table(model, **kwargs) -> GradientMonitor:
    """One look at the gradients ``model``'s parameters hold now (after ``backward()``): a GradientMonitor with
    one reading. Keywords as ``GradientMonitor`` (explode=, vanish=, group_depth=, max_rows=, show=)."""
    return GradientMonitor(model, **kwargs).record()
