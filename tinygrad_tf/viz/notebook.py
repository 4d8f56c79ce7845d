"""Jupyter: whether we run in a kernel, and one cell output that redraws in place.

Readouts show themselves in a cell (``_repr_html_``: viz/readout.py), graph drawings too (SVG, from
graphviz), figures as SVG (viz/figures.py). For a view that changes while the cell runs — the training
dashboard — ``LiveCell`` displays it once with a display id and replaces that output on each update
(IPython's ``display(..., display_id=True)`` handle): no widgets, no JavaScript, nothing to install.

    with dash.live():              # in a kernel this is dash.live_notebook(); on a terminal rich's Live
        trainer.run()
"""

from __future__ import annotations

import sys
import time

__all__ = ["in_kernel", "LiveCell"]


def in_kernel() -> bool:
    """True inside a Jupyter kernel (a notebook, JupyterLab, VS Code, Colab): IPython is running with a kernel.
    A plain IPython terminal, or a script, is not a kernel."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # noqa: BLE001  (a half-imported or unusual IPython: not a kernel we can draw in)
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


class LiveCell:
    """An output of the running cell that is replaced in place: ``update()`` redraws ``render()`` (a callable
    returning an HTML string), at most once per ``interval`` seconds unless ``force=True``."""

    def __init__(self, render, interval: float = 0.5):
        from IPython.display import HTML, display
        self._html, self.render, self.interval = HTML, render, float(interval)
        self.handle = display(HTML(render()), display_id=True)
        self.updates = 0
        self._last = time.perf_counter()

    def update(self, *_, force: bool = False, **__) -> bool:
        """Redraw now if ``interval`` has passed since the last redraw (or ``force``); True if it redrew.
        (Extra arguments are accepted so that it stands in for rich's ``Live.update(renderable, refresh=)``.)"""
        now = time.perf_counter()
        if not force and now - self._last < self.interval:
            return False
        self.handle.update(self._html(self.render()))
        self._last, self.updates = now, self.updates + 1
        return True
