"""Write tests/fixtures/random_reference.json: what PyTorch's creation and random functions, devices and
grad modes give, for tests/test_random.py.

    python scripts/make_random_fixture.py        # needs torch==2.13.0 (the CPU build is enough)

Random streams cannot match PyTorch's numbers, so for each call this records what can match: the dtype,
shape and requires_grad of the result, or the kind of error it raises -- and the values where they do not
depend on the stream (linspace, logspace, full_like, a distribution with one possible outcome). Each call
is a Python expression in ``T``, evaluated with ``T = torch`` here and ``T = tinygrad_tf`` in the test.
Devices: str, repr, type and index of device objects and which compare equal. Grad modes: snippets that
enter and leave modes, recording is_grad_enabled / is_inference_mode_enabled along the way.
The tests never import torch; only this script does.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "random_reference.json"

# (expression, whether its values are stream-independent and recorded)
CALLS = [
    # sizes: the argument forms
    ("T.randn(2, 3)", False), ("T.randn((2, 3))", False), ("T.randn([2, 3])", False),
    ("T.randn(size=(2, 3))", False), ("T.randn(())", False), ("T.randn(0, 3)", False),
    ("T.randn(2, 3, dtype=T.float64)", False), ("T.randn(2, dtype=T.float16)", False),
    ("T.randn(2, 3, requires_grad=True)", False), ("T.randn(2, dtype=T.int64)", False),
    ("T.randn(2, generator=T.Generator().manual_seed(1))", False),
    ("T.rand(3)", False), ("T.rand(2, 2, dtype=T.float64)", False), ("T.rand(3, requires_grad=True)", False),
    ("T.rand(3, generator=T.Generator())", False), ("T.rand(2, dtype=T.int64)", False),
    ("T.zeros(size=(2, 3))", True), ("T.ones([2])", True), ("T.zeros(2, 3, dtype=T.int64)", True),
    # randint
    ("T.randint(5, (3,))", False), ("T.randint(2, 5, (3,))", False), ("T.randint(2, 5, size=(3,))", False),
    ("T.randint(low=2, high=5, size=(3,))", False), ("T.randint(high=5, size=(3,))", False),
    ("T.randint(5, size=(2, 2))", False), ("T.randint(5, (3,), dtype=T.float32)", False),
    ("T.randint(5, (3,), dtype=T.float32, requires_grad=True)", False), ("T.randint(3, 4, (4,))", True),
    ("T.randint(5, 5, (3,))", False), ("T.randint(5, 2, (3,))", False), ("T.randint(5, size=3)", False),
    ("T.randint(5, 3)", False), ("T.randint(5, (3,), dtype=T.bool)", False),
    ("T.randint(10, (2,), generator=T.Generator().manual_seed(0))", False), ("T.randint(5, ())", False),
    # randperm
    ("T.randperm(5)", False), ("T.randperm(5, dtype=T.float32)", False), ("T.randperm(0)", True),
    ("T.randperm(1)", True), ("T.randperm(-1)", False), ("T.randperm(4, generator=T.Generator())", False),
    ("T.randperm(5, dtype=T.float32, requires_grad=True)", False),
    # normal
    ("T.normal(T.zeros(3), T.ones(3))", False), ("T.normal(0., T.ones(3))", False),
    ("T.normal(T.zeros(3), 1.)", False), ("T.normal(T.zeros(3))", False), ("T.normal(0., 1., size=(2, 3))", False),
    ("T.normal(0, 1, (2, 3))", False), ("T.normal(T.zeros(2, 1), T.ones(3))", False),
    ("T.normal(T.zeros(3), T.ones(2))", False), ("T.normal(0., -1., size=(2,))", False),
    ("T.normal(T.zeros(3), -T.ones(3))", False), ("T.normal(0., 1.)", False),
    ("T.normal(T.zeros(3, dtype=T.float64), 1.)", False), ("T.normal(T.zeros(3, requires_grad=True), 1.)", False),
    ("T.normal(0., T.ones(3, requires_grad=True))", False),
    ("T.normal(0., 1., size=(2,), dtype=T.float64)", False), ("T.normal(T.zeros(3, dtype=T.int64), 1.)", False),
    ("T.normal(T.zeros(3), T.ones(3, dtype=T.float64))", False), ("T.normal(T.full((3,), 2.), 0.)", True),
    ("T.normal(2., 0., size=(2,))", True), ("T.normal(T.zeros(2), 1., generator=T.Generator())", False),
    # bernoulli
    ("T.bernoulli(T.full((3,), 0.5))", False), ("T.bernoulli(T.full((3,), 0.5, dtype=T.float64))", False),
    ("T.bernoulli(T.full((3,), 1.5))", False), ("T.bernoulli(T.full((3,), -0.5))", False),
    ("T.bernoulli(T.tensor([0.5, float('nan')]))", False), ("T.bernoulli(T.full((3,), 0.5), 0.3)", False),
    ("T.bernoulli(T.full((3,), 0.5), p=1.0)", True), ("T.bernoulli(T.ones(3, dtype=T.int64))", False),
    ("T.bernoulli(T.tensor([0., 1., 1., 0.]))", True), ("T.bernoulli(T.zeros(2, 2))", True),
    ("T.bernoulli(T.full((2,), 0.5), generator=T.Generator())", False),
    # multinomial
    ("T.multinomial(T.tensor([0.2, 0.8]), 1)", False),
    ("T.multinomial(T.tensor([[0.2, 0.8], [1., 0.]]), 1)", False), ("T.multinomial(T.tensor([0.2, 0.8]), 3)", False),
    ("T.multinomial(T.tensor([0.2, 0.8]), 3, replacement=True)", False),
    ("T.multinomial(T.tensor([0.2, 0.8]), 0)", False), ("T.multinomial(T.tensor([0.2, 0.8]), -1)", False),
    ("T.multinomial(T.tensor([0., 0.8, 0.]), 1)", True), ("T.multinomial(T.tensor([0., 0.8, 0.]), 4, True)", True),
    ("T.multinomial(T.tensor([[0., 0., 3.], [2., 0., 0.]]), 2, replacement=True)", True),
    ("T.multinomial(T.tensor([0., 0., 0.]), 1)", False), ("T.multinomial(T.tensor([0., 0., 0.]), 1, True)", False),
    ("T.multinomial(T.tensor([-0.1, 0.8]), 1)", False), ("T.multinomial(T.tensor([float('nan'), 0.8]), 1)", False),
    ("T.multinomial(T.tensor([float('inf'), 0.8]), 1)", False), ("T.multinomial(T.tensor(0.5), 1)", False),
    ("T.multinomial(T.ones(2, 2, 2), 1)", False), ("T.multinomial(T.tensor([1, 2]), 1)", False),
    ("T.multinomial(T.tensor([1., 2.], dtype=T.float16), 1)", False),
    ("T.multinomial(T.tensor([1., 2.], dtype=T.float64), 2)", False),
    ("T.multinomial(T.tensor([1., 2.], requires_grad=True), 1)", False), ("T.multinomial(T.ones(0), 1)", False),
    ("T.multinomial(T.ones(0, 3), 2)", False), ("T.multinomial(T.ones(2, 0), 1)", False),
    ("T.multinomial(T.tensor([1., 2.]), 1.5)", False), ("T.multinomial(T.tensor([1e-30, 1e-30]), 1)", False),
    ("T.multinomial(T.tensor([0., 0.8, 0.]), 2)", False),
    ("T.multinomial(T.ones(4), 2, generator=T.Generator().manual_seed(3))", False),
    # like
    ("T.randn_like(T.zeros(2, 3))", False), ("T.randn_like(T.zeros(2), dtype=T.float64)", False),
    ("T.rand_like(T.zeros(2, 3, dtype=T.float64))", False), ("T.rand_like(T.zeros(2, dtype=T.int64))", False),
    ("T.randn_like(T.zeros(2, dtype=T.int64))", False), ("T.randn_like(T.zeros(2), generator=T.Generator())", False),
    ("T.randint_like(T.zeros(2, 3), 5)", False), ("T.randint_like(T.zeros(2, 3), 2, 5)", False),
    ("T.randint_like(T.zeros(2, 3, dtype=T.int64), 5)", False), ("T.randint_like(T.zeros(2, 3), low=2, high=5)", False),
    ("T.randint_like(T.zeros(2, 3), high=5)", False), ("T.randint_like(T.zeros(3), 4, 5)", True),
    ("T.full_like(T.zeros(2, 3), 7)", True), ("T.full_like(T.zeros(2, 3, dtype=T.int64), 7.9)", True),
    ("T.full_like(T.zeros(2), 1, dtype=T.bool)", True), ("T.full_like(T.zeros(2), 1., requires_grad=True)", True),
    ("T.full_like(T.zeros(2, dtype=T.float64), -2.5)", True),
    # linspace / logspace
    ("T.linspace(0, 1, 5)", True), ("T.linspace(0, 10, 5)", True), ("T.linspace(-1, 1, 7)", True),
    ("T.linspace(0, 1, 1)", True), ("T.linspace(0, 1, 0)", True), ("T.linspace(0, 1, -1)", False),
    ("T.linspace(0, 10, 4, dtype=T.int64)", True), ("T.linspace(0, 10, 5, dtype=T.int32)", True),
    ("T.linspace(-7, 3, 6, dtype=T.int64)", True), ("T.linspace(0, 1, 5, requires_grad=True)", True),
    ("T.linspace(T.tensor(0.), T.tensor(1.), 3)", True), ("T.linspace(3.5, -2.25, 11)", True),
    ("T.linspace(0.1, 0.9, 100)", True), ("T.linspace(-1e3, 1e3, 33, dtype=T.float64)", True),
    ("T.linspace(0, 1, 9, dtype=T.float16)", True), ("T.linspace(1, 1, 4)", True), ("T.linspace(0, 1, 2.5)", False),
    ("T.logspace(0, 2, 3)", True), ("T.logspace(0, 2, 3, base=2)", True), ("T.logspace(0, 3, 4, dtype=T.int64)", True),
    ("T.logspace(-2, 2, 9, dtype=T.float64)", True), ("T.logspace(1, -1, 5, base=3.)", True),
]


def describe(value, exact):
    if isinstance(value, torch.Tensor):
        out = {"dtype": str(value.dtype).replace("torch.", ""), "shape": list(value.shape),
               "requires_grad": value.requires_grad}
        if exact:
            out["values"] = value.detach().tolist()
        return out
    return {"python": repr(value)}


def run_call(expr, exact):
    try:
        return describe(eval(expr, {"T": torch}), exact)  # noqa: S307  (our own fixed expressions)
    except Exception as e:  # noqa: BLE001
        builtin = next(c.__name__ for c in type(e).__mro__ if c.__module__ == "builtins")
        return {"error": builtin}


DEVICE_NAMES = ["cpu", "cuda", "cuda:0", "cuda:1", "cpu:0"]
DEVICE_ARGS = [("cuda", 1), ("cuda", 0), ("cpu", None)]
DEVICE_BAD = ["tpu", "cuda:x", "cuda:-1", "cuda:01", " cuda", "CUDA", "cuda:0:1"]

# grad-mode snippets: each appends (is_grad_enabled, is_inference_mode_enabled) to `seen` at marked points
MODES = {
    "inference": """
with T.inference_mode():
    mark()
mark()""",
    "inference_false_in_no_grad": """
with T.no_grad():
    with T.inference_mode(False):
        mark()
    mark()""",
    "inference_false_in_inference": """
with T.inference_mode():
    with T.inference_mode(False):
        mark()
    mark()""",
    "enable_grad_in_inference": """
with T.inference_mode():
    with T.enable_grad():
        mark()
    mark()""",
    "no_grad_in_inference": """
with T.inference_mode():
    with T.no_grad():
        mark()
    mark()""",
    "inference_decorator": """
@T.inference_mode
def f():
    mark()
f()
mark()""",
    "inference_decorator_call": """
@T.inference_mode()
def f():
    mark()
f()
mark()""",
    "inference_decorator_false": """
@T.inference_mode(mode=False)
def f():
    mark()
with T.no_grad():
    f()
    mark()""",
    "set_grad_call": """
T.set_grad_enabled(False)
mark()
T.set_grad_enabled(True)
mark()""",
    "set_grad_with": """
with T.set_grad_enabled(False):
    mark()
mark()
with T.no_grad():
    with T.set_grad_enabled(True):
        mark()
    mark()""",
    "set_grad_decorator": """
@T.set_grad_enabled(False)
def f():
    mark()
mark()
f()
mark()""",
    "set_grad_in_inference": """
with T.inference_mode():
    with T.set_grad_enabled(True):
        mark()
    mark()""",
    "record_in_inference": """
x = T.ones(2, requires_grad=True)
with T.inference_mode():
    y = x * 2
seen.append(y.requires_grad)""",
    "record_after_set_false": """
x = T.ones(2, requires_grad=True)
with T.set_grad_enabled(False):
    y = x * 2
z = x * 2
seen.append((y.requires_grad, z.requires_grad))""",
}


def run_mode(code):
    seen = []
    env = {"T": torch, "seen": seen,
           "mark": lambda: seen.append((torch.is_grad_enabled(), torch.is_inference_mode_enabled()))}
    exec(code, env)  # noqa: S102  (our own fixed snippets)
    torch.set_grad_enabled(True)
    return seen


def main():
    assert torch.__version__.startswith("2.13.0"), f"expected torch 2.13.0, got {torch.__version__}"
    devices = {}
    for name in DEVICE_NAMES:
        d = torch.device(name)
        devices[name] = {"str": str(d), "repr": repr(d), "type": d.type, "index": d.index}
    for name, index in DEVICE_ARGS:
        d = torch.device(name, index)
        devices[f"{name},{index}"] = {"str": str(d), "repr": repr(d), "type": d.type, "index": d.index}
    equal = {f"{a}=={b}": torch.device(a) == torch.device(b) for a in DEVICE_NAMES for b in DEVICE_NAMES}
    bad = {}
    for name in DEVICE_BAD:
        try:
            torch.device(name)
            bad[name] = None
        except Exception as e:  # noqa: BLE001
            bad[name] = type(e).__name__
    doc = {
        "torch_version": torch.__version__,
        "calls": {expr: run_call(expr, exact) for expr, exact in CALLS},
        "devices": devices, "device_equal": equal, "device_bad": bad,
        "modes": {name: run_mode(code) for name, code in MODES.items()},
        "modes_code": MODES,
    }
    OUT.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} ({len(CALLS)} calls, {len(MODES)} grad-mode snippets)")


if __name__ == "__main__":
    main()
