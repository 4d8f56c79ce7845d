"""``tg.save`` / ``tg.load``: one safetensors file (the structure as JSON in its metadata), never pickle.

Round trips of tensors of every dtype, state dicts, optimizer states and nested containers (tuples stay
tuples, int keys stay ints, a tensor saved twice loads as one); ``map_location``; file objects; atomic
writes; and PyTorch's pickle files refused -- without being unpickled."""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
from safetensors.numpy import save_file

import tinygrad_tf as tg
from tinygrad_tf import backend, nn, optim


def roundtrip(obj, **load_kwargs):
    buf = io.BytesIO()
    tg.save(obj, buf)
    buf.seek(0)
    return tg.load(buf, **load_kwargs)


def assert_same_tensor(a, b):
    assert isinstance(a, tg.Tensor) and isinstance(b, tg.Tensor)
    assert a.dtype == b.dtype and a.shape == b.shape and a.device == b.device
    np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("dtype", [tg.float16, tg.float32, tg.float64, tg.int64, tg.int32, tg.bool])
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 0, 4), (2, 3, 4)])
def test_tensors_of_every_dtype_and_shape(dtype, shape):
    rng = np.random.default_rng(0)
    x = tg.tensor((rng.standard_normal(shape) * 100).astype(dtype))
    y = roundtrip(x)
    assert_same_tensor(x, y)
    assert not y.requires_grad and y.is_leaf
    y.data[...] = 0                                 # the loaded array is the tensor's own, writable


def test_non_contiguous_and_special_values():
    x = tg.tensor(np.arange(12.0).reshape(3, 4).T)
    assert_same_tensor(x, roundtrip(x))
    special = tg.tensor([np.nan, np.inf, -np.inf, -0.0, 1e-45], dtype=tg.float32)
    y = roundtrip(special).numpy()
    np.testing.assert_array_equal(y, special.numpy())
    assert np.signbit(y[3])


def test_nested_structures_keep_their_types():
    w = tg.randn(2, 3, requires_grad=True)
    obj = {
        "tensor": w, "again": w, "tuple": (1, 2.5, "three", None, True, False), "list": [[], [()], {}],
        3: "int key", (1, "a"): "tuple key", None: 0, 2.5: "float key", "big": 2**80, "nan": float("nan"),
        "odict": OrderedDict([("b", 1), ("a", 2)]), "array": np.arange(4, dtype=np.int16),
        "scalar": np.float32(1.5), "dtype": tg.float16, "device": tg.device("cuda", 1), "nested": {"x": [(w,)]},
        "unicode": "naïve ☃", "empty": "",
    }
    back = roundtrip(obj)
    assert list(back) == list(obj)
    assert back["tensor"] is back["again"] is back["nested"]["x"][0][0]        # one tensor, stored once
    assert back["tensor"].requires_grad and back["tensor"].is_leaf
    assert_same_tensor(back["tensor"], w.detach().requires_grad_())
    assert back["tuple"] == obj["tuple"] and type(back["tuple"]) is tuple
    assert back["list"] == [[], [()], {}] and type(back["list"][1][0]) is tuple
    assert back[3] == "int key" and back[(1, "a")] == "tuple key" and back[None] == 0 and back[2.5] == "float key"
    assert back["big"] == 2**80 and np.isnan(back["nan"])
    assert type(back["odict"]) is OrderedDict and list(back["odict"]) == ["b", "a"]
    assert back["array"].dtype == np.int16 and back["array"].tolist() == [0, 1, 2, 3]
    assert type(back["scalar"]) is np.float32 and back["scalar"] == 1.5
    assert back["dtype"] == np.float16 and isinstance(back["dtype"], np.dtype)
    assert type(back["device"]) is tg.device and back["device"] == "cuda:1"
    assert back["unicode"] == "naïve ☃" and back["empty"] == ""
    for plain in (None, 5, "text", [1, (2, 3)], (tg.ones(1), 2)):
        got = roundtrip(plain)
        assert type(got) is type(plain)


def test_model_and_optimizer_state_dicts(tmp_path):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = optim.AdamW(model.parameters(), lr=1e-2)
    x = tg.randn(5, 4)
    for _ in range(2):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
    path = tmp_path / "ckpt.pt"
    tg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": 2}, path)
    ckpt = tg.load(path)
    assert ckpt["step"] == 2 and set(ckpt["model"]) == set(model.state_dict())
    fresh = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    fresh.load_state_dict(ckpt["model"])
    np.testing.assert_array_equal(fresh(x).numpy(), model(x).numpy())
    opt2 = optim.AdamW(fresh.parameters(), lr=1e-2)
    opt2.load_state_dict(ckpt["optimizer"])
    for m, o in ((model, opt), (fresh, opt2)):          # the next step is the same for both
        o.zero_grad()
        m(x).pow(2).mean().backward()
        o.step()
    for a, b in zip(model.parameters(), fresh.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_paths_are_written_atomically_and_overwritten(tmp_path):
    path = tmp_path / "sub" / "x.tgt"
    tg.save(tg.ones(3), path)
    tg.save({"a": tg.zeros(2)}, str(path))                    # over the old file, through a str path
    assert sorted(os.listdir(path.parent)) == ["x.tgt"]       # no temporary file left beside it
    assert_same_tensor(tg.load(path)["a"], tg.zeros(2))
    with open(path, "rb") as f:
        assert_same_tensor(tg.load(f)["a"], tg.zeros(2))
    with pytest.raises(TypeError, match="binary mode"), open(path, encoding="latin-1") as f:
        tg.load(f)
    with pytest.raises(FileNotFoundError, match="no such file"):
        tg.load(tmp_path / "missing.pt")


def test_a_failed_save_leaves_the_old_file(tmp_path):
    path = tmp_path / "x.tgt"
    tg.save([tg.ones(2)], path)
    with pytest.raises(TypeError, match=r"cannot store obj\['fn'\], a function"):
        tg.save({"fn": lambda: 0}, path)
    with pytest.raises(TypeError, match=r"obj\[1\]\[0\], a set"):
        tg.save([1, [{2}]], path)
    assert_same_tensor(tg.load(path)[0], tg.ones(2))


def test_a_plain_safetensors_file_loads_as_a_state_dict(tmp_path):
    path = tmp_path / "weights.safetensors"
    save_file({"b": np.arange(3, dtype=np.int64), "a.weight": np.ones((2, 2), np.float16)}, str(path),
              metadata={"format": "pt"})
    sd = tg.load(path)
    assert set(sd) == {"a.weight", "b"}
    assert_same_tensor(sd["a.weight"], tg.ones(2, 2, dtype=tg.float16))
    assert sd["b"].tolist() == [0, 1, 2]


class _Trap:
    """Unpickling this would run code: the very thing tg.load must never do."""

    ran = []

    def __reduce__(self):
        return (_Trap.ran.append, ("unpickled!",))


def test_pytorch_pickle_files_are_refused_without_unpickling(tmp_path):
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps({"w": _Trap()}, protocol=2))
    zipped = tmp_path / "model.pt"
    with zipfile.ZipFile(zipped, "w") as z:                  # torch.save's layout: a zip with data.pkl
        z.writestr("archive/data.pkl", pickle.dumps({"w": _Trap()}))
    for path, kind in ((raw, "raw pickle"), (zipped, "zip holding a pickle")):
        with pytest.raises(ValueError) as e:
            tg.load(path, weights_only=False)
        message = str(e.value)
        assert "\n" not in message and str(path) in message and kind in message
        assert "never unpickles" in message and "save_file(torch.load(path), 'weights.safetensors')" in message
    assert _Trap.ran == []


def test_broken_files_are_one_clear_line(tmp_path):
    good = io.BytesIO()
    tg.save({"x": tg.ones(100)}, good)
    for data in (b"", b"hello", good.getvalue()[:-50], b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}......"):
        with pytest.raises(ValueError) as e:
            tg.load(io.BytesIO(data))
        assert "is not a file written by tg.save or a safetensors file" in str(e.value)
        assert "\n" not in str(e.value)
    header = json.dumps({"x": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}).encode()
    bf16 = struct.pack("<Q", len(header)) + header + b"\x80\x3f\x00\x40"
    with pytest.raises(ValueError, match="bfloat16"):
        tg.load(io.BytesIO(bf16))


def test_map_location_on_the_cpu():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    for where in ("cpu", tg.device("cpu"), {"cuda": "cpu"}, {"cuda:0": tg.device("cpu")}):
        y = roundtrip({"x": x}, map_location=where)["x"]
        assert y.device == "cpu" and y.requires_grad
    seen = []
    y = roundtrip([x], map_location=lambda t, loc: seen.append(loc) or t * 1)[0]
    assert seen == ["cpu"] and y.tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="must return a tensor"):
        roundtrip([x], map_location=lambda t, loc: t.numpy())
    with pytest.raises(tg.DeviceError, match="unknown device"):
        roundtrip([x], map_location="tpu")


def test_tensors_saved_on_the_gpu(cuda):
    x = tg.tensor([1.0, 2.0, 3.0], device="cuda", requires_grad=True)
    i = tg.tensor([4, 5], device="cuda")
    buf = io.BytesIO()
    tg.save({"x": x, "i": i, "cpu": tg.ones(1)}, buf)
    for where, device in ((None, "cuda"), ("cuda", "cuda"), ("cpu", "cpu"), ({"cuda": "cpu"}, "cpu")):
        buf.seek(0)
        back = tg.load(buf, map_location=where)
        assert back["x"].device == back["i"].device == device and back["x"].requires_grad
        assert back["cpu"].device == ("cuda" if where == "cuda" else "cpu")
        np.testing.assert_array_equal(back["x"].numpy(), [1, 2, 3])
        assert back["i"].dtype == np.int64 and back["i"].tolist() == [4, 5]
    buf.seek(0)
    moved = tg.load(buf, map_location={"cpu": "cuda"})
    assert moved["cpu"].device == "cuda" and moved["x"].device == "cuda"


def test_gpu_tensors_load_onto_a_machine_without_one(cuda, monkeypatch):
    buf = io.BytesIO()
    tg.save([tg.ones(2, device="cuda")], buf)
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_cupy_error", "device 'cuda' needs CuPy, which is not installed (test)")
    buf.seek(0)
    with pytest.raises(tg.DeviceError, match="saved on cuda.*map_location='cpu'"):
        tg.load(buf)
    buf.seek(0)
    assert tg.load(buf, map_location="cpu")[0].device == "cpu"


def test_a_header_that_starts_like_a_pickle_or_a_zip_still_loads():
    """A safetensors file starts with its header length: its first bytes can be 0x80 or 'PK' by chance."""
    def saved(pad):
        buf = io.BytesIO()
        tg.save({"s": "x" * pad, "t": tg.ones(2)}, buf)
        return buf.getvalue()
    base = int.from_bytes(saved(0)[:8], "little")
    for start, modulus in ((b"\x80", 256), (b"PK", 65536)):
        data = saved((int.from_bytes(start, "little") - base) % modulus)
        assert data.startswith(start)
        back = tg.load(io.BytesIO(data))
        assert back["t"].tolist() == [1.0, 1.0]
