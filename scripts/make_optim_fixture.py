"""Write tests/fixtures/optim_reference.npz: PyTorch's optimizer trajectories, for tests/test_optim.py.

    python scripts/make_optim_fixture.py        # needs torch (CPU is enough)

Every case starts from the same float64 parameters, and each step uses the
gradient of  sum((p - c)^2) + <noise_t, p>,  i.e.  g = 2 (p - c) + noise_t,
so the trajectory depends on the optimizer's own updates. The tests recompute
the same gradients with NumPy and compare parameters after every step.
The tests never import torch; only this script does.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import optim_cases  # noqa: E402  (the case tables, shared with tests/test_optim.py)

STEPS = 6
OUT = ROOT / "tests" / "fixtures" / "optim_reference.npz"

CASES = {**optim_cases.CASES, **optim_cases.EXTRA_CASES}   # name -> (optimizer class name, kwargs)
GROUP_CASES = optim_cases.GROUP_CASES


def inputs():
    rng = np.random.default_rng(1234)
    p0 = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    c = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    noise = [[rng.standard_normal((3, 4)), rng.standard_normal(5)] for _ in range(STEPS)]
    return p0, c, noise


def run_case(cls_name, kwargs, grouped):
    p0, c, noise = inputs()
    params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in p0]
    cls = getattr(torch.optim, cls_name)
    if grouped:
        opt = cls([{"params": [params[0]]}, {"params": [params[1]], "lr": kwargs["lr"] * 0.5}], **kwargs)
    else:
        opt = cls(params, **kwargs)
    traj = []
    for t in range(STEPS):
        opt.zero_grad()
        for p, ci, n in zip(params, c, noise[t]):
            p.grad = (2 * (p.detach() - torch.from_numpy(ci)) + torch.from_numpy(n)).clone()
        opt.step()
        traj.append([p.detach().numpy().copy() for p in params])
    return traj


def run_group_case(cls_name, kwargs, options, events):
    p0, c, noise = inputs()
    params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in p0]
    cls = getattr(torch.optim, cls_name)
    adds = [e for e in events if e[0] == "add"]
    groups = [{"params": [params[0]]}] + ([] if adds else [{"params": [params[1]], **options}])
    opt = cls(groups, **kwargs)
    traj = []
    for t in range(STEPS):
        for e in events:
            if e[0] == "lr" and e[1] == t:
                opt.param_groups[e[2]]["lr"] = e[3]
            if e[0] == "add" and e[1] == t:
                opt.add_param_group({"params": [params[1]], **options})
        opt.zero_grad()
        for p, ci, n in zip(params, c, noise[t]):
            p.grad = (2 * (p.detach() - torch.from_numpy(ci)) + torch.from_numpy(n)).clone()
        opt.step()
        traj.append([p.detach().numpy().copy() for p in params])
    return traj


def clip_reference():
    rng = np.random.default_rng(99)
    grads = [rng.standard_normal((4, 3)) * 3, rng.standard_normal(7)]
    out = {}
    for name, norm_type, max_norm in (("l2", 2.0, 1.0), ("inf", math.inf, 0.5), ("l1", 1.0, 2.0),
                                      ("noclip", 2.0, 1e6)):
        ps = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
        for p, g in zip(ps, grads):
            p.grad = torch.from_numpy(g.copy())
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type)
        out[f"clip_{name}_total"] = np.array(total.item())
        for i, p in enumerate(ps):
            out[f"clip_{name}_grad{i}"] = p.grad.numpy().copy()
    for i, g in enumerate(grads):
        out[f"clip_in_grad{i}"] = g
    return out


def main():
    p0, c, noise = inputs()
    arrays = {"p0_0": p0[0], "p0_1": p0[1], "c_0": c[0], "c_1": c[1]}
    for t, (n0, n1) in enumerate(noise):
        arrays[f"noise_{t}_0"], arrays[f"noise_{t}_1"] = n0, n1
    for name, (cls_name, kwargs) in CASES.items():
        traj = run_case(cls_name, kwargs, grouped=name.endswith("_groups"))
        for t, (a, b) in enumerate(traj):
            arrays[f"{name}_{t}_0"], arrays[f"{name}_{t}_1"] = a, b
    for name, case in GROUP_CASES.items():
        for t, (a, b) in enumerate(run_group_case(*case)):
            arrays[f"{name}_{t}_0"], arrays[f"{name}_{t}_1"] = a, b
    arrays.update(clip_reference())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez(OUT, steps=np.array(STEPS), **arrays)
    print(f"wrote {OUT} ({len(arrays)} arrays, torch {torch.__version__})")


if __name__ == "__main__":
    main()
