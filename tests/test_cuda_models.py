"""Everything above the engine on device="cuda": models, training, checkpoints, generation, Hugging Face
export, the viz readouts, the CLI and examples/15 -- run twice:

* on real CuPy with a GPU (skipped, with the reason, where there is none), and
* on tests/cupy_standin.py, a host-memory stand-in that keeps CuPy's rules (no implicit conversion to
  NumPy, no host arrays mixed into device operations, 0-d reductions, wrapped indices, its own random
  stream). The stand-in checks the device plumbing on every machine, CI included; it is not a GPU run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

import tinygrad_tf as tg
from tinygrad_tf import kernels_cpu, opcheck, viz
from tinygrad_tf.nn.models import BERT, GPT, T5, BertConfig, GPTConfig, T5Config, load_hf, save_hf
from tinygrad_tf.nn.utils import clip_grad_norm_
from tinygrad_tf.optim import SGD, Adam, AdamW
from tinygrad_tf.train import TrainConfig, Trainer, load_checkpoint

ROOT = Path(__file__).resolve().parent.parent
TEXT = ("def f(x):\n    return x + 1\n\nThe quick brown fox jumps over the lazy dog. " * 40
        + "class A:\n    pass\n" * 20)


def render(obj) -> str:
    console = Console(file=__import__("io").StringIO(), width=120, color_system=None)
    console.print(obj)
    return console.file.getvalue()


def tiny_gpt(**kw):
    cfg = GPTConfig(vocab_size=40, context_length=16, d_model=32, n_layer=2, n_head=4, dropout=0.0, **kw)
    return GPT(cfg)


def test_gpt_forward_backward_matches_cpu(cuda):
    tg.manual_seed(0)
    model = tiny_gpt(position="rope", norm="rmsnorm", activation="swiglu")
    ids = np.random.default_rng(0).integers(0, 40, (2, 12))
    out_cpu = model(tg.tensor(ids), labels=tg.tensor(ids))
    out_cpu.loss.backward()
    grads_cpu = {n: p.grad.numpy() for n, p in model.named_parameters()}
    model.zero_grad()
    model.to("cuda")
    assert all(p.device == "cuda" for p in model.parameters())
    out = model(tg.tensor(ids, device="cuda"), labels=tg.tensor(ids, device="cuda"))
    out.loss.backward()
    assert out.logits.device == "cuda" and out.loss.device == "cuda"
    np.testing.assert_allclose(out.logits.numpy(), out_cpu.logits.numpy(), rtol=1e-4, atol=1e-5)
    for n, p in model.named_parameters():
        assert p.grad.device == "cuda", n
        np.testing.assert_allclose(p.grad.numpy(), grads_cpu[n], rtol=1e-3, atol=1e-5, err_msg=n)


@pytest.mark.parametrize("position", ["learned", "alibi", "sinusoidal"])
def test_gpt_generate_cached_equals_uncached(cuda, position):
    tg.manual_seed(1)
    model = tiny_gpt(position=position).to("cuda")
    prompt = tg.tensor([[1, 2, 3]], device="cuda")
    a = model.generate(prompt, max_new_tokens=6, temperature=0)
    b = model.generate(prompt, max_new_tokens=6, temperature=0, use_cache=False)
    assert a.device == "cuda"
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    tg.manual_seed(2)
    s = model.generate(prompt, max_new_tokens=5, temperature=0.8, top_k=5, top_p=0.9)
    assert s.shape == (1, 8) and s.device == "cuda"


@pytest.mark.parametrize("opt", [SGD, Adam, AdamW])
def test_optimizers_and_clipping_match_cpu(cuda, opt):
    def run(device):
        tg.manual_seed(3)
        model = tiny_gpt().to(device)
        o = opt(model.parameters(), lr=1e-2)
        ids = tg.tensor(np.arange(24).reshape(2, 12) % 40, device=device)
        for _ in range(3):
            model(ids, labels=ids).loss.backward()
            norm = clip_grad_norm_(model.parameters(), 0.5)
            o.step()
            o.zero_grad()
        return float(norm), [p.numpy() for p in model.parameters()]
    # The CPU reference runs the NumPy formulas, as the GPU does, not the CPU's compiled loops (kernels_cpu): the
    # key projections' biases have a gradient of exactly 0 (softmax ignores a shift of a whole row), so theirs is
    # rounding noise (~1e-11), which Adam scales up to steps of ~lr -- equal only where the arithmetic is.
    before = kernels_cpu.set_enabled(False)
    try:
        n_cpu, p_cpu = run("cpu")
    finally:
        kernels_cpu.set_enabled(before)
    n_gpu, p_gpu = run("cuda")
    assert n_gpu == pytest.approx(n_cpu, rel=1e-4)
    for a, b in zip(p_gpu, p_cpu):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_bert_mlm_and_t5_generate(cuda):
    tg.manual_seed(4)
    bert = BERT(BertConfig(vocab_size=50, context_length=16, d_model=32, n_layer=2, n_head=4, dropout=0.0)).to("cuda")
    ids = tg.tensor([[2, 5, 7, 9, 3]], device="cuda")
    out = bert(ids, attention_mask=tg.tensor([[1, 1, 1, 1, 0]], device="cuda"), labels=ids,
               output_attentions=True)
    out.loss.backward()
    assert out.logits.device == "cuda" and np.isfinite(out.loss.item())
    grads = [p.grad for p in bert.parameters() if p.grad is not None]
    assert len(grads) > 10 and all(g.device == "cuda" for g in grads)
    t5 = T5(T5Config(vocab_size=30, d_model=32, n_layer=2, n_head=4, d_ff=64, dropout=0.0)).to("cuda")
    src = tg.tensor([[4, 5, 6, 1]], device="cuda")
    loss = t5(src, labels=tg.tensor([[6, 5, 4, 1]], device="cuda")).loss
    loss.backward()
    gen = t5.generate(src, max_new_tokens=5, temperature=0)
    gen_nocache = t5.generate(src, max_new_tokens=5, temperature=0, use_cache=False)
    assert gen.device == "cuda"
    np.testing.assert_array_equal(gen.numpy(), gen_nocache.numpy())


def test_trainer_on_cuda_checkpoints_resume_and_loads_on_cpu(cuda, tmp_path):
    data = tmp_path / "data.txt"
    data.write_text(TEXT, encoding="utf-8")
    cfg = dict(preset="tiny", context_length=16, data=str(data), steps=6, batch_size=4, warmup_steps=2,
               eval_interval=3, eval_iters=2, dropout=0.0, lr=3e-3, device="cuda")
    out = tmp_path / "run"
    trainer = Trainer(TrainConfig(**cfg, out_dir=str(out)), show_progress=False)
    history = trainer.run()
    assert len(history) == 6 and all(np.isfinite(r["loss"]) for r in history)
    assert all(isinstance(r["loss"], float) for r in history)
    json.dumps(history)                                     # the history is plain Python, not device arrays
    assert (out / "model.safetensors").exists()
    again = Trainer.from_checkpoint(out, {"steps": 8}, show_progress=False)
    assert again.step == 6
    again.run()
    ck = load_checkpoint(out, device="cpu")
    assert all(p.device == "cpu" for p in ck.model.parameters())
    ck_gpu = load_checkpoint(out, device="cuda")
    ids = tg.tensor([[1, 2, 3]])
    with tg.no_grad():
        np.testing.assert_allclose(ck_gpu.model(ids.cuda()).logits.numpy(), ck.model(ids).logits.numpy(),
                                   rtol=1e-4, atol=1e-5)


def test_save_hf_and_native_save_from_cuda(cuda, tmp_path):
    tg.manual_seed(5)
    model = tiny_gpt().to("cuda")
    save_hf(model, tmp_path / "hf")
    back = load_hf(tmp_path / "hf")
    model.save(tmp_path / "native")
    native = tg.nn.models.load(tmp_path / "native", device="cuda")
    ids = tg.tensor([[3, 1, 4, 1, 5]])
    with tg.no_grad():
        ref = back(ids).logits.numpy()
        np.testing.assert_allclose(model(ids.cuda()).logits.numpy(), ref, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(native(ids.cuda()).logits.numpy(), ref, rtol=1e-4, atol=1e-5)


def test_viz_readouts_of_a_cuda_model(cuda, tmp_path):
    tg.manual_seed(6)
    model = tiny_gpt().to("cuda")
    ids = tg.tensor([[1, 2, 3, 4, 5, 6]], device="cuda")
    maps = viz.attention_maps(model, ids)
    assert "layer 0 · head 0" in render(maps.heatmap(0, 0))
    assert "2 layers × 4 heads" in render(maps.overview())
    assert "per-head analysis" in render(maps.analysis())
    assert "rollout" in render(maps.rollout())
    assert len(json.loads(maps.to_json(layout="web"))) == 2 * 4            # one record per head: plain JSON
    with viz.trace(model):
        loss = model(ids, labels=ids).loss
    loss.backward()
    assert "cuda" in draw_source(loss, model)
    table = viz.grad_table(model)
    text = render(table)
    assert "NaN" not in text and "wte" in text
    summary = viz.model_summary(model, input_ids=ids)
    assert "FLOPs" in render(summary)


def draw_source(loss, model) -> str:
    return viz.draw_graph(loss, model=model).source


def test_cli_train_and_generate_on_cuda(cuda, tmp_path, capsys):
    from tinygrad_tf.commands import main
    data = tmp_path / "data.txt"
    data.write_text(TEXT, encoding="utf-8")
    rc = main(["train", "--device", "cuda", "--preset", "tiny", "--steps", "4", "--batch-size", "4",
               "--data", str(data), "--out", str(tmp_path / "run"), "--grad-table"])
    assert rc in (0, None)
    rc = main(["generate", "--device", "cuda", "--checkpoint", str(tmp_path / "run"), "--prompt", "def ",
               "--max-new-tokens", "8"])
    assert rc in (0, None)
    assert "def " in capsys.readouterr().out
    assert main(["attention", "--checkpoint", str(tmp_path / "run"), "--device", "cuda", "--text", "def f(x):",
                 "--layer", "0", "--head", "0", "--terminal-svg", str(tmp_path / "slide.svg")]) in (0, None)
    assert (tmp_path / "slide.svg").read_text().startswith("<svg")
    assert main(["summary", "--checkpoint", str(tmp_path / "run"), "--device", "cuda"]) in (0, None)
    assert "FLOPs" in capsys.readouterr().out
    assert main(["gradcheck", "--device", "cuda"]) in (0, None)
    assert f"{len(opcheck.CATALOG)} passed, 0 failed" in capsys.readouterr().out
    assert main(["demo", "--device", "cuda", "--steps", "5", "--batch-size", "4", "--sample-chars", "20",
                 "--out", str(tmp_path / "demo")]) in (0, None)
    for family in ("bert", "t5"):
        rc = main(["train", "--model", family, "--device", "cuda", "--steps", "3", "--batch-size", "4",
                   "--d-model", "32", "--n-layer", "1", "--n-head", "2", "--eval-interval", "3", "--quiet",
                   "--out", str(tmp_path / family), *(["--data", str(data)] if family == "bert" else [])])
        assert rc in (0, None), family


def test_example_15_runs_its_gpu_path(cuda, tmp_path):
    """examples/15 with --device cuda, in a fresh interpreter (the stand-in installed there first)."""
    code = ("import sys, runpy; sys.path.insert(0, %r)\n" % str(ROOT / "tests")
            + ("import cupy_standin; cupy_standin.install()\n" if cuda == "standin" else "")
            + "runpy.run_path(%r, run_name='__main__')" % str(ROOT / "examples" / "15_gpu_run.py"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-c", code, "--device", "cuda", "--steps", "20", "--batch-size", "4"],
                       capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "device: cuda" in r.stdout
    assert "cuda vs cpu logits, same weights: max abs diff" in r.stdout
    assert "done on cuda: 20 steps" in r.stdout


def test_fp16_training_on_cuda(cuda, tmp_path):
    data = tmp_path / "data.txt"
    data.write_text(TEXT, encoding="utf-8")
    cfg = TrainConfig(preset="tiny", context_length=16, data=str(data), steps=12, batch_size=4, warmup_steps=2,
                      eval_interval=6, eval_iters=2, dropout=0.1, lr=3e-3, device="cuda", precision="fp16")
    history = Trainer(cfg, show_progress=False).run()
    assert history[-1]["val_loss"] < history[0]["loss"] and not any(r["skipped"] for r in history)
