"""Make tests/fixtures/pretrained/: tokenizer.json files of every family with the `tokenizers` library's ids, and a
Hugging Face Hub cache of tiny random models (real architectures and pipelines, small sizes) with transformers'
logits. The package never imports tokenizers, transformers, sentencepiece or torch: only this script does.

tokenizers/<name>/tokenizer.json, trained here on tinygrad_tf.text.default_corpus() plus the varied SAMPLE text of
make_tokenizer_fixtures.py (code, prose, numbers, whitespace runs, emoji, CJK, accents), each with the pipeline of
the real model it stands for:
    gpt2          byte-level BPE, GPT-2's regex, "<|endoftext|>"                     (tokenizers BpeTrainer)
    llama3        byte-level BPE, Llama 3's regex split, ignore_merges, <|begin_of_text|> prepended
    llama2        SentencePiece-style BPE: Prepend("▁") + Replace(" ", "▁") normalizer, no pre-tokenizer,
                  byte fallback (<0x00>..<0xFF>), fuse_unk, "<s>" prepended, Replace/ByteFallback/Fuse/Strip decoder
    bert_uncased  WordPiece, BertNormalizer(lowercase), BertPreTokenizer, [CLS] $A [SEP] / [SEP] $B [SEP]
    bert_cased    the same, cased
    unigram       Unigram trained with tokenizers' UnigramTrainer, Metaspace
    t5            Unigram from a SentencePiece model (the sentencepiece trainer, nmt_nfkc normalisation) written as
                  t5-small's tokenizer.json is: Precompiled charsmap normalizer, WhitespaceSplit + Metaspace
                  (add_prefix_space), "$A </s>"
    flan_t5       the same model in the newer converter's form: Sequence[Precompiled, Strip(right),
                  Replace(" {2,}", "▁")], Metaspace(prepend_scheme always)
tokenizers/reference.json: the sample, and per tokenizer the ids of tokenizers.Tokenizer.encode(s) (with and without
special tokens), decode(ids), and BERT's pairs with token type ids.

hub/: a Hub cache (models--ORG--NAME/refs/main, snapshots/<commit>/...) holding tiny random models built with
transformers (d_model 32, 2 layers) under the names the lesson uses: gpt2, bert-base-uncased (BertForMaskedLM),
google/flan-t5-small and google/t5-v1_1-small (gated GELU, untied), t5-small (v1.0), and test/tiny-llama3-gqa
(LlamaForCausalLM, 4 heads over 2 key/value heads, saved in shards with model.safetensors.index.json), each with
its tokenizer.json; test/pickle-only has only a (placeholder) pytorch_model.bin. reference/<name>.npz: input ids
from the reference tokenizer and transformers' float32 logits.

    pip install torch==2.13.0 transformers tokenizers sentencepiece protobuf regex   # then
    python scripts/make_pretrained_fixtures.py
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import transformers as T
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
OUT = ROOT / "tests" / "fixtures" / "pretrained"

from fixture_common import randomise  # noqa: E402
from make_tokenizer_fixtures import PAIRS, SAMPLE  # noqa: E402
from tinygrad_tf.text import default_corpus  # noqa: E402
from tinygrad_tf.text.hf_pipeline import LLAMA3_PATTERN  # noqa: E402

VOCAB = 1000
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def corpus_lines():
    text = default_corpus()[:600_000]
    return text.splitlines() + SAMPLE


def byte_level_bpe(llama3=False):
    specials = ["<|begin_of_text|>", "<|end_of_text|>"] if llama3 else ["<|endoftext|>"]
    tok = Tokenizer(models.BPE(ignore_merges=llama3))
    if llama3:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    else:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=[] if llama3 else specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus_lines(), trainer)
    if llama3:
        tok.add_special_tokens(specials)
        bos = tok.token_to_id("<|begin_of_text|>")
        tok.post_processor = processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                                          special_tokens=[("<|begin_of_text|>", bos)])])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def llama2():
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never", split=True)  # training only
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["<unk>", "<s>", "</s>"] + byte_tokens,
                                  limit_alphabet=300, show_progress=False)
    tok.train_from_iterator(corpus_lines(), trainer)
    d = json.loads(tok.to_str())
    d["pre_tokenizer"] = None                                            # as Llama 2's file: the normalizer only
    d["added_tokens"] = [a for a in d["added_tokens"] if a["content"] in ("<unk>", "<s>", "</s>")]
    d["post_processor"] = {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
    d["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    return Tokenizer.from_str(json.dumps(d))


def bert(lowercase):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                                lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(vocab_size=VOCAB, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
                                        show_progress=False)
    tok.train_from_iterator(corpus_lines(), trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                       special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return tok


def unigram():
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=VOCAB, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>",
                                      show_progress=False)
    tok.train_from_iterator(corpus_lines(), trainer)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                       special_tokens=[("</s>", tok.token_to_id("</s>"))])
    return tok


def t5(new_form):
    """A SentencePiece unigram model (nmt_nfkc: its precompiled charsmap) as t5-small's tokenizer.json."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "c.txt").write_text("\n".join(corpus_lines()))
        spm.SentencePieceTrainer.train(input=f"{tmp}/c.txt", model_prefix=f"{tmp}/sp", vocab_size=VOCAB,
                                       model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                                       character_coverage=0.9995, minloglevel=2)
        proto = pb.ModelProto()
        proto.ParseFromString((Path(tmp) / "sp.model").read_bytes())
    import base64
    charsmap = base64.b64encode(proto.normalizer_spec.precompiled_charsmap).decode()
    vocab = [[p.piece, p.score if p.type == 1 else 0.0] for p in proto.pieces]
    added = [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
              "special": True} for i, c in ((0, "<pad>"), (1, "</s>"), (2, "<unk>"))]
    if new_form:
        normalizer = {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": charsmap},
            {"type": "Strip", "strip_left": False, "strip_right": True},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": "▁"}]}
        meta = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    else:
        normalizer = {"type": "Precompiled", "precompiled_charsmap": charsmap}
        meta = {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True}
    d = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": normalizer,
         "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, meta]},
         "post_processor": {"type": "TemplateProcessing",
                            "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                                     {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                            "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}},
         "decoder": meta, "model": {"type": "Unigram", "unk_id": 2, "vocab": vocab, "byte_fallback": False}}
    return Tokenizer.from_str(json.dumps(d, ensure_ascii=False))


TOKENIZERS = {"gpt2": byte_level_bpe, "llama3": lambda: byte_level_bpe(True), "llama2": llama2,
              "bert_uncased": lambda: bert(True), "bert_cased": lambda: bert(False), "unigram": unigram,
              "t5": lambda: t5(False), "flan_t5": lambda: t5(True)}


def make_tokenizers():
    out = OUT / "tokenizers"
    shutil.rmtree(out, ignore_errors=True)
    ref = {"sample": SAMPLE, "pairs": [list(p) for p in PAIRS], "tokenizers": {}}
    made = {}
    for name, make in TOKENIZERS.items():
        tok = make()
        (out / name).mkdir(parents=True)
        tok.save(str(out / name / "tokenizer.json"))
        tok = Tokenizer.from_file(str(out / name / "tokenizer.json"))        # the reference reads the file
        made[name] = tok
        r = {"ids": [tok.encode(s).ids for s in SAMPLE],
             "ids_plain": [tok.encode(s, add_special_tokens=False).ids for s in SAMPLE]}
        r["decoded"] = [tok.decode(ids) for ids in r["ids"]]
        r["decoded_all"] = [tok.decode(ids, skip_special_tokens=False) for ids in r["ids"]]
        e = [tok.encode(a, b) for a, b in PAIRS]
        r["pairs"] = [[x.ids, x.type_ids] for x in e]
        ref["tokenizers"][name] = r
        print(f"{name:<13} vocab {tok.get_vocab_size():>5}, {sum(map(len, r['ids'])):>5} ids on the sample")
    (out / "reference.json").write_text(json.dumps(ref, ensure_ascii=False, indent=0) + "\n")
    return made


# ---------------------------------------------------------------- the Hub cache of tiny models
def t5_config(vocab, **kw):
    return T.T5Config(vocab_size=vocab, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4, decoder_start_token_id=0,
                      pad_token_id=0, eos_token_id=1, relative_attention_num_buckets=8,
                      relative_attention_max_distance=20, attn_implementation="eager", **kw)


MODELS = {
    # Hub name: (tokenizer, transformers class, config, extra real-config fields)
    "gpt2": ("gpt2", T.GPT2LMHeadModel, lambda v: T.GPT2Config(vocab_size=v, n_positions=64, n_embd=32, n_layer=2,
                                                                 n_head=4, bos_token_id=v - 1, eos_token_id=v - 1),
             {"n_ctx": 64, "summary_type": "cls_index", "task_specific_params": {"text-generation": {"do_sample": True,
                                                                                                    "max_length": 50}}}),
    "bert-base-uncased": ("bert_uncased", T.BertForMaskedLM,
                          lambda v: T.BertConfig(vocab_size=v, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                                 intermediate_size=64, max_position_embeddings=64), {}),
    "t5-small": ("t5", T.T5ForConditionalGeneration, lambda v: t5_config(v),
                 {"task_specific_params": {"translation_en_to_de": {"prefix": "translate English to German: "}}}),
    "google/t5-v1_1-small": ("t5", T.T5ForConditionalGeneration,
                             lambda v: t5_config(v, feed_forward_proj="gated-gelu", tie_word_embeddings=False), {}),
    "google/flan-t5-small": ("flan_t5", T.T5ForConditionalGeneration,
                             lambda v: t5_config(v, feed_forward_proj="gated-gelu", tie_word_embeddings=False), {}),
    "test/tiny-llama3-gqa": ("llama3", T.LlamaForCausalLM,
                             lambda v: T.LlamaConfig(vocab_size=v, hidden_size=32, intermediate_size=64,
                                                     num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                                     max_position_embeddings=64, rope_theta=500000.0,
                                                     bos_token_id=v - 2, eos_token_id=v - 1), {}),
}
TEXT = {"gpt2": "The cat sat on the mat. The cat sat on the", "bert-base-uncased": "The cat sat on the [MASK].",
        "t5-small": "translate English to German: The house is wonderful.",
        "google/t5-v1_1-small": "The house is wonderful.",
        "google/flan-t5-small": "translate English to German: How old are you?",
        "test/tiny-llama3-gqa": "def f(x):\n    return x * 2  # 😀"}


def reference_logits(hf, cls, tok, name):
    ids = tok.encode(TEXT[name]).ids
    with torch.no_grad():
        x = torch.tensor([ids])
        if cls is T.T5ForConditionalGeneration:
            dec = torch.tensor([[0] + ids[:5]])
            return ids, hf(input_ids=x, decoder_input_ids=dec).logits, {"decoder_input_ids": dec.numpy()}
        return ids, hf(input_ids=x).logits, {}


def safe_open_keys(folder):
    from safetensors import safe_open
    keys = set()
    for f in folder.glob("*.safetensors"):
        with safe_open(str(f), "pt") as st:
            keys |= set(st.keys())
    return keys


def cache_folder(name):
    return OUT / "hub" / ("models--" + name.replace("/", "--"))


def make_hub(toks):
    shutil.rmtree(OUT / "hub", ignore_errors=True)
    shutil.rmtree(OUT / "reference", ignore_errors=True)
    (OUT / "reference").mkdir(parents=True)
    for seed, (name, (tok_name, cls, make_config, extra)) in enumerate(MODELS.items()):
        tok = toks[tok_name]
        repo = cache_folder(name)
        snap = repo / "snapshots" / COMMIT
        (repo / "refs").mkdir(parents=True)
        (repo / "refs" / "main").write_text(COMMIT)
        torch.manual_seed(seed)
        config = make_config(tok.get_vocab_size())
        config._attn_implementation = "eager"
        model = cls(config)
        randomise(model, seed)
        untied = name.startswith("google/")
        if untied:          # v1.1 / flan: an lm_head of its own and no output rescaling. transformers 5 ties T5's
            # lm_head to `shared` whatever the config says, so the reference is this model in memory, untied by hand
            model.lm_head.weight = torch.nn.Parameter(0.2 * torch.randn(model.lm_head.weight.shape,
                                                                        generator=torch.Generator().manual_seed(seed)))
            model.config.scale_decoder_outputs = False
            head = model.lm_head.weight.detach().clone()
            reference = reference_logits(model.eval(), cls, tok, name)      # before saving can re-tie it
        shard = "60KB" if "llama" in name else "50GB"
        model.save_pretrained(snap, max_shard_size=shard)
        if untied:                                                 # the head as it was when the reference ran
            from safetensors.torch import load_file, save_file
            tensors = load_file(str(snap / "model.safetensors"))
            tensors["lm_head.weight"] = head.contiguous()
            save_file(tensors, str(snap / "model.safetensors"), metadata={"format": "pt"})
        for f in snap.iterdir():
            if f.name not in ("config.json",) and not f.name.endswith(".safetensors") and not f.name.endswith(".json"):
                f.unlink()
        gen = snap / "generation_config.json"
        gen.unlink(missing_ok=True)
        cfg = json.loads((snap / "config.json").read_text())
        cfg.update(extra)
        if name.startswith("google/"):                             # the Hub's v1.1 / flan configs: no scale flag
            cfg.pop("scale_decoder_outputs", None)
            cfg["tie_word_embeddings"] = False
        (snap / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
        shutil.copy(OUT / "tokenizers" / tok_name / "tokenizer.json", snap / "tokenizer.json")
        if not untied:                                             # the reference reads the files
            reference = reference_logits(cls.from_pretrained(snap, attn_implementation="eager").eval(), cls, tok, name)
        ids, logits, extra_out = reference
        np.savez_compressed(OUT / "reference" / (name.replace("/", "--") + ".npz"), input_ids=np.array([ids]),
                            logits=logits.numpy(), **extra_out)
        print(f"{name:<22} {cls.__name__:<27} vocab {config.vocab_size:>5}: "
              f"{', '.join(sorted(f.name for f in snap.iterdir()))}")
    pickle = cache_folder("test/pickle-only")                      # a repo with only pickled weights
    snap = pickle / "snapshots" / COMMIT
    snap.mkdir(parents=True)
    (pickle / "refs").mkdir()
    (pickle / "refs" / "main").write_text(COMMIT)
    shutil.copy(cache_folder("gpt2") / "snapshots" / COMMIT / "config.json", snap / "config.json")
    (snap / "pytorch_model.bin").write_bytes(b"placeholder: never unpickled\n")


def check_fine_tuned_round_trip():
    """Fine-tune each causal / masked model for a few steps with our Trainer, save_hf it, and load that folder in
    transformers: the logits must agree (T5 is left out: transformers 5 always ties T5's lm_head to `shared`,
    so it cannot represent an untied v1.1 head, and a tied v1.0 is covered by scripts/make_hf_fixtures.py)."""
    from tinygrad_tf.nn.models import from_pretrained, save_hf
    from tinygrad_tf.train import TrainConfig, Trainer
    import tinygrad_tf.text  # noqa: F401  (registers the tokenizer reader for with_tokenizer=True)
    for name, cls, family, task in (("gpt2", T.GPT2LMHeadModel, "gpt", "lm"),
                                    ("test/tiny-llama3-gqa", T.LlamaForCausalLM, "gpt", "lm"),
                                    ("bert-base-uncased", T.BertForMaskedLM, "bert", "mlm")):
        snap = cache_folder(name) / "snapshots" / COMMIT
        model, tok = from_pretrained(snap, with_tokenizer=True)
        model.train()
        trainer = Trainer(TrainConfig(family=family, task=task, steps=3, batch_size=2, eval_interval=100),
                          model=model, tokenizer=tok, show_progress=False)
        trainer.run()
        model.eval()
        with tempfile.TemporaryDirectory() as tmp:
            save_hf(model, tmp)
            hf = cls.from_pretrained(tmp, attn_implementation="eager").eval()
            ids = tok.encode("The cat sat on the mat.")
            with torch.no_grad():
                theirs = hf(input_ids=torch.tensor([ids])).logits.numpy()
            ours = model(np.array([ids])).logits.numpy()
            print(f"fine-tuned {name:<22} save_hf -> transformers: max |logits diff| {np.abs(theirs - ours).max():.1e}")
            assert np.abs(theirs - ours).max() < 1e-5


def main():
    toks = make_tokenizers()
    make_hub(toks)
    check_fine_tuned_round_trip()
    size = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"wrote {OUT} ({size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
