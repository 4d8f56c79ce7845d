"""Smoke tests of experiments/: every script runs end to end with --smoke (3 steps of a tiny model) and writes
its JSON, Markdown table and SVG plots (matplotlib: the [plots] extra); plus the pieces with numbers in them (power-law fit, matched d_ff,
spike count, evaluation shapes). The measured results themselves are in docs/experiments.md."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="the experiments draw their plots with matplotlib (the [plots] extra)")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from experiments import (common, head_patterns, norms_activations, positional_extrapolation,  # noqa: E402
                         residual_layouts, run_all, scaling)
from figure_svg import legend, lines, markers, parse as svg, texts  # noqa: E402


def run(module, tmp_path):
    res = module.main(["--smoke", "--quiet", "--out", str(tmp_path)])
    name = module.NAME
    data = json.loads((tmp_path / f"{name}.json").read_text())
    table = (tmp_path / f"{name}.md").read_text()
    assert table.startswith("| ") and "---:" in table
    for p in res["plots"]:
        assert Path(p).parent == tmp_path
        svg(p)
    return res, data, table


def test_residual_layouts_smoke(tmp_path):
    res, data, table = run(residual_layouts, tmp_path)
    arms = list(residual_layouts.ARMS)
    depths = residual_layouts.SMOKE["depths"]
    assert len(data["runs"]) == len(arms) * len(depths) * len(residual_layouts.SMOKE["seeds"])
    assert {r["arm"] for r in data["runs"]} == set(arms)
    for r in data["runs"]:
        assert len(r["train_loss"]) == len(r["grad_norm"]) == residual_layouts.SMOKE["steps"]
        assert math.isfinite(r["final_val_loss"]) and not r["diverged"]
    root = svg(tmp_path / "residual_layouts_depth.svg")
    assert len(lines(root)) == len(arms) and legend(root) == arms
    assert markers(root) == len(arms) * len(depths)
    assert table.count("\n") == 2 + len(arms) * len(depths)


def test_norms_activations_smoke(tmp_path):
    res, data, _ = run(norms_activations, tmp_path)
    assert len(data["summary"]) == 6
    for s in data["summary"]:
        assert abs(s["param_diff"]) < 0.01                     # equal parameter count within 1%
    swiglu = [s for s in data["summary"] if s["activation"] == "swiglu"]
    assert all(s["d_ff"] < norms_activations.SMOKE["d_ff"] for s in swiglu)
    assert len(lines(svg(tmp_path / "norms_activations_curves.svg"))) == 6


def test_matched_d_ff_documented_settings():
    f = norms_activations.FULL
    base = dict(d_model=f["d_model"], n_layer=f["n_layer"], n_head=f["n_head"], d_ff=f["d_ff"],
                context_length=f["seq_len"], norm="layernorm")
    data = common.char_data()
    ref = common.count_parameters(common.model_config(data, **base, activation="gelu"))
    d_ff = norms_activations.matched_d_ff(base, "swiglu", ref)
    n = common.count_parameters(common.model_config(data, **{**base, "d_ff": d_ff}, activation="swiglu"))
    assert abs(n - ref) / ref < 0.01
    assert abs(d_ff - 2 / 3 * f["d_ff"]) <= 3                   # about 2/3 of the ungated width


def test_positional_extrapolation_smoke(tmp_path):
    res, data, table = run(positional_extrapolation, tmp_path)
    T = positional_extrapolation.SMOKE["seq_len"]
    assert [s["position"] for s in data["summary"]] == positional_extrapolation.POSITIONS
    for r in data["runs"]:
        assert len(r["per_position"]["2"]) == 2 * T - 1         # one loss per prediction in a 2T window
        assert r["loss_2x_beyond"] is not None
    learned = [r for r in data["runs"] if r["position"] == "learned"][0]
    assert learned["n_params"] > [r for r in data["runs"] if r["position"] == "rope"][0]["n_params"]
    root = svg(tmp_path / "positional_extrapolation.svg")
    assert len(lines(root)) == len(positional_extrapolation.POSITIONS)
    assert f"T={T}: first position never trained" in texts(root)


def test_scaling_smoke_and_fit(tmp_path):
    res, data, _ = run(scaling, tmp_path)
    s = scaling.SMOKE
    assert len(data["runs"]) == len(s["widths"]) * len(s["depths"])
    root = svg(tmp_path / "scaling.svg")
    assert len(lines(root)) == 1 + len(s["depths"])             # the fits; the runs are points
    assert markers(root) == len(data["runs"])
    # the fit recovers a known law
    n = np.geomspace(1e3, 1e6, 9)
    fit, plain = scaling.fit_power_law(n, 3.0 * n ** -0.3 + 1.2)
    assert fit["b"] == pytest.approx(0.3, abs=0.02) and fit["c"] == pytest.approx(1.2, abs=0.02)
    assert fit["rmse"] < 1e-2 < plain["rmse"]


def test_head_patterns_smoke(tmp_path):
    res, data, _ = run(head_patterns, tmp_path)
    s = head_patterns.SMOKE
    assert len(data["after"]) == len(data["before"]) == s["n_layer"] * s["n_head"]
    prof = np.asarray(data["distance_profile"])
    assert prof.shape == (s["n_layer"], s["n_head"], s["max_offset"] + 1)
    assert len(lines(svg(tmp_path / "head_patterns_distance.svg"))) == s["n_layer"] * s["n_head"]
    assert (tmp_path / "head_patterns_analysis.svg").stat().st_size > 0


def test_run_all_smoke_subset(tmp_path):
    out = run_all.main(["--smoke", "--quiet", "--out", str(tmp_path), "--only", "scaling"])
    assert list(out["seconds"]) == ["scaling"]
    assert (tmp_path / "scaling.json").exists() and (tmp_path / "run_all.json").exists()


def test_spikes_and_evaluation():
    assert common.count_spikes([2.0] * 15) == 0
    assert common.count_spikes([2.0] * 12 + [2.5] + [2.0] * 3) == 1
    assert common.count_spikes([2.0] * 12 + [float("nan")]) == 1
    assert np.allclose(common.smooth([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])
    data = common.char_data()
    w = common.eval_windows(data.val, 12, 5)
    assert w.shape == (5, 12) and (common.eval_windows(data.val, 12, 5) == w).all()
    import tinygrad_tf as tg
    from tinygrad_tf.nn.models import GPT
    tg.manual_seed(0)
    model = GPT(common.model_config(data, context_length=12, d_model=8, n_layer=1, n_head=2))
    per_pos = common.per_position_loss(model, w, batch_size=2)
    assert per_pos.shape == (11,)
    assert abs(per_pos.mean() - math.log(data.vocab_size)) < 0.3     # untrained: about uniform guessing
