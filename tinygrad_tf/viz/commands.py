"""The viz subcommands of the ``tinygrad-tf`` CLI: ``attention``, ``summary``, ``graph``.

    tinygrad-tf attention --checkpoint runs/demo --text "def f(x):" [--layer 1 --head 0] [--json [FILE]]
    tinygrad-tf attention --preset gpt2 --text "The cat sat" --svg slide.svg   (untrained: random weights)
    tinygrad-tf summary --checkpoint runs/demo        |  summary --preset gpt2   (counted, nothing allocated)
    tinygrad-tf graph --expr "(a * b + c).tanh()" --out g.svg  |  graph --preset neuron --out neuron.svg

``cli.py`` wires them with ``add_parsers(subparsers)``. Each command is ``cmd_NAME(args) -> exit code``;
a mistake in the input (an unknown preset, a layer out of range, a bad expression) is one line on stderr
and exit code 2, as everywhere in the CLI.
"""

from __future__ import annotations

import ast
import json
import math
import sys
from pathlib import Path

__all__ = ["add_parsers", "cmd_attention", "cmd_summary", "cmd_graph", "CommandError", "GRAPH_PRESETS"]


class CommandError(ValueError):
    """A problem with the command's input: printed as one line, exit code 2."""


def _console():
    from rich.console import Console
    return Console(highlight=False)


def _guard(fn):
    """Run ``fn(args)``; a CommandError becomes "error: ..." on stderr and exit code 2."""
    def run(args):
        try:
            return fn(args) or 0
        except CommandError as e:
            print("error: " + " ".join(str(e).split()), file=sys.stderr)
            return 2
    run.__name__, run.__doc__, run.__wrapped__ = fn.__name__, fn.__doc__, fn
    return run


def _write_or_print(text: str, path) -> None:
    from .readout import atomic_write
    if path in (None, "-"):
        sys.stdout.write(text + "\n")
    else:
        atomic_write(path, (text + "\n").encode("utf-8"))
        print(f"wrote {path}", file=sys.stderr)


def _load(checkpoint, device):
    from ..train import load_checkpoint
    return load_checkpoint(checkpoint, device=device, load_training_state=False)


def _encode(tokenizer, text, what="--text"):
    if tokenizer is None:
        raise CommandError(f"this checkpoint has no tokenizer.json, so {what} cannot be encoded; pass --ids instead")
    known = getattr(tokenizer, "char_to_id", None)
    if known is not None:
        unknown = sorted({ch for ch in text if ch not in known})
        if unknown:
            raise CommandError(f"{what} has character(s) the checkpoint's character tokenizer does not know: "
                               + ", ".join(repr(ch) for ch in unknown[:8]))
    ids = tokenizer.encode(text)
    if not ids:
        raise CommandError(f"{what} encodes to no tokens")
    return ids


def _parse_ids(s):
    try:
        return [int(x) for x in s.replace(",", " ").split()]
    except ValueError:
        raise CommandError(f"--ids expects integers separated by commas or spaces, got {s!r}") from None


# ---------------------------------------------------------------- attention
UNTRAINED_LIMIT = 400_000_000          # --preset builds the model in memory: GPT-2 medium fits, Llama-7B does not


def _untrained(name, device):
    """A freshly initialised model of preset ``name`` (seed 0) and a tokenizer for it: the training sizes
    (tiny, demo, small) get the character tokenizer of the default corpus, published presets raw bytes."""
    import tinygrad_tf as tg
    from ..nn.models import MODEL_CLASSES, count_parameters
    from ..text import ByteBPETokenizer, CharTokenizer, DataError, default_corpus
    from ..train import TRAIN_PRESETS
    tok = None
    if name in TRAIN_PRESETS:
        try:
            tok = CharTokenizer.train(default_corpus())
        except DataError:
            tok = None
    cfg = _preset_config(name, tok.vocab_size if tok is not None else None)
    if tok is None:
        tok = ByteBPETokenizer()                                # no merges: one token per byte, ids 0-255
    n = count_parameters(cfg)
    if n > UNTRAINED_LIMIT:
        raise CommandError(f"--preset {name} has {n:,} parameters: too big to build just to look at attention; "
                           "take a smaller preset, or a checkpoint")
    tg.manual_seed(0)
    return MODEL_CLASSES[cfg.model_type](cfg).to(device), tok


def cmd_attention(args) -> int:
    """Attention of a checkpoint (or of an untrained preset) on some text: all heads + analysis, or one head's
    heatmap, or JSON."""
    from ..tensor import Tensor
    from .attention import attention_maps, token_labels
    from .readout import json_safe

    if bool(args.checkpoint) == bool(args.preset):
        raise CommandError("give either --checkpoint DIR (a trained model) or --preset NAME (an untrained model "
                           "with random weights, e.g. gpt2)")
    if args.checkpoint:
        c = _load(args.checkpoint, args.device)
        model, tok = c.model, c.tokenizer
    else:
        model, tok = _untrained(args.preset, args.device)
        print(f"note: --preset {args.preset} is untrained (random weights, seed 0): this is attention at "
              "initialisation; pass --checkpoint for a trained model", file=sys.stderr)
    ids = _parse_ids(args.ids) if args.ids else _encode(tok, args.text if args.text is not None else "Hello")
    ctx = model.config.context_length
    if len(ids) > ctx:
        print(f"note: the text is {len(ids)} tokens; the model sees only the last {ctx}", file=sys.stderr)
        ids = ids[-ctx:]
    vocab = model.config.vocab_size
    bad = [i for i in ids if not 0 <= i < vocab]
    if bad:
        raise CommandError(f"token id(s) {bad[:5]} outside the vocabulary (size {vocab})")
    dec = None
    if model.config.model_type == "t5":
        if args.decoder_text is not None or args.preset:          # an untrained model's output is noise
            text = args.decoder_text if args.decoder_text is not None else \
                (args.text if args.text is not None else "Hello")
            dec = [model.config.decoder_start_token_id] + _encode(tok, text, "--decoder-text")
        else:                                                   # the model's own output: what it attended to
            out = model.generate(Tensor([ids]), max_new_tokens=args.max_new_tokens, temperature=0,
                                 eos_token_id=getattr(model.config, "eos_token_id", None))
            dec = out.numpy()[0].tolist()
    elif args.decoder_text is not None:
        raise CommandError("--decoder-text is for encoder-decoder (T5) checkpoints")
    dec_tokens = None
    if dec is not None:                                         # the first decoder input is the start token
        dec_tokens = ["<start>"] + token_labels(dec[1:], tok)
    maps = attention_maps(model, ids, tokenizer=tok, decoder_input_ids=dec, decoder_tokens=dec_tokens)

    stack = args.stack
    if stack is not None and stack not in maps.stacks:
        raise CommandError(f"no attention stack {stack!r}; this model has: {', '.join(maps.names)}")
    s = maps.stack(stack)
    for flag, value, n in (("--layer", args.layer, s.n_layer), ("--head", args.head, s.n_head)):
        if value is not None and not 0 <= value < n:
            raise CommandError(f"{flag} {value} is out of range: the model has {n} (0 to {n - 1})")

    if args.json is not None:
        if args.layer is not None or args.head is not None:
            recs = [r for r in maps.to_records(stack)
                    if args.layer in (None, r["layer"]) and args.head in (None, r["head"])]
            text = json.dumps(json_safe(recs))
        else:
            text = maps.to_json(layout=args.layout)
        _write_or_print(text, args.json)
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
    console = _console()
    if len(maps.names) > 1 and stack is None:
        console.print(f"[dim]attention stacks: {', '.join(maps.names)} (choose one with --stack)[/]")
    for p in parts:
        console.print(p)
    if args.svg:
        from rich.console import Group
        from .readout import save_svg
        path = save_svg(Group(*parts), args.svg, width=args.width, title="tinygrad-tf attention")
        print(f"wrote {path}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- summary
def _preset_config(name, vocab_size=None):
    from ..nn import models
    for cls_name in ("GPTConfig", "BertConfig", "T5Config"):
        cls = getattr(models, cls_name, None)
        if cls is not None and name in cls.PRESETS:
            return cls.preset(name, **({"vocab_size": vocab_size} if vocab_size else {}))
    from ..train import TRAIN_PRESETS, TrainConfig
    if name in TRAIN_PRESETS:
        if vocab_size is None:
            from ..text import CharTokenizer, DataError, default_corpus
            try:
                vocab_size = CharTokenizer.train(default_corpus()).vocab_size
            except DataError:
                vocab_size = 100
        return TrainConfig(preset=name).model_config(vocab_size)
    known = list(TRAIN_PRESETS)
    for cls_name in ("GPTConfig", "BertConfig", "T5Config"):
        cls = getattr(models, cls_name, None)
        known += list(cls.PRESETS) if cls is not None else []
    raise CommandError(f"unknown preset {name!r}; known: {', '.join(known)}")


def cmd_summary(args) -> int:
    """A checkpoint's modules (with output shapes), or a preset's parameters by component (nothing allocated)."""
    from .summary import config_summary, model_summary

    if bool(args.checkpoint) == bool(args.preset):
        raise CommandError("give either --checkpoint DIR (a trained model) or --preset NAME (counted from its config)")
    if args.depth is not None and args.depth < 0:
        raise CommandError(f"--depth must be >= 0, got {args.depth}")
    if args.checkpoint:
        c = _load(args.checkpoint, args.device)
        model = c.model
        ids = None
        if not args.no_shapes:
            ids = (_parse_ids(args.ids) if args.ids else _encode(c.tokenizer, args.text) if args.text is not None
                   else list(range(min(8, model.config.context_length, model.config.vocab_size))))
            ids = [ids[-model.config.context_length:]]
        readout = model_summary(model, ids, depth=args.depth)
    else:
        cfg = _preset_config(args.preset, args.vocab_size)
        if args.modules:
            from ..nn.models import MODEL_CLASSES
            model = MODEL_CLASSES[cfg.model_type](cfg)
            readout = model_summary(model, depth=args.depth)
        else:
            readout = config_summary(cfg)
    if args.json is not None:
        _write_or_print(readout.to_json(), args.json)
        return 0
    _console().print(readout)
    if args.svg:
        print(f"wrote {readout.save_svg(args.svg, width=args.width, title='tinygrad-tf summary')}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- graph
def _preset_neuron(tg):
    """micrograd's neuron: o = tanh(x1 w1 + x2 w2 + b), with Karpathy's numbers (do/dx1 = -1.5)."""
    t = {k: tg.tensor(v, requires_grad=True) for k, v in
         dict(x1=2.0, x2=0.0, w1=-3.0, w2=1.0, b=6.8813735870195432).items()}
    for k, v in t.items():
        v.name = k
    out = (t["x1"] * t["w1"] + t["x2"] * t["w2"] + t["b"]).tanh()
    out.name = "o"
    return out, {}


def _preset_mlp(tg):
    """A 3-4-1 MLP on a batch of 2, mean squared error."""
    tg.manual_seed(0)
    x = tg.randn(2, 3); x.name = "x"
    y = tg.tensor([[1.0], [-1.0]]); y.name = "y"
    w1 = (tg.randn(3, 4) * 0.5).requires_grad_(); w1.name = "w1"
    b1 = tg.zeros(4, requires_grad=True); b1.name = "b1"
    w2 = (tg.randn(4, 1) * 0.5).requires_grad_(); w2.name = "w2"
    loss = (((x @ w1 + b1).tanh() @ w2 - y) ** 2).mean()
    loss.name = "loss"
    return loss, {}


def _preset_attention(tg):
    """Scaled dot-product attention of 3 tokens with 2 features: softmax(q k^T / sqrt(2)) v."""
    tg.manual_seed(0)
    q, k, v = (tg.randn(3, 2, requires_grad=True) for _ in range(3))
    q.name, k.name, v.name = "q", "k", "v"
    w = (q @ k.T / math.sqrt(2)).softmax(dim=-1)
    w.name = "weights"
    out = (w @ v).sum()
    out.name = "sum(out)"
    return out, {}


def _preset_layernorm(tg):
    """LayerNorm of 2 vectors of 4 features, written out: (x - mean) / sqrt(var + eps) * g + b."""
    tg.manual_seed(0)
    x = tg.randn(2, 4, requires_grad=True); x.name = "x"
    g = tg.ones(4, requires_grad=True); g.name = "gamma"
    b = tg.zeros(4, requires_grad=True); b.name = "beta"
    mu = x.mean(dim=-1, keepdim=True)
    var = ((x - mu) ** 2).mean(dim=-1, keepdim=True)
    out = ((x - mu) / (var + 1e-5).sqrt() * g + b).sum()
    out.name = "sum(y)"
    return out, {}


def _preset_cross_entropy(tg):
    """Cross-entropy of 2 rows of 3 logits: -log softmax(logits)[target], averaged."""
    from ..nn import functional as F
    tg.manual_seed(0)
    logits = tg.randn(2, 3, requires_grad=True); logits.name = "logits"
    loss = F.cross_entropy(logits, tg.tensor([0, 2]))
    loss.name = "loss"
    return loss, {}


def _preset_gpt(tg):
    """A one-layer GPT's loss, traced so the drawing groups ops by module (depth 2)."""
    from ..nn.models import GPT, GPTConfig
    from .graph import trace
    tg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=8, context_length=8, d_model=8, n_layer=1, n_head=2))
    ids = tg.tensor([[1, 2, 3, 4]])
    with trace(model):
        loss = model(ids, labels=ids).loss
    return loss, {"model": model, "depth": 2}


def _model_preset_graph(tg, name):
    """A GPT model preset (gpt2, gpt2-medium, ...), untrained, forward + backward on 16 tokens, drawn by block."""
    from ..nn.models import GPT, GPTConfig
    from .graph import trace
    tg.manual_seed(0)
    model = GPT(GPTConfig.preset(name))
    ids = tg.tensor([list(range(1, 17))])
    with trace(model):
        loss = model(ids, labels=ids).loss
    return loss, {"model": model, "depth": 2}


def _gpt_model_presets() -> list:
    from ..nn.models import GPTConfig, count_parameters
    return [n for n in GPTConfig.presets() if count_parameters(GPTConfig.preset(n)) < 400_000_000]


GRAPH_PRESETS = {"neuron": _preset_neuron, "mlp": _preset_mlp, "attention": _preset_attention,
                 "layernorm": _preset_layernorm, "cross-entropy": _preset_cross_entropy, "gpt": _preset_gpt}

_EXPR_FUNCS = ("exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "sin", "cos", "maximum", "minimum",
               "softmax", "log_softmax", "sum", "mean", "where", "clamp", "pow")


def _expr_graph(tg, expr, var_specs):
    """Evaluate ``expr`` with its free names as scalar tensors that require grad (``--var a=2.0`` sets one;
    JSON lists make vectors/matrices). Only arithmetic, attribute calls and tg functions are allowed."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as e:
        raise CommandError(f"--expr is not a Python expression: {e.msg} at column {e.offset}") from None
    for node in ast.walk(tree):
        if isinstance(node, (ast.Lambda, ast.NamedExpr, ast.ListComp, ast.GeneratorExp, ast.DictComp, ast.SetComp,
                             ast.Await, ast.Yield, ast.YieldFrom)) or \
                (isinstance(node, ast.Attribute) and node.attr.startswith("_")):
            raise CommandError(f"--expr may use arithmetic, names, numbers and tensor methods only "
                               f"(found {type(node).__name__})")
    values = {}
    for spec in var_specs or ():
        if "=" not in spec:
            raise CommandError(f"--var expects NAME=VALUE, got {spec!r}")
        k, v = spec.split("=", 1)
        try:
            values[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            raise CommandError(f"--var {k.strip()}: {v!r} is not a number or a JSON list") from None
    funcs = {name: getattr(tg, name) for name in _EXPR_FUNCS if hasattr(tg, name)}
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    names = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - set(funcs) - {"tg"} - called)
    unknown_calls = called - set(funcs)
    if unknown_calls:
        raise CommandError(f"unknown function(s) in --expr: {', '.join(sorted(unknown_calls))}; "
                           f"available: {', '.join(funcs)} and tensor methods like x.tanh()")
    extra = set(values) - set(names)
    if extra:
        raise CommandError(f"--var names {', '.join(sorted(extra))} that --expr does not use")
    tg.manual_seed(0)
    leaves = {}
    for n in names:
        v = values.get(n)
        if v is None:
            v = round(float(tg.randn(1).item()), 2)                  # a readable random value
        try:
            t = tg.tensor(v, dtype=tg.float32, requires_grad=True)
        except (TypeError, ValueError) as e:
            raise CommandError(f"--var {n}: cannot make a tensor of {v!r} ({e})") from None
        t.name = n
        leaves[n] = t
    try:
        out = eval(compile(tree, "<expr>", "eval"), {"__builtins__": {}, "tg": tg, **funcs}, dict(leaves))  # noqa: S307
    except Exception as e:  # noqa: BLE001  (the user's expression: any error is theirs to fix)
        raise CommandError(f"--expr failed: {type(e).__name__}: {e}") from None
    if not hasattr(out, "grad_fn"):
        raise CommandError("--expr must compute a tensor from its names (e.g. '(a * b + c).tanh()')")
    return out, {}


def cmd_graph(args) -> int:
    """Draw a computation graph (an expression or a preset) to SVG/PNG/PDF (DOT without Graphviz)."""
    import tinygrad_tf as tg
    from .graph import draw_graph, render

    if bool(args.expr) == bool(args.preset):
        raise CommandError("give either --expr \"...\" or --preset NAME (" + ", ".join(GRAPH_PRESETS) + ")")
    if args.preset:
        if args.preset in GRAPH_PRESETS:
            out, extra = GRAPH_PRESETS[args.preset](tg)
            title = args.title or f"{args.preset}: {GRAPH_PRESETS[args.preset].__doc__.splitlines()[0]}"
        elif args.preset in _gpt_model_presets():
            out, extra = _model_preset_graph(tg, args.preset)
            title = args.title or f"{args.preset} (untrained): forward + backward on 16 tokens"
        else:
            raise CommandError(f"unknown graph preset {args.preset!r}; known: "
                               f"{', '.join([*GRAPH_PRESETS, *_gpt_model_presets()])}")
    else:
        out, extra = _expr_graph(tg, args.expr, args.var)
        title = args.title or args.expr
    if not args.no_backward and out.requires_grad:
        (out if out.numel() == 1 else out.sum()).backward()
    depth = args.depth if args.depth is not None else extra.get("depth")
    g = draw_graph(out, model=extra.get("model"), view=args.view, depth=depth, rankdir=args.rankdir, title=title)
    path = render(g, args.out)
    print(f"wrote {path}")
    if Path(path).suffix == ".dot" and Path(args.out).suffix.lower() not in (".dot", ".gv"):
        print("(Graphviz's `dot` was not found, so this is the DOT source; install Graphviz to get "
              f"{Path(args.out).suffix.lstrip('.').upper() or 'SVG'})")
    return 0


# ---------------------------------------------------------------- argparse wiring
def add_parsers(subparsers) -> None:
    """Register ``attention``, ``summary`` and ``graph`` on the CLI's subparsers (``set_defaults(fn=...)``)."""
    a = subparsers.add_parser(
        "attention", help="attention heatmaps and per-head analysis of a checkpoint on some text",
        description="Run a checkpoint (or an untrained --preset) on --text and show its attention: every "
                    "layer x head at a glance with pattern tags, a per-head analysis table and attention rollout; "
                    "--layer/--head for one head's heatmap; --json for the data (web records, or --layout "
                    "bertviz); --svg for a slide.")
    a.add_argument("--checkpoint", metavar="DIR", help="a checkpoint folder (train, demo, save)")
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
    a.add_argument("--json", nargs="?", const="-", metavar="FILE", help="write JSON (to FILE, or stdout)")
    a.add_argument("--layout", choices=["web", "bertviz", "full"], default="web",
                   help="JSON shape: per-head records (web), bertviz's, or full (default web)")
    a.add_argument("--svg", metavar="FILE", help="also save what is shown as an SVG (for slides)")
    a.add_argument("--width", type=int, default=120, help="SVG width in columns (default 120)")
    a.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    a.set_defaults(fn=_guard(cmd_attention))

    s = subparsers.add_parser(
        "summary", help="a model's modules, output shapes and parameters (or a preset's, without allocating)",
        description="--checkpoint: every module with its type, output shape (one forward pass on --text or a "
                    "few tokens) and parameter count, tied weights once, memory. --preset: the parameter count "
                    "by component, computed from the config (nothing allocated; --modules builds it).")
    s.add_argument("--checkpoint", metavar="DIR", help="a checkpoint folder")
    s.add_argument("--preset", help="a preset: tiny, demo, small, gpt2, gpt2-medium, llama-7b, bert-base, t5-small …")
    s.add_argument("--vocab-size", type=int, help="--preset: override the vocabulary size")
    s.add_argument("--modules", action="store_true", help="--preset: build the model (allocates!) and list modules")
    s.add_argument("--text", help="--checkpoint: input for the output shapes (default: 8 tokens)")
    s.add_argument("--ids", help="token ids instead of --text")
    s.add_argument("--no-shapes", action="store_true", help="--checkpoint: do not run the model")
    s.add_argument("--depth", type=int, help="module levels to list (default all)")
    s.add_argument("--json", nargs="?", const="-", metavar="FILE", help="write JSON (to FILE, or stdout)")
    s.add_argument("--svg", metavar="FILE", help="also save the table as an SVG")
    s.add_argument("--width", type=int, default=110, help="SVG width in columns (default 110)")
    s.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    s.set_defaults(fn=_guard(cmd_summary))

    g = subparsers.add_parser(
        "graph", help="draw a computation graph (an expression or a preset) to SVG/PNG/PDF",
        description="Build a small graph, run backward, and draw it with Graphviz (values, gradients, shapes). "
                    "--expr names become scalar tensors (random, or --var NAME=VALUE); presets: "
                    + ", ".join(GRAPH_PRESETS) + ". Without Graphviz's `dot` the DOT source is written.")
    g.add_argument("--expr", help="e.g. \"(a * b + c).tanh()\" or \"exp(x) / (1 + exp(x))\"")
    g.add_argument("--var", action="append", metavar="NAME=VALUE", help="a value for a name (number or JSON list)")
    g.add_argument("--preset", help="one of: " + ", ".join(GRAPH_PRESETS) + ", or a GPT model preset (gpt2, ...)")
    g.add_argument("--out", default="graph.svg", metavar="FILE",
                   help="output file: .svg .png .pdf .dot (default graph.svg)")
    g.add_argument("--view", choices=["forward", "backward"], default="forward",
                   help="edge direction (default forward)")
    g.add_argument("--depth", type=int, help="module levels drawn open (models)")
    g.add_argument("--rankdir", choices=["TB", "LR"], default="TB")
    g.add_argument("--title", help="a line on top of the drawing")
    g.add_argument("--no-backward", action="store_true", help="do not run backward (no gradients drawn)")
    g.set_defaults(fn=_guard(cmd_graph))
