"""Write tests/fixtures/torch_nn_reference.npz: PyTorch's numbers for the torch.nn surface, for
tests/test_torch_nn.py.

    python scripts/make_torch_nn_fixture.py        # needs torch==2.13.0 (CPU is enough)

Everything is float64 and deterministic (no dropout). For each case the inputs, PyTorch's outputs and the
gradients of  sum(output * R)  (R a fixed random array, so every output element matters) are stored:

    mha/<case>/...     nn.MultiheadAttention: its state_dict, inputs, masks, output, weights, gradients
    sdpa/<case>/...    F.scaled_dot_product_attention with bool / float masks, is_causal, scale, GQA
    pad/<case>/...     F.pad in every mode, negative padding
    onehot/<case>/...  F.one_hot
    ce/<case>/...      F.cross_entropy: any ignore_index, (N, C, d1, d2), weight, label smoothing, probabilities
    nll/<case>/...     F.nll_loss
    clip/<case>/...    nn.utils.clip_grad_norm_ with finite, inf and NaN gradients
    layers/...         Flatten, Unflatten, Softmax, LogSoftmax
    init/...           calculate_gain, fans, and the exact bound / std each initialiser asks the RNG for
    keys/...           state_dict keys of a module built from containers, buffers and MultiheadAttention

The case tables are stored in the file as JSON ("<group>/cases"), so the tests read them from here.
The tests never import torch; only this script does.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from fixture_common import save_npz  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "torch_nn_reference.npz"
rng = np.random.default_rng(2024)
data: dict[str, np.ndarray] = {}


def T(a, grad=False):
    return torch.tensor(a, dtype=torch.float64 if np.asarray(a).dtype.kind == "f" else None, requires_grad=grad)


def put(prefix, **arrays):
    for k, v in arrays.items():
        if v is None:
            continue
        data[f"{prefix}/{k}"] = v.detach().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)


def weigh(out, prefix, name="R"):
    """sum(out * R) with a stored random R (NaN-free part only)."""
    r = rng.standard_normal(tuple(out.shape))
    put(prefix, **{name: r})
    return (torch.nan_to_num(out) * T(r)).sum()


# ---------------------------------------------------------------- MultiheadAttention
MHA_CASES = {
    "self_batch_first": dict(init=dict(embed_dim=6, num_heads=2, batch_first=True), shape="self", N=2, L=4),
    "cross_seq_first_bool_masks": dict(init=dict(embed_dim=6, num_heads=3), N=2, L=3, S=5,
                                       kpm="bool", attn="bool2d"),
    "float_masks_3d_per_head": dict(init=dict(embed_dim=4, num_heads=2, batch_first=True), N=2, L=3, S=4,
                                    kpm="float", attn="float3d", fwd=dict(average_attn_weights=False)),
    "kdim_vdim_bias_kv_zero_attn": dict(init=dict(embed_dim=4, num_heads=2, kdim=3, vdim=5, add_bias_kv=True,
                                                  add_zero_attn=True, batch_first=True),
                                        N=2, L=3, S=4, kpm="bool", attn="float2d"),
    "no_bias_no_weights": dict(init=dict(embed_dim=4, num_heads=2, bias=False), N=3, L=2, S=3, kpm="bool",
                               fwd=dict(need_weights=False)),
    "unbatched_3d_mask": dict(init=dict(embed_dim=4, num_heads=2), N=None, L=3, S=4, kpm="bool", attn="bool3d"),
    "causal_hint": dict(init=dict(embed_dim=4, num_heads=1, batch_first=True), shape="self", N=2, L=4,
                        attn="causal", fwd=dict(need_weights=False, is_causal=True)),
    "mixed_mask_types": dict(init=dict(embed_dim=4, num_heads=2, batch_first=True), N=2, L=3, S=3,
                             kpm="bool", attn="float2d"),
    "fully_masked_row_weights": dict(init=dict(embed_dim=4, num_heads=2, batch_first=True), N=2, L=2, S=3,
                                     kpm="all_first", fwd=dict(need_weights=True), nograd=True),
    "fully_masked_row_no_weights": dict(init=dict(embed_dim=4, num_heads=2, batch_first=True), N=2, L=2, S=3,
                                        kpm="all_first", fwd=dict(need_weights=False)),
}


def make_mask(kind, shape, heads=None):
    if kind is None:
        return None
    if kind.startswith("bool") or kind == "all_first":
        m = rng.random(shape) < 0.35
        if kind == "all_first":
            m[:] = False
            m[0] = True                                          # the first batch element sees no key
        else:
            m[..., 0] = False                                    # every query keeps at least one key
        return m
    m = rng.standard_normal(shape)
    m[rng.random(shape) < 0.2] = -np.inf
    m[..., 0] = 0.0
    return m


def mha_case(name, spec):
    torch.manual_seed(0)
    mod = nn.MultiheadAttention(**spec["init"]).double()
    init = spec["init"]
    e, h = init["embed_dim"], init["num_heads"]
    kd, vd = init.get("kdim", e), init.get("vdim", e)
    bf = init.get("batch_first", False)
    n, tq = spec["N"], spec["L"]
    s = spec.get("S", tq)
    p = f"mha/{name}"
    for k, v in mod.state_dict().items():
        put(p + "/sd", **{k: v})

    def layout(t, d):                                            # (N, T, d) in the layer's layout
        x = rng.standard_normal((n, t, d) if n else (t, d))
        return x if (bf or n is None) else x.transpose(1, 0, 2)

    if spec.get("shape") == "self":
        x = layout(tq, e)
        put(p, x=x)
        xt = T(x, True)
        q = k = v = xt
        leaves = {"x": xt}
    else:
        qa, ka, va = layout(tq, e), layout(s, kd), layout(s, vd)
        put(p, q=qa, k=ka, v=va)
        q, k, v = T(qa, True), T(ka, True), T(va, True)
        leaves = {"q": q, "k": k, "v": v}
    kpm = make_mask(spec.get("kpm"), (n, s) if n else (s,))
    attn = spec.get("attn")
    if attn == "causal":
        am = np.triu(np.ones((tq, s), bool), 1)
    elif attn in ("bool3d", "float3d"):
        am = make_mask(attn.replace("3d", ""), ((n or 1) * h, tq, s))
    else:
        am = make_mask(attn and attn.replace("2d", ""), (tq, s))
    put(p, kpm=kpm, attn_mask=am)
    fwd = spec.get("fwd", {})
    out, w = mod(q, k, v, key_padding_mask=None if kpm is None else torch.tensor(kpm),
                 attn_mask=None if am is None else torch.tensor(am), **fwd)
    put(p, out=out, weights=w)
    if spec.get("nograd"):
        return
    loss = weigh(out, p, "R") + (weigh(w, p, "Rw") if w is not None else 0)
    loss.backward()
    for k_, t in leaves.items():
        put(p, **{f"grad_{k_}": t.grad})
    for k_, prm in mod.named_parameters():
        put(p + "/pgrad", **{k_: prm.grad})


# ---------------------------------------------------------------- scaled_dot_product_attention
SDPA_CASES = {
    "plain": dict(q=(2, 2, 3, 4), k=(2, 2, 5, 4), v=(2, 2, 5, 3)),
    "bool_mask_broadcast": dict(q=(2, 2, 3, 4), k=(2, 2, 5, 4), v=(2, 2, 5, 4), mask="bool", mshape=(3, 5)),
    "bool_mask_per_batch": dict(q=(2, 2, 3, 4), k=(2, 2, 5, 4), v=(2, 2, 5, 4), mask="bool", mshape=(2, 1, 3, 5)),
    "float_mask_with_inf": dict(q=(1, 2, 4, 4), k=(1, 2, 4, 4), v=(1, 2, 4, 4), mask="float", mshape=(2, 4, 4)),
    "fully_masked_row_bool": dict(q=(1, 2, 3, 4), k=(1, 2, 4, 4), v=(1, 2, 4, 4), mask="bool_deadrow",
                                  mshape=(3, 4)),
    "fully_masked_row_float": dict(q=(1, 1, 3, 2), k=(1, 1, 4, 2), v=(1, 1, 4, 2), mask="float_deadrow",
                                   mshape=(3, 4)),
    "causal_square": dict(q=(2, 2, 4, 4), k=(2, 2, 4, 4), v=(2, 2, 4, 4), kw=dict(is_causal=True)),
    "causal_wide": dict(q=(1, 2, 3, 4), k=(1, 2, 5, 4), v=(1, 2, 5, 4), kw=dict(is_causal=True)),
    "causal_tall": dict(q=(1, 2, 5, 4), k=(1, 2, 3, 4), v=(1, 2, 3, 4), kw=dict(is_causal=True)),
    "causal_and_bool_mask": dict(q=(1, 2, 3, 4), k=(1, 2, 5, 4), v=(1, 2, 5, 4), mask="bool", mshape=(3, 5),
                                 kw=dict(is_causal=True)),
    "causal_and_float_mask": dict(q=(1, 2, 3, 4), k=(1, 2, 3, 4), v=(1, 2, 3, 4), mask="float", mshape=(3, 3),
                                  kw=dict(is_causal=True)),
    "scale": dict(q=(2, 3, 4), k=(2, 5, 4), v=(2, 5, 6), kw=dict(scale=0.37)),
    "gqa": dict(q=(2, 4, 3, 4), k=(2, 2, 5, 4), v=(2, 2, 5, 4), kw=dict(enable_gqa=True)),
    "broadcast_batch": dict(q=(2, 1, 3, 4), k=(1, 2, 5, 4), v=(1, 2, 5, 6)),
    "unbatched_2d": dict(q=(3, 4), k=(5, 4), v=(5, 2), mask="bool", mshape=(3, 5)),
}


def sdpa_case(name, spec):
    p = f"sdpa/{name}"
    arrays = {c: rng.standard_normal(spec[c]) for c in "qkv"}
    put(p, **arrays)
    mask = None
    kind = spec.get("mask")
    if kind:
        shape = spec["mshape"]
        if kind.startswith("bool"):
            mask = rng.random(shape) < 0.6
            mask[..., 0] = True
            if kind == "bool_deadrow":
                mask[..., 1, :] = False
        else:
            mask = rng.standard_normal(shape)
            mask[rng.random(shape) < 0.25] = -np.inf
            mask[..., 0] = 0.0
            if kind == "float_deadrow":
                mask[..., 2, :] = -np.inf
        put(p, mask=mask)
    leaves = {c: T(a, True) for c, a in arrays.items()}
    out = F.scaled_dot_product_attention(leaves["q"], leaves["k"], leaves["v"],
                                         attn_mask=None if mask is None else torch.tensor(mask), **spec.get("kw", {}))
    put(p, out=out)
    weigh(out, p).backward()
    for c, t in leaves.items():
        put(p, **{f"grad_{c}": t.grad})


# ---------------------------------------------------------------- pad
PAD_CASES = {
    "constant_last": dict(shape=(2, 3), pad=(1, 2)),
    "constant_two_dims_value": dict(shape=(2, 3, 4), pad=(1, 0, 2, 1), value=-1.5),
    "constant_all_dims": dict(shape=(2, 3), pad=(1, 1, 2, 0)),
    "constant_negative": dict(shape=(2, 5, 4), pad=(-1, 2, 1, -2)),
    "constant_1d": dict(shape=(4,), pad=(3, 1), value=2.0),
    "constant_4_dims": dict(shape=(2, 1, 2, 3), pad=(1, 0, 0, 1, 1, 1, 0, 2)),
    "reflect_1": dict(shape=(2, 3, 5), pad=(2, 3), mode="reflect"),
    "reflect_2": dict(shape=(1, 2, 3, 4), pad=(1, 2, 2, 1), mode="reflect"),
    "reflect_negative": dict(shape=(2, 2, 5), pad=(-1, 2), mode="reflect"),
    "replicate_1": dict(shape=(2, 3, 4), pad=(3, 1), mode="replicate"),
    "replicate_3": dict(shape=(1, 1, 2, 3, 2), pad=(1, 2, 0, 3, 2, 1), mode="replicate"),
    "circular_1": dict(shape=(1, 2, 4), pad=(2, 3), mode="circular"),
    "circular_2": dict(shape=(2, 1, 3, 3), pad=(1, 2, 3, 0), mode="circular"),
}


def pad_case(name, spec):
    p = f"pad/{name}"
    x = rng.standard_normal(spec["shape"])
    put(p, x=x)
    xt = T(x, True)
    out = F.pad(xt, spec["pad"], mode=spec.get("mode", "constant"), value=spec.get("value"))
    put(p, out=out)
    weigh(out, p).backward()
    put(p, grad=xt.grad)


# ---------------------------------------------------------------- one_hot
ONEHOT_CASES = {"inferred": dict(x=[0, 3, 1, 3], n=-1), "given": dict(x=[[0, 2], [1, 1]], n=5),
                "empty_given": dict(x=np.zeros((0,), np.int64), n=3), "scalar": dict(x=2, n=4)}


def onehot_case(name, spec):
    x = torch.tensor(np.asarray(spec["x"], dtype=np.int64))
    put(f"onehot/{name}", x=x, out=F.one_hot(x, spec["n"]))


# ---------------------------------------------------------------- cross_entropy / nll_loss
CE_CASES = {
    "default_ignore": dict(shape=(6, 4), ignore=-100, n_ignored=2),
    "ignore_minus_one": dict(shape=(6, 4), ignore=-1, n_ignored=2),
    "ignore_zero_a_real_class": dict(shape=(7, 4), ignore=0, n_ignored=0),
    "ignore_large": dict(shape=(5, 3), ignore=99, n_ignored=2),
    "ignore_sum": dict(shape=(6, 4), ignore=-1, n_ignored=3, kw=dict(reduction="sum")),
    "ignore_none": dict(shape=(6, 4), ignore=-1, n_ignored=3, kw=dict(reduction="none")),
    "nd_ignore": dict(shape=(2, 4, 3, 2), ignore=-1, n_ignored=3),
    "nd_ignore_none": dict(shape=(2, 4, 3), ignore=-5, n_ignored=2, kw=dict(reduction="none")),
    "smoothing_ignore": dict(shape=(6, 5), ignore=-1, n_ignored=2, kw=dict(label_smoothing=0.2)),
    "weight_ignore": dict(shape=(6, 4), ignore=-1, n_ignored=2, weight=True),
    "weight_ignore_sum": dict(shape=(6, 4), ignore=2, n_ignored=0, weight=True, kw=dict(reduction="sum")),
    "weight_nd_none": dict(shape=(2, 3, 4), ignore=-100, n_ignored=2, weight=True, kw=dict(reduction="none")),
    "weight_smoothing_ignore": dict(shape=(6, 5), ignore=-1, n_ignored=2, weight=True,
                                    kw=dict(label_smoothing=0.3)),
    "weight_smoothing_nd_none": dict(shape=(2, 4, 3), ignore=-1, n_ignored=2, weight=True,
                                     kw=dict(label_smoothing=0.1, reduction="none")),
    "all_ignored": dict(shape=(3, 4), ignore=-1, n_ignored=3, nograd=True),
    "unbatched": dict(shape=(5,), ignore=-100, n_ignored=0),
    "unbatched_none": dict(shape=(5,), ignore=-100, n_ignored=0, kw=dict(reduction="none")),
    "probs": dict(shape=(4, 5), probs=True),
    "probs_nd_weight_smoothing": dict(shape=(2, 4, 3), probs=True, weight=True, kw=dict(label_smoothing=0.2)),
    "probs_nd_none": dict(shape=(2, 3, 2), probs=True, kw=dict(reduction="none")),
}
NLL_CASES = {
    "plain": dict(shape=(5, 4), ignore=-100, n_ignored=1),
    "ignore_minus_one_weight": dict(shape=(6, 3), ignore=-1, n_ignored=2, weight=True),
    "nd_sum": dict(shape=(2, 3, 4), ignore=1, n_ignored=0, kw=dict(reduction="sum")),
    "nd_none_weight": dict(shape=(2, 3, 2, 2), ignore=-1, n_ignored=2, weight=True, kw=dict(reduction="none")),
}


def loss_case(group, name, spec, fn):
    p = f"{group}/{name}"
    shape = spec["shape"]
    c = shape[0] if len(shape) == 1 else shape[1]
    x = rng.uniform(-3, 3, shape)
    if group == "nll":
        x = np.log(np.exp(x) / np.exp(x).sum(axis=1 if len(shape) > 1 else 0, keepdims=True))
    if spec.get("probs"):
        t = rng.random(shape)
        t /= t.sum(axis=1, keepdims=True)
        target = torch.tensor(t)
    else:
        tshape = () if len(shape) == 1 else (shape[0],) + shape[2:]
        t = rng.integers(0, c, tshape)
        flat = t.reshape(-1)
        flat[rng.permutation(flat.size)[:spec["n_ignored"]]] = spec["ignore"]
        target = torch.tensor(t)
    w = rng.uniform(0.2, 2.0, c) if spec.get("weight") else None
    put(p, x=x, target=t, weight=w)
    xt = T(x, True)
    kw = dict(spec.get("kw", {}))
    if "ignore" in spec:
        kw["ignore_index"] = spec["ignore"]
    out = fn(xt, target, weight=None if w is None else torch.tensor(w), **kw)
    put(p, out=out)
    if spec.get("nograd"):
        return
    (weigh(out, p) if out.ndim else out).backward()
    put(p, grad=xt.grad)


# ---------------------------------------------------------------- clip_grad_norm_
CLIP_CASES = {
    "finite_l2": dict(kind="finite", max_norm=1.0, norm_type=2.0),
    "finite_l1_no_clip": dict(kind="finite", max_norm=100.0, norm_type=1.0),
    "finite_inf_norm": dict(kind="finite", max_norm=0.5, norm_type=float("inf")),
    "finite_p3": dict(kind="finite", max_norm=0.7, norm_type=3.0),
    "has_inf": dict(kind="inf", max_norm=1.0, norm_type=2.0),
    "has_nan": dict(kind="nan", max_norm=1.0, norm_type=2.0),
}


def clip_case(name, spec):
    p = f"clip/{name}"
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    if spec["kind"] == "inf":
        grads[1][2] = np.inf
    elif spec["kind"] == "nan":
        grads[0][1, 1] = np.nan
    params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for prm, g in zip(params, grads):
        prm.grad = torch.tensor(g)
    total = torch.nn.utils.clip_grad_norm_(params, spec["max_norm"], spec["norm_type"])
    put(p, g0=grads[0], g1=grads[1], total=total, out0=params[0].grad, out1=params[1].grad)


# ---------------------------------------------------------------- layers
def layers():
    x = rng.standard_normal((2, 3, 4, 5))
    put("layers", x=x,
        flatten=nn.Flatten()(T(x)), flatten_0_2=nn.Flatten(0, 2)(T(x)),
        unflatten=nn.Unflatten(1, (3, 1))(T(x)), unflatten_neg=nn.Unflatten(-1, (-1, 1, 5))(T(x)),
        softmax_1=nn.Softmax(dim=1)(T(x)), logsoftmax_last=nn.LogSoftmax(dim=-1)(T(x)))
    x3 = rng.standard_normal((2, 3, 4))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        put("layers", x3=x3, softmax_implicit_3d=nn.Softmax()(T(x3)), softmax_implicit_4d=nn.Softmax()(T(x)))


# ---------------------------------------------------------------- init
class Record:
    """Records the arguments of the RNG fills (Tensor.uniform_ / Tensor.normal_) an initialiser makes."""

    def __enter__(self):
        self.calls, self.saved = [], (torch.Tensor.uniform_, torch.Tensor.normal_)
        for name, original in zip(("uniform_", "normal_"), self.saved):
            def fill(t, *args, _name=name, _original=original, **kwargs):
                self.calls.append([_name, [float(a) for a in args[:2]]])
                return _original(t, *args, **kwargs)
            setattr(torch.Tensor, name, fill)
        return self

    def __exit__(self, *exc):
        torch.Tensor.uniform_, torch.Tensor.normal_ = self.saved


INIT_CASES = {
    "xavier_uniform": ("xavier_uniform_", (5, 7), {}),
    "xavier_uniform_gain_conv": ("xavier_uniform_", (4, 3, 2, 2), dict(gain=1.7)),
    "xavier_normal": ("xavier_normal_", (6, 3), {}),
    "xavier_normal_gain": ("xavier_normal_", (2, 3, 5), dict(gain=0.5)),
    "kaiming_uniform_default": ("kaiming_uniform_", (8, 5), {}),
    "kaiming_uniform_sqrt5": ("kaiming_uniform_", (8, 5), dict(a=math.sqrt(5))),
    "kaiming_uniform_fan_out_relu": ("kaiming_uniform_", (6, 4, 3), dict(mode="fan_out", nonlinearity="relu")),
    "kaiming_normal_default": ("kaiming_normal_", (7, 9), {}),
    "kaiming_normal_fan_out_relu": ("kaiming_normal_", (3, 2, 2, 2), dict(mode="fan_out", nonlinearity="relu")),
    "kaiming_normal_leaky": ("kaiming_normal_", (5, 5), dict(a=0.2)),
    "kaiming_normal_tanh": ("kaiming_normal_", (5, 4), dict(nonlinearity="tanh")),
}
GAINS = [["linear", None], ["conv2d", None], ["sigmoid", None], ["tanh", None], ["relu", None],
         ["leaky_relu", None], ["leaky_relu", 0.2], ["leaky_relu", 1], ["selu", None]]
FAN_SHAPES = [[3, 5], [4, 3, 2, 2], [6, 2, 5], [2, 7, 1, 1, 3]]


def init_stats():
    put("init", gains=[torch.nn.init.calculate_gain(n, a) for n, a in GAINS])
    put("init", fans=[list(torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(s))) for s in FAN_SHAPES])
    calls = {}
    for name, (fn, shape, kw) in INIT_CASES.items():
        with Record() as rec:
            getattr(torch.nn.init, fn)(torch.empty(shape, dtype=torch.float64), **kw)
        calls[name] = rec.calls
    data["init/calls"] = np.array(json.dumps(calls))


# ---------------------------------------------------------------- state_dict keys
class KeysNet(nn.Module):
    """Must match tests/test_torch_nn.py's KeysNet (built from tinygrad_tf.nn there)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3, bias=False), nn.GELU(), nn.Flatten())
        self.heads = nn.ModuleDict({"b": nn.Linear(3, 2), "a": nn.Linear(3, 1, bias=False)})
        self.plist = nn.ParameterList([nn.Parameter(torch.zeros(2)), torch.ones(3)])
        self.pdict = nn.ParameterDict({"z": nn.Parameter(torch.zeros(1)), "y": nn.Parameter(torch.ones(2))})
        self.attn = nn.MultiheadAttention(4, 2, kdim=3)
        self.self_attn = nn.MultiheadAttention(4, 2, add_bias_kv=True, bias=False)
        self.register_buffer("steps", torch.zeros(1))
        self.register_buffer("scratch", torch.zeros(2), persistent=False)
        self.register_buffer("nothing", None)


def keys():
    net = KeysNet()
    sd = net.state_dict()
    put("keys", state_dict=np.array(list(sd)), shapes=np.array(json.dumps([list(v.shape) for v in sd.values()])),
        parameters=np.array([n for n, _ in net.named_parameters()]),
        buffers=np.array([n for n, _ in net.named_buffers()]),
        modules=np.array([n for n, _ in net.named_modules()]))


def main():
    for name, spec in MHA_CASES.items():
        mha_case(name, spec)
    for name, spec in SDPA_CASES.items():
        sdpa_case(name, spec)
    for name, spec in PAD_CASES.items():
        pad_case(name, spec)
    for name, spec in ONEHOT_CASES.items():
        onehot_case(name, spec)
    for name, spec in CE_CASES.items():
        loss_case("ce", name, spec, F.cross_entropy)
    for name, spec in NLL_CASES.items():
        loss_case("nll", name, spec, F.nll_loss)
    for name, spec in CLIP_CASES.items():
        clip_case(name, spec)
    layers()
    init_stats()
    keys()
    tables = {"mha": MHA_CASES, "sdpa": SDPA_CASES, "pad": PAD_CASES, "ce": CE_CASES, "nll": NLL_CASES,
              "clip": CLIP_CASES, "init": INIT_CASES, "gains": GAINS, "fan_shapes": FAN_SHAPES}
    for k, v in tables.items():
        data[f"{k}/cases"] = np.array(json.dumps(v, default=lambda o: o.tolist() if hasattr(o, "tolist") else o))
    data["onehot/cases"] = np.array(json.dumps({k: dict(n=v["n"]) for k, v in ONEHOT_CASES.items()}))
    save_npz(OUT, data)
    print(f"wrote {OUT} ({len(data)} arrays, {OUT.stat().st_size / 1024:.0f} KiB) with torch {torch.__version__}")


if __name__ == "__main__":
    main()
