"""Masked-language-model training for BERT, and a fill-mask readout.

    from tinygrad_tf.train.mlm import train_mlm, fill_mask
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

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..nn import functional as F
from ..nn.models import BERT, BertConfig
from ..nn.utils import clip_grad_norm_
from ..optim import AdamW, WarmupCosine
from ..tensor import Tensor
from ..text import WordPieceTokenizer, load_corpus, train_val_split
from .data import BatchSampler, eval_batches

__all__ = ["mask_tokens", "MLMBatches", "MLMResult", "train_mlm", "evaluate_mlm", "fill_mask"]


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


@dataclass
class MLMResult:
    """What ``train_mlm`` returns: the model (in eval mode) and tokenizer, one metrics dict per step
    (``step, loss, lr, grad_norm, time`` and ``val_loss, val_accuracy`` on evaluation steps), the final
    validation loss and masked-token accuracy, and the wall time."""

    model: BERT
    tokenizer: WordPieceTokenizer
    history: list = field(default_factory=list)
    val_loss: float = float("nan")
    val_accuracy: float = float("nan")
    seconds: float = 0.0


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


def train_mlm(data=None, *, tokenizer=None, vocab_size=2000, seq_len=64, d_model=128, n_layer=2, n_head=4,
              d_ff=None, dropout=0.1, steps=600, batch_size=32, lr=1e-3, weight_decay=0.01, warmup_steps=60,
              mlm_probability=0.15, grad_clip=1.0, eval_interval=100, eval_iters=4, val_fraction=0.1, seed=0,
              device="cpu", out_dir=None, model=None, callbacks: list[Callable[[dict], object]] = (),
              log: Callable[[str], object] | None = print) -> MLMResult:
    """Train a BERT masked-language model on ``data`` (a UTF-8 text file; None = the embedded corpus).

    The WordPiece tokenizer is trained on the text (``vocab_size`` pieces) unless one is given. The model
    is a BertConfig of the given size with an MLM head (or ``model``: any BERT with one, trained further).
    AdamW (no weight decay on biases and norms), linear warmup then cosine decay, gradient clipping.
    Every ``eval_interval`` steps the validation loss and masked-token accuracy are measured on the last
    ``val_fraction`` of the text (the same windows and masks every time) and a line goes to ``log``.
    ``callbacks`` get each step's metrics dict. With ``out_dir`` the model and tokenizer are saved there
    (a checkpoint folder that ``tinygrad_tf.train.load_checkpoint`` reads). Returns an MLMResult.
    """
    t_start = time.perf_counter()
    device = backend.check_device(device)
    text = load_corpus(data)
    if tokenizer is None:
        tokenizer = WordPieceTokenizer.train(text, vocab_size)
    ids = np.asarray(tokenizer.encode(text, add_special_tokens=False), dtype=np.int64)
    train_ids, val_ids = train_val_split(ids, val_fraction)

    backend.manual_seed(seed)
    if model is None:
        config = BertConfig(vocab_size=tokenizer.vocab_size, context_length=seq_len, d_model=d_model, n_layer=n_layer,
                            n_head=n_head, d_ff=d_ff, dropout=dropout, pooler=False, mlm_head=True,
                            pad_token_id=tokenizer.pad_token_id)
        model = BERT(config)
    if not model.config.mlm_head:
        raise ValueError("train_mlm: the model has no masked-LM head (BertConfig mlm_head=True)")
    if model.config.vocab_size != tokenizer.vocab_size:
        raise ValueError(f"train_mlm: the model's vocab_size={model.config.vocab_size} does not match the "
                         f"tokenizer's {tokenizer.vocab_size}")
    model.to(device).train()

    batches = MLMBatches(train_ids, tokenizer, batch_size, seq_len, mlm_probability, seed)
    val = MLMBatches(val_ids, tokenizer, batch_size, seq_len, mlm_probability, seed)
    val_rng = np.random.default_rng([seed, 0xE7A1])                  # the same masks at every evaluation
    val_batches = [val.mask(val.wrap(w), val_rng) for w in eval_batches(val_ids, batch_size, seq_len - 2,
                                                                         eval_iters, seed)]

    params = list(model.parameters())
    groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    optimizer = AdamW(groups, lr=lr, betas=(0.9, 0.98), eps=1e-6)
    scheduler = WarmupCosine(optimizer, warmup_steps, steps, 0.1)
    if log:
        log(f"BERT MLM: {model.config.n_layer} layers, d_model {model.config.d_model}, {model.config.n_head} heads, "
            f"vocab {tokenizer.vocab_size} (WordPiece) = {model.num_parameters():,} parameters | "
            f"{len(train_ids):,} train / {len(val_ids):,} val tokens | {steps} steps of {batch_size} x {seq_len}")

    history, result = [], MLMResult(model, tokenizer)
    for step in range(1, steps + 1):
        t0 = time.perf_counter()
        inputs, labels = batches.sample()
        hidden, _ = model.encode(Tensor(inputs, device=device))                      # (B, T, d)
        # score only the chosen positions (15% of them): the same loss as model(inputs, labels=labels).loss,
        # without computing vocabulary-wide logits that the loss would ignore
        flat = labels.reshape(-1)
        chosen = np.flatnonzero(flat != -100)
        logits = model.mlm_logits(hidden.reshape(-1, hidden.shape[-1])[chosen])       # (n_chosen, vocab)
        loss = F.cross_entropy(logits, Tensor(flat[chosen], device=device))
        optimizer.zero_grad()
        loss.backward()
        gnorm = clip_grad_norm_(params, grad_clip) if grad_clip > 0 else None
        rec = {"step": step, "loss": float(loss.item()), "lr": optimizer.param_groups[0]["lr"],
               "grad_norm": float(gnorm.item()) if gnorm is not None else float("nan")}
        optimizer.step()
        scheduler.step()
        if step % eval_interval == 0 or step == steps:
            rec["val_loss"], rec["val_accuracy"] = evaluate_mlm(model, val_batches)
            result.val_loss, result.val_accuracy = rec["val_loss"], rec["val_accuracy"]
            if log:
                log(f"step {step:>{len(str(steps))}}/{steps}  loss {rec['loss']:.3f}  val loss {rec['val_loss']:.3f}  "
                    f"masked-token accuracy {rec['val_accuracy']:.1%}  ({time.perf_counter() - t_start:.0f}s)")
        rec["time"] = time.perf_counter() - t0
        history.append(rec)
        for cb in callbacks:
            cb(rec)
    model.eval()
    result.history, result.seconds = history, time.perf_counter() - t_start
    if out_dir is not None:
        from .checkpoint import save_checkpoint
        save_checkpoint(out_dir, model, tokenizer)
    return result


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
