"""viz.play: the backward pass step by step as one HTML page (SVG frames and the script inline, nothing
fetched), in a Jupyter cell or a saved file — and driven in a real headless Chromium (Playwright on the system's
chromium): open the saved file, press next, see the frame change."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

import tinygrad_tf as tg
from tinygrad_tf import viz

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="the frames are drawn by Graphviz's `dot`")
CHROMIUM = os.environ.get("TG_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser") \
    or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def neuron():
    x = tg.tensor(2.0, requires_grad=True)
    w = tg.tensor(-3.0, requires_grad=True)
    b = tg.tensor(1.5, requires_grad=True)
    for t, name in ((x, "x"), (w, "w"), (b, "b")):
        t.name = name
    out = (x * w + b).tanh()
    out.backward()
    return out


@needs_dot
def test_player_page_is_self_contained(tmp_path):
    player = viz.play(viz.backward_steps(neuron()), title="a neuron, backward")
    assert len(player) == 3 and player.captions == ["step 1 of 3: Tanh.backward", "step 2 of 3: Add.backward",
                                                    "step 3 of 3: Mul.backward"]
    path = tmp_path / "out" / "backward.html"
    path.parent.mkdir()
    path.write_text("an older page")
    assert player.save(path) == path and os.listdir(path.parent) == ["backward.html"]   # replaced atomically
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count('class="tgp-frame') == 3
    assert page.count("<svg") == 3 and "<?xml" not in page and "<!DOCTYPE svg" not in page
    # offline: no src= / href= to anywhere, no stylesheet or script from outside (only the SVG namespaces)
    assert not re.search(r'\b(src|href)="(?!#)', page) and "<link" not in page and "<script src" not in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))                                     # every frame's ids made unique
    assert player.save(tmp_path / "again.html").read_text(encoding="utf-8") == page     # deterministic
    html1, html2 = player._repr_html_(), player._repr_html_()            # shown twice in a notebook: two players
    id1, id2 = (re.search(r'<div id="([^"]+)"', h).group(1) for h in (html1, html2))
    assert id1 != id2 and "<html" not in html1 and "<script>" in html1


def test_player_takes_svg_text_and_checks_its_input():
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect id="r" width="5" height="5"/></svg>'
    p = viz.play([svg, svg.replace('width="5"', 'width="8"')], captions=["one", "two"])
    html = p.to_html(uid="p")
    assert 'id="p-f0-r"' in html and 'id="p-f1-r"' in html and 'data-caption="two"' in html
    with pytest.raises(ValueError, match="at least one frame"):
        viz.play([])
    with pytest.raises(ValueError, match="2 captions for 1 frames"):
        viz.play([svg], captions=["a", "b"])
    with pytest.raises(TypeError, match="must be a graph drawing"):
        viz.play([42])
    with pytest.raises(ValueError, match="not SVG"):
        viz.play(["<html></html>"])


def test_player_without_dot_says_what_to_install(monkeypatch):
    frames = list(viz.backward_steps(neuron()))
    monkeypatch.setenv("PATH", "")
    with pytest.raises(RuntimeError, match="Graphviz's `dot`, which was not found; install Graphviz"):
        viz.play(frames)


@needs_dot
def test_player_steps_in_headless_chromium(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="the browser test drives Chromium with Playwright "
                                                                 "(the test extra)")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: the player is tested in a real browser; install it "
                    "(apt-get install chromium, as .ci/run does) or point TG_CHROMIUM at one")
    path = viz.play(viz.backward_steps(neuron()), interval=0.05).save(tmp_path / "backward.html")
    outside = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", lambda route: (route.continue_() if route.request.url.startswith(("file:", "data:"))
                                              else (outside.append(route.request.url), route.abort())))
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri())

            def state():
                visible = page.eval_on_selector_all(".tgp-frame", "fs => fs.map(f => f.offsetParent !== null)")
                return (visible.index(True), visible.count(True), page.text_content(".tgp-counter"),
                        page.text_content(".tgp-caption"))

            assert state() == (0, 1, "1 / 3", "step 1 of 3: Tanh.backward")
            page.click(".tgp-next")                                         # the button
            assert state() == (1, 1, "2 / 3", "step 2 of 3: Add.backward")
            page.evaluate("document.activeElement.blur()")
            page.keyboard.press("ArrowRight")                               # the keyboard, anywhere on the page
            assert state()[:3] == (2, 1, "3 / 3")
            page.keyboard.press("ArrowRight")                               # the last frame stays the last
            assert state()[0] == 2
            page.keyboard.press("ArrowLeft")
            page.click(".tgp-prev")
            assert state()[0] == 0
            page.fill(".tgp-slider", "2")                                   # the slider
            assert state()[0] == 2
            page.keyboard.press("Home")
            assert state()[0] == 0
            page.click(".tgp-play")                                         # play runs to the end and stops
            page.wait_for_function("document.querySelector('.tgp').dataset.frame === '2'", timeout=5000)
            page.wait_for_function("document.querySelector('.tgp-play').textContent.includes('play')", timeout=5000)
            assert "Mul" in page.inner_text(".tgp-frame.on")                # the SVG itself is drawn
            # as in a notebook: two players' cell outputs in one page, each steps on its own
            player = viz.play(viz.backward_steps(neuron()))
            page.set_content(f"<html><body>{player._repr_html_()}<p>text</p>{player._repr_html_()}</body></html>")
            frames = "Array.from(document.querySelectorAll('.tgp')).map(p => p.dataset.frame)"
            page.locator(".tgp-next").nth(1).click()
            assert page.evaluate(frames) == ["0", "1"]
            page.keyboard.press("ArrowRight")                               # the focused player only
            assert page.evaluate(frames) == ["0", "2"]
            page.locator(".tgp").nth(0).focus()
            page.keyboard.press("End")
            assert page.evaluate(frames) == ["2", "2"]
            page.click("p")                                                 # outside the players: keys do nothing
            page.keyboard.press("Home")
            assert page.evaluate(frames) == ["2", "2"]
            assert not errors and not outside, (errors, outside)
        finally:
            browser.close()
