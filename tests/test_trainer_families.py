"""One Trainer for every family: BERT and T5 get what GPT has (exact resume from the CLI, fp16, --config,
checkpoints with a manifest, the loss curve), BERT classification, the optimizers, and lab runs that resume
from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file

from tinygrad_tf.commands import main
from tinygrad_tf.train import TrainConfig, Trainer, load_checkpoint, make_optimizer, train
from tinygrad_tf.train.data import labelled_texts

TEXT = ("The quick brown fox jumps over the lazy dog. A return statement leaves the current function call. "
        "The value of the expression is returned to the caller. " * 30)
TINY = {"bert": ["--model", "bert", "--n-layer", "1", "--d-model", "16", "--n-head", "2", "--context", "24",
                 "--batch-size", "4", "--vocab-size", "120", "--eval-interval", "2", "--eval-iters", "1",
                 "--dropout", "0.1"],
        "t5": ["--model", "t5", "--n-layer", "1", "--d-model", "16", "--n-head", "2", "--batch-size", "8",
               "--eval-size", "8", "--max-len", "5", "--eval-interval", "2", "--dropout", "0.1"]}


def weights(folder) -> dict:
    return load_file(str(folder / "model.safetensors"))


def same_weights(a, b) -> bool:
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)


@pytest.fixture
def data(tmp_path):
    p = tmp_path / "data.txt"
    p.write_text(TEXT, encoding="utf-8")
    return p


@pytest.mark.parametrize("family", ["bert", "t5"])
def test_cli_train_then_resume_ends_with_the_weights_of_one_uninterrupted_run(family, data, tmp_path, capsys):
    flags = [*TINY[family], *(["--data", str(data)] if family == "bert" else []), "--warmup", "4", "--quiet"]
    assert main(["train", *flags, "--steps", "6", "--out", str(tmp_path / "straight")]) == 0
    assert main(["train", *flags, "--steps", "3", "--out", str(tmp_path / "cut")]) == 0
    assert not same_weights(tmp_path / "straight", tmp_path / "cut")            # the test can fail
    assert main(["train", "--resume", str(tmp_path / "cut"), "--steps", "6", "--quiet"]) == 0
    assert same_weights(tmp_path / "straight", tmp_path / "cut")
    state = json.loads((tmp_path / "cut" / "trainer_state.json").read_text())
    assert state["step"] == 6 and state["config"]["family"] == family
    for name in ("integrity.json", "optimizer.safetensors", "loss_curve.svg"):
        assert (tmp_path / "cut" / name).is_file(), name
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "cut"), "--model", "gpt", "--steps", "8"]) == 2
    assert "family" in capsys.readouterr().err


@pytest.mark.parametrize("family", ["bert", "t5"])
def test_ctrl_c_and_fp16_resume_bit_for_bit(family, data, tmp_path):
    size = dict(n_layer=1, d_model=16, n_head=2, dropout=0.1, batch_size=4, eval_interval=3, steps=7,
                warmup_steps=2, precision="fp16")
    size.update(dict(data=str(data), context_length=24, vocab_size=120, eval_iters=1) if family == "bert"
                else dict(max_len=5, eval_size=8))
    straight = train(TrainConfig(family=family, **size, out_dir=str(tmp_path / "a")), show_progress=False)
    assert all("loss_scale" in r for r in straight)                            # float16 was really on

    def ctrl_c_at_4(rec):
        if rec["step"] == 4:
            raise KeyboardInterrupt
    cut = train(TrainConfig(family=family, **size, out_dir=str(tmp_path / "b")), callbacks=[ctrl_c_at_4],
                show_progress=False)
    assert len(cut) == 4
    resumed = train(resume=str(tmp_path / "b"), show_progress=False)
    assert [r["loss"] for r in resumed] == [r["loss"] for r in straight]
    assert same_weights(tmp_path / "a", tmp_path / "b")


def test_config_file_and_checkpoint_interval_for_bert(data, tmp_path):
    cfg = tmp_path / "bert.json"
    cfg.write_text(json.dumps({"family": "bert", "data": str(data), "n_layer": 1, "d_model": 16, "n_head": 2,
                               "context_length": 24, "vocab_size": 120, "batch_size": 4, "steps": 4,
                               "checkpoint_interval": 2, "eval_interval": 4, "eval_iters": 1}))
    saves = []
    import tinygrad_tf.train.trainer as trainer_module
    real = trainer_module.ckpt.save_checkpoint

    def counting(*a, **k):
        saves.append(k["trainer_state"]["step"])
        return real(*a, **k)
    trainer_module.ckpt.save_checkpoint = counting
    try:
        assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "b"), "--quiet"]) == 0
    finally:
        trainer_module.ckpt.save_checkpoint = real
    assert saves == [2, 4]
    c = load_checkpoint(tmp_path / "b")
    assert c.config.model_type == "bert" and c.config.n_layer == 1 and c.trainer_state["config"]["steps"] == 4


def test_bert_sequence_classification_learns_a_labelled_file(tmp_path):
    rng = np.random.default_rng(0)
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"]
    lines = []
    for i in range(240):
        label = "yes" if i % 2 else "no"
        body = list(rng.choice(words, 6)) + (["good"] if label == "yes" else ["bad"])
        lines.append(f"{label}\t{' '.join(rng.permutation(body))}")
    path = tmp_path / "labelled.tsv"
    path.write_text("\n".join(lines), encoding="utf-8")
    t = Trainer(TrainConfig(family="bert", task="classify", data=str(path), n_layer=1, d_model=32, n_head=2,
                            context_length=16, vocab_size=60, batch_size=16, steps=80, lr=3e-3, eval_interval=40,
                            dropout=0.0, target_accuracy=0.95), show_progress=False)
    assert t.model.config.num_labels == 2 and t.task.label_names == ["no", "yes"]
    h = t.run()
    assert h[-1]["val_accuracy"] >= 0.95 and t.step <= 80                     # stops once the target is reached
    assert "yes" in t.sample("alpha good beta") and "%" in t.sample("alpha good beta")
    with pytest.raises(Exception, match="line 1: expected LABEL<tab>TEXT"):
        bad = tmp_path / "bad.tsv"
        bad.write_text("no tab here\nyes\tok\n", encoding="utf-8")
        labelled_texts(bad)


def test_builtin_classification_data_pairs_each_sentence_with_its_shuffle():
    texts, labels, _ = labelled_texts(None, n_builtin=50)
    assert len(texts) == 100 and labels[:4] == ["real", "shuffled", "real", "shuffled"]
    for real, shuffled in zip(texts[::2], texts[1::2]):
        assert sorted(real.split()) == sorted(shuffled.split())


def test_optimizers_and_weight_decay_groups(data):
    base = dict(preset="tiny", data=str(data), steps=2, batch_size=2, eval_interval=2, eval_iters=1)
    t = Trainer(TrainConfig(**base, weight_decay=0.3), show_progress=False)
    decay, no_decay = t.optimizer.param_groups
    assert decay["weight_decay"] == 0.3 and all(p.ndim >= 2 for p in decay["params"])
    assert no_decay["weight_decay"] == 0.0 and all(p.ndim < 2 for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(t.model.parameters()))
    for name in ("adam", "sgd"):
        opt = make_optimizer(TrainConfig(**base, optimizer=name), t.model)
        assert type(opt).__name__.lower() == name and all(g["weight_decay"] == 0 for g in opt.param_groups)
    with pytest.raises(Exception, match="optimizer must be"):
        TrainConfig(**base, optimizer="lion")


def test_family_options_are_checked_once_with_the_field_named():
    from tinygrad_tf.nn.models import ConfigError
    for kwargs, words in ((dict(family="t5", data="x.txt"), "data"), (dict(family="bert", tokenizer="bpe"), "tokenizer"),
                          (dict(task="sort"), "t5 task"), (dict(family="gpt", mlm_probability=0.2), "mlm_probability"),
                          (dict(family="t5", min_len=6, max_len=4), "min_len"), (dict(family="bart"), "family")):
        with pytest.raises(ConfigError, match=words):
            TrainConfig(**kwargs)
    assert TrainConfig(family="bert").mlm_probability == 0.15 and TrainConfig(family="t5").eval_size == 256
    assert TrainConfig(steps=20).warmup_steps == 2                             # at most a tenth of the run


def test_a_lab_run_with_sgd_resumes_from_the_cli(tmp_path):
    from tinygrad_tf.lab import LabSpec, RunStore, TrainingWorker, train_run
    spec = LabSpec(n_layer=1, d_model=16, n_head=2, context_length=16, batch_size=4, steps=8, warmup_steps=2,
                   optimizer="sgd", eval_iters=1, sample_every=100, checkpoint_every=100)
    done = train_run(spec, RunStore(tmp_path / "a"))

    def stop_at_4(kind, data):
        if kind == "metrics" and data[-1]["step"] >= 4:
            worker.stop()
    worker = TrainingWorker(spec, RunStore(tmp_path / "b"), emit=stop_at_4, throttle=0.0)
    stopped = worker.run()
    assert stopped.status == "stopped" and load_checkpoint(stopped.path / "checkpoint").trainer_state["step"] == 4
    assert main(["train", "--resume", str(stopped.path / "checkpoint"), "--quiet"]) == 0
    c = load_checkpoint(stopped.path / "checkpoint")
    assert c.trainer_state["step"] == 8 and c.trainer_state["config"]["optimizer"] == "sgd"
    assert same_weights(done.path / "checkpoint", stopped.path / "checkpoint")


# ---------------------------------------------------------------- what review found
def test_ctrl_c_during_an_evaluation_is_finished_by_the_resumed_run(tmp_path):
    size = dict(family="t5", n_layer=1, d_model=16, n_head=2, batch_size=8, max_len=5, eval_size=8, steps=6,
                eval_interval=2, warmup_steps=2)
    straight = train(TrainConfig(**size), show_progress=False)
    t = Trainer(TrainConfig(**size, out_dir=str(tmp_path / "b")), show_progress=False)
    real = t.task.evaluate

    def interrupted_at_4(model):
        if t.step == 4:
            raise KeyboardInterrupt                  # Ctrl-C while step 4's held-out strings are decoded
        return real(model)
    t.task.evaluate = interrupted_at_4
    t.run()
    assert t.interrupted and t.step == 4 and "accuracy" not in t.history[-1]
    resumed = train(resume=str(tmp_path / "b"), show_progress=False)
    assert [(r["step"], r.get("accuracy")) for r in resumed] == [(r["step"], r.get("accuracy")) for r in straight]
    assert [r["loss"] for r in resumed] == [r["loss"] for r in straight]


def test_ctrl_c_during_the_final_save_still_leaves_a_checkpoint(data, tmp_path, monkeypatch):
    import tinygrad_tf.train.trainer as trainer_module
    real, calls = trainer_module.ckpt.save_checkpoint, []

    def save(*a, **k):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt                  # the first save (the final one) is cut short
        return real(*a, **k)
    monkeypatch.setattr(trainer_module.ckpt, "save_checkpoint", save)
    t = Trainer(TrainConfig(preset="tiny", data=str(data), steps=3, batch_size=2, eval_interval=3, eval_iters=1,
                            out_dir=str(tmp_path / "c")), show_progress=False)
    t.run()
    assert t.interrupted and load_checkpoint(tmp_path / "c").trainer_state["step"] == 3


def test_resume_refuses_what_would_change_the_run(data, tmp_path, capsys):
    base = ["train", "--preset", "tiny", "--data", str(data), "--batch-size", "2", "--eval-iters", "1", "--quiet"]
    assert main([*base, "--steps", "4", "--out", str(tmp_path / "a")]) == 0
    assert main([*base, "--steps", "2", "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    for flags, words in ((["--seed", "3"], "seed=3"), (["--batch-size", "3"], "batch_size"),
                         (["--steps", "1"], "already at step 4"),
                         (["--out", str(tmp_path / "b")], "already holds a checkpoint")):
        assert main(["train", "--resume", str(tmp_path / "a"), *flags]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err, err
    other = tmp_path / "other.txt"
    other.write_text("entirely different characters: 12345 {}[]<>", encoding="utf-8")
    assert main(["train", "--resume", str(tmp_path / "a"), "--data", str(other), "--steps", "6"]) == 2
    assert "not the data this run was trained on" in capsys.readouterr().err
    assert load_checkpoint(tmp_path / "b").trainer_state["step"] == 2        # b was not replaced


def test_config_file_options_are_resolved_with_the_flags(data, tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"preset": "tiny", "data": str(data), "steps": 20, "batch_size": 2, "eval_iters": 1}))
    assert main(["train", "--config", str(cfg), "--steps", "30", "--eval-interval", "30", "--out",
                 str(tmp_path / "r"), "--quiet"]) == 0
    saved = load_checkpoint(tmp_path / "r").trainer_state["config"]
    assert saved["steps"] == 30 and saved["warmup_steps"] == 3                 # a tenth of 30, not of 20


def test_options_that_a_run_does_not_read_are_errors(capsys, tmp_path):
    for flags, words in ((["--model", "t5", "--context", "32"], "context_length"),
                         (["--model", "t5", "--eval-iters", "2"], "eval_iters"),
                         (["--vocab-size", "300"], "vocab_size"),                      # the char tokenizer
                         (["--optimizer", "sgd", "--weight-decay", "0.1"], "weight_decay"),
                         (["--model", "bert", "--task", "classify", "--eval-iters", "2"], "eval_iters"),
                         (["--beta1", "2"], "beta1"), (["--model", "bert", "--context", "1", "--steps", "1"], "at least 3"),
                         (["--set", "dropout=x", "--steps", "1"], "wrong type")):
        assert main(["train", *flags, "--out", str(tmp_path / "never-written")]) == 2, flags
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err, (flags, err)
        assert not (tmp_path / "never-written").exists()
    assert main(["params", "gpt2", "--model", "bert"]) == 2
    assert "gpt preset" in capsys.readouterr().err
    assert TrainConfig(family="t5", min_len=8, max_len=12).max_len == 12          # long strings are plenty


def test_a_classifier_checkpoint_labels_a_prompt_and_samples_are_deterministic(tmp_path, capsys):
    path = tmp_path / "l.tsv"
    path.write_text("\n".join(f"{'pos' if i % 2 else 'neg'}\tword{i % 7} {'good' if i % 2 else 'bad'}"
                              for i in range(40)), encoding="utf-8")
    assert main(["train", "--model", "bert", "--task", "classify", "--data", str(path), "--n-layer", "1",
                 "--d-model", "16", "--n-head", "2", "--context", "8", "--vocab-size", "60", "--steps", "3",
                 "--dropout", "0.3", "--out", str(tmp_path / "cls"), "--quiet"]) == 0
    assert json.loads((tmp_path / "cls" / "trainer_state.json").read_text())["labels"] == ["neg", "pos"]
    capsys.readouterr()
    assert main(["generate", "--checkpoint", str(tmp_path / "cls"), "--prompt", "word3 good"]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert {ln.split()[0] for ln in lines if ln} == {"neg", "pos"}
    t = Trainer.from_checkpoint(tmp_path / "cls", show_progress=False)
    assert t.model.training and t.sample("word3 good") == t.sample("word3 good")   # dropout off in a readout


def test_a_model_that_does_not_fit_the_task_is_named():
    from tinygrad_tf.nn.models import BERT, BertConfig, ConfigError
    from tinygrad_tf.train import train_mlm
    from tinygrad_tf.text import WordPieceTokenizer
    tok = WordPieceTokenizer.train(TEXT, 80)
    headless = BERT(BertConfig(vocab_size=tok.vocab_size, context_length=16, d_model=16, n_layer=1, n_head=2,
                               mlm_head=False))
    with pytest.raises(ConfigError, match="masked-LM head"):
        train_mlm(tokenizer=tok, model=headless, steps=1, log=None)
