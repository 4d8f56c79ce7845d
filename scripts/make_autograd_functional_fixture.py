"""Make tests/fixtures/autograd_functional_reference.npz: torch.autograd.functional's jacobian, hessian, vjp,
jvp, hvp and vhp of every case in tests/autograd_functional_cases.py, in float64.

Per case (inputs given as one Tensor where the case has one, else as a tuple, so both of PyTorch's result
structures are covered): the inputs; jacobian, vjp (v shaped like the outputs), jvp (v shaped like the
inputs); for the scalar cases hessian, hvp and vhp (v shaped like the inputs) -- among them a small MLP's loss
(its full Hessian and a Hessian-vector product, the numbers lesson 13 uses); and, through
``create_graph=True``, the gradient of sum(J * W) (and of sum(H * W)) with respect to the inputs for random
W, which checks that the Jacobian and the Hessian are themselves on a graph. Each result is stored leaf by
leaf (``case/what/0/1``) with its structure (``case/what/@structure``: "(T(2,),T())", nested tuples and
shapes), so the test checks PyTorch's shapes and tuples as well as its numbers.

PyTorch is the reference peer here (the package never imports it). Run:
    python scripts/make_autograd_functional_fixture.py
"""

import os
import sys
from pathlib import Path

import numpy as np
import torch
from torch.autograd import functional as AF

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from autograd_functional_cases import CASES, _ln_gelu, block_weights, data, flatten  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "autograd_functional_reference.npz"


def _pack(arrays, single):
    ts = tuple(torch.tensor(a) for a in arrays)
    return ts[0] if single else ts


def _store(out, key, res):
    leaves, structure = flatten(res)
    out[f"{key}/@structure"] = np.array(structure)
    for k, t in leaves.items():
        out[f"{key}/{k}"] = t.detach().numpy()


def _grad_of_weighted(blocks, inputs, weights):
    """d/d(inputs) sum_b sum(block_b * W_b): zeros where a block does not depend on an input."""
    s = sum((b * torch.tensor(w)).sum() for b, w in zip(blocks, weights))
    if not s.requires_grad:
        return tuple(torch.zeros_like(x) for x in inputs)
    gs = torch.autograd.grad(s, inputs, allow_unused=True)
    return tuple(torch.zeros_like(x) if g is None else g for g, x in zip(gs, inputs))


def case(out, name, fn, shapes, scalar):
    single = len(shapes) == 1

    def f(*xs):
        return fn(torch, *xs)

    probe = f(*(torch.tensor(a) for a in data(name, shapes, [])[0]))
    outs = probe if isinstance(probe, tuple) else (probe,)
    xs, v_out, v_in = data(name, shapes, [tuple(o.shape) for o in outs])
    for i, a in enumerate(xs):
        out[f"{name}/x{i}"] = a
    for i, a in enumerate(v_out):
        out[f"{name}/v_out{i}"] = a
    for i, a in enumerate(v_in):
        out[f"{name}/v_in{i}"] = a
    inp = _pack(xs, single)
    vo = tuple(torch.tensor(a) for a in v_out)
    vo = vo if isinstance(probe, tuple) else vo[0]
    vi = _pack(v_in, single)
    _store(out, f"{name}/jacobian", AF.jacobian(f, inp))
    fwd = AF.jacobian(f, inp, vectorize=True, strategy="forward-mode")
    for (k, a), (_, b) in zip(flatten(fwd)[0].items(), flatten(AF.jacobian(f, inp))[0].items()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12, err_msg=f"{name}: forward-mode {k}")
    _store(out, f"{name}/vjp", AF.vjp(f, inp, vo))
    _store(out, f"{name}/jvp", AF.jvp(f, inp, vi))
    leaves = tuple(torch.tensor(a, requires_grad=True) for a in xs)
    jac = AF.jacobian(f, leaves[0] if single else leaves, create_graph=True)
    blocks = list(flatten(jac)[0].values())
    out[f"{name}/jacobian_grad/@structure"] = np.array(flatten(jac)[1])
    _store(out, f"{name}/jacobian_grad", _grad_of_weighted(blocks, leaves, block_weights(name, [b.shape for b in blocks])))
    if scalar:
        _store(out, f"{name}/hessian", AF.hessian(f, inp))
        _store(out, f"{name}/hvp", AF.hvp(f, inp, vi))
        _store(out, f"{name}/vhp", AF.vhp(f, inp, vi))
        hes = AF.hessian(f, leaves[0] if single else leaves, create_graph=True)
        blocks = list(flatten(hes)[0].values())
        _store(out, f"{name}/hessian_grad",
               _grad_of_weighted(blocks, leaves, block_weights(f"{name}/h", [b.shape for b in blocks])))
    print(f"{name}: {'scalar, ' if scalar else ''}inputs {shapes}")


def check_written_out_layer_norm():
    """The written-out layer norm of the layer_norm_gelu case gives the fused one's Jacobian and Hessian."""
    x = torch.tensor(data("layer_norm_gelu", [(2, 5)], [])[0][0])
    fused = AF.hessian(lambda t: _ln_gelu(torch, t, fused=True), x)
    np.testing.assert_allclose(AF.hessian(lambda t: _ln_gelu(torch, t), x).numpy(), fused.numpy(), rtol=1e-10, atol=1e-12)


def main():
    torch.set_default_dtype(torch.float64)
    check_written_out_layer_norm()
    out = {}
    for name, (fn, shapes, scalar) in CASES.items():
        case(out, name, fn, shapes, scalar)
    tmp = OUT.with_name(OUT.name + ".tmp.npz")
    np.savez_compressed(tmp, **out)
    os.replace(tmp, OUT)                       # atomically: a half-written fixture never replaces a good one
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KB, {len(out)} arrays, torch {torch.__version__})")


if __name__ == "__main__":
    main()
