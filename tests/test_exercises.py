"""The gradient-checking exercises: every correct solution passes, the classic mistakes are caught and
named, a file that cannot be used gives exit code 2 with a one-line reason, and the command works.

The correct solutions below are test data: re-expressions of the real ops, written as a learner would.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest
from rich.console import Console

from tinygrad_tf.exercises import EXERCISES, check, check_file, get_exercise
from tinygrad_tf.commands import main as tinygrad_tf_main
from tinygrad_tf.commands.exercise import add_parsers


def main(argv):
    return tinygrad_tf_main(["exercise", *argv])

SOLUTIONS = {
    "square": '''
import tinygrad_tf as tg

class Square(tg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x * grad
''',
    "sigmoid": '''
import tinygrad_tf as tg

class Sigmoid(tg.Function):
    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        e = xp.exp(-xp.abs(x))
        y = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * y * (1 - y)
''',
    "tanh": '''
import tinygrad_tf as tg

class Tanh(tg.Function):
    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        e = xp.exp(-2 * xp.abs(x))
        y = xp.sign(x) * (1 - e) / (1 + e)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1 - y * y)
''',
    "softmax": '''
import tinygrad_tf as tg

class Softmax(tg.Function):
    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        e = xp.exp(x - x.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return y * (grad - (grad * y).sum(axis=-1, keepdims=True))
''',
    "log_softmax": '''
import tinygrad_tf as tg

class LogSoftmax(tg.Function):
    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        z = x - x.max(axis=-1, keepdims=True)
        y = z - xp.log(xp.exp(z).sum(axis=-1, keepdims=True))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad - ctx.xp.exp(y) * grad.sum(axis=-1, keepdims=True)
''',
    "layer_norm": '''
import tinygrad_tf as tg

class LayerNorm(tg.Function):
    @staticmethod
    def forward(ctx, x, weight, bias):
        xp = ctx.xp
        mu = x.mean(axis=-1, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
        rstd = 1 / xp.sqrt(var + 1e-5)
        xhat = (x - mu) * rstd
        ctx.save_for_backward(xhat, rstd, weight)
        return xhat * weight + bias

    @staticmethod
    def backward(ctx, grad):
        xhat, rstd, weight = ctx.saved_tensors
        gh = grad * weight
        dx = (gh - gh.mean(axis=-1, keepdims=True) - xhat * (gh * xhat).mean(axis=-1, keepdims=True)) * rstd
        return dx, grad * xhat, grad
''',
    "gelu": '''
import math

import tinygrad_tf as tg
from tinygrad_tf.backend import erf

class GELU(tg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 0.5 * (1 + erf(x / math.sqrt(2)))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        cdf = 0.5 * (1 + erf(x / math.sqrt(2)))
        pdf = ctx.xp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return grad * (cdf + x * pdf)
''',
    "cross_entropy": '''
import tinygrad_tf as tg

class CrossEntropy(tg.Function):
    @staticmethod
    def forward(ctx, logits, target):
        xp = ctx.xp
        n = logits.shape[0]
        z = logits - logits.max(axis=1, keepdims=True)
        logp = z - xp.log(xp.exp(z).sum(axis=1, keepdims=True))
        ctx.save_for_backward(logp, target)
        return -logp[xp.arange(n), target].mean()

    @staticmethod
    def backward(ctx, grad):
        logp, target = ctx.saved_tensors
        n = logp.shape[0]
        d = ctx.xp.exp(logp)
        d[ctx.xp.arange(n), target] -= 1
        return d * grad / n, None
''',
    "matmul": '''
import tinygrad_tf as tg

class MatMul(tg.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad @ b.T, a.T @ grad
''',
    "broadcast_add": '''
import tinygrad_tf as tg

def sum_to(g, shape):
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))            # the leading axes the input lacks
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True)                        # the axes where it had size 1

class BroadcastAdd(tg.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = a.shape, b.shape
        return a + b

    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.shapes
        return sum_to(grad, sa), sum_to(grad, sb)
''',
    "attention": '''
import math

import tinygrad_tf as tg

class Attention(tg.Function):
    @staticmethod
    def forward(ctx, q, k, v):
        xp = ctx.xp
        s = 1 / math.sqrt(q.shape[-1])
        scores = q @ k.T * s
        e = xp.exp(scores - scores.max(axis=-1, keepdims=True))
        p = e / e.sum(axis=-1, keepdims=True)
        ctx.save_for_backward(q, k, v, p)
        ctx.s = s
        return p @ v

    @staticmethod
    def backward(ctx, grad):
        q, k, v, p = ctx.saved_tensors
        dv = p.T @ grad
        dp = grad @ v.T
        ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
        return ds @ k * ctx.s, ds.T @ q * ctx.s, dv
''',
    "tanh_twice": '''
import tinygrad_tf as tg

class Tanh(tg.Function):
    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1 - y * y)
''',
}


def write(tmp_path, name, source):
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    return path


def swap(name, old, new):
    """The correct solution of ``name`` with one line changed into a mistake."""
    src = SOLUTIONS[name]
    assert old in src, f"{old!r} is not in the {name} solution"
    return src.replace(old, new)


def test_every_exercise_has_a_solution_here():
    assert [e.name for e in EXERCISES] == list(SOLUTIONS)


@pytest.mark.parametrize("name", list(SOLUTIONS))
def test_correct_solution_passes(name, tmp_path):
    result = check_file(name, write(tmp_path, name, SOLUTIONS[name]))
    assert result.exit_code == 0, result.describe()
    assert result and len(result.cases) == len(get_exercise(name).cases) >= 2
    assert "PASS" in result.describe() and result.diagnoses == []


# the real ops are the reference solutions: those written as a Function with the exercise's signature pass it
REAL_OPS = {"sigmoid": "tinygrad_tf.ops.Sigmoid", "tanh": "tinygrad_tf.ops.Tanh", "gelu": "tinygrad_tf.ops.GELU",
            "softmax": "tinygrad_tf.reduce_ops.Softmax", "log_softmax": "tinygrad_tf.reduce_ops.LogSoftmax",
            "layer_norm": "tinygrad_tf.nn_ops.LayerNorm", "cross_entropy": "tinygrad_tf.nn_ops.CrossEntropy",
            "matmul": "tinygrad_tf.ops.MatMul", "tanh_twice": "tinygrad_tf.ops.Tanh"}


@pytest.mark.parametrize("name", list(REAL_OPS))
def test_the_real_op_passes_its_exercise(name):
    ex = get_exercise(name)
    assert ex.reference_name == REAL_OPS[name]
    result = check(name, ex.reference_object())
    assert result.exit_code == 0, result.describe()


def test_the_engines_add_fails_broadcast_add_on_purpose():
    """ops.Add returns (g, g) and lets autograd._fit sum: broadcast_add asks the learner for that sum."""
    result = check("broadcast_add", get_exercise("broadcast_add").reference_object())
    assert result.exit_code == 1
    assert "sum over the broadcast axes" in result.describe()


MISTAKES = [
    # (exercise, old, new, words the diagnosis must contain)
    ("square", "return 2 * x * grad", "return x * grad", ["0.5 x numeric", "factor 2 is missing"]),
    ("square", "return 2 * x * grad", "return -2 * x * grad", ["-1 x numeric", "sign is flipped"]),
    ("square", "return 2 * x * grad", "return 2 * x", ["does not use grad"]),
    ("square", "return 2 * x * grad", "2 * x * grad", ["returned None", "forget the `return`"]),
    ("square", "return 2 * x * grad", "return 0 * x", ["all zeros"]),
    ("sigmoid", "y = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))", "y = xp.exp(x) / (1 + xp.exp(x))",
     ["nan", "overflows", "subtract the max"]),
    ("sigmoid", "ctx.save_for_backward(y)", "ctx.save_for_backward(x)", ["y the OUTPUT"]),
    ("tanh", "y = xp.sign(x) * (1 - e) / (1 + e)", "y = (xp.exp(x) - xp.exp(-x)) / (xp.exp(x) + xp.exp(-x))",
     ["nan", "overflows"]),
    ("softmax", "return y * (grad - (grad * y).sum(axis=-1, keepdims=True))", "return grad * y * (1 - y)",
     ["only the diagonal of the Jacobian", "sum term is missing"]),
    ("softmax", "return y * (grad - (grad * y).sum(axis=-1, keepdims=True))", "return grad * y",
     ["sum term is missing"]),
    ("softmax", "(grad * y).sum(axis=-1, keepdims=True)", "(grad * y).sum(axis=0, keepdims=True)",
     ["wrong axis"]),
    ("softmax", "e = xp.exp(x - x.max(axis=-1, keepdims=True))", "e = xp.exp(x)",
     ["nan", "subtract the max"]),
    ("softmax", "(grad * y).sum(axis=-1, keepdims=True)", "(grad * y).sum(axis=-1)",
     ["backward raised ValueError at line 16", "could not be broadcast"]),
    ("softmax", "e = xp.exp(x - x.max(axis=-1, keepdims=True))", "x -= x.max(axis=-1, keepdims=True); e = xp.exp(x)",
     ["changed its input x in place"]),
    ("log_softmax", "return grad - ctx.xp.exp(y) * grad.sum(axis=-1, keepdims=True)", "return grad",
     ["logsumexp(x) as a constant"]),
    ("log_softmax", "return grad - ctx.xp.exp(y) * grad.sum(axis=-1, keepdims=True)",
     "return grad * (1 - ctx.xp.exp(y))", ["only the diagonal"]),
    ("log_softmax", "z = x - x.max(axis=-1, keepdims=True)", "z = x", ["-inf", "subtract the max"]),
    ("layer_norm", "dx = (gh - gh.mean(axis=-1, keepdims=True) - xhat * (gh * xhat).mean(axis=-1, keepdims=True))",
     "dx = (gh)", ["mu and var as constants"]),
    ("layer_norm", "var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)", "var = x.var(axis=-1, ddof=1, keepdims=True)",
     ["forward", "unbiased variance", "fix it first"]),
    ("gelu", "return grad * (cdf + x * pdf)", "return grad * cdf", ["x phi(x)"]),
    ("gelu", "return x * 0.5 * (1 + erf(x / math.sqrt(2)))",
     "return 0.5 * x * (1 + ctx.xp.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))", ["tanh approximation"]),
    ("cross_entropy", "return d * grad / n, None", "return d * grad, None", ["4 x numeric", "number of rows"]),
    ("cross_entropy", "return d * grad / n, None", "return d / n, None", ["does not use grad"]),
    ("matmul", "return grad @ b.T, a.T @ grad", "return (grad @ b.T).T, a.T @ grad",
     ["shape (4, 3) but the input was (3, 4)", "transposed", "TRANSPOSE"]),
    ("matmul", "return grad @ b.T, a.T @ grad", "return grad @ b.T", ["no gradient for input 1 (b)"]),
    ("broadcast_add", "return sum_to(grad, sa), sum_to(grad, sb)", "return grad, grad",
     ["gradient for input 1 (b) has shape (3, 4) but the input was (4,): sum over the broadcast axes",
      "with keepdims=True (where b has size 1)"]),
    ("broadcast_add", "return sum_to(grad, sa), sum_to(grad, sb)",
     "return sum_to(grad, sa), (grad.sum(axis=1) if grad.shape == (4, 4) else sum_to(grad, sb))",
     ["summed over the wrong axis", "left-aligned"]),
    ("broadcast_add", "g = g.sum(axis=tuple(range(g.ndim - len(shape))))",
     "g = g.sum(axis=tuple(range(len(shape), g.ndim)))",       # drops the trailing axes: left-aligned
     ["case 1 of 4", "(b) has shape (3,) but the input was (4,): you summed the trailing axes",
      "shapes line up from the RIGHT", "sum over the leading axis 0"]),
    ("attention", "return ds @ k * ctx.s, ds.T @ q * ctx.s, dv", "return ds @ k, ds.T @ q, dv",
     ["1.732 x numeric", "sqrt(d)"]),
    ("attention", "ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))", "ds = p * dp",
     ["softmax's backward without the sum term"]),
    ("attention", "scores = q @ k.T * s", "scores = q @ k.T", ["the scale is missing", "fix it first"]),
    # tanh_twice: right first derivatives, a backward that is not differentiable the right way
    ("tanh_twice", "ctx.save_for_backward(y)", "ctx.save_for_backward(1 - y * y)",      # the slope, saved
     ["gradgrad  input 0 (x, shape (3, 4)): WRONG", "analytic 0", "ctx.saved_tensors[0] is an array computed in "
      "forward", "CONSTANT", "ctx.derived"], "(slope,) = ctx.saved_tensors\n        return grad * slope"),
    ("tanh_twice", "ctx.save_for_backward(y)", "ctx.slope = 1 - y * y",
     ["ctx.slope is an array computed in forward"], "return grad * ctx.slope"),
    ("tanh_twice", "return grad * (1 - y * y)", "import numpy; return grad * (1 - numpy.square(y))",
     ["does not change with x on the graph", "not np.tanh"]),
    ("tanh_twice", "y = ctx.xp.tanh(x)\n        ctx.save_for_backward(y)", "y = ctx.xp.tanh(x)\n        ctx.save_for_backward(x)",
     ["1 - x^2", "second derivatives are checked once"]),
]


@pytest.mark.parametrize("mistake", MISTAKES, ids=[f"{m[0]}-{i}" for i, m in enumerate(MISTAKES)])
def test_mistake_is_caught_and_named(mistake, tmp_path):
    name, old, new, words = mistake[:4]
    source = swap(name, old, new)
    if len(mistake) > 4:                  # a second change: the backward that goes with the changed forward
        source = source.replace("(y,) = ctx.saved_tensors\n        return grad * (1 - y * y)", mistake[4])
    result = check_file(name, write(tmp_path, name, source))
    report = result.describe()
    assert result.exit_code == 1, report
    assert "FAIL" in report
    for w in words:
        assert w in report, f"expected {w!r} in the report:\n{report}"


def test_failing_report_says_where_and_how_far(tmp_path):
    result = check_file("square", write(tmp_path, "square", swap("square", "return 2 * x * grad", "return x * grad")))
    g = result.cases[0].grads[0]
    assert not g.ok and g.index == 0 and g.name == "x" and len(g.worst_element) == 2
    assert g.analytic == pytest.approx(g.numeric / 2, rel=1e-6)
    line = [ln for ln in result.describe().splitlines() if "WRONG" in ln][0]
    assert f"at element {g.worst_element}" in line and "analytic" in line and "numeric" in line and "off by" in line


def test_repeated_diagnoses_are_given_once(tmp_path):
    report = check_file("square", write(tmp_path, "square", swap("square", "return 2 * x * grad",
                                                                 "return x * grad"))).describe()
    assert report.count("factor 2 is missing") == 1 and "the same as in case 1" in report


@pytest.mark.parametrize("source, words", [
    (swap("square", "return x * x", "return x * x)"), ["square.py:8: syntax error", "unmatched"]),
    (swap("square", "class Square", "class Sqr"),
     ["has no class Square", "it defines Sqr", "class Square(tg.Function)"]),
    (SOLUTIONS["square"] + "\nundefined_name(1)\n", ["square.py:15: NameError", "undefined_name"]),
    ("Square = 3\n", ["is not a tg.Function subclass"]),
])
def test_unusable_file_is_exit_code_2(source, words, tmp_path):
    result = check_file("square", write(tmp_path, "square", source))
    assert result.exit_code == 2 and result.cases == []
    assert "\n" not in result.error
    for w in words:
        assert w in result.error, result.error


def test_missing_file_and_unknown_exercise(tmp_path):
    result = check_file("square", tmp_path / "nope.py")
    assert result.exit_code == 2 and "no such file" in result.error
    with pytest.raises(KeyError, match="did you mean softmax"):
        get_exercise("sofmax")


@pytest.mark.parametrize("ex", EXERCISES, ids=[e.name for e in EXERCISES])
def test_starter_template_loads_and_says_not_written_yet(ex, tmp_path):
    path = write(tmp_path, ex.name, ex.template())
    result = check_file(ex.name, path)
    assert result.exit_code == 1 and len(result.cases) == 1           # stops after the first case
    assert "forward is not written yet" in result.describe()
    assert f"class {ex.class_name}(tg.Function)" in ex.template() and ex.formula.splitlines()[0] in ex.template()


def test_report_is_a_rich_renderable(tmp_path):
    result = check_file("softmax", write(tmp_path, "softmax", SOLUTIONS["softmax"]))
    console = Console(record=True, width=120)
    console.print(result)
    text = console.export_text()
    assert "case 3 of 3" in text and "PASS" in text and "reduce_ops.py:" in text


def test_check_a_class_from_the_repl():
    namespace = {}
    exec(SOLUTIONS["matmul"], namespace)  # noqa: S102
    assert check("matmul", namespace["MatMul"]).exit_code == 0
    assert check("matmul", int).exit_code == 2


# ---------------------------------------------------------------- the command
def test_commands_in_process(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["list"]) == 0
    assert "broadcast_add" in capsys.readouterr().out
    assert main(["show", "layer_norm"]) == 0
    out = capsys.readouterr().out
    assert "class LayerNorm(tg.Function)" in out and "biased" in out.lower()
    assert main(["start", "softmax"]) == 0
    assert (tmp_path / "softmax.py").read_text() == get_exercise("softmax").template()
    capsys.readouterr()
    (tmp_path / "softmax.py").write_text("# my work\n")
    assert main(["start", "softmax"]) == 2                          # never overwrite without --force
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "softmax.py").read_text() == "# my work\n"
    assert main(["start", "softmax", "--force"]) == 0
    assert main(["start", "gelu", "--out", "sub/dir/g.py"]) == 0
    assert (tmp_path / "sub/dir/g.py").exists() and not list((tmp_path / "sub/dir").glob(".*tmp"))
    capsys.readouterr()
    assert main(["show", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no exercise called 'nope'") and err.count("\n") == 1


def test_add_parsers_wires_into_a_cli():
    parser = argparse.ArgumentParser(prog="tinygrad-tf")
    sub = parser.add_subparsers(dest="command")
    add_parsers(sub)
    args = parser.parse_args(["exercise", "check", "square", "square.py"])
    assert (args.name, args.file, args.seed) == ("square", "square.py", 0) and callable(args.fn)
    assert callable(parser.parse_args(["exercise"]).fn)              # prints the exercise help


def run(*args, cwd):
    env = {**os.environ, "COLUMNS": "200", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "tinygrad_tf", "exercise", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_cli_exit_codes(tmp_path):
    write(tmp_path, "good", SOLUTIONS["square"])
    write(tmp_path, "bad", swap("square", "return 2 * x * grad", "return x * grad"))
    write(tmp_path, "broken", swap("square", "return x * x", "return x * x)"))
    r = run("check", "square", "good.py", cwd=tmp_path)
    assert r.returncode == 0 and "PASS" in r.stdout, r.stdout + r.stderr
    r = run("check", "square", "bad.py", cwd=tmp_path)
    assert r.returncode == 1 and "factor 2 is missing" in r.stdout, r.stdout + r.stderr
    r = run("check", "square", "broken.py", cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [r.stderr.strip()] and "broken.py:8: syntax error" in r.stderr
    r = run("check", "square", "missing.py", cwd=tmp_path)
    assert r.returncode == 2 and "no such file" in r.stderr


def test_tinygrad_tf_command_has_exercise(capsys):
    """The commands package registers the exercise commands."""
    from tinygrad_tf import commands
    parser = commands.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert "exercise" in sub.choices, "commands does not register `exercise` (commands.exercise.add_parsers(sub))"
    assert commands.main(["exercise", "list"]) == 0
    assert "attention" in capsys.readouterr().out


def test_docs_describe_every_exercise_in_order():
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parent.parent / "docs" / "exercises.md").read_text(encoding="utf-8")
    assert re.findall(r"^### \d+\. `(\w+)`", text, re.M) == [e.name for e in EXERCISES]
