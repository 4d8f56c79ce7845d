"""Checks shared by the tests that replay PyTorch's recorded cases (tests/test_torch_ops.py,
tests/test_torch_tail.py): the "<case>|grad<i>" and "<case>|..." keys of their fixtures."""

from __future__ import annotations

import numpy as np


def fixture_case_names(ref):
    """The cases a fixture holds: the "<case>" of its "<case>|..." keys."""
    return {k.split("|")[0] for k in ref.files if "|" in k}


def check_input_grads(ref, name, loss, inputs, rtol, atol):
    """loss.backward(), then each input's gradient against PyTorch's "<name>|grad<i>" (zero or none where
    PyTorch has none)."""
    loss.backward()
    for i, x in enumerate(inputs):
        key = f"{name}|grad{i}"
        if key in ref:
            assert x.grad is not None, f"{name}: no gradient for input {i}; PyTorch has one"
            np.testing.assert_allclose(x.grad.numpy(), ref[key], rtol=rtol, atol=atol, err_msg=f"{name}, grad {i}")
        else:
            assert x.grad is None or not x.grad.numpy().any()
