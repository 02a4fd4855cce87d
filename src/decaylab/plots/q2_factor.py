"""Figures of experiment 2: the per-epoch factor against the exact one."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from decaylab.experiments.q2_factor import FactorResult
from decaylab.plots._helpers import add_legend, axes, hline, plain_log

__all__ = ["plot_factors", "plot_factor_error", "figure_factor"]


def plot_factors(result: FactorResult, ax: Axes | None = None) -> Axes:
    """Measured first-epoch factor and e^{−ηλ/m} against the exact factor, on linear axes.

    Points on the diagonal agree with the exact factor (1 − ηλ/n)^⌈n/m⌉;
    error bars are ± one standard error over seeds.
    """
    ax = axes(ax)
    measured = np.array([e.mean for e in result.measured_estimate])
    stderr = np.array([e.stderr if e.n > 1 else 0.0 for e in result.measured_estimate])
    ax.plot([0, 1], [0, 1], color="grey", lw=1, label="= exact factor")
    ax.scatter(
        result.exact,
        result.closed_form,
        marker="x",
        color="tab:red",
        s=40,
        label="closed form e^(−ηλ/m)",
        zorder=3,
    )
    ax.errorbar(
        result.exact,
        measured,
        yerr=np.nan_to_num(stderr),
        fmt="o",
        mfc="none",
        color="tab:blue",
        ms=6,
        label=f"measured ‖w₁‖/‖w₀‖, layer {result.settings['layer']}",
        zorder=4,
    )
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_aspect("equal")
    ax.set_xlabel("exact pure-decay factor (1 − ηλ/n)^⌈n/m⌉")
    ax.set_ylabel("per-epoch factor")
    add_legend(ax, loc="upper left")
    return ax


def plot_factor_error(result: FactorResult, ax: Axes | None = None) -> Axes:
    """How far the closed form and the measurement are from the exact factor, against ηλ/n.

    |f/exact − 1| on log axes for f = e^{−ηλ/m} (crosses) and f = the measured
    first-epoch factor (circles), one colour per batch size m, with the tolerance.
    """
    ax = axes(ax)
    measured = np.array([e.mean for e in result.measured_estimate])
    colours = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown")
    for m, colour in zip(np.unique(result.batch_size), colours):
        pick = result.batch_size == m
        steps = int(result.steps[pick][0])
        x = result.eta_lambda_over_n[pick]
        ax.scatter(
            x,
            np.abs(result.relative_error[pick]),
            marker="x",
            color=colour,
            s=40,
            label=f"e^(−ηλ/m), m = {m} ({steps} steps/epoch)",
        )
        ax.scatter(
            x * 1.06,  # nudged right so that the two markers of a setting do not overlap
            np.abs(measured[pick] / result.exact[pick] - 1),
            marker="o",
            facecolors="none",
            edgecolors=colour,
            s=40,
            label=f"measured, m = {m}",
        )
    hline(ax, result.settings["tolerance"], "tolerance", ls="--", color="black")
    ax.set_xscale("log")
    ax.set_yscale("log")
    # ηλ/n often spans a decade or two, where matplotlib labels minor ticks as
    # 2×10⁻³, 3×10⁻³, … and they run into each other: plain numbers, as many as fit.
    plain_log(ax, "x")
    ax.set_xlabel("per-step decay ηλ/n")
    ax.set_ylabel("|factor / exact factor − 1|")
    add_legend(ax, fontsize="x-small", ncol=2, loc="upper left")
    return ax


def figure_factor(result: FactorResult) -> Figure:
    """Q2: the factors against the exact one, and how far each is from it."""
    fig = Figure(figsize=(12, 5.2), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1, 1.35))
    plot_factors(result, left)
    left.set_title("First-epoch factor")
    plot_factor_error(result, right)
    right.set_title("Distance from the exact factor")
    return fig
