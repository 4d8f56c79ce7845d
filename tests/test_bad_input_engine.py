"""Bad input to the engine itself: a changed saved array, dims out of range, shapes that do not multiply.

Each error names the op, the shapes and what was expected -- never an IndexError from inside a list, never a
silently wrong gradient."""

import numpy as np
import pytest

import tinygrad_tf as tg


def test_backward_refuses_an_input_changed_in_place_after_the_forward():
    x = tg.ones(3, requires_grad=True)
    w = tg.ones(3)
    y = (x * w).sum()
    w += 10                            # Mul saved w; the gradient for x is w as the forward saw it (all 1)
    with pytest.raises(RuntimeError, match=r"input 1 of Mul .*\(3,\).*changed by an in-place operation"):
        y.backward()
    assert x.grad is None              # no wrong gradient was left behind


@pytest.mark.parametrize("change", [
    lambda y: y.__setitem__(0, 5.0),
    lambda y: y.fill_(2.0),
    lambda y: y.mul_(3.0),
])
def test_an_output_that_a_backward_needs_changed_under_no_grad_is_refused(change):
    x = tg.ones(3, requires_grad=True)
    y = x.exp()                        # Exp's backward is g * y: it saved its output
    z = y.sum()
    with tg.no_grad():
        change(y)
    with pytest.raises(RuntimeError, match="the output of Exp"):
        z.backward()


def test_a_write_into_a_view_reaches_the_base_it_shares_memory_with():
    x = tg.ones(3, requires_grad=True)
    w = tg.ones(2, 3)
    y = (x * w[0]).sum()
    w[0].fill_(4.0)                    # the view's array is w's memory: the version is shared, as PyTorch's
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()


def test_changes_before_the_forward_or_after_backward_are_fine():
    x = tg.ones(3, requires_grad=True)
    w = tg.ones(3)
    w += 1
    y = (x * w).sum()
    y.backward(retain_graph=False)
    w += 1
    np.testing.assert_array_equal(x.grad.numpy(), [2, 2, 2])
    z = (x * w).sum()                  # a new forward sees the new version
    x.grad = None
    z.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3, 3, 3])


def test_create_graph_backward_checks_too():
    x = tg.ones(3, requires_grad=True)
    w = tg.ones(3)
    y = (x * w).sum()
    w[1] = 7.0
    with pytest.raises(RuntimeError, match="input 1 of Mul"):
        tg.autograd.grad(y, x, create_graph=True)


@pytest.mark.parametrize("call, op", [
    (lambda a: a.transpose(0, 4), "transpose"),
    (lambda a: a.permute(0, 3), "permute"),
    (lambda a: a.flatten(0, 4), "flatten"),
    (lambda a: a.unflatten(3, (1, 3)), "unflatten"),
])
def test_dims_out_of_range_name_the_op_and_the_dims(call, op):
    a = tg.ones(2, 3)
    with pytest.raises(IndexError, match=rf"{op}: dim \d is out of range for a tensor with 2 dimensions"):
        call(a)


def test_permute_refuses_a_repeated_or_missing_axis():
    a = tg.ones(2, 3, 4)
    with pytest.raises(ValueError, match=r"permute: dims \(0, 0, 1\) repeat an axis"):
        a.permute(0, 0, 1)
    with pytest.raises(ValueError, match="name 2 axes"):
        a.permute(0, 1)


@pytest.mark.parametrize("a, b, message", [
    ((2, 3), (4, 5), r"\(2, 3\) @ \(4, 5\): the inner sizes 3 and 4 differ"),
    ((3,), (4,), r"\(3,\) @ \(4,\): the inner sizes 3 and 4 differ"),
    ((5, 2, 3), (4, 3, 2), r"the batch dims \(5,\) and \(4,\)"),
    ((2, 3), (), "both operands need at least 1 dimension"),
])
def test_matmul_shapes_that_do_not_fit_say_which_sizes_differ(a, b, message):
    with pytest.raises(tg.autograd.OpError, match=message):
        tg.ones(*a) @ tg.ones(*b)
    with pytest.raises(RuntimeError, match="MatMul"):
        tg.matmul(tg.ones(*a), tg.ones(*b))


def test_graph_nodes_remember_inputs_that_need_no_gradient():
    x = tg.ones(2, 3)
    w = tg.ones(3, 4, requires_grad=True)
    y = x @ w
    assert y.grad_fn.next[0] is None and y.grad_fn.in_meta[0] == ((2, 3), np.dtype("float32"))
    assert y.grad_fn.in_refs[0]() is x          # weakly: the graph does not keep x alive
    del x
    import gc
    gc.collect()
    assert y.grad_fn.in_refs[0]() is None
