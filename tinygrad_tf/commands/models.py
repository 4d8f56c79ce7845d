"""``tinygrad-tf presets``, ``params`` and ``compare``: model sizes from configs alone (nothing allocated).

    tinygrad-tf presets [--json]                      every preset: shape, parameters, MiB, FLOPs per token
    tinygrad-tf params gpt2 | params --model bert     one model's parameters by component
    tinygrad-tf compare gpt2 llama-7b                 two published architectures: what differs, and the sizes
    tinygrad-tf compare tiny runs/mine runs/bert      a training size against two checkpoint folders
    tinygrad-tf compare gpt2 gpt2-medium --json       the same as JSON, for scripts

Each argument is a preset name (``tinygrad-tf presets`` lists them) or a folder: a checkpoint (config.json +
model.safetensors, from train / demo / model.save) or a lab run (run.json, metrics.jsonl, checkpoint/). The
table has one row per config field and one column per model; rows whose values differ are highlighted and
starred. Parameters are counted from the configs alone (``count_parameters``: nothing is allocated, no
weights are read), split by component (embeddings, attention, FFN, norms, heads: nn/models/architecture.py),
with float32 / float16 weight sizes and forward FLOPs per token at the full context (T5: per encoder +
decoder token pair). For folders with a training history (trainer_state.json or metrics.jsonl) it adds the
steps trained, the final train loss (the mean of the last 10 steps) and the last validation numbers.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from ..fileio import read_json, stale_copies
from ..lab.runs import read_jsonl
from ..nn.models import MODEL_CLASSES, ConfigError, GPTConfig, count_parameters
from ..nn.models import model_stats
from ..train import TRAIN_PRESETS, TrainConfig
from ..train.seq2seq import VOCAB_SIZE
from ..train.tasks import TASK_CLASSES
from .common import HF_HELP, UserError, all_presets, char_vocab, command, console, load_pretrained, unknown_preset
from .train import add_model_flags, model_family, train_overrides

__all__ = ["add_parsers", "cmd_presets", "cmd_params", "cmd_compare", "resolve", "Entry", "comparison",
           "preset_stats", "breakdown_table", "fmt_gflops"]

MISSING = object()            # a field the model's family does not have


@dataclass
class Entry:
    name: str                  # the argument as given
    source: str                # "preset" | "checkpoint" | "run"
    path: str | None
    config: object             # the config dataclass
    training: dict | None = None


# ---------------------------------------------------------------- reading the arguments
def _config_from_dict(d: dict, where: Path):
    if "architectures" in d or "transformers_version" in d:
        raise UserError(f"{where} is a Hugging Face config; compare reads native checkpoints (load it with "
                        "tinygrad_tf.nn.models.load_hf and model.save it first)")
    kind = d.get("model_type")
    if kind not in MODEL_CLASSES:
        raise UserError(f"{where}: unknown model_type {kind!r}; known: {', '.join(MODEL_CLASSES)}")
    try:
        return MODEL_CLASSES[kind].config_class.from_dict(d)
    except (ConfigError, TypeError) as e:
        raise UserError(f"{where}: {' '.join(str(e).split())}") from None


def _history(folder: Path) -> tuple[list, dict]:
    """(per-step records, trainer_state without the history) of a checkpoint or run folder."""
    state = {}
    for p in (folder / "trainer_state.json", folder / "checkpoint" / "trainer_state.json"):
        if p.is_file():
            state = read_json(p, "training state", UserError)
            break
    history = state.pop("history", None)
    if (folder / "metrics.jsonl").is_file():                   # a lab run: the whole history, as it went
        history = read_jsonl(folder / "metrics.jsonl")[0]
    return (history if isinstance(history, list) else []), state


def _finite(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def training_summary(history: list, state: dict) -> dict | None:
    """Steps trained, the final train loss (mean of the last 10 steps) and the last validation numbers."""
    recs = [r for r in history if isinstance(r, dict) and "step" in r]
    if not recs:
        return None
    losses = [_finite(r.get("loss")) for r in recs[-10:]]
    losses = [v for v in losses if v is not None]
    out = {"step": recs[-1]["step"], "train_loss": sum(losses) / len(losses) if losses else None}
    for key in ("val_loss", "val_accuracy", "accuracy"):
        vals = [_finite(r.get(key)) for r in recs if r.get(key) is not None]
        vals = [v for v in vals if v is not None]
        if vals:
            out[key] = vals[-1]
    task = (state.get("config") or {}).get("task") or state.get("task")        # older BERT/T5 checkpoints
    if task not in (None, "lm"):
        out["task"] = task
    return out


def resolve(arg: str) -> Entry:
    """A preset name or a checkpoint / run folder -> an Entry (a UserError says what is wrong)."""
    p = Path(arg).expanduser()
    if not p.exists():                  # a save killed mid-swap: the whole previous folder is at .NAME.old-PID
        p = next((c for c in stale_copies(p) if (c / "config.json").is_file()), p)
    if p.is_dir() and any((p / f).is_file() for f in ("config.json", "run.json")):
        return _from_folder(arg, p)
    if arg in TRAIN_PRESETS:
        return Entry(arg, "preset", None, GPTConfig(**TRAIN_PRESETS[arg], vocab_size=char_vocab()))
    for name, _, cls in all_presets():
        if arg == name:
            return Entry(arg, "preset", None, cls.preset(name))
    if p.is_dir():
        raise UserError(f"{p} holds no config.json (nor run.json): not a checkpoint or run folder")
    if p.exists():
        raise UserError(f"{p} is a file; compare takes preset names and checkpoint or run folders")
    valid = ", ".join([*TRAIN_PRESETS, *(n for n, _, _ in all_presets())])
    if "/" in arg or "\\" in arg or arg.startswith("."):
        raise UserError(f"folder not found: {arg} (compare takes checkpoint / run folders or presets: {valid})")
    raise UserError(unknown_preset(arg, [*TRAIN_PRESETS, *(n for n, _, _ in all_presets())], "preset or folder")
                    + " (or a checkpoint / run folder)")


def _from_folder(arg: str, p: Path) -> Entry:
    if (p / "config.json").is_file():
        source, cfg_dict, where = "checkpoint", read_json(p / "config.json", "model config", UserError), p / "config.json"
    elif (p / "checkpoint" / "config.json").is_file():
        source, where = "run", p / "checkpoint"
        cfg_dict = read_json(p / "checkpoint" / "config.json", "model config", UserError)
    else:
        info = read_json(p / "run.json", "run description", UserError)
        cfg_dict, where, source = info.get("model_config"), p / "run.json", "run"
        if not isinstance(cfg_dict, dict):
            raise UserError(f"{p} is a run folder whose model was never built (no model_config in run.json, "
                            "no checkpoint/)")
    if (p / "run.json").is_file():
        source = "run"
    config = _config_from_dict(cfg_dict, where)
    history, state = _history(p)
    return Entry(arg, source, str(p), config, training_summary(history, state))


# ---------------------------------------------------------------- presets / params helpers
COMPONENT_LABELS = {"embeddings": "embeddings", "attention": "attention", "ffn": "FFN", "norms": "norms",
                    "heads": "heads"}
HEAD_LABELS = {"lm_head": "lm_head (untied)", "pooler": "pooler", "mlm_head": "masked-LM head",
               "nsp_head": "NSP head", "classifier": "classifier"}


def fmt_gflops(flops: int) -> str:
    """FLOPs as GFLOPs for a table cell: 14.29 · 0.28 · 0.0059 · 0.000064."""
    g = flops / 1e9
    if g >= 0.1 or g == 0:
        return f"{g:,.2f}"
    return f"{g:.{max(2, 1 - math.floor(math.log10(g)))}f}"


def preset_stats(vocab: int) -> list[dict]:
    """One JSON-ready dict per preset (training sizes with vocabulary ``vocab``, then published ones):
    name, family, kind, and ``model_stats`` (shape, parameters by component, sizes, FLOPs per token)."""
    rows = []
    for name, fields in TRAIN_PRESETS.items():
        rows.append({"name": name, "kind": "small GPT", **model_stats(GPTConfig(**fields, vocab_size=vocab))})
    for name, family, cls in all_presets():
        cfg = cls.preset(name)
        kind = {"bert": "BERT", "t5": "T5"}.get(family) or ("Llama" if cfg.position == "rope" else "GPT-2")
        rows.append({"name": name, "kind": kind, **model_stats(cfg)})
    return rows


def breakdown_table(stats: dict):
    """The per-component table of ``model_stats(config)``: parameters and share, heads split out."""
    total = stats["parameters"]
    t = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, show_edge=False)
    t.add_column("component")
    t.add_column("parameters", justify="right", no_wrap=True)
    t.add_column("share", justify="right", no_wrap=True)
    t.add_column("fp16 MiB", justify="right", no_wrap=True)
    for key, n in stats["components"].items():
        t.add_row(COMPONENT_LABELS[key], f"{n:,}", f"{100 * n / total:.1f}%" if total else "—", f"{2 * n / 2**20:,.1f}")
        if key == "heads":
            for h, m in stats["head_components"].items():
                t.add_row(f"[dim]  {HEAD_LABELS.get(h, h)}[/]", f"[dim]{m:,}[/]",
                          f"[dim]{100 * m / total:.1f}%[/]" if total else "—", f"[dim]{2 * m / 2**20:,.1f}[/]")
    t.add_section()
    t.add_row("[bold]total[/]", f"[bold]{total:,}[/]", "100.0%" if total else "—", f"{stats['fp16_bytes'] / 2**20:,.1f}")
    return t


# ---------------------------------------------------------------- the comparison
TRAINING_ROWS = (("step", "steps trained", "{:,}"), ("train_loss", "train loss (last 10 steps)", "{:.4f}"),
                 ("val_loss", "val loss", "{:.4f}"), ("val_accuracy", "val accuracy", "{:.1%}"),
                 ("accuracy", "held-out exact match", "{:.1%}"), ("task", "task", "{}"))


def comparison(entries: list[Entry]) -> dict:
    """The JSON form: {"models": [...], "fields": [...], "differing": [...]}."""
    dicts = [e.config.to_dict() for e in entries]
    fields: list[str] = []
    for d in dicts:
        fields += [k for k in d if k not in fields]
    differing = [k for k in fields if len({json.dumps(d.get(k, "<missing>"), sort_keys=True) for d in dicts}) > 1]
    models = []
    for e, d in zip(entries, dicts):
        st = model_stats(e.config)
        n = st["parameters"]
        models.append({"name": e.name, "source": e.source, "path": e.path, "family": d.get("model_type"),
                       "config": d, "parameters": n, "components": st["components"],
                       "head_components": st["head_components"], "float32_mib": round(n * 4 / 2**20, 1),
                       "float16_mib": round(n * 2 / 2**20, 1), "flops_per_token": st["flops_per_token"],
                       "flops_unit": st["flops_unit"], "flops_per_sequence": st["flops_per_sequence"],
                       "training": e.training})
    if len({m["parameters"] for m in models}) > 1:
        differing.append("parameters")
    for key in COMPONENT_LABELS:
        if len({m["components"][key] for m in models}) > 1:
            differing.append(f"components.{key}")
    if len({m["flops_per_token"] for m in models}) > 1:
        differing.append("flops_per_token")
    return {"models": models, "fields": fields, "differing": differing}


def _cell(v) -> str:
    if v is MISSING:
        return "[dim]—[/]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 10_000 else str(v)
    return "None" if v is None else str(v).replace("[", r"\[")


def _size(nbytes: int) -> str:
    for unit, div in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= div:
            return f"{nbytes / div:,.1f} {unit}"
    return f"{nbytes} B"


def render(data: dict):
    models, differing = data["models"], set(data["differing"])
    table = Table(title="compare: config fields x models", box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False,
                  caption=("* differs between the models (highlighted); " if len(models) > 1 else "") +
                  "parameters counted from the config, nothing allocated; GFLOPs: one forward pass at the full "
                  "context (2 x matmul weights + attention)" +
                  ("; † T5: per encoder + decoder token pair" if any(m["family"] == "t5" for m in models) else ""),
                  caption_justify="left")
    table.add_column("field", no_wrap=True)
    for m in models:
        head = Path(m["path"]).name or m["path"] if m["path"] else m["name"]
        table.add_column(f"{head}\n[dim]{m['source']}[/]", justify="right", overflow="fold")

    def row(label, values, key):
        hot = key in differing and len(models) > 1
        table.add_row(label + (" *" if hot else ""), *values, style="bold yellow" if hot else None)

    for k in data["fields"]:
        label = "family" if k == "model_type" else k
        row(label, [_cell(m["config"].get(k, MISSING)) for m in models], k)
    table.add_section()
    row("parameters", [f"{m['parameters']:,}" for m in models], "parameters")
    for key, label in COMPONENT_LABELS.items():
        row(f"  {label}", [f"{m['components'][key]:,} [dim]({100 * m['components'][key] / m['parameters']:.0f}%)[/]"
                           if m["parameters"] else "0" for m in models], f"components.{key}")
    row("float32 weights", [_size(m["parameters"] * 4) for m in models], "parameters")
    row("float16 weights", [_size(m["parameters"] * 2) for m in models], "parameters")
    row("GFLOPs / token" + ("†" if any(m["family"] == "t5" for m in models) else ""),
        [fmt_gflops(m["flops_per_token"]) for m in models], "flops_per_token")
    if any(m["training"] for m in models):
        table.add_section()
        for key, label, fmt in TRAINING_ROWS:
            vals = [(m["training"] or {}).get(key) for m in models]
            if all(v is None for v in vals):
                continue
            table.add_row(label, *("[dim]—[/]" if v is None else fmt.format(v) for v in vals))
    return table


def _pretrained_entry(name) -> Entry:
    """--hf NAME_OR_DIR: a pretrained Hugging Face model's config (the model is read to know its heads)."""
    c = load_pretrained(name)
    return Entry(name, "hf", None, c.config)


def cmd_compare(args) -> int:
    """Compare models side by side: each MODEL is a preset name (gpt2, gpt2-medium, llama-7b, bert-base,
    t5-small, tiny, ...: see `tinygrad-tf presets`) or a checkpoint / run folder (config.json). One row per
    config field, one column per model, differing rows highlighted; parameter counts from the configs (nothing
    allocated) by component, fp32 / fp16 sizes and forward FLOPs per token; for trained folders the steps,
    final train loss and validation numbers."""
    entries = [resolve(a) for a in args.models] + [_pretrained_entry(n) for n in args.hf or ()]
    if not entries:
        raise UserError("give models to compare: preset names, checkpoint / run folders, or --hf NAME")
    data = comparison(entries)
    if args.json:
        def clean(v):
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, list):
                return [clean(x) for x in v]
            return None if isinstance(v, float) and not math.isfinite(v) else v
        print(json.dumps(clean(data), indent=1, allow_nan=False))
        return 0
    out = console if console.is_terminal or console.width >= 140 else Console(width=140, highlight=False)
    out.print(render(data))
    return 0


# ---------------------------------------------------------------- presets, params
def cmd_presets(args) -> int:
    """List the model presets with parameter counts computed from the config (nothing is allocated): shape,
    parameters, fp32 / fp16 MiB of weights and forward GFLOPs per token; --json prints them as a list."""
    vocab = char_vocab()
    rows = preset_stats(vocab)
    if getattr(args, "json", False):
        print(json.dumps(rows, indent=1))
        return 0
    cells = []
    for r in rows:
        layers = f"{r['layers']}+{r['decoder_layers']}" if r["family"] == "t5" else str(r["layers"])
        cells.append({"name": r["name"], "family": r["kind"], "layers": layers, "d_model": str(r["d_model"]),
                      "heads": str(r["heads"]), "d_ff": str(r["d_ff"]), "context": str(r["context"]),
                      "vocab": f"{r['vocab']:,}", "parameters": f"{r['parameters']:,}",
                      "fp32 MiB": f"{r['fp32_bytes'] / 2**20:,.1f}", "fp16 MiB": f"{r['fp16_bytes'] / 2**20:,.1f}",
                      "GFLOPs/token": fmt_gflops(r["flops_per_token"]) + ("†" if r["family"] == "t5" else "")})
    columns = list(cells[0])
    # never crop a number: in a narrow terminal, leave out the least needed columns (and say so) instead
    optional = ["fp16 MiB", "GFLOPs/token", "family", "context", "d_ff", "fp32 MiB"]
    width = console.width if console.is_terminal else 200
    while True:
        table = Table(title="model presets (tinygrad-tf train --preset NAME; params NAME for a breakdown)",
                      box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
        for col in columns:
            table.add_column(col, justify="left" if col in ("name", "family") else "right", no_wrap=True)
        for row in cells:
            table.add_row(*(row[c] for c in columns))
        needed = Measurement.get(console, console.options.update(width=10_000), table).maximum
        if needed <= width or not optional:
            break
        columns.remove(optional.pop(0))
    Console(width=max(width, needed), highlight=False, file=console.file).print(table)
    hidden = [c for c in cells[0] if c not in columns]
    if hidden:
        console.print(f"(not shown, for want of width: {', '.join(hidden)} -- widen the terminal, or --json)")
    console.print(f"Small GPT sizes take their vocabulary from the tokenizer (here: the {vocab} characters of "
                  "the default corpus); published architectures keep their own. MiB = 2^20 bytes of weights. "
                  "GFLOPs/token: one forward pass at the full context (2 x matmul weights + attention); "
                  "† T5: per encoder + decoder token pair.", soft_wrap=True)
    return 0


def params_config(args):
    """The model config ``params`` counts: a published preset as published (flags on top), or the model
    ``train`` would build with the same flags (its vocabulary: --vocab-size, else the tokenizer's)."""
    name = getattr(args, "preset_name", None)
    if name is not None:
        if args.preset is not None and args.preset != name:
            raise UserError(f"two presets given: {name!r} and --preset {args.preset!r}; give one")
        args.preset = name
    family = model_family(args)
    published = {n: fam for n, fam, _ in all_presets()}
    if args.preset is not None and args.preset not in TRAIN_PRESETS and args.preset not in published:
        raise UserError(unknown_preset(args.preset, [*TRAIN_PRESETS, *published]))
    if family is not None and args.preset in published and published[args.preset] != family:
        raise UserError(f"{args.preset} is a {published[args.preset]} preset, not a {family} one; leave out --model "
                        f"or give a {family} preset")
    family = family or published.get(args.preset, "gpt")
    overrides = {**train_overrides(args), "family": family}
    vocab = overrides.pop("vocab_size", None)
    config = TrainConfig.from_dict(overrides)
    if args.preset in published:
        return config.model_config(vocab or MODEL_CLASSES[family].config_class.PRESETS[args.preset]["vocab_size"])
    if vocab is None:                           # what the task's tokenizer would give
        vocab = (char_vocab() if config.tokenizer == "char" else VOCAB_SIZE if config.tokenizer == "digits"
                 else config.vocab_size)
    return TASK_CLASSES[config.task].config_for(config, vocab)


def cmd_params(args) -> int:
    """Count parameters from a config alone, by component (embeddings, attention, FFN, norms, heads), with
    fp32 / fp16 sizes and forward FLOPs per token, e.g. `params gpt2`, `params --preset bert-base` or
    `params --n-layer 6 --d-model 192 --n-head 6 --context 128`; --model bert|t5 counts the sizes
    `train --model` builds."""
    if getattr(args, "hf", None):
        if args.preset is not None or getattr(args, "preset_name", None) is not None:
            raise UserError("give --hf NAME or a preset, not both")
        cfg = load_pretrained(args.hf).config
        args.preset = args.hf
    else:
        cfg = params_config(args)
    n, stats = count_parameters(cfg), model_stats(cfg)
    if getattr(args, "json", False):
        print(json.dumps({"name": args.preset, **stats, "config": cfg.to_dict()}, indent=1))
        return 0
    shape = (f"{cfg.n_layer} layers, d_model {cfg.d_model}, {cfg.n_head} heads, d_ff {cfg.d_ff}, "
             f"context {cfg.context_length}, vocab {cfg.vocab_size}")
    detail = {"gpt": lambda: f"GPT with {shape}, position {cfg.position}, norm {cfg.norm}, activation "
                             f"{cfg.activation}, tied embeddings {cfg.tie_embeddings}",
              "bert": lambda: f"BERT with {shape}, activation {cfg.activation}, pooler {cfg.pooler}, masked-LM head "
                              f"{cfg.mlm_head}",
              "t5": lambda: f"T5 with {cfg.n_layer}+{cfg.n_decoder_layer} layers, d_model {cfg.d_model}, {cfg.n_head} "
                            f"heads of {cfg.d_kv}, d_ff {cfg.d_ff}, vocab {cfg.vocab_size}, feed-forward "
                            f"{cfg.feed_forward_proj}, tied embeddings {cfg.tie_embeddings}"}[cfg.model_type]()
    console.print(f"{n:,} parameters ({n / 1e6:.2f}M): {detail}", soft_wrap=True)
    console.print(breakdown_table(stats))
    mb = n * 4 / 2**20
    console.print(f"float32 weights: {mb:,.1f} MiB; float16: {mb / 2:,.1f} MiB; training with AdamW needs about "
                  f"{4 * mb:,.1f} MiB (fp32) for weights, gradients and two moments, plus activations",
                  soft_wrap=True)
    console.print(f"forward FLOPs per {stats['flops_unit']}: {stats['flops_per_token']:,} "
                  f"({fmt_gflops(stats['flops_per_token'])} GFLOPs) at context {cfg.context_length:,} "
                  "(2 x matmul weights + attention scores and values)", soft_wrap=True)
    return 0


# ---------------------------------------------------------------- wiring
def add_parsers(sub) -> dict:
    ps = command(sub, "presets", cmd_presets, "list model presets and their parameter counts")
    ps.add_argument("--json", action="store_true", help="print the presets as a JSON list instead of a table")
    pc = command(sub, "params", cmd_params, "count the parameters of a preset or of a model given by flags")
    add_model_flags(pc)
    pc.add_argument("preset_name", nargs="?", metavar="PRESET",
                    help="a preset (gpt2, llama-7b, bert-base, t5-small, tiny, ...): the same as --preset PRESET")
    pc.add_argument("--hf", metavar="NAME_OR_DIR", help="instead of a preset: " + HF_HELP)
    pc.add_argument("--json", action="store_true", help="print the counts as JSON instead of tables")
    c = command(sub, "compare", cmd_compare,
                "compare presets and checkpoints side by side (config, parameters, sizes, FLOPs, losses)")
    c.add_argument("models", nargs="*", metavar="MODEL", help="a preset name or a checkpoint / run folder")
    c.add_argument("--hf", action="append", metavar="NAME_OR_DIR", help="also a pretrained model (repeatable): "
                   + HF_HELP)
    c.add_argument("--json", action="store_true", help="print the comparison as JSON instead of a table")
    return {"presets": ps, "params": pc, "compare": c}
