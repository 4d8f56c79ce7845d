"""Write tests/fixtures/lr_scheduler_reference.json: PyTorch's learning rates, momenta and parameters under
every schedule of torch.optim.lr_scheduler, for tests/test_lr_scheduler.py.

    python scripts/make_lr_scheduler_fixture.py        # needs torch (CPU is enough)

Each case is two lines of Python, an optimizer and a scheduler, written against the names ``optim``,
``lr_scheduler``, ``p0`` and ``p1`` (two float64 parameters); the fixture stores the code with the results,
and the test runs the same code against tinygrad_tf.optim, so a case is written once. Every step takes
the gradient of  sum((p - c)^2) + <noise_t, p>  (g = 2 (p - c) + noise_t), then ``optimizer.step()``,
then ``scheduler.step()`` (``step(metric)`` for ReduceLROnPlateau, ``step(epoch)`` where ``epochs`` is
given). Recorded after construction and after every step: each group's lr, each group's momentum
(SGD's ``momentum`` or Adam's ``betas[0]``), ``get_last_lr()``, and the parameters.
The tests never import torch; only this script does.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "lr_scheduler_reference.json"

SGD = "optim.SGD([{'params': [p0]}, {'params': [p1], 'lr': 0.05}], lr=0.1, momentum=0.9)"
ADAM = "optim.Adam([{'params': [p0]}, {'params': [p1], 'lr': 0.05}], lr=0.1)"
ADAMW = "optim.AdamW([{'params': [p0]}, {'params': [p1], 'lr': 0.05, 'weight_decay': 0.0}], lr=0.1)"

CASES = {
    "lambda": dict(optimizer=SGD, scheduler="lr_scheduler.LambdaLR(opt, lambda e: 0.95 ** e)", steps=8),
    "lambda_per_group": dict(optimizer=SGD, steps=8, scheduler=(
        "lr_scheduler.LambdaLR(opt, [lambda e: 1 / (e + 1), lambda e: 0.5 ** e])")),
    "multiplicative": dict(optimizer=SGD, scheduler="lr_scheduler.MultiplicativeLR(opt, lambda e: 0.9)", steps=8),
    "step": dict(optimizer=SGD, scheduler="lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)", steps=10),
    "step_default_gamma": dict(optimizer=ADAM, scheduler="lr_scheduler.StepLR(opt, 2)", steps=6),
    "multistep": dict(optimizer=SGD, scheduler="lr_scheduler.MultiStepLR(opt, milestones=[2, 5, 5, 9], gamma=0.3)",
                      steps=11),
    "constant": dict(optimizer=SGD, scheduler="lr_scheduler.ConstantLR(opt, factor=0.25, total_iters=4)", steps=7),
    "constant_default": dict(optimizer=ADAMW, scheduler="lr_scheduler.ConstantLR(opt)", steps=7),
    "linear": dict(optimizer=SGD, steps=9, scheduler=(
        "lr_scheduler.LinearLR(opt, start_factor=0.1, end_factor=0.9, total_iters=6)")),
    "linear_default": dict(optimizer=ADAMW, scheduler="lr_scheduler.LinearLR(opt)", steps=8),
    "exponential": dict(optimizer=SGD, scheduler="lr_scheduler.ExponentialLR(opt, gamma=0.8)", steps=8),
    "polynomial": dict(optimizer=SGD, scheduler="lr_scheduler.PolynomialLR(opt, total_iters=7, power=2.0)", steps=10),
    "polynomial_default": dict(optimizer=ADAM, scheduler="lr_scheduler.PolynomialLR(opt)", steps=7),
    "cosine": dict(optimizer=SGD, scheduler="lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=0.001)", steps=17),
    "cosine_adamw": dict(optimizer=ADAMW, scheduler="lr_scheduler.CosineAnnealingLR(opt, T_max=10)", steps=12),
    "sequential": dict(optimizer=SGD, steps=12, scheduler=(
        "lr_scheduler.SequentialLR(opt, [lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=3), "
        "lr_scheduler.CosineAnnealingLR(opt, T_max=8)], milestones=[3])")),
    "sequential_three": dict(optimizer=ADAMW, steps=10, scheduler=(
        "lr_scheduler.SequentialLR(opt, [lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=2), "
        "lr_scheduler.ExponentialLR(opt, gamma=0.9), lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)], "
        "milestones=[2, 6])")),
    "chained": dict(optimizer=SGD, steps=8, scheduler=(
        "lr_scheduler.ChainedScheduler([lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=3), "
        "lr_scheduler.ExponentialLR(opt, gamma=0.9)])")),
    "plateau": dict(optimizer=SGD, steps=12, scheduler=(
        "lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5, cooldown=1, min_lr=[0.01, 0.02])"),
        metrics=[1.0, 0.9, 0.95, 0.96, 0.97, 0.8, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9]),
    "plateau_max_abs": dict(optimizer=ADAM, steps=10, scheduler=(
        "lr_scheduler.ReduceLROnPlateau(opt, mode='max', threshold_mode='abs', threshold=0.1, patience=2)"),
        metrics=[0.1, 0.15, 0.3, 0.35, 0.38, 0.39, 0.5, 0.55, 0.56, 0.57]),
    "plateau_default": dict(optimizer=SGD, steps=14, scheduler="lr_scheduler.ReduceLROnPlateau(opt)",
                            metrics=[1.0] * 14),
    "cyclic_sgd": dict(optimizer=SGD, steps=14, scheduler=(
        "lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=3, step_size_down=2)")),
    "cyclic_triangular2_adam": dict(optimizer=ADAM, steps=14, scheduler=(
        "lr_scheduler.CyclicLR(opt, base_lr=0.001, max_lr=0.01, step_size_up=2, mode='triangular2', "
        "base_momentum=0.7, max_momentum=0.9)")),
    "cyclic_exp_range": dict(optimizer=SGD, steps=12, scheduler=(
        "lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=2, mode='exp_range', gamma=0.9, "
        "cycle_momentum=False)")),
    "warm_restarts": dict(optimizer=SGD, steps=15, scheduler=(
        "lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=0.001)")),
    "warm_restarts_epochs": dict(optimizer=SGD, steps=8, scheduler=(
        "lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=1)"),
        epochs=[0.5, 1.0, 1.5, 2.25, 3.0, 4.5, 7.0, 7.5]),
    "warm_restarts_epochs_mult": dict(optimizer=SGD, steps=6, scheduler=(
        "lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=3, eta_min=0.01)"),
        epochs=[1, 2.5, 4, 7.5, 8, 20]),
    "onecycle_sgd": dict(optimizer=SGD.replace(", momentum=0.9", ""), steps=20, scheduler=(
        "lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=20)")),
    "onecycle_adamw_linear": dict(optimizer=ADAMW, steps=20, scheduler=(
        "lr_scheduler.OneCycleLR(opt, max_lr=[0.1, 0.05], epochs=4, steps_per_epoch=5, anneal_strategy='linear')")),
    "onecycle_three_phase": dict(optimizer=SGD, steps=15, scheduler=(
        "lr_scheduler.OneCycleLR(opt, max_lr=0.2, total_steps=15, three_phase=True, pct_start=0.25, "
        "div_factor=10.0, final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9)")),
    "onecycle_no_momentum": dict(optimizer=ADAM, steps=10, scheduler=(
        "lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=10, cycle_momentum=False)")),
    "step_epoch_closed_form": dict(optimizer=SGD, steps=6, scheduler="lr_scheduler.StepLR(opt, step_size=3)",
                                   epochs=[1, 2, 3, 7, 4, 10]),
    "cosine_epoch_closed_form": dict(optimizer=SGD, steps=5, scheduler="lr_scheduler.CosineAnnealingLR(opt, T_max=6)",
                                     epochs=[2, 3, 6, 1, 9]),
    "multistep_epoch_closed_form": dict(optimizer=SGD, steps=5, epochs=[1, 3, 5, 2, 8], scheduler=(
        "lr_scheduler.MultiStepLR(opt, milestones=[3, 5, 5], gamma=0.5)")),
}


def inputs():
    rng = np.random.default_rng(4321)
    p0, p1 = rng.standard_normal(3), rng.standard_normal(2)
    c = [rng.standard_normal(3), rng.standard_normal(2)]
    noise = [[rng.standard_normal(3), rng.standard_normal(2)] for _ in range(24)]
    return [p0, p1], c, noise


def momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def run(case, params, c, noise):
    env = {"optim": torch.optim, "lr_scheduler": torch.optim.lr_scheduler, "p0": params[0], "p1": params[1]}
    opt = env["opt"] = eval(case["optimizer"], env)
    sched = eval(case["scheduler"], env)
    rec = {"lr": [], "momentum": [], "last_lr": [], "params": []}

    def record():
        rec["lr"].append([float(g["lr"]) for g in opt.param_groups])
        rec["momentum"].append(momenta(opt))
        rec["last_lr"].append([float(x) for x in sched.get_last_lr()])
        rec["params"].append([p.detach().numpy().tolist() for p in params])

    record()
    for t in range(case["steps"]):
        for p, ci, n in zip(params, c, noise[t]):
            p.grad = 2 * (p.detach() - torch.from_numpy(ci)) + torch.from_numpy(n)
        opt.step()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # step(epoch) is deprecated (and warns in both)
            if "metrics" in case:
                sched.step(case["metrics"][t])
            elif "epochs" in case:
                sched.step(case["epochs"][t])
            else:
                sched.step()
        record()
    return rec


def main():
    p, c, noise = inputs()
    out = {"torch": torch.__version__, "p0": [x.tolist() for x in p], "c": [x.tolist() for x in c],
           "noise": [[x.tolist() for x in n] for n in noise], "cases": {}}
    for name, case in CASES.items():
        params = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in p]
        out["cases"][name] = {**case, **run(case, params, c, noise)}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    cases = out.pop("cases")                      # one line per case: small diffs when a case changes
    lines = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in out.items()]
    lines.append('"cases": {\n' + ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in cases.items()) + "\n}")
    OUT.write_text("{\n" + ",\n".join(lines) + "\n}\n")
    print(f"wrote {OUT} ({len(CASES)} cases, torch {torch.__version__})")


if __name__ == "__main__":
    main()
