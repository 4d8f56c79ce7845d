"""Write tests/fixtures/data_reference.json: what torch.utils.data does where no randomness is involved, for
tests/test_utils_data.py.

    python scripts/make_data_fixture.py        # needs torch (CPU is enough)

Recorded from PyTorch: ``default_collate`` / ``default_convert`` on batches of every supported kind of
sample (the structure, dtypes, shapes and values that come out), the batches a DataLoader gives for
sequential, custom and batch samplers, ``batch_size=None``, ``drop_last``, and iterable datasets read by
real worker processes (``num_workers`` 2 and 3: the order PyTorch's workers deliver, which the in-process
workers of tinygrad_tf must reproduce), ``len(loader)``, ``BatchSampler`` groupings, ``random_split``
lengths from fractions (the remainder's distribution), and the errors for bad arguments (type and message).

Samples are written as JSON (see ``build``) and datasets as code (``DATASETS``), against the name ``data``
(torch.utils.data here, tinygrad_tf.utils.data in the test), so each case is written once, here.
The tests never import torch; only this script does.
"""

from __future__ import annotations

import json
import warnings
from collections import namedtuple
from pathlib import Path

import numpy as np
import torch
import torch.utils.data as data

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "data_reference.json"

Sample = namedtuple("Sample", ["x", "y"])

# A sample spec: numbers, strings and lists stand for themselves; {"tensor": v, "dtype": d} a tensor,
# {"array": v, "dtype": d} a NumPy array, {"scalar": v, "dtype": d} a NumPy scalar, {"tuple": [...]} a
# tuple, {"dict": {...}} a dict, {"sample": [x, y]} the namedtuple Sample(x, y).
COLLATE = {
    "floats": [1.0, 2.5, -3.0],
    "ints": [1, 2, 3],
    "bools": [True, False, True],
    "strings": ["a", "bc"],
    "tensor_float32": [{"tensor": [[1, 2, 3], [4, 5, 6]], "dtype": "float32"},
                       {"tensor": [[7, 8, 9], [0, 1, 2]], "dtype": "float32"}],
    "tensor_int64": [{"tensor": [1, 2], "dtype": "int64"}, {"tensor": [3, 4], "dtype": "int64"}],
    "tensor_0d": [{"tensor": 1.5, "dtype": "float64"}, {"tensor": 2.5, "dtype": "float64"}],
    "array_float64": [{"array": [1, 2], "dtype": "float64"}, {"array": [3, 4], "dtype": "float64"}],
    "array_int32": [{"array": [[1], [2]], "dtype": "int32"}, {"array": [[3], [4]], "dtype": "int32"}],
    "array_uint8": [{"array": [1, 255], "dtype": "uint8"}, {"array": [0, 7], "dtype": "uint8"}],
    "array_bool": [{"array": [True, False], "dtype": "bool"}, {"array": [False, False], "dtype": "bool"}],
    "array_0d": [{"array": 3.0, "dtype": "float32"}, {"array": 4.0, "dtype": "float32"}],
    "scalar_float32": [{"scalar": 1.5, "dtype": "float32"}, {"scalar": 2.0, "dtype": "float32"}],
    "scalar_float64": [{"scalar": 1.5, "dtype": "float64"}, {"scalar": 2.0, "dtype": "float64"}],
    "scalar_int64": [{"scalar": 3, "dtype": "int64"}, {"scalar": 4, "dtype": "int64"}],
    "scalar_int32": [{"scalar": 3, "dtype": "int32"}, {"scalar": 4, "dtype": "int32"}],
    "scalar_bool": [{"scalar": True, "dtype": "bool"}, {"scalar": False, "dtype": "bool"}],
    "tuple_tensor_int": [{"tuple": [{"tensor": [1.0, 2.0], "dtype": "float32"}, 0]},
                         {"tuple": [{"tensor": [3.0, 4.0], "dtype": "float32"}, 1]}],
    "list_of_floats": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
    "dict": [{"dict": {"x": {"tensor": [1, 2], "dtype": "int64"}, "y": 0.5, "name": "a"}},
             {"dict": {"x": {"tensor": [3, 4], "dtype": "int64"}, "y": 1.5, "name": "b"}}],
    "nested": [{"dict": {"pair": {"tuple": [1, {"array": [1.0], "dtype": "float32"}]},
                         "meta": {"dict": {"id": 7, "tags": ["p", "q"]}}}},
               {"dict": {"pair": {"tuple": [2, {"array": [2.0], "dtype": "float32"}]},
                         "meta": {"dict": {"id": 8, "tags": ["r", "s"]}}}}],
    "namedtuple": [{"sample": [{"tensor": [1.0], "dtype": "float32"}, 1]},
                   {"sample": [{"tensor": [2.0], "dtype": "float32"}, 2]}],
}
COLLATE_ERRORS = {
    "unequal_lists": [[1, 2], [3]],
    "string_arrays": [{"array": ["a", "b"], "dtype": "<U1"}, {"array": ["c", "d"], "dtype": "<U1"}],
    "none": [None, None],
}
CONVERT = {   # default_convert on one sample
    "array": {"array": [1, 2], "dtype": "int32"},
    "scalar": {"scalar": 2.5, "dtype": "float32"},
    "tuple": {"tuple": [{"array": [1.0], "dtype": "float64"}, 3, "s"]},
    "dict": {"dict": {"a": {"scalar": 1, "dtype": "int64"}, "b": [1.5, {"array": [True], "dtype": "bool"}]}},
    "namedtuple": {"sample": [{"array": [0.5], "dtype": "float32"}, "label"]},
    "plain": 3.5,
    "string_array": {"array": ["x"], "dtype": "<U1"},
}

DATASETS = '''
class Squares(data.Dataset):
    """Sample i is (i, float(i * i)); n samples."""
    def __init__(self, n):
        self.n = n
    def __getitem__(self, i):
        return i, float(i * i)
    def __len__(self):
        return self.n

class Stream(data.IterableDataset):
    """range(n) in every worker: with k workers, each item k times."""
    def __init__(self, n, length=None):
        self.n, self.length = n, length
    def __iter__(self):
        return iter(range(self.n))
    def __len__(self):
        if self.length is None:
            raise TypeError("Stream has no length")
        return self.length

class Sharded(data.IterableDataset):
    """Worker w yields its own contiguous block of range(sum(sizes)), sizes[w] long; all of it without workers."""
    def __init__(self, sizes):
        self.sizes = sizes
    def __iter__(self):
        info = data.get_worker_info()
        if info is None:
            return iter(range(sum(self.sizes)))
        start = sum(self.sizes[:info.id])
        return iter(range(start, start + self.sizes[info.id]))

class Counter(data.IterableDataset):
    """A stateful stream: __iter__ returns self, each worker counts on its own copy up to n."""
    def __init__(self, n):
        self.n, self.i = n, 0
    def __iter__(self):
        self.i = 0
        return self
    def __next__(self):
        if self.i >= self.n:
            raise StopIteration
        self.i += 1
        return self.i
'''

# (dataset expression, DataLoader keyword arguments as Python source)
LOADERS = {
    "seq_bs1": ("Squares(5)", "{}"),
    "seq_bs3": ("Squares(7)", "dict(batch_size=3)"),
    "seq_bs3_drop": ("Squares(7)", "dict(batch_size=3, drop_last=True)"),
    "seq_bs_none": ("Squares(3)", "dict(batch_size=None)"),
    "custom_sampler": ("Squares(6)", "dict(batch_size=4, sampler=[5, 3, 1, 0, 2])"),
    "batch_sampler": ("Squares(6)", "dict(batch_sampler=[[3, 1], [0, 2, 4], [5]])"),
    "batch_sampler_obj": ("Squares(7)",
                          "dict(batch_sampler=data.BatchSampler(data.SequentialSampler(range(7)), 2, True))"),
    "collate_fn": ("Squares(5)", "dict(batch_size=2, collate_fn=lambda b: [s[0] for s in b])"),
    "tensor_dataset": ("data.TensorDataset(tensor([[0., 1.], [2., 3.], [4., 5.]]), tensor([7, 8, 9]))",
                       "dict(batch_size=2)"),
    "concat": ("Squares(2) + Squares(3)", "dict(batch_size=2)"),
    "subset": ("data.Subset(Squares(10), [9, 0, 4])", "dict(batch_size=2)"),
    "map_workers2": ("Squares(7)", "dict(batch_size=2, num_workers=2)"),
    "map_workers3_drop": ("Squares(8)", "dict(batch_size=3, num_workers=3, drop_last=True)"),
    "stream_bs2": ("Stream(5)", "dict(batch_size=2)"),
    "stream_bs2_drop": ("Stream(5)", "dict(batch_size=2, drop_last=True)"),
    "stream_none": ("Stream(3)", "dict(batch_size=None)"),
    "stream_workers2": ("Stream(5)", "dict(batch_size=2, num_workers=2)"),
    "stream_workers3_drop": ("Stream(7)", "dict(batch_size=3, num_workers=3, drop_last=True)"),
    "stream_workers2_none": ("Stream(3)", "dict(batch_size=None, num_workers=2)"),
    "sharded_workers3": ("Sharded([5, 2, 7])", "dict(batch_size=2, num_workers=3)"),
    "sharded_workers3_drop": ("Sharded([5, 2, 7])", "dict(batch_size=2, num_workers=3, drop_last=True)"),
    "sharded_workers2_bs1": ("Sharded([1, 4])", "dict(num_workers=2)"),
    "sharded_no_workers": ("Sharded([5, 2, 7])", "dict(batch_size=4)"),
    "counter_workers2": ("Counter(3)", "dict(batch_size=2, num_workers=2)"),
    "chain": ("Stream(2) + Sharded([3])", "dict(batch_size=2)"),
    "stream_len": ("Stream(5, length=5)", "dict(batch_size=2)"),
    "stream_len_drop": ("Stream(5, length=5)", "dict(batch_size=2, drop_last=True)"),
}

BATCH_SAMPLERS = [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False), (2, 5, True), (1, 1, False)]

SPLITS = [(10, [0.25, 0.75]), (10, [0.3, 0.3, 0.4]), (7, [0.5, 0.5]), (5, [0.1, 0.1, 0.8]), (3, [0.2, 0.2, 0.2, 0.4]),
          (11, [1 / 3, 1 / 3, 1 / 3]), (4, [1.0]), (6, [2, 4]), (100, [0.05] * 20)]

ERRORS = {   # Python source, run with `data`, `ds` (Squares(5)) and `it` (Stream(5)) in scope
    "shuffle_and_sampler": "data.DataLoader(ds, shuffle=True, sampler=[0, 1])",
    "batch_sampler_and_batch_size": "data.DataLoader(ds, batch_size=2, batch_sampler=[[0, 1]])",
    "batch_sampler_and_drop_last": "data.DataLoader(ds, batch_sampler=[[0, 1]], drop_last=True)",
    "batch_size_none_drop_last": "data.DataLoader(ds, batch_size=None, drop_last=True)",
    "negative_workers": "data.DataLoader(ds, num_workers=-1)",
    "negative_timeout": "data.DataLoader(ds, timeout=-1)",
    "prefetch_without_workers": "data.DataLoader(ds, prefetch_factor=2)",
    "negative_prefetch": "data.DataLoader(ds, num_workers=1, prefetch_factor=-1)",
    "persistent_without_workers": "data.DataLoader(ds, persistent_workers=True)",
    "context_without_workers": "data.DataLoader(ds, multiprocessing_context='fork')",
    "bad_context": "data.DataLoader(ds, num_workers=1, multiprocessing_context='teleport')",
    "iterable_shuffle": "data.DataLoader(it, shuffle=True)",
    "iterable_sampler": "data.DataLoader(it, sampler=[0, 1])",
    "iterable_batch_sampler": "data.DataLoader(it, batch_sampler=[[0, 1]])",
    "set_batch_size": "setattr(data.DataLoader(ds), 'batch_size', 3)",
    "batch_sampler_zero": "data.BatchSampler(range(3), 0, False)",
    "batch_sampler_bool_size": "data.BatchSampler(range(3), True, False)",
    "batch_sampler_drop_last_int": "data.BatchSampler(range(3), 2, 1)",
    "random_sampler_num_samples": "data.RandomSampler(ds, num_samples=0)",
    "random_sampler_replacement": "data.RandomSampler(ds, replacement=1)",
    "weighted_num_samples": "data.WeightedRandomSampler([1.0, 2.0], num_samples=0)",
    "weighted_2d": "data.WeightedRandomSampler([[1.0, 2.0]], num_samples=2)",
    "split_sum": "data.random_split(ds, [2, 2])",
    "split_fraction": "data.random_split(ds, [1.5, -0.5])",
    "concat_empty": "data.ConcatDataset([])",
    "concat_iterable": "data.ConcatDataset([it])",
    "concat_index": "data.ConcatDataset([ds])[-6]",
    "tensor_dataset_sizes": "data.TensorDataset(tensor([1, 2]), tensor([1, 2, 3]))",
    "dataset_getitem": "data.Dataset()[0]",
    "stack_dataset_sizes": "data.StackDataset(ds, Squares(4))",
    "stack_dataset_both": "data.StackDataset(ds, y=ds)",
    "len_of_unsized_stream": "len(data.DataLoader(it))",
}


def build(spec, tensor):
    """A sample from its JSON spec; ``tensor(values, dtype_name)`` makes the library's tensor."""
    if isinstance(spec, list):
        return [build(s, tensor) for s in spec]
    if not isinstance(spec, dict):
        return spec
    if "tensor" in spec:
        return tensor(spec["tensor"], spec["dtype"])
    if "array" in spec:
        return np.array(spec["array"], dtype=spec["dtype"])
    if "scalar" in spec:
        return np.dtype(spec["dtype"]).type(spec["scalar"])
    if "tuple" in spec:
        return tuple(build(s, tensor) for s in spec["tuple"])
    if "sample" in spec:
        return Sample(*(build(s, tensor) for s in spec["sample"]))
    return {k: build(v, tensor) for k, v in spec["dict"].items()}


def describe(obj):
    """The structure of a collated batch, as JSON: types, dtypes, shapes and values."""
    if isinstance(obj, torch.Tensor):
        return {"tensor": obj.tolist(), "dtype": str(obj.dtype).replace("torch.", ""), "shape": list(obj.shape)}
    if isinstance(obj, np.ndarray):
        return {"ndarray": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return {"namedtuple": type(obj).__name__, "fields": {k: describe(v) for k, v in obj._asdict().items()}}
    if isinstance(obj, tuple):
        return {"tuple": [describe(v) for v in obj]}
    if isinstance(obj, list):
        return {"list": [describe(v) for v in obj]}
    if isinstance(obj, dict):
        return {"dict": {k: describe(v) for k, v in obj.items()}, "type": type(obj).__name__}
    return {"value": obj, "type": type(obj).__name__}


def torch_tensor(values, dtype):
    return torch.tensor(values, dtype=getattr(torch, dtype))


def error_of(fn):
    try:
        fn()
    except Exception as e:                 # noqa: BLE001  (recording whatever PyTorch raises)
        return {"type": type(e).__name__, "message": str(e)}
    raise AssertionError("expected an error")


def main():
    warnings.simplefilter("ignore")        # more workers than this machine's cores; zero-length splits
    env = {"data": data, "tensor": lambda v: torch.tensor(v)}
    exec(DATASETS, env)
    out = {"torch": torch.__version__, "datasets": DATASETS}
    out["collate"] = {k: {"batch": b, "out": describe(data.default_collate(build(b, torch_tensor)))}
                      for k, b in COLLATE.items()}
    out["collate_errors"] = {k: {"batch": b, **error_of(lambda b=b: data.default_collate(build(b, torch_tensor)))}
                             for k, b in COLLATE_ERRORS.items()}
    out["convert"] = {k: {"sample": s, "out": describe(data.default_convert(build(s, torch_tensor)))}
                      for k, s in CONVERT.items()}
    out["loaders"] = {}
    for name, (ds_src, kw_src) in LOADERS.items():
        loader = data.DataLoader(eval(ds_src, env), **eval(kw_src, env))
        try:
            length = len(loader)
        except TypeError:
            length = None
        out["loaders"][name] = {"dataset": ds_src, "kwargs": kw_src, "len": length,
                                "batches": [describe(b) for b in loader]}
    out["batch_samplers"] = [{"n": n, "batch_size": bs, "drop_last": dl,
                              "batches": list(data.BatchSampler(range(n), bs, dl)),
                              "len": len(data.BatchSampler(range(n), bs, dl))} for n, bs, dl in BATCH_SAMPLERS]
    out["splits"] = []
    for n, lengths in SPLITS:      # fractions that add up to a hair over 1 are not fractions to PyTorch: an error
        try:
            sizes = [len(s) for s in data.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))]
            out["splits"].append({"n": n, "lengths": lengths, "sizes": sizes})
        except ValueError as e:
            out["splits"].append({"n": n, "lengths": lengths, "error": str(e)})
    env.update(ds=env["Squares"](5), it=env["Stream"](5))
    out["errors"] = {k: {"code": src, **error_of(lambda src=src: eval(src, env))} for k, src in ERRORS.items()}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
