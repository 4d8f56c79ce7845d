"""Training data: text -> token ids -> train/validation split -> random batches of windows.

    text = load_corpus(path)                       # the embedded default corpus when path is None
    tok = build_tokenizer(text, "char")            # or "bpe" with a vocab size
    data = TokenData.from_text(text, tok, val_fraction=0.1)
    sampler = BatchSampler(data.train, batch_size=16, block_size=64 + 1, seed=0)
    window = sampler.sample()                      # (16, 65) int64 windows
    x, y = window[:, :-1], window[:, 1:]           # inputs and next-token targets, (16, 64) each

A window of T+1 consecutive tokens is one training example: T inputs and, for
each of them, the token that follows. Every one of the T positions of the
model's context gets a target (``block_size = context_length + 1``); see
train/tasks.py for why this beats ``labels = input_ids`` on a window of T.

Classification data (``labelled_texts``) is a file of ``LABEL<tab>TEXT`` lines, or
the built-in "real or shuffled?" sentences of the default corpus.

The split is deterministic (the last ``val_fraction`` of the token stream is
validation, never shuffled), and the sampler's random state is a plain dict
(``state_dict``) so that a resumed run draws exactly the batches the
uninterrupted run would have drawn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..text import ByteBPETokenizer, CharTokenizer, DataError, Tokenizer, default_corpus, read_text_file, train_val_split

__all__ = ["TokenData", "BatchSampler", "build_tokenizer", "encode_text", "encode_prompt", "eval_batches", "windows",
           "labelled_texts", "pad_batch"]


def build_tokenizer(text: str, kind: str = "char", vocab_size: int = 512) -> Tokenizer:
    """Train a tokenizer on ``text``: ``"char"`` (one id per character) or ``"bpe"`` (byte-level BPE)."""
    if kind == "char":
        return CharTokenizer.train(text)
    if kind == "bpe":
        return ByteBPETokenizer.train(text, vocab_size)
    raise DataError(f"unknown tokenizer kind {kind!r}; expected 'char' or 'bpe'")


def encode_text(text: str, tokenizer: Tokenizer) -> np.ndarray:
    """The token ids of ``text`` as a 1-D int64 array."""
    return np.asarray(tokenizer.encode(text), dtype=np.int64)


def encode_prompt(tokenizer: Tokenizer, text: str) -> list[int]:
    """Ids for a prompt typed by someone: a character tokenizer replaces characters it never saw instead of
    failing (a sample must not end a run)."""
    ids = tokenizer.encode(text, errors="replace") if hasattr(tokenizer, "char_to_id") else tokenizer.encode(text)
    return ids or [0]


@dataclass
class TokenData:
    """Token ids split into a training part and a validation part (both 1-D int64 arrays)."""

    train: np.ndarray
    val: np.ndarray

    @classmethod
    def from_text(cls, text: str, tokenizer: Tokenizer, val_fraction: float = 0.1) -> "TokenData":
        ids = encode_text(text, tokenizer)
        train, val = train_val_split(ids, val_fraction)
        return cls(np.ascontiguousarray(train), np.ascontiguousarray(val))

    def check_block(self, block_size: int, what: str = "context length + 1") -> None:
        """Raise DataError (one line) when a split is too short for even one window."""
        for name, arr in (("training", self.train), ("validation", self.val)):
            if len(arr) < block_size:
                raise DataError(f"the {name} split has {len(arr)} tokens, fewer than one window of {block_size} "
                                f"({what}); use more text or a shorter --context")


def windows(data: np.ndarray, starts: np.ndarray, block_size: int) -> np.ndarray:
    """``data[s : s + block_size]`` for each start ``s``, stacked into (len(starts), block_size)."""
    return data[starts[:, None] + np.arange(block_size)]


class BatchSampler:
    """Random windows from one token array, from its own seeded generator (not the global one).

    ``state_dict()`` / ``load_state_dict()`` save and restore the generator, so
    batches after a resume are the same as without the interruption.
    """

    def __init__(self, data: np.ndarray, batch_size: int, block_size: int, seed: int = 0):
        if len(data) < block_size:
            raise DataError(f"{len(data)} tokens are fewer than one window of {block_size}")
        self.data, self.batch_size, self.block_size = data, int(batch_size), int(block_size)
        self.rng = np.random.default_rng(seed)

    def sample(self) -> np.ndarray:
        """One batch: (batch_size, block_size) int64 token ids."""
        starts = self.rng.integers(0, len(self.data) - self.block_size + 1, size=self.batch_size)
        return windows(self.data, starts, self.block_size)

    def state_dict(self) -> dict:
        return {"bit_generator": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["bit_generator"]


def eval_batches(data: np.ndarray, batch_size: int, block_size: int, n_batches: int, seed: int = 0) -> list:
    """A fixed list of ``n_batches`` random batches, the same every call (so every evaluation of a run
    measures the loss on the same windows and the validation curve is not noisy from resampling)."""
    if len(data) < block_size:
        raise DataError(f"{len(data)} tokens are fewer than one window of {block_size}")
    rng = np.random.default_rng([seed, 0xE7A1])
    hi = len(data) - block_size + 1
    return [windows(data, rng.integers(0, hi, size=batch_size), block_size) for _ in range(n_batches)]


# ---------------------------------------------------------------- classification
def labelled_texts(path=None, n_builtin=3000) -> tuple[list[str], list[str], str]:
    """(texts, labels, the raw data), in a fixed random order (so a split is not by file order), from a file
    of ``LABEL<tab>TEXT`` lines. Without a file: sentences of the default corpus (8-40 words), each twice, as it
    is ("real") and with its words shuffled ("shuffled"), the pair side by side, so only word order tells them
    apart and a split at an even index keeps both forms of a sentence on the same side."""
    rng = np.random.default_rng(0)
    if path is None:
        sentences = [" ".join(s.split()) for s in re.split(r"(?<=[.!?])\s+", default_corpus())
                     if 8 <= len(s.split()) <= 40]
        texts, labels = [], []
        for i in rng.permutation(len(sentences))[:n_builtin]:
            words = sentences[i].split()
            texts += [sentences[i], " ".join(words[j] for j in rng.permutation(len(words)))]
            labels += ["real", "shuffled"]
        return texts, labels, "\n".join(f"{y}\t{t}" for y, t in zip(labels, texts))
    raw = read_text_file(path)
    pairs = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        label, tab, text = line.partition("\t")
        if not tab or not label.strip() or not text.strip():
            raise DataError(f"{path}, line {n}: expected LABEL<tab>TEXT, got {line[:60]!r}")
        pairs.append((text.strip(), label.strip()))
    if len({y for _, y in pairs}) < 2 or len(pairs) < 4:
        raise DataError(f"{path}: classification needs at least 4 texts and 2 different labels, got {len(pairs)} "
                        f"texts with labels {sorted({y for _, y in pairs})}")
    pairs = [pairs[i] for i in rng.permutation(len(pairs))]
    return [t for t, _ in pairs], [y for _, y in pairs], raw


def pad_batch(seqs: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, attention_mask), both (B, longest): each sequence padded on the right with ``pad_id``."""
    ids = np.full((len(seqs), max(map(len, seqs))), pad_id, dtype=np.int64)
    mask = np.zeros_like(ids)
    for i, s in enumerate(seqs):
        ids[i, :len(s)], mask[i, :len(s)] = s, 1
    return ids, mask
