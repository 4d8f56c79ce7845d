"""Every `tinygrad-tf ...` command printed in README.md and docs/*.md parses with the real CLI.

The python blocks of the docs run in test_docs.py; the shell commands are too slow to run here (they
train models), but a renamed flag, a removed command or a typo would make them fail as printed — that
is what this catches: each command line goes through the real argument parser.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tinygrad_tf.commands import build_parser

ROOT = Path(__file__).resolve().parent.parent
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^\s*(```+|~~~+)\s*(\w*)")


def shell_commands(path: Path):
    """(line number, command) for each `tinygrad-tf` line in the file's bash/sh/console blocks and `> ` boxes."""
    out, lang, cont, start = [], None, "", 0
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = FENCE.match(raw)
        if m:
            lang = None if lang is not None else (m.group(2) or "text")
            continue
        line = raw.strip()
        if line.startswith("> "):
            line = line[2:].strip()
        elif lang not in ("bash", "sh", "shell", "console"):
            continue
        line = line.removeprefix("$ ")
        if not cont and " tinygrad-tf " in line and line.split()[0] in ("mpirun", "torchrun"):
            line = line[line.index(" tinygrad-tf ") + 1:]          # the command that every process runs
        if cont:
            line, cont = cont + " " + line, ""
        elif not line.startswith("tinygrad-tf "):
            continue
        else:
            start = n
        if line.endswith("\\"):
            cont = line[:-1].strip()
            continue
        out.append((start, line))
    return out


def _words(cmd: str):
    cmd = re.split(r"\s+#", cmd)[0]                         # trailing comment
    cmd = cmd.split(" | ")[0].split(" && ")[0].split(" > ")[0]
    return shlex.split(cmd)[1:]


PLACEHOLDER = re.compile(r"\bNAME\b|\bFILE\b|\bDIR\b|\.\.\.|\[|\bA B\b|<")   # templates: `show NAME`, `compare A B`
CASES = [(p, n, c) for p in FILES for n, c in shell_commands(p) if not PLACEHOLDER.search(c)]


def test_the_docs_print_commands():
    assert len(CASES) > 20, "the command extractor found too few commands: is it broken?"


def test_a_misprinted_command_is_caught(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("```bash\ntinygrad-tf train --n-layers 4 \\\n    --steps 10\n```\n")
    [(line, cmd)] = shell_commands(doc)
    assert (line, cmd) == (2, "tinygrad-tf train --n-layers 4 --steps 10")
    with pytest.raises(SystemExit):
        build_parser().parse_args(_words(cmd))          # --n-layers is not a flag (--n-layer is)


@pytest.mark.parametrize("path,line,cmd", CASES, ids=[f"{p.name}:{n}" for p, n, _ in CASES])
def test_printed_command_parses(path, line, cmd):
    try:
        build_parser().parse_args(_words(cmd))
    except SystemExit as e:
        pytest.fail(f"{path.name}:{line}: `{cmd}` does not parse with the real CLI (exit {e.code})")
