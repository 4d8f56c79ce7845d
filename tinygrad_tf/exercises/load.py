"""The learner's file: run it as a fresh module and take out their class (``load_class``), and when their
code raises, say so in one line that points at their own line (``raised``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import traceback
import uuid
from pathlib import Path

from ..autograd import Function


class BadFile(Exception):
    """The learner's file cannot be used at all (missing, a syntax error, no such class): exit code 2."""


def load_class(path, class_name: str) -> type:
    """Run the file at ``path`` as a fresh module and return its ``class_name``, a tg.Function subclass.

    Raises ``BadFile`` with a one-line message (file and line number) if that is not possible.
    """
    path = Path(path)
    if not path.exists():
        raise BadFile(f"{path}: no such file (write a starter with `tinygrad-tf exercise start NAME --out {path}`)")
    if not path.is_file():
        raise BadFile(f"{path} is not a file")
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise BadFile(f"{path} is not UTF-8 text ({e.reason} at byte {e.start})") from None
    filename = str(path.resolve())
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as e:
        text = f": {e.text.strip()}" if e.text and e.text.strip() else ""
        raise BadFile(f"{path}:{e.lineno}: syntax error: {e.msg}{text}") from None
    name = f"_tinygrad_tf_exercise_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_loader(name, loader=None, origin=filename)
    module = importlib.util.module_from_spec(spec)
    module.__file__ = filename
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)                 # so the file may import its neighbours
    sys.modules[name] = module                 # (dataclasses and friends look their module up)
    try:
        exec(code, module.__dict__)  # noqa: S102  (running the learner's file is the point)
    except Exception as e:  # noqa: BLE001
        line = learner_line(e, {filename})
        at = f":{line[0]}" if line else ""
        raise BadFile(f"{path}{at}: {type(e).__name__} while running the file: {one_line(e)}") from None
    finally:
        sys.modules.pop(name, None)
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)
    cls = module.__dict__.get(class_name)
    if cls is None:
        found = [k for k, v in module.__dict__.items() if isinstance(v, type) and issubclass(v, Function)
                 and v.__module__ == name]
        also = f" (it defines {', '.join(found)})" if found else ""
        raise BadFile(f"{path} has no class {class_name}{also}; the exercise expects `class {class_name}(tg.Function)`")
    if not (isinstance(cls, type) and issubclass(cls, Function)):
        raise BadFile(f"{class_name} in {path} is not a tg.Function subclass; write `class {class_name}(tg.Function)`")
    return cls


def one_line(e) -> str:
    """An exception's message with its white space folded onto one line (its type's name if it has none)."""
    return " ".join(str(e).split()) or type(e).__name__


def learner_files(cls) -> set:
    """The files the learner's ``forward`` and ``backward`` were written in."""
    files = set()
    for attr in ("forward", "backward"):
        fn = getattr(cls, attr, None)
        code = getattr(fn, "__code__", None)
        if code is not None:
            files.add(code.co_filename)
    return files


def learner_line(exc, files):
    """(line number, source line, function) of the innermost frame in the learner's code, following
    the exception's cause/context chain (the engine re-raises shape errors as OpError ``from None``)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in files]
        if frames:
            f = frames[-1]
            return f.lineno, (f.line or "").strip(), f.name
        exc = exc.__cause__ or exc.__context__
    return None


def raised(what, exc, files) -> str:
    """"forward raised ValueError at line 12 (in forward: `...`): ..." — ``exc`` from the learner's ``what``."""
    if isinstance(exc, NotImplementedError):
        return f"{what} is not written yet (it raises NotImplementedError)"
    loc = learner_line(exc, files)
    where = f" at line {loc[0]} (in {loc[2]}: `{loc[1]}`)" if loc else ""
    return f"{what} raised {type(exc).__name__}{where}: {one_line(exc)}"
