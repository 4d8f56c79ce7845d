"""``tg.cuda``, as ``torch.cuda``: is there a GPU, which one, seed it, wait for it, free its cache.

    if tg.cuda.is_available():
        tg.cuda.manual_seed(0)
        x = tg.randn(1024, 1024, device="cuda")
        tg.cuda.synchronize()

The GPU is reached through CuPy (backend.py). Without CuPy or a GPU these answer as PyTorch's CPU build
does: ``is_available()`` is False, ``device_count()`` 0, and seeding or emptying the cache do nothing;
what needs a GPU (``current_device``, ``get_device_name``, ``synchronize``, ``set_device``) raises a
``DeviceError`` that says what is missing. One process uses one GPU (``set_device`` picks it).
"""

from __future__ import annotations

from . import backend

__all__ = ["is_available", "device_count", "current_device", "set_device", "get_device_name", "synchronize",
           "empty_cache", "manual_seed", "manual_seed_all", "is_bf16_supported"]


def is_available() -> bool:
    """True when CuPy is installed and sees a GPU."""
    return backend.cuda_available()


def device_count() -> int:
    """How many GPUs CuPy sees (0 without CuPy or a GPU)."""
    return backend._load_cupy().cuda.runtime.getDeviceCount() if is_available() else 0


def _index(device) -> int:
    """The GPU number of ``device`` (None, an int, "cuda", "cuda:1", a ``tg.device``), checked against the
    GPUs there are."""
    cp = backend._load_cupy()
    if device is None:
        return cp.cuda.Device().id
    d = backend.device(device)
    if d.type != "cuda":
        raise backend.DeviceError(f"tg.cuda: expected a GPU, got device {str(d)!r}")
    i = cp.cuda.Device().id if d.index is None else d.index
    n = cp.cuda.runtime.getDeviceCount()
    if i >= n:
        raise backend.DeviceError(f"tg.cuda: there is no GPU {i}; this machine has {n} (0..{n - 1})")
    return i


def current_device() -> int:
    """The number of the GPU this process uses."""
    return _index(None)


def set_device(device) -> None:
    """Use GPU ``device`` (an int, "cuda:1", a ``tg.device``) for what this process puts on "cuda" from now on."""
    backend._load_cupy().cuda.Device(_index(device)).use()


def get_device_name(device=None) -> str:
    """The GPU's name, e.g. "NVIDIA H100 80GB HBM3"."""
    name = backend._load_cupy().cuda.runtime.getDeviceProperties(_index(device))["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def synchronize(device=None) -> None:
    """Wait until the GPU has finished all the work queued on it (for timing: GPU calls return at once)."""
    backend._load_cupy().cuda.Device(_index(device)).synchronize()


def empty_cache() -> None:
    """Hand the GPU memory that CuPy keeps cached for reuse back to the driver (nothing to do without a GPU)."""
    if is_available():
        cp = backend._load_cupy()
        cp.get_default_memory_pool().free_all_blocks()
        cp.get_default_pinned_memory_pool().free_all_blocks()


def manual_seed(seed: int) -> None:
    """Seed the GPU's global random stream (only that one; ``tg.manual_seed`` seeds every device). Nothing
    to seed without a GPU."""
    if is_available():
        backend.seed_device("cuda", seed)


def manual_seed_all(seed: int) -> None:
    """``manual_seed`` for every GPU: the one this process uses."""
    manual_seed(seed)


def is_bf16_supported() -> bool:
    """False: tinygrad_tf has no bfloat16 dtype (float16 is its half precision), so code that picks bfloat16
    when this is True picks float16 here."""
    return False

from .compat import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr(__name__, "torch.cuda")
