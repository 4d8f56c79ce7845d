"""Issue 17, files: the integrity manifest covers every file a save wrote, and a Hugging Face folder is read as
untrusted input — its safetensors headers checked in full, its index kept inside the folder, its config named
when a key is missing. Each bad file is one line (a CheckpointError), never a traceback or wrong numbers."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from tinygrad_tf.fileio import MANIFEST_FILE, IntegrityError, read_manifest, write_manifest
from tinygrad_tf.nn.models import GPT, CheckpointError, GPTConfig, load, load_hf, save_hf
from tinygrad_tf.nn.models.hf import read_safetensors
from tinygrad_tf.train import TrainConfig, Trainer, load_checkpoint

FIX = Path(__file__).parent / "fixtures" / "hf"
TEXT = "The quick brown fox jumps over the lazy dog. def f(x): return x + 1\n" * 60


def small():
    return GPT(GPTConfig(vocab_size=11, context_length=8, d_model=8, n_layer=1, n_head=2))


@pytest.fixture
def run(tmp_path):
    data = tmp_path / "d.txt"
    data.write_text(TEXT)
    cfg = TrainConfig(preset="tiny", context_length=8, data=str(data), steps=2, batch_size=2, warmup_steps=1,
                      eval_interval=2, eval_iters=1, out_dir=str(tmp_path / "ck"))
    Trainer(cfg, show_progress=False).run()
    return tmp_path / "ck"


# ------------------------------------------------------------------ the manifest covers every file written
def test_the_manifest_lists_every_file_the_writer_wrote(run):
    (run / "notes.txt").write_text("mine")             # a user's file, added later
    assert sorted(read_manifest(run)["files"]) == ["config.json", "model.safetensors", "optimizer.safetensors",
                                                   "tokenizer.json", "trainer_state.json"]
    (run / "notes.txt").write_text("changed")          # not listed: may change freely
    load_checkpoint(run)


@pytest.mark.parametrize("name,edit", [
    ("config.json", lambda d: {**d, "dropout": 0.5}),                # loads "fine" and trains differently
    ("tokenizer.json", lambda d: {**d, "chars": d["chars"][::-1]}),  # loads "fine" and reads other ids
    ("trainer_state.json", lambda d: {**d, "step": 1}),
])
def test_editing_any_file_of_a_checkpoint_is_caught(run, name, edit):
    p = run / name
    p.write_text(json.dumps(edit(json.loads(p.read_text())), indent=1))
    with pytest.raises(IntegrityError, match=name.replace(".", r"\.")) as e:
        load_checkpoint(run)
    assert "\n" not in str(e.value)
    load_checkpoint(run, verify=False)                 # --no-verify: the escape hatch


def test_model_load_verifies_config_json_too(tmp_path):
    small().save(tmp_path / "m")
    p = tmp_path / "m" / "config.json"
    p.write_text(p.read_text().replace('"dropout": 0.0', '"dropout": 0.5'))
    with pytest.raises(IntegrityError, match=r"config\.json"):
        GPT.load(tmp_path / "m")
    with pytest.raises(IntegrityError, match=r"config\.json"):
        load(tmp_path / "m")
    assert GPT.load(tmp_path / "m", verify=False).config.dropout == 0.5


def test_model_save_into_a_checkpoint_rewrites_the_manifest(run):
    before = read_manifest(run)["files"]
    m = small()
    m.save(run)                                        # the weights replaced; the run's other files carried over
    after = read_manifest(run)["files"]
    assert after["model.safetensors"] != before["model.safetensors"]
    assert after["tokenizer.json"] == before["tokenizer.json"]         # still covered
    assert load(run).config.n_layer == 1
    (run / "tokenizer.json").write_text("{}")
    with pytest.raises(IntegrityError, match=r"tokenizer\.json"):
        load_checkpoint(run)


def test_a_stripped_manifest_is_reported_an_old_folder_loads(tmp_path, run):
    (run / MANIFEST_FILE).unlink()                     # saved with one: its weights file says so
    with pytest.raises(IntegrityError, match="integrity.json is missing, but this folder was saved with one"):
        load_checkpoint(run)
    with pytest.raises(IntegrityError, match="integrity.json is missing"):
        load(run)
    load_checkpoint(run, verify=False)
    write_manifest(run)                                # a new manifest, on purpose
    load_checkpoint(run)
    # a folder from before manifests: no manifest and no mark in its weights -> nothing to check, loads
    old = tmp_path / "old"
    old.mkdir()
    m = small()
    save_file({k: v.numpy() for k, v in m.state_dict().items()}, str(old / "model.safetensors"),
              metadata={"format": "np", "model_type": "gpt"})
    (old / "config.json").write_text(json.dumps(m.config.to_dict()))
    assert load(old).config.d_model == 8


# ------------------------------------------------------------------ safetensors headers, checked in full
def st_file(path, header, data: bytes):
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


F32 = np.arange(4, dtype=np.float32).tobytes()


@pytest.mark.parametrize("header,data,words", [
    ([], b"", "not an object"),
    ({"w": {"dtype": "F16", "shape": [4], "data_offsets": [0, 16]}}, F32, "does not fit the data"),
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}}, F32, "does not fit the data"),
    ({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
      "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, F32, "overlap"),
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, F32, "gap"),
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, F32, "bytes no tensor claims"),
    ({"w": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}}, F32, "truncated"),
    ({"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, F32, "non-negative"),
    ({"w": {"dtype": "F32", "shape": [4], "data_offsets": [16, 0]}}, F32, "data_offsets"),
    ({"w": {"dtype": "F32", "shape": [4]}}, F32, "dtype, shape, data_offsets"),
    ({"w": [1, 2]}, F32, "dtype, shape, data_offsets"),
    ({"w": {"dtype": "Q4", "shape": [4], "data_offsets": [0, 16]}}, F32, "unsupported dtype"),
    ({"__metadata__": [1], "w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, F32, "__metadata__"),
])
def test_bad_safetensors_headers_are_one_line(tmp_path, header, data, words):
    p = st_file(tmp_path / "x.safetensors", header, data)
    with pytest.raises(CheckpointError, match="not a readable safetensors file") as e:
        read_safetensors(p)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_a_good_header_still_reads(tmp_path):
    p = st_file(tmp_path / "x.safetensors", {"__metadata__": {"format": "pt"},
                                             "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]},
                                             "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                             "e": {"dtype": "F32", "shape": [0], "data_offsets": [16, 16]}}, F32)
    got = read_safetensors(p)
    assert got["a"].tolist() == [0, 1] and got["b"].tolist() == [2, 3] and got["e"].shape == (0,)


def hf_copy(tmp_path, name="gpt2") -> Path:
    out = tmp_path / name
    shutil.copytree(FIX / name, out)
    return out


def test_integer_weights_for_float_weights_are_refused(tmp_path):
    folder = hf_copy(tmp_path)
    w = read_safetensors(folder / "model.safetensors")
    w = {k: np.array(v) for k, v in w.items()}
    name = next(k for k in w if k.endswith("wte.weight"))
    w[name] = w[name].view(np.int32)                   # the same bytes, declared I32: a header that lies
    save_file(w, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"wte\.weight is stored as int32") as e:
        load_hf(folder)
    assert "\n" not in str(e.value)


def test_native_checkpoints_refuse_integer_weights_too(tmp_path):
    m = small()
    m.save(tmp_path / "m")
    w = {k: v.numpy() for k, v in m.state_dict().items()}
    w["wte.weight"] = w["wte.weight"].view(np.int32)
    save_file(w, str(tmp_path / "m" / "model.safetensors"), metadata={"format": "np", "model_type": "gpt"})
    with pytest.raises(CheckpointError, match="stored as int32"):
        load(tmp_path / "m", verify=False)


# ------------------------------------------------------------------ a sharded index is data too
def sharded(tmp_path, weight_map) -> Path:
    folder = hf_copy(tmp_path)
    (folder / "model.safetensors").rename(folder / "model-00001-of-00001.safetensors")
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return folder


def test_a_good_index_still_loads(tmp_path):
    folder = hf_copy(tmp_path)
    names = read_safetensors(folder / "model.safetensors")
    folder = sharded(tmp_path / "s", {k: "model-00001-of-00001.safetensors" for k in names})
    assert load_hf(folder).config.n_layer == load_hf(FIX / "gpt2").config.n_layer


@pytest.mark.parametrize("weight_map,words", [
    (["model-00001-of-00001.safetensors"], "weight_map"),
    ({"w": 3}, "weight_map"),
    ({"w": "../../x.safetensors"}, "not a file name inside the folder"),
    ({"w": "/etc/x.safetensors"}, "not a file name inside the folder"),
    ({"w": "sub/x.safetensors"}, "not a file name inside the folder"),
    ({"w": "config.json"}, "not a .safetensors file"),
])
def test_bad_indexes_are_one_line_and_never_read_outside(tmp_path, weight_map, words):
    outside = tmp_path / "x.safetensors"
    save_file({"w": np.zeros(2, np.float32)}, str(outside))
    folder = sharded(tmp_path / "s", weight_map)
    with pytest.raises(CheckpointError, match="model.safetensors.index.json") as e:
        load_hf(folder)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_a_missing_config_key_is_named_as_a_config_key(tmp_path):
    folder = hf_copy(tmp_path)
    cfg = json.loads((folder / "config.json").read_text())
    del cfg["n_embd"]
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="config.json has no 'n_embd'") as e:
        load_hf(folder)
    assert "weight" not in str(e.value)


def test_a_save_hf_killed_mid_swap_is_found(tmp_path):
    import os
    m = load_hf(FIX / "gpt2")
    save_hf(m, tmp_path / "hf")
    os.rename(tmp_path / "hf", tmp_path / ".hf.old-999999999")    # a save that died between its renames
    assert load_hf(tmp_path / "hf").config.n_layer == m.config.n_layer
