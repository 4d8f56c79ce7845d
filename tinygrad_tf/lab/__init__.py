"""``tinygrad_tf.lab``: the ``tinygrad-tf lab`` terminal app and what it is built from.

    tinygrad-tf lab                    build a model, train it live, compare runs, read the code (? for keys)
    tinygrad-tf runs list | compare A B       the saved runs, from any shell (--json for scripts)
    tinygrad-tf show Softmax           a component's source beside its math

The pieces work without the app, so scripts, notebooks and tests use them directly:

    from tinygrad_tf.lab import LabSpec, RunStore, train_run, compare
    store = RunStore("runs")
    pre = train_run(LabSpec(residual="pre", steps=200), store)       # a saved run (metrics, samples, checkpoint)
    post = train_run(LabSpec(residual="post", steps=200), store)
    compare([pre, post])                                             # overlaid curves + the config diff

spec.py      LabSpec: the controls (family, depth, width, heads, ..., learning rate, steps) and their validation
runs.py      RunStore: run folders that survive crashes; list, resolve, compare
worker.py    TrainingWorker: a run in a background thread (pause / resume / stop); train_run: the same, inline
codeview.py  the component catalogue: source (inspect) beside the math
app.py       LabApp, the Textual app (screens.py: its help screen; widgets.py: its live readouts)
web.py       serve: the same app in a browser (textual-serve), `tinygrad-tf lab --web`
commands.py  the lab / runs / show command-line parsers
"""

from .codeview import COMPONENTS, Component, component_view, find_component
from .runs import RUNS_ENV, Comparison, RunInfo, RunsError, RunStore, compare, runs_dir
from .spec import FAMILIES, LabSpec, SpecError
from .web import WebError
from .worker import RunFailed, TrainingWorker, train_run

__all__ = ["LabSpec", "SpecError", "FAMILIES", "RunStore", "RunInfo", "RunsError", "Comparison", "compare",
           "runs_dir", "RUNS_ENV", "TrainingWorker", "train_run", "RunFailed", "COMPONENTS", "Component",
           "component_view", "find_component", "LabApp", "WebError"]


def __getattr__(name):
    if name == "LabApp":                    # the app imports textual: only when asked for
        from .app import LabApp
        return LabApp
    raise AttributeError(f"module 'tinygrad_tf.lab' has no attribute {name!r}")
