"""Helpers the fixture scripts share (each script needs torch; importing this module does not)."""

from __future__ import annotations


def input_grads(loss, inputs):
    """dL/d(input i) as {"grad<i>": array}, leaving out the inputs PyTorch gives no gradient (none at all
    where ``loss`` is None)."""
    import torch

    record = {}
    if loss is not None:
        grads = torch.autograd.grad(loss, inputs, allow_unused=True)
        for i, g in enumerate(grads):
            if g is not None:
                record[f"grad{i}"] = g.numpy().copy()
    return record


def save_npz(out, data):
    """``data``, with the torch version that made it as "torch_version", written compressed to ``out``."""
    import numpy as np
    import torch

    data["torch_version"] = np.array(torch.__version__)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **data)
