"""``tinygrad-tf lab --web``: the same lab app, in a browser.

textual-serve (Textualize's own server for Textual apps; the optional ``[web]`` extra) serves a page that runs
xterm.js; each browser tab that opens it gets its own lab process (``python -m tinygrad_tf lab ...`` with
Textual's web driver), talking to it over a websocket. The runs folder is shared, so every tab sees every run.

It listens on 127.0.0.1 by default: only this machine can open it. ``--host 0.0.0.0`` lets others in — anyone
who can reach the port can then train models and read files through the corpus field, so it says so.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

__all__ = ["serve", "served_command", "is_served", "LOOPBACK", "WebError"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")
WEB_DRIVER_ENV = "TEXTUAL_DRIVER"           # textual-serve starts each app with Textual's web driver named here


class WebError(ValueError):
    """The lab cannot be served (textual-serve missing, a port in use); one line for the user."""


def is_served(environ=None) -> bool:
    """True inside a lab process that textual-serve started for a browser (stdin is a pipe, not a terminal)."""
    import os
    return "web_driver" in (environ if environ is not None else os.environ).get(WEB_DRIVER_ENV, "")


def served_command(runs: Path, tab: str = "train", threads: int = 1) -> str:
    """The shell command textual-serve runs for each browser tab: this interpreter, this package."""
    return shlex.join([sys.executable, "-m", "tinygrad_tf", "lab", "--runs", str(Path(runs).resolve()),
                       "--tab", tab, "--threads", str(threads)])


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(runs: Path, host: str = "127.0.0.1", port: int = 8000, tab: str = "train", threads: int = 1,
          out=None) -> None:
    """Serve the lab on http://HOST:PORT until Ctrl-C. Prints one line with the address to open."""
    try:
        from textual_serve.server import Server
    except ImportError:
        raise WebError("the lab in a browser needs textual-serve: pip install 'tinygrad-tf[web]' "
                       "(or pip install textual-serve)") from None
    import errno
    import socket
    out = out or sys.stdout
    runs = Path(runs).resolve()
    url = _url(host, port)
    try:                                    # a taken port is one clear line, before the server starts
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise WebError(f"port {port} on {host} is in use (another lab?): pass --port N") from None
        raise WebError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None

    class LabServer(Server):
        def initialize_logging(self) -> None:
            super().initialize_logging()
            import logging
            logging.getLogger("aiohttp.access").setLevel(logging.WARNING)     # not a line per request

        async def on_startup(self, app) -> None:            # our line instead of textual-serve's banner
            print(f"tinygrad-tf lab in a browser: open {url}   (runs are saved in {runs}; Ctrl-C stops the server)",
                  file=out, flush=True)
            if host not in LOOPBACK:
                print(f"warning: listening on {host}, not only this machine: anyone who can reach port {port} can "
                      "train models here and read files through the corpus field", file=out, flush=True)

        async def handle_index(self, request):
            # the page's websocket address follows the address the browser used (not 0.0.0.0 for --host 0.0.0.0)
            self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

    LabServer(served_command(runs, tab, threads), host=host, port=port, title="tinygrad-tf lab").serve()
