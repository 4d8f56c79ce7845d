"""DistributedDataParallel: N processes, one model each, the same weights, the gradients averaged.

    model = DistributedDataParallel(model)         # rank 0's weights copied to every rank
    loss = model(x, labels=x).loss                 # each rank: its own part of the batch
    loss.backward()                                # gradient hooks all-reduce the gradients, in buckets
    optimizer.step()                               # the same averaged gradient on every rank: same new weights

Why gradients and not weights: the gradient of a mean loss over the global batch is the mean of the ranks'
gradients (each over its part), so after one all-reduce every rank takes exactly the step one process would
take on the whole batch — and the weights, never sent, stay identical everywhere.

How the all-reduce is organised, as in PyTorch's DDP (Li et al. 2020, "PyTorch Distributed"):

* buckets: the parameters, in reverse order (the order backward produces their gradients), grouped into flat
  buffers of about ``bucket_cap_mb``; one all-reduce per bucket instead of one per tensor (latency is paid per
  call), started as soon as every gradient of the bucket is in, buckets always in the same order on every rank;
* gradient hooks (``Tensor.register_hook`` on each parameter) notice each gradient as it arrives, and a complete
  bucket's all-reduce starts without blocking on both backends (MPI: ``Iallreduce``; NCCL: queued on the CUDA
  stream). Autograd runs a leaf's hooks during the walk, as soon as its last incoming gradient is added (as
  PyTorch does), so a bucket is sent while earlier layers' gradients are still being computed. NCCL overlaps
  that with the backward kernels (its own stream); Open MPI starts ``Iallreduce`` at once but progresses it
  mostly inside later MPI calls (no progress thread by default), so on CPUs the buckets overlap one another
  more than they overlap the computation;
* ``no_sync()``: gradients accumulate locally (gradient accumulation over micro-batches); the first backward
  after it all-reduces the sum;
* ``find_unused_parameters=True``: before backward, the graph is walked from the outputs to find the
  parameters that will get no gradient, so that the last bucket is not waited for forever (a few
  milliseconds of Python per step; a parameter that no rank used keeps ``.grad = None``, as in one process).

The wrapper is not an ``nn.Module`` (``distributed`` sits beside ``nn``, below it); it forwards ``__call__``,
``parameters``, ``state_dict`` (keys prefixed "module.", as PyTorch's), ``train``/``eval`` and
``zero_grad``; everything else is on ``.module``.
"""

from __future__ import annotations

import contextlib
import hashlib
import time

import numpy as np

from .. import backend
from ..autograd import is_grad_enabled, topological_order
from ..tensor import Tensor
from .backends import DistError
from .collectives import all_gather_object, array_all_reduce
from .process_group import _group

__all__ = ["DistributedDataParallel"]


class _Bucket:
    """Flat buffer: the gradients of ``params`` back to back, then one "used" count per parameter."""

    def __init__(self, params, xp, dtype):
        self.params = params
        self.offsets = np.cumsum([0] + [p.data.size for p in params]).tolist()
        self.flat = xp.zeros(self.offsets[-1] + len(params), dtype=dtype)
        self.work = None

    def grad_slot(self, i):
        return self.flat[self.offsets[i]:self.offsets[i + 1]]

    def flag_slot(self, i):
        return self.flat[self.offsets[-1] + i:self.offsets[-1] + i + 1]


def _tensors(obj, out):
    """Every Tensor inside a forward's output (a Tensor, tuples / lists / dicts, a model output object)."""
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _tensors(v, out)
    elif isinstance(obj, dict):
        for v in obj.values():
            _tensors(v, out)
    elif hasattr(obj, "__dict__") and not callable(obj):
        for v in vars(obj).values():
            _tensors(v, out)
    return out


class DistributedDataParallel:
    """Data parallelism over the default process group (see the module docstring). ``device_ids``,
    ``output_device``, ``dim``, ``check_reduction``, ``gradient_as_bucket_view`` and ``static_graph`` are
    PyTorch's and change nothing here (one device per process; buckets are copies)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=25, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False):
        g = _group()
        object.__setattr__(self, "module", module)
        self.world_size, self.rank = g.size, g.rank
        self.broadcast_buffers, self.find_unused_parameters = bool(broadcast_buffers), bool(find_unused_parameters)
        self.require_backward_grad_sync = True
        self.stats = {"allreduce_seconds": 0.0, "allreduce_bytes": 0, "allreduces": 0, "syncs": 0}
        self._names = {id(p): n for n, p in module.named_parameters()}
        self._params = [p for p in module.parameters() if p.requires_grad]
        if not self._params:
            raise DistError("DistributedDataParallel: the module has no parameter that requires a gradient")
        self._check_same_model()
        self._broadcast([p.data for p in self._params] + [b.data for b in module.buffers()])
        self.buckets, self._slot = self._make_buckets(bucket_cap_mb)
        self._all_ids = frozenset(self._slot)
        self._expected = self._all_ids
        self._ready, self._next, self._t0 = set(), 0, None
        self._handles = [p.register_hook(self._make_hook(p)) for p in self._params]

    # ------------------------------------------------------------ start: the same model everywhere
    def _check_same_model(self):
        sig = hashlib.sha256(repr([(self._names.get(id(p)), tuple(p.shape), str(p.dtype))
                                   for p in self._params]).encode()).hexdigest()
        sigs = [None] * self.world_size
        all_gather_object(sigs, sig)
        other = [r for r, s in enumerate(sigs) if s != sigs[0]]
        if other:
            raise DistError(f"DistributedDataParallel: the model on rank(s) {other} has other parameters (names, "
                            "shapes or dtypes) than rank 0's; every rank must build the same model")

    def _broadcast(self, arrays):
        """Rank 0's arrays to every rank, in place: one broadcast per dtype and device, not one per tensor."""
        groups = {}
        for a in arrays:
            groups.setdefault((np.dtype(a.dtype), backend.device_of(a)), []).append(a)
        g = _group()
        for (dtype, device), arrs in groups.items():
            xp = backend.xp_for(device)
            flat = xp.concatenate([a.reshape(-1) for a in arrs]) if len(arrs) > 1 else arrs[0].reshape(-1).copy()
            if g.name == "mpi" and device != "cpu":
                flat = backend.to_numpy(flat)
            g.broadcast(flat, 0).wait()
            flat = backend.to_device(flat, device)
            start = 0
            for a in arrs:
                a[...] = flat[start:start + a.size].reshape(a.shape)
                start += a.size

    def _make_buckets(self, cap_mb):
        cap = max(1, int(float(cap_mb) * 2 ** 20))
        buckets, slot, current, size, key = [], {}, [], 0, None
        for p in reversed(self._params):          # backward makes the last layers' gradients first
            k = (np.dtype(p.dtype), backend.device_of(p.data))
            if current and (k != key or size + p.data.nbytes > cap):
                buckets.append(current)
                current, size = [], 0
            current.append(p)
            size, key = size + p.data.nbytes, k
        buckets.append(current)
        out = []
        for b, params in enumerate(buckets):
            dtype, device = np.dtype(params[0].dtype), backend.device_of(params[0].data)
            out.append(_Bucket(params, backend.xp_for(device), dtype))
            for i, p in enumerate(params):
                slot[id(p)] = (b, i)
        return out, slot

    # ------------------------------------------------------------ forward
    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        """The module's forward, with rank 0's buffers first (``broadcast_buffers``) and, when a backward will
        follow, ``prepare_for_backward`` on the outputs."""
        if self.broadcast_buffers:
            buffers = [b.data for b in self.module.buffers()]
            if buffers and self.world_size > 1:
                self._broadcast(buffers)
        out = self.module(*args, **kwargs)
        self.prepare_for_backward(out)
        return out

    def prepare_for_backward(self, outputs) -> None:
        """What DDP's forward does before the backward it expects: check that the last reduction finished and,
        with ``find_unused_parameters``, find the parameters ``outputs`` do not depend on. Call it yourself when
        the loss comes from the module's other methods (the Trainer's tasks call ``model.encode`` and friends)."""
        if not (is_grad_enabled() and self.require_backward_grad_sync):
            return
        if self._ready:
            missing = [self._names.get(id(p), "?") for p in self._params
                       if id(p) in self._expected and id(p) not in self._ready]
            self._ready, self._next, self._t0 = set(), 0, None
            raise DistError("Expected to have finished reduction in the prior iteration before starting a new one: "
                            f"parameters that got no gradient: {', '.join(missing[:5])}"
                            f"{' ...' if len(missing) > 5 else ''}; pass find_unused_parameters=True")
        if not self.find_unused_parameters:
            self._expected = self._all_ids
            return
        used = set()
        for t in _tensors(outputs, []):
            if t.grad_fn is None:
                if id(t) in self._all_ids:
                    used.add(id(t))
                continue
            for node in topological_order(t.grad_fn):
                used.update(id(x) for x in node.next if isinstance(x, Tensor) and id(x) in self._all_ids)
        self._expected = frozenset(used)

    # ------------------------------------------------------------ backward: the hooks
    def _make_hook(self, p):
        def hook(grad):
            return self._on_grad(p, grad)
        return hook

    def _on_grad(self, p, grad):
        """A parameter's gradient of this backward, before autograd stores it. Its value (plus what no_sync()
        left in ``p.grad``) goes into its bucket, and the hook returns a view of that slot with ``p.grad`` set
        to None, so autograd stores exactly the slot's value. When the last expected gradient is in, every
        bucket is averaged and each parameter's ``.grad`` gets its average: written into ``.grad`` where autograd
        has stored it already, and into the slot that autograd copies where it has not (either order works)."""
        if not self.require_backward_grad_sync:
            return None                                   # no_sync: autograd adds it to p.grad, locally
        b, i = self._slot[id(p)]
        slot = self.buckets[b].grad_slot(i)
        slot[...] = grad.data.reshape(-1)
        if p.grad is not None:                            # micro-batches accumulated under no_sync()
            slot += p.grad.data.reshape(-1)
            p.grad = None
        self.buckets[b].flag_slot(i)[...] = 1
        self._ready.add(id(p))
        self._launch_ready_buckets()
        if self._expected <= self._ready:
            self._finish()
        return Tensor._wrap(slot.reshape(p.shape), p._device)

    def _bucket_complete(self, bucket) -> bool:
        return all(id(q) in self._ready or id(q) not in self._expected for q in bucket.params)

    def _launch_ready_buckets(self):
        """Start the all-reduce of every complete bucket, in bucket order (the order must be the same on all
        ranks: collectives are matched by the order they are called in)."""
        while self._next < len(self.buckets) and self._bucket_complete(self.buckets[self._next]):
            bucket = self.buckets[self._next]
            for i, q in enumerate(bucket.params):
                if id(q) not in self._ready:             # no gradient here this time: zeros, or what no_sync left
                    bucket.grad_slot(i)[...] = 0 if q.grad is None else q.grad.data.reshape(-1)
                    bucket.flag_slot(i)[...] = 0 if q.grad is None else 1
            if self._t0 is None:
                self._t0 = time.perf_counter()
            bucket.work = array_all_reduce(bucket.flat, "sum")
            self.stats["allreduce_bytes"] += bucket.flat.nbytes
            self.stats["allreduces"] += 1
            self._next += 1

    def _finish(self):
        """Every expected gradient is in: wait for the buckets, divide by N (in place), hand out the averages."""
        self._launch_ready_buckets()
        for bucket in self.buckets:
            bucket.work.wait()
            bucket.work = None
            n = bucket.offsets[-1]
            bucket.flat[:n] /= self.world_size
            for i, q in enumerate(bucket.params):
                avg = bucket.grad_slot(i).reshape(q.shape)
                if id(q) in self._ready:
                    if q.grad is not None:                    # autograd stored it already: overwrite in place
                        q.grad.data[...] = avg
                elif float(backend.to_numpy(bucket.flag_slot(i))[0]) > 0:    # some rank had a gradient for it
                    q.grad = Tensor._wrap(avg.copy(), q._device)
        self.stats["allreduce_seconds"] += time.perf_counter() - self._t0
        self.stats["syncs"] += 1
        self._ready, self._next, self._t0 = set(), 0, None

    @contextlib.contextmanager
    def no_sync(self):
        """Inside: backward accumulates gradients locally, no communication (gradient accumulation)."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # ------------------------------------------------------------ what a module offers, forwarded
    def parameters(self, recurse=True):
        return self.module.parameters(recurse)

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        return self.module.named_parameters(prefix + ("." if prefix else "") + "module", recurse, remove_duplicate)

    def buffers(self, recurse=True):
        return self.module.buffers(recurse)

    def state_dict(self, *args, **kwargs):
        """The module's state dict with every key prefixed "module." (as PyTorch's DDP)."""
        return {"module." + k: v for k, v in self.module.state_dict(*args, **kwargs).items()}

    def load_state_dict(self, state_dict, strict=True):
        """Takes keys with or without the "module." prefix."""
        return self.module.load_state_dict({k[len("module."):] if k.startswith("module.") else k: v
                                            for k, v in state_dict.items()}, strict=strict)

    def train(self, mode=True):
        self.module.train(mode)
        return self

    def eval(self):
        return self.train(False)

    @property
    def training(self) -> bool:
        return self.module.training

    def zero_grad(self, set_to_none=True):
        self.module.zero_grad(set_to_none)

    def remove_hooks(self) -> None:
        """Unregister the gradient hooks (the wrapper is no longer used; backward stops communicating)."""
        for h in self._handles:
            h.remove()
        self._handles = []

    def __getattr__(self, name):
        raise AttributeError(f"'DistributedDataParallel' object has no attribute {name!r} (the wrapped model is "
                             f".module: ddp.module.{name})")

    def __repr__(self):
        return (f"DistributedDataParallel(rank {self.rank} of {self.world_size}, {len(self.buckets)} bucket(s), "
                f"find_unused_parameters={self.find_unused_parameters})\n  (module): {self.module!r}")
