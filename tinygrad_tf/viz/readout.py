"""What every rich readout shares: a plain-data form, SVG export for slides, colours and small glyph helpers.

A readout is an object that rich can print (``console.print(readout)``, or just ``readout`` at the REPL)
and that has a plain form for other tools: ``.to_dict()`` (JSON-safe: lists, numbers, strings) and
``.to_json(path=None)``. ``save_svg(readout, "slide.svg", width=100)`` records it on a true-colour
console and writes the SVG atomically. In a Jupyter cell a readout shows itself as HTML (the same coloured
text: ``_repr_html_``), and ``readout.figure()`` / ``readout.save_figure("x.png")`` draw it with matplotlib
(the ``[plots]`` extra) where a figure says more than text (heatmaps, bars, curves: viz/figures.py).

The colour scale is viridis (perceptually uniform, readable in greyscale and by colour-blind viewers):
a 256-entry table interpolated from eleven anchor colours, so no plotting library is needed.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import sys
from pathlib import Path

import numpy as np
from rich.color import Color
from rich.console import Console
from rich.style import Style

from .. import backend
from .. import fileio
from .figures import save_figure as _save_figure

# viridis sampled at 0, 0.1, ..., 1 (matplotlib's values); the 256-entry table is interpolated from these
VIRIDIS_ANCHORS = ("#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c",
                   "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725")


def _interpolate(anchors, n=256) -> list[tuple[int, int, int]]:
    rgb = np.array([[int(a[k:k + 2], 16) for k in (1, 3, 5)] for a in anchors], dtype=np.float64)
    pos = np.linspace(0.0, 1.0, len(anchors))
    t = np.linspace(0.0, 1.0, n)
    table = np.stack([np.interp(t, pos, rgb[:, c]) for c in range(3)], axis=1)
    return [tuple(int(round(v)) for v in row) for row in table]


VIRIDIS: list[tuple[int, int, int]] = _interpolate(VIRIDIS_ANCHORS)          # 256 (r, g, b) triples
SHADES = " ░▒▓█"                                                               # the no-colour scale, light to dark
SPARKS = "▁▂▃▄▅▆▇█"

_CELL_STYLES = [Style(color=Color.from_rgb(*c), bgcolor=Color.from_rgb(*c)) for c in VIRIDIS]
_FG_STYLES = [Style(color=Color.from_rgb(*c)) for c in VIRIDIS]


def colour_index(t: float) -> int:
    """Position ``t`` in [0, 1] -> an index into the 256-entry VIRIDIS table (NaN -> 0)."""
    if not t == t:   # NaN
        return 0
    return int(round(min(1.0, max(0.0, float(t))) * 255))


def cell_style(t: float) -> Style:
    """A style whose foreground and background are both the viridis colour at ``t`` (a solid cell)."""
    return _CELL_STYLES[colour_index(t)]


def fg_style(t: float) -> Style:
    return _FG_STYLES[colour_index(t)]


def pair_style(top: float | None, bottom: float | None) -> tuple[str, Style | None]:
    """One character showing two stacked cells (``▀``: top in the foreground, bottom in the background).
    ``None`` is a blank (masked) cell."""
    if top is None and bottom is None:
        return " ", None
    if bottom is None:
        return "▀", Style(color=Color.from_rgb(*VIRIDIS[colour_index(top)]))
    if top is None:
        return "▄", Style(color=Color.from_rgb(*VIRIDIS[colour_index(bottom)]))
    return "▀", Style(color=Color.from_rgb(*VIRIDIS[colour_index(top)]),
                      bgcolor=Color.from_rgb(*VIRIDIS[colour_index(bottom)]))


def shade(t: float) -> str:
    """Position ``t`` in [0, 1] -> one of `` ░▒▓█``: blank only for exactly 0, then quarters (0, 1/4] -> ░,
    (1/4, 1/2] -> ▒, (1/2, 3/4] -> ▓, (3/4, 1] -> █; so a blank cell never hides a weight."""
    if not t == t:
        return "?"
    return SHADES[int(math.ceil(min(1.0, max(0.0, float(t))) * (len(SHADES) - 1)))]


def use_colour(console: Console, mode: str = "auto") -> bool:
    """Whether to draw with colours: ``mode`` "color" / "shade" force it; "auto" asks the console
    (no colour when NO_COLOR is set, or the console has no colour system, e.g. a file or a pipe)."""
    if mode in ("color", "colour"):
        return True
    if mode == "shade":
        return False
    if mode != "auto":
        raise ValueError(f"mode must be 'auto', 'color' or 'shade', got {mode!r}")
    return not console.no_color and console.color_system is not None


def sparkline(values, width: int | None = None, log: bool = False) -> str:
    """``▁▂▃▄▅▆▇█`` for a sequence of numbers (the last ``width`` of them): None shows as ``·``, NaN / inf as
    ``!``; ``log=True`` scales by log10 (for gradient norms, which span orders of magnitude; zeros then show
    as ``_``)."""
    vals = list(values)[-width:] if width else list(values)
    if not vals:
        return ""
    keys = []
    for v in vals:
        if v is None:
            keys.append(None)
        elif not math.isfinite(v):
            keys.append("bad")
        elif log:
            keys.append(math.log10(v) if v > 0 else "zero")
        else:
            keys.append(float(v))
    nums = [k for k in keys if isinstance(k, float)]
    lo, hi = (min(nums), max(nums)) if nums else (0.0, 0.0)
    out = []
    for k in keys:
        if k is None:
            out.append("·")
        elif k == "bad":
            out.append("!")
        elif k == "zero":
            out.append("_")
        else:
            t = 0.5 if hi == lo else (k - lo) / (hi - lo)
            out.append(SPARKS[int(round(t * (len(SPARKS) - 1)))])
    return "".join(out)


def fmt_num(x, digits: int = 3) -> str:
    """A compact number: 0.0123, 1.23, 2020, 1.23e-05, 1.23e+04, nan, inf, — for None."""
    if x is None:
        return "—"
    x = float(x)
    if not math.isfinite(x):
        return "nan" if x != x else ("inf" if x > 0 else "-inf")
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e4:
        if abs(x) >= 1:
            s = f"{x:.{digits}g}"
            return f"{x:.0f}" if "e" in s else s          # 2020.4 -> "2020", not "2.02e+03"
        return f"{x:.{digits}f}".rstrip("0").rstrip(".") or "0"
    return f"{x:.{max(digits - 1, 1)}e}"


def fmt_count(n: int) -> str:
    """1234567 -> '1.23M' (and '1,234' under ten thousand)."""
    n = int(n)
    for unit, div, least in (("B", 1e9, 1e9), ("M", 1e6, 1e6), ("k", 1e3, 1e4)):
        if abs(n) >= least:
            return f"{n / div:.3g}{unit}"
    return f"{n:,}"


def fmt_si(n) -> str:
    """A big count, rounded to three significant digits with k / M / G / T (58560 -> '58.6k', 918552576 ->
    '919M', 15963095040 -> '16.0G'); exact, with separators, under ten thousand (1536 -> '1,536')."""
    n = int(round(n))
    if abs(n) < 10_000:
        return f"{n:,}"
    for unit, div in (("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12)):
        v = n / div
        digits = 2 if abs(v) < 9.995 else 1 if abs(v) < 99.95 else 0
        if abs(round(v, digits)) < 999.5 or unit == "T":
            return f"{v:.{digits}f}{unit}"


def to_numpy(x) -> np.ndarray:
    """A Tensor, backend array (NumPy / CuPy) or nested list -> a NumPy array (float64 for floats)."""
    data = getattr(x, "data", x) if not isinstance(x, np.ndarray) else x
    if not isinstance(data, np.ndarray) and hasattr(data, "shape") and hasattr(data, "dtype"):
        data = backend.to_numpy(data)
    arr = np.asarray(data)
    return arr.astype(np.float64) if arr.dtype.kind == "f" else arr


def json_safe(obj):
    """Replace NaN / inf by None and NumPy scalars / arrays by Python values, recursively."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


atomic_write = fileio.atomic_write      # re-exported for the viz modules


def dump_json(obj, path=None, indent: int | None = None) -> str:
    """``obj`` as JSON text (made JSON-safe first); with ``path``, also written there (atomically)."""
    text = json.dumps(json_safe(obj), indent=indent)
    if path is not None:
        atomic_write(path, (text + "\n").encode("utf-8"))
    return text


def record_console(width: int = 100, color: bool = True) -> Console:
    """A console that records what is printed to it (for ``export_svg`` / ``export_text``), off screen."""
    return Console(record=True, file=io.StringIO(), width=width, force_terminal=color,
                   color_system="truecolor" if color else None, no_color=not color, legacy_windows=False,
                   force_jupyter=False,   # in a notebook too: record, do not display (rich would, by itself)
                   _environ={})     # ignore NO_COLOR / COLUMNS from the environment: a slide is a slide


def save_svg(renderable, path, width: int = 100, title: str = "tinygrad_tf", color: bool = True) -> Path:
    """Print ``renderable`` on a recording, true-colour console ``width`` columns wide and write it as SVG
    (atomically) to ``path``; returns the path. A readout, a rich Table, any renderable or plain text."""
    console = record_console(width, color)
    console.print(renderable)
    # a fixed id keeps the SVG's style class names the same from run to run (rich hashes the content
    # otherwise, so equal pictures would still differ as files)
    svg = console.export_svg(title=title, unique_id="tg-" + "".join(c if c.isalnum() else "-" for c in title))
    return atomic_write(path, svg.encode("utf-8"))


def render_text(renderable, width: int = 100, color: bool = False) -> str:
    """What ``renderable`` prints as: plain text, or with ``color`` ANSI-coloured text for a terminal."""
    console = record_console(width, color)
    console.print(renderable)
    return console.export_text(styles=color)


# how a readout looks in a notebook: the console's colours on its own background, cells that touch (heatmaps)
_HTML_PRE = ('<pre class="tinygrad-tf-readout" style="white-space:pre;overflow-x:auto;line-height:1.2;'
             'font-size:12px;padding:6px 8px;margin:0;color:{foreground};background:{background};'
             "font-family:Menlo,'DejaVu Sans Mono',Consolas,'Courier New',monospace\">{code}</pre>")


def to_html(renderable, width: int = 100) -> str:
    """``renderable`` as an HTML fragment (a ``<pre>`` with inline colours): what a Jupyter cell shows."""
    console = record_console(width, color=True)
    console.print(renderable)
    html = console.export_html(inline_styles=True, code_format=_HTML_PRE)
    # braille (the line plots) is missing from most monospace fonts: a browser draws it from a proportional
    # one and the columns drift; one cell per character keeps the grid
    return _BRAILLE.sub(lambda m: _BRAILLE_CELL.format(m.group(0)), html)


_BRAILLE = re.compile("[\u2801-\u28ff]")
_BRAILLE_CELL = '<span style="display:inline-block;width:1ch;overflow:hidden;vertical-align:bottom">{}</span>'


class Readout:
    """Base of the rich readouts: ``to_dict`` (subclasses), ``to_json``, ``save_svg``, ``text``, ``html``;
    ``figure`` / ``save_figure`` where the readout has a matplotlib form."""

    notebook_width = 100          # columns a readout is drawn in, in a Jupyter cell

    def to_dict(self) -> dict:
        raise NotImplementedError

    def to_json(self, path=None, indent: int | None = None) -> str:
        """The ``to_dict`` form as JSON text; with ``path``, also written there (atomically)."""
        return dump_json(self.to_dict(), path, indent)

    def save_svg(self, path, width: int = 100, title: str | None = None) -> Path:
        return save_svg(self, path, width=width, title=title or type(self).__name__)

    def text(self, width: int = 100, color: bool = False) -> str:
        return render_text(self, width=width, color=color)

    def html(self, width: int | None = None) -> str:
        """What the readout prints, as an HTML fragment with its colours (``width`` columns)."""
        return to_html(self, width=width or self.notebook_width)

    def _repr_html_(self) -> str:
        """Jupyter shows this: the coloured readout (the plain ``__repr__`` stays the text/plain form)."""
        return self.html()

    def figure(self, **kwargs):
        """This readout as a matplotlib Figure (for slides); readouts without one say so."""
        raise NotImplementedError(f"{type(self).__name__} has no figure; save_svg(readout, 'x.svg') saves "
                                  "what the terminal shows")

    def save_figure(self, path, **kwargs) -> Path:
        """Write ``self.figure(**kwargs)`` to ``path``: .svg, .png or .pdf by the extension (atomically)."""
        return _save_figure(self.figure(**kwargs), path)

    def __repr__(self):
        """The plain REPL shows the drawing (coloured on a terminal); rich's REPL hook uses __rich_console__."""
        colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        return self.text(width=_terminal_width(), color=colour).rstrip("\n")


def _terminal_width() -> int:
    try:
        return max(40, min(os.get_terminal_size().columns, 200))
    except OSError:
        return 100
