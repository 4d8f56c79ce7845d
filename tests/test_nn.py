"""tinygrad_tf.nn: the module system, every layer (values against NumPy formulas, float64 gradchecks),
nn.functional, positional encodings and attention."""

import math

import numpy as np
import pytest

import tinygrad_tf as tg
import tinygrad_tf.nn.functional as F
from tinygrad_tf import nn
from tinygrad_tf.nn.attention import KVCache
from tinygrad_tf.nn.positional import alibi_slopes, rotate_half, sinusoidal_table

RNG = np.random.default_rng(0)


def randn(*shape, grad=False, dtype=np.float64):
    return tg.tensor(RNG.standard_normal(shape).astype(dtype), requires_grad=grad)


def _swap(module, names, tensors):
    """Put ``tensors`` in place of the named parameters; return what was there."""
    old = []
    for name, t in zip(names, tensors):
        *path, leaf = name.split(".")
        m = module
        for p in path:
            m = getattr(m, p)
        old.append(m._parameters[leaf])
        m._parameters[leaf] = t
    return old


def check_module(module, *inputs, **kwargs):
    """float64 gradcheck of a module w.r.t. its (grad-requiring) inputs AND every parameter."""
    module.double()
    names = [n for n, _ in module.named_parameters()]
    params = [tg.tensor(p.data, requires_grad=True) for _, p in module.named_parameters()]

    def fn(*args):
        xs, ps = args[:len(inputs)], args[len(inputs):]
        saved = _swap(module, names, ps)
        try:
            out = module(*xs, **kwargs)
        finally:
            _swap(module, names, saved)
        return out[0] if isinstance(out, tuple) else out
    return tg.gradcheck(fn, *inputs, *params)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(3, 3), nn.ReLU()) for _ in range(2)])
        self.head = nn.Linear(3, 2, bias=False)
        self.register_buffer("steps", tg.zeros(1))
        self.register_buffer("scratch", tg.zeros(2), persistent=False)

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return self.head(x)


# ---------------------------------------------------------------- module system
def test_named_parameters_paths_and_walks():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["blocks.0.0.weight", "blocks.0.0.bias", "blocks.1.0.weight", "blocks.1.0.bias", "head.weight"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert [n for n, _ in net.named_modules()][:4] == ["", "blocks", "blocks.0", "blocks.0.0"]
    assert [type(c).__name__ for c in net.children()] == ["ModuleList", "Linear"]
    assert len(list(net.modules())) == 9
    assert net.num_parameters() == 2 * (3 * 3 + 3) + 6
    assert [n for n, _ in net.named_buffers()] == ["steps", "scratch"]


def test_state_dict_round_trip_buffers_and_strict_errors():
    a, b = Net(), Net()
    sd = a.state_dict()
    assert list(sd) == [n for n, _ in a.named_parameters()] + ["steps"]     # persistent buffers only
    b.load_state_dict(sd)
    x = randn(5, 3, dtype=np.float32)
    assert np.array_equal(a(x).numpy(), b(x).numpy())
    w = b.head.weight
    b.load_state_dict(Net().state_dict())
    assert b.head.weight is w                                                # values copied, identity kept
    bad = dict(sd)
    del bad["head.weight"]
    bad["extra.weight"] = np.zeros(3)
    bad["blocks.0.0.weight"] = np.zeros((5, 3))   # model: (3, 3)
    with pytest.raises(RuntimeError) as e:
        b.load_state_dict(bad)
    msg = str(e.value)
    assert "missing keys: head.weight" in msg and "unexpected keys: extra.weight" in msg
    assert "blocks.0.0.weight: checkpoint shape (5, 3) vs model shape (3, 3)" in msg
    del bad["blocks.0.0.weight"]
    missing, unexpected = b.load_state_dict(bad, strict=False)
    assert missing == ["blocks.0.0.weight", "head.weight"] and unexpected == ["extra.weight"]


def test_tied_weights_counted_once_and_either_name_loads():
    m = nn.Sequential({"emb": nn.Embedding(5, 3), "out": nn.Linear(3, 5, bias=False)})
    m.out.weight = m.emb.weight
    assert [n for n, _ in m.named_parameters()] == ["emb.weight"] and m.num_parameters() == 15
    assert list(m.state_dict()) == ["emb.weight"]
    m.load_state_dict({"out.weight": np.ones((5, 3))})
    assert np.all(m.emb.weight.numpy() == 1) and m.out.weight is m.emb.weight
    m.double()
    assert m.out.weight is m.emb.weight and m.emb.weight.dtype == np.float64


def test_hooks_train_eval_zero_grad_and_assignment_rules():
    net, x3, seen = Net(), randn(2, 3, dtype=np.float32), []
    h = net.head.register_forward_hook(lambda mod, inp, out: seen.append((mod, inp[0].shape, out.shape)))
    net(x3)
    h.remove()
    net(x3)
    assert seen == [(net.head, (2, 3), (2, 2))]                           # called once, then removed
    h = net.register_forward_hook(lambda mod, inp, out: out * 0)           # a returned value replaces the output
    assert np.all(net(x3).numpy() == 0)
    h.remove()
    pre = net.register_forward_pre_hook(lambda mod, inp: (inp[0] * 0,))   # ... and replaces the inputs
    assert np.allclose(net(x3).numpy(), net.head(net.blocks[1](net.blocks[0](tg.zeros(2, 3)))).numpy())
    pre.remove()
    drop = nn.Sequential(nn.Dropout(0.5))
    x = tg.ones(1000)
    assert drop.training and (drop(x).numpy() == 0).mean() > 0.3
    drop.eval()
    assert not drop[0].training and np.array_equal(drop(x).numpy(), x.numpy())

    net(x3).sum().backward()
    assert net.head.weight.grad is not None
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    with pytest.raises(TypeError, match="parameter 'weight'"):
        net.head.weight = tg.zeros(2, 3)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        net.nope


def test_repr_tree_and_containers():
    net = Net()
    r = repr(net)
    assert r.startswith("Net(\n  (blocks): ModuleList(\n    (0-1): 2 x Sequential(")
    assert "(head): Linear(in_features=3, out_features=2, bias=False)" in r
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"
    d = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.ReLU()})
    assert list(d) == ["a", "b"] and "a" in d and [n for n, _ in d.named_parameters()] == ["a.weight", "a.bias"]
    ml = nn.ModuleList([nn.ReLU()])
    ml.append(nn.Tanh())
    ml.insert(0, nn.SiLU())
    assert [type(m).__name__ for m in ml] == ["SiLU", "ReLU", "Tanh"] and len(ml[1:]) == 2
    seq = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    assert seq(tg.ones(4, 2)).shape == (4, 1) and isinstance(seq[1], nn.Tanh)


def test_to_dtype_moves_params_and_buffers():
    net = Net().to(tg.float64)
    assert all(p.dtype == np.float64 for p in net.parameters()) and net.steps.dtype == np.float64
    assert net.to("cpu").device == "cpu"


# ---------------------------------------------------------------- layers against their formulas
def test_linear_embedding_values_and_gradcheck():
    lin = nn.Linear(3, 2).double()
    x = randn(4, 3)
    w, b = lin.weight.numpy(), lin.bias.numpy()
    assert lin.weight.shape == (2, 3) and np.allclose(lin(x).numpy(), x.numpy() @ w.T + b)
    check_module(nn.Linear(3, 2), randn(2, 4, 3, grad=True))
    check_module(nn.Linear(3, 2, bias=False), randn(4, 3, grad=True))
    emb = nn.Embedding(6, 3)
    ids = tg.tensor([[0, 2, 2], [5, 1, 0]])
    assert np.array_equal(emb(ids).numpy(), emb.weight.numpy()[ids.numpy()])
    check_module(nn.Embedding(6, 3), ids)


def _ln_ref(x, w, b, eps, axes):
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def test_layernorm_rmsnorm_groupnorm_values():
    x = randn(2, 3, 4)
    ln = nn.LayerNorm(4).double()
    nn.init.normal_(ln.weight), nn.init.normal_(ln.bias)
    assert np.allclose(ln(x).numpy(), _ln_ref(x.numpy(), ln.weight.numpy(), ln.bias.numpy(), 1e-5, -1))
    ln2 = nn.LayerNorm((3, 4), elementwise_affine=False)
    assert np.allclose(ln2(x).numpy(), _ln_ref(x.numpy(), 1, 0, 1e-5, (-2, -1)))
    assert [n for n, _ in nn.LayerNorm(4, bias=False).named_parameters()] == ["weight"]
    rms = nn.RMSNorm(4, eps=1e-6).double()
    nn.init.normal_(rms.weight)
    ref = x.numpy() / np.sqrt((x.numpy() ** 2).mean(-1, keepdims=True) + 1e-6) * rms.weight.numpy()
    assert np.allclose(rms(x).numpy(), ref)
    # GroupNorm (N, C, H, W): statistics per sample and group over its channels and all pixels
    img = randn(2, 6, 3, 5)
    gn = nn.GroupNorm(3, 6).double()
    nn.init.normal_(gn.weight), nn.init.normal_(gn.bias)
    g = img.numpy().reshape(2, 3, -1)
    ref = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + 1e-5)).reshape(img.shape)
    ref = ref * gn.weight.numpy()[:, None, None] + gn.bias.numpy()[:, None, None]
    assert np.allclose(gn(img).numpy(), ref)
    # channels_last on (B, T, C): each position's C features in G groups, positions never mixed
    seq = randn(2, 5, 6)
    gcl = nn.GroupNorm(2, 6, channels_last=True).double()
    s = seq.numpy().reshape(2, 5, 2, 3)
    ref = ((s - s.mean(-1, keepdims=True)) / np.sqrt(s.var(-1, keepdims=True) + 1e-5)).reshape(2, 5, 6)
    assert np.allclose(gcl(seq).numpy(), ref)
    with pytest.raises(ValueError, match="not divisible"):
        nn.GroupNorm(4, 6)


def test_norm_gradchecks():
    check_module(nn.LayerNorm(4), randn(2, 3, 4, grad=True))
    check_module(nn.RMSNorm(4), randn(3, 4, grad=True))
    check_module(nn.GroupNorm(2, 4), randn(2, 4, 3, grad=True))
    check_module(nn.GroupNorm(2, 4, channels_last=True), randn(2, 3, 4, grad=True))


def test_activations_and_dropout():
    x = randn(50)
    xs = x.numpy()
    erf = np.vectorize(math.erf)
    assert np.allclose(nn.GELU()(x).numpy(), 0.5 * xs * (1 + erf(xs / math.sqrt(2))))
    tanh_gelu = 0.5 * xs * (1 + np.tanh(math.sqrt(2 / math.pi) * (xs + 0.044715 * xs ** 3)))
    assert np.allclose(nn.GELU("tanh")(x).numpy(), tanh_gelu)
    assert np.allclose(nn.SiLU()(x).numpy(), xs / (1 + np.exp(-xs)))
    assert np.allclose(nn.ReLU()(x).numpy(), np.maximum(xs, 0)) and np.allclose(nn.Tanh()(x).numpy(), np.tanh(xs))
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")
    tg.manual_seed(0)
    y = F.dropout(tg.ones(10000), 0.25).numpy()
    assert abs((y == 0).mean() - 0.25) < 0.03 and np.allclose(y[y != 0], 1 / 0.75)
    assert np.all(F.dropout(tg.ones(5), 1.0).numpy() == 0) and F.dropout(x, 0.5, training=False) is x


def test_feedforward_plain_and_gated():
    x = randn(2, 3, 4, grad=True)
    ff = nn.FeedForward(4, 8, "relu").double()
    assert np.allclose(ff(x).numpy(), ff.down(ff.up(x).relu()).numpy())
    g = nn.GatedFeedForward(4, 8, "silu").double()          # SwiGLU: down(silu(gate x) * up x)
    assert np.allclose(g(x).numpy(), g.down(g.gate(x).silu() * g.up(x)).numpy())
    check_module(nn.FeedForward(4, 6, "gelu"), x)
    check_module(nn.GatedFeedForward(4, 6, "gelu", bias=True), x)          # GEGLU


# ---------------------------------------------------------------- functional
def test_cross_entropy_matches_formula():
    logits, t = randn(6, 5), np.array([0, 4, 2, -100, 1, 3])
    logp = logits.numpy() - np.log(np.exp(logits.numpy()).sum(1, keepdims=True))
    keep = t != -100
    ref = -logp[np.arange(6)[keep], t[keep]]
    assert np.isclose(F.cross_entropy(logits, t).item(), ref.mean())
    assert np.isclose(F.cross_entropy(logits, t, reduction="sum").item(), ref.sum())
    assert F.cross_entropy(logits, t, reduction="none").shape == (6,)
    s = 0.1
    ref_ls = ((1 - s) * -logp[np.arange(6), np.where(keep, t, 0)] - s * logp.mean(1))[keep].mean()
    assert np.isclose(F.cross_entropy(logits, t, label_smoothing=s).item(), ref_ls)
    # class at dim 1, as PyTorch: (N, C, d) with target (N, d)
    x3, t3 = randn(2, 5, 3), RNG.integers(0, 5, (2, 3))
    flat = F.cross_entropy(x3.permute(0, 2, 1).reshape(-1, 5), t3.reshape(-1))
    assert np.isclose(F.cross_entropy(x3, t3).item(), flat.item())
    assert F.cross_entropy(x3, t3, reduction="none").shape == (2, 3)
    probs = np.eye(5)[[0, 4, 2, 1, 1, 3]]                                   # one-hot probabilities
    assert np.isclose(F.cross_entropy(logits, tg.tensor(probs)).item(),
                      F.cross_entropy(logits, np.array([0, 4, 2, 1, 1, 3])).item())
    with pytest.raises(IndexError, match="out of range"):
        F.cross_entropy(logits, np.array([0, 9, 0, 0, 0, 0]))
    x = randn(4, 3, grad=True)
    tg.gradcheck(lambda z: F.cross_entropy(z, np.array([0, 2, -100, 1]), label_smoothing=0.2), x)
    assert np.isclose(F.mse_loss(tg.tensor([1., 2.]), tg.tensor([0., 0.])).item(), 2.5)


def _attn_ref(q, k, v, keep=None, add=None, scale=None):
    s = q @ np.swapaxes(k, -1, -2) * (scale or 1 / np.sqrt(q.shape[-1]))
    if add is not None:
        s = s + add
    if keep is not None:
        s = np.where(keep, s, -np.inf)
    w = np.exp(s - s.max(-1, keepdims=True))
    return (w / w.sum(-1, keepdims=True)) @ v


def test_scaled_dot_product_attention():
    q, k, v = randn(2, 3, 4, 5), randn(2, 3, 6, 5), randn(2, 3, 6, 5)
    qn, kn, vn = q.numpy(), k.numpy(), v.numpy()
    assert np.allclose(F.scaled_dot_product_attention(q, k, v).numpy(), _attn_ref(qn, kn, vn))
    causal = np.tril(np.ones((4, 6), bool))
    assert np.allclose(F.scaled_dot_product_attention(q, k, v, is_causal=True).numpy(), _attn_ref(qn, kn, vn, causal))
    keep = RNG.random((4, 6)) > 0.3
    keep[:, 0] = True
    assert np.allclose(F.scaled_dot_product_attention(q, k, v, attn_mask=tg.tensor(keep)).numpy(),
                       _attn_ref(qn, kn, vn, keep))
    add = RNG.standard_normal((4, 6))
    assert np.allclose(F.scaled_dot_product_attention(q, k, v, attn_mask=tg.tensor(add), scale=0.3).numpy(),
                       _attn_ref(qn, kn, vn, add=add, scale=0.3))
    q, k, v = randn(1, 2, 3, 2, grad=True), randn(1, 2, 3, 2, grad=True), randn(1, 2, 3, 2, grad=True)
    tg.gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True), q, k, v)


# ---------------------------------------------------------------- positional encodings
def test_sinusoidal_table():
    pe = sinusoidal_table(10, 6)
    p, i = 7, 2
    assert np.isclose(pe[p, 2 * i], math.sin(p / 10000 ** (2 * i / 6)))
    assert np.isclose(pe[p, 2 * i + 1], math.cos(p / 10000 ** (2 * i / 6)))
    assert sinusoidal_table(4, 5).shape == (4, 5)                          # odd widths work


def test_rope_rotates_pairs_and_is_relative():
    rope = nn.RotaryEmbedding(8, theta=100.0)
    x = randn(1, 1, 5, 8)
    cos, sin = rope(tg.arange(5), dtype=np.float64)
    y = nn.apply_rotary(x, cos, sin).numpy()
    # half-split convention: feature i pairs with i + d/2, rotated by angle p * theta^(-2i/d)
    z = x.numpy()[..., :4] + 1j * x.numpy()[..., 4:]
    ang = np.arange(5)[:, None] * 100.0 ** (-np.arange(0, 8, 2) / 8)
    rot = z * np.exp(1j * ang)
    assert np.allclose(y, np.concatenate([rot.real, rot.imag], -1))
    assert np.allclose(rotate_half(tg.tensor([1., 2., 3., 4.])).numpy(), [-3, -4, 1, 2])
    q, k = randn(8), randn(8)

    def score(pq, pk):                                                     # depends only on pq - pk
        cq, sq = rope(tg.tensor([pq]), dtype=np.float64)
        ck, sk = rope(tg.tensor([pk]), dtype=np.float64)
        return (nn.apply_rotary(q, cq, sq) * nn.apply_rotary(k, ck, sk)).sum().item()
    assert np.isclose(score(3, 1), score(10, 8)) and not np.isclose(score(3, 1), score(3, 2))
    c, s = rope(tg.arange(3), dtype=np.float64)
    tg.gradcheck(lambda t: nn.apply_rotary(t, c, s), randn(2, 3, 8, grad=True))


def test_alibi_slopes_any_head_count():
    assert np.allclose(alibi_slopes(8), [2 ** -k for k in range(1, 9)])
    assert np.allclose(alibi_slopes(4), [2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8])
    # 6 heads: the 4-head slopes, then every other slope of the 8-head sequence: 1/2, 1/8
    assert np.allclose(alibi_slopes(6), [1 / 4, 1 / 16, 1 / 64, 1 / 256, 1 / 2, 1 / 8])
    assert len(alibi_slopes(12)) == 12 and len(set(alibi_slopes(12))) == 12
    bias = nn.ALiBi(2)(tg.arange(2, 4), tg.arange(4)).numpy()              # 2 new queries after 2 cached keys
    assert bias.shape == (1, 2, 2, 4)
    assert np.allclose(bias[0, 0], -alibi_slopes(2)[0] * np.abs(np.arange(2, 4)[:, None] - np.arange(4)[None]))


# ---------------------------------------------------------------- attention
def test_attention_shapes_weights_and_gradchecks():
    attn = nn.MultiHeadAttention(8, 2)
    x = randn(2, 5, 8, dtype=np.float32)
    y, w = attn(x, output_attentions=True)
    assert y.shape == (2, 5, 8) and w.shape == (2, 2, 5, 5)
    assert np.allclose(w.numpy().sum(-1), 1, atol=1e-6) and np.all(np.triu(w.numpy()[0, 0], 1) == 0)
    assert attn(x)[1] is None
    mask = np.array([[1, 1, 1], [1, 1, 0]])
    check_module(nn.MultiHeadAttention(4, 2), randn(2, 3, 4, grad=True))                       # causal
    check_module(nn.MultiHeadAttention(4, 2, causal=False), randn(2, 3, 4, grad=True), attention_mask=mask)
    rope = nn.RotaryEmbedding(2)
    check_module(nn.MultiHeadAttention(4, 2, n_kv_head=1), randn(1, 3, 4, grad=True),
                 rotary=rope(tg.arange(3), dtype=np.float64))                                    # RoPE + GQA
    check_module(nn.MultiHeadAttention(4, 2), randn(1, 3, 4, grad=True),
                 bias=nn.ALiBi(2).double()(tg.arange(3), tg.arange(3)))                          # ALiBi


def test_padding_mask_ignores_padded_keys():
    attn = nn.MultiHeadAttention(8, 2, causal=False).double()
    x = randn(1, 5, 8)
    padded = tg.cat([x, randn(1, 2, 8)], dim=1)                            # two junk positions at the end
    full = attn(padded, attention_mask=np.array([[1] * 5 + [0, 0]]))[0]
    assert np.allclose(full.numpy()[:, :5], attn(x)[0].numpy())


def test_grouped_query_attention_equals_repeated_heads():
    gqa = nn.MultiHeadAttention(8, 4, n_kv_head=2, bias=False).double()
    mha = nn.MultiHeadAttention(8, 4, bias=False).double()
    rep = lambda w: np.repeat(w.reshape(2, 2, 8), 2, axis=0).reshape(8, 8)  # noqa: E731  (kv head j -> 2 query heads)
    mha.load_state_dict({"q_proj.weight": gqa.q_proj.weight.numpy(), "o_proj.weight": gqa.o_proj.weight.numpy(),
                         "k_proj.weight": rep(gqa.k_proj.weight.numpy()), "v_proj.weight": rep(gqa.v_proj.weight.numpy())})
    x = randn(2, 4, 8)
    assert np.allclose(gqa(x)[0].numpy(), mha(x)[0].numpy())


@pytest.mark.parametrize("grad", [False, True])
def test_kv_cache_equals_full_attention(grad):
    """Without a graph the cache writes into buffers that grow by doubling (one new position copied per
    step); with gradients flowing it concatenates, and the gradient reaches the cached positions."""
    attn = nn.MultiHeadAttention(8, 4, n_kv_head=2).double()
    rope = nn.RotaryEmbedding(2)
    x = randn(2, 20, 8)
    full = attn(x, rotary=rope(tg.arange(20), dtype=np.float64))[0].numpy()
    cache = KVCache()
    with (tg.enable_grad() if grad else tg.no_grad()):
        outs = [attn(x[:, :3], rotary=rope(tg.arange(3), dtype=np.float64), cache=cache)[0]]
        buffers = []
        for t in range(3, 20):
            outs.append(attn(x[:, t:t + 1], rotary=rope(tg.arange(t, t + 1), dtype=np.float64), cache=cache)[0])
            buffers.append(id(cache._buffers[0]) if cache._buffers else None)
    assert len(cache) == 20 and cache.k.shape == (2, 2, 20, 2)
    np.testing.assert_allclose(np.concatenate([o.numpy() for o in outs], 1), full, rtol=1e-12, atol=1e-12)
    if grad:
        assert cache._buffers is None and set(buffers) == {None}
        tg.cat(outs, dim=1).sum().backward()
        assert attn.k_proj.weight.grad is not None
    else:
        assert 1 < len(set(buffers)) <= 3 and cache._buffers[0].shape[2] >= 20   # grown 16 -> 32, not per step


def test_cross_attention_uses_memory_and_caches_it():
    cross = nn.MultiHeadAttention(8, 2, cross=True, scale=1.0).double()
    x, mem = randn(2, 3, 8), randn(2, 7, 8)
    y, w = cross(x, memory=mem, attention_mask=np.ones((2, 7)), output_attentions=True)
    assert y.shape == (2, 3, 8) and w.shape == (2, 2, 3, 7) and np.all(w.numpy() > 0)   # not causal
    cache = KVCache()
    cross(x[:, :1], memory=mem, cache=cache)
    assert np.allclose(cross(x[:, 1:], cache=cache)[0].numpy(), y.numpy()[:, 1:]) and len(cache) == 7


@pytest.mark.parametrize("residual", ["pre", "post", "sandwich"])
def test_block_gradcheck(residual):
    block = nn.Block(4, 2, 6, norm="layernorm", residual=residual, activation="swiglu")
    check_module(block, randn(1, 3, 4, grad=True), attention_mask=np.array([[1, 1, 0]]))


def test_block_every_norm_and_layout_composes():
    x = randn(2, 3, 8, dtype=np.float32)
    for norm in ("layernorm", "rmsnorm", "groupnorm", "none"):
        for residual in ("pre", "post", "sandwich"):
            out, w, _ = nn.Block(8, 2, 16, norm=norm, residual=residual)(x, output_attentions=True)
            assert out.shape == (2, 3, 8) and w.shape == (2, 2, 3, 3) and np.isfinite(out.numpy()).all()
    dec = nn.Block(8, 2, 16, cross_attention=True)
    out, _, wc = dec(x, memory=randn(2, 5, 8, dtype=np.float32), output_attentions=True)
    assert out.shape == (2, 3, 8) and wc.shape == (2, 2, 3, 5)


# ---------------------------------------------------------------- argument checks at the public API
def test_functional_checks_arguments_and_names_the_op():
    """nn.functional checks what the user passes (the fused ops in nn_ops.py are only math): each message
    names the function, the argument, the value and what was expected."""
    x, w = randn(2, 3), randn(4, 2)
    with pytest.raises(ValueError, match=r"dropout: p must be a probability in \[0, 1\], got 1.5"):
        F.dropout(x, 1.5)
    with pytest.raises(ValueError, match=r"Dropout: p must be a probability in \[0, 1\], got -0.1"):
        nn.Dropout(-0.1)
    with pytest.raises(ValueError, match=r"GELU: approximate must be 'none' or 'tanh', got 'fast'"):
        nn.GELU("fast")
    with pytest.raises(IndexError, match=r"embedding: id 4 is out of range for a table of 4 rows "
                                         r"\(weight shape \(4, 2\), ids shape \(2, 2\)\)"):
        F.embedding(np.array([[0, 1], [4, 2]]), w)
    with pytest.raises(IndexError, match=r"embedding: id -1 is out of range"):
        nn.Embedding(4, 2)(tg.tensor([-1, 0]))
    with pytest.raises(IndexError, match=r"cross_entropy: target -2 is out of range for 3 classes "
                                         r"\(input shape \(2, 3\)\)"):
        F.cross_entropy(x, np.array([-2, -100]))                 # -100 is ignore_index: not out of range
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be a probability in \[0, 1\]"):
        F.cross_entropy(x, np.array([0, 1]), label_smoothing=2.0)
    for fn in (lambda r: F.cross_entropy(x, tg.tensor(np.full((2, 3), 1 / 3)), reduction=r),   # probabilities
               lambda r: F.mse_loss(x, x, reduction=r), lambda r: F.nll_loss(x, np.array([0, 1]), reduction=r)):
        with pytest.raises(ValueError, match=r"(cross_entropy|mse_loss|nll_loss): reduction must be "
                                             r"'mean', 'sum' or 'none', got 'avg'"):
            fn("avg")
