"""Activation layers: each is its function from ``nn.functional`` wrapped as a Module."""

from __future__ import annotations

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
    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Identity(Module):
    def forward(self, x, *args, **kwargs):
        return x


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
