"""Hypothesis strategies for the engine tests: shapes, broadcastable pairs, bounded domains,
non-contiguous inputs, reduction dims and indices; and tiny model configs of every family.

Values come from a NumPy generator seeded by a hypothesis-drawn integer, then mapped into the
op's domain, so hypothesis explores *shapes, layouts and seeds* (and shrinks them), while the
values stay away from the points where an op has no derivative (or central differences lie):

    "any"       uniform in [-2, 2]
    "positive"  uniform in [0.5, 2]             log, sqrt, the base of pow
    "away0"     |x| in [0.1, 2], random sign     abs, relu, a denominator
    "distinct"  all values >= 0.05 apart         max / min reductions (no near-ties)
    "grid0"     multiples of 0.2                 paired with "grid1" for maximum / minimum:
    "grid1"     multiples of 0.2, plus 0.1       |a - b| >= 0.1 everywhere, whatever broadcasts
    "clamp"     [-2, 2] but >= 0.05 from +-0.5   clamp(-0.5, 0.5)
    "logits"    uniform in [-4, 4]
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from tinygrad_tf.nn.blocks import ACTIVATION_CHOICES, RESIDUALS
from tinygrad_tf.nn.models import BertConfig, GPTConfig, T5Config
from tinygrad_tf.nn.models.config import BERT_ACTIVATIONS, T5_FEED_FORWARDS
from tinygrad_tf.nn.norm import NORMS
from tinygrad_tf.nn.positional import POSITIONS

MAX_DIMS, MAX_SIDE = 4, 4
DOMAINS = ("any", "positive", "away0", "distinct", "grid0", "grid1", "clamp", "logits")


# ---------------------------------------------------------------- shapes
def shapes(min_dims=0, max_dims=MAX_DIMS, min_side=1, max_side=MAX_SIDE):
    """Shapes of 0..4 axes, each of size 1..4."""
    return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


@st.composite
def broadcasts_to(draw, shape):
    """A shape that broadcasts to ``shape`` aligned from the RIGHT: some leading axes dropped,
    some of the remaining axes shrunk to size 1."""
    kept = tuple(shape)[draw(st.integers(0, len(shape))):]
    ones = draw(st.lists(st.booleans(), min_size=len(kept), max_size=len(kept)))
    return tuple(1 if o else s for s, o in zip(kept, ones))


@st.composite
def broadcastable_shapes(draw, n=2, min_dims=0, max_dims=MAX_DIMS, max_side=MAX_SIDE):
    """``n`` shapes that broadcast together (each drawn by ``broadcasts_to`` from one full shape).
    Returns (shapes, result shape)."""
    full = draw(shapes(min_dims, max_dims, 1, max_side))
    out = tuple(draw(broadcasts_to(full)) for _ in range(n))
    return out, np.broadcast_shapes(*out)


@st.composite
def reduce_dims(draw, ndim):
    """``dim`` for a reduction over ``ndim`` axes: None, an int or a tuple of distinct axes, in any
    mix of positive and negative spellings."""
    if ndim == 0:
        return draw(st.sampled_from([None, 0, -1, ()]))
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    spelled = tuple(a - ndim if draw(st.booleans()) else a for a in axes)
    return spelled[0] if kind == "int" else spelled


# ---------------------------------------------------------------- values
def sample(shape, domain="any", seed=0, dtype=np.float64, contiguous=True):
    """A NumPy array of ``shape`` with values from ``domain``; with ``contiguous=False`` its memory
    layout is not C-contiguous (a transposed view for 2+ axes, a strided slice for 1 axis)."""
    rng = np.random.default_rng(seed)
    shape = tuple(shape)
    n = int(np.prod(shape, dtype=np.int64))
    if domain == "any":
        x = rng.uniform(-2, 2, n)
    elif domain == "positive":
        x = rng.uniform(0.5, 2, n)
    elif domain == "away0":
        x = rng.uniform(0.1, 2, n) * rng.choice([-1.0, 1.0], n)
    elif domain == "distinct":
        x = (rng.permutation(n) - n / 2) * 0.05 + rng.uniform(0, 0.01)
    elif domain in ("grid0", "grid1"):
        x = rng.integers(-10, 11, n) * 0.2 + (0.1 if domain == "grid1" else 0.0)
    elif domain == "clamp":
        x = rng.uniform(-2, 2, n)
        for k in (-0.5, 0.5):
            near = np.abs(x - k) < 0.05
            x = np.where(near, k + np.where(x >= k, 0.05, -0.05), x)
    elif domain == "logits":
        x = rng.uniform(-4, 4, n)
    else:
        raise ValueError(f"unknown domain {domain!r}; expected one of {DOMAINS}")
    x = x.astype(dtype).reshape(shape)
    if contiguous:
        return x
    if x.ndim >= 2:                             # the same values, stored transposed
        x = np.asarray(np.ascontiguousarray(x.T)).T
    elif x.ndim == 1:                           # every other element of a buffer twice as long
        buf = np.empty(2 * x.shape[0], dtype=dtype)
        buf[::2] = x
        x = buf[::2]
    return x


@st.composite
def arrays(draw, shape, domain="any", dtype=np.float64, contiguous=None):
    """An array of ``shape`` in ``domain``; the layout (contiguous or not) is drawn unless given."""
    seed = draw(st.integers(0, 2**32 - 1))
    if contiguous is None:
        contiguous = draw(st.booleans())
    return sample(shape, domain, seed, dtype, contiguous)


# ---------------------------------------------------------------- indices
@st.composite
def basic_indices(draw, shape):
    """Slices (with negative steps), ints, None and Ellipsis for a tensor of ``shape``."""
    parts = []
    for n in shape:
        kind = draw(st.sampled_from(["slice", "slice", "int", "all"]))
        if kind == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif kind == "all":
            parts.append(slice(None))
        else:
            step = draw(st.sampled_from([1, 2, -1, -2]))
            start = draw(st.one_of(st.none(), st.integers(-n, n - 1)))
            stop = draw(st.one_of(st.none(), st.integers(-n - 1, n)))
            parts.append(slice(start, stop, step))
    if parts and draw(st.booleans()):            # leave the trailing axes to an Ellipsis
        parts = parts[:draw(st.integers(0, len(parts)))] + [Ellipsis]
    for _ in range(draw(st.integers(0, 2))):     # new axes anywhere
        parts.insert(draw(st.integers(0, len(parts))), None)
    return tuple(parts)


@st.composite
def repeated_int_indices(draw, n, max_len=6):
    """An integer index array for an axis of size ``n`` that picks some element more than once
    (and may use negative indices)."""
    idx = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=max_len - 1))
    return np.array(idx + [idx[0]], dtype=np.int64)


# ---------------------------------------------------------------- model configs
# Tiny sizes (a few hundred parameters: a model builds in milliseconds), every option of every family.
@st.composite
def gpt_configs(draw):
    """A GPTConfig over every component choice: norm, residual, position, activation, bias, tie_embeddings,
    grouped-query n_kv_head (any divisor of n_head)."""
    n_head = draw(st.sampled_from([1, 2, 4]))
    return GPTConfig(vocab_size=draw(st.integers(2, 13)), context_length=draw(st.integers(1, 6)),
                     d_model=n_head * draw(st.sampled_from([2, 4])), n_layer=draw(st.integers(1, 2)), n_head=n_head,
                     n_kv_head=draw(st.sampled_from([k for k in (1, 2, 4) if n_head % k == 0])),
                     d_ff=draw(st.integers(1, 10)), norm=draw(st.sampled_from(NORMS)),
                     residual=draw(st.sampled_from(RESIDUALS)), position=draw(st.sampled_from(POSITIONS)),
                     activation=draw(st.sampled_from(ACTIVATION_CHOICES)), bias=draw(st.booleans()),
                     tie_embeddings=draw(st.booleans()))


@st.composite
def bert_configs(draw):
    """A BertConfig with or without the pooler, masked-LM head, NSP head and classifier (the last two need the
    pooler), any activation, any number of token types."""
    pooler = draw(st.booleans())
    return BertConfig(vocab_size=draw(st.integers(2, 13)), context_length=draw(st.integers(1, 6)),
                      d_model=draw(st.sampled_from([4, 8])), n_layer=draw(st.integers(1, 2)),
                      n_head=draw(st.sampled_from([1, 2])), d_ff=draw(st.integers(1, 10)),
                      type_vocab_size=draw(st.integers(1, 3)), activation=draw(st.sampled_from(BERT_ACTIVATIONS)),
                      pooler=pooler, mlm_head=draw(st.booleans()), nsp_head=pooler and draw(st.booleans()),
                      num_labels=draw(st.integers(0, 3)) if pooler else 0)


@st.composite
def t5_configs(draw):
    """A T5Config: v1.0 (ReLU) or gated (v1.1), tied or untied, any encoder / decoder depths, d_kv apart from
    d_model / n_head, any number of relative-position buckets."""
    return T5Config(vocab_size=draw(st.integers(2, 13)), context_length=draw(st.integers(1, 6)),
                    d_model=draw(st.sampled_from([4, 8])), n_layer=draw(st.integers(1, 2)),
                    n_decoder_layer=draw(st.integers(1, 3)), n_head=draw(st.sampled_from([1, 2])),
                    d_kv=draw(st.integers(1, 5)), d_ff=draw(st.integers(1, 10)),
                    relative_attention_num_buckets=draw(st.integers(4, 9)),
                    feed_forward_proj=draw(st.sampled_from(T5_FEED_FORWARDS)), tie_embeddings=draw(st.booleans()))


def model_configs():
    """A config of any family."""
    return st.one_of(gpt_configs(), bert_configs(), t5_configs())
