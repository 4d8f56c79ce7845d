"""``graph --expr``: a small arithmetic language over tensors, read with ``ast`` and evaluated by walking the tree.

    (a * b + c).tanh()          exp(x) / (1 + exp(x))          (w @ x).relu().sum(dim=0)

What an expression may hold: names (its inputs, made into tensors), numbers (and True / False / None as
arguments), ``+ - * / ** @`` and unary ``-`` / ``+``, calls of the functions in ``FUNCTIONS`` (``exp(x)``, or
``tg.exp(x)``), calls of the tensor methods in ``METHODS`` on a tensor (``x.sum(dim=0)``), ``x.T``, and tuples or
lists of these as arguments. Nothing else: no other attribute, no subscript, no string, no comprehension. The
expression is never handed to ``eval`` (whose "sandbox" a chain of attributes such as ``tg.fileio.os`` escapes),
so a drawing command cannot run anything but tensor arithmetic.
"""

from __future__ import annotations

import ast
import math
import numbers
import operator

from ..tensor import Tensor

__all__ = ["ExprError", "FUNCTIONS", "METHODS", "expr_names", "evaluate"]

FUNCTIONS = ("exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "sin", "cos", "maximum", "minimum", "softmax",
             "log_softmax", "sum", "mean", "where", "clamp", "pow")
METHODS = ("exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "sin", "cos", "clamp", "pow", "maximum",
           "minimum", "sum", "mean", "max", "min", "var", "std", "logsumexp", "softmax", "log_softmax", "argmax",
           "reshape", "view", "transpose", "permute", "expand", "squeeze", "unsqueeze", "flatten", "square", "neg",
           "gelu", "silu", "cumsum")
PROPERTIES = ("T",)
MAX_ELEMENTS = 10_000_000          # a drawing of a graph: no tensor bigger than this (x.expand(10**9, 10**9))

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow, ast.MatMult: operator.matmul}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_SYMBOL = {ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&",
           ast.BitXor: "^", ast.Invert: "~", ast.Not: "not"}


class ExprError(ValueError):
    """An expression that is not in the language, or whose evaluation failed; the message is one line."""


def _what(node) -> str:
    op = getattr(node, "op", None)
    if op is not None and type(op) in _SYMBOL:
        return f"the operator {_SYMBOL[type(op)]}"
    if isinstance(node, ast.Attribute):
        return f"the attribute .{node.attr}"
    if isinstance(node, ast.Constant):
        return f"the constant {node.value!r}"
    return {ast.Subscript: "indexing [...]", ast.Compare: "a comparison", ast.BoolOp: "and / or",
            ast.Lambda: "lambda", ast.IfExp: "if / else", ast.Dict: "a dict", ast.Set: "a set",
            ast.JoinedStr: "an f-string", ast.Starred: "*args", ast.NamedExpr: ":="}.get(
        type(node), type(node).__name__)


def _refuse(node):
    raise ExprError(f"--expr may use names, numbers, + - * / ** @, the functions {', '.join(FUNCTIONS)} and tensor "
                    f"methods like x.tanh() or x.sum(dim=0); found {_what(node)}")


def _function_name(func) -> str | None:
    """``exp`` for ``exp(...)`` and ``tg.exp(...)``; None for a method call."""
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "tg":
        return func.attr
    return None


def expr_names(tree) -> list[str]:
    """Check that ``tree`` (``ast.parse(..., mode="eval")``) is in the language; returns its input names."""
    names: set[str] = set()

    def visit(node, callee=False):
        if isinstance(node, ast.Expression):
            return visit(node.body)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or node.value is None or \
                    isinstance(node.value, (int, float)) and not isinstance(node.value, complex):
                return
            _refuse(node)
        if isinstance(node, ast.Name):
            if node.id == "tg" or node.id in FUNCTIONS and not callee:
                raise ExprError(f"--expr: {node.id} is a function; call it, e.g. {node.id}(x)" if node.id != "tg"
                                else "--expr: tg is only for calls like tg.exp(x)")
            names.add(node.id)
            return
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return visit(node.left), visit(node.right)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return visit(node.operand)
        if isinstance(node, (ast.Tuple, ast.List)):
            return [visit(e) for e in node.elts]
        if isinstance(node, ast.Attribute) and node.attr in PROPERTIES:
            return visit(node.value)
        if isinstance(node, ast.Call):
            fn = _function_name(node.func)
            if fn is not None:
                if fn not in FUNCTIONS:
                    raise ExprError(f"unknown function {fn} in --expr; available: {', '.join(FUNCTIONS)} and tensor "
                                    "methods like x.tanh()")
            elif isinstance(node.func, ast.Attribute):
                if node.func.attr not in METHODS:
                    raise ExprError(f"--expr: .{node.func.attr}() is not one of the tensor methods it may call "
                                    f"({', '.join(METHODS)})")
                visit(node.func.value)
            else:
                _refuse(node.func)
            for a in node.args:
                if isinstance(a, ast.Starred):
                    _refuse(a)
                visit(a)
            for k in node.keywords:
                if k.arg is None:
                    raise ExprError("--expr: **kwargs are not allowed")
                visit(k.value)
            return
        _refuse(node)

    visit(tree)
    return sorted(names)


def _check_size(value):
    if isinstance(value, Tensor) and value.numel() > MAX_ELEMENTS:
        raise ExprError(f"--expr makes a tensor of shape {tuple(value.shape)} ({value.numel():,} elements): too big "
                        f"to draw (at most {MAX_ELEMENTS:,})")
    return value


def _operand(value, node):
    if isinstance(value, Tensor) or isinstance(value, numbers.Real) and not isinstance(value, bool):
        return value
    raise ExprError(f"--expr: {ast.unparse(node)} is not a tensor or a number, so it cannot be an operand")


def evaluate(tree, leaves: dict, namespace, seen=None) -> object:
    """The value of ``tree`` (already checked by ``expr_names``) with ``leaves`` for its names; functions come
    from ``namespace`` (the ``tinygrad_tf`` module). ``seen(value, node)`` is called with the value of every
    operation and call (a drawing names the intermediates by their source). Errors of the tensor library become
    ExprError."""
    def ev(node):
        value = _ev(node)
        if seen is not None and isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Call)):
            seen(value, node)
        return value

    def _ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return leaves[node.id]
        if isinstance(node, ast.BinOp):
            a, b = _operand(ev(node.left), node.left), _operand(ev(node.right), node.right)
            if not isinstance(a, Tensor) and not isinstance(b, Tensor):
                a, b = float(a), float(b)               # 9 ** 9 ** 9 on Python ints would run for ever
                try:
                    result = _BINARY[type(node.op)](a, b)
                except (OverflowError, ZeroDivisionError) as e:
                    raise ExprError(f"--expr: {ast.unparse(node)} cannot be computed ({e})") from None
            else:
                result = _BINARY[type(node.op)](a, b)
            if isinstance(result, complex) or isinstance(result, float) and not math.isfinite(result):
                raise ExprError(f"--expr: {ast.unparse(node)} is {result} (not a finite real number)")
            return _check_size(result)
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](_operand(ev(node.operand), node.operand))
        if isinstance(node, ast.Tuple):
            return tuple(ev(e) for e in node.elts)
        if isinstance(node, ast.List):
            return [ev(e) for e in node.elts]
        if isinstance(node, ast.Attribute):             # x.T
            obj = ev(node.value)
            if not isinstance(obj, Tensor):
                raise ExprError(f"--expr: .{node.attr} needs a tensor, and {ast.unparse(node.value)} is not one")
            return getattr(obj, node.attr)
        if isinstance(node, ast.Call):
            args = [ev(a) for a in node.args]
            kwargs = {k.arg: ev(k.value) for k in node.keywords}
            fn = _function_name(node.func)
            if fn is not None:
                return _check_size(getattr(namespace, fn)(*args, **kwargs))
            obj = ev(node.func.value)
            if not isinstance(obj, Tensor):
                raise ExprError(f"--expr: .{node.func.attr}() needs a tensor, and {ast.unparse(node.func.value)} "
                                "is not one")
            return _check_size(getattr(obj, node.func.attr)(*args, **kwargs))
        _refuse(node)

    try:
        return ev(tree)
    except ExprError:
        raise
    except RecursionError:
        raise ExprError("--expr is nested too deeply") from None
    except Exception as e:  # noqa: BLE001  (the user's expression: any error is theirs to fix)
        raise ExprError(f"--expr failed: {type(e).__name__}: {' '.join(str(e).split())}") from None
