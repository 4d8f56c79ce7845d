"""BERT: config and presets, parameter counts, forward outputs and losses, padding masks and token types,
gradient checks of a post-LN layer, masked-LM masking statistics, fill-mask, a short MLM run, checkpoints.
(Equivalence with transformers' BERT, MLM and NSP heads included, is in test_hf.py.)"""

import json

import numpy as np
import pytest

import tinygrad_tf as tg
from tinygrad_tf.nn import Block
from tinygrad_tf.nn.models import BERT, BertConfig, BertOutput, ConfigError, count_parameters, load
from tinygrad_tf.text import WordPieceTokenizer
from tinygrad_tf.train import train_mlm
from tinygrad_tf.train.mlm import MLMBatches, fill_mask, mask_tokens

TEXT = ("the return statement leaves the function. the yield statement pauses the generator. "
        "a class definition defines a class. the if statement runs a block when the condition is true. ") * 20


def tiny(**kw):
    base = dict(vocab_size=40, context_length=12, d_model=16, n_layer=2, n_head=4, d_ff=32, dropout=0.0)
    return BertConfig(**{**base, **kw})


def f64(cfg, seed=0):
    tg.manual_seed(seed)
    m = BERT(cfg).double()
    for _, p in m.named_parameters():          # larger weights, so different inputs give clearly different outputs
        if p.ndim == 2:
            p.data = p.data * 15
    return m.eval()


def ids_of(b, t, vocab=40, seed=0):
    return np.random.default_rng(seed).integers(5, vocab, (b, t))


# ---------------------------------------------------------------- configs and counts
def test_presets_have_the_published_sizes():
    assert count_parameters(BertConfig.preset("bert-base")) == 109_482_240            # BertModel: pooler, no heads
    assert count_parameters(BertConfig.preset("bert-large")) == 335_141_888
    assert count_parameters(BertConfig.preset("bert-base", mlm_head=True, nsp_head=True)) == 110_106_428
    assert count_parameters(BertConfig.preset("bert-base", mlm_head=True, pooler=False)) == 109_514_298
    c = BertConfig.preset("bert-base")
    assert (c.d_ff, c.activation, c.norm_eps, c.type_vocab_size, c.dropout) == (3072, "gelu", 1e-12, 2, 0.1)


@pytest.mark.parametrize("pooler,mlm,nsp,labels", [(True, True, True, 0), (False, True, False, 0),
                                                   (True, False, False, 3), (True, False, False, 0),
                                                   (True, True, False, 1)])
def test_count_parameters_agrees_with_instances(pooler, mlm, nsp, labels):
    for act in ("gelu", "relu"):
        cfg = tiny(pooler=pooler, mlm_head=mlm, nsp_head=nsp, num_labels=labels, activation=act, type_vocab_size=3)
        m = BERT(cfg)
        assert m.num_parameters() == count_parameters(cfg) == BERT.count_parameters(cfg)
        assert (m.mlm_decoder.weight is m.wte.weight) if mlm else m.mlm_decoder is None


def test_config_validation_and_serialisation():
    with pytest.raises(ConfigError, match="need pooler=True"):
        BertConfig(nsp_head=True, pooler=False)
    with pytest.raises(ConfigError, match="activation='swish' is not valid"):
        BertConfig(activation="swish")
    with pytest.raises(ConfigError, match="num_labels must be an integer >= 0"):
        BertConfig(num_labels=-1)
    with pytest.raises(ConfigError, match="unknown BertConfig preset 'bert-huge'"):
        BertConfig.preset("bert-huge")
    cfg = tiny(nsp_head=True, num_labels=2)
    assert BertConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg and cfg.to_dict()["model_type"] == "bert"


def test_init_follows_bert():
    tg.manual_seed(0)
    m = BERT(tiny(d_model=64, vocab_size=500, nsp_head=True))
    for w in (m.wte.weight, m.blocks[0].attn.q_proj.weight, m.blocks[1].mlp.down.weight, m.pooler.weight):
        assert abs(w.numpy().std() - 0.02) < 0.003
    assert np.all(m.mlm_decoder.bias.numpy() == 0) and np.all(m.blocks[0].ln_1.weight.numpy() == 1)


# ---------------------------------------------------------------- forward
def test_forward_outputs_and_losses():
    m = BERT(tiny(nsp_head=True, num_labels=3))
    ids = ids_of(2, 7)
    labels = np.full((2, 7), -100)
    labels[0, 2], labels[1, 5] = ids[0, 2], ids[1, 5]
    out = m(ids, labels=labels, output_attentions=True)
    assert isinstance(out, BertOutput)
    assert out.logits.shape == (2, 7, 40) and out.last_hidden_state.shape == (2, 7, 16)
    assert out.pooler_output.shape == (2, 16) and out.nsp_logits.shape == (2, 2) and out.class_logits.shape == (2, 3)
    assert len(out.attentions) == 2 and out.attentions[0].shape == (2, 4, 7, 7)
    # the MLM loss is the cross-entropy at the labelled positions only
    logits = out.logits.numpy()
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    assert np.isclose(out.loss.item(), -(logp[0, 2, ids[0, 2]] + logp[1, 5, ids[1, 5]]) / 2, atol=1e-5)
    # the pooler is tanh(dense(h[CLS]))
    h0 = out.last_hidden_state.numpy()[:, 0]
    assert np.allclose(out.pooler_output.numpy(), np.tanh(h0 @ m.pooler.weight.numpy().T + m.pooler.bias.numpy()),
                       atol=1e-6)
    # the losses of every head given add up
    both = m(ids, labels=labels, next_sentence_label=[0, 1], class_labels=[2, 0])
    nsp = m(ids, next_sentence_label=[0, 1]).loss.item()
    cls = m(ids, class_labels=[2, 0]).loss.item()
    assert np.isclose(both.loss.item(), out.loss.item() + nsp + cls, atol=1e-5)
    assert m(ids).loss is None and m(ids).attentions is None
    with pytest.raises(ValueError, match="exceed context_length=12"):
        m(ids_of(1, 13))


def test_classifier_only_model_reads_labels_as_classes():
    m = BERT(tiny(mlm_head=False, num_labels=3))
    out = m(ids_of(2, 6), labels=[2, 0])
    assert out.logits is out.class_logits and out.logits.shape == (2, 3) and out.loss.item() > 0
    reg = BERT(tiny(mlm_head=False, num_labels=1))                       # one output: regression
    out = reg(ids_of(2, 6), labels=np.array([0.5, -1.0]))
    assert np.isclose(out.loss.item(), ((out.logits.numpy()[:, 0] - [0.5, -1.0]) ** 2).mean(), atol=1e-6)
    with pytest.raises(ValueError, match="no masked-LM or classification head"):
        BERT(tiny(mlm_head=False))(ids_of(1, 4), labels=[[1, 2, 3, 4]])
    with pytest.raises(ValueError, match="no NSP head"):
        m(ids_of(1, 4), next_sentence_label=[0])


def test_padding_mask_and_token_types():
    m = f64(tiny())
    ids = ids_of(1, 6)
    ref = m(ids).logits.numpy()
    padded = np.concatenate([ids, [[7, 9, 11]]], 1)                # three padding tokens at the end
    mask = [[1] * 6 + [0] * 3]
    a = m(padded, attention_mask=mask).logits.numpy()
    b = m(np.concatenate([ids, [[30, 31, 32]]], 1), attention_mask=mask).logits.numpy()
    assert np.allclose(a[:, :6], ref, atol=1e-10) and np.allclose(a[:, :6], b[:, :6], atol=1e-10)
    assert not np.allclose(m(padded).logits.numpy()[:, :6], ref)        # without the mask the padding is seen
    # every position sees every other one (no causal mask)
    changed = ids.copy()
    changed[0, -1] = (changed[0, -1] + 1) % 40
    assert not np.allclose(m(changed).logits.numpy()[:, 0], ref[:, 0])
    # token types matter, and all-zero types are the default
    types = np.array([[0, 0, 0, 1, 1, 1]])
    assert np.array_equal(m(ids, token_type_ids=np.zeros_like(types)).logits.numpy(), ref)
    assert not np.allclose(m(ids, token_type_ids=types).logits.numpy(), ref)


def test_dropout_only_in_training():
    m = BERT(tiny(dropout=0.3))
    ids = ids_of(1, 6)
    assert not np.allclose(m(ids).logits.numpy(), m(ids).logits.numpy())
    m.eval()
    assert np.array_equal(m(ids).logits.numpy(), m(ids).logits.numpy())


# ---------------------------------------------------------------- gradients
def test_gradcheck_bert_layer():
    """One post-LN BERT layer (attention, LN, exact-GELU MLP, LN) with a padding mask, in float64: gradients
    for the input and for weights of every kind (projection, LayerNorm, feed-forward)."""
    tg.manual_seed(0)
    block = Block(8, 2, 16, "layernorm", "post", "gelu", 0.0, True, None, 1e-12, causal=False).double()
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((2, 4, 8)), requires_grad=True)
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]])
    swaps = [(block.attn.q_proj, "weight"), (block.ln_1, "weight"), (block.mlp.up, "bias"), (block.ln_2, "bias")]
    weights = [tg.tensor(getattr(mod, name).numpy() + 0.1 * rng.standard_normal(getattr(mod, name).shape),
                         requires_grad=True) for mod, name in swaps]

    def fn(x, *ws):
        for (mod, name), w in zip(swaps, ws):
            mod._parameters[name] = w                   # the layer computes with the checked tensor itself
        return block(x, attention_mask=mask)[0]

    assert tg.gradcheck(fn, x, *weights)


# ---------------------------------------------------------------- masked-LM data
def test_mask_tokens_follows_bert_proportions():
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 1000, (400, 500))
    ids[:, 0], ids[:, -1] = 2, 3                                     # [CLS] ... [SEP]
    special = (0, 1, 2, 3, 4)
    inputs, labels = mask_tokens(ids, 4, 1000, special, 0.15, np.random.default_rng(1))
    chosen = labels != -100
    assert not chosen[:, [0, -1]].any()                              # special tokens are never chosen
    assert abs(chosen.sum() / chosen[:, 1:-1].size - 0.15) < 0.003
    assert np.array_equal(labels[chosen], ids[chosen]) and np.array_equal(inputs[~chosen], ids[~chosen])
    n = chosen.sum()
    masked = (inputs == 4) & chosen
    kept = (inputs == ids) & chosen
    randomised = chosen & ~masked & ~kept
    assert abs(masked.sum() / n - 0.8) < 0.01 and abs(kept.sum() / n - 0.1) < 0.01
    assert abs(randomised.sum() / n - 0.1) < 0.01
    assert not np.isin(inputs[randomised], special).any()          # random replacements are ordinary tokens
    again, _ = mask_tokens(ids, 4, 1000, special, 0.15, np.random.default_rng(1))
    assert np.array_equal(inputs, again)                            # seeded: reproducible


def test_mlm_batches_wrap_windows():
    tok = WordPieceTokenizer.train(TEXT, 60)
    ids = np.array(tok.encode(TEXT, add_special_tokens=False))
    batches = MLMBatches(ids, tok, batch_size=4, seq_len=10, seed=0)
    inputs, labels = batches.sample()
    assert inputs.shape == labels.shape == (4, 10)
    assert (inputs[:, 0] == tok.cls_token_id).all() and (inputs[:, -1] == tok.sep_token_id).all()
    assert (labels[:, [0, -1]] == -100).all()


# ---------------------------------------------------------------- fill-mask and a short training run
def test_fill_mask_readout():
    tok = WordPieceTokenizer.train(TEXT, 60)
    m = BERT(tiny(vocab_size=tok.vocab_size, context_length=32))
    m.train()
    answers = fill_mask(m, tok, "the [MASK] statement leaves the [MASK].", top_k=4)
    assert m.training                                               # mode restored
    assert len(answers) == 2 and all(len(a) == 4 for a in answers)
    for a in answers:
        probs = [p for _, p in a]
        assert all(isinstance(t, str) and t not in ("[PAD]", "[MASK]", "[CLS]", "[SEP]", "[UNK]") for t, _ in a)
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1
    with pytest.raises(ValueError, match="no \\[MASK\\]"):
        fill_mask(m, tok, "nothing hidden here")


def test_short_mlm_run_learns_and_saves(tmp_path):
    data = tmp_path / "text.txt"
    data.write_text(TEXT)
    result = train_mlm(data, vocab_size=80, seq_len=16, d_model=32, n_layer=1, n_head=2, steps=40, batch_size=16,
                       lr=3e-3, warmup_steps=5, eval_interval=20, eval_iters=2, val_fraction=0.2, dropout=0.0,
                       out_dir=tmp_path / "ckpt", log=None)
    losses = [h["loss"] for h in result.history]
    assert len(losses) == 40 and np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.5
    assert np.isfinite(result.val_loss) and 0 <= result.val_accuracy <= 1 and not result.model.training
    from tinygrad_tf.train import load_checkpoint
    ck = load_checkpoint(tmp_path / "ckpt")
    assert isinstance(ck.model, BERT) and ck.tokenizer.vocab == result.tokenizer.vocab
    ids = ids_of(1, 8, vocab=result.tokenizer.vocab_size)
    assert np.array_equal(ck.model.eval()(ids).logits.numpy(), result.model(ids).logits.numpy())


# ---------------------------------------------------------------- checkpoints
def test_native_save_load_round_trip(tmp_path):
    m = BERT(tiny(nsp_head=True, num_labels=2)).eval()
    m.save(tmp_path / "b")
    ids = ids_of(2, 5)
    for loaded in (BERT.load(tmp_path / "b"), load(tmp_path / "b")):
        assert isinstance(loaded, BERT) and loaded.config == m.config and loaded.mlm_decoder.weight is loaded.wte.weight
        loaded.eval()
        assert np.array_equal(loaded(ids).logits.numpy(), m(ids).logits.numpy())


@pytest.mark.parametrize("act", ["gelu", "gelu_tanh", "relu", "silu"])
def test_every_activation_trains(act):
    m = BERT(tiny(activation=act))
    ids = ids_of(2, 6)
    labels = np.where(np.arange(6) % 3 == 1, ids, -100)
    losses = []
    for _ in range(3):
        out = m(ids, labels=labels)
        out.loss.backward()
        with tg.no_grad():
            for p in m.parameters():
                if p.grad is not None:                     # (the pooler feeds no head here)
                    p.data -= 0.5 * p.grad.data
        m.zero_grad()
        losses.append(out.loss.item())
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


def test_all_heads_receive_gradients():
    m = BERT(tiny(nsp_head=True, num_labels=2))
    ids = ids_of(2, 6)
    labels = np.where(np.arange(6) == 2, ids, -100)
    m(ids, labels=labels, next_sentence_label=[1, 0], class_labels=[0, 1]).loss.backward()
    missing = [n for n, p in m.named_parameters() if p.grad is None or not np.any(p.grad.numpy())]
    assert missing == [], missing


def test_rows_with_different_padding():
    """A batch with different padding per row gives each row what it gives alone."""
    m = f64(tiny())
    a, b = ids_of(1, 6, seed=1), ids_of(1, 4, seed=2)
    batch = np.concatenate([a, np.concatenate([b, [[0, 0]]], 1)])
    out = m(batch, attention_mask=[[1] * 6, [1] * 4 + [0] * 2]).logits.numpy()
    for row, single, n in zip([0, 1], [a, b], [6, 4]):
        assert np.allclose(out[row, :n], m(single).logits.numpy()[0], atol=1e-10)
