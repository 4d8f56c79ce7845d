"""08 — BERT learns to fill in blanks: masked-language-model training on the Python Language Reference.

BERT reads a whole window at once (no causal mask) and is trained to name hidden tokens. Here a WordPiece
tokenizer and a small BERT are trained from scratch on the text that ships with Python; afterwards
``fill_mask`` shows what the model thinks belongs in a [MASK].

    python examples/08_bert_fill_mask.py                # ~1200 steps: a few minutes on a laptop CPU
    python examples/08_bert_fill_mask.py --steps 3000   # better guesses
    python -i examples/08_bert_fill_mask.py
    >>> fill_mask(model, tok, "a [MASK] is raised when an error occurs.")
    >>> model(ids, output_attentions=True).attentions      # who looks at whom
"""

import argparse
import os

# Small matrices: one BLAS thread is faster than several (threads cost more than they save at this size,
# and far more when the cores are shared). Set OPENBLAS_NUM_THREADS yourself to override.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

from tinygrad_tf.text import WordPieceTokenizer, default_corpus  # noqa: E402
from tinygrad_tf.train import train_mlm  # noqa: E402
from tinygrad_tf.train.mlm import fill_mask, mask_tokens  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--steps", type=int, default=1200)
parser.add_argument("--data", default=None, help="a UTF-8 text file (default: the embedded corpus)")
parser.add_argument("--out", default=None, help="save the model and tokenizer in this folder")
args, _ = parser.parse_known_args()

# --- 1. what a training example looks like: 15% of the tokens chosen; 80% -> [MASK], 10% random, 10% kept
tok = WordPieceTokenizer.train(default_corpus() if args.data is None else open(args.data).read(), 1000)
ids = np.array(tok.encode("The return statement leaves the current function call with the expression list."))
inputs, labels = mask_tokens(ids, tok.mask_token_id, tok.vocab_size, sorted(tok.special_ids), 0.3,
                             np.random.default_rng(3))
print("tokens:  ", " ".join(tok.id_to_token(int(i)) for i in ids))
print("input:   ", " ".join(tok.id_to_token(int(i)) for i in inputs))
print("targets: ", " ".join(tok.id_to_token(int(t)) if t != -100 else "." for t in labels), "\n")

# --- 2. train: [CLS] + 30 tokens + [SEP] windows, the loss only at the chosen positions
result = train_mlm(args.data, tokenizer=tok, seq_len=32, d_model=128, n_layer=2, n_head=4, dropout=0.0,
                   steps=args.steps, batch_size=64, lr=5e-3, warmup_steps=150, eval_interval=200, out_dir=args.out)
model = result.model
print(f"\n{args.steps} steps in {result.seconds:.0f}s: validation loss {result.val_loss:.2f}, "
      f"masked-token accuracy {result.val_accuracy:.1%}\n")

# --- 3. fill in the blanks (the reference writes keywords in quotes, 'the "else" clause', so a '"' is
#        often a sensible guess for a keyword's place)
sentences = ["a [MASK] is raised when an error occurs.",
             "a class definition defines a class [MASK].",
             "the value of the [MASK] is returned.",
             "if the condition is false, the [MASK] clause is executed.",
             "the [MASK] statement is used to leave a function."]
for s in sentences:
    guesses = fill_mask(model, tok, s, top_k=5)[0]
    print(f"{s:<58} " + ", ".join(f"{t} {p:.2f}" for t, p in guesses))
best = fill_mask(model, tok, sentences[0], top_k=1)[0][0][0]
print(f"\nfill-mask: the top guess for {sentences[0]!r} is {best!r}")
