"""``tinygrad-tf show NAME`` and the lab's Code tab: each component's own math, never an inherited docstring, and
docstrings read as text (RST ``code`` marks rendered as code, not printed as backticks)."""

from __future__ import annotations

import inspect

from rich.console import Console

from tinygrad_tf.autograd import Function
from tinygrad_tf.lab.codeview import COMPONENTS, component_view


def render(view, width=100) -> str:
    console = Console(width=width, record=True, color_system=None, file=open("/dev/null", "w"))
    console.print(view)
    return console.export_text()


FUNCTION_DOC_START = inspect.getdoc(Function).splitlines()[0]      # "One differentiable op: ..."


def test_an_op_without_a_docstring_shows_its_own_math_not_functions_docstring():
    text = render(component_view("Add"))
    assert "y = a + b" in text and "∂L/∂a = g" in text
    assert FUNCTION_DOC_START not in text and "ctx.needs_input_grad" not in text
    for name in ("Mul", "Exp", "Tanh", "Sum", "Mean", "Reshape", "Cat"):
        text = render(component_view(name))
        assert FUNCTION_DOC_START not in text, name


def test_no_component_shows_a_docstring_it_inherited():
    for c in COMPONENTS:
        obj = c.obj()
        own = obj.__dict__.get("__doc__") if isinstance(obj, type) else obj.__doc__
        if not own:
            assert c.doc() == "", c.name                     # the catalogue's formulas are the whole math
        assert c.math and all(formula.strip() for _, formula in c.math), c.name


def test_rst_code_marks_are_rendered_as_code_text():
    for c in COMPONENTS:
        text = render(component_view(c, side_by_side=False), width=200)
        math = text.split("the code")[0]
        assert "``" not in math and ":class:`" not in math and ":func:`" not in math, c.name
    text = render(component_view("Function", side_by_side=False), width=200)
    assert "forward(ctx, *inputs)" in text and "ctx.xp" in text       # the code is still there, unmarked
