"""09 — T5, an encoder-decoder, learns to reverse digit strings ("31415" -> "51413") in about a minute.

The encoder reads the digits once; the decoder writes the answer one token at a time, looking back at its
own output (causal self-attention) and at the encoder's (cross-attention). Nothing tells the model where
a digit is except T5's relative position bias: a learned score per head for each (bucketed) distance
between two tokens. Reversal needs exactly that — "copy the token as far from the end as I am from the
start" — so it is a good first task.

    python examples/09_t5_seq2seq.py                  # reverse; also: --task sort | copy | add1
    python -i examples/09_t5_seq2seq.py
    >>> translate("9876501234")
    >>> model.generate(ids, 12, temperature=0, eos_token_id=EOS)
"""

import argparse
import os
import time

# Small matrices: one BLAS thread is faster than several (threads cost more than they save at this size,
# and far more when the cores are shared). Set OPENBLAS_NUM_THREADS yourself to override.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

from tinygrad_tf import Tensor  # noqa: E402
from tinygrad_tf.train import train_seq2seq  # noqa: E402
from tinygrad_tf.train.seq2seq import EOS, TASKS, batch_examples, decode_digits, exact_match  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--task", default="reverse", choices=sorted(TASKS))
parser.add_argument("--steps", type=int, default=1200)
parser.add_argument("--seed", type=int, default=0)
args, _ = parser.parse_known_args()

# --- 1. train: fresh random strings every step, 256 held-out strings it never sees
result = train_seq2seq(args.task, steps=args.steps, seed=args.seed, eval_interval=200)
model = result.model
print(f"\n{result.steps} steps in {result.seconds:.0f}s: held-out exact match {result.accuracy:.1%}")

# --- 2. look at some answers (greedy decoding, stopping at EOS)
def translate(digits):
    ids, mask, _ = batch_examples([digits], args.task)
    out = model.generate(Tensor(ids), len(digits) + 3, temperature=0, eos_token_id=EOS, attention_mask=mask)
    return decode_digits(out.numpy()[0, 1:])          # drop the decoder start token

for s in result.held_out[:6] + ["0123456789"]:
    got = translate(s)
    print(f"  {s:>10} -> {got:<10} {'ok' if got == TASKS[args.task](s) else 'expected ' + TASKS[args.task](s)}")

# --- 3. the KV cache: the same greedy answers, each step feeding only the newest token
ids, mask, _ = batch_examples(result.held_out, args.task)
for use_cache in (True, False):
    t0 = time.perf_counter()
    out = model.generate(Tensor(ids), 12, temperature=0, eos_token_id=EOS, attention_mask=mask, use_cache=use_cache)
    print(f"generate 256 answers, use_cache={use_cache}: {time.perf_counter() - t0:.2f}s")
    if use_cache:
        cached = out.numpy()
assert np.array_equal(cached, out.numpy()), "cached and uncached greedy decoding differ"
print(f"cached == uncached: True; exact match again: {exact_match(model, result.held_out, args.task):.1%}")
