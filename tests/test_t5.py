"""T5: config and presets, parameter counts, relative position buckets, forward outputs and the shifted-label
loss, encoder padding and decoder causality, gradient checks of relative-bias attention, the KV cache
(cached == full decoding; greedy generation with and without it), and a short seq2seq training run.
(Equivalence with transformers' T5 v1.0 and v1.1 is in test_hf.py.)"""

import json

import numpy as np
import pytest

import tinygrad_tf as tg
from tinygrad_tf.nn import MultiHeadAttention
from tinygrad_tf.nn.models import T5, ConfigError, Seq2SeqAttentions, T5Config, T5Output, count_parameters, load
from tinygrad_tf.nn.models.t5 import shift_right
from tinygrad_tf.nn.positional import RelativePositionBias, relative_position_bucket
from tinygrad_tf.train import train_seq2seq
from tinygrad_tf.train.seq2seq import EOS, batch_examples, decode_digits, encode_digits, exact_match, make_examples


def tiny(**kw):
    base = dict(vocab_size=20, d_model=16, n_layer=2, n_head=4, d_ff=32, dropout=0.0,
                relative_attention_num_buckets=8, relative_attention_max_distance=12)
    return T5Config(**{**base, **kw})


def f64(cfg, seed=0):
    """A float64 model with larger weights than T5's init, so outputs vary clearly with the input."""
    tg.manual_seed(seed)
    m = T5(cfg).double().eval()
    rng = np.random.default_rng(seed)
    for _, p in m.named_parameters():
        if p.ndim == 2:
            p.data = rng.standard_normal(p.shape) * 3 / np.sqrt(p.shape[1])
    return m


def ids_of(b, t, vocab=20, seed=0):
    return np.random.default_rng(seed).integers(2, vocab, (b, t))


# ---------------------------------------------------------------- configs and counts
def test_presets_have_the_published_sizes():
    assert count_parameters(T5Config.preset("t5-small")) == 60_506_624
    assert count_parameters(T5Config.preset("t5-base")) == 222_903_552
    assert count_parameters(T5Config.preset("t5-v1_1-small")) == 76_961_152         # gated-GELU, untied
    c = T5Config.preset("t5-small")
    assert (c.d_kv, c.n_decoder_layer, c.feed_forward_proj, c.tie_embeddings, c.norm_eps) == (64, 6, "relu", True, 1e-6)


@pytest.mark.parametrize("ff,tie", [("relu", True), ("gated-gelu", False), ("gated-silu", True), ("gelu", False)])
def test_count_parameters_agrees_with_instances(ff, tie):
    for extra in ({}, {"d_kv": 6, "n_decoder_layer": 3}):              # d_kv * n_head != d_model is allowed
        cfg = tiny(feed_forward_proj=ff, tie_embeddings=tie, **extra)
        m = T5(cfg)
        assert m.num_parameters() == count_parameters(cfg) == T5.count_parameters(cfg)
        assert (m.lm_head.weight is m.shared.weight) == tie


def test_config_validation_and_serialisation():
    with pytest.raises(ConfigError, match="feed_forward_proj='gated-tanh' is not valid"):
        T5Config(feed_forward_proj="gated-tanh")
    with pytest.raises(ConfigError, match="d_model=10 is not divisible by n_head=4"):
        T5Config(d_model=10, n_head=4)
    assert T5Config(d_model=10, n_head=4, d_kv=3).head_dim == 3
    with pytest.raises(ConfigError, match="eos_token_id must be a token id"):
        T5Config(vocab_size=10, eos_token_id=10)
    with pytest.raises(ConfigError, match="at least 4"):
        T5Config(relative_attention_num_buckets=2)
    cfg = tiny(feed_forward_proj="gated-gelu", n_decoder_layer=3)
    assert T5Config.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg and cfg.to_dict()["model_type"] == "t5"


# ---------------------------------------------------------------- relative positions
def test_relative_position_buckets():
    rp = np.arange(-200, 201)
    bi = relative_position_bucket(rp, True, 32, 128)
    causal = relative_position_bucket(rp, False, 32, 128)
    assert bi.min() == 0 and bi.max() == 31 and causal.min() == 0 and causal.max() == 31
    assert np.array_equal(bi[200:208], [0, 17, 18, 19, 20, 21, 22, 23])     # keys after the query: upper half
    assert np.array_equal(bi[192:201][::-1], [0, 1, 2, 3, 4, 5, 6, 7, 8])   # keys before it: exact up to 8
    assert (causal[201:] == 0).all() and np.array_equal(causal[200 - 16:201][::-1], range(17))
    assert (np.diff(causal[:201]) <= 0).all() and causal[0] == 31                  # farther back: never a lower bucket
    bias = RelativePositionBias(4, 8, 12, bidirectional=False)
    q, k = np.arange(3, 5), np.arange(5)
    b = bias(q, k)
    assert b.shape == (1, 4, 2, 5)
    table = bias.embed.weight.numpy()
    buckets = relative_position_bucket(k[None] - q[:, None], False, 8, 12)
    assert np.allclose(b.numpy()[0], table[buckets].transpose(2, 0, 1))


def test_bias_is_computed_once_per_stack():
    m = T5(tiny())
    names = [n for n, _ in m.named_parameters() if "bias" in n]
    assert names == ["encoder_bias.embed.weight", "decoder_bias.embed.weight"]      # no other biases anywhere
    calls = []
    for mod in (m.encoder_bias, m.decoder_bias):
        mod.register_forward_hook(lambda mod, inp, out: calls.append(mod.bidirectional))
    m(ids_of(2, 5), decoder_input_ids=ids_of(2, 3))
    assert calls == [True, False]                                                   # not once per layer


def test_gradcheck_relative_bias_attention():
    """Unscaled T5 attention with the relative bias, encoder (with padding) and decoder (causal) style, in
    float64: gradients for the input, the bucket table and the query projection."""
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    for causal in (False, True):
        attn = MultiHeadAttention(8, 2, bias=False, causal=causal, scale=1.0, head_dim=3).double()
        rel = RelativePositionBias(2, 8, 6, bidirectional=not causal).double()
        x = tg.tensor(rng.standard_normal((2, 5, 8)), requires_grad=True)
        table = tg.tensor(rng.standard_normal((8, 2)), requires_grad=True)
        wq = tg.tensor(rng.standard_normal((6, 8)) * 0.3, requires_grad=True)
        mask = None if causal else np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
        pos = np.arange(5)

        def fn(x, table, wq):
            rel.embed._parameters["weight"] = table           # compute with the checked tensors themselves
            attn.q_proj._parameters["weight"] = wq
            return attn(x, attention_mask=mask, bias=rel(pos, pos))[0]

        assert tg.gradcheck(fn, x, table, wq)


# ---------------------------------------------------------------- forward
def test_forward_outputs_and_loss():
    m = T5(tiny())
    src, tgt = ids_of(2, 7), ids_of(2, 5, seed=1)
    labels = tgt.copy()
    labels[1, 3:] = -100
    out = m(src, labels=labels, output_attentions=True)
    assert isinstance(out, T5Output)
    assert out.logits.shape == (2, 5, 20) and out.last_hidden_state.shape == (2, 5, 16)
    assert out.encoder_last_hidden_state.shape == (2, 7, 16)
    assert isinstance(out.attentions, Seq2SeqAttentions) and out.encoder_attentions is out.attentions.encoder
    assert [a.shape for a in out.attentions.encoder] == [(2, 4, 7, 7)] * 2
    assert [a.shape for a in out.attentions.decoder] == [(2, 4, 5, 5)] * 2
    assert [a.shape for a in out.attentions.cross] == [(2, 4, 5, 7)] * 2
    # labels shifted right are the decoder input; the loss is the mean CE over the labels that count
    dec = shift_right(labels, 0, 0)
    assert np.array_equal(dec, [[0, *tgt[0, :4]], [0, *tgt[1, :3], 0]])
    assert np.allclose(m(src, decoder_input_ids=dec).logits.numpy(), out.logits.numpy())
    logits = out.logits.numpy()
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    keep = labels != -100
    assert np.isclose(out.loss.item(), -logp[keep, labels[keep]].mean(), atol=1e-5)
    # tied: logits = shared(h * d^-1/2)
    h = out.last_hidden_state.numpy()
    assert np.allclose(logits, (h * 16 ** -0.5) @ m.shared.weight.numpy().T, atol=1e-5)
    assert m(src, decoder_input_ids=dec).loss is None
    with pytest.raises(ValueError, match="pass decoder_input_ids, or labels"):
        m(src)


def test_untied_v1_1_has_no_rescale():
    m = T5(tiny(feed_forward_proj="gated-gelu", tie_embeddings=False))
    out = m(ids_of(1, 4), decoder_input_ids=ids_of(1, 3))
    assert np.allclose(out.logits.numpy(), out.last_hidden_state.numpy() @ m.lm_head.weight.numpy().T, atol=1e-5)


def test_encoder_padding_and_decoder_causality():
    m = f64(tiny())
    src, dec = ids_of(1, 5), ids_of(1, 6, seed=3)
    ref = m(src, decoder_input_ids=dec).logits.numpy()
    mask = [[1] * 5 + [0] * 2]
    for pad in ([[0, 0]], [[7, 9]]):                      # whatever the padding holds, it is never seen
        out = m(np.concatenate([src, pad], 1), decoder_input_ids=dec, attention_mask=mask).logits.numpy()
        assert np.allclose(out, ref, atol=1e-10)
    assert not np.allclose(m(np.concatenate([src, [[7, 9]]], 1), decoder_input_ids=dec).logits.numpy(), ref)
    for t in range(5):                                    # decoder position t never sees later decoder tokens
        changed = dec.copy()
        changed[:, t + 1:] = (changed[:, t + 1:] + 3) % 20
        new = m(src, decoder_input_ids=changed).logits.numpy()
        assert np.allclose(new[:, :t + 1], ref[:, :t + 1], atol=1e-12)
        assert not np.allclose(new[:, t + 1:], ref[:, t + 1:])
    changed = src.copy()
    changed[0, -1] = (changed[0, -1] + 1) % 20            # the encoder is bidirectional: every output changes
    assert not np.allclose(m(changed, decoder_input_ids=dec).logits.numpy()[:, 0], ref[:, 0])


def test_dropout_only_in_training():
    m = T5(tiny(dropout=0.3))
    src, dec = ids_of(1, 5), ids_of(1, 4)
    assert not np.allclose(m(src, decoder_input_ids=dec).logits.numpy(), m(src, decoder_input_ids=dec).logits.numpy())
    m.eval()
    assert np.array_equal(m(src, decoder_input_ids=dec).logits.numpy(), m(src, decoder_input_ids=dec).logits.numpy())


# ---------------------------------------------------------------- cache and generation
@pytest.mark.parametrize("ff", ["relu", "gated-gelu"])
def test_kv_cache_matches_full_decoding(ff):
    m = f64(tiny(feed_forward_proj=ff, tie_embeddings=ff == "relu"))
    src, dec = ids_of(2, 6), ids_of(2, 7, seed=5)
    mask = np.array([[1] * 6, [1] * 4 + [0] * 2])
    full = m(src, decoder_input_ids=dec, attention_mask=mask).logits.numpy()
    memory, _ = m.encode(src, mask)
    cache = m.new_cache()
    parts = [m(None, decoder_input_ids=dec[:, :3], attention_mask=mask, encoder_outputs=memory,
               past_key_values=cache).logits.numpy()]
    cross_k = cache[0][1].k
    for t in range(3, 7):
        out = m(None, decoder_input_ids=dec[:, t:t + 1], attention_mask=mask, encoder_outputs=memory,
                past_key_values=cache)
        parts.append(out.logits.numpy())
    assert out.past_key_values is cache and len(cache[0][0]) == 7
    assert cache[0][1].k is cross_k and len(cache[0][1]) == 6          # cross-attention K/V computed once
    assert np.allclose(np.concatenate(parts, 1), full, atol=1e-10)


def test_greedy_generation_same_with_and_without_cache():
    m = f64(tiny())
    src = ids_of(3, 6)
    mask = np.array([[1] * 6, [1] * 6, [1] * 3 + [0] * 3])
    a = m.generate(src, 10, temperature=0, attention_mask=mask).numpy()
    b = m.generate(src, 10, temperature=0, attention_mask=mask, use_cache=False).numpy()
    assert a.shape == (3, 11) and (a[:, 0] == 0).all() and np.array_equal(a, b)       # start token first, as HF
    memory, _ = m.encode(src, mask)                                                   # step 1 is the argmax
    first = m.decode(np.zeros((3, 1), np.int64), memory, mask)[0].numpy()[:, -1].argmax(-1)
    assert np.array_equal(a[:, 1], first)
    alone = m.generate(src[2:, :3], 10, temperature=0).numpy()        # the padded row decodes as if unpadded
    assert np.array_equal(alone[0], a[2])
    assert len(set(a[:, 1:].ravel().tolist())) > 1


def test_generate_options():
    m = f64(tiny())
    src = ids_of(1, 5)[0]
    greedy = m.generate(src, 6, temperature=0)
    assert greedy.shape == (7,)                                             # 1-D in, 1-D out
    tg.manual_seed(3)
    s1 = m.generate(src, 6).numpy()
    tg.manual_seed(3)
    assert np.array_equal(s1, m.generate(src, 6).numpy())
    assert np.array_equal(m.generate(src, 6, top_k=1).numpy(), greedy.numpy())
    assert np.array_equal(m.generate(src, 6, top_p=1e-9).numpy(), greedy.numpy())
    for seed in range(10):                                # an input whose output has a token new at step k >= 2
        src = ids_of(1, 5, seed=seed)[0]
        g = m.generate(src, 6, temperature=0).numpy().tolist()
        k = next((k for k in range(2, 7) if g[k] not in g[1:k]), None)
        if k is not None:
            break
    assert m.generate(src, 6, temperature=0, eos_token_id=g[k]).numpy().tolist() == g[:k + 1]   # stops at the eos
    m.train()
    m.generate(src, 2)
    assert m.training


# ---------------------------------------------------------------- training and checkpoints
def test_digit_task_helpers():
    assert encode_digits("301") == [5, 2, 3, EOS] and decode_digits([0, 5, 2, 3, EOS, 7]) == "301"
    ids, mask, labels = batch_examples(["12", "345"], "reverse")
    assert ids.tolist() == [[3, 4, 1, 0], [5, 6, 7, 1]] and mask.tolist() == [[1, 1, 1, 0], [1, 1, 1, 1]]
    assert labels.tolist() == [[4, 3, 1, -100], [7, 6, 5, 1]]
    held = make_examples(50, 3, 4, seed=1)
    assert len(set(held)) == 50 and not set(make_examples(50, 3, 4, seed=2, exclude=set(held))) & set(held)


def test_short_seq2seq_run_lowers_the_loss(tmp_path):
    result = train_seq2seq("reverse", steps=40, batch_size=32, min_len=2, max_len=5, d_model=32, n_head=2, d_ff=64,
                           lr=3e-3, warmup_steps=5, eval_interval=40, eval_size=32, out_dir=tmp_path / "t5", log=None)
    losses = [h["loss"] for h in result.history]
    assert result.steps == 40 and np.mean(losses[-5:]) < 0.75 * np.mean(losses[:5])
    assert 0 <= result.accuracy <= 1 and result.history[-1]["accuracy"] == result.accuracy
    assert exact_match(result.model, result.held_out[:8]) == exact_match(load(tmp_path / "t5").eval(),
                                                                         result.held_out[:8])


def test_native_save_load_round_trip(tmp_path):
    m = T5(tiny(feed_forward_proj="gated-gelu", tie_embeddings=False)).eval()
    m.save(tmp_path / "t")
    src, dec = ids_of(2, 5), ids_of(2, 3)
    for loaded in (T5.load(tmp_path / "t"), load(tmp_path / "t")):
        assert isinstance(loaded, T5) and loaded.config == m.config
        assert np.array_equal(loaded.eval()(src, decoder_input_ids=dec).logits.numpy(),
                              m(src, decoder_input_ids=dec).logits.numpy())
