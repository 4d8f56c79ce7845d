"""How attention is drawn: one head as a heatmap, all heads as a grid, the analysis table and rollout.

attention.py gathers the attention a model returns into stacks (AttentionStack, in attention_analysis.py,
with each head's numbers); the renderables here draw them. Token labels are shown with control characters
made visible (display_token). ``.figure()`` draws a head or the grid with matplotlib (figures_attention.py).
"""

from __future__ import annotations

import numpy as np
from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions
from rich.table import Table
from rich.text import Text

from .attention_analysis import (LOCAL_WINDOW, TAG_ABBREV, THRESHOLDS, AttentionStack, HeadStats, analyze_head,
                                 attention_rollout, axis_labels, masked_cells, thresholds_text)
from .figures_attention import heatmap_figure, heatmap_grid_figure
from .readout import Readout, cell_style, fmt_num, pair_style, shade, to_numpy, use_colour

_CONTROL = {"\n": "⏎", "\t": "⇥", "\r": "␍", " ": "␣", "": "∅"}


# ---------------------------------------------------------------- tokens
def display_token(tok) -> str:
    """A token as it can be printed in one line: spaces, newlines and tabs made visible (␣ ⏎ ⇥)."""
    s = str(tok)
    if s in _CONTROL:
        return _CONTROL[s]
    s = s.replace("Ġ", " ").replace("▁", " ")              # GPT-2 / SentencePiece word starts
    out = "".join(_CONTROL.get(ch, ch) if ch in "\n\t\r" else ("·" if not ch.isprintable() else ch) for ch in s)
    return out.replace(" ", "␣")


def token_labels(ids, tokenizer=None) -> list[str]:
    """One label per id: the tokenizer's ``id_to_token`` (or ``decode([id])``), else the id itself."""
    ids = [int(i) for i in np.asarray(to_numpy(ids)).reshape(-1)]
    if tokenizer is None:
        return [str(i) for i in ids]
    for name in ("id_to_token", "convert_ids_to_tokens"):
        fn = getattr(tokenizer, name, None)
        if fn is not None:
            try:
                return [str(fn(i)) for i in ids]
            except Exception:  # noqa: BLE001  (an id outside the vocabulary: fall through to decode / ids)
                break
    try:
        return [tokenizer.decode([i]) for i in ids]
    except Exception:  # noqa: BLE001
        return [str(i) for i in ids]


def _fit(text: str, width: int) -> Text:
    t = Text(text, no_wrap=True)
    if cell_len(text) > width:
        t.truncate(width, overflow="ellipsis")
    return t


# ---------------------------------------------------------------- windows
def window_range(n: int, limit: int, window="last") -> tuple[int, int]:
    """(start, stop) of the positions to show: all when they fit in ``limit``; else the last / first ``limit``
    ones, or an explicit ``(start, stop)`` / ``slice``."""
    if isinstance(window, slice):
        start, stop, _ = window.indices(n)
        return start, max(start, stop)
    if isinstance(window, (tuple, list)):
        start, stop = (int(v) for v in window)
        start, stop = max(0, start), min(n, stop)
        if stop <= start:
            raise ValueError(f"window {tuple(window)} selects no positions of {n}")
        return start, stop
    limit = max(1, int(limit))
    if n <= limit:
        return 0, n
    if window in (None, "last"):
        return n - limit, n
    if window == "first":
        return 0, limit
    raise ValueError(f"window must be 'last', 'first', (start, stop) or a slice, got {window!r}")


def _window_note(what, a, b, n, hidden=None) -> Text | None:
    if (a, b) == (0, n):
        return None
    side = "last" if b == n else "first" if a == 0 else "window"
    note = f"{what}: showing {a}–{b - 1} of {n} ({side} {b - a}; pass window= or max_tokens= to choose)"
    if hidden:
        note += f"; attention to keys outside the window: {hidden:.2f} per row on average"
    return Text(note, style="italic dim")


# ---------------------------------------------------------------- one head
class AttentionHeatmap(Readout):
    """One attention matrix as a terminal heatmap: two characters per cell (square on screen), queries
    down the side, keys along the top (their labels written vertically), viridis colours with a legend
    (shades `` ░▒▓█`` without colour), masked cells blank, and the head's analysis underneath.

    mask:       "auto" (a causal triangle / padded keys, read off the exact zeros), None (nothing masked) or a
                boolean array (True = masked)
    window:     "last" | "first" | (start, stop): which positions to show when they do not fit
    max_tokens: how many positions fit (default: as many as the console width allows)
    scale:      "matrix" (colours relative to the largest shown weight), "row" (each row's largest), "absolute" (0..1)
    mode:       "auto" | "color" | "shade"
    """

    def __init__(self, matrix, x_labels=None, y_labels=None, *, title=None, mask="auto", window="last",
                 max_tokens=None, scale="matrix", vmax=None, mode="auto", stats=None, layer=None, head=None,
                 square=None, thresholds=None, label_rows=4, show_stats=True):
        m = to_numpy(matrix)
        if m.ndim != 2:
            raise ValueError(f"AttentionHeatmap expects a 2-D (queries, keys) matrix, got shape {m.shape}")
        if scale not in ("matrix", "row", "absolute"):
            raise ValueError(f"scale must be 'matrix', 'row' or 'absolute', got {scale!r}")
        self.matrix = m
        tq, tk = m.shape
        self.x_labels = axis_labels(x_labels, tk, "x_labels (keys)")
        self.y_labels = axis_labels(y_labels if y_labels is not None else (x_labels if tq == tk else None), tq,
                                    "y_labels (queries)")
        self.mask = masked_cells(m, mask)
        self.square = (tq == tk and self.x_labels == self.y_labels) if square is None else bool(square)
        self.title, self.window, self.max_tokens, self.scale, self.vmax = title, window, max_tokens, scale, vmax
        self.mode, self.layer, self.head, self.label_rows, self.show_stats = mode, layer, head, label_rows, show_stats
        self.thresholds = {**THRESHOLDS, **(thresholds or {})}
        self._stats = stats

    @property
    def stats(self) -> HeadStats:
        if self._stats is None:
            self._stats = analyze_head(self.matrix, self.mask, self.x_labels, self.y_labels, square=self.square,
                                       thresholds=self.thresholds, layer=self.layer,
                                       head=self.head if isinstance(self.head, int) else None)
        return self._stats

    def to_dict(self) -> dict:
        st = self.stats
        return {"layer": self.layer, "head": self.head, "title": self.title, "matrix": self.matrix.tolist(),
                "mask": self.mask.tolist(), "x_labels": list(self.x_labels), "y_labels": list(self.y_labels),
                "entropy": st.entropy, "normalized_entropy": st.normalized_entropy, "mass": dict(st.mass),
                "patterns": list(st.patterns), "top_connections": [dict(c) for c in st.top_connections],
                "thresholds": dict(self.thresholds)}

    # ------------------------------------------------------------ drawing
    def _ranges(self, width):
        tq, tk = self.matrix.shape
        digits = len(str(max(tq - 1, 0)))
        label_w = min(max(cell_len(display_token(t)) for t in self.y_labels) if tq else 1, 12) + digits + 1
        fit = max(4, (width - label_w - 1) // 2)
        limit = min(self.max_tokens or fit, fit) if self.max_tokens else fit
        cols = window_range(tk, limit, self.window)
        rows = cols if self.square else window_range(tq, self.max_tokens or 64, self.window)
        return rows, cols, label_w, digits

    def _vmax(self, sub, sub_mask):
        if self.vmax is not None:
            return float(self.vmax)
        if self.scale == "absolute":
            return 1.0
        vals = np.where(sub_mask, np.nan, sub)
        if self.scale == "row":
            with np.errstate(invalid="ignore"):
                return np.nanmax(np.where(np.isnan(vals), -np.inf, vals), axis=1, keepdims=True).clip(min=1e-12)
        informative = (~sub_mask).sum(1) > 1          # a row that sees one key is forced to 1.0: not the scale
        pick = vals[informative] if informative.any() else vals
        finite = pick[np.isfinite(pick)]
        return float(finite.max()) if finite.size and finite.max() > 0 else 1.0

    def lines(self, width=100, colour=True) -> list[Text]:
        (r0, r1), (c0, c1), label_w, digits = self._ranges(width)
        sub, sub_mask = self.matrix[r0:r1, c0:c1], self.mask[r0:r1, c0:c1]
        vmax = self._vmax(sub, sub_mask)
        out: list[Text] = []
        if self.title:
            out.append(Text(self.title, style="bold"))
        hidden = None
        if (c0, c1) != (0, self.matrix.shape[1]):
            full = np.where(self.mask[r0:r1], 0.0, self.matrix[r0:r1]).sum(1)
            hidden = float(np.mean(full - np.where(sub_mask, 0.0, sub).sum(1)))
        for note in (_window_note("keys" if not self.square else "tokens", c0, c1, self.matrix.shape[1], hidden),
                     None if self.square else _window_note("queries", r0, r1, self.matrix.shape[0])):
            if note is not None:
                out.append(note)
        # keys along the top, written vertically (one character per row, up to label_rows rows)
        labels = [display_token(t) for t in self.x_labels[c0:c1]]
        n_rows = max(1, min(self.label_rows, max((len(t) for t in labels), default=1)))
        for i in range(n_rows):
            line = Text(" " * (label_w + 1), no_wrap=True)
            for t in labels:
                ch = t[i] if i < len(t) else ""
                if i == n_rows - 1 and len(t) > n_rows:
                    ch = "…"
                line.append(ch + " " * (2 - cell_len(ch)) if cell_len(ch) <= 2 else "? ", style="cyan")
            out.append(line)
        for r in range(r1 - r0):
            q = r0 + r
            line = Text(no_wrap=True)
            lab = _fit(display_token(self.y_labels[q]), label_w - digits - 1)
            line.append(f"{q:>{digits}} ", style="dim")
            line.append(" " * (label_w - digits - 1 - lab.cell_len))
            line.append(lab.plain, style="cyan")
            line.append(" ")
            top = vmax[r, 0] if isinstance(vmax, np.ndarray) else vmax
            for c in range(c1 - c0):
                if sub_mask[r, c]:
                    line.append("  ")
                    continue
                t = sub[r, c] / top if top > 0 else 0.0
                if colour:
                    line.append("██", cell_style(t))
                else:
                    line.append(shade(t) * 2)
            out.append(line)
        out.append(self._legend(vmax, colour))
        if self.show_stats:
            out.extend(self._stats_lines())
        return out

    def _legend(self, vmax, colour) -> Text:
        scale = {"matrix": "the largest weight shown", "row": "each row's largest", "absolute": "1"}[
            self.scale if self.vmax is None else "matrix"]
        top = "row max" if isinstance(vmax, np.ndarray) else fmt_num(vmax)
        t = Text("  0 ", style="dim")
        if colour:
            for i in range(16):
                t.append("█", cell_style(i / 15))
            t.append(f" {top}", style="dim")
            t.append(f"  viridis from 0 to {scale}; blank = masked", style="dim")
        else:
            t.append("[" + "".join(ch * 2 for ch in " ░▒▓█") + "]")
            t.append(f" {top}", style="dim")
            t.append(f"  shades in quarters of {scale}; blank = 0 or masked", style="dim")
        return t

    def _stats_lines(self) -> list[Text]:
        st = self.stats
        t = Text("  entropy ", style="dim")
        t.append(f"{st.entropy:.3f} nats")
        if st.normalized_entropy is not None:
            t.append(f" ({st.normalized_entropy:.2f} of log n)")
        lines = [t]
        masses = [f"{k} {v:.2f}" for k, v in st.mass.items() if v is not None]
        if masses:
            lines.append(Text("  mean attention on: " + "  ".join(masses), style="dim"))
        tags = Text("  patterns: ", style="dim")
        tags.append(", ".join(st.patterns) if st.patterns else "none", style="bold magenta" if st.patterns else "")
        if st.top_connections:
            tags.append("  ·  top: ", style="dim")
            tags.append(", ".join(_conn(c, self.x_labels, self.y_labels) for c in st.top_connections))
        lines.append(tags)
        return lines

    def __rich_console__(self, console: Console, options: ConsoleOptions):
        yield from self.lines(options.max_width, use_colour(console, self.mode))

    def figure(self, max_tokens=None, annotate="auto"):
        """This head as a matplotlib figure for a slide: token labels on both axes (T5's cross-attention: source
        tokens across, target tokens down), at most ``max_tokens`` positions (default 48; ``window`` picks
        which), weights written in the cells of small maps. Needs the [plots] extra."""
        tq, tk = self.matrix.shape
        limit = max_tokens or self.max_tokens or 48
        c0, c1 = window_range(tk, limit, self.window)
        r0, r1 = (c0, c1) if self.square else window_range(tq, limit, self.window)
        notes = [_window_note("keys" if not self.square else "tokens", c0, c1, tk),
                 None if self.square else _window_note("queries", r0, r1, tq)]
        axes = ("keys (attended to)", "queries (attending)") if self.square else \
            ("keys: source tokens", "queries: target tokens")
        return heatmap_figure(self.matrix[r0:r1, c0:c1], [display_token(t) for t in self.x_labels[c0:c1]],
                              [display_token(t) for t in self.y_labels[r0:r1]], mask=self.mask[r0:r1, c0:c1],
                              title=self.title or "", vmax=1.0 if self.scale == "absolute" else self.vmax,
                              annotate=annotate, xlabel=axes[0], ylabel=axes[1],
                              note=" · ".join(n.plain for n in notes if n is not None))


def _conn(c, x_labels, y_labels, width=None) -> str:
    q, k = c["query"], c["key"]
    a, b = display_token(y_labels[q]), display_token(x_labels[k])
    if width:
        a, b = (t if len(t) <= width else t[:width - 1] + "…" for t in (a, b))
    return f"{q}:{a}→{k}:{b} {c['weight']:.2f}"


# ---------------------------------------------------------------- all heads at a glance
class AttentionGrid(Readout):
    """Small multiples: one tiny map per (layer, head), the last ``max_tokens`` positions, each map scaled to
    its own largest weight (``scale="shared"``: all on 0..1), captioned with its strongest pattern tag.
    With colour, two query rows share a character (``▀``: upper row in front, lower behind), so the cells
    are square; in shades each cell is one character."""

    def __init__(self, stack: AttentionStack, layers=None, heads=None, max_tokens=16, window="last", scale="head",
                 mode="auto", thresholds=None):
        if scale not in ("head", "shared"):
            raise ValueError(f"scale must be 'head' or 'shared', got {scale!r}")
        self.stack = stack
        self.layers = list(range(stack.n_layer)) if layers is None else [int(x) for x in np.atleast_1d(layers)]
        self.heads = list(range(stack.n_head)) if heads is None else [int(x) for x in np.atleast_1d(heads)]
        for layer in self.layers:
            for head in self.heads:
                stack._check(layer, head)
        self.max_tokens, self.window, self.scale, self.mode = max_tokens, window, scale, mode
        self.thresholds = {**THRESHOLDS, **(thresholds or {})}

    def to_dict(self) -> dict:
        s = self.stack
        return {"stack": s.name, "layers": self.layers, "heads": self.heads,
                "maps": [{"layer": layer, "head": h, "patterns": s.stats(layer, h, self.thresholds).patterns,
                          "entropy": s.stats(layer, h, self.thresholds).entropy}
                         for layer in self.layers for h in self.heads]}

    def _mini(self, layer, head, rows, cols, colour) -> Text:
        s = self.stack
        m = s.weights[layer, head, rows[0]:rows[1], cols[0]:cols[1]]
        mk = s.mask[rows[0]:rows[1], cols[0]:cols[1]]
        informative = (~mk).sum(1) > 1
        pick = np.where(mk, 0, m)[informative] if informative.any() else np.where(mk, 0, m)
        top = 1.0 if self.scale == "shared" else (float(pick.max()) if pick.size else 0.0) or 1.0
        v = np.where(mk, np.nan, m / top)
        lines = []
        if colour:
            for r in range(0, v.shape[0], 2):
                line = Text(no_wrap=True)
                for c in range(v.shape[1]):
                    a = v[r, c]
                    b = v[r + 1, c] if r + 1 < v.shape[0] else np.nan
                    ch, style = pair_style(None if a != a else a, None if b != b else b)
                    line.append(ch, style)
                lines.append(line)
        else:
            for r in range(v.shape[0]):
                lines.append(Text("".join(" " if x != x else shade(x) for x in v[r]), no_wrap=True))
        return Text("\n").join(lines)

    def __rich_console__(self, console: Console, options: ConsoleOptions):
        s = self.stack
        colour = use_colour(console, self.mode)
        tq, tk = s.weights.shape[2:]
        cols = window_range(tk, self.max_tokens, self.window)
        rows = cols if s.square else window_range(tq, self.max_tokens, self.window)
        n = cols[1] - cols[0]
        head = Text(f"{s.title}: {s.n_layer} layers × {s.n_head} heads", style="bold")
        span = "all" if (cols == (0, tk) and rows == (0, tq)) else f"{cols[0]}–{cols[1] - 1} of {tk}"
        head.append(f" · positions {span} · " + ("each map scaled to its own max" if self.scale == "head"
                                                   else "shared scale 0..1") + " · blank = masked", style="dim")
        yield head
        if cols != (0, tk):
            yield Text(f"window: the {'last' if cols[1] == tk else 'first' if cols[0] == 0 else 'chosen'} {n} "
                       f"positions (max_tokens={self.max_tokens}, window=)", style="italic dim")
        cell_w = max(n, 6)
        per_row = max(1, (options.max_width - 5) // (cell_w + 1))
        for start in range(0, len(self.heads), per_row):
            heads = self.heads[start:start + per_row]
            grid = Table.grid(padding=(0, 1))
            grid.add_column(width=3, no_wrap=True)
            for _ in heads:
                grid.add_column(width=cell_w, no_wrap=True)
            grid.add_row("", *[Text(f"h{h}", style="bold cyan") for h in heads])
            for i, layer in enumerate(self.layers):
                if i:
                    grid.add_row("")                    # a blank line between layers: each caption is its map's
                cells = []
                for h in heads:
                    st = s.stats(layer, h, self.thresholds)
                    mini = self._mini(layer, h, rows, cols, colour)
                    tag = TAG_ABBREV.get(st.patterns[0], st.patterns[0]) if st.patterns else "·"
                    cells.append(Text.assemble((tag, "magenta" if st.patterns else "dim"), "\n", mini))
                grid.add_row(Text(f"L{layer}", style="bold"), *cells)      # the caption on the layer's own line
            yield grid
        abbrev = ", ".join(f"{v} = {k}" for k, v in TAG_ABBREV.items())
        yield Text(f"captions (over each map): its strongest pattern ({abbrev}); · = none", style="dim")

    def figure(self, max_tokens=None):
        """Every layer x head as a grid of small heatmaps (matplotlib), captioned with each head's strongest
        pattern; the last ``max_tokens`` positions (default: the readout's ``max_tokens``). [plots] extra."""
        s = self.stack
        tq, tk = s.weights.shape[2:]
        cols = window_range(tk, max_tokens or self.max_tokens, self.window)
        rows = cols if s.square else window_range(tq, max_tokens or self.max_tokens, self.window)
        captions = {(layer, h): ", ".join(s.stats(layer, h, self.thresholds).patterns[:1])
                    for layer in self.layers for h in self.heads}
        span = "" if (cols == (0, tk) and rows == (0, tq)) else f" · positions {cols[0]}–{cols[1] - 1} of {tk}"
        return heatmap_grid_figure(s.weights[:, :, rows[0]:rows[1], cols[0]:cols[1]],
                                   [display_token(t) for t in s.x_tokens[cols[0]:cols[1]]],
                                   [display_token(t) for t in s.y_tokens[rows[0]:rows[1]]],
                                   mask=s.mask[rows[0]:rows[1], cols[0]:cols[1]], layers=self.layers,
                                   heads=self.heads, captions=captions, scale=self.scale,
                                   title=f"{s.title}: {s.n_layer} layers × {s.n_head} heads{span}")


# ---------------------------------------------------------------- the numbers, per head
class AttentionAnalysis(Readout):
    """A table of every head: entropy (nats), entropy / log n, mean attention on the previous token, itself,
    the next token, the first token, delimiters and its neighbourhood, the pattern tags, and the heaviest
    connections (query → key). The thresholds of the tags are printed under it."""

    def __init__(self, stack: AttentionStack, layers=None, thresholds=None, top_k=2):
        self.stack = stack
        self.layers = list(range(stack.n_layer)) if layers is None else [int(x) for x in np.atleast_1d(layers)]
        self.thresholds = {**THRESHOLDS, **(thresholds or {})}
        self.top_k = top_k

    @property
    def heads(self) -> list[HeadStats]:
        return [self.stack.stats(layer, h, self.thresholds, self.top_k)
                for layer in self.layers for h in range(self.stack.n_head)]

    def to_dict(self) -> dict:
        return {"stack": self.stack.name, "thresholds": dict(self.thresholds), "local_window": LOCAL_WINDOW,
                "heads": [st.to_dict() for st in self.heads]}

    def __rich_console__(self, console: Console, options: ConsoleOptions):
        s = self.stack
        heads = self.heads
        keys = [k for k in ("previous", "self", "next", "first", "delimiter", "local")
                if any(st.mass[k] is not None for st in heads)]           # e.g. no "next" under a causal mask
        limit = {"previous": "previous-token", "self": "self", "next": "next-token", "first": "first-token/sink",
                 "delimiter": "delimiter", "local": "local"}
        table = Table(title=f"{s.title}: per-head analysis", title_justify="left", show_edge=False,
                      pad_edge=False, header_style="bold", box=box.SIMPLE_HEAD, padding=(0, 1))
        table.add_column("L.H", justify="right", no_wrap=True)
        table.add_column("H", justify="right", no_wrap=True)
        table.add_column("H/ln n", justify="right", no_wrap=True)
        for k in keys:
            table.add_column({"previous": "prev", "delimiter": "delim"}.get(k, k), justify="right", no_wrap=True)
        table.add_column("patterns", no_wrap=True)
        inline = options.max_width >= 62 + 7 * len(keys)       # room for the top connections as a column
        if inline:
            table.add_column("top: query→key weight", overflow="fold", min_width=24)
        for st in heads:
            row = [f"{st.layer}.{st.head}", f"{st.entropy:.3f}",
                   "—" if st.normalized_entropy is None else _hi(st.normalized_entropy,
                                                                 self.thresholds["broad/uniform"])]
            for k in keys:
                v = st.mass[k]
                row.append("—" if v is None else _hi(v, self.thresholds[limit[k]]))
            row.append(Text("\n".join(st.patterns) or "—", style="magenta" if st.patterns else "dim"))
            if inline:
                row.append("\n".join(_conn(c, s.x_tokens, s.y_tokens, 8) for c in st.top_connections) or "—")
            table.add_row(*row)
        yield table
        if not inline:
            tops = Table(title="top connections (query → key weight)", title_justify="left", box=box.SIMPLE_HEAD,
                         show_edge=False, pad_edge=False, header_style="bold")
            tops.add_column("L.H", justify="right", no_wrap=True)
            tops.add_column("connections", overflow="fold")
            for st in heads:
                tops.add_row(f"{st.layer}.{st.head}",
                             ",  ".join(_conn(c, s.x_tokens, s.y_tokens, 8) for c in st.top_connections) or "—")
            yield tops
        yield Text("H: entropy in nats, averaged over the query rows that see more than one key; H/ln n: "
                   "entropy relative to uniform attention; masses: mean attention per query row.\n"
                   + thresholds_text(self.thresholds), style="dim")


def _hi(v, limit) -> Text:
    return Text(f"{v:.2f}", style="bold" if v >= limit else "")


# ---------------------------------------------------------------- rollout
class AttentionRollout(AttentionHeatmap):
    """Attention rollout (Abnar & Zuidema, 2020) of a self-attention stack as a heatmap: row i shows how much
    each input token flows into position i after the last layer (heads averaged, identity added for the
    residual stream, rows renormalised, layers multiplied)."""

    def __init__(self, stack: AttentionStack, add_residual=True, head_fusion="mean", **kwargs):
        if not stack.square:
            raise ValueError(f"attention rollout needs a square self-attention stack; {stack.name!r} is "
                             f"{stack.kind}-attention")
        r = attention_rollout(np.where(stack.mask, 0.0, stack.weights), add_residual, head_fusion)
        self.add_residual, self.head_fusion, self.stack_name = add_residual, head_fusion, stack.name
        kwargs.setdefault("title", f"attention rollout of {stack.title} through {stack.n_layer} layers "
                                   f"(heads: {head_fusion}{', + identity' if add_residual else ''})")
        kwargs.setdefault("show_stats", False)
        super().__init__(r, stack.x_tokens, stack.y_tokens, mask=stack.mask, square=True, **kwargs)

    def to_dict(self) -> dict:
        return {"stack": self.stack_name, "method": "rollout (Abnar & Zuidema 2020)",
                "add_residual": self.add_residual, "head_fusion": self.head_fusion,
                "rollout": self.matrix.tolist(), "x_labels": list(self.x_labels), "y_labels": list(self.y_labels)}
