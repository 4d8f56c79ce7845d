"""01 — Scalar autograd: one neuron, its gradient by hand and by backward().

The neuron from micrograd:  o = tanh(x1*w1 + x2*w2 + b).
Run it, or step through it and poke at the variables afterwards:

    python -i examples/01_scalar_autograd.py
    >>> o.grad_fn, o.grad_fn.next          # the graph, one node at a time
    >>> show(o.grad_fn)
"""

import math

import tinygrad_tf as tg

# --- 1. the inputs (leaves). float64 so the printed numbers are exact to many digits.
def leaf(v):
    return tg.tensor(v, dtype=tg.float64, requires_grad=True)

x1, x2 = leaf(2.0), leaf(0.0)                  # inputs
w1, w2 = leaf(-3.0), leaf(1.0)                 # weights
b = leaf(6.8813735870195432)                   # bias (chosen so that n = 0.8814, tanh(n) = 1/sqrt(2))

# --- 2. the forward pass: every op records a node
x1w1 = x1 * w1
x2w2 = x2 * w2
n = x1w1 + x2w2 + b
o = n.tanh()
print(f"n = {n.item():.4f}   o = tanh(n) = {o.item():.4f}")
print("o was made by", o.grad_fn, "from", o.grad_fn.next)


def show(node, indent=""):
    """Print the graph below a node (ops by name, leaves by value)."""
    if isinstance(node, tg.Function):
        print(indent + node.name)
        for child in node.next:
            show(child, indent + "  ")
    elif node is None:
        print(indent + "(constant)")
    else:
        print(indent + f"leaf {node.item():.4g}")


print("\nthe computation graph, output at the top:")
show(o.grad_fn)

# --- 3. the gradient by hand, with the chain rule
#   do/dn  = 1 - tanh(n)^2 = 1 - o^2
#   do/dx1 = do/dn * w1,   do/dw1 = do/dn * x1,   (likewise for x2, w2)
#   do/db  = do/dn
do_dn = 1 - o.item() ** 2
by_hand = {
    "x1": do_dn * w1.item(), "w1": do_dn * x1.item(),
    "x2": do_dn * w2.item(), "w2": do_dn * x2.item(),
    "b": do_dn,
}
print(f"\nby hand:  do/dn = 1 - o^2 = {do_dn:.4f}")

# --- 4. the same by backward()
o.backward()
by_backward = {"x1": x1.grad.item(), "w1": w1.grad.item(), "x2": x2.grad.item(),
               "w2": w2.grad.item(), "b": b.grad.item()}
print(f"{'leaf':>4} {'by hand':>9} {'backward':>9}")
for name in by_hand:
    print(f"{name:>4} {by_hand[name]:9.4f} {by_backward[name]:9.4f}")
assert all(math.isclose(by_hand[k], by_backward[k], abs_tol=1e-12) for k in by_hand)
print("backward agrees with the hand-derived gradients")

# --- 5. tanh is only a shortcut: build it from exp and arithmetic, same gradient
for t in (x1, w1, x2, w2, b):
    t.grad = None                                # .grad accumulates: clear it first
n = x1 * w1 + x2 * w2 + b
e = (2 * n).exp()
o2 = (e - 1) / (e + 1)                           # tanh(n) = (e^2n - 1) / (e^2n + 1)
o2.backward()
print(f"\ntanh from exp: o = {o2.item():.4f}, do/dx1 = {x1.grad.item():.4f}, do/dw1 = {w1.grad.item():.4f}")
assert math.isclose(x1.grad.item(), by_hand["x1"], abs_tol=1e-12)
