"""Figures of experiment 1: how much of the early change of ‖w‖² decay accounts for."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from decaylab.experiments.q1_dominance import DominanceResult
from decaylab.plots._helpers import add_legend, axes, band, hline, integer_epochs, legend_row

__all__ = ["plot_decay_share", "figure_dominance"]


def plot_decay_share(
    result: DominanceResult, ax: Axes | None = None, *, layer=None, legend: bool = True
) -> Axes:
    """Decay share of the change of ‖w‖² per epoch, one line per initialisation and λ.

    Parameters
    ----------
    result : DominanceResult
    ax : matplotlib Axes, optional
    layer : int or None
        A weight layer, or None for all weights together.
    legend : bool
        Draw a legend on the axes.

    Returns
    -------
    matplotlib Axes
        The axes drawn on, with one line (and band) per condition.
    """
    ax = axes(ax)
    data = result.share_total if layer is None else result.share[..., layer]
    lmbdas = np.unique(result.lmbdas)
    colours = dict(zip(lmbdas, ("tab:green", "tab:orange", "tab:red", "tab:purple", "tab:brown")))
    for c, (init, lmbda) in enumerate(zip(result.inits, result.lmbdas)):
        band(
            ax,
            result.epochs,
            data[c],
            color=colours.get(lmbda, "black"),
            ls="-" if init == "large" else "--",
            marker="o" if init == "large" else "s",
            ms=3,
            label=f"{init} init, λ = {lmbda:g}",
        )
    hline(ax, result.settings["threshold"], "threshold", ls="-", color="black", lw=0.8)
    ax.set_ylim(0, 1)
    ax.set_xlabel("epoch")
    where = "all weights" if layer is None else f"layer {layer}"
    ax.set_ylabel(f"decay share of Δ‖w‖² ({where})")
    integer_epochs(ax)
    if legend:
        add_legend(ax, ncol=2)
    return ax


def figure_dominance(result: DominanceResult) -> Figure:
    """Q1: decay share of all weights, and of the first (hidden) layer."""
    fig = Figure(figsize=(11, 4.6), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=(1, 0.06))
    left, right = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
    plot_decay_share(result, left, legend=False)
    left.set_title("All weights")
    plot_decay_share(result, right, layer=0, legend=False)
    right.set_title("Layer 0 (input → hidden)")
    legend_row(fig.add_subplot(grid[1, :]), left)
    return fig
