"""Generated sequence-to-sequence tasks for T5, measured by exact match (the Trainer's DigitTask uses them).

    from tinygrad_tf.train import train_seq2seq
    result = train_seq2seq("reverse")           # "3 1 4 1 5" -> "5 1 4 1 3"; about a minute on a CPU
    result.accuracy                             # exact-match accuracy on held-out strings (greedy decoding)

A task maps a random digit string to a target string. Token ids: 0 = padding (also T5's decoder start
token), 1 = end of sequence, 2..11 = the digits 0..9. The encoder reads ``digits + [EOS]`` (padded, with an
attention mask); the decoder is taught to write ``target + [EOS]`` (teacher forcing: T5 shifts the labels
right by itself; padding in the labels is -100 and does not count). A prediction is right only if
greedy ``generate`` reproduces the whole target and then stops. The held-out strings never occur in training.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..tensor import Tensor

__all__ = ["TASKS", "PAD", "EOS", "VOCAB_SIZE", "encode_digits", "decode_digits", "make_examples", "batch_examples",
           "answer", "exact_match"]

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


class TextCodec:
    """The digit strings through a pretrained model's own tokenizer (``train --init-from`` a T5): each string is
    encoded as text (the tokenizer's post-processor ends it with </s>), answers decoded back, spaces dropped."""

    def __init__(self, tokenizer):
        self.tok, self.pad, self.eos = tokenizer, tokenizer.pad_token_id, tokenizer.eos_token_id
        if self.pad is None or self.eos is None:
            raise ValueError("a T5 digit task needs a tokenizer with <pad> and </s>")

    def encode(self, s):
        ids = list(self.tok.encode(s))
        return ids if ids and ids[-1] == self.eos else ids + [self.eos]

    def decode(self, ids):
        ids = [int(i) for i in ids]
        ids = ids[:ids.index(self.eos)] if self.eos in ids else ids
        return "".join(ch for ch in self.tok.decode(ids) if not ch.isspace())


def batch_examples(strings, task="reverse", codec=None):
    """(input_ids, attention_mask, labels) int64 arrays for a list of source strings; padded on the right.
    ``codec``: a TextCodec (a pretrained tokenizer's ids) instead of the digit ids."""
    fn = TASKS[task]
    enc, pad = (codec.encode, codec.pad) if codec is not None else (encode_digits, PAD)
    src = [enc(s) for s in strings]
    tgt = [enc(fn(s)) for s in strings]
    s_len, t_len = max(map(len, src)), max(map(len, tgt))
    ids = np.full((len(src), s_len), pad, dtype=np.int64)
    labels = np.full((len(tgt), t_len), -100, dtype=np.int64)
    for i, (a, b) in enumerate(zip(src, tgt)):
        ids[i, :len(a)], labels[i, :len(b)] = a, b
    mask = np.zeros_like(ids)
    for i, a in enumerate(src):
        mask[i, :len(a)] = 1
    return ids, mask, labels


@no_grad()
def answer(model, strings, task="reverse", batch_size=256, codec=None) -> list:
    """The model's greedy answer to each digit string: the digits it writes before EOS, or None when it never
    writes EOS (an answer that does not stop is not an answer)."""
    fn, out = TASKS[task], []
    for i in range(0, len(strings), batch_size):
        chunk = strings[i:i + batch_size]
        ids, mask, _ = batch_examples(chunk, task, codec)
        eos, decode = (codec.eos, codec.decode) if codec is not None else (EOS, decode_digits)
        longest = max(len(codec.encode(fn(s)) if codec else fn(s)) for s in chunk) + 1
        rows = backend.to_numpy(model.generate(Tensor(ids, device=model.device), longest, temperature=0,
                                               eos_token_id=eos, attention_mask=Tensor(mask, device=model.device)
                                               ).data)
        out += [decode(row[1:]) if eos in row[1:].tolist() else None for row in rows]   # [1:]: the start token
    return out


def exact_match(model, strings, task="reverse", batch_size=256, codec=None) -> float:
    """Fraction of ``strings`` whose greedy decoding is exactly the task's target (followed by EOS)."""
    fn = TASKS[task]
    got = answer(model, strings, task, batch_size, codec)
    return sum(g == fn(s) for s, g in zip(strings, got)) / len(strings)
