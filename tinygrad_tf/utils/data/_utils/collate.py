"""Turning a list of samples into a batch: ``default_collate`` (and ``default_convert``), as PyTorch's.

``default_collate`` works on the *structure* of the first sample and recurses:

    tensors          -> tg.stack(samples)              (a new first dimension, the batch)
    NumPy arrays     -> tensors, then stacked           (their dtype kept)
    NumPy scalars    -> a tensor of their dtype
    float            -> a float64 tensor                (PyTorch's choice, though tg's default float is float32)
    int (and bool)   -> an int64 (bool) tensor
    str, bytes       -> the list as it is
    dict (Mapping)   -> the same kind of dict, each key collated
    namedtuple       -> the same namedtuple, each field collated
    tuple, list      -> a list (a tuple becomes a list, as in PyTorch), each position collated

so ``[(x0, 0), (x1, 1)]`` becomes ``[stack([x0, x1]), tensor([0, 1])]``. ``collate(batch, collate_fn_map=...)``
with a dict of your own ``{type: fn}`` (start from ``default_collate_fn_map``) handles more types.
``default_convert`` is what a DataLoader with ``batch_size=None`` applies to each sample: NumPy to
tensors, the rest as it is.
"""

from __future__ import annotations

import collections.abc
import copy
import re

import numpy as np

from ....factory import stack, tensor
from ....tensor import Tensor

__all__ = ["default_collate", "default_convert", "collate", "default_collate_fn_map"]

np_str_obj_array_pattern = re.compile(r"[SaUO]")     # NumPy dtypes of strings and objects: not collatable
default_collate_err_msg_format = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                                  "lists; found {}")


def default_convert(data):
    """NumPy arrays and scalars (also inside dicts, tuples, lists) to tensors; everything else as it is."""
    t = type(data)
    if isinstance(data, Tensor):
        return data
    if t.__module__ == "numpy" and t.__name__ not in ("str_", "string_", "bytes_"):
        if isinstance(data, np.ndarray) and np_str_obj_array_pattern.search(data.dtype.str) is not None:
            return data
        return tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {k: default_convert(data[k]) for k in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):       # namedtuple
        return t(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def _rebuild_mapping(like, values: dict):
    """A mapping of ``like``'s type (an OrderedDict stays one) holding ``values``; a plain dict if it cannot be."""
    try:
        if isinstance(like, collections.abc.MutableMapping):
            out = copy.copy(like)
            out.update(values)
            return out
        return type(like)(values)
    except TypeError:
        return values


def _rebuild_sequence(like, values: list):
    try:
        if isinstance(like, collections.abc.MutableSequence):
            out = copy.copy(like)
            for i, v in enumerate(values):
                out[i] = v
            return out
        return type(like)(values)
    except TypeError:
        return values


def collate(batch, *, collate_fn_map: dict | None = None):
    """Collate ``batch`` (a list of samples) by the type of its first sample: an exact type in
    ``collate_fn_map`` first, then the first ``isinstance`` match there, then mappings and sequences."""
    elem = batch[0]
    t = type(elem)
    if collate_fn_map is not None:
        if t in collate_fn_map:
            return collate_fn_map[t](batch, collate_fn_map=collate_fn_map)
        for kind, fn in collate_fn_map.items():
            if isinstance(elem, kind):
                return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {k: collate([d[k] for d in batch], collate_fn_map=collate_fn_map)
                                       for k in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):       # namedtuple
        return t(*(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)]   # s: a tuple (strings stay one)
        return columns if isinstance(elem, tuple) else _rebuild_sequence(elem, columns)
    raise TypeError(default_collate_err_msg_format.format(t))


def collate_tensor_fn(batch, *, collate_fn_map=None):
    return stack(batch, 0)


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    if np_str_obj_array_pattern.search(batch[0].dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(batch[0].dtype))
    return collate([tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    return tensor(np.asarray(batch))


def collate_float_fn(batch, *, collate_fn_map=None):
    return tensor(batch, dtype=np.float64)


def collate_int_fn(batch, *, collate_fn_map=None):
    return tensor(batch)


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


# the order matters: np.float64 is also a Python float, bool is also an int
default_collate_fn_map: dict = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch):
    """Stack a list of samples into a batch, keeping their structure (see the module docstring)."""
    return collate(batch, collate_fn_map=default_collate_fn_map)
