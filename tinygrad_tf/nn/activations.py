"""Activation layers: each is its function from ``nn.functional`` wrapped as a Module (PyTorch's arguments,
attributes and printed form; ``inplace=True`` writes the result into the input, as PyTorch)."""

from __future__ import annotations

from ..factory import full
from ..tensor_args import _check_choice
from . import functional as F
from .functional_activations import implicit_dim as _implicit_dim
from .module import Module, Parameter, _FunctionModule


class _Inplace(_FunctionModule):
    """An activation whose only argument is PyTorch's ``inplace`` flag."""

    def __init__(self, inplace=False):
        super().__init__()
        self._keep(inplace=inplace)


class _AlongDim(_FunctionModule):
    """softmax, log_softmax, softmin along ``dim``; without one, PyTorch's legacy choice (with a warning)."""

    def __init__(self, dim=None):
        super().__init__()
        self._keep(dim=dim)

    def forward(self, input):  # noqa: A002
        return self._fn(input, self.dim if self.dim is not None else _implicit_dim(type(self).__name__, input.ndim))


class ReLU(_Inplace, fn=F.relu):
    """max(x, 0)"""


class GELU(_FunctionModule, fn=F.gelu):
    """x * Phi(x) (Phi the standard normal CDF); approximate="tanh" is GPT-2's tanh approximation."""

    def __init__(self, approximate="none"):
        super().__init__()
        _check_choice("GELU", "approximate", approximate, ("none", "tanh"))
        self._keep(approximate=approximate)


class SiLU(_Inplace, fn=F.silu):
    """x * sigmoid(x)"""


class Tanh(_FunctionModule, fn=F.tanh):
    """tanh(x)"""


class Sigmoid(_FunctionModule, fn=F.sigmoid):
    """1 / (1 + exp(-x))"""


class Identity(Module):
    """Returns its input unchanged (any extra arguments are ignored, as PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x, *args, **kwargs):
        return x


class Softmax(_AlongDim, fn=F.softmax):
    """softmax along ``dim``: exp(x) / sum(exp(x)). Without ``dim``, PyTorch's legacy choice (with a warning)."""


class LogSoftmax(_AlongDim, fn=F.log_softmax):
    """log(softmax(x)) along ``dim``, computed stably. Without ``dim``, PyTorch's legacy choice (with a warning)."""


class LeakyReLU(_FunctionModule, fn=F.leaky_relu):
    """x for x > 0, else negative_slope * x."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self._keep(negative_slope=negative_slope, inplace=inplace)


class ELU(_FunctionModule, fn=F.elu):
    """x for x > 0, else alpha * (e^x - 1)."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self._keep(alpha=alpha, inplace=inplace)


class CELU(ELU, fn=F.celu):
    """x for x > 0, else alpha * (e^(x / alpha) - 1)."""


class SELU(_Inplace, fn=F.selu):
    """scale * elu(x, alpha) with the self-normalising constants."""


class Softplus(_FunctionModule, fn=F.softplus):
    """log(1 + e^(beta x)) / beta (x itself above ``threshold``)."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self._keep(beta=beta, threshold=threshold)


class Mish(_Inplace, fn=F.mish):
    """x * tanh(softplus(x))."""


class Hardtanh(_FunctionModule, fn=F.hardtanh):
    """x clamped to [min_val, max_val]."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
        self._keep(min_val=min_val, max_val=max_val, inplace=inplace)


class ReLU6(Hardtanh):
    """min(max(x, 0), 6)."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LogSigmoid(_FunctionModule, fn=F.logsigmoid):
    """log(sigmoid(x)), computed stably."""


class Softmin(_AlongDim, fn=F.softmin):
    """softmax(-x) along ``dim``."""


class Softmax2d(Module):
    """softmax over the channels (dim -3) of (N, C, H, W) or (C, H, W) images."""

    def forward(self, x):
        if x.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected an input of shape (N, C, H, W) or (C, H, W), got {x.shape}")
        return F.softmax(x, -3)


class Softsign(_FunctionModule, fn=F.softsign):
    """x / (1 + |x|)."""


class Tanhshrink(_FunctionModule, fn=F.tanhshrink):
    """x - tanh(x)."""


class Softshrink(_FunctionModule, fn=F.softshrink):
    """Shrink towards 0 by ``lambd`` (0 inside [-lambd, lambd])."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self._keep(lambd=lambd)

    def extra_repr(self):
        return str(self.lambd)


class Hardshrink(Softshrink, fn=F.hardshrink):
    """x where |x| > lambd, else 0."""


class Hardsigmoid(_Inplace, fn=F.hardsigmoid):
    """relu6(x + 3) / 6."""

    extra_repr = Module.extra_repr                # PyTorch prints no inplace here


class Hardswish(Hardsigmoid, fn=F.hardswish):
    """x * relu6(x + 3) / 6."""


class Threshold(_FunctionModule, fn=F.threshold):
    """x where x > threshold, else ``value``."""

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self._keep(threshold=threshold, value=value, inplace=inplace)


class GLU(_FunctionModule, fn=F.glu):
    """a * sigmoid(b), a and b the two halves of ``dim``."""

    def __init__(self, dim=-1):
        super().__init__()
        self._keep(dim=dim)


class PReLU(Module):
    """x for x > 0, else a * x with a learned slope ``weight``: one, or one per channel (``num_parameters``),
    starting at ``init``."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(full((num_parameters,), init, device=device, dtype=dtype))

    def forward(self, x):
        return F.prelu(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class RReLU(_FunctionModule):
    """Leaky ReLU with a random slope from U(lower, upper) per element in training, their mean in eval."""

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self._keep(lower=lower, upper=upper, inplace=inplace)

    def forward(self, x):
        return F.rrelu(x, self.lower, self.upper, self.training, self.inplace)


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
