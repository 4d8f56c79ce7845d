"""Devices (``tg.device``, the ``tg.cuda`` namespace), grad modes (``inference_mode``, ``set_grad_enabled``)
and ``tg.compile``, against what PyTorch does (tests/fixtures/random_reference.json, from
scripts/make_random_fixture.py). GPU behaviour runs on real CuPy where there is a GPU and on the CuPy
stand-in everywhere (the ``cuda`` fixture)."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

import tinygrad_tf as tg
from tinygrad_tf import backend, nn

REF = json.loads((Path(__file__).parent / "fixtures" / "random_reference.json").read_text())


# ---------------------------------------------------------------- tg.device
@pytest.mark.parametrize("key", sorted(REF["devices"]))
def test_device_objects_match_pytorch(key):
    want = REF["devices"][key]
    name, _, index = key.partition(",")
    d = tg.device(name) if not index else tg.device(name, None if index == "None" else int(index))
    assert (str(d), repr(d), d.type, d.index) == (want["str"], want["repr"], want["type"], want["index"])
    assert tg.device(d) is d and tg.device(str(d)) == d


def test_device_equality_matches_pytorch():
    for pair, equal in REF["device_equal"].items():
        a, b = pair.split("==")
        assert (tg.device(a) == tg.device(b)) is equal, pair


@pytest.mark.parametrize("name", sorted(REF["device_bad"]))
def test_bad_device_names_are_refused(name):
    assert REF["device_bad"][name] == "RuntimeError"
    with pytest.raises(tg.DeviceError) as e:
        tg.device(name)
    message = str(e.value)
    assert repr(name) in message and ("'cuda:0'" in message or "'cuda:N'" in message)
    assert isinstance(e.value, RuntimeError)


def test_device_is_a_name_too():
    d = tg.device("cuda", 0)
    assert isinstance(d, str) and f"{d}" == "cuda:0" and json.dumps(d) == '"cuda:0"'
    assert tg.device(0) == "cuda:0"
    for copied in (pickle.loads(pickle.dumps(d)), copy.deepcopy(d), copy.copy(d)):
        assert type(copied) is tg.device and repr(copied) == "device(type='cuda', index=0)"
    with pytest.raises(tg.DeviceError, match="already has an index"):
        tg.device("cuda:0", 1)
    with pytest.raises(tg.DeviceError, match="index must be an int >= 0"):
        tg.device("cuda", -1)


def test_tensor_device_is_a_device_object():
    x = tg.ones(2)
    assert x.device == "cpu" and x.device == tg.device("cpu") and x.device.type == "cpu" and x.device.index is None
    assert repr(x.device) == "device(type='cpu')"
    y = tg.zeros(3, device=x.device)                      # PyTorch's idiom: make a tensor where another is
    assert y.device == "cpu"


def test_cpu_devices_go_wherever_a_device_name_goes():
    d = tg.device("cpu")
    x = tg.tensor([1.0, 2.0], device=d)
    assert x.to(d) is x and x.to(device=d) is x and x.to(tg.device("cpu:0")).device == "cpu"
    m = nn.Linear(2, 3)
    assert m.to(d) is m and m.weight.device == "cpu"
    assert tg.randn(2, device=d).device == "cpu" and tg.Generator(d).device == "cpu"
    assert tg.arange(3, device=d).device == "cpu" and tg.linspace(0, 1, 3, device=d).device == "cpu"


def test_cuda_devices_go_wherever_a_device_name_goes(cuda):
    d = tg.device("cuda:0")
    x = tg.tensor([1.0, 2.0], device=d)
    assert x.device == "cuda" and x.device == tg.device("cuda") and x.device.type == "cuda"
    assert repr(x.device) == "device(type='cuda')"
    assert tg.ones(2).to(d).device == "cuda" and tg.ones(2).to(tg.device("cuda")).device == "cuda"
    m = nn.Linear(2, 3).to(d)
    assert m.weight.device == "cuda" and m(x).device == "cuda"
    assert m.to(tg.device("cpu")).weight.device == "cpu"
    assert tg.randn(2, device=d).device == "cuda" and tg.zeros(2, device=x.device).device == "cuda"


def test_a_gpu_index_must_be_the_gpu_in_use(cuda):
    n = tg.cuda.device_count()
    with pytest.raises(tg.DeviceError, match=f"has {n} GPU"):
        tg.ones(2, device=f"cuda:{n}")
    with pytest.raises(tg.DeviceError, match=f"no GPU {n}"):
        tg.cuda.set_device(n)


# ---------------------------------------------------------------- tg.cuda
@pytest.fixture
def no_cuda(monkeypatch):
    """CuPy (or a GPU) missing, whatever this machine has."""
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_cupy_error", "device 'cuda' needs CuPy, which is not installed (test)")


def test_cuda_namespace_without_a_gpu_answers_like_pytorchs_cpu_build(no_cuda):
    assert tg.cuda.is_available() is False and tg.cuda.device_count() == 0
    assert tg.cuda.is_bf16_supported() is False
    tg.manual_seed(3)
    a = tg.randn(3).numpy()
    tg.manual_seed(3)
    assert tg.cuda.manual_seed(5) is None and tg.cuda.manual_seed_all(5) is None and tg.cuda.empty_cache() is None
    np.testing.assert_array_equal(tg.randn(3).numpy(), a)           # seeding the GPU left the CPU stream alone
    for fn in (tg.cuda.current_device, tg.cuda.synchronize, tg.cuda.get_device_name, lambda: tg.cuda.set_device(0)):
        with pytest.raises(tg.DeviceError, match="needs CuPy"):
            fn()


def test_cuda_namespace_with_a_gpu(cuda):
    assert tg.cuda.is_available() is True and tg.cuda.device_count() >= 1
    assert tg.cuda.current_device() == 0
    name = tg.cuda.get_device_name()
    assert isinstance(name, str) and name and tg.cuda.get_device_name(0) == tg.cuda.get_device_name("cuda:0") == name
    tg.cuda.set_device(0)
    tg.cuda.synchronize()
    tg.cuda.synchronize(tg.device("cuda"))
    tg.cuda.empty_cache()
    with pytest.raises(tg.DeviceError, match="expected a GPU"):
        tg.cuda.synchronize("cpu")


def test_cuda_manual_seed_seeds_the_gpu_stream_only(cuda):
    tg.manual_seed(1)
    cpu_first = tg.randn(4).numpy()
    tg.cuda.manual_seed(42)
    a = tg.randn(5, device="cuda").numpy()
    tg.cuda.manual_seed_all(42)
    np.testing.assert_array_equal(tg.randn(5, device="cuda").numpy(), a)
    tg.manual_seed(1)
    tg.randn(4)
    tg.cuda.manual_seed(42)
    cpu_second = tg.randn(4).numpy()
    tg.manual_seed(1)
    tg.randn(4)
    np.testing.assert_array_equal(tg.randn(4).numpy(), cpu_second)  # the CPU stream went on undisturbed
    assert not np.array_equal(cpu_first, cpu_second)


# ---------------------------------------------------------------- grad modes
@pytest.mark.parametrize("name", sorted(REF["modes"]))
def test_grad_modes_match_pytorch(name):
    seen = []
    env = {"T": tg, "seen": seen, "mark": lambda: seen.append([tg.is_grad_enabled(), tg.is_inference_mode_enabled()])}
    try:
        exec(REF["modes_code"][name], env)  # noqa: S102  (the fixture's own snippets)
    finally:
        tg.set_grad_enabled(True)
    assert json.loads(json.dumps(seen)) == REF["modes"][name]
    assert tg.is_grad_enabled() and not tg.is_inference_mode_enabled()


def test_inference_mode_records_no_graph_and_restores_on_error():
    w = tg.randn(3, 3, requires_grad=True)
    with tg.inference_mode():
        y = (w @ w).relu().sum()
    assert not y.requires_grad and y.grad_fn is None
    with pytest.raises(ZeroDivisionError), tg.inference_mode():
        1 / 0
    assert tg.is_grad_enabled() and not tg.is_inference_mode_enabled()

    @tg.inference_mode()
    def generate(x):
        return x * 2

    assert not generate(w).requires_grad and (w * 2).requires_grad


def test_set_grad_enabled_as_pytorch_training_loops_use_it():
    w = tg.randn(2, requires_grad=True)
    for training in (True, False):
        with tg.set_grad_enabled(training):
            y = (w * 3).sum()
        assert y.requires_grad is training
    assert tg.is_grad_enabled()
    tg.set_grad_enabled(False)
    try:
        assert not (w * 2).requires_grad
    finally:
        tg.set_grad_enabled(True)
    assert (w * 2).requires_grad


# ---------------------------------------------------------------- tg.compile
def test_compile_returns_the_model_unchanged():
    m = nn.Linear(3, 2)
    assert tg.compile(m) is m
    assert tg.compile(m, mode="max-autotune", fullgraph=True, dynamic=False, backend="inductor") is m

    def f(x):
        return x * 2
    assert tg.compile(f) is f
    decorated = tg.compile(mode="reduce-overhead")(f)
    assert decorated is f
    x = tg.randn(4, 3)
    np.testing.assert_array_equal(tg.compile(m)(x).numpy(), m(x).numpy())
