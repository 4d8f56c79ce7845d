"""Gradient-checking exercises: write an op's forward and backward, get told what is wrong.

    tinygrad-tf exercise list                  # square, sigmoid, tanh, softmax, ... attention
    tinygrad-tf exercise start softmax         # writes softmax.py with the class skeleton
    tinygrad-tf exercise check softmax softmax.py

From Python (a REPL, a notebook, the docs):

    from tinygrad_tf.exercises import check_file, check
    result = check_file("softmax", "softmax.py")    # print(result); bool(result); result.exit_code
    result = check("square", Square)                # a class defined right here

The reference solutions are the package's own ops (``Exercise.reference_name``): pass, then read them.
"""

from .catalog import EXERCISES, Arg, Case, Exercise, Mistake, UnknownExercise, get_exercise
from .check import BadFile, CaseResult, CheckResult, InputCheck, check, check_file, load_class

__all__ = ["EXERCISES", "Arg", "BadFile", "Case", "CaseResult", "CheckResult", "Exercise", "InputCheck", "Mistake",
           "UnknownExercise", "check", "check_file", "get_exercise", "load_class"]
