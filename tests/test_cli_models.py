"""``tinygrad-tf train --model bert|t5``, ``generate`` for their checkpoints, and ``compare``, run as a user runs
them (``python -m tinygrad_tf ...`` in a subprocess) on tiny settings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tinygrad_tf.commands import main

TEXT = ("The quick brown fox jumps over the lazy dog. A return statement leaves the current function call. "
        "The value of the expression is returned to the caller. " * 30)
BERT_TINY = ["--n-layer", "1", "--d-model", "16", "--n-head", "2", "--context", "24", "--batch-size", "4",
             "--vocab-size", "120", "--eval-interval", "5", "--eval-iters", "1"]
T5_TINY = ["--n-layer", "1", "--d-model", "16", "--n-head", "2", "--batch-size", "8", "--eval-size", "16",
           "--max-len", "5", "--eval-interval", "5"]


def run(*args, cwd=None, timeout=120):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "tinygrad_tf", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def assert_one_line_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr + r.stdout
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for w in words:
        assert w.lower() in lines[0].lower(), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    (d / "data.txt").write_text(TEXT, encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def bert_ck(work):
    r = run("train", "--model", "bert", "--data", work / "data.txt", "--steps", "5", "--out", work / "bert",
            *BERT_TINY)
    assert r.returncode == 0, r.stderr
    assert "BERT MLM" in r.stdout and "step 5/5" in r.stdout and "masked-token accuracy" in r.stdout
    assert "fill-mask on a held-out sentence" in r.stdout and "[MASK]" in r.stdout
    return work / "bert", r


@pytest.fixture(scope="module")
def t5_ck(work):
    r = run("train", "--model", "t5", "--task", "reverse", "--steps", "5", "--out", work / "t5", *T5_TINY)
    assert r.returncode == 0, r.stderr
    assert "T5 on 'reverse'" in r.stdout and "held-out exact match" in r.stdout and "held-out examples" in r.stdout
    return work / "t5", r


def test_train_bert_writes_a_checkpoint_and_generate_fills_the_mask(bert_ck):
    ck, _ = bert_ck
    for name in ("model.safetensors", "config.json", "tokenizer.json", "trainer_state.json", "integrity.json"):
        assert (ck / name).is_file(), name
    assert json.loads((ck / "config.json").read_text())["model_type"] == "bert"
    state = json.loads((ck / "trainer_state.json").read_text())
    assert state["config"]["family"] == "bert" and state["step"] == 5 and len(state["history"]) == 5
    r = run("generate", "--checkpoint", ck, "--prompt", "the quick [MASK] fox jumps over the [MASK] dog .",
            "--top-k", "3")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("[MASK] 1: ") and lines[1].startswith("[MASK] 2: ") and len(lines) == 3
    assert len(lines[0].split()) == 2 + 2 * 3                      # "[MASK] 1:" then 3 (token, probability)
    assert lines[2].startswith("the quick ") and "[MASK]" not in lines[2]
    assert_one_line_error(run("generate", "--checkpoint", ck, "--prompt", "no blank here"), "[MASK]")
    assert_one_line_error(run("generate", "--checkpoint", ck), "[MASK]")
    assert_one_line_error(run("train", "--resume", ck, "--model", "t5"), "family", "cannot be resumed")


def test_train_t5_then_generate(t5_ck):
    ck, _ = t5_ck
    assert json.loads((ck / "config.json").read_text())["model_type"] == "t5"
    assert json.loads((ck / "trainer_state.json").read_text())["config"]["task"] == "reverse"
    r = run("generate", "--checkpoint", ck, "--prompt", "3141")
    assert r.returncode == 0, r.stderr
    out = r.stdout.strip()
    assert out == "" or out.isdigit()                              # 5 steps: digits, maybe not the right ones
    assert len(out) <= 5                                           # at most len + 1 digits before EOS
    assert "reverse(3141) = 1413" in r.stderr
    assert_one_line_error(run("generate", "--checkpoint", ck, "--prompt", "abc"), "digit")
    assert_one_line_error(run("train", "--model", "t5", "--task", "nope", "--steps", "1", "--out", ck.parent / "x"),
                          "nope", "reverse")
    assert not (ck.parent / "x").exists()


def error_in_process(capsys, *args) -> str:
    """``main(args)`` in this process (no interpreter start-up): exit code 2 and one "error: " line."""
    capsys.readouterr()
    assert main([str(a) for a in args]) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_flags_of_another_family_and_the_old_model_spelling(work, capsys):
    msg = "error: use --set KEY=VALUE for config fields; --model picks the family (gpt, bert, t5)"
    assert assert_one_line_error(run("train", "--model", "position=rope", "--steps", "1")) == msg
    assert error_in_process(capsys, "params", "--model", "norm=rmsnorm") == msg
    assert "gpt, bert or t5" in error_in_process(capsys, "train", "--model", "bart")
    for args, words in ((("--model", "t5", "--data", work / "data.txt"), ("data", "t5")),
                        (("--model", "bert", "--tokenizer", "bpe"), ("tokenizer", "gpt")),
                        (("--task", "sort", "--steps", "1"), ("task", "t5")),
                        (("--model", "t5", "--set", "vocab_size=99"), ("vocab_size",)),
                        (("--set", "position", "--steps", "1"), ("KEY=VALUE",))):
        line = error_in_process(capsys, "train", *args)
        assert all(w.lower() in line.lower() for w in words), line


def test_set_replaces_model_key_value_and_params_knows_the_families():
    r = run("params", "--preset", "tiny", "--set", "position=rope", "--set", "norm=rmsnorm", "--vocab-size", "10")
    assert r.returncode == 0, r.stderr
    assert "position rope" in r.stdout and "norm rmsnorm" in r.stdout
    r = run("params", "--preset", "bert-base")
    assert r.returncode == 0 and "109,482,240" in r.stdout and "BERT" in r.stdout
    r = run("params", "--model", "t5", "--preset", "t5-small")
    assert r.returncode == 0 and "60,506,624" in r.stdout


def test_compare_two_presets_text_and_json():
    from tinygrad_tf.nn.models import GPTConfig, count_parameters
    r = run("compare", "gpt2", "llama-7b")
    assert r.returncode == 0, r.stderr
    assert "124,439,808" in r.stdout and f"{count_parameters(GPTConfig.preset('llama-7b')):,}" in r.stdout
    assert "position *" in r.stdout and "rope" in r.stdout           # a differing row is starred
    r = run("compare", "gpt2", "gpt2-medium", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert [m["name"] for m in data["models"]] == ["gpt2", "gpt2-medium"]
    for m in data["models"]:
        assert m["source"] == "preset" and m["family"] == "gpt"
        assert m["parameters"] == count_parameters(GPTConfig.preset(m["name"]))
    assert {"d_model", "n_layer", "n_head", "d_ff", "parameters"} <= set(data["differing"])
    assert "vocab_size" not in data["differing"]


def test_compare_checkpoint_folders(bert_ck, t5_ck):
    from tinygrad_tf.nn.models import count_parameters, load
    r = run("compare", bert_ck[0], t5_ck[0], "t5-small", "--json")
    assert r.returncode == 0, r.stderr
    bert, t5, preset = json.loads(r.stdout)["models"]
    assert (bert["source"], bert["family"], t5["family"], preset["training"]) == ("checkpoint", "bert", "t5", None)
    assert bert["parameters"] == count_parameters(load(bert_ck[0]).config) == load(bert_ck[0]).num_parameters()
    assert bert["training"]["step"] == 5 and bert["training"]["val_loss"] > 0
    assert 0 <= bert["training"]["val_accuracy"] <= 1
    assert t5["training"]["task"] == "reverse" and 0 <= t5["training"]["accuracy"] <= 1
    r = run("compare", bert_ck[0], "bert-base")
    assert r.returncode == 0, r.stderr
    assert "steps trained" in r.stdout and "val loss" in r.stdout and "109,482,240" in r.stdout


def test_compare_a_lab_run_folder(tmp_path, capsys):
    from tinygrad_tf.nn.models import GPTConfig, count_parameters
    cfg = GPTConfig(vocab_size=50, context_length=16, d_model=16, n_layer=1, n_head=2)
    run_dir = tmp_path / "20250101-000000-gpt"                   # what the lab writes: run.json + metrics.jsonl
    run_dir.mkdir()
    (run_dir / "run.json").write_text(json.dumps({"spec": {"family": "gpt"}, "model_config": cfg.to_dict()}))
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps({"step": i, "loss": 4.0 - i, **(
        {"val_loss": 2.5} if i == 3 else {})}) + "\n" for i in (1, 2, 3)) + '{"step": 4, "lo')   # a torn last line
    capsys.readouterr()
    assert main(["compare", str(run_dir), "gpt2", "--json"]) == 0
    lab_run, gpt2 = json.loads(capsys.readouterr().out)["models"]
    assert lab_run["source"] == "run" and lab_run["parameters"] == count_parameters(cfg)
    assert lab_run["training"] == {"step": 3, "train_loss": 2.0, "val_loss": 2.5} and gpt2["training"] is None


def test_compare_bad_names(tmp_path, capsys):
    line = assert_one_line_error(run("compare", "gpt2", "gpt5"), "gpt5")
    for name in ("gpt2", "llama-7b", "bert-base", "t5-small", "tiny"):
        assert name in line
    assert "not found" in error_in_process(capsys, "compare", "gpt2", tmp_path / "missing")
    assert "config.json" in error_in_process(capsys, "compare", "gpt2", tmp_path)


def test_ctrl_c_saves_a_usable_t5_checkpoint(work):
    out = work / "t5-interrupted"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    p = subprocess.Popen([sys.executable, "-m", "tinygrad_tf", "train", "--model", "t5", "--steps", "100000",
                          "--out", str(out), *T5_TINY], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env)
    try:
        line = p.stdout.readline()                     # the model description: training is about to start
        assert line.startswith("T5"), line
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted at step" in stdout
    r = run("generate", "--checkpoint", out, "--prompt", "12")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("command", ["demo", "train", "generate", "presets", "params", "compare", "gradcheck"])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: tinygrad-tf {command}")
    expected = {"train": ("--model", "--set", "--task", "--vocab-size", "--min-len", "--max-len", "--data", "--steps",
                          "--threads", "--device", "--out"),
                "generate": ("--checkpoint", "--prompt", "[MASK]", "--top-k"),
                "compare": ("MODEL", "--json", "preset"),
                "params": ("--model", "--set", "--preset")}
    for flag in expected.get(command, ()):
        assert flag in out, flag


# ---------------------------------------------------------------- presets / params / compare: breakdowns and --json
def _json_of(capsys, *args):
    capsys.readouterr()
    assert main([str(a) for a in args]) == 0
    return json.loads(capsys.readouterr().out)


def test_presets_params_compare_json(capsys):
    from tinygrad_tf.nn.models import (BertConfig, GPTConfig, T5Config, count_parameters, flops_per_token,
                                       parameter_breakdown)
    rows = {r["name"]: r for r in _json_of(capsys, "presets", "--json")}
    assert {"tiny", "gpt2", "llama-7b", "bert-base", "t5-small"} <= set(rows)
    gpt2 = rows["gpt2"]
    for key in ("family", "layers", "d_model", "heads", "d_ff", "context", "vocab", "parameters", "fp32_mib",
                "fp16_mib", "flops_per_token", "components"):
        assert key in gpt2, key
    assert gpt2["parameters"] == 124_439_808 == sum(gpt2["components"].values())
    assert gpt2["fp32_bytes"] == 4 * 124_439_808 and rows["t5-small"]["decoder_layers"] == 6

    p = _json_of(capsys, "params", "gpt2", "--json")
    assert p["name"] == "gpt2" and p["parameters"] == 124_439_808 and p["config"]["model_type"] == "gpt"
    assert p["components"] == parameter_breakdown(GPTConfig.preset("gpt2"))
    assert p["flops_per_token"] == flops_per_token(GPTConfig.preset("gpt2"))
    assert _json_of(capsys, "params", "--preset", "bert-base", "--json")["parameters"] == 109_482_240
    assert "two presets" in error_in_process(capsys, "params", "gpt2", "--preset", "tiny")

    data = _json_of(capsys, "compare", "gpt2", "bert-base", "t5-small", "--json")
    cfgs = [GPTConfig.preset("gpt2"), BertConfig.preset("bert-base"), T5Config.preset("t5-small")]
    for m, cfg in zip(data["models"], cfgs):
        assert m["parameters"] == count_parameters(cfg) == sum(m["components"].values())
        assert m["components"] == parameter_breakdown(cfg) and m["flops_per_token"] == flops_per_token(cfg)
        assert m["float16_mib"] == round(m["parameters"] * 2 / 2**20, 1)
    assert data["models"][1]["head_components"] == {"pooler": 768 * 768 + 768}
    assert {"components.embeddings", "flops_per_token"} <= set(data["differing"])


def test_params_and_compare_tables(capsys):
    capsys.readouterr()
    assert main(["params", "llama-7b"]) == 0
    out = capsys.readouterr().out
    for word in ("6,738,415,616", "embeddings", "attention", "FFN", "norms", "lm_head (untied)", "131,072,000",
                 "float16", "FLOPs per token"):
        assert word in out, word
    assert main(["compare", "gpt2", "t5-small"]) == 0
    out = capsys.readouterr().out
    assert "attention *" in out and "float16 weights" in out and "GFLOPs / token" in out and "pair" in out
