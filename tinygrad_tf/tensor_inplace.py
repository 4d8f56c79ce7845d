"""Tensor's in-place methods -- ``copy_ zero_ fill_ normal_ uniform_ add_ sub_ mul_ div_ clamp_ masked_fill_
scatter_ scatter_add_`` and ``+= -= *= /=`` -- all under PyTorch's one rule (``_update``):

* a leaf that requires grad (a parameter) may be changed in place only while no graph is recorded,
  inside ``with tg.no_grad():`` -- what nn.init and the optimizers do. Anywhere else it is an error:
  the gradient would be computed from values that are gone;
* where nothing is recorded (no_grad, or no tensor involved requires grad) the new values are written
  into the tensor's own array, so every view of it (``w[0].fill_(0)``) sees them;
* otherwise -- a tensor in the middle of a graph, or a new value that needs gradients -- the op is
  recorded like its out-of-place twin and the tensor takes its result: the same Python object, now the
  output of a new graph node. The arrays earlier ops saved for their backward are left as they were,
  so their gradients stay right. A write into the tensor's own array (the second case) bumps its version, and a
  backward that needs the old values refuses to run (function.check_saved), as PyTorch's does.

``Tensor`` (tensor.py) inherits these from ``InPlaceOps``; the values come from the out-of-place ops.
"""

from __future__ import annotations

import operator

import numpy as np

from . import autograd, backend
from .function import bump_version
from . import shape_ops as S
from .tensor_args import _check_broadcast, _is_tensor, _operand


def _is_view(node) -> bool:
    """Does the node make a view of its input in PyTorch (whose in-place changes reach that input)? Reshapes,
    permutes, expands, and indexing with ints, slices, None and ... (integer arrays and masks copy)."""
    if isinstance(node, (S.Reshape, S.Permute, S.Expand)):
        return True
    if isinstance(node, S.GetItem):        # (a node whose graph was freed no longer knows its index: a view)
        index = getattr(node, "index", None)
        return not any(getattr(p, "ndim", 0) > 0 for p in (index if isinstance(index, tuple) else (index,)))
    return False


def _update(t, op, compute, casting="same_kind"):
    """Apply the in-place op ``op`` to ``t``: ``compute()`` gives the new values as an out-of-place result."""
    if t.requires_grad and t.grad_fn is None and autograd.is_grad_enabled():
        raise RuntimeError(f"{op}: a leaf Variable that requires grad is being used in an in-place operation (a "
                           f"tensor of shape {t.shape}); its gradient would be computed from values that are gone. "
                           "Change parameters inside `with tg.no_grad():` (as nn.init and optimizers do), or use the "
                           "out-of-place op")
    out = compute()
    if out.shape != t.shape:
        raise RuntimeError(f"{op}: the result has shape {out.shape} but the tensor has shape {t.shape}; an in-place "
                           "op cannot change a tensor's shape")
    if not np.can_cast(out.dtype, t.dtype, casting):
        raise RuntimeError(f"{op}: result type {out.dtype} can't be cast to the tensor's dtype {t.dtype}")
    if not out.requires_grad:                    # nothing recorded: write into the tensor's own memory
        try:
            t._xp().copyto(t.data, out.data, casting="unsafe")
            bump_version(t.data)     # arrays an op saved for backward may be this one (function.check_saved)
        except ValueError as e:
            raise RuntimeError(f"{op}: cannot write into this tensor of shape {t.shape} ({e}); a broadcast view "
                               "(expand) shares one value between many elements: clone() it first") from None
        return t
    if _is_view(t.grad_fn) if t.grad_fn is not None else getattr(t.data, "base", None) is not None:
        raise RuntimeError(f"{op}: this tensor of shape {t.shape} is a view into another tensor's memory; an "
                           "in-place op on it while a graph is recorded would not change that tensor. Use the "
                           "out-of-place op (or tg.where / cat), or do it inside `with tg.no_grad():`")
    if out.dtype != t.dtype:
        out = out.type(t.dtype)
    t.data, t.grad_fn, t.requires_grad = out.data, out.grad_fn, True
    return t


def _binary(t, op, other, compute):
    """``t.add_(other)`` and friends: ``other`` must broadcast to t's shape (t itself cannot grow)."""
    _check_broadcast(op, tuple(getattr(other, "shape", ())), t.shape)
    return _update(t, op, compute)


def _operator(op, fn):
    """``t += other`` is ``t.add_(other)``, and so on."""
    return lambda self, other: _binary(self, op, other, lambda: fn(self, other))


class InPlaceOps:
    __slots__ = ()

    # ------------------------------------------------------------ arithmetic
    def add_(self, other, *, alpha=1):
        """In place: ``self += alpha * other``."""
        return _binary(self, "add_", other, lambda: self.add(other, alpha=alpha))

    def sub_(self, other, *, alpha=1):
        """In place: ``self -= alpha * other``."""
        return _binary(self, "sub_", other, lambda: self.sub(other, alpha=alpha))

    def mul_(self, other):
        """In place: ``self *= other``."""
        return _binary(self, "mul_", other, lambda: self.mul(other))

    def div_(self, other, *, rounding_mode=None):
        """In place: ``self /= other`` (``rounding_mode`` as in ``div``)."""
        return _binary(self, "div_", other, lambda: self.div(other, rounding_mode=rounding_mode))

    __iadd__ = _operator("in-place += (add_)", operator.add)
    __isub__ = _operator("in-place -= (sub_)", operator.sub)
    __imul__ = _operator("in-place *= (mul_)", operator.mul)
    __itruediv__ = _operator("in-place /= (div_)", operator.truediv)

    def clamp_(self, min=None, max=None):  # noqa: A002  (PyTorch's argument names)
        """In place: ``clamp``."""
        return _update(self, "clamp_", lambda: self.clamp(min, max))

    def masked_fill_(self, mask, value):
        """In place: ``masked_fill`` (the mask must broadcast to the tensor's shape)."""
        return _update(self, "masked_fill_", lambda: self.masked_fill(mask, value))

    def scatter_(self, dim, index, src=None, *, value=None):
        """In place: ``scatter`` (``x.scatter_(1, ids, 1.0)`` makes one-hot rows in zeros)."""
        return _update(self, "scatter_", lambda: self.scatter(dim, index, src, value=value))

    def scatter_add_(self, dim, index, src):
        """In place: ``scatter_add``."""
        return _update(self, "scatter_add_", lambda: self.scatter_add(dim, index, src))

    def index_add_(self, dim, index, source, *, alpha=1):
        """In place: ``index_add`` (``counts.index_add_(0, ids, ones)`` counts ids; repeats add up)."""
        return _update(self, "index_add_", lambda: self.index_add(dim, index, source, alpha=alpha))

    def index_copy_(self, dim, index, source):
        """In place: ``index_copy``."""
        return _update(self, "index_copy_", lambda: self.index_copy(dim, index, source))

    def index_fill_(self, dim, index, value):
        """In place: ``index_fill``."""
        return _update(self, "index_fill_", lambda: self.index_fill(dim, index, value))

    def lerp_(self, end, weight):
        """In place: ``lerp`` (running averages: ``avg.lerp_(x, 0.1)``)."""
        return _binary(self, "lerp_", end, lambda: self.lerp(end, weight))

    def fill_diagonal_(self, fill_value, wrap=False):
        """Set the main diagonal (``x[i, i, ...]``; every dim must have the same size unless the tensor is 2-D) to
        ``fill_value``. ``wrap=True``: a tall matrix's diagonal starts again every ``cols + 1`` rows, as NumPy's."""
        if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) != 1):
            raise RuntimeError(f"fill_diagonal_: expected a 2-D tensor or one whose dims all have the same size, got "
                               f"shape {self.shape}")

        def compute():
            xp = self._xp()
            mask = xp.zeros(self.shape, dtype=bool)
            xp.fill_diagonal(mask, True, wrap=wrap)
            return self.masked_fill(self._wrap(mask, self._device), fill_value)
        return _update(self, "fill_diagonal_", compute)

    # ------------------------------------------------------------ new values
    def copy_(self, src, non_blocking=False):
        """Copy ``src``'s values in (broadcast to this shape, cast to this dtype, from any device)."""
        src = _operand(src, self)
        if _is_tensor(src):
            _check_broadcast("copy_", src.shape, self.shape)
            src = src.to(self.device)
        return _update(self, "copy_", lambda: S.Copy.apply(self, src), casting="unsafe")

    def fill_(self, value):
        """Set every element to ``value`` (a number or a 0-d tensor)."""
        if _is_tensor(value):
            if value.ndim:
                raise RuntimeError(f"fill_: value must be a number or a 0-d tensor, got a tensor of shape "
                                   f"{value.shape}")
            value = value.to(self.device)
        return _update(self, "fill_", lambda: S.Copy.apply(self, value), casting="unsafe")

    def zero_(self):
        """Set every element to 0."""
        return _update(self, "zero_", lambda: S.Copy.apply(self, 0), casting="unsafe")

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Fill with samples from N(mean, std^2), drawn from ``generator`` (a ``tg.Generator``) or the global
        generator that ``tg.manual_seed`` seeds -- the same draws as ``nn.init.normal_``."""
        x = self._draw("normal_", generator).standard_normal(self.shape, dtype=self._draw_dtype())
        x *= std
        x += mean
        return _update(self, "normal_", lambda: S.Copy.apply(self, x), casting="unsafe")

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        """Fill with samples from U[a, b), drawn from ``generator`` or the global generator -- the same draws
        as ``nn.init.uniform_``."""
        x = self._draw("uniform_", generator).random(self.shape, dtype=self._draw_dtype())
        x *= b - a
        x += a
        return _update(self, "uniform_", lambda: S.Copy.apply(self, x), casting="unsafe")

    def bernoulli_(self, p=0.5, *, generator=None):
        """Fill with 1 (probability ``p``, a number or a tensor that broadcasts) or 0."""
        u = self._draw("bernoulli_", generator).random(self.shape)
        x = (u < (p.data if _is_tensor(p) else p))
        return _update(self, "bernoulli_", lambda: S.Copy.apply(self, x), casting="unsafe")

    def exponential_(self, lambd=1.0, *, generator=None):
        """Fill with samples from the exponential distribution of rate ``lambd`` (mean 1 / lambd)."""
        u = self._draw("exponential_", generator).random(self.shape, dtype=self._draw_dtype())
        x = -self._xp().log1p(-u) / lambd                   # 1 - u is in (0, 1]: never log(0)
        return _update(self, "exponential_", lambda: S.Copy.apply(self, x), casting="unsafe")

    def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
        """Fill with e^N(mean, std^2) samples."""
        x = self._draw("log_normal_", generator).standard_normal(self.shape, dtype=self._draw_dtype())
        x = self._xp().exp(x * std + mean)
        return _update(self, "log_normal_", lambda: S.Copy.apply(self, x), casting="unsafe")

    def random_(self, from_=0, to=None, *, generator=None):
        """Fill with integers drawn uniformly from [from_, to) (``random_(to)``: [0, to)); the tensor may be an
        integer one. Without ``to``, [0, 2^24] for float32 (2^53 float64, 2^11 float16), the dtype's top for ints."""
        if to is None and from_ != 0:
            from_, to = 0, from_
        if to is None:
            to = {"e": 2 ** 11, "f": 2 ** 24, "d": 2 ** 53}.get(self.dtype.char, None)
            to = to + 1 if to is not None else int(np.iinfo(self.dtype).max) + (1 if self.dtype.kind != "b" else 2)
        if from_ >= to:
            raise RuntimeError(f"random_: expects from < to, got from={from_} and to={to}")
        if generator is not None and getattr(generator, "device", self.device) != self.device:
            raise backend.DeviceError(f"random_: the generator is on {generator.device} but the tensor on "
                                      f"{self.device}")
        x = backend.rng(self.device, generator).integers(from_, to, size=self.shape)
        return _update(self, "random_", lambda: S.Copy.apply(self, x), casting="unsafe")

    def _draw(self, op, generator):
        if self.dtype.kind != "f":
            raise TypeError(f"{op}: only floating-point tensors can be filled with random values; this one is "
                            f"{self.dtype}")
        if generator is not None and getattr(generator, "device", self.device) != self.device:
            raise backend.DeviceError(f"{op}: the generator is on {generator.device} but the tensor on "
                                      f"{self.device}; make it with tg.Generator({self.device!r})")
        return backend.rng(self.device, generator)

    def _draw_dtype(self):  # the generators draw float32 or float64 (float16: draw float32, then cast)
        return self.dtype if self.dtype in (backend.float32, backend.float64) else backend.float32


def _in_place(name):
    """``x.exp_()`` and friends: ``x.exp()`` written back into x, under the rules above."""
    def method(self, *args, **kwargs):
        return _update(self, name + "_", lambda: getattr(self, name)(*args, **kwargs))
    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In place: ``{name}``."
    return method


IN_PLACE = ("exp log sqrt rsqrt tanh sigmoid relu neg negative abs absolute sin cos tan sinh cosh asin acos atan "
            "asinh acosh atanh arcsin arccos arctan arcsinh arccosh arctanh pow square reciprocal log1p expm1 log2 "
            "log10 exp2 erf erfc floor ceil round trunc fix frac sign sgn nan_to_num logit deg2rad rad2deg "
            "clamp_min clamp_max tril triu remainder fmod atan2 arctan2 hypot cumsum cumprod multiply divide "
            "subtract true_divide floor_divide logical_and logical_or logical_xor logical_not bitwise_and "
            "bitwise_or bitwise_xor bitwise_not eq ne lt le gt ge greater greater_equal less less_equal "
            "not_equal addcmul addcdiv addmm addmv baddbmm float_power xlogy").split()
for _name in IN_PLACE:
    setattr(InPlaceOps, _name + "_", _in_place(_name))
InPlaceOps.clip_ = InPlaceOps.clamp_
del _name
