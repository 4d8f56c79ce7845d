"""Normalisation by batch statistics, as ``torch.nn``: BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d,
LocalResponseNorm.

A BatchNorm layer keeps PyTorch's parameters and buffers under PyTorch's names, so a PyTorch ``state_dict``
loads as it is: ``weight`` (gamma, ones) and ``bias`` (beta, zeros) when ``affine``; ``running_mean`` (zeros),
``running_var`` (ones) and ``num_batches_tracked`` (an int64 count) when ``track_running_stats``.

    model.train():  normalise with the batch's mean and variance; update the running statistics
                    running <- (1 - momentum) running + momentum batch   (momentum=None: the plain average
                    over every batch so far, 1 / num_batches_tracked)
    model.eval():   normalise with the running statistics (the batch's own, if none are tracked)
"""

from __future__ import annotations

import warnings

from ..factory import ones, tensor, zeros
from . import functional as F
from .module import Module, Parameter, _NdModule

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
           "LocalResponseNorm"]


class _NormBase(_NdModule):
    """What BatchNorm and InstanceNorm share: the affine parameters and the running statistics (of an
    (N, C, *spatial) input with ``nd`` spatial dims)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        name = type(self).__name__
        if not isinstance(num_features, int) or num_features <= 0:
            raise ValueError(f"{name}: num_features must be a positive int, got {num_features!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        kw = dict(device=device, dtype=dtype)
        if affine:
            self.weight = Parameter(ones(num_features, **kw))
            if bias:
                self.bias = Parameter(zeros(num_features, **kw))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, **kw))
            self.register_buffer("running_var", ones(num_features, **kw))
            self.register_buffer("num_batches_tracked", tensor(0, device=device))
        else:
            for buf in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(buf, None)

    def reset_running_stats(self):
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self):
        """The running statistics reset, weight 1 and bias 0."""
        self.reset_running_stats()
        if self.weight is not None:
            self.weight.data[...] = 1
        if self.bias is not None:
            self.bias.data[...] = 0

    def _channels(self, x):
        """The channel count of x, after checking its number of dims: (N, C, *spatial), or (C, *spatial) where
        the layer allows unbatched input."""
        allowed = self._allowed_ndims()
        if x.ndim not in allowed:
            want = " or ".join(f"{n}D" for n in allowed)
            raise ValueError(f"{type(self).__name__}: expected {want} input (got {x.ndim}D input of shape {x.shape})")
        batched = isinstance(self, _BatchNorm) or x.ndim == self.nd + 2     # BatchNorm1d: (N, C) too
        return x.shape[1] if batched else x.shape[0]

    def _channel_error(self, c, x):
        return ValueError(f"{type(self).__name__}: expected {self.num_features} channels (num_features), got {c} "
                          f"(input shape {x.shape})")

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    def _allowed_ndims(self):
        return (2, 3) if self.nd == 1 else (self.nd + 2,)

    def forward(self, input):  # noqa: A002
        c = self._channels(input)
        if c != self.num_features:
            raise self._channel_error(c, input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:                       # a cumulative average of every batch so far
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None, self.running_var if track else None,
                            self.weight, self.bias, use_batch, factor, self.eps)


class BatchNorm1d(_BatchNorm, nd=1):
    """Batch normalisation of (N, C) features or (N, C, L) sequences, per channel C = ``num_features``."""


class BatchNorm2d(_BatchNorm, nd=2):
    """Batch normalisation of (N, C, H, W) images, per channel: the statistics cover the batch and every pixel."""


class BatchNorm3d(_BatchNorm, nd=3):
    """Batch normalisation of (N, C, D, H, W) volumes, per channel."""


class _InstanceNorm(_NormBase):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, device=None,
                 dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def _allowed_ndims(self):
        return (self.nd + 1, self.nd + 2)

    def forward(self, input):  # noqa: A002
        c = self._channels(input)
        if c != self.num_features and (self.affine or self.track_running_stats):
            raise self._channel_error(c, input)
        if c != self.num_features:
            warnings.warn(f"{type(self).__name__}: the input's channel count {c} does not match num_features "
                          f"({self.num_features}), which is not used because affine=False", stacklevel=2)
        unbatched = input.ndim == self.nd + 1
        x = input.unsqueeze(0) if unbatched else input
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats,
                            self.momentum if self.momentum is not None else 0.0, self.eps)
        return y.squeeze(0) if unbatched else y


class InstanceNorm1d(_InstanceNorm, nd=1):
    """Normalise each channel of each sample of (N, C, L) (or (C, L)) over its own L positions."""


class InstanceNorm2d(_InstanceNorm, nd=2):
    """Normalise each channel of each image of (N, C, H, W) (or (C, H, W)) over its own pixels (style transfer)."""


class InstanceNorm3d(_InstanceNorm, nd=3):
    """Normalise each channel of each sample of (N, C, D, H, W) over its own positions."""


class LocalResponseNorm(Module):
    """``F.local_response_norm`` as a module (AlexNet's normalisation across neighbouring channels)."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):  # noqa: A002
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
