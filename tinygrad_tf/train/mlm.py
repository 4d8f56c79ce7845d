"""Masked-language-model batches for BERT, and a fill-mask readout (the Trainer's MaskedLM task uses them).

    from tinygrad_tf.train import train_mlm
    from tinygrad_tf.train.mlm import fill_mask
    result = train_mlm(steps=600)                    # WordPiece + a small BERT on the embedded corpus
    fill_mask(result.model, result.tokenizer, "the [MASK] statement leaves the function", top_k=5)
    # -> [[("return", 0.83), ("yield", 0.05), ...]]       one list per [MASK]

BERT learns by filling in blanks (Devlin et al. 2018). From each window of text, 15% of the tokens are
chosen; the model must name the original token at each chosen position (the labels; -100 everywhere
else, so only chosen positions count in the loss). A chosen token is replaced by [MASK] 80% of the time,
by a random token 10% of the time, and left as it is 10% of the time — so the model cannot rely on
seeing [MASK] (which never occurs when it is used later) and must keep a good representation of every
token, since any of them might be a target.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..tensor import Tensor
from .data import BatchSampler

__all__ = ["mask_tokens", "MLMBatches", "evaluate_mlm", "fill_mask", "held_out_sentence"]


def mask_tokens(ids, mask_token_id, vocab_size, special_ids=(), mlm_probability=0.15, rng=None,
                mask_fraction=0.8, random_fraction=0.1):
    """BERT's masking: (inputs, labels) from token ids (an int array of any shape).

    Every token that is not special ([CLS], [SEP], [PAD], ...) is chosen with probability ``mlm_probability``.
    labels = the original id at chosen positions, -100 elsewhere. A chosen input token becomes [MASK] with
    probability ``mask_fraction`` (0.8), a random non-special token with ``random_fraction`` (0.1), and
    stays as it is otherwise (0.1).
    """
    rng = np.random.default_rng() if rng is None else rng
    ids = np.asarray(ids, dtype=np.int64)
    special = np.isin(ids, np.fromiter(special_ids, dtype=np.int64, count=len(special_ids)))
    chosen = (rng.random(ids.shape) < mlm_probability) & ~special
    labels = np.where(chosen, ids, -100)
    u = rng.random(ids.shape)                                     # one draw decides what a chosen token becomes
    inputs = np.where(chosen & (u < mask_fraction), mask_token_id, ids)
    to_random = chosen & (u >= mask_fraction) & (u < mask_fraction + random_fraction)
    ordinary = np.setdiff1d(np.arange(vocab_size), np.fromiter(special_ids, dtype=np.int64, count=len(special_ids)))
    inputs = np.where(to_random, ordinary[rng.integers(0, len(ordinary), ids.shape)], inputs)
    return inputs, labels


class MLMBatches:
    """Random windows of a token stream as BERT inputs: [CLS] w_1 ... w_{T-2} [SEP], then masked.

    ``sample()`` -> (input_ids, labels), both (batch_size, seq_len) int64. Windows and masks come from two
    seeded generators of its own, so a run is reproducible.
    """

    def __init__(self, token_ids, tokenizer, batch_size, seq_len, mlm_probability=0.15, seed=0):
        self.tokenizer, self.seq_len, self.mlm_probability = tokenizer, seq_len, mlm_probability
        self.windows = BatchSampler(np.asarray(token_ids, dtype=np.int64), batch_size, seq_len - 2, seed=seed)
        self.rng = np.random.default_rng([seed, 0x3A5C])

    def wrap(self, windows):
        """(B, T-2) windows -> (B, T) with [CLS] in front and [SEP] at the end."""
        b = windows.shape[0]
        t = self.tokenizer
        return np.concatenate([np.full((b, 1), t.cls_token_id), windows, np.full((b, 1), t.sep_token_id)], axis=1)

    def mask(self, ids, rng=None):
        t = self.tokenizer
        return mask_tokens(ids, t.mask_token_id, t.vocab_size, sorted(t.special_ids), self.mlm_probability,
                           self.rng if rng is None else rng)

    def sample(self):
        return self.mask(self.wrap(self.windows.sample()))


@no_grad()
def evaluate_mlm(model, batches):
    """(mean loss, accuracy at the masked positions) over a list of (input_ids, labels) batches."""
    was_training = model.training
    model.eval()
    try:
        losses, right, total = [], 0, 0
        for inputs, labels in batches:
            out = model(Tensor(inputs, device=model.device), labels=Tensor(labels, device=model.device))
            losses.append(float(out.loss.item()))
            pred = backend.to_numpy(out.logits.data).argmax(-1)
            chosen = labels != -100
            right += int((pred[chosen] == labels[chosen]).sum())
            total += int(chosen.sum())
    finally:
        model.train(was_training)
    return float(np.mean(losses)), right / max(total, 1)


@no_grad()
def fill_mask(model, tokenizer, text, top_k=5):
    """The model's guesses for each [MASK] in ``text``: a list with one entry per [MASK], each a list of
    ``top_k`` (token, probability) pairs, most likely first. Special tokens are never suggested."""
    ids = tokenizer.encode(text)
    where = [i for i, t in enumerate(ids) if t == tokenizer.mask_token_id]
    if not where:
        raise ValueError(f"fill_mask: no [MASK] in {text!r}")
    if len(ids) > model.config.context_length:
        raise ValueError(f"fill_mask: {len(ids)} tokens exceed the model's "
                         f"context_length={model.config.context_length}")
    was_training = model.training
    model.eval()
    try:
        logits = backend.to_numpy(model(Tensor(np.array([ids]), device=model.device)).logits.data)[0]   # (T, V)
    finally:
        model.train(was_training)
    logits = logits.astype(np.float64)
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    special = sorted(tokenizer.special_ids)
    answers = []
    for i in where:
        p = probs[i].copy()
        p[special] = -1.0                                      # never suggest [PAD], [MASK], ...
        best = np.argsort(-p, kind="stable")[:top_k]
        answers.append([(tokenizer.id_to_token(int(j)), float(probs[i, j])) for j in best])
    return answers


def held_out_sentence(text, tokenizer, context, val_fraction=0.1):
    """(sentence with one word replaced by [MASK], that word) from the held-out end of ``text``, or None.

    The first sentence of 6-30 words (past the split point) that fits the context and has, away from its ends,
    a word of four or more letters that the tokenizer keeps whole; of those, the word most frequent in the
    text is masked (a fair question: the model has seen it often)."""
    counts = Counter(w.lower() for w in text.split() if w.isalpha())
    tail = text[int(len(text) * (1 - val_fraction)):]
    for part in (tail, text):                  # very small texts: any sentence will do
        for sentence in re.split(r"(?<=[.!?])\s+|\n\s*\n", part):
            words = sentence.split()
            if not 6 <= len(words) <= 30 or len(tokenizer.encode(" ".join(words))) > context:
                continue
            eligible = [i for i in range(1, len(words) - 1)
                        if words[i].isalpha() and len(words[i]) >= 4 and words[i].lower() in tokenizer.token_to_id]
            if eligible:
                best = max(eligible, key=lambda i: counts[words[i].lower()])
                return " ".join(words[:best] + ["[MASK]"] + words[best + 1:]), words[best].lower()
    return None
