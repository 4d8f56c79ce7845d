"""The ``tinygrad-tf`` command, run as a user runs it: ``python -m tinygrad_tf ...`` in a subprocess.

Bad input must give exactly one line on stderr, exit code 2, no traceback, and
leave any checkpoint already on disk exactly as it was.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tinygrad_tf.commands import build_parser, main

TEXT = ("def f(x):\n    return x + 1\n\nThe quick brown fox jumps over the lazy dog. " * 40
        + "class A:\n    pass\n" * 20)
TINY = ["--preset", "tiny", "--context", "16", "--batch-size", "4", "--eval-interval", "3", "--eval-iters", "1",
        "--warmup", "1"]


def run(*args, cwd=None, timeout=120, env=None):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "tinygrad_tf", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def digest(folder) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).iterdir())}


def assert_one_line_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr + r.stdout
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for w in words:
        assert w.lower() in lines[0].lower(), lines[0]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    (d / "data.txt").write_text(TEXT, encoding="utf-8")
    r = run("train", "--data", d / "data.txt", "--steps", "6", "--out", d / "ck", *TINY)
    assert r.returncode == 0, r.stderr
    assert "step 6/6" in r.stdout and "val" in r.stdout
    return d


def test_train_then_generate(work):
    r = run("generate", "--checkpoint", work / "ck", "--prompt", "def ", "--max-new-tokens", "20", "--seed", "1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("def ") and len(r.stdout.rstrip("\n")) >= 4
    again = run("generate", "--checkpoint", work / "ck", "--prompt", "def ", "--max-new-tokens", "20", "--seed", "1")
    assert again.stdout == r.stdout                                       # seeded: the same text
    greedy = run("generate", "--checkpoint", work / "ck", "--prompt", "The", "--max-new-tokens", "5",
                 "--temperature", "0", "--top-k", "3", "--top-p", "0.9")
    assert greedy.returncode == 0 and greedy.stdout.startswith("The")


def test_resume_continues_and_long_prompt_is_cropped(work):
    before = (work / "ck" / "trainer_state.json").read_text()
    r = run("train", "--resume", work / "ck", "--steps", "8", "--quiet")
    assert r.returncode == 0, r.stderr
    assert '"step": 8' in (work / "ck" / "trainer_state.json").read_text() and before != ""
    long_prompt = "def f(x):\n    return x + 1\n" * 3                     # 81 characters, context 16
    r = run("generate", "--checkpoint", work / "ck", "--prompt", long_prompt, "--max-new-tokens", "5")
    assert r.returncode == 0, r.stderr
    assert "sliding window" in r.stderr and "last 16" in r.stderr
    assert r.stdout.startswith(long_prompt)


def test_presets_and_params():
    r = run("presets")
    assert r.returncode == 0, r.stderr
    for word in ("gpt2", "llama-7b", "demo", "124,439,808"):
        assert word in r.stdout
    r = run("params", "--preset", "gpt2")
    assert r.returncode == 0 and "124,439,808" in r.stdout
    r = run("params", "--n-layer", "2", "--d-model", "32", "--n-head", "2", "--context", "16", "--vocab-size", "10")
    # wte 10*32 + wpe 16*32 + 2 blocks * (attn 4*32*32+4*32, mlp 2*32*128+128+32, 2 norms 4*32) + ln_f 64
    assert r.returncode == 0 and f"{320 + 512 + 2 * (4224 + 8352 + 128) + 64:,}" in r.stdout


def test_bad_data_files(work, tmp_path):
    before = digest(work / "ck")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert_one_line_error(run("train", "--data", empty, "--steps", "1", "--out", work / "ck", "--overwrite", *TINY),
                          "empty")
    binary = tmp_path / "latin1.txt"
    binary.write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    assert_one_line_error(run("train", "--data", binary, "--steps", "1", "--out", tmp_path / "x", *TINY), "utf-8")
    assert_one_line_error(run("train", "--data", tmp_path / "nope.txt", "--steps", "1", "--out", tmp_path / "y",
                              *TINY), "not found")
    assert digest(work / "ck") == before
    assert not (tmp_path / "x").exists()


def test_bad_prompts_and_checkpoints(work, tmp_path):
    before = digest(work / "ck")
    assert_one_line_error(run("generate", "--checkpoint", work / "ck", "--prompt", "naïve ☃"), "does not know")
    assert_one_line_error(run("generate", "--checkpoint", tmp_path / "none", "--prompt", "a"), "not found")
    assert_one_line_error(run("train", "--resume", work / "ck", "--n-layer", "3", "--steps", "9"), "n_layer")
    assert_one_line_error(run("train", "--out", work / "ck", "--steps", "1", *TINY), "already holds a checkpoint")
    assert digest(work / "ck") == before
    # a truncated weights file: clear error, nothing else touched
    import shutil
    broken = tmp_path / "broken"
    shutil.copytree(work / "ck", broken)
    data = (broken / "model.safetensors").read_bytes()
    (broken / "model.safetensors").write_bytes(data[:100])
    assert_one_line_error(run("generate", "--checkpoint", broken, "--prompt", "a"), "model.safetensors")
    assert_one_line_error(run("train", "--resume", broken), "model.safetensors")
    assert (broken / "model.safetensors").read_bytes() == data[:100]
    # a config.json that the weights do not fit (a checkpoint "from a different config")
    other = tmp_path / "other"
    shutil.copytree(work / "ck", other)
    cfg = (other / "config.json").read_text().replace('"n_layer": 2', '"n_layer": 3')
    (other / "config.json").write_text(cfg)
    assert_one_line_error(run("generate", "--checkpoint", other, "--prompt", "a"))
    assert_one_line_error(run("train", "--resume", other, "--steps", "9"))
    assert (other / "config.json").read_text() == cfg


def test_cuda_without_cupy(work, tmp_path):
    # CuPy hidden from the CLI's process (whether or not it is installed): a cupy module that fails to import
    (tmp_path / "cupy.py").write_text('raise ImportError("No module named \'cupy\' (hidden by the test)")\n')
    hide = {"PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    assert_one_line_error(run("generate", "--checkpoint", work / "ck", "--device", "cuda", env=hide), "cupy")
    assert_one_line_error(run("train", "--device", "cuda", "--steps", "1", "--data", work / "data.txt",
                              "--out", work / "cuda-run", *TINY, env=hide), "cupy")
    assert not (work / "cuda-run").exists()


def test_ctrl_c_saves_a_checkpoint(work):
    out = work / "interrupted"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    p = subprocess.Popen([sys.executable, "-m", "tinygrad_tf", "train", "--data", str(work / "data.txt"),
                          "--steps", "100000", "--out", str(out), *TINY], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = p.stdout.readline()                     # the model description: training is about to start
        assert line.startswith("GPT"), line
        time.sleep(1.5)
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted at step" in stdout and "--resume" in stdout
    r = run("generate", "--checkpoint", out, "--prompt", "def", "--max-new-tokens", "3")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("command", [None, "demo", "train", "generate", "presets", "params", "gradcheck"])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"] if command else ["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "usage: tinygrad-tf" in out
    if command == "train":
        for flag in ("--n-layer", "--d-model", "--n-head", "--context", "--batch-size", "--steps", "--lr",
                     "--preset", "--config", "--data", "--tokenizer", "--device", "--out", "--resume", "--seed"):
            assert flag in out
    if command == "generate":
        for flag in ("--checkpoint", "--prompt", "--max-new-tokens", "--temperature", "--top-k", "--top-p",
                     "--seed"):
            assert flag in out


def test_help_in_a_subprocess_and_every_command_is_wired():
    r = run("--help")
    assert r.returncode == 0 and "demo" in r.stdout and "gradcheck" in r.stdout
    names = set(build_parser()._subparsers._group_actions[0].choices)
    assert {"demo", "train", "generate", "presets", "params", "gradcheck"} <= names


def test_config_file_and_engine_demo(work, tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text('{"preset": "tiny", "context_length": 16, "batch_size": 2, "steps": 2, "eval_iters": 1}')
    assert main(["train", "--config", str(cfg), "--data", str(work / "data.txt"), "--out", str(tmp_path / "o"),
                 "--quiet"]) == 0
    assert (tmp_path / "o" / "model.safetensors").exists()
    cfg.write_text('{"stepz": 2}')
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "p")]) == 2
    assert "stepz" in capsys.readouterr().err
    assert main(["demo", "--engine", "--steps", "20"]) == 0
    assert "XOR" in capsys.readouterr().out


def test_limit_blas_threads_is_harmless():
    from tinygrad_tf.commands.common import limit_blas_threads
    assert limit_blas_threads(1) in (True, False)          # True where OpenBLAS/MKL could be found
    import numpy as np
    a = np.ones((64, 64), dtype=np.float32)
    assert (a @ a)[0, 0] == 64
