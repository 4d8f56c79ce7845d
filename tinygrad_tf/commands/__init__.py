"""The ``tinygrad-tf`` command (also ``python -m tinygrad_tf``): one module per command group.

    demo.py      demo                         train a small GPT on the embedded corpus, show what it writes
    train.py     train                        GPT, BERT or T5 through the one Trainer (--resume continues any)
    generate.py  generate                     GPT continues, BERT fills [MASK], T5 answers
    models.py    presets, params, compare     sizes from configs alone
    gradcheck    (here)                       every op's analytic gradient (--order 2: second derivatives) against
                                              central differences
    viz.py       attention, summary, graph    readouts and drawings
    exercise.py  exercise                     gradient-checking exercises
    lab.py       lab, runs, show              the Textual app, its saved runs, a component's source

This layer sits on top of everything else and only calls the library; nothing below imports it. A mistake
in the input (bad flags, a bad file, a checkpoint that does not fit, no GPU) is one ``error: ...`` line on
stderr with exit code 2, never a traceback (common.USER_ERRORS).
"""

from __future__ import annotations

import argparse
import sys

from rich.table import Table

from ..opcheck import check_all
from . import demo, exercise, generate, lab, models, train, viz
from .common import USER_ERRORS, console, out_of_memory_message

__all__ = ["main", "build_parser"]


def cmd_gradcheck(args) -> int:
    """Gradcheck every op in float64 and print a table; ``--order 2`` checks second derivatives (gradgradcheck:
    the backward of each op's backward, as ``create_graph=True`` records it, against central differences)."""
    rows = check_all(device=args.device, seed=args.seed, order=args.order)
    what = "gradients" if args.order == 1 else "second derivatives (gradgradcheck)"
    table = Table(title=f"gradcheck: analytic vs central-difference {what} (float64, {args.device})")
    for col in ("op", "input shapes", "max abs error", "result"):
        table.add_column(col)
    for name, shapes, err, ok, msg in rows:
        table.add_row(name, shapes, f"{err:.2e}", "[green]pass[/]" if ok else f"[red]FAIL[/] {msg}")
    console.print(table)
    failed = sum(not r[3] for r in rows)
    console.print(f"{len(rows) - failed} passed, {failed} failed")
    return 1 if failed else 0


def _add_gradcheck(sub) -> dict:
    gc = sub.add_parser("gradcheck", help="gradcheck every op (float64 central differences) and print a table")
    gc.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    gc.add_argument("--seed", type=int, default=0)
    gc.add_argument("--order", type=int, default=1, choices=[1, 2],
                    help="1: first derivatives (gradcheck); 2: second derivatives (gradgradcheck)")
    gc.set_defaults(fn=cmd_gradcheck)
    return {"gradcheck": gc}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tinygrad-tf", description="Deep learning from scratch, to read and to see.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for add in (demo.add_parsers, train.add_parsers, generate.add_parsers, models.add_parsers, _add_gradcheck,
                viz.add_parsers, exercise.add_parsers, lab.add_parsers):
        add(sub)
    return p


def _error(msg) -> None:
    """One line on stderr (plain text: messages can hold brackets that rich would read as markup)."""
    print("error: " + " ".join(str(msg).split()), file=sys.stderr)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "fn", None):
        parser.print_help()
        return 0
    try:
        return args.fn(args) or 0
    except USER_ERRORS as e:
        _error(e)
        return 2
    except OSError as e:          # disk full, permission denied, ... on a path the user gave
        _error(f"{e.strerror or e}: {e.filename}" if getattr(e, "filename", None) else e)
        return 2
    except MemoryError as e:      # --batch-size 100000000, --d-model 1000000, ...
        _error(out_of_memory_message(e))
        return 2
    except FloatingPointError as e:     # a training run that diverged (TrainingDiverged), a loss scale gone to 0
        _error(e)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
