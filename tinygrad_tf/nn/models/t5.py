"""T5: an encoder-decoder transformer, read top to bottom (Raffel et al. 2019, "text-to-text").

    encoder:  ids (B, S) -> shared embeddings -> n_layer pre-norm Blocks (bidirectional) -> RMS norm -> memory
    decoder:  decoder ids (B, T) -> shared embeddings -> n_decoder_layer Blocks, each: causal self-attention,
              cross-attention to the memory, feed-forward -> RMS norm -> logits (B, T, vocab)

What makes T5 T5:
- RMS layer norm: x / sqrt(mean(x^2) + eps) * weight — no mean subtracted, no bias.
- No position embeddings. Each attention score gets a learned bias that depends on the (bucketed)
  distance key - query, one per head; it is computed once by each stack and shared by all its layers
  (bidirectional buckets in the encoder, backward-only ones in the decoder; none in cross-attention).
- Scores are q.k, not q.k / sqrt(d): T5's initialisation already scales q down by sqrt(d_model * d_kv).
- No biases anywhere. Feed-forward: ReLU (v1.0) or a GELU-gated unit (v1.1, flan-T5).
- One embedding table for encoder input, decoder input and (v1.0, tied) the output layer; when tied, the
  decoder output is scaled by d_model**-0.5 first, so the logits do not grow with the width.
- Training is teacher forcing: the decoder reads the target shifted right by one, starting with
  decoder_start_token_id, and predicts the target itself (``shift_right``).

    model = T5(T5Config(vocab_size=16, d_model=64, n_layer=2, n_head=4))
    out = model(src, labels=tgt); out.loss.backward()            # decoder_input_ids = shift_right(tgt)
    model.generate(src, max_new_tokens=12, temperature=0, eos_token_id=1)   # [start, tokens...]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ... import backend
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..attention import KVCache
from ..blocks import Block, FeedForward, GatedFeedForward
from ..containers import ModuleList
from ..layers import Dropout, Embedding, Linear
from ..norm import RMSNorm
from ..positional import RelativePositionBias, positions
from .base import ModelOutput, PretrainedModel, generation, register_model
from .config import T5Config


class Seq2SeqAttentions(NamedTuple):
    """The attention weights of an encoder-decoder, each a per-layer tuple of (B, H, T, S) arrays."""

    encoder: tuple
    decoder: tuple
    cross: tuple


@dataclass
class T5Output(ModelOutput):
    """logits (B, T, vocab), last_hidden_state (the decoder's, (B, T, d)), encoder_last_hidden_state (B, S, d),
    loss, attentions (Seq2SeqAttentions: encoder, decoder, cross), past_key_values (a T5 cache)."""

    encoder_last_hidden_state: object = None

    @property
    def encoder_attentions(self):
        return None if self.attentions is None else self.attentions.encoder

    @property
    def decoder_attentions(self):
        return None if self.attentions is None else self.attentions.decoder

    @property
    def cross_attentions(self):
        return None if self.attentions is None else self.attentions.cross


def shift_right(labels, decoder_start_token_id=0, pad_token_id=0):
    """The decoder's input for teacher forcing: [start, y_0, ..., y_{T-2}] for target y (an int array
    (B, T)); ignored label positions (-100) become padding."""
    xp = backend.get_array_module(labels)
    out = xp.empty_like(labels)
    out[..., 0] = decoder_start_token_id
    out[..., 1:] = labels[..., :-1]
    return xp.where(out == -100, pad_token_id, out)


def make_t5_feedforward(c: T5Config):
    """T5's FF: wo(dropout(relu(wi x))) (v1.0), or wo(dropout(gelu_tanh(wi_0 x) * wi_1 x)) (v1.1 "gated-gelu").
    Hugging Face's "gated-gelu" uses the tanh approximation (its "gelu_new"); plain "gelu" is exact."""
    act = c.feed_forward_proj.removeprefix("gated-")
    if c.gated:
        return GatedFeedForward(c.d_model, c.d_ff, "gelu_tanh" if act == "gelu" else act, bias=False,
                                dropout=c.dropout)
    return FeedForward(c.d_model, c.d_ff, act, bias=False, dropout=c.dropout)


@register_model
class T5(PretrainedModel):
    config_class = T5Config

    # __init__(config) is PretrainedModel's: self._build(config), then self._init_weights().

    def _build(self, c):
        def block(causal, cross):              # pre-norm, RMS norm, no biases, unscaled scores
            return Block(c.d_model, c.n_head, c.d_ff, "rmsnorm", "pre", dropout=c.dropout, bias=False,
                         norm_eps=c.norm_eps, causal=causal, scale=1.0, cross_attention=cross, head_dim=c.d_kv,
                         mlp=make_t5_feedforward(c))

        self.shared = Embedding(c.vocab_size, c.d_model)          # encoder and decoder read the same table
        self.drop = Dropout(c.dropout)
        self.encoder_bias = RelativePositionBias(c.n_head, c.relative_attention_num_buckets,
                                                 c.relative_attention_max_distance, bidirectional=True)
        self.encoder = ModuleList(block(causal=False, cross=False) for _ in range(c.n_layer))
        self.encoder_norm = RMSNorm(c.d_model, eps=c.norm_eps)
        self.decoder_bias = RelativePositionBias(c.n_head, c.relative_attention_num_buckets,
                                                 c.relative_attention_max_distance, bidirectional=False)
        self.decoder = ModuleList(block(causal=True, cross=True) for _ in range(c.n_decoder_layer))
        self.decoder_norm = RMSNorm(c.d_model, eps=c.norm_eps)
        self.lm_head = Linear(c.d_model, c.vocab_size, bias=False)
        if c.tie_embeddings:
            self.lm_head.weight = self.shared.weight

    def _init_weights(self):
        """T5's (Mesh TensorFlow) initialisation, which stands in for the missing 1/sqrt(d) in attention:
        q ~ N(0, (d_model d_kv)^-1/2), k, v ~ N(0, d_model^-1/2), o ~ N(0, (H d_kv)^-1/2); feed-forward in
        N(0, d_model^-1/2), out N(0, d_ff^-1/2); embeddings (and an untied lm_head) N(0, 1); buckets
        N(0, d_model^-1/2)."""
        c = self.config
        inner = c.n_head * c.d_kv
        init.normal_(self.shared.weight, std=1.0)
        if not c.tie_embeddings:
            init.normal_(self.lm_head.weight, std=1.0)
        for bias in (self.encoder_bias, self.decoder_bias):
            init.normal_(bias.embed.weight, std=c.d_model ** -0.5)
        for blk in list(self.encoder) + list(self.decoder):
            for attn in (blk.attn, blk.cross_attn):
                if attn is None:
                    continue
                init.normal_(attn.q_proj.weight, std=(c.d_model * c.d_kv) ** -0.5)
                init.normal_(attn.k_proj.weight, std=c.d_model ** -0.5)
                init.normal_(attn.v_proj.weight, std=c.d_model ** -0.5)
                init.normal_(attn.o_proj.weight, std=inner ** -0.5)
            for name in ("gate", "up"):
                if hasattr(blk.mlp, name):
                    init.normal_(getattr(blk.mlp, name).weight, std=c.d_model ** -0.5)
            init.normal_(blk.mlp.down.weight, std=c.d_ff ** -0.5)

    # ------------------------------------------------------------ the two stacks
    def encode(self, input_ids, attention_mask=None, output_attentions=False):
        """input_ids (B, S) -> (memory (B, S, d), per-layer attention weights). attention_mask: (B, S) 1/0."""
        ids = self._as_ids(input_ids)
        pos = positions(ids.shape[1], 0, ids.device)
        bias = self.encoder_bias(pos, pos)                   # (1, H, S, S): computed once, used by every layer
        x = self.drop(self.shared(ids))
        weights = []
        for blk in self.encoder:
            x, w, _ = blk(x, attention_mask=attention_mask, bias=bias, output_attentions=output_attentions)
            weights.append(w)
        return self.drop(self.encoder_norm(x)), tuple(weights)

    def decode(self, decoder_input_ids, memory, memory_mask=None, decoder_attention_mask=None, cache=None,
               output_attentions=False):
        """Decoder ids (B, T) and the encoder's memory -> (logits, hidden (B, T, d), self weights, cross weights).

        With a cache (``new_cache()``), the ids are the *new* tokens, after the cached ones; the cache keeps
        each layer's self-attention keys/values and, from the first call on, the memory's projected keys/values.
        """
        c = self.config
        ids = self._as_ids(decoder_input_ids)
        t = ids.shape[1]
        past = len(cache[0][0]) if cache else 0
        q_pos, k_pos = positions(t, past, ids.device), positions(past + t, 0, ids.device)
        bias = self.decoder_bias(q_pos, k_pos)                # (1, H, T, past + T), causal buckets
        x = self.drop(self.shared(ids))
        self_w, cross_w = [], []
        for i, blk in enumerate(self.decoder):
            self_cache, cross_cache = cache[i] if cache else (None, None)
            x, w, wc = blk(x, attention_mask=decoder_attention_mask, bias=bias, cache=self_cache,
                           output_attentions=output_attentions, memory=memory, memory_mask=memory_mask,
                           cross_cache=cross_cache)
            self_w.append(w)
            cross_w.append(wc)
        x = self.drop(self.decoder_norm(x))
        # tied output layer: rescale by d_model^-1/2 so the logits stay O(1) (T5 v1.0; v1.1 unties instead)
        logits = self.lm_head(x * c.d_model ** -0.5 if c.tie_embeddings else x)         # (B, T, vocab)
        return logits, x, tuple(self_w), tuple(cross_w)

    def new_cache(self):
        """Empty decoder caches: one (self-attention KVCache, cross-attention KVCache) pair per decoder layer."""
        return [(KVCache(), KVCache()) for _ in self.decoder]

    def shift_right(self, labels):
        """labels (B, T) -> decoder inputs [decoder_start, labels[:-1]] (with -100 turned into padding)."""
        ids = self._as_ids(labels)
        c = self.config
        return Tensor._wrap(shift_right(ids.data, c.decoder_start_token_id, c.pad_token_id), ids.device)

    # ------------------------------------------------------------ forward
    def forward(self, input_ids, decoder_input_ids=None, attention_mask=None, labels=None, output_attentions=False,
                decoder_attention_mask=None, encoder_outputs=None, past_key_values=None, use_cache=False):
        """input_ids (B, S) -> T5Output; the logits score the next target token at every decoder position.

        decoder_input_ids  (B, T); default: ``labels`` shifted right (teacher forcing)
        attention_mask     (B, S) 1/0 padding of input_ids (used by the encoder and by cross-attention)
        labels             (B, T) target ids, -100 ignored; the loss is their mean cross-entropy
        encoder_outputs    the memory (B, S, d) of an earlier ``encode`` (skips the encoder)
        past_key_values    a cache from ``new_cache()`` (or ``use_cache=True`` for a new one); decoder_input_ids
                           are then the new tokens only
        """
        c = self.config
        if decoder_input_ids is None:
            if labels is None:
                raise ValueError("T5: pass decoder_input_ids, or labels (the decoder then reads them shifted right)")
            decoder_input_ids = self.shift_right(labels)
        enc_w = ()
        if encoder_outputs is None:
            memory, enc_w = self.encode(input_ids, attention_mask, output_attentions)
        else:
            memory = encoder_outputs
        cache = past_key_values
        cache = self.new_cache() if use_cache and cache is None else cache
        logits, hidden, self_w, cross_w = self.decode(decoder_input_ids, memory, attention_mask,
                                                      decoder_attention_mask, cache, output_attentions)
        loss = None
        if labels is not None:                    # no shift here: position t already predicts labels[t]
            loss = F.cross_entropy(logits.reshape(-1, c.vocab_size), self._as_ids(labels).reshape(-1))
        attentions = Seq2SeqAttentions(enc_w, self_w, cross_w) if output_attentions else None
        return T5Output(logits=logits, last_hidden_state=hidden, loss=loss, attentions=attentions,
                        past_key_values=cache, encoder_last_hidden_state=memory)

    # ------------------------------------------------------------ generation
    @generation
    def generate(self, input_ids, max_new_tokens, temperature=1.0, top_k=None, top_p=None, eos_token_id=None,
                 use_cache=True, attention_mask=None, decoder_start_token_id=None):
        """Translate: encode ``input_ids`` once, then decode ``max_new_tokens`` tokens one at a time.

        Returns the decoder ids (B, 1 + new) with the start token first, as Hugging Face's generate;
        a (S,) input gives a (1 + new,) output. temperature=0 is greedy. Rows that produced ``eos_token_id``
        are padded with it; generation stops when every row has (None: always ``max_new_tokens`` steps).
        With ``use_cache`` each step feeds only the newest token: the self-attention keys/values of the
        earlier ones, and the cross-attention keys/values of the memory, come from the cache.
        """
        ids = self._as_ids(input_ids)
        memory, _ = self.encode(ids, attention_mask)
        cache = self.new_cache() if use_cache else None

        def next_logits(out):                                           # scores (B, V) of the token after out
            step = out[:, -1:] if use_cache else out                    # the cache holds everything before it
            logits, *_ = self.decode(Tensor._wrap(step, self.device), memory, attention_mask, cache=cache)
            return logits.data[:, -1]

        start = self.config.decoder_start_token_id if decoder_start_token_id is None else decoder_start_token_id
        out = backend.xp_for(self.device).full((ids.shape[0], 1), start, dtype=np.int64)
        return self._sample_tokens(out, next_logits, input_ids, max_new_tokens, temperature, top_k, top_p,
                                   eos_token_id)
