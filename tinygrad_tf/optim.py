"""Optimizers (SGD, Adam, AdamW) and learning-rate schedules, shaped like ``torch.optim``.

    opt = tg.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    sched = tg.optim.lr_scheduler.WarmupCosine(opt, warmup_steps=100, total_steps=2000)
    for batch in data:
        loss = model(...).loss
        opt.zero_grad(); loss.backward(); opt.step(); sched.step()

Three rules every optimizer here follows:

1. An update is *not* part of the model's computation, so it is never recorded
   in the graph: ``step`` works on the raw ``.data`` arrays (under ``no_grad``),
   and every parameter stays a leaf with ``grad_fn is None``.
2. Nothing is changed in place. A gradient array may be shared with another
   tensor, a parameter's array may be saved by a graph that is still alive:
   each update computes *new* arrays and rebinds ``p.data`` to them.
3. ``state_dict()`` holds everything ``step`` depends on (step counts, moment
   arrays, hyper-parameters), so ``load_state_dict`` resumes bit-for-bit.

Each update is written once for NumPy and CuPy: the arithmetic is plain array
arithmetic on whatever array module owns the parameter.
"""

from __future__ import annotations

import math
import types
from collections.abc import Iterable

from . import backend
from .autograd import no_grad

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "LRScheduler", "LambdaLR", "WarmupCosine",
           "cosine_with_warmup", "lr_scheduler"]

_required = object()   # marks a hyper-parameter that has no default (PyTorch's `required`)


class Optimizer:
    """Base class: parameter groups, per-parameter state, zero_grad, state_dict.

    ``params`` is an iterable of tensors, or of dicts ``{"params": [...], "lr": ...}``
    (parameter groups: each group may override any hyper-parameter, e.g. no
    weight decay for biases and norms). Subclasses implement ``_update``.
    """

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict = {}           # param -> dict of arrays / numbers (keyed by the tensor object)
        if isinstance(params, Iterable) and not isinstance(params, dict):
            params = list(params)
        else:
            raise TypeError("an optimizer takes an iterable of tensors or of parameter-group dicts, "
                            f"got {type(params).__name__}")
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group: dict) -> None:
        group = dict(group)
        ps = group["params"]
        ps = [ps] if hasattr(ps, "data") and hasattr(ps, "grad") else list(ps)
        for p in ps:
            if not (hasattr(p, "data") and hasattr(p, "grad")):
                raise TypeError(f"optimizer params must be tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf tensor (it has a grad_fn); optimize the leaves it "
                                 "was computed from")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in ps) or len({id(p) for p in ps}) != len(ps):
            raise ValueError("some parameters appear in more than one parameter group (or twice in one)")
        for k, v in self.defaults.items():
            if v is _required and k not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {k}")
            group.setdefault(k, v)
        group["params"] = ps
        self.param_groups.append(group)

    # ------------------------------------------------------------ the update
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (set ``p.grad = None``; PyTorch's default)."""
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad = type(p.grad)(backend.get_array_module(p.grad.data).zeros_like(p.grad.data))

    def step(self, closure=None):
        """Update every parameter that has a gradient. Returns ``closure()`` if one is given."""
        loss = None
        if closure is not None:
            from .autograd import enable_grad
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = p.grad.data if hasattr(p.grad, "data") else p.grad
                    if grad.shape != p.data.shape:
                        raise RuntimeError(f"gradient shape {tuple(grad.shape)} does not match parameter "
                                           f"shape {tuple(p.data.shape)}")
                    if grad.dtype != p.data.dtype:
                        grad = grad.astype(p.data.dtype)
                    state = self.state.setdefault(p, {})
                    new = self._update(p.data, grad, state, group, backend.get_array_module(p.data))
                    p.data = new.astype(p.data.dtype, copy=False)
        return loss

    def _update(self, param, grad, state, group, xp):   # pragma: no cover - abstract
        """Return the new parameter array (never modify ``param``, ``grad`` or ``state`` arrays in place)."""
        raise NotImplementedError

    # ------------------------------------------------------------ state_dict
    def _index(self):
        """Parameters numbered 0, 1, 2, ... across groups, in order (PyTorch's scheme)."""
        return [p for g in self.param_groups for p in g["params"]]

    def state_dict(self) -> dict:
        """``{"state": {index: {name: value}}, "param_groups": [{hyper-params..., "params": [indices]}]}``.

        Arrays are copied to NumPy so the dict can be saved anywhere; numbers stay Python numbers.
        """
        params = self._index()
        index = {id(p): i for i, p in enumerate(params)}
        state = {}
        for p in params:
            if p in self.state:
                state[index[id(p)]] = {k: (backend.to_numpy(v).copy() if hasattr(v, "shape") else v)
                                       for k, v in self.state[p].items()}
        groups = []
        for g in self.param_groups:
            d = {k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items() if k != "params"}
            d["params"] = [index[id(p)] for p in g["params"]]
            groups.append(d)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict`` saved (arrays move to each parameter's device and dtype)."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(groups)} parameter groups, this optimizer has "
                             f"{len(self.param_groups)}")
        for mine, theirs in zip(self.param_groups, groups):
            if len(mine["params"]) != len(theirs["params"]):
                raise ValueError("loaded state dict has a parameter group of a different size "
                                 f"({len(theirs['params'])} vs {len(mine['params'])} parameters)")
        old_to_param = {}
        for mine, theirs in zip(self.param_groups, groups):
            for p, i in zip(mine["params"], theirs["params"]):
                old_to_param[int(i)] = p
        new_state = {}
        for i, s in state_dict["state"].items():
            p = old_to_param.get(int(i))
            if p is None:
                raise ValueError(f"loaded optimizer state names parameter {i}, which this optimizer lacks")
            st = {}
            for k, v in s.items():
                if k == "step":
                    v = int(v)
                elif hasattr(v, "shape"):
                    if tuple(v.shape) != tuple(p.data.shape):
                        raise ValueError(f"optimizer state {k!r} for parameter {i} has shape {tuple(v.shape)}, "
                                         f"the parameter has shape {tuple(p.data.shape)}")
                    v = backend.to_device(backend.to_numpy(v), p.device).astype(p.data.dtype, copy=True)
                st[k] = v
            new_state[p] = st
        self.state = new_state
        for mine, theirs in zip(self.param_groups, groups):
            for k, v in theirs.items():
                if k != "params":
                    mine[k] = tuple(v) if isinstance(v, list) else v

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        return "\n".join(lines) + "\n)"


# ---------------------------------------------------------------------------
# SGD
# ---------------------------------------------------------------------------
class SGD(Optimizer):
    """Stochastic gradient descent with momentum (PyTorch's formulation).

        g = grad + weight_decay * p
        b = g                                    (first step)
        b = momentum * b + (1 - dampening) * g   (after)
        g = g + momentum * b  if nesterov else  b
        p = p - lr * g
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                 maximize=False):
        if lr < 0:
            raise ValueError(f"invalid learning rate {lr}")
        if momentum < 0:
            raise ValueError(f"invalid momentum {momentum}")
        if weight_decay < 0:
            raise ValueError(f"invalid weight_decay {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def _update(self, p, g, state, group, xp):
        if group["maximize"]:
            g = -g
        wd, mom = group["weight_decay"], group["momentum"]
        if wd != 0:
            g = g + wd * p
        if mom != 0:
            buf = state.get("momentum_buffer")
            buf = g.copy() if buf is None else mom * buf + (1 - group["dampening"]) * g
            state["momentum_buffer"] = buf
            g = g + mom * buf if group["nesterov"] else buf
        return p - group["lr"] * g


# ---------------------------------------------------------------------------
# Adam and AdamW
# ---------------------------------------------------------------------------
class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; ``weight_decay`` is the L2 kind (added to the gradient).

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 maximize=False):
        if lr < 0:
            raise ValueError(f"invalid learning rate {lr}")
        if eps < 0:
            raise ValueError(f"invalid epsilon {eps}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"invalid betas {betas}: each must be in [0, 1)")
        if weight_decay < 0:
            raise ValueError(f"invalid weight_decay {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _update(self, p, g, state, group, xp):
        if group["maximize"]:
            g = -g
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if wd != 0:
            if self._decoupled:
                p = p * (1 - lr * wd)           # AdamW: shrink the weights, apart from the gradient
            else:
                g = g + wd * p                  # Adam: L2 penalty folded into the gradient
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p)
            state["exp_avg_sq"] = xp.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p)
        t = state["step"] = state["step"] + 1
        m = state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * g
        v = state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * (g * g)
        if group["amsgrad"]:
            v = state["max_exp_avg_sq"] = xp.maximum(state["max_exp_avg_sq"], v)
        bias1 = 1 - beta1 ** t
        bias2 = 1 - beta2 ** t
        denom = xp.sqrt(v) / math.sqrt(bias2) + eps
        return p - (lr / bias1) * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p = p * (1 - lr * weight_decay)``
    before the Adam step, so the decay is not rescaled by the adaptive denominator.
    Default ``weight_decay=1e-2``, as PyTorch."""

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                 maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize)


# ---------------------------------------------------------------------------
# learning-rate schedules
# ---------------------------------------------------------------------------
def cosine_with_warmup(step: int, warmup_steps: int, total_steps: int, min_lr_ratio: float = 0.1) -> float:
    """The multiplier of the base learning rate at optimizer step ``step`` (0-based).

    Linear warmup ``(step + 1) / warmup_steps`` for the first ``warmup_steps`` steps
    (so the very first step already learns a little), then a half cosine from 1
    down to ``min_lr_ratio`` at ``total_steps``, and ``min_lr_ratio`` after that.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if total_steps <= warmup_steps:
        return 1.0 if step < total_steps else min_lr_ratio
    progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
    return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


class LRScheduler:
    """Base class (PyTorch's ``LRScheduler``): sets each group's ``lr`` to ``initial_lr * factor(step)``.

    Call ``scheduler.step()`` once after each ``optimizer.step()``. Construction
    already applies the factor for step 0.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        self.optimizer = optimizer
        for g in optimizer.param_groups:
            if last_epoch == -1:
                g.setdefault("initial_lr", g["lr"])
            elif "initial_lr" not in g:
                raise KeyError("param 'initial_lr' is not specified in param_groups when resuming a scheduler")
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def factor(self, step: int) -> float:   # pragma: no cover - abstract
        raise NotImplementedError

    def get_lr(self) -> list[float]:
        f = self.factor(self.last_epoch)
        return [base * f for base in self.base_lrs]

    def step(self) -> None:
        self.last_epoch += 1
        for g, lr in zip(self.optimizer.param_groups, self.get_lr()):
            g["lr"] = lr
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        return list(self._last_lr)

    def state_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer" and not callable(v)}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)
        for g, lr in zip(self.optimizer.param_groups, self._last_lr):
            g["lr"] = lr


class LambdaLR(LRScheduler):
    """``lr = initial_lr * lr_lambda(step)`` (the function itself is not saved in ``state_dict``)."""

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        self.lr_lambda = lr_lambda
        super().__init__(optimizer, last_epoch)

    def factor(self, step):
        return self.lr_lambda(step)


class WarmupCosine(LRScheduler):
    """Linear warmup then cosine decay to ``min_lr_ratio * initial_lr`` (see ``cosine_with_warmup``)."""

    def __init__(self, optimizer, warmup_steps: int, total_steps: int, min_lr_ratio: float = 0.1,
                 last_epoch: int = -1):
        if warmup_steps < 0 or total_steps < 0:
            raise ValueError("warmup_steps and total_steps must be >= 0")
        if not 0.0 <= min_lr_ratio <= 1.0:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {min_lr_ratio}")
        self.warmup_steps, self.total_steps, self.min_lr_ratio = int(warmup_steps), int(total_steps), min_lr_ratio
        super().__init__(optimizer, last_epoch)

    def factor(self, step):
        return cosine_with_warmup(step, self.warmup_steps, self.total_steps, self.min_lr_ratio)


# ``tg.optim.lr_scheduler.WarmupCosine(...)`` reads like ``torch.optim.lr_scheduler.X``.
lr_scheduler = types.SimpleNamespace(LRScheduler=LRScheduler, LambdaLR=LambdaLR, WarmupCosine=WarmupCosine,
                                     cosine_with_warmup=cosine_with_warmup)
