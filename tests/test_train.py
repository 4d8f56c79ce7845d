"""Training: data batching, the loop, exact resume, atomic checkpoints and their error messages.

Every run here is a 2-layer, 32-wide GPT on a few hundred steps' worth of text: seconds, not minutes.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

import tinygrad_tf as tg
from tinygrad_tf.nn.models import GPT, ConfigError
from tinygrad_tf.text import CharTokenizer, DataError
from tinygrad_tf.train import (BatchSampler, CheckpointError, TokenData, TrainConfig, Trainer, build_tokenizer,
                               eval_batches, load_checkpoint, save_checkpoint, train)
from tinygrad_tf import fileio
from tinygrad_tf.train import checkpoint as ckpt

TEXT = ("def f(x):\n    return x + 1\n\nThe quick brown fox jumps over the lazy dog. " * 40
        + "class A:\n    pass\n" * 20)


@pytest.fixture
def text_file(tmp_path):
    p = tmp_path / "data.txt"
    p.write_text(TEXT, encoding="utf-8")
    return str(p)


def tiny(text_file, **kw):
    base = dict(preset="tiny", context_length=16, data=text_file, steps=8, batch_size=4, warmup_steps=2,
                eval_interval=4, eval_iters=2, dropout=0.1, lr=3e-3)
    return TrainConfig(**{**base, **kw})


def digest(folder) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).iterdir())}


# ------------------------------------------------------------------ data
def test_split_is_deterministic_and_contiguous():
    tok = CharTokenizer.train(TEXT)
    a, b = TokenData.from_text(TEXT, tok, 0.1), TokenData.from_text(TEXT, tok, 0.1)
    np.testing.assert_array_equal(a.train, b.train)
    np.testing.assert_array_equal(a.val, b.val)
    ids = np.asarray(tok.encode(TEXT))
    np.testing.assert_array_equal(np.concatenate([a.train, a.val]), ids)
    assert len(a.val) == round(len(ids) * 0.1) and a.train.dtype == np.int64


def test_sampler_windows_state_and_eval_batches():
    data = np.arange(1000, dtype=np.int64)
    s = BatchSampler(data, batch_size=3, block_size=8, seed=5)
    first = s.sample()
    assert first.shape == (3, 8)
    assert np.all(np.diff(first, axis=1) == 1)              # consecutive tokens
    state = s.state_dict()
    nxt = [s.sample() for _ in range(3)]
    s.load_state_dict(json.loads(json.dumps(state)))        # the state survives JSON (it goes in checkpoints)
    for want in nxt:
        np.testing.assert_array_equal(s.sample(), want)
    np.testing.assert_array_equal(BatchSampler(data, 3, 8, seed=5).sample(), first)
    e1, e2 = eval_batches(data, 2, 8, 3, seed=0), eval_batches(data, 2, 8, 3, seed=0)
    assert all(np.array_equal(x, y) for x, y in zip(e1, e2))
    with pytest.raises(DataError):
        BatchSampler(data[:5], 2, 8)


def test_build_tokenizer_kinds():
    assert build_tokenizer(TEXT, "char").vocab_size == len(set(TEXT))
    assert build_tokenizer(TEXT, "bpe", 300).vocab_size == 300
    with pytest.raises(DataError, match="unknown tokenizer"):
        build_tokenizer(TEXT, "words")


def test_train_config_validation_and_model_config():
    with pytest.raises(ConfigError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ConfigError, match="unknown training option"):
        TrainConfig.from_dict({"stepz": 3})
    cfg = TrainConfig(preset="tiny", n_layer=3, model={"position": "rope", "norm": "rmsnorm"}).model_config(50)
    assert (cfg.n_layer, cfg.d_model, cfg.vocab_size, cfg.position, cfg.norm) == (3, 32, 50, "rope", "rmsnorm")
    wide = TrainConfig(preset="gpt2", d_model=64, n_head=4, n_layer=1, context_length=8).model_config(10)
    assert wide.d_ff == 256                                    # d_ff follows a changed d_model
    with pytest.raises(ConfigError, match="preset"):
        TrainConfig(preset="nope").model_config(10)


# ------------------------------------------------------------------ the loop
def test_history_callbacks_and_loss_goes_down(text_file):
    seen = []
    h = train(tiny(text_file, steps=30, dropout=0.0, eval_interval=10), callbacks=[seen.append],
              show_progress=False)
    assert [r["step"] for r in h] == list(range(1, 31)) and len(seen) == 30
    assert {"step", "loss", "lr", "grad_norm", "tokens_per_sec", "time"} <= set(h[0])
    assert [r["step"] for r in h if "val_loss" in r] == [10, 20, 30]
    assert np.mean([r["loss"] for r in h[-5:]]) < h[0]["loss"] - 0.5
    assert h[0]["lr"] == pytest.approx(3e-3 / 2)               # warmup: (0 + 1) / 2
    assert all(r["grad_norm"] > 0 for r in h)


def test_params_stay_leaves_and_request_stop(text_file):
    t = Trainer(tiny(text_file), show_progress=False)
    t.callbacks.append(lambda rec: rec["step"] == 3 and t.request_stop())
    h = t.run()
    assert len(h) == 3 and not t.interrupted
    assert all(p.is_leaf and p.grad_fn is None and p.grad is None for p in t.model.parameters())


def test_resume_is_bit_for_bit(text_file, tmp_path):
    straight = train(tiny(text_file, out_dir=str(tmp_path / "a")), show_progress=False)

    def ctrl_c_at_3(rec):
        if rec["step"] == 3:
            raise KeyboardInterrupt
    cut = train(tiny(text_file, out_dir=str(tmp_path / "b")), callbacks=[ctrl_c_at_3], show_progress=False)
    assert len(cut) == 3
    state = json.loads((tmp_path / "b" / ckpt.STATE_FILE).read_text())
    assert state["step"] == 3
    resumed = train(resume=str(tmp_path / "b"), show_progress=False)
    assert [r["loss"] for r in resumed] == [r["loss"] for r in straight]
    assert [r.get("val_loss") for r in resumed] == [r.get("val_loss") for r in straight]
    assert [r["grad_norm"] for r in resumed] == [r["grad_norm"] for r in straight]
    a, b = load_checkpoint(tmp_path / "a").model, load_checkpoint(tmp_path / "b").model
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=n)


def test_ctrl_c_in_the_middle_of_a_step_saves_the_last_whole_step(text_file, tmp_path):
    straight = train(tiny(text_file), show_progress=False)
    t = Trainer(tiny(text_file, out_dir=str(tmp_path / "c")), show_progress=False)
    calls = {"n": 0}
    forward = t.model.forward

    def flaky_forward(*a, **k):              # Ctrl-C lands inside step 5's forward (after its batch was drawn)
        calls["n"] += 1
        if calls["n"] == 5 + 2:              # 4 steps + 2 eval batches at step 4, then step 5
            raise KeyboardInterrupt
        return forward(*a, **k)
    t.model.forward = flaky_forward
    t.run()
    assert t.interrupted and t.step == 4
    resumed = train(resume=str(tmp_path / "c"), show_progress=False)
    assert [r["loss"] for r in resumed] == [r["loss"] for r in straight]


def test_resume_can_extend_but_not_change_the_model(text_file, tmp_path):
    train(tiny(text_file, steps=4, out_dir=str(tmp_path / "r")), show_progress=False)
    h = train(resume=str(tmp_path / "r"), steps=6, show_progress=False)
    assert len(h) == 6
    with pytest.raises(CheckpointError, match="n_layer"):
        Trainer.from_checkpoint(tmp_path / "r", {"n_layer": 3})
    other = tmp_path / "other.txt"
    other.write_text(TEXT + "more", encoding="utf-8")
    with pytest.raises(DataError, match="not the data"):
        Trainer.from_checkpoint(tmp_path / "r", {"data": str(other)})


# ------------------------------------------------------------------ checkpoints
@pytest.fixture
def saved(text_file, tmp_path):
    out = tmp_path / "ck"
    t = Trainer(tiny(text_file, steps=2, out_dir=str(out)), show_progress=False)
    t.run()
    return t, out


def test_checkpoint_contents_and_model_load(saved):
    t, out = saved
    assert {p.name for p in out.iterdir()} == set(ckpt.OWN_FILES)
    m = GPT.load(out)                                          # the nn checkpoint reader reads ours
    for (n, p), (_, q) in zip(m.named_parameters(), t.model.named_parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=n)
    c = load_checkpoint(out)
    assert c.tokenizer.encode("def") == t.tokenizer.encode("def") and c.trainer_state["step"] == 2
    assert set(c.optimizer_state["state"]) == set(range(len(list(t.model.parameters()))))


@pytest.mark.parametrize("fail_on", ["model", "state", "swap", "interrupt"])
def test_failed_save_leaves_the_old_checkpoint_intact(saved, monkeypatch, fail_on):
    t, out = saved
    before = digest(out)
    t.train_step()                                             # the state moves on
    if fail_on == "model":
        monkeypatch.setattr(ckpt, "write_model_files", lambda *a, **k: (_ for _ in ()).throw(OSError(28, "No space")))
    elif fail_on == "state":
        real = ckpt.atomic_write_json

        def write_json(path, obj, **kw):
            if Path(path).name == ckpt.STATE_FILE:
                Path(path).write_text('{"step": ')             # half written, then the failure
                raise OSError(28, "No space left on device")
            real(path, obj, **kw)
        monkeypatch.setattr(ckpt, "atomic_write_json", write_json)
    elif fail_on == "swap":
        real_rename = os.rename
        calls = []

        def rename(a, b):
            calls.append((a, b))
            if len(calls) == 2:                                # old moved aside, new fails to move in
                raise OSError(5, "I/O error")
            real_rename(a, b)
        monkeypatch.setattr(fileio.os, "rename", rename)
    else:
        def interrupt(path, obj, **kw):
            raise KeyboardInterrupt
        monkeypatch.setattr(ckpt, "atomic_write_json", interrupt)
    with pytest.raises((OSError, KeyboardInterrupt)):
        t.save()
    assert digest(out) == before
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []   # no temp folders left
    monkeypatch.undo()
    assert load_checkpoint(out).trainer_state["step"] == 2


def test_a_save_killed_between_renames_is_recovered(saved):
    t, out = saved
    aside = out.parent / f".{out.name}.old-12345"
    os.rename(out, aside)                                      # as if killed after the first rename
    assert load_checkpoint(out).trainer_state["step"] == 2
    t.save()
    assert out.is_dir() and not aside.exists()


def test_refuses_to_overwrite_a_folder_that_is_not_a_checkpoint(saved, tmp_path):
    t, _ = saved
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "thesis.tex").write_text("do not delete")
    with pytest.raises(CheckpointError, match="refusing"):
        t.save(precious)
    assert (precious / "thesis.tex").read_text() == "do not delete"
    (tmp_path / "afile").write_text("x")
    with pytest.raises(CheckpointError, match="not a folder"):
        t.save(tmp_path / "afile")


def test_load_errors_are_one_line(saved, tmp_path):
    t, out = saved

    def one_line_error(path, match, verify=True):
        with pytest.raises(CheckpointError, match=match) as e:
            load_checkpoint(path, verify=verify)
        assert "\n" not in str(e.value)

    one_line_error(tmp_path / "missing", "not found")
    bad = tmp_path / "trunc"
    save_checkpoint(bad, t.model, t.tokenizer, optimizer_state=t.optimizer.state_dict(),
                    trainer_state=t.trainer_state())
    data = (bad / ckpt.MODEL_FILE).read_bytes()
    (bad / ckpt.MODEL_FILE).write_bytes(data[: len(data) // 2])
    one_line_error(bad, "model.safetensors is .* bytes but was .*truncated")          # the manifest's check
    one_line_error(bad, "model.safetensors is corrupt or truncated", verify=False)    # safetensors' own
    flipped = bytearray(data)
    flipped[-5] ^= 0xFF                                       # same size, one weight changed
    (bad / ckpt.MODEL_FILE).write_bytes(bytes(flipped))
    one_line_error(bad, "model.safetensors has changed")
    assert load_checkpoint(bad, verify=False).model is not None
    (bad / ckpt.MODEL_FILE).write_bytes(data)
    (bad / ckpt.STATE_FILE).write_text('{"step": 3, "hist')
    one_line_error(bad, "corrupt|truncated")
    (bad / ckpt.STATE_FILE).unlink()
    cfg = json.loads((bad / ckpt.CONFIG_FILE).read_text())
    cfg["n_layer"] = 3                                         # a config the weights do not fit
    (bad / ckpt.CONFIG_FILE).write_text(json.dumps(cfg))
    one_line_error(bad, "config.json is .* bytes but was")                       # the manifest covers it too
    one_line_error(bad, "does not fit|different config|mismatch", verify=False)
    with pytest.raises(CheckpointError, match="no training state"):
        (bad / ckpt.CONFIG_FILE).write_text(json.dumps({**cfg, "n_layer": 2}))
        Trainer.from_checkpoint(bad, verify=False)


def test_optimizer_state_round_trips_through_a_checkpoint(saved):
    t, out = saved
    c = load_checkpoint(out)
    mine, theirs = t.optimizer.state_dict(), c.optimizer_state
    assert mine["param_groups"] == theirs["param_groups"]
    for i, s in mine["state"].items():
        assert s["step"] == theirs["state"][i]["step"]
        for k in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(s[k], theirs["state"][i][k])
    assert tg.backend.get_rng_state()["seed"] == 0


def test_every_position_of_the_context_is_trained(text_file):
    # Windows of T+1 tokens: the last position (T-1) has a target too, so its position embedding learns.
    # (HF-style labels on a window of T would leave it untrained, and sliding-window generation reads it.)
    t = Trainer(tiny(text_file, dropout=0.0), show_progress=False)
    window = t.task.sampler.sample()
    assert window.shape == (4, 17)
    t.task.loss(t.model, (window,)).backward()
    grad = t.model.wpe.weight.grad.numpy()
    assert grad.shape[0] == 16 and np.all(np.abs(grad).sum(axis=1) > 0)


def test_ctrl_c_is_held_back_until_the_critical_section_ends():
    import signal
    done = []
    with pytest.raises(KeyboardInterrupt):
        with fileio.deferred_sigint():
            os.kill(os.getpid(), signal.SIGINT)      # arrives now ...
            done.append("finished")                  # ... but the section still completes
    assert done == ["finished"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
