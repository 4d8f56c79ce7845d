"""Writing drawings to files: SVG / PNG / PDF through Graphviz's ``dot``, and what happens without it.

Without the ``dot`` program nothing raises ``graphviz.ExecutableNotFound``: the DOT source is
written instead and one line on stderr says how to install Graphviz. Files are written
atomically (a temporary file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import html
import sys
from pathlib import Path

import graphviz

from ..fileio import atomic_write

INSTALL_HINT = ("install Graphviz to render it: apt-get install graphviz | brew install graphviz | "
                "conda install -c conda-forge graphviz")


# ---------------------------------------------------------------- the Digraph users get back
class GraphDrawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` that says how to install Graphviz (one line) instead of raising
    ``ExecutableNotFound`` when ``render()`` or a notebook needs the missing ``dot`` program.

    ``.summary``: ops in the graph, nodes drawn, the depth used, and the notes in the graph's label.
    """

    summary: dict = {}

    def render(self, *args, **kwargs):
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound:
            print(f"Graphviz's `dot` program was not found, so only the DOT source was written "
                  f"({self.filepath}); {INSTALL_HINT}", file=sys.stderr)
            return self.filepath

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        """Jupyter: the drawing as SVG (and the plain line); without ``dot``, an HTML note with the DOT source."""
        try:
            bundle = super()._repr_mimebundle_(include, exclude, **kwargs)
        except graphviz.ExecutableNotFound:
            note = (f"graph: {self.summary.get('nodes', '?')} nodes; Graphviz's `dot` program is missing, "
                    f"{INSTALL_HINT}; the DOT source is in .source")
            return {"text/plain": f"<{note}>",
                    "text/html": f"<p><b>{html.escape(note, quote=False)}</b></p><pre>{html.escape(self.source)}</pre>"}
        return {"text/plain": self._plain(), **bundle}

    def _repr_svg_(self) -> str | None:
        try:
            return self.pipe(format="svg", encoding="utf-8")
        except graphviz.ExecutableNotFound:
            return None                         # the mimebundle's HTML note says what to install

    def _plain(self) -> str:
        s = self.summary or {}
        return f"<graph drawing: {s.get('nodes', '?')} nodes, {s.get('ops', '?')} ops; viz.render(g, 'g.svg')>"


# ---------------------------------------------------------------- rendering
_atomic_write = atomic_write    # the package-wide atomic write (fileio)


_FORMATS = ("svg", "png", "pdf", "dot", "gv")


def render(graph, path, format=None, engine="dot") -> Path:  # noqa: A002  (graphviz's own argument name)
    """Write ``graph`` (a Digraph, or DOT source text) to ``path`` as SVG, PNG or PDF; returns the path written.

    The format comes from ``format`` or the file's suffix (default svg). Without Graphviz's ``dot``
    program the DOT source is written next to it (``path`` with suffix ``.dot``), one line on stderr
    says how to install Graphviz, and that ``.dot`` path is returned. Files are written atomically.
    """
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".") or "svg").lower()
    if fmt not in _FORMATS:
        raise ValueError(f"render: format must be one of {', '.join(_FORMATS[:3])} (or dot), got {fmt!r}")
    if path.suffix.lstrip(".").lower() != fmt:
        path = path.with_name(path.name + "." + fmt)
    source = graph if isinstance(graph, str) else graph.source
    if fmt in ("dot", "gv"):
        _atomic_write(path, source.encode("utf-8"))
        return path
    try:
        data = graphviz.Source(source, engine=engine).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        dot_path = path.with_suffix(".dot")
        _atomic_write(dot_path, source.encode("utf-8"))
        print(f"Graphviz's `dot` program was not found, so {dot_path} holds the DOT source instead of a "
              f"{fmt.upper()}; {INSTALL_HINT}", file=sys.stderr)
        return dot_path
    except graphviz.CalledProcessError as e:
        err = (e.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"render: Graphviz failed on this graph: {err[0] if err else e}") from None
    _atomic_write(path, data)
    return path
