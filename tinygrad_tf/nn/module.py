"""Module: a bag of named parameters, buffers and submodules, as ``torch.nn.Module``.

Assigning an attribute registers it: a ``Parameter`` becomes a parameter, a
``Module`` a submodule, so ``named_parameters()`` can walk the tree and name
every weight by its path ("blocks.0.attn.q_proj.weight"). That path is the
key in ``state_dict()`` and in checkpoint files.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from .. import backend
from ..compat import missing
from ..tensor import Tensor
from ..tensor_args import _to_args
from .hooks import BackwardHooks


class Parameter(Tensor):
    """A Tensor that a Module registers as a learnable weight (requires_grad=True by default)."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:                                # PyTorch: Parameter() is an empty float tensor
            data = np.empty(0, dtype=backend.DEFAULT_FLOAT)
        super().__init__(data, requires_grad=False)     # shares ``data`` when it is already an array/Tensor
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: ``.missing_keys`` and ``.unexpected_keys`` (unpacks as a pair)."""

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


class _Handle:
    """What ``register_forward_hook`` returns: ``handle.remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict):
        self.hooks, self.id = hooks, _Handle._next_id
        _Handle._next_id += 1

    def remove(self):
        self.hooks.pop(self.id, None)


def _move(t: Tensor, device, dtype):
    """Change a parameter/buffer *in place* (its .data), so every reference to it sees the move."""
    arr = t.data
    if dtype is not None and arr.dtype.kind == "f":
        arr = arr.astype(dtype, copy=False)
    if device is not None:
        arr = backend.to_device(arr, device)
    t.data, t._device = arr, backend.device_of(arr)
    if t.grad is not None:
        t.grad = Tensor._wrap(backend.to_device(t.grad.data.astype(arr.dtype, copy=False), t._device), t._device)


class Module:
    """Base class of every layer. Subclasses set attributes in ``__init__`` and write ``forward``."""

    def __init__(self):
        d = self.__dict__
        d["training"] = True
        d["_parameters"], d["_buffers"], d["_modules"] = OrderedDict(), OrderedDict(), OrderedDict()
        d["_non_persistent"] = set()
        d["_forward_hooks"], d["_forward_pre_hooks"] = OrderedDict(), OrderedDict()
        d["_backward_hooks"], d["_backward_pre_hooks"] = OrderedDict(), OrderedDict()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        d = self.__dict__
        if not (d["_forward_pre_hooks"] or d["_forward_hooks"] or d["_backward_hooks"] or d["_backward_pre_hooks"]):
            return self.forward(*args, **kwargs)                   # no hooks (the usual case): just forward
        for hook in list(self._forward_pre_hooks.values()):      # hook(module, inputs) -> new inputs or None
            new = hook(self, args)
            if new is not None:
                args = new if isinstance(new, tuple) else (new,)
        backward = BackwardHooks(self, args) if self._backward_hooks or self._backward_pre_hooks else None
        if backward is not None:
            args = tuple(backward.args)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):          # hook(module, inputs, output) -> new output or None
            new = hook(self, args, out)
            if new is not None:
                out = new
        return out if backward is None else backward.setup_output(out)

    # ------------------------------------------------------------ registration by attribute
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() before setting {name!r}")
        params, modules, buffers = self._parameters, self._modules, self._buffers
        if isinstance(value, Parameter):
            if name not in params:                # a new name; an existing one is replaced in its place
                self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            if name not in modules:
                self._forget(name)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to parameter {name!r} of {type(self).__name__}"
                                " (wrap it in nn.Parameter, or set .data to change its values)")
            params[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"buffer {name!r} must be a Tensor or None, got {type(value).__name__}")
            buffers[name] = value
        elif name in modules and value is None:
            modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):      # only called when normal lookup fails
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise missing(f"{type(self).__name__!r} object", name, f"torch.nn.Module.{name}")

    def __delattr__(self, name):
        if not self._forget(name):
            object.__delattr__(self, name)

    def _forget(self, name) -> bool:
        found = False
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                found = True
        self._non_persistent.discard(name)
        self.__dict__.pop(name, None)
        return found

    def register_parameter(self, name, param):
        """Add a parameter under ``name`` (a Tensor becomes a Parameter; None reserves the name, as bias=False does)."""
        if param is None:
            self._forget(name)
            self._parameters[name] = None
        else:
            setattr(self, name, param if isinstance(param, Parameter) else Parameter(param))

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is state but not learned (moves with ``.to``; in ``state_dict`` only if ``persistent``).
        ``tensor`` may be None (a slot filled later)."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"register_buffer: the name must be a non-empty string without '.', got {name!r}")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: cannot assign {type(tensor).__name__} to buffer {name!r} "
                            "(a Tensor or None is required)")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        """Register ``module`` as the child ``name`` (None reserves the name)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module (child {name!r})")
        if str(name) not in self._modules:        # an existing child is replaced in its place
            self._forget(str(name))
        self._modules[str(name)] = module

    register_module = add_module

    def set_submodule(self, target: str, module: "Module", strict: bool = False):
        """Put ``module`` at a dotted path ("blocks.0.attn"), replacing what is there (with ``strict``, the path
        must already name a submodule)."""
        parent, _, name = target.rpartition(".")
        owner = self.get_submodule(parent)
        if not name or (strict and owner._modules.get(name) is None):
            raise AttributeError(f"set_submodule: {type(owner).__name__} has no submodule {name!r} (path {target!r})")
        if not isinstance(module, Module):
            raise TypeError(f"set_submodule: {type(module).__name__} is not a Module")
        setattr(owner, name, module)

    def get_submodule(self, target: str) -> "Module":
        """The descendant at a dotted path ("blocks.0.attn"); "" is the module itself."""
        m = self
        for part in target.split(".") if target else []:
            child = m._modules.get(part)
            if child is None:
                raise AttributeError(f"get_submodule: {type(m).__name__} has no submodule {part!r} (path {target!r})")
            m = child
        return m

    def get_parameter(self, target: str):
        """The parameter at a dotted path ("blocks.0.attn.q_proj.weight")."""
        return self._get_registered(target, "parameter")

    def get_buffer(self, target: str):
        """The buffer at a dotted path."""
        return self._get_registered(target, "buffer")

    def _get_registered(self, target, kind):
        """get_parameter / get_buffer: the entry of the submodule's ``_parameters`` / ``_buffers``."""
        mod, _, name = target.rpartition(".")
        m = self.get_submodule(mod)
        found = (m._parameters if kind == "parameter" else m._buffers).get(name)
        if found is None:
            raise AttributeError(f"get_{kind}: {type(m).__name__} has no {kind} {name!r} (path {target!r})")
        return found

    # ------------------------------------------------------------ walking the tree
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(path, module) for this module and every descendant, each module once (every time it appears
        with ``remove_duplicate=False``)."""
        if isinstance(memo, str):                 # the old order (prefix first), still accepted
            memo, prefix = None, memo
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_children(self):
        return ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self):
        return (m for _, m in self.named_children())

    def _named(self, store, prefix="", recurse=True, remove_duplicate=True, persistent_only=False):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for path, m in mods:
            for name, t in getattr(m, store).items():
                if t is None or (persistent_only and name in m._non_persistent):
                    continue
                if remove_duplicate:
                    if id(t) in seen:
                        continue                  # a tied weight is listed once, under its first name
                    seen.add(id(t))
                yield (f"{path}.{name}" if path else name), t

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """(path, buffer) for every buffer, persistent or not."""
        return self._named("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        return (b for _, b in self.named_buffers(recurse=recurse))

    def num_parameters(self, trainable_only=False) -> int:
        """Number of scalars in the parameters, each tied weight counted once."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------ state
    def _state_items(self, remove_duplicate):
        yield from self._named("_parameters", remove_duplicate=remove_duplicate)
        yield from self._named("_buffers", remove_duplicate=remove_duplicate, persistent_only=True)

    def state_dict(self, *, destination=None, prefix="", keep_vars=False) -> "OrderedDict[str, Tensor]":
        """name -> Tensor (detached, sharing memory; the tensors themselves with ``keep_vars``) for every
        parameter and persistent buffer, added to ``destination`` when given.

        A tied weight appears once, under its first name (PyTorch lists it under both);
        ``load_state_dict`` accepts either name.
        """
        out = OrderedDict() if destination is None else destination
        for n, t in self._state_items(remove_duplicate=True):
            out[prefix + n] = t if keep_vars else t.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy values into the existing tensors (their identity is kept).

        With ``strict`` every tensor must be given and every key used; any mismatch raises a
        ``RuntimeError`` that lists missing keys, unexpected keys and shape mismatches (both shapes).
        Returns ``(missing_keys, unexpected_keys)``, a named pair as PyTorch.
        """
        by_name = dict(self._state_items(remove_duplicate=False))      # includes the aliases of tied weights
        given = set(state_dict)
        unexpected = [k for k in state_dict if k not in by_name]
        missing, covered = [], set()
        for name, t in by_name.items():
            if name in given:
                covered.add(id(t))
        for name, t in self._state_items(remove_duplicate=True):
            if id(t) not in covered:
                missing.append(name)
        mismatched = [f"{k}: checkpoint shape {_shape(v)} vs model shape {by_name[k].shape}"
                      for k, v in state_dict.items() if k in by_name and _shape(v) != by_name[k].shape]
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if mismatched:
            problems.append("shape mismatches: " + "; ".join(mismatched))
        if problems:
            raise RuntimeError(f"error loading state_dict into {type(self).__name__}:\n  " + "\n  ".join(problems))
        for k, v in state_dict.items():
            if k in by_name:
                t = by_name[k]
                arr = v.data if isinstance(v, Tensor) else np.asarray(v) if not hasattr(v, "dtype") else v
                t.data = backend.to_device(arr, t.device).astype(t.dtype, copy=True)
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ modes, devices, gradients
    def train(self, mode=True):
        """Training mode (dropout on) for this module and every descendant; returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: training mode is expected to be boolean, got {mode!r}")
        for m in self.modules():
            m.__dict__["training"] = bool(mode)
        return self

    def eval(self):
        """Evaluation mode (dropout off): ``train(False)``; returns self."""
        return self.train(False)

    def to(self, *args, device=None, dtype=None, non_blocking=False):
        """Move every parameter and buffer (in place, so tied weights stay tied): ``.to("cuda")``,
        ``.to(tg.float64)``, ``.to("cuda", tg.float16)``, ``.to(tensor)`` (its device and dtype). Only floating
        tensors change dtype, as PyTorch. Returns self."""
        device, dtype = _to_args(args, device, dtype)
        if dtype is not None and backend.as_dtype(dtype).kind != "f":
            raise TypeError(f"Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
        device = backend.check_device(device) if device is not None else None
        dtype = backend.as_dtype(dtype)
        seen = set()
        for m in self.modules():
            for t in list(m._parameters.values()) + list(m._buffers.values()):
                if t is not None and id(t) not in seen:
                    seen.add(id(t))
                    _move(t, device, dtype)
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def double(self):
        return self.to(dtype=backend.float64)

    def float(self):
        return self.to(dtype=backend.float32)

    def half(self):
        return self.to(dtype=backend.float16)

    def type(self, dst_type):
        """Cast the floating parameters and buffers to ``dst_type`` (``.to(dtype)``); returns self."""
        return self.to(dtype=dst_type)

    def share_memory(self):
        """Does nothing and returns self: PyTorch moves the tensors to shared memory for multiprocessing; here
        the DataLoader's workers run in-process, so there is nothing to share."""
        return self

    def compile(self, *args, **kwargs):
        """Does nothing (PyTorch compiles the module in place and returns None; this engine runs eagerly)."""

    @property
    def device(self) -> str:
        """The device of the first parameter (of the first buffer if there is none; "cpu" if neither)."""
        p = self._first("_parameters")
        p = self._first("_buffers") if p is None else p
        return p.device if p is not None else "cpu"

    def _first(self, store):
        """The first tensor that ``named_parameters()`` / ``named_buffers()`` would list (depth first), without
        walking the whole tree: ``device`` is asked on every generation step."""
        for t in self.__dict__[store].values():
            if t is not None:
                return t
        for m in self._modules.values():
            t = None if m is None else m._first(store)
            if t is not None:
                return t
        return None

    @property
    def dtype(self):
        p = self._first("_parameters")
        return p.dtype if p is not None else backend.DEFAULT_FLOAT

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's gradient: None (the default, as PyTorch 2), or zeros with ``set_to_none=False``."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = Tensor._wrap(p.grad.data * 0, p.device)

    def requires_grad_(self, requires_grad=True):
        """Switch gradient tracking of every parameter on or off (freezing a layer); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule (children first) and on self, as PyTorch."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------ hooks
    def register_forward_hook(self, fn):
        """``fn(module, inputs, output)`` after every forward; a non-None return replaces the output."""
        h = _Handle(self._forward_hooks)
        self._forward_hooks[h.id] = fn
        return h

    def register_forward_pre_hook(self, fn):
        """``fn(module, inputs)`` before every forward; a non-None return replaces the inputs."""
        h = _Handle(self._forward_pre_hooks)
        self._forward_pre_hooks[h.id] = fn
        return h

    def register_full_backward_hook(self, hook):
        """``hook(module, grad_input, grad_output)`` once the gradients of this module's inputs are known; a
        non-None return replaces grad_input (for a module with one tensor input). See nn/hooks.py."""
        h = _Handle(self._backward_hooks)
        self._backward_hooks[h.id] = hook
        return h

    def register_full_backward_pre_hook(self, hook):
        """``hook(module, grad_output)`` once the gradient of this module's output is known; a non-None return
        replaces grad_output."""
        h = _Handle(self._backward_pre_hooks)
        self._backward_pre_hooks[h.id] = hook
        return h

    # ------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """What goes between the parentheses of this module's line in ``repr`` (override it)."""
        return ""

    def __repr__(self):
        children = [f"({name}): {m!r}" for name, m in self._modules.items()]
        return _tree(type(self).__name__, self.extra_repr(), children)

    def __dir__(self):
        return list(super().__dir__()) + list(self._parameters) + list(self._buffers) + list(self._modules)


class _FunctionModule(Module):
    """A function of ``nn.functional`` as a module: ``class ReLU(_FunctionModule, fn=F.relu)``.
    ``forward(input)`` is ``fn(input, *arguments)``: ``__init__`` keeps the arguments, in the order fn takes
    them, with ``self._keep(name=value, ...)``, and they print as PyTorch prints them: ``name=value`` each
    (a string quoted), then ``inplace=True`` only when it is set."""

    _arguments = ()

    def __init_subclass__(cls, fn=None, **kwargs):
        super().__init_subclass__(**kwargs)
        if fn is not None:
            cls._fn = staticmethod(fn)

    def _keep(self, **arguments):
        self._arguments = tuple(arguments)
        for name, value in arguments.items():
            setattr(self, name, value)

    def forward(self, input):  # noqa: A002
        return self._fn(input, *(getattr(self, name) for name in self._arguments))

    def extra_repr(self):
        values = {name: getattr(self, name) for name in self._arguments if name != "inplace"}
        shown = [f"{name}={value!r}" if isinstance(value, str) else f"{name}={value}" for name, value in values.items()]
        return ", ".join(shown + (["inplace=True"] if getattr(self, "inplace", False) else []))


class _NdModule(Module):
    """The base of a layer PyTorch has in 1d, 2d and 3d variants, which differ only in ``nd``, the number of
    spatial dims: ``class Conv2d(_ConvNd, nd=2)``."""

    nd = 1

    def __init_subclass__(cls, nd=None, **kwargs):
        super().__init_subclass__(**kwargs)
        if nd is not None:
            cls.nd = nd


def _shape(v) -> tuple:
    return tuple((v.data if isinstance(v, Tensor) else v).shape) if hasattr(v, "shape") else tuple(np.shape(v))


def _tree(name, extra, children):
    """PyTorch's layout: ``Name(extra)`` for a leaf, else one indented line per child."""
    if not children:
        return f"{name}({extra})"
    lines = extra.split("\n") if extra else []
    lines += [c.replace("\n", "\n  ") for c in children]
    return name + "(\n" + "".join(f"  {ln}\n" for ln in lines) + ")"
