"""BERT: an encoder-only transformer, read top to bottom (Devlin et al. 2018).

    ids (B, T), token types (B, T) -> word + position + segment embeddings -> LayerNorm -> dropout
        -> n_layer post-LN Blocks (bidirectional attention, exact GELU) -> hidden states (B, T, d)
        -> heads: masked-LM logits (B, T, vocab), pooled [CLS] (B, d) -> next-sentence (B, 2) / classes

Every token sees every other token (no causal mask); only padding is hidden, by ``attention_mask``.
BERT learns by filling in blanks: 15% of the input tokens are hidden ([MASK], or a random token, or
left alone) and the masked-LM head must name the originals (tinygrad_tf.train.mlm makes such batches).

    model = BERT(BertConfig(vocab_size=1000, context_length=64, d_model=64, n_layer=2, n_head=4))
    out = model(ids, token_type_ids=types, attention_mask=mask, labels=labels)   # labels: -100 = not masked
    out.logits, out.pooler_output, out.loss
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..activations import get_activation
from ..blocks import Block
from ..containers import ModuleList
from ..layers import Dropout, Embedding, Linear
from ..norm import LayerNorm
from ..positional import positions
from .base import ModelOutput, PretrainedModel, register_model
from .config import BertConfig


@dataclass
class BertOutput(ModelOutput):
    """logits: the masked-LM scores (B, T, vocab) — or, for a model with only a classification head, the class
    scores (B, num_labels), as Hugging Face's BertForSequenceClassification. last_hidden_state (B, T, d),
    pooler_output (B, d), nsp_logits (B, 2), class_logits (B, num_labels), loss, attentions."""

    pooler_output: object = None
    nsp_logits: object = None
    class_logits: object = None


@register_model
class BERT(PretrainedModel):
    config_class = BertConfig

    # __init__(config) is PretrainedModel's: self._build(config), then self._init_weights().

    def _build(self, c):
        d = c.d_model
        # embeddings: a token's input vector is the sum of what it is, where it is, and which segment it is in
        self.wte = Embedding(c.vocab_size, d)              # word (WordPiece token) embeddings
        self.wpe = Embedding(c.context_length, d)          # learned absolute positions
        self.wtt = Embedding(c.type_vocab_size, d)         # token type: sentence A (0) or sentence B (1)
        self.ln_emb = LayerNorm(d, eps=c.norm_eps)
        self.drop = Dropout(c.dropout)
        # the encoder: post-LN layers, x = LN(x + attn(x)); x = LN(x + mlp(x)), every position sees every other
        self.blocks = ModuleList(
            Block(d, c.n_head, c.d_ff, "layernorm", "post", c.activation, c.dropout, True, None, c.norm_eps,
                  causal=False) for _ in range(c.n_layer))
        # pooler: the [CLS] token's final vector through dense + tanh summarises the whole input
        self.pooler = Linear(d, d) if c.pooler else None
        if c.mlm_head:
            # masked-LM head: transform (dense, activation, LayerNorm), then score every vocabulary entry with
            # the word-embedding matrix itself (tied) plus an output bias of its own
            self.mlm_dense = Linear(d, d)
            self.mlm_act = get_activation(c.activation)
            self.mlm_ln = LayerNorm(d, eps=c.norm_eps)
            self.mlm_decoder = Linear(d, c.vocab_size)
            self.mlm_decoder.weight = self.wte.weight
        else:
            self.mlm_dense = self.mlm_act = self.mlm_ln = self.mlm_decoder = None
        self.nsp_head = Linear(d, 2) if c.nsp_head else None                      # is B the sentence after A?
        self.classifier = Linear(d, c.num_labels) if c.num_labels else None       # sequence classification

    def _init_weights(self):
        """BERT's: every weight ~ N(0, 0.02), biases 0 (LayerNorms start at weight 1, bias 0)."""
        for m in self.modules():
            if isinstance(m, Linear):
                if m is not self.mlm_decoder:                        # its weight is wte's: set once, below
                    init.normal_(m.weight, std=0.02)
                if m.bias is not None:
                    init.zeros_(m.bias)
            elif isinstance(m, Embedding):
                init.normal_(m.weight, std=0.02)

    def encode(self, input_ids, token_type_ids=None, attention_mask=None, output_attentions=False):
        """The encoder alone: ids (B, T) -> (hidden states (B, T, d), per-layer attention weights)."""
        c = self.config
        ids = self._as_ids(input_ids)
        b, t = ids.shape
        if t > c.context_length:
            raise ValueError(f"BERT: {t} tokens exceed context_length={c.context_length} (the position table "
                             f"has {c.context_length} rows); truncate the input")
        types = self._as_ids(token_type_ids) if token_type_ids is not None else \
            Tensor._wrap(ids.data * 0, ids.device)

        x = self.wte(ids) + self.wpe(positions(t, 0, ids.device)) + self.wtt(types)     # (B, T, d)
        x = self.drop(self.ln_emb(x))
        attentions = []
        for block in self.blocks:
            x, w, _ = block(x, attention_mask=attention_mask, output_attentions=output_attentions)
            attentions.append(w)
        return x, tuple(attentions)

    def mlm_logits(self, hidden):
        """The masked-LM head on hidden states (..., d) -> (..., vocab): transform, then score every token
        against its word embedding (+ bias). Training may pass only the masked positions' states."""
        return self.mlm_decoder(self.mlm_ln(self.mlm_act(self.mlm_dense(hidden))))

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, labels=None, output_attentions=False,
                next_sentence_label=None, class_labels=None):
        """input_ids (B, T) -> BertOutput.

        token_type_ids  (B, T) segment ids, 0 for sentence A and 1 for sentence B (default: all 0)
        attention_mask  (B, T) 1 for real tokens, 0 for padding (padding is hidden from every query)
        labels          the targets of ``.logits``: (B, T) original ids at masked positions and -100 elsewhere
                        (masked LM); for a model with only a classification head, (B,) class ids
        next_sentence_label (B,) 1 if sentence B is random, 0 if it follows A (Hugging Face's convention);
        class_labels    (B,) classes (or (B,) floats when num_labels == 1: regression with squared error)
        The loss is the sum of the losses whose targets were given.
        """
        c = self.config
        x, attentions = self.encode(input_ids, token_type_ids, attention_mask, output_attentions)

        pooled = self.pooler(x[:, 0]).tanh() if self.pooler is not None else None            # (B, d)
        mlm_logits = self.mlm_logits(x) if self.mlm_decoder is not None else None          # (B, T, vocab)
        nsp_logits = self.nsp_head(pooled) if self.nsp_head is not None else None          # (B, 2)
        class_logits = self.classifier(self.drop(pooled)) if self.classifier is not None else None

        losses = []
        if labels is not None:
            if mlm_logits is not None:                         # masked LM: only the masked positions count
                losses.append(F.cross_entropy(mlm_logits.reshape(-1, c.vocab_size), self._as_ids(labels).reshape(-1)))
            elif class_logits is not None:
                class_labels = labels
            else:
                raise ValueError("BERT: labels given, but this model has no masked-LM or classification head "
                                 "(BertConfig mlm_head=True or num_labels > 0)")
        if next_sentence_label is not None:
            if nsp_logits is None:
                raise ValueError("BERT: next_sentence_label given, but the model has no NSP head (nsp_head=True)")
            losses.append(F.cross_entropy(nsp_logits, self._as_ids(next_sentence_label).reshape(-1)))
        if class_labels is not None:
            if class_logits is None:
                raise ValueError("BERT: class_labels given, but the model has no classifier (num_labels > 0)")
            losses.append(self._class_loss(class_logits, class_labels))
        loss = None
        for part in losses:
            loss = part if loss is None else loss + part

        logits = mlm_logits if mlm_logits is not None else class_logits
        return BertOutput(logits=logits, last_hidden_state=x, loss=loss,
                          attentions=attentions if output_attentions else None, pooler_output=pooled,
                          nsp_logits=nsp_logits, class_logits=class_logits)

    def _class_loss(self, logits, target):
        if self.config.num_labels == 1:                        # one output: regression, squared error
            y = target if isinstance(target, Tensor) else Tensor(np.asarray(target, dtype=logits.dtype))
            return F.mse_loss(logits.reshape(-1), y.to(logits.device).reshape(-1).to(dtype=logits.dtype))
        return F.cross_entropy(logits, self._as_ids(target).reshape(-1))
