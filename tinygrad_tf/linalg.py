"""``tg.linalg``, as ``torch.linalg``: norms (``norm``, ``vector_norm``, ``matrix_norm``), ``inv``, ``det``,
``slogdet``, ``solve``, ``multi_dot``, ``matmul``, ``vecdot`` and ``cross``, all differentiable.

Matrices are the last two dims of a tensor (batch dims in front). The Functions are in linalg_ops.py (the inverse,
determinant and solve) and reduce_ops.py (``Norm``); what is checked here is what the user passed.
"""

from __future__ import annotations

import functools

from . import linalg_ops as L
from .tensor import Tensor
from .tensor_linalg import square_matrices

__all__ = ["norm", "vector_norm", "matrix_norm", "inv", "det", "slogdet", "solve", "multi_dot", "matmul", "vecdot",
           "cross"]

_INF = float("inf")


def _tensor(op, x) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg.{op}: expected a Tensor, got {type(x).__name__}")
    return x


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None) -> Tensor:  # noqa: A002
    """The ``ord``-norm of the elements over ``dim`` (all of them by default): (sum |x|^ord)^(1/ord); ``ord`` may be
    inf (max |x|), -inf (min |x|) or 0 (the count of non-zeros)."""
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r} (matrix norms: matrix_norm)")
    return _tensor("vector_norm", x).norm(ord, dim, keepdim, dtype)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None) -> Tensor:  # noqa: N803
    """A norm of the matrices in ``dim``: "fro" (the 2-norm of the entries), inf / -inf (the largest / smallest
    row sum of |a|), 1 / -1 (the largest / smallest column sum). The spectral norms (2, -2, "nuc") need singular
    values, which tinygrad_tf does not compute: they are an error."""
    A = _tensor("matrix_norm", A)
    if dtype is not None:
        A = A.type(dtype)
    dim = tuple(dim)
    if len(dim) != 2 or A.ndim < 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must name 2 dims of a tensor with >= 2 dims, got dim {dim} and "
                           f"shape {A.shape}")
    rows, cols = (d % A.ndim for d in dim)
    if rows == cols:
        raise RuntimeError(f"linalg.matrix_norm: the two dims must differ, got {dim}")
    if ord == "fro":
        return A.norm(2, (rows, cols), keepdim)
    if ord in (_INF, -_INF, 1, -1):
        summed, reduced = (cols, rows) if ord in (_INF, -_INF) else (rows, cols)
        sums = A.abs().sum(summed, keepdim=True)
        out = sums.amax(reduced, keepdim=True) if ord > 0 else sums.amin(reduced, keepdim=True)
        return out if keepdim else out.squeeze((rows, cols))
    raise RuntimeError(f"linalg.matrix_norm: ord={ord!r} needs singular values, which tinygrad_tf does not compute; "
                       "the supported orders are 'fro', inf, -inf, 1 and -1")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None) -> Tensor:  # noqa: N803
    """``torch.linalg.norm``: with ``ord=None``, the 2-norm of all the elements (or over ``dim``); with an ``ord``,
    a vector norm for a 1-D input or an int ``dim``, a matrix norm for a 2-D input or a 2-tuple ``dim``."""
    A = _tensor("norm", A)
    if isinstance(dim, int):
        dim = (dim,)
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: with ord={ord!r} and no dim the input must be 1-D or 2-D, got shape "
                               f"{A.shape}")
        dim = tuple(range(A.ndim))
    if len(dim) == 1:
        return vector_norm(A, ord, dim, keepdim, dtype=dtype)
    return matrix_norm(A, ord, dim, keepdim, dtype=dtype)


def inv(A) -> Tensor:  # noqa: N803
    """The inverse of a square matrix (or of each in a batch)."""
    return _tensor("inv", A).inverse()


def det(A) -> Tensor:  # noqa: N803
    """The determinant of a square matrix (or of each in a batch)."""
    return _tensor("det", A).det()


def slogdet(A):  # noqa: N803
    """``(sign, logabsdet)`` of a square matrix: det = sign * exp(logabsdet), without overflow."""
    return _tensor("slogdet", A).slogdet()


def solve(A, B, *, left=True) -> Tensor:  # noqa: N803
    """X with A X = B (``left=False``: X A = B), for square A; B is a matrix (..., n, k) or a vector (n,) / (..., n).
    Differentiable in A and B; more stable than ``inv(A) @ B``."""
    A, B = square_matrices("linalg.solve", _tensor("solve", A)), _tensor("solve", B)
    if not left:
        return solve(A.mT, B.mT).mT
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    n = A.shape[-1]
    if (B.shape[-1] if vector else B.shape[-2]) != n:
        raise RuntimeError(f"linalg.solve: A of shape {A.shape} and B of shape {B.shape} do not fit (B must have {n} "
                           "rows)")
    try:
        return L.Solve.apply(A, B, vector)
    except Exception as e:
        if "singular" in str(e).lower():
            raise RuntimeError(f"linalg.solve: A (shape {A.shape}) is singular: A X = B has no unique "
                               "solution") from None
        raise


def multi_dot(tensors) -> Tensor:
    """``tensors[0] @ tensors[1] @ ...`` (the first may be a 1-D row vector, the last a 1-D column vector)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"linalg.multi_dot: expected at least 2 tensors, got {len(tensors)}")
    return functools.reduce(lambda a, b: a @ b, tensors)


def matmul(input, other) -> Tensor:  # noqa: A002
    """``input @ other``."""
    return _tensor("matmul", input) @ other


def vecdot(x, y, *, dim=-1) -> Tensor:
    """The dot products of the vectors along ``dim`` (broadcasting the rest): ``(x * y).sum(dim)``."""
    return (_tensor("vecdot", x) * y).sum(dim)


def cross(input, other, *, dim=-1) -> Tensor:  # noqa: A002
    """The cross product of 3-vectors along ``dim`` (the last by default), broadcasting the rest."""
    return _tensor("cross", input).cross(other, dim)
