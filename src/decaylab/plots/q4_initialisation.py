"""Figures of experiment 4: each layer's size against the scaled initialisation's 1/√n_in."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from decaylab.experiments.q4_initialisation import InitialisationResult
from decaylab.plots._helpers import (
    add_legend,
    axes,
    band,
    extreme,
    hline,
    integer_epochs,
    plain_log,
)

__all__ = ["plot_layer_scale", "plot_learning_curves", "figure_initialisation"]


CONDITION_COLOURS = ("tab:red", "tab:blue", "tab:green")


def plot_layer_scale(
    result: InitialisationResult, ax: Axes | None = None, *, layer: int = 0
) -> Axes:
    """One layer's weight RMS against epoch for each condition, log scale, with 1/√n_in."""
    ax = axes(ax)
    for c, label in enumerate(result.labels):
        band(
            ax,
            result.epoch,
            result.weight_rms[c, :, :, layer],
            color=CONDITION_COLOURS[c % 3],
            label=label,
        )
    reference = float(result.reference[layer])
    hline(ax, reference, f"1/√n_in = {reference:.3g}", color="black", ls="--")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"weight RMS of layer {layer}")
    integer_epochs(ax)
    plain_log(ax, "y")
    add_legend(ax)
    return ax


def plot_learning_curves(result: InitialisationResult, ax: Axes | None = None) -> Axes:
    """Validation accuracy against epoch for each condition, with the target accuracy."""
    ax = axes(ax)
    for c, label in enumerate(result.labels):
        band(ax, result.epoch, result.accuracy[c], color=CONDITION_COLOURS[c % 3], label=label)
    target = result.settings["target_accuracy"]
    hline(ax, target, f"target {target:.0%}", color="black", ls="--")
    low = extreme(result.accuracy[:, :, 1:], "min")
    ax.set_ylim(max(0.0, low - 0.05) if np.isfinite(low) else 0.0, 1.0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    integer_epochs(ax)
    add_legend(ax, loc="lower right")
    return ax


def figure_initialisation(result: InitialisationResult) -> Figure:
    """Q4: each layer's RMS against 1/√n_in, and the learning curves."""
    n_layers = len(result.reference)
    fig = Figure(figsize=(4.3 * (n_layers + 1), 4.2), layout="constrained")
    panels = fig.subplots(1, n_layers + 1)
    for l in range(n_layers):
        plot_layer_scale(result, panels[l], layer=l)
        panels[l].set_title(f"Layer {l}: n_in = {round(1 / result.reference[l] ** 2)}")
    plot_learning_curves(result, panels[-1])
    panels[-1].set_title("Learning curves")
    return fig
