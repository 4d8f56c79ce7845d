"""Functions for ``autograd.functional`` (jacobian, hessian, vjp, jvp, hvp, vhp), written once against a library
``lib`` (tinygrad_tf or torch), for the comparison with PyTorch's ``torch.autograd.functional``.

Each case is ``name -> (fn, shapes, scalar)``: ``fn(lib, *inputs)`` returns a Tensor or a tuple of them, the
inputs have the given shapes (a tuple of inputs where there are several, one Tensor where ``shapes`` has one
shape: ``single``), and ``scalar`` says whether it returns one element (then hessian, hvp and vhp apply).
scripts/make_autograd_functional_fixture.py runs every case with ``lib = torch`` in float64 and writes the
inputs, the results and their structure to tests/fixtures/autograd_functional_reference.npz;
tests/test_autograd_functional.py runs them with ``lib = tinygrad_tf``. ``data`` makes the inputs, the v's and
the weights both sides use. This module imports neither library (NumPy only).
"""

from __future__ import annotations

import zlib

import numpy as np


def _const(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


X_MLP, Y_MLP = _const(1, 6, 3), _const(2, 6, 2)     # the small MLP's data and targets
A_LIN = _const(3, 4, 3)                               # a constant matrix: a linear function of x


def mlp_loss(lib, w1, b1, w2, b2):
    """Mean squared error of a 3-4-2 tanh MLP on six fixed points: the loss whose Hessian lesson 13 studies."""
    h = (lib.tensor(X_MLP) @ w1 + b1).tanh()
    return ((h @ w2 + b2 - lib.tensor(Y_MLP)) ** 2).mean()


def _ce(lib, z):
    return lib.nn.functional.cross_entropy(z, lib.tensor(np.array([0, 3, 1])))


def _ln_gelu(lib, x, fused=None):
    """Layer norm times GELU. PyTorch's fused layer norm has wrong THIRD derivatives (its double backward treats
    the mean and 1/std as constants: tests/test_double_backward.py), so for PyTorch it is written out in plain
    ops; the fixture script checks that both give the same Jacobian and Hessian."""
    F = lib.nn.functional
    if fused is None:
        fused = lib.__name__ != "torch"
    if fused:
        xhat = F.layer_norm(x, (5,))
    else:
        xc = x - x.mean(dim=-1, keepdim=True)
        xhat = xc / ((xc * xc).mean(dim=-1, keepdim=True) + 1e-5).sqrt()
    return (xhat * F.gelu(x)).sum()


CASES = {
    # name: (fn(lib, *inputs), input shapes, returns one element)
    "exp_reducer": (lambda lib, x: x.exp().sum(dim=1), [(4, 4)], False),          # PyTorch's docs example
    "adder": (lambda lib, x, y: 2 * x + 3 * y, [(2,), (2,)], False),
    "two_outputs": (lambda lib, x: (x * x, x.sum()), [(3,)], False),
    "tuple_both": (lambda lib, x, y: ((x * y).tanh(), (x @ y).sigmoid()), [(2, 3), (3,)], False),
    "matrix_out": (lambda lib, q, k: (q @ k.T).softmax(dim=-1), [(2, 3), (4, 3)], False),
    "scalar_0d": (lambda lib, x: x.tanh(), [()], True),                             # 0-d in, 0-d out
    "one_element": (lambda lib, x: (x * x).sum(dim=0, keepdim=True) * x[0], [(3,)], True),   # shape (1,)
    "pow_adder_reducer": (lambda lib, x, y: (2 * x.pow(2) + 3 * y.pow(2)).sum(), [(2,), (2,)], True),
    "cubic": (lambda lib, x, y: (x ** 3 * y.sin()).sum() + (x @ y) ** 2, [(3,), (3,)], True),
    "cross_entropy": (_ce, [(3, 4)], True),
    "layer_norm_gelu": (_ln_gelu, [(2, 5)], True),
    "mlp": (mlp_loss, [(3, 4), (4,), (4, 2), (2,)], True),
    "unused_input": (lambda lib, x, y: (x * x).sum(), [(2,), (3,)], True),          # zeros for y
    "linear": (lambda lib, x: (lib.tensor(A_LIN) @ x).sum(), [(3,)], True),        # a Hessian of zeros
}


def data(name, shapes, out_shapes):
    """The inputs, the vjp's v (output-shaped), the jvp/hvp/vhp's v (input-shaped) and the weights of the
    create_graph check (one per Jacobian or Hessian block, given as a list of shapes) of case ``name``."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    xs = [rng.standard_normal(s) for s in shapes]
    v_out = [rng.standard_normal(s) for s in out_shapes]
    v_in = [rng.standard_normal(s) for s in shapes]
    return xs, v_out, v_in


def block_weights(name, block_shapes):
    """Random weights W for the create_graph check: grad of sum(J * W) (or sum(H * W)) with respect to the inputs."""
    rng = np.random.default_rng(zlib.crc32(f"{name}/weights".encode()))
    return [rng.standard_normal(s) for s in block_shapes]


def flatten(res, prefix=""):
    """A nested tuple of tensors as {"0/1": leaf}, and its structure as a string: "T(2, 3)", "(T(2,),T())"."""
    if isinstance(res, (tuple, list)):     # (PyTorch's forward-mode jacobian gives lists)
        leaves, parts = {}, []
        for i, r in enumerate(res):
            sub, s = flatten(r, f"{prefix}{i}/")
            leaves.update(sub)
            parts.append(s)
        return leaves, "(" + ",".join(parts) + ")"
    return {prefix.rstrip("/") or "-": res}, f"T{tuple(res.shape)}"
