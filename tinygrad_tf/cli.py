"""The ``tinygrad-tf`` command (also ``python -m tinygrad_tf``): a dispatcher.

    tinygrad-tf demo                       train a small character-level GPT on the embedded corpus, show samples
    tinygrad-tf train --steps 2000 --out runs/mine     (--resume runs/mine to continue it bit for bit)
    tinygrad-tf train --model bert | --model t5 --task reverse
    tinygrad-tf generate --checkpoint runs/mine --prompt "def "
    tinygrad-tf presets | params --preset gpt2 | compare gpt2 llama-7b | gradcheck | demo --engine

The commands live with what they drive, each module registering its own parsers with ``add_parsers(sub)``:
train/commands.py (demo, train, generate, presets, params, compare), viz/commands.py (attention, summary,
graph), exercises/commands.py (exercise), lab/commands.py (lab, runs, show). Only ``gradcheck`` (the bare
engine) is here, so it runs even when a higher layer cannot load. Errors a user can cause (bad files, bad
flags, a checkpoint that does not fit, no GPU) are printed as one line on stderr with exit code 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

COMMAND_MODULES = ("tinygrad_tf.train.commands", "tinygrad_tf.viz.commands", "tinygrad_tf.exercises.commands",
                   "tinygrad_tf.lab.commands")


def limit_blas_threads(n: int) -> bool:
    """Ask the BLAS library under NumPy to use ``n`` threads (see train/commands.py); True if it could."""
    from .train.commands import limit_blas_threads as limit
    return limit(n)


def _user_errors() -> tuple:
    """Exception types that mean "the input is wrong", not "the program is wrong"."""
    from .backend import DeviceError
    from .text import DataError, TokenizerError
    types = [DeviceError, DataError, TokenizerError]
    for module, names in (("tinygrad_tf.train.commands", ("UserError",)),
                          ("tinygrad_tf.train.integrity", ("IntegrityError",)),
                          ("tinygrad_tf.nn.models", ("CheckpointError", "ConfigError"))):
        try:                      # a package that cannot load: the commands that need it cannot run either
            m = importlib.import_module(module)
        except ImportError:
            continue
        types += [getattr(m, n) for n in names]
    return tuple(types)


# ---------------------------------------------------------------- gradcheck
def cmd_gradcheck(args) -> int:
    """Gradcheck every op in float64 and print a table."""
    from rich.console import Console
    from rich.table import Table

    from .opcheck import check_all

    console = Console(highlight=False)
    rows = check_all(device=args.device, seed=args.seed)
    table = Table(title=f"gradcheck: analytic vs central-difference gradients (float64, {args.device})")
    for col in ("op", "input shapes", "max abs error", "result"):
        table.add_column(col)
    for name, shapes, err, ok, msg in rows:
        table.add_row(name, shapes, f"{err:.2e}", "[green]pass[/]" if ok else f"[red]FAIL[/] {msg}")
    console.print(table)
    failed = sum(not r[3] for r in rows)
    console.print(f"{len(rows) - failed} passed, {failed} failed")
    return 1 if failed else 0


def _add_gradcheck(sub) -> None:
    gc = sub.add_parser("gradcheck", help="gradcheck every op (float64 central differences) and print a table")
    gc.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    gc.add_argument("--seed", type=int, default=0)
    gc.set_defaults(fn=cmd_gradcheck)


# ---------------------------------------------------------------- wiring
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tinygrad-tf", description="Deep learning from scratch, to read and to see.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        try:
            add_parsers = importlib.import_module(module).add_parsers
        except ImportError as e:     # an optional piece that cannot load here: the rest of the CLI still works
            print(f"warning: {module} is unavailable ({e}); its commands are missing", file=sys.stderr)
        else:
            add_parsers(sub)
        if module == "tinygrad_tf.train.commands":
            _add_gradcheck(sub)      # listed after the training commands, before the readouts
    _install_dashboard()
    return p


def _install_dashboard() -> None:
    """Show GPT training with viz's live dashboard and save its loss curve (loss_curve.svg) in the
    checkpoint. train/commands.py runs plain progress by default: train sits below viz and never imports it."""
    try:
        from .train import commands as train_commands
        from .viz.dashboard import dashboard_callbacks, save_loss_curve
    except ImportError:
        return

    def run(trainer, args, console, live=True):
        if live:
            dash = dashboard_callbacks(trainer, grad_table=getattr(args, "grad_table", False))
            with dash.live(console, quiet=getattr(args, "quiet", False)):
                history = trainer.run()
        else:
            history = trainer.run()
        if history and trainer.config.out_dir and os.path.isdir(trainer.config.out_dir):
            save_loss_curve(history, os.path.join(trainer.config.out_dir, "loss_curve.svg"))
        return history

    train_commands.run_training = run


def _error(msg) -> None:
    """One line on stderr (plain text: messages can hold brackets that rich would read as markup)."""
    print("error: " + " ".join(str(msg).split()), file=sys.stderr)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "fn", None):
        parser.print_help()
        return 0
    errors = _user_errors()
    try:
        return args.fn(args) or 0
    except errors as e:
        _error(e)
        return 2
    except OSError as e:          # disk full, permission denied, ... on a path the user gave
        _error(f"{e.strerror or e}: {e.filename}" if getattr(e, "filename", None) else e)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
