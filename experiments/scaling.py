"""A small scaling sweep: final validation loss vs model size, and a fitted power law L(N) = a * N^(-b) + c.

A grid of widths x depths, every model trained for the same number of steps on the same batches (so
the same tokens: this is loss at fixed data, not at convergence), with the same learning rate.
N is the non-embedding parameter count (Kaplan et al. 2020), since with a 103-character vocabulary the
embeddings are a large, nearly constant share of a tiny model. The fit is least squares in numpy:
for each c on a grid below the smallest loss, a straight-line fit of log(L - c) against log N gives a
and b; the c with the smallest squared error in L wins. The pure log-log line (c = 0) is reported too.

    python -m experiments.scaling            # the documented run (~3 minutes on one CPU core)
    python -m experiments.scaling --smoke    # 3 steps of tiny models
"""

from __future__ import annotations

import time

import numpy as np

from tinygrad_tf.viz.figures import PALETTE, line_plot

from .common import (TrainSettings, arg_parser, char_data, fmt, markdown_table, non_embedding_params, print_table,
                     rel, resolve_out, settings_for, train_char_gpt, write_json, write_text)

NAME = "scaling"
FULL = dict(widths=[32, 48, 64, 96], depths=[1, 2, 4], n_head=4, seed=0, steps=500, seq_len=32, batch_size=16,
            lr=3e-3, warmup=50)
SMOKE = dict(widths=[8, 16], depths=[1, 2], n_head=2, seed=0, steps=3, seq_len=8, batch_size=4, lr=3e-3, warmup=1)


def fit_power_law(n, loss, grid: int = 400):
    """Least-squares fit of loss = a * n^(-b) + c (c >= 0). Returns dict(a, b, c, rmse) and the c = 0 fit."""
    n, loss = np.asarray(n, dtype=np.float64), np.asarray(loss, dtype=np.float64)
    x = np.log(n)

    def line(c):
        y = np.log(loss - c)
        slope, icpt = np.polyfit(x, y, 1)
        pred = np.exp(icpt) * n ** slope + c
        return dict(a=float(np.exp(icpt)), b=float(-slope), c=float(c),
                    rmse=float(np.sqrt(np.mean((pred - loss) ** 2))))
    plain = line(0.0)
    best = min((line(c) for c in np.linspace(0.0, loss.min() * 0.995, grid)), key=lambda f: f["rmse"])
    return best, plain


def predict(fit, n):
    return fit["a"] * np.asarray(n, dtype=np.float64) ** (-fit["b"]) + fit["c"]


def main(argv=None) -> dict:
    args = arg_parser(__doc__.splitlines()[0]).parse_args(argv)
    cfg = settings_for(args, FULL, SMOKE)
    out = resolve_out(args)
    log = None if args.quiet else print
    data = char_data()
    t0 = time.perf_counter()
    runs = []
    for depth in cfg["depths"]:
        for width in cfg["widths"]:
            st = TrainSettings(steps=cfg["steps"], seq_len=cfg["seq_len"], batch_size=cfg["batch_size"],
                               lr=cfg["lr"], warmup=cfg["warmup"], schedule="cosine", grad_clip=1.0,
                               seed=cfg["seed"], eval_every=max(cfg["steps"] // 5, 1),
                               eval_windows=4 if args.smoke else 48, final_eval_windows=4 if args.smoke else 256)
            r = train_char_gpt(dict(d_model=width, n_layer=depth, n_head=cfg["n_head"]), st,
                               name=f"d{width} L{depth}", data=data)
            n = non_embedding_params(r.model_config)
            runs.append(dict(width=width, depth=depth, n_non_embedding=n, **r.to_dict()))
            if log:
                log(f"d_model {width:>3} n_layer {depth}: N={n:>7,} (total {r.n_params:,})  "
                    f"val {fmt(r.final_val_loss)}  ({r.seconds:.1f}s)")
    n = np.array([r["n_non_embedding"] for r in runs], dtype=np.float64)
    loss = np.array([r["final_val_loss"] for r in runs], dtype=np.float64)
    ok = np.isfinite(loss)
    fit, plain = fit_power_law(n[ok], loss[ok])
    by_depth = {}                        # one family per depth (widths vary): a plain power law, c = 0
    for depth in cfg["depths"]:
        sel = np.array([r["depth"] == depth for r in runs]) & ok
        if sel.sum() >= 2:
            by_depth[depth] = fit_power_law(n[sel], loss[sel])[1]
    seconds = time.perf_counter() - t0

    columns = ["d_model", "n_layer", "N (non-embedding)", "total params", "val loss", "fit", "residual"]
    rows = []
    for r, nn, lv in zip(runs, n, loss):
        p = float(predict(fit, nn))
        rows.append([r["width"], r["depth"], f"{int(nn):,}", f"{r['n_params']:,}", fmt(lv), fmt(p),
                     f"{lv - p:+.3f}"])
    fit_text = (f"L(N) = {fit['a']:.3g} * N^(-{fit['b']:.3f}) + {fit['c']:.3f}  (rmse {fit['rmse']:.3f}); "
                f"without c: L = {plain['a']:.3g} * N^(-{plain['b']:.3f})  (rmse {plain['rmse']:.3f}); "
                "per depth, widths varying, without c: " + "; ".join(
                    f"{d} layer{'s' if d > 1 else ''}: L = {f['a']:.3g} * N^(-{f['b']:.3f}) (rmse {f['rmse']:.3f})"
                    for d, f in by_depth.items()))
    caption = (f"{cfg['steps']} steps of {cfg['batch_size']} x {cfg['seq_len']} characters for every model "
               f"(the same batches), n_head={cfg['n_head']}, AdamW lr={cfg['lr']} (warmup {cfg['warmup']}, cosine), "
               f"seed {cfg['seed']}. {fit_text}. {seconds:.0f} s.")
    print_table("Scaling: final validation loss (nats/char) vs non-embedding parameters", columns, rows, caption)

    write_json(out / f"{NAME}.json", dict(settings=cfg, fit=fit, fit_without_c=plain, fit_by_depth=by_depth,
                                          runs=runs, seconds=seconds))
    write_text(out / f"{NAME}.md", markdown_table(columns, rows) + f"\n{fit_text}\n")
    series = {}
    for i, depth in enumerate(cfg["depths"]):
        sel = [j for j, r in enumerate(runs) if r["depth"] == depth]
        name = f"{depth} layer{'s' if depth > 1 else ''}"
        series[name] = {"x": n[sel], "y": loss[sel], "mode": "points", "color": PALETTE[i]}
        if depth in by_depth:
            f = by_depth[depth]
            series[f"{name}: N^-{f['b']:.3f}"] = {"x": n[sel], "y": predict(f, n[sel]), "color": PALETTE[i]}
    grid = np.geomspace(n.min() / 1.3, n.max() * 1.3, 60)
    series[f"fit: {fit['a']:.3g}·N^-{fit['b']:.2f} + {fit['c']:.2f}"] = {"x": grid, "y": predict(fit, grid),
                                                                          "dashed": True, "color": "#555555"}
    plots = [line_plot(series, out / f"{NAME}.svg", title="Final validation loss vs non-embedding parameters",
                       xlabel="N, non-embedding parameters (log scale)", ylabel="val loss (nats/char)", logx=True)]
    if log:
        log("wrote " + ", ".join(rel(p) for p in [out / f"{NAME}.json", out / f"{NAME}.md", *plots]))
    return dict(settings=cfg, fit=fit, fit_without_c=plain, fit_by_depth=by_depth, runs=runs, seconds=seconds,
                plots=[str(p) for p in plots])


if __name__ == "__main__":
    main()
