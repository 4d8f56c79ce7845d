"""The ``exercise`` command: ``list``, ``show NAME``, ``start NAME [--out FILE]``, ``check NAME FILE``.

Each subcommand returns its exit code: 0 done / passed, 1 the check found a mistake, 2 bad input (an unknown
exercise, a missing file, a file that exists), reported as one ``error: ...`` line on stderr.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.table import Table
from rich.text import Text

from ..exercises import EXERCISES, check_file, get_exercise
from ..fileio import atomic_write
from .common import UserError, console

DESCRIPTION = ("Gradient-checking exercises: write the forward and backward of an op as a tg.Function in a file "
               "of your own, and let `check` compare it with the real op and with numerical gradients. "
               "Start with: exercise list, exercise start square, exercise check square square.py")


# ---------------------------------------------------------------- the subcommands
def cmd_list(args) -> int:
    table = Table(title="gradient-checking exercises (in order; `exercise show NAME` for one)")
    for col in ("#", "name", "you write", "what it is"):
        table.add_column(col, overflow="fold")
    for n, ex in enumerate(EXERCISES, 1):
        table.add_row(str(n), ex.name, Text(f"class {ex.class_name}(tg.Function)\n{ex.signature}"), Text(ex.statement))
    console.print(table)
    return 0


def cmd_show(args) -> int:
    ex = get_exercise(args.name)

    console.print(Text(f"exercise {ex.name}: {ex.title}", style="bold"))
    console.print(ex.statement, markup=False)
    console.print()
    console.print(Text(ex.formula, style="cyan"))
    console.print()
    console.print(f"you write:  class {ex.class_name}(tg.Function) with {ex.signature}; backward(ctx, grad) returns "
              f"{ex.backward_returns}", markup=False)
    console.print("tried on:   " + "\n            ".join(f"{c.label}: {c.describe()}" for c in ex.cases), markup=False)
    for h in ex.hints:
        console.print(f"hint:       {h}", markup=False)
    console.print(f"the real op (read it after you pass): {ex.reference_location()}", markup=False)
    console.print()
    console.print(Text(f"starter file (`exercise start {ex.name}` writes it):", style="bold"))
    console.print(ex.template(), markup=False, highlight=False, soft_wrap=True)     # exact text: copy-paste safe
    return 0


def write_starter(ex, out: Path, force: bool = False) -> Path:
    """Write the starter file atomically (a temporary file renamed into place); never overwrites an
    existing file unless ``force``. Raises FileExistsError / OSError."""
    out = Path(out)
    if out.is_dir():
        raise IsADirectoryError(f"{out} is a folder; give a file name, e.g. --out {out / (ex.name + '.py')}")
    if out.exists() and not force:
        raise FileExistsError(f"{out} already exists; pass --force to replace it (your work in it would be lost)")
    return atomic_write(out, ex.template())


def cmd_start(args) -> int:
    ex = get_exercise(args.name)
    out = Path(args.out) if args.out else Path(f"{ex.name}.py")
    try:
        write_starter(ex, out, args.force)
    except (FileExistsError, IsADirectoryError) as e:
        raise UserError(str(e)) from None
    except OSError as e:
        raise UserError(f"cannot write {out}: {e.strerror or e}") from None
    print(f"wrote {out}: fill in {ex.class_name}.forward and .backward, then run\n"
          f"    tinygrad-tf exercise check {ex.name} {out}")
    return 0


def cmd_check(args) -> int:
    result = check_file(get_exercise(args.name), args.file, seed=args.seed)
    if result.error is not None:
        raise UserError(result.error)
    console.print(result)
    return result.exit_code


# ---------------------------------------------------------------- wiring
def add_subcommands(parser: argparse.ArgumentParser) -> None:
    """Add list / show / start / check to ``parser`` (the ``exercise`` parser, or a standalone one)."""
    parser.set_defaults(fn=lambda args: parser.print_help() or 0)
    sub = parser.add_subparsers(dest="exercise_command", metavar="SUBCOMMAND")
    p = sub.add_parser("list", help="the exercises, in order", description="List the exercises.")
    p.set_defaults(fn=cmd_list)
    p = sub.add_parser("show", help="an exercise's statement, formula and starter template",
                       description="Show what to write for one exercise: statement, formula, signature, the "
                                   "inputs it is tried on, hints, and a starter template.")
    p.add_argument("name", help="the exercise (see `list`)")
    p.set_defaults(fn=cmd_show)
    p = sub.add_parser("start", help="write a starter file with the class skeleton",
                       description="Write a starter file (default NAME.py in the current folder) with the class "
                                   "skeleton, the statement and the formula. An existing file is never replaced "
                                   "unless --force.")
    p.add_argument("name", help="the exercise (see `list`)")
    p.add_argument("--out", metavar="FILE", help="where to write it (default NAME.py)")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.set_defaults(fn=cmd_start)
    p = sub.add_parser("check", help="check your op: forward vs the real op, backward vs numerical gradients",
                       description="Load FILE, find the exercise's class in it, compare its forward with the real "
                                   "op and gradcheck its backward on several seeded float64 inputs; explain any "
                                   "mismatch. Exit code 0: pass, 1: a mistake found, 2: the file cannot be used.")
    p.add_argument("name", help="the exercise (see `list`)")
    p.add_argument("file", help="your Python file")
    p.add_argument("--seed", type=int, default=0, help="seed for the inputs (default 0)")
    p.set_defaults(fn=cmd_check)


def add_parsers(subparsers) -> dict:
    p = subparsers.add_parser("exercise", help="gradient-checking exercises: write an op, get it checked",
                              description=DESCRIPTION)
    add_subcommands(p)
    return {"exercise": p}
