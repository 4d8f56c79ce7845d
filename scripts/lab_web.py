"""Drive `tinygrad-tf lab --web` in a real headless browser; saves the picture in docs/lab.md.

    python scripts/lab_web.py                      # writes docs/img/lab-web.png (about 20 s)
    python scripts/lab_web.py --out shot.png --steps 100

It starts the server (`python -m tinygrad_tf lab --web`), opens the page in Debian's Chromium through
Playwright, types a step count into the form, presses s and waits until the run is done, then takes a
screenshot. tests/test_lab_web.py uses the same pieces (``LabServer``, ``LabPage``) to check the lab in a
browser. Needs ``pip install -e ".[test]"`` (playwright, textual-serve) and ``apt-get install chromium``;
Playwright's own browser download is not used.

How the page is read: textual-serve draws the app with xterm.js on a canvas, so the text is not in the DOM.
The page's script is served with one line added that keeps a reference to its xterm.js ``Terminal``
(``window.__tgTerm``); the screen's text is then read from the terminal's own buffer, cell for cell.
"""

from __future__ import annotations

import argparse
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("TG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
_HOOK = "this.terminal.open(e)"               # in textual-serve's textual.js: where the Terminal is attached
_READ_SCREEN = """() => { const t = window.__tgTerm, b = t.buffer.active, out = [];
    for (let y = 0; y < t.rows; y++) { const l = b.getLine(y); out.push(l ? l.translateToString(true) : ""); }
    return out.join("\\n"); }"""
DASHBOARD = re.compile(r"step (\d+)/(\d+)\s+loss ([\d.]+) \(best ([\d.]+)\)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """``tinygrad-tf lab --web`` in a subprocess; ``url`` is the address its first line gives."""

    def __init__(self, runs, port: int | None = None, timeout: float = 30.0, extra=()):
        self.port = port or free_port()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([sys.executable, "-m", "tinygrad_tf", "lab", "--web", "--port", str(self.port),
                                      "--runs", str(runs), *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT))
        self._buf = b""
        self.first_line = self._readline(timeout)
        m = re.search(r"open (http://\S+)", self.first_line)
        if not m:
            self.stop()
            raise RuntimeError(f"the lab server did not say its address; it printed: {self.first_line!r}")
        self.url = m[1]

    def _readline(self, timeout: float) -> str:
        """The server's next line of output ('' if none came within ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode("utf-8", "replace")

    def stop(self, timeout: float = 30.0) -> int:
        """Ctrl-C, as a user would; the lab processes it started stop (and save) their runs first."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        return self.proc.returncode


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


class LabPage:
    """The lab's page in the browser: read its screen, click its cells, type."""

    def __init__(self, browser, url: str, viewport=(1280, 800), timeout: float = 30.0):
        self.page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        # offline: the page asks Google Fonts for a font; the terminal falls back to a local monospace one
        self.page.route(re.compile(r"^https?://fonts\.(googleapis|gstatic)\.com/"), lambda route: route.abort())
        self.page.route("**/static/js/textual.js", self._expose_terminal)
        self.page.goto(url)
        self.wait_for(lambda text: "1 Train" in text and "steps" in text, timeout, "the lab's Train tab")

    @staticmethod
    def _expose_terminal(route):
        response = route.fetch()
        body = response.text()
        if _HOOK not in body:               # textual-serve changed: say so instead of timing out later
            raise RuntimeError(f"textual.js no longer contains {_HOOK!r}; update scripts/lab_web.py")
        route.fulfill(response=response, body=body.replace(_HOOK, _HOOK + ",window.__tgTerm=this.terminal", 1))

    def screen(self) -> str:
        """The terminal's text, one line per row (the app's own rendering, read from xterm.js's buffer)."""
        if not self.page.evaluate("() => !!window.__tgTerm"):
            return ""
        return self.page.evaluate(_READ_SCREEN)

    def wait_for(self, cond, timeout: float = 30.0, what: str = "the screen", every: float = 0.25):
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if cond(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; the screen:\n{text}")
            self.page.wait_for_timeout(every * 1000)

    def click_cell(self, row: int, col: int) -> None:
        """A mouse click on a terminal cell (the app gets it as a click, as from a user)."""
        box = self.page.locator(".xterm-screen").bounding_box()
        cols, rows = self.page.evaluate("() => [window.__tgTerm.cols, window.__tgTerm.rows]")
        cw, ch = box["width"] / cols, box["height"] / rows
        self.page.mouse.click(box["x"] + (col + 0.5) * cw, box["y"] + (row + 0.5) * ch)

    def set_field(self, label: str, value: str, timeout: float = 15.0) -> None:
        """Click the form field labelled ``label``, replace its text with ``value``, leave the field (esc).
        Each step is checked on the screen, and redone if it did not take (on a busy machine, keys sent before
        the click has moved the focus go elsewhere)."""
        m = re.search(rf"^{re.escape(label)}(\s+)", self.screen(), re.M)
        if not m:
            raise AssertionError(f"no field labelled {label!r} on the screen")
        row, col = self.screen()[:m.start()].count("\n"), len(label) + len(m[1]) + 1
        empty = re.compile(rf"^{re.escape(label)}\s*$", re.M)
        done = re.compile(rf"^{re.escape(label)}\s+{re.escape(value)}\s", re.M)
        deadline = time.monotonic() + timeout
        while not done.search(self.screen()):
            if time.monotonic() > deadline:
                raise AssertionError(f"could not set {label} to {value}; the screen:\n{self.screen()}")
            self.click_cell(row, col)
            self.page.wait_for_timeout(200)
            self.page.keyboard.press("End")
            self.page.keyboard.press("Control+u")   # the Input's "delete everything left of the cursor"
            try:
                self.wait_for(lambda text: empty.search(text), 2, f"the {label} field to empty", every=0.1)
            except AssertionError:
                continue
            self.page.keyboard.type(value)
            try:
                self.wait_for(lambda text: done.search(text), 3, f"{label} to read {value}", every=0.1)
            except AssertionError:
                continue
        self.page.keyboard.press("Escape")
        self.page.wait_for_timeout(300)     # a key right after esc would be read as alt+key

    def click_text(self, pattern: str) -> None:
        """Click the middle of the first place on the screen where the regex ``pattern`` matches."""
        text = self.screen()
        m = re.search(pattern, text, re.M)
        if not m:
            raise AssertionError(f"{pattern!r} is not on the screen:\n{text}")
        row = text[:m.start()].count("\n")
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + (m.end() - m.start()) // 2
        self.click_cell(row, col)

    def _clear(self, row: int, col: int, label: str) -> bool:
        self.click_cell(row, col)
        self.page.wait_for_timeout(200)
        self.page.keyboard.press("End")
        self.page.keyboard.press("Control+u")       # the Input's "delete everything left of the cursor"
        self.page.wait_for_timeout(200)
        return bool(re.search(rf"^{re.escape(label)}\s*$", self.screen(), re.M))

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)

    def screenshot(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))
        return path


def dashboard(text: str):
    """(step, total, loss, best loss) from the live dashboard on the screen, or None."""
    m = DASHBOARD.search(text)
    return (int(m[1]), int(m[2]), float(m[3]), float(m[4])) if m else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "img" / "lab-web.png"))
    parser.add_argument("--steps", default="120", help="the run's steps (typed into the form)")
    parser.add_argument("--runs", help="the runs folder (default: a temporary one)")
    args = parser.parse_args(argv)
    import tempfile

    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory() as tmp:
        server = LabServer(Path(args.runs or tmp) / "runs")
        try:
            with sync_playwright() as p:
                browser = launch(p)
                lab = LabPage(browser, server.url)
                lab.set_field("steps", args.steps)
                lab.click_text(r"(?<= )Start(?=    Pause)")
                lab.wait_for(lambda t: "● done" in t, 300, "the run to finish")
                lab.page.wait_for_timeout(500)
                print(lab.screenshot(args.out))
                browser.close()
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
