"""Training: one Trainer for GPT, BERT and T5, the tasks it runs, their data, and checkpoints.

    from tinygrad_tf.train import TrainConfig, Trainer, train
    history = train(TrainConfig(steps=500, out_dir="runs/mini"))          # a character-level GPT
    history = train(resume="runs/mini", steps=1000)                       # continues bit for bit
    history = train(TrainConfig(family="bert", steps=600, out_dir="runs/bert"))    # masked-LM BERT
    history = train(TrainConfig(family="t5", task="reverse"))             # T5 on a digit task

config.py      TrainConfig: every option, each family's defaults, validation
trainer.py     Trainer (one step, evaluation, progress, Ctrl-C / SIGTERM, NaN guard, resume), train()
recipes.py     train_mlm / train_seq2seq: one call for a notebook
tasks.py       what each family brings: batches, loss, evaluation, a sample (LanguageModeling, MaskedLM, ...)
data.py        tokenizers, train/val split, seeded random windows (BatchSampler), labelled texts
mlm.py         BERT's masking and fill-mask;  seq2seq.py  the digit tasks and exact match
checkpoint.py  atomic checkpoint folders: save_checkpoint, load_checkpoint, CheckpointError
"""

from .checkpoint import Checkpoint, CheckpointError, is_checkpoint, load_checkpoint, save_checkpoint
from .config import FAMILIES, MODEL_FIELDS, TASKS, TRAIN_PRESETS, TrainConfig
from .data import BatchSampler, TokenData, build_tokenizer, encode_text, eval_batches
from .tasks import Classification, DigitTask, LanguageModeling, MaskedLM, Task, make_task
from .recipes import TrainResult, train_mlm, train_seq2seq
from .trainer import Trainer, TrainingDiverged, make_optimizer, train

__all__ = ["Checkpoint", "CheckpointError", "is_checkpoint", "load_checkpoint", "save_checkpoint",
           "FAMILIES", "MODEL_FIELDS", "TASKS", "TRAIN_PRESETS", "TrainConfig",
           "BatchSampler", "TokenData", "build_tokenizer", "encode_text", "eval_batches",
           "Task", "LanguageModeling", "MaskedLM", "Classification", "DigitTask", "make_task",
           "Trainer", "TrainResult", "TrainingDiverged", "make_optimizer", "train", "train_mlm", "train_seq2seq"]
