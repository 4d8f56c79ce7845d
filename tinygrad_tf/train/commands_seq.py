"""``tinygrad-tf train --model bert|t5`` and ``generate`` for their checkpoints (commands.py dispatches here).

    tinygrad-tf train --model bert --steps 600 --out runs/bert     masked-LM on the embedded corpus (or --data),
                                                                  then fill-mask on a held-out sentence
    tinygrad-tf generate --checkpoint runs/bert --prompt "the [MASK] statement leaves the function"
    tinygrad-tf train --model t5 --task reverse --out runs/t5      a toy seq2seq task, then held-out exact match
    tinygrad-tf generate --checkpoint runs/t5 --prompt 31415       -> 51413

The loops are ``train_mlm`` (mlm.py) and ``train_seq2seq`` (seq2seq.py); this module builds the model from the
flags (so that Ctrl-C can still save it), shows a rich progress bar like the GPT trainer's, and writes one
checkpoint folder: model, config, tokenizer (BERT) and trainer_state.json with the family, the task, the
flags used and the per-step history (what ``compare`` reads). There is no optimizer state: these runs cannot
be resumed, only used.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import time
from pathlib import Path

from .commands import UserError, apply_threads, check_fresh_out, console, parse_set_args

__all__ = ["add_family_flags", "reject_flags", "train_family", "generate_bert", "generate_t5", "params_config",
           "family_config", "BERT_DEFAULTS", "T5_DEFAULTS"]

# The sizes and run settings `train --model bert|t5` use when a flag is not given (train_mlm's and
# train_seq2seq's own defaults).
BERT_DEFAULTS = dict(vocab_size=2000, context=64, d_model=128, n_layer=2, n_head=4, dropout=0.1, steps=600,
                     batch_size=32, lr=1e-3, weight_decay=0.01, warmup=60, grad_clip=1.0, eval_interval=100,
                     eval_iters=4, val_fraction=0.1, mlm_probability=0.15)
T5_DEFAULTS = dict(d_model=64, n_layer=2, n_head=4, dropout=0.0, steps=1200, batch_size=64, lr=3e-3,
                   weight_decay=0.01, warmup=100, grad_clip=1.0, eval_interval=200, eval_size=256, min_len=3,
                   max_len=10, task="reverse")

# flags that only some families read: dest -> families (everything else applies to all three)
FLAG_FAMILIES = {
    "config": ("gpt",), "resume": ("gpt",), "no_verify": ("gpt",), "preset": ("gpt",), "tokenizer": ("gpt",),
    "bpe_vocab_size": ("gpt",), "min_lr": ("gpt",), "beta1": ("gpt",), "beta2": ("gpt",),
    "checkpoint_interval": ("gpt",), "precision": ("gpt",),
    "data": ("gpt", "bert"), "eval_iters": ("gpt", "bert"), "val_fraction": ("gpt", "bert"),
    "context": ("gpt", "bert"),
    "vocab_size": ("bert",), "mlm_probability": ("bert",),
    "task": ("t5",), "min_len": ("t5",), "max_len": ("t5",), "eval_size": ("t5",), "target_accuracy": ("t5",),
}
HINTS = {("vocab_size", "gpt"): "; GPT's vocabulary comes from --tokenizer (and --bpe-vocab-size)",
         ("context", "t5"): "; the T5 toy task's length comes from --min-len / --max-len",
         ("data", "t5"): "; T5 trains on a generated toy task (--task)",
         ("preset", "bert"): "; set the size with --n-layer / --d-model / --n-head",
         ("preset", "t5"): "; set the size with --n-layer / --d-model / --n-head",
         ("resume", "bert"): "; BERT and T5 checkpoints hold no optimizer state, so they cannot be resumed",
         ("resume", "t5"): "; BERT and T5 checkpoints hold no optimizer state, so they cannot be resumed"}


def add_family_flags(p) -> None:
    b = p.add_argument_group("BERT (--model bert)")
    b.add_argument("--vocab-size", type=int, help=f"WordPiece vocabulary size (default {BERT_DEFAULTS['vocab_size']})")
    b.add_argument("--mlm-probability", type=float,
                   help=f"share of tokens chosen as targets (default {BERT_DEFAULTS['mlm_probability']})")
    s = p.add_argument_group("T5 (--model t5)")
    from .seq2seq import TASKS
    s.add_argument("--task", help=f"the toy task: {' | '.join(TASKS)} (default reverse)")
    s.add_argument("--min-len", type=int, help=f"shortest digit string (default {T5_DEFAULTS['min_len']})")
    s.add_argument("--max-len", type=int, help=f"longest digit string (default {T5_DEFAULTS['max_len']})")
    s.add_argument("--eval-size", type=int, help=f"held-out strings (default {T5_DEFAULTS['eval_size']})")
    s.add_argument("--target-accuracy", type=float, help="stop early at this held-out exact match (0-1)")


def reject_flags(args, family) -> None:
    """A flag meant for another family is a mistake, not something to ignore silently."""
    for dest, families in FLAG_FAMILIES.items():
        v = getattr(args, dest, None)
        if v is not None and v is not False and family not in families:
            flag = "--" + dest.replace("_", "-")
            raise UserError(f"{flag} does not apply to --model {family} (only to --model {', '.join(families)})"
                            + HINTS.get((dest, family), ""))


def _pick(args, name, defaults):
    v = getattr(args, name, None)
    return defaults[name] if v is None else v


def _positive(args, *names) -> None:
    for name in names:
        v = getattr(args, name, None)
        if v is not None and not v > 0:
            raise UserError(f"--{name.replace('_', '-')} must be positive, got {v}")


# ---------------------------------------------------------------- configs
FIXED = {"bert": {"vocab_size": "the WordPiece tokenizer (--vocab-size)"},
         "t5": {"vocab_size": "the digit task", "pad_token_id": "the digit task", "eos_token_id": "the digit task",
                "decoder_start_token_id": "the digit task"}}


def family_config(family, args, vocab_size, pad_token_id=0, fields=None, base=None):
    """The BertConfig / T5Config that ``train --model FAMILY`` (or ``params --model FAMILY``) builds."""
    from ..nn.models import BertConfig, T5Config
    fields = dict(fields or {})
    d = dict(base) if base is not None else None
    if family == "bert":
        if d is None:
            d = dict(context_length=BERT_DEFAULTS["context"], d_model=BERT_DEFAULTS["d_model"],
                     n_layer=BERT_DEFAULTS["n_layer"], n_head=BERT_DEFAULTS["n_head"],
                     dropout=BERT_DEFAULTS["dropout"], pooler=False, mlm_head=True)
        d.update(vocab_size=vocab_size, pad_token_id=pad_token_id)
        if getattr(args, "context", None) is not None:
            d["context_length"] = args.context
        cls = BertConfig
    else:
        from .seq2seq import EOS, PAD
        if d is None:
            max_len = _pick(args, "max_len", T5_DEFAULTS)
            d = dict(context_length=max_len + 8, d_model=T5_DEFAULTS["d_model"], n_layer=T5_DEFAULTS["n_layer"],
                     n_head=T5_DEFAULTS["n_head"], dropout=T5_DEFAULTS["dropout"], feed_forward_proj="relu",
                     relative_attention_num_buckets=32, relative_attention_max_distance=64,
                     pad_token_id=PAD, eos_token_id=EOS, decoder_start_token_id=PAD)
        d["vocab_size"] = vocab_size
        if getattr(args, "context", None) is not None:          # params only: train rejects --context for T5
            d["context_length"] = args.context
        cls = T5Config
    for flag in ("n_layer", "d_model", "n_head", "d_ff", "dropout"):
        v = getattr(args, flag, None)
        if v is not None:
            d[flag] = v
    if getattr(args, "d_model", None) is not None and getattr(args, "d_ff", None) is None and "d_ff" not in fields:
        d["d_ff"] = None                         # a new width: d_ff follows it (4 * d_model)
        if family == "t5" and "d_kv" not in fields:
            d["d_kv"] = None                     # and so does the head width
    if family == "t5" and getattr(args, "n_head", None) is not None and "d_kv" not in fields:
        d["d_kv"] = None
    if base is None:
        for k, why in FIXED[family].items():
            if k in fields:
                raise UserError(f"--set {k}=... cannot be used with --model {family}: it comes from {why}")
    d.update(fields)
    return cls.from_dict(d)


def params_config(family, args):
    """``params --model bert|t5``: a preset of that family, or the sizes ``train --model`` builds."""
    from ..nn.models import BertConfig, T5Config
    cls = BertConfig if family == "bert" else T5Config
    for dest in ("tokenizer", "bpe_vocab_size"):
        if getattr(args, dest, None) is not None:
            raise UserError(f"--{dest.replace('_', '-')} does not apply to --model {family} (only to --model gpt)")
    fields = parse_set_args(getattr(args, "set", None))
    base = None
    if args.preset is not None:
        if args.preset not in cls.PRESETS:
            raise UserError(f"unknown {family} preset {args.preset!r}; valid: {', '.join(cls.PRESETS)}")
        base = dict(cls.PRESETS[args.preset])
        vocab = base["vocab_size"]
    else:
        from .seq2seq import VOCAB_SIZE
        vocab = BERT_DEFAULTS["vocab_size"] if family == "bert" else VOCAB_SIZE
    if args.vocab_size is not None:
        vocab = args.vocab_size
    return family_config(family, args, vocab, fields=fields, base=base)


# ---------------------------------------------------------------- progress
class StepProgress:
    """A transient rich progress bar (only on a terminal) fed by the training loop's per-step callback;
    it also keeps the history, so an interrupted run can still be saved with it."""

    def __init__(self, total, label, show=True):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        self.total, self.history = total, []
        self.progress = Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.fields[info]}"), console=console, transient=True,
                                 disable=not (show and console.is_terminal))
        self.val = None
        self.t0 = time.perf_counter()

    def __enter__(self):
        self.progress.__enter__()
        self.task = self.progress.add_task("train", total=self.total, info="")
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def __call__(self, rec) -> None:
        self.history.append(dict(rec))
        if "val_loss" in rec:
            self.val = f" val {rec['val_loss']:.3f} acc {rec['val_accuracy']:.0%}"
        elif "accuracy" in rec:
            self.val = f" exact match {rec['accuracy']:.0%}"
        g = rec.get("grad_norm")
        grad = f" |g| {g:.2f}" if g is not None and math.isfinite(g) else ""
        rate = rec["step"] / max(time.perf_counter() - self.t0, 1e-9)
        more = f" lr {rec['lr']:.1e}{grad}" if console.width >= 120 else ""     # room for the bar on 80 columns
        self.progress.update(self.task, completed=rec["step"],
                             info=f"loss {rec['loss']:.3f}{self.val or ''}{more} {rate:.1f} steps/s")


def _log(args):
    if args.quiet:
        return None
    return lambda line: console.print(line, highlight=False, soft_wrap=True)


def _save(out, model, tokenizer, state) -> Path:
    from .checkpoint import save_checkpoint
    return save_checkpoint(out, model, tokenizer, trainer_state=state)


def _interrupted(out, model, tokenizer, state, progress) -> int:
    state.update(step=len(progress.history), history=progress.history, interrupted=True)
    where = _save(out, model, tokenizer, state)
    console.print(f"interrupted at step {len(progress.history)}/{progress.total}; the model so far is saved to "
                  f"{where} (use it with tinygrad-tf generate --checkpoint {where}; BERT and T5 runs cannot be "
                  "resumed)", highlight=False, soft_wrap=True)
    return 130


def train_family(family, args) -> int:
    """``train --model bert`` or ``train --model t5``."""
    from .. import backend
    reject_flags(args, family)
    _positive(args, "steps", "batch_size", "lr", "eval_interval", "eval_iters", "vocab_size", "eval_size",
              "n_layer", "d_model", "n_head", "d_ff", "context", "min_len", "max_len")
    for name in ("warmup", "weight_decay", "grad_clip"):
        v = getattr(args, name, None)
        if v is not None and v < 0:
            raise UserError(f"--{name.replace('_', '-')} must be >= 0, got {v}")
    apply_threads(args)
    device = backend.check_device(args.device or "cpu")        # no GPU: said before anything is trained
    out = args.out or time.strftime(f"runs/{family}-%Y%m%d-%H%M%S")
    check_fresh_out(out, overwrite=args.overwrite)
    fields = parse_set_args(args.set)
    seed = 0 if args.seed is None else args.seed
    if family == "bert":
        return _train_bert(args, device, out, fields, seed)
    return _train_t5(args, device, out, fields, seed)


# ---------------------------------------------------------------- BERT
def _train_bert(args, device, out, fields, seed) -> int:
    from .. import backend
    from ..nn.models import BERT
    from ..text import WordPieceTokenizer, load_corpus
    from .mlm import train_mlm

    p = dict(BERT_DEFAULTS)
    p.update({k: getattr(args, k) for k in p if getattr(args, k, None) is not None})
    if not 0 < p["mlm_probability"] < 1:
        raise UserError(f"--mlm-probability must be between 0 and 1, got {p['mlm_probability']}")
    if not 0 < p["val_fraction"] < 1:
        raise UserError(f"--val-fraction must be between 0 and 1, got {p['val_fraction']}")
    warmup = args.warmup if args.warmup is not None else min(p["warmup"], max(p["steps"] // 10, 1))
    text = load_corpus(args.data)
    tokenizer = WordPieceTokenizer.train(text, p["vocab_size"])
    config = family_config("bert", args, tokenizer.vocab_size, tokenizer.pad_token_id, fields)
    if not config.mlm_head:
        raise UserError("--set mlm_head=false leaves BERT nothing to train: masked-LM training needs the MLM head")
    backend.manual_seed(seed)
    model = BERT(config)
    data = os.path.abspath(args.data) if args.data else None
    state = {"family": "bert", "data": data, "steps": p["steps"],
             "train_args": {"vocab_size": p["vocab_size"], "batch_size": p["batch_size"], "lr": p["lr"],
                            "weight_decay": p["weight_decay"], "warmup_steps": warmup, "grad_clip": p["grad_clip"],
                            "mlm_probability": p["mlm_probability"], "val_fraction": p["val_fraction"],
                            "eval_interval": p["eval_interval"], "eval_iters": p["eval_iters"], "seed": seed,
                            "device": device}}
    progress = StepProgress(p["steps"], "train bert", show=not args.quiet)
    try:
        with progress:
            result = train_mlm(data, tokenizer=tokenizer, model=model, seq_len=config.context_length,
                               steps=p["steps"], batch_size=p["batch_size"], lr=p["lr"],
                               weight_decay=p["weight_decay"], warmup_steps=warmup,
                               mlm_probability=p["mlm_probability"], grad_clip=p["grad_clip"],
                               eval_interval=p["eval_interval"], eval_iters=p["eval_iters"],
                               val_fraction=p["val_fraction"], seed=seed, device=device, callbacks=[progress],
                               log=_log(args))
    except KeyboardInterrupt:
        return _interrupted(out, model, tokenizer, state, progress)
    state.update(step=len(result.history), history=result.history, val_loss=result.val_loss,
                 val_accuracy=result.val_accuracy, seconds=result.seconds)
    where = _save(out, model, tokenizer, state)
    if args.quiet:
        return 0
    console.print(f"done: step {len(result.history)}, val loss {result.val_loss:.4f}, masked-token accuracy "
                  f"{result.val_accuracy:.1%}, {result.seconds:.0f} s; checkpoint in {where}", soft_wrap=True)
    example = held_out_sentence(text, tokenizer, config.context_length, p["val_fraction"])
    if example is None:
        console.print("[dim](no held-out sentence of 6-30 words to show fill-mask on)[/]")
        prompt = "the [MASK] ..."
    else:
        prompt, answer = example
        _fill_mask_table(model, tokenizer, prompt, answer)
    console.print(f"try:  tinygrad-tf generate --checkpoint {where} --prompt {_quote(prompt)}", soft_wrap=True,
                  markup=False)
    return 0


def _quote(s: str) -> str:
    import shlex
    return shlex.quote(s)


def held_out_sentence(text, tokenizer, context, val_fraction=0.1):
    """(sentence with one word replaced by [MASK], that word) from the held-out end of ``text``, or None.

    The first sentence of 6-30 words (past the split point) that fits the context and has, away from its ends,
    a word of four or more letters that the tokenizer keeps whole; of those, the word most frequent in the
    text is masked (a fair question: the model has seen it often)."""
    from collections import Counter
    counts = Counter(w.lower() for w in text.split() if w.isalpha())
    tail = text[int(len(text) * (1 - val_fraction)):]
    for part in (tail, text):                  # very small texts: any sentence will do
        for sentence in re.split(r"(?<=[.!?])\s+|\n\s*\n", part):
            words = sentence.split()
            if not 6 <= len(words) <= 30:
                continue
            sentence = " ".join(words)
            if len(tokenizer.encode(sentence)) > context:
                continue
            eligible = [i for i in range(1, len(words) - 1)
                        if words[i].isalpha() and len(words[i]) >= 4 and words[i].lower() in tokenizer.token_to_id]
            if eligible:
                best = max(eligible, key=lambda i: counts[words[i].lower()])
                masked = " ".join(words[:best] + ["[MASK]"] + words[best + 1:])
                return masked, words[best].lower()
    return None


def _fill_mask_table(model, tokenizer, prompt, answer, top_k=5) -> None:
    from rich.table import Table

    from .mlm import fill_mask
    guesses = fill_mask(model, tokenizer, prompt, top_k=top_k)[0]
    console.print(f"fill-mask on a held-out sentence: {prompt}", markup=False, highlight=False, soft_wrap=True)
    table = Table(show_edge=False)
    table.add_column("#", justify="right")
    table.add_column("guess")
    table.add_column("probability", justify="right")
    table.add_column("")
    for i, (tok, prob) in enumerate(guesses, 1):
        table.add_row(str(i), tok, f"{prob:.3f}", "[green]<- the word[/]" if tok == answer else "")
    console.print(table)
    if answer not in [t for t, _ in guesses]:
        console.print(f"the hidden word was {answer!r} (not in the top {top_k})", highlight=False)


# ---------------------------------------------------------------- T5
def _train_t5(args, device, out, fields, seed) -> int:
    from .. import backend
    from ..nn.models import T5
    from .seq2seq import TASKS, VOCAB_SIZE, train_seq2seq

    p = dict(T5_DEFAULTS)
    p.update({k: getattr(args, k) for k in p if getattr(args, k, None) is not None})
    if p["task"] not in TASKS:
        raise UserError(f"unknown --task {p['task']!r}; valid: {', '.join(TASKS)}")
    if p["min_len"] > p["max_len"]:
        raise UserError(f"--min-len {p['min_len']} is longer than --max-len {p['max_len']}")
    distinct = sum(10 ** n for n in range(p["min_len"], min(p["max_len"], 7) + 1))
    if distinct < 2 * p["eval_size"] + p["batch_size"]:
        raise UserError(f"digit strings of length {p['min_len']}-{p['max_len']} give only {distinct} different "
                        f"inputs: too few to hold out --eval-size {p['eval_size']} and still train; allow longer "
                        "strings or lower --eval-size")
    if args.target_accuracy is not None and not 0 < args.target_accuracy <= 1:
        raise UserError(f"--target-accuracy must be in (0, 1], got {args.target_accuracy}")
    warmup = args.warmup if args.warmup is not None else min(p["warmup"], max(p["steps"] // 10, 1))
    config = family_config("t5", args, VOCAB_SIZE, fields=fields)
    backend.manual_seed(seed)
    model = T5(config)
    state = {"family": "t5", "task": p["task"], "min_len": p["min_len"], "max_len": p["max_len"], "steps": p["steps"],
             "train_args": {"batch_size": p["batch_size"], "lr": p["lr"], "weight_decay": p["weight_decay"],
                            "warmup_steps": warmup, "grad_clip": p["grad_clip"], "eval_interval": p["eval_interval"],
                            "eval_size": p["eval_size"], "target_accuracy": args.target_accuracy, "seed": seed,
                            "device": device}}
    progress = StepProgress(p["steps"], f"train t5 ({p['task']})", show=not args.quiet)
    try:
        with progress:
            result = train_seq2seq(p["task"], model=model, steps=p["steps"], batch_size=p["batch_size"],
                                   min_len=p["min_len"], max_len=p["max_len"], lr=p["lr"],
                                   weight_decay=p["weight_decay"], warmup_steps=warmup, grad_clip=p["grad_clip"],
                                   eval_interval=p["eval_interval"], eval_size=p["eval_size"],
                                   target_accuracy=args.target_accuracy, seed=seed, device=device,
                                   callbacks=[progress], log=_log(args))
    except KeyboardInterrupt:
        return _interrupted(out, model, None, state, progress)
    state.update(step=result.steps, history=result.history, accuracy=result.accuracy, seconds=result.seconds)
    where = _save(out, model, None, state)
    if args.quiet:
        return 0
    console.print(f"done: step {result.steps}, held-out exact match {result.accuracy:.1%} "
                  f"({len(result.held_out)} strings never seen in training), {result.seconds:.0f} s; "
                  f"checkpoint in {where}", soft_wrap=True)
    _examples_table(model, p["task"], result.held_out[:6])
    console.print(f"try:  tinygrad-tf generate --checkpoint {where} --prompt {result.held_out[0]}", soft_wrap=True,
                  markup=False)
    return 0


def _examples_table(model, task, strings) -> None:
    from rich.table import Table

    from .. import backend
    from ..tensor import Tensor
    from .seq2seq import EOS, TASKS, batch_examples, decode_digits
    fn = TASKS[task]
    ids, mask, _ = batch_examples(strings, task)
    longest = max(len(fn(s)) for s in strings) + 1
    out = backend.to_numpy(model.generate(Tensor(ids, device=model.device), longest, temperature=0,
                                          eos_token_id=EOS, attention_mask=Tensor(mask, device=model.device)).data)
    console.print(f"held-out examples ({task}, greedy decoding):", highlight=False)
    table = Table(show_edge=False)
    for col in ("input", "target", "model", ""):
        table.add_column(col)
    for s, row in zip(strings, out):
        got = decode_digits(row[1:])
        ok = got == fn(s) and EOS in row[1:].tolist()
        table.add_row(s, fn(s), got, "[green]right[/]" if ok else "[red]wrong[/]")
    console.print(table)


# ---------------------------------------------------------------- generate
def generate_bert(c, args) -> int:
    """Fill each [MASK] of --prompt: the top guesses with their probabilities, then the text filled in."""
    from .mlm import fill_mask
    tok = c.tokenizer
    if tok is None or not hasattr(tok, "mask_token_id"):
        raise UserError(f"{c.path} is a BERT checkpoint without a WordPiece tokenizer.json, so it cannot read text")
    if not c.config.mlm_head:
        raise UserError(f"{c.path} holds a BERT without a masked-LM head (mlm_head=false), so it cannot fill in [MASK]")
    example = 'e.g. --prompt "the [MASK] statement leaves the function"'
    if args.prompt is None:
        raise UserError(f"a BERT checkpoint fills in blanks: give --prompt with [MASK] in it, {example}")
    if "[MASK]" not in args.prompt:
        hint = " ([MASK] is written in capitals)" if "[mask]" in args.prompt.lower() else ""
        raise UserError(f"the prompt has no [MASK]{hint}; a BERT checkpoint fills in blanks, {example}")
    n = len(tok.encode(args.prompt))
    if n > c.config.context_length:
        raise UserError(f"the prompt is {n} tokens, longer than the model's context of {c.config.context_length}")
    k = args.top_k or 5
    answers = fill_mask(c.model, tok, args.prompt, top_k=k)
    lines = []
    for i, guesses in enumerate(answers, 1):
        lines.append(f"[MASK] {i}: " + "  ".join(f"{t} {p:.3f}" for t, p in guesses))
    parts = args.prompt.split("[MASK]")
    best = [g[0][0].removeprefix("##") for g in answers]
    filled = parts[0] + "".join(w + rest for w, rest in zip(best, parts[1:]))
    sys.stdout.write("\n".join(lines + [filled]) + "\n")
    sys.stdout.flush()
    return 0


def _read_state(path) -> dict:
    try:
        d = json.loads((Path(path) / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return d if isinstance(d, dict) else {}


def generate_t5(c, args) -> int:
    """Write the output sequence for --prompt (greedy unless --temperature); a digit-task checkpoint reads digits."""
    from .. import backend
    from ..tensor import Tensor
    from .seq2seq import TASKS, VOCAB_SIZE, decode_digits, encode_digits
    cfg, state = c.config, _read_state(c.path)
    task = state.get("task")
    if args.prompt is None:
        raise UserError("a T5 checkpoint needs --prompt: the input sequence"
                        + (" (a digit string, e.g. --prompt 31415)" if c.tokenizer is None else ""))
    digits = c.tokenizer is None and cfg.vocab_size == VOCAB_SIZE
    if digits:
        s = "".join(args.prompt.split())
        if not s.isdigit() or not s.isascii():
            raise UserError(f"this T5 checkpoint reads digit strings (its toy task: {task or 'unknown'}); "
                            f"got {args.prompt!r}, e.g. --prompt 31415")
        ids = encode_digits(s)
    elif c.tokenizer is not None:
        ids = c.tokenizer.encode(args.prompt) + [cfg.eos_token_id]
    else:
        raise UserError(f"{c.path} has no tokenizer.json, so text cannot be encoded for it")
    backend.manual_seed(args.seed)
    temperature = 0.0 if args.temperature is None else args.temperature
    n_new = args.max_new_tokens
    if n_new is None:                      # every toy task's answer is at most one digit longer, then EOS
        n_new = len(ids) + 1 if digits else 200
    out = c.model.generate(Tensor([ids], device=c.model.device), n_new, temperature=temperature,
                           top_k=args.top_k, top_p=args.top_p, eos_token_id=cfg.eos_token_id)
    row = out.numpy()[0, 1:].tolist()                       # drop the decoder start token
    if digits:
        text = decode_digits(row)
    else:
        row = row[:row.index(cfg.eos_token_id)] if cfg.eos_token_id in row else row
        text = c.tokenizer.decode(row)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    if digits and task in TASKS:
        want = TASKS[task](s)
        print(f"note: {task}({s}) = {want}; the model's answer is {'right' if text == want else 'wrong'}",
              file=sys.stderr)
    return 0
