"""``tinygrad-tf demo``: train a small character-level GPT on the embedded corpus in a few minutes of CPU
time, then print what it writes (``demo --engine``: the bare engine learning XOR instead)."""

from __future__ import annotations

import math
import time

from rich.table import Table

from ..train import TrainConfig, Trainer
from .common import THREADS_HELP, UserError, apply_threads, check_fresh_out, command, console
from .train import run_training

DEMO_PROMPTS = ("The ", "def ", "class ")
CALIBRATION_STEPS = (5, 25)          # steps whose mean time sets the run length (inside the warmup)
# The demo's run: a 4-layer character-level GPT. Without --steps it measures its own speed during the
# warmup and picks the number of steps that fits --minutes (so a slow machine finishes on time with a
# somewhat higher loss, a fast one trains longer); warmup learning rates do not depend on the total, so
# the run is exactly the one that `--steps N` would give.
DEMO_CONFIG = dict(preset="demo", batch_size=8, steps=6000, lr=2e-3, min_lr=2e-4, warmup_steps=100,
                   weight_decay=0.1, grad_clip=1.0, eval_interval=250, eval_iters=16, dropout=0.0)


def cmd_demo(args) -> int:
    """Train a small character-level GPT on the Python Language Reference (shipped with Python) for a few
    minutes on the CPU, then print samples. --engine runs the bare-engine XOR demo instead."""
    if args.engine:
        return _xor_demo(args)
    apply_threads(args)

    overrides = {"seed": args.seed, "device": args.device, "out_dir": None if args.no_save else args.out}
    if args.steps is not None:
        overrides["steps"] = args.steps
        overrides["eval_interval"] = max(1, min(DEMO_CONFIG["eval_interval"], args.steps // 4 or 1))
        overrides["warmup_steps"] = min(DEMO_CONFIG["warmup_steps"], max(args.steps // 10, 1))
    if args.batch_size is not None:
        overrides["batch_size"] = args.batch_size
    if args.minutes <= 0:
        raise UserError(f"--minutes must be positive, got {args.minutes}")
    config = TrainConfig(**{**DEMO_CONFIG, **overrides})
    if config.out_dir is not None:
        check_fresh_out(config.out_dir, overwrite=True)
    console.print("[bold]tinygrad-tf demo[/]: a GPT learns to write like the Python Language Reference, "
                  "one character at a time.")
    trainer = Trainer(config, console=console, callbacks=[])
    console.print(trainer.describe(), soft_wrap=True)
    adaptive = args.steps is None
    console.print(f"AdamW lr {config.lr:g} (warmup {config.warmup_steps}, cosine to {config.min_lr:g}), "
                  f"batch {config.batch_size} x {trainer.context} characters, "
                  + (f"as many steps as fit in about {args.minutes:g} minutes (at most {config.steps})."
                     if adaptive else f"{config.steps} steps."), soft_wrap=True)
    console.print(f"[dim]before training:[/] {trainer.sample('The ')!r}", soft_wrap=True)
    t0 = time.perf_counter()

    def fit_to_time(rec):
        lo, hi = CALIBRATION_STEPS
        if rec["step"] == hi:
            per_step = sum(r["time"] for r in trainer.history[lo:hi]) / (hi - lo)
            per_eval = config.eval_iters * per_step / 2 + 0.5        # forward-only batches + a short sample
            budget = args.minutes * 60 - (time.perf_counter() - t0)
            steps = int(budget / (per_step + per_eval / config.eval_interval))
            steps = max(min(steps + hi, config.steps), config.warmup_steps + 100)
            trainer.set_total_steps(steps)
            console.print(f"[dim]{per_step * 1000:.0f} ms per step here: training for {steps} steps[/]")

    def show_sample(rec):
        if "val_loss" in rec and rec["step"] < trainer.config.steps:
            console.print(f"[dim]  sample:[/] {trainer.sample('The ')!r}", soft_wrap=True)

    if adaptive:
        trainer.callbacks.append(fit_to_time)
    trainer.callbacks.append(show_sample)
    history = run_training(trainer, args, live=False)
    elapsed = time.perf_counter() - t0
    if trainer.interrupted:
        return 130
    val = [r["val_loss"] for r in history if "val_loss" in r]
    console.print(f"\n[bold]done[/]: {trainer.step} steps in {elapsed / 60:.1f} min, validation loss "
                  f"{val[-1]:.3f} nats per character (a uniform guess over {trainer.tokenizer.vocab_size} "
                  f"characters: {math.log(trainer.tokenizer.vocab_size):.2f})", soft_wrap=True)
    console.print("[bold]samples[/] (temperature 0.8, top-k 40):")
    for prompt in DEMO_PROMPTS:
        text = trainer.sample(prompt, n=args.sample_chars)
        console.rule(f"prompt {prompt!r}")
        console.out(text, highlight=False)
    console.rule()
    if config.out_dir is not None:
        console.print(f"checkpoint saved to {config.out_dir}; try:  tinygrad-tf generate --checkpoint "
                      f"{config.out_dir} --prompt 'def '", soft_wrap=True)
    return 0


def _xor_demo(args) -> int:
    """Train a tiny MLP on XOR with the bare engine and show the gradients flowing."""
    import tinygrad_tf as tg

    steps = 500 if args.steps is None else args.steps
    tg.manual_seed(args.seed)
    x = tg.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    y = tg.tensor([[0.], [1.], [1.], [0.]])
    params = {
        "w1": (tg.randn(2, 8) * 1.0).requires_grad_(),
        "b1": tg.zeros(8, requires_grad=True),
        "w2": (tg.randn(8, 1) * 0.5).requires_grad_(),
        "b2": tg.zeros(1, requires_grad=True),
    }
    console.print("[bold]XOR with a 2-8-1 MLP[/]: h = tanh(x @ w1 + b1), p = sigmoid(h @ w2 + b2), "
                  "loss = mean squared error")
    lr = 1.0
    for step in range(steps + 1):
        h = (x @ params["w1"] + params["b1"]).tanh()
        p = (h @ params["w2"] + params["b2"]).sigmoid()
        loss = ((p - y) ** 2).mean()
        for t in params.values():
            t.grad = None
        loss.backward()
        if step % max(steps // 5, 1) == 0 or step == steps:
            table = Table(title=f"step {step}: loss {loss.item():.4f}", title_justify="left")
            table.add_column("parameter")
            table.add_column("shape")
            table.add_column("|grad|", justify="right")
            for name, t in params.items():
                norm = float((t.grad.data ** 2).sum() ** 0.5)
                table.add_row(name, str(t.shape), f"{norm:.4f}")
            console.print(table)
        with tg.no_grad():
            for t in params.values():
                t.data = t.data - lr * t.grad.data
    console.print("predictions:", [round(v, 3) for v in p.numpy().ravel().tolist()], "targets: [0, 1, 1, 0]")
    return 0


def add_parsers(sub) -> dict:
    d = command(sub, "demo", cmd_demo, "the main job: train a small GPT on the embedded corpus and show its writing")
    d.add_argument("--steps", type=int, help="training steps (default: as many as fit in --minutes; 500 with --engine)")
    d.add_argument("--minutes", type=float, default=3.5, help="training time to aim for when --steps is not given "
                   "(default 3.5)")
    d.add_argument("--batch-size", type=int, help=f"default {DEMO_CONFIG['batch_size']}")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    d.add_argument("--out", default="runs/demo", help="checkpoint folder (default runs/demo, replaced each run)")
    d.add_argument("--no-save", action="store_true", help="do not write a checkpoint")
    d.add_argument("--sample-chars", type=int, default=300, help="length of each final sample (default 300)")
    d.add_argument("--threads", type=int, default=1, help=THREADS_HELP)
    d.add_argument("--engine", action="store_true", help="the XOR demo: a 2-8-1 MLP on the bare engine")
    return {"demo": d}
