"""GPT: configs and presets, parameter counts, every component combination, causality, padding,
KV-cache equivalence, generation, overfitting, checkpoints, and a reference check against PyTorch
(through tests/fixtures/gpt_reference.npz, made by scripts/make_gpt_fixture.py)."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

import tinygrad_tf as tg
from tinygrad_tf.nn.models import (GPT, CheckpointError, ConfigError, GPTConfig, GPTOutput, count_parameters,
                                   load)

FIXTURE = Path(__file__).parent / "fixtures" / "gpt_reference.npz"
NORMS = ("layernorm", "rmsnorm", "groupnorm", "none")
RESIDUALS = ("pre", "post", "sandwich")
POSITIONS = ("learned", "sinusoidal", "rope", "alibi", "none")
ACTIVATIONS = ("gelu", "gelu_tanh", "relu", "silu", "swiglu", "geglu")


def tiny(**kw):
    base = dict(vocab_size=13, context_length=10, d_model=8, n_layer=2, n_head=2, d_ff=16)
    return GPTConfig(**{**base, **kw})


def ids_of(b, t, vocab=13, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, (b, t))


def f64(cfg, seed=0):
    """A float64 model with larger-than-GPT-2 weights, so outputs differ clearly between inputs."""
    tg.manual_seed(seed)
    m = GPT(cfg).double()
    for _, p in m.named_parameters():
        if p.ndim == 2:
            p.data = p.data * 15
    return m.eval()


# ---------------------------------------------------------------- configs and counts
def test_config_validation_messages():
    with pytest.raises(ConfigError, match="d_model=10 is not divisible by n_head=3"):
        GPTConfig(d_model=10, n_head=3)
    with pytest.raises(ConfigError, match="n_head=4 is not divisible by n_kv_head=3"):
        GPTConfig(d_model=8, n_head=4, n_kv_head=3)
    with pytest.raises(ConfigError, match="norm='batchnorm' is not valid; choose one of: 'layernorm', 'rmsnorm'"):
        GPTConfig(norm="batchnorm")
    for field in ("residual", "position", "activation"):
        with pytest.raises(ConfigError, match=field):
            GPTConfig(**{field: "nope"})
    with pytest.raises(ConfigError, match="even head dimension"):
        GPTConfig(d_model=6, n_head=2, position="rope")
    with pytest.raises(ConfigError, match="unknown GPTConfig preset 'gpt5'; valid: gpt2"):
        GPTConfig.preset("gpt5")
    with pytest.raises(ConfigError, match="unknown field"):
        GPTConfig.from_dict({"d_model": 8, "colour": "red"})
    cfg = tiny(activation="swiglu")
    assert GPTConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg and cfg.to_dict()["model_type"] == "gpt"
    assert GPTConfig(d_model=8, n_head=2).d_ff == 32 and GPTConfig(n_head=4).n_kv_head == 4


def test_preset_counts_match_published_figures():
    assert count_parameters(GPTConfig.preset("gpt2")) == 124_439_808
    assert count_parameters(GPTConfig.preset("gpt2-medium")) == 354_823_168
    llama = GPTConfig.preset("llama-7b")
    assert count_parameters(llama) == 6_738_415_616
    assert (llama.position, llama.norm, llama.activation, llama.bias, llama.tie_embeddings) == \
        ("rope", "rmsnorm", "swiglu", False, False)
    assert GPTConfig.preset("gpt2", dropout=0.1).dropout == 0.1


def test_gpt2_instance_has_the_published_size():
    m = GPT(GPTConfig.preset("gpt2"))
    assert m.num_parameters() == 124_439_808 and m.lm_head.weight is m.wte.weight


@pytest.mark.parametrize("bias,tie,kv", list(itertools.product([True, False], [True, False], [1, 2, 4])))
def test_count_parameters_agrees_with_instances(bias, tie, kv):
    for norm, residual, act in [("layernorm", "sandwich", "geglu"), ("groupnorm", "post", "relu"),
                                ("rmsnorm", "pre", "swiglu")]:
        cfg = tiny(d_model=16, n_head=4, bias=bias, tie_embeddings=tie, n_kv_head=kv, norm=norm, residual=residual,
                   activation=act)
        assert GPT(cfg).num_parameters() == count_parameters(cfg) == GPT.count_parameters(cfg)


def test_every_component_combination_trains_without_nan():
    """All 4 x 3 x 5 x 6 = 360 norm x residual x position x activation choices: counts agree, and a few
    plain SGD steps give finite, decreasing-on-average losses."""
    ids = ids_of(2, 6, 11)
    for norm, residual, position, act in itertools.product(NORMS, RESIDUALS, POSITIONS, ACTIVATIONS):
        cfg = GPTConfig(vocab_size=11, context_length=8, d_model=8, n_layer=1, n_head=2, d_ff=16, norm=norm,
                        residual=residual, position=position, activation=act)
        tg.manual_seed(0)   # independent of which tests ran before
        m = GPT(cfg)
        assert m.num_parameters() == count_parameters(cfg), cfg
        losses = []
        for _ in range(3):
            out = m(ids, labels=ids)
            out.loss.backward()
            with tg.no_grad():
                for p in m.parameters():
                    p.data -= 0.1 * p.grad.data
            m.zero_grad()
            losses.append(out.loss.item())
        assert np.isfinite(losses).all() and losses[-1] < losses[0], (cfg, losses)


def test_init_follows_gpt2():
    tg.manual_seed(0)
    m = GPT(tiny(d_model=64, n_head=4, n_layer=8, vocab_size=500))
    assert abs(m.wte.weight.numpy().std() - 0.02) < 0.002
    assert abs(m.blocks[0].mlp.up.weight.numpy().std() - 0.02) < 0.002
    assert abs(m.blocks[0].attn.o_proj.weight.numpy().std() - 0.02 / 4) < 0.0005          # 1/sqrt(2 * 8)
    assert np.all(m.blocks[0].attn.q_proj.bias.numpy() == 0) and np.all(m.ln_f.weight.numpy() == 1)


# ---------------------------------------------------------------- forward
def test_forward_outputs_and_shifted_loss():
    m = GPT(tiny())
    ids = ids_of(2, 7)
    out = m(ids, labels=ids, output_attentions=True)
    assert isinstance(out, GPTOutput) and out.logits.shape == (2, 7, 13) and out.last_hidden_state.shape == (2, 7, 8)
    assert len(out.attentions) == 2 and out.attentions[0].shape == (2, 2, 7, 7)
    logits = out.logits.numpy()[:, :-1].reshape(-1, 13)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    assert np.isclose(out.loss.item(), -logp[np.arange(12), ids[:, 1:].reshape(-1)].mean(), atol=1e-5)
    labels = ids.copy()
    labels[:, :4] = -100                                   # ignored, as Hugging Face
    keep = labels[:, 1:].reshape(-1) != -100
    ref = -logp[np.arange(12)[keep], labels[:, 1:].reshape(-1)[keep]].mean()
    assert np.isclose(m(ids, labels=labels).loss.item(), ref, atol=1e-5)
    assert m(ids).loss is None and m(ids).attentions is None
    with pytest.raises(ValueError, match="exceed context_length=10"):
        m(ids_of(1, 11))


def test_dropout_only_in_training():
    m = GPT(tiny(dropout=0.3))
    ids = ids_of(1, 6)
    assert not np.allclose(m(ids).logits.numpy(), m(ids).logits.numpy())
    m.eval()
    assert np.array_equal(m(ids).logits.numpy(), m(ids).logits.numpy())


def test_gpt_on_the_test_device(device):
    """Forward, backward and generation on --device (cpu by default; cuda with a GPU)."""
    ids = ids_of(2, 6)
    for position in POSITIONS:
        m = GPT(tiny(position=position)).to(device)
        out = m(ids, labels=ids, attention_mask=np.ones((2, 6)))
        out.loss.backward()
        assert out.logits.device == device and m.wte.weight.grad.device == device
        g = m.generate(ids[:, :3], 4, temperature=0.7, top_k=5, top_p=0.9)
        assert g.device == device and g.shape == (2, 7)
        assert np.array_equal(m.generate(ids, 6, temperature=0).numpy(),
                              m.generate(ids, 6, temperature=0, use_cache=False).numpy())


@pytest.mark.parametrize("position", POSITIONS)
def test_causal_mask_leaks_nothing(position):
    for norm in ("layernorm", "groupnorm"):
        m = f64(tiny(position=position, norm=norm))
        ids = ids_of(1, 8)
        base = m(ids).logits.numpy()
        for t in range(7):
            changed = ids.copy()
            changed[:, t + 1:] = (changed[:, t + 1:] + 1 + t) % 13          # change every later token
            new = m(changed).logits.numpy()
            assert np.allclose(new[:, :t + 1], base[:, :t + 1], atol=1e-12, rtol=0), (position, norm, t)
            assert not np.allclose(new[:, t + 1:], base[:, t + 1:])


@pytest.mark.parametrize("position", POSITIONS)
def test_padding_mask(position):
    m = f64(tiny(position=position))
    ids = ids_of(1, 5)
    ref = m(ids).logits.numpy()
    right = np.concatenate([ids, [[0, 0]]], 1)           # real tokens never see later padding
    out = m(right, attention_mask=[[1] * 5 + [0, 0]]).logits.numpy()
    assert np.allclose(out[:, :5], ref)
    left = np.concatenate([[[3, 3]], ids], 1)            # padding first: masked out of every query's keys
    out = m(left, attention_mask=[[0, 0] + [1] * 5]).logits.numpy()
    assert np.isfinite(out).all()
    if position in ("rope", "alibi", "none"):            # relative positions: a shift changes nothing
        assert np.allclose(out[:, 2:], ref)
    else:
        assert not np.allclose(m(left).logits.numpy()[:, 2:], out[:, 2:])     # the mask does something


# ---------------------------------------------------------------- KV cache and generation
@pytest.mark.parametrize("position", POSITIONS)
def test_kv_cache_matches_full_forward(position):
    m = f64(tiny(position=position, n_head=4, n_kv_head=2))
    ids = ids_of(2, 9)
    full = m(ids).logits.numpy()
    cache = m.new_cache()
    parts = [m(ids[:, :4], past_key_values=cache).logits.numpy()]
    for t in range(4, 9):
        out = m(ids[:, t:t + 1], past_key_values=cache, attention_mask=np.ones((2, t + 1)))
        parts.append(out.logits.numpy())
    assert out.past_key_values is cache and len(cache[0]) == 9
    assert np.allclose(np.concatenate(parts, 1), full, atol=1e-10)


@pytest.mark.parametrize("position", POSITIONS)
def test_greedy_generation_same_with_and_without_cache(position):
    m = f64(tiny(position=position, context_length=8))
    prompt = ids_of(2, 10)                                 # longer than the context: a sliding window
    a = m.generate(prompt, 12, temperature=0).numpy()
    b = m.generate(prompt, 12, temperature=0, use_cache=False).numpy()
    assert a.shape == (2, 22) and np.array_equal(a[:, :10], prompt) and np.array_equal(a, b)
    window = 8 if position in ("learned", "sinusoidal") else None
    first = m(prompt[:, -window:] if window else prompt).logits.numpy()[:, -1].argmax(-1)
    assert np.array_equal(a[:, 10], first)
    assert len(set(a[:, 10:].ravel().tolist())) > 1        # not a degenerate constant stream


def test_generate_sampling_options():
    m = f64(tiny())
    prompt = ids_of(1, 3)[0]                               # 1-D in, 1-D out
    greedy = m.generate(prompt, 6, temperature=0)
    assert greedy.shape == (9,)
    tg.manual_seed(7)
    s1 = m.generate(prompt, 6, temperature=1.0).numpy()
    tg.manual_seed(7)
    s2 = m.generate(prompt, 6, temperature=1.0).numpy()
    assert np.array_equal(s1, s2)
    assert np.array_equal(m.generate(prompt, 6, top_k=1).numpy(), greedy.numpy())
    assert np.array_equal(m.generate(prompt, 6, top_p=1e-9).numpy(), greedy.numpy())
    eos = int(greedy.numpy()[3])
    assert m.generate(prompt, 6, temperature=0, eos_token_id=eos).shape == (4,)     # stops at the eos
    m.train()
    m.generate(prompt, 2)
    assert m.training                                      # mode restored


def test_sampling_follows_the_distribution():
    from tinygrad_tf.nn.models import sample_next_token
    tg.manual_seed(0)
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]] * 4000))
    draws = sample_next_token(logits)
    assert np.allclose(np.bincount(draws, minlength=4) / 4000, [0.5, 0.3, 0.15, 0.05], atol=0.03)
    top2 = sample_next_token(logits, top_k=2)
    assert set(top2.tolist()) == {0, 1}
    nucleus = sample_next_token(logits, top_p=0.7)         # 0.5 + 0.3 reaches 0.7
    assert set(nucleus.tolist()) == {0, 1}


# ---------------------------------------------------------------- learning
def test_tiny_gpt_overfits_a_string():
    text = "hello tinygrad! hello world! "
    vocab = sorted(set(text))
    ids = np.array([[vocab.index(c) for c in text]])
    tg.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=len(vocab), context_length=32, d_model=32, n_layer=2, n_head=4))
    try:
        from tinygrad_tf.optim import AdamW
        opt = AdamW(m.parameters(), lr=1e-2, weight_decay=0.0)
    except ImportError:
        opt = _Adam(list(m.parameters()), lr=1e-2)
    for step in range(300):
        loss = m(ids, labels=ids).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        if loss.item() < 0.05:
            break
    assert loss.item() < 0.05, loss.item()
    out = m.generate(ids[:, :6], len(text) - 6, temperature=0).numpy()[0]
    assert "".join(vocab[i] for i in out) == text


class _Adam:
    """Adam written out (used only if tinygrad_tf.optim is unavailable)."""

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8):
        self.params, self.lr, self.betas, self.eps, self.t = params, lr, betas, eps, 0
        self.m = [np.zeros_like(p.data) for p in params]
        self.v = [np.zeros_like(p.data) for p in params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        self.t += 1
        b1, b2 = self.betas
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad.data
            m[:] = b1 * m + (1 - b1) * g
            v[:] = b2 * v + (1 - b2) * g * g
            p.data -= self.lr * (m / (1 - b1 ** self.t)) / (np.sqrt(v / (1 - b2 ** self.t)) + self.eps)


# ---------------------------------------------------------------- checkpoints
def test_save_load_round_trip(tmp_path):
    m = GPT(tiny(position="rope", norm="rmsnorm", activation="swiglu", tie_embeddings=True))
    path = tmp_path / "ckpt"
    m.save(path)
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "integrity.json", "model.safetensors"]
    assert json.loads((path / "config.json").read_text())["model_type"] == "gpt"
    ids = ids_of(2, 5)
    for loaded in (GPT.load(path), load(path)):
        assert isinstance(loaded, GPT) and loaded.config == m.config
        assert np.array_equal(loaded(ids).logits.numpy(), m(ids).logits.numpy())
        assert loaded.lm_head.weight is loaded.wte.weight
    m64 = GPT(tiny()).double()
    m64.save(path)                                          # overwrite; precision kept
    assert GPT.load(path).dtype == np.float64 and not (tmp_path / "ckpt.tmp").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no temporary folders left behind


def test_failed_save_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    m = GPT(tiny())
    m.save(path)
    (path / "tokenizer.json").write_text("{}")              # someone else's file in the folder
    before = (path / "model.safetensors").read_bytes()
    import safetensors.numpy

    def broken(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(safetensors.numpy, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        GPT(tiny(d_model=16)).save(path)
    monkeypatch.undo()
    assert (path / "model.safetensors").read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["ckpt"]
    m.save(path)
    assert (path / "tokenizer.json").exists()                # kept across an overwrite


def test_bad_checkpoints_give_one_line_errors(tmp_path):
    path = tmp_path / "ckpt"
    GPT(tiny()).save(path)
    with pytest.raises(CheckpointError, match="different config: d_model=16"):
        GPT.load(path, config=tiny(d_model=16))
    original = (path / "config.json").read_text()
    cfg = json.loads(original)
    (path / "config.json").write_text(json.dumps({**cfg, "d_model": 16}))        # weights from another config
    with pytest.raises(CheckpointError, match=r"config\.json is \d+ bytes"):       # the manifest covers config.json
        GPT.load(path)
    with pytest.raises(CheckpointError) as e:
        GPT.load(path, verify=False)
    assert "\n" not in str(e.value) and "wte.weight: checkpoint shape (13, 8) vs model shape (13, 16)" in str(e.value)
    (path / "config.json").write_text(original)
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) // 2])               # truncated
    with pytest.raises(CheckpointError, match="truncated") as e:                     # the manifest sees it
        GPT.load(path)
    assert "\n" not in str(e.value) and f"{len(data):,} when saved" in str(e.value)
    with pytest.raises(CheckpointError, match="corrupt or truncated") as e:         # and safetensors too
        GPT.load(path, verify=False)
    assert "\n" not in str(e.value)
    (path / "model.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load(path, verify=False)
    (path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt or truncated, not a valid model config"):
        load(path, verify=False)
    (path / "config.json").unlink()
    with pytest.raises(CheckpointError, match="config.json is missing"):
        load(path)
    with pytest.raises(CheckpointError, match="folder not found"):
        load(tmp_path / "nowhere")
    assert issubclass(CheckpointError, ValueError)


# ---------------------------------------------------------------- reference: PyTorch on the same weights
def _fixture():
    f = np.load(FIXTURE)
    v, ctx, d, n_layer, n_head, d_ff, kv = (int(x) for x in f["dims"])
    return f, dict(vocab_size=v, context_length=ctx, d_model=d, n_layer=n_layer, n_head=n_head, d_ff=d_ff), kv


def test_gpt2_matches_pytorch_reference():
    f, dims, _ = _fixture()
    d = dims["d_model"]
    sd = {k: f[f"gpt2/{k}"] for k in ("wte.weight", "wpe.weight", "ln_f.weight", "ln_f.bias")}
    for i in range(dims["n_layer"]):
        src, dst = f"gpt2/h.{i}.", f"blocks.{i}."
        for ln in ("ln_1", "ln_2"):
            sd[dst + ln + ".weight"], sd[dst + ln + ".bias"] = f[src + ln + ".weight"], f[src + ln + ".bias"]
        w, b = f[src + "attn.c_attn.weight"], f[src + "attn.c_attn.bias"]      # fused, Conv1D (in, out)
        for j, name in enumerate("qkv"):
            sd[dst + f"attn.{name}_proj.weight"] = w[:, j * d:(j + 1) * d].T
            sd[dst + f"attn.{name}_proj.bias"] = b[j * d:(j + 1) * d]
        for ours, theirs in (("attn.o_proj", "attn.c_proj"), ("mlp.up", "mlp.c_fc"), ("mlp.down", "mlp.c_proj")):
            sd[dst + ours + ".weight"], sd[dst + ours + ".bias"] = f[src + theirs + ".weight"].T, f[src + theirs + ".bias"]
    m = GPT(GPTConfig(**dims)).double()
    m.load_state_dict(sd)
    out = m(f["ids"], labels=f["ids"])
    assert np.allclose(out.logits.numpy(), f["gpt2/logits"], atol=1e-10, rtol=0)
    assert np.isclose(out.loss.item(), float(f["gpt2/loss"]), atol=1e-12)


def test_llama_matches_pytorch_reference():
    f, dims, kv = _fixture()
    sd = {"wte.weight": f["llama/model.embed_tokens.weight"], "lm_head.weight": f["llama/lm_head.weight"],
          "ln_f.weight": f["llama/model.norm.weight"]}
    names = {"input_layernorm": "ln_1", "post_attention_layernorm": "ln_2", "self_attn.q_proj": "attn.q_proj",
             "self_attn.k_proj": "attn.k_proj", "self_attn.v_proj": "attn.v_proj", "self_attn.o_proj": "attn.o_proj",
             "mlp.gate_proj": "mlp.gate", "mlp.up_proj": "mlp.up", "mlp.down_proj": "mlp.down"}
    for i in range(dims["n_layer"]):
        for theirs, ours in names.items():
            sd[f"blocks.{i}.{ours}.weight"] = f[f"llama/model.layers.{i}.{theirs}.weight"]
    cfg = GPTConfig(**dims, norm="rmsnorm", position="rope", activation="swiglu", bias=False, tie_embeddings=False,
                    n_kv_head=kv, norm_eps=1e-6)
    m = GPT(cfg).double()
    m.load_state_dict(sd)
    out = m(f["ids"], labels=f["ids"])
    assert np.allclose(out.logits.numpy(), f["llama/logits"], atol=1e-10, rtol=0)
    assert np.isclose(out.loss.item(), float(f["llama/loss"]), atol=1e-12)
