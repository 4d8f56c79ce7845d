"""Tests for tinygrad_tf.text: tokenizers and corpus helpers."""

import json
import os
import re
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_tf.text import (
    ByteBPETokenizer,
    CharTokenizer,
    DataError,
    TokenizerError,
    WordPieceTokenizer,
    bytes_to_unicode,
    default_corpus,
    load_corpus,
    load_tokenizer,
    read_text_file,
    train_val_split,
)
from tinygrad_tf.text.bpe import GPT2_SPLIT_PATTERN

SAMPLE = "Hello world! It's 2024 — naïve café, 東京, 😀 and\ttabs\n\n  indented_code(x) ** 2"


@pytest.fixture(scope="module")
def corpus():
    return default_corpus()


@pytest.fixture(scope="module")
def bpe(corpus):
    return ByteBPETokenizer.train(corpus[:40_000], vocab_size=400)


# -- CharTokenizer ----------------------------------------------------------------


def test_char_roundtrip_and_sorted_vocab():
    tok = CharTokenizer.train("hello world")
    assert tok.chars == [" ", "d", "e", "h", "l", "o", "r", "w"]
    assert tok.vocab_size == 8
    ids = tok.encode("hello")
    assert ids == [3, 2, 4, 4, 5]
    assert tok.decode(ids) == "hello"
    assert tok.decode(np.array(ids)) == "hello"


def test_char_unknown_characters_error_message():
    tok = CharTokenizer.train("abc")
    with pytest.raises(TokenizerError) as info:
        tok.encode("abxé\n")
    msg = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "\n" not in msg  # one line
    assert "'x'" in msg and "'é'" in msg and "'\\n'" in msg
    assert "knows 3 characters" in msg


def test_char_errors_replace():
    tok = CharTokenizer.train("ab")
    assert tok.encode("aXb", errors="replace") == [0, 1]  # no U+FFFD in vocab: skipped
    tok2 = CharTokenizer.train("ab\ufffd")
    assert tok2.encode("aXb", errors="replace") == [0, 2, 1]
    with pytest.raises(TokenizerError):
        tok.encode("aXb", errors="bogus")
    with pytest.raises(TokenizerError):
        CharTokenizer.train("")
    with pytest.raises(TokenizerError):
        tok.decode([5])


# -- ByteBPETokenizer ---------------------------------------------------------------


def test_split_pattern_chunks():
    chunks = re.findall(GPT2_SPLIT_PATTERN, "Hello world's 123 foo!!  bar_baz\n")
    assert chunks == ["Hello", " world", "'s", " 123", " foo", "!!", " ", " bar", "_", "baz", "\n"]


def test_bpe_vocab_size_exact(corpus):
    tok = ByteBPETokenizer.train(corpus[:20_000], vocab_size=300)
    assert tok.vocab_size == 300
    assert len(tok.merges) == 44
    tok2 = ByteBPETokenizer.train(corpus[:20_000], vocab_size=300, special_tokens=["<|endoftext|>"])
    assert tok2.vocab_size == 300
    assert tok2.special_tokens == {"<|endoftext|>": 299}
    with pytest.raises(TokenizerError):
        ByteBPETokenizer.train("abc", vocab_size=100)


def _naive_bpe_merges(text, num_merges):
    """Reference trainer: recount every pair after every merge (slow but obvious)."""
    words = Counter(tuple(c.encode("utf-8")) for c in re.findall(GPT2_SPLIT_PATTERN, text))
    merges = []
    for new in range(256, 256 + num_merges):
        pairs = Counter()
        for w, n in words.items():
            for p in zip(w, w[1:]):
                pairs[p] += n
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append((best[0], best[1], new))
        merged = Counter()
        for w, n in words.items():
            out, i = [], 0
            while i < len(w):
                if w[i : i + 2] == best:
                    out.append(new)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] += n
        words = merged
    return merges


def test_bpe_incremental_training_matches_naive(corpus):
    text = corpus[:3000] + " aaaa aaa aaaaa"  # overlapping pairs too
    assert ByteBPETokenizer.train(text, vocab_size=256 + 60).merges == _naive_bpe_merges(text, 60)


def test_bpe_compresses_corpus(bpe, corpus):
    text = corpus[40_000:80_000]
    ids = bpe.encode(text)
    assert len(ids) < 0.6 * len(text.encode("utf-8"))
    assert bpe.decode(ids) == text


@settings(max_examples=150, deadline=None)
@given(st.text())
def test_bpe_roundtrip_any_text(bpe, text):
    assert bpe.decode(bpe.encode(text)) == text


@pytest.mark.parametrize("text", ["", "😀🎉", "東京タワー", "\x00\x01\x7f\r\n", "e\u0301", " " * 7, SAMPLE])
def test_bpe_roundtrip_unseen_text(bpe, text):
    ids = bpe.encode(text)
    assert all(0 <= i < bpe.vocab_size for i in ids)
    assert bpe.decode(ids) == text


def test_bpe_special_tokens(corpus):
    tok = ByteBPETokenizer.train(corpus[:5000], vocab_size=280, special_tokens=["<|endoftext|>"])
    eot = tok.special_tokens["<|endoftext|>"]
    ids = tok.encode("a<|endoftext|>b", allowed_special=True)
    assert ids == tok.encode("a") + [eot] + tok.encode("b")
    assert eot not in tok.encode("a<|endoftext|>b")  # ordinary text by default
    assert tok.decode(ids) == "a<|endoftext|>b"


def test_bpe_decode_invalid_bytes_and_ids(bpe):
    assert bpe.decode([0xE6]) == "\ufffd"  # half a character: replaced
    with pytest.raises(TokenizerError):
        bpe.decode([bpe.vocab_size])


# -- GPT-2 file format --------------------------------------------------------------

GPT2_MERGES = ["Ġ t", "h e", "Ġt he", "i n", "o r", "l d", "Ġ w", "Ġw or", "Ġwor ld", "i s",
               "Ġ is", "Ċ Ċ", "Ġ Ġ", "1 2", "' s", "a b", "b c"]  # fmt: skip


def _write_gpt2_files(tmp_path):
    """A tiny vocab.json/merges.txt in GPT-2's format.  Byte ids follow GPT-2's
    order ('!' is 0) and merge ids are given in *reverse* rank order, so a
    loader that confused ids with ranks would fail."""
    vocab = {ch: i for i, ch in enumerate(bytes_to_unicode().values())}
    n = len(GPT2_MERGES)
    for rank, line in enumerate(GPT2_MERGES):
        vocab["".join(line.split())] = 256 + (n - 1 - rank)
    vocab["<|endoftext|>"] = 256 + n
    (tmp_path / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "merges.txt").write_text("#version: 0.2\n" + "\n".join(GPT2_MERGES) + "\n", encoding="utf-8")
    return vocab


def _reference_gpt2_encode(text, vocab):
    """OpenAI's original GPT-2 encoder algorithm, on strings, for comparison."""
    enc = bytes_to_unicode()
    ranks = {tuple(m.split()): r for r, m in enumerate(GPT2_MERGES)}
    ids = []
    for chunk in re.findall(GPT2_SPLIT_PATTERN, text):
        word = [enc[b] for b in chunk.encode("utf-8")]
        while len(word) > 1:
            best = min(zip(word, word[1:]), key=lambda p: ranks.get(p, float("inf")))
            if best not in ranks:
                break
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = out
        ids += [vocab[t] for t in word]
    return ids


def test_bytes_to_unicode_is_gpt2_mapping():
    enc = bytes_to_unicode()
    assert len(set(enc.values())) == 256
    assert enc[ord(" ")] == "Ġ" and enc[ord("\n")] == "Ċ" and enc[ord("a")] == "a"


def test_gpt2_files_loading(tmp_path):
    vocab = _write_gpt2_files(tmp_path)
    tok = ByteBPETokenizer.from_gpt2_files(tmp_path / "vocab.json", tmp_path / "merges.txt")
    assert tok.vocab_size == len(vocab)
    assert tok.encode(" the") == [vocab["Ġthe"]]
    assert tok.encode(" world is") == [vocab["Ġworld"], vocab["Ġis"]]
    assert tok.encode("abc") == [vocab["ab"], vocab["c"]]  # "a b" has the better rank
    assert tok.encode("!") == [0]
    assert tok.special_tokens == {"<|endoftext|>": vocab["<|endoftext|>"]}
    assert tok.encode("<|endoftext|>", allowed_special=True) == [vocab["<|endoftext|>"]]
    for text in ["the world is in order", "Hello world's\n\nthe 12 is  here", SAMPLE]:
        ids = tok.encode(text)
        assert ids == _reference_gpt2_encode(text, vocab)
        assert tok.decode(ids) == text
    again = load_tokenizer(tok.to_dict())
    assert again.encode(SAMPLE) == tok.encode(SAMPLE)


def test_gpt2_files_bad_merge(tmp_path):
    _write_gpt2_files(tmp_path)
    (tmp_path / "merges.txt").write_text("#version: 0.2\nq z\n", encoding="utf-8")
    with pytest.raises(TokenizerError, match="merges.txt:2"):
        ByteBPETokenizer.from_gpt2_files(tmp_path / "vocab.json", tmp_path / "merges.txt")


# -- WordPieceTokenizer ---------------------------------------------------------------

WP_VOCAB = ["[PAD]", "the", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "hello",
            "world", ",", "!", "##s", "play", "##ing", "東", "京", "cafe", "a", "##a"]  # fmt: skip


@pytest.fixture
def wp(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(WP_VOCAB) + "\n", encoding="utf-8")
    return WordPieceTokenizer.from_vocab_file(path)


def test_wordpiece_special_ids(wp):
    assert wp.vocab_size == len(WP_VOCAB)
    assert (wp.pad_token_id, wp.unk_token_id, wp.cls_token_id) == (0, 2, 3)
    assert (wp.sep_token_id, wp.mask_token_id) == (4, 5)
    with pytest.raises(TokenizerError, match="MASK"):
        WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]"])


def test_wordpiece_greedy_longest_match(wp):
    assert wp.tokenize("unaffable") == ["un", "##aff", "##able"]
    assert wp.tokenize("playing plays") == ["play", "##ing", "play", "##s"]
    assert wp.tokenize("unaffablex") == ["[UNK]"]  # whole word, not a partial split
    assert wp.tokenize("zebra the") == ["[UNK]", "the"]
    assert wp.tokenize("a" * 100) == ["a"] + ["##a"] * 99
    assert wp.tokenize("a" * 101) == ["[UNK]"]


def test_wordpiece_basic_tokenization(wp, tmp_path):
    assert wp.tokenize("Hello,WORLD!") == ["hello", ",", "world", "!"]
    assert wp.tokenize("CAFÉ") == ["cafe"]  # lower-cased, accent stripped
    assert wp.tokenize("東京") == ["東", "京"]  # CJK characters split
    assert wp.tokenize("hel\x00lo\tthe [MASK]") == ["hello", "the", "[MASK]"]
    cased = WordPieceTokenizer(WP_VOCAB, lowercase=False)
    assert cased.tokenize("CAFÉ hello") == ["[UNK]", "hello"]


def test_wordpiece_encode_pair_decode(wp):
    assert wp.encode("hello") == [3, 9, 4]
    assert wp.encode("hello", add_special_tokens=False) == [9]
    ids, types = wp.encode_pair("hello", "world !")
    assert ids == [3, 9, 4, 10, 12, 4]
    assert types == [0, 0, 0, 1, 1, 1]
    ids = wp.encode("unaffable playing")
    assert wp.decode(ids) == "[CLS] unaffable playing [SEP]"
    assert wp.decode(ids, skip_special_tokens=True) == "unaffable playing"


def test_wordpiece_train(corpus):
    tok = WordPieceTokenizer.train(corpus[:30_000], vocab_size=600)
    assert tok.vocab_size == 600
    assert tok.vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(set(tok.vocab)) == 600
    ids = tok.encode(corpus[:30_000], add_special_tokens=False)
    assert tok.unk_token_id not in ids  # every character seen in training is in the vocab
    assert tok.tokenize("The assert statement, is") == ["the", "assert", "statement", ",", "is"]
    unseen = next(ch for ch in "ωЖꙮ☃" if ch not in corpus[:30_000].lower())
    assert tok.tokenize(f"x{unseen}y") == ["[UNK]"]  # a character never seen in training
    with pytest.raises(TokenizerError):
        WordPieceTokenizer.train("abc", vocab_size=6)


# -- saving and loading ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["char", "byte_bpe", "wordpiece"])
def test_save_load_roundtrip(kind, corpus, tmp_path):
    text = corpus[:8000]
    tok = {
        "char": lambda: CharTokenizer.train(text),
        "byte_bpe": lambda: ByteBPETokenizer.train(text, vocab_size=300, special_tokens=["<|eot|>"]),
        "wordpiece": lambda: WordPieceTokenizer.train(text, vocab_size=300),
    }[kind]()
    path = tmp_path / "tok.json"
    tok.save(path)
    tok.save(path)  # overwriting works too
    assert os.listdir(tmp_path) == ["tok.json"]  # no temp file left behind
    assert json.loads(path.read_text())["type"] == kind
    for loaded in (load_tokenizer(path), load_tokenizer(str(path)), type(tok).load(path)):
        assert type(loaded) is type(tok)
        assert loaded.vocab_size == tok.vocab_size
        assert loaded.encode(text[:2000]) == tok.encode(text[:2000])
        assert loaded.to_dict() == tok.to_dict()


def test_load_tokenizer_errors(tmp_path):
    with pytest.raises(TokenizerError, match="unknown tokenizer type"):
        load_tokenizer({"type": "nope"})
    with pytest.raises(TokenizerError, match="not found"):
        load_tokenizer(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(TokenizerError, match="not a valid"):
        load_tokenizer(tmp_path / "bad.json")
    CharTokenizer.train("ab").save(tmp_path / "c.json")
    with pytest.raises(TokenizerError, match="byte_bpe"):
        ByteBPETokenizer.load(tmp_path / "c.json")


# -- corpus -----------------------------------------------------------------------------


def test_default_corpus(corpus):
    from pydoc_data.topics import topics

    assert len(corpus) > 100_000
    assert "lambda" in corpus
    assert corpus == "\n\n".join(topics[k] for k in sorted(topics))
    assert load_corpus() == corpus


def test_read_text_file_ok(tmp_path):
    p = tmp_path / "t.txt"
    p.write_bytes("\ufeffhéllo\n".encode("utf-8"))
    assert read_text_file(p) == "héllo\n"  # byte-order mark dropped
    assert load_corpus(p) == "héllo\n"


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "not found"),
        ("dir", "is a directory"),
        (b"", "is empty"),
        (b" \n\t ", "is empty"),
        (b"abc\xffdef", "byte offset 3"),
    ],
)
def test_read_text_file_errors(tmp_path, content, expected):
    p = tmp_path / "data.txt"
    if content == "dir":
        p.mkdir()
    elif content is not None:
        p.write_bytes(content)
    with pytest.raises(DataError) as info:
        read_text_file(p)
    msg = str(info.value)
    assert expected in msg and "\n" not in msg
    assert isinstance(info.value, ValueError)
    if expected == "byte offset 3":
        assert "must be UTF-8 text" in msg


def test_train_val_split():
    data = list(range(100))
    train, val = train_val_split(data)
    assert train == list(range(90)) and val == list(range(90, 100))
    arr = np.arange(1000)
    a_train, a_val = train_val_split(arr, val_fraction=0.25)
    assert len(a_train) == 750 and a_val[0] == 750
    again = train_val_split(arr, val_fraction=0.25)
    assert np.array_equal(again[0], a_train) and np.array_equal(again[1], a_val)
    assert train_val_split("abcdefghij") == ("abcdefghi", "j")
    assert [len(part) for part in train_val_split(list(range(15)))] == [13, 2]  # 1.5 rounds up
    with pytest.raises(DataError):
        train_val_split([1, 2, 3])  # 10% of 3 rounds to 0 validation items
    with pytest.raises(DataError):
        train_val_split(data, val_fraction=1.0)
