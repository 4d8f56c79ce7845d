"""The docs run: every ```python block in README.md and docs/*.md is executed.

Blocks of one file run in order, in one fresh namespace (so a lesson can build
on its earlier blocks), with the working directory set to a temporary folder
(so a block that writes files leaves nothing behind). One test per file; the
test id is the file name.

Fence a block as ```python no-run to show code that must not run here (it needs
a GPU, a download, minutes of training). Use it sparingly: code that should work
belongs in a running block, or the docs rot without anyone noticing.
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import pytest
from scripts_loader import load_script

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
DOC_FILES = sorted([ROOT / "README.md", *DOCS.glob("*.md")])


_notebooks = load_script("make_notebooks")       # it reads the fences: one reader for these tests and the notebooks
RUN_LANGS, SKIP_MARKERS = _notebooks.RUN_LANGS, _notebooks.SKIP_MARKERS


def python_blocks(text: str):
    """Yield (line_number, info_words, code) for each fenced block whose language is Python (fences read as
    the notebooks read them: make_notebooks.fenced)."""
    for kind, *item in _notebooks.fenced(text):
        if kind == "fence":
            start, _, info, body = item
            if info and info[0].lower() in RUN_LANGS:
                yield start, [w.lower() for w in info[1:]], "\n".join(body) + "\n"


def _first_line(code: str) -> str:
    for line in code.splitlines():
        if line.strip():
            return line.strip()
    return "(empty block)"


@pytest.mark.parametrize("path", DOC_FILES, ids=[str(p.relative_to(ROOT)) for p in DOC_FILES])
def test_python_blocks_run(path, tmp_path, monkeypatch):
    found = python_blocks(path.read_text(encoding="utf-8"))
    blocks = [(n, line, code) for n, (line, flags, code) in enumerate(found, 1) if not SKIP_MARKERS & set(flags)]
    if not blocks:
        return                            # nothing to run (e.g. docs/index.md)
    monkeypatch.chdir(tmp_path)
    # the Hub stays off: a doc that loads a pretrained model (lesson 11) reads the fixture cache of tiny models
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(ROOT / "tests" / "fixtures" / "pretrained" / "hub"))
    import tinygrad_tf as tg
    tg.manual_seed(0)                     # every file starts from the same random state
    namespace = {"__name__": "__main__"}
    for n, line, code in blocks:
        # padded with blank lines so that a traceback's line numbers are the markdown file's own
        compiled = compile("\n" * line + code, str(path), "exec")
        error = None
        try:
            exec(compiled, namespace)  # noqa: S102  (running the docs is the point)
        except Exception:  # noqa: BLE001
            error = traceback.format_exc(limit=-3)
        if error:                         # failed outside the except block: no chained-exception noise
            pytest.fail(f"{path.relative_to(ROOT)}: python block {n} (fenced at line {line}, "
                        f"`{_first_line(code)}`) failed:\n{error}", pytrace=False)


def test_collector_reads_fences():
    text = "\n".join([
        "intro", "```python", "a = 1", "```",
        "```python no-run", "raise SystemExit", "```",
        "- item", "  ```python", "  b = a + 1", "  ```",
        "```text", "not code", "```", "````python", "c = '```'", "````",
    ])
    blocks = list(python_blocks(text))
    assert [(line, flags) for line, flags, _ in blocks] == [(2, []), (5, ["no-run"]), (9, []), (15, [])]
    assert blocks[2][2] == "b = a + 1\n"
    assert blocks[3][2] == "c = '```'\n"


_LINK = re.compile(r"\[[^\]]*\]\((?!https?://|mailto:|#)([^)\s#]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("path", DOC_FILES, ids=[str(p.relative_to(ROOT)) for p in DOC_FILES])
def test_relative_links_resolve(path):
    """A [text](relative/path) link in the docs points at a file that exists."""
    text = path.read_text(encoding="utf-8")
    broken = [target for target in _LINK.findall(text) if not (path.parent / target).exists()]
    assert not broken, f"{path.relative_to(ROOT)} links to missing files: {broken}"


def test_index_lists_every_doc():
    """docs/index.md is the table of contents: every page in docs/ is listed there."""
    index = DOCS / "index.md"
    assert index.exists(), "docs/index.md is missing"
    listed = set(_LINK.findall(index.read_text(encoding="utf-8")))
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if p.name != "index.md" and p.name not in listed]
    assert not missing, f"docs/index.md does not list: {missing} (add a line for each)"
