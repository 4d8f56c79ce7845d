"""What did each attention head learn? Train a small character GPT, then tag every head with
``viz.attention_maps(...).analysis()`` (previous-token, self, first-token/sink, local, broad/uniform, ...).

One window of text is one sample, so the analysis runs on many validation windows and the table reports
each head's mean attention masses and how often each tag was given (a tag in >= half the windows is the
head's tag). The same analysis of the *untrained* model (same seed, before step 1) is the control: it
shows which tags training created. A distance profile (mean attention weight on the key k = q - d, for
each offset d) is drawn for every head.

    python -m experiments.head_patterns            # the documented run (~1 minute on one CPU core)
    python -m experiments.head_patterns --smoke    # 3 steps of a tiny model
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np

import tinygrad_tf as tg
from tinygrad_tf import viz
from tinygrad_tf.nn.models import GPT
from tinygrad_tf.viz.figures import line_plot

from .common import (TrainSettings, arg_parser, char_data, eval_windows, fmt, markdown_table, model_config,
                     print_table, rel, resolve_out, settings_for, train_char_gpt, write_json, write_text)

NAME = "head_patterns"
FULL = dict(d_model=64, n_layer=2, n_head=4, seed=0, steps=800, seq_len=64, batch_size=16, lr=3e-3, warmup=50,
            windows=32, max_offset=16)
SMOKE = dict(d_model=16, n_layer=1, n_head=2, seed=0, steps=3, seq_len=16, batch_size=4, lr=3e-3, warmup=1,
             windows=2, max_offset=4)
MASSES = ("previous", "self", "first", "local", "delimiter")


def analyse(model, windows, tokenizer):
    """Per head: the analysis dicts of every window, and the attention-by-distance profile."""
    with tg.no_grad():
        model.eval()
        out = model(windows, output_attentions=True)
    att = np.stack([a.numpy() for a in out.attentions], axis=1)            # (B, L, H, T, T)
    per_window = []
    for i in range(len(windows)):
        maps = viz.attention_maps(out, tokens=viz.token_labels(windows[i], tokenizer), batch=i)
        per_window.append(maps.analysis().to_dict()["heads"])
    return att, per_window, out


def distance_profile(att, max_offset):
    """Mean attention weight on key q - d, for d = 0 .. max_offset, over queries q >= max_offset."""
    T = att.shape[-1]
    q = np.arange(max_offset, T)
    prof = [att[..., q, q - d].mean(axis=(0, -1)) for d in range(max_offset + 1)]   # each (L, H)
    return np.stack(prof, axis=-1)                                                  # (L, H, max_offset + 1)


def summarise(per_window, n_layer, n_head):
    rows = []
    for layer in range(n_layer):
        for head in range(n_head):
            hs = [w[layer * n_head + head] for w in per_window]
            tags = Counter(t for h in hs for t in h["patterns"])
            mass = {k: float(np.mean([h["mass"][k] for h in hs if h["mass"].get(k) is not None] or [np.nan]))
                    for k in MASSES}
            rows.append(dict(layer=layer, head=head, tag_counts=dict(tags), windows=len(hs),
                             tags=[t for t, c in tags.most_common() if c >= len(hs) / 2],
                             entropy=float(np.mean([h["normalized_entropy"] for h in hs])), mass=mass))
    return rows


def _tags(s):
    return ", ".join(s["tags"]) or "—"


def main(argv=None) -> dict:
    args = arg_parser(__doc__.splitlines()[0]).parse_args(argv)
    cfg = settings_for(args, FULL, SMOKE)
    out = resolve_out(args)
    log = None if args.quiet else print
    data = char_data()
    t0 = time.perf_counter()
    kw = dict(d_model=cfg["d_model"], n_layer=cfg["n_layer"], n_head=cfg["n_head"])
    windows = eval_windows(data.val, cfg["seq_len"], cfg["windows"])
    tg.manual_seed(cfg["seed"])                                  # the same initial weights train_char_gpt starts from
    untrained = GPT(model_config(data, context_length=cfg["seq_len"], **kw))
    _, before_windows, _ = analyse(untrained, windows, data.tokenizer)
    st = TrainSettings(steps=cfg["steps"], seq_len=cfg["seq_len"], batch_size=cfg["batch_size"], lr=cfg["lr"],
                       warmup=cfg["warmup"], schedule="cosine", grad_clip=1.0, seed=cfg["seed"],
                       eval_every=max(cfg["steps"] // 4, 1), eval_windows=4 if args.smoke else 48,
                       final_eval_windows=4 if args.smoke else 256)
    r = train_char_gpt(kw, st, name="head patterns", data=data, log=log)
    att, after_windows, _ = analyse(r.model, windows, data.tokenizer)
    before = summarise(before_windows, cfg["n_layer"], cfg["n_head"])
    after = summarise(after_windows, cfg["n_layer"], cfg["n_head"])
    seconds = time.perf_counter() - t0

    columns = ["L.H", "H/ln n", "prev", "self", "first", "local", "tags after training (windows)",
               "tags before training"]
    rows = []
    for a, b in zip(after, before):
        counts = ", ".join(f"{t} {c}/{a['windows']}" for t, c in sorted(a["tag_counts"].items(), key=lambda x: -x[1]))
        rows.append([f"{a['layer']}.{a['head']}", fmt(a["entropy"], 2)] + [fmt(a["mass"][k], 2) for k in
                                                                           ("previous", "self", "first", "local")]
                    + [counts or "—", _tags(b)])
    caption = (f"d_model={cfg['d_model']}, n_layer={cfg['n_layer']}, n_head={cfg['n_head']}, learned positions, "
               f"{cfg['steps']} steps of {cfg['batch_size']} x {cfg['seq_len']} characters, final val loss "
               f"{fmt(r.final_val_loss)}. Masses: mean attention per query row on the previous token, itself, "
               f"the first token, |q-k| <= 2; averaged over {cfg['windows']} validation windows of "
               f"{cfg['seq_len']} characters. {seconds:.0f} s.")
    print_table("Attention heads of a trained character GPT: what each head attends to", columns, rows, caption)

    # files: the table, the profile plot, and the library's own readout of one window as an SVG
    prof = distance_profile(att, min(cfg["max_offset"], cfg["seq_len"] - 1))
    write_json(out / f"{NAME}.json", dict(settings=cfg, final_val_loss=r.final_val_loss, after=after, before=before,
                                          distance_profile=prof, seconds=seconds,
                                          thresholds=dict(viz.THRESHOLDS)))
    write_text(out / f"{NAME}.md", markdown_table(columns, rows))
    series = {}
    for layer in range(cfg["n_layer"]):
        for head in range(cfg["n_head"]):
            s = after[layer * cfg["n_head"] + head]
            label = f"{layer}.{head}: {', '.join(s['tags']) or 'no tag'}"
            series[label] = {"x": np.arange(prof.shape[-1]), "y": prof[layer, head], "mode": "both",
                             "dashed": layer % 2 == 1}
    plots = [line_plot(series, out / f"{NAME}_distance.svg",
                       title="Mean attention on the key d tokens back, per head (layer.head: tags)",
                       xlabel="offset d = query − key (0 = itself, 1 = previous token)",
                       ylabel="mean attention weight", height=460, xticks=list(range(0, prof.shape[-1], 2)))]
    maps = viz.attention_maps(r.model, windows[:1], tokenizer=data.tokenizer)
    plots.append(viz.save_svg(maps.analysis(), out / f"{NAME}_analysis.svg", width=150,
                              title="attention_maps(model, ids).analysis(): one validation window"))
    if log:
        log("wrote " + ", ".join(rel(p) for p in [out / f"{NAME}.json", out / f"{NAME}.md", *plots]))
    return dict(settings=cfg, after=after, before=before, final_val_loss=r.final_val_loss, seconds=seconds,
                plots=[str(p) for p in plots])


if __name__ == "__main__":
    main()
