"""LayerNorm vs RMSNorm, and ReLU vs GELU vs SwiGLU, at an equal parameter count.

A gated feed-forward (SwiGLU) has three d_model x d_ff matrices instead of two, so at the same d_ff it
would have 50% more feed-forward parameters. Here its d_ff is chosen (about 2/3 of the ungated one, as
in Llama) so that ``count_parameters`` of the whole model matches the GELU model within 1%; the counts
are printed. Everything else (data, batch order, seed, schedule) is identical.

    python -m experiments.norms_activations            # the documented run (~3 minutes on one CPU core)
    python -m experiments.norms_activations --smoke    # 3 steps of a tiny model
"""

from __future__ import annotations

import time

import numpy as np

from tinygrad_tf.nn.models import count_parameters
from tinygrad_tf.viz.figures import bar_plot, line_plot

from .common import (TrainSettings, arg_parser, char_data, fmt, markdown_table, model_config, print_table, rel,
                     resolve_out, settings_for, train_char_gpt, write_json, write_text)

NAME = "norms_activations"
FULL = dict(d_model=64, n_layer=3, n_head=4, d_ff=256, seeds=[0, 1], steps=500, seq_len=32, batch_size=16,
            lr=3e-3, warmup=50)
SMOKE = dict(d_model=16, n_layer=1, n_head=2, d_ff=64, seeds=[0], steps=3, seq_len=16, batch_size=4, lr=3e-3,
             warmup=1)
NORMS = ["layernorm", "rmsnorm"]
ACTIVATIONS = ["relu", "gelu", "swiglu"]
GATED = {"swiglu", "geglu"}


def matched_d_ff(base_kwargs: dict, activation: str, target: int) -> int:
    """The d_ff for ``activation`` whose model has the parameter count closest to ``target``.

    The count is linear in d_ff (count = a + b * d_ff: b = 3 * d_model (+ 2 with biases) per layer for
    a gated feed-forward), so two counts give the line and the nearest integer d_ff follows."""
    data = char_data()

    def count(f):
        return count_parameters(model_config(data, **{**base_kwargs, "d_ff": f, "activation": activation}))
    c1, c2 = count(1), count(2)
    f = max(1, round((target - c1) / (c2 - c1)) + 1)
    return min((f - 1, f, f + 1), key=lambda g: (abs(count(g) - target) if g >= 1 else float("inf"), g))


def main(argv=None) -> dict:
    args = arg_parser(__doc__.splitlines()[0]).parse_args(argv)
    cfg = settings_for(args, FULL, SMOKE)
    out = resolve_out(args)
    log = None if args.quiet else print
    data = char_data()
    t0 = time.perf_counter()
    base = dict(d_model=cfg["d_model"], n_layer=cfg["n_layer"], n_head=cfg["n_head"], d_ff=cfg["d_ff"],
                context_length=cfg["seq_len"])
    variants = []
    for norm in NORMS:
        ref = count_parameters(model_config(data, **base, norm=norm, activation="gelu"))
        for act in ACTIVATIONS:
            d_ff = matched_d_ff({**base, "norm": norm}, act, ref) if act in GATED else cfg["d_ff"]
            kw = {**base, "norm": norm, "activation": act, "d_ff": d_ff}
            n = count_parameters(model_config(data, **kw))
            variants.append(dict(norm=norm, activation=act, d_ff=d_ff, n_params=n, ref_params=ref,
                                 param_diff=(n - ref) / ref, kwargs=kw))
    for v in variants:
        if log:
            log(f"{v['norm']:>9} {v['activation']:>6}: d_ff={v['d_ff']:<4} parameters {v['n_params']:,} "
                f"({100 * v['param_diff']:+.2f}% vs GELU with the same norm)")
    runs = []
    for v in variants:
        for seed in cfg["seeds"]:
            st = TrainSettings(steps=cfg["steps"], seq_len=cfg["seq_len"], batch_size=cfg["batch_size"], lr=cfg["lr"],
                               warmup=cfg["warmup"], schedule="cosine", grad_clip=1.0, seed=seed,
                               eval_every=max(cfg["steps"] // 10, 1), eval_windows=4 if args.smoke else 48,
                               final_eval_windows=4 if args.smoke else 256)
            r = train_char_gpt(v["kwargs"], st, name=f"{v['norm']} {v['activation']} s{seed}", data=data)
            if log:
                log(f"{v['norm']:>9} {v['activation']:>6} seed {seed}: val {fmt(r.final_val_loss)} "
                    f"({r.seconds:.1f}s)")
            runs.append(dict(norm=v["norm"], activation=v["activation"], seed=seed, **r.to_dict()))

    columns = ["norm", "activation", "d_ff", "parameters", "vs GELU", "val loss (mean)", "per seed", "val ppl"]
    rows, summary = [], []
    for v in variants:
        rs = [r for r in runs if r["norm"] == v["norm"] and r["activation"] == v["activation"]]
        vals = [r["final_val_loss"] for r in rs]
        mean = float(np.mean(vals))
        curve = np.mean([r["val_loss"] for r in rs], axis=0)
        summary.append(dict({k: v[k] for k in ("norm", "activation", "d_ff", "n_params", "param_diff")},
                            val_loss_mean=mean, val_loss=vals, val_steps=rs[0]["val_steps"], val_curve=curve))
        rows.append([v["norm"], v["activation"], v["d_ff"], f"{v['n_params']:,}", f"{100 * v['param_diff']:+.2f}%",
                     fmt(mean), " / ".join(fmt(x) for x in vals), fmt(float(np.exp(mean)), 2)])
    seconds = time.perf_counter() - t0
    caption = (f"d_model={cfg['d_model']}, n_layer={cfg['n_layer']}, n_head={cfg['n_head']}, pre-LN, learned "
               f"positions; {cfg['steps']} steps of {cfg['batch_size']} x {cfg['seq_len']} characters, AdamW "
               f"lr={cfg['lr']} ({cfg['warmup']} warmup, cosine), clip 1.0, seeds {cfg['seeds']}. {seconds:.0f} s.")
    print_table("Norms and activations at equal parameter count: final validation loss (nats/char)",
                columns, rows, caption)

    write_json(out / f"{NAME}.json", dict(settings=cfg, summary=summary, runs=runs, seconds=seconds))
    write_text(out / f"{NAME}.md", markdown_table(columns, rows))
    label = {"layernorm": "LN", "rmsnorm": "RMS"}
    curves = {}
    for s in summary:
        steps = np.asarray(s["val_steps"])
        keep = steps >= steps.max() * 0.2                       # skip the first drop: the differences are late
        curves[f"{label[s['norm']]} + {s['activation']}"] = {
            "x": steps[keep], "y": np.asarray(s["val_curve"])[keep], "dashed": s["norm"] == "rmsnorm"}
    plots = [line_plot(curves, out / f"{NAME}_curves.svg",
                       title=f"Validation loss during training (mean of {len(cfg['seeds'])} seed(s))",
                       xlabel="step", ylabel="val loss (nats/char)")]
    finals = {f"{label[s['norm']]} + {s['activation']}": s["val_loss_mean"] for s in summary}
    lo, hi = min(finals.values()), max(finals.values())
    pad = max(hi - lo, 1e-3)
    plots.append(bar_plot(finals, out / f"{NAME}_final.svg",
                          title="Final validation loss (note: the y axis does not start at 0)",
                          ylabel="val loss (nats/char)", ylim=(lo - 1.5 * pad, hi + 0.5 * pad)))
    if log:
        log("wrote " + ", ".join(rel(p) for p in [out / f"{NAME}.json", out / f"{NAME}.md", *plots]))
    return dict(settings=cfg, summary=summary, runs=runs, seconds=seconds, plots=[str(p) for p in plots])


if __name__ == "__main__":
    main()
