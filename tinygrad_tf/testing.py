"""``tg.testing``, as ``torch.testing``: ``assert_close`` -- the check that exercise solutions and tests use to
compare a hand-written result with a reference.
"""

from __future__ import annotations

import math

import numpy as np

from . import backend
from .tensor import Tensor

__all__ = ["assert_close"]

# PyTorch's default tolerances by dtype (rtol, atol); integers and bools must be equal
DEFAULT_TOLERANCES = {np.dtype("float16"): (1e-3, 1e-5), np.dtype("float32"): (1.3e-6, 1e-5),
                      np.dtype("float64"): (1e-7, 1e-7)}


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Raise an AssertionError unless ``actual`` and ``expected`` are close: for tensors, the same shape (and, by
    default, dtype and device) and ``|actual - expected| <= atol + rtol * |expected|`` elementwise; numbers the
    same way; sequences and mappings item by item. Without ``rtol`` / ``atol`` the dtype's defaults are used
    (float32: 1.3e-6 and 1e-5), as PyTorch's. The message gives the mismatched count and the greatest absolute
    and relative differences with their indices."""
    if (rtol is None) != (atol is None):
        raise ValueError("assert_close: give both rtol and atol, or neither")
    _compare(actual, expected, rtol, atol, equal_nan, check_device, check_dtype, msg, ())


def _compare(actual, expected, rtol, atol, equal_nan, check_device, check_dtype, msg, path):
    where = "".join(f"[{p!r}]" for p in path)
    if isinstance(actual, dict) or isinstance(expected, dict):
        if not isinstance(actual, dict) or not isinstance(expected, dict) or set(actual) != set(expected):
            _fail(msg, f"The mappings{where} do not have the same keys: {sorted(map(str, actual))} and "
                  f"{sorted(map(str, expected))}" if isinstance(actual, dict) and isinstance(expected, dict) else
                  f"Only one of the inputs{where} is a mapping")
        for k in actual:
            _compare(actual[k], expected[k], rtol, atol, equal_nan, check_device, check_dtype, msg, path + (k,))
        return
    if isinstance(actual, (list, tuple)) and isinstance(expected, (list, tuple)):
        if len(actual) != len(expected):
            _fail(msg, f"The sequences{where} have different lengths: {len(actual)} and {len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, rtol, atol, equal_nan, check_device, check_dtype, msg, path + (i,))
        return
    a_tensor, e_tensor = isinstance(actual, Tensor), isinstance(expected, Tensor)
    if a_tensor != e_tensor:
        _fail(msg, f"The inputs{where} are of different types: {type(actual).__name__} and {type(expected).__name__}")
    if a_tensor:
        if check_device and actual.device != expected.device:
            _fail(msg, f"The values{where} are on different devices: {actual.device} and {expected.device}")
        if check_dtype and actual.dtype != expected.dtype:
            _fail(msg, f"The values{where} have different dtypes: {actual.dtype} and {expected.dtype}")
        if actual.shape != expected.shape:
            _fail(msg, f"The values{where} have different shapes: {actual.shape} and {expected.shape}")
        a, e = backend.to_numpy(actual.data), backend.to_numpy(expected.data)
        kind = "Tensor-likes"
    else:
        a, e = np.asarray(actual), np.asarray(expected)
        kind = "Scalars"
        if a.dtype.kind not in "biufc" or e.dtype.kind not in "biufc":
            if actual != expected:
                _fail(msg, f"The values{where} are not equal: {actual!r} and {expected!r}")
            return
    r, t = (rtol, atol) if rtol is not None else \
        max((DEFAULT_TOLERANCES.get(np.dtype(d), (0.0, 0.0)) for d in (a.dtype, e.dtype)), key=lambda p: p[0])
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    with np.errstate(invalid="ignore"):
        close = np.isclose(a64, e64, rtol=r, atol=t, equal_nan=equal_nan)
    if close.all():
        return
    diff = np.abs(a64 - e64)
    diff = np.where(np.isnan(diff), np.inf, diff)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(e64 != 0, diff / np.abs(e64), np.where(diff == 0, 0.0, np.inf))
    lines = [f"{kind} are not close!"]
    if a.ndim:
        bad = int((~close).sum())
        ia, ir = (np.unravel_index(int(np.argmax(x)), x.shape) for x in (diff, rel))
        lines += ["", f"Mismatched elements: {bad} / {close.size} ({100 * bad / close.size:.1f}%)",
                  f"Greatest absolute difference: {diff[ia]} at index {tuple(int(i) for i in ia)} (up to {t} allowed)",
                  f"Greatest relative difference: {rel[ir]} at index {tuple(int(i) for i in ir)} (up to {r} allowed)"]
    else:
        lines += ["", f"Expected {e.item()} but got {a.item()}.",
                  f"Absolute difference: {float(diff)} (up to {t} allowed)",
                  f"Relative difference: {float(rel) if not math.isinf(rel) else math.inf} (up to {r} allowed)"]
    if where:
        lines += ["", f"The failure occurred for item {where}"]
    _fail(msg, "\n".join(lines))


def _fail(msg, text):
    raise AssertionError(text if msg is None else (msg(text) if callable(msg) else msg))
