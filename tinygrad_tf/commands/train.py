"""``tinygrad-tf train``: one command for every family, through the one Trainer.

    tinygrad-tf train --steps 2000 --out runs/mine                 a GPT on the embedded corpus (or --data)
    tinygrad-tf train --resume runs/mine --steps 4000              continue it, bit for bit (any family)
    tinygrad-tf train --model bert --steps 600 --out runs/bert     masked-LM BERT, then fill-mask on held-out text
    tinygrad-tf train --model bert --task classify --data x.tsv    BERT sequence classification (LABEL<tab>TEXT)
    tinygrad-tf train --model t5 --task reverse --out runs/t5      T5 on a digit task, then held-out exact match
    mpirun -n 4 tinygrad-tf train --out runs/dp                    4 processes, the global batch 4 x --batch-size

Flags map one to one onto TrainConfig fields (flags override ``--config``, which overrides the family's
defaults); TrainConfig checks them, once. The live dashboard is passed to the Trainer as a callback, and its
loss curve is saved beside the checkpoint as loss_curve.svg (with matplotlib, the [plots] extra; without it a
note says how to get it, and the run is saved all the same). Under mpirun (or torchrun) every process runs this
command; rank 0 alone checks --out, prints, draws the dashboard and writes (train/parallel.py).
"""

from __future__ import annotations

import os
import shlex
import sys
import time

from rich.table import Table

from ..distributed import launch_info
from ..fileio import read_json
from ..nn.models import ConfigError
from ..train import FAMILIES, TrainConfig, Trainer
from ..train.mlm import fill_mask, held_out_sentence
from ..train.seq2seq import TASKS as DIGIT_TASKS
from ..train.seq2seq import answer
from ..viz.dashboard import dashboard_callbacks, save_loss_curve
from ..viz.figures import PlotsUnavailable
from .common import (THREADS_HELP, UserError, apply_threads, check_fresh_out, command, console, load_pretrained,
                     parse_set_args)

__all__ = ["add_parsers", "cmd_train", "model_family", "train_overrides", "run_training"]

# flag (argparse dest) -> TrainConfig field, where the names differ; every other flag has its field's name
RENAMED = {"model": "family", "context": "context_length", "warmup": "warmup_steps", "out": "out_dir"}
FIELDS = {f.name for f in TrainConfig.__dataclass_fields__.values()} - {"model"}


def model_family(args) -> str | None:
    """``--model gpt|bert|t5``; ``--model position=rope`` (the old spelling) gets a pointer to --set."""
    value = getattr(args, "model", None)
    if value is None:
        return None
    if "=" in value:
        raise UserError("use --set KEY=VALUE for config fields; --model picks the family (gpt, bert, t5)")
    family = value.strip().lower()
    if family not in FAMILIES:
        raise UserError(f"unknown --model {value!r}; --model picks the family: gpt, bert or t5")
    return family


def train_overrides(args) -> dict:
    """The TrainConfig fields the flags set (only those given)."""
    given = {}
    for dest, value in vars(args).items():
        name = RENAMED.get(dest, dest)
        if value is not None and name in FIELDS and dest not in ("fn",):
            given[name] = value
    if "family" in given:
        given["family"] = model_family(args)
    if given.get("data"):
        given["data"] = os.path.abspath(given["data"])        # so that --resume works from any folder
    fields = parse_set_args(getattr(args, "set", None), raw=True)     # TrainConfig parses them by field type
    if fields:
        given["model"] = fields
    return given


def run_training(trainer, args, live=True) -> list:
    """Train with the live dashboard (a callback of the Trainer), then save its loss curve beside the checkpoint."""
    if live:
        dash = dashboard_callbacks(trainer, grad_table=getattr(args, "grad_table", False),
                                   title=trainer.task.title)
        with dash.live(console, quiet=getattr(args, "quiet", False)):
            history = trainer.run()
    else:
        history = trainer.run()
    out = trainer.config.out_dir
    if history and out and os.path.isdir(out) and trainer.parallel.is_main:
        try:
            save_loss_curve(history, os.path.join(out, "loss_curve.svg"))
        except PlotsUnavailable as e:
            print(f"note: no loss_curve.svg: {e}", file=sys.stderr)
    return history


def cmd_train(args) -> int:
    """Train a model with the one Trainer: a GPT language model on a text file or the embedded corpus (default);
    --model bert: masked-LM (or --task classify) with a WordPiece tokenizer; --model t5: a generated digit task
    (--task). The checkpoint folder (--out) holds weights, config, tokenizer and the training state: Ctrl-C
    saves it, --resume continues bit for bit. Flags override --config, which overrides the family's defaults."""
    apply_threads(args)
    overrides = train_overrides(args)
    main = launch_info().rank == 0          # under mpirun: rank 0 alone checks --out, prints and writes
    if not main:
        args.quiet = True
    if args.resume:
        if args.config:
            raise UserError("--config starts a new run; with --resume the checkpoint's own config is used "
                            "(flags like --steps may still change it)")
        if main and args.out and os.path.abspath(args.out) != os.path.abspath(args.resume):
            check_fresh_out(args.out, overwrite=args.overwrite)       # never replace another run by accident
        trainer = Trainer.from_checkpoint(args.resume, overrides, verify=not args.no_verify, console=console,
                                          show_progress=not args.quiet)
        if not args.quiet:
            console.print(f"resuming {args.resume} at step {trainer.step}/{trainer.config.steps}", soft_wrap=True)
    else:
        # the file's options as written, then the flags over them, then the family's defaults for the rest
        base = read_json(args.config, "training config (--config: a JSON object of TrainConfig fields)",
                         ConfigError) if args.config else {}
        pretrained = _init_from(args, overrides) if args.init_from else None
        config = TrainConfig.from_dict({**base, **overrides})
        if config.out_dir is None:
            config.out_dir = time.strftime(f"runs/{config.family}-%Y%m%d-%H%M%S")
        if main:
            check_fresh_out(config.out_dir, overwrite=args.overwrite)
        trainer = Trainer(config, model=pretrained and pretrained.model, tokenizer=pretrained and pretrained.tokenizer,
                          console=console, show_progress=not args.quiet)
    if not args.quiet:
        console.print(trainer.describe(), soft_wrap=True)
    t0 = time.perf_counter()
    history = run_training(trainer, args, live=main)
    if trainer.interrupted:
        return 130
    if not args.quiet:
        _report(trainer, history, time.perf_counter() - t0)
    return 0


def _init_from(args, overrides):
    """``--init-from NAME_OR_DIR``: a pretrained Hugging Face model and its tokenizer to fine-tune (GPT: causal LM
    on --data, BERT: masked LM, T5: a digit task written as text); its family, shape and vocabulary are its own."""
    shape = [f for f in ("preset", "n_layer", "d_model", "n_head", "d_ff", "context", "dropout", "set", "tokenizer",
                         "vocab_size") if getattr(args, f, None) is not None]
    if shape:
        raise UserError(f"--init-from fine-tunes the pretrained model as it is: drop --{shape[0].replace('_', '-')} "
                        "(the model, its shape and its tokenizer come from the checkpoint)")
    c = load_pretrained(args.init_from)
    family = c.config.model_type
    if overrides.get("family") not in (None, family):
        raise UserError(f"--init-from {args.init_from} is a {family} model, not a {overrides['family']} one")
    if c.tokenizer is None:
        raise UserError(f"--init-from {args.init_from} has no tokenizer.json, so its training text cannot be encoded")
    overrides["family"] = family
    c.model.train()
    return c


# ---------------------------------------------------------------- what a finished run shows
def _report(trainer, history, seconds) -> None:
    cfg, where = trainer.config, trainer.config.out_dir
    last = next((r for r in reversed(history) if any(k in r for k in trainer.task.labels)), {})
    numbers = ", ".join(f"{label} {last[k]:.1%}" if "accuracy" in k else f"{label} {last[k]:.4f}"
                        for k, label in trainer.task.labels.items() if k in last)
    console.print(f"done: step {trainer.step}, {numbers}, {seconds:.0f} s; checkpoint in {where}", soft_wrap=True)
    prompt = None
    if cfg.task == "mlm":
        prompt = _fill_mask_readout(trainer)
    elif cfg.family == "t5":
        console.print(f"({len(trainer.task.held_out)} held-out strings, never seen in training)", highlight=False)
        _digit_examples(trainer, trainer.task.held_out[:6])
        prompt = trainer.task.held_out[0]
    elif cfg.task == "classify":
        console.print("held-out texts:", highlight=False)
        for text in trainer.task.val[0][:3]:
            console.print("  " + trainer.sample(text), markup=False, highlight=False, soft_wrap=True)
    if prompt is not None:
        console.print(f"try:  tinygrad-tf generate --checkpoint {where} --prompt {shlex.quote(prompt)}",
                      soft_wrap=True, markup=False)


def _fill_mask_readout(trainer) -> str:
    """Fill-mask on a held-out sentence: the model's top guesses, the hidden word marked. Returns the prompt."""
    from ..text import load_corpus
    model, tok, cfg = trainer.model, trainer.tokenizer, trainer.config
    example = held_out_sentence(load_corpus(cfg.data), tok, model.config.context_length, cfg.val_fraction)
    if example is None:
        console.print("[dim](no held-out sentence of 6-30 words to show fill-mask on)[/]")
        return "the [MASK] ..."
    prompt, word = example
    guesses = fill_mask(model, tok, prompt, top_k=5)[0]
    console.print(f"fill-mask on a held-out sentence: {prompt}", markup=False, highlight=False, soft_wrap=True)
    table = Table(show_edge=False)
    for col, just in (("#", "right"), ("guess", "left"), ("probability", "right"), ("", "left")):
        table.add_column(col, justify=just)
    for i, (t, p) in enumerate(guesses, 1):
        table.add_row(str(i), t, f"{p:.3f}", "[green]<- the word[/]" if t == word else "")
    console.print(table)
    if word not in [t for t, _ in guesses]:
        console.print(f"the hidden word was {word!r} (not in the top 5)", highlight=False)
    return prompt


def _digit_examples(trainer, strings) -> None:
    fn = DIGIT_TASKS[trainer.config.task]
    console.print(f"held-out examples ({trainer.config.task}, greedy decoding):", highlight=False)
    table = Table(show_edge=False)
    for col in ("input", "target", "model", ""):
        table.add_column(col)
    for s, got in zip(strings, answer(trainer.model, strings, trainer.config.task,
                                      codec=getattr(trainer.task, "codec", None))):
        table.add_row(s, fn(s), got if got is not None else "(no EOS)",
                      "[green]right[/]" if got == fn(s) else "[red]wrong[/]")
    console.print(table)


# ---------------------------------------------------------------- wiring
def add_model_flags(p) -> None:
    g = p.add_argument_group("model (default: each family's small training size; vocabularies come from the task)")
    g.add_argument("--model", metavar="FAMILY",
                   help="the model family: gpt (default), bert (masked LM / classifier) or t5 (encoder-decoder)")
    g.add_argument("--preset", help="a training size (tiny, demo, small: GPT) or a published preset of the family "
                                    "(gpt2, llama-7b, bert-base, t5-small, ...: see `presets`)")
    g.add_argument("--n-layer", type=int)
    g.add_argument("--d-model", type=int)
    g.add_argument("--n-head", type=int)
    g.add_argument("--d-ff", type=int, help="feed-forward width (default 4 * d_model)")
    g.add_argument("--context", type=int, help="context length in tokens (GPT, BERT)")
    g.add_argument("--dropout", type=float)
    g.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="any other field of the family's config, e.g. --set position=rope --set norm=rmsnorm "
                        "(GPTConfig), --set activation=relu (BertConfig), --set feed_forward_proj=gated-gelu "
                        "(T5Config); repeatable")
    g.add_argument("--tokenizer", choices=["char", "bpe", "wordpiece", "digits"],
                   help="GPT: character-level (default) or byte-level BPE; BERT: wordpiece; T5: digits")
    g.add_argument("--vocab-size", "--bpe-vocab-size", dest="vocab_size", type=int,
                   help="size of a trained BPE / WordPiece vocabulary (default 512 BPE, 2000 WordPiece); params: "
                        "the model's vocabulary")


def add_parsers(sub) -> dict:
    t = command(sub, "train", cmd_train, "train a GPT, BERT (--model bert) or T5 (--model t5)")
    t.add_argument("--task", help="gpt: lm; bert: mlm (default) | classify; t5: " + " | ".join(DIGIT_TASKS) +
                                  " (default reverse)")
    t.add_argument("--config", metavar="JSON", help="a JSON file of TrainConfig fields")
    t.add_argument("--init-from", metavar="NAME_OR_DIR", help="fine-tune a pretrained Hugging Face model (a Hub "
                   "name or folder) with its own tokenizer: GPT on --data, BERT masked LM, T5 a digit task")
    t.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR (writes back to DIR unless --out)")
    t.add_argument("--out", metavar="DIR", help="checkpoint folder (default runs/FAMILY-DATE-TIME)")
    t.add_argument("--overwrite", action="store_true", help="replace a checkpoint already in --out")
    t.add_argument("--no-verify", action="store_true",
                   help="--resume: skip the SHA-256 check of the weights files (after editing them on purpose)")
    t.add_argument("--data", metavar="FILE", help="a UTF-8 text file (default: the embedded corpus); for --task "
                                                  "classify, LABEL<tab>TEXT lines")
    add_model_flags(t)
    o = t.add_argument_group("optimization (defaults depend on the family: see TrainConfig)")
    o.add_argument("--optimizer", choices=["adamw", "adam", "sgd"], help="default adamw")
    o.add_argument("--batch-size", type=int, help="default 16 (GPT), 32 (BERT), 64 (T5)")
    o.add_argument("--steps", type=int, help="total optimizer steps (default 1000 GPT, 600 BERT, 1200 T5)")
    o.add_argument("--lr", type=float, help="peak learning rate (default 1e-3; 3e-3 for T5)")
    o.add_argument("--min-lr", type=float, help="final learning rate of the cosine (default lr / 10; T5 lr / 20)")
    o.add_argument("--warmup", type=int, help="linear warmup steps (default 100, BERT 60; at most a tenth of the run)")
    o.add_argument("--beta1", type=float, help="AdamW beta1 (default 0.9)")
    o.add_argument("--beta2", type=float, help="AdamW beta2 (default 0.99 GPT, 0.98 BERT/T5)")
    o.add_argument("--weight-decay", type=float, help="AdamW decoupled weight decay on matrices (default 0.1 GPT, "
                                                      "0.01 BERT/T5)")
    o.add_argument("--grad-clip", type=float, help="max global gradient norm, 0 = off (default 1.0)")
    o.add_argument("--precision", choices=["fp32", "fp16"],
                   help="fp16 = float16 products with float32 weights and loss scaling (for GPUs; slow on a CPU). "
                        "Default fp32")
    k = t.add_argument_group("tasks")
    k.add_argument("--mlm-probability", type=float, help="BERT mlm: share of tokens chosen as targets (default 0.15)")
    k.add_argument("--min-len", type=int, help="T5: shortest digit string (default 3)")
    k.add_argument("--max-len", type=int, help="T5: longest digit string (default 10)")
    k.add_argument("--eval-size", type=int, help="T5: held-out strings (default 256)")
    k.add_argument("--target-accuracy", type=float, help="BERT, T5: stop early at this held-out accuracy (0-1)")
    r = t.add_argument_group("evaluation and run")
    r.add_argument("--eval-interval", type=int, help="evaluate every N steps (default 100; 200 for T5)")
    r.add_argument("--eval-iters", type=int, help="validation batches per evaluation (default 10 GPT, 4 BERT)")
    r.add_argument("--checkpoint-interval", type=int, help="also save every N steps (default: only at the end)")
    r.add_argument("--val-fraction", type=float, help="share of the data kept for validation (default 0.1)")
    r.add_argument("--seed", type=int, help="default 0")
    r.add_argument("--device", choices=["cpu", "cuda"], help="default cpu")
    r.add_argument("--threads", type=int, default=1, help=THREADS_HELP)
    r.add_argument("--quiet", action="store_true", help="no progress output")
    r.add_argument("--grad-table", action="store_true",
                   help="per-layer gradient norms and update sizes in the live dashboard")
    return {"train": t}
