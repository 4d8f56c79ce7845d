"""The examples run: each script exits 0 and prints the line that shows it did its job.

Each runs in a fresh interpreter (as `python examples/NN_name.py` would), with
the working directory set to a temporary folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# script -> a regular expression its output must contain
EXPECTED = {
    "01_scalar_autograd.py": r"backward agrees with the hand-derived gradients",
    "02_broadcasting.py": r"dL/dw = \[18\. 22\. 26\.\]",
    "03_mlp.py": r"final accuracy: (0\.9\d|1\.00)",
    "04_attention_from_scratch.py": r"matches nn\.MultiHeadAttention: max abs diff \d\.\de[+-]\d+\ngradcheck passed",
    "05_positional_encodings.py": r"RoPE: q\.k depends only on m - n; lengths are kept: True",
    "06_transformer_block.py": r"copy from 3 positions back: final accuracy (0\.9\d|1\.00)",
    "11_gradient_checking.py": r"caught: gradcheck failed:\n  input 0 \(shape \(4, 5\)\)",
    "12_attention_analysis.py": r"found patterns: .*previous-token",
    "13_rendering_for_slides.py": r"slides/previous_token\.svg",
    "14_gradient_readouts.py": r"summary ([\d,]+) = by hand \1: True[\s\S]*update ratio matches log10\(lr·\|g\|/\|w\|\)",
    "08_bert_fill_mask.py": r"fill-mask: the top guess for .* is '",
    "09_t5_seq2seq.py": r"held-out exact match \d+\.\d%",
    "10_load_hf_checkpoint.py": r"all fixtures match transformers within 1e-4",
    "07_train_char_gpt.py": r"trained \d+ steps in \d+s: train loss \d\.\d{3}, val loss \d\.\d{3}",
    "15_gpu_run.py": r"done on (cuda|cpu): \d+ steps in [\d.]+s, [\d,]+ tokens/s, val loss \d\.\d{3}",
    "16_figures_and_player.py": r"final loss 0\.\d{3}; wrote [56] files to figures/: head\.svg, heads\.png, "
                                r"gradients\.svg, training\.pdf, parameters\.png",
    "17_data_parallel.py": r"\d process(es)?, global batch \d+: loss \d\.\d{3} -> \d\.\d{3} in 40 steps; weights "
                           r"identical on every rank: True",
}

# examples that draw matplotlib figures (the [plots] extra, which the test extra installs)
NEEDS_PLOTS = {"16_figures_and_player.py"}

# the long training examples run a short version here (their full runs are measured in the docs)
ARGS = {
    "08_bert_fill_mask.py": ["--steps", "20"],
    "09_t5_seq2seq.py": ["--steps", "30"],
    "07_train_char_gpt.py": ["--steps", "20"],
    "15_gpu_run.py": ["--steps", "20"],
}


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs(script, tmp_path):
    path = EXAMPLES / script
    assert path.exists(), f"{path} is missing"
    if script in NEEDS_PLOTS:
        pytest.importorskip("matplotlib", reason=f"{script} draws figures (the [plots] extra)")
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, str(path), *ARGS.get(script, [])], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{script} exited with {proc.returncode}:\n{out[-3000:]}"
    assert re.search(EXPECTED[script], proc.stdout), \
        f"{script}: expected a line matching {EXPECTED[script]!r} in its output:\n{proc.stdout[-3000:]}"
    assert "RuntimeWarning" not in proc.stderr, f"{script} hit a numerical warning:\n{proc.stderr}"


def test_every_example_is_run_here():
    """A new example must be added to EXPECTED, so that nothing in examples/ can rot unseen."""
    scripts = {p.name for p in (Path(__file__).resolve().parent.parent / "examples").glob("[0-9]*.py")}
    missing = scripts - set(EXPECTED)
    assert not missing, f"examples not run by the suite: {sorted(missing)}"
