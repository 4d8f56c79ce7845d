"""Checkpoint integrity manifests: a changed, truncated or missing weights file is named; --no-verify skips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinygrad_tf.fileio import (MANIFEST_FILE, IntegrityError, read_manifest, sha256_file, verify_manifest,
                                         write_manifest)


@pytest.fixture
def folder(tmp_path):
    from safetensors.numpy import save_file
    d = tmp_path / "ckpt"
    d.mkdir()
    save_file({"w": np.arange(64, dtype=np.float32).reshape(8, 8)}, str(d / "model.safetensors"))
    save_file({"0.exp_avg": np.ones(8, dtype=np.float32)}, str(d / "optimizer.safetensors"))
    (d / "config.json").write_text('{"model_type": "gpt"}')
    (d / "notes.txt").write_text("not a weights file")
    return d


def test_manifest_records_every_weights_file(folder):
    path = write_manifest(folder)
    assert path == folder / MANIFEST_FILE
    m = json.loads(path.read_text())
    assert sorted(m["files"]) == ["model.safetensors", "optimizer.safetensors"]
    assert m["files"]["model.safetensors"]["sha256"] == sha256_file(folder / "model.safetensors")
    assert m["files"]["model.safetensors"]["size"] == (folder / "model.safetensors").stat().st_size
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]        # no temporary file left behind
    assert verify_manifest(folder) == read_manifest(folder)


def test_modified_file_is_named(folder):
    write_manifest(folder)
    p = folder / "model.safetensors"
    data = bytearray(p.read_bytes())
    data[-1] ^= 0x01                                         # one bit flipped, same size
    p.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"model\.safetensors has changed") as e:
        verify_manifest(folder)
    assert isinstance(e.value, ValueError)
    assert "--no-verify" in str(e.value)


def test_truncated_file_is_named(folder):
    write_manifest(folder)
    p = folder / "optimizer.safetensors"
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(IntegrityError, match=r"optimizer\.safetensors is \d+ bytes .*truncated"):
        verify_manifest(folder)


def test_missing_file_is_named(folder):
    write_manifest(folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(IntegrityError, match=r"model\.safetensors is missing"):
        verify_manifest(folder)


def test_no_verify_passes_and_other_files_do_not_count(folder):
    write_manifest(folder)
    (folder / "model.safetensors").write_bytes(b"edited on purpose")
    assert verify_manifest(folder, verify=False) is None
    (folder / "notes.txt").write_text("changed")                # not a weights file: not in the manifest
    (folder / "config.json").write_text("{}")
    write_manifest(folder)
    assert verify_manifest(folder) is not None


def test_no_manifest_and_corrupt_manifest(folder):
    assert verify_manifest(folder) is None                      # older checkpoints load as before
    (folder / MANIFEST_FILE).write_text('{"files": ')
    with pytest.raises(IntegrityError, match="corrupt"):
        verify_manifest(folder)
    (folder / MANIFEST_FILE).write_text('{"nothing": 1}')
    with pytest.raises(IntegrityError, match="not an integrity manifest"):
        verify_manifest(folder)


def test_rewriting_replaces_the_manifest(folder):
    write_manifest(folder)
    (folder / "model.safetensors").write_bytes(b"new weights")
    with pytest.raises(IntegrityError):
        verify_manifest(folder)
    write_manifest(folder)                                      # after an intended change
    assert verify_manifest(folder)["files"]["model.safetensors"]["size"] == len(b"new weights")


def test_not_a_folder(tmp_path):
    with pytest.raises(IntegrityError, match="not a folder"):
        write_manifest(tmp_path / "nope")


def test_real_checkpoint_roundtrip(tmp_path):
    """A checkpoint written by save_checkpoint: manifest, reload, and a flipped weight byte is caught."""
    from tinygrad_tf.nn.models import GPT, GPTConfig
    from tinygrad_tf.train.checkpoint import load_checkpoint, save_checkpoint
    model = GPT(GPTConfig(vocab_size=11, context_length=8, d_model=8, n_layer=1, n_head=2))
    path = save_checkpoint(tmp_path / "c", model)
    write_manifest(path)
    assert "model.safetensors" in verify_manifest(path)["files"]
    load_checkpoint(path)
    p = path / "model.safetensors"
    data = bytearray(p.read_bytes())
    data[-3] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="model.safetensors"):
        verify_manifest(path)
    from tinygrad_tf.nn.models import CheckpointError
    assert issubclass(IntegrityError, CheckpointError) and issubclass(IntegrityError, ValueError)
    with pytest.raises(CheckpointError, match=r"model\.safetensors has changed"):
        load_checkpoint(path)                                   # the check on load
    load_checkpoint(path, verify=False)                         # --no-verify: loads the edited weights
