"""Issue 17, options: nothing silently wrong. ``--set`` values are parsed by the config field's type, conflicts and
fields nobody may set are refused, non-finite numbers are refused, and an unknown preset suggests the right one."""

from __future__ import annotations

import json

import pytest

from tinygrad_tf.commands import main
from tinygrad_tf.nn.models import ConfigError
from tinygrad_tf.train import TrainConfig

TEXT = "The quick brown fox jumps over the lazy dog. def f(x): return x + 1\n" * 60


def one_error_line(capsys, *argv, code=2) -> str:
    capsys.readouterr()
    assert main([str(a) for a in argv]) == code
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


# ------------------------------------------------------------------ --set by the field's type
@pytest.mark.parametrize("text,value", [("False", False), ("false", False), ("0", False), ("no", False),
                                        ("NO", False), ("True", True), ("1", True), ("yes", True)])
def test_set_booleans_parse_by_the_field_type(text, value):
    c = TrainConfig(model={"bias": text, "tie_embeddings": text})
    assert c.model == {"bias": value, "tie_embeddings": value}
    assert c.model_config(10).bias is value and c.model_config(10).tie_embeddings is value


def test_set_ints_floats_strings_and_none():
    c = TrainConfig(model={"n_kv_head": "1", "rope_theta": "500", "position": "rope", "norm_eps": "1e-6"})
    assert c.model == {"n_kv_head": 1, "rope_theta": 500.0, "position": "rope", "norm_eps": 1e-6}
    assert TrainConfig(model={"n_kv_head": "none"}).model == {"n_kv_head": None}
    assert TrainConfig(model={"bias": False}).model == {"bias": False}          # --config JSON: typed already


@pytest.mark.parametrize("model,words", [({"bias": "maybe"}, "bias"), ({"n_kv_head": "1.5"}, "integer"),
                                         ({"rope_theta": "nan"}, "finite"), ({"rope_theta": "inf"}, "finite"),
                                         ({"position": 3}, "string"), ({"bias": None}, "true or false"),
                                         ({"tie_embeddings": 1}, "true or false")])
def test_set_values_of_the_wrong_type_are_refused(model, words):
    with pytest.raises(ConfigError, match="wrong type") as e:
        TrainConfig(model=model)
    assert words in str(e.value)


def test_bias_false_on_the_command_line_builds_a_model_without_biases(tmp_path):
    data = tmp_path / "d.txt"
    data.write_text(TEXT)
    assert main(["train", "--preset", "tiny", "--data", str(data), "--steps", "1", "--eval-interval", "1",
                 "--eval-iters", "1", "--batch-size", "2", "--context", "8", "--set", "bias=False",
                 "--set", "tie_embeddings=False", "--out", str(tmp_path / "c"), "--quiet"]) == 0
    cfg = json.loads((tmp_path / "c" / "config.json").read_text())
    assert cfg["bias"] is False and cfg["tie_embeddings"] is False


@pytest.mark.parametrize("flags,words", [
    (["--n-layer", "2", "--set", "n_layer=3"], ("n_layer", "twice", "--n-layer")),
    (["--context", "16", "--set", "context_length=32"], ("context_length", "--context")),
    (["--set", "vocab_size=99"], ("vocab_size", "tokenizer")),
    (["--set", "model_type=bert"], ("model_type", "--model")),
    (["--set", "biass=false"], ("biass", "did you mean bias")),
    (["--set", "bias=false", "--set", "bias=true"], ("bias", "twice")),
])
def test_set_refuses_conflicts_derived_and_unknown_fields(capsys, flags, words):
    line = one_error_line(capsys, "train", *flags, "--steps", "1", "--out", "/nonexistent/never-written")
    assert all(w in line for w in words), line


def test_the_same_value_twice_is_no_conflict():
    assert TrainConfig(n_layer=2, model={"n_layer": "2"}).model_config(10).n_layer == 2


# ------------------------------------------------------------------ non-finite numbers
@pytest.mark.parametrize("flag,value", [("--weight-decay", "nan"), ("--lr", "inf"), ("--lr", "nan"),
                                        ("--grad-clip", "inf"), ("--min-lr", "nan"), ("--beta1", "nan"),
                                        ("--dropout", "nan"), ("--beta2", "inf")])
def test_non_finite_numbers_are_refused(capsys, flag, value):
    line = one_error_line(capsys, "train", flag, value, "--steps", "1", "--out", "/nonexistent/never-written")
    assert "finite" in line or "must be" in line, line


def test_non_finite_numbers_in_train_config():
    for field in ("lr", "weight_decay", "grad_clip", "eps", "beta2", "dropout", "target_accuracy"):
        with pytest.raises(ConfigError, match=f"{field} must be"):
            TrainConfig(family="bert" if field == "target_accuracy" else "gpt", **{field: float("nan")})
    with pytest.raises(ConfigError, match="lr must be a finite number"):
        TrainConfig(lr=float("inf"))


# ------------------------------------------------------------------ unknown presets: what is valid, did you mean
def test_an_unknown_training_preset_lists_the_training_sizes_and_suggests(capsys):
    line = one_error_line(capsys, "train", "--preset", "tnyi", "--steps", "1", "--out", "/nonexistent/x")
    assert "did you mean 'tiny'" in line and "demo" in line and "small" in line and "gpt2" in line
    line = one_error_line(capsys, "train", "--preset", "bert-base", "--steps", "1", "--out", "/nonexistent/x")
    assert "bert preset" in line and "--model bert" in line
    with pytest.raises(ConfigError, match="did you mean 'bert-base'"):
        TrainConfig(family="bert", preset="bert-bse")


@pytest.mark.parametrize("argv,suggestion", [(["params", "llama7b"], "llama-7b"), (["summary", "--preset", "tnyi"], "tiny"),
                                             (["compare", "gpt2-mediun"], "gpt2-medium"),
                                             (["graph", "--preset", "nuron"], "neuron"),
                                             (["attention", "--preset", "dmeo"], "demo")])
def test_every_preset_flag_suggests_the_closest_name(capsys, argv, suggestion):
    line = one_error_line(capsys, *argv)
    assert f"did you mean '{suggestion}'" in line, line
