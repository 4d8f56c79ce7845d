"""A GPT training step, tinygrad_tf vs PyTorch eager on the CPU, plus generation speed.

    python -m benchmarks.bench_gpt                   # every config, all cores, then 1 thread
    python -m benchmarks.bench_gpt --quick           # the "small" config only, few repeats
    python -m benchmarks.bench_gpt --threads 2 --json gpt.json
    python -m benchmarks.bench_gpt --generate-only            # generation vs PyTorch with a KV cache only
    python -m benchmarks.bench_gpt --device cuda              # on a GPU: CuPy vs torch.cuda, wall time

Threads: by default every core (``os.cpu_count()``: what a user gets) for both libraries -- the
headline columns -- and then, in the same invocation, 1 thread each (the second columns; ``--no-one-thread``
skips them). Wall time (``--clock cpu`` for process CPU time).

One *step* is what a training loop does: zero_grad, forward with the loss,
backward, AdamW step. Both libraries run the same architecture — GPT-2's
(learned positions, pre-LayerNorm, tanh-GELU MLP of 4*d, biases, tied
embeddings, dropout 0) — from the SAME initial weights (copied from the
tinygrad_tf model into the PyTorch one, and the first losses compared), same
batch, same float32, same thread count, the steps interleaved (on the CPU each
sample starts after a 0.3 s busy wait, so that neither library's idle threads,
still spinning, take a core from the other's step: ``QUIET_S``).

PyTorch is timed twice: with attention written out (matmul, masked_fill,
softmax, matmul: the same ops tinygrad_tf runs) and with its fused
``scaled_dot_product_attention`` (what nanoGPT uses). The ratio against each is
reported; the target is a step at most 0.9x PyTorch's (configs "small" and "medium").
The "sdpa" config (L4 d256 h4 T128 B8) is the row for comparing a fused attention op
against PyTorch's SDPA.

Peak memory of one step (on the CPU: the rise of the process's peak resident memory during the step,
measured the same way for both, see ``common.peak_step_memory``; on a GPU: the allocators' statistics).

Throughput: tokens/s, and achieved GFLOP/s counted as nanoGPT does
(6 * N + 12 * n_layer * d_model * T FLOPs per token, N = the parameters that
take part in matmuls: all but the position table) against this machine's
float32 matmul peak, measured with a large NumPy sgemm at the same thread count.

Generation: decode tokens/s of ``model.generate`` (batch 1, greedy) at several
context lengths, with the KV cache and without, next to the PyTorch twin with a
simple KV cache (same weights; the greedy tokens are compared), and the number
of operations one decode step runs in each library. The target is
tinygrad_tf's cached decoding at least 1.0x PyTorch's tokens/s.
"""

from __future__ import annotations

import os
import sys

sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # after PYTHONPATH: another engine can be benchmarked

from benchmarks.common import configure_threads  # noqa: E402  (must run before numpy is imported)

THREADS = configure_threads()

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as tnn  # noqa: E402
import torch.nn.functional as TF  # noqa: E402

import tinygrad_tf as tg  # noqa: E402
from benchmarks.common import (CLOCKS, default_clock, device_sync, fmt_ms, gpu_info, machine_info,  # noqa: E402
                               markdown_table, peak_step_memory, pin_threads, set_threads, thread_columns)

CONFIGS = {
    # the targets: a step at most 0.9x PyTorch eager's, at the default (all-core) thread count
    "small": dict(n_layer=4, d_model=256, n_head=4, context_length=128, batch=16, vocab_size=512),
    "medium": dict(n_layer=6, d_model=384, n_head=6, context_length=256, batch=8, vocab_size=512),
    # the row for a fused attention op against PyTorch's F.scaled_dot_product_attention (the "torch sdpa" column)
    "sdpa": dict(n_layer=4, d_model=256, n_head=4, context_length=128, batch=8, vocab_size=512),
    # GPT-2 small at batch 8, context 1024: the GPU check (scripts/gpu-check); far too big for a CPU run
    "gpt2": dict(n_layer=12, d_model=768, n_head=12, context_length=1024, batch=8, vocab_size=50257),
}
CPU_CONFIGS = ("small", "medium", "sdpa")
QUIET_S = 0.3        # seconds before each sample on the CPU (steps and generation): OpenBLAS's idle threads spin
                     # ~0.1 s after a threaded product (and PyTorch's OpenMP threads after its parallel regions)
                     # before they sleep, taking a core from whatever runs next -- here, the other contender,
                     # which would then pay for its rival's threads (measured, small config at 2 threads: our step
                     # took 226.9 ms right after PyTorch's, 223.2 after a 50 ms wait, 219.7 after 0.3 s, 218.6
                     # after our own; PyTorch's 248.1 right after ours, 246.6 after its own)


# ---------------------------------------------------------------------------- the PyTorch twin
class TorchBlock(tnn.Module):
    def __init__(self, d, h, sdpa):
        super().__init__()
        self.h, self.sdpa = h, sdpa
        self.ln_1, self.ln_2 = tnn.LayerNorm(d), tnn.LayerNorm(d)
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (tnn.Linear(d, d) for _ in range(4))
        self.up, self.down = tnn.Linear(d, 4 * d), tnn.Linear(4 * d, d)

    def attn(self, x, mask, cache=None):
        b, t, d = x.shape
        q, k, v = (p(x).view(b, t, self.h, d // self.h).transpose(1, 2) for p in (self.q_proj, self.k_proj, self.v_proj))
        if cache is not None:                     # the simple KV cache: concatenate this step's keys and values
            if cache:
                k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
            cache[:] = [k, v]
        if self.sdpa:
            y = TF.scaled_dot_product_attention(q, k, v, is_causal=mask is not None)
        else:
            s = (q * (1 / math.sqrt(d // self.h))) @ k.transpose(-2, -1)
            if mask is not None:                  # one new position (decode) sees every cached one: no mask
                s = s.masked_fill(~mask, torch.finfo(s.dtype).min)
            y = s.softmax(-1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(b, t, d))

    def forward(self, x, mask, cache=None):
        x = x + self.attn(self.ln_1(x), mask, cache)
        return x + self.down(TF.gelu(self.up(self.ln_2(x)), approximate="tanh"))


class TorchGPT(tnn.Module):
    """GPT-2's architecture as nanoGPT writes it (parameter names follow tinygrad_tf's, to copy weights)."""

    def __init__(self, vocab_size, context_length, d_model, n_layer, n_head, sdpa=False):
        super().__init__()
        self.wte, self.wpe = tnn.Embedding(vocab_size, d_model), tnn.Embedding(context_length, d_model)
        self.blocks = tnn.ModuleList(TorchBlock(d_model, n_head, sdpa) for _ in range(n_layer))
        self.ln_f = tnn.LayerNorm(d_model)
        self.register_buffer("mask", torch.tril(torch.ones(context_length, context_length, dtype=torch.bool)))

    def forward(self, ids, labels):
        b, t = ids.shape
        x = self.wte(ids) + self.wpe(torch.arange(t, device=ids.device))
        mask = self.mask[:t, :t]
        for blk in self.blocks:
            x = blk(x, mask)
        logits = self.ln_f(x) @ self.wte.weight.T                         # tied embeddings
        return TF.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1))

    def logits(self, ids, cache):
        """Next-token logits (B, T, vocab) for ``ids`` placed after the ``cache`` (one [k, v] list per block)."""
        b, t = ids.shape
        past = cache[0][0].shape[2] if cache[0] else 0
        x = self.wte(ids) + self.wpe(torch.arange(past, past + t, device=ids.device))
        mask = self.mask[:t, :t] if t > 1 else None                     # prefill: causal; decode: none needed
        for blk, c in zip(self.blocks, cache):
            x = blk(x, mask, c)
        return self.ln_f(x) @ self.wte.weight.T

    @torch.no_grad()
    def generate(self, ids, max_new_tokens):
        """Greedy decoding with a KV cache, batch as given: prefill the prompt, then one position per step."""
        cache = [[] for _ in self.blocks]
        step = ids
        for _ in range(max_new_tokens):
            nxt = self.logits(step, cache)[:, -1].argmax(-1, keepdim=True)
            ids = torch.cat([ids, nxt], dim=1)
            step = nxt
        return ids


def copy_weights(tg_model, th_model):
    """tinygrad_tf's parameters (by name) into the PyTorch twin; every PyTorch parameter must be set."""
    src = {k.replace("attn.", "").replace("mlp.", ""): v for k, v in tg_model.state_dict().items()}
    dst = th_model.state_dict()
    missing = [k for k in dst if k != "mask" and k not in src]
    if missing:
        raise RuntimeError(f"tinygrad_tf GPT has no parameter for {missing[:5]} (its names changed?)")
    with torch.no_grad():
        for k, t in dst.items():
            if k != "mask":
                t.copy_(torch.from_numpy(np.ascontiguousarray(src[k].numpy() if hasattr(src[k], "numpy")
                                                              else np.asarray(src[k]))))


# ---------------------------------------------------------------------------- measurement
def sgemm_peak(threads, n=2048, repeats=5, device="cpu"):
    """GFLOP/s of a large float32 matmul, NumPy's (or CuPy's on a GPU): the ceiling for matmul-bound work."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
    if device != "cpu":
        import cupy
        a, b, n = cupy.asarray(np.tile(a, (4, 4))), cupy.asarray(np.tile(b, (4, 4))), 4 * n   # 8192^3 on a GPU
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))   # the run's clock (CPU time with 1 thread)
    return 2 * n ** 3 / best / 1e9


_CLOCK = [time.perf_counter]
_SYNC = [lambda: None]          # on a GPU: wait for the queued kernels before reading the clock


def _timed(fn):
    """Seconds one call of ``fn`` takes on the chosen clock (process CPU time or wall time)."""
    now, sync = _CLOCK[0], _SYNC[0]
    sync()
    t0 = now()
    fn()
    sync()
    return now() - t0


def _quiet():
    """Wait QUIET_S seconds, busy: after a sleep this machine takes a few tens of ms to come back to full speed
    (measured: the prompt's forward pass at context 480 took 30 ms instead of 25 after a 0.3 s sleep, even after
    an untimed call; after a busy wait, 25)."""
    end = time.perf_counter() + QUIET_S
    while time.perf_counter() < end:
        pass


def _finite(model):
    """Guard: a parameter that starts non-finite (e.g. ``zeros_`` computed as ``empty * 0``, where the
    uninitialised memory held a NaN) would make every timed step run on NaNs. Zero it, and say so loudly."""
    for name, p in model.named_parameters():
        if not np.isfinite(p.numpy()).all():
            print(f"WARNING: GPT init left non-finite values in {name}; zeroing it for the benchmark "
                  "(an nn.init bug: report it)", file=sys.stderr)
            p.data[...] = 0
    return model


def step_flops(cfg, n_matmul_params):
    t, b, d, L = cfg["context_length"], cfg["batch"], cfg["d_model"], cfg["n_layer"]
    return (6 * n_matmul_params + 12 * L * d * t) * b * t


def build_steps(cfg, device="cpu", precision="fp32"):
    """({"tinygrad_tf": step, "torch": step, "torch_sdpa": step}, parameter count): one training step of each
    contender, all from the same initial weights, on the same batch."""
    import contextlib

    from tinygrad_tf import nn as tgnn
    from tinygrad_tf import optim
    from tinygrad_tf.nn.models import GPT, GPTConfig

    fp16 = precision == "fp16"

    gcfg = GPTConfig(vocab_size=cfg["vocab_size"], context_length=cfg["context_length"], d_model=cfg["d_model"],
                     n_layer=cfg["n_layer"], n_head=cfg["n_head"], dropout=0.0, activation="gelu_tanh",
                     norm="layernorm", residual="pre", position="learned", bias=True, tie_embeddings=True)
    tg.manual_seed(0)
    model = _finite(GPT(gcfg))
    ths = {}
    for kind in ("manual", "sdpa"):
        th = TorchGPT(cfg["vocab_size"], cfg["context_length"], cfg["d_model"], cfg["n_layer"], cfg["n_head"],
                      sdpa=kind == "sdpa")
        copy_weights(model, th)
        th.to(device)
        ths[kind] = (th, torch.optim.AdamW(th.parameters(), lr=1e-4, weight_decay=0.01))
    model.to(device)
    opt = optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    n_params = model.num_parameters()
    n_th = sum(p.numel() for p in ths["manual"][0].parameters())
    assert n_params == n_th, (n_params, n_th)
    ids_np = np.random.default_rng(0).integers(0, cfg["vocab_size"], (cfg["batch"], cfg["context_length"]))
    ids_tg, ids_th = tg.tensor(ids_np, device=device), torch.tensor(ids_np, device=device)

    tg_scaler = tgnn.GradScaler(enabled=fp16)
    th_scalers = {kind: torch.amp.GradScaler(device, enabled=fp16) for kind in ths} if fp16 else {}

    def tg_step():
        opt.zero_grad()
        with tgnn.autocast(enabled=fp16):
            loss = model(ids_tg, labels=ids_tg).loss
        tg_scaler.scale(loss).backward()
        tg_scaler.step(opt)
        tg_scaler.update()
        return loss.item()

    def th_step(kind):
        m, o = ths[kind]
        scaler = th_scalers.get(kind)

        def step():
            o.zero_grad(set_to_none=True)
            with torch.autocast(device_type=device, dtype=torch.float16) if fp16 else contextlib.nullcontext():
                loss = m(ids_th, ids_th)
            if scaler is None:
                loss.backward()
                o.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(o)
                scaler.update()
            return loss.item()
        step.zero_grad = lambda: o.zero_grad(set_to_none=True)
        return step

    tg_step.zero_grad = opt.zero_grad                 # (the memory measurement starts from no gradients)
    fns = {"tinygrad_tf": tg_step, "torch": th_step("manual"), "torch_sdpa": th_step("sdpa")}
    return fns, n_params


def bench_train(name, cfg, repeats, warmup=2, device="cpu", precision="fp32", memory=True):
    """One config's training step in both libraries (``precision="fp16"``: float16 products under autocast with
    loss scaling in both, float32 weights; a GPU setting). On a GPU also the peak memory of each contender."""
    fns, n_params = build_steps(cfg, device, precision)
    first = {k: f() for k, f in fns.items()}           # same weights, same batch: the same first loss
    agree = max(abs(first[k] - first["tinygrad_tf"]) for k in first)
    for _ in range(warmup - 1):
        for f in fns.values():
            f()
    samples = {k: [] for k in fns}
    for r in range(repeats):
        for k in (list(fns) if r % 2 == 0 else list(fns)[::-1]):
            if device == "cpu":
                _quiet()                        # the previous contender's threads stop spinning first (QUIET_S)
            samples[k].append(_timed(fns[k]))
    med = {k: statistics.median(v) for k, v in samples.items()}
    memory = _peak_memory(fns, device, cfg) if memory else None
    tokens = cfg["batch"] * cfg["context_length"]
    n_mm = n_params - cfg["context_length"] * cfg["d_model"]           # all but wpe (wte is the lm_head matmul)
    flops = step_flops(cfg, n_mm)
    return dict(config=name, **cfg, device=device, precision=precision, peak_memory_mib=memory, params=n_params, first_loss=first, loss_agreement=agree, repeats=repeats,
                step_s=med, step_samples=samples, tokens_per_s={k: tokens / v for k, v in med.items()},
                gflops={k: flops / v / 1e9 for k, v in med.items()}, step_gflop=flops / 1e9,
                ratio=med["tinygrad_tf"] / med["torch"], ratio_sdpa=med["tinygrad_tf"] / med["torch_sdpa"])


def _peak_memory(fns, device, cfg=None):
    """Each contender's peak memory over one more step, in MiB. On the CPU: how far the step raises the
    process's peak resident memory (``common.peak_step_memory``, the same method for both). On a GPU:
    PyTorch's allocator statistics; for CuPy, what its memory pool holds after freeing everything cached
    before the step (the pool grows to the step's high-water mark)."""
    if device == "cpu":
        return {k: _cpu_peak_memory(cfg, k) for k in fns}
    import cupy
    pool = cupy.get_default_memory_pool()
    out = {}
    for k, f in fns.items():
        pool.free_all_blocks()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        f()
        _SYNC[0]()
        out[k] = (pool.total_bytes() if k == "tinygrad_tf" else torch.cuda.max_memory_allocated()) / 2 ** 20
    return out


def _cpu_peak_memory(cfg, contender):
    """MiB by which one training step of ``contender`` raises its process's peak resident memory above the
    parameters and optimizer state (the previous step's gradients freed first): activations, gradients and
    temporaries. Measured in a fresh child process (``--memory-child``) where glibc serves every block over 64 KiB with its own mmap
    (MALLOC_MMAP_THRESHOLD_), so a freed block leaves the process at once, the same for both libraries."""
    import subprocess
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(64 * 1024))
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_gpt", "--threads", str(THREADS), "--memory-child",
                          json.dumps({"cfg": cfg, "contender": contender})],
                         cwd=root, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["mib"]


def _memory_child(spec):
    """(In the child process) build the contenders, warm ``spec["contender"]`` up, and print its step's peak."""
    spec = json.loads(spec)
    pin_threads(THREADS)
    fns, _ = build_steps(spec["cfg"])
    fn = fns[spec["contender"]]
    fns.clear()
    for _ in range(2):
        fn()
    fn.zero_grad()                 # the baseline: parameters and optimizer state, the last step's gradients freed
    print(json.dumps({"mib": peak_step_memory(fn)}))


def _count_tg_ops(fn):
    """(ops, python+C calls) made by ``fn()``: ops = ``Function.apply`` calls (one per engine op), calls = what
    cProfile counts (every Python function and every builtin/NumPy C call)."""
    import cProfile
    import pstats

    from tinygrad_tf.autograd import Function

    orig = Function.__dict__["apply"]
    count = [0]

    def counting(cls, *a, **k):
        count[0] += 1
        return orig.__func__(cls, *a, **k)

    Function.apply = classmethod(counting)
    try:
        fn()
    finally:
        Function.apply = orig
    pr = cProfile.Profile()
    pr.enable()
    fn()
    pr.disable()
    return count[0], pstats.Stats(pr).total_calls


def _count_torch_ops(fn):
    """ATen operators dispatched by ``fn()`` (what PyTorch runs as one C++ kernel call each)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        n = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            Count.n += 1
            return func(*args, **(kwargs or {}))

    with Count():
        fn()
    return Count.n


def bench_generate(contexts, new_tokens, repeats, n_layer=4, d_model=256, n_head=4, vocab_size=512, device="cpu"):
    """Greedy generation (batch 1) after a prompt of each length: decode tokens/s of tinygrad_tf with its KV cache
    and without, and of the same-architecture PyTorch twin with a simple KV cache (per layer, the new position's
    keys and values concatenated to the cached ones), both from the same weights.

    Decode time = generate(prompt, n + 1) - generate(prompt, 1): the prompt's forward pass (prefill) and the first
    token are taken out. The cached contenders are interleaved sample by sample."""
    from tinygrad_tf.nn.models import GPT, GPTConfig

    k_count = 4                                           # decode steps over which the ops are counted
    ctx_len = max(contexts) + max(new_tokens, k_count) + 1
    cfg = GPTConfig(vocab_size=vocab_size, context_length=ctx_len, d_model=d_model, n_layer=n_layer, n_head=n_head,
                    dropout=0.0, activation="gelu_tanh", norm="layernorm", residual="pre", position="learned",
                    bias=True, tie_embeddings=True)
    tg.manual_seed(0)
    model = _finite(GPT(cfg))
    model.eval()
    th = TorchGPT(vocab_size, ctx_len, d_model, n_layer, n_head, sdpa=False)
    copy_weights(model, th)
    th.eval()
    model.to(device)
    th.to(device)
    rows = []
    rng = np.random.default_rng(0)
    for ctx in contexts:
        prompt_np = rng.integers(0, vocab_size, (1, ctx))
        prompt, prompt_th = tg.tensor(prompt_np, device=device), torch.tensor(prompt_np, device=device)
        gens = {"cache": lambda n: model.generate(prompt, n, temperature=0, use_cache=True),
                "torch_cache": lambda n: th.generate(prompt_th, n)}
        # the same weights and prompt must give the same greedy tokens (float32 rounding can flip a near-tie)
        a = gens["cache"](new_tokens + 1).numpy()[0, ctx:]
        b = th.generate(prompt_th, new_tokens + 1).cpu().numpy()[0, ctx:]
        row = {"context": ctx, "new_tokens": new_tokens, "same_tokens": int((a == b).sum()), "of_tokens": len(a)}
        # decode time of one sample = (prompt + n+1 tokens) - (prompt + 1 token), both timed back to back, so the
        # prefill cancels within the pair; the median is over pairs (a difference of medians can come out near
        # zero or negative on a noisy machine, which is how a 8e9 tok/s PyTorch figure once appeared)
        t1 = {k: [] for k in gens}
        decode = {k: [] for k in gens}
        for r in range(repeats):
            for k in (list(gens) if r % 2 == 0 else list(gens)[::-1]):
                if device == "cpu":
                    _quiet()                    # the other contender's BLAS / OpenMP threads stop spinning first
                gens[k](1)                      # (untimed: this one's threads wake up)
                a_, b_ = _timed(lambda: gens[k](1)), _timed(lambda: gens[k](new_tokens + 1))
                t1[k].append(a_)
                decode[k].append(b_ - a_)
        for k in gens:
            row[f"{k}_prefill_s"] = statistics.median(t1[k])
            d = statistics.median(decode[k])
            row[f"{k}_tokens_per_s"] = new_tokens / d if d > 0 else float("nan")   # nan: too noisy to tell
        # without the cache every token is a forward pass over the whole window: slow, so fewer samples
        nc = [(_timed(lambda: model.generate(prompt, 1, temperature=0, use_cache=False)),
               _timed(lambda: model.generate(prompt, new_tokens + 1, temperature=0, use_cache=False)))
              for _ in range(max(1, repeats // 2))]
        d = statistics.median(tb - ta for ta, tb in nc)
        row["no_cache_tokens_per_s"] = new_tokens / d if d > 0 else float("nan")
        row["ratio_vs_torch"] = row["cache_tokens_per_s"] / row["torch_cache_tokens_per_s"]
        print(f"  generate ctx {ctx}: tg {row['cache_tokens_per_s']:.0f} tok/s, torch "
              f"{row['torch_cache_tokens_per_s']:.0f} tok/s ({row['ratio_vs_torch']:.2f}x), no cache "
              f"{row['no_cache_tokens_per_s']:.0f}", file=sys.stderr, flush=True)
        rows.append(row)
    # what one decode step costs in operations: counted over 4 decode steps at the first context
    prompt_np = rng.integers(0, vocab_size, (1, contexts[0]))
    prompt, prompt_th = tg.tensor(prompt_np, device=device), torch.tensor(prompt_np, device=device)
    k = k_count
    o1, c1 = _count_tg_ops(lambda: model.generate(prompt, 1, temperature=0))
    o5, c5 = _count_tg_ops(lambda: model.generate(prompt, 1 + k, temperature=0))
    t1_, t5_ = (_count_torch_ops(lambda: th.generate(prompt_th, n)) for n in (1, 1 + k))
    ops = {"tg_ops": (o5 - o1) / k, "tg_calls": (c5 - c1) / k, "torch_ops": (t5_ - t1_) / k}
    return dict(model=dict(n_layer=n_layer, d_model=d_model, n_head=n_head, vocab_size=vocab_size,
                           params=model.num_parameters()), rows=rows, ops_per_decode_step=ops)


# ---------------------------------------------------------------------------- report
def _label(r):
    return (f"{r['config']}: L{r['n_layer']} d{r['d_model']} h{r['n_head']} T{r['context_length']} B{r['batch']} "
            f"V{r['vocab_size']}")


def _train_cells(r, cols, peak):
    """One row: per thread count tg / torch / ratio / torch SDPA / ratio, then memory and throughput."""
    cells = [_label(r), f"{r['params'] / 1e6:.2f}M"]
    for th in cols:
        t = r["by_threads"].get(th)
        if t is None:
            cells += ["-"] * 5
            continue
        cells += [fmt_ms(t["step_s"]["tinygrad_tf"]), fmt_ms(t["step_s"]["torch"]), f"{t['ratio']:.2f}x",
                  fmt_ms(t["step_s"]["torch_sdpa"]), f"{t['ratio_sdpa']:.2f}x"]
    m = r.get("peak_memory_mib") or {}
    cells += [f"{m['tinygrad_tf']:.0f} / {m['torch']:.0f} MiB ({m['tinygrad_tf'] / m['torch']:.2f}x)"
              if m.get("torch") else "-",
              f"{r['gflops']['tinygrad_tf']:.1f} ({100 * r['gflops']['tinygrad_tf'] / peak:.0f}%)",
              f"{r['gflops']['torch']:.1f}", f"{r['loss_agreement']:.1e}"]
    return cells


def _train_heads(cols):
    heads = ["config", "params"]
    for th in cols:
        n = f"{th} thr"
        heads += [f"tg ({n})", f"torch ({n})", f"ratio ({n})", f"torch SDPA ({n})", f"ratio vs SDPA ({n})"]
    return heads + ["peak step memory tg / torch", f"tg GFLOP/s ({cols[0]} thr, % sgemm peak)",
                    f"torch GFLOP/s ({cols[0]} thr)", "first-loss |d|"]


def _gen_heads(cols):
    heads = ["context"]
    for th in cols:
        n = f"{th} thr"
        heads += [f"tg tok/s ({n})", f"torch tok/s ({n})", f"ratio ({n})"]
    return heads + [f"prefill tg / torch ({cols[0]} thr)", f"tg no cache ({cols[0]} thr)", "same tokens"]


def _gen_cells(gen, cols, i):
    r0 = gen[cols[0]]["rows"][i]
    cells = [str(r0["context"])]
    for th in cols:
        r = gen[th]["rows"][i]
        cells += [f"{r['cache_tokens_per_s']:.0f}", f"{r['torch_cache_tokens_per_s']:.0f}",
                  f"{r['ratio_vs_torch']:.2f}x"]
    return cells + [f"{fmt_ms(r0['cache_prefill_s'])} / {fmt_ms(r0['torch_cache_prefill_s'])}",
                    f"{r0['no_cache_tokens_per_s']:.1f}", f"{r0['same_tokens']}/{r0['of_tokens']}"]


def print_report(train, gen, peak, info, meta, cols):
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 230)
    if train:
        t = Table(title=f"GPT training step (fwd + bwd + AdamW), float32, {' and '.join(map(str, cols))} thread(s) "
                        f"each, {info['clock']} time, medians",
                  caption="ratio = tinygrad_tf / torch step time; target <= 0.9x at all cores. GFLOP/s: 6N+12LdT "
                          f"per token, vs NumPy sgemm peak {peak:.1f} GFLOP/s")
        for c in _train_heads(cols):
            t.add_column(c, justify="left" if c == "config" else "right")
        for r in train:
            t.add_row(*_train_cells(r, cols, peak))
        console.print(t)
    if gen:
        g0 = gen[cols[0]]
        g = Table(title=f"generate(), batch 1, greedy: L{g0['model']['n_layer']} d{g0['model']['d_model']} "
                        f"({g0['model']['params'] / 1e6:.2f}M params)",
                  caption="decode tokens/s excludes the prompt's forward pass (prefill); ratio = tinygrad_tf / "
                          "torch tokens/s with a KV cache (target >= 1.0x)")
        for c in _gen_heads(cols):
            g.add_column(c, justify="right")
        for i in range(len(g0["rows"])):
            g.add_row(*_gen_cells(gen, cols, i))
        console.print(g)
        o = g0["ops_per_decode_step"]
        console.print(f"per decode step: {_ops_line(o)}")
    console.print(f"machine: {meta['cpu']} ({meta['logical_cores']} logical cores, load {meta['load_avg_1m']:.2f}), "
                  f"numpy {meta['numpy']} on {meta['numpy_blas']}, torch {meta['torch']}; "
                  f"BLAS pools: {'; '.join(info['blas_pools'])}")


def _ops_line(o):
    return (f"tinygrad_tf {o['tg_calls']:.0f} Python/C calls under cProfile, {o['tg_ops']:.0f} of them engine ops "
            f"through Function.apply (decoding steps run on arrays: nn/models/gpt_decode.py); "
            f"PyTorch {o['torch_ops']:.0f} ATen ops")


def to_markdown(train, gen, peak, cols) -> str:
    """The results as Markdown tables (what docs/performance.md shows)."""
    out = ""
    if train:
        out += markdown_table(_train_heads(cols), [_train_cells(r, cols, peak) for r in train])
        out += f"\nNumPy float32 sgemm peak (2048^3, {cols[0]} threads): {peak:.1f} GFLOP/s.\n"
    if gen:
        g0 = gen[cols[0]]
        out += "\n" + markdown_table(_gen_heads(cols), [_gen_cells(gen, cols, i) for i in range(len(g0["rows"]))])
        o = g0["ops_per_decode_step"]
        out += f"\nPer decode step: {_ops_line(o)}.\n"
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if "--memory-child" in argv:
        return _memory_child(argv[argv.index("--memory-child") + 1])
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=THREADS,
                   help="threads for torch, numpy's BLAS and tinygrad_tf (default: every core)")
    p.add_argument("--no-one-thread", action="store_true", help="skip the second, 1-thread column")
    p.add_argument("--repeats", type=int, default=None, help="timed steps per contender (median); default 7, 3 quick")
    p.add_argument("--quick", action="store_true", help="the small config only, fewer repeats, short generation")
    p.add_argument("--configs", default=None, help=f"comma-separated, from {', '.join(CONFIGS)}; default "
                   f"{','.join(CPU_CONFIGS)}")
    p.add_argument("--no-generate", action="store_true")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    p.add_argument("--memory-only", action="store_true", help="measure the peak step memory only (no timing)")
    p.add_argument("--generate-only", action="store_true", help="skip the training step, time generation only")
    p.add_argument("--gen-contexts", default=None, help="prompt lengths for generation; default 16,64,128,256,480")
    p.add_argument("--gen-repeats", type=int, default=None, help="generation samples per contender (an odd count: the median of pairs); default 5, 3 quick")
    p.add_argument("--clock", choices=("cpu", "wall"), default=None,
                   help="wall: elapsed (default); cpu: process CPU time (one-thread runs on a busy machine)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="cuda: both libraries on the GPU (CuPy and torch.cuda), wall time, synchronised per step")
    p.add_argument("--precision", default="fp32", help="fp32, fp16 (float16 autocast + loss scaling in both "
                   "libraries; a GPU setting), or fp32,fp16 for both")
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--markdown", metavar="PATH", help="also write the tables as Markdown")
    args = p.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)
    names = args.configs.split(",") if args.configs else (["small"] if args.quick else list(CPU_CONFIGS))
    cols = thread_columns(THREADS, not args.no_one_thread and args.device == "cpu")
    info = pin_threads(THREADS)
    info["clock"] = args.clock or ("wall" if args.device != "cpu" else default_clock(THREADS))
    info["thread_columns"] = cols
    _CLOCK[0] = CLOCKS[info["clock"]]
    _SYNC[0] = device_sync(args.device)
    meta = machine_info()
    meta.update(gpu_info(args.device))
    meta["device"] = args.device
    peak = sgemm_peak(THREADS, repeats=3 if args.quick else 9, device=args.device)
    print(f"numpy sgemm peak: {peak:.1f} GFLOP/s ({THREADS} thread(s))", file=sys.stderr)
    if args.memory_only:
        rows = [[_label(dict(config=n, **CONFIGS[n]))] + [f"{v:.0f} MiB" for v in m.values()] +
                [f"{m['tinygrad_tf'] / m['torch']:.2f}x"]
                for n in names for m in [_peak_memory(dict.fromkeys(("tinygrad_tf", "torch", "torch_sdpa")),
                                                      args.device, CONFIGS[n])]]
        print(markdown_table(["config", "tinygrad_tf", "torch", "torch SDPA", "ratio tg / torch"], rows))
        return
    train = []
    for n in ([] if args.generate_only else names):
        for precision in args.precision.split(","):
            by = {}
            for th in cols:
                set_threads(th)
                by[th] = bench_train(n, CONFIGS[n], repeats, device=args.device, precision=precision,
                                     memory=th == cols[0] and not args.no_memory)
                r = by[th]
                print(f"  {n} {precision} {th} thr: tg {fmt_ms(r['step_s']['tinygrad_tf'])}, torch "
                      f"{fmt_ms(r['step_s']['torch'])} (sdpa {fmt_ms(r['step_s']['torch_sdpa'])}), ratio "
                      f"{r['ratio']:.2f}x" + (f", peak MiB {r['peak_memory_mib']}" if r["peak_memory_mib"] else ""),
                      file=sys.stderr, flush=True)
            row = dict(by[cols[0]])
            row["by_threads"] = {th: {k: by[th][k] for k in ("step_s", "step_samples", "ratio", "ratio_sdpa",
                                                             "tokens_per_s")} for th in cols}
            train.append(row)
    set_threads(THREADS)
    gen = None
    if not args.no_generate:
        contexts = ([int(c) for c in args.gen_contexts.split(",")] if args.gen_contexts else
                    [16, 64, 128] if args.quick else [16, 64, 128, 256, 480])
        gen = {}
        for th in cols:
            set_threads(th)
            print(f"generation, {th} thread(s):", file=sys.stderr)
            gen[th] = bench_generate(contexts, 16 if args.quick else 32,
                                     args.gen_repeats or (3 if args.quick else 5), device=args.device)
        set_threads(THREADS)
    print_report(train, gen, peak, info, meta, cols)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": meta, "threads": info, "sgemm_peak_gflops": peak,
                       "command": " ".join(["python -m benchmarks.bench_gpt"] + sys.argv[1:]),
                       "train": train, "generate": gen}, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(to_markdown(train, gen, peak, cols))


if __name__ == "__main__":
    main()
