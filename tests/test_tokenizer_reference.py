"""Our tokenizers on real-format files give the reference tokenizers' ids (issue 4).

tests/fixtures/tokenizers/ is made by scripts/make_tokenizer_fixtures.py: a GPT-2 style byte-level BPE
(vocab.json + merges.txt) and BERT WordPiece vocabularies (vocab.txt, uncased and cased), all trained
with the `tokenizers` library, plus reference.json: a varied text sample (prose, code with tabs and
indentation, whitespace runs, accents, combining marks, CJK, emoji, numbers such as '2²', '½', 'Ⅻ' and
Arabic-Indic digits, control characters, "<|endoftext|>", the empty string) and the ids that
transformers' GPT2Tokenizer / BertTokenizer and GPT-2's original encoder.py algorithm (the `regex`
module) give for it.  Every string is compared; none is left out.  This test needs neither
transformers nor tokenizers.
"""

import json
from pathlib import Path

import pytest

from tinygrad_tf.text import ByteBPETokenizer, WordPieceTokenizer, load_tokenizer

FIX = Path(__file__).parent / "fixtures" / "tokenizers"
REF = json.loads((FIX / "reference.json").read_text(encoding="utf-8"))
STRINGS = REF["strings"]
IDX = list(range(len(STRINGS)))


def _label(i):
    return f"{i}:{STRINGS[i][:20]!r}"


@pytest.fixture(scope="module")
def gpt2():
    return ByteBPETokenizer.from_gpt2_files(FIX / "gpt2" / "vocab.json", FIX / "gpt2" / "merges.txt")


@pytest.fixture(scope="module")
def bert_uncased():
    return WordPieceTokenizer.from_vocab_file(FIX / "bert_uncased" / "vocab.txt", lowercase=True)


@pytest.fixture(scope="module")
def bert_cased():
    return WordPieceTokenizer.from_vocab_file(FIX / "bert_cased" / "vocab.txt", lowercase=False)


def test_fixture_is_varied():
    text = "".join(STRINGS)
    for needle in ["\t", "    ", "\n\n", "é", "日本語", "😀", "3.14159", "²", "<|endoftext|>", "\u0301"]:
        assert needle in text
    assert "" in STRINGS and len(STRINGS) >= 40


def test_gpt2_files_header_and_specials(gpt2):
    assert (FIX / "gpt2" / "merges.txt").read_text(encoding="utf-8").startswith("#version")
    assert gpt2.vocab_size == 3000
    assert list(gpt2.special_tokens) == ["<|endoftext|>"]


@pytest.mark.parametrize("i", IDX, ids=_label)
def test_gpt2_matches_reference(gpt2, i):
    s = STRINGS[i]
    ids = gpt2.encode(s, allowed_special=True)  # transformers treats "<|endoftext|>" as special
    assert ids == REF["gpt2"][i]
    assert gpt2.decode(ids) == s
    plain = gpt2.encode(s)  # GPT-2's encoder.py: special token text is ordinary text
    assert plain == REF["gpt2_plain"][i]
    assert gpt2.decode(plain) == s


def test_gpt2_saved_dict_keeps_ids(gpt2):
    again = load_tokenizer(gpt2.to_dict())
    for i, s in enumerate(STRINGS):
        assert again.encode(s) == REF["gpt2_plain"][i]


@pytest.mark.parametrize("i", IDX, ids=_label)
def test_bert_uncased_matches_reference(bert_uncased, i):
    assert bert_uncased.encode(STRINGS[i], add_special_tokens=True) == REF["bert_uncased"][i]


@pytest.mark.parametrize("i", IDX, ids=_label)
def test_bert_cased_matches_reference(bert_cased, i):
    assert bert_cased.encode(STRINGS[i], add_special_tokens=True) == REF["bert_cased"][i]


@pytest.mark.parametrize("pair", REF["bert_pairs"], ids=lambda p: f"{p[0][:10]!r}+{p[1][:10]!r}")
def test_bert_pairs_match_reference(bert_uncased, pair):
    a, b, ids, types = pair
    assert bert_uncased.encode_pair(a, b) == (ids, types)
