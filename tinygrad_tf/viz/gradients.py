"""Gradient norms per parameter and per layer, the size of each update, and the problems they show.

    from tinygrad_tf import viz
    loss.backward()
    viz.grad_table(model)                          # one look: |w|, |grad|, |grad|/|w|, % zeros, NaN/inf, badges

    monitor = viz.GradientMonitor(model)           # over training: call it once per step, after opt.step()
    for step in range(1, 101):
        loss = model(ids, labels=ids).loss; loss.backward()
        opt.step()
        monitor.record(step)                       # reads each .grad, and how far each weight moved
        opt.zero_grad()
    monitor                                        # the tables, with a sparkline of each norm's history

    # as a Trainer callback: the trainer clears .grad before its callbacks run, so let hooks catch the gradients
    monitor = viz.GradientMonitor(trainer.model, hooks=True); trainer.callbacks.append(monitor)

What each column is (each number is computed from the arrays at the reading, in gradient_stats.py):

- ``shape`` (at 110 columns or more; narrower, the names keep the room).
- ``|w|``, ``|grad|``: 2-norms (computed without overflow: scaled by the largest entry first; NaN / inf entries
  are counted, then left out of the norm). ``|grad|/|w|``: how big a plain SGD step of lr = 1 would be.
- ``update``: log10(|Δw| / |w|), where Δw is how far the weights moved since the previous reading and |w| their
  norm at that reading. It is *measured*, not estimated from a learning rate, so it is right for any optimizer
  (Adam's steps are not lr·grad): each reading keeps a copy of the parameters (memory: one more copy of the
  model; ``track_updates=False`` turns it off). Read after ``optimizer.step()`` (as a Trainer callback is) it is
  exactly that step's update. Around −3 is the usual healthy value (Karpathy's rule of thumb: each step changes
  a weight by about a thousandth); far above, the learning rate is too high, far below, too low.
- ``%0``: the share of gradient entries that are exactly zero (dead ReLUs, unused vocabulary rows).
- badges: ``NaN×n`` / ``inf×n`` (how many entries), ``zero`` (all exactly 0: a dead path), ``no grad`` (the
  parameter got no gradient: unused), ``exploding`` (|grad| above ``explode``), ``vanishing`` (0 < |grad| below
  ``vanish``). The thresholds are printed under the tables.

Layers are the parameters grouped by module path up to the first number ("blocks.3"), or the first
``group_depth`` path parts; a layer's norms are the norms of all its parameters taken together, its bar is its
|grad| on a linear scale (the longest bar is the largest layer).
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque

from rich import box
from rich.console import Console, ConsoleOptions
from rich.table import Table
from rich.text import Text

from .figures import GREY, PALETTE, RED, hbar_figure
from .gradient_stats import ParamGrad, Reading, badges, group_of
from .readout import Readout, fmt_count, fmt_num, sparkline

__all__ = ["GradientMonitor", "ParamGrad", "Reading", "grad_table", "group_of", "bar", "update_gauge",
           "UPDATE_REFERENCE"]

FLAG_STYLE = {"NaN": "bold white on red", "inf": "bold white on red", "exploding": "bold white on red",
              "zero": "black on yellow", "vanishing": "black on yellow", "no grad": "reverse dim"}
UPDATE_REFERENCE = -3.0                 # log10(|Δw|/|w|) of a healthy step: the marker on the gauge
UPDATE_GAUGE = (-5.0, -1.0, 9)          # the gauge spans 10^-5 .. 10^-1 in 9 cells of half a decade
EIGHTHS = " ▏▎▍▌▋▊▉"


def _named_params(model):
    if hasattr(model, "named_parameters"):
        return list(model.named_parameters())
    if isinstance(model, dict):
        return list(model.items())
    items = list(model)
    if items and isinstance(items[0], tuple):
        return items
    return [(f"param{i}", p) for i, p in enumerate(items)]


# ---------------------------------------------------------------- small drawings
def bar(value: float | None, largest: float | None, width: int) -> str:
    """A horizontal bar ``width`` cells long at ``largest``, in eighths of a cell: round(value / largest *
    width * 8) eighths, drawn as full blocks and one partial block (``▏▎▍▌▋▊▉``), padded with spaces."""
    if value is None or largest is None or not largest > 0 or not math.isfinite(value):
        return " " * width
    eighths = int(round(min(1.0, max(0.0, value / largest)) * width * 8))
    full, rest = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[rest] if rest else "")).ljust(width)


def update_gauge(value: float | None) -> str:
    """Where log10(|Δw|/|w|) lies on a 9-cell scale from -5 to -1 (half a decade per cell): ``●`` the value,
    ``┼`` the -3 reference, ``◀`` / ``▶`` beyond either end; empty without a value."""
    lo, hi, n = UPDATE_GAUGE
    if value is None or value != value:
        return " " * n
    cells = ["─"] * n
    ref = int(round((UPDATE_REFERENCE - lo) / (hi - lo) * (n - 1)))
    cells[ref] = "┼"
    if value < lo:
        cells[0] = "◀"
    elif value > hi:
        cells[-1] = "▶"
    else:
        cells[int(round((value - lo) / (hi - lo) * (n - 1)))] = "●"
    return "".join(cells)


def fmt_update(value: float | None) -> str:
    """log10(|Δw|/|w|) as shown: two decimals ("-2.95"), "-inf" when nothing moved, "—" without a reading."""
    if value is None:
        return "—"
    if value == -math.inf:
        return "-inf"
    return f"{value:.2f}"


def fmt_zeros(pg: "ParamGrad") -> str:
    """The share of exact zeros as shown: one decimal ("12.5%"), "—" without a gradient."""
    z = pg.zero_fraction
    return "—" if z is None else f"{100 * z:.1f}%"


def badge_text(pg: "ParamGrad") -> Text:
    """The badges of a row: "NaN×3 inf×1", "exploding", ... each on its warning colour."""
    t = Text()
    for f in pg.flags:
        label = f"NaN×{pg.n_nan}" if f == "NaN" else f"inf×{pg.n_inf}" if f == "inf" else f
        if t:
            t.append(" ")
        t.append(label, style=FLAG_STYLE.get(f, ""))
    return t


def _update_style(value):
    if value is None:
        return "dim"
    return "green" if abs(value - UPDATE_REFERENCE) <= 1 else "yellow"


# ---------------------------------------------------------------- the monitor
class GradientMonitor(Readout):
    """Per-parameter and per-layer gradient norms of ``model`` (a Module, a dict name -> tensor, or a list of
    tensors), step after step. ``record()`` after backward (best after ``optimizer.step()``, so ``update`` is this
    step's); ``hooks=True`` catches each gradient as backward computes it (``Tensor.register_hook``), for when
    ``.grad`` is cleared before you look (a Trainer callback). The monitor itself is a training callback:
    ``monitor(metrics)`` records with ``metrics["step"]``; ``every=N`` records every N-th step only (and copies
    the weights one step before, so ``update`` is still one step's).

    explode / vanish: the |grad| thresholds of the "exploding" / "vanishing" badges; ``history``: how many
    readings the sparklines keep; ``max_rows``: parameter rows shown (flagged ones first; None = all);
    ``track_updates``: keep a copy of the weights to measure each update (see the module doc)."""

    def __init__(self, model, *, hooks=False, explode=10.0, vanish=1e-6, history=40, group_depth=None,
                 max_rows=None, show="both", track_updates=True, every=1):
        if show not in ("both", "params", "layers"):
            raise ValueError(f"show must be 'both', 'params' or 'layers', got {show!r}")
        if int(every) < 1:
            raise ValueError(f"every must be a positive number of steps, got {every!r}")
        self.params = _named_params(model)
        self.explode, self.vanish, self.group_depth = float(explode), float(vanish), group_depth
        self.max_rows, self.show, self.track_updates, self.every = max_rows, show, bool(track_updates), int(every)
        self.history: dict[str, deque] = {n: deque(maxlen=history) for n, _ in self.params}
        self.groups: dict[str, list[str]] = OrderedDict()
        for n, _ in self.params:
            self.groups.setdefault(group_of(n, group_depth), []).append(n)
        self.group_history: dict[str, deque] = {g: deque(maxlen=history) for g in self.groups}
        self.total_history: deque = deque(maxlen=history)
        self.latest: dict[str, ParamGrad] = {}
        self.layers: dict[str, ParamGrad] = {}
        self.total_grad_norm = None
        self.total: ParamGrad | None = None
        self.step = None
        self.steps_recorded = 0
        self._pending: dict[str, Reading] = {}
        self._prev: dict[str, object] = {}          # name -> the weights at the previous reading (a copy)
        self._prev_norm: dict[str, float] = {}
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
            self._pending[name] = Reading.of(grad.data)
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
    def snapshot(self) -> None:
        """Copy the weights now, so that the next reading measures the update made in between."""
        for name, p in self.params:
            self._prev[name] = p.data.copy()
            self._prev_norm[name] = Reading.of(p.data).norm

    def record(self, step=None) -> "GradientMonitor":
        """Take one reading: the gradients the hooks caught since the last reading, else each ``.grad``; and,
        with ``track_updates``, how far each weight moved since the previous reading (or ``snapshot()``)."""
        pending, self._pending = self._pending, {}
        self.step = step if step is not None else (self.steps_recorded if self.step is None else self.step + 1)
        self.steps_recorded += 1
        latest, grads, moves = {}, {}, {}
        for name, p in self.params:
            if name in pending:
                g = pending[name]
            elif getattr(p, "grad", None) is not None:
                g = Reading.of(p.grad.data)
            else:
                g = None
            grads[name] = g
            w = Reading.of(p.data).norm
            upd = prev_w = None
            prev = self._prev.get(name)
            if self.track_updates and prev is not None and tuple(prev.shape) == tuple(p.data.shape):
                upd, prev_w = Reading.of(p.data - prev).norm, self._prev_norm[name]
                moves[name] = (upd, prev_w)
            latest[name] = self._row(name, tuple(p.shape), int(p.data.size), w, g, upd, prev_w)
            self.history[name].append(_history_value(latest[name]))
        self.latest = latest
        self.layers = {grp: self._combine(grp, names, latest, grads, moves) for grp, names in self.groups.items()}
        for grp in self.groups:
            self.group_history[grp].append(_history_value(self.layers[grp]))
        self.total = self._combine("total", list(latest), latest, grads, moves)
        self.total_grad_norm = self.total.grad_norm
        self.total_history.append(_history_value(self.total))
        if self.track_updates:
            for name, p in self.params:
                self._prev[name] = p.data.copy()
                self._prev_norm[name] = latest[name].weight_norm
        return self

    def _combine(self, label, names, latest, grads, moves) -> ParamGrad:
        g = Reading.combine([grads[n] for n in names])
        wnorm = math.sqrt(sum(latest[n].weight_norm ** 2 for n in names))
        upd = prev_w = None
        if names and all(n in moves for n in names):
            upd = math.sqrt(sum(moves[n][0] ** 2 for n in names))
            prev_w = math.sqrt(sum(moves[n][1] ** 2 for n in names))
        return self._row(label, (len(names),), sum(latest[n].numel for n in names), wnorm, g, upd, prev_w)

    def _row(self, name, shape, numel, weight_norm, g: Reading | None, update_norm, prev_weight_norm) -> ParamGrad:
        """One parameter's (or layer's) numbers and badges; ``g`` is its gradient's reading (None: no gradient)."""
        pg = ParamGrad(name, shape, numel, weight_norm, None, flags=badges(g, self.explode, self.vanish),
                       update_norm=update_norm, prev_weight_norm=prev_weight_norm)
        if g is not None:
            pg.grad_norm, pg.n_nan, pg.n_inf, pg.n_zero, pg.grad_numel = g.norm, g.n_nan, g.n_inf, g.n_zero, g.numel
        return pg

    def __call__(self, metrics=None):
        """A training callback: ``Trainer(config, callbacks=[monitor])`` (use ``hooks=True`` there)."""
        step = None if not metrics else metrics.get("step")
        if self.every > 1 and step is not None:
            if step % self.every:
                self._pending = {}                                # not recorded: forget this step's gradients
                if self.track_updates and (step + 1) % self.every == 0:
                    self.snapshot()                               # the weights before the recorded step
                return
        self.record(step)

    def problems(self) -> list[tuple[str, list[str]]]:
        """(parameter, flags) for every parameter flagged at the latest reading."""
        return [(n, pg.flags) for n, pg in self.latest.items() if pg.flags]

    # ------------------------------------------------------------ plain data
    def to_dict(self) -> dict:
        return {"step": self.step, "total_grad_norm": self.total_grad_norm,
                "total": self.total.to_dict() if self.total else None,
                "thresholds": {"explode": self.explode, "vanish": self.vanish,
                               "update_reference_log10": UPDATE_REFERENCE},
                "parameters": [dict(pg.to_dict(), history=list(self.history[n])) for n, pg in self.latest.items()],
                "layers": [dict(pg.to_dict(), history=list(self.group_history[n])) for n, pg in self.layers.items()],
                "problems": [{"name": n, "flags": f} for n, f in self.problems()]}

    def figure(self, which: str = "layers", log: bool = True):
        """The latest reading's gradient norms as horizontal bars (matplotlib; [plots] extra): one per layer
        (``which="params"``: per parameter), on a log scale by default (norms span decades); a NaN / inf /
        exploding one in red with its badges; no bar where there is no gradient (or, on a log axis, a zero one)."""
        if which not in ("layers", "params"):
            raise ValueError(f"which must be 'layers' or 'params', got {which!r}")
        if not self.latest:
            raise ValueError("GradientMonitor.figure: nothing recorded yet — call record() after backward()")
        rows = list((self.layers if which == "layers" else self.latest).values())
        notes = [("no grad" if pg.grad_norm is None else fmt_num(pg.grad_norm))
                 + (f"  {', '.join(f for f in pg.flags if f != 'no grad')}" if pg.flags and pg.grad_norm is not None
                    else "") for pg in rows]
        colors = [RED if pg.flags and pg.flags[0] in ("NaN", "inf", "exploding") else
                  GREY if pg.grad_norm is None else PALETTE[0] for pg in rows]
        step = f" · step {self.step}" if self.step is not None else ""
        return hbar_figure([pg.name for pg in rows], [pg.grad_norm for pg in rows], notes=notes, log=log,
                           colors=colors, title=f"gradient norm per {which[:-1] if which == 'layers' else 'parameter'}"
                           f"{step}", xlabel="|grad| (2-norm" + (", log scale)" if log else ")"))

    # ------------------------------------------------------------ drawing
    def _has_updates(self):
        return self.track_updates and any(pg.update_norm is not None for pg in self.latest.values())

    def _param_table(self, rows, step, show_shape=True):
        t = Table(title=f"gradients per parameter{step}", title_justify="left", box=box.SIMPLE_HEAD,
                  show_edge=False, pad_edge=False, header_style="bold", collapse_padding=True)
        t.add_column("parameter", overflow="fold")
        if show_shape:
            t.add_column("shape", justify="right", no_wrap=True)
        t.add_column("|w|", justify="right", no_wrap=True)
        t.add_column("|grad|", justify="right", no_wrap=True)
        t.add_column("|g|/|w|", justify="right", no_wrap=True)
        if self.track_updates:
            t.add_column("update", justify="right", no_wrap=True)
        t.add_column("%0", justify="right", no_wrap=True)
        t.add_column("history", no_wrap=True)
        t.add_column("badges", no_wrap=True)
        for pg in rows:
            shape = ["×".join(map(str, pg.shape)) or "scalar"] if show_shape else []
            row = [pg.name, *shape, fmt_num(pg.weight_norm),
                   Text(fmt_num(pg.grad_norm), style="bold red" if pg.flags and pg.flags[0] in
                        ("NaN", "inf", "exploding") else ""), fmt_num(pg.ratio)]
            if self.track_updates:
                row.append(Text(fmt_update(pg.update), style=_update_style(pg.update)))
            row += [fmt_zeros(pg), Text(sparkline(self.history[pg.name], width=10, log=True), style="cyan"),
                    badge_text(pg)]
            t.add_row(*row)
        return t

    def _layer_table(self, step, width):
        t = Table(title=f"gradients per layer{step}", title_justify="left", box=box.SIMPLE_HEAD,
                  show_edge=False, pad_edge=False, header_style="bold", collapse_padding=True)
        t.add_column("layer", overflow="fold")
        t.add_column("params", justify="right", no_wrap=True)
        t.add_column("|grad|", justify="right", no_wrap=True)
        t.add_column("", no_wrap=True, width=width, min_width=width, max_width=width)
        t.add_column("|g|/|w|", justify="right", no_wrap=True)
        if self.track_updates:
            t.add_column("update", justify="right", no_wrap=True)
            t.add_column("-5 ─┼─ -1", no_wrap=True)
        t.add_column("history", no_wrap=True)
        t.add_column("badges", no_wrap=True)
        largest = max((pg.grad_norm for pg in self.layers.values() if pg.grad_norm is not None
                       and math.isfinite(pg.grad_norm)), default=None)
        for pg in self.layers.values():
            row = [pg.name, fmt_count(pg.numel), fmt_num(pg.grad_norm),
                   Text(bar(pg.grad_norm, largest, width), style="red" if pg.flags and pg.flags[0] in
                        ("NaN", "inf", "exploding") else "magenta"), fmt_num(pg.ratio)]
            if self.track_updates:
                row += [Text(fmt_update(pg.update), style=_update_style(pg.update)),
                        Text(update_gauge(pg.update), style="dim" if pg.update is None else "")]
            row += [Text(sparkline(self.group_history[pg.name], width=12, log=True), style="cyan"), badge_text(pg)]
            t.add_row(*row)
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
            yield self._param_table(rows, step, show_shape=options.max_width >= 110)   # names first when narrow
            if hidden:
                yield Text(f"… and {hidden} more parameter{'s' if hidden != 1 else ''} (not shown; any flagged one "
                           "would be listed above)", style="dim")
        if self.show in ("both", "layers"):
            width = max(6, min(24, options.max_width - (84 if self.track_updates else 66)))
            yield self._layer_table(step, width)
        total = Text("total |grad| ")
        total.append(fmt_num(self.total_grad_norm), style="bold")
        total.append(f"  {sparkline(self.total_history, width=24, log=True)}", style="cyan")
        if self.track_updates and self.total is not None and self.total.update is not None:
            total.append("   update ")
            total.append(fmt_update(self.total.update), style=_update_style(self.total.update))
        yield total
        yield Text(f"badges: exploding |grad| > {self.explode:g} · vanishing 0 < |grad| < {self.vanish:g} · "
                   "zero: all 0 · no grad: unused", style="dim")
        if self.track_updates:
            yield Text("update = log10(|Δw|/|w|) since the previous reading (measured) · ┼ = "
                       f"{UPDATE_REFERENCE:g}, healthy (green ±1)"
                       + ("" if self._has_updates() else " · needs 2 readings"), style="dim")
            yield Text("  higher: lr too big · lower: lr too small · %0: entries exactly 0 · bars: |grad|, linear",
                       style="dim")
        else:
            yield Text("%0: entries exactly 0 · bars: layer |grad|, linear, longest = largest", style="dim")
        probs = self.problems()
        if probs:
            msg = Text(f"{len(probs)} parameter(s) flagged: ", style="bold red")
            msg.append("; ".join(f"{n} ({', '.join(f)})" for n, f in probs[:6]) + (" …" if len(probs) > 6 else ""))
            yield msg


def _history_value(pg: ParamGrad) -> float | None:
    """What the sparklines plot: |grad|, NaN when an entry is NaN / inf, None without a gradient."""
    if pg.grad_norm is None:
        return None
    return float("nan") if pg.n_nan or pg.n_inf else pg.grad_norm


def grad_table(model, **kwargs) -> GradientMonitor:
    """One look at the gradients ``model``'s parameters hold now (after ``backward()``): a GradientMonitor with
    one reading (no update column: that needs two; ``track_updates=True`` keeps the copy for a next ``record()``).
    Keywords as ``GradientMonitor`` (explode=, vanish=, group_depth=, max_rows=, show=)."""
    kwargs.setdefault("track_updates", False)
    return GradientMonitor(model, **kwargs).record()
