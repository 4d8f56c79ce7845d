"""Writing files so that nothing a user had is lost: the one atomic write every layer uses.

The new content goes into a temporary file in the *same* folder, is flushed to disk, and is then
renamed over the target with ``os.replace``. A rename inside one file system is atomic, so a reader
(or a crash, or Ctrl-C) sees either the old file or the new one, never half of either.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path


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
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)          # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_json(path, obj, **dump_kwargs) -> Path:
    """``json.dump`` through :func:`atomic_write` (a trailing newline added)."""
    return atomic_write(path, json.dumps(obj, **dump_kwargs) + "\n")
