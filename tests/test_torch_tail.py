"""The long tail of PyTorch tensor names teaching programs use: log1p ... erf, the rounding steps, prod, norm,
amax, cumprod, median; mm, bmm, inverse, det, linalg.solve; repeat, repeat_interleave, narrow, unbind, movedim,
diagonal, unfold; index_select, index_add, masked_select, nonzero; isclose, unique, bincount; meshgrid, cdist;
from_numpy, finfo, set_default_dtype, set_printoptions, out=.

Three kinds of check, as in tests/test_torch_ops.py:
* PyTorch's own numbers: every snippet of tests/torch_tail_cases.py, run here with ``lib = tinygrad_tf``, against
  the outputs and gradients scripts/make_torch_tail_fixture.py recorded with ``lib = torch`` (this file never
  imports torch);
* gradcheck (float64 central differences) of every differentiable op over hypothesis-drawn shapes, with forward
  values against NumPy in float32 and float64;
* PyTorch's rules and edge cases, and errors that name the op and the shapes.

These tests take the ``device`` fixture: ``python -m pytest --device cuda`` runs them on the GPU.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays, broadcastable_shapes, reduce_dims, shapes
from torch_reference import check_input_grads, fixture_case_names
from torch_tail_cases import CASES

import tinygrad_tf as tg

REF = np.load(Path(__file__).parent / "fixtures" / "torch_tail_reference.npz")
# outputs PyTorch puts on the graph with a gradient that is always 0, and tinygrad_tf leaves off it
OFF_GRAPH = {("slogdet logdet", 0)}                       # slogdet's sign


def T(arr, device, requires_grad=False):
    return tg.Tensor(arr, device=device, requires_grad=requires_grad)


def _flatten(result):
    if isinstance(result, (tuple, list)):
        return [o for r in result for o in _flatten(r)]
    return [result]


# ---------------------------------------------------------------- PyTorch's numbers
@pytest.mark.parametrize("name", list(CASES))
def test_matches_pytorch(name, device):
    fn, specs = CASES[name]
    inputs = [T(REF[f"{name}|in{i}"], device, requires_grad=True) for i in range(len(specs))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)          # log of negatives, 1 / 0: NaN and inf on purpose
        outs = _flatten(fn(tg, *inputs))
    loss = None
    for k, o in enumerate(outs):
        want = REF[f"{name}|out{k}"]
        if not isinstance(o, tg.Tensor):
            assert type(o) is type(want.item()) and o == want.item(), f"{name}, output {k}: {o!r}, PyTorch {want}"
            continue
        assert o.shape == want.shape and o.device == device, f"{name}, output {k}: {o.shape}, PyTorch {want.shape}"
        assert o.dtype == want.dtype, f"{name}, output {k}: {o.dtype}, PyTorch {want.dtype}"
        if want.dtype.kind == "f":
            np.testing.assert_allclose(o.numpy(), want, rtol=1e-10, atol=1e-12, err_msg=f"{name}, output {k}")
        else:
            np.testing.assert_array_equal(o.numpy(), want, err_msg=f"{name}, output {k}")
        if f"{name}|w{k}" in REF and (name, k) not in OFF_GRAPH:
            assert o.requires_grad, f"{name}, output {k}: PyTorch's output is differentiable, this one is not"
            term = (tg.where(o.isfinite(), o, 0.0) * T(REF[f"{name}|w{k}"], device)).sum()
            loss = term if loss is None else loss + term
    if loss is None:
        assert not any(f"{name}|grad{i}" in REF for i in range(len(inputs)))
        return
    check_input_grads(REF, name, loss, inputs, rtol=1e-9, atol=1e-11)


def test_fixture_covers_every_case():
    assert fixture_case_names(REF) == set(CASES), "rerun python scripts/make_torch_tail_fixture.py"


# ---------------------------------------------------------------- gradchecks over drawn shapes
TOL = {np.float32: dict(rtol=2e-4, atol=1e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}


def check(device, fn, ref, *inputs, grad=True):
    """fn (on Tensors) against ref (on NumPy float64 arrays) in float32 and float64, the dtype kept; then gradcheck."""
    for dt in (np.float32, np.float64):
        xs = [x.astype(dt) for x in inputs]
        outs = _flatten(fn(*[T(x, device) for x in xs]))
        refs = _flatten(ref(*[x.astype(np.float64) for x in xs]))
        assert len(outs) == len(refs)
        for o, r in zip(outs, refs):
            assert o.dtype == dt, f"{dt.__name__} in, {o.dtype} out"
            assert o.device == device and o.shape == np.shape(r), f"shape {o.shape}, expected {np.shape(r)}"
            np.testing.assert_allclose(o.numpy(), r, **TOL[dt])
    if grad:
        tg.gradcheck(fn, *[T(x, device, requires_grad=True) for x in inputs])


_erf = np.vectorize(math.erf)
UNARY = {      # name: (method call, NumPy reference, domain)
    "log1p": (lambda x: x.log1p(), np.log1p, "positive"),
    "expm1": (lambda x: tg.expm1(x), np.expm1, "any"),
    "log2": (lambda x: x.log2(), np.log2, "positive"),
    "log10": (lambda x: tg.log10(x), np.log10, "positive"),
    "exp2": (lambda x: x.exp2(), np.exp2, "any"),
    "erf": (lambda x: x.erf(), _erf, "any"),
    "erfc": (lambda x: tg.erfc(x), lambda x: 1 - _erf(x), "any"),
    "reciprocal": (lambda x: x.reciprocal(), lambda x: 1 / x, "away0"),
    "tan": (lambda x: (x * 0.6).tan(), lambda x: np.tan(x * 0.6), "any"),
    "sinh": (lambda x: x.sinh(), np.sinh, "any"),
    "cosh": (lambda x: tg.cosh(x), np.cosh, "any"),
    "asin": (lambda x: (x * 0.4).asin(), lambda x: np.arcsin(x * 0.4), "any"),
    "acos": (lambda x: tg.arccos(x * 0.4), lambda x: np.arccos(x * 0.4), "any"),
    "atan": (lambda x: x.atan(), np.arctan, "any"),
    "asinh": (lambda x: x.asinh(), np.arcsinh, "any"),
    "acosh": (lambda x: (x + 1).acosh(), lambda x: np.arccosh(x + 1), "positive"),
    "atanh": (lambda x: (x * 0.4).atanh(), lambda x: np.arctanh(x * 0.4), "any"),
    "frac": (lambda x: (x * 0.45 - 0.95).frac(), lambda x: np.modf(x * 0.45 - 0.95)[0], "positive"),
    "logit": (lambda x: (x / 2.5).logit(), lambda x: np.log(x / (2.5 - x)), "positive"),
    "deg2rad": (lambda x: x.deg2rad(), np.deg2rad, "any"),
    "logaddexp": (lambda x: tg.logaddexp(x, x * 0.5 - 1), lambda x: np.logaddexp(x, x * 0.5 - 1), "any"),
}


@given(data=st.data())
def test_unary_math(device, data):
    name = data.draw(st.sampled_from(sorted(UNARY)))
    fn, ref, domain = UNARY[name]
    x = data.draw(arrays(data.draw(shapes()), domain))
    check(device, fn, ref, x)


@given(data=st.data())
def test_rounding_steps_have_zero_gradient(device, data):
    x = data.draw(arrays(data.draw(shapes()), "clamp"))
    for name, ref in (("floor", np.floor), ("ceil", np.ceil), ("round", np.round), ("trunc", np.trunc),
                      ("sign", np.sign)):
        check(device, lambda t: getattr(t, name)() + t, lambda a: ref(a) + a, x)   # the gradient is 1, from + t
    check(device, lambda t: (t * 10).round(decimals=1), lambda a: np.round(a * 10, 1), x, grad=False)


@given(data=st.data())
def test_binary_math_broadcasts(device, data):
    (sa, sb), _ = data.draw(broadcastable_shapes())
    a, b = data.draw(arrays(sa)), data.draw(arrays(sb, "away0"))
    check(device, lambda a, b: tg.atan2(a, b), np.arctan2, a, b)
    check(device, lambda a, b: a.hypot(b), np.hypot, a, b)
    w = np.asarray(data.draw(arrays(sb, "positive")) / 2)
    check(device, lambda a, b, w: a.lerp(b * 2, w), lambda a, b, w: a + w * (b * 2 - a), a, b, w)


@given(data=st.data())
def test_remainder_fmod(device, data):
    (sq, sb), shape = data.draw(broadcastable_shapes())
    b = data.draw(arrays(sb, "away0"))
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    q, r = rng.integers(-3, 4, shape), rng.uniform(0.1, 0.9, shape)
    a = np.ascontiguousarray((q + r) * b)                   # a / b is never within 0.1 of an integer
    check(device, lambda a, b: a.remainder(b), np.remainder, a, b)
    check(device, lambda a, b: tg.fmod(a, b), np.fmod, a, b)
    check(device, lambda a, b: a % b, np.mod, a, b)


@given(data=st.data())
def test_prod_and_cumprod_with_zeros(device, data):
    shape = data.draw(shapes(min_dims=1))
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    keepdim = data.draw(st.booleans())
    x = data.draw(arrays(shape, "grid0")) * 2.5             # multiples of 0.5: many zeros, exact products
    check(device, lambda t: t.prod(), lambda a: np.prod(a), x)
    check(device, lambda t: t.prod(d, keepdim=keepdim), lambda a: np.prod(a, axis=d, keepdims=keepdim), x)
    check(device, lambda t: t.cumprod(d), lambda a: np.cumprod(a, axis=d), x)


@given(data=st.data())
def test_amax_amin_norm(device, data):
    shape = data.draw(shapes())
    dim = data.draw(reduce_dims(len(shape)))
    keepdim = data.draw(st.booleans())
    x = data.draw(arrays(shape, "distinct"))
    axes = dim if dim != () else None
    check(device, lambda t: t.amax(dim if dim is not None else (), keepdim),
          lambda a: np.amax(a, axis=axes, keepdims=keepdim), x)
    check(device, lambda t: tg.amin(t, dim if dim is not None else (), keepdim),
          lambda a: np.amin(a, axis=axes, keepdims=keepdim), x)
    p = data.draw(st.sampled_from([1, 2, 3, 0.5, float("inf"), float("-inf")]))
    y = data.draw(arrays(shape, "away0" if p != float("inf") and p != float("-inf") else "distinct"))

    def ref(a):
        m = np.abs(a)
        if p == float("inf"):
            return np.amax(m, axis=axes, keepdims=keepdim)
        if p == float("-inf"):
            return np.amin(m, axis=axes, keepdims=keepdim)
        return (m ** p).sum(axis=axes, keepdims=keepdim) ** (1 / p)
    check(device, lambda t: t.norm(p, dim, keepdim), ref, y)
    check(device, lambda t: tg.linalg.vector_norm(t, p, dim, keepdim), ref, y)


@given(data=st.data())
def test_median_diff_nan_reductions(device, data):
    shape = data.draw(shapes(min_dims=1))
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = data.draw(arrays(shape, "distinct"))
    n = shape[d]
    lower = lambda a, axis: np.take(np.sort(a, axis=axis), [(a.shape[axis] - 1) // 2], axis=axis)  # noqa: E731
    check(device, lambda t: t.median(), lambda a: lower(a.reshape(-1), 0)[0], x)
    check(device, lambda t: t.median(d, keepdim=True).values, lambda a: lower(a, d), x)
    check(device, lambda t: t.diff(dim=d) if n > 1 else t.diff(dim=d) + 0, lambda a: np.diff(a, axis=d), x)
    check(device, lambda t: t.nansum(d), lambda a: np.nansum(a, axis=d), x)
    check(device, lambda t: t.nanmean(), lambda a: np.nanmean(a), x)


@given(data=st.data())
def test_matrix_products(device, data):
    b, n, m, p = (data.draw(st.integers(1, 4)) for _ in range(4))
    A, B, v, w = (data.draw(arrays(s)) for s in ((n, m), (m, p), (m,), (n,)))
    check(device, lambda a, c: a.mm(c), np.matmul, A, B)
    check(device, lambda a, x: tg.mv(a, x), np.matmul, A, v)
    check(device, lambda x, y: x.dot(y), np.dot, v, v * 0.5 + 0.1)
    check(device, lambda x, y: tg.outer(x, y), np.outer, w, v)
    check(device, lambda c, a, x: c.addmm(a, x, beta=0.5, alpha=2), lambda c, a, x: 0.5 * c + 2 * (a @ x),
          data.draw(arrays((p,))), A, B)
    P, Q = data.draw(arrays((b, n, m))), data.draw(arrays((b, m, p)))
    check(device, lambda x, y: tg.bmm(x, y), np.matmul, P, Q)


@st.composite
def well_conditioned(draw, batch=True):
    n = draw(st.integers(1, 4))
    lead = draw(shapes(max_dims=1, max_side=3)) if batch else ()
    return draw(arrays(lead + (n, n))) + 3 * np.eye(n)


@given(a=well_conditioned(), data=st.data())
def test_inverse_det_solve(device, a, data):
    n = a.shape[-1]
    check(device, lambda t: t.inverse(), np.linalg.inv, a)
    check(device, lambda t: tg.linalg.det(t), np.linalg.det, a)
    check(device, lambda t: t.slogdet().logabsdet, lambda x: np.linalg.slogdet(x)[1], a)
    rhs = data.draw(arrays(a.shape[:-2] + (n, data.draw(st.integers(1, 3)))))
    check(device, lambda t, r: tg.linalg.solve(t, r), np.linalg.solve, a, rhs)
    vec = data.draw(arrays((n,)))
    check(device, lambda t, r: tg.linalg.solve(t, r), lambda x, r: np.linalg.solve(x, r[..., None])[..., 0]
          if x.ndim == 2 else np.linalg.solve(x, np.broadcast_to(r, x.shape[:-1])[..., None])[..., 0], a, vec)


@given(data=st.data())
def test_repeat_tile_repeat_interleave(device, data):
    shape = data.draw(shapes(max_dims=3, max_side=3))
    reps = tuple(data.draw(st.lists(st.integers(0, 3), min_size=len(shape), max_size=len(shape) + 1)))
    x = data.draw(arrays(shape))
    check(device, lambda t: t.repeat(*reps), lambda a: np.tile(a, reps), x)
    check(device, lambda t: tg.tile(t, reps[1:]), lambda a: np.tile(a, reps[1:]), x)
    if shape:
        d = data.draw(st.integers(-len(shape), len(shape) - 1))
        counts = data.draw(st.lists(st.integers(0, 3), min_size=shape[d], max_size=shape[d]))
        check(device, lambda t: t.repeat_interleave(tg.tensor(counts), d), lambda a: np.repeat(a, counts, axis=d), x)
        k = data.draw(st.integers(0, 3))
        check(device, lambda t: t.repeat_interleave(k, dim=d), lambda a: np.repeat(a, k, axis=d), x)
    check(device, lambda t: tg.repeat_interleave(t, 2), lambda a: np.repeat(a.reshape(-1), 2), x)


@given(data=st.data())
def test_slicing_and_reordering(device, data):
    shape = data.draw(shapes(min_dims=2, max_side=5))
    nd = len(shape)
    d = data.draw(st.integers(-nd, nd - 1))
    n = shape[d]
    start = data.draw(st.integers(0, n))
    length = data.draw(st.integers(0, n - start))
    x = data.draw(arrays(shape))
    take = lambda a, idx: np.take(a, idx, axis=d)  # noqa: E731
    check(device, lambda t: t.narrow(d, start, length), lambda a: take(a, range(start, start + length)), x)
    check(device, lambda t: tg.stack(t.unbind(d), 0), lambda a: np.moveaxis(a, d, 0), x)
    check(device, lambda t: t.select(d, -1), lambda a: take(a, -1), x)
    k = data.draw(st.integers(1, n + 1))
    check(device, lambda t: t.tensor_split(k, d), lambda a: np.array_split(a, k, axis=d), x)
    perm = data.draw(st.permutations(range(nd)))
    check(device, lambda t: t.movedim(tuple(range(nd)), tuple(perm)), lambda a: np.moveaxis(a, range(nd), perm), x)
    check(device, lambda t: tg.swapaxes(t, 0, d), lambda a: np.swapaxes(a, 0, d), x)
    turns = data.draw(st.integers(-5, 5))
    check(device, lambda t: t.rot90(turns, (d, (d + 1) % nd)) * 1.5,
          lambda a: np.rot90(a, turns, (d % nd, (d + 1) % nd)) * 1.5, x)
    size = data.draw(st.integers(0, n))
    step = data.draw(st.integers(1, 3))
    check(device, lambda t: t.unfold(d, size, step),
          lambda a: np.lib.stride_tricks.sliding_window_view(a, size, axis=d)[
              tuple(slice(None, None, step) if i == d % nd else slice(None) for i in range(nd))], x)


@given(data=st.data())
def test_diagonals(device, data):
    shape = data.draw(shapes(min_dims=2, max_side=4))
    nd = len(shape)
    d1, d2 = data.draw(st.lists(st.integers(0, nd - 1), min_size=2, max_size=2, unique=True))
    off = data.draw(st.integers(-4, 4))
    x = data.draw(arrays(shape))
    check(device, lambda t: t.diagonal(off, d1, d2), lambda a: np.diagonal(a, off, d1, d2), x)
    v = data.draw(arrays(data.draw(shapes(min_dims=1, max_dims=2))))
    check(device, lambda t: t.diag_embed(off), lambda a: _diag_embed(a, off), v)
    if v.ndim == 1:
        check(device, lambda t: tg.diag(t, off), lambda a: np.diag(a, off), v)
    if nd == 2:
        check(device, lambda t: tg.diag(t, off), lambda a: np.diag(a, off), x)


def _diag_embed(a, off):
    n = a.shape[-1] + abs(off)
    out = np.zeros(a.shape[:-1] + (n, n))
    for i in range(a.shape[-1]):
        out[..., i + max(-off, 0), i + max(off, 0)] = a[..., i]
    return out


@given(data=st.data())
def test_index_select_add_copy_fill(device, data):
    shape = data.draw(shapes(min_dims=1))
    nd = len(shape)
    d = data.draw(st.integers(-nd, nd - 1))
    n = shape[d]
    idx = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=0, max_size=5)), dtype=np.int64)
    x = data.draw(arrays(shape))
    check(device, lambda t: t.index_select(d, T(idx, device)), lambda a: np.take(a, idx, axis=d), x)
    src_shape = list(shape)
    src_shape[d] = len(idx)
    src = data.draw(arrays(tuple(src_shape)))

    def ref_add(a, s):
        out = a.copy()
        np.add.at(out, (slice(None),) * (d % nd) + (idx,), s * 1.5)
        return out
    check(device, lambda t, s: t.index_add(d, T(idx, device), s, alpha=1.5), ref_add, x, src)
    unique_idx = np.unique(idx % n)
    src_shape[d] = len(unique_idx)
    src = data.draw(arrays(tuple(src_shape)))

    def ref_copy(a, s):
        out = a.copy()
        out[(slice(None),) * (d % nd) + (unique_idx,)] = s
        return out
    check(device, lambda t, s: tg.index_copy(t, d, T(unique_idx, device), s), ref_copy, x, src)
    check(device, lambda t: t.index_fill(d, T(unique_idx - n, device), 2.5), lambda a: ref_copy(a, 2.5), x)


@given(data=st.data())
def test_masks_and_flat_positions(device, data):
    (sx, sm), shape = data.draw(broadcastable_shapes())
    x = data.draw(arrays(sx))
    mask = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).random(sm) < 0.5
    check(device, lambda t: t.masked_select(T(mask, device)), lambda a: np.broadcast_to(a, shape)[
        np.broadcast_to(mask, shape)], x)
    nz = T(mask, device).nonzero()
    assert nz.dtype == np.int64 and nz.shape == (int(mask.sum()), mask.ndim)
    np.testing.assert_array_equal(nz.numpy(), np.argwhere(mask))
    np.testing.assert_array_equal(np.stack([i.numpy() for i in T(mask, device).nonzero(as_tuple=True)], -1)
                                  if mask.ndim else np.zeros((int(mask.sum()), 0)), np.argwhere(mask))
    if x.size:
        flat = np.random.default_rng(0).integers(-x.size, x.size, (2, 3))
        check(device, lambda t: t.take(T(flat, device)), lambda a: a.reshape(-1)[flat], x)


@given(data=st.data())
def test_grids_and_distances(device, data):
    a, b = (data.draw(arrays((data.draw(st.integers(1, 4)),))) for _ in range(2))
    check(device, lambda s, t: tg.meshgrid(s, t, indexing="ij"), lambda s, t: np.meshgrid(s, t, indexing="ij"), a, b)
    check(device, lambda s, t: tg.meshgrid([s, t], indexing="xy"), lambda s, t: np.meshgrid(s, t), a, b)
    (sa, sb), _ = data.draw(broadcastable_shapes())
    check(device, lambda s, t: tg.broadcast_tensors(s, t), lambda s, t: np.broadcast_arrays(s, t),
          data.draw(arrays(sa)), data.draw(arrays(sb)))
    m = data.draw(st.integers(1, 3))
    p = data.draw(st.sampled_from([1.0, 2.0, 3.0]))
    x1, x2 = data.draw(arrays((data.draw(st.integers(1, 3)), m), "distinct")), \
        data.draw(arrays((data.draw(st.integers(1, 3)), m), "distinct")) + 0.013
    check(device, lambda s, t: tg.cdist(s, t, p=p),
          lambda s, t: (np.abs(s[:, None] - t[None]) ** p).sum(-1) ** (1 / p), x1, x2)


# ---------------------------------------------------------------- PyTorch's rules and edge cases
def test_errors_name_the_op_and_the_shapes():
    a, b = tg.ones(2, 3), tg.ones(4, 5)
    cases = [
        (lambda: a.mm(b), RuntimeError, r"mm: .*2x3 and 4x5"),
        (lambda: tg.bmm(a, b), RuntimeError, r"bmm: expected two 3-D .*\(2, 3\) and \(4, 5\)"),
        (lambda: tg.mv(a, tg.ones(4)), RuntimeError, r"mv: .*2x3 .* 4 elements"),
        (lambda: tg.dot(tg.ones(3), tg.ones(4)), RuntimeError, r"dot: .* 3 and 4"),
        (lambda: tg.outer(a, a), RuntimeError, r"outer: expected two 1-D tensors, got shapes \(2, 3\)"),
        (lambda: a.repeat(2), RuntimeError, r"repeat: .*\(1\).* \(2, shape \(2, 3\)\)"),
        (lambda: a.narrow(1, 2, 2), IndexError, r"narrow: start 2 and length 2 .* size 3"),
        (lambda: a.index_select(1, tg.tensor([0, 3])), IndexError, r"index_select: index 3 .* size 3"),
        (lambda: a.index_select(1, tg.tensor([-1])), IndexError, r"index_select: index -1 .* size 3"),
        (lambda: a.index_select(0, tg.tensor([0.5])), IndexError, r"index_select: index must be a 1-D integer"),
        (lambda: a.masked_select(tg.ones(3)), TypeError, r"masked_select: mask must be a bool"),
        (lambda: a.masked_select(tg.ones(4, dtype=tg.bool)), RuntimeError, r"masked_select: .*\(4,\) .*\(2, 3\)"),
        (lambda: tg.ones(3).diagonal(), RuntimeError, r"diagonal: .*at least 2 dimensions, got shape \(3,\)"),
        (lambda: a.inverse(), RuntimeError, r"inverse: expected a square matrix .*\(2, 3\)"),
        (lambda: tg.zeros(2, 2).inverse(), RuntimeError, r"inverse: .*singular"),
        (lambda: tg.linalg.solve(tg.eye(3), tg.ones(2, 1)), RuntimeError, r"linalg.solve: A of shape \(3, 3\)"),
        (lambda: a.lerp(a.double(), 0.5), RuntimeError, r"lerp: end has dtype float64 but the tensor float32"),
        (lambda: a.prod((0, 1)), TypeError, r"prod: dim must be one int"),
        (lambda: tg.arange(3).norm(), TypeError, r"norm: .*floating point, got int64"),
        (lambda: a.unfold(1, 4, 1), RuntimeError, r"unfold: size 4 must be in \[0, 3\]"),
        (lambda: a.take_along_dim(tg.tensor([0]), 1), RuntimeError, r"take_along_dim: .*\(1,\).*\(2, 3\)"),
        (lambda: a.movedim((0, 0), (0, 1)), RuntimeError, r"movedim: repeated dim"),
        (lambda: a.index_add(0, tg.tensor([0]), tg.ones(2, 3)), RuntimeError, r"index_add: source of shape \(2, 3\)"),
        (lambda: a.tensor_split(0), RuntimeError, r"tensor_split: the number of sections must be > 0"),
        (lambda: a.repeat_interleave(tg.tensor([1, 2])), RuntimeError, r"repeat_interleave: .*6 along dim 0"),
        (lambda: tg.cdist(tg.ones(2, 3), tg.ones(2, 4)), RuntimeError, r"cdist: .*\(2, 3\) and \(2, 4\)"),
        (lambda: tg.bincount(tg.tensor([-1, 2])), RuntimeError, r"bincount: expected a 1-D tensor of non-negative"),
        (lambda: tg.linalg.matrix_norm(a, ord=2), RuntimeError, r"matrix_norm: ord=2 needs singular values"),
        (lambda: tg.ones(2, 2, requires_grad=True).squeeze_(), RuntimeError, r"squeeze_: a leaf Variable"),
        (lambda: tg.set_default_dtype(tg.int64), TypeError, r"set_default_dtype: only floating-point"),
        (lambda: tg.from_numpy([1, 2]), TypeError, r"from_numpy: expected np.ndarray \(got list\)"),
        (lambda: tg.finfo(tg.int64), TypeError, r"finfo: int64 is not a floating-point dtype"),
    ]
    for fn, kind, pattern in cases:
        with pytest.raises(kind, match=pattern):
            fn()


def test_in_place_math_follows_the_leaf_rule(device):
    w = tg.ones(3, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="exp_: a leaf Variable that requires grad"):
        w.exp_()
    with tg.no_grad():
        view = w[1:]
        view.mul_(3).exp_()                          # under no_grad: written into w's own memory, through the view
    np.testing.assert_allclose(w.numpy(), [1, np.e ** 3, np.e ** 3], rtol=1e-6)
    assert w.is_leaf and w.requires_grad
    with tg.no_grad():
        w.unsqueeze_(0)
    assert w.shape == (1, 3) and w.is_leaf and w.requires_grad
    h = w * 2
    h.detach_()
    assert h.is_leaf and not h.requires_grad and h.grad_fn is None
    c = tg.zeros(4, dtype=tg.int64, device=device)
    c.index_add_(0, tg.tensor([1, 1, 3], device=device), tg.ones(3, dtype=tg.int64, device=device))
    assert c.tolist() == [0, 2, 0, 1]                # counting with repeated indices
    x = tg.arange(6.0, device=device).reshape(2, 3)
    x.fill_diagonal_(-1.0)
    assert x.tolist() == [[-1, 1, 2], [3, -1, 5]]
    with pytest.raises(RuntimeError, match="exp_: result type float32 can't be cast to the tensor's dtype int64"):
        tg.arange(3, device=device).exp_()


def test_random_fills(device):
    tg.manual_seed(0)
    x = tg.empty(2000, device=device)
    assert set(x.bernoulli_(0.3).numpy().tolist()) <= {0.0, 1.0} and abs(x.mean().item() - 0.3) < 0.05
    assert x.exponential_(2.0).min().item() >= 0 and abs(x.mean().item() - 0.5) < 0.05
    assert x.log_normal_(0.0, 0.5).min().item() > 0
    r = tg.empty(2000, dtype=tg.int64, device=device).random_(3, 7)
    assert set(r.numpy().tolist()) == {3, 4, 5, 6}
    assert set(x.random_(4).numpy().tolist()) == {0.0, 1.0, 2.0, 3.0}
    p = tg.full((2000,), 0.25, device=device)
    assert abs(p.bernoulli().mean().item() - 0.25) < 0.05 and p.bernoulli().dtype == tg.float32


def test_integer_and_bool_inputs_follow_pytorch(device):
    i = tg.arange(1, 4, device=device)
    assert i.log1p().dtype == tg.float32 and i.erf().dtype == tg.float32 and i.sqrt().dtype == tg.float32
    assert i.exp().dtype == tg.float32 and (i > 1).sigmoid().dtype == tg.float32 and i.abs().dtype == tg.int64
    assert i.floor().dtype == tg.int64 and i.floor().tolist() == [1, 2, 3] and i.sign().dtype == tg.int64
    assert i.prod().item() == 6 and i.prod().dtype == tg.int64 and (i > 1).prod().dtype == tg.int64
    assert i.cumprod(0).tolist() == [1, 2, 6] and i.cumprod(0).dtype == tg.int64
    assert (i % 2).tolist() == [1, 0, 1] and (i // 2).tolist() == [0, 1, 1] and (i // 2).dtype == tg.int64
    assert i.bitwise_and(2).tolist() == [0, 2, 2] and (i > 1).logical_not().tolist() == [True, False, False]
    with pytest.raises(TypeError, match="bitwise_or: only integer and bool tensors have bits; got float32"):
        i.float().bitwise_or(1)
    assert tg.tensor([2.5, 3.5, -2.5], device=device).round().tolist() == [2, 4, -2]     # halves to even
    assert (-tg.tensor([7.0]) % 3).item() == 2.0 and tg.fmod(-tg.tensor([7.0]), 3).item() == -1.0


def test_dtypes_pytorch_names_and_the_missing_ones():
    for name, kind in (("int8", "int8"), ("uint8", "uint8"), ("int16", "int16"), ("short", "int16"),
                       ("int", "int32"), ("int32", "int32"), ("long", "int64")):
        assert getattr(tg, name) == np.dtype(kind)
        assert isinstance(getattr(tg, name), tg.dtype)
    x = tg.tensor([1.7, -2.2])
    assert x.int().dtype == tg.int32 and x.int().tolist() == [1, -2]
    assert x.short().dtype == tg.int16 and x.char().dtype == tg.int8 and x.abs().byte().dtype == tg.uint8
    assert tg.zeros(2, dtype=tg.uint8).dtype == np.uint8
    for missing in ("bfloat16", "complex64", "cfloat", "float8_e4m3fn"):       # NumPy has no such dtype here
        with pytest.raises(AttributeError, match=f"torch.{missing}.*docs/from-pytorch.md"):
            getattr(tg, missing)
    with pytest.raises(TypeError, match="unknown dtype 'bfloat16'"):
        tg.zeros(2, dtype="bfloat16")
    f32 = tg.finfo(tg.float32)
    assert f32.eps == 2.0 ** -23 and f32.max == float(np.finfo(np.float32).max) and f32.min == -f32.max
    assert f32.tiny == f32.smallest_normal == float(np.finfo(np.float32).tiny) and type(f32.eps) is float
    assert tg.finfo().bits == 32 and tg.finfo(tg.float16).max == 65504.0 and tg.finfo(tg.float64).bits == 64
    assert tg.iinfo(tg.int64).max == 2 ** 63 - 1 and tg.iinfo(tg.uint8).max == 255 and tg.iinfo(tg.int8).min == -128
    assert tg.pi == math.pi and tg.e == math.e and tg.inf == math.inf and math.isnan(tg.nan)


def test_set_default_dtype():
    assert tg.get_default_dtype() == tg.float32
    try:
        tg.set_default_dtype(tg.float64)
        assert tg.get_default_dtype() == tg.float64
        assert tg.tensor([1.5]).dtype == tg.float64 and tg.zeros(2).dtype == tg.float64
        assert tg.randn(2).dtype == tg.float64 and tg.arange(0.0, 1.0, 0.5).dtype == tg.float64
        assert (tg.arange(3) / 2).dtype == tg.float64 and tg.full((2,), 1.5).dtype == tg.float64
        assert tg.tensor([1, 2]).dtype == tg.int64 and tg.finfo().bits == 64
        from tinygrad_tf import nn
        assert nn.Linear(2, 3).weight.dtype == tg.float64
    finally:
        tg.set_default_dtype(tg.float32)
    assert tg.tensor([1.5]).dtype == tg.float32 and tg.zeros(2).dtype == tg.float32


def test_set_printoptions():
    x = tg.tensor([1.23456789, 2.5, 1e-5])
    try:
        tg.set_printoptions(precision=2)
        assert repr(x) == "tensor([1.23e+00, 2.50e+00, 1.00e-05])"
        tg.set_printoptions(precision=2, sci_mode=False)
        assert repr(x) == "tensor([1.23, 2.5 , 0.  ])"
        tg.set_printoptions(threshold=5, edgeitems=1)
        assert repr(tg.arange(10)) == "tensor([0, ..., 9])"
        tg.set_printoptions(profile="full")
        assert "..." not in repr(tg.arange(2000))
    finally:
        tg.set_printoptions(profile="default")
    assert repr(x) == "tensor([1.2346e+00, 2.5000e+00, 1.0000e-05])" and "..." in repr(tg.arange(2000))


def test_numpy_bridges_share_memory():
    a = np.arange(3.0)
    t = tg.from_numpy(a)
    a[0] = 7
    assert t.dtype == tg.float64 and t[0].item() == 7.0
    t.add_(1)                                           # in place: the array sees it too
    assert a.tolist() == [8.0, 2.0, 3.0]
    assert tg.as_tensor(a).data is a and tg.as_tensor(t) is t and tg.as_tensor(a, dtype=tg.float32).data is not a
    assert tg.as_tensor([1, 2]).dtype == tg.int64 and tg.is_tensor(t) and not tg.is_tensor(a)
    assert tg.asarray(a).data is a and tg.asarray(a, copy=True).data is not a
    with pytest.raises(ValueError, match="asarray\\(copy=False\\)"):
        tg.asarray(a, dtype=tg.float32, copy=False)
    assert tg.asarray(a, requires_grad=True).requires_grad
    e = tg.empty_like(t, dtype=tg.int64)
    assert e.shape == (3,) and e.dtype == tg.int64


def test_out_argument(device):
    a, b = tg.ones(2, 3, device=device), tg.full((3,), 2.0, device=device)
    c = tg.empty(2, 3, device=device)
    buffer = c.data
    assert tg.add(a, b, out=c) is c and c.data is buffer and c.tolist() == [[3.0] * 3] * 2
    d = tg.empty(0, device=device)
    tg.mul(a, b, out=d)
    assert d.shape == (2, 3) and d.tolist() == [[2.0] * 3] * 2        # resized, as PyTorch does
    tg.matmul(a, b, out=d)
    assert d.shape == (2,) and d.tolist() == [6.0, 6.0]
    with pytest.raises(RuntimeError, match="add\\(\\): functions with out=... arguments don't support automatic"):
        tg.add(tg.ones(3, requires_grad=True), 1, out=tg.empty(3))
    with pytest.raises(RuntimeError, match="result type float32 can't be cast to the desired output type int64"):
        tg.exp(a, out=tg.empty(2, 3, dtype=tg.int64, device=device))


def test_pytorch_overloads():
    a, b = tg.tensor([1.0, 5.0]), tg.tensor([3.0, 2.0])
    assert tg.max(a, b).tolist() == [3.0, 5.0] and a.min(b).tolist() == [1.0, 2.0]
    assert tg.max(a).item() == 5.0 and a.max(0).item() == 5.0                  # the reductions are unchanged
    assert [t.tolist() for t in tg.where(tg.tensor([[0, 1], [2, 0]]) > 0)] == [[0, 1], [1, 0]]
    assert tg.where(a > 2, a, 0.0).tolist() == [0.0, 5.0] and tg.where(a > 2, 1.0, a).tolist() == [1.0, 1.0]
    assert tg.where(a > 2, 1.0, 0.0).dtype == tg.float32
    assert tg.Size([2, 3]) == (2, 3) == tg.zeros(2, 3).shape and tg.Size([2, 3]).numel() == 6
    assert tg.broadcast_shapes((2, 1), (3,)) == (2, 3) and tg.concat([a, b]).shape == (4,)
    assert tg.tril_indices(3, 3).tolist() == [[0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2]]


def test_new_tensors_and_questions(device):
    x = tg.ones(2, dtype=tg.float64, device=device)
    for t in (x.new_zeros(2, 3), x.new_ones((2, 3)), x.new_empty([2, 3]), x.new_full((2, 3), 1.5)):
        assert t.shape == (2, 3) and t.dtype == tg.float64 and t.device == device and t.is_leaf
    assert x.new_tensor([1, 2]).dtype == tg.float64 and x.new_tensor([1, 2], dtype=tg.int64).dtype == tg.int64
    assert x.new_zeros(2, requires_grad=True).requires_grad and x.new_zeros(()).shape == ()
    p = tg.nn.Parameter(tg.ones(2))
    assert type(p.new_zeros(2)) is tg.Tensor and type(p.isnan()) is tg.Tensor        # never a Parameter
    assert x.is_floating_point() and tg.is_floating_point(x) and not tg.arange(2).is_floating_point()
    assert x.element_size() == x.itemsize == 8 and x.nbytes == 16 and x.ndimension() == 1
    assert x.is_cuda == (device == "cuda") and x.is_cpu == (device == "cpu")
    assert x.get_device() == (-1 if device == "cpu" else 0) and not x.is_complex() and x.is_signed()
    assert tg.tensor([3]).is_nonzero() and x.is_same_size(tg.zeros(2)) and not tg.tensor([True]).is_signed()
    z = tg.ones(2, requires_grad=True) * 2
    assert not z.retains_grad and z.retain_grad().retains_grad
    if device == "cpu":
        pinned = x.pin_memory()
        assert pinned is not x and pinned.tolist() == x.tolist() and not pinned.is_pinned()
    assert x.to(device, non_blocking=True) is x and x.to(device, copy=True) is not x


def test_linalg_and_norm_rules():
    x = tg.tensor([[3.0, 4.0], [0.0, 0.0]], dtype=tg.float64, requires_grad=True)
    n = x.norm(dim=1)
    n.sum().backward()
    assert n.tolist() == [5.0, 0.0] and x.grad.tolist() == [[0.6, 0.8], [0.0, 0.0]]   # 0 at a zero norm, not NaN
    assert tg.norm(x).item() == 5.0 and tg.linalg.norm(x, dim=0).tolist() == [3.0, 4.0]
    assert tg.linalg.norm(x, float("inf")).item() == 7.0 and tg.linalg.norm(x, 1).item() == 4.0
    a = tg.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=tg.float64)
    np.testing.assert_allclose((a @ tg.linalg.solve(a, tg.tensor([1.0, 2.0], dtype=tg.float64))).numpy(), [1, 2])
    np.testing.assert_allclose(tg.linalg.solve(a, tg.eye(2, dtype=tg.float64), left=False).numpy(),
                               np.linalg.inv(a.numpy()))
    sign, logabs = tg.linalg.slogdet(-a)
    assert sign.item() == 1.0 and abs(logabs.item() - math.log(5)) < 1e-12
    assert tg.zeros(2, 2).slogdet().sign.item() == 0.0 and tg.zeros(2, 2).slogdet().logabsdet.item() == -math.inf
    assert tg.linalg.vecdot(a, a).tolist() == [5.0, 10.0] and tg.linalg.matmul(a, a).shape == (2, 2)


def test_teaching_snippets():
    """Lines as PyTorch lectures and tutorials write them."""
    torch = tg
    output = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    target = torch.tensor([1, 0, 0])
    pred = output.argmax(dim=1, keepdim=True)
    assert pred.eq(target.view_as(pred)).sum().item() == 2                      # the MNIST example's accuracy
    u = torch.tensor([3.0, -4.0])
    assert torch.norm(u).item() == 5.0 and torch.abs(u).sum().item() == 7.0     # d2l: norms
    assert torch.dot(u, u).item() == 25.0 and torch.mv(torch.ones(2, 2), u).tolist() == [-1.0, -1.0]
    x = torch.randn(4, 3)
    assert (x.clamp_min(0.0) >= 0).all() and torch.allclose(x @ torch.eye(3), x)   # fast.ai's relu; a check
    mean = torch.zeros(3)
    mean.lerp_(x.mean(0), 0.1)                                                   # a running mean, BatchNorm-style
    assert torch.allclose(mean, 0.1 * x.mean(0))
    emb = torch.randn(5, 2)
    demb = torch.zeros_like(emb).index_add_(0, torch.tensor([1, 1, 4]), torch.ones(3, 2))
    assert demb[:, 0].tolist() == [0, 2, 0, 0, 1]
    idx = torch.tensor([[1, 2], [3, 4]])
    assert idx.repeat(2, 1).shape == (4, 2) and idx.repeat_interleave(2, dim=0).tolist()[1] == [1, 2]
    assert torch.from_numpy(np.arange(3)).float().dtype == torch.float32
    xs, ys = torch.meshgrid(torch.arange(2), torch.arange(3), indexing="ij")
    assert xs.shape == ys.shape == (2, 3) and ys[1].tolist() == [0, 1, 2]
    att = torch.randn(2, 3, 3).bmm(torch.randn(2, 3, 4))
    assert att.shape == (2, 3, 4) and torch.tril(torch.ones(3, 3)).diag().tolist() == [1.0, 1.0, 1.0]
    assert torch.unique(torch.tensor([3, 1, 3])).tolist() == [1, 3] and torch.isnan(torch.tensor([math.nan])).item()


@given(data=st.data())
def test_cross_cov_corrcoef(device, data):
    lead = data.draw(shapes(max_dims=2, max_side=3))
    a, b = data.draw(arrays(lead + (3,))), data.draw(arrays(lead + (3,)))
    check(device, lambda s, t: tg.linalg.cross(s, t), lambda s, t: np.cross(s, t), a, b)
    x = data.draw(arrays((data.draw(st.integers(1, 4)), data.draw(st.integers(2, 5)))))
    check(device, lambda t: t.cov(), np.cov, x)
    check(device, lambda t: tg.cov(t, correction=0), lambda s: np.cov(s, ddof=0), x)
    if x.shape[0] > 1:
        check(device, lambda t: t.corrcoef(), lambda s: np.clip(np.corrcoef(s), -1, 1), x)


def test_multinomial_method_and_testing_assert_close():
    tg.manual_seed(3)
    probs = tg.tensor([[0.0, 1.0, 3.0], [5.0, 0.0, 0.0]])
    draws = probs.multinomial(400, replacement=True)
    assert draws.shape == (2, 400) and set(draws[1].tolist()) == {0} and 0 not in draws[0].tolist()
    assert abs((draws[0] == 2).float().mean().item() - 0.75) < 0.08
    tg.manual_seed(3)
    assert tg.multinomial(probs, 400, replacement=True).tolist() == draws.tolist()      # one implementation
    g = tg.Generator().manual_seed(1)
    assert sorted(tg.ones(5).multinomial(5, generator=g).tolist()) == [0, 1, 2, 3, 4]
    a = tg.tensor([1.0, 2.0, 3.0])
    tg.testing.assert_close(a, a * (1 + 1e-7))
    tg.testing.assert_close({"w": [a, 2.0]}, {"w": [a + 1e-6, 2.0]})
    with pytest.raises(AssertionError, match=r"Mismatched elements: 1 / 3 \(33.3%\)\nGreatest absolute difference: "
                                             r"0.099999.* at index \(1,\) \(up to 1e-05 allowed\)"):
        tg.testing.assert_close(a, tg.tensor([1.0, 2.1, 3.0]))
    with pytest.raises(AssertionError, match="different dtypes: float32 and float64"):
        tg.testing.assert_close(a, a.double())
    tg.testing.assert_close(a, a.double(), check_dtype=False)
    tg.testing.assert_close(a, a + 0.05, rtol=0, atol=0.1)
    with pytest.raises(AssertionError, match="Expected 1.1 but got 1.0"):
        tg.testing.assert_close(1.0, 1.1)
    with pytest.raises(AssertionError, match="different shapes: \\(3,\\) and \\(1, 3\\)"):
        tg.testing.assert_close(a, a.reshape(1, 3))
    with pytest.raises(AssertionError, match="^custom$"):
        tg.testing.assert_close(a, a + 1, msg="custom")
