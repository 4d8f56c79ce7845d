"""``tinygrad_tf.nn``: layers built only from Tensor ops, shaped like ``torch.nn``.

    from tinygrad_tf import nn
    import tinygrad_tf.nn.functional as F
    layer = nn.Linear(4, 2); y = F.relu(layer(x))

Models (GPT, configs, checkpoints) are in ``tinygrad_tf.nn.models``.
"""

from . import amp, functional, init, utils
from .amp import GradScaler, autocast
from .activations import GELU, Identity, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Tanh, get_activation
from .attention import KVCache, MultiHeadAttention
from .blocks import Block, FeedForward, GatedFeedForward, make_feedforward
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .layers import Dropout, Embedding, Flatten, Linear, Unflatten
from .losses import CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module, Parameter
from .multihead import MultiheadAttention
from .norm import GroupNorm, LayerNorm, RMSNorm, make_norm
from .positional import ALiBi, RotaryEmbedding, SinusoidalPositionalEncoding, alibi_slopes, apply_rotary

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
           "Linear", "Embedding", "Dropout", "Flatten", "Unflatten", "MultiheadAttention",
           "CrossEntropyLoss", "NLLLoss", "MSELoss",
           "LayerNorm", "RMSNorm", "GroupNorm", "ReLU", "GELU", "SiLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax",
           "Identity",
           "FeedForward", "GatedFeedForward", "Block", "MultiHeadAttention", "KVCache", "RotaryEmbedding",
           "ALiBi", "SinusoidalPositionalEncoding", "alibi_slopes", "apply_rotary", "make_norm",
           "make_feedforward", "get_activation", "functional", "init", "utils", "amp", "autocast", "GradScaler"]

from ..compat import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr(__name__, "torch.nn", lazy=("models",))
