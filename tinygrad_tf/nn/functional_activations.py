"""The rest of PyTorch's activation functions, each a few Tensor ops (``nn.functional`` re-exports them).

Where an activation has a kink, the gradient at the kink is PyTorch's (``where`` picks the side PyTorch's
backward picks), so a fixture compares them even at x = 0. A branch that ``where`` does not select still runs,
so each is written to stay finite there (``exp(min(x, 0))``, a detached shift in softplus): a 0 times an
infinite gradient would be NaN.

``inplace=True`` writes the result into the input, as PyTorch (``x.copy_(result)``, under the engine's
in-place rule: a tensor in the middle of a graph takes the new node; a leaf parameter is refused).
"""

from __future__ import annotations

import warnings

from ..factory import rand, where
from ..tensor import Tensor
from ..tensor_args import _check_probability

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _inplace(x, y, inplace):
    return x.copy_(y) if inplace else y


def implicit_dim(op, ndim):
    """PyTorch's legacy rule when ``dim`` is not given: dim 0 for 0-, 1- and 3-D input, else dim 1."""
    warnings.warn(f"{op}: implicit dimension choice is deprecated (as in PyTorch); pass dim explicitly",
                  stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def _softplus(z):
    """log(1 + e^z) = m + log(e^-m + e^(z-m)) with m = max(z, 0) held constant: both exponents are <= 0, so
    nothing overflows, and the gradient is exactly sigmoid(z) everywhere (z = 0 included)."""
    m = z.detach().relu()
    return m + ((-m).exp() + (z - m).exp()).log()


def leaky_relu(input, negative_slope=0.01, inplace=False):  # noqa: A002
    """x for x > 0, else negative_slope * x."""
    return _inplace(input, where(input > 0, input, input * negative_slope), inplace)


def elu(input, alpha=1.0, inplace=False):  # noqa: A002
    """x for x > 0, else alpha * (e^x - 1)."""
    return _inplace(input, where(input > 0, input, alpha * (input.clamp(max=0).exp() - 1)), inplace)


def selu(input, inplace=False):  # noqa: A002
    """scale * elu(x, alpha) with the self-normalising constants (alpha 1.6733, scale 1.0507)."""
    return _inplace(input, SELU_SCALE * elu(input, SELU_ALPHA), inplace)


def celu(input, alpha=1.0, inplace=False):  # noqa: A002
    """x for x > 0, else alpha * (e^(x/alpha) - 1)."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides x)")
    return _inplace(input, where(input > 0, input, alpha * ((input.clamp(max=0) / alpha).exp() - 1)), inplace)


def softplus(input, beta=1.0, threshold=20.0):  # noqa: A002
    """log(1 + e^(beta x)) / beta, and x itself where beta * x > threshold (as PyTorch)."""
    z = input * beta if beta != 1 else input
    smooth = _softplus(z) / beta if beta != 1 else _softplus(z)
    return where(z > threshold, input, smooth)


def mish(input, inplace=False):  # noqa: A002
    """x * tanh(softplus(x))."""
    return _inplace(input, input * _softplus(input).tanh(), inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):  # noqa: A002
    """x clamped to [min_val, max_val]; the gradient is 0 at the two edges too (as PyTorch)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return _inplace(input, where(input <= min_val, min_val, where(input >= max_val, max_val, input)), inplace)


def relu6(input, inplace=False):  # noqa: A002
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def logsigmoid(input):  # noqa: A002
    """log(sigmoid(x)) = -softplus(-x), computed without overflow."""
    return -_softplus(-input)


def softmin(input, dim=None, _stacklevel=3, dtype=None):  # noqa: A002
    """softmax(-x) along ``dim`` (without ``dim``: PyTorch's legacy choice, with a warning)."""
    x = input if dtype is None else input.type(dtype)
    return (-x).softmax(dim if dim is not None else implicit_dim("softmin", x.ndim))


def softsign(input):  # noqa: A002
    """x / (1 + |x|)."""
    return input / (input.abs() + 1)


def tanhshrink(input):  # noqa: A002
    """x - tanh(x)."""
    return input - input.tanh()


def softshrink(input, lambd=0.5):  # noqa: A002
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be >= 0, got {lambd}")
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, 0.0))


def hardshrink(input, lambd=0.5):  # noqa: A002
    """x where |x| > lambd, else 0."""
    return where((input > lambd) | (input < -lambd), input, 0.0)


def hardsigmoid(input, inplace=False):  # noqa: A002
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, a straight line between."""
    return _inplace(input, where(input <= -3, 0.0, where(input >= 3, 1.0, input / 6 + 0.5)), inplace)


def hardswish(input, inplace=False):  # noqa: A002
    """x * relu6(x + 3) / 6 (MobileNetV3)."""
    return _inplace(input, where(input <= -3, 0.0, where(input < 3, input * (input + 3) / 6, input)), inplace)


def _threshold(x, th, value):
    return where(x > th, x, value)


def threshold(input, threshold, value, inplace=False):  # noqa: A002
    """x where x > threshold, else ``value``."""
    return _inplace(input, _threshold(input, threshold, value), inplace)


def glu(input, dim=-1):  # noqa: A002
    """The gated linear unit: split ``dim`` into halves a, b and return a * sigmoid(b)."""
    if input.ndim == 0:
        raise RuntimeError("glu: does not support scalars (0-d tensors)")
    d = dim % input.ndim
    if input.shape[d] % 2:
        raise RuntimeError(f"glu: halving dimension must be even, but dimension {dim} is size {input.shape[d]} "
                           f"(input shape {input.shape})")
    a, b = input.chunk(2, d)
    return a * b.sigmoid()


def prelu(input, weight):  # noqa: A002
    """x for x > 0, else weight * x; ``weight`` holds one slope, or one per channel (dim 1; dim 0 of 1-D input)."""
    n = weight.numel()
    if n != 1:
        c = input.shape[1] if input.ndim >= 2 else input.shape[0] if input.ndim == 1 else 1
        if n != c:
            raise ValueError(f"prelu: weight has {n} elements but the input (shape {input.shape}) has {c} channels; "
                             "give one slope, or one per channel")
        shape = (c,) + (1,) * (input.ndim - 2) if input.ndim >= 2 else (c,)
        weight = weight.reshape(shape)
    return where(input > 0, input, weight * input)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):  # noqa: A002
    """Randomised leaky ReLU: in training each negative element gets its own slope drawn from U(lower, upper);
    in eval the slope is (lower + upper) / 2."""
    if lower > upper:
        raise ValueError(f"rrelu: lower ({lower}) must not exceed upper ({upper})")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    slope = rand(*input.shape, dtype=input.dtype, device=input.device) * (upper - lower) + lower
    return _inplace(input, where(input >= 0, input, input * slope), inplace)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """A differentiable sample from the categorical distribution softmax(logits): softmax((logits + g) / tau)
    with g ~ Gumbel(0, 1) = -log(-log(U)). ``hard=True`` returns the one-hot of the sample's largest entry in
    the forward pass and the soft sample's gradient in the backward pass (the straight-through estimator)."""
    u = rand(*logits.shape, dtype=logits.dtype, device=logits.device).clamp(min=1e-20)
    gumbels = -(-u.log()).log()
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    top = y_soft.data == y_soft.data.max(axis=dim, keepdims=True)
    y_hard = Tensor._wrap(top.astype(y_soft.dtype), y_soft.device)
    return y_hard - y_soft.detach() + y_soft


# ---------------------------------------------------------------- dropping whole channels
def _feature_dropout(op, x, p, training, inplace, nd):
    """Zero whole channels (each (sample, channel) pair with probability p), scale the rest by 1/(1-p)."""
    _check_probability(op, "p", p)
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got {x.shape}")
    if not training or p == 0:
        return x
    lead = 2 if x.ndim == nd + 2 else 1
    keep = rand(*x.shape[:lead], *(1,) * (x.ndim - lead), dtype=x.dtype, device=x.device) >= p
    y = x * 0 if p == 1 else x * keep.type(x.dtype) * (1 / (1 - p))
    return _inplace(x, y, inplace)


def dropout1d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Zero whole channels of (N, C, L) (or (C, L)) with probability p, scaling the rest by 1/(1-p)."""
    return _feature_dropout("dropout1d", input, p, training, inplace, 1)


def dropout2d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Zero whole channels (feature maps) of (N, C, H, W) (or (C, H, W)) with probability p. A 3-D input is
    taken as (N, C, L), with PyTorch's warning."""
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a "
                      "batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, "
                      "please switch to using dropout1d instead.", stacklevel=2)
        return _feature_dropout("dropout2d", input, p, training, inplace, 1)
    return _feature_dropout("dropout2d", input, p, training, inplace, 2)


def dropout3d(input, p=0.5, training=True, inplace=False):  # noqa: A002
    """Zero whole channels of (N, C, D, H, W) (or (C, D, H, W)) with probability p."""
    return _feature_dropout("dropout3d", input, p, training, inplace, 3)


# ---------------------------------------------------------------- in-place spellings (x is changed and returned)
def relu_(input):  # noqa: A002
    """relu, in place."""
    return input.copy_(input.relu())


def leaky_relu_(input, negative_slope=0.01):  # noqa: A002
    """leaky_relu, in place."""
    return leaky_relu(input, negative_slope, True)


def elu_(input, alpha=1.0):  # noqa: A002
    """elu, in place."""
    return elu(input, alpha, True)


def selu_(input):  # noqa: A002
    """selu, in place."""
    return selu(input, True)


def celu_(input, alpha=1.0):  # noqa: A002
    """celu, in place."""
    return celu(input, alpha, True)


def hardtanh_(input, min_val=-1.0, max_val=1.0):  # noqa: A002
    """hardtanh, in place."""
    return hardtanh(input, min_val, max_val, True)


def threshold_(input, threshold, value):  # noqa: A002
    """threshold, in place."""
    return input.copy_(_threshold(input, threshold, value))


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):  # noqa: A002
    """rrelu, in place."""
    return rrelu(input, lower, upper, training, True)


__all__ = ["leaky_relu", "elu", "selu", "celu", "softplus", "mish", "hardtanh", "relu6", "logsigmoid", "softmin",
           "softsign", "tanhshrink", "softshrink", "hardshrink", "hardsigmoid", "hardswish", "threshold", "glu",
           "prelu", "rrelu", "gumbel_softmax", "dropout1d", "dropout2d", "dropout3d", "relu_", "leaky_relu_", "elu_", "selu_", "celu_", "hardtanh_", "threshold_", "rrelu_"]
