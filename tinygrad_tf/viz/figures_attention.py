"""Attention as figures for slides: one head with its tokens on both axes, or a grid of heads (matplotlib).

    maps.heatmap(layer=0, head=1).save_figure("head.svg")     # one head; T5's cross-attention: source x target
    maps.overview().save_figure("heads.png")                  # every layer x head, tagged as on the terminal
    heatmap_figure(weights, tokens, tokens, title="layer 0 · head 1")    # from any (queries, keys) array

The readouts (viz/attention_views.py) choose the window of tokens and the labels; these functions draw.
Colours are viridis from 0 to the largest shown weight (a colour bar says so), masked cells (a causal model's
future, padding) are left white, and small maps write each weight in its cell.
"""

from __future__ import annotations

import numpy as np

from .figures import label_text, new_figure, styled

__all__ = ["heatmap_figure", "heatmap_grid_figure"]


def _cmap():
    import matplotlib
    return matplotlib.colormaps["viridis"].with_extremes(bad="#ffffff")


def _scale(m, mask, vmax):
    if vmax is not None:
        return float(vmax)
    informative = (~mask).sum(1) > 1               # a row that sees one key is 1.0 by force: not the scale
    pick = np.where(mask, np.nan, m)[informative] if informative.any() else np.where(mask, np.nan, m)
    finite = pick[np.isfinite(pick)]
    return float(finite.max()) if finite.size and finite.max() > 0 else 1.0


@styled
def heatmap_figure(matrix, x_labels, y_labels, mask=None, title: str = "", vmax=None, annotate="auto",
                   xlabel: str = "keys (attended to)", ylabel: str = "queries (attending)", note: str = "",
                   cell: float = 0.34):
    """One attention matrix (queries x keys) with token labels: ``x_labels`` the keys (columns), ``y_labels``
    the queries (rows); ``mask`` True where a cell is masked (drawn white). ``vmax``: the top of the colour
    scale (default the largest weight in a row that sees more than one key). ``annotate``: write the weights
    in the cells ("auto": when there are at most 12 x 12)."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"heatmap_figure expects a 2-D (queries, keys) matrix, got shape {m.shape}")
    tq, tk = m.shape
    if len(x_labels) != tk or len(y_labels) != tq:
        raise ValueError(f"heatmap_figure: {len(y_labels)} x {len(x_labels)} labels for a {tq} x {tk} matrix")
    mask = np.zeros(m.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    top = _scale(m, mask, vmax)
    fig = new_figure(max(3.6, tk * cell + 2.4), max(3.0, tq * cell + 1.9))
    ax = fig.add_subplot()
    im = ax.imshow(np.ma.masked_array(m, mask=mask), cmap=_cmap(), vmin=0.0, vmax=top, aspect="equal",
                   interpolation="nearest")
    im.set_gid("heatmap")
    ax.set_xticks(np.arange(tk), [label_text(t) for t in x_labels], rotation=90, fontsize=9)
    ax.set_yticks(np.arange(tq), [label_text(t) for t in y_labels], fontsize=9)
    ax.tick_params(length=0)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    if annotate == "auto":
        annotate = tq <= 12 and tk <= 12
    if annotate:
        for i in range(tq):
            for j in range(tk):
                if not mask[i, j] and np.isfinite(m[i, j]):
                    ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="#000000" if m[i, j] / top > 0.6 else "#ffffff")
    ax.set_xlabel(label_text(xlabel))
    ax.set_ylabel(label_text(ylabel))
    if title:
        ax.set_title(label_text(title), fontweight="bold")
    bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03, shrink=min(1.0, max(0.4, tq / 8)))
    bar.set_label("attention weight" + (" (white: masked)" if mask.any() else ""), fontsize=9)
    if note:
        fig.text(0.01, 0.0, label_text(note), fontsize=8, color="#555555", va="bottom")
    return fig


@styled
def heatmap_grid_figure(weights, x_labels, y_labels, mask=None, layers=None, heads=None, captions=None,
                        title: str = "", scale: str = "head", label_limit: int = 24, panel: float = 1.5):
    """Small multiples: one map per (layer, head) of ``weights`` (layers, heads, queries, keys), layers down,
    heads across. ``captions``: {(layer, head): text} under each map (e.g. its pattern tag); ``scale``: "head"
    (each map from 0 to its own largest weight) or "shared" (all 0..1). Token labels go on the outer maps
    when there are at most ``label_limit`` tokens."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 4:
        raise ValueError(f"heatmap_grid_figure expects (layers, heads, queries, keys), got shape {w.shape}")
    if scale not in ("head", "shared"):
        raise ValueError(f"scale must be 'head' or 'shared', got {scale!r}")
    layers = list(range(w.shape[0])) if layers is None else list(layers)
    heads = list(range(w.shape[1])) if heads is None else list(heads)
    tq, tk = w.shape[2:]
    mask = np.zeros((tq, tk), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    labels = max(tq, tk) <= label_limit
    fig = new_figure(panel * len(heads) + (1.2 if labels else 0.6),
                     panel * len(layers) * tq / max(tk, 1) + (1.4 if labels else 0.9) + (0.3 if captions else 0))
    axes = np.atleast_2d(fig.subplots(len(layers), len(heads), squeeze=False))
    cmap = _cmap()
    for r, layer in enumerate(layers):
        for c, head in enumerate(heads):
            ax = axes[r, c]
            m = w[layer, head]
            top = 1.0 if scale == "shared" else _scale(m, mask, None)
            im = ax.imshow(np.ma.masked_array(m, mask=mask), cmap=cmap, vmin=0.0, vmax=top, aspect="equal",
                           interpolation="nearest")
            im.set_gid(f"map-{layer}-{head}")
            ax.set_xticks([])
            ax.set_yticks([])
            if labels and r == len(layers) - 1:
                ax.set_xticks(np.arange(tk), [label_text(t) for t in x_labels], rotation=90, fontsize=6)
            if labels and c == 0:
                ax.set_yticks(np.arange(tq), [label_text(t) for t in y_labels], fontsize=6)
            ax.tick_params(length=0)
            for side in ("top", "right", "bottom", "left"):
                ax.spines[side].set_visible(False)
            cap = label_text((captions or {}).get((layer, head)) or "")
            head_line = f"head {head}" if r == 0 else ""
            if head_line or cap:
                ax.set_title("\n".join(x for x in (head_line, cap) if x), fontsize=8)
            if c == 0:
                ax.set_ylabel(f"layer {layer}", fontsize=9)
    if title:
        fig.suptitle(label_text(title), fontweight="bold")
    fig.text(0.5, 0.0, "each map from 0 (dark) to its own largest weight (yellow); white: masked" if scale == "head"
             else "all maps on one scale, 0 (dark) to 1 (yellow); white: masked", ha="center", va="bottom",
             fontsize=8, color="#555555")
    return fig
