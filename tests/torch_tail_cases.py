"""The long tail of PyTorch tensor names that teaching programs use, as snippets that must give PyTorch's numbers.

Each case is ``name -> (fn, specs)``: ``fn(lib, *inputs)`` is written once against a library ``lib`` and returns
a tensor, a tuple of them, or a Python number/bool; ``specs`` lists the inputs' shapes and value domains.
scripts/make_torch_tail_fixture.py runs every case with ``lib = torch`` and writes the inputs, outputs and
gradients to tests/fixtures/torch_tail_reference.npz; tests/test_torch_tail.py runs the same functions with
``lib = tinygrad_tf`` and compares. This module imports neither library.

Domains (see the fixture script): "any" (normal), "positive" (0.5..2), "away0" (|x| >= 0.5), "unit" (|x| < 0.9),
"gt1" (1.2..3), "prob" (0.01..0.99), "distinct" (no two values within 0.05), "ties" (the integers 0, 1, 2:
zeros and repeated values), "clamp" (never within 0.05 of +-0.5), "wellcond" (square matrices, normal + 3 I).
"""

from __future__ import annotations


def _ids(lib, like, ids):
    return lib.tensor(ids, device=like.device)


IN_PLACE_UNARY = (("exp_", ()), ("sqrt_", ()), ("tanh_", ()), ("sigmoid_", ()), ("relu_", ()), ("pow_", (3,)),
                  ("log1p_", ()), ("clamp_min_", (1.2,)), ("reciprocal_", ()), ("floor_", ()), ("abs_", ()),
                  ("neg_", ()), ("square_", ()), ("erf_", ()), ("sin_", ()))


def _in_place_unary(lib, x):
    """In-place unary ops on tensors in the middle of a graph are recorded, as in PyTorch."""
    outs = []
    for name, args in IN_PLACE_UNARY:
        h = x * 0.5 + 1.25
        getattr(h, name)(*args)
        outs.append(h)
    return tuple(outs)


def _shape_in_place(lib, x):
    h = x * 2
    h.unsqueeze_(0)
    h.transpose_(1, 2)
    h.squeeze_(0)
    return h.t_() * x


def _running_mean(lib, x, y):
    """A BatchNorm-from-scratch running average: ``mean.lerp_(batch_mean, momentum)`` inside the graph."""
    m = x * 1
    m.lerp_(y.mean(0), 0.1)
    return m


def _index_add_counts(lib, src):
    """index_add with repeated indices accumulates (an embedding's gradient written by hand)."""
    return lib.zeros(4, 3, dtype=src.dtype, device=src.device).index_add(0, _ids(lib, src, [0, 2, 0, 3, 0]), src)


def _singular_det(lib, x):
    """The determinant of a singular matrix (two equal rows) still has a gradient: the adjugate's transpose."""
    return lib.stack([x[0], x[0], x[1]]).det()


def _zero_row_norm(lib, x):
    """Row norms where one row is all zeros: PyTorch's gradient there is 0, not NaN."""
    return lib.cat([x, x[:1] * 0], 0).norm(dim=1)


def _nonzero_pick(lib, x):
    return x[(x > 0).nonzero(as_tuple=True)] * 2


def _adam_by_hand(lib, p, g):
    """An Adam step written by hand, as optimizer lessons do: mul_ / add_ / addcmul_ / addcdiv_ in a graph."""
    m, v = g * 0, g * 0
    m.mul_(0.9).add_(g, alpha=0.1)
    v.mul_(0.999).addcmul_(g, g, value=0.001)
    out = p * 1
    return out.addcdiv_(m / 0.1, (v / 0.001).sqrt() + 1e-8, value=-0.01)


def _linear_regression_by_hand(lib, X, noise):
    """d2l's linear regression from scratch: synthetic data, minibatch SGD written by hand (``param -= lr *
    param.grad / batch_size`` under no_grad, ``param.grad.zero_()``), then the closed form by linalg.solve."""
    true_w, true_b = lib.tensor([2.0, -3.4], dtype=X.dtype, device=X.device), 4.2
    X = X.detach()
    y = (lib.matmul(X, true_w) + true_b + noise.detach() * 0.01).reshape((-1, 1))
    w = lib.zeros((2, 1), dtype=X.dtype, device=X.device, requires_grad=True)
    b = lib.zeros(1, dtype=X.dtype, device=X.device, requires_grad=True)
    losses = []
    for epoch in range(3):
        for i in range(0, len(X), 5):
            Xb, yb = X[i:i + 5], y[i:i + 5]
            loss = ((lib.mm(Xb, w) + b - yb) ** 2 / 2).sum()
            loss.backward()
            with lib.no_grad():
                for param in (w, b):
                    param -= 0.1 * param.grad / 5
                    param.grad.zero_()
        with lib.no_grad():
            losses.append(((X @ w + b - y) ** 2 / 2).mean())
    A = lib.cat([X, lib.ones(len(X), 1, dtype=X.dtype, device=X.device)], 1)
    closed = lib.linalg.solve(A.T @ A, A.T @ y)
    return w.detach(), b.detach(), lib.stack(losses), closed, lib.dist(closed[:2, 0], true_w)


def _adam_training_by_hand(lib, X, Y):
    """A two-layer net trained with Adam written by hand (``exp_avg.mul_(b1).add_(g, alpha=1 - b1)``,
    ``exp_avg_sq.mul_(b2).addcmul_(g, g, value=1 - b2)``, ``p.addcdiv_(exp_avg, denom, value=-lr)``)."""
    X, Y = X.detach(), Y.detach()
    w1 = lib.linspace(-1.0, 1.0, 12, dtype=X.dtype, device=X.device).reshape(3, 4).requires_grad_()
    w2 = lib.linspace(0.5, -0.5, 4, dtype=X.dtype, device=X.device).reshape(4, 1).requires_grad_()
    state = {id(p): (lib.zeros_like(p), lib.zeros_like(p)) for p in (w1, w2)}
    b1, b2, lr = 0.9, 0.999, 0.05
    for step in range(1, 6):
        loss = ((X @ w1).tanh() @ w2 - Y).pow(2).mean()
        loss.backward()
        with lib.no_grad():
            for p in (w1, w2):
                m, v = state[id(p)]
                m.mul_(b1).add_(p.grad, alpha=1 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                denom = (v / (1 - b2 ** step)).sqrt().add_(1e-8)
                p.addcdiv_(m, denom, value=-lr / (1 - b1 ** step))
                p.grad = None
    return w1.detach(), w2.detach(), loss.detach()


def _floor_divide(lib, a, b):
    """(PyTorch has no gradient for floor_divide at all: values only.)"""
    with lib.no_grad():
        return lib.floor_divide(a * 3, b), (a * 3) // 2


def _finfo(lib, x):
    f32, f64, i64 = lib.finfo(lib.float32), lib.finfo(lib.float64), lib.iinfo(lib.int64)
    return (x * f32.eps, lib.tensor([f32.max, f32.min, f32.tiny, f64.eps, f64.max, f64.tiny], dtype=lib.float64,
                                    device=x.device),
            lib.tensor([i64.max, i64.min, lib.iinfo(lib.uint8).max, lib.iinfo(lib.int8).min], device=x.device))


CASES = {
    # elementwise math
    "log1p expm1": (lambda lib, x: (x.log1p(), lib.expm1(x)), [((3, 4), "positive")]),
    "log2 log10 exp2": (lambda lib, x: (x.log2(), lib.log10(x), x.exp2()), [((3, 4), "positive")]),
    "erf erfc": (lambda lib, x: (lib.erf(x), x.erfc()), [((3, 4), "any")]),
    "reciprocal": (lambda lib, x: lib.reciprocal(x), [((3, 4), "away0")]),
    "tan sinh cosh": (lambda lib, x: (x.tan(), lib.sinh(x), x.cosh()), [((3, 4), "unit")]),
    "asin acos atan": (lambda lib, x: (x.asin(), lib.acos(x), x.arctan()), [((3, 4), "unit")]),
    "asinh acosh atanh": (lambda lib, x, y, z: (x.asinh(), lib.acosh(y), z.atanh()),
                          [((5,), "any"), ((5,), "gt1"), ((5,), "unit")]),
    "arcsin arccos aliases": (lambda lib, x: lib.arcsin(x) + x.arccos() + lib.arctanh(x), [((4,), "unit")]),
    "floor ceil round trunc sign frac": (lambda lib, x: (x.floor(), lib.ceil(x), x.round(), lib.trunc(x), x.sign(),
                                                         x.frac(), x.fix(), lib.sgn(x)),
                                         [((3, 4), "clamp")]),
    "round decimals": (lambda lib, x: lib.round(x * 7, decimals=2), [((3, 4), "any")]),
    "frac gradient is 1": (lambda lib, x: (x * 3).frac() * x, [((6,), "clamp")]),
    "nan_to_num": (lambda lib, x: (x.log() * 2).nan_to_num(posinf=5.0, neginf=-5.0), [((3, 4), "any")]),
    "logit": (lambda lib, x: x.logit(), [((3, 4), "prob")]),
    "logit eps": (lambda lib, x: lib.logit(x, eps=0.2), [((3, 4), "prob")]),
    "deg2rad rad2deg": (lambda lib, x: (x.deg2rad(), lib.rad2deg(x)), [((4,), "any")]),
    "positive negative absolute": (lambda lib, x: lib.positive(x) * lib.negative(x) + x.absolute(),
                                   [((4,), "away0")]),
    "atan2": (lambda lib, a, b: lib.atan2(a, b), [((3, 4), "any"), ((4,), "away0")]),
    "hypot": (lambda lib, a, b: a.hypot(b), [((3, 4), "any"), ((3, 1), "away0")]),
    "remainder": (lambda lib, a, b: lib.remainder(a * 3, b), [((3, 4), "any"), ((3, 4), "away0")]),
    "fmod": (lambda lib, a, b: (a * 3).fmod(b), [((3, 4), "any"), ((3, 4), "away0")]),
    "% operator": (lambda lib, a, b: (a * 3) % b, [((3, 4), "any"), ((4,), "away0")]),
    "remainder scalar": (lambda lib, a: lib.remainder(a * 3, 1.5), [((3, 4), "any")]),
    "floor_divide //": (_floor_divide, [((3, 4), "any"), ((3, 4), "away0")]),
    "true_divide multiply subtract divide": (lambda lib, a, b: lib.true_divide(a, b) + lib.multiply(a, b)
                                             - lib.subtract(a, b, alpha=2) + lib.divide(a, b, rounding_mode="trunc"),
                                             [((3, 4), "any"), ((4,), "away0")]),
    "lerp tensor weight": (lambda lib, a, b, w: lib.lerp(a, b, w), [((3, 4), "any"), ((3, 4), "any"), ((4,), "prob")]),
    "lerp scalar weight": (lambda lib, a, b: a.lerp(b, 0.3), [((3, 4), "any"), ((4,), "any")]),
    "lerp_ running mean": (_running_mean, [((3,), "any"), ((5, 3), "any")]),
    "logaddexp": (lambda lib, a, b: lib.logaddexp(a, b), [((3, 4), "any"), ((4,), "any")]),
    "clamp_min clamp_max": (lambda lib, x: (x.clamp_min(-0.5), lib.clamp_max(x, 0.5), lib.clip(x, -0.5, 0.5)),
                            [((3, 4), "clamp")]),
    "where method": (lambda lib, x, y: x.where(x > 0, y), [((3, 4), "any"), ((4,), "any")]),
    "where scalar other": (lambda lib, x: lib.where(x > 0, x, 0.0), [((3, 4), "any")]),
    "where scalar input": (lambda lib, x: lib.where(x > 0, 1.0, x), [((3, 4), "any")]),
    "max min of two tensors": (lambda lib, a, b: (lib.max(a, b), a.min(b)), [((3, 4), "any"), ((4,), "any")]),
    "in-place unary": (_in_place_unary, [((3, 4), "any")]),
    "xlogy": (lambda lib, x, y: (lib.xlogy(x, y), x.xlogy(2.5)), [((3, 4), "ties"), ((4,), "positive")]),
    "float_power dist": (lambda lib, x, y: (x.float_power(2), lib.float_power(x, y), lib.dist(x, y), x.dist(y, 1)),
                         [((3, 4), "positive"), ((4,), "away0")]),
    "addcmul_ addcdiv_ (Adam by hand)": (_adam_by_hand, [((3, 4), "any"), ((3, 4), "away0")]),
    # reductions
    "prod": (lambda lib, x: x.prod(), [((2, 3), "away0")]),
    "prod dim": (lambda lib, x: lib.prod(x, 1), [((3, 4), "any")]),
    "prod dim keepdim": (lambda lib, x: x.prod(dim=0, keepdim=True), [((3, 4, 2), "any")]),
    "prod with zeros": (lambda lib, x: x.prod(-1), [((6, 4), "ties")]),
    "prod all with zeros": (lambda lib, x: (x - 1).prod(), [((5,), "ties")]),
    "amax amin dims": (lambda lib, x: (lib.amax(x, dim=(0, 2)), x.amin(1, keepdim=True)), [((2, 3, 4), "distinct")]),
    "amax all": (lambda lib, x: x.amax(), [((3, 4), "distinct")]),
    "amax ties share": (lambda lib, x: (x.amax(1), lib.amin(x, 0)), [((4, 5), "ties")]),
    "aminmax": (lambda lib, x: tuple(x.aminmax(dim=1)), [((3, 4), "distinct")]),
    "nansum nanmean": (lambda lib, x: ((x.log()).nansum(1), lib.nanmean(x.log(), dim=0)), [((4, 5), "any")]),
    "cumprod": (lambda lib, x: x.cumprod(1), [((3, 4), "any")]),
    "cumprod zeros": (lambda lib, x: lib.cumprod(x, dim=0), [((5, 3), "ties")]),
    "median": (lambda lib, x: x.median(), [((3, 4), "distinct")]),
    "median dim": (lambda lib, x: tuple(lib.median(x, dim=1)), [((3, 5), "distinct")]),
    "median dim keepdim": (lambda lib, x: tuple(x.median(0, keepdim=True)), [((4, 3), "distinct")]),
    "diff": (lambda lib, x: x.diff(), [((3, 5), "any")]),
    "quantile": (lambda lib, x: (x.quantile(0.3), lib.quantile(x, 0.75, dim=1, keepdim=True),
                                 x.quantile(lib.tensor([0.1, 0.5, 0.9], dtype=x.dtype, device=x.device), dim=0)),
                 [((4, 5), "distinct")]),
    "quantile interpolations": (lambda lib, x: tuple(x.quantile(0.4, dim=1, interpolation=m) for m in
                                                     ("lower", "higher", "midpoint", "nearest")),
                                [((3, 6), "distinct")]),
    "msort": (lambda lib, x: lib.msort(x), [((4, 3), "distinct")]),
    "diff n=2 dim=0 prepend": (lambda lib, x, p: lib.diff(x, n=2, dim=0, prepend=p),
                               [((4, 3), "any"), ((1, 3), "any")]),
    "std_mean var_mean": (lambda lib, x: lib.std_mean(x, dim=1) + lib.var_mean(x, 0, correction=0),
                          [((3, 4), "any")]),
    "count_nonzero": (lambda lib, x: (lib.count_nonzero(x), x.count_nonzero(dim=1)), [((4, 5), "ties")]),
    # norms and distances
    "norm": (lambda lib, x: x.norm(), [((3, 4), "any")]),
    "norm p=1 dim": (lambda lib, x: lib.norm(x, p=1, dim=1), [((3, 4), "away0")]),
    "norm inf": (lambda lib, x: x.norm(float("inf"), dim=0), [((3, 4), "distinct")]),
    "norm p=3 keepdim": (lambda lib, x: x.norm(3, dim=-1, keepdim=True), [((2, 3, 4), "away0")]),
    "norm fro dims": (lambda lib, x: x.norm("fro", dim=(1, 2)), [((2, 3, 4), "any")]),
    "norm zero row": (_zero_row_norm, [((2, 4), "any")]),
    "linalg.norm": (lambda lib, x: (lib.linalg.norm(x), lib.linalg.norm(x, dim=1)), [((3, 4), "any")]),
    "linalg.norm ord": (lambda lib, x: (lib.linalg.norm(x, 1), lib.linalg.norm(x, float("inf")),
                                        lib.linalg.norm(x, "fro")), [((3, 4), "distinct")]),
    "linalg.vector_norm": (lambda lib, x: (lib.linalg.vector_norm(x, ord=float("inf")),
                                           lib.linalg.vector_norm(x, 0.5, dim=(0, 1))), [((3, 4), "distinct")]),
    "linalg.matrix_norm": (lambda lib, x: (lib.linalg.matrix_norm(x), lib.linalg.matrix_norm(x, ord=-1),
                                           lib.linalg.matrix_norm(x, float("-inf"))), [((2, 3, 4), "distinct")]),
    "cdist": (lambda lib, a, b: lib.cdist(a, b), [((2, 3, 4), "any"), ((2, 5, 4), "any")]),
    "cdist p=1": (lambda lib, a, b: lib.cdist(a, b, p=1), [((3, 2), "distinct"), ((4, 2), "distinct")]),
    # matrix products and linear algebra
    "mm": (lambda lib, a, b: lib.mm(a, b), [((2, 3), "any"), ((3, 4), "any")]),
    "bmm": (lambda lib, a, b: a.bmm(b), [((2, 3, 4), "any"), ((2, 4, 5), "any")]),
    "mv": (lambda lib, a, v: lib.mv(a, v), [((3, 4), "any"), ((4,), "any")]),
    "dot vdot": (lambda lib, a, b: (lib.dot(a, b), a.vdot(b)), [((5,), "any"), ((5,), "any")]),
    "outer ger": (lambda lib, a, b: (lib.outer(a, b), a.ger(b)), [((3,), "any"), ((4,), "any")]),
    "inner": (lambda lib, a, b: lib.inner(a, b), [((2, 4), "any"), ((3, 4), "any")]),
    "addmm": (lambda lib, c, a, b: lib.addmm(c, a, b, beta=0.5, alpha=2), [((4,), "any"), ((2, 3), "any"),
                                                                           ((3, 4), "any")]),
    "addmv baddbmm": (lambda lib, c, a, v, d, p, q: (c.addmv(a, v), lib.baddbmm(d, p, q, alpha=0.5)),
                      [((3,), "any"), ((3, 4), "any"), ((4,), "any"), ((2, 1, 5), "any"), ((2, 3, 4), "any"),
                       ((2, 4, 5), "any")]),
    "addcmul addcdiv": (lambda lib, x, a, b: (x.addcmul(a, b, value=0.5), lib.addcdiv(x, a, b, value=-2)),
                        [((3, 4), "any"), ((4,), "any"), ((3, 4), "away0")]),
    "trace": (lambda lib, x: lib.trace(x), [((3, 4), "any")]),
    "inverse": (lambda lib, x: (x.inverse(), lib.linalg.inv(x)), [((3, 3), "wellcond")]),
    "inverse batched": (lambda lib, x: lib.inverse(x), [((2, 3, 3), "wellcond")]),
    "det": (lambda lib, x: (x.det(), lib.linalg.det(x)), [((3, 3), "wellcond")]),
    "det batched": (lambda lib, x: lib.det(x), [((2, 4, 4), "any")]),
    "det singular": (_singular_det, [((2, 3), "any")]),
    "slogdet logdet": (lambda lib, x: tuple(lib.linalg.slogdet(x)) + (x.logdet(),), [((3, 3), "wellcond")]),
    "linalg.solve": (lambda lib, a, b: lib.linalg.solve(a, b), [((3, 3), "wellcond"), ((3, 2), "any")]),
    "linalg.solve vector": (lambda lib, a, b: lib.linalg.solve(a, b), [((3, 3), "wellcond"), ((3,), "any")]),
    "linalg.solve batched": (lambda lib, a, b: lib.linalg.solve(a, b), [((2, 3, 3), "wellcond"), ((2, 3, 4), "any")]),
    "cross": (lambda lib, a, b: (lib.cross(a, b, dim=1), a.cross(b, dim=-1)), [((4, 3), "any"), ((4, 3), "any")]),
    "linalg.cross broadcast": (lambda lib, a, b: lib.linalg.cross(a, b), [((2, 1, 3), "any"), ((1, 4, 3), "any")]),
    "cov corrcoef": (lambda lib, x: (x.cov(), lib.cov(x, correction=0), x.corrcoef()), [((3, 5), "any")]),
    "cov 1-D": (lambda lib, x: lib.cov(x), [((6,), "any")]),
    "kron": (lambda lib, a, b: (lib.kron(a, b), a.kron(b[0])), [((2, 3), "any"), ((2, 1, 2), "any")]),
    "tensordot": (lambda lib, a, b: (lib.tensordot(a, b), lib.tensordot(a, b, dims=([0, 2], [2, 1])),
                                     lib.tensordot(a, b, 0).sum(0)), [((3, 2, 4), "any"), ((2, 4, 3), "any")]),
    "linalg.multi_dot": (lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]),
                         [((3,), "any"), ((3, 4), "any"), ((4, 2), "any")]),
    # repeating and reshaping
    "repeat": (lambda lib, x: x.repeat(2, 1, 3), [((3, 2), "any")]),
    "repeat tuple": (lambda lib, x: x.repeat((2, 2)), [((2, 3), "any")]),
    "tile": (lambda lib, x: lib.tile(x, (2,)), [((2, 3), "any")]),
    "repeat_interleave": (lambda lib, x: x.repeat_interleave(2, dim=0), [((3, 2), "any")]),
    "repeat_interleave flat": (lambda lib, x: lib.repeat_interleave(x, 3), [((2, 2), "any")]),
    "repeat_interleave counts": (lambda lib, x: x.repeat_interleave(_ids(lib, x, [1, 0, 3]), dim=1),
                                 [((2, 3), "any")]),
    "repeat_interleave indices": (lambda lib, x: lib.repeat_interleave(_ids(lib, x, [2, 0, 1])) * 1, [((1,), "any")]),
    "view_as reshape_as": (lambda lib, x, y: (x.view_as(y), x.reshape_as(y)), [((2, 6), "any"), ((3, 4), "any")]),
    "type_as": (lambda lib, x, y: (y.long().type_as(x), x.type_as(y)), [((3,), "any"), ((3,), "any")]),
    "narrow select unbind": (lambda lib, x: (x.narrow(1, 1, 2), lib.select(x, 0, -1)) + lib.unbind(x, 1),
                             [((3, 4), "any")]),
    "narrow negative start": (lambda lib, x: lib.narrow(x, 0, -2, 2), [((4, 3), "any")]),
    "tensor_split sections": (lambda lib, x: x.tensor_split(3, dim=1), [((2, 7), "any")]),
    "tensor_split indices": (lambda lib, x: lib.tensor_split(x, [1, 4], dim=0), [((6, 2), "any")]),
    "hsplit vsplit": (lambda lib, x: lib.hsplit(x, 2) + x.vsplit([1]), [((3, 4), "any")]),
    "swapaxes movedim": (lambda lib, x: (x.swapaxes(0, 2), lib.movedim(x, 0, -1), x.moveaxis((0, 1), (2, 0)),
                                         lib.swapdims(x, 1, -1)), [((2, 3, 4), "any")]),
    "fliplr flipud rot90": (lambda lib, x: (x.fliplr(), lib.flipud(x), x.rot90(), lib.rot90(x, 2, (1, 0)),
                                            x.rot90(-1), x.rot90(3, [0, 1])), [((3, 4), "any")]),
    "ravel": (lambda lib, x: x.transpose(0, 1).ravel(), [((3, 4), "any")]),
    "unfold": (lambda lib, x: x.unfold(1, 3, 2), [((2, 7, 2), "any")]),
    "unfold 1-D step 1": (lambda lib, x: x.unfold(0, 2, 1), [((5,), "any")]),
    "in-place view ops": (_shape_in_place, [((3, 4), "any")]),
    # diagonals
    "diagonal": (lambda lib, x: (x.diagonal(), lib.diagonal(x, 1), x.diagonal(-1)), [((3, 4), "any")]),
    "diagonal dims": (lambda lib, x: x.diagonal(offset=1, dim1=2, dim2=0), [((3, 2, 4), "any")]),
    "diag": (lambda lib, v, m: (lib.diag(v), v.diag(1), lib.diag(m, -1)), [((3,), "any"), ((3, 4), "any")]),
    "diag_embed diagflat": (lambda lib, x: (lib.diag_embed(x), x.diag_embed(-1, 0, 2), lib.diagflat(x)),
                            [((2, 3), "any")]),
    # picking by index, mask, position
    "index_select": (lambda lib, x: (x.index_select(1, _ids(lib, x, [2, 0, 2])),
                                     lib.index_select(x, 0, _ids(lib, x, [1]))), [((3, 4), "any")]),
    "index_add": (lambda lib, x, s: x.index_add(1, _ids(lib, x, [0, 3, 0]), s, alpha=2), [((2, 4), "any"),
                                                                                          ((2, 3), "any")]),
    "index_add counts": (_index_add_counts, [((5, 3), "any")]),
    "index_copy": (lambda lib, x, s: lib.index_copy(x, 0, _ids(lib, x, [2, 0]), s), [((3, 4), "any"),
                                                                                       ((2, 4), "any")]),
    "index_fill": (lambda lib, x: x.index_fill(1, _ids(lib, x, [1, 3]), -1.5), [((2, 4), "any")]),
    "index_add_ in place": (lambda lib, x, s: (x * 1).index_add_(0, _ids(lib, x, [1, 1]), s),
                            [((3, 2), "any"), ((2, 2), "any")]),
    "masked_select": (lambda lib, x: x.masked_select(x > 0), [((3, 4), "any")]),
    "masked_select broadcast": (lambda lib, x, y: lib.masked_select(x, y > 0), [((3, 4), "any"), ((4,), "any")]),
    "take": (lambda lib, x: x.take(_ids(lib, x, [[0, 5], [11, -1]])), [((3, 4), "any")]),
    "take_along_dim": (lambda lib, x: (lib.take_along_dim(x, x.argsort(dim=1), dim=1),
                                       x.take_along_dim(_ids(lib, x, [[1], [0], [3]]), 1)), [((3, 4), "distinct")]),
    "take_along_dim broadcast": (lambda lib, x: x.take_along_dim(_ids(lib, x, [[0, 2]]), dim=1), [((3, 4), "any")]),
    "nonzero argwhere": (lambda lib, x: (x.nonzero(), lib.argwhere(x), lib.nonzero(x, as_tuple=True)[1]),
                         [((3, 4), "ties")]),
    "pick by nonzero": (_nonzero_pick, [((3, 4), "any")]),
    "where one argument": (lambda lib, x: lib.where(x > 1), [((3, 4), "ties")]),
    # tests and comparisons
    "isnan isinf isfinite": (lambda lib, x: ((x.log()).isnan(), lib.isinf(1 / (x - x)), (x.log()).isfinite()),
                             [((3, 4), "ties")]),
    "isclose allclose equal": (lambda lib, x, y: (x.isclose(x + 1e-9), lib.isclose(x, y), x.allclose(x * (1 + 1e-7)),
                                                  lib.allclose(x, y), x.equal(x * 1), lib.equal(x, y)),
                               [((3, 4), "any"), ((3, 4), "any")]),
    "logical": (lambda lib, x: (lib.logical_and(x > 0, x < 1), (x > 0).logical_or(x < -1), lib.logical_not(x > 0),
                                lib.logical_xor(x > 0, x > 1)), [((3, 4), "any")]),
    "comparison aliases": (lambda lib, x, y: (lib.greater(x, y), x.less_equal(y), lib.not_equal(x, y)),
                           [((3, 4), "ties"), ((4,), "ties")]),
    "isin": (lambda lib, x: lib.isin(x, _ids(lib, x, [0, 2])), [((3, 4), "ties")]),
    # counting and searching
    "unique": (lambda lib, x: lib.unique(x.long(), return_inverse=True, return_counts=True), [((3, 4), "ties")]),
    "unique dim": (lambda lib, x: lib.unique(x.long(), dim=0), [((6, 2), "ties")]),
    "bincount": (lambda lib, x: (lib.bincount(x.long()), x.long().flatten().bincount(minlength=5)), [((6,), "ties")]),
    "bincount weights": (lambda lib, x, w: lib.bincount(x.long(), weights=w.detach()), [((6,), "ties"), ((6,), "any")]),
    "histc": (lambda lib, x: (lib.histc(x, bins=4, min=-1, max=1), x.histc(5)), [((20,), "any")]),
    "searchsorted bucketize": (lambda lib, x, v: (lib.searchsorted(x.sort().values, v),
                                                  lib.searchsorted(x.sort().values, v, right=True),
                                                  lib.bucketize(v, x.sort().values)),
                               [((6,), "distinct"), ((2, 3), "any")]),
    "histogram": (lambda lib, x: tuple(lib.histogram(x.detach(), bins=4))
                  + tuple(lib.histogram(x.detach(), 3, range=(-1.0, 1.0))), [((20,), "any")]),
    # small programs written by hand, as lessons write them
    "d2l linear regression by hand": (_linear_regression_by_hand, [((20, 2), "any"), ((20,), "any")]),
    "Adam training by hand": (_adam_training_by_hand, [((8, 3), "any"), ((8, 1), "any")]),
    # making and joining
    "cartesian_prod": (lambda lib, a, b: lib.cartesian_prod(a, b), [((2,), "any"), ((3,), "any")]),
    "meshgrid ij": (lambda lib, a, b: lib.meshgrid(a, b, indexing="ij"), [((3,), "any"), ((4,), "any")]),
    "meshgrid xy": (lambda lib, a, b, c: lib.meshgrid([a, b, c], indexing="xy"),
                    [((2,), "any"), ((3,), "any"), ((4,), "any")]),
    "broadcast_tensors": (lambda lib, a, b: lib.broadcast_tensors(a, b), [((3, 1), "any"), ((4,), "any")]),
    "hstack vstack": (lambda lib, a, b: (lib.hstack([a, b]), lib.vstack((a, b)), lib.hstack((a[0], b[1]))),
                      [((2, 3), "any"), ((2, 3), "any")]),
    "column_stack dstack row_stack": (lambda lib, a, b: (lib.column_stack([a, b]), lib.dstack([a, b]),
                                                         lib.row_stack([a, b])), [((3,), "any"), ((3,), "any")]),
    "atleast": (lambda lib, a, b, c: lib.atleast_2d(a, b) + lib.atleast_3d(a, b, c) + (lib.atleast_1d(a),),
                [((), "any"), ((3,), "any"), ((2, 3), "any")]),
    "tril_indices triu_indices": (lambda lib, x: (lib.tril_indices(3, 4, device=x.device),
                                                  lib.triu_indices(4, 3, 1, device=x.device),
                                                  lib.tril_indices(3, 3, -1, device=x.device)), [((1,), "any")]),
    "new tensors": (lambda lib, x: (x.new_zeros(2, 3), x.new_ones((2,)), x.new_full((2, 2), 3.5),
                                    x.new_tensor([1, 2]), x.new_empty(4).shape[0] * x), [((3,), "any")]),
    "finfo iinfo": (_finfo, [((2,), "any")]),
}
