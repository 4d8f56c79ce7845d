"""A catalogue of every differentiable op with small example inputs, used by
``tinygrad-tf gradcheck`` (a table of gradchecks over all ops) and by the tests.

Each entry: name, a function of tensors, and the shapes of its inputs with the
domain their values are drawn from ("any", "positive", "away0" = |x| >= 0.1).
"""

from __future__ import annotations

import numpy as np

from . import factory as F
from . import nn_ops
from .einsum import einsum
from .gradcheck import gradcheck
from .tensor import Tensor

# name -> (fn, [(shape, domain), ...])
CATALOG = {
    "add (broadcast)": (lambda a, b: a + b, [((3, 4), "any"), ((4,), "any")]),
    "sub (broadcast)": (lambda a, b: a - b, [((2, 3, 4), "any"), ((3, 1), "any")]),
    "mul (broadcast)": (lambda a, b: a * b, [((3, 1), "any"), ((1, 4), "any")]),
    "div": (lambda a, b: a / b, [((3, 4), "any"), ((3, 4), "away0")]),
    "pow (tensor ** scalar)": (lambda a: a ** 3, [((3, 4), "any")]),
    "pow (tensor ** tensor)": (lambda a, b: a ** b, [((3, 4), "positive"), ((4,), "any")]),
    "neg": (lambda a: -a, [((5,), "any")]),
    "exp": (lambda a: a.exp(), [((3, 4), "any")]),
    "log": (lambda a: a.log(), [((3, 4), "positive")]),
    "sqrt": (lambda a: a.sqrt(), [((3, 4), "positive")]),
    "abs": (lambda a: a.abs(), [((3, 4), "away0")]),
    "tanh": (lambda a: a.tanh(), [((3, 4), "any")]),
    "sigmoid": (lambda a: a.sigmoid(), [((3, 4), "any")]),
    "relu": (lambda a: a.relu(), [((3, 4), "away0")]),
    "gelu": (lambda a: a.gelu(), [((3, 4), "any")]),
    "gelu (tanh)": (lambda a: a.gelu("tanh"), [((3, 4), "any")]),
    "silu": (lambda a: a.silu(), [((3, 4), "any")]),
    "sin": (lambda a: a.sin(), [((3, 4), "any")]),
    "cos": (lambda a: a.cos(), [((3, 4), "any")]),
    "clamp": (lambda a: a.clamp(-0.5, 0.5), [((4, 5), "any")]),
    "maximum": (lambda a, b: F.twin("maximum")(a, b), [((3, 4), "any"), ((4,), "any")]),
    "minimum": (lambda a, b: F.twin("minimum")(a, b), [((3, 4), "any"), ((3, 1), "any")]),
    "matmul (batched, broadcast)": (lambda a, b: a @ b, [((2, 1, 3, 4), "any"), ((3, 4, 2), "any")]),
    "matmul (vector @ matrix)": (lambda a, b: a @ b, [((4,), "any"), ((4, 3), "any")]),
    "matmul (matrix @ vector)": (lambda a, b: a @ b, [((2, 3, 4), "any"), ((4,), "any")]),
    "sum (dim)": (lambda a: a.sum(dim=1), [((3, 4, 2), "any")]),
    "mean (dim, keepdim)": (lambda a: a.mean(dim=(0, 2), keepdim=True), [((3, 4, 2), "any")]),
    "max (dim)": (lambda a: a.max(dim=-1), [((3, 5), "any")]),
    "min (all)": (lambda a: a.min(), [((3, 5), "any")]),
    "var (dim)": (lambda a: a.var(dim=1), [((3, 5), "any")]),
    "std": (lambda a: a.std(dim=0, keepdim=True), [((4, 3), "any")]),
    "logsumexp": (lambda a: a.logsumexp(dim=-1), [((3, 5), "any")]),
    "softmax": (lambda a: a.softmax(dim=-1), [((3, 5), "any")]),
    "log_softmax": (lambda a: a.log_softmax(dim=0), [((3, 5), "any")]),
    "reshape": (lambda a: a.reshape(6, 2), [((3, 4), "any")]),
    "transpose": (lambda a: a.transpose(0, 2) * 1.5, [((2, 3, 4), "any")]),
    "permute": (lambda a: a.permute(2, 0, 1).exp(), [((2, 3, 4), "any")]),
    "expand": (lambda a: a.expand(2, 3, 4), [((3, 1), "any")]),
    "squeeze/unsqueeze": (lambda a: a.unsqueeze(0).squeeze(2), [((3, 1, 4), "any")]),
    "flatten": (lambda a: a.flatten(1), [((2, 3, 4), "any")]),
    "split": (lambda a: a.split(2, dim=1)[1], [((3, 5), "any")]),
    "chunk": (lambda a: a.chunk(2, dim=0)[0], [((4, 3), "any")]),
    "cat": (lambda a, b: F.cat([a, b], dim=1), [((2, 3), "any"), ((2, 2), "any")]),
    "stack": (lambda a, b: F.stack([a, b], dim=1), [((2, 3), "any"), ((2, 3), "any")]),
    "where": (lambda a, b: F.where(a > 0, a, b), [((3, 4), "away0"), ((3, 4), "any")]),
    "masked_fill": (lambda a: a.masked_fill(a.detach() > 0, 0.0), [((3, 4), "away0")]),
    "getitem (slices)": (lambda a: a[1:, ::2, None], [((3, 4), "any")]),
    "getitem (repeated ints)": (lambda a: a[np.array([0, 2, 0, 0])], [((3, 4), "any")]),
    "tril": (lambda a: a.tril(-1), [((4, 5), "any")]),
    "triu (batched)": (lambda a: F.twin("triu")(a, 1), [((2, 3, 4), "any")]),
    "t": (lambda a: a.t() * 1.5, [((3, 4), "any")]),
    "flip": (lambda a: a.flip(0, 2) * 1.5, [((2, 3, 4), "any")]),
    "roll": (lambda a: a.roll((1, -2), (0, 1)) * 1.5, [((3, 4), "any")]),
    "roll (flattened)": (lambda a: a.roll(5) * 1.5, [((3, 4), "any")]),
    "cumsum": (lambda a: a.cumsum(1), [((3, 4, 2), "any")]),
    "gather (repeated)": (lambda a: a.gather(1, np.array([[0, 3, 3], [1, 1, 0]])), [((3, 4), "any")]),
    "scatter": (lambda a, b: a.scatter(1, np.array([[0, 2], [3, 1], [1, 0]]), b), [((3, 4), "any"), ((3, 3), "any")]),
    "scatter_add (repeated)": (lambda a, b: a.scatter_add(0, np.array([[0, 1, 0], [0, 2, 2]]), b),
                               [((3, 3), "any"), ((2, 4), "any")]),
    "sort (values)": (lambda a: a.sort(dim=1, descending=True).values, [((3, 5), "any")]),
    "topk (values)": (lambda a: a.topk(2, dim=0).values, [((4, 3), "any")]),
    "einsum (attention)": (lambda q, k: einsum("bhqd,bhkd->bhqk", q, k),
                           [((2, 2, 3, 4), "any"), ((2, 2, 5, 4), "any")]),
    "einsum (LoRA, 3 operands)": (lambda x, a, b: einsum("bti,ri,or->bto", x, a, b),
                                  [((2, 3, 4), "any"), ((2, 4), "any"), ((5, 2), "any")]),
    "einsum (..., broadcast, implicit)": (lambda a, b: einsum("...ij,...jk", a, b),
                                          [((2, 3, 4), "any"), ((1, 4, 2), "any")]),
    "einsum (diagonal)": (lambda a: einsum("iij->ji", a), [((3, 3, 2), "any")]),
    "add/sub (alpha)": (lambda a, b: a.add(b, alpha=-0.5).sub(b, alpha=2), [((3, 4), "any"), ((4,), "any")]),
    "in-place on a non-leaf": (lambda a, b: (a * 1).add_(b, alpha=2).mul_(b).div_(b * b + 1),
                               [((3, 4), "any"), ((4,), "any")]),
    "copy_ (broadcast)": (lambda a, b: (a * 1).copy_(b) * a, [((3, 4), "any"), ((4,), "any")]),
    "embedding": (lambda w: nn_ops.Embedding.apply(w, np.array([[1, 3, 1], [0, 1, 4]])), [((5, 3), "any")]),
    "cross_entropy": (lambda a: nn_ops.CrossEntropy.apply(a, np.array([1, 0, -100, 3]), -100, 0.1),
                      [((4, 5), "any")]),
    "layer_norm": (lambda x, w, b: nn_ops.LayerNorm.apply(x, w, b), [((3, 6), "any"), ((6,), "any"), ((6,), "any")]),
    "rms_norm": (lambda x, w: nn_ops.RMSNorm.apply(x, w), [((3, 6), "any"), ((6,), "any")]),
}


def sample(shape, domain, rng) -> np.ndarray:
    x = rng.standard_normal(shape)
    if domain == "positive":
        x = np.abs(x) + 0.5
    elif domain == "away0":
        x = np.where(x >= 0, x + 0.1, x - 0.1)
    return x


def check_all(device="cpu", seed=0, names=None):
    """Gradcheck every op in the catalogue; returns rows (name, shapes, max abs error, ok, message)."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, (fn, specs) in CATALOG.items():
        if names and name not in names:
            continue
        inputs = [Tensor(sample(s, d, rng), device=device, requires_grad=True) for s, d in specs]
        shapes = ", ".join(str(s) for s, _ in specs)
        try:
            rep = gradcheck(fn, *inputs, raise_exception=False)
            rows.append((name, shapes, rep.max_abs_error, rep.ok, "" if rep.ok else rep.describe()))
        except Exception as e:  # noqa: BLE001  (a crash is a failure of that op, reported in its row)
            rows.append((name, shapes, float("nan"), False, f"{type(e).__name__}: {e}"))
    return rows
