"""Containers: Sequential (a pipeline), ModuleList and ModuleDict (registered collections).

A plain Python list of layers would hide them from ``parameters()``; these
register each item as a submodule named by its index or key ("blocks.3...").
"""

from __future__ import annotations

from .module import Module


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

    def __setitem__(self, i, module):
        self.add_module(str(range(len(self))[i]), module)

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._modules.clear()
        self.extend(mods)

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


class ModuleDict(Module):
    """A dict of modules, registered under their keys."""

    def __init__(self, modules=None):
        super().__init__()
        for k, m in (modules or {}).items():
            self.add_module(k, m)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()
