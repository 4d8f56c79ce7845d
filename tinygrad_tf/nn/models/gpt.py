"""GPT: a decoder-only transformer language model, read top to bottom (after nanoGPT).

    ids (B, T) -> token embeddings (+ position embeddings) -> n_layer Blocks -> final norm -> logits (B, T, vocab)

The logits at position t score the token at t+1; a causal mask keeps position t from seeing anything
later. The same class is GPT-2 (learned positions, LayerNorm, GELU, biases, tied embeddings) and
Llama (RoPE, RMSNorm, SwiGLU, no biases, untied): see GPTConfig for every choice.

    model = GPT(GPTConfig(vocab_size=65, context_length=64, d_model=64, n_layer=2, n_head=4))
    out = model(ids, labels=ids); out.loss.backward()        # labels are shifted inside, as Hugging Face
    model.generate(ids, max_new_tokens=50, temperature=0.8, top_k=40)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..activations import Identity
from ..attention import KVCache
from ..blocks import Block
from ..containers import ModuleList
from ..layers import Dropout, Embedding, Linear
from ..norm import make_norm
from ..positional import ALiBi, RotaryEmbedding, SinusoidalPositionalEncoding, positions
from . import gpt_decode
from .base import ModelOutput, PretrainedModel, generation, register_model
from .config import GPTConfig


@dataclass
class GPTOutput(ModelOutput):
    """logits (B, T, vocab), last_hidden_state (B, T, d), loss, attentions, past_key_values."""


@register_model
class GPT(PretrainedModel):
    config_class = GPTConfig

    # __init__(config) is PretrainedModel's: self._build(config), then self._init_weights().

    def _build(self, c):
        self.wte = Embedding(c.vocab_size, c.d_model)                     # token embeddings
        self.wpe = self.rotary = self.alibi = None
        if c.position == "learned":
            self.wpe = Embedding(c.context_length, c.d_model)             # one learned vector per position
        elif c.position == "sinusoidal":
            self.wpe = SinusoidalPositionalEncoding(c.context_length, c.d_model)
        elif c.position == "rope":
            self.rotary = RotaryEmbedding(c.head_dim, c.rope_theta)      # rotates q and k inside attention
        elif c.position == "alibi":
            self.alibi = ALiBi(c.n_head)                                  # a distance penalty on the scores
        self.drop = Dropout(c.dropout)
        self.blocks = ModuleList(
            Block(c.d_model, c.n_head, c.d_ff, c.norm, c.residual, c.activation, c.dropout, c.bias, c.n_kv_head,
                  c.norm_eps, causal=True) for _ in range(c.n_layer))
        # pre / sandwich: the residual stream is un-normalised, so normalise once at the end; post already did
        self.ln_f = make_norm(c.norm, c.d_model, c.norm_eps, c.bias, c.n_head) if c.residual != "post" else Identity()
        self.lm_head = Linear(c.d_model, c.vocab_size, bias=False)        # hidden state -> a score per token
        if c.tie_embeddings:
            self.lm_head.weight = self.wte.weight                        # the same matrix reads and writes tokens

    def _init_weights(self):
        """GPT-2: every weight ~ N(0, 0.02), biases 0; the projections that write into the residual stream
        (attn.o_proj, mlp.down) get 0.02 / sqrt(2 n_layer), so the stream's variance does not grow with depth."""
        resid_std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for name, m in self.named_modules():
            if m is self.lm_head and self.config.tie_embeddings:
                continue                                                   # it is wte's matrix: set once
            if isinstance(m, Linear):
                init.normal_(m.weight, std=resid_std if name.endswith(("attn.o_proj", "mlp.down")) else 0.02)
                if m.bias is not None:
                    init.zeros_(m.bias)
            elif isinstance(m, Embedding):
                init.normal_(m.weight, std=0.02)

    def new_cache(self):
        """Empty KV caches, one per layer, for ``forward(..., past_key_values=cache)``."""
        return [KVCache() for _ in self.blocks]

    def forward(self, input_ids, attention_mask=None, labels=None, output_attentions=False, past_key_values=None,
                use_cache=False, cache=None):
        """input_ids (B, T) -> GPTOutput. With a cache (``past_key_values`` — or its alias ``cache`` — or a new one
        if ``use_cache``), input_ids are the *new* tokens, placed after the cached ones; attention_mask (B, S)
        then covers both. The cache comes back as ``output.past_key_values``."""
        c = self.config
        ids = self._as_ids(input_ids)
        b, t = ids.shape
        cache = past_key_values if past_key_values is not None else cache
        cache = self.new_cache() if use_cache and cache is None else cache
        past = len(cache[0]) if cache else 0
        if c.position in ("learned", "sinusoidal") and past + t > c.context_length:
            raise ValueError(f"GPT: {past + t} positions exceed context_length={c.context_length} "
                             f"(position={c.position!r} has no vectors beyond it); crop the input to the last "
                             f"{c.context_length} tokens (generate() does)")
        pos = positions(t, past, ids.device)                               # absolute positions of the new tokens

        x = self.wte(ids)                                                  # (B, T, d)
        if self.wpe is not None:
            x = x + self.wpe(pos)
        x = self.drop(x)
        rotary = self.rotary(pos, x.dtype) if self.rotary is not None else None
        bias = self.alibi(pos, positions(past + t, 0, ids.device)) if self.alibi is not None else None

        attentions = []
        for i, block in enumerate(self.blocks):
            x, w, _ = block(x, attention_mask=attention_mask, bias=bias, rotary=rotary,
                            cache=cache[i] if cache else None, output_attentions=output_attentions)
            attentions.append(w)
        x = self.ln_f(x)
        logits = self.lm_head(x)                                           # (B, T, vocab)

        loss = None
        if labels is not None:                 # position t predicts token t+1: drop the last logit, the first label
            labels = self._as_ids(labels)
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, c.vocab_size), labels[:, 1:].reshape(-1))
        return GPTOutput(logits, x, loss, tuple(attentions) if output_attentions else None, cache)

    @generation
    def generate(self, input_ids, max_new_tokens, temperature=1.0, top_k=None, top_p=None, eos_token_id=None,
                 use_cache=True):
        """Append ``max_new_tokens`` sampled tokens to each prompt; returns the ids, prompt included.

        input_ids: (B, T) prompts of equal length (no padding), or one (T,) prompt (then (T + new,) comes back).
        temperature=0 is greedy. Rows that produced ``eos_token_id`` are padded with it; generation stops
        when every row has. Sliding window: learned/sinusoidal positions end at context_length, so the model
        only ever sees the last context_length tokens; once the KV cache holds that many, each step recomputes
        on the cropped window (a cache cannot drop its oldest entry: every key carries its absolute position).
        RoPE / ALiBi / no positions are relative and keep the whole sequence.
        With the cache, each new token's step runs on arrays where it can (gpt_decode: the same ops and
        numbers as ``forward``, without the modules around them).
        """
        c = self.config
        window = c.context_length if c.position in ("learned", "sinusoidal") else None
        cache = None
        device = self.device
        # decoding steps on arrays (gpt_decode) where they equal the modules': not with a forward or a cache of
        # the user's own (a subclass's, or one patched in)
        own = all(m not in self.__dict__ and getattr(type(self), m) is f for m, f in _OWN.items())
        plan = gpt_decode.Plan(self) if use_cache and own and gpt_decode.ready(self) else None

        def next_logits(ids):                                              # scores (B, V) of the token after ids
            nonlocal cache
            if use_cache and cache is not None and (window is None or len(cache[0]) < window):
                step = ids[:, -1:]                                         # the cache holds everything before it
                if plan is not None:
                    return gpt_decode.step(plan, step, cache)
            else:
                step = ids if window is None else ids[:, -window:]         # the whole (cropped) sequence
                cache = self.new_cache() if use_cache else None
            return self(Tensor._wrap(step, device), past_key_values=cache).logits.data[:, -1]

        return self._sample_tokens(self._as_ids(input_ids).data, next_logits, input_ids, max_new_tokens, temperature,
                                   top_k, top_p, eos_token_id)


_OWN = {"forward": GPT.forward, "new_cache": GPT.new_cache}     # (as defined above: what generate's gpt_decode
                                                                 # steps stand in for)
