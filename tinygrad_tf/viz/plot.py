"""Plots as SVG files, with nothing but the standard library and NumPy: loss curves, sweeps, fits.

    from tinygrad_tf.viz.plot import line_plot, bar_plot
    line_plot({"pre-LN": (steps, losses), "post-LN": (steps, losses2)}, "loss.svg",
              title="validation loss", xlabel="step", ylabel="loss (nats)")
    line_plot({"runs": {"x": n_params, "y": losses, "mode": "points"},       # a scatter ...
               "fit":  {"x": grid, "y": fitted, "dashed": True}},             # ... and a dashed line
              "scaling.svg", logx=True, logy=True)
    bar_plot({"LayerNorm": 1.71, "RMSNorm": 1.70}, "norms.svg", ylabel="val loss")

A series is ``(xs, ys)`` or a dict with ``x``, ``y`` and optionally ``mode`` ("line" | "points" | "both"),
``dashed`` and ``color``. Each line becomes one ``<polyline>`` (a line with a NaN / inf in it is broken
into several, one per finite stretch); points are ``<circle>``s. Axes get "nice" ticks (1, 2, 5 x 10^k,
or decades on a log axis), a legend names every series on the right. ``vlines`` marks x positions
(``{x: label}``), e.g. the training length in an extrapolation plot.

The output is deterministic (same numbers -> same bytes: fixed rounding, no timestamps or random ids)
and written atomically (a temporary file renamed over the target), so a reader never sees half a plot.
"""

from __future__ import annotations

import math
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from .readout import atomic_write

__all__ = ["line_plot", "scatter_plot", "bar_plot", "nice_ticks", "log_ticks", "PALETTE"]

# Okabe & Ito's colour-blind-safe palette (black last), then a few extra distinct hues.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000",
           "#882255", "#44AA99", "#999933", "#AA4499"]

_FONT = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\""
_CHAR_W = 6.6          # approximate width of one 11 px character, for laying out the legend and labels


# ---------------------------------------------------------------- ticks
def nice_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """About ``target`` round numbers (1, 2 or 5 x 10^k apart) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(target - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))

    def count(step):
        return math.floor(hi / step + 1e-9) - math.ceil(lo / step - 1e-9) + 1

    # the round step whose tick count is closest to the target (ties: the coarser one)
    step = min((m * mag for m in (0.5, 1, 2, 2.5, 5, 10)), key=lambda st: (abs(count(st) - target), -st))
    first = math.ceil(lo / step - 1e-9) * step
    ticks, v = [], first
    while v <= hi + step * 1e-9:
        ticks.append(0.0 if abs(v) < step * 1e-9 else round(v, 12))
        v += step
    return ticks


def log_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Ticks for a log axis over [lo, hi] (both > 0): decades, or 1-2-5 steps inside a short range."""
    if not (lo > 0 and hi > 0):
        return []
    a, b = math.floor(math.log10(lo) + 1e-9), math.ceil(math.log10(hi) - 1e-9)
    for mults in ((1,), (1, 3), (1, 2, 5), (1, 1.5, 2, 3, 5, 7), tuple(range(1, 10))):
        ticks = [m * 10.0 ** e for e in range(a, b + 1) for m in mults]
        ticks = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
        if len(ticks) >= min(3, target):
            break
    if len(ticks) < 3:                                  # inside one decade: round linear steps
        return nice_ticks(lo, hi, target)
    if len(ticks) > 2 * target:                         # many decades: keep every k-th one
        k = math.ceil(len(ticks) / target)
        ticks = ticks[::k]
    return ticks


def fmt_tick(v: float) -> str:
    """A tick label: short, no float noise (0.30000000000000004 -> 0.3), big and small numbers as 2e4."""
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        m, e = f"{v:.2e}".split("e")
        return f"{m.rstrip('0').rstrip('.')}e{int(e)}"
    return f"{v:.6g}"


# ---------------------------------------------------------------- series
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
    xs = np.asarray(xs if xs is not None else np.arange(len(ys)), dtype=np.float64).reshape(-1)
    ys = np.asarray(ys, dtype=np.float64).reshape(-1)
    if xs.shape != ys.shape:
        raise ValueError(f"plot series {name!r}: {xs.size} x values but {ys.size} y values")
    return dict(name=str(name), x=xs, y=ys, mode=mode, dashed=dashed,
                color=color or PALETTE[index % len(PALETTE)])


def _finite(v, log):
    ok = np.isfinite(v)
    return ok & (v > 0) if log else ok


def _range(values, log, pad=0.04):
    if values.size == 0:
        return (1.0, 10.0) if log else (0.0, 1.0)
    lo, hi = float(values.min()), float(values.max())
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    span = hi - lo
    lo, hi = lo - pad * span, hi + pad * span
    return (10 ** lo, 10 ** hi) if log else (lo, hi)


class _Axes:
    """Maps data coordinates into the plot rectangle."""

    def __init__(self, box, xr, yr, logx, logy):
        self.x0, self.y0, self.w, self.h = box
        self.logx, self.logy = logx, logy
        f = (lambda v: math.log10(v))
        self.xr = tuple(map(f, xr)) if logx else xr
        self.yr = tuple(map(f, yr)) if logy else yr

    def px(self, x):
        v = math.log10(x) if self.logx else x
        return self.x0 + (v - self.xr[0]) / (self.xr[1] - self.xr[0]) * self.w

    def py(self, y):
        v = math.log10(y) if self.logy else y
        return self.y0 + self.h - (v - self.yr[0]) / (self.yr[1] - self.yr[0]) * self.h


def _n(v: float) -> str:
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _text(x, y, s, size=11, anchor="start", extra=""):
    return (f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" text-anchor="{anchor}" {_FONT}{extra}>'
            f"{escape(str(s))}</text>")


def _frame(width, height, title, box, axes, xticks, yticks, xlabel, ylabel, xtick_labels=None):
    x0, y0, w, h = box
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}">',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    if title:
        out.append(_text(width / 2, 22, title, 14, "middle", ' font-weight="bold"'))
    out.append('<g class="grid" stroke="#e6e6e6" stroke-width="1">')
    for t in yticks:
        y = axes.py(t)
        out.append(f'<line x1="{_n(x0)}" y1="{_n(y)}" x2="{_n(x0 + w)}" y2="{_n(y)}"/>')
    for t in xticks:
        x = axes.px(t)
        out.append(f'<line x1="{_n(x)}" y1="{_n(y0)}" x2="{_n(x)}" y2="{_n(y0 + h)}"/>')
    out.append("</g>")
    out.append(f'<rect class="axes" x="{_n(x0)}" y="{_n(y0)}" width="{_n(w)}" height="{_n(h)}" fill="none" '
               f'stroke="#333333" stroke-width="1"/>')
    out.append('<g class="ticks" fill="#333333">')
    for i, t in enumerate(xticks):
        x = axes.px(t)
        label = xtick_labels[i] if xtick_labels else fmt_tick(t)
        out.append(f'<line x1="{_n(x)}" y1="{_n(y0 + h)}" x2="{_n(x)}" y2="{_n(y0 + h + 4)}" stroke="#333333"/>')
        out.append(_text(x, y0 + h + 17, label, 11, "middle"))
    for t in yticks:
        y = axes.py(t)
        out.append(f'<line x1="{_n(x0 - 4)}" y1="{_n(y)}" x2="{_n(x0)}" y2="{_n(y)}" stroke="#333333"/>')
        out.append(_text(x0 - 7, y + 4, fmt_tick(t), 11, "end"))
    out.append("</g>")
    if xlabel:
        out.append(_text(x0 + w / 2, y0 + h + 38, xlabel, 12, "middle"))
    if ylabel:
        cx, cy = 16, y0 + h / 2
        out.append(f'<text x="{_n(cx)}" y="{_n(cy)}" font-size="12" text-anchor="middle" {_FONT} '
                   f'transform="rotate(-90 {_n(cx)} {_n(cy)})">{escape(ylabel)}</text>')
    return out


def _legend(items, x, y):
    """items: (name, color, has_line, has_point, dashed). One row per series, right of the plot."""
    out = ['<g class="legend">']
    for i, (name, color, line, point, dashed) in enumerate(items):
        yy = y + i * 18
        if line:
            dash = ' stroke-dasharray="6 4"' if dashed else ""
            out.append(f'<line x1="{_n(x)}" y1="{_n(yy)}" x2="{_n(x + 24)}" y2="{_n(yy)}" stroke="{color}" '
                       f'stroke-width="2"{dash}/>')
        if point:
            out.append(f'<rect x="{_n(x + 8)}" y="{_n(yy - 4)}" width="8" height="8" fill="{color}"/>')
        if not line and not point:
            out.append(f'<rect x="{_n(x + 6)}" y="{_n(yy - 6)}" width="12" height="12" fill="{color}"/>')
        out.append(_text(x + 30, yy + 4, name, 11))
    out.append("</g>")
    return out


def _layout(names, width, height, title):
    legend_w = 0 if not names else int(40 + _CHAR_W * max(len(n) for n in names))
    left, right, top, bottom = 64, 16 + legend_w, 40 if title else 16, 52
    return (left, top, width - left - right, height - top - bottom), legend_w


def _write(path, lines) -> Path:
    lines.append("</svg>")
    return atomic_write(path, ("\n".join(lines) + "\n").encode("utf-8"))


# ---------------------------------------------------------------- public
def line_plot(series: dict, path, title: str = "", xlabel: str = "", ylabel: str = "", logx: bool = False,
              logy: bool = False, width: int = 720, height: int = 420, vlines: dict | None = None,
              xlim=None, ylim=None, xticks=None, yticks=None) -> Path:
    """Write an SVG line (and/or scatter) plot of ``series`` (name -> (xs, ys) or a dict) to ``path``.

    ``logx`` / ``logy`` use log10 axes (non-positive values are left out); ``xlim`` / ``ylim`` fix a range
    (values outside it are clipped to the frame edge); ``vlines`` = {x: label} draws dashed vertical markers;
    ``xticks`` / ``yticks`` replace the automatic ticks. Returns the path."""
    if not isinstance(series, dict):
        raise TypeError(f"line_plot: series must be a dict name -> (xs, ys), got {type(series).__name__}")
    ss = [_series(name, spec, i) for i, (name, spec) in enumerate(series.items())]
    xs = np.concatenate([s["x"][_finite(s["x"], logx) & _finite(s["y"], logy)] for s in ss]) if ss else np.zeros(0)
    ys = np.concatenate([s["y"][_finite(s["x"], logx) & _finite(s["y"], logy)] for s in ss]) if ss else np.zeros(0)
    if vlines:
        xs = np.concatenate([xs, np.asarray([v for v in vlines if not logx or v > 0], dtype=np.float64)])
    xr = tuple(xlim) if xlim is not None else _range(xs, logx, pad=0.02)
    yr = tuple(ylim) if ylim is not None else _range(ys, logy)
    box, _ = _layout([s["name"] for s in ss], width, height, title)
    axes = _Axes(box, xr, yr, logx, logy)
    xticks = [t for t in (xticks if xticks is not None else (log_ticks if logx else nice_ticks)(*xr))
              if xr[0] <= t <= xr[1]]
    yticks = [t for t in (yticks if yticks is not None else (log_ticks if logy else nice_ticks)(*yr))
              if yr[0] <= t <= yr[1]]
    out = _frame(width, height, title, box, axes, xticks, yticks, xlabel, ylabel)
    x0, y0, w, h = box
    out.append(f'<clipPath id="plot-area"><rect x="{_n(x0)}" y="{_n(y0)}" width="{_n(w)}" height="{_n(h)}"/>'
               "</clipPath>")
    for xv, label in (vlines or {}).items():
        if logx and xv <= 0:
            continue
        x = axes.px(xv)
        out.append(f'<line class="vline" x1="{_n(x)}" y1="{_n(y0)}" x2="{_n(x)}" y2="{_n(y0 + h)}" '
                   f'stroke="#777777" stroke-width="1.2" stroke-dasharray="3 3"/>')
        if label:
            out.append(_text(x + 4, y0 + 13, label, 10, "start", ' fill="#555555"'))
    legend = []
    for s in ss:
        keep = _finite(s["x"], logx) & _finite(s["y"], logy)
        out.append('<g class="series" clip-path="url(#plot-area)">')
        out.append(f"<title>{escape(s['name'])}</title>")
        if s["mode"] in ("line", "both"):
            dash = ' stroke-dasharray="6 4"' if s["dashed"] else ""
            for seg in _segments(keep):                      # a NaN / inf breaks the line
                pts = " ".join(f"{_n(axes.px(s['x'][i]))},{_n(axes.py(s['y'][i]))}" for i in seg)
                out.append(f'<polyline points="{pts}" fill="none" stroke="{s["color"]}" stroke-width="2" '
                           f'stroke-linejoin="round"{dash}/>')
        if s["mode"] in ("points", "both"):
            for i in np.flatnonzero(keep):
                out.append(f'<circle cx="{_n(axes.px(s["x"][i]))}" cy="{_n(axes.py(s["y"][i]))}" r="3.5" '
                           f'fill="{s["color"]}"/>')
        out.append("</g>")
        legend.append((s["name"], s["color"], s["mode"] != "points", s["mode"] != "line", s["dashed"]))
    out += _legend(legend, x0 + w + 16, y0 + 10)
    return _write(path, out)


def scatter_plot(series: dict, path, **kwargs) -> Path:
    """``line_plot`` with every (xs, ys) series drawn as points."""
    pts = {k: (dict(v, mode=v.get("mode", "points")) if isinstance(v, dict) else {"x": v[0], "y": v[1],
                                                                                      "mode": "points"})
           for k, v in series.items()}
    return line_plot(pts, path, **kwargs)


def bar_plot(values: dict, path, title: str = "", xlabel: str = "", ylabel: str = "", errors: dict | None = None,
             ylim=None, width: int = 720, height: int = 420, colors: dict | None = None) -> Path:
    """Write an SVG bar chart of ``values`` (label -> number) to ``path``; ``errors`` (label -> +/-) adds
    error bars. The y axis starts at 0 unless ``ylim`` says otherwise (say so in the caption if it does)."""
    names = [str(k) for k in values]
    v = np.asarray([float(x) for x in values.values()], dtype=np.float64)
    e = np.asarray([float((errors or {}).get(k, 0.0)) for k in values], dtype=np.float64)
    fin = np.isfinite(v)
    hi = float(np.max((v + e)[fin])) if fin.any() else 1.0
    lo = min(0.0, float(np.min((v - e)[fin]))) if fin.any() else 0.0
    yr = tuple(ylim) if ylim is not None else (lo, hi + 0.06 * (hi - lo or 1.0))
    box, _ = _layout([], width, height, title)
    box = (box[0], box[1], box[2] - 0, box[3])
    n = max(len(names), 1)
    axes = _Axes(box, (0.0, float(n)), yr, False, False)
    yticks = [t for t in nice_ticks(*yr) if yr[0] <= t <= yr[1]]
    out = _frame(width, height, title, box, axes, [i + 0.5 for i in range(len(names))], yticks, xlabel, ylabel,
                 xtick_labels=names)
    base = axes.py(max(yr[0], 0.0) if yr[0] <= 0 <= yr[1] else yr[0])
    out.append('<g class="bars">')
    for i, (name, val, err) in enumerate(zip(names, v, e)):
        color = (colors or {}).get(name, PALETTE[i % len(PALETTE)])
        if not math.isfinite(val):
            out.append(_text(axes.px(i + 0.5), base - 6, "n/a", 11, "middle"))
            continue
        x, top = axes.px(i + 0.15), axes.py(min(max(val, yr[0]), yr[1]))
        out.append(f'<rect x="{_n(x)}" y="{_n(min(top, base))}" width="{_n(axes.px(i + 0.85) - x)}" '
                   f'height="{_n(abs(base - top))}" fill="{color}"><title>{escape(name)}: {val:.6g}</title></rect>')
        if err > 0:
            cx = axes.px(i + 0.5)
            out.append(f'<line x1="{_n(cx)}" y1="{_n(axes.py(val - err))}" x2="{_n(cx)}" '
                       f'y2="{_n(axes.py(val + err))}" stroke="#333333" stroke-width="1.5"/>')
        out.append(_text(axes.px(i + 0.5), min(top, base) - 5, f"{val:.4g}", 10, "middle"))
    out.append("</g>")
    return _write(path, out)


def _segments(mask):
    """Runs of consecutive True indices in ``mask`` (each a line of its own)."""
    segs, cur = [], []
    for i, ok in enumerate(mask):
        if ok:
            cur.append(i)
        elif cur:
            segs.append(cur)
            cur = []
    if cur:
        segs.append(cur)
    return segs
