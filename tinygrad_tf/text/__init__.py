"""Text handling: tokenizers and training corpora (standard library + numpy only).

Tokenizers
    CharTokenizer       one token per character
    ByteBPETokenizer    byte-level BPE, trainable, can load GPT-2's files
    WordPieceTokenizer  BERT's tokenizer, trainable, can load BERT's vocab.txt
    HFTokenizer         a Hugging Face tokenizer.json (GPT-2, Llama 2 / 3, BERT, T5: BPE, WordPiece, Unigram)
All of them have encode / decode / vocab_size / to_dict / save / load, and
``load_tokenizer`` rebuilds any of them from a saved file or dict, a tokenizer.json, a folder or a Hub name.

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
from .tokenizer_json import HFTokenizer, tokenizer_json_path
from ..nn.models.hub import is_hub_name, register_tokenizer_loader, resolve_pretrained

# The "type" key written by to_dict() -> the class that reads it back.
TOKENIZER_TYPES: dict[str, type[Tokenizer]] = {
    cls.type_name: cls for cls in (CharTokenizer, ByteBPETokenizer, WordPieceTokenizer)
}


def load_tokenizer(path_or_name: str | os.PathLike | dict, revision=None, cache_dir=None,
                   local_files_only=False) -> Tokenizer:
    """A tokenizer from any of: a dict made by ``to_dict``; a JSON file made by ``save`` or a Hugging Face
    tokenizer.json; a folder holding a tokenizer.json (a checkpoint of this project, or a Hugging Face model folder);
    a Hub name ("gpt2", "google/flan-t5-small": its tokenizer.json, downloaded with huggingface_hub into the Hub
    cache; ``revision``, ``cache_dir``, ``local_files_only`` and HF_HUB_OFFLINE as for from_pretrained)."""
    if isinstance(path_or_name, dict):
        return _from_dict(path_or_name, "the tokenizer dict")
    path = tokenizer_json_path(path_or_name)
    if path is None and not is_hub_name(path_or_name):
        path = path_or_name                          # read_json says what is wrong with it
    if path is None:
        try:
            folder = resolve_pretrained(path_or_name, revision, cache_dir, local_files_only,
                                        allow_patterns=["tokenizer.json", "tokenizer_config.json"])
        except ValueError as e:                     # CheckpointError: no such file, no huggingface_hub, offline
            raise TokenizerError(str(e)) from None
        path = tokenizer_json_path(folder)
        if path is None:
            raise TokenizerError(f"{path_or_name} has no tokenizer.json (only tokenizer.json files are read)")
    return _from_dict(read_json(path), str(path))


def _from_dict(d, where):
    if isinstance(d, dict) and "type" not in d and isinstance(d.get("model"), dict):
        return HFTokenizer(d, where)                 # a Hugging Face tokenizer.json
    kind = d.get("type") if isinstance(d, dict) else None
    if kind not in TOKENIZER_TYPES:
        raise TokenizerError(
            f"unknown tokenizer type {kind!r}; expected one of {sorted(TOKENIZER_TYPES)} or a Hugging Face "
            "tokenizer.json"
        )
    return TOKENIZER_TYPES[kind].from_dict(d)


register_tokenizer_loader(load_tokenizer)


__all__ = [
    "Tokenizer",
    "TokenizerError",
    "CharTokenizer",
    "ByteBPETokenizer",
    "WordPieceTokenizer",
    "HFTokenizer",
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
