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

import numpy as np
from rich.console import Console, ConsoleOptions

from .attention_analysis import (LOCAL_WINDOW, STACK_TITLES, THRESHOLDS, AttentionStack, HeadStats,  # noqa: F401
                                 analyze_head, masked_cells, structural_mask)
from .attention_views import (AttentionAnalysis, AttentionGrid, AttentionHeatmap, AttentionRollout,  # noqa: F401
                              display_token, token_labels, window_range)
from .readout import Readout, dump_json, to_numpy

__all__ = ["AttentionMaps", "AttentionStack", "AttentionHeatmap", "AttentionGrid", "AttentionAnalysis",
           "AttentionRollout", "attention_maps", "attention_heatmap", "attention_overview", "attention_analysis",
           "attention_rollout_map", "token_labels", "display_token"]

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

    def figure(self, layer=None, head=None, stack=None, **kwargs):
        """A matplotlib figure for slides ([plots] extra): with ``layer`` / ``head`` one head's heatmap (the last
        layer, head 0 when one is left out), else the grid of every head of ``stack`` (default the first; T5:
        "encoder", "decoder", "cross"). Keywords go to ``AttentionHeatmap.figure`` / ``AttentionGrid.figure``."""
        if layer is None and head is None:
            return self.overview(stack).figure(**kwargs)
        s = self.stack(stack)
        return self.heatmap(s.n_layer - 1 if layer is None else layer, 0 if head is None else head,
                            stack).figure(**kwargs)

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
        return dump_json(obj, path, indent)

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


# ---------------------------------------------------------------- function forms
def attention_heatmap(source, layer=0, head=0, stack=None, **kwargs) -> AttentionHeatmap:
    """A heatmap of one head of ``source`` (AttentionMaps, a model output, a stack array) or of a 2-D matrix."""
    if not isinstance(source, AttentionMaps):
        arr = None if not (isinstance(source, np.ndarray) or hasattr(source, "shape")) else to_numpy(source)
        if arr is not None and arr.ndim == 2:
            return AttentionHeatmap(arr, **kwargs)
    maps = _as_maps(source, kwargs)
    return maps.heatmap(layer, head, stack, **kwargs)


def attention_overview(source, stack=None, **kwargs) -> AttentionGrid:
    maps = _as_maps(source, kwargs)
    return maps.overview(stack, **kwargs)


def attention_analysis(source, stack=None, **kwargs) -> AttentionAnalysis:
    maps = _as_maps(source, kwargs)
    return maps.analysis(stack, **kwargs)


def attention_rollout_map(source, stack=None, **kwargs) -> AttentionRollout:
    maps = _as_maps(source, kwargs)
    return maps.rollout(stack, **kwargs)


def _as_maps(source, kwargs: dict) -> AttentionMaps:
    """``source`` if it is AttentionMaps already, else its maps (labelled by a ``tokens=`` taken out of kwargs)."""
    if isinstance(source, AttentionMaps):
        return source
    return attention_maps(source, tokens=kwargs.pop("tokens", None))
