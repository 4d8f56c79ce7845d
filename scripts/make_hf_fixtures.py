"""Make tests/fixtures/hf/: tiny random Hugging Face models, their inputs and transformers' outputs.

transformers (with PyTorch) is the reference peer here; the package never imports either. For each model:

  1. build a SMALL transformers model (d_model 32, 2 layers, vocab 96, fixed seeds, eager attention) and give
     every weight a random value of a useful size (LayerNorm/RMSNorm weights near 1, biases and relative
     position biases nonzero), so that every parameter changes the output;
  2. save it with save_pretrained into tests/fixtures/hf/<name>/ (config.json + model.safetensors only);
  3. load that folder back with transformers and record its float32 outputs on fixed inputs (padding masks,
     token types, -100 labels) in tests/fixtures/hf/<name>/reference.npz;
  4. check our side: load_hf(folder) reproduces the outputs, and save_hf(model) writes a folder that
     transformers loads (no missing / unexpected keys) and that gives the same logits again.

Also tests/fixtures/hf/t5_buckets.npz: transformers' T5 relative-position buckets for a few settings.

    pip install transformers   # then
    python scripts/make_hf_fixtures.py
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import transformers as T

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
OUT = ROOT / "tests" / "fixtures" / "hf"
V, D, L, H, FF, CTX = 96, 32, 2, 4, 64, 32

from fixture_common import randomise  # noqa: E402
from tinygrad_tf.nn.models import load_hf, save_hf  # noqa: E402
from tinygrad_tf.nn.models.hf import read_safetensors  # noqa: E402


# ---------------------------------------------------------------- the models
def gpt2():
    return T.GPT2LMHeadModel(T.GPT2Config(vocab_size=V, n_positions=CTX, n_embd=D, n_layer=L, n_head=H,
                                          bos_token_id=V - 1, eos_token_id=V - 1, attn_implementation="eager"))


def llama():
    return T.LlamaForCausalLM(T.LlamaConfig(vocab_size=V, hidden_size=D, intermediate_size=FF, num_hidden_layers=L,
                                            num_attention_heads=H, num_key_value_heads=2, max_position_embeddings=CTX,
                                            rms_norm_eps=1e-6, bos_token_id=1, eos_token_id=2,
                                            attn_implementation="eager"))


def bert_config(**kw):
    return T.BertConfig(vocab_size=V, hidden_size=D, num_hidden_layers=L, num_attention_heads=H, intermediate_size=FF,
                        max_position_embeddings=CTX, attn_implementation="eager", **kw)


def t5(**kw):
    return T.T5Config(vocab_size=V, d_model=D, d_kv=8, d_ff=FF, num_layers=L, num_heads=H, decoder_start_token_id=0,
                      attn_implementation="eager", **kw)


def untie_lm_head(model, seed):
    g = torch.Generator().manual_seed(seed)
    model.lm_head.weight = torch.nn.Parameter(0.2 * torch.randn(model.lm_head.weight.shape, generator=g))


SPECS = {
    # name: (transformers class, make the model, which inputs)
    "gpt2": (T.GPT2LMHeadModel, gpt2, "causal"),
    "llama": (T.LlamaForCausalLM, llama, "causal"),
    "bert": (T.BertForPreTraining, lambda: T.BertForPreTraining(bert_config()), "bert"),
    "bert_mlm": (T.BertForMaskedLM, lambda: T.BertForMaskedLM(bert_config()), "bert"),
    "bert_model": (T.BertModel, lambda: T.BertModel(bert_config()), "bert"),
    "bert_cls": (T.BertForSequenceClassification,
                 lambda: T.BertForSequenceClassification(bert_config(num_labels=3)), "bert"),
    "t5": (T.T5ForConditionalGeneration,
           lambda: T.T5ForConditionalGeneration(t5(relative_attention_num_buckets=8,
                                                   relative_attention_max_distance=20)), "t5"),
    "t5_v1_1": (T.T5ForConditionalGeneration,
                lambda: T.T5ForConditionalGeneration(t5(feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                                                        relative_attention_num_buckets=16,
                                                        relative_attention_max_distance=32)), "t5"),
}


def inputs(kind):
    rng = np.random.default_rng(1)
    ids = rng.integers(3, V, (2, 12))
    mask = np.ones((2, 12), np.int64)
    mask[1, 8:] = 0                                      # the second row is padded at the end
    ids[1, 8:] = 0
    if kind == "causal":
        labels = np.where(mask == 1, ids, -100)
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}
    if kind == "bert":
        types = np.zeros_like(ids)
        types[:, 5:] = 1
        types[1, 8:] = 0
        labels = np.full_like(ids, -100)
        labels[0, [2, 7]] = ids[0, [2, 7]]
        labels[1, [1, 4]] = ids[1, [1, 4]]
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "labels": labels}
    labels = rng.integers(2, V, (2, 9))
    labels[1, 6:] = -100                                 # a shorter target
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def hf_outputs(name, model, feed):
    t = {k: torch.tensor(v) for k, v in feed.items()}
    out = {}
    with torch.no_grad():
        if name in ("bert", "bert_mlm", "bert_model", "bert_cls"):
            labels = t.pop("labels")
            if name == "bert":
                nsp = torch.tensor([0, 1])
                r = model(**t, labels=labels, next_sentence_label=nsp, output_hidden_states=True)
                out.update(logits=r.prediction_logits, nsp_logits=r.seq_relationship_logits, loss=r.loss,
                           last_hidden_state=r.hidden_states[-1], next_sentence_label=nsp)
                out["pooler_output"] = model.bert.pooler(r.hidden_states[-1])
            elif name == "bert_mlm":
                r = model(**t, labels=labels, output_hidden_states=True)
                out.update(logits=r.logits, loss=r.loss, last_hidden_state=r.hidden_states[-1])
            elif name == "bert_model":
                r = model(**t)
                out.update(last_hidden_state=r.last_hidden_state, pooler_output=r.pooler_output)
                labels = None
            else:
                cls_labels = torch.tensor([2, 0])
                r = model(**t, labels=cls_labels, output_hidden_states=True)
                out.update(logits=r.logits, loss=r.loss, last_hidden_state=r.hidden_states[-1],
                           class_labels=cls_labels)
                labels = None
            if labels is not None:
                out["labels"] = labels
        elif name.startswith("t5"):
            r = model(**t)
            out.update(logits=r.logits, loss=r.loss, encoder_last_hidden_state=r.encoder_last_hidden_state,
                       decoder_input_ids=model._shift_right(t["labels"]))
        else:
            r = model(**t, output_hidden_states=True)
            out.update(logits=r.logits, loss=r.loss)
    return {k: v.numpy() for k, v in out.items()}


# ---------------------------------------------------------------- our side
def ours_outputs(name, model, ref):
    """Our model's outputs on the fixture inputs, under the reference's names."""
    feed = {k: ref[k] for k in ("input_ids", "attention_mask", "token_type_ids", "labels", "next_sentence_label",
                                "class_labels") if k in ref}
    o = model(**feed)
    got = {"logits": o.logits, "loss": o.loss, "last_hidden_state": o.last_hidden_state}
    if name.startswith("bert"):
        got.update(pooler_output=o.pooler_output, nsp_logits=o.nsp_logits)
    if name.startswith("t5"):
        got["encoder_last_hidden_state"] = o.encoder_last_hidden_state
    return {k: v.numpy() for k, v in got.items() if v is not None}


OUTPUT_KEYS = ("logits", "loss", "last_hidden_state", "pooler_output", "nsp_logits", "encoder_last_hidden_state")


def max_errors(name, model, ref):
    got = ours_outputs(name, model, ref)
    return {k: float(np.abs(got[k] - ref[k]).max()) for k in OUTPUT_KEYS if k in ref}


def keyset(path):
    return {k: tuple(v.shape) for k, v in read_safetensors(Path(path) / "model.safetensors").items()}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    report = []
    for seed, (name, (cls, make, kind)) in enumerate(SPECS.items()):
        folder = OUT / name
        shutil.rmtree(folder, ignore_errors=True)
        model = make()
        randomise(model, seed)
        if name == "t5_v1_1":
            untie_lm_head(model, 100 + seed)
        model.save_pretrained(folder)
        for extra in folder.iterdir():                          # keep config.json + model.safetensors only
            if extra.name not in ("config.json", "model.safetensors"):
                extra.unlink()
            else:
                extra.chmod(0o644)
        if name == "t5_v1_1":                                   # the Hub's v1.1 config: untied, no scale flag
            cfg = json.loads((folder / "config.json").read_text())
            cfg.pop("scale_decoder_outputs", None)
            cfg["tie_word_embeddings"] = False
            (folder / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")

        hf = cls.from_pretrained(folder, attn_implementation="eager").eval()     # the reference reads the files
        feed = inputs(kind)
        ref = {**feed, **hf_outputs(name, hf, feed)}
        if name in ("bert_model", "bert_cls"):
            ref.pop("labels")                                   # (their targets are not per-token)
        np.savez_compressed(folder / "reference.npz", **ref)

        # ours: load_hf reproduces transformers
        ours = load_hf(folder)
        err = max_errors(name, ours, dict(np.load(folder / "reference.npz")))
        # save_hf -> transformers: loads cleanly, same logits, same key set as transformers' own folder
        with tempfile.TemporaryDirectory() as tmp:
            save_hf(ours, tmp)
            back, info = cls.from_pretrained(tmp, attn_implementation="eager", output_loading_info=True)
            back.eval()
            problems = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys",
                                                                     "mismatched_keys")}
            again = hf_outputs(name, back, feed)
            main_key = "logits" if "logits" in again else "last_hidden_state"
            rt = float(np.abs(again[main_key] - ref[main_key]).max())
            same_keys = keyset(tmp) == keyset(folder)
        report.append((name, cls.__name__, err, rt, problems, same_keys))

    buckets = {}
    from transformers.models.t5.modeling_t5 import T5Attention
    rp = torch.arange(-300, 301)
    for bidirectional in (True, False):
        for nb, md in ((32, 128), (8, 20), (16, 32), (64, 256)):
            buckets[f"{int(bidirectional)}_{nb}_{md}"] = T5Attention._relative_position_bucket(
                rp, bidirectional, nb, md).numpy()
    np.savez_compressed(OUT / "t5_buckets.npz", relative_position=rp.numpy(), **buckets)

    print(f"{'fixture':<11} {'transformers class':<31} {'max |ours - transformers| (float32)':<60} save_hf->HF")
    for name, cls_name, err, rt, problems, same_keys in report:
        errs = ", ".join(f"{k} {v:.1e}" for k, v in err.items())
        print(f"{name:<11} {cls_name:<31} {errs:<60} logits {rt:.1e}, same keys: {same_keys}, "
              f"load problems: {problems or 'none'}")
    size = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"wrote {OUT} ({size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
