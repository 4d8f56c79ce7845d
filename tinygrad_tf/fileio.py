"""Files and folders written so that nothing a user had is lost, and read back with one clear line on error.

Every layer that touches the disk goes through these few functions:

    atomic_write(path, data)            one file: a temporary file beside it, flushed, then renamed over it
    read_json(path, what, error)        a JSON object, or ``error("<path>: <what> is ...")``, never a traceback
    with atomic_folder(path) as tmp:    a folder (a model, a checkpoint): fill ``tmp``; on success it is
        ...                             fsynced and swapped in with two renames, with its integrity manifest
    verify_manifest(folder)             the SHA-256 of every weights file checked against that manifest

Why renames: a rename inside one file system is atomic, so a reader — or a crash, a full disk, or Ctrl-C
(held back while the swap runs) — sees the old file or folder or the new one, never half of either.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_json", "read_text", "read_json", "atomic_folder", "deferred_sigint", "CheckpointError",
           "IntegrityError", "MANIFEST_FILE", "WEIGHT_PATTERNS", "sha256_file", "write_manifest", "read_manifest",
           "verify_manifest"]


class CheckpointError(ValueError):
    """A saved folder (model, checkpoint) that cannot be read or does not fit; the message is one line saying why."""


class IntegrityError(CheckpointError):
    """A weights file does not match the folder's manifest (changed, truncated, missing), or the manifest is
    unreadable."""


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):      # not every OS lets you open a directory
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---------------------------------------------------------------- one file
def atomic_write(path, data) -> Path:
    """Write ``data`` (bytes, or str as UTF-8) to ``path`` atomically; the file gets the mode a plain
    ``open()`` would give it. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())          # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_json(path, obj, **dump_kwargs) -> Path:
    """``json.dump`` through :func:`atomic_write` (a trailing newline added)."""
    return atomic_write(path, json.dumps(obj, **dump_kwargs) + "\n")


def read_text(path, what: str = "text file", error: type[Exception] = ValueError) -> str:
    """The UTF-8 text of ``path``; every way that can fail (missing, a folder, unreadable, not UTF-8) raises
    ``error`` with one line naming the file and ``what`` it should be."""
    path = Path(path)
    if not path.exists():
        raise error(f"{what} not found: {path}")
    if path.is_dir():
        raise error(f"{path} is a directory; expected a {what}")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise error(f"cannot read {what} {path}: {e.strerror or e}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{path} is not valid UTF-8 (bad byte 0x{raw[e.start]:02x} at byte offset {e.start}); "
                    f"a {what} must be UTF-8 text") from None


def read_json(path, what: str = "JSON file", error: type[Exception] = ValueError) -> dict:
    """The JSON object in ``path``; every way that can fail (also: not JSON, truncated, not an object) raises
    ``error`` with one line naming the file and ``what`` it should be."""
    text = read_text(path, what, error)
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise error(f"{path} is corrupt or truncated, not a valid {what} ({e})") from None
    if not isinstance(d, dict):
        raise error(f"{path} is not a valid {what} (expected a JSON object)")
    return d


# ---------------------------------------------------------------- Ctrl-C held back
@contextlib.contextmanager
def deferred_sigint():
    """Hold a Ctrl-C (SIGINT) until the block ends, then deliver it.

    Around an optimizer update or a folder swap, so an interrupt can only land *between* consistent
    states. Outside the main thread (where Python cannot install signal handlers) it does nothing.
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


# ---------------------------------------------------------------- one folder
@contextlib.contextmanager
def atomic_folder(path, replaces=None, manifest=True):
    """Write the folder ``path`` as a whole: ``with atomic_folder(path) as tmp:`` fill ``tmp``, then, if the
    block succeeds, the new folder gets an integrity manifest of its weights files (unless ``manifest=False``:
    a Hugging Face folder holds only what transformers writes), is flushed to disk and swapped in with two
    renames (Ctrl-C held back). On any error ``tmp`` is removed and ``path`` is as it was.

    Entries of an existing ``path`` that the new folder does not replace (notes, plots, a lab run's extras)
    are carried over; ``replaces`` names files of the old folder to drop even if the new one lacks them
    (an optimizer state that a weights-only save no longer has). If the process dies between the two
    renames the previous folder is still whole at ``.NAME.old-PID`` (``resolve_folder`` finds it).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise CheckpointError(f"cannot write to {path}: it exists and is not a folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    old = path.parent / f".{path.name}.old-{os.getpid()}"
    try:
        yield tmp
        if path.is_dir():                                  # carry over what is not ours
            for entry in path.iterdir():
                if entry.name != MANIFEST_FILE and entry.name not in set(replaces or ()) \
                        and not (tmp / entry.name).exists():
                    (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, tmp / entry.name)
        if manifest:
            write_manifest(tmp)
        umask = _umask()
        os.chmod(tmp, 0o777 & ~umask)                      # mkdtemp makes it private (0700)
        for f in tmp.iterdir():
            if f.is_file():
                os.chmod(f, 0o666 & ~umask)                # safetensors writes 0600
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        _fsync_dir(tmp)
        with deferred_sigint():                            # the swap: two renames, never cut in half
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
        for stale in path.parent.glob(f".{path.name}.old-*"):     # left by a save killed mid-swap
            shutil.rmtree(stale, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def resolve_folder(path, looks_whole=lambda p: p.is_dir()) -> Path:
    """``path`` if it is a folder; if it is missing but a save died mid-swap, the whole previous folder left
    at ``.NAME.old-PID``; otherwise a CheckpointError."""
    p = Path(path)
    if p.is_dir():
        return p
    if p.exists():
        raise CheckpointError(f"{p} is a file; expected a folder (a saved model or checkpoint)")
    for cand in sorted(p.parent.glob(f".{p.name}.old-*")) if p.parent.is_dir() else []:
        if looks_whole(cand):
            return cand
    raise CheckpointError(f"folder not found: {p}")


# ---------------------------------------------------------------- integrity manifest
# A weights file truncated by a full disk, flipped by a bad copy or replaced by hand loads as *different
# numbers*, often without any error. integrity.json records each weights file's size and SHA-256, and
# loading re-hashes them, so that is a one-line error instead. A folder without one verifies as "nothing
# to check" (hand-made folders, older saves).
MANIFEST_FILE = "integrity.json"
WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.npz", "*.pt", "*.pth")
_MANIFEST_FORMAT = "tinygrad_tf.integrity"
_NO_VERIFY_HINT = ("if you changed it on purpose, load with --no-verify (verify=False) or rewrite the manifest with "
                   "tinygrad_tf.fileio.write_manifest")


def sha256_file(path) -> str:
    """The SHA-256 of a file's bytes (hex), read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(folder, patterns=WEIGHT_PATTERNS) -> Path:
    """Record size and SHA-256 of every weights file in ``folder`` in ``folder/integrity.json`` (atomically)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise IntegrityError(f"cannot write an integrity manifest: {folder} is not a folder")
    found = sorted({p for pat in patterns for p in folder.glob(pat) if p.is_file() and not p.name.startswith(".")})
    files = {p.name: {"size": p.stat().st_size, "sha256": sha256_file(p)} for p in found}
    return atomic_write_json(folder / MANIFEST_FILE, {"format": _MANIFEST_FORMAT, "format_version": 1,
                                                      "algorithm": "sha256", "files": files,
                                                      "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
                             indent=1, sort_keys=True)


def read_manifest(folder) -> dict | None:
    """The manifest of ``folder``, or None when there is none; IntegrityError when it is unreadable."""
    path = Path(folder) / MANIFEST_FILE
    if not path.exists():
        return None
    d = read_json(path, "integrity manifest; delete it, or pass --no-verify to load without checking",
                  IntegrityError)
    files = d.get("files")
    if not isinstance(files, dict) or not all(isinstance(v, dict) and "sha256" in v for v in files.values()):
        raise IntegrityError(f"{path} is not an integrity manifest (no 'files' table of sha256 hashes)")
    return d


def verify_manifest(folder, verify: bool = True) -> dict | None:
    """Check every file the manifest of ``folder`` lists; IntegrityError names the first one that is missing,
    has another size (truncated) or another SHA-256 (modified). ``verify=False`` (``--no-verify``) skips it."""
    if not verify:
        return None
    folder = Path(folder)
    manifest = read_manifest(folder)
    for name, rec in sorted((manifest or {"files": {}})["files"].items()):
        path = folder / name
        if not path.is_file():
            raise IntegrityError(f"checkpoint {folder}: {name} is missing (the integrity manifest lists it)")
        size = path.stat().st_size
        if "size" in rec and size != rec["size"]:
            how = "truncated" if size < rec["size"] else "grown"
            raise IntegrityError(f"checkpoint {folder}: {name} is {size:,} bytes but was {rec['size']:,} when "
                                 f"saved ({how}: an interrupted copy or a full disk?); {_NO_VERIFY_HINT}")
        digest = sha256_file(path)
        if digest != rec["sha256"]:
            raise IntegrityError(f"checkpoint {folder}: {name} has changed since it was saved (SHA-256 "
                                 f"{digest[:12]}… instead of {rec['sha256'][:12]}…); {_NO_VERIFY_HINT}")
    return manifest
