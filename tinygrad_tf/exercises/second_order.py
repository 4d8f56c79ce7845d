"""The second-order part of a check (exercises with ``order=2``, such as ``tanh_twice``): is the learner's
backward itself differentiable, the right way?

A backward run with ``create_graph=True`` is recorded as a graph and differentiated again (lesson 13). For that,
what the backward uses must be found on the graph: the saved input x and output y are (the engine knows them),
so is a value made with ``ctx.derived``; an array computed in forward and saved as it is -- the slope 1 - y^2,
say -- is a constant there, and a backward written with ``np.tanh`` instead of ``ctx.xp.tanh`` computes
constants too. Either way the first derivative is right and the second is not, and only a second-order check
sees it: ``tg.gradgradcheck`` (central differences of the gradient), whose failures are explained here.
"""

from __future__ import annotations

import numpy as np

from ..gradcheck import gradgradcheck
from ..graph_xp import GraphContext
from ..tensor import Tensor


def constants_on_the_graph(cls, tensors) -> list:
    """Where the learner's forward kept a float array that a backward on the graph sees as a constant:
    "ctx.saved_tensors[1]", "ctx.slope", ... (found as the engine finds them: ``graph_xp.GraphContext``)."""
    out = cls.apply(*tensors)
    node = out.grad_fn
    if node is None:
        return []
    found = []
    saved = node.__dict__.get("saved_tensors", ())
    lifted_all = GraphContext(node).saved_tensors if saved else ()
    for k, (raw, lifted) in enumerate(zip(saved, lifted_all)):
        if getattr(raw, "dtype", None) is not None and raw.dtype.kind == "f" and isinstance(lifted, Tensor) \
                and lifted.grad_fn is None and not lifted.requires_grad:
            found.append(f"ctx.saved_tensors[{k}]")
    for name, value in vars(node).items():
        if name != "saved_tensors" and not name.startswith("_") and isinstance(value, np.ndarray) \
                and value.dtype.kind == "f":
            found.append(f"ctx.{name}")
    return found


def check(ex, cls, arrays, make_tensors, seed, atol, rtol):
    """gradgradcheck of the learner's op on one case: (the report, {input index: [diagnoses]} for failures)."""
    with np.errstate(all="ignore"):
        report = gradgradcheck(cls.apply, *make_tensors(ex, arrays), raise_exception=False, seed=seed,
                               atol=atol, rtol=rtol)
    why = {}
    for r in report.inputs:
        if not r.ok:
            why[r.index] = diagnose(ex, cls, arrays, make_tensors, r)
    return report, why


def diagnose(ex, cls, arrays, make_tensors, r) -> list:
    A, N = np.asarray(r.analytic_grad, dtype=np.float64), np.asarray(r.numeric_grad, dtype=np.float64)
    constants = constants_on_the_graph(cls, make_tensors(ex, arrays))
    if constants:
        where = " and ".join(constants)
        return [f"{where} {'is an array' if len(constants) == 1 else 'are arrays'} computed in forward and kept as "
                "it is: right for the first derivative, but on the graph of a second backward it is a CONSTANT "
                "(its derivative is 0), so the derivative of your backward misses how it depends on x. Save the "
                "output y itself (ctx.save_for_backward(y)), or x, and compute the slope inside backward with "
                "operators and ctx.xp; or make the value with ctx.derived(lambda xp, x: ..., x), which the engine "
                "can recompute on the graph"]
    if not np.any(A) and np.any(N):
        return ["your backward's result does not change with x on the graph of a second backward: in backward, "
                "compute with operators and ctx.xp (ctx.xp.tanh, not np.tanh) — with create_graph=True ctx.xp makes "
                "recorded Tensor ops, while a NumPy function turns its input into a constant array"]
    excess = np.abs(A - N) - (1e-5 + 1e-3 * np.abs(N))
    k = int((excess > 0).sum())
    return [f"{k} of {A.size} second-derivative elements are wrong; the hints are below "
            f"(`tinygrad-tf exercise show {ex.name} --answer` gives the formulas)"] + [f"hint: {h}" for h in ex.hints]
