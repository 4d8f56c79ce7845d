"""What each family brings to the one training loop: a task object (its batches, its loss, its evaluation, a
sample to read), in the spirit of nanoGPT's single loop. The Trainer (trainer.py) does everything else —
optimizer, schedule, mixed precision, checkpoints, exact resume — once, for all of them.

    LanguageModeling   GPT: the next token at every position of random windows of a text
    MaskedLM           BERT: the original token at 15% of positions hidden by [MASK] (Devlin et al. 2018)
    Classification     BERT: a label for a whole text (the pooled [CLS] vector -> a linear classifier)
    DigitTask          T5: a digit string -> its reverse / sort / copy / plus one (teacher forcing)

A task draws its batches from a seeded generator of its own (``state_dict`` saves it, so a resumed run sees
the batches the uninterrupted one would have), and evaluates on a fixed held-out set (the same examples at
every evaluation, so the curve is not noisy from resampling). ``evaluate`` returns a dict of numbers;
``accuracy_key`` names the one ``target_accuracy`` watches.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .. import backend
from ..nn import functional as F
from ..nn.models import ConfigError
from ..tensor import Tensor
from ..text import DataError, WordPieceTokenizer, load_corpus, train_val_split
from . import mlm, seq2seq
from .data import BatchSampler, TokenData, build_tokenizer, encode_prompt, eval_batches, labelled_texts, pad_batch

__all__ = ["Task", "LanguageModeling", "MaskedLM", "Classification", "DigitTask", "TASK_CLASSES", "make_task"]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _ids(model, array) -> Tensor:
    return Tensor(np.ascontiguousarray(array), device=model.device)


class Task:
    """The interface (see the module docstring). ``fingerprint`` is the SHA-256 of the data a resume must see
    again (None for generated data); ``expect`` is the one a checkpoint recorded."""

    title = "GPT"                                 # how the run describes itself
    accuracy_key: str | None = None
    labels: dict = {"val_loss": "val"}            # how the progress line names each evaluation number
    tokenizer = None
    fingerprint: str | None = None

    def __init__(self, config, tokenizer=None, expect=None):
        self.config, self.expect = config, expect

    def _data(self, raw: str) -> str:
        """Note the data's fingerprint and, when resuming, insist it is the data the run was trained on (checked
        before anything is tokenized, so the message is about the data, not about a token it lacks)."""
        self.fingerprint = _sha256(raw)
        if self.expect is not None and self.expect != self.fingerprint:
            if self.config.data is None:
                raise DataError("this run was trained on another version of the default corpus (it ships with "
                                "Python and changes between Python versions); it cannot be resumed bit for bit here")
            raise DataError(f"{self.config.data} is not the data this run was trained on; pass the same --data to "
                            "resume it")
        return raw

    def info(self) -> dict:
        """What a checkpoint must keep to use the model later (e.g. a classifier's label names)."""
        return {}

    @staticmethod
    def config_for(config, vocab_size, pad_token_id=0):
        """The model config a run of ``config`` trains, for a vocabulary of ``vocab_size`` (the fields the task
        decides, e.g. a BERT's heads, set here)."""
        raise NotImplementedError

    def model_config(self):
        return self.config_for(self.config, self.tokenizer.vocab_size, getattr(self.tokenizer, "pad_token_id", 0))

    def setup(self, model) -> None:
        """Called once the model exists (its context length sets the window sizes); a model given by the user
        must fit the task."""
        c = model.config
        if c.model_type != self.config.family:
            raise ConfigError(f"a {self.config.family} run cannot train a {c.model_type} model")
        if self.tokenizer is not None and c.vocab_size < self.tokenizer.vocab_size:     # (a pretrained model's
            raise ConfigError(f"the model's vocab_size={c.vocab_size} does not match the tokenizer's "  # may be padded)
                              f"{self.tokenizer.vocab_size}")

    def tokens(self, batch) -> int:
        """Tokens a batch trains on (for tokens/s)."""
        return int(np.asarray(batch[0]).size)

    def loss_terms(self, batch) -> int:
        """How many terms the loss of ``batch`` is the mean of (rows here; masked positions, target tokens in
        the tasks that say so): a rank's share when N processes split a batch (train/parallel.py)."""
        return len(batch[0])

    def state_dict(self) -> dict:
        return {"bit_generator": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["bit_generator"]


# ---------------------------------------------------------------- GPT
class LanguageModeling(Task):
    """Next-token prediction on windows of T+1 tokens: every one of the T positions gets a target.

    Why not ``model(x, labels=x)``? Hugging Face labels are shifted *inside* the window, so a window of T
    tokens trains only T-1 positions and the output at the last position never gets a gradient; with learned
    positions, sliding-window generation reads exactly that output once the context is full, and the text
    falls apart after T characters."""

    def __init__(self, config, tokenizer=None, expect=None):
        super().__init__(config, expect=expect)
        text = self._data(load_corpus(config.data))
        self.tokenizer = tokenizer or build_tokenizer(text, config.tokenizer, config.vocab_size)
        self.data = TokenData.from_text(text, self.tokenizer, config.val_fraction)

    @staticmethod
    def config_for(config, vocab_size, pad_token_id=0):
        return config.model_config(vocab_size)

    def setup(self, model):
        super().setup(model)
        c, block = self.config, model.config.context_length + 1
        self.data.check_block(block, "context length + 1")
        self.sampler = BatchSampler(self.data.train, c.batch_size, block, seed=c.seed)
        self.rng = self.sampler.rng
        self.val = eval_batches(self.data.val, c.batch_size, block, c.eval_iters, seed=c.seed)

    def batch(self):
        return (self.sampler.sample(),)

    def tokens(self, batch):
        return int(batch[0].size - len(batch[0]))

    def loss(self, model, batch):
        """Mean next-token cross-entropy over every position of a (B, T+1) batch of windows."""
        (window,) = batch
        x, y = _ids(model, window[:, :-1]), _ids(model, window[:, 1:])     # each target: the next token
        logits = model(x).logits                                            # (B, T, vocab)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    def evaluate(self, model):
        return {"val_loss": float(np.mean([self.loss(model, (b,)).item() for b in self.val]))}

    def sample(self, model, prompt="The ", n=80, temperature=0.8, top_k=40):
        ids = encode_prompt(self.tokenizer, prompt or "\n")[-model.config.context_length:]
        out = model.generate(Tensor([ids], device=model.device), max_new_tokens=n, temperature=temperature,
                             top_k=top_k)
        return self.tokenizer.decode(out.numpy()[0].tolist())

    def describe(self, model):
        return f"{self.config.tokenizer} tokenizer, {len(self.data.train):,} train / {len(self.data.val):,} val tokens"


# ---------------------------------------------------------------- BERT
class MaskedLM(Task):
    """BERT's masked language model: windows [CLS] w_1 .. w_{T-2} [SEP], 15% of tokens chosen as targets."""

    title = "BERT MLM"
    accuracy_key = "val_accuracy"
    labels = {"val_loss": "val loss", "val_accuracy": "masked-token accuracy"}

    def __init__(self, config, tokenizer=None, expect=None):
        super().__init__(config, expect=expect)
        text = self._data(load_corpus(config.data))
        self.tokenizer = tokenizer or WordPieceTokenizer.train(text, config.vocab_size)
        ids = np.asarray(self.tokenizer.encode(text, add_special_tokens=False), dtype=np.int64)
        self.data = TokenData(*train_val_split(ids, config.val_fraction))

    @staticmethod
    def config_for(config, vocab_size, pad_token_id=0):
        return config.model_config(vocab_size, pad_token_id=pad_token_id, mlm_head=True)

    def setup(self, model):
        super().setup(model)
        if not model.config.mlm_head:
            raise ConfigError("masked-LM training needs a BERT with its masked-LM head (BertConfig mlm_head=True)")
        c, seq = self.config, model.config.context_length
        if seq < 3:
            raise ConfigError(f"a BERT window is [CLS] + tokens + [SEP]: context_length must be at least 3, got {seq}")
        self.data.check_block(seq - 2, "context length - 2, for [CLS] and [SEP]")
        self.batches = mlm.MLMBatches(self.data.train, self.tokenizer, c.batch_size, seq, c.mlm_probability, c.seed)
        self.rng = self.batches.rng
        val = mlm.MLMBatches(self.data.val, self.tokenizer, c.batch_size, seq, c.mlm_probability, c.seed)
        val_rng = np.random.default_rng([c.seed, 0xE7A1])                # the same masks at every evaluation
        self.val = [val.mask(val.wrap(w), val_rng)
                    for w in eval_batches(self.data.val, c.batch_size, seq - 2, c.eval_iters, c.seed)]

    def batch(self):
        return self.batches.sample()

    def state_dict(self):
        return {"windows": self.batches.windows.state_dict(), "masks": super().state_dict()}

    def load_state_dict(self, state):
        self.batches.windows.load_state_dict(state["windows"])
        super().load_state_dict(state["masks"])

    def loss_terms(self, batch):
        return int((batch[1] != -100).sum())

    def loss(self, model, batch):
        """Cross-entropy at the chosen positions only: the same loss as ``model(inputs, labels=labels).loss``,
        without computing vocabulary-wide logits at the 85% of positions the loss would ignore."""
        inputs, labels = batch
        hidden, _ = model.encode(_ids(model, inputs))                      # (B, T, d)
        flat = labels.reshape(-1)
        chosen = np.flatnonzero(flat != -100)
        if chosen.size == 0:                     # no token drawn as a target (tiny batches): nothing to learn
            return hidden.sum() * 0.0
        logits = model.mlm_logits(hidden.reshape(-1, hidden.shape[-1])[chosen])      # (n_chosen, vocab)
        return F.cross_entropy(logits, _ids(model, flat[chosen]))

    def evaluate(self, model):
        loss, accuracy = mlm.evaluate_mlm(model, self.val)
        return {"val_loss": loss, "val_accuracy": accuracy}

    def sample(self, model, prompt=None):
        prompt = prompt if prompt and "[MASK]" in prompt else "the [MASK] statement leaves the function ."
        guesses = mlm.fill_mask(model, self.tokenizer, prompt, top_k=3)
        parts = prompt.split("[MASK]")
        return parts[0] + "".join("[" + " | ".join(f"{t} {p:.0%}" for t, p in g) + "]" + rest
                                  for g, rest in zip(guesses, parts[1:]))

    def describe(self, model):
        return (f"WordPiece tokenizer, {len(self.data.train):,} train / {len(self.data.val):,} val tokens, "
                f"{self.config.mlm_probability:.0%} masked")


class Classification(Task):
    """A label for each text: the pooled [CLS] vector through a linear classifier, cross-entropy on the label.

    ``data`` is a file of ``LABEL<tab>TEXT`` lines; without one, the built-in task is to tell sentences of the
    default corpus from the same words shuffled (labels "real" / "shuffled"), which only a model that reads
    word order can do."""

    title = "BERT classifier"
    accuracy_key = "val_accuracy"
    labels = {"val_loss": "val loss", "val_accuracy": "accuracy"}

    def __init__(self, config, tokenizer=None, expect=None):
        super().__init__(config, expect=expect)
        texts, names, raw = labelled_texts(config.data)
        self._data(raw)
        self.label_names = sorted(set(names))
        y = np.array([self.label_names.index(n) for n in names], dtype=np.int64)
        self.tokenizer = tokenizer or WordPieceTokenizer.train("\n".join(texts), config.vocab_size)
        n_train = len(texts) - 2 * max(1, int(len(texts) * config.val_fraction / 2 + 0.5))      # an even split
        if n_train < 1:
            raise DataError(f"{len(texts)} texts with val_fraction={config.val_fraction} leave none to train on")
        self.train, self.val = (texts[:n_train], y[:n_train]), (texts[n_train:], y[n_train:])
        self.rng = np.random.default_rng(config.seed)

    @staticmethod
    def config_for(config, vocab_size, pad_token_id=0, num_labels=2):
        return config.model_config(vocab_size, pad_token_id=pad_token_id, pooler=True, mlm_head=False,
                                   num_labels=num_labels)

    def model_config(self):
        return self.config_for(self.config, self.tokenizer.vocab_size, self.tokenizer.pad_token_id,
                               len(self.label_names))

    def _encode(self, texts):
        return pad_batch([self.tokenizer.encode(t)[:self.context] for t in texts], self.tokenizer.pad_token_id)

    def setup(self, model):
        super().setup(model)
        if model.config.num_labels != len(self.label_names):
            raise ConfigError(f"the model has num_labels={model.config.num_labels}; the data has "
                              f"{len(self.label_names)} labels ({', '.join(self.label_names)})")
        self.context = model.config.context_length

    def info(self):
        return {"labels": self.label_names}

    def batch(self):
        pick = self.rng.integers(0, len(self.train[0]), self.config.batch_size)
        ids, mask = self._encode([self.train[0][i] for i in pick])
        return ids, mask, self.train[1][pick]

    def loss(self, model, batch):
        ids, mask, y = batch
        return model(_ids(model, ids), attention_mask=_ids(model, mask), class_labels=_ids(model, y)).loss

    def evaluate(self, model):
        texts, y = self.val
        losses, right = [], 0
        for i in range(0, len(texts), self.config.batch_size):
            ids, mask = self._encode(texts[i:i + self.config.batch_size])
            out = model(_ids(model, ids), attention_mask=_ids(model, mask),
                        class_labels=_ids(model, y[i:i + self.config.batch_size]))
            losses.append(out.loss.item() * len(ids))
            right += int((backend.to_numpy(out.class_logits.data).argmax(-1) == y[i:i + len(ids)]).sum())
        return {"val_loss": float(sum(losses) / len(texts)), "val_accuracy": right / len(texts)}

    def sample(self, model, prompt=None):
        text = prompt or self.val[0][0]
        ids, mask = self._encode([text])
        logits = backend.to_numpy(model(_ids(model, ids), attention_mask=_ids(model, mask)).class_logits.data)[0]
        p = np.exp(logits - logits.max())
        p /= p.sum()
        return f"{text[:60]!r} -> " + ", ".join(f"{self.label_names[j]} {p[j]:.0%}" for j in np.argsort(-p)[:3])

    def describe(self, model):
        return (f"{len(self.label_names)} labels ({', '.join(self.label_names[:4])}), {len(self.train[0]):,} train / "
                f"{len(self.val[0]):,} val texts")


# ---------------------------------------------------------------- T5
class DigitTask(Task):
    """A generated seq2seq task (seq2seq.TASKS): fresh random digit strings every step, held-out strings never
    trained on, and greedy decoding scored by exact match."""

    accuracy_key = "accuracy"
    labels = {"accuracy": "held-out exact match"}

    def __init__(self, config, tokenizer=None, expect=None):
        super().__init__(config, expect=expect)
        c = config
        self.title = f"T5 on '{c.task}'"
        self.tokenizer = tokenizer            # a pretrained T5's (train --init-from): digits as its text tokens
        self.codec = seq2seq.TextCodec(tokenizer) if tokenizer is not None else None
        self.held_out = seq2seq.make_examples(c.eval_size, c.min_len, c.max_len, seed=c.seed + 10_000)
        self.excluded = frozenset(self.held_out)
        self.rng = np.random.default_rng(c.seed)

    @staticmethod
    def config_for(config, vocab_size=seq2seq.VOCAB_SIZE, pad_token_id=seq2seq.PAD):
        fixed = dict(pad_token_id=pad_token_id, eos_token_id=seq2seq.EOS, decoder_start_token_id=seq2seq.PAD)
        if config.preset is None and "context_length" not in config.model:
            fixed["context_length"] = config.max_len + 8    # T5 needs no length (relative positions): for FLOPs only
        return config.model_config(vocab_size, **fixed)

    def model_config(self):
        return self.config_for(self.config)

    def batch(self):
        c, strings = self.config, []
        while len(strings) < c.batch_size:                  # fresh strings every step, never a held-out one
            s = "".join(map(str, self.rng.integers(0, 10, self.rng.integers(c.min_len, c.max_len + 1))))
            if s not in self.excluded:
                strings.append(s)
        return seq2seq.batch_examples(strings, c.task, self.codec)

    def loss(self, model, batch):
        ids, mask, labels = batch
        return model(_ids(model, ids), attention_mask=_ids(model, mask), labels=_ids(model, labels)).loss

    def loss_terms(self, batch):
        return int((batch[2] != -100).sum())

    def evaluate(self, model):
        return {"accuracy": seq2seq.exact_match(model, self.held_out, self.config.task, codec=self.codec)}

    def sample(self, model, prompt=None):
        strings = ["".join(ch for ch in prompt if ch.isdigit())] if prompt and any(map(str.isdigit, prompt)) \
            else self.held_out[:3]
        fn = seq2seq.TASKS[self.config.task]
        return "\n".join(f"{s} -> {got} {'✓' if got == fn(s) else '✗'}"
                         for s, got in zip(strings, seq2seq.answer(model, strings, self.config.task, codec=self.codec)))

    def describe(self, model):
        c = self.config
        return f"strings of {c.min_len}-{c.max_len} digits, {c.eval_size} held out"


TASK_CLASSES = {"lm": LanguageModeling, "mlm": MaskedLM, "classify": Classification,
                **{name: DigitTask for name in seq2seq.TASKS}}


def make_task(config, tokenizer=None, fingerprint=None) -> Task:
    """The task object of ``config.task`` (``tokenizer``: one to use instead of training a new one;
    ``fingerprint``: the data's SHA-256 a resumed run must see again)."""
    return TASK_CLASSES[config.task](config, tokenizer, fingerprint)
