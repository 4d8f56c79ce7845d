"""Pre-LN vs post-LN vs sandwich: does the residual layout decide whether a deeper model trains at all?

Same width, data, batch order, learning rate and seed for every layout; only GPTConfig.residual changes
(plus one extra arm: post-LN with a learning-rate warmup, the classic fix). Constant learning rate, no
warmup, no gradient clipping, so nothing hides an instability.

    python -m experiments.residual_layouts            # the documented run (~3 minutes on one CPU core)
    python -m experiments.residual_layouts --smoke    # 3 steps of a tiny model
"""

from __future__ import annotations

import math
import time

import numpy as np

from tinygrad_tf.viz.figures import line_plot

from .common import (TrainSettings, arg_parser, char_data, fmt, markdown_table, print_table, rel, resolve_out,
                     settings_for, smooth, steps_to_reach, train_char_gpt, unigram_entropy, write_json, write_text)

NAME = "residual_layouts"
ESCAPE_LOSS = 2.8          # well below the unigram entropy (3.25 nats): the model has started using context
SKIP_STEPS = 50            # the gradient norm of the first steps reflects the initialisation, not stability
FULL = dict(d_model=48, n_head=4, depths=[2, 4, 8], seeds=[0, 1], steps=400, seq_len=32, batch_size=16, lr=3e-3,
            post_warmup=100)
SMOKE = dict(d_model=16, n_head=2, depths=[1, 2], seeds=[0], steps=3, seq_len=16, batch_size=4, lr=3e-3,
             post_warmup=2)
# arm -> (residual, warmup steps)
ARMS = {"pre": ("pre", 0), "post": ("post", 0), "sandwich": ("sandwich", 0), "post + warmup": ("post", None)}


def main(argv=None) -> dict:
    args = arg_parser(__doc__.splitlines()[0]).parse_args(argv)
    cfg = settings_for(args, FULL, SMOKE)
    out = resolve_out(args)
    log = None if args.quiet else print
    data = char_data()
    unigram = unigram_entropy(data.train, data.vocab_size)
    t0 = time.perf_counter()
    runs = []
    for depth in cfg["depths"]:
        for arm, (residual, warmup) in ARMS.items():
            for seed in cfg["seeds"]:
                st = TrainSettings(steps=cfg["steps"], seq_len=cfg["seq_len"], batch_size=cfg["batch_size"],
                                   lr=cfg["lr"], schedule="constant", grad_clip=None, seed=seed,
                                   warmup=cfg["post_warmup"] if warmup is None else warmup,
                                   eval_every=max(cfg["steps"] // 8, 1), final_eval_windows=4 if args.smoke else 256,
                                   eval_windows=4 if args.smoke else 48)
                r = train_char_gpt(dict(d_model=cfg["d_model"], n_layer=depth, n_head=cfg["n_head"],
                                        residual=residual), st, name=f"{arm} L{depth} s{seed}", data=data)
                g = np.asarray(r.grad_norm[SKIP_STEPS:] if len(r.grad_norm) > SKIP_STEPS else r.grad_norm)
                run = dict(arm=arm, depth=depth, seed=seed, escape_step=steps_to_reach(r.train_loss, ESCAPE_LOSS),
                           late_max_grad_norm=float(np.nanmax(g)) if g.size else math.nan, **r.to_dict())
                if log:
                    log(f"{arm:>13} depth {depth} seed {seed}: val {fmt(r.final_val_loss)}  "
                        f"below {ESCAPE_LOSS} at step {run['escape_step']}  max |g| after step {SKIP_STEPS} "
                        f"{run['late_max_grad_norm']:.2f}  {'DIVERGED ' if r.diverged else ''}({r.seconds:.1f}s)")
                runs.append(run)

    # ---- table: one row per (depth, arm), seeds averaged (and each shown)
    columns = ["layout", "depth", "params", "val loss (mean)", "val loss per seed",
               f"steps to train loss < {ESCAPE_LOSS}",
               f"max grad norm after step {SKIP_STEPS}", "diverged"]
    rows, summary = [], []
    for depth in cfg["depths"]:
        for arm in ARMS:
            rs = [r for r in runs if r["arm"] == arm and r["depth"] == depth]
            vals = [r["final_val_loss"] if r["final_val_loss"] is not None else math.nan for r in rs]
            mean = float(np.mean(vals))
            s = dict(arm=arm, depth=depth, n_params=rs[0]["n_params"], val_loss_mean=mean, val_loss=vals,
                     escape_step=[r["escape_step"] for r in rs],
                     late_max_grad_norm=[r["late_max_grad_norm"] for r in rs],
                     diverged=sum(r["diverged"] for r in rs))
            summary.append(s)
            rows.append([arm, depth, f"{s['n_params']:,}", fmt(mean), " / ".join(fmt(v) for v in vals),
                         " / ".join("never" if e is None else str(e) for e in s["escape_step"]),
                         " / ".join(f"{g:.1f}" for g in s["late_max_grad_norm"]), f"{s['diverged']}/{len(rs)}"])
    seconds = time.perf_counter() - t0
    caption = (f"d_model={cfg['d_model']}, n_head={cfg['n_head']}, {cfg['steps']} steps of {cfg['batch_size']} x "
               f"{cfg['seq_len']} characters, AdamW lr={cfg['lr']} constant, no clipping, seeds {cfg['seeds']}; "
               f"'post + warmup' warms up over {cfg['post_warmup']} steps. Unigram entropy of the text: "
               f"{unigram:.3f} nats (a model that ignores context). Steps to < {ESCAPE_LOSS}: first step where the "
               f"20-step moving average of the training loss is below it. {seconds:.0f} s in all.")
    print_table("Residual layouts: final validation loss (nats/char) at equal steps", columns, rows, caption)

    # ---- files
    write_json(out / f"{NAME}.json", dict(settings=cfg, unigram_entropy=unigram, summary=summary, runs=runs,
                                          seconds=seconds))
    write_text(out / f"{NAME}.md", markdown_table(columns, rows))
    plots = []
    series = {}
    for arm in ARMS:
        ss = [s for s in summary if s["arm"] == arm]
        series[arm] = {"x": [s["depth"] for s in ss], "y": [s["val_loss_mean"] for s in ss], "mode": "both",
                       "dashed": arm == "post + warmup"}
    plots.append(line_plot(series, out / f"{NAME}_depth.svg", title="Final validation loss vs depth",
                           xlabel="layers", ylabel=f"val loss (nats/char), mean of {len(cfg['seeds'])} seed(s)",
                           logx=True, xticks=cfg["depths"]))
    deep = max(cfg["depths"])
    seed0 = cfg["seeds"][0]
    curves = {arm: (np.arange(1, len(r["train_loss"]) + 1), smooth(r["train_loss"], 20))
              for arm in ARMS for r in runs if r["arm"] == arm and r["depth"] == deep and r["seed"] == seed0}
    curves = {**curves, f"unigram entropy ({unigram:.2f})": {"x": [1, cfg["steps"]], "y": [unigram, unigram],
                                                             "dashed": True, "color": "#999999"}}
    plots.append(line_plot(curves, out / f"{NAME}_curves_L{deep}.svg",
                           title=f"Training loss, {deep} layers (seed {seed0}, moving average of 20 steps)",
                           xlabel="step", ylabel="train loss (nats/char)"))
    gnorms = {arm: (np.arange(1, len(r["grad_norm"]) + 1), smooth(r["grad_norm"], 5))
              for arm in ARMS for r in runs if r["arm"] == arm and r["depth"] == deep and r["seed"] == seed0}
    plots.append(line_plot(gnorms, out / f"{NAME}_gradnorm_L{deep}.svg",
                           title=f"Gradient norm before the update, {deep} layers (seed {seed0}, moving average of 5)",
                           xlabel="step", ylabel="global gradient norm", logy=True))
    if log:
        log("wrote " + ", ".join(rel(p) for p in [out / f"{NAME}.json", out / f"{NAME}.md", *plots]))
    return dict(settings=cfg, unigram_entropy=unigram, summary=summary, runs=runs, seconds=seconds,
                plots=[str(p) for p in plots])


if __name__ == "__main__":
    main()
