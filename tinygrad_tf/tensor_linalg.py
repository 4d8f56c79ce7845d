"""Tensor's matrix methods, under PyTorch's names: the products mm, bmm, mv, dot, inner, outer, addmm, baddbmm,
addcmul; trace, cross, cov, corrcoef; norm; and inverse, det, logdet, slogdet.

``Tensor`` (tensor.py) inherits these from ``LinalgOps``. Each checks the shapes, naming the op and the shapes
when they are wrong, then calls a Function: MatMul (ops.py), Norm (reduce_ops.py), Inv / Det (linalg_ops.py).
"""

from __future__ import annotations

from collections import namedtuple

from . import backend
from . import linalg_ops as L
from . import ops as O
from . import reduce_ops as R
from .tensor_args import _axes, _broadcast_pair, _check_broadcast, _check_choice, _dim, _is_tensor, _operand

slogdet_result = namedtuple("slogdet", ["sign", "logabsdet"])
slogdet_result.__doc__ = "What ``slogdet`` returns: ``.sign`` (no gradient) and ``.logabsdet`` (differentiable)."


def _matrices(op, a, b, ndims, rule):
    """``a`` and ``b`` (a number or list becomes a tensor) with ``ndims`` = (a's, b's) dimensions, or an error
    naming the op and the shapes; ``rule`` says what the op expects."""
    b = _operand(b, a)
    if not _is_tensor(b) or (a.ndim, b.ndim) != ndims:
        shape_b = b.shape if _is_tensor(b) else type(b).__name__
        raise RuntimeError(f"{op}: expected {rule}, got shapes {a.shape} and {shape_b}")
    return b


def _product(op, a, b, ndims, rule):
    """``a @ b`` for the products of fixed ranks (mm, bmm, mv, dot): checked by ``_matrices``, then a's last dim
    must be b's first matrix dim (and bmm's batch sizes equal), or an error names the op and the shapes."""
    b = _matrices(op, a, b, ndims, rule)
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else -1] or a.shape[:-2] != b.shape[:-2]:
        sizes = ["x".join(map(str, t.shape)) for t in (a, b)]
        raise RuntimeError(f"{op}: shapes cannot be multiplied: {sizes[0]} and {sizes[1]}"
                           + (" elements" if b.ndim == 1 else ""))
    return O.MatMul.apply(a, b)


def square_matrices(op, a):
    """Check that ``a`` is a floating (..., n, n) tensor, naming the op and the shape when not."""
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{op}: expected a square matrix or a batch of them (..., n, n), got shape {a.shape}")
    if a.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point tensor, got {a.dtype} (convert with .float())")
    return a


class LinalgOps:
    __slots__ = ()

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """The ``p``-norm over ``dim`` (all elements by default): ``p`` a number, ``inf``, ``-inf``, or ``"fro"``
        (the 2-norm of all the elements in ``dim``). The gradient at a zero norm is 0, as PyTorch's."""
        if dtype is not None:
            return self.type(dtype).norm(p, dim, keepdim)
        if self.dtype.kind not in "fc":
            raise TypeError(f"norm: the tensor must be floating point, got {self.dtype} (convert with .float())")
        _check_choice("norm", "p", p if isinstance(p, str) else "number", ("fro", "number"))
        return R.Norm.apply(self, 2 if p == "fro" else float(p), _axes("norm", dim, self.ndim), keepdim)


    # ------------------------------------------------------------ matrix products
    def mm(self, mat2):
        """The matrix product of two 2-D tensors: (n, m) @ (m, p) -> (n, p)."""
        return _product("mm", self, mat2, (2, 2), "two 2-D tensors (matrices)")

    def bmm(self, mat2):
        """Batched matrix products of two 3-D tensors, no broadcasting: (b, n, m) @ (b, m, p) -> (b, n, p)."""
        return _product("bmm", self, mat2, (3, 3), "two 3-D tensors (batches of matrices)")

    def mv(self, vec):
        """Matrix times vector: (n, m) @ (m,) -> (n,)."""
        return _product("mv", self, vec, (2, 1), "a 2-D matrix and a 1-D vector")

    def dot(self, other):
        """The dot product of two 1-D tensors of the same length (a 0-d tensor)."""
        return _product("dot", self, other, (1, 1), "two 1-D tensors")

    vdot = dot

    def inner(self, other):
        """Sums of products over the last dims (a 0-d operand multiplies): ``x.inner(y)[i, j] = x[i] . y[j]``."""
        other = _operand(other, self)
        if self.ndim == 0 or other.ndim == 0:
            return self * other
        if self.shape[-1] != other.shape[-1]:
            raise RuntimeError(f"inner: the last dims must match, got shapes {self.shape} and {other.shape}")
        if other.ndim == 1:
            return O.MatMul.apply(self, other)
        return (self.reshape(-1, self.shape[-1]) @ other.reshape(-1, other.shape[-1]).T) \
            .reshape(self.shape[:-1] + other.shape[:-1])

    def outer(self, vec2):
        """The outer product of two 1-D tensors: ``y[i, j] = self[i] * vec2[j]``."""
        vec2 = _matrices("outer", self, vec2, (1, 1), "two 1-D tensors")
        return self.reshape(-1, 1) * vec2.reshape(1, -1)

    ger = outer

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        """``beta * self + alpha * (mat1 @ mat2)`` (self broadcasts to the product's shape; beta=0 ignores it)."""
        return _plus(self, mat1.mm(mat2) if _is_tensor(mat1) else _operand(mat1, self).mm(mat2), beta, alpha, "addmm")

    def addmv(self, mat, vec, *, beta=1, alpha=1):
        """``beta * self + alpha * (mat @ vec)``."""
        return _plus(self, _operand(mat, self).mv(vec), beta, alpha, "addmv")

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        """``beta * self + alpha * (batch1 @ batch2)`` for 3-D batches."""
        return _plus(self, _operand(batch1, self).bmm(batch2), beta, alpha, "baddbmm")

    def addcmul(self, tensor1, tensor2, *, value=1):
        """``self + value * tensor1 * tensor2`` (all three broadcast together)."""
        prod = tensor1 * tensor2
        return self + (prod * value if value != 1 else prod)

    def addcdiv(self, tensor1, tensor2, *, value=1):
        """``self + value * tensor1 / tensor2``."""
        q = tensor1 / tensor2
        return self + (q * value if value != 1 else q)

    def trace(self):
        """The sum of the main diagonal of a 2-D tensor."""
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a 2-D tensor (a matrix), got shape {self.shape}")
        return self.diagonal().sum()


    def cross(self, other, dim=None):
        """The cross product of 3-vectors along ``dim`` (the two broadcast together); without ``dim``, the first
        dim of size 3 (PyTorch's old default; ``tg.linalg.cross`` takes the last)."""
        other = _operand(other, self)
        if not _is_tensor(other) or other.ndim != self.ndim:
            raise RuntimeError(f"cross: the inputs must have the same number of dimensions, got shapes {self.shape} "
                               f"and {getattr(other, 'shape', ())}")
        a, b = _broadcast_pair("cross", self, other, f"shapes {self.shape} and {other.shape} do not broadcast")
        shape = a.shape
        if dim is None:
            dim = next((d for d, n in enumerate(shape) if n == 3), None)
            if dim is None:
                raise RuntimeError(f"cross: no dim of size 3 in the shape {shape}; the vectors must have 3 elements")
        d = _dim("cross", dim, len(shape))
        if shape[d] != 3:
            raise RuntimeError(f"cross: dim {dim} has size {shape[d]} (shapes {self.shape} and {other.shape}); the "
                               "vectors must have 3 elements")
        return a.roll(-1, d) * b.roll(-2, d) - a.roll(-2, d) * b.roll(-1, d)    # (a1 b2 - a2 b1, a2 b0 - a0 b2, ...)

    def cov(self, *, correction=1, fweights=None, aweights=None):
        """The covariance matrix of the variables in the rows (a 1-D tensor is one variable), the columns being
        observations: ``(x - mean) @ (x - mean).T / (n - correction)``; one variable gives a 0-d tensor.
        Differentiable."""
        if fweights is not None or aweights is not None:
            raise RuntimeError("cov: fweights and aweights are not supported by tinygrad_tf; weight the "
                               "observations yourself")
        if self.ndim > 2:
            raise RuntimeError(f"cov: expected a 1-D or 2-D tensor (variables x observations), got shape {self.shape}")
        x = self.reshape(1, -1) if self.ndim < 2 else self
        x = x if x.dtype.kind == "f" else x.type(backend.DEFAULT_FLOAT)
        centered = x - x.mean(1, keepdim=True)
        out = (centered @ centered.T) / max(x.shape[1] - correction, 0)
        return out.reshape(()) if x.shape[0] == 1 else out          # one variable: its variance, 0-d (as PyTorch)

    def corrcoef(self):
        """Pearson correlation coefficients of the variables in the rows (``cov`` normalised by the standard
        deviations), clipped to [-1, 1]."""
        c = self.cov()
        if c.ndim == 0:
            return c / c
        d = c.diagonal().sqrt()
        return (c / d.reshape(-1, 1) / d.reshape(1, -1)).clamp(-1, 1)

    def kron(self, other):
        """The Kronecker product: every element of self times all of ``other``, laid out in blocks
        (``(m, n) kron (p, q)`` is ``(m p, n q)``). Differentiable."""
        other = _operand(other, self)
        nd = max(self.ndim, other.ndim)
        a = self.reshape((1,) * (nd - self.ndim) + self.shape)
        b = other.reshape((1,) * (nd - other.ndim) + other.shape)
        spread = a.reshape(tuple(s for n in a.shape for s in (n, 1)))
        tiled = b.reshape(tuple(s for n in b.shape for s in (1, n)))
        return (spread * tiled).reshape(tuple(m * n for m, n in zip(a.shape, b.shape)))

    # ------------------------------------------------------------ inverse and determinant
    def inverse(self):
        """The inverse of a square matrix (or of each in a batch); singular matrices are an error."""
        square_matrices("inverse", self)
        try:
            return L.Inv.apply(self)
        except Exception as e:               # NumPy's and CuPy's LinAlgError: name the op and the shape
            if "singular" in str(e).lower():
                raise RuntimeError(f"inverse: the matrix (shape {self.shape}) is singular: it has no inverse") from None
            raise

    def det(self):
        """The determinant of a square matrix (or of each in a batch)."""
        return L.Det.apply(square_matrices("det", self))

    def slogdet(self):
        """``(sign, logabsdet)`` with det = sign * exp(logabsdet), computed without forming det (no overflow);
        a singular matrix gives (0, -inf). ``logabsdet`` is differentiable (its gradient is A^-T)."""
        square_matrices("slogdet", self)
        sign = self._wrap(self._xp().linalg.slogdet(self.data)[0], self._device)
        return slogdet_result(sign, L.LogAbsDet.apply(self))

    def logdet(self):
        """log(det): NaN where the determinant is negative, -inf where it is 0."""
        sign, logabsdet = self.slogdet()
        return logabsdet + sign.log()

def _plus(t, product, beta, alpha, op):
    """``beta * t + alpha * product``, t broadcast to the product's shape (PyTorch's addmm family)."""
    _check_broadcast(op, t.shape, product.shape)
    scaled = product * alpha if alpha != 1 else product
    if beta == 0:                                     # PyTorch: input is ignored, even NaN in it
        return scaled
    return (t * beta if beta != 1 else t) + scaled
