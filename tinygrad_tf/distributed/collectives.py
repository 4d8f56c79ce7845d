"""Collectives on Tensors, as ``torch.distributed``: each one is called by every process of the group, in the
same order, and changes tensors in place.

    all_reduce(t)                  every rank: t = t_0 + t_1 + ... + t_{N-1}     (op=ReduceOp.AVG: divided by N)
    broadcast(t, src=0)            every rank: t = rank 0's t
    all_gather(out_list, t)        every rank: out_list[r] = rank r's t
    barrier()                      wait until every rank is here
    broadcast_object_list(objs)    any picklable objects, from rank ``src``
    all_gather_object(out, obj)    every rank's object, in rank order

``async_op=True`` returns a ``Work`` whose ``wait()`` finishes the collective (so one can be overlapped with
other work); otherwise the call returns when it is done. Tensors on "cuda" go through NCCL in GPU memory with
the nccl backend; with the mpi backend they are copied to the host and back.
"""

from __future__ import annotations

import pickle

import numpy as np

from .. import backend
from ..tensor import Tensor
from .backends import OPS, DistError
from .process_group import _group

__all__ = ["ReduceOp", "all_reduce", "broadcast", "all_gather", "barrier", "broadcast_object_list",
           "all_gather_object", "array_all_reduce"]


class ReduceOp:
    """How ``all_reduce`` combines the ranks' tensors (PyTorch's ``ReduceOp``): SUM, PRODUCT, MIN, MAX, AVG."""
    SUM = "sum"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    AVG = "avg"


def _tensor(t, what):
    if not isinstance(t, Tensor):
        raise TypeError(f"{what} takes a Tensor, got {type(t).__name__}")
    return t


def _finish(work, async_op):
    if async_op:
        return work
    work.wait()
    return None


def _staged(g, arr, start):
    """Run ``start(buffer)`` on a contiguous buffer the backend can use (the host copy of a GPU array for MPI;
    a contiguous copy of a strided view), copying the result back into ``arr`` when the work is done."""
    host = g.name == "mpi" and not isinstance(arr, np.ndarray)
    buf = backend.to_numpy(arr).copy() if host else arr
    if not host and not buf.flags.c_contiguous:
        buf = backend.get_array_module(arr).ascontiguousarray(arr)
    work = start(buf)
    if buf is not arr:
        then = work._then

        def copy_back():
            if then is not None:
                then()
            arr[...] = backend.to_device(buf, backend.device_of(arr)) if host else buf
        work._then = copy_back
    return work


def array_all_reduce(arr, op: str = ReduceOp.SUM):
    """``all_reduce`` of a backend array (NumPy or CuPy) in place, started; returns the Work."""
    g = _group()
    if op not in OPS:
        raise DistError(f"all_reduce: unknown op {op!r}; use a ReduceOp (SUM, PRODUCT, MIN, MAX, AVG)")
    if op == ReduceOp.AVG and np.dtype(arr.dtype).kind != "f":
        raise DistError(f"all_reduce with ReduceOp.AVG needs a floating-point tensor, got {arr.dtype}")
    if np.dtype(arr.dtype) == np.bool_:
        raise DistError("all_reduce takes numbers, not bool tensors (convert with .int())")
    return _staged(g, arr, lambda buf: g.allreduce(buf, op))


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):  # noqa: A002
    """Combine ``tensor`` across all processes, in place: afterwards every rank holds op(every rank's tensor)."""
    _tensor(tensor, "all_reduce")
    return _finish(array_all_reduce(tensor.data, op), async_op)


def broadcast(tensor, src=0, group=None, async_op=False):  # noqa: A002
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every rank, in place."""
    g = _group()
    _tensor(tensor, "broadcast")
    if not 0 <= src < g.size:
        raise DistError(f"broadcast: src={src} is not a rank of this group (0..{g.size - 1})")
    return _finish(_staged(g, tensor.data, lambda buf: g.broadcast(buf, src)), async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):  # noqa: A002
    """``tensor_list[r]`` = rank r's ``tensor``, on every rank (the list holds world_size tensors shaped like
    ``tensor``, which are written in place)."""
    g = _group()
    _tensor(tensor, "all_gather")
    if len(tensor_list) != g.size:
        raise DistError(f"all_gather: tensor_list has {len(tensor_list)} tensors; the group has {g.size} ranks")
    for i, out in enumerate(tensor_list):
        _tensor(out, f"all_gather's tensor_list[{i}]")
        if out.shape != tensor.shape or out.dtype != tensor.dtype:
            raise DistError(f"all_gather: tensor_list[{i}] is {out.shape} {out.dtype}; the tensor is "
                            f"{tensor.shape} {tensor.dtype}")
    xp = backend.get_array_module(tensor.data)
    host = g.name == "mpi" and xp is not np
    send = np.ascontiguousarray(backend.to_numpy(tensor.data)) if host else xp.ascontiguousarray(tensor.data)
    recv = (np if host else xp).empty((g.size,) + tuple(send.shape), dtype=send.dtype)
    work = g.allgather(send, recv)

    def scatter_out():
        for r, out in enumerate(tensor_list):
            out.data[...] = backend.to_device(recv[r], tensor.device.type) if host else recv[r]
    work._then = scatter_out
    return _finish(work, async_op)


def barrier(group=None, async_op=False, device_ids=None):  # noqa: A002
    """Return when every process has called ``barrier``."""
    return _finish(_group().barrier(), async_op)


def _byte_device(g):
    return "cuda" if g.name == "nccl" else "cpu"


def broadcast_object_list(object_list, src=0, group=None, device=None):  # noqa: A002
    """Replace ``object_list``'s items on every rank with rank ``src``'s (any picklable objects), in place.
    Pickled on ``src`` and broadcast as bytes: only ever unpickle objects from processes you trust."""
    g = _group()
    xp = backend.xp_for(_byte_device(g))
    payload = pickle.dumps(list(object_list)) if g.rank == src else b""
    n = xp.asarray(np.array([len(payload)], dtype=np.int64))
    g.broadcast(n, src).wait()
    data = xp.asarray(np.frombuffer(payload, dtype=np.uint8)) if g.rank == src else \
        xp.empty(int(backend.to_numpy(n)[0]), dtype=np.uint8)
    g.broadcast(data, src).wait()
    if g.rank != src:
        object_list[:] = pickle.loads(backend.to_numpy(data).tobytes())


def all_gather_object(object_list, obj, group=None):  # noqa: A002
    """``object_list[r]`` = rank r's ``obj`` (picklable), on every rank."""
    g = _group()
    if len(object_list) != g.size:
        raise DistError(f"all_gather_object: object_list has {len(object_list)} items; the group has {g.size} ranks")
    xp = backend.xp_for(_byte_device(g))
    payload = np.frombuffer(pickle.dumps(obj), dtype=np.uint8)
    sizes = xp.empty(g.size, dtype=np.int64)
    g.allgather(xp.asarray(np.array([payload.size], dtype=np.int64)), sizes).wait()
    sizes = backend.to_numpy(sizes)
    send = np.zeros(int(sizes.max()), dtype=np.uint8)
    send[:payload.size] = payload
    recv = xp.empty((g.size, send.size), dtype=np.uint8)
    g.allgather(xp.asarray(send), recv).wait()
    recv = backend.to_numpy(recv)
    object_list[:] = [pickle.loads(recv[r, :sizes[r]].tobytes()) for r in range(g.size)]

