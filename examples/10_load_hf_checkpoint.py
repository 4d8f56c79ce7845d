"""10 — Load Hugging Face checkpoints (GPT-2, Llama, BERT, T5) and check them against transformers.

``load_hf(folder)`` reads a local transformers folder (config.json + model.safetensors) into our GPT, BERT
or T5; ``save_hf(model, folder)`` writes one back that transformers' ``from_pretrained`` reads. Nothing is
downloaded: point it at a folder you have (e.g. one made by ``save_pretrained``, or a snapshot in
~/.cache/huggingface/hub/models--bert-base-uncased/snapshots/<hash>/).

Without an argument it uses the tiny random models in tests/fixtures/hf/, which come with the outputs
transformers computed for them (scripts/make_hf_fixtures.py), and shows that ours agree.

    python examples/10_load_hf_checkpoint.py                       # every fixture, compared with transformers
    python examples/10_load_hf_checkpoint.py path/to/bert-folder   # your own checkpoint: load, describe, run
    python -i examples/10_load_hf_checkpoint.py
    >>> model = load_hf(FIXTURES / "t5"); model.generate(ids, 5, temperature=0)
"""

import sys
import tempfile
from pathlib import Path

import numpy as np

from tinygrad_tf.nn.models import T5, load_hf, save_hf

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "hf"


def describe(model):
    c = model.config
    return (f"{type(model).__name__} ({type(c).__name__}: {c.n_layer} layers, d_model {c.d_model}, {c.n_head} heads, "
            f"vocab {c.vocab_size}) = {model.num_parameters():,} parameters")


def run(model, ref):
    """Our outputs on the fixture's inputs (the same keyword names as transformers)."""
    feed = {k: ref[k] for k in ("input_ids", "attention_mask", "token_type_ids", "labels", "next_sentence_label",
                                "class_labels") if k in ref}
    return model(**feed)


if len(sys.argv) > 1:                                     # a checkpoint of your own
    model = load_hf(sys.argv[1])
    print(describe(model))
    vocab = Path(sys.argv[1]) / "vocab.txt"
    if getattr(model.config, "mlm_head", False) and vocab.exists():   # a BERT with its WordPiece vocabulary
        from tinygrad_tf.text import WordPieceTokenizer
        from tinygrad_tf.train.mlm import fill_mask
        tok = WordPieceTokenizer.from_vocab_file(vocab)
        print(fill_mask(model, tok, "the capital of france is [MASK]."))
    ids = np.array([[min(i, model.config.vocab_size - 1) for i in (101, 2023, 2003, 1037, 3231, 102)]])
    kwargs = {"decoder_input_ids": np.zeros((1, 1), np.int64)} if isinstance(model, T5) else {}
    out = model(ids, **kwargs)
    print("logits" if out.logits is not None else "last_hidden_state",
          (out.logits if out.logits is not None else out.last_hidden_state).shape)
    sys.exit()

# --- every fixture: load, compare with transformers' own outputs, save back, reload
print("fixture      max |ours - transformers| (float32)   model")
worst = 0.0
for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
    ref = dict(np.load(folder / "reference.npz"))
    model = load_hf(folder)
    out = run(model, ref)
    key = "logits" if "logits" in ref else "last_hidden_state"
    err = float(np.abs(getattr(out, key).numpy() - ref[key]).max())
    worst = max(worst, err)
    print(f"{folder.name:<12} {key + ' ' + f'{err:.1e}':<38} {describe(model)}")
    with tempfile.TemporaryDirectory() as tmp:             # save_hf -> load_hf gives the same model back
        again = run(load_hf(save_hf(model, tmp)), ref)
        assert np.array_equal(getattr(again, key).numpy(), getattr(out, key).numpy())

print(f"all fixtures match transformers within 1e-4 (worst {worst:.1e}); save_hf -> load_hf round trips exactly"
      if worst < 1e-4 else f"MISMATCH: worst error {worst:.1e}")

# --- a closer look: BERT pre-training heads, and T5 generation
bert = load_hf(FIXTURES / "bert")
out = run(bert, dict(np.load(FIXTURES / "bert" / "reference.npz")))
print(f"\nBERT: masked-LM logits {out.logits.shape}, pooled [CLS] {out.pooler_output.shape}, "
      f"next-sentence logits {out.nsp_logits.shape}")
t5 = load_hf(FIXTURES / "t5")
ids = dict(np.load(FIXTURES / "t5" / "reference.npz"))["input_ids"]
print("T5 greedy decoding (start token first, as transformers):", t5.generate(ids[:1], 6, temperature=0).tolist())
