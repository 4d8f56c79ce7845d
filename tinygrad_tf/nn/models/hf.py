"""Hugging Face interop: read a local ``transformers`` model folder into our models, and write one back.

    model = load_hf("path/to/folder")      # config.json + model.safetensors (or its shards)
    model = load_hf("weights.safetensors", config="config.json")     # one weights file plus a config
    save_hf(model, "out/")                 # transformers' AutoModel*.from_pretrained("out/") reads it back

What is read (the family comes from config.json's ``model_type``, else its ``architectures``):
    GPT-2   GPT2Model / GPT2LMHeadModel         -> GPT (learned positions, LayerNorm, GELU, tied head)
    Llama   LlamaModel / LlamaForCausalLM       -> GPT (RoPE, RMSNorm, SwiGLU, grouped-query attention)
    BERT    BertModel, BertForMaskedLM, BertForPreTraining, BertForSequenceClassification -> BERT
            (the heads present in the weights decide BertConfig's pooler / mlm_head / nsp_head / num_labels)
    T5      T5ForConditionalGeneration, v1.0 (ReLU, tied, rescaled) and v1.1 / flan (gated GELU, untied) -> T5

How each family's names and layouts differ from ours: hf_families.py.
Nothing here touches the network: only local files are read. Only safetensors files are read (pickled
pytorch_model.bin files can run code when loaded). bfloat16 / float16 weights are read as float32.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import numpy as np

from ...fileio import read_json
from .base import CONFIG_NAME, MODEL_CLASSES, WEIGHTS_NAME, CheckpointError, write_model_folder
from .config import ConfigError
from .hf_families import BASE_PREFIX, FAMILIES, IGNORED, READERS, hf_writer

INDEX_NAME = "model.safetensors.index.json"


# ====================================================================== reading files
_ST_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I64": np.int64,
              "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def read_safetensors(path) -> dict:
    """name -> NumPy array from a .safetensors file: 8 bytes of header length, a JSON header giving each
    tensor's dtype, shape and byte range, then the raw little-endian bytes. Read directly (not through the
    safetensors package) so that bfloat16, which NumPy lacks, can be widened to float32: a bfloat16 is the
    top 16 bits of a float32."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if n > size - 8:
                raise ValueError(f"header length {n} is beyond the end of the file")
            header = json.loads(f.read(n))
        data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n) if size > 8 + n else np.zeros(0, np.uint8)
        out = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            if info["dtype"] not in _ST_DTYPES:
                raise ValueError(f"{name}: unsupported dtype {info['dtype']}")
            start, end = info["data_offsets"]
            if not 0 <= start <= end <= len(data):
                raise ValueError(f"{name}: bytes {start}..{end} are beyond the end of the data")
            arr = np.frombuffer(data[start:end], dtype=_ST_DTYPES[info["dtype"]]).reshape(info["shape"])
            if info["dtype"] == "BF16":
                arr = (arr.astype(np.uint32) << 16).view(np.float32)
            out[name] = arr
        return out
    except (OSError, ValueError, KeyError, TypeError, struct.error) as e:
        raise CheckpointError(f"{path} is not a readable safetensors file: {' '.join(str(e).split())}") from None


def _read_json(path) -> dict:
    if not Path(path).exists():
        raise CheckpointError(f"{path} is missing (a Hugging Face folder needs config.json next to the weights; "
                              "or pass config=...)")
    return read_json(path, "Hugging Face JSON file", CheckpointError)


def read_hf_folder(path, config=None):
    """(config dict, {name: array}) from a folder (config.json + model.safetensors or an index of shards),
    or from one .safetensors file (config.json beside it, or ``config``: a dict or a JSON file)."""
    path = Path(path)
    if path.is_dir():
        folder = path
        if (path / WEIGHTS_NAME).is_file():
            files = [path / WEIGHTS_NAME]
        elif (path / INDEX_NAME).is_file():                      # sharded: the index maps each name to a file
            index = _read_json(path / INDEX_NAME).get("weight_map", {})
            files = [path / f for f in sorted(set(index.values()))]
        else:
            found = sorted(path.glob("*.safetensors"))
            if len(found) != 1:
                bins = [p.name for p in path.glob("*.bin")]
                why = (f"it has {', '.join(bins)} (pickled PyTorch weights, which are not read: they can run code "
                       "when loaded; convert them to safetensors with transformers' save_pretrained)") if bins else \
                    (f"{len(found)} .safetensors files and no {INDEX_NAME}" if found else "no .safetensors file")
                raise CheckpointError(f"{path}: no {WEIGHTS_NAME} to read: {why}")
            files = found
    elif path.is_file():
        folder, files = path.parent, [path]
    else:
        raise CheckpointError(f"no Hugging Face model folder or weights file at {path}")
    if config is None:
        cfg = _read_json(folder / CONFIG_NAME)
    elif isinstance(config, dict):
        cfg = dict(config)
    else:
        cfg = _read_json(config)
    tensors = {}
    for f in files:
        tensors.update(read_safetensors(f))
    return cfg, tensors


def hf_family(cfg: dict) -> str:
    """"gpt2" | "llama" | "bert" | "t5" from a config.json's model_type (or, failing that, architectures)."""
    kind = cfg.get("model_type")
    if kind in FAMILIES:
        return kind
    for arch in cfg.get("architectures") or []:
        for fam, prefix in (("gpt2", "GPT2"), ("llama", "Llama"), ("bert", "Bert"), ("t5", "T5")):
            if arch.startswith(prefix):
                return fam
    raise CheckpointError(f"unsupported Hugging Face model (model_type={kind!r}, "
                          f"architectures={cfg.get('architectures')!r}); load_hf reads {', '.join(FAMILIES)}")


# ====================================================================== load_hf
def load_hf(path, config=None, device=None, dtype=None):
    """Read a local Hugging Face checkpoint into the matching model (GPT, BERT or T5), in eval mode.

    path:    a folder (config.json + model.safetensors, or model.safetensors.index.json and its shards),
             or one .safetensors file (config.json beside it, or ``config``: a dict or a JSON file path)
    dtype:   the model's float dtype; default float32 (float64 if the file holds float64)
    Raises CheckpointError (one line) for anything unsupported, missing, extra or mis-shaped.
    """
    cfg, tensors = read_hf_folder(path, config)
    family = hf_family(cfg)
    prefix = BASE_PREFIX[family]
    weights, stored_as = {}, {}
    for name, arr in tensors.items():
        if any(p.search(name) for p in IGNORED):
            continue
        original = name
        if prefix and name.startswith(prefix):
            name = name[len(prefix):]
        if family == "bert":                                   # old BERT files: LayerNorm.gamma / .beta
            name = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", name))
        if name in weights:
            raise CheckpointError(f"{path}: weight {name} is stored twice (with and without the {prefix!r} prefix)")
        weights[name], stored_as[name] = arr, original
    try:
        model_config, state = READERS[family](cfg, weights)
    except ConfigError as e:
        raise CheckpointError(f"{path}: {e}") from None
    except KeyError as e:
        raise CheckpointError(f"{path}: weight {e.args[0]} is missing (is this a complete "
                              f"{'/'.join(cfg.get('architectures') or [family])} checkpoint?)") from None
    if weights:
        extra = sorted(stored_as.get(k, k) for k in weights)
        raise CheckpointError(f"{path}: weights the {family} model does not use: {', '.join(extra[:8])}"
                              + (f" and {len(extra) - 8} more" if len(extra) > 8 else ""))
    model = MODEL_CLASSES[model_config.model_type](model_config)
    if dtype is None:
        floats = {a.dtype for a in state.values() if a.dtype.kind == "f"}
        dtype = np.float64 if np.dtype(np.float64) in floats else np.float32
    model.to(dtype=dtype)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise CheckpointError(f"{path} does not fit the model its config.json describes: "
                              + "; ".join(line.strip() for line in str(e).split("\n")[1:])) from None
    model.eval()
    return model.to(device) if device is not None else model


# ====================================================================== save_hf
def save_hf(model, path):
    """Write ``model`` as a Hugging Face folder: config.json + model.safetensors, with the names, layouts and
    config fields of the matching transformers class (GPT2LMHeadModel, LlamaForCausalLM, Bert*,
    T5ForConditionalGeneration), atomically (a temporary folder renamed into place). Returns the path."""
    config, tensors = hf_writer(model)(model)
    floats = {a.dtype for a in tensors.values() if a.dtype.kind == "f"}
    config["dtype"] = str(next(iter(floats))) if len(floats) == 1 else "float32"
    write_model_folder(path, tensors, config, {"format": "pt"}, manifest=False)      # what transformers writes
    return Path(path)
