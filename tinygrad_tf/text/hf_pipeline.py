"""The stages of a Hugging Face ``tokenizer.json`` around its model: normalizers, pre-tokenizers,
post-processors and decoders, each read from its JSON object (written from the format, not from the
`tokenizers` library, which the package never imports).

    text --normalizer--> text --pre-tokenizer--> pieces --model--> ids --post-processor--> ids (+ [CLS] ...)
    ids --> tokens --decoder--> text

Each stage is a plain function built once from its JSON object:
    normalizer(str) -> str,  pre_tokenizer(list[(str, first)]) -> list[str],  decoder(list[str]) -> list[str],
    and a post-processor object with ``.apply(ids_a, ids_b) -> (ids, type_ids)``.
Only what the GPT-2, Llama 2 / 3, BERT and T5 families use (and the common simple cases around them) is read; an
unknown stage is a TokenizerError naming it. A file is untrusted data: a regular expression it names is used only
when it is one of the known patterns below (an arbitrary one can hang the program), and literal strings are
matched as literals.
"""

from __future__ import annotations

import re
import unicodedata

from .base import TokenizerError
from .bpe import GPT2_REGEX_PATTERN, GPT2_SPLIT_PATTERN, _char_class, bytes_to_unicode, gpt2_split_regex
from .precompiled import Precompiled
from .wordpiece import _is_cjk, _is_punctuation, split_punctuation

import functools
import sys

# ---------------------------------------------------------------------------- known regular expressions
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                  r"\s*[\r\n]+|\s+(?!\S)|\s+")


@functools.lru_cache(maxsize=1)
def llama3_split_regex() -> "re.Pattern":
    r"""Llama 3's (tiktoken cl100k-style) split pattern for Python's `re`: \p{L} and \p{N} spelled out as in
    ``gpt2_split_regex`` (letters = \w less digits, '_' and the non-decimal numbers; \s less \x1c-\x1f)."""
    num = _char_class(c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) in ("Nl", "No"))
    L, N = rf"[^\W\d_{num}]", rf"[\d{num}]"
    not_lnr = r"(?:[^\w\r\n]|_)"                      # [^\r\n\p{L}\p{N}]
    not_sln = r"(?:[^\s\w]|[_\x1c-\x1f])"             # [^\s\p{L}\p{N}]
    ws, not_ws = r"[^\S\x1c-\x1f]", r"[\S\x1c-\x1f]"
    return re.compile(rf"(?i:'s|'t|'re|'ve|'m|'ll|'d)|{not_lnr}?{L}+|{N}{{1,3}}| ?{not_sln}+[\r\n]*|"
                      rf"{ws}*[\r\n]+|{ws}+(?!{not_ws})|{ws}+")


# pattern text in a file -> a function returning the compiled `re` pattern
KNOWN_REGEXES = {GPT2_REGEX_PATTERN: gpt2_split_regex, GPT2_SPLIT_PATTERN: gpt2_split_regex,
                 LLAMA3_PATTERN: llama3_split_regex,
                 " {2,}": lambda: re.compile(" {2,}"), r"\s+": lambda: re.compile(r"[^\S\x1c-\x1f]+"),
                 r"\w+|[^\w\s]+": lambda: re.compile(r"\w+|[^\w\s]+")}


def _pattern(spec, where):
    """A {"String": s} or {"Regex": r} pattern -> a compiled `re` pattern (a String matches literally)."""
    if not isinstance(spec, dict) or len(spec) != 1:
        raise TokenizerError(f"{where}: a pattern must be {{'String': ...}} or {{'Regex': ...}}, got {spec!r}"[:200])
    (kind, value), = spec.items()
    if not isinstance(value, str):
        raise TokenizerError(f"{where}: the pattern must be a string, got {value!r}"[:200])
    if kind == "String":
        if not value:
            raise TokenizerError(f"{where}: an empty String pattern")
        return re.compile(re.escape(value))
    if kind == "Regex":
        if value not in KNOWN_REGEXES:
            shown = value if len(value) <= 60 else value[:60] + "..."
            raise TokenizerError(f"{where}: regular expression {shown!r} is not one of the known split patterns "
                                 "(GPT-2's, Llama 3's, ' {2,}', '\\s+'); a regular expression in a shared file "
                                 "could hang or crash the program, so only these are read")
        return KNOWN_REGEXES[value]()
    raise TokenizerError(f"{where}: unknown pattern kind {kind!r} (String or Regex)")


def _get(d, key, where, default=...):
    if key in d:
        return d[key]
    if default is ...:
        raise TokenizerError(f"{where} has no {key!r}")
    return default


# ---------------------------------------------------------------------------- normalizers
def _lower(s):
    return "".join(c.lower() for c in s)          # char by char, as Rust's char::to_lowercase (no final sigma)


def _strip_accents(s):
    return "".join(c for c in s if unicodedata.category(c) != "Mn")


def _bert_clean(s, clean, chinese, strip, lower):
    if clean:
        s = "".join(" " if c in "\t\n\r" or (c.isspace() and not unicodedata.category(c).startswith("C")) else c
                    for c in s if not (c in "\x00\ufffd" or (c not in "\t\n\r" and unicodedata.category(c)[0] == "C")))
    if chinese:
        s = "".join(f" {c} " if _is_cjk(ord(c)) else c for c in s)
    if strip:
        s = _strip_accents(unicodedata.normalize("NFD", s))
    return _lower(s) if lower else s


def make_normalizer(d):
    """A normalizer's JSON object -> str -> str (None: the identity)."""
    if d is None:
        return None
    where = f"normalizer {d.get('type')!r}"
    kind = d.get("type")
    if kind == "Sequence":
        steps = [make_normalizer(x) for x in _get(d, "normalizers", where)]
        steps = [f for f in steps if f is not None]
        return lambda s: functools.reduce(lambda acc, f: f(acc), steps, s)
    if kind == "BertNormalizer":
        lower = d.get("lowercase", True)
        strip = d.get("strip_accents")
        strip = lower if strip is None else strip
        return lambda s: _bert_clean(s, d.get("clean_text", True), d.get("handle_chinese_chars", True), strip, lower)
    if kind in ("NFC", "NFD", "NFKC", "NFKD"):
        return lambda s: unicodedata.normalize(kind, s)
    if kind == "Lowercase":
        return _lower
    if kind == "StripAccents":
        return _strip_accents
    if kind == "Strip":
        left, right = d.get("strip_left", True), d.get("strip_right", True)
        return lambda s: (s.lstrip() if left else s).rstrip() if right else (s.lstrip() if left else s)
    if kind == "Prepend":
        p = _get(d, "prepend", where)
        return lambda s: p + s if s else s
    if kind == "Replace":
        pat, content = _pattern(_get(d, "pattern", where), where), _get(d, "content", where)
        return lambda s: pat.sub(lambda m: content, s)
    if kind == "Precompiled":
        return Precompiled(_get(d, "precompiled_charsmap", where)).normalize
    raise TokenizerError(f"unsupported normalizer {kind!r} in tokenizer.json (read: Sequence, BertNormalizer, NFC, "
                         "NFD, NFKC, NFKD, Lowercase, StripAccents, Strip, Prepend, Replace, Precompiled)")


# ---------------------------------------------------------------------------- pre-tokenizers
BYTE_ENCODER = bytes_to_unicode()
BYTE_DECODER = {c: b for b, c in BYTE_ENCODER.items()}


def _split(s, pat, behavior, invert=False):
    """tokenizers' split behaviours: the matches of ``pat`` are Removed, Isolated, MergedWithPrevious,
    MergedWithNext or Contiguous with the text between them (invert: the matches are the text to keep)."""
    pieces, at = [], 0                              # (text, is_match)
    for m in pat.finditer(s):
        if m.end() == m.start():
            continue
        if m.start() > at:
            pieces.append((s[at:m.start()], invert))
        pieces.append((m.group(), not invert))
        at = m.end()
    if at < len(s):
        pieces.append((s[at:], invert))
    if behavior == "Removed":
        return [p for p, match in pieces if not match]
    if behavior == "Isolated":
        return [p for p, _ in pieces]
    out = []
    if behavior == "MergedWithPrevious":
        for p, match in pieces:
            if match and out and not out[-1][1]:
                out[-1] = (out[-1][0] + p, True)
            else:
                out.append((p, match))
    elif behavior == "MergedWithNext":
        for p, match in reversed(pieces):
            if match and out and not out[-1][1]:
                out[-1] = (p + out[-1][0], True)
            else:
                out.append((p, match))
        out.reverse()
    elif behavior == "Contiguous":
        for p, match in pieces:
            if out and out[-1][1] == match:
                out[-1] = (out[-1][0] + p, match)
            else:
                out.append((p, match))
    else:
        raise TokenizerError(f"unknown split behavior {behavior!r}")
    return [p for p, _ in out]


def _byte_level(d, where):
    prefix, use_regex = d.get("add_prefix_space", True), d.get("use_regex", True)
    split = gpt2_split_regex()

    def run(s, first):
        if prefix and not s.startswith(" "):
            s = " " + s
        parts = split.findall(s) if use_regex else [s]
        return ["".join(BYTE_ENCODER[b] for b in p.encode("utf-8", "surrogateescape")) for p in parts]
    return run


def _metaspace(d, where):
    rep = d.get("replacement", "\u2581")
    scheme = d.get("prepend_scheme") or ("always" if d.get("add_prefix_space", True) else "never")
    split = d.get("split", True)
    if scheme not in ("always", "first", "never"):
        raise TokenizerError(f"{where}: unknown prepend_scheme {scheme!r}")
    pat = re.compile(re.escape(rep))

    def run(s, first):
        s = s.replace(" ", rep)
        if (scheme == "always" or scheme == "first" and first) and not s.startswith(rep):
            s = rep + s
        return _split(s, pat, "MergedWithNext") if split else [s]
    return run


def _bert_pre(s, first):
    return [piece for word in s.split() for piece in split_punctuation(word)]


_WS = re.compile(r"[^\S\x1c-\x1f]+")            # Rust's char::is_whitespace


def make_pre_tokenizer(d):
    """A pre-tokenizer's JSON object -> (text, is_first_segment) -> list of pieces (None: one piece)."""
    if d is None:
        return None
    kind = d.get("type")
    where = f"pre_tokenizer {kind!r}"
    if kind == "Sequence":
        steps = [make_pre_tokenizer(x) for x in _get(d, "pretokenizers", where)]

        def run(s, first):
            pieces = [s]
            for step in steps:
                pieces = [q for p in pieces for q in step(p, first)]
            return pieces
        return run
    if kind == "ByteLevel":
        return _byte_level(d, where)
    if kind == "Metaspace":
        return _metaspace(d, where)
    if kind == "BertPreTokenizer":
        return _bert_pre
    if kind == "WhitespaceSplit":
        return lambda s, first: _split(s, _WS, "Removed")
    if kind == "Whitespace":
        pat = re.compile(r"\w+|[^\w\s]+")
        return lambda s, first: pat.findall(s)
    if kind == "Split":
        pat = _pattern(_get(d, "pattern", where), where)
        behavior, invert = d.get("behavior", "Isolated"), bool(d.get("invert", False))
        return lambda s, first: _split(s, pat, behavior, invert)
    if kind == "Punctuation":
        behavior = d.get("behavior", "Isolated")
        return lambda s, first: _split(s, _PUNCT, behavior)
    if kind == "Digits":
        pat = re.compile(r"\d" if d.get("individual_digits") else r"\d+")
        return lambda s, first: _split(s, pat, "Isolated")
    raise TokenizerError(f"unsupported pre_tokenizer {kind!r} in tokenizer.json (read: Sequence, ByteLevel, "
                         "Metaspace, BertPreTokenizer, Whitespace, WhitespaceSplit, Split, Punctuation, Digits)")


class _Punct:
    """A `re`-like object whose matches are single punctuation characters (BERT's definition)."""

    def finditer(self, s):
        for i, c in enumerate(s):
            if _is_punctuation(c):
                yield _M(s, i)


class _M:
    def __init__(self, s, i):
        self.s, self.i = s, i

    def start(self):
        return self.i

    def end(self):
        return self.i + 1

    def group(self):
        return self.s[self.i]


_PUNCT = _Punct()


# ---------------------------------------------------------------------------- post-processors
class PostProcessor:
    """Adds the special tokens a model expects: ``apply(a, b=None) -> (ids, type_ids)``."""

    def __init__(self, single, pair):
        self.single, self.pair = single, pair      # lists of ("A" | "B" | special id list, type id)

    def apply(self, a, b=None):
        ids, types = [], []
        for item, type_id in (self.single if b is None else self.pair):
            part = a if item == "A" else b if item == "B" else item
            ids += part
            types += [type_id] * len(part)
        return ids, types


def _template(items, specials, where):
    out = []
    for x in items:
        if "Sequence" in x:
            seq = x["Sequence"]
            out.append(({"A": "A", "B": "B"}[seq["id"]], int(seq.get("type_id", 0))))
        elif "SpecialToken" in x:
            name = x["SpecialToken"]["id"]
            if name not in specials:
                raise TokenizerError(f"{where}: special token {name!r} is not in its special_tokens")
            out.append(([int(i) for i in specials[name]["ids"]], int(x["SpecialToken"].get("type_id", 0))))
        else:
            raise TokenizerError(f"{where}: unknown template item {x!r}"[:200])
    return out


def make_post_processor(d):
    """A post_processor's JSON object -> PostProcessor (None: nothing is added)."""
    if d is None:
        return None
    kind = d.get("type")
    where = f"post_processor {kind!r}"
    try:
        if kind == "Sequence":
            steps = [p for p in (make_post_processor(x) for x in _get(d, "processors", where)) if p is not None]
            if len(steps) > 1:
                raise TokenizerError(f"{where}: more than one processor that adds tokens")
            return steps[0] if steps else None
        if kind in ("ByteLevel",):
            return None                               # offsets only: the ids are unchanged
        if kind == "TemplateProcessing":
            specials = d.get("special_tokens") or {}
            return PostProcessor(_template(d["single"], specials, where), _template(d["pair"], specials, where))
        if kind in ("BertProcessing", "RobertaProcessing"):
            (_, sep), (_, cls) = d["sep"], d["cls"]
            second = 0 if kind == "RobertaProcessing" else 1
            single = [([cls], 0), ("A", 0), ([sep], 0)]
            pair = single + ([([sep], 0)] if kind == "RobertaProcessing" else []) + [("B", second), ([sep], second)]
            return PostProcessor(single, pair)
    except (KeyError, TypeError, ValueError) as e:
        raise TokenizerError(f"malformed {where}: {e!r}"[:200]) from None
    raise TokenizerError(f"unsupported post_processor {kind!r} in tokenizer.json (read: TemplateProcessing, "
                         "BertProcessing, RobertaProcessing, ByteLevel, Sequence)")


# ---------------------------------------------------------------------------- decoders
_BYTE_TOKEN = re.compile(r"<0x([0-9A-Fa-f]{2})>")


def _byte_fallback(tokens):
    out, pending = [], []
    for t in tokens + [None]:
        m = _BYTE_TOKEN.fullmatch(t) if t is not None else None
        if m:
            pending.append(int(m.group(1), 16))
            continue
        if pending:
            try:
                out.append(bytes(pending).decode("utf-8"))
            except UnicodeDecodeError:
                out += ["\ufffd"] * len(pending)
            pending = []
        if t is not None:
            out.append(t)
    return out


def _byte_level_decode(tokens):
    data = bytes(BYTE_DECODER[c] for t in tokens for c in t if c in BYTE_DECODER)
    return [data.decode("utf-8", errors="replace")]


_CLEANUP = ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
            (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"))


def _cleanup(s):
    for a, b in _CLEANUP:
        s = s.replace(a, b)
    return s


def make_decoder(d):
    """A decoder's JSON object -> list of token strings -> list of strings (joined by the caller)."""
    if d is None:
        return None
    kind = d.get("type")
    where = f"decoder {kind!r}"
    if kind == "Sequence":
        steps = [make_decoder(x) for x in _get(d, "decoders", where)]
        return lambda toks: functools.reduce(lambda acc, f: f(acc), steps, toks)
    if kind == "ByteLevel":
        return _byte_level_decode
    if kind == "ByteFallback":
        return _byte_fallback
    if kind == "Fuse":
        return lambda toks: ["".join(toks)]
    if kind == "Strip":
        c, start, stop = d.get("content", " "), int(d.get("start", 0)), int(d.get("stop", 0))

        def strip(toks):
            out = []
            for t in toks:
                for _ in range(start):
                    t = t[len(c):] if t.startswith(c) else t
                for _ in range(stop):
                    t = t[:-len(c)] if c and t.endswith(c) else t
                out.append(t)
            return out
        return strip
    if kind == "Replace":
        pat, content = _pattern(_get(d, "pattern", where), where), _get(d, "content", where)
        return lambda toks: [pat.sub(lambda m: content, t) for t in toks]
    if kind == "WordPiece":
        prefix, clean = d.get("prefix", "##"), d.get("cleanup", True)

        def wordpiece(toks):
            out = []
            for i, t in enumerate(toks):
                if i and t.startswith(prefix):
                    t = t[len(prefix):]
                elif i:
                    t = " " + t
                out.append(_cleanup(t) if clean else t)
            return out
        return wordpiece
    if kind == "Metaspace":
        rep = d.get("replacement", "\u2581")
        scheme = d.get("prepend_scheme") or ("always" if d.get("add_prefix_space", True) else "never")

        def metaspace(toks):
            out = []
            for i, t in enumerate(toks):
                t = t.replace(rep, " ")
                if i == 0 and scheme != "never" and t.startswith(" "):
                    t = t[1:]
                out.append(t)
            return out
        return metaspace
    if kind == "BPEDecoder":
        suffix = d.get("suffix", "</w>")
        return lambda toks: [t.replace(suffix, "" if i == len(toks) - 1 else " ") for i, t in enumerate(toks)]
    raise TokenizerError(f"unsupported decoder {kind!r} in tokenizer.json (read: Sequence, ByteLevel, ByteFallback, "
                         "Fuse, Strip, Replace, WordPiece, Metaspace, BPEDecoder)")
