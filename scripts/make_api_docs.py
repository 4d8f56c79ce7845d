"""Generate docs/api.md, the API reference, from the public names' signatures and docstrings.

    python scripts/make_api_docs.py            # rewrite docs/api.md
    python scripts/make_api_docs.py --check    # exit 1 if docs/api.md is not what this would write

Each public name gets its signature (``inspect.signature``) and the first paragraph of its own docstring;
classes also list their own public methods and properties. The public names of a module are its
``__all__`` (or, where it has none, the functions and classes it defines); ``tinygrad_tf`` itself exports
the engine. The output is deterministic (no memory addresses, no dates, a fixed order), so
tests/test_api_docs.py can regenerate it and compare: a docstring or signature that changes without
rerunning this script fails the suite, and the reference cannot go stale.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import re
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "api.md"

# (module, what it is) in the order they appear; "tinygrad_tf.Tensor" is the class, member by member
SECTIONS = [
    ("tinygrad_tf", "the engine: tensors, factories, autograd switches, gradcheck, dtypes, devices"),
    ("tinygrad_tf.Tensor", "the tensor: data, gradient, graph node, and its methods"),
    ("tinygrad_tf.autograd", "as torch.autograd: grad(), backward(), create_graph for higher-order gradients"),
    ("tinygrad_tf.autograd.functional", "as torch.autograd.functional: jacobian, hessian, vjp, jvp, hvp, vhp"),
    ("tinygrad_tf.cuda", "the GPU, as torch.cuda: availability, seeding, synchronising"),
    ("tinygrad_tf.linalg", "linear algebra, as torch.linalg: norms, inv, det, slogdet, solve"),
    ("tinygrad_tf.testing", "assert_close, as torch.testing"),
    ("tinygrad_tf.nn", "layers built only from Tensor ops, shaped like torch.nn"),
    ("tinygrad_tf.nn.functional", "the layers as plain functions (import it as F)"),
    ("tinygrad_tf.nn.init", "weight initialisers"),
    ("tinygrad_tf.nn.utils", "gradient clipping, parameters as one vector"),
    ("tinygrad_tf.nn.utils.rnn", "padded and packed sequences for the recurrent layers"),
    ("tinygrad_tf.nn.models", "GPT, BERT, T5, their configs, checkpoints, Hugging Face interop"),
    ("tinygrad_tf.optim", "optimizers, shaped like torch.optim"),
    ("tinygrad_tf.optim.lr_scheduler", "learning-rate schedules, as torch.optim.lr_scheduler"),
    ("tinygrad_tf.utils.data", "datasets, samplers and the DataLoader, as torch.utils.data"),
    ("tinygrad_tf.distributed", "process groups on MPI / NCCL, collectives, DistributedDataParallel, as "
                                "torch.distributed"),
    ("tinygrad_tf.text", "tokenizers and corpora"),
    ("tinygrad_tf.train", "the GPT training loop, data batching, checkpoints"),
    ("tinygrad_tf.train.mlm", "masked-LM training for BERT, fill-mask"),
    ("tinygrad_tf.train.seq2seq", "seq2seq toy tasks for T5, exact match"),
    ("tinygrad_tf.viz", "graphs (Graphviz), rich readouts (also in Jupyter), the backward-pass player"),
    ("tinygrad_tf.viz.figures", "figures for slides and papers (matplotlib, the [plots] extra)"),
]

# Tensor's Python operators, shown as symbols
OPERATORS = [("__add__", "+"), ("__sub__", "-"), ("__mul__", "*"), ("__truediv__", "/"), ("__pow__", "**"),
             ("__matmul__", "@"), ("__neg__", "-x"), ("__eq__", "=="), ("__ne__", "!="), ("__lt__", "<"),
             ("__le__", "<="), ("__gt__", ">"), ("__ge__", ">="), ("__getitem__", "t[i]"),
             ("__setitem__", "t[i] = v"), ("__len__", "len(t)"), ("__iter__", "iter(t)")]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
WIDTH = 100          # longer signatures are written one parameter per line


# ---------------------------------------------------------------- which names are public
def _defined_here(module, obj) -> bool:
    return getattr(obj, "__module__", None) == module.__name__


def tensor_classes() -> list:
    """Tensor and the class it inherits its ops from (tensor_ops.TensorOps): one section, Tensor's own members first."""
    from tinygrad_tf import Tensor
    return [c for c in Tensor.__mro__ if c.__module__.startswith("tinygrad_tf")]


def public_names(module_name: str) -> list[str]:
    """The documented names of a section: ``__all__``; else the public functions and classes defined there;
    for the package itself, what it exports other than sub-modules; for the Tensor class, its members."""
    if module_name == "tinygrad_tf.Tensor":
        return [n for c in tensor_classes() for n in vars(c) if not n.startswith("_")]
    module = importlib.import_module(module_name)
    if module_name == "tinygrad_tf":
        return sorted(n for n, v in vars(module).items()
                      if not n.startswith("_") and not isinstance(v, types.ModuleType))
    names = getattr(module, "__all__", None)
    if names is not None:
        return [n for n in names if not isinstance(getattr(module, n), types.ModuleType)]
    return sorted(n for n, v in vars(module).items()
                  if not n.startswith("_") and (inspect.isfunction(v) or inspect.isclass(v)) and _defined_here(module, v))


# ---------------------------------------------------------------- formatting pieces
class _Text:
    """An annotation or default shown as written (no quotes around postponed annotations)."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def _clean_param(p: inspect.Parameter) -> inspect.Parameter:
    ann = p.annotation
    if isinstance(ann, str):
        ann = _Text(ann)
    elif ann is not inspect.Parameter.empty and not isinstance(ann, type):
        ann = _Text(_ADDRESS.sub("", str(ann)).replace("typing.", ""))
    default = p.default
    if default is not inspect.Parameter.empty:
        default = _Text(_value_text(default))
    return p.replace(annotation=ann, default=default)


def _value_text(value) -> str:
    """A default value as code: classes by name (``np.float32``), everything else by repr, no addresses."""
    if inspect.isclass(value):
        module = {"numpy": "np", "builtins": ""}.get(value.__module__, value.__module__)
        return f"{module}.{value.__qualname__}" if module else value.__qualname__
    return _ADDRESS.sub("", repr(value))


def _format_params(params) -> list[str]:
    """The parameter list as Signature.__str__ writes it, one string per item (with the / and * markers)."""
    out, pos_only, kw_marker = [], False, True
    for p in params:
        if p.kind == p.POSITIONAL_ONLY:
            pos_only = True
        elif pos_only:
            out.append("/")
            pos_only = False
        if p.kind == p.VAR_POSITIONAL:
            kw_marker = False
        elif p.kind == p.KEYWORD_ONLY and kw_marker:
            out.append("*")
            kw_marker = False
        out.append(str(p))
    if pos_only:
        out.append("/")
    return out


def signature(obj, name: str, wrap: bool = True) -> str | None:
    """``name(params) -> return``, or None where Python cannot tell (builtins, exceptions). A signature
    longer than WIDTH is written one parameter per line (unless ``wrap`` is False)."""
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return None
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    params = [_clean_param(p) for p in sig.parameters.values()]
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj):       # show default_factory=list as list()
        factories = {f.name: f.default_factory for f in dataclasses.fields(obj)
                     if f.default_factory is not dataclasses.MISSING}
        params = [p.replace(default=_Text(f"{getattr(factories[p.name], '__name__', 'factory')}()"))
                  if p.name in factories else p for p in params]
    ret = sig.return_annotation
    if ret is inspect.Signature.empty or (inspect.isclass(obj) and ret in (None, "None")):
        ret_text = ""
    elif isinstance(ret, str):
        ret_text = f" -> {ret}"
    elif isinstance(ret, type):
        ret_text = f" -> {_value_text(ret)}"
    else:
        ret_text = f" -> {_ADDRESS.sub('', str(ret)).replace('typing.', '')}"
    items = _format_params(params)
    one_line = f"{name}({', '.join(items)}){ret_text}"
    if len(one_line) <= WIDTH or not wrap:
        return one_line
    return f"{name}(\n" + "".join(f"    {item},\n" for item in items) + f"){ret_text}"


def own_doc(obj) -> str:
    """The object's own docstring (not one inherited from a base class), cleaned; '' if none."""
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__")
        if dataclasses.is_dataclass(obj) and doc and doc.startswith(obj.__name__ + "("):
            doc = None                       # the signature dataclass writes when there is no docstring
    elif isinstance(obj, (property, staticmethod, classmethod)):
        doc = getattr(obj, "__doc__", None) if isinstance(obj, property) else getattr(obj.__func__, "__doc__", None)
    else:
        doc = getattr(obj, "__doc__", None)
    return inspect.cleandoc(doc) if isinstance(doc, str) else ""


def first_paragraph(doc: str) -> str:
    """The docstring up to its first blank line, as one line of Markdown."""
    para = []
    for line in doc.strip().splitlines():
        if not line.strip():
            break
        para.append(line.strip())
    return _ADDRESS.sub("", " ".join(para))


def doc_lines(doc: str) -> list[str]:
    """The first paragraph; when it ends with a colon (it introduces a list), the next one too, verbatim."""
    para = first_paragraph(doc)
    if not para:
        return []
    out = [para, ""]
    if para.endswith(":"):
        rest = doc.strip().split("\n\n", 2)
        if len(rest) > 1 and rest[1].strip():
            out += ["```text", *[line.rstrip() for line in rest[1].strip("\n").splitlines()], "```", ""]
    return out


def _kind(obj) -> str:
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            bases = ", ".join(b.__name__ for b in obj.__bases__)
            return f"exception ({bases})"
        return "dataclass" if dataclasses.is_dataclass(obj) else "class"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj) or inspect.ismethod(obj):
        return "function"
    return "value"


def _describe_value(obj) -> str:
    """A short, deterministic description of a constant."""
    if isinstance(obj, (bool, int, float, str)) or obj is None:
        return f"`{obj!r}`"
    if isinstance(obj, (tuple, list, frozenset, set)) and len(repr(obj)) <= 120 and "0x" not in repr(obj):
        return f"`{obj!r}`"
    if isinstance(obj, dict):
        keys = ", ".join(f"`{k}`" for k in list(obj)[:20]) + (", ..." if len(obj) > 20 else "")
        return f"a dict of {len(obj)}: {keys}"
    if isinstance(obj, types.SimpleNamespace):
        return "a namespace of " + ", ".join(f"`{k}`" for k in vars(obj))
    try:
        import numpy as np
        if isinstance(obj, np.dtype):
            return f"the dtype `{obj}`"
    except ImportError:  # pragma: no cover
        pass
    return f"a `{type(obj).__name__}`"


# ---------------------------------------------------------------- entries
def _member_lines(cls) -> list[str]:
    """Bullets for a class's own public methods and properties, in definition order (those of a private
    base class, like containers._Numbered, count as its own)."""
    lines = []
    members = {}
    for c in [cls] + [b for b in cls.__mro__[1:] if b.__name__.startswith("_")]:
        members.update((k, v) for k, v in vars(c).items() if k not in members)
    for name, attr in members.items():
        if name.startswith("_") or name == "extra_repr":
            continue
        if isinstance(attr, property):
            text = f"- `{name}` (property)"
            doc = first_paragraph(own_doc(attr))
        elif isinstance(attr, (staticmethod, classmethod)):
            fn = attr.__func__
            sig = signature(fn, name, wrap=False)
            if sig and isinstance(attr, classmethod):
                sig = re.sub(r"^(\w+)\(cls,? ?", r"\1(", sig)
            text = f"- `{sig or name}` ({'classmethod' if isinstance(attr, classmethod) else 'staticmethod'})"
            doc = first_paragraph(own_doc(fn))
        elif inspect.isfunction(attr):
            sig = signature(attr, name, wrap=False)
            if sig:
                sig = re.sub(r"^(\w+)\(self,? ?", r"\1(", sig)
            text = f"- `{sig or name}`"
            doc = first_paragraph(own_doc(attr))
        elif type(attr).__name__ == "member_descriptor":
            text, doc = f"- `{name}` (attribute)", ""
        else:
            continue
        lines.append(text + (f" — {doc}" if doc else ""))
    return lines


def entry(name: str, obj) -> list[str]:
    """The Markdown for one public name."""
    kind = _kind(obj)
    out = [f"### `{name}`", ""]
    if kind == "value":
        out += [_describe_value(obj), ""]
        return out
    if kind.startswith("exception"):
        bases = ", ".join(f"`{b.__name__}`" for b in obj.__bases__)
        out += [f"*exception*, a subclass of {bases}.", ""]
    elif kind != "function":
        out += [f"*{kind}*", ""]
    sig = signature(obj, name)
    if sig is not None:
        out += ["```text", sig, "```", ""]
    out += doc_lines(own_doc(obj))
    if inspect.isclass(obj) and not issubclass(obj, BaseException):
        members = _member_lines(obj)
        if members:
            out += members + [""]
    return out


def tensor_section() -> list[str]:
    """The Tensor class: constructor, operators, then every public member."""
    from tinygrad_tf import Tensor
    out = ["```text", signature(Tensor, "Tensor"), "```", ""]
    doc = first_paragraph(own_doc(Tensor)) or first_paragraph(own_doc(sys.modules[Tensor.__module__]))
    if doc:
        out += [doc, ""]
    ops = [sym for dunder, sym in OPERATORS if any(dunder in vars(c) for c in tensor_classes())]
    if ops:
        out += ["Python operators: " + "  ".join(f"`{s}`" for s in ops), ""]
    out += [line for c in tensor_classes() for line in _member_lines(c)] + [""]
    return out


def module_link(module_name: str) -> str:
    module = importlib.import_module(module_name)
    path = Path(module.__file__).resolve().relative_to(ROOT)
    return f"[`{path.as_posix()}`](../{path.as_posix()})"


def render() -> str:
    """The whole of docs/api.md, as a string."""
    lines = ["# API reference", "",
             "Every public name of tinygrad_tf, with its signature and the first paragraph of its docstring,",
             "grouped by module. Generated by [`scripts/make_api_docs.py`](../scripts/make_api_docs.py) — do",
             "not edit by hand: change the docstring and rerun the script (`tests/test_api_docs.py` fails",
             "while this page and the code disagree). The lessons ([index](index.md)) show these names at work.",
             ""]
    for module_name, what in SECTIONS:
        lines.append(f"- [`{module_name}`](#{_anchor(module_name)}): {what}")
    lines.append("")
    for module_name, what in SECTIONS:
        lines += [f"## `{module_name}`", ""]
        if module_name == "tinygrad_tf.Tensor":
            lines += [f"{what[0].upper()}{what[1:]}. Defined in {module_link('tinygrad_tf.tensor')}.", ""]
            lines += tensor_section()
            continue
        module = importlib.import_module(module_name)
        summary = first_paragraph(own_doc(module)) or f"{what[0].upper()}{what[1:]}."
        lines += [f"{summary} Source: {module_link(module_name)}.", ""]
        names = public_names(module_name)
        if module_name == "tinygrad_tf":
            dtypes = [n for n in names if _is_dtype(getattr(module, n))]
            lines += ["dtypes: " + ", ".join(f"`tg.{n}` ({getattr(module, n)})" for n in dtypes), ""]
            names = [n for n in names if n not in dtypes]
        twins = [n for n in names if _is_twin(n, getattr(module, n))]
        if twins:
            lines += ["Module-level twins of Tensor methods (`tg.exp(x, ...)` is `x.exp(...)`, as `torch.exp`): "
                      + ", ".join(f"`{n}`" for n in twins) + ".", ""]
        for name in names:
            obj = getattr(module, name)
            if name in twins:
                continue
            if module_name == "tinygrad_tf" and name == "Tensor":
                lines += ["### `Tensor`", "", "*class* — see [`tinygrad_tf.Tensor`](#tinygrad_tftensor) below.", ""]
                continue
            lines += entry(name, obj)
    text = "\n".join(lines).rstrip() + "\n"
    return re.sub(r"\n{3,}", "\n\n", text)


def _is_twin(name: str, obj) -> bool:
    """``tg.exp`` and friends: generated functions whose docstring says they are a Tensor method."""
    doc = getattr(obj, "__doc__", None) or ""
    return inspect.isfunction(obj) and doc.startswith(f"``tg.{name}(x, ...)`` is ``x.{name}(")


def _is_dtype(obj) -> bool:
    import numpy as np
    return isinstance(obj, np.dtype)


def _anchor(module_name: str) -> str:
    """GitHub's heading anchor for ``## `module_name` ``: lower case, punctuation dropped."""
    return re.sub(r"[^a-z0-9_\- ]", "", module_name.lower()).replace(" ", "-")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/api.md is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(ROOT)} is out of date: run python scripts/make_api_docs.py")
            return 1
        print(f"{OUTPUT.relative_to(ROOT)} is up to date")
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    n = text.count("\n### ")
    print(f"wrote {OUTPUT.relative_to(ROOT)}: {n} names in {len(SECTIONS)} sections")
    return 0


if __name__ == "__main__":
    sys.exit(main())
