"""The lab's modal screens: help (``?``: every key, what each tab shows, where runs are saved) and the
confirmation that a key which stops a run asks for (``x``, and ``q`` while a run trains)."""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual import events
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

__all__ = ["HelpScreen", "ConfirmScreen", "KEYS"]

KEYS = [
    ("s", "start a run with the settings on the Train tab"),
    ("p", "pause / resume the run (the step in progress finishes first)"),
    ("x", "stop: asks first (y stops; any other key keeps training); the run saves its checkpoint and is "
          "marked 'stopped'"),
    ("1 2 3 4", "tabs: Train, Inspect, Runs, Code (Inspect puts you in its prompt field, Code in its list)"),
    ("tab / shift+tab", "move between controls; arrows and enter open a choice"),
    ("esc", "leave a text field (so letters are keys again); what you type in one never acts as a key"),
    ("enter", "in the prompt field: draw the attention map for that text"),
    ("space", "Runs tab: select / unselect a run"),
    ("c", "compare the selected runs (two or more): curves overlaid, configs diffed"),
    ("r", "reload the runs list"),
    ("f2", "save a screenshot (SVG) into the runs folder"),
    ("?", "this help"),
    ("q", "quit (while a run trains it asks first, then stops and saves the run before quitting)"),
]

TABS = [
    ("Train", "the model and training choices (problems are explained under the form); live loss and "
              "validation curves, tokens/s, learning rate, gradient norm, generated samples. Losses are in nats "
              "(natural-log units: a uniform guess among V tokens scores ln V); |grad| is the length of all "
              "gradients as one vector, before clipping. Validation below training loss is normal: the training "
              "loss is one batch (with dropout, if any), validation the mean over fixed held-out batches of other "
              "text"),
    ("Inspect", "attention heatmap for a prompt you type (pick layer and head), gradient norms per "
                "parameter and per layer with their history and flags"),
    ("Runs", "every saved run (done, stopped, running, interrupted); select two or more and compare"),
    ("Code", "any op, layer, model, encoding or attention: its source beside the math it implements"),
]


class HelpScreen(ModalScreen):
    """Keys and tabs; any of esc, ?, q closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%; border: round $accent;
                                  background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "close", "close"), Binding("question_mark", "close", "close"),
                Binding("q", "close", "close", show=False)]

    def __init__(self, runs_dir: str = ""):
        super().__init__()
        self.runs_dir = runs_dir

    def compose(self) -> ComposeResult:
        keys = _two_columns("keys", ("key", "does"), KEYS, name_style="bold cyan")
        tabs = _two_columns("tabs", ("tab", "shows"), TABS, name_style="bold magenta")
        foot = Text(f"runs are saved in {self.runs_dir} (--runs DIR or $TINYGRAD_TF_RUNS); from a shell: "
                    "tinygrad-tf runs list, tinygrad-tf runs compare A B, tinygrad-tf show NAME", style="dim")
        with VerticalScroll():
            yield Static(Group(Text("tinygrad-tf lab — help", style="bold"), keys, tabs, foot))

    def action_close(self) -> None:
        self.dismiss()


def _two_columns(title, headers, rows, name_style) -> Table:
    """A titled table of (name, what it does) rows: the names coloured, the descriptions folded to fit."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title=title, title_justify="left",
                  header_style="bold")
    table.add_column(headers[0], style=name_style, no_wrap=True)
    table.add_column(headers[1], overflow="fold")
    for name, text in rows:
        table.add_row(name, text)
    return table


class ConfirmScreen(ModalScreen[bool]):
    """A yes / no question about something that cannot be undone (stopping a run). ``y`` (or the red button)
    confirms; ``n``, esc, enter on the default button, or any other key says no — so text typed by mistake
    while this is open answers no."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 64; max-width: 95%; height: auto; border: round $error; background: $surface;
                               padding: 0 1; }
    ConfirmScreen #question { margin-bottom: 1; }
    ConfirmScreen #answers { height: 1; }
    ConfirmScreen #answers Button { margin-right: 2; min-width: 14; }
    """

    def __init__(self, question: str, yes: str = "Stop", no: str = "Keep training"):
        super().__init__()
        self.question, self.yes, self.no = question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text.assemble((self.question, "bold"), "\n",
                                       (f"y: {self.yes.lower()} · any other key: {self.no.lower()}", "dim")),
                         id="question")
            with Horizontal(id="answers"):
                yield Button(self.no, id="no", compact=True)
                yield Button(f"{self.yes} (y)", id="yes", variant="error", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_key(self, event: events.Key) -> None:
        if event.key in ("tab", "shift+tab", "left", "right", "enter", "space"):
            return                                  # moving between the buttons and pressing one
        event.stop()
        event.prevent_default()
        self.dismiss(event.key == "y")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")
