"""The scripts under scripts/ (not a package) as modules, for the tests that check what they make."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


@functools.lru_cache(maxsize=None)
def load_script(name: str):
    """scripts/<name>.py, loaded once (its ``if __name__ == "__main__"`` part does not run)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
