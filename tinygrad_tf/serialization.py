"""``tg.save(obj, f)`` / ``tg.load(f)``: tensors, state dicts and nested containers in one safe file.

The file is a safetensors file: every tensor (and NumPy array) is one entry of raw little-endian bytes,
and the structure around them (dicts, lists, tuples, numbers, strings, None, which entry goes where) is
JSON in the file's metadata. Nothing is pickled, so loading a file can never run code -- which is why a
PyTorch file (a pickle, in a zip or raw) is refused with a line saying how to convert it, never opened.

Encoding: JSON numbers, strings, booleans and null stand for themselves; every container or tensor is a
one-key JSON object naming its kind::

    {"dict": [[key, value], ...]}   {"odict": [...]}   {"list": [...]}   {"tuple": [...]}
    {"tensor": "t0", "device": "cuda", "requires_grad": true}   {"ndarray": "t1"}   {"npscalar": "t2"}
    {"dtype": "float16"}   {"device": "cuda:0"}

A tensor that appears twice (tied weights) is stored once and loads as one tensor. A plain safetensors file
(``safetensors.torch.save_file``, a Hugging Face ``model.safetensors``) loads as a dict of tensors.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as _st_load
from safetensors.numpy import save as _st_save

from . import backend
from .fileio import atomic_write
from .tensor import Tensor

__all__ = ["save", "load"]

_KEY = "tinygrad_tf.save"          # the metadata entry holding the structure (JSON)
_FORMAT_VERSION = 1
_CONVERT = ("convert it once in PyTorch: `from safetensors.torch import save_file; "
            "save_file(torch.load(path), 'weights.safetensors')` (a state dict of tensors), then tg.load the "
            ".safetensors file")


# ---------------------------------------------------------------- writing
def save(obj, f) -> None:
    """Write ``obj`` -- a tensor, a state dict, or dicts/lists/tuples of tensors, NumPy arrays, numbers,
    strings, None, bools, dtypes and devices, nested -- to ``f`` (a path, written atomically, or a binary
    file object). Tensors are copied to the CPU; each remembers its device and ``requires_grad``."""
    arrays, memo = {}, {}
    structure = _encode(obj, arrays, memo, "obj")
    meta = {_KEY: json.dumps({"format_version": _FORMAT_VERSION, "obj": structure})}
    data = _st_save(arrays, metadata=meta)
    if hasattr(f, "write"):
        f.write(data)
    else:
        atomic_write(os.fspath(f), data)


def _encode(obj, arrays, memo, where):
    if isinstance(obj, backend.device):             # (a str too, so asked first)
        return {"device": str(obj)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, Tensor):
        if id(obj) not in memo:
            memo[id(obj)] = (obj, _store(arrays, obj.numpy()))
        return {"tensor": memo[id(obj)][1], "device": obj._device, "requires_grad": obj.requires_grad}
    if isinstance(obj, np.ndarray):
        if id(obj) not in memo:
            memo[id(obj)] = (obj, _store(arrays, obj))
        return {"ndarray": memo[id(obj)][1]}
    if isinstance(obj, np.generic):
        return {"npscalar": _store(arrays, np.asarray(obj))}
    if isinstance(obj, np.dtype):
        return {"dtype": obj.name}
    if isinstance(obj, dict):
        pairs = [[_encode(k, arrays, memo, f"a key of {where}"), _encode(v, arrays, memo, f"{where}[{k!r}]")]
                 for k, v in obj.items()]
        return {"odict" if isinstance(obj, OrderedDict) else "dict": pairs}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, arrays, memo, f"{where}[{i}]") for i, v in enumerate(obj)]
        return {"tuple" if isinstance(obj, tuple) else "list": items}
    raise TypeError(f"tg.save: cannot store {where}, a {type(obj).__name__}; tg.save writes tensors, NumPy arrays, "
                    "dicts, lists, tuples, str, int, float, bool, None, dtypes and devices (a safe format, never "
                    "pickle)")


def _store(arrays, arr) -> str:
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"tg.save: cannot store an array of dtype {arr.dtype}")
    name = f"t{len(arrays)}"
    arrays[name] = arr if arr.flags.c_contiguous else arr.copy(order="C")   # (ascontiguousarray makes 0-d 1-d)
    return name


# ---------------------------------------------------------------- reading
def load(f, map_location=None, weights_only=True):
    """Read what ``save`` wrote (or a plain .safetensors file, as a dict of tensors) from ``f``, a path or a
    binary file object.

    Tensors go back to the device they were saved from, unless ``map_location`` says otherwise: a device
    ("cpu", "cuda", ``tg.device``) for all of them, a dict ``{"cuda": "cpu"}`` from saved device to new one,
    or a function ``(tensor, saved_device) -> tensor``. Nothing is ever unpickled, so ``weights_only`` is
    always in effect whatever it is given as; a PyTorch pickle file is refused with how to convert it."""
    name, data = _read(f)
    header = int.from_bytes(data[:8], "little")
    is_safetensors = len(data) >= 8 + header and data[8:9] == b"{"   # (it may start with 0x80 or "PK" too)
    if not is_safetensors and (data[:2] == b"PK" or data[:1] == b"\x80"):
        kind = "a zip holding a pickle: torch.save's format" if data[:2] == b"PK" else "a raw pickle"
        raise ValueError(f"tg.load: {name} is a PyTorch file ({kind}), and tinygrad_tf never unpickles (loading a "
                         f"pickle can run any code); {_CONVERT}")
    try:
        arrays = _st_load(data)
        meta = _metadata(data)
    except (SafetensorError, ValueError, KeyError, UnicodeDecodeError) as e:
        why = " ".join(str(e).split())
        if "bf16" in why.lower() or "bfloat16" in why.lower():
            raise ValueError(f"tg.load: {name} holds bfloat16 tensors, which NumPy cannot hold; read it with "
                             "tinygrad_tf.nn.models.hf.read_safetensors (widens them to float32), or save them "
                             "as float32 in PyTorch (.float())") from None
        raise ValueError(f"tg.load: {name} is not a file written by tg.save or a safetensors file ({why})") from None
    move = _mover(map_location)
    if _KEY not in meta:                              # a plain safetensors file: its state dict
        return {k: move(Tensor(v), "cpu") for k, v in arrays.items()}
    doc = json.loads(meta[_KEY])
    if doc.get("format_version") != _FORMAT_VERSION:
        raise ValueError(f"tg.load: {name} was written by a tg.save of format {doc.get('format_version')}; "
                         f"this version reads format {_FORMAT_VERSION}")
    return _decode(doc["obj"], arrays, {}, move)


def _read(f):
    if hasattr(f, "read"):
        data = f.read()
        if isinstance(data, str):
            raise TypeError("tg.load: the file object gives text; open the file in binary mode ('rb')")
        return getattr(f, "name", "the file object"), bytes(data)
    path = os.fspath(f)
    try:
        with open(path, "rb") as fh:
            return path, fh.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"tg.load: no such file: {path}") from None


def _metadata(data: bytes) -> dict:
    """The ``__metadata__`` of a safetensors file: 8 bytes of header length, then the JSON header."""
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + n]).get("__metadata__") or {}


def _decode(node, arrays, made, move):
    if not isinstance(node, dict):
        return node
    if "tensor" in node:
        key = node["tensor"]
        if key not in made:
            t = move(Tensor(arrays[key]), node.get("device", "cpu"))
            made[key] = t.requires_grad_(True) if node.get("requires_grad") and t.dtype.kind == "f" else t
        return made[key]
    (kind, value), = node.items()
    if kind == "ndarray":
        return made.setdefault(value, arrays[value])
    if kind == "npscalar":
        return arrays[value][()]
    if kind == "dtype":
        return np.dtype(value)
    if kind == "device":
        return backend.device(value)
    if kind in ("dict", "odict"):
        pairs = ((_decode(k, arrays, made, move), _decode(v, arrays, made, move)) for k, v in value)
        return OrderedDict(pairs) if kind == "odict" else dict(pairs)
    if kind in ("list", "tuple"):
        items = [_decode(v, arrays, made, move) for v in value]
        return tuple(items) if kind == "tuple" else items
    raise ValueError(f"tg.load: unknown entry {kind!r} in the file's structure")


def _mover(map_location):
    """``(tensor on the CPU, saved device) -> tensor where it should go``, from ``map_location``."""
    if map_location is None:
        def back(t, saved):
            try:
                return t.to(saved)
            except backend.DeviceError as e:
                raise backend.DeviceError(f"tg.load: the file holds tensors saved on {saved}, and {e}; load them "
                                          "onto the CPU with map_location='cpu'") from None
        return back
    if callable(map_location) and not isinstance(map_location, str):
        def call(t, saved):
            out = map_location(t, saved)
            if not isinstance(out, Tensor):
                raise TypeError(f"tg.load: map_location returned a {type(out).__name__}; it must return a tensor")
            return out
        return call
    if isinstance(map_location, dict):
        table = {backend.device(k).type: backend.check_device(v) for k, v in map_location.items()}
        return lambda t, saved: t.to(table.get(saved, saved))
    target = backend.check_device(map_location)
    return lambda t, saved: t.to(target)

