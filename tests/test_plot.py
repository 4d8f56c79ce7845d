"""tinygrad_tf.viz.plot: the dependency-free SVG plot writer (valid XML, one polyline per line, labels,
log axes, NaN gaps, deterministic bytes, atomic writes)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tinygrad_tf.viz.plot import bar_plot, line_plot, log_ticks, nice_ticks, scatter_plot

NS = "{http://www.w3.org/2000/svg}"


def parse(path):
    root = ET.parse(path).getroot()
    assert root.tag == f"{NS}svg"
    return root


def texts(root):
    return [t.text for t in root.iter(f"{NS}text")]


def polylines(root):
    return list(root.iter(f"{NS}polyline"))


def test_line_plot_structure(tmp_path):
    xs = np.arange(20)
    series = {"pre-LN": (xs, np.exp(-xs / 5)), "post-LN": (xs, np.exp(-xs / 7)), "sandwich & co": (xs, xs * 0.01)}
    path = line_plot(series, tmp_path / "p.svg", title="loss <curves>", xlabel="step", ylabel="loss")
    root = parse(path)
    assert len(polylines(root)) == 3
    t = texts(root)
    for label in ("pre-LN", "post-LN", "sandwich & co", "loss <curves>", "step", "loss"):   # escaped, round-trips
        assert label in t
    colours = {p.get("stroke") for p in polylines(root)}
    assert len(colours) == 3
    for p in polylines(root):                     # every point inside the drawing
        pts = [tuple(map(float, xy.split(","))) for xy in p.get("points").split()]
        assert len(pts) == 20
        w, h = float(root.get("width")), float(root.get("height"))
        assert all(0 <= x <= w and 0 <= y <= h for x, y in pts)


def test_points_dashes_vlines_and_nan_gaps(tmp_path):
    y = np.array([1.0, 2.0, np.nan, 3.0, 4.0, np.inf, 5.0])
    path = line_plot({"gappy": (np.arange(7), y),
                      "dots": {"x": [1, 2, 3], "y": [1, 2, 3], "mode": "points"},
                      "both": {"x": [1, 2], "y": [2, 1], "mode": "both", "dashed": True}},
                     tmp_path / "g.svg", vlines={3: "T=3"})
    root = parse(path)
    lines = polylines(root)
    assert len(lines) == 4          # gappy: 3 runs ([0, 1], [3, 4], [6]); both: 1; dots: none
    gappy = [p for p in lines if not p.get("stroke-dasharray")]
    assert [len(p.get("points").split()) for p in gappy] == [2, 2, 1]
    assert sum(1 for p in lines if p.get("stroke-dasharray")) == 1
    assert len(list(root.iter(f"{NS}circle"))) == 3 + 2
    assert "T=3" in texts(root)


def test_log_axes_drop_nonpositive_and_tick_decades(tmp_path):
    path = line_plot({"a": ([0, 10, 100, 1000], [5, 1, 0.1, 0.01])}, tmp_path / "l.svg", logx=True, logy=True)
    root = parse(path)
    (line,) = polylines(root)
    assert len(line.get("points").split()) == 3         # x = 0 cannot sit on a log axis
    t = texts(root)
    assert {"10", "100", "1000"} <= set(t)


def test_deterministic_and_atomic(tmp_path):
    series = {"a": ([1, 2, 3], [0.3, 0.1 + 0.2, 0.5])}
    p1 = line_plot(series, tmp_path / "a.svg", title="t")
    first = p1.read_bytes()
    line_plot(series, tmp_path / "a.svg", title="t")
    assert p1.read_bytes() == first
    assert sorted(f.name for f in tmp_path.iterdir()) == ["a.svg"]     # no temporary files left behind


def test_scatter_and_bar_plot(tmp_path):
    root = parse(scatter_plot({"runs": ([1, 2, 3, 4], [4, 3, 2, 1])}, tmp_path / "s.svg", logx=True))
    assert len(list(root.iter(f"{NS}circle"))) == 4 and not polylines(root)
    root = parse(bar_plot({"ReLU": 1.9, "GELU": 1.8, "SwiGLU": math.nan}, tmp_path / "b.svg", title="bars",
                          errors={"ReLU": 0.05}, ylabel="val loss"))
    bars = list(root.find(f"{NS}g[@class='bars']").iter(f"{NS}rect"))
    assert len(bars) == 2                          # NaN: no bar, an "n/a" label
    t = texts(root)
    assert {"ReLU", "GELU", "SwiGLU", "n/a", "bars", "val loss"} <= set(t)


def test_bad_input():
    with pytest.raises(ValueError, match="3 x values but 2 y"):
        line_plot({"a": ([1, 2, 3], [1, 2])}, "/nonexistent/x.svg")
    with pytest.raises(ValueError, match="mode"):
        line_plot({"a": {"x": [1], "y": [1], "mode": "bars"}}, "/nonexistent/x.svg")
    with pytest.raises(TypeError):
        line_plot([([1], [1])], "/nonexistent/x.svg")


def test_ticks():
    t = nice_ticks(1.62, 2.93)
    assert t[0] >= 1.62 and t[-1] <= 2.93 and 4 <= len(t) <= 8
    steps = np.diff(t)
    assert np.allclose(steps, steps[0])
    assert nice_ticks(0, 1000) == [0, 200, 400, 600, 800, 1000]
    assert log_ticks(3e3, 2e5) == [3e3, 1e4, 3e4, 1e5]
    assert len(log_ticks(1.5, 2.8)) >= 3                # inside one decade: linear round steps
