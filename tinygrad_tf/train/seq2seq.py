"""Sequence-to-sequence training for T5 on generated toy tasks, measured by exact match.

    from tinygrad_tf.train.seq2seq import train_seq2seq
    result = train_seq2seq("reverse")           # "3 1 4 1 5" -> "5 1 4 1 3"; about a minute on a CPU
    result.accuracy                             # exact-match accuracy on held-out strings (greedy decoding)

A task maps a random digit string to a target string. Token ids: 0 = padding (also T5's decoder start
token), 1 = end of sequence, 2..11 = the digits 0..9. The encoder reads ``digits + [EOS]`` (padded, with an
attention mask); the decoder is taught to write ``target + [EOS]`` (teacher forcing: T5 shifts the labels
right by itself; padding in the labels is -100 and does not count). A prediction is right only if
greedy ``generate`` reproduces the whole target and then stops. The held-out strings never occur in training.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..nn.models import T5, T5Config
from ..nn.utils import clip_grad_norm_
from ..optim import AdamW, WarmupCosine
from ..tensor import Tensor

__all__ = ["TASKS", "PAD", "EOS", "VOCAB_SIZE", "encode_digits", "decode_digits", "make_examples", "batch_examples",
           "exact_match", "Seq2SeqResult", "train_seq2seq"]

PAD, EOS, DIGIT0 = 0, 1, 2
VOCAB_SIZE = DIGIT0 + 10

# task name -> what the target is, given the source digit string
TASKS: dict[str, Callable[[str], str]] = {
    "reverse": lambda s: s[::-1],
    "sort": lambda s: "".join(sorted(s)),
    "copy": lambda s: s,
    "add1": lambda s: str(int(s) + 1),            # the number plus one (carries travel right to left)
}


def encode_digits(s: str) -> list[int]:
    return [DIGIT0 + int(ch) for ch in s] + [EOS]


def decode_digits(ids) -> str:
    """Token ids -> digit string, stopping at the first EOS (padding and the start token are skipped)."""
    out = []
    for i in ids:
        i = int(i)
        if i == EOS:
            break
        if i >= DIGIT0:
            out.append(str(i - DIGIT0))
    return "".join(out)


def make_examples(n, min_len=3, max_len=10, seed=0, exclude=frozenset()):
    """``n`` distinct random digit strings with lengths in [min_len, max_len], none of them in ``exclude``."""
    rng = np.random.default_rng(seed)
    seen, out = set(exclude), []
    while len(out) < n:
        s = "".join(map(str, rng.integers(0, 10, rng.integers(min_len, max_len + 1))))
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def batch_examples(strings, task="reverse"):
    """(input_ids, attention_mask, labels) int64 arrays for a list of source strings; padded on the right."""
    fn = TASKS[task]
    src = [encode_digits(s) for s in strings]
    tgt = [encode_digits(fn(s)) for s in strings]
    s_len, t_len = max(map(len, src)), max(map(len, tgt))
    ids = np.full((len(src), s_len), PAD, dtype=np.int64)
    labels = np.full((len(tgt), t_len), -100, dtype=np.int64)
    for i, (a, b) in enumerate(zip(src, tgt)):
        ids[i, :len(a)], labels[i, :len(b)] = a, b
    return ids, (ids != PAD).astype(np.int64), labels


@no_grad()
def exact_match(model, strings, task="reverse", batch_size=256):
    """Fraction of ``strings`` whose greedy decoding is exactly the task's target (followed by EOS)."""
    fn, right = TASKS[task], 0
    for i in range(0, len(strings), batch_size):
        chunk = strings[i:i + batch_size]
        ids, mask, _ = batch_examples(chunk, task)
        longest = max(len(fn(s)) for s in chunk) + 1
        out = backend.to_numpy(model.generate(Tensor(ids, device=model.device), longest, temperature=0,
                                              eos_token_id=EOS, attention_mask=mask).data)
        for s, row in zip(chunk, out):
            row = row[1:]                                            # drop the decoder start token
            right += decode_digits(row) == fn(s) and EOS in row.tolist()
    return right / len(strings)


@dataclass
class Seq2SeqResult:
    """What ``train_seq2seq`` returns: the model (eval mode), per-step metrics (``step, loss, lr, time`` and
    ``accuracy`` on evaluation steps), the final held-out exact-match accuracy, steps run and wall time."""

    model: T5
    task: str
    history: list = field(default_factory=list)
    accuracy: float = 0.0
    steps: int = 0
    seconds: float = 0.0
    held_out: list = field(default_factory=list)


def train_seq2seq(task="reverse", *, steps=1200, batch_size=64, min_len=3, max_len=10, d_model=64, n_layer=2,
                  n_head=4, d_ff=256, feed_forward_proj="relu", dropout=0.0, lr=3e-3, weight_decay=0.01,
                  warmup_steps=100, grad_clip=1.0, eval_interval=200, eval_size=256, target_accuracy=None,
                  time_limit=None, seed=0, device="cpu", out_dir=None, model=None,
                  callbacks: list[Callable[[dict], object]] = (), log: Callable[[str], object] | None = print
                  ) -> Seq2SeqResult:
    """Train a small T5 on a generated ``task`` (see TASKS) and measure held-out exact-match accuracy.

    Every step draws ``batch_size`` fresh random strings (never one of the ``eval_size`` held-out strings).
    AdamW, warmup then cosine decay, gradient clipping. Every ``eval_interval`` steps (and at the end) the
    held-out accuracy is measured with greedy decoding and logged. Training stops early once it reaches
    ``target_accuracy`` or runs past ``time_limit`` seconds. With ``out_dir`` the model is saved there.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")
    t_start = time.perf_counter()
    device = backend.check_device(device)
    held_out = make_examples(eval_size, min_len, max_len, seed=seed + 10_000)
    excluded = frozenset(held_out)
    rng = np.random.default_rng(seed)

    backend.manual_seed(seed)
    if model is None:
        model = T5(T5Config(vocab_size=VOCAB_SIZE, context_length=max_len + 8, d_model=d_model, n_layer=n_layer,
                            n_head=n_head, d_ff=d_ff, dropout=dropout, feed_forward_proj=feed_forward_proj,
                            relative_attention_num_buckets=32, relative_attention_max_distance=64,
                            pad_token_id=PAD, eos_token_id=EOS, decoder_start_token_id=PAD))
    model.to(device).train()
    params = list(model.parameters())
    groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    optimizer = AdamW(groups, lr=lr, betas=(0.9, 0.98))
    scheduler = WarmupCosine(optimizer, warmup_steps, steps, 0.05)
    if log:
        c = model.config
        log(f"T5 on '{task}': {c.n_layer}+{c.n_decoder_layer} layers, d_model {c.d_model}, {c.n_head} heads, "
            f"{c.feed_forward_proj} = {model.num_parameters():,} parameters | strings of {min_len}-{max_len} digits, "
            f"{eval_size} held out | up to {steps} steps of {batch_size}")

    result = Seq2SeqResult(model, task, held_out=held_out)
    step = 0
    for step in range(1, steps + 1):
        t0 = time.perf_counter()
        strings = []
        while len(strings) < batch_size:                   # fresh strings every step, never a held-out one
            s = "".join(map(str, rng.integers(0, 10, rng.integers(min_len, max_len + 1))))
            if s not in excluded:
                strings.append(s)
        ids, mask, labels = batch_examples(strings, task)
        loss = model(Tensor(ids, device=device), attention_mask=Tensor(mask, device=device),
                     labels=Tensor(labels, device=device)).loss
        optimizer.zero_grad()
        loss.backward()
        if grad_clip > 0:
            clip_grad_norm_(params, grad_clip)
        rec = {"step": step, "loss": float(loss.item()), "lr": optimizer.param_groups[0]["lr"]}
        optimizer.step()
        scheduler.step()
        elapsed = time.perf_counter() - t_start
        out_of_time = time_limit is not None and elapsed > time_limit
        if step % eval_interval == 0 or step == steps or out_of_time:
            rec["accuracy"] = result.accuracy = exact_match(model, held_out, task)
            model.train()
            if log:
                log(f"step {step:>{len(str(steps))}}/{steps}  loss {rec['loss']:.4f}  held-out exact match "
                    f"{rec['accuracy']:.1%}  ({time.perf_counter() - t_start:.0f}s)")
        rec["time"] = time.perf_counter() - t0
        result.history.append(rec)
        for cb in callbacks:
            cb(rec)
        if out_of_time or (target_accuracy is not None and rec.get("accuracy", 0.0) >= target_accuracy):
            break
    model.eval()
    result.steps, result.seconds = step, time.perf_counter() - t_start
    if out_dir is not None:
        model.save(out_dir)
    return result
