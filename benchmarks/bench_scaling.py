"""How cost grows: a GPT training step's time vs context length and vs width, tinygrad_tf vs PyTorch.

    python -m benchmarks.bench_scaling                        # both sweeps, all cores then 1 thread, plots into docs/img/performance/
    python -m benchmarks.bench_scaling --contexts 128,256,512 --widths 64,128 --no-plot
    python -m benchmarks.bench_scaling --json scaling.json --markdown scaling.md

One step is what bench_gpt times (zero_grad, forward with the loss, backward, AdamW step), on the same
GPT-2 architecture from the same weights, the contenders interleaved (see benchmarks/bench_gpt.py):

* context sweep: 2 layers, d_model 128, 4 heads, batch 1, vocabulary 512, context T = 128 ... 2048.
  A step costs about 6 N T + 12 L d T^2 FLOPs (N ~ 0.46M matmul parameters here), so the T^2 attention
  term overtakes the linear one near T ~ 900, and the softmax / mask over the (T, T) scores adds
  memory-bound T^2 work on top;
* width sweep: 2 layers, 4 heads, context 128, batch 2, d_model = 64 ... 512: the matmuls grow as d^2,
  the per-op overhead not at all.

Each point is timed at every core (the headline, plotted) and at 1 thread, and the peak memory of one step is
measured for each contender (bench_gpt's child-process measurement, at the headline thread count), plotted
as scaling-memory-*.svg.

Growth exponents: ``a`` in step ~ T^a and ``b`` in step ~ d^b, as the local slope between neighbouring
points on a log-log scale and as a least-squares fit over the largest points (``--fit-last``).
"""

from __future__ import annotations

import os
import sys

sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# bench_gpt exports --threads to the BLAS variables before NumPy is imported: import it first
from benchmarks import bench_gpt as G  # noqa: E402

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.common import (CLOCKS, default_clock, device_sync, fmt_ms, gpu_info, machine_info,  # noqa: E402
                               markdown_table, pin_threads, set_threads, thread_columns)

IMG_DIR = Path(__file__).resolve().parent.parent / "docs" / "img" / "performance"
CONTENDERS = (("tinygrad_tf", "tinygrad_tf"), ("torch", "torch (same ops)"), ("torch_sdpa", "torch (SDPA)"))


def sweep(kind, values, base, repeats, device="cpu", cols=(1,), memory=True):
    """One bench_gpt.bench_train per value of ``kind`` ("context_length" or "d_model") and thread count."""
    rows = []
    for v in values:
        cfg = dict(base, **{kind: v})
        reps = repeats if cfg["context_length"] * cfg["batch"] < 2048 else max(3, repeats - 2)
        by = {}
        for th in cols:
            set_threads(th)
            by[th] = G.bench_train(f"{kind}={v}", cfg, reps, device=device, memory=memory and th == cols[0])
        set_threads(cols[0])
        r = by[cols[0]]
        rows.append(dict(value=v, config=cfg, params=r["params"], step_s=r["step_s"], repeats=reps,
                         loss_agreement=r["loss_agreement"], ratio=r["ratio"], ratio_sdpa=r["ratio_sdpa"],
                         peak_memory_mib=r["peak_memory_mib"],
                         by_threads={th: dict(step_s=by[th]["step_s"], ratio=by[th]["ratio"],
                                              ratio_sdpa=by[th]["ratio_sdpa"]) for th in cols}))
        one = by.get(1) if cols[0] != 1 else None
        m = r["peak_memory_mib"]
        print(f"  {kind}={v}: tg {fmt_ms(r['step_s']['tinygrad_tf'])}, torch {fmt_ms(r['step_s']['torch'])}, "
              f"sdpa {fmt_ms(r['step_s']['torch_sdpa'])} ({r['ratio']:.2f}x)"
              + (f"; 1 thr {one['ratio']:.2f}x" if one else "")
              + (f"; peak MiB tg {m['tinygrad_tf']:.0f} torch {m['torch']:.0f}" if m else ""), file=sys.stderr, flush=True)
    for i, row in enumerate(rows):                       # local exponent: slope from the previous point
        row["local_exp"] = {k: (math.log(row["step_s"][k] / rows[i - 1]["step_s"][k]) /
                                math.log(row["value"] / rows[i - 1]["value"])) if i else None
                            for k, _ in CONTENDERS}
    return rows


def fit_exponent(rows, key, last):
    """Least-squares slope of log(step) on log(value) over the ``last`` largest points."""
    pts = rows[-last:] if len(rows) >= 2 else rows
    if len(pts) < 2:
        return None
    x = np.log([r["value"] for r in pts])
    y = np.log([r["step_s"][key] for r in pts])
    return float(np.polyfit(x, y, 1)[0])


def table(rows, label, fits):
    cols = list(rows[0].get("by_threads", {})) or [None]
    one = cols[1] if len(cols) > 1 else None
    heads = [label, "tinygrad_tf step", "torch step", "ratio", "torch (SDPA) step", "ratio vs SDPA"] + \
        ([f"tg / torch ({one} thr)", f"ratio ({one} thr)"] if one else []) + \
        ["peak memory tg / torch / SDPA", "memory ratio tg / torch", "local exponent tg / torch / SDPA"]
    body = []
    for r in rows:
        le, m = r["local_exp"], r.get("peak_memory_mib")
        o = r["by_threads"][one] if one else None
        body.append([r["value"], fmt_ms(r["step_s"]["tinygrad_tf"]), fmt_ms(r["step_s"]["torch"]), f"{r['ratio']:.2f}x",
                     fmt_ms(r["step_s"]["torch_sdpa"]), f"{r['ratio_sdpa']:.2f}x"] +
                    ([f"{fmt_ms(o['step_s']['tinygrad_tf'])} / {fmt_ms(o['step_s']['torch'])}", f"{o['ratio']:.2f}x"]
                     if one else []) +
                    ([f"{m['tinygrad_tf']:.0f} / {m['torch']:.0f} / {m['torch_sdpa']:.0f} MiB",
                      f"{m['tinygrad_tf'] / m['torch']:.2f}x"] if m else ["-", "-"]) +
                    ["" if le["tinygrad_tf"] is None else
                     f"{le['tinygrad_tf']:.2f} / {le['torch']:.2f} / {le['torch_sdpa']:.2f}"])
    out = markdown_table(heads, body)
    out += "\nFitted exponent over the last points: " + ", ".join(
        f"{name} {fits[k]:.2f}" for k, name in CONTENDERS if fits.get(k) is not None) + "\n"
    return out


def plot(rows, path, title, xlabel, guide_exp, guide_label, ylabel="training step (ms)", key="step_s",
         scale=1e3):
    from tinygrad_tf.viz.figures import PlotsUnavailable, line_plot
    xs = [r["value"] for r in rows]
    series = {name: {"x": xs, "y": [r[key][k] * scale for r in rows], "mode": "both"} for k, name in CONTENDERS}
    # a dashed guide with the slope of pure T^2 (or d^2) growth, through tinygrad_tf's last point
    y_last = rows[-1][key]["tinygrad_tf"] * scale
    series[guide_label] = {"x": xs, "y": [y_last * (x / xs[-1]) ** guide_exp for x in xs], "dashed": True,
                           "color": "#999999"}
    try:
        return line_plot(series, path, title=title, xlabel=xlabel, ylabel=ylabel,
                         logx=True, logy=True, xticks=xs)
    except PlotsUnavailable as e:                 # tables only
        print(f"{path} not written: {e}", file=sys.stderr)
        return None


def draw(ctx_rows, width_rows, img, device="cpu", threads=1):
    """scaling-context.svg and scaling-width.svg (with a -cuda suffix for GPU runs) in ``img``."""
    img.mkdir(parents=True, exist_ok=True)
    suffix, where = ("", f"{threads} thread{'s' if threads > 1 else ''}") if device == "cpu" else ("-cuda", "GPU")
    ylabel = "training step (ms, wall time)"
    if ctx_rows:
        plot(ctx_rows, img / f"scaling-context{suffix}.svg",
             f"GPT training step vs context length (L2 d128 B1, {where})", "context length T (log scale)", 2,
             "slope 2 (step ∝ T²)", ylabel)
    if width_rows:
        plot(width_rows, img / f"scaling-width{suffix}.svg", f"GPT training step vs width (L2 T128 B2, {where})",
             "d_model (log scale)", 2, "slope 2 (step ∝ d²)", ylabel)
    for rows, name, title, xlabel in ((ctx_rows, "context", "context length (L2 d128 B1)", "context length T (log scale)"),
                                      (width_rows, "width", "width (L2 T128 B2)", "d_model (log scale)")):
        if rows and all(r.get("peak_memory_mib") for r in rows):
            plot(rows, img / f"scaling-memory-{name}{suffix}.svg", f"Peak memory of one training step vs {title}",
                 xlabel, 1, "slope 1", "peak step memory (MiB, resident)", key="peak_memory_mib", scale=1)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=G.THREADS,
                   help="threads for torch, numpy's BLAS and tinygrad_tf (default: every core)")
    p.add_argument("--no-one-thread", action="store_true", help="skip the 1-thread timings")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    p.add_argument("--contexts", default="128,256,512,1024,2048")
    p.add_argument("--widths", default="64,128,192,256,384,512")
    p.add_argument("--repeats", type=int, default=5, help="timed steps per contender (median); 2 fewer for big ones")
    p.add_argument("--fit-last", type=int, default=3, help="fit the exponent over this many largest points")
    p.add_argument("--clock", choices=("cpu", "wall"), default=None)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cuda: CuPy vs torch.cuda, wall time")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--img-dir", default=str(IMG_DIR))
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--markdown", metavar="PATH")
    p.add_argument("--replot", metavar="JSON", help="redraw the plots from an earlier --json file; measure nothing")
    args = p.parse_args(argv)
    if args.replot:
        with open(args.replot) as f:
            d = json.load(f)
        draw(d["context"], d["width"], Path(args.img_dir), d["machine"].get("device", "cpu"), d["threads"]["threads"])
        return
    info = pin_threads(G.THREADS)
    info["clock"] = args.clock or ("wall" if args.device != "cpu" else default_clock(G.THREADS))
    G._CLOCK[0] = CLOCKS[info["clock"]]
    G._SYNC[0] = device_sync(args.device)
    meta = machine_info()
    meta.update(gpu_info(args.device))
    meta["device"] = args.device
    contexts = [int(v) for v in args.contexts.split(",") if v]
    widths = [int(v) for v in args.widths.split(",") if v]

    ctx_base = dict(n_layer=2, d_model=128, n_head=4, context_length=128, batch=1, vocab_size=512)
    width_base = dict(n_layer=2, d_model=128, n_head=4, context_length=128, batch=2, vocab_size=512)
    cols = info["thread_columns"] = thread_columns(G.THREADS, not args.no_one_thread and args.device == "cpu")
    mem = not args.no_memory
    ctx_rows = sweep("context_length", contexts, ctx_base, args.repeats, args.device, cols, mem) if contexts else []
    width_rows = sweep("d_model", widths, width_base, args.repeats, args.device, cols, mem) if widths else []
    ctx_fit = {k: fit_exponent(ctx_rows, k, args.fit_last) for k, _ in CONTENDERS} if ctx_rows else {}
    width_fit = {k: fit_exponent(width_rows, k, args.fit_last) for k, _ in CONTENDERS} if width_rows else {}

    md = ""
    if ctx_rows:
        md += "Context sweep (L2 d128 h4 B1 V512):\n\n" + table(ctx_rows, "context T", ctx_fit) + "\n"
    if width_rows:
        md += "Width sweep (L2 h4 T128 B2 V512):\n\n" + table(width_rows, "d_model", width_fit) + "\n"
    print(md)
    print(f"machine: {meta['cpu']} ({meta['logical_cores']} cores, load {meta['load_avg_1m']:.2f}); "
          f"{info['threads']} thread(s), {info['clock']} time", file=sys.stderr)
    if not args.no_plot:
        draw(ctx_rows, width_rows, Path(args.img_dir), args.device, G.THREADS)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": meta, "threads": info, "command": " ".join(["python -m benchmarks.bench_scaling"]
                                                                             + sys.argv[1:]),
                       "context": ctx_rows, "context_fit": ctx_fit, "width": width_rows, "width_fit": width_fit},
                      f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(md)


if __name__ == "__main__":
    main()
