"""The two engines that move the bytes: MPI (mpi4py; CPU processes on one or many hosts) and NCCL (CuPy's
``cupy.cuda.nccl``; one GPU per process). Nothing here is home-made: a collective is one call into the library.

Both offer the same four array collectives, each started without blocking and finished by ``Work.wait()``:

    allreduce(arr, op)        every process ends with op(arr of rank 0, arr of rank 1, ...), in place
    broadcast(arr, src)       every process ends with rank src's arr, in place
    allgather(send, recv)     recv (world_size * send.size elements) = every rank's send, in rank order
    barrier()                 returns when every process has called it

``Work.wait()`` polls the library instead of blocking inside it, so a Python signal handler still runs while
a process waits (Ctrl-C / SIGTERM reach the Trainer, which saves), and a collective that does not finish within
the group's timeout raises DistBackendError instead of waiting forever.
"""

from __future__ import annotations

import time

import numpy as np

from .. import backend

__all__ = ["DistError", "DistBackendError", "Work", "MPIBackend", "NCCLBackend", "OPS"]

OPS = ("sum", "product", "min", "max", "avg")


class DistError(RuntimeError):
    """A misuse of torch.distributed's API (not initialized, twice, a wrong argument): PyTorch's name."""


class DistBackendError(DistError):
    """The communication library failed or a collective timed out (another process died or hangs)."""


class Work:
    """A started collective (PyTorch's ``Work``): ``wait()`` finishes it, ``is_completed()`` asks."""

    def __init__(self, test, what: str, timeout: float, then=None, keep=()):
        self._test, self._what, self._timeout, self._then, self._done = test, what, timeout, then, False
        self._keep = keep                     # the buffers the library reads and writes until it is done

    def is_completed(self) -> bool:
        if not self._done and self._test():
            self._finish()
        return self._done

    def _finish(self):
        self._done = True
        if self._then is not None:
            self._then()

    def wait(self, timeout=None) -> bool:
        """Block (politely: a short sleep between polls, so a process sharing a core lets the others run) until
        the collective is done; DistBackendError after ``timeout`` seconds (default: the group's)."""
        if self._done:
            return True
        limit = self._timeout if timeout is None else float(timeout)
        start = time.monotonic()
        polls = 0
        while not self._test():
            polls += 1
            if polls > 200:                       # a fast collective never sleeps; a slow one costs no CPU
                time.sleep(min(1e-3, 1e-5 * (polls - 200)))
                if time.monotonic() - start > limit:
                    raise DistBackendError(f"{self._what} did not finish within {limit:g} s: another process has "
                                           "died, hangs, or is not calling the same collectives in the same order")
        self._finish()
        return True


# ---------------------------------------------------------------- MPI
class MPIBackend:
    """Collectives through mpi4py on host (NumPy) arrays. The processes are the ones ``mpirun`` started
    (MPI.COMM_WORLD, duplicated so that the group's messages never mix with a user's own MPI calls)."""

    name = "mpi"

    def __init__(self, timeout: float):
        from mpi4py import MPI  # noqa: PLC0415  (optional: the [mpi] extra; importing it initializes MPI)
        self.MPI, self.timeout = MPI, timeout
        self.comm = MPI.COMM_WORLD.Dup()
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self._ops = {"sum": MPI.SUM, "product": MPI.PROD, "min": MPI.MIN, "max": MPI.MAX, "avg": MPI.SUM}

    def _work(self, request, what, then=None, keep=()) -> Work:
        return Work(request.Test, what, self.timeout, then, keep)

    def allreduce(self, arr: np.ndarray, op: str = "sum") -> Work:
        """In place. float16 travels as float32 (MPI has no half type)."""
        buf = arr.astype(np.float32) if arr.dtype == np.float16 else arr

        def then():
            if op == "avg":
                buf[...] /= self.size
            if buf is not arr:
                arr[...] = buf
        return self._work(self.comm.Iallreduce(self.MPI.IN_PLACE, buf, self._ops[op]), f"all_reduce ({op})", then)

    def broadcast(self, arr: np.ndarray, src: int) -> Work:
        buf = arr.view(np.uint16) if arr.dtype == np.float16 else arr
        return self._work(self.comm.Ibcast(buf, root=src), f"broadcast from rank {src}", keep=(buf,))

    def allgather(self, send: np.ndarray, recv: np.ndarray) -> Work:
        view = (lambda a: a.view(np.uint16)) if send.dtype == np.float16 else (lambda a: a)
        send, recv = view(send), view(recv)
        return self._work(self.comm.Iallgather(send, recv), "all_gather", keep=(send, recv))

    def barrier(self) -> Work:
        return self._work(self.comm.Ibarrier(), "barrier")

    def abort(self, code: int) -> None:
        self.MPI.COMM_WORLD.Abort(code)

    def close(self) -> None:
        self.comm.Free()


# ---------------------------------------------------------------- NCCL
class NCCLBackend:
    """Collectives through NCCL on CuPy arrays, queued on the current CUDA stream (so they run after the kernels
    that computed their inputs, with no extra synchronisation). ``unique_id`` is the 128-byte NCCL id that
    rank 0 made and every rank received (through MPI or the TCP rendezvous)."""

    name = "nccl"

    def __init__(self, rank: int, size: int, unique_id, timeout: float, mpi_comm=None):
        self.cp, self.nccl = backend._load_cupy(), backend.load_nccl()
        self.rank, self.size, self.timeout, self.mpi_comm = rank, size, timeout, mpi_comm
        self.comm = self.nccl.NcclCommunicator(size, tuple(unique_id), rank)
        n = self.nccl
        self._ops = {"sum": n.NCCL_SUM, "product": n.NCCL_PROD, "min": n.NCCL_MIN, "max": n.NCCL_MAX,
                     "avg": n.NCCL_SUM}
        self._types = {np.dtype(k): getattr(n, v) for k, v in (
            ("float32", "NCCL_FLOAT32"), ("float64", "NCCL_FLOAT64"), ("float16", "NCCL_FLOAT16"),
            ("int64", "NCCL_INT64"), ("int32", "NCCL_INT32"), ("uint8", "NCCL_UINT8"), ("int8", "NCCL_INT8"))}

    def _dtype(self, arr):
        if arr.dtype == np.bool_:
            raise DistError("nccl collectives take numbers, not bool tensors (convert with .int())")
        return self._types[np.dtype(arr.dtype)]

    def _check(self, arr):
        if not isinstance(arr, self.cp.ndarray):
            raise DistError("the nccl backend works on CUDA tensors; move the tensor with .cuda(), or use the mpi "
                            "backend for CPU tensors")

    def _work(self, stream, what, then=None) -> Work:
        return Work(lambda: stream.done, what, self.timeout, then)

    def allreduce(self, arr, op: str = "sum") -> Work:
        self._check(arr)
        stream = self.cp.cuda.get_current_stream()
        self.comm.allReduce(arr.data.ptr, arr.data.ptr, arr.size, self._dtype(arr), self._ops[op], stream.ptr)
        if op == "avg":
            arr /= self.size               # queued on the same stream, after the sum
        return self._work(stream, f"all_reduce ({op})")

    def broadcast(self, arr, src: int) -> Work:
        self._check(arr)
        stream = self.cp.cuda.get_current_stream()
        self.comm.broadcast(arr.data.ptr, arr.data.ptr, arr.size, self._dtype(arr), src, stream.ptr)
        return self._work(stream, f"broadcast from rank {src}")

    def allgather(self, send, recv) -> Work:
        self._check(send)
        stream = self.cp.cuda.get_current_stream()
        self.comm.allGather(send.data.ptr, recv.data.ptr, send.size, self._dtype(send), stream.ptr)
        return self._work(stream, "all_gather")

    def barrier(self) -> Work:
        one = self.cp.zeros(1, dtype=np.float32)          # NCCL has no barrier: a one-number all-reduce is one
        return self.allreduce(one, "sum")

    def abort(self, code: int) -> None:
        try:
            self.comm.abort()
        finally:
            if self.mpi_comm is not None:
                self.mpi_comm.Abort(code)

    def close(self) -> None:
        self.comm.destroy()
