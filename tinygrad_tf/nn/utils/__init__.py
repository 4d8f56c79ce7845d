"""Gradient utilities, as ``torch.nn.utils``: clip_grad_norm_, clip_grad_value_, get_total_norm,
parameters_to_vector, vector_to_parameters; ``nn.utils.rnn`` has the padded and packed sequence helpers.

The trailing underscore says the parameters' ``.grad`` change, but, as
everywhere in tinygrad_tf, the gradient *arrays* are never written in place (a
gradient may share its array with another tensor): each clipped gradient is a
new Tensor assigned to ``p.grad``.
"""

from __future__ import annotations

import math

from ... import backend
from ...factory import cat
from ...tensor import Tensor
from . import rnn

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "parameters_to_vector", "vector_to_parameters",
           "rnn"]


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    params = [p for p in parameters if p.grad is not None]
    return params


def _norm(arr, norm_type: float):
    """The ``norm_type``-norm of one array, as a 0-d array of its module (computed in float32 or wider)."""
    xp = backend.get_array_module(arr)
    a = arr if arr.dtype.itemsize >= 4 else arr.astype(xp.float32)
    if norm_type == math.inf:
        return xp.abs(a).max() if a.size else xp.zeros((), a.dtype)
    if norm_type == -math.inf:
        return xp.abs(a).min() if a.size else xp.zeros((), a.dtype)
    if norm_type == 2.0:
        flat = a.reshape(-1)
        return xp.sqrt(xp.dot(flat, flat))          # one BLAS call, no |a|^2 temporary
    if norm_type == 1.0:
        return xp.abs(a).sum()
    return (xp.abs(a) ** norm_type).sum() ** (1.0 / norm_type)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """The norm of all the given arrays/tensors together, as if concatenated into one vector."""
    norm_type = float(norm_type)
    arrays = [t.data if isinstance(t, Tensor) else t for t in tensors]
    if not arrays:
        return Tensor(0.0)
    norms = [_norm(a, norm_type) for a in arrays]
    xp = backend.get_array_module(norms[0])
    stacked = xp.stack([n.astype(norms[0].dtype) for n in norms])
    total = _norm(stacked, norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"the total norm of order {norm_type} for gradients is non-finite, so it cannot be "
                           "clipped; set error_if_nonfinite=False to clip anyway")
    return Tensor(xp.asarray(total))


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Scale all gradients together so that their total norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of all gradients concatenated
    (``math.inf`` for the largest absolute value). If it exceeds ``max_norm``,
    every gradient is multiplied by ``max_norm / (total_norm + 1e-6)`` (a NaN or inf norm scales them too,
    as PyTorch, unless ``error_if_nonfinite`` raises instead).
    Returns the total norm *before* clipping, as a 0-d Tensor (as PyTorch),
    which is the number worth logging. ``foreach`` is accepted for PyTorch
    compatibility and ignored.
    """
    params = _grads(parameters)
    total = get_total_norm([p.grad for p in params], norm_type, error_if_nonfinite)
    if not params:
        return total
    coef = float(max_norm) / (float(total.item()) + 1e-6)
    if not coef >= 1.0:                 # also NaN: a NaN norm makes every gradient NaN, as PyTorch
        for p in params:
            g = p.grad.data
            p.grad = Tensor((g * coef).astype(g.dtype, copy=False))   # a new array: never clip in place
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]`` (new arrays, not in place)."""
    clip_value = float(clip_value)
    for p in _grads(parameters):
        xp = backend.get_array_module(p.grad.data)
        p.grad = Tensor(xp.clip(p.grad.data, -clip_value, clip_value))


def parameters_to_vector(parameters) -> Tensor:
    """Every parameter flattened and joined into one vector (differentiable, as PyTorch)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters) -> None:
    """Copy consecutive slices of ``vec`` into the parameters' values (the inverse of parameters_to_vector)."""
    if not isinstance(vec, Tensor) or vec.ndim != 1:
        raise TypeError(f"vector_to_parameters: expected a 1-D Tensor, got {type(vec).__name__}"
                        f"{' of shape ' + str(vec.shape) if isinstance(vec, Tensor) else ''}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.numel() != total:
        raise ValueError(f"vector_to_parameters: the vector has {vec.numel()} values but the parameters {total}")
    start = 0
    for p in params:
        n = p.numel()
        p.data = backend.to_device(vec.data[start:start + n].reshape(p.shape), p.device).astype(p.dtype, copy=True)
        start += n


from ...compat import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr(__name__, "torch.nn.utils")
