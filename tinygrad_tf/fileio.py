"""Files and folders written so that nothing a user had is lost, and read back with one clear line on error.

Every layer that touches the disk goes through these few functions:

    atomic_write(path, data)            one file: a temporary file beside it, flushed, then renamed over it
    read_json(path, what, error)        a JSON object, or ``error("<path>: <what> is ...")``, never a traceback
    with atomic_folder(path) as tmp:    a folder (a model, a checkpoint): fill ``tmp``; on success it is
        ...                             fsynced and swapped in with two renames, with its integrity manifest
    verify_manifest(folder)             the SHA-256 of every file the writer wrote checked against that manifest

Why renames: a rename inside one file system is atomic, so a reader — or a crash, a full disk, or Ctrl-C /
SIGTERM (held back while the swap runs) — sees the old file or folder or the new one, never half of either.
A save killed between its two renames leaves the previous folder whole at ``.NAME.old-PID``: loading finds it
there (``resolve_folder``), and the next save into ``NAME`` puts it back before replacing it, so it is never
deleted while it is the only copy; temporary ``.NAME.tmp-PID-*`` folders of killed saves are removed by the next
save that succeeds.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_json", "read_text", "read_json", "atomic_folder", "deferred_sigint",
           "deferred_signals", "resolve_folder", "stale_copies", "CheckpointError", "IntegrityError", "MANIFEST_FILE",
           "WEIGHT_PATTERNS", "sha256_file", "write_manifest", "read_manifest", "verify_manifest", "pid_alive"]


class CheckpointError(ValueError):
    """A saved folder (model, checkpoint) that cannot be read or does not fit; the message is one line saying why."""


class IntegrityError(CheckpointError):
    """A file of a saved folder does not match the folder's manifest (changed, truncated, missing), or the
    manifest is unreadable, or missing where the folder was saved with one."""


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
HELD_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM") if hasattr(signal, n))


@contextlib.contextmanager
def deferred_signals(signals=HELD_SIGNALS):
    """Hold Ctrl-C (SIGINT) and SIGTERM (what ``kill``, systemd and job schedulers send) until the block ends,
    then deliver them: to the handler that was installed before, or as the default action would (SIGINT raises
    KeyboardInterrupt, SIGTERM ends the process).

    Around an optimizer update or a folder swap, so an interrupt can only land *between* consistent
    states. Outside the main thread (where Python cannot install signal handlers) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received, olds = [], {}
    try:
        for sig in signals:
            olds[sig] = signal.signal(sig, lambda signum, frame: received.append((signum, frame)))
    except (ValueError, OSError):      # e.g. an embedded interpreter without signal support
        for sig, old in olds.items():
            signal.signal(sig, signal.SIG_DFL if old is None else old)
        yield
        return
    try:
        yield
    finally:
        for sig, old in olds.items():
            signal.signal(sig, signal.SIG_DFL if old is None else old)
    for signum, frame in dict(received).items() if received else ():    # each signal once, first arrival
        old = olds.get(signum)
        if callable(old):
            old(signum, frame)
        elif old == signal.SIG_IGN:
            continue
        elif signum == getattr(signal, "SIGINT", None):
            raise KeyboardInterrupt
        else:
            signal.raise_signal(signum)      # the default action (SIGTERM: the process ends), now that it is safe


def deferred_sigint():
    """``deferred_signals()``: Ctrl-C and SIGTERM held back until the block ends (the name is older)."""
    return deferred_signals()


# ---------------------------------------------------------------- one folder
def pid_alive(pid) -> bool:
    """Is process ``pid`` running (on this machine)? Ours is; someone else's (EPERM), or one we cannot tell
    about, counts as running; anything but a positive int is no process."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, ValueError, OverflowError):
        return True
    return True


def _leftovers(path: Path, kind: str) -> list:
    """``.NAME.old-PID`` (kind "old") or ``.NAME.tmp-PID-*`` (kind "tmp", also the older ``.NAME.tmp-*``)
    folders beside ``path`` that a save left behind and whose process is gone, newest first."""
    if not path.parent.is_dir():
        return []
    found = []
    for cand in path.parent.glob(f".{glob.escape(path.name)}.{kind}-*"):
        if not cand.is_dir():
            continue
        tag = cand.name[len(f".{path.name}.{kind}-"):]
        pid = tag.split("-", 1)[0] if kind == "tmp" else tag
        if pid.isdigit() and pid_alive(int(pid)):
            continue                                     # a save in progress in another process
        if kind == "tmp" and "-" not in tag and pid.isdigit():
            continue                                     # cannot be an older mkdtemp name: those have letters
        found.append(cand)
    return sorted(found, key=lambda c: c.stat().st_mtime, reverse=True)


def stale_copies(path) -> list:
    """The whole previous folders that saves into ``path`` killed between their two renames left at
    ``.NAME.old-PID`` (their processes gone), newest first."""
    return _leftovers(Path(path), "old")


@contextlib.contextmanager
def atomic_folder(path, replaces=None, manifest=True):
    """Write the folder ``path`` as a whole: ``with atomic_folder(path) as tmp:`` fill ``tmp``, then, if the
    block succeeds, the new folder gets an integrity manifest of the files the block wrote (unless
    ``manifest=False``: a Hugging Face folder holds only what transformers writes), is flushed to disk and
    swapped in with two renames (Ctrl-C and SIGTERM held back). On any error ``tmp`` is removed and ``path``
    is as it was.

    Entries of an existing ``path`` that the new folder does not replace (notes, plots, a lab run's extras)
    are carried over, and so are their manifest entries (a file an earlier save wrote stays covered, a
    user's notes stay uncovered); ``replaces`` names files of the old folder to drop even if the new one
    lacks them (an optimizer state that a weights-only save no longer has). If the process dies between the
    two renames the previous folder is still whole at ``.NAME.old-PID`` (``resolve_folder`` finds it; the
    next save into ``path`` restores it before replacing it).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise CheckpointError(f"cannot write to {path}: it exists and is not a folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():                                  # a save killed mid-swap: put the old folder back first
        for stale in stale_copies(path)[:1]:
            os.rename(stale, path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-{os.getpid()}-", dir=path.parent))
    old = path.parent / f".{path.name}.old-{os.getpid()}"
    try:
        yield tmp
        written = [f.name for f in tmp.iterdir() if f.is_file() and f.name != MANIFEST_FILE]
        carried = {}
        if path.is_dir():                                  # carry over what is not ours
            try:
                before = (read_manifest(path) or {}).get("files", {})
            except IntegrityError:
                before = {}
            for entry in path.iterdir():
                if entry.name != MANIFEST_FILE and entry.name not in set(replaces or ()) \
                        and not (tmp / entry.name).exists():
                    (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, tmp / entry.name)
                    if entry.name in before:
                        carried[entry.name] = before[entry.name]
        if manifest:
            write_manifest(tmp, files=written, keep=carried)
        umask = _umask()
        os.chmod(tmp, 0o777 & ~umask)                      # mkdtemp makes it private (0700)
        for f in tmp.iterdir():
            if f.is_file():
                os.chmod(f, 0o666 & ~umask)                # safetensors writes 0600
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        _fsync_dir(tmp)
        with deferred_signals():                           # the swap: two renames, never cut in half
            had_old = path.exists()
            if had_old:
                if old.exists():                           # this process's own leftover (an interrupt after
                    shutil.rmtree(old)                     # an earlier swap): an older version than path
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
        for stale in _leftovers(path, "old") + _leftovers(path, "tmp"):    # left by saves killed mid-way
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
    for cand in sorted(p.parent.glob(f".{glob.escape(p.name)}.old-*")) if p.parent.is_dir() else []:
        if looks_whole(cand):
            return cand
    raise CheckpointError(f"folder not found: {p}")


# ---------------------------------------------------------------- integrity manifest
# A file truncated by a full disk, flipped by a bad copy or edited by hand loads as *different numbers* or a
# different model, often without any error. integrity.json records the size and SHA-256 of every file the
# folder's writer wrote — the weights, and also config.json, tokenizer.json, trainer_state.json, the optimizer
# state — and loading re-hashes the ones it reads, so that is a one-line error instead. Files a user adds later
# (notes, plots) are not listed and may change freely; integrity.json does not list itself.
#
# Old folders and stripped ones: a folder saved before manifests existed has none and loads as before
# ("nothing to check"). A folder written by a manifest-writing version says so inside its weights file (the
# safetensors metadata "integrity_manifest" of model.safetensors, written by nn.models.base), so when its
# integrity.json is missing the loader passes ``expected=True`` and the missing manifest is an error, not a skip.
MANIFEST_FILE = "integrity.json"
WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.npz", "*.pt", "*.pth")
_MANIFEST_FORMAT = "tinygrad_tf.integrity"
MANIFEST_VERSION = 2          # 1: weights files only; 2: every file the writer wrote
_NO_VERIFY_HINT = ("if you changed it on purpose, load with --no-verify (verify=False) or rewrite the manifest with "
                   "tinygrad_tf.fileio.write_manifest")


def sha256_file(path) -> str:
    """The SHA-256 of a file's bytes (hex), read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(folder, patterns=WEIGHT_PATTERNS, files=None, keep=None) -> Path:
    """Record size and SHA-256 of files of ``folder`` in ``folder/integrity.json`` (atomically).

    ``files``: the names to hash. By default: the files the folder's current manifest lists (so rewriting it
    after an intended edit keeps what it covers) plus every file matching ``patterns`` (weights files).
    ``keep``: ``{name: record}`` copied as they are, for files carried over from an earlier save.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise IntegrityError(f"cannot write an integrity manifest: {folder} is not a folder")
    if files is None:
        try:
            listed = set((read_manifest(folder) or {}).get("files", {}))
        except IntegrityError:
            listed = set()
        files = listed | {p.name for pat in patterns for p in folder.glob(pat)}
    found = sorted(n for n in set(files) if n != MANIFEST_FILE and not n.startswith(".") and (folder / n).is_file())
    records = {n: dict(r) for n, r in (keep or {}).items() if n not in found and (folder / n).is_file()}
    records.update({n: {"size": (folder / n).stat().st_size, "sha256": sha256_file(folder / n)} for n in found})
    return atomic_write_json(folder / MANIFEST_FILE, {"format": _MANIFEST_FORMAT, "format_version": MANIFEST_VERSION,
                                                      "algorithm": "sha256", "files": dict(sorted(records.items())),
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
    if not isinstance(files, dict) or not all(isinstance(v, dict) and isinstance(v.get("sha256"), str)
                                              for v in files.values()):
        raise IntegrityError(f"{path} is not an integrity manifest (no 'files' table of sha256 hashes)")
    return d


def verify_manifest(folder, verify: bool = True, files=None, expected: bool = False) -> dict | None:
    """Check the files the manifest of ``folder`` lists (only those among ``files``, when given: the ones a
    loader reads); IntegrityError names the first one that is missing, has another size (truncated) or another
    SHA-256 (modified). ``expected``: the folder was written with a manifest, so a missing one is an error
    (it was deleted, or the copy is incomplete). ``verify=False`` (``--no-verify``) skips it all."""
    if not verify:
        return None
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        if expected:
            raise IntegrityError(f"checkpoint {folder}: {MANIFEST_FILE} is missing, but this folder was saved with "
                                 "one (it was deleted, or the copy is incomplete), so its files cannot be checked; "
                                 "load with --no-verify (verify=False) to use it unchecked, or write a new manifest "
                                 "with tinygrad_tf.fileio.write_manifest")
        return None
    wanted = None if files is None else set(files)
    for name, rec in sorted(manifest["files"].items()):
        if wanted is not None and name not in wanted:
            continue
        path = folder / name
        if not path.is_file():
            raise IntegrityError(f"checkpoint {folder}: {name} is missing (the integrity manifest lists it)")
        size = path.stat().st_size
        if "size" in rec and size != rec["size"]:
            how = "truncated" if size < rec["size"] else "grown"
            raise IntegrityError(f"checkpoint {folder}: {name} is {size:,} bytes but was {rec['size']:,} when "
                                 f"saved ({how}: an interrupted copy, a full disk or an edit?); {_NO_VERIFY_HINT}")
        digest = sha256_file(path)
        if digest != rec["sha256"]:
            raise IntegrityError(f"checkpoint {folder}: {name} has changed since it was saved (SHA-256 "
                                 f"{digest[:12]}… instead of {rec['sha256'][:12]}…); {_NO_VERIFY_HINT}")
    return manifest
