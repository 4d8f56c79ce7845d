"""``tinygrad_tf.viz``: seeing what the engine and the models do.

Graphs (Graphviz):

    draw_graph(tensor, params=None, model=None, view="forward", depth=None, expand=None, max_nodes=300,
               show_values="auto", rankdir="TB", title=None)      -> graphviz.Digraph
    backward_steps(tensor, ...)      one drawing per node, in the order backward() visits them
    play(frames)                     a player for them: buttons, slider, arrow keys; in Jupyter, or
                                     .save("backward.html") (one offline page)
    render(graph, "g.svg")           SVG / PNG / PDF (the .dot source and a one-line hint without Graphviz)
    trace(model)                     context manager: records which module made each graph node
    capture_grads(tensor)            records intermediate gradient norms during backward()

Terminal readouts (rich). Each prints itself (``console.print(x)``, or ``x`` at the REPL), has a plain
form (``.to_dict()``, ``.to_json(path=None)``) and becomes a slide with ``save_svg(x, "x.svg", width=100)``:

    attention_maps(model, ids, tokenizer=tok) -> AttentionMaps   (or from an output / tuple / array)
        .heatmap(layer, head)  .overview()  .analysis()  .rollout()  .to_json(layout="web" | "bertviz")
    GradientMonitor(model, hooks=False)   .record(step) after opt.step(); a Trainer callback with hooks=True:
                                          |w|, |grad|, update log10(|Δw|/|w|), % zeros, NaN/inf, badges, layer bars
    grad_table(model)                     one reading of the gradients now
    model_summary(model, input_ids=None)  a tree and a table of modules: parameters (tied once), %, output shapes
                                          and matmul FLOPs (with an input), memory
    config_summary(config)                parameters by component from a config, nothing allocated
    TrainingDashboard(total_steps)        live loss curves etc.; a Trainer callback; ``with dash.live(): ...``
    dashboard_callbacks(trainer, grad_table=False)   the dashboard attached to a Trainer (``tinygrad-tf train``)
    save_loss_curve(history, "loss_curve.svg")       train + validation loss as a line plot (.svg .png .pdf)
    save_svg(renderable, path, width=100) any renderable as an SVG file (written atomically)

Jupyter: every readout shows itself in a cell (coloured HTML), a graph drawing as SVG, and
``with dash.live(): trainer.run()`` redraws the dashboard in the cell's output while it trains.

Figures (matplotlib, the optional ``[plots]`` extra; ``viz.figures``): ``readout.figure()`` /
``readout.save_figure("x.png")`` on the attention heatmap (token labels; T5 cross-attention too), the grid of heads,
gradient tables (bars), summaries (parameters), the dashboard (loss, lr, |grad|); ``figures.line_plot`` /
``bar_plot`` for anything else. Without matplotlib they say ``pip install -e ".[plots]"``.
"""

from .graph import GradStat, GraphDrawing, backward_steps, capture_grads, draw_graph, render, trace

from .attention import (AttentionAnalysis, AttentionGrid, AttentionHeatmap, AttentionMaps, AttentionRollout,
                        AttentionStack, attention_analysis, attention_heatmap, attention_maps, attention_overview,
                        attention_rollout_map, display_token, token_labels)
from .attention_analysis import THRESHOLDS, HeadStats, analyze_head, attention_rollout, is_delimiter
from .dashboard import LinePlot, TrainingDashboard, dashboard_callbacks, save_loss_curve
from .gradients import GradientMonitor, ParamGrad, grad_table
from .notebook import LiveCell, in_kernel
from .player import Player, play
from .readout import VIRIDIS, Readout, render_text, save_svg, sparkline
from .summary import ConfigSummary, ModelSummary, config_summary, model_summary

__all__ = ["draw_graph", "backward_steps", "render", "trace", "capture_grads", "GraphDrawing", "GradStat",
           "play", "Player",
           # attention
           "attention_maps", "AttentionMaps", "AttentionStack", "AttentionHeatmap", "AttentionGrid",
           "AttentionAnalysis", "AttentionRollout", "attention_heatmap", "attention_overview", "attention_analysis",
           "attention_rollout_map", "attention_rollout", "analyze_head", "HeadStats", "THRESHOLDS", "is_delimiter",
           "token_labels", "display_token",
           # gradients, summaries, training
           "GradientMonitor", "ParamGrad", "grad_table", "model_summary", "config_summary", "ModelSummary",
           "ConfigSummary", "TrainingDashboard", "LinePlot", "dashboard_callbacks", "save_loss_curve",
           # output
           "save_svg", "render_text", "sparkline", "Readout", "VIRIDIS", "in_kernel", "LiveCell"]
