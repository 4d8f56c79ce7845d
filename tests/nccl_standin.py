"""A stand-in for CuPy's ``cupy.cuda.nccl`` on top of tests/cupy_standin.py, so that tinygrad_tf.distributed's
nccl backend runs where there is no GPU.

It keeps NCCL's calling convention — a communicator made from a 128-byte unique id, collectives that take raw
device pointers, element counts, NCCL datatype and op codes and a stream — and does the collective on the host
memory those pointers address: through MPI (mpi4py) when the processes were started by mpirun, by itself in a
single process. So a wrong pointer, count, datatype or op in the backend gives a wrong result here too.
What it cannot check: NCCL, CUDA streams, GPU memory.

    import cupy_standin, nccl_standin
    with cupy_standin.installed(), nccl_standin.installed(devices=2):
        dist.init_process_group("nccl")
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import types

import numpy as np

NCCL_INT8, NCCL_UINT8, NCCL_INT32, NCCL_UINT32, NCCL_INT64, NCCL_UINT64 = 0, 1, 2, 3, 4, 5
NCCL_FLOAT16, NCCL_FLOAT32, NCCL_FLOAT64 = 6, 7, 8
NCCL_SUM, NCCL_PROD, NCCL_MAX, NCCL_MIN, NCCL_AVG = 0, 1, 2, 3, 4
DTYPES = {NCCL_INT8: np.int8, NCCL_UINT8: np.uint8, NCCL_INT32: np.int32, NCCL_UINT32: np.uint32,
          NCCL_INT64: np.int64, NCCL_UINT64: np.uint64, NCCL_FLOAT16: np.float16, NCCL_FLOAT32: np.float32,
          NCCL_FLOAT64: np.float64}
calls = []          # (name, count, datatype) of every collective, for tests to inspect


def _host(ptr, count, datatype):
    dtype = np.dtype(DTYPES[datatype])
    raw = (ctypes.c_char * (count * dtype.itemsize)).from_address(ptr)
    return np.frombuffer(raw, dtype=dtype, count=count)


def _mpi():
    from mpi4py import MPI
    return MPI


class NcclCommunicator:
    def __init__(self, ndev, commId, rank):
        assert isinstance(commId, tuple) and len(commId) == 128 and all(-128 <= b <= 127 for b in commId)
        self._size, self._rank = ndev, rank
        self._comm = None
        if ndev > 1:
            mpi = _mpi()
            self._comm = mpi.COMM_WORLD.Dup()
            assert self._comm.Get_size() == ndev and self._comm.Get_rank() == rank
            ids = self._comm.allgather(commId)
            assert all(i == ids[0] for i in ids), "ranks were given different unique ids"

    def size(self):
        return self._size

    def rank_id(self):
        return self._rank

    def _op(self, op):
        mpi = _mpi()
        return {NCCL_SUM: mpi.SUM, NCCL_PROD: mpi.PROD, NCCL_MAX: mpi.MAX, NCCL_MIN: mpi.MIN}[op]

    def allReduce(self, sendbuf, recvbuf, count, datatype, op, stream):  # noqa: N802
        calls.append(("allReduce", count, datatype))
        send, recv = _host(sendbuf, count, datatype), _host(recvbuf, count, datatype)
        if self._comm is None:
            recv[...] = send
            return
        wide = send.astype(np.float32) if send.dtype == np.float16 else send.copy()    # MPI has no half type
        self._comm.Allreduce(_mpi().IN_PLACE, wide, self._op(op))
        recv[...] = wide

    def broadcast(self, sendbuff, recvbuff, count, datatype, root, stream):
        calls.append(("broadcast", count, datatype))
        recv = _host(recvbuff, count, datatype)
        if self._rank == root and sendbuff != recvbuff:
            recv[...] = _host(sendbuff, count, datatype)
        if self._comm is not None:
            self._comm.Bcast(recv.view(np.uint8), root=root)

    def allGather(self, sendbuf, recvbuf, count, datatype, stream):  # noqa: N802
        calls.append(("allGather", count, datatype))
        send, recv = _host(sendbuf, count, datatype), _host(recvbuf, count * self._size, datatype)
        if self._comm is None:
            recv[...] = send
            return
        self._comm.Allgather(send.view(np.uint8), recv.view(np.uint8))

    def abort(self):
        if self._comm is not None:
            _mpi().COMM_WORLD.Abort(1)

    def destroy(self):
        if self._comm is not None:
            self._comm.Free()
            self._comm = None


def get_unique_id():
    return tuple(int(b) for b in np.random.default_rng().integers(-128, 128, 128))


def make_module() -> types.ModuleType:
    m = types.ModuleType("cupy.cuda.nccl", __doc__)
    for name, value in globals().items():
        if name.startswith("NCCL_"):
            setattr(m, name, value)
    m.NcclCommunicator, m.get_unique_id, m.available, m.__file__ = NcclCommunicator, get_unique_id, True, __file__
    return m


@contextlib.contextmanager
def installed(devices: int = 1):
    """``cupy.cuda.nccl`` in the (already installed) CuPy stand-in, which then reports ``devices`` GPUs."""
    cupy = sys.modules["cupy"]
    assert getattr(cupy, "__version__", None) == "standin", "install tests/cupy_standin.py first"
    runtime = cupy.cuda.runtime
    cupy.cuda.runtime = types.SimpleNamespace(getDeviceCount=lambda: devices,
                                              runtimeGetVersion=runtime.runtimeGetVersion,
                                              getDeviceProperties=runtime.getDeviceProperties)
    cupy.cuda.nccl = sys.modules["cupy.cuda.nccl"] = make_module()
    try:
        yield cupy.cuda.nccl
    finally:
        cupy.cuda.runtime = runtime
        del cupy.cuda.nccl
        sys.modules.pop("cupy.cuda.nccl", None)
