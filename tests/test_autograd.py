"""The autograd engine: accumulation, hooks, retain_grad, no_grad, detach, released graphs,
anomaly detection, deep graphs, memory, numerical stability, clear errors, and gradcheck itself."""

import gc
import time
import weakref

import numpy as np
import pytest

import tinygrad_tf as tg
from tinygrad_tf import nn_ops
from tinygrad_tf.nn import functional as F
from tinygrad_tf.backend import DeviceError


def T(data, device, requires_grad=False, dtype=None):
    return tg.tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


# ---------------------------------------------------------------- accumulation
def test_two_uses_of_a_node_accumulate(device):
    x = T([1.0, 2.0, 3.0], device, requires_grad=True)
    y = x * x + x * 3          # x used three times: dy/dx = 2x + 3
    h = y.exp().log()          # an intermediate used twice below
    (h + h * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * (2 * np.array([1, 2, 3]) + 3), rtol=1e-6)


def test_two_backward_calls_accumulate(device):
    x = T([1.0, -2.0], device, requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 - 4])
    x.zero_grad()
    assert x.grad is None
    s = T(2.0, device, requires_grad=True)      # backward on a leaf itself: d s / d s = 1, accumulating
    s.backward()
    s.backward(T(3.0, device))
    assert s.grad.item() == 4.0


def test_broadcast_gradient_is_summed_from_the_right(device):
    a = T(np.ones((2, 3, 4)), device, requires_grad=True)
    b = T(np.ones((3, 1)), device, requires_grad=True)        # aligned right: (1, 3, 1)
    c = T(np.ones(4), device, requires_grad=True)
    (a * b * c).sum().backward()
    assert b.grad.shape == (3, 1) and c.grad.shape == (4,)
    np.testing.assert_array_equal(b.grad.numpy(), np.full((3, 1), 8.0))
    np.testing.assert_array_equal(c.grad.numpy(), np.full(4, 6.0))


def test_leaf_gradients_are_writable_and_not_shared(device):
    a, b = T(np.ones((2, 3)), device, requires_grad=True), T(np.ones((2, 3)), device, requires_grad=True)
    g = T(np.full((2, 3), 2.0), device)
    (a + b).backward(g)                          # Add hands the same array to both inputs
    a.grad.data[0, 0] = 100.0                   # an optimizer may write into .grad in place
    assert b.grad.numpy()[0, 0] == 2.0 and g.numpy()[0, 0] == 2.0
    x = T(np.ones((2, 3)), device, requires_grad=True)
    x.sum().backward()                          # Sum's backward is a read-only broadcast view
    x.grad.data *= 0.5
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 0.5))


def test_scalar_gradients_are_arrays(device):
    x = T(2.0, device, requires_grad=True)
    y = T([1.0, 2.0], device, requires_grad=True)
    (x * 3.0 + (x * y).sum()).backward()
    assert x.grad.shape == () and x.grad.item() == pytest.approx(6.0)
    assert isinstance(x.grad.numpy(), np.ndarray) and x.grad.numpy().dtype == np.float32


def test_gradient_dtype_matches_input(device):
    a = T([1.0, 2.0], device, requires_grad=True, dtype=tg.float32)
    b = tg.Tensor(np.array([3.0, 4.0]), device=device, requires_grad=True)     # float64
    y = a * b                                   # float64 result
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


# ---------------------------------------------------------------- hooks and retain_grad
def test_hook_reads_and_replaces_a_leaf_gradient(device):
    x = T([1.0, 2.0], device, requires_grad=True)
    seen = []
    h1 = x.register_hook(lambda g: seen.append(g.numpy().copy()))
    h2 = x.register_hook(lambda g: g * 10)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(seen[0], [2, 2])
    np.testing.assert_array_equal(x.grad.numpy(), [20, 20])
    h1.remove()
    h2.remove()
    x.grad = None
    (x * 2).sum().backward()
    assert len(seen) == 1
    np.testing.assert_array_equal(x.grad.numpy(), [2, 2])


def test_hook_on_an_intermediate_changes_what_flows_back(device):
    x = T([1.0, 2.0], device, requires_grad=True)
    y = x * 3
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    handle = y.register_hook(lambda g: g * 0 + 1)        # replace dL/dy by ones
    (y * y).sum().backward(retain_graph=True)
    np.testing.assert_array_equal(seen[0], [6, 12])       # 2y, before the replacement
    np.testing.assert_array_equal(x.grad.numpy(), [3, 3])
    handle.remove()
    x.grad = None
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [18, 36])



def test_a_leaf_hook_fires_once_its_gradient_is_complete_during_the_walk(device):
    """As in PyTorch: a leaf's hook runs when its last incoming gradient has been added, not after the whole
    backward -- what lets DDP send the last layer's gradients while the first layer's are still computed."""
    x = T([[1.0, 2.0]], device)
    w1 = T([[1.0, 0.5], [0.0, 1.0]], device, requires_grad=True)
    w2 = T([[2.0], [1.0]], device, requires_grad=True)
    events = []
    h = x @ w1
    h.register_hook(lambda g: events.append("h"))           # runs when backward reaches the first layer
    w2.register_hook(lambda g: events.append(("w2", w2.grad is None)))
    w1.register_hook(lambda g: events.append("w1"))
    y = (h @ w2).sum() + (w2 * w2).sum()                       # two edges into w2: the hook waits for both
    y.backward()
    assert events == [("w2", True), "h", "w1"]
    np.testing.assert_allclose(w2.grad.numpy(), [[1.0 + 4.0], [2.5 + 2.0]])

def test_hook_returning_the_wrong_shape_is_an_error(device):
    x = T([1.0, 2.0], device, requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: g.sum())
    with pytest.raises(RuntimeError, match="shape"):
        y.sum().backward()


def test_retain_grad(device):
    x = T([1.0, 2.0], device, requires_grad=True)
    y = x * 2
    z = (y * y).sum()
    y.retain_grad()
    w = x * 5                                      # not retained
    z.backward()
    np.testing.assert_array_equal(y.grad.numpy(), [4, 8])
    assert w.grad is None
    assert z.grad is None                          # the root is an intermediate, not retained


def test_register_hook_needs_grad(device):
    with pytest.raises(RuntimeError, match="does not require grad"):
        T([1.0], device).register_hook(lambda g: g)


# ---------------------------------------------------------------- no_grad, detach, requires_grad
def test_no_grad_context_manager_records_nothing(device):
    x = T([1.0, 2.0], device, requires_grad=True)
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = (x * 2).exp().sum()
        with tg.enable_grad():
            z = x * 2
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


def test_no_grad_decorator(device):
    @tg.no_grad()
    def step(t):
        return t * 2

    x = T([1.0], device, requires_grad=True)
    y = step(x)
    assert not y.requires_grad and y.grad_fn is None and tg.is_grad_enabled()
    assert step.__name__ == "step"


def test_no_grad_restores_state_after_an_exception(device):
    with pytest.raises(ZeroDivisionError):
        with tg.no_grad():
            1 / 0
    assert tg.is_grad_enabled()


def test_detach(device):
    x = T([1.0, 2.0], device, requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    y = (d * x).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2, 4])   # no gradient through d


def test_requires_grad_on_int_tensor_errors(device):
    with pytest.raises(TypeError, match="floating"):
        T([1, 2], device).requires_grad_()
    with pytest.raises(TypeError, match="floating"):
        tg.tensor([1, 2], device=device, requires_grad=True)
    t = T([1.0], device).requires_grad_()
    assert t.requires_grad and t.is_leaf


def test_ops_without_grad_inputs_build_no_graph(device):
    y = T([1.0], device) * 2 + 1
    assert not y.requires_grad and y.grad_fn is None


# ---------------------------------------------------------------- backward errors and released graphs
def test_backward_on_non_scalar_needs_grad(device):
    y = T([1.0, 2.0], device, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"scalar outputs.*shape \(2,\)"):
        y.backward()
    y.backward(grad=T([1.0, 1.0], device))
    with pytest.raises(RuntimeError, match="shape"):
        (T([1.0, 2.0], device, requires_grad=True) * 2).backward(grad=T([1.0, 1.0, 1.0], device))


def test_backward_without_grad_is_a_clear_error(device):
    with pytest.raises(RuntimeError, match="does not require grad"):
        T([1.0], device).sum().backward()


def test_second_backward_through_released_graph(device):
    x = T([1.0, 2.0], device, requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(tg.GraphReleasedError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward(device):
    x = T([1.0, 2.0], device, requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-6)
    with pytest.raises(tg.GraphReleasedError):
        y.backward()


# ---------------------------------------------------------------- anomaly detection
def test_detect_anomaly_names_the_op_in_forward(device):
    x = T([1.0, -1.0, 2.0], device, requires_grad=True)
    with tg.detect_anomaly():
        with pytest.raises(tg.AnomalyError, match=r"forward.*Log.*\(3,\).*NaN"):
            with np.errstate(invalid="ignore"):
                x.log()
    with np.errstate(invalid="ignore"):
        x.log()                                # outside: no error, just NaN


def test_detect_anomaly_names_the_op_in_backward(device):
    x = T([0.0, 1.0], device, requires_grad=True)
    y = (x * 2).sqrt().sum()                   # finite forward; d sqrt/dx at 0 is inf
    with tg.detect_anomaly():
        with pytest.raises(tg.AnomalyError, match=r"gradient for input 0 of Sqrt.*\(2,\).*inf"):
            with np.errstate(divide="ignore"):
                y.backward()


# ---------------------------------------------------------------- deep graphs and memory
def test_100k_op_chain_backward(device):
    start = time.perf_counter()
    x0 = T([1.0], device, requires_grad=True, dtype=tg.float64)
    x = x0
    for _ in range(100_000):
        x = x * 1.0001
    x.sum().backward()                          # iterative: no RecursionError
    np.testing.assert_allclose(x0.grad.numpy(), [1.0001 ** 100_000], rtol=1e-6)
    del x                                       # freeing the chain must not recurse either
    assert time.perf_counter() - start < 30


def _graph(device):
    x = T(np.ones((4, 3)), device, requires_grad=True)
    w = T(np.ones((3, 2)), device, requires_grad=True)
    h = (x @ w).relu()
    loss = (h.softmax(-1) * h).sum() + h[np.array([0, 0, 1])].mean() + tg.cat([h, h], dim=1).logsumexp()
    return x, w, h, loss


def test_graph_is_freed_after_backward(device):
    x, w, h, loss = _graph(device)
    ctxs = []
    stack, seen = [loss.grad_fn], set()
    while stack:                                # every Function node of the graph
        node = stack.pop()
        if isinstance(node, tg.Function) and id(node) not in seen:
            seen.add(id(node))
            ctxs.append(node)
            stack.extend(node.next)
    assert len(ctxs) > 8
    assert any(getattr(c, "saved_tensors", None) for c in ctxs)
    loss.backward()
    for c in ctxs:                              # saved arrays released at once, without retain_graph
        assert not hasattr(c, "saved_tensors"), type(c).__name__
        assert c.released
    refs = [weakref.ref(c) for c in ctxs] + [weakref.ref(h), weakref.ref(loss)]
    del ctxs, c, node, stack, h, loss
    gc.collect()
    assert [r for r in refs if r() is not None] == []
    assert x.grad is not None and w.grad is not None


def test_graph_is_freed_by_refcount_alone(device):
    """Not even a gc pass is needed: the graph has no reference cycles."""
    x, w, h, loss = _graph(device)
    refs = [weakref.ref(loss.grad_fn), weakref.ref(h.grad_fn), weakref.ref(h)]
    gc.disable()
    try:
        loss.backward()
        del h, loss
        assert [r for r in refs if r() is not None] == []
    finally:
        gc.enable()


def test_no_tensor_outlives_a_training_step(device):
    """Tensors made during forward/backward die with the step: count them with weakrefs."""
    w = T(np.full((3, 2), 0.1), device, requires_grad=True)
    made = []
    orig = tg.Tensor._wrap.__func__

    def counting_wrap(cls, arr, dev):
        t = orig(cls, arr, dev)
        made.append(weakref.ref(t))
        return t

    tg.Tensor._wrap = classmethod(counting_wrap)
    try:
        for _ in range(3):
            x = T(np.ones((5, 3)), device)
            loss = nn_ops.CrossEntropy.apply(x @ w, np.array([0, 1, 0, 1, 1]))
            loss.backward()
            with tg.no_grad():
                w.data -= 0.1 * w.grad.data
            w.grad = None
        del x, loss
    finally:
        tg.Tensor._wrap = classmethod(orig)
    gc.collect()
    assert len(made) > 6
    assert [r() for r in made if r() is not None] == []


def test_intermediate_kept_by_user_keeps_no_saved_arrays(device):
    x = T(np.ones(3), device, requires_grad=True)
    y = x.exp()
    z = (y * y).sum()
    z.backward()
    assert not hasattr(y.grad_fn, "saved_tensors")
    assert not hasattr(z.grad_fn, "saved_tensors")


# ---------------------------------------------------------------- numerical stability
@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_stable_at_large_inputs(device, dtype):
    big = [[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, 1e4 - 1]]
    checks = {
        "log_softmax": lambda x: x.log_softmax(-1),
        "softmax": lambda x: x.softmax(-1),
        "logsumexp": lambda x: x.logsumexp(dim=-1),
        "sigmoid": lambda x: x.sigmoid(),
        "silu": lambda x: x.silu(),
        "cross_entropy": lambda x: nn_ops.CrossEntropy.apply(x, np.array([1, 0, 2]), -100, 0.1),
        "cross_entropy_none": lambda x: nn_ops.CrossEntropy.apply(x, np.array([1, 0, 2]), -100, 0.0, "none"),
    }
    for name, fn in checks.items():
        x = T(big, device, requires_grad=True, dtype=dtype)
        with np.errstate(over="raise", invalid="raise", divide="raise"):   # no overflow, not even a silent one
            y = fn(x)
            assert y.dtype == dtype, name
            assert np.isfinite(y.numpy()).all(), name
            (y * T(np.ones(y.shape), device, dtype=dtype)).sum().backward()
        assert np.isfinite(x.grad.numpy()).all(), name
    x = T(big, device, dtype=dtype)
    np.testing.assert_allclose(x.logsumexp(dim=-1).numpy(), [1e4, -1e4 + np.log(3), 1e4 + np.log(2 + np.exp(-1))],
                               rtol=1e-6)
    np.testing.assert_allclose(x.sigmoid().numpy()[0], [1, 0, 0.5])


@pytest.mark.parametrize("dtype", [tg.float32, tg.float64])
def test_softmax_rows_sum_to_one(device, dtype):
    rng = np.random.default_rng(0)
    x = T(rng.standard_normal((4, 3, 7)) * 20, device, dtype=dtype)
    for dim in (0, 1, -1):
        s = x.softmax(dim=dim)
        assert s.dtype == dtype
        np.testing.assert_allclose(s.sum(dim=dim).numpy(), 1.0, rtol=1e-6)
        np.testing.assert_allclose(x.log_softmax(dim=dim).exp().sum(dim=dim).numpy(), 1.0, rtol=1e-5)


def test_softmax_with_a_fully_masked_row_is_finite_elsewhere(device):
    x = T([[0.0, float("-inf")], [1.0, 2.0]], device)
    s = x.softmax(-1).numpy()
    np.testing.assert_allclose(s[0], [1, 0])
    np.testing.assert_allclose(s[1].sum(), 1)


# ---------------------------------------------------------------- clear errors
def test_binary_op_shape_mismatch_names_op_and_shapes(device):
    a, b = T(np.ones((2, 3)), device), T(np.ones(4), device)
    with pytest.raises(tg.OpError, match=r"Add.*\(2, 3\).*\(4,\)"):
        a + b
    with pytest.raises(tg.OpError, match=r"Mul.*\(2, 3\).*\(4,\)"):
        a * b
    with pytest.raises(ValueError):             # OpError is also a ValueError, as NumPy's error was
        a - b


def test_matmul_inner_dim_mismatch(device):
    with pytest.raises(tg.OpError, match=r"MatMul.*\(3, 4\).*\(5, 2\)"):
        T(np.ones((3, 4)), device) @ T(np.ones((5, 2)), device)


def test_bad_reshape(device):
    with pytest.raises(RuntimeError, match=r"reshape.*\(4, 2\).*\(2, 3\)"):
        T(np.ones((2, 3)), device).reshape(4, 2)
    with pytest.raises(RuntimeError, match=r"reshape.*\(2, 3\)"):
        T(np.ones((2, 3)), device).view(-1, 4)


def test_bad_permute(device):
    with pytest.raises(ValueError, match=r"permute.*\(0, 0, 1\).*\(2, 3, 4\)"):
        T(np.ones((2, 3, 4)), device).permute(0, 0, 1)
    with pytest.raises(ValueError, match=r"permute.*\(2, 3, 4\)"):
        T(np.ones((2, 3, 4)), device).permute(0, 1)


def test_bad_expand(device):
    with pytest.raises(RuntimeError, match=r"expand.*\(2, 3\).*\(2, 4\)"):
        T(np.ones((2, 3)), device).expand(2, 4)


def test_dims_out_of_range(device):
    x = T(np.ones((2, 1)), device)
    with pytest.raises(IndexError, match="dim 2"):
        x.squeeze(2)
    with pytest.raises(IndexError, match="dim 3"):
        x.unsqueeze(3)
    with pytest.raises(IndexError, match="dim 5"):
        x.sum(dim=5)
    with pytest.raises(IndexError, match=r"cat: dim 2.*\(2, 1\)"):
        tg.cat([x, x], dim=2)
    with pytest.raises(IndexError, match=r"stack: dim 4"):
        tg.stack([x, x], dim=4)
    with pytest.raises(RuntimeError, match=r"expand.*-1.*leading"):
        x.expand(-1, 2, 3)
    assert x.squeeze(-1).shape == (2,) and x.squeeze(0).shape == (2, 1)


def test_cat_and_stack_with_mismatched_shapes(device):
    a, b = T(np.ones((2, 3)), device), T(np.ones((3, 2)), device)
    with pytest.raises(RuntimeError, match=r"cat.*\(2, 3\).*\(3, 2\)"):
        tg.cat([a, b], dim=0)
    with pytest.raises(RuntimeError, match=r"stack.*\(2, 3\).*\(3, 2\)"):
        tg.stack([a, b])


def test_out_of_range_index(device):
    x = T(np.ones((2, 3)), device)
    with pytest.raises(IndexError, match=r"5.*\(2, 3\)"):
        x[5]
    with pytest.raises(IndexError, match=r"7.*size 3.*\(2, 3\)"):
        x[:, np.array([0, 7])]
    with pytest.raises(IndexError, match=r"-4.*size 3.*\(2, 3\)"):
        x[..., [0, -4]]
    with pytest.raises(IndexError, match=r"embedding: id 3 is out of range.*\(3, 2\)"):
        F.embedding(np.array([0, 3]), T(np.ones((3, 2)), device))
    with pytest.raises(IndexError, match=r"cross_entropy: target 5.*3 classes.*\(2, 3\)"):
        F.cross_entropy(x, np.array([0, 5]))


def test_float_index(device):
    x = T(np.ones((2, 3)), device)
    with pytest.raises(IndexError, match=r"\(2, 3\).*float"):
        x[1.0]
    with pytest.raises(IndexError, match=r"\(2, 3\).*float"):
        x[T([0.0, 1.0], device)]


def test_masked_fill_with_non_bool_mask(device):
    x = T(np.ones((2, 3)), device)
    with pytest.raises(TypeError, match=r"masked_fill.*int64.*\(2, 3\)"):
        x.masked_fill(T([[1, 0, 1], [0, 0, 1]], device), 0.0)
    with pytest.raises(RuntimeError, match=r"masked_fill.*\(4,\).*\(2, 3\)"):
        x.masked_fill(T([True, False, True, True], device), 0.0)


def test_bad_cross_entropy_reduction(device):
    with pytest.raises(ValueError, match="cross_entropy: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.cross_entropy(T(np.ones((2, 3)), device), np.array([0, 1]), reduction="avg")


def test_tensor_methods_check_arguments_and_name_the_op(device):
    """The Tensor methods check dims and choices (the ops in ops.py / reduce_ops.py are only math)."""
    x = T(np.ones((2, 3)), device)
    for name in ("sum", "mean", "max", "min", "var", "logsumexp", "softmax", "log_softmax", "squeeze"):
        with pytest.raises(IndexError, match=rf"^{name}: dim 2 is out of range for a tensor with 2 dimensions "
                                             r"\(expected -2 <= dim < 2\)"):
            getattr(x, name)(2)
    with pytest.raises(IndexError, match=r"sum: dim -3 is out of range"):
        x.sum(dim=(0, -3))
    with pytest.raises(ValueError, match=r"gelu: approximate must be 'none' or 'tanh', got 'fast'"):
        x.gelu("fast")


def test_tensors_on_two_devices_name_both(device):
    a = T([1.0, 2.0], "cpu", requires_grad=True)
    b = T([3.0, 4.0], "cpu")
    b._device = "cuda"               # pretend: the check happens before any array is touched
    for op in (lambda: a + b, lambda: b * a, lambda: a @ b, lambda: tg.maximum(a, b)):
        with pytest.raises(DeviceError, match=r"cpu.*cuda|cuda.*cpu") as e:
            op()
        assert "cpu" in str(e.value) and "cuda" in str(e.value)
    with pytest.raises(DeviceError, match=r"cat.*cpu.*cuda"):
        tg.cat([a, b])
    with pytest.raises(DeviceError, match=r"cpu.*cuda"):
        a[b.long()]


def test_cuda_without_cupy_says_how_to_install(monkeypatch):
    from tinygrad_tf import backend
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_cupy_error", None)
    monkeypatch.setitem(__import__("sys").modules, "cupy", None)     # `import cupy` now fails
    for make in (lambda: tg.zeros(2, device="cuda"), lambda: tg.tensor([1.0], device="cuda"),
                 lambda: tg.tensor([1.0]).to("cuda"), lambda: tg.ones(2).cuda()):
        with pytest.raises(DeviceError, match=r"pip install cupy-cuda12x.*pip install -e '\.\[cuda\]'"):
            make()
    assert tg.cuda_available() is False
    with pytest.raises(DeviceError, match="unknown device"):
        tg.zeros(2, device="tpu")


# ---------------------------------------------------------------- user-written Functions and gradcheck
class Square(tg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x * grad


class WrongSquare(Square):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return x * grad                   # the classic mistake: forgot the 2


class ScaledAdd(tg.Function):             # two inputs and a non-tensor argument
    @staticmethod
    def forward(ctx, a, b, alpha):
        ctx.alpha = alpha
        return a + alpha * b

    @staticmethod
    def backward(ctx, grad):
        return grad, ctx.alpha * grad if ctx.needs_input_grad[1] else None, None


def test_user_function_on_the_graph(device):
    x = T([1.0, -3.0], device, requires_grad=True)
    y = Square.apply(x)
    assert isinstance(y, tg.Tensor) and y.grad_fn is not None and y.dtype == np.float32
    (y * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4, -12])
    assert tg.gradcheck(Square.apply, T([0.3, -1.2, 2.0], device, requires_grad=True))


def test_user_function_with_broadcast_and_extra_args(device):
    a = T(np.ones((2, 3)), device, requires_grad=True)
    b = T(np.ones(3), device, requires_grad=True)
    ScaledAdd.apply(a, b, 0.5).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), [1, 1, 1])        # the engine summed the broadcast axis
    rng = np.random.default_rng(0)
    assert tg.gradcheck(lambda a, b: ScaledAdd.apply(a, b, 2.0),
                        tg.Tensor(rng.standard_normal((2, 3)), device=device, requires_grad=True),
                        tg.Tensor(rng.standard_normal((1, 3)), device=device, requires_grad=True))


def test_backward_returning_an_unfittable_shape_names_the_op(device):
    class Bad(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, grad):
            return ctx.xp.ones((5,))

    with pytest.raises(RuntimeError, match=r"Bad.backward.*\(5,\).*\(2, 3\)"):
        Bad.apply(T(np.ones((2, 3)), device, requires_grad=True)).sum().backward()


def test_gradcheck_catches_a_wrong_backward(device):
    x = tg.Tensor(np.array([0.5, -1.0, 2.0]), device=device, requires_grad=True)
    with pytest.raises(tg.GradcheckError) as e:
        tg.gradcheck(WrongSquare.apply, x)
    report = tg.gradcheck(WrongSquare.apply, x, raise_exception=False)
    assert not report and report.ok is False
    (r,) = report.inputs
    assert r.index == 0 and not r.ok
    # gradcheck differentiates L = sum(f(x) * v) for a random v: the wrong backward gives exactly half
    np.testing.assert_allclose(r.numeric_grad, 2 * r.analytic_grad, rtol=1e-6)
    worst = int(np.argmax(np.abs(r.numeric_grad - r.analytic_grad)))
    assert r.worst_element == (worst,)
    assert r.numeric == pytest.approx(2 * r.analytic, rel=1e-6) and abs(r.analytic) > 0.1
    msg = str(e.value)
    assert f"input 0 (shape (3,)): at element ({worst},)" in msg
    assert f"analytic gradient is {r.analytic:.6g}" in msg and f"numeric one is {r.numeric:.6g}" in msg
    assert "gradcheck failed" in report.describe()
    assert tg.gradcheck(Square.apply, x)          # the right backward passes on the same input


def test_gradcheck_names_the_failing_input_among_several(device):
    class HalfWrongMul(tg.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return g * b, g * b            # the second should be g * a

    a = tg.Tensor(np.array([[1.0, 2.0]]), device=device, requires_grad=True)
    b = tg.Tensor(np.array([[3.0, -4.0]]), device=device, requires_grad=True)
    report = tg.gradcheck(HalfWrongMul.apply, a, b, raise_exception=False)
    assert [r.ok for r in report.inputs] == [True, False]
    with pytest.raises(tg.GradcheckError, match=r"input 1 \(shape \(1, 2\)\): at element \(0, \d\)"):
        tg.gradcheck(HalfWrongMul.apply, a, b)


def test_gradcheck_upcasts_float32(device):
    x32 = T([0.5, -1.0, 2.0], device, requires_grad=True)
    report = tg.gradcheck(Square.apply, x32)
    assert report and report.upcast
    assert x32.dtype == np.float32 and x32.grad is None          # the caller's tensor is untouched
    x64 = tg.Tensor(np.array([0.5, -1.0]), device=device, requires_grad=True)
    report = tg.gradcheck(Square.apply, x64)
    assert report and not report.upcast
    np.testing.assert_array_equal(x64.numpy(), [0.5, -1.0])


def test_gradcheck_needs_an_input_that_requires_grad(device):
    with pytest.raises(ValueError, match="requires grad"):
        tg.gradcheck(lambda x: x * 2, T([1.0], device))


def test_gradcheck_checks_every_output_and_non_contiguous_inputs(device):
    base = np.random.default_rng(1).standard_normal((3, 4))
    x = tg.Tensor(np.asarray(base).T, device=device, requires_grad=True)
    if device == "cpu":
        assert not x.data.flags.c_contiguous
    report = tg.gradcheck(lambda t: (t.exp(), t.split(2, dim=0)[1] * 3), x)
    assert report and report.inputs[0].shape == (4, 3)


def test_forward_returning_a_tensor_is_a_clear_error():
    class Bad(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return tg.Tensor(x * 2)

        @staticmethod
        def backward(ctx, g):
            return 2 * g

    with pytest.raises(tg.OpError, match="Bad.forward returned a Tensor"):
        Bad.apply(tg.ones(2, requires_grad=True))


def test_backward_may_return_a_list():
    class Mul2(tg.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return [g * b, g * a]

    a, b = tg.tensor([2.0], requires_grad=True), tg.tensor([3.0], requires_grad=True)
    Mul2.apply(a, b).sum().backward()
    assert a.grad.item() == 3.0 and b.grad.item() == 2.0
