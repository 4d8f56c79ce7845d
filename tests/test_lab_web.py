"""`tinygrad-tf lab --web`: the lab in a real headless browser (Debian's Chromium, driven by Playwright).

The browser does what a user does: it opens the address the server printed, clicks the steps field and types
a number, clicks Start, and watches the dashboard; the test reads the screen from xterm.js's own buffer (see
scripts/lab_web.py) and checks the loss falls there, then checks the run folder the lab wrote. Closing the tab
while a run trains stops and saves it. Needs playwright and textual-serve (the test extra) and
/usr/bin/chromium (.ci/run installs it); without them these tests skip and say which is missing.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scripts_loader import load_script

lab_web = load_script("lab_web")


def test_port_in_use_is_one_line(tmp_path):
    pytest.importorskip("textual_serve")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "tinygrad_tf", "lab", "--web", "--port", str(port), "--runs",
                            str(tmp_path / "runs")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: port {port} on 127.0.0.1 is in use (another lab?): pass --port N"


def test_without_textual_serve_says_how_to_install(tmp_path, monkeypatch):
    from tinygrad_tf.lab.web import WebError, serve
    monkeypatch.setitem(sys.modules, "textual_serve", None)
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)
    with pytest.raises(WebError, match=r"pip install 'tinygrad-tf\[web\]'"):
        serve(tmp_path / "runs")


def test_another_host_warns_and_the_page_follows_the_address_used(tmp_path):
    """--host 0.0.0.0: a warning line, and the page's websocket address is the one the browser typed (not
    ws://0.0.0.0:..., which no browser elsewhere could reach)."""
    pytest.importorskip("textual_serve")
    import urllib.request
    srv = lab_web.LabServer(tmp_path / "runs", extra=["--host", "0.0.0.0"])
    try:
        assert srv.url == f"http://0.0.0.0:{srv.port}"
        warning = srv._readline(10)
        assert warning.startswith("warning: listening on 0.0.0.0, not only this machine: anyone who can reach port")
        deadline = time.time() + 20                 # the warning comes before the server has bound its port
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/", timeout=10).read().decode()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        assert f'data-session-websocket-url="ws://127.0.0.1:{srv.port}/ws"' in page
    finally:
        assert srv.stop() == 0


def test_served_lab_skips_the_terminal_check():
    from tinygrad_tf.lab.web import is_served, served_command
    assert is_served({"TEXTUAL_DRIVER": "textual.drivers.web_driver:WebDriver"})
    assert not is_served({}) and not is_served({"TEXTUAL_DRIVER": "textual.drivers.linux_driver:LinuxDriver"})
    cmd = served_command(Path("runs"), tab="code", threads=2)
    assert cmd.startswith(sys.executable) and "-m tinygrad_tf lab --runs" in cmd and cmd.endswith("--tab code --threads 2")


# ---------------------------------------------------------------- in the browser
@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("textual_serve")
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(lab_web.CHROMIUM).exists():
        pytest.fail(f"no Chromium at {lab_web.CHROMIUM}: `lab --web` is tested in a real browser; install it "
                    "(apt-get install chromium, as .ci/run does)")
    with sync_api.sync_playwright() as p:
        b = lab_web.launch(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, browser):
    runs = tmp_path_factory.mktemp("lab-web") / "runs"
    s = lab_web.LabServer(runs)
    yield s, runs
    s.stop()


def _runs(runs: Path) -> list[dict]:
    out = []
    for d in sorted(p for p in runs.iterdir() if p.is_dir()) if runs.exists() else []:
        done = d / "done.json"
        out.append({"name": d.name, "spec": json.loads((d / "run.json").read_text())["spec"],
                    "status": json.loads(done.read_text())["status"] if done.exists() else None,
                    "metrics": [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines()
                                if line.strip()] if (d / "metrics.jsonl").exists() else []})
    return out


def test_start_a_run_in_the_browser_and_see_the_loss_fall(server, browser, tmp_path):
    srv, runs = server
    assert srv.url == f"http://127.0.0.1:{srv.port}"                      # this machine only, by default
    assert srv.first_line.startswith("tinygrad-tf lab in a browser: open http://127.0.0.1:")
    lab = lab_web.LabPage(browser, srv.url)
    text = lab.screen()
    for label in ("1 Train", "2 Inspect", "3 Runs", "4 Code", "depth", "residual", "steps", "Start"):
        assert label in text, label
    assert "● idle" in text and not runs.exists()

    lab.set_field("steps", "40")                   # click the field, clear it, type (the browser's keyboard)
    lab.click_text(r"(?<= )Start(?=    Pause)")     # and click Start (the browser's mouse)
    readings = []

    def record(text):
        d = lab_web.dashboard(text)
        if d and (not readings or d[0] != readings[-1][0]):
            readings.append(d)
        return "● done" in text and d is not None and d[0] == 40
    text = lab.wait_for(record, 120, "the run to finish", every=0.1)

    # on the page: the dashboard's steps went up, the loss came down from ln(103) ≈ 4.63 (a uniform guess)
    steps = [r[0] for r in readings]
    assert steps == sorted(steps) and steps[-1] == 40 and readings[-1][1] == 40
    top = float(re.search(r"^.*?(\d+\.\d+) ┤", text, re.M)[1])             # the loss plot's highest label
    best = readings[-1][3]
    assert 4.4 < top < 4.8, text
    assert best < top - 1.0, f"the loss did not fall: {readings}"
    if len(readings) > 1:
        assert readings[-1][3] <= readings[0][3]
    lab.screenshot(tmp_path / "lab-web.png")
    assert (tmp_path / "lab-web.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # in the runs folder the lab wrote: the typed step count arrived, every step is there, the loss fell
    (run,) = _runs(runs)
    assert run["spec"]["steps"] == 40 and run["status"] == "done"
    losses = [m["loss"] for m in run["metrics"]]
    assert len(losses) == 40 and losses[0] > 4.4 and min(losses[-10:]) < losses[0] - 1.0
    assert run["name"] in text
    lab.page.close()


def test_closing_the_tab_stops_and_saves_the_run(server, browser):
    srv, runs = server
    before = {r["name"] for r in _runs(runs)}
    lab = lab_web.LabPage(browser, srv.url)
    lab.set_field("steps", "5000")
    lab.click_text(r"(?<= )Start(?=    Pause)")
    lab.wait_for(lambda t: "● running" in t and (lab_web.dashboard(t) or (0,))[0] >= 2, 60, "the run to train")
    lab.page.close()                                # the user closes the tab mid-run
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        new = [r for r in _runs(runs) if r["name"] not in before]
        if new and new[0]["status"]:
            break
        time.sleep(0.2)
    (run,) = new
    assert run["status"] == "stopped", run["status"]            # not "interrupted": stopped and saved
    assert 2 <= len(run["metrics"]) < 5000
    assert (runs / run["name"] / "checkpoint").is_dir()
