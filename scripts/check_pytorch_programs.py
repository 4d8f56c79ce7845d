"""Run tests/pytorch_programs/*.py on PyTorch itself, with their import lines changed back to torch.

    python scripts/check_pytorch_programs.py        # needs torch (pip install torch==2.13.0)

The programs are written for PyTorch; the test suite runs them on tinygrad_tf with only the import lines
changed. This script is the other half of that claim: the same files, imports turned back into
`import torch` / `torch.nn` / `torch.utils.data`, must run on PyTorch too, and learn there as well.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from test_pytorch_programs import PROGRAMS, corpus_files  # noqa: E402

RUNS = [("bigram.py",), ("gpt_lecture.py",), ("makemore.py", "mlp"), ("makemore.py", "rnn"), ("makemore.py", "gru"),
        ("nanogpt.py",), ("classifier.py",), ("manual_backprop.py",), ("cnn_classifier.py",), ("lstm_names.py",)]


def to_torch(source: str) -> str:
    """Only import lines change: tinygrad_tf -> torch."""
    return "\n".join(re.sub(r"\btinygrad_tf\b", "torch", line) if re.match(r"\s*(import|from)\s", line) else line
                     for line in source.splitlines()) + "\n"


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="torch-programs-"))
    corpus_files(folder)
    failed = 0
    for name, *args in RUNS:
        (folder / name).write_text(to_torch((PROGRAMS / name).read_text(encoding="utf-8")), encoding="utf-8")
        r = subprocess.run([sys.executable, name, *args], cwd=folder, capture_output=True, text=True)
        start = re.search(r"loss_start (\S+)", r.stdout)
        end = re.search(r"loss_end (\S+)", r.stdout)
        ok = r.returncode == 0 and start and end
        failed += not ok
        print(f"{name} {' '.join(args):4} {'ok ' if ok else 'FAILED'} "
              f"{'loss ' + start.group(1) + ' -> ' + end.group(1) if ok else r.stderr[-800:]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
