"""The torch.nn surface that PyTorch teaching code uses, against PyTorch's own numbers.

nn.MultiheadAttention (state_dict layout, masks, weights, gradients), F.scaled_dot_product_attention with
masks, F.pad, F.one_hot, F.cross_entropy / F.nll_loss with any ignore_index and class weights,
nn.init, the containers and Module methods, clip_grad_norm_. The reference numbers come from
scripts/make_torch_nn_fixture.py (run once with torch installed); this file never imports torch.
The differentiable pieces are also gradchecked (float64 central differences) over hypothesis-drawn shapes.
"""

from __future__ import annotations

import json
import math
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_tf as tg
import tinygrad_tf.nn.functional as F
from tinygrad_tf import nn
from tinygrad_tf.nn import init
from tinygrad_tf.nn.utils import clip_grad_norm_

REF = np.load(Path(__file__).parent / "fixtures" / "torch_nn_reference.npz")


def cases(group):
    return json.loads(str(REF[f"{group}/cases"]))


def ref(prefix, name):
    key = f"{prefix}/{name}"
    return REF[key] if key in REF.files else None


def T(arr, device, grad=False):
    return None if arr is None else tg.tensor(arr, device=device, requires_grad=grad)


def close(actual, expected, what, tol=1e-10):
    a = actual.numpy() if isinstance(actual, tg.Tensor) else np.asarray(actual)
    np.testing.assert_allclose(a, expected, rtol=tol, atol=tol, equal_nan=True, err_msg=what)


def weighted(out, prefix, name="R"):
    """sum(out * R), the loss the fixture differentiated (NaNs counted as 0, as it did)."""
    r = REF[f"{prefix}/{name}"]
    clean = tg.where(out != out, 0.0, out) if bool(np.isnan(out.numpy()).any()) else out
    return (clean * tg.tensor(r, device=out.device)).sum()


# ---------------------------------------------------------------- MultiheadAttention vs PyTorch
MHA = cases("mha")


@pytest.mark.parametrize("name", sorted(MHA))
def test_multihead_attention_matches_pytorch(name, device):
    spec, p = MHA[name], f"mha/{name}"
    m = nn.MultiheadAttention(**spec["init"]).double().to(device)
    sd = {k[len(p) + 4:]: REF[k] for k in REF.files if k.startswith(p + "/sd/")}
    assert m.load_state_dict(sd) == ([], [])                     # PyTorch's names and shapes load as they are
    assert list(m.state_dict()) == [k[len(p) + 4:] for k in REF.files if k.startswith(p + "/sd/")]
    if spec.get("shape") == "self":
        x = T(REF[p + "/x"], device, True)
        q = k = v = x
        leaves = {"x": x}
    else:
        q, k, v = (T(REF[f"{p}/{c}"], device, True) for c in "qkv")
        leaves = {"q": q, "k": k, "v": v}
    kpm, am = T(ref(p, "kpm"), device), T(ref(p, "attn_mask"), device)
    out, w = m(q, k, v, key_padding_mask=kpm, attn_mask=am, **spec.get("fwd", {}))
    close(out, REF[p + "/out"], "output")
    assert (w is None) == (ref(p, "weights") is None)
    if w is not None:
        close(w, REF[p + "/weights"], "attention weights")
    if spec.get("nograd"):
        return
    loss = weighted(out, p) + (weighted(w, p, "Rw") if w is not None else 0)
    loss.backward()
    for c, t in leaves.items():
        close(t.grad, REF[f"{p}/grad_{c}"], f"gradient of {c}")
    for pname, prm in m.named_parameters():
        close(prm.grad, REF[f"{p}/pgrad/{pname}"], f"gradient of {pname}")


def test_multihead_attention_layout_init_and_repr():
    m = nn.MultiheadAttention(8, 2)
    assert [(n, p.shape) for n, p in m.named_parameters()] == [
        ("in_proj_weight", (24, 8)), ("in_proj_bias", (24,)), ("out_proj.weight", (8, 8)), ("out_proj.bias", (8,))]
    assert m.q_proj_weight is None and m.bias_k is None and m._qkv_same_embed_dim and m.head_dim == 4
    bound = math.sqrt(6 / (8 + 24))                              # Xavier over the whole (3E, E) matrix
    w = m.in_proj_weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert not m.in_proj_bias.numpy().any() and not m.out_proj.bias.numpy().any()
    assert np.abs(m.out_proj.weight.numpy()).max() <= 1 / math.sqrt(8)      # Linear's default
    assert repr(m) == ("MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features=8, "
                       "out_features=8, bias=True)\n)")
    sep = nn.MultiheadAttention(4, 1, bias=False, kdim=2, vdim=3, add_bias_kv=True)
    assert [n for n, _ in sep.named_parameters()] == ["q_proj_weight", "k_proj_weight", "v_proj_weight", "bias_k",
                                                      "bias_v", "out_proj.weight"]
    assert sep.k_proj_weight.shape == (4, 2) and sep.v_proj_weight.shape == (4, 3) and sep.bias_k.shape == (1, 1, 4)


def test_multihead_attention_shapes_modes_and_dropout():
    m = nn.MultiheadAttention(4, 2, dropout=0.5, batch_first=True)
    x = tg.randn(3, 5, 4)
    out, w = m(x, x, x, average_attn_weights=False)
    assert out.shape == (3, 5, 4) and w.shape == (3, 2, 5, 5)
    assert not np.allclose(w.numpy().sum(-1), 1)                 # training: the weights after dropout
    m.eval()
    out1, w1 = m(x, x, x)
    out2, _ = m(x, x, x, need_weights=False)
    assert w1.shape == (3, 5, 5) and np.allclose(w1.numpy().sum(-1), 1)
    np.testing.assert_allclose(out1.numpy(), out2.numpy(), rtol=1e-5, atol=1e-6)
    y, wu = m(x[0], x[0], x[0])                                  # unbatched (L, E)
    assert y.shape == (5, 4) and wu.shape == (5, 5)
    np.testing.assert_allclose(y.numpy(), out1.numpy()[0], rtol=1e-5, atol=1e-6)


def test_multihead_attention_argument_errors():
    with pytest.raises(ValueError, match="embed_dim must be divisible by num_heads, got embed_dim=6 and num_heads=4"):
        nn.MultiheadAttention(6, 4)
    m = nn.MultiheadAttention(4, 2)
    x = tg.randn(3, 2, 4)
    with pytest.raises(RuntimeError, match="is_causal=True is only a hint .* attn_mask must be given"):
        m(x, x, x, is_causal=True)
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(2, 3\) \(batch, keys\), got \(3, 2\)"):
        m(x, x, x, key_padding_mask=tg.zeros(3, 2, dtype=tg.bool))
    with pytest.raises(ValueError, match=r"attn_mask must have shape \(3, 3\) or \(4, 3, 3\)"):
        m(x, x, x, attn_mask=tg.zeros(2, 3, dtype=tg.bool))
    with pytest.raises(ValueError, match=r"query has embedding dimension 5 \(shape \(3, 2, 5\)\), expected 4"):
        m(tg.randn(3, 2, 5), x, x)
    with pytest.raises(TypeError, match="only bool and floating types of attn_mask are supported, got int64"):
        m(x, x, x, attn_mask=tg.zeros(3, 3, dtype=tg.int64))


@st.composite
def mha_setups(draw):
    h = draw(st.sampled_from([1, 2]))
    e = h * draw(st.sampled_from([1, 2]))
    kw = dict(embed_dim=e, num_heads=h, bias=draw(st.booleans()), batch_first=draw(st.booleans()),
              add_bias_kv=draw(st.booleans()), add_zero_attn=draw(st.booleans()))
    if draw(st.booleans()):
        kw.update(kdim=draw(st.integers(1, 3)), vdim=draw(st.integers(1, 3)))
    return kw, draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3)), \
        draw(st.sampled_from([None, "bool", "float"])), draw(st.booleans()), draw(st.integers(0, 2**31))


@given(mha_setups())
def test_multihead_attention_gradcheck(setup):
    """Every input and every parameter, with masks of both kinds (some keys masked, never all)."""
    kw, n, tq, s, mask_kind, need_weights, seed = setup
    rng = np.random.default_rng(seed)
    m = nn.MultiheadAttention(**kw).double()
    names = [nm for nm, _ in m.named_parameters()]

    def layout(t, d):
        a = rng.standard_normal((n, t, d))
        return tg.tensor(a if kw["batch_first"] else a.transpose(1, 0, 2), requires_grad=True)

    q, k, v = layout(tq, kw["embed_dim"]), layout(s, m.kdim), layout(s, m.vdim)
    kpm = am = None
    if mask_kind == "bool":                                      # True = masked out; key 0 never is
        padded = rng.random((n, s)) < 0.5
        padded[:, 0] = False
        kpm = tg.tensor(padded)
        am = tg.tensor(np.triu(np.ones((tq, s), bool), 1) & (np.arange(s) > 0))
    elif mask_kind == "float":
        shape = (n * kw["num_heads"], tq, s)
        add = np.where(rng.random(shape) < 0.3, -np.inf, rng.standard_normal(shape))
        am = tg.tensor(np.where(np.arange(s) > 0, add, 0.0))
        kpm = tg.tensor(rng.standard_normal((n, s)))

    def fn(q, k, v, *params):
        for nm, prm in zip(names, params):
            *path, leaf = nm.split(".")
            m.get_submodule(".".join(path))._parameters[leaf] = prm
        out, w = m(q, k, v, key_padding_mask=kpm, attn_mask=am, need_weights=need_weights)
        return (out, w) if w is not None else out

    params = [tg.tensor(p.data, requires_grad=True) for p in m.parameters()]
    tg.gradcheck(fn, q, k, v, *params)


def test_multihead_attention_causal_language_model_learns():
    """A lecture-style model with only PyTorch names: it trains (the loss falls) through MHA with a causal mask."""
    tg.manual_seed(0)
    vocab, t = 5, 6

    class TinyLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab, 8)
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
            self.ln = nn.LayerNorm(8, bias=False)
            self.head = nn.Linear(8, vocab)
            self.register_buffer("mask", tg.tensor(np.triu(np.ones((t, t), bool), 1)), persistent=False)
            self.apply(self._init)

        def _init(self, mod):
            if isinstance(mod, nn.Linear):
                nn.init.normal_(mod.weight, mean=0.0, std=0.1)
                nn.init.zeros_(mod.bias)

        def forward(self, ids):
            x = self.emb(ids)
            a, _ = self.attn(x, x, x, attn_mask=self.mask, need_weights=False, is_causal=True)
            return self.head(self.ln(x + a))

    model = TinyLM()
    assert "mask" not in model.state_dict() and "mask" in dict(model.named_buffers())
    opt = tg.optim.AdamW(model.parameters(), lr=0.05)
    ids = np.array([[0, 1, 2, 3, 4, 0, 1], [2, 3, 4, 0, 1, 2, 3]])
    x, y = tg.tensor(ids[:, :-1]), tg.tensor(np.where(ids[:, 1:] == 0, -1, ids[:, 1:]))   # ignore target 0
    losses = []
    for _ in range(30):
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, vocab), y.view(-1), ignore_index=-1)
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# ---------------------------------------------------------------- scaled_dot_product_attention
SDPA = cases("sdpa")


@pytest.mark.parametrize("name", sorted(SDPA))
def test_sdpa_matches_pytorch(name, device):
    spec, p = SDPA[name], f"sdpa/{name}"
    q, k, v = (T(REF[f"{p}/{c}"], device, True) for c in "qkv")
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=T(ref(p, "mask"), device), **spec.get("kw", {}))
    close(out, REF[p + "/out"], "output")
    weighted(out, p).backward()
    for c, t in zip("qkv", (q, k, v)):
        close(t.grad, REF[f"{p}/grad_{c}"], f"gradient of {c}")


@st.composite
def sdpa_setups(draw):
    b, h, tq, s, e = (draw(st.integers(1, 3)) for _ in range(5))
    kind = draw(st.sampled_from(["none", "bool", "float", "causal", "causal+bool"]))
    mshape = tuple(draw(st.sampled_from([1, d])) for d in (b, h)) [draw(st.integers(0, 2)):] + (tq, s)
    return (b, h, tq, s, e), kind, mshape, draw(st.integers(0, 2**31))


@given(sdpa_setups())
def test_sdpa_gradcheck_with_masks(setup):
    """Bool masks (some rows fully masked: output and gradient 0), float masks with -inf, is_causal, broadcasting."""
    (b, h, tq, s, e), kind, mshape, seed = setup
    rng = np.random.default_rng(seed)
    q, k, v = (tg.tensor(rng.standard_normal(shape), requires_grad=True)
               for shape in ((b, h, tq, e), (b, h, s, e), (b, h, s, e)))
    mask = None
    if "bool" in kind:
        mask = tg.tensor(rng.random(mshape) < 0.6)
    elif kind == "float":
        mask = tg.tensor(np.where(rng.random(mshape) < 0.3, -np.inf, rng.standard_normal(mshape)))
    causal = kind.startswith("causal")
    tg.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal), q, k, v)


def test_sdpa_fully_masked_query_gets_zeros_and_errors():
    q = tg.randn(1, 1, 2, 3, requires_grad=True)
    kv = tg.randn(1, 1, 4, 3)
    keep = tg.tensor([[True, True, False, False], [False, False, False, False]])
    out = F.scaled_dot_product_attention(q, kv, kv, attn_mask=keep)
    assert not out.numpy()[0, 0, 1].any() and np.isfinite(out.numpy()).all()
    out.sum().backward()
    assert not q.grad.numpy()[0, 0, 1].any() and q.grad.numpy()[0, 0, 0].any()
    with pytest.raises(TypeError, match="attn_mask must be bool .* or float .*, got int64"):
        F.scaled_dot_product_attention(q, kv, kv, attn_mask=tg.zeros(2, 4, dtype=tg.int64))
    with pytest.raises(ValueError, match=r"query heads \(3\) must be a multiple of the key/value heads"):
        F.scaled_dot_product_attention(tg.randn(1, 3, 2, 4), tg.randn(1, 2, 2, 4), tg.randn(1, 2, 2, 4),
                                       enable_gqa=True)


# ---------------------------------------------------------------- pad
PAD = cases("pad")


@pytest.mark.parametrize("name", sorted(PAD))
def test_pad_matches_pytorch(name, device):
    spec, p = PAD[name], f"pad/{name}"
    x = T(REF[p + "/x"], device, True)
    out = F.pad(x, spec["pad"], mode=spec.get("mode", "constant"), value=spec.get("value"))
    close(out, REF[p + "/out"], "output")
    weighted(out, p).backward()
    close(x.grad, REF[p + "/grad"], "gradient")


@st.composite
def pad_setups(draw):
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple))
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    pads = []
    for n in reversed(shape[-draw(st.integers(1, len(shape))):]):
        hi = {"constant": 3, "reflect": n - 1, "replicate": 3, "circular": n}[mode]
        lo = -(n // 2) if mode != "circular" else -(n // 2)
        pads += [draw(st.integers(lo, hi)), draw(st.integers(lo, hi))]
    return shape, mode, tuple(pads), draw(st.integers(0, 2**31))


@given(pad_setups())
def test_pad_gradcheck(setup):
    shape, mode, pads, seed = setup
    x = tg.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)
    smallest = 0 if mode in ("constant", "circular") else 1           # PyTorch's rule for the padded size
    if any(n + pads[2 * i] + pads[2 * i + 1] < smallest for i, n in enumerate(reversed(shape[-(len(pads) // 2):]))):
        with pytest.raises(ValueError, match="pad: padding"):
            F.pad(x, pads, mode=mode)
        return
    tg.gradcheck(lambda x: F.pad(x, pads, mode=mode, value=0.5 if mode == "constant" else None), x)


def test_pad_values_and_errors():
    x = tg.tensor([1.0, 2.0, 3.0])
    assert F.pad(x, (2, 1)).tolist() == [0, 0, 1, 2, 3, 0]
    assert F.pad(x, (2, 1), mode="reflect").tolist() == [3, 2, 1, 2, 3, 2]
    assert F.pad(x, (2, 1), mode="replicate").tolist() == [1, 1, 1, 2, 3, 3]
    assert F.pad(x, (2, 1), mode="circular").tolist() == [2, 3, 1, 2, 3, 1]
    assert F.pad(tg.tensor([[1, 2]]), (1, 0), value=7).tolist() == [[7, 1, 2]]          # integers stay integers
    with pytest.raises(ValueError, match=r"pad: the padding length must be divisible by 2 .* got 3"):
        F.pad(x, (1, 1, 1))
    with pytest.raises(ValueError, match=r"pad: padding \(1, 1, 1, 1\) covers 2 dims but the input has only 1"):
        F.pad(x, (1, 1, 1, 1))
    with pytest.raises(ValueError, match=r"pad: reflect padding \(3, 0\) must be smaller than the size 3"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="pad: mode 'reflect' doesn't take a value"):
        F.pad(x, (1, 0), mode="reflect", value=1.0)
    with pytest.raises(ValueError, match="pad: mode must be"):
        F.pad(x, (1, 0), mode="mirror")


# ---------------------------------------------------------------- one_hot
@pytest.mark.parametrize("name", sorted(cases("onehot")))
def test_one_hot_matches_pytorch(name, device):
    p = f"onehot/{name}"
    out = F.one_hot(T(REF[p + "/x"], device), cases("onehot")[name]["n"])
    assert out.dtype == tg.int64 and out.device == device
    np.testing.assert_array_equal(out.numpy(), REF[p + "/out"])


def test_one_hot_errors():
    with pytest.raises(IndexError, match="one_hot: class values must be non-negative, got -1"):
        F.one_hot(tg.tensor([0, -1]))
    with pytest.raises(IndexError, match="one_hot: class value 3 is out of range for num_classes=2"):
        F.one_hot(tg.tensor([0, 3]), 2)
    with pytest.raises(ValueError, match="can not infer the number of classes from an empty tensor"):
        F.one_hot(tg.tensor(np.zeros(0, np.int64)))
    with pytest.raises(TypeError, match="one_hot: expected a tensor of class indices"):
        F.one_hot(tg.tensor([1.0]))
    assert F.one_hot(tg.tensor([1, 0]), 3).float().dtype == tg.float32        # makemore's xenc


# ---------------------------------------------------------------- cross_entropy / nll_loss
@pytest.mark.parametrize("group,name", [("ce", n) for n in sorted(cases("ce"))] +
                         [("nll", n) for n in sorted(cases("nll"))])
def test_losses_match_pytorch(group, name, device):
    spec, p = cases(group)[name], f"{group}/{name}"
    fn = F.cross_entropy if group == "ce" else F.nll_loss
    x = T(REF[p + "/x"], device, True)
    target = REF[p + "/target"]
    kw = dict(spec.get("kw", {}))
    if "ignore" in spec:
        kw["ignore_index"] = spec["ignore"]
    out = fn(x, T(target, device), weight=T(ref(p, "weight"), device), **kw)
    close(out, REF[p + "/out"], "loss")
    if spec.get("nograd"):
        return
    (weighted(out, p) if out.ndim else out).backward()
    close(x.grad, REF[p + "/grad"], "gradient")


@st.composite
def loss_setups(draw):
    n, c = draw(st.integers(1, 4)), draw(st.integers(2, 4))
    extra = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    ignore = draw(st.sampled_from([-100, -1, 0, 2]))
    return ((n, c) + extra, ignore, draw(st.booleans()), draw(st.sampled_from([0.0, 0.2])),
            draw(st.sampled_from(["mean", "sum", "none"])), draw(st.integers(0, 2**31)))


@given(loss_setups())
def test_cross_entropy_and_nll_gradcheck(setup):
    """Any ignore_index (also a real class), (N, C, d...) inputs, class weights, smoothing, every reduction."""
    shape, ignore, weighted_, smoothing, reduction, seed = setup
    rng = np.random.default_rng(seed)
    c = shape[1]
    tshape = (shape[0],) + shape[2:]
    flat = rng.integers(0, c, int(np.prod(tshape)))
    if flat.size > 1:
        flat[0] = ignore                                         # one target ignored ...
    if (flat == ignore).all():
        flat[-1] = (ignore + 1) % c                              # ... and at least one that counts
    t = flat.reshape(tshape)
    w = tg.tensor(rng.uniform(0.5, 2, c)) if weighted_ else None
    x = tg.tensor(rng.uniform(-3, 3, shape), requires_grad=True)
    tg.gradcheck(lambda x: F.cross_entropy(x, t, weight=w, ignore_index=ignore, label_smoothing=smoothing,
                                           reduction=reduction), x)
    tg.gradcheck(lambda x: F.nll_loss(x.log_softmax(1), t, weight=w, ignore_index=ignore, reduction=reduction), x)


def test_loss_arguments_as_pytorch():
    x, t = tg.randn(4, 3), tg.tensor([0, 2, 1, -1])
    with pytest.warns(UserWarning, match="size_average and reduce are deprecated"):
        legacy = F.cross_entropy(x, t, ignore_index=-1, reduce=False)
    assert legacy.shape == (4,) and legacy.numpy()[3] == 0
    assert np.isclose(F.cross_entropy(x, t, None, None, -1).item(), legacy.numpy()[:3].mean())   # PyTorch's order
    with pytest.raises(ValueError, match=r"cross_entropy: weight must have one value per class \(3,\), got "
                                         r"shape \(2,\)"):
        F.cross_entropy(x, t, weight=tg.ones(2), ignore_index=-1)
    with pytest.raises(ValueError, match=r"cross_entropy: class-index targets must have the input's shape without "
                                         r"the class dim 1 \(4,\), got \(4, 1\)"):
        F.cross_entropy(x, t.reshape(4, 1))
    with pytest.raises(IndexError, match=r"nll_loss: target 5 is out of range for 3 classes"):
        F.nll_loss(x, tg.tensor([0, 5, 1, 1]))
    assert F.cross_entropy(tg.randn(3), tg.tensor(1), reduction="none").shape == ()
    assert F.softmax(tg.randn(2, 3, dtype=tg.float16), -1, dtype=tg.float32).dtype == tg.float32


# ---------------------------------------------------------------- clip_grad_norm_
@pytest.mark.parametrize("name", sorted(cases("clip")))
def test_clip_grad_norm_matches_pytorch(name, device):
    spec, p = cases("clip")[name], f"clip/{name}"
    params = [tg.zeros(*REF[f"{p}/g{i}"].shape, dtype=tg.float64, device=device, requires_grad=True) for i in (0, 1)]
    for i, prm in enumerate(params):
        prm.grad = T(REF[f"{p}/g{i}"], device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        total = clip_grad_norm_(params, max_norm=spec["max_norm"], norm_type=spec["norm_type"])
    close(total, REF[p + "/total"], "total norm")
    for i, prm in enumerate(params):
        close(prm.grad, REF[f"{p}/out{i}"], f"clipped gradient {i}")
    if spec["kind"] != "finite":
        with pytest.raises(RuntimeError, match="non-finite"):
            clip_grad_norm_(params, 1.0, error_if_nonfinite=True)


# ---------------------------------------------------------------- layers and containers
def test_flatten_unflatten_softmax_layers_match_pytorch():
    x = tg.tensor(REF["layers/x"])
    checks = {"flatten": nn.Flatten(), "flatten_0_2": nn.Flatten(0, 2), "unflatten": nn.Unflatten(1, (3, 1)),
              "unflatten_neg": nn.Unflatten(-1, (-1, 1, 5)), "softmax_1": nn.Softmax(dim=1),
              "logsoftmax_last": nn.LogSoftmax(dim=-1)}
    for key, layer in checks.items():
        close(layer(x), REF[f"layers/{key}"], key)
    with pytest.warns(UserWarning, match="implicit dimension choice"):
        close(nn.Softmax()(tg.tensor(REF["layers/x3"])), REF["layers/softmax_implicit_3d"], "implicit 3-D")
    with pytest.warns(UserWarning, match="implicit dimension choice"):
        close(nn.Softmax()(x), REF["layers/softmax_implicit_4d"], "implicit 4-D")
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)" and repr(nn.Softmax(1)) == "Softmax(dim=1)"
    assert nn.Identity(3, foo=1)(x) is x


class KeysNet(nn.Module):
    """The same module as the fixture script's KeysNet, from tinygrad_tf.nn."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3, bias=False), nn.GELU(), nn.Flatten())
        self.heads = nn.ModuleDict({"b": nn.Linear(3, 2), "a": nn.Linear(3, 1, bias=False)})
        self.plist = nn.ParameterList([nn.Parameter(tg.zeros(2)), tg.ones(3)])
        self.pdict = nn.ParameterDict({"z": nn.Parameter(tg.zeros(1)), "y": nn.Parameter(tg.ones(2))})
        self.attn = nn.MultiheadAttention(4, 2, kdim=3)
        self.self_attn = nn.MultiheadAttention(4, 2, add_bias_kv=True, bias=False)
        self.register_buffer("steps", tg.zeros(1))
        self.register_buffer("scratch", tg.zeros(2), persistent=False)
        self.register_buffer("nothing", None)


def test_state_dict_names_match_pytorch():
    net = KeysNet()
    sd = net.state_dict()
    want = list(REF["keys/state_dict"])
    shapes = dict(zip(want, json.loads(str(REF["keys/shapes"]))))
    # the same keys and shapes; buffers come after all parameters here (PyTorch interleaves them per module)
    assert sorted(sd) == sorted(want) and all(list(sd[k].shape) == shapes[k] for k in sd)
    assert [n for n, _ in net.named_parameters()] == list(REF["keys/parameters"])
    assert [n for n, _ in net.named_buffers()] == list(REF["keys/buffers"])
    assert [n for n, _ in net.named_modules()] == list(REF["keys/modules"])
    assert isinstance(net.plist[1], nn.Parameter) and net.plist[1].requires_grad     # a Tensor became a Parameter


def test_parameter_and_module_containers():
    pl = nn.ParameterList()
    pl.append(tg.zeros(2)).extend([nn.Parameter(tg.ones(1))])
    pl += [tg.ones(3)]
    assert len(pl) == 3 and [p.shape for p in pl] == [(2,), (1,), (3,)] and pl[-1].shape == (3,)
    assert isinstance(pl[1:], nn.ParameterList) and len(pl[1:]) == 2
    pl[0] = tg.ones(4)
    assert pl[0].shape == (4,) and isinstance(pl[0], nn.Parameter)
    pd = nn.ParameterDict({"b": tg.zeros(1), "a": tg.zeros(2)})                # a plain dict: keys sorted, as PyTorch
    assert list(pd) == ["a", "b"] and "a" in pd and pd.get("c") is None
    pd.update(OrderedDict([("d", tg.zeros(1)), ("c", tg.zeros(1))]))           # an OrderedDict keeps its order
    assert list(pd.keys()) == ["a", "b", "d", "c"] and pd.pop("d").shape == (1,) and len(pd) == 3
    assert pd.setdefault("e", nn.Parameter(tg.ones(1))) is pd["e"]
    assert [n for n, _ in nn.Sequential(nn.Linear(1, 1), nn.Linear(1, 1)).named_parameters()] == \
        ["0.weight", "0.bias", "1.weight", "1.bias"]
    md = nn.ModuleDict({"x": nn.ReLU()})
    md.update({"y": nn.Tanh()})
    assert list(md) == ["x", "y"] and isinstance(md.pop("x"), nn.ReLU) and list(md.keys()) == ["y"]
    ml = nn.ModuleList([nn.ReLU(), nn.Tanh(), nn.GELU()])
    del ml[0]
    assert list(ml._modules) == ["0", "1"] and isinstance(ml[0], nn.Tanh)         # renumbered, as PyTorch
    ml.insert(0, nn.SiLU())
    ml += [nn.Sigmoid()]
    assert [type(m).__name__ for m in ml] == ["SiLU", "Tanh", "GELU", "Sigmoid"] and isinstance(ml.pop(1), nn.Tanh)
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    seq.append(nn.Linear(2, 1))
    seq[1] = nn.Tanh()
    assert isinstance(seq[1], nn.Tanh) and len(seq) == 3 and seq(tg.ones(4, 2)).shape == (4, 1)


def test_module_methods_as_pytorch():
    net = KeysNet()
    assert net.train() is net and net.eval() is net and not net.body[0].training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        net.train("yes")
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net and seen[-1] == "KeysNet" and "Linear" in seen
    assert [n for n, _ in net.named_children()][:3] == ["body", "heads", "plist"]
    assert net.get_submodule("body.0") is net.body[0] and net.get_parameter("heads.b.bias") is net.heads.b.bias
    assert net.get_buffer("steps") is net.steps
    with pytest.raises(AttributeError, match="has no submodule 'nope'"):
        net.get_submodule("body.nope")
    net.to(tg.float64)
    assert net.body[0].weight.dtype == tg.float64 and net.steps.dtype == tg.float64
    net.to(tg.zeros(1, dtype=tg.float32))                                     # .to(tensor): its dtype (and device)
    assert net.body[0].weight.dtype == tg.float32
    with pytest.raises(TypeError, match="only accepts floating point dtypes"):
        net.to(tg.int64)
    assert net.requires_grad_(False) is net and not any(p.requires_grad for p in net.parameters())
    net.requires_grad_()
    (net.body(tg.ones(2, 4)).sum()).backward()
    net.zero_grad(set_to_none=False)
    assert net.body[0].weight.grad is not None and not net.body[0].weight.grad.numpy().any()
    net.zero_grad()
    assert net.body[0].weight.grad is None
    sd = net.state_dict(keep_vars=True)
    assert sd["body.0.weight"] is net.body[0].weight
    dest = OrderedDict(extra=1)
    assert net.state_dict(destination=dest, prefix="m.") is dest and "m.steps" in dest
    result = net.load_state_dict(net.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    missing, unexpected = nn.Linear(2, 2).load_state_dict({"weight": np.zeros((2, 2)), "x": np.zeros(1)}, strict=False)
    assert missing == ["bias"] and unexpected == ["x"]
    assert nn.Parameter().shape == (0,)
    with pytest.raises(TypeError, match="cannot assign list to buffer 'b'"):
        net.register_buffer("b", [1, 2])


# ---------------------------------------------------------------- init
def test_init_gains_and_fans_match_pytorch():
    gains = [init.calculate_gain(n, a) for n, a in cases("gains")]
    close(np.array(gains, dtype=float), REF["init/gains"], "calculate_gain")
    fans = [list(init._calculate_fan_in_and_fan_out(tg.empty(*s))) for s in cases("fan_shapes")]
    np.testing.assert_array_equal(fans, REF["init/fans"])
    with pytest.raises(ValueError, match="Unsupported nonlinearity softsign"):
        init.calculate_gain("softsign")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(tg.empty(3))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_normal_(tg.empty(3, 3), mode="fan_avg")


@pytest.mark.parametrize("name", sorted(cases("init")))
def test_init_uses_pytorchs_bound_or_std(name):
    """Each initialiser asks the generator for exactly the U(-b, b) / N(0, std) PyTorch asks for (same draws)."""
    fn, shape, kw = cases("init")[name]
    (kind, (a, b)), = json.loads(str(REF["init/calls"]))[name]
    t = tg.empty(*shape, dtype=tg.float64, requires_grad=True)
    assert getattr(init, fn)(t, generator=tg.Generator().manual_seed(7), **kw) is t and t.is_leaf
    expected = tg.empty(*shape, dtype=tg.float64)
    getattr(init, kind)(expected, a, b, generator=tg.Generator().manual_seed(7))
    np.testing.assert_allclose(t.numpy(), expected.numpy(), rtol=1e-12, atol=0)


def _trunc_moments(mean, std, a, b):
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)                     # noqa: E731
    cdf = lambda z: (1 + math.erf(z / math.sqrt(2))) / 2                                # noqa: E731
    z = cdf(beta) - cdf(alpha)
    m = mean + std * (pdf(alpha) - pdf(beta)) / z
    var = std ** 2 * (1 + (alpha * pdf(alpha) - beta * pdf(beta)) / z - ((pdf(alpha) - pdf(beta)) / z) ** 2)
    return m, math.sqrt(var)


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04), (0.5, 1.0, 2.0, 3.5),
                                          (0.0, 1.0, -0.1, 0.2)])
def test_trunc_normal_is_the_truncated_normal(mean, std, a, b):
    """Both of PyTorch's samplers (redrawn normals; uniform proposals for narrow/far windows): in [a, b], with the
    truncated normal's mean and standard deviation."""
    t = init.trunc_normal_(tg.empty(40000, dtype=tg.float64), mean, std, a, b, generator=tg.Generator().manual_seed(1))
    x = t.numpy()
    m, s = _trunc_moments(mean, std, a, b)
    assert x.min() >= a and x.max() <= b
    assert abs(x.mean() - m) < 4 * s / math.sqrt(x.size) and abs(x.std() - s) < 0.02 * s
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(tg.empty(2), a=1.0, b=0.0)


def test_other_initialisers():
    g = tg.Generator().manual_seed(3)
    for shape, gain in (((3, 5), 1.0), ((6, 2, 2), 2.0), ((4, 4), 0.5)):
        w = init.orthogonal_(tg.empty(*shape, dtype=tg.float64), gain=gain, generator=g).numpy().reshape(shape[0], -1)
        small = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        np.testing.assert_allclose(small, gain ** 2 * np.eye(min(w.shape)), atol=1e-12)
    c = init.constant_(tg.empty(2, 2, dtype=tg.float64), 0.3)
    assert c.dtype == tg.float64 and c.tolist() == [[0.3, 0.3], [0.3, 0.3]]
    assert init.eye_(tg.empty(2, 3)).tolist() == [[1, 0, 0], [0, 1, 0]]
    assert init.ones_(tg.empty(2)).tolist() == [1, 1] and init.zeros_(tg.ones(2)).tolist() == [0, 0]
    empty = tg.empty(0, 3)
    assert init.kaiming_uniform_(empty) is empty                                # nothing to fill
    a = init.normal_(tg.empty(5), 1.0, 2.0, generator=tg.Generator().manual_seed(9)).numpy()
    b = init.normal_(tg.empty(5), 1.0, 2.0, generator=tg.Generator().manual_seed(9)).numpy()
    np.testing.assert_array_equal(a, b)                                         # generator= gives its own stream
    with pytest.raises(TypeError, match="nn.init.normal_: expected a Tensor to fill, got list"):
        init.normal_([1.0, 2.0])


# ---------------------------------------------------------------- loss modules, embedding padding
def test_loss_modules_and_embedding_padding_idx():
    logits, t = tg.randn(5, 3, requires_grad=True), tg.tensor([0, 2, -1, 1, -1])
    w = tg.tensor([1.0, 2.0, 0.5])
    crit = nn.CrossEntropyLoss(weight=w, ignore_index=-1, label_smoothing=0.1)
    assert np.isclose(crit(logits, t).item(), F.cross_entropy(logits, t, weight=w, ignore_index=-1,
                                                              label_smoothing=0.1).item())
    assert list(crit.state_dict()) == ["weight"] and "weight" not in nn.CrossEntropyLoss().state_dict()
    assert nn.NLLLoss(reduction="sum")(logits.log_softmax(1), tg.tensor([0, 1, 2, 0, 1])).shape == ()
    assert np.isclose(nn.MSELoss()(tg.tensor([1.0, 2.0]), tg.tensor([0.0, 0.0])).item(), 2.5)
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"
    emb = nn.Embedding(4, 3, padding_idx=-1)
    assert emb.padding_idx == 3 and not emb.weight.numpy()[3].any() and repr(emb) == "Embedding(4, 3, padding_idx=3)"
    emb.weight.data[3] = 1.0                                                   # the row is still read ...
    out = emb(tg.tensor([[3, 1, 3]]))
    assert out.numpy()[0, 0].tolist() == [1, 1, 1]
    (out * tg.randn(1, 3, 3)).sum().backward()
    g = emb.weight.grad.numpy()
    assert not g[3].any() and g[1].any() and not g[0].any()                  # ... but gets no gradient
    with pytest.raises(IndexError, match="Embedding: padding_idx 4 is out of range for a table of 4 rows"):
        nn.Embedding(4, 3, padding_idx=4)
