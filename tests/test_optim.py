"""Optimizers, schedules and gradient clipping against PyTorch's numbers.

The reference trajectories come from scripts/make_optim_fixture.py (run once
with torch installed); this file only reads the .npz, it never imports torch.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
from optim_cases import CASES, EXTRA_CASES, GROUP_CASES

import tinygrad_tf as tg
from tinygrad_tf import kernels_cpu, optim
from tinygrad_tf.nn.utils import clip_grad_norm_, clip_grad_value_, get_total_norm

REF = np.load(Path(__file__).parent / "fixtures" / "optim_reference.npz")
STEPS = int(REF["steps"])



def make(name, device="cpu", dtype=np.float64):
    cls_name, kwargs = CASES[name]
    params = [tg.tensor(REF[f"p0_{i}"].astype(dtype), device=device, requires_grad=True) for i in range(2)]
    cls = getattr(optim, cls_name)
    if name.endswith("_groups"):
        opt = cls([{"params": [params[0]]}, {"params": [params[1]], "lr": kwargs["lr"] * 0.5}], **kwargs)
    else:
        opt = cls(params, **kwargs)
    return params, opt


def set_grads(params, t):
    """g = 2 (p - c) + noise_t, the gradient the fixture used."""
    for i, p in enumerate(params):
        c = tg.tensor(REF[f"c_{i}"].astype(p.dtype), device=p.device).data
        n = tg.tensor(REF[f"noise_{t}_{i}"].astype(p.dtype), device=p.device).data
        p.grad = tg.Tensor(2 * (p.data - c) + n)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch(name, device):
    params, opt = make(name, device)
    for t in range(STEPS):
        opt.zero_grad()
        set_grads(params, t)
        opt.step()
        for i, p in enumerate(params):
            np.testing.assert_allclose(p.numpy(), REF[f"{name}_{t}_{i}"], rtol=1e-12, atol=1e-13,
                                       err_msg=f"{name}, step {t + 1}, param {i}")


@pytest.mark.parametrize("name", ["sgd_nesterov_wd", "adamw_wd"])
def test_float32_keeps_dtype_and_tracks_reference(name, device):
    params, opt = make(name, device, np.float32)
    for t in range(STEPS):
        set_grads(params, t)
        opt.step()
    for i, p in enumerate(params):
        assert p.dtype == np.float32
        np.testing.assert_allclose(p.numpy(), REF[f"{name}_{STEPS - 1}_{i}"], rtol=1e-4, atol=1e-5)


def test_adam_first_step_by_hand():
    # After one step with zero state, m_hat = g and v_hat = g^2, so p moves by lr * g / (|g| + eps).
    p = tg.tensor([1.0, -2.0, 3.0], dtype=tg.float64, requires_grad=True)
    p.grad = tg.tensor([0.5, -4.0, 0.0], dtype=tg.float64)
    optim.Adam([p], lr=0.1, eps=1e-8).step()
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.1 * 0.5 / (0.5 + 1e-8), -2.0 + 0.1 * 4 / (4 + 1e-8), 3.0])
    # AdamW first decays the weights by (1 - lr * wd), then takes the same Adam step.
    q = tg.tensor([1.0, -2.0, 3.0], dtype=tg.float64, requires_grad=True)
    q.grad = tg.tensor([0.5, -4.0, 0.0], dtype=tg.float64)
    optim.AdamW([q], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(q.numpy(), np.array([1.0, -2.0, 3.0]) * 0.95 + (p.numpy() - [1.0, -2.0, 3.0]))


def test_sgd_momentum_by_hand():
    p = tg.tensor([1.0], dtype=tg.float64, requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True)
    p.grad = tg.tensor([1.0], dtype=tg.float64)
    opt.step()                    # buf = 1, step = g + 0.9 * buf = 1.9
    p.grad = tg.tensor([1.0], dtype=tg.float64)
    opt.step()                    # buf = 0.9 + 1 = 1.9, step = 1 + 0.9 * 1.9 = 2.71
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.19 - 0.271])


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW])
def test_step_is_not_recorded_and_never_writes_in_place(cls, device):
    w = tg.randn(4, 3, device=device, requires_grad=True)
    x = tg.randn(5, 4, device=device)
    opt = cls([w], lr=0.1, **({"momentum": 0.9} if cls is optim.SGD else {}))
    for _ in range(3):
        opt.zero_grad()
        assert w.grad is None
        loss = (x @ w).tanh().sum()
        loss.backward()
        grad_arr, grad_copy = w.grad.data, w.grad.data.copy()
        old_arr, old_copy = w.data, w.data.copy()
        opt.step()
        assert w.is_leaf and w.grad_fn is None and w.requires_grad
        np.testing.assert_array_equal(tg.Tensor(grad_arr).numpy(), tg.Tensor(grad_copy).numpy())   # grad untouched
        np.testing.assert_array_equal(tg.Tensor(old_arr).numpy(), tg.Tensor(old_copy).numpy())     # old array untouched
        assert not np.array_equal(w.numpy(), tg.Tensor(old_copy).numpy())
        assert w.device == device


def test_params_without_grad_are_skipped():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0], requires_grad=True)
    opt = optim.AdamW([a, b], lr=0.1)
    a.grad = tg.tensor([1.0, 1.0])
    opt.step()
    assert b.tolist() == [3.0]
    assert b not in opt.state


@pytest.mark.parametrize("name", ["sgd_dampening_wd", "adam_amsgrad", "adamw_groups"])
def test_state_dict_resumes_bit_for_bit(name, tmp_path):
    params, opt = make(name)
    for t in range(STEPS):
        set_grads(params, t)
        opt.step()
    straight = [p.numpy().copy() for p in params]

    params, opt = make(name)
    for t in range(3):
        set_grads(params, t)
        opt.step()
    sd = opt.state_dict()
    # Round-trip through a file, as a checkpoint would.
    flat = {f"{i}.{k}": v for i, s in sd["state"].items() for k, v in s.items() if hasattr(v, "shape")}
    np.savez(tmp_path / "opt.npz", **flat)
    saved_params = [p.numpy().copy() for p in params]

    params2, opt2 = make(name)
    for p, arr in zip(params2, saved_params):
        p.data = arr.copy()
    loaded = np.load(tmp_path / "opt.npz")
    sd2 = copy.deepcopy(sd)
    for key in loaded.files:
        i, k = key.split(".")
        sd2["state"][int(i)][k] = loaded[key]
    opt2.load_state_dict(sd2)
    for t in range(3, STEPS):
        set_grads(params2, t)
        opt2.step()
    for a, b in zip(params2, straight):
        np.testing.assert_array_equal(a.numpy(), b)


def test_state_dict_is_a_copy_and_checks_shapes():
    params, opt = make("adam")
    set_grads(params, 0)
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["exp_avg"][...] = 123.0
    assert not np.any(opt.state[params[0]]["exp_avg"] == 123.0)
    assert sd["param_groups"][0]["params"] == [0, 1]
    other = [tg.zeros(2, 2, requires_grad=True), tg.zeros(5, requires_grad=True)]
    with pytest.raises(ValueError, match="shape"):
        optim.Adam(other).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="parameter group"):
        optim.Adam([other[0]]).load_state_dict(opt.state_dict())


def test_param_groups_and_validation():
    a, b = tg.zeros(2, requires_grad=True), tg.zeros(2, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5, "weight_decay": 0.1}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[0]["weight_decay"] == 0.0 and opt.param_groups[1]["weight_decay"] == 0.1
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([a], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="more than one"):
        optim.SGD([{"params": [a]}, {"params": [a]}], lr=0.1)
    with pytest.raises(ValueError, match="empty"):
        optim.Adam([])
    with pytest.raises(ValueError, match="non-leaf"):
        optim.Adam([a * 2])
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([a], betas=(1.0, 0.9))


# ------------------------------------------------------------------ PyTorch's options, groups, maximize
def _assert_step(name, t, params):
    for i, p in enumerate(params):
        np.testing.assert_allclose(p.numpy(), REF[f"{name}_{t}_{i}"], rtol=1e-12, atol=1e-13,
                                   err_msg=f"{name}, step {t + 1}, param {i}")


@pytest.mark.parametrize("name", sorted(EXTRA_CASES))
def test_maximize_and_options_match_pytorch(name, device):
    cls_name, kwargs = EXTRA_CASES[name]
    params = [tg.tensor(REF[f"p0_{i}"], device=device, requires_grad=True) for i in range(2)]
    opt = getattr(optim, cls_name)(params, **kwargs)
    for t in range(STEPS):
        opt.zero_grad()
        set_grads(params, t)
        opt.step()
        _assert_step(name, t, params)


@pytest.mark.parametrize("name", sorted(GROUP_CASES))
def test_param_groups_match_pytorch(name, device):
    """Per-group options, an lr written into a group between steps, a group added half way."""
    cls_name, kwargs, options, events = GROUP_CASES[name]
    params = [tg.tensor(REF[f"p0_{i}"], device=device, requires_grad=True) for i in range(2)]
    adds = [e for e in events if e[0] == "add"]
    groups = [{"params": [params[0]]}] + ([] if adds else [{"params": [params[1]], **options}])
    opt = getattr(optim, cls_name)(groups, **kwargs)
    for t in range(STEPS):
        for e in events:
            if e[0] == "lr" and e[1] == t:
                opt.param_groups[e[2]]["lr"] = e[3]
            if e[0] == "add" and e[1] == t:
                opt.add_param_group({"params": [params[1]], **options})
        opt.zero_grad()
        set_grads(params, t)
        opt.step()
        _assert_step(name, t, params)
    assert len(opt.param_groups) == 2


def test_maximize_climbs():
    p = tg.tensor([0.0], requires_grad=True)
    for cls in (optim.SGD, optim.Adam, optim.AdamW):
        p.data = tg.tensor([0.0]).data
        opt = cls([p], lr=0.1, maximize=True)
        for _ in range(3):
            opt.zero_grad()
            (-(p - 1.0) ** 2).sum().backward()       # maximum at p = 1
            opt.step()
        assert 0.0 < p.item() <= 1.0, cls.__name__


def test_signatures_are_pytorchs():
    import inspect
    sig = {name: str(inspect.signature(getattr(optim, name))) for name in ("SGD", "Adam", "AdamW")}
    assert sig["SGD"] == ("(params, lr=0.001, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, "
                          "maximize=False, foreach=None, differentiable=False, fused=None)")
    assert sig["Adam"] == ("(params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, amsgrad=False, *, "
                           "foreach=None, maximize=False, capturable=False, differentiable=False, fused=None, "
                           "decoupled_weight_decay=False)")
    assert sig["AdamW"] == ("(params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01, amsgrad=False, "
                            "*, maximize=False, foreach=None, capturable=False, differentiable=False, fused=None)")
    a = tg.zeros(2, requires_grad=True)
    g = optim.AdamW([a]).param_groups[0]
    assert {k: g[k] for k in ("foreach", "capturable", "differentiable", "fused", "decoupled_weight_decay")} == \
        dict(foreach=None, capturable=False, differentiable=False, fused=None, decoupled_weight_decay=True)
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together."):
        optim.SGD([a], fused=True, foreach=True)
    with pytest.raises(RuntimeError, match="`fused` does not support `differentiable`"):
        optim.Adam([a], fused=True, differentiable=True)
    with pytest.raises(TypeError, match="unexpected keyword argument 'decoupled_weight_decay'"):
        optim.AdamW([a], decoupled_weight_decay=False)


def test_group_dicts_named_parameters_and_errors():
    a, b = tg.zeros(2, requires_grad=True), tg.zeros(3, requires_grad=True)
    group = {"params": [b], "lr": 0.5}
    opt = optim.SGD([a], lr=0.1)
    opt.add_param_group(group)
    assert opt.param_groups[1] is group and group["momentum"] == 0 and group["lr"] == 0.5   # PyTorch keeps the dict
    named = optim.AdamW([("w", a), ("b", b)], lr=0.1)
    assert named.param_groups[0]["param_names"] == ["w", "b"]
    assert named.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]
    named.load_state_dict(named.state_dict())
    assert named.param_groups[0]["param_names"] == ["w", "b"]
    with pytest.raises(ValueError, match="all optimizer param groups should be with/without names"):
        named.add_param_group({"params": [tg.zeros(1, requires_grad=True)]})
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts"):
        optim.SGD(a)                                  # a tensor is iterable, but not a list of parameters
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {a}}])
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group([a])
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        optim.SGD([a, 1.0])
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.SGD([a], lr=-1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.5"):
        optim.Adam([a], betas=(0.9, 1.5))
    assert optim.SGD([a], lr=tg.tensor(0.25)).param_groups[0]["lr"] == 0.25     # a tensor lr, as PyTorch allows


def test_zero_grad_set_to_none_false_and_state_is_a_defaultdict():
    a = tg.zeros(2, requires_grad=True)
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    a.grad = tg.tensor([1.0, 2.0])
    opt.step()
    opt.zero_grad(set_to_none=False)
    assert a.grad is not None and a.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert a.grad is None
    assert set(opt.state[a]) == {"momentum_buffer"} and opt.state[tg.zeros(1)] == {}


# ------------------------------------------------------------------ schedules
def test_cosine_with_warmup_values():
    f = optim.cosine_with_warmup
    assert [f(s, 4, 14, 0.1) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert f(4, 4, 14, 0.1) == 1.0
    assert math.isclose(f(9, 4, 14, 0.1), 0.1 + 0.9 * 0.5)            # half way through the cosine
    assert math.isclose(f(14, 4, 14, 0.1), 0.1) and f(100, 4, 14, 0.1) == 0.1
    assert math.isclose(f(6, 0, 10, 0.0), 0.5 * (1 + math.cos(math.pi * 0.6)))
    values = [f(s, 4, 14, 0.0) for s in range(4, 15)]
    assert all(a >= b for a, b in zip(values, values[1:]))           # monotone decay


def test_warmup_cosine_scheduler_drives_every_group():
    a, b = tg.zeros(1, requires_grad=True), tg.zeros(1, requires_grad=True)
    opt = optim.AdamW([{"params": [a]}, {"params": [b], "lr": 2e-3}], lr=1e-3)
    sched = optim.lr_scheduler.WarmupCosine(opt, warmup_steps=2, total_steps=6, min_lr_ratio=0.1)
    seen = []
    for _ in range(8):
        seen.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    expect = [optim.cosine_with_warmup(s, 2, 6, 0.1) for s in range(8)]
    np.testing.assert_allclose([s[0] for s in seen], [1e-3 * e for e in expect])
    np.testing.assert_allclose([s[1] for s in seen], [2e-3 * e for e in expect])
    assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
    # Round trip: a new scheduler picks up where the old one was.
    c = tg.zeros(1, requires_grad=True)
    opt2 = optim.AdamW([c], lr=1e-3)
    sched2 = optim.WarmupCosine(opt2, 2, 6, 0.1)
    sched2.load_state_dict(optim.WarmupCosine(optim.AdamW([tg.zeros(1, requires_grad=True)], lr=1e-3), 2, 6, 0.1)
                           .state_dict() | {"last_epoch": 4, "_last_lr": [1e-3 * expect[4]]})
    assert opt2.param_groups[0]["lr"] == 1e-3 * expect[4]
    sched2.step()
    assert math.isclose(opt2.param_groups[0]["lr"], 1e-3 * expect[5])


def test_lambda_lr():
    a = tg.zeros(1, requires_grad=True)
    opt = optim.SGD([a], lr=1.0)
    sched = optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 ** s)
    lrs = []
    for _ in range(3):
        lrs.append(opt.param_groups[0]["lr"])
        sched.step()
    assert lrs == [1.0, 0.5, 0.25]


# ------------------------------------------------------------------ clipping
@pytest.mark.parametrize("name,norm_type,max_norm", [("l2", 2.0, 1.0), ("inf", math.inf, 0.5), ("l1", 1.0, 2.0),
                                                     ("noclip", 2.0, 1e6)])
def test_clip_grad_norm_matches_pytorch(name, norm_type, max_norm, device):
    grads = [REF["clip_in_grad0"], REF["clip_in_grad1"]]
    ps = [tg.zeros(*g.shape, dtype=tg.float64, device=device, requires_grad=True) for g in grads]
    for p, g in zip(ps, grads):
        p.grad = tg.tensor(g, device=device)
    before = [p.grad.data for p in ps]
    total = clip_grad_norm_(ps, max_norm, norm_type=norm_type)
    assert isinstance(total, tg.Tensor) and total.ndim == 0
    assert math.isclose(total.item(), float(REF[f"clip_{name}_total"]), rel_tol=1e-12)
    for i, p in enumerate(ps):
        np.testing.assert_allclose(p.grad.numpy(), REF[f"clip_{name}_grad{i}"], rtol=1e-12)
        np.testing.assert_array_equal(tg.Tensor(before[i]).numpy(), grads[i])   # out of place


def test_clip_helpers():
    a = tg.zeros(3, requires_grad=True)
    a.grad = tg.tensor([3.0, -4.0, 0.0])
    assert math.isclose(get_total_norm([a.grad]).item(), 5.0)
    total = clip_grad_norm_([a], 1.0)
    assert math.isclose(float(total), 5.0)
    np.testing.assert_allclose(a.grad.numpy(), [0.6, -0.8, 0.0], rtol=1e-5)
    b = tg.zeros(2, requires_grad=True)
    assert clip_grad_norm_([b], 1.0).item() == 0.0          # no grads: nothing to do
    b.grad = tg.tensor([2.0, -0.5])
    clip_grad_value_([b], 1.0)
    assert b.grad.tolist() == [1.0, -0.5]
    b.grad = tg.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([b], 1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("loops", [True, False])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("opt", ["Adam", "AdamW"])
def test_adam_steps_a_0d_parameter(opt, amsgrad, loops):
    """A learnable scalar (a temperature, a gate): Adam's first step moves it by lr against the gradient's sign
    (m / sqrt(v) = g / |g| after bias correction), with the NumPy formulas and with the compiled loops."""
    before = kernels_cpu.set_enabled(loops)
    try:
        p = tg.tensor(np.float32(1.5), requires_grad=True)
        o = getattr(optim, opt)([p], lr=0.1, weight_decay=0.0, amsgrad=amsgrad)
        (p * p).backward()
        o.step()
        assert p.shape == () and abs(float(p.item()) - 1.4) < 1e-6
    finally:
        kernels_cpu.set_enabled(before)
