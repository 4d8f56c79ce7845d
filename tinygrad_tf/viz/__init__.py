"""``tinygrad_tf.viz``: seeing what the engine and the models do.

Graphs (Graphviz):

    draw_graph(tensor, params=None, model=None, view="forward", depth=None, expand=None, max_nodes=300,
               show_values="auto", rankdir="TB", title=None)      -> graphviz.Digraph
    backward_steps(tensor, ...)      one drawing per node, in the order backward() visits them
    render(graph, "g.svg")           SVG / PNG / PDF (the .dot source and a one-line hint without Graphviz)
    trace(model)                     context manager: records which module made each graph node
    capture_grads(tensor)            records intermediate gradient norms during backward()
"""

from .graph import GradStat, GraphDrawing, backward_steps, capture_grads, draw_graph, render, trace

__all__ = ["draw_graph", "backward_steps", "render", "trace", "capture_grads", "GraphDrawing", "GradStat"]
