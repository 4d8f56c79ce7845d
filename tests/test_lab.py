"""The lab app, driven headless by Textual's pilot at 80x24: toggles, start / pause / stop, the live curve,
saved runs, compare, the code viewer, the help screen, and screenshots of each screen.

pytest-asyncio is not needed: each test runs its coroutine with asyncio.run. Screens are checked through
the app's own SVG screenshots (``export_screenshot``): the text is pulled out of the SVG and the stable
labels are looked for (run names and timings change, so there are no golden files).
"""

from __future__ import annotations

import asyncio
import html
import re
import time

import pytest

pytest.importorskip("textual")

from textual.widgets import Button, Input, OptionList, Select, SelectionList, Static, TabbedContent  # noqa: E402

from tinygrad_tf.lab import LabSpec, RunStore, train_run  # noqa: E402
from tinygrad_tf.lab.app import LabApp  # noqa: E402
from tinygrad_tf.lab.screens import ConfirmScreen  # noqa: E402

TINY = dict(n_layer=1, d_model=16, n_head=2, context_length=16, batch_size=4, eval_iters=1)
SIZE = (80, 24)


def screen_text(app) -> str:
    """The visible text of the app's current screen, from its own SVG screenshot."""
    svg = app.export_screenshot()
    assert svg.startswith("<svg")
    rows: dict[float, list] = {}
    for m in re.finditer(r'<text class="[^"]*-r\d+"[^>]*?x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>', svg):
        rows.setdefault(float(m[2]), []).append((float(m[1]), html.unescape(m[3]).replace("\xa0", " ")))
    lines = []
    for y in sorted(rows):
        line = ""
        for x, t in sorted(rows[y]):
            col = round(x / 12.2)
            line = line.ljust(col) + t if len(line) <= col else line + t
        lines.append(line)
    return "\n".join(lines)


def run_app(tmp_path, body, spec=None, size=SIZE, **kw):
    async def main():
        app = LabApp(tmp_path / "runs", spec=spec or LabSpec(**TINY, steps=12, sample_every=6), **kw)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await body(app, pilot)
    asyncio.run(main())


async def key(app, name):
    """Press a key while training runs (``pilot.press`` waits for every widget to go idle; with a training
    thread competing for the interpreter that takes seconds)."""
    app.simulate_key(name)
    await asyncio.sleep(0.05)


async def wait_for(pilot, cond, timeout=20.0, what="condition"):
    t = time.time()
    while not cond():
        if time.time() - t > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)              # (pilot.pause waits for idle, which a training app never is)
    await pilot.pause()


def test_toggle_validate_start_and_see_the_curve(tmp_path):
    async def body(app, pilot):
        text = screen_text(app)
        for label in ("1 Train", "2 Inspect", "3 Runs", "4 Code", "family", "depth", "width", "heads", "context",
                      "norm", "residual", "activation", "position", "dropout", "optimizer", "corpus", "Start"):
            assert label in text, label
        # an invalid combination is explained inline, with the config's own words, and cannot start
        app.controls.set_field("n_head", "3")
        await pilot.pause()
        problems = str(app.query_one("#problems", Static).render())
        assert "d_model=16 is not divisible by n_head=3" in problems
        text = screen_text(app)
        assert "d_model=16 is not" in text and "divisible by n_head=3" in text      # in view at 80x24
        await pilot.press("s")
        await pilot.pause()
        assert app.worker is None and not (tmp_path / "runs").exists()
        # fix it, flip a toggle (residual: post) with the keyboard, and start
        app.controls.set_field("n_head", "2")
        app.query_one("#f-residual", Select).focus()
        await pilot.press("enter", "down", "enter")           # pre -> post
        await pilot.pause()
        assert app.query_one("#f-residual", Select).value == "post"
        assert str(app.query_one("#problems", Static).render()).strip() == ""
        await pilot.press("escape")
        await key(app, "s")
        await wait_for(pilot, lambda: app.run_state == "done", what="the run to finish")
        text = screen_text(app)
        assert "done" in text and "step 12/12" in text and "val" in text and "┤" in text   # the curve's axis
        assert app.dashboard.steps[-1] == 12 and app.dashboard.val_loss
        assert "tok/s" in text
        # the run is saved and listed
        (run,) = RunStore(tmp_path / "runs").list()
        assert run.status == "done" and run.spec["residual"] == "post"
        assert len(run.metrics()) == 12
        runlist = app.query_one("#runlist", SelectionList)
        assert runlist.option_count == 1 and runlist.get_option_at_index(0).value == run.name
        assert app.samples and app.samples[-1]["final"]
        # the Inspect tab: gradient norms and an attention map for a typed prompt
        await pilot.press("2")
        await pilot.pause()
        assert "gradients per layer" in screen_text(app)
        app.query_one("#prompt").focus()
        await pilot.press(*"def ", "enter")
        await wait_for(pilot, lambda: app.maps is not None, what="the attention map")
        assert "self-attention · layer 0 · head 0" in screen_text(app)
    run_app(tmp_path, body)


def test_pause_resume_stop_saves_a_stopped_run(tmp_path):
    async def body(app, pilot):
        await key(app, "s")
        await wait_for(pilot, lambda: app.latest.get("step", 0) >= 3, what="a few steps")
        await key(app, "p")
        await wait_for(pilot, lambda: app.run_state == "paused", what="pause")
        assert app.query_one("#pause", Button).label.plain == "Resume"
        step = app.worker.step
        await asyncio.sleep(0.3)
        assert app.worker.step == step                          # paused: no stepping
        assert "paused" in screen_text(app)
        await key(app, "p")
        await wait_for(pilot, lambda: app.worker.step > step, what="resume")
        await key(app, "x")                                     # stopping asks first
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await key(app, "y")
        await wait_for(pilot, lambda: app.run_state == "stopped", what="stop")
        (run,) = RunStore(tmp_path / "runs").list()
        assert run.status == "stopped" and 3 <= run.summary()["step"] < 100000
        from tinygrad_tf.fileio import verify_manifest
        assert verify_manifest(run.path / "checkpoint") is not None
        assert app.query_one("#start", Button).disabled is False
    run_app(tmp_path, body, spec=LabSpec(**TINY, steps=100000, sample_every=100000, checkpoint_every=100000))


def test_quit_while_training_stops_and_saves(tmp_path):
    async def body(app, pilot):
        await key(app, "s")
        await wait_for(pilot, lambda: app.latest.get("step", 0) >= 2, what="a few steps")
        await key(app, "q")                                     # a run is training: it asks first
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await key(app, "y")
        await wait_for(pilot, lambda: not app.is_running or app.run_state == "stopped", what="quit")
    run_app(tmp_path, body, spec=LabSpec(**TINY, steps=100000, sample_every=100000, checkpoint_every=100000))
    (run,) = RunStore(tmp_path / "runs").list()
    assert run.status == "stopped"


KEY_NAMES = {" ": "space", "(": "left_parenthesis", ")": "right_parenthesis", ":": "colon"}


async def type_text(app, text):
    """Type ``text`` as a terminal would: a key event per character, with its name and the character."""
    from textual import events
    for ch in text:
        app.post_message(events.Key(KEY_NAMES.get(ch, ch), ch))
        await asyncio.sleep(0.05)


def test_typing_on_the_inspect_tab_never_stops_the_run(tmp_path):
    """Typing `def f(x):` on the Inspect tab goes into the prompt (it used to stop the run: x = Stop); a stray x
    outside a text field only asks, and anything but y answers no."""
    async def body(app, pilot):
        await key(app, "s")
        await wait_for(pilot, lambda: app.latest.get("step", 0) >= 2, what="a few steps")
        await key(app, "2")
        await wait_for(pilot, lambda: app.query_one(TabbedContent).active == "inspect", what="the Inspect tab")
        await type_text(app, "def f(x): return x")
        await wait_for(pilot, lambda: app.query_one("#prompt", Input).value == "def f(x): return x",
                       what="the typed prompt")
        assert app.worker.active and app.run_state == "running" and not isinstance(app.screen, ConfirmScreen)
        await key(app, "escape")                                # leave the field: letters are keys again
        await key(app, "x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        assert "Stop" in screen_text(app) and app.worker.active
        await type_text(app, "):")                              # the rest of what was being typed: no
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), what="the answer")
        await asyncio.sleep(0.3)
        assert app.worker.active and app.run_state == "running"
        await key(app, "q")                                     # quitting stops the run too: it asks as well
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the quit question")
        await key(app, "n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), what="the answer")
        assert app.is_running and app.worker.active
        await key(app, "x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await key(app, "y")
        await wait_for(pilot, lambda: app.run_state == "stopped", what="stop")
    run_app(tmp_path, body, spec=LabSpec(**TINY, steps=100000, sample_every=100000, checkpoint_every=100000))


def test_arrow_keys_move_through_the_code_tab_at_once(tmp_path):
    async def body(app, pilot):
        await pilot.press("4")
        await pilot.pause()
        opts = app.query_one("#components", OptionList)
        assert app.focused is opts and opts.highlighted == 0
        first = opts.get_option_at_index(0).id
        assert f"class {first}(" in screen_text(app)
        await pilot.press("down")                               # no Tab first
        await pilot.pause()
        second = opts.get_option_at_index(1).id
        assert opts.highlighted == 1 and f"class {second}(" in screen_text(app)
    run_app(tmp_path, body)


def test_compare_two_runs_in_the_app(tmp_path):
    store = RunStore(tmp_path / "runs")
    train_run(LabSpec(**TINY, steps=6, residual="pre"), store)
    train_run(LabSpec(**TINY, steps=6, residual="post"), store)

    async def body(app, pilot):
        await pilot.press("3")
        await pilot.pause()
        text = screen_text(app)
        assert "pre-ln" in text and "post-ln" in text and "2 run(s)" in text
        await pilot.press("c")                                   # nothing selected: explained
        await pilot.pause()
        assert app.comparison is None
        runlist = app.query_one("#runlist", SelectionList)
        runlist.focus()
        await pilot.press("space", "down", "space")
        await pilot.pause()
        assert len(runlist.selected) == 2
        await pilot.press("c")
        await pilot.pause()
        assert app.comparison is not None and app.comparison.diff["residual"] in (["pre", "post"], ["post", "pre"])
        text = screen_text(app)
        assert "training loss" in text
        box = app.query_one("#comparison-box")
        box.scroll_end(animate=False)
        await pilot.pause()
        text = screen_text(app)
        assert "residual" in text and "final loss" in text and "tokens/s" in text
    run_app(tmp_path, body)


def test_code_viewer_and_help(tmp_path):
    async def body(app, pilot):
        await pilot.press("4")
        opts = app.query_one("#components", OptionList)
        opts.focus()
        index = next(i for i in range(opts.option_count) if opts.get_option_at_index(i).id == "Softmax")
        opts.highlighted = index
        await pilot.pause()
        text = screen_text(app)
        assert "the math" in text and "Softmax" in text and "reduce_ops.py" in text
        assert "class Softmax(Function)" in text
        await pilot.press("down")                               # the next component: LogSoftmax
        await pilot.pause()
        assert "class LogSoftmax" in screen_text(app)
        app.show_component("LayerNorm")
        await pilot.pause()
        assert "class LayerNorm(Module)" in screen_text(app)
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        assert "keys" in text and "pause / resume" in text
        await pilot.press("escape")
        await pilot.pause()
        assert "keys" not in screen_text(app)
    run_app(tmp_path, body)


def test_bert_and_t5_controls_and_a_t5_run(tmp_path):
    async def body(app, pilot):
        app.controls.set_field("family", "bert")
        await pilot.pause()
        assert app.query_one("#f-norm", Select).disabled and app.query_one("#f-residual", Select).disabled
        assert app.query_one("#f-activation", Select).value == "gelu"
        assert "BERT is post-LN" in screen_text(app)
        app.controls.set_field("family", "t5")
        await pilot.pause()
        assert app.query_one("#f-activation", Select).value == "relu"
        assert app.query_one("#f-corpus").disabled and app.query_one("#f-context_length").disabled
        app.controls.set_field("steps", "4")
        await pilot.pause()
        await key(app, "s")
        await wait_for(pilot, lambda: app.run_state in ("done", "failed"), what="the T5 run")
        assert app.run_state == "done", app.last_error
        (run,) = RunStore(tmp_path / "runs").list()
        assert run.family == "t5" and run.info["model_config"]["model_type"] == "t5"
        assert "->" in app.samples[-1]["text"]
    run_app(tmp_path, body)


def test_a_failing_run_is_explained_not_a_traceback(tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("too short")

    async def body(app, pilot):
        app.controls.set_field("corpus", str(short))
        await pilot.pause()
        await pilot.press("escape")
        await key(app, "s")
        await wait_for(pilot, lambda: app.run_state == "failed", what="the failure")
        assert "fewer than one window" in app.last_error
        assert "Traceback" not in screen_text(app)
        (run,) = RunStore(tmp_path / "runs").list()
        assert run.status == "failed"
    run_app(tmp_path, body)


def test_screenshots_at_80x24_and_larger(tmp_path):
    """The app's own screenshot feature (f2 and the headless --screenshot) writes SVGs that show the screen."""
    async def body(app, pilot):
        await pilot.press("f2")
        await pilot.pause()
        (svg,) = (tmp_path / "runs").glob("lab-*.svg")
        assert "family" in svg.read_text()
    run_app(tmp_path, body)
    out = LabApp(tmp_path / "runs", tab="code").screenshot_headless(tmp_path / "shot.svg", size=(120, 40))
    assert "4&#160;Code" in open(out).read()
