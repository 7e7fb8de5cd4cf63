"""Draw a design's DAG (the latent class U and the observed variables) with networkx and matplotlib.

The course notebooks draw every design they place; this is the one drawing they share, so that a reader sees
the same picture for the same graph everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mixid.identify.design import Design

ROLE_COLOURS = {"treatment": "#f4a261", "outcome": "#2a9d8f", "latent": "#d9d9d9", "other": "#a8dadc"}


def draw_design(design: str | Path | Design, ax: Any = None, title: str | None = None) -> Any:
    """Draw the DAG of a design: U (dashed, grey) above the observed variables, which are laid out left to right
    in the design's topological order; edges between non-adjacent variables are drawn as arcs below the row.

    Parameters
    ----------
    design : str, Path or Design
        A design, a design file, or the name of a built-in design.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.
    title : str, optional
        The axes title; the design's name with its number of classes by default.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = draw_design("paper-level3")
    >>> ax.get_title()
    'paper-level3 (k = 2)'
    """
    import matplotlib.pyplot as plt
    import networkx as nx

    d = Design.load(design)
    graph = d.graph
    order = list(d.order)
    width = max(len(order) - 1, 1)
    pos = {v: (float(i), 0.0) for i, v in enumerate(order)}
    pos[d.latent] = (width / 2, 1.0)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(2.2, 1.1 * len(order) + 0.8), 2.4))
    role = {d.treatment: "treatment", d.outcome: "outcome", d.latent: "latent"}
    colours = [ROLE_COLOURS[role.get(v, "other")] for v in graph.nodes]
    nx.draw_networkx_nodes(graph, pos, ax=ax, node_color=colours, node_size=900, edgecolors="black")
    nx.draw_networkx_labels(graph, pos, ax=ax, font_size=10)
    latent_edges = [(d.latent, v) for v in order]
    nx.draw_networkx_edges(graph, pos, edgelist=latent_edges, ax=ax, style="dashed", edge_color="grey",
                           arrows=True, arrowsize=14, node_size=900)
    for a, b in d.edges:  # neighbours in the row: straight; farther apart: an arc below the row
        gap = abs(order.index(b) - order.index(a))
        nx.draw_networkx_edges(graph, pos, edgelist=[(a, b)], ax=ax, width=1.8, arrows=True, arrowsize=16,
                               node_size=900, connectionstyle="arc3" if gap == 1 else f"arc3,rad={0.25 + 0.05 * gap}")
    ax.set_title(title if title is not None else f"{d.name} (k = {d.classes})", fontsize=10)
    ax.set_xlim(-0.6, width + 0.6)
    ax.set_ylim(-0.7, 1.35)
    ax.axis("off")
    return ax
