"""Training: data batching, the loop, checkpoints.

    from tinygrad_tf.train import TrainConfig, train
    history = train(TrainConfig(steps=500, out_dir="runs/mini"))
    history = train(resume="runs/mini", steps=1000)      # continues bit for bit

data.py        tokenizer building, train/val split, seeded random windows (BatchSampler)
loop.py        TrainConfig, Trainer (one step, evaluation, progress, Ctrl-C), train()
checkpoint.py  atomic checkpoint folders: save_checkpoint, load_checkpoint, CheckpointError
"""

from .checkpoint import Checkpoint, CheckpointError, is_checkpoint, load_checkpoint, save_checkpoint
from .data import BatchSampler, TokenData, build_tokenizer, encode_text, eval_batches
from .loop import MODEL_FIELDS, TRAIN_PRESETS, TrainConfig, Trainer, train

__all__ = ["Checkpoint", "CheckpointError", "is_checkpoint", "load_checkpoint", "save_checkpoint",
           "BatchSampler", "TokenData", "build_tokenizer", "encode_text", "eval_batches",
           "MODEL_FIELDS", "TRAIN_PRESETS", "TrainConfig", "Trainer", "train"]
