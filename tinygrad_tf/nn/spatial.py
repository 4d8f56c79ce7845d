"""Layers that move pixels around, as ``torch.nn``: the padding layers (ZeroPad, ConstantPad, ReflectionPad,
ReplicationPad, CircularPad in 1, 2 and 3 dims), Upsample (and UpsamplingNearest2d / UpsamplingBilinear2d),
PixelShuffle, PixelUnshuffle. Each is its function from ``nn.functional`` with the arguments kept on the module."""

from __future__ import annotations

from . import functional as F
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d", "Upsample", "UpsamplingNearest2d",
           "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle"]


class _PadNd(Module):
    """``padding``: an int (every side of the last nd dims) or F.pad's (left, right, top, bottom, ...) tuple."""

    nd, mode = 1, "constant"

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


class ZeroPad1d(_ZeroPadNd):
    """Pad the last dim with zeros; ``padding`` an int or (left, right)."""


class ZeroPad2d(_ZeroPadNd):
    """Pad the last 2 dims with zeros; ``padding`` an int or (left, right, top, bottom)."""

    nd = 2


class ZeroPad3d(_ZeroPadNd):
    """Pad the last 3 dims with zeros; ``padding`` an int or (left, right, top, bottom, front, back)."""

    nd = 3


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``."""


class ConstantPad2d(_ConstantPadNd):
    """Pad the last 2 dims with ``value``."""

    nd = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last 3 dims with ``value``."""

    nd = 3


class ReflectionPad1d(_PadNd):
    """Pad the last dim with the input mirrored at its edges (the edge itself not repeated)."""

    mode = "reflect"


class ReflectionPad2d(_PadNd):
    """Pad the last 2 dims with the input mirrored at its edges."""

    nd, mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """Pad the last 3 dims with the input mirrored at its edges."""

    nd, mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """Pad the last dim with copies of the edge values."""

    mode = "replicate"


class ReplicationPad2d(_PadNd):
    """Pad the last 2 dims with copies of the edge values."""

    nd, mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """Pad the last 3 dims with copies of the edge values."""

    nd, mode = 3, "replicate"


class CircularPad1d(_PadNd):
    """Pad the last dim with the input wrapped around."""

    mode = "circular"


class CircularPad2d(_PadNd):
    """Pad the last 2 dims with the input wrapped around."""

    nd, mode = 2, "circular"


class CircularPad3d(_PadNd):
    """Pad the last 3 dims with the input wrapped around."""

    nd, mode = 3, "circular"


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


class PixelShuffle(Module):
    """(*, C r^2, H, W) -> (*, C, H r, W r) (sub-pixel convolution's upsampling)."""

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):  # noqa: A002
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of PixelShuffle."""

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):  # noqa: A002
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"
