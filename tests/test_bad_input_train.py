"""Issue 17, training: nothing a user had is lost — not to a diverging run, a wrong --out, a second Ctrl-C, a
SIGTERM, or a save killed between its two renames.

Every run is a 2-layer, 32-wide GPT on a little text: seconds. The signal tests run in a subprocess (a SIGTERM
that is not handled would end the test process itself).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tinygrad_tf.commands import main
from tinygrad_tf.nn.models import GPT, load
from tinygrad_tf.train import CheckpointError, TrainConfig, Trainer, load_checkpoint
from tinygrad_tf.train.trainer import MAX_NONFINITE_STEPS, TrainingDiverged

TEXT = ("def f(x):\n    return x + 1\n\nThe quick brown fox jumps over the lazy dog. " * 40
        + "class A:\n    pass\n" * 20)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def text_file(tmp_path):
    p = tmp_path / "data.txt"
    p.write_text(TEXT, encoding="utf-8")
    return str(p)


def tiny(text_file, **kw):
    base = dict(preset="tiny", context_length=16, data=text_file, steps=8, batch_size=4, warmup_steps=2,
                eval_interval=4, eval_iters=2, dropout=0.0, lr=3e-3)
    return TrainConfig(**{**base, **kw})


def one_error_line(capsys, *argv, code=2) -> str:
    capsys.readouterr()
    assert main([str(a) for a in argv]) == code
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def weights(path) -> dict:
    return {k: v.numpy().copy() for k, v in load(path).state_dict().items()}


# ------------------------------------------------------------------ a diverging run
def test_a_diverging_run_stops_and_keeps_the_last_good_checkpoint(text_file, tmp_path, capsys):
    out = tmp_path / "run"
    line = one_error_line(capsys, "train", "--preset", "tiny", "--context", "16", "--batch-size", "4",
                          "--data", text_file, "--steps", "40", "--lr", "100", "--warmup", "0", "--grad-clip", "0",
                          "--checkpoint-interval", "5", "--eval-interval", "10", "--eval-iters", "1",
                          "--out", out, "--quiet", code=1)
    assert "diverged at step" in line and "--lr" in line and "--grad-clip" in line
    first_bad = int(line.split("diverged at step ")[1].split(":")[0])
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["step"] < first_bad and state["step"] % 5 == 0          # the last interval save before it
    assert f"(step {state['step']})" in line
    assert all(math.isfinite(h["loss"]) for h in state["history"])
    assert all(np.isfinite(w).all() for w in weights(out).values())


def test_nonfinite_steps_change_no_weight_and_a_streak_stops(text_file, tmp_path):
    t = Trainer(tiny(text_file, steps=20, out_dir=str(tmp_path / "c"), checkpoint_interval=2), show_progress=False)
    t.run()                                     # a good checkpoint at step 20
    t = Trainer.from_checkpoint(tmp_path / "c", {"steps": 30}, show_progress=False)
    before = {k: v.numpy().copy() for k, v in t.model.state_dict().items()}
    real_loss = t.task.loss
    t.task.loss = lambda model, batch: real_loss(model, batch) * float("nan")
    with pytest.raises(TrainingDiverged, match=rf"for {MAX_NONFINITE_STEPS} steps in a row") as e:
        t.run()
    assert "step 20" in str(e.value) and "kept" in str(e.value)
    assert t.step == 20 + MAX_NONFINITE_STEPS
    for k, v in t.model.state_dict().items():                  # skipped: not one weight moved
        np.testing.assert_array_equal(v.numpy(), before[k])
    assert json.loads((tmp_path / "c" / "trainer_state.json").read_text())["step"] == 20


def test_one_nan_step_is_skipped_and_training_goes_on(text_file):
    t = Trainer(tiny(text_file, steps=6), show_progress=False)
    real_loss, calls = t.task.loss, []

    def loss(model, batch):
        calls.append(1)
        out = real_loss(model, batch)
        return out * float("nan") if len(calls) == 3 else out
    t.task.loss = loss
    history = t.run()
    assert len(history) == 6 and history[2].get("skipped") and math.isnan(history[2]["loss"])
    assert all(math.isfinite(h["loss"]) for i, h in enumerate(history) if i != 2)


def test_non_finite_weights_are_never_saved(text_file, tmp_path):
    t = Trainer(tiny(text_file, steps=2, out_dir=str(tmp_path / "c")), show_progress=False)
    t.run()
    saved = (tmp_path / "c" / "model.safetensors").read_bytes()
    next(iter(t.model.parameters())).data[...] = np.nan
    with pytest.raises(TrainingDiverged, match="NaN or inf"):
        t.save()
    assert (tmp_path / "c" / "model.safetensors").read_bytes() == saved


def test_fp16_loss_scaling_still_skips_overflowing_steps(text_file):
    t = Trainer(tiny(text_file, steps=4, precision="fp16"), show_progress=False)
    t.scaler.scale_value = 2.0 ** 60                    # overflows float16 gradients: skipped, scale halved
    history = t.run()
    assert len(history) == 4 and history[0]["skipped"] and t.scaler.get_scale() < 2.0 ** 60


# ------------------------------------------------------------------ --out checked before training
def test_resume_into_another_runs_checkpoint_is_refused(text_file, tmp_path, capsys):
    for name in ("a", "b"):
        Trainer(tiny(text_file, steps=2, out_dir=str(tmp_path / name)), show_progress=False).run()
    before = (tmp_path / "b" / "model.safetensors").read_bytes()
    line = one_error_line(capsys, "train", "--resume", tmp_path / "a", "--steps", "4", "--out", tmp_path / "b")
    assert "already holds a checkpoint" in line and "--overwrite" in line
    assert (tmp_path / "b" / "model.safetensors").read_bytes() == before


@pytest.mark.parametrize("where", ["afile/sub", "/proc/x"])
def test_an_impossible_out_is_found_before_training(text_file, tmp_path, capsys, where, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("a file, not a folder")
    steps = []
    monkeypatch.setattr(Trainer, "train_step", lambda self: steps.append(1) or {})
    line = one_error_line(capsys, "train", "--preset", "tiny", "--data", text_file, "--steps", "2", "--out", where)
    assert "cannot write a checkpoint" in line and where in line, line
    assert steps == []                                  # not a single step ran


# ------------------------------------------------------------------ Ctrl-C twice, SIGTERM
SIGNAL_RUN = textwrap.dedent("""
    import os, signal, sys, time
    from tinygrad_tf.train import TrainConfig, Trainer, checkpoint
    out, sig, second = sys.argv[1], getattr(signal, sys.argv[2]), sys.argv[3]
    cfg = TrainConfig(preset="tiny", context_length=16, data=sys.argv[4], steps=1000, batch_size=4,
                      warmup_steps=1, eval_interval=1000, eval_iters=1, out_dir=out)
    real_save = checkpoint.save_checkpoint
    def save(*a, **k):                       # a second signal 20 ms into the save it started
        if second != "none":
            os.kill(os.getpid(), getattr(signal, second))
            time.sleep(0.02)
        return real_save(*a, **k)
    checkpoint.save_checkpoint = save
    def at_step_3(rec):
        if rec["step"] == 3:
            os.kill(os.getpid(), sig)        # as kill / systemd / Ctrl-C would
    trainer = Trainer(cfg, callbacks=[at_step_3], show_progress=False)
    trainer.run()
    print("step", trainer.step, "interrupted", trainer.interrupted,
          "sigint", signal.getsignal(signal.SIGINT) is signal.default_int_handler,
          "sigterm", signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)
""")


@pytest.mark.parametrize("first,second", [("SIGTERM", "none"), ("SIGINT", "SIGINT"), ("SIGTERM", "SIGINT"),
                                          ("SIGINT", "SIGTERM")])
def test_sigterm_and_a_second_ctrl_c_save_like_one_ctrl_c(text_file, tmp_path, first, second):
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-c", SIGNAL_RUN, str(out), first, second, text_file], capture_output=True,
                       text=True, timeout=120, cwd=REPO)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "step 3 interrupted True sigint True sigterm True" in r.stdout, r.stdout + r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    c = load_checkpoint(out)                             # saved, whole, verified
    assert c.trainer_state["step"] == 3


def test_sigterm_on_the_command_line_saves_and_exits_130(text_file, tmp_path):
    import signal
    import time
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    p = subprocess.Popen([sys.executable, "-m", "tinygrad_tf", "train", "--data", text_file, "--steps", "100000",
                          "--out", str(out), "--preset", "tiny", "--context", "16", "--batch-size", "4",
                          "--eval-interval", "1000", "--eval-iters", "1"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        assert p.stdout.readline().startswith("GPT")
        time.sleep(1.5)
        p.send_signal(signal.SIGTERM)
        stdout, stderr = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, stderr
    assert "interrupted at step" in stdout and "Traceback" not in stderr
    load_checkpoint(out)


# ------------------------------------------------------------------ a save killed between its two renames
KILLED_SAVE = textwrap.dedent("""
    import os, sys
    from tinygrad_tf import fileio
    from tinygrad_tf.nn.models import GPT, GPTConfig
    model = GPT(GPTConfig(vocab_size=11, context_length=8, d_model=8, n_layer=1, n_head=2))
    real_rename = os.rename
    def rename(src, dst):
        real_rename(src, dst)
        if ".old-" in str(dst):
            os._exit(9)                      # killed right after the first rename of the swap
    fileio.os.rename = rename
    model.save(sys.argv[1])
""")


def killed_save(path: Path) -> None:
    r = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)], capture_output=True, text=True, timeout=60,
                       cwd=REPO)
    assert r.returncode == 9, r.stderr


def test_a_save_killed_between_its_renames_loses_nothing(text_file, tmp_path, capsys):
    ck = tmp_path / "ck"
    Trainer(tiny(text_file, steps=2, out_dir=str(ck)), show_progress=False).run()
    (ck / "notes.txt").write_text("mine")
    before = weights(ck)
    killed_save(ck)
    assert not ck.exists()
    old = [p for p in tmp_path.iterdir() if p.name.startswith(".ck.old-")]
    tmps = [p for p in tmp_path.iterdir() if p.name.startswith(".ck.tmp-")]
    assert len(old) == 1 and len(tmps) == 1

    for loaded in (GPT.load(ck), load(ck), load_checkpoint(ck).model):     # every loader finds the old folder
        for k, v in loaded.state_dict().items():
            np.testing.assert_array_equal(v.numpy(), before[k])
    # a new run into the same --out must not delete the only copy
    line = one_error_line(capsys, "train", "--preset", "tiny", "--data", text_file, "--steps", "2", "--out", ck)
    assert "is whole at" in line and "--resume" in line
    assert old[0].is_dir()
    # resuming it works, and the successful save cleans up what the killed one left
    Trainer.from_checkpoint(ck, {"steps": 4}, show_progress=False).run()
    assert load_checkpoint(ck).trainer_state["step"] == 4
    assert (ck / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_the_next_plain_save_restores_then_replaces_the_old_folder(tmp_path):
    from tinygrad_tf.nn.models import GPTConfig
    ck = tmp_path / "m"
    GPT(GPTConfig(vocab_size=11, context_length=8, d_model=8, n_layer=1, n_head=2)).save(ck)
    (ck / "notes.txt").write_text("mine")
    killed_save(ck)
    GPT(GPTConfig(vocab_size=11, context_length=8, d_model=8, n_layer=2, n_head=2)).save(ck)
    assert load(ck).config.n_layer == 2 and (ck / "notes.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


# ------------------------------------------------------------------ resume: say why it cannot
def test_resuming_without_tokenizer_json_says_why(text_file, tmp_path):
    ck = tmp_path / "ck"
    Trainer(tiny(text_file, steps=2, out_dir=str(ck)), show_progress=False).run()
    (ck / "tokenizer.json").unlink()
    with pytest.raises(CheckpointError, match="tokenizer.json is missing"):      # the manifest lists it
        Trainer.from_checkpoint(ck, {"steps": 4}, show_progress=False)
    with pytest.raises(CheckpointError, match=r"no tokenizer\.json.*char tokenizer.*other ids"):
        Trainer.from_checkpoint(ck, {"steps": 4}, verify=False, show_progress=False)


def test_resuming_a_model_only_folder_says_why(tmp_path, capsys):
    from tinygrad_tf.nn.models import GPTConfig
    GPT(GPTConfig(vocab_size=11, context_length=8, d_model=8, n_layer=1, n_head=2)).save(tmp_path / "m")
    line = one_error_line(capsys, "train", "--resume", tmp_path / "m", "--steps", "4")
    assert "no training state (no trainer_state.json" in line and "model.save" in line
