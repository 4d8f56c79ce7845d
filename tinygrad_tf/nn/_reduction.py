"""How a loss reduces its per-element values (PyTorch's ``torch.nn._reduction``): ``reduction`` and the
deprecated ``size_average`` / ``reduce`` flags, shared by every loss in ``nn.functional``."""

from __future__ import annotations

import warnings

from ..tensor_args import _check_choice

REDUCTIONS = ("mean", "sum", "none")


def legacy_reduction(op, size_average, reduce, reduction, choices=REDUCTIONS):
    """PyTorch's deprecated ``size_average`` / ``reduce`` flags, turned into ``reduction`` (with its warning)."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
        warnings.warn(f"{op}: size_average and reduce are deprecated, please use reduction='{reduction}' instead.",
                      stacklevel=3)
    _check_choice(op, "reduction", reduction, choices)
    return reduction


def reduce(loss, reduction):
    """The mean, the sum, or (``"none"``) the per-element losses themselves."""
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss
