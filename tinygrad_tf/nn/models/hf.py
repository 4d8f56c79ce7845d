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
from pathlib import Path, PureWindowsPath

import numpy as np

from ...fileio import read_json, stale_copies
from .base import CONFIG_NAME, MODEL_CLASSES, WEIGHTS_NAME, CheckpointError, check_float_weights, write_model_folder
from .config import ConfigError
from .hf_families import BASE_PREFIX, FAMILIES, IGNORED, READERS, hf_writer

INDEX_NAME = "model.safetensors.index.json"
# the transformers classes whose saved weights each family reads (config.json "architectures")
ARCHITECTURES = {"gpt2": {"GPT2Model", "GPT2LMHeadModel"}, "llama": {"LlamaModel", "LlamaForCausalLM"},
                 "bert": {"BertModel", "BertForMaskedLM", "BertForPreTraining", "BertForSequenceClassification",
                          "BertForNextSentencePrediction"},
                 "t5": {"T5ForConditionalGeneration", "T5Model"}}


# ====================================================================== reading files
_ST_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I64": np.int64,
              "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


MAX_HEADER = 100 * 2**20        # the safetensors format's own limit on the JSON header (100 MB)


def _bad(msg):
    raise ValueError(msg)


def check_safetensors_header(header, data_len: int) -> list:
    """The tensors a safetensors header describes, checked by the format's rules
    (https://github.com/huggingface/safetensors): a JSON object whose "__metadata__" (optional) maps strings
    to strings and whose every other entry is {"dtype", "shape", "data_offsets": [begin, end]}, with a known
    dtype, non-negative integer dimensions, ``end - begin`` = the number of elements x the dtype's size, and
    the byte ranges, in order, contiguous and non-overlapping from 0, covering the data exactly. Returns
    [(name, dtype, shape, begin, end)] in data order; a ValueError names the first rule broken."""
    if not isinstance(header, dict):
        _bad(f"the header is a JSON {type(header).__name__}, not an object of tensors")
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        _bad("__metadata__ must map strings to strings")
    entries = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            _bad(f"{name}: an entry must be {{dtype, shape, data_offsets}}, got {str(info)[:80]}")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in _ST_DTYPES:
            _bad(f"{name}: unsupported dtype {dtype!r} (read: {', '.join(_ST_DTYPES)})")
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                                  for d in shape):
            _bad(f"{name}: shape must be a list of non-negative integers, got {shape!r}")
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(
                isinstance(o, int) and not isinstance(o, bool) for o in offsets) or not 0 <= offsets[0] <= offsets[1]:
            _bad(f"{name}: data_offsets must be [begin, end] with 0 <= begin <= end, got {offsets!r}")
        n = int(np.prod(shape, dtype=object)) if shape else 1
        size = n * np.dtype(_ST_DTYPES[dtype]).itemsize
        if offsets[1] - offsets[0] != size:
            _bad(f"{name}: {dtype} {shape} is {size:,} bytes, but its data_offsets {offsets} hold "
                 f"{offsets[1] - offsets[0]:,} (the dtype or shape does not fit the data)")
        entries.append((name, dtype, shape, offsets[0], offsets[1]))
    entries.sort(key=lambda e: (e[3], e[4]))
    at = 0
    for name, _, _, begin, end in entries:
        if begin != at:
            _bad(f"{name}: its bytes start at {begin:,}, but the tensor before it ends at {at:,} "
                 + ("(they overlap)" if begin < at else "(a gap of unclaimed bytes)"))
        at = end
    if at != data_len:
        _bad(f"the tensors cover {at:,} bytes of data, but the file holds {data_len:,} after its header "
             + ("(truncated?)" if at > data_len else "(bytes no tensor claims)"))
    return entries


def read_safetensors(path) -> dict:
    """name -> NumPy array from a .safetensors file: 8 bytes of header length, a JSON header giving each
    tensor's dtype, shape and byte range, then the raw little-endian bytes. Read directly (not through the
    safetensors package) so that bfloat16, which NumPy lacks, can be widened to float32: a bfloat16 is the
    top 16 bits of a float32. The header is checked in full first (``check_safetensors_header``)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise ValueError(f"the file is {size} bytes, too short for a header")
            (n,) = struct.unpack("<Q", head)
            if n > size - 8:
                raise ValueError(f"header length {n} is beyond the end of the file")
            if n > MAX_HEADER:
                raise ValueError(f"header length {n:,} is over the format's limit of {MAX_HEADER:,} bytes")
            header = json.loads(f.read(n))
        entries = check_safetensors_header(header, size - 8 - n)
        data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n) if size > 8 + n else np.zeros(0, np.uint8)
        out = {}
        for name, dtype, shape, start, end in entries:
            arr = np.frombuffer(data[start:end], dtype=np.dtype(_ST_DTYPES[dtype]).newbyteorder("<")).reshape(shape)
            if dtype == "BF16":
                arr = (arr.astype(np.uint32) << 16).view(np.float32)
            out[name] = arr
        return out
    except (OSError, ValueError, KeyError, TypeError, struct.error, RecursionError) as e:
        raise CheckpointError(f"{path} is not a readable safetensors file: {' '.join(str(e).split())}") from None


def _read_json(path) -> dict:
    if not Path(path).exists():
        raise CheckpointError(f"{path} is missing (a Hugging Face folder needs config.json next to the weights; "
                              "or pass config=...)")
    return read_json(path, "Hugging Face JSON file", CheckpointError)


def _shards(index_path) -> list:
    """The shard file names an index's "weight_map" ({tensor name: file name}) lists, each a plain file name
    inside the folder: an index is data, and one naming ``../../x`` or ``/etc/x`` must not read outside it."""
    weight_map = _read_json(index_path).get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map or \
            not all(isinstance(k, str) and isinstance(v, str) for k, v in weight_map.items()):
        raise CheckpointError(f"{index_path}: 'weight_map' must be an object mapping tensor names to shard file "
                              f"names, got {type(weight_map).__name__}")
    names = sorted(set(weight_map.values()))
    for name in names:
        parts = Path(name).parts
        if not name or Path(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive \
                or ".." in parts or "\\" in name or len(parts) != 1 or name.startswith("."):
            raise CheckpointError(f"{index_path}: shard {name!r} is not a file name inside the folder (an index "
                                  "may only name files beside it)")
        if not name.endswith(".safetensors"):
            raise CheckpointError(f"{index_path}: shard {name!r} is not a .safetensors file")
    return names


def read_hf_folder(path, config=None):
    """(config dict, {name: array}) from a folder (config.json + model.safetensors or an index of shards),
    or from one .safetensors file (config.json beside it, or ``config``: a dict or a JSON file)."""
    path = Path(path)
    if path.is_dir():
        folder = path
        if (path / WEIGHTS_NAME).is_file():
            files = [path / WEIGHTS_NAME]
        elif (path / INDEX_NAME).is_file():                      # sharded: the index maps each name to a file
            files = [path / f for f in _shards(path / INDEX_NAME)]
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
    elif stale_copies(path):                   # save_hf killed between its two renames: the previous folder
        return read_hf_folder(stale_copies(path)[0], config)
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
        other = [a for a in cfg.get("architectures") or [] if a not in ARCHITECTURES[kind]]
        if other:                        # e.g. GPT2ForTokenClassification: a head this project does not build
            raise CheckpointError(f"unsupported Hugging Face architecture {other[0]} (model_type={kind!r}); "
                                  f"load_hf reads {', '.join(sorted(ARCHITECTURES[kind]))}")
        return kind
    for arch in cfg.get("architectures") or []:
        for fam, prefix in (("gpt2", "GPT2"), ("llama", "Llama"), ("bert", "Bert"), ("t5", "T5")):
            if arch.startswith(prefix):
                return fam
    raise CheckpointError(f"unsupported Hugging Face model (model_type={kind!r}, "
                          f"architectures={cfg.get('architectures')!r}); load_hf reads {', '.join(FAMILIES)}")


# ====================================================================== load_hf
class _MissingKey(Exception):
    pass


class _HFConfig(dict):
    """config.json for a family's reader: a key it needs and the file lacks is named as a config key (a
    KeyError from the weights dict means a missing weight)."""

    def __init__(self, cfg, family):
        super().__init__(cfg)
        self.family = family

    def __missing__(self, key):
        raise _MissingKey(f"config.json has no {key!r}, which a {self.family} model needs (an incomplete or "
                          "hand-edited config?)")


def load_hf(path, config=None, device=None, dtype=None):
    """Read a local Hugging Face checkpoint into the matching model (GPT, BERT or T5), in eval mode.

    path:    a folder (config.json + model.safetensors, or model.safetensors.index.json and its shards),
             or one .safetensors file (config.json beside it, or ``config``: a dict or a JSON file path)
    dtype:   the model's float dtype; default float32 (float64 if the file holds float64)
    Raises CheckpointError (one line) for anything unsupported, missing, extra or mis-shaped.
    """
    cfg, tensors = read_hf_folder(path, config)
    family = hf_family(cfg)
    cfg = _HFConfig(cfg, family)
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
    except (ConfigError, _MissingKey) as e:
        raise CheckpointError(f"{path}: {e}") from None
    except (TypeError, ValueError) as e:     # a config value of the wrong kind ("n_embd": "768"), a weight that
        raise CheckpointError(f"{path}: its config.json and weights do not fit a {family} model "     # won't reshape
                              f"({type(e).__name__}: {' '.join(str(e).split())})") from None
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
    check_float_weights(model, state, path)
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
