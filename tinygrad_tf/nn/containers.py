"""Containers: Sequential (a pipeline), ModuleList and ModuleDict (registered collections of layers),
ParameterList and ParameterDict (registered collections of weights).

A plain Python list of layers would hide them from ``parameters()``; these
register each item as a submodule (or parameter) named by its index or key ("blocks.3...").
"""

from __future__ import annotations

from collections import OrderedDict

from ..tensor import Tensor
from .module import Module, Parameter


class _Ordered(Module):
    """What Sequential and ModuleList share: children kept in order, registered as "0", "1", ..."""

    def _of(self, modules):            # what a slice gives: a container of the same kind
        raise NotImplementedError

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return self._of(mods[i]) if isinstance(i, slice) else mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._renumber(mods)

    def pop(self, index=-1):
        mods = list(self._modules.values())
        m = mods.pop(index)
        self._renumber(mods)
        return m

    def __setitem__(self, i, module):
        self.add_module(list(self._modules)[i] if isinstance(i, int) else str(i), module)

    def __delitem__(self, i):
        mods = list(self._modules.values())
        del mods[i]
        self._renumber(mods)                 # "0", "1", ... again, as PyTorch

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return self._of(list(self) + list(other))

    def _renumber(self, modules):
        self._modules.clear()
        for m in modules:
            self.append(m)


class Sequential(_Ordered):
    """``Sequential(a, b, c)(x) == c(b(a(x)))``; indexed, sliced, iterated and ``append``-ed as a list."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def _of(self, modules):
        return Sequential(*modules)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x


class ModuleList(_Ordered):
    """A list of modules, registered as "0", "1", ... (no forward: iterate it yourself); indexed, sliced,
    ``append``-ed as a list."""

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    def _of(self, modules):
        return ModuleList(modules)

    def __repr__(self):
        """Runs of identical children collapse, as PyTorch: ``(0-11): 12 x Block(...)``."""
        from .module import _tree
        lines, items = [], [(n, repr(m)) for n, m in self._modules.items()]
        i = 0
        while i < len(items):
            j = i
            while j + 1 < len(items) and items[j + 1][1] == items[i][1]:
                j += 1
            if j > i:
                lines.append(f"({items[i][0]}-{items[j][0]}): {j - i + 1} x {items[i][1]}")
            else:
                lines.append(f"({items[i][0]}): {items[i][1]}")
            i = j + 1
        return _tree(type(self).__name__, "", lines)


class _Keyed(Module):
    """What ModuleDict and ParameterDict share: a dict's reading of their entries, which are registered in
    ``self._modules`` or ``self._parameters`` (``_table`` says which); each registers new ones its own way."""

    def _entries(self):
        return self.__dict__[self._table]

    def __getitem__(self, key):
        return self._entries()[key]

    def __delitem__(self, key):
        del self._entries()[key]

    def __contains__(self, key):
        return key in self._entries()

    def __len__(self):
        return len(self._entries())

    def __iter__(self):
        return iter(self._entries())

    def keys(self):
        return self._entries().keys()

    def values(self):
        return self._entries().values()

    def items(self):
        return self._entries().items()

    def pop(self, key):
        entry = self._entries()[key]
        del self[key]
        return entry

    def clear(self):
        self._entries().clear()


class ModuleDict(_Keyed):
    """A dict of modules, registered under their keys (``md.key`` works too); insertion order is kept."""

    _table = "_modules"

    def __init__(self, modules=None):
        super().__init__()
        for k, m in (modules or {}).items():
            self.add_module(k, m)

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def update(self, modules):
        """Add (or replace) the modules of a dict, a ModuleDict or (key, module) pairs."""
        for k, m in (modules.items() if hasattr(modules, "items") else modules):
            self[k] = m


def _as_parameter(value):
    """PyTorch's rule for the parameter containers: a plain Tensor is wrapped in a Parameter."""
    return Parameter(value) if isinstance(value, Tensor) and not isinstance(value, Parameter) else value


class ParameterList(Module):
    """A list of parameters, registered as "0", "1", ... (``parameters()`` finds them); a plain Tensor appended
    is made a Parameter. Indexed, iterated, ``append``-ed and ``extend``-ed as a list."""

    def __init__(self, values=None):
        super().__init__()
        self.extend(values or [])

    def __getitem__(self, i):
        if isinstance(i, slice):
            return ParameterList(list(self)[i])
        return self._parameters[str(range(len(self))[i])]

    def __setitem__(self, i, param):
        self.register_parameter(str(range(len(self))[i]), _as_parameter(param))

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def __iadd__(self, params):
        return self.extend(params)

    def append(self, value):
        self.register_parameter(str(len(self)), _as_parameter(value))
        return self

    def extend(self, values):
        for v in values:
            self.append(v)
        return self

    def extra_repr(self):
        return "\n".join(f"({i}): Parameter containing: [{p.dtype} of size {'x'.join(map(str, p.shape))}]"
                         for i, p in enumerate(self))


class ParameterDict(_Keyed):
    """A dict of parameters, registered under their keys; a plain Tensor is made a Parameter."""

    _table = "_parameters"

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __setitem__(self, key, value):
        self.register_parameter(key, _as_parameter(value))

    def get(self, key, default=None):
        return self._parameters.get(key, default)

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, parameters):
        """Add (or replace) the parameters of a dict, a ParameterDict or (key, value) pairs."""
        items = parameters.items() if hasattr(parameters, "items") else parameters
        for k, v in (sorted(items) if isinstance(parameters, dict) and not isinstance(parameters, OrderedDict)
                     else items):
            self[k] = v

    def extra_repr(self):
        return "\n".join(f"({k}): Parameter containing: [{p.dtype} of size {'x'.join(map(str, p.shape))}]"
                         for k, p in self.items())
