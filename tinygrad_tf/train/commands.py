"""The training subcommands of the ``tinygrad-tf`` CLI: ``demo``, ``train``, ``generate``, ``presets``, ``params``
(and ``compare``, from commands_compare.py).

    tinygrad-tf demo                                   a character-level GPT on the embedded corpus, then samples
    tinygrad-tf train --steps 2000 --out runs/mine     (--resume runs/mine to continue it bit for bit)
    tinygrad-tf train --model bert --steps 600         masked-LM BERT + a fill-mask readout   (commands_seq.py)
    tinygrad-tf train --model t5 --task reverse        T5 on a toy task + held-out exact match (commands_seq.py)
    tinygrad-tf generate --checkpoint runs/mine --prompt "def "      GPT continues, BERT fills [MASK], T5 answers
    tinygrad-tf presets | params gpt2 | compare gpt2 llama-7b runs/mine     (each with --json)

``cli.py`` wires them with ``add_parsers(subparsers)``. Each command is ``cmd_NAME(args) -> exit code``; a
mistake in the input raises ``UserError`` (or another error type ``cli.main`` knows), printed as one line
on stderr with exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
import time

from rich.console import Console
from rich.table import Table

__all__ = ["add_parsers", "UserError", "limit_blas_threads", "apply_threads", "THREADS_HELP", "FAMILIES",
           "cmd_demo", "cmd_train", "cmd_generate", "cmd_presets", "cmd_params"]

console = Console(highlight=False)
FAMILIES = ("gpt", "bert", "t5")


class UserError(ValueError):
    """A problem with the user's input: printed as one line, exit code 2."""


# ---------------------------------------------------------------- BLAS threads
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
THREADS_HELP = ("BLAS threads (default 1: fastest for small models, above all on a busy machine; 0 = the library's "
                "default; OMP_NUM_THREADS / OPENBLAS_NUM_THREADS, when set, win)")



def _plain_run(trainer, args, console, live=True):
    return trainer.run()


# How a training run is shown: plain progress lines here. The live dashboard and the loss-curve picture
# belong to viz, a layer above train, so cli.py plugs them in by replacing this (train never imports viz).
run_training = _plain_run

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


def apply_threads(args) -> None:
    n = getattr(args, "threads", 0)
    if n and n > 0 and not any(os.environ.get(k) for k in THREAD_ENV):
        limit_blas_threads(n)


# ---------------------------------------------------------------- shared helpers
def check_fresh_out(path, overwrite=False) -> None:
    """A new run must not silently replace a checkpoint (or anything else) already at ``path``."""
    from pathlib import Path

    from . import checkpoint as ckpt
    p = Path(path)
    ckpt.check_target(p)
    if ckpt.is_checkpoint(p) and not overwrite:
        raise UserError(f"{p} already holds a checkpoint; continue it with --resume {p}, pass --overwrite to "
                        "replace it, or choose another --out")


def parse_set_args(pairs) -> dict:
    """``--set position=rope --set bias=false`` -> {"position": "rope", "bias": False} (JSON values)."""
    out = {}
    for pair in pairs or ():
        if "=" not in pair:
            raise UserError(f"--set expects KEY=VALUE (a config field, e.g. --set position=rope), got {pair!r}")
        k, v = pair.split("=", 1)
        try:
            out[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            out[k.strip()] = v
    return out


def model_family(args) -> str:
    """``--model gpt|bert|t5`` (default gpt); ``--model position=rope`` (the old spelling) gets a pointer."""
    value = getattr(args, "model", None)
    if value is None:
        return "gpt"
    if "=" in value:
        raise UserError("use --set KEY=VALUE for config fields; --model picks the family (gpt, bert, t5)")
    family = value.strip().lower()
    if family not in FAMILIES:
        raise UserError(f"unknown --model {value!r}; --model picks the family: gpt, bert or t5")
    return family


def check_positive(args, *names) -> None:
    for name in names:
        v = getattr(args, name, None)
        if v is not None and v <= 0:
            raise UserError(f"--{name.replace('_', '-')} must be positive, got {v}")


# ---------------------------------------------------------------- demo
# The demo's run: a 4-layer character-level GPT. Without --steps it measures its own speed during the
# warmup and picks the number of steps that fits --minutes (so a slow machine finishes on time with a
# somewhat higher loss, a fast one trains longer); warmup learning rates do not depend on the total, so
# the run is exactly the one that `--steps N` would give.
DEMO_CONFIG = dict(preset="demo", batch_size=8, steps=3000, lr=2e-3, min_lr=2e-4, warmup_steps=100,
                   weight_decay=0.1, grad_clip=1.0, eval_interval=250, eval_iters=16, dropout=0.0)
def cmd_demo(args) -> int:
    """The main job: a small character-level GPT trained on the embedded corpus, then samples (commands_demo.py)."""
    from .commands_demo import run_demo
    return run_demo(args)

# ---------------------------------------------------------------- train
# flag -> TrainConfig field, for the flags that map one to one
TRAIN_FLAGS = {
    "preset": "preset", "n_layer": "n_layer", "d_model": "d_model", "n_head": "n_head", "d_ff": "d_ff",
    "context": "context_length", "dropout": "dropout", "data": "data", "tokenizer": "tokenizer",
    "bpe_vocab_size": "bpe_vocab_size", "val_fraction": "val_fraction", "batch_size": "batch_size",
    "steps": "steps", "lr": "lr", "min_lr": "min_lr", "beta1": "beta1", "beta2": "beta2", "warmup": "warmup_steps",
    "weight_decay": "weight_decay", "grad_clip": "grad_clip", "eval_interval": "eval_interval",
    "eval_iters": "eval_iters", "checkpoint_interval": "checkpoint_interval", "out": "out_dir", "seed": "seed",
    "device": "device", "precision": "precision",
}


def train_overrides(args) -> dict:
    given = {field: getattr(args, flag) for flag, field in TRAIN_FLAGS.items() if getattr(args, flag, None) is not None}
    if given.get("data"):
        given["data"] = os.path.abspath(given["data"])        # so that --resume works from any folder
    fields = parse_set_args(getattr(args, "set", None))
    if fields:
        given["model"] = fields
    return given


def cmd_train(args) -> int:
    """Train a GPT (see TrainConfig for every option), a BERT (--model bert) or a T5 (--model t5)."""
    family = model_family(args)
    if family != "gpt":
        from .commands_seq import train_family
        return train_family(family, args)
    from .commands_seq import reject_flags
    reject_flags(args, "gpt")
    from . import TrainConfig, Trainer

    apply_threads(args)
    overrides = train_overrides(args)
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
        check_fresh_out(config.out_dir, overwrite=args.overwrite)
        trainer = Trainer(config, console=console, show_progress=not args.quiet)
    if not args.quiet:
        console.print(trainer.describe(), soft_wrap=True)
    t0 = time.perf_counter()
    history = run_training(trainer, args, console)
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
    """GPT: continue --prompt. BERT: fill each [MASK] in --prompt. T5: answer --prompt (seq2seq)."""
    from . import load_checkpoint

    if args.max_new_tokens is not None and args.max_new_tokens < 0:
        raise UserError(f"--max-new-tokens must be >= 0, got {args.max_new_tokens}")
    if args.temperature is not None and args.temperature < 0:
        raise UserError(f"--temperature must be >= 0 (0 = greedy), got {args.temperature}")
    if args.top_k is not None and args.top_k <= 0:
        raise UserError(f"--top-k must be a positive integer, got {args.top_k}")
    if args.top_p is not None and not 0 < args.top_p <= 1:
        raise UserError(f"--top-p must be in (0, 1], got {args.top_p}")
    if args.prompt == "":
        raise UserError("--prompt is empty; give at least one character to continue from")
    c = load_checkpoint(args.checkpoint, device=args.device, load_training_state=False, verify=not args.no_verify)
    kind = getattr(c.config, "model_type", "gpt")
    if kind == "bert":
        from .commands_seq import generate_bert
        return generate_bert(c, args)
    if kind == "t5":
        from .commands_seq import generate_t5
        return generate_t5(c, args)
    return _generate_gpt(c, args)


def _generate_gpt(c, args) -> int:
    from .. import backend
    from ..tensor import Tensor

    prompt = "\n" if args.prompt is None else args.prompt
    if c.tokenizer is None:
        raise UserError(f"{c.path} has no tokenizer.json, so text cannot be encoded for it")
    known = getattr(c.tokenizer, "char_to_id", None)
    if known is not None:                  # a character tokenizer knows only the characters of its training text
        unknown = sorted({ch for ch in prompt if ch not in known})
        if unknown:
            shown = ", ".join(repr(ch) for ch in unknown[:8]) + (" ..." if len(unknown) > 8 else "")
            raise UserError(f"the prompt has {len(unknown)} character(s) this checkpoint's character tokenizer "
                            f"does not know: {shown} (it knows only the {c.tokenizer.vocab_size} characters of "
                            "its training text)")
    ids = c.tokenizer.encode(prompt)
    ctx = c.config.context_length
    if len(ids) > ctx:
        print(f"note: the prompt is {len(ids)} tokens, longer than the model's context of {ctx}; the model sees "
              f"only its last {ctx} tokens (a sliding window), though the whole prompt is printed", file=sys.stderr)
    backend.manual_seed(args.seed)
    temperature = 0.8 if args.temperature is None else args.temperature
    n_new = 200 if args.max_new_tokens is None else args.max_new_tokens
    out = c.model.generate(Tensor([ids[-ctx:]], device=c.model.device), max_new_tokens=n_new,
                           temperature=temperature, top_k=args.top_k, top_p=args.top_p)
    seen = ids[-ctx:]
    new = out.numpy()[0, len(seen):].tolist()
    head, full = c.tokenizer.decode(seen), c.tokenizer.decode(seen + new)   # decode together: a BPE token
    text = full[len(head):] if full.startswith(head) else c.tokenizer.decode(new)   # may end mid-character
    sys.stdout.write(prompt + text + "\n")
    sys.stdout.flush()
    return 0


# ---------------------------------------------------------------- presets / params
def char_vocab() -> int:
    from ..text import CharTokenizer, DataError, default_corpus
    try:
        return CharTokenizer.train(default_corpus()).vocab_size
    except DataError:
        return 100


def all_presets() -> list:
    """[(name, family, config class)] for every published-architecture preset (GPT, BERT, T5)."""
    from ..nn.models import BertConfig, GPTConfig, T5Config
    return [(n, cls.model_type, cls) for cls in (GPTConfig, BertConfig, T5Config) for n in cls.presets()]


def cmd_presets(args) -> int:
    """List model presets: shape, parameters, fp32 / fp16 weights and forward GFLOPs per token, all counted
    from the config (nothing is allocated); ``--json`` prints the same as a list of objects."""
    from rich import box
    from rich.measure import Measurement

    from .commands_compare import fmt_gflops, preset_stats

    vocab = char_vocab()
    rows = preset_stats(vocab)
    if getattr(args, "json", False):
        print(json.dumps(rows, indent=1))
        return 0
    cells = []
    for r in rows:
        layers = f"{r['layers']}+{r['decoder_layers']}" if r["family"] == "t5" else str(r["layers"])
        cells.append({"name": r["name"], "family": r["kind"], "layers": layers, "d_model": str(r["d_model"]),
                      "heads": str(r["heads"]), "d_ff": str(r["d_ff"]), "context": str(r["context"]),
                      "vocab": f"{r['vocab']:,}", "parameters": f"{r['parameters']:,}",
                      "fp32 MiB": f"{r['fp32_bytes'] / 2**20:,.1f}", "fp16 MiB": f"{r['fp16_bytes'] / 2**20:,.1f}",
                      "GFLOPs/token": fmt_gflops(r["flops_per_token"]) + ("†" if r["family"] == "t5" else "")})
    columns = list(cells[0])
    # never crop a number: in a narrow terminal, leave out the least needed columns (and say so) instead
    optional = ["fp16 MiB", "GFLOPs/token", "family", "context", "d_ff", "fp32 MiB"]
    width = console.width if console.is_terminal else 200
    while True:
        table = Table(title="model presets (tinygrad-tf train --preset NAME; params NAME for a breakdown)",
                      box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
        for col in columns:
            table.add_column(col, justify="left" if col in ("name", "family") else "right", no_wrap=True)
        for row in cells:
            table.add_row(*(row[c] for c in columns))
        needed = Measurement.get(console, console.options.update(width=10_000), table).maximum
        if needed <= width or not optional:
            break
        columns.remove(optional.pop(0))
    Console(width=max(width, needed), highlight=False, file=console.file).print(table)
    hidden = [c for c in cells[0] if c not in columns]
    if hidden:
        console.print(f"(not shown, for want of width: {', '.join(hidden)} -- widen the terminal, or --json)")
    console.print(f"Small GPT sizes take their vocabulary from the tokenizer (here: the {vocab} characters of "
                  "the default corpus); published architectures keep their own. MiB = 2^20 bytes of weights. "
                  "GFLOPs/token: one forward pass at the full context (2 x matmul weights + attention); "
                  "† T5: per encoder + decoder token pair.", soft_wrap=True)
    return 0


def cmd_params(args) -> int:
    """Count the parameters of a preset or of a model given by flags (without allocating it), by component
    (embeddings, attention, FFN, norms, heads), with fp32 / fp16 sizes and forward FLOPs per token."""
    from ..nn.models import BertConfig, GPTConfig, T5Config, count_parameters
    from ..nn.models import model_stats
    from . import TRAIN_PRESETS, TrainConfig

    name = getattr(args, "preset_name", None)
    if name is not None:
        if args.preset is not None and args.preset != name:
            raise UserError(f"two presets given: {name!r} and --preset {args.preset!r}; give one")
        args.preset = name
    family = model_family(args)
    if args.model is None and args.preset in BertConfig.PRESETS:
        family = "bert"
    elif args.model is None and args.preset in T5Config.PRESETS:
        family = "t5"
    if family == "gpt" and args.preset is not None and args.preset not in TRAIN_PRESETS \
            and args.preset not in GPTConfig.PRESETS:
        valid = ", ".join([*TRAIN_PRESETS, *GPTConfig.PRESETS, *BertConfig.PRESETS, *T5Config.PRESETS])
        raise UserError(f"unknown preset {args.preset!r}; valid: {valid}")
    if family != "gpt":
        from .commands_seq import params_config
        cfg = params_config(family, args)
    else:
        overrides = train_overrides(args)
        preset = overrides.get("preset")
        if args.vocab_size is not None:
            vocab = args.vocab_size
        elif preset is not None and preset not in TRAIN_PRESETS and preset in GPTConfig.PRESETS:
            vocab = GPTConfig.PRESETS[preset]["vocab_size"]
        elif overrides.get("tokenizer") == "bpe":
            vocab = overrides.get("bpe_vocab_size", 512)
        else:
            vocab = char_vocab()
        cfg = TrainConfig.from_dict(overrides).model_config(vocab)
    n = count_parameters(cfg)
    stats = model_stats(cfg)
    if getattr(args, "json", False):
        print(json.dumps({"name": args.preset, **stats, "config": cfg.to_dict()}, indent=1))
        return 0
    shape = (f"{cfg.n_layer} layers, d_model {cfg.d_model}, {cfg.n_head} heads, d_ff {cfg.d_ff}, "
             f"context {cfg.context_length}, vocab {cfg.vocab_size}")
    if family == "gpt":
        detail = (f"GPT with {shape}, position {cfg.position}, norm {cfg.norm}, activation {cfg.activation}, "
                  f"tied embeddings {cfg.tie_embeddings}")
    elif family == "bert":
        detail = (f"BERT with {shape}, activation {cfg.activation}, pooler {cfg.pooler}, "
                  f"masked-LM head {cfg.mlm_head}")
    else:
        detail = (f"T5 with {cfg.n_layer}+{cfg.n_decoder_layer} layers, d_model {cfg.d_model}, {cfg.n_head} heads "
                  f"of {cfg.d_kv}, d_ff {cfg.d_ff}, vocab {cfg.vocab_size}, feed-forward {cfg.feed_forward_proj}, "
                  f"tied embeddings {cfg.tie_embeddings}")
    console.print(f"{n:,} parameters ({n / 1e6:.2f}M): {detail}", soft_wrap=True)
    from .commands_compare import breakdown_table, fmt_gflops
    console.print(breakdown_table(stats))
    mb = n * 4 / 2**20
    console.print(f"float32 weights: {mb:,.1f} MiB; float16: {mb / 2:,.1f} MiB; training with AdamW needs about "
                  f"{4 * mb:,.1f} MiB (fp32) for weights, gradients and two moments, plus activations",
                  soft_wrap=True)
    console.print(f"forward FLOPs per {stats['flops_unit']}: {stats['flops_per_token']:,} "
                  f"({fmt_gflops(stats['flops_per_token'])} GFLOPs) at context {cfg.context_length:,} "
                  "(2 x matmul weights + attention scores and values)", soft_wrap=True)
    return 0


# ---------------------------------------------------------------- wiring
def add_model_flags(p, train=True) -> None:
    g = p.add_argument_group("model (default: the 'demo' size for GPT; GPT's vocabulary comes from the tokenizer)")
    g.add_argument("--model", metavar="FAMILY",
                   help="the model family: gpt (default), bert (masked LM) or t5 (encoder-decoder)")
    g.add_argument("--preset", help="GPT: a training size (tiny, demo, small) or a GPT preset (gpt2, llama-7b, ...)"
                   if train else "a training size (tiny, demo, small) or a preset of any family (gpt2, llama-7b, "
                                 "bert-base, t5-small, ...: see `presets`)")
    g.add_argument("--n-layer", type=int)
    g.add_argument("--d-model", type=int)
    g.add_argument("--n-head", type=int)
    g.add_argument("--d-ff", type=int, help="feed-forward width (default 4 * d_model)")
    g.add_argument("--context", type=int, help="GPT, BERT: context length in tokens" if train else
                   "context length in tokens")
    g.add_argument("--dropout", type=float)
    g.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="any other field of the family's config, e.g. --set position=rope --set norm=rmsnorm "
                        "(GPTConfig), --set activation=relu (BertConfig), --set feed_forward_proj=gated-gelu "
                        "(T5Config); repeatable")
    g.add_argument("--tokenizer", choices=["char", "bpe"], help="GPT: character-level (default) or byte-level BPE")
    g.add_argument("--bpe-vocab-size", type=int, help="GPT: BPE vocabulary size (default 512)")


def add_parsers(sub) -> dict:
    """Register demo, train, generate, presets, params and compare on the ``tinygrad-tf`` subparsers."""
    from .commands_seq import add_family_flags

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

    t = sub.add_parser("train", help="train a GPT, BERT (--model bert) or T5 (--model t5)",
                       description="Train a model; the checkpoint folder (--out) holds weights, config and "
                                   "tokenizer. --model gpt (default): a language model on a text file or the "
                                   "embedded corpus; flags override --config, which overrides the defaults; the "
                                   "checkpoint also holds the training state, Ctrl-C saves it and --resume "
                                   "continues bit for bit. --model bert: masked-LM training with a WordPiece "
                                   "tokenizer, then a fill-mask readout. --model t5: a toy seq2seq task "
                                   "(--task), then held-out exact match. Each flag says which families it "
                                   "applies to where it is not all.")
    t.add_argument("--config", metavar="JSON", help="GPT: a JSON file of TrainConfig fields")
    t.add_argument("--resume", metavar="DIR",
                   help="GPT: continue the run saved in DIR (writes back to DIR unless --out)")
    t.add_argument("--out", metavar="DIR", help="checkpoint folder (default runs/FAMILY-DATE-TIME)")
    t.add_argument("--overwrite", action="store_true", help="replace a checkpoint already in --out")
    t.add_argument("--no-verify", action="store_true",
                   help="GPT --resume: skip the SHA-256 check of the weights files (after editing them on purpose)")
    t.add_argument("--data", metavar="FILE", help="GPT, BERT: a UTF-8 text file (default: the embedded corpus)")
    add_model_flags(t)
    o = t.add_argument_group("optimization")
    o.add_argument("--batch-size", type=int, help="default 16 (GPT), 32 (BERT), 64 (T5)")
    o.add_argument("--steps", type=int, help="total optimizer steps (default 1000 GPT, 600 BERT, 1200 T5)")
    o.add_argument("--lr", type=float, help="peak learning rate (default 1e-3; 3e-3 for T5)")
    o.add_argument("--min-lr", type=float, help="GPT: final learning rate of the cosine (default lr / 10)")
    o.add_argument("--warmup", type=int, help="linear warmup steps (default 100; BERT 60; at most a tenth of a "
                                              "short BERT/T5 run)")
    o.add_argument("--beta1", type=float, help="GPT: AdamW beta1 (default 0.9)")
    o.add_argument("--beta2", type=float, help="GPT: AdamW beta2 (default 0.99)")
    o.add_argument("--weight-decay", type=float, help="AdamW decoupled weight decay on matrices (default 0.1 GPT, "
                                                      "0.01 BERT/T5)")
    o.add_argument("--grad-clip", type=float, help="max global gradient norm, 0 = off (default 1.0)")
    o.add_argument("--precision", choices=["fp32", "fp16"],
                   help="GPT: fp16 = float16 products with float32 weights and loss scaling (for GPUs; "
                        "slow on a CPU). Default fp32")
    r = t.add_argument_group("evaluation and run")
    r.add_argument("--eval-interval", type=int, help="evaluate every N steps (default 100; 200 for T5)")
    r.add_argument("--eval-iters", type=int, help="GPT, BERT: validation batches per evaluation (default 10; 4 BERT)")
    r.add_argument("--checkpoint-interval", type=int, help="GPT: also save every N steps (default: only at the end)")
    r.add_argument("--val-fraction", type=float, help="GPT, BERT: share of the text kept for validation "
                                                      "(default 0.1)")
    r.add_argument("--seed", type=int, help="default 0")
    r.add_argument("--device", choices=["cpu", "cuda"], help="default cpu")
    r.add_argument("--threads", type=int, default=1, help=THREADS_HELP)
    r.add_argument("--quiet", action="store_true", help="no progress output")
    r.add_argument("--grad-table", action="store_true",
                   help="GPT: per-layer gradient norms and update sizes in the live dashboard")
    add_family_flags(t)
    t.set_defaults(fn=cmd_train)

    g = sub.add_parser("generate", help="GPT: continue a prompt; BERT: fill in [MASK]; T5: answer an input",
                       description="Run a trained checkpoint on --prompt; what that means follows the model in it. "
                                   "GPT continues the prompt (one longer than the model's context is cropped to "
                                   "its last context-length tokens, a sliding window, with a note on stderr). "
                                   "BERT lists its top guesses for each [MASK] in the prompt. T5 writes the output "
                                   "sequence for the prompt as input (for a `train --model t5` checkpoint: a digit "
                                   "string, e.g. --prompt 31415).")
    g.add_argument("--checkpoint", required=True, metavar="DIR", help="a checkpoint folder (from train or demo)")
    g.add_argument("--prompt", default=None, help="GPT: text to continue (default: a newline); BERT: text with "
                                                  "[MASK] in it; T5: the input")
    g.add_argument("--max-new-tokens", type=int, default=None,
                   help="tokens to write (default 200; for a digit-task T5: the input's length + 2)")
    g.add_argument("--temperature", type=float, default=None,
                   help="0 = greedy (default 0.8 for GPT, greedy for T5; BERT ignores it)")
    g.add_argument("--top-k", type=int, default=None, help="sample from the k likeliest tokens; BERT: guesses "
                                                           "to list (default 5)")
    g.add_argument("--top-p", type=float, default=None)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    g.add_argument("--no-verify", action="store_true",
                   help="skip the SHA-256 check of the weights files (after editing them on purpose)")
    g.set_defaults(fn=cmd_generate)

    ps = sub.add_parser("presets", help="list model presets and their parameter counts",
                        description="List the model presets with parameter counts computed from the config "
                                    "(nothing is allocated): shape, parameters, fp32 / fp16 MiB of weights and "
                                    "forward GFLOPs per token.")
    ps.add_argument("--json", action="store_true", help="print the presets as a JSON list instead of a table")
    ps.set_defaults(fn=cmd_presets)

    pc = sub.add_parser("params", help="count the parameters of a preset or of a model given by flags",
                        description="Count parameters from a config alone, by component (embeddings, attention, "
                                    "FFN, norms, heads), with fp32 / fp16 sizes and forward FLOPs per token, e.g. "
                                    "`params gpt2`, `params --preset gpt2`, "
                                    "`params --preset bert-base` or `params --n-layer 6 --d-model 192 --n-head 6 "
                                    "--context 128`; --model bert|t5 counts the sizes `train --model` builds.")
    add_model_flags(pc, train=False)
    pc.add_argument("preset_name", nargs="?", metavar="PRESET",
                    help="a preset (gpt2, llama-7b, bert-base, t5-small, tiny, ...): the same as --preset PRESET")
    pc.add_argument("--vocab-size", type=int, help="vocabulary size (default: the tokenizer's or the preset's)")
    pc.add_argument("--json", action="store_true", help="print the counts as JSON instead of tables")
    pc.set_defaults(fn=cmd_params)

    from .commands_compare import add_parsers as add_compare
    return {"demo": d, "train": t, "generate": g, "presets": ps, "params": pc, **add_compare(sub)}
