"""The numbers behind the gradient readouts (gradients.py): one array's norm and bad entries (``Reading``),
one parameter's or layer's row at one reading (``ParamGrad``), and its badges (``badges``).

Each number is computed from the arrays at the reading; the module doc of gradients.py says what each
column of the tables means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .graph_record import array_norm

__all__ = ["ParamGrad", "Reading", "badges", "group_of"]


def group_of(name: str, depth: int | None = None) -> str:
    """The layer a parameter belongs to: its module path up to and including the first numeric part
    ("blocks.3.attn.q_proj.weight" -> "blocks.3", "encoder.2.mlp.up.bias" -> "encoder.2"), else the
    first part ("wte.weight" -> "wte"); with ``depth``, the first ``depth`` parts of the module path."""
    parts = name.split(".")[:-1]
    if not parts:
        return "(root)"
    if depth is not None:
        return ".".join(parts[:max(1, depth)])
    for i, part in enumerate(parts):
        if part.isdigit():
            return ".".join(parts[:i + 1])
    return parts[0]


@dataclass
class Reading:
    """One array's 2-norm (NaN / inf entries left out) and how many entries are NaN, inf and exactly zero."""

    norm: float
    numel: int
    n_nan: int = 0
    n_inf: int = 0
    n_zero: int = 0

    @classmethod
    def of(cls, arr) -> "Reading":
        """From a backend array (NumPy or CuPy), without a float64 copy of big arrays."""
        n = int(arr.size)
        if n == 0:
            return cls(0.0, 0)
        norm, n_nan, n_inf, n_zero = array_norm(arr)
        return cls(norm, n, n_nan, n_inf, n_zero)

    @classmethod
    def combine(cls, readings) -> "Reading | None":
        """Several arrays taken together (a layer's parameters); None when none of them has a reading."""
        rs = [r for r in readings if r is not None]
        if not rs:
            return None
        return cls(math.sqrt(sum(r.norm ** 2 for r in rs)), sum(r.numel for r in rs), sum(r.n_nan for r in rs),
                   sum(r.n_inf for r in rs), sum(r.n_zero for r in rs))


@dataclass
class ParamGrad:
    """One parameter (or one layer) at one reading."""

    name: str
    shape: tuple
    numel: int
    weight_norm: float
    grad_norm: float | None            # None: no gradient
    n_nan: int = 0                     # gradient entries that are NaN / inf / exactly 0
    n_inf: int = 0
    n_zero: int = 0
    flags: list = field(default_factory=list)
    update_norm: float | None = None   # |Δw| since the previous reading (None: no previous reading)
    prev_weight_norm: float | None = None   # |w| at the previous reading
    grad_numel: int | None = None      # entries that have a gradient (a layer: only its parameters that got one)

    @property
    def nan(self) -> bool:
        return self.n_nan > 0

    @property
    def inf(self) -> bool:
        return self.n_inf > 0

    @property
    def ratio(self) -> float | None:
        """|grad| / |w|: how big a plain SGD step (lr = 1) would be relative to the weight."""
        return _relative(self.grad_norm, self.weight_norm)

    @property
    def zero_fraction(self) -> float | None:
        """The share of gradient entries that are exactly 0 (None without a gradient)."""
        n = self.numel if self.grad_numel is None else self.grad_numel
        if self.grad_norm is None or not n:
            return None
        return self.n_zero / n

    @property
    def update_ratio(self) -> float | None:
        """|Δw| / |w|: the step since the previous reading relative to the weight then."""
        return _relative(self.update_norm, self.prev_weight_norm)

    @property
    def update(self) -> float | None:
        """log10(|Δw| / |w|) (-inf when the weights did not move; None without a previous reading)."""
        r = self.update_ratio
        if r is None or not math.isfinite(r):
            return None
        return math.log10(r) if r > 0 else -math.inf

    def to_dict(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "numel": self.numel, "weight_norm": self.weight_norm,
                "grad_norm": self.grad_norm, "ratio": self.ratio, "nan": self.nan, "inf": self.inf,
                "n_nan": self.n_nan, "n_inf": self.n_inf, "n_zero": self.n_zero,
                "zero_fraction": self.zero_fraction, "update_norm": self.update_norm,
                "update_ratio": self.update_ratio, "update_log10": self.update, "flags": list(self.flags)}


def _relative(size: float | None, base: float | None) -> float | None:
    """size / base; None without a size or without a usable base (missing, 0, NaN or inf)."""
    if size is None or not base or not math.isfinite(base):
        return None
    return size / base


def badges(r: Reading | None, explode: float, vanish: float) -> list[str]:
    """The badges of a gradient's reading (None: no gradient): NaN / inf; else zero, exploding (|grad| above
    ``explode``) or vanishing (below ``vanish``)."""
    if r is None:
        return ["no grad"]
    out = []
    if r.n_nan:
        out.append("NaN")
    if r.n_inf:
        out.append("inf")
    if not out:
        if r.norm == 0.0:
            out.append("zero")
        elif r.norm > explode:
            out.append("exploding")
        elif r.norm < vanish:
            out.append("vanishing")
    return out
