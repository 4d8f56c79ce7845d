"""The lab's widgets: the controls form (model + training choices, validated as you type) and small readouts."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

from .spec import FAMILY_NAMES, FIELD_LABELS, FIXED_VALUES, LabSpec, choices, fixed_fields

__all__ = ["ControlPanel", "LiveView", "FORM_FIELDS", "DEFAULT_ACTIVATION"]

FORM_LABELS = {"lr": "lr", "batch_size": "batch", "warmup_steps": "warmup", "context_length": "context"}
DEFAULT_ACTIVATION = {"gpt": "gelu_tanh", "bert": "gelu", "t5": "relu"}

# (field, kind): "select" fields take their choices from spec.choices, the rest are text inputs
MODEL_FIELDS = [("family", "select"), ("n_layer", "integer"), ("d_model", "integer"), ("n_head", "integer"),
                ("context_length", "integer"), ("norm", "select"), ("residual", "select"),
                ("activation", "select"), ("position", "select"), ("dropout", "number")]
TRAIN_FIELDS = [("lr", "number"), ("batch_size", "integer"), ("steps", "integer"), ("warmup_steps", "integer"),
                ("optimizer", "select"), ("corpus", "text")]
FORM_FIELDS = MODEL_FIELDS + TRAIN_FIELDS


def _options(field: str, family: str):
    if field == "family":
        return [(FAMILY_NAMES[f].split(" (")[0], f) for f in choices("family")]
    return [(v, v) for v in choices(field, family)]


class ControlPanel(Vertical):
    """Every choice of a run, one line each; problems are explained under the form as you type."""

    DEFAULT_CSS = """
    ControlPanel { width: 36; height: 1fr; }
    ControlPanel #form { height: 1fr; padding: 0 1 0 0; }
    ControlPanel .row { height: 1; margin: 0; }
    ControlPanel .row Label { width: 12; color: $text-muted; }
    ControlPanel .row Select, ControlPanel .row Input { width: 1fr; }
    ControlPanel .section { text-style: bold; color: $accent; margin-top: 1; }
    ControlPanel .section.first { margin-top: 0; }
    ControlPanel #notes { color: $text-muted; height: auto; max-height: 4; }
    ControlPanel #problems { color: $error; height: auto; max-height: 8; }
    ControlPanel #buttons { height: 1; }
    ControlPanel #buttons Button { min-width: 8; margin-right: 1; }
    """

    def __init__(self, spec: LabSpec | None = None, **kwargs):
        super().__init__(**kwargs)
        self.spec = spec or LabSpec()
        self._loading = False
        self._free: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        s = self.spec
        with VerticalScroll(id="form"):
            yield Static("model", classes="section first")
            for name, kind in MODEL_FIELDS:
                yield self._row(name, kind, s)
            yield Static("training", classes="section")
            for name, kind in TRAIN_FIELDS:
                yield self._row(name, kind, s)
        yield Static("", id="notes")                    # always in view, under the form
        yield Static("", id="problems")
        with Horizontal(id="buttons"):
            yield Button("Start", id="start", variant="success", compact=True)
            yield Button("Pause", id="pause", compact=True, disabled=True)
            yield Button("Stop", id="stop", variant="error", compact=True, disabled=True)

    def _row(self, name: str, kind: str, s: LabSpec) -> Horizontal:
        value = getattr(s, name)
        if kind == "select":
            w = Select(_options(name, s.family), value=value, allow_blank=False, compact=True, id=f"f-{name}")
        else:
            w = Input(str(value), type=kind, compact=True, id=f"f-{name}",
                      placeholder="embedded default" if name == "corpus" else "")
        label = FORM_LABELS.get(name) or FIELD_LABELS.get(name, name)
        return Horizontal(Label(label), w, classes="row", id=f"row-{name}")

    def on_mount(self) -> None:
        self._apply_family(self.spec.family)
        self.validate()

    # ------------------------------------------------------------ reading and checking the form
    def values(self) -> dict[str, str]:
        out = {}
        for name, kind in FORM_FIELDS:
            w = self.query_one(f"#f-{name}")
            out[name] = w.value if kind == "select" else w.value
        return out

    def read(self) -> tuple[LabSpec, list[str]]:
        """(the spec the form describes, every problem with it)."""
        spec, errors = LabSpec.from_form(self.values())
        base = self.spec
        for k in ("seed", "eval_interval", "eval_iters", "sample_every", "checkpoint_every"):
            setattr(spec, k, getattr(base, k))
        return spec, errors or spec.problems()

    def validate(self) -> list[str]:
        spec, problems = self.read()
        probs = self.query_one("#problems", Static)
        probs.update(Text("\n".join(f"✗ {p}" for p in problems)) if problems else "")
        probs.display = bool(problems)
        notes = fixed_fields(spec.family)
        note_text = Text()
        seen = set()
        for field, why in notes.items():
            if why not in seen:
                seen.add(why)
                note_text.append(f"· {why}\n")
        notes_w = self.query_one("#notes", Static)
        note_text.rstrip()
        notes_w.update(note_text)
        notes_w.display = bool(notes)
        self.set_class(bool(problems), "invalid")
        return problems

    def _apply_family(self, family: str, reset: bool = False) -> None:
        """Choices of ``family`` (its default activation when ``reset``); the fields it fixes are disabled and
        show the value the family uses (BERT: post-LN, T5: RMSNorm + relative positions)."""
        fixed = fixed_fields(family)
        fixed_values = FIXED_VALUES.get(family, {})
        self._loading = True
        try:
            for name, kind in FORM_FIELDS:
                if name == "family":
                    continue
                w = self.query_one(f"#f-{name}")
                if kind == "select":
                    current = w.value
                    if name in fixed_values:
                        if current != fixed_values[name]:
                            self._free[name] = current        # given back when a family lets you choose again
                        w.set_options([(fixed_values[name], fixed_values[name])])
                        w.value = fixed_values[name]
                    else:
                        valid = choices(name, family)
                        w.set_options(_options(name, family))
                        if name == "activation":
                            w.value = current if current in valid and not reset else DEFAULT_ACTIVATION[family]
                        else:
                            back = current if current in valid else self._free.get(name, valid[0])
                            w.value = back if back in valid else valid[0]
                w.disabled = name in fixed
                w.tooltip = fixed.get(name)
        finally:
            self._loading = False

    # ------------------------------------------------------------ events
    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "f-family" and event.value in choices("family"):
            self._apply_family(str(event.value), reset=True)
        if not self._loading:
            self.validate()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.validate()

    def set_field(self, name: str, value) -> None:
        """Set one control (tests, scripts): a Select takes a choice, an Input any text."""
        w = self.query_one(f"#f-{name}")
        w.value = value if isinstance(w, Select) else str(value)

    def set_running(self, state: str) -> None:
        """Enable the buttons that make sense in ``state`` (idle / running / paused / stopping ...)."""
        active = state in ("starting", "running", "paused", "stopping")
        self.query_one("#start", Button).disabled = active
        pause = self.query_one("#pause", Button)
        pause.disabled = state not in ("running", "paused")
        pause.label = "Resume" if state == "paused" else "Pause"
        self.query_one("#stop", Button).disabled = state not in ("starting", "running", "paused")


def _num(v) -> str:
    if v is None:
        return "—"
    v = float(v)
    if v != v:
        return "nan"
    if abs(v) >= 1e4:
        return f"{v:,.0f}"
    if v != 0 and abs(v) < 1e-2:
        return f"{v:.2e}"
    return f"{v:.4g}"


class LiveView:
    """The live run: ``viz.TrainingDashboard`` itself when there are 70 columns or more; below that a compact
    form of the same data (header, loss + validation curves, one sparkline line per number) that fits 40."""

    def __init__(self, dashboard):
        self.dashboard = dashboard

    def __rich_console__(self, console, options):
        d = self.dashboard
        if options.max_width >= 70:
            yield d
            return
        from rich.console import Group
        from rich.panel import Panel

        from ..viz import LinePlot, sparkline
        w = options.max_width - 4
        head = Text()
        last = d.latest
        if last.get("step") is None:
            head.append("waiting for the first step…", style="dim")
        else:
            head.append(f"step {last['step']}" + (f"/{d.total_steps}" if d.total_steps else ""), style="bold")
            head.append(f"  loss {_num(last.get('loss'))}")
            if d.val_loss:
                head.append(f"  val {_num(d.val_loss[-1])}", style="magenta")
        parts = [head]
        if d.steps:
            series = {"loss": (d.steps, d.loss)}
            if d.val_loss:
                series["val loss"] = (d.val_steps, d.val_loss)
            x_range = (d.steps[0], max(d.total_steps or 0, d.steps[-1]))
            parts.append(LinePlot(series, height=d.plot_height, x_range=x_range))
            rows = [("lr", d.lr, False), ("|grad|", d.grad_norm, True), ("tok/s", d.tokens_per_sec, False)]
            rows += [(k, v, False) for k, v in d.extra.items()]
            for label, vals, log in rows:
                if not any(v is not None for v in vals):
                    continue
                latest = next((v for v in reversed(vals) if v is not None), None)
                line = Text(f"{label:<8}{_num(latest):>10} ", style="dim", no_wrap=True, overflow="crop")
                line.append(sparkline(vals, width=max(4, w - 20), log=log), style="cyan")
                parts.append(line)
            from ..viz.dashboard import LEGEND_SHORT
            parts.append(Text(LEGEND_SHORT + (" · val < loss: normal (? says why)" if d.val_below_train() else ""),
                              style="dim", overflow="fold"))
        yield Panel(Group(*parts), title=d.title, title_align="left", border_style="blue")
