"""The shape of a drawing before Graphviz lays it out: the rank direction, and where a long chain wraps, so
that it fits a 16:9 slide.

``plan(nodes, edges)`` estimates the drawing's width and height — top to bottom (TB) and left to right
(LR), whole or wrapped into 2-4 columns (rows) — from its nodes' labels and its ranks, the way ``dot``
stacks them, and picks the layout that a 16:9 slide shows largest. A chain (an MLP, a model's blocks)
would be a tall strip in TB and a thin ribbon in LR, shrunk to fit; wrapped, it fills the slide. It is an estimate in pure Python, so the DOT source does not depend on whether Graphviz is
installed.
"""

from __future__ import annotations

import math

SLIDE = (13.333, 7.5)         # inches: a 16:9 slide (1280 x 720 at 96 dpi)
SLIDE_ASPECT = SLIDE[0] / SLIDE[1]

_CHAR_W = 0.075               # inches per character at fontsize 10 (Helvetica, average)
_PAD_W, _LINE_H = 0.2, 0.25   # a node's horizontal padding; one text line / record field
_NODESEP, _RANKSEP = 0.25, 0.35
_SEGSEP = 0.6                 # between the columns (rows) of a wrapped drawing
_CONNECTOR = 0.32             # a wrapped drawing's lettered connector (a circle)
_WRAP_PENALTY = 0.08          # what one more column must gain: this fraction of the scale
_SQUARE = 1.15                # a wrapped drawing estimated narrower than this (w / h) may come out portrait


def _fields(label: str) -> list[str]:
    """The fields of a record label ``{a|b|c}`` (escaped ``\\|`` is not a separator)."""
    body = label[1:-1] if label.startswith("{") and label.endswith("}") else label
    out, cur, i = [], "", 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            cur += body[i + 1]
            i += 2
            continue
        if body[i] == "|":
            out.append(cur)
            cur = ""
        else:
            cur += body[i]
        i += 1
    return out + [cur]


def node_size(label: str, shape: str, rankdir: str) -> tuple[float, float]:
    """(width, height) in inches of a node with ``label`` drawn in direction ``rankdir``."""
    label = str(label)
    if shape == "record":
        widths = [len(f) * _CHAR_W + _PAD_W for f in _fields(label)]
        if rankdir in ("LR", "RL"):                       # {a|b|c}: fields side by side
            return sum(widths), _LINE_H + 0.05
        return max(widths), _LINE_H * len(widths)
    if label.startswith("<"):                             # the HTML legend table
        return 2.6, 0.9
    lines = label.split("\\n")
    w = max(len(x) for x in lines) * _CHAR_W + _PAD_W
    if shape == "ellipse":
        w *= 1.25
    return max(w, 0.75), max(_LINE_H * len(lines) + 0.05, 0.3)


def _ranks(ids, edges) -> dict:
    """The rank of every node, edges in the forward direction: as late as possible (the longest path to the
    output, counted back from the last rank), which is where dot puts an input or a side branch — just above
    its user. A node without edges (the legend) is at rank 0; a node on a cycle (a collapsed module can make
    one) keeps the rank it had reached."""
    succ, preds, outdeg = {i: [] for i in ids}, {i: [] for i in ids}, dict.fromkeys(ids, 0)
    for tail, head in edges:
        if tail in succ and head in succ and tail != head:
            succ[tail].append(head)
            preds[head].append(tail)
            outdeg[tail] += 1
    height = dict.fromkeys(ids, 0)                       # longest path to a sink
    todo = [i for i in ids if outdeg[i] == 0]
    while todo:
        v = todo.pop()
        for u in preds[v]:
            height[u] = max(height[u], height[v] + 1)
            outdeg[u] -= 1
            if outdeg[u] == 0:
                todo.append(u)
    top = max(height.values(), default=0)
    return {i: (top - height[i] if succ[i] or preds[i] else 0) for i in ids}


def _extent(sizes, rankdir) -> tuple[float, float]:
    """(along the rank axis, across it) of one rank's node sizes."""
    if rankdir in ("LR", "RL"):
        return max(w for w, _ in sizes), sum(h for _, h in sizes) + _NODESEP * (len(sizes) - 1)
    return max(h for _, h in sizes), sum(w for w, _ in sizes) + _NODESEP * (len(sizes) - 1)


def estimate(nodes, edges, rankdir: str, cuts=()) -> tuple[float, float]:
    """(width, height) in inches of the drawing: ``nodes`` as (id, label, shape[, clusters]), ``edges`` as
    (tail, head); ``cuts``: the ranks where a new column (TB) or row (LR) of the wrapped drawing starts.

    The segments share dot's ranks: rank j of every column is as tall as the tallest node any column has
    there (each later column starts with its connectors, one rank above its first node)."""
    ids = [n[0] for n in nodes]
    rank = _ranks(ids, edges)
    starts = [0, *cuts]

    def where(i):                                        # (segment, rank within it)
        seg = sum(rank[i] >= c for c in cuts)
        return seg, rank[i] - starts[seg] + (1 if seg else 0)

    cells: dict = {}                                     # (segment, local rank) -> node sizes
    top = []                                             # a wrapped drawing's first rank: anchors and legend
    for n in nodes:
        size = node_size(n[1], n[2], rankdir)
        if cuts and not any(t == n[0] or h == n[0] for t, h in edges):
            top.append(size)                             # (a node without edges: the legend)
            continue
        cells.setdefault(where(n[0]), []).append(size)
    for t, h in edges:                                   # an edge between segments: two connectors
        if t in rank and h in rank and where(t)[0] != where(h)[0]:
            seg, local = where(t)
            cells.setdefault((seg, local + 1), []).append((_CONNECTOR, _CONNECTOR))
            cells.setdefault((where(h)[0], 0), []).append((_CONNECTOR, _CONNECTOR))
    along: dict = {}                                     # local rank -> its extent along the rank axis
    across: dict = {}                                    # segment -> its widest rank
    for (seg, local), sizes in cells.items():
        a, b = _extent(sizes, rankdir)
        along[local] = max(along.get(local, 0.0), a)
        across[seg] = max(across.get(seg, 0.0), b)
    if cuts:
        along[-1] = max([_extent(top, rankdir)[0]] if top else [0.0])
    length = sum(along.values()) + _RANKSEP * (len(along) - 1)
    breadth = sum(across.values()) + _SEGSEP * (len(across) - 1)
    return (length, breadth) if rankdir in ("LR", "RL") else (breadth, length)


def _allowed_cuts(nodes, rank) -> list[int]:
    """Ranks where the drawing may wrap: no module cluster (other than the model's own, "", which a wrapped
    drawing leaves out) has nodes on both sides, so every cluster box stays within one column."""
    n_ranks = max(rank.values(), default=0) + 1
    span: dict = {}
    for n in nodes:
        for q in (n[3] if len(n) > 3 else ()):
            if q != "":
                lo, hi = span.get(q, (n_ranks, -1))
                span[q] = (min(lo, rank[n[0]]), max(hi, rank[n[0]]))
    return [r for r in range(1, n_ranks) if not any(lo < r <= hi for lo, hi in span.values())]


def _crossings(edges, rank, r) -> int:
    return sum((rank.get(t, 0) < r) != (rank.get(h, 0) < r) for t, h in edges)


def _cuts(allowed, n_ranks, k, edges, rank) -> tuple:
    """k - 1 allowed cut ranks near the even split of ``n_ranks`` into k segments, preferring few edges across
    (each becomes a pair of connectors); fewer if there are not enough."""
    out = []
    for j in range(1, k):
        ideal = n_ranks * j / k
        options = [r for r in allowed if (not out or r > out[-1] + 1) and r < n_ranks - 1]
        if not options:
            break
        out.append(min(options, key=lambda r: abs(r - ideal) / n_ranks + 0.08 * _crossings(edges, rank, r)))
    return tuple(out)


def plan(nodes, edges, slide=SLIDE, max_segments: int = 4) -> tuple[str, dict]:
    """The layout that shows the drawing largest on a ``slide`` (16:9): (rankdir "TB" or "LR", {node id:
    segment}). A drawing that fits as it is stays whole (TB unless LR fits better); a long chain that would
    have to shrink is wrapped into segments — columns side by side (TB) or rows one under the other (LR) — at
    ranks no module cluster spans, if that lets it be drawn bigger. The painter draws each edge between
    segments as a pair of lettered connectors, so each segment is laid out on its own. Each extra segment
    must earn its place (it costs 8% of the scale)."""
    ids = [n[0] for n in nodes]
    rank = _ranks(ids, edges)
    n_ranks = max(rank.values(), default=0) + 1
    allowed = _allowed_cuts(nodes, rank)
    best = None
    for k in range(1, max_segments + 1):
        for rankdir in ("TB", "LR"):
            cuts = _cuts(allowed, n_ranks, k, edges, rank)
            if len(cuts) != k - 1:
                continue
            w, h = estimate(nodes, edges, rankdir, cuts)
            scale = min(1.0, slide[0] / max(w, 1e-3), slide[1] / max(h, 1e-3)) * (1 - _WRAP_PENALTY * (k - 1))
            if k > 1 and w / max(h, 1e-3) < _SQUARE:     # the estimate is good to ~10%: wrapped, keep clear of
                scale *= 1 - _WRAP_PENALTY               # portrait (a wrap is chosen to make a slide landscape)
            miss = abs(math.log(max(w, 1e-3) / max(h, 1e-3)) - math.log(slide[0] / slide[1]))
            score = (round(scale, 3), -miss if scale >= 1 else 0.0)    # bigger first; then nearer 16:9
            if best is None or score > best[0]:
                best = (score, rankdir, cuts)
    _, rankdir, cuts = best
    segment = {i: sum(rank[i] >= c for c in cuts) for i in ids}
    return rankdir, segment


def choose_rankdir(nodes, edges, aspect: float = SLIDE_ASPECT) -> str:
    """"TB" or "LR" without wrapping: the direction whose estimated width / height is nearer ``aspect``."""
    def miss(rankdir):
        w, h = estimate(nodes, edges, rankdir)
        return abs(math.log(max(w, 1e-3) / max(h, 1e-3)) - math.log(aspect))
    return "LR" if miss("LR") < miss("TB") else "TB"


# ---------------------------------------------------------------- drawing a wrapped layout
def connector_name(i: int) -> str:
    """A, B, ..., Z, AA, AB, ...: the letters of a wrapped drawing's connectors."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def emit_edges(g, drawn, segment, order, reverse=False, legend=False, grey="#8c8c8c"):
    """Add ``drawn`` ((tail, head, attrs) in the drawing's direction) to the Digraph ``g``. In a wrapped drawing
    (``segment``: node id -> column) an edge between two columns becomes a pair of lettered connectors — the
    end of one column, the start of the next — so each column is laid out on its own; each column hangs from
    an invisible anchor, the anchors side by side in reading order (``order``: the node ids in reading order;
    ``reverse``: the last column is read first, as in a backward view; a column starts at its connectors, the
    first one read at its first node without an edge into it)."""
    seg = dict(segment)
    out, n = [], 0
    for tail, head, attrs in drawn:
        if seg.get(tail, 0) == seg.get(head, 0):
            out.append((tail, head, attrs))
            continue
        letter = connector_name(n)
        a, b = f"wrap{n}a", f"wrap{n}b"
        n += 1
        style = dict(shape="circle", label=letter, fixedsize="true", width=f"{_CONNECTOR:g}", fontsize="10",
                     style="filled", fillcolor="#ffffff", color=grey, tooltip=f"continues at {letter}")
        g.node(a, **style)
        g.node(b, **style)
        seg[a], seg[b] = seg.get(tail, 0), seg.get(head, 0)
        out.append((tail, a, attrs))
        out.append((b, head, {k: v for k, v in attrs.items() if k != "label"}))
    for tail, head, attrs in out:
        g.edge(tail, head, **attrs)
    n_seg = max(seg.values(), default=0) + 1
    if n_seg < 2:
        return
    starts, entered = {}, {h for _, h, _ in out}
    for node, j in seg.items():
        if node.startswith("wrap") and node.endswith("b"):
            starts.setdefault(j, []).append(node)
    for j in range(n_seg):
        if j not in starts:
            first = next((v for v in order if seg.get(v, 0) == j and v not in entered), None)
            starts[j] = [first] if first is not None else []
    columns = list(range(n_seg))[::-1] if reverse else list(range(n_seg))
    with g.subgraph() as row:
        row.attr(rank="same")
        for j in columns:
            row.node(f"column{j}", label="", shape="point", style="invis", width="0")
        if legend and "legend" in seg:
            row.node("legend")                   # the legend beside the anchors, not in a rank of its own
    for j, k in zip(columns, columns[1:]):
        g.edge(f"column{j}", f"column{k}", style="invis")
    for j in columns:
        for node in starts[j]:
            g.edge(f"column{j}", node, style="invis")


def slide_size(size):
    """(width, height) in inches from draw_graph's ``size=``: "slide", None or a pair."""
    if size == "slide":
        return SLIDE
    if size is None:
        return None
    try:
        w, h = (float(x) for x in size)
    except (TypeError, ValueError):
        w = h = float("nan")
    if not (w > 0 and h > 0 and math.isfinite(w) and math.isfinite(h)):
        raise ValueError(f"draw_graph: size must be 'slide', None or (width, height) in inches, got {size!r}")
    return w, h
