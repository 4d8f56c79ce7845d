"""07 — Train a character-level GPT on the Python Language Reference, with the public training API.

TrainConfig holds every number the run depends on; Trainer builds the tokenizer (one token per
character), the data windows, the model (the 4-layer "demo" size), AdamW and the warmup + cosine
schedule from it, and runs the loop: forward, loss, backward, clip, step (docs/lesson-09-training.md).
A callback prints the loss every few steps; at the end the model writes a sample.

    python examples/07_train_char_gpt.py                 # 300 steps: under a minute on a laptop CPU
    python examples/07_train_char_gpt.py --steps 2000 --out runs/char   # better text; saves a checkpoint
    python -i examples/07_train_char_gpt.py
    >>> sample("def ", 200)                               # write more
    >>> trainer.model, trainer.tokenizer, history[-1]
"""

import argparse
import math
import os
import time

# Small matrices: one BLAS thread is faster than several (threads cost more than they save at this size,
# and far more when the cores are shared). Set OPENBLAS_NUM_THREADS yourself to override.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import tinygrad_tf as tg  # noqa: E402
from tinygrad_tf.train import TrainConfig, Trainer  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--steps", type=int, default=300, help="optimizer steps (default 300, under a minute on a CPU)")
parser.add_argument("--batch-size", type=int, default=16)
parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
parser.add_argument("--out", default=None, help="save a checkpoint here (tinygrad-tf generate reads it)")
parser.add_argument("--seed", type=int, default=0)
args, _ = parser.parse_known_args()

# --- 1. the run: every number in one dataclass (saved in the checkpoint, so a resume uses the same)
config = TrainConfig(preset="demo", steps=args.steps, batch_size=args.batch_size, lr=2e-3, min_lr=2e-4,
                     warmup_steps=max(1, min(100, args.steps // 10)), weight_decay=0.1, grad_clip=1.0,
                     dropout=0.0, eval_interval=args.steps, eval_iters=8, seed=args.seed, device=args.device,
                     out_dir=args.out)
trainer = Trainer(config, show_progress=False)
print(trainer.describe())
vocab = trainer.tokenizer.vocab_size
print(f"a uniform guess over {vocab} characters has loss ln({vocab}) = {math.log(vocab):.2f}\n")

# --- 2. train; a callback sees every step's metrics (step, loss, lr, grad_norm, tokens_per_sec, ...)
every = max(1, args.steps // 10)


def report(rec):
    if rec["step"] % every == 0 or rec["step"] == 1:
        val = f"  val loss {rec['val_loss']:.3f}" if "val_loss" in rec else ""
        print(f"step {rec['step']:>4}/{args.steps}  loss {rec['loss']:.3f}{val}  lr {rec['lr']:.1e}  "
              f"|grad| {rec['grad_norm']:.2f}")


trainer.callbacks.append(report)
t0 = time.perf_counter()
history = trainer.run()
seconds = time.perf_counter() - t0


# --- 3. write: sample one character at a time (temperature 0.8, the 40 likeliest characters)
def sample(prompt="The ", n=200, temperature=0.8, top_k=40, seed=0):
    tg.manual_seed(seed)
    ids = tg.tensor([trainer.tokenizer.encode(prompt)], device=trainer.device)
    out = trainer.model.generate(ids, max_new_tokens=n, temperature=temperature, top_k=top_k)
    return trainer.tokenizer.decode(out[0].tolist())


print(f"\nsample after {trainer.step} steps:\n{sample()!r}\n")
final = history[-1]
print(f"trained {trainer.step} steps in {seconds:.0f}s: train loss {final['loss']:.3f}, "
      f"val loss {final['val_loss']:.3f} (a uniform guess: {math.log(vocab):.2f})")
if args.out:
    print(f"checkpoint saved to {args.out}; continue it with: tinygrad-tf train --resume {args.out}")
