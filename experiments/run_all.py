"""Run every experiment with its documented settings, one after the other, and time each.

    python -m experiments.run_all                          # all five (~12 minutes on one CPU core)
    python -m experiments.run_all --only scaling head_patterns
    python -m experiments.run_all --smoke                  # all five, 3 steps each (a few seconds)

The results go under --out (default docs/img/experiments): each experiment's JSON, Markdown table and
SVG plots, and run_all.json with the wall-clock seconds of each (with --only, the others keep their
latest times).
"""

from __future__ import annotations

import json
import time

from . import head_patterns, norms_activations, positional_extrapolation, residual_layouts, scaling
from .common import arg_parser, print_table, resolve_out, write_json

EXPERIMENTS = {m.NAME: m for m in (residual_layouts, norms_activations, positional_extrapolation, scaling,
                                   head_patterns)}


def main(argv=None) -> dict:
    p = arg_parser(__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", choices=list(EXPERIMENTS), default=None, help="run only these")
    args = p.parse_args(argv)
    out = resolve_out(args)
    passthrough = ["--out", str(out)] + (["--smoke"] if args.smoke else []) + (["--quiet"] if args.quiet else []) \
        + (["--steps", str(args.steps)] if args.steps is not None else [])
    seconds = {}
    for name in args.only or EXPERIMENTS:
        t0 = time.perf_counter()
        EXPERIMENTS[name].main(passthrough)
        seconds[name] = time.perf_counter() - t0
    total = sum(seconds.values())
    print_table("Wall-clock time per experiment", ["experiment", "seconds"],
                [[k, f"{v:.0f}"] for k, v in seconds.items()] + [["total", f"{total:.0f}"]])
    record = out / "run_all.json"
    latest = dict(seconds)
    if args.only and record.exists():              # keep the other experiments' latest times
        try:
            old = json.loads(record.read_text())
            if old.get("smoke") == args.smoke:
                latest = {**old.get("seconds", {}), **seconds}
        except (OSError, ValueError):
            pass
    write_json(record, dict(seconds=latest, total_seconds=sum(latest.values()), smoke=args.smoke))
    return dict(seconds=seconds, total_seconds=total, out=str(out))


if __name__ == "__main__":
    main()
