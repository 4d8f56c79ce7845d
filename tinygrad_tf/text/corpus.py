"""Training text: a built-in default corpus, reading user files, train/val split.

The default corpus is the Python Language Reference that ships inside every
CPython installation (the ``pydoc_data`` package, used by ``help()``).  It is
about 460 KB of English prose with code samples: enough to train a small
character model or tokenizer, read at run time so nothing is copied into this
repository.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from ..fileio import read_text


class DataError(ValueError):
    """Raised with a one-line explanation when training data cannot be used."""


@functools.lru_cache(maxsize=1)
def default_corpus() -> str:
    """The Python Language Reference text from ``pydoc_data.topics``.

    The topics are joined in sorted-key order with blank lines in between, so
    the result is the same every time on a given Python version.
    """
    try:
        from pydoc_data.topics import topics
    except ImportError:  # some Linux distributions strip pydoc_data
        raise DataError(
            "the default corpus needs Python's pydoc_data package, which this Python lacks; "
            "pass a UTF-8 text file instead"
        ) from None
    return "\n\n".join(topics[key] for key in sorted(topics))


def read_text_file(path: str | os.PathLike) -> str:
    """Read a UTF-8 text file, raising DataError with one clear line if unusable.

    A leading UTF-8 byte-order mark (written by some Windows editors) is dropped.
    """
    p = Path(path)
    text = read_text(p, "data file", DataError).removeprefix("\ufeff")
    if not text.strip():
        raise DataError(f"data file {p} is empty" + (" (only whitespace)" if text else ""))
    return text


def load_corpus(path: str | os.PathLike | None = None) -> str:
    """The text of ``path``, or the default corpus when ``path`` is None."""
    return default_corpus() if path is None else read_text_file(path)


def train_val_split(data, val_fraction: float = 0.1):
    """Split a sequence (str, list, numpy array...) into (train, val).

    Deterministic and without shuffling: the first part is for training and
    the last ``val_fraction`` (rounded to the nearest item) for validation.
    Keeping the validation text contiguous means the model is tested on text
    it has never seen, not on neighbours of its training windows.
    """
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    n = len(data)
    n_val = int(n * val_fraction + 0.5)  # round half up
    n_train = n - n_val
    if n_val == 0 or n_train == 0:
        raise DataError(
            f"too little data to split: {n} items with val_fraction={val_fraction} "
            f"gives {n_train} train and {n_val} validation items; both must be non-empty"
        )
    return data[:n_train], data[n_train:]
