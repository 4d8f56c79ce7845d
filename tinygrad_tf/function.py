"""``Function``: one differentiable op, and the node of the graph it leaves behind.

An op is a subclass with ``forward(ctx, *arrays)`` and ``backward(ctx, grad)`` as staticmethods (PyTorch's
shape). ``Op.apply(*args)`` runs ``forward`` on the arrays inside its Tensor arguments and, if any of them
needs a gradient, makes the ctx the output's ``grad_fn``: it records where each input came from
(``ctx.next``), their shapes (``ctx.in_meta``) and which arrays are the inputs and the output, so that a
backward run with ``create_graph=True`` can find them on the graph again (see autograd.py and graph_xp.py).
The backward pass that walks these nodes is in autograd.py.
"""

from __future__ import annotations

import weakref

import numpy as np

from . import backend
from .grad_mode import AnomalyError, _state

Tensor = None  # set by tensor.py once the class exists (the two modules need each other)


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


class _Input:
    """Input ``i`` of the op, standing in a ``ctx.derived`` recipe for the array (which is not kept)."""

    __slots__ = ("i",)

    def __init__(self, i):
        self.i = i


# In-place writes into an array's memory (``w += 1`` under no_grad, ``t[0] = 5``, nn.init) are stamped with a
# clock that counts them, per memory buffer -- a view and its base share one, as PyTorch's version counters do.
# An op notes the clock when it saves arrays for its backward; backward refuses a node whose saved arrays were
# written after that, instead of computing a gradient from values that are not the ones the forward used.
_WRITTEN: dict = {}          # id(buffer) -> the clock at its last in-place write
_clock = 0


def _buffer(arr):
    base = getattr(arr, "base", None)
    return arr if base is None else base


def bump_version(arr):
    """Record that ``arr``'s memory was written in place (tensor_inplace.py and ``t[index] = v`` call this)."""
    global _clock
    buf = _buffer(arr)
    key = id(buf)
    if key not in _WRITTEN:
        try:
            weakref.finalize(buf, _WRITTEN.pop, key, None)   # forget the buffer with it (ids are reused)
        except TypeError:
            pass
    _clock += 1
    _WRITTEN[key] = _clock


def check_saved(ctx):
    """Raise if an array ``ctx`` saved for its backward was written in place after its forward saved it."""
    saved_at = ctx.__dict__.get("_saved_at")
    if saved_at is None or saved_at == _clock:       # nothing at all was written since: the common case
        return
    for k, a in enumerate(ctx.saved_tensors):
        if _WRITTEN.get(id(_buffer(a)), 0) > saved_at:
            which = next((f"input {i} of" for i, m in enumerate(ctx._in_ids) if m == id(a)), None)
            which = which or ("the output of" if ctx.__dict__.get("_out_id") == id(a) else f"saved array {k} of")
            raise RuntimeError(
                f"backward: {which} {_describe(ctx)}, an array of shape {tuple(a.shape)} that the gradient needs, "
                "was changed by an in-place operation after the forward pass; the gradient would be computed "
                "from the new values. Make the change out of place (w = w + 10 instead of w += 10), or make it "
                "before the forward pass or after backward")


def _weak(value):
    """A weak reference to an array (a strong one where the array type allows none)."""
    try:
        return weakref.ref(value)
    except TypeError:
        return lambda: value


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
                       "in_refs", "_hooks", "_retain", "released"))

    def save_for_backward(self, *arrays):
        """Keep arrays for ``backward`` (``ctx.saved_tensors``). Save the inputs and the output themselves, not
        copies or views of them, and make anything else computed from the inputs with ``ctx.derived``: that is
        how a backward run with ``create_graph=True`` finds them on the graph (see the module docstring)."""
        self.saved_tensors = arrays
        self._saved_at = _clock                 # (check_saved: were they written in place after this?)

    def derived(self, fn, *args):
        """``fn(ctx.xp, *args)``, remembered as that function of ``args``: for values a forward computes from its
        inputs and saves for backward (layer norm's normalised x and 1/std, GELU's slope, a softmax).

        A plain backward uses the arrays computed here. A backward run with ``create_graph=True`` is itself
        differentiated, so it needs these values as functions of the inputs, not as numbers: there
        ``ctx.saved_tensors`` runs ``fn`` again, with the inputs as Tensors on the graph and ``xp`` making
        Tensor ops. ``fn`` returns one array or a tuple of them; write it with ``xp`` functions and operators.
        The inputs among ``args`` are not kept for this (every plain training step would pay the memory): an
        input the forward saves anyway is used as it is, and an op that keeps only what its backward needs says
        how to get the input back in ``input_from_saved``.
        """
        out = fn(self.xp, *args)
        ids = self.__dict__.get("_in_ids")
        if ids is None:                              # nothing needs a gradient: this node is not recorded
            return out
        recipes = self.__dict__.setdefault("_derived", {})
        recipe = (fn, tuple(_Input(ids.index(id(a))) if hasattr(a, "shape") and id(a) in ids else a for a in args))
        for k, value in enumerate(out) if isinstance(out, tuple) else ((None, out),):
            recipes[id(value)] = (recipe, k, _weak(value))   # (the id is matched only while the value lives)
        return out

    @staticmethod
    def input_from_saved(ctx, i):
        """The value of input ``i``, from what ``forward`` saved (arrays): for ``create_graph=True``, where a value
        made by ``ctx.derived`` is computed again from an input the forward did not keep. An op that needs it
        defines it (layer norm: x - mean = xhat / rstd, which layer norm cannot tell from x)."""
        raise RuntimeError(f"{type(ctx).__name__}: differentiating its backward (create_graph=True) needs input {i}, "
                           f"which its forward did not keep; save it, or define {type(ctx).__name__}.input_from_saved")

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
        arrays = []
        device = None
        any_grad = False
        for a in args:          # the arrays forward works on, their one device, and whether the graph is recorded
            if isinstance(a, Tensor):
                arrays.append(a._data)
                if device is None:
                    device = a._device
                elif a._device != device:
                    raise backend.DeviceError(
                        f"{cls.__name__}: expected all tensors on the same device, but found tensors on "
                        f"{device} and {a._device} (shapes {[tuple(t.shape) for t in args if isinstance(t, Tensor)]});"
                        f" move them with .to({device!r}) or .to({a._device!r})")
                if track and a.requires_grad:
                    any_grad = True
            else:
                arrays.append(a)
        if any_grad:            # the graph edges, only when there is a graph (inference skips this loop)
            ctx.needs_input_grad = need = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
            nxt = tuple((a.grad_fn or a) if n else None for a, n in zip(args, need))
            meta = tuple((a._data.shape, a._data.dtype) if isinstance(a, Tensor) else None for a in args)
            # an input that needs no gradient: drawings show it (weakly held)
            refs = [a if isinstance(a, Tensor) and not n else None for a, n in zip(args, need)]
        else:
            ctx.needs_input_grad = (False,) * len(args)
        if device is None or device == "cpu":
            device = "cpu"
            ctx.xp = np
        else:
            ctx.xp = backend.xp_for(device)
            # plain NumPy arrays given to a GPU op (ids, targets, masks) follow it there
            arrays = [backend.to_device(a, device) if isinstance(a, np.ndarray) else a for a in arrays]
        ctx.device = device
        if any_grad:    # which saved arrays are the inputs, for a backward with create_graph=True
            ctx._in_ids = tuple(map(id, arrays))
        try:
            out = cls.forward(ctx, *arrays, **kwargs)
        except (ValueError, TypeError) as e:       # e.g. shapes that do not broadcast: name the op and shapes
            raise OpError(f"{cls.__name__}: {e} (inputs: {_signature(args)})") from None
        out_device = "cpu"
        out_id = id(out)
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
        ctx.next = nxt
        ctx.in_meta = meta
        if any(r is not None for r in refs):
            ctx.in_refs = tuple(weakref.ref(r) if r is not None else None for r in refs)
        ctx.out_shape, ctx.out_dtype = out.shape, out.dtype
        ctx._out_id = out_id
        if getattr(_state, "anomaly", False):
            _check_finite(out, ctx, "the forward output")
        t.grad_fn = ctx
        t.requires_grad = True
        return t

    @classmethod
    def forward_only(cls, *arrays, **kwargs):
        """``forward`` on NumPy arrays, with no graph, no checks and no Tensors: the array ``apply`` computes when
        nothing needs a gradient, without what ``apply`` pays to wrap it (a few microseconds a call). For code
        that chains many small ops on arrays it has made itself, as GPT's decoding step (nn/models/gpt_decode.py)."""
        ctx = cls.__new__(cls)
        ctx.xp, ctx.device, ctx.needs_input_grad = np, "cpu", (False,) * len(arrays)
        return cls.forward(ctx, *arrays, **kwargs)

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
