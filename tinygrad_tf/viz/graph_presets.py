"""Small computation graphs to draw, each with its forward and backward (``tinygrad-tf graph --preset NAME``).

    from tinygrad_tf.viz.graph_presets import GRAPH_PRESETS, graph_preset
    out, extra = graph_preset("neuron")        # micrograd's neuron; extra: {"model": ..., "depth": ...} or {}
    out.backward(); viz.draw_graph(out, **extra)

Each preset builds its graph on the engine and returns (output tensor, drawing options). A GPT model preset
name (gpt2, ...) gives that model's forward + backward on 16 tokens, grouped by module.
"""

from __future__ import annotations

import math

import tinygrad_tf as tg

from ..nn import functional as F
from ..nn.models import GPT, GPTConfig, count_parameters
from .graph import trace

__all__ = ["GRAPH_PRESETS", "graph_preset", "gpt_model_presets"]


def _neuron():
    """micrograd's neuron: o = tanh(x1 w1 + x2 w2 + b), with Karpathy's numbers (do/dx1 = -1.5)."""
    t = {k: tg.tensor(v, requires_grad=True) for k, v in
         dict(x1=2.0, x2=0.0, w1=-3.0, w2=1.0, b=6.8813735870195432).items()}
    for k, v in t.items():
        v.name = k
    out = (t["x1"] * t["w1"] + t["x2"] * t["w2"] + t["b"]).tanh()
    out.name = "o"
    return out, {}


def _mlp():
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


def _attention():
    """Scaled dot-product attention of 3 tokens with 2 features: softmax(q k^T / sqrt(2)) v."""
    tg.manual_seed(0)
    q, k, v = (tg.randn(3, 2, requires_grad=True) for _ in range(3))
    q.name, k.name, v.name = "q", "k", "v"
    w = (q @ k.T / math.sqrt(2)).softmax(dim=-1)
    w.name = "weights"
    out = (w @ v).sum()
    out.name = "sum(out)"
    return out, {}


def _layernorm():
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


def _cross_entropy():
    """Cross-entropy of 2 rows of 3 logits: -log softmax(logits)[target], averaged."""
    tg.manual_seed(0)
    logits = tg.randn(2, 3, requires_grad=True); logits.name = "logits"
    loss = F.cross_entropy(logits, tg.tensor([0, 2]))
    loss.name = "loss"
    return loss, {}


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
