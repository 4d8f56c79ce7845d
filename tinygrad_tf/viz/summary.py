"""Model summaries: every module with its output shape and parameter count; or a config's count, no allocation.

    from tinygrad_tf import viz
    viz.model_summary(model)                     # modules, types, parameters, trainable; totals and memory
    viz.model_summary(model, input_ids=ids)      # + each module's output shape (forward hooks, one forward)
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

from .readout import Readout, fmt_count

__all__ = ["ModelSummary", "ConfigSummary", "model_summary", "config_summary"]

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
    """Modules of ``model`` (to ``depth`` levels; None = all), each with its type, output shape (when an input
    was run), parameters (its whole subtree, tied weights once) and whether they are trainable."""

    def __init__(self, model, input_ids=None, *, depth=None, dtype=None, **forward_kwargs):
        self.model_type = type(model).__name__
        self.depth = depth
        self.dtype = np.dtype(dtype) if dtype is not None else np.dtype(model.dtype)
        shapes, calls = self._run(model, input_ids, forward_kwargs) if input_ids is not None else ({}, {})
        self.rows = []
        for path, m in model.named_modules():
            level = 0 if path == "" else path.count(".") + 1
            if depth is not None and level > depth:
                continue
            params = list(m.parameters())
            n = sum(p.numel() for p in params)
            n_train = sum(p.numel() for p in params if p.requires_grad)
            own = sum(p.numel() for _, p in m.named_parameters(recurse=False))
            self.rows.append({"path": path, "level": level, "type": type(m).__name__,
                              "output_shape": list(shapes[path]) if shapes.get(path) is not None else None,
                              "calls": calls.get(path, 0), "parameters": n, "own_parameters": own,
                              "trainable": n_train})
        by_id: dict[int, list[str]] = {}
        for name, p in model.named_parameters(remove_duplicate=False):
            by_id.setdefault(id(p), []).append(name)
        self.tied = [names for names in by_id.values() if len(names) > 1]
        self.total = sum(p.numel() for p in model.parameters())
        self.trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        self.buffers = sum(int(b.data.size) for b in model.buffers()) if hasattr(model, "buffers") else 0
        self.ran = input_ids is not None
        self.input_shape = tuple(np.shape(getattr(input_ids, "data", input_ids))) if self.ran else None

    @staticmethod
    def _run(model, input_ids, kwargs):
        """One forward pass (no gradients, eval mode, restored after) with a hook on every module."""
        from ..autograd import no_grad
        from ..tensor import Tensor
        shapes, calls, handles = {}, {}, []
        for path, m in model.named_modules():
            def hook(mod, inputs, out, path=path):
                calls[path] = calls.get(path, 0) + 1
                shapes.setdefault(path, _shape_of(out))
            handles.append(m.register_forward_hook(hook))
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
        return shapes, calls

    @property
    def memory_bytes(self) -> int:
        return self.total * self.dtype.itemsize

    def to_dict(self) -> dict:
        return {"model": self.model_type, "total_parameters": self.total, "trainable_parameters": self.trainable,
                "buffers": self.buffers, "tied": [list(t) for t in self.tied], "dtype": self.dtype.name,
                "memory_bytes": self.memory_bytes, "memory_mib": self.memory_bytes / _MIB,
                "input_shape": list(self.input_shape) if self.input_shape else None,
                "modules": [dict(r) for r in self.rows]}

    def __rich_console__(self, console: Console, options: ConsoleOptions):
        title = f"{self.model_type} summary"
        if self.ran:
            title += f" · output shapes for input {'×'.join(map(str, self.input_shape))}"
        t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  header_style="bold")
        t.add_column("module", overflow="fold")
        t.add_column("type", no_wrap=True)
        if self.ran:
            t.add_column("output shape", no_wrap=True)
        t.add_column("params", justify="right", no_wrap=True)
        t.add_column("trainable", no_wrap=True)
        for r in self.rows:
            name = Text("  " * r["level"] + (r["path"] or f"({self.model_type})"))
            if r["level"] == 0:
                name.stylize("bold")
            row = [name, Text(r["type"], style="cyan")]
            if self.ran:
                shape = "×".join(map(str, r["output_shape"])) if r["output_shape"] else "—"
                if r["calls"] > 1:
                    shape += f" (×{r['calls']} calls)"
                row.append(shape)
            n, tr = r["parameters"], r["trainable"]
            row.append(f"{n:,}" if n else Text("0", style="dim"))
            row.append("—" if n == 0 else "yes" if tr == n else "no" if tr == 0 else f"{tr:,}")
            t.add_row(*row)
        yield t
        total = Text("total: ", style="bold")
        total.append(f"{self.total:,} parameters" + (f" ({fmt_count(self.total)})" if self.total >= 10_000 else ""))
        if self.trainable != self.total:
            total.append(f", {self.trainable:,} trainable")
        if self.buffers:
            total.append(f"; {self.buffers:,} buffer values (not parameters)", style="dim")
        yield total
        for names in self.tied:
            yield Text(f"tied (counted once): {' = '.join(names)}", style="dim")
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
                                "part_of_layer": name.startswith("  ")} for name, n, note in self.rows]}

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
