"""Activation layers: each is its function from ``nn.functional`` wrapped as a Module."""

from __future__ import annotations

import warnings

from ..tensor_args import _check_choice
from . import functional as F
from .module import Module


class ReLU(Module):
    """max(x, 0)"""

    def forward(self, x):
        return F.relu(x)


class GELU(Module):
    """x * Phi(x) (Phi the standard normal CDF); approximate="tanh" is GPT-2's tanh approximation."""

    def __init__(self, approximate="none"):
        super().__init__()
        _check_choice("GELU", "approximate", approximate, ("none", "tanh"))
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x * sigmoid(x)"""

    def forward(self, x):
        return F.silu(x)


class Tanh(Module):
    """tanh(x)"""

    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x))"""

    def forward(self, x):
        return F.sigmoid(x)


class Identity(Module):
    """Returns its input unchanged (any extra arguments are ignored, as PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x, *args, **kwargs):
        return x


def _implicit_dim(op, ndim):
    """PyTorch's legacy rule when ``dim`` is not given: dim 0 for 0-, 1- and 3-D input, else dim 1."""
    warnings.warn(f"{op}: implicit dimension choice is deprecated (as in PyTorch); pass dim explicitly",
                  stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """softmax along ``dim``: exp(x) / sum(exp(x)). Without ``dim``, PyTorch's legacy choice (with a warning)."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim if self.dim is not None else _implicit_dim("Softmax", x.ndim))

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``dim``, computed stably. Without ``dim``, PyTorch's legacy choice (with a warning)."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.log_softmax(x, self.dim if self.dim is not None else _implicit_dim("LogSoftmax", x.ndim))

    def extra_repr(self):
        return f"dim={self.dim}"


# the activation names a config may use (GPTConfig.activation minus the gated ones)
ACTIVATIONS = {
    "relu": ReLU,
    "gelu": GELU,
    "gelu_tanh": lambda: GELU("tanh"),
    "silu": SiLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
}


def get_activation(name: str) -> Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()
