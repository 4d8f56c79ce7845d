"""The three models a Hugging Face ``tokenizer.json`` can hold, each turning one pre-tokenized piece of text into
token ids: BPE (GPT-2 and Llama 3 over byte-level characters; Llama 2 over characters with byte fallback),
WordPiece (BERT) and Unigram (T5's SentencePiece model).

BPE       the piece's characters are the starting symbols; the adjacent pair with the lowest merge rank is merged
          (leftmost first), again and again, until no pair has a rank. A character missing from the vocabulary
          becomes its UTF-8 bytes as "<0xXX>" tokens (byte_fallback) or the unknown token.
WordPiece greedy longest match from the left, continuations spelled "##..."; a word with an unmatched position
          (or over max_input_chars_per_word characters) is the unknown token.
Unigram   every vocabulary entry has a score (a log-probability); the segmentation with the highest total score
          wins, found by Viterbi: best[j] = max over pieces text[i:j] of best[i] + score(piece). A character no
          piece covers is the unknown token, scored min(score) - 10 (SentencePiece's penalty); unknowns in a row
          fuse into one.
"""

from __future__ import annotations

import heapq

from .base import TokenizerError

_CACHE_LIMIT = 100_000


def _byte_tokens(text, vocab):
    """"<0xXX>" ids for the UTF-8 bytes of ``text``, or None if one is missing."""
    ids = [vocab.get(f"<0x{b:02X}>") for b in text.encode("utf-8", "surrogateescape")]
    return None if None in ids else ids


class BPEModel:
    """tokenizer.json's "BPE" model."""

    def __init__(self, d):
        try:
            self.vocab = {str(k): int(v) for k, v in d["vocab"].items()}
            merges = d.get("merges") or []
            self.unk = d.get("unk_token")
            self.prefix = d.get("continuing_subword_prefix") or ""
            self.suffix = d.get("end_of_word_suffix") or ""
            self.fuse_unk, self.byte_fallback = bool(d.get("fuse_unk")), bool(d.get("byte_fallback"))
            self.ignore_merges = bool(d.get("ignore_merges"))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise TokenizerError(f"malformed BPE model in tokenizer.json: {e!r}"[:200]) from None
        if d.get("dropout") not in (None, 0, 0.0):
            raise TokenizerError("BPE dropout (random segmentation) is not supported; set \"dropout\": null")
        self.ranks, self.merged = {}, {}
        for rank, m in enumerate(merges):
            a, b = m.split(" ", 1) if isinstance(m, str) else m
            pair = (self.vocab.get(a), self.vocab.get(b))
            new = self.vocab.get(a + b[len(self.prefix):] if self.prefix and b.startswith(self.prefix) else a + b)
            if None in pair or new is None:
                raise TokenizerError(f"BPE merge #{rank} {m!r} uses a token missing from the vocabulary")
            self.ranks[pair], self.merged[pair] = rank, new      # a repeated merge: the last one counts
        self.unk_id = self.vocab.get(self.unk) if self.unk is not None else None
        self._cache: dict[str, list[int]] = {}

    def tokenize(self, piece: str) -> list[int]:
        ids = self._cache.get(piece)
        if ids is None:
            ids = self._tokenize(piece)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[piece] = ids
        return ids

    def _tokenize(self, piece):
        if self.ignore_merges and piece in self.vocab:
            return [self.vocab[piece]]
        syms, n = [], len(piece)             # starting symbols: one per character (several for byte fallback)
        for i, c in enumerate(piece):
            s = (self.prefix if i and self.prefix else "") + c + (self.suffix if i == n - 1 else "")
            if s in self.vocab:
                syms.append(self.vocab[s])
            elif self.byte_fallback and _byte_tokens(c, self.vocab) is not None:
                syms += _byte_tokens(c, self.vocab)
            elif self.unk_id is not None:
                if self.fuse_unk and syms and syms[-1] == self.unk_id:
                    continue
                syms.append(self.unk_id)
            else:
                raise TokenizerError(f"character {c!r} is not in the BPE vocabulary and the model has no "
                                     "unknown token")
        return self._merge(syms)

    def _merge(self, syms):
        """Merge the lowest-ranked adjacent pair (leftmost on ties), one at a time, with a heap and a linked list."""
        n = len(syms)
        if n < 2:
            return syms
        ranks, nxt, prv, alive = self.ranks, list(range(1, n + 1)), list(range(-1, n - 1)), [True] * n
        heap = [(ranks[(syms[i], syms[i + 1])], i, syms[i], syms[i + 1]) for i in range(n - 1)
                if (syms[i], syms[i + 1]) in ranks]
        heapq.heapify(heap)
        while heap:
            _, i, a, b = heapq.heappop(heap)
            j = nxt[i] if alive[i] else n
            if j >= n or syms[i] != a or syms[j] != b:
                continue                                     # stale: one side was merged since
            syms[i] = self.merged[(a, b)]
            alive[j] = False
            nxt[i] = nxt[j]
            if nxt[j] < n:
                prv[nxt[j]] = i
            for left, right in ((prv[i], i), (i, nxt[i])):
                if left >= 0 and right < n and (syms[left], syms[right]) in ranks:
                    heapq.heappush(heap, (ranks[(syms[left], syms[right])], left, syms[left], syms[right]))
        return [s for s, ok in zip(syms, alive) if ok]


class WordPieceModel:
    """tokenizer.json's "WordPiece" model."""

    def __init__(self, d):
        try:
            self.vocab = {str(k): int(v) for k, v in d["vocab"].items()}
            self.unk = d.get("unk_token", "[UNK]")
            self.prefix = d.get("continuing_subword_prefix", "##")
            self.max_chars = int(d.get("max_input_chars_per_word", 100))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise TokenizerError(f"malformed WordPiece model in tokenizer.json: {e!r}"[:200]) from None
        if self.unk not in self.vocab:
            raise TokenizerError(f"WordPiece unk_token {self.unk!r} is not in the vocabulary")
        self.unk_id = self.vocab[self.unk]

    def tokenize(self, word: str) -> list[int]:
        if len(word) > self.max_chars:
            return [self.unk_id]
        out, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = (self.prefix if start else "") + word[start:end]
                if piece in self.vocab:
                    out.append(self.vocab[piece])
                    break
                end -= 1
            if end == start:
                return [self.unk_id]
            start = end
        return out


class UnigramModel:
    """tokenizer.json's "Unigram" model: Viterbi over the vocabulary's scores."""

    def __init__(self, d):
        try:
            vocab = [(str(p), float(s)) for p, s in d["vocab"]]
            self.unk_id = d.get("unk_id")
            self.byte_fallback = bool(d.get("byte_fallback"))
        except (KeyError, TypeError, ValueError) as e:
            raise TokenizerError(f"malformed Unigram model in tokenizer.json: {e!r}"[:200]) from None
        if not vocab:
            raise TokenizerError("the Unigram model's vocabulary is empty")
        if self.unk_id is not None and not 0 <= int(self.unk_id) < len(vocab):
            raise TokenizerError(f"Unigram unk_id {self.unk_id} is outside its vocabulary of {len(vocab)}")
        self.pieces = vocab
        self.vocab = {}
        for i, (p, _) in enumerate(vocab):
            self.vocab.setdefault(p, i)
        self.trie: dict = {}                    # char -> subtrie; the key None holds the piece's id
        for p, i in self.vocab.items():
            node = self.trie
            for c in p:
                node = node.setdefault(c, {})
            node[None] = i
        self.unk_score = min(s for _, s in vocab) - 10.0
        self._cache: dict[str, list[int]] = {}

    def tokenize(self, text: str) -> list[int]:
        ids = self._cache.get(text)
        if ids is None:
            ids = [i for piece, unk in self.segment(text) for i in self._ids(piece, unk)]
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[text] = ids
        return ids

    def _ids(self, piece, unk):
        if not unk:
            return [self.vocab[piece]]
        if self.byte_fallback:
            ids = _byte_tokens(piece, self.vocab)
            if ids is not None:
                return ids
        if self.unk_id is None:
            raise TokenizerError(f"{piece!r} is not in the Unigram vocabulary and the model has no unk_id")
        return [int(self.unk_id)]

    def segment(self, text: str) -> list[tuple[str, bool]]:
        """The best segmentation: [(piece, is_unknown)], unknown characters in a row fused into one."""
        n = len(text)
        best = [None] * (n + 1)               # best[j] = (score, start, id or None for unknown)
        best[0] = (0.0, -1, None)
        for i in range(n):
            here = best[i][0]
            node, single = self.trie, False
            for j in range(i, n):
                node = node.get(text[j])
                if node is None:
                    break
                if None in node:
                    pid = node[None]
                    score = here + self.pieces[pid][1]
                    if best[j + 1] is None or score > best[j + 1][0]:
                        best[j + 1] = (score, i, pid)
                    single = single or j == i
            if not single:
                score = here + self.unk_score
                if best[i + 1] is None or score > best[i + 1][0]:
                    best[i + 1] = (score, i, None)
        out, end, unk_run = [], n, []
        while end > 0:
            _, start, pid = best[end]
            if pid is None or pid == self.unk_id:
                unk_run.append(text[start:end])
            else:
                if unk_run:
                    out.append(("".join(reversed(unk_run)), True))
                    unk_run = []
                out.append((text[start:end], False))
            end = start
        if unk_run:
            out.append(("".join(reversed(unk_run)), True))
        return out[::-1]


MODELS = {"BPE": BPEModel, "WordPiece": WordPieceModel, "Unigram": UnigramModel}


def make_model(d):
    kind = d.get("type") if isinstance(d, dict) else None
    if kind is None and isinstance(d, dict):             # old files: the kind is told by the keys
        kind = "BPE" if "merges" in d else "Unigram" if isinstance(d.get("vocab"), list) else "WordPiece"
    if kind not in MODELS:
        raise TokenizerError(f"unsupported tokenizer.json model {kind!r} (read: {', '.join(MODELS)})")
    return MODELS[kind](d)
