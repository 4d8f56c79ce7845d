"""Tensor creation, dtypes, conversion methods, operators and the module-level twins."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays, shapes

import tinygrad_tf as tg
from tinygrad_tf import Tensor

FLOATS = [tg.float32, tg.float64]


# ---------------------------------------------------------------- creation
def test_tensor_from_python_and_numpy(device):
    assert tg.tensor([[1.0, 2.0]], device=device).dtype == np.float32       # Python floats: float32
    assert tg.tensor(3.0, device=device).dtype == np.float32
    assert tg.tensor([1, 2], device=device).dtype == np.int64              # Python ints: int64
    assert tg.tensor([True, False], device=device).dtype == np.bool_
    assert tg.tensor(np.zeros(2), device=device).dtype == np.float64       # a NumPy array keeps its dtype
    assert tg.tensor(np.zeros(2, np.float32), device=device).dtype == np.float32
    assert tg.tensor(np.zeros(2, np.int32), device=device).dtype == np.int32
    assert Tensor([1.0], device=device).dtype == np.float32
    t = tg.tensor([[1.0, 2.0], [3.0, 4.0]], device=device, requires_grad=True)
    assert t.shape == (2, 2) and t.ndim == 2 and t.requires_grad and t.is_leaf and t.grad_fn is None
    assert t.device == device and t.numel() == 4 and len(t) == 2 and t.size() == (2, 2) and t.size(-1) == 2


def test_tensor_copies_but_Tensor_shares(device):
    a = np.ones(3)
    t = tg.tensor(a)
    a[0] = 5
    assert t.numpy()[0] == 1
    s = Tensor(a)
    assert s.numpy()[0] == 5


@pytest.mark.parametrize("spelling", ["float64", np.float64, tg.float64, np.dtype("float64"), tg.double])
def test_dtype_spellings(device, spelling):
    assert tg.tensor([1.0], dtype=spelling, device=device).dtype == np.float64
    assert tg.zeros(2, dtype=spelling, device=device).dtype == np.float64
    assert tg.tensor([1.0], device=device).to(spelling).dtype == np.float64


def test_dtype_aliases():
    assert tg.float32 == np.float32 and tg.float64 == np.float64 and tg.float16 == np.float16
    assert tg.int64 == np.int64 and tg.bool == np.bool_ and tg.long == np.int64 and tg.half == np.float16
    assert tg.float == np.float32
    with pytest.raises(TypeError, match="unknown dtype"):
        tg.zeros(2, dtype="floaty")


@pytest.mark.parametrize("dtype", [None, tg.float32, tg.float64, tg.float16, tg.int64])
def test_factories(device, dtype):
    default = dtype or tg.float32
    for t, shape in [(tg.zeros(2, 3, dtype=dtype, device=device), (2, 3)),
                     (tg.zeros((2, 3), dtype=dtype, device=device), (2, 3)),
                     (tg.ones(4, dtype=dtype, device=device), (4,)),
                     (tg.full((2, 2), 7, dtype=dtype or tg.float32, device=device), (2, 2)),
                     (tg.eye(3, dtype=dtype, device=device), (3, 3)),
                     (tg.zeros_like(tg.ones(2, 5, dtype=default, device=device)), (2, 5))]:
        assert t.shape == shape and t.dtype == default and t.device == device
    np.testing.assert_array_equal(tg.eye(3, dtype=dtype, device=device).numpy(), np.eye(3))
    np.testing.assert_array_equal(tg.ones(2, dtype=dtype, device=device).numpy(), [1, 1])
    np.testing.assert_array_equal(tg.full((2,), 7, dtype=dtype or tg.float32, device=device).numpy(), [7, 7])
    if dtype in (None, tg.float32, tg.float64, tg.float16):
        assert tg.randn(3, 2, dtype=dtype, device=device).dtype == default
        r = tg.rand(1000, dtype=dtype, device=device).numpy()
        assert r.dtype == default and r.min() >= 0 and r.max() < 1
        z = tg.zeros(2, dtype=dtype, device=device, requires_grad=True)
        assert z.requires_grad and z.is_leaf


def test_full_infers_dtype_from_the_value(device):
    assert tg.full((2,), 1.5, device=device).dtype == np.float32
    assert tg.full((2,), 3, device=device).dtype == np.int64
    assert tg.full((2,), True, device=device).dtype == np.bool_


def test_arange(device):
    np.testing.assert_array_equal(tg.arange(5, device=device).numpy(), np.arange(5))
    assert tg.arange(5, device=device).dtype == np.int64
    a = tg.arange(0.0, 1.0, 0.25, device=device)
    assert a.dtype == np.float32
    np.testing.assert_allclose(a.numpy(), [0, 0.25, 0.5, 0.75])
    assert tg.arange(2, 8, 2, dtype=tg.float64, device=device).tolist() == [2.0, 4.0, 6.0]
    with pytest.raises(TypeError):
        tg.arange(3, requires_grad=True)          # integers cannot require grad


def test_like_factories_keep_dtype_and_device(device):
    x = tg.ones(2, 3, dtype=tg.float64, device=device)
    for fn in (tg.zeros_like, tg.ones_like, tg.randn_like, tg.rand_like):
        y = fn(x)
        assert y.shape == x.shape and y.dtype == np.float64 and y.device == device
    assert tg.zeros_like(x, dtype=tg.float32).dtype == np.float32
    np.testing.assert_array_equal(tg.full_like(x, 2.0).numpy(), np.full((2, 3), 2.0))


def test_manual_seed_reproducibility(device):
    tg.manual_seed(123)
    a, b = tg.randn(4, 3, device=device).numpy(), tg.rand(5, device=device).numpy()
    c = tg.randint(0, 10, (6,), device=device).numpy()
    tg.manual_seed(123)
    np.testing.assert_array_equal(tg.randn(4, 3, device=device).numpy(), a)
    np.testing.assert_array_equal(tg.rand(5, device=device).numpy(), b)
    np.testing.assert_array_equal(tg.randint(0, 10, (6,), device=device).numpy(), c)
    assert not np.array_equal(tg.randn(4, 3, device=device).numpy(), a)   # the stream moves on
    tg.manual_seed(124)
    assert not np.array_equal(tg.randn(4, 3, device=device).numpy(), a)
    x = tg.randn(20000, device=device, dtype=tg.float64).numpy()
    assert abs(x.mean()) < 0.05 and abs(x.std() - 1) < 0.05


# ---------------------------------------------------------------- conversion methods
def test_item_tolist_numpy(device):
    t = tg.tensor([[1.5, 2.0], [3.0, 4.0]], device=device)
    assert t.tolist() == [[1.5, 2.0], [3.0, 4.0]]
    assert t[0, 0].item() == 1.5 and isinstance(t[0, 0].item(), float)
    assert tg.tensor([7], device=device).item() == 7 and isinstance(tg.tensor([7], device=device).item(), int)
    assert float(t.sum()) == 10.5 and int(tg.tensor(3, device=device)) == 3
    n = t.numpy()
    assert isinstance(n, np.ndarray) and n.dtype == np.float32 and n.shape == (2, 2)
    assert isinstance(t.sum().numpy(), np.ndarray)
    with pytest.raises(ValueError, match=r"one-element.*\(2, 2\)"):
        t.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(t)
    assert bool(tg.tensor([1.0], device=device) > 0)


def test_to_float_double(device):
    t = tg.tensor([1.5, 2.5], device=device)
    d = t.double()
    assert d.dtype == np.float64 and d.float().dtype == np.float32
    assert t.to(tg.float64).dtype == np.float64 and t.to("float64").dtype == np.float64
    assert t.to(dtype=np.float16).dtype == np.float16 and t.half().dtype == np.float16
    assert t.long().tolist() == [1, 2] and t.long().dtype == np.int64
    assert t.to(device) is t and t.to(t) is t and t.to(tg.float32) is t
    assert t.cpu().device == "cpu"


def test_cast_is_differentiable(device):
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x.double() * 3
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [3, 3])


def test_repr(device):
    assert repr(tg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "dtype=float64" in repr(tg.tensor(np.zeros(2)))
    assert "requires_grad=True" in repr(tg.tensor([1.0], requires_grad=True))
    assert "grad_fn=<MulBackward>" in repr(tg.tensor([1.0], requires_grad=True) * 2)


# ---------------------------------------------------------------- dtype rules
@pytest.mark.parametrize("dtype", FLOATS)
def test_python_scalars_never_upcast(device, dtype):
    x = tg.tensor([1.0, 2.0], dtype=dtype, device=device)
    for y in (x * 2.5, 2.5 * x, x + 1, 1 - x, x / 3.0, 3.0 / x, x ** 2.0, 2.0 ** x, -x, x.maximum(0.5),
              x.clamp(0.0, 1.5), x.masked_fill(x > 1, 0.0), tg.where(x > 1, x, 0.0), x * np.float64(2.5),
              x * np.float32(2.5), x + np.int64(1), x * np.array(2.5)):
        assert y.dtype == dtype


def test_float32_numpy_mixes_follow_numpy(device):
    x32 = tg.tensor([1.0], device=device)
    x64 = tg.tensor(np.array([1.0]), device=device)
    assert (x32 + x64).dtype == np.float64                # two tensors: NumPy's promotion
    assert (x64 * 2.5).dtype == np.float64
    assert (x32 + np.ones(1)).dtype == np.float64          # a float64 array keeps its dtype, as documented
    assert tg.where(tg.tensor([True, False]), 1.0, 0.0).dtype == np.float32   # two Python numbers


def test_integer_tensors_meeting_floats_promote_as_pytorch(device):
    i = tg.arange(4, device=device)
    b = i > 1
    for y in (i * 2.5, 2.5 * i, i / 2, 2 / (i + 1), (i + 1) / (i + 1), i ** 0.5, b * 1.0, 1.0 - b, i + tg.ones(4, device=device)):
        assert y.dtype == np.float32, y
    assert (i + tg.ones(4, dtype=tg.float64, device=device)).dtype == np.float64
    assert (tg.ones(4, dtype=tg.float16, device=device) * i).dtype == np.float16
    assert (i * 2).dtype == (i + i).dtype == (i - 1).dtype == np.int64
    np.testing.assert_allclose((i / 2).numpy(), [0, 0.5, 1, 1.5])


@pytest.mark.parametrize("dtype", FLOATS)
@given(data=st.data())
def test_every_op_keeps_the_float_dtype(device, dtype, data):
    shape = data.draw(shapes(min_dims=2))
    x = tg.Tensor(data.draw(arrays(shape, "positive", dtype=dtype)), device=device, requires_grad=True)
    outs = [x + x, x - 1, x * 2, x / 2, x ** 2, x ** x, 2 ** x, -x, x.exp(), x.log(), x.sqrt(), x.abs(),
            x.tanh(), x.sigmoid(), x.relu(), x.gelu(), x.gelu("tanh"), x.silu(), x.sin(), x.cos(),
            x.clamp(0.6, 1.0), x.maximum(x * 0.5), x.minimum(1.0), x @ x.mT, x.sum(), x.mean(0), x.max(-1),
            x.min(), x.var(1), x.std(), x.logsumexp(0), x.softmax(-1), x.log_softmax(0), x.reshape(-1),
            x.T, x.permute(1, 0, *range(2, x.ndim)), x.expand(2, *shape), x.unsqueeze(0).squeeze(0),
            x.flatten(), *x.split(1, 0), *x.chunk(2, -1), tg.cat([x, x]), tg.stack([x, x]),
            tg.where(x > 1, x, 0.5), x.masked_fill(x > 1, 0.0), x[0], x[[0, 0]], x[x > 1], x[..., None]]
    for i, y in enumerate(outs):
        assert y.dtype == dtype, i
        assert y.requires_grad, i
        assert y.device == device
    for y in outs[:5]:
        y.sum().backward()
    assert x.grad.dtype == dtype


# ---------------------------------------------------------------- operators and twins
def test_comparisons_are_plain_bool_tensors(device):
    x = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    for m in (x > 2, x >= 2, x < 2, x <= 2, x == 2, x != 2, x.eq(2), (x > 1) & (x < 3), (x > 2) | (x < 2), ~(x > 2)):
        assert m.dtype == np.bool_ and not m.requires_grad and m.grad_fn is None
    assert (x == 2).tolist() == [False, True, False]
    assert (x > 1).any().item() and not (x > 5).any().item() and (x > 0).all().item()


def test_argmax_argmin(device):
    x = tg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], device=device)
    assert x.argmax().item() == 3 and x.argmin().item() == 4
    assert x.argmax(dim=1).tolist() == [1, 0] and x.argmin(dim=0).tolist() == [0, 1, 0]
    assert x.argmax(dim=1).dtype == np.int64 and x.argmax(dim=1, keepdim=True).shape == (2, 1)
    assert tg.argmax(x, dim=0).tolist() == [1, 0, 1]


def test_module_level_twins(device):
    x = tg.tensor([[1.0, -2.0], [0.5, 3.0]], device=device)
    xn = x.numpy()
    np.testing.assert_allclose(tg.exp(x).numpy(), np.exp(xn), rtol=1e-6)
    np.testing.assert_allclose(tg.maximum(x, tg.zeros(2, device=device)).numpy(), np.maximum(xn, 0))
    np.testing.assert_allclose(tg.minimum(x, 0.0).numpy(), np.minimum(xn, 0))
    np.testing.assert_allclose(tg.softmax(x, dim=-1).numpy(), np.exp(xn) / np.exp(xn).sum(-1, keepdims=True),
                               rtol=1e-6)
    np.testing.assert_allclose(tg.log_softmax(x, dim=0).numpy(),
                               xn - np.log(np.exp(xn).sum(0, keepdims=True)), rtol=1e-6, atol=1e-6)
    for name in ("log", "sqrt", "abs", "tanh", "sigmoid", "relu", "sin", "cos", "sum", "mean", "max", "min",
                 "var", "std", "logsumexp", "flatten", "gelu", "silu"):
        np.testing.assert_allclose(getattr(tg, name)(x.abs() + 1).numpy(), getattr(x.abs() + 1, name)().numpy())
    assert tg.reshape(x, 4).shape == (4,) and tg.transpose(x, 0, 1).shape == (2, 2)
    assert tg.unsqueeze(x, 0).shape == (1, 2, 2) and tg.squeeze(tg.unsqueeze(x, 0)).shape == (2, 2)
    assert [t.shape for t in tg.split(x, 1, dim=1)] == [(2, 1), (2, 1)]
    assert len(tg.chunk(x, 2)) == 2
    assert tg.clamp(x, min=0.0).numpy().min() == 0
    assert tg.pow(x, 2).tolist() == (x * x).tolist()
    np.testing.assert_allclose(tg.exp([0.0, 1.0]).numpy(), [1, np.e], rtol=1e-6)   # lists are accepted


def test_setitem(device):
    x = tg.zeros(3, device=device)
    x[1] = 5.0
    assert x.tolist() == [0, 5, 0]
    y = tg.zeros(2, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        y[0] = 1.0
    with tg.no_grad():
        y[0] = 1.0
    assert y.tolist() == [1, 0]


def test_split_sections_must_add_up(device):
    with pytest.raises(ValueError, match=r"split.*\[1, 1\].*3"):
        tg.ones(3, device=device).split([1, 1])


def test_clone_and_contiguous(device):
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    c = x.clone()
    c.sum().backward()
    assert x.grad.tolist() == [1, 1]
    d = tg.tensor([1.0], device=device).clone()
    assert not d.requires_grad


# ---------------------------------------------------------------- in-place updates, decorators, devices
def test_inplace_update_under_no_grad_keeps_the_leaf():
    w = tg.ones(3, requires_grad=True)
    (w * 2).sum().backward()
    with tg.no_grad():
        w -= 0.5 * w.grad
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    np.testing.assert_allclose(w.numpy(), [0.0, 0.0, 0.0])


def test_inplace_on_a_tensor_that_requires_grad_is_refused_with_grad_on():
    w = tg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"in-place \+= .*\(2, 3\).*no_grad"):
        w += 1


def test_inplace_shape_mismatch_names_shapes():
    x = tg.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"in-place \*=.*\(4,\).*\(2, 3\)"):
        x *= tg.ones(4)


def test_no_grad_works_as_bare_decorator_and_nested():
    @tg.no_grad
    def f(x):
        return x * 2

    x = tg.ones(2, requires_grad=True)
    assert not f(x).requires_grad
    ng = tg.no_grad()
    with ng:
        with ng:
            pass
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()


def test_to_unknown_device_string_is_a_device_error():
    with pytest.raises(tg.DeviceError, match="unknown device 'tpu'"):
        tg.ones(2).to("tpu")
    assert tg.ones(2).to("float64").dtype == tg.float64


def test_compare_and_where_on_two_devices_name_both():
    a, b = tg.ones(2), tg.ones(2)
    b._device = "cuda"   # pretend: only the device tag matters for the check
    with pytest.raises(tg.DeviceError, match="cpu.*cuda"):
        a < b
    with pytest.raises(tg.DeviceError, match="cpu|cuda"):
        tg.where(b > 0, a, a)
