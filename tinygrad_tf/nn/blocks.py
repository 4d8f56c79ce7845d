"""The transformer block: attention then a feed-forward network, each wrapped in a residual connection.

Residual layouts (f is the sub-layer, N a norm):
    pre       x = x + f(N(x))              GPT-2, Llama: the residual stream is never normalised, training is stable
    post      x = N(x + f(x))              the original Transformer, BERT
    sandwich  x = x + N2(f(N1(x)))         CogView's sandwich-LN: the sub-layer's output is normalised too
Any norm ("layernorm", "rmsnorm", "groupnorm", "none") works with any layout.
"""

from __future__ import annotations

from .activations import get_activation
from .attention import MultiHeadAttention
from .layers import Dropout, Linear
from .module import Module
from .norm import make_norm

RESIDUALS = ("pre", "post", "sandwich")
GATED = {"swiglu": "silu", "geglu": "gelu"}     # gated feed-forward name -> the activation on its gate
ACTIVATION_CHOICES = ("gelu", "gelu_tanh", "relu", "silu", "swiglu", "geglu")


class FeedForward(Module):
    """down(act(up(x))): widen to d_ff, apply the nonlinearity, project back (GPT-2's MLP).
    ``dropout`` > 0 drops hidden units before ``down`` (T5 does; GPT-2 and BERT do not)."""

    def __init__(self, d_model, d_ff, activation="gelu", bias=True, dropout=0.0):
        super().__init__()
        self.up = Linear(d_model, d_ff, bias=bias)
        self.act = get_activation(activation)
        self.drop = Dropout(dropout)
        self.down = Linear(d_ff, d_model, bias=bias)

    def forward(self, x):
        return self.down(self.drop(self.act(self.up(x))))


class GatedFeedForward(Module):
    """down(act(gate(x)) * up(x)): a gated linear unit (Shazeer 2020). act=silu is SwiGLU (Llama),
    act=gelu is GEGLU. Three matrices instead of two, so Llama picks d_ff ~ 8/3 d_model to keep the size."""

    def __init__(self, d_model, d_ff, activation="silu", bias=False, dropout=0.0):
        super().__init__()
        self.gate = Linear(d_model, d_ff, bias=bias)
        self.up = Linear(d_model, d_ff, bias=bias)
        self.act = get_activation(activation)
        self.drop = Dropout(dropout)
        self.down = Linear(d_ff, d_model, bias=bias)

    def forward(self, x):
        return self.down(self.drop(self.act(self.gate(x)) * self.up(x)))


def make_feedforward(activation, d_model, d_ff, bias=True):
    """"swiglu" / "geglu" give a GatedFeedForward; any plain activation name a FeedForward."""
    if activation in GATED:
        return GatedFeedForward(d_model, d_ff, GATED[activation], bias)
    if activation not in ACTIVATION_CHOICES:
        raise ValueError(f"unknown activation {activation!r}; valid: {', '.join(ACTIVATION_CHOICES)}")
    return FeedForward(d_model, d_ff, activation, bias)


class Block(Module):
    """One transformer layer: self-attention, optional cross-attention (an encoder-decoder's decoder),
    feed-forward; each a residual sub-layer in the chosen layout. Returns (x, self_weights, cross_weights).

    head_dim:  per-head width when it is not d_model / n_head (T5's d_kv).
    mlp:       a ready-made feed-forward module to use instead of ``make_feedforward(activation, ...)``.
    """

    def __init__(self, d_model, n_head, d_ff, norm="layernorm", residual="pre", activation="gelu", dropout=0.0,
                 bias=True, n_kv_head=None, norm_eps=1e-5, causal=True, scale=None, cross_attention=False,
                 head_dim=None, mlp=None):
        super().__init__()
        if residual not in RESIDUALS:
            raise ValueError(f"unknown residual layout {residual!r}; valid: {', '.join(RESIDUALS)}")
        self.residual = residual

        def norm_():                       # groupnorm: one group per head
            return make_norm(norm, d_model, norm_eps, bias, groups=n_head)

        def post_norm():                   # the extra norm on the sub-layer's output (sandwich only)
            return norm_() if residual == "sandwich" else None

        self.ln_1, self.ln_1_post = norm_(), post_norm()
        self.attn = MultiHeadAttention(d_model, n_head, n_kv_head, bias, dropout, causal, scale, head_dim)
        if cross_attention:
            self.ln_cross, self.ln_cross_post = norm_(), post_norm()
            self.cross_attn = MultiHeadAttention(d_model, n_head, n_kv_head, bias, dropout, False, scale, head_dim,
                                                 cross=True)
        else:
            self.cross_attn = None
        self.ln_2, self.ln_2_post = norm_(), post_norm()
        self.mlp = mlp if mlp is not None else make_feedforward(activation, d_model, d_ff, bias)
        self.drop = Dropout(dropout)

    def _in(self, x, norm):
        """The sub-layer's input: normalised first in the pre and sandwich layouts."""
        return x if self.residual == "post" else norm(x)

    def _out(self, x, h, norm, post_norm):
        """Add the sub-layer's output h back to the residual stream x."""
        if self.residual == "pre":
            return x + self.drop(h)
        if self.residual == "post":
            return norm(x + self.drop(h))
        return x + self.drop(post_norm(h))                 # sandwich

    def forward(self, x, attention_mask=None, bias=None, rotary=None, cache=None, output_attentions=False,
                memory=None, memory_mask=None, cross_bias=None, cross_cache=None):
        h, w_self = self.attn(self._in(x, self.ln_1), attention_mask=attention_mask, bias=bias, rotary=rotary,
                              cache=cache, output_attentions=output_attentions)
        x = self._out(x, h, self.ln_1, self.ln_1_post)
        w_cross = None
        if self.cross_attn is not None:
            h, w_cross = self.cross_attn(self._in(x, self.ln_cross), memory=memory, attention_mask=memory_mask,
                                         bias=cross_bias, cache=cross_cache, output_attentions=output_attentions)
            x = self._out(x, h, self.ln_cross, self.ln_cross_post)
        x = self._out(x, self.mlp(self._in(x, self.ln_2)), self.ln_2, self.ln_2_post)
        return x, w_self, w_cross

    def extra_repr(self):
        return f"residual={self.residual!r}"
