"""What every model shares: the output record, native checkpoints (save / load), token ids, the parameter count
(from architecture.py), and generation (the sampling loop and token sampling).

A native checkpoint is a folder:
    config.json          the config's fields plus "model_type" ("gpt", ...), which picks the class on load
    model.safetensors    every parameter and persistent buffer, by its state_dict name (tied weights once)
    integrity.json       size and SHA-256 of every file above, checked on load (model.safetensors' metadata
                         says the folder was saved with one, so a deleted manifest is an error, not a skip)
It is written by ``fileio.atomic_folder`` (a temporary folder swapped in with two renames), so a crash or an
error half-way never leaves a damaged checkpoint behind (an existing one stays as it was).
"""

from __future__ import annotations

import functools
import json
import math
import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ... import backend
from ...autograd import no_grad
from ...fileio import MANIFEST_FILE, CheckpointError, atomic_folder, read_json, resolve_folder, verify_manifest
from ...tensor import Tensor
from .. import init
from ..module import Module
from .architecture import count_parameters
from .config import ConfigError

WEIGHTS_NAME, CONFIG_NAME = "model.safetensors", "config.json"
MANIFEST_KEY = "integrity_manifest"   # in model.safetensors' metadata: this folder was saved with integrity.json
MODEL_CLASSES: dict = {}          # model_type -> class, filled by @register_model


def register_model(cls):
    MODEL_CLASSES[cls.config_class.model_type] = cls
    return cls


_PRETRAINED_LOADER: list = []      # hub.from_pretrained (hub.py imports this module, so it registers itself here)


def register_pretrained_loader(fn) -> None:
    """Called by hub.py: what ``Model.from_pretrained`` runs."""
    _PRETRAINED_LOADER[:] = [fn]


@dataclass
class ModelOutput:
    logits: object                      # (B, T, vocab) scores before the softmax
    last_hidden_state: object           # (B, T, d_model) after the final norm
    loss: object = None                 # mean cross-entropy, when labels were given
    attentions: tuple | None = None     # per layer (B, H, T, S), when output_attentions=True
    past_key_values: list | None = None  # the KV caches (one per layer), when a cache was used


class PretrainedModel(Module):
    """A Module with a config, a native checkpoint format, a parameter count and the generation loop."""

    config_class = None

    def __init__(self, config):
        """Build the layers (``_build``), then set every weight once (``_init_weights``): PyTorch's default
        per-layer init is skipped because ``_init_weights`` overwrites all of it."""
        super().__init__()
        self.config = config
        with init.skip_default_init():
            self._build(config)
        self._init_weights()

    def save(self, path):
        """Write ``path/`` (config.json + model.safetensors) atomically; other files already there are kept."""
        save_checkpoint(self, path)

    @classmethod
    def load(cls, path, device=None, config=None, verify=True):
        """Rebuild the model a checkpoint folder describes. With ``config``, insist that it matches."""
        return load_checkpoint(path, cls, device=device, config=config, verify=verify)

    @classmethod
    def from_pretrained(cls, name_or_path, **kwargs):
        """A pretrained model of this class from a local Hugging Face folder or a Hub name (as
        ``tinygrad_tf.nn.models.from_pretrained``, whose keyword arguments it takes); a checkpoint of another
        family is a CheckpointError naming it (GPT covers GPT-2 and Llama)."""
        out = _PRETRAINED_LOADER[0](name_or_path, **kwargs)
        model = out[0] if isinstance(out, tuple) else out
        if not isinstance(model, cls):
            raise CheckpointError(f"{name_or_path} holds a {type(model).__name__} model, not a {cls.__name__}; "
                                  f"load it with {type(model).__name__}.from_pretrained or from_pretrained")
        return out

    @classmethod
    def count_parameters(cls, config) -> int:
        """The number of parameters ``cls(config)`` has, from the config alone (tied weights once)."""
        return count_parameters(config)

    def _as_ids(self, ids):
        """Token ids as an integer Tensor on the model's device; one (T,) sequence becomes a batch (1, T)."""
        ids = ids if isinstance(ids, Tensor) else Tensor(np.asarray(ids, dtype=np.int64))
        if ids.dtype.kind not in "iu":
            raise TypeError(f"{type(self).__name__}: token ids must be integers, got {ids.dtype}")
        ids = ids.to(self.device) if ids.device != self.device else ids
        return ids.unsqueeze(0) if ids.ndim == 1 else ids

    def _sample_tokens(self, ids, next_logits, prompt, max_new_tokens, temperature, top_k, top_p, eos_token_id):
        """The loop of every ``generate``: ``next_logits(ids)`` scores the next token (B, V) after the ids so far
        (a backend array (B, T)); one token per row is sampled and appended, ``max_new_tokens`` times. Rows that
        produced ``eos_token_id`` are padded with it; the loop stops early when every row has. Returns the ids
        as a Tensor: (B, T') for (B, T) prompts, one (T',) sequence if the ``prompt`` given was one (T,)."""
        check_sampling(temperature, top_k, top_p)
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, numbers.Integral) or max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be an integer >= 0, got {max_new_tokens!r}")
        device = self.device
        xp = backend.xp_for(device)
        done = xp.zeros(ids.shape[0], dtype=bool)
        for _ in range(max_new_tokens):
            nxt = sample_next_token(next_logits(ids), temperature, top_k, top_p, device)
            if eos_token_id is not None:
                nxt = xp.where(done, eos_token_id, nxt)
                done |= nxt == eos_token_id
            ids = xp.concatenate([ids, nxt[:, None]], axis=1)
            if eos_token_id is not None and bool(done.all()):
                break
        out = Tensor._wrap(ids, device)
        return out[0] if np.ndim(prompt.data if isinstance(prompt, Tensor) else prompt) == 1 else out


# ---------------------------------------------------------------- writing
def save_checkpoint(model, path):
    with atomic_folder(path) as tmp:
        write_model_files(tmp, model)


def write_model_files(folder, model) -> None:
    """config.json + model.safetensors of ``model`` into ``folder`` (every parameter and persistent buffer by
    its state_dict name, tied weights once)."""
    tensors = {k: backend.to_numpy(t.data) for k, t in model.state_dict().items()}
    write_tensors_and_config(folder, tensors, model.config.to_dict(),
                             {"format": "np", "model_type": model.config.model_type, MANIFEST_KEY: MANIFEST_FILE})


def write_tensors_and_config(folder, tensors, config: dict, metadata: dict) -> None:
    """``folder``/model.safetensors (``tensors``: name -> NumPy array) and ``folder``/config.json. Shared by
    native checkpoints and ``save_hf``; the caller's ``atomic_folder`` makes the pair appear at once."""
    from safetensors.numpy import save_file
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(Path(folder) / WEIGHTS_NAME),
              metadata=metadata)
    (Path(folder) / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")


def write_model_folder(path, tensors, config: dict, metadata: dict, manifest=True):
    """Write ``path/`` = config.json + model.safetensors atomically; other files already there are kept."""
    with atomic_folder(path, manifest=manifest) as tmp:
        write_tensors_and_config(tmp, tensors, config, metadata)


# ---------------------------------------------------------------- reading
def _one_line(e) -> str:
    return " ".join(str(e).split())


def read_tensors(path, what="weights") -> dict:
    """{name: NumPy array} from a safetensors file, or a CheckpointError saying what is wrong."""
    from safetensors.numpy import load_file
    try:
        return load_file(str(path))
    except Exception as e:  # noqa: BLE001  (safetensors raises its own error types)
        raise CheckpointError(f"{path} is corrupt or truncated ({what}: {_one_line(e)})") from None


def saved_with_manifest(weights_path) -> bool:
    """Whether a weights file says its folder was written with an integrity manifest (its safetensors metadata);
    False for older or hand-made files, and for anything unreadable (reading the weights reports that)."""
    try:
        from safetensors import safe_open
        with safe_open(str(weights_path), framework="numpy") as f:
            return (f.metadata() or {}).get(MANIFEST_KEY) == MANIFEST_FILE
    except Exception:  # noqa: BLE001  (a corrupt file: read_tensors names the problem)
        return False


def check_folder(path, files, verify=True):
    """Check ``files`` of the folder ``path`` (the ones a loader reads) against its integrity manifest; a folder
    whose weights say it was saved with one and that has none is an IntegrityError too."""
    if verify:
        expected = not (Path(path) / MANIFEST_FILE).exists() and saved_with_manifest(Path(path) / WEIGHTS_NAME)
        verify_manifest(path, True, files=files, expected=expected)


def read_checkpoint(path, verify=True):
    """(config dict, {name: numpy array}) from a checkpoint folder, or a CheckpointError saying what is wrong.
    ``verify`` first checks config.json and the weights against the folder's integrity manifest."""
    path = resolve_folder(path)
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        if not (path / name).is_file():
            raise CheckpointError(f"{path} is not a tinygrad_tf checkpoint: {name} is missing")
    check_folder(path, (CONFIG_NAME, WEIGHTS_NAME), verify)
    return read_json(path / CONFIG_NAME, "model config", CheckpointError), read_tensors(path / WEIGHTS_NAME)


def check_float_weights(model, tensors, where) -> None:
    """A float parameter given an integer or boolean array (a header whose dtype lies, a wrong file) is a
    CheckpointError: NumPy would cast it into a model of nonsense without a word."""
    own = model.state_dict()
    for k, arr in tensors.items():
        t = own.get(k)
        if t is not None and np.dtype(t.dtype).kind == "f" and np.dtype(arr.dtype).kind not in "f":
            raise CheckpointError(f"{where}: weight {k} is stored as {np.dtype(arr.dtype).name}, but the model's "
                                  f"{k} is a float tensor (a wrong file, or a header whose dtype is wrong)")


def load_checkpoint(path, cls=None, device=None, config=None, verify=True):
    raw, tensors = read_checkpoint(path, verify)
    if "architectures" in raw or "transformers_version" in raw:
        raise CheckpointError(f"{path} is a Hugging Face model folder, not a native tinygrad_tf checkpoint; "
                              "read it with tinygrad_tf.nn.models.load_hf(path)")
    kind = raw.get("model_type")
    if cls is None:
        if kind not in MODEL_CLASSES:
            raise CheckpointError(f"{path}: unknown model_type {kind!r} in {CONFIG_NAME}; "
                                  f"known: {', '.join(MODEL_CLASSES)}")
        cls = MODEL_CLASSES[kind]
    elif kind != cls.config_class.model_type:
        raise CheckpointError(f"{path} holds a {kind!r} model, not a {cls.config_class.model_type!r} one "
                              f"({cls.__name__}); load it with tinygrad_tf.nn.models.load(path)")
    try:
        saved = cls.config_class.from_dict(raw)
    except (ConfigError, TypeError) as e:
        raise CheckpointError(f"{path / CONFIG_NAME}: {_one_line(e)}") from None
    if config is not None and config != saved:
        diff = [f"{k}={v!r} (checkpoint {getattr(saved, k)!r})" for k, v in config.to_dict().items()
                if getattr(saved, k, None) != v]
        raise CheckpointError(f"{path} was saved with a different config: " + ", ".join(diff))
    model = cls(saved)
    floats = [a.dtype for a in tensors.values() if a.dtype.kind == "f"]
    if floats and floats[0] != model.dtype:
        model.to(dtype=floats[0])                 # keep the precision it was saved in
    check_float_weights(model, tensors, Path(path) / WEIGHTS_NAME)
    try:
        model.load_state_dict(tensors)
    except RuntimeError as e:
        raise CheckpointError(f"{path / WEIGHTS_NAME} does not fit {cls.__name__}({CONFIG_NAME}): "
                              + "; ".join(line.strip() for line in str(e).split("\n")[1:])) from None
    return model.to(device) if device is not None else model


# ---------------------------------------------------------------- generation
def generation(generate):
    """Decorate a ``generate`` method: no graph is recorded, and the model is in eval mode (no dropout) for
    the call, then back in the mode it was in."""
    @functools.wraps(generate)
    @no_grad()
    def run(self, *args, **kwargs):
        was_training = self.training
        self.eval()
        try:
            return generate(self, *args, **kwargs)
        finally:
            self.train(was_training)
    return run


def check_sampling(temperature=1.0, top_k=None, top_p=None) -> None:
    """The sampling options of ``generate`` / ``sample_next_token``, checked once: temperature a finite number
    >= 0 (0 = greedy), top_k a positive integer, top_p in (0, 1]; a ValueError names the bad one."""
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) or not math.isfinite(temperature) \
            or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0 (0 = greedy), got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1):
        raise ValueError(f"top_k must be a positive integer (or None), got {top_k!r}")
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, numbers.Real)
                              or not math.isfinite(top_p) or not 0 < top_p <= 1):
        raise ValueError(f"top_p must be a number in (0, 1] (or None), got {top_p!r}")


def sample_next_token(logits, temperature=1.0, top_k=None, top_p=None, device="cpu"):
    """Pick one token per row of ``logits`` (B, V) (a backend array); returns int64 ids (B,).

    temperature=0: greedy (argmax). Otherwise softmax(logits / temperature), restricted to the top_k
    most likely tokens and/or the smallest set whose probability reaches top_p (nucleus sampling), then
    one draw per row from the generator ``tg.manual_seed`` seeds. A tiny temperature tends to greedy (the
    logits are shifted by their maximum before the division, so nothing overflows); logits that are NaN
    (a broken model) are a ValueError, not a silent token 0.
    """
    check_sampling(temperature, top_k, top_p)
    xp = backend.get_array_module(logits)
    if logits.size and not bool(logits.max() < xp.inf):    # (the max is NaN if any logit is: one pass finds both)
        raise ValueError("the model's logits are NaN or +inf, so no token can be sampled: its weights are broken "
                         "(a diverged training run?)")
    if temperature == 0:
        return logits.argmax(-1).astype(np.int64)          # (casting first would not change which is largest)
    logits = logits.astype(np.float64)
    b, v = logits.shape
    if top_k is not None:
        k = min(int(top_k), v)
        kth = xp.sort(logits, axis=-1)[:, v - k][:, None]
        logits = xp.where(logits < kth, -xp.inf, logits)
    with np.errstate(over="ignore"):
        scaled = logits / temperature
        if not bool(xp.isfinite(scaled.max(-1)).all()):  # a tiny temperature overflowed: shift first, so that
            scaled = (logits - logits.max(-1, keepdims=True)) / temperature     # (-big) / tiny = -inf, p = 0
    logits = scaled
    probs = xp.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    if top_p is not None and top_p < 1:
        order = xp.argsort(-probs, axis=-1)
        sorted_p = xp.take_along_axis(probs, order, axis=-1)
        drop_sorted = (xp.cumsum(sorted_p, -1) - sorted_p) >= top_p    # the mass before it already reaches p
        drop_sorted[:, 0] = False                                        # the most likely token always stays
        drop = xp.empty_like(drop_sorted)
        drop[xp.arange(b)[:, None], order] = drop_sorted                 # back to vocabulary order
        probs = xp.where(drop, 0.0, probs)
        probs /= probs.sum(-1, keepdims=True)
    u = backend.rng(device).random((b, 1))
    return xp.minimum((xp.cumsum(probs, -1) < u).sum(-1), v - 1).astype(np.int64)
