"""Write tests/fixtures/torch_nn_tail_reference.npz: PyTorch's numbers for the long tail of torch.nn, for
tests/test_torch_nn_tail.py.

    python scripts/make_torch_nn_tail_fixture.py        # needs torch==2.13.0 (CPU is enough)

Everything is float64 and deterministic (dropout 0). For each case the inputs, PyTorch's outputs and the
gradients of  sum(output * R)  (R a fixed random array) are stored:

    fn/<case>/...     a function of torch.nn.functional: activations, losses, distances, convolution, pooling,
                      interpolation, normalisation (FN_CASES says which function, arguments and gradients)
    bn/<case>/...     BatchNorm / InstanceNorm modules: a PyTorch state_dict loaded, two training steps (outputs,
                      gradients, running statistics after each) and one evaluation step
    rnn/<case>/...    RNN / LSTM / GRU (stacked, bidirectional, projections, packed batches) and the cells: the
                      state_dict, inputs, initial states, outputs, final states, gradients of inputs and weights
    tfm/<case>/...    TransformerEncoderLayer / TransformerEncoder / TransformerDecoderLayer / Transformer
    mod/<case>/...    Conv / ConvTranspose / pooling / padding / upsampling modules with a loaded state_dict
    reprs             how PyTorch prints each module of REPRS (the tests build the same and compare)

The case tables are stored in the file as JSON ("<group>/cases"). The tests never import torch; only this
script does.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from fixture_common import save_npz  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "torch_nn_tail_reference.npz"
rng = np.random.default_rng(2025)
data: dict[str, np.ndarray] = {}
KINKS = [0.0, -3.0, 3.0, 1.0, -1.0, 0.5, -0.5, 6.0, 25.0, -25.0, 30.0, 60.0, -60.0]


def T(a, grad=False):
    a = np.asarray(a)
    return torch.tensor(a, dtype=torch.float64 if a.dtype.kind == "f" else None, requires_grad=grad)


def put(prefix, **arrays):
    for k, v in arrays.items():
        if v is not None:
            data[f"{prefix}/{k}"] = (v.detach().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)).copy()


def weigh(out, prefix, name="R"):
    r = rng.standard_normal(tuple(out.shape))
    put(prefix, **{name: r})
    return (out * T(r)).sum()


# ---------------------------------------------------------------- functions of torch.nn.functional
def make(spec):
    """An input array from a short spec: [kind, shape...]."""
    kind, *rest = spec
    shape = tuple(rest[-1]) if rest else ()
    if kind == "kinks":                      # random values plus every point where an activation has a kink
        return np.concatenate([rng.standard_normal(20) * 3, KINKS]).reshape(3, 11)
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "prob":
        return rng.uniform(0.02, 0.98, shape)
    if kind == "prob_edges":                 # exact 0 and 1 (PyTorch clamps the log at -100)
        p = rng.uniform(0.02, 0.98, shape)
        p.flat[0], p.flat[1] = 0.0, 1.0
        return p
    if kind == "binary":
        return (rng.random(shape) < 0.5).astype(np.float64)
    if kind == "sign":
        return np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    if kind == "positive":
        return rng.uniform(0.2, 2.0, shape)
    if kind == "count":
        return rng.integers(0, 5, shape).astype(np.float64)
    if kind == "logprobs":
        z = rng.standard_normal(shape)
        return z - np.log(np.exp(z).sum(-1, keepdims=True))
    if kind == "probs_with_zero":
        z = np.exp(rng.standard_normal(shape))
        z.flat[0] = 0.0
        return z / z.sum(-1, keepdims=True)
    if kind == "zero_rows":                  # rows of zeros and of tiny values (the eps clamps)
        z = rng.standard_normal(shape)
        z[0] = 0.0
        z[1] *= 1e-10
        return z
    if kind == "relu":                       # many exact ties at 0 (max pooling picks the first)
        return np.maximum(rng.standard_normal(shape), 0.0)
    raise ValueError(kind)


A = "@"          # an argument "@name" is the case's array called name
X = ["kinks"]
ACT = [("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}), ("elu", {}), ("elu", {"alpha": 0.5}), ("selu", {}),
       ("celu", {"alpha": 2.0}), ("softplus", {}), ("softplus", {"beta": 2.0, "threshold": 5.0}), ("mish", {}),
       ("hardtanh", {}), ("hardtanh", {"min_val": -2.0, "max_val": 3.0}), ("relu6", {}), ("logsigmoid", {}),
       ("softmin", {"dim": 1}), ("softsign", {}), ("tanhshrink", {}), ("softshrink", {}),
       ("hardshrink", {"lambd": 1.0}), ("hardsigmoid", {}), ("hardswish", {}),
       ("threshold", {"threshold": 0.5, "value": -2.0}), ("rrelu", {}), ("silu", {}), ("relu", {}),
       ("gelu", {"approximate": "tanh"}), ("gelu", {})]
FN_CASES = {f"{fn}_{i}": dict(fn=fn, arrays={"x": X}, args=["@x"], kw=kw, grad=["x"]) for i, (fn, kw) in enumerate(ACT)}
FN_CASES.update({
    "glu_dim0": dict(fn="glu", arrays={"x": ["normal", (4, 3)]}, args=["@x"], kw={"dim": 0}, grad=["x"]),
    "prelu_one": dict(fn="prelu", arrays={"x": X, "w": ["normal", (1,)]}, args=["@x", "@w"], grad=["x", "w"]),
    "prelu_channels": dict(fn="prelu", arrays={"x": ["normal", (2, 3, 4)], "w": ["normal", (3,)]},
                           args=["@x", "@w"], grad=["x", "w"]),
    # distances
    "normalize": dict(fn="normalize", arrays={"x": ["zero_rows", (4, 5)]}, args=["@x"], grad=["x"]),
    "normalize_p1_dim0": dict(fn="normalize", arrays={"x": ["normal", (4, 5)]}, args=["@x"], kw={"p": 1, "dim": 0},
                              grad=["x"]),
    "normalize_p3": dict(fn="normalize", arrays={"x": ["normal", (3, 5, 2)]}, args=["@x"], kw={"p": 3.0, "dim": -1},
                         grad=["x"]),
    "cosine_similarity": dict(fn="cosine_similarity", arrays={"a": ["zero_rows", (4, 5)], "b": ["zero_rows", (4, 5)]},
                              args=["@a", "@b"], grad=["a", "b"], tol=1e-9),
    "cosine_similarity_broadcast": dict(fn="cosine_similarity", arrays={"a": ["normal", (4, 1, 5)],
                                                                        "b": ["normal", (3, 5)]},
                                        args=["@a", "@b"], kw={"dim": -1, "eps": 1e-3}, grad=["a", "b"]),
    "pairwise_distance": dict(fn="pairwise_distance", arrays={"a": ["normal", (4, 5)], "b": ["normal", (4, 5)]},
                              args=["@a", "@b"], grad=["a", "b"]),
    "pairwise_distance_p1_keepdim": dict(fn="pairwise_distance", arrays={"a": ["normal", (4, 5)],
                                                                         "b": ["normal", (5,)]},
                                         args=["@a", "@b"], kw={"p": 1.0, "keepdim": True}, grad=["a", "b"]),
    # losses
    "bce": dict(fn="binary_cross_entropy", arrays={"p": ["prob", (3, 4)], "y": ["binary", (3, 4)]},
                args=["@p", "@y"], grad=["p"]),
    "bce_soft_targets_weight_none": dict(fn="binary_cross_entropy", arrays={"p": ["prob", (3, 4)], "y": ["prob", (3, 4)],
                                                                            "w": ["positive", (4,)]},
                                         args=["@p", "@y"], kw={"weight": "@w", "reduction": "none"}, grad=["p", "y"]),
    "bce_edges_forward": dict(fn="binary_cross_entropy", arrays={"p": ["prob_edges", (2, 3)], "y": ["binary", (2, 3)]},
                              args=["@p", "@y"], kw={"reduction": "sum"}, grad=[]),
    "bce_logits": dict(fn="binary_cross_entropy_with_logits", arrays={"x": X, "y": ["binary", (3, 11)]},
                       args=["@x", "@y"], grad=["x", "y"]),
    "bce_logits_pos_weight": dict(fn="binary_cross_entropy_with_logits",
                                  arrays={"x": ["normal", (5, 3)], "y": ["prob", (5, 3)], "w": ["positive", (5, 3)],
                                          "pw": ["positive", (3,)]},
                                  args=["@x", "@y"], kw={"weight": "@w", "pos_weight": "@pw", "reduction": "sum"},
                                  grad=["x", "y"]),
    "l1": dict(fn="l1_loss", arrays={"x": ["normal", (3, 4)], "y": ["normal", (3, 4)]}, args=["@x", "@y"],
               grad=["x", "y"]),
    "l1_weight": dict(fn="l1_loss", arrays={"x": ["normal", (3, 4)], "y": ["normal", (3, 4)], "w": ["positive", (3, 4)]},
                      args=["@x", "@y"], kw={"weight": "@w"}, grad=["x", "y"]),
    "mse_weight": dict(fn="mse_loss", arrays={"x": ["normal", (3, 4)], "y": ["normal", (3, 4)],
                                              "w": ["positive", (3, 4)]},
                       args=["@x", "@y"], kw={"weight": "@w"}, grad=["x", "y"]),
    "smooth_l1": dict(fn="smooth_l1_loss", arrays={"x": ["normal", (3, 4)], "y": ["normal", (3, 4)]},
                      args=["@x", "@y"], grad=["x", "y"]),
    "smooth_l1_beta_none": dict(fn="smooth_l1_loss", arrays={"x": ["normal", (3, 4)], "y": ["normal", (3, 4)]},
                                args=["@x", "@y"], kw={"beta": 0.5, "reduction": "none"}, grad=["x", "y"]),
    "smooth_l1_beta0": dict(fn="smooth_l1_loss", arrays={"x": ["normal", (3, 4)], "y": ["normal", (3, 4)]},
                            args=["@x", "@y"], kw={"beta": 0.0, "reduction": "sum"}, grad=["x", "y"]),
    "huber": dict(fn="huber_loss", arrays={"x": ["normal", (3, 4)], "y": ["normal", (3, 4)]}, args=["@x", "@y"],
                  kw={"delta": 0.7}, grad=["x", "y"]),
    "huber_weight": dict(fn="huber_loss", arrays={"x": ["normal", (3, 4)], "y": ["normal", (3, 4)],
                                                  "w": ["positive", (3, 4)]},
                         args=["@x", "@y"], kw={"weight": "@w"}, grad=["x", "y"]),
    "kl_div_batchmean": dict(fn="kl_div", arrays={"q": ["logprobs", (3, 5)], "p": ["probs_with_zero", (3, 5)]},
                             args=["@q", "@p"], kw={"reduction": "batchmean"}, grad=["q"]),
    "kl_div_none": dict(fn="kl_div", arrays={"q": ["logprobs", (3, 5)], "p": ["probs_with_zero", (3, 5)]},
                        args=["@q", "@p"], kw={"reduction": "none"}, grad=["q"]),
    "kl_div_log_target": dict(fn="kl_div", arrays={"q": ["logprobs", (3, 5)], "p": ["logprobs", (3, 5)]},
                              args=["@q", "@p"], kw={"reduction": "sum", "log_target": True}, grad=["q", "p"]),
    "poisson_nll": dict(fn="poisson_nll_loss", arrays={"x": ["normal", (3, 4)], "y": ["count", (3, 4)]},
                        args=["@x", "@y"], grad=["x"]),
    "poisson_nll_rate_full": dict(fn="poisson_nll_loss", arrays={"x": ["positive", (3, 4)], "y": ["count", (3, 4)]},
                                  args=["@x", "@y"], kw={"log_input": False, "full": True}, grad=["x"]),
    "gaussian_nll": dict(fn="gaussian_nll_loss", arrays={"x": ["normal", (3, 4)], "y": ["normal", (3, 4)],
                                                         "v": ["positive", (3, 4)]},
                         args=["@x", "@y", "@v"], grad=["x", "y", "v"]),
    "gaussian_nll_homoscedastic_full": dict(fn="gaussian_nll_loss",
                                            arrays={"x": ["normal", (3, 4)], "y": ["normal", (3, 4)],
                                                    "v": ["positive", (3,)]},
                                            args=["@x", "@y", "@v"], kw={"full": True, "reduction": "sum"},
                                            grad=["x", "v"]),
    "margin_ranking": dict(fn="margin_ranking_loss", arrays={"a": ["normal", (6,)], "b": ["normal", (6,)],
                                                             "y": ["sign", (6,)]},
                           args=["@a", "@b", "@y"], kw={"margin": 0.3}, grad=["a", "b"]),
    "hinge_embedding": dict(fn="hinge_embedding_loss", arrays={"x": ["normal", (3, 4)], "y": ["sign", (3, 4)]},
                            args=["@x", "@y"], grad=["x"]),
    "soft_margin": dict(fn="soft_margin_loss", arrays={"x": ["normal", (3, 4)], "y": ["sign", (3, 4)]},
                        args=["@x", "@y"], grad=["x"]),
    "multilabel_soft_margin": dict(fn="multilabel_soft_margin_loss",
                                   arrays={"x": ["normal", (3, 4)], "y": ["binary", (3, 4)], "w": ["positive", (4,)]},
                                   args=["@x", "@y"], kw={"weight": "@w"}, grad=["x"]),
    "cosine_embedding": dict(fn="cosine_embedding_loss", arrays={"a": ["normal", (4, 5)], "b": ["normal", (4, 5)],
                                                                 "y": ["sign", (4,)]},
                             args=["@a", "@b", "@y"], kw={"margin": 0.1}, grad=["a", "b"]),
    "triplet": dict(fn="triplet_margin_loss", arrays={"a": ["normal", (4, 5)], "p": ["normal", (4, 5)],
                                                      "n": ["normal", (4, 5)]},
                    args=["@a", "@p", "@n"], grad=["a", "p", "n"]),
    "triplet_swap_p1": dict(fn="triplet_margin_loss", arrays={"a": ["normal", (4, 5)], "p": ["normal", (4, 5)],
                                                              "n": ["normal", (4, 5)]},
                            args=["@a", "@p", "@n"], kw={"p": 1.0, "swap": True, "margin": 3.0}, grad=["a", "p", "n"]),
    # normalisation
    "batch_norm_train": dict(fn="batch_norm", arrays={"x": ["normal", (5, 3, 4)], "m": ["normal", (3,)],
                                                      "v": ["positive", (3,)], "g": ["normal", (3,)],
                                                      "b": ["normal", (3,)]},
                             args=["@x", "@m", "@v", "@g", "@b"], kw={"training": True, "momentum": 0.3},
                             grad=["x", "g", "b"], after=["m", "v"]),
    "batch_norm_eval": dict(fn="batch_norm", arrays={"x": ["normal", (5, 3, 2, 2)], "m": ["normal", (3,)],
                                                     "v": ["positive", (3,)]},
                            args=["@x", "@m", "@v"], grad=["x"]),
    "instance_norm": dict(fn="instance_norm", arrays={"x": ["normal", (2, 3, 5)], "g": ["normal", (3,)],
                                                      "b": ["normal", (3,)]},
                          args=["@x"], kw={"weight": "@g", "bias": "@b"}, grad=["x", "g", "b"]),
    "local_response_norm": dict(fn="local_response_norm", arrays={"x": ["normal", (2, 5, 3, 2)]}, args=["@x", 3],
                                kw={"alpha": 0.1, "k": 2.0}, grad=["x"]),
    # convolution, pooling, resizing
    "conv1d": dict(fn="conv1d", arrays={"x": ["normal", (2, 4, 11)], "w": ["normal", (6, 2, 3)], "b": ["normal", (6,)]},
                   args=["@x", "@w", "@b"], kw={"stride": 2, "padding": 2, "dilation": 2, "groups": 2},
                   grad=["x", "w", "b"]),
    "conv1d_same_unbatched": dict(fn="conv1d", arrays={"x": ["normal", (3, 7)], "w": ["normal", (2, 3, 4)]},
                                  args=["@x", "@w"], kw={"padding": "same"}, grad=["x", "w"]),
    "conv2d": dict(fn="conv2d", arrays={"x": ["normal", (1, 3, 6, 5)], "w": ["normal", (4, 3, 3, 2)],
                                        "b": ["normal", (4,)]},
                   args=["@x", "@w", "@b"], kw={"stride": (2, 1), "padding": (1, 2)}, grad=["x", "w", "b"]),
    "conv2d_groups_dilation": dict(fn="conv2d", arrays={"x": ["normal", (1, 4, 8, 8)], "w": ["normal", (4, 1, 3, 3)]},
                                   args=["@x", "@w"], kw={"dilation": 2, "groups": 4, "padding": "same"},
                                   grad=["x", "w"]),
    "conv3d": dict(fn="conv3d", arrays={"x": ["normal", (1, 2, 4, 5, 3)], "w": ["normal", (3, 2, 2, 3, 2)]},
                   args=["@x", "@w"], kw={"padding": 1, "stride": (1, 2, 1)}, grad=["x", "w"]),
    "conv_transpose2d": dict(fn="conv_transpose2d", arrays={"x": ["normal", (1, 4, 3, 3)], "w": ["normal", (4, 3, 3, 3)],
                                                            "b": ["normal", (6,)]},
                             args=["@x", "@w", "@b"], kw={"stride": 2, "padding": 1, "output_padding": 1, "groups": 2},
                             grad=["x", "w", "b"]),
    "conv_transpose1d_dilation": dict(fn="conv_transpose1d", arrays={"x": ["normal", (2, 3, 5)],
                                                                     "w": ["normal", (3, 2, 3)]},
                                      args=["@x", "@w"], kw={"stride": 3, "padding": 2, "dilation": 2},
                                      grad=["x", "w"]),
    "max_pool2d": dict(fn="max_pool2d", arrays={"x": ["relu", (1, 2, 7, 6)]}, args=["@x", 3],
                       kw={"stride": 2, "padding": 1}, grad=["x"]),
    "max_pool2d_ceil_dilation_indices": dict(fn="max_pool2d", arrays={"x": ["normal", (1, 2, 9, 8)]}, args=["@x", 3],
                                             kw={"dilation": 2, "padding": 1, "ceil_mode": True,
                                                 "return_indices": True}, grad=["x"]),
    "max_pool1d_indices": dict(fn="max_pool1d", arrays={"x": ["normal", (2, 3, 10)]}, args=["@x", 3],
                               kw={"stride": 2, "return_indices": True}, grad=["x"]),
    "avg_pool2d": dict(fn="avg_pool2d", arrays={"x": ["normal", (1, 2, 7, 6)]}, args=["@x", 3],
                       kw={"stride": 2, "padding": 1}, grad=["x"]),
    "avg_pool2d_ceil_exclude_pad": dict(fn="avg_pool2d", arrays={"x": ["normal", (1, 2, 7, 8)]}, args=["@x", (3, 2)],
                                        kw={"stride": (2, 3), "padding": 1, "ceil_mode": True,
                                            "count_include_pad": False}, grad=["x"]),
    "avg_pool1d": dict(fn="avg_pool1d", arrays={"x": ["normal", (2, 3, 10)]}, args=["@x", 4],
                       kw={"stride": 3, "padding": 2, "ceil_mode": True}, grad=["x"]),
    "adaptive_avg_pool2d": dict(fn="adaptive_avg_pool2d", arrays={"x": ["normal", (1, 2, 7, 6)]}, args=["@x", (3, 4)],
                                grad=["x"]),
    "adaptive_avg_pool2d_global": dict(fn="adaptive_avg_pool2d", arrays={"x": ["normal", (2, 3, 5, 5)]},
                                       args=["@x", 1], grad=["x"]),
    "adaptive_max_pool2d": dict(fn="adaptive_max_pool2d", arrays={"x": ["relu", (1, 2, 7, 6)]}, args=["@x", (3, 4)],
                                grad=["x"]),
    "adaptive_avg_pool1d": dict(fn="adaptive_avg_pool1d", arrays={"x": ["normal", (2, 3, 10)]}, args=["@x", 4],
                                grad=["x"]),
    "unfold": dict(fn="unfold", arrays={"x": ["normal", (1, 2, 6, 5)]}, args=["@x", (2, 3)],
                   kw={"dilation": (1, 2), "padding": 1, "stride": (2, 1)}, grad=["x"]),
    "fold": dict(fn="fold", arrays={"c": ["normal", (2, 12, 12)]}, args=["@c", (5, 6), 2],
                 kw={"stride": (2, 2), "padding": 1}, grad=["c"]),
    "interpolate_nearest": dict(fn="interpolate", arrays={"x": ["normal", (1, 2, 4, 5)]}, args=["@x"],
                                kw={"scale_factor": 1.7}, grad=["x"]),
    "interpolate_nearest_exact": dict(fn="interpolate", arrays={"x": ["normal", (1, 2, 4, 5)]}, args=["@x"],
                                      kw={"size": (8, 11), "mode": "nearest-exact"}, grad=["x"]),
    "interpolate_bilinear": dict(fn="interpolate", arrays={"x": ["normal", (1, 2, 4, 5)]}, args=["@x"],
                                 kw={"size": (8, 4), "mode": "bilinear"}, grad=["x"]),
    "interpolate_bilinear_align_corners": dict(fn="interpolate", arrays={"x": ["normal", (1, 2, 4, 5)]}, args=["@x"],
                                               kw={"scale_factor": 2, "mode": "bilinear", "align_corners": True},
                                               grad=["x"]),
    "interpolate_linear": dict(fn="interpolate", arrays={"x": ["normal", (2, 3, 6)]}, args=["@x"],
                               kw={"scale_factor": 2.5, "mode": "linear"}, grad=["x"]),
    "pixel_shuffle": dict(fn="pixel_shuffle", arrays={"x": ["normal", (2, 8, 3, 4)]}, args=["@x", 2], grad=["x"]),
    "pixel_unshuffle": dict(fn="pixel_unshuffle", arrays={"x": ["normal", (2, 2, 4, 6)]}, args=["@x", 2],
                            grad=["x"]),
})


def resolve(value, arrays, grads):
    if isinstance(value, str) and value.startswith(A):
        return arrays[value[1:]]
    return value


def fn_case(name, spec):
    p = f"fn/{name}"
    raw = {k: make(s) for k, s in spec["arrays"].items()}
    put(p, **raw)
    tensors = {k: T(a, k in spec.get("grad", [])) for k, a in raw.items()}
    args = [resolve(a, tensors, None) for a in spec["args"]]
    kw = {k: resolve(v, tensors, None) for k, v in spec.get("kw", {}).items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = getattr(F, spec["fn"])(*args, **kw)
    if isinstance(out, tuple):
        put(p, indices=out[1])
        out = out[0]
    put(p, out=out)
    for k in spec.get("after", []):
        put(p, **{f"after_{k}": tensors[k]})
    if spec.get("grad"):
        weigh(out, p).backward()
        for k in spec["grad"]:
            put(p, **{f"grad_{k}": tensors[k].grad})


# ---------------------------------------------------------------- BatchNorm / InstanceNorm
BN_CASES = {
    "bn1d_2d_input": dict(cls="BatchNorm1d", init=dict(num_features=4), shape=(6, 4)),
    "bn1d_3d_input_momentum": dict(cls="BatchNorm1d", init=dict(num_features=3, momentum=0.3), shape=(4, 3, 5)),
    "bn2d": dict(cls="BatchNorm2d", init=dict(num_features=3), shape=(4, 3, 2, 3)),
    "bn2d_cumulative_average": dict(cls="BatchNorm2d", init=dict(num_features=2, momentum=None, eps=1e-3),
                                    shape=(3, 2, 3, 2)),
    "bn2d_no_affine": dict(cls="BatchNorm2d", init=dict(num_features=2, affine=False), shape=(3, 2, 2, 2)),
    "bn1d_no_running_stats": dict(cls="BatchNorm1d", init=dict(num_features=3, track_running_stats=False),
                                  shape=(5, 3)),
    "bn3d": dict(cls="BatchNorm3d", init=dict(num_features=2), shape=(2, 2, 2, 3, 2)),
    "in1d_affine_running": dict(cls="InstanceNorm1d", init=dict(num_features=3, affine=True,
                                                                 track_running_stats=True),
                                shape=(2, 3, 5)),
    "in2d": dict(cls="InstanceNorm2d", init=dict(num_features=3), shape=(2, 3, 4, 3)),
}


def bn_case(name, spec):
    p = f"bn/{name}"
    mod = getattr(nn, spec["cls"])(**spec["init"]).double()
    with torch.no_grad():                                     # non-trivial starting values
        for t in list(mod.parameters()) + [b for k, b in mod.named_buffers() if k != "num_batches_tracked"]:
            t.copy_(T(rng.uniform(0.5, 1.5, tuple(t.shape))))
    for k, v in mod.state_dict().items():
        put(p + "/sd", **{k: v})
    mod.train()
    for step in range(2):
        x = T(rng.standard_normal(spec["shape"]) * 2 + 1, True)
        put(p, **{f"x{step}": x})
        out = mod(x)
        put(p, **{f"out{step}": out})
        mod.zero_grad()
        weigh(out, p, f"R{step}").backward()
        put(p, **{f"grad_x{step}": x.grad})
        for k, prm in mod.named_parameters():
            put(p, **{f"pgrad{step}/{k}": prm.grad})
        for k, b in mod.named_buffers():
            put(p, **{f"buf{step}/{k}": b})
    mod.eval()
    x = T(rng.standard_normal(spec["shape"]))
    put(p, x_eval=x, out_eval=mod(x))


# ---------------------------------------------------------------- recurrent layers
RNN_CASES = {
    "rnn_tanh_2layer_bidirectional_batch_first": dict(cls="RNN", init=dict(input_size=3, hidden_size=4, num_layers=2,
                                                                          bidirectional=True, batch_first=True),
                                                      shape=(2, 5, 3), hx=True),
    "rnn_relu_no_bias": dict(cls="RNN", init=dict(input_size=3, hidden_size=4, nonlinearity="relu", bias=False),
                             shape=(6, 2, 3)),
    "lstm_2layer": dict(cls="LSTM", init=dict(input_size=3, hidden_size=5, num_layers=2), shape=(4, 3, 3), hx=True),
    "lstm_bidirectional_batch_first": dict(cls="LSTM", init=dict(input_size=2, hidden_size=3, bidirectional=True,
                                                                 batch_first=True), shape=(3, 4, 2)),
    "lstm_proj": dict(cls="LSTM", init=dict(input_size=3, hidden_size=4, proj_size=2, num_layers=2,
                                            bidirectional=True), shape=(4, 2, 3), hx=True),
    "gru_2layer_bidirectional": dict(cls="GRU", init=dict(input_size=3, hidden_size=4, num_layers=2,
                                                          bidirectional=True), shape=(5, 2, 3), hx=True),
    "gru_unbatched": dict(cls="GRU", init=dict(input_size=3, hidden_size=4), shape=(5, 3), hx=True),
    "lstm_packed_unsorted_bidirectional": dict(cls="LSTM", init=dict(input_size=3, hidden_size=4, bidirectional=True,
                                                                     batch_first=True),
                                               shape=(3, 5, 3), lengths=[3, 5, 2], hx=True),
    "gru_packed_sorted_2layer": dict(cls="GRU", init=dict(input_size=2, hidden_size=3, num_layers=2),
                                     shape=(4, 3, 2), lengths=[4, 2, 1]),
    "rnncell": dict(cls="RNNCell", init=dict(input_size=3, hidden_size=4, nonlinearity="relu"), shape=(2, 3), hx=True),
    "lstmcell": dict(cls="LSTMCell", init=dict(input_size=3, hidden_size=4), shape=(2, 3), hx=True),
    "grucell_unbatched": dict(cls="GRUCell", init=dict(input_size=3, hidden_size=4), shape=(3,), hx=True),
}


def rnn_case(name, spec):
    p = f"rnn/{name}"
    torch.manual_seed(0)
    mod = getattr(nn, spec["cls"])(**spec["init"]).double()
    for k, v in mod.state_dict().items():
        put(p + "/sd", **{k: v})
    x = T(rng.standard_normal(spec["shape"]), True)
    put(p, x=x)
    init = spec["init"]
    cell = spec["cls"].endswith("Cell")
    lstm = spec["cls"].startswith("LSTM")
    hx, leaves = None, {"x": x}
    if spec.get("hx"):
        h_out, hidden = init.get("proj_size") or init["hidden_size"], init["hidden_size"]
        if cell:
            lead = spec["shape"][:-1]
            shapes = [lead + (hidden,)] * (2 if lstm else 1)
        else:
            layers = init.get("num_layers", 1) * (2 if init.get("bidirectional") else 1)
            batch = () if len(spec["shape"]) == 2 else (spec["shape"][0 if init.get("batch_first") else 1],)
            shapes = [(layers, *batch, h_out)] + ([(layers, *batch, hidden)] if lstm else [])
        states = [T(rng.standard_normal(s), True) for s in shapes]
        for i, s in enumerate(states):
            leaves[f"h{i}"] = s
            put(p, **{f"h{i}": s})
        hx = tuple(states) if lstm else states[0]
    inp = x
    if spec.get("lengths"):
        put(p, lengths=np.array(spec["lengths"]))
        inp = pack_padded_sequence(x, torch.tensor(spec["lengths"]), batch_first=init.get("batch_first", False),
                                   enforce_sorted=False)
    out = mod(inp, hx)
    if cell:
        outs = list(out) if lstm else [out]
    else:
        seq, state = out
        if spec.get("lengths"):
            seq, _ = pad_packed_sequence(seq, batch_first=init.get("batch_first", False))
        outs = [seq] + (list(state) if lstm else [state])
    loss = 0
    for i, o in enumerate(outs):
        put(p, **{f"out{i}": o})
        loss = loss + weigh(o, p, f"R{i}")
    loss.backward()
    for k, t in leaves.items():
        put(p, **{f"grad_{k}": t.grad})
    for k, prm in mod.named_parameters():
        put(p + "/pgrad", **{k: prm.grad})


# ---------------------------------------------------------------- transformer layers
TFM_CASES = {
    "encoder_layer_post_norm_masks": dict(kind="enc_layer", init=dict(d_model=6, nhead=2, dim_feedforward=8,
                                                                      dropout=0.0), S=5, N=2, mask="float",
                                          kpm=True),
    "encoder_layer_pre_norm_gelu_batch_first": dict(kind="enc_layer", init=dict(d_model=8, nhead=4, dim_feedforward=12,
                                                                                dropout=0.0, activation="gelu",
                                                                                norm_first=True, batch_first=True),
                                                    S=4, N=3, mask="causal"),
    "encoder_2layers_final_norm_causal": dict(kind="encoder", init=dict(d_model=4, nhead=2, dim_feedforward=6,
                                                                        dropout=0.0, batch_first=True),
                                              layers=2, S=5, N=2, mask="causal", kpm=True),
    "decoder_layer": dict(kind="dec_layer", init=dict(d_model=6, nhead=3, dim_feedforward=10, dropout=0.0,
                                                      norm_first=True), S=4, T=3, N=2, mask="causal"),
    "transformer": dict(kind="transformer", init=dict(d_model=4, nhead=2, num_encoder_layers=1, num_decoder_layers=2,
                                                      dim_feedforward=6, dropout=0.0, batch_first=True),
                        S=5, T=4, N=2, mask="causal", kpm=True),
}


def tfm_case(name, spec):
    p = f"tfm/{name}"
    torch.manual_seed(0)
    init, kind = spec["init"], spec["kind"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "enc_layer":
            mod = nn.TransformerEncoderLayer(**init)
        elif kind == "dec_layer":
            mod = nn.TransformerDecoderLayer(**init)
        elif kind == "encoder":
            mod = nn.TransformerEncoder(nn.TransformerEncoderLayer(**init), spec["layers"], nn.LayerNorm(init["d_model"]))
        else:
            mod = nn.Transformer(**init)
    mod = mod.double()
    for prm in mod.parameters():                   # the deep-copied layers start equal: make them differ
        with torch.no_grad():
            prm.add_(T(rng.standard_normal(tuple(prm.shape)) * 0.1))
    for k, v in mod.state_dict().items():
        put(p + "/sd", **{k: v})
    bf, n, d = init.get("batch_first", False), spec["N"], init["d_model"]

    def seq(length):
        a = rng.standard_normal((n, length, d))
        return T(a if bf else a.transpose(1, 0, 2), True)

    src = seq(spec["S"])
    put(p, src=src)
    leaves = {"src": src}
    L = spec["T"] if kind in ("dec_layer", "transformer") else spec["S"]
    mask = None
    if spec.get("mask") == "causal":
        mask = nn.Transformer.generate_square_subsequent_mask(L, dtype=torch.float64)
    elif spec.get("mask") == "float":
        mask = T(rng.standard_normal((L, L)))
    kpm = None
    if spec.get("kpm"):
        kpm = np.zeros((n, spec["S"]), bool)
        kpm[0, -2:] = True
        put(p, kpm=kpm)
        kpm = torch.tensor(kpm)
    put(p, mask=mask)
    if kind == "enc_layer":
        out = mod(src, src_mask=mask, src_key_padding_mask=kpm)
    elif kind == "encoder":
        out = mod(src, mask=mask, src_key_padding_mask=kpm)
    else:
        tgt = seq(spec["T"])
        put(p, tgt=tgt)
        leaves["tgt"] = tgt
        if kind == "dec_layer":
            out = mod(tgt, src, tgt_mask=mask, memory_key_padding_mask=kpm)
        else:
            out = mod(src, tgt, tgt_mask=mask, src_key_padding_mask=kpm, memory_key_padding_mask=kpm)
    put(p, out=out)
    weigh(out, p).backward()
    for k, t in leaves.items():
        put(p, **{f"grad_{k}": t.grad})
    for k, prm in mod.named_parameters():
        put(p + "/pgrad", **{k: prm.grad})


# ---------------------------------------------------------------- modules with state (conv, pooling, resizing)
MOD_CASES = {
    "conv2d_reflect": dict(expr="nn.Conv2d(2, 4, 3, stride=2, padding=1, padding_mode='reflect')", shape=(2, 2, 7, 6)),
    "conv2d_same_circular_no_bias": dict(expr="nn.Conv2d(2, 2, (3, 2), padding='same', padding_mode='circular', "
                                              "bias=False)", shape=(1, 2, 5, 5)),
    "conv1d_replicate_groups": dict(expr="nn.Conv1d(4, 6, 3, padding=2, dilation=2, groups=2, "
                                         "padding_mode='replicate')", shape=(2, 4, 9)),
    "conv_transpose2d_output_size": dict(expr="nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)", shape=(2, 3, 4, 5),
                                         fwd=dict(output_size=[8, 10])),
    "maxpool2d_module": dict(expr="nn.MaxPool2d(2)", shape=(2, 3, 6, 5)),
    "avgpool2d_module": dict(expr="nn.AvgPool2d(3, stride=2, padding=1, divisor_override=4)", shape=(2, 3, 6, 5)),
    "adaptive_avgpool_module": dict(expr="nn.AdaptiveAvgPool2d((2, None))", shape=(2, 3, 5, 4)),
    "upsample_bilinear": dict(expr="nn.Upsample(scale_factor=2, mode='bilinear')", shape=(1, 2, 3, 4)),
    "upsampling_bilinear2d": dict(expr="nn.UpsamplingBilinear2d(size=(5, 7))", shape=(1, 2, 3, 4)),
    "reflection_pad2d": dict(expr="nn.ReflectionPad2d((1, 2, 2, 0))", shape=(1, 2, 3, 4)),
    "constant_pad1d": dict(expr="nn.ConstantPad1d((2, 1), 3.5)", shape=(2, 3, 4)),
    "prelu_module": dict(expr="nn.PReLU(3)", shape=(2, 3, 4)),
    "dropout2d_eval": dict(expr="nn.Dropout2d(0.5).eval()", shape=(2, 3, 4, 4)),
}


def mod_case(name, spec):
    p = f"mod/{name}"
    torch.manual_seed(0)
    mod = eval(spec["expr"]).double()
    for k, v in mod.state_dict().items():
        put(p + "/sd", **{k: v})
    x = T(rng.standard_normal(spec["shape"]), True)
    out = mod(x, **spec.get("fwd", {}))
    put(p, x=x, out=out)
    weigh(out, p).backward()
    put(p, grad_x=x.grad)
    for k, prm in mod.named_parameters():
        put(p + "/pgrad", **{k: prm.grad})


# ---------------------------------------------------------------- printed forms
REPRS = [
    "nn.ReLU(inplace=True)", "nn.LeakyReLU()", "nn.LeakyReLU(0.2, inplace=True)", "nn.ELU(alpha=0.5)", "nn.SELU()",
    "nn.CELU()", "nn.Softplus()", "nn.Mish()", "nn.Hardtanh(-2.0, 2.0)", "nn.ReLU6(inplace=True)", "nn.LogSigmoid()",
    "nn.Softmin(dim=1)", "nn.Softmax2d()", "nn.Softshrink()", "nn.Hardshrink(0.3)", "nn.Hardsigmoid()",
    "nn.Hardswish()", "nn.Threshold(0.1, 20.0)", "nn.GLU()", "nn.PReLU()", "nn.PReLU(3, 0.1)", "nn.RReLU()",
    "nn.SiLU(inplace=True)", "nn.Dropout2d()", "nn.Dropout1d(0.3)", "nn.CosineSimilarity()", "nn.PairwiseDistance()",
    "nn.BCELoss()", "nn.BCEWithLogitsLoss()", "nn.L1Loss()", "nn.SmoothL1Loss()", "nn.HuberLoss()", "nn.KLDivLoss()",
    "nn.Conv2d(1, 32, 3)", "nn.Conv1d(4, 8, 3, 2, 1, 2, 2, False, 'reflect')", "nn.Conv2d(2, 4, 3, padding='same')",
    "nn.ConvTranspose2d(4, 2, 3, 2, 1, 1)", "nn.Conv3d(2, 4, (1, 2, 3))", "nn.MaxPool2d(2)", "nn.MaxPool1d(3, 2, 1)",
    "nn.AvgPool1d(3)", "nn.AvgPool2d(2)", "nn.AvgPool3d(2, 1, 1)", "nn.AdaptiveAvgPool2d((1, 1))",
    "nn.AdaptiveMaxPool1d(3)", "nn.Unfold(2)", "nn.Fold((4, 5), 2)", "nn.ZeroPad2d(1)", "nn.ZeroPad1d(2)",
    "nn.ConstantPad2d((1, 2, 3, 4), 1.0)", "nn.ReflectionPad1d((1, 2))", "nn.ReplicationPad2d(1)",
    "nn.CircularPad3d(1)", "nn.Upsample()", "nn.Upsample(scale_factor=2, mode='bilinear')",
    "nn.UpsamplingNearest2d(scale_factor=2)", "nn.UpsamplingBilinear2d((3, 3))", "nn.PixelShuffle(2)",
    "nn.PixelUnshuffle(3)", "nn.BatchNorm1d(10)", "nn.BatchNorm2d(3, 1e-3, None, False, False)",
    "nn.BatchNorm2d(3, bias=False)", "nn.InstanceNorm2d(3)", "nn.LocalResponseNorm(2)",
    "nn.LSTM(3, 4, 2, batch_first=True, dropout=0.1, bidirectional=True)", "nn.GRU(3, 4)",
    "nn.RNN(3, 4, nonlinearity='relu', bias=False)", "nn.LSTM(3, 4, proj_size=2)", "nn.LSTMCell(3, 4)",
    "nn.RNNCell(3, 4, nonlinearity='relu')", "nn.GRUCell(3, 4, bias=False)",
    "nn.TransformerEncoderLayer(8, 2, 16)", "nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2)",
    "nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)",
    "nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True), nn.MaxPool2d(2), "
    "nn.Flatten(), nn.Dropout(0.5), nn.Linear(8 * 14 * 14, 10))",
]


def reprs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data["reprs"] = np.array(json.dumps({e: repr(eval(e)) for e in REPRS}))
        shapes = {e: {k: list(v.shape) for k, v in eval(e).state_dict().items()} for e in REPRS}
    data["state_shapes"] = np.array(json.dumps(shapes))


def main():
    for name, spec in FN_CASES.items():
        fn_case(name, spec)
    for name, spec in BN_CASES.items():
        bn_case(name, spec)
    for name, spec in RNN_CASES.items():
        rnn_case(name, spec)
    for name, spec in TFM_CASES.items():
        tfm_case(name, spec)
    for name, spec in MOD_CASES.items():
        mod_case(name, spec)
    reprs()
    tables = {"fn": FN_CASES, "bn": BN_CASES, "rnn": RNN_CASES, "tfm": TFM_CASES, "mod": MOD_CASES}
    for k, v in tables.items():
        data[f"{k}/cases"] = np.array(json.dumps(v))
    save_npz(OUT, data)
    print(f"wrote {OUT} ({len(data)} arrays, {OUT.stat().st_size / 1024:.0f} KiB) with torch {torch.__version__}")


if __name__ == "__main__":
    main()
