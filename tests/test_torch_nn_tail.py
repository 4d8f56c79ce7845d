"""The long tail of torch.nn that teaching programs use, against PyTorch's own numbers: the rest of the
activations and losses, distances, BatchNorm / InstanceNorm with running statistics, convolution, pooling and
resizing (functions and layers), RNN / LSTM / GRU and their cells (stacked, bidirectional, packed batches),
PyTorch's Transformer layers, the padding / upsampling layers and how each module prints.

The reference numbers come from scripts/make_torch_nn_tail_fixture.py (run once with torch installed); this file
never imports torch. Each PyTorch state_dict in the fixture is loaded into the module as it is (so the parameter
names, shapes and buffers are PyTorch's). The differentiable pieces are also gradchecked (float64 central
differences) over hypothesis-drawn shapes.
"""

from __future__ import annotations

import copy
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_tf as tg
import tinygrad_tf.nn.functional as F
from tinygrad_tf import nn
from tinygrad_tf.nn.utils.rnn import (pack_padded_sequence, pack_sequence, pad_packed_sequence, pad_sequence,
                                      unpack_sequence, unpad_sequence)

REF = np.load(Path(__file__).parent / "fixtures" / "torch_nn_tail_reference.npz")


def cases(group):
    return json.loads(str(REF[f"{group}/cases"]))


def T(arr, device, grad=False):
    return None if arr is None else tg.tensor(arr, device=device, requires_grad=grad)


def close(actual, expected, what, tol=1e-10):
    """Equal to PyTorch's values within ``tol``: absolute below 1, relative above (NaN and inf must match)."""
    a = actual.numpy() if isinstance(actual, tg.Tensor) else np.asarray(actual)
    assert a.shape == expected.shape, f"{what}: shape {a.shape}, PyTorch's {expected.shape}"
    with np.errstate(invalid="ignore"):
        err = np.abs(a - expected) / np.maximum(1.0, np.abs(expected))
    ok = (err <= tol) | (a == expected) | (np.isnan(a) & np.isnan(expected))
    assert ok.all(), f"{what}: largest difference {np.nanmax(err):.3g} (tolerance {tol:g})"


def weighted(out, key):
    return (out * tg.tensor(REF[key], device=out.device)).sum()


def state_dict(prefix):
    return {k[len(prefix) + 4:]: REF[k] for k in REF.files if k.startswith(prefix + "/sd/")}


def load(module, prefix, device):
    """Load the fixture's PyTorch state_dict as it is; the keys must be exactly the module's."""
    sd = state_dict(prefix)
    module = module.double().to(device)
    assert module.load_state_dict(sd) == ([], [])
    assert list(module.state_dict()) == list(sd), "the state_dict keys (and their order) are PyTorch's"
    return module


# ---------------------------------------------------------------- nn.functional against PyTorch
FN = cases("fn")


@pytest.mark.parametrize("name", sorted(FN))
def test_functional_matches_pytorch(name, device):
    spec, p = FN[name], f"fn/{name}"
    tensors = {k: T(REF[f"{p}/{k}"], device, k in spec.get("grad", [])) for k in spec["arrays"]}

    def resolve(v):
        if isinstance(v, str) and v.startswith("@"):
            return tensors[v[1:]]
        return tuple(v) if isinstance(v, list) else v

    args = [resolve(a) for a in spec["args"]]
    kw = {k: resolve(v) for k, v in spec.get("kw", {}).items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = getattr(F, spec["fn"])(*args, **kw)
    if isinstance(out, tuple):
        np.testing.assert_array_equal(out[1].numpy(), REF[f"{p}/indices"], err_msg="indices")
        assert out[1].dtype == tg.int64
        out = out[0]
    tol = spec.get("tol", 1e-10)
    close(out, REF[f"{p}/out"], "output", tol)
    for k in spec.get("after", []):
        close(tensors[k], REF[f"{p}/after_{k}"], f"{k} after the call (updated in place)")
    if spec.get("grad"):
        weighted(out, f"{p}/R").backward()
        for k in spec["grad"]:
            # PyTorch's hardsigmoid backward multiplies by 1/6 rounded to float32
            close(tensors[k].grad, REF[f"{p}/grad_{k}"], f"gradient of {k}", 1e-7 if "hardsigmoid" in name else tol)


# ---------------------------------------------------------------- BatchNorm / InstanceNorm against PyTorch
BN = cases("bn")


@pytest.mark.parametrize("name", sorted(BN))
def test_batchnorm_modules_match_pytorch(name, device):
    spec, p = BN[name], f"bn/{name}"
    m = load(getattr(nn, spec["cls"])(**spec["init"]), p, device)
    m.train()
    for step in range(2):
        x = T(REF[f"{p}/x{step}"], device, True)
        out = m(x)
        close(out, REF[f"{p}/out{step}"], f"training output, step {step}")
        m.zero_grad()
        weighted(out, f"{p}/R{step}").backward()
        close(x.grad, REF[f"{p}/grad_x{step}"], f"input gradient, step {step}")
        for k, prm in m.named_parameters():
            close(prm.grad, REF[f"{p}/pgrad{step}/{k}"], f"gradient of {k}, step {step}")
        buffers = dict(m.named_buffers())
        assert sorted(buffers) == sorted(k[len(f"{p}/buf{step}/"):] for k in REF.files
                                         if k.startswith(f"{p}/buf{step}/"))
        for k, b in buffers.items():
            close(b, REF[f"{p}/buf{step}/{k}"], f"buffer {k} after step {step}")
    if spec["cls"].startswith("BatchNorm") and m.track_running_stats:
        assert m.num_batches_tracked.dtype == tg.int64 and m.num_batches_tracked.item() == 2
    m.eval()
    close(m(T(REF[f"{p}/x_eval"], device)), REF[f"{p}/out_eval"], "evaluation output")


def test_batchnorm_layout_modes_and_errors():
    bn = nn.BatchNorm2d(3)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    x = tg.randn(4, 3, 2, 2) * 3 + 5
    bn.eval()                                                  # eval before any training: running stats 0 / 1
    np.testing.assert_allclose(bn(x).numpy(), x.numpy() / math.sqrt(1 + 1e-5), rtol=1e-6)
    assert bn.num_batches_tracked.item() == 0
    bn.train()
    y = bn(x).numpy()                                          # training: each channel normalised by the batch
    np.testing.assert_allclose(y.mean((0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var((0, 2, 3)), 1, atol=1e-3)
    bn.to(tg.float64)
    assert bn.running_mean.dtype == tg.float64 and bn.num_batches_tracked.dtype == tg.int64
    bn.reset_running_stats()
    assert bn.num_batches_tracked.item() == 0 and not bn.running_mean.numpy().any()
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input \(got 2D input of shape \(4, 3\)\)"):
        bn(tg.randn(4, 3))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 2D or 3D input \(got 4D"):
        nn.BatchNorm1d(3)(tg.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 5 channels \(num_features\), got 3"):
        nn.BatchNorm1d(5)(tg.randn(4, 3))
    with pytest.raises(ValueError, match="expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(tg.randn(1, 3))
    nn.BatchNorm1d(3).eval()(tg.randn(1, 3))                  # one sample is fine in eval
    off = nn.BatchNorm1d(3, track_running_stats=False).eval()
    assert off.running_mean is None and list(off.state_dict()) == ["weight", "bias"]
    np.testing.assert_allclose(off(x[:, :, 0, 0]).numpy().mean(0), 0, atol=1e-5)   # batch statistics even in eval


def test_batchnorm_cnn_trains_and_state_dict_round_trips(tmp_path):
    """A lecture-style CNN (Conv2d, BatchNorm2d, ReLU(inplace), MaxPool2d, Dropout, Linear) learns; its
    state_dict (with the running statistics) saves, loads into a fresh copy, and gives the same eval output."""
    tg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Dropout(0.1), nn.Linear(4 * 4 * 4, 2))
    x = tg.randn(16, 1, 8, 8)
    y = tg.tensor((x.numpy()[:, 0, :4].sum((1, 2)) > x.numpy()[:, 0, 4:].sum((1, 2))).astype(np.int64))
    opt = tg.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert model[1].num_batches_tracked.item() == 30
    tg.save(model.state_dict(), tmp_path / "cnn.pt")
    fresh = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Dropout(0.1), nn.Linear(4 * 4 * 4, 2))
    fresh.load_state_dict(tg.load(tmp_path / "cnn.pt"))
    model.eval(), fresh.eval()
    np.testing.assert_array_equal(model(x).numpy(), fresh(x).numpy())


# ---------------------------------------------------------------- recurrent layers against PyTorch
RNN = cases("rnn")


@pytest.mark.parametrize("name", sorted(RNN))
def test_recurrent_layers_match_pytorch(name, device):
    spec, p = RNN[name], f"rnn/{name}"
    m = load(getattr(nn, spec["cls"])(**spec["init"]), p, device)
    cell, lstm = spec["cls"].endswith("Cell"), spec["cls"].startswith("LSTM")
    x = T(REF[f"{p}/x"], device, True)
    leaves = {"x": x}
    states = [T(REF[f"{p}/h{i}"], device, True) for i in range(2) if f"{p}/h{i}" in REF.files]
    for i, s in enumerate(states):
        leaves[f"h{i}"] = s
    hx = (tuple(states) if lstm else states[0]) if states else None
    inp = x
    bf = spec["init"].get("batch_first", False)
    if spec.get("lengths"):
        inp = pack_padded_sequence(x, REF[f"{p}/lengths"], batch_first=bf, enforce_sorted=False)
    out = m(inp, hx)
    if cell:
        outs = list(out) if lstm else [out]
    else:
        seq, state = out
        if spec.get("lengths"):
            seq, lengths = pad_packed_sequence(seq, batch_first=bf)
            np.testing.assert_array_equal(lengths.numpy(), REF[f"{p}/lengths"])
        outs = [seq] + (list(state) if lstm else [state])
    loss = 0
    for i, o in enumerate(outs):
        close(o, REF[f"{p}/out{i}"], f"output {i}")
        loss = loss + weighted(o, f"{p}/R{i}")
    loss.backward()
    for k, t in leaves.items():
        close(t.grad, REF[f"{p}/grad_{k}"], f"gradient of {k}")
    for k, prm in m.named_parameters():
        close(prm.grad, REF[f"{p}/pgrad/{k}"], f"gradient of {k}")


def test_recurrent_layout_and_errors():
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    names = [n for n, _ in lstm.named_parameters()]
    assert names[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse"]
    assert lstm.weight_ih_l1.shape == (16, 8) and lstm.weight_hh_l0.shape == (16, 4)
    assert len(lstm.all_weights) == 4 and lstm.all_weights[1][0] is lstm.weight_ih_l0_reverse
    bound = 1 / math.sqrt(4)
    assert all(np.abs(p.numpy()).max() <= bound for p in lstm.parameters())
    lstm.flatten_parameters()                                  # accepted (nothing to flatten without cuDNN)
    out, (h, c) = lstm(tg.randn(5, 2, 3))
    assert out.shape == (5, 2, 8) and h.shape == c.shape == (4, 2, 4)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 3, got 7"):
        lstm(tg.randn(5, 2, 7))
    with pytest.raises(RuntimeError, match=r"expected hx\[0\] of size \(4, 2, 4\).*got \(4, 3, 4\)"):
        lstm(tg.randn(5, 2, 3), (tg.zeros(4, 3, 4), tg.zeros(4, 2, 4)))
    with pytest.raises(ValueError, match="GRU: expected input to be 2D or 3D, got 4D"):
        nn.GRU(3, 4)(tg.randn(1, 2, 3, 3))
    with pytest.raises(RuntimeError, match="for unbatched 2-D input, hx should be 2-D but got a 3-D tensor"):
        nn.GRU(3, 4)(tg.randn(2, 3), tg.zeros(1, 1, 4))
    with pytest.raises(RuntimeError, match="GRUCell: input has inconsistent input_size: got 5 expected 3"):
        nn.GRUCell(3, 4)(tg.randn(2, 5))
    with pytest.raises(ValueError, match="proj_size \\(4\\) has to be smaller than hidden_size \\(4\\)"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.5)


def test_recurrent_dropout_between_layers_only_in_training():
    tg.manual_seed(0)
    gru = nn.GRU(3, 4, num_layers=2, dropout=0.5)
    x = tg.randn(4, 2, 3)
    gru.eval()
    a, b = gru(x)[0].numpy(), gru(x)[0].numpy()
    np.testing.assert_array_equal(a, b)
    gru.train()
    assert not np.allclose(gru(x)[0].numpy(), a)               # dropout between the two layers
    one = nn.GRU(3, 4, num_layers=1)
    one.train()
    np.testing.assert_array_equal(one(x)[0].numpy(), one(x)[0].numpy())


def test_char_lstm_learns():
    """A makemore-style character model: Embedding -> LSTM(batch_first) -> Linear, trained on a repeating
    pattern, learns it (its loss falls well below uniform guessing)."""
    tg.manual_seed(0)
    text = "abcabcabdabcabcabd" * 4
    chars = sorted(set(text))
    ids = np.array([chars.index(ch) for ch in text])

    class CharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(len(chars), 8)
            self.rnn = nn.LSTM(8, 16, batch_first=True)
            self.head = nn.Linear(16, len(chars))

        def forward(self, idx, state=None):
            out, state = self.rnn(self.emb(idx), state)
            return self.head(out), state

    model = CharLSTM()
    opt = tg.optim.Adam(model.parameters(), lr=0.03)
    xs = tg.tensor(np.stack([ids[i:i + 12] for i in range(0, 48, 4)]))
    ys = tg.tensor(np.stack([ids[i + 1:i + 13] for i in range(0, 48, 4)]))
    for _ in range(60):
        logits, _ = model(xs)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), ys.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.35 * math.log(len(chars))


def test_rnn_utils_pad_and_pack():
    seqs = [tg.tensor([[1.0], [2.0], [3.0]]), tg.tensor([[4.0]]), tg.tensor([[5.0], [6.0]])]
    padded = pad_sequence(seqs, batch_first=True, padding_value=-1.0)
    assert padded.shape == (3, 3, 1)
    np.testing.assert_array_equal(padded.numpy()[..., 0], [[1, 2, 3], [4, -1, -1], [5, 6, -1]])
    left = pad_sequence(seqs, padding_side="left")
    np.testing.assert_array_equal(left.numpy()[:, 1, 0], [0, 0, 4])
    packed = pack_padded_sequence(padded, [3, 1, 2], batch_first=True, enforce_sorted=False)
    np.testing.assert_array_equal(packed.data.numpy()[:, 0], [1, 5, 4, 2, 6, 3])
    np.testing.assert_array_equal(packed.batch_sizes.numpy(), [3, 2, 1])
    back, lengths = pad_packed_sequence(packed, batch_first=True, padding_value=-1.0)
    np.testing.assert_array_equal(back.numpy(), padded.numpy())
    np.testing.assert_array_equal(lengths.numpy(), [3, 1, 2])
    assert [s.shape[0] for s in unpad_sequence(padded, lengths, batch_first=True)] == [3, 1, 2]
    assert [s.numpy().ravel().tolist() for s in unpack_sequence(pack_sequence(seqs, enforce_sorted=False))] == \
        [[1, 2, 3], [4], [5, 6]]
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order when `enforce_sorted` is True"):
        pack_padded_sequence(padded, [3, 1, 2], batch_first=True)
    assert nn.utils.rnn.PackedSequence is type(packed)


# ---------------------------------------------------------------- transformer layers against PyTorch
TFM = cases("tfm")


def _transformer(spec):
    init, kind = dict(spec["init"]), spec["kind"]
    if kind == "enc_layer":
        return nn.TransformerEncoderLayer(**init)
    if kind == "dec_layer":
        return nn.TransformerDecoderLayer(**init)
    if kind == "encoder":
        return nn.TransformerEncoder(nn.TransformerEncoderLayer(**init), spec["layers"], nn.LayerNorm(init["d_model"]))
    return nn.Transformer(**init)


@pytest.mark.parametrize("name", sorted(TFM))
def test_transformer_layers_match_pytorch(name, device):
    spec, p = TFM[name], f"tfm/{name}"
    m = load(_transformer(spec), p, device)
    src = T(REF[f"{p}/src"], device, True)
    leaves = {"src": src}
    mask = T(REF[f"{p}/mask"], device) if f"{p}/mask" in REF.files else None
    kpm = T(REF[f"{p}/kpm"], device) if f"{p}/kpm" in REF.files else None
    kind = spec["kind"]
    if kind == "enc_layer":
        out = m(src, src_mask=mask, src_key_padding_mask=kpm)
    elif kind == "encoder":
        out = m(src, mask=mask, src_key_padding_mask=kpm)
    else:
        tgt = leaves["tgt"] = T(REF[f"{p}/tgt"], device, True)
        if kind == "dec_layer":
            out = m(tgt, src, tgt_mask=mask, memory_key_padding_mask=kpm)
        else:
            out = m(src, tgt, tgt_mask=mask, src_key_padding_mask=kpm, memory_key_padding_mask=kpm)
    close(out, REF[f"{p}/out"], "output")
    weighted(out, f"{p}/R").backward()
    for k, t in leaves.items():
        close(t.grad, REF[f"{p}/grad_{k}"], f"gradient of {k}")
    for k, prm in m.named_parameters():
        close(prm.grad, REF[f"{p}/pgrad/{k}"], f"gradient of {k}")


def test_transformer_encoder_copies_and_mask():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    enc = nn.TransformerEncoder(layer, 3, enable_nested_tensor=False)
    assert len(enc.layers) == 3 and enc.layers[0] is not layer
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    np.testing.assert_array_equal(enc.layers[0].linear1.weight.numpy(), enc.layers[2].linear1.weight.numpy())
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(mask.numpy(), np.triu(np.full((4, 4), -np.inf), 1))
    x = tg.randn(2, 4, 8)
    out = enc(x, mask=mask)
    changed = x.numpy().copy()
    changed[:, -1] += 1                                        # the future never changes the past under the mask
    np.testing.assert_allclose(enc(tg.tensor(changed), mask=mask).numpy()[:, :-1], out.numpy()[:, :-1], atol=1e-6)
    t = nn.Transformer(16, 2, 1, 1, 32)
    assert all(np.abs(p.numpy()).max() <= math.sqrt(6 / sum(p.shape[:2])) for p in t.parameters() if p.ndim > 1)
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal to d_model"):
        t(tg.randn(3, 2, 8), tg.randn(3, 2, 8))


# ---------------------------------------------------------------- layers with state against PyTorch
MOD = cases("mod")


@pytest.mark.parametrize("name", sorted(MOD))
def test_modules_match_pytorch(name, device):
    spec, p = MOD[name], f"mod/{name}"
    m = load(eval(spec["expr"], {"nn": nn}), p, device)
    x = T(REF[f"{p}/x"], device, True)
    out = m(x, **spec.get("fwd", {}))
    close(out, REF[f"{p}/out"], "output")
    weighted(out, f"{p}/R").backward()
    close(x.grad, REF[f"{p}/grad_x"], "input gradient")
    for k, prm in m.named_parameters():
        close(prm.grad, REF[f"{p}/pgrad/{k}"], f"gradient of {k}")


REPRS = json.loads(str(REF["reprs"]))
SHAPES = json.loads(str(REF["state_shapes"]))


@pytest.mark.parametrize("expr", sorted(REPRS))
def test_modules_print_and_hold_state_as_pytorch(expr):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = eval(expr, {"nn": nn})
    assert repr(m) == REPRS[expr]
    assert {k: list(v.shape) for k, v in m.state_dict().items()} == SHAPES[expr]


def test_conv_and_pool_errors_name_the_layer_and_shapes():
    conv = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"conv2d: given groups=1, weight of size \(8, 3, 3, 3\), expected input of "
                                         r"shape \(2, 4, 10, 10\) to have 3 channels, but got 4"):
        conv(tg.randn(2, 4, 10, 10))
    with pytest.raises(ValueError, match=r"conv2d: the padded input size per channel \(2, 2\) is smaller than the "
                                         r"\(dilated\) kernel \(3, 3\)"):
        conv(tg.randn(1, 3, 2, 2))
    with pytest.raises(ValueError, match="conv2d: expected a 3-D \\(unbatched\\) or 4-D \\(batched\\) input"):
        conv(tg.randn(3, 10))
    with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
        nn.Conv1d(2, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"in_channels \(3\) and out_channels \(4\) must both be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="max_pool2d: padding \\(2, 2\\) should be at most half"):
        F.max_pool2d(tg.randn(1, 1, 5, 5), 3, padding=2)
    with pytest.raises(ValueError, match="ConvTranspose2d: requested an output size of \\(20, 20\\)"):
        nn.ConvTranspose2d(2, 2, 3, stride=2)(tg.randn(1, 2, 4, 4), output_size=(20, 20))
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.interpolate(tg.randn(1, 1, 2, 2), scale_factor=2, mode="bicubic")


def test_conv_initialisation_is_pytorchs():
    tg.manual_seed(0)
    conv = nn.Conv2d(4, 64, (3, 5), groups=2)
    bound = 1 / math.sqrt(2 * 15)                              # fan_in = in_channels / groups * kernel area
    w = conv.weight.numpy()
    assert conv.weight.shape == (64, 2, 3, 5) and np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert np.abs(conv.bias.numpy()).max() <= bound
    convt = nn.ConvTranspose2d(4, 6, 3, groups=2)
    assert convt.weight.shape == (4, 3, 3, 3) and np.abs(convt.weight.numpy()).max() <= 1 / math.sqrt(3 * 9)


# ---------------------------------------------------------------- behaviour PyTorch programs rely on
def test_inplace_activations_write_into_their_input():
    x = tg.tensor([-1.0, 2.0])
    y = nn.ReLU(inplace=True)(x)
    assert y is x and x.tolist() == [0.0, 2.0]
    z = tg.tensor([-2.0, 2.0])
    F.leaky_relu_(z, 0.5)
    assert z.tolist() == [-1.0, 2.0]
    a = tg.randn(3, requires_grad=True)
    h = a * 2
    out = nn.ReLU(inplace=True)(h)                             # inside a graph: the result is recorded
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), 2.0 * (a.numpy() > 0))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.elu(tg.randn(3, requires_grad=True), inplace=True)


def test_loss_shape_rules_and_messages():
    p = tg.rand(4, 1) * 0.9 + 0.05
    with pytest.raises(ValueError, match=r"Using a target size \(4,\) that is different to the input size \(4, 1\)"):
        nn.BCELoss()(p, tg.ones(4))
    with pytest.raises(ValueError, match=r"Target size \(4,\) must be the same as input size \(4, 1\)"):
        nn.BCEWithLogitsLoss()(p, tg.ones(4))
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(p * 3, tg.ones(4, 1))
    with pytest.warns(UserWarning, match="different to the input size"):
        nn.L1Loss()(p, tg.ones(4))
    with pytest.warns(UserWarning, match="different to the input size"):
        nn.MSELoss()(p, tg.ones(4))
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        nn.KLDivLoss()(tg.zeros(2, 3), tg.ones(2, 3) / 3)
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"
    crit = nn.BCEWithLogitsLoss(pos_weight=tg.tensor([2.0, 1.0]))
    assert list(crit.state_dict()) == ["pos_weight"]
    loss = crit(tg.zeros(3, 2), tg.ones(3, 2))
    np.testing.assert_allclose(loss.item(), 1.5 * math.log(2), rtol=1e-6)
    assert nn.HuberLoss(delta=2.0)(tg.tensor([0.0]), tg.tensor([3.0])).item() == pytest.approx(2 * (3 - 1))
    assert nn.TripletMarginLoss()(tg.zeros(1, 2), tg.zeros(1, 2), tg.ones(1, 2) * 5).item() == 0.0


def test_feature_dropout_and_rrelu():
    tg.manual_seed(0)
    x = tg.ones(8, 16, 3, 3)
    y = nn.Dropout2d(0.5)(x).numpy()
    per_map = y.reshape(8, 16, 9)
    assert ((per_map == 0).all(-1) | (per_map == 2).all(-1)).all()          # whole maps dropped, the rest doubled
    assert 0.25 < (per_map[..., 0] == 0).mean() < 0.75
    np.testing.assert_array_equal(nn.Dropout2d(0.5).eval()(x).numpy(), x.numpy())
    r = nn.RReLU(0.1, 0.3)
    neg = -tg.ones(1000)
    slopes = -r(neg).numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    r.eval()
    np.testing.assert_allclose(r(neg).numpy(), -0.2)


def test_upsample_pixel_shuffle_and_padding_layers():
    x = tg.arange(6.0).reshape(1, 1, 2, 3)
    up = nn.Upsample(scale_factor=2)(x).numpy()[0, 0]
    np.testing.assert_array_equal(up, np.repeat(np.repeat(x.numpy()[0, 0], 2, 0), 2, 1))
    ps = nn.PixelShuffle(2)
    z = tg.randn(2, 8, 3, 3)
    np.testing.assert_array_equal(nn.PixelUnshuffle(2)(ps(z)).numpy(), z.numpy())
    np.testing.assert_array_equal(nn.ZeroPad2d((1, 0, 0, 2))(x).numpy()[0, 0], np.pad(x.numpy()[0, 0], ((0, 2), (1, 0))))
    with pytest.raises(ValueError, match=r"ReflectionPad2d: padding must be an int or a tuple of 4 ints"):
        nn.ReflectionPad2d((1, 2))


def test_module_extras():
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    assert m.share_memory() is m
    assert m.type(tg.float64) is m and m[0].weight.dtype == tg.float64
    m.set_submodule("1", nn.Tanh())
    assert isinstance(m[1], nn.Tanh)
    assert m.compile() is None                                 # compiles in place in PyTorch: eager here
    seen = []
    h = m.register_full_backward_hook(lambda mod, gin, gout: seen.append((gin[0].shape, gout[0].shape)))
    x = tg.randn(4, 2, dtype=tg.float64, requires_grad=True)
    m(x).sum().backward()
    assert seen == [((4, 2), (4, 3))]
    h.remove()
    pre = []
    m.register_full_backward_pre_hook(lambda mod, gout: pre.append(gout[0].shape))
    m(x).sum().backward()
    assert pre == [(4, 3)] and len(seen) == 1


# ---------------------------------------------------------------- gradchecks over drawn shapes
def _sample(shape, seed, kind="any"):
    rng = np.random.default_rng(seed)
    if kind == "away0":                        # away from the kinks at 0, +-1, +-3, +-0.5 (and exact ties)
        x = rng.uniform(0.1, 0.4, shape) + rng.integers(0, 4, shape) * 0.5
        return x * rng.choice([-1, 1], shape)
    if kind == "prob":
        return rng.uniform(0.05, 0.95, shape)
    if kind == "positive":
        return rng.uniform(0.3, 2.0, shape)
    return rng.standard_normal(shape)


SMOOTH = {"leaky_relu": {}, "elu": {"alpha": 0.7}, "selu": {}, "celu": {"alpha": 1.5}, "softplus": {"beta": 2.0},
          "mish": {}, "hardtanh": {"min_val": -1.1, "max_val": 1.2}, "relu6": {}, "logsigmoid": {},
          "softsign": {}, "tanhshrink": {}, "softshrink": {"lambd": 0.3}, "hardsigmoid": {}, "hardswish": {},
          "softmin": {"dim": -1}, "silu": {}, "glu": {"dim": -1}}


@given(st.sampled_from(sorted(SMOOTH)), st.lists(st.integers(1, 3), min_size=1, max_size=3),
       st.integers(0, 2**31))
def test_activation_gradcheck(name, shape, seed):
    if name == "glu":
        shape[-1] *= 2
    x = tg.tensor(_sample(shape, seed, "away0"), requires_grad=True)
    tg.gradcheck(lambda t: getattr(F, name)(t, **SMOOTH[name]), x)


LOSSES = {
    "binary_cross_entropy": ("prob", "prob"), "binary_cross_entropy_with_logits": ("any", "prob"),
    "l1_loss": ("away0", "zeros"), "smooth_l1_loss": ("away0", "zeros"), "huber_loss": ("away0", "zeros"),
    "kl_div": ("any", "prob"), "soft_margin_loss": ("any", "sign"), "poisson_nll_loss": ("any", "positive"),
    "multilabel_soft_margin_loss": ("any", "prob"),
}


@given(st.sampled_from(sorted(LOSSES)), st.sampled_from(["mean", "sum", "none"]),
       st.lists(st.integers(1, 3), min_size=1, max_size=3), st.integers(0, 2**31))
def test_loss_gradcheck(name, reduction, shape, seed):
    kx, ky = LOSSES[name]
    x = tg.tensor(_sample(shape, seed, kx), requires_grad=True)
    rng = np.random.default_rng(seed + 1)
    y = np.zeros(shape) if ky == "zeros" else np.where(rng.random(shape) < 0.5, -1.0, 1.0) if ky == "sign" \
        else _sample(shape, seed + 1, ky)
    target = tg.tensor(y, requires_grad=name in ("binary_cross_entropy_with_logits", "kl_div"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if target.requires_grad:
            tg.gradcheck(lambda a, b: getattr(F, name)(a, b, reduction=reduction), x, target)
        else:
            tg.gradcheck(lambda a: getattr(F, name)(a, target, reduction=reduction), x)


@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 2),
       st.integers(0, 2), st.integers(1, 2), st.booleans(), st.integers(0, 2), st.integers(0, 2**31))
def test_conv2d_gradcheck(n, c_in, c_out, k, stride, padding, dilation, grouped, extra, seed):
    groups = math.gcd(c_in, c_out) if grouped else 1
    size = dilation * (k - 1) + 1 + extra
    rng = np.random.default_rng(seed)
    x = tg.tensor(rng.standard_normal((n, c_in, size, size + 1)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((c_out, c_in // groups, k, k)), requires_grad=True)
    b = tg.tensor(rng.standard_normal(c_out), requires_grad=True)
    tg.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups), x, w, b)
    wt = tg.tensor(rng.standard_normal((c_in, c_out // groups, k, k)), requires_grad=True)
    tg.gradcheck(lambda x, w: F.conv_transpose2d(x, w, None, stride, 0, 0, groups, dilation), x, wt)


@given(st.lists(st.integers(2, 5), min_size=1, max_size=3), st.integers(1, 3), st.booleans(), st.integers(0, 2**31))
def test_pool_and_resize_gradcheck(spatial, k, ceil_mode, seed):
    nd = len(spatial)
    x = tg.tensor(_sample((2, 2, *spatial), seed, "any"), requires_grad=True)
    k = min(k, *spatial)
    pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[nd - 1]
    mpool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[nd - 1]
    adaptive = (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d)[nd - 1]
    tg.gradcheck(lambda t: pool(t, k, 1, k // 2, ceil_mode=ceil_mode), x)
    tg.gradcheck(lambda t: mpool(t, k, 1, k // 2, ceil_mode=ceil_mode), x)   # distinct values: no ties
    tg.gradcheck(lambda t: adaptive(t, [max(1, s - 1) for s in spatial]), x)
    mode = ("linear", "bilinear", "trilinear")[nd - 1]
    tg.gradcheck(lambda t: F.interpolate(t, scale_factor=1.5, mode=mode, align_corners=ceil_mode), x)


@given(st.sampled_from(["BatchNorm", "InstanceNorm"]), st.integers(2, 3), st.integers(1, 3), st.integers(2, 4),
       st.booleans(), st.integers(0, 2**31))
def test_batch_and_instance_norm_gradcheck(kind, n, c, length, affine, seed):
    rng = np.random.default_rng(seed)
    x = tg.tensor(rng.standard_normal((n, c, length)), requires_grad=True)
    w = tg.tensor(rng.uniform(0.5, 1.5, c), requires_grad=True)
    b = tg.tensor(rng.standard_normal(c), requires_grad=True)
    fn = F.batch_norm if kind == "BatchNorm" else F.instance_norm
    if kind == "BatchNorm":
        tg.gradcheck(lambda x, w, b: fn(x, None, None, w if affine else None, b if affine else None, True), x, w, b)
    else:
        tg.gradcheck(lambda x, w, b: fn(x, weight=w if affine else None, bias=b if affine else None), x, w, b)


@given(st.sampled_from(["RNN", "LSTM", "GRU"]), st.integers(1, 3), st.integers(1, 2), st.integers(1, 2),
       st.booleans(), st.booleans(), st.integers(0, 2**31))
def test_recurrent_gradcheck(kind, steps, batch, layers, bidirectional, packed, seed):
    """Every input, initial state and weight, with packed batches of unequal lengths too."""
    tg.manual_seed(seed % 1000)
    m = getattr(nn, kind)(2, 3, num_layers=layers, bidirectional=bidirectional).double()
    names = [nm for nm, _ in m.named_parameters()]
    rng = np.random.default_rng(seed)
    x = tg.tensor(rng.standard_normal((steps, batch, 2)), requires_grad=True)
    d = layers * (2 if bidirectional else 1)
    h0 = tg.tensor(rng.standard_normal((d, batch, 3)) * 0.5, requires_grad=True)
    lengths = rng.integers(1, steps + 1, batch) if packed else None

    def fn(x, h0, *params):
        for nm, prm in zip(names, params):
            m._parameters[nm] = prm
        inp = pack_padded_sequence(x, lengths, enforce_sorted=False) if packed else x
        out, h = m(inp, (h0, h0 * 0.5) if kind == "LSTM" else h0)
        out = pad_packed_sequence(out)[0] if packed else out
        return (out, *h) if kind == "LSTM" else (out, h)

    params = [tg.tensor(p.data, requires_grad=True) for p in m.parameters()]
    tg.gradcheck(fn, x, h0, *params)


@given(st.sampled_from(["normalize", "cosine_similarity", "pairwise_distance"]), st.sampled_from([1.0, 2.0, 3.0]),
       st.integers(1, 3), st.integers(1, 4), st.integers(0, 2**31))
def test_distance_gradcheck(name, p, rows, cols, seed):
    rng = np.random.default_rng(seed)
    a = tg.tensor(rng.standard_normal((rows, cols)) + 0.1, requires_grad=True)
    b = tg.tensor(rng.standard_normal((rows, cols)) + 0.1, requires_grad=True)
    if name == "normalize":
        tg.gradcheck(lambda a: F.normalize(a, p=p if p != 1.0 else 2.0, dim=-1), a)
    elif name == "cosine_similarity":
        tg.gradcheck(lambda a, b: F.cosine_similarity(a, b, dim=-1), a, b)
    else:
        tg.gradcheck(lambda a, b: F.pairwise_distance(a, b, p=p if p != 1.0 else 2.0), a, b)


def test_transformer_encoder_layer_gradcheck():
    tg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, batch_first=True, norm_first=True,
                                       activation="gelu").double()
    x = tg.tensor(np.random.default_rng(0).standard_normal((2, 3, 4)), requires_grad=True)
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=tg.float64)
    tg.gradcheck(lambda x: layer(x, src_mask=mask), x)


def test_deepcopy_of_layers_with_buffers():
    bn = nn.BatchNorm1d(3)
    bn(tg.randn(4, 3))
    c = copy.deepcopy(bn)
    assert c.running_mean is not bn.running_mean
    np.testing.assert_array_equal(c.running_mean.numpy(), bn.running_mean.numpy())
    assert c.num_batches_tracked.item() == 1


def test_dcgan_style_init_through_data_and_pretrained_embeddings():
    """DCGAN's weights_init passes ``m.weight.data`` (the array here) to nn.init: the parameter gets the values."""
    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif classname.find("BatchNorm") != -1:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    tg.manual_seed(0)
    net = nn.Sequential(nn.ConvTranspose2d(16, 8, 4, 1, 0, bias=False), nn.BatchNorm2d(8), nn.ReLU(True),
                        nn.ConvTranspose2d(8, 1, 4, 2, 1, bias=False), nn.Tanh())
    net.apply(weights_init)
    w = net[0].weight.numpy()
    assert abs(w.std() - 0.02) < 0.003 and abs(net[1].weight.numpy().mean() - 1) < 0.05
    assert not net[1].bias.numpy().any()
    assert net(tg.randn(2, 16, 1, 1)).shape == (2, 1, 8, 8)
    with pytest.raises(TypeError, match="nn.init.normal_: expected a Tensor to fill, got list"):
        nn.init.normal_([1.0, 2.0])
    vectors = tg.randn(5, 3)
    emb = nn.Embedding.from_pretrained(vectors)
    assert not emb.weight.requires_grad and repr(emb) == "Embedding(5, 3)"
    np.testing.assert_array_equal(emb(tg.tensor([4, 0])).numpy(), vectors.numpy()[[4, 0]])
    assert nn.Embedding.from_pretrained(vectors, freeze=False, padding_idx=0).weight.requires_grad
    with pytest.raises(RuntimeError, match=r"LSTM: hx must be a pair \(h_0, c_0\), got Tensor"):
        nn.LSTM(2, 3)(tg.randn(4, 1, 2), tg.zeros(1, 1, 3))
    with pytest.raises(AttributeError, match="torch.nn.utils.weight_norm"):
        nn.utils.weight_norm  # noqa: B018


def test_gumbel_softmax_samples_the_softmax():
    tg.manual_seed(0)
    logits = tg.tensor(np.log([[0.6, 0.3, 0.1]]).repeat(4000, 0), requires_grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.numpy().sum(-1), 1, rtol=1e-6)
    hard = F.gumbel_softmax(logits, hard=True)
    h = hard.numpy()
    assert set(np.unique(h)) <= {0.0, 1.0} and (h.sum(-1) == 1).all()
    np.testing.assert_allclose(h.mean(0), [0.6, 0.3, 0.1], atol=0.03)       # samples follow softmax(logits)
    (hard * tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64)).sum().backward()
    assert np.abs(logits.grad.numpy()).sum() > 0                             # the soft sample's gradient
