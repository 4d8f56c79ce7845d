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
