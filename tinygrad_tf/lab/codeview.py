"""Read the code beside the math: any op, layer, model or encoding by name, its source and its formulas.

    from tinygrad_tf.lab.codeview import component_view, find_component, COMPONENTS
    rich.print(component_view("Softmax"))         # the formulas, the docstring and the highlighted source
    find_component("rope").source()               # aliases and any spelling: "layer-norm op", "RoPE", "mha"

``tinygrad-tf show NAME`` prints the same view, ``tinygrad-tf show --list`` the catalogue, and the lab's
Code tab shows it beside a list of every component. The source is the real one (``inspect.getsource``,
with its file and line), so what you read is what runs.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
from dataclasses import dataclass, field
from pathlib import Path

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

__all__ = ["Component", "COMPONENTS", "KINDS", "find_component", "component_view", "catalogue", "UnknownComponent"]


class UnknownComponent(KeyError):
    """No component by that name; the message suggests close names."""

    def __str__(self):
        return str(self.args[0]) if self.args else "unknown component"


@dataclass
class Component:
    name: str                       # what the list shows and `show` takes
    kind: str                       # op, layer, block, attention, position, model, loss, optimizer, autograd
    target: str                     # "module:qualname"
    math: list = field(default_factory=list)   # (what, formula) rows
    aliases: tuple = ()

    @property
    def key(self) -> str:
        return _norm(self.name)

    def obj(self):
        module, _, qual = self.target.partition(":")
        o = importlib.import_module(module)
        for part in qual.split("."):
            o = getattr(o, part)
        return o

    def source(self) -> str:
        return inspect.getsource(self.obj())

    def location(self) -> tuple[str, int]:
        o = self.obj()
        path = inspect.getsourcefile(o) or "?"
        try:
            line = inspect.getsourcelines(o)[1]
        except (OSError, TypeError):
            line = 1
        root = Path(importlib.import_module("tinygrad_tf").__file__).resolve().parent.parent
        try:
            path = str(Path(path).resolve().relative_to(root))
        except ValueError:
            pass
        return path, line

    def doc(self) -> str:
        """The object's own docstring ("" when it has none: never the one a class inherits, e.g. Function's for
        an op; the catalogue's formulas are then the whole math)."""
        o = self.obj()
        own = o.__dict__.get("__doc__") if isinstance(o, type) else getattr(o, "__doc__", None)
        return inspect.cleandoc(own) if isinstance(own, str) else ""

    def to_dict(self) -> dict:
        path, line = self.location()
        return {"name": self.name, "kind": self.kind, "target": self.target, "file": path, "line": line,
                "math": [list(r) for r in self.math], "aliases": list(self.aliases)}


# RST inline markup in docstrings: ``code``, :role:`target`, `interpreted text`
_RST_CODE = re.compile(r"``(.+?)``|:[a-z]+:`~?([^`]+)`|(?<![`\w])`([^`]+)`(?!`)")


def rst_text(doc: str, style: str = "dim", code_style: str = "bold") -> Text:
    """A docstring as rich Text: RST code marks dropped, the code they mark set in ``code_style``."""
    out, pos = Text(style=style), 0
    for m in _RST_CODE.finditer(doc):
        out.append(doc[pos:m.start()])
        out.append(next(g for g in m.groups() if g is not None), style=code_style)
        pos = m.end()
    out.append(doc[pos:])
    return out


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def C(name, kind, target, *math, aliases=()):
    return Component(name, kind, target, list(math), tuple(aliases))


O, R, S, N = "tinygrad_tf.ops", "tinygrad_tf.reduce_ops", "tinygrad_tf.shape_ops", "tinygrad_tf.nn_ops"

COMPONENTS: list[Component] = [
    # ------------------------------------------------------------------ ops: forward and backward side by side
    C("Add", "op", f"{O}:Add", ("forward", "y = a + b"), ("backward", "∂L/∂a = g,  ∂L/∂b = g   (summed back over broadcast axes)")),
    C("Mul", "op", f"{O}:Mul", ("forward", "y = a ⊙ b"), ("backward", "∂L/∂a = g ⊙ b,  ∂L/∂b = g ⊙ a")),
    C("Div", "op", f"{O}:Div", ("forward", "y = a / b"), ("backward", "∂L/∂a = g / b,  ∂L/∂b = −g ⊙ y / b")),
    C("Pow", "op", f"{O}:Pow", ("forward", "y = aᵇ"), ("backward", "∂L/∂a = g b aᵇ⁻¹,  ∂L/∂b = g y ln a")),
    C("Exp", "op", f"{O}:Exp", ("forward", "y = eˣ"), ("backward", "∂L/∂x = g ⊙ y   (reuses the output)")),
    C("Log", "op", f"{O}:Log", ("forward", "y = ln x"), ("backward", "∂L/∂x = g / x")),
    C("Sqrt", "op", f"{O}:Sqrt", ("forward", "y = √x"), ("backward", "∂L/∂x = g / (2y)")),
    C("Tanh", "op", f"{O}:Tanh", ("forward", "y = tanh x"), ("backward", "∂L/∂x = g ⊙ (1 − y²)")),
    C("Sigmoid", "op", f"{O}:Sigmoid", ("forward", "y = σ(x) = 1 / (1 + e⁻ˣ)   (computed without overflow)"),
      ("backward", "∂L/∂x = g ⊙ y (1 − y)")),
    C("ReLU", "op", f"{O}:ReLU", ("forward", "y = max(x, 0)"), ("backward", "∂L/∂x = g ⊙ [x > 0]")),
    C("GELU", "op", f"{O}:GELU", ("forward", "y = x Φ(x),  Φ(x) = ½ (1 + erf(x/√2))"),
      ("tanh form", "Φ(x) ≈ ½ (1 + tanh(√(2/π) (x + 0.044715 x³)))"),
      ("backward", "∂L/∂x = g ⊙ (Φ(x) + x φ(x)),  φ(x) = e^(−x²/2) / √(2π)")),
    C("SiLU", "op", f"{O}:SiLU", ("forward", "y = x σ(x)   (a.k.a. swish)"),
      ("backward", "∂L/∂x = g ⊙ σ(x) (1 + x (1 − σ(x)))")),
    C("MatMul", "op", f"{O}:MatMul", ("forward", "Y = A B"), ("backward", "∂L/∂A = G Bᵀ,  ∂L/∂B = Aᵀ G"),
      ("batched", "leading axes broadcast; their gradients are summed back")),
    C("Where", "op", f"{O}:Where", ("forward", "y = c ? a : b"), ("backward", "∂L/∂a = g ⊙ c,  ∂L/∂b = g ⊙ ¬c")),
    C("Sum", "op", f"{R}:Sum", ("forward", "y = Σᵢ xᵢ"), ("backward", "∂L/∂xᵢ = g   (broadcast back)")),
    C("Mean", "op", f"{R}:Mean", ("forward", "y = (1/n) Σᵢ xᵢ"), ("backward", "∂L/∂xᵢ = g / n")),
    C("Max", "op", f"{R}:Max", ("forward", "y = maxᵢ xᵢ"), ("backward", "∂L/∂xᵢ = g [xᵢ = y] / #ties")),
    C("Var", "op", f"{R}:Var", ("forward", "y = Σᵢ (xᵢ − x̄)² / (n − correction)"),
      ("backward", "∂L/∂xᵢ = g · 2 (xᵢ − x̄) / (n − correction)")),
    C("LogSumExp", "op", f"{R}:LogSumExp", ("forward", "y = m + ln Σᵢ e^(xᵢ − m),  m = max x   (never overflows)"),
      ("backward", "∂L/∂xᵢ = g · softmax(x)ᵢ")),
    C("Softmax", "op", f"{R}:Softmax", ("forward", "yᵢ = e^(xᵢ − m) / Σⱼ e^(xⱼ − m),  m = max x"),
      ("backward", "∂L/∂x = y ⊙ (g − Σⱼ gⱼ yⱼ)"), ("note", "the Jacobian diag(y) − y yᵀ, never built")),
    C("LogSoftmax", "op", f"{R}:LogSoftmax", ("forward", "yᵢ = xᵢ − logsumexp(x)"),
      ("backward", "∂L/∂x = g − softmax(x) Σⱼ gⱼ")),
    C("Reshape", "op", f"{S}:Reshape", ("forward", "same values, new shape"), ("backward", "g reshaped back")),
    C("Permute", "op", f"{S}:Permute", ("forward", "y = x with axes reordered by p"),
      ("backward", "g permuted by p⁻¹")),
    C("Expand", "op", f"{S}:Expand", ("forward", "broadcast x to a bigger shape (no copy)"),
      ("backward", "sum g over the broadcast axes")),
    C("GetItem", "op", f"{S}:GetItem", ("forward", "y = x[index]"),
      ("backward", "scatter-add g into zeros of x's shape (repeated indices add up)")),
    C("Cat", "op", f"{S}:Cat", ("forward", "y = [x₀ | x₁ | …] along dim"), ("backward", "g cut back into pieces")),
    C("Embedding (op)", "op", f"{N}:Embedding", ("forward", "y = W[ids]   (a row per token id)"),
      ("backward", "∂L/∂W[k] = Σ_{positions with id k} g")),
    C("Dropout (op)", "op", f"{N}:Dropout", ("forward", "y = x ⊙ m / (1 − p),  m ~ Bernoulli(1 − p)"),
      ("backward", "∂L/∂x = g ⊙ m / (1 − p)")),
    C("CrossEntropy", "loss", f"{N}:CrossEntropy",
      ("forward", "L = −(1/N) Σₙ log softmax(zₙ)[yₙ]   (ignore_index rows skipped)"),
      ("smoothing", "target = (1 − ε) onehot(y) + ε / C"),
      ("backward", "∂L/∂zₙ = (softmax(zₙ) − target) / N"), aliases=("loss", "cross entropy op")),
    C("LayerNorm (op)", "op", f"{N}:LayerNorm",
      ("forward", "x̂ = (x − μ) / √(σ² + ε),  y = x̂ ⊙ w + b"),
      ("backward", "∂L/∂x = (ĝ − mean(ĝ) − x̂ ⊙ mean(ĝ ⊙ x̂)) / √(σ² + ε),  ĝ = g ⊙ w"),
      ("params", "∂L/∂w = Σ g ⊙ x̂,  ∂L/∂b = Σ g")),
    C("RMSNorm (op)", "op", f"{N}:RMSNorm", ("forward", "y = x / √(mean(x²) + ε) ⊙ w"),
      ("backward", "∂L/∂x = (ĝ − x̂ ⊙ mean(ĝ ⊙ x̂)) / rms,  ĝ = g ⊙ w")),
    # ------------------------------------------------------------------ layers
    C("Linear", "layer", "tinygrad_tf.nn.layers:Linear", ("forward", "y = x Wᵀ + b"),
      ("shapes", "W: (out, in),  b: (out,)"), ("init", "U(−1/√in, 1/√in), as PyTorch")),
    C("Embedding", "layer", "tinygrad_tf.nn.layers:Embedding", ("forward", "y = W[ids]"),
      ("shapes", "W: (num_embeddings, dim)")),
    C("Dropout", "layer", "tinygrad_tf.nn.layers:Dropout", ("training", "y = x ⊙ m / (1 − p)"),
      ("eval", "y = x")),
    C("LayerNorm", "layer", "tinygrad_tf.nn.norm:LayerNorm",
      ("forward", "y = (x − μ) / √(σ² + ε) ⊙ γ + β   over the last dims"),
      ("μ, σ²", "mean and biased variance of each position's features"), aliases=("ln", "layer norm")),
    C("RMSNorm", "layer", "tinygrad_tf.nn.norm:RMSNorm", ("forward", "y = x / √(mean(x²) + ε) ⊙ γ"),
      ("vs LayerNorm", "no mean subtraction, no bias (Llama, T5)")),
    C("GroupNorm", "layer", "tinygrad_tf.nn.norm:GroupNorm",
      ("forward", "split features into G groups; LayerNorm each group; ⊙ γ + β")),
    C("FeedForward", "block", "tinygrad_tf.nn.blocks:FeedForward", ("forward", "y = act(x W₁ + b₁) W₂ + b₂"),
      ("widths", "d_model → d_ff (4·d_model) → d_model"), aliases=("mlp", "ffn")),
    C("GatedFeedForward", "block", "tinygrad_tf.nn.blocks:GatedFeedForward",
      ("forward", "y = (act(x W_gate) ⊙ x W_up) W_down"),
      ("SwiGLU / GeGLU", "act = SiLU / GELU"), aliases=("swiglu", "geglu", "glu")),
    C("Block", "block", "tinygrad_tf.nn.blocks:Block",
      ("pre-LN", "x = x + Attn(LN(x));  x = x + FFN(LN(x))"),
      ("post-LN", "x = LN(x + Attn(x));  x = LN(x + FFN(x))   (original Transformer, BERT)"),
      ("sandwich", "x = x + LN(Attn(LN(x)));  x = x + LN(FFN(LN(x)))"),
      ("why it matters", "pre-LN keeps an identity path from loss to embeddings: gradients reach every layer"),
      aliases=("transformer block", "residual", "pre-ln", "post-ln")),
    # ------------------------------------------------------------------ attention
    C("Attention", "attention", "tinygrad_tf.nn.functional:attention",
      ("forward", "Attention(Q, K, V) = softmax(Q Kᵀ / √d + bias, masked) V"),
      ("mask", "masked scores → the most negative float, so an empty row is uniform, not NaN"),
      ("returns", "(output, weights): the weights are what the heatmaps show"),
      aliases=("sdpa", "scaled dot product attention", "self attention")),
    C("MultiHeadAttention", "attention", "tinygrad_tf.nn.attention:MultiHeadAttention",
      ("heads", "headᵢ = Attention(X W_Qⁱ, X W_Kⁱ, X W_Vⁱ),  i = 1..h,  d_head = d_model / h"),
      ("output", "MHA(X) = [head₁ | … | head_h] W_O"),
      ("causal", "query t sees keys ≤ t (GPT); GQA: h_kv < h key/value heads shared by groups"),
      aliases=("mha", "multi head attention")),
    # ------------------------------------------------------------------ positions
    C("SinusoidalPositionalEncoding", "position", "tinygrad_tf.nn.positional:SinusoidalPositionalEncoding",
      ("table", "PE(p, 2i) = sin(p / 10000^(2i/d)),  PE(p, 2i+1) = cos(p / 10000^(2i/d))"),
      ("use", "x = token embedding + PE(p)   (fixed, not learned)"), aliases=("sinusoidal",)),
    C("RotaryEmbedding", "position", "tinygrad_tf.nn.positional:RotaryEmbedding",
      ("rotate", "q′ = q ⊙ cos(pθ) + rotate_half(q) ⊙ sin(pθ),  same for k"),
      ("θ", "θᵢ = base^(−2i/d)   (base 10000)"),
      ("why", "q′·k′ depends on positions only through p_q − p_k"), aliases=("rope", "rotary")),
    C("ALiBi", "position", "tinygrad_tf.nn.positional:ALiBi",
      ("bias", "score(i, j) += −mₕ · (i − j)"), ("slopes", "mₕ = 2^(−8h/H), h = 1..H (geometric)"),
      aliases=("alibi",)),
    C("RelativePositionBias", "position", "tinygrad_tf.nn.positional:RelativePositionBias",
      ("bias", "score(i, j) += B[bucket(j − i), head]   (learned)"),
      ("buckets", "half exact small distances, half log-spaced up to max_distance"),
      aliases=("t5 bias", "relative")),
    # ------------------------------------------------------------------ models
    C("GPT", "model", "tinygrad_tf.nn.models.gpt:GPT",
      ("forward", "h₀ = E[ids] (+ P),  hₗ = Blockₗ(hₗ₋₁),  logits = LN(h_L) Eᵀ"),
      ("loss", "L = −(1/T) Σₜ log p(x_{t+1} | x_≤t)   (labels shifted inside)"),
      ("generate", "append sample(softmax(logits_T / temperature)), repeat (KV cache)"),
      aliases=("decoder",)),
    C("BERT", "model", "tinygrad_tf.nn.models.bert:BERT",
      ("forward", "h₀ = LN(E[ids] + P + S[segment]),  hₗ = post-LN Blockₗ(hₗ₋₁)   (no causal mask)"),
      ("MLM loss", "L = −mean over masked positions of log p(original token)"),
      ("masking", "15% chosen: 80% → [MASK], 10% → random, 10% kept"), aliases=("encoder",)),
    C("T5", "model", "tinygrad_tf.nn.models.t5:T5",
      ("encoder", "m = Encoder(ids)   (pre-RMSNorm, relative position bias)"),
      ("decoder", "h = Decoder(shift_right(y), m): self-attention (causal) + cross-attention to m"),
      ("loss", "L = −(1/|y|) Σₜ log p(yₜ | y_<t, x)"), aliases=("encoder decoder", "seq2seq")),
    # ------------------------------------------------------------------ training
    C("F.cross_entropy", "loss", "tinygrad_tf.nn.functional:cross_entropy",
      ("loss", "L = −(1/N) Σₙ log softmax(zₙ)[yₙ]"), ("ignore_index", "targets = −100 do not count"),
      aliases=("cross_entropy function", "functional cross entropy")),
    C("SGD", "optimizer", "tinygrad_tf.optim:SGD", ("momentum", "v ← μ v + g"), ("update", "θ ← θ − η v")),
    C("Adam", "optimizer", "tinygrad_tf.optim:Adam",
      ("moments", "m ← β₁ m + (1 − β₁) g,  v ← β₂ v + (1 − β₂) g²"),
      ("update", "θ ← θ − η m̂ / (√v̂ + ε),  m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)")),
    C("AdamW", "optimizer", "tinygrad_tf.optim:AdamW", ("decay", "θ ← θ − η λ θ   (decoupled, before Adam's step)"),
      ("update", "as Adam")),
    C("WarmupCosine", "optimizer", "tinygrad_tf.optim:WarmupCosine",
      ("warmup", "η(t) = η_max · t / warmup"),
      ("cosine", "η(t) = η_min + ½ (η_max − η_min)(1 + cos(π · progress))"), aliases=("schedule", "lr schedule")),
    C("backward", "autograd", "tinygrad_tf.autograd:run_backward",
      ("chain rule", "∂L/∂x = Σ over uses of x:  (∂L/∂y) (∂y/∂x)"),
      ("order", "visit nodes in reverse topological order (iterative: no recursion limit)"),
      aliases=("autograd", "Tensor.backward", "run_backward")),
    C("Function", "autograd", "tinygrad_tf.autograd:Function",
      ("contract", "forward(ctx, *arrays) → array;  backward(ctx, g) → one gradient per input"),
      ("apply", "Function.apply(*tensors) records the node on the graph")),
]

KINDS = ("op", "layer", "block", "attention", "position", "model", "loss", "optimizer", "autograd")


def find_component(name: str) -> Component:
    """A component by name or alias, in any spelling ("LayerNorm", "layer-norm", "rope", "Tensor.backward")."""
    key = _norm(name)
    for c in COMPONENTS:
        if c.key == key:
            return c
    for c in COMPONENTS:
        if key in (_norm(a) for a in c.aliases):
            return c
    for c in COMPONENTS:            # "layernormop" -> "LayerNorm (op)" is covered above; "softmaxop" -> "Softmax"
        if c.kind == "op" and key == c.key + "op":
            return c
    names = [c.name for c in COMPONENTS] + [a for c in COMPONENTS for a in c.aliases]
    close = difflib.get_close_matches(name, names, n=4, cutoff=0.5) or \
        [n for n in names if key and key in _norm(n)][:4]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UnknownComponent(f"no component named {name!r}{hint} (`tinygrad-tf show --list` lists them)")


class ComponentView:
    """The math (formula table + docstring) beside the highlighted source; side by side when wide enough."""

    def __init__(self, component: Component, theme: str = "monokai", side_by_side: bool | None = None):
        self.component, self.theme, self.side_by_side = component, theme, side_by_side

    def math_table(self):
        c = self.component
        t = Table(box=box.SIMPLE_HEAD, show_header=False, pad_edge=False, show_edge=False, expand=True)
        t.add_column(style="bold cyan", no_wrap=True)
        t.add_column(overflow="fold")
        for what, formula in c.math:
            t.add_row(what, Text(formula))
        return t

    def header(self):
        c = self.component
        path, line = c.location()
        h = Text()
        h.append(c.name, style="bold")
        h.append(f"  {c.kind}", style="magenta")
        h.append(f"  {c.target.replace(':', '.')}", style="dim")
        h.append(f"  {path}:{line}", style="dim")
        return h

    def syntax(self):
        c = self.component
        _, line = c.location()
        return Syntax(c.source(), "python", theme=self.theme, line_numbers=True, start_line=line, word_wrap=True,
                      background_color="default")

    def __rich_console__(self, console, options):
        doc = self.component.doc()
        math = Group(self.math_table(), *([rst_text(doc)] if doc else []))
        math_panel = Panel(math, title="the math", title_align="left", border_style="cyan")
        code_panel = Panel(self.syntax(), title="the code", title_align="left", border_style="blue")
        wide = options.max_width >= 140 if self.side_by_side is None else self.side_by_side
        yield self.header()
        if wide:
            grid = Table.grid(expand=True, padding=(0, 1))
            grid.add_column(ratio=2)
            grid.add_column(ratio=3)
            grid.add_row(math_panel, code_panel)
            yield grid
        else:
            yield math_panel
            yield code_panel


def component_view(name_or_component, **kwargs) -> ComponentView:
    c = name_or_component if isinstance(name_or_component, Component) else find_component(name_or_component)
    return ComponentView(c, **kwargs)


def catalogue():
    """A table of every component: name, kind, where it lives, its first formula."""
    t = Table(box=box.SIMPLE_HEAD, title="components (`tinygrad-tf show NAME`; any spelling, e.g. rope, mha)",
              title_justify="left", header_style="bold")
    t.add_column("name", style="bold", no_wrap=True)
    t.add_column("kind", style="magenta", no_wrap=True)
    t.add_column("the math", overflow="fold")
    for c in COMPONENTS:
        t.add_row(c.name, c.kind, c.math[0][1] if c.math else "")
    return t
