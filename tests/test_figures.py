"""viz.figures: matplotlib figures for slides (the [plots] extra) — line and bar plots, loss curves, attention
heatmaps with token labels (one head, a grid of heads, T5's cross-attention), gradient-norm bars, parameter
bars; the formats by extension, deterministic bytes, atomic writes; the CLI's --svg/--png/--pdf; and the one
line that says how to install matplotlib when it is missing (simulated)."""

from __future__ import annotations

import math
import os
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import tinygrad_tf as tg
from tinygrad_tf import viz
from tinygrad_tf.nn.models import GPT, GPTConfig, T5, T5Config

pytest.importorskip("matplotlib", reason="figures need matplotlib (the [plots] extra; CI installs it)")

from figure_svg import groups, images, legend, lines, markers, parse, texts  # noqa: E402
from tinygrad_tf.viz import figures  # noqa: E402
from tinygrad_tf.viz.figures import PlotsUnavailable, bar_plot, line_figure, line_plot, scatter_plot  # noqa: E402

MAGIC = {"svg": b"<?xml", "png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}


@pytest.fixture(scope="module")
def gpt():
    tg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=32, context_length=16, d_model=32, n_layer=2, n_head=4))
    ids = [[1, 2, 3, 4, 5, 6, 7, 8]]
    return model, ids, list("The cat!")


# ---------------------------------------------------------------- plots
def test_line_plot_series_labels_and_log_axes(tmp_path):
    xs = np.arange(1, 21)
    series = {"pre-LN": (xs, np.exp(-xs / 5)), "post-LN": (xs, np.exp(-xs / 7)), "$5 & <co>": (xs, xs * 0.01)}
    root = parse(line_plot(series, tmp_path / "p.svg", title="loss <curves>", xlabel="step", ylabel="loss",
                           logx=True, logy=True))
    assert len(lines(root)) == 3 and markers(root) == 0
    assert legend(root) == ["pre-LN", "post-LN", "$5 & <co>"]          # a $ is a dollar, not TeX
    assert {"loss <curves>", "step", "loss"} <= set(texts(root))
    fig = line_figure(series, logx=True, logy=True)
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert len({tuple(line.get_color()) if not isinstance(line.get_color(), str) else line.get_color()
                for line in ax.get_lines()}) == 3


def test_points_dashes_vlines_and_gaps(tmp_path):
    y = np.array([1.0, 2.0, np.nan, 3.0, 4.0, np.inf, 5.0])
    series = {"gappy": (np.arange(7), y), "dots": {"x": [1, 2, 3], "y": [1, 2, 3], "mode": "points"},
              "both": {"x": [1, 2], "y": [2, 1], "mode": "both", "dashed": True}}
    root = parse(line_plot(series, tmp_path / "g.svg", vlines={3: "T=3"}))
    assert len(lines(root)) == 2 and len(groups(root, "points-")) == 1
    assert markers(root) == 3 + 2                                         # the scatter's and the line's points
    assert "T=3" in texts(root)
    ax = line_figure(series).axes[0]
    gappy, both = ax.get_lines()[:2]
    assert np.isnan(gappy.get_ydata()[[2, 5]]).all()                     # NaN / inf: a gap, not a jump
    assert both.get_linestyle() == "--" and gappy.get_linestyle() == "-"
    with pytest.raises(ValueError, match="3 x values but 2 y"):
        line_plot({"a": ([1, 2, 3], [1, 2])}, tmp_path / "x.svg")
    with pytest.raises(ValueError, match="mode must be"):
        line_plot({"a": {"x": [1], "y": [1], "mode": "bars"}}, tmp_path / "x.svg")
    with pytest.raises(TypeError, match="dict name"):
        line_plot([([1], [1])], tmp_path / "x.svg")


def test_scatter_and_bar_plot(tmp_path):
    root = parse(scatter_plot({"runs": ([1, 2, 3, 4], [4, 3, 2, 1])}, tmp_path / "s.svg", logx=True))
    assert markers(root) == 4 and not lines(root)
    root = parse(bar_plot({"ReLU": 1.9, "GELU": 1.8, "SwiGLU": math.nan}, tmp_path / "b.svg", title="bars",
                          errors={"ReLU": 0.1}))
    assert len(groups(root, "bar-")) == 3
    assert {"ReLU", "GELU", "SwiGLU", "1.9", "1.8", "n/a", "bars"} <= set(texts(root))


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_formats_by_extension_deterministic_and_atomic(tmp_path, fmt):
    series = {"a": ([1, 2, 3], [3, 1, 2])}
    path = tmp_path / f"plot.{fmt}"
    path.write_bytes(b"an older plot")
    first = line_plot(series, path, title="same numbers").read_bytes()
    assert first.startswith(MAGIC[fmt])
    assert line_plot(series, path, title="same numbers").read_bytes() == first     # same numbers, same bytes
    assert sorted(os.listdir(tmp_path)) == [f"plot.{fmt}"]                          # no temporary file left
    with pytest.raises(ValueError, match=r"must end in \.svg, \.png or \.pdf"):
        line_plot(series, tmp_path / "plot.jpg")


def test_a_figure_shows_itself_in_jupyter(tmp_path):
    from IPython.core.formatters import DisplayFormatter
    fig = line_figure({"a": ([1, 2], [2, 1])}, title="inline")
    data, _ = DisplayFormatter().format(fig)
    assert "<svg" in data["image/svg+xml"]
    assert fig.save(tmp_path / "f.png").read_bytes().startswith(MAGIC["png"])


# ---------------------------------------------------------------- readouts as figures
def test_attention_heatmap_figure_has_the_tokens(gpt, tmp_path):
    model, ids, toks = gpt
    maps = viz.attention_maps(model, ids, tokens=toks)
    hm = maps.heatmap(1, 2)
    ax = hm.figure().axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["T", "h", "e", "␣", "c", "a", "t", "!"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["T", "h", "e", "␣", "c", "a", "t", "!"]
    image = ax.get_images()[0].get_array()
    assert image.mask[0, 1] and not image.mask[1, 0]                     # the causal future is masked (white)
    np.testing.assert_allclose(image.data, maps.stack().weights[1, 2])
    root = parse(hm.save_figure(tmp_path / "head.svg"))
    assert images(root, "heatmap") and "self-attention · layer 1 · head 2" in texts(root)
    assert "1.00" in texts(root)                                          # small maps: weights in the cells
    short = maps.heatmap(0, 0).figure(max_tokens=3).axes[0]               # a window: the last 3 tokens, said
    assert [t.get_text() for t in short.get_xticklabels()] == ["a", "t", "!"]
    assert maps.figure(layer=0, head=0).axes[0].get_title() == "self-attention · layer 0 · head 0"


def test_attention_grid_figure(gpt, tmp_path):
    model, ids, toks = gpt
    maps = viz.attention_maps(model, ids, tokens=toks)
    root = parse(maps.overview().save_figure(tmp_path / "grid.svg"))
    assert len(images(root, "map-")) == 2 * 4
    assert {"head 0", "layer 1"} <= {t.split("\n")[0] for t in texts(root)}
    fig = maps.figure()                                                    # no layer / head: the grid
    assert len([ax for ax in fig.axes if ax.get_images()]) == 8


def test_t5_cross_attention_figure_has_source_across_and_target_down():
    tg.manual_seed(0)
    model = T5(T5Config(vocab_size=32, context_length=16, d_model=32, n_layer=2, n_head=4, d_ff=64))
    out = model(tg.tensor([[1, 2, 3, 4, 5]]), decoder_input_ids=tg.tensor([[0, 6, 7]]), output_attentions=True)
    maps = viz.attention_maps(out, tokens=list("abcde"), decoder_tokens=["<s>", "x", "y"])
    ax = maps.heatmap(1, 3, "cross").figure().axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list("abcde")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["<s>", "x", "y"]
    assert ax.get_xlabel() == "keys: source tokens" and ax.get_ylabel() == "queries: target tokens"
    assert ax.get_images()[0].get_array().shape == (3, 5)


def test_gradient_bars_flag_nan_in_red(gpt, tmp_path):
    model, ids, _ = gpt
    model.zero_grad()
    model(tg.tensor(ids), labels=tg.tensor(ids)).loss.backward()
    table = viz.grad_table(model)
    names = list(table.layers)
    root = parse(table.save_figure(tmp_path / "grads.svg"))
    assert len(groups(root, "bar-")) == len(names) and {"wte", "blocks.1"} <= set(texts(root))
    model.blocks[0].attn.q_proj.weight.grad.data[0, 0] = np.nan
    fig = viz.grad_table(model).figure()
    colours = {label.get_text(): patch.get_facecolor()
               for label, patch in zip(fig.axes[0].get_yticklabels(), fig.axes[0].patches)}
    import matplotlib.colors as mcolors
    assert mcolors.to_hex(colours["blocks.0"]) == figures.RED and mcolors.to_hex(colours["wte"]) != figures.RED
    assert len(viz.grad_table(model).figure(which="params").axes[0].patches) == len(table.latest)
    with pytest.raises(ValueError, match="nothing recorded"):
        viz.GradientMonitor(model).figure()


def test_summary_dashboard_and_lineplot_figures(gpt, tmp_path):
    model, ids, _ = gpt
    ax = viz.model_summary(model, ids).figure().axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["wte (Embedding)", "wpe (Embedding)"]
    cfg = viz.config_summary(GPTConfig.preset("gpt2"))
    assert parse(cfg.save_figure(tmp_path / "cfg.svg")) is not None
    assert sum(p.get_width() for p, (name, _, _) in zip(cfg.figure().axes[0].patches, cfg.rows)
               if not name.startswith("  ")) == cfg.total
    dash = viz.TrainingDashboard(total_steps=20)
    for s in range(1, 21):
        dash.update({"step": s, "loss": 3 / s, "lr": 1e-3, "grad_norm": 1 / s, "val_loss": 3 / s if s % 5 == 0 else None})
    fig = dash.figure()
    assert len(fig.axes) == 3 and fig.axes[2].get_yscale() == "log"       # loss, lr, |grad| (log: it spans decades)
    assert len(dash.figure(panels=False).axes) == 1
    assert dash.save_figure(tmp_path / "dash.pdf").read_bytes().startswith(MAGIC["pdf"])
    assert len(viz.LinePlot({"a": ([1, 2], [1, 2]), "b": ([1, 2], [2, 1])}).figure().axes[0].get_lines()) == 2
    with pytest.raises(NotImplementedError, match="AttentionAnalysis has no figure"):
        viz.attention_maps(model, ids).analysis().figure()


# ---------------------------------------------------------------- the CLI
def test_cli_readouts_write_figures_by_extension(tmp_path, capsys):
    from tinygrad_tf.commands import main
    out = {fmt: tmp_path / f"slide.{fmt}" for fmt in ("svg", "png", "pdf")}
    assert main(["attention", "--preset", "tiny", "--text", "def f(x)", "--layer", "0", "--head", "1",
                 "--svg", str(out["svg"]), "--png", str(out["png"]), "--pdf", str(out["pdf"])]) == 0
    for fmt, path in out.items():
        assert path.read_bytes().startswith(MAGIC[fmt])
    root = parse(out["svg"])
    assert images(root, "heatmap") and "self-attention · layer 0 · head 1" in texts(root)
    assert main(["attention", "--preset", "tiny", "--text", "def f(x)", "--png", str(tmp_path / "grid.png")]) == 0
    assert main(["summary", "--preset", "gpt2", "--svg", str(tmp_path / "summary.svg")]) == 0
    assert "124M parameters, by component" in " ".join(texts(parse(tmp_path / "summary.svg")))
    capsys.readouterr()
    assert main(["summary", "--preset", "gpt2", "--png", str(tmp_path / "summary.svg")]) == 2
    assert "must end in .png" in capsys.readouterr().err


def test_cli_checks_the_figure_name_before_any_work(tmp_path, capsys):
    from tinygrad_tf.commands import main
    assert main(["attention", "--preset", "tiny", "--png", str(tmp_path / "x.svg")]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == f"error: --png {tmp_path / 'x.svg'}: the file name must end in .png"
    assert captured.out == ""                                             # nothing ran


# ---------------------------------------------------------------- without matplotlib
@pytest.fixture
def no_matplotlib(monkeypatch):
    """As if matplotlib were not installed: importing it fails."""
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def test_without_matplotlib_one_line_says_how_to_install(no_matplotlib, gpt, tmp_path, capsys):
    model, ids, toks = gpt
    maps = viz.attention_maps(model, ids, tokens=toks)
    calls = [lambda: line_plot({"a": ([1], [1])}, tmp_path / "a.svg"),
             lambda: bar_plot({"a": 1}, tmp_path / "b.svg"),
             lambda: maps.heatmap(0, 0).figure(), lambda: maps.overview().save_figure(tmp_path / "g.png"),
             lambda: viz.grad_table(model).figure(), lambda: viz.config_summary(model.config).figure(),
             lambda: viz.save_loss_curve([{"step": 1, "loss": 2.0}], tmp_path / "loss.svg")]
    for call in calls:
        with pytest.raises(PlotsUnavailable) as info:
            call()
        message = str(info.value)
        assert 'pip install -e ".[plots]"' in message and "\n" not in message
        assert isinstance(info.value, ImportError)
    assert not list(tmp_path.iterdir())                                   # nothing half-written
    from tinygrad_tf.commands import main
    assert main(["summary", "--preset", "gpt2", "--svg", str(tmp_path / "s.svg")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --svg: figures need matplotlib") and err.count("\n") == 0
    assert 'pip install -e ".[plots]"' in err
    assert main(["summary", "--preset", "gpt2"]) == 0                     # the terminal readout needs nothing


def test_without_matplotlib_training_still_saves_and_says_why_no_curve(no_matplotlib, tmp_path, capsys):
    from tinygrad_tf.commands.train import run_training
    history = [{"step": 1, "loss": 3.0}, {"step": 2, "loss": 2.5}]
    trainer = SimpleNamespace(run=lambda: history, config=SimpleNamespace(out_dir=str(tmp_path)),
                              parallel=SimpleNamespace(is_main=True))
    assert run_training(trainer, SimpleNamespace(), live=False) == history
    assert "note: no loss_curve.svg: figures need matplotlib" in capsys.readouterr().err
    assert not (tmp_path / "loss_curve.svg").exists()
