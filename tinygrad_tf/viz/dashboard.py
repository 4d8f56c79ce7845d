"""A live training dashboard: loss curves as a braille line plot, sparklines of lr, grad norm and tokens/s,
and the latest sample text.

    from tinygrad_tf import viz
    from tinygrad_tf.train import Trainer, TrainConfig
    dash = viz.TrainingDashboard(total_steps=200)
    trainer = Trainer(TrainConfig(steps=200), callbacks=[dash], show_progress=False)
    with dash.live():                 # redraws in place on a terminal and in a Jupyter cell (detected);
        trainer.run()                 # elsewhere (a pipe, a log) prints the final state once
    dash.figure()                     # loss, learning rate and |grad| curves as a matplotlib figure ([plots])

``dash.update(metrics)`` (or ``dash(metrics)``: it is a training callback) takes the dict the training
loop hands its callbacks — ``step, loss, val_loss, lr, grad_norm, tokens_per_sec`` — plus ``sample``
(text) if you have one; ``sample_fn=lambda step: ...`` makes one every ``sample_every`` steps.
``show_progress=False`` on the Trainer: two live displays cannot share one terminal.

What ``tinygrad-tf train`` uses — the dashboard attached to a Trainer, the gradient table on request, and the
loss curve saved as an SVG next to the checkpoint:

    dash = viz.dashboard_callbacks(trainer, grad_table=True)    # appends itself to trainer.callbacks
    with dash.live():                 # on a terminal it turns the trainer's own progress line off meanwhile
        history = trainer.run()
    viz.save_loss_curve(history, "runs/x/loss_curve.svg")       # train and validation loss (.png / .pdf too)
"""

from __future__ import annotations

import contextlib
import math
import time

from rich.console import Console, ConsoleOptions, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .figures import line_figure, loss_curve_figure, save_figure
from .notebook import LiveCell, in_kernel
from .readout import Readout, fmt_num, fmt_si, sparkline

__all__ = ["TrainingDashboard", "LinePlot", "braille_lines", "dashboard_callbacks", "save_loss_curve"]

_BRAILLE_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))   # [row in cell][column in cell]
SERIES_STYLES = ("bold cyan", "bold magenta", "bold yellow", "bold green")


def _downsample(xs, ys, n):
    """At most ``n`` points: the mean of each of n equal runs (keeps the curve's shape, not its noise)."""
    if len(xs) <= n:
        return list(xs), list(ys)
    out_x, out_y = [], []
    for i in range(n):
        a, b = i * len(xs) // n, (i + 1) * len(xs) // n
        if b > a:
            out_x.append(sum(xs[a:b]) / (b - a))
            out_y.append(sum(ys[a:b]) / (b - a))
    return out_x, out_y


def braille_lines(series, width, height, x_range=None, y_range=None, log_y=False):
    """Draw ``series`` ([(xs, ys), ...]) on a ``width`` x ``height`` character canvas of braille dots (2 x 4 per
    character), consecutive points joined. Returns (rows of (char, series index or None), (xmin, xmax),
    (ymin, ymax)). Non-finite values are skipped; ``log_y`` plots log10(y) (y > 0 only)."""
    pts = []
    for xs, ys in series:
        p = []
        for x, y in zip(xs, ys):
            if y is None or not math.isfinite(y) or (log_y and y <= 0):
                continue
            p.append((float(x), math.log10(y) if log_y else float(y)))
        pts.append(p)
    allp = [q for p in pts for q in p]
    if not allp:
        return [[(" ", None)] * width for _ in range(height)], (0, 0), (0, 0)
    x0, x1 = x_range or (min(q[0] for q in allp), max(q[0] for q in allp))
    y0, y1 = y_range or (min(q[1] for q in allp), max(q[1] for q in allp))
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    if x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    W, H = width * 2, height * 4
    bits = [[0] * width for _ in range(height)]
    owner = [[None] * width for _ in range(height)]

    def dot(px, py, s):
        if 0 <= px < W and 0 <= py < H:
            r, c = py // 4, px // 2
            bits[r][c] |= _BRAILLE_BITS[py % 4][px % 2]
            owner[r][c] = s

    for s, p in enumerate(pts):
        xs, ys = _downsample([q[0] for q in p], [q[1] for q in p], W)
        prev = None
        for x, y in zip(xs, ys):
            px = int(round((x - x0) / (x1 - x0) * (W - 1)))
            py = int(round((y1 - y) / (y1 - y0) * (H - 1)))             # row 0 is the top
            if prev is None:
                dot(px, py, s)
            else:                                                        # join to the previous point
                (qx, qy), n = prev, max(abs(px - prev[0]), abs(py - prev[1]), 1)
                for k in range(1, n + 1):
                    dot(qx + round((px - qx) * k / n), qy + round((py - qy) * k / n), s)
            prev = (px, py)
    rows = [[(chr(0x2800 + bits[r][c]) if bits[r][c] else " ", owner[r][c]) for c in range(width)]
            for r in range(height)]
    return rows, (x0, x1), (y0, y1)


class LinePlot(Readout):
    """Line plot of one or more series in braille characters, with a y axis, the x range and a legend.

    ``LinePlot({"loss": (steps, losses), "val loss": (val_steps, vals)}, height=8, log_y=False)``"""

    def __init__(self, series: dict, height=8, width=None, log_y=False, title=None, x_label="step", x_range=None):
        self.series = {k: (list(v[0]), list(v[1])) for k, v in series.items()}
        self.height, self.width, self.log_y, self.title, self.x_label = height, width, log_y, title, x_label
        self.x_range = x_range

    def to_dict(self) -> dict:
        return {"title": self.title, "log_y": self.log_y,
                "series": {k: {"x": xs, "y": ys} for k, (xs, ys) in self.series.items()}}

    def figure(self, **kwargs):
        """The same series as a matplotlib line plot ([plots] extra); keywords as ``figures.line_figure``."""
        kwargs.setdefault("title", self.title or "")
        kwargs.setdefault("xlabel", self.x_label)
        kwargs.setdefault("logy", self.log_y)
        return line_figure(dict(self.series), **kwargs)

    def __rich_console__(self, console: Console, options: ConsoleOptions):
        label_w = 8
        width = max(10, min(self.width or options.max_width, options.max_width) - label_w - 2)
        rows, (x0, x1), (y0, y1) = braille_lines(list(self.series.values()), width, self.height, x_range=self.x_range,
                                                 log_y=self.log_y)
        if self.title:
            yield Text(self.title, style="bold")
        unlog = (lambda v: 10 ** v) if self.log_y else (lambda v: v)
        for r, row in enumerate(rows):
            if r == 0:
                lab = fmt_num(unlog(y1))
            elif r == len(rows) - 1:
                lab = fmt_num(unlog(y0))
            elif r == len(rows) // 2 and len(rows) > 4:
                lab = fmt_num(unlog((y0 + y1) / 2))
            else:
                lab = ""
            line = Text(f"{lab:>{label_w}} ┤" if lab else " " * label_w + " │", style="dim", no_wrap=True)
            for ch, s in row:
                line.append(ch, SERIES_STYLES[s % len(SERIES_STYLES)] if s is not None else None)
            yield line
        axis = Text(" " * label_w + " └" + "─" * width, style="dim")
        yield axis
        left, right = f"{self.x_label} {fmt_num(x0)}", fmt_num(x1)
        foot = Text(" " * (label_w + 2) + left + " " * max(1, width - len(left) - len(right)) + right, style="dim")
        yield foot
        legend = Text(" " * (label_w + 2))
        for i, name in enumerate(self.series):
            legend.append("━━ ", SERIES_STYLES[i % len(SERIES_STYLES)])
            legend.append(name + ("  " if i < len(self.series) - 1 else ""))
        if self.log_y:
            legend.append("   (log scale)", style="dim")
        yield legend


class TrainingDashboard(Readout):
    """Everything about a training run on one screen, fed one metrics dict per step (see the module doc)."""

    def __init__(self, total_steps=None, title="training", sample_fn=None, sample_every=None, plot_height=8,
                 keep=100_000, log_loss=False, monitor=None, legend=True):
        self.total_steps, self.title = total_steps, title
        self.monitor = monitor            # a GradientMonitor fed the same metrics first, drawn under the curves
        self.trainer = None
        self.sample_fn, self.sample_every = sample_fn, sample_every
        self.plot_height, self.keep, self.log_loss = plot_height, keep, log_loss
        self.legend = legend              # the lines under the numbers that say what they mean
        self.steps, self.loss, self.lr, self.grad_norm, self.tokens_per_sec = [], [], [], [], []
        self.val_steps, self.val_loss = [], []
        self.extra: dict[str, list] = {}
        self.sample, self.sample_step = None, None
        self.latest: dict = {}
        self.started = None
        self._live = None
        self._last_refresh = 0.0

    # ------------------------------------------------------------ feeding it
    def update(self, metrics: dict) -> None:
        """Add one step's metrics (missing keys are fine; ``val_loss`` only on evaluation steps)."""
        if self.monitor is not None:
            self.monitor(metrics)
        self._add(metrics)
        if self._live is not None:
            now = time.perf_counter()
            step = self.latest.get("step")
            last = bool(self.total_steps and step is not None and step >= self.total_steps)
            if isinstance(self._live, LiveCell):              # a notebook cell: it keeps its own pace
                self._live.update(force=last)
            elif now - self._last_refresh > 0.1 or last:
                self._live.update(self, refresh=True)
                self._last_refresh = now

    __call__ = update

    def _add(self, metrics: dict) -> None:
        m = dict(metrics)
        if self.started is None:
            self.started = time.perf_counter()
        step = m.get("step", (self.steps[-1] + 1) if self.steps else 1)
        self.latest = {**self.latest, **m, "step": step}
        self.steps.append(step)
        for key, store in (("loss", self.loss), ("lr", self.lr), ("grad_norm", self.grad_norm),
                           ("tokens_per_sec", self.tokens_per_sec)):
            store.append(_num(m.get(key)))
        if m.get("val_loss") is not None:
            self.val_steps.append(step)
            self.val_loss.append(_num(m["val_loss"]))
        for k, v in m.items():
            if k not in ("step", "loss", "lr", "grad_norm", "tokens_per_sec", "val_loss", "time", "sample") \
                    and isinstance(v, (int, float)) and not isinstance(v, bool):
                self.extra.setdefault(k, []).append(float(v))
        if m.get("sample") is not None:
            self.sample, self.sample_step = str(m["sample"]), step
        elif self.sample_fn is not None and self.sample_every and step % self.sample_every == 0:
            self.sample, self.sample_step = str(self.sample_fn(step)), step
        if len(self.steps) > self.keep:
            for store in (self.steps, self.loss, self.lr, self.grad_norm, self.tokens_per_sec):
                del store[: len(store) - self.keep]

    def attach(self, trainer) -> "TrainingDashboard":
        """Become one of ``trainer``'s callbacks (once), draw the steps it already has (a resumed run's history),
        and remember it, so that ``live()`` can quiet its own progress line on a terminal."""
        self.trainer = trainer
        if self.total_steps is None:
            self.total_steps = trainer.config.steps
        if not self.steps:
            for rec in getattr(trainer, "history", ()):
                self._add(rec)
            self.started = None
        if self not in trainer.callbacks:
            trainer.callbacks.append(self)
        return self

    @property
    def callbacks(self) -> list:
        """What to pass as a Trainer's ``callbacks=``: this dashboard (it feeds its gradient monitor itself)."""
        return [self]

    @contextlib.contextmanager
    def live(self, console: Console | None = None, transient=False, quiet=False):
        """Redraw the dashboard in place while the block runs: on a terminal, and in a Jupyter cell (when running
        in a kernel and no ``console`` is given: ``live_notebook()``); without either (a file, a pipe, a CI log)
        nothing is redrawn and the final state is printed once when the block ends.
        ``quiet=True`` shows nothing at all (the data is still collected: ``to_dict``, ``save_loss_curve``)."""
        if quiet:
            yield self
            return
        if console is None and in_kernel():
            with self.live_notebook():
                yield self
            return
        trainer = self.trainer
        console = console or getattr(trainer, "console", None) or Console()
        if not console.is_terminal or console.is_dumb_terminal:
            try:
                yield self
            finally:
                console.print(self)
            return
        from rich.live import Live
        quiet = trainer is not None and getattr(trainer, "show_progress", False)
        if quiet:
            trainer.show_progress = False           # two live displays cannot share one terminal
        try:
            with Live(self, console=console, auto_refresh=False, transient=transient) as live:
                self._live = live
                try:
                    yield self
                finally:
                    self._live = None
                    live.update(self, refresh=True)
        finally:
            if quiet:
                trainer.show_progress = True

    @contextlib.contextmanager
    def live_notebook(self, interval: float = 0.5, width: int | None = None):
        """In a Jupyter cell: show the dashboard once and redraw that output in place while the block runs (at most
        every ``interval`` seconds, and once more at the end), ``width`` columns wide. The trainer's own progress
        line is off meanwhile. ``live()`` picks this by itself in a kernel."""
        trainer = self.trainer
        quiet = trainer is not None and getattr(trainer, "show_progress", False)
        if quiet:
            trainer.show_progress = False
        cell = LiveCell(lambda: self.html(width), interval=interval)
        self._live = cell
        try:
            yield self
        finally:
            self._live = None
            cell.update(force=True)
            if quiet:
                trainer.show_progress = True

    # ------------------------------------------------------------ plain data
    def to_dict(self) -> dict:
        return {"title": self.title, "total_steps": self.total_steps, "steps": list(self.steps),
                "gradients": self.monitor.to_dict() if self.monitor is not None and self.monitor.latest else None,
                "loss": list(self.loss), "val_steps": list(self.val_steps), "val_loss": list(self.val_loss),
                "lr": list(self.lr), "grad_norm": list(self.grad_norm), "tokens_per_sec": list(self.tokens_per_sec),
                "extra": {k: list(v) for k, v in self.extra.items()}, "sample": self.sample,
                "sample_step": self.sample_step, "latest": dict(self.latest)}

    # ------------------------------------------------------------ drawing
    def _header(self) -> Text:
        step = self.latest.get("step")
        t = Text()
        if step is None:
            return Text("waiting for the first step…", style="dim")
        t.append(f"step {step}" + (f"/{self.total_steps}" if self.total_steps else ""), style="bold")
        finite = [v for v in self.loss if v is not None and math.isfinite(v)]
        for label, key, fmt in (("loss", "loss", "{:.4f}"), ("val", "val_loss", "{:.4f}")):
            v = self.latest.get(key)
            if v is not None:
                bad = not math.isfinite(float(v))
                t.append(f"   {label} ", style="dim")
                t.append(fmt.format(v) if not bad else str(v), style="bold red" if bad else "bold")
                if key == "loss" and finite:
                    t.append(f" (best {min(finite):.4f})", style="dim")
        tps = self.latest.get("tokens_per_sec")
        if tps is not None and math.isfinite(float(tps)):
            t.append(f"   {fmt_si(float(tps))} tok/s")
        if self.started is not None:
            el = time.perf_counter() - self.started
            t.append(f"   {int(el // 60):02d}:{int(el % 60):02d}", style="dim")
        return t

    def _stats(self) -> Table:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True, style="cyan")
        for label, vals, log in (("lr", self.lr, False), ("|grad|", self.grad_norm, True),
                                 ("tokens/s", self.tokens_per_sec, False)):
            if any(v is not None for v in vals):
                last = next((v for v in reversed(vals) if v is not None), None)
                grid.add_row(label, fmt_num(last), sparkline(vals, width=40, log=log))
        for k, vals in self.extra.items():
            grid.add_row(k, fmt_num(vals[-1]), sparkline(vals, width=40))
        return grid

    def __rich_console__(self, console: Console, options: ConsoleOptions):
        parts = [self._header()]
        if self.total_steps and self.steps:
            frac = min(self.steps[-1], self.total_steps) / self.total_steps
            parts.append(_bar(frac, max(10, options.max_width - 12)))
        series = {"loss": (self.steps, self.loss)}
        if self.val_loss:
            series["val loss"] = (self.val_steps, self.val_loss)
        if self.steps:
            x_range = (self.steps[0], max(self.total_steps, self.steps[-1])) if self.total_steps else None
            parts.append(LinePlot(series, height=self.plot_height, log_y=self.log_loss, x_range=x_range))
            parts.append(self._stats())
            if self.legend:
                parts.extend(self.legend_lines())
        if self.monitor is not None and self.monitor.latest:
            parts.append(self.monitor)
        if self.sample is not None:
            parts.append(Text(f"sample at step {self.sample_step}:", style="dim"))
            parts.append(Text(self.sample.replace("\r", ""), overflow="fold"))
        yield Panel(Group(*parts), title=self.title, title_align="left", border_style="blue",
                    width=options.max_width)


    def figure(self, panels: bool = True, log_y: bool | None = None):
        """The run so far as a matplotlib figure ([plots] extra): training and validation loss, and with ``panels``
        the learning rate and the gradient norm under it (when recorded)."""
        extra = {"learning rate": (self.steps, self.lr), "|grad|": (self.steps, self.grad_norm)} if panels else None
        return loss_curve_figure(self.steps, self.loss, self.val_steps, self.val_loss, title=self.title,
                                 log_y=self.log_loss if log_y is None else log_y, extra=extra)

    def val_below_train(self) -> bool:
        """Whether the latest validation loss is below the training loss of the same step."""
        if not self.val_loss or self.val_loss[-1] is None:
            return False
        train = next((loss for step, loss in zip(reversed(self.steps), reversed(self.loss))
                      if step == self.val_steps[-1]), None)
        return train is not None and math.isfinite(train) and self.val_loss[-1] < train

    def legend_lines(self) -> list:
        """What the numbers mean, said once under them; and why validation can be below training when it is."""
        lines = [Text(LEGEND, style="dim")]
        if self.val_below_train():
            lines.append(Text(VAL_BELOW_TRAIN, style="dim"))
        return lines


LEGEND = ("loss and val are in nats (natural-log units: a uniform guess among V tokens scores ln V) · |grad|: "
          "all gradients as one vector, its length before clipping")
LEGEND_SHORT = "nats: ln units · |grad|: before clipping"
VAL_BELOW_TRAIN = ("val below loss is normal: loss is one training batch (with dropout, if any), val the mean over "
                   "fixed held-out batches of other text (docs/lesson-09-training.md)")


def _bar(frac, width) -> Text:
    done = int(round(frac * width))
    t = Text("━" * done, style="green" if frac >= 1 else "magenta")
    t.append("─" * (width - done), style="dim")
    t.append(f" {100 * frac:5.1f}%", style="dim")
    return t


def _num(v):
    if v is None:
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- for `tinygrad-tf train`
def dashboard_callbacks(trainer_or_total_steps=None, grad_table=False, *, model=None, title="training",
                        grad_every=1, **kwargs) -> TrainingDashboard:
    """The training dashboard, ready to hook into a run: loss and validation-loss curves, tokens/s, lr and
    gradient-norm sparklines, and with ``grad_table=True`` the per-layer gradient table (norms as bars, update
    sizes against the 10^-3 marker, badges), read every ``grad_every`` steps by gradient hooks.

    Given a Trainer, the dashboard attaches itself to ``trainer.callbacks`` (and draws a resumed run's history);
    given a number of steps, pass ``dash.callbacks`` to the Trainer yourself (and ``model=`` for the table).
    Then ``with dash.live(): trainer.run()``: on a terminal it redraws in place (and turns the trainer's own
    progress line off meanwhile); without one it prints the final state once. Keywords as TrainingDashboard."""
    from .gradients import GradientMonitor
    trainer = None
    if trainer_or_total_steps is None or isinstance(trainer_or_total_steps, int):
        total = trainer_or_total_steps
    else:
        trainer = trainer_or_total_steps
        total = trainer.config.steps
        model = model if model is not None else trainer.model
    monitor = None
    if grad_table:
        if model is None:
            raise ValueError("dashboard_callbacks(grad_table=True) needs the model: pass a Trainer, or model=")
        monitor = GradientMonitor(model, hooks=True, show="layers", every=grad_every, history=30)
    dash = TrainingDashboard(total_steps=total, title=title, monitor=monitor, **kwargs)
    if trainer is not None:
        dash.attach(trainer)
    return dash


def save_loss_curve(history, path, title="loss", log_y=False):
    """Write the training and validation loss of ``history`` (a Trainer's list of per-step dicts, or a
    TrainingDashboard) as a line plot to ``path`` (.svg, .png or .pdf by the extension; atomically): the training
    loss at every step, the validation loss at each evaluation (with its points). Returns the path. Needs
    matplotlib (the [plots] extra); without it, ``figures.PlotsUnavailable`` says how to install it."""
    if isinstance(history, TrainingDashboard):
        steps, loss, vsteps, vloss = history.steps, history.loss, history.val_steps, history.val_loss
    else:
        recs = [r for r in history if r.get("loss") is not None]
        steps = [r.get("step", i + 1) for i, r in enumerate(recs)]
        loss = [float(r["loss"]) for r in recs]
        vals = [r for r in history if r.get("val_loss") is not None]
        vsteps = [r.get("step") for r in vals]
        vloss = [float(r["val_loss"]) for r in vals]
    if not steps and not vloss:
        raise ValueError("save_loss_curve: the history has no loss to plot")
    return save_figure(loss_curve_figure(steps, loss, vsteps, vloss, title=title, log_y=log_y), path)
