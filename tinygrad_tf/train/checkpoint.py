"""Checkpoints: one folder that holds everything needed to sample from a model or resume its training.

    runs/demo/
      model.safetensors      the weights (safetensors: a JSON header + raw arrays, nothing executable)
      config.json            the model config ("model_type": "gpt" and the GPTConfig fields)
      tokenizer.json         the tokenizer (tinygrad_tf.text.load_tokenizer reads it)
      optimizer.safetensors  the optimizer's moment arrays          } only in training
      trainer_state.json     step, train config, optimizer numbers,  } checkpoints
                             scheduler, RNG and sampler states, history
      integrity.json         size and SHA-256 of each weights file, checked on load (train/integrity.py)

Saving is atomic: everything is written into a temporary folder beside the
target, flushed to disk, and only then swapped in with two renames, so an
existing checkpoint is never left half-written — not on an error, not on a
full disk, not on Ctrl-C (which is held back until the swap is done). If the
process dies between the two renames, the previous checkpoint is still whole
at ``.NAME.old-PID`` and ``load_checkpoint`` finds it there.

Every way loading can fail (missing folder, missing file, truncated or corrupt
file, weights that do not fit the config) raises ``CheckpointError`` with one
line that says what is wrong.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import backend
from ..nn.models import CheckpointError   # one error type for "this checkpoint cannot be used", shared with Model.load

__all__ = ["CheckpointError", "Checkpoint", "save_checkpoint", "load_checkpoint", "is_checkpoint", "check_target",
           "deferred_sigint", "MODEL_FILE", "CONFIG_FILE", "TOKENIZER_FILE", "OPTIMIZER_FILE", "STATE_FILE",
           "MANIFEST_FILE"]

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
TOKENIZER_FILE = "tokenizer.json"
OPTIMIZER_FILE = "optimizer.safetensors"
STATE_FILE = "trainer_state.json"
MANIFEST_FILE = "integrity.json"     # size + SHA-256 of the weights files (train/integrity.py)
OWN_FILES = (MODEL_FILE, CONFIG_FILE, TOKENIZER_FILE, OPTIMIZER_FILE, STATE_FILE, MANIFEST_FILE)
FORMAT = "tinygrad_tf.checkpoint"
FORMAT_VERSION = 1


# ---------------------------------------------------------------------------
# Ctrl-C: held back during sections that must not be cut in half
# ---------------------------------------------------------------------------
@contextlib.contextmanager
def deferred_sigint():
    """Hold a Ctrl-C (SIGINT) until the block ends, then deliver it.

    Used around the optimizer update and the checkpoint swap, so an interrupt
    can only land *between* consistent states. Outside the main thread (where
    Python cannot install signal handlers) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    try:
        old = signal.signal(signal.SIGINT, lambda signum, frame: received.append((signum, frame)))
    except (ValueError, OSError):      # e.g. an embedded interpreter without signal support
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
    if received:
        if callable(old):
            old(*received[0])
        elif old != signal.SIG_IGN:
            raise KeyboardInterrupt


# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------
def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):      # not every OS lets you open a directory
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _make_readable(folder: Path) -> None:
    """mkdtemp makes a private (0700) folder; give it and our files the modes a normal mkdir/open would."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)
    for name in OWN_FILES:
        if (folder / name).exists():
            os.chmod(folder / name, 0o666 & ~umask)


def _write_json(path: Path, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, allow_nan=True)
        f.flush()
        os.fsync(f.fileno())


def _write_tensors(path: Path, arrays: dict, metadata: dict | None = None) -> None:
    from safetensors.numpy import save_file
    save_file({k: np.ascontiguousarray(backend.to_numpy(v)) for k, v in arrays.items()}, str(path),
              metadata=metadata)
    _fsync_file(path)


def is_checkpoint(path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / CONFIG_FILE).is_file() and (p / MODEL_FILE).is_file()


def model_config_dict(model) -> dict:
    """``{"model_type": "gpt", **asdict(model.config)}`` for a model with a dataclass ``config``."""
    cfg = getattr(model, "config", None)
    if cfg is None or not dataclasses.is_dataclass(cfg):
        raise CheckpointError(f"{type(model).__name__} has no dataclass .config, so it cannot be checkpointed")
    d = cfg.to_dict() if hasattr(cfg, "to_dict") else dataclasses.asdict(cfg)
    return {"model_type": getattr(cfg, "model_type", "") or type(model).__name__.lower(), **d}


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


def save_checkpoint(path, model, tokenizer=None, *, optimizer_state: dict | None = None,
                    trainer_state: dict | None = None) -> Path:
    """Write a checkpoint folder at ``path`` atomically (see the module docstring).

    ``optimizer_state`` is an ``Optimizer.state_dict()``: its arrays go to
    optimizer.safetensors, its numbers and hyper-parameters into trainer_state.json.
    Files in an existing ``path`` that are not checkpoint files (notes, plots)
    are carried over into the new folder.
    """
    path = check_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    old = path.parent / f".{path.name}.old-{os.getpid()}"
    try:
        weights = {name: t.data for name, t in model.state_dict().items()}
        config = model_config_dict(model)        # the same two files as model.save(), so Model.load reads it
        _write_tensors(tmp / MODEL_FILE, weights, {"format": "np", "model_type": config["model_type"]})
        _write_json(tmp / CONFIG_FILE, config)
        if tokenizer is not None:
            _write_json(tmp / TOKENIZER_FILE, tokenizer.to_dict())
        state = dict(trainer_state or {})
        if optimizer_state is not None:
            arrays, numbers = {}, {}
            for i, s in optimizer_state["state"].items():
                for k, v in s.items():
                    if hasattr(v, "shape") and np.ndim(v) > 0:
                        arrays[f"{i}.{k}"] = v
                    else:
                        numbers.setdefault(str(i), {})[k] = v.item() if hasattr(v, "item") else v
            _write_tensors(tmp / OPTIMIZER_FILE, arrays)
            state["optimizer"] = {"param_groups": optimizer_state["param_groups"], "scalars": numbers}
        if trainer_state is not None or optimizer_state is not None:
            _write_json(tmp / STATE_FILE, {"format": FORMAT, "format_version": FORMAT_VERSION, **state})
        if path.is_dir():        # carry over files that are not ours
            for entry in path.iterdir():
                if entry.name not in OWN_FILES:
                    dst = tmp / entry.name
                    (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, dst)
        from .integrity import write_manifest
        write_manifest(tmp)                  # of the new weights (a carried-over manifest would be stale)
        _make_readable(tmp)
        _fsync_dir(tmp)
        with deferred_sigint():          # the swap: two renames, never cut in half by Ctrl-C
            had_old = path.exists()
            if had_old:
                os.rename(path, old)
            try:
                os.rename(tmp, path)
            except BaseException:
                if had_old:
                    os.rename(old, path)
                raise
            _fsync_dir(path.parent)
        if had_old:
            shutil.rmtree(old, ignore_errors=True)
        for stale in path.parent.glob(f".{path.name}.old-*"):     # left by a save that was killed mid-swap
            shutil.rmtree(stale, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


# ---------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------
@dataclass
class Checkpoint:
    """What ``load_checkpoint`` returns."""

    path: Path
    model: object
    config: object                      # the model's config dataclass
    tokenizer: object | None
    trainer_state: dict | None          # None for a weights-only checkpoint
    optimizer_state: dict | None        # an Optimizer.state_dict() (NumPy arrays), or None


def _resolve(path) -> Path:
    p = Path(path)
    if p.is_dir():
        return p
    if not p.exists():
        leftovers = sorted(p.parent.glob(f".{p.name}.old-*")) if p.parent.is_dir() else []
        for cand in leftovers:             # a save that died between its two renames
            if is_checkpoint(cand):
                return cand
        raise CheckpointError(f"checkpoint folder not found: {p}")
    raise CheckpointError(f"{p} is a file; a checkpoint is a folder (with {MODEL_FILE}, {CONFIG_FILE}, ...)")


def _read_json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise CheckpointError(f"{path.parent} is not a complete checkpoint: {path.name} ({what}) is missing")
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} is corrupt or truncated ({what}; {type(e).__name__} at {e})") from None
    except OSError as e:
        raise CheckpointError(f"cannot read {path}: {e.strerror or e}") from None
    if not isinstance(d, dict):
        raise CheckpointError(f"{path} is corrupt ({what}: expected a JSON object)")
    return d


def _read_tensors(path: Path, what: str) -> dict:
    if not path.is_file():
        raise CheckpointError(f"{path.parent} is not a complete checkpoint: {path.name} ({what}) is missing")
    from safetensors.numpy import load_file
    try:
        return load_file(str(path))
    except Exception as e:  # noqa: BLE001  (safetensors raises its own error types for bad headers/sizes)
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{path} is corrupt or truncated ({what}: {msg})") from None


def load_checkpoint(path, device: str = "cpu", *, load_training_state: bool = True, verify: bool = True) -> Checkpoint:
    """Read a checkpoint folder: the model (on ``device``), its tokenizer and, if present, the training state.

    ``verify`` checks the weights files against the folder's integrity manifest first (an IntegrityError
    names a truncated or modified file); ``verify=False`` is the ``--no-verify`` escape hatch.
    """
    from ..nn.models import load as load_model
    from .integrity import IntegrityError, verify_manifest
    p = _resolve(path)
    try:
        verify_manifest(p, verify)
    except IntegrityError as e:
        raise CheckpointError(str(e)) from None
    model = load_model(p, device=backend.check_device(device))   # config.json + model.safetensors, checked

    tokenizer = None
    if (p / TOKENIZER_FILE).exists():
        from ..text import TokenizerError, load_tokenizer
        try:
            tokenizer = load_tokenizer(_read_json(p / TOKENIZER_FILE, "tokenizer"))
        except TokenizerError as e:
            raise CheckpointError(f"{p / TOKENIZER_FILE}: {e}") from None

    trainer_state = optimizer_state = None
    if load_training_state and (p / STATE_FILE).exists():
        trainer_state = _read_json(p / STATE_FILE, "training state")
        opt = trainer_state.pop("optimizer", None)
        if opt is not None:
            arrays = _read_tensors(p / OPTIMIZER_FILE, "optimizer state")
            try:
                state: dict = {}
                for key, arr in arrays.items():
                    i, name = key.split(".", 1)
                    state.setdefault(int(i), {})[name] = arr
                for i, nums in opt.get("scalars", {}).items():
                    state.setdefault(int(i), {}).update(nums)
                optimizer_state = {"state": state, "param_groups": opt["param_groups"]}
            except (ValueError, KeyError, TypeError) as e:
                raise CheckpointError(f"{p / STATE_FILE}: corrupt optimizer state ({e})") from None
    return Checkpoint(p, model, model.config, tokenizer, trainer_state, optimizer_state)
