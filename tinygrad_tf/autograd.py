"""Reverse-mode automatic differentiation: the backward pass over the graph of ``Function`` nodes.

Every op is a ``Function`` (function.py). Calling ``MyOp.apply(a, b)`` runs ``forward`` on the raw arrays
and, if any input needs a gradient, returns a Tensor whose ``grad_fn`` is the Function instance (the
*ctx*). The ctx remembers where its inputs came from (``ctx.next``) and whatever ``forward`` saved; that
is the whole computation graph.

``backward`` walks that graph once in reverse topological order (iteratively: a 100,000-op chain needs
no recursion), calls each ``backward`` with the gradient of its output, and hands each input its share.
Broadcasting is undone in ONE place, ``_fit``, so no op author ever sums over broadcast axes by hand.

Higher-order gradients (``grad(..., create_graph=True)``, ``backward(create_graph=True)``). Each op's
``backward`` is written ONCE, with operators and ``ctx.xp`` functions, and runs in two modes:

* plain (``run_backward``, the fast path): arrays in, arrays out, nothing recorded -- exactly as before;
* ``create_graph=True`` (``_walk``): the SAME backward runs on Tensors, so every step it takes is itself
  recorded and the gradients it returns are Tensors on a graph, to differentiate again. ``grad`` is a
  Tensor; ``ctx`` is a ``graph_xp.GraphContext``, whose ``saved_tensors`` are Tensors on the graph and whose
  ``xp`` is ``graph_xp.TensorXP`` (NumPy's names, made of Tensor ops).

The rule that makes the second mode right: a saved array is found on the graph by what it IS.
``Function.apply`` notes which arrays are the inputs and the output; an input saved for backward becomes
that input (its node is in ``ctx.next``), the output becomes the output. A value ``forward`` computes
from its inputs and saves (layer norm's normalised x and 1/std, GELU's slope, a softmax) would be a
constant there -- and a wrong second derivative -- so such values are made with ``ctx.derived(fn,
*inputs)``, which remembers the recipe; on the graph it is run again on the input Tensors. (A recipe
does not keep its inputs alive; one the forward did not save comes back through the op's
``input_from_saved``, so a plain training step pays nothing for any of this.) Anything else saved
(masks, indices, random draws, integer-valued quotients) is a constant, rightly: its derivative is 0.
Array-only idioms have Tensor forms: ``out=`` rebinds a Tensor, ``t[i] = v`` is a SetItem node, and
``backend.scatter_add`` is the AddAt op.
"""
from __future__ import annotations

import numpy as np

from .function import Function, OpError, _check_finite, _describe, check_saved  # noqa: F401  (re-exported)
from .grad_mode import (_state, AnomalyError, compile, detect_anomaly, enable_grad,  # noqa: F401  (re-exported)
                        inference_mode, is_anomaly_enabled, is_grad_enabled, is_inference_mode_enabled, no_grad,
                        set_grad_enabled)

__all__ = ["grad", "backward", "Function", "GraphReleasedError", "no_grad", "enable_grad", "set_grad_enabled",
           "inference_mode", "detect_anomaly", "gradcheck", "gradgradcheck",   # (these two: set by gradcheck.py)
           "functional"]          # (the module autograd_functional.py, which sets it: jacobian, hessian, hvp, ...)

Tensor = None  # set by tensor.py once the class exists (the two modules need each other)


class GraphReleasedError(RuntimeError):
    """A backward through a node whose saved arrays were freed by an earlier backward (pass retain_graph=True)."""


def _fit(grad, meta, ctx, i):
    """Bring an input's gradient to that input's shape and dtype.

    Broadcasting stretched the input to the output's shape; the gradient of a
    stretched axis is the sum along it. Shapes are aligned from the RIGHT
    (NumPy's rule): drop the extra leading axes, then sum the axes where the
    input had size 1, keeping them.
    """
    shape, dtype = meta
    if not hasattr(grad, "ndim") or isinstance(grad, np.generic):   # 0-d NumPy math gives scalars, not arrays
        grad = ctx.xp.asarray(grad)
    if grad.shape != shape:
        extra = grad.ndim - len(shape)
        if extra > 0:   # (keepdims + reshape: NumPy would turn a sum down to 0-d into a scalar, not an array)
            grad = grad.sum(axis=tuple(range(extra)), keepdims=True).reshape(grad.shape[extra:])
        axes = tuple(a for a, n in enumerate(shape) if n == 1 and grad.shape[a] != 1) if extra >= 0 else ()
        if axes:
            grad = grad.sum(axis=axes, keepdims=True)
        if grad.shape != shape:
            raise RuntimeError(f"{type(ctx).__name__}.backward returned a gradient of shape {tuple(grad.shape)} "
                               f"for input {i}, whose shape is {shape}: it cannot be summed to that shape")
    if grad.dtype != dtype:
        grad = grad.type(dtype) if isinstance(grad, Tensor) else grad.astype(dtype)
    return grad


def topological_order(root, *more):
    """Function nodes reachable from ``root`` (and from the ``more`` roots), each after all of its inputs
    (iterative DFS)."""
    order, seen = [], set()
    for start in (root,) + more:
        if start in seen:
            continue
        seen.add(start)
        stack = [(start, iter(start.next))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if child is not None and isinstance(child, Function) and child not in seen:
                    seen.add(child)
                    stack.append((child, iter(child.next)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def _run_hooks(hooks, grad, device, what):
    for hook in hooks:
        new = hook(Tensor._wrap(grad, device))
        if new is not None:
            new = new.data if isinstance(new, Tensor) else new
            if new.shape != grad.shape:
                raise RuntimeError(f"a hook on {what} returned a gradient of shape {tuple(new.shape)}; "
                                   f"expected {tuple(grad.shape)}")
            grad = new
    return grad


def _own(grad, taken):
    """A gradient array a tensor may keep as its ``.grad``: writable, not a view of another array
    (a backward may return a read-only ``broadcast_to`` view, or the same array for two inputs),
    and not already handed to another tensor. Copied only when it is not so already."""
    if grad.base is not None or id(grad) in taken or not getattr(grad.flags, "writeable", True):
        grad = grad.copy()
    taken.add(id(grad))
    return grad


def _store_leaf_grad(leaf, g, taken):
    """A leaf's summed gradient: through its hooks, then into (or added to) ``.grad``."""
    if leaf._hooks:
        g = _run_hooks(leaf._hooks, g, leaf._device, f"a leaf of shape {tuple(leaf.shape)}")
    _keep(leaf, g, taken)


def _edges_done(ctx, waiting, leaves, taken):
    """``ctx`` has been walked: a hooked leaf with no edge left to wait for has its final gradient now."""
    for node in ctx.next:
        if isinstance(node, Tensor) and id(node) in waiting:
            waiting[id(node)] -= 1
            if not waiting[id(node)]:
                del waiting[id(node)]
                slot = leaves.pop(id(node), None)
                if slot is not None:
                    _store_leaf_grad(slot[0], slot[1], taken)


def run_backward(root_tensor, grad, retain_graph=False):
    """Accumulate d(root)/d(leaf) into every leaf's ``.grad``."""
    root = root_tensor.grad_fn
    anomaly = is_anomaly_enabled()
    order = topological_order(root)
    grads = {root: grad}
    leaves = {}  # id(tensor) -> [tensor, summed grad]
    taken = set()  # ids of the arrays handed out as some tensor's .grad
    # A leaf with hooks gets them (and its .grad) as soon as its last incoming edge is done -- during the walk,
    # as PyTorch does -- so a hook can act on a finished gradient while backward goes on (DDP's all-reduce).
    waiting = {}  # id(leaf with hooks) -> edges into it not yet walked
    for ctx in order:
        for node in ctx.next:
            if isinstance(node, Tensor) and node._hooks:
                waiting[id(node)] = waiting.get(id(node), 0) + 1
    for ctx in reversed(order):
        g = grads.pop(ctx, None)
        if g is None:
            if waiting:
                _edges_done(ctx, waiting, leaves, taken)
            continue
        if ctx.released:
            raise GraphReleasedError(
                f"backward through {type(ctx).__name__} a second time: its saved arrays were freed after the "
                "first backward. Pass retain_graph=True to the first .backward() to keep them.")
        if ctx._hooks:
            g = _run_hooks(ctx._hooks, g, ctx.device, f"the output of {type(ctx).__name__}")
        if ctx._retain is not None:
            t = ctx._retain()
            if t is not None:           # (t is this node's output: it lives on ctx.device)
                _keep(t, g, taken)
        check_saved(ctx)
        in_grads = type(ctx).backward(ctx, g)
        if not retain_graph:       # its saved arrays are done with: free them now, not after the whole pass
            ctx._release()         # (a step's peak memory is then its activations OR its gradients, not both)
        if isinstance(in_grads, list):
            in_grads = tuple(in_grads)
        elif not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        for i, node in enumerate(ctx.next):
            if node is None or i >= len(in_grads) or in_grads[i] is None:
                continue
            gi = in_grads[i]
            meta = ctx.in_meta[i]
            if gi.shape != meta[0] or gi.dtype != meta[1]:
                gi = _fit(gi, meta, ctx, i)
            if anomaly:
                _check_finite(gi, ctx, f"the gradient for input {i}")
            if isinstance(node, Tensor):
                slot = leaves.get(id(node))
                if slot is None:
                    leaves[id(node)] = [node, gi]
                else:
                    slot[1] = slot[1] + gi
            else:
                prev = grads.get(node)
                grads[node] = gi if prev is None else prev + gi
        if waiting:
            _edges_done(ctx, waiting, leaves, taken)
    for leaf, g in leaves.values():
        _store_leaf_grad(leaf, g, taken)
    if not retain_graph:
        for ctx in order:          # the nodes no gradient reached
            if not ctx.released:
                ctx._release()



# ---------------------------------------------------------------- the general pass: grad(), create_graph, inputs
_graph_context = None   # graph_xp.GraphContext (set when it is imported, as tinygrad_tf/__init__ does)


def _tensors(x, what):
    items = (x,) if isinstance(x, Tensor) else tuple(x)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}: expected Tensors, but element {i} is a {type(t).__name__}")
    return items


def _start_grads(op, outputs, grad_outputs, create_graph):
    """One starting gradient per output: ones for a scalar output (None given), else the given one, as an array --
    or as a Tensor when ``create_graph`` (it may itself require grad: then the result depends on it too)."""
    given = (None,) * len(outputs) if grad_outputs is None else \
        (grad_outputs,) if isinstance(grad_outputs, Tensor) or not isinstance(grad_outputs, (list, tuple)) \
        else tuple(grad_outputs)
    if len(given) != len(outputs):
        raise RuntimeError(f"{op}: got {len(given)} grad_outputs for {len(outputs)} outputs")
    grads = []
    for i, (out, g) in enumerate(zip(outputs, given)):
        if not out.requires_grad:
            raise RuntimeError(f"{op}: output {i} (shape {out.shape}) does not require grad and has no grad_fn; did "
                               "you create the inputs with requires_grad=True (and not under no_grad)?")
        if g is None:
            if out.data.size != 1:
                raise RuntimeError(f"{op}: grad can be implicitly created only for scalar outputs; output {i} has "
                                   f"shape {out.shape}, so pass its gradient (grad_outputs / grad=) of that shape")
            g = Tensor._wrap(out._xp().ones(out.data.shape, dtype=out.dtype), out._device)
        elif not isinstance(g, Tensor):
            g = Tensor(g, dtype=out.dtype, device=out.device)
        if g.shape != out.shape:
            raise RuntimeError(f"{op}: the gradient for output {i} has shape {g.shape} but the output has shape "
                               f"{out.shape}")
        if create_graph:
            grads.append(g if g.dtype == out.dtype else g.type(out.dtype))
        else:   # a copy: no tensor's .grad may alias the caller's array
            grads.append(g.data.astype(out.dtype))
    return grads


def _hooked(hooks, g, device, what):
    """Run tensor hooks on a gradient that is an array (``_run_hooks``) or a Tensor (create_graph)."""
    if not isinstance(g, Tensor):
        return _run_hooks(hooks, g, device, what)
    for hook in hooks:
        new = hook(g)
        if new is not None:
            if tuple(new.shape) != g.shape:
                raise RuntimeError(f"a hook on {what} returned a gradient of shape {tuple(new.shape)}; "
                                   f"expected {g.shape}")
            g = new if isinstance(new, Tensor) else Tensor._wrap(new, device)
    return g


def _keep(t, g, taken):
    """Add ``g`` into ``t.grad``. A Tensor gradient (create_graph) stays on its graph, as PyTorch keeps it:
    the first one is cloned when another tensor holds it already or it is a view; later ones are added."""
    if not isinstance(g, Tensor):
        t.grad = Tensor._wrap(_own(g, taken) if t.grad is None else t.grad.data + g, t._device)
    elif t.grad is not None:
        t.grad = t.grad + g
    else:
        if id(g) in taken or g.data.base is not None or not getattr(g.data.flags, "writeable", True):
            g = g.clone()
        taken.add(id(g))
        t.grad = g


def _leading_to(order, want_nodes, want_leaves):
    """The nodes of ``order`` with a path down to a wanted node or leaf (whose backward must run)."""
    below = set()
    for node in order:                      # inputs come before the nodes that use them
        for c in node.next:
            if c is None:
                continue
            if (c in below or c in want_nodes) if isinstance(c, Function) else (id(c) in want_leaves):
                below.add(node)
                break
    return below


def _walk(outputs, grads, retain_graph, create_graph, inputs=None, accumulate=True):
    """The backward pass in general form, behind ``grad()`` and ``backward(create_graph=True / inputs=...)``.

    It is ``run_backward`` with three additions. Several outputs start it. With ``create_graph`` each backward
    runs on Tensors (``_graph_context``: see the module docstring), so the gradients are Tensors on a graph of
    their own. With ``inputs``, only the nodes on a path to those tensors (leaves or not) run, and their
    gradients are returned in order (None where unused); ``accumulate`` adds them into ``.grad`` (into every
    leaf's when there are no ``inputs``), as ``backward()`` does.
    """
    anomaly = is_anomaly_enabled()
    grads_at, leaves, roots = {}, {}, []
    for out, g in zip(outputs, grads):
        if out.grad_fn is None:                       # an output that is a leaf: its own gradient is g
            slot = leaves.get(id(out))
            leaves[id(out)] = [out, g if slot is None else slot[1] + g]
        else:
            roots.append(out.grad_fn)
            prev = grads_at.get(out.grad_fn)
            grads_at[out.grad_fn] = g if prev is None else prev + g
    order = topological_order(*roots) if roots else []
    want_nodes = want_leaves = below = None
    if inputs is not None:
        want_nodes = {t.grad_fn for t in inputs if t.grad_fn is not None}
        want_leaves = {id(t) for t in inputs if t.grad_fn is None}
        below = _leading_to(order, want_nodes, want_leaves)
    captured, ran, taken = {}, [], set()
    for ctx in reversed(order):
        g = grads_at.pop(ctx, None)
        if g is None or (below is not None and ctx not in below and ctx not in want_nodes):
            continue
        if ctx._hooks:
            g = _hooked(ctx._hooks, g, ctx.device, f"the output of {type(ctx).__name__}")
        if want_nodes and ctx in want_nodes:
            captured[ctx] = g
        if accumulate and inputs is None and ctx._retain is not None:
            t = ctx._retain()
            if t is not None:
                _keep(t, g, taken)
        if below is not None and ctx not in below:
            continue
        if ctx.released:
            raise GraphReleasedError(
                f"backward through {type(ctx).__name__} a second time: its saved arrays were freed after the "
                "first backward. Pass retain_graph=True (or create_graph=True) to the first backward to keep them.")
        check_saved(ctx)
        in_grads = type(ctx).backward(_graph_context(ctx) if create_graph else ctx, g)
        ran.append(ctx)
        if not isinstance(in_grads, (tuple, list)):
            in_grads = (in_grads,)
        for i, node in enumerate(ctx.next):
            if node is None or i >= len(in_grads) or in_grads[i] is None:
                continue
            if isinstance(node, Tensor) and want_leaves is not None and id(node) not in want_leaves:
                continue
            gi = in_grads[i]
            if create_graph and not isinstance(gi, Tensor):    # a constant (or a number) the backward made
                gi = Tensor._wrap(ctx.xp.asarray(gi), ctx.device)
            if gi.shape != ctx.in_meta[i][0] or gi.dtype != ctx.in_meta[i][1]:
                gi = _fit(gi, ctx.in_meta[i], ctx, i)
            if anomaly:
                _check_finite(gi.data if create_graph else gi, ctx, f"the gradient for input {i}")
            if isinstance(node, Tensor):
                slot = leaves.get(id(node))
                leaves[id(node)] = [node, gi if slot is None else slot[1] + gi]
            else:
                prev = grads_at.get(node)
                grads_at[node] = gi if prev is None else prev + gi
    for key, slot in leaves.items():
        leaf = slot[0]
        if leaf._hooks:
            slot[1] = _hooked(leaf._hooks, slot[1], leaf._device, f"a leaf of shape {tuple(leaf.shape)}")
        if accumulate and (want_leaves is None or key in want_leaves):
            _keep(leaf, slot[1], taken)
    if not retain_graph:
        for ctx in ran:
            ctx._release()
    if inputs is None:
        return None
    found = [(leaves[id(t)][1] if id(t) in leaves else None) if t.grad_fn is None else captured.get(t.grad_fn)
             for t in inputs]
    if accumulate:
        for t, g in zip(inputs, found):
            if g is not None and t.grad_fn is not None:
                _keep(t, g, taken)
    return [g if g is None or isinstance(g, Tensor) else Tensor._wrap(_own(g, taken), t._device)
            for t, g in zip(inputs, found)]


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """``torch.autograd.backward``: add the gradients of ``tensors`` (a Tensor or a sequence, each with its
    gradient in ``grad_tensors``; None for a scalar) into the ``.grad`` of every leaf -- or only of ``inputs``.

    ``create_graph=True`` records the backward pass itself, so the ``.grad`` it leaves are Tensors on a graph
    that can be differentiated again (second derivatives); ``retain_graph`` defaults to ``create_graph``.
    ``loss.backward(...)`` is this with one tensor.
    """
    tensors = _tensors(tensors, "backward")
    grads = _start_grads("backward", tensors, grad_tensors, create_graph)
    if inputs is not None:
        inputs = _tensors(inputs, "backward")
        if not inputs:
            raise RuntimeError("backward: inputs= is an empty sequence; leave it out to reach every leaf")
    retain = create_graph if retain_graph is None else retain_graph
    with enable_grad() if create_graph else no_grad():
        _walk(tensors, grads, retain, create_graph, inputs=inputs)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False,
         materialize_grads=False):
    """``torch.autograd.grad``: the gradients of ``outputs`` with respect to ``inputs``, as a tuple with one
    Tensor per input; no ``.grad`` is touched.

    ``outputs`` and ``inputs`` are Tensors or sequences of them (``inputs`` need not be leaves). A non-scalar
    output needs its gradient in ``grad_outputs`` (the vector of a vector-Jacobian product). With
    ``create_graph=True`` the gradients are Tensors on a graph of their own: differentiate them again for
    second derivatives (a Hessian-vector product is ``grad(grad(loss, w, create_graph=True)[0] @ v, w)``).
    ``retain_graph`` defaults to ``create_graph``; otherwise the graph's saved arrays are freed.
    An input the outputs do not depend on is an error, or None with ``allow_unused=True``, or zeros with
    ``materialize_grads=True``.
    """
    outputs, inputs = _tensors(outputs, "grad"), _tensors(inputs, "grad")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) does not require grad; create it with "
                               "requires_grad=True (or call .requires_grad_())")
    grads = _start_grads("grad", outputs, grad_outputs, create_graph)
    retain = create_graph if retain_graph is None else retain_graph
    with enable_grad() if create_graph else no_grad():
        found = _walk(outputs, grads, retain, create_graph, inputs=inputs, accumulate=False)
    result = []
    for i, (t, g) in enumerate(zip(inputs, found)):
        if g is None and materialize_grads:
            g = Tensor._wrap(t._xp().zeros(t.data.shape, dtype=t.dtype), t._device)
        elif g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) was not used to compute the outputs, so it has "
                               "no gradient; pass allow_unused=True to get None for it (or materialize_grads=True "
                               "for zeros)")
        result.append(g)
    return tuple(result)


_topological_order = topological_order   # the name the first tests used
