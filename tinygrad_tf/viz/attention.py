"""Attention in the terminal: heatmaps with token labels, all heads at a glance, per-head analysis, rollout.

    from tinygrad_tf import viz
    maps = viz.attention_maps(model, ids, tokenizer=tok)        # runs model(ids, output_attentions=True)
    maps = viz.attention_maps(out, tokens=["The", " cat", ...])  # or from an output you already have
    maps.heatmap(layer=0, head=1)          # one head: square cells, viridis, token labels, masked cells blank
    maps.overview()                        # every layer x head as small multiples, tagged ("prev", "sink", ...)
    maps.analysis()                        # entropy, attention masses, pattern tags, top connections
    maps.rollout()                         # attention rollout through the layers (Abnar & Zuidema)
    maps.to_json("attn.json")              # web-front-end records; layout="bertviz" for bertviz's shape

Everything here reads what the models already return (``output.attentions`` and, for encoder-decoder
models, ``encoder_attentions`` / ``decoder_attentions`` / ``cross_attentions``); nothing reaches inside a model.
A model's attention comes as named *stacks* of shape (layers, heads, queries, keys): GPT and BERT have one
("attention"); T5 has "encoder", "decoder" and "cross" (source tokens on x, target tokens on y).

Colours: viridis with a legend. With NO_COLOR set, or on a console without colours (a file, a pipe), the
cells are drawn with the shades `` ░▒▓█`` instead. Masked cells (a causal model's future, padding) are blank.
Long sequences are windowed (the last N tokens by default, ``window="first"`` or ``(start, stop)`` to choose);
the window is said on screen.
"""

from __future__ import annotations

import json

import numpy as np
from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions
from rich.table import Table
from rich.text import Text

from .attention_analysis import (LOCAL_WINDOW, TAG_ABBREV, THRESHOLDS, HeadStats, analyze_head, attention_rollout,
                                 masked_cells, structural_mask, thresholds_text)
from .readout import (Readout, atomic_write, cell_style, fmt_num, json_safe, pair_style, shade, to_numpy,
                      use_colour)

__all__ = ["AttentionMaps", "AttentionStack", "AttentionHeatmap", "AttentionGrid", "AttentionAnalysis",
           "AttentionRollout", "attention_maps", "attention_heatmap", "attention_overview", "attention_analysis",
           "attention_rollout_map", "token_labels", "display_token"]

_CONTROL = {"\n": "⏎", "\t": "⇥", "\r": "␍", " ": "␣", "": "∅"}
STACK_TITLES = {"attention": "self-attention", "encoder": "encoder self-attention",
                "decoder": "decoder self-attention", "cross": "cross-attention (decoder → encoder)"}


# ---------------------------------------------------------------- tokens
def display_token(tok) -> str:
    """A token as it can be printed in one line: spaces, newlines and tabs made visible (␣ ⏎ ⇥)."""
    s = str(tok)
    if s in _CONTROL:
        return _CONTROL[s]
    s = s.replace("Ġ", " ").replace("▁", " ")              # GPT-2 / SentencePiece word starts
    out = "".join(_CONTROL.get(ch, ch) if ch in "\n\t\r" else ("·" if not ch.isprintable() else ch) for ch in s)
    return out.replace(" ", "␣")


def token_labels(ids, tokenizer=None) -> list[str]:
    """One label per id: the tokenizer's ``id_to_token`` (or ``decode([id])``), else the id itself."""
    ids = [int(i) for i in np.asarray(to_numpy(ids)).reshape(-1)]
    if tokenizer is None:
        return [str(i) for i in ids]
    for name in ("id_to_token", "convert_ids_to_tokens"):
        fn = getattr(tokenizer, name, None)
        if fn is not None:
            try:
                return [str(fn(i)) for i in ids]
            except Exception:  # noqa: BLE001  (an id outside the vocabulary: fall through to decode / ids)
                break
    try:
        return [tokenizer.decode([i]) for i in ids]
    except Exception:  # noqa: BLE001
        return [str(i) for i in ids]


def _fit(text: str, width: int) -> Text:
    t = Text(text, no_wrap=True)
    if cell_len(text) > width:
        t.truncate(width, overflow="ellipsis")
    return t


# ---------------------------------------------------------------- data: named stacks of attention maps
class AttentionStack:
    """One kind of attention of one input: ``weights`` (layers, heads, queries, keys) as float64,
    ``y_tokens`` label the queries (rows), ``x_tokens`` the keys (columns); ``mask`` (queries, keys) is
    True where a cell is masked (by default: a causal triangle or padded keys that every layer and head
    gives weight exactly 0)."""

    def __init__(self, name, weights, x_tokens=None, y_tokens=None, mask="auto", kind=None):
        w = to_numpy(weights)
        if w.ndim == 2:
            w = w[None, None]
        elif w.ndim == 3:
            w = w[None]
        if w.ndim != 4:
            raise ValueError(f"attention stack {name!r}: expected (layers, heads, queries, keys), got shape {w.shape}")
        self.name = str(name)
        self.weights = w
        _, _, tq, tk = w.shape
        self.kind = kind or ("cross" if "cross" in self.name else "self")
        self.x_tokens = _labels(x_tokens, tk, f"{name} keys")
        self.y_tokens = _labels(y_tokens if y_tokens is not None else (x_tokens if self.kind == "self" else None),
                                tq, f"{name} queries")
        if isinstance(mask, str) and mask == "auto":          # zero in every layer and head, and structural
            self.mask = structural_mask(np.all(w == 0, axis=(0, 1)))
        else:
            self.mask = masked_cells(w[0, 0], mask)
        self._stats: dict = {}

    @property
    def n_layer(self) -> int:
        return self.weights.shape[0]

    @property
    def n_head(self) -> int:
        return self.weights.shape[1]

    @property
    def square(self) -> bool:
        return self.kind == "self" and self.weights.shape[2] == self.weights.shape[3]

    @property
    def title(self) -> str:
        return STACK_TITLES.get(self.name, self.name)

    def matrix(self, layer=0, head=0) -> np.ndarray:
        """(queries, keys) weights of one head; ``head="mean"`` averages the layer's heads."""
        self._check(layer, 0 if head == "mean" else head)
        return self.weights[layer].mean(0) if head == "mean" else self.weights[layer, head]

    def stats(self, layer, head, thresholds=None, top_k=3) -> HeadStats:
        key = (layer, head, tuple(sorted((thresholds or {}).items())), top_k)
        if key not in self._stats:
            self._stats[key] = analyze_head(self.matrix(layer, head), self.mask, self.x_tokens, self.y_tokens,
                                            square=self.square, thresholds=thresholds, top_k=top_k,
                                            layer=layer, head=head)
        return self._stats[key]

    def _check(self, layer, head):
        if not 0 <= layer < self.n_layer:
            raise IndexError(f"{self.name}: layer {layer} out of range (the model has {self.n_layer} layers, 0-based)")
        if not 0 <= head < self.n_head:
            raise IndexError(f"{self.name}: head {head} out of range (each layer has {self.n_head} heads, 0-based)")

    def __repr__(self):
        l_, h, tq, tk = self.weights.shape
        return f"AttentionStack({self.name!r}, layers={l_}, heads={h}, queries={tq}, keys={tk})"


def _labels(tokens, n, what) -> list[str]:
    if tokens is None:
        return [str(i) for i in range(n)]
    tokens = [str(t) for t in tokens]
    if len(tokens) != n:
        raise ValueError(f"{what}: {len(tokens)} token labels for {n} positions")
    return tokens


def _per_layer(x, batch) -> np.ndarray:
    """A tuple of per-layer (B, H, T, S) tensors -> (L, H, T, S) for one batch row; arrays pass through."""
    if isinstance(x, (list, tuple)):
        layers = []
        for a in x:
            a = to_numpy(a)
            if a.ndim == 4:
                if not 0 <= batch < a.shape[0]:
                    raise IndexError(f"batch {batch} out of range (batch size {a.shape[0]})")
                a = a[batch]
            layers.append(a)
        return np.stack(layers)
    return to_numpy(x)


_OUTPUT_FIELDS = (("encoder_attentions", "encoder"), ("decoder_attentions", "decoder"), ("cross_attentions", "cross"))


def _stacks_from(source, batch) -> dict:
    """name -> (L, H, T, S) array, from a model output, a dict, a tuple of layers or an array.

    Output objects: ``.attentions`` (a per-layer tuple: one stack "attention"; a dict or a NamedTuple such as
    T5's ``Seq2SeqAttentions(encoder, decoder, cross)``: one stack per field), and Hugging Face's
    ``encoder_attentions`` / ``decoder_attentions`` / ``cross_attentions``."""
    if hasattr(source, "_asdict"):
        source = source._asdict()
    if isinstance(source, dict):
        return {str(k): _per_layer(v, batch) for k, v in source.items() if v is not None and len(v)}
    if isinstance(source, (list, tuple, np.ndarray)) or hasattr(source, "shape"):
        return {"attention": _per_layer(source, batch)}
    main = getattr(source, "attentions", None)
    if hasattr(main, "_asdict"):
        main = main._asdict()
    found = {str(k): v for k, v in main.items()} if isinstance(main, dict) else {}
    for attr, name in _OUTPUT_FIELDS:
        v = getattr(source, attr, None)
        if v is not None and name not in found:
            found[name] = v
    if main is not None and not isinstance(main, dict) and not any(main is v for v in found.values()):
        found = {"attention": main, **found}
    found = {k: v for k, v in found.items() if v is not None and len(v)}
    if not found:
        raise ValueError("no attention weights in this output: run the model with output_attentions=True")
    return {k: _per_layer(v, batch) for k, v in found.items()}


class AttentionMaps(Readout):
    """Named attention stacks of one input, with token labels, and every readout of them."""

    def __init__(self, stacks: dict, thresholds=None):
        if not stacks:
            raise ValueError("AttentionMaps needs at least one attention stack")
        self.stacks = {s.name: s for s in (stacks.values() if isinstance(stacks, dict) else stacks)}
        self.thresholds = {**THRESHOLDS, **(thresholds or {})}

    @classmethod
    def from_output(cls, output, tokens=None, decoder_tokens=None, batch=0, mask="auto", thresholds=None):
        """From a model output (``.attentions``, or T5's encoder/decoder/cross attentions), a dict of stacks,
        a tuple of per-layer (B, H, T, S) tensors, or an array (L, H, T, S) / (H, T, S) / (T, S).

        ``tokens`` label the (encoder's) input, ``decoder_tokens`` the decoder's: cross-attention has the
        source (``tokens``) on x and the target (``decoder_tokens``) on y."""
        raw = _stacks_from(output, batch)
        stacks = {}
        for name, w in raw.items():
            if name == "decoder":
                x = y = decoder_tokens
            elif "cross" in name:
                x, y = tokens, decoder_tokens
            else:
                x = y = tokens
            stacks[name] = AttentionStack(name, w, x, y, mask=mask)
        return cls(stacks, thresholds)

    # ------------------------------------------------------------ access
    @property
    def names(self) -> list[str]:
        return list(self.stacks)

    def stack(self, name=None) -> AttentionStack:
        if name is None:
            return next(iter(self.stacks.values()))
        if name not in self.stacks:
            raise KeyError(f"no attention stack {name!r}; this model has: {', '.join(self.stacks)}")
        return self.stacks[name]

    __getitem__ = stack

    # ------------------------------------------------------------ readouts
    def heatmap(self, layer=0, head=0, stack=None, **kwargs) -> "AttentionHeatmap":
        """One head (``head="mean"``: the layer's average) as a heatmap; keywords as ``AttentionHeatmap``."""
        s = self.stack(stack)
        m = s.matrix(layer, head)
        stats = s.stats(layer, head, self.thresholds) if head != "mean" else None
        title = f"{s.title} · layer {layer} · " + ("mean of heads" if head == "mean" else f"head {head}")
        return AttentionHeatmap(m, s.x_tokens, s.y_tokens, mask=s.mask, title=title, stats=stats, layer=layer,
                                head=head, square=s.square, thresholds=self.thresholds, **kwargs)

    def overview(self, stack=None, **kwargs) -> "AttentionGrid":
        return AttentionGrid(self.stack(stack), thresholds=self.thresholds, **kwargs)

    def analysis(self, stack=None, layers=None, top_k=2) -> "AttentionAnalysis":
        return AttentionAnalysis(self.stack(stack), layers=layers, thresholds=self.thresholds, top_k=top_k)

    def rollout(self, stack=None, add_residual=True, head_fusion="mean", **kwargs) -> "AttentionRollout":
        s = self.stack(stack) if stack is not None else next(
            (v for v in self.stacks.values() if v.square), self.stack())
        return AttentionRollout(s, add_residual=add_residual, head_fusion=head_fusion, **kwargs)

    # ------------------------------------------------------------ plain data
    def to_records(self, stack=None, top_k=3, digits=6) -> list[dict]:
        """The shape web front ends use: one record per (layer, head) with ``layer, head, matrix, x_labels,
        y_labels, entropy, patterns, top_connections`` (plus ``stack``, ``normalized_entropy``, ``mass``)."""
        names = [stack] if stack is not None else self.names
        out = []
        for name in names:
            s = self.stack(name)
            for layer in range(s.n_layer):
                for head in range(s.n_head):
                    st = s.stats(layer, head, self.thresholds, top_k)
                    out.append({"stack": s.name, "layer": layer, "head": head,
                                "matrix": np.round(s.weights[layer, head], digits).tolist(),
                                "x_labels": list(s.x_tokens), "y_labels": list(s.y_tokens),
                                "entropy": st.entropy, "normalized_entropy": st.normalized_entropy,
                                "patterns": list(st.patterns), "mass": dict(st.mass),
                                "top_connections": [dict(c) for c in st.top_connections]})
        return out

    def to_dict(self, top_k=3) -> dict:
        return {"stacks": {n: {"title": s.title, "kind": s.kind, "n_layer": s.n_layer, "n_head": s.n_head,
                               "x_tokens": list(s.x_tokens), "y_tokens": list(s.y_tokens)}
                           for n, s in self.stacks.items()},
                "thresholds": dict(self.thresholds), "local_window": LOCAL_WINDOW,
                "heads": self.to_records(top_k=top_k)}

    def to_bertviz(self, digits=6) -> dict:
        """bertviz's layout. One stack: ``{"tokens", "attention": [layers][heads][T][T]}``; encoder-decoder:
        ``{"encoder_attention", "decoder_attention", "cross_attention", "encoder_tokens", "decoder_tokens"}``."""
        def arr(s):
            return np.round(s.weights, digits).tolist()
        if {"encoder", "decoder"} <= set(self.stacks):
            enc, dec = self.stacks["encoder"], self.stacks["decoder"]
            cross = next((s for n, s in self.stacks.items() if "cross" in n), None)
            return {"encoder_attention": arr(enc), "decoder_attention": arr(dec),
                    "cross_attention": arr(cross) if cross is not None else None,
                    "encoder_tokens": list(enc.x_tokens), "decoder_tokens": list(dec.x_tokens)}
        s = self.stack("attention" if "attention" in self.stacks else None)
        return {"tokens": list(s.x_tokens), "attention": arr(s)}

    def to_json(self, path=None, indent=None, layout="web") -> str:
        """``layout``: "web" (a list of per-head records), "bertviz", or "full" (``to_dict``: stacks,
        thresholds and the records). With ``path`` the JSON is also written there (atomically)."""
        if layout == "web":
            obj = self.to_records()
        elif layout == "bertviz":
            obj = self.to_bertviz()
        elif layout == "full":
            obj = self.to_dict()
        else:
            raise ValueError(f"layout must be 'web', 'bertviz' or 'full', got {layout!r}")
        text = json.dumps(json_safe(obj), indent=indent)
        if path is not None:
            atomic_write(path, (text + "\n").encode("utf-8"))
        return text

    def __rich_console__(self, console: Console, options: ConsoleOptions):
        for s in self.stacks.values():
            yield AttentionGrid(s, thresholds=self.thresholds)
            yield AttentionAnalysis(s, thresholds=self.thresholds, top_k=1)

    def __repr__(self):
        inner = ", ".join(repr(s) for s in self.stacks.values())
        return f"AttentionMaps({inner})"


def attention_maps(source, input_ids=None, *, tokenizer=None, tokens=None, decoder_input_ids=None,
                   decoder_tokens=None, batch=0, thresholds=None, **forward_kwargs) -> AttentionMaps:
    """Attention maps of a model on some input, or of weights you already have.

    ``attention_maps(model, ids, tokenizer=tok)`` runs ``model(ids, output_attentions=True)`` (no gradients,
    eval mode, the previous mode restored) and labels the tokens with the tokenizer; for T5 give
    ``decoder_input_ids`` (default: the input ids). ``attention_maps(output_or_array, tokens=[...])`` reads an
    output object, a tuple of per-layer tensors, a dict of stacks or an array."""
    from ..nn.module import Module
    if isinstance(source, Module):
        if input_ids is None:
            raise ValueError("attention_maps(model, input_ids): the input ids are missing")
        out = _run_model(source, input_ids, decoder_input_ids, forward_kwargs)
        enc_ids = _first_row(input_ids, batch)
        if tokens is None:
            tokens = token_labels(enc_ids, tokenizer)
        if decoder_tokens is None and _is_encoder_decoder(source):
            dec = decoder_input_ids if decoder_input_ids is not None else input_ids
            decoder_tokens = token_labels(_first_row(dec, batch), tokenizer)
        return AttentionMaps.from_output(out, tokens, decoder_tokens, batch=0 if _rows(input_ids) == 1 else batch,
                                         thresholds=thresholds)
    if input_ids is not None and tokens is None:
        tokens = token_labels(_first_row(input_ids, batch), tokenizer)
    if decoder_input_ids is not None and decoder_tokens is None:
        decoder_tokens = token_labels(_first_row(decoder_input_ids, batch), tokenizer)
    return AttentionMaps.from_output(source, tokens, decoder_tokens, batch=batch, thresholds=thresholds)


def _rows(ids) -> int:
    a = np.asarray(to_numpy(ids))
    return 1 if a.ndim == 1 else a.shape[0]


def _first_row(ids, batch):
    a = np.asarray(to_numpy(ids))
    return a if a.ndim == 1 else a[batch]


def _is_encoder_decoder(model) -> bool:
    return getattr(getattr(model, "config", None), "model_type", "") == "t5" or hasattr(model, "decoder")


def _run_model(model, input_ids, decoder_input_ids, kwargs):
    from ..autograd import no_grad
    from ..tensor import Tensor
    ids = input_ids if isinstance(input_ids, Tensor) else Tensor(np.asarray(input_ids, dtype=np.int64))
    if ids.ndim == 1:
        ids = ids.unsqueeze(0)
    kwargs = {**kwargs, "output_attentions": True}
    if _is_encoder_decoder(model):
        dec = decoder_input_ids if decoder_input_ids is not None else ids
        dec = dec if isinstance(dec, Tensor) else Tensor(np.asarray(dec, dtype=np.int64))
        kwargs["decoder_input_ids"] = dec.unsqueeze(0) if dec.ndim == 1 else dec
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            return model(ids, **kwargs)
    finally:
        model.train(was_training)


# ---------------------------------------------------------------- windows
def window_range(n: int, limit: int, window="last") -> tuple[int, int]:
    """(start, stop) of the positions to show: all when they fit in ``limit``; else the last / first ``limit``
    ones, or an explicit ``(start, stop)`` / ``slice``."""
    if isinstance(window, slice):
        start, stop, _ = window.indices(n)
        return start, max(start, stop)
    if isinstance(window, (tuple, list)):
        start, stop = (int(v) for v in window)
        start, stop = max(0, start), min(n, stop)
        if stop <= start:
            raise ValueError(f"window {tuple(window)} selects no positions of {n}")
        return start, stop
    limit = max(1, int(limit))
    if n <= limit:
        return 0, n
    if window in (None, "last"):
        return n - limit, n
    if window == "first":
        return 0, limit
    raise ValueError(f"window must be 'last', 'first', (start, stop) or a slice, got {window!r}")


def _window_note(what, a, b, n, hidden=None) -> Text | None:
    if (a, b) == (0, n):
        return None
    side = "last" if b == n else "first" if a == 0 else "window"
    note = f"{what}: showing {a}–{b - 1} of {n} ({side} {b - a}; pass window= or max_tokens= to choose)"
    if hidden:
        note += f"; attention to keys outside the window: {hidden:.2f} per row on average"
    return Text(note, style="italic dim")


# ---------------------------------------------------------------- one head
class AttentionHeatmap(Readout):
    """One attention matrix as a terminal heatmap: two characters per cell (square on screen), queries
    down the side, keys along the top (their labels written vertically), viridis colours with a legend
    (shades `` ░▒▓█`` without colour), masked cells blank, and the head's analysis underneath.

    mask:       "auto" (a causal triangle / padded keys, read off the exact zeros), None (nothing masked) or a
                boolean array (True = masked)
    window:     "last" | "first" | (start, stop): which positions to show when they do not fit
    max_tokens: how many positions fit (default: as many as the console width allows)
    scale:      "matrix" (colours relative to the largest shown weight), "row" (each row's largest), "absolute" (0..1)
    mode:       "auto" | "color" | "shade"
    """

    def __init__(self, matrix, x_labels=None, y_labels=None, *, title=None, mask="auto", window="last",
                 max_tokens=None, scale="matrix", vmax=None, mode="auto", stats=None, layer=None, head=None,
                 square=None, thresholds=None, label_rows=4, show_stats=True):
        m = to_numpy(matrix)
        if m.ndim != 2:
            raise ValueError(f"AttentionHeatmap expects a 2-D (queries, keys) matrix, got shape {m.shape}")
        if scale not in ("matrix", "row", "absolute"):
            raise ValueError(f"scale must be 'matrix', 'row' or 'absolute', got {scale!r}")
        self.matrix = m
        tq, tk = m.shape
        self.x_labels = _labels(x_labels, tk, "x_labels (keys)")
        self.y_labels = _labels(y_labels if y_labels is not None else (x_labels if tq == tk else None), tq,
                                "y_labels (queries)")
        self.mask = masked_cells(m, mask)
        self.square = (tq == tk and self.x_labels == self.y_labels) if square is None else bool(square)
        self.title, self.window, self.max_tokens, self.scale, self.vmax = title, window, max_tokens, scale, vmax
        self.mode, self.layer, self.head, self.label_rows, self.show_stats = mode, layer, head, label_rows, show_stats
        self.thresholds = {**THRESHOLDS, **(thresholds or {})}
        self._stats = stats

    @property
    def stats(self) -> HeadStats:
        if self._stats is None:
            self._stats = analyze_head(self.matrix, self.mask, self.x_labels, self.y_labels, square=self.square,
                                       thresholds=self.thresholds, layer=self.layer,
                                       head=self.head if isinstance(self.head, int) else None)
        return self._stats

    def to_dict(self) -> dict:
        st = self.stats
        return {"layer": self.layer, "head": self.head, "title": self.title, "matrix": self.matrix.tolist(),
                "mask": self.mask.tolist(), "x_labels": list(self.x_labels), "y_labels": list(self.y_labels),
                "entropy": st.entropy, "normalized_entropy": st.normalized_entropy, "mass": dict(st.mass),
                "patterns": list(st.patterns), "top_connections": [dict(c) for c in st.top_connections],
                "thresholds": dict(self.thresholds)}

    # ------------------------------------------------------------ drawing
    def _ranges(self, width):
        tq, tk = self.matrix.shape
        digits = len(str(max(tq - 1, 0)))
        label_w = min(max(cell_len(display_token(t)) for t in self.y_labels) if tq else 1, 12) + digits + 1
        fit = max(4, (width - label_w - 1) // 2)
        limit = min(self.max_tokens or fit, fit) if self.max_tokens else fit
        cols = window_range(tk, limit, self.window)
        rows = cols if self.square else window_range(tq, self.max_tokens or 64, self.window)
        return rows, cols, label_w, digits

    def _vmax(self, sub, sub_mask):
        if self.vmax is not None:
            return float(self.vmax)
        if self.scale == "absolute":
            return 1.0
        vals = np.where(sub_mask, np.nan, sub)
        if self.scale == "row":
            with np.errstate(invalid="ignore"):
                return np.nanmax(np.where(np.isnan(vals), -np.inf, vals), axis=1, keepdims=True).clip(min=1e-12)
        informative = (~sub_mask).sum(1) > 1          # a row that sees one key is forced to 1.0: not the scale
        pick = vals[informative] if informative.any() else vals
        finite = pick[np.isfinite(pick)]
        return float(finite.max()) if finite.size and finite.max() > 0 else 1.0

    def lines(self, width=100, colour=True) -> list[Text]:
        (r0, r1), (c0, c1), label_w, digits = self._ranges(width)
        sub, sub_mask = self.matrix[r0:r1, c0:c1], self.mask[r0:r1, c0:c1]
        vmax = self._vmax(sub, sub_mask)
        out: list[Text] = []
        if self.title:
            out.append(Text(self.title, style="bold"))
        hidden = None
        if (c0, c1) != (0, self.matrix.shape[1]):
            full = np.where(self.mask[r0:r1], 0.0, self.matrix[r0:r1]).sum(1)
            hidden = float(np.mean(full - np.where(sub_mask, 0.0, sub).sum(1)))
        for note in (_window_note("keys" if not self.square else "tokens", c0, c1, self.matrix.shape[1], hidden),
                     None if self.square else _window_note("queries", r0, r1, self.matrix.shape[0])):
            if note is not None:
                out.append(note)
        # keys along the top, written vertically (one character per row, up to label_rows rows)
        labels = [display_token(t) for t in self.x_labels[c0:c1]]
        n_rows = max(1, min(self.label_rows, max((len(t) for t in labels), default=1)))
        for i in range(n_rows):
            line = Text(" " * (label_w + 1), no_wrap=True)
            for t in labels:
                ch = t[i] if i < len(t) else ""
                if i == n_rows - 1 and len(t) > n_rows:
                    ch = "…"
                line.append(ch + " " * (2 - cell_len(ch)) if cell_len(ch) <= 2 else "? ", style="cyan")
            out.append(line)
        for r in range(r1 - r0):
            q = r0 + r
            line = Text(no_wrap=True)
            lab = _fit(display_token(self.y_labels[q]), label_w - digits - 1)
            line.append(f"{q:>{digits}} ", style="dim")
            line.append(" " * (label_w - digits - 1 - lab.cell_len))
            line.append(lab.plain, style="cyan")
            line.append(" ")
            top = vmax[r, 0] if isinstance(vmax, np.ndarray) else vmax
            for c in range(c1 - c0):
                if sub_mask[r, c]:
                    line.append("  ")
                    continue
                t = sub[r, c] / top if top > 0 else 0.0
                if colour:
                    line.append("██", cell_style(t))
                else:
                    line.append(shade(t) * 2)
            out.append(line)
        out.append(self._legend(vmax, colour))
        if self.show_stats:
            out.extend(self._stats_lines())
        return out

    def _legend(self, vmax, colour) -> Text:
        scale = {"matrix": "the largest weight shown", "row": "each row's largest", "absolute": "1"}[
            self.scale if self.vmax is None else "matrix"]
        top = "row max" if isinstance(vmax, np.ndarray) else fmt_num(vmax)
        t = Text("  0 ", style="dim")
        if colour:
            for i in range(16):
                t.append("█", cell_style(i / 15))
            t.append(f" {top}", style="dim")
            t.append(f"  viridis from 0 to {scale}; blank = masked", style="dim")
        else:
            t.append("[" + "".join(ch * 2 for ch in " ░▒▓█") + "]")
            t.append(f" {top}", style="dim")
            t.append(f"  shades in quarters of {scale}; blank = 0 or masked", style="dim")
        return t

    def _stats_lines(self) -> list[Text]:
        st = self.stats
        t = Text("  entropy ", style="dim")
        t.append(f"{st.entropy:.3f} nats")
        if st.normalized_entropy is not None:
            t.append(f" ({st.normalized_entropy:.2f} of log n)")
        lines = [t]
        masses = [f"{k} {v:.2f}" for k, v in st.mass.items() if v is not None]
        if masses:
            lines.append(Text("  mean attention on: " + "  ".join(masses), style="dim"))
        tags = Text("  patterns: ", style="dim")
        tags.append(", ".join(st.patterns) if st.patterns else "none", style="bold magenta" if st.patterns else "")
        if st.top_connections:
            tags.append("  ·  top: ", style="dim")
            tags.append(", ".join(_conn(c, self.x_labels, self.y_labels) for c in st.top_connections))
        lines.append(tags)
        return lines

    def __rich_console__(self, console: Console, options: ConsoleOptions):
        yield from self.lines(options.max_width, use_colour(console, self.mode))


def _conn(c, x_labels, y_labels, width=None) -> str:
    q, k = c["query"], c["key"]
    a, b = display_token(y_labels[q]), display_token(x_labels[k])
    if width:
        a, b = (t if len(t) <= width else t[:width - 1] + "…" for t in (a, b))
    return f"{q}:{a}→{k}:{b} {c['weight']:.2f}"


# ---------------------------------------------------------------- all heads at a glance
class AttentionGrid(Readout):
    """Small multiples: one tiny map per (layer, head), the last ``max_tokens`` positions, each map scaled to
    its own largest weight (``scale="shared"``: all on 0..1), captioned with its strongest pattern tag.
    With colour, two query rows share a character (``▀``: upper row in front, lower behind), so the cells
    are square; in shades each cell is one character."""

    def __init__(self, stack: AttentionStack, layers=None, heads=None, max_tokens=16, window="last", scale="head",
                 mode="auto", thresholds=None):
        if scale not in ("head", "shared"):
            raise ValueError(f"scale must be 'head' or 'shared', got {scale!r}")
        self.stack = stack
        self.layers = list(range(stack.n_layer)) if layers is None else [int(x) for x in np.atleast_1d(layers)]
        self.heads = list(range(stack.n_head)) if heads is None else [int(x) for x in np.atleast_1d(heads)]
        for layer in self.layers:
            for head in self.heads:
                stack._check(layer, head)
        self.max_tokens, self.window, self.scale, self.mode = max_tokens, window, scale, mode
        self.thresholds = {**THRESHOLDS, **(thresholds or {})}

    def to_dict(self) -> dict:
        s = self.stack
        return {"stack": s.name, "layers": self.layers, "heads": self.heads,
                "maps": [{"layer": layer, "head": h, "patterns": s.stats(layer, h, self.thresholds).patterns,
                          "entropy": s.stats(layer, h, self.thresholds).entropy}
                         for layer in self.layers for h in self.heads]}

    def _mini(self, layer, head, rows, cols, colour) -> Text:
        s = self.stack
        m = s.weights[layer, head, rows[0]:rows[1], cols[0]:cols[1]]
        mk = s.mask[rows[0]:rows[1], cols[0]:cols[1]]
        informative = (~mk).sum(1) > 1
        pick = np.where(mk, 0, m)[informative] if informative.any() else np.where(mk, 0, m)
        top = 1.0 if self.scale == "shared" else (float(pick.max()) if pick.size else 0.0) or 1.0
        v = np.where(mk, np.nan, m / top)
        lines = []
        if colour:
            for r in range(0, v.shape[0], 2):
                line = Text(no_wrap=True)
                for c in range(v.shape[1]):
                    a = v[r, c]
                    b = v[r + 1, c] if r + 1 < v.shape[0] else np.nan
                    ch, style = pair_style(None if a != a else a, None if b != b else b)
                    line.append(ch, style)
                lines.append(line)
        else:
            for r in range(v.shape[0]):
                lines.append(Text("".join(" " if x != x else shade(x) for x in v[r]), no_wrap=True))
        return Text("\n").join(lines)

    def __rich_console__(self, console: Console, options: ConsoleOptions):
        s = self.stack
        colour = use_colour(console, self.mode)
        tq, tk = s.weights.shape[2:]
        cols = window_range(tk, self.max_tokens, self.window)
        rows = cols if s.square else window_range(tq, self.max_tokens, self.window)
        n = cols[1] - cols[0]
        head = Text(f"{s.title}: {s.n_layer} layers × {s.n_head} heads", style="bold")
        span = "all" if (cols == (0, tk) and rows == (0, tq)) else f"{cols[0]}–{cols[1] - 1} of {tk}"
        head.append(f" · positions {span} · " + ("each map scaled to its own max" if self.scale == "head"
                                                   else "shared scale 0..1") + " · blank = masked", style="dim")
        yield head
        if cols != (0, tk):
            yield Text(f"window: the {'last' if cols[1] == tk else 'first' if cols[0] == 0 else 'chosen'} {n} "
                       f"positions (max_tokens={self.max_tokens}, window=)", style="italic dim")
        cell_w = max(n, 6)
        per_row = max(1, (options.max_width - 5) // (cell_w + 1))
        for start in range(0, len(self.heads), per_row):
            heads = self.heads[start:start + per_row]
            grid = Table.grid(padding=(0, 1))
            grid.add_column(width=3, no_wrap=True)
            for _ in heads:
                grid.add_column(width=cell_w, no_wrap=True)
            grid.add_row("", *[Text(f"h{h}", style="bold cyan") for h in heads])
            for layer in self.layers:
                cells = []
                for h in heads:
                    st = s.stats(layer, h, self.thresholds)
                    mini = self._mini(layer, h, rows, cols, colour)
                    tag = TAG_ABBREV.get(st.patterns[0], st.patterns[0]) if st.patterns else "·"
                    cells.append(Text.assemble(mini, "\n", (tag, "magenta" if st.patterns else "dim")))
                grid.add_row(Text(f"L{layer}", style="bold"), *cells)
            yield grid
        abbrev = ", ".join(f"{v} = {k}" for k, v in TAG_ABBREV.items())
        yield Text(f"captions: the strongest pattern ({abbrev}); · = none", style="dim")


# ---------------------------------------------------------------- the numbers, per head
class AttentionAnalysis(Readout):
    """A table of every head: entropy (nats), entropy / log n, mean attention on the previous token, itself,
    the next token, the first token, delimiters and its neighbourhood, the pattern tags, and the heaviest
    connections (query → key). The thresholds of the tags are printed under it."""

    def __init__(self, stack: AttentionStack, layers=None, thresholds=None, top_k=2):
        self.stack = stack
        self.layers = list(range(stack.n_layer)) if layers is None else [int(x) for x in np.atleast_1d(layers)]
        self.thresholds = {**THRESHOLDS, **(thresholds or {})}
        self.top_k = top_k

    @property
    def heads(self) -> list[HeadStats]:
        return [self.stack.stats(layer, h, self.thresholds, self.top_k)
                for layer in self.layers for h in range(self.stack.n_head)]

    def to_dict(self) -> dict:
        return {"stack": self.stack.name, "thresholds": dict(self.thresholds), "local_window": LOCAL_WINDOW,
                "heads": [st.to_dict() for st in self.heads]}

    def __rich_console__(self, console: Console, options: ConsoleOptions):
        s = self.stack
        heads = self.heads
        keys = [k for k in ("previous", "self", "next", "first", "delimiter", "local")
                if any(st.mass[k] is not None for st in heads)]           # e.g. no "next" under a causal mask
        limit = {"previous": "previous-token", "self": "self", "next": "next-token", "first": "first-token/sink",
                 "delimiter": "delimiter", "local": "local"}
        table = Table(title=f"{s.title}: per-head analysis", title_justify="left", show_edge=False,
                      pad_edge=False, header_style="bold", box=box.SIMPLE_HEAD, padding=(0, 1))
        table.add_column("L.H", justify="right", no_wrap=True)
        table.add_column("H", justify="right", no_wrap=True)
        table.add_column("H/ln n", justify="right", no_wrap=True)
        for k in keys:
            table.add_column({"previous": "prev", "delimiter": "delim"}.get(k, k), justify="right", no_wrap=True)
        table.add_column("patterns", no_wrap=True)
        inline = options.max_width >= 62 + 7 * len(keys)       # room for the top connections as a column
        if inline:
            table.add_column("top: query→key weight", overflow="fold", min_width=24)
        for st in heads:
            row = [f"{st.layer}.{st.head}", f"{st.entropy:.3f}",
                   "—" if st.normalized_entropy is None else _hi(st.normalized_entropy,
                                                                 self.thresholds["broad/uniform"])]
            for k in keys:
                v = st.mass[k]
                row.append("—" if v is None else _hi(v, self.thresholds[limit[k]]))
            row.append(Text("\n".join(st.patterns) or "—", style="magenta" if st.patterns else "dim"))
            if inline:
                row.append("\n".join(_conn(c, s.x_tokens, s.y_tokens, 8) for c in st.top_connections) or "—")
            table.add_row(*row)
        yield table
        if not inline:
            tops = Table(title="top connections (query → key weight)", title_justify="left", box=box.SIMPLE_HEAD,
                         show_edge=False, pad_edge=False, header_style="bold")
            tops.add_column("L.H", justify="right", no_wrap=True)
            tops.add_column("connections", overflow="fold")
            for st in heads:
                tops.add_row(f"{st.layer}.{st.head}",
                             ",  ".join(_conn(c, s.x_tokens, s.y_tokens, 8) for c in st.top_connections) or "—")
            yield tops
        yield Text("H: entropy in nats, averaged over the query rows that see more than one key; H/ln n: "
                   "entropy relative to uniform attention; masses: mean attention per query row.\n"
                   + thresholds_text(self.thresholds), style="dim")


def _hi(v, limit) -> Text:
    return Text(f"{v:.2f}", style="bold" if v >= limit else "")


# ---------------------------------------------------------------- rollout
class AttentionRollout(AttentionHeatmap):
    """Attention rollout (Abnar & Zuidema, 2020) of a self-attention stack as a heatmap: row i shows how much
    each input token flows into position i after the last layer (heads averaged, identity added for the
    residual stream, rows renormalised, layers multiplied)."""

    def __init__(self, stack: AttentionStack, add_residual=True, head_fusion="mean", **kwargs):
        if not stack.square:
            raise ValueError(f"attention rollout needs a square self-attention stack; {stack.name!r} is "
                             f"{stack.kind}-attention")
        r = attention_rollout(np.where(stack.mask, 0.0, stack.weights), add_residual, head_fusion)
        self.add_residual, self.head_fusion, self.stack_name = add_residual, head_fusion, stack.name
        kwargs.setdefault("title", f"attention rollout of {stack.title} through {stack.n_layer} layers "
                                   f"(heads: {head_fusion}{', + identity' if add_residual else ''})")
        kwargs.setdefault("show_stats", False)
        super().__init__(r, stack.x_tokens, stack.y_tokens, mask=stack.mask, square=True, **kwargs)

    def to_dict(self) -> dict:
        return {"stack": self.stack_name, "method": "rollout (Abnar & Zuidema 2020)",
                "add_residual": self.add_residual, "head_fusion": self.head_fusion,
                "rollout": self.matrix.tolist(), "x_labels": list(self.x_labels), "y_labels": list(self.y_labels)}


# ---------------------------------------------------------------- function forms
def attention_heatmap(source, layer=0, head=0, stack=None, **kwargs) -> AttentionHeatmap:
    """A heatmap of one head of ``source`` (AttentionMaps, a model output, a stack array) or of a 2-D matrix."""
    if not isinstance(source, AttentionMaps):
        arr = None if not (isinstance(source, np.ndarray) or hasattr(source, "shape")) else to_numpy(source)
        if arr is not None and arr.ndim == 2:
            return AttentionHeatmap(arr, **kwargs)
        source = attention_maps(source, tokens=kwargs.pop("tokens", None))
    return source.heatmap(layer, head, stack, **kwargs)


def attention_overview(source, stack=None, **kwargs) -> AttentionGrid:
    maps = source if isinstance(source, AttentionMaps) else attention_maps(source, tokens=kwargs.pop("tokens", None))
    return maps.overview(stack, **kwargs)


def attention_analysis(source, stack=None, **kwargs) -> AttentionAnalysis:
    maps = source if isinstance(source, AttentionMaps) else attention_maps(source, tokens=kwargs.pop("tokens", None))
    return maps.analysis(stack, **kwargs)


def attention_rollout_map(source, stack=None, **kwargs) -> AttentionRollout:
    maps = source if isinstance(source, AttentionMaps) else attention_maps(source, tokens=kwargs.pop("tokens", None))
    return maps.rollout(stack, **kwargs)

