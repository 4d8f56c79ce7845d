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
from pathlib import Path

import numpy as np
import torch

STEPS = 6
OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "optim_reference.npz"

# name -> (optimizer class name, kwargs); "groups" cases put the second parameter in a group with lr * 0.5
CASES = {
    "sgd": ("SGD", dict(lr=0.1)),
    "sgd_momentum": ("SGD", dict(lr=0.05, momentum=0.9)),
    "sgd_dampening_wd": ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1)),
    "sgd_nesterov_wd": ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.05)),
    "adam": ("Adam", dict(lr=0.01)),
    "adam_wd_betas": ("Adam", dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    "adam_amsgrad": ("Adam", dict(lr=0.01, amsgrad=True)),
    "adamw": ("AdamW", dict(lr=0.01)),
    "adamw_wd": ("AdamW", dict(lr=0.03, betas=(0.9, 0.95), weight_decay=0.3)),
    "adamw_groups": ("AdamW", dict(lr=0.03, weight_decay=0.1)),
    "sgd_groups": ("SGD", dict(lr=0.1, momentum=0.5)),
    "sgd_maximize": ("SGD", dict(lr=0.02, momentum=0.9, weight_decay=0.1, maximize=True)),
    "adam_maximize": ("Adam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    "adamw_maximize_amsgrad": ("AdamW", dict(lr=0.01, amsgrad=True, maximize=True)),
    "adam_decoupled": ("Adam", dict(lr=0.02, weight_decay=0.3, decoupled_weight_decay=True)),
    "adamw_noop_options": ("AdamW", dict(lr=0.01, foreach=False, capturable=False, differentiable=False)),
}

# name -> (optimizer class name, kwargs, options of the second parameter's own group, events) where the
# events change the optimizer between steps: ("lr", step, group, value) writes param_groups[group]["lr"]
# before that step; ("add", step, options) starts with the first parameter only and adds the second
# with add_param_group(options) before that step.
GROUP_CASES = {
    "sgd_group_options": ("SGD", dict(lr=0.1, momentum=0.5),
                          dict(lr=0.02, momentum=0.9, nesterov=True, weight_decay=0.1, maximize=True), []),
    "adam_group_options": ("Adam", dict(lr=0.01), dict(betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True,
                                                       maximize=True, eps=1e-3), []),
    "adamw_group_options": ("AdamW", dict(lr=0.02, weight_decay=0.1), dict(weight_decay=0.0, lr=0.05), []),
    "sgd_lr_written": ("SGD", dict(lr=0.1, momentum=0.9), dict(lr=0.05), [("lr", 2, 1, 0.5), ("lr", 4, 0, 0.01)]),
    "adam_lr_written": ("Adam", dict(lr=0.01), dict(), [("lr", 3, 0, 0.1)]),
    "adam_add_group": ("Adam", dict(lr=0.01), dict(lr=0.03, betas=(0.5, 0.6)), [("add", 2)]),
    "sgd_add_group": ("SGD", dict(lr=0.1, momentum=0.9), dict(momentum=0.0), [("add", 3)]),
}


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
