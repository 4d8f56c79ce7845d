"""Positional encodings and length extrapolation: train at length T, test at T, 2T and 4T.

Five models identical but for GPTConfig.position: "sinusoidal", "learned", "rope", "alibi", "none" (a
causal model can still infer positions without any encoding). Every model is *trained* on windows of
T tokens only, then evaluated on longer windows. Learned (and sinusoidal) positions are tables with one
row per position, so those models are built with context_length = 4T: the rows from T on exist but never
receive a gradient (they stay at their random initial values, N(0, 0.02)) — that is what "a learned
table cannot extrapolate" means in practice. Sinusoidal rows past T are well defined, just never seen.
(Position T, counting from 1, is the first one that is new: a training window of T tokens scores the
predictions made at positions 1 .. T-1; the last position's prediction has no target, so its table row
gets no gradient either.)

    python -m experiments.positional_extrapolation            # the documented run (~1.5 minutes, one core)
    python -m experiments.positional_extrapolation --smoke    # 3 steps of a tiny model
"""

from __future__ import annotations

import math
import time

import numpy as np

from tinygrad_tf.viz.figures import line_plot

from .common import (TrainSettings, arg_parser, char_data, eval_windows, fmt, markdown_table, per_position_loss,
                     print_table, rel, resolve_out, settings_for, smooth, train_char_gpt, write_json, write_text)

NAME = "positional_extrapolation"
FULL = dict(d_model=64, n_layer=2, n_head=4, seeds=[0], steps=600, seq_len=32, batch_size=16, lr=3e-3, warmup=50,
            factors=[1, 2, 4], eval_windows=256)
SMOKE = dict(d_model=16, n_layer=1, n_head=2, seeds=[0], steps=3, seq_len=8, batch_size=4, lr=3e-3, warmup=1,
             factors=[1, 2], eval_windows=4)
# name -> (GPTConfig.position, scale of the sinusoid table). The library adds the sinusoid as it is
# (amplitude 1) to token embeddings initialised at std 0.02 (GPT-2); the scaled arm shrinks the table to the
# embeddings' size, to separate "sinusoids" from "a position signal 50x louder than the tokens".
VARIANTS = {"sinusoidal": ("sinusoidal", 1.0), "sinusoidal x0.02": ("sinusoidal", 0.02), "learned": ("learned", 1.0),
            "rope": ("rope", 1.0), "alibi": ("alibi", 1.0), "none": ("none", 1.0)}
POSITIONS = list(VARIANTS)


def scale_table(scale):
    def prepare(model):
        if scale != 1.0:
            model.wpe.table.data = model.wpe.table.data * np.float32(scale)
    return prepare


def main(argv=None) -> dict:
    args = arg_parser(__doc__.splitlines()[0]).parse_args(argv)
    cfg = settings_for(args, FULL, SMOKE)
    out = resolve_out(args)
    log = None if args.quiet else print
    data = char_data()
    t0 = time.perf_counter()
    T, factors = cfg["seq_len"], cfg["factors"]
    max_len = T * max(factors)
    results = []
    for pos, (position, scale) in VARIANTS.items():
        for seed in cfg["seeds"]:
            st = TrainSettings(steps=cfg["steps"], seq_len=T, batch_size=cfg["batch_size"], lr=cfg["lr"],
                               warmup=cfg["warmup"], schedule="cosine", grad_clip=1.0, seed=seed,
                               eval_every=max(cfg["steps"] // 6, 1), eval_windows=4 if args.smoke else 48,
                               final_eval_windows=cfg["eval_windows"])
            r = train_char_gpt(dict(d_model=cfg["d_model"], n_layer=cfg["n_layer"], n_head=cfg["n_head"],
                                    position=position, context_length=max_len), st, name=f"{pos} s{seed}", data=data,
                               prepare=scale_table(scale))
            # per-position loss on windows of every length (the same number of windows for each length)
            curves = {f: per_position_loss(r.model, eval_windows(data.val, f * T, cfg["eval_windows"]))
                      for f in factors}
            res = dict(position=pos, seed=seed, n_params=r.n_params, train_seconds=r.seconds,
                       final_train_loss=float(np.mean(r.train_loss[-20:])), per_position=curves)
            for f, c in curves.items():
                res[f"loss_{f}x"] = float(c.mean())                      # every prediction in the window
                res[f"loss_{f}x_beyond"] = float(c[T - 1:].mean()) if f > 1 else None   # positions >= T (1-based)
            results.append(res)
            if log:
                log(f"{pos:>16} seed {seed}: " + "  ".join(
                    f"ppl@{f}T {math.exp(res[f'loss_{f}x']):.2f}" for f in factors) + f"  ({r.seconds:.1f}s)")

    columns = ["position", "params"] + [f"ppl @ {'' if f == 1 else f}T" + ("" if f == 1 else " (all)")
                                        for f in factors] + [f"ppl @ {f}T (positions ≥ T)" for f in factors if f > 1]
    rows, summary = [], []
    for pos in POSITIONS:
        rs = [r for r in results if r["position"] == pos]
        m = {k: float(np.mean([r[k] for r in rs])) for k in rs[0] if k.startswith("loss_") and rs[0][k] is not None}
        summary.append(dict(position=pos, n_params=rs[0]["n_params"], **m,
                            **{k.replace("loss", "ppl"): math.exp(v) for k, v in m.items()}))
        rows.append([pos, f"{rs[0]['n_params']:,}"] + [fmt(math.exp(m[f"loss_{f}x"]), 2) for f in factors]
                    + [fmt(math.exp(m[f"loss_{f}x_beyond"]), 2) for f in factors if f > 1])
    seconds = time.perf_counter() - t0
    caption = (f"Trained on T={T} characters: d_model={cfg['d_model']}, n_layer={cfg['n_layer']}, n_head="
               f"{cfg['n_head']}, {cfg['steps']} steps of {cfg['batch_size']} x {T}, AdamW lr={cfg['lr']} "
               f"(warmup {cfg['warmup']}, cosine), seeds {cfg['seeds']}; built with context_length={max_len}. "
               f"Perplexity per character on {cfg['eval_windows']} validation windows of each length. "
               f"{seconds:.0f} s.")
    print_table("Length extrapolation: validation perplexity at the training length and beyond", columns, rows,
                caption)

    write_json(out / f"{NAME}.json", dict(settings=cfg, summary=summary, runs=results, seconds=seconds))
    write_text(out / f"{NAME}.md", markdown_table(columns, rows))
    f_max = max(factors)
    series = {}
    for pos in POSITIONS:
        c = np.mean([r["per_position"][f_max] for r in results if r["position"] == pos], axis=0)
        series[pos] = (np.arange(1, len(c) + 1), smooth(c, 3))
    plots = [line_plot(series, out / f"{NAME}.svg",
                       title=f"Loss by position: trained on {T} tokens, tested on {f_max * T}",
                       xlabel="position in the window, from 1 (= characters of context seen)",
                       ylabel="val loss at that position (nats)", vlines={T: f"T={T}: first position never trained"})]
    if log:
        log("wrote " + ", ".join(rel(p) for p in [out / f"{NAME}.json", out / f"{NAME}.md", *plots]))
    return dict(settings=cfg, summary=summary, runs=results, seconds=seconds, plots=[str(p) for p in plots])


if __name__ == "__main__":
    main()
