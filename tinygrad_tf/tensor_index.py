"""Tensor's methods that pick by index or by order: gather, scatter, scatter_add, sort, argsort, topk.

``Tensor`` (tensor.py) inherits them from ``IndexOps``. Each checks what the user passed, naming the op
and the shapes when it is wrong, then calls a Function from index_ops.py -- read that for the math.
sort and topk return ``(values, indices)`` named tuples, as PyTorch's ``torch.return_types``:
``values, indices = x.topk(3)`` or ``x.sort().values``.
"""

from __future__ import annotations

import operator
from collections import namedtuple

from . import backend
from . import index_ops as I
from .tensor_args import _dim, _index_tensor, _is_tensor

sort_result = namedtuple("sort", ["values", "indices"])
sort_result.__doc__ = "What ``sort`` returns: ``.values`` (differentiable) and ``.indices`` (int64)."
topk_result = namedtuple("topk", ["values", "indices"])
topk_result.__doc__ = "What ``topk`` returns: ``.values`` (differentiable) and ``.indices`` (int64)."


def _check_extent(op, index_shape, what, shape, skip=None):
    """index may not be longer than ``shape`` (the tensor, or src) along any dim but ``skip``."""
    for d, (a, b) in enumerate(zip(index_shape, shape)):
        if d != skip and a > b:
            but = "" if skip is None else f" (only dim {skip} may be longer)"
            raise RuntimeError(f"{op}: index of shape {tuple(index_shape)} is longer than {what} of shape "
                               f"{tuple(shape)} along dim {d}{but}")


class IndexOps:
    __slots__ = ()

    # ------------------------------------------------------------ gather / scatter
    def gather(self, dim, index):
        """``y[i][j] = x[i][index[i][j]]`` for ``dim=1``: values picked along ``dim``; y has index's shape."""
        d = _dim("gather", dim, self.ndim)
        idx = _index_tensor("gather", index, self, d)
        _check_extent("gather", idx.shape, "the tensor", self.shape, skip=d)
        if self.ndim == 0:
            return I.Gather.apply(self.reshape(1), 0, idx.reshape(1)).reshape(())
        return I.Gather.apply(self, d, idx)

    def scatter(self, dim, index, src=None, *, value=None):
        """A copy with ``y[i][index[i][j]] = src[i][j]`` (``dim=1``); ``src`` may be a number (``value=``).
        Where index repeats, which value lands there is not defined (as in PyTorch)."""
        d, idx, src = self._scatter_args("scatter", dim, index, value if src is None else src, numbers=True)
        return self._scattered(I.Scatter, d, idx, src)

    def scatter_add(self, dim, index, src):
        """A copy with ``y[i][index[i][j]] += src[i][j]`` (``dim=1``): values meeting at one index add up."""
        d, idx, src = self._scatter_args("scatter_add", dim, index, src, numbers=False)
        return self._scattered(I.ScatterAdd, d, idx, src)

    def _scatter_args(self, op, dim, index, src, numbers):
        d = _dim(op, dim, self.ndim)
        idx = _index_tensor(op, index, self, d)
        _check_extent(op, idx.shape, "the tensor", self.shape, skip=d)
        if not _is_tensor(src):
            if numbers and isinstance(src, (int, float, bool)):
                return d, idx, src
            raise TypeError(f"{op}: src must be a Tensor{' or a number' if numbers else ''}, got "
                            f"{type(src).__name__}")
        if src.device != self.device:
            raise backend.DeviceError(f"{op}: the tensor is on {self.device} but src on {src.device}")
        if src.dtype != self.dtype:
            raise TypeError(f"{op}: src has dtype {src.dtype} but the tensor {self.dtype}; they must be equal "
                            f"(convert with src.to({str(self.dtype)!r}))")
        if src.ndim != idx.ndim:
            raise RuntimeError(f"{op}: index of shape {tuple(idx.shape)} must have as many dimensions as src of "
                               f"shape {src.shape}")
        _check_extent(op, idx.shape, "src", src.shape)
        return d, idx, src

    def _scattered(self, op, d, idx, src):
        if self.ndim == 0:
            src = src.reshape(1) if _is_tensor(src) else src
            return op.apply(self.reshape(1), 0, idx.reshape(1), src).reshape(())
        return op.apply(self, d, idx, src)

    # ------------------------------------------------------------ orders
    def sort(self, dim=-1, descending=False, stable=False):
        """``(values, indices)`` sorted along ``dim``. The sort is always stable (equal values keep their
        order, so ``stable=True`` and ``False`` agree); NaN sorts as the largest value, as PyTorch."""
        x, d = self._flat_if_0d("sort", dim)
        order = I.sort_order(x._xp(), x.data, d, descending)
        return sort_result(*self._picked(x, d, order))

    def argsort(self, dim=-1, descending=False, stable=False):
        """The int64 indices that sort the tensor along ``dim`` (``sort(...).indices``)."""
        x, d = self._flat_if_0d("argsort", dim)
        order = I.sort_order(x._xp(), x.data, d, descending)
        return self._wrap(order.reshape(self.shape), self._device)

    def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002  (PyTorch's argument name)
        """``(values, indices)`` of the ``k`` largest values along ``dim`` (the smallest with
        ``largest=False``), best first (always sorted); NaN counts as the largest value."""
        x, d = self._flat_if_0d("topk", dim)
        n = x.shape[d]
        k = operator.index(k)
        if not 0 <= k <= n:
            raise RuntimeError(f"topk: k={k!r} is out of range for dim {dim} of size {n} (tensor of shape "
                               f"{self.shape}); expected 0 <= k <= {n}")
        order = I.topk_order(x._xp(), x.data, k, d, largest)
        return topk_result(*self._picked(x, d, order))

    def _flat_if_0d(self, op, dim):
        """A 0-d tensor sorts as a 1-element one (and its results are 0-d again)."""
        d = _dim(op, dim, self.ndim)
        return (self.reshape(1), 0) if self.ndim == 0 else (self, d)

    def _picked(self, x, d, order):
        values = I.Gather.apply(x, d, order)
        if self.ndim == 0:
            values, order = values.reshape(()), order.reshape(())
        return values, self._wrap(order.astype(backend.int64, copy=False), self._device)
