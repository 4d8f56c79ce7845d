"""What the command modules share: the one user-error type, the console, BLAS threads, and small parsers.

A command is ``cmd_NAME(args) -> exit code``. A mistake in the input raises ``UserError`` — or one of the
library's own error types in ``USER_ERRORS`` (a bad config, an unusable checkpoint, no GPU, ...) — and
``tinygrad_tf.commands.main`` prints it as one ``error: ...`` line on stderr with exit code 2, never a
traceback.
"""

from __future__ import annotations

import inspect
import json
import os
import sys

from rich.console import Console

from ..backend import DeviceError
from ..distributed import DistError
from ..exercises import UnknownExercise
from ..fileio import CheckpointError, atomic_write
from ..lab import RunsError, SpecError, WebError
from ..lab.codeview import UnknownComponent
from ..nn.models import BertConfig, ConfigError, GPTConfig, T5Config
from ..parallel_cpu import set_blas_threads
from ..parallel_cpu import set_num_threads as set_elementwise_threads
from ..text import DataError, TokenizerError
from ..viz.figures import PlotsUnavailable, require_matplotlib, save_figure

__all__ = ["UserError", "USER_ERRORS", "console", "command", "output_flags", "figure_paths", "write_figures",
           "FIGURE_FORMATS", "THREADS_HELP", "limit_blas_threads", "apply_threads",
           "parse_set_args", "parse_ids", "encode_text", "write_or_print", "check_fresh_out", "all_presets",
           "char_vocab", "preset_config", "unknown_preset", "memory_available", "out_of_memory_message",
           "load_pretrained", "one_source"]

console = Console(highlight=False)


class UserError(ValueError):
    """A problem with the command's input: printed as one line, exit code 2."""


# every exception type that means "the input is wrong", not "the program is wrong"
USER_ERRORS = (UserError, DeviceError, DataError, TokenizerError, ConfigError, CheckpointError, SpecError, RunsError,
               UnknownComponent, UnknownExercise, WebError, DistError)


def command(sub, name: str, fn, help: str, **kwargs):
    """Register the subcommand ``name`` that runs ``fn(args)``: ``help`` is its line in ``tinygrad-tf --help``,
    ``fn``'s docstring its description (one place says what a command does)."""
    kwargs.setdefault("description", inspect.cleandoc(fn.__doc__ or help))
    p = sub.add_parser(name, help=help, **kwargs)
    p.set_defaults(fn=fn)
    return p


def output_flags(p, width: int, device=True) -> None:
    """The flags of a readout: --json [FILE]; --svg / --png / --pdf FILE (a matplotlib figure, for slides);
    --terminal-svg FILE (what the terminal shows, as SVG, at --width columns); --device."""
    p.add_argument("--json", nargs="?", const="-", metavar="FILE", help="write JSON (to FILE, or stdout)")
    for fmt in FIGURE_FORMATS:
        p.add_argument(f"--{fmt}", metavar="FILE", help=f"also save a figure of it as {fmt.upper()} (for slides; "
                                                        "needs matplotlib: pip install -e \".[plots]\")")
    p.add_argument("--terminal-svg", metavar="FILE", help="also save what the terminal shows as an SVG")
    p.add_argument("--width", type=int, default=width, help=f"--terminal-svg width in columns (default {width})")
    if device:
        p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])


FIGURE_FORMATS = ("svg", "png", "pdf")


def figure_paths(args) -> list[tuple[str, str]]:
    """(format, path) of each figure flag given; checked before any work: the extension matches the flag, and
    matplotlib is installed (else one line saying how to install the [plots] extra)."""
    paths = [(fmt, getattr(args, fmt)) for fmt in FIGURE_FORMATS if getattr(args, fmt, None)]
    for fmt, path in paths:
        ext = os.path.splitext(path)[1].lower()
        if ext != "." + fmt:
            raise UserError(f"--{fmt} {path}: the file name must end in .{fmt}")
    if paths:
        try:
            require_matplotlib()
        except PlotsUnavailable as e:
            raise UserError(f"--{paths[0][0]}: {e}") from None
    return paths


def write_figures(paths, make_figure) -> None:
    """Draw ``make_figure()`` once and write it to every (format, path) of ``figure_paths``; says what it wrote."""
    if not paths:
        return
    fig = make_figure()
    for fmt, path in paths:
        print(f"wrote {save_figure(fig, path, format=fmt)}", file=sys.stderr)


# ---------------------------------------------------------------- BLAS threads
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
THREADS_HELP = ("BLAS and elementwise threads (default 1: fastest for small models, above all on a busy machine; 0 = "
                "the libraries' default, every core; OMP_NUM_THREADS / OPENBLAS_NUM_THREADS, when set, win)")


def limit_blas_threads(n: int) -> bool:
    """Ask the BLAS library under NumPy to use ``n`` threads; True if it could be done.

    A small model's matrices are small, and a multi-threaded BLAS that shares its cores with anything else
    (a browser, another job) spins and waits: we measured a 4-layer GPT step at 1.1 s with two threads on a
    busy 2-core machine and 0.07 s with one. threadpoolctl, when installed, sets every BLAS in the process;
    else parallel_cpu.set_blas_threads finds NumPy's OpenBLAS; nothing happens if neither works.
    """
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=n, user_api="blas")
        return True
    except ImportError:
        return set_blas_threads(n) is not None


def apply_threads(args) -> None:
    """``--threads N`` for the BLAS and for the elementwise work (tinygrad_tf.parallel_cpu), unless the
    environment already says."""
    n = getattr(args, "threads", 0)
    if n and n > 0 and not any(os.environ.get(k) for k in THREAD_ENV + ("TINYGRAD_TF_NUM_THREADS",)):
        limit_blas_threads(n)
        set_elementwise_threads(n)


# ---------------------------------------------------------------- small parsers
def parse_set_args(pairs, flag="--set", example="a config field, e.g. --set position=rope", strict=False,
                   raw=False) -> dict:
    """``--var a=2 --var b=[1,2]`` -> {"a": 2, "b": [1, 2]}: values are JSON where they parse as JSON, else
    strings (``strict``: a value that is not JSON is an error). ``raw``: every value stays the string it was
    (``--set``: TrainConfig parses each by its config field's type, so ``bias=False`` is the boolean False)."""
    out = {}
    for pair in pairs or ():
        if "=" not in pair:
            raise UserError(f"{flag} expects KEY=VALUE ({example}), got {pair!r}")
        k, v = (part.strip() for part in pair.split("=", 1))
        if not k:
            raise UserError(f"{flag} expects KEY=VALUE ({example}), got {pair!r}")
        if k in out:
            raise UserError(f"{flag} {k} is given twice ({out[k]!r} and {v!r}); give it once")
        if raw:
            out[k] = v
            continue
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            if strict:
                raise UserError(f"{flag} {k}: {v!r} is not a number or a JSON list") from None
            out[k] = v
    return out


def parse_ids(s: str) -> list[int]:
    try:
        return [int(x) for x in s.replace(",", " ").split()]
    except ValueError:
        raise UserError(f"--ids expects integers separated by commas or spaces, got {s!r}") from None


def encode_text(tokenizer, text: str, what: str = "--text", where: str = "this checkpoint") -> list[int]:
    """Token ids of text a user typed; a character tokenizer's unknown characters are one clear error."""
    if tokenizer is None:
        raise UserError(f"{where} has no tokenizer.json, so {what} cannot be encoded"
                        + ("; pass --ids instead" if what == "--text" else ""))
    known = getattr(tokenizer, "char_to_id", None)
    if known is not None:               # a character tokenizer knows only the characters of its training text
        unknown = sorted({ch for ch in text if ch not in known})
        if unknown:
            shown = ", ".join(repr(ch) for ch in unknown[:8]) + (" ..." if len(unknown) > 8 else "")
            raise UserError(f"{what} has {len(unknown)} character(s) the checkpoint's character tokenizer does not "
                            f"know: {shown} (it knows only the {tokenizer.vocab_size} characters of its training "
                            "text)")
    ids = tokenizer.encode(text)
    if not ids:
        raise UserError(f"{what} encodes to no tokens")
    return ids


def write_or_print(text: str, path) -> None:
    """``--json [FILE]``: to stdout, or to FILE (atomically)."""
    if path in (None, "-"):
        sys.stdout.write(text + "\n")
    else:
        atomic_write(path, text + "\n")
        print(f"wrote {path}", file=sys.stderr)


def check_fresh_out(path, overwrite=False) -> None:
    """A new run must not silently replace a checkpoint (or anything else) already at ``path`` — nor the whole
    previous checkpoint that a save killed mid-swap left at ``.NAME.old-PID`` while ``path`` is missing."""
    from ..train.checkpoint import check_target, is_checkpoint, stale_checkpoint
    check_target(path)
    if is_checkpoint(path) and not overwrite:
        raise UserError(f"{path} already holds a checkpoint; continue it with --resume {path}, pass --overwrite "
                        "to replace it, or choose another --out")
    stale = stale_checkpoint(path)
    if stale is not None and not overwrite:
        raise UserError(f"{path} is missing, but the checkpoint it held is whole at {stale} (a save was killed "
                        f"mid-way); continue it with --resume {path}, pass --overwrite to replace it, or choose "
                        "another --out")


# ---------------------------------------------------------------- --hf NAME_OR_DIR
HF_HELP = ("a pretrained Hugging Face model: a Hub name (gpt2, bert-base-uncased, google/flan-t5-small; downloaded "
           "once into the Hub cache, HF_HUB_OFFLINE=1 reads only the cache) or a local folder")


def one_source(args, *flags, what="a model") -> str:
    """The one of ``flags`` ("checkpoint", "preset", "hf", ...) that was given: exactly one must be."""
    given = [f for f in flags if getattr(args, f, None)]
    if len(given) != 1:
        names = " or ".join(f"--{f}" for f in flags)
        raise UserError(f"give {what} with one of {names}" + (f" (not {len(given)} of them)" if given else ""))
    return given[0]


def load_pretrained(name, device="cpu"):
    """``--hf NAME_OR_DIR``: a Checkpoint-like record (path, model, config, tokenizer or None, no training state)
    of a pretrained Hugging Face model and its tokenizer.json."""
    from ..nn.models import load_hf, resolve_pretrained
    from ..text import load_tokenizer
    from ..text.tokenizer_json import tokenizer_json_path
    from ..train.checkpoint import Checkpoint
    folder = resolve_pretrained(name)
    model = load_hf(folder, device=device)
    tok_folder = folder if folder.is_dir() else folder.parent
    tok = load_tokenizer(tok_folder) if tokenizer_json_path(tok_folder) is not None else None
    return Checkpoint(path=folder, model=model, config=model.config, tokenizer=tok, trainer_state=None,
                      optimizer_state=None)


# ---------------------------------------------------------------- presets
def all_presets() -> list:
    """[(name, family, config class)] for every published-architecture preset (GPT, BERT, T5)."""
    return [(n, cls.model_type, cls) for cls in (GPTConfig, BertConfig, T5Config) for n in cls.presets()]


def char_vocab() -> int:
    """The character vocabulary of the default corpus (what a small GPT preset trains with)."""
    from ..text import CharTokenizer, default_corpus
    try:
        return CharTokenizer.train(default_corpus()).vocab_size
    except DataError:
        return 100


def preset_config(name: str, vocab_size: int | None = None):
    """The model config of a preset of any family; training sizes (tiny, demo, small) get the default
    corpus's character vocabulary unless ``vocab_size``."""
    from ..train import TRAIN_PRESETS, TrainConfig
    for _, _, cls in all_presets():
        if name in cls.PRESETS:
            return cls.preset(name, **({"vocab_size": vocab_size} if vocab_size else {}))
    if name in TRAIN_PRESETS:
        return TrainConfig(preset=name).model_config(vocab_size or char_vocab())
    raise UserError(unknown_preset(name, [*TRAIN_PRESETS, *(n for n, _, _ in all_presets())]))


def unknown_preset(name, valid, what="preset") -> str:
    """"unknown preset 'gpt2-smal'; did you mean 'gpt2-small'? valid: ..." (difflib's closest names)."""
    import difflib
    close = difflib.get_close_matches(str(name), list(valid), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown {what} {name!r}{hint} (valid: {', '.join(valid)})"


# ---------------------------------------------------------------- memory
def _gib(n: float) -> str:
    for unit, div in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n / 2**10:.0f} KiB"


def memory_available() -> tuple:
    """(available, total) bytes of RAM: from psutil when it is installed, else /proc/meminfo (Linux), else
    os.sysconf; None for what cannot be told."""
    try:
        import psutil
        vm = psutil.virtual_memory()
        return vm.available, vm.total
    except Exception:  # noqa: BLE001  (not installed, or no access)
        pass
    try:
        with open("/proc/meminfo") as f:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f if line.split()[1:2]}
        return info.get("MemAvailable", info.get("MemFree")), info.get("MemTotal")
    except (OSError, ValueError, IndexError):
        pass
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        return os.sysconf("SC_AVPHYS_PAGES") * page, os.sysconf("SC_PHYS_PAGES") * page
    except (ValueError, OSError, AttributeError):
        return None, None


def out_of_memory_message(e: MemoryError) -> str:
    """One line for a MemoryError: what was asked for (NumPy says: the size, shape and dtype) and what the
    machine has, with the flags that make a model or a batch smaller."""
    asked = getattr(e, "_total_size", None)
    shape, dtype = getattr(e, "shape", None), getattr(e, "dtype", None)
    what = (f"{_gib(asked)} was asked for" if asked else " ".join(str(e).split()) or "an allocation failed") + \
        (f" (an array of shape {tuple(shape)}, {dtype})" if shape is not None and dtype is not None else "")
    avail, total = memory_available()
    have = (f"; the machine has {_gib(avail)} available of {_gib(total)}" if avail and total else
            f"; the machine has {_gib(total)}" if total else "")
    return (f"out of memory: {what}{have}; use a smaller --batch-size, --context, --d-model or --n-layer "
            "(tinygrad-tf params counts a model's size first)")
