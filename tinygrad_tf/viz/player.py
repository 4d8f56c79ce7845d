"""A player for a sequence of drawings: step through backward() one node at a time, in Jupyter or a browser.

    frames = viz.backward_steps(loss)          # one Graphviz drawing per node, in backward's order
    player = viz.play(frames)                  # shows itself in a Jupyter cell
    player.save("backward.html")               # one file: open it in any browser, offline

The player is plain HTML with a few lines of JavaScript: the frames are inline SVG (drawn once, by Graphviz's
``dot``), the script is inline too, nothing is fetched from anywhere. Buttons: first, previous, play/pause,
next, last; a slider; the keyboard: ← → (previous / next), Home / End, space (play / pause) — in a notebook
after clicking the player, in a saved page anywhere on it. A frame can be a graph drawing (``draw_graph``,
``backward_steps``), SVG text, or anything with ``_repr_svg_`` (a matplotlib figure from viz.figures).
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import re
from pathlib import Path

from ..fileio import atomic_write

__all__ = ["Player", "play"]

_COUNTER = itertools.count(1)
_PROLOG = re.compile(r"^\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?(<!--.*?-->\s*)*", re.S)
_ID = re.compile(r'\bid="([^"]+)"')


def _svg_of(frame) -> str:
    """A frame as SVG text: a graphviz drawing is rendered with ``dot``, SVG text passes through."""
    if isinstance(frame, bytes):
        frame = frame.decode("utf-8")
    if isinstance(frame, str):
        text = frame
    elif hasattr(frame, "pipe") and hasattr(frame, "source"):          # graphviz.Digraph / GraphDrawing
        import graphviz
        from .graph_render import INSTALL_HINT
        try:
            text = frame.pipe(format="svg", encoding="utf-8")
        except graphviz.ExecutableNotFound:
            raise RuntimeError(f"viz.play draws its frames with Graphviz's `dot`, which was not found; "
                               f"{INSTALL_HINT}") from None
    elif hasattr(frame, "_repr_svg_"):
        text = frame._repr_svg_()
    else:
        raise TypeError(f"viz.play: a frame must be a graph drawing, SVG text or have _repr_svg_, "
                        f"not {type(frame).__name__}")
    text = _PROLOG.sub("", text, count=1)
    if not text.lstrip().startswith("<svg"):
        raise ValueError("viz.play: a frame is not SVG (it does not start with <svg)")
    return text


def _scoped(svg: str, prefix: str) -> str:
    """Make the ids of one frame unique in the page (``prefix-`` in front), references included."""
    ids = set(_ID.findall(svg))
    if not ids:
        return svg
    svg = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)

    def ref(m):
        name = m.group(2)
        return f"{m.group(1)}{prefix}-{name}" if name in ids else m.group(0)
    return re.sub(r'(url\(#|href="#)([^)"]+)', ref, svg)


def _caption(frame, i, n) -> str:
    summary = getattr(frame, "summary", None) or {}
    what = summary.get("step") if isinstance(summary, dict) else None
    return f"step {i + 1} of {n}" + (f": {what}" if what else "")


class Player:
    """Frames (SVG) with captions; ``_repr_html_`` for Jupyter, ``save(path)`` for a standalone page."""

    def __init__(self, frames, captions=None, title: str | None = None, interval: float = 0.8):
        frames = list(frames)
        if not frames:
            raise ValueError("viz.play needs at least one frame (backward_steps of a tensor with a graph)")
        if captions is not None and len(captions) != len(frames):
            raise ValueError(f"viz.play: {len(captions)} captions for {len(frames)} frames")
        if not interval > 0:
            raise ValueError(f"viz.play: interval must be a positive number of seconds, got {interval!r}")
        self.svgs = [_svg_of(f) for f in frames]
        self.captions = [str(c) for c in captions] if captions is not None else \
            [_caption(f, i, len(frames)) for i, f in enumerate(frames)]
        self.title, self.interval = title, float(interval)
        self._key = hashlib.sha1("\0".join(self.svgs + self.captions).encode("utf-8")).hexdigest()[:10]

    def __len__(self) -> int:
        return len(self.svgs)

    def __repr__(self) -> str:
        return (f"<Player: {len(self)} frames; shows itself in Jupyter, .save('backward.html') writes a page "
                "you open in a browser>")

    def to_html(self, standalone: bool = False, uid: str | None = None) -> str:
        """The player as an HTML fragment (``standalone``: a whole page, keys work anywhere on it)."""
        uid = uid or f"tgplayer-{self._key}"
        frames = "\n".join(
            f'<div class="tgp-frame{" on" if i == 0 else ""}" data-caption="{html.escape(c)}">'
            f"{_scoped(svg, f'{uid}-f{i}')}</div>" for i, (svg, c) in enumerate(zip(self.svgs, self.captions)))
        n = len(self)
        title = f'<div class="tgp-title">{html.escape(self.title)}</div>' if self.title else ""
        body = _TEMPLATE.format(uid=uid, frames=frames, n=n, last=n - 1, title=title,
                                caption=html.escape(self.captions[0]), css=_CSS.replace("ROOT", f"#{uid}"))
        script = _SCRIPT.replace("UID", json.dumps(uid)).replace("INTERVAL", str(int(self.interval * 1000))) \
            .replace("STANDALONE", "true" if standalone else "false")
        fragment = f"{body}\n<script>\n{script}\n</script>"
        if not standalone:
            return fragment
        page_title = html.escape(self.title or "tinygrad_tf: backward, step by step")
        return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{page_title}</title>\n'
                f"</head>\n<body>\n{fragment}\n</body>\n</html>\n")

    def _repr_html_(self) -> str:
        return self.to_html(uid=f"tgplayer-{self._key}-{next(_COUNTER)}")    # unique if shown twice

    def save(self, path) -> Path:
        """Write the player as one self-contained HTML page (atomically); returns the path."""
        return atomic_write(Path(path), self.to_html(standalone=True).encode("utf-8"))


def play(frames, captions=None, title: str | None = None, interval: float = 0.8) -> Player:
    """A player for ``frames`` (e.g. ``viz.backward_steps(loss)``): step through them with buttons, a slider or
    the arrow keys, or play them every ``interval`` seconds. Shows itself in Jupyter; ``.save("x.html")``."""
    return Player(frames, captions=captions, title=title, interval=interval)


_CSS = """ROOT{font-family:-apple-system,'Segoe UI','DejaVu Sans',Helvetica,Arial,sans-serif;outline:none;
max-width:100%;color:#222;background:#fff;padding:6px;border:1px solid #ddd;border-radius:6px}
ROOT:focus{border-color:#4a90d9}
ROOT .tgp-title{font-weight:bold;margin-bottom:4px}
ROOT .tgp-bar{display:flex;align-items:center;gap:6px;flex-wrap:wrap;margin-bottom:6px}
ROOT button{font:inherit;padding:2px 10px;cursor:pointer}
ROOT input[type=range]{flex:1;min-width:120px}
ROOT .tgp-counter{font-variant-numeric:tabular-nums;min-width:5em;text-align:right}
ROOT .tgp-caption{color:#555;margin-bottom:4px}
ROOT .tgp-frame{display:none;overflow:auto}
ROOT .tgp-frame.on{display:block}
ROOT .tgp-frame svg{max-width:100%;height:auto}"""

# data-lm-/data-p-suppress-shortcuts: JupyterLab leaves the keys to the player while it has the focus
_TEMPLATE = """<div id="{uid}" class="tgp" tabindex="0" data-frame="0" data-frames="{n}" data-lm-suppress-shortcuts="true"
data-p-suppress-shortcuts="true">
<style>{css}</style>
{title}<div class="tgp-bar">
<button type="button" class="tgp-first" title="first (Home)">|&#x25C0;</button>
<button type="button" class="tgp-prev" title="previous (&#x2190;)">&#x25C0; prev</button>
<button type="button" class="tgp-play" title="play / pause (space)">&#x25B6; play</button>
<button type="button" class="tgp-next" title="next (&#x2192;)">next &#x25B6;</button>
<button type="button" class="tgp-last" title="last (End)">&#x25B6;|</button>
<input type="range" class="tgp-slider" min="0" max="{last}" value="0" step="1" aria-label="frame">
<span class="tgp-counter">1 / {n}</span>
</div>
<div class="tgp-caption">{caption}</div>
{frames}
</div>"""

_SCRIPT = """(function () {
  var root = document.getElementById(UID);
  if (!root || root.getAttribute("data-ready")) return;
  root.setAttribute("data-ready", "1");
  var frames = root.querySelectorAll(".tgp-frame"), n = frames.length, i = 0, timer = null;
  var slider = root.querySelector(".tgp-slider"), counter = root.querySelector(".tgp-counter");
  var caption = root.querySelector(".tgp-caption"), playButton = root.querySelector(".tgp-play");
  function show(k) {
    k = Math.max(0, Math.min(n - 1, k));
    frames[i].classList.remove("on");
    i = k;
    frames[i].classList.add("on");
    slider.value = String(i);
    counter.textContent = (i + 1) + " / " + n;
    caption.textContent = frames[i].getAttribute("data-caption");
    root.setAttribute("data-frame", String(i));
  }
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    playButton.innerHTML = "&#x25B6; play";
  }
  function play() {
    if (timer !== null) { stop(); return; }
    if (i >= n - 1) show(0);
    playButton.innerHTML = "&#x25AE;&#x25AE; pause";
    timer = setInterval(function () { if (i >= n - 1) stop(); else show(i + 1); }, INTERVAL);
  }
  function step(k) { stop(); show(k); }
  root.querySelector(".tgp-first").onclick = function () { step(0); };
  root.querySelector(".tgp-prev").onclick = function () { step(i - 1); };
  root.querySelector(".tgp-next").onclick = function () { step(i + 1); };
  root.querySelector(".tgp-last").onclick = function () { step(n - 1); };
  playButton.onclick = play;
  slider.oninput = function () { step(parseInt(slider.value, 10)); };
  function key(e) {
    if (e.target === slider && e.key !== " ") return;          // the slider moves itself (and calls oninput)
    if (e.target.tagName === "BUTTON" && (e.key === " " || e.key === "Enter")) return;   // a button clicks itself
    var k = {ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: n - 1}[e.key];
    if (k !== undefined) step(k);
    else if (e.key === " ") play();
    else return;
    e.preventDefault();
    e.stopPropagation();                                      // Jupyter's own shortcuts stay out of it
  }
  root.addEventListener("keydown", key);
  if (STANDALONE) {
    document.addEventListener("keydown", function (e) { if (!root.contains(e.target)) key(e); });
    root.focus();
  }
})();"""
