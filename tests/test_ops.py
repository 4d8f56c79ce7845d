"""Every differentiable op: forward against NumPy (float32 and float64, dtype preserved) and
gradient against float64 central differences (tg.gradcheck), over hypothesis-drawn shapes,
broadcastable pairs, bounded domains and non-contiguous inputs.

These tests take the ``device`` fixture: ``python -m pytest --device cuda`` runs them on the GPU.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import (arrays, basic_indices, broadcastable_shapes, broadcasts_to, reduce_dims,
                        repeated_int_indices, sample, shapes)

import tinygrad_tf as tg
from tinygrad_tf import nn_ops

TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}


def T(arr, device, requires_grad=False):
    return tg.Tensor(arr, device=device, requires_grad=requires_grad)


def _tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def check(device, fn, ref, *inputs, grad=True, tol=None):
    """fn (on Tensors) against ref (on NumPy arrays): values in float32 and float64 with the dtype kept,
    then gradcheck in float64. ``inputs`` are float64 NumPy arrays (possibly non-contiguous)."""
    for dt in (np.float32, np.float64):
        xs = [x.astype(dt) for x in inputs]                      # astype keeps the (non-contiguous) layout
        outs = _tuple(fn(*[T(x, device) for x in xs]))
        refs = _tuple(ref(*[x.astype(np.float64) for x in xs]))  # the reference, in float64 on the same values
        assert len(outs) == len(refs)
        for o, r in zip(outs, refs):
            assert o.dtype == dt, f"{dt.__name__} in, {o.dtype} out"
            assert o.device == device
            assert o.shape == np.shape(r)
            np.testing.assert_allclose(o.numpy(), r, **(tol or TOL)[dt])
    if grad:
        tg.gradcheck(fn, *[T(x, device, requires_grad=True) for x in inputs])


# ---------------------------------------------------------------- references
_erf = np.vectorize(math.erf, otypes=[np.float64])


def np_gelu(x):
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def np_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    y = m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))
    return y if keepdims else np.squeeze(y, axis=axis)


def np_log_softmax(x, axis):
    return x - np_logsumexp(x, axis, keepdims=True)


# ---------------------------------------------------------------- elementwise, one input
UNARY = {
    "neg": (lambda x: -x, lambda x: -x, "any"),
    "exp": (lambda x: x.exp(), np.exp, "any"),
    "log": (lambda x: x.log(), np.log, "positive"),
    "sqrt": (lambda x: x.sqrt(), np.sqrt, "positive"),
    "abs": (lambda x: x.abs(), np.abs, "away0"),
    "tanh": (lambda x: x.tanh(), np.tanh, "any"),
    "sigmoid": (lambda x: x.sigmoid(), np_sigmoid, "any"),
    "relu": (lambda x: x.relu(), lambda x: np.maximum(x, 0), "away0"),
    "gelu": (lambda x: x.gelu(), np_gelu, "any"),
    "gelu_tanh": (lambda x: x.gelu(approximate="tanh"), np_gelu_tanh, "any"),
    "silu": (lambda x: x.silu(), lambda x: x * np_sigmoid(x), "any"),
    "sin": (lambda x: x.sin(), np.sin, "any"),
    "cos": (lambda x: x.cos(), np.cos, "any"),
    "clamp": (lambda x: x.clamp(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), "clamp"),
    "clamp_min": (lambda x: x.clamp(min=-0.5), lambda x: np.maximum(x, -0.5), "clamp"),
    "clamp_max": (lambda x: x.clamp(max=0.5), lambda x: np.minimum(x, 0.5), "clamp"),
    "pow 2": (lambda x: x ** 2, lambda x: x ** 2, "any"),
    "pow 3": (lambda x: x.pow(3), lambda x: x ** 3, "any"),
    "pow 0.5": (lambda x: x ** 0.5, np.sqrt, "positive"),
    "pow 2.5": (lambda x: x ** 2.5, lambda x: x ** 2.5, "positive"),
    "pow -1": (lambda x: x ** -1, lambda x: 1 / x, "away0"),
    "scalar ** tensor": (lambda x: 2.0 ** x, lambda x: 2.0 ** x, "any"),
    "scalar ** tensor (0.5)": (lambda x: 0.5 ** x, lambda x: 0.5 ** x, "any"),
    "scalar - tensor": (lambda x: 1.5 - x, lambda x: 1.5 - x, "any"),
    "scalar / tensor": (lambda x: 1.5 / x, lambda x: 1.5 / x, "away0"),
    "tensor * scalar": (lambda x: x * 2.5 + 1, lambda x: x * 2.5 + 1, "any"),
    "tg.exp twin": (lambda x: tg.exp(x), np.exp, "any"),
    "tg.sigmoid twin": (lambda x: tg.sigmoid(x), np_sigmoid, "any"),
}


@pytest.mark.parametrize("name", list(UNARY))
@given(data=st.data())
def test_unary(device, name, data):
    fn, ref, domain = UNARY[name]
    x = data.draw(arrays(data.draw(shapes()), domain))
    check(device, fn, ref, x)


# ---------------------------------------------------------------- elementwise, two inputs (broadcast)
BINARY = {
    "add": (lambda a, b: a + b, np.add, "any", "any"),
    "sub": (lambda a, b: a - b, np.subtract, "any", "any"),
    "mul": (lambda a, b: a * b, np.multiply, "any", "any"),
    "div": (lambda a, b: a / b, np.divide, "any", "away0"),
    "pow": (lambda a, b: a ** b, np.power, "positive", "any"),
    "maximum": (lambda a, b: a.maximum(b), np.maximum, "grid0", "grid1"),
    "minimum": (lambda a, b: a.minimum(b), np.minimum, "grid1", "grid0"),
    "tg.maximum twin": (lambda a, b: tg.maximum(a, b), np.maximum, "grid1", "grid0"),
    "tg.minimum twin": (lambda a, b: tg.minimum(a, b), np.minimum, "grid0", "grid1"),
}


@pytest.mark.parametrize("name", list(BINARY))
@given(data=st.data())
def test_binary_broadcast(device, name, data):
    fn, ref, da, db = BINARY[name]
    (sa, sb), _ = data.draw(broadcastable_shapes())
    check(device, fn, ref, data.draw(arrays(sa, da)), data.draw(arrays(sb, db)))


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_maximum_minimum_ties_split_evenly(device, op):
    a = T(np.array([1.0, 2.0, 3.0]), device, requires_grad=True)
    b = T(np.array([1.0, 0.0, 5.0]), device, requires_grad=True)
    getattr(a, op)(b).sum().backward()
    win_a = [1.0, 0.0] if op == "maximum" else [0.0, 1.0]     # at index 1 and 2
    np.testing.assert_array_equal(a.grad.numpy(), [0.5] + win_a)
    np.testing.assert_array_equal(b.grad.numpy(), [0.5] + [1 - w for w in win_a])
    x = T(np.array([2.0, -1.0]), device, requires_grad=True)   # the same tensor on both sides
    getattr(x, op)(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


# ---------------------------------------------------------------- matmul
@st.composite
def matmul_shapes(draw):
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    kind = draw(st.sampled_from(["2d@2d", "batched", "1d@2d", "2d@1d", "1d@1d", "3d@2d", "2d@3d",
                                 "1d@3d", "3d@1d"]))
    if kind == "batched":                  # batch axes broadcast (size 1 / missing leading axes)
        (ba, bb), _ = draw(broadcastable_shapes(max_dims=2, max_side=3))
        return ba + (n, k), bb + (k, m)
    b = draw(st.integers(1, 3))
    return {"2d@2d": ((n, k), (k, m)), "1d@2d": ((k,), (k, m)), "2d@1d": ((n, k), (k,)), "1d@1d": ((k,), (k,)),
            "3d@2d": ((b, n, k), (k, m)), "2d@3d": ((n, k), (b, k, m)), "1d@3d": ((k,), (b, k, m)),
            "3d@1d": ((b, n, k), (k,))}[kind]


@given(data=st.data())
def test_matmul(device, data):
    sa, sb = data.draw(matmul_shapes())
    check(device, lambda a, b: a @ b, np.matmul, data.draw(arrays(sa)), data.draw(arrays(sb)))


@given(data=st.data())
def test_matmul_method_and_twin(device, data):
    sa, sb = data.draw(matmul_shapes())
    a, b = data.draw(arrays(sa)), data.draw(arrays(sb))
    check(device, lambda a, b: tg.matmul(a, b) + a.matmul(b), lambda a, b: 2 * np.matmul(a, b), a, b)


# ---------------------------------------------------------------- reductions
def _np_axis(dim, ndim):
    """NumPy's spelling of ``dim`` (a 0-d tensor accepts dim 0 / -1, as PyTorch; NumPy wants None)."""
    if ndim == 0:
        return None
    return tuple(dim) if isinstance(dim, (tuple, list)) else dim


def _count(shape, dim):
    if dim is None:
        return int(np.prod(shape, dtype=np.int64))
    axes = (dim,) if isinstance(dim, int) else dim
    return int(np.prod([shape[a] for a in axes], dtype=np.int64)) if shape else 1


REDUCTIONS = {
    "sum": (lambda x, d, k: x.sum(dim=d, keepdim=k), lambda x, d, k: np.sum(x, axis=d, keepdims=k), "any"),
    "mean": (lambda x, d, k: x.mean(dim=d, keepdim=k), lambda x, d, k: np.mean(x, axis=d, keepdims=k), "any"),
    "max": (lambda x, d, k: x.max(dim=d, keepdim=k), lambda x, d, k: np.max(x, axis=d, keepdims=k), "distinct"),
    "min": (lambda x, d, k: x.min(dim=d, keepdim=k), lambda x, d, k: np.min(x, axis=d, keepdims=k), "distinct"),
    "logsumexp": (lambda x, d, k: x.logsumexp(dim=d, keepdim=k), lambda x, d, k: np_logsumexp(x, d, k), "any"),
    "tg.sum twin": (lambda x, d, k: tg.sum(x, dim=d, keepdim=k), lambda x, d, k: np.sum(x, axis=d, keepdims=k),
                    "any"),
}


@pytest.mark.parametrize("name", list(REDUCTIONS))
@given(data=st.data())
def test_reduction(device, name, data):
    fn, ref, domain = REDUCTIONS[name]
    shape = data.draw(shapes())
    dim, keepdim = data.draw(reduce_dims(len(shape))), data.draw(st.booleans())
    x = data.draw(arrays(shape, domain))
    check(device, lambda x: fn(x, dim, keepdim), lambda x: ref(x, _np_axis(dim, len(shape)), keepdim), x)


@pytest.mark.parametrize("name", ["var", "std"])
@given(data=st.data())
def test_var_std(device, name, data):
    shape = data.draw(shapes())
    dim, keepdim = data.draw(reduce_dims(len(shape))), data.draw(st.booleans())
    n = _count(shape, dim)
    if name == "std" and n < 2:
        shape, dim = shape + (3,), -1           # std at a zero variance has no gradient
        n = 3
    correction = data.draw(st.sampled_from([0, 1])) if n >= 2 else 0
    x = data.draw(arrays(shape, "distinct"))
    fn = (lambda x: x.var(dim=dim, keepdim=keepdim, correction=correction)) if name == "var" else \
        (lambda x: x.std(dim=dim, keepdim=keepdim, correction=correction))
    npf = np.var if name == "var" else np.std
    check(device, fn, lambda x: npf(x, axis=_np_axis(dim, len(shape)), keepdims=keepdim, ddof=correction), x,
          tol={np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: TOL[np.float64]})


def test_var_std_unbiased_by_default(device):
    x = T(np.array([1.0, 2.0, 4.0]), device)
    assert x.var().item() == pytest.approx(np.var([1, 2, 4], ddof=1))
    assert x.std().item() == pytest.approx(np.std([1, 2, 4], ddof=1))
    assert x.var(unbiased=False).item() == pytest.approx(np.var([1, 2, 4]))


def test_max_min_ties_split_evenly(device):
    x = T(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]), device, requires_grad=True)
    x.max(dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    y = T(np.array([[1.0, 3.0, 1.0]]), device, requires_grad=True)
    y.min().backward()
    np.testing.assert_allclose(y.grad.numpy(), [[0.5, 0, 0.5]])


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "tg.softmax twin", "tg.log_softmax twin"])
@given(data=st.data())
def test_softmax_family(device, name, data):
    shape = data.draw(shapes(min_dims=1))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    fn = {"softmax": lambda x: x.softmax(dim=dim), "log_softmax": lambda x: x.log_softmax(dim=dim),
          "tg.softmax twin": lambda x: tg.softmax(x, dim=dim),
          "tg.log_softmax twin": lambda x: tg.log_softmax(x, dim=dim)}[name]
    ref = (lambda x: np.exp(np_log_softmax(x, dim))) if "log" not in name else (lambda x: np_log_softmax(x, dim))
    check(device, fn, ref, data.draw(arrays(shape, "logits")))


# ---------------------------------------------------------------- shapes
@st.composite
def regrouped(draw, shape):
    """A shape with the same number of elements: the axes shuffled, some merged, maybe a -1."""
    sizes = list(draw(st.permutations(list(shape)))) if shape else []
    merged = []
    for s in sizes:
        if merged and draw(st.booleans()):
            merged[-1] *= s
        else:
            merged.append(s)
    if draw(st.booleans()):
        merged.insert(draw(st.integers(0, len(merged))), 1)
    if merged and draw(st.booleans()):
        merged[draw(st.integers(0, len(merged) - 1))] = -1
    return tuple(merged)


@pytest.mark.parametrize("method", ["reshape", "view"])
@given(data=st.data())
def test_reshape_view(device, method, data):
    shape = data.draw(shapes())
    new = data.draw(regrouped(shape))
    check(device, lambda x: getattr(x, method)(*new) * 1.5, lambda x: x.reshape(new) * 1.5,
          data.draw(arrays(shape)))


@given(data=st.data())
def test_permute_transpose_T(device, data):
    shape = data.draw(shapes(min_dims=1))
    nd = len(shape)
    perm = data.draw(st.permutations(list(range(nd))))
    spelled = [p - nd if data.draw(st.booleans()) else p for p in perm]
    d0, d1 = data.draw(st.integers(-nd, nd - 1)), data.draw(st.integers(-nd, nd - 1))
    x = data.draw(arrays(shape))
    check(device, lambda x: x.permute(*spelled).exp(), lambda x: np.exp(np.transpose(x, perm)), x)
    check(device, lambda x: x.permute(spelled) * 2, lambda x: np.transpose(x, perm) * 2, x)
    check(device, lambda x: x.transpose(d0, d1).sin(), lambda x: np.sin(np.swapaxes(x, d0, d1)), x)
    check(device, lambda x: x.T.cos(), lambda x: np.cos(x.T), x)
    check(device, lambda x: tg.permute(x, *spelled) * 2, lambda x: np.transpose(x, perm) * 2, x)


@given(b=st.integers(1, 3), t=st.integers(1, 4), h=st.integers(1, 4), d=st.integers(1, 3), data=st.data())
def test_split_and_merge_heads(device, b, t, h, d, data):
    """F.split_heads / F.merge_heads (one op each: shape_ops.SplitHeads, MergeHeads) are the reshape + transpose
    they replace in attention, values and gradients, on contiguous and non-contiguous inputs."""
    from tinygrad_tf.nn import functional as F
    x, y = data.draw(arrays((b, t, h * d))), data.draw(arrays((b, h, t, d)))
    check(device, lambda x: F.split_heads(x, h) * 1.5, lambda x: np.transpose(x.reshape(b, t, h, d), (0, 2, 1, 3)) * 1.5,
          x)
    check(device, lambda y: F.merge_heads(y) * 1.5, lambda y: np.transpose(y, (0, 2, 1, 3)).reshape(b, t, h * d) * 1.5,
          y)
    check(device, lambda x: F.merge_heads(F.split_heads(x, h).exp()), np.exp, x)
    # the same numbers and gradients as the two-op path it replaces
    for fused, plain, a in ((lambda x: F.split_heads(x, h), lambda x: x.reshape(b, t, h, d).transpose(1, 2), x),
                            (F.merge_heads, lambda y: y.transpose(1, 2).reshape(b, t, h * d), y)):
        grads = []
        for fn in (fused, plain):
            z = T(a, device, requires_grad=True)
            out = fn(z)
            (out * out).sum().backward()
            grads.append((out.numpy(), z.grad.numpy()))
        np.testing.assert_array_equal(grads[0][0], grads[1][0])
        np.testing.assert_array_equal(grads[0][1], grads[1][1])


def test_split_and_merge_heads_refuse_bad_shapes():
    from tinygrad_tf.nn import functional as F
    with pytest.raises(ValueError, match=r"split_heads: .*\(2, 6\).*n_head=4"):
        F.split_heads(tg.zeros(2, 6), 4)
    with pytest.raises(ValueError, match="split_heads: .*n_head=4"):
        F.split_heads(tg.zeros(1, 2, 6), 4)
    with pytest.raises(ValueError, match="n_head=0"):
        F.split_heads(tg.zeros(1, 2, 6), 0)
    with pytest.raises(ValueError, match=r"merge_heads: expected \(B, H, T, d\), got shape \(2, 6\)"):
        F.merge_heads(tg.zeros(2, 6))


@given(data=st.data())
def test_expand(device, data):
    target = data.draw(shapes())
    src = data.draw(broadcasts_to(target))
    spelled = tuple(-1 if (i >= len(target) - len(src) and src[i - len(target) + len(src)] == s
                           and data.draw(st.booleans())) else s for i, s in enumerate(target))
    check(device, lambda x: x.expand(*spelled) * 1.5, lambda x: np.broadcast_to(x, target) * 1.5,
          data.draw(arrays(src)))


@given(data=st.data())
def test_squeeze_unsqueeze_flatten(device, data):
    shape = data.draw(shapes())
    nd = len(shape)
    x = data.draw(arrays(shape))
    check(device, lambda x: x.squeeze() * 2, lambda x: np.squeeze(x) * 2, x)
    if nd:
        d = data.draw(st.integers(-nd, nd - 1))
        check(device, lambda x: x.squeeze(d) * 2,
              lambda x: (np.squeeze(x, axis=d) if x.shape[d] == 1 else x) * 2, x)
    u = data.draw(st.integers(-nd - 1, nd))
    check(device, lambda x: x.unsqueeze(u) * 2, lambda x: np.expand_dims(x, u) * 2, x)
    check(device, lambda x: tg.unsqueeze(x, u).squeeze(u) * 2, lambda x: x * 2, x)
    if nd:
        s = data.draw(st.integers(0, nd - 1))
        e = data.draw(st.integers(s, nd - 1))
        flat = shape[:s] + (int(np.prod(shape[s:e + 1])),) + shape[e + 1:]
        check(device, lambda x: x.flatten(s, e - nd) * 2, lambda x: x.reshape(flat) * 2, x)
    check(device, lambda x: x.flatten() * 2, lambda x: x.reshape(-1) * 2, x)


@given(data=st.data())
def test_split_chunk(device, data):
    shape = data.draw(shapes(min_dims=1))
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1))
    n = shape[dim]
    size = data.draw(st.integers(1, n))
    x = data.draw(arrays(shape))
    bounds = list(range(size, n, size))
    check(device, lambda x: x.split(size, dim=dim), lambda x: tuple(np.split(x, bounds, axis=dim)), x)
    sections = data.draw(st.lists(st.integers(1, 2), min_size=1, max_size=n).filter(lambda s: sum(s) <= n))
    sections = sections + [n - sum(sections)] if sum(sections) < n else sections
    cuts = list(np.cumsum(sections)[:-1])
    check(device, lambda x: x.split(sections, dim=dim), lambda x: tuple(np.split(x, cuts, axis=dim)), x)
    chunks = data.draw(st.integers(1, n))
    step = -(-n // chunks)
    check(device, lambda x: x.chunk(chunks, dim=dim),
          lambda x: tuple(np.split(x, list(range(step, n, step)), axis=dim)), x)


@given(data=st.data())
def test_cat_stack(device, data):
    shape = data.draw(shapes(min_dims=1))
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1))
    k = data.draw(st.integers(1, 3))
    sizes = [data.draw(st.integers(1, 3)) for _ in range(k)]
    cat_shapes = [shape[:dim % nd] + (s,) + shape[dim % nd + 1:] for s in sizes]
    xs = [data.draw(arrays(s)) for s in cat_shapes]
    check(device, lambda *ts: tg.cat(list(ts), dim=dim), lambda *a: np.concatenate(a, axis=dim), *xs)
    sdim = data.draw(st.integers(-nd - 1, nd))
    ys = [data.draw(arrays(shape)) for _ in range(k)]
    check(device, lambda *ts: tg.stack(ts, dim=sdim), lambda *a: np.stack(a, axis=sdim), *ys)


@given(data=st.data())
def test_where(device, data):
    (sc, sa, sb), _ = data.draw(broadcastable_shapes(n=3))
    cond = sample(sc, "any", data.draw(st.integers(0, 2**32 - 1))) > 0
    a, b = data.draw(arrays(sa)), data.draw(arrays(sb))
    check(device, lambda a, b: tg.where(T(cond, device), a, b), lambda a, b: np.where(cond, a, b), a, b)
    check(device, lambda a: tg.where(cond, a, 0.5), lambda a: np.where(cond, a, 0.5), a)
    check(device, lambda b: tg.where(cond, -1.0, b), lambda b: np.where(cond, -1.0, b), b)


@given(data=st.data())
def test_masked_fill(device, data):
    shape = data.draw(shapes())
    mshape = data.draw(broadcasts_to(shape))
    mask = sample(mshape, "any", data.draw(st.integers(0, 2**32 - 1))) > 0
    value = data.draw(st.sampled_from([0.0, -1.5, float("-inf")]))
    x = data.draw(arrays(shape))
    check(device, lambda x: x.masked_fill(T(mask, device), value), lambda x: np.where(mask, value, x), x,
          grad=value != float("-inf"))
    check(device, lambda x: tg.masked_fill(x, mask, 2.0) * 3, lambda x: np.where(mask, 2.0, x) * 3, x)


# ---------------------------------------------------------------- indexing
@given(data=st.data())
def test_getitem_basic(device, data):
    shape = data.draw(shapes())
    index = data.draw(basic_indices(shape))
    check(device, lambda x: x[index] * 1.5, lambda x: x[index] * 1.5, data.draw(arrays(shape)))


@given(data=st.data())
def test_getitem_repeated_integer_arrays_accumulate(device, data):
    shape = data.draw(shapes(min_dims=1))
    idx = data.draw(repeated_int_indices(shape[0]))
    x = data.draw(arrays(shape))
    check(device, lambda x: x[idx] * 1.5, lambda x: x[idx] * 1.5, x)
    check(device, lambda x: x[T(idx, device)] * 1.5, lambda x: x[idx] * 1.5, x)        # a tensor index
    check(device, lambda x: x[idx.tolist()].exp(), lambda x: np.exp(x[idx]), x)        # a list index
    if len(shape) >= 2:
        idx1 = data.draw(repeated_int_indices(shape[1]))
        check(device, lambda x: x[:, idx1] * 1.5, lambda x: x[:, idx1] * 1.5, x)       # slice + array
        check(device, lambda x: x[idx, 1:] * 1.5, lambda x: x[idx, 1:] * 1.5, x)       # array + slice
        last = data.draw(repeated_int_indices(shape[-1]))
        check(device, lambda x: x[..., last] * 1.5, lambda x: x[..., last] * 1.5, x)   # Ellipsis + array
        pair = idx[:2], idx1[:2]
        check(device, lambda x: x[pair] * 1.5, lambda x: x[pair] * 1.5, x)             # two arrays together
    if len(shape) >= 3:
        idx2 = data.draw(repeated_int_indices(shape[2], max_len=len(idx)))
        idx2 = np.resize(idx2, idx.shape)
        check(device, lambda x: x[idx, :, idx2] * 1.5, lambda x: x[idx, :, idx2] * 1.5, x)  # split by a slice


def test_getitem_repeated_index_gradient_counts(device):
    x = T(np.zeros(4), device, requires_grad=True)
    x[np.array([0, 0, 3, 0, -1])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3, 0, 0, 2])


@given(data=st.data())
def test_getitem_bool_mask(device, data):
    shape = data.draw(shapes(min_dims=1))
    k = data.draw(st.integers(1, len(shape)))
    mask = sample(shape[:k], "any", data.draw(st.integers(0, 2**32 - 1))) > 0
    x = data.draw(arrays(shape))
    check(device, lambda x: x[mask] * 1.5, lambda x: x[mask] * 1.5, x)
    check(device, lambda x: x[T(mask, device)].exp(), lambda x: np.exp(x[mask]), x)


# ---------------------------------------------------------------- nn ops
@given(data=st.data())
def test_embedding(device, data):
    v, d = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 4))
    id_shape = data.draw(shapes(max_dims=3))
    ids = sample(id_shape, "any", data.draw(st.integers(0, 2**32 - 1)))
    ids = np.floor((ids + 2) / 4 * v).clip(0, v - 1).astype(np.int64)
    check(device, lambda w: nn_ops.Embedding.apply(w, ids), lambda w: w[ids], data.draw(arrays((v, d))))
    check(device, lambda w: nn_ops.Embedding.apply(w, T(ids, device)), lambda w: w[ids], data.draw(arrays((v, d))))


def test_embedding_repeated_ids_accumulate(device):
    w = T(np.zeros((3, 2)), device, requires_grad=True)
    nn_ops.Embedding.apply(w, np.array([[0, 2], [0, 0]])).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[3, 3], [0, 0], [1, 1]])


def np_cross_entropy(x, t, ignore_index, s, reduction):
    logp = np_log_softmax(x, 1)
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    loss = -(1 - s) * logp[np.arange(len(t)), safe] - s * logp.mean(axis=1)
    loss = loss * valid
    return {"none": loss, "sum": loss.sum(), "mean": loss.sum() / valid.sum()}[reduction]


@given(data=st.data())
def test_cross_entropy(device, data):
    n, c = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    ignore_index = data.draw(st.sampled_from([-100, 0]))
    targets = data.draw(st.lists(st.integers(-1, c - 1), min_size=n, max_size=n))
    t = np.array([ignore_index if v == -1 else v for v in targets], dtype=np.int64)
    if ignore_index == 0 and c > 1:
        t[0] = c - 1                                  # at least one row counts
    elif ignore_index == -100:
        t[0] = max(t[0], 0)
    if not (t != ignore_index).any():                 # c == 1 with ignore_index 0: every row ignored
        t[:], ignore_index = 0, -100
    s = data.draw(st.sampled_from([0.0, 0.1, 0.3]))
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
    check(device, lambda x: nn_ops.CrossEntropy.apply(x, t, ignore_index, s, reduction),
          lambda x: np_cross_entropy(x, t, ignore_index, s, reduction), data.draw(arrays((n, c), "logits")))


def test_cross_entropy_all_ignored_mean_is_nan(device):
    x = T(np.zeros((2, 3)), device)
    out = nn_ops.CrossEntropy.apply(x, np.array([-100, -100]), -100, 0.0, "mean")
    assert np.isnan(out.item())


def np_layer_norm(x, w, b, k, eps):
    axes = tuple(range(-k, 0))
    y = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    return y if w is None else y * w + b


def np_rms_norm(x, w, eps):
    y = x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps)
    return y if w is None else y * w


def _layer_norm_composite(x, w, b, k, eps):
    dims = tuple(range(-k, 0))
    xc = x - x.mean(dim=dims, keepdim=True)
    y = xc / ((xc * xc).mean(dim=dims, keepdim=True) + eps).sqrt()
    y = y if w is None else y * w
    return y if b is None else y + b


def _rms_norm_composite(x, w, eps):
    y = x / ((x * x).mean(dim=-1, keepdim=True) + eps).sqrt()
    return y if w is None else y * w


def _fused_vs_composite(device, fused, composite, inputs):
    """Forward and gradient (for a random upstream gradient) of the fused op equal the composite's."""
    ts1 = [T(a, device, requires_grad=True) for a in inputs]
    ts2 = [T(a, device, requires_grad=True) for a in inputs]
    y1, y2 = fused(*ts1), composite(*ts2)
    assert y1.dtype == y2.dtype == inputs[0].dtype
    np.testing.assert_allclose(y1.numpy(), y2.numpy(), rtol=1e-9, atol=1e-10)
    g = np.random.default_rng(0).standard_normal(y1.shape)
    y1.backward(T(g, device))
    y2.backward(T(g, device))
    for a, b in zip(ts1, ts2):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-8, atol=1e-9)


@given(data=st.data())
def test_layer_norm(device, data):
    k = data.draw(st.integers(1, 2))
    shape = data.draw(shapes(min_dims=k))
    shape = shape[:-1] + (max(shape[-1], 2),)        # at least two values to normalise
    affine = data.draw(st.booleans())
    x = data.draw(arrays(shape))
    eps = 1e-5
    if affine:
        w, b = data.draw(arrays(shape[-k:])), data.draw(arrays(shape[-k:]))
        fused = lambda x, w, b: nn_ops.LayerNorm.apply(x, w, b, k, eps)          # noqa: E731
        composite = lambda x, w, b: _layer_norm_composite(x, w, b, k, eps)       # noqa: E731
        inputs = (x, w, b)
    else:
        fused = lambda x: nn_ops.LayerNorm.apply(x, None, None, k, eps)          # noqa: E731
        composite = lambda x: _layer_norm_composite(x, None, None, k, eps)       # noqa: E731
        inputs = (x,)
    _fused_vs_composite(device, fused, composite, inputs)
    check(device, fused, lambda x, w=None, b=None: np_layer_norm(x, w, b, k, eps), *inputs)


@given(data=st.data())
def test_rms_norm(device, data):
    shape = data.draw(shapes(min_dims=1))
    affine = data.draw(st.booleans())
    x = data.draw(arrays(shape))
    eps = 1e-6
    if affine:
        fused = lambda x, w: nn_ops.RMSNorm.apply(x, w, eps)       # noqa: E731
        composite = lambda x, w: _rms_norm_composite(x, w, eps)   # noqa: E731
        inputs = (x, data.draw(arrays(shape[-1:])))
    else:
        fused = lambda x: nn_ops.RMSNorm.apply(x, None, eps)       # noqa: E731
        composite = lambda x: _rms_norm_composite(x, None, eps)   # noqa: E731
        inputs = (x,)
    _fused_vs_composite(device, fused, composite, inputs)
    check(device, fused, lambda x, w=None: np_rms_norm(x, w, eps), *inputs)


@given(data=st.data())
def test_dropout(device, data):
    shape = data.draw(shapes(min_dims=1))
    p = data.draw(st.sampled_from([0.0, 0.25, 0.5, 0.9]))
    seed = data.draw(st.integers(0, 1000))
    x_np = data.draw(arrays(shape, "away0"))

    def drop(x):
        tg.manual_seed(seed)
        return nn_ops.Dropout.apply(x, p)

    x = T(x_np, device, requires_grad=True)
    y = drop(x)
    assert y.dtype == x.dtype
    np.testing.assert_array_equal(drop(T(x_np, device)).numpy(), y.numpy())    # same seed, same mask
    kept = y.numpy() != 0
    np.testing.assert_allclose(y.numpy(), np.where(kept, x_np / (1 - p), 0), rtol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / (1 - p), rtol=1e-12)   # gradient = mask / (1 - p)
    tg.gradcheck(drop, T(x_np, device, requires_grad=True))
    y32 = drop(T(x_np.astype(np.float32), device))
    assert y32.dtype == np.float32
    np.testing.assert_array_equal(y32.numpy() != 0, kept)


def test_dropout_seeds_differ_and_rate_is_right(device):
    tg.manual_seed(1)
    x = tg.ones(200, 50, device=device)
    a = nn_ops.Dropout.apply(x, 0.3).numpy()
    b = nn_ops.Dropout.apply(x, 0.3).numpy()
    assert not np.array_equal(a, b)                  # the generator moves on
    assert abs((a == 0).mean() - 0.3) < 0.02
    assert np.all(nn_ops.Dropout.apply(x, 1.0).numpy() == 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_erf_fallback_matches_math_erf(dtype):
    """Exact GELU uses SciPy's erf when installed, else a from-scratch series: both must be right."""
    from tinygrad_tf import backend
    x = np.concatenate([np.linspace(-7, 7, 281), [0.0, 2.4999, 2.5, 2.5001, -2.5, 30.0, -30.0]]).astype(dtype)
    ref = _erf(x.astype(np.float64))
    for out in (backend._erf_series(x, np), backend.erf(x)):
        assert out.dtype == dtype
        np.testing.assert_allclose(out, ref, rtol=1e-6 if dtype == np.float32 else 1e-13, atol=1e-15)


@given(data=st.data())
def test_strategies_draw_what_they_promise(data):
    (sa, sb), out = data.draw(broadcastable_shapes())
    assert np.broadcast_shapes(sa, sb) == out and len(out) <= 4 and all(1 <= s <= 4 for s in out)
    shape = data.draw(shapes(min_dims=2))
    x = sample(shape, "away0", seed=1, contiguous=False)
    assert x.shape == shape and np.all(np.abs(x) >= 0.1)
    if sum(s > 1 for s in shape) >= 2:
        assert not x.flags.c_contiguous                 # a transposed view, as promised
    np.testing.assert_array_equal(x, sample(shape, "away0", seed=1))   # same values either way
    assert np.all(sample(shape, "positive", seed=2) >= 0.5)
    d = sample(shape, "distinct", seed=3).ravel()
    assert len(d) < 2 or np.min(np.diff(np.sort(d))) >= 0.049
    assert np.all(np.abs(sample(shape, "grid0", 4)[..., None] - sample(shape, "grid1", 5)[..., None]) >= 0.099)
    c = sample(shape, "clamp", seed=6)
    assert np.all(np.abs(np.abs(c) - 0.5) >= 0.0499)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (1,), (3, 4)])
def test_erf_without_scipy_matches_math_erf(monkeypatch, dtype, shape):
    """CI installs no SciPy: the from-scratch erf paths (float32 fit, float64 series) must work for every shape."""
    import math

    from tinygrad_tf import backend
    monkeypatch.setattr(backend, "_SCIPY_ERF", [None])
    x = np.asarray(np.random.default_rng(0).normal(scale=2.0, size=shape), dtype=dtype)
    got = np.asarray(backend.erf(x))
    want = np.vectorize(math.erf)(x.astype(np.float64))
    assert got.shape == x.shape and got.dtype == dtype
    np.testing.assert_allclose(got, want, atol=1e-6 if dtype == np.float32 else 1e-13)
    y = tg.tensor(x, requires_grad=True).gelu()          # exact GELU end to end
    assert y.shape == shape
