"""The rich readouts of tinygrad_tf.viz: attention, gradients, summaries, the training dashboard, SVG export.

Every readout is rendered on a recording console (``Console(file=io.StringIO(), width=100, record=True)``,
which has no colour system, so the shade fallback is what prints), and on a forced true-colour console
where colours matter. The numbers (entropy, masses, rollout) are checked against hand-computed values.
"""

from __future__ import annotations

import io
import json
import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from rich.console import Console

import tinygrad_tf as tg
from tinygrad_tf import nn, viz
from tinygrad_tf.nn.models import GPT, GPTConfig, T5, T5Config, count_parameters
from tinygrad_tf.viz.attention_analysis import analyze_head, attention_rollout
from tinygrad_tf.viz.readout import SHADES, VIRIDIS, VIRIDIS_ANCHORS, fmt_num, sparkline
from tinygrad_tf.viz.summary import fmt_flops


# ---------------------------------------------------------------- helpers
def render(obj, width=100, colour=False, **kw) -> str:
    if colour:
        c = Console(file=io.StringIO(), width=width, force_terminal=True, color_system="truecolor", _environ={})
        c.print(obj)
        return c.file.getvalue()
    c = Console(file=io.StringIO(), width=width, record=True, **kw)
    c.print(obj)
    return c.export_text()


def cell_rows(out: str) -> list[str]:
    """The heatmap's rows ("  3 d ██░░  ...") of a rendering."""
    return [ln for ln in out.splitlines() if re.match(r"^\s*\d+ \S+ ", ln) and "[" not in ln]


def causal_uniform(t):
    m = np.tril(np.ones((t, t)))
    return m / m.sum(1, keepdims=True)


def previous_token_head(t, strength=0.9):
    m = np.zeros((t, t))
    m[0, 0] = 1.0
    for q in range(1, t):
        m[q, :q + 1] = (1 - strength) / (q + 1)
        m[q, q - 1] += strength
    return m


def first_token_head(t, strength=0.9):
    m = causal_uniform(t) * (1 - strength)
    m[:, 0] += strength
    m[0, 0] = 1.0
    return m


@pytest.fixture(scope="module")
def tiny_gpt():
    tg.manual_seed(0)
    return GPT(GPTConfig(vocab_size=16, context_length=16, d_model=16, n_layer=2, n_head=2))


@pytest.fixture(scope="module")
def tiny_t5():
    tg.manual_seed(0)
    return T5(T5Config(vocab_size=20, d_model=16, n_layer=2, n_head=2, d_ff=32))


# ---------------------------------------------------------------- colours and glyphs
def test_viridis_table_interpolates_the_anchors():
    assert len(VIRIDIS) == 256
    hexes = ["#%02x%02x%02x" % c for c in VIRIDIS]
    assert hexes[0] == VIRIDIS_ANCHORS[0] and hexes[-1] == VIRIDIS_ANCHORS[-1]
    lum = [0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b in VIRIDIS]
    assert all(b >= a - 1.0 for a, b in zip(lum, lum[1:]))          # (nearly) monotone lightness


def test_sparkline_marks_missing_and_bad_values():
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert sparkline([1.0, None, float("nan"), 0.0], log=True) == "▅·!_"


def test_display_token_makes_whitespace_visible():
    assert [viz.display_token(t) for t in (" ", "\n", "\t", "Ġthe", "a b")] == ["␣", "⏎", "⇥", "␣the", "a␣b"]


# ---------------------------------------------------------------- attention: numbers
def test_entropy_of_uniform_and_one_hot_attention():
    t = 8
    uni = analyze_head(np.full((t, t), 1 / t), mask=None)
    assert uni.entropy == pytest.approx(math.log(t), abs=1e-12)
    assert uni.normalized_entropy == pytest.approx(1.0, abs=1e-12)
    assert "broad/uniform" in uni.patterns
    one_hot = analyze_head(np.eye(t), mask=None)
    assert one_hot.entropy == 0.0 and one_hot.normalized_entropy == 0.0
    assert one_hot.patterns[0] == "self"
    # causal uniform: row q sees q + 1 keys, so its entropy is log(q + 1); row 0 (forced) is left out
    causal = analyze_head(causal_uniform(t), mask="auto")
    assert causal.entropy == pytest.approx(np.mean([math.log(q + 1) for q in range(1, t)]), abs=1e-12)
    assert causal.normalized_entropy == pytest.approx(1.0, abs=1e-12)


def test_pattern_tags_detect_previous_token_and_first_token_heads():
    t = 10
    prev = analyze_head(previous_token_head(t), mask="auto")
    assert prev.patterns[0] == "previous-token"
    assert prev.mass["previous"] == pytest.approx(0.9 + 0.1 * np.mean([1 / (q + 1) for q in range(1, t)]))
    assert prev.mass["next"] is None                            # masked under a causal mask: n/a, not 0
    top = prev.top_connections[0]                                # row 1: 0.9 + 0.1 / 2 on key 0
    assert (top["query"], top["key"], top["weight"]) == (1, 0, pytest.approx(0.95))
    first = analyze_head(first_token_head(t), mask="auto")
    assert first.patterns[0] == "first-token/sink"
    assert "previous-token" not in first.patterns
    delim = analyze_head(np.tile(np.eye(4)[3], (4, 1)), mask=None, x_tokens=["[CLS]", "a", "b", "[SEP]"])
    assert "delimiter" in delim.patterns


def test_auto_mask_is_structural_not_every_zero():
    t = 8
    m = np.zeros((t, t))
    m[0, 0] = 1.0
    m[np.arange(1, t), np.arange(t - 1)] = 0.9                   # exact zeros everywhere else below the diagonal
    m[np.arange(1, t), np.arange(1, t)] = 0.1
    st = analyze_head(m, mask="auto")
    assert st.mass["first"] == pytest.approx(0.9 / (t - 1))      # zeros on key 0 count: they are not masked
    assert st.patterns == ["previous-token"]
    padded = np.full((3, 4), 1 / 3)
    padded[:, 3] = 0                                             # a padded key: zero for every query
    assert viz.AttentionHeatmap(padded).mask[:, 3].all() and not viz.AttentionHeatmap(padded).mask[:, :3].any()


def test_uniform_attention_on_a_short_sequence_is_not_tagged_as_a_position():
    # 3 of 4 tokens are delimiters: uniform attention puts 0.75 on them, but that is no pattern
    st = analyze_head(np.full((4, 4), 0.25), mask=None, x_tokens=["[CLS]", "hi", ".", "[SEP]"])
    assert st.patterns == ["broad/uniform"]


def test_rollout_of_identity_attention_is_identity_and_of_one_layer_is_residual_mix():
    eye = np.broadcast_to(np.eye(5), (3, 2, 5, 5))
    assert np.allclose(attention_rollout(eye), np.eye(5))
    a = causal_uniform(4)
    expected = (a + np.eye(4)) / (a + np.eye(4)).sum(1, keepdims=True)
    assert np.allclose(attention_rollout(a[None, None]), expected)
    assert np.allclose(attention_rollout(np.stack([a[None], a[None]])), expected @ expected)


# ---------------------------------------------------------------- attention: drawings
def test_heatmap_renders_labels_legend_and_analysis():
    toks = list("hello")
    out = render(viz.AttentionHeatmap(previous_token_head(5), toks, title="layer 0 head 1"))
    assert "layer 0 head 1" in out
    assert "4 o ░░" in out                                       # row label: index and token, then cells
    assert "h e l l o" in out                                    # keys along the top
    assert "blank = 0 or masked" in out and "previous-token" in out and "entropy" in out


def test_colour_heatmap_uses_viridis_backgrounds_and_square_cells():
    out = render(viz.AttentionHeatmap(causal_uniform(4), list("abcd")), colour=True)
    r, g, b = VIRIDIS[-1]
    assert f"48;2;{r};{g};{b}m██" in out                         # the largest weight: viridis' yellow, 2 chars
    assert "viridis" in out


def test_no_color_falls_back_to_shades(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    c = Console(file=io.StringIO(), width=100, force_terminal=True)
    c.print(viz.AttentionHeatmap(previous_token_head(6), list("abcdef")))
    out = c.file.getvalue()
    assert "\x1b[38;2" not in out and "48;2" not in out
    assert "██" in out and "░░" in out and set(SHADES) & set(out)


def test_masked_cells_are_blank():
    t = 5
    out = render(viz.AttentionHeatmap(causal_uniform(t), list("abcde"), show_stats=False))
    rows = cell_rows(out)
    assert len(rows) == t
    start = rows[0].index("a ") + 2                               # cells begin after "idx token "
    for q, line in enumerate(rows):
        cells = line[start:start + 2 * t].ljust(2 * t)
        for k in range(t):
            cell = cells[2 * k:2 * k + 2]
            assert (cell == "  ") == (k > q), (q, k, line)


def test_explicit_mask_and_exact_zeros():
    m = np.full((3, 3), 1 / 3)
    mask = np.array([[False, False, True]] * 3)
    out = render(viz.AttentionHeatmap(m, list("xyz"), mask=mask, show_stats=False))
    rows = cell_rows(out)
    assert [ln[ln.index(tok) + 2:].rstrip() for ln, tok in zip(rows, "xyz")] == ["████"] * 3   # column z blank


def test_long_sequences_are_windowed_and_the_window_is_said():
    m = causal_uniform(40)
    out = render(viz.AttentionHeatmap(m, [f"t{i}" for i in range(40)], max_tokens=10))
    assert "showing 30–39 of 40" in out and "last 10" in out
    out = render(viz.AttentionHeatmap(m, None, max_tokens=10, window="first"))
    assert "showing 0–9 of 40" in out
    wide = render(viz.AttentionHeatmap(m, None), width=60)         # fits the console by itself
    assert "of 40" in wide and max(len(ln) for ln in wide.splitlines()) <= 60


def test_gpt_attention_maps_grid_analysis_rollout(tiny_gpt):
    ids = [1, 2, 3, 4, 5, 6]
    maps = viz.attention_maps(tiny_gpt, ids, tokens=list("abc,de"))
    assert maps.names == ["attention"]
    s = maps.stack()
    assert s.weights.shape == (2, 2, 6, 6) and s.mask[0, 1] and not s.mask[1, 0]
    out = render(maps.overview())
    assert "L0" in out and "L1" in out and "h0" in out and "h1" in out and "captions" in out
    out = render(maps.analysis())
    assert "per-head analysis" in out and "previous-token: previous ≥ 0.5" in out and "1.1" in out
    out = render(maps.rollout())
    assert "attention rollout" in out
    assert np.allclose(maps.rollout().matrix.sum(1), 1.0)
    out = render(maps.heatmap(1, 0))
    assert "layer 1 · head 0" in out
    with pytest.raises(IndexError, match="layer 2 out of range"):
        maps.heatmap(2, 0)


def test_t5_encoder_decoder_and_rectangular_cross_attention(tiny_t5):
    src, tgt = [5, 6, 7, 8, 1], [0, 9, 10]
    maps = viz.attention_maps(tiny_t5, src, decoder_input_ids=tgt, tokens=list("abcde"),
                              decoder_tokens=["<s>", "X", "Y"])
    assert set(maps.names) == {"encoder", "decoder", "cross"}
    cross = maps.stack("cross")
    assert cross.weights.shape == (2, 2, 3, 5)
    assert cross.x_tokens == list("abcde") and cross.y_tokens == ["<s>", "X", "Y"]
    out = render(maps.heatmap(0, 1, stack="cross"))
    assert "cross-attention" in out and "a b c d e" in out and "<s>" in out
    st = cross.stats(0, 1)
    assert st.mass["previous"] is None and st.mass["first"] is not None
    out = render(maps.analysis("cross"))
    assert "prev" not in out.split("\n")[1]                      # no positional columns for cross-attention
    with pytest.raises(ValueError, match="square"):
        maps.rollout("cross")
    assert maps.rollout().stack_name == "encoder"


def test_json_records_in_the_web_shape(tiny_gpt):
    maps = viz.attention_maps(tiny_gpt, [1, 2, 3, 4], tokens=list("wxyz"))
    recs = json.loads(maps.to_json())
    assert len(recs) == 2 * 2
    assert {"layer", "head", "matrix", "x_labels", "y_labels", "entropy", "patterns", "top_connections"} <= set(recs[0])
    assert np.array(recs[3]["matrix"]).shape == (4, 4) and recs[3]["x_labels"] == list("wxyz")
    assert (recs[3]["layer"], recs[3]["head"]) == (1, 1)
    assert {"query", "key", "weight"} <= set(recs[0]["top_connections"][0])
    full = json.loads(maps.to_json(layout="full"))
    assert full["stacks"]["attention"]["n_head"] == 2 and full["thresholds"]["previous-token"] == 0.5
    hm = json.loads(maps.heatmap(0, 1).to_json())
    assert hm["layer"] == 0 and hm["head"] == 1 and len(hm["matrix"]) == 4


def test_bertviz_layouts():
    a = np.stack([np.stack([causal_uniform(3)] * 2)] * 4)            # (L=4, H=2, 3, 3)
    d = viz.attention_maps(a, tokens=["a", "b", "c"]).to_bertviz()
    assert set(d) == {"tokens", "attention"} and np.array(d["attention"]).shape == (4, 2, 3, 3)
    enc = np.full((2, 2, 4, 4), 0.25)
    dec = np.stack([np.stack([causal_uniform(3)] * 2)] * 2)
    cross = np.full((2, 2, 3, 4), 0.25)
    maps = viz.attention_maps({"encoder": enc, "decoder": dec, "cross": cross}, tokens=list("abcd"),
                              decoder_tokens=list("XYZ"))
    d = maps.to_bertviz()
    assert set(d) == {"encoder_attention", "decoder_attention", "cross_attention", "encoder_tokens", "decoder_tokens"}
    assert np.array(d["cross_attention"]).shape == (2, 2, 3, 4)
    assert d["encoder_tokens"] == list("abcd") and d["decoder_tokens"] == list("XYZ")
    json.dumps(d)


# ---------------------------------------------------------------- gradients
class _Three(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.c, self.unused = nn.Linear(3, 3), nn.Linear(3, 3), nn.Linear(3, 1), nn.Linear(2, 2)

    def forward(self, x):
        return self.c(self.b(self.a(x)))


def test_grad_monitor_flags_nan_zero_exploding_and_no_grad():
    tg.manual_seed(0)
    m = _Three()
    m(tg.randn(4, 3)).sum().backward()
    m.a.weight.grad.data[0, 0] = np.nan
    m.b.bias.grad.data[:] = 0
    m.c.weight.grad.data[:] = 1e3
    mon = viz.grad_table(m, explode=10.0)
    flags = dict(mon.problems())
    assert flags["a.weight"] == ["NaN"] and flags["b.bias"] == ["zero"] and flags["c.weight"] == ["exploding"]
    assert flags["unused.weight"] == ["no grad"]
    assert "a.bias" not in flags
    assert mon.latest["c.weight"].grad_norm == pytest.approx(1e3 * math.sqrt(3))
    assert mon.layers["a"].flags == ["NaN"] and mon.layers["a"].numel == 12
    out = render(mon, width=110)
    for text in ("a.weight", "NaN", "exploding", "zero", "no grad", "gradients per layer", "total |grad|"):
        assert text in out
    d = json.loads(mon.to_json())
    assert {p["name"] for p in d["parameters"]} >= {"a.weight", "c.bias"} and d["thresholds"]["explode"] == 10.0


def test_grad_monitor_hooks_catch_gradients_that_are_cleared_before_record(tiny_gpt):
    ids = tg.tensor([[1, 2, 3, 4, 5]])
    with viz.GradientMonitor(tiny_gpt, hooks=True, history=8) as mon:
        for step in range(3):
            tiny_gpt(ids, labels=ids).loss.backward()
            tiny_gpt.zero_grad()                                    # the Trainer clears .grad before callbacks
            mon({"step": step + 1})
    assert mon.step == 3 and len(mon.history["wte.weight"]) == 3
    assert mon.latest["wte.weight"].grad_norm > 0 and not mon.latest["wte.weight"].flags
    assert list(mon.layers) == ["wte", "wpe", "blocks.0", "blocks.1", "ln_f"]
    assert mon.total_grad_norm > 0
    assert not tiny_gpt.wte.weight._hooks                           # removed on exit


class _Layers(nn.Module):
    """Four one-Linear layers in float64, for hand-checked readings."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(4, 3, dtype=tg.float64) for _ in range(4))

    def forward(self, x):
        return sum(layer(x).sum() for layer in self.layers[:3])          # layers.3 is unused: no grad


def _row(out: str, name: str) -> list[str]:
    """The whitespace-separated cells of the rendered table row that starts with ``name`` (the lines under a
    gradient table, from "total |grad|" on, are notes, not rows)."""
    rows = [ln.split() for ln in out.split("\ntotal |grad|")[0].splitlines() if ln.split()[:1] == [name]]
    assert len(rows) == 1, (name, out)
    return rows[0]


def test_grad_table_shows_the_computed_norms():
    tg.manual_seed(0)
    m = _Three()
    m(tg.randn(4, 3)).sum().backward()
    mon = viz.grad_table(m, show="params")
    out = render(mon)                                           # Console(width=100, record=True, file=StringIO)
    assert out.splitlines()[1].split()[:6] == ["parameter", "|w|", "|grad|", "|g|/|w|", "%0", "history"]
    for name, p in m.named_parameters():                        # one reading: no update column yet
        w = np.linalg.norm(p.data.astype(np.float64))
        cells = _row(out, name)
        assert cells[1] == fmt_num(w)
        if p.grad is None:
            assert cells[2:5] == ["—", "—", "—"] and "no grad" in " ".join(cells)
            continue
        g = np.linalg.norm(p.grad.data.astype(np.float64))
        zeros = 100 * np.mean(p.grad.data == 0)
        assert cells[2:5] == [fmt_num(g), fmt_num(g / w), f"{zeros:.1f}%"], (name, cells)
    wide = render(mon, width=120)                               # room for the shapes
    assert _row(wide, "a.weight")[1:3] == ["3×3", fmt_num(np.linalg.norm(m.a.weight.data))]


def test_update_ratio_of_a_hand_made_sgd_step():
    from tinygrad_tf.optim import SGD
    tg.manual_seed(0)
    m, lr = _Layers(), 0.01
    opt = SGD(m.parameters(), lr=lr)
    monitor = viz.GradientMonitor(m, show="params")
    m(tg.randn(5, 4, dtype=tg.float64)).backward()
    before = {n: p.data.copy() for n, p in m.named_parameters()}
    monitor.record(0)                                           # copies the weights
    opt.step()                                                  # w <- w - lr * g
    monitor.record(1)                                           # the same gradients, and how far w moved
    out = render(monitor)
    for name, p in m.named_parameters():
        if p.grad is None:
            continue
        expected = math.log10(lr * np.linalg.norm(p.grad.data) / np.linalg.norm(before[name]))
        assert monitor.latest[name].update == pytest.approx(expected, abs=1e-9)
        assert _row(out, name)[4] == f"{expected:.2f}"          # the "update" column, as rendered
    unused = monitor.latest["layers.3.weight"]
    assert unused.grad_norm is None and unused.update == -math.inf     # no gradient: SGD left it where it was
    layer = monitor.layers["layers.0"]
    grads = [m.layers[0].weight.grad.data, m.layers[0].bias.grad.data]
    w0 = [before["layers.0.weight"], before["layers.0.bias"]]
    expected = math.log10(lr * math.sqrt(sum((g ** 2).sum() for g in grads))
                          / math.sqrt(sum((w ** 2).sum() for w in w0)))
    assert layer.update == pytest.approx(expected, abs=1e-9)
    assert "┼ = -3, healthy" in out                             # the reference is stated on screen
    layers = render(viz.GradientMonitor(m, show="layers").record(0).record(1))   # no step: nothing moved
    assert "-inf" in layers
    assert viz.gradients.update_gauge(-3.0) == "────●────"       # the marker sits on the reference
    assert viz.gradients.update_gauge(-2.0) == "────┼─●──" and viz.gradients.update_gauge(-7) == "◀───┼────"


def test_percent_zeros_nan_inf_counts_and_badges_with_thresholds():
    tg.manual_seed(0)
    emb = nn.Embedding(10, 4)
    emb(tg.tensor([1, 2, 2])).sum().backward()                  # only rows 1 and 2 get a gradient
    mon = viz.grad_table({"emb": emb.weight})
    assert mon.latest["emb"].zero_fraction == 0.8
    assert _row(render(mon, width=100), "emb")[4] == "80.0%"

    m = _Layers()
    m(tg.randn(2, 4, dtype=tg.float64)).backward()
    m.layers[0].weight.grad.data[0, :3] = np.nan
    m.layers[0].bias.grad.data[0] = np.inf
    m.layers[1].weight.grad.data[:] = 100.0                     # |grad| = 100 * sqrt(12) > 50
    m.layers[2].weight.grad.data[:] = 1e-5                      # |grad| = 1e-5 * sqrt(12) < 1e-3
    m.layers[2].bias.grad.data[:] = 0
    mon = viz.grad_table(m, explode=50, vanish=1e-3)
    out = render(mon)
    assert "NaN×3" in _row(out, "layers.0.weight") and "inf×1" in _row(out, "layers.0.bias")
    assert mon.latest["layers.0.weight"].n_nan == 3 and mon.latest["layers.0.bias"].n_inf == 1
    assert _row(out, "layers.1.weight")[-1] == "exploding" and _row(out, "layers.2.weight")[-1] == "vanishing"
    assert _row(out, "layers.2.bias")[-1] == "zero" and _row(out, "layers.3.weight")[-2:] == ["no", "grad"]
    assert mon.latest["layers.0.weight"].grad_norm == pytest.approx(np.linalg.norm(np.nan_to_num(
        m.layers[0].weight.grad.data, nan=0.0)))               # NaN entries counted, then left out of the norm
    assert "exploding |grad| > 50 · vanishing 0 < |grad| < 0.001" in out
    assert mon.layers["layers.0"].flags == ["NaN", "inf"] and "NaN×3 inf×1" in " ".join(_row(out, "layers.0"))


def test_layer_bars_are_proportional_to_the_layer_norms():
    m = _Layers()
    m(tg.randn(2, 4, dtype=tg.float64)).backward()
    norms = {"layers.0": 4.0, "layers.1": 3.0, "layers.2": 0.3}
    for i, (name, norm) in enumerate(norms.items()):
        m.layers[i].weight.grad.data[:] = 0
        m.layers[i].weight.grad.data[0, 0] = norm
        m.layers[i].bias.grad.data[:] = 0
    mon = viz.grad_table(m, show="layers")
    out = render(mon)
    bars = {}
    for name, norm in norms.items():
        cells = _row(out, name)                                    # layer, params, |grad|, bar, |g|/|w|, ...
        assert cells[2] == fmt_num(norm)
        full, part = re.fullmatch(r"(█*)([▏▎▍▌▋▊▉]?)", cells[3]).groups()
        bars[name] = 8 * len(full) + (" ▏▎▍▌▋▊▉".index(part) if part else 0)
    width = bars["layers.0"] // 8                                  # the largest layer fills the bar
    assert bars["layers.0"] == 8 * width and width >= 8
    for name, norm in norms.items():
        assert bars[name] == round(norm / 4.0 * width * 8), (name, bars)
    assert viz.gradients.bar(3.0, 4.0, 16) == "█" * 12 + " " * 4
    assert "bars: |grad|, linear" in out or "bars: layer |grad|, linear" in out


# ---------------------------------------------------------------- summaries
def test_model_summary_counts_match_num_parameters_and_shapes(tiny_gpt, tiny_t5):
    s = viz.model_summary(tiny_gpt, input_ids=[[1, 2, 3]])
    assert s.total == tiny_gpt.num_parameters()
    assert s.tied == [["wte.weight", "lm_head.weight"]]
    rows = {r["path"]: r for r in s.to_dict()["modules"]}
    assert rows[""]["output_shape"] == [1, 3, 16] and rows["blocks.0.attn"]["output_shape"] == [1, 3, 16]
    assert rows["blocks.0"]["parameters"] == sum(p.numel() for p in tiny_gpt.blocks[0].parameters())
    out = render(s)
    assert "blocks.0.attn" in out and "MultiHeadAttention" in out and "1×3×16" in out and "tied" in out
    assert "MiB" in out
    t5 = viz.model_summary(tiny_t5, [[1, 2, 3]], depth=1)
    assert t5.total == tiny_t5.num_parameters() and all(r["level"] <= 1 for r in t5.rows)


def test_config_summary_adds_up_without_allocating():
    for cfg in (GPTConfig.preset("gpt2"), T5Config.preset("t5-small")):
        cs = viz.config_summary(cfg)
        assert cs.total == count_parameters(cfg)
        top = [c for c in cs.to_dict()["components"] if not c["part_of_layer"]]
        assert sum(c["parameters"] for c in top) == cs.total
    out = render(viz.config_summary(GPTConfig.preset("gpt2")))
    assert "124,439,808" in out and "12 × layer" in out and "feed-forward" in out
    assert viz.model_summary(GPTConfig.preset("gpt2")).total == 124_439_808


def test_summary_flops_of_a_linear():
    lin = nn.Linear(5, 7)
    s = viz.model_summary(lin, tg.randn(2, 3, 5))
    assert s.flops == 2 * 5 * 7 * (2 * 3)                        # 2 * in * out per token, 6 tokens
    out = render(s)
    assert _row(out, "(Linear)")[-1] == "420" and "forward: 420 FLOPs for 6 input tokens = 70 per token" in out


def test_summary_flops_of_a_tiny_gpt_equal_the_hand_computed_total():
    tg.manual_seed(0)
    V, C, d, L, H, B, T = 16, 16, 16, 2, 2, 2, 5
    model = GPT(GPTConfig(vocab_size=V, context_length=C, d_model=d, n_layer=L, n_head=H))
    d_ff = model.config.d_ff
    s = viz.model_summary(model, input_ids=np.ones((B, T), dtype=np.int64))
    per_layer = 2 * B * T * (4 * d * d + 2 * d * d_ff) + 4 * B * T * T * d      # projections + q.k^T and w.v
    expected = L * per_layer + 2 * B * T * d * V                                # + the output layer
    assert s.flops == expected == 134_400
    rows = {r["path"]: r for r in s.rows}
    assert rows["blocks.0.attn"]["own_flops"] == 4 * B * T * T * d
    assert rows["blocks.0.attn.q_proj"]["flops"] == 2 * d * d * B * T
    assert rows["blocks.1"]["flops"] == per_layer and rows["wte"]["flops"] == 0
    out = render(s)
    assert f"forward: {expected:,} FLOPs" in out
    assert _row(out, "blocks.0.attn.q_proj")[-1] == fmt_flops(2 * d * d * B * T) == "5,120"
    assert _row(out, "total")[-1] == fmt_flops(expected) == "134k"


def test_summary_tree_percentages_and_tied_weights(tiny_gpt):
    s = viz.model_summary(tiny_gpt, input_ids=[[1, 2, 3]])
    out = render(s)
    top = [r for r in s.rows if r["level"] == 1]
    assert sum(r["parameters"] for r in top) == s.total == tiny_gpt.num_parameters()
    assert sum(r["percent"] for r in top) == pytest.approx(100.0)
    shown = [float(_row(out, r["path"])[-2]) for r in top]             # the "%" column (FLOPs last)
    assert sum(shown) == pytest.approx(100.0, abs=0.05 * len(top))      # each rounded to 0.1
    assert _row(out, "total")[-2] == "100.0"
    lm = next(r for r in s.rows if r["path"] == "lm_head")
    assert lm["parameters"] == 0 and lm["tied_to"] == ["weight = wte.weight"]
    tree = render(s.tree())
    for name in ("GPT", "wte Embedding", "blocks ModuleList", "attn MultiHeadAttention", "q_proj Linear",
                 "mlp FeedForward", "lm_head Linear", "(tied: weight = wte.weight)"):
        assert name in tree
    assert tree.index("q_proj") < tree.index("lm_head")
    tg.manual_seed(0)
    deep = GPT(GPTConfig(vocab_size=16, context_length=8, d_model=8, n_layer=4, n_head=2))
    assert "blocks.1 … blocks.3: 3 more Block like blocks.0" in render(viz.model_summary(deep).tree())
    assert "blocks.3" in render(viz.model_summary(deep, show="table"))


# ---------------------------------------------------------------- SVG and the dashboard
def test_save_svg_writes_a_valid_svg_atomically(tmp_path):
    path = viz.save_svg(viz.AttentionHeatmap(causal_uniform(4), list("abcd")), tmp_path / "slides" / "attn.svg",
                        width=80)
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    text = path.read_text()
    assert "#fde725" in text                                       # true colour, even off a terminal
    assert [p.name for p in path.parent.iterdir()] == ["attn.svg"]  # no temporary file left behind


def test_dashboard_update_and_render():
    dash = viz.TrainingDashboard(total_steps=40, sample_fn=lambda s: f"sample@{s}", sample_every=20)
    for s in range(1, 31):
        m = {"step": s, "loss": 3 * math.exp(-s / 10) + 1, "lr": 1e-3, "grad_norm": 1 / s, "tokens_per_sec": 500.0}
        if s % 10 == 0:
            m["val_loss"] = m["loss"] + 0.1
        dash.update(m)
    d = dash.to_dict()
    assert len(d["loss"]) == 30 and d["val_steps"] == [10, 20, 30] and d["sample"] == "sample@20"
    out = render(dash)
    assert "step 30/40" in out and "val" in out and "loss" in out and "sample@20" in out and "|grad|" in out
    assert any(0x2800 < ord(ch) <= 0x28FF for ch in out)           # braille line plot
    assert "75.0%" in out
    buf = io.StringIO()
    with dash.live(console=Console(file=buf, width=90)):           # not a terminal: the final state, once
        dash({"step": 31, "loss": 1.2})
    assert buf.getvalue().count("step 31/40") == 1


def test_dashboard_is_a_trainer_callback_shaped_object():
    dash = viz.TrainingDashboard()
    dash({"step": 1, "loss": float("nan"), "lr": 1e-3, "grad_norm": 0.5, "tokens_per_sec": 100.0, "time": 0.1})
    out = render(dash)
    assert "nan" in out and "step 1" in out


def test_loss_curve_svg_has_a_train_and_a_val_line(tmp_path):
    pytest.importorskip("matplotlib", reason="loss curves are drawn with matplotlib (the [plots] extra)")
    import figure_svg
    history = [{"step": s, "loss": 4 * math.exp(-s / 20) + 1, "lr": 1e-3} for s in range(1, 41)]
    for rec in history[9::10]:
        rec["val_loss"] = rec["loss"] + 0.2
    path = viz.save_loss_curve(history, tmp_path / "run" / "loss_curve.svg")
    root = figure_svg.parse(path)
    assert len(figure_svg.lines(root)) == 2 and figure_svg.markers(root) == 4     # the val points
    assert figure_svg.legend(root) == ["train loss", "val loss"]
    assert "loss (nats)" in figure_svg.texts(root) and "step" in figure_svg.texts(root)
    with pytest.raises(ValueError, match="no loss"):
        viz.save_loss_curve([], tmp_path / "empty.svg")


def test_dashboard_callbacks_on_a_real_trainer(tmp_path):
    from tinygrad_tf.train import TrainConfig, Trainer
    buf = io.StringIO()
    trainer = Trainer(TrainConfig(preset="tiny", steps=4, eval_interval=2, eval_iters=1, batch_size=2,
                                  warmup_steps=1, out_dir=str(tmp_path / "run")),
                      console=Console(file=buf, width=100))
    dash = viz.dashboard_callbacks(trainer, grad_table=True)
    assert trainer.callbacks == [dash] and dash.total_steps == 4
    with dash.live():                                             # not a terminal: the final state, once
        history = trainer.run()
    out = buf.getvalue()
    assert out.count("step 4/4") == 2                             # the trainer's eval line, then the dashboard
    assert "tok/s" in out and "gradients per layer · step 4" in out and "blocks.1" in out
    assert dash.monitor.steps_recorded == 4 and dash.monitor.layers["blocks.0"].update is not None
    assert dash.val_steps == [2, 4]
    pytest.importorskip("matplotlib", reason="the rest draws the loss curve (the [plots] extra)")
    import figure_svg
    path = viz.save_loss_curve(history, tmp_path / "run" / "loss_curve.svg")
    assert len(figure_svg.lines(figure_svg.parse(path))) == 2


def test_dashboard_live_on_a_terminal_quiets_the_trainer_progress():
    from types import SimpleNamespace
    history = [{"step": 1, "loss": 3.0, "lr": 1e-3, "grad_norm": 1.0, "tokens_per_sec": 2020.4}]
    trainer = SimpleNamespace(config=SimpleNamespace(steps=3), model=None, callbacks=[], history=history,
                              show_progress=True, console=None)
    dash = viz.dashboard_callbacks(trainer)
    assert dash.steps == [1] and dash.loss == [3.0]                # a resumed run's history is drawn
    console = Console(file=io.StringIO(), width=100, force_terminal=True)
    with dash.live(console):
        assert trainer.show_progress is False
        dash({"step": 2, "loss": 2.5, "tokens_per_sec": 2020.4})
    assert trainer.show_progress is True
    assert "2,020 tok/s" in render(dash)
    with dash.live(console, quiet=True):                          # --quiet: nothing shown, data still kept
        dash({"step": 3, "loss": 2.0})
    assert trainer.show_progress is True and dash.loss[-1] == 2.0
    with pytest.raises(ValueError, match="needs the model"):
        viz.dashboard_callbacks(10, grad_table=True)


# ---------------------------------------------------------------- package surface and CLI commands
def test_readouts_show_themselves_at_the_repl(monkeypatch):
    monkeypatch.setattr("sys.stdout", io.StringIO())
    text = repr(viz.AttentionHeatmap(causal_uniform(3), list("abc")))
    assert "a b c" in text and "\x1b" not in text                # plain when stdout is not a terminal


def test_viz_exports_keep_the_graph_api():
    for name in ("draw_graph", "backward_steps", "render", "trace", "capture_grads", "GraphDrawing", "GradStat",
                 "attention_maps", "GradientMonitor", "grad_table", "model_summary", "config_summary",
                 "TrainingDashboard", "save_svg", "dashboard_callbacks", "save_loss_curve"):
        assert hasattr(viz, name) and name in viz.__all__


def test_cli_commands(tmp_path, capsys, tiny_gpt):
    import argparse

    from tinygrad_tf.text import CharTokenizer
    from tinygrad_tf.train.checkpoint import save_checkpoint
    from tinygrad_tf.commands import main

    tok = CharTokenizer.train("abcdefghij klmno")
    save_checkpoint(tmp_path / "ck", tiny_gpt, tok)

    def run(*argv):
        return main(list(argv))

    assert run("attention", "--checkpoint", str(tmp_path / "ck"), "--text", "abc de", "--json") == 0
    recs = json.loads(capsys.readouterr().out)
    assert len(recs) == 4 and recs[0]["x_labels"] == list("abc de")
    assert run("attention", "--checkpoint", str(tmp_path / "ck"), "--text", "abc", "--layer", "1", "--head", "1") == 0
    assert "layer 1 · head 1" in capsys.readouterr().out
    assert run("attention", "--checkpoint", str(tmp_path / "ck"), "--text", "abc", "--head", "7") == 2
    assert "out of range" in capsys.readouterr().err
    slide = tmp_path / "slide.svg"                               # no checkpoint: an untrained preset
    assert run("attention", "--preset", "tiny", "--text", "def f", "--layer", "0", "--head", "1",
               "--terminal-svg", str(slide)) == 0
    captured = capsys.readouterr()
    assert "layer 0 · head 1" in captured.out and "untrained" in captured.err
    assert ET.parse(slide).getroot().tag.endswith("svg")
    assert run("attention", "--text", "abc") == 2
    assert "--preset NAME" in capsys.readouterr().err
    assert run("attention", "--preset", "llama-7b") == 2
    assert "too big" in capsys.readouterr().err
    assert run("summary", "--checkpoint", str(tmp_path / "ck"), "--json") == 0
    assert json.loads(capsys.readouterr().out)["total_parameters"] == tiny_gpt.num_parameters()
    assert run("summary", "--preset", "gpt2") == 0
    assert "124,439,808" in capsys.readouterr().out
    out = tmp_path / "g.svg"
    assert run("graph", "--expr", "(a * b + c).tanh()", "--var", "a=2", "--out", str(out)) == 0
    assert out.exists() or out.with_suffix(".dot").exists()
    assert run("graph", "--expr", "__import__('os').system('true')", "--out", str(out)) == 2
    assert run("graph", "--preset", "nope", "--out", str(out)) == 2
