"""What a graph drawing is made of: the engine's graph as atoms (ops, leaves, op outputs) with names,
module paths and gradients, and the choice of what is drawn (clusters, collapsed modules, folded
repeats, the node budget). ``graph.py`` turns a View into DOT; ``graph_record.py`` holds what
``trace`` / ``capture_grads`` recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..tensor import Tensor
from .graph_record import (_GRAD_OF, _MODULE_OF, _OUTPUT_NAME, GradStat, _named_parameters, module_of_param, parent_path,
                           path_chain, path_depth, topological_order)

# ops that broadcast their inputs: backward's gradient has the output's shape and the engine sums it back
BROADCASTING = frozenset(("Add", "Sub", "Mul", "Div", "Pow", "Maximum", "Minimum", "Where", "MaskedFill", "Expand"))
RECORDS_MAX_OPS = 40      # show_tensors="auto": one record per intermediate tensor up to this many op nodes


# ---------------------------------------------------------------- the atoms: one per node of the engine's graph
@dataclass(eq=False)
class Atom:
    id: str
    kind: str                       # "op" | "leaf" | "value" (an op's output tensor)
    module: object = None           # module path ("" = the model itself) or None (outside any module)
    name: object = None             # op name (op) or tensor name (leaf / value), None if unnamed
    shape: tuple = ()
    dtype: str = ""
    device: str = ""
    tensor: object = None           # the Tensor, when we have it (leaves, the output, named intermediates)
    grad: object = None             # GradStat
    node: object = None             # the engine's graph node (op / value)
    op: object = None               # value: its op Atom
    aliases: tuple = ()             # a tied leaf's other names
    is_param: bool = False
    is_root: bool = False
    constant: bool = False          # leaf: an input that needs no gradient (data, targets, masks, ids)
    index: int = 0                  # op: position in forward topological order


@dataclass(eq=False)
class AtomEdge:
    src: Atom
    dst: Atom
    shape: tuple
    carries_grad: bool              # an input -> op edge: backward sends a gradient back along it
    summed_from: object = None      # a broadcast input: the engine sums the op's gradient of this shape back
    slot: object = None             # which input of the op (x * x draws two edges)
    constant: bool = False          # from an input that needs no gradient: no gradient goes back along it


def _shape_of(t):
    return tuple(int(s) for s in t.shape)


def _constant_input(node, slot):
    """(the Tensor or None, its (shape, dtype) or None) of input ``slot`` of ``node`` when that input needs no
    gradient. The engine records such an input's (shape, dtype) in ``node.in_meta[slot]`` (``next[slot]`` is
    None: no gradient goes back) and may keep a weak reference to it in ``node.in_refs[slot]``; a slot with
    neither was not a Tensor (an axis, an exponent)."""
    meta = node.in_meta[slot] if slot < len(node.in_meta) else None
    refs = getattr(node, "in_refs", None)
    ref = refs[slot] if refs is not None and slot < len(refs) else None
    t = ref() if callable(ref) and not isinstance(ref, Tensor) else ref
    return (t if isinstance(t, Tensor) else None), meta


class EngineGraph:
    """The engine's graph behind ``root`` as atoms and edges, with names, module paths and gradients."""

    def __init__(self, root: Tensor, params=None, model=None):
        if not isinstance(root, Tensor):
            raise TypeError(f"draw_graph: expected a Tensor, got {type(root).__name__}")
        self.root = root
        self.atoms: list[Atom] = []
        self.edges: list[AtomEdge] = []
        self.ops: list[Atom] = []
        self.types: dict = {}
        nodes = topological_order(root.grad_fn) if root.grad_fn is not None else []
        infos = []
        for n in nodes:
            rec = _MODULE_OF.get(n)
            if rec is not None and all(rec[1] is not i for i in infos):
                infos.append(rec[1])
        self.traced = bool(infos)
        names, mpaths = self._names(params, model, infos)

        leaves = {}                                          # id(tensor) -> Atom (tensor kept alive by the Atom)

        def leaf(t, constant=False, module=None):
            a = leaves.get(id(t))
            if a is None:
                given = names.get(id(t), (None, []))[1]
                label = given[0] if given else t.name
                mpath = mpaths.get(id(t))
                a = Atom(f"in{len(leaves)}", "leaf", module=mpath if mpath is not None or not constant else module,
                         name=label, shape=_shape_of(t), dtype=str(t.dtype), device=str(t.device), tensor=t,
                         aliases=tuple(given[1:]), is_param=not constant and (mpath is not None or bool(given)),
                         grad=GradStat.of(t.grad.data) if t.grad is not None else None,
                         is_root=t is root, constant=constant)
                leaves[id(t)] = a
                self.atoms.append(a)
            return a

        def constant(t, meta, module, device):
            """An input that needs no gradient: drawn where its first user is (so it folds with that module)."""
            if t is not None:
                return leaf(t, constant=True, module=module)
            a = Atom(f"in{len(leaves)}", "leaf", module=module, shape=tuple(int(d) for d in meta[0]),
                     dtype=str(np.dtype(meta[1])), device=str(device), constant=True)
            leaves[("anonymous", len(leaves))] = a
            self.atoms.append(a)
            return a

        if root.grad_fn is None:
            leaf(root)
            return
        value_of = {}                                        # graph node -> its value Atom
        for i, n in enumerate(nodes):
            rec = _MODULE_OF.get(n)
            module = rec[0] if rec is not None else None
            inputs = []
            for j, (src, meta) in enumerate(zip(n.next, n.in_meta)):
                if src is None:
                    t, meta = _constant_input(n, j)
                    if t is not None or meta is not None:
                        inputs.append((constant(t, meta, module, n.device), None, j, meta))
                    continue
                inputs.append((leaf(src) if isinstance(src, Tensor) else None, src, j, meta))
            op = Atom(f"op{i}", "op", module=module, name=type(n).__name__, shape=tuple(n.out_shape),
                      dtype=str(n.out_dtype), device=str(n.device), node=n, index=i, grad=_GRAD_OF.get(n))
            self.ops.append(op)
            self.atoms.append(op)
            named = names.get(n)
            t = root if n is root.grad_fn else (named[0] if named else None)
            val = Atom(f"v{i}", "value", module=module, name=(named[1][0] if named else None) or
                       (t.name if t is not None else None) or _OUTPUT_NAME.get(n), shape=op.shape, dtype=op.dtype, device=op.device,
                       tensor=t, grad=op.grad, node=n, op=op, is_root=n is root.grad_fn)
            if val.grad is None and t is not None and t.grad is not None:    # retain_grad()
                val.grad = op.grad = GradStat.of(t.grad.data)
            self.atoms.append(val)
            op.op = val                                     # an op's output tensor (for labels)
            for src_leaf, src, j, meta in inputs:
                shape = tuple(meta[0]) if meta else src_leaf.shape
                src_atom = src_leaf if src_leaf is not None else value_of[src]
                if src is None:                             # an input that needs no gradient
                    self.edges.append(AtomEdge(src_atom, op, shape, False, None, j, constant=True))
                    continue
                summed = op.shape if op.name in BROADCASTING and shape != op.shape else None
                self.edges.append(AtomEdge(src_atom, op, shape, True, summed, j))
            self.edges.append(AtomEdge(op, val, op.shape, False))
            value_of[n] = val

    def _names(self, params, model, infos):
        """id(leaf) / node -> (tensor, [names]) and id(leaf) -> module path; params first, then model, trace."""
        names, mpaths = {}, {}

        def add(t, name, module_source):
            if not isinstance(t, Tensor):
                raise TypeError(f"draw_graph: params must hold Tensors, got {type(t).__name__} for {name!r}")
            key = id(t) if t.grad_fn is None else t.grad_fn
            entry = names.setdefault(key, (t, []))
            if name is not None and name not in entry[1]:
                entry[1].append(name)
            if module_source and t.grad_fn is None and id(t) not in mpaths:
                mpaths[id(t)] = module_of_param(name)

        if params is not None:
            items = params.items() if isinstance(params, dict) else ((getattr(t, "name", None), t) for t in params)
            for name, t in items:
                add(t, name, False)
        sources = []
        if model is not None:
            if not hasattr(model, "named_parameters"):
                raise TypeError(f"draw_graph: model= must be a Module (with named_parameters()), "
                                f"got {type(model).__name__}")
            sources.append(_named_parameters(model))
            if hasattr(model, "named_modules"):
                for p, m in model.named_modules():
                    self.types.setdefault(p, type(m).__name__)
                self.types.setdefault("", type(model).__name__)
        for info in infos:
            for p, tname in info.types.items():
                self.types.setdefault(p, tname)
            sources.append([(n, r()) for n, r in info.params if r() is not None])
        for src in sources:
            for name, t in src:
                add(t, name, True)
        return names, mpaths


# ---------------------------------------------------------------- the visible graph: collapsing and clusters
@dataclass(eq=False)
class VNode:
    id: str
    kind: str                        # "op" | "leaf" | "value" | "group" | "more"
    cluster: object                  # module path of the cluster it is drawn in (None: top level)
    atoms: list = field(default_factory=list)
    paths: list = field(default_factory=list)    # group: the module paths it stands for (a run of repeats)
    type_name: str = ""
    hidden: int = 0                  # "more": how many nodes it stands for


@dataclass(eq=False)
class VEdge:
    src: VNode
    dst: VNode
    shapes: list                     # (shape, the broadcast shape it is summed from or None), each once
    carries_grad: bool
    constant: bool = False           # only from inputs that need no gradient


@dataclass
class View:
    nodes: list
    edges: list
    clusters: dict                   # path -> type name, for every cluster drawn
    records: bool                    # one record per intermediate tensor (else shapes sit in the op nodes)
    owner: dict                      # atom id -> VNode
    depth: object
    notes: list


def _signature(atoms, path):
    """What makes two repeated modules 'the same': their ops and parameters (names relative to the module)."""
    sig = []
    for a in atoms:
        if a.kind == "op":
            sig.append(("op", a.name, a.shape, a.dtype))
        elif a.kind == "leaf":
            rel = a.name[len(path) + 1:] if isinstance(a.name, str) and a.name.startswith(path + ".") else a.name
            sig.append(("const" if a.constant else "leaf", str(rel), a.shape, a.dtype))
    return tuple(sorted(sig, key=repr))


def _expand_set(expand):
    if expand is None:
        return set()
    items = [expand] if isinstance(expand, str) else list(expand)
    out = set()
    for p in items:
        if not isinstance(p, str):
            raise TypeError(f"draw_graph: expand= takes module paths (str), got {type(p).__name__}")
        out.update(path_chain(p))
    return out


class Collapser:
    """Chooses what is drawn: atoms, modules collapsed to one node, repeated modules folded into one."""

    def __init__(self, eg: EngineGraph, expand=None):
        self.eg = eg
        self.expand = _expand_set(expand)
        paths = {a.module for a in eg.atoms if a.module is not None}
        self.max_depth = max((path_depth(p) for p in paths), default=0)
        known = {q for p in paths for q in path_chain(p)}
        unknown = sorted(self.expand - known)
        if unknown:
            hint = ", ".join(sorted(known - {""})[:8]) or "none: build the graph inside viz.trace(model)"
            raise ValueError(f"draw_graph: expand={unknown[-1]!r} is not a module in this graph (modules: {hint}"
                             f"{', ...' if len(known) > 9 else ''})")

    def _collapsed_at(self, module, depth):
        """The outermost collapsed module enclosing ``module`` (None: drawn as itself)."""
        if depth is None:
            return None
        for q in path_chain(module):
            if q not in self.expand and path_depth(q) >= depth:
                return q
        return None

    def view(self, depth, records) -> View:
        eg = self.eg
        groups, own = {}, {}                              # group path -> atoms; atom id -> group path or None
        for a in eg.atoms:
            if a.kind == "value" and not a.is_root and not records:
                continue
            g = None if (a.kind == "value" and a.is_root) else self._collapsed_at(a.module, depth)
            own[a.id] = g
            if g is not None:
                groups.setdefault(g, []).append(a)
        run_of = self._runs(groups)
        owner, nodes, by_key = {}, [], {}

        def vnode(key, make):
            v = by_key.get(key)
            if v is None:
                v = by_key[key] = make()
                nodes.append(v)
            return v

        for a in eg.atoms:
            if a.id not in own:                           # a value folded into its op node
                owner[a.id] = owner[a.op.id]
                owner[a.id].atoms.append(a)
                continue
            g = own[a.id]
            if g is None:
                cluster = None if (a.kind == "value" and a.is_root) else a.module
                v = vnode(("atom", a.id), lambda: VNode(a.id, a.kind, cluster))
            else:
                run = run_of.get(g, [g])
                v = vnode(("group", run[0]), lambda: VNode(f"m{sum(n.kind == 'group' for n in nodes)}", "group",
                                                           parent_path(run[0]), paths=list(run),
                                                           type_name=eg.types.get(run[0], "")))
            v.atoms.append(a)
            owner[a.id] = v
        edges, by_pair = [], {}
        for e in eg.edges:
            s, d = owner[e.src.id], owner[e.dst.id]
            if s is d:
                continue
            key = (s.id, d.id, e.slot if s.kind != "group" and d.kind != "group" else None)
            ve = by_pair.get(key)
            if ve is None:
                ve = by_pair[key] = VEdge(s, d, [], False, e.constant)
                edges.append(ve)
            ve.constant = ve.constant and e.constant
            if (e.shape, e.summed_from) not in ve.shapes:
                ve.shapes.append((e.shape, e.summed_from))
            ve.carries_grad = ve.carries_grad or e.carries_grad
        clusters = {}
        for v in nodes:
            for q in path_chain(v.cluster):
                clusters.setdefault(q, eg.types.get(q, ""))
        return View(nodes, edges, clusters, records, owner, depth, [])

    def _runs(self, groups):
        """Consecutive siblings "x.0", "x.1", ... of the same class and structure -> one run each."""
        by_parent = {}
        for g in groups:
            head, _, last = g.rpartition(".")
            if g and last.isdigit():
                by_parent.setdefault(head, []).append((int(last), g))
        run_of = {}
        for items in by_parent.values():
            items.sort()
            runs = []                                    # [(index of the last member, key, [paths])]
            for k, g in items:
                key = (self.eg.types.get(g), _signature(groups[g], g))
                if runs and runs[-1][0] == k - 1 and runs[-1][1] == key:
                    runs[-1] = (k, key, runs[-1][2] + [g])
                else:
                    runs.append((k, key, [g]))
            for _, _, run in runs:
                if len(run) > 1:
                    for g in run:
                        run_of[g] = run
        return run_of


def truncate(view: View, root_ids, max_nodes: int) -> View:
    """Keep the ``max_nodes - 1`` nodes nearest the output (walking towards the inputs); one node stands for the rest."""
    inputs = {}
    for e in view.edges:
        inputs.setdefault(e.dst.id, []).append(e.src)
    keep, order = set(), []
    frontier = [v for v in view.nodes if v.id in root_ids] or view.nodes[-1:]
    for v in frontier:
        keep.add(v.id)
        order.append(v)
    i = 0
    while i < len(order) and len(order) < max_nodes - 1:
        for u in inputs.get(order[i].id, []):
            if u.id not in keep and len(order) < max_nodes - 1:
                keep.add(u.id)
                order.append(u)
        i += 1
    hidden = [v for v in view.nodes if v.id not in keep]
    more = VNode("more", "more", None, hidden=len(hidden))
    nodes = [v for v in view.nodes if v.id in keep] + [more]
    edges, seen = [], set()
    for e in view.edges:
        if e.src.id in keep and e.dst.id in keep:
            edges.append(e)
        elif e.dst.id in keep and (e.dst.id, "more") not in seen:
            seen.add((e.dst.id, "more"))
            edges.append(VEdge(more, e.dst, [], e.carries_grad))
    owner = {k: (v if v.id in keep else more) for k, v in view.owner.items()}
    clusters = {}
    for v in nodes:
        for q in path_chain(v.cluster):
            clusters.setdefault(q, view.clusters.get(q, ""))
    return View(nodes, edges, clusters, view.records, owner, view.depth, list(view.notes))


def choose_view(eg: EngineGraph, depth=None, expand=None, max_nodes=300, show_tensors="auto") -> View:
    """The drawing within ``max_nodes``: the depth asked for, else shallower, else the nodes nearest the output."""
    col = Collapser(eg, expand)
    want_records = show_tensors in ("auto", "all", True)
    full = col.view(None, False)
    tries = [depth] + [d for d in range(col.max_depth, -1, -1) if depth is None or d < depth]
    chosen = None
    for d in tries:
        v = col.view(d, False)
        if max_nodes is None or len(v.nodes) <= max_nodes:
            chosen = v
            break
    notes = []
    if chosen is None:
        chosen = col.view(tries[-1], False)
    if chosen.depth != depth:
        notes.append(f"collapsed to depth={chosen.depth} to stay within max_nodes={max_nodes} (the full graph has "
                     f"{len(full.nodes)} nodes; pass depth=, expand= or max_nodes= to change)")
    if want_records:
        n_ops = sum(v.kind == "op" for v in chosen.nodes)
        rec = col.view(chosen.depth, True)
        if (show_tensors != "auto" or n_ops <= RECORDS_MAX_OPS) and (max_nodes is None or len(rec.nodes) <= max_nodes):
            chosen = rec
    if max_nodes is not None and len(chosen.nodes) > max_nodes:
        total = len(chosen.nodes)
        roots = {chosen.owner[a.id].id for a in eg.atoms if a.is_root}
        chosen = truncate(chosen, roots, max_nodes)
        notes.append(f"showing the {len(chosen.nodes) - 1} nodes nearest the output of {total} "
                     f"(max_nodes={max_nodes}; no module paths to collapse by: build the graph inside "
                     f"viz.trace(model))" if not eg.traced else
                     f"showing the {len(chosen.nodes) - 1} nodes nearest the output of {total} (max_nodes={max_nodes})")
    chosen.notes = notes
    return chosen
