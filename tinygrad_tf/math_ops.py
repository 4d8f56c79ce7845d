"""More elementwise math: log1p, expm1, log2/log10/exp2, erf/erfc, reciprocal, tan and the hyperbolic and
inverse trigonometric functions, the rounding steps (floor, ceil, round, trunc, sign) and frac, and the
binary atan2, hypot, remainder/fmod and lerp. One Function each, forward and backward side by side, as in
ops.py; arguments arrive checked by the Tensor methods (tensor_math.py).
"""

import math

from . import backend
from .autograd import Function


class Log1p(Function):        # y = ln(1 + x)      dy/dx = 1 / (1 + x)   (exact for tiny x, where log(1 + x) is not)
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log1p(x)

    @staticmethod
    def backward(ctx, g):
        return g / (1 + ctx.saved_tensors[0])


class Expm1(Function):        # y = e^x - 1        dy/dx = e^x = y + 1
    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.expm1(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        return g * (ctx.saved_tensors[0] + 1)


class Log2(Function):         # y = log_b x        dy/dx = 1 / (x ln b)     (b = 2 here, 10 for Log10)
    base = 2

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log2(x) if ctx.base == 2 else ctx.xp.log10(x)

    @staticmethod
    def backward(ctx, g):
        return g / (ctx.saved_tensors[0] * math.log(ctx.base))


class Log10(Log2):
    base = 10


class Exp2(Function):         # y = 2^x            dy/dx = y ln 2
    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.exp2(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved_tensors[0] * math.log(2)


class Erf(Function):          # y = erf x          dy/dx = 2/sqrt(pi) e^(-x^2)     (erfc = 1 - erf: the negative)
    sign = 1

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        y = backend.erf(x)
        return y if ctx.sign == 1 else 1 - y

    @staticmethod
    def backward(ctx, g):
        x = ctx.saved_tensors[0]
        return g * (ctx.sign * 2 / math.sqrt(math.pi)) * ctx.xp.exp(-x * x)


class Erfc(Erf):
    sign = -1


class Reciprocal(Function):   # y = 1 / x          dy/dx = -1 / x^2 = -y^2
    @staticmethod
    def forward(ctx, x):
        y = 1 / x
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y = ctx.saved_tensors[0]
        return -g * y * y


class Tan(Function):          # y = tan x          dy/dx = 1 + y^2
    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.tan(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y = ctx.saved_tensors[0]
        return g * (1 + y * y)


class Sinh(Function):         # dy/dx = cosh x
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.sinh(x)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.xp.cosh(ctx.saved_tensors[0])


class Cosh(Function):         # dy/dx = sinh x
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.cosh(x)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.xp.sinh(ctx.saved_tensors[0])


class Asin(Function):         # y = arcsin x       dy/dx = 1 / sqrt(1 - x^2)    (arccos: the negative)
    sign = 1

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.arcsin(x) if ctx.sign == 1 else ctx.xp.arccos(x)

    @staticmethod
    def backward(ctx, g):
        x = ctx.saved_tensors[0]
        return ctx.sign * g / ctx.xp.sqrt(1 - x * x)


class Acos(Asin):
    sign = -1


class Atan(Function):         # y = arctan x       dy/dx = 1 / (1 + x^2)
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.arctan(x)

    @staticmethod
    def backward(ctx, g):
        x = ctx.saved_tensors[0]
        return g / (1 + x * x)


class Asinh(Function):        # y = arsinh x       dy/dx = 1 / sqrt(x^2 + 1)
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.arcsinh(x)

    @staticmethod
    def backward(ctx, g):
        x = ctx.saved_tensors[0]
        return g / ctx.xp.sqrt(x * x + 1)


class Acosh(Function):        # y = arcosh x       dy/dx = 1 / sqrt(x^2 - 1)
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.arccosh(x)

    @staticmethod
    def backward(ctx, g):
        x = ctx.saved_tensors[0]
        return g / ctx.xp.sqrt(x * x - 1)


class Atanh(Function):        # y = artanh x       dy/dx = 1 / (1 - x^2)
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.arctanh(x)

    @staticmethod
    def backward(ctx, g):
        x = ctx.saved_tensors[0]
        return g / (1 - x * x)


class Step(Function):
    """floor, ceil, round (half to even, as PyTorch), trunc, sign: piecewise constant, so dy/dx = 0 wherever it
    is defined -- and PyTorch's gradient is 0 everywhere. ``round(decimals=d)`` rounds x * 10^d."""

    @staticmethod
    def forward(ctx, x, name, decimals=0):
        xp = ctx.xp
        if name == "round":
            return xp.round(x, decimals)
        return getattr(xp, name)(x)

    @staticmethod
    def backward(ctx, g):
        return ctx.xp.zeros_like(g)


class Frac(Function):         # y = x - trunc(x)   dy/dx = 1
    @staticmethod
    def forward(ctx, x):
        return x - ctx.xp.trunc(x)

    @staticmethod
    def backward(ctx, g):
        return g


class NanToNum(Function):
    """y = x with NaN, +inf and -inf replaced by numbers.   dy/dx = 1 where x was finite, else 0."""

    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        xp = ctx.xp
        ctx.save_for_backward(xp.isfinite(x))
        return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved_tensors[0]


def _clip(xp, p, eps):
    return p if eps is None else xp.clip(p, eps, 1 - eps)


class Logit(Function):        # y = ln(q / (1 - q)), q = p clipped to [eps, 1 - eps]
    """dy/dp = 1 / (q (1 - q)) where the clip leaves p as it is, 0 where it moves it (PyTorch's rule)."""

    @staticmethod
    def forward(ctx, p, eps):
        ctx.eps = eps
        ctx.save_for_backward(p)
        q = _clip(ctx.xp, p, eps)
        return ctx.xp.log(q / (1 - q))

    @staticmethod
    def backward(ctx, g):
        (p,) = ctx.saved_tensors
        q = _clip(ctx.xp, p, ctx.eps)
        return g * (q == p) / (q * (1 - q))


# ---------------------------------------------------------------- binary
class Atan2(Function):
    """y = atan2(a, b), the angle of the point (b, a).   dy/da = b / (a^2 + b^2),  dy/db = -a / (a^2 + b^2)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return ctx.xp.arctan2(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        r2 = a * a + b * b
        return g * b / r2, -g * a / r2


class Hypot(Function):        # y = sqrt(a^2 + b^2)   dy/da = a / y,  dy/db = b / y
    @staticmethod
    def forward(ctx, a, b):
        y = ctx.xp.hypot(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        return g * a / y, g * b / y


class Remainder(Function):
    """y = a - q b with q = floor(a / b) (``remainder``, Python's %: the sign of b) or q = trunc(a / b) (``fmod``,
    C's fmod: the sign of a).   dy/da = 1,  dy/db = -q."""

    @staticmethod
    def forward(ctx, a, b, truncate):
        xp = ctx.xp
        y = xp.fmod(a, b) if truncate else xp.remainder(a, b)
        if ctx.needs_input_grad[1]:
            ctx.save_for_backward(xp.round((a - y) / b))      # q, exactly an integer
        return y

    @staticmethod
    def backward(ctx, g):
        return g, (-g * ctx.saved_tensors[0] if ctx.needs_input_grad[1] else None)


class Lerp(Function):
    """y = start + w (end - start).   dy/dstart = 1 - w,  dy/dend = w,  dy/dw = end - start."""

    @staticmethod
    def forward(ctx, start, end, w):
        ctx.save_for_backward(start, end, w)
        return start + w * (end - start)

    @staticmethod
    def backward(ctx, g):
        start, end, w = ctx.saved_tensors
        return (g * (1 - w), g * w,
                g * (end - start) if ctx.needs_input_grad[2] else None)
