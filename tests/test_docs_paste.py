"""The docs paste: every ```python block in README.md and docs/*.md pastes into the standard Python REPL.

A learner copies a block and pastes it at the ``>>>`` prompt. The REPL reads a paste line by line, as if typed:
a blank line ends an indented block (so a blank line *inside* a function or class body cuts it in two, and the
rest is an IndentationError), and an unindented line straight after an indented block is a SyntaxError (the
block needs a blank line first). ``tests/test_docs.py`` runs the same blocks as a script, where neither
matters; this test feeds each line to ``code.InteractiveConsole`` (the REPL's own machinery), then an empty
line (the Enter the learner presses after the paste), and fails on any error, a syntax error or an exception.

Blocks of one file run in order in one namespace, in a temporary working folder, as in test_docs.py; blocks
fenced ```python no-run are left out the same way.
"""

from __future__ import annotations

import code
import contextlib
import io
import traceback

import pytest

from test_docs import DOC_FILES, ROOT, SKIP_MARKERS, python_blocks


class PasteConsole(code.InteractiveConsole):
    """An InteractiveConsole that records the first error instead of printing it and carrying on."""

    def __init__(self, namespace, filename):
        super().__init__(namespace, filename=filename)
        self.error = None

    def showsyntaxerror(self, filename=None, **kwargs):
        if self.error is None:
            self.error = traceback.format_exc(limit=0).strip()

    def showtraceback(self):
        if self.error is None:
            self.error = traceback.format_exc(limit=-3).strip()


def paste(console: PasteConsole, code_text: str):
    """Feed ``code_text`` line by line, then one empty line; returns (line number in the block, error) or None."""
    lines = code_text.splitlines() + [""]
    for number, line in enumerate(lines, 1):
        console.push(line)
        if console.error is not None:
            return number, console.error
    if console.buffer:                                   # still waiting for input after the final Enter
        return len(lines), "the paste ends inside an unfinished statement (a bracket or string left open?)"
    return None


@pytest.mark.parametrize("path", DOC_FILES, ids=[str(p.relative_to(ROOT)) for p in DOC_FILES])
def test_python_blocks_paste_into_the_repl(path, tmp_path, monkeypatch):
    found = python_blocks(path.read_text(encoding="utf-8"))
    blocks = [(n, line, src) for n, (line, flags, src) in enumerate(found, 1) if not SKIP_MARKERS & set(flags)]
    if not blocks:
        return
    monkeypatch.chdir(tmp_path)
    import tinygrad_tf as tg
    tg.manual_seed(0)
    console = PasteConsole({"__name__": "__console__"}, str(path))
    for n, fence_line, src in blocks:
        with contextlib.redirect_stdout(io.StringIO()):   # what the REPL echoes (expression values)
            failed = paste(console, src)
        if failed:
            at, error = failed
            text = src.splitlines()[at - 1] if at <= len(src.splitlines()) else "(the Enter after the paste)"
            pytest.fail(f"{path.relative_to(ROOT)}: python block {n} (fenced at line {fence_line}) fails when "
                        f"pasted into the REPL, at markdown line {fence_line + at}: {text.strip()!r}\n{error}",
                        pytrace=False)


def test_paste_rules_match_the_repl():
    """The checker itself: what a terminal paste rejects, it rejects; what a paste accepts, it accepts."""
    def errors(src):
        return paste(PasteConsole({}, "<paste>"), src)

    assert errors("def f(x):\n    return x\n\ny = f(2)\nassert y == 2\n") is None
    assert "SyntaxError" in errors("for i in range(2):\n    pass\nx = 1\n")[1]   # no blank line
    assert "IndentationError" in errors("def f():\n    a = 1\n\n    return a\n")[1]      # blank line inside
    assert "ZeroDivisionError" in errors("x = 1\ny = x / 0\n")[1]
    assert "unfinished" in errors("x = (1,\n")[1]
    assert errors("class A:\n    x = 1\n    def f(self):\n        return self.x\n\nA().f()\n") is None
