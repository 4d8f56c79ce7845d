"""The tensor ops PyTorch teaching code uses: tril/triu, topk/sort/argsort, roll, flip, cumsum, gather,
scatter, scatter_add, t, add/sub/mul/div with alpha and rounding_mode, einsum, and the in-place methods
(copy_ zero_ fill_ normal_ uniform_ add_ sub_ mul_ div_ clamp_ masked_fill_ scatter_ scatter_add_).

Three kinds of check:
* PyTorch's own numbers: every snippet of tests/torch_ops_cases.py, run here with ``lib = tinygrad_tf``,
  against the outputs, indices and gradients scripts/make_torch_ops_fixture.py recorded with ``lib = torch``
  (this file never imports torch);
* gradcheck (float64 central differences) of every differentiable op over hypothesis-drawn shapes, dims
  and indices, with forward values against NumPy in float32 and float64;
* PyTorch's rules and edge cases: in-place on leaves, views, no_grad; named tuples; stable sorting and NaN;
  errors that name the op and the shapes.

These tests take the ``device`` fixture: ``python -m pytest --device cuda`` runs them on the GPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays, broadcasts_to, sample, shapes
from torch_ops_cases import CASES
from torch_reference import check_input_grads, fixture_case_names

import tinygrad_tf as tg

REF = np.load(Path(__file__).parent / "fixtures" / "torch_ops_reference.npz")
TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}


def T(arr, device, requires_grad=False):
    return tg.Tensor(arr, device=device, requires_grad=requires_grad)


def _tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def check(device, fn, ref, *inputs, grad=True):
    """fn (on Tensors) against ref (on NumPy arrays) in float32 and float64, the dtype kept; then gradcheck."""
    for dt in (np.float32, np.float64):
        xs = [x.astype(dt) for x in inputs]
        outs = _tuple(fn(*[T(x, device) for x in xs]))
        refs = _tuple(ref(*[x.astype(np.float64) for x in xs]))
        assert len(outs) == len(refs)
        for o, r in zip(outs, refs):
            assert o.dtype == dt, f"{dt.__name__} in, {o.dtype} out"
            assert o.device == device and o.shape == np.shape(r)
            np.testing.assert_allclose(o.numpy(), r, **TOL[dt])
    if grad:
        tg.gradcheck(fn, *[T(x, device, requires_grad=True) for x in inputs])


# ---------------------------------------------------------------- PyTorch's numbers
@pytest.mark.parametrize("name", list(CASES))
def test_matches_pytorch(name, device):
    fn, specs = CASES[name]
    inputs = [T(REF[f"{name}|in{i}"], device, requires_grad=True) for i in range(len(specs))]
    result = fn(tg, *inputs)
    outs = list(result) if isinstance(result, tuple) else [result]
    loss = None
    for k, o in enumerate(outs):
        want = REF[f"{name}|out{k}"]
        assert o.shape == want.shape and o.device == device, f"output {k}: {o.shape}, PyTorch {want.shape}"
        if want.dtype.kind == "f":
            assert o.dtype == np.float64
            np.testing.assert_allclose(o.numpy(), want, rtol=1e-10, atol=1e-12, err_msg=f"{name}, output {k}")
        else:                                            # sort / topk / argsort indices: exactly PyTorch's
            assert o.dtype == np.int64
            np.testing.assert_array_equal(o.numpy(), want, err_msg=f"{name}, indices {k}")
        if f"{name}|w{k}" in REF:
            term = (o * T(REF[f"{name}|w{k}"], device)).sum()
            loss = term if loss is None else loss + term
    assert (loss is not None) == any(f"{name}|grad{i}" in REF for i in range(len(inputs)))
    if loss is None:
        return
    check_input_grads(REF, name, loss, inputs, rtol=1e-10, atol=1e-12)


def test_fixture_covers_every_case():
    assert fixture_case_names(REF) == set(CASES), "rerun python scripts/make_torch_ops_fixture.py"


# ---------------------------------------------------------------- gradchecks over drawn shapes
@given(data=st.data())
def test_tril_triu(device, data):
    shape = data.draw(shapes(min_dims=2))
    k = data.draw(st.integers(-4, 4))
    x = data.draw(arrays(shape))
    check(device, lambda x: x.tril(k), lambda x: np.tril(x, k), x)
    check(device, lambda x: tg.triu(x, diagonal=k), lambda x: np.triu(x, k), x)


@given(data=st.data())
def test_flip_roll_cumsum(device, data):
    shape = data.draw(shapes(min_dims=1))
    nd = len(shape)
    dims = data.draw(st.lists(st.integers(0, nd - 1), unique=True, max_size=nd))
    spelled = [d - nd if data.draw(st.booleans()) else d for d in dims]
    shifts = [data.draw(st.integers(-5, 5)) for _ in dims]
    d = data.draw(st.integers(-nd, nd - 1))
    x = data.draw(arrays(shape))
    check(device, lambda x: x.flip(*spelled) * 1.5, lambda x: np.flip(x, tuple(dims)) * 1.5, x)
    check(device, lambda x: tg.flip(x, spelled) * 1.5, lambda x: np.flip(x, tuple(dims)) * 1.5, x)
    if dims:
        check(device, lambda x: x.roll(shifts, spelled) * 1.5, lambda x: np.roll(x, shifts, tuple(dims)) * 1.5, x)
    check(device, lambda x: tg.roll(x, shifts[0] if shifts else 3) * 1.5,
          lambda x: np.roll(x, shifts[0] if shifts else 3) * 1.5, x)
    check(device, lambda x: x.cumsum(d), lambda x: np.cumsum(x, axis=d), x)
    c = tg.cumsum(T(x.astype(np.float32), device), dim=d, dtype=tg.float64)
    assert c.dtype == np.float64
    np.testing.assert_allclose(c.numpy(), np.cumsum(x.astype(np.float32), axis=d, dtype=np.float64))


@st.composite
def gather_args(draw, repeats=True):
    """(input shape, dim, index): index as many dims as the input, no longer along any dim but ``dim``; with
    ``repeats=False`` no two entries of one index line (along dim) are equal."""
    shape = draw(shapes(min_dims=1))
    nd = len(shape)
    dim = draw(st.integers(-nd, nd - 1))
    d = dim % nd
    ishape = [draw(st.integers(1, n)) for n in shape]
    if repeats:
        ishape[d] = draw(st.integers(1, 5))
        index = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).integers(0, shape[d], ishape)
    else:
        ishape[d] = draw(st.integers(1, shape[d]))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        index = np.argsort(rng.random(ishape[:d] + [shape[d]] + ishape[d + 1:]), axis=d)
        index = np.take(index, np.arange(ishape[d]), axis=d)
    return tuple(shape), dim, index


def np_scatter(x, dim, index, src, add):
    out = x.copy()
    d = dim % x.ndim
    for pos in np.ndindex(*index.shape):
        target = pos[:d] + (index[pos],) + pos[d + 1:]
        v = src if np.isscalar(src) else src[pos]
        out[target] = out[target] + v if add else v
    return out


@given(data=st.data())
def test_gather(device, data):
    shape, dim, index = data.draw(gather_args())
    x = data.draw(arrays(shape))
    ref = lambda x: np.take_along_axis(x[tuple(slice(0, n) if a != dim % x.ndim else slice(None)  # noqa: E731
                                               for a, n in enumerate(index.shape))], index, axis=dim)
    check(device, lambda x: x.gather(dim, T(index, device)), ref, x)
    check(device, lambda x: tg.gather(x, dim, index.tolist()) * 2, lambda x: ref(x) * 2, x)


@given(data=st.data())
def test_scatter_add_accumulates_repeats(device, data):
    shape, dim, index = data.draw(gather_args())
    sshape = tuple(n + data.draw(st.integers(0, 1)) for n in index.shape)     # src may be bigger than index
    x, src = data.draw(arrays(shape)), data.draw(arrays(sshape))
    check(device, lambda x, s: x.scatter_add(dim, T(index, device), s),
          lambda x, s: np_scatter(x, dim, index, s, add=True), x, src)


@given(data=st.data())
def test_scatter(device, data):
    shape, dim, index = data.draw(gather_args(repeats=False))
    sshape = tuple(n + data.draw(st.integers(0, 1)) for n in index.shape)
    x, src = data.draw(arrays(shape)), data.draw(arrays(sshape))
    check(device, lambda x, s: x.scatter(dim, T(index, device), s),
          lambda x, s: np_scatter(x, dim, index, s, add=False), x, src)
    check(device, lambda x: tg.scatter(x, dim, T(index, device), value=-1.5),
          lambda x: np_scatter(x, dim, index, -1.5, add=False), x)


@given(data=st.data())
def test_sort_topk_values(device, data):
    shape = data.draw(shapes(min_dims=1))
    nd = len(shape)
    d = data.draw(st.integers(-nd, nd - 1))
    k = data.draw(st.integers(0, shape[d]))
    descending, largest = data.draw(st.booleans()), data.draw(st.booleans())
    x = data.draw(arrays(shape, "distinct"))
    order = lambda x: np.flip(np.sort(x, axis=d), axis=d) if descending else np.sort(x, axis=d)  # noqa: E731
    check(device, lambda x: x.sort(dim=d, descending=descending).values, order, x)
    best = lambda x: np.take(-np.sort(-x, axis=d) if largest else np.sort(x, axis=d), range(k), axis=d)  # noqa: E731
    check(device, lambda x: tg.topk(x, k, dim=d, largest=largest)[0], best, x)
    t = T(x, device)
    np.testing.assert_array_equal(t.argsort(dim=d, descending=descending).numpy(),
                                  np.argsort(-x if descending else x, axis=d, kind="stable"))


EINSUMS = ("ij,jk->ik", "bij,bjk->bik", "bhqd,bhkd->bhqk", "bhqk,bhkd->bhqd", "bti,ri,or->bto", "ij,jk", "ij->ji",
           "ij->", "ij->j", "ii->i", "ii", "i,j->ij", "i,i->", "ij,ij->i", "bii->bi", "iij->ji",
           "...ij,...jk->...ik", "...ij,...jk", "...d,...d->...", "...ij,jk->ik", "b...,b...->b")


@st.composite
def einsum_args(draw):
    """An equation of EINSUMS, letter sizes 1..3 (now and then a size-1 dim broadcast against a bigger one)
    and ellipsis dims that broadcast, aligned from the right."""
    eq = draw(st.sampled_from(EINSUMS))
    sizes = {c: draw(st.integers(1, 3)) for c in set(eq) if c.isalpha()}
    ell = draw(shapes(max_dims=2, max_side=3))
    out = []
    for term in eq.split("->")[0].split(","):
        before, _, after = term.partition("...")
        named = [1 if term.count(c) == 1 and draw(st.integers(0, 5)) == 0 else sizes[c] for c in before + after]
        middle = tuple(draw(broadcasts_to(ell))) if "..." in term else ()
        out.append(tuple(named[:len(before)]) + middle + tuple(named[len(before):]))
    return eq, out


def np_einsum(eq, *arrays):
    """NumPy's einsum with PyTorch's rules where they differ: size-1 dims broadcast against a letter's size,
    and '...' left out of an explicit output is summed."""
    lhs, _, rhs = eq.partition("->")
    terms = lhs.split(",")
    if "->" in eq and "..." in lhs and "..." not in rhs:
        n_ell = max(a.ndim - len(t.replace("...", "")) for t, a in zip(terms, arrays) if "..." in t)
        return np_einsum(lhs + "->..." + rhs, *arrays).sum(axis=tuple(range(n_ell)))
    layouts = []                                  # each operand's dims: a letter, or None for an ellipsis dim
    for t, a in zip(terms, arrays):
        before, _, after = t.partition("...")
        layouts.append(list(before) + [None] * (a.ndim - len(before) - len(after)) + list(after))
    sizes = {}
    for lay, a in zip(layouts, arrays):
        for c, n in zip(lay, a.shape):
            if c is not None:
                sizes[c] = max(sizes.get(c, 1), n)
    full = [np.broadcast_to(a, [n if c is None else sizes[c] for c, n in zip(lay, a.shape)])
            for lay, a in zip(layouts, arrays)]
    return np.einsum(eq, *full)


@given(args=einsum_args(), data=st.data())
def test_einsum(device, args, data):
    eq, shapes_ = args
    xs = [data.draw(arrays(s)) for s in shapes_]
    check(device, lambda *ts: tg.einsum(eq, *ts), lambda *a: np_einsum(eq, *a), *xs)


@given(data=st.data())
def test_t_add_sub_alpha(device, data):
    shape = data.draw(shapes(max_dims=2))
    x = data.draw(arrays(shape))
    check(device, lambda x: x.t() * 1.5, lambda x: x.T * 1.5, x)
    y = data.draw(arrays(data.draw(broadcasts_to(shape))))
    alpha = data.draw(st.sampled_from([1, 2, -0.5]))
    check(device, lambda x, y: x.add(y, alpha=alpha), lambda x, y: x + alpha * y, x, y)
    check(device, lambda x, y: tg.sub(x, y, alpha=alpha), lambda x, y: x - alpha * y, x, y)


@given(data=st.data())
def test_inplace_on_a_non_leaf_is_recorded(device, data):
    shape = data.draw(shapes())
    x = data.draw(arrays(shape))
    y = data.draw(arrays(data.draw(broadcasts_to(shape)), "away0"))
    check(device, lambda x, y: (x * 1).add_(y, alpha=0.5).mul_(y).sub_(x).div_(y), lambda x, y: ((x + 0.5 * y) * y
                                                                                                   - x) / y, x, y)
    check(device, lambda x, y: (x * 1).copy_(y) * x, lambda x, y: np.broadcast_to(y, x.shape) * x, x, y)
    mask = sample(shape, "any", data.draw(st.integers(0, 2**32 - 1))) > 0
    check(device, lambda x: (x * 2).masked_fill_(T(mask, device), 0.5).clamp_(max=1.0),
          lambda x: np.minimum(np.where(mask, 0.5, 2 * x), 1.0), data.draw(arrays(shape, "clamp")))


# ---------------------------------------------------------------- PyTorch's rules
def test_sort_and_topk_return_named_tuples(device):
    x = T(np.array([[3.0, 1.0, 2.0]]), device)
    values, indices = x.sort()
    assert values.tolist() == [[1, 2, 3]] and indices.tolist() == [[1, 2, 0]] and indices.dtype == np.int64
    top = tg.topk(x, 2)
    assert top.values.tolist() == [[3, 2]] and top[1].tolist() == [[0, 2]]
    assert type(top).__name__ == "topk" and type(x.sort()).__name__ == "sort"
    assert x.max(dim=1).tolist() == [3.0]                   # max(dim) stays values only (DESIGN.md)


def test_sort_nan_and_ties_follow_pytorch(device):
    x = T(np.array([1.0, np.nan, 1.0, 0.0]), device)
    assert x.sort(descending=True).indices.tolist() == [1, 0, 2, 3]      # NaN first, ties in index order
    assert x.sort().indices.tolist() == [3, 0, 2, 1]                     # NaN last
    assert x.topk(2).indices.tolist() == [1, 0]


def test_topk_on_a_long_axis_matches_a_full_sort(device):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 400, (3, 1000)).astype(np.float64)          # argpartition's path (n >= 256, 8 k <= n)
    x[0, 5] = np.nan                                                 # NaN counts as the largest value
    for largest in (True, False):
        got = T(x, device).topk(20, largest=largest)
        order = np.argsort(-np.nan_to_num(x, nan=np.inf) if largest else x, axis=-1, kind="stable")[:, :20]
        np.testing.assert_array_equal(got.values.numpy(), np.take_along_axis(x, order, -1))
        idx = got.indices.numpy()                                    # equal values: any of them, each once
        np.testing.assert_array_equal(np.take_along_axis(x, idx, -1), got.values.numpy())
        assert all(len(set(row)) == 20 for row in idx.tolist())
    y = rng.permutation(1000).astype(np.float64)                     # distinct values: the indices are PyTorch's
    np.testing.assert_array_equal(T(y, device).topk(50).indices.numpy(), np.argsort(-y)[:50])


def test_0d_tensors(device):
    x = T(np.array(2.0), device, requires_grad=True)
    assert x.sort().values.item() == 2 and x.sort().indices.shape == () and x.topk(1).values.shape == ()
    assert x.cumsum(0).item() == 2 and x.flip(0).item() == 2 and x.roll(1).item() == 2 and x.t() is x
    assert x.gather(0, T(np.array(0), device)).item() == 2
    with pytest.raises(IndexError, match="size: dim 0 .*0-d"):
        x.size(0)


def test_size_numel_dim_contiguous_clone(device):
    x = T(np.zeros((2, 3, 4)), device)
    assert x.size() == (2, 3, 4) and x.size(-1) == 4 and x.numel() == 24 and tg.numel(x) == 24 and x.dim() == 3
    assert x.contiguous().shape == x.shape
    with pytest.raises(IndexError, match=r"size: dim 3 is out of range .*3 dimensions"):
        x.size(3)
    c = tg.clone(x)
    c.fill_(1.0)
    assert not x.numpy().any()


def test_integer_results(device):
    i = T(np.array([7, -7]), device)
    assert i.div(2, rounding_mode="trunc").tolist() == [3, -3] and i.div(2, rounding_mode="floor").tolist() == [3, -4]
    assert i.div(2, rounding_mode="floor").dtype == np.int64 and i.div(2).dtype == np.float32
    assert T(np.array([True, True]), device).cumsum(0).dtype == np.int64
    assert tg.tril(T(np.ones((2, 2), dtype=np.int64), device)).tolist() == [[1, 0], [1, 1]]
    assert tg.add(i, 1, alpha=2).tolist() == [9, -5] and tg.mul(i, 2).tolist() == [14, -14]


def test_rounded_div_has_zero_gradient(device):
    x = T(np.array([1.5, -2.5]), device, requires_grad=True)
    x.div(0.7, rounding_mode="floor").sum().backward()
    assert x.grad.tolist() == [0, 0]


def test_inplace_on_a_leaf_that_requires_grad_is_refused(device):
    w = T(np.ones((2, 3)), device, requires_grad=True)
    for op in (lambda: w.add_(1), lambda: w.zero_(), lambda: w.normal_(), lambda: w.copy_(w * 2),
               lambda: w.masked_fill_(w > 0, 0.0), lambda: w.clamp_(0, 1), lambda: w.uniform_()):
        with pytest.raises(RuntimeError, match=r"a leaf Variable that requires grad is being used in an in-place "
                                               r"operation \(a tensor of shape \(2, 3\)\).*no_grad"):
            op()
    assert w.numpy().tolist() == [[1, 1, 1]] * 2


def test_inplace_under_no_grad_writes_the_data_and_views(device):
    w = T(np.ones((2, 3)), device, requires_grad=True)
    with tg.no_grad():
        w[0].fill_(5.0)
        w[1, 2].zero_()
        w.mul_(2).add_(T(np.array([1.0, 2.0, 3.0]), device), alpha=-1)
    assert w.tolist() == [[9, 8, 7], [1, 0, -3]] and w.is_leaf and w.requires_grad and w.grad_fn is None
    x = tg.zeros(3, device=device)
    x[1:].copy_(T(np.array([4.0, 5.0]), device))         # nothing requires grad: a view writes its tensor
    assert x.tolist() == [0, 4, 5]


def test_inplace_on_a_view_while_recording_is_refused(device):
    y = T(np.ones(3), device, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"fill_: this tensor of shape \(\) is a view"):
        y[0].fill_(0.0)
    with pytest.raises(RuntimeError, match="add_: this tensor of shape .* is a view"):
        y.reshape(3, 1).add_(1)
    z = y[np.array([0, 0])]                                  # an integer-array index copies: allowed
    z.add_(1)
    assert z.tolist() == [3, 3] and y.tolist() == [2, 2, 2]


def test_copy_into_a_plain_tensor_makes_it_require_grad(device):
    v = T(np.array([1.0, 2.0]), device, requires_grad=True)
    buf = tg.zeros(2, 2, device=device)
    buf.copy_(v)                                              # as in PyTorch: buf joins the graph
    assert buf.requires_grad and buf.grad_fn is not None
    (buf * buf).sum().backward()
    assert v.grad.tolist() == [4, 8]


def test_inplace_dtype_rules(device):
    i = T(np.arange(3), device)
    with pytest.raises(RuntimeError, match="add_: result type float32 can't be cast to the tensor's dtype int64"):
        i.add_(0.5)
    with pytest.raises(RuntimeError, match=r"in-place /= \(div_\): result type float32"):
        i /= 2
    i += 2
    assert i.tolist() == [2, 3, 4] and i.dtype == np.int64
    f = T(np.zeros(2, dtype=np.float32), device)
    f.add_(T(np.array([0.5, 1.5]), device))                # a float64 operand: stays float32
    assert f.dtype == np.float32 and f.tolist() == [0.5, 1.5]
    assert T(np.zeros(2, dtype=np.int64), device).fill_(2.7).tolist() == [2, 2]     # fill_ / copy_ cast, as PyTorch
    with pytest.raises(RuntimeError, match="cannot write into this tensor of shape"):
        tg.ones(3, device=device).expand(2, 3).add_(1)
    with pytest.raises(RuntimeError, match=r"mul_: shape \(4,\) cannot be broadcast to \(2, 3\)"):
        tg.ones(2, 3, device=device).mul_(tg.ones(4, device=device))


def test_random_inplace_fills(device):
    g = tg.Generator(device).manual_seed(7)
    a = tg.empty(2000, device=device).normal_(1.0, 0.5, generator=g)
    g.manual_seed(7)
    b = tg.empty(2000, device=device).normal_(1.0, 0.5, generator=g)
    assert np.array_equal(a.numpy(), b.numpy())
    assert abs(a.numpy().mean() - 1.0) < 0.05 and abs(a.numpy().std() - 0.5) < 0.05
    u = tg.empty(2000, dtype=tg.float16, device=device).uniform_(-2, 3, generator=g)
    assert u.dtype == np.float16 and -2 <= u.numpy().min() and u.numpy().max() <= 3 and u.numpy().std() > 1
    tg.manual_seed(3)
    w = tg.empty(4, 5, device=device).normal_(0.0, 0.02)
    tg.manual_seed(3)
    from tinygrad_tf.nn import init
    ref = init.normal_(tg.empty(4, 5, device=device), 0.0, 0.02)
    assert np.array_equal(w.numpy(), ref.numpy())                      # the same draws as nn.init.normal_
    with pytest.raises(TypeError, match="normal_: only floating-point"):
        tg.zeros(2, dtype=tg.int64, device=device).normal_()


def test_scatter_one_hot_inplace(device):
    hot = tg.zeros(3, 4, device=device).scatter_(1, T(np.array([[2], [0], [3]]), device), 1.0)
    assert hot.tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 1]]


# ---------------------------------------------------------------- errors name the op and the shapes
@pytest.mark.parametrize("call, error, match", [
    (lambda x: x.tril(), RuntimeError, r"tril: input tensor must have at least 2 dimensions, got shape \(3,\)"),
    (lambda x: x.topk(4), RuntimeError, r"topk: k=4 is out of range for dim -1 of size 3"),
    (lambda x: x.sort(dim=1), IndexError, r"sort: dim 1 is out of range for a tensor with 1 dimensions"),
    (lambda x: x.flip(0, 0), RuntimeError, r"flip: a dim appears more than once in dims \(0, 0\)"),
    (lambda x: x.roll((1, 2), 0), RuntimeError, r"roll: shifts \(1, 2\) and dims \(0,\) must have the same length"),
    (lambda x: x.cumsum(2), IndexError, r"cumsum: dim 2 is out of range"),
    (lambda x: x.gather(0, [[0]]), RuntimeError,
     r"gather: index of shape \(1, 1\) must have as many dimensions as the tensor of shape \(3,\)"),
    (lambda x: x.gather(0, [3]), IndexError, r"gather: index 3 is out of bounds for dim 0 with size 3"),
    (lambda x: x.gather(0, [-1]), IndexError, r"gather: index -1 is out of bounds"),
    (lambda x: x.gather(0, np.array([0.0])), TypeError, r"gather: index must be an integer tensor"),
    (lambda x: x.scatter_add(0, [0], 1.0), TypeError, r"scatter_add: src must be a Tensor, got float"),
    (lambda x: x.scatter(0, [0], tg.ones(1, dtype=tg.float16)), TypeError, r"scatter: src has dtype float16"),
    (lambda x: x.scatter(0, [0, 1], tg.ones(1)), RuntimeError,
     r"scatter: index of shape \(2,\) is longer than src of shape \(1,\) along dim 0"),
    (lambda x: tg.ones(2, 3).gather(1, [[0], [1], [2]]), RuntimeError,
     r"gather: index of shape \(3, 1\) is longer than the tensor of shape \(2, 3\) along dim 0"),
    (lambda x: tg.ones(2, 3, 4).t(), RuntimeError,
     r"t\(\) expects a tensor with <= 2 dimensions, but this one has shape \(2, 3, 4\)"),
    (lambda x: x.div(2, rounding_mode="round"), ValueError, r"div: rounding_mode must be None, 'trunc' or 'floor'"),
    (lambda x: tg.arange(3).div(0, rounding_mode="floor"), ZeroDivisionError, r"div: integer division by zero"),
    (lambda x: tg.arange(3).add(1, alpha=0.5), RuntimeError, r"add: for integer tensors \(here int64\), alpha"),
    (lambda x: x.fill_(tg.ones(2)), RuntimeError, r"fill_: value must be a number or a 0-d tensor"),
    (lambda x: tg.einsum("ij,jk->ik", x, x), ValueError,
     r"einsum: operand 0 has shape \(3,\) \(1 dims\) but its subscripts 'ij' name 2"),
    (lambda x: tg.einsum("ij,jk", tg.ones(2, 3), tg.ones(4, 5)), ValueError,
     r"einsum: subscript 'j' has size 4 in operand 1 \(shape \(4, 5\)\) but size 3"),
    (lambda x: tg.einsum("i,i", x), ValueError,
     r"einsum: the equation 'i,i' has subscripts for 2 operand\(s\), but 1 tensor\(s\) were given"),
    (lambda x: tg.einsum("i->j", x), ValueError, r"einsum: output subscript 'j' of 'i->j' is in no operand"),
    (lambda x: tg.einsum("i->ii", x), ValueError, r"einsum: output subscript 'i' appears twice"),
    (lambda x: tg.einsum("i2", x), ValueError, r"einsum: the character '2'"),
    (lambda x: tg.einsum("i", [1.0, 2.0, 3.0]), TypeError, r"einsum: operand 0 is a float, expected a Tensor"),
])
def test_errors_name_the_op_and_shapes(call, error, match):
    with pytest.raises(error, match=match):
        call(tg.ones(3))


def test_module_level_twins_exist():
    for name in ("tril triu topk sort argsort roll flip cumsum gather scatter scatter_add clone t add sub mul div "
                 "numel einsum").split():
        assert callable(getattr(tg, name)), name
