"""Module backward hooks, as PyTorch's ``register_full_backward_hook`` / ``register_full_backward_pre_hook``.

    pre-hook:  hook(module, grad_output) -> new grad_output or None     when the gradient of the output is known
    hook:      hook(module, grad_input, grad_output) -> new grad_input or None
                                                                         when the gradient of the inputs is known

grad_output is the gradient of the module's output(s); grad_input the gradient the module sends back to each
positional input (None for an input that needs none), from this module's use of it only. To see that, each input
that needs a gradient passes through an identity node (a reshape to its own shape) before ``forward``: the
gradient arriving at that node is exactly this module's share. The hooks are tensor hooks on those nodes and on
the outputs, so they run in the engine's ordinary backward walk.

A hook may replace grad_input only for a module with one tensor input (PyTorch allows it for several; here each
input's gradient has gone on its way before the next one is known).
"""

from __future__ import annotations

from ..autograd import is_grad_enabled
from ..tensor import Tensor


def _flat(out):
    return out if isinstance(out, tuple) else (out,)


class BackwardHooks:
    """The bookkeeping of one call of a module that has backward hooks."""

    def __init__(self, module, args):
        self.module, self.grad_output = module, None
        self.grad_input = [None] * len(args)
        self.waiting = set()
        self.args = list(args)
        if not is_grad_enabled():
            return
        for i, a in enumerate(args):
            if isinstance(a, Tensor) and a.requires_grad:
                self.args[i] = a.reshape(a.shape)              # this module's own path back to input i
                self.args[i].register_hook(self._input_hook(i))
                self.waiting.add(i)

    def setup_output(self, out):
        """Register the hooks on the output tensor(s); returns the output."""
        outs = [o for o in _flat(out) if isinstance(o, Tensor) and o.requires_grad]
        self.grad_output = [None] * len(outs)
        self.pending_outputs = len(outs)
        for j, o in enumerate(outs):
            o.register_hook(self._output_hook(j))
        return out

    def _output_hook(self, j):
        def hook(grad):
            self.grad_output[j] = grad
            self.pending_outputs -= 1
            if self.pending_outputs:
                return None
            new = None
            for pre in list(self.module._backward_pre_hooks.values()):
                result = pre(self.module, tuple(self.grad_output))
                if result is not None:
                    self.grad_output = list(_flat(result))
                    new = self.grad_output[j]
            if not self.waiting:                                 # no input needs a gradient: report now
                self._report()
            return new
        return hook

    def _input_hook(self, i):
        def hook(grad):
            self.grad_input[i] = grad
            self.waiting.discard(i)
            if self.waiting:
                return None
            new = self._report()
            if new is None:
                return None
            if sum(g is not None for g in self.grad_input) > 1:
                raise RuntimeError(f"a backward hook of {type(self.module).__name__} returned new gradients for a "
                                   "module with several tensor inputs; tinygrad_tf can replace grad_input only for "
                                   "a module with one tensor input")
            return _flat(new)[i]
        return hook

    def _report(self):
        new = None
        for fn in list(self.module._backward_hooks.values()):
            result = fn(self.module, tuple(self.grad_input), tuple(self.grad_output or ()))
            if result is not None:
                new = result
                self.grad_input = list(_flat(result))
        return new
