"""Generate docs/notebooks/, one Jupyter notebook per lesson, from the lessons' Markdown.

    python scripts/make_notebooks.py            # rewrite docs/notebooks/*.ipynb (and remove stale ones)
    python scripts/make_notebooks.py --check    # exit 1 if a notebook is not what this would write

The lesson (docs/lesson-*.md) is the one source; its notebook is a view of it. Prose becomes Markdown cells
(a new cell at each heading, so Colab's outline folds by section); each runnable ```python block becomes a
code cell, in order — the same blocks tests/test_docs.py runs. The rest stays Markdown:

- ```python no-run blocks (excerpts of the library's own code, GPU-only lines) are shown, not run;
- ```bash blocks stay Markdown too, not ``!`` cells: they are minutes of training (`tinygrad-tf demo` takes
  3.5 min on a CPU), need a GPU, or are terminal work (pytest, the lab). As ``!`` cells, "Run all" — and CI —
  would start them all; a learner who wants one pastes it into a cell with a ``!`` in front.

Relative links (code, other lessons, images) point at the repository on GitHub, so they work in Colab too.
Each notebook opens with an "Open in Colab" badge and a setup cell that pip-installs the package from the
repository (with CuPy when ``nvidia-smi`` finds a GPU); the setup cell does nothing where ``tinygrad_tf`` is
already importable (a local checkout, CI). The notebooks are committed without outputs; the output is
deterministic, so tests/test_notebooks.py regenerates them and compares — a lesson edited without rerunning
this script fails the suite — and runs every notebook in a real Jupyter kernel.
"""

from __future__ import annotations

import argparse
import json
import posixpath
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
OUT = DOCS / "notebooks"

# The repository on GitHub. No URL is recorded anywhere else yet (pyproject.toml and README name none):
# this constant is the one place to change it, and the Colab badges, the links and the setup cell follow.
REPO_URL = "https://github.com/tinygrad-tf/tinygrad-tf"
BRANCH = "main"

RUN_LANGS = {"python", "py", "python3"}             # these blocks run (here and in tests/test_docs.py) ...
SKIP_MARKERS = {"no-run", "norun", "skip"}          # ... unless marked so
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_LINK = re.compile(r"(?P<bang>!?)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)(?P<title>\s+\"[^\"]*\")?\)")

SETUP = """\
# Setup: install tinygrad_tf from its repository (and CuPy when this runtime has an NVIDIA GPU).
# Where tinygrad_tf is already importable (a local checkout, a second run) this cell does nothing.
import importlib, importlib.util, shutil, subprocess, sys

if importlib.util.find_spec("tinygrad_tf") is None:
    gpu = shutil.which("nvidia-smi") is not None and subprocess.run(["nvidia-smi"], capture_output=True).returncode == 0
    package = "tinygrad-tf[cuda]" if gpu else "tinygrad-tf"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"{package} @ git+%(repo)s.git@%(branch)s"],
                   check=True)
    importlib.invalidate_caches()
    print(f"installed {package}" + (" (GPU runtime: with CuPy)" if gpu else " (no GPU found: NumPy only)"))
else:
    print("tinygrad_tf is already importable: nothing to install")
"""


def github_url(repo_path: str, raw: bool = False) -> str:
    return f"{REPO_URL}/{'raw' if raw else 'blob'}/{BRANCH}/{repo_path}"


def colab_url(repo_path: str) -> str:
    return f"https://colab.research.google.com/github/{REPO_URL.split('github.com/', 1)[1]}/blob/{BRANCH}/{repo_path}"


def lessons() -> list[Path]:
    return sorted(DOCS.glob("lesson-*.md"))


def notebook_path(lesson: Path) -> Path:
    return OUT / (lesson.stem + ".ipynb")


def _rewrite_links(text: str, source: Path) -> str:
    """[x](relative/path#anchor) -> the file on GitHub; links to the web, mailto: and #anchors stay."""
    def fix(m):
        target = m["target"]
        if re.match(r"^([a-z][a-z0-9+.-]*:|#)", target, flags=re.I):
            return m[0]
        path, _, anchor = target.partition("#")
        repo_path = posixpath.normpath(posixpath.join(source.parent.relative_to(ROOT).as_posix(), path))
        url = github_url(repo_path, raw=bool(m["bang"])) + (f"#{anchor}" if anchor else "")
        return f"{m['bang']}[{m['text']}]({url}{m['title'] or ''})"
    return _LINK.sub(fix, text)


def fenced(text: str):
    """The lines of a Markdown text, read as the docs tests and the notebooks read them: yield ("line", line)
    outside fences and ("fence", start, fence, info_words, body) for a fenced block (start: the fence's own
    1-based line number; body: its lines). Indented fences (in list items) lose their indent; a longer fence
    closes only with one as long."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            yield "line", lines[i]
            i += 1
            continue
        indent, fence, info = m["indent"], m["fence"], m["info"].strip().split()
        start, body, i = i + 1, [], i + 1
        while i < len(lines):
            close = _FENCE.match(lines[i])
            if close and close["fence"][0] == fence[0] and len(close["fence"]) >= len(fence) \
                    and not close["info"].strip():
                break
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            i += 1
        i += 1
        yield "fence", start, fence, info, body


def runs(info: list[str]) -> bool:
    """Does a block with these info words run (a ```python block not marked no-run)?"""
    return bool(info) and info[0].lower() in RUN_LANGS and not SKIP_MARKERS & {w.lower() for w in info[1:]}


def split_lesson(text: str):
    """Yield ("markdown", text) and ("code", source) pieces of a lesson, in order (fences read by ``fenced``)."""
    prose: list[str] = []
    for kind, *item in fenced(text):
        if kind == "line":
            prose.append(item[0])
            continue
        _, fence, info, body = item
        lang = info[0].lower() if info else ""
        if runs(info):
            yield "markdown", "\n".join(prose)
            prose = []
            yield "code", "\n".join(body)
        else:                                  # shown, not run: keep the fence (no-run dropped, so it highlights)
            shown = fence + (lang if lang in RUN_LANGS else " ".join(info))
            prose.extend([shown, *body, fence])
    yield "markdown", "\n".join(prose)


def _markdown_cells(text: str) -> list[str]:
    """Prose -> cells, a new one at each heading (outside fences); blank edges trimmed, empty ones dropped."""
    cells, current, in_fence = [], [], None
    for line in text.splitlines():
        m = _FENCE.match(line)
        if m and in_fence is None:
            in_fence = m["fence"]
        elif m and in_fence and m["fence"][0] == in_fence[0] and len(m["fence"]) >= len(in_fence) \
                and not m["info"].strip():
            in_fence = None
        elif in_fence is None and re.match(r"^#{1,6} ", line) and any(s.strip() for s in current):
            cells.append(current)
            current = []
        current.append(line)
    cells.append(current)
    return ["\n".join(c).strip("\n") for c in cells if any(s.strip() for s in c)]


def _cell(kind: str, source: str, n: int) -> dict:
    cell = {"cell_type": kind, "id": f"cell-{n}", "metadata": {}, "source": source.splitlines(keepends=True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def build(lesson: Path) -> dict:
    """The notebook (nbformat 4.5, as a dict) for one lesson."""
    return build_from_text(lesson.read_text(encoding="utf-8"), lesson)


def build_from_text(text: str, lesson: Path) -> dict:
    """The notebook for ``text``, the Markdown of the lesson at ``lesson`` (links resolve from there)."""
    nb_rel = notebook_path(lesson).relative_to(ROOT).as_posix()
    md_rel = lesson.relative_to(ROOT).as_posix()
    header = (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(nb_rel)})\n\n"
              f"*This notebook is generated from [{md_rel}]({github_url(md_rel)}) by `scripts/make_notebooks.py`: "
              f"edit the lesson, then rerun the script. Run the cells in order; the first one installs "
              f"`tinygrad_tf` where it is missing (on Colab, choose a GPU runtime to have CuPy too).*")
    pieces = [("markdown", header), ("code", SETUP % {"repo": REPO_URL, "branch": BRANCH})]
    for kind, text in split_lesson(text):
        if kind == "code":
            pieces.append(("code", text.strip("\n")))
        else:
            pieces.extend(("markdown", c) for c in _markdown_cells(_rewrite_links(text, lesson)))
    cells = [_cell(kind, text, n) for n, (kind, text) in enumerate(pieces, 1)]
    return {
        "cells": cells,
        "metadata": {
            "colab": {"name": lesson.stem + ".ipynb", "provenance": []},
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def render(lesson: Path) -> str:
    """The notebook file's text: JSON as Jupyter writes it (indent 1, sorted keys), so saving it from
    Jupyter without running anything changes nothing."""
    return json.dumps(build(lesson), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _title(lesson: Path) -> str:
    for line in lesson.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return lesson.stem


def render_index() -> str:
    """docs/notebooks/README.md: the notebooks, each with its Colab badge (what GitHub shows for the folder)."""
    lines = ["# The lessons as notebooks", "",
             "Generated from [the lessons](../index.md) by `scripts/make_notebooks.py` — edit a lesson, then run",
             "`python scripts/make_notebooks.py`; never edit these files by hand (a test compares them). Each one",
             "opens with a cell that installs `tinygrad_tf` where it is missing (with CuPy on a GPU runtime).", ""]
    for lesson in lessons():
        nb = notebook_path(lesson)
        badge = f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(nb.relative_to(ROOT).as_posix())})"
        lines.append(f"- [{_title(lesson)}]({nb.name}) {badge}")
    return "\n".join(lines) + "\n"


def render_all() -> dict[Path, str]:
    """Every generated file (the notebooks and the folder's README) -> its text."""
    out = {notebook_path(lesson): render(lesson) for lesson in lessons()}
    out[OUT / "README.md"] = render_index()
    return out


def stale() -> list[Path]:
    """Notebooks in docs/notebooks/ whose lesson is gone."""
    wanted = set(render_all())
    return sorted(p for p in OUT.glob("*.ipynb") if p not in wanted)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook is out of date")
    args = parser.parse_args(argv)
    fresh = render_all()
    n = len(fresh) - 1
    changed = [p for p, text in fresh.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    old = stale()
    if args.check:
        for p in changed:
            print(f"{p.relative_to(ROOT)} is out of date: run python scripts/make_notebooks.py")
        for p in old:
            print(f"{p.relative_to(ROOT)} has no lesson: run python scripts/make_notebooks.py")
        if not changed and not old:
            print(f"{n} notebooks in {OUT.relative_to(ROOT)} are up to date")
        return 1 if changed or old else 0
    sys.path.insert(0, str(ROOT))
    from tinygrad_tf.fileio import atomic_write
    for p in changed:
        atomic_write(p, fresh[p].encode("utf-8"))
    for p in old:
        p.unlink()
    print(f"{n} notebooks in {OUT.relative_to(ROOT)}: {len(changed)} files written, {len(old)} stale removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
