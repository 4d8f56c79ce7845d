"""Make tests/fixtures/double_backward_reference.npz: second and third derivatives of every op, and a
Hessian-vector product of a small GPT's loss, computed with PyTorch in float64.

Ops: every case of tests/double_backward_cases.py (``fn(lib, *inputs)``, written once for both libraries),
run with ``lib = torch`` on three size assignments of its shape template (fixed seeds). For random v, u, w:

    L1 = sum_k sum(out_k * v_k)    g1 = dL1/dx  (create_graph=True)
    L2 = sum_i sum(g1_i * u_i)     g2 = dL2/dx  (create_graph=True)      second derivatives
    L3 = sum_i sum(g2_i * w_i)     g3 = dL3/dx                           third derivatives

(v, u, w from the cases module's ``weights``: the test makes the same ones). Stored per case and draw:
the inputs x_i, the outputs, and g_i = (g1_i, g2_i, g3_i) stacked.

GPT: tinygrad_tf's GPT (GPT-2's architecture, tiny, float64) with random weights, mirrored here in PyTorch
from the same weights (as scripts/make_gpt_fixture.py writes a GPT out); the loss, its gradient, and
H v = d/dw (dL/dw . v) for a random v.

PyTorch is the reference peer here (the package never imports it). Run:
    python scripts/make_double_backward_fixture.py
"""

import math
import sys
import zlib
from pathlib import Path

import numpy as np
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
from double_backward_cases import CASES, weights  # noqa: E402

import tinygrad_tf as tg  # noqa: E402  (only to list the GPT's weights, by name and shape)
from tinygrad_tf.nn.models import GPT, GPTConfig  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "double_backward_reference.npz"
DRAWS = 3                                     # size assignments per case
GPT_CONFIG = dict(vocab_size=13, context_length=8, d_model=8, n_layer=2, n_head=2, d_ff=16, dropout=0.0)


def sample(shape, domain, rng):
    x = rng.standard_normal(shape)
    if domain == "positive":
        x = np.abs(x) + 0.5
    elif domain == "away0":
        x = np.where(x >= 0, x + 0.1, x - 0.1)
    elif domain == "unit":
        x = 0.9 * np.tanh(x)
    elif domain == "gt1":
        x = np.abs(x) + 1.1
    elif domain == "prob":
        x = 0.05 + 0.9 / (1 + np.exp(-x))
    elif domain == "wellcond":
        x = x + shape[-1] * np.eye(shape[-1])
    elif domain == "distinct":
        x = (rng.permutation(x.size).reshape(shape) - x.size / 2) * 0.1
    elif domain != "any":
        raise ValueError(domain)
    return x


def draw_shapes(specs, rng):
    sizes = {}
    return [tuple(sizes.setdefault(n, int(rng.integers(2, 4))) if isinstance(n, str) else n for n in shape)
            for shape, _ in specs]


def outputs(out):
    return [o for o in (out if isinstance(out, (tuple, list)) else (out,)) if o.dtype.is_floating_point]


def derivatives(name, draw, fn, xs):
    """Outputs, and g1, g2, g3 stacked per input (g3 NaN where PyTorch cannot go that far)."""
    ts = [torch.tensor(x, requires_grad=True) for x in xs]
    outs = outputs(fn(torch, *ts))
    vs, ws = weights(name, draw, [tuple(o.shape) for o in outs], [x.shape for x in xs])
    grads = []
    loss = sum((o * torch.tensor(v)).sum() for o, v in zip(outs, vs))
    for order in range(3):
        if not loss.requires_grad:          # the previous derivative is a constant: the next one is 0
            g = [torch.zeros_like(t) for t in ts]
        else:
            try:
                g = torch.autograd.grad(loss, ts, create_graph=order < 2, allow_unused=True, materialize_grads=True)
            except RuntimeError as e:
                print(f"    {name}: order {order + 1}: {e}".splitlines()[0])
                g = [torch.full_like(t, float("nan")) for t in ts]
        grads.append([x.detach().numpy(force=True) for x in g])
        live = [(gi, wi) for gi, wi in zip(g, ws[order]) if gi.requires_grad]
        loss = sum((gi * torch.tensor(wi)).sum() for gi, wi in live) if live else torch.zeros(())
    return [o.detach().numpy() for o in outs], [np.stack(gs) for gs in zip(*grads)]


def _normalised(x, dims, eps=1e-5):
    d = x - x.mean(dims, keepdim=True)
    return d / ((d * d).mean(dims, keepdim=True) + eps).sqrt()


# PyTorch's fused layer_norm and batch_norm give wrong THIRD derivatives (their double backward treats the
# saved mean and 1/std as constants); for those the third order comes from the same math written out in
# plain ops, whose first and second derivatives agree with the fused ones (checked below).
WRITTEN_OUT = {
    "layer_norm": lambda lib, x, w, b: _normalised(x, (-1,)) * w + b,
    "layer_norm (2 axes, no affine)": lambda lib, x: _normalised(x, (-2, -1)),
    "batch_norm (training)": lambda lib, x, w, b: _normalised(x, (0, 2)) * w[:, None] + b[:, None],
}


def op_cases(out):
    for name, (fn, specs) in CASES.items():
        for k in range(DRAWS):
            rng = np.random.default_rng(zlib.crc32(name.encode()) + k)
            shapes = draw_shapes(specs, rng)
            xs = [sample(s, d, rng) for s, (_, d) in zip(shapes, specs)]
            outs, grads = derivatives(name, k, fn, xs)
            if name in WRITTEN_OUT:          # the third derivatives from the written-out twin
                outs2, grads2 = derivatives(name, k, WRITTEN_OUT[name], xs)
                for o, o2 in zip(outs, outs2):
                    np.testing.assert_allclose(o, o2, rtol=1e-9, atol=1e-12)
                for g, g2 in zip(grads, grads2):
                    np.testing.assert_allclose(g[:2], g2[:2], rtol=1e-9, atol=1e-9)
                    g[2] = g2[2]
            for tag, arrays in (("x", xs), ("out", outs), ("g", grads)):
                for i, a in enumerate(arrays):
                    out[f"op/{name}/{k}/{tag}{i}"] = np.asarray(a)
        print(f"{name}: {DRAWS} draws")


# ---------------------------------------------------------------- GPT-2 (tinygrad_tf's parameter names)
def gpt_forward(w, ids, c):
    F = torch.nn.functional
    d, h = c["d_model"], c["n_head"]
    b, t = ids.shape
    x = w["wte.weight"][ids] + w["wpe.weight"][torch.arange(t)]
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
    for i in range(c["n_layer"]):
        p = f"blocks.{i}."

        def lin(name, z):
            return z @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        y = F.layer_norm(x, (d,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], 1e-5)
        q, k, v = (lin("attn." + n, y).view(b, t, h, d // h).transpose(1, 2) for n in ("q_proj", "k_proj", "v_proj"))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(d // h)
        a = torch.softmax(s.masked_fill(~causal, float("-inf")), -1) @ v
        x = x + lin("attn.o_proj", a.transpose(1, 2).reshape(b, t, d))
        y = F.layer_norm(x, (d,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], 1e-5)
        x = x + lin("mlp.down", F.gelu(lin("mlp.up", y), approximate="tanh"))
    x = F.layer_norm(x, (d,), w["ln_f.weight"], w["ln_f.bias"], 1e-5)
    logits = x @ w["wte.weight"].T                                   # tied embeddings
    return F.cross_entropy(logits[:, :-1].reshape(-1, c["vocab_size"]), ids[:, 1:].reshape(-1))


def gpt_case(out):
    names = {k: tuple(v.shape) for k, v in GPT(GPTConfig(**GPT_CONFIG)).state_dict().items()}
    rng = np.random.default_rng(18)
    weights = {k: rng.standard_normal(s) * (0.3 if len(s) > 1 else 0.1) + (1.0 if "ln" in k and "weight" in k else 0.0)
               for k, s in names.items()}
    ids = rng.integers(0, GPT_CONFIG["vocab_size"], (2, 7))
    ws = {k: torch.tensor(v, requires_grad=True) for k, v in weights.items()}
    loss = gpt_forward(ws, torch.tensor(ids), GPT_CONFIG)
    params = [ws[k] for k in names]
    grads = torch.autograd.grad(loss, params, create_graph=True)
    vs = [rng.standard_normal(p.shape) for p in params]
    hvp = torch.autograd.grad(sum((g * torch.tensor(v)).sum() for g, v in zip(grads, vs)), params)
    out["gpt/config"] = np.array([GPT_CONFIG[k] for k in ("vocab_size", "context_length", "d_model", "n_layer", "n_head",
                                                          "d_ff")])
    out["gpt/ids"], out["gpt/loss"] = ids, loss.detach().numpy()
    for k, v, g, hv in zip(names, vs, grads, hvp):
        out[f"gpt/weight/{k}"], out[f"gpt/v/{k}"] = weights[k], v
        out[f"gpt/grad/{k}"], out[f"gpt/hvp/{k}"] = g.detach().numpy(), hv.numpy()
    print(f"gpt: loss {loss.item():.6f}, {len(names)} weights")


def main():
    torch.set_default_dtype(torch.float64)
    out = {}
    with sdpa_kernel(SDPBackend.MATH):      # the CPU's flash-attention kernel has no double backward
        op_cases(out)
    gpt_case(out)
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KB, torch {torch.__version__}, tinygrad_tf {tg.__version__})")


if __name__ == "__main__":
    main()
