"""Layers that move pixels around, as ``torch.nn``: the padding layers (ZeroPad, ConstantPad, ReflectionPad,
ReplicationPad, CircularPad in 1, 2 and 3 dims), Upsample (and UpsamplingNearest2d / UpsamplingBilinear2d),
PixelShuffle, PixelUnshuffle. Each is its function from ``nn.functional`` with the arguments kept on the module."""

from __future__ import annotations

from . import functional as F
from .module import Module, _FunctionModule, _NdModule

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d", "Upsample", "UpsamplingNearest2d",
           "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle"]


class _PadNd(_NdModule):
    """``padding``: an int (every side of the last nd dims) or F.pad's (left, right, top, bottom, ...) tuple."""

    mode = "constant"

    def __init__(self, padding):
        super().__init__()
        n = 2 * self.nd
        pads = (padding,) * n if isinstance(padding, int) else tuple(padding)
        if len(pads) != n or not all(isinstance(p, int) for p in pads):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of {n} ints, got {padding!r}")
        self.padding = pads

    def forward(self, input):  # noqa: A002
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):  # noqa: A002
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


def _pad_layers(name, base, mode, fill):
    """The 1d, 2d and 3d layers of one way of padding (``mode``), which differ only in how many dims they pad."""
    dims = ("dim", "2 dims", "3 dims")
    sides = ("left, right", "left, right, top, bottom", "left, right, top, bottom, front, back")
    return [type(f"{name}{nd}d", (base,), {
        "nd": nd, "mode": mode, "__module__": __name__,
        "__doc__": f"Pad the last {dims[nd - 1]} {fill}; ``padding`` an int or ({sides[nd - 1]})."})
        for nd in (1, 2, 3)]


ZeroPad1d, ZeroPad2d, ZeroPad3d = _pad_layers("ZeroPad", _ZeroPadNd, "constant", "with zeros")
ConstantPad1d, ConstantPad2d, ConstantPad3d = _pad_layers("ConstantPad", _ConstantPadNd, "constant", "with ``value``")
ReflectionPad1d, ReflectionPad2d, ReflectionPad3d = _pad_layers(
    "ReflectionPad", _PadNd, "reflect", "with the input mirrored at its edges (the edge itself not repeated)")
ReplicationPad1d, ReplicationPad2d, ReplicationPad3d = _pad_layers(
    "ReplicationPad", _PadNd, "replicate", "with copies of the edge values")
CircularPad1d, CircularPad2d, CircularPad3d = _pad_layers(
    "CircularPad", _PadNd, "circular", "with the input wrapped around")


class Upsample(Module):
    """``F.interpolate`` as a module: resize to ``size`` or by ``scale_factor`` ("nearest", "bilinear", ...)."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None):
        super().__init__()
        self.size, self.mode, self.align_corners = size, mode, align_corners
        self.scale_factor = (float(scale_factor) if not isinstance(scale_factor, (tuple, list))
                             else tuple(float(f) for f in scale_factor)) if scale_factor is not None else None
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):  # noqa: A002
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        what = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Nearest-neighbour upsampling of (N, C, H, W) (PyTorch's older name for Upsample(mode="nearest"))."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear upsampling with align_corners=True (PyTorch's older name)."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(_FunctionModule, fn=F.pixel_shuffle):
    """(*, C r^2, H, W) -> (*, C, H r, W r) (sub-pixel convolution's upsampling)."""

    def __init__(self, upscale_factor):
        super().__init__()
        self._keep(upscale_factor=upscale_factor)


class PixelUnshuffle(_FunctionModule, fn=F.pixel_unshuffle):
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of PixelShuffle."""

    def __init__(self, downscale_factor):
        super().__init__()
        self._keep(downscale_factor=downscale_factor)
