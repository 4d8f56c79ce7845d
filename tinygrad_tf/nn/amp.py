"""Mixed precision: float16 matrix products with float32 weights (``autocast``), and loss scaling
(``GradScaler``) so that small gradients survive float16.

    scaler = GradScaler()
    with autocast():                          # Linear and attention products run in float16
        loss = model(ids, labels=ids).loss    # norms, softmax and the loss stay in float32
    scaler.scale(loss).backward()             # the loss times S (65536 to start) ...
    scaler.unscale_(opt)                      # ... and every gradient divided by S again (clip after this)
    scaler.step(opt)                          # skipped when a gradient is inf/NaN: S was too big
    scaler.update()                           # then S halves; after 2000 clean steps it doubles

Why it works. The weights stay float32 ("master weights"); inside ``autocast`` each product casts its
operands to float16 first -- a differentiable cast, so the gradient flows back and is cast up to the
weight's float32. Float16 has 10 bits of mantissa and a range of 6e-8 .. 65504: plenty for activations,
but gradients of a well-trained model are often smaller than 6e-8 and would flush to zero. Multiplying
the loss by S multiplies every gradient by S (the chain rule is linear), lifting them into range;
dividing by S before the optimizer step undoes it exactly. Too large an S overflows to inf, which the
scaler detects, and then it skips that step and halves S. What stays float32, as in PyTorch's autocast:
layer/RMS norms, softmax and cross-entropy, whose sums and exponentials need the range and precision.

On a GPU float16 products are several times faster than float32 and the activations take half the
memory; on a CPU NumPy has no float16 BLAS, so ``autocast`` is much slower there -- it is for GPUs,
and for learning what loss scaling does.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from .. import backend
from ..autograd import no_grad

_state = {"dtype": None}


@contextlib.contextmanager
def autocast(dtype="float16", enabled: bool = True):
    """Within the block, Linear layers and attention compute in ``dtype`` (float16); weights stay as they are."""
    previous = _state["dtype"]
    _state["dtype"] = backend.as_dtype(dtype) if enabled else None
    try:
        yield
    finally:
        _state["dtype"] = previous


def autocast_dtype():
    """The low-precision dtype in force (None outside ``autocast``)."""
    return _state["dtype"]


def low(*tensors):
    """The tensors cast to the autocast dtype (floats only; None passes), or unchanged outside autocast."""
    dt = _state["dtype"]
    if dt is None:
        return tensors
    return tuple(t if t is None or t.dtype == dt or t.dtype.kind != "f" else t.to(dt) for t in tensors)


def full(t):
    """``t`` as float32 inside autocast when it is in a lower precision (norms, softmax, losses run in float32)."""
    if _state["dtype"] is None or t.dtype.kind != "f" or t.dtype.itemsize >= 4:
        return t
    return t.float()


class GradScaler:
    """Dynamic loss scaling (PyTorch's ``torch.amp.GradScaler`` rules).

    scale(loss)      loss * S
    unscale_(opt)    every gradient * (1/S), and note whether any is inf/NaN (``found_inf``)
    step(opt)        opt.step() unless found_inf (then the step is skipped); unscales first if needed
    update()         S *= backoff_factor after a skipped step; S *= growth_factor after ``growth_interval``
                     steps in a row without one
    ``enabled=False`` makes every method a pass-through, so one training loop serves both precisions.
    """

    def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                 enabled=True):
        if not (init_scale > 0 and growth_factor > 1 and 0 < backoff_factor < 1 and growth_interval >= 1):
            raise ValueError(f"GradScaler: need init_scale > 0, growth_factor > 1, 0 < backoff_factor < 1 and "
                             f"growth_interval >= 1; got {init_scale}, {growth_factor}, {backoff_factor}, "
                             f"{growth_interval}")
        self.enabled = enabled
        self.scale_value = float(init_scale)
        self.growth_factor, self.backoff_factor = float(growth_factor), float(backoff_factor)
        self.growth_interval = int(growth_interval)
        self.growth_tracker = 0          # clean steps since the last change of S
        self.found_inf = False
        self._unscaled = False
        self.skipped_steps = 0

    def get_scale(self) -> float:
        return self.scale_value if self.enabled else 1.0

    def scale(self, loss):
        """loss * S, in float32 (a float16 loss times 65536 would overflow: float16 ends at 65504)."""
        if not self.enabled:
            return loss
        return (loss.float() if loss.dtype.itemsize < 4 else loss) * self.scale_value

    @staticmethod
    def _params(optimizer):
        return [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]

    def unscale_(self, optimizer) -> None:
        """Divide the gradients by S in place (call before clipping) and look for inf/NaN among them."""
        if not self.enabled or self._unscaled:
            return
        inv, finite = 1.0 / self.scale_value, []
        with no_grad():
            for p in self._params(optimizer):
                g = p.grad.data
                g *= inv
                finite.append(p._xp().isfinite(g).all())       # stays on the device: no sync per parameter
        xp = p._xp() if finite else np
        self.found_inf = bool(finite) and not bool(xp.stack(finite).all())    # one sync for all of them
        self._unscaled = True

    def step(self, optimizer) -> bool:
        """The optimizer's step, unless a gradient was inf/NaN; returns whether it stepped."""
        if not self.enabled:
            optimizer.step()
            return True
        self.unscale_(optimizer)
        if self.found_inf:
            self.skipped_steps += 1
            return False
        optimizer.step()
        return True

    def update(self) -> None:
        """Adjust S for the next step (halve after an overflow, double after ``growth_interval`` clean steps)."""
        if not self.enabled:
            return
        if self.found_inf:
            self.scale_value *= self.backoff_factor
            self.growth_tracker = 0
        else:
            self.growth_tracker += 1
            if self.growth_tracker == self.growth_interval:
                self.scale_value *= self.growth_factor
                self.growth_tracker = 0
        if not math.isfinite(self.scale_value) or self.scale_value <= np.finfo(np.float32).tiny:
            raise FloatingPointError(f"GradScaler: the loss scale reached {self.scale_value}: every step overflows "
                                     "even unscaled -- the model itself produces inf/NaN")
        self.found_inf, self._unscaled = False, False

    def state_dict(self) -> dict:
        return {"scale": self.scale_value, "growth_tracker": self.growth_tracker, "skipped_steps": self.skipped_steps,
                "growth_factor": self.growth_factor, "backoff_factor": self.backoff_factor,
                "growth_interval": self.growth_interval, "enabled": self.enabled}

    def load_state_dict(self, state: dict) -> None:
        self.scale_value, self.growth_tracker = float(state["scale"]), int(state["growth_tracker"])
        self.skipped_steps = int(state.get("skipped_steps", 0))
        self.growth_factor, self.backoff_factor = float(state["growth_factor"]), float(state["backoff_factor"])
        self.growth_interval, self.enabled = int(state["growth_interval"]), bool(state["enabled"])

    def __repr__(self):
        return (f"GradScaler(scale={self.scale_value:g}, growth_tracker={self.growth_tracker}/{self.growth_interval}"
                f"{'' if self.enabled else ', disabled'})")
