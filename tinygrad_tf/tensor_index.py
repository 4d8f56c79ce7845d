"""Tensor's methods that pick by index or by order: gather, scatter, scatter_add, sort, argsort, topk.

``Tensor`` (tensor.py) inherits them from ``IndexOps``. Each checks what the user passed, naming the op
and the shapes when it is wrong, then calls a Function from index_ops.py -- read that for the math.
sort and topk return ``(values, indices)`` named tuples, as PyTorch's ``torch.return_types``:
``values, indices = x.topk(3)`` or ``x.sort().values``.
"""

from __future__ import annotations

import operator
from collections import namedtuple

from . import autograd, backend
from . import index_ops as I
from .tensor_args import _broadcast_pair, _dim, _index_array, _index_tensor, _is_tensor

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

    # ------------------------------------------------------------ whole slices by a 1-D index
    def _slice_index(self, op, dim, index, negative=False):
        """``dim`` as an axis and ``index`` as a checked 1-D (or 0-d) integer array of positions along it; negative
        positions count from the end only where PyTorch allows them (``negative``: index_fill), else they are
        errors as in PyTorch."""
        d, idx = _dim(op, dim, self.ndim), _index_array(op, index, self)
        if idx.dtype.kind not in "iu" or idx.ndim > 1:
            raise IndexError(f"{op}: index must be a 1-D integer tensor, got {idx.dtype} of shape {tuple(idx.shape)}")
        n = self.shape[d] if self.ndim else 1
        idx = idx.reshape(-1)
        if idx.size and (int(idx.min()) < (-n if negative else 0) or int(idx.max()) >= n):
            bad = int(idx.max()) if int(idx.max()) >= n else int(idx.min())
            raise IndexError(f"{op}: index {bad} is out of range for dim {d} of size {n} (tensor of shape "
                             f"{self.shape})")
        return d, idx % n if idx.size else idx

    def index_select(self, dim, index):
        """The slices at ``index`` (1-D integers) along ``dim``, in that order (repeats allowed)."""
        d, idx = self._slice_index("index_select", dim, index)
        x = self.reshape(1) if self.ndim == 0 else self
        return x[(slice(None),) * d + (idx,)]

    def index_add(self, dim, index, source, *, alpha=1):
        """A copy with ``source``'s slices added at ``index`` along ``dim`` (``y[index[i]] += alpha * source[i]``
        for dim 0; an index met twice adds twice)."""
        d, idx, source = self._index_args("index_add", dim, index, source)
        return I.IndexAdd.apply(self, d, idx, source, alpha)

    def index_copy(self, dim, index, source):
        """A copy with the slices at ``index`` along ``dim`` replaced by ``source``'s (``y[index[i]] = source[i]``)."""
        d, idx, source = self._index_args("index_copy", dim, index, source)
        return I.IndexCopy.apply(self, d, idx, source)

    def index_fill(self, dim, index, value):
        """A copy with the slices at ``index`` along ``dim`` set to ``value`` (a number or a 0-d tensor)."""
        d, idx = self._slice_index("index_fill", dim, index, negative=True)
        if _is_tensor(value):
            if value.ndim:
                raise RuntimeError(f"index_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
            value = value.item()
        return I.IndexCopy.apply(self, d, idx, value)

    def _index_args(self, op, dim, index, source):
        d, idx = self._slice_index(op, dim, index)
        if not _is_tensor(source):
            raise TypeError(f"{op}: source must be a Tensor, got {type(source).__name__}")
        want = self.shape[:d] + (len(idx),) + self.shape[d + 1:]
        if source.shape != want and not (self.ndim == 0 and source.numel() == len(idx)):
            raise RuntimeError(f"{op}: source of shape {source.shape} does not fit: for a tensor of shape {self.shape}"
                               f" and {len(idx)} indices along dim {d} it must have shape {want}")
        if source.dtype != self.dtype:
            raise TypeError(f"{op}: source has dtype {source.dtype} but the tensor {self.dtype}; they must be equal")
        if source.device != self.device:
            raise backend.DeviceError(f"{op}: the tensor is on {self.device} but source on {source.device}")
        return d, idx, source.reshape(want)

    # ------------------------------------------------------------ picking by masks and flat positions
    def masked_select(self, mask):
        """The elements where the bool ``mask`` (broadcast with the tensor) is True, as a 1-D tensor."""
        if not _is_tensor(mask) or mask.dtype != backend.bool_:
            raise TypeError(f"masked_select: mask must be a bool tensor, got "
                            f"{getattr(mask, 'dtype', type(mask).__name__)} (for a tensor of shape {self.shape})")
        x, mask = _broadcast_pair("masked_select", self, mask, f"the mask of shape {mask.shape} does not broadcast "
                                  f"with the tensor of shape {self.shape}")
        return x[mask]

    def nonzero(self, *, as_tuple=False):
        """The indices of the non-zero elements: an int64 tensor (n, ndim), one row per element; with
        ``as_tuple=True`` one 1-D tensor per dim (what indexing takes: ``x[x.nonzero(as_tuple=True)]``)."""
        xp = self._xp()
        found = xp.nonzero(self.data.reshape(1) if self.ndim == 0 else self.data)
        found = tuple(i.astype(backend.int64, copy=False) for i in found)
        wrap = self._plain
        if as_tuple:
            return tuple(wrap(i) for i in found)
        return wrap(xp.stack(found, axis=1) if self.ndim else xp.zeros((len(found[0]), 0), dtype=backend.int64))

    def argwhere(self):
        """``nonzero()``: the (n, ndim) indices of the non-zero elements."""
        return self.nonzero()

    def take(self, index):
        """The elements at ``index`` of the flattened tensor, in ``index``'s shape."""
        idx = self._slice_index_flat("take", index)
        return self.reshape(-1)[idx]

    def _slice_index_flat(self, op, index):
        idx = index.data if _is_tensor(index) else self._xp().asarray(index)
        if idx.dtype.kind not in "iu":
            raise IndexError(f"{op}: index must be an integer tensor, got {idx.dtype}")
        n = self.numel()
        if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
            raise IndexError(f"{op}: index {int(idx.max()) if int(idx.max()) >= n else int(idx.min())} is out of "
                             f"range for a tensor of {n} elements (shape {self.shape})")
        return idx

    def take_along_dim(self, indices, dim=None):
        """``gather`` with broadcasting: the values at ``indices`` along ``dim`` (the flattened tensor when ``dim``
        is None); ``indices`` and the tensor broadcast against each other except along ``dim``."""
        if dim is None:
            return self.take(indices.reshape(-1) if _is_tensor(indices) else indices)
        d = _dim("take_along_dim", dim, self.ndim)
        idx = indices if _is_tensor(indices) else self._plain(self._xp().asarray(indices))
        if idx.ndim != self.ndim:
            raise RuntimeError(f"take_along_dim: indices of shape {idx.shape} must have as many dims as the tensor "
                               f"of shape {self.shape}")
        shape = [max(a, b) for a, b in zip(self.shape, idx.shape)]
        x_shape, i_shape = list(shape), list(shape)
        x_shape[d], i_shape[d] = self.shape[d], idx.shape[d]
        x = self.expand(*x_shape) if tuple(x_shape) != self.shape else self
        idx = idx.expand(*i_shape) if tuple(i_shape) != idx.shape else idx
        n = self.shape[d]
        if idx.numel() and int(idx.data.min()) < 0:                # negative positions count from the end here
            if int(idx.data.min()) < -n:
                raise IndexError(f"take_along_dim: index {int(idx.data.min())} is out of range for dim {d} of size "
                                 f"{n} (tensor of shape {self.shape})")
            idx = self._plain(idx.data % n)
        return x.gather(d, idx)

    def _plain(self, arr):
        return autograd.Tensor._wrap(arr, self._device)

    # ------------------------------------------------------------ counting (no gradient)
    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
        """The distinct values, sorted (``sorted=False`` sorts them too); with ``return_inverse`` also where each
        element's value is among them, with ``return_counts`` how often each occurs (a tuple, as PyTorch).
        ``dim``: the distinct slices along that dim."""
        xp = self._xp()
        d = None if dim is None else _dim("unique", dim, self.ndim)
        values, inverse, counts = xp.unique(self.data, return_inverse=True, return_counts=True, axis=d)
        out = [self._plain(values)]
        if return_inverse:
            inverse = inverse.reshape(self.shape if d is None else (self.shape[d],))
            out.append(self._plain(inverse.astype(backend.int64)))
        if return_counts:
            out.append(self._plain(counts.astype(backend.int64)))
        return out[0] if len(out) == 1 else tuple(out)

    def bincount(self, weights=None, minlength=0):
        """How often each value 0, 1, 2, ... occurs in this 1-D tensor of non-negative integers (summing
        ``weights`` instead of counting 1s, when given); at least ``minlength`` long."""
        arr = self.data
        if arr.ndim != 1 or arr.dtype.kind not in "iu" or (arr.size and int(arr.min()) < 0):
            raise RuntimeError(f"bincount: expected a 1-D tensor of non-negative integers, got {arr.dtype} of shape "
                               f"{tuple(arr.shape)}")
        w = weights.data if _is_tensor(weights) else weights
        out = self._xp().bincount(arr, weights=w, minlength=minlength)
        if w is None:
            out = out.astype(backend.int64)
        elif getattr(w, "dtype", None) in (backend.float32, backend.float16):
            out = out.astype(w.dtype)
        return self._plain(out)

    def histc(self, bins=100, min=0, max=0):  # noqa: A002
        """A histogram: counts in ``bins`` equal bins over [min, max] (the data's own range when both are 0);
        elements outside are left out. In the tensor's dtype."""
        if self.dtype.kind != "f":
            raise RuntimeError(f"histc: expected a floating-point tensor, got {self.dtype}")
        arr = self.data
        if min == 0 and max == 0 and arr.size:
            min, max = float(arr.min()), float(arr.max())  # noqa: A001
        if min == max:
            min, max = min - 1, max + 1  # noqa: A001
        if min > max:
            raise RuntimeError(f"histc: max must be larger than min, got min={min}, max={max}")
        counts, _ = self._xp().histogram(arr, bins=bins, range=(min, max))
        return self._plain(counts.astype(self.dtype))
