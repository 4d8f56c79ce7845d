"""Mixed precision: autocast's dtype policy, GradScaler's rules, why loss scaling is needed, and fp16
training in the Trainer (learning, skipped overflow steps, bit-for-bit resume)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tinygrad_tf as tg
from tinygrad_tf import nn
from tinygrad_tf.nn.models import GPT, GPTConfig
from tinygrad_tf.train import TrainConfig, Trainer, train
from tinygrad_tf.train import checkpoint as ckpt

TEXT = ("def f(x):\n    return x + 1\n\nThe quick brown fox jumps over the lazy dog. " * 40
        + "class A:\n    pass\n" * 20)


def tiny_gpt():
    tg.manual_seed(0)
    return GPT(GPTConfig(vocab_size=32, context_length=16, d_model=32, n_layer=2, n_head=4, dropout=0.0))


def test_autocast_runs_products_in_float16_and_keeps_the_rest_float32():
    lin, norm = nn.Linear(8, 4), nn.LayerNorm(4)
    x = tg.randn(2, 8)
    with nn.autocast():
        y = lin(x)
        z = norm(y)
        q = tg.randn(2, 3, 4)
        out, w = nn.functional.attention(q, q, q)
        loss = nn.functional.cross_entropy(y, tg.tensor([0, 3]))
    assert y.dtype == np.float16 and z.dtype == np.float32 and out.dtype == np.float16
    assert w.dtype == np.float32 and loss.dtype == np.float32
    assert lin.weight.dtype == np.float32 and nn.amp.autocast_dtype() is None    # weights untouched; state restored
    assert lin(x).dtype == np.float32                                            # outside: float32 again


def test_fp16_gradients_reach_float32_weights_and_match_fp32():
    model = tiny_gpt()
    ids = tg.randint(0, 32, (2, 12))
    model(ids, labels=ids).loss.backward()
    ref = {n: p.grad.numpy().copy() for n, p in model.named_parameters()}
    model.zero_grad()
    scaler = nn.GradScaler()
    with nn.autocast():
        loss = model(ids, labels=ids).loss
    scaler.scale(loss).backward()
    opt = tg.optim.AdamW(model.parameters(), lr=1e-3)
    scaler.unscale_(opt)
    assert not scaler.found_inf
    for n, p in model.named_parameters():
        assert p.grad.dtype == np.float32, n
        if "k_proj.bias" in n:            # exactly zero in exact arithmetic (softmax ignores a per-row shift)
            continue
        np.testing.assert_allclose(p.grad.numpy(), ref[n], atol=2e-3 * np.abs(ref[n]).max(), err_msg=n)


def test_loss_scaling_rescues_gradients_that_underflow_in_float16():
    """dL/dy = 1e-8 is below float16's smallest subnormal (6e-8): unscaled, the weight's gradient is 0.
    (The loss itself is float32, as cross-entropy's is under autocast.)"""
    def weight_grad(scaler):
        lin = nn.Linear(4, 4, bias=False)
        with tg.no_grad():
            lin.weight.data[...] = 0.5
        with nn.autocast():
            loss = lin(tg.ones(1, 4)).float().sum() * 1e-8
        scaler.scale(loss).backward()
        opt = tg.optim.SGD(lin.parameters(), lr=0.1)
        scaler.unscale_(opt)
        return lin.weight.grad.numpy()
    assert np.all(weight_grad(nn.GradScaler(enabled=False)) == 0)         # flushed to zero
    np.testing.assert_allclose(weight_grad(nn.GradScaler()), 1e-8, rtol=1e-2)   # 65536 x lifts it into range


def test_grad_scaler_skips_overflowing_steps_backs_off_and_grows():
    p = nn.Parameter(tg.ones(3).data)
    opt = tg.optim.SGD([p], lr=1.0)
    s = nn.GradScaler(init_scale=8.0, growth_interval=2)
    for grad, stepped, scale in [(np.inf, False, 4.0), (1.0, True, 4.0), (1.0, True, 8.0), (np.nan, False, 4.0)]:
        p.grad = tg.tensor(np.full(3, grad * s.get_scale(), dtype=np.float32))
        before = p.numpy().copy()
        assert s.step(opt) is stepped
        assert np.array_equal(p.numpy(), before) != stepped
        s.update()
        assert s.get_scale() == scale
    assert s.skipped_steps == 2
    state = s.state_dict()
    t = nn.GradScaler()
    t.load_state_dict(json.loads(json.dumps(state)))
    assert t.state_dict() == state
    off = nn.GradScaler(enabled=False)
    loss = tg.tensor(2.0)
    assert off.scale(loss) is loss and off.get_scale() == 1.0
    with pytest.raises(ValueError, match="growth_factor"):
        nn.GradScaler(growth_factor=0.5)


def config(tmp_path, **kw):
    data = tmp_path / "data.txt"
    data.write_text(TEXT, encoding="utf-8")
    base = dict(preset="tiny", context_length=16, data=str(data), steps=8, batch_size=4, warmup_steps=2,
                eval_interval=4, eval_iters=2, dropout=0.1, lr=3e-3, precision="fp16")
    return TrainConfig(**{**base, **kw})


def test_fp16_training_learns_and_resumes_bit_for_bit(tmp_path):
    straight = train(config(tmp_path, out_dir=str(tmp_path / "a"), steps=40, eval_interval=20), show_progress=False)
    assert straight[-1]["val_loss"] < straight[0]["loss"] - 0.5
    assert all(r["loss_scale"] == 65536.0 and r["skipped"] is False for r in straight)

    def stop_at_15(rec):
        if rec["step"] == 15:
            raise KeyboardInterrupt
    train(config(tmp_path, out_dir=str(tmp_path / "b"), steps=40, eval_interval=20), callbacks=[stop_at_15],
          show_progress=False)
    state = json.loads((tmp_path / "b" / ckpt.STATE_FILE).read_text())
    assert state["grad_scaler"]["scale"] == 65536.0 and state["grad_scaler"]["growth_tracker"] == 15
    resumed = train(resume=str(tmp_path / "b"), show_progress=False)
    assert [r["loss"] for r in resumed] == [r["loss"] for r in straight]


def test_an_overflow_in_training_is_skipped_and_the_scale_halves(tmp_path):
    t = Trainer(config(tmp_path, steps=3), show_progress=False)
    t.scaler.scale_value = 2.0 ** 40                       # scaled gradients overflow float16
    before = [p.numpy().copy() for p in t.model.parameters()]
    rec = t.train_step()
    assert rec["skipped"] and rec["loss_scale"] == 2.0 ** 40 and t.scaler.get_scale() == 2.0 ** 39
    assert all(np.array_equal(a, p.numpy()) for a, p in zip(before, t.model.parameters()))   # weights untouched
    assert np.isfinite(rec["loss"])


def test_precision_is_checked():
    with pytest.raises(tg.nn.models.ConfigError, match="precision must be 'fp32' or 'fp16'"):
        TrainConfig(precision="bf16")
