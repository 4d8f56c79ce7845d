"""Write tests/fixtures/torch_ops_reference.npz: PyTorch's outputs and gradients for tests/test_torch_ops.py.

    python scripts/make_torch_ops_fixture.py        # needs torch==2.13.0 (the CPU build is enough)

Every case of tests/torch_ops_cases.py (PyTorch teaching-code snippets written against ``lib``) runs here
with ``lib = torch`` on float64 inputs drawn from a seeded generator. Stored per case, under "<case>|...":
the inputs ``in<i>``, the outputs ``out<k>`` (values, and int64 indices for sort / topk), the weights
``w<k>`` of the fixed scalar function  L = sum_k sum(out_k * w_k)  over the floating outputs that require
grad, and dL/d(input i) as ``grad<i>`` (missing where PyTorch gives none). The tests never import torch;
only this script does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "torch_ops_reference.npz"
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))
from fixture_common import input_grads, save_npz  # noqa: E402
from torch_ops_cases import CASES  # noqa: E402


def draw(shape, domain, rng):
    n = int(np.prod(shape, dtype=np.int64))
    if domain == "any":
        x = rng.standard_normal(n)
    elif domain == "distinct":
        x = (rng.permutation(n) - n / 2) * 0.25 + rng.uniform(0, 0.1)
    elif domain == "ties":
        x = rng.integers(0, 3, n).astype(np.float64)
    elif domain == "away0":
        x = rng.uniform(0.5, 2, n) * rng.choice([-1.0, 1.0], n)
    elif domain == "clamp":
        x = rng.uniform(-2, 2, n)
        x = np.where(np.abs(np.abs(x) - 0.5) < 0.05, x + 0.1, x)
    else:
        raise ValueError(f"unknown domain {domain!r}")
    return x.reshape(shape)


def outputs(result):
    return list(result) if isinstance(result, tuple) else [result]


def run(name, fn, specs, rng):
    arrays = [draw(s, d, rng) for s, d in specs]
    inputs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    outs = outputs(fn(torch, *inputs))
    record = {f"in{i}": a for i, a in enumerate(arrays)}
    loss = None
    for k, o in enumerate(outs):
        record[f"out{k}"] = o.detach().numpy().copy()
        if o.is_floating_point() and o.requires_grad:
            w = rng.standard_normal(tuple(o.shape))
            record[f"w{k}"] = w
            term = (o * torch.from_numpy(w)).sum()
            loss = term if loss is None else loss + term
    record.update(input_grads(loss, inputs))
    return {f"{name}|{key}": value for key, value in record.items()}


def main():
    rng = np.random.default_rng(2024)
    data = {}
    for name, (fn, specs) in CASES.items():
        data.update(run(name, fn, specs, rng))
    save_npz(OUT, data)
    print(f"wrote {OUT.relative_to(ROOT)}: {len(CASES)} cases, {len(data)} arrays (torch {torch.__version__})")


if __name__ == "__main__":
    main()
