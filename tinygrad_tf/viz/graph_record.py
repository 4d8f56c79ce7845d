"""What viz records about a graph while it is built and run: module paths (``trace``) and gradients
(``capture_grads``), plus the engine's traversal order.

Everything here reads only the documented graph
attributes (``tensor.grad_fn``; a node's ``next``, ``in_meta``, ``out_shape``,
``out_dtype``, ``device``; ``type(node).__name__``), module hooks
(``register_forward_pre_hook`` / ``register_forward_hook``) and tensor hooks
(``register_hook``). What those record lives in two weak tables keyed by graph
node, so it disappears with the graph:

    _MODULE_OF[node] = (module path, _TraceInfo)   filled by ``trace(model)``
    _OUTPUT_NAME[node] = "loss"                     filled by ``trace(model)``: the model's output fields
    _GRAD_OF[node]   = GradStat                     filled by ``capture_grads(tensor)``
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np

from .. import autograd, backend
from ..autograd import Function
from ..tensor import Tensor

_MODULE_OF: "weakref.WeakKeyDictionary[Function, tuple]" = weakref.WeakKeyDictionary()
_OUTPUT_NAME: "weakref.WeakKeyDictionary[Function, str]" = weakref.WeakKeyDictionary()
_GRAD_OF: "weakref.WeakKeyDictionary[Function, GradStat]" = weakref.WeakKeyDictionary()

def topological_order(root: Function) -> list:
    """Graph nodes reachable from ``root``, each after its inputs: the engine's own order, so
    ``reversed(topological_order(root))`` is exactly the order in which ``backward()`` visits them."""
    return autograd.topological_order(root)


# ---------------------------------------------------------------- module paths ("" is the model itself)
def path_depth(path: str) -> int:
    return 0 if path == "" else path.count(".") + 1


def path_chain(path):
    """"a.b" -> ["", "a", "a.b"]; None (outside any module) -> []."""
    if path is None:
        return []
    parts = path.split(".") if path else []
    return [""] + [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def parent_path(path: str):
    return None if path == "" else path.rpartition(".")[0]


def module_of_param(name: str) -> str:
    return name.rpartition(".")[0]


# ---------------------------------------------------------------- gradient statistics
def array_norm(arr):
    """(L2 norm of the finite entries, #NaN, #inf, #zeros) of a backend array, without overflow and without
    a float64 copy: NaN/inf are counted and set to 0, then the norm is taken of ``arr / max|arr|``."""
    xp = backend.get_array_module(arr)
    if arr.size == 0:
        return 0.0, 0, 0, 0
    a = arr if arr.dtype.kind == "f" and arr.dtype.itemsize >= 4 else arr.astype(np.float32)
    n_nan = n_inf = 0
    if not bool(xp.isfinite(a).all()):
        n_nan, n_inf = int(xp.isnan(a).sum()), int(xp.isinf(a).sum())
        a = xp.where(xp.isfinite(a), a, 0)
    n_zero = int(arr.size) - int(xp.count_nonzero(a)) - n_nan - n_inf   # non-finite entries are zeros in `a` now
    m = float(xp.abs(a).max())
    if m == 0.0:
        return 0.0, n_nan, n_inf, n_zero
    x = (a / m).ravel()                     # scaled into [-1, 1]: the squares cannot overflow
    return m * math.sqrt(float(xp.vdot(x, x))), n_nan, n_inf, n_zero


@dataclass(frozen=True)
class GradStat:
    """The 2-norm of a gradient and whether it holds NaN / inf / only zeros (values kept when tiny)."""

    norm: float
    nan: bool
    inf: bool
    shape: tuple
    values: object = None          # a NumPy copy when the gradient has <= 16 elements

    @property
    def zero(self) -> bool:
        return not self.nan and not self.inf and self.norm == 0.0

    @property
    def flag(self):
        return "NaN" if self.nan else "inf" if self.inf else "zero" if self.zero else None

    @classmethod
    def of(cls, arr) -> "GradStat":
        """From a backend array (NumPy or CuPy), without a float64 copy of big arrays."""
        shape = tuple(arr.shape)
        values = backend.to_numpy(arr).astype(np.float64) if arr.size <= 16 else None
        if arr.size == 0:
            return cls(0.0, False, False, shape, values)
        norm, n_nan, n_inf, _ = array_norm(arr)
        return cls(norm, n_nan > 0, n_inf > 0, shape, values)

    @classmethod
    def combine(cls, stats) -> "GradStat | None":
        """The norm of several gradients taken together (a collapsed module's parameters)."""
        stats = [s for s in stats if s is not None]
        if not stats:
            return None
        return cls(math.sqrt(sum(s.norm ** 2 for s in stats)), any(s.nan for s in stats),
                   any(s.inf for s in stats), ())


# ---------------------------------------------------------------- trace(model): who made which node
class _TraceInfo:
    """What one ``trace`` saw: module class names by path, and the model's parameter names."""

    def __init__(self, model):
        mods = list(model.named_modules())
        if not any(p == "" for p, _ in mods):
            mods.insert(0, ("", model))
        self.modules = mods
        self.types = {p: type(m).__name__ for p, m in mods}
        self.params = [(n, weakref.ref(t)) for n, t in _named_parameters(model)]


def _named_parameters(model):
    try:
        return list(model.named_parameters(remove_duplicate=False))   # tied weights under every name
    except TypeError:
        return list(model.named_parameters())


def _tensors_in(obj, depth=3):
    """Tensors inside an output/argument: a Tensor, tuples/lists/dicts of them, or a dataclass-like record."""
    if isinstance(obj, Tensor):
        return [obj]
    if depth == 0 or obj is None or isinstance(obj, (str, bytes, int, float, bool)):
        return []
    if isinstance(obj, (tuple, list)):
        items = obj
    elif isinstance(obj, dict):
        items = list(obj.values())
    elif hasattr(obj, "__dataclass_fields__"):
        items = [getattr(obj, f, None) for f in obj.__dataclass_fields__]
    else:
        return []
    return [t for it in items for t in _tensors_in(it, depth - 1)]


def _named_tensors(obj) -> list:
    """(name, Tensor) of an output record's fields: a dataclass-like output (``.loss``, ``.logits``) or a dict."""
    if isinstance(obj, dict):
        items = obj.items()
    elif hasattr(obj, "__dataclass_fields__"):
        items = ((f, getattr(obj, f, None)) for f in obj.__dataclass_fields__)
    else:
        return []
    return [(str(k), v) for k, v in items if isinstance(v, Tensor)]


class trace:
    """Record which module produced each graph node, for clusters, ``depth=`` and ``"Block x 12"``.

        with viz.trace(model):
            loss = model(ids, labels=ids).loss
        viz.draw_graph(loss, model=model, depth=2)

    It registers a forward pre-hook and a forward hook on every submodule (removed on exit).
    When a module's forward returns, the nodes behind its outputs that no module claimed yet are
    its own: the walk stops at the nodes of its inputs and at nodes claimed before it started, and
    goes through the nodes its submodules claimed meanwhile, so every node belongs to the innermost
    module that was running when it was made. (Limit: a tensor that reaches a module through a
    keyword argument or an attribute, made by a bare op outside every module, is not a stop point;
    Module's pre-hooks do not see keyword arguments.)
    """

    def __init__(self, model):
        self.model = model
        self.info = None
        self._handles, self._stack, self._claims, self._seq = [], [], {}, 0
        self.calls = 0

    def __enter__(self):
        self.info = _TraceInfo(self.model)
        for path, m in self.info.modules:
            if hasattr(m, "register_forward_pre_hook") and hasattr(m, "register_forward_hook"):
                self._handles.append(m.register_forward_pre_hook(self._pre(m)))
                self._handles.append(m.register_forward_hook(self._post(m, path)))
        if not self._handles:
            raise TypeError(f"trace: {type(self.model).__name__} has no register_forward_pre_hook / "
                            "register_forward_hook; pass an nn.Module")
        return self

    def __exit__(self, *exc):
        for h in reversed(self._handles):
            h.remove()
        self._handles, self._stack, self._claims = [], [], {}
        return False

    def module_of(self, tensor):
        """The path of the module that made ``tensor`` ("" is the model itself; None: not inside it)."""
        rec = _MODULE_OF.get(tensor.grad_fn) if tensor.grad_fn is not None else None
        return rec[0] if rec is not None else None

    def _pre(self, module):
        def hook(mod, args):
            self._stack.append((module, self._seq))
        return hook

    def _post(self, module, path):
        def hook(mod, args, out):
            while self._stack and self._stack[-1][0] is not module:   # a forward that raised left its entry
                self._stack.pop()
            if not self._stack:
                return None
            _, start = self._stack.pop()
            self.calls += 1
            if path == "":                                   # the model's own output: name its fields' nodes
                for name, t in _named_tensors(out):
                    if t.grad_fn is not None:
                        _OUTPUT_NAME[t.grad_fn] = name
            stop = {t.grad_fn for t in _tensors_in(args) if t.grad_fn is not None}
            todo = [t.grad_fn for t in _tensors_in(out) if t.grad_fn is not None]
            seen = set()
            while todo:
                node = todo.pop()
                if node in seen or node in stop:
                    continue
                seen.add(node)
                seq = self._claims.get(node)
                rec = _MODULE_OF.get(node)
                if seq is None and rec is not None and rec[1] is not self.info:
                    continue                             # made under another trace: not this model's
                if seq is None:                          # made during this call, by this module's own code
                    self._claims[node] = self._seq
                    self._seq += 1
                    _MODULE_OF[node] = (path, self.info)
                elif seq < start:                        # claimed before this call began: an input's history
                    continue
                todo.extend(c for c in node.next if isinstance(c, Function))
            return None
        return hook


# ---------------------------------------------------------------- capture_grads: intermediate gradients
class capture_grads:
    """Record the gradient norm (and NaN / inf / zero) of every intermediate of the graphs behind ``tensors``.

        with viz.capture_grads(loss):
            loss.backward()
        viz.draw_graph(loss)                 # intermediates coloured by their gradient norms too

    It registers a hook (``register_hook``) on each node's output; leaving the ``with`` block (or
    ``.remove()``) removes them. Leaves need nothing: their ``.grad`` is read directly.
    """

    def __init__(self, *tensors):
        self._handles = []
        for t in tensors:
            if t.grad_fn is None:
                continue
            for node in topological_order(t.grad_fn):
                proxy = Tensor(0.0)                   # stands for the node's output: hooks live on the node
                proxy.grad_fn, proxy.requires_grad = node, True
                self._handles.append(proxy.register_hook(self._hook(node)))

    @staticmethod
    def _hook(node):
        def fn(grad):
            _GRAD_OF[node] = GradStat.of(grad.data)
        return fn

    def __getitem__(self, tensor) -> "GradStat | None":
        return _GRAD_OF.get(tensor.grad_fn) if tensor.grad_fn is not None else None

    def remove(self):
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


