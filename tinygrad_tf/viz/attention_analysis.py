"""Numbers about attention heads: entropy, where the mass goes, pattern tags, top connections, rollout.

All of it is NumPy on one (queries x keys) matrix of attention weights, each row a probability
distribution over the keys; masked keys have weight 0 and are excluded.

    entropy              H(row) = -sum_k p_k log p_k in nats, averaged over the query rows
    normalized_entropy   H(row) / log(n_row), n_row = the keys that row may see; 1 = uniform, 0 = one key
    mass                 mean attention on: the previous token (k = q-1), itself (k = q), the next token,
                         the first token, delimiters (punctuation, [SEP], [CLS], </s>, newlines), and
                         nearby tokens (|q - k| <= LOCAL_WINDOW)
    patterns             tags from those numbers and the THRESHOLDS below (shown in every readout)
    rollout              Abnar & Zuidema (2020): per layer average the heads, add the identity for the
                         residual stream, renormalise the rows, multiply the layers together

``AttentionStack`` holds one kind of attention of one input, (layers, heads, queries, keys), with its token
labels and mask, and keeps each head's numbers once computed; the views (attention_views.py) draw it.

Rows that can see a single key (the first query of a causal model) carry no information — their
attention is forced — so they are left out of every average (and of the top connections).
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from .readout import to_numpy

# tag -> the threshold its number must reach (a mean attention mass, or the normalised entropy)
THRESHOLDS: dict[str, float] = {
    "previous-token": 0.5,       # mass on k = q - 1
    "self": 0.5,                 # mass on k = q
    "next-token": 0.5,           # mass on k = q + 1 (bidirectional models)
    "first-token/sink": 0.5,     # mass on k = 0 (queries after the first)
    "delimiter": 0.5,            # mass on punctuation / [SEP] / [CLS] / </s> / newline
    "broad/uniform": 0.9,        # normalised entropy at least this
    "local": 0.8,                # mass within |q - k| <= LOCAL_WINDOW (when no sharper positional tag fits)
}
LOCAL_WINDOW = 2
BASELINE_FACTOR = 1.5     # a mass tag also needs 1.5x the mass uniform attention would give
MASS_KEYS = ("previous", "self", "next", "first", "delimiter", "local")
TAG_SOURCE = {"previous-token": "previous", "self": "self", "next-token": "next", "first-token/sink": "first",
              "delimiter": "delimiter", "local": "local", "broad/uniform": "normalized_entropy"}
TAG_ABBREV = {"previous-token": "prev", "self": "self", "next-token": "next", "first-token/sink": "sink",
              "delimiter": "delim", "broad/uniform": "broad", "local": "local"}

SPECIAL_DELIMITERS = {"[SEP]", "[CLS]", "</s>", "<s>", "<|endoftext|>", "[PAD]", "<pad>", "<eos>", "<bos>"}


def is_delimiter(token) -> bool:
    """Punctuation, a newline, or a special separator token ([SEP], [CLS], </s>, <|endoftext|>, ...)."""
    if token is None:
        return False
    tok = str(token)
    if tok in SPECIAL_DELIMITERS:
        return True
    if tok and set(tok) <= {"\n", "\r"}:
        return True
    core = tok.strip().removeprefix("##").lstrip("Ġ▁").strip()
    return bool(core) and all(unicodedata.category(ch).startswith("P") for ch in core)


def thresholds_text(thresholds=None) -> str:
    t = {**THRESHOLDS, **(thresholds or {})}
    parts = [f"{tag}: {TAG_SOURCE[tag].replace('normalized_entropy', 'H/ln n')} ≥ {v:g}" for tag, v in t.items()]
    return ("tags — " + "; ".join(parts) + f" (local = |q−k| ≤ {LOCAL_WINDOW}); a mass tag also needs "
            f"{BASELINE_FACTOR:g}× what uniform attention would give")


@dataclass
class HeadStats:
    """What ``analyze_head`` found about one attention matrix."""

    entropy: float                          # nats, mean over informative query rows
    normalized_entropy: float | None        # entropy / log(keys seen), mean over informative rows
    mass: dict                              # MASS_KEYS -> mean attention mass (None where it does not apply)
    patterns: list                          # tags, strongest first
    top_connections: list                   # [{"query", "key", "weight"}], heaviest first
    layer: int | None = None
    head: int | None = None
    rows: int = 0                           # informative query rows (that could see more than one key)
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = {"layer": self.layer, "head": self.head, "entropy": self.entropy,
             "normalized_entropy": self.normalized_entropy, "mass": dict(self.mass),
             "patterns": list(self.patterns), "top_connections": [dict(c) for c in self.top_connections]}
        return d


def structural_mask(zero) -> np.ndarray:
    """Which cells of a (queries, keys) pattern of exact zeros are *masked*, not merely unattended: the strict
    upper triangle when all of it is zero (a causal mask), and keys that no query attends to (padding).
    Scattered zeros are left alone: they are weights that happen to be 0 (e.g. in a hand-made matrix)."""
    zero = np.asarray(zero, dtype=bool)
    out = np.zeros(zero.shape, dtype=bool)
    tq, tk = zero.shape
    if tq == tk and tq > 1:
        upper = np.triu(np.ones((tq, tk), dtype=bool), 1)
        if zero[upper].all():
            out |= upper
    if tq:
        out |= zero.all(axis=0, keepdims=True) & np.ones((tq, 1), dtype=bool)
    return out


def masked_cells(matrix, mask=None) -> np.ndarray:
    """Boolean (Tq, Tk), True where a cell is masked. ``mask``: None or False (nothing masked), "auto" (a
    causal triangle or padded keys, read off the exact zeros: see ``structural_mask``), or an array (True =
    masked; a (Tk,) array masks whole columns)."""
    m = np.asarray(matrix)
    if mask is None or mask is False:
        return np.zeros(m.shape, dtype=bool)
    if isinstance(mask, str):
        if mask != "auto":
            raise ValueError(f"mask must be None, 'auto' or a boolean array, got {mask!r}")
        return structural_mask(m == 0)
    out = np.asarray(mask, dtype=bool)
    return np.broadcast_to(out, m.shape).copy()


def row_entropy(matrix, mask=None) -> tuple[np.ndarray, np.ndarray]:
    """Per query row: (entropy in nats, number of keys it may see)."""
    p = np.asarray(matrix, dtype=np.float64)
    masked = masked_cells(p, mask)
    q = np.where(masked | (p <= 0), 0.0, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(q * np.where(q > 0, np.log(np.where(q > 0, q, 1.0)), 0.0)).sum(-1)
    h = np.where(np.isnan(p).any(-1), np.nan, h)
    return h, (~masked).sum(-1)


def analyze_head(matrix, mask=None, x_tokens=None, y_tokens=None, *, square=None, thresholds=None, top_k=3,
                 layer=None, head=None) -> HeadStats:
    """Entropy, attention masses, pattern tags and top connections of one (Tq, Tk) attention matrix.

    ``square`` (default: Tq == Tk) says queries and keys are the same sequence (self-attention), so
    previous / self / next / local make sense; for cross-attention only first-token and delimiter masses
    are measured. ``x_tokens`` are the keys' tokens (needed for the delimiter mass).
    """
    p = np.asarray(matrix, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"analyze_head expects a 2-D (queries, keys) matrix, got shape {p.shape}")
    tq, tk = p.shape
    square = (tq == tk) if square is None else bool(square)
    masked = masked_cells(p, mask)
    w = np.where(masked, 0.0, p)
    h, n = row_entropy(p, masked)
    rows = n > 1                                         # informative rows: more than one key to choose from
    use = rows if rows.any() else np.ones(tq, dtype=bool)
    entropy = float(h[use].mean()) if tq else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        hn = h / np.log(np.maximum(n, 2))
    normalized = float(hn[rows].mean()) if rows.any() else None

    mass = _masses(w, masked, rows, square, x_tokens)
    uniform = np.where(masked, 0.0, 1.0) / np.maximum(n, 1)[:, None]
    baseline = _masses(uniform, masked, rows, square, x_tokens)     # what attention spread evenly would give

    patterns = pattern_tags(mass, normalized, thresholds, baseline)
    return HeadStats(entropy, normalized, mass, patterns, top_connections(w, masked, rows, top_k, x_tokens, y_tokens),
                     layer, head, int(rows.sum()), {"uniform_baseline": baseline})


def _masses(w, masked, rows, square, x_tokens) -> dict:
    """Mean attention mass on previous / self / next / first / delimiter / local keys over the informative rows.
    A mass that does not apply (cross-attention's "previous"; "next" under a causal mask) is None."""
    tq, tk = w.shape

    def mean_over(qs, ks):
        qs, ks = np.asarray(qs, dtype=int), np.asarray(ks, dtype=int)
        sel = rows[qs] & ~masked[qs, ks] if len(qs) else np.zeros(0, dtype=bool)   # a masked cell: n/a, not 0
        if not sel.any():
            return None
        return float(w[qs[sel], ks[sel]].mean())

    idx = np.arange(tq)
    mass = dict.fromkeys(MASS_KEYS)
    if square:
        mass["previous"] = mean_over(idx[1:], idx[1:] - 1)
        mass["self"] = mean_over(idx, idx)
        mass["next"] = mean_over(idx[:-1], idx[:-1] + 1)
        dist = np.abs(idx[:, None] - np.arange(tk)[None, :])
        if rows.any():
            mass["local"] = float(np.where(dist <= LOCAL_WINDOW, w, 0.0).sum(-1)[rows].mean())
        mass["first"] = mean_over(idx[1:], np.zeros(tq - 1, dtype=int))
    elif rows.any():
        mass["first"] = float(w[rows, 0].mean())
    if x_tokens is not None and rows.any():
        delim = np.array([is_delimiter(t) for t in list(x_tokens)[:tk]] + [False] * max(0, tk - len(x_tokens)))
        mass["delimiter"] = float(w[:, delim].sum(-1)[rows].mean()) if delim.any() else 0.0
    return mass


def pattern_tags(mass: dict, normalized_entropy, thresholds=None, baseline=None) -> list[str]:
    """Tags whose number reaches its threshold, strongest (largest margin) first. A mass must also be at least
    BASELINE_FACTOR times what attention spread evenly would put there (``baseline``), so that short sequences
    (where "the first token" is a third of all keys) are not tagged for nothing. "local" only when no sharper
    positional tag (previous / self / next) fits."""
    t = {**THRESHOLDS, **(thresholds or {})}
    values = {**mass, "normalized_entropy": normalized_entropy}
    found = []
    for tag, limit in t.items():
        key = TAG_SOURCE[tag]
        v = values.get(key)
        if v is None or v != v or v < limit:
            continue
        base = (baseline or {}).get(key)
        if base is not None and v < BASELINE_FACTOR * base:
            continue
        found.append((v - limit, tag))
    tags = [tag for _, tag in sorted(found, key=lambda x: -x[0])]
    if "local" in tags and {"previous-token", "self", "next-token"} & set(tags):
        tags.remove("local")
    return tags


def top_connections(weights, masked, rows, k=3, x_tokens=None, y_tokens=None) -> list[dict]:
    """The ``k`` heaviest (query -> key) cells among informative rows."""
    w = np.where(masked, -np.inf, np.nan_to_num(weights, nan=-np.inf))
    if rows is not None and rows.any():
        w = np.where(rows[:, None], w, -np.inf)
    flat = w.ravel()
    k = min(int(k), int(np.isfinite(flat).sum()))
    if k <= 0:
        return []
    order = np.argsort(-flat, kind="stable")[:k]
    out = []
    for i in order:
        q, key = divmod(int(i), w.shape[1])
        c = {"query": q, "key": key, "weight": float(weights[q, key])}
        if y_tokens is not None and q < len(y_tokens):
            c["query_token"] = str(y_tokens[q])
        if x_tokens is not None and key < len(x_tokens):
            c["key_token"] = str(x_tokens[key])
        out.append(c)
    return out


def attention_rollout(attentions, add_residual=True, head_fusion="mean") -> np.ndarray:
    """Attention rollout (Abnar & Zuidema, 2020) of a (L, H, T, T) stack (or a list of (H, T, T) layers).

    Per layer: fuse the heads ("mean", "max" or "min"), add the identity (the residual connection carries
    each token's own state past attention), renormalise each row to sum to 1; then multiply through the
    layers, R = A_L ... A_2 A_1. Row i of R says how much each input token flows into position i at the top.
    """
    layers = [np.asarray(a, dtype=np.float64) for a in attentions]
    if not layers:
        raise ValueError("attention_rollout needs at least one layer")
    t = layers[0].shape[-1]
    eye = np.eye(t)
    fuse = {"mean": np.mean, "max": np.max, "min": np.min}.get(head_fusion)
    if fuse is None:
        raise ValueError(f"head_fusion must be 'mean', 'max' or 'min', got {head_fusion!r}")
    out = eye
    for a in layers:
        if a.shape[-1] != a.shape[-2]:
            raise ValueError(f"attention rollout needs square self-attention, got {a.shape[-2:]} (cross-attention?)")
        a = fuse(a, axis=0) if a.ndim == 3 else a
        if add_residual:
            a = a + eye
        s = a.sum(-1, keepdims=True)
        a = np.divide(a, s, out=np.zeros_like(a), where=s > 0)
        out = a @ out
    return out


def uniform_entropy(n: int) -> float:
    """The entropy of attention spread evenly over ``n`` keys: log n nats (the maximum)."""
    return math.log(n) if n > 0 else 0.0


# ---------------------------------------------------------------- a stack of heads
def axis_labels(tokens, n, what) -> list[str]:
    """``n`` labels for one axis of a matrix: the tokens as strings, or the positions when there are none."""
    if tokens is None:
        return [str(i) for i in range(n)]
    tokens = [str(t) for t in tokens]
    if len(tokens) != n:
        raise ValueError(f"{what}: {len(tokens)} token labels for {n} positions")
    return tokens


STACK_TITLES = {"attention": "self-attention", "encoder": "encoder self-attention",
                "decoder": "decoder self-attention", "cross": "cross-attention (decoder → encoder)"}


class AttentionStack:
    """One kind of attention of one input: ``weights`` (layers, heads, queries, keys) as float64,
    ``y_tokens`` label the queries (rows), ``x_tokens`` the keys (columns); ``mask`` (queries, keys) is
    True where a cell is masked (by default: a causal triangle or padded keys that every layer and head
    gives weight exactly 0)."""

    def __init__(self, name, weights, x_tokens=None, y_tokens=None, mask="auto", kind=None):
        w = to_numpy(weights)
        if w.ndim == 2:
            w = w[None, None]
        elif w.ndim == 3:
            w = w[None]
        if w.ndim != 4:
            raise ValueError(f"attention stack {name!r}: expected (layers, heads, queries, keys), got shape {w.shape}")
        self.name = str(name)
        self.weights = w
        _, _, tq, tk = w.shape
        self.kind = kind or ("cross" if "cross" in self.name else "self")
        self.x_tokens = axis_labels(x_tokens, tk, f"{name} keys")
        self.y_tokens = axis_labels(y_tokens if y_tokens is not None else (x_tokens if self.kind == "self" else None),
                                tq, f"{name} queries")
        if isinstance(mask, str) and mask == "auto":          # zero in every layer and head, and structural
            self.mask = structural_mask(np.all(w == 0, axis=(0, 1)))
        else:
            self.mask = masked_cells(w[0, 0], mask)
        self._stats: dict = {}

    @property
    def n_layer(self) -> int:
        return self.weights.shape[0]

    @property
    def n_head(self) -> int:
        return self.weights.shape[1]

    @property
    def square(self) -> bool:
        return self.kind == "self" and self.weights.shape[2] == self.weights.shape[3]

    @property
    def title(self) -> str:
        return STACK_TITLES.get(self.name, self.name)

    def matrix(self, layer=0, head=0) -> np.ndarray:
        """(queries, keys) weights of one head; ``head="mean"`` averages the layer's heads."""
        self._check(layer, 0 if head == "mean" else head)
        return self.weights[layer].mean(0) if head == "mean" else self.weights[layer, head]

    def stats(self, layer, head, thresholds=None, top_k=3) -> HeadStats:
        key = (layer, head, tuple(sorted((thresholds or {}).items())), top_k)
        if key not in self._stats:
            self._stats[key] = analyze_head(self.matrix(layer, head), self.mask, self.x_tokens, self.y_tokens,
                                            square=self.square, thresholds=thresholds, top_k=top_k,
                                            layer=layer, head=head)
        return self._stats[key]

    def _check(self, layer, head):
        if not 0 <= layer < self.n_layer:
            raise IndexError(f"{self.name}: layer {layer} out of range (the model has {self.n_layer} layers, 0-based)")
        if not 0 <= head < self.n_head:
            raise IndexError(f"{self.name}: head {head} out of range (each layer has {self.n_head} heads, 0-based)")

    def __repr__(self):
        l_, h, tq, tk = self.weights.shape
        return f"AttentionStack({self.name!r}, layers={l_}, heads={h}, queries={tq}, keys={tk})"
