"""The ``tinygrad-tf`` command (also ``python -m tinygrad_tf``).

Each subcommand is a small function ``cmd_NAME(args)``; ``build_parser`` wires
them to argparse. Errors a user can cause (bad files, bad flags, no GPU) are
printed as one clear line with a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.table import Table

console = Console()


class UserError(Exception):
    """A problem with the user's input: printed as one line, exit code 2."""


# ---------------------------------------------------------------- gradcheck
def cmd_gradcheck(args) -> int:
    """Gradcheck every op in float64 and print a table."""
    from .opcheck import check_all

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


# ---------------------------------------------------------------- demo
def cmd_demo(args) -> int:
    """Train a tiny MLP on XOR with the bare engine and show the gradients flowing."""
    import tinygrad_tf as tg

    tg.manual_seed(args.seed)
    x = tg.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    y = tg.tensor([[0.], [1.], [1.], [0.]])
    params = {
        "w1": (tg.randn(2, 8) * 1.0).requires_grad_(),
        "b1": tg.zeros(8, requires_grad=True),
        "w2": (tg.randn(8, 1) * 0.5).requires_grad_(),
        "b2": tg.zeros(1, requires_grad=True),
    }
    console.print("[bold]XOR with a 2-8-1 MLP[/]: h = tanh(x @ w1 + b1), p = sigmoid(h @ w2 + b2), "
                  "loss = mean squared error")
    lr = 1.0
    for step in range(args.steps + 1):
        h = (x @ params["w1"] + params["b1"]).tanh()
        p = (h @ params["w2"] + params["b2"]).sigmoid()
        loss = ((p - y) ** 2).mean()
        for t in params.values():
            t.grad = None
        loss.backward()
        if step % max(args.steps // 5, 1) == 0 or step == args.steps:
            table = Table(title=f"step {step}: loss {loss.item():.4f}", title_justify="left")
            table.add_column("parameter")
            table.add_column("shape")
            table.add_column("|grad|", justify="right")
            for name, t in params.items():
                norm = float((t.grad.data ** 2).sum() ** 0.5)
                table.add_row(name, str(t.shape), f"{norm:.4f}")
            console.print(table)
        with tg.no_grad():
            for t in params.values():
                t.data -= lr * t.grad.data
    console.print("predictions:", [round(v, 3) for v in p.numpy().ravel().tolist()], "targets: [0, 1, 1, 0]")
    return 0


# ---------------------------------------------------------------- wiring
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tinygrad-tf", description="Deep learning from scratch, to read and to see.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser("demo", help="the main job: train a small model and watch it learn")
    d.add_argument("--steps", type=int, default=500)
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(fn=cmd_demo)

    g = sub.add_parser("gradcheck", help="gradcheck every op (float64 central differences) and print a table")
    g.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    g.add_argument("--seed", type=int, default=0)
    g.set_defaults(fn=cmd_gradcheck)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "fn", None):
        parser.print_help()
        return 0
    from .backend import DeviceError

    try:
        return args.fn(args) or 0
    except (UserError, DeviceError) as e:
        console.print(f"[red]error:[/] {e}", highlight=False)
        return 2
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
