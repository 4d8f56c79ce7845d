"""Numerical gradient checking: is the backward you wrote the derivative of your forward?

For a function f and a random "upstream gradient" v (one per output), the
analytic gradient is what ``backward`` gives for L = sum(f(x) * v). The numeric
one changes each input element by +-eps and measures L directly:

    dL/dx_j  ~  (L(x + eps e_j) - L(x - eps e_j)) / (2 eps)      (central differences)

The error of central differences is O(eps^2), but rounding error grows like
1/eps — only float64 leaves room for both to be small, so inputs are checked in
float64 (float32 inputs are copied up).

``gradgradcheck`` does the same one level up: the function it checks is fn's gradient (with
``create_graph=True``), so it compares the second derivatives the backward passes compute with central
differences of the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import autograd, backend
from .autograd import enable_grad, grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """The analytic and numeric gradients disagree; the message says where and by how much."""


@dataclass
class InputReport:
    index: int                 # position among fn's arguments
    shape: tuple
    max_abs_error: float
    worst_element: tuple       # index of the element furthest outside the tolerance (or of the max error)
    analytic: float            # the two gradients at that element
    numeric: float
    ok: bool
    analytic_grad: np.ndarray = field(repr=False, default=None)
    numeric_grad: np.ndarray = field(repr=False, default=None)
    label: str = ""            # how to name it, when "input {index}" would not say (gradgradcheck's grad_outputs)

    def describe(self) -> str:
        name = self.label or f"input {self.index}"
        return (f"{name} (shape {self.shape}): at element {self.worst_element} the analytic gradient is "
                f"{self.analytic:.6g} but the numeric one is {self.numeric:.6g} "
                f"(abs error {abs(self.analytic - self.numeric):.3g}; max abs error over the input {self.max_abs_error:.3g})")


@dataclass
class GradcheckReport:
    ok: bool
    inputs: list
    atol: float
    rtol: float
    eps: float
    upcast: bool = False       # some inputs were float32 and were checked as float64 copies
    check: str = "gradcheck"   # or "gradgradcheck": the gradients checked are those of fn's gradient

    def __bool__(self):
        return self.ok

    @property
    def max_abs_error(self) -> float:
        return max((r.max_abs_error for r in self.inputs), default=0.0)

    def describe(self) -> str:
        bad = [r for r in self.inputs if not r.ok]
        if not bad:
            return f"{self.check} passed: max abs error {self.max_abs_error:.3g} over {len(self.inputs)} input(s)"
        return f"{self.check} failed:\n" + "\n".join("  " + r.describe() for r in bad) + \
            f"\n  (tolerance: |analytic - numeric| <= {self.atol} + {self.rtol} * |numeric|)"


def _as_outputs(out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    outs = [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]
    if not outs:
        raise TypeError("gradcheck: fn must return a floating-point Tensor (or a tuple of them)")
    return outs


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0) -> GradcheckReport:
    """Compare ``fn``'s analytic gradients with central differences, for every input that requires grad.

    Returns a report (truthy when every input passes). On a mismatch it raises
    ``GradcheckError`` naming the input, the worst element and both values — or,
    with ``raise_exception=False``, returns the failing report.
    """
    upcast = False
    args = []
    for a in inputs:
        if isinstance(a, Tensor) and a.requires_grad:
            if a.dtype != backend.float64:
                upcast = True
            a = Tensor(a.data.astype(backend.float64), requires_grad=True)
        args.append(a)
    checked = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; create them with requires_grad=True")

    # upstream gradients v, one per output, fixed by the seed
    outs = _as_outputs(fn(*args))
    rs = np.random.default_rng(seed)
    vs = [backend.to_device(rs.standard_normal(o.shape), o.device) for o in outs]

    def objective() -> float:           # L(x) = sum_k sum(out_k * v_k)
        # evaluated in the caller's grad mode, as PyTorch's gradcheck does: a function that itself takes a
        # gradient (a gradient penalty, gradgradcheck's first derivatives) needs the graph to be recorded
        return sum(float((o.data.astype(np.float64) * v).sum()) for o, v in zip(_as_outputs(fn(*args)), vs))

    # analytic: one backward pass of L
    loss = None
    for o, v in zip(outs, vs):
        if o.requires_grad:
            term = (o * Tensor(v.astype(o.dtype))).sum()
            loss = term if loss is None else loss + term
    if loss is not None:
        loss.backward()

    reports = []
    for i in checked:
        x = args[i]
        analytic = backend.to_numpy(x.grad.data) if x.grad is not None else np.zeros(x.shape)
        numeric = np.zeros(x.shape)
        for idx in np.ndindex(*x.shape):      # element by element, whatever the memory layout
            orig = x.data[idx].item()
            x.data[idx] = orig + eps
            plus = objective()
            x.data[idx] = orig - eps
            minus = objective()
            x.data[idx] = orig
            numeric[idx] = (plus - minus) / (2 * eps)
        err = np.abs(analytic - numeric)
        excess = err - (atol + rtol * np.abs(numeric))
        excess = np.where(np.isnan(excess), np.inf, excess)     # a NaN anywhere is a failure
        worst = np.unravel_index(int(np.argmax(excess)), x.shape) if x.data.size else ()
        reports.append(InputReport(
            index=i, shape=x.shape, max_abs_error=float(np.nanmax(err)) if err.size else 0.0,
            worst_element=tuple(int(k) for k in worst), analytic=float(analytic[worst]) if err.size else 0.0,
            numeric=float(numeric[worst]) if err.size else 0.0, ok=bool((excess <= 0).all()),
            analytic_grad=analytic, numeric_grad=numeric))
    report = GradcheckReport(ok=all(r.ok for r in reports), inputs=reports, atol=atol, rtol=rtol, eps=eps,
                             upcast=upcast)
    if not report.ok and raise_exception:
        raise GradcheckError(report.describe())
    return report


def gradgradcheck(fn, *inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
                  seed=0) -> GradcheckReport:
    """Check second derivatives, as ``torch.autograd.gradgradcheck``: gradcheck the function that maps
    (inputs, v) to fn's gradient, the vector-Jacobian product ``grad(fn(inputs), inputs, v, create_graph=True)``.

    Its own gradient is what a double backward computes, so this catches a backward whose result is right
    but not differentiable the right way (a value saved as a constant where it depends on the input).
    ``grad_outputs``: the v's, one per output that requires grad (default: random, fixed by ``seed``); they
    are checked too, as inputs of the gradient. Inputs are checked in float64, like gradcheck.
    """
    args = [Tensor(a.data.astype(backend.float64), requires_grad=True)
            if isinstance(a, Tensor) and a.requires_grad else a for a in inputs]
    checked = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    if not checked:
        raise ValueError("gradgradcheck: no input requires grad; create them with requires_grad=True")
    outs = [o for o in _as_outputs(fn(*args)) if o.requires_grad]
    if grad_outputs is None:
        rs = np.random.default_rng(seed + 1)
        vs = [Tensor(backend.to_device(rs.standard_normal(o.shape), o.device), requires_grad=True) for o in outs]
    else:
        given = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)
        if len(given) != len(outs):
            raise ValueError(f"gradgradcheck: {len(given)} grad_outputs for {len(outs)} outputs that require grad")
        vs = [Tensor(v.data.astype(backend.float64) if isinstance(v, Tensor) else np.asarray(v, dtype=np.float64),
                     device=o.device, requires_grad=True) for v, o in zip(given, outs)]
    n = len(args)

    def first_derivatives(*xs_and_vs):
        xs, v = xs_and_vs[:n], xs_and_vs[n:]
        with enable_grad():
            out = [o for o in _as_outputs(fn(*xs)) if o.requires_grad]
            return grad(out, [xs[i] for i in checked], grad_outputs=list(v), create_graph=True,
                        materialize_grads=True)

    report = gradcheck(first_derivatives, *args, *vs, eps=eps, atol=atol, rtol=rtol, raise_exception=False, seed=seed)
    report.check = "gradgradcheck"
    for r in report.inputs:
        if r.index >= n:
            r.label = f"grad_outputs[{r.index - n}]"
    if not report.ok and raise_exception:
        raise GradcheckError(report.describe())
    return report


# torch.autograd.gradcheck / gradgradcheck: the same functions under PyTorch's module (gradcheck.py needs autograd,
# so autograd cannot import them; they are set here, as tensor.py sets autograd.Tensor)
autograd.gradcheck, autograd.gradgradcheck = gradcheck, gradgradcheck
