"""Hugging Face interop: load_hf reproduces transformers' outputs (GPT-2, Llama, BERT heads, T5 v1.0 / v1.1),
save_hf writes what transformers writes, and every odd file layout or bad file gets a clear error.

The fixtures (tests/fixtures/hf/<name>/: config.json + model.safetensors from transformers' save_pretrained,
plus reference.npz: inputs and transformers' float32 outputs) are made by scripts/make_hf_fixtures.py.
"""

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from tinygrad_tf.nn.models import BERT, GPT, T5, CheckpointError, GPTConfig, load, load_hf, save_hf
from tinygrad_tf.nn.models.hf import read_safetensors
from tinygrad_tf.nn.positional import relative_position_bucket

FIX = Path(__file__).parent / "fixtures" / "hf"
NAMES = ["gpt2", "llama", "bert", "bert_mlm", "bert_model", "bert_cls", "t5", "t5_v1_1"]
OUTPUTS = ("logits", "loss", "last_hidden_state", "pooler_output", "nsp_logits", "encoder_last_hidden_state")


def reference(name):
    return dict(np.load(FIX / name / "reference.npz"))


def outputs(model, ref):
    feed = {k: ref[k] for k in ("input_ids", "attention_mask", "token_type_ids", "labels", "next_sentence_label",
                                "class_labels") if k in ref}
    o = model(**feed)
    got = {k: getattr(o, k, None) for k in OUTPUTS}
    return {k: v.numpy() for k, v in got.items() if v is not None}


def keyset(folder):
    return {k: v.shape for k, v in read_safetensors(Path(folder) / "model.safetensors").items()}


def weights(name):
    return {k: np.array(v) for k, v in read_safetensors(FIX / name / "model.safetensors").items()}


def config(name):
    return json.loads((FIX / name / "config.json").read_text())


# ---------------------------------------------------------------- equivalence with transformers
@pytest.mark.parametrize("name", NAMES)
def test_load_hf_matches_transformers(name):
    ref = reference(name)
    m = load_hf(FIX / name)
    assert m.dtype == np.float32 and not m.training
    got = outputs(m, ref)
    checked = [k for k in OUTPUTS if k in ref]
    assert checked and set(checked) <= set(got)
    for k in checked:
        err = np.abs(got[k] - ref[k]).max()
        assert err < 1e-4, f"{name}: {k} differs from transformers by {err:.2e}"
    if name.startswith("t5"):                        # the decoder read the labels shifted right, as transformers
        assert np.array_equal(m.shift_right(ref["labels"]).numpy(), ref["decoder_input_ids"])


def test_loaded_models_have_the_right_architecture():
    g, lm = load_hf(FIX / "gpt2"), load_hf(FIX / "llama")
    assert isinstance(g, GPT) and (g.config.position, g.config.norm, g.config.activation) == \
        ("learned", "layernorm", "gelu_tanh") and g.config.tie_embeddings and g.lm_head.weight is g.wte.weight
    assert isinstance(lm, GPT) and (lm.config.position, lm.config.norm, lm.config.activation, lm.config.n_kv_head,
                                    lm.config.bias, lm.config.tie_embeddings) == ("rope", "rmsnorm", "swiglu", 2,
                                                                                  False, False)
    heads = {n: (lambda c: (c.pooler, c.mlm_head, c.nsp_head, c.num_labels))(load_hf(FIX / n).config)
             for n in ("bert", "bert_mlm", "bert_model", "bert_cls")}
    assert heads == {"bert": (True, True, True, 0), "bert_mlm": (False, True, False, 0),
                     "bert_model": (True, False, False, 0), "bert_cls": (True, False, False, 3)}
    t1, t11 = load_hf(FIX / "t5"), load_hf(FIX / "t5_v1_1")
    assert isinstance(t1, T5) and t1.config.tie_embeddings and t1.lm_head.weight is t1.shared.weight
    assert t1.config.feed_forward_proj == "relu" and t1.config.relative_attention_num_buckets == 8
    assert not t11.config.tie_embeddings and t11.config.feed_forward_proj == "gated-gelu"


def test_t5_buckets_match_transformers():
    f = np.load(FIX / "t5_buckets.npz")
    rp = f["relative_position"]
    for key in f.files:
        if key == "relative_position":
            continue
        bidirectional, nb, md = (int(x) for x in key.split("_"))
        assert np.array_equal(relative_position_bucket(rp, bool(bidirectional), nb, md), f[key]), key


# ---------------------------------------------------------------- save_hf
@pytest.mark.parametrize("name", NAMES)
def test_save_hf_writes_what_transformers_writes(name, tmp_path):
    m = load_hf(FIX / name)
    out = save_hf(m, tmp_path / "out")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    assert keyset(out) == keyset(FIX / name)                      # the same names and shapes, tied weights once
    cfg, ref_cfg = json.loads((out / "config.json").read_text()), config(name)
    assert cfg["architectures"] == ref_cfg["architectures"] and cfg["model_type"] == ref_cfg["model_type"]
    with open(out / "model.safetensors", "rb") as f:              # transformers insists on format "pt"
        (n,) = struct.unpack("<Q", f.read(8))
        assert json.loads(f.read(n))["__metadata__"]["format"] == "pt"
    back = load_hf(out)
    assert back.config == m.config
    ref = reference(name)
    a, b = outputs(m, ref), outputs(back, ref)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_round_trip_of_fresh_models(tmp_path):
    """Models made here (not loaded) survive save_hf -> load_hf, including float64 and untied heads."""
    ids = np.random.default_rng(0).integers(0, 20, (2, 5))
    cases = [GPT(GPTConfig(vocab_size=20, context_length=8, d_model=8, n_layer=1, n_head=2, tie_embeddings=False)),
             GPT(GPTConfig(vocab_size=20, context_length=8, d_model=8, n_layer=1, n_head=4, n_kv_head=2,
                           norm="rmsnorm", position="rope", activation="swiglu", bias=True)).double()]
    for i, m in enumerate(cases):
        m.eval()
        back = load_hf(save_hf(m, tmp_path / str(i)))
        assert back.config == m.config and back.dtype == m.dtype
        assert np.array_equal(back(ids).logits.numpy(), m(ids).logits.numpy())
    with pytest.raises(ValueError, match="no Hugging Face architecture matches this GPT"):
        save_hf(GPT(GPTConfig(vocab_size=20, context_length=8, d_model=8, n_layer=1, n_head=2, position="alibi")),
                tmp_path / "x")
    with pytest.raises(TypeError, match="expected a GPT, BERT or T5"):
        save_hf(object(), tmp_path / "y")


# ---------------------------------------------------------------- file layouts
def write_folder(path, tensors, cfg):
    path.mkdir(parents=True, exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path / "model.safetensors"),
              metadata={"format": "pt"})
    (path / "config.json").write_text(json.dumps(cfg))
    return path


def same_outputs(name, folder):
    ref = reference(name)
    a, b = outputs(load_hf(FIX / name), ref), outputs(load_hf(folder), ref)
    return all(np.array_equal(a[k], b[k]) for k in a)


def test_old_and_unprefixed_layouts(tmp_path):
    # BERT: old gamma/beta names, no "bert." prefix, the output bias and tied decoder stored as well
    w = weights("bert")
    old = {}
    for k, v in w.items():
        k = k.removeprefix("bert.")
        k = k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        old[k] = v
    old["cls.predictions.decoder.weight"] = w["bert.embeddings.word_embeddings.weight"]
    old["cls.predictions.decoder.bias"] = w["cls.predictions.bias"]
    old["embeddings.position_ids"] = np.arange(32)[None]
    assert same_outputs("bert", write_folder(tmp_path / "bert", old, config("bert")))
    # GPT-2 as the Hub stores it: no "transformer." prefix, the causal-mask buffers, an explicit tied head
    w = weights("gpt2")
    hub = {k.removeprefix("transformer."): v for k, v in w.items()}
    hub["h.0.attn.bias"] = np.tril(np.ones((1, 1, 32, 32), np.float32))
    hub["lm_head.weight"] = w["transformer.wte.weight"]
    assert same_outputs("gpt2", write_folder(tmp_path / "gpt2", hub, config("gpt2")))
    # T5 with the embedding copies stored (transformers 4 wrote them)
    w = weights("t5")
    w["encoder.embed_tokens.weight"] = w["decoder.embed_tokens.weight"] = w["shared.weight"]
    assert same_outputs("t5", write_folder(tmp_path / "t5", w, config("t5")))
    # T5 v1.1 saved by transformers 5: tie_word_embeddings true, scale_decoder_outputs false, no lm_head stored
    w = weights("t5_v1_1")
    w.pop("lm_head.weight")
    cfg = {**config("t5_v1_1"), "tie_word_embeddings": True, "scale_decoder_outputs": False}
    m = load_hf(write_folder(tmp_path / "t5v5", w, cfg))
    assert not m.config.tie_embeddings and np.array_equal(m.lm_head.weight.numpy(), w["shared.weight"])


def test_single_file_shards_and_bfloat16(tmp_path):
    # one .safetensors file + a config given separately (dict or path)
    w = weights("llama")
    single = tmp_path / "weights.safetensors"
    save_file(w, str(single))
    for cfg in (config("llama"), FIX / "llama" / "config.json"):
        m = load_hf(single, config=cfg)
        assert np.array_equal(m(reference("llama")["input_ids"]).logits.numpy(),
                              load_hf(FIX / "llama")(reference("llama")["input_ids"]).logits.numpy())
    # sharded: model.safetensors.index.json names the file of each weight
    shard = tmp_path / "sharded"
    shard.mkdir()
    names = sorted(w)
    parts = {"model-00001-of-00002.safetensors": names[:10], "model-00002-of-00002.safetensors": names[10:]}
    for fname, keys in parts.items():
        save_file({k: w[k] for k in keys}, str(shard / fname))
    (shard / "model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {k: f for f, keys in parts.items() for k in keys}}))
    (shard / "config.json").write_text(json.dumps(config("llama")))
    assert same_outputs("llama", shard)
    # bfloat16 (NumPy has none): widened to float32; a bfloat16 is the top half of a float32
    bf = tmp_path / "bf16"
    bf.mkdir()
    (bf / "config.json").write_text(json.dumps(config("gpt2")))
    header, blobs, offset = {}, [], 0
    for k, v in weights("gpt2").items():
        b = (v.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()
        header[k] = {"dtype": "BF16", "shape": list(v.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    raw = json.dumps(header).encode()
    (bf / "model.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))
    m = load_hf(bf)
    assert m.dtype == np.float32
    err = np.abs(m(reference("gpt2")["input_ids"]).logits.numpy() - reference("gpt2")["logits"]).max()
    assert 0 < err < 0.5                                           # bfloat16 keeps ~3 significant digits


def test_errors_are_clear(tmp_path):
    w, cfg = weights("bert_mlm"), config("bert_mlm")
    with pytest.raises(CheckpointError, match="unsupported Hugging Face model.*'roberta'"):
        load_hf(write_folder(tmp_path / "a", w, {**cfg, "model_type": "roberta", "architectures": ["X"]}))
    with pytest.raises(CheckpointError, match="weights the bert model does not use: qa_outputs.weight"):
        load_hf(write_folder(tmp_path / "b", {**w, "qa_outputs.weight": np.zeros((2, 32), np.float32)}, cfg))
    missing = {k: v for k, v in w.items() if "layer.1.output.dense.weight" not in k}
    with pytest.raises(CheckpointError, match="encoder.layer.1.output.dense.weight is missing"):
        load_hf(write_folder(tmp_path / "c", missing, cfg))
    untied = {**w, "cls.predictions.decoder.weight": np.zeros((96, 32), np.float32)}
    with pytest.raises(CheckpointError, match="differs from the weight it is tied to"):
        load_hf(write_folder(tmp_path / "d", untied, cfg))
    wrong = dict(w)
    wrong["cls.predictions.bias"] = np.zeros(95, np.float32)
    with pytest.raises(CheckpointError, match=r"mlm_decoder.bias: checkpoint shape \(95,\) vs model shape \(96,\)"):
        load_hf(write_folder(tmp_path / "e", wrong, cfg))
    with pytest.raises(CheckpointError, match="position_embedding_type='relative_key'"):
        load_hf(write_folder(tmp_path / "f", w, {**cfg, "position_embedding_type": "relative_key"}))
    binonly = tmp_path / "g"
    binonly.mkdir()
    (binonly / "config.json").write_text(json.dumps(cfg))
    (binonly / "pytorch_model.bin").write_bytes(b"not read")
    with pytest.raises(CheckpointError, match="pytorch_model.bin .*pickled"):
        load_hf(binonly)
    (binonly / "model.safetensors").write_bytes(b"\x00" * 4)
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_hf(binonly)
    with pytest.raises(CheckpointError, match="config.json is missing"):
        load_hf(FIX / "bert" / "model.safetensors", config=tmp_path / "config.json")
    with pytest.raises(CheckpointError, match="no Hugging Face model folder"):
        load_hf(tmp_path / "nowhere")
    with pytest.raises(CheckpointError, match="is a Hugging Face model folder.*load_hf"):
        load(FIX / "bert")                                         # the native loader points the way


def test_error_messages_are_one_line(tmp_path):
    w, cfg = weights("t5"), config("t5")
    w.pop("decoder.final_layer_norm.weight")
    with pytest.raises(CheckpointError) as e:
        load_hf(write_folder(tmp_path / "t5", w, cfg))
    assert "\n" not in str(e.value) and "decoder.final_layer_norm.weight is missing" in str(e.value)


def test_bert_fixture_is_a_full_bert():
    m = load_hf(FIX / "bert")
    assert isinstance(m, BERT) and m.mlm_decoder.weight is m.wte.weight
    assert m.num_parameters() == sum(int(np.prod(s)) for s in keyset(FIX / "bert").values())
