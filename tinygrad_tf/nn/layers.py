"""The basic layers: Linear, Embedding, Dropout (and Dropout1d/2d/3d), Flatten, Unflatten, CosineSimilarity,
PairwiseDistance."""

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
    """A table of ``num_embeddings`` learned vectors; ``forward(ids)`` looks rows up (ids of any shape).
    ``padding_idx``: that row starts at zeros and gets no gradient (a padding token's vector), as PyTorch."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, device=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = None if padding_idx is None else F._padding_row("Embedding", padding_idx, num_embeddings)
        self.weight = Parameter(empty(num_embeddings, embedding_dim, device=device, dtype=dtype))
        init.default_normal_(self.weight)                       # PyTorch's default: N(0, 1)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, ids):
        return F.embedding(ids, self.weight, self.padding_idx)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
        """An Embedding whose table is ``embeddings`` (rows, dim) (e.g. GloVe vectors), as PyTorch: the weight
        shares the given tensor's values, and ``freeze`` (the default) keeps it from learning."""
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D (rows, dim), got {embeddings.shape}")
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise NotImplementedError("Embedding.from_pretrained: max_norm, scale_grad_by_freq and sparse are not "
                                      "supported by tinygrad_tf")
        emb = cls(*embeddings.shape, padding_idx=padding_idx, device=embeddings.device, dtype=embeddings.dtype)
        emb.weight = Parameter(embeddings.detach(), requires_grad=not freeze)
        return emb

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}" + \
            (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


class Dropout(Module):
    """During training zero each element with probability p and scale the rest by 1/(1-p); identity in eval().
    ``inplace=True`` writes the result into the input."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        _check_probability(type(self).__name__, "p", p)
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(Dropout):
    """During training zero whole channels of (N, C, L) (or (C, L)) with probability p, scaling the rest."""

    def forward(self, x):
        return F.dropout1d(x, self.p, self.training, self.inplace)


class Dropout2d(Dropout):
    """During training zero whole feature maps of (N, C, H, W) (or (C, H, W)) with probability p (neighbouring
    pixels are correlated, so dropping single pixels would barely regularise)."""

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training, self.inplace)


class Dropout3d(Dropout):
    """During training zero whole channels of (N, C, D, H, W) with probability p."""

    def forward(self, x):
        return F.dropout3d(x, self.p, self.training, self.inplace)


class Flatten(Module):
    """Merge dims ``start_dim`` .. ``end_dim`` into one: (N, C, H, W) -> (N, C*H*W) with the defaults (as PyTorch,
    the batch dim 0 is kept)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``: Unflatten(1, (2, 5)) turns (N, 10) into (N, 2, 5)
    (one size may be -1)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        d = self.dim % x.ndim
        return x.reshape(*x.shape[:d], *self.unflattened_size, *x.shape[d + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class CosineSimilarity(Module):
    """``F.cosine_similarity`` along ``dim`` as a module: ``forward(x1, x2)``."""

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """``F.pairwise_distance`` as a module: the ``p``-norm of x1 - x2 + eps over the last dim (kept as ``norm``,
    as PyTorch)."""

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
