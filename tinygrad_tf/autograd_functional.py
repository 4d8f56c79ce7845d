"""Jacobians, Hessians and their products, as ``torch.autograd.functional`` (import it as
``tinygrad_tf.autograd.functional``; ``tg.autograd.functional.hessian`` works too).

    from tinygrad_tf.autograd.functional import jacobian, hessian, vjp, jvp, hvp, vhp
    J = jacobian(lambda x: x.exp().sum(dim=1), x)      # shape: output's shape + input's shape
    H = hessian(loss_of, (w1, b1, w2, b2))             # H[i][j]: shape w_i.shape + w_j.shape
    loss, Hv = hvp(loss_of, params, v)                 # H v without ever forming H

Everything here is ``grad()`` (autograd.py) called the right number of times; nothing new in the engine.
Reverse mode gives one ROW of a Jacobian per backward pass: with ``v`` the one-hot vector e_j, the
vector-Jacobian product ``grad(out, x, grad_outputs=v)`` is v^T J = row j. So

* ``vjp(f, x, v)``     = v^T J                          one backward;
* ``jacobian(f, x)``   = the rows e_j^T J, stacked       one backward per output element;
* ``vhp(f, x, v)``     = v^T H = d/dx (grad f . v)       a backward through the backward (create_graph=True);
* ``hessian(f, x)``    = ``jacobian`` of the gradient    one backward of the backward per input element.

A Jacobian-vector product J v (forward mode: how the outputs move when x moves along v) has no backward of
its own, but it comes out of two of them -- the **double-vjp trick**. Take a dummy ``u`` shaped like the
output and form g(u) = u^T J = ``grad(out, x, grad_outputs=u, create_graph=True)``. g is LINEAR in u, and
its Jacobian with respect to u is J^T; so one more vector-Jacobian product, of g with v, gives
v^T J^T = (J v)^T: ``jvp = grad(g, u, grad_outputs=v)``. The value of u does not matter (it is zeros here),
only that the first backward was recorded as a function of it. ``hvp`` does the same to the gradient
(H v = (v^T H^T)^T), and ``jacobian(..., strategy="forward-mode")`` builds the Jacobian column by column
with it. It costs two backward passes where true forward mode costs one forward; what it shows is that a
backward pass, being a graph, can be differentiated like any other.

PyTorch's semantics throughout: ``inputs`` (and ``v``) are a Tensor or a tuple of Tensors, and each result
has the matching structure (a tuple where the inputs or outputs were one); the function's output is
returned alongside (``vjp``, ``jvp``, ``hvp``, ``vhp``); results are detached unless ``create_graph=True``,
which keeps them on a graph (a Hessian you can differentiate again); an input the outputs do not depend on
gets zeros, or an error with ``strict=True``. ``vectorize=True`` is accepted, for PyTorch programs: this
engine has no vmap, so the rows are computed one backward each either way, with the same result.
"""

from __future__ import annotations

import sys

from . import autograd
from .autograd import enable_grad, grad, is_grad_enabled, set_grad_enabled
from .factory import stack
from .tensor import Tensor

__all__ = ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"]


# ---------------------------------------------------------------- structure: a Tensor or a tuple of them
def _as_tuple(x, what, fn):
    """(was it a tuple, x as a tuple of Tensors); a clear error for anything else."""
    is_tuple = isinstance(x, (tuple, list))
    items = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            at = f"the value at index {i} has type {type(t).__name__}" if is_tuple else \
                f"the given {what} has type {type(t).__name__}"
            raise TypeError(f"{fn}: the {what} must be a Tensor or a tuple of Tensors, but {at}")
    return is_tuple, items


def _unpack(res, to_unpack):
    """Undo ``_as_tuple``: ``to_unpack`` is one flag (was it a tuple) or two, for a tuple of tuples."""
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            res = tuple(r[0] for r in res)
        return res if to_unpack[0] else res[0]
    return res if to_unpack else res[0]


def _prepare(inputs, create_graph, need_graph):
    """New Tensor objects for the inputs (so a function that also reads the originals is not confused): on
    the caller's graph when ``create_graph`` and they require grad, else detached leaves."""
    return tuple(t.view_as(t) if create_graph and t.requires_grad else t.detach().requires_grad_(need_graph)
                 for t in inputs)


def _finish(x, create_graph):
    """Results off the graph (detached) unless ``create_graph``; nested tuples as they are."""
    if isinstance(x, Tensor):
        return x if create_graph else x.detach()
    return tuple(_finish(t, create_graph) for t in x)


def _given_v(v, like, is_tuple, create_graph, fn, what, shaped_like):
    """The vector ``v`` as a tuple shaped like ``like`` (the outputs or the inputs), or None where it may be
    left out: only when ``like`` is a single one-element Tensor (then the product is with 1)."""
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            raise RuntimeError(f"{fn}: v can be left out only when {what} a single Tensor with a single element; "
                               f"pass v shaped like {shaped_like}")
        return None
    _, v = _as_tuple(v, "v", fn)
    v = _prepare(v, create_graph, need_graph=False)
    _check_v(v, like, is_tuple, fn)
    return v


def _check_v(v, other, is_tuple, fn):
    if len(v) != len(other):
        raise RuntimeError(f"{fn}: v is a tuple of {len(v)} Tensors; it should have {len(other)}" if is_tuple
                           else f"{fn}: v should be a single Tensor, not a tuple of {len(v)}")
    for i, (a, b) in enumerate(zip(v, other)):
        if a.shape != b.shape:
            at = f"entry {i} of v" if is_tuple else "v"
            raise RuntimeError(f"{fn}: {at} has shape {a.shape}; it should have shape {b.shape}")


_STRICT = {
    "outputs": "output {i} of the function does not require grad: in strict mode every output must be computed "
               "differentiably from the inputs",
    "grad_inputs": "the gradient with respect to input {i} does not depend on the inputs, which strict mode "
                   "does not allow",
    "jacobian": "while computing the Hessian, the Jacobian with respect to input {i} turned out independent of "
                "the input (a linear function?), which strict mode does not allow",
    "hessian": "the Hessian with respect to input {i} is independent of the input, which strict mode does not "
               "allow (is the function three times differentiable?)",
    "back": "the output of the function is independent of input {i}, which strict mode does not allow",
    "back_trick": "the gradient is independent of entry {i} of the grad_outputs used by the double-vjp trick, "
                  "which strict mode does not allow",
    "double_back": "the Jacobian of the function is independent of input {i}, which strict mode does not allow",
    "double_back_trick": "the Hessian is independent of entry {i} of the dummy vector of the double-vjp trick, "
                         "which strict mode does not allow",
}


def _strict(fn, kind, i):
    return RuntimeError(f"{fn}: " + _STRICT[kind].format(i=i))


def _check_requires_grad(tensors, kind, strict, fn):
    if strict:
        for i, t in enumerate(tensors):
            if t is None or not t.requires_grad:
                raise _strict(fn, "back" if t is None else kind, i)


def _grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """``grad`` that skips outputs which are None or need no gradient, and gives None for unused inputs."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs or (None,) * len(outputs))
             if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return grad([o for o, _ in pairs], inputs, [g for _, g in pairs], retain_graph=retain_graph,
                create_graph=create_graph, allow_unused=True)


def _zeros_for_none(grads, refs, strict, create_graph, stage, fn):
    """A None gradient becomes zeros shaped like its reference (or an error in strict mode)."""
    out = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise _strict(fn, stage, i)
            g = _zeros(ref.shape, ref)
        elif strict and create_graph and not g.requires_grad:
            raise _strict(fn, "double_back" if "double" in stage else "grad_inputs", i)
        out.append(g)
    return tuple(out)


def _zeros(shape, like):
    """Zeros of ``shape`` with ``like``'s dtype and device, off the graph."""
    return Tensor._wrap(like._xp().zeros(shape, dtype=like.dtype), like._device)


def _one_hot(t, j):
    """A tensor shaped like ``t`` with a 1 at flat position j: grad_outputs that pick row j of a Jacobian."""
    e = t._xp().zeros(t.data.size, dtype=t.dtype)
    e[j] = 1
    return Tensor._wrap(e.reshape(t.data.shape), t._device)


def _dummy_like(t):
    """The dummy vector u of the double-vjp trick: zeros shaped like ``t``, on whose value nothing depends."""
    return _zeros(t.shape, t).requires_grad_()


# ---------------------------------------------------------------- products
def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T J)``: the vector-Jacobian product, one backward pass (``torch.autograd.functional.vjp``).

    ``v`` is shaped like ``func``'s output (a tuple for a tuple of outputs); it may be left out when the output
    is a single element. The product is shaped like the inputs (a tuple where they are a tuple)."""
    with enable_grad():
        is_in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        is_out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the function", "vjp")
        _check_requires_grad(outputs, "outputs", strict, "vjp")
        v = _given_v(v, outputs, is_out_tuple, create_graph, "vjp", "the function returns", "the output")
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        res = _grad(outputs, inputs, v, create_graph=create_graph)
        res = _zeros_for_none(res, inputs, strict, create_graph, "back", "vjp")
    return (_unpack(_finish(outputs, create_graph), is_out_tuple),
            _unpack(_finish(res, create_graph), is_in_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J v)``: the Jacobian-vector product by the double-vjp trick (the module docstring):
    g(u) = u^T J is linear in a dummy u, and its vjp with ``v`` is v^T J^T = (J v)^T -- two backward passes
    (``torch.autograd.functional.jvp``).

    ``v`` is shaped like the inputs (optional for a single one-element input); the product is shaped like
    ``func``'s output."""
    with enable_grad():
        is_in_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        v = _given_v(v, inputs, is_in_tuple, create_graph, "jvp", "the input is", "the inputs")
        is_out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the function", "jvp")
        _check_requires_grad(outputs, "outputs", strict, "jvp")
        u = tuple(_dummy_like(o) for o in outputs)             # the dummy vector: g(u) = u^T J is linear in u
        g = _grad(outputs, inputs, u, create_graph=True)
        _check_requires_grad(g, "grad_inputs", strict, "jvp")
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        res = _grad(g, u, v, create_graph=create_graph)       # v^T (dg/du) = v^T J^T = (J v)^T
        res = _zeros_for_none(res, outputs, strict, create_graph, "back_trick", "jvp")
    return (_unpack(_finish(outputs, create_graph), is_out_tuple),
            _unpack(_finish(res, create_graph), is_out_tuple))


def _scalar_output(func, inputs, strict, fn):
    is_out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the function", fn)
    _check_requires_grad(outputs, "outputs", strict, fn)
    if is_out_tuple:
        raise RuntimeError(f"{fn}: the function should return a single Tensor, not a tuple")
    if outputs[0].numel() != 1:
        raise RuntimeError(f"{fn}: the function should return a single element (a loss); it returned shape "
                           f"{outputs[0].shape}")
    return outputs


def _second_order(func, inputs, v, create_graph, strict, fn, trick):
    with enable_grad():
        is_in_tuple, inputs = _as_tuple(inputs, "inputs", fn)
        inputs = _prepare(inputs, create_graph, need_graph=True)
        v = _given_v(v, inputs, is_in_tuple, create_graph, fn, "the input is", "the inputs")
        outputs = _scalar_output(func, inputs, strict, fn)
        jac = _grad(outputs, inputs, create_graph=True)        # the gradient, on a graph
        _check_requires_grad(jac, "jacobian", strict, fn)
        if trick:                                              # H^T u for a dummy u, then its vjp with v
            u = tuple(_dummy_like(t) for t in inputs)
            jac, wrt = _grad(jac, inputs, u, create_graph=True), u
            _check_requires_grad(jac, "hessian", strict, fn)
        else:
            wrt = inputs
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        res = _grad(jac, wrt, v, create_graph=create_graph)
        res = _zeros_for_none(res, inputs, strict, create_graph, "double_back_trick" if trick else "double_back", fn)
    return _unpack(_finish(outputs, create_graph), False), _unpack(_finish(res, create_graph), is_in_tuple)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T H)`` for a scalar ``func``: the gradient of (gradient . v), a backward through the
    backward (``torch.autograd.functional.vhp``). For a twice continuously differentiable function H is
    symmetric and this equals ``hvp``, at half the cost."""
    return _second_order(func, inputs, v, create_graph, strict, "vhp", trick=False)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), H v)`` for a scalar ``func``, without forming H: the double-vjp trick applied to the
    gradient (``torch.autograd.functional.hvp``; three backward passes -- ``vhp`` gives the same for a
    symmetric H with two). Power iteration with it finds H's largest eigenvalue (lesson 13)."""
    return _second_order(func, inputs, v, create_graph, strict, "hvp", trick=True)


# ---------------------------------------------------------------- whole matrices
def _rows(out, inputs, create_graph, strict, i):
    """The Jacobian of one output, row by row: row j is the vjp with the one-hot e_j. One tensor per input,
    shaped out.shape + input.shape."""
    rows = [[] for _ in inputs]
    for j in range(out.numel()):
        vj = _grad((out,), inputs, (_one_hot(out, j),), create_graph=create_graph, retain_graph=True)
        for k, (r, g, x) in enumerate(zip(rows, vj, inputs)):
            if g is None:
                if strict:
                    raise RuntimeError(f"jacobian: output {i} of the function is independent of input {k}, which "
                                       "strict mode does not allow")
                g = _zeros(x.shape, x)
            elif strict and create_graph and not g.requires_grad:
                raise RuntimeError(f"jacobian: the Jacobian of output {i} is independent of input {k}, which "
                                   "strict mode with create_graph=True does not allow")
            r.append(g)
    return tuple(stack(r).reshape(out.shape + x.shape) if r else _zeros(out.shape + x.shape, x)
                 for r, x in zip(rows, inputs))


def _columns(outputs, inputs, create_graph):
    """Forward mode by the double-vjp trick: column (j, k) of the Jacobian is the jvp with the one-hot
    tangent at element k of input j. One recorded backward, then one backward of it per column."""
    u = tuple(_dummy_like(o) for o in outputs)
    g = _grad(outputs, inputs, u, create_graph=True)
    result = [[None] * len(inputs) for _ in outputs]
    for j, (x, gj) in enumerate(zip(inputs, g)):
        cols = [[] for _ in outputs]
        for k in range(x.numel() if gj is not None else 0):
            jv = _grad((gj,), u, (_one_hot(x, k),), create_graph=create_graph, retain_graph=True)
            for c, col, o in zip(cols, jv, outputs):
                c.append(col if col is not None else _zeros(o.shape, o))
        for i, (c, o) in enumerate(zip(cols, outputs)):
            result[i][j] = stack(c, dim=-1).reshape(o.shape + x.shape) if c else _zeros(o.shape + x.shape, o)
    return tuple(tuple(r) for r in result)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs`` (``torch.autograd.functional.jacobian``): for one input and one
    output a Tensor of shape ``output.shape + input.shape``; a tuple over the inputs (or the outputs) where
    those are a tuple; ``J[i][j]`` (output i, input j) when both are.

    ``strategy="reverse-mode"`` builds it row by row (one backward per output element), ``"forward-mode"``
    column by column (jvps by the double-vjp trick: one per input element) -- the cheaper one is the one with
    fewer. ``vectorize`` is accepted and changes nothing here (no vmap: see the module docstring)."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f"jacobian: strategy must be 'reverse-mode' or 'forward-mode', not {strategy!r}")
    with enable_grad():
        is_in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        is_out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the function", "jacobian")
        _check_requires_grad(outputs, "outputs", strict, "jacobian")
        if strategy == "forward-mode":
            if strict:
                raise RuntimeError('jacobian: strict=True and strategy="forward-mode" do not go together (as in '
                                   'PyTorch); use strategy="reverse-mode"')
            jac = _columns(outputs, inputs, create_graph)
        else:
            jac = tuple(_rows(out, inputs, create_graph, strict, i) for i, out in enumerate(outputs))
    return _unpack(_finish(jac, create_graph), (is_out_tuple, is_in_tuple))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar ``func`` at ``inputs`` (``torch.autograd.functional.hessian``): the Jacobian of
    its gradient. One input: a Tensor of shape ``input.shape + input.shape``; a tuple of inputs:
    ``H[i][j]`` of shape ``inputs[i].shape + inputs[j].shape``. ``outer_jacobian_strategy="forward-mode"``
    takes the outer Jacobian column by column (third-order backward passes, by the double-vjp trick)."""
    is_in_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def scalar(*xs):
        return _scalar_output(func, xs, strict, "hessian")[0].reshape(())

    def gradient(*xs):
        g = jacobian(scalar, xs, create_graph=True)
        _check_requires_grad(g, "jacobian", strict, "hessian")
        return g

    res = jacobian(gradient, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return _unpack(res, (is_in_tuple, is_in_tuple))


# ``import tinygrad_tf.autograd.functional`` finds this module, and ``tg.autograd.functional`` is it, as in
# PyTorch (autograd.py cannot import it: this module needs Tensor, which needs autograd; so it registers itself,
# as gradcheck.py sets autograd.gradcheck)
autograd.functional = sys.modules[__name__]
sys.modules["tinygrad_tf.autograd.functional"] = sys.modules[__name__]
