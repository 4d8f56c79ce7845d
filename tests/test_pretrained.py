"""Issue 14: pretrained models from the Hub cache and tokenizer.json files, with the network off.

Fixtures (scripts/make_pretrained_fixtures.py, committed): tokenizer.json files of every family trained with the
`tokenizers` library and its ids on a varied sample; a Hugging Face Hub cache of tiny random models built with
transformers (real architectures and pipelines) and transformers' logits on them. Every test here runs with
HF_HUB_OFFLINE=1 and the cache pointed at that folder: nothing reaches the network.
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_tf.commands import main
from tinygrad_tf.nn.models import BERT, GPT, T5, CheckpointError, from_pretrained, load_hf, save_hf
from tinygrad_tf.text import HFTokenizer, TokenizerError, load_tokenizer

FIX = Path(__file__).parent / "fixtures" / "pretrained"
REF = json.loads((FIX / "tokenizers" / "reference.json").read_text(encoding="utf-8"))
MODELS = {"gpt2": GPT, "bert-base-uncased": BERT, "t5-small": T5, "google/t5-v1_1-small": T5,
          "google/flan-t5-small": T5, "test/tiny-llama3-gqa": GPT}


@pytest.fixture(autouse=True)
def offline_hub(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(FIX / "hub"))
    monkeypatch.delenv("HF_HOME", raising=False)


# ---------------------------------------------------------------- tokenizer.json against `tokenizers`
@pytest.mark.parametrize("name", sorted(REF["tokenizers"]))
def test_tokenizer_json_matches_tokenizers_id_for_id(name):
    tok = load_tokenizer(FIX / "tokenizers" / name / "tokenizer.json")
    r = REF["tokenizers"][name]
    assert [tok.encode(s) for s in REF["sample"]] == r["ids"]
    assert [tok.encode(s, add_special_tokens=False) for s in REF["sample"]] == r["ids_plain"]
    assert [tok.decode(ids) for ids in r["ids"]] == r["decoded"]
    assert [tok.decode(ids, skip_special_tokens=False) for ids in r["ids"]] == r["decoded_all"]
    assert [list(tok.encode_pair(a, b)) for a, b in REF["pairs"]] == r["pairs"]


@pytest.mark.parametrize("name", ["gpt2", "llama3", "llama2"])
def test_lossless_tokenizers_round_trip(name):
    tok = load_tokenizer(FIX / "tokenizers" / name)                       # a folder works too
    for s in REF["sample"]:
        assert tok.decode(tok.encode(s, add_special_tokens=False), skip_special_tokens=False) == s


def test_each_family_exercises_its_algorithm():
    kinds = {n: type(load_tokenizer(FIX / "tokenizers" / n).model).__name__ for n in REF["tokenizers"]}
    assert kinds == {"gpt2": "BPEModel", "llama3": "BPEModel", "llama2": "BPEModel", "bert_uncased": "WordPieceModel",
                     "bert_cased": "WordPieceModel", "unigram": "UnigramModel", "t5": "UnigramModel",
                     "flan_t5": "UnigramModel"}
    llama2 = load_tokenizer(FIX / "tokenizers" / "llama2")
    assert llama2.model.byte_fallback and "<0xF0>" in llama2.tokens("🦜", add_special_tokens=False)
    t5 = load_tokenizer(FIX / "tokenizers" / "t5")
    assert t5.tokens("ﬁ") == t5.tokens("fi")                    # the SentencePiece charsmap's NFKC
    bert = load_tokenizer(FIX / "tokenizers" / "bert_uncased")
    assert bert.tokens("The CAT.")[0] == "[CLS]" and bert.tokens("The CAT.")[-1] == "[SEP]"
    assert bert.mask_token_id == bert.token_to_id("[MASK]") and bert.cls_token_id == bert.token_to_id("[CLS]")


def test_tokenizer_json_patterns_are_untrusted():
    d = json.loads((FIX / "tokenizers" / "llama3" / "tokenizer.json").read_text(encoding="utf-8"))
    d["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {"Regex": "(a|aa)+$"}
    with pytest.raises(TokenizerError, match="not one of the known split patterns"):
        HFTokenizer(d)
    d["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {"String": "(a|aa)+$"}      # a literal: harmless
    assert HFTokenizer(d).encode("x(a|aa)+$y", add_special_tokens=False)


@pytest.mark.parametrize("change, match", [
    (lambda d: d["model"].update(type="WordLevel"), "unsupported tokenizer.json model 'WordLevel'"),
    (lambda d: d.update(normalizer={"type": "Nope"}), "unsupported normalizer 'Nope'"),
    (lambda d: d["model"].update(dropout=0.1), "dropout"),
    (lambda d: d["model"]["merges"].append("zzz qqq"), "missing from the vocabulary"),
    (lambda d: d.pop("model"), "or a Hugging Face tokenizer.json"),
])
def test_bad_tokenizer_json_is_one_line(change, match):
    d = json.loads((FIX / "tokenizers" / "gpt2" / "tokenizer.json").read_text(encoding="utf-8"))
    change(d)
    with pytest.raises(TokenizerError, match=match):
        load_tokenizer(d)


# ---------------------------------------------------------------- from_pretrained against transformers
@pytest.mark.parametrize("name", sorted(MODELS))
def test_from_pretrained_logits_match_transformers(name):
    model, tok = from_pretrained(name, with_tokenizer=True)
    assert type(model) is MODELS[name] and isinstance(tok, HFTokenizer) and not model.training
    ref = np.load(FIX / "reference" / (name.replace("/", "--") + ".npz"))
    kw = {"decoder_input_ids": ref["decoder_input_ids"]} if "decoder_input_ids" in ref else {}
    np.testing.assert_allclose(model(ref["input_ids"], **kw).logits.numpy(), ref["logits"], atol=1e-5, rtol=1e-5)


def test_the_families_are_what_the_configs_say():
    llama = from_pretrained("test/tiny-llama3-gqa")                       # sharded, with an index
    assert (llama.config.n_head, llama.config.n_kv_head, llama.config.position) == (4, 2, "rope")
    assert llama.config.rope_theta == 500000.0
    v11, v10 = from_pretrained("google/t5-v1_1-small"), from_pretrained("t5-small")
    assert v11.config.gated and not v11.config.tie_embeddings and not v10.config.gated and v10.config.tie_embeddings
    assert from_pretrained("bert-base-uncased").config.mlm_head


def test_class_methods_and_local_folders(tmp_path):
    snapshot = next((FIX / "hub" / "models--gpt2" / "snapshots").iterdir())
    assert isinstance(GPT.from_pretrained("gpt2"), GPT)
    assert isinstance(GPT.from_pretrained(snapshot), GPT)                  # a folder, as load_hf
    with pytest.raises(CheckpointError, match="holds a GPT model, not a BERT"):
        BERT.from_pretrained("gpt2")
    assert from_pretrained("gpt2", dtype="float64").wte.weight.dtype == np.float64


def test_hub_cache_variables_and_arguments(monkeypatch, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(FIX / "hub" / "models--gpt2", home / "hub" / "models--gpt2")
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv("HF_HOME", str(home))
    assert isinstance(from_pretrained("gpt2"), GPT)                        # $HF_HOME/hub
    assert isinstance(from_pretrained("gpt2", cache_dir=FIX / "hub", local_files_only=True), GPT)
    assert isinstance(from_pretrained("gpt2", revision="0123456789abcdef0123456789abcdef01234567"), GPT)
    with pytest.raises(CheckpointError, match=r"bert-base-uncased is not in the Hub cache at .*home.hub"):
        from_pretrained("bert-base-uncased")


def test_offline_and_missing_is_one_line_naming_model_and_cache():
    with pytest.raises(CheckpointError) as e:
        from_pretrained("someone/not-cached")
    msg = str(e.value)
    assert "someone/not-cached" in msg and str(FIX / "hub") in msg and "HF_HUB_OFFLINE=1" in msg and "\n" not in msg
    with pytest.raises(CheckpointError, match="local_files_only=True"):
        from_pretrained("someone/not-cached", local_files_only=True, cache_dir=FIX / "hub")


def test_pickle_only_repos_are_refused_with_the_conversion():
    with pytest.raises(CheckpointError, match="only pickled weights.*pytorch_model.bin.*safetensors"):
        from_pretrained("test/pickle-only")


def test_without_huggingface_hub_a_hub_name_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(CheckpointError, match=r'not a local folder; .*pip install "tinygrad-tf\[hub\]"'):
        from_pretrained("gpt2")
    with pytest.raises(TokenizerError, match="huggingface_hub"):
        load_tokenizer("gpt2")


def test_unsupported_configs_are_refused_by_name(tmp_path):
    snap = next((FIX / "hub" / "models--test--tiny-llama3-gqa" / "snapshots").iterdir())
    for change, match in ((lambda c: c.update(rope_scaling={"rope_type": "llama3", "factor": 8.0}), "rope_type='llama3'"),
                          (lambda c: c.update(model_type="mistral", architectures=["MistralForCausalLM"]), "mistral"),
                          (lambda c: c.update(architectures=["LlamaForSequenceClassification"]),
                           "unsupported Hugging Face architecture LlamaForSequenceClassification")):
        folder = tmp_path / "m"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(snap, folder)
        cfg = json.loads((folder / "config.json").read_text())
        cfg.pop("rope_parameters", None)
        change(cfg)
        (folder / "config.json").write_text(json.dumps(cfg))
        with pytest.raises(CheckpointError, match=match):
            from_pretrained(folder)


# ---------------------------------------------------------------- the commands
def test_attention_hf_shows_real_special_tokens(capsys):
    assert main(["attention", "--hf", "bert-base-uncased", "--text", "The cat sat on the mat.", "--json", "-",
                 "--layout", "bertviz"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tokens"][0] == "[CLS]" and data["tokens"][-1] == "[SEP]" and "mat" in data["tokens"]


@pytest.mark.parametrize("argv, want", [
    (["generate", "--hf", "gpt2", "--prompt", "The cat", "--max-new-tokens", "4", "--temperature", "0"], "The cat"),
    (["generate", "--hf", "bert-base-uncased", "--prompt", "The cat sat on the [MASK]."], "[MASK] 1:"),
    (["generate", "--hf", "google/flan-t5-small", "--prompt", "translate English to German: Hi", "--max-new-tokens",
      "3"], ""),
    (["summary", "--hf", "t5-small", "--depth", "1"], "T5"),
    (["params", "--hf", "test/tiny-llama3-gqa"], "82,720 parameters"),
    (["compare", "gpt2", "--hf", "gpt2"], "d_model"),
])
def test_model_commands_take_hf(argv, want, capsys):
    assert main(argv) == 0
    assert want in capsys.readouterr().out


def test_graph_hf(tmp_path, capsys):
    assert main(["graph", "--hf", "gpt2", "--text", "The cat", "--out", str(tmp_path / "g.dot")]) == 0
    assert "digraph" in (tmp_path / "g.dot").read_text()


def test_commands_need_exactly_one_model(capsys):
    assert main(["attention", "--hf", "gpt2", "--preset", "gpt2"]) == 2
    assert "one of --checkpoint or --hf or --preset" in capsys.readouterr().err


# ---------------------------------------------------------------- fine-tuning and saving back
@pytest.mark.parametrize("name, extra", [("gpt2", []), ("bert-base-uncased", []),
                                         ("google/flan-t5-small", ["--task", "reverse", "--max-len", "4"])])
def test_train_init_from_fine_tunes_and_saves_back(name, extra, tmp_path, capsys):
    out = tmp_path / "ft"
    before = from_pretrained(name)
    assert main(["train", "--init-from", name, "--steps", "2", "--batch-size", "2", "--out", str(out), "--quiet",
                 *extra]) == 0
    from tinygrad_tf.train import load_checkpoint
    c = load_checkpoint(out, load_training_state=False)
    assert isinstance(c.tokenizer, HFTokenizer) and type(c.model) is type(before)
    changed = [k for k, v in c.model.state_dict().items() if not np.array_equal(v.numpy(), before.state_dict()[k].numpy())]
    assert changed                                                       # it trained
    save_hf(c.model, tmp_path / "hf")                                    # and saves back for transformers
    again = load_hf(tmp_path / "hf")
    ids = np.array([c.tokenizer.encode("The cat sat.")])
    kw = {"decoder_input_ids": ids[:, :3]} if name.startswith("google") else {}
    np.testing.assert_array_equal(again(ids, **kw).logits.numpy(), c.model.eval()(ids, **kw).logits.numpy())


def test_init_from_keeps_the_pretrained_shape(capsys):
    assert main(["train", "--init-from", "gpt2", "--n-layer", "3"]) == 2
    assert "drop --n-layer" in capsys.readouterr().err
