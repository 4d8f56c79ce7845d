"""How processes started by ``torchrun`` (not by ``mpirun``) find each other: PyTorch's ``env://`` rendezvous.

NCCL needs one thing before it can connect the GPUs: the same 128-byte id on every rank, made by rank 0. Under
``mpirun`` it travels by MPI. Under ``torchrun`` (or any launcher that sets RANK, WORLD_SIZE, MASTER_ADDR and
MASTER_PORT) rank 0 listens on MASTER_PORT and hands it to each other rank over TCP — the part of PyTorch's
TCPStore that data parallelism needs, and nothing more.
"""

from __future__ import annotations

import socket
import struct
import time

from .backends import DistBackendError

__all__ = ["share_from_rank0"]


def _recv_exactly(sock, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the connection closed early")
        data += chunk
    return data


def share_from_rank0(rank: int, world_size: int, addr: str, port: int, payload: bytes | None,
                     timeout: float = 300.0) -> bytes:
    """Rank 0 sends ``payload`` to ranks 1..world_size-1, which connect to ``addr:port`` (retrying until rank 0
    listens); every rank returns the payload. DistBackendError when not every rank arrives within ``timeout``."""
    deadline = time.monotonic() + timeout
    if rank == 0:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            server.bind(("", port))
            server.listen(world_size)
            seen = set()
            while len(seen) < world_size - 1:
                server.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    conn, _ = server.accept()
                except socket.timeout:
                    missing = sorted(set(range(1, world_size)) - seen)
                    raise DistBackendError(f"rendezvous on port {port}: rank(s) {missing} did not connect within "
                                           f"{timeout:g} s") from None
                with conn:
                    (r,) = struct.unpack("!i", _recv_exactly(conn, 4))
                    if r in seen or not 0 < r < world_size:
                        raise DistBackendError(f"rendezvous on port {port}: rank {r} connected twice or is out of "
                                               f"range for WORLD_SIZE={world_size}")
                    seen.add(r)
                    conn.sendall(struct.pack("!i", len(payload)) + payload)
        finally:
            server.close()
        return payload
    while True:
        try:
            with socket.create_connection((addr, port), timeout=5.0) as conn:
                conn.sendall(struct.pack("!i", rank))
                (n,) = struct.unpack("!i", _recv_exactly(conn, 4))
                return _recv_exactly(conn, n)
        except (ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise DistBackendError(f"rank {rank}: could not reach rank 0 at MASTER_ADDR={addr} MASTER_PORT={port} "
                                       f"within {timeout:g} s") from None
            time.sleep(0.1)
