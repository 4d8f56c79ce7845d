"""Tensor's further shape methods, under PyTorch's names: repeat, repeat_interleave, view_as / reshape_as, narrow,
select, unbind, swapaxes / movedim, diagonal / diag / diag_embed, tile, ravel, fliplr / flipud / rot90,
tensor_split, unfold; in-place squeeze_ / unsqueeze_ / t_ / transpose_ / detach_; new tensors like this one
(new_zeros, new_tensor, ...); dtype conversions (type_as, int, short, byte, char) and questions about the tensor
(is_floating_point, element_size, is_cuda, ...).

``Tensor`` (tensor.py) inherits these from ``ShapeOps``. Each checks what the user passed, naming the op and the
shapes when it is wrong, then calls Functions of shape_ops.py -- or the shape methods of tensor_ops.py, which a
method here is made of.
"""

from __future__ import annotations

import operator

from . import autograd, backend
from . import shape_ops as S
from .tensor_args import _dim, _infer_array, _is_tensor, _shape_arg


def _ints(op, values) -> tuple:
    try:
        return tuple(operator.index(v) for v in values)
    except TypeError:
        raise TypeError(f"{op}: expected ints, got {values!r}") from None


def _leaf_guard(t, op):
    if t.requires_grad and t.grad_fn is None and autograd.is_grad_enabled():
        raise RuntimeError(f"{op}: a leaf Variable that requires grad is being used in an in-place operation (a "
                           f"tensor of shape {t.shape}); do it inside `with tg.no_grad():` or use the out-of-place op")


def _reshaped_in_place(t, out):
    """``t`` takes ``out``'s shape (and its graph node, if it is on one): the in-place view ops squeeze_, t_, ..."""
    t.data = out.data
    if out.requires_grad:
        t.grad_fn, t.requires_grad = out.grad_fn, True
    return t


class ShapeOps:
    __slots__ = ()

    # ------------------------------------------------------------ repeating
    def repeat(self, *sizes):
        """Tile the tensor ``sizes[i]`` times along dim i (``x.repeat(2, 1)`` stacks two copies vertically); with
        more sizes than dims, new leading dims are added first."""
        sizes = _ints("repeat", _shape_arg(sizes))
        if len(sizes) < self.ndim:
            raise RuntimeError(f"repeat: the number of repeat sizes ({len(sizes)}) can not be smaller than the number "
                               f"of dimensions of the tensor ({self.ndim}, shape {self.shape})")
        if any(s < 0 for s in sizes):
            raise RuntimeError(f"repeat: repeat sizes must be >= 0, got {sizes}")
        x = self.reshape((1,) * (len(sizes) - self.ndim) + self.shape)
        return S.Repeat.apply(x, sizes)

    def tile(self, dims):
        """``repeat``, except that fewer sizes than dims repeat the last dims (NumPy's ``tile``)."""
        dims = _ints("tile", (dims,) if isinstance(dims, int) else tuple(dims))
        return self.repeat((1,) * (self.ndim - len(dims)) + dims)

    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None):
        """Repeat each element (each slice along ``dim``) ``repeats`` times in place: ``[a, b] -> [a, a, b, b]``;
        ``repeats`` is an int or one count per slice. Without ``dim`` the tensor is flattened first. Without
        ``repeats``, this tensor holds the counts and its indices are repeated (``[2, 1] -> [0, 0, 1]``)."""
        if repeats is None:
            if self.ndim != 1 or self.dtype.kind not in "iu":
                raise RuntimeError(f"repeat_interleave: without repeats the tensor must be 1-D integer counts, got "
                                   f"{self.dtype} of shape {self.shape}")
            index = autograd.Tensor._wrap(self._xp().arange(self.shape[0]), self._device)
            return index.repeat_interleave(self, 0)
        x, d = (self.reshape(-1), 0) if dim is None else (self, _dim("repeat_interleave", dim, self.ndim))
        if x.ndim == 0:
            x = x.reshape(1)
        n = x.shape[d]
        if _is_tensor(repeats):
            repeats = repeats.numpy()
        if not isinstance(repeats, int):
            repeats = backend.to_numpy(x._xp().asarray(repeats)).reshape(-1)
            if repeats.dtype.kind not in "iu" or (len(repeats) not in (1, n)):
                raise RuntimeError(f"repeat_interleave: repeats must be an int or one integer per slice ({n} along "
                                   f"dim {d} of shape {self.shape}), got {repeats.tolist()}")
            repeats = int(repeats[0]) if len(repeats) == 1 else repeats
        if (repeats < 0).any() if not isinstance(repeats, int) else repeats < 0:
            raise RuntimeError(f"repeat_interleave: repeats must be >= 0, got {repeats}")
        out = S.RepeatInterleave.apply(x, repeats if isinstance(repeats, int) else repeats.tolist(), d)
        if output_size is not None and out.shape[d] != output_size:
            raise RuntimeError(f"repeat_interleave: output_size={output_size} but the result has {out.shape[d]}")
        return out

    # ------------------------------------------------------------ shapes of others
    def view_as(self, other):
        """``view(other.shape)``."""
        return self.view(other.shape)

    def reshape_as(self, other):
        """``reshape(other.shape)``."""
        return self.reshape(other.shape)

    def type_as(self, other):
        """This tensor in ``other``'s dtype."""
        return self.type(other.dtype)

    def ravel(self):
        """The elements as one flat 1-D tensor."""
        return self.reshape(-1)

    # ------------------------------------------------------------ picking slices
    def narrow(self, dim, start, length):
        """The ``length`` slices from ``start`` along ``dim`` (``x[:, start:start + length]`` for dim 1)."""
        d = _dim("narrow", dim, self.ndim)
        start, length = operator.index(start), operator.index(length)
        n = self.shape[d]
        if start < 0:
            start += n
        if not 0 <= start <= n or length < 0 or start + length > n:
            raise IndexError(f"narrow: start {start} and length {length} are out of range for dim {d} of size {n} "
                             f"(tensor of shape {self.shape})")
        return self[(slice(None),) * d + (slice(start, start + length),)]

    def select(self, dim, index):
        """The slice at ``index`` along ``dim``, that dim removed (``x.select(1, 2)`` is ``x[:, 2]``)."""
        d = _dim("select", dim, self.ndim)
        index = operator.index(index)
        if not -self.shape[d] <= index < self.shape[d]:
            raise IndexError(f"select: index {index} is out of range for dim {d} of size {self.shape[d]} (tensor of "
                             f"shape {self.shape})")
        return self[(slice(None),) * d + (index,)]

    def unbind(self, dim=0):
        """The slices along ``dim``, as a tuple (``a, b = pair.unbind(0)``)."""
        d = _dim("unbind", dim, self.ndim)
        return tuple(self.select(d, i) for i in range(self.shape[d]))

    def tensor_split(self, indices_or_sections, dim=0):
        """Split along ``dim`` into n nearly equal parts (the first ``size % n`` one longer), or at the given
        indices (``[2, 5]`` -> ``[:2]``, ``[2:5]``, ``[5:]``)."""
        d = _dim("tensor_split", dim, self.ndim)
        n = self.shape[d]
        if isinstance(indices_or_sections, int):
            k = indices_or_sections
            if k <= 0:
                raise RuntimeError(f"tensor_split: the number of sections must be > 0, got {k}")
            sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
            bounds = [sum(sizes[:i]) for i in range(1, k)]
        else:
            bounds = list(_ints("tensor_split", indices_or_sections))
        lead = (slice(None),) * d
        edges = [0] + [min(max(b if b >= 0 else b + n, 0), n) for b in bounds] + [n]
        return tuple(self[lead + (slice(a, max(a, b)),)] for a, b in zip(edges, edges[1:]))

    def split_with_sizes(self, split_sizes, dim=0):
        """``split`` with a list of sizes."""
        return self.split(list(split_sizes), dim)

    def hsplit(self, sections):
        """``tensor_split`` along dim 1 (dim 0 for a 1-D tensor)."""
        return self.tensor_split(sections, 1 if self.ndim > 1 else 0)

    def vsplit(self, sections):
        """``tensor_split`` along dim 0 (the tensor must have 2 or more dims)."""
        if self.ndim < 2:
            raise RuntimeError(f"vsplit: expected a tensor with at least 2 dimensions, got shape {self.shape}")
        return self.tensor_split(sections, 0)

    def unfold(self, dimension, size, step):
        """All windows of ``size`` elements along ``dimension``, ``step`` apart, as a new last dim: a (7,) tensor
        with size 3, step 2 gives (3, 3) -- ``[x[0:3], x[2:5], x[4:7]]``."""
        d = _dim("unfold", dimension, self.ndim)
        n = self.shape[d] if self.ndim else 1
        if size > n or size < 0 or step <= 0:
            raise RuntimeError(f"unfold: size {size} must be in [0, {n}] (dim {d} of shape {self.shape}) and step "
                               f"{step} must be > 0")
        xp = self._xp()
        windows = xp.arange(0, n - size + 1, step)[:, None] + xp.arange(size)[None, :]
        x = self.reshape(1) if self.ndim == 0 else self
        picked = x[(slice(None),) * d + (windows,)]           # (..., n_windows, size, ...)
        return picked.movedim(d + 1, -1) if self.ndim else picked.reshape(size)

    # ------------------------------------------------------------ reordering
    def swapaxes(self, axis0, axis1):
        """``transpose(axis0, axis1)``."""
        return self.transpose(_dim("swapaxes", axis0, self.ndim), _dim("swapaxes", axis1, self.ndim))

    swapdims = swapaxes

    def movedim(self, source, destination):
        """Move dim(s) ``source`` to position(s) ``destination``, keeping the others in order."""
        src = (source,) if isinstance(source, int) else tuple(source)
        dst = (destination,) if isinstance(destination, int) else tuple(destination)
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: source {src} and destination {dst} must have the same number of dims")
        src = tuple(_dim("movedim", s, self.ndim) for s in src)
        dst = tuple(_dim("movedim", s, self.ndim) for s in dst)
        if len(set(src)) != len(src) or len(set(dst)) != len(dst):
            raise RuntimeError(f"movedim: repeated dim in source {src} or destination {dst}")
        order = [a for a in range(self.ndim) if a not in src]
        for s, t in sorted(zip(dst, src)):
            order.insert(s, t)
        return self.permute(*order) if self.ndim else self

    moveaxis = movedim

    def fliplr(self):
        """Reverse the columns (dim 1)."""
        if self.ndim < 2:
            raise RuntimeError(f"fliplr: expected a tensor with at least 2 dimensions, got shape {self.shape}")
        return self.flip(1)

    def flipud(self):
        """Reverse the rows (dim 0)."""
        if self.ndim < 1:
            raise RuntimeError("flipud: expected a tensor with at least 1 dimension, got a 0-d tensor")
        return self.flip(0)

    def rot90(self, k=1, dims=(0, 1)):
        """Rotate by 90 degrees ``k`` times, from dim ``dims[0]`` toward ``dims[1]``."""
        dims = tuple(dims)
        if len(dims) != 2 or self.ndim < 2:
            raise RuntimeError(f"rot90: expected two dims of a tensor with at least 2 dimensions, got dims {dims} "
                               f"and shape {self.shape}")
        a, b = (_dim("rot90", d, self.ndim) for d in dims)
        if a == b:
            raise RuntimeError(f"rot90: the two dims must differ, got {dims}")
        k %= 4
        if k == 0:
            return self * 1
        if k == 2:
            return self.flip(a, b)
        return self.flip(b).transpose(a, b) if k == 1 else self.transpose(a, b).flip(b)

    # ------------------------------------------------------------ diagonals
    def diagonal(self, offset=0, dim1=0, dim2=1):
        """The ``offset``-th diagonal of the matrices in dims (dim1, dim2), as a new last dim (``offset`` > 0 is
        above the main diagonal)."""
        if self.ndim < 2:
            raise RuntimeError(f"diagonal: expected a tensor with at least 2 dimensions, got shape {self.shape}")
        d1, d2 = _dim("diagonal", dim1, self.ndim), _dim("diagonal", dim2, self.ndim)
        if d1 == d2:
            raise RuntimeError(f"diagonal: dim1 and dim2 must differ, got {dim1} and {dim2}")
        return S.Diagonal.apply(self, operator.index(offset), d1, d2)

    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        """Matrices with the last dim on their ``offset``-th diagonal, zeros elsewhere, as dims (dim1, dim2) of a
        result with one more dim."""
        nd = self.ndim + 1
        d1, d2 = _dim("diag_embed", dim1, nd), _dim("diag_embed", dim2, nd)
        if d1 == d2:
            raise RuntimeError(f"diag_embed: dim1 and dim2 must differ, got {dim1} and {dim2}")
        x = self.reshape(1) if self.ndim == 0 else self
        return S.DiagEmbed.apply(x, operator.index(offset), d1, d2)

    def diag(self, diagonal=0):
        """1-D: a square matrix with this vector on its ``diagonal``-th diagonal. 2-D: that diagonal, as a vector."""
        if self.ndim == 1:
            return self.diag_embed(diagonal)
        if self.ndim == 2:
            return self.diagonal(diagonal)
        raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got shape {self.shape}")

    def diagflat(self, offset=0):
        """The flattened tensor on the ``offset``-th diagonal of a square matrix."""
        return self.reshape(-1).diag_embed(offset)

    # ------------------------------------------------------------ in-place view ops
    def squeeze_(self, dim=None):
        """In place: ``squeeze``."""
        _leaf_guard(self, "squeeze_")
        return _reshaped_in_place(self, self.squeeze(dim))

    def unsqueeze_(self, dim):
        """In place: ``unsqueeze``."""
        _leaf_guard(self, "unsqueeze_")
        return _reshaped_in_place(self, self.unsqueeze(dim))

    def t_(self):
        """In place: ``t``."""
        _leaf_guard(self, "t_")
        return _reshaped_in_place(self, self.t())

    def transpose_(self, dim0, dim1):
        """In place: ``transpose``."""
        _leaf_guard(self, "transpose_")
        return _reshaped_in_place(self, self.transpose(dim0, dim1))

    def swapaxes_(self, axis0, axis1):
        """In place: ``swapaxes``."""
        return self.transpose_(axis0, axis1)

    swapdims_ = swapaxes_

    def detach_(self):
        """Cut this tensor off from the graph, in place: it becomes a leaf that does not require grad."""
        self.grad_fn, self.requires_grad = None, False
        return self

    # ------------------------------------------------------------ new tensors like this one
    def _new_like(self, fill, size, dtype, device, requires_grad):
        shape = _ints("new tensor", _shape_arg(size)) if size else ()
        dtype = backend.as_dtype(dtype) or self.dtype
        device = backend.check_device(device) if device is not None else self._device
        out = autograd.Tensor._wrap(fill(backend.xp_for(device), shape, dtype), device)
        return out.requires_grad_(True) if requires_grad else out

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        """Zeros of ``size``, in this tensor's dtype and on its device unless told otherwise."""
        return self._new_like(lambda xp, s, d: xp.zeros(s, dtype=d), size, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        """Ones of ``size``, in this tensor's dtype and on its device unless told otherwise."""
        return self._new_like(lambda xp, s, d: xp.ones(s, dtype=d), size, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        """An uninitialised tensor of ``size``, in this tensor's dtype and on its device unless told otherwise."""
        return self._new_like(lambda xp, s, d: xp.empty(s, dtype=d), size, dtype, device, requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        """``size`` filled with ``fill_value``, in this tensor's dtype and on its device unless told otherwise."""
        return self._new_like(lambda xp, s, d: xp.full(s, fill_value, dtype=d), (tuple(size),), dtype, device,
                              requires_grad)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
        """A copy of ``data`` in this tensor's dtype and on its device unless told otherwise."""
        if _is_tensor(data):
            data = data.data
        arr = _infer_array(data.copy() if hasattr(data, "copy") and hasattr(data, "dtype") else data,
                           dtype or self.dtype, device or self._device)
        out = autograd.Tensor._wrap(arr, backend.device_of(arr))
        return out.requires_grad_(True) if requires_grad else out

    # ------------------------------------------------------------ dtypes and questions
    def int(self): return self.type(backend.int32)             # noqa: E704,A003
    def short(self): return self.type(backend.int16)           # noqa: E704
    def byte(self): return self.type(backend.uint8)            # noqa: E704
    def char(self): return self.type(backend.int8)             # noqa: E704

    def is_floating_point(self) -> bool:
        """Whether the dtype is a floating-point one (float16, float32, float64)."""
        return self.dtype.kind == "f"

    def is_complex(self) -> bool:
        """Whether the dtype is complex (never, for the dtypes tinygrad_tf makes)."""
        return self.dtype.kind == "c"

    def is_signed(self) -> bool:
        """Whether the dtype holds negative numbers (not bool or uint8)."""
        return self.dtype.kind in "fic"

    def element_size(self) -> int:
        """Bytes per element."""
        return self.dtype.itemsize

    itemsize = property(lambda self: self.dtype.itemsize, doc="Bytes per element.")
    nbytes = property(lambda self: self.dtype.itemsize * self.numel(), doc="Bytes the elements take.")
    is_cuda = property(lambda self: self._device == "cuda", doc="Whether the tensor is on the GPU.")
    is_cpu = property(lambda self: self._device == "cpu", doc="Whether the tensor is on the CPU.")
    retains_grad = property(lambda self: self.grad_fn is not None and self.grad_fn._retain is not None,
                            doc="Whether ``retain_grad()`` was called on this non-leaf tensor.")

    def get_device(self) -> int:
        """-1 on the CPU; the GPU's number on the GPU."""
        if self._device == "cpu":
            return -1
        return backend.xp_for("cuda").cuda.Device().id

    def ndimension(self) -> int:
        """``dim()``."""
        return self.ndim

    def is_nonzero(self) -> bool:
        """The truth of a one-element tensor (an error for more elements, or none)."""
        if self.numel() != 1:
            raise RuntimeError(f"is_nonzero: expected a tensor with exactly one element, got shape {self.shape}")
        return bool(self.data.reshape(()))

    def is_same_size(self, other) -> bool:
        """Whether ``other`` has this shape."""
        return self.shape == other.shape

    mH = property(lambda self: self.mT, doc="The conjugate transpose of the last two dims (``mT``: real dtypes).")
    H = property(lambda self: self.t(), doc="The conjugate transpose of a matrix (``t()``: real dtypes).")

    def adjoint(self):
        """``mH``."""
        return self.mT

    def pin_memory(self):
        """A copy of this CPU tensor, as PyTorch's page-locked copy is. The values and device are the same; pinning
        itself is a speed-up for asynchronous copies to the GPU, which ``.to("cuda")`` here does not make."""
        if self._device != "cpu":
            raise RuntimeError(f"pin_memory: only CPU tensors can be pinned; this one is on {self.device}")
        return self.clone()

    def is_pinned(self) -> bool:
        """False: tinygrad_tf keeps no page-locked memory (see ``pin_memory``)."""
        return False
