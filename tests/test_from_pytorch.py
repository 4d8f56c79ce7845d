"""What PyTorch programs meet first: the names tinygrad_tf has under PyTorch's spelling (NumPy's argument names
for reductions, formatting a 0-d tensor, hand-written updates through .data), lazy submodules, and a clear
AttributeError — pointing at docs/from-pytorch.md — for every name it does not have."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_tf as torch
from tinygrad_tf.utils.data import RandomSampler

DOC = Path(__file__).resolve().parent.parent / "docs" / "from-pytorch.md"


def test_reductions_take_numpy_argument_names():
    x = torch.randn(3, 4)
    assert x.sum(1, keepdims=True).shape == (3, 1) and x.mean(axis=0).shape == (4,)
    np.testing.assert_allclose(x.max(axis=1, keepdims=True).numpy(), x.numpy().max(1, keepdims=True))
    assert torch.sum(x, axis=0).shape == (4,) and x.argmax(axis=1).shape == (3,)


def test_zero_d_tensors_format_as_numbers_and_nelement():
    x = torch.tensor([1.5, 2.25])
    assert f"{x.sum():.2f}" == "3.75" and f"{x[0]}" == "1.5" and x.nelement() == 2
    with pytest.raises(TypeError):
        f"{x:.2f}"                      # a 1-d tensor has no number format, as in PyTorch


def test_hand_written_update_through_data_keeps_an_array():
    w = torch.randn(3, 3, requires_grad=True)
    (w * w).sum().backward()
    before = w.data.copy()
    w.data += -0.1 * w.grad            # NumPy hands += with a Tensor on the right to Tensor.__radd__
    assert isinstance(w.data, np.ndarray) and w.is_leaf
    np.testing.assert_allclose(w.data, before - 0.2 * before, rtol=1e-6)


def test_submodules_load_on_first_use_and_missing_names_point_at_the_docs():
    assert torch.utils.data.DataLoader is not None and torch.nn.functional.relu is not None
    cases = [(lambda: torch.frobnicate, "torch.frobnicate"), (lambda: torch.randn(2).frobnicate, "torch.Tensor."),
             (lambda: torch.nn.Frobnicate, "torch.nn.Frobnicate"), (lambda: torch.nn.functional.frob, "functional"),
             (lambda: torch.nn.init.frob_, "torch.nn.init"), (lambda: torch.optim.Lion, "torch.optim.Lion"),
             (lambda: torch.utils.data.Frob, "torch.utils.data"), (lambda: torch.cuda.frob, "torch.cuda"),
             (lambda: torch.nn.Linear(2, 2).frobnicate, "torch.nn.Module.frobnicate")]
    for get, words in cases:
        with pytest.raises(AttributeError) as e:
            get()
        assert words in str(e.value) and "docs/from-pytorch.md" in str(e.value), str(e.value)
    assert not hasattr(torch, "frobnicate") and hasattr(torch.nn.functional, "scaled_dot_product_attention")


def test_an_endless_random_sampler_draws_lazily():
    sampler = RandomSampler(range(5), replacement=True, num_samples=int(1e10))      # makemore's "forever"
    it = iter(sampler)
    assert all(0 <= next(it) < 5 for _ in range(100)) and len(sampler) == int(1e10)


def test_every_name_the_guide_lists_exists():
    """docs/from-pytorch.md's tables name what is supported; each `torch.X.Y` there must resolve here."""
    names = re.findall(r"`(torch(?:\.[A-Za-z_][A-Za-z0-9_]*)+)", DOC.read_text(encoding="utf-8"))
    assert len(names) > 150
    missing = []
    for name in set(names):
        obj = torch
        for part in name.split(".")[1:]:
            if part == "Tensor":
                obj = torch.Tensor
                continue
            if not hasattr(obj, part):
                missing.append(name)
                break
            obj = getattr(obj, part)
    assert not missing, f"docs/from-pytorch.md lists names tinygrad_tf lacks: {sorted(missing)}"


def test_max_and_min_with_a_dim_answer_values_and_indices():
    x = torch.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    m = x.max(1, keepdim=True)
    assert m.shape == (2, 1) and m.values is m and m.indices.tolist() == [[1], [0]]   # values only, plus .indices
    assert torch.max(x, 0).indices.tolist() == [1, 0, 1] and x.min(dim=1).values.tolist() == [1.0, 0.0]
    with pytest.raises(AttributeError):
        x.sum(0).indices                                    # only max / min results answer them


def test_assignment_into_a_tensor_in_a_graph_is_recorded():
    x = torch.randn(3, 4, requires_grad=True)
    v = torch.tensor(3.0, requires_grad=True)
    y = x * 2
    y[0, 1] = 5.0                       # PyTorch records these; the gradient skips what was overwritten
    y[2, :2] = v
    y[[1, 1], [0, 3]] = torch.tensor([7.0, 8.0])
    y.sum().backward()
    assert x.grad.tolist() == [[2, 0, 2, 2], [0, 2, 2, 0], [0, 0, 2, 2]] and v.grad.item() == 2.0
    z = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)

    def put(a, b):
        out = a * 1
        out[0] = b
        return (out * out).sum()
    assert torch.gradcheck(put, z, b)
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w[0] = 1.0                       # a parameter changes only under no_grad
    with torch.no_grad():
        w[0] = 1.0
    assert w.tolist() == [1.0, 0.0]
