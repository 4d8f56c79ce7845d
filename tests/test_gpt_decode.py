"""GPT's decoding step on arrays (nn/models/gpt_decode.py) against GPT.forward through the modules: the same
logits and the same cache, bit for bit, for every component choice it takes; where it must not run; and that
generate() runs it where it can."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_tf as tg
from tinygrad_tf import kernels_cpu
from tinygrad_tf import nn
from tinygrad_tf.nn.models import GPT, GPTConfig, gpt_decode


@pytest.fixture(autouse=True)
def _switched_on():
    gpt_decode.set_enabled(True)
    yield
    gpt_decode.set_enabled(True)


def _model(dtype="float32", seed=0, **kw):
    cfg = dict(vocab_size=40, context_length=32, d_model=32, n_layer=2, n_head=4)
    cfg.update(kw)
    tg.manual_seed(seed)
    return GPT(GPTConfig(**cfg)).to(dtype).eval()


def _steps_both_ways(model, prompt, n):
    """Logits of n decoding steps after ``prompt``: through GPT.forward and through gpt_decode.step, each with
    its own cache (filled by the same forward pass over the prompt), fed the same greedy tokens."""
    plan = gpt_decode.Plan(model)
    with tg.no_grad():
        ref_cache, cache = model.new_cache(), model.new_cache()
        model(tg.tensor(prompt), past_key_values=ref_cache)
        model(tg.tensor(prompt), past_key_values=cache)
        ids, out = prompt[:, -1:], []
        for _ in range(n):
            ref = model(tg.tensor(ids), past_key_values=ref_cache).logits.data[:, -1]
            got = gpt_decode.step(plan, ids, cache)
            out.append((ref, got))
            ids = ref.argmax(-1)[:, None]
    return out, ref_cache, cache


components = st.fixed_dictionaries(dict(
    norm=st.sampled_from(["layernorm", "rmsnorm"]),
    activation=st.sampled_from(["gelu", "gelu_tanh", "relu", "silu", "swiglu", "geglu"]),
    position=st.sampled_from(["learned", "sinusoidal", "rope", "alibi", "none"]),
    n_kv_head=st.sampled_from([None, 1, 2]),
    bias=st.booleans(),
    tie_embeddings=st.booleans(),
))


@settings(deadline=None)
@given(components, st.sampled_from(["float32", "float64"]), st.integers(1, 3), st.integers(1, 9))
def test_step_equals_forward_bit_for_bit(cfg, dtype, batch, prompt_len):
    model = _model(dtype, **cfg)
    assert gpt_decode.ready(model)
    prompt = np.random.default_rng(prompt_len).integers(0, 40, (batch, prompt_len))
    steps, ref_cache, cache = _steps_both_ways(model, prompt, 4)
    for ref, got in steps:
        assert got.dtype == ref.dtype and got.shape == ref.shape == (batch, 40)
        np.testing.assert_array_equal(got, ref)
    for a, b in zip(ref_cache, cache):                       # the cache holds the same keys and values
        assert len(a) == len(b) == prompt_len + 4
        np.testing.assert_array_equal(a.k.data, b.k.data)
        np.testing.assert_array_equal(a.v.data, b.v.data)


def test_step_equals_forward_without_the_compiled_loops():
    before = kernels_cpu.set_enabled(False)
    try:
        steps, _, _ = _steps_both_ways(_model(), np.arange(6)[None], 3)
    finally:
        kernels_cpu.set_enabled(before)
    for ref, got in steps:
        np.testing.assert_array_equal(got, ref)


def _counting(monkeypatch):
    calls = []
    real = gpt_decode.step

    def step(*a):
        calls.append(1)
        return real(*a)
    monkeypatch.setattr(gpt_decode, "step", step)
    return calls


@pytest.mark.parametrize("sampling", [dict(temperature=0), dict(temperature=0.9, top_k=5)])
def test_generate_runs_it_and_gives_the_same_tokens(monkeypatch, sampling):
    model = _model(position="learned")
    prompt = tg.tensor(np.random.default_rng(1).integers(0, 40, (2, 5)))
    calls = _counting(monkeypatch)
    tg.manual_seed(3)
    fast = model.generate(prompt, 40, **sampling).numpy()     # 45 > context_length 32: the window slides too
    assert len(calls) > 0                                     # decoding steps ran on arrays
    gpt_decode.set_enabled(False)
    n = len(calls)
    tg.manual_seed(3)
    slow = model.generate(prompt, 40, **sampling).numpy()
    assert len(calls) == n                                    # switched off: none
    np.testing.assert_array_equal(fast, slow)


class _MyLinear(nn.Linear):
    """A user's own Linear (say, with a LoRA adapter): the step cannot know what its forward does."""

    def forward(self, x):
        return super().forward(x) * 2


class _MyCache(nn.KVCache):
    def update(self, k, v):
        return super().update(k * 1, v * 1)


class _MyGPT(GPT):
    def new_cache(self):
        return [_MyCache() for _ in self.blocks]


@pytest.mark.parametrize("change", ["hook", "own_linear", "own_head", "instance_forward", "class_forward",
                                    "own_cache", "post_norm", "float16", "autocast", "groupnorm", "switched_off"])
def test_it_stands_aside_where_it_could_differ(monkeypatch, change):
    model = _model(residual="post" if change == "post_norm" else "pre",
                   norm="groupnorm" if change == "groupnorm" else "layernorm")
    seen = []
    if change == "hook":
        model.blocks[1].mlp.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    elif change == "own_linear":
        model.blocks[0].attn.o_proj = _MyLinear(32, 32)
    elif change == "own_head":
        model.lm_head = _MyLinear(32, 40, bias=False)
    elif change == "instance_forward":
        mlp = model.blocks[0].mlp
        mlp.forward = lambda x: type(mlp).forward(mlp, x) * 2
    elif change == "class_forward":            # what instrumentation and adapter libraries do
        real = nn.Linear.forward
        monkeypatch.setattr(nn.Linear, "forward", lambda self, x: real(self, x) * 2)
    elif change == "own_cache":
        tg.manual_seed(0)
        model = _MyGPT(model.config).eval()
    elif change == "float16":
        model = model.to("float16")
    elif change == "switched_off":
        gpt_decode.set_enabled(False)
    assert not gpt_decode.ready(model) or change in ("autocast", "own_cache")   # (generate checks new_cache)
    calls = _counting(monkeypatch)
    prompt = tg.tensor(np.arange(5)[None])
    if change == "autocast":
        with nn.amp.autocast("float16"):
            assert not gpt_decode.ready(model)
            model.generate(prompt, 6, temperature=0)
    else:
        model.generate(prompt, 6, temperature=0)
    assert calls == []
    if change == "hook":
        assert len(seen) == 6                 # the prompt's pass and 5 decoding steps, each seen by the hook


def test_forward_only_equals_apply():
    """Function.forward_only: the array apply() would wrap, without the graph."""
    from tinygrad_tf.nn_ops import LayerNorm, Linear
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((3, 5, 8)), rng.standard_normal((6, 8)), rng.standard_normal(6)
    np.testing.assert_array_equal(Linear.forward_only(x, w, b),
                                  Linear.apply(tg.tensor(x), tg.tensor(w), tg.tensor(b)).data)
    g, c = rng.standard_normal(8), rng.standard_normal(8)
    np.testing.assert_array_equal(LayerNorm.forward_only(x, g, c, 1, 1e-5),
                                  LayerNorm.apply(tg.tensor(x), tg.tensor(g), tg.tensor(c), 1, 1e-5).data)
