"""The lab's runs store: saved runs, interrupted runs, compare, and the `runs` / `show` commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tinygrad_tf.lab import LabSpec, RunsError, RunStore, SpecError, compare, train_run
from tinygrad_tf.commands import main as lab_main
from tinygrad_tf.lab.runs import atomic_write_json, read_jsonl

ROOT = Path(__file__).resolve().parent.parent
TINY = dict(n_layer=1, d_model=16, n_head=2, context_length=16, batch_size=4, eval_iters=1)


def tiny(**kw) -> LabSpec:
    return LabSpec(**{**TINY, "steps": 8, **kw})


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two finished GPT runs that differ only in the residual layout."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    pre = train_run(tiny(residual="pre"), store)
    post = train_run(tiny(residual="post"), store)
    return store, pre, post


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("TINYGRAD_TF_RUNS", None)
    env.update(extra)
    return env


def test_a_run_folder_holds_everything(two_runs):
    store, pre, _ = two_runs
    p = pre.path
    assert {"run.json", "metrics.jsonl", "samples.jsonl", "done.json", "checkpoint"} <= {x.name for x in p.iterdir()}
    assert pre.status == "done" and pre.finished
    info = json.loads((p / "run.json").read_text())
    assert info["spec"]["residual"] == "pre" and info["model_config"]["residual"] == "pre"
    assert info["parameters"] > 0
    recs = pre.metrics()
    assert [r["step"] for r in recs] == list(range(1, 9))
    assert all(r["loss"] > 0 and r["tokens_per_sec"] > 0 for r in recs)
    assert any("val_loss" in r for r in recs)
    assert pre.samples() and pre.samples()[-1]["final"] is True
    from tinygrad_tf.train import load_checkpoint
    from tinygrad_tf.fileio import verify_manifest
    assert "model.safetensors" in verify_manifest(p / "checkpoint")["files"]
    assert load_checkpoint(p / "checkpoint").trainer_state["step"] == 8
    assert not [x for x in p.iterdir() if x.name.startswith(".")]          # no temporary files left


def test_compare_overlays_and_diffs(two_runs):
    store, pre, post = two_runs
    cmp = compare(store.resolve([pre.name, post.name]))
    assert cmp.diff["residual"] == ["pre", "post"]
    assert cmp.diff["model.residual"] == ["pre", "post"]
    assert "n_layer" not in cmp.diff and "lr" not in cmp.diff
    d = cmp.to_dict()
    assert [r["name"] for r in d["runs"]] == [pre.name, post.name]
    assert len(d["curves"][pre.name]["loss"]) == 8
    from rich.console import Console
    con = Console(width=80, record=True, color_system=None)
    con.print(cmp)
    text = con.export_text()
    assert "training loss" in text and "residual" in text and "what differs" in text
    with pytest.raises(RunsError, match="two or more"):
        compare([pre])


def test_run_names_resolve(two_runs):
    store, pre, post = two_runs
    assert store.get("1").name == pre.name and store.get("-1").name == post.name
    assert store.get(pre.name).name == pre.name
    assert store.get("post").name == post.name                  # a unique part of the name
    with pytest.raises(RunsError, match="matches 2 runs"):
        store.get("gpt")
    with pytest.raises(RunsError, match="no run named like"):
        store.get("nope")
    with pytest.raises(RunsError, match="no run number 9"):
        store.get("9")


def test_invalid_spec_is_explained_and_creates_nothing(tmp_path):
    spec = tiny(d_model=30, n_head=4)
    assert any("not divisible by n_head" in p for p in spec.problems())
    with pytest.raises(SpecError, match="d_model=30"):
        train_run(spec, RunStore(tmp_path))
    assert not tmp_path.exists() or not any(tmp_path.iterdir())
    spec, errors = LabSpec.from_form({"n_layer": "two", "lr": ""})
    assert errors == ["depth must be a whole number, got 'two'", "learning rate is empty"]
    assert "learning rate must be positive" in " ".join(tiny(lr=0.0).problems())
    assert "corpus file not found" in " ".join(tiny(corpus=str(tmp_path / "missing.txt")).problems())
    assert any("n_head=3" in p for p in LabSpec(family="bert", d_model=16, n_head=3).problems())


def test_a_failed_run_is_saved_as_failed(tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("tiny text")                     # shorter than one context window
    from tinygrad_tf.lab.worker import RunFailed
    with pytest.raises(RunFailed, match="fewer than one window"):
        train_run(tiny(corpus=str(short)), RunStore(tmp_path / "runs"))
    (run,) = RunStore(tmp_path / "runs").list()
    assert run.status == "failed" and "fewer than one window" in run.summary()["error"]
    with pytest.raises(RunFailed, match="cannot create a run"):          # a runs folder that cannot be written
        train_run(tiny(), RunStore(short / "runs"))


def test_jsonl_skips_a_torn_last_line(tmp_path):
    p = tmp_path / "m.jsonl"
    p.write_text('{"step": 1, "loss": 2.0}\nnot json\n{"step": 2, "loss": 1.5}\n{"step": 3, "lo')
    recs, bad = read_jsonl(p)
    assert [r["step"] for r in recs] == [1, 2] and bad == 2
    atomic_write_json(tmp_path / "x.json", {"a": float("nan")})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": None}
    assert [x.name for x in tmp_path.iterdir()] and not [x for x in tmp_path.iterdir() if x.name.startswith(".")]


def test_killed_run_is_listed_as_interrupted_and_still_readable(tmp_path, two_runs):
    """SIGKILL in the middle of training: the run stays listed (interrupted), its metrics and its last
    checkpoint are readable, and it can be compared with a finished run."""
    runs = tmp_path / "runs"
    code = textwrap.dedent(f"""
        from tinygrad_tf.lab import LabSpec, RunStore, train_run
        train_run(LabSpec(**{TINY!r}, steps=100000, checkpoint_every=5, sample_every=100000), RunStore({str(runs)!r}))
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            found = list(runs.glob("*/checkpoint/model.safetensors"))
            if found and len(read_jsonl(found[0].parent.parent / "metrics.jsonl")[0]) >= 12:
                break
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.05)
        else:
            pytest.fail("the background run never wrote a checkpoint")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    store = RunStore(runs)
    (run,) = store.list()
    assert run.status == "interrupted" and not run.finished
    assert run.summary()["step"] >= 12
    from tinygrad_tf.train import load_checkpoint
    assert load_checkpoint(run.path / "checkpoint").trainer_state["step"] % 5 == 0
    # listed by the CLI, and comparable with a finished run from another folder
    out = subprocess.run([sys.executable, "-m", "tinygrad_tf", "runs", "list", "--json", "--runs", str(runs)],
                         env=_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)["runs"]
    assert [r["status"] for r in listed] == ["interrupted"]
    cmp = compare([run, two_runs[1]])
    assert cmp.summaries[0]["status"] == "interrupted"


def test_runs_cli_list_and_compare_json(two_runs):
    store, pre, post = two_runs
    out = subprocess.run([sys.executable, "-m", "tinygrad_tf", "runs", "compare", "1", "2", "--json"],
                         env=_env(TINYGRAD_TF_RUNS=str(store.root)), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["diff"]["residual"] == ["pre", "post"]
    assert set(d["curves"]) == {pre.name, post.name}


def test_runs_and_show_commands_in_process(two_runs, capsys, tmp_path):
    store, pre, post = two_runs
    assert lab_main(["runs", "list", "--runs", str(store.root), "--json"]) == 0
    names = [r["name"] for r in json.loads(capsys.readouterr().out)["runs"]]
    assert names == [pre.name, post.name]
    assert lab_main(["runs", "--runs", str(store.root)]) == 0                # `runs` alone lists
    assert pre.name[:8] in capsys.readouterr().out
    assert lab_main(["runs", "compare", pre.name, "post", "--runs", str(store.root)]) == 0
    assert "residual" in capsys.readouterr().out
    assert lab_main(["runs", "compare", "1", "--runs", str(store.root)]) == 2
    assert "two or more" in capsys.readouterr().err
    assert lab_main(["runs", "compare", "1", "zzz", "--runs", str(store.root)]) == 2
    assert "no run named like 'zzz'" in capsys.readouterr().err
    assert lab_main(["runs", "list", "--runs", str(tmp_path / "empty")]) == 0
    assert "no lab runs" in capsys.readouterr().out
    assert lab_main(["show", "Softmax"]) == 0
    out = capsys.readouterr().out
    assert "class Softmax(Function)" in out and "the math" in out
    assert lab_main(["show", "--list"]) == 0
    assert "LayerNorm" in capsys.readouterr().out
    assert lab_main(["show", "softmaxx"]) == 2
    assert "did you mean Softmax" in capsys.readouterr().err
    assert lab_main(["show", "rope", "--json"]) == 0
    assert "class RotaryEmbedding" in json.loads(capsys.readouterr().out)["source"]


def test_top_level_cli_runs(two_runs):
    """`python -m tinygrad_tf runs ...`: the commands package registers the lab commands."""
    from tinygrad_tf.commands import build_parser
    build_parser().parse_args(["runs", "list"])     # SystemExit (a failure) if `runs` is not registered
    store = two_runs[0]
    out = subprocess.run([sys.executable, "-m", "tinygrad_tf", "runs", "list", "--json", "--runs", str(store.root)],
                         env=_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["runs"]) == 2


def test_every_component_has_source_and_math():
    from tinygrad_tf.lab.codeview import COMPONENTS, find_component
    assert len({c.key for c in COMPONENTS}) == len(COMPONENTS)
    for c in COMPONENTS:
        assert c.math, c.name
        assert c.source().lstrip().startswith(("class", "def", "@")), c.name
    assert find_component("layer-norm (op)").target.endswith("nn_ops:LayerNorm")
    assert find_component("LayerNorm").target.endswith("norm:LayerNorm")
    assert find_component("RoPE").name == "RotaryEmbedding"


def test_a_bert_run_trains_and_saves(tmp_path):
    """BERT (masked-LM via train.mlm) trains from a LabSpec and leaves a loadable checkpoint."""
    run = train_run(LabSpec(family="bert", activation="gelu", **{**TINY, "steps": 3}), RunStore(tmp_path))
    assert run.status == "done" and run.family == "bert"
    assert [r["step"] for r in run.metrics()] == [1, 2, 3]
    assert "[" in run.samples()[-1]["text"]                      # fill-mask guesses for the [MASK]
    from tinygrad_tf.train import load_checkpoint
    assert load_checkpoint(run.path / "checkpoint").config.model_type == "bert"
