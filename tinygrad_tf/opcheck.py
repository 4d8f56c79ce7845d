"""A catalogue of every differentiable op with small example inputs, used by
``tinygrad-tf gradcheck`` (a table of gradchecks over all ops; ``--order 2`` checks second
derivatives with gradgradcheck) and by the tests.

Each entry: name, a function of tensors, and the shapes of its inputs with the
domain their values are drawn from ("any", "positive", "away0" = |x| >= 0.1,
"unit" = |x| <= 0.9, "gt1" = x >= 1.1, "prob" = in [0.05, 0.95], "wellcond" = square
matrices far from singular). A shape may name its sizes with letters: "a" to "e" are
2 to 6 unless told otherwise (``sample(..., sizes=...)``); a letter used twice is one
size, so shared letters and literal 1s say how inputs broadcast. The tests draw the
letters with hypothesis.
"""

from __future__ import annotations

import numpy as np

from . import factory as F
from . import attention_ops, linalg, nn_ops, shape_ops
from .einsum import einsum
from .gradcheck import gradcheck, gradgradcheck
from .tensor import Tensor

SIZES = {"a": 2, "b": 3, "c": 4, "d": 5, "e": 6}   # the default size of each letter in a shape


def _ids(*rows):
    return np.array(rows)


_CAUSAL = np.tril(np.ones((3, 4), dtype=bool)) & np.array([[True], [False], [True]])   # row 1 sees no key
_PADDING = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=bool)[:, None, None, :]              # (B, 1, 1, S)


def _setitem(a, b):
    """``y[1] = b`` into a copy of a (a SetItem node)."""
    y = a * 1
    y[1] = b
    return y


CATALOG = {
    "add (broadcast)": (lambda a, b: a + b, [(("b", "c"), "any"), (("c",), "any")]),
    "sub (broadcast)": (lambda a, b: a - b, [(("a", "b", "c"), "any"), (("b", 1), "any")]),
    "mul (broadcast)": (lambda a, b: a * b, [(("b", 1), "any"), ((1, "c"), "any")]),
    "div": (lambda a, b: a / b, [(("b", "c"), "any"), (("b", "c"), "away0")]),
    "div (rounding, zero gradient)": (lambda a, b: a.div(b, rounding_mode="floor") * a +
                                      a.div(b, rounding_mode="trunc"), [(("b", "c"), "any"), (("c",), "away0")]),
    "pow (tensor ** scalar)": (lambda a: a ** 3, [(("b", "c"), "any")]),
    "pow (tensor ** tensor)": (lambda a, b: a ** b, [(("b", "c"), "positive"), (("c",), "any")]),
    "neg": (lambda a: -a, [(("d",), "any")]),
    "exp": (lambda a: a.exp(), [(("b", "c"), "any")]),
    "log": (lambda a: a.log(), [(("b", "c"), "positive")]),
    "sqrt": (lambda a: a.sqrt(), [(("b", "c"), "positive")]),
    "abs": (lambda a: a.abs(), [(("b", "c"), "away0")]),
    "tanh": (lambda a: a.tanh(), [(("b", "c"), "any")]),
    "sigmoid": (lambda a: a.sigmoid(), [(("b", "c"), "any")]),
    "relu": (lambda a: a.relu(), [(("b", "c"), "away0")]),
    "gelu": (lambda a: a.gelu(), [(("b", "c"), "any")]),
    "gelu (tanh)": (lambda a: a.gelu("tanh"), [(("b", "c"), "any")]),
    "silu": (lambda a: a.silu(), [(("b", "c"), "any")]),
    "sin": (lambda a: a.sin(), [(("b", "c"), "any")]),
    "cos": (lambda a: a.cos(), [(("b", "c"), "any")]),
    "log1p": (lambda a: a.log1p(), [(("b", "c"), "positive")]),
    "expm1": (lambda a: a.expm1(), [(("b", "c"), "any")]),
    "log2 / log10": (lambda a: a.log2() + a.log10(), [(("b", "c"), "positive")]),
    "exp2": (lambda a: a.exp2(), [(("b", "c"), "any")]),
    "erf / erfc": (lambda a: a.erf() * a.erfc(), [(("b", "c"), "any")]),
    "reciprocal": (lambda a: a.reciprocal(), [(("b", "c"), "away0")]),
    "tan": (lambda a: a.tan(), [(("b", "c"), "unit")]),
    "sinh / cosh": (lambda a: a.sinh() * a.cosh(), [(("b", "c"), "any")]),
    "asin / acos": (lambda a: a.asin() + a.acos() * a, [(("b", "c"), "unit")]),
    "atan": (lambda a: a.atan(), [(("b", "c"), "any")]),
    "asinh": (lambda a: a.asinh(), [(("b", "c"), "any")]),
    "acosh": (lambda a: a.acosh(), [(("b", "c"), "gt1")]),
    "atanh": (lambda a: a.atanh(), [(("b", "c"), "unit")]),
    "rounding steps (zero gradient)": (lambda a: a.floor() * a + a.ceil() * a + a.round() + a.trunc() + a.sign() * a,
                                       [(("b", "c"), "away0")]),
    "frac": (lambda a: a.frac() * a, [(("b", "c"), "any")]),
    "nan_to_num": (lambda a: a.nan_to_num() * a, [(("b", "c"), "any")]),
    "logit": (lambda a: a.logit(), [(("b", "c"), "prob")]),
    "logit (eps)": (lambda a: a.logit(eps=0.2) * a, [(("b", "c"), "prob")]),
    "atan2": (lambda a, b: a.atan2(b), [(("b", "c"), "away0"), (("c",), "away0")]),
    "hypot": (lambda a, b: a.hypot(b), [(("b", "c"), "away0"), (("b", 1), "away0")]),
    "remainder / fmod": (lambda a, b: a.remainder(b) * a + a.fmod(b) * b, [(("b", "c"), "any"), (("c",), "away0")]),
    "lerp": (lambda a, b, w: a.lerp(b, w), [(("b", "c"), "any"), (("c",), "any"), (("b", 1), "any")]),
    "clamp": (lambda a: a.clamp(-0.5, 0.5), [(("c", "d"), "any")]),
    "maximum": (lambda a, b: F.twin("maximum")(a, b), [(("b", "c"), "any"), (("c",), "any")]),
    "minimum": (lambda a, b: F.twin("minimum")(a, b), [(("b", "c"), "any"), (("b", 1), "any")]),
    "matmul (batched, broadcast)": (lambda a, b: a @ b, [(("a", 1, "b", "c"), "any"), (("b", "c", "a"), "any")]),
    "matmul (vector @ matrix)": (lambda a, b: a @ b, [(("c",), "any"), (("c", "b"), "any")]),
    "matmul (matrix @ vector)": (lambda a, b: a @ b, [(("a", "b", "c"), "any"), (("c",), "any")]),
    "sum (dim)": (lambda a: a.sum(dim=1), [(("b", "c", "a"), "any")]),
    "mean (dim, keepdim)": (lambda a: a.mean(dim=(0, 2), keepdim=True), [(("b", "c", "a"), "any")]),
    "max (dim)": (lambda a: a.max(dim=-1), [(("b", "d"), "any")]),
    "min (all)": (lambda a: a.min(), [(("b", "d"), "any")]),
    "var (dim)": (lambda a: a.var(dim=1), [(("b", 5), "any")]),
    "std": (lambda a: a.std(dim=0, keepdim=True), [((4, "b"), "any")]),
    "logsumexp": (lambda a: a.logsumexp(dim=-1), [(("b", "d"), "any")]),
    "softmax": (lambda a: a.softmax(dim=-1), [(("b", "d"), "any")]),
    "log_softmax": (lambda a: a.log_softmax(dim=0), [(("b", "d"), "any")]),
    "prod (dim)": (lambda a: a.prod(dim=1), [(("b", "c"), "any")]),
    "prod (all)": (lambda a: a.prod(), [(("b", "a"), "any")]),
    "cumsum": (lambda a: a.cumsum(1), [(("b", "c", "a"), "any")]),
    "cumprod": (lambda a: a.cumprod(1), [(("b", "c"), "any")]),
    "norm (2, dim)": (lambda a: a.norm(dim=1), [(("b", "c"), "any")]),
    "norm (1, 3, inf)": (lambda a: a.norm(p=1, dim=0).sum() + a.norm(p=3) + a.norm(p=float("inf"), dim=1).sum(),
                         [(("b", "c"), "away0")]),
    "reshape": (lambda a: a.reshape(6, 2), [((3, 4), "any")]),
    "transpose": (lambda a: a.transpose(0, 2) * 1.5, [(("a", "b", "c"), "any")]),
    "permute": (lambda a: a.permute(2, 0, 1).exp(), [(("a", "b", "c"), "any")]),
    "split / merge heads": (lambda a: shape_ops.MergeHeads.apply(shape_ops.SplitHeads.apply(a, 3).exp() * 1.5),
                            [(("a", "b", 6), "any")]),
    "expand": (lambda a: a.expand(2, a.shape[0], 4), [(("b", 1), "any")]),
    "squeeze/unsqueeze": (lambda a: a.unsqueeze(0).squeeze(2), [(("b", 1, "c"), "any")]),
    "flatten": (lambda a: a.flatten(1), [(("a", "b", "c"), "any")]),
    "split": (lambda a: a.split(2, dim=1)[1], [(("b", 5), "any")]),
    "chunk": (lambda a: a.chunk(2, dim=0)[0], [(("c", "b"), "any")]),
    "cat": (lambda a, b: F.cat([a, b], dim=1), [(("a", "b"), "any"), (("a", 2), "any")]),
    "stack": (lambda a, b: F.stack([a, b], dim=1), [(("a", "b"), "any"), (("a", "b"), "any")]),
    "repeat": (lambda a: a.repeat(2, 1, 3), [(("b", "c"), "any")]),
    "repeat_interleave": (lambda a: a.repeat_interleave(2, dim=1).sum(1, keepdim=True) *
                          a.repeat_interleave(_ids(1, 0, 2), dim=0), [((3, "c"), "any")]),
    "diagonal": (lambda a: a.diagonal(1, 0, 2), [(("b", "c", "d"), "any")]),
    "diag_embed": (lambda a: a.diag_embed(-1), [(("b", "c"), "any")]),
    "where": (lambda a, b: F.where(a > 0, a, b), [(("b", "c"), "away0"), (("b", "c"), "any")]),
    "masked_fill": (lambda a: a.masked_fill(a.detach() > 0, 0.0), [(("b", "c"), "away0")]),
    "getitem (slices)": (lambda a: a[1:, ::2, None], [((3, "c"), "any")]),
    "getitem (repeated ints)": (lambda a: a[np.array([0, 2, 0, 0])], [((3, "c"), "any")]),
    "setitem": (_setitem, [((3, "c"), "any"), (("c",), "any")]),
    "tril": (lambda a: a.tril(-1), [(("c", "d"), "any")]),
    "triu (batched)": (lambda a: F.twin("triu")(a, 1), [(("a", "b", "c"), "any")]),
    "t": (lambda a: a.t() * 1.5, [(("b", "c"), "any")]),
    "flip": (lambda a: a.flip(0, 2) * 1.5, [(("a", "b", "c"), "any")]),
    "roll": (lambda a: a.roll((1, -2), (0, 1)) * 1.5, [(("b", "c"), "any")]),
    "roll (flattened)": (lambda a: a.roll(5) * 1.5, [(("b", "c"), "any")]),
    "gather (repeated)": (lambda a: a.gather(1, _ids([0, 3, 3], [1, 1, 0])), [((3, 4), "any")]),
    "scatter": (lambda a, b: a.scatter(1, _ids([0, 2], [3, 1], [1, 0]), b), [((3, 4), "any"), ((3, 3), "any")]),
    "scatter_add (repeated)": (lambda a, b: a.scatter_add(0, _ids([0, 1, 0], [0, 2, 2]), b),
                               [((3, 3), "any"), ((2, 4), "any")]),
    "index_add / index_copy / index_fill": (lambda a, b: a.index_add(0, _ids(2, 0, 2), b, alpha=2) *
                                            a.index_copy(0, _ids(1, 0, 2), b * b)
                                            .index_fill(1, _ids(0), 0.5),
                                            [((3, "c"), "any"), ((3, "c"), "any")]),
    "sort (values)": (lambda a: a.sort(dim=1, descending=True).values, [(("b", "d"), "any")]),
    "topk (values)": (lambda a: a.topk(2, dim=0).values, [((4, "b"), "any")]),
    "einsum (attention)": (lambda q, k: einsum("bhqd,bhkd->bhqk", q, k),
                           [(("a", "a", "b", "c"), "any"), (("a", "a", "d", "c"), "any")]),
    "einsum (LoRA, 3 operands)": (lambda x, a, b: einsum("bti,ri,or->bto", x, a, b),
                                  [(("a", "b", "c"), "any"), (("a", "c"), "any"), (("d", "a"), "any")]),
    "einsum (..., broadcast, implicit)": (lambda a, b: einsum("...ij,...jk", a, b),
                                          [(("a", "b", "c"), "any"), ((1, "c", "a"), "any")]),
    "einsum (diagonal)": (lambda a: einsum("iij->ji", a), [(("b", "b", "a"), "any")]),
    "add/sub (alpha)": (lambda a, b: a.add(b, alpha=-0.5).sub(b, alpha=2), [(("b", "c"), "any"), (("c",), "any")]),
    "in-place on a non-leaf": (lambda a, b: (a * 1).add_(b, alpha=2).mul_(b).div_(b * b + 1),
                               [(("b", "c"), "any"), (("c",), "any")]),
    "copy_ (broadcast)": (lambda a, b: (a * 1).copy_(b) * a, [(("b", "c"), "any"), (("c",), "any")]),
    "inverse": (lambda a: a.inverse(), [(("b", "b"), "wellcond")]),
    "det (batched)": (lambda a: a.det(), [(("a", "b", "b"), "wellcond")]),
    "slogdet": (lambda a: a.slogdet()[1], [(("b", "b"), "wellcond")]),
    "solve (matrix, vector)": (lambda a, b, c: linalg.solve(a, b).sum(-1) + linalg.solve(a, c),
                               [(("b", "b"), "wellcond"), (("b", "a"), "any"), (("b",), "any")]),
    "embedding": (lambda w: nn_ops.Embedding.apply(w, _ids([1, 3, 1], [0, 1, 4])), [((5, "b"), "any")]),
    "cross_entropy": (lambda a: nn_ops.CrossEntropy.apply(a, np.array([1, 0, -100, 3]), -100, 0.1),
                      [((4, 5), "any")]),
    "cross_entropy (sum, none)": (lambda a: nn_ops.CrossEntropy.apply(a, np.array([1, 0, 3, 3]), -100, 0.0, "sum") +
                                  nn_ops.CrossEntropy.apply(a, np.array([4, -100, 0, 3]), -100, 0.2, "none"),
                                  [((4, 5), "any")]),
    "linear": (lambda x, w, b: nn_ops.Linear.apply(x, w, b), [(("a", "b", "c"), "any"), (("d", "c"), "any"),
                                                              (("d",), "any")]),
    "linear (no bias, one row)": (lambda x, w: nn_ops.Linear.apply(x, w), [(("c",), "any"), (("d", "c"), "any")]),
    "layer_norm": (lambda x, w, b: nn_ops.LayerNorm.apply(x, w, b),
                   [(("b", "e"), "any"), (("e",), "any"), (("e",), "any")]),
    "layer_norm (2 axes, no affine)": (lambda x: nn_ops.LayerNorm.apply(x, None, None, 2), [(("a", "b", "c"), "any")]),
    "rms_norm": (lambda x, w: nn_ops.RMSNorm.apply(x, w), [(("b", "e"), "any"), (("e",), "any")]),
    # fused attention: 2 query heads per key/value head, a broadcast bias, a causal mask with a row that
    # sees no key (output and gradient 0 there); then the models' form: padding, masked = the lowest float
    "attention (fused: grouped, bias, causal)": (
        lambda q, k, v, b: attention_ops.Attention.apply(q, k, v, b, _CAUSAL, 0.7),
        [(("a", 2, 3, "c"), "any"), (("a", 1, 4, "c"), "any"), (("a", 1, 4, "b"), "any"), ((2, 1, 4), "any")]),
    "attention (fused: padding, lowest fill)": (
        lambda q, k, v: attention_ops.Attention.apply(q, k, v, None, _PADDING, 1.0, float(np.finfo(q.dtype).min)),
        [((2, "b", 3, "c"), "any"), ((2, "b", 4, "c"), "any"), ((2, "b", 4, "a"), "any")]),
}


def resolve(shape, sizes=None) -> tuple:
    """A catalogue shape with its letters replaced by sizes (``sizes`` first, then ``SIZES``)."""
    sizes = SIZES if sizes is None else {**SIZES, **sizes}
    return tuple(sizes[n] if isinstance(n, str) else n for n in shape)


def sample(shape, domain, rng, sizes=None) -> np.ndarray:
    """Values of ``shape`` (letters resolved by ``resolve``) from the domain's range."""
    shape = resolve(shape, sizes)
    x = rng.standard_normal(shape)
    if domain == "positive":
        x = np.abs(x) + 0.5
    elif domain == "away0":
        x = np.where(x >= 0, x + 0.1, x - 0.1)
    elif domain == "unit":
        x = 0.9 * np.tanh(x)
    elif domain == "gt1":
        x = np.abs(x) + 1.1
    elif domain == "prob":
        x = 0.05 + 0.9 / (1 + np.exp(-x))
    elif domain == "wellcond":   # (..., n, n): dominated by n on the diagonal, far from singular
        x = x + shape[-1] * np.eye(shape[-1])
    elif domain != "any":
        raise ValueError(f"sample: unknown domain {domain!r}")
    return x


def check_all(device="cpu", seed=0, names=None, order=1):
    """Gradcheck every op in the catalogue (``order=2``: gradgradcheck, its second derivatives); returns rows
    (name, shapes, max abs error, ok, message)."""
    if order not in (1, 2):
        raise ValueError(f"check_all: order must be 1 (gradcheck) or 2 (gradgradcheck), got {order!r}")
    check = gradcheck if order == 1 else gradgradcheck
    rng = np.random.default_rng(seed)
    rows = []
    for name, (fn, specs) in CATALOG.items():
        if names and name not in names:
            continue
        inputs = [Tensor(sample(s, d, rng), device=device, requires_grad=True) for s, d in specs]
        shapes = ", ".join(str(resolve(s)) for s, _ in specs)
        try:
            rep = check(fn, *inputs, raise_exception=False)
            rows.append((name, shapes, rep.max_abs_error, rep.ok, "" if rep.ok else rep.describe()))
        except Exception as e:  # noqa: BLE001  (a crash is a failure of that op, reported in its row)
            rows.append((name, shapes, float("nan"), False, f"{type(e).__name__}: {e}"))
    return rows
