"""The ``exercise`` command: ``list``, ``show NAME``, ``start NAME [--out FILE]``, ``check NAME FILE``.

Each subcommand returns its exit code: 0 done / passed, 1 the check found a mistake, 2 bad input (an unknown
exercise, a missing file, a file that exists), reported as one ``error: ...`` line on stderr.
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text

from ..exercises import EXERCISES, check_file, get_exercise
from ..fileio import atomic_write
from .common import UserError, command, console

def cmd_list(args) -> int:
    """List the exercises."""
    table = Table(title="gradient-checking exercises (in order; `exercise show NAME` for one)")
    for col in ("#", "name", "you write", "what it is"):
        table.add_column(col, overflow="fold")
    for n, ex in enumerate(EXERCISES, 1):
        table.add_row(str(n), ex.name, Text(f"class {ex.class_name}(tg.Function)\n{ex.signature}"), Text(ex.statement))
    console.print(table)
    return 0


def cmd_show(args) -> int:
    """Show what to write for one exercise: the statement, the forward's formula, the signature, the inputs it is
    tried on and a starter template. The backward's formula is the exercise, so it is not shown: --hint gives the
    hints, --answer the backward's formula (read it after you have tried)."""
    ex = get_exercise(args.name)

    console.print(Text(f"exercise {ex.name}: {ex.title}", style="bold"))
    console.print(ex.statement, markup=False)
    console.print()
    console.print(Text(ex.formula, style="cyan"))
    console.print()
    console.print(f"you write:  class {ex.class_name}(tg.Function) with {ex.signature}; backward(ctx, grad) returns "
              f"{ex.backward_returns}", markup=False)
    console.print("tried on:   " + "\n            ".join(f"{c.label}: {c.describe()}" for c in ex.cases), markup=False)
    for h in ex.hints if args.hint else ():
        console.print(f"hint:       {h}", markup=False)
    if args.answer:
        console.print(Text("the backward (the answer):", style="bold"))
        console.print(Text(ex.answer, style="cyan"))
    console.print(f"the real op (read it after you pass): {ex.reference_location()}", markup=False)
    if args.hint or args.answer:
        return 0
    console.print(Text(f"stuck? `exercise show {ex.name} --hint` gives {len(ex.hints)} hint"
                       f"{'s' if len(ex.hints) != 1 else ''}, `--answer` the backward's formula", style="dim"))
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
    """Write a starter file (default NAME.py in the current folder) with the class skeleton, the statement and
    the formula. An existing file is never replaced unless --force."""
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
    """Load FILE, find the exercise's class in it, compare its forward with the real op and gradcheck its
    backward on several seeded float64 inputs; explain any mismatch. Exit code 0: pass, 1: a mistake found,
    2: the file cannot be used."""
    result = check_file(get_exercise(args.name), args.file, seed=args.seed)
    if result.error is not None:
        raise UserError(result.error)
    console.print(result)
    return result.exit_code


# ---------------------------------------------------------------- wiring
def cmd_exercise(args) -> int:
    """Gradient-checking exercises: write the forward and backward of an op as a tg.Function in a file of your
    own, and let `check` compare it with the real op and with numerical gradients. Start with: exercise list,
    exercise start square, exercise check square square.py"""
    args.exercise_parser.print_help()
    return 0


def add_parsers(subparsers) -> dict:
    parser = command(subparsers, "exercise", cmd_exercise, "gradient-checking exercises: write an op, get it checked")
    parser.set_defaults(exercise_parser=parser)
    sub = parser.add_subparsers(dest="exercise_command", metavar="SUBCOMMAND")
    command(sub, "list", cmd_list, "the exercises, in order")
    p = command(sub, "show", cmd_show, "an exercise's statement, forward formula and starter template")
    p.add_argument("name", help="the exercise (see `list`)")
    p.add_argument("--hint", action="store_true", help="show the hints (not the starter file)")
    p.add_argument("--answer", action="store_true", help="show the backward's formula: the answer (read it after "
                                                        "you have tried)")
    p = command(sub, "start", cmd_start, "write a starter file with the class skeleton")
    p.add_argument("name", help="the exercise (see `list`)")
    p.add_argument("--out", metavar="FILE", help="where to write it (default NAME.py)")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p = command(sub, "check", cmd_check, "check your op: forward vs the real op, backward vs numerical gradients")
    p.add_argument("name", help="the exercise (see `list`)")
    p.add_argument("file", help="your Python file")
    p.add_argument("--seed", type=int, default=0, help="seed for the inputs (default 0)")
    return {"exercise": parser}
