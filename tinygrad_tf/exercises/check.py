"""Check a learner's op: load their file (load.py), compare the forward with the real op, gradcheck the backward,
and say what went wrong in words.

    result = check_file("softmax", "softmax.py")    # a CheckResult: print it (rich), bool() it,
    result.exit_code                                # 0 pass, 1 wrong, 2 the file cannot be used

For each of the exercise's cases (seeded float64 inputs) the check runs, in order:

1. the forward, against the reference (the package's own op): shape, NaN/inf, max abs error and where;
2. the backward called directly, once, with a random upstream gradient: one gradient per input, of a
   shape the engine can sum back to the input's (or exactly the input's, for ``broadcast_add``);
3. ``tg.gradcheck`` (central differences) — and for each input that fails, a diagnosis: a known
   mistake of this exercise, a constant factor (2, -1, N, sqrt(d)), a transpose, a zero or ignored
   gradient, NaN from an overflowing exp;
4. for a second-order exercise (``order=2``), once the first derivatives pass: ``tg.gradgradcheck``, the
   learner's backward differentiated again (second_order.py), with a diagnosis of a slope saved as a constant.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field

import numpy as np

from ..autograd import Function, no_grad
from ..gradcheck import gradcheck
from ..tensor import Tensor
from . import second_order
from .catalog import Exercise, get_exercise
from .load import BadFile, learner_files, load_class, raised

EXP_HINT = ("e^x overflows to inf beyond x = 709 (then inf/inf and inf - inf are NaN): never exponentiate a large "
            "positive number — subtract the max first (softmax(x) = softmax(x - max x)), or use e^(-|x|) <= 1")
FORWARD_ATOL, FORWARD_RTOL = 1e-8, 1e-6      # the forward against the real op (both float64)
GRAD_ATOL, GRAD_RTOL = 1e-5, 1e-3            # gradcheck's defaults: analytic against numeric


# ---------------------------------------------------------------- results
@dataclass
class InputCheck:
    """The gradcheck verdict for one input of one case, with the diagnosis when it fails."""

    index: int
    name: str
    shape: tuple
    ok: bool
    max_abs_error: float
    worst_element: tuple = ()
    analytic: float = 0.0
    numeric: float = 0.0
    diagnoses: list = field(default_factory=list)
    order: int = 1                     # 2: a second-order check (gradgradcheck of the backward)


@dataclass
class CaseResult:
    number: int
    label: str
    inputs: str
    forward_ok: bool = False
    forward: str = ""                  # what the forward check found (one line)
    problems: list = field(default_factory=list)   # failures outside gradcheck (exceptions, shapes, NaN)
    grads: list = field(default_factory=list)      # InputCheck per differentiable input
    notes: list = field(default_factory=list)      # worth knowing, not failures

    @property
    def ok(self) -> bool:
        return self.forward_ok and not self.problems and bool(self.grads) and all(g.ok for g in self.grads)


@dataclass
class CheckResult:
    """What ``check_file`` found. Truthy when everything passed; print it for the report."""

    exercise: Exercise
    source: str                        # the file (or the class, for ``check``)
    cases: list = field(default_factory=list)
    error: str | None = None           # the file could not be used (exit code 2)

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.cases) and all(c.ok for c in self.cases)

    def __bool__(self):
        return self.ok

    @property
    def exit_code(self) -> int:
        return 2 if self.error is not None else 0 if self.ok else 1

    @property
    def diagnoses(self) -> list:
        """Every diagnosis and problem, in order (handy in tests and in a REPL)."""
        out = []
        for c in self.cases:
            out += c.problems
            for g in c.grads:
                out += g.diagnoses
        return out

    def lines(self) -> list:
        """The report as (text, style) lines; ``describe()`` and the rich rendering both use it."""
        ex = self.exercise
        out = [(f"exercise {ex.name}: class {ex.class_name} from {self.source}", "bold")]
        if self.error is not None:
            out.append((f"error: {self.error}", "red"))
            return out
        said = {}                       # a diagnosis already given -> the case that gave it

        def once(text, number):
            if text in said:
                return "the same as above" if said[text] == number else f"the same as in case {said[text]}"
            said[text] = number
            return text

        for c in self.cases:
            out.append((f"case {c.number} of {len(ex.cases)}: {c.label} — {c.inputs}", "bold cyan"))
            out.append((f"  forward   {c.forward}", "green" if c.forward_ok else "red"))
            for p in c.problems:
                out.append((f"  problem   {once(p, c.number)}", "red"))
            for g in c.grads:
                what = "gradient" if g.order == 1 else "gradgrad"
                if g.ok:
                    out.append((f"  {what}  input {g.index} ({g.name}): ok, max abs error {g.max_abs_error:.2g}",
                                "green"))
                    continue
                out.append((f"  {what}  input {g.index} ({g.name}, shape {g.shape}): WRONG at element "
                            f"{g.worst_element}: analytic {g.analytic:.6g} vs numeric {g.numeric:.6g} (off by "
                            f"{abs(g.analytic - g.numeric):.3g}; max abs error {g.max_abs_error:.3g})", "red"))
                for d in g.diagnoses:
                    out.append((f"            -> {once(d, c.number)}", "yellow"))
            for n in c.notes:
                out.append((f"  note      {once(n, c.number)}", "dim"))
        failed = [c for c in self.cases if not c.ok]
        if not failed:
            also = ""
            if ex.see_also:
                also = f" (and {ex.reference_location(ex.see_also)}, {ex.see_also.rpartition('.')[2]})"
            twice = ", second derivatives included," if ex.order == 2 else ""
            out.append((f"PASS: forward and backward{twice} agree with {ex.reference_name} on all {len(self.cases)} cases. "
                        f"Now read the real one: {ex.reference_location()}{also}", "bold green"))
        else:
            ran = f"{len(failed)} of {len(ex.cases)} cases went wrong" if len(self.cases) == len(ex.cases) else \
                f"case {failed[0].number} went wrong (the others were not run)"
            out.append((f"FAIL: {ran}. Fix the first problem above, then check again.", "bold red"))
        return out

    def describe(self) -> str:
        return "\n".join(text for text, _ in self.lines())

    __str__ = describe

    def __rich_console__(self, console, options):
        from rich.text import Text
        for text, style in self.lines():
            yield Text(text, style=style)


# ---------------------------------------------------------------- helpers
def sum_to(grad, shape):
    """Sum ``grad`` over broadcast axes down to ``shape`` (aligned from the right, as the engine's _fit);
    None when no such sum exists."""
    grad = np.asarray(grad)
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        return None
    g = grad.sum(axis=tuple(range(extra))) if extra else grad
    if any(n != 1 and n != m for n, m in zip(shape, g.shape)):
        return None
    axes = tuple(a for a, n in enumerate(shape) if n == 1 and g.shape[a] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def broadcast_axes(in_shape, out_shape) -> tuple:
    """The axes of ``out_shape`` that broadcasting stretched for an input of ``in_shape``."""
    extra = len(out_shape) - len(in_shape)
    lead = tuple(range(extra))
    return lead + tuple(extra + a for a, n in enumerate(in_shape) if n == 1 and out_shape[extra + a] != 1)


@contextlib.contextmanager
def _fp_events():
    """Collect NumPy floating-point events (overflow, invalid, divide) instead of printing warnings."""
    events = set()
    with np.errstate(over="call", invalid="call", divide="call", under="ignore",
                     call=lambda kind, flag: events.add(kind)):
        yield events


def _element(idx) -> str:
    return str(tuple(int(i) for i in idx))


def _as_tensors(ex: Exercise, arrays) -> list:
    return [Tensor(a.copy(), requires_grad=arg.differentiable) for a, arg in zip(arrays, ex.cases[0].args)]


def _close(a, b, rtol=1e-5, atol=1e-8) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _call_backward(cls, arrays, ex, g):
    """A fresh forward of the learner's op, then its backward called directly with ``g``: the raw tuple."""
    with _fp_events():
        out = cls.apply(*_as_tensors(ex, arrays))
        raw = type(out.grad_fn).backward(out.grad_fn, g)
    return raw if isinstance(raw, tuple) else (raw,)


# ---------------------------------------------------------------- the check
def check_file(name, path, seed: int = 0) -> CheckResult:
    """Check the learner's file ``path`` for exercise ``name``; see ``CheckResult``."""
    ex = get_exercise(name)
    try:
        cls = load_class(path, ex.class_name)
    except BadFile as e:
        return CheckResult(ex, str(path), error=str(e))
    return _check(ex, cls, str(path), seed)


def check(name, cls, seed: int = 0) -> CheckResult:
    """Check a class defined in a REPL (or anywhere): ``check("square", Square)``."""
    ex = get_exercise(name)
    if not (isinstance(cls, type) and issubclass(cls, Function)):
        return CheckResult(ex, repr(cls), error=f"{cls!r} is not a tg.Function subclass")
    return _check(ex, cls, f"class {cls.__qualname__}", seed)


def _check(ex: Exercise, cls, source: str, seed: int) -> CheckResult:
    result = CheckResult(ex, source)
    for n, case in enumerate(ex.cases, 1):
        res = _check_case(ex, cls, case, n, seed * 1000 + n)
        result.cases.append(res)
        if any("not written yet" in p for p in res.problems):
            break                       # the other cases would only say the same
    return result


def _check_case(ex: Exercise, cls, case, number: int, seed: int) -> CaseResult:
    files = learner_files(cls)
    res = CaseResult(number, case.label, case.describe())
    arrays = case.make(seed)
    names = [a.name for a in case.args]

    # 1. the forward, against the real op
    tensors = _as_tensors(ex, arrays)
    try:
        with _fp_events() as events:
            out = cls.apply(*tensors)
    except Exception as e:  # noqa: BLE001
        res.forward = "did not run"
        res.problems.append(raised("forward", e, files))
        return res
    with no_grad():
        ref = ex.reference(*[Tensor(a.copy()) for a in arrays]).data
    for a, t, nm in zip(arrays, tensors, names):
        if not np.array_equal(a, t.data):
            res.problems.append(f"forward changed its input {nm} in place (e.g. `{nm} -= m`): write "
                                f"`{nm} = {nm} - m`, a new array — the engine and the backward still need the "
                                "original")
    y = out.data
    if isinstance(y, Tensor):
        res.forward = "returned a Tensor; forward works on arrays (ctx.xp), and returns an array"
        return res
    if y.dtype.kind != "f":
        res.forward = f"returned {y.dtype} values; expected floating point"
        return res
    if y.shape != ref.shape:
        res.forward = f"returned shape {tuple(y.shape)}; expected {tuple(ref.shape)}"
        if y.ndim != ref.ndim:
            res.forward += " (check which axis each reduction runs over, and its keepdims)"
        return res
    bad = ~np.isfinite(y) & np.isfinite(ref)
    if bad.any():
        idx = np.unravel_index(int(np.argmax(bad)), y.shape) if y.ndim else ()
        res.forward = (f"gives {y[idx]} at element {_element(idx)} where the real op gives {ref[idx]:.6g}"
                       + (f" — {EXP_HINT}" if ex.uses_exp else ""))
        if "overflow" in events:
            res.forward += " (NumPy reported an overflow in your forward)"
        return res                      # gradients of a NaN forward say nothing; fix the forward first
    err = np.abs(y.astype(np.float64) - ref)
    excess = err - (FORWARD_ATOL + FORWARD_RTOL * np.abs(ref))
    if (excess > 0).any():
        idx = np.unravel_index(int(np.argmax(excess)), y.shape) if y.ndim else ()
        res.forward = (f"WRONG at element {_element(idx)}: yours {y[idx]:.6g}, the real op {ref[idx]:.6g} "
                       f"(max abs error {err.max():.3g})")
        for m in ex.forward_mistakes:
            with np.errstate(all="ignore"):
                if _close(y, m.fn(*arrays), rtol=1e-6, atol=1e-9):
                    res.forward += f" — {m.message}"
                    break
    else:
        res.forward_ok = True
        res.forward = f"ok, max abs error {err.max() if err.size else 0:.2g} against {ex.reference_name}"
        if y.dtype != np.float64:
            res.notes.append(f"forward returned {y.dtype} for float64 inputs; compute in the inputs' dtype")
    if "overflow" in events:
        res.notes.append("NumPy reported an overflow in your forward (a RuntimeWarning outside this check); "
                         "the result came out right here, but " + EXP_HINT)

    # 2. the backward, called directly with an upstream gradient g
    g = np.asarray(np.random.default_rng(seed + 7919).standard_normal(y.shape))
    try:
        raw = _call_backward(cls, arrays, ex, g)
    except Exception as e:  # noqa: BLE001
        res.problems.append(raised("backward", e, files))
        return res
    fitted = {}
    if len(raw) == 1 and isinstance(raw[0], list):
        res.problems.append("backward returned a list; return a tuple: `return da, db`")
        return res
    for i, arg in enumerate(case.args):
        if not arg.differentiable:
            continue
        gi = raw[i] if i < len(raw) else None
        if gi is None:
            n_in = len(case.args)
            res.problems.append(
                f"backward returned no gradient for input {i} ({arg.name})"
                + (": it returned None — did you forget the `return`?" if len(raw) == 1 and raw[0] is None else
                   f": return one gradient per forward input ({n_in} here), e.g. "
                   f"`return {', '.join('d' + a.name if a.differentiable else 'None' for a in case.args)}`"))
            continue
        if isinstance(gi, Tensor):
            res.problems.append(f"backward returned a Tensor for input {i} ({arg.name}); backward works on arrays: "
                                "return an array (grad and ctx.saved_tensors are arrays already)")
            continue
        gi = np.asarray(gi)
        shape = arrays[i].shape
        if gi.shape != shape:
            msg = _shape_problem(ex, i, arg.name, gi.shape, shape, y.shape)
            if msg:
                res.problems.append(msg)
                continue
        if not np.isfinite(gi).all():
            idx = np.unravel_index(int(np.argmax(~np.isfinite(gi))), gi.shape) if gi.ndim else ()
            res.problems.append(f"backward gives {gi[idx]} for input {i} ({arg.name}) at element {_element(idx)}"
                                + (f" — {EXP_HINT}" if ex.uses_exp else ""))
            continue
        fitted[i] = sum_to(gi, shape)
    if res.problems:
        return res

    # 3. gradcheck: analytic vs central differences
    try:
        with np.errstate(all="ignore"):
            report = gradcheck(cls.apply, *_as_tensors(ex, arrays), raise_exception=False, seed=seed,
                                atol=GRAD_ATOL, rtol=GRAD_RTOL)
    except Exception as e:  # noqa: BLE001
        res.problems.append(raised("gradcheck of your op", e, files))
        return res
    for r in report.inputs:
        ic = InputCheck(r.index, names[r.index], tuple(r.shape), r.ok, r.max_abs_error, tuple(r.worst_element),
                        r.analytic, r.numeric)
        if not r.ok:
            ic.diagnoses = _diagnose(ex, cls, arrays, r, g, fitted, res.forward_ok)
        res.grads.append(ic)
    if ex.order == 2 and res.forward_ok and all(ic.ok for ic in res.grads):
        # 4. the backward, differentiated again: gradgradcheck
        try:
            report, why = second_order.check(ex, cls, arrays, _as_tensors, seed, GRAD_ATOL, GRAD_RTOL)
        except Exception as e:  # noqa: BLE001
            res.problems.append(raised("your backward, differentiated again (create_graph=True),", e, files))
            return res
        for r in report.inputs:
            name = names[r.index] if r.index < len(names) else "grad, the upstream gradient"
            res.grads.append(InputCheck(r.index, name, tuple(r.shape), r.ok, r.max_abs_error, tuple(r.worst_element),
                                        r.analytic, r.numeric, why.get(r.index, []), order=2))
    elif ex.order == 2:
        res.notes.append("the second derivatives are checked once the forward and the first derivatives pass")
    return res


def _shape_problem(ex, i, name, got, want, out_shape):
    """A message when a raw gradient's shape is not acceptable; None when the engine can sum it back."""
    if ex.exact_shapes or sum_to(np.zeros(got), want) is None:
        msg = f"your gradient for input {i} ({name}) has shape {tuple(got)} but the input was {tuple(want)}"
        if tuple(got) == tuple(out_shape) and sum_to(np.zeros(got), want) is not None:
            extra = len(out_shape) - len(want)
            lead = tuple(range(extra))
            ones = tuple(a for a, n in enumerate(want) if n == 1 and out_shape[extra + a] != 1)
            steps = []
            if lead:
                steps.append(f"over axis {_axes_text(lead)} (the leading {'axis' if len(lead) == 1 else 'axes'} {name} "
                             f"does not have)")
            if ones:
                steps.append(f"{'then ' if lead else ''}over axis {_axes_text(ones)} with keepdims=True (where {name} "
                             f"has size 1)")
            return f"{msg}: sum over the broadcast axes — {', '.join(steps)}; shapes line up from the right"
        if len(got) == 2 and tuple(got) == tuple(want)[::-1]:
            return f"{msg}: that is the input's shape transposed — is your gradient the transpose of the right one?"
        extra = len(out_shape) - len(want)
        left = tuple(1 if w == 1 else n for n, w in zip(out_shape[:len(want)], want))   # trailing axes dropped
        if 0 < extra and tuple(got) in (tuple(out_shape[:len(want)]), left) \
                and sum_to(np.zeros(out_shape), want) is not None:
            return (f"{msg}: you summed the trailing axes, but shapes line up from the RIGHT — {name} "
                    f"{tuple(want)} matches the last {'axis' if len(want) == 1 else 'axes'} of the output "
                    f"{tuple(out_shape)}, so sum over the leading axis {_axes_text(tuple(range(extra)))} "
                    "(the classic left-aligned mistake)")
        return f"{msg}, and no sum over broadcast axes turns one into the other"
    return None


def _axes_text(axes) -> str:
    return str(axes[0]) if len(axes) == 1 else str(tuple(axes))


def _diagnose(ex: Exercise, cls, arrays, r, g, fitted, forward_ok) -> list:
    """Why input ``r.index``'s analytic gradient differs from the numeric one: a list of sentences."""
    i, A, N = r.index, np.asarray(r.analytic_grad, dtype=np.float64), np.asarray(r.numeric_grad, dtype=np.float64)
    out = []
    if not forward_ok:
        return ["your forward differs from the real op (above): fix it first — this compared your backward "
                "with the derivative of YOUR forward"]
    if not np.isfinite(N).all():
        return out + ["the numeric gradient is NaN/inf: your forward overflows near these inputs"
                      + (f" — {EXP_HINT}" if ex.uses_exp else "")]
    if not np.isfinite(A).all():
        return out + ["your backward gives NaN/inf" + (f" — {EXP_HINT}" if ex.uses_exp else "")]
    if not np.any(A) and np.any(N):
        return out + ["your gradient is all zeros: does backward compute it from grad and return it (not None, "
                      "not a zero array)?"]
    # a known mistake of this exercise, recognised exactly (with the backward's own upstream g)
    if i in fitted:
        with np.errstate(all="ignore"):
            for m in ex.mistakes:
                cand = m.fn(*arrays, g)
                ci = cand[i] if i < len(cand) else None
                if ci is None:
                    continue
                ci = sum_to(ci, arrays[i].shape)
                if ci is not None and _close(fitted[i], ci, rtol=1e-6, atol=1e-9):
                    return out + [m.message]
    # ignores grad: the same answer for 2 g as for g
    try:
        again = _call_backward(cls, arrays, ex, 2 * g)
        gi2 = again[i] if i < len(again) else None
        if gi2 is not None and i in fitted and np.any(fitted[i]) and \
                _close(sum_to(np.asarray(gi2), arrays[i].shape), fitted[i], rtol=1e-9, atol=0):
            return out + ["your backward does not use grad: by the chain rule, dL/dx = (dy/dx) * grad — multiply "
                          "the local derivative by the incoming gradient"]
    except Exception:  # noqa: BLE001,S110  (it ran once already; a second failure tells us nothing new)
        pass
    # a constant factor: A = c N everywhere
    if np.any(N):
        c = float((A * N).sum() / (N * N).sum())
        if np.allclose(A, c * N, rtol=1e-3, atol=1e-7) and abs(c - 1) > 1e-3:
            named = [text for f, text in (ex.factor_hints(*arrays) if ex.factor_hints else [])
                     if math.isclose(c, f, rel_tol=1e-3)]
            if named:
                msg = named[0]
            elif math.isclose(c, -1, rel_tol=1e-3):
                msg = "the sign is flipped: check every minus sign (d(-u) = -du; in a - b the b term is negative)"
            elif math.isclose(c, 0.5, rel_tol=1e-3):
                msg = "exactly half the right value: a factor 2 is missing (as in d(x^2)/dx = 2x)"
            elif math.isclose(c, 2, rel_tol=1e-3):
                msg = "exactly twice the right value: an extra factor 2 (or a term counted twice)"
            else:
                msg = "a constant factor is off: look for a missing or extra constant (a scale, a 1/N, a 2)"
            return out + [f"analytic = {c:.4g} x numeric, everywhere: {msg}"]
    # transposed
    if A.ndim == 2 and A.shape[0] == A.shape[1] and np.allclose(A, N.T, rtol=1e-3, atol=1e-7):
        return out + ["your gradient is the TRANSPOSE of the right one (it matches numeric.T): check the order of "
                      "the factors and which one is transposed (for y = a @ b: dL/da = grad @ b^T, dL/db = a^T @ grad)"]
    # nothing recognised: say how much is wrong, and give the exercise's hints
    excess = np.abs(A - N) - (GRAD_ATOL + GRAD_RTOL * np.abs(N))
    k, total = int((excess > 0).sum()), A.size
    out.append(f"{k} of {total} elements are wrong" + (" (all of them)" if k == total else "")
               + "; the hints are below (`tinygrad-tf exercise show " + ex.name + " --answer` gives the backward's "
               "formula)")
    out += [f"hint: {h}" for h in ex.hints]
    return out
