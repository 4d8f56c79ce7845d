"""Figures for slides and papers, drawn with matplotlib (the optional ``[plots]`` extra).

    from tinygrad_tf.viz.figures import line_plot, bar_plot
    line_plot({"pre-LN": (steps, losses), "post-LN": (steps, losses2)}, "loss.svg",
              title="validation loss", xlabel="step", ylabel="loss (nats)")
    line_plot({"runs": {"x": n_params, "y": losses, "mode": "points"},       # a scatter ...
               "fit":  {"x": grid, "y": fitted, "dashed": True}},             # ... and a dashed line
              "scaling.png", logx=True, logy=True)
    bar_plot({"LayerNorm": 1.71, "RMSNorm": 1.70}, "norms.pdf", ylabel="val loss")

The readouts draw themselves the same way: ``maps.heatmap(0, 1).save_figure("head.svg")`` (token labels on
both axes), ``maps.overview().save_figure("heads.png")`` (a grid of heads), ``grad_table(model).figure()``
(gradient norms as bars), ``dash.figure()`` / ``save_loss_curve(history, "loss.pdf")`` (loss curves),
``model_summary(model).figure()`` (parameters by module). A figure function returns a matplotlib ``Figure``
(shown by itself in a Jupyter cell; change it as any matplotlib figure); ``save_figure(fig, path)`` writes it.

The format comes from the file name: ``.svg``, ``.png`` or ``.pdf``. Files are written atomically and are
deterministic (the same numbers give the same bytes: no dates, fixed SVG ids). Nothing here needs a display:
figures are drawn off screen (matplotlib's Agg renderer, without pyplot, so a notebook's own plotting setup is
left alone). Without matplotlib each figure function raises one line that says ``pip install -e ".[plots]"``.

A series is ``(xs, ys)`` or a dict with ``x``, ``y`` and optionally ``mode`` ("line" | "points" | "both"),
``dashed`` and ``color``. A NaN / inf breaks a line; log axes leave out values <= 0. ``vlines`` marks x
positions (``{x: label}``), e.g. the training length in an extrapolation plot. Every series is one matplotlib
artist with the SVG id ``series-N`` (its points ``points-N``), so a written file can be checked.
"""

from __future__ import annotations

import functools
import io
import math
import warnings
from pathlib import Path

import numpy as np

from ..fileio import atomic_write

__all__ = ["PlotsUnavailable", "PLOTS_INSTALL", "FORMATS", "PALETTE", "require_matplotlib", "new_figure",
           "save_figure", "figure_bytes", "line_figure", "line_plot", "scatter_plot", "bar_figure", "bar_plot",
           "loss_curve_figure", "hbar_figure"]

PLOTS_INSTALL = 'pip install -e ".[plots]"'
FORMATS = ("svg", "png", "pdf")

# Okabe & Ito's colour-blind-safe palette (black last), then a few extra distinct hues.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000",
           "#882255", "#44AA99", "#999933", "#AA4499"]
RED, GREY = "#d62728", "#8c8c8c"

_RC = {"svg.hashsalt": "tinygrad_tf", "svg.fonttype": "path", "font.size": 10, "axes.titlesize": 12,
       "axes.spines.top": False, "axes.spines.right": False, "legend.frameon": False, "figure.dpi": 100,
       "savefig.bbox": "tight", "savefig.pad_inches": 0.1, "image.cmap": "viridis"}
_METADATA = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}, "png": {"Software": None}}


class PlotsUnavailable(ImportError):
    """matplotlib is not installed: the one-line message says how to install the ``[plots]`` extra."""


def require_matplotlib():
    """The ``matplotlib`` module, or ``PlotsUnavailable`` (one line: the install command) without it."""
    try:
        import matplotlib
        import matplotlib.figure  # noqa: F401  (the object API: no pyplot, no backend switched)
    except ImportError:
        raise PlotsUnavailable(f"figures need matplotlib, the optional [plots] extra: {PLOTS_INSTALL} "
                               "(or pip install matplotlib)") from None
    return matplotlib


def styled(fn):
    """Run a figure function inside this module's matplotlib style (rcParams), without changing the caller's."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        mpl = require_matplotlib()
        with mpl.rc_context(_RC):
            return fn(*args, **kwargs)
    return wrapper


_FIGURE_CLASS = None


def _figure_class():
    """matplotlib's Figure plus ``save(path)`` and an SVG form for Jupyter (made once matplotlib is there)."""
    global _FIGURE_CLASS
    if _FIGURE_CLASS is None:
        from matplotlib.figure import Figure as _MplFigure

        class Figure(_MplFigure):
            """A matplotlib Figure that shows itself in a Jupyter cell (SVG) and saves atomically by extension."""

            def save(self, path, format=None, dpi=150) -> Path:  # noqa: A002
                return save_figure(self, path, format=format, dpi=dpi)

            def _repr_svg_(self):
                return figure_bytes(self, "svg").decode("utf-8")

        _FIGURE_CLASS = Figure
    return _FIGURE_CLASS


def new_figure(width: float = 7.2, height: float = 4.2, **kwargs):
    """An empty figure ``width`` x ``height`` inches (off screen: no pyplot, no display)."""
    mpl = require_matplotlib()
    with mpl.rc_context(_RC):
        return _figure_class()(figsize=(width, height), **kwargs)


def figure_bytes(fig, format: str = "svg", dpi: int = 150) -> bytes:  # noqa: A002
    """``fig`` rendered as SVG / PNG / PDF bytes (deterministic: no dates, fixed ids)."""
    mpl = require_matplotlib()
    fmt = format.lower()
    if fmt not in FORMATS:
        raise ValueError(f"a figure is written as {', '.join(FORMATS)}, not {format!r}")
    buf = io.BytesIO()
    with mpl.rc_context(_RC), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=_METADATA[fmt])
    return buf.getvalue()


def save_figure(fig, path, format=None, dpi: int = 150) -> Path:  # noqa: A002
    """Write ``fig`` to ``path`` (atomically); the format is ``format`` or the file's extension (.svg / .png /
    .pdf). Returns the path."""
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ValueError(f"cannot write a figure as {path.name!r}: the name must end in .svg, .png or .pdf")
    return atomic_write(path, figure_bytes(fig, fmt, dpi))


def label_text(s) -> str:
    """A label as matplotlib should print it: a ``$`` is a dollar sign, not the start of TeX math."""
    return str(s).replace("$", r"\$")


# ---------------------------------------------------------------- line and bar plots
def _series(name, spec, index):
    if isinstance(spec, dict):
        xs, ys = spec.get("x"), spec.get("y")
        mode, dashed, color = spec.get("mode", "line"), bool(spec.get("dashed", False)), spec.get("color")
    else:
        try:
            xs, ys = spec
        except (TypeError, ValueError):
            raise ValueError(f"plot series {name!r}: expected (xs, ys) or a dict with 'x' and 'y'") from None
        mode, dashed, color = "line", False, None
    if mode not in ("line", "points", "both"):
        raise ValueError(f"plot series {name!r}: mode must be 'line', 'points' or 'both', got {mode!r}")
    ys = np.asarray([math.nan if v is None else v for v in ys], dtype=np.float64).reshape(-1)
    xs = np.asarray(xs if xs is not None else np.arange(len(ys)), dtype=np.float64).reshape(-1)
    if xs.shape != ys.shape:
        raise ValueError(f"plot series {name!r}: {xs.size} x values but {ys.size} y values")
    return dict(name=str(name), x=xs, y=ys, mode=mode, dashed=dashed, color=color or PALETTE[index % len(PALETTE)])


@styled
def line_figure(series: dict, title: str = "", xlabel: str = "", ylabel: str = "", logx: bool = False,
                logy: bool = False, vlines: dict | None = None, xlim=None, ylim=None, xticks=None, yticks=None,
                width: float = 7.2, height: float = 4.2, ax=None):
    """A line (and/or scatter) plot of ``series`` (name -> (xs, ys) or a dict): a Figure (see the module doc).
    ``ax``: draw into this matplotlib Axes instead of a new figure (its figure is returned)."""
    if not isinstance(series, dict):
        raise TypeError(f"line_plot: series must be a dict name -> (xs, ys), got {type(series).__name__}")
    ss = [_series(name, spec, i) for i, (name, spec) in enumerate(series.items())]
    fig = new_figure(width, height) if ax is None else ax.figure
    ax = ax if ax is not None else fig.add_subplot()
    for i, s in enumerate(ss):
        keep = np.isfinite(s["x"]) & np.isfinite(s["y"])
        keep &= (s["x"] > 0) if logx else True
        keep &= (s["y"] > 0) if logy else True
        y = np.where(keep, s["y"], np.nan)                         # a gap, not a jump, where a value is missing
        if s["mode"] in ("line", "both"):
            (line,) = ax.plot(s["x"], y, color=s["color"], linewidth=2, linestyle="--" if s["dashed"] else "-",
                              marker="o" if s["mode"] == "both" else None, markersize=4, label=label_text(s["name"]))
            line.set_gid(f"series-{i}")
        else:
            pts = ax.scatter(s["x"][keep], s["y"][keep], color=s["color"], s=22, label=label_text(s["name"]), zorder=3)
            pts.set_gid(f"points-{i}")
    for xv, label in (vlines or {}).items():
        if logx and xv <= 0:
            continue
        ax.axvline(xv, color="#777777", linewidth=1.2, linestyle=":")
        if label:
            ax.annotate(label_text(label), (xv, 1), xycoords=("data", "axes fraction"), xytext=(4, -12),
                        textcoords="offset points", fontsize=9, color="#555555")
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if xticks is not None:
        ax.set_xticks(list(xticks), [f"{t:g}" for t in xticks])
        ax.minorticks_off()
    if yticks is not None:
        ax.set_yticks(list(yticks), [f"{t:g}" for t in yticks])
    if xlim is not None:
        ax.set_xlim(*xlim)
    if ylim is not None:
        ax.set_ylim(*ylim)
    _labels(ax, title, xlabel, ylabel)
    ax.grid(True, color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)
    if ss:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    return fig


def _labels(ax, title, xlabel, ylabel):
    if title:
        ax.set_title(label_text(title), fontweight="bold")
    if xlabel:
        ax.set_xlabel(label_text(xlabel))
    if ylabel:
        ax.set_ylabel(label_text(ylabel))


def line_plot(series: dict, path, **kwargs) -> Path:
    """Write ``line_figure(series, **kwargs)`` to ``path`` (.svg / .png / .pdf, atomically); returns the path."""
    return save_figure(line_figure(series, **kwargs), path)


def scatter_plot(series: dict, path, **kwargs) -> Path:
    """``line_plot`` with every (xs, ys) series drawn as points."""
    pts = {k: (dict(v, mode=v.get("mode", "points")) if isinstance(v, dict) else {"x": v[0], "y": v[1],
                                                                                      "mode": "points"})
           for k, v in series.items()}
    return line_plot(pts, path, **kwargs)


@styled
def bar_figure(values: dict, title: str = "", xlabel: str = "", ylabel: str = "", errors: dict | None = None,
               ylim=None, colors: dict | None = None, width: float = 7.2, height: float = 4.2):
    """A bar chart of ``values`` (label -> number); ``errors`` (label -> +/-) adds error bars. The y axis starts
    at 0 unless ``ylim`` says otherwise (say so in the caption if it does). A NaN shows as "n/a"."""
    names = [str(k) for k in values]
    v = np.asarray([float(x) for x in values.values()], dtype=np.float64)
    e = np.asarray([float((errors or {}).get(k, 0.0)) for k in values], dtype=np.float64)
    fig = new_figure(width, height)
    ax = fig.add_subplot()
    fin = np.isfinite(v)
    colours = [(colors or {}).get(n, PALETTE[i % len(PALETTE)]) for i, n in enumerate(names)]
    bars = ax.bar(np.arange(len(names)), np.where(fin, v, 0.0), width=0.7, color=colours,
                  yerr=np.where(e > 0, e, 0.0) if (e > 0).any() else None, capsize=4, ecolor="#333333")
    for i, patch in enumerate(bars):
        patch.set_gid(f"bar-{i}")
    for i, (val, ok) in enumerate(zip(v, fin)):
        ax.annotate(f"{val:.4g}" if ok else "n/a", (i, val if ok else 0.0), xytext=(0, 3),
                    textcoords="offset points", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(np.arange(len(names)), [label_text(n) for n in names])
    if ylim is not None:
        ax.set_ylim(*ylim)
    elif fin.any():
        hi = float(np.max((v + e)[fin]))
        ax.set_ylim(min(0.0, float(np.min((v - e)[fin]))), hi + 0.08 * (abs(hi) or 1.0))
    _labels(ax, title, xlabel, ylabel)
    ax.grid(True, axis="y", color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig


def bar_plot(values: dict, path, **kwargs) -> Path:
    """Write ``bar_figure(values, **kwargs)`` to ``path`` (.svg / .png / .pdf, atomically); returns the path."""
    return save_figure(bar_figure(values, **kwargs), path)


@styled
def hbar_figure(labels, values, notes=None, title: str = "", xlabel: str = "", log: bool = False,
                colors=None, si: bool = False, width: float = 7.2, height: float | None = None):
    """Horizontal bars, one per label, top to bottom (gradient norms per layer, parameters per module).
    ``notes``: a text at the end of each bar (None: the value); a value that is None or not finite gets no bar,
    only its note; ``log``: a log10 x axis; ``colors``: one per bar (default the first palette colour); ``si``:
    tick labels as 20M, 40M (counts)."""
    labels = [str(x) for x in labels]
    vals = [None if v is None or not math.isfinite(float(v)) or (log and float(v) <= 0) else float(v)
            for v in values]
    height = height if height is not None else max(2.2, 0.32 * len(labels) + 1.3)
    fig = new_figure(width, height)
    ax = fig.add_subplot()
    y = np.arange(len(labels))
    shown = [v if v is not None else (math.nan if log else 0.0) for v in vals]
    cols = list(colors) if colors is not None else [PALETTE[0]] * len(labels)
    for i, patch in enumerate(ax.barh(y, shown, color=cols, height=0.7)):
        patch.set_gid(f"bar-{i}")
    if log:
        ax.set_xscale("log")
    finite = [v for v in vals if v is not None]
    right = max(finite) if finite else 1.0
    base = (min(finite) / 2 if finite else 0.1) if log else 0.0
    for i, v in enumerate(vals):
        note = notes[i] if notes is not None else (f"{v:.3g}" if v is not None else "—")
        ax.annotate(label_text(note), (v if v is not None else base, i), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=8, color=RED if cols[i] == RED else "#333333")
    if finite:
        ax.set_xlim(base if log else 0.0, right * (6 if log else 1.25))
    ax.set_yticks(y, [label_text(x) for x in labels])
    ax.invert_yaxis()
    if si:
        from matplotlib.ticker import EngFormatter
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    _labels(ax, title, xlabel, "")
    ax.grid(True, axis="x", color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig


# ---------------------------------------------------------------- training
@styled
def loss_curve_figure(steps, loss, val_steps=(), val_loss=(), title: str = "loss", log_y: bool = False,
                      extra: dict | None = None, width: float = 7.2, height: float = 4.2):
    """Training loss at every step (a line) and validation loss at each evaluation (a line with points).
    ``extra``: more panels under it, name -> (steps, values) (e.g. the learning rate, the gradient norm)."""
    series = {"train loss": (list(steps), [math.nan if v is None else v for v in loss])}
    if len(val_loss):
        series["val loss"] = {"x": list(val_steps), "y": list(val_loss), "mode": "both"}
    if not len(steps) and not len(val_loss):
        raise ValueError("a loss curve needs at least one loss value")
    panels = {k: v for k, v in (extra or {}).items() if any(x is not None for x in v[1])}
    fig = new_figure(width, height + 1.6 * len(panels))
    if not panels:
        return line_figure(series, title=title, xlabel="step", ylabel="loss (nats)", logy=log_y, ax=fig.add_subplot())
    axes = fig.subplots(1 + len(panels), 1, sharex=True, height_ratios=[2.5] + [1] * len(panels))
    line_figure(series, title=title, ylabel="loss (nats)", logy=log_y, ax=axes[0])
    for i, (ax, (name, (xs, ys))) in enumerate(zip(axes[1:], panels.items()), 1):
        ys = [math.nan if v is None else v for v in ys]
        logy = name in ("|grad|", "grad_norm") and all(v > 0 for v in ys if math.isfinite(v))
        line_figure({name: {"x": xs, "y": ys, "color": PALETTE[(i + 1) % len(PALETTE)]}}, ylabel=name,
                    logy=logy, xlabel="step" if i == len(panels) else "", ax=ax)
    return fig
