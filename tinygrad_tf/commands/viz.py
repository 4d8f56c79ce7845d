"""The viz subcommands of the ``tinygrad-tf`` CLI: ``attention``, ``summary``, ``graph``.

    tinygrad-tf attention --checkpoint runs/demo --text "def f(x):" [--layer 1 --head 0] [--json [FILE]]
    tinygrad-tf attention --preset gpt2 --text "The cat sat" --svg slide.svg   (untrained: random weights)
    tinygrad-tf attention --hf bert-base-uncased --text "The cat sat on the mat."   (pretrained, from the Hub)
    tinygrad-tf summary --checkpoint runs/demo        |  summary --preset gpt2   (counted, nothing allocated)
    --svg / --png / --pdf FILE: a matplotlib figure of the readout ([plots] extra); --terminal-svg FILE: the
    terminal output as SVG
    tinygrad-tf graph --expr "(a * b + c).tanh()" --out g.svg  |  graph --preset neuron --out neuron.svg

Each command is ``cmd_NAME(args) -> exit code``;
a mistake in the input (an unknown preset, a layer out of range, a bad expression) is one line on stderr
and exit code 2, as everywhere in the CLI.
"""

from __future__ import annotations

import ast
import inspect
import json
import sys
from pathlib import Path

from rich.console import Group

import tinygrad_tf as tg

from ..nn.models import MODEL_CLASSES, count_parameters
from ..tensor import Tensor
from ..text import ByteBPETokenizer, CharTokenizer, DataError, default_corpus
from ..train import TRAIN_PRESETS, load_checkpoint
from ..viz import attention_maps, config_summary, draw_graph, model_summary, render, save_svg, token_labels
from ..viz import capture_grads
from ..viz.graph import trace
from ..viz.graph_presets import GRAPH_PRESETS, Intermediates, gpt_model_presets, graph_preset
from ..viz.readout import json_safe
from ..viz.graph_render import _FORMATS as GRAPH_FORMATS
from .common import (HF_HELP, UserError, command, console, encode_text, figure_paths, load_pretrained, one_source,
                     output_flags, parse_ids, parse_set_args, preset_config, unknown_preset, write_figures,
                     write_or_print)
from .expr import ExprError, evaluate, expr_names

__all__ = ["add_parsers", "cmd_attention", "cmd_summary", "cmd_graph"]


def _load(checkpoint, device):
    return load_checkpoint(checkpoint, device=device, load_training_state=False)


# ---------------------------------------------------------------- attention
UNTRAINED_LIMIT = 400_000_000          # --preset builds the model in memory: GPT-2 medium fits, Llama-7B does not


def _untrained(name, device):
    """A freshly initialised model of preset ``name`` (seed 0) and a tokenizer for it: the training sizes
    (tiny, demo, small) get the character tokenizer of the default corpus, published presets raw bytes."""
    tok = None
    if name in TRAIN_PRESETS:
        try:
            tok = CharTokenizer.train(default_corpus())
        except DataError:
            tok = None
    cfg = preset_config(name, tok.vocab_size if tok is not None else None)
    if tok is None:
        tok = ByteBPETokenizer()                                # no merges: one token per byte, ids 0-255
    n = count_parameters(cfg)
    if n > UNTRAINED_LIMIT:
        raise UserError(f"--preset {name} has {n:,} parameters: too big to build just to look at attention; "
                           "take a smaller preset, or a checkpoint")
    tg.manual_seed(0)
    return MODEL_CLASSES[cfg.model_type](cfg).to(device), tok


def cmd_attention(args) -> int:
    """Run a checkpoint, a pretrained --hf model (a Hub name or folder: real [CLS]/[SEP] tokens for BERT) or an
    untrained --preset on --text and show its attention: every layer x head at a glance with pattern tags, a
    per-head analysis table and attention rollout; --layer/--head for one head's heatmap; --json for the data
    (web records, or --layout bertviz); --svg/--png/--pdf for a slide (a figure: the head's heatmap with its
    tokens, or the grid of heads)."""

    figures = figure_paths(args)
    source = one_source(args, "checkpoint", "hf", "preset", what="--checkpoint DIR (a trained model), --hf NAME "
                        "(a pretrained one, e.g. gpt2) or --preset NAME (random weights)")
    if source != "preset":
        c = _load(args.checkpoint, args.device) if source == "checkpoint" else load_pretrained(args.hf, args.device)
        model, tok = c.model, c.tokenizer
    else:
        model, tok = _untrained(args.preset, args.device)
        print(f"note: --preset {args.preset} is untrained (random weights, seed 0): this is attention at "
              "initialisation; pass --checkpoint for a trained model", file=sys.stderr)
    ids = parse_ids(args.ids) if args.ids else encode_text(tok, args.text if args.text is not None else "Hello")
    ctx = model.config.context_length
    if len(ids) > ctx:
        print(f"note: the text is {len(ids)} tokens; the model sees only the last {ctx}", file=sys.stderr)
        ids = ids[-ctx:]
    vocab = model.config.vocab_size
    bad = [i for i in ids if not 0 <= i < vocab]
    if bad:
        raise UserError(f"token id(s) {bad[:5]} outside the vocabulary (size {vocab})")
    dec = None
    if model.config.model_type == "t5":
        if args.decoder_text is not None or args.preset:          # an untrained model's output is noise
            text = args.decoder_text if args.decoder_text is not None else \
                (args.text if args.text is not None else "Hello")
            dec = [model.config.decoder_start_token_id] + encode_text(tok, text, "--decoder-text")
            eos = getattr(model.config, "eos_token_id", None)
            if source == "hf" and len(dec) > 2 and dec[-1] == eos:     # a tokenizer.json ends text with </s>
                dec = dec[:-1]
        else:                                                   # the model's own output: what it attended to
            out = model.generate(Tensor([ids]), max_new_tokens=args.max_new_tokens, temperature=0,
                                 eos_token_id=getattr(model.config, "eos_token_id", None))
            dec = out.numpy()[0].tolist()
    elif args.decoder_text is not None:
        raise UserError("--decoder-text is for encoder-decoder (T5) checkpoints")
    dec_tokens = None
    if dec is not None:                                         # the first decoder input is the start token
        dec_tokens = ["<start>"] + token_labels(dec[1:], tok)
    maps = attention_maps(model, ids, tokenizer=tok, decoder_input_ids=dec, decoder_tokens=dec_tokens)

    stack = args.stack
    if stack is not None and stack not in maps.stacks:
        raise UserError(f"no attention stack {stack!r}; this model has: {', '.join(maps.names)}")
    s = maps.stack(stack)
    for flag, value, n in (("--layer", args.layer, s.n_layer), ("--head", args.head, s.n_head)):
        if value is not None and not 0 <= value < n:
            raise UserError(f"{flag} {value} is out of range: the model has {n} (0 to {n - 1})")

    if args.json is not None:
        if args.layer is not None or args.head is not None:
            recs = [r for r in maps.to_records(stack)
                    if args.layer in (None, r["layer"]) and args.head in (None, r["head"])]
            text = json.dumps(json_safe(recs))
        else:
            text = maps.to_json(layout=args.layout)
        write_or_print(text, args.json)
        write_figures(figures, lambda: _attention_figure(maps, s, stack, args))
        return 0

    kw = {"max_tokens": args.window} if args.window else {}
    window = "first" if args.first else "last"
    parts = []
    if args.layer is not None or args.head is not None:
        layer = args.layer if args.layer is not None else s.n_layer - 1
        heads = [args.head] if args.head is not None else list(range(s.n_head))
        parts += [maps.heatmap(layer, h, stack, window=window, **kw) for h in heads]
    else:
        names = [stack] if stack is not None else maps.names
        for name in names:
            parts.append(maps.overview(name, max_tokens=args.window or 16, window=window))
            parts.append(maps.analysis(name))
        sq = [n for n in names if maps.stack(n).square]
        if args.rollout or (sq and not args.no_rollout):
            parts.append(maps.rollout(sq[0] if sq else None, window=window, **kw))
    if len(maps.names) > 1 and stack is None:
        console.print(f"[dim]attention stacks: {', '.join(maps.names)} (choose one with --stack)[/]")
    for p in parts:
        console.print(p)
    if args.terminal_svg:
        path = save_svg(Group(*parts), args.terminal_svg, width=args.width, title="tinygrad-tf attention")
        print(f"wrote {path}", file=sys.stderr)
    if figures and stack is None and len(maps.names) > 1:
        print(f"note: the figure shows the {s.name} attention; --stack {' | '.join(maps.names[1:])} for the others",
              file=sys.stderr)
    write_figures(figures, lambda: _attention_figure(maps, s, stack, args))
    return 0


def _attention_figure(maps, s, stack, args):
    """One head's heatmap (--head), a layer's heads (--layer alone), or every layer x head."""
    window = "first" if args.first else "last"
    if args.head is not None:
        layer = args.layer if args.layer is not None else s.n_layer - 1
        return maps.heatmap(layer, args.head, stack, window=window).figure(max_tokens=args.window)
    layers = [args.layer] if args.layer is not None else None
    return maps.overview(stack, layers=layers, window=window, max_tokens=args.window or 16).figure()


# ---------------------------------------------------------------- summary
def cmd_summary(args) -> int:
    """--checkpoint or --hf (a pretrained Hub model or folder): every module with its type, output shape (one
    forward pass on --text or a few tokens) and parameter count, tied weights once, memory. --preset: the
    parameter count by component, computed from the config (nothing allocated; --modules builds it)."""

    source = one_source(args, "checkpoint", "hf", "preset", what="--checkpoint DIR (a trained model), --hf NAME "
                        "(a pretrained one) or --preset NAME (counted from its config)")
    figures = figure_paths(args)
    if args.depth is not None and args.depth < 0:
        raise UserError(f"--depth must be >= 0, got {args.depth}")
    if source != "preset":
        c = _load(args.checkpoint, args.device) if source == "checkpoint" else load_pretrained(args.hf, args.device)
        model = c.model
        ids = None
        if not args.no_shapes:
            ids = (parse_ids(args.ids) if args.ids else encode_text(c.tokenizer, args.text) if args.text is not None
                   else list(range(min(8, model.config.context_length, model.config.vocab_size))))
            ids = [ids[-model.config.context_length:]]
        readout = model_summary(model, ids, depth=args.depth)
    else:
        cfg = preset_config(args.preset, args.vocab_size)
        if args.modules:
            model = MODEL_CLASSES[cfg.model_type](cfg)
            readout = model_summary(model, depth=args.depth)
        else:
            readout = config_summary(cfg)
    if args.json is not None:
        write_or_print(readout.to_json(), args.json)
        write_figures(figures, readout.figure)
        return 0
    console.print(readout)
    if args.terminal_svg:
        print(f"wrote {readout.save_svg(args.terminal_svg, width=args.width, title='tinygrad-tf summary')}",
              file=sys.stderr)
    write_figures(figures, readout.figure)
    return 0


# ---------------------------------------------------------------- graph
def _expr_graph(tg, expr, var_specs):
    """Evaluate ``expr`` with its free names as scalar tensors that require grad (``--var a=2.0`` sets one;
    JSON lists make vectors/matrices). The expression is parsed with ``ast`` and evaluated by walking the tree
    (commands/expr.py): names, numbers, arithmetic, the allowed functions and tensor methods, nothing else."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as e:
        raise UserError(f"--expr is not a Python expression: {e.msg} at column {e.offset}") from None
    except (RecursionError, MemoryError, ValueError) as e:
        raise UserError(f"--expr cannot be read: {type(e).__name__} ({' '.join(str(e).split())})") from None
    try:
        names = expr_names(tree)
    except ExprError as e:
        raise UserError(str(e)) from None
    except RecursionError:
        raise UserError("--expr is nested too deeply") from None
    values = parse_set_args(var_specs, "--var", "a number or a JSON list for a name, e.g. --var a=2", strict=True)
    extra = set(values) - set(names)
    if extra:
        raise UserError(f"--var names {', '.join(sorted(extra))} that --expr does not use")
    tg.manual_seed(0)
    leaves = {}
    for n in names:
        v = values.get(n)
        if v is None:
            v = round(float(tg.randn(1).item()), 2)                  # a readable random value
        try:
            t = tg.tensor(v, dtype=tg.float32, requires_grad=True)
        except (TypeError, ValueError) as e:
            raise UserError(f"--var {n}: cannot make a tensor of {v!r} ({e})") from None
        t.name = n
        leaves[n] = t
    keep = Intermediates(expr)                   # every intermediate, named by its source text, drawn with values
    try:
        out = evaluate(tree, leaves, tg,
                       seen=lambda value, node: keep(value, " ".join((ast.get_source_segment(expr, node) or "").split())))
    except ExprError as e:
        raise UserError(str(e)) from None
    if not isinstance(out, Tensor):
        raise UserError("--expr must compute a tensor from its names (e.g. '(a * b + c).tanh()')")
    return out, {"params": list(keep)}


def _pretrained_graph(name, text):
    """A pretrained model's loss on ``text`` (its own tokenizer; GPT: next token, BERT: the masked-LM loss on the
    tokens themselves, T5: the text as input and target), traced by module for the drawing."""
    c = load_pretrained(name)
    model = c.model
    ids = encode_text(c.tokenizer, text, "--text", name) if c.tokenizer is not None else list(range(1, 9))
    ids = tg.tensor([ids[:model.config.context_length]])
    kind = model.config.model_type
    if kind == "bert" and not model.config.mlm_head:
        raise UserError(f"{name} is a BERT without a masked-LM head: nothing to draw a loss from")
    with trace(model):
        out = model(ids, labels=ids)
    return out.loss, {"model": model, "depth": 2}


def cmd_graph(args) -> int:
    """Build a small graph, run backward, and draw it with Graphviz (values, gradients, shapes). --expr names
    become scalar tensors (random, or --var NAME=VALUE). Without Graphviz's `dot` the DOT source is written."""

    one_source(args, "expr", "preset", "hf", what="--expr \"...\", --preset NAME (" + ", ".join(GRAPH_PRESETS) +
               ") or --hf NAME (a pretrained model)")
    fmt = Path(args.out).suffix.lstrip(".").lower() or "svg"
    if fmt not in GRAPH_FORMATS:                       # before any work, not after it
        raise UserError(f"--out {args.out}: cannot write a .{fmt} file; use .svg, .png or .pdf (or .dot for the "
                        "Graphviz source)")
    if args.hf:
        out, extra = _pretrained_graph(args.hf, args.text)
        title = args.title or f"{args.hf}: forward + backward on {args.text!r}"
    elif args.preset:
        try:
            out, extra = graph_preset(args.preset)
        except KeyError:
            raise UserError(unknown_preset(args.preset, [*GRAPH_PRESETS, *gpt_model_presets()], "graph preset")) \
                from None
        title = args.title or (f"{args.preset}: {GRAPH_PRESETS[args.preset].__doc__.splitlines()[0]}"
                               if args.preset in GRAPH_PRESETS else
                               f"{args.preset} (untrained): forward + backward on 16 tokens")
    else:
        out, extra = _expr_graph(tg, args.expr, args.var)
        title = args.title or args.expr
    if not args.no_backward and out.requires_grad:
        with capture_grads(out):                 # the intermediates' gradients too
            (out if out.numel() == 1 else out.sum()).backward()
    depth = args.depth if args.depth is not None else extra.get("depth")
    g = draw_graph(out, params=extra.get("params"), model=extra.get("model"), view=args.view, depth=depth,
                   rankdir=args.rankdir, title=title)
    path = render(g, args.out)
    print(f"wrote {path}")
    if Path(path).suffix == ".dot" and Path(args.out).suffix.lower() not in (".dot", ".gv"):
        print("(Graphviz's `dot` was not found, so this is the DOT source; install Graphviz to get "
              f"{Path(args.out).suffix.lstrip('.').upper() or 'SVG'})")
    return 0


# ---------------------------------------------------------------- argparse wiring
def add_parsers(sub) -> dict:
    a = command(sub, "attention", cmd_attention, "attention heatmaps and per-head analysis of a checkpoint on some text")
    a.add_argument("--checkpoint", metavar="DIR", help="a checkpoint folder (train, demo, save)")
    a.add_argument("--hf", metavar="NAME_OR_DIR", help=HF_HELP)
    a.add_argument("--preset", help="instead of --checkpoint: an untrained model of this preset (random weights, "
                                    "seed 0; gpt2, bert-base, t5-small, tiny, demo …; text as bytes for the "
                                    "published ones); T5 decodes --text itself unless --decoder-text")
    a.add_argument("--text", help="the input text (default 'Hello')")
    a.add_argument("--ids", help="token ids instead of --text, e.g. '1,2,3'")
    a.add_argument("--decoder-text", help="T5: the decoder's text (default: the model's own greedy output)")
    a.add_argument("--max-new-tokens", type=int, default=16, help="T5: length of that output (default 16)")
    a.add_argument("--layer", type=int, help="one layer (0-based)")
    a.add_argument("--head", type=int, help="one head (0-based); with --layer: that head's heatmap")
    a.add_argument("--stack", help="encoder | decoder | cross (T5) — default: all")
    a.add_argument("--window", type=int, metavar="N", help="show at most N tokens (default: what fits)")
    a.add_argument("--first", action="store_true", help="window to the first tokens (default: the last)")
    a.add_argument("--rollout", action="store_true", help="also show attention rollout (default on overviews)")
    a.add_argument("--no-rollout", action="store_true", help="no rollout on the overview")
    a.add_argument("--layout", choices=["web", "bertviz", "full"], default="web",
                   help="JSON shape: per-head records (web), bertviz's, or full (default web)")
    output_flags(a, width=120)

    s = command(sub, "summary", cmd_summary,
                "a model's modules, output shapes and parameters (or a preset's, without allocating)")
    s.add_argument("--checkpoint", metavar="DIR", help="a checkpoint folder")
    s.add_argument("--hf", metavar="NAME_OR_DIR", help=HF_HELP)
    s.add_argument("--preset", help="a preset: tiny, demo, small, gpt2, gpt2-medium, llama-7b, bert-base, t5-small …")
    s.add_argument("--vocab-size", type=int, help="--preset: override the vocabulary size")
    s.add_argument("--modules", action="store_true", help="--preset: build the model (allocates!) and list modules")
    s.add_argument("--text", help="--checkpoint: input for the output shapes (default: 8 tokens)")
    s.add_argument("--ids", help="token ids instead of --text")
    s.add_argument("--no-shapes", action="store_true", help="--checkpoint: do not run the model")
    s.add_argument("--depth", type=int, help="module levels to list (default all)")
    output_flags(s, width=110)

    g = command(sub, "graph", cmd_graph, "draw a computation graph (an expression or a preset) to SVG/PNG/PDF",
                description=inspect.cleandoc(cmd_graph.__doc__) + " Presets: " + ", ".join(GRAPH_PRESETS) + ".")
    g.add_argument("--expr", help="e.g. \"(a * b + c).tanh()\" or \"exp(x) / (1 + exp(x))\"")
    g.add_argument("--var", action="append", metavar="NAME=VALUE", help="a value for a name (number or JSON list)")
    g.add_argument("--preset", help="one of: " + ", ".join(GRAPH_PRESETS) + ", or a GPT model preset (gpt2, ...)")
    g.add_argument("--hf", metavar="NAME_OR_DIR", help=HF_HELP + "; drawn by module, forward + backward on --text")
    g.add_argument("--text", default="The cat sat on the mat.", help="--hf: the input (default 'The cat sat on the mat.')")
    g.add_argument("--out", default="graph.svg", metavar="FILE",
                   help="output file: .svg .png .pdf .dot (default graph.svg)")
    g.add_argument("--view", choices=["forward", "backward"], default="forward",
                   help="edge direction (default forward)")
    g.add_argument("--depth", type=int, help="module levels drawn open (models)")
    g.add_argument("--rankdir", choices=["auto", "TB", "LR"], default="auto",
                   help="auto (default): the direction and wrapping that fit a 16:9 slide")
    g.add_argument("--title", help="a line on top of the drawing")
    g.add_argument("--no-backward", action="store_true", help="do not run backward (no gradients drawn)")
    return {"attention": a, "summary": s, "graph": g}
