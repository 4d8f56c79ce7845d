"""The process group: which processes train together, and what happens when one of them fails.

    init_process_group("mpi")      # under `mpirun -n 4 python train.py`: 4 CPU processes, ranks 0..3
    init_process_group("nccl")     # one GPU per process; under mpirun or torchrun
    get_rank(), get_world_size()   # this process's number, how many there are
    destroy_process_group()        # at the end (a process that exits without it ends the whole job)

Who started the processes is read from the environment (``launch_info``): Open MPI's and MPICH's ``mpirun``
set OMPI_COMM_WORLD_* / PMI_*; ``torchrun`` sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT.

Faults. A process that dies is noticed by ``mpirun``, which stops the others and names the rank ("mpirun
noticed that process rank 1 ... exited on signal 9"). A process that raises must not simply exit: its peers
would wait for it inside a collective forever. So once a group of more than one process exists, an uncaught
exception, or an exit without ``destroy_process_group()`` while the others are still working, prints
"rank R: ..." and calls ``abort``, which ends every process of the job (MPI_Abort). And no collective waits
longer than the group's timeout (default 600 s) in any case.
"""

from __future__ import annotations

import atexit
import datetime
import os
import sys
import traceback
from dataclasses import dataclass

from .. import backend
from .backends import DistBackendError, DistError, MPIBackend, NCCLBackend

__all__ = ["init_process_group", "destroy_process_group", "is_initialized", "is_available", "is_mpi_available",
           "is_nccl_available", "get_rank", "get_world_size", "get_backend", "launch_info", "LaunchInfo", "abort",
           "Backend", "DEFAULT_TIMEOUT", "group"]

DEFAULT_TIMEOUT = 600.0        # seconds a collective may wait for the others (PyTorch: 10 min for NCCL)
_state = {"group": None, "hooks": False}


class Backend:
    """The backend names (PyTorch's ``torch.distributed.Backend``)."""
    MPI = "mpi"
    NCCL = "nccl"


class group:  # noqa: N801  (PyTorch's name)
    """``group.WORLD``: every process (the only group tinygrad_tf has; ``group=None`` means the same)."""
    WORLD = "WORLD"


@dataclass(frozen=True)
class LaunchInfo:
    """Where this process sits, as its launcher told it: ``launcher`` is "mpirun", "torchrun" or None (a
    plain ``python``, world size 1)."""
    rank: int
    world_size: int
    local_rank: int
    launcher: str | None


def _env_int(env, name, default=None):
    value = env.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise DistError(f"environment variable {name}={value!r} is not a whole number") from None


def launch_info(environ=None) -> LaunchInfo:
    """This process's rank, world size and rank on its host, from the launcher's environment variables."""
    env = os.environ if environ is None else environ
    if "OMPI_COMM_WORLD_SIZE" in env:                                   # Open MPI's mpirun
        return LaunchInfo(_env_int(env, "OMPI_COMM_WORLD_RANK", 0), _env_int(env, "OMPI_COMM_WORLD_SIZE"),
                          _env_int(env, "OMPI_COMM_WORLD_LOCAL_RANK", 0), "mpirun")
    if "PMI_SIZE" in env and "PMI_RANK" in env:                          # MPICH / Intel MPI (Hydra)
        return LaunchInfo(_env_int(env, "PMI_RANK"), _env_int(env, "PMI_SIZE"),
                          _env_int(env, "MPI_LOCALRANKID", 0), "mpirun")
    if "WORLD_SIZE" in env:                                             # torchrun and friends
        rank = _env_int(env, "RANK", 0)
        return LaunchInfo(rank, _env_int(env, "WORLD_SIZE"), _env_int(env, "LOCAL_RANK", rank), "torchrun")
    return LaunchInfo(0, 1, 0, None)


def is_available() -> bool:
    """True: tinygrad_tf always has the distributed package (its backends may still be missing)."""
    return True


def is_mpi_available() -> bool:
    """True when mpi4py is installed (``pip install 'tinygrad-tf[mpi]'``; it needs an MPI library)."""
    import importlib.util  # noqa: PLC0415
    return importlib.util.find_spec("mpi4py") is not None


def is_nccl_available() -> bool:
    """True when CuPy with NCCL and a GPU are there."""
    try:
        backend.load_nccl()
        return True
    except backend.DeviceError:
        return False


def _group():
    g = _state["group"]
    if g is None:
        raise DistError("Default process group has not been initialized, please make sure to call "
                        "init_process_group.")
    return g


def is_initialized() -> bool:
    """True between ``init_process_group`` and ``destroy_process_group``."""
    return _state["group"] is not None


def get_rank(group=None) -> int:  # noqa: A002  (PyTorch's argument name)
    """This process's number, 0 .. world_size - 1 (rank 0 writes the checkpoints and logs)."""
    return _group().rank


def get_world_size(group=None) -> int:  # noqa: A002
    """How many processes are in the group."""
    return _group().size


def get_backend(group=None) -> str:  # noqa: A002
    """"mpi" or "nccl"."""
    return _group().name


def _seconds(timeout) -> float:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    return float(timeout)


def init_process_group(backend: str | None = None, init_method: str | None = None, timeout=None,
                       world_size: int = -1, rank: int = -1, store=None, group_name: str = "", pg_options=None,
                       device_id=None) -> None:
    """Join this process to the others: ``backend`` "mpi" (CPU; the processes that ``mpirun`` started) or
    "nccl" (one GPU per process, chosen by LOCAL_RANK or ``device_id``). ``timeout`` (seconds or a timedelta)
    bounds every collective. Under torchrun, "nccl" meets the other ranks at MASTER_ADDR:MASTER_PORT
    (``init_method`` "env://", or "tcp://HOST:PORT"). ``store``, ``group_name`` and ``pg_options`` are PyTorch's
    and must be left unset."""
    if _state["group"] is not None:
        raise DistError("trying to initialize the default process group twice!")
    if store is not None or pg_options is not None or group_name:
        raise DistError("init_process_group: store, group_name and pg_options are not supported by tinygrad_tf")
    name = (backend or "mpi").lower()
    if name not in (Backend.MPI, Backend.NCCL):
        raise DistError(f"unknown backend {backend!r}: tinygrad_tf has 'mpi' (CPU processes, through mpi4py) and "
                        "'nccl' (GPUs, through CuPy)")
    seconds, info = _seconds(timeout), launch_info()
    if name == Backend.MPI:
        if info.launcher == "torchrun" and info.world_size > 1:
            raise DistError("the mpi backend joins the processes that mpirun started; these were started by "
                            f"torchrun (WORLD_SIZE={info.world_size}): launch with mpirun -n {info.world_size} "
                            "instead, or use the nccl backend on GPUs")
        g = MPIBackend(seconds) if _mpi_ready() else None
    else:
        g = _init_nccl(info, init_method, seconds, world_size, rank, device_id)
    for asked, have, what in ((world_size, g.size, "world_size"), (rank, g.rank, "rank")):
        if asked not in (-1, None) and asked != have:
            g.close()
            raise DistError(f"init_process_group({what}={asked}), but the launcher made this process {what} {have}")
    _state["group"] = g
    if g.size > 1 and not _state["hooks"]:
        _state["hooks"] = True
        _install_fault_hooks()


def _mpi_ready() -> bool:
    if not is_mpi_available():
        raise DistError("the mpi backend needs mpi4py and an MPI library: apt-get install openmpi-bin "
                        "libopenmpi-dev, then pip install 'tinygrad-tf[mpi]'")
    return True


def _init_nccl(info, init_method, seconds, world_size, rank, device_id):
    from ..cuda import set_device  # noqa: PLC0415
    nccl = backend.load_nccl()              # a one-line DeviceError when CuPy, NCCL or a GPU is missing
    set_device(info.local_rank if device_id is None else device_id)
    if info.launcher == "mpirun":
        _mpi_ready()
        from mpi4py import MPI  # noqa: PLC0415
        comm = MPI.COMM_WORLD
        uid = comm.bcast(nccl.get_unique_id() if comm.Get_rank() == 0 else None, root=0)
        return NCCLBackend(comm.Get_rank(), comm.Get_size(), uid, seconds, mpi_comm=comm)
    size = world_size if world_size not in (-1, None) else info.world_size
    me = rank if rank not in (-1, None) else info.rank
    if size == 1:
        return NCCLBackend(0, 1, nccl.get_unique_id(), seconds)
    addr, port = _master(init_method)
    from .rendezvous import share_from_rank0  # noqa: PLC0415
    uid = bytes(b % 256 for b in nccl.get_unique_id()) if me == 0 else None
    got = share_from_rank0(me, size, addr, port, uid, seconds)
    return NCCLBackend(me, size, tuple(b - 256 if b > 127 else b for b in got), seconds)


def _master(init_method):
    if init_method and init_method.startswith("tcp://"):
        host, _, port = init_method[len("tcp://"):].rpartition(":")
        return host, int(port)
    if init_method not in (None, "env://"):
        raise DistError(f"init_method {init_method!r}: tinygrad_tf reads 'env://' (MASTER_ADDR, MASTER_PORT) or "
                        "'tcp://HOST:PORT'")
    if "MASTER_ADDR" not in os.environ or "MASTER_PORT" not in os.environ:
        raise DistError("nccl without mpirun needs MASTER_ADDR and MASTER_PORT (torchrun sets them) to find rank 0")
    port = _env_int(os.environ, "MASTER_PORT")
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE", "").lower() == "true":
        port += 1                       # torchrun's agent holds MASTER_PORT with its own store: the next one is ours
    return os.environ["MASTER_ADDR"], port


def destroy_process_group(group=None) -> None:  # noqa: A002
    """Leave the group (every process calls it at the end, as in PyTorch). MPI itself stays initialized until
    the process exits, so a new group can be made."""
    g = _state["group"]
    if g is None:
        return
    _state["group"] = None
    g.close()


def abort(reason: str, exit_code: int = 1) -> None:
    """End the whole job now, from any one process: print "rank R: reason" on stderr, then MPI_Abort (NCCL
    communicators are aborted first). Without a group of more than one process, just exit."""
    g = _state["group"]
    where = f"rank {g.rank} of {g.size}" if g is not None else "this process"
    print(f"{where}: {reason}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    if g is not None and g.size > 1:
        g.abort(exit_code)
    os._exit(exit_code)


def _install_fault_hooks() -> None:
    previous = sys.excepthook

    def excepthook(kind, value, tb):
        previous(kind, value, tb)
        if _state["group"] is not None and _state["group"].size > 1:
            abort(f"{kind.__name__}: {value} (uncaught; ending all {_state['group'].size} processes so that none "
                  "waits for this one)")

    sys.excepthook = excepthook
    atexit.register(_at_exit)


def _at_exit() -> None:
    """A process leaving with its group still open: if every rank gets here within a few seconds (a script that
    forgot ``destroy_process_group``), leave quietly; if not, the others are still waiting on it: abort."""
    g = _state["group"]
    if g is None or g.size == 1:
        return
    try:
        g.barrier().wait(timeout=5.0)
    except (DistBackendError, Exception):  # noqa: BLE001
        abort("exiting while the other processes still wait for this one (an error above?); ending the job")
    except BaseException:                  # a Ctrl-C while waiting
        abort("interrupted while exiting; ending the job", 130)
    else:
        destroy_process_group()


def format_exception(exc: BaseException) -> str:
    """The traceback of ``exc`` as text (for a rank's last words before ``abort``)."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
