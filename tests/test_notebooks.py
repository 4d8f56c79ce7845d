"""docs/notebooks/ is generated from the lessons and stays so; every notebook runs in a real Jupyter kernel.

- Regenerating the notebooks (``python scripts/make_notebooks.py``) gives the committed files: a lesson edited
  without regenerating fails here, as docs/api.md does in test_api_docs.py.
- The notebook's code cells are the lesson's runnable ```python blocks, in order — checked against
  tests/test_docs.py's own fence reader, not the generator's.
- Each notebook is executed top to bottom by nbclient in an ipykernel (the ``test`` extra installs both), in
  a fresh temporary folder, with a time limit per notebook; any error fails, naming the cell. The setup cell
  must find tinygrad_tf already importable and install nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import pytest

from scripts_loader import load_script
from test_docs import SKIP_MARKERS, python_blocks

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "docs").glob("lesson-*.md"))
NOTEBOOK_TIMEOUT = 120          # seconds for one whole notebook (the slowest, lesson 9, took 1.7 s on a 2-core machine)


@pytest.fixture(scope="module")
def make_notebooks():
    return load_script("make_notebooks")


def _nb_path(lesson: Path) -> Path:
    return ROOT / "docs" / "notebooks" / (lesson.stem + ".ipynb")


def test_there_are_lessons():
    assert len(LESSONS) >= 10, LESSONS


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_notebook_is_up_to_date(make_notebooks, lesson):
    path = _nb_path(lesson)
    assert path.exists(), f"{path.relative_to(ROOT)} is missing: run python scripts/make_notebooks.py"
    committed, fresh = path.read_text(encoding="utf-8"), make_notebooks.render(lesson)
    if committed != fresh:
        import difflib
        diff = "".join(list(difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True),
                                                 f"{path.name} (committed)", f"{path.name} (from the lesson)"))[:40])
        pytest.fail(f"{path.relative_to(ROOT)} does not match {lesson.relative_to(ROOT)}; run "
                    f"`python scripts/make_notebooks.py` and commit the result:\n{diff}", pytrace=False)


def test_folder_readme_is_up_to_date(make_notebooks):
    path = ROOT / "docs" / "notebooks" / "README.md"
    assert path.exists() and path.read_text(encoding="utf-8") == make_notebooks.render_index(), \
        "docs/notebooks/README.md is out of date: run python scripts/make_notebooks.py"
    for lesson in LESSONS:
        assert f"]({lesson.stem}.ipynb)" in path.read_text(encoding="utf-8")


def test_no_notebook_without_a_lesson(make_notebooks):
    assert make_notebooks.stale() == [], "run python scripts/make_notebooks.py to remove them"


def test_check_mode_sees_a_lesson_edit(make_notebooks, tmp_path, monkeypatch):
    """The generator really reads the lesson: an edited lesson gives a different notebook, and --check says so."""
    lesson = tmp_path / "docs" / "lesson-99-x.md"
    lesson.parent.mkdir()
    lesson.write_text("# X\n\n```python\nprint(1)\n```\n", encoding="utf-8")
    monkeypatch.setattr(make_notebooks, "ROOT", tmp_path)
    monkeypatch.setattr(make_notebooks, "DOCS", tmp_path / "docs")
    monkeypatch.setattr(make_notebooks, "OUT", tmp_path / "docs" / "notebooks")
    assert make_notebooks.main([]) == 0 and make_notebooks.main(["--check"]) == 0
    lesson.write_text("# X\n\n```python\nprint(2)\n```\n", encoding="utf-8")
    assert make_notebooks.main(["--check"]) == 1
    (tmp_path / "docs" / "notebooks" / "lesson-00-gone.ipynb").write_text("{}")
    assert make_notebooks.main([]) == 0
    assert sorted(p.name for p in (tmp_path / "docs" / "notebooks").iterdir()) == ["README.md", "lesson-99-x.ipynb"]
    nb = json.loads((tmp_path / "docs" / "notebooks" / "lesson-99-x.ipynb").read_text())
    assert "".join(nb["cells"][-1]["source"]) == "print(2)"


def test_split_rules(make_notebooks):
    text = "\n".join([
        "# Title", "See [ops](../tinygrad_tf/ops.py) and [lesson 2](lesson-02-x.md#one), [web](https://x.org).",
        "```python", "a = 1", "```",
        "## Part", "```python no-run", "not_run()", "```",
        "```bash", "tinygrad-tf demo", "```",
        "- item", "  ```python", "  b = a + 1", "  ```",
        "![fig](img/f.png)",
    ])
    nb = make_notebooks.build_from_text(text, ROOT / "docs" / "lesson-00-x.md")
    cells = [(c["cell_type"], "".join(c["source"])) for c in nb["cells"]]
    assert cells[0][0] == "markdown" and "colab.research.google.com/assets/colab-badge.svg" in cells[0][1]
    assert "docs/notebooks/lesson-00-x.ipynb" in cells[0][1]
    assert cells[1][0] == "code" and "pip" in cells[1][1] and "nvidia-smi" in cells[1][1]
    body = cells[2:]
    assert [k for k, _ in body] == ["markdown", "code", "markdown", "code", "markdown"]
    assert body[1][1] == "a = 1" and body[3][1] == "b = a + 1"
    repo = make_notebooks.REPO_URL
    assert f"]({repo}/blob/main/tinygrad_tf/ops.py)" in body[0][1]
    assert f"]({repo}/blob/main/docs/lesson-02-x.md#one)" in body[0][1]
    assert "](https://x.org)" in body[0][1]
    assert body[2][1].startswith("## Part")                         # a heading starts a cell
    assert "```python\nnot_run()\n```" in body[2][1] and "```bash\ntinygrad-tf demo\n```" in body[2][1]
    assert f"![fig]({repo}/raw/main/docs/img/f.png)" in body[4][1]


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_code_cells_are_the_lessons_python_blocks(lesson):
    """Independent of the generator: test_docs' reader gives the blocks the docs test runs; the notebook has
    exactly those as code cells (after the setup cell), in the same order."""
    nb = json.loads(_nb_path(lesson).read_text(encoding="utf-8"))
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    blocks = [src.strip("\n") for _, flags, src in python_blocks(lesson.read_text(encoding="utf-8"))
              if not SKIP_MARKERS & set(flags)]
    assert code[1:] == blocks
    assert "find_spec(\"tinygrad_tf\")" in code[0]
    assert all(c.get("outputs") == [] for c in nb["cells"] if c["cell_type"] == "code"), "committed with outputs"


# ---------------------------------------------------------------- running them
def _execute(nb, cwd, limit=NOTEBOOK_TIMEOUT):
    """Run ``nb`` (in place) in a fresh python3 kernel started in ``cwd``; the whole notebook within ``limit``
    seconds, not only each cell. Returns the seconds it took; a cell's error raises CellExecutionError."""
    nbclient = pytest.importorskip("nbclient")     # optional: the test extra (and so CI) installs it
    pytest.importorskip("ipykernel")
    client = nbclient.NotebookClient(nb, timeout=limit, kernel_name="python3",
                                     resources={"metadata": {"path": str(cwd)}})
    start = time.monotonic()
    asyncio.run(asyncio.wait_for(client.async_execute(), limit))
    return time.monotonic() - start


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_notebook_runs_in_a_kernel(lesson, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    name = _nb_path(lesson).relative_to(ROOT)
    nb = nbformat.read(_nb_path(lesson), as_version=4)
    nbformat.validate(nb)
    try:
        elapsed = _execute(nb, tmp_path)
    except CellExecutionError as e:
        pytest.fail(f"{name}: {_error_line(e)}\n{e}", pytrace=False)
    except (TimeoutError, asyncio.TimeoutError, CellTimeoutError):
        pytest.fail(f"{name} ran past {NOTEBOOK_TIMEOUT} s", pytrace=False)
    setup = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert "already importable: nothing to install" in setup, setup
    ran = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in ran), "a code cell did not run"
    errors = [o for c in ran for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    print(f"{name}: {len(ran)} cells in {elapsed:.1f} s")


def test_a_failing_cell_fails_the_run(make_notebooks, tmp_path):
    """The harness can fail: a notebook whose second lesson cell raises stops there with the error."""
    nbformat = pytest.importorskip("nbformat")
    from nbclient.exceptions import CellExecutionError

    text = "# X\n\n```python\nx = 1\n```\n\n```python\nraise ValueError('broken lesson')\n```\n\n```python\ny = 2\n```\n"
    nb = nbformat.reads(json.dumps(make_notebooks.build_from_text(text, ROOT / "docs" / "lesson-00-x.md")), as_version=4)
    with pytest.raises(CellExecutionError, match="broken lesson"):
        _execute(nb, tmp_path, limit=60)
    assert nb.cells[-1].execution_count is None                     # nothing ran after the error


def _error_line(error) -> str:
    m = re.search(r"^(\w+(?:Error|Exception|Warning)\b.*)$", str(error), flags=re.M)
    return m[1] if m else "a cell failed"
