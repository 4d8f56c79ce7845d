"""Per-op forward + backward time, tinygrad_tf vs PyTorch (CPU, float32, same thread count).

Threads: every core by default (what a user gets), then 1 thread each in the same invocation (the
``(1 thr)`` columns; ``--no-one-thread`` skips them). Wall time (``--clock cpu`` for CPU time).

    python -m benchmarks.bench_ops                 # full table: all cores each, then 1 thread each
    python -m benchmarks.bench_ops --threads 2 --json ops.json
    python -m benchmarks.bench_ops --quick --only matmul,softmax
    python -m benchmarks.bench_ops --device cuda      # on a GPU: CuPy vs torch.cuda, wall time

Tiny tensors ((4, 4), (8,)) measure what one op costs in Python bookkeeping
(Function.apply, Tensor._wrap, run_backward): the issue's target is at most 3x
PyTorch's own per-op overhead. Large tensors measure throughput: matmul-bound
work should be within 1.1x of PyTorch (both end in a BLAS sgemm).

Every case first checks that both libraries computed the same output and
gradients (so the race is between equal computations), then times
``fwd`` (the op with the graph recorded) and ``fwd+bwd`` (the op, then
``backward(g)`` with a fixed upstream gradient, leaf grads reset to None each
time as ``zero_grad(set_to_none=True)`` does), the two libraries interleaved.
"""

from __future__ import annotations

import os
import sys

sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # after PYTHONPATH: another engine can be benchmarked

from benchmarks.common import configure_threads  # noqa: E402  (must run before numpy is imported)

THREADS = configure_threads()

import argparse  # noqa: E402
import json  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as TF  # noqa: E402

import tinygrad_tf as tg  # noqa: E402
from benchmarks.common import (default_clock, device_sync, fmt_ms, gpu_info, interleaved,  # noqa: E402
                               machine_info, markdown_table, pin_threads, ratio_style, set_threads,
                               thread_columns)
from tinygrad_tf import nn_ops as N  # noqa: E402

try:  # the nn sub-package's functional API, once it exists; the engine's fused Functions otherwise
    from tinygrad_tf.nn import functional as F  # noqa: E402
except ImportError:  # pragma: no cover
    F = None


# ------------------------------------------------------------------ the two libraries' versions of each op
def tg_gelu(x):
    return F.gelu(x) if F is not None else x.gelu()


def tg_layer_norm(x, w, b):
    if F is not None:
        return F.layer_norm(x, (x.shape[-1],), w, b, 1e-5)
    return N.LayerNorm.apply(x, w, b, 1, 1e-5)


def tg_cross_entropy(logits, target):
    return F.cross_entropy(logits, target) if F is not None else N.CrossEntropy.apply(logits, target)


def tg_embedding(ids, w):
    return F.embedding(ids, w) if F is not None else N.Embedding.apply(w, ids)


def _rand(rng, shape, kind="normal"):
    if kind == "int":
        raise ValueError
    return rng.standard_normal(shape).astype(np.float32)


# A case: (op, shape label, size, inputs, tg fn, torch fn, target ratio or None)
# inputs: list of ("f", shape) float leaves that need grad, or ("i", array) integer inputs.
def cases(quick=False):
    rng = np.random.default_rng(0)
    C = []

    def add(op, label, size, inputs, f_tg, f_th, target=None):
        C.append(dict(op=op, shape=label, size=size, inputs=inputs, tg=f_tg, th=f_th, target=target))

    small, big = "small", "large"
    # elementwise
    add("add", "(4,4)+(4,4)", small, [("f", (4, 4)), ("f", (4, 4))], lambda a, b: a + b, lambda a, b: a + b, 3)
    add("add", "(1024,1024)+(1024,1024)", big, [("f", (1024, 1024)), ("f", (1024, 1024))],
        lambda a, b: a + b, lambda a, b: a + b)
    add("mul (bcast)", "(4,4)*(4,)", small, [("f", (4, 4)), ("f", (4,))], lambda a, b: a * b, lambda a, b: a * b, 3)
    add("mul (bcast)", "(1024,1024)*(1024,)", big, [("f", (1024, 1024)), ("f", (1024,))],
        lambda a, b: a * b, lambda a, b: a * b)
    for name, f_tg, f_th in [("exp", lambda x: x.exp(), torch.exp), ("tanh", lambda x: x.tanh(), torch.tanh),
                             ("relu", lambda x: x.relu(), torch.relu), ("gelu", tg_gelu, TF.gelu)]:
        add(name, "(8,)", small, [("f", (8,))], f_tg, f_th, 3)
        add(name, "(1024,1024)", big, [("f", (1024, 1024))], f_tg, f_th)
    # reductions
    add("sum", "(4,4) all", small, [("f", (4, 4))], lambda x: x.sum(), lambda x: x.sum(), 3)
    add("sum", "(1024,1024) dim=-1", big, [("f", (1024, 1024))], lambda x: x.sum(-1), lambda x: x.sum(-1))
    add("mean", "(4,4) all", small, [("f", (4, 4))], lambda x: x.mean(), lambda x: x.mean(), 3)
    add("mean", "(1024,1024) dim=-1", big, [("f", (1024, 1024))], lambda x: x.mean(-1), lambda x: x.mean(-1))
    for name, f_tg, f_th in [("softmax", lambda x: x.softmax(-1), lambda x: x.softmax(-1)),
                             ("log_softmax", lambda x: x.log_softmax(-1), lambda x: x.log_softmax(-1))]:
        add(name, "(4,4)", small, [("f", (4, 4))], f_tg, f_th, 3)
        add(name, "(4096,1024)", big, [("f", (4096, 1024))], f_tg, f_th)
    # matmul
    mm = lambda a, b: a @ b  # noqa: E731
    add("matmul", "(4,4)@(4,4)", small, [("f", (4, 4)), ("f", (4, 4))], mm, mm, 3)
    add("matmul", "(512,512)@(512,512)", big, [("f", (512, 512)), ("f", (512, 512))], mm, mm, 1.1)
    add("matmul", "(16,128,64)@(16,64,128)", big, [("f", (16, 128, 64)), ("f", (16, 64, 128))], mm, mm, 1.1)
    add("matmul", "(8,128,256)@(256,1024)", big, [("f", (8, 128, 256)), ("f", (256, 1024))], mm, mm, 1.1)
    # nn ops
    add("layer_norm", "(4,4)", small, [("f", (4, 4)), ("f", (4,)), ("f", (4,))],
        tg_layer_norm, lambda x, w, b: TF.layer_norm(x, (x.shape[-1],), w, b, 1e-5), 3)
    add("layer_norm", "(4096,1024)", big, [("f", (4096, 1024)), ("f", (1024,)), ("f", (1024,))],
        tg_layer_norm, lambda x, w, b: TF.layer_norm(x, (x.shape[-1],), w, b, 1e-5))
    add("cross_entropy", "(4,8)", small, [("f", (4, 8)), ("i", rng.integers(0, 8, 4))],
        tg_cross_entropy, TF.cross_entropy, 3)
    add("cross_entropy", "(4096,1024)", big, [("f", (4096, 1024)), ("i", rng.integers(0, 1024, 4096))],
        tg_cross_entropy, TF.cross_entropy)
    add("getitem", "(4,4)[1:3]", small, [("f", (4, 4))], lambda x: x[1:3], lambda x: x[1:3], 3)
    add("getitem", "(1024,1024)[::2,100:600]", big, [("f", (1024, 1024))],
        lambda x: x[::2, 100:600], lambda x: x[::2, 100:600])
    add("getitem", "(1024,1024)[int idx (2048,)]", big, [("f", (1024, 1024)), ("i", rng.integers(0, 1024, 2048))],
        lambda x, i: x[i], lambda x, i: x[i])
    add("embedding", "(16,4)[ids (8,)]", small, [("i", rng.integers(0, 16, 8)), ("f", (16, 4))],
        tg_embedding, TF.embedding, 3)
    add("embedding", "(8192,512)[ids (8,128)]", big, [("i", rng.integers(0, 8192, (8, 128))), ("f", (8192, 512))],
        tg_embedding, TF.embedding)
    add("reshape+transpose", "(4,4)->(2,2,4)^T(0,1)", small, [("f", (4, 4))],
        lambda x: x.reshape(2, 2, 4).transpose(0, 1), lambda x: x.reshape(2, 2, 4).transpose(0, 1), 3)
    add("reshape+transpose", "(16,128,256)->(16,4,128,64)", big, [("f", (16, 128, 256))],
        lambda x: x.reshape(16, 128, 4, 64).transpose(1, 2), lambda x: x.reshape(16, 128, 4, 64).transpose(1, 2))
    if quick:
        C = [c for c in C if not (c["size"] == "large" and c["op"] in ("tanh", "mean", "sum", "relu"))]
    return C


# ------------------------------------------------------------------ one case
def build(case, seed=0, device="cpu"):
    """Leaves for both libraries from the same NumPy arrays, the upstream gradient, and the four timed callables
    (on a GPU each call ends by waiting for the queued kernels, so the clock sees them run)."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(spec).astype(np.float32) if kind == "f" else np.asarray(spec, dtype=np.int64)
              for kind, spec in case["inputs"]]
    tg_in = [tg.tensor(a, requires_grad=(k == "f"), device=device) for (k, _), a in zip(case["inputs"], arrays)]
    th_in = [torch.tensor(a, requires_grad=(k == "f"), device=device) for (k, _), a in zip(case["inputs"], arrays)]
    tg_leaves = [t for t, (k, _) in zip(tg_in, case["inputs"]) if k == "f"]
    th_leaves = [t for t, (k, _) in zip(th_in, case["inputs"]) if k == "f"]
    out_shape = tuple(case["th"](*th_in).shape)
    g = rng.standard_normal(out_shape).astype(np.float32)
    g_tg, g_th = tg.tensor(g, device=device), torch.tensor(g, device=device)
    f_tg, f_th = case["tg"], case["th"]
    sync = device_sync(device) if device != "cpu" else None       # None on the CPU: nothing added to the timing

    def tg_fwd():
        y = f_tg(*tg_in)
        if sync:
            sync()
        return y

    def th_fwd():
        y = f_th(*th_in)
        if sync:
            sync()
        return y

    def tg_step():
        for t in tg_leaves:
            t.grad = None
        f_tg(*tg_in).backward(g_tg)
        if sync:
            sync()

    def th_step():
        for t in th_leaves:
            t.grad = None
        f_th(*th_in).backward(g_th)
        if sync:
            sync()

    return dict(tg_in=tg_in, th_in=th_in, tg_leaves=tg_leaves, th_leaves=th_leaves,
                tg_fwd=tg_fwd, th_fwd=th_fwd, tg_step=tg_step, th_step=th_step)


def _close(a, b, rtol=1e-4):
    """float32 agreement, scaled to the values' size (a 512-term dot product rounds at ~1e-5 relative)."""
    scale = max(float(np.abs(b).max()), 1e-30)
    return bool(np.all(np.abs(a - b) <= rtol * scale))


def check(case, b):
    """Both libraries computed the same thing (else the timing comparison means nothing)."""
    y_tg, y_th = b["tg_fwd"](), b["th_fwd"]().detach().cpu().numpy()
    if not _close(y_tg.numpy(), y_th):
        return f"outputs differ (max |d| {np.abs(y_tg.numpy() - y_th).max():.2e})"
    b["tg_step"]()
    b["th_step"]()
    for i, (a, c) in enumerate(zip(b["tg_leaves"], b["th_leaves"])):
        if not _close(a.grad.numpy(), c.grad.cpu().numpy()):
            return f"grad {i} differs (max |d| {np.abs(a.grad.numpy() - c.grad.cpu().numpy()).max():.2e})"
    return "ok"


def run(args):
    info = pin_threads(THREADS)
    info["clock"] = args.clock
    rows = []
    todo = cases(args.quick)
    if args.only:
        keep = {s.strip() for s in args.only.split(",")}
        todo = [c for c in todo if c["op"] in keep or c["op"].split()[0] in keep]
    if args.size:
        todo = [c for c in todo if c["size"] == args.size]
    cols = info["thread_columns"] = thread_columns(THREADS, not args.no_one_thread and args.device == "cpu")
    for case in todo:
        b = build(case, device=args.device)
        status = check(case, b)
        target_s = 0.004 if args.quick else 0.02
        row = dict(op=case["op"], shape=case["shape"], size=case["size"], check=status, target=case["target"])
        for th in cols:
            set_threads(th)
            fwd = interleaved({"tg": b["tg_fwd"], "torch": b["th_fwd"]}, repeats=args.repeats, target_s=target_s,
                              clock=args.clock)
            step = interleaved({"tg": b["tg_step"], "torch": b["th_step"]}, repeats=args.repeats,
                               target_s=target_s, clock=args.clock)
            sfx = "" if th == cols[0] else f"_{th}thr"     # the headline columns keep the plain names
            row.update({f"tg_fwd_s{sfx}": fwd["tg"]["median"], f"torch_fwd_s{sfx}": fwd["torch"]["median"],
                        f"tg_s{sfx}": step["tg"]["median"], f"torch_s{sfx}": step["torch"]["median"],
                        f"tg_iqr_s{sfx}": step["tg"]["iqr"], f"torch_iqr_s{sfx}": step["torch"]["iqr"]})
            row[f"fwd_ratio{sfx}"] = row[f"tg_fwd_s{sfx}"] / row[f"torch_fwd_s{sfx}"]
            row[f"ratio{sfx}"] = row[f"tg_s{sfx}"] / row[f"torch_s{sfx}"]
        set_threads(THREADS)
        rows.append(row)
        if not args.no_progress:
            one = f"  (1 thr x{row['ratio_1thr']:.2f})" if "ratio_1thr" in row else ""
            print(f"  {row['op']:<18} {row['shape']:<30} tg {fmt_ms(row['tg_s']):>10}  torch "
                  f"{fmt_ms(row['torch_s']):>10}  x{row['ratio']:.2f}{one}  [{status}]", file=sys.stderr, flush=True)
    return rows, info


def print_table(rows, info, meta):
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=f"tinygrad_tf vs PyTorch {meta['torch']} — forward+backward, float32, "
                    f"{info['threads']} thread(s) each, {info['clock']} time, medians", caption="ratio = tinygrad_tf / torch (lower is better); "
                    "target: tiny tensors <= 3x (per-op overhead), matmul <= 1.1x")
    one = rows and "ratio_1thr" in rows[0]
    for col, j in [("op", "left"), ("shape", "left"), ("tg fwd", "right"), ("torch fwd", "right"),
                   ("fwd ratio", "right"), ("tg fwd+bwd", "right"), ("torch fwd+bwd", "right"), ("ratio", "right")] + \
            ([("tg fwd+bwd (1 thr)", "right"), ("torch (1 thr)", "right"), ("ratio (1 thr)", "right")] if one else []) + \
            [("target", "right"), ("check", "left")]:
        t.add_column(col, justify=j)
    for r in rows:
        tgt = r["target"]
        style = ratio_style(r["ratio"], tgt if tgt else 1.5)
        t.add_row(escape(r["op"]), escape(r["shape"]), fmt_ms(r["tg_fwd_s"]), fmt_ms(r["torch_fwd_s"]), f"{r['fwd_ratio']:.2f}x",
                  fmt_ms(r["tg_s"]), fmt_ms(r["torch_s"]), f"[{style}]{r['ratio']:.2f}x[/]",
                  *([fmt_ms(r["tg_s_1thr"]), fmt_ms(r["torch_s_1thr"]), f"{r['ratio_1thr']:.2f}x"] if one else []),
                  f"<= {tgt}x" if tgt else "-", r["check"] if r["check"] == "ok" else f"[red]{r['check']}[/]")
    console = Console(width=None if sys.stdout.isatty() else 220)
    console.print(t)
    console.print(f"machine: {meta['cpu']} ({meta['logical_cores']} logical cores, load {meta['load_avg_1m']:.2f}), "
                  f"numpy {meta['numpy']} on {meta['numpy_blas']}, BLAS pools: {'; '.join(info['blas_pools'])}")


def to_markdown(rows) -> str:
    """The results as a Markdown table (what docs/performance.md shows)."""
    one = rows and "ratio_1thr" in rows[0]

    def ratio(r, key):
        return f"**{r[key]:.2f}x**" if r["target"] and r[key] > r["target"] else f"{r[key]:.2f}x"
    return markdown_table(
        ["op", "shape", "tg fwd", "torch fwd", "fwd ratio", "tg fwd+bwd", "torch fwd+bwd", "ratio"] +
        (["tg fwd+bwd (1 thr)", "torch fwd+bwd (1 thr)", "ratio (1 thr)"] if one else []) + ["target"],
        [[r["op"], f"`{r['shape']}`", fmt_ms(r["tg_fwd_s"]), fmt_ms(r["torch_fwd_s"]), f"{r['fwd_ratio']:.2f}x",
          fmt_ms(r["tg_s"]), fmt_ms(r["torch_s"]), ratio(r, "ratio")] +
         ([fmt_ms(r["tg_s_1thr"]), fmt_ms(r["torch_s_1thr"]), ratio(r, "ratio_1thr")] if one else []) +
         [f"<= {r['target']}x" if r["target"] else ""] for r in rows])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=THREADS,
                   help="threads for torch, numpy's BLAS and tinygrad_tf (default: every core)")
    p.add_argument("--no-one-thread", action="store_true", help="skip the second, 1-thread columns")
    p.add_argument("--repeats", type=int, default=None, help="samples per contender (median taken); default 21, 7 with --quick")
    p.add_argument("--quick", action="store_true", help="fewer repeats, shorter samples, fewer large cases")
    p.add_argument("--only", default="", help="comma-separated op names, e.g. matmul,softmax")
    p.add_argument("--size", choices=("small", "large"), help="only tiny or only large tensors")
    p.add_argument("--clock", choices=("cpu", "wall"), default=None,
                   help="wall: elapsed (default); cpu: process CPU time (one-thread runs on a busy machine)")
    p.add_argument("--json", metavar="PATH", help="also write the rows and machine facts as JSON")
    p.add_argument("--markdown", metavar="PATH", help="also write the table as Markdown")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="cuda: both libraries on the GPU (CuPy and torch.cuda), wall time, synchronised per call")
    args = p.parse_args(argv)
    if args.repeats is None:
        args.repeats = 7 if args.quick else 21
    args.clock = args.clock or ("wall" if args.device != "cpu" else default_clock(THREADS))
    meta = machine_info()
    meta.update(gpu_info(args.device))
    meta["device"] = args.device
    rows, info = run(args)
    print_table(rows, info, meta)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": meta, "threads": info, "command": " ".join(["python -m benchmarks.bench_ops"] +
                                                                            sys.argv[1:]), "rows": rows}, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(to_markdown(rows))
    return rows


if __name__ == "__main__":
    main()
