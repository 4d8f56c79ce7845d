"""Checkpoint integrity: a SHA-256 manifest of the weights files in a checkpoint folder.

    from tinygrad_tf.train.integrity import write_manifest, verify_manifest, IntegrityError
    write_manifest("runs/mini")                  # runs/mini/integrity.json: size + SHA-256 of each weights file
    verify_manifest("runs/mini")                 # raises IntegrityError naming a file that changed
    verify_manifest("runs/mini", verify=False)   # --no-verify: you edited the weights on purpose

A weights file that was truncated by a full disk, flipped by a bad copy, or
replaced by hand loads as *different numbers* — often without any error — and a
learner then debugs a model that is not the one they trained. The manifest makes
that a one-line error instead. It records, for every weights file (``*.safetensors``,
``*.bin``, ``*.npz``, ``*.pt``, ``*.pth``), its size and SHA-256; verifying re-hashes
each file and names the first one whose size or hash differs, or that is missing.

A folder without a manifest (older checkpoints, hand-made folders) verifies as
"nothing to check" and returns None. The manifest itself is written atomically
(a temporary file, flushed, then renamed over the old one).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from ..fileio import atomic_write_json

__all__ = ["IntegrityError", "MANIFEST_FILE", "WEIGHT_PATTERNS", "sha256_file", "write_manifest", "read_manifest",
           "verify_manifest"]

MANIFEST_FILE = "integrity.json"
WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.npz", "*.pt", "*.pth")
FORMAT = "tinygrad_tf.integrity"
FORMAT_VERSION = 1
_CHUNK = 1 << 20


from ..nn.models.base import CheckpointError  # noqa: E402  (a ValueError; one family of "cannot use this checkpoint")


class IntegrityError(CheckpointError):
    """A checkpoint file does not match its manifest (changed, truncated, missing), or the manifest is unreadable.

    A ``CheckpointError`` (so a ``ValueError``): code and commands that handle unusable checkpoints handle it."""


def sha256_file(path) -> str:
    """The SHA-256 of a file's bytes (hex), read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _weights_files(folder: Path, patterns) -> list[Path]:
    found = set()
    for pat in patterns:
        found.update(p for p in folder.glob(pat) if p.is_file() and not p.name.startswith("."))
    return sorted(found)


def write_manifest(folder, patterns=WEIGHT_PATTERNS) -> Path:
    """Record size and SHA-256 of every weights file in ``folder`` (matched by ``patterns``) in
    ``folder/integrity.json``, atomically. Returns the manifest's path."""
    folder = Path(folder)
    if not folder.is_dir():
        raise IntegrityError(f"cannot write an integrity manifest: {folder} is not a folder")
    files = {p.name: {"size": p.stat().st_size, "sha256": sha256_file(p)} for p in _weights_files(folder, patterns)}
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "algorithm": "sha256",
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "files": files}
    target = folder / MANIFEST_FILE
    atomic_write_json(target, manifest, indent=1, sort_keys=True)
    return target


def read_manifest(folder) -> dict | None:
    """The manifest of ``folder`` as a dict, or None when there is none; IntegrityError when it is unreadable."""
    path = Path(folder) / MANIFEST_FILE
    if not path.exists():
        return None
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise IntegrityError(f"{path} is corrupt or unreadable ({type(e).__name__}: {e}); delete it, or pass "
                             "--no-verify to load without checking") from None
    files = d.get("files") if isinstance(d, dict) else None
    if not isinstance(files, dict) or not all(isinstance(v, dict) and "sha256" in v for v in files.values()):
        raise IntegrityError(f"{path} is not an integrity manifest (no 'files' table of sha256 hashes)")
    return d


def verify_manifest(folder, verify: bool = True) -> dict | None:
    """Check every file the manifest of ``folder`` lists; raise IntegrityError naming the first file that is
    missing, has another size (truncated) or another SHA-256 (modified). ``verify=False`` skips the check
    (the ``--no-verify`` escape hatch). Returns the manifest, or None when skipped or there is none."""
    if not verify:
        return None
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        return None
    hint = ("if you changed it on purpose, load with --no-verify (verify=False) or rewrite the manifest with "
            "tinygrad_tf.train.integrity.write_manifest")
    for name, rec in sorted(manifest["files"].items()):
        path = folder / name
        if not path.is_file():
            raise IntegrityError(f"checkpoint {folder}: {name} is missing (the integrity manifest lists it)")
        size = path.stat().st_size
        if "size" in rec and size != rec["size"]:
            how = "truncated" if size < rec["size"] else "grown"
            raise IntegrityError(f"checkpoint {folder}: {name} is {size:,} bytes but was {rec['size']:,} when "
                                 f"saved ({how}: an interrupted copy or a full disk?); {hint}")
        digest = sha256_file(path)
        if digest != rec["sha256"]:
            raise IntegrityError(f"checkpoint {folder}: {name} has changed since it was saved (SHA-256 "
                                 f"{digest[:12]}… instead of {rec['sha256'][:12]}…); {hint}")
    return manifest
