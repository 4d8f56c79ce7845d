"""03 — A tiny MLP from raw tensors: no nn.Module, no optimizer, just autograd.

The toy problem is XOR in the plane: a point (x, y) in [-1, 1]^2 is class 1
when x and y have the same sign. No straight line separates the classes, so a
hidden layer is needed.

    python -i examples/03_mlp.py
    >>> predict(tg.tensor([[0.5, 0.5], [0.5, -0.5]]))    # -> [1, 0]
"""

import math

import tinygrad_tf as tg

tg.manual_seed(0)

# --- 1. data: 256 points, labels from the signs
N = 256
X = tg.rand(N, 2) * 2 - 1                                # uniform in [-1, 1]^2, shape (256, 2)
y = ((X[:, 0] * X[:, 1]) > 0).long()                     # int64 labels, shape (256,)
print(f"data: X {X.shape}, y {y.shape}, class 1 fraction {y.numpy().mean():.2f}")


# --- 2. parameters: 2 -> 16 -> 16 -> 2, each a leaf that requires grad
def param(*shape, fan_in):
    w = tg.randn(*shape) * (1 / math.sqrt(fan_in))        # scaled so activations stay O(1)
    return w.requires_grad_()


W1, b1 = param(2, 16, fan_in=2), tg.zeros(16, requires_grad=True)
W2, b2 = param(16, 16, fan_in=16), tg.zeros(16, requires_grad=True)
W3, b3 = param(16, 2, fan_in=16), tg.zeros(2, requires_grad=True)
params = [W1, b1, W2, b2, W3, b3]
print("parameters:", sum(p.numel() for p in params))


def forward(x):
    h = (x @ W1 + b1).tanh()         # (N, 2) @ (2, 16) + (16,): the bias broadcasts over rows
    h = (h @ W2 + b2).tanh()
    return h @ W3 + b3               # logits, (N, 2)


def cross_entropy(logits, target):
    """Mean of -log softmax(logits)[target], written with plain tensor ops."""
    logp = logits.log_softmax(dim=-1)
    return -logp[tg.arange(len(target)), target].mean()   # integer-array indexing picks one per row


def predict(x):
    with tg.no_grad():
        return forward(x).argmax(dim=-1)


def accuracy():
    return (predict(X) == y).numpy().mean()


# --- 3. one step by hand, to see the pieces
loss = cross_entropy(forward(X), y)
print(f"\nstep 0: loss {loss.item():.4f} (chance is ln 2 = {math.log(2):.4f}), accuracy {accuracy():.2f}")
loss.backward()
print("after backward, W1.grad has shape", W1.grad.shape, "and b1.grad", b1.grad.shape)

# --- 4. training: forward, backward, update the arrays, clear the grads
lr = 0.5
for p in params:
    p.grad = None
for step in range(1, 401):
    loss = cross_entropy(forward(X), y)
    loss.backward()
    for p in params:                  # plain gradient descent on the raw arrays: not recorded
        p.data -= lr * p.grad.data
        p.grad = None                 # gradients accumulate, so clear them every step
    if step % 100 == 0:
        print(f"step {step}: loss {loss.item():.4f}, accuracy {accuracy():.2f}")

final = accuracy()
print(f"final accuracy: {final:.2f}")

# --- 5. what the network learned, on a grid ('#' = class 1, '.' = class 0)
rows = []
for gy in range(7, -8, -2):
    line = tg.tensor([[gx / 16, gy / 8] for gx in range(-15, 16, 2)])
    rows.append("".join("#" if c else "." for c in predict(line).tolist()))
print("\ndecision regions on [-1, 1]^2 (y up, x right):")
print("\n".join("  " + r for r in rows))
