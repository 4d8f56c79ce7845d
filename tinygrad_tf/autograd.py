"""Reverse-mode automatic differentiation: the graph node and the backward pass.

Every op is a ``Function``. Calling ``MyOp.apply(a, b)`` runs ``forward`` on the
raw arrays and, if any input needs a gradient, returns a Tensor whose
``grad_fn`` is the Function instance (the *ctx*). The ctx remembers where its
inputs came from (``ctx.next``) and whatever ``forward`` saved; that is the
whole computation graph.

``backward`` walks that graph once in reverse topological order (iteratively:
a 100,000-op chain needs no recursion), calls each ``backward`` with the
gradient of its output, and hands each input its share. Broadcasting is undone
in ONE place, ``_fit``, so no op author ever sums over broadcast axes by hand.
"""

from __future__ import annotations

import threading

import numpy as np

from . import backend

_state = threading.local()
Tensor = None  # set by tensor.py once the class exists (the two modules need each other)


def is_grad_enabled() -> bool:
    """Whether ops record the graph now (False inside ``no_grad`` and ``inference_mode``)."""
    return getattr(_state, "grad", True)


def is_inference_mode_enabled() -> bool:
    """Whether an ``inference_mode()`` block is active."""
    return getattr(_state, "inference", False)


def is_anomaly_enabled() -> bool:
    return getattr(_state, "anomaly", False)


class _GradMode:
    """Base for no_grad / enable_grad / inference_mode: a context manager and a decorator (with or without
    parentheses). ``_set`` switches the mode on entry; leaving restores what was there before."""

    enabled = True

    def __new__(cls, fn=None):
        self = super().__new__(cls)
        self._prev = []
        return self(fn) if callable(fn) else self   # @tg.no_grad used without parentheses

    def __init__(self, fn=None):
        pass

    def _set(self):
        _state.grad = self.enabled

    def _fresh(self):
        """A new manager with the same setting, for one call of a decorated function."""
        return type(self)()

    def __enter__(self):
        self._prev.append((is_grad_enabled(), is_inference_mode_enabled()))   # a stack: re-entrant
        self._set()

    def __exit__(self, *exc):
        _state.grad, _state.inference = self._prev.pop()

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._fresh():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Record nothing: ``with tg.no_grad(): ...`` or ``@tg.no_grad()``."""

    enabled = False


class enable_grad(_GradMode):
    enabled = True


class inference_mode(_GradMode):
    """``with tg.inference_mode(): ...`` or ``@tg.inference_mode()``: record nothing, like ``no_grad`` (for
    evaluation and generation). ``inference_mode(False)`` switches it off again inside one, turning gradients
    back on."""

    def __new__(cls, mode=True):
        self = object.__new__(cls)
        self._prev, self.mode = [], True if callable(mode) else bool(mode)
        return self(mode) if callable(mode) else self      # @tg.inference_mode used without parentheses

    def __init__(self, mode=True):
        pass

    def _set(self):
        _state.grad, _state.inference = not self.mode, self.mode

    def _fresh(self):
        return inference_mode(self.mode)


class set_grad_enabled(_GradMode):
    """Turn graph recording on or off: a plain call ``tg.set_grad_enabled(False)`` switches it now; as
    ``with tg.set_grad_enabled(is_training): ...`` (or a decorator) it is restored afterwards."""

    def __new__(cls, mode):
        self = object.__new__(cls)
        self.enabled = bool(mode)
        self._prev = [(is_grad_enabled(), is_inference_mode_enabled())]
        self._set()                                        # switched at once, as PyTorch's does
        return self

    def __init__(self, mode):
        pass

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _state.grad, _state.inference = self._prev[0]

    def __call__(self, fn):
        self.__exit__()                                    # decorating switches nothing until the call
        return super().__call__(fn)

    def _fresh(self):
        return set_grad_enabled(self.enabled)


def compile(model=None, **options):  # noqa: A001  (torch.compile)
    """``torch.compile``: returns ``model`` (a Module or a function) itself, unchanged; without ``model``, a
    decorator that does the same (``@tg.compile(mode="max-autotune")``). The options are accepted and have
    nothing to act on.

    tinygrad_tf is eager (define-by-run): every op runs, and records its graph node, the moment it is
    called, and there is no compiler to hand a graph to. Returning the model unchanged is what PyTorch
    itself does with ``torch.compile(model, backend="eager")``, so programs that compile their model run
    here as they are, with the same results and eager speed.
    """
    if model is None:
        return lambda m: m
    return model


class detect_anomaly:
    """Raise at the first op whose output (forward) or input gradient (backward) has NaN/inf."""

    def __enter__(self):
        self._prev = is_anomaly_enabled()
        _state.anomaly = True

    def __exit__(self, *exc):
        _state.anomaly = self._prev


class AnomalyError(FloatingPointError):
    pass


class GraphReleasedError(RuntimeError):
    pass


class OpError(RuntimeError, ValueError):
    """An op got inputs it cannot work with (shapes, dtypes); the message names the op and the inputs."""


def _signature(args):
    parts = []
    for a in args:
        if hasattr(a, "grad_fn"):
            parts.append(f"{a.dtype} {tuple(a.shape)} on {a.device}")
        elif hasattr(a, "shape"):
            parts.append(f"array {tuple(a.shape)}")
        else:
            parts.append(repr(a) if len(repr(a)) < 40 else type(a).__name__)
    return ", ".join(parts)


def _describe(ctx) -> str:
    shapes = ", ".join(str(m[0]) if m else "-" for m in ctx.in_meta)
    return f"{type(ctx).__name__} (inputs {shapes} -> output {ctx.out_shape})"


def _check_finite(arr, ctx, where):
    xp = backend.get_array_module(arr)
    if arr.dtype.kind == "f" and not bool(xp.isfinite(arr).all()):
        bad = "NaN" if bool(xp.isnan(arr).any()) else "inf"
        raise AnomalyError(f"detect_anomaly: {where} of {_describe(ctx)} contains {bad}")


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
        grad = grad.astype(dtype)
    return grad


class Function:
    """One differentiable op: ``forward`` and ``backward`` as staticmethods, PyTorch-style.

    ``forward(ctx, *inputs)`` gets backend arrays (``ctx.xp`` is numpy or cupy)
    for Tensor inputs and other arguments as given; it returns an array.
    ``backward(ctx, grad)`` returns one gradient per forward input (``None``
    for non-tensors or inputs that need none; ``ctx.needs_input_grad[i]``
    says which do). A single input may return a bare array.
    """

    # attributes that describe the graph and survive the release of saved arrays
    _KEEP = frozenset(("next", "in_meta", "needs_input_grad", "xp", "device", "out_shape", "out_dtype",
                       "_hooks", "_retain", "released"))

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    # defaults for every node, read through the class until a hook / retain_grad / release sets them
    _hooks = None
    _retain = None
    released = False

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = cls.__new__(cls)
        track = getattr(_state, "grad", True)
        arrays, need, nxt, meta = [], [], [], []
        device = None
        any_grad = False
        for a in args:                                   # one pass: arrays for forward, graph edges for backward
            if isinstance(a, Tensor):
                arr = a.data
                arrays.append(arr)
                if device is None:
                    device = a._device
                elif a._device != device:
                    raise backend.DeviceError(
                        f"{cls.__name__}: expected all tensors on the same device, but found tensors on "
                        f"{device} and {a._device} (shapes {[tuple(t.shape) for t in args if isinstance(t, Tensor)]});"
                        f" move them with .to({device!r}) or .to({a._device!r})")
                if track and a.requires_grad:
                    any_grad = True
                    need.append(True)
                    nxt.append(a.grad_fn or a)
                    meta.append((arr.shape, arr.dtype))
                    continue
            else:
                arrays.append(a)
            need.append(False)
            nxt.append(None)
            meta.append(None)
        if device is None or device == "cpu":
            device = "cpu"
            ctx.xp = np
        else:
            ctx.xp = backend.xp_for(device)
            # plain NumPy arrays given to a GPU op (ids, targets, masks) follow it there
            arrays = [backend.to_device(a, device) if isinstance(a, np.ndarray) else a for a in arrays]
        ctx.device = device
        ctx.needs_input_grad = tuple(need)
        try:
            out = cls.forward(ctx, *arrays, **kwargs)
        except (ValueError, TypeError) as e:       # e.g. shapes that do not broadcast: name the op and shapes
            raise OpError(f"{cls.__name__}: {e} (inputs: {_signature(args)})") from None
        out_device = "cpu"
        if type(out) is not np.ndarray:
            if not hasattr(out, "ndim") or isinstance(out, np.generic):
                out = ctx.xp.asarray(out)
            elif isinstance(out, Tensor):
                raise OpError(f"{cls.__name__}.forward returned a Tensor; forward works on arrays and must return "
                              "an array (return t.data, or compute with ctx.xp on the arrays it was given)")
            out_device = backend.device_of(out)
        t = Tensor._wrap(out, out_device)
        if not any_grad:
            return t
        if out_device != device:    # an op that copies to another device (ToDevice): the gradient will come from
            ctx.device, ctx.xp = out_device, backend.xp_for(out_device)   # there, so hooks and .grad live there
        ctx.next = tuple(nxt)
        ctx.in_meta = tuple(meta)
        ctx.out_shape, ctx.out_dtype = out.shape, out.dtype
        if getattr(_state, "anomaly", False):
            _check_finite(out, ctx, "the forward output")
        t.grad_fn = ctx
        t.requires_grad = True
        return t

    def _release(self):
        d = self.__dict__
        for k in [k for k in d if k not in self._KEEP]:
            del d[k]
        self.released = True

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__}Backward>"


def topological_order(root):
    """Function nodes reachable from ``root``, each after all of its inputs (iterative DFS)."""
    order, seen = [], {root}
    stack = [(root, iter(root.next))]
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


def run_backward(root_tensor, grad, retain_graph=False):
    """Accumulate d(root)/d(leaf) into every leaf's ``.grad``."""
    root = root_tensor.grad_fn
    anomaly = is_anomaly_enabled()
    order = topological_order(root)
    grads = {root: grad}
    leaves = {}  # id(tensor) -> [tensor, summed grad]
    taken = set()  # ids of the arrays handed out as some tensor's .grad
    for ctx in reversed(order):
        g = grads.pop(ctx, None)
        if g is None:
            continue
        if ctx.released:
            raise GraphReleasedError(
                f"backward through {type(ctx).__name__} a second time: its saved arrays were freed after the "
                "first backward. Pass retain_graph=True to the first .backward() to keep them.")
        if ctx._hooks:
            g = _run_hooks(ctx._hooks, g, ctx.device, f"the output of {type(ctx).__name__}")
        if ctx._retain is not None:
            t = ctx._retain()
            if t is not None:
                t.grad = Tensor._wrap(_own(g, taken) if t.grad is None else t.grad.data + g, ctx.device)
        in_grads = type(ctx).backward(ctx, g)
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
    for leaf, g in leaves.values():
        if leaf._hooks:
            g = _run_hooks(leaf._hooks, g, leaf._device, f"a leaf of shape {tuple(leaf.shape)}")
        leaf.grad = Tensor._wrap(_own(g, taken) if leaf.grad is None else leaf.grad.data + g, leaf._device)
    if not retain_graph:
        for ctx in order:
            ctx._release()


_topological_order = topological_order   # the name the first tests used
