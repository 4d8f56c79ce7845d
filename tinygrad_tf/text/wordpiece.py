"""WordPiece tokenizer, as used by BERT.

Encoding happens in two stages:

1. Basic tokenization splits text into words: clean out control characters,
   put spaces around CJK characters (Chinese/Japanese ideographs have no
   spaces between words, so each becomes its own word), split on whitespace,
   optionally lower-case and strip accents ("Café" -> "cafe"), and split off
   every punctuation character as its own word.
2. WordPiece splits each word into vocabulary pieces, greedily taking the
   longest piece that matches at the current position.  Pieces that continue
   a word are spelled with a "##" prefix: "playing" -> "play", "##ing".  If
   some position cannot be matched at all, the whole word becomes [UNK].

Special tokens: [PAD] pads batches, [UNK] stands for unknown words, [CLS]
starts every input, [SEP] ends each segment and [MASK] hides tokens for
masked language modelling.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from .base import Tokenizer, TokenizerError, check_ids
from .bpe import learn_merges

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK)  # ids 0..4 in a trained vocabulary
MAX_WORD_CHARS = 100  # longer words become [UNK], as in BERT


# -- basic tokenization --------------------------------------------------------


def _is_cjk(cp: int) -> bool:
    """CJK Unified Ideographs blocks (the ranges BERT uses).  Japanese kana
    and Korean hangul are written with spaces/structure and are not included."""
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def _is_punctuation(ch: str) -> bool:
    """All ASCII non-letter/digit symbols count ($, +, ^, ` ...) plus Unicode P*."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _clean(text: str) -> str:
    """Drop NUL, U+FFFD and control characters; turn every whitespace into ' '.

    As in BERT, control characters (category C*, e.g. \\x0b, \\x1c, \\x85) are
    dropped *before* whitespace is looked at, so "a\\x0bb" becomes "ab";
    only tab, newline and carriage return count as whitespace among them.
    """
    out = []
    for ch in text:
        if ch in "\t\n\r":
            out.append(" ")
        elif ch == "\ufffd" or unicodedata.category(ch).startswith("C"):
            continue
        elif ch.isspace():
            out.append(" ")
        elif _is_cjk(ord(ch)):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    return "".join(out)


def _strip_accents(word: str) -> str:
    """Decompose characters (é -> e + combining accent) and drop the accents."""
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


def basic_tokenize(text: str, lowercase: bool = True) -> list[str]:
    """Split text into words and single punctuation characters."""
    words = []
    for word in _clean(text).split():
        if lowercase:
            # BERT's order: strip accents, then lower-case one character at a
            # time (so a final 'Σ' becomes 'σ', not the context-dependent 'ς'
            # that str.lower() would give).
            word = "".join(ch.lower() for ch in _strip_accents(word))
        words.extend(split_punctuation(word))
    return words


def split_punctuation(word: str) -> list[str]:
    """'hello,world!' -> ['hello', ',', 'world', '!']: each punctuation character becomes a word of its own."""
    pieces, current = [], ""
    for ch in word:
        if _is_punctuation(ch):
            if current:
                pieces.append(current)
            pieces.append(ch)
            current = ""
        else:
            current += ch
    if current:
        pieces.append(current)
    return pieces


# -- the tokenizer ---------------------------------------------------------------


class WordPieceTokenizer(Tokenizer):
    type_name = "wordpiece"

    def __init__(self, vocab, lowercase: bool = True):
        self.vocab: list[str] = list(vocab)
        self.token_to_id: dict[str, int] = {}
        for i, tok in enumerate(self.vocab):
            self.token_to_id.setdefault(tok, i)  # first occurrence wins, like BERT
        missing = [t for t in SPECIAL_TOKENS if t not in self.token_to_id]
        if missing:
            raise TokenizerError(f"WordPiece vocabulary lacks the special tokens {missing}")
        self.lowercase = lowercase
        self.pad_token_id = self.token_to_id[PAD]
        self.unk_token_id = self.token_to_id[UNK]
        self.cls_token_id = self.token_to_id[CLS]
        self.sep_token_id = self.token_to_id[SEP]
        self.mask_token_id = self.token_to_id[MASK]
        self.special_ids = frozenset(self.token_to_id[t] for t in SPECIAL_TOKENS)
        # Special tokens written in the text ("Paris is the [MASK] .") are kept whole.
        self._special_split = re.compile("(" + "|".join(map(re.escape, SPECIAL_TOKENS)) + ")")
        self._cache: dict[str, list[str]] = {}

    @classmethod
    def from_vocab_file(cls, vocab_txt, lowercase: bool = True) -> "WordPieceTokenizer":
        """Load a BERT ``vocab.txt``: one token per line, the line number is its id."""
        with open(vocab_txt, encoding="utf-8") as f:
            vocab = [line.rstrip("\r\n") for line in f]
        while vocab and vocab[-1] == "":
            vocab.pop()  # a trailing newline is not a token
        return cls(vocab, lowercase=lowercase)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    # -- encoding -----------------------------------------------------------------

    def _wordpiece(self, word: str) -> list[str]:
        """Greedy longest-match-first split of one word into vocabulary pieces."""
        if word in self._cache:
            return self._cache[word]
        if len(word) > MAX_WORD_CHARS:
            return [UNK]
        pieces = []
        start = 0
        while start < len(word):
            # Try the longest candidate first and shrink it until one is known.
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.token_to_id:
                    break
            else:
                pieces = [UNK]  # nothing matches here: the whole word is unknown
                break
            pieces.append(piece)
            start = end
        if len(self._cache) >= 100_000:
            self._cache.clear()
        self._cache[word] = pieces
        return pieces

    def tokenize(self, text: str) -> list[str]:
        """Text -> list of token strings (no [CLS]/[SEP] added)."""
        tokens = []
        for part in self._special_split.split(text):
            if part in SPECIAL_TOKENS:
                tokens.append(part)
                continue
            for word in basic_tokenize(part, self.lowercase):
                tokens.extend(self._wordpiece(word))
        return tokens

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        """Token ids of ``text``, as ``[CLS] text [SEP]`` by default."""
        ids = [self.token_to_id[t] for t in self.tokenize(text)]
        return [self.cls_token_id, *ids, self.sep_token_id] if add_special_tokens else ids

    def encode_pair(self, a: str, b: str) -> tuple[list[int], list[int]]:
        """``[CLS] a [SEP] b [SEP]`` and its token_type_ids (0 for a's part, 1 for b's)."""
        ids_a = self.encode(a)  # [CLS] a [SEP]
        ids_b = self.encode(b, add_special_tokens=False) + [self.sep_token_id]
        return ids_a + ids_b, [0] * len(ids_a) + [1] * len(ids_b)

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        """Join tokens with spaces and glue "##" continuations back on.

        Lower-casing and accent stripping cannot be undone, and punctuation
        comes back space-separated ("hello , world").
        """
        ids = check_ids(ids, self.vocab_size)
        if skip_special_tokens:
            ids = [i for i in ids if i not in self.special_ids]
        return " ".join(self.vocab[i] for i in ids).replace(" ##", "")

    def id_to_token(self, i: int) -> str:
        return self.vocab[i]

    # -- training ---------------------------------------------------------------

    @classmethod
    def train(cls, text: str, vocab_size: int = 1000, lowercase: bool = True) -> "WordPieceTokenizer":
        """Learn a WordPiece vocabulary from ``text`` (a simple BPE-style trainer).

        1. Split the text into words with the basic tokenizer and count them.
        2. Start from every character seen, both as a word start ("a") and as
           a continuation ("##a"), so any word made of known characters can
           always be spelled and never becomes [UNK].
        3. Spell each word as first char + "##" chars and repeatedly merge the
           most frequent adjacent pair: ("##i", "##n") -> "##in",
           ("p", "##lay") -> "play".  Each new piece joins the vocabulary
           until it has ``vocab_size`` entries.
        (Real BERT training scores pairs by count(ab) / (count(a) * count(b));
        plain counts are simpler and work well enough for our corpus.)
        """
        word_counts = Counter(basic_tokenize(text, lowercase))
        if not word_counts:
            raise TokenizerError("cannot train a WordPieceTokenizer on empty text")
        chars = sorted({ch for word in word_counts for ch in word})
        vocab = list(SPECIAL_TOKENS) + chars + ["##" + ch for ch in chars]
        if vocab_size < len(vocab):
            raise TokenizerError(
                f"vocab_size={vocab_size} is too small: this text needs {len(vocab)} tokens "
                f"for the special tokens and single characters alone"
            )
        seen = set(vocab)
        # Words longer than the limit always become [UNK], so skip them.
        spelled = {
            (w[0], *("##" + ch for ch in w[1:])): n
            for w, n in word_counts.items()
            if len(w) <= MAX_WORD_CHARS
        }

        def glue(a: str, b: str) -> str:
            return a + b[2:]  # b is always a "##" continuation piece

        merges = learn_merges(spelled, glue) if len(vocab) < vocab_size else ()
        for _, _, piece in merges:
            if piece not in seen:  # two different pairs can glue to the same piece
                seen.add(piece)
                vocab.append(piece)
            if len(vocab) >= vocab_size:
                break
        return cls(vocab, lowercase=lowercase)

    # -- saving / loading ---------------------------------------------------------

    def to_dict(self) -> dict:
        return {"type": self.type_name, "format_version": 1, "lowercase": self.lowercase, "vocab": self.vocab}

    @classmethod
    def from_dict(cls, d: dict) -> "WordPieceTokenizer":
        cls._check_dict(d)
        vocab = d.get("vocab")
        if not isinstance(vocab, list) or not all(isinstance(t, str) for t in vocab):
            raise TokenizerError("wordpiece tokenizer dict needs a 'vocab' list of strings")
        return cls(vocab, lowercase=bool(d.get("lowercase", True)))
