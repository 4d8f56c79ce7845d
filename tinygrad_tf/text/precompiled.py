"""SentencePiece's "precompiled charsmap" normalizer (T5's, and every model converted from a SentencePiece
file): a table of rewrite rules (NFKC and a few extras, e.g. "ﬁ" -> "fi", "①" -> "1") stored as a
double-array trie (darts-clone) over UTF-8 bytes, followed by the replacement strings.

The blob (base64 in tokenizer.json) is::

    u32 little-endian: the trie's size in bytes
    the trie: u32 units, each packing a label byte, a has-leaf bit and an offset (or, at a leaf, a value)
    the replacement strings, NUL-terminated; a leaf's value is the offset of its replacement

Normalizing walks the text one user-perceived character (a grapheme: a base character and the combining marks,
variation selectors, emoji modifiers and joiners after it) at a time: a grapheme of under 6 bytes is looked up
whole; otherwise, or when it is not in the table, each of its characters is looked up alone; a character not in
the table is kept as it is. (Grapheme clusters are approximated with the standard library's Unicode data:
exact for text without Hangul jamo sequences or Indic conjuncts.)
"""

from __future__ import annotations

import base64
import binascii
import struct
import unicodedata

from .base import TokenizerError


class Precompiled:
    """Read a precompiled charsmap (bytes or base64 text); ``normalize(text)`` applies it."""

    def __init__(self, charsmap):
        try:
            blob = base64.b64decode(charsmap, validate=True) if isinstance(charsmap, str) else bytes(charsmap)
            (size,) = struct.unpack_from("<I", blob, 0)
            if size % 4 or 4 + size > len(blob):
                raise ValueError(f"trie size {size} does not fit a blob of {len(blob)} bytes")
            self.units = struct.unpack_from(f"<{size // 4}I", blob, 4)
            self.normalized = blob[4 + size:]
        except (binascii.Error, struct.error, ValueError, TypeError) as e:
            raise TokenizerError(f"precompiled_charsmap is not a SentencePiece charsmap ({e})") from None
        if not self.units:
            raise TokenizerError("precompiled_charsmap has an empty trie")
        self._cache: dict[str, str | None] = {}

    def _prefixes(self, key: bytes):
        """darts-clone's common-prefix search: the values of every prefix of ``key`` in the trie, shortest first."""
        units, n = self.units, len(self.units)
        unit = units[0]
        pos = (unit >> 10) << ((unit & (1 << 9)) >> 6)
        out = []
        for c in key:
            if c == 0:
                break
            pos ^= c
            if pos >= n:
                return out
            unit = units[pos]
            if (unit & ((1 << 31) | 0xFF)) != c:
                return out
            pos ^= (unit >> 10) << ((unit & (1 << 9)) >> 6)
            if (unit >> 8) & 1:
                if pos >= n:
                    return out
                out.append(units[pos] & ((1 << 31) - 1))
        return out

    def transform(self, chunk: str):
        """The replacement of ``chunk`` (the first rule matching a prefix of it), or None."""
        if chunk in self._cache:
            return self._cache[chunk]
        found = self._prefixes(chunk.encode("utf-8", "surrogatepass"))
        out = None
        if found:
            start = found[0]
            end = self.normalized.find(b"\0", start)
            out = self.normalized[start:len(self.normalized) if end < 0 else end].decode("utf-8", "replace")
        if len(self._cache) < 100_000:
            self._cache[chunk] = out
        return out

    def normalize(self, text: str) -> str:
        out = []
        for g in graphemes(text):
            if len(g.encode("utf-8", "surrogatepass")) < 6:
                rep = self.transform(g)
                if rep is not None:
                    out.append(rep)
                    continue
            for c in g:
                rep = self.transform(c)
                out.append(c if rep is None else rep)
        return "".join(out)


def _extends(c: str) -> bool:
    """Does ``c`` continue the grapheme before it (Grapheme_Extend, SpacingMark, ZWJ, emoji modifier)?"""
    cp = ord(c)
    if cp == 0x200D or 0xFE00 <= cp <= 0xFE0F or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F \
            or 0xE0100 <= cp <= 0xE01EF:
        return True
    return unicodedata.category(c) in ("Mn", "Me", "Mc")


def graphemes(text: str):
    """Split ``text`` into (approximate) extended grapheme clusters: CR LF together; a character with the marks,
    joiners and modifiers after it; a ZWJ joins the next pictograph; regional indicators in pairs."""
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        if text[i] == "\r" and j < n and text[j] == "\n":
            yield text[i:j + 1]
            i = j + 1
            continue
        if text[i] in "\r\n" or unicodedata.category(text[i]) == "Cc":
            yield text[i]
            i = j
            continue
        if 0x1F1E6 <= ord(text[i]) <= 0x1F1FF and j < n and 0x1F1E6 <= ord(text[j]) <= 0x1F1FF:
            j += 1
        while j < n:
            if _extends(text[j]):
                j += 1
                if text[j - 1] == "\u200d" and j < n and unicodedata.category(text[j]) == "So":
                    j += 1
            else:
                break
        yield text[i:j]
        i = j
