"""Batch statistics: ``batch_norm``, ``instance_norm``, ``local_response_norm`` (``nn.functional`` re-exports
them; layer_norm, rms_norm and group_norm live in functional.py).

Batch normalisation, per channel c of an (N, C, *) input:

    training:   y = (x - mean_c) / sqrt(var_c + eps) * weight_c + bias_c     (the batch's mean and biased var,
                running_mean <- (1 - momentum) running_mean + momentum mean_c       over N and every position)
                running_var  <- (1 - momentum) running_var  + momentum var_c * n / (n - 1)   (unbiased)
    evaluation: the same with running_mean and running_var in place of the batch's statistics.

The running statistics are updated in place (their arrays, outside the graph), as PyTorch.
"""

from __future__ import annotations

from ..tensor import Tensor
from . import amp
from .functional_pad import pad

__all__ = ["batch_norm", "instance_norm", "local_response_norm"]


def _per_channel(t, ndim):
    """(C,) -> (C, 1, ...), broadcasting against (N, C, *spatial)."""
    return t.reshape(t.shape[0], *(1,) * (ndim - 2))


def _update_running(running, batch_value, momentum):
    """running <- (1 - momentum) running + momentum batch_value, in place (no graph)."""
    arr = running.data
    arr[...] = ((1 - momentum) * arr + momentum * batch_value.astype(arr.dtype, copy=False)).astype(arr.dtype)


def _normalize(x, dims, eps):
    """(x - mean) / sqrt(var + eps) over ``dims`` (biased var), and the mean and var themselves."""
    mean = x.mean(dims, keepdim=True)
    centred = x - mean
    var = (centred * centred).mean(dims, keepdim=True)
    return centred * (var + eps).rsqrt(), mean, var


def _affine(y, weight, bias):
    if weight is not None:
        y = y * _per_channel(weight, y.ndim)
    if bias is not None:
        y = y + _per_channel(bias, y.ndim)
    return y


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,  # noqa: A002
               eps=1e-5):
    """Normalise each channel (dim 1) of (N, C, *) with the batch's statistics (``training``; the running
    statistics, when given, are updated) or with ``running_mean`` / ``running_var`` (evaluation)."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C, *), got {input.shape}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"batch_norm: {name} must have one value per channel ({c},), got shape {tuple(t.shape)} "
                             f"(input shape {input.shape})")
    x = amp.full(input)
    dims = (0,) + tuple(range(2, x.ndim))
    if training:
        n = x.numel() // c
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input of shape "
                             f"{input.shape}")
        y, mean, var = _normalize(x, dims, eps)
        if running_mean is not None:
            _update_running(running_mean, mean.data.reshape(c), momentum)
        if running_var is not None:
            _update_running(running_var, var.data.reshape(c) * (n / (n - 1)), momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed in evaluation (training=False)")
        mean = Tensor._wrap(running_mean.data.astype(x.dtype, copy=False), x.device)
        var = Tensor._wrap(running_var.data.astype(x.dtype, copy=False), x.device)
        y = (x - _per_channel(mean, x.ndim)) * (_per_channel(var, x.ndim) + eps).rsqrt()
    return _affine(y, weight, bias)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,  # noqa: A002
                  momentum=0.1, eps=1e-5):
    """Normalise each channel of each sample (N, C, *) over its own positions (style transfer's norm); the
    running statistics, when given, follow the batch average of the per-sample ones."""
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected an input of shape (N, C, L, ...), got {input.shape}")
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    x = amp.full(input)
    dims = tuple(range(2, x.ndim))
    n = x.numel() // (x.shape[0] * x.shape[1])
    if n <= 1:
        raise ValueError(f"instance_norm: expected more than 1 spatial element per channel, got input of shape "
                         f"{input.shape}")
    y, mean, var = _normalize(x, dims, eps)
    c = x.shape[1]
    if running_mean is not None:
        _update_running(running_mean, mean.data.reshape(-1, c).mean(0), momentum)
    if running_var is not None:
        _update_running(running_var, var.data.reshape(-1, c).mean(0) * (n / (n - 1)), momentum)
    return _affine(y, weight, bias)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):  # noqa: A002
    """AlexNet's normalisation across channels: x / (k + alpha * mean of x^2 over ``size`` neighbouring
    channels)^beta (the window is zero-padded at the ends and always divided by ``size``, as PyTorch)."""
    if input.ndim < 3:
        raise ValueError(f"local_response_norm: expected an input of shape (N, C, *), got {input.shape}")
    sq = (input * input).unsqueeze(1)                                   # (N, 1, C, *)
    pads = [0, 0] * (input.ndim - 2) + [size // 2, (size - 1) // 2]
    sq = pad(sq, pads)
    c = input.shape[1]
    total = sq[:, :, 0:c]
    for i in range(1, size):
        total = total + sq[:, :, i:i + c]
    return input / (total.squeeze(1) * (alpha / size) + k) ** beta
