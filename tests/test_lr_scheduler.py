"""Learning-rate schedules against PyTorch's numbers (tests/fixtures/lr_scheduler_reference.json).

The fixture (scripts/make_lr_scheduler_fixture.py) stores each case's code — an optimizer and a scheduler,
written against ``optim``, ``lr_scheduler``, ``p0`` and ``p1`` — with PyTorch's learning rates, momenta and
parameters after every step; here the same code runs against tinygrad_tf.optim. This file never imports torch.
"""

from __future__ import annotations

import copy
import json
import math
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

import tinygrad_tf as tg
from tinygrad_tf import optim
from tinygrad_tf.optim import lr_scheduler

REF = json.loads((Path(__file__).parent / "fixtures" / "lr_scheduler_reference.json").read_text())
CASES = REF["cases"]


def momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def build(case, values=None):
    params = [tg.tensor(np.array(v, dtype=np.float64), requires_grad=True) for v in (values or REF["p0"])]
    env = {"optim": optim, "lr_scheduler": lr_scheduler, "p0": params[0], "p1": params[1]}
    opt = env["opt"] = eval(case["optimizer"], env)
    return params, opt, eval(case["scheduler"], env)


def take_step(case, t, params, opt, sched):
    for p, c, n in zip(params, REF["c"], REF["noise"][t]):
        p.grad = tg.tensor(2 * (p.numpy() - np.array(c)) + np.array(n))
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")              # step(epoch) is deprecated, as in PyTorch
        if "metrics" in case:
            sched.step(case["metrics"][t])
        elif "epochs" in case:
            sched.step(case["epochs"][t])
        else:
            sched.step()


def check(case, name, t, params, opt, sched):
    where = f"{name}, after {t} steps"
    np.testing.assert_allclose([g["lr"] for g in opt.param_groups], case["lr"][t], rtol=1e-13, atol=1e-15,
                               err_msg=where + ": lr")
    np.testing.assert_allclose(sched.get_last_lr(), case["last_lr"][t], rtol=1e-13, atol=1e-15,
                               err_msg=where + ": get_last_lr()")
    mine, theirs = momenta(opt), case["momentum"][t]
    assert [m is None for m in mine] == [m is None for m in theirs], where
    if theirs[0] is not None:
        np.testing.assert_allclose(mine, theirs, rtol=1e-13, err_msg=where + ": momentum")
    for i, p in enumerate(params):
        np.testing.assert_allclose(p.numpy(), case["params"][t][i], rtol=1e-11, atol=1e-13,
                                   err_msg=f"{where}: parameter {i}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch(name):
    case = CASES[name]
    params, opt, sched = build(case)
    check(case, name, 0, params, opt, sched)
    for t in range(case["steps"]):
        take_step(case, t, params, opt, sched)
        check(case, name, t + 1, params, opt, sched)


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_resumes(name):
    """Stop half way, save both state dicts, build everything anew, load them: the rest is PyTorch's."""
    case = CASES[name]
    params, opt, sched = build(case)
    half = case["steps"] // 2
    for t in range(half):
        take_step(case, t, params, opt, sched)
    opt_sd, sched_sd = copy.deepcopy(opt.state_dict()), pickle.loads(pickle.dumps(sched.state_dict()))
    params, opt, sched = build(case, [p.numpy().tolist() for p in params])
    opt.load_state_dict(opt_sd)
    sched.load_state_dict(sched_sd)
    check(case, name, half, params, opt, sched)
    for t in range(half, case["steps"]):
        take_step(case, t, params, opt, sched)
        check(case, name, t + 1, params, opt, sched)


def test_import_paths():
    from tinygrad_tf.optim.lr_scheduler import OneCycleLR, StepLR   # as `from torch.optim.lr_scheduler import ...`
    import tinygrad_tf.optim.lr_scheduler as ls
    assert ls is optim.lr_scheduler and StepLR is tg.optim.lr_scheduler.StepLR and OneCycleLR is ls.OneCycleLR
    assert optim.WarmupCosine is ls.WarmupCosine and optim.LambdaLR is ls.LambdaLR    # the old homes still work


def _opt(cls=optim.SGD, **kw):
    return cls([tg.zeros(2, requires_grad=True)], lr=0.1, **kw)


def test_errors_match_pytorch():
    opt = _opt()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), 3)
    with pytest.raises(ValueError, match="You must define either total_steps OR"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="Expected positive integer total_steps"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=0)
    with pytest.raises(ValueError, match="Expected float between 0 and 1 pct_start"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10, pct_start=1)
    with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear'"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10, anneal_strategy="exp")
    with pytest.raises(ValueError, match="max_lr must have the same length as optimizer.param_groups"):
        lr_scheduler.OneCycleLR(opt, max_lr=[0.1, 0.2], total_steps=10)
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas, but got 2"):
        lr_scheduler.LambdaLR(opt, [lambda e: 1, lambda e: 1])
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        lr_scheduler.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode foo is unknown!"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="foo")
    with pytest.raises(ValueError, match="Sequential Schedulers expects number of schedulers"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.ExponentialLR(opt, 0.9)], milestones=[3])
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
        lr_scheduler.ChainedScheduler([lr_scheduler.ReduceLROnPlateau(opt)])
    with pytest.raises(ValueError, match="belong to the same optimizer"):
        lr_scheduler.ChainedScheduler([lr_scheduler.ExponentialLR(opt, 0.9), lr_scheduler.ExponentialLR(_opt(), 0.9)])
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(_opt(), 3, last_epoch=4)
    with pytest.raises(ValueError, match="Expected positive integer T_0"):
        lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        lr_scheduler.OneCycleLR(type("Bare", (), {"param_groups": [{"lr": 0.1}], "defaults": {}})(), 0.1, 10)


def test_one_cycle_stops_after_total_steps():
    opt = _opt()
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total steps is 3"):
        sched.step()


def test_one_cycle_turns_on_sgd_momentum_and_cycles_adam_beta1():
    sgd = _opt()                                    # momentum 0 by default ...
    lr_scheduler.OneCycleLR(sgd, max_lr=0.1, total_steps=10)
    assert sgd.param_groups[0]["momentum"] == 0.95  # ... and 1cycle starts it at max_momentum, as PyTorch does
    assert sgd.param_groups[0]["lr"] == pytest.approx(0.1 / 25)
    adam = _opt(optim.Adam, betas=(0.9, 0.99))
    lr_scheduler.OneCycleLR(adam, max_lr=0.1, total_steps=10, base_momentum=0.8, max_momentum=0.92)
    assert adam.param_groups[0]["betas"] == (0.92, 0.99)


def test_user_written_lr_carries_on_in_chainable_schedules():
    opt = _opt()
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    opt.step(); sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)
    opt.param_groups[0]["lr"] = 1.0                  # a learner changes it by hand
    opt.step(); sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5) and sched.get_last_lr() == [opt.param_groups[0]["lr"]]


def test_get_lr_outside_step_warns_and_epoch_argument_is_deprecated():
    sched = lr_scheduler.StepLR(_opt(), 3)
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()
    with pytest.warns(UserWarning, match="epoch parameter in `scheduler.step\\(\\)` was not necessary"):
        sched.step(5)
    assert sched.get_last_lr() == [pytest.approx(0.1 * 0.1)]   # closed form: 0.1 * gamma ** (5 // 3)


def test_lambda_state_dict_keeps_callable_objects_but_not_functions():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, e):
            return self.rate ** e

    a, b = optim.SGD([{"params": [tg.zeros(1, requires_grad=True)]}, {"params": [tg.zeros(1, requires_grad=True)]}],
                     lr=1.0), Decay()
    sched = lr_scheduler.LambdaLR(a, [lambda e: 1.0, b])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [None, {"rate": 0.5}] and "optimizer" not in sd
    b.rate = 0.1
    sched.load_state_dict(sd)
    assert b.rate == 0.5


def test_plateau_min_lr_and_cooldown():
    opt = _opt()
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.1, min_lr=0.005, cooldown=1)
    lrs = []
    for metric in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]:
        sched.step(tg.tensor(metric))               # a 0-d tensor works, as in PyTorch
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == pytest.approx([0.1, 0.01, 0.01, 0.005, 0.005, 0.005])


def test_warmup_cosine_is_the_closed_form():
    opt = _opt()
    sched = lr_scheduler.WarmupCosine(opt, warmup_steps=2, total_steps=6, min_lr_ratio=0.0)
    seen = [opt.param_groups[0]["lr"]]
    for _ in range(7):
        opt.step()
        sched.step()
        seen.append(opt.param_groups[0]["lr"])
    assert seen == pytest.approx([0.1 * lr_scheduler.cosine_with_warmup(s, 2, 6, 0.0) for s in range(8)])
    assert math.isclose(seen[4], 0.05)
