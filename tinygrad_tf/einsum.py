"""``tg.einsum(equation, *operands)``: Einstein summation, differentiable, as ``torch.einsum``.

    tg.einsum("bhqd,bhkd->bhqk", q, k)       # attention scores
    tg.einsum("bti,ri,or->bto", x, A, B)     # a LoRA update, x A^T B^T
    tg.einsum("...ij,...jk", a, b)           # batched matmul; no "->": the output is implicit

The equation is checked and rewritten once, here, into explicit letters (``...`` becomes letters of its
own, right-aligned as broadcasting aligns), so the op itself only ever sees ``"ab,bc->ac"``-style
equations. Its gradient is one more einsum per operand (see ``Einsum.backward``).
"""

from __future__ import annotations

import string

from .autograd import Function
from .tensor_args import _is_tensor

LETTERS = string.ascii_letters


def einsum(equation, *operands):
    """Sum products of the operands' entries over the subscripts that do not appear in the output.

    ``equation`` names each operand's dims with letters (``"ij,jk->ik"``); a letter shared by two operands
    is multiplied along, a letter missing from the output is summed over. Without ``->`` the output is
    the letters used exactly once, in alphabetical order (``...`` first). ``...`` stands for any number of
    dims, which broadcast across operands. Operands may also be given as one list. Differentiable in
    every operand."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for i, t in enumerate(operands):
        if not _is_tensor(t):
            raise TypeError(f"einsum: operand {i} is a {type(t).__name__}, expected a Tensor")
    inputs, output, sizes = parse(equation, [t.shape for t in operands])
    return Einsum.apply(*operands, inputs=inputs, output=output, sizes=sizes)


def parse(equation, shapes):
    """``equation`` and the operands' shapes -> (each operand's letters, the output's letters, letter -> size),
    with ``...`` replaced by letters the equation does not use and the implicit output made explicit.
    A size-1 dim may meet a larger one under the same letter (it broadcasts); other mismatches are errors."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a string such as 'ij,jk->ik', got {type(equation).__name__}")
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: the equation {equation!r} has subscripts for {len(terms)} operand(s), but "
                         f"{len(shapes)} tensor(s) were given (shapes {[tuple(s) for s in shapes]})")
    for term in terms + [rhs]:
        bad = [c for c in term.replace("...", "") if c not in LETTERS]
        if bad or term.count("...") > 1:
            what = f"the character {bad[0]!r}" if bad else "'...' more than once in one term"
            raise ValueError(f"einsum: {what} in {equation!r}; subscripts are letters a-z, A-Z and at most one "
                             "'...' per operand")
    spare = iter(c for c in LETTERS if c not in eq)
    n_ell = max([len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes) if "..." in t], default=0)
    ell = "".join(next(spare) for _ in range(n_ell))   # the letters '...' stands for, right-aligned
    inputs, sizes = [], {}
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        named = len(term.replace("...", ""))
        if len(shape) != named and "..." not in term or len(shape) < named:
            raise ValueError(f"einsum: operand {i} has shape {tuple(shape)} ({len(shape)} dims) but its subscripts "
                             f"{term!r} name {named}" + ("" if "..." in term else " and there is no '...'"))
        k = len(shape) - named
        sub = term.replace("...", ell[n_ell - k:]) if k or "..." in term else term
        for c, n in zip(sub, shape):
            seen = sizes.get(c, 1)
            if n != seen and 1 not in (n, seen):
                raise ValueError(f"einsum: subscript {c!r} has size {n} in operand {i} (shape {tuple(shape)}) but "
                                 f"size {seen} elsewhere in {equation!r}")
            sizes[c] = max(n, seen)
        inputs.append(sub)
    used = "".join(inputs)
    if arrow:
        output = rhs.replace("...", ell)
        for c in output:
            if c not in used:
                raise ValueError(f"einsum: output subscript {c!r} of {equation!r} is in no operand")
            if output.count(c) > 1:
                raise ValueError(f"einsum: output subscript {c!r} appears twice in {equation!r}")
    else:
        output = ell + "".join(sorted(c for c in set(used) if c not in ell and used.count(c) == 1))
    return tuple(inputs), output, sizes


class Einsum(Function):
    """y[out] = sum over the other letters of  prod_k x_k[letters of k].

    y is linear in each operand, so its gradient for operand k is the same sum with x_k taken out and g
    put in:  dL/dx_k[s_k] = sum over the letters not in s_k of  g[out] * prod_{j != k} x_j[s_j]
    -- one more einsum, "out,s_1,...(without s_k)...->s_k". Two letters of s_k need care:
      * a letter only operand k has (summed away: "ij->i") is in none of those inputs; every y it fed got
        it with weight 1, so the gradient is copied along it (computed without it, then broadcast);
      * a letter repeated in s_k (a diagonal, "ii->i") is computed once and put back on the diagonal.
    Size-1 dims that broadcast against a bigger one are broadcast in forward; the engine sums them back.
    """

    @staticmethod
    def forward(ctx, *xs, inputs, output, sizes):
        ctx.save_for_backward(*xs)
        ctx.inputs, ctx.output, ctx.sizes = inputs, output, sizes
        return _einsum(ctx.xp, inputs, output, _broadcast(ctx.xp, xs, inputs, sizes))

    @staticmethod
    def backward(ctx, g):
        xp, inputs, out = ctx.xp, ctx.inputs, ctx.output
        xs = _broadcast(xp, ctx.saved_tensors, inputs, ctx.sizes)
        grads = []
        for k, sub in enumerate(inputs):
            if not ctx.needs_input_grad[k]:
                grads.append(None)
                continue
            others = [j for j in range(len(xs)) if j != k]
            present = set(out).union(*(inputs[j] for j in others))
            distinct = "".join(dict.fromkeys(sub))                     # s_k's letters, each once
            kept = "".join(c for c in distinct if c in present)
            gk = _einsum(xp, [out] + [inputs[j] for j in others], kept, [g] + [xs[j] for j in others])
            if kept != distinct:                                       # copy along the letters only x_k had
                gk = gk.reshape([ctx.sizes[c] if c in kept else 1 for c in distinct])
                gk = xp.broadcast_to(gk, [ctx.sizes[c] for c in distinct])
            if distinct != sub:                                        # back onto the diagonal
                gk = _onto_diagonal(xp, gk, distinct, sub, [ctx.sizes[c] for c in sub])
            grads.append(gk)
        return tuple(grads)


def _broadcast(xp, xs, inputs, sizes):
    """Each operand with its size-1 dims stretched to the letter's size (views, no copies)."""
    return [x if x.shape == full else xp.broadcast_to(x, full)
            for x, full in ((x, tuple(sizes[c] for c in sub)) for x, sub in zip(xs, inputs))]


def _einsum(xp, inputs, output, arrays):
    spec = ",".join(inputs) + "->" + output
    # optimize: contract pairwise through BLAS (tensordot) where it can, instead of one nested loop
    return xp.einsum(spec, *arrays, optimize=len(arrays) > 1)


def _onto_diagonal(xp, gd, distinct, sub, shape):
    """out[...] with out[i, i] = gd[i] (for sub "ii" and distinct "i"), and 0 off the diagonal."""
    out = xp.zeros(shape, dtype=gd.dtype)
    axes = [distinct.index(c) for c in sub]
    out[tuple(xp.arange(gd.shape[a]).reshape([-1 if j == a else 1 for j in range(gd.ndim)]) for a in axes)] = gd
    return out
