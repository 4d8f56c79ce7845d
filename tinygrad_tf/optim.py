"""Optimizers (SGD, Adam, AdamW) and learning-rate schedules, shaped like ``torch.optim``.

    opt = tg.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    sched = tg.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=2000)
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

PyTorch's options that only choose *how* its kernels run the same math — ``foreach`` (one kernel over
all parameters), ``fused`` (one fused kernel), ``capturable`` (CUDA-graph capture), ``differentiable``
(record the update in the graph, for meta-learning) — are accepted, kept in each group like PyTorch
keeps them, and change nothing here: there is one way to run the update, and it is never recorded
(rule 1). ``maximize=True`` is real: it climbs the objective.

The schedules live in ``lr_scheduler.py`` and are imported as ``tinygrad_tf.optim.lr_scheduler``, as
PyTorch's are (``from tinygrad_tf.optim.lr_scheduler import StepLR`` works too).
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict

import numpy as np

from . import backend, kernels_cpu, lr_scheduler, parallel_cpu
from .autograd import enable_grad, no_grad
from .parallel_cpu import each_on_all_cores, for_rows
from .lr_scheduler import LambdaLR, LRScheduler, WarmupCosine, cosine_with_warmup  # noqa: F401  (old homes)

# ``import tinygrad_tf.optim.lr_scheduler`` finds the module, as ``import os.path`` finds the module
# os.py imports: optim is a module, not a package, so it registers its submodule itself.
sys.modules[__name__ + ".lr_scheduler"] = lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"]

_required = object()   # marks a hyper-parameter that has no default (PyTorch's `required`)


def _is_tensor(x) -> bool:
    return hasattr(x, "data") and hasattr(x, "grad") and hasattr(x, "is_leaf")


def _scalar(name: str, v):
    """A hyper-parameter given as a one-element tensor (PyTorch allows ``lr=torch.tensor(0.01)``) -> float."""
    if _is_tensor(v):
        if v.data.size != 1:
            raise ValueError(f"Tensor {name} must be 1-element")
        return float(v.item())
    return v


def _check_kernel_options(foreach, fused, differentiable):
    """foreach/fused/differentiable choose PyTorch's kernels (no-ops here); their conflicts are still errors."""
    if fused and differentiable:
        raise RuntimeError("`fused` does not support `differentiable`")
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


class Optimizer:
    """Base class: parameter groups, per-parameter state, zero_grad, state_dict (PyTorch's ``Optimizer``).

    ``params`` is an iterable of tensors, of ``(name, tensor)`` pairs (``model.named_parameters()``:
    the names are kept in each group's ``"param_names"``), or of dicts ``{"params": [...], "lr": ...}``
    — parameter groups: each group may override any hyper-parameter (e.g. no weight decay for biases
    and norms); the rest come from ``defaults``. ``param_groups[i]["lr"]`` (or any option) may be
    written at any time and the next ``step`` uses it. Subclasses implement ``_update``.
    """

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: defaultdict = defaultdict(dict)   # param -> dict of arrays / numbers (keyed by the tensor)
        if _is_tensor(params) or isinstance(params, dict) or not hasattr(params, "__iter__"):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {type(params).__module__}.{type(params).__name__}")
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group (a dict with ``"params"`` and any options; the others come from ``defaults``).

        As in PyTorch the dict itself becomes ``param_groups[-1]``. A parameter may be in one group only.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        ps = param_group["params"]
        if _is_tensor(ps):
            ps = [ps]
        elif isinstance(ps, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            ps = list(ps)
        names = [p[0] for p in ps if isinstance(p, tuple)]
        ps = [p[1] if isinstance(p, tuple) else p for p in ps]
        if names:
            if len(names) != len(ps):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        for p in ps:
            if not _is_tensor(p):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__module__}.{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf tensor (it has a grad_fn); optimize the leaves it "
                                 "was computed from")
        for g in self.param_groups:
            if ("param_names" in g) != ("param_names" in param_group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in ps) or len({id(p) for p in ps}) != len(ps):
            raise ValueError("some parameters appear in more than one parameter group (or twice in one)")
        for k, v in self.defaults.items():
            if v is _required and k not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {k}")
            param_group.setdefault(k, v)
        param_group["params"] = ps
        self.param_groups.append(param_group)

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
            with enable_grad():
                loss = closure()
        with no_grad():
            work = []
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
                    work.append((p, grad, self.state.setdefault(p, {}), group))

            def update(item):            # (the new array replaces the old at once: one parameter's copy at a time)
                p, grad, state, group = item
                new = self._update(p.data, grad, state, group, backend.get_array_module(p.data))
                p.data = new.astype(p.data.dtype, copy=False)
            # every parameter's update is independent of the others': on the CPU they share the cores
            # (each update is a few NumPy passes over one parameter, too small to cut on its own)
            spread = (self._independent_updates and all(type(p.data) is np.ndarray for p, *_ in work)
                      and sum(p.data.size for p, *_ in work) >= parallel_cpu.MIN_SIZE)
            if spread:
                each_on_all_cores(update, work)
            else:
                for item in work:
                    update(item)
        return loss

    _independent_updates = False    # True: _update touches only its own parameter's state (so the parameters
                                    # may be updated side by side, on all cores)

    def _update(self, param, grad, state, group, xp):   # pragma: no cover - abstract
        """Return the new parameter array (never modify ``param`` or ``grad`` in place; state arrays the optimizer
        made itself it may update in place, as Adam's moments)."""
        raise NotImplementedError

    # ------------------------------------------------------------ state_dict
    def _index(self):
        """Parameters numbered 0, 1, 2, ... across groups, in order (PyTorch's scheme)."""
        return [p for g in self.param_groups for p in g["params"]]

    def state_dict(self) -> dict:
        """``{"state": {index: {name: value}}, "param_groups": [{hyper-params..., "params": [indices]}]}``.

        PyTorch's layout (parameters numbered across groups in order). Arrays are copied to NumPy and tuples
        become lists, so the dict can be saved anywhere (JSON included); numbers stay Python numbers.
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
        """Restore what ``state_dict`` saved: the state (arrays move to each parameter's device and dtype) and
        every group's options (``lr`` included). The groups must match in number and size, as in PyTorch."""
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
        new_state = defaultdict(dict)
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
                    mine[k] = tuple(v) if isinstance(v, list) and k != "param_names" else v

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

        g = -grad  if maximize  else  grad
        g = g + weight_decay * p
        b = g                                    (first step)
        b = momentum * b + (1 - dampening) * g   (after)
        g = g + momentum * b  if nesterov else  b
        p = p - lr * g

    ``foreach``, ``differentiable`` and ``fused`` are accepted and change nothing (see the module docstring).
    """

    _independent_updates = True

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        lr, weight_decay = _scalar("lr", lr), _scalar("weight_decay", weight_decay)
        if lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        _check_kernel_options(foreach, fused, differentiable)
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

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
    """Adam (Kingma & Ba) with bias correction; ``weight_decay`` is the L2 kind (added to the gradient),
    or AdamW's decoupled kind with ``decoupled_weight_decay=True``.

        g = -grad  if maximize  else  grad
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2          (amsgrad: v = max(v_max, v))
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    ``foreach``, ``capturable``, ``differentiable`` and ``fused`` are accepted and change nothing (see the
    module docstring).
    """

    _independent_updates = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        lr = _scalar("lr", lr)
        betas = tuple(_scalar(f"betas[{i}]", b) for i, b in enumerate(betas))
        if lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {b} (betas must be in [0, 1))")
        if weight_decay < 0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        _check_kernel_options(foreach, fused, differentiable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, p, g, state, group, xp):
        if group["maximize"]:
            g = -g
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        decay = 1.0
        if wd != 0:
            if group.get("decoupled_weight_decay", False):
                decay = 1 - lr * wd             # AdamW: shrink the weights (p * decay), apart from the gradient
            else:
                g = g + wd * p                  # Adam: L2 penalty folded into the gradient
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p)
            state["exp_avg_sq"] = xp.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p)
        t = state["step"] = state["step"] + 1
        if group["amsgrad"]:
            m = state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * g
            v = state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * (g * g)
            v = state["max_exp_avg_sq"] = xp.maximum(state.get("max_exp_avg_sq", v), v)
            return adam_step(xp, p * decay if decay != 1 else p, m, v, lr / (1 - beta1 ** t),
                             math.sqrt(1 - beta2 ** t), eps)
        # the same formulas, the moments updated in place (as PyTorch: no second copy of the optimizer state at
        # the peak), chunk by chunk on all cores (parallel_cpu); one compiled loop where it can run (kernels_cpu)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        args = (beta1, beta2, lr / (1 - beta1 ** t), math.sqrt(1 - beta2 ** t), eps, decay)
        if kernels_cpu.ready(p, g, m, v) and p.shape == g.shape == m.shape == v.shape:
            return kernels_cpu.adam_moments_and_step(xp, p, g, m, v, *args)
        return for_rows(adam_moments_and_step, xp, p, g, m, v, *args, row=0)


def adam_step(xp, p, m, v, step_size, sqrt_bias2, eps):
    """p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)   (one temporary, reused in place)."""
    d = xp.sqrt(v, out=xp.empty_like(v))    # (an array even for a 0-d v, where NumPy would hand back a scalar)
    d /= sqrt_bias2
    d += eps                      # the denominator
    xp.divide(m, d, out=d)
    d *= step_size                # the step
    return p - d


def adam_moments_and_step(xp, p, g, m, v, beta1, beta2, step_size, sqrt_bias2, eps, decay=1.0):
    """m = beta1 m + (1 - beta1) g,  v = beta2 v + (1 - beta2) g^2 (both in place), then the step from
    p * decay (AdamW's weight decay): the new p."""
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * (g * g)
    return adam_step(xp, p * decay if decay != 1 else p, m, v, step_size, sqrt_bias2, eps)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p = p * (1 - lr * weight_decay)``
    before the Adam step, so the decay is not rescaled by the adaptive denominator.
    Default ``weight_decay=1e-2``, as PyTorch; the groups hold ``decoupled_weight_decay=True``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict: dict) -> None:
        """As ``Optimizer.load_state_dict``; the groups stay ``decoupled_weight_decay=True`` (as PyTorch's AdamW)."""
        super().load_state_dict(state_dict)
        for g in self.param_groups:
            g["decoupled_weight_decay"] = True

from .compat import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr(__name__, "torch.optim")
