"""``tinygrad_tf.nn``: layers built only from Tensor ops, shaped like ``torch.nn``.

    from tinygrad_tf import nn
    import tinygrad_tf.nn.functional as F
    layer = nn.Linear(4, 2); y = F.relu(layer(x))

Models (GPT, configs, checkpoints) are in ``tinygrad_tf.nn.models``.
"""

from . import amp, functional, init, utils
from .amp import GradScaler, autocast
from .activations import (CELU, ELU, GELU, GLU, SELU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, Identity,
                          LeakyReLU, LogSigmoid, LogSoftmax, Mish, PReLU, ReLU, ReLU6, RReLU, Sigmoid, SiLU, Softmax,
                          Softmax2d, Softmin, Softplus, Softshrink, Softsign, Tanh, Tanhshrink, Threshold,
                          get_activation)
from .attention import KVCache, MultiHeadAttention
from .batchnorm import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d,
                        LocalResponseNorm)
from .blocks import Block, FeedForward, GatedFeedForward, make_feedforward
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, Fold, Unfold
from .layers import (CosineSimilarity, Dropout, Dropout1d, Dropout2d, Dropout3d, Embedding, Flatten, Linear,
                     PairwiseDistance, Unflatten)
from .losses import (BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CrossEntropyLoss, GaussianNLLLoss,
                     HingeEmbeddingLoss, HuberLoss, KLDivLoss, L1Loss, MarginRankingLoss, MSELoss,
                     MultiLabelSoftMarginLoss, NLLLoss, PoissonNLLLoss, SmoothL1Loss, SoftMarginLoss,
                     TripletMarginLoss)
from .module import Module, Parameter
from .multihead import MultiheadAttention
from .norm import GroupNorm, LayerNorm, RMSNorm, make_norm
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, AdaptiveMaxPool1d, AdaptiveMaxPool2d,
                      AdaptiveMaxPool3d, AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d, MaxPool3d)
from .positional import ALiBi, RotaryEmbedding, SinusoidalPositionalEncoding, alibi_slopes, apply_rotary
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .spatial import (CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad2d, ConstantPad3d,
                      PixelShuffle, PixelUnshuffle, ReflectionPad1d, ReflectionPad2d, ReflectionPad3d,
                      ReplicationPad1d, ReplicationPad2d, ReplicationPad3d, Upsample, UpsamplingBilinear2d,
                      UpsamplingNearest2d, ZeroPad1d, ZeroPad2d, ZeroPad3d)
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                          TransformerEncoderLayer)

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
           "Linear", "Embedding", "Dropout", "Flatten", "Unflatten", "MultiheadAttention",
           "CrossEntropyLoss", "NLLLoss", "MSELoss",
           "LayerNorm", "RMSNorm", "GroupNorm", "ReLU", "GELU", "SiLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax",
           "Identity",
           "FeedForward", "GatedFeedForward", "Block", "MultiHeadAttention", "KVCache", "RotaryEmbedding",
           "ALiBi", "SinusoidalPositionalEncoding", "alibi_slopes", "apply_rotary", "make_norm",
           "make_feedforward", "get_activation", "functional", "init", "utils", "amp", "autocast", "GradScaler",
           # the rest of torch.nn: activations
           "LeakyReLU", "ELU", "SELU", "CELU", "Softplus", "Mish", "Hardtanh", "ReLU6", "LogSigmoid", "Softmin",
           "Softmax2d", "Softsign", "Tanhshrink", "Softshrink", "Hardshrink", "Hardsigmoid", "Hardswish", "Threshold",
           "GLU", "PReLU", "RReLU",
           # losses
           "BCELoss", "BCEWithLogitsLoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "KLDivLoss", "PoissonNLLLoss",
           "GaussianNLLLoss", "MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss", "CosineEmbeddingLoss",
           "TripletMarginLoss", "MultiLabelSoftMarginLoss",
           # normalisation, dropout, distances
           "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
           "LocalResponseNorm", "Dropout1d", "Dropout2d", "Dropout3d", "CosineSimilarity", "PairwiseDistance",
           # convolution, pooling, resizing, padding
           "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "Unfold", "Fold",
           "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
           "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle",
           "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d",
           # recurrent layers and PyTorch's transformer
           "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell",
           "TransformerEncoderLayer", "TransformerEncoder", "TransformerDecoderLayer", "TransformerDecoder",
           "Transformer"]

from ..compat import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr(__name__, "torch.nn", lazy=("models",))
