"""`exercise show NAME`: the statement and the forward's formula up front; the backward's formula (the answer)
and the hints only on request (--answer, --hint); the starter file gives neither away."""

from __future__ import annotations

import pytest

from tinygrad_tf.commands import main as tinygrad_tf_main
from tinygrad_tf.exercises import EXERCISES, get_exercise


def show(capsys, *argv) -> str:
    assert tinygrad_tf_main(["exercise", "show", *argv]) == 0
    return capsys.readouterr().out


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(autouse=True)
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")


def test_show_softmax_gives_the_forward_not_the_backward_and_no_hints(capsys):
    ex = get_exercise("softmax")
    out = flat(show(capsys, "softmax"))
    assert flat(ex.formula) in out and "m = max_j x_j" in out          # the forward: part of the statement
    assert "y * (grad - sum_j grad_j y_j)" not in out and "delta_ij" not in out
    for h in ex.hints:
        assert flat(h) not in out
    assert "--hint" in out and "--answer" in out


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_no_exercise_shows_its_answer_or_hints_unasked(ex, capsys):
    out = flat(show(capsys, ex.name))
    for line in ex.answer.splitlines():
        assert flat(line) not in out, line
    for h in ex.hints:
        assert flat(h) not in out, h
    template = flat(ex.template())
    assert flat(ex.formula) in template
    assert all(flat(line) not in template for line in ex.answer.splitlines())
    assert all(flat(h) not in template for h in ex.hints)


def test_hints_and_answer_on_request(capsys):
    ex = get_exercise("softmax")
    out = flat(show(capsys, "softmax", "--hint"))
    assert all(flat(h) in out for h in ex.hints) and "y * (grad - sum_j grad_j y_j)" not in out
    assert "starter file" not in out
    out = flat(show(capsys, "softmax", "--answer"))
    assert "dL/dx = y * (grad - sum_j grad_j y_j)" in out and flat(ex.hints[0]) not in out


def test_every_exercise_splits_statement_and_answer():
    for ex in EXERCISES:
        assert ex.formula.strip() and ex.answer.strip(), ex.name
        assert "dL/d" not in ex.formula and "dy/dx" not in ex.formula, ex.name   # no backward up front
        assert "dL/d" in ex.answer or "dy" in ex.answer, ex.name
