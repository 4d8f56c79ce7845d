"""``from_pretrained``: a model from a local folder or from the Hugging Face Hub, by name.

    from tinygrad_tf.nn.models import from_pretrained, GPT
    model = from_pretrained("gpt2")                          # GPT-2 small: downloads once, then read from the cache
    model, tok = from_pretrained("gpt2", with_tokenizer=True)   # and its tokenizer.json
    model = GPT.from_pretrained("path/to/folder")            # a local folder, as load_hf
    model = from_pretrained("google/flan-t5-small", revision="main", local_files_only=True)   # the cache only

A Hub name is downloaded with the ``huggingface_hub`` package (``pip install "tinygrad-tf[hub]"``) into its cache
(``HF_HUB_CACHE``, else ``HF_HOME``/hub, else ~/.cache/huggingface/hub; or ``cache_dir``), only the files this
project reads: config.json, model.safetensors (or the shards an index lists), tokenizer files.
``HF_HUB_OFFLINE=1`` or ``local_files_only=True``: the cache only, never the network. Pickled weights
(pytorch_model.bin) are never read: a repo that has only those is refused, with how to convert it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .base import CheckpointError, register_pretrained_loader
from .hf import load_hf

# what is downloaded from a repo: the weights this project reads, their config, the tokenizer files
ALLOW_PATTERNS = ["config.json", "model.safetensors", "model.safetensors.index.json", "model-*-of-*.safetensors",
                  "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"]
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".h5", ".msgpack")
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
HUB_INSTALL = 'pip install "tinygrad-tf[hub]" (or pip install huggingface_hub)'

_TOKENIZER_LOADER: list = []            # tinygrad_tf.text registers load_tokenizer here (text sits above models)


def register_tokenizer_loader(fn) -> None:
    """Called by tinygrad_tf.text on import: how ``from_pretrained(..., with_tokenizer=True)`` reads a tokenizer."""
    _TOKENIZER_LOADER[:] = [fn]


def hub_cache_dir(cache_dir=None) -> Path:
    """The Hub cache folder: ``cache_dir``, else $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub
    (read at each call, so a variable set after import counts)."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if env:
        return Path(env).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    return Path(home).expanduser() / "hub"


def hub_offline() -> bool:
    """Is HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to 1 / true / yes / on?"""
    return any(os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on")
               for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def is_hub_name(name) -> bool:
    """"gpt2" or "google/flan-t5-small": a repo id, not a path."""
    s = os.fspath(name)
    return bool(_REPO_ID.match(s)) and ".." not in s and not s.endswith((".json", ".safetensors"))


def _refuse_pickles(name, files, where):
    if any(f.endswith(".safetensors") for f in files):
        return
    pickles = sorted(f for f in files if f.endswith(PICKLE_SUFFIXES))
    if pickles:
        raise CheckpointError(f"{name} has only pickled weights ({', '.join(pickles[:3])}), which are not read "
                              "(unpickling can run code): convert them to safetensors (the Hub's \"Convert to "
                              "Safetensors\" tool, or transformers' from_pretrained + save_pretrained, which writes "
                              "model.safetensors) and load that folder")
    raise CheckpointError(f"{name} has no model.safetensors (nor an index of safetensors shards) {where}")


def resolve_pretrained(name_or_path, revision=None, cache_dir=None, local_files_only=False,
                       allow_patterns=None) -> Path:
    """The local folder (or file) holding ``name_or_path``: the path itself when it exists, else the Hub cache's
    snapshot of the repo, downloaded first unless offline. Raises CheckpointError (one line)."""
    path = Path(os.fspath(name_or_path)).expanduser()
    if path.exists():
        return path
    name = os.fspath(name_or_path)
    if not is_hub_name(name):
        raise CheckpointError(f"no model folder or file at {name} (and it is not a Hub name such as "
                              "'gpt2' or 'google/flan-t5-small')")
    try:
        import huggingface_hub
    except ImportError:
        raise CheckpointError(f"{name} is not a local folder; to download it from the Hugging Face Hub install "
                              f"huggingface_hub: {HUB_INSTALL}") from None
    cache = hub_cache_dir(cache_dir)
    offline = bool(local_files_only) or hub_offline()
    try:
        folder = huggingface_hub.snapshot_download(name, revision=revision, cache_dir=str(cache),
                                                   local_files_only=offline,
                                                   allow_patterns=allow_patterns or ALLOW_PATTERNS)
    except Exception as e:  # noqa: BLE001  (huggingface_hub's error classes move between versions: told by name)
        kind = type(e).__name__
        why = " ".join(str(e).split())[:200]
        at = f"@{revision}" if revision else ""
        if offline and ("LocalEntryNotFound" in kind or isinstance(e, FileNotFoundError)):
            raise CheckpointError(f"{name}{at} is not in the Hub cache at {cache} and downloads are off "
                                  f"({'local_files_only=True' if local_files_only else 'HF_HUB_OFFLINE=1'}); "
                                  "download it once while online, or pass a local folder") from None
        if "RepositoryNotFound" in kind or "GatedRepo" in kind:
            raise CheckpointError(f"{name}: no such model on the Hub, or it is private or gated (log in with "
                                  f"`hf auth login` for gated models) ({kind})") from None
        if "RevisionNotFound" in kind:
            raise CheckpointError(f"{name}: the Hub has no revision {revision!r}") from None
        raise CheckpointError(f"{name}{at} could not be downloaded from the Hub ({kind}: {why}); offline, "
                              f"set HF_HUB_OFFLINE=1 to read the cache at {cache}") from None
    folder = Path(folder)
    files = [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()]
    if not any(f.endswith(".safetensors") for f in files) and allow_patterns is None:
        if not offline:                          # what else the repo holds (pickles were not downloaded)
            try:
                files += huggingface_hub.HfApi().list_repo_files(name, revision=revision)
            except Exception:  # noqa: BLE001  (a listing that fails leaves the local view)
                pass
        _refuse_pickles(name, files, f"in {folder}")
    return folder


def from_pretrained(name_or_path, *, revision=None, cache_dir=None, local_files_only=False, dtype=None,
                    device="cpu", with_tokenizer=False):
    """A pretrained model (GPT for GPT-2 and Llama, BERT, T5) from a local Hugging Face folder or a Hub name, in
    eval mode; with ``with_tokenizer=True``, ``(model, tokenizer)`` (its tokenizer.json, as load_tokenizer).

    name_or_path      a folder (config.json + model.safetensors or shards), a .safetensors file, or a Hub repo id
    revision          a branch, tag or commit of the Hub repo (default: main)
    cache_dir         the Hub cache folder (default: HF_HUB_CACHE / HF_HOME / ~/.cache/huggingface/hub)
    local_files_only  never use the network (also when HF_HUB_OFFLINE=1)
    dtype, device     the parameters' float dtype (default float32) and "cpu" | "cuda"
    What loads, and which config fields are read: docs/pretrained.md. A config this project cannot build is
    refused by name (CheckpointError), never loaded approximately."""
    folder = resolve_pretrained(name_or_path, revision, cache_dir, local_files_only)
    model = load_hf(folder, device=device, dtype=dtype)
    if not with_tokenizer:
        return model
    if not _TOKENIZER_LOADER:
        raise CheckpointError("with_tokenizer=True reads the tokenizer with tinygrad_tf.text: import tinygrad_tf.text "
                              "first (or call tinygrad_tf.text.load_tokenizer(name))")
    return model, _TOKENIZER_LOADER[0](folder if folder.is_dir() else folder.parent)


register_pretrained_loader(from_pretrained)
