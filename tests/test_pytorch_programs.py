"""PyTorch programs, written the way lectures and single-file model repos write them, run on tinygrad_tf
with only their import lines changed (tests/pytorch_programs/). Each must learn (its loss falls) and sample.

`python scripts/check_pytorch_programs.py` runs the same files on PyTorch itself (imports changed back),
which shows that they are PyTorch programs and not code bent to fit this engine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_tf.text import default_corpus

PROGRAMS = Path(__file__).resolve().parent / "pytorch_programs"


def corpus_files(folder: Path) -> None:
    """input.txt (a slice of the embedded corpus) and names.txt (its words, as lowercase "names")."""
    text = default_corpus()
    (folder / "input.txt").write_text(text[:40_000], encoding="utf-8")
    words = sorted({w.lower() for w in re.findall(r"[A-Za-z]{3,10}", text)})
    (folder / "names.txt").write_text("\n".join(words[::3][:1500]) + "\n", encoding="utf-8")


def run_program(name: str, folder: Path, *args) -> str:
    shutil.copy(PROGRAMS / name, folder / name)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    r = subprocess.run([sys.executable, name, *args], cwd=folder, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, f"{name} {' '.join(args)} failed:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    return r.stdout


def learned(out: str, factor: float) -> None:
    start = float(re.search(r"loss_start (\S+)", out).group(1))
    end = float(re.search(r"loss_end (\S+)", out).group(1))
    assert end < factor * start, (start, end, out[-1500:])
    samples = out.split("sample:")[1:]                   # a sample may span lines
    assert samples and any(s.strip() for s in samples), out[-1500:]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("pytorch_programs")
    corpus_files(d)
    return d


def test_bigram(folder):
    out = run_program("bigram.py", folder)
    learned(out, 0.9)
    assert len(re.findall(r"^count sample: ", out, re.M)) == 3


def test_gpt_lecture(folder):
    learned(run_program("gpt_lecture.py", folder), 0.85)


@pytest.mark.parametrize("kind", ["mlp", "rnn", "gru"])
def test_makemore(folder, kind):
    learned(run_program("makemore.py", folder, kind), 0.9)


def test_nanogpt(folder):
    out = run_program("nanogpt.py", folder)
    learned(out, 0.85)
    assert "using fused AdamW: False" in out and "num decayed parameter tensors" in out


def test_classifier(folder):
    out = run_program("classifier.py", folder)
    learned(out, 0.9)
    start, end = map(float, re.search(r"accuracy (\S+) -> (\S+)", out).groups())
    assert end > start + 0.1 and end > 0.65


def test_manual_backprop(folder):
    out = run_program("manual_backprop.py", folder)
    learned(out, 0.8)
    assert out.count("approximate: True") == 14


def test_cnn_classifier(folder):
    out = run_program("cnn_classifier.py", folder)
    learned(out, 0.5)
    assert "BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)" in out


def test_lstm_names(folder):
    out = run_program("lstm_names.py", folder)
    learned(out, 0.9)
    assert float(re.search(r"ends-in-vowel: loss \S+, accuracy (\S+)%", out).group(1)) > 90
