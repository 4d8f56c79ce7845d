"""``tinygrad-tf generate``: run a checkpoint on a prompt; what that means follows the model in it.

    tinygrad-tf generate --checkpoint runs/mine --prompt "def "        GPT continues the prompt
    tinygrad-tf generate --checkpoint runs/bert --prompt "the [MASK] statement leaves the function"
    tinygrad-tf generate --checkpoint runs/t5 --prompt 31415           T5 answers (a digit task: 51413)
    tinygrad-tf generate --hf gpt2 --prompt "The cat"                   a pretrained model (Hub name or folder)
    tinygrad-tf generate --hf google/flan-t5-small --prompt "translate English to German: How old are you?"
"""

from __future__ import annotations

import math
import sys

import numpy as np

from .. import backend
from ..tensor import Tensor
from ..fileio import read_json
from ..train import load_checkpoint
from ..train.checkpoint import STATE_FILE
from ..train.mlm import fill_mask
from ..train.seq2seq import TASKS, VOCAB_SIZE, decode_digits, encode_digits
from .common import HF_HELP, UserError, command, encode_text, load_pretrained, one_source

__all__ = ["add_parsers", "cmd_generate"]


def cmd_generate(args) -> int:
    """Run a trained checkpoint on --prompt; what that means follows the model in it. GPT continues the prompt
    (one longer than the model's context is cropped to its last context-length tokens, a sliding window, with a
    note on stderr). BERT lists its top guesses for each [MASK] in the prompt. T5 writes the output sequence for
    the prompt as input (for a `train --model t5` checkpoint: a digit string, e.g. --prompt 31415)."""
    if args.max_new_tokens is not None and args.max_new_tokens < 0:
        raise UserError(f"--max-new-tokens must be >= 0, got {args.max_new_tokens}")
    if args.temperature is not None and not (math.isfinite(args.temperature) and args.temperature >= 0):
        raise UserError(f"--temperature must be a finite number >= 0 (0 = greedy), got {args.temperature}")
    if args.top_k is not None and args.top_k <= 0:
        raise UserError(f"--top-k must be a positive integer, got {args.top_k}")
    if args.top_p is not None and not (math.isfinite(args.top_p) and 0 < args.top_p <= 1):
        raise UserError(f"--top-p must be in (0, 1], got {args.top_p}")
    if args.prompt == "":
        raise UserError("--prompt is empty; give at least one character to continue from")
    if one_source(args, "checkpoint", "hf", what="a model") == "hf":
        c = load_pretrained(args.hf, args.device)
    else:
        c = load_checkpoint(args.checkpoint, device=args.device, load_training_state=False, verify=not args.no_verify)
    backend.manual_seed(args.seed)
    text = {"gpt": _gpt, "bert": _bert, "t5": _t5}[c.config.model_type](c, args)
    write_text(text + "\n")
    return 0


def write_text(text: str, stream=None) -> None:
    """Write ``text`` to stdout. A prompt that was not valid UTF-8 reaches Python with its bad bytes as lone
    surrogates (surrogateescape); they are written back as the very bytes the user gave, not a traceback."""
    stream = stream or sys.stdout
    try:
        stream.write(text)
    except UnicodeEncodeError:
        stream.flush()
        try:
            data = text.encode(stream.encoding or "utf-8", "surrogateescape")
        except UnicodeEncodeError:                  # a surrogate that is no escaped byte: shown as U+FFFD
            data = text.encode(stream.encoding or "utf-8", "replace")
        buffer = getattr(stream, "buffer", None)
        if buffer is None:
            stream.write(data.decode(stream.encoding or "utf-8", "replace"))
        else:
            buffer.write(data)
            buffer.flush()
    stream.flush()


def _gpt(c, args) -> str:
    prompt = "\n" if args.prompt is None else args.prompt
    ids = encode_text(c.tokenizer, prompt, "the prompt", str(c.path))
    ctx = c.config.context_length
    if len(ids) > ctx:
        print(f"note: the prompt is {len(ids)} tokens, longer than the model's context of {ctx}; the model sees "
              f"only its last {ctx} tokens (a sliding window), though the whole prompt is printed", file=sys.stderr)
    seen = ids[-ctx:]
    out = c.model.generate(Tensor([seen], device=c.model.device),
                           max_new_tokens=200 if args.max_new_tokens is None else args.max_new_tokens,
                           temperature=0.8 if args.temperature is None else args.temperature,
                           top_k=args.top_k, top_p=args.top_p)
    new = out.numpy()[0, len(seen):].tolist()
    head, full = c.tokenizer.decode(seen), c.tokenizer.decode(seen + new)   # decode together: a BPE token
    return prompt + (full[len(head):] if full.startswith(head) else c.tokenizer.decode(new))   # may end mid-char


def _saved_state(c) -> dict:
    """The checkpoint's trainer_state.json (what the run knew: its task, a classifier's labels), or {}."""
    state = c.path / STATE_FILE
    return read_json(state, "training state", UserError) if state.is_file() else {}


def _bert(c, args) -> str:
    """The top guesses for each [MASK] with their probabilities, then the text filled in; for a classifier, the
    likeliest labels of --prompt."""
    tok = c.tokenizer
    if tok is None or getattr(tok, "mask_token_id", None) is None:
        raise UserError(f"{c.path} is a BERT checkpoint without a WordPiece tokenizer.json (with [MASK]), so it "
                        "cannot read text")
    if c.config.num_labels and not c.config.mlm_head:
        return _classify(c, args)
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
    answers = fill_mask(c.model, tok, args.prompt, top_k=args.top_k or 5)
    lines = [f"[MASK] {i}: " + "  ".join(f"{t} {p:.3f}" for t, p in guesses) for i, guesses in enumerate(answers, 1)]
    parts = args.prompt.split("[MASK]")
    filled = parts[0] + "".join(g[0][0].removeprefix("##") + rest for g, rest in zip(answers, parts[1:]))
    return "\n".join(lines + [filled])


def _classify(c, args) -> str:
    """A BERT classifier's labels for --prompt, likeliest first, with their probabilities."""
    if args.prompt is None:
        raise UserError("a BERT classifier labels a text: give it as --prompt")
    names = _saved_state(c).get("labels") or [str(i) for i in range(c.config.num_labels)]
    ids = encode_text(c.tokenizer, args.prompt, "the prompt", str(c.path))[:c.config.context_length]
    logits = c.model.eval()(Tensor([ids], device=c.model.device)).class_logits.numpy()[0].astype(np.float64)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return "\n".join(f"{names[j]} {p[j]:.3f}" for j in np.argsort(-p)[:args.top_k or len(names)])


def _t5(c, args) -> str:
    """The output sequence for --prompt (greedy unless --temperature); a digit-task checkpoint reads digits."""
    cfg = c.config
    state = _saved_state(c)
    task = (state.get("config") or {}).get("task") or state.get("task")          # older checkpoints: state["task"]
    digits = c.tokenizer is None and cfg.vocab_size == VOCAB_SIZE
    if args.prompt is None:
        raise UserError("a T5 checkpoint needs --prompt: the input sequence"
                        + (" (a digit string, e.g. --prompt 31415)" if digits else ""))
    if digits:
        s = "".join(args.prompt.split())
        if not s.isdigit() or not s.isascii():
            raise UserError(f"this T5 checkpoint reads digit strings (its toy task: {task or 'unknown'}); "
                            f"got {args.prompt!r}, e.g. --prompt 31415")
        ids = encode_digits(s)
    else:
        ids = encode_text(c.tokenizer, args.prompt, "the prompt", str(c.path))
        if ids[-1] != cfg.eos_token_id:                 # a tokenizer.json's post-processor already ends with </s>
            ids.append(cfg.eos_token_id)
    n_new = args.max_new_tokens
    if n_new is None:                      # every digit task's answer is at most one digit longer, then EOS
        n_new = len(ids) + 1 if digits else 200
    out = c.model.generate(Tensor([ids], device=c.model.device), n_new, temperature=args.temperature or 0.0,
                           top_k=args.top_k, top_p=args.top_p, eos_token_id=cfg.eos_token_id)
    row = out.numpy()[0, 1:].tolist()                       # drop the decoder start token
    if not digits:
        return c.tokenizer.decode(row[:row.index(cfg.eos_token_id)] if cfg.eos_token_id in row else row)
    text = decode_digits(row)
    if task in TASKS:
        want = TASKS[task](s)
        print(f"note: {task}({s}) = {want}; the model's answer is {'right' if text == want else 'wrong'}",
              file=sys.stderr)
    return text


def add_parsers(sub) -> dict:
    g = command(sub, "generate", cmd_generate, "GPT: continue a prompt; BERT: fill in [MASK]; T5: answer an input")
    g.add_argument("--checkpoint", metavar="DIR", help="a checkpoint folder (from train or demo)")
    g.add_argument("--hf", metavar="NAME_OR_DIR", help="instead of --checkpoint: " + HF_HELP)
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
    return {"generate": g}
