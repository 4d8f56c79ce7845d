"""Convolution layers, as ``torch.nn``: Conv1d/2d/3d, ConvTranspose1d/2d/3d, Unfold, Fold.

The parameters have PyTorch's names, shapes and initialisation, so a PyTorch ``state_dict`` loads as it is:

    Conv:           weight (out_channels, in_channels / groups, *kernel_size), bias (out_channels,)
    ConvTranspose:  weight (in_channels, out_channels / groups, *kernel_size), bias (out_channels,)

both drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's kaiming_uniform_(a=sqrt(5)) amounts to that).
The arithmetic is in functional_conv.py (one matrix product over the stacked kernel windows).
"""

from __future__ import annotations

import math

from ..factory import empty
from ..tensor_args import _check_choice
from . import functional as F
from . import init
from .functional_conv import ntuple
from .module import Module, Parameter, _NdModule

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "Unfold", "Fold"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(_NdModule):
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        name, nd = type(self).__name__, self.nd
        if groups <= 0 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must both be "
                             f"divisible by groups ({groups})")
        _check_choice(name, "padding_mode", padding_mode, _PADDING_MODES)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = ntuple(name, "kernel_size", kernel_size, nd)
        self.stride, self.dilation = ntuple(name, "stride", stride, nd), ntuple(name, "dilation", dilation, nd)
        if isinstance(padding, str):
            _check_choice(name, "padding", padding, ("valid", "same"))
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = ntuple(name, "padding", padding, nd)
        self.output_padding = (0,) * nd                 # (ConvTranspose sets its own)
        self.padding_mode = padding_mode
        if self.transposed:
            shape, fan_in = (in_channels, out_channels // groups), out_channels // groups
        else:
            shape, fan_in = (out_channels, in_channels // groups), in_channels // groups
        fan_in *= math.prod(self.kernel_size)
        self.weight = Parameter(empty(*shape, *self.kernel_size, device=device, dtype=dtype))
        init.fan_in_uniform_(self.weight, fan_in)
        if bias:
            self.bias = Parameter(empty(out_channels, device=device, dtype=dtype))
            init.fan_in_uniform_(self.bias, fan_in)
        else:
            self.register_parameter("bias", None)

    def _mode_padding(self):
        """For padding_mode != 'zeros': F.pad's (last dim first) pairs, as PyTorch pads before convolving."""
        if self.padding == "valid":
            return [0, 0] * self.nd
        if self.padding == "same":
            pairs = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(self.kernel_size, self.dilation)]
        else:
            pairs = [(p, p) for p in self.padding]
        return [p for pair in reversed(pairs) for p in pair]

    def forward(self, input):  # noqa: A002
        conv = (F.conv1d, F.conv2d, F.conv3d)[self.nd - 1]
        if self.padding_mode == "zeros":
            return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        padded = F.pad(input, self._mode_padding(), mode=self.padding_mode)
        return conv(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd, nd=1):
    """1-D convolution over (N, C_in, L): ``F.conv1d`` with a learned kernel (out_channels, in_channels / groups,
    k); ``padding`` an int, a tuple, 'valid' or 'same', ``padding_mode`` zeros / reflect / replicate / circular."""


class Conv2d(_ConvNd, nd=2):
    """2-D convolution over (N, C_in, H, W) images: ``F.conv2d`` with a learned kernel (out_channels,
    in_channels / groups, kH, kW) and bias."""


class Conv3d(_ConvNd, nd=3):
    """3-D convolution over (N, C_in, D, H, W) volumes."""


class _ConvTransposeNd(_ConvNd):
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'{type(self).__name__}: only "zeros" padding mode is supported, got {padding_mode!r}')
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         device, dtype)
        self.output_padding = ntuple(type(self).__name__, "output_padding", output_padding, self.nd)

    def _output_padding(self, input, output_size):
        """The output_padding that gives ``output_size`` (its last nd entries), as PyTorch; else the layer's own."""
        if output_size is None:
            return self.output_padding
        size = list(output_size)[-self.nd:]
        spatial = input.shape[-self.nd:]
        pad = []
        for i in range(self.nd):
            least = (spatial[i] - 1) * self.stride[i] - 2 * self.padding[i] + \
                self.dilation[i] * (self.kernel_size[i] - 1) + 1
            if not least <= size[i] < least + self.stride[i]:
                raise ValueError(f"{type(self).__name__}: requested an output size of {tuple(size)}, but valid sizes "
                                 f"for dim {i} range from {least} to {least + self.stride[i] - 1} (for an input of "
                                 f"shape {input.shape})")
            pad.append(size[i] - least)
        return tuple(pad)

    def forward(self, input, output_size=None):  # noqa: A002
        conv = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[self.nd - 1]
        return conv(input, self.weight, self.bias, self.stride, self.padding, self._output_padding(input, output_size),
                    self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd, nd=1):
    """The transpose of Conv1d (its gradient as a layer): upsamples (N, C_in, L) by ``stride``; weight
    (in_channels, out_channels / groups, k). ``forward(input, output_size=None)``."""


class ConvTranspose2d(_ConvTransposeNd, nd=2):
    """The transpose of Conv2d, the "deconvolution" of decoders and GANs: (N, C_in, H, W) -> (N, C_out, H', W')
    with H' = (H - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1."""


class ConvTranspose3d(_ConvTransposeNd, nd=3):
    """The transpose of Conv3d."""


class Unfold(Module):
    """``F.unfold`` (im2col) as a module: (N, C, H, W) -> (N, C * kH * kW, L)."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input):  # noqa: A002
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Module):
    """``F.fold`` (col2im) as a module: (N, C * kH * kW, L) -> (N, C, *output_size), overlaps summed."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input):  # noqa: A002
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
