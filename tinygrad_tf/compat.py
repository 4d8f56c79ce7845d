"""PyTorch names that tinygrad_tf does not have (yet): one message, pointing at the page that lists what is there.

A PyTorch program run with ``import tinygrad_tf as torch`` stops at the first name it uses that this engine does
not have. The error should say that plainly — it is a gap in tinygrad_tf, not a typo in the program — and say
where to look: docs/from-pytorch.md lists every supported name and every known difference.
"""

from __future__ import annotations

DOCS = "docs/from-pytorch.md"


def missing(owner: str, name: str, torch_name: str) -> AttributeError:
    """The AttributeError for ``owner.name`` (shown to the user as PyTorch's ``torch_name``)."""
    if name.startswith("__") and name.endswith("__"):           # Python's own probing (__path__, __wrapped__...)
        return AttributeError(f"{owner!s} has no attribute {name!r}")
    return AttributeError(f"{owner} has no attribute {name!r} (if PyTorch has {torch_name}, tinygrad_tf does not "
                          f"have it yet: {DOCS} lists the PyTorch names it has and how they differ)")


def module_getattr(module_name: str, torch_prefix: str, lazy=()):
    """A module-level ``__getattr__`` (PEP 562) for a module that stands in for ``torch_prefix``: the names in
    ``lazy`` are submodules imported on first use (``torch.utils`` works after a plain ``import torch``);
    anything else is a clear AttributeError."""
    def __getattr__(name):
        if name in lazy:
            import importlib
            return importlib.import_module(f"{module_name}.{name}")
        raise missing(f"module {module_name!r}", name, f"{torch_prefix}.{name}")
    return __getattr__
