"""What a backward sees when its own result must be differentiable (``create_graph=True``).

An op's ``backward`` is written once, with operators and ``ctx.xp`` functions. Normally it runs on arrays:
``ctx`` is the graph node, ``grad`` and ``ctx.saved_tensors`` are arrays, ``ctx.xp`` is numpy or cupy. For a
second derivative the SAME backward runs on Tensors, so that every step it takes is recorded:

* ``grad`` is a Tensor (on the graph of the first backward);
* ``ctx`` is a ``GraphContext``: the node's own attributes, except that ``saved_tensors`` are Tensors on the
  graph -- an input saved by ``forward`` is that input (its node is in ``ctx.next``), the output is the output,
  a value made with ``ctx.derived`` is derived again from those by its recipe, and anything else (a mask, an
  index, a random draw) is a constant;
* ``ctx.xp`` is a ``TensorXP``: NumPy's function names (``exp``, ``where``, ``sum``, ``moveaxis``, ``einsum``,
  ``linalg.inv``, ...), each computed by the engine's differentiable ops.

The module registers ``GraphContext`` with autograd when it is imported (``import tinygrad_tf`` does).
"""

from __future__ import annotations

import numpy as np

from . import autograd, backend
from . import linalg_ops as L
from . import ops as O
from . import reduce_ops as R
from . import shape_ops as S
from .einsum import einsum as _einsum
from .function import _Input
from .tensor import Tensor


def _on_graph(value, node):
    """A Tensor holding ``value`` whose gradient flows into ``node``: the output of that node."""
    t = Tensor._wrap(value, backend.device_of(value))
    t.grad_fn, t.requires_grad = node, True
    return t


class GraphContext:
    """``ctx`` for a backward run with ``create_graph=True``: the node's attributes (``needs_input_grad``, the
    axes it kept, ...), with ``saved_tensors`` as Tensors on the graph and ``xp`` a ``TensorXP``."""

    __slots__ = ("node", "xp", "_saved", "_used", "_recomputed")

    def __init__(self, node):
        self.node, self.xp = node, TensorXP.on(node.device)
        self._saved, self._used, self._recomputed = None, set(), {}

    def __getattr__(self, name):
        return getattr(self.node, name)

    @property
    def saved_tensors(self):
        if self._saved is None:
            self._saved = tuple(self._lift(v, saved=True) for v in self.node.saved_tensors)
        return self._saved

    def _input(self, i, value):
        src = self.node.next[i]
        if src is None:                      # an input that needs no gradient: a constant
            return Tensor._wrap(value, backend.device_of(value))
        return src if isinstance(src, Tensor) else _on_graph(value, src)   # a leaf is itself

    def _input_value(self, i):
        """Input i's array: the leaf's data, the array the forward saved, or the op's ``input_from_saved``."""
        node = self.node
        src = node.next[i]
        if isinstance(src, Tensor):
            return src.data
        for v in node.saved_tensors:
            if id(v) == node._in_ids[i]:
                return v
        return type(node).input_from_saved(node, i)

    def _lift(self, value, saved=False):
        """A value ``forward`` kept, as the backward on the graph must see it."""
        if isinstance(value, _Input):        # an input in a ctx.derived recipe
            return self._input(value.i, self._input_value(value.i))
        if isinstance(value, Tensor) or not hasattr(value, "dtype"):
            return value                     # numbers, None, tuples of ints ...
        node, key = self.node, id(value)
        if key == node._out_id:              # (a 0-d result may be a NumPy scalar: tanh(0-d x) is np.float64)
            return _on_graph(self.xp.array.asarray(value), node)
        matches = [i for i, k in enumerate(node._in_ids) if k == key]
        if matches:   # the same array may be two inputs (x * x.detach()): saved ones are taken in input order
            free = [i for i in matches if i not in self._used] if saved else \
                [i for i in matches if node.next[i] is not None]
            i = (free or matches)[0]
            self._used.add(i)
            return self._input(i, value)
        recipe = getattr(node, "_derived", {}).get(key)
        if recipe is not None and recipe[2]() is value:
            (fn, args), k, _ = recipe
            out = self._recomputed.get(id(recipe[0]))
            if out is None:
                out = self._recomputed[id(recipe[0])] = fn(self.xp, *(self._lift(a) for a in args))
            return out if k is None else out[k]
        if isinstance(value, np.generic):
            return value                     # a NumPy number computed in forward: a constant
        if value.dtype.kind in "fc":         # computed in forward from nothing we can follow: a constant
            return Tensor._wrap(value, backend.device_of(value))
        return value                         # masks and indices stay arrays (they index and compare)


def _seq(axis, ndim):
    """An axis or a sequence of them, as a tuple of non-negative axes."""
    return tuple(a % ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))


def _axes(axis, ndim):
    """A reduction's axes as the reductions take them: sorted, non-negative, all of them for None."""
    return tuple(range(ndim)) if axis is None else tuple(sorted(_seq(axis, max(ndim, 1))))


class _Linalg:
    def __init__(self, xp):
        self.xp = xp

    def inv(self, a):
        return L.Inv.apply(self.xp.tensor(a))

    def det(self, a):
        return L.Det.apply(self.xp.tensor(a))

    def solve(self, a, b):
        return L.Solve.apply(self.xp.tensor(a), self.xp.tensor(b))


class TensorXP:
    """``ctx.xp`` in a backward run with ``create_graph=True``: NumPy's names and argument conventions
    (``axis``, ``keepdims``, ``out=``), computed by Tensor ops so that the backward is recorded.

    ``out=`` rebinds the given Tensor to the result (the Tensor analogue of writing into its buffer), and
    the Python in-place operators (``gx *= y``) are Tensor in-place ops, so backwards that reuse buffers
    run here unchanged. Arrays and numbers given in are constants; ``arange`` gives a plain array (indices).
    """

    _made: dict = {}

    @classmethod
    def on(cls, device):
        ns = cls._made.get(device)
        if ns is None:
            ns = cls._made[device] = cls(device)
        return ns

    def __init__(self, device):
        self.device = device
        self.array = backend.xp_for(device)      # the array module, for constants
        self.linalg = _Linalg(self)

    def tensor(self, x):
        """``x`` as a Tensor: itself, or a constant made from an array or a number."""
        return x if isinstance(x, Tensor) else Tensor._wrap(self.array.asarray(x), self.device)

    @staticmethod
    def _out(result, out):
        if out is None:
            return result
        out._data, out.grad_fn, out.requires_grad = result.data, result.grad_fn, result.requires_grad
        return out

    # ------------------------------------------------------------ constants
    def asarray(self, x, dtype=None):
        t = self.tensor(x)
        return t if dtype is None or t.dtype == dtype else t.type(dtype)

    def zeros(self, shape, dtype=float):
        return Tensor._wrap(self.array.zeros(shape, dtype=dtype), self.device)

    def ones(self, shape, dtype=float):
        return Tensor._wrap(self.array.ones(shape, dtype=dtype), self.device)

    def zeros_like(self, x, dtype=None):
        return self.zeros(tuple(x.shape), x.dtype if dtype is None else dtype)

    def ones_like(self, x, dtype=None):
        return self.ones(tuple(x.shape), x.dtype if dtype is None else dtype)

    empty_like = zeros_like

    def arange(self, *args, **kwargs):
        return self.array.arange(*args, **kwargs)

    def copy(self, x):
        return self.tensor(x).clone()

    # ------------------------------------------------------------ elementwise
    def exp(self, x, out=None): return self._out(O.Exp.apply(self.tensor(x)), out)       # noqa: E704
    def log(self, x, out=None): return self._out(O.Log.apply(self.tensor(x)), out)       # noqa: E704
    def sqrt(self, x, out=None): return self._out(O.Sqrt.apply(self.tensor(x)), out)     # noqa: E704
    def abs(self, x): return O.Abs.apply(self.tensor(x))                                 # noqa: E704
    def sign(self, x): return self.tensor(x).sign()                                      # noqa: E704
    def sin(self, x): return O.Sin.apply(self.tensor(x))                                 # noqa: E704
    def cos(self, x): return O.Cos.apply(self.tensor(x))                                 # noqa: E704
    def tanh(self, x): return O.Tanh.apply(self.tensor(x))                               # noqa: E704
    def sinh(self, x): return self.tensor(x).sinh()                                      # noqa: E704
    def cosh(self, x): return self.tensor(x).cosh()                                      # noqa: E704
    def erf(self, x): return self.tensor(x).erf()                                        # noqa: E704

    def add(self, a, b, out=None): return self._out(self.tensor(a) + b, out)             # noqa: E704
    def subtract(self, a, b, out=None): return self._out(self.tensor(a) - b, out)        # noqa: E704
    def multiply(self, a, b, out=None): return self._out(self.tensor(a) * b, out)        # noqa: E704
    def divide(self, a, b, out=None): return self._out(self.tensor(a) / b, out)          # noqa: E704
    def negative(self, a, out=None): return self._out(-self.tensor(a), out)              # noqa: E704
    def maximum(self, a, b): return O.Maximum.apply(self.tensor(a), self.tensor(b))      # noqa: E704
    def minimum(self, a, b): return O.Minimum.apply(self.tensor(a), self.tensor(b))      # noqa: E704

    def where(self, cond, a, b):
        cond = cond.data if isinstance(cond, Tensor) else self.array.asarray(cond)
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            return Tensor._wrap(self.array.where(cond, a, b), self.device)
        return O.Where.apply(cond, a, b)

    def clip(self, x, lo, hi):
        return O.Clamp.apply(self.tensor(x), lo, hi)

    # ------------------------------------------------------------ reductions and scans
    def sum(self, x, axis=None, keepdims=False):
        x = self.tensor(x)
        return R.Sum.apply(x, _axes(axis, x.ndim), keepdims)

    def mean(self, x, axis=None, keepdims=False):
        x = self.tensor(x)
        return R.Mean.apply(x, _axes(axis, x.ndim), keepdims)

    def max(self, x, axis=None, keepdims=False):
        x = self.tensor(x)
        return R.Max.apply(x, _axes(axis, x.ndim), keepdims, True)

    def cumsum(self, x, axis):
        return R.CumSum.apply(self.tensor(x), axis)

    def cumprod(self, x, axis):
        return R.CumProd.apply(self.tensor(x), axis)

    # ------------------------------------------------------------ shapes
    def reshape(self, x, shape):
        return S.Reshape.apply(self.tensor(x), tuple(shape))

    def transpose(self, x, axes=None):
        x = self.tensor(x)
        return S.Permute.apply(x, tuple(reversed(range(x.ndim))) if axes is None else _seq(axes, x.ndim))

    def swapaxes(self, x, a, b):
        x = self.tensor(x)
        axes = list(range(x.ndim))
        a, b = a % x.ndim, b % x.ndim
        axes[a], axes[b] = axes[b], axes[a]
        return S.Permute.apply(x, tuple(axes))

    def moveaxis(self, x, source, destination):
        x = self.tensor(x)
        src, dst = _seq(source, x.ndim), _seq(destination, x.ndim)
        order = [n for n in range(x.ndim) if n not in src]
        for d, s in sorted(zip(dst, src)):
            order.insert(d, s)
        return S.Permute.apply(x, tuple(order))

    def broadcast_to(self, x, shape):
        return S.Expand.apply(self.tensor(x), tuple(shape))

    def expand_dims(self, x, axis):
        x = self.tensor(x)
        n = x.ndim + (len(axis) if isinstance(axis, (tuple, list)) else 1)
        new = set(_seq(axis, n))
        dims = iter(x.shape)
        return S.Reshape.apply(x, tuple(1 if a in new else next(dims) for a in range(n)))

    def flip(self, x, axis):
        return S.Flip.apply(self.tensor(x), axis)

    def roll(self, x, shift, axis=None):
        return S.Roll.apply(self.tensor(x), shift, axis)

    def take(self, x, index, axis):
        x = self.tensor(x)
        return x[(slice(None),) * (axis % x.ndim) + (index,)]

    def split(self, x, indices, axis=0):
        x = self.tensor(x)
        lead, bounds = (slice(None),) * (axis % x.ndim), [0, *indices, x.shape[axis]]
        return [x[lead + (slice(a, b),)] for a, b in zip(bounds, bounds[1:])]

    def concatenate(self, xs, axis=0):
        return S.Cat.apply(*(self.tensor(x) for x in xs), dim=axis)

    def stack(self, xs, axis=0):
        return S.Stack.apply(*(self.tensor(x) for x in xs), dim=axis)

    # ------------------------------------------------------------ products, and what NumPy lacks
    def einsum(self, spec, *operands, optimize=False):
        return _einsum(spec, *(self.tensor(x) for x in operands))

    def scatter_add(self, target, index, values):
        """``backend.scatter_add`` on the graph: target with values added at index (repeats add up)."""
        return S.AddAt.apply(self.tensor(target), self.tensor(values), index)

    def adjugate(self, a):
        """adj(A) = det(A) A^-1 (``linalg_ops.adjugate`` on the graph; A must be invertible here)."""
        return self.linalg.det(a)[..., None, None] * self.linalg.inv(a)


autograd._graph_context = GraphContext
