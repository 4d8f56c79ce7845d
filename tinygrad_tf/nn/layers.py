"""The basic layers: Linear, Embedding, Dropout."""

from __future__ import annotations

from ..factory import empty
from ..tensor_args import _check_probability
from . import functional as F
from . import init
from .module import Module, Parameter


class Linear(Module):
    """y = x @ W^T + b.  W has shape (out_features, in_features), as PyTorch (and HF Llama/BERT/T5 files)."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(empty(out_features, in_features, device=device, dtype=dtype))
        init.fan_in_uniform_(self.weight, in_features)        # PyTorch's default: U(+-1/sqrt(in))
        if bias:
            self.bias = Parameter(empty(out_features, device=device, dtype=dtype))
            init.fan_in_uniform_(self.bias, in_features)
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    """A table of ``num_embeddings`` learned vectors; ``forward(ids)`` looks rows up (ids of any shape)."""

    def __init__(self, num_embeddings, embedding_dim, device=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(empty(num_embeddings, embedding_dim, device=device, dtype=dtype))
        init.default_normal_(self.weight)                       # PyTorch's default: N(0, 1)

    def forward(self, ids):
        return F.embedding(ids, self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


class Dropout(Module):
    """During training zero each element with probability p and scale the rest by 1/(1-p); identity in eval()."""

    def __init__(self, p=0.5):
        super().__init__()
        _check_probability("Dropout", "p", p)
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"

