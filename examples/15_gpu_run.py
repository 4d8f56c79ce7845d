"""15 — The same training on a GPU: device="cuda" (CuPy), with a CPU fallback.

Nothing in the model or the loop changes for the GPU: tensors, parameters, gradients and the optimizer's
moments simply live in CuPy arrays instead of NumPy ones (docs/lesson-10-gpu.md). Without CuPy or a GPU
this script says so in one line — with the install command — and runs on the CPU instead.

    pip install -e '.[cuda]'                   # in the checkout: CuPy for CUDA 12 (or pip install cupy-cudaXXx)
    python examples/15_gpu_run.py              # cuda when available, else cpu
    python examples/15_gpu_run.py --device cpu --steps 100

The first GPU run is slower to start: CuPy compiles (and then caches) each kernel the first time it is used.
"""

import argparse
import math
import os
import time

# On the CPU fallback: one BLAS thread is fastest for matrices this small (see examples/07).
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

import tinygrad_tf as tg  # noqa: E402
from tinygrad_tf.train import TrainConfig, Trainer  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"],
                    help="auto (default): cuda when CuPy sees a GPU, else cpu")
parser.add_argument("--steps", type=int, default=200)
parser.add_argument("--batch-size", type=int, default=16)
args, _ = parser.parse_known_args()

# --- 1. pick the device: tg.cuda_available() is True only when CuPy is installed *and* sees a GPU
if args.device == "cpu":
    device = "cpu"
elif tg.cuda_available():
    device = "cuda"
else:
    try:
        tg.backend.check_device("cuda")            # raises DeviceError saying what is missing
        why = "CuPy cannot use a GPU"
    except tg.DeviceError as err:
        why = str(err)
    if args.device == "cuda":
        raise SystemExit(f"--device cuda: {why}")
    print(f"no GPU run: {why} -- running on the CPU instead")
    device = "cpu"
print(f"device: {device}")

# --- 2. a tensor on the device: ops, gradients and results stay there until you copy them back
x = tg.randn(3, 4, device=device, requires_grad=True)
y = (x @ x.T).relu().sum()
y.backward()
print(f"x on {x.device}, x.grad on {x.grad.device}, y = {y.item():.4f} (item() copies one number back)")
print(f"x.numpy() is a NumPy array on the host: {type(x.numpy()).__module__}.{type(x.numpy()).__name__}")

# --- 3. the training run of examples/07 with device=...: the Trainer moves the model there
config = TrainConfig(preset="demo", steps=args.steps, batch_size=args.batch_size, lr=2e-3, min_lr=2e-4,
                     warmup_steps=max(1, min(100, args.steps // 10)), dropout=0.0, eval_interval=args.steps,
                     eval_iters=8, device=device)
trainer = Trainer(config, show_progress=False)
print(trainer.describe())
every = max(1, args.steps // 5)
trainer.callbacks.append(lambda r: print(f"step {r['step']:>4}/{args.steps}  loss {r['loss']:.3f}  "
                                         f"{r['tokens_per_sec']:,.0f} tokens/s")
                         if r["step"] % every == 0 else None)
t0 = time.perf_counter()
history = trainer.run()
seconds = time.perf_counter() - t0
param = next(iter(trainer.model.parameters()))
print(f"parameters on {param.device}; AdamW's moments live beside them")

# --- 4. on the GPU: the same weights, moved to the CPU, give the same logits (float32 rounding apart)
if device == "cuda":
    window = trainer.task.batch()[0][:2, :-1]          # a batch of windows: (B, T+1) token ids
    with tg.no_grad():
        on_gpu = trainer.model(tg.tensor(window, device="cuda")).logits.numpy()
        trainer.model.to("cpu")                     # in place; tied weights stay tied
        on_cpu = trainer.model(tg.tensor(window)).logits.numpy()
    print(f"cuda vs cpu logits, same weights: max abs diff {np.abs(on_gpu - on_cpu).max():.1e}")

steady = history[len(history) // 2:]               # skip the start (on a GPU: kernel compilation)
tok_s = sum(r["tokens_per_sec"] for r in steady) / len(steady)
vocab = trainer.tokenizer.vocab_size
print(f"done on {device}: {trainer.step} steps in {seconds:.1f}s, {tok_s:,.0f} tokens/s, "
      f"val loss {history[-1]['val_loss']:.3f} (a uniform guess: {math.log(vocab):.2f})")
