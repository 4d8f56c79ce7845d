"""Text handling: tokenizers and training corpora (standard library + numpy only).

Tokenizers
    CharTokenizer       one token per character
    ByteBPETokenizer    byte-level BPE, trainable, can load GPT-2's files
    WordPieceTokenizer  BERT's tokenizer, trainable, can load BERT's vocab.txt
All of them have encode / decode / vocab_size / to_dict / save / load, and
``load_tokenizer`` rebuilds any of them from a saved file or dict.

Corpora
    default_corpus, load_corpus, read_text_file, train_val_split, DataError
"""

from __future__ import annotations

import os

from .base import Tokenizer, TokenizerError, read_json
from .bpe import ByteBPETokenizer, bytes_to_unicode
from .char import CharTokenizer
from .corpus import DataError, default_corpus, load_corpus, read_text_file, train_val_split
from .wordpiece import WordPieceTokenizer, basic_tokenize

# The "type" key written by to_dict() -> the class that reads it back.
TOKENIZER_TYPES: dict[str, type[Tokenizer]] = {
    cls.type_name: cls for cls in (CharTokenizer, ByteBPETokenizer, WordPieceTokenizer)
}


def load_tokenizer(path_or_dict: str | os.PathLike | dict) -> Tokenizer:
    """Rebuild a tokenizer from a dict made by ``to_dict`` or a file made by ``save``."""
    d = path_or_dict if isinstance(path_or_dict, dict) else read_json(path_or_dict)
    kind = d.get("type")
    if kind not in TOKENIZER_TYPES:
        raise TokenizerError(
            f"unknown tokenizer type {kind!r}; expected one of {sorted(TOKENIZER_TYPES)}"
        )
    return TOKENIZER_TYPES[kind].from_dict(d)


__all__ = [
    "Tokenizer",
    "TokenizerError",
    "CharTokenizer",
    "ByteBPETokenizer",
    "WordPieceTokenizer",
    "TOKENIZER_TYPES",
    "load_tokenizer",
    "bytes_to_unicode",
    "basic_tokenize",
    "DataError",
    "default_corpus",
    "load_corpus",
    "read_text_file",
    "train_val_split",
]
