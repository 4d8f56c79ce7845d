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
    "11_gradient_checking.py": r"caught: gradcheck failed:\n  input 0 \(shape \(4, 5\)\)",
}


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs(script, tmp_path):
    path = EXAMPLES / script
    assert path.exists(), f"{path} is missing"
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{script} exited with {proc.returncode}:\n{out[-3000:]}"
    assert re.search(EXPECTED[script], proc.stdout), \
        f"{script}: expected a line matching {EXPECTED[script]!r} in its output:\n{proc.stdout[-3000:]}"
    assert "RuntimeWarning" not in proc.stderr, f"{script} hit a numerical warning:\n{proc.stderr}"
