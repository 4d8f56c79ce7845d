"""Character-level tokenizer: one token per Unicode character.

The simplest possible tokenizer.  The vocabulary is the sorted set of
characters seen in the training text and a character's id is its position in
that sorted list.  Sequences are long (one id per character) but nothing can be
split wrongly, which makes it a good first tokenizer for a tiny GPT.
"""

from __future__ import annotations

from .base import Tokenizer, TokenizerError, check_ids

# The character that ``encode(..., errors="replace")`` substitutes for unknown
# characters, when the vocabulary contains it.
REPLACEMENT_CHAR = "\ufffd"


class CharTokenizer(Tokenizer):
    type_name = "char"

    def __init__(self, chars):
        chars = list(chars)
        if not chars:
            raise TokenizerError("a CharTokenizer needs at least one character")
        if any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise TokenizerError("CharTokenizer vocabulary entries must be single characters")
        if len(set(chars)) != len(chars):
            raise TokenizerError("CharTokenizer vocabulary has duplicate characters")
        self.chars: list[str] = chars
        self.char_to_id: dict[str, int] = {c: i for i, c in enumerate(chars)}

    @classmethod
    def train(cls, text: str) -> "CharTokenizer":
        """Build the vocabulary: every distinct character of ``text``, sorted."""
        if not text:
            raise TokenizerError("cannot train a CharTokenizer on empty text")
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str, errors: str = "strict") -> list[int]:
        """Map each character to its id.

        errors="strict" (default): unknown characters raise TokenizerError.
        errors="replace": unknown characters become the id of U+FFFD if the
        vocabulary has it, and are dropped otherwise.
        """
        table = self.char_to_id
        try:
            return [table[c] for c in text]
        except KeyError:
            pass  # fall through to the slow path that handles unknown chars
        if errors == "strict":
            unknown = sorted({c for c in text if c not in table})
            shown = ", ".join(repr(c) for c in unknown[:5])
            more = f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else ""
            raise TokenizerError(
                f"text has {len(unknown)} character(s) unknown to this tokenizer: {shown}{more}; "
                f"the tokenizer knows {self.vocab_size} characters "
                f"(use errors='replace' to substitute or skip them)"
            )
        if errors != "replace":
            raise TokenizerError(f"errors must be 'strict' or 'replace', got {errors!r}")
        rep = table.get(REPLACEMENT_CHAR)
        out = []
        for c in text:
            i = table.get(c, rep)
            if i is not None:
                out.append(i)
        return out

    def decode(self, ids) -> str:
        return "".join(self.chars[i] for i in check_ids(ids, self.vocab_size))

    def id_to_token(self, i: int) -> str:
        return self.chars[i]

    def to_dict(self) -> dict:
        return {"type": self.type_name, "format_version": 1, "chars": "".join(self.chars)}

    @classmethod
    def from_dict(cls, d: dict) -> "CharTokenizer":
        cls._check_dict(d)
        chars = d.get("chars")
        if not isinstance(chars, str):
            raise TokenizerError("char tokenizer dict needs a 'chars' string")
        return cls(chars)
