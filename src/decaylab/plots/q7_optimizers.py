"""Figures of experiment 7: eq. 93, momentum, Adam + L2 and AdamW side by side."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from decaylab.experiments.q7_optimizers import RULES, OptimizerResult
from decaylab.plots._helpers import add_legend, axes, band, layer_colour, plain_log

__all__ = [
    "figure_optimizers",
    "plot_adam_layers",
    "plot_optimizer_equilibrium",
    "plot_optimizer_factors",
    "plot_optimizer_transfer",
]

#: One colour per update rule; momentum dashed, as it often lies on eq. 93's line.
RULE_COLOURS = {"sgd": "black", "momentum": "tab:blue", "adam": "tab:red", "adamw": "tab:green"}
RULE_LINES = {"momentum": "--"}


def plot_optimizer_factors(result: OptimizerResult, ax: Axes | None = None) -> Axes:
    """First-epoch factor ‖w_1‖/‖w_0‖ of each layer under each rule: measured against predicted.

    Crosses are the predictions, dots the measurements (one per seed); the
    momentum closed form e^{−ηλ/(m(1−β))} is a dashed tick.
    """
    ax = axes(ax)
    layers = result.factor_measured[result.rules[0]].shape[1]
    width = 0.8 / layers
    for i, rule in enumerate(result.rules):
        for l in range(layers):
            x = i + (l - (layers - 1) / 2) * width
            colour = layer_colour(l)
            first = i == 0
            measured = result.factor_measured[rule][:, l]
            ax.scatter(
                np.full(measured.shape, x),
                measured,
                color=colour,
                s=22,
                label=f"measured, layer {l}" if first else None,
            )
            predicted = np.nanmean(result.factor_predicted[rule][:, l])
            ax.scatter(
                [x],
                [predicted],
                marker="x",
                color=colour,
                s=60,
                label=f"predicted, layer {l}" if first else None,
            )
        closed = result.closed_form[rule]
        if np.isfinite(closed):
            ax.plot(
                [i - 0.45, i + 0.45],
                [closed, closed],
                color="grey",
                ls="--",
                lw=1,
                label="closed form" if i == 0 else None,
            )
    ax.set_xticks(range(len(result.rules)))
    ax.set_xticklabels([RULES[r] for r in result.rules])
    ax.set_ylabel("‖w‖ after epoch 1 / before")
    add_legend(ax, loc="upper right")
    return ax


def plot_optimizer_equilibrium(result: OptimizerResult, ax: Axes | None = None) -> Axes:
    """‖w‖² at the end of the equilibrium runs against λ, one line per rule, log–log."""
    ax = axes(ax)
    for rule in result.rules:
        colour = RULE_COLOURS[rule]
        lmbdas = result.equilibrium_lmbda[rule]
        fit = result.equilibrium_fit[rule]
        label = RULES[rule]
        if fit is not None:
            label += f": slope {fit.exponent:.2f} [{fit.interval[0]:.2f}, {fit.interval[1]:.2f}]"
        band(
            ax,
            lmbdas,
            result.equilibrium_norm2[rule].T,
            color=colour,
            ls=RULE_LINES.get(rule, "-"),
            marker="o",
            ms=4,
            label=label,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("λ (each rule at its own η; same decay timescales)")
    ax.set_ylabel("‖w‖² over the last epochs")
    plain_log(ax)
    add_legend(ax)
    return ax


def plot_adam_layers(result: OptimizerResult, ax: Axes | None = None) -> Axes:
    """Per layer: Adam + L2's decay rate over AdamW's, and its final ‖w‖ over AdamW's."""
    ax = axes(ax)
    layers = result.adam_ratio.shape[1]
    x = np.arange(layers)
    with np.errstate(invalid="ignore"):
        ratio = np.nanmean(result.adam_ratio, axis=0)
        norms = np.nanmean(result.adam_norm_ratio, axis=0)
        rms = np.nanmean(result.adam_gradient_rms, axis=0)
    ax.bar(x - 0.2, ratio, width=0.4, color="tab:red", label="decay rate, Adam + L2 / AdamW")
    ax.bar(x + 0.2, norms, width=0.4, color="tab:green", label="final ‖w‖, Adam + L2 / AdamW")
    ax.axhline(1.0, color="grey", lw=1, ls=":")
    ax.set_yscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels([f"layer {l}\n√v̂ = {v:.2g}" for l, v in enumerate(rms)])
    ax.set_ylabel("Adam + L2 over AdamW, equal nominal decay")
    plain_log(ax, "y")
    add_legend(ax)
    return ax


def plot_optimizer_transfer(result: OptimizerResult, ax: Axes | None = None) -> Axes:
    """Validation data cost against λ under AdamW at each n, with where each rule puts λ*.

    One line per training-set size n (mean over seeds, ± one standard error),
    a dot at each seed's λ*, a dotted line at λ* of the largest n (where a
    fixed timescale carries it) and a dashed line per smaller n where λ ∝ n
    carries it.
    """
    ax = axes(ax)
    grid = result.transfer_lmbda
    colours = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown")
    with np.errstate(invalid="ignore"):
        star_ref = float(np.exp(np.nanmean(np.log(result.transfer_lambda_star[-1]))))
    for i, n in enumerate(result.ns):
        colour = colours[i % len(colours)]
        cost = result.transfer_cost[i]
        band(ax, grid, cost, color=colour, marker="o", ms=3, label=f"n = {n}")
        stars = result.transfer_lambda_star[i]
        drawn = np.isfinite(stars)
        # Each seed's λ* on the seed-mean curve (interpolated in log λ).
        mean = np.nanmean(cost, axis=0)
        ax.scatter(
            stars[drawn],
            np.interp(np.log(stars[drawn]), np.log(grid), mean),
            color=colour,
            marker="*",
            s=70,
            zorder=3,
        )
        if i < len(result.ns) - 1 and np.isfinite(star_ref):
            ax.axvline(star_ref * n / result.ns[-1], color=colour, ls="--", lw=1)
    if np.isfinite(star_ref):
        ax.axvline(star_ref, color="black", ls=":", lw=1.2, label="λ* at the largest n")
    ax.set_xscale("log")
    ax.set_xlabel(
        f"λ (AdamW, weight_decay = λ/n; τ = m/(ηλ) epochs, E = "
        f"{result.settings['transfer_epochs']})"
    )
    ax.set_ylabel("validation data cost C₀")
    plain_log(ax, "x")
    add_legend(ax, loc="upper left", title="★ λ* per seed; dashed: λ ∝ n", title_fontsize="small")
    return ax


def figure_optimizers(result: OptimizerResult) -> Figure:
    """Q7: first-epoch factors, equilibrium ‖w‖² against λ, Adam + L2 by layer, λ transfer."""
    fig = Figure(figsize=(12, 9), layout="constrained")
    panels = fig.subplots(2, 2)
    plot_optimizer_factors(result, panels[0, 0])
    panels[0, 0].set_title("First-epoch decay factor from N(0, 1)")
    plot_optimizer_equilibrium(result, panels[0, 1])
    panels[0, 1].set_title("‖w‖² at the end against λ")
    plot_adam_layers(result, panels[1, 0])
    panels[1, 0].set_title("Adam + L2 against AdamW, layer by layer")
    plot_optimizer_transfer(result, panels[1, 1])
    panels[1, 1].set_title("λ across data-set sizes under AdamW")
    return fig
