"""Checkpoints: one folder that holds everything needed to sample from a model or resume its training.

    runs/demo/
      model.safetensors      the weights (safetensors: a JSON header + raw arrays, nothing executable)
      config.json            the model config ("model_type": "gpt" | "bert" | "t5" and its fields)
      tokenizer.json         the tokenizer (tinygrad_tf.text.load_tokenizer reads it)
      optimizer.safetensors  the optimizer's moment arrays          } only in training
      trainer_state.json     step, train config, optimizer numbers,  } checkpoints
                             scheduler, RNG and task states, history
      integrity.json         size and SHA-256 of each file above, checked on load (a missing one is an
                             error when model.safetensors says it was written: see fileio)

The folder is written by ``fileio.atomic_folder``, the same writer as ``model.save``: into a temporary
folder beside the target, flushed, then swapped in with two renames, so an existing checkpoint is never
left half-written — not on an error, not on a full disk, not on Ctrl-C. Its first two files are a native
model folder, so ``tinygrad_tf.nn.models.load`` reads a checkpoint too.

Every way loading can fail (missing folder, missing file, truncated or corrupt file, weights that do not
fit the config) raises ``CheckpointError`` with one line that says what is wrong.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..fileio import (MANIFEST_FILE, CheckpointError, atomic_folder, atomic_write_json, read_json, resolve_folder,
                      stale_copies)
from ..nn.models import load as load_model
from ..nn.models.base import CONFIG_NAME, WEIGHTS_NAME, check_folder, read_tensors, write_model_files

__all__ = ["CheckpointError", "Checkpoint", "save_checkpoint", "load_checkpoint", "is_checkpoint", "check_target",
           "check_writable", "stale_checkpoint", "MODEL_FILE", "CONFIG_FILE", "TOKENIZER_FILE", "OPTIMIZER_FILE", "STATE_FILE", "MANIFEST_FILE"]

MODEL_FILE, CONFIG_FILE = WEIGHTS_NAME, CONFIG_NAME
TOKENIZER_FILE = "tokenizer.json"
OPTIMIZER_FILE = "optimizer.safetensors"
STATE_FILE = "trainer_state.json"
OWN_FILES = (MODEL_FILE, CONFIG_FILE, TOKENIZER_FILE, OPTIMIZER_FILE, STATE_FILE, MANIFEST_FILE)
FORMAT, FORMAT_VERSION = "tinygrad_tf.checkpoint", 1


def is_checkpoint(path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / CONFIG_FILE).is_file() and (p / MODEL_FILE).is_file()


def stale_checkpoint(path) -> Path | None:
    """When ``path`` is missing because a save into it was killed between its two renames: the whole previous
    checkpoint left at ``.NAME.old-PID`` (loading finds it there, the next save puts it back), else None."""
    path = Path(path)
    if path.exists():
        return None
    return next((c for c in stale_copies(path) if is_checkpoint(c)), None)


def check_target(path) -> Path:
    """Raise CheckpointError if ``path`` is something a checkpoint must not replace (a file, a folder of
    other things); called before training starts, so a run does not fail only at its first save."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise CheckpointError(f"cannot write a checkpoint to {path}: it exists and is not a folder")
    if path.is_dir() and any(path.iterdir()) and not is_checkpoint(path):
        raise CheckpointError(f"refusing to overwrite {path}: the folder is not empty and is not a "
                              "tinygrad_tf checkpoint; choose another --out folder")
    return path


def check_writable(path) -> Path:
    """``check_target``, and make sure a checkpoint can be written at ``path`` at all: its parent folder is
    created (a parent that is a file, or a place nobody may write, is a CheckpointError now, before training,
    not at the first save) and a temporary file is written and removed there."""
    path = check_target(path)
    parent = path.parent
    blocker = next((a for a in [parent, *parent.parents] if a.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise CheckpointError(f"cannot write a checkpoint to {path}: {blocker} is a file, not a folder")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CheckpointError(f"cannot write a checkpoint to {path}: the folder {parent} cannot be created "
                              f"({e.strerror or e}); choose an --out folder you can write to") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.probe-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise CheckpointError(f"cannot write a checkpoint to {path}: no file can be created in {parent} "
                              f"({e.strerror or e}); choose an --out folder you can write to") from None
    return path


def save_checkpoint(path, model, tokenizer=None, *, optimizer_state: dict | None = None,
                    trainer_state: dict | None = None) -> Path:
    """Write a checkpoint folder at ``path`` atomically (see the module docstring).

    ``optimizer_state`` is an ``Optimizer.state_dict()``: its arrays go to optimizer.safetensors, its numbers
    and hyper-parameters into trainer_state.json. Files already in ``path`` that are not checkpoint files
    (notes, plots) are kept.
    """
    path = check_target(path)
    with atomic_folder(path, replaces=OWN_FILES) as tmp:
        write_model_files(tmp, model)
        if tokenizer is not None:
            atomic_write_json(tmp / TOKENIZER_FILE, tokenizer.to_dict(), indent=1)
        state = dict(trainer_state or {})
        if optimizer_state is not None:            # arrays to safetensors, numbers to JSON
            from safetensors.numpy import save_file
            arrays, numbers = {}, {}
            for i, s in optimizer_state["state"].items():
                for k, v in s.items():
                    if hasattr(v, "shape") and np.ndim(v) > 0:
                        arrays[f"{i}.{k}"] = np.ascontiguousarray(v)
                    else:
                        numbers.setdefault(str(i), {})[k] = v.item() if hasattr(v, "item") else v
            save_file(arrays, str(tmp / OPTIMIZER_FILE))
            state["optimizer"] = {"param_groups": optimizer_state["param_groups"], "scalars": numbers}
        if trainer_state is not None or optimizer_state is not None:
            atomic_write_json(tmp / STATE_FILE, {"format": FORMAT, "format_version": FORMAT_VERSION, **state},
                              indent=1, allow_nan=True)
    return path


@dataclass
class Checkpoint:
    """What ``load_checkpoint`` returns."""

    path: Path
    model: object
    config: object                      # the model's config dataclass
    tokenizer: object | None
    trainer_state: dict | None          # None for a weights-only checkpoint
    optimizer_state: dict | None        # an Optimizer.state_dict() (NumPy arrays), or None


def _missing(p: Path, name: str, what: str):
    if not (p / name).is_file():
        raise CheckpointError(f"{p} is not a complete checkpoint: {name} ({what}) is missing")


def load_checkpoint(path, device: str = "cpu", *, load_training_state: bool = True, verify: bool = True) -> Checkpoint:
    """Read a checkpoint folder: the model (on ``device``), its tokenizer and, if present, the training state.

    ``verify`` checks the files it reads against the folder's integrity manifest first (an IntegrityError
    names a truncated or modified file: weights, config, tokenizer, training state); ``verify=False`` is the
    ``--no-verify`` escape hatch.
    """
    p = resolve_folder(path, is_checkpoint)
    reads = [CONFIG_FILE, MODEL_FILE, TOKENIZER_FILE] + ([STATE_FILE, OPTIMIZER_FILE] if load_training_state else [])
    check_folder(p, reads, verify)
    model = load_model(p, device=device, verify=False)       # config.json + model.safetensors, checked above

    tokenizer = None
    if (p / TOKENIZER_FILE).exists():
        from ..text import TokenizerError, load_tokenizer
        try:
            tokenizer = load_tokenizer(read_json(p / TOKENIZER_FILE, "tokenizer", CheckpointError))
        except TokenizerError as e:
            raise CheckpointError(f"{p / TOKENIZER_FILE}: {e}") from None

    trainer_state = optimizer_state = None
    if load_training_state and (p / STATE_FILE).exists():
        trainer_state = read_json(p / STATE_FILE, "training state", CheckpointError)
        opt = trainer_state.pop("optimizer", None)
        if opt is not None:
            _missing(p, OPTIMIZER_FILE, "optimizer state")
            try:
                state: dict = {}
                for key, arr in read_tensors(p / OPTIMIZER_FILE, "optimizer state").items():
                    i, name = key.split(".", 1)
                    state.setdefault(int(i), {})[name] = arr
                for i, nums in opt.get("scalars", {}).items():
                    state.setdefault(int(i), {}).update(nums)
                optimizer_state = {"state": state, "param_groups": opt["param_groups"]}
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                raise CheckpointError(f"{p / STATE_FILE}: corrupt optimizer state ({e})") from None
    return Checkpoint(p, model, model.config, tokenizer, trainer_state, optimizer_state)
