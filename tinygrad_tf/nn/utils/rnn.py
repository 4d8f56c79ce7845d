"""Batches of sequences of different lengths, as ``torch.nn.utils.rnn``: pad_sequence, pack_padded_sequence,
pad_packed_sequence, pack_sequence, unpad_sequence, unpack_sequence and PackedSequence.

A PackedSequence stores a batch time step by time step, longest sequence first, leaving out the padding:

    sequences  a b c d        data        = [a e h | b f i | c g | d]     (step 0 | step 1 | ...)
               e f g          batch_sizes = [3, 3, 2, 1]                   (sequences still running at each step)
               h i

An RNN, LSTM or GRU given one runs each sequence for its own length only: its final state is the state after
its own last element (and, in the reverse direction, the state starts at that element).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ...factory import cat, full, stack, zeros
from ...tensor import Tensor

__all__ = ["PackedSequence", "pad_sequence", "pack_padded_sequence", "pad_packed_sequence", "pack_sequence",
           "unpad_sequence", "unpack_sequence"]


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """(data, batch_sizes, sorted_indices, unsorted_indices), as PyTorch: ``data`` (sum of lengths, *) the steps
    of the sorted batch one after another, ``batch_sizes`` (int64) how many sequences each step has, and the
    permutations to and from the sorted order (None when the batch came sorted)."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """The same sequence with ``data`` moved (``.to(device)`` / ``.to(dtype)``)."""
        return self._replace(data=self.data.to(*args, **kwargs))

    @property
    def is_cuda(self):
        """Whether ``data`` is on the GPU."""
        return self.data.device != "cpu"


def _lengths(lengths):
    arr = lengths.numpy() if isinstance(lengths, Tensor) else np.asarray(lengths)
    return arr.astype(np.int64).reshape(-1)


def _index(idx, device):
    return Tensor(np.asarray(idx, dtype=np.int64)).to(device)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shapes (L_i, *) into (L_max, B, *) (``batch_first``: (B, L_max, *)), filling the
    missing steps with ``padding_value`` on the right (or the left)."""
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got {padding_side!r}")
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    tail = tuple(sequences[0].shape[1:])
    if any(tuple(s.shape[1:]) != tail for s in sequences):
        raise RuntimeError(f"pad_sequence: every sequence must have the trailing shape {tail}, got "
                           f"{[tuple(s.shape) for s in sequences]}")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        gap = longest - s.shape[0]
        if gap:
            fill = full((gap, *tail), padding_value, dtype=s.dtype, device=s.device)
            s = cat([s, fill] if padding_side == "right" else [fill, s], dim=0)
        padded.append(s)
    return stack(padded, dim=0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The inverse of pad_sequence: a list of (L_i, *) tensors."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[i, :n] for i, n in enumerate(_lengths(lengths))]


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):  # noqa: A002
    """Pack a padded batch (L, B, *) (``batch_first``: (B, L, *)) whose sequence i has length lengths[i]. With
    ``enforce_sorted`` the lengths must already decrease; otherwise the batch is sorted here (and unsorted
    again by pad_packed_sequence and the RNN's final states)."""
    lens = _lengths(lengths)
    x = input.transpose(0, 1) if batch_first else input                          # (L, B, *)
    if len(lens) != x.shape[1]:
        raise ValueError(f"pack_padded_sequence: got {len(lens)} lengths for a batch of {x.shape[1]} sequences "
                         f"(input shape {input.shape}, batch_first={batch_first})")
    if lens.size and (lens.min() <= 0 or lens.max() > x.shape[0]):
        raise RuntimeError(f"pack_padded_sequence: lengths must lie in [1, {x.shape[0]}], got {lens.tolist()}")
    sorted_indices = unsorted_indices = None
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise RuntimeError("pack_padded_sequence: `lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` to pack_padded_sequence "
                               "and/or pack_sequence to sidestep this requirement if you do not need ONNX "
                               "exportability.")
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        x = x[:, _index(order, x.device)]
        sorted_indices, unsorted_indices = _index(order, x.device), _index(np.argsort(order), x.device)
    batch_sizes = np.array([(lens > t).sum() for t in range(int(lens[0]))], dtype=np.int64)
    data = cat([x[t, :int(b)] for t, b in enumerate(batch_sizes)], dim=0)
    return PackedSequence(data, Tensor(batch_sizes), sorted_indices, unsorted_indices)


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of (L_i, *) tensors (pad_sequence, then pack_padded_sequence)."""
    return pack_padded_sequence(pad_sequence(sequences), [s.shape[0] for s in sequences],
                                enforce_sorted=enforce_sorted)


def packed_to_steps(packed):
    """The steps of a PackedSequence as a list of (B, *) tensors in the sorted order, each padded with zeros
    below its running sequences, and the sorted lengths (a NumPy array, longest first)."""
    sizes = _lengths(packed.batch_sizes)
    batch, data = int(sizes[0]), packed.data
    steps, start = [], 0
    for b in sizes:
        step = data[start:start + int(b)]
        if b < batch:
            step = cat([step, zeros(batch - int(b), *data.shape[1:], dtype=data.dtype, device=data.device)], dim=0)
        steps.append(step)
        start += int(b)
    lengths = np.array([(sizes > i).sum() for i in range(batch)], dtype=np.int64)
    return steps, lengths


def steps_to_packed(steps, like):
    """Per-step (B, *) outputs back into a PackedSequence with ``like``'s batch sizes and permutations."""
    sizes = _lengths(like.batch_sizes)
    data = cat([s[:int(b)] for s, b in zip(steps, sizes)], dim=0)
    return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of pack_padded_sequence: (padded (L, B, *) or (B, L, *) in the original batch order, lengths
    as an int64 tensor). ``total_length`` pads to that many steps."""
    steps, lengths = packed_to_steps(sequence)
    if total_length is not None:
        if total_length < len(steps):
            raise ValueError(f"pad_packed_sequence: total_length={total_length} is shorter than the longest "
                             f"sequence ({len(steps)})")
        steps += [zeros(*steps[0].shape, dtype=steps[0].dtype, device=steps[0].device)] * (total_length - len(steps))
    x = stack(steps)                                                               # (L, B, *)
    if padding_value:
        live = (np.arange(x.shape[0])[:, None] < lengths[None, :]).reshape(x.shape[:2] + (1,) * (x.ndim - 2))
        x = x + Tensor(np.where(live, 0.0, padding_value).astype(x.dtype)).to(x.device)
    if sequence.unsorted_indices is not None:
        x = x[:, _index(sequence.unsorted_indices.numpy(), x.device)]
        lengths = lengths[sequence.unsorted_indices.numpy()]
    return (x.transpose(0, 1) if batch_first else x), Tensor(lengths)


def unpack_sequence(packed_sequences):
    """The inverse of pack_sequence: a list of (L_i, *) tensors."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


from ...compat import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr(__name__, "torch.nn.utils.rnn")
