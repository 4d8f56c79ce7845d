"""docs/api.md is generated from the code, and stays so: regenerating it gives the committed file.

A docstring or signature that changed without rerunning ``python scripts/make_api_docs.py`` fails here,
so the API reference cannot go stale; and every public name of the documented modules must be in it.
"""

from __future__ import annotations

import importlib
import re
import types
from pathlib import Path

import pytest
from scripts_loader import load_script

ROOT = Path(__file__).resolve().parent.parent
API_MD = ROOT / "docs" / "api.md"


@pytest.fixture(scope="module")
def make_api_docs():
    return load_script("make_api_docs")


@pytest.fixture(scope="module")
def committed():
    assert API_MD.exists(), "docs/api.md is missing: run python scripts/make_api_docs.py"
    return API_MD.read_text(encoding="utf-8")


def test_api_md_is_up_to_date(make_api_docs, committed):
    fresh = make_api_docs.render()
    if fresh != committed:
        import difflib
        diff = "".join(list(difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True),
                                                 "docs/api.md (committed)", "docs/api.md (from the code)"))[:60])
        pytest.fail("docs/api.md does not match the code's docstrings and signatures; run "
                    f"`python scripts/make_api_docs.py` and commit the result:\n{diff}", pytrace=False)


def test_render_is_deterministic(make_api_docs):
    first, second = make_api_docs.render(), make_api_docs.render()
    assert first == second
    assert not re.search(r"0x[0-9a-fA-F]{6,}", first), "a memory address leaked into docs/api.md"


def _sections(text: str) -> dict[str, str]:
    """``## `module` `` heading -> the text of that section."""
    parts = re.split(r"^## `([\w.]+)`$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def _expected_names(module_name: str) -> list[str]:
    """The public names, worked out here independently of the generator."""
    if module_name == "tinygrad_tf.Tensor":
        from tinygrad_tf import Tensor
        return [n for c in Tensor.__mro__ if c.__module__.startswith("tinygrad_tf") for n in vars(c)
                if not n.startswith("_")]
    module = importlib.import_module(module_name)
    if hasattr(module, "__all__"):
        names = list(module.__all__)
    else:
        names = [n for n, v in vars(module).items() if not n.startswith("_")
                 and (callable(v) and getattr(v, "__module__", None) == module_name
                      or module_name == "tinygrad_tf")]
    return [n for n in names if not isinstance(getattr(module, n), types.ModuleType)]


@pytest.mark.parametrize("module_name", [
    "tinygrad_tf", "tinygrad_tf.Tensor", "tinygrad_tf.cuda", "tinygrad_tf.nn", "tinygrad_tf.nn.functional", "tinygrad_tf.nn.init",
    "tinygrad_tf.nn.utils", "tinygrad_tf.nn.models",
    "tinygrad_tf.optim", "tinygrad_tf.optim.lr_scheduler", "tinygrad_tf.utils.data", "tinygrad_tf.text", "tinygrad_tf.train", "tinygrad_tf.train.mlm",
    "tinygrad_tf.train.seq2seq", "tinygrad_tf.viz"])
def test_every_public_name_is_documented(committed, module_name):
    sections = _sections(committed)
    assert module_name in sections, f"docs/api.md has no section for {module_name}"
    body = sections[module_name]
    missing = [n for n in _expected_names(module_name)
               if not re.search(rf"(^### `{re.escape(n)}`$|`(tg\.)?{re.escape(n)}[`(])", body, flags=re.M)]
    assert not missing, f"docs/api.md's {module_name} section lacks: {missing} (run python scripts/make_api_docs.py)"


def test_contract_names_have_signatures(committed):
    """A few names from the public contract, with the signatures users type."""
    flat = re.sub(r"\(\n\s+", "(", re.sub(r",\n\s+", ", ", committed))      # unwrap long signatures
    for needle in ("gradcheck(fn, *inputs, eps=", "cross_entropy(input, target", "clip_grad_norm_(parameters",
                   "### `AdamW`", "### `GPT`", "### `BERT`", "### `T5`", "load_hf(path", "save_hf(model, path",
                   "count_parameters(config)", "### `TrainConfig`", "fill_mask(model, tokenizer, text",
                   "draw_graph(tensor", "manual_seed(seed"):
        assert needle in flat, f"docs/api.md lacks {needle!r}"
