"""Byte-level Byte-Pair Encoding (BPE): the tokenizer family of GPT-2.

How it works
------------
1. Any string is a sequence of UTF-8 bytes, so 256 base tokens (one per byte
   value) can spell *every* text: there is never an unknown token.
2. Training repeatedly finds the most frequent pair of adjacent tokens in the
   corpus and adds a new token standing for that pair (a "merge").  After N
   merges the vocabulary has 256 + N tokens, and frequent words or word pieces
   have become single tokens.
3. Encoding replays the learned merges on new text, always applying the merge
   that was learned earliest (lowest "rank") first.
4. Before any of that the text is pre-split into chunks (a word with its
   leading space, a run of digits, a run of punctuation, whitespace) and merges
   never cross a chunk boundary.  This keeps tokens like "dog." or "the(" from
   forming, and it means training only has to look at each *distinct* chunk
   once, weighted by how often it occurs.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from typing import Callable, Hashable, Iterator

from .. import fileio
from .base import Tokenizer, TokenizerError

# GPT-2 splits text with the pattern
#   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
# using the third-party `regex` module.  Python's `re` has no \p{...} classes,
# so GPT2_SPLIT_PATTERN (a plain `re` pattern, and the name saved in to_dict)
# approximates them:
#   \p{L} (letters)  ->  [^\W\d_]   "a word char that is not a digit or _"
#   \p{N} (numbers)  ->  \d         decimal digits only
# The two agree on ordinary English text and code.  They differ for number
# characters that are not decimal digits ('²', '½', 'Ⅻ', '①': `re` counts them
# as letters) and for the separators \x1c-\x1f (whitespace to `re`, not to
# `regex`).  So a tokenizer whose pattern is GPT2_SPLIT_PATTERN actually splits
# with gpt2_split_regex(), which spells out those characters and gives exactly
# GPT-2's chunks (up to the Unicode versions of `unicodedata` and `regex`).
# Every character falls into exactly one class (letter, number, other
# non-space, whitespace), so the chunks always join back into the input text.
GPT2_SPLIT_PATTERN = (
    r"'s|'t|'re|'ve|'m|'ll|'d"  # common English contractions
    r"| ?[^\W\d_]+"  # letters, with one optional leading space
    r"| ?\d+"  # digits, with one optional leading space
    r"| ?(?:[^\s\w]|_)+"  # punctuation and symbols (underscore included)
    r"|\s+(?!\S)"  # whitespace, leaving the last space to the next word
    r"|\s+"  # whitespace at the very end of the text
)


def _char_class(codepoints) -> str:
    """Code points -> the inside of a `re` character class, as ranges."""
    out, cps = [], sorted(codepoints)
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        lo, hi = re.escape(chr(cps[i])), re.escape(chr(cps[j]))
        out.append(lo if i == j else f"{lo}-{hi}")
        i = j + 1
    return "".join(out)


@functools.lru_cache(maxsize=1)
def gpt2_split_regex() -> "re.Pattern":
    r"""GPT-2's exact split pattern for Python's `re` (built once, ~0.15 s).

    \w is exactly letters + numbers + '_', so with NUM = the non-decimal number
    characters (categories Nl, No): \p{L} = [^\W\d_NUM], \p{N} = [\dNUM] and
    [^\s\p{L}\p{N}] = [^\s\w] or '_' or \x1c-\x1f; `regex`'s \s is `re`'s \s
    without \x1c-\x1f.
    """
    num = _char_class(
        c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) in ("Nl", "No")
    )
    ws, not_ws = r"[^\S\x1c-\x1f]", r"[\S\x1c-\x1f]"
    return re.compile(
        r"'s|'t|'re|'ve|'m|'ll|'d"
        rf"| ?[^\W\d_{num}]+"
        rf"| ?[\d{num}]+"
        r"| ?(?:[^\s\w]|[_\x1c-\x1f])+"
        rf"|{ws}+(?!{not_ws})"
        rf"|{ws}+"
    )


# GPT-2's pattern as its tokenizer.json writes it (for the third-party `regex` module): the same splitter
GPT2_REGEX_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
# The split patterns a tokenizer file may name. A file is data, and a shared checkpoint is untrusted: an
# arbitrary regular expression from it can fail to compile or backtrack for minutes on a short prompt
# ("(a|aa)+$"), so only these are read from files (a pattern of your own: from_dict(d, trust_pattern=True)).
KNOWN_SPLIT_PATTERNS = (GPT2_SPLIT_PATTERN, GPT2_REGEX_PATTERN)


def compile_split_pattern(pattern: str) -> "re.Pattern":
    """The compiled splitter for ``pattern`` (GPT-2's, either spelling: the exact one); a pattern that does not
    compile is a TokenizerError."""
    if pattern in KNOWN_SPLIT_PATTERNS:
        return gpt2_split_regex()
    if not isinstance(pattern, str) or not pattern:
        raise TokenizerError(f"the split pattern must be a non-empty string, got {pattern!r}")
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as e:
        raise TokenizerError(f"the split pattern {pattern!r} is not a valid regular expression ({e})") from None


def _utf8(text: str) -> bytes:
    """The UTF-8 bytes of ``text``. Text read from invalid UTF-8 (a command line, a file opened with
    surrogateescape) holds each bad byte as a lone surrogate U+DC80-U+DCFF: a byte-level tokenizer encodes it
    as that very byte. Any other lone surrogate is no character at all: a TokenizerError."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as e:
        raise TokenizerError(f"the text holds a lone surrogate {text[e.start]!r} at position {e.start}, which is "
                             "not a character (half of a UTF-16 pair?); give valid Unicode text") from None


# Encodings of chunks are cached; the cache is emptied when it grows this big.
_CACHE_LIMIT = 200_000


def merge_pair(symbols: list, pair: tuple, new) -> list:
    """Replace every non-overlapping occurrence of ``pair`` (left to right)."""
    a, b = pair
    out = []
    i, n = 0, len(symbols)
    while i < n:
        if i + 1 < n and symbols[i] == a and symbols[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


def learn_merges(
    word_counts: dict[tuple, int], new_symbol: Callable[[Hashable, Hashable], Hashable]
) -> Iterator[tuple]:
    """Yield BPE merges ``(left, right, new)`` one at a time, most frequent first.

    ``word_counts`` maps a word (a tuple of symbols) to its number of
    occurrences.  ``new_symbol(left, right)`` names the symbol for a merged
    pair.  Stop iterating once you have enough merges (e.g. itertools.islice).

    The naive algorithm recounts every pair in the corpus after every merge.
    Instead we keep three structures up to date:
      pair_counts[pair]  occurrences of each adjacent pair, weighted by word count
      where[pair]        indices of the words containing the pair (may be stale)
      heap               (-count, pair) entries: a max-heap on counts.  When a
                         count changes we push a fresh entry and leave the old
                         one in place; popped entries whose count is out of
                         date are simply skipped ("lazy deletion").
    A merge then only touches the words that contain the merged pair.
    Ties are broken by the smallest pair, so training is deterministic.
    """
    words = [list(w) for w in word_counts]
    counts = list(word_counts.values())
    pair_counts: Counter = Counter()
    where: dict[tuple, set[int]] = defaultdict(set)
    for i, w in enumerate(words):
        for pair in zip(w, w[1:]):
            pair_counts[pair] += counts[i]
            where[pair].add(i)
    heap = [(-c, pair) for pair, c in pair_counts.items()]
    heapq.heapify(heap)

    while heap:
        neg_count, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -neg_count:
            continue  # stale heap entry: this pair's count changed since it was pushed
        new = new_symbol(*pair)
        touched = set()
        for i in where.pop(pair):
            w, c = words[i], counts[i]
            if len(w) < 2:
                continue
            # Remove the word's old pairs, merge, then add its new pairs back.
            for p in zip(w, w[1:]):
                pair_counts[p] -= c
                touched.add(p)
            w = words[i] = merge_pair(w, pair, new)
            for p in zip(w, w[1:]):
                pair_counts[p] += c
                where[p].add(i)
                touched.add(p)
        for p in touched:
            if pair_counts[p] > 0:
                heapq.heappush(heap, (-pair_counts[p], p))
            else:
                del pair_counts[p]
                where.pop(p, None)
        yield pair[0], pair[1], new


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from the 256 byte values to printable characters.

    GPT-2's vocab.json/merges.txt store tokens as text, so every byte needs a
    visible character: printable Latin-1 bytes map to themselves and the rest
    (control bytes, space, ...) map to chars from U+0100 on.  That is why a
    leading space shows up as 'Ġ' (U+0120) in GPT-2's files.
    """
    keep = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    byte_values, code_points = keep[:], keep[:]
    n = 0
    for b in range(256):
        if b not in keep:
            byte_values.append(b)
            code_points.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(byte_values, code_points)}


class ByteBPETokenizer(Tokenizer):
    """Byte-level BPE tokenizer.

    merges:         list of (left_id, right_id, new_id), in the order learned
    byte_to_id:     token id of each byte value (identity for our own training;
                    GPT-2's files number the bytes differently)
    special_tokens: extra tokens like "<|endoftext|>" -> id, never produced by
                    merges; ``encode`` only recognises them with allowed_special
    """

    type_name = "byte_bpe"

    def __init__(self, merges=(), byte_to_id=None, special_tokens=None, pattern=GPT2_SPLIT_PATTERN):
        byte_to_id = list(range(256)) if byte_to_id is None else [int(i) for i in byte_to_id]
        if len(byte_to_id) != 256 or len(set(byte_to_id)) != 256:
            raise TokenizerError("byte_to_id must hold 256 distinct token ids")
        self.byte_to_id = byte_to_id
        self.vocab: dict[int, bytes] = {i: bytes([b]) for b, i in enumerate(byte_to_id)}
        self.merges: list[tuple[int, int, int]] = []
        self._ranks: dict[tuple[int, int], int] = {}
        self._merged_id: dict[tuple[int, int], int] = {}
        for rank, (a, b, new) in enumerate(merges):
            a, b, new = int(a), int(b), int(new)
            if a not in self.vocab or b not in self.vocab:
                raise TokenizerError(f"merge #{rank} ({a}, {b}) uses a token id not defined before it")
            if (a, b) in self._ranks:
                raise TokenizerError(f"merge #{rank} ({a}, {b}) appears twice")
            piece = self.vocab[a] + self.vocab[b]
            if self.vocab.setdefault(new, piece) != piece:
                raise TokenizerError(f"merge #{rank} reuses token id {new} for different bytes")
            self.merges.append((a, b, new))
            self._ranks[(a, b)] = rank
            self._merged_id[(a, b)] = new
        self.special_tokens: dict[str, int] = {str(s): int(i) for s, i in (special_tokens or {}).items()}
        self._special_by_id = {i: s for s, i in self.special_tokens.items()}
        if len(self._special_by_id) != len(self.special_tokens) or any(
            i in self.vocab for i in self._special_by_id
        ):
            raise TokenizerError("special token ids must be distinct and not used by other tokens")
        self.pattern = pattern
        self._split = compile_split_pattern(pattern)
        # Longest special token first, so that "<|a|>" never hides "<|a|>b".
        specials = sorted(self.special_tokens, key=len, reverse=True)
        self._special_split = re.compile("|".join(map(re.escape, specials))) if specials else None
        self._vocab_size = max(max(self.vocab), max(self._special_by_id, default=-1)) + 1
        self._cache: dict[str, list[int]] = {}

    # -- training -------------------------------------------------------------

    @classmethod
    def train(
        cls, text: str, vocab_size: int = 512, special_tokens=(), pattern: str = GPT2_SPLIT_PATTERN
    ) -> "ByteBPETokenizer":
        """Learn ``vocab_size - 256 - len(special_tokens)`` merges from ``text``.

        Special tokens (if any) get the last ids.  If the text runs out of
        pairs to merge (every chunk is already one token) training stops early
        and the vocabulary is smaller than asked.
        """
        num_merges = vocab_size - 256 - len(special_tokens)
        if num_merges < 0:
            raise TokenizerError(
                f"vocab_size={vocab_size} is too small: need at least 256 byte tokens"
                f" + {len(special_tokens)} special tokens"
            )
        if not text:
            raise TokenizerError("cannot train a ByteBPETokenizer on empty text")
        # Count each distinct chunk once; a chunk is a word of byte values.
        chunk_counts = Counter(compile_split_pattern(pattern).findall(text))
        word_counts = {tuple(_utf8(chunk)): n for chunk, n in chunk_counts.items()}
        next_id = itertools.count(256)
        merges = list(
            itertools.islice(learn_merges(word_counts, lambda a, b: next(next_id)), num_merges)
        )
        first_special = 256 + len(merges)
        specials = {s: first_special + k for k, s in enumerate(special_tokens)}
        return cls(merges, special_tokens=specials, pattern=pattern)

    # -- encoding / decoding --------------------------------------------------

    @property
    def vocab_size(self) -> int:
        """One more than the largest token id (ids are 0 .. vocab_size-1)."""
        return self._vocab_size

    def _encode_chunk(self, chunk: str) -> list[int]:
        ids = self._cache.get(chunk)
        if ids is not None:
            return ids
        ids = [self.byte_to_id[b] for b in _utf8(chunk)]
        ranks = self._ranks
        while len(ids) > 1:
            # Apply the earliest-learned merge present in the chunk, as in training.
            pair = min(zip(ids, ids[1:]), key=lambda p: ranks.get(p, len(ranks)))
            if pair not in ranks:
                break  # no adjacent pair was ever merged: done
            ids = merge_pair(ids, pair, self._merged_id[pair])
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[chunk] = ids
        return ids

    def encode(self, text: str, allowed_special: bool = False) -> list[int]:
        """Encode any string.  With allowed_special=True, special token strings
        in the text (e.g. "<|endoftext|>") become their single special id;
        otherwise they are encoded as ordinary text."""
        if allowed_special and self._special_split is not None:
            out: list[int] = []
            start = 0
            for m in self._special_split.finditer(text):
                out += self.encode(text[start : m.start()])
                out.append(self.special_tokens[m.group()])
                start = m.end()
            return out + self.encode(text[start:])
        out = []
        for chunk in self._split.findall(text):
            out.extend(self._encode_chunk(chunk))
        return out

    def token_bytes(self, i: int) -> bytes:
        """The bytes a token id stands for (special tokens: their UTF-8 text)."""
        i = int(i)
        if i in self.vocab:
            return self.vocab[i]
        if i in self._special_by_id:
            return self._special_by_id[i].encode("utf-8")
        raise TokenizerError(f"token id {i} is not in this tokenizer's vocabulary (size {self.vocab_size})")

    def id_to_token(self, i: int) -> str:
        """A readable form of one token (partial UTF-8 characters show as '\ufffd')."""
        return self.token_bytes(i).decode("utf-8", errors="replace")

    def decode(self, ids) -> str:
        # Join the bytes first and decode once at the end: a multi-byte
        # character may be split across several tokens.  errors="replace" only
        # matters for id sequences that were not produced by encode().
        return b"".join(self.token_bytes(i) for i in ids).decode("utf-8", errors="replace")

    # -- saving / loading -----------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "type": self.type_name,
            "format_version": 1,
            "pattern": self.pattern,
            "byte_to_id": self.byte_to_id,
            "merges": [list(m) for m in self.merges],
            "special_tokens": self.special_tokens,
        }

    @classmethod
    def from_dict(cls, d: dict, trust_pattern: bool = False) -> "ByteBPETokenizer":
        """Rebuild a tokenizer from ``to_dict()``'s dict. Its split pattern must be GPT-2's (KNOWN_SPLIT_PATTERNS):
        a file's regular expression could hang or crash the program; ``trust_pattern=True`` accepts any that
        compiles, for a tokenizer you trained with a pattern of your own."""
        cls._check_dict(d)
        pattern = d.get("pattern", GPT2_SPLIT_PATTERN)
        if not trust_pattern and pattern not in KNOWN_SPLIT_PATTERNS:
            shown = pattern if isinstance(pattern, str) and len(pattern) <= 60 else f"{str(pattern)[:60]}..."
            raise TokenizerError(f"byte_bpe tokenizer: split pattern {shown!r} is not GPT-2's, the only one read "
                                 "from a file (a regular expression in a shared file could hang or crash the "
                                 "program); if you made this tokenizer yourself, load it with "
                                 "ByteBPETokenizer.from_dict(d, trust_pattern=True)")
        try:
            return cls(
                merges=d["merges"],
                byte_to_id=d.get("byte_to_id"),
                special_tokens=d.get("special_tokens") or {},
                pattern=pattern,
            )
        except TokenizerError:
            raise
        except (KeyError, TypeError, ValueError) as e:
            raise TokenizerError(f"malformed byte_bpe tokenizer dict: {e!r}") from None

    @classmethod
    def from_gpt2_files(cls, vocab_json_path, merges_txt_path) -> "ByteBPETokenizer":
        """Load GPT-2's ``vocab.json`` (token text -> id) and ``merges.txt``.

        merges.txt lists one merge per line, "left right", best (rank 0) first,
        after a "#version" header line.  Tokens are written with the
        :func:`bytes_to_unicode` alphabet.  Any vocab.json entry that is neither
        a byte nor a merge result (for GPT-2: "<|endoftext|>") becomes a
        special token.
        """
        byte_encoder = bytes_to_unicode()
        vocab = fileio.read_json(vocab_json_path, "GPT-2 vocab.json", TokenizerError)
        missing = [b for b in range(256) if byte_encoder[b] not in vocab]
        if missing:
            raise TokenizerError(f"{vocab_json_path} lacks tokens for {len(missing)} byte values, e.g. {missing[:5]}")
        byte_to_id = [vocab[byte_encoder[b]] for b in range(256)]
        merges = []
        lines = fileio.read_text(merges_txt_path, "GPT-2 merges.txt", TokenizerError).splitlines()
        for lineno, line in enumerate(lines, 1):
            if line.startswith("#version") or not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2:
                raise TokenizerError(f"{merges_txt_path}:{lineno}: expected 'left right', got {line!r}")
            left, right = parts
            for tok in (left, right, left + right):
                if tok not in vocab:
                    raise TokenizerError(f"{merges_txt_path}:{lineno}: token {tok!r} is not in {vocab_json_path}")
            merges.append((vocab[left], vocab[right], vocab[left + right]))
        used = set(byte_to_id) | {m[2] for m in merges}
        specials = {tok: i for tok, i in vocab.items() if i not in used}
        return cls(merges, byte_to_id=byte_to_id, special_tokens=specials)
