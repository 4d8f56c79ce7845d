"""Linear algebra as Functions: the inverse, the determinant and solving A X = B, over the last two axes (batch
axes in front), forward and backward side by side. The matrices arrive checked (square, matching) by the Tensor
methods (tensor_linalg.py) and tg.linalg (linalg.py).
"""

from types import ModuleType

from .autograd import Function
from .reduce_ops import _exclusive_products


def _mT(xp, a):
    return xp.swapaxes(a, -1, -2)


class Inv(Function):
    """Y = A^-1.   dL/dA = -Y^T G Y^T   (from dY = -Y dA Y)."""

    @staticmethod
    def forward(ctx, a):
        y = ctx.xp.linalg.inv(a)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        yt = _mT(ctx.xp, y)
        return -(yt @ g @ yt)


def adjugate(xp, a):
    """adj(A), with A adj(A) = det(A) I, from the SVD A = U S V^T: adj(A) = det(U V^T) V diag(prod_{j != i} s_j) U^T.
    It needs no inverse, so it is right for singular A too (where A^-1 det A is 0 / 0). On the graph (a backward
    with create_graph=True, ``xp`` the Tensor namespace) it is det(A) A^-1, differentiable where A is invertible."""
    if not isinstance(xp, ModuleType):
        return xp.adjugate(a)
    u, s, vt = xp.linalg.svd(a)
    before, after = _exclusive_products(xp, s, -1)
    sign = xp.linalg.det(u) * xp.linalg.det(vt)
    return sign[..., None, None] * (_mT(xp, vt) * (before * after)[..., None, :]) @ _mT(xp, u)


class Det(Function):
    """y = det A.   dy/dA = adj(A)^T  (= det(A) A^-T where A is invertible; the adjugate covers singular A too)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.linalg.det(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g[..., None, None] * _mT(ctx.xp, adjugate(ctx.xp, a))


class Solve(Function):
    """X = A^-1 B (B a matrix, or a vector when ``vector``).   dL/dB = A^-T G,   dL/dA = -(dL/dB) X^T."""

    @staticmethod
    def forward(ctx, a, b, vector=False):
        xp = ctx.xp
        x = xp.linalg.solve(a, b[..., None] if vector else b)
        x = x[..., 0] if vector else x
        ctx.save_for_backward(a, x)
        ctx.vector = vector
        return x

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        a, x = ctx.saved_tensors
        if ctx.vector:                        # vectors as one-column matrices
            x, g = x[..., None], g[..., None]
        gb = xp.linalg.solve(_mT(xp, a), g)
        ga = -(gb @ _mT(xp, x)) if ctx.needs_input_grad[0] else None
        return ga, (gb[..., 0] if ctx.vector else gb)


class LogAbsDet(Function):
    """y = log |det A| (``slogdet``'s second half; NumPy's slogdet never overflows).   dy/dA = A^-T."""

    @staticmethod
    def forward(ctx, a):
        sign, y = ctx.xp.linalg.slogdet(a)
        ctx.save_for_backward(a)
        return y

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g[..., None, None] * _mT(ctx.xp, ctx.xp.linalg.inv(a))
