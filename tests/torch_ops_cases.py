"""PyTorch teaching-code snippets that must give PyTorch's numbers under tinygrad_tf.

Each case is ``name -> (fn, specs)``: ``fn(lib, *inputs)`` is written once against a library ``lib`` and
returns a tensor or a tuple of them (``(values, indices)`` for sort and topk); ``specs`` lists the inputs'
shapes and value domains. scripts/make_torch_ops_fixture.py runs every case with ``lib = torch`` and
writes the inputs, outputs and gradients to tests/fixtures/torch_ops_reference.npz; tests/test_torch_ops.py
runs the very same functions with ``lib = tinygrad_tf`` and compares. Only the import differs -- which is
what issue 13 asks for. This module imports neither library.

Domains: "any" (normal), "distinct" (no two values within 0.05: sort and topk indices are unambiguous),
"ties" (small integers: many equal values, for stable sorting), "away0" (|x| >= 0.5: a denominator),
"clamp" (never within 0.05 of +-0.5).
"""

from __future__ import annotations

import math


def _ids(lib, like, ids):
    """An int64 index tensor on ``like``'s device."""
    return lib.tensor(ids, device=like.device)


def _attention(lib, q, k, v):
    """Causal self-attention as lectures write it: einsum scores, a tril mask, masked_fill, softmax."""
    t = q.size(-2)
    att = lib.einsum("bhqd,bhkd->bhqk", q, k) * (1.0 / math.sqrt(k.size(-1)))
    mask = lib.tril(lib.ones(t, t, device=q.device)).view(1, 1, t, t)
    att = att.masked_fill(mask[:, :, :t, :t] == 0, float("-inf"))
    return att.softmax(dim=-1) @ v


def _top_k_logits(lib, logits):
    """nanoGPT's generate(): keep the top k logits, the rest to -inf (under no_grad, assigning into a clone)."""
    with lib.no_grad():
        v, _ = lib.topk(logits, min(3, logits.size(-1)))
        out = logits.clone()
        out[out < v[:, [-1]]] = -float("Inf")
    return out


def _one_hot(lib, x):
    """One-hot rows by scatter_ into zeros, then used in a differentiable product."""
    hot = lib.zeros(3, 5, dtype=x.dtype, device=x.device).scatter_(1, _ids(lib, x, [[1], [4], [0]]), 1.0)
    return hot * x


def _augmented(lib, x, y):
    """``+=`` and ``*=`` on a tensor in the middle of a graph are recorded, as in PyTorch."""
    h = x * 2
    h += y
    h *= y
    h -= 1
    h /= 2
    return h


def _causal_fill(lib, x):
    """A -inf upper triangle (triu of a full tensor) added to scores, then softmax."""
    return (x + lib.triu(lib.full((4, 4), float("-inf"), dtype=x.dtype, device=x.device), diagonal=1)).softmax(-1)


def _histogram(lib, src):
    """scatter_add with repeated indices accumulates (a histogram of weights)."""
    return lib.zeros(5, dtype=src.dtype, device=src.device).scatter_add(0, _ids(lib, src, [0, 1, 0, 4, 0, 1]), src)


GATHER_INDEX = [[0, 0, 2], [1, 3, 3]]
SCATTER_INDEX = [[1, 3], [0, 2], [3, 1]]        # no repeats within a row: scatter's result is defined

CASES = {
    # triangles
    "tril": (lambda lib, x: lib.tril(x), [((4, 5), "any")]),
    "tril diagonal=1 (method)": (lambda lib, x: x.tril(diagonal=1), [((3, 4), "any")]),
    "tril diagonal=-2": (lambda lib, x: lib.tril(x, -2), [((5, 3), "any")]),
    "triu batched diagonal=-1": (lambda lib, x: lib.triu(x, diagonal=-1), [((2, 3, 4), "any")]),
    "triu -inf mask + softmax": (_causal_fill, [((4, 4), "any")]),
    "causal attention": (_attention, [((2, 2, 4, 3), "any"), ((2, 2, 4, 3), "any"), ((2, 2, 4, 3), "any")]),
    # orders
    "topk": (lambda lib, x: x.topk(3), [((3, 6), "distinct")]),
    "topk dim=0 smallest": (lambda lib, x: lib.topk(x, 2, dim=0, largest=False), [((4, 3), "distinct")]),
    "topk values only": (lambda lib, x: lib.topk(x, k=2, dim=1).values * 2, [((2, 5, 3), "distinct")]),
    "topk k=0": (lambda lib, x: x.topk(0), [((2, 3), "distinct")]),
    "sort": (lambda lib, x: lib.sort(x), [((3, 5), "distinct")]),
    "sort descending dim=0": (lambda lib, x: x.sort(dim=0, descending=True), [((4, 3), "distinct")]),
    "sort stable ties": (lambda lib, x: lib.sort(x, stable=True), [((3, 8), "ties")]),
    "sort stable ties descending": (lambda lib, x: lib.sort(x, dim=-1, descending=True, stable=True),
                                    [((3, 8), "ties")]),
    "argsort": (lambda lib, x: lib.argsort(x, dim=1, descending=True), [((3, 5), "distinct")]),
    "argsort stable ties": (lambda lib, x: x.argsort(dim=0, stable=True), [((6, 2), "ties")]),
    "nanoGPT top-k filter": (_top_k_logits, [((2, 7), "distinct")]),
    # moving values
    "roll": (lambda lib, x: x.roll(1, 0), [((3, 4), "any")]),
    "roll two dims": (lambda lib, x: lib.roll(x, shifts=(1, -1), dims=(0, 1)), [((3, 4), "any")]),
    "roll flattened": (lambda lib, x: lib.roll(x, -4), [((3, 4), "any")]),
    "flip": (lambda lib, x: lib.flip(x, (0, 2)), [((2, 3, 4), "any")]),
    "flip method": (lambda lib, x: x.flip(-1), [((3, 4), "any")]),
    "cumsum": (lambda lib, x: x.cumsum(0), [((3, 4), "any")]),
    "cumsum dim=-1": (lambda lib, x: lib.cumsum(x, dim=-1), [((2, 3, 4), "any")]),
    "t": (lambda lib, x: x.t(), [((3, 4), "any")]),
    "t 1-D": (lambda lib, x: lib.t(x) * 2, [((4,), "any")]),
    "clone": (lambda lib, x: lib.clone(x) * 2, [((3,), "any")]),
    # gather / scatter
    "gather": (lambda lib, x: x.gather(1, _ids(lib, x, GATHER_INDEX)), [((3, 4), "any")]),
    "gather dim 0": (lambda lib, x: lib.gather(x, 0, _ids(lib, x, [[2, 0, 2, 1]])), [((3, 4), "any")]),
    "scatter": (lambda lib, x, s: x.scatter(1, _ids(lib, x, SCATTER_INDEX), s),
                [((3, 4), "any"), ((3, 2), "any")]),
    "scatter value": (lambda lib, x: x.scatter(0, _ids(lib, x, [[2, 0, 1, 2]]), 2.5), [((3, 4), "any")]),
    "scatter_add repeated": (lambda lib, x, s: lib.scatter_add(x, 1, _ids(lib, x, [[0, 0, 3], [2, 2, 2]]), s),
                             [((2, 4), "any"), ((2, 3), "any")]),
    "scatter_add histogram": (_histogram, [((6,), "any")]),
    "one-hot by scatter_": (_one_hot, [((3, 5), "any")]),
    # arithmetic methods
    "add alpha": (lambda lib, x, y: x.add(y, alpha=2), [((3, 4), "any"), ((4,), "any")]),
    "sub alpha": (lambda lib, x, y: lib.sub(x, y, alpha=0.5), [((3, 4), "any"), ((3, 1), "any")]),
    "mul": (lambda lib, x, y: lib.mul(x, y), [((3, 4), "any"), ((4,), "any")]),
    "div": (lambda lib, x, y: x.div(y), [((3, 4), "any"), ((3, 4), "away0")]),
    "div floor": (lambda lib, x, y: lib.div(x * 4, y, rounding_mode="floor"), [((3, 4), "any"), ((3, 4), "away0")]),
    "div trunc": (lambda lib, x, y: x.mul(4).div(y, rounding_mode="trunc"), [((3, 4), "any"), ((3, 4), "away0")]),
    # einsum
    "einsum matmul": (lambda lib, a, b: lib.einsum("ij,jk->ik", a, b), [((2, 3), "any"), ((3, 4), "any")]),
    "einsum implicit": (lambda lib, a, b: lib.einsum("ij,jk", a, b), [((2, 3), "any"), ((3, 4), "any")]),
    "einsum list operands": (lambda lib, a, b: lib.einsum("ij,kj", [a, b]), [((2, 3), "any"), ((4, 3), "any")]),
    "einsum attention scores": (lambda lib, q, k: lib.einsum("bhqd,bhkd->bhqk", q, k),
                                [((2, 3, 4, 5), "any"), ((2, 3, 6, 5), "any")]),
    "einsum attention values": (lambda lib, p, v: lib.einsum("bhqk,bhkd->bhqd", p, v),
                                [((2, 3, 4, 6), "any"), ((2, 3, 6, 5), "any")]),
    "einsum batched matmul": (lambda lib, a, b: lib.einsum("bij,bjk->bik", a, b),
                              [((3, 2, 4), "any"), ((3, 4, 5), "any")]),
    "einsum LoRA": (lambda lib, x, a, b: lib.einsum("bti,ri,or->bto", x, a, b),
                    [((2, 3, 4), "any"), ((2, 4), "any"), ((5, 2), "any")]),
    "einsum ellipsis broadcast": (lambda lib, a, b: lib.einsum("...ij,...jk->...ik", a, b),
                                  [((2, 3, 4), "any"), ((1, 4, 2), "any")]),
    "einsum ellipsis implicit": (lambda lib, a, b: lib.einsum("...ij,...jk", a, b),
                                 [((2, 2, 3), "any"), ((3, 4), "any")]),
    "einsum ellipsis summed": (lambda lib, a, b: lib.einsum("...ij,jk->ik", a, b),
                               [((2, 3, 4), "any"), ((4, 2), "any")]),
    "einsum ellipsis dot": (lambda lib, a, b: lib.einsum("...d,...d->...", a, b),
                            [((2, 3, 4), "any"), ((3, 4), "any")]),
    "einsum size-1 broadcast": (lambda lib, a, b: lib.einsum("ij,jk->ik", a, b), [((2, 1), "any"), ((3, 4), "any")]),
    "einsum diagonal": (lambda lib, a: lib.einsum("ii->i", a), [((3, 3), "any")]),
    "einsum trace": (lambda lib, a: lib.einsum("ii", a), [((4, 4), "any")]),
    "einsum batched diagonal": (lambda lib, a: lib.einsum("bii->bi", a), [((2, 3, 3), "any")]),
    "einsum sum all": (lambda lib, a: lib.einsum("ij->", a), [((2, 3), "any")]),
    "einsum column sums": (lambda lib, a: lib.einsum("ij->j", a), [((2, 3), "any")]),
    "einsum outer": (lambda lib, a, b: lib.einsum("i,j->ij", a, b), [((3,), "any"), ((4,), "any")]),
    "einsum rowwise dot": (lambda lib, a, b: lib.einsum("ij,ij->i", a, b), [((3, 4), "any"), ((3, 4), "any")]),
    "einsum transpose": (lambda lib, a: lib.einsum("ij->ji", a), [((2, 3), "any")]),
    "einsum upper before lower": (lambda lib, a, b: lib.einsum("bA,ba", a, b), [((2, 3), "any"), ((2, 4), "any")]),
    "einsum spaces": (lambda lib, a, b: lib.einsum("b i , i j -> b j", a, b), [((2, 3), "any"), ((3, 4), "any")]),
    # in place, on tensors in the middle of a graph (recorded as PyTorch records them)
    "add_ alpha": (lambda lib, x, y: (x * 1).add_(y, alpha=2), [((3, 4), "any"), ((4,), "any")]),
    "sub_ mul_": (lambda lib, x, y: (x * 1).sub_(y, alpha=0.5).mul_(y), [((3, 4), "any"), ((3, 1), "any")]),
    "div_": (lambda lib, x, y: (x * 1).div_(y), [((3, 4), "any"), ((4,), "away0")]),
    "clamp_": (lambda lib, x: (x * 1).clamp_(-0.5, 0.5), [((3, 4), "clamp")]),
    "clamp_ min only": (lambda lib, x: (x * 1).clamp_(min=-0.5), [((3, 4), "clamp")]),
    "masked_fill_": (lambda lib, x: (x * 2).masked_fill_(x > 0, 0.0), [((3, 4), "any")]),
    "copy_ broadcast": (lambda lib, x, y: (x * 1).copy_(y) * x, [((3, 4), "any"), ((4,), "any")]),
    "zero_": (lambda lib, x: (x * 1).zero_() + x, [((3,), "any")]),
    "fill_": (lambda lib, x: (x * 1).fill_(2.0) * x, [((3,), "any")]),
    "scatter_": (lambda lib, x, s: (x * 1).scatter_(1, _ids(lib, x, SCATTER_INDEX), s),
                 [((3, 4), "any"), ((3, 2), "any")]),
    "scatter_add_": (lambda lib, x, s: (x * 1).scatter_add_(0, _ids(lib, x, [[0, 0, 1, 0]]), s),
                     [((2, 4), "any"), ((1, 4), "any")]),
    "augmented assignment": (_augmented, [((3, 4), "any"), ((4,), "away0")]),
}
