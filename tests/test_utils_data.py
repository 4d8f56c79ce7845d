"""tinygrad_tf.utils.data against torch.utils.data (tests/fixtures/data_reference.json) and on its own terms.

The fixture (scripts/make_data_fixture.py) holds PyTorch's collated batches, the batches its DataLoader
gives (iterable datasets included, read by real worker processes), BatchSampler groupings, random_split
lengths and its errors, with the samples, datasets and arguments that produced them; here the same
inputs go through tinygrad_tf. PyTorch's random numbers are not reproduced: shuffling is tested for what
it must be (a permutation, reproducible from a seed or a Generator, new every epoch). Never imports torch.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import warnings
from collections import OrderedDict, namedtuple
from pathlib import Path

import numpy as np
import pytest

import tinygrad_tf as tg
import tinygrad_tf.utils.data as data
from tinygrad_tf.utils.data import (BatchSampler, DataLoader, Dataset, IterableDataset, RandomSampler,
                                    SequentialSampler, SubsetRandomSampler, TensorDataset, WeightedRandomSampler,
                                    default_collate, get_worker_info, random_split)

REF = json.loads((Path(__file__).parent / "fixtures" / "data_reference.json").read_text())
Sample = namedtuple("Sample", ["x", "y"])


def build(spec):
    """A sample from the fixture's JSON spec (see scripts/make_data_fixture.py)."""
    if isinstance(spec, list):
        return [build(s) for s in spec]
    if not isinstance(spec, dict):
        return spec
    if "tensor" in spec:
        return tg.tensor(spec["tensor"], dtype=spec["dtype"])
    if "array" in spec:
        return np.array(spec["array"], dtype=spec["dtype"])
    if "scalar" in spec:
        return np.dtype(spec["dtype"]).type(spec["scalar"])
    if "tuple" in spec:
        return tuple(build(s) for s in spec["tuple"])
    if "sample" in spec:
        return Sample(*(build(s) for s in spec["sample"]))
    return {k: build(v) for k, v in spec["dict"].items()}


def describe(obj):
    """A batch's structure in the fixture's terms: types, dtypes, shapes and values."""
    if isinstance(obj, tg.Tensor):
        return {"tensor": obj.tolist(), "dtype": str(obj.dtype), "shape": list(obj.shape)}
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


def env():
    e = {"data": data, "tensor": lambda v: tg.tensor(v)}
    exec(REF["datasets"], e)
    return e


# ------------------------------------------------------------------ collate, against PyTorch
@pytest.mark.parametrize("name", sorted(REF["collate"]))
def test_default_collate_matches_pytorch(name):
    case = REF["collate"][name]
    assert describe(default_collate(build(case["batch"]))) == case["out"]


@pytest.mark.parametrize("name", sorted(REF["collate_errors"]))
def test_default_collate_errors_match_pytorch(name):
    case = REF["collate_errors"][name]
    with pytest.raises(Exception) as e:
        default_collate(build(case["batch"]))
    assert type(e.value).__name__ == case["type"] and str(e.value) == case["message"]


@pytest.mark.parametrize("name", sorted(REF["convert"]))
def test_default_convert_matches_pytorch(name):
    case = REF["convert"][name]
    assert describe(data.default_convert(build(case["sample"]))) == case["out"]


def test_collate_keeps_the_mapping_type_and_takes_a_custom_map():
    batch = [OrderedDict(b=1, a=2.0), OrderedDict(b=3, a=4.0)]
    out = default_collate(batch)
    assert type(out) is OrderedDict and list(out) == ["b", "a"] and out["a"].dtype == tg.float64

    class Point:
        def __init__(self, v):
            self.v = v

    fn_map = {**data._utils.collate.default_collate_fn_map,
              Point: lambda b, *, collate_fn_map=None: tg.tensor([p.v for p in b])}
    out = data._utils.collate.collate([(Point(1), 2.0), (Point(3), 4.0)], collate_fn_map=fn_map)
    assert out[0].tolist() == [1, 3] and out[1].tolist() == [2.0, 4.0]


def test_collated_tensors_keep_their_graph():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    batch = default_collate([w * 2, w * 3])
    batch.sum().backward()
    assert w.grad.tolist() == [5.0, 5.0]


# ------------------------------------------------------------------ DataLoader batches, against PyTorch
@pytest.mark.parametrize("name", sorted(REF["loaders"]))
def test_loader_batches_match_pytorch(name):
    case = REF["loaders"][name]
    e = env()
    loader = DataLoader(eval(case["dataset"], e), **eval(case["kwargs"], e))
    if case["len"] is None:
        with pytest.raises(TypeError):
            len(loader)
    else:
        assert len(loader) == case["len"]
    for epoch in range(2):                           # a second epoch gives the same batches
        assert [describe(b) for b in loader] == case["batches"], f"{name}, epoch {epoch}"


@pytest.mark.parametrize("name", ["stream_workers3_drop", "sharded_workers3", "counter_workers2", "map_workers2"])
def test_persistent_workers_give_the_same_batches(name):
    case = REF["loaders"][name]
    e = env()
    loader = DataLoader(eval(case["dataset"], e), **eval(case["kwargs"], e), persistent_workers=True)
    first = iter(loader)
    assert [describe(b) for b in first] == case["batches"]
    second = iter(loader)
    assert second is first                           # the same workers, restarted
    assert [describe(b) for b in second] == case["batches"]


@pytest.mark.parametrize("i", range(len(REF["batch_samplers"])))
def test_batch_sampler_matches_pytorch(i):
    case = REF["batch_samplers"][i]
    bs = BatchSampler(SequentialSampler(range(case["n"])), case["batch_size"], case["drop_last"])
    assert list(bs) == case["batches"] and len(bs) == case["len"]


@pytest.mark.parametrize("i", range(len(REF["splits"])))
def test_random_split_lengths_match_pytorch(i):
    case = REF["splits"][i]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")              # zero-length splits warn, as in PyTorch
        if "error" in case:
            with pytest.raises(ValueError, match=case["error"]):
                random_split(range(case["n"]), case["lengths"])
            return
        parts = random_split(range(case["n"]), case["lengths"], generator=tg.Generator().manual_seed(0))
    assert [len(p) for p in parts] == case["sizes"]
    items = [x for p in parts for x in p]
    assert sorted(items) == list(range(case["n"]))  # disjoint, and together the whole dataset


@pytest.mark.parametrize("name", sorted(REF["errors"]))
def test_errors_match_pytorch(name):
    case = REF["errors"][name]
    e = env()
    e.update(ds=e["Squares"](5), it=e["Stream"](5))
    with pytest.raises(Exception) as err:
        eval(case["code"], e)
    assert type(err.value).__name__ == case["type"], str(err.value)
    assert str(err.value).startswith(case["message"])


# ------------------------------------------------------------------ randomness
def _order(loader):
    return [int(i) for xb, in loader for i in xb.tolist()]


def test_shuffle_is_a_permutation_reproducible_from_manual_seed():
    ds = TensorDataset(tg.arange(20))
    loader = DataLoader(ds, batch_size=3, shuffle=True)
    tg.manual_seed(0)
    a1, a2 = _order(loader), _order(loader)
    tg.manual_seed(0)
    b1, b2 = _order(loader), _order(loader)
    assert a1 == b1 and a2 == b2                     # tg.manual_seed(0) replays the epochs
    assert sorted(a1) == sorted(a2) == list(range(20)) and a1 != a2 and a1 != sorted(a1)
    assert [len(b[0]) for b in loader] == [3] * 6 + [2]


def test_generator_gives_its_own_stream():
    ds = TensorDataset(tg.arange(10))
    one = _order(DataLoader(ds, batch_size=4, shuffle=True, generator=tg.Generator().manual_seed(7)))
    two = _order(DataLoader(ds, batch_size=4, shuffle=True, generator=tg.Generator().manual_seed(7)))
    three = _order(DataLoader(ds, batch_size=4, shuffle=True, generator=tg.Generator().manual_seed(8)))
    assert one == two != three and sorted(one) == list(range(10))
    tg.manual_seed(3)
    expected = tg.rand(4).tolist()
    tg.manual_seed(3)
    _order(DataLoader(ds, batch_size=4, shuffle=True, generator=tg.Generator().manual_seed(7)))
    assert tg.rand(4).tolist() == expected           # the global stream was not touched


def test_random_samplers():
    g = tg.Generator().manual_seed(1)
    s = RandomSampler(range(5), num_samples=12, generator=g)
    idx = list(s)
    assert len(s) == 12 and len(idx) == 12
    assert sorted(idx[:5]) == sorted(idx[5:10]) == list(range(5)) and len(set(idx[10:])) == 2
    r = RandomSampler(range(3), replacement=True, num_samples=50, generator=g)
    assert len(list(r)) == 50 and set(r) <= {0, 1, 2}
    sub = SubsetRandomSampler([10, 20, 30, 40], generator=g)
    assert sorted(sub) == [10, 20, 30, 40] and len(sub) == 4
    w = WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], num_samples=40, generator=g)
    drawn = list(w)
    assert len(w) == 40 and set(drawn) == {1, 3} and drawn.count(3) > drawn.count(1)
    assert sorted(WeightedRandomSampler([1, 2, 3, 4], 4, replacement=False, generator=g)) == [0, 1, 2, 3]
    with pytest.raises(RuntimeError, match="not enough non-negative category"):
        WeightedRandomSampler([1.0, 0.0, 1.0], 3, replacement=False)
    with pytest.raises(RuntimeError, match="`inf`, `nan` or element < 0"):
        WeightedRandomSampler([1.0, -1.0], 3)
    tg.manual_seed(5)
    a = list(RandomSampler(range(8)))
    tg.manual_seed(5)
    assert list(RandomSampler(range(8))) == a and sorted(a) == list(range(8))


def test_random_split_with_a_generator_is_reproducible_and_warns_for_empty_splits():
    a = random_split(range(10), [3, 7], generator=tg.Generator().manual_seed(42))
    b = random_split(range(10), [3, 7], generator=tg.Generator().manual_seed(42))
    assert [list(s) for s in a] == [list(s) for s in b]
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(5), [0.1, 0.1, 0.8])


# ------------------------------------------------------------------ datasets
def test_datasets():
    x, y = tg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), tg.tensor([0, 1, 0])
    ds = TensorDataset(x, y)
    assert len(ds) == 3 and ds[1][0].tolist() == [3.0, 4.0] and ds[1][1].item() == 1
    np_ds = TensorDataset(np.arange(6).reshape(3, 2), np.array([7, 8, 9]))   # NumPy arrays work as well
    assert describe(next(iter(DataLoader(np_ds, batch_size=3))))["list"][1]["tensor"] == [7, 8, 9]

    class Letters(Dataset):
        def __init__(self, s):
            self.s = s

        def __getitem__(self, i):
            return self.s[i]

        def __len__(self):
            return len(self.s)

    both = Letters("abc") + Letters("de")
    assert isinstance(both, data.ConcatDataset) and len(both) == 5 and [both[i] for i in range(5)] == list("abcde")
    assert both[-1] == "e" and both.cumulative_sizes == [3, 5]
    sub = data.Subset(both, [3, 0])
    assert len(sub) == 2 and sub[0] == "d" and sub.__getitems__([1, 0]) == ["a", "d"]
    stacked = data.StackDataset(a=Letters("xy"), b=Letters("12"))
    assert stacked[1] == {"a": "y", "b": "2"} and len(stacked) == 2
    assert next(iter(DataLoader(Letters("pqr"), batch_size=2))) == ["p", "q"]    # strings stay a list


def test_subset_subclass_must_override_getitems():
    class Bad(data.Subset):
        def __getitem__(self, i):
            return 0

    with pytest.raises(NotImplementedError, match="overrides __getitem__ but not __getitems__"):
        Bad(range(3), [0])


# ------------------------------------------------------------------ workers (in this process)
class Shards(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


def test_worker_info_and_worker_init_fn():
    assert get_worker_info() is None
    seen = []

    def init(worker_id):
        info = get_worker_info()
        seen.append((worker_id, info.id, info.num_workers, info.seed - worker_id))

    loader = DataLoader(Shards(9), batch_size=2, num_workers=3, worker_init_fn=init)
    batches = [b.tolist() for b in loader]
    assert batches == [[0, 3], [1, 4], [2, 5], [6], [7], [8]]     # round-robin over the workers' own streams
    assert [s[:3] for s in seen] == [(0, 0, 3), (1, 1, 3), (2, 2, 3)]
    assert len({s[3] for s in seen}) == 1            # seeds are base_seed + worker_id
    assert get_worker_info() is None
    persistent = DataLoader(Shards(4), batch_size=2, num_workers=2, worker_init_fn=init, persistent_workers=True)
    seen.clear()
    assert [b.tolist() for b in persistent] == [b.tolist() for b in persistent] == [[0, 2], [1, 3]]
    assert [s[0] for s in seen] == [0, 1]            # persistent workers start once

    def whoami(i):
        return (get_worker_info().id, i)

    mapped = DataLoader(type("D", (Dataset,), {"__getitem__": lambda self, i: whoami(i), "__len__": lambda self: 5})(),
                        batch_size=2, num_workers=2)
    assert [b[0].tolist() for b in mapped] == [[0, 0], [1, 1], [0]]  # batch k is fetched by worker k % 2


def test_iterable_length_warning():
    class Short(IterableDataset):
        def __iter__(self):
            return iter(range(6))

        def __len__(self):
            return 2

    loader = DataLoader(Short(), batch_size=2)
    assert len(loader) == 1
    with pytest.warns(UserWarning, match="was reported to be 2"):
        list(loader)


# ------------------------------------------------------------------ the PyTorch surface
def test_signatures_and_import_paths():
    import tinygrad_tf.utils
    from tinygrad_tf.utils.data._utils.collate import default_collate as dc2
    from tinygrad_tf.utils.data.dataloader import DataLoader as DL, default_collate as dc
    from tinygrad_tf.utils.data.sampler import BatchSampler as BS
    assert DL is DataLoader and dc is dc2 is default_collate and BS is BatchSampler and tinygrad_tf.utils.data is data
    assert str(inspect.signature(DataLoader)) == (
        "(dataset, batch_size: 'int | None' = 1, shuffle: 'bool | None' = None, sampler=None, batch_sampler=None, "
        "num_workers: 'int' = 0, collate_fn=None, pin_memory: 'bool' = False, drop_last: 'bool' = False, "
        "timeout: 'float' = 0, worker_init_fn=None, multiprocessing_context=None, generator=None, *, "
        "prefetch_factor: 'int | None' = None, persistent_workers: 'bool' = False, pin_memory_device: 'str' = '', "
        "in_order: 'bool' = True)")
    assert str(inspect.signature(RandomSampler)).startswith("(data_source, replacement: 'bool' = False, "
                                                            "num_samples: 'int | None' = None, generator=None)")
    assert list(inspect.signature(random_split).parameters) == ["dataset", "lengths", "generator"]
    assert Dataset[int] is not None and data.Sampler[int] is not None   # generic, as PyTorch's

    class Evens(data.Sampler[int]):
        def __init__(self, source):
            super().__init__(source)                 # older PyTorch code passes data_source up
            self.n = len(source)

        def __iter__(self):
            return iter(range(0, self.n, 2))

    assert [b.tolist() for b in DataLoader(list(range(10, 16)), sampler=Evens(range(6)), batch_size=2)] == \
        [[10, 12], [14]]


def test_utils_data_imports_nothing_above_the_engine():
    code = ("import sys, tinygrad_tf.utils.data; "
            "bad = [m for m in sys.modules if m.split('.')[1:2] and m.split('.')[0] == 'tinygrad_tf' and "
            "m.split('.')[1] in ('nn', 'models', 'train', 'viz', 'lab', 'commands', 'text', 'distributed')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_makemore_style_training_loop_runs():
    """The shape of a learner's PyTorch program: Dataset, DataLoader(shuffle), AdamW, OneCycleLR."""
    from tinygrad_tf import nn
    from tinygrad_tf.nn import functional as F
    from tinygrad_tf.optim.lr_scheduler import OneCycleLR

    class Bigrams(Dataset):
        def __init__(self, text):
            self.ids = [ord(c) - 97 for c in text]

        def __len__(self):
            return len(self.ids) - 1

        def __getitem__(self, i):
            return tg.tensor(self.ids[i]), tg.tensor(self.ids[i + 1])

    tg.manual_seed(0)
    loader = DataLoader(Bigrams("abcdabcdabcdabcd" * 4), batch_size=8, shuffle=True, drop_last=True)
    model = nn.Sequential(nn.Embedding(4, 8), nn.Linear(8, 4))
    opt = tg.optim.AdamW(model.parameters(), lr=1e-2)
    sched = OneCycleLR(opt, max_lr=0.1, epochs=5, steps_per_epoch=len(loader))
    losses = []
    for _ in range(5):
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
    assert len(losses) == 5 * len(loader) and losses[-1] < 0.1 < losses[0]


def test_batches_stay_on_the_dataset_device(device):
    x, y = tg.randn(5, 3, device=device), tg.arange(5).to(device)
    batches = list(DataLoader(TensorDataset(x, y), batch_size=2, shuffle=True, generator=tg.Generator().manual_seed(0)))
    assert [b[0].device for b in batches] == [device] * 3 and [tuple(b[0].shape) for b in batches][-1] == (1, 3)
    assert sorted(int(i) for b in batches for i in b[1].tolist()) == list(range(5))
    if device == "cuda":
        with pytest.raises(RuntimeError, match="Expected a 'cpu' device type for generator"):
            list(RandomSampler(range(3), generator=tg.Generator(device="cuda")))
