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
from ..exercises import UnknownExercise
from ..fileio import CheckpointError, atomic_write
from ..lab import RunsError, SpecError
from ..lab.codeview import UnknownComponent
from ..nn.models import BertConfig, ConfigError, GPTConfig, T5Config
from ..text import DataError, TokenizerError

__all__ = ["UserError", "USER_ERRORS", "console", "command", "output_flags", "THREADS_HELP", "limit_blas_threads", "apply_threads",
           "parse_set_args", "parse_ids", "encode_text", "write_or_print", "check_fresh_out", "all_presets",
           "char_vocab", "preset_config"]

console = Console(highlight=False)


class UserError(ValueError):
    """A problem with the command's input: printed as one line, exit code 2."""


# every exception type that means "the input is wrong", not "the program is wrong"
USER_ERRORS = (UserError, DeviceError, DataError, TokenizerError, ConfigError, CheckpointError, SpecError, RunsError,
               UnknownComponent, UnknownExercise)


def command(sub, name: str, fn, help: str, **kwargs):
    """Register the subcommand ``name`` that runs ``fn(args)``: ``help`` is its line in ``tinygrad-tf --help``,
    ``fn``'s docstring its description (one place says what a command does)."""
    kwargs.setdefault("description", inspect.cleandoc(fn.__doc__ or help))
    p = sub.add_parser(name, help=help, **kwargs)
    p.set_defaults(fn=fn)
    return p


def output_flags(p, width: int, device=True) -> None:
    """The flags of a readout: --json [FILE], --svg FILE (a slide) at --width columns, --device."""
    p.add_argument("--json", nargs="?", const="-", metavar="FILE", help="write JSON (to FILE, or stdout)")
    p.add_argument("--svg", metavar="FILE", help="also save what is shown as an SVG (for slides)")
    p.add_argument("--width", type=int, default=width, help=f"SVG width in columns (default {width})")
    if device:
        p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])


# ---------------------------------------------------------------- BLAS threads
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
THREADS_HELP = ("BLAS threads (default 1: fastest for small models, above all on a busy machine; 0 = the library's "
                "default; OMP_NUM_THREADS / OPENBLAS_NUM_THREADS, when set, win)")


def limit_blas_threads(n: int) -> bool:
    """Ask the BLAS library under NumPy to use ``n`` threads; True if it could be done.

    A small model's matrices are small, and a multi-threaded BLAS that shares its cores with anything else
    (a browser, another job) spins and waits: we measured a 4-layer GPT step at 1.1 s with two threads on a
    busy 2-core machine and 0.07 s with one. Uses threadpoolctl when installed, else finds OpenBLAS among
    the loaded libraries (Linux); does nothing if neither works.
    """
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=n, user_api="blas")
        return True
    except ImportError:
        pass
    import ctypes
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    except OSError:
        return False
    done = False
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("openblas_set_num_threads", "openblas_set_num_threads64_", "scipy_openblas_set_num_threads64_",
                     "scipy_openblas_set_num_threads"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn(ctypes.c_int(n))
                done = True
                break
    return done


def apply_threads(args) -> None:
    n = getattr(args, "threads", 0)
    if n and n > 0 and not any(os.environ.get(k) for k in THREAD_ENV):
        limit_blas_threads(n)


# ---------------------------------------------------------------- small parsers
def parse_set_args(pairs, flag="--set", example="a config field, e.g. --set position=rope", strict=False) -> dict:
    """``--set position=rope --set bias=false`` -> {"position": "rope", "bias": False}: values are JSON where they
    parse as JSON, else strings (``strict``: a value that is not JSON is an error)."""
    out = {}
    for pair in pairs or ():
        if "=" not in pair:
            raise UserError(f"{flag} expects KEY=VALUE ({example}), got {pair!r}")
        k, v = (part.strip() for part in pair.split("=", 1))
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
    """A new run must not silently replace a checkpoint (or anything else) already at ``path``."""
    from ..train.checkpoint import check_target, is_checkpoint
    check_target(path)
    if is_checkpoint(path) and not overwrite:
        raise UserError(f"{path} already holds a checkpoint; continue it with --resume {path}, pass --overwrite "
                        "to replace it, or choose another --out")


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
    raise UserError(f"unknown preset {name!r}; known: {', '.join([*TRAIN_PRESETS, *(n for n, _, _ in all_presets())])}")
