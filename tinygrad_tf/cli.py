"""The ``tinygrad-tf`` command (also ``python -m tinygrad_tf``).

    tinygrad-tf demo                       train a small character-level GPT on the embedded corpus, show samples
    tinygrad-tf train --steps 2000 --out runs/mine     (--resume runs/mine to continue it bit for bit)
    tinygrad-tf generate --checkpoint runs/mine --prompt "def "
    tinygrad-tf presets | params --preset gpt2 | gradcheck | demo --engine

Each subcommand is a small function ``cmd_NAME(args)``; ``build_parser`` wires
them to argparse. Errors a user can cause (bad files, bad flags, a checkpoint
that does not fit, no GPU) are printed as one line on stderr with exit code 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from rich.console import Console
from rich.table import Table

console = Console(highlight=False)


class UserError(Exception):
    """A problem with the user's input: printed as one line, exit code 2."""


def _user_errors() -> tuple:
    """Exception types that mean "the input is wrong", not "the program is wrong"."""
    from .backend import DeviceError
    from .text import DataError, TokenizerError
    types = [UserError, DeviceError, DataError, TokenizerError]
    try:
        from .train.integrity import IntegrityError
        types.append(IntegrityError)
    except ImportError:
        pass
    try:
        from .nn.models import CheckpointError, ConfigError
        types += [CheckpointError, ConfigError]
    except ImportError:   # the nn package is broken: only the engine commands can run
        pass
    return tuple(types)


# ---------------------------------------------------------------- BLAS threads
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
THREADS_HELP = ("BLAS threads (default 1: fastest for small models, above all on a busy machine; 0 = the library's "
                "default; OMP_NUM_THREADS / OPENBLAS_NUM_THREADS, when set, win)")


def limit_blas_threads(n: int) -> bool:
    """Ask the BLAS library under NumPy to use ``n`` threads; True if it could be done.

    A small model's matrices are small, and a multi-threaded BLAS that shares
    its cores with anything else (a browser, another job) spins and waits: we
    measured a 4-layer GPT step at 1.1 s with two threads on a busy 2-core
    machine and 0.07 s with one. Uses threadpoolctl when installed, else finds
    OpenBLAS among the loaded libraries (Linux); does nothing if neither works.
    """
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=n, user_api="blas")
        return True
    except ImportError:
        pass
    import ctypes
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    except OSError:
        return False
    done = False
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("openblas_set_num_threads", "openblas_set_num_threads64_", "scipy_openblas_set_num_threads64_",
                     "scipy_openblas_set_num_threads"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn(ctypes.c_int(n))
                done = True
                break
    return done


def _apply_threads(args) -> None:
    n = getattr(args, "threads", 0)
    if n and n > 0 and not any(os.environ.get(k) for k in THREAD_ENV):
        limit_blas_threads(n)


# ---------------------------------------------------------------- gradcheck
def cmd_gradcheck(args) -> int:
    """Gradcheck every op in float64 and print a table."""
    from .opcheck import check_all

    rows = check_all(device=args.device, seed=args.seed)
    table = Table(title=f"gradcheck: analytic vs central-difference gradients (float64, {args.device})")
    for col in ("op", "input shapes", "max abs error", "result"):
        table.add_column(col)
    for name, shapes, err, ok, msg in rows:
        table.add_row(name, shapes, f"{err:.2e}", "[green]pass[/]" if ok else f"[red]FAIL[/] {msg}")
    console.print(table)
    failed = sum(not r[3] for r in rows)
    console.print(f"{len(rows) - failed} passed, {failed} failed")
    return 1 if failed else 0


# ---------------------------------------------------------------- demo
# The demo's run: a 4-layer character-level GPT. Without --steps it measures its own speed during the
# warmup and picks the number of steps that fits --minutes (so a slow machine finishes on time with a
# somewhat higher loss, a fast one trains longer); warmup learning rates do not depend on the total, so
# the run is exactly the one that `--steps N` would give.
DEMO_CONFIG = dict(preset="demo", batch_size=8, steps=3000, lr=2e-3, min_lr=2e-4, warmup_steps=100,
                   weight_decay=0.1, grad_clip=1.0, eval_interval=250, eval_iters=16, dropout=0.0)
DEMO_PROMPTS = ("The ", "def ", "class ")
CALIBRATION_STEPS = (5, 25)          # steps whose mean time sets the run length (inside the warmup)


def cmd_demo(args) -> int:
    """Train a small character-level GPT on the embedded corpus and print what it writes."""
    import math

    if args.engine:
        return _xor_demo(args)
    from .train import TrainConfig, Trainer

    _apply_threads(args)

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
        _check_fresh_out(config.out_dir, overwrite=True)
    console.print("[bold]tinygrad-tf demo[/]: a GPT learns to write like the Python Language Reference, "
                  "one character at a time.")
    trainer = Trainer(config, console=console, callbacks=[])
    console.print(trainer.describe(), soft_wrap=True)
    adaptive = args.steps is None
    console.print(f"AdamW lr {config.lr:g} (warmup {config.warmup_steps}, cosine to {config.min_lr:g}), "
                  f"batch {config.batch_size} x {trainer.context} characters, "
                  + (f"as many steps as fit in about {args.minutes:g} minutes (at most {config.steps})."
                     if adaptive else f"{config.steps} steps."), soft_wrap=True)
    console.print(f"[dim]before training:[/] {_sample_text(trainer, 'The ', 80, args.seed)!r}", soft_wrap=True)
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
            console.print(f"[dim]  sample:[/] {_sample_text(trainer, 'The ', 80, args.seed)!r}", soft_wrap=True)

    if adaptive:
        trainer.callbacks.append(fit_to_time)
    trainer.callbacks.append(show_sample)
    history = trainer.run()
    elapsed = time.perf_counter() - t0
    if trainer.interrupted:
        return 130
    val = [r["val_loss"] for r in history if "val_loss" in r]
    console.print(f"\n[bold]done[/]: {trainer.step} steps in {elapsed / 60:.1f} min, validation loss "
                  f"{val[-1]:.3f} nats per character (a uniform guess over {trainer.tokenizer.vocab_size} "
                  f"characters: {math.log(trainer.tokenizer.vocab_size):.2f})", soft_wrap=True)
    console.print("[bold]samples[/] (temperature 0.8, top-k 40):")
    for prompt in DEMO_PROMPTS:
        text = _sample_text(trainer, prompt, args.sample_chars, args.seed)
        console.rule(f"prompt {prompt!r}")
        console.out(text, highlight=False)
    console.rule()
    if config.out_dir is not None:
        console.print(f"checkpoint saved to {config.out_dir}; try:  tinygrad-tf generate --checkpoint "
                      f"{config.out_dir} --prompt 'def '", soft_wrap=True)
    return 0


def _sample_text(trainer, prompt, n, seed, temperature=0.8, top_k=40):
    """Continue ``prompt`` by ``n`` tokens with the trainer's model (does not touch the training RNG state)."""
    from . import backend
    from .tensor import Tensor
    saved = backend.get_rng_state()
    try:
        backend.manual_seed(seed)
        ids = trainer.tokenizer.encode(prompt)
        out = trainer.model.generate(Tensor([ids], device=trainer.device), max_new_tokens=n,
                                     temperature=temperature, top_k=top_k)
        return trainer.tokenizer.decode(out.numpy()[0].tolist())
    finally:
        backend.set_rng_state(saved)


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


# ---------------------------------------------------------------- train
# flag -> TrainConfig field, for the flags that map one to one
TRAIN_FLAGS = {
    "preset": "preset", "n_layer": "n_layer", "d_model": "d_model", "n_head": "n_head", "d_ff": "d_ff",
    "context": "context_length", "dropout": "dropout", "data": "data", "tokenizer": "tokenizer",
    "bpe_vocab_size": "bpe_vocab_size", "val_fraction": "val_fraction", "batch_size": "batch_size",
    "steps": "steps", "lr": "lr", "min_lr": "min_lr", "beta1": "beta1", "beta2": "beta2", "warmup": "warmup_steps",
    "weight_decay": "weight_decay", "grad_clip": "grad_clip", "eval_interval": "eval_interval",
    "eval_iters": "eval_iters", "checkpoint_interval": "checkpoint_interval", "out": "out_dir", "seed": "seed",
    "device": "device",
}


def _parse_model_args(pairs) -> dict:
    """``--model position=rope --model bias=false`` -> {"position": "rope", "bias": False} (JSON values)."""
    out = {}
    for pair in pairs or ():
        if "=" not in pair:
            raise UserError(f"--model expects KEY=VALUE (a GPTConfig field), got {pair!r}")
        k, v = pair.split("=", 1)
        try:
            out[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            out[k.strip()] = v
    return out


def _train_overrides(args) -> dict:
    given = {field: getattr(args, flag) for flag, field in TRAIN_FLAGS.items() if getattr(args, flag, None) is not None}
    if given.get("data"):
        given["data"] = os.path.abspath(given["data"])        # so that --resume works from any folder
    model = _parse_model_args(getattr(args, "model", None))
    if model:
        given["model"] = model
    return given


def _check_fresh_out(path, overwrite=False) -> None:
    """A new run must not silently replace a checkpoint (or anything else) already at ``path``."""
    from pathlib import Path

    from .train import checkpoint as ckpt
    p = Path(path)
    ckpt.check_target(p)
    if ckpt.is_checkpoint(p) and not overwrite:
        raise UserError(f"{p} already holds a checkpoint; continue it with --resume {p}, pass --overwrite to "
                        "replace it, or choose another --out")


def cmd_train(args) -> int:
    """Train a GPT (see TrainConfig for every option)."""
    from .train import TrainConfig, Trainer

    _apply_threads(args)
    overrides = _train_overrides(args)
    if args.resume:
        if args.config:
            raise UserError("--config starts a new run; with --resume the checkpoint's own config is used "
                            "(flags like --steps may still change it)")
        trainer = Trainer.from_checkpoint(args.resume, overrides, verify=not args.no_verify, console=console,
                                          show_progress=not args.quiet)
        if not args.quiet:
            console.print(f"resuming {args.resume} at step {trainer.step}/{trainer.config.steps}", soft_wrap=True)
    else:
        base = TrainConfig.from_json(args.config).to_dict() if args.config else {}
        config = TrainConfig.from_dict({**base, **overrides})
        if config.out_dir is None:
            config.out_dir = time.strftime("runs/gpt-%Y%m%d-%H%M%S")
        _check_fresh_out(config.out_dir, overwrite=args.overwrite)
        trainer = Trainer(config, console=console, show_progress=not args.quiet)
    if not args.quiet:
        console.print(trainer.describe(), soft_wrap=True)
    t0 = time.perf_counter()
    history = trainer.run()
    if trainer.interrupted:
        return 130
    if not args.quiet:
        val = [r["val_loss"] for r in history if "val_loss" in r]
        console.print(f"done: step {trainer.step}, val loss {val[-1]:.4f}, {time.perf_counter() - t0:.0f} s; "
                      f"checkpoint in {trainer.config.out_dir}" if val else f"done: step {trainer.step}",
                      soft_wrap=True)
    return 0


# ---------------------------------------------------------------- generate
def cmd_generate(args) -> int:
    """Sample text from a checkpoint."""
    from . import backend
    from .tensor import Tensor
    from .train import load_checkpoint

    if args.max_new_tokens < 0:
        raise UserError(f"--max-new-tokens must be >= 0, got {args.max_new_tokens}")
    if args.temperature < 0:
        raise UserError(f"--temperature must be >= 0 (0 = greedy), got {args.temperature}")
    if args.top_k is not None and args.top_k <= 0:
        raise UserError(f"--top-k must be a positive integer, got {args.top_k}")
    if args.top_p is not None and not 0 < args.top_p <= 1:
        raise UserError(f"--top-p must be in (0, 1], got {args.top_p}")
    c = load_checkpoint(args.checkpoint, device=args.device, load_training_state=False, verify=not args.no_verify)
    if c.tokenizer is None:
        raise UserError(f"{c.path} has no tokenizer.json, so text cannot be encoded for it")
    if args.prompt == "":
        raise UserError("--prompt is empty; give at least one character to continue from")
    known = getattr(c.tokenizer, "char_to_id", None)
    if known is not None:                  # a character tokenizer knows only the characters of its training text
        unknown = sorted({ch for ch in args.prompt if ch not in known})
        if unknown:
            shown = ", ".join(repr(ch) for ch in unknown[:8]) + (" ..." if len(unknown) > 8 else "")
            raise UserError(f"the prompt has {len(unknown)} character(s) this checkpoint's character tokenizer "
                            f"does not know: {shown} (it knows only the {c.tokenizer.vocab_size} characters of "
                            "its training text)")
    ids = c.tokenizer.encode(args.prompt)
    ctx = c.config.context_length
    if len(ids) > ctx:
        print(f"note: the prompt is {len(ids)} tokens, longer than the model's context of {ctx}; the model sees "
              f"only its last {ctx} tokens (a sliding window), though the whole prompt is printed", file=sys.stderr)
    backend.manual_seed(args.seed)
    out = c.model.generate(Tensor([ids[-ctx:]], device=c.model.device), max_new_tokens=args.max_new_tokens,
                           temperature=args.temperature, top_k=args.top_k, top_p=args.top_p)
    seen = ids[-ctx:]
    new = out.numpy()[0, len(seen):].tolist()
    head, full = c.tokenizer.decode(seen), c.tokenizer.decode(seen + new)   # decode together: a BPE token
    text = full[len(head):] if full.startswith(head) else c.tokenizer.decode(new)   # may end mid-character
    sys.stdout.write(args.prompt + text + "\n")
    sys.stdout.flush()
    return 0


# ---------------------------------------------------------------- presets / params
def _char_vocab() -> int:
    from .text import CharTokenizer, DataError, default_corpus
    try:
        return CharTokenizer.train(default_corpus()).vocab_size
    except DataError:
        return 100


def cmd_presets(args) -> int:
    """List model presets with their sizes (parameters counted from the config; nothing is allocated)."""
    from .nn.models import GPTConfig, count_parameters
    from .train import TRAIN_PRESETS

    from rich import box
    table = Table(title="model presets (tinygrad-tf train --preset NAME)", box=box.SIMPLE_HEAD, padding=(0, 1),
                  pad_edge=False)
    for col, j in (("name", "left"), ("family", "left"), ("layers", "right"), ("d_model", "right"),
                   ("heads", "right"), ("d_ff", "right"), ("context", "right"), ("vocab", "right"),
                   ("parameters", "right")):
        table.add_column(col, justify=j, no_wrap=True, overflow="fold")
    vocab = _char_vocab()
    for name, fields in TRAIN_PRESETS.items():
        cfg = GPTConfig(**fields, vocab_size=vocab)
        table.add_row(name, "small GPT", str(cfg.n_layer), str(cfg.d_model), str(cfg.n_head), str(cfg.d_ff),
                      str(cfg.context_length), f"{vocab}", f"{count_parameters(cfg):,}")
    rows = [(n, "GPT", GPTConfig.preset(n)) for n in GPTConfig.presets()]
    try:
        from .nn import models
        for cls_name, kind in (("BertConfig", "BERT"), ("T5Config", "T5")):
            cls = getattr(models, cls_name, None)
            if cls is not None:
                rows += [(n, kind, cls.preset(n)) for n in cls.presets()]
    except ImportError:
        pass
    for name, kind, cfg in rows:
        if kind == "GPT":
            kind = "Llama" if cfg.position == "rope" else "GPT-2"
        table.add_row(name, kind,
                      str(cfg.n_layer), str(cfg.d_model), str(cfg.n_head), str(cfg.d_ff), str(cfg.context_length),
                      f"{cfg.vocab_size:,}", f"{count_parameters(cfg):,}")
    out = console if console.width >= 100 or console.is_terminal else Console(width=100, highlight=False)
    out.print(table)
    console.print(f"Small GPT sizes take their vocabulary from the tokenizer (here: the {vocab} characters of "
                  "the default corpus); published architectures keep their own.", soft_wrap=True)
    return 0


def cmd_params(args) -> int:
    """Count the parameters of a preset or of a model given by flags (without allocating it)."""
    from .nn.models import GPTConfig, count_parameters
    from .train import TRAIN_PRESETS, TrainConfig

    overrides = _train_overrides(args)
    preset = overrides.get("preset")
    if args.vocab_size is not None:
        vocab = args.vocab_size
    elif preset is not None and preset not in TRAIN_PRESETS and preset in GPTConfig.PRESETS:
        vocab = GPTConfig.PRESETS[preset]["vocab_size"]
    elif overrides.get("tokenizer") == "bpe":
        vocab = overrides.get("bpe_vocab_size", 512)
    else:
        vocab = _char_vocab()
    cfg = TrainConfig.from_dict(overrides).model_config(vocab)
    n = count_parameters(cfg)
    console.print(f"{n:,} parameters ({n / 1e6:.2f}M): GPT with {cfg.n_layer} layers, d_model {cfg.d_model}, "
                  f"{cfg.n_head} heads, d_ff {cfg.d_ff}, context {cfg.context_length}, vocab {cfg.vocab_size}, "
                  f"position {cfg.position}, norm {cfg.norm}, activation {cfg.activation}, "
                  f"tied embeddings {cfg.tie_embeddings}", soft_wrap=True)
    mb = n * 4 / 2**20
    console.print(f"float32 weights: {mb:,.1f} MiB; training with AdamW needs about {4 * mb:,.1f} MiB for "
                  "weights, gradients and two moments, plus activations", soft_wrap=True)
    return 0


# ---------------------------------------------------------------- wiring
def _add_model_flags(p) -> None:
    g = p.add_argument_group("model (default: the 'demo' size; vocabulary from the tokenizer)")
    g.add_argument("--preset", help="a training size (tiny, demo, small) or a GPT preset (gpt2, llama-7b, ...)")
    g.add_argument("--n-layer", type=int)
    g.add_argument("--d-model", type=int)
    g.add_argument("--n-head", type=int)
    g.add_argument("--d-ff", type=int, help="feed-forward width (default 4 * d_model)")
    g.add_argument("--context", type=int, help="context length in tokens")
    g.add_argument("--dropout", type=float)
    g.add_argument("--model", action="append", metavar="KEY=VALUE",
                   help="any other GPTConfig field, e.g. --model position=rope --model norm=rmsnorm (repeatable)")
    g.add_argument("--tokenizer", choices=["char", "bpe"], help="character-level (default) or byte-level BPE")
    g.add_argument("--bpe-vocab-size", type=int, help="BPE vocabulary size (default 512)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tinygrad-tf", description="Deep learning from scratch, to read and to see.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser("demo", help="the main job: train a small GPT on the embedded corpus and show its writing",
                       description="Train a small character-level GPT on the Python Language Reference (shipped "
                                   "with Python) for a few minutes on the CPU, then print samples. "
                                   "--engine runs the bare-engine XOR demo instead.")
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
    d.set_defaults(fn=cmd_demo)

    t = sub.add_parser("train", help="train a GPT on a text file (or the embedded corpus)",
                       description="Train a GPT language model. Flags override --config, which overrides the "
                                   "defaults. The checkpoint folder (--out) holds weights, config, tokenizer and "
                                   "training state; Ctrl-C saves it; --resume continues bit for bit.")
    t.add_argument("--config", metavar="JSON", help="a JSON file of TrainConfig fields")
    t.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR (writes back to DIR unless --out)")
    t.add_argument("--out", metavar="DIR", help="checkpoint folder (default runs/gpt-DATE-TIME)")
    t.add_argument("--overwrite", action="store_true", help="replace a checkpoint already in --out")
    t.add_argument("--no-verify", action="store_true",
                   help="--resume: skip the SHA-256 check of the weights files (after editing them on purpose)")
    t.add_argument("--data", metavar="FILE", help="a UTF-8 text file (default: the embedded corpus)")
    _add_model_flags(t)
    o = t.add_argument_group("optimization")
    o.add_argument("--batch-size", type=int, help="default 16")
    o.add_argument("--steps", type=int, help="total optimizer steps (default 1000)")
    o.add_argument("--lr", type=float, help="peak learning rate (default 1e-3)")
    o.add_argument("--min-lr", type=float, help="final learning rate of the cosine (default lr / 10)")
    o.add_argument("--warmup", type=int, help="linear warmup steps (default 100)")
    o.add_argument("--beta1", type=float, help="AdamW beta1 (default 0.9)")
    o.add_argument("--beta2", type=float, help="AdamW beta2 (default 0.99)")
    o.add_argument("--weight-decay", type=float, help="AdamW decoupled weight decay on matrices (default 0.1)")
    o.add_argument("--grad-clip", type=float, help="max global gradient norm, 0 = off (default 1.0)")
    r = t.add_argument_group("evaluation and run")
    r.add_argument("--eval-interval", type=int, help="evaluate every N steps (default 100)")
    r.add_argument("--eval-iters", type=int, help="validation batches per evaluation (default 10)")
    r.add_argument("--checkpoint-interval", type=int, help="also save every N steps (default: only at the end)")
    r.add_argument("--val-fraction", type=float, help="share of the text kept for validation (default 0.1)")
    r.add_argument("--seed", type=int, help="default 0")
    r.add_argument("--device", choices=["cpu", "cuda"], help="default cpu")
    r.add_argument("--threads", type=int, default=1, help=THREADS_HELP)
    r.add_argument("--quiet", action="store_true", help="no progress output")
    t.set_defaults(fn=cmd_train)

    g = sub.add_parser("generate", help="sample text from a checkpoint",
                       description="Continue a prompt with a trained model. A prompt longer than the model's "
                                   "context is cropped to its last context-length tokens (a sliding window), "
                                   "with a note on stderr.")
    g.add_argument("--checkpoint", required=True, metavar="DIR", help="a checkpoint folder (from train or demo)")
    g.add_argument("--prompt", default="\n", help="text to continue (default: a newline)")
    g.add_argument("--max-new-tokens", type=int, default=200)
    g.add_argument("--temperature", type=float, default=0.8, help="0 = greedy (default 0.8)")
    g.add_argument("--top-k", type=int, default=None)
    g.add_argument("--top-p", type=float, default=None)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    g.add_argument("--no-verify", action="store_true",
                   help="skip the SHA-256 check of the weights files (after editing them on purpose)")
    g.set_defaults(fn=cmd_generate)

    ps = sub.add_parser("presets", help="list model presets and their parameter counts",
                        description="List the model presets with parameter counts computed from the config "
                                    "(nothing is allocated).")
    ps.set_defaults(fn=cmd_presets)

    pc = sub.add_parser("params", help="count the parameters of a preset or of a model given by flags",
                        description="Count parameters from a config alone, e.g. `params --preset gpt2` or "
                                    "`params --n-layer 6 --d-model 192 --n-head 6 --context 128`.")
    _add_model_flags(pc)
    pc.add_argument("--vocab-size", type=int, help="vocabulary size (default: the tokenizer's or the preset's)")
    pc.set_defaults(fn=cmd_params)

    gc = sub.add_parser("gradcheck", help="gradcheck every op (float64 central differences) and print a table")
    gc.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    gc.add_argument("--seed", type=int, default=0)
    gc.set_defaults(fn=cmd_gradcheck)

    # the commands the other sub-packages define: attention, summary, graph (viz); exercise;
    # lab, runs, show (lab). Each module registers its own parsers.
    import importlib
    for module in ("tinygrad_tf.viz.commands", "tinygrad_tf.exercises.commands", "tinygrad_tf.lab.commands"):
        try:
            add_parsers = importlib.import_module(module).add_parsers
        except ImportError as e:     # an optional piece that cannot load here: the rest of the CLI still works
            print(f"warning: {module} is unavailable ({e}); its commands are missing", file=sys.stderr)
            continue
        add_parsers(sub)
    return p


def _error(msg) -> None:
    """One line on stderr (plain text: messages can hold brackets that rich would read as markup)."""
    print("error: " + " ".join(str(msg).split()), file=sys.stderr)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "fn", None):
        parser.print_help()
        return 0
    errors = _user_errors()
    try:
        return args.fn(args) or 0
    except errors as e:
        _error(e)
        return 2
    except OSError as e:          # disk full, permission denied, ... on a path the user gave
        _error(f"{e.strerror or e}: {e.filename}" if getattr(e, "filename", None) else e)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
