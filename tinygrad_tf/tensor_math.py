"""Tensor's further math, under PyTorch's names: log1p, expm1, erf, the rounding steps, the inverse and hyperbolic
trigonometric functions, atan2 / hypot / remainder / lerp; prod, amax / amin, nansum, cumprod, median, diff; and
the tests (isnan, isclose, allclose, equal, count_nonzero, logical_*). (Matrix products and norms: tensor_linalg.py.)

``Tensor`` (tensor.py) inherits these from ``MathOps``. Each method checks what the user passed, naming the op
and the shapes when it is wrong, then calls Functions (math_ops.py, reduce_ops.py, ops.py) -- read those for
the math. Functions that PyTorch only defines for floating point (log1p, erf, ...) turn integer and bool tensors
into the default float dtype first, as PyTorch does.
"""

from __future__ import annotations

import math
import operator
from collections import namedtuple

import numpy as np

from . import autograd, backend
from . import index_ops as I
from . import math_ops as M
from . import ops as O
from . import reduce_ops as R
from . import shape_ops as S
from .tensor_args import _arith, _axes, _check_choice, _dim, _is_tensor, _numpy_names, _operand
from .tensor_ops import _cumulative, _floating

aminmax_result = namedtuple("aminmax", ["min", "max"])
aminmax_result.__doc__ = "What ``aminmax`` returns: ``.min`` and ``.max``."
median_result = namedtuple("median", ["values", "indices"])
median_result.__doc__ = "What ``median(dim)`` returns: ``.values`` (differentiable) and ``.indices`` (int64)."


def _unary(fn, doc):
    def method(self):
        return fn.apply(_floating(self))
    method.__doc__ = doc
    return method


def _plain(arr, device):
    """A plain (non-graph) result tensor, never a subclass such as nn.Parameter."""
    return autograd.Tensor._wrap(arr, device)


def _values(op, t, other):
    """``other``'s array (a tensor's on t's device, or a number / list) for the tests that compare values."""
    other = _operand(other, t)
    if _is_tensor(other):
        if other._device != t._device:
            raise backend.DeviceError(f"{op}: the tensors are on two devices, {t.device} {t.shape} and "
                                      f"{other.device} {other.shape}")
        return other.data
    return other


class MathOps:
    __slots__ = ()

    # ------------------------------------------------------------ elementwise
    log1p = _unary(M.Log1p, "ln(1 + x), exact for tiny x.")
    expm1 = _unary(M.Expm1, "e^x - 1, exact for tiny x.")
    log2 = _unary(M.Log2, "The base-2 logarithm.")
    log10 = _unary(M.Log10, "The base-10 logarithm.")
    exp2 = _unary(M.Exp2, "2 ** x.")
    erf = _unary(M.Erf, "The error function.")
    erfc = _unary(M.Erfc, "1 - erf(x).")
    reciprocal = _unary(M.Reciprocal, "1 / x.")
    tan = _unary(M.Tan, "The tangent.")
    sinh = _unary(M.Sinh, "The hyperbolic sine.")
    cosh = _unary(M.Cosh, "The hyperbolic cosine.")
    asin = arcsin = _unary(M.Asin, "The inverse sine (NaN outside [-1, 1]).")
    acos = arccos = _unary(M.Acos, "The inverse cosine (NaN outside [-1, 1]).")
    atan = arctan = _unary(M.Atan, "The inverse tangent.")
    asinh = arcsinh = _unary(M.Asinh, "The inverse hyperbolic sine.")
    acosh = arccosh = _unary(M.Acosh, "The inverse hyperbolic cosine (NaN below 1).")
    atanh = arctanh = _unary(M.Atanh, "The inverse hyperbolic tangent (NaN outside [-1, 1]).")
    frac = _unary(M.Frac, "x - trunc(x): the fractional part, with x's sign (gradient 1).")

    def _step(self, name, decimals=0):
        if self.dtype.kind in "biu":                     # integers are already whole: PyTorch returns a copy
            return _plain(self._xp().sign(self.data) if name == "sign" else self.data.copy(), self._device)
        return M.Step.apply(self, name, decimals)

    def floor(self):
        """The largest integer <= x, in x's dtype (gradient 0, as PyTorch)."""
        return self._step("floor")

    def ceil(self):
        """The smallest integer >= x (gradient 0)."""
        return self._step("ceil")

    def round(self, decimals=0):
        """x rounded to ``decimals`` places, halves to even (``round(2.5) == 2``, as PyTorch); gradient 0."""
        return self._step("round", operator.index(decimals))

    def trunc(self):
        """x rounded toward zero (gradient 0)."""
        return self._step("trunc")

    fix = trunc

    def sign(self):
        """-1, 0 or 1 by the sign of x (gradient 0)."""
        return self._step("sign")

    sgn = sign

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        """NaN -> ``nan``; +inf / -inf -> ``posinf`` / ``neginf`` (default: the dtype's largest / lowest number)."""
        if self.dtype.kind != "f":
            return self.clone()
        return M.NanToNum.apply(self, nan, posinf, neginf)

    def logit(self, eps=None):
        """ln(p / (1 - p)); with ``eps``, p is first clamped to [eps, 1 - eps]."""
        return M.Logit.apply(_floating(self), eps)

    def deg2rad(self):
        """Degrees to radians."""
        return _floating(self) * (math.pi / 180)

    def rad2deg(self):
        """Radians to degrees."""
        return _floating(self) * (180 / math.pi)

    def positive(self):
        """x itself (unary +)."""
        return self

    def negative(self):
        """-x."""
        return -self

    def absolute(self):
        """|x| (``abs``)."""
        return self.abs()

    def atan2(self, other):
        """The angle of the point (other, self), elementwise, in (-pi, pi]; both differentiable."""
        return M.Atan2.apply(*(_floating(t) if _is_tensor(t) else t for t in _arith(self, other, division=True)))

    arctan2 = atan2

    def hypot(self, other):
        """sqrt(self^2 + other^2), without overflow."""
        return M.Hypot.apply(*_arith(self, other, division=True))

    def remainder(self, other):
        """Python's ``%``: self - floor(self / other) * other, with the sign of ``other``."""
        return M.Remainder.apply(*_arith(self, other), False)

    def fmod(self, other):
        """C's fmod: self - trunc(self / other) * other, with the sign of ``self``."""
        return M.Remainder.apply(*_arith(self, other), True)

    __mod__ = remainder

    def __rmod__(self, other):
        return M.Remainder.apply(*_arith(self, other, reflected=True), False)

    def __floordiv__(self, other):
        return self.div(other, rounding_mode="floor")

    def __rfloordiv__(self, other):
        return O.RoundedDiv.apply(*_arith(self, other, reflected=True), "floor")

    def floor_divide(self, other):
        """``self // other``: the quotient rounded down."""
        return self.div(other, rounding_mode="floor")

    def true_divide(self, other):
        """``self / other``."""
        return self / other

    def multiply(self, other):
        """``self * other``."""
        return self * other

    def divide(self, other, *, rounding_mode=None):
        """``div``."""
        return self.div(other, rounding_mode=rounding_mode)

    def subtract(self, other, *, alpha=1):
        """``sub``: ``self - alpha * other``."""
        return self.sub(other, alpha=alpha)

    def lerp(self, end, weight):
        """``self + weight * (end - self)``: a straight line from self (weight 0) to ``end`` (weight 1); ``weight``
        is a number or a tensor, and all three are differentiable."""
        if not _is_tensor(end):
            raise TypeError(f"lerp: end must be a Tensor, got {type(end).__name__}")
        weight = _operand(weight, self)
        for name, t in (("end", end), ("weight", weight)):
            if _is_tensor(t) and t.dtype != self.dtype:
                raise RuntimeError(f"lerp: {name} has dtype {t.dtype} but the tensor {self.dtype}; they must match")
        return M.Lerp.apply(self, end, weight)

    def float_power(self, exponent):
        """``self ** exponent`` computed in float64 (both converted first), as PyTorch's ``float_power``."""
        base = self.type(backend.float64)
        return base ** (exponent.type(backend.float64) if _is_tensor(exponent) else exponent)

    def xlogy(self, other):
        """``self * log(other)``, with 0 wherever self is 0 (so ``p.xlogy(p)`` is 0 where p is: entropies); NaN
        where other is NaN."""
        a, b = _arith(self, other, division=True)
        with np.errstate(divide="ignore", invalid="ignore"):      # log b is -inf or NaN where b <= 0: masked next
            log_b = b.log() if _is_tensor(b) else (math.log(b) if b > 0 else -math.inf if b == 0 else math.nan)
            out = a * log_b
        zero = (a == 0) & (b <= 0)                                # 0 * log b is 0 there too (NaN b stays NaN)
        return out.masked_fill(zero, 0) if bool(zero.data.any()) else out

    def dist(self, other, p=2):
        """The ``p``-norm of ``self - other`` (a 0-d tensor)."""
        return (self - other).norm(p)

    def logaddexp(self, other):
        """log(e^self + e^other), without overflow."""
        m = self.maximum(other)
        return m + (-(self - other).abs()).exp().log1p()

    def clamp_min(self, min):  # noqa: A002
        """``clamp(min=min)``."""
        return self.clamp(min=min)

    def clamp_max(self, max):  # noqa: A002
        """``clamp(max=max)``."""
        return self.clamp(max=max)

    def where(self, condition, other):
        """``tg.where(condition, self, other)``: self where ``condition`` holds, else ``other`` (a tensor or number)."""
        cond = _values("where", self, condition)
        cond = cond if hasattr(cond, "dtype") else self._xp().asarray(cond)
        return O.Where.apply(cond.astype(bool, copy=False), *_arith(self, other))

    # ------------------------------------------------------------ tests (no gradient)
    def isnan(self): return _plain(self._xp().isnan(self.data), self._device)             # noqa: E704
    def isinf(self): return _plain(self._xp().isinf(self.data), self._device)             # noqa: E704
    def isfinite(self): return _plain(self._xp().isfinite(self.data), self._device)       # noqa: E704
    def isposinf(self): return _plain(self._xp().isposinf(self.data), self._device)       # noqa: E704
    def isneginf(self): return _plain(self._xp().isneginf(self.data), self._device)       # noqa: E704
    def signbit(self): return _plain(self._xp().signbit(self.data), self._device)         # noqa: E704
    def logical_not(self): return _plain(self._xp().logical_not(self.data), self._device)  # noqa: E704

    def _logical(self, op, other):
        return _plain(getattr(self._xp(), op)(self.data, _values(op, self, other)), self._device)

    def logical_and(self, other): return self._logical("logical_and", other)   # noqa: E704
    def logical_or(self, other): return self._logical("logical_or", other)     # noqa: E704
    def logical_xor(self, other): return self._logical("logical_xor", other)   # noqa: E704

    def _bitwise(self, op, other=None):
        if self.dtype.kind not in "biu" or (_is_tensor(other) and other.dtype.kind not in "biu"):
            raise TypeError(f"{op}: only integer and bool tensors have bits; got {self.dtype}"
                            + (f" and {other.dtype}" if _is_tensor(other) else ""))
        xp = self._xp()
        out = getattr(xp, op)(self.data) if other is None else getattr(xp, op)(self.data, _values(op, self, other))
        return _plain(out, self._device)

    def bitwise_and(self, other): return self._bitwise("bitwise_and", other)   # noqa: E704
    def bitwise_or(self, other): return self._bitwise("bitwise_or", other)     # noqa: E704
    def bitwise_xor(self, other): return self._bitwise("bitwise_xor", other)   # noqa: E704
    def bitwise_not(self): return self._bitwise("bitwise_not")                 # noqa: E704

    def greater(self, other): return self > other           # noqa: E704
    def greater_equal(self, other): return self >= other    # noqa: E704
    def less(self, other): return self < other              # noqa: E704
    def less_equal(self, other): return self <= other       # noqa: E704
    def not_equal(self, other): return self != other        # noqa: E704

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """|self - other| <= atol + rtol * |other|, elementwise (a bool tensor)."""
        return _plain(self._xp().isclose(self.data, _values("isclose", self, other), rtol=rtol, atol=atol,
                                         equal_nan=equal_nan), self._device)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
        """Whether every element is ``isclose`` to ``other``'s (the shapes must broadcast)."""
        other_shape = getattr(other, "shape", ())
        try:
            return bool(self.isclose(other, rtol, atol, equal_nan).data.all())
        except ValueError:
            raise RuntimeError(f"allclose: shapes {self.shape} and {tuple(other_shape)} do not broadcast") from None

    def equal(self, other) -> bool:
        """True if ``other`` has the same shape and the same values (NaN is never equal)."""
        if not _is_tensor(other):
            raise TypeError(f"equal: expected a Tensor, got {type(other).__name__}")
        return self.shape == other.shape and bool((self.data == _values("equal", self, other)).all())

    def count_nonzero(self, dim=None):
        """The number of non-zero elements (along ``dim``: an int or a tuple), as int64."""
        axes = _axes("count_nonzero", dim, self.ndim)
        n = self._xp().count_nonzero(self.data, axis=axes) if axes else (self.data != 0).astype(backend.int64)
        return _plain(self._xp().asarray(n, dtype=backend.int64), self._device)

    # ------------------------------------------------------------ reductions
    def prod(self, dim=None, keepdim=False, *, dtype=None):
        """The product of all elements, or along one ``dim``; integers and bools give int64. The gradient of each
        element is the product of the others (right where some are 0)."""
        if dim is not None and not isinstance(dim, int):
            raise TypeError(f"prod: dim must be one int (PyTorch's prod reduces one dim at a time), got {dim!r}")
        if dtype is None and self.dtype.kind in "biu":
            dtype = backend.int64
        return R.Prod.apply(self, _axes("prod", dim, self.ndim), keepdim, backend.as_dtype(dtype))

    @_numpy_names
    def amax(self, dim=(), keepdim=False):
        """The largest value over ``dim`` (an int or a tuple; all dims by default); ties share the gradient evenly."""
        return R.Max.apply(self, _axes("amax", dim if dim != () else None, self.ndim), keepdim, True)

    @_numpy_names
    def amin(self, dim=(), keepdim=False):
        """The smallest value over ``dim`` (an int or a tuple; all dims by default); ties share the gradient evenly."""
        return R.Max.apply(self, _axes("amin", dim if dim != () else None, self.ndim), keepdim, False)

    def aminmax(self, *, dim=None, keepdim=False):
        """``(min, max)`` over one ``dim`` or all, as a named tuple."""
        if dim is not None:
            _dim("aminmax", dim, self.ndim)
        return aminmax_result(self.amin(dim if dim is not None else (), keepdim),
                              self.amax(dim if dim is not None else (), keepdim))

    @_numpy_names
    def nansum(self, dim=None, keepdim=False):
        """``sum`` that counts NaN as 0."""
        return self.masked_fill(self.isnan(), 0).sum(dim, keepdim) if self.dtype.kind == "f" else self.sum(dim, keepdim)

    @_numpy_names
    def nanmean(self, dim=None, keepdim=False):
        """``mean`` over the elements that are not NaN."""
        count = (~self.isnan()).sum(dim, keepdim)
        return self.nansum(dim, keepdim) / count

    def cumprod(self, dim, *, dtype=None):
        """Running products along ``dim``: ``y[i] = x[0] * ... * x[i]``; integers and bools give int64."""
        return _cumulative("cumprod", R.CumProd, self, dim, dtype)

    def median(self, dim=None, keepdim=False):
        """The median (of an even count, the lower of the two middle values, as PyTorch): without ``dim`` a 0-d
        tensor; with ``dim`` the named tuple ``(values, indices)``. The gradient goes to the element picked."""
        x, d = (self.reshape(-1), 0) if dim is None else (self.reshape(1) if self.ndim == 0 else self,
                                                          _dim("median", dim, self.ndim))
        n = x.shape[d]
        if n == 0:
            raise IndexError(f"median: dim {d} of a tensor of shape {self.shape} is empty")
        xp = x._xp()
        order = I.sort_order(xp, x.data, d)
        index = xp.take(order, [(n - 1) // 2], axis=d)
        values = I.Gather.apply(x, d, index)
        if dim is None:
            return values.reshape(())
        if self.ndim == 0:
            values, index = values.reshape(()), index.reshape(())
        elif not keepdim:
            values, index = values.squeeze(d), xp.squeeze(index, axis=d)
        return median_result(values, _plain(index.astype(backend.int64, copy=False), self._device))

    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        """The ``q``-th quantile(s) (``q`` a number or 1-D tensor in [0, 1]) over ``dim`` (all elements by default),
        between the two nearest sorted values by ``interpolation``: "linear", "lower", "higher", "midpoint" or
        "nearest" (halves to even, as PyTorch). A tensor ``q`` adds a leading dim. Differentiable."""
        _check_choice("quantile", "interpolation", interpolation, ("linear", "lower", "higher", "midpoint", "nearest"))
        if self.dtype.kind != "f":
            raise TypeError(f"quantile: expected a floating-point tensor, got {self.dtype}")
        if self.numel() == 0:
            raise RuntimeError(f"quantile: the input tensor must be non-empty, got shape {self.shape}")
        qs = q.data if _is_tensor(q) else self._xp().asarray(q, dtype=self.dtype)
        if qs.ndim > 1 or not bool(((qs >= 0) & (qs <= 1)).all()):
            raise RuntimeError(f"quantile: q must be a number or a 1-D tensor of values in [0, 1], got {q}")
        x, d = (self.reshape(-1), 0) if dim is None else (self, _dim("quantile", dim, self.ndim))
        n = x.shape[d] if x.ndim else 1
        if n == 0:
            raise IndexError(f"quantile: dim {d} of a tensor of shape {self.shape} is empty")
        xp = x._xp()
        s = x.sort(d).values if x.ndim else x.reshape(1)
        pos = backend.to_numpy(qs).reshape(-1).astype(backend.float64) * (n - 1)
        lo, hi = np.floor(pos).astype(int), np.ceil(pos).astype(int)
        frac = pos - lo
        if interpolation == "lower":
            hi, frac = lo, frac * 0
        elif interpolation == "higher":
            lo, frac = hi, frac * 0
        elif interpolation == "nearest":
            lo = hi = np.round(pos).astype(int)
        elif interpolation == "midpoint":
            frac = np.where(hi > lo, 0.5, 0.0)
        a = s.index_select(d if s.ndim else 0, xp.asarray(lo))
        b = s.index_select(d if s.ndim else 0, xp.asarray(hi))
        w = xp.asarray(frac, dtype=self.dtype).reshape((-1,) + (1,) * (s.ndim - 1 - (d if s.ndim else 0)))
        out = a + (b - a) * autograd.Tensor._wrap(w, self._device)            # (..., len(q) at d, ...)
        out = out.movedim(d, 0)                                                # q's dim first, as PyTorch
        if keepdim:
            out = out.unsqueeze(d + 1) if dim is not None else out.reshape((len(pos),) + (1,) * self.ndim)
        if not _is_tensor(q) or qs.ndim == 0:
            out = out.squeeze(0)
        return out

    def msort(self):
        """``sort(dim=0).values``."""
        return self.sort(0).values

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        """The ``n``-th forward difference along ``dim``: ``x[i + 1] - x[i]``, after joining ``prepend`` and
        ``append`` to x along that dim."""
        d = _dim("diff", dim, self.ndim)
        parts = [t for t in (prepend, self, append) if t is not None]
        x = self
        if len(parts) > 1:
            x = S.Cat.apply(*(_operand(t, self) if not _is_tensor(t) else t for t in parts), dim=d)
        lead = (slice(None),) * d
        for _ in range(operator.index(n)):
            x = x[lead + (slice(1, None),)] - x[lead + (slice(None, -1),)]
        return x


