"""Model summaries: every module with its output shape and parameter count; or a config's count, no allocation.

    from tinygrad_tf import viz
    viz.model_summary(model)                     # a tree and a table of modules: parameters, share; memory
    viz.model_summary(model, input_ids=ids)      # + each module's output shape and FLOPs (forward hooks)
    viz.config_summary(GPTConfig.preset("gpt2")) # 124,439,808 parameters by component, from the config alone

Tied weights (GPT-2's lm_head.weight is wte.weight) are counted once, as ``model.num_parameters()`` does, and
listed. Memory is the parameters alone at the model's dtype (``dtype=`` to ask about another), with a
rule of thumb for AdamW training (weights + gradients + two moments = 4x, plus activations).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from rich import box
from rich.console import Console, ConsoleOptions
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from .figures import PALETTE, hbar_figure
from .readout import Readout, fmt_count, fmt_si

__all__ = ["ModelSummary", "ConfigSummary", "model_summary", "config_summary", "fmt_flops"]

_MIB = 2 ** 20


def _dtype_name(dtype) -> str:
    return np.dtype(dtype).name


def _memory_line(n: int, dtype) -> Text:
    item = np.dtype(dtype).itemsize
    mib = n * item / _MIB
    t = Text("memory: ", style="bold")
    t.append(f"{_mib(mib)} of weights in {_dtype_name(dtype)}")
    t.append(f" ({item} bytes each); training with AdamW ≈ 4× = {_mib(4 * mib)} "
             "(weights, gradients, two moments) + activations", style="dim")
    return t


def fmt_flops(n: int) -> str:
    """A FLOP count as shown in the table (``fmt_si``): 1,536 · 58.6k · 919M · 16.0G."""
    return fmt_si(n)


def _mib(x: float) -> str:
    return f"{x / 1024:,.2f} GiB" if x >= 1024 else f"{x:,.2f} MiB"


def _shape_of(out):
    """The shape a module's output is shown with: a tensor's; the first tensor of a tuple; an output's logits."""
    if hasattr(out, "shape") and hasattr(out, "data"):
        return tuple(out.shape)
    if isinstance(out, (tuple, list)):
        for o in out:
            s = _shape_of(o)
            if s is not None:
                return s
        return None
    for attr in ("logits", "last_hidden_state"):
        v = getattr(out, attr, None)
        if v is not None and hasattr(v, "shape"):
            return tuple(v.shape)
    return None


# ---------------------------------------------------------------- a model instance
class ModelSummary(Readout):
    """Modules of ``model`` as a tree and as a table: type, output shape and FLOPs (when an input was run),
    parameters of the whole subtree with their share of the total, tied weights once.

    Parameters: each parameter is counted under the first name ``named_parameters()`` gives it, so a tied weight
    (GPT-2's ``lm_head.weight`` is ``wte.weight``) counts in ``wte`` and ``lm_head`` shows 0 with a note; the shares
    of a module's children (plus its own parameters) add up to its share, and the top level to 100%.

    FLOPs (``input_ids`` given): the matrix multiplications of one forward pass on that input, counted by forward
    hooks, a multiply-add being 2 FLOPs. A Linear with ``in`` inputs and ``out`` outputs costs ``2·in·out`` per
    token it is applied to (bias not counted); an attention module adds its two batched products, the scores
    ``q·kᵀ`` and ``weights·v``: ``2 · 2·B·T·S·(n_head·head_dim)`` for B sequences of T queries over S keys. Our
    attention computes the whole T x S score matrix and masks it, so a causal model pays for all of it (no
    halving). Embeddings (a lookup), norms, activations, softmax, residual adds and the loss are not counted:
    they are O(tokens·d), small next to the matmuls. For a GPT with L layers, width d, feed-forward d_ff and
    vocabulary V on B x T tokens (n_kv_head = n_head):
    ``L · (2·B·T·(4·d² + 2·d·d_ff) + 4·B·T²·d) + 2·B·T·d·V`` (a gated feed-forward: 3·d·d_ff instead of 2).
    """

    def __init__(self, model, input_ids=None, *, depth=None, dtype=None, show="both", collapse=True,
                 **forward_kwargs):
        if show not in ("both", "tree", "table"):
            raise ValueError(f"show must be 'both', 'tree' or 'table', got {show!r}")
        self.model_type = type(model).__name__
        self.depth, self.show, self.collapse = depth, show, collapse
        self.dtype = np.dtype(dtype) if dtype is not None else np.dtype(model.dtype)
        shapes, calls, own_flops = self._run(model, input_ids, forward_kwargs) if input_ids is not None \
            else ({}, {}, {})
        self.ran = input_ids is not None
        self.input_shape = tuple(np.shape(getattr(input_ids, "data", input_ids))) if self.ran else None
        canonical = [(name, p) for name, p in model.named_parameters()]          # tied weights under one name
        first_name = {id(p): name for name, p in canonical}
        every = list(model.named_parameters(remove_duplicate=False))
        self.total = sum(p.numel() for _, p in canonical)
        self.trainable = sum(p.numel() for _, p in canonical if p.requires_grad)
        by_id: dict[int, list[str]] = {}
        for name, p in every:
            by_id.setdefault(id(p), []).append(name)
        self.tied = [names for names in by_id.values() if len(names) > 1]

        def under(name, path):
            return path == "" or name.startswith(path + ".")

        self.rows = []
        for path, m in model.named_modules():
            level = 0 if path == "" else path.count(".") + 1
            if depth is not None and level > depth:
                continue
            prefix = path + "." if path else ""
            mine = [(n, p) for n, p in canonical if under(n, path)]
            n = sum(p.numel() for _, p in mine)
            own = sum(p.numel() for nm, p in mine if "." not in nm[len(prefix):])
            tied_to = [f"{local[len(prefix):]} = {first_name[id(p)]}" for local, p in every
                       if under(local, path) and "." not in local[len(prefix):] and first_name[id(p)] != local]
            flops = sum(f for q, f in own_flops.items() if q == path or under(q, path)) if self.ran else None
            self.rows.append({"path": path, "level": level, "type": type(m).__name__,
                              "output_shape": list(shapes[path]) if shapes.get(path) is not None else None,
                              "calls": calls.get(path, 0), "parameters": n, "own_parameters": own,
                              "trainable": sum(p.numel() for _, p in mine if p.requires_grad),
                              "percent": 100.0 * n / self.total if self.total else 0.0,
                              "flops": flops, "own_flops": own_flops.get(path, 0) if self.ran else None,
                              "tied_to": tied_to})
        self.flops = sum(own_flops.values()) if self.ran else None
        if self.ran:                    # token ids (B, T): B*T tokens; float inputs (..., features): all but the last
            dtype = getattr(input_ids, "dtype", None)            # a Tensor or array (either device) has one
            floats = (dtype if dtype is not None else np.asarray(input_ids).dtype).kind == "f"
            self.tokens = int(np.prod(self.input_shape[:-1] if floats else self.input_shape))
        else:
            self.tokens = None
        self.buffers = sum(int(b.data.size) for b in model.buffers()) if hasattr(model, "buffers") else 0

    @staticmethod
    def _run(model, input_ids, kwargs):
        """One forward pass (no gradients, eval mode, restored after) with a hook on every module: output
        shapes, calls, and the matmul FLOPs each module does itself (Linear: its product; attention: its two)."""
        from ..autograd import no_grad
        from ..nn.attention import MultiHeadAttention
        from ..nn.layers import Linear
        from ..tensor import Tensor
        shapes, calls, flops, handles = {}, {}, {}, []
        last_in: dict[str, tuple] = {}                   # the input shape of each Linear's latest call

        def linear_flops(mod, x):
            tokens = int(np.prod(x.shape[:-1]))
            return 2 * mod.in_features * mod.out_features * tokens

        for path, m in model.named_modules():
            def hook(mod, inputs, out, path=path):
                calls[path] = calls.get(path, 0) + 1
                shapes.setdefault(path, _shape_of(out))
                if isinstance(mod, Linear) and inputs:
                    last_in[path] = tuple(inputs[0].shape)
                    flops[path] = flops.get(path, 0) + linear_flops(mod, inputs[0])
                elif isinstance(mod, MultiHeadAttention):
                    q, k = last_in.get(path + ".q_proj"), last_in.get(path + ".k_proj")
                    if q is not None and k is not None:          # scores q.k^T and weights.v: 2 x 2.(B.T).S.width
                        width = mod.q_proj.out_features           # n_head * head_dim (keys repeated for GQA)
                        flops[path] = flops.get(path, 0) + 4 * int(np.prod(q[:-1])) * k[-2] * width

            def pre(mod, inputs, path=path):
                last_in.pop(path + ".k_proj", None)              # a cached cross-attention computes no keys
            handles.append(m.register_forward_hook(hook))
            if isinstance(m, MultiHeadAttention):
                handles.append(m.register_forward_pre_hook(pre))
        ids = input_ids if isinstance(input_ids, Tensor) else Tensor(np.asarray(input_ids, dtype=np.int64))
        if getattr(getattr(model, "config", None), "model_type", "") == "t5" and "decoder_input_ids" not in kwargs \
                and "labels" not in kwargs:
            kwargs = {**kwargs, "decoder_input_ids": ids}
        was_training = model.training
        model.eval()
        try:
            with no_grad():
                model(ids, **kwargs)
        finally:
            model.train(was_training)
            for h in handles:
                h.remove()
        return shapes, calls, flops

    @property
    def memory_bytes(self) -> int:
        return self.total * self.dtype.itemsize

    def to_dict(self) -> dict:
        return {"model": self.model_type, "total_parameters": self.total, "trainable_parameters": self.trainable,
                "buffers": self.buffers, "tied": [list(t) for t in self.tied], "dtype": self.dtype.name,
                "memory_bytes": self.memory_bytes, "memory_mib": self.memory_bytes / _MIB,
                "input_shape": list(self.input_shape) if self.input_shape else None,
                "flops": self.flops, "flops_per_token": self.flops / self.tokens if self.ran and self.tokens else None,
                "modules": [dict(r) for r in self.rows]}

    def figure(self):
        """Parameters of each top-level module as horizontal bars, with their share (matplotlib; [plots] extra)."""
        rows = [r for r in self.rows if r["level"] == 1]
        notes = [f"{fmt_si(r['parameters'])} · {r['percent']:.1f}%" + ("  (tied)" if r["tied_to"] else "")
                 for r in rows]
        return hbar_figure([f"{r['path']} ({r['type']})" for r in rows], [r["parameters"] for r in rows], notes=notes,
                           title=f"{self.model_type}: {fmt_count(self.total)} parameters, by module",
                           xlabel="parameters", si=True)

    # ------------------------------------------------------------ drawing
    def _label(self, r) -> Text:
        name = r["path"].rsplit(".", 1)[-1] if r["path"] else self.model_type
        t = Text(name, style="bold")
        if r["path"]:
            t.append(f" {r['type']}", style="cyan")
        t.append(f"  {r['parameters']:,}", style="" if r["parameters"] else "dim")
        t.append(f" · {r['percent']:.1f}%", style="dim")
        if r["tied_to"]:
            t.append(f"  (tied: {', '.join(r['tied_to'])})", style="dim")
        return t

    def tree(self) -> Tree:
        """The module hierarchy as a rich Tree: name, type, parameters and share; runs of identical numbered
        siblings (a stack of blocks) show the first and one line for the rest (``collapse=False``: all)."""
        rows = {r["path"]: r for r in self.rows}
        children: dict[str, list[dict]] = {}
        for r in self.rows:
            if r["path"]:
                parent = r["path"].rsplit(".", 1)[0] if "." in r["path"] else ""
                children.setdefault(parent, []).append(r)
        size = {p: sum(1 for q in rows if q == p or q.startswith(p + ".")) for p in rows}

        def add(node, path):
            kids = children.get(path, [])
            i = 0
            while i < len(kids):
                r = kids[i]
                run = [r]
                if self.collapse and r["path"].rsplit(".", 1)[-1].isdigit():
                    while i + len(run) < len(kids):
                        nxt = kids[i + len(run)]
                        if not (nxt["path"].rsplit(".", 1)[-1].isdigit() and nxt["type"] == r["type"]
                                and nxt["parameters"] == r["parameters"] and size[nxt["path"]] == size[r["path"]]):
                            break
                        run.append(nxt)
                add(node.add(self._label(r)), r["path"])
                if len(run) >= 3:
                    node.add(Text(f"{run[1]['path']} … {run[-1]['path']}: {len(run) - 1} more {r['type']} like "
                                  f"{r['path']} ({r['parameters']:,} parameters each)", style="dim"))
                    i += len(run)
                else:
                    i += 1

        root = rows.get("")
        tree = Tree(self._label(root) if root else Text(self.model_type, style="bold"), guide_style="dim")
        add(tree, "")
        return tree

    def table(self) -> Table:
        """Every module (to ``depth``): type, output shape and FLOPs (when an input ran), parameters, share."""
        t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold", collapse_padding=True)
        t.add_column("module", overflow="fold")
        t.add_column("type", no_wrap=True)
        if self.ran:
            t.add_column("output shape", no_wrap=True)
        t.add_column("params", justify="right", no_wrap=True)
        t.add_column("%", justify="right", no_wrap=True)
        if self.ran:
            t.add_column("FLOPs", justify="right", no_wrap=True)
        frozen = self.trainable != self.total
        if frozen:
            t.add_column("trainable", no_wrap=True)
        for r in self.rows:
            name = Text("  " * r["level"] + (r["path"] or f"({self.model_type})"))
            if r["level"] == 0:
                name.stylize("bold")
            if r["tied_to"]:
                name.append(" (tied)", style="dim")
            row = [name, Text(r["type"], style="cyan")]
            if self.ran:
                shape = "×".join(map(str, r["output_shape"])) if r["output_shape"] else "—"
                if r["calls"] > 1:
                    shape += f" (×{r['calls']} calls)"
                row.append(shape)
            n = r["parameters"]
            row.append(f"{n:,}" if n else Text("0", style="dim"))
            row.append(Text(f"{r['percent']:.1f}", style="" if n else "dim"))
            if self.ran:
                row.append(fmt_flops(r["flops"]) if r["flops"] else Text("0", style="dim"))
            if frozen:
                tr = r["trainable"]
                row.append("—" if n == 0 else "yes" if tr == n else "no" if tr == 0 else f"{tr:,}")
            t.add_row(*row)
        t.add_section()
        total = [Text("total", style="bold"), ""]
        if self.ran:
            total.append("")
        total += [Text(f"{self.total:,}", style="bold"), Text("100.0", style="bold")]
        if self.ran:
            total.append(Text(fmt_flops(self.flops), style="bold"))
        if frozen:
            total.append(f"{self.trainable:,}")
        t.add_row(*total)
        return t

    def __rich_console__(self, console: Console, options: ConsoleOptions):
        head = Text(f"{self.model_type} summary", style="bold")
        if self.ran:
            head.append(f" · one forward pass on input {'×'.join(map(str, self.input_shape))}: output shapes, FLOPs",
                        style="")
        yield head
        if self.show in ("both", "tree"):
            yield self.tree()
        if self.show in ("both", "table"):
            yield self.table()
        total = Text("total: ", style="bold")
        total.append(f"{self.total:,} parameters" + (f" ({fmt_count(self.total)})" if self.total >= 10_000 else ""))
        if self.trainable != self.total:
            total.append(f", {self.trainable:,} trainable")
        if self.buffers:
            total.append(f"; {self.buffers:,} buffer values (not parameters)", style="dim")
        yield total
        for names in self.tied:
            yield Text(f"tied (counted once, under {names[0]}): {' = '.join(names)}", style="dim")
        if self.ran:
            f = Text("forward: ", style="bold")
            f.append(f"{self.flops:,} FLOPs" + (f" ({fmt_flops(self.flops)})" if self.flops >= 10_000 else ""))
            f.append(f" for {self.tokens:,} input tokens = {fmt_flops(round(self.flops / self.tokens))} per token")
            yield f
            yield Text("FLOPs: matmuls only: Linear 2·in·out per token, attention 4·T·S·width per sequence "
                       "(all T×S)", style="dim")
        else:
            yield Text("(give input_ids for output shapes and FLOPs)", style="dim")
        yield _memory_line(self.total, self.dtype)


def model_summary(model, input_ids=None, **kwargs):
    """A ModelSummary of a model (``input_ids`` adds output shapes), or a ConfigSummary of a config."""
    if not hasattr(model, "named_modules") and hasattr(model, "model_type"):
        if input_ids is not None:
            raise TypeError("model_summary(config): a config has no weights to run; build the model to see shapes")
        return ConfigSummary(model, **kwargs)
    return ModelSummary(model, input_ids, **kwargs)


# ---------------------------------------------------------------- a config, without allocating
def _count(config, **changes) -> int:
    from ..nn.models import count_parameters
    return count_parameters(dataclasses.replace(config, **changes) if changes else config)


class ConfigSummary(Readout):
    """The parameters a config describes, by component, from ``count_parameters`` alone (nothing allocated).

    The components come from how the count changes with the config's sizes, so they add up to the total by
    construction for any model: vocabulary-sized tables (token embeddings, an untied output layer, per-token
    biases), position tables, each stack's layers (split into the feed-forward weights that grow with d_ff and
    the rest: attention, norms, biases), and everything else (final norms, pooler, heads, bias tables)."""

    def __init__(self, config, dtype=np.float32):
        self.config = config
        self.model_type = getattr(config, "model_type", type(config).__name__)
        self.dtype = np.dtype(dtype)
        self.total = _count(config)
        c = config
        rows = []                                                    # (component, count, note)

        def per_unit(field_name):
            value = getattr(c, field_name, None)
            if not isinstance(value, int) or isinstance(value, bool):
                return None
            return _count(c, **{field_name: value + 1}) - self.total

        v = per_unit("vocab_size") or 0
        rows.append(("vocabulary tables", v * c.vocab_size, f"{c.vocab_size:,} tokens × {v:,}"))
        p = per_unit("context_length") or 0
        if p:
            rows.append(("position table", p * c.context_length, f"{c.context_length:,} positions × {p:,}"))
        stacks = [("n_layer", "encoder layer" if self.model_type == "t5" else "layer")]
        if isinstance(getattr(c, "n_decoder_layer", None), int):
            stacks.append(("n_decoder_layer", "decoder layer"))
        n_layers_total = sum(getattr(c, f) for f, _ in stacks)
        ff_all = (per_unit("d_ff") or 0) * c.d_ff                   # every layer's d_ff-sized weights
        ff_layer = ff_all // n_layers_total if n_layers_total else 0
        self.layers = []
        for fld, label in stacks:
            n = getattr(c, fld)
            per = per_unit(fld)
            rows.append((f"{n} × {label}", n * per, f"{per:,} per layer"))
            ff = min(ff_layer, per)
            rows.append((f"  attention + norms ({label})", n * (per - ff), f"{per - ff:,} per layer"))
            rows.append((f"  feed-forward ({label})", n * ff, f"{ff:,} per layer (d_ff {c.d_ff:,})"))
            self.layers.append({"stack": label, "n": n, "per_layer": per, "feed_forward": ff, "rest": per - ff})
        counted = sum(n for name, n, _ in rows if not name.startswith("  "))
        rows.append(("other", self.total - counted, "final norms, pooler, heads, bias tables"))
        self.rows = rows

    def to_dict(self) -> dict:
        return {"model_type": self.model_type, "total_parameters": self.total, "dtype": self.dtype.name,
                "memory_bytes": self.total * self.dtype.itemsize,
                "memory_mib": self.total * self.dtype.itemsize / _MIB,
                "config": self.config.to_dict() if hasattr(self.config, "to_dict") else dataclasses.asdict(self.config),
                "components": [{"component": name.strip(), "parameters": n, "note": note,
                                "part_of_layer": name.startswith("  ")} for name, n, note in self.rows],
                **self._by_kind()}

    def figure(self):
        """Parameters by component as horizontal bars (a layer's parts in a lighter colour), counted from the
        config (matplotlib; [plots] extra)."""
        rows = [(name, n) for name, n, _ in self.rows if not (name == "other" and n == 0)]
        return hbar_figure([("↳ " + name.strip()) if name.startswith("  ") else name for name, _ in rows],
                           [n for _, n in rows],
                           notes=[f"{fmt_si(n)} · {100 * n / self.total:.1f}%" if self.total else fmt_si(n)
                                  for _, n in rows],
                           colors=["#9ecae1" if name.startswith("  ") else PALETTE[0] for name, _ in rows],
                           title=f"{self.model_type}: {fmt_count(self.total)} parameters, by component",
                           xlabel="parameters (counted from the config)", si=True)

    def _by_kind(self) -> dict:
        """The breakdown of nn/models/architecture.py (embeddings, attention, ffn, norms, heads) and the forward
        FLOPs per token, for GPT, BERT and T5 configs (empty for any other model type)."""
        from ..nn.models import flops_per_token, parameter_breakdown
        try:
            return {"by_kind": parameter_breakdown(self.config), "flops_per_token": flops_per_token(self.config)}
        except TypeError:
            return {}

    def __rich_console__(self, console: Console, options: ConsoleOptions):
        c = self.config
        head = f"{self.model_type} config: d_model {c.d_model}, {c.n_layer} layers"
        if isinstance(getattr(c, "n_decoder_layer", None), int):
            head += f" (+ {c.n_decoder_layer} decoder)"
        head += f", {c.n_head} heads, d_ff {c.d_ff}, vocab {c.vocab_size:,}, context {c.context_length:,}"
        t = Table(title=head, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  header_style="bold")
        t.add_column("component")
        t.add_column("parameters", justify="right", no_wrap=True)
        t.add_column("share", justify="right", no_wrap=True)
        t.add_column("how", style="dim")
        for name, n, note in self.rows:
            if name == "other" and n == 0:
                continue
            style = "dim" if name.startswith("  ") else ""
            t.add_row(Text(name, style=style), Text(f"{n:,}", style=style),
                      Text(f"{100 * n / self.total:.1f}%" if self.total else "—", style=style), note)
        yield t
        total = Text("total: ", style="bold")
        total.append(f"{self.total:,} parameters ({fmt_count(self.total)})")
        total.append(" — counted from the config (count_parameters), nothing allocated", style="dim")
        yield total
        yield _memory_line(self.total, self.dtype)


def config_summary(config, dtype=np.float32) -> ConfigSummary:
    """Parameters of the model ``config`` describes, by component, without building it."""
    return ConfigSummary(config, dtype=dtype)
