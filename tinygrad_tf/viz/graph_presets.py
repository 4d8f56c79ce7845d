"""Small computation graphs to draw, each with its forward and backward (``tinygrad-tf graph --preset NAME``).

    from tinygrad_tf.viz.graph_presets import GRAPH_PRESETS, graph_preset
    out, extra = graph_preset("neuron")        # micrograd's neuron; extra: {"params": [...]} or {"model": ..., "depth": ...}
    with viz.capture_grads(out):               # the intermediates' gradients too
        out.backward()
    viz.draw_graph(out, **extra)

Each preset builds its graph on the engine and returns (output tensor, drawing options): the small ones name
their intermediates (``params``: drawn with names, values and gradients, as micrograd draws them); a GPT model
preset name (gpt2, ...) gives that model's forward + backward on 16 tokens, grouped by module.
"""

from __future__ import annotations

import math

import tinygrad_tf as tg

from ..nn import functional as F
from ..nn.models import GPT, GPTConfig, count_parameters
from .graph import trace

__all__ = ["GRAPH_PRESETS", "graph_preset", "gpt_model_presets", "Intermediates"]


class _Named(list):
    """The tensors a preset names as it goes (``keep(t, "x1*w1")``): passed to ``draw_graph(params=...)``, so every
    intermediate is drawn with its name and value, as micrograd draws them."""

    def __call__(self, t, name):
        t.name = name
        self.append(t)
        return t


class Intermediates(list):
    """The intermediates of an expression, named by their source text (micrograd's labels: ``a*b``, ...).

        keep = Intermediates("(a*b + c).tanh()")
        keep(value, "a*b")                       # for each operation's value, as an evaluator meets it
        viz.draw_graph(out, params=list(keep))

    ``keep(value, text)`` names a Tensor that has no name yet and keeps it alive for the drawing."""

    NAME = "__keep__"
    MAX_NAME = 32

    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def __call__(self, value, text):
        if isinstance(value, tg.Tensor) and value.grad_fn is not None and all(value is not t for t in self):
            if value.name is None:
                value.name = text if len(text) <= self.MAX_NAME else text[:self.MAX_NAME - 1] + "…"
            self.append(value)
        return value



def _neuron():
    """micrograd's neuron: o = tanh(x1 w1 + x2 w2 + b), with Karpathy's numbers (do/dx1 = -1.5)."""
    t = {k: tg.tensor(v, requires_grad=True) for k, v in
         dict(x1=2.0, x2=0.0, w1=-3.0, w2=1.0, b=6.8813735870195432).items()}
    for k, v in t.items():
        v.name = k
    keep = _Named()
    x1w1 = keep(t["x1"] * t["w1"], "x1*w1")
    x2w2 = keep(t["x2"] * t["w2"], "x2*w2")
    s = keep(x1w1 + x2w2, "x1*w1 + x2*w2")
    n = keep(s + t["b"], "n")
    out = n.tanh()
    out.name = "o"
    return out, {"params": keep}


def _mlp():
    """A 3-4-1 MLP on a batch of 2, mean squared error."""
    tg.manual_seed(0)
    x = tg.randn(2, 3); x.name = "x"
    y = tg.tensor([[1.0], [-1.0]]); y.name = "y"
    w1 = (tg.randn(3, 4) * 0.5).requires_grad_(); w1.name = "w1"
    b1 = tg.zeros(4, requires_grad=True); b1.name = "b1"
    w2 = (tg.randn(4, 1) * 0.5).requires_grad_(); w2.name = "w2"
    keep = _Named()
    z = keep(keep(x @ w1, "x@w1") + b1, "z = x@w1 + b1")
    h = keep(z.tanh(), "h = tanh z")
    err = keep(keep(h @ w2, "pred = h@w2") - y, "pred - y")
    loss = keep(err ** 2, "(pred - y)^2").mean()
    loss.name = "loss"
    return loss, {"params": keep + [x, y]}


def _attention():
    """Scaled dot-product attention of 3 tokens with 2 features: softmax(q k^T / sqrt(2)) v."""
    tg.manual_seed(0)
    q, k, v = (tg.randn(3, 2, requires_grad=True) for _ in range(3))
    q.name, k.name, v.name = "q", "k", "v"
    keep = _Named()
    scores = keep(keep(q @ keep(k.T, "k^T"), "q k^T") / math.sqrt(2), "scores")
    w = keep(scores.softmax(dim=-1), "weights")
    out = keep(w @ v, "out").sum()
    out.name = "sum(out)"
    return out, {"params": keep}


def _layernorm():
    """LayerNorm of 2 vectors of 4 features, written out: (x - mean) / sqrt(var + eps) * g + b."""
    tg.manual_seed(0)
    x = tg.randn(2, 4, requires_grad=True); x.name = "x"
    g = tg.ones(4, requires_grad=True); g.name = "gamma"
    b = tg.zeros(4, requires_grad=True); b.name = "beta"
    keep = _Named()
    mu = keep(x.mean(dim=-1, keepdim=True), "mean")
    xc = keep(x - mu, "x - mean")
    var = keep(keep(xc ** 2, "(x - mean)^2").mean(dim=-1, keepdim=True), "var")
    std = keep(keep(var + 1e-5, "var + eps").sqrt(), "std")
    xhat = keep(xc / std, "xhat")
    y = keep(keep(xhat * g, "xhat * gamma") + b, "y")
    out = y.sum()
    out.name = "sum(y)"
    return out, {"params": keep}


def _cross_entropy():
    """Cross-entropy of 2 rows of 3 logits: -log softmax(logits)[target], averaged."""
    tg.manual_seed(0)
    logits = tg.randn(2, 3, requires_grad=True); logits.name = "logits"
    target = tg.tensor([0, 2]); target.name = "target"
    loss = F.cross_entropy(logits, target)
    loss.name = "loss"
    return loss, {"params": [target]}


def _gpt():
    """A one-layer GPT's loss, traced so the drawing groups ops by module (depth 2)."""
    tg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=8, context_length=8, d_model=8, n_layer=1, n_head=2))
    ids = tg.tensor([[1, 2, 3, 4]])
    with trace(model):
        loss = model(ids, labels=ids).loss
    return loss, {"model": model, "depth": 2}


def _model_preset(name):
    """A GPT model preset (gpt2, gpt2-medium, ...), untrained, forward + backward on 16 tokens, drawn by block."""
    tg.manual_seed(0)
    model = GPT(GPTConfig.preset(name))
    ids = tg.tensor([list(range(1, 17))])
    with trace(model):
        loss = model(ids, labels=ids).loss
    return loss, {"model": model, "depth": 2}


def gpt_model_presets() -> list:
    return [n for n in GPTConfig.presets() if count_parameters(GPTConfig.preset(n)) < 400_000_000]


GRAPH_PRESETS = {"neuron": _neuron, "mlp": _mlp, "attention": _attention, "layernorm": _layernorm,
                 "cross-entropy": _cross_entropy, "gpt": _gpt}


def graph_preset(name):
    """(output, drawing options) of a preset: one of GRAPH_PRESETS or a GPT model preset (KeyError otherwise)."""
    if name in GRAPH_PRESETS:
        return GRAPH_PRESETS[name]()
    if name in gpt_model_presets():
        return _model_preset(name)
    raise KeyError(name)
