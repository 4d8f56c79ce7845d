"""Shared pieces for every tokenizer: the error type and JSON save/load.

A tokenizer turns text into a list of integer ids (``encode``) and back
(``decode``).  Every tokenizer in this package can describe itself as a plain
dict (``to_dict``) holding a ``"type"`` key, so that it can be written to a
JSON file and rebuilt later by :func:`tinygrad_tf.text.load_tokenizer`.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from .. import fileio
from ..fileio import atomic_write_json

FORMAT_VERSION = 1


class TokenizerError(ValueError):
    """Raised for bad input to a tokenizer (unknown characters, bad files...)."""


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as JSON so that ``path`` is either the old or the new file.

    We write to a temporary file in the *same* directory and then rename it
    over the target with ``os.replace``.  A rename inside one file system is
    atomic, so a crash mid-write can never leave a half-written tokenizer.
    """
    # ensure_ascii (the default) escapes every non-ASCII char, so even odd strings
    # (lone surrogates) survive the trip through the file.
    atomic_write_json(path, obj)


def read_json(path: str | os.PathLike) -> dict:
    """Read a tokenizer JSON file, turning every failure into one clear line."""
    return fileio.read_json(path, "tokenizer JSON file", TokenizerError)


class Tokenizer:
    """Base class: subclasses set ``type_name`` and implement the methods below."""

    type_name: ClassVar[str] = ""

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def decode(self, ids) -> str:
        raise NotImplementedError

    def to_dict(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_dict(cls, d: dict) -> "Tokenizer":
        raise NotImplementedError

    # -- helpers shared by all tokenizers ------------------------------------

    @classmethod
    def _check_dict(cls, d: dict) -> None:
        """Make sure a dict really describes a tokenizer of this class."""
        if not isinstance(d, dict):
            raise TokenizerError(f"expected a dict describing a tokenizer, got {type(d).__name__}")
        if d.get("type") != cls.type_name:
            raise TokenizerError(
                f"expected a tokenizer of type {cls.type_name!r}, got type {d.get('type')!r}"
            )

    def save(self, path: str | os.PathLike) -> None:
        """Save as a JSON file (atomically: readers never see a partial file)."""
        write_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Tokenizer":
        """Load a tokenizer saved with :meth:`save`."""
        return cls.from_dict(read_json(path))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size})"


def check_ids(ids, vocab_size: int) -> list[int]:
    """Turn ``ids`` (list, tuple or numpy array) into Python ints, checking range."""
    out = [int(i) for i in ids]
    bad = [i for i in out if not 0 <= i < vocab_size]
    if bad:
        raise TokenizerError(
            f"token ids out of range [0, {vocab_size}): {bad[:5]}"
            + (f" (and {len(bad) - 5} more)" if len(bad) > 5 else "")
        )
    return out
