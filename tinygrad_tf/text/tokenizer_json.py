"""``HFTokenizer``: a Hugging Face ``tokenizer.json`` (the file every current Hub model ships) read and run here,
without the `tokenizers` library: GPT-2 and Llama 3 (byte-level BPE), Llama 2 (SentencePiece-style BPE with byte
fallback), BERT (WordPiece) and T5 (Unigram), with their normalizers, pre-tokenizers, post-processors and
decoders.

    tok = HFTokenizer.from_file("tokenizer.json")        # or load_tokenizer("folder/" | "tokenizer.json" | "gpt2")
    tok.encode("The cat sat.")                            # [CLS] ... [SEP] for BERT, ... </s> for T5
    tok.encode("The cat sat.", add_special_tokens=False)
    tok.tokens("The cat sat.")                            # the token strings, for a readout
    tok.decode(ids)                                       # special tokens skipped, as `tokenizers` does

encode runs the file's pipeline, as `tokenizers` does:
  1. added tokens ([CLS], <|endoftext|>, </s>, ...) are cut out of the text first (longest match wins; lstrip /
     rstrip take the spaces beside them; "normalized" ones are matched after normalizing);
  2. each remaining segment is normalized (lower case, accents, NFKC, SentencePiece's charsmap, "▁" for spaces),
  3. pre-tokenized into pieces (GPT-2's regular expression, BERT's whitespace and punctuation split, ...),
  4. each piece goes through the model (hf_models.py) to ids,
  5. the post-processor adds the model's special tokens (with token type ids for a pair).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .base import Tokenizer, TokenizerError, read_json
from .hf_models import make_model
from .hf_pipeline import make_decoder, make_normalizer, make_post_processor, make_pre_tokenizer

_WORD = re.compile(r"\w")
# the conventional names of the special tokens, as attributes: tok.mask_token_id, tok.eos_token_id, ...
SPECIAL_NAMES = {"pad_token_id": ("[PAD]", "<pad>", "<|padding|>"), "unk_token_id": ("[UNK]", "<unk>"),
                 "cls_token_id": ("[CLS]",), "sep_token_id": ("[SEP]",), "mask_token_id": ("[MASK]", "<mask>"),
                 "bos_token_id": ("<s>", "<|begin_of_text|>", "<|endoftext|>"),
                 "eos_token_id": ("</s>", "<|end_of_text|>", "<|endoftext|>", "<|eot_id|>")}


class AddedToken:
    def __init__(self, d):
        try:
            self.id, self.content = int(d["id"]), str(d["content"])
        except (KeyError, TypeError, ValueError) as e:
            raise TokenizerError(f"malformed added token in tokenizer.json: {e!r}"[:200]) from None
        if not self.content:
            raise TokenizerError(f"added token {self.id} is empty")
        self.special = bool(d.get("special", False))
        self.lstrip, self.rstrip = bool(d.get("lstrip")), bool(d.get("rstrip"))
        self.single_word, self.normalized = bool(d.get("single_word")), bool(d.get("normalized", not self.special))


def _splitter(tokens):
    """A regular expression matching any of ``tokens`` (literals, longest first: leftmost-longest)."""
    if not tokens:
        return None
    return re.compile("|".join(re.escape(t.content) for t in sorted(tokens, key=lambda t: -len(t.content))))


class HFTokenizer(Tokenizer):
    """A tokenizer.json pipeline (see the module docstring). ``to_dict()`` gives the file's JSON back."""

    type_name = "tokenizer.json"

    def __init__(self, d: dict, source: str = "tokenizer.json"):
        if not isinstance(d, dict) or not isinstance(d.get("model"), dict):
            raise TokenizerError(f"{source} is not a Hugging Face tokenizer.json (no \"model\" object)")
        self.source, self._json = source, d
        try:
            self.model = make_model(d["model"])
            self.normalizer = make_normalizer(d.get("normalizer"))
            self.pre_tokenizer = make_pre_tokenizer(d.get("pre_tokenizer"))
            self.post_processor = make_post_processor(d.get("post_processor"))
            self.decoder = make_decoder(d.get("decoder"))
        except TokenizerError as e:
            raise TokenizerError(f"{source}: {e}") from None
        except (TypeError, AttributeError, ValueError) as e:
            raise TokenizerError(f"{source}: malformed tokenizer.json ({type(e).__name__}: {e})"[:300]) from None
        added = d.get("added_tokens") or []
        if not isinstance(added, list):
            raise TokenizerError(f"{source}: added_tokens must be a list")
        self.added = [AddedToken(a) for a in added]
        self._raw_split = _splitter([t for t in self.added if not t.normalized])
        self._norm_split = _splitter([t for t in self.added if t.normalized])
        self._added_by_content = {t.content: t for t in self.added}
        self.vocab: dict[str, int] = dict(self.model.vocab)
        self.vocab.update({t.content: t.id for t in self.added})
        self._id_to_token = {i: s for s, i in self.model.vocab.items()}
        self._id_to_token.update({t.id: t.content for t in self.added})
        self.special_ids = {t.id for t in self.added if t.special}
        self._vocab_size = max(self._id_to_token) + 1
        specials = {t.content: t.id for t in self.added}
        for attr, names in SPECIAL_NAMES.items():        # mask_token_id, ...: None when the file has no such token
            setattr(self, attr, next((specials[n] for n in names if n in specials), None))

    # ---------------------------------------------------------------- loading
    @classmethod
    def from_file(cls, path) -> "HFTokenizer":
        return cls(read_json(path), str(path))

    @classmethod
    def from_dict(cls, d: dict) -> "HFTokenizer":
        return cls(d)

    def to_dict(self) -> dict:
        return self._json

    # ---------------------------------------------------------------- vocabulary
    @property
    def vocab_size(self) -> int:
        return self._vocab_size

    def id_to_token(self, i: int) -> str:
        i = int(i)
        if i not in self._id_to_token:
            raise TokenizerError(f"token id {i} is not in this tokenizer's vocabulary (size {self.vocab_size})")
        return self._id_to_token[i]

    def token_to_id(self, token: str):
        """The id of ``token`` (a vocabulary string such as "[MASK]" or "Ġthe"), or None."""
        return self.vocab.get(token)

    def special_token(self, *candidates):
        """The id of the first of ``candidates`` ("[MASK]", "<mask>", ...) that this tokenizer has, or None."""
        for c in candidates:
            if c in self.vocab:
                return self.vocab[c]
        return None

    # ---------------------------------------------------------------- encoding
    def _cut(self, text, splitter, start_offset):
        """[(segment, added token or None, offset)] with ``splitter``'s added tokens cut out of ``text``."""
        if splitter is None:
            return [(text, None, start_offset)]
        out, at = [], 0
        for m in splitter.finditer(text):
            tok = self._added_by_content[m.group()]
            s, e = m.start(), m.end()
            if s < at:
                continue
            if tok.single_word and ((s > 0 and _WORD.match(text[s - 1])) or (e < len(text) and _WORD.match(text[e]))):
                continue
            if tok.lstrip:
                while s > at and text[s - 1].isspace():
                    s -= 1
            if tok.rstrip:
                while e < len(text) and text[e].isspace():
                    e += 1
            if s > at:
                out.append((text[at:s], None, start_offset + at))
            out.append((text[s:e], tok, start_offset + s))
            at = e
        if at < len(text):
            out.append((text[at:], None, start_offset + at))
        return out

    def _encode_plain(self, text: str) -> list[int]:
        ids = []
        for seg, tok, offset in self._cut(text, self._raw_split, 0):
            if tok is not None:
                ids.append(tok.id)
                continue
            norm = self.normalizer(seg) if self.normalizer else seg
            for part, tok2, off2 in self._cut(norm, self._norm_split, offset):
                if tok2 is not None:
                    ids.append(tok2.id)
                    continue
                if not part:
                    continue
                pieces = self.pre_tokenizer(part, off2 == 0) if self.pre_tokenizer else [part]
                for piece in pieces:
                    if piece:
                        ids += self.model.tokenize(piece)
        return ids

    def encode_pair(self, text: str, pair: str | None = None, add_special_tokens: bool = True):
        """(ids, token_type_ids) for one text or a pair (BERT's sentence A / sentence B)."""
        if not isinstance(text, str) or (pair is not None and not isinstance(pair, str)):
            raise TokenizerError(f"encode expects text (a str), got {type(text).__name__}")
        a = self._encode_plain(text)
        b = None if pair is None else self._encode_plain(pair)
        if add_special_tokens and self.post_processor is not None:
            return self.post_processor.apply(a, b)
        return (a + (b or [])), [0] * len(a) + [1] * len(b or [])

    def encode(self, text: str, pair: str | None = None, add_special_tokens: bool = True) -> list[int]:
        """Token ids of ``text`` (and ``pair``), with the model's special tokens unless add_special_tokens=False."""
        return self.encode_pair(text, pair, add_special_tokens)[0]

    def tokens(self, text: str, add_special_tokens: bool = True) -> list[str]:
        """The token strings ``encode`` gives (e.g. ['[CLS]', 'the', 'cat', '[SEP]']), for readouts."""
        return [self.id_to_token(i) for i in self.encode(text, add_special_tokens=add_special_tokens)]

    def display_tokens(self, ids) -> list[str]:
        """Each id as readable text: byte-level tokens ('Ġcat') and SentencePiece's '▁' shown with spaces."""
        out = []
        for i in ids:
            if int(i) in self.special_ids:
                out.append(self.id_to_token(i))
            else:
                out.append(self.decode([i], skip_special_tokens=False) if self.decoder else self.id_to_token(i))
        return out

    # ---------------------------------------------------------------- decoding
    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        """Text of ``ids`` through the file's decoder (special tokens left out by default, as `tokenizers`)."""
        toks = [self.id_to_token(i) for i in ids if not (skip_special_tokens and int(i) in self.special_ids)]
        if self.decoder is None:
            return " ".join(toks)
        return "".join(self.decoder(toks))

    def __repr__(self) -> str:
        kind = type(self.model).__name__.replace("Model", "")
        return f"HFTokenizer({kind}, vocab_size={self.vocab_size}, source={self.source!r})"


def tokenizer_json_path(path) -> Path | None:
    """``path`` itself if it is a file, ``path/tokenizer.json`` if it is a folder holding one, else None."""
    p = Path(os.fspath(path))
    if p.is_file():
        return p
    if p.is_dir() and (p / "tokenizer.json").is_file():
        return p / "tokenizer.json"
    return None
