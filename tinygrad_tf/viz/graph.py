"""Computation graphs as Graphviz drawings, read from the engine's own graph.

    import tinygrad_tf as tg
    from tinygrad_tf import viz
    a = tg.tensor(2.0, requires_grad=True); a.name = "a"
    b = tg.tensor(-3.0, requires_grad=True); b.name = "b"
    L = (a * b + a).tanh(); L.backward()
    g = viz.draw_graph(L)                  # a graphviz.Digraph: shows itself in Jupyter
    viz.render(g, "L.svg")                 # SVG / PNG / PDF (writes L.dot if Graphviz's `dot` is missing)

Op nodes are ellipses (the op's class name); tensors are records (name, shape, dtype,
device, and ``data | grad`` when they are tiny). After ``backward()`` every tensor with a
gradient is filled by log10 of its gradient norm on the viridis scale (legend node);
NaN / inf gradients get a red border and a label, all-zero gradients a dashed orange one.
For models, build the graph inside ``viz.trace(model)``: nodes are then grouped by module,
``depth=`` collapses deep modules, identical siblings (``blocks.0 .. blocks.11``) fold into one
"Block x 12" node, and ``max_nodes`` keeps big graphs legible. ``view="backward"`` reverses
the edges (gradient flow); ``backward_steps`` yields one frame per node in backward's order.
"""

from __future__ import annotations

import math

import graphviz
import numpy as np

from .. import backend
from .graph_layout import SLIDE, emit_edges, plan, slide_size
from .graph_model import EngineGraph, choose_view
from .graph_record import GradStat, capture_grads, parent_path, path_chain, trace
from .graph_render import INSTALL_HINT, GraphDrawing, render

__all__ = ["draw_graph", "backward_steps", "render", "trace", "capture_grads", "GraphDrawing", "GradStat",
           "INSTALL_HINT"]

# viridis (matplotlib's, sampled at 0, 0.1, ..., 1): perceptually uniform, readable in greyscale
_VIRIDIS = ["#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c",
            "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725"]

_FILL = {"op": "#f2f2f2", "param": "#dbe9f6", "leaf": "#fdf2d0", "value": "#ffffff", "root": "#d9f0d3",
         "group": "#e8e8f0", "const": "#f4f4f4"}
_GREY = "#8c8c8c"
_RED, _ORANGE = "#d62728", "#ff7f0e"


def viridis(t: float) -> str:
    """Colour at ``t`` in [0, 1] on the viridis scale, as "#rrggbb"."""
    t = min(1.0, max(0.0, float(t))) * (len(_VIRIDIS) - 1)
    i = min(int(t), len(_VIRIDIS) - 2)
    f = t - i
    a, b = _VIRIDIS[i], _VIRIDIS[i + 1]
    rgb = [round(int(a[k:k + 2], 16) * (1 - f) + int(b[k:k + 2], 16) * f) for k in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in rgb)


# ---------------------------------------------------------------- text: escaping and formatting
def escape_record(text) -> str:
    """One field of a record label: backslash, quotes, ``{ } | < >`` escaped, control characters made spaces."""
    s = "".join(c if c.isprintable() else " " for c in str(text))
    s = s.replace("\\", "\\\\")
    for ch in '"{}|<>':
        s = s.replace(ch, "\\" + ch)
    return s


def escape_text(text) -> str:
    """One line of a plain (non-record) label: backslash and quotes escaped."""
    s = "".join(c if c.isprintable() else " " for c in str(text))
    return s.replace("\\", "\\\\").replace('"', '\\"')


def _lines(*lines) -> str:
    return graphviz.nohtml("\\n".join(escape_text(x) for x in lines if x))


def _record(fields) -> str:
    # {a|b|c} stacks the fields top to bottom in a TB graph and left to right in an LR one (micrograd's look)
    return graphviz.nohtml("{" + "|".join(escape_record(f) for f in fields if f) + "}")


def fmt_shape(shape) -> str:
    return str(tuple(int(s) for s in shape))


def _fmt_num(x) -> str:
    return f"{float(x):.4g}"


def _fmt_values(arr) -> str:
    a = np.asarray(arr)
    if a.ndim == 0:
        return _fmt_num(a)
    flat = a.astype(np.float64).ravel() if a.dtype.kind != "b" else a.ravel()
    body = ", ".join(_fmt_num(x) if a.dtype.kind != "b" else str(bool(x)) for x in flat)
    return f"[{body}]"


def _fmt_count(n: int) -> str:
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.3g}{unit}"
    return str(n)


def _values_limit(show_values):
    if show_values == "auto":
        return 4
    if show_values is True:
        return 16
    if show_values in (False, None):
        return 0
    raise ValueError(f"draw_graph: show_values must be 'auto', True or False, got {show_values!r}")


# ---------------------------------------------------------------- drawing
class _Painter:
    """Turns a View into DOT: node labels and styles, clusters, edges, legend."""

    def __init__(self, eg, view, *, direction, rankdir, title, show_values, size=SLIDE):
        self.eg, self.view, self.direction, self.rankdir, self.title = eg, view, direction, rankdir, title
        self.size = size
        self.limit = _values_limit(show_values)
        self.stats = {v.id: self._grad_of(v) for v in view.nodes}
        self.consumers = {a.id: [] for a in eg.atoms}            # tensor atom -> the ops that use it
        for e in eg.edges:
            if e.carries_grad:
                self.consumers[e.src.id].append(e.dst.id)
        norms = [s.norm for s in self.stats.values() if s is not None and s.flag is None]
        self.lo = math.log10(min(norms)) if norms else None
        self.hi = math.log10(max(norms)) if norms else None
        self.segment = {}                     # node id -> column (TB) / row (LR) of a wrapped drawing
        if self.rankdir == "auto":
            self.rankdir, self.segment = self._slide_plan()
        self.wrapped = any(self.segment.values())

    def _slide_plan(self):
        """TB or LR, and where a long chain wraps, so that the drawing's shape is near a 16:9 slide."""
        nodes = []
        for v in self.view.nodes:
            label, attrs = self.node(v)
            nodes.append((v.id, str(label), attrs.get("shape", "ellipse"), tuple(path_chain(v.cluster))))
        if self.lo is not None:
            nodes.append(("legend", "<legend>", "plaintext", ()))
        return plan(nodes, [(e.src.id, e.dst.id) for e in self.view.edges])
    # -------------------------------------------------- gradients
    def _grad_of(self, v):
        if v.kind in ("leaf", "value"):
            return v.atoms[0].grad
        if v.kind == "op":
            return None if self.view.records else v.atoms[0].grad
        if v.kind == "group":
            seen, params, flags = set(), [], []
            for a in v.atoms:
                if a.grad is None:
                    continue
                flags.append(a.grad)
                if a.kind == "leaf" and id(a.tensor) not in seen:
                    seen.add(id(a.tensor))
                    params.append(a.grad)
            if not flags:
                return None
            norm = GradStat.combine(params).norm if params else None
            nan, inf = any(s.nan for s in flags), any(s.inf for s in flags)
            if norm is None and not (nan or inf):
                return None
            return GradStat(norm if norm is not None else 0.0, nan, inf, ())
        return None

    def _t(self, norm):
        if self.hi is None or self.hi == self.lo:
            return 0.5
        return (math.log10(norm) - self.lo) / (self.hi - self.lo)

    def _grad_style(self, stat, attrs):
        if stat is None:
            return None
        if stat.flag in ("NaN", "inf"):
            attrs.update(color=_RED, penwidth="3")
            return f"{stat.flag} in grad!"
        if stat.flag == "zero":
            attrs.update(color=_ORANGE, penwidth="2", style=attrs.get("style", "filled") + ",dashed")
            return "grad is all zero"
        t = self._t(stat.norm)
        attrs.update(fillcolor=viridis(t), fontcolor="white" if t < 0.6 else "black")
        return None

    # -------------------------------------------------- node labels
    def _tensor_fields(self, a, stat, hide_grad=False):
        t = a.tensor
        name = a.name if a.name is not None else ("output" if a.is_root and a.kind == "value" else None)
        if a.constant:                                  # an input that needs no gradient: data, targets, masks
            small = t is not None and 0 < t.numel() <= self.limit
            return [name, f"{fmt_shape(a.shape)} {a.dtype} {a.device}",
                    "data " + _fmt_values(backend.to_numpy(t.data)) if small else None, "no grad"]
        if name is not None and a.aliases:
            name = f"{name} (tied: {', '.join(a.aliases)})"
        fields = [name, f"{fmt_shape(a.shape)} {a.dtype} {a.device}"]
        small = t is not None and 0 < t.numel() <= self.limit
        if small:
            fields.append("data " + _fmt_values(backend.to_numpy(t.data)))
        n = int(np.prod(a.shape)) if a.shape else 1
        if stat is not None and stat.values is not None and n <= self.limit:
            fields.append("grad " + _fmt_values(stat.values.reshape(a.shape)))
        elif stat is not None and stat.flag is None:
            fields.append(f"grad norm {stat.norm:.3g}")
        elif stat is None and small and a.kind == "leaf" and t.requires_grad and not hide_grad:
            fields.append("grad None")
        return fields

    def node(self, v, state=None, known=None):
        """Label and attributes; ``state`` / ``known`` (atoms whose gradient is complete) in a backward step."""
        attrs = {}
        stat = self.stats[v.id]
        a = v.atoms[0] if v.atoms else None
        if v.kind in ("leaf", "value") and a.constant:
            attrs.update(shape="record", style="filled,dashed", fillcolor=_FILL["const"], color=_GREY,
                         fontcolor="#444444")
            label = _record(self._tensor_fields(a, None))
            tip = f"{a.name or 'input'} {fmt_shape(a.shape)} {a.dtype} {a.device}: needs no gradient"
        elif v.kind in ("leaf", "value"):
            kind = "root" if a.is_root else ("param" if a.kind == "leaf" and a.is_param else a.kind)
            attrs.update(shape="record", style="filled", fillcolor=_FILL[kind])
            flag = self._grad_style(stat, attrs) if state is None else None
            hide = known is not None and a.id not in known          # not reached by backward yet
            label = _record(self._tensor_fields(a, None if hide else stat, hide) + [flag])
            tip = f"{a.name or ''} {fmt_shape(a.shape)} {a.dtype} {a.device}"
        elif v.kind == "op":
            attrs.update(shape="ellipse", style="filled", fillcolor=_FILL["op"])
            flag = self._grad_style(stat, attrs) if state is None else None
            lines = [a.name] if self.view.records else [a.name, fmt_shape(a.shape)]
            label = _lines(*lines, flag)
            tip = f"{a.name} -> {fmt_shape(a.shape)} {a.dtype} {a.device}" + (
                f" in {a.module or self.eg.types.get('', 'model')}" if a.module is not None else "")
        elif v.kind == "group":
            attrs.update(shape="box3d" if len(v.paths) > 1 else "box", style="rounded,filled",
                         fillcolor=_FILL["group"])
            flag = self._grad_style(stat, attrs) if state is None else None
            label = _lines(*self._group_lines(v, stat), flag)
            tip = ", ".join(v.paths) if len(v.paths) <= 3 else f"{v.paths[0]} ... {v.paths[-1]}"
        else:                                             # "more": what max_nodes left out
            attrs.update(shape="note", style="filled", fillcolor="#ffffff", color="#999999")
            label = _lines(f"... {v.hidden} more nodes", "(max_nodes)")
            tip = "nodes left out to stay within max_nodes"
        if state == "current":
            attrs.update(style="filled", fillcolor="#ffd54f", color=_RED, penwidth="3", fontcolor="black")
        elif state == "done":
            attrs.update(style="filled", fillcolor="#d9d9d9", fontcolor="#555555", color="#777777")
        elif state == "todo":
            attrs.update(style="filled", fillcolor="#ffffff", fontcolor="black")
        attrs["tooltip"] = graphviz.nohtml(escape_text(tip.strip()))
        return label, attrs

    def _group_lines(self, v, stat):
        first, n = v.paths[0], len(v.paths)
        kind = v.type_name or (first.rpartition(".")[2] if first else "model")
        if n > 1:
            head, _, i0 = first.rpartition(".")
            where = f"{head}.{i0}-{v.paths[-1].rpartition('.')[2]}" if head else f"{i0}-{v.paths[-1]}"
            title = f"{kind} x {n}"
        else:
            where, title = first, kind
        ops = sum(a.kind == "op" for a in v.atoms)
        seen, params = set(), 0
        for a in v.atoms:
            if a.kind == "leaf" and not a.constant and id(a.tensor) not in seen:
                seen.add(id(a.tensor))
                params += int(np.prod(a.shape)) if a.shape else 1
        counts = f"{ops} ops" + (f", {_fmt_count(params)} params" if params else "")
        grad = f"param grad norm {stat.norm:.3g}" if stat is not None and stat.flag is None else None
        return [title, where if where else None, counts, grad]

    # -------------------------------------------------- the whole graph
    def draw(self, step=None) -> GraphDrawing:
        """``step``: (current op Atom, set of visited op atom ids) for a backward_steps frame."""
        view = self.view
        label = [self.title] + list(view.notes)
        states, known = {}, None
        if step is not None:
            cur, done = step
            finished = done | {cur.id}
            known = {k for k, ops in self.consumers.items() if all(o in finished for o in ops)}
            doing = f"{cur.name}.backward" + (f" (in {cur.module or self.eg.types.get('', 'model')})"
                                              if cur.module is not None else "")
            label.insert(1, f"backward step {len(done) + 1}/{len(self.eg.ops)}: {doing}")
            for v in view.nodes:
                ops = [a.id if a.kind == "op" else a.op.id for a in v.atoms if a.kind in ("op", "value")]
                if view.owner[cur.id] is v:
                    states[v.id] = "current"
                elif ops and all(o in done for o in ops):
                    states[v.id] = "done"
                else:
                    states[v.id] = "todo"
        graph_attr = {"rankdir": self.rankdir, "fontname": "Helvetica", "fontsize": "12", "labelloc": "t",
                      "nodesep": "0.25", "ranksep": "0.35"}
        if self.size is not None:                # at most this many inches: dot scales a bigger drawing down
            graph_attr["size"] = f"{self.size[0]:g},{self.size[1]:g}"
        if any(label):
            graph_attr["label"] = _lines(*label)
        g = GraphDrawing("tinygrad_tf", graph_attr=graph_attr,
                         node_attr={"fontname": "Helvetica", "fontsize": "10", "height": "0.3"},
                         edge_attr={"fontname": "Helvetica", "fontsize": "9",
                                    "color": "#555555" if self.direction == "forward" else "#1f77b4"})
        self._emit_tree(g, states, known)
        cur_v = view.owner[step[0].id] if step is not None else None
        drawn = []                              # (tail, head, attrs) of every edge
        for e in view.edges:
            attrs = {}
            if e.constant:                      # no gradient goes back along it: drawn the forward way, dashed
                drawn.append((e.src.id, e.dst.id, dict(style="dashed", color=_GREY, **(
                    {"dir": "none"} if self.direction == "backward" else {}))))
                continue
            if self.direction == "forward":
                if e.src.kind == "group":
                    attrs["label"] = self._shapes(e.shapes, sums=False)
                tail, head = e.src.id, e.dst.id
            else:
                if e.carries_grad and e.src.kind != "more":
                    attrs["label"] = self._shapes(e.shapes, sums=True)
                tail, head = e.dst.id, e.src.id
                if cur_v is not None and e.dst is cur_v and e.carries_grad:
                    attrs.update(color=_RED, penwidth="2.5", fontcolor=_RED)
            drawn.append((tail, head, attrs))
        nodes = view.nodes if self.direction == "forward" else view.nodes[::-1]
        emit_edges(g, drawn, self.segment, [v.id for v in nodes], reverse=self.direction == "backward",
                   legend=self.lo is not None, grey=_GREY)
        if self.lo is not None and step is None:
            g.node("legend", self._legend(), shape="plaintext")
        g.summary = {"ops": len(self.eg.ops), "nodes": len(view.nodes), "depth": view.depth,
                     "records": view.records, "notes": list(view.notes)}
        if step is not None:
            g.summary["step"] = doing           # what this frame of backward_steps shows (viz.play's caption)
        return g

    @staticmethod
    def _shapes(shapes, sums):
        """An edge's label: its tensor shapes; backward also says where a broadcast gradient was summed."""
        parts = []
        for shape, summed in shapes:
            text = fmt_shape(shape) + (f" (summed from {fmt_shape(summed)})" if sums and summed else "")
            if text not in parts:
                parts.append(text)
        parts = parts[:3] + (["..."] if len(parts) > 3 else [])
        return graphviz.nohtml(escape_text(" ".join(parts)))

    def _emit_tree(self, g, states, known):
        view = self.view
        children, ids = {}, {}
        for v in view.nodes:
            chain = path_chain(v.cluster)
            for q in chain:
                parent = parent_path(q) if q != "" else None
                if q not in ids:
                    ids[q] = f"cluster_{len(ids)}"
                    children.setdefault(parent, []).append(("cluster", q))
            children.setdefault(v.cluster, []).append(("node", v))

        def emit(container, key):
            for kind, item in children.get(key, []):
                if kind == "node":
                    label, attrs = self.node(item, states.get(item.id), known)
                    container.node(item.id, label, **attrs)
                elif item == "" and self.wrapped:   # the model's own box would hold every column: left out
                    emit(container, item)
                else:
                    with container.subgraph(name=ids[item]) as sub:
                        tname = view.clusters.get(item, "")
                        text = (tname or "model") if item == "" else (f"{item} ({tname})" if tname else item)
                        sub.attr(label=_lines(text), style="rounded,dashed", color="#9a9a9a", fontsize="10",
                                 fontcolor="#555555", labeljust="l")
                        emit(sub, item)
        emit(g, None)

    def _legend(self) -> str:
        k = 5 if self.hi != self.lo else 1
        cells = []
        for i in range(k):
            t = i / (k - 1) if k > 1 else 0.5
            val = 10 ** (self.lo + (self.hi - self.lo) * (i / (k - 1) if k > 1 else 0))
            font = "white" if t < 0.6 else "black"
            cells.append(f'<td bgcolor="{viridis(t)}"><font color="{font}">{val:.2g}</font></td>')
        return (f'<<table border="0" cellborder="1" cellspacing="0" cellpadding="3">'
                f'<tr><td colspan="{k}">gradient norm (log scale)</td></tr><tr>{"".join(cells)}</tr>'
                f'<tr><td colspan="{k}"><font color="{_RED}">red border: NaN/inf</font>, '
                f'<font color="{_ORANGE}">dashed: zero</font></td></tr></table>>')


def _check(view, rankdir, max_nodes, depth):
    if view not in ("forward", "backward"):
        raise ValueError(f"draw_graph: view must be 'forward' or 'backward', got {view!r}")
    if rankdir not in ("auto", "TB", "LR", "BT", "RL"):
        raise ValueError(f"draw_graph: rankdir must be 'auto', 'TB' or 'LR', got {rankdir!r}")
    if max_nodes is not None and (not isinstance(max_nodes, int) or max_nodes < 2):
        raise ValueError(f"draw_graph: max_nodes must be an int >= 2 or None, got {max_nodes!r}")
    if depth is not None and (not isinstance(depth, int) or depth < 0):
        raise ValueError(f"draw_graph: depth must be an int >= 0 or None, got {depth!r}")


def _painter(tensor, params, model, view, depth, expand, max_nodes, show_values, rankdir, title, show_tensors,
             size="slide"):
    _check(view, rankdir, max_nodes, depth)
    size = slide_size(size)
    if show_tensors not in ("auto", "all", "none", True, False):
        raise ValueError(f"draw_graph: show_tensors must be 'auto', 'all' or 'none', got {show_tensors!r}")
    _values_limit(show_values)
    eg = EngineGraph(tensor, params=params, model=model)
    v = choose_view(eg, depth=depth, expand=expand, max_nodes=max_nodes,
                    show_tensors="none" if show_tensors is False else show_tensors)
    if model is not None and not eg.traced and eg.ops:
        v.notes.append("ops are not grouped by module: build the graph inside `with viz.trace(model):`")
    return _Painter(eg, v, direction=view, rankdir=rankdir, title=title, show_values=show_values, size=size)


def draw_graph(tensor, params=None, model=None, view="forward", depth=None, expand=None, max_nodes=300,
               show_values="auto", rankdir="auto", title=None, show_tensors="auto", size="slide") -> GraphDrawing:
    """Draw the graph that produced ``tensor`` (a ``graphviz.Digraph``; ``viz.render`` writes SVG/PNG/PDF).

    params        names for tensors: {name: tensor} or tensors with ``.name`` set (matched by identity;
                  intermediates too, which then show their values)
    model         a Module: its ``named_parameters()`` name the leaves and place them in module clusters;
                  ops are placed by module when the forward ran inside ``viz.trace(model)``
    view          "forward" (inputs -> output) or "backward" (reversed: gradient flow, labelled with shapes)
    depth         levels of modules drawn open: a module ``depth`` levels down (counting "blocks" and
                  "blocks.3" as two) is drawn as one node, its insides folded in; 0: the model is one node
    expand        a module path (or several) to draw in full inside a collapsed region, e.g. "blocks.3"
    max_nodes     past this many nodes, collapse further (then keep the nodes nearest the output); None: no limit
    show_values   "auto": data/grad values of tensors with <= 4 elements; True: <= 16; False: never
    rankdir       "auto": TB (top to bottom) or LR, whichever gives the drawing a shape nearer a 16:9 slide;
                  or "TB" / "LR"
    title         a line on top of the drawing
    show_tensors  "auto": a record per intermediate tensor when there are <= 40 op nodes, else the shape is
                  written in each op node; "all" / "none" to force
    size          "slide": at most 13.33 x 7.5 inches (a 16:9 slide; a bigger drawing is scaled down to fit);
                  (width, height) in inches; None: Graphviz's natural size

    Inputs that need no gradient (data, targets, masks) are drawn as dashed grey leaves when the engine
    records them; intermediates show their values when the tensor is known (named through ``params``), and
    their gradients after a backward inside ``viz.capture_grads``.
    """
    return _painter(tensor, params, model, view, depth, expand, max_nodes, show_values, rankdir, title,
                    show_tensors, size).draw()


def backward_steps(tensor, params=None, model=None, view="backward", depth=None, expand=None, max_nodes=300,
                   show_values="auto", rankdir="auto", title=None, show_tensors="auto", size="slide"):
    """Yield the backward pass one node at a time: a drawing per op node, in the order ``backward()`` visits
    them (reverse topological), the current node highlighted and the visited ones greyed out.

        for frame in viz.backward_steps(loss):
            display(frame)                       # or viz.render(frame, f"step{i}.svg")
    """
    p = _painter(tensor, params, model, view, depth, expand, max_nodes, show_values, rankdir, title, show_tensors,
                 size)
    done = set()
    for op in reversed(p.eg.ops):
        yield p.draw(step=(op, done))
        done.add(op.id)


