"""Grad modes: whether ops record the graph (``no_grad``, ``enable_grad``, ``inference_mode``,
``set_grad_enabled``) and whether the backward pass checks for NaN/inf (``detect_anomaly``).

Each mode is thread-local state read by ``Function.apply`` (autograd.py) when it decides whether to record a
node; the classes are context managers and decorators, as in PyTorch.
"""

from __future__ import annotations

import threading

_state = threading.local()


def is_grad_enabled() -> bool:
    """Whether ops record the graph now (False inside ``no_grad`` and ``inference_mode``)."""
    return getattr(_state, "grad", True)


def is_inference_mode_enabled() -> bool:
    """Whether an ``inference_mode()`` block is active."""
    return getattr(_state, "inference", False)


def is_anomaly_enabled() -> bool:
    """Whether a ``detect_anomaly()`` block is active."""
    return getattr(_state, "anomaly", False)


class _GradMode:
    """Base for no_grad / enable_grad / inference_mode: a context manager and a decorator (with or without
    parentheses). ``_set`` switches the mode on entry; leaving restores what was there before."""

    enabled = True

    def __new__(cls, fn=None):
        self = super().__new__(cls)
        self._prev = []
        return self(fn) if callable(fn) else self   # @tg.no_grad used without parentheses

    def __init__(self, fn=None):
        pass

    def _set(self):
        _state.grad = self.enabled

    def _fresh(self):
        """A new manager with the same setting, for one call of a decorated function."""
        return type(self)()

    def __enter__(self):
        self._prev.append((is_grad_enabled(), is_inference_mode_enabled()))   # a stack: re-entrant
        self._set()

    def __exit__(self, *exc):
        _state.grad, _state.inference = self._prev.pop()

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._fresh():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Record nothing: ``with tg.no_grad(): ...`` or ``@tg.no_grad()``."""

    enabled = False


class enable_grad(_GradMode):
    """Record the graph again, inside a ``no_grad`` block: ``with tg.enable_grad(): ...`` or a decorator."""

    enabled = True


class inference_mode(_GradMode):
    """``with tg.inference_mode(): ...`` or ``@tg.inference_mode()``: record nothing, like ``no_grad`` (for
    evaluation and generation). ``inference_mode(False)`` switches it off again inside one, turning gradients
    back on."""

    def __new__(cls, mode=True):
        self = object.__new__(cls)
        self._prev, self.mode = [], True if callable(mode) else bool(mode)
        return self(mode) if callable(mode) else self      # @tg.inference_mode used without parentheses

    def __init__(self, mode=True):
        pass

    def _set(self):
        _state.grad, _state.inference = not self.mode, self.mode

    def _fresh(self):
        return inference_mode(self.mode)


class set_grad_enabled(_GradMode):
    """Turn graph recording on or off: a plain call ``tg.set_grad_enabled(False)`` switches it now; as
    ``with tg.set_grad_enabled(is_training): ...`` (or a decorator) it is restored afterwards."""

    def __new__(cls, mode):
        self = object.__new__(cls)
        self.enabled = bool(mode)
        self._prev = [(is_grad_enabled(), is_inference_mode_enabled())]
        self._set()                                        # switched at once, as PyTorch's does
        return self

    def __init__(self, mode):
        pass

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _state.grad, _state.inference = self._prev[0]

    def __call__(self, fn):
        self.__exit__()                                    # decorating switches nothing until the call
        return super().__call__(fn)

    def _fresh(self):
        return set_grad_enabled(self.enabled)


def compile(model=None, **options):  # noqa: A001  (torch.compile)
    """``torch.compile``: returns ``model`` (a Module or a function) itself, unchanged; without ``model``, a
    decorator that does the same (``@tg.compile(mode="max-autotune")``). The options are accepted and have
    nothing to act on.

    tinygrad_tf is eager (define-by-run): every op runs, and records its graph node, the moment it is
    called, and there is no compiler to hand a graph to. Returning the model unchanged is what PyTorch
    itself does with ``torch.compile(model, backend="eager")``, so programs that compile their model run
    here as they are, with the same results and eager speed.
    """
    if model is None:
        return lambda m: m
    return model


class detect_anomaly:
    """Raise at the first op whose output (forward) or input gradient (backward) has NaN/inf."""

    def __enter__(self):
        self._prev = is_anomaly_enabled()
        _state.anomaly = True

    def __exit__(self, *exc):
        _state.anomaly = self._prev


class AnomalyError(FloatingPointError):
    pass
