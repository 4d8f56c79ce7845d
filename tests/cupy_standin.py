"""A host-memory stand-in for CuPy that keeps CuPy's rules, so the "cuda" code paths run where no GPU is.

What it checks: tinygrad_tf's device plumbing -- that every op reaches its arrays through ``xp``, that no
device array is silently turned into a NumPy one, that host and device arrays are never mixed in one
operation, and that results come back to the host only through the explicit doors (``.numpy()``,
``.item()``, ``.tolist()``). What it cannot check: CuPy itself, CUDA kernels, speed or memory on a GPU.
Passing here is not a GPU claim; ``python -m pytest --device cuda`` on a machine with a GPU is.

The rules kept (each one is how CuPy behaves, and each one has broken real code ported to it):

* ``np.asarray(device_array)`` (and anything that calls ``__array__``) raises TypeError;
* a NumPy array in an operation with a device array raises TypeError ("Unsupported type");
* NumPy functions and ufuncs applied to device arrays dispatch to the device (``__array_function__``,
  ``__array_ufunc__``) and return device arrays -- as CuPy does;
* reductions return 0-d device arrays, never NumPy scalars;
* out-of-range integer-array indices wrap around instead of raising;
* the random generator offers CuPy's methods only, and draws a different stream than NumPy's;
* a few NumPy-only names (``errstate``, ``nditer``, ...) do not exist.

Use::

    from cupy_standin import installed
    with installed():
        x = tg.ones(3, device="cuda")

or ``python -m pytest --device cuda --cupy-standin`` for the whole suite.
"""

from __future__ import annotations

import contextlib
import operator
import sys
import types
import weakref

import numpy as np

NUMPY_ONLY = {"errstate", "seterr", "geterr", "nditer", "frompyfunc", "ma", "char", "rec", "ctypeslib",
              "emath", "add_newdoc", "longdouble", "float128", "memmap"}


def _unsupported(x):
    return TypeError(f"Unsupported type {type(x)}")


_BASES: dict = {}      # id(host array) -> its one _Base box, while the host array lives


def _box(a):
    """Wrap a host array as a device array (no copy)."""
    out = object.__new__(ndarray)
    out._a = a
    return out


def _wrap(x):
    """Results: arrays and NumPy scalars become device arrays (CuPy returns 0-d arrays, not scalars)."""
    if isinstance(x, np.ndarray):
        return _box(x)
    if isinstance(x, np.generic):
        return _box(np.asarray(x))
    if isinstance(x, tuple) and hasattr(x, "_fields"):     # NumPy's named results (SVDResult, ...): CuPy's are tuples
        return tuple(_wrap(v) for v in x)
    if isinstance(x, (tuple, list)):
        return type(x)(_wrap(v) for v in x)
    return x


def _unwrap(x):
    """Arguments: device arrays give their data; a NumPy array is refused, as CuPy refuses it."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, np.ndarray):
        raise _unsupported(x)
    if isinstance(x, (tuple, list)):
        return type(x)(_unwrap(v) for v in x)
    return x


def _call(fn, args, kwargs):
    args, kwargs = [_unwrap(a) for a in args], {k: _unwrap(v) for k, v in kwargs.items()}
    with np.errstate(all="ignore"):          # a GPU never warns about inf/nan
        return _wrap(fn(*args, **kwargs))


def _index(shape, key):
    """An index for the data: device arrays unwrapped, host index arrays accepted (CuPy copies them over),
    and integer-array entries wrapped modulo the axis length, as CuPy's gather does."""
    key = key if isinstance(key, tuple) else (key,)
    out, axis = [], 0
    for i, k in enumerate(key):
        if k is Ellipsis:                     # axes after it are not tracked: pass the rest on as given
            return (*out, *[v._a if isinstance(v, ndarray) else v for v in key[i:]])
        if isinstance(k, ndarray):
            k = k._a
        elif isinstance(k, list):
            k = np.asarray(k)
        if isinstance(k, np.ndarray) and k.dtype.kind == "b":
            axis += k.ndim
        elif isinstance(k, np.ndarray) and k.dtype.kind in "iu" and axis < len(shape) and shape[axis]:
            k = k % shape[axis]
            axis += 1
        elif k is not None:
            axis += 1
        out.append(k)
    return tuple(out)


class ndarray:  # noqa: N801  (CuPy's name)
    """A device array: the data lives in ``_a`` (host memory), reachable only the ways CuPy allows."""

    __slots__ = ("_a", "__weakref__")           # CuPy arrays take weak references too
    __hash__ = None

    def __init__(self, shape, dtype=float):
        self._a = np.empty(shape, dtype)

    @property
    def __cuda_array_interface__(self):         # what marks a device array to other libraries
        return {"shape": self._a.shape, "typestr": self._a.dtype.str, "data": (0, False), "version": 3}

    @property
    def base(self):
        """The array this one is a view of -- one object for as long as it lives, as CuPy's ``base`` is."""
        host = self._a.base
        if not isinstance(host, np.ndarray):
            return None
        box = _BASES.get(id(host))
        if box is None or box._a is not host:
            box = _BASES[id(host)] = object.__new__(_Base)
            box._ref = weakref.ref(host)
            weakref.finalize(host, _BASES.pop, id(host), None)
        return box

    @property
    def data(self):                             # CuPy's MemoryPointer: ``.ptr``, the address NCCL is given
        return types.SimpleNamespace(ptr=self._a.ctypes.data)

    # --- the explicit doors back to the host
    def get(self):
        return self._a.copy()

    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __bool__(self):
        return bool(self._a)

    def __complex__(self):
        return complex(self._a)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_box(np.asarray(v)) for v in self._a)

    def __repr__(self):
        return repr(self._a)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        return format(self._a, spec)

    # --- NumPy functions on device arrays run on the device (NEP 13 / 18), refusing host arrays
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__":
            return NotImplemented
        return _call(ufunc, inputs, kwargs)

    def __array_function__(self, func, types_, args, kwargs):
        if func.__name__ in NUMPY_ONLY or func.__module__ not in ("numpy", "numpy.linalg"):
            return NotImplemented
        return _call(func, args, kwargs)

    # --- attributes and methods: those of the data, results kept on the device
    def __getattr__(self, name):
        if name.startswith("__"):        # no __array_interface__ & co: NumPy must not read the data
            raise AttributeError(name)
        value = getattr(self._a, name)
        if callable(value):
            return lambda *args, **kwargs: _call(value, args, kwargs)
        return _wrap(value)

    def __getitem__(self, key):
        return _wrap(self._a[_index(self._a.shape, key)])

    def __setitem__(self, key, value):
        if isinstance(value, ndarray):
            value = value._a
        self._a[_index(self._a.shape, key)] = value    # a host value is copied over, as in CuPy

    def _op(self, fn, other, reflected=False):
        other = _unwrap(other)
        return _wrap(fn(other, self._a) if reflected else fn(self._a, other))

    def _iop(self, fn, other):
        fn(self._a, _unwrap(other))
        return self


def _binary(fn):
    return (lambda self, other: self._op(fn, other),
            lambda self, other: self._op(fn, other, reflected=True))


for _name, _fn in [("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("floordiv", operator.floordiv), ("mod", operator.mod),
                   ("pow", operator.pow), ("matmul", operator.matmul), ("and", operator.and_),
                   ("or", operator.or_), ("xor", operator.xor), ("lshift", operator.lshift),
                   ("rshift", operator.rshift)]:
    _fwd, _ref = _binary(_fn)
    setattr(ndarray, f"__{_name}__", _fwd)
    setattr(ndarray, f"__r{_name}__", _ref)
    _inplace = getattr(operator, f"i{_name}")
    setattr(ndarray, f"__i{_name}__", lambda self, other, _f=_inplace: self._iop(_f, other))
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(ndarray, f"__{_name}__", lambda self, other, _f=getattr(operator, _name): self._op(_f, other))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(ndarray, f"__{_name}__", lambda self, _f=getattr(operator, _name): _wrap(_f(self._a)))


class _Base(ndarray):
    """What ``view.base`` gives: the base array's one box, holding it weakly (the views keep it alive)."""

    __slots__ = ("_ref",)
    _a = property(lambda self: self._ref())


# ---------------------------------------------------------------------------
# the module: cupy.<name> is numpy.<name> run on device arrays
# ---------------------------------------------------------------------------
def _to_device(a, dtype=None, copy=False, **kwargs):
    if isinstance(a, ndarray):
        a = a._a
    elif isinstance(a, (list, tuple)) and any(isinstance(v, ndarray) for v in a):
        a = [v._a if isinstance(v, ndarray) else v for v in a]
    out = np.array(a, dtype=dtype, copy=True, **kwargs) if copy else np.asarray(a, dtype=dtype, **kwargs)
    return _box(out)


def asnumpy(a, *args, **kwargs):
    return a.get() if isinstance(a, ndarray) else np.asarray(a)


class _Generator:
    """cupy.random.Generator: random, standard_normal, integers, uniform -- a stream of its own."""

    def __init__(self, seed):
        self._g = np.random.default_rng([0xC0DA, 0 if seed is None else int(seed)])

    def random(self, size=None, dtype=np.float64, out=None):
        return _box(np.asarray(self._g.random(size, dtype=np.float64)).astype(dtype))

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        return _box(np.asarray(self._g.standard_normal(size, dtype=np.float64)).astype(dtype))

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        return _box(np.asarray(self._g.integers(int(low), None if high is None else int(high), size,
                                                dtype=dtype, endpoint=endpoint)))

    def uniform(self, low=0.0, high=1.0, size=None, dtype=np.float64):
        return _box(np.asarray(self._g.uniform(_unwrap(low), _unwrap(high), size)).astype(dtype))


class _Runtime:
    @staticmethod
    def getDeviceCount():  # noqa: N802  (CUDA's name)
        return 1

    @staticmethod
    def runtimeGetVersion():  # noqa: N802
        return 0

    @staticmethod
    def getDeviceProperties(i):  # noqa: N802
        return {"name": b"cupy stand-in (host memory)", "totalGlobalMem": 0}


class _Device:
    id = 0

    def __init__(self, i=0):
        pass

    def synchronize(self):
        pass

    def use(self):
        pass


class Stream:
    """cupy.cuda.Stream: work on the host is done as soon as it is queued."""
    null = None
    ptr = 0
    done = True

    def __init__(self, null=False, non_blocking=False, ptds=False):
        pass

    def synchronize(self):
        pass


Stream.null = Stream(null=True)


class _MemoryPool:
    """cupy.get_default_memory_pool(): host memory has no cache to free."""

    def free_all_blocks(self):
        pass

    def used_bytes(self):
        return 0


def _module_getattr(name):
    if name.startswith("__") or name in NUMPY_ONLY or not hasattr(np, name):
        raise AttributeError(f"module 'cupy' has no attribute {name!r}")
    value = getattr(np, name)
    if callable(value) and not isinstance(value, type):
        return lambda *args, **kwargs: _call(value, args, kwargs)
    return value


def _linalg_getattr(name):
    fn = getattr(np.linalg, name) if not name.startswith("__") else None
    if fn is None:
        raise AttributeError(f"module 'cupy.linalg' has no attribute {name!r}")
    return lambda *args, **kwargs: _call(fn, args, kwargs)


def _scatter_add(a, slices, value):
    np.add.at(a._a, _index(a._a.shape, slices), _unwrap(value) if isinstance(value, ndarray) else value)


def _erf(x):
    from tinygrad_tf import backend  # noqa: PLC0415
    data = x._a
    return _box(backend._erf_series(data, np) if data.dtype == np.float64 else backend._erf_float32(data, np))


def make_modules() -> dict:
    """The modules to place in sys.modules: cupy, cupy.random, cupy.cuda, cupyx, cupyx.scipy.special."""
    cupy = types.ModuleType("cupy", __doc__)
    cupy.__version__ = "standin"
    cupy.ndarray = ndarray
    cupy.asarray = cupy.asanyarray = _to_device
    cupy.ascontiguousarray = lambda a, dtype=None: _box(np.ascontiguousarray(_to_device(a, dtype)._a))
    cupy.array = lambda a, dtype=None, copy=True, **kw: _to_device(a, dtype, copy, **kw)
    cupy.asnumpy = asnumpy
    cupy.get_array_module = lambda *args: cupy if any(isinstance(a, ndarray) for a in args) else np
    cupy.__getattr__ = _module_getattr
    cupy.random = types.ModuleType("cupy.random")
    cupy.random.default_rng = _Generator
    cupy.random.Generator = _Generator
    cupy.cuda = types.ModuleType("cupy.cuda")
    cupy.cuda.runtime = _Runtime
    cupy.cuda.Device = _Device
    cupy.cuda.Stream = Stream
    cupy.cuda.get_current_stream = lambda device=None: Stream.null
    cupy.get_default_memory_pool = cupy.get_default_pinned_memory_pool = _MemoryPool
    cupy.linalg = types.ModuleType("cupy.linalg")
    cupy.linalg.__getattr__ = _linalg_getattr
    cupyx = types.ModuleType("cupyx")
    cupyx.scatter_add = _scatter_add
    cupyx.scipy = types.ModuleType("cupyx.scipy")
    cupyx.scipy.special = types.ModuleType("cupyx.scipy.special")
    cupyx.scipy.special.erf = _erf
    for m in (cupy, cupy.random, cupy.cuda, cupy.linalg, cupyx, cupyx.scipy, cupyx.scipy.special):
        m.__file__ = __file__
    return {"cupy": cupy, "cupy.random": cupy.random, "cupy.cuda": cupy.cuda, "cupy.linalg": cupy.linalg,
            "cupyx": cupyx, "cupyx.scipy": cupyx.scipy, "cupyx.scipy.special": cupyx.scipy.special}


def install():
    """Make ``import cupy`` give the stand-in, and reset tinygrad_tf's backend to find it."""
    from tinygrad_tf import backend  # noqa: PLC0415
    saved = ({k: sys.modules.get(k) for k in make_modules()},
             (backend._cupy, backend._cupy_error, dict(backend._rngs)))
    sys.modules.update(make_modules())
    backend._cupy, backend._cupy_error = None, None
    backend._rngs.pop("cuda", None)
    return saved


def uninstall(saved):
    from tinygrad_tf import backend  # noqa: PLC0415
    modules, (cp, err, rngs) = saved
    for k, v in modules.items():
        if v is None:
            sys.modules.pop(k, None)
        else:
            sys.modules[k] = v
    backend._cupy, backend._cupy_error = cp, err
    backend._rngs.clear()
    backend._rngs.update(rngs)


@contextlib.contextmanager
def installed():
    saved = install()
    try:
        yield sys.modules["cupy"]
    finally:
        uninstall(saved)


def active() -> bool:
    return getattr(sys.modules.get("cupy"), "__version__", None) == "standin"
