"""The exercises: what to write, how it is checked, and the real op it is checked against.

Each ``Exercise`` says which class the learner writes (``class Softmax(tg.Function)``), the
formula, the inputs it is tried on (``Case``: shapes and value ranges, float64, seeded), and the
*reference*: the op as the package itself computes it (``tinygrad_tf.ops.Sigmoid``,
``nn.functional.layer_norm``, ...). The reference solutions are the real ops: once your op
passes, read the real one (``Exercise.reference_location()`` says where it is).

``mistakes`` are known wrong backwards, written out in NumPy: when the learner's gradient equals
one of them, the check names the mistake instead of only saying "wrong". ``forward_mistakes`` do
the same for forwards (a tanh-approximated GELU, an unbiased variance, ...).
"""

from __future__ import annotations

import importlib
import inspect
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import ops
from ..nn import functional as F


# ---------------------------------------------------------------- the data model
@dataclass(frozen=True)
class Arg:
    """One argument of the learner's ``forward``.

    domain: "normal" (N(0, 1) * scale), "large" (+-700 to +-1000: e^x overflows beyond 709),
            "shifted" (1000 + N(0, 1) * scale: every value large, differences ordinary),
            "classes:C" (int64 class ids in [0, C): no gradient).
    """

    name: str
    shape: tuple
    domain: str = "normal"
    scale: float = 1.0

    @property
    def differentiable(self) -> bool:
        return not self.domain.startswith("classes")

    def make(self, rng) -> np.ndarray:
        if self.domain == "normal":
            return rng.standard_normal(self.shape) * self.scale
        if self.domain == "large":
            return rng.choice([-1.0, 1.0], self.shape) * rng.uniform(700.0, 1000.0, self.shape)
        if self.domain == "shifted":
            return 1000.0 + rng.standard_normal(self.shape) * self.scale
        if self.domain.startswith("classes:"):
            return rng.integers(0, int(self.domain.split(":")[1]), self.shape).astype(np.int64)
        raise ValueError(f"unknown domain {self.domain!r}")

    def describe(self) -> str:
        where = {"normal": "N(0, 1)" if self.scale == 1 else f"N(0, {self.scale:g}^2)",
                 "large": "+-(700..1000)", "shifted": f"1000 + N(0, {self.scale:g}^2)"}.get(self.domain)
        if where is None:
            where = f"class ids in [0, {self.domain.split(':')[1]})"
        return f"{self.name} {tuple(self.shape)} {where}"


@dataclass(frozen=True)
class Case:
    """One set of inputs to try: a label and the forward's arguments, in order."""

    label: str
    args: tuple

    def make(self, seed: int) -> list:
        rng = np.random.default_rng(seed)
        return [a.make(rng) for a in self.args]

    def describe(self) -> str:
        return ", ".join(a.describe() for a in self.args)


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer. ``fn(*arrays, g)`` returns the wrong gradients (one per forward input, or
    None where it has nothing to say) for upstream gradient ``g``; for a forward mistake, ``fn(*arrays)``
    returns the wrong output."""

    fn: object
    message: str


@dataclass(frozen=True, kw_only=True)
class Exercise:
    name: str
    title: str
    statement: str                 # one line
    formula: str                   # the forward: part of the statement, shown up front
    answer: str                    # the backward's formula: the answer, shown only on request (--answer)
    class_name: str
    forward_args: tuple = ("x",)   # the names after ctx (most ops here take one input, x)
    backward_returns: str = "dL/dx, shaped like x"   # what backward must return
    cases: tuple
    reference: object              # fn(*tensors) -> Tensor: the real op
    reference_name: str            # "tinygrad_tf.ops.Sigmoid": where to read the real one
    hints: tuple = ()              # shown on request (`show --hint`), and under a failing check
    mistakes: tuple = ()           # known wrong backwards (Mistake)
    forward_mistakes: tuple = ()   # known wrong forwards (Mistake)
    factor_hints: object = None    # fn(*arrays) -> [(factor, meaning)]: constant factors worth naming
    uses_exp: bool = False         # NaN/inf means an overflowing exp: suggest subtracting the max
    exact_shapes: bool = False     # backward must return gradients of the inputs' exact shapes (no engine sum)
    see_also: str = ""             # a second place in the package worth reading after passing
    order: int = 1                 # 2: the backward must be differentiable too (the check adds tg.gradgradcheck)
    imports: tuple = ()            # extra import lines for the starter file
    forward_body: str = "raise NotImplementedError(\"forward\")"
    backward_body: str = "raise NotImplementedError(\"backward\")"
    extra: dict = field(default_factory=dict)

    @property
    def signature(self) -> str:
        return f"forward(ctx, {', '.join(self.forward_args)})"

    @property
    def differentiable_args(self) -> list:
        return [i for i, a in enumerate(self.cases[0].args) if a.differentiable]

    def reference_object(self, dotted=None):
        module, _, attr = (dotted or self.reference_name).rpartition(".")
        return getattr(importlib.import_module(module), attr)

    def reference_location(self, dotted=None) -> str:
        """'tinygrad_tf/reduce_ops.py:137' — where the real op (or ``dotted``) is defined."""
        obj = self.reference_object(dotted)
        try:
            path = Path(inspect.getsourcefile(obj))
            line = inspect.getsourcelines(obj)[1]
        except (OSError, TypeError):
            return dotted or self.reference_name
        root = Path(importlib.import_module("tinygrad_tf").__file__).resolve().parent.parent
        try:
            path = path.resolve().relative_to(root)
        except ValueError:
            pass
        return f"{path}:{line}"

    def template(self) -> str:
        """The starter file: the class skeleton with the statement and the forward's formula in its docstring
        (the backward's formula is the exercise: it is not given away, and neither are the hints)."""
        formula = "\n".join("    " + ln if ln else "" for ln in self.formula.splitlines())
        imports = "".join(line + "\n" for line in ("import tinygrad_tf as tg", *self.imports))
        fwd_args = ", ".join(self.forward_args)
        return f'''"""Exercise {self.name}: {self.title}.

{self.statement}

{formula}

Check it:   tinygrad-tf exercise check {self.name} {self.name}.py
Stuck?      tinygrad-tf exercise show {self.name} --hint
"""

{imports}

class {self.class_name}(tg.Function):
    @staticmethod
    def forward(ctx, {fwd_args}):
        # backend arrays in, one array out; ctx.xp is numpy (or cupy): write xp.exp, xp.sqrt, ...
        # save what backward needs: ctx.save_for_backward(...) or ctx.something = ...
        {self.forward_body}

    @staticmethod
    def backward(ctx, grad):
        # grad = dL/d(output), shaped like the output; return {self.backward_returns}
        {self.backward_body}
'''


# ---------------------------------------------------------------- NumPy helpers for the known mistakes
def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _erf(x):
    from ..backend import erf
    return erf(x)


def _ln_parts(x, eps=1e-5):
    xc = x - x.mean(-1, keepdims=True)
    rstd = 1 / np.sqrt((xc * xc).mean(-1, keepdims=True) + eps)
    return xc * rstd, rstd


def _attention_parts(q, k, v, g):
    d = q.shape[-1]
    s = 1 / math.sqrt(d)
    p = _softmax(q @ k.T * s)
    dp = g @ v.T
    return p, dp, s


def _onehot(t, c):
    out = np.zeros((len(t), c))
    out[np.arange(len(t)), t] = 1
    return out


# ---------------------------------------------------------------- the exercises, in order
def _n(name, shape, scale=1.0):
    return Arg(name, shape, "normal", scale)


# e^x overflows beyond x = 709, so every op that exponentiates is also tried on such inputs: +-(700..1000) for
# the elementwise ones, rows around 1000 for softmax and log-softmax (which also get a matrix and three axes)
_LARGE_X = Case("large values: e^x overflows beyond 709", (Arg("x", (2, 5), "large"),))
_LAST_AXIS_CASES = (Case("a matrix", (_n("x", (3, 5)),)), Case("three axes", (_n("x", (2, 3, 4), 2.0),)),
                    Case("large values: e^x overflows beyond 709", (Arg("x", (2, 4), "shifted"),)))


EXERCISES = (
    Exercise(
        name="square", title="the warm-up: y = x^2",
        statement="Write Square: y = x * x elementwise, and its backward.",
        formula="y = x^2", answer="dL/dx = 2 x * grad",
        class_name="Square", cases=(Case("a matrix", (_n("x", (3, 4)),)), Case("a vector", (_n("x", (5,), 3.0),))),
        reference=lambda x: x.square(), reference_name="tinygrad_tf.ops.Mul",
        hints=("save x in forward: ctx.save_for_backward(x); get it back with (x,) = ctx.saved_tensors",
               "the chain rule: multiply the local derivative by grad"),
        mistakes=(Mistake(lambda x, g: [x * x * g], "you multiplied grad by y = x^2, not by dy/dx = 2x"),),
    ),
    Exercise(
        name="sigmoid", title="the logistic function, without overflow",
        statement="Write Sigmoid: y = 1 / (1 + e^-x), stable for any x (|x| up to 1000 is tested).",
        formula="y = 1 / (1 + e^(-x))", answer="dy/dx = y (1 - y)          (save y, not x)",
        class_name="Sigmoid", cases=(Case("ordinary values", (_n("x", (3, 4), 3.0),)), _LARGE_X),
        reference=ops.Sigmoid.apply, reference_name="tinygrad_tf.ops.Sigmoid", uses_exp=True,
        hints=("never exponentiate a large positive number: with e = xp.exp(-xp.abs(x)) <= 1, "
               "sigmoid is 1/(1+e) where x >= 0 and e/(1+e) where x < 0 (xp.where picks)",
               "the derivative is written with the output: dy/dx = y (1 - y)"),
        mistakes=(Mistake(lambda x, g: [g * x * (1 - x)], "you wrote x (1 - x): the derivative is y (1 - y) "
                          "with y the OUTPUT, sigmoid(x); save y in forward"),),
    ),
    Exercise(
        name="tanh", title="the hyperbolic tangent",
        statement="Write Tanh: y = (e^x - e^-x) / (e^x + e^-x), stable for any x (|x| up to 1000 is tested).",
        formula="y = tanh x = (e^x - e^(-x)) / (e^x + e^(-x))", answer="dy/dx = 1 - y^2",
        class_name="Tanh", cases=(Case("ordinary values", (_n("x", (3, 4), 2.0),)), _LARGE_X),
        reference=ops.Tanh.apply, reference_name="tinygrad_tf.ops.Tanh", uses_exp=True,
        hints=("xp.tanh(x) is allowed; written out, use e = xp.exp(-2 |x|) <= 1: "
               "tanh|x| = (1 - e) / (1 + e), then put the sign back",
               "the derivative is written with the output: 1 - y^2"),
        mistakes=(Mistake(lambda x, g: [g * (1 - x * x)], "you wrote 1 - x^2: the derivative is 1 - y^2 with y "
                          "the OUTPUT, tanh(x); save y in forward"),
                  Mistake(lambda x, g: [g * np.tanh(x) * (1 - np.tanh(x))],
                          "y (1 - y) is the sigmoid's derivative; tanh's is 1 - y^2")),
    ),
    Exercise(
        name="softmax", title="softmax over the last axis",
        statement="Write Softmax: y = softmax(x) over the last axis, for inputs of any number of axes.",
        formula=("y_i = e^(x_i - m) / sum_j e^(x_j - m),  m = max_j x_j   (the same y for any m; this one "
                 "never overflows)"),
        answer="dy_i/dx_j = y_i (delta_ij - y_j)  ->  dL/dx = y * (grad - sum_j grad_j y_j)",
        class_name="Softmax", cases=_LAST_AXIS_CASES,
        reference=lambda x: F.softmax(x, dim=-1), reference_name="tinygrad_tf.reduce_ops.Softmax", uses_exp=True,
        hints=("reduce over axis=-1 with keepdims=True so the result broadcasts back against x",
               "every y_i depends on every x_j: the Jacobian is full, and the backward needs a sum over the row"),
        mistakes=(
            Mistake(lambda x, g: [g * _softmax(x) * (1 - _softmax(x))],
                    "only the diagonal of the Jacobian: y_i (1 - y_i) is dy_i/dx_i, but each y_i also depends "
                    "on every other x_j (dy_i/dx_j = -y_i y_j). Summed over the row: dL/dx = y * (grad - "
                    "sum_j grad_j y_j) — the sum term is missing"),
            Mistake(lambda x, g: [g * _softmax(x)],
                    "the sum term is missing: dL/dx = y * (grad - sum_j grad_j y_j), not y * grad"),
            Mistake(lambda x, g: [_softmax(x) * (g - (g * _softmax(x)).sum(0, keepdims=True))],
                    "the sum in the backward runs over the wrong axis: it must be over the last axis "
                    "(axis=-1, keepdims=True), the one softmax normalises"),
        ),
        forward_mistakes=(Mistake(lambda x: _softmax(x, 0), "your forward normalises over the first axis; "
                                  "softmax here is over the LAST axis (axis=-1)"),),
    ),
    Exercise(
        name="log_softmax", title="log-softmax over the last axis",
        statement="Write LogSoftmax: y = log(softmax(x)) over the last axis, stable for large inputs.",
        formula="y_i = x_i - logsumexp(x),  logsumexp(x) = m + log sum_j e^(x_j - m),  m = max_j x_j",
        answer="dL/dx = grad - softmax(x) * sum_j grad_j       (softmax(x) = e^y)",
        class_name="LogSoftmax", cases=_LAST_AXIS_CASES,
        reference=lambda x: F.log_softmax(x, dim=-1), reference_name="tinygrad_tf.reduce_ops.LogSoftmax",
        uses_exp=True,
        hints=("never take log(softmax(x)): softmax underflows to 0 and log(0) = -inf; subtract logsumexp",
               "save y: softmax(x) is xp.exp(y)"),
        mistakes=(
            Mistake(lambda x, g: [g], "you treated logsumexp(x) as a constant: it depends on every x_j, and "
                    "its derivative softmax(x) gives the term - softmax(x) * sum_j grad_j"),
            Mistake(lambda x, g: [g * (1 - _softmax(x))],
                    "only the diagonal of the Jacobian: dy_i/dx_i = 1 - p_i, but every y_i also depends on "
                    "every x_j (dy_i/dx_j = -p_j). Summed: dL/dx = grad - p * sum_j grad_j"),
            Mistake(lambda x, g: [g - _softmax(x)],
                    "dL/dx = grad - p * sum_j grad_j: you subtracted p without the sum of grad over the row"),
        ),
    ),
    Exercise(
        name="layer_norm", title="layer normalisation, with weight and bias",
        statement="Write LayerNorm: normalise over the last axis (eps = 1e-5), then scale by weight and shift by bias.",
        formula=("mu = mean(x),  var = mean((x - mu)^2)   (the BIASED variance: divide by D, not D - 1)\n"
                 "xhat = (x - mu) / sqrt(var + eps),   y = xhat * weight + bias"),
        answer=("gh = grad * weight\n"
                 "dL/dx = (gh - mean(gh) - xhat * mean(gh * xhat)) / sqrt(var + eps)   (means over the last axis)\n"
                 "dL/dweight = grad * xhat,   dL/dbias = grad   (shaped like x: the engine sums over the rows)"),
        class_name="LayerNorm", forward_args=("x", "weight", "bias"),
        backward_returns="(dL/dx, dL/dweight, dL/dbias)",
        cases=(Case("rows of 6", (_n("x", (4, 6)), _n("weight", (6,)), _n("bias", (6,)))),
               Case("three axes, wider values", (_n("x", (2, 3, 5), 3.0), _n("weight", (5,)), _n("bias", (5,))))),
        reference=lambda x, weight, bias: F.layer_norm(x, x.shape[-1], weight, bias, eps=1e-5),
        reference_name="tinygrad_tf.nn_ops.LayerNorm",
        hints=("mean and var depend on every x in the row: their gradients give the two mean(...) terms",
               "return dL/dweight = grad * xhat and dL/dbias = grad with grad's shape; the engine sums them "
               "over the leading axes to (D,) (autograd._fit)"),
        mistakes=(
            Mistake(lambda x, w, b, g: [g * w * _ln_parts(x)[1], None, None],
                    "you treated mu and var as constants: dL/dx = grad * weight / sqrt(var + eps) misses the two "
                    "terms that come from mu and var depending on every x in the row"),
            Mistake(lambda x, w, b, g: [(g * w - _ln_parts(x)[0] * (g * w * _ln_parts(x)[0]).mean(-1, keepdims=True))
                                        * _ln_parts(x)[1], None, None],
                    "the - mean(gh) term (from mu) is missing in dL/dx"),
            Mistake(lambda x, w, b, g: [(g * w - (g * w).mean(-1, keepdims=True)) * _ln_parts(x)[1], None, None],
                    "the - xhat * mean(gh * xhat) term (from var) is missing in dL/dx"),
            Mistake(lambda x, w, b, g: [None, g * x, None],
                    "dL/dweight is grad * xhat (the NORMALISED x), not grad * x"),
        ),
        forward_mistakes=(
            Mistake(lambda x, w, b: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, ddof=1, keepdims=True) + 1e-5)
                    * w + b, "you used the unbiased variance (divide by D - 1); LayerNorm divides by D"),
            Mistake(lambda x, w, b: (x - x.mean(-1, keepdims=True)) / (x.std(-1, keepdims=True) + 1e-5) * w + b,
                    "eps goes inside the square root: sqrt(var + eps), not sqrt(var) + eps"),
        ),
    ),
    Exercise(
        name="gelu", title="GELU, the exact (erf) form",
        statement="Write GELU: y = x * Phi(x) with Phi the standard normal CDF (the exact erf form, not tanh).",
        formula="y = x Phi(x),   Phi(x) = (1 + erf(x / sqrt 2)) / 2   (the standard normal CDF)",
        answer="dy/dx = Phi(x) + x phi(x)      (product rule),   phi(x) = e^(-x^2/2) / sqrt(2 pi)",
        class_name="GELU",
        cases=(Case("ordinary values", (_n("x", (3, 4), 2.0),)), Case("a vector", (_n("x", (7,), 3.0),))),
        reference=F.gelu, reference_name="tinygrad_tf.ops.GELU",
        imports=("import math", "", "from tinygrad_tf.backend import erf     # erf(array) -> array, NumPy or CuPy"),
        hints=("the product rule: d(x Phi(x))/dx = Phi(x) + x Phi'(x), and Phi' is the normal density phi",),
        mistakes=(Mistake(lambda x, g: [g * 0.5 * (1 + _erf(x / math.sqrt(2)))],
                          "only Phi(x): the product rule gives a second term, x phi(x)"),),
        forward_mistakes=(Mistake(lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
                                  "that is GPT-2's tanh approximation; this exercise is the exact erf form"),),
    ),
    Exercise(
        name="cross_entropy", title="softmax cross-entropy from logits",
        statement="Write CrossEntropy: the mean over N rows of -log softmax(logits_i)[target_i]; a scalar.",
        formula="loss = (1/N) sum_i [ logsumexp(logits_i) - logits_i[target_i] ]   (target gets no gradient)",
        answer="dL/dlogits = grad * (softmax(logits) - onehot(target)) / N",
        class_name="CrossEntropy", forward_args=("logits", "target"),
        backward_returns="(dL/dlogits, None)  — grad is a 0-d array",
        cases=(Case("4 rows, 5 classes", (_n("logits", (4, 5), 2.0), Arg("target", (4,), "classes:5"))),
               Case("large logits: e^x overflows beyond 709", (Arg("logits", (3, 6), "shifted"),
                                                              Arg("target", (3,), "classes:6")))),
        reference=F.cross_entropy, reference_name="tinygrad_tf.nn_ops.CrossEntropy", uses_exp=True,
        hints=("pick each row's target with fancy indexing: z[xp.arange(n), target]",
               "the famous gradient: softmax minus one-hot, divided by N for the mean, times grad"),
        factor_hints=lambda logits, target: [(float(len(target)), "N, the number of rows: the loss is a MEAN, so "
                                              "its gradient is divided by N"),
                                             (1 / len(target), "1/N: divide by N once, not twice")],
        mistakes=(Mistake(lambda z, t, g: [g * (-_onehot(t, z.shape[1])) / len(t), None],
                          "the softmax(logits) term is missing: logsumexp depends on every logit"),),
    ),
    Exercise(
        name="matmul", title="matrix multiplication",
        statement="Write MatMul: y = a @ b for 2-D a (n, k) and b (k, m).",
        formula="y = a @ b                                 (n, m)",
        answer="dL/da = grad @ b^T                        (n, k)\n"
                "dL/db = a^T @ grad                        (k, m)",
        class_name="MatMul", forward_args=("a", "b"), backward_returns="(dL/da, dL/db)",
        cases=(Case("(3, 4) @ (4, 5)", (_n("a", (3, 4)), _n("b", (4, 5)))),
               Case("square (4, 4) @ (4, 4)", (_n("a", (4, 4)), _n("b", (4, 4))))),
        reference=ops.MatMul.apply, reference_name="tinygrad_tf.ops.MatMul",
        hints=("let the shapes guide you: dL/da must be (n, k), and grad is (n, m), so grad @ (something (m, k))",),
        mistakes=(Mistake(lambda a, b, g: [b @ g.T if b.shape[0] == g.shape[1] else None,
                                           g.T @ a if g.shape[1] == a.shape[0] else None],
                          "each gradient is the TRANSPOSE of the right one: dL/da = grad @ b^T, dL/db = a^T @ grad"),),
    ),
    Exercise(
        name="broadcast_add", title="addition with broadcasting: the gradient is a sum",
        statement="Write BroadcastAdd: y = a + b with NumPy broadcasting; backward returns each gradient summed "
                  "back to its input's exact shape.",
        formula="y = a + b      shapes aligned from the RIGHT; size-1 and missing axes are stretched",
        answer=("dL/da = grad summed over the axes broadcasting stretched for a, reshaped to a.shape\n"
                 "(drop the leading axes a does not have: sum over them; then sum, keepdims, where a had size 1)"),
        class_name="BroadcastAdd", forward_args=("a", "b"),
        backward_returns="(dL/da, dL/db), each of its input's exact shape",
        cases=(Case("(3, 4) + (4,)", (_n("a", (3, 4)), _n("b", (4,)))),
               Case("(2, 3, 4) + (3, 1)", (_n("a", (2, 3, 4)), _n("b", (3, 1)))),
               Case("(3, 1) + (1, 4)", (_n("a", (3, 1)), _n("b", (1, 4)))),
               Case("square: (4, 4) + (4,)", (_n("a", (4, 4)), _n("b", (4,))))),
        reference=ops.Add.apply, reference_name="tinygrad_tf.ops.Add", see_also="tinygrad_tf.autograd._fit",
        exact_shapes=True,
        hints=("the engine would do this sum for you (autograd._fit); here the check looks at the RAW shapes your "
               "backward returns, so write it yourself, once, as a helper used for both inputs",
               "a value copied k times gets the sum of the k copies' gradients"),
        mistakes=(Mistake(lambda a, b, g: [None, g.sum(axis=1) if g.shape == (4, 4) and b.shape == (4,) else None],
                          "you summed over the wrong axis: shapes line up from the RIGHT, so b (4,) is a row "
                          "repeated down axis 0 — sum over axis 0 (summing axis 1 is the classic left-aligned "
                          "bug)"),),
    ),
    Exercise(
        name="attention", title="scaled dot-product attention, one head",
        statement="Write Attention: y = softmax(q k^T / sqrt(d)) v for one head: q (T, d), k (S, d), v (S, d).",
        formula="s = 1 / sqrt(d),   P = softmax(q k^T s)   (over the keys: the last axis),   y = P v   (T, d)",
        answer=("dL/dv = P^T grad\n"
                 "dP = grad v^T,   dS = P * (dP - sum_j dP_j P_j)     (softmax's backward, per row)\n"
                 "dL/dq = dS k s,   dL/dk = dS^T q s"),
        class_name="Attention", forward_args=("q", "k", "v"), backward_returns="(dL/dq, dL/dk, dL/dv)",
        cases=(Case("T=3 queries, S=5 keys, d=3", (_n("q", (3, 3)), _n("k", (5, 3)), _n("v", (5, 3)))),
               Case("square: T = S = d = 4", (_n("q", (4, 4)), _n("k", (4, 4)), _n("v", (4, 4))))),
        reference=F.scaled_dot_product_attention, reference_name="tinygrad_tf.nn.functional.attention", uses_exp=True,
        hints=("save P (and q, k, v) in forward; the backward is three matmuls around softmax's backward",
               "it is matmul, softmax, matmul: chain the backwards you wrote for those exercises"),
        factor_hints=lambda q, k, v: [(math.sqrt(q.shape[-1]), "sqrt(d): the scale s = 1/sqrt(d) is missing from "
                                       "dq and dk"), (1 / math.sqrt(q.shape[-1]), "1/sqrt(d): the scale s is "
                                       "applied twice")],
        mistakes=(Mistake(lambda q, k, v, g: (lambda p, dp, s: [(p * dp) @ k * s, (p * dp).T @ q * s, None])(
                          *_attention_parts(q, k, v, g)),
                          "softmax's backward without the sum term: dS = P * (dP - sum_j dP_j P_j), not P * dP"),),
        forward_mistakes=(
            Mistake(lambda q, k, v: _softmax(q @ k.T) @ v, "the scale is missing: scores are q k^T / sqrt(d)"),
            Mistake(lambda q, k, v: _softmax(q @ k.T / q.shape[-1]) @ v, "scale by 1/sqrt(d), not 1/d"),
            Mistake(lambda q, k, v: _softmax(q @ k.T / math.sqrt(q.shape[-1]), 0) @ v,
                    "softmax over the wrong axis: each query's weights over the keys sum to 1 (the last axis)"),
        ),
    ),
    Exercise(
        name="tanh_twice", title="tanh, differentiated twice: a backward that is itself differentiable",
        statement="Write Tanh again, now with a backward that can be differentiated (second derivatives, "
                  "create_graph=True): the check adds tg.gradgradcheck.",
        formula=("y = tanh x                    (xp.tanh is allowed)\n"
                 "grad(..., create_graph=True) runs YOUR backward on Tensors and differentiates it again:\n"
                 "whatever it uses must be found on the graph"),
        answer=("dy/dx = 1 - y^2,   d2y/dx2 = -2 y (1 - y^2): the engine gets the second from your backward if it\n"
                "computes the first from the saved OUTPUT y:  forward saves y,  backward returns grad * (1 - y * y)"),
        class_name="Tanh",
        cases=(Case("a matrix", (_n("x", (3, 4), 1.5),)), Case("a vector", (_n("x", (6,)),))),
        reference=ops.Tanh.apply, reference_name="tinygrad_tf.ops.Tanh", order=2,
        see_also="tinygrad_tf.graph_xp.GraphContext",
        hints=("save the output y (or x) in forward and compute 1 - y * y INSIDE backward, with operators and ctx.xp "
               "functions: with create_graph=True each becomes a recorded op, which the second backward differentiates",
               "a value computed in forward and saved (the slope 1 - y^2) is a constant to the second backward; if you "
               "must keep one, make it with ctx.derived(lambda xp, x: ..., x), a recipe the engine can run again"),
        mistakes=(Mistake(lambda x, g: [g * (1 - x * x)], "you wrote 1 - x^2: the derivative is 1 - y^2 with y "
                          "the OUTPUT, tanh(x); save y in forward"),),
    ),
)

BY_NAME = {e.name: e for e in EXERCISES}


class UnknownExercise(KeyError):
    def __str__(self):
        return self.args[0]


def get_exercise(name: str) -> Exercise:
    """The exercise called ``name``; an error that suggests the closest names otherwise."""
    if isinstance(name, Exercise):
        return name
    key = str(name).strip().lower().replace("-", "_")
    if key in BY_NAME:
        return BY_NAME[key]
    import difflib
    close = difflib.get_close_matches(key, BY_NAME, n=2)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise UnknownExercise(f"no exercise called {name!r}; {hint}the exercises are: {', '.join(BY_NAME)}")
