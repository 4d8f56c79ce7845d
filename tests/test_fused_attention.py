"""Fused attention (attention_ops.Attention) against the lesson's unfused path (nn.functional._attend and
attention(need_weights=True)), which stays the readable reference.

* equal outputs and gradients (float64) over hypothesis-drawn shapes: grouped-query heads, L != S (a KV-cache
  step), causal and padding masks, rows with no key at all, an additive bias broadcast from any shape (and
  needing a gradient or not), both conventions for masked scores (-inf: SDPA; the lowest float: the models);
* gradcheck and gradgradcheck (float64 central differences) over drawn shapes, broadcasting included;
* what the op keeps for backward (no (..., T, S) array), where it is used (models, SDPA, MultiheadAttention)
  and where it is not (weights asked for, dropout), float16 autocast, and the device plumbing (CuPy stand-in).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import broadcasts_to

import tinygrad_tf as tg
from tinygrad_tf import attention_ops, nn
from tinygrad_tf.autograd import grad
from tinygrad_tf.nn import amp
from tinygrad_tf.nn import functional as F
from tinygrad_tf.nn.models import BERT, GPT, T5, BertConfig, GPTConfig, T5Config

SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def node_names(t):
    """The op names on the graph behind ``t``."""
    seen, todo, names = set(), [t.grad_fn], set()
    while todo:
        n = todo.pop()
        if n is None or isinstance(n, tg.Tensor) or id(n) in seen:
            continue
        seen.add(id(n))
        names.add(type(n).__name__)
        todo.extend(getattr(n, "next", ()))
    return names


@st.composite
def cases(draw):
    """Shapes, masks and a bias for one attention call: q (B, G * Hkv, T, d), k (B, Hkv, S, d), v (B, Hkv, S, dv)."""
    b, hkv, g = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 3))
    t, s, d, dv = draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    keep = None
    if draw(st.booleans()):                          # causal, bottom-right aligned (a KV-cache step when T < S)
        keep = np.tril(np.ones((t, s), dtype=bool), k=s - t)
    if draw(st.booleans()):                          # padding: (B, 1, 1, S), whole rows may end up masked
        pad = rng.random((b, 1, 1, s)) < 0.7
        keep = pad if keep is None else keep & pad
    bias = None
    if draw(st.booleans()):
        bias = rng.standard_normal(draw(broadcasts_to((b, hkv * g, t, s))))
    return dict(q=rng.standard_normal((b, hkv * g, t, d)), k=rng.standard_normal((b, hkv, s, d)),
                v=rng.standard_normal((b, hkv, s, dv)), keep=keep, bias=bias,
                bias_grad=draw(st.booleans()), scale=draw(st.sampled_from([None, 1.0, 0.3])))


def tensors(c):
    q, k, v = (tg.tensor(c[n], requires_grad=True) for n in "qkv")
    bias = None if c["bias"] is None else tg.tensor(c["bias"], requires_grad=c["bias_grad"])
    keep = None if c["keep"] is None else tg.tensor(c["keep"])
    return q, k, v, keep, bias


def values_and_grads(c, fn):
    """fn's output and the gradients of a fixed weighted sum of it, for q, k, v and (if it needs one) the bias."""
    q, k, v, keep, bias = tensors(c)
    y = fn(q, k, v, keep, bias)
    w = np.random.default_rng(1).standard_normal(y.shape)
    inputs = [q, k, v] + ([bias] if bias is not None and bias.requires_grad else [])
    return y, [y.numpy()] + [gr.numpy() for gr in grad((y * tg.tensor(w)).sum(), inputs)]


def repeat(x, n):
    return F._repeat_heads(x, n) if n > 1 else x


def assert_same(a, b):
    for x, y in zip(a, b, strict=True):
        assert np.isfinite(x).all()
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12)


@SLOW
@given(c=cases())
def test_fused_equals_unfused_sdpa_convention(c):
    """-inf for masked scores (SDPA): a row with no key gives output 0 and gradient 0, in both paths."""
    g = c["q"].shape[1] // c["k"].shape[1]
    y, fused = values_and_grads(c, lambda q, k, v, keep, bias: F._fused_attention(q, k, v, keep, bias, c["scale"],
                                                                                   group=True))
    assert "Attention" in node_names(y)
    _, ref = values_and_grads(c, lambda q, k, v, keep, bias: F._attend(q, repeat(k, g), repeat(v, g), keep, bias,
                                                                       c["scale"])[0])
    assert_same(fused, ref)
    if c["keep"] is not None:                    # rows with no key: exactly 0, not NaN
        dead = ~np.broadcast_to(c["keep"], fused[0].shape[:-1] + (c["k"].shape[2],)).any(-1)
        assert (fused[0][dead] == 0).all() and (fused[1][dead] == 0).all()


@SLOW
@given(c=cases())
def test_fused_equals_unfused_model_convention(c):
    """The lowest float for masked scores (F.attention, the models, Hugging Face): a row with no key is uniform."""
    g = c["q"].shape[1] // c["k"].shape[1]
    y, fused = values_and_grads(c, lambda q, k, v, keep, bias: F.attention(q, k, v, keep, bias, c["scale"],
                                                                           need_weights=False)[0])
    assert "Attention" in node_names(y)
    _, ref = values_and_grads(c, lambda q, k, v, keep, bias: F.attention(q, repeat(k, g), repeat(v, g), keep, bias,
                                                                         c["scale"])[0])
    assert_same(fused, ref)


@SLOW
@given(c=cases())
def test_fused_gradcheck(c):
    q, k, v, keep, bias = tensors(c)
    if bias is not None:
        bias.requires_grad_()
        assert tg.gradcheck(lambda q, k, v, b: F._fused_attention(q, k, v, keep, b, c["scale"], group=True),
                            q, k, v, bias)
    else:
        assert tg.gradcheck(lambda q, k, v: F.attention(q, k, v, keep, None, c["scale"], need_weights=False)[0],
                            q, k, v)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(c=cases(), lowest=st.booleans())
def test_fused_gradgradcheck(c, lowest):
    q, k, v, keep, bias = tensors(c)
    ins = [q, k, v] + ([bias.requires_grad_()] if bias is not None else [])

    def fn(q, k, v, b=None):
        return F._fused_attention(q, k, v, keep, b, c["scale"], lowest=lowest, group=True)
    assert tg.gradgradcheck(fn, *ins)


def test_sdpa_uses_the_fused_op_unless_dropout():
    rng = np.random.default_rng(0)
    q, k, v = (tg.tensor(rng.standard_normal((2, 4, 3, 5)), requires_grad=True) for _ in range(3))
    kv = [tg.tensor(rng.standard_normal((2, 2, 3, 5)), requires_grad=True) for _ in range(2)]
    assert "Attention" in node_names(F.scaled_dot_product_attention(q, k, v, is_causal=True))
    assert "Attention" in node_names(F.scaled_dot_product_attention(q, *kv, enable_gqa=True))
    tg.manual_seed(0)
    dropped = node_names(F.scaled_dot_product_attention(q, k, v, dropout_p=0.5))    # p > 0: the unfused path
    assert "Dropout" in dropped and "Attention" not in dropped
    with pytest.raises(ValueError, match="multiple of the key/value heads"):          # errors as before
        F.scaled_dot_product_attention(q, tg.randn(2, 3, 3, 5), tg.randn(2, 3, 3, 5), enable_gqa=True)


def test_fused_keeps_no_score_sized_array():
    """What backward gets: q, k, v, the mask and two numbers per row -- nothing of size T * S."""
    b, h, t, d = 2, 3, 16, 4
    q, k, v = (tg.randn(b, h, t, d, requires_grad=True) for _ in range(3))
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    saved = [a for a in y.grad_fn.saved_tensors if hasattr(a, "shape")]
    assert max(a.size for a in saved) == b * h * t * d and all(t * t not in a.shape[-2:] for a in saved)
    assert sorted(a.shape for a in saved if a.dtype != bool)[:2] == [(b, h, t, 1)] * 2     # row max, row sum


def test_multihead_attention_uses_fused_without_weights():
    mha = nn.MultiheadAttention(8, 2, batch_first=True).double()
    x = tg.tensor(np.random.default_rng(0).standard_normal((2, 5, 8)), requires_grad=True)
    pad = np.array([[False] * 5, [False] * 3 + [True] * 2])
    y, w = mha(x, x, x, key_padding_mask=pad, need_weights=False)
    assert w is None and "Attention" in node_names(y)
    y2, w2 = mha(x, x, x, key_padding_mask=pad, need_weights=True)
    assert w2 is not None and "Attention" not in node_names(y2)
    np.testing.assert_allclose(y.numpy(), y2.numpy(), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- models: fused by default, equal to unfused
def _force_unfused(monkeypatch):
    monkeypatch.setattr(F, "_fused_attention", lambda *a, **kw: None)


def _loss_and_grads(model, run):
    model.zero_grad()
    out = run(model)
    out.loss.backward()
    return out, [out.loss.numpy()] + [p.grad.numpy() for p in model.parameters() if p.grad is not None]


GPTS = {
    "gpt-2 (learned positions, padding)": dict(),
    "llama (rope, grouped-query)": dict(position="rope", norm="rmsnorm", activation="swiglu", bias=False, n_kv_head=1),
    "alibi": dict(position="alibi"),
}


@pytest.mark.parametrize("name", list(GPTS))
def test_gpt_models_use_fused_and_match_unfused(name, monkeypatch):
    cfg = GPTConfig(vocab_size=17, context_length=8, d_model=16, n_layer=2, n_head=4, d_ff=32, dropout=0.0,
                    **GPTS[name])
    tg.manual_seed(0)
    model = GPT(cfg).double()
    ids = np.random.default_rng(0).integers(0, 17, (2, 6))
    mask = np.array([[1] * 6, [1] * 4 + [0] * 2])

    def run(m):
        return m(ids, attention_mask=mask, labels=ids)
    out, fused = _loss_and_grads(model, run)
    assert "Attention" in node_names(out.loss)
    assert "Attention" not in node_names(model(ids, output_attentions=True).logits)   # weights: unfused
    with pytest.MonkeyPatch.context() as mp:
        _force_unfused(mp)
        out2, ref = _loss_and_grads(model, run)
        assert "Attention" not in node_names(out2.loss)
    for a, b in zip(fused, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    # KV-cache decoding (T = 1 against S cached keys) gives the full forward's last logits
    with tg.no_grad():
        full = model(ids).logits.numpy()
        step = model(ids[:, :5], use_cache=True)
        last = model(ids[:, 5:], past_key_values=step.past_key_values).logits.numpy()
    np.testing.assert_allclose(last[:, -1], full[:, -1], rtol=1e-9, atol=1e-12)


def test_bert_and_t5_use_fused_and_match_unfused(monkeypatch):
    rng = np.random.default_rng(0)
    tg.manual_seed(0)
    bert = BERT(BertConfig(vocab_size=20, context_length=8, d_model=16, n_layer=2, n_head=4, d_ff=32,
                           dropout=0.0)).double()
    t5 = T5(T5Config(vocab_size=20, d_model=16, n_layer=2, n_head=4, d_ff=32, dropout=0.0,
                     relative_attention_num_buckets=8, relative_attention_max_distance=12)).double()
    ids, tgt = rng.integers(0, 20, (2, 7)), rng.integers(0, 20, (2, 5))
    mask = np.array([[1] * 7, [1] * 5 + [0] * 2])
    labels = np.where(rng.random((2, 7)) < 0.5, ids, -100)
    runs = {bert: lambda m: m(ids, attention_mask=mask, labels=labels),
            t5: lambda m: m(ids, attention_mask=mask, labels=tgt)}     # relative bias (learned), cross-attention
    for model, run in runs.items():
        out, fused = _loss_and_grads(model, run)
        assert "Attention" in node_names(out.loss)
        with pytest.MonkeyPatch.context() as mp:
            _force_unfused(mp)
            _, ref = _loss_and_grads(model, run)
        assert len(fused) == len(ref)
        for a, b in zip(fused, ref, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert np.abs(t5.encoder_bias.embed.weight.grad.numpy()).sum() > 0     # the bias got its gradient


def test_autocast_float16_products_float32_softmax():
    rng = np.random.default_rng(0)
    q, k, v = (tg.tensor(rng.standard_normal((2, 2, 6, 8)).astype(np.float32), requires_grad=True) for _ in range(3))
    keep = tg.tensor(np.tril(np.ones((6, 6), dtype=bool)))
    with amp.autocast():
        y, _ = F.attention(q, k, v, keep, need_weights=False)
        ref, _ = F.attention(q, k, v, keep)
    assert y.dtype == ref.dtype == np.float16 and "Attention" in node_names(y)
    node = next(n for n in [y.grad_fn] if type(n).__name__ == "Attention")
    assert {a.dtype for a in node.saved_tensors[-2:]} == {np.dtype(np.float32)}     # the softmax ran in float32
    np.testing.assert_allclose(y.numpy().astype(np.float32), ref.numpy().astype(np.float32), atol=2e-3)
    gy = [t.numpy() for t in grad(y.float().sum(), [q, k, v])]
    gr = [t.numpy() for t in grad(ref.float().sum(), [q, k, v])]
    for a, b in zip(gy, gr):
        assert a.dtype == np.float32 and np.isfinite(a).all()
        np.testing.assert_allclose(a, b, atol=5e-3)


@pytest.mark.usefixtures("cuda")
def test_fused_on_the_device_matches_cpu():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in ((2, 4, 3, 5), (2, 2, 4, 5), (2, 2, 4, 3), (1, 4, 3, 4))]
    keep = np.tril(np.ones((3, 4), dtype=bool), k=1)
    results = {}
    for device in ("cpu", "cuda"):
        q, k, v, b = (tg.Tensor(a, device=device, requires_grad=True) for a in arrays)
        y = F._fused_attention(q, k, v, tg.Tensor(keep, device=device), b, group=True)
        assert y.device == device and "Attention" in node_names(y)
        y.sum().backward(retain_graph=True)
        results[device] = [y.numpy()] + [t.grad.numpy() for t in (q, k, v, b)]
        h = grad(grad((y * y).sum(), q, create_graph=True)[0].sum(), k)[0]         # second order on the device
        results[device].append(h.numpy())
    for a, b in zip(results["cpu"], results["cuda"]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_attention_ops_is_the_fused_op():
    assert F._fused_attention.__module__ == F.__name__ and attention_ops.Attention.__name__ == "Attention"
