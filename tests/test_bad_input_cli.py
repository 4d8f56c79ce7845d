"""Issue 17, the command line: untrusted input — a prompt that is not UTF-8, a checkpoint's tokenizer.json, a
``graph --expr`` — never crashes, hangs or runs code, and a bad number or size is one ``error:`` line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tinygrad_tf.commands import main
from tinygrad_tf.nn.models import GPT, GPTConfig, sample_next_token
from tinygrad_tf.text import ByteBPETokenizer, TokenizerError, load_tokenizer
from tinygrad_tf.train import CheckpointError, TrainConfig, Trainer, load_checkpoint

TEXT = "The quick brown fox jumps over the lazy dog. def f(x): return x + 1\n" * 60
REPO = Path(__file__).resolve().parents[1]


def one_error_line(capsys, *argv, code=2) -> str:
    capsys.readouterr()
    assert main([str(a) for a in argv]) == code
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def run_cli(*args, **kw):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200", "PYTHONIOENCODING": "utf-8",
           "LC_ALL": "C.UTF-8"}
    return subprocess.run([os.fsencode(sys.executable), b"-m", b"tinygrad_tf",
                           *[a if isinstance(a, bytes) else os.fsencode(str(a)) for a in args]],
                          capture_output=True, env=env, cwd=REPO, timeout=120, **kw)


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    root = tmp_path_factory.mktemp("ck")
    data = root / "d.txt"
    data.write_text(TEXT)
    out = {}
    for tok in ("char", "bpe"):
        cfg = TrainConfig(preset="tiny", context_length=16, data=str(data), steps=2, batch_size=2, warmup_steps=1,
                          eval_interval=2, eval_iters=1, tokenizer=tok, out_dir=str(root / tok),
                          **({"vocab_size": 300} if tok == "bpe" else {}))
        Trainer(cfg, show_progress=False).run()
        out[tok] = root / tok
    return out


# ------------------------------------------------------------------ sampling options
@pytest.mark.parametrize("flag,value", [("--temperature", "nan"), ("--temperature", "inf"),
                                        ("--temperature", "-1"), ("--top-p", "nan"), ("--top-p", "0"),
                                        ("--top-k", "0")])
def test_generate_refuses_bad_sampling_options(ckpts, capsys, flag, value):
    line = one_error_line(capsys, "generate", "--checkpoint", ckpts["char"], flag, value)
    assert flag in line


def test_a_tiny_temperature_is_greedy_not_newlines(ckpts, capsys):
    capsys.readouterr()
    assert main(["generate", "--checkpoint", str(ckpts["char"]), "--prompt", "The", "--temperature", "1e-320",
                 "--max-new-tokens", "8"]) == 0
    tiny_t = capsys.readouterr().out
    assert main(["generate", "--checkpoint", str(ckpts["char"]), "--prompt", "The", "--temperature", "0",
                 "--max-new-tokens", "8"]) == 0
    assert tiny_t == capsys.readouterr().out


def test_the_python_api_checks_sampling_options_once():
    logits = np.array([[1.0, 2.0, 3.0]])
    for bad in (dict(temperature=float("nan")), dict(temperature=-0.5), dict(temperature=float("inf")),
                dict(top_k=0), dict(top_k=2.5), dict(top_p=0.0), dict(top_p=float("nan")), dict(top_p=1.5)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            sample_next_token(logits, **{"temperature": 1.0, **bad})
    assert sample_next_token(logits, temperature=1e-320).tolist() == [2]          # tends to greedy
    with pytest.raises(ValueError, match="NaN"):
        sample_next_token(np.array([[np.nan, 1.0, 2.0]]))
    m = GPT(GPTConfig(vocab_size=5, context_length=8, d_model=8, n_layer=1, n_head=2))
    with pytest.raises(ValueError, match="temperature"):
        m.generate([[1, 2]], 3, temperature=float("nan"))
    with pytest.raises(ValueError, match="max_new_tokens"):
        m.generate([[1, 2]], -1)


# ------------------------------------------------------------------ a prompt that is not valid UTF-8
def test_an_invalid_utf8_prompt_is_encoded_as_its_bytes(ckpts):
    prompt = b"the \xff\xfe fox"
    r = run_cli(b"generate", b"--checkpoint", os.fsencode(ckpts["bpe"]), b"--prompt", prompt,
                b"--max-new-tokens", b"3")
    assert r.returncode == 0 and b"Traceback" not in r.stderr, r.stderr.decode(errors="replace")
    assert r.stdout.startswith(prompt)                  # the very bytes given, then the continuation
    r = run_cli(b"attention", b"--checkpoint", os.fsencode(ckpts["bpe"]), b"--text", prompt)
    assert r.returncode == 0 and b"Traceback" not in r.stderr, r.stderr.decode(errors="replace")


def test_the_byte_tokenizer_encodes_escaped_bytes_and_refuses_other_surrogates():
    tok = ByteBPETokenizer()
    text = b"a\xff\xfeb".decode("utf-8", "surrogateescape")
    assert tok.encode(text) == [97, 255, 254, 98]
    with pytest.raises(TokenizerError, match="lone surrogate"):
        tok.encode("a\ud800b")


def test_a_char_checkpoint_names_the_bad_characters(ckpts):
    r = run_cli(b"generate", b"--checkpoint", os.fsencode(ckpts["char"]), b"--prompt", b"the \xff fox")
    err = r.stderr.decode(errors="replace").strip().splitlines()
    assert r.returncode == 2 and len(err) == 1 and err[0].startswith("error: ") and "character" in err[0]


# ------------------------------------------------------------------ a checkpoint's split pattern
@pytest.mark.parametrize("pattern", ["(unclosed", r"(a|aa)+$|\s+|.", r"\w+"])
def test_a_checkpoints_own_regex_is_refused(ckpts, tmp_path, capsys, pattern):
    bad = tmp_path / "bad"
    import shutil
    shutil.copytree(ckpts["bpe"], bad)
    d = json.loads((bad / "tokenizer.json").read_text())
    (bad / "tokenizer.json").write_text(json.dumps({**d, "pattern": pattern}))
    t0 = time.perf_counter()
    line = one_error_line(capsys, "generate", "--checkpoint", bad, "--no-verify", "--prompt", "a" * 40 + "!")
    assert time.perf_counter() - t0 < 10 and "split pattern" in line and "GPT-2" in line
    with pytest.raises(TokenizerError, match="split pattern"):
        load_tokenizer({**d, "pattern": pattern})
    with pytest.raises(CheckpointError, match="split pattern"):
        load_checkpoint(bad, verify=False)


def test_gpt2s_patterns_and_trusted_ones_still_load(ckpts):
    from tinygrad_tf.text.bpe import GPT2_REGEX_PATTERN
    d = json.loads((ckpts["bpe"] / "tokenizer.json").read_text())
    a = load_tokenizer(d)
    b = load_tokenizer({**d, "pattern": GPT2_REGEX_PATTERN})         # how GPT-2's tokenizer.json spells it
    assert a.encode("Hello world's 123!") == b.encode("Hello world's 123!")
    own = ByteBPETokenizer.from_dict({**d, "pattern": r"\w+|\W"}, trust_pattern=True)
    assert own.encode("ab c")
    with pytest.raises(TokenizerError, match="not a valid regular expression"):
        ByteBPETokenizer.from_dict({**d, "pattern": "(unclosed"}, trust_pattern=True)


# ------------------------------------------------------------------ graph --expr: no eval, no escape
@pytest.mark.parametrize("expr", [
    "a * tg.fileio.os.system('touch PWNED')",
    "a * tg.backend.np.lib.npyio.os.system('touch PWNED')",
    "tg.fileio.shutil.rmtree('x')",
    "a.grad_fn.next",
    "(lambda: 1)()",
    "a[0]",
    "a.__class__",
    "[x for x in a]",
    "'s' * 10",
    "open('x')",
])
def test_graph_expr_cannot_escape(tmp_path, capsys, monkeypatch, expr):
    monkeypatch.chdir(tmp_path)
    line = one_error_line(capsys, "graph", "--expr", expr, "--out", tmp_path / "g.dot")
    assert "--expr" in line
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "g.dot").exists()


@pytest.mark.parametrize("expr", ["(a * b + c).tanh()", "exp(x) / (1 + exp(x))", "tg.exp(a) * 2 ** 3",
                                  "(w @ w.T).relu().sum(dim=0)", "a.sum(dim=(0,), keepdim=True).sigmoid()",
                                  "-a ** 2 + maximum(a, b)"])
def test_graph_expr_still_draws_arithmetic(tmp_path, capsys, expr):
    out = tmp_path / "g.dot"
    assert main(["graph", "--expr", expr, "--out", str(out), *(["--var", "w=[[1,2],[3,4]]"] if "w" in expr
                                                                else [])]) == 0
    assert "digraph" in out.read_text()


def test_graph_expr_refuses_what_would_hang_or_fill_memory(tmp_path, capsys):
    for expr in ("a * 9 ** 9 ** 9", "a.expand(100000, 100000).sum()"):
        line = one_error_line(capsys, "graph", "--expr", expr, "--out", tmp_path / "g.dot")
        assert "--expr" in line


def test_graph_out_with_an_unknown_format_is_one_line(tmp_path, capsys):
    line = one_error_line(capsys, "graph", "--expr", "a*b", "--out", tmp_path / "g.xyz")
    assert ".xyz" in line and ".svg" in line


# ------------------------------------------------------------------ sizes no machine has
def _overcommits_always() -> bool:
    try:
        return Path("/proc/sys/vm/overcommit_memory").read_text().strip() == "1"
    except OSError:
        return False


@pytest.mark.skipif(_overcommits_always(), reason="vm.overcommit_memory=1: a terabyte allocation would succeed and "
                                                   "the kernel would kill the test run when it is written")
@pytest.mark.parametrize("flags", [["--d-model", "1000000", "--n-head", "1"], ["--batch-size", "10000000000"]])
def test_huge_sizes_are_one_line_with_the_memory_asked_and_available(tmp_path, capsys, flags):
    data = tmp_path / "d.txt"
    data.write_text(TEXT)
    line = one_error_line(capsys, "train", "--preset", "tiny", "--data", data, "--steps", "1", "--context", "16",
                          *flags, "--out", tmp_path / "c")
    assert "out of memory" in line and "asked for" in line and "available" in line and "--batch-size" in line
