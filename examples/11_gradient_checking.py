"""11 — Gradient checking: write an op, prove its backward right, catch a wrong one.

An op is a tg.Function with forward and backward, written exactly like the
built-in ones in tinygrad_tf/ops.py. tg.gradcheck compares your backward with
central differences in float64 and tells you where they disagree.

    python -i examples/11_gradient_checking.py
    >>> bad.inputs[0].analytic_grad, bad.inputs[0].numeric_grad     # the wrong op's two gradients
"""

import numpy as np

import tinygrad_tf as tg

tg.manual_seed(0)


# --- 1. a two-input op: y = sqrt(a^2 + b^2)      dy/da = a / y,  dy/db = b / y
class Hypot(tg.Function):
    @staticmethod
    def forward(ctx, a, b):                    # backend arrays in, array out (ctx.xp is numpy or cupy)
        y = ctx.xp.sqrt(a * a + b * b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, g):                      # g = dL/dy; return dL/da, dL/db
        a, b, y = ctx.saved_tensors
        return g * a / y, g * b / y


a = tg.tensor([3.0, 5.0, -8.0], requires_grad=True)
b = tg.tensor([4.0, 12.0, 6.0], requires_grad=True)
y = Hypot.apply(a, b)
print("hypot(a, b) =", y.numpy(), "  made by", y.grad_fn)
y.sum().backward()
print("dL/da =", a.grad.numpy(), " (a / y)")
print("dL/db =", b.grad.numpy(), " (b / y)")

# --- 2. gradcheck it, in float64 (the inputs are away from 0, where sqrt has a kink)
A = tg.randn(4, 5, dtype=tg.float64, requires_grad=True)
B = (tg.rand(4, 5, dtype=tg.float64) + 0.5).requires_grad_()
report = tg.gradcheck(Hypot.apply, A, B)
print("\n" + report.describe())

# broadcasting needs no code in the op: the engine sums the gradient back to (5,)
row = (tg.rand(5, dtype=tg.float64) + 0.5).requires_grad_()
print("with broadcasting, (4, 5) and (5,):", tg.gradcheck(Hypot.apply, A, row).describe())


# --- 3. a wrong backward: the two gradients swapped (an easy slip with two inputs)
class BadHypot(Hypot):
    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        return g * b / y, g * a / y            # wrong: dL/da must be g * a / y


print()
try:
    tg.gradcheck(BadHypot.apply, A, B)
except tg.GradcheckError as err:
    print("caught:", err)
    print("hint: input 0's analytic value is input 1's numeric one, and vice versa: the gradients are swapped")

# the report, without raising: both gradients as arrays, to look at yourself
bad = tg.gradcheck(BadHypot.apply, A, B, raise_exception=False)
r = bad.inputs[0]
print(f"\nreport ok = {bad.ok}; input 0's worst element {r.worst_element}: "
      f"analytic {r.analytic:.4f} vs numeric {r.numeric:.4f}")

# --- 4. why float64: with float32 arithmetic and the same tiny eps, central differences
#        are wrong even for a CORRECT backward: rounding error / eps swamps the answer.
def central_difference(dtype, x=0.7, eps=1e-6):
    f = lambda v: np.sqrt(v * v + dtype(1))                    # hypot(v, 1), in dtype  # noqa: E731
    x, eps = dtype(x), dtype(eps)
    return float((f(x + eps) - f(x - eps)) / (2 * eps))


exact = 0.7 / np.hypot(0.7, 1.0)
print(f"\nd hypot(x, 1)/dx at x = 0.7: exact {exact:.8f}, central difference (eps 1e-6) "
      f"in float64 {central_difference(np.float64):.8f}, in float32 {central_difference(np.float32):.8f}")
print("so gradcheck checks float64 copies of float32 inputs: upcast =",
      tg.gradcheck(Hypot.apply, tg.randn(3, requires_grad=True), tg.ones(3, requires_grad=True)).upcast)
