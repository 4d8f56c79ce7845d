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


def randomise(model, seed):
    """Every weight of a transformers model random: norms ~ 1 + 0.1 N, biases 0.1 N, matrices 0.2 N (T5's
    relative position biases 0.5 N), from ``seed``."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            z = torch.randn(p.shape, generator=g)
            if p.ndim == 1 and ("norm" in name.lower() or name.endswith("layer_norm.weight")):
                p.copy_(1 + 0.1 * z if name.endswith("weight") else 0.1 * z)
            elif p.ndim == 1:
                p.copy_(0.1 * z)
            else:
                p.copy_((0.5 if "relative_attention_bias" in name else 0.2) * z)
