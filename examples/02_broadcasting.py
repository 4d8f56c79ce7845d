"""02 — Broadcasting, and why its gradient is a sum.

When shapes differ, NumPy (and tinygrad_tf) line them up from the RIGHT and
stretch size-1 (or missing) axes. A stretched value is used many times, so its
gradient is the SUM of the gradients of all its copies.

    python -i examples/02_broadcasting.py
"""

import numpy as np

import tinygrad_tf as tg

# --- 1. a bias added to every row: (4, 3) + (3,) -> (4, 3)
X = tg.arange(12, dtype=tg.float32).reshape(4, 3)
b = tg.tensor([10.0, 20.0, 30.0], requires_grad=True)
Y = X + b
print("X =\n", X.numpy())
print("b =", b.numpy(), "  X + b has shape", Y.shape)
print("aligned from the right:   X (4, 3)")
print("                          b    (3,)   -> b is reused by all 4 rows")

# --- 2. the gradient: every output element says "d loss / d me = 1" ...
Y.sum().backward()
print("\ndL/db =", b.grad.numpy(), " = one 1 from each of the 4 rows it was copied into")
assert b.grad.shape == b.shape == (3,)

# --- 3. ... with a weight, each copy contributes a different amount: X * w
w = tg.tensor([1.0, 1.0, 1.0], requires_grad=True)
(X * w).sum().backward()
print("\nL = sum(X * w):  dL/dw =", w.grad.numpy())
print("by hand, sum of X over the stretched axis 0:", X.numpy().sum(axis=0))
assert np.allclose(w.grad.numpy(), X.numpy().sum(axis=0))

# --- 4. why "from the right" matters: a square X, where both axes have size 3
S = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
v = tg.ones(3, requires_grad=True)
(S * v).sum().backward()
print("\nsquare case: dL/dv =", v.grad.numpy())
print("  right-aligned (correct), column sums:", S.numpy().sum(axis=0))
print("  left-aligned (a classic bug), row sums:", S.numpy().sum(axis=1), " <- same shape, wrong numbers")
assert np.allclose(v.grad.numpy(), S.numpy().sum(axis=0))

# --- 5. both sides stretched: a column (3, 1) plus a row (1, 4) -> a (3, 4) table
col = tg.tensor([[0.0], [1.0], [2.0]], requires_grad=True)
row = tg.tensor([[0.0, 10.0, 20.0, 30.0]], requires_grad=True)
table = col + row
print("\ncol (3, 1) + row (1, 4) =\n", table.numpy())
table.sum().backward()
print("dL/dcol =", col.grad.numpy().ravel(), "(each used 4 times)   shape", col.grad.shape)
print("dL/drow =", row.grad.numpy().ravel(), "(each used 3 times)   shape", row.grad.shape)
assert col.grad.shape == (3, 1) and row.grad.shape == (1, 4)

# --- 6. the engine does this in ONE place (autograd._fit), for every op.
# Add.backward just returns (g, g), shaped like the output; _fit sums it back.
from tinygrad_tf.autograd import _fit  # noqa: E402

g = np.ones((4, 3), dtype=np.float32)                      # a gradient shaped like X + b
print("\n_fit(ones(4, 3)) back to b's shape (3,):", _fit(g, ((3,), np.dtype("float32")), None, 0))
print("_fit(ones(4, 3)) back to shape (4, 1):   ", _fit(g, ((4, 1), np.dtype("float32")), None, 0).ravel())
print("broadcast gradients are sums over the stretched axes")
