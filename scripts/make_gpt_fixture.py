"""Make tests/fixtures/gpt_reference.npz: tiny GPT-2 and Llama forwards computed with PyTorch.

PyTorch is the reference peer here (the package never imports it). Both models are written out
below from their published formulas — no ``transformers`` — with weights stored under Hugging Face's
names and layouts, so the fixture also serves checkpoint-conversion tests:

    gpt2/...   GPT-2: learned positions, pre-LayerNorm, tanh-GELU, fused c_attn, Conv1D weights (in, out),
               tied embeddings
    llama/...  Llama: RoPE (half-split rotate_half, theta 10000), RMSNorm, SwiGLU, grouped-query attention
               (4 heads, 2 kv heads), no biases, untied lm_head; Linear weights (out, in)

Weights are float32; the forward runs in float64, so a float64 re-implementation should match to ~1e-12.
Run:  python scripts/make_gpt_fixture.py
"""

import math
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "gpt_reference.npz"
V, CTX, D, L, H, FF = 50, 16, 16, 2, 4, 64


def randn(g, *shape, std=0.2):
    return (torch.randn(*shape, generator=g) * std).float()


def gpt2(g):
    w = {"wte.weight": randn(g, V, D), "wpe.weight": randn(g, CTX, D)}
    for i in range(L):
        p = f"h.{i}."
        for ln in ("ln_1", "ln_2"):
            w[p + ln + ".weight"] = 1 + randn(g, D, std=0.1)
            w[p + ln + ".bias"] = randn(g, D, std=0.1)
        w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"] = randn(g, D, 3 * D), randn(g, 3 * D)
        w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"] = randn(g, D, D), randn(g, D)
        w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"] = randn(g, D, FF), randn(g, FF)
        w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"] = randn(g, FF, D), randn(g, D)
    w["ln_f.weight"], w["ln_f.bias"] = 1 + randn(g, D, std=0.1), randn(g, D, std=0.1)
    return w


def gpt2_forward(w, ids):
    w = {k: v.double() for k, v in w.items()}
    b, t = ids.shape
    x = w["wte.weight"][ids] + w["wpe.weight"][torch.arange(t)]
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
    for i in range(L):
        p = f"h.{i}."
        h = torch.nn.functional.layer_norm(x, (D,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], 1e-5)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]          # Conv1D: x @ W + b
        q, k, v = (z.view(b, t, H, D // H).transpose(1, 2) for z in qkv.split(D, dim=-1))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(D // H)
        a = torch.softmax(s.masked_fill(~causal, float("-inf")), -1) @ v
        x = x + a.transpose(1, 2).reshape(b, t, D) @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = torch.nn.functional.layer_norm(x, (D,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], 1e-5)
        h = torch.nn.functional.gelu(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"], approximate="tanh")
        x = x + h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = torch.nn.functional.layer_norm(x, (D,), w["ln_f.weight"], w["ln_f.bias"], 1e-5)
    return x @ w["wte.weight"].T


KV = 2


def llama(g):
    hd = D // H
    w = {"model.embed_tokens.weight": randn(g, V, D), "lm_head.weight": randn(g, V, D)}
    for i in range(L):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + randn(g, D, std=0.1)
        w[p + "post_attention_layernorm.weight"] = 1 + randn(g, D, std=0.1)
        w[p + "self_attn.q_proj.weight"] = randn(g, H * hd, D)
        w[p + "self_attn.k_proj.weight"] = randn(g, KV * hd, D)
        w[p + "self_attn.v_proj.weight"] = randn(g, KV * hd, D)
        w[p + "self_attn.o_proj.weight"] = randn(g, D, H * hd)
        w[p + "mlp.gate_proj.weight"] = randn(g, FF, D)
        w[p + "mlp.up_proj.weight"] = randn(g, FF, D)
        w[p + "mlp.down_proj.weight"] = randn(g, D, FF)
    w["model.norm.weight"] = 1 + randn(g, D, std=0.1)
    return w


def rms(x, weight, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def llama_forward(w, ids, theta=10000.0):
    w = {k: v.double() for k, v in w.items()}
    b, t = ids.shape
    hd = D // H
    inv_freq = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    freqs = torch.arange(t, dtype=torch.float64)[:, None] * inv_freq[None]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
    x = w["model.embed_tokens.weight"][ids]
    for i in range(L):
        p = f"model.layers.{i}."
        h = rms(x, w[p + "input_layernorm.weight"])
        q = (h @ w[p + "self_attn.q_proj.weight"].T).view(b, t, H, hd).transpose(1, 2)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).view(b, t, KV, hd).transpose(1, 2)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(b, t, KV, hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(H // KV, dim=1), v.repeat_interleave(H // KV, dim=1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        a = torch.softmax(s.masked_fill(~causal, float("-inf")), -1) @ v
        x = x + a.transpose(1, 2).reshape(b, t, D) @ w[p + "self_attn.o_proj.weight"].T
        h = rms(x, w[p + "post_attention_layernorm.weight"])
        gate = torch.nn.functional.silu(h @ w[p + "mlp.gate_proj.weight"].T)
        x = x + (gate * (h @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
    return rms(x, w["model.norm.weight"]) @ w["lm_head.weight"].T


def shifted_loss(logits, ids):
    return torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))


def main():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, V, (2, 12), generator=g)
    out = {"ids": ids.numpy(), "dims": np.array([V, CTX, D, L, H, FF, KV])}
    for name, make, fwd in (("gpt2", gpt2, gpt2_forward), ("llama", llama, llama_forward)):
        w = make(g)
        logits = fwd(w, ids)
        out.update({f"{name}/{k}": v.numpy() for k, v in w.items()})
        out[f"{name}/logits"] = logits.numpy()
        out[f"{name}/loss"] = shifted_loss(logits, ids).numpy()
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
