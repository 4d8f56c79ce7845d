"""Normalisation layers: LayerNorm, RMSNorm, GroupNorm, and ``make_norm`` that picks one by name."""

from __future__ import annotations

from ..factory import ones, zeros
from . import functional as F
from .activations import Identity
from .module import Module, Parameter


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, statistics over the trailing ``normalized_shape``."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = F._norm_shape(normalized_shape)
        self.eps = eps
        self.weight = Parameter(ones(self.normalized_shape, device=device, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(zeros(self.normalized_shape, device=device, dtype=dtype)) \
            if elementwise_affine and bias else None
        for name in ("weight", "bias"):
            if getattr(self, name) is None:
                self.register_parameter(name, None)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.weight is not None}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    """y = x / sqrt(mean(x^2) + eps) * weight: LayerNorm without centring or bias (Llama, T5)."""

    def __init__(self, normalized_shape, eps=1e-6, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = F._norm_shape(normalized_shape)
        self.eps = eps
        if elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"


class GroupNorm(Module):
    """Normalise groups of channels: the C channels split into ``num_groups`` groups of C/G.

    Default (as PyTorch): input (N, C, *); each sample's group is normalised over its C/G channels and
    all of ``*`` (e.g. the pixels of an image). With ``channels_last=True`` the input is (..., C) — the
    (B, T, C) activations of a transformer — and each *position* is normalised separately in G groups of
    C/G features: a LayerNorm per group that never looks at other positions (so causal models stay causal).
    Either way there is one weight and bias per channel.
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, bias=True, channels_last=False,
                 device=None, dtype=None):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels={num_channels} is not divisible by num_groups={num_groups}")
        self.num_groups, self.num_channels, self.eps = num_groups, num_channels, eps
        self.channels_last = channels_last
        self.weight = Parameter(ones(num_channels, device=device, dtype=dtype)) if affine else None
        self.bias = Parameter(zeros(num_channels, device=device, dtype=dtype)) if affine and bias else None
        for name in ("weight", "bias"):
            if getattr(self, name) is None:
                self.register_parameter(name, None)

    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps, self.channels_last)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.weight is not None}, "
                f"bias={self.bias is not None}") + (", channels_last=True" if self.channels_last else "")


NORMS = ("layernorm", "rmsnorm", "groupnorm", "none")


def make_norm(kind, d_model, eps=1e-5, bias=True, groups=1):
    """The norm a transformer config names; "groupnorm" normalises each position's features in ``groups``
    groups (the GPT model uses one group per attention head)."""
    if kind == "layernorm":
        return LayerNorm(d_model, eps=eps, bias=bias)
    if kind == "rmsnorm":
        return RMSNorm(d_model, eps=eps)
    if kind == "groupnorm":
        return GroupNorm(groups, d_model, eps=eps, bias=bias, channels_last=True)
    if kind == "none":
        return Identity()
    raise ValueError(f"unknown norm {kind!r}; valid: {', '.join(NORMS)}")

