"""Figures of experiment 5: how each layer's statistics move against their start."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from decaylab.experiments.q5_layers import STATISTIC_NAMES, LayerResult
from decaylab.plots._helpers import (
    add_legend,
    axes,
    band,
    hline,
    integer_epochs,
    layer_colour,
    plain_log,
)

__all__ = ["plot_layer_statistic", "figure_layers"]


def plot_layer_statistic(
    result: LayerResult, ax: Axes | None = None, *, statistic: str = "variance", condition=None
) -> Axes:
    """One statistic of each layer, relative to its start, against epoch.

    Parameters
    ----------
    result : LayerResult
    ax : matplotlib Axes, optional
    statistic : {"norm", "l1", "variance", "sum"}
    condition : int, optional
        Index of the (data set, λ) condition; by default the first whose
        layers moved in opposite directions, else the first.

    Notes
    -----
    For the sum, every seed is drawn separately (its value relative to the
    start can change sign); the other statistics show mean ± standard error.
    """
    ax = axes(ax)
    if statistic not in result.trajectories:
        raise ValueError(
            f"statistic={statistic!r} is not recognised; expected one of "
            f"{sorted(result.trajectories)}"
        )
    c = _default_condition(result) if condition is None else condition
    values = result.trajectories[statistic][c]
    relative = values / values[:, :1, :]
    for l in range(values.shape[-1]):
        colour = layer_colour(l)
        size = f"{result.sizes[c][l]}→{result.sizes[c][l + 1]}"
        if statistic == "sum":
            for k in range(values.shape[0]):
                ax.plot(
                    result.epoch,
                    relative[k, :, l],
                    color=colour,
                    alpha=0.8,
                    lw=1,
                    label=f"layer {l} ({size}), each seed" if k == 0 else None,
                )
        else:
            band(ax, result.epoch, relative[:, :, l], color=colour, label=f"layer {l} ({size})")
    hline(ax, 1.0, "start", color="black", ls="--")
    if statistic == "sum":
        hline(ax, 0.0, None, color="grey", ls="-", lw=0.6)
    else:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{STATISTIC_NAMES[statistic]} / its start")
    integer_epochs(ax)
    plain_log(ax, "y")
    add_legend(ax)
    return ax


def _default_condition(result: LayerResult) -> int:
    # The headline's case: the reader's run first, when its layers move apart.
    direction = np.asarray(result.direction["norm"])
    for c in [*getattr(result, "reader", []), *range(direction.shape[0])]:
        if (direction[c] == 1).any() and (direction[c] == -1).any():
            return c
    return 0


def figure_layers(result: LayerResult, *, condition=None) -> Figure:
    """Q5: the four statistics of each layer, relative to their start, for one condition."""
    c = _default_condition(result) if condition is None else condition
    fig = Figure(figsize=(13, 3.8), layout="constrained")
    panels = fig.subplots(1, 4)
    for ax, statistic in zip(panels, ("norm", "l1", "variance", "sum")):
        plot_layer_statistic(result, ax, statistic=statistic, condition=c)
        ax.set_title(STATISTIC_NAMES[statistic])
    fig.suptitle(
        f"{result.datasets[c]}, sizes {result.sizes[c]}, λ = {result.lmbdas[c]:g} "
        f"(large initialisation)"
    )
    return fig
