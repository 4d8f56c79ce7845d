"""``tinygrad-tf lab``: build a model, train it live, compare runs, read the code — in a terminal.

Four tabs (keys 1-4): Train (the controls and the live run), Inspect (attention for a prompt, gradient
norms), Runs (every saved run; select and compare), Code (any component's source beside its math).
Keyboard first: s start, p pause, x stop (it asks first), c compare, ? help, q quit. Works from 80x24 up.
What you type into a text field never acts as a key: the Inspect tab puts you in its prompt field, and esc
leaves a field. The Code tab puts you in its list, so the arrows move through the components at once.

Training runs in a background thread (``worker.TrainingWorker``); it posts what happens as ``LabEvent``
messages (Textual's ``post_message`` is thread-safe), and only the worker thread touches the model.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path

from rich.console import Group
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import (Button, Footer, Input, Label, OptionList, Select, SelectionList, Static, TabbedContent,
                             TabPane)
from textual.widgets.option_list import Option

from .codeview import COMPONENTS, KINDS, component_view
from .runs import RunStore, compare, runs_dir
from .screens import ConfirmScreen, HelpScreen
from .spec import LabSpec
from .widgets import ControlPanel, LiveView
from .worker import Locked, TrainingWorker

__all__ = ["LabApp", "LabEvent"]

TABS = ("train", "inspect", "runs", "code")
STATE_STYLE = {"running": "bold green", "paused": "bold yellow", "stopping": "bold yellow", "starting": "cyan",
               "done": "bold green", "stopped": "yellow", "failed": "bold red", "idle": "dim"}


def _plot_height(rows: int) -> int:
    """Rows for the loss plot: the whole dashboard fits under the status line from 24 rows up."""
    return max(5, min(14, rows - 19))


def _fit_monitor(monitor, options) -> None:
    """Per-parameter rows need room for their long names; below 110 columns show the per-layer table only."""
    monitor.show = "both" if options.max_width >= 110 else "layers"


class LabEvent(Message):
    """Something the training worker did (kind: created, started, metrics, sample, attention, state, error,
    finished); posted from the worker thread."""

    def __init__(self, kind: str, data) -> None:
        super().__init__()
        self.kind, self.data = kind, data


class LabApp(App):
    """The lab. ``LabApp(runs_dir)``; ``app.run()``."""

    TITLE = "tinygrad-tf lab"
    CSS = """
    Screen { layout: vertical; }
    TabbedContent { height: 1fr; }
    TabPane { padding: 0 0; }
    #train-split { height: 1fr; }
    #live { width: 1fr; padding: 0 0 0 1; }
    #status { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    #samples { height: auto; margin-top: 1; }
    #inspect-bar { height: 1; }
    #inspect-bar Label { width: auto; margin: 0 1; color: $text-muted; }
    #prompt { width: 1fr; }
    #layer, #head { width: 12; }
    #inspect-body { height: 1fr; }
    #runlist { height: auto; max-height: 10; min-height: 3; border: none; }
    #runs-bar { height: 1; }
    #runs-bar Button { margin-right: 1; min-width: 10; }
    #runs-bar Label { color: $text-muted; }
    #comparison-box { height: 1fr; }
    #components { width: 26; height: 1fr; border: none; }
    #code-box { width: 1fr; padding: 0 0 0 1; }
    ControlPanel.invalid #start { text-style: strike; }
    """
    BINDINGS = [
        Binding("s", "start", "Start"),
        Binding("p", "pause", "Pause"),
        Binding("x", "stop", "Stop"),
        Binding("1", "tab('train')", "Train", show=False),
        Binding("2", "tab('inspect')", "Inspect", show=False),
        Binding("3", "tab('runs')", "Runs", show=False),
        Binding("4", "tab('code')", "Code", show=False),
        Binding("c", "compare", "Compare"),
        Binding("r", "refresh_runs", "Reload", show=False),
        Binding("f2", "screenshot", "Screenshot", show=False),
        Binding("escape", "leave_field", "Leave field", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit_lab", "Quit"),
    ]

    def __init__(self, runs=None, spec: LabSpec | None = None, tab: str = "train"):
        super().__init__()
        self.store = runs if isinstance(runs, RunStore) else RunStore(runs_dir(runs))
        self.spec = spec or LabSpec()
        self.initial_tab = tab if tab in TABS else "train"
        self.worker: TrainingWorker | None = None
        self.dashboard = None
        self.monitor_view = None
        self.maps = None
        self.samples: collections.deque = collections.deque(maxlen=3)
        self.run_name: str | None = None
        self.run_state = "idle"
        self.latest: dict = {}
        self.last_error: str | None = None
        self.comparison = None
        self._quitting = False
        self.yield_gil = 0.0        # seconds the training thread sleeps per step (to favour the UI thread)

    # ------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        with TabbedContent(initial=self.initial_tab, id="tabs"):
            with TabPane("1 Train", id="train"):
                with Horizontal(id="train-split"):
                    yield ControlPanel(self.spec, id="controls")
                    with VerticalScroll(id="live"):
                        yield Static(self._status_text(), id="status")
                        yield Static(Text("Press s to train with these settings. Change any control first: "
                                          "the run list (tab 3) keeps every run, so you can compare.",
                                          style="dim"), id="dashboard")
                        yield Static("", id="samples")
            with TabPane("2 Inspect", id="inspect"):
                with Horizontal(id="inspect-bar"):
                    yield Label("prompt")
                    yield Input("", placeholder="type text, enter draws it · esc: keys", compact=True,
                                id="prompt")
                    yield Select([("layer 0", 0)], value=0, allow_blank=False, compact=True, id="layer")
                    yield Select([("head 0", 0)], value=0, allow_blank=False, compact=True, id="head")
                with VerticalScroll(id="inspect-body"):
                    yield Static(Text("attention: start a run, then type a prompt and press enter", style="dim"),
                                 id="attention")
                    yield Static(Text("gradient norms appear here while a run trains", style="dim"), id="grads")
            with TabPane("3 Runs", id="runs"):
                yield SelectionList(id="runlist")
                with Horizontal(id="runs-bar"):
                    yield Button("Compare", id="compare", compact=True)
                    yield Button("Reload", id="reload", compact=True)
                    yield Label("space selects, c compares", id="runs-hint")
                with VerticalScroll(id="comparison-box"):
                    yield Static(Text(f"runs folder: {self.store.root}", style="dim"), id="comparison")
            with TabPane("4 Code", id="code"):
                with Horizontal():
                    yield OptionList(*self._component_options(), id="components")
                    with VerticalScroll(id="code-box"):
                        yield Static(Text("choose a component on the left", style="dim"), id="code-view")
        yield Footer()

    def _component_options(self):
        out = []
        for kind in KINDS:
            items = [c for c in COMPONENTS if c.kind == kind]
            if not items:
                continue
            if out:
                out.append(None)
            for c in items:
                out.append(Option(Text.assemble((c.name, "bold"), (f"  {kind}", "dim")), id=c.name))
        return out

    def on_mount(self) -> None:
        self.refresh_runs()
        self._apply_size()
        self._focus_tab(self.initial_tab)

    def on_resize(self, event) -> None:
        self._apply_size()

    def _apply_size(self) -> None:
        if self.dashboard is not None:
            self.dashboard.plot_height = _plot_height(self.size.height)
            self._show_dashboard()

    # ------------------------------------------------------------ the controls
    @property
    def controls(self) -> ControlPanel:
        return self.query_one(ControlPanel)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        action = {"start": self.action_start, "pause": self.action_pause, "stop": self.stop_run,
                  "compare": self.action_compare, "reload": self.action_refresh_runs}.get(event.button.id)
        if action is not None:
            action()

    # ------------------------------------------------------------ actions
    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_leave_field(self) -> None:
        self.set_focus(None)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(str(self.store.root)))

    def action_start(self) -> None:
        if self.worker is not None and self.worker.active:
            self.notify("a run is already training: x stops it, p pauses it", severity="warning")
            return
        spec, problems = self.controls.read()
        self.controls.validate()
        if problems:
            self.notify("cannot start: " + "; ".join(problems), severity="error", timeout=6)
            return
        from ..viz import TrainingDashboard
        self.spec = spec
        self.samples.clear()
        self.maps, self.latest, self.last_error, self.run_name = None, {}, None, None
        self.dashboard = TrainingDashboard(total_steps=spec.steps, title="starting…",
                                           plot_height=_plot_height(self.size.height))
        self.query_one("#samples", Static).update("")
        prompt = self.query_one("#prompt", Input).value or None
        self.worker = TrainingWorker(spec, self.store, self._post, prompt=prompt, yield_gil=self.yield_gil,
                                     throttle=0.25)
        self.worker.start()
        self._show_dashboard()
        self.action_tab("train")

    def action_pause(self) -> None:
        if self.worker is None or self.worker.state not in ("running", "paused"):
            self.notify("no run is training", severity="warning")
            return
        self.worker.toggle_pause()

    def _training(self) -> bool:
        return self.worker is not None and self.worker.active

    def _confirming(self) -> bool:
        return isinstance(self.screen, ConfirmScreen)

    def action_stop(self) -> None:
        """x: stopping cannot be undone, so it asks first (a stray x typed outside a text field answers nothing)."""
        if not self._training():
            self.notify("no run is training", severity="warning")
            return
        if self._confirming():
            return
        name = self.run_name or "the run"
        self.push_screen(ConfirmScreen(f"Stop {name}? It saves its checkpoint and is marked 'stopped'."),
                         lambda yes: self.stop_run() if yes else None)

    def stop_run(self) -> None:
        """Stop the run now (the Stop button, a confirmed x)."""
        if not self._training():
            return
        self.worker.stop()
        self.notify("stopping after this step; the checkpoint is being saved")

    def action_quit_lab(self) -> None:
        if self._training() and not self._quitting:
            if self._confirming():
                return
            name = self.run_name or "the run"
            self.push_screen(ConfirmScreen(f"{name} is training. Stop it, save it and quit?", yes="Quit",
                                           no="Keep training"),
                             lambda yes: self._quit_after_stop() if yes else None)
            return
        self.exit()

    def finish_run(self, timeout: float = 60.0) -> None:
        """After the app has closed: a run still training (the browser tab was closed, the session ended) is
        stopped and its checkpoint saved, as ``x`` would, instead of dying with the process as "interrupted"."""
        if self._training():
            self.worker.stop()
            self.worker.wait(timeout)

    def _quit_after_stop(self) -> None:
        if not self._training():
            self.exit()
            return
        self._quitting = True
        self.worker.stop()
        self.notify("stopping the run and saving it before quitting (q again: quit now)")

    async def action_quit(self) -> None:
        """ctrl+q (Textual's quit) also stops and saves a run in progress first."""
        self.action_quit_lab()

    def action_screenshot(self) -> None:
        self.store.root.mkdir(parents=True, exist_ok=True)
        name = f"lab-{time.strftime('%Y%m%d-%H%M%S')}.svg"
        path = self.save_screenshot(filename=name, path=str(self.store.root))
        self.notify(f"screenshot saved: {path}")

    def action_refresh_runs(self) -> None:
        self.refresh_runs()

    def action_compare(self) -> None:
        names = list(self.query_one("#runlist", SelectionList).selected)
        if len(names) < 2:
            self.notify("select two or more runs on the Runs tab (space), then c", severity="warning")
            self.action_tab("runs")
            return
        try:
            self.comparison = compare(self.store.resolve(names))
        except ValueError as e:
            self.notify(str(e), severity="error")
            return
        self.query_one("#comparison", Static).update(self.comparison)
        self.action_tab("runs")

    # ------------------------------------------------------------ runs tab
    def refresh_runs(self) -> None:
        from .runs import fmt_cell
        sel = self.query_one("#runlist", SelectionList)
        keep = set(sel.selected)
        sel.clear_options()
        runs = self.store.list()
        mark = {"done": "✓", "stopped": "■", "running": "▶", "interrupted": "!", "failed": "✗", "broken": "?"}
        for r in reversed(runs):                                         # newest first
            s = r.summary()
            label = Text.assemble((f"{mark.get(s['status'], ' ')} ", "bold"), (r.name, ""),
                                  (f"  {s['status']}", "dim"), (f"  step {s['step']}", "dim"),
                                  (f"  loss {fmt_cell(s['loss'])}", "cyan"),
                                  (f"  val {fmt_cell(s['val_loss'])}" if s.get("val_loss") is not None else "", "magenta"))
            sel.add_option((label, r.name, r.name in keep))
        if runs and sel.highlighted is None:
            sel.highlighted = 0
        if self.comparison is None:
            hint = (f"{len(runs)} run(s) in {self.store.root}: select two or more (space) and press c to overlay "
                    "their curves and diff their configs" if runs else
                    f"no runs in {self.store.root} yet: start one on the Train tab (s)")
            self.query_one("#comparison", Static).update(Text(hint, style="dim"))

    # ------------------------------------------------------------ code tab
    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "components" and event.option.id:
            self.show_component(event.option.id)

    def show_component(self, name: str) -> None:
        try:
            view = component_view(name)
        except KeyError as e:
            self.notify(str(e), severity="error")
            return
        self.query_one("#code-view", Static).update(view)
        self.query_one("#code-box", VerticalScroll).scroll_home(animate=False)

    # ------------------------------------------------------------ inspect tab
    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "prompt":
            return
        if self.worker is None or self.worker.model is None:
            self.notify("start a run first (s on the Train tab); the map is drawn from its model", severity="warning")
            return
        self.worker.request_attention(event.value)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id in ("layer", "head"):
            self._show_attention()

    def _show_attention(self) -> None:
        if self.maps is None:
            return
        layer, head = self.query_one("#layer", Select).value, self.query_one("#head", Select).value
        try:
            stack = self.maps.stack()
            layer = min(int(layer), stack.n_layer - 1)
            head = min(int(head), stack.n_head - 1)
            view = self.maps.heatmap(layer, head)
        except (ValueError, IndexError, KeyError) as e:
            view = Text(f"attention: {e}", style="red")
        self.query_one("#attention", Static).update(view)

    # ------------------------------------------------------------ events from the worker
    def _post(self, kind: str, data) -> None:
        """The worker's emit: called from its thread."""
        self.post_message(LabEvent(kind, data))

    def on_lab_event(self, event: LabEvent) -> None:
        kind, data = event.kind, event.data
        if kind == "created":
            self.run_name = data["name"]
            if self.dashboard is not None:
                self.dashboard.title = data["name"]
            self.refresh_runs()
        elif kind == "started":
            self.monitor_view = Locked(data["monitor"], data["lock"], adapt=_fit_monitor)
            self.query_one("#grads", Static).update(self.monitor_view)
            self.query_one("#layer", Select).set_options([(f"layer {i}", i) for i in range(data["n_layer"])])
            self.query_one("#head", Select).set_options([(f"head {i}", i) for i in range(data["n_head"])])
            self.latest["description"] = data["description"]
        elif kind == "metrics":
            for rec in data:
                self.dashboard.update({k: v for k, v in rec.items() if k not in ("elapsed", "layer_grad_norms")})
            self.latest.update(data[-1])
            tab = self.query_one(TabbedContent).active
            if tab == "train":                                   # draw only what is on screen
                self._show_dashboard()
            elif tab == "inspect" and self.monitor_view is not None:
                self.query_one("#grads", Static).update(self.monitor_view)
        elif kind == "sample":
            self.samples.append(data)
            self._show_samples()
        elif kind == "attention":
            self.maps = data["maps"]
            self._show_attention()
        elif kind == "state":
            self.run_state = data["state"]
            self.controls.set_running(self.run_state)
        elif kind == "error":
            self.last_error = data["message"]
            self.notify(data["message"], severity="error", timeout=8)
        elif kind == "finished":
            self.run_state = data["status"]
            self.controls.set_running(self.run_state)
            self.refresh_runs()
            if self._quitting:
                self.exit()
                return
        self.query_one("#status", Static).update(self._status_text())

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "train":
            self._show_dashboard()
        elif event.pane.id == "inspect" and self.monitor_view is not None:
            self.query_one("#grads", Static).update(self.monitor_view)
        self._focus_tab(event.pane.id)

    def _focus_tab(self, tab: str) -> None:
        """Where the keys go on arriving at a tab: Inspect's prompt field (typing is text, not commands), Code's
        component list (the arrows move through it at once, the first component shown)."""
        if tab == "inspect":
            self.query_one("#prompt", Input).focus()
        elif tab == "code":
            opts = self.query_one("#components", OptionList)
            opts.focus()
            if opts.highlighted is None and opts.option_count:
                opts.highlighted = 0

    def _show_dashboard(self) -> None:
        if self.dashboard is not None:
            self.query_one("#dashboard", Static).update(LiveView(self.dashboard))

    def _show_samples(self) -> None:
        parts = []
        for s in list(self.samples)[::-1]:
            head = "final sample" if s.get("final") else f"sample at step {s['step']}"
            parts.append(Text(head, style="bold dim"))
            parts.append(Text(s["text"].replace("\r", ""), overflow="fold"))
        self.query_one("#samples", Static).update(Group(*parts))

    def _status_text(self) -> Text:
        t = Text()
        t.append(f"● {self.run_state}", STATE_STYLE.get(self.run_state, ""))
        m = self.latest
        if m.get("step") is not None:
            t.append(f"  step {m['step']}/{self.spec.steps}")
        if m.get("tokens_per_sec"):
            t.append(f"  {m['tokens_per_sec']:,.0f} tok/s", "cyan")
        if self.run_name:
            t.append(f"  {self.run_name}", "bold")
        if self.last_error:
            t.append(f"\n{self.last_error}", "red")
        elif m.get("description"):
            t.append("\n")
            t.append(m["description"].split(" | ")[0], "dim")
        return t

    # ------------------------------------------------------------ screenshots without a terminal
    def screenshot_headless(self, path, size=(100, 30), settle: float = 0.3) -> str:
        """Run the app headless at ``size``, save one SVG screenshot to ``path`` and exit; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        saved = {}

        async def auto(pilot):
            await pilot.pause(settle)
            saved["path"] = self.save_screenshot(filename=path.name, path=str(path.parent))
            self.exit()

        self.run(headless=True, size=size, auto_pilot=auto)
        return saved.get("path", str(path))
