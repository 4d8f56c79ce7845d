"""The ``lab``, ``runs`` and ``show`` commands.

    tinygrad-tf lab [--runs DIR]                  the Textual app (keyboard-first; ? for help)
    tinygrad-tf lab --web [--host H] [--port N]   the same app in a browser (http://127.0.0.1:8000)
    tinygrad-tf runs list [--json]                every run in the runs folder, partial ones included
    tinygrad-tf runs compare A B [C ...] [--json] [--all]     overlaid loss curves and a config diff
    tinygrad-tf show NAME | --list                a component's source beside its math

The runs folder is ``--runs DIR``, else $TINYGRAD_TF_RUNS, else ./runs. Exit codes: 0 done, 2 bad input
(an unknown run or component, a missing folder), reported as one ``error: ...`` line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys

from rich import box
from rich.table import Table

from ..lab import RunsError, RunStore, compare, runs_dir
from ..lab.codeview import COMPONENTS, catalogue, component_view, find_component
from ..lab.runs import fmt_cell
from .common import apply_threads, command, console

__all__ = ["add_parsers", "cmd_lab", "cmd_runs_list", "cmd_runs_compare", "cmd_show"]


# ---------------------------------------------------------------- lab
def cmd_lab(args) -> int:
    """A terminal app (works over SSH, from 80x24 up): choose a model and its components, train it in the
    background with live curves, gradient norms, attention and samples; every run is saved (and resumes with
    `tinygrad-tf train --resume RUN/checkpoint`); compare runs; read any component's source beside its math.
    Press ? inside for the keys. --screenshot renders the opening screen headless to an SVG and exits. --web
    serves the same app to a browser (on this machine only, unless --host says otherwise)."""
    from ..lab.web import is_served, serve
    if args.web:
        serve(runs_dir(args.runs), host=args.host, port=args.port, tab=args.tab, threads=args.threads)
        return 0
    from ..lab.app import LabApp                    # textual, only when the app is asked for
    apply_threads(args)
    app = LabApp(runs_dir(args.runs), tab=args.tab)
    if args.screenshot:
        path = app.screenshot_headless(args.screenshot, size=(args.width, args.height))
        print(path)
        return 0
    if not is_served() and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise RunsError("the lab needs an interactive terminal (over SSH: ssh -t host tinygrad-tf lab; or "
                        "`tinygrad-tf lab --web` for a browser); `tinygrad-tf runs list` and `runs compare` work "
                        "anywhere")
    app.run()
    app.finish_run()        # the app closed some other way than q (a browser tab closed): stop and save the run
    return 0


# ---------------------------------------------------------------- runs
def _store(args):
    return RunStore(args.runs)


def cmd_runs_list(args) -> int:
    """List every run in the runs folder (oldest first) with its status (done, stopped, running, interrupted,
    failed), steps and final losses."""
    store = _store(args)
    runs = store.list()
    if args.json:
        print(json.dumps({"runs_dir": str(store.root), "runs": [r.summary() for r in runs]}, indent=1))
        return 0

    if not runs:
        console.print(f"no lab runs in {store.root} yet — start one with `tinygrad-tf lab` (or set --runs / "
                  "$TINYGRAD_TF_RUNS). Checkpoints from `train` and `demo` are not lab runs: "
                  "`tinygrad-tf compare DIR DIR` sets those side by side.")
        return 0
    t = Table(box=box.SIMPLE_HEAD, title=f"runs in {store.root}", title_justify="left", header_style="bold")
    for col, just in (("#", "right"), ("name", "left"), ("status", "left"), ("steps", "right"),
                      ("loss", "right"), ("val", "right")):
        t.add_column(col, justify=just, overflow="fold", no_wrap=col != "name")
    style = {"done": "green", "stopped": "yellow", "running": "cyan", "interrupted": "red", "failed": "red",
             "broken": "red"}
    for i, r in enumerate(runs, 1):
        s = r.summary()
        steps = f"{s['step']}/{s['steps']}" if s.get("steps") else str(s["step"])
        t.add_row(str(i), r.name, f"[{style.get(s['status'], '')}]{s['status']}[/]", steps, fmt_cell(s["loss"]),
                  fmt_cell(s["val_loss"]))
    console.print(t)
    console.print("[dim]compare: tinygrad-tf runs compare A B (names, unique parts of names, or numbers)[/]")
    return 0


def cmd_runs_compare(args) -> int:
    """Compare runs: training and validation loss curves overlaid, the settings that differ, final numbers. Runs
    are named by full name, a unique part of the name, or their number in `runs list` (-1 = newest)."""
    if len(args.names) < 2:
        raise RunsError("compare needs two or more runs (names, unique parts of names, or numbers from `runs list`)")
    store = _store(args)
    cmp = compare(store.resolve(args.names), show_all=args.all)
    if args.json:
        print(json.dumps(cmp.to_dict(), indent=1))
        return 0
    console.print(cmp)
    return 0


# ---------------------------------------------------------------- show
def cmd_show(args) -> int:
    """Print the source of an op, layer, model, positional encoding or attention, syntax-highlighted, beside the
    formulas it implements. `show --list` lists them."""
    if args.list or not args.name:
        if args.json:
            print(json.dumps([c.to_dict() for c in COMPONENTS], indent=1))
        else:
            console.print(catalogue())
        return 0
    c = find_component(args.name)
    if args.json:
        print(json.dumps({**c.to_dict(), "doc": c.doc(), "source": c.source()}, indent=1))
        return 0
    console.print(component_view(c))
    return 0


# ---------------------------------------------------------------- argparse
RUNS_HELP = "the runs folder (default: $TINYGRAD_TF_RUNS, else ./runs)"


def add_parsers(sub) -> dict:
    lab = command(sub, "lab", cmd_lab, "the interactive lab: build a model, train it live, compare runs, read the code")
    lab.add_argument("--runs", metavar="DIR", help=RUNS_HELP)
    lab.add_argument("--tab", choices=["train", "inspect", "runs", "code"], default="train", help="the tab to open on")
    lab.add_argument("--screenshot", metavar="FILE.svg", help="render the opening screen headless to an SVG and exit")
    lab.add_argument("--width", type=int, default=100, help="--screenshot terminal width (default 100)")
    lab.add_argument("--height", type=int, default=30, help="--screenshot terminal height (default 30)")
    lab.add_argument("--web", action="store_true", help="serve the app to a browser instead (needs textual-serve: "
                     "pip install 'tinygrad-tf[web]')")
    lab.add_argument("--host", default="127.0.0.1", help="--web: the address to listen on (default 127.0.0.1: this "
                     "machine only; 0.0.0.0 lets anyone who can reach the port use the lab)")
    lab.add_argument("--port", type=int, default=8000, help="--web: the port (default 8000)")
    lab.add_argument("--threads", type=int, default=1, help="BLAS threads for training (default 1: fastest for small "
                     "models beside the app's own thread; 0 = the library's default; OMP_NUM_THREADS wins when set)")

    runs = command(sub, "runs", cmd_runs_list, "list and compare saved runs (list | compare A B ...)",
                   description="The runs the lab saved: `runs list`, `runs compare A B [C ...]`, --json for both.")
    runs.add_argument("--runs", metavar="DIR", help=RUNS_HELP)
    runs.set_defaults(json=False)
    below = runs.add_subparsers(dest="runs_command", metavar="list|compare")
    lst = command(below, "list", cmd_runs_list, "list the runs, partial and interrupted ones included")
    lst.add_argument("--runs", metavar="DIR", default=argparse.SUPPRESS, help=RUNS_HELP)
    lst.add_argument("--json", action="store_true", help="print JSON instead of a table")
    cmp = command(below, "compare", cmd_runs_compare, "overlay the loss curves of two or more runs and diff their configs")
    cmp.add_argument("names", nargs="+", metavar="RUN", help="two or more runs")
    cmp.add_argument("--runs", metavar="DIR", default=argparse.SUPPRESS, help=RUNS_HELP)
    cmp.add_argument("--json", action="store_true", help="print JSON (runs, diff, curves) instead")
    cmp.add_argument("--all", action="store_true", help="show every setting, not only those that differ")

    show = command(sub, "show", cmd_show, "print a component's source beside the math it implements")
    show.add_argument("name", nargs="?", metavar="NAME", help="a component: Softmax, LayerNorm, GPT, rope, attention, ...")
    show.add_argument("--list", action="store_true", help="list every component")
    show.add_argument("--json", action="store_true", help="print JSON (with the source) instead")
    return {"lab": lab, "runs": runs, "show": show}
