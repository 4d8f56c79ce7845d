"""More of PyTorch's module-level functions: tensors from NumPy (``from_numpy``, ``as_tensor``), dtype facts
(``finfo``, ``iinfo``, the default dtype), index grids (``meshgrid``, ``tril_indices``), joining (``hstack``,
``broadcast_tensors``), statistics that come in pairs (``std_mean``), distances (``cdist``), and counting
(``searchsorted``, ``bucketize``, ``histogram``).

The module-level twins of this round's Tensor methods (``tg.log1p(x)`` is ``x.log1p()``) are listed in ``TWINS``.
"""

from __future__ import annotations

import math
import operator
from collections import namedtuple

import numpy as np

from . import backend
from .autograd import OpError
from .factory import _check_same, cat, empty, stack
from .tensor import Tensor
from .tensor_args import _dim

__all__ = ["from_numpy", "as_tensor", "asarray", "is_tensor", "empty_like", "finfo", "iinfo", "get_default_dtype",
           "set_default_dtype", "tril_indices", "triu_indices", "meshgrid", "broadcast_tensors", "broadcast_shapes",
           "atleast_1d", "atleast_2d", "atleast_3d", "hstack", "vstack", "row_stack", "dstack", "column_stack",
           "std_mean", "var_mean", "cdist", "tensordot", "isin", "searchsorted", "bucketize", "histogram",
           "cartesian_prod", "initial_seed", "seed", "get_rng_state", "set_rng_state", "Size"]

TWINS = ("log1p expm1 log2 log10 exp2 erf erfc reciprocal tan sinh cosh asin acos atan asinh acosh atanh arcsin "
         "arccos arctan arcsinh arccosh arctanh floor ceil round trunc fix sign sgn frac nan_to_num logit deg2rad "
         "rad2deg positive negative absolute neg square rsqrt atan2 arctan2 hypot remainder fmod lerp floor_divide "
         "true_divide multiply divide subtract logaddexp clamp_min clamp_max clip isnan isinf isfinite isposinf "
         "isneginf signbit logical_and logical_or logical_xor logical_not bitwise_and bitwise_or bitwise_xor "
         "bitwise_not eq ne lt le gt ge greater greater_equal less less_equal not_equal isclose allclose equal "
         "count_nonzero prod amax amin aminmax nansum nanmean cumprod median diff norm all any mm bmm mv dot vdot "
         "inner outer ger addmm addmv baddbmm addcmul addcdiv trace repeat_interleave tile narrow select unbind "
         "tensor_split hsplit vsplit swapaxes swapdims moveaxis movedim fliplr flipud rot90 diagonal diag "
         "diag_embed diagflat ravel index_select index_add index_copy index_fill masked_select nonzero argwhere "
         "take take_along_dim broadcast_to unflatten is_floating_point is_complex is_nonzero is_same_size detach "
         "inverse det logdet slogdet unique bincount histc cross cov corrcoef kron quantile msort dist "
         "float_power xlogy split_with_sizes").split()


# ---------------------------------------------------------------- from NumPy and other data
def from_numpy(ndarray) -> Tensor:
    """A tensor that shares ``ndarray``'s memory (changes to one show in the other) and keeps its dtype."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(ndarray).__name__})")
    if ndarray.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: can't convert an array of dtype {ndarray.dtype}; the supported dtypes are "
                        "float64, float32, float16, int64, int32, int16, int8, uint8 and bool")
    return Tensor(ndarray)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing memory where it can: a tensor (or NumPy array) already of that dtype and
    device is used as it is; anything else is converted (a copy)."""
    if isinstance(data, Tensor):
        return data.to(device=device if device is not None else data.device, dtype=dtype)
    return Tensor(data, dtype=dtype, device=device)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False) -> Tensor:
    """``as_tensor`` with NumPy's ``copy=`` (True: always copy; False: never, or an error; None: only if needed)."""
    out = as_tensor(obj, dtype, device)
    shared = (out is obj) or (isinstance(obj, np.ndarray) and np.shares_memory(out.data, obj))
    if copy and (shared or isinstance(obj, Tensor)):
        out = Tensor._wrap(out.data.copy(), out._device)
    elif copy is False and not shared and (isinstance(obj, (Tensor, np.ndarray))):
        raise ValueError(f"asarray(copy=False): a {type(obj).__name__} of dtype {obj.dtype} cannot become "
                         f"{backend.as_dtype(dtype)} on {device} without a copy")
    return out.requires_grad_(True) if requires_grad else out


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a tinygrad_tf Tensor."""
    return isinstance(obj, Tensor)


def empty_like(input, *, dtype=None, device=None, requires_grad=False) -> Tensor:  # noqa: A002
    """``empty`` with the shape, dtype and device of ``input``."""
    return empty(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)


# ---------------------------------------------------------------- dtypes
class finfo:  # noqa: N801  (PyTorch's name)
    """Facts about a floating dtype, as ``torch.finfo``: ``eps`` (the gap above 1), ``max``, ``min`` (= -max),
    ``tiny`` / ``smallest_normal``, ``resolution``, ``bits``; Python floats. ``finfo()`` describes the default
    dtype."""

    def __init__(self, type=None):  # noqa: A002
        dtype = backend.as_dtype(type) or backend.DEFAULT_FLOAT
        if dtype.kind != "f":
            raise TypeError(f"finfo: {dtype} is not a floating-point dtype (use iinfo for integers)")
        info = np.finfo(dtype)
        self.dtype, self.bits = str(dtype), int(info.bits)
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.tiny)
        self.resolution = float(info.resolution)

    def __repr__(self):
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.tiny:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:  # noqa: N801  (PyTorch's name)
    """Facts about an integer dtype, as ``torch.iinfo``: ``min``, ``max``, ``bits`` (Python ints)."""

    def __init__(self, type):  # noqa: A002
        dtype = backend.as_dtype(type)
        if dtype.kind not in "iub":
            raise TypeError(f"iinfo: {dtype} is not an integer dtype (use finfo for floating point)")
        info = np.iinfo(np.uint8 if dtype.kind == "b" else dtype)
        self.dtype, self.bits = str(dtype), int(info.bits)
        self.min, self.max = (0, 1) if dtype.kind == "b" else (int(info.min), int(info.max))

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def get_default_dtype():
    """The dtype of tensors made from Python floats and of ``zeros``, ``randn``, ... without ``dtype=`` (float32
    unless ``set_default_dtype`` changed it)."""
    return backend.DEFAULT_FLOAT


def set_default_dtype(d) -> None:
    """Make ``d`` (float16, float32 or float64) the dtype of new floating tensors: ``tg.tensor([1.5])``,
    ``tg.zeros(3)``, ``tg.randn(2)``, the integer/float promotions -- as ``torch.set_default_dtype``."""
    dtype = backend.as_dtype(d)
    if dtype is None or dtype.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the default type, got {d!r}")
    backend.DEFAULT_FLOAT = dtype


# ---------------------------------------------------------------- index grids
def _triangle_indices(op, row, col, offset, dtype, device, upper):
    row, col, offset = operator.index(row), operator.index(col), operator.index(offset)
    if row < 0 or col < 0:
        raise OpError(f"{op}: row and col must be >= 0, got {row} and {col}")
    xp = backend.xp_for(backend.check_device(device))
    rows, cols = xp.triu_indices(row, offset, col) if upper else xp.tril_indices(row, offset, col)
    return Tensor(xp.stack([rows, cols]).astype(backend.as_dtype(dtype)))


def tril_indices(row, col, offset=0, *, dtype=backend.int64, device=None) -> Tensor:
    """The (2, n) row and column indices of the lower triangle of a ``row`` x ``col`` matrix (on and below the
    ``offset``-th diagonal), row by row."""
    return _triangle_indices("tril_indices", row, col, offset, dtype, device, upper=False)


def triu_indices(row, col, offset=0, *, dtype=backend.int64, device=None) -> Tensor:
    """The (2, n) row and column indices of the upper triangle (on and above the ``offset``-th diagonal)."""
    return _triangle_indices("triu_indices", row, col, offset, dtype, device, upper=True)


def _tensors(op, tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    return _check_same(op, list(tensors), 0)


def meshgrid(*tensors, indexing=None):
    """Grids from 1-D tensors: ``xs, ys = tg.meshgrid(x, y, indexing="ij")`` gives ``xs[i, j] = x[i]``,
    ``ys[i, j] = y[j]``; ``indexing="xy"`` swaps the first two dims (``xs[j, i] = x[i]``, NumPy's default).
    PyTorch's default is "ij". Differentiable (each grid is its vector expanded)."""
    tensors = _tensors("meshgrid", tensors)
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if any(t.ndim > 1 for t in tensors):
        raise RuntimeError(f"meshgrid: expected 0-D or 1-D tensors, got shapes {[t.shape for t in tensors]}")
    tensors = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(tensors) >= 2
    order = [1, 0] + list(range(2, len(tensors))) if swap else list(range(len(tensors)))
    shape = tuple(tensors[i].shape[0] for i in order)
    out = []
    for k, t in enumerate(tensors):
        pos = order.index(k)
        view = [1] * len(tensors)
        view[pos] = t.shape[0]
        out.append(t.reshape(view).expand(*shape))
    return tuple(out)


def broadcast_shapes(*shapes) -> tuple:
    """The shape that ``shapes`` broadcast to (an error naming them if they do not)."""
    try:
        return tuple(np.broadcast_shapes(*[(s,) if isinstance(s, int) else tuple(s) for s in shapes]))
    except ValueError:
        raise RuntimeError(f"broadcast_shapes: shapes {list(shapes)} do not broadcast together") from None


def broadcast_tensors(*tensors) -> tuple:
    """The tensors expanded to their common broadcast shape (differentiable)."""
    tensors = _tensors("broadcast_tensors", tensors)
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(t.expand(*shape) if t.shape != shape else t for t in tensors)


# ---------------------------------------------------------------- joining
def _grown(shape, n):
    """``shape`` with the dims NumPy's atleast_nd adds: 0-d -> (1,) * n; (k,) -> (1, k) or (1, k, 1); (m, k) ->
    (m, k, 1)."""
    if len(shape) == 0:
        return (1,) * n
    if len(shape) == 1:
        return (1,) + shape + (1,) * (n - 2)
    return shape + (1,)


def _at_least(n, tensors):
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    tensors = _tensors(f"atleast_{n}d", tensors)
    out = [t.reshape(_grown(t.shape, n)) if t.ndim < n else t for t in tensors]
    return out[0] if single else tuple(out)


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (a 0-d one becomes shape (1,))."""
    return _at_least(1, tensors)


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims (a 1-D one becomes a row, (1, n))."""
    return _at_least(2, tensors)


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims ((n,) -> (1, n, 1); (m, n) -> (m, n, 1)), as NumPy's."""
    return _at_least(3, tensors)


def hstack(tensors) -> Tensor:
    """Join along dim 1 (dim 0 for 1-D tensors)."""
    tensors = atleast_1d(*tensors)
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Join as rows: along dim 0, 1-D tensors first made rows (1, n)."""
    return cat(atleast_2d(*tensors), 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    """Join along dim 2 (depth), tensors first made 3-D (``atleast_3d``)."""
    return cat(atleast_3d(*tensors), 2)


def column_stack(tensors) -> Tensor:
    """Join as columns: 0-d and 1-D tensors become columns (n, 1), then everything joins along dim 1."""
    tensors = _tensors("column_stack", tensors)
    return cat([t.reshape(-1, 1) if t.ndim <= 1 else t for t in tensors], 1)


# ---------------------------------------------------------------- statistics and distances
def std_mean(input, dim=None, *, correction=1, keepdim=False, unbiased=None):  # noqa: A002
    """``(std, mean)`` over ``dim`` (both differentiable)."""
    return input.std(dim, keepdim, correction, unbiased), input.mean(dim, keepdim)


def var_mean(input, dim=None, *, correction=1, keepdim=False, unbiased=None):  # noqa: A002
    """``(var, mean)`` over ``dim`` (both differentiable)."""
    return input.var(dim, keepdim, correction, unbiased), input.mean(dim, keepdim)


def cdist(x1, x2, p=2.0) -> Tensor:
    """The ``p``-norm distance between each row of ``x1`` (..., P, M) and each row of ``x2`` (..., R, M): a
    (..., P, R) tensor, batch dims broadcast. Differentiable; the gradient of a zero distance is 0, as PyTorch's."""
    if not isinstance(x1, Tensor) or not isinstance(x2, Tensor) or x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist: expected two tensors with at least 2 dims, got "
                           f"{getattr(x1, 'shape', x1)} and {getattr(x2, 'shape', x2)}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: x1 and x2 must have the same number of columns, got shapes {x1.shape} and "
                           f"{x2.shape}")
    if p < 0:
        raise RuntimeError(f"cdist: p must be >= 0, got {p}")
    return (x1.unsqueeze(-2) - x2.unsqueeze(-3)).norm(p, dim=-1)


def tensordot(a, b, dims=2) -> Tensor:
    """Sums of products over ``dims``: the last ``dims`` dims of ``a`` with the first ``dims`` of ``b`` (an
    int), or the dims listed in ``dims = (dims_of_a, dims_of_b)``. Differentiable (a permute, then a matmul)."""
    a, b = (t if isinstance(t, Tensor) else Tensor(t) for t in (a, b))
    if isinstance(dims, int):
        if dims < 0 or dims > min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot: dims={dims} does not fit shapes {a.shape} and {b.shape}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
        da, db = [_dim("tensordot", d, a.ndim) for d in da], [_dim("tensordot", d, b.ndim) for d in db]
    if len(da) != len(db) or any(a.shape[i] != b.shape[j] for i, j in zip(da, db)):
        raise RuntimeError(f"tensordot: dims {da} of {a.shape} and {db} of {b.shape} must have the same sizes")
    keep_a, keep_b = [d for d in range(a.ndim) if d not in da], [d for d in range(b.ndim) if d not in db]
    k = math.prod(a.shape[d] for d in da)
    left = a.permute(*(keep_a + da)).reshape(-1, k) if a.ndim else a.reshape(1, 1)
    right = b.permute(*(db + keep_b)).reshape(k, -1) if b.ndim else b.reshape(1, 1)
    return (left @ right).reshape(tuple(a.shape[d] for d in keep_a) + tuple(b.shape[d] for d in keep_b))


# ---------------------------------------------------------------- counting (no gradient)
def _array(op, t):
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(t).__name__}")
    return t.data


def isin(elements, test_elements, *, assume_unique=False, invert=False) -> Tensor:
    """Whether each element of ``elements`` is among ``test_elements`` (a bool tensor of ``elements``' shape)."""
    like = elements if isinstance(elements, Tensor) else test_elements
    xp = like._xp()
    a = elements.data if isinstance(elements, Tensor) else xp.asarray(elements)
    b = test_elements.data if isinstance(test_elements, Tensor) else xp.asarray(test_elements)
    return Tensor._wrap(xp.isin(a, b, assume_unique=assume_unique, invert=invert), like._device)


def searchsorted(sorted_sequence, values, *, out_int32=False, right=False, side=None, sorter=None) -> Tensor:
    """For each of ``values``, the index where it would go in ``sorted_sequence`` to keep it sorted (the first
    such place; ``right=True`` or ``side="right"``: the last). A 2-D (..., n) sequence searches row by row."""
    seq = _array("searchsorted", sorted_sequence)
    xp = sorted_sequence._xp()
    vals = values.data if isinstance(values, Tensor) else xp.asarray(values)
    side = side or ("right" if right else "left")
    if sorter is not None:
        seq = xp.take_along_axis(seq, sorter.data if isinstance(sorter, Tensor) else xp.asarray(sorter), -1)
    if seq.ndim <= 1:
        out = xp.searchsorted(seq, vals, side=side)
    else:
        if seq.shape[:-1] != vals.shape[:-1]:
            raise RuntimeError(f"searchsorted: the leading dims of sorted_sequence {tuple(seq.shape)} and values "
                               f"{tuple(vals.shape)} must match")
        rows = [xp.searchsorted(s, v, side=side) for s, v in zip(seq.reshape(-1, seq.shape[-1]),
                                                                 vals.reshape(-1, vals.shape[-1]))]
        out = xp.stack(rows).reshape(vals.shape) if rows else xp.zeros(vals.shape, dtype=backend.int64)
    return Tensor._wrap(out.astype(backend.int32 if out_int32 else backend.int64), sorted_sequence._device)


def bucketize(input, boundaries, *, out_int32=False, right=False) -> Tensor:  # noqa: A002
    """For each element of ``input``, the index of the bucket of the 1-D sorted ``boundaries`` it falls in:
    ``boundaries[i-1] < x <= boundaries[i]`` (``right=True``: ``boundaries[i-1] <= x < boundaries[i]``)."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"bucketize: boundaries must be 1-D, got shape {boundaries.shape}")
    return searchsorted(boundaries, input if isinstance(input, Tensor) else Tensor(input), out_int32=out_int32,
                        right=right)


histogram_result = namedtuple("histogram", ["hist", "bin_edges"])
histogram_result.__doc__ = "What ``histogram`` returns: ``.hist`` (the counts) and ``.bin_edges``."


def histogram(input, bins=100, *, range=None, weight=None, density=False):  # noqa: A002
    """``(hist, bin_edges)``: counts of ``input``'s elements in ``bins`` equal bins over ``range`` (the data's
    own range by default) or between the given edges (a 1-D tensor); ``weight`` sums weights instead of
    counting 1s, ``density`` normalises to a density. In the input's dtype, as NumPy's ``histogram``."""
    arr, xp = _array("histogram", input), input._xp()
    if input.dtype.kind != "f":
        raise RuntimeError(f"histogram: expected a floating-point tensor, got {input.dtype}")
    edges = bins.data if isinstance(bins, Tensor) else operator.index(bins)
    w = weight.data if isinstance(weight, Tensor) else weight
    hist, edges = xp.histogram(arr, bins=edges, range=range, weights=w, density=density)
    return histogram_result(Tensor._wrap(hist.astype(input.dtype), input._device),
                            Tensor._wrap(edges.astype(input.dtype), input._device))


def cartesian_prod(*tensors) -> Tensor:
    """Every combination of one element from each 1-D tensor, as the rows of a (n1 * n2 * ..., k) tensor (one
    tensor: itself). Differentiable."""
    grids = meshgrid(*tensors, indexing="ij")
    if len(grids) == 1:
        return grids[0]
    return stack([g.reshape(-1) for g in grids], 1)


# ---------------------------------------------------------------- random state
def initial_seed() -> int:
    """The seed the CPU random stream was last seeded with (``tg.manual_seed``)."""
    return backend._seed


def seed() -> int:
    """Seed every random stream with a fresh, non-deterministic seed, and return it."""
    s = int(np.random.SeedSequence().entropy % (2 ** 63))
    backend.manual_seed(s)
    return s


def get_rng_state():
    """The CPU random stream's state, for ``set_rng_state`` (a dict here, not PyTorch's byte tensor)."""
    return backend.get_rng_state()


def set_rng_state(new_state) -> None:
    """Restore a state from ``get_rng_state``: the draws that followed it come again."""
    backend.set_rng_state(new_state)


class Size(tuple):
    """``torch.Size``: a tuple of dim sizes (``tg.Size([2, 3]) == (2, 3)``), with ``numel()``. (``x.shape``
    itself is a plain tuple here, equal to the Size of the same dims.)"""

    def numel(self) -> int:
        """The number of elements a tensor of this shape holds."""
        return math.prod(self)

    def __repr__(self):
        return f"Size({list(self)})"

