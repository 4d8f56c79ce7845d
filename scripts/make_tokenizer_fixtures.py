"""Make tests/fixtures/tokenizers/: real-format tokenizer files and the reference tokenizers' ids.

No hub access is needed: the vocabularies are trained here, with the `tokenizers` library, on
tinygrad_tf.text.default_corpus() plus the varied text sample below.

  gpt2/vocab.json, gpt2/merges.txt   byte-level BPE in GPT-2's format (ByteLevelBPETokenizer,
                                     vocab 3000, "<|endoftext|>" special), "#version: 0.2" header
  bert_uncased/vocab.txt             WordPiece, lowercase=True  (BertWordPieceTokenizer, vocab 3000)
  bert_cased/vocab.txt               WordPiece, lowercase=False (BertWordPieceTokenizer, vocab 3000)
  reference.json                     the sample strings and the reference ids:
      gpt2          transformers.GPT2Tokenizer(vocab_file=..., merges_file=...).encode(s)
                    ("<|endoftext|>" in the text is its special id, as with allowed_special=True)
      gpt2_plain    GPT-2's original encoder.py algorithm (the `regex` module and its \\p{L}/\\p{N}
                    classes, rank-ordered merges) with no special tokens: "<|endoftext|>" is text.
                    Checked here to agree with `tokenizers` on every string without the special.
      bert_uncased  transformers.BertTokenizer(vocab_file=..., do_lower_case=True).encode(s)
      bert_cased    transformers.BertTokenizer(vocab_file=..., do_lower_case=False).encode(s)
      bert_pairs    [a, b, input_ids, token_type_ids] from BertTokenizer(a, b) (uncased)

Note: transformers >= 5 has no pure-Python "slow" GPT2Tokenizer/BertTokenizer any more; both classes
are backed by the Rust `tokenizers` library.  That is why gpt2_plain re-implements GPT-2's original
Python algorithm as a second, independent reference.

The `tokenizers` WordPiece trainer breaks ties between equally frequent pairs differently from run to
run, so a rerun can write a slightly different vocab.txt (the BPE files are stable).  The reference ids
are always computed from the files just written, so the fixture stays self-consistent either way.

    pip install transformers tokenizers regex   # then
    python scripts/make_tokenizer_fixtures.py
"""

import json
import shutil
import sys
from pathlib import Path

import regex
from tokenizers import BertWordPieceTokenizer, ByteLevelBPETokenizer
from transformers import BertTokenizer, GPT2Tokenizer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "tests" / "fixtures" / "tokenizers"
VOCAB_SIZE = 3000

from tinygrad_tf.text import default_corpus  # noqa: E402
from tinygrad_tf.text.bpe import bytes_to_unicode  # noqa: E402

SAMPLE = [
    "",
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "It's a truth universally acknowledged; isn't it? We'll see, they'd say, you're right, I'm sure.",
    "def f(x):\n    if x > 0:\n        return x * 2\n    return -x\n",
    "class A:\n\tdef __init__(self):\n\t\tself.x = 1  # tab-indented\n",
    "for i in range(10):\n    print(f\"{i:>4d}\", end='')\n\n\n",
    "a  b   c    d     e",
    "   leading spaces and trailing spaces   ",
    "line one\n\nline two\r\nline three\n \n  \n",
    "\t\ttabs\tand\t\tmore\t",
    "café naïve Ångström résumé coöperate",
    "CAFÉ NAÏVE ÅNGSTRÖM Über straße",
    "Cafe\u0301 with a combining accent",
    "日本語のテキスト and 中文字符 mixed with English",
    "東京は日本の首都です。",
    "한국어 텍스트",
    "Emoji: 😀🎉👍🏽 and ❤️ hearts",
    "👨‍👩‍👧‍👦 family",
    "pi is 3.14159, e is 2.71828",
    "1,000,000 dollars and 12345678901234567890",
    "2² = 4, x³, ½ cup, ¾ mile, Ⅻ o'clock, ① ② ③",
    "٣٤٥ Arabic-Indic digits and ४५६ Devanagari",
    "!!! ??? ... --- *** ### @@@ $$$ %%% ^^^ &&&",
    "(a+b)*[c-d]/{e^f} <g> | h \\ i ~ j ` k",
    "\"quoted\" 'single' “curly” ‘quotes’ «guillemets»",
    "MiXeD CaSe WoRdS and ALLCAPS and lowercase",
    "<|endoftext|>",
    "Some text<|endoftext|>More text after the end of text token.",
    "email@example.com https://www.example.org/path?q=1&r=2#frag",
    "snake_case_name camelCaseName kebab-case-name SCREAMING_CASE",
    "The year 2024 was followed by 2025.",
    "Ελληνικά κείμενα και русский текст",
    "עברית and العربية text",
    "unaffable unbelievable antidisestablishmentarianism",
    "nbsp\u00a0here, thin\u2009space, ideographic\u3000space",
    "zero\u200bwidth\u200cjoiner\u200dtest",
    "control\x01chars\x7fhere and a \x1c separator",
    "  \n",
    "word\x1cjoined\x1dby\x0bseparators\x0cand\x85next\u2028line\u2029para !\x1c\x1f  x \x1e",
    "ΟΔΟΣ ΣΟΦΟΣ Σ İstanbul DŽungla ß ẞ",
    "x",
    "ligatures ﬁ ﬂ and fullwidth ＡＢＣ１２３",
    "The [MASK] token and [CLS] and [SEP] in text",
    "Paris is the capital of France. Berlin is the capital of Germany.",
]

# (a, b) pairs for BERT's sentence-pair encoding.
PAIRS = [
    ("How old are you?", "I am 6 years old."),
    ("café", "Ångström units"),
    ("", "only the second"),
    ("日本語", "the [MASK] token"),
]


# -- GPT-2's original encoder.py (openai/gpt-2), as an independent reference ---------------------------

GPT2_PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def gpt2_original_encode(text, vocab, merges):
    byte_encoder = bytes_to_unicode()
    ranks = {pair: i for i, pair in enumerate(merges)}

    def bpe(token):
        word = tuple(token)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            bigram = min(pairs, key=lambda p: ranks.get(p, float("inf")))
            if bigram not in ranks:
                break
            first, second = bigram
            new_word, i = [], 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
        return word

    ids = []
    for chunk in GPT2_PAT.findall(text):
        token = "".join(byte_encoder[b] for b in chunk.encode("utf-8"))
        ids.extend(vocab[t] for t in bpe(token))
    return ids


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    for sub in ("gpt2", "bert_uncased", "bert_cased"):
        (OUT / sub).mkdir(parents=True)
    corpus = [default_corpus()] + SAMPLE * 20 + [a + " " + b for a, b in PAIRS]

    # (a) GPT-2 style byte-level BPE.
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus, vocab_size=VOCAB_SIZE, min_frequency=2, special_tokens=["<|endoftext|>"])
    bpe.save_model(str(OUT / "gpt2"))
    # (b) BERT style WordPiece, uncased and cased.
    for sub, lower in (("bert_uncased", True), ("bert_cased", False)):
        wp = BertWordPieceTokenizer(lowercase=lower, strip_accents=None if lower else False)
        wp.train_from_iterator(corpus, vocab_size=VOCAB_SIZE, min_frequency=2)
        wp.save_model(str(OUT / sub))

    vocab_json, merges_txt = OUT / "gpt2" / "vocab.json", OUT / "gpt2" / "merges.txt"
    # transformers 5 silently ignores vocab_file=/merges_file=; from_pretrained on the local folder reads
    # vocab.json + merges.txt / vocab.txt (no hub).  The `tokenizers` file loaders are a cross-check.
    gpt2 = GPT2Tokenizer.from_pretrained(str(OUT / "gpt2"))
    bert_u = BertTokenizer.from_pretrained(str(OUT / "bert_uncased"), do_lower_case=True)
    bert_c = BertTokenizer.from_pretrained(str(OUT / "bert_cased"), do_lower_case=False)
    assert len(gpt2) == len(bert_u) == len(bert_c) == VOCAB_SIZE
    tk_gpt2 = ByteLevelBPETokenizer(str(vocab_json), str(merges_txt))
    tk_bert = {
        "bert_uncased": BertWordPieceTokenizer(str(OUT / "bert_uncased" / "vocab.txt"), lowercase=True),
        "bert_cased": BertWordPieceTokenizer(
            str(OUT / "bert_cased" / "vocab.txt"), lowercase=False, strip_accents=False
        ),
    }

    vocab = json.loads(vocab_json.read_text(encoding="utf-8"))
    merge_lines = merges_txt.read_text(encoding="utf-8").splitlines()
    assert merge_lines[0].startswith("#version"), merge_lines[0]
    merges = [tuple(line.split()) for line in merge_lines[1:] if line.strip()]

    ref = {"strings": SAMPLE, "gpt2": [], "gpt2_plain": [], "bert_uncased": [], "bert_cased": [], "bert_pairs": []}
    for s in SAMPLE:
        hf_ids = gpt2.encode(s, add_special_tokens=False)
        plain = gpt2_original_encode(s, vocab, merges)
        if "<|endoftext|>" not in s:
            assert hf_ids == plain, (s, hf_ids, plain)
        assert gpt2.decode(hf_ids) == s, s
        assert bool(hf_ids) == bool(s), s
        ref["gpt2"].append(hf_ids)
        ref["gpt2_plain"].append(plain)
        assert tk_gpt2.encode(s).ids == plain, s
        ref["bert_uncased"].append(bert_u.encode(s, add_special_tokens=True))
        ref["bert_cased"].append(bert_c.encode(s, add_special_tokens=True))
        for name, tk in tk_bert.items():
            assert tk.encode(s).ids == ref[name][-1], (name, s)
    for a, b in PAIRS:
        enc = bert_u(a, b)
        ref["bert_pairs"].append([a, b, enc["input_ids"], enc["token_type_ids"]])
    (OUT / "reference.json").write_text(json.dumps(ref, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {OUT} ({total / 1024:.0f} KB), {len(SAMPLE)} strings, {len(PAIRS)} pairs")


if __name__ == "__main__":
    main()
