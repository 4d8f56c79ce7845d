"""CuPy parity: every op run on "cuda" gives the CPU's values and gradients, and gradcheck passes on
the GPU in float64.

Each test runs twice (the ``cuda`` fixture in conftest.py): on real CuPy with a GPU -- skipped, with the
reason, where CuPy or a GPU is missing -- and on tests/cupy_standin.py, which keeps CuPy's rules in host
memory and so checks on every machine that no op leaves the device or mixes host arrays in. Only the
first is a GPU run. The hypothesis op tests in test_ops.py also run on the GPU with
``python -m pytest --device cuda``.
"""

import numpy as np
import pytest

import tinygrad_tf as tg
from tinygrad_tf import nn_ops, opcheck
from tinygrad_tf.nn import functional as F

pytestmark = pytest.mark.usefixtures("cuda")

# more ops than the catalogue holds: the GPU-specific code paths (scatter-add, masks, 1-D matmuls, seeds)
EXTRA = {
    "matmul (vector @ vector)": (lambda a, b: a @ b, [((4,), "any"), ((4,), "any")]),
    "matmul (3-D @ 2-D)": (lambda a, b: a @ b, [((2, 3, 4), "any"), ((4, 2), "any")]),
    "getitem (bool mask)": (lambda a: a[np.array([True, False, True])], [((3, 4), "any")]),
    "getitem (array + slice)": (lambda a: a[np.array([1, 1, 0]), 1:], [((3, 4), "any")]),
    "getitem (slice + array)": (lambda a: a[:, np.array([3, 0, 3])], [((3, 4), "any")]),
    "getitem (negative step)": (lambda a: a[::-1, ::-2], [((3, 4), "any")]),
    "cross_entropy (sum, ignore)": (lambda a: nn_ops.CrossEntropy.apply(a, np.array([1, -100, 4]), -100, 0.0, "sum"),
                                    [((3, 5), "any")]),
    "cross_entropy (none)": (lambda a: nn_ops.CrossEntropy.apply(a, np.array([1, 2, 4]), -100, 0.2, "none"),
                             [((3, 5), "any")]),
    "layer_norm (2 axes)": (lambda x, w, b: nn_ops.LayerNorm.apply(x, w, b, 2),
                            [((2, 3, 4), "any"), ((3, 4), "any"), ((3, 4), "any")]),
    "var (tuple, keepdim)": (lambda a: a.var(dim=(0, -1), keepdim=True), [((3, 2, 4), "any")]),
    "max (ties)": (lambda a: (a * 0).max(dim=1) + a.sum(), [((2, 3), "any")]),
    "where (broadcast)": (lambda a, b: tg.where(a > 0, a, b), [((3, 1), "away0"), ((4,), "any")]),
}
OPS = {**opcheck.CATALOG, **EXTRA}


def _run(fn, arrays, device):
    """Forward values and input gradients (for a fixed upstream gradient) on ``device``, as NumPy."""
    ts = [tg.Tensor(a, device=device, requires_grad=True) for a in arrays]
    out = fn(*ts)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    loss = None
    for k, o in enumerate(outs):
        v = np.random.default_rng(k).standard_normal(o.shape)
        term = (o * tg.Tensor(v.astype(o.dtype), device=device)).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    assert all(o.device == device for o in outs)
    return [o.numpy() for o in outs], [t.grad.numpy() if t.grad is not None else None for t in ts]


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(OPS))
def test_cuda_matches_cpu(name, dtype):
    fn, specs = OPS[name]
    rng = np.random.default_rng(0)
    arrays = [opcheck.sample(shape, domain, rng).astype(dtype) for shape, domain in specs]
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    cpu_out, cpu_grads = _run(fn, arrays, "cpu")
    gpu_out, gpu_grads = _run(fn, arrays, "cuda")
    for c, g in zip(cpu_out, gpu_out):
        assert g.dtype == c.dtype == dtype
        np.testing.assert_allclose(g, c, **tol)
    for c, g in zip(cpu_grads, gpu_grads):
        assert (c is None) == (g is None)
        if c is not None:
            assert g.dtype == c.dtype == dtype
            np.testing.assert_allclose(g, c, **tol)


@pytest.mark.cuda
@pytest.mark.parametrize("name", list(OPS))
def test_gradcheck_on_cuda(name):
    fn, specs = OPS[name]
    rng = np.random.default_rng(1)
    inputs = [tg.Tensor(opcheck.sample(s, d, rng), device="cuda", requires_grad=True) for s, d in specs]
    report = tg.gradcheck(fn, *inputs)
    assert report and not report.upcast


@pytest.mark.cuda
def test_opcheck_table_on_cuda():
    bad = [row for row in opcheck.check_all(device="cuda") if not row[3]]
    assert bad == []


@pytest.mark.cuda
def test_transfer_and_gradient_back_to_cpu():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.to("cuda")
    assert y.device == "cuda" and y.requires_grad and y.dtype == np.float32
    z = (y * y).sum()
    assert z.device == "cuda"
    z.backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), [2, 4, 6])
    assert y.cpu().device == "cpu" and tg.ones(2).cuda().device == "cuda"
    assert tg.zeros(2, device="cuda:0").device == "cuda"


@pytest.mark.cuda
def test_transfer_is_an_ordinary_graph_node():
    """.to() records a ToDevice node like any op: hooks and retain_grad on its output see the gradient on the
    output's device, and the gradient reaches the input on the input's device (both ways)."""
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("cuda").retain_grad()
    seen = []
    y.register_hook(lambda g: seen.append(g.device))
    back = (y * y).cpu()
    assert type(y.grad_fn).__name__ == "ToDevice" and back.device == "cpu" and back.requires_grad
    (back * 3).sum().backward()
    assert seen == ["cuda"] and y.grad.device == "cuda" and x.grad.device == "cpu"
    np.testing.assert_allclose(y.grad.numpy(), [6, 12])
    np.testing.assert_allclose(x.grad.numpy(), [6, 12])
    with tg.no_grad():
        assert x.to("cuda").grad_fn is None


@pytest.mark.cuda
def test_mixed_devices_name_both():
    with pytest.raises(tg.DeviceError, match=r"cpu.*cuda|cuda.*cpu"):
        tg.ones(2) + tg.ones(2, device="cuda")
    with pytest.raises(tg.DeviceError):
        tg.cat([tg.ones(2), tg.ones(2, device="cuda")])


@pytest.mark.cuda
def test_factories_and_methods_on_cuda():
    tg.manual_seed(3)
    a = tg.randn(3, 4, device="cuda").numpy()
    tg.manual_seed(3)
    np.testing.assert_array_equal(tg.randn(3, 4, device="cuda").numpy(), a)
    for t in (tg.zeros(2, device="cuda"), tg.ones(2, dtype=tg.float64, device="cuda"), tg.eye(2, device="cuda"),
              tg.arange(3, device="cuda"), tg.full((2,), 1.5, device="cuda"), tg.rand(2, device="cuda"),
              tg.tensor([1.0], device="cuda"), tg.zeros_like(tg.ones(2, device="cuda"))):
        assert t.device == "cuda"
    x = tg.tensor([[1.5, 2.0]], device="cuda")
    assert x.tolist() == [[1.5, 2.0]] and x[0, 0].item() == 1.5 and isinstance(x.numpy(), np.ndarray)
    assert (x * 2.5).dtype == np.float32 and x.double().dtype == np.float64
    assert x.argmax().item() == 1 and bool((x > 1).all())
    assert "device='cuda'" in repr(x)


@pytest.mark.cuda
def test_dropout_seeded_on_cuda():
    x = tg.ones(64, 64, device="cuda", requires_grad=True)
    tg.manual_seed(5)
    a = nn_ops.Dropout.apply(x, 0.5)
    tg.manual_seed(5)
    b = nn_ops.Dropout.apply(x, 0.5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    a.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (a.numpy() != 0) * 2.0)


@pytest.mark.cuda
def test_repeated_indices_accumulate_on_cuda():
    x = tg.zeros(4, device="cuda", requires_grad=True)
    x[np.array([0, 0, 3, 0, -1])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3, 0, 0, 2])
    w = tg.zeros(3, 2, device="cuda", requires_grad=True)
    nn_ops.Embedding.apply(w, tg.tensor([[0, 2], [0, 0]], device="cuda")).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[3, 3], [0, 0], [1, 1]])


@pytest.mark.cuda
def test_out_of_range_indices_raise_on_cuda():
    """CuPy wraps out-of-range integer-array indices around; the engine must raise like NumPy does."""
    x = tg.ones(2, 3, device="cuda")
    with pytest.raises(IndexError, match=r"7.*size 3"):
        x[:, np.array([0, 7])]
    with pytest.raises(IndexError, match="embedding: id 3 is out of range"):
        F.embedding(np.array([0, 3]), tg.ones(3, 2, device="cuda"))
    with pytest.raises(IndexError, match="cross_entropy: target 5"):
        F.cross_entropy(x, np.array([0, 5]))


@pytest.mark.cuda
def test_stability_and_anomaly_on_cuda():
    x = tg.tensor([[1e4, -1e4, 0.0]], device="cuda", requires_grad=True)
    y = x.log_softmax(-1).sum() + x.logsumexp() + x.sigmoid().sum()
    y.backward()
    assert np.isfinite(y.item()) and np.isfinite(x.grad.numpy()).all()
    z = tg.tensor([-1.0], device="cuda", requires_grad=True)
    with tg.detect_anomaly(), pytest.raises(tg.AnomalyError, match="Log"):
        z.log()
