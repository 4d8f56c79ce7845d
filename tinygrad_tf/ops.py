"""Elementwise ops and matmul: one Function each, forward and backward side by side.

Read each class as its formula: ``forward`` computes y = f(x) on arrays,
``backward`` gets dL/dy and returns dL/dx by the chain rule. ``ctx.xp`` is numpy
or cupy, so each op is written once for both backends. Broadcasting is undone by
the engine (autograd._fit), so a binary op returns gradients of the *output's*
shape and never sums by hand. Arguments arrive already checked (the Tensor methods,
tg.* and nn.functional check what users pass and name the op when it is wrong), so
an op is only its math.

Reductions, softmax and friends live in reduce_ops.py; reshaping and indexing in
shape_ops.py; embedding, dropout and cross-entropy in nn_ops.py.
"""

import functools
import math

import numpy as np

from . import backend, kernels_cpu
from .autograd import Function
from .parallel_cpu import for_rows, matmul, multiply


# ---------------------------------------------------------------- arithmetic
class Add(Function):          # y = a + b          dy/da = 1, dy/db = 1
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):          # y = a - b          dy/da = 1, dy/db = -1
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):          # y = a * b          dy/da = b, dy/db = a
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g * b if ctx.needs_input_grad[0] else None,
                g * a if ctx.needs_input_grad[1] else None)


class Div(Function):          # y = a / b          dy/da = 1/b, dy/db = -a/b^2 = -y/b
    @staticmethod
    def forward(ctx, a, b):
        y = a / b
        ctx.save_for_backward(b, y)
        return y

    @staticmethod
    def backward(ctx, g):
        b, y = ctx.saved_tensors
        ga = g / b
        return ga, (-ga * y if ctx.needs_input_grad[1] else None)


class RoundedDiv(Function):
    """y = floor(a / b) or trunc(a / b) (``div(rounding_mode=...)``): a step function of a and b, so
    dy/da = dy/db = 0 wherever it is differentiable -- PyTorch's gradient too.

    floor follows Python's ``//`` (NumPy's floor_divide, exact for integers); trunc rounds toward zero,
    which for integers is floor + 1 where the quotient is negative and inexact."""

    @staticmethod
    def forward(ctx, a, b, mode):
        xp = ctx.xp
        q = xp.floor_divide(a, b)
        if mode == "trunc":
            if q.dtype.kind == "f":
                q = xp.trunc(a / b).astype(q.dtype, copy=False)
            else:
                q = q + ((q < 0) & (q * b != a))
        return q

    @staticmethod
    def backward(ctx, g):
        return g * 0, g * 0


class Pow(Function):          # y = a ** b         dy/da = b a^(b-1), dy/db = y ln a
    @staticmethod
    def forward(ctx, a, b):
        y = a ** b
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        xp = ctx.xp
        ga = None
        if ctx.needs_input_grad[0]:   # (a ** 0 is constant: no a ** -1, which is inf at a = 0; PyTorch's rule)
            ga = g * 0 if isinstance(b, (int, float)) and b == 0 else g * b * a ** (b - 1)
        gb = None
        if ctx.needs_input_grad[1]:   # ln a is only defined for a > 0; PyTorch's convention: 0 where a == 0
            a = xp.asarray(a)         # a may be a Python number (2 ** x), and cupy.where wants arrays
            gb = g * y * xp.log(xp.where(a > 0, a, 1))
        return ga, gb


class Neg(Function):          # y = -x
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


# ---------------------------------------------------------------- unary math
class Exp(Function):          # y = e^x            dy/dx = y
    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved_tensors[0]


class Log(Function):          # y = ln x           dy/dx = 1/x
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log(x)

    @staticmethod
    def backward(ctx, g):
        return g / ctx.saved_tensors[0]


class Sqrt(Function):         # y = sqrt(x)        dy/dx = 1 / (2 y)
    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        return g / (2 * ctx.saved_tensors[0])


class Abs(Function):          # y = |x|            dy/dx = sign(x)  (0 at 0, as PyTorch)
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.abs(x)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.xp.sign(ctx.saved_tensors[0])


class Sin(Function):          # dy/dx = cos x
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.sin(x)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.xp.cos(ctx.saved_tensors[0])


class Cos(Function):          # dy/dx = -sin x
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.cos(x)

    @staticmethod
    def backward(ctx, g):
        return -g * ctx.xp.sin(ctx.saved_tensors[0])


class Tanh(Function):         # dy/dx = 1 - y^2
    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y = ctx.saved_tensors[0]
        return g * (1 - y * y)


def stable_sigmoid(xp, x):
    """1 / (1 + e^-x), never exponentiating a large positive number (which overflows to inf):
    with e = exp(-|x|) <= 1, sigmoid(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0.
    (-|x| is written as a where, whose derivative is right at x = 0 too, for SiLU's second derivative.)"""
    pos = x >= 0
    e = xp.exp(xp.where(pos, -x, x))
    s = xp.where(pos, 1 / (1 + e), e / (1 + e))
    return s if s.dtype == x.dtype else s.astype(x.dtype)


class Sigmoid(Function):      # y = 1 / (1 + e^-x)   dy/dx = y (1 - y)
    @staticmethod
    def forward(ctx, x):
        y = stable_sigmoid(ctx.xp, x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y = ctx.saved_tensors[0]
        return g * y * (1 - y)


class ReLU(Function):         # y = max(x, 0)      dy/dx = [x > 0]
    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.maximum(x, 0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        return g * (ctx.saved_tensors[0] > 0)


def gelu(xp, x, approximate="none", slope=True):
    """y = x Phi(x), Phi the standard normal CDF, and (if ``slope``) dy/dx = Phi(x) + x Phi'(x).

    exact: Phi(x) = (1 + erf(x / sqrt 2)) / 2,   Phi'(x) = e^(-x^2/2) / sqrt(2 pi)
    tanh:  Phi(x) ~ (1 + t) / 2,  t = tanh(u),  u = sqrt(2/pi) (x + 0.044715 x^3)   (GPT-2's "gelu_new")
           Phi'(x) ~ (1 - t^2) / 2 * sqrt(2/pi) (1 + 3 * 0.044715 x^2)
    (x * x * x, never x ** 3: NumPy's float32 power is ~250x slower than two multiplies.)
    """
    x2 = x * x
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        t = xp.tanh(k * x * (1 + 0.044715 * x2))
        cdf = 0.5 * (1 + t)
        dcdf = 0.5 * k * (1 - t * t) * (1 + 3 * 0.044715 * x2) if slope else None
    else:
        cdf = 0.5 * (1 + backend.erf(x * (1 / math.sqrt(2))))
        dcdf = xp.exp(-0.5 * x2) * (1 / math.sqrt(2 * math.pi)) if slope else None
    return x * cdf, (cdf + x * dcdf if slope else None)


def gelu_input(xp, y, dydx, approximate="none"):
    """x from y = gelu(x) and dy/dx at x (for create_graph, which re-derives GELU's slope from x).

    gelu falls from 0 to its minimum at x* ~ -0.75 and rises after it, so the slope's sign says on which
    side of x* x lies, and on that side gelu is monotonic: bisection finds x (in float64, 80 halvings of a
    bracket: exact to rounding). Far left, where y and the slope are 0 in floating point, so are all the
    derivatives, and any x there will do."""
    y, right = y.astype("float64"), dydx > 0
    x_min = _gelu_minimum(approximate)
    lo = xp.where(right, x_min, -40.0)
    hi = xp.where(right, xp.maximum(2 * y, 0) + 1, x_min)      # x <= 2 y right of 0, as gelu(x) >= x / 2
    for _ in range(80):
        mid = (lo + hi) / 2
        below = (gelu(xp, mid, approximate, False)[0] < y) == right     # is mid left of x?
        lo, hi = xp.where(below, mid, lo), xp.where(below, hi, mid)
    return ((lo + hi) / 2).astype(dydx.dtype)


@functools.lru_cache(maxsize=None)
def _gelu_minimum(approximate):
    """Where gelu's slope is 0 (x* ~ -0.752), by bisection on the slope's sign."""
    lo, hi = -2.0, 0.0
    for _ in range(80):
        mid = (lo + hi) / 2
        rising = gelu(np, np.asarray(mid), approximate)[1] > 0
        lo, hi = (lo, mid) if rising else (mid, hi)
    return (lo + hi) / 2


def gelu_by_chunks(xp, x, approximate="none", slope=True):
    """gelu, chunk by chunk on all cores (parallel_cpu); tanh-GELU as two compiled loops where they can run
    (kernels_cpu)."""
    if approximate == "tanh" and kernels_cpu.ready(x):
        return kernels_cpu.gelu_tanh(xp, x, slope)
    return for_rows(gelu, xp, x, approximate, slope, row=0)


class GELU(Function):
    """y = gelu(x) (the function above).   dL/dx = g * dy/dx.

    Everything dy/dx needs is at hand in the forward pass, so forward saves dy/dx itself and backward is
    one multiply; ``ctx.derived`` remembers it as gelu's slope at x, for second derivatives. x is not kept
    (memory): y is (the next matmul keeps it anyway), and with the slope it gives x back (``gelu_input``)."""

    @staticmethod
    def forward(ctx, x, approximate="none"):
        y, dydx = ctx.derived(gelu_by_chunks, x, approximate, ctx.needs_input_grad[0])
        if dydx is not None:
            ctx.save_for_backward(dydx, y)
            ctx.approximate = approximate
        return y

    @staticmethod
    def backward(ctx, g):
        dydx, _ = ctx.saved_tensors
        return multiply(g, dydx)                  # g * dydx, on all cores (parallel_cpu)

    @staticmethod
    def input_from_saved(ctx, i):     # x, which the forward does not keep, back from y and dy/dx
        dydx, y = ctx.saved_tensors
        return gelu_input(ctx.xp, y, dydx, ctx.approximate)


class SiLU(Function):         # y = x sigmoid(x)   dy/dx = s (1 + x (1 - s))
    @staticmethod
    def forward(ctx, x):
        s = ctx.derived(stable_sigmoid, x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, g):
        x, s = ctx.saved_tensors
        return g * s * (1 + x * (1 - s))


class Clamp(Function):        # dy/dx = 1 inside [lo, hi], 0 outside
    @staticmethod
    def forward(ctx, x, lo=None, hi=None):
        xp = ctx.xp
        keep = xp.ones(x.shape, dtype=bool)
        if lo is not None:
            keep &= x >= lo
            x = xp.maximum(x, lo)
        if hi is not None:
            keep &= x <= hi
            x = xp.minimum(x, hi)
        ctx.save_for_backward(keep)
        return x

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved_tensors[0]


class Maximum(Function):
    """y = max(a, b).   dL/da = g wa, dL/db = g (1 - wa), wa = 1 where a won, 1/2 on a tie (as PyTorch), else 0."""

    largest = True

    @staticmethod
    def forward(ctx, a, b):
        y = ctx.xp.maximum(a, b) if ctx.largest else ctx.xp.minimum(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        wa = (a == y) - 0.5 * (a == b)
        return g * wa, g * (1 - wa)


class Minimum(Maximum):       # y = min(a, b): the same gradient, with the smaller value winning
    largest = False


class Where(Function):        # y = cond ? a : b   (cond is an array, not differentiable)
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        return ctx.xp.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        return None, g * cond, g * ~cond


class MaskedFill(Function):   # y = mask ? value : x
    @staticmethod
    def forward(ctx, x, mask, value):
        ctx.save_for_backward(mask)
        return ctx.xp.where(mask, ctx.xp.asarray(value, dtype=x.dtype), x)

    @staticmethod
    def backward(ctx, g):
        return g * ~ctx.saved_tensors[0]


class Tril(Function):
    """y = x on and below the k-th diagonal of the last two axes, 0 above (tril); dy/dx is the same mask.

    Row i keeps the columns j <= i + k (``xp.tri``); triu keeps j >= i + k, the complement of tri(k - 1).
    """

    upper = False

    @staticmethod
    def forward(ctx, x, diagonal=0):
        xp = ctx.xp
        n, m = x.shape[-2:]
        keep = xp.tri(n, m, diagonal - 1, dtype=bool) if ctx.upper else xp.tri(n, m, diagonal, dtype=bool)
        if ctx.upper:
            keep = ~keep
        ctx.save_for_backward(keep)
        return xp.where(keep, x, xp.zeros((), dtype=x.dtype))    # not x * keep: -inf above the diagonal gives 0

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved_tensors[0]


class Triu(Tril):             # y = x on and above the k-th diagonal, 0 below
    upper = True


class Cast(Function):         # change dtype; the gradient is cast back by the engine
    @staticmethod
    def forward(ctx, x, dtype):
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g


# ---------------------------------------------------------------- matmul
class MatMul(Function):
    """y = a @ b.   dL/da = g @ b^T,  dL/db = a^T @ g   (over the last two axes).

    1-D operands follow NumPy: a vector on the left is a row (1, n), on the right a
    column (n, 1), and that axis is dropped from y. Batch axes broadcast; the engine
    sums the gradient back over broadcast batch axes.

    A stack times a matrix, (..., n, k) @ (k, m) (every Linear layer), runs as ONE large GEMM
    (-1, k) @ (k, m) -- forward, and both gradients -- never as one small GEMM per batch item, which
    is how NumPy would run it (``_fold``).
    """

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        if b.ndim == 2 and a.ndim > 2:        # y = (a folded to (-1, k)) @ b, unfolded
            return _unfold(matmul(_fold(a), b), a.shape[:-1])
        return matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        xp = ctx.xp
        a_vec, b_vec = a.ndim == 1, b.ndim == 1
        if b_vec:                             # restore the dropped column axis (the last one of y) ...
            b, g = b[:, None], g[..., None]
        if a_vec:                             # ... then the dropped row axis (vector @ vector: y was 0-d)
            a, g = a[None, :], g[..., None, :]
        stack_times_matrix = b.ndim == 2 and a.ndim > 2
        ga = gb = None
        if ctx.needs_input_grad[0]:
            if stack_times_matrix:            # dL/da = (g folded) @ b^T, unfolded
                ga = _unfold(matmul(_fold(g), xp.swapaxes(b, -1, -2)), g.shape[:-1])
            else:
                ga = matmul(g, xp.swapaxes(b, -1, -2))
            if a_vec:
                ga = ga[..., 0, :]
        if ctx.needs_input_grad[1]:
            if stack_times_matrix:            # dL/db = (a folded)^T @ (g folded): the batch summed in the GEMM
                gb = matmul(xp.swapaxes(_fold(a), -1, -2), _fold(g))
            else:
                gb = matmul(xp.swapaxes(a, -1, -2), g)
            if b_vec:
                gb = gb[..., 0]
        return ga, gb


def _fold(x):
    """(..., n, k) -> (-1, k): the batch axes folded into the rows (a view when x is contiguous; otherwise a
    copy of x, which costs far less than the GEMM it feeds). Arrays and Tensors (create_graph) alike."""
    return x.reshape(-1, x.shape[-1])


def _unfold(y, lead):
    """(-1, m) -> (*lead, m): the folded rows back into their batch axes."""
    return y.reshape(*lead, y.shape[-1])
