"""One-call recipes for notebooks: a masked-LM BERT or a digit-task T5 in one call, through the one Trainer.

    result = train_mlm(steps=600)                  # TrainResult: model, tokenizer, history, val_loss, ...
    result = train_seq2seq("reverse", steps=1200)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .config import TrainConfig
from .trainer import Trainer

__all__ = ["TrainResult", "train_mlm", "train_seq2seq"]


@dataclass
class TrainResult:
    """What ``train_mlm`` / ``train_seq2seq`` return: the model (eval mode), its tokenizer, the history, the last
    evaluation's numbers (``val_loss``, ``val_accuracy``; ``accuracy`` for T5), steps run and wall time."""

    model: object
    tokenizer: object
    history: list = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    held_out: list = field(default_factory=list)
    val_loss: float = float("nan")
    val_accuracy: float = float("nan")
    accuracy: float = float("nan")


def _recipe(config, model=None, tokenizer=None, callbacks=(), log=print) -> TrainResult:
    t0 = time.perf_counter()
    trainer = Trainer(config, model=model, tokenizer=tokenizer, callbacks=callbacks, show_progress=log is not None)
    if log is not None:
        log(trainer.describe())
    history = trainer.run()
    last = next((r for r in reversed(history) if trainer.task.accuracy_key in r), {})
    return TrainResult(trainer.model.eval(), trainer.tokenizer, history, trainer.step, time.perf_counter() - t0,
                       getattr(trainer.task, "held_out", []),
                       **{k: last[k] for k in ("val_loss", "val_accuracy", "accuracy") if k in last})


def train_mlm(data=None, *, tokenizer=None, vocab_size=2000, seq_len=64, d_model=128, n_layer=2, n_head=4, d_ff=None,
              dropout=0.1, model=None, callbacks=(), log=print, **options) -> TrainResult:
    """A masked-LM BERT on ``data`` (a UTF-8 text file; None = the embedded corpus) in one call; ``options``
    are TrainConfig fields (steps, batch_size, lr, warmup_steps, eval_interval, out_dir, ...). ``model`` and
    ``tokenizer``: train these further instead of new ones."""
    config = TrainConfig(family="bert", data=None if data is None else str(data), vocab_size=vocab_size,
                         context_length=seq_len, d_model=d_model, n_layer=n_layer, n_head=n_head, d_ff=d_ff,
                         dropout=dropout, **options)
    return _recipe(config, model, tokenizer, callbacks, log)


def train_seq2seq(task="reverse", *, d_model=64, n_layer=2, n_head=4, d_ff=256, feed_forward_proj="relu",
                  dropout=0.0, model=None, callbacks=(), log=print, **options) -> TrainResult:
    """A small T5 on a generated digit ``task`` (seq2seq.TASKS) in one call; ``options`` are TrainConfig fields
    (steps, batch_size, min_len, max_len, eval_size, target_accuracy, out_dir, ...)."""
    config = TrainConfig(family="t5", task=task, d_model=d_model, n_layer=n_layer, n_head=n_head, d_ff=d_ff,
                         dropout=dropout, model={"feed_forward_proj": feed_forward_proj}, **options)
    return _recipe(config, model, None, callbacks, log)
