"""Every differentiable op, written once against a library ``lib`` (tinygrad_tf or torch), for second and
third derivatives against PyTorch's.

Each case is ``name -> (fn, specs)``: ``fn(lib, *inputs)`` returns a tensor (or a tuple of them), and
``specs`` lists each input's shape template and value domain. A template names its sizes with letters
(``("a", "b")`` with ``("b",)`` broadcasts; literal numbers are fixed, 1 broadcasts);
scripts/make_double_backward_fixture.py draws several size assignments per case with fixed seeds, runs
every case with ``lib = torch`` in float64 and writes, for the scalar function

    L1 = sum_k sum(out_k * v_k),  g1 = dL1/dx (create_graph),  L2 = sum_i sum(g1_i * u_i),  g2 = dL2/dx,
    L3 = sum_i sum(g2_i * w_i),  g3 = dL3/dx

the inputs, outputs and g1, g2, g3 (v, u, w come from ``weights``) to
tests/fixtures/double_backward_reference.npz;
tests/test_double_backward.py runs the same functions with ``lib = tinygrad_tf`` and compares. This module
imports neither library (NumPy only, for ``weights``).

Domains: "any" (normal), "positive" (>= 0.5), "away0" (|x| >= 0.1), "unit" (|x| <= 0.9), "gt1" (>= 1.1),
"prob" (in [0.05, 0.95]), "wellcond" (square matrices with n added on the diagonal), "distinct" (values
0.1 apart in random order: no ties for max, sort and topk).
"""

from __future__ import annotations

import math


def weights(name, draw, out_shapes, in_shapes):
    """The fixed random v (one per output) and u, w, z (one per input, for L2, L3 and a fourth order left
    unused) of case ``name``'s ``draw``-th size assignment; the fixture script and the test both call this."""
    import zlib

    import numpy as np
    rng = np.random.default_rng(zlib.crc32(f"{name}/{draw}/weights".encode()))
    vs = [rng.standard_normal(s) for s in out_shapes]
    return vs, [[rng.standard_normal(s) for s in in_shapes] for _ in range(3)]


def _ids(lib, *rows):
    return lib.tensor(list(rows))


def _setitem(lib, a, b):
    y = a * 1
    y[1] = b
    return y


def _attention(lib, q, k, v):
    """Causal attention written out: scores, a tril mask, masked_fill, softmax, weighted sum."""
    t = q.shape[-2]
    s = (q @ k.transpose(-2, -1)) * (1 / math.sqrt(q.shape[-1]))
    keep = lib.tril(lib.ones(t, t)) > 0
    return s.masked_fill(~keep, float("-inf")).softmax(-1) @ v


def _sdpa(lib, q, k, v):
    F = lib.nn.functional
    mask = lib.tensor([[True, False, True, True]] * 3)
    return F.scaled_dot_product_attention(q, k, v, is_causal=True) + \
        F.scaled_dot_product_attention(q, k, v, attn_mask=mask[: q.shape[-2], : k.shape[-2]])


def _F(lib):
    return lib.nn.functional


def _heads(lib, x):
    """Attention's heads: (B, T, 2 * d) -> (B, 2, T, d), something nonlinear per head, and merged back. One op
    each way in tinygrad_tf (nn.functional.split_heads / merge_heads); PyTorch has no such function, so there
    it is the reshape + transpose they stand for."""
    b, t, e = x.shape
    F = _F(lib)
    if hasattr(F, "split_heads"):
        y = F.split_heads(x, 2)
        return F.merge_heads(y * y.exp()), y
    y = x.reshape(b, t, 2, e // 2).transpose(1, 2)
    return (y * y.exp()).transpose(1, 2).reshape(b, t, e), y


CASES = {
    # ---------------------------------------------------------------- arithmetic (ops.py)
    "add": (lambda lib, a, b: a + b, [(("a", "b"), "any"), (("b",), "any")]),
    "sub": (lambda lib, a, b: a - b, [(("a", 1, "c"), "any"), (("b", 1), "any")]),
    "mul": (lambda lib, a, b: a * b, [(("a", 1), "any"), ((1, "b"), "any")]),
    "div": (lambda lib, a, b: a / b, [(("a", "b"), "any"), (("b",), "away0")]),
    "div (rounding)": (lambda lib, a, b: a.div(b, rounding_mode="floor") * a + a.div(b, rounding_mode="trunc") * b,
                       [(("a", "b"), "any"), (("b",), "away0")]),
    "pow (scalar exponent)": (lambda lib, a: a ** 3 + (a * a + 1) ** -1.5 + (a * a + 1) ** 0.5, [(("a", "b"), "any")]),
    "pow (tensor ** tensor)": (lambda lib, a, b: a ** b, [(("a", "b"), "positive"), (("b",), "any")]),
    "pow (scalar base)": (lambda lib, a: 2 ** a, [(("a", "b"), "any")]),
    "neg": (lambda lib, a: -a * a, [(("a",), "any")]),
    "exp / log / sqrt": (lambda lib, a: a.exp() * a.log() + a.sqrt(), [(("a", "b"), "positive")]),
    "abs": (lambda lib, a: a.abs() * a, [(("a", "b"), "away0")]),
    "sin / cos / tanh": (lambda lib, a: a.sin() * a.cos() + a.tanh(), [(("a", "b", "c"), "any")]),
    "sigmoid": (lambda lib, a: a.sigmoid(), [(("a", "b"), "any")]),
    "relu": (lambda lib, a: a.relu() * a, [(("a", "b"), "away0")]),
    "gelu": (lambda lib, a: _F(lib).gelu(a), [(("a", "b"), "any")]),
    "gelu (tanh)": (lambda lib, a: _F(lib).gelu(a, approximate="tanh"), [(("a", "b"), "any")]),
    "silu": (lambda lib, a: _F(lib).silu(a), [(("a", "b"), "any")]),
    "clamp": (lambda lib, a: a.clamp(-0.5, 0.5) * a + a.clamp(min=0.2) + a.clamp(max=-0.3), [(("a", "b"), "any")]),
    "maximum / minimum": (lambda lib, a, b: lib.maximum(a, b) * lib.minimum(a, b),
                          [(("a", "b"), "any"), (("b",), "any")]),
    "where": (lambda lib, a, b: lib.where(a > 0, a * a, b * a), [(("a", "b"), "away0"), (("b",), "any")]),
    "masked_fill": (lambda lib, a: a.masked_fill(a.detach() > 0, 0.5) * a, [(("a", "b"), "away0")]),
    "tril / triu": (lambda lib, a: a.tril(-1) * a + a.triu(1) * a, [(("a", "b", "c"), "any")]),
    "cast": (lambda lib, a: (a.float() * a.float()).double() * a, [(("a", "b"), "any")]),
    "matmul": (lambda lib, a, b: (a @ b) * (a @ b), [(("a", 1, "b", "c"), "any"), (("d", "c", "e"), "any")]),
    "matmul (vectors)": (lambda lib, a, b, c: ((a @ b) * c).sum() * (a @ (b @ c)) + (a @ b) @ (c * c),
                         [(("a",), "any"), (("a", "b"), "any"), (("b",), "any")]),
    # ---------------------------------------------------------------- more math (math_ops.py)
    "log1p / expm1": (lambda lib, a: a.log1p() * a.expm1(), [(("a", "b"), "positive")]),
    "log2 / log10 / exp2": (lambda lib, a: a.log2() * a.log10() + a.exp2(), [(("a", "b"), "positive")]),
    "erf / erfc": (lambda lib, a: a.erf() * a.erfc(), [(("a", "b"), "any")]),
    "reciprocal": (lambda lib, a: a.reciprocal(), [(("a", "b"), "away0")]),
    "tan": (lambda lib, a: a.tan(), [(("a", "b"), "unit")]),
    "sinh / cosh": (lambda lib, a: a.sinh() * a.cosh(), [(("a", "b"), "any")]),
    "asin / acos / atan": (lambda lib, a: a.asin() * a.acos() + a.atan(), [(("a", "b"), "unit")]),
    "asinh / atanh": (lambda lib, a: a.asinh() * a.atanh(), [(("a", "b"), "unit")]),
    "acosh": (lambda lib, a: a.acosh(), [(("a", "b"), "gt1")]),
    "rounding steps": (lambda lib, a: a.floor() * a + a.ceil() * a + a.round() + a.trunc() * a + a.sign() * a,
                       [(("a", "b"), "away0")]),
    "frac": (lambda lib, a: a.frac() * a, [(("a", "b"), "any")]),
    "nan_to_num": (lambda lib, a: a.nan_to_num() * a, [(("a", "b"), "any")]),
    "logit": (lambda lib, a: a.logit() + a.logit(eps=0.2) * a, [(("a", "b"), "prob")]),
    "atan2": (lambda lib, a, b: a.atan2(b), [(("a", "b"), "away0"), (("b",), "away0")]),
    "hypot": (lambda lib, a, b: a.hypot(b), [(("a", "b"), "away0"), (("a", 1), "away0")]),
    "remainder / fmod": (lambda lib, a, b: a.remainder(b) * a + a.fmod(b) * b,
                         [(("a", "b"), "any"), (("b",), "away0")]),
    "lerp": (lambda lib, a, b, w: a.lerp(b, w) * w, [(("a", "b"), "any"), (("b",), "any"), (("a", 1), "any")]),
    # ---------------------------------------------------------------- reductions (reduce_ops.py)
    "sum / mean": (lambda lib, a: a.sum(1, keepdim=True) * a.mean((0, 2), keepdim=True) + a.sum() * a.mean(),
                   [(("a", "b", "c"), "any")]),
    "cumsum": (lambda lib, a: a.cumsum(1) * a, [(("a", "b", "c"), "any")]),
    "max / min": (lambda lib, a: a.max(dim=-1).values * a.min() + a.amax((0, 1)) * a.sum(), [(("a", "b"), "distinct")]),
    "var / std": (lambda lib, a: a.var(1, keepdim=True) * a.std(0, keepdim=True) + a.var(), [(("a", "b"), "any")]),
    "logsumexp": (lambda lib, a: a.logsumexp(-1, keepdim=True) * a.logsumexp((0, 1), keepdim=True),
                  [(("a", "b", "c"), "any")]),
    "softmax": (lambda lib, a: a.softmax(-1) * a, [(("a", "b"), "any")]),
    "log_softmax": (lambda lib, a: a.log_softmax(0) * a, [(("a", "b"), "any")]),
    "prod": (lambda lib, a: a.prod(1) + a.prod(), [(("a", "b"), "any")]),
    "cumprod": (lambda lib, a: a.cumprod(1), [(("a", "b"), "any")]),
    "norm": (lambda lib, a: a.norm(dim=1) + a.norm(p=1, dim=0).sum() + a.norm(p=3) +
             a.norm(p=float("inf"), dim=1).sum(),
             [(("a", "b"), "away0")]),
    # ---------------------------------------------------------------- shapes and indexing (shape_ops.py, index_ops.py)
    "reshape / permute / transpose": (lambda lib, a: (a.reshape(a.shape[0], -1) @ a.permute(1, 2, 0)
                                                      .reshape(-1, a.shape[0])).transpose(0, 1) * a[:, 0, :1],
                                      [(("a", "b", "c"), "any")]),
    "split / merge heads": (_heads, [(("a", "b", 4), "any")]),
    "expand / squeeze / unsqueeze / flatten": (lambda lib, a: a.expand(2, a.shape[0], 3) *
                                               a.unsqueeze(0).flatten(0, 1).squeeze(-1).unsqueeze(-1),
                                               [(("a", 1), "any")]),
    "flip / roll": (lambda lib, a: a.flip(0, 2) * a.roll((1, -2), (0, 1)) + a.roll(5) * a, [(("a", "b", "c"), "any")]),
    "cat / stack / split / chunk": (lambda lib, a, b: lib.cat([a, b], 1).split(2, 1)[0].sum() *
                                    lib.stack([a, a * b], 1).chunk(2, 0)[0],
                                    [(("a", "b"), "any"), (("a", "b"), "any")]),
    "getitem": (lambda lib, a: a[1:, ::2, None].sum() * a[lib.tensor([0, 2, 0, 0])][:2, :3, None] +
                a[lib.tensor([True, False, True])].sum(),
                [((3, "c"), "any")]),
    "setitem": (_setitem, [((3, "b"), "any"), (("b",), "any")]),
    "copy_ / in-place": (lambda lib, a, b: (a * 1).copy_(b) * a + (a * 1).add_(b, alpha=2).mul_(b).div_(b * b + 1),
                         [(("a", "b"), "any"), (("b",), "any")]),
    "repeat / repeat_interleave": (lambda lib, a: (a.repeat(2, 1, 3).sum(0) * a.repeat(1, 3)).sum() +
                                   a.repeat_interleave(lib.tensor([1, 0, 2]), dim=0) *
                                   a.repeat_interleave(2, dim=1)[:, ::2],
                                   [((3, "b"), "any")]),
    "diagonal / diag_embed": (lambda lib, a: a.diagonal(1, 0, 2) * a.diagonal(0, -1, -2)[..., :1].sum() +
                              (a.diag_embed(-1) ** 2).sum(),
                              [(("a", "b", "c"), "any")]),
    "gather": (lambda lib, a: a.gather(1, _ids(lib, [0, 3, 3], [1, 1, 0])) * a[:2, :3], [(("b", 4), "any")]),
    "scatter": (lambda lib, a, b: a.scatter(1, _ids(lib, [0, 2], [3, 1], [1, 0]), b) * a,
                [((3, 4), "any"), ((3, 2), "any")]),
    "scatter_add": (lambda lib, a, b: a.scatter_add(0, _ids(lib, [0, 1, 0], [0, 2, 2]), b * b) * a,
                    [((3, 3), "any"), ((2, 3), "any")]),
    "index_add / index_copy / index_fill": (lambda lib, a, b: a.index_add(0, lib.tensor([2, 0, 2]), b * b, alpha=2) *
                                            a.index_copy(0, lib.tensor([1, 0, 2]), b * a)
                                            .index_fill(1, lib.tensor([0]), 0.5),
                                            [((3, "b"), "any"), ((3, "b"), "any")]),
    "sort / topk": (lambda lib, a: a.sort(dim=1, descending=True).values * a + a.topk(2, dim=0).values.sum() * a,
                    [(("b", "c"), "distinct")]),
    "einsum": (lambda lib, q, k: lib.einsum("bhqd,bhkd->bhqk", q, k) * lib.einsum("bhqd,bhkd->bhqk", q, q),
               [(("a", "a", "b", "c"), "any"), (("a", "a", "b", "c"), "any")]),
    "einsum (3 operands)": (lambda lib, x, a, b: lib.einsum("bti,ri,or->bto", x * x, a, b),
                            [(("a", "b", "c"), "any"), (("d", "c"), "any"), (("e", "d"), "any")]),
    "einsum (broadcast, diagonal)": (lambda lib, a, b, c: lib.einsum("...ij,...jk", a * a, b) +
                                     lib.einsum("iij->ji", c * c).sum(),
                                     [(("a", "b", "c"), "any"), ((1, "c", "d"), "any"), (("e", "e", 2), "any")]),
    # ---------------------------------------------------------------- linear algebra (linalg_ops.py)
    "inverse": (lambda lib, a: lib.linalg.inv(a), [(("a", "b", "b"), "wellcond")]),
    "det": (lambda lib, a: lib.linalg.det(a), [(("a", "b", "b"), "wellcond")]),
    "slogdet": (lambda lib, a: lib.linalg.slogdet(a)[1], [(("b", "b"), "wellcond")]),
    "solve": (lambda lib, a, b, c: lib.linalg.solve(a, b) * b + lib.linalg.solve(a, c).sum(),
              [(("b", "b"), "wellcond"), (("b", "a"), "any"), (("b",), "any")]),
    # ---------------------------------------------------------------- fused nn ops (nn_ops.py)
    "embedding": (lambda lib, w: _F(lib).embedding(_ids(lib, [1, 3, 1], [0, 1, 4]), w) * w[:3], [((5, "a"), "any")]),
    "cross_entropy": (lambda lib, a: _F(lib).cross_entropy(a, lib.tensor([1, 0, -100, 3]), label_smoothing=0.1) +
                      _F(lib).cross_entropy(a * a, lib.tensor([1, 0, 3, 3]), reduction="sum"),
                      [((4, 5), "any")]),
    "cross_entropy (none)": (lambda lib, a: _F(lib).cross_entropy(a, lib.tensor([4, -100, 0, 3]), label_smoothing=0.2,
                                                                 reduction="none"), [((4, 5), "any")]),
    "linear": (lambda lib, x, w, b: _F(lib).linear(x, w, b) * _F(lib).linear(x, w),
               [(("a", "b", "c"), "any"), (("d", "c"), "any"), (("d",), "any")]),
    "layer_norm": (lambda lib, x, w, b: _F(lib).layer_norm(x, (x.shape[-1],), w, b),
                   [(("a", "b", "e"), "any"), (("e",), "any"), (("e",), "any")]),
    "layer_norm (2 axes, no affine)": (lambda lib, x: _F(lib).layer_norm(x, tuple(x.shape[-2:])),
                                       [(("a", "b", "c"), "any")]),
    "rms_norm": (lambda lib, x, w: _F(lib).rms_norm(x, (x.shape[-1],), w, eps=1e-6),
                 [(("a", "e"), "any"), (("e",), "any")]),
    # ---------------------------------------------------------------- composites of the above (nn.functional)
    "attention (written out)": (_attention, [(("a", "b", 4, "c"), "any"), (("a", "b", 4, "c"), "any"),
                                             (("a", "b", 4, "d"), "any")]),
    "scaled_dot_product_attention": (_sdpa, [(("a", "b", 3, "c"), "any"), (("a", "b", 4, "c"), "any"),
                                             (("a", "b", 4, "d"), "any")]),
    "conv1d": (lambda lib, x, w, b: _F(lib).conv1d(x, w, b, padding=1, stride=2),
               [(("a", "b", 5), "any"), (("c", "b", 3), "any"), (("c",), "any")]),
    "conv2d": (lambda lib, x, w: _F(lib).conv2d(x, w, padding=1),
               [(("a", "b", 4, 4), "any"), (("c", "b", 3, 3), "any")]),
    "group_norm": (lambda lib, x, w, b: _F(lib).group_norm(x, 2, w, b),
                   [(("a", 4, "c"), "any"), ((4,), "any"), ((4,), "any")]),
    "batch_norm (training)": (lambda lib, x, w, b: _F(lib).batch_norm(x, None, None, w, b, training=True),
                              [(("b", "c", "a"), "any"), (("c",), "any"), (("c",), "any")]),
    "losses": (lambda lib, a, b: _F(lib).mse_loss(a, b) + _F(lib).huber_loss(a, b) +
               _F(lib).binary_cross_entropy_with_logits(a, b.sigmoid()) +
               _F(lib).kl_div(a.log_softmax(-1), b.softmax(-1), reduction="batchmean"),
               [(("a", "b"), "any"), (("a", "b"), "any")]),
    "activations": (lambda lib, a: _F(lib).softplus(a) + _F(lib).logsigmoid(a) * _F(lib).mish(a) + _F(lib).elu(a) * a,
                    [(("a", "b"), "away0")]),
    "pooling": (lambda lib, x: _F(lib).max_pool2d(x, 2) * _F(lib).avg_pool2d(x, 2), [(("a", "b", 4, 4), "distinct")]),
    "normalize / cosine_similarity": (lambda lib, a, b: _F(lib).normalize(a, dim=1) * b +
                                      _F(lib).cosine_similarity(a, b).sum(),
                                      [(("a", "b"), "any"), (("a", "b"), "any")]),
}
