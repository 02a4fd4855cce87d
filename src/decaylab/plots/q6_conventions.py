"""Figures of experiment 6: the best λ under the sum and mean conventions."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from decaylab.experiments.q6_conventions import ConventionResult
from decaylab.plots._helpers import add_legend, axes, band, extreme, plain_log

__all__ = ["plot_lambda_scan", "plot_lambda_star", "plot_lambda_transfer", "figure_conventions"]


def plot_lambda_scan(result: ConventionResult, ax: Axes | None = None, *, convention="sum") -> Axes:
    """Validation accuracy against λ for each width under one convention, with λ* marked."""
    ax = axes(ax)
    grid = result.grids[convention]
    colours = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")
    for w, width in enumerate(result.widths):
        colour = colours[w % len(colours)]
        band(
            ax,
            grid,
            result.accuracy[convention][w],
            color=colour,
            marker="o",
            ms=3,
            label=f"width {width} (n_w = {result.n_weights[w]})",
        )
        star = result.lambda_star_estimate[convention][w].mean
        ax.axvline(star, color=colour, ls=":", lw=1.2)
    ax.set_xscale("log")
    plain_log(ax, "x")
    ax.set_xlabel(f"λ ({convention} convention)")
    ax.set_ylabel("validation accuracy")
    top = extreme(result.accuracy[convention], "max")
    if np.isfinite(top):
        ax.set_ylim(max(0.0, top - 0.25), min(1.0, top + 0.03))
    add_legend(ax, loc="lower left", title="dotted: λ*", title_fontsize="small")
    return ax


def plot_lambda_star(result: ConventionResult, ax: Axes | None = None) -> Axes:
    """λ* against n_w under each convention, log–log, with the fitted slopes."""
    ax = axes(ax)
    for convention, colour in (("sum", "tab:blue"), ("mean", "tab:red")):
        stars = result.lambda_star[convention]
        x = np.repeat(result.n_weights, stars.shape[1]).astype(float)
        fit = result.width_fit[convention]
        ax.scatter(x, stars.ravel(), color=colour, s=25, label=f"{convention}: λ*")
        if fit is not None:
            low, high = fit.interval
            xs = np.geomspace(x.min() / 1.3, x.max() * 1.3, 30)
            ax.plot(
                xs,
                fit.predict(xs),
                color=colour,
                label=f"{convention}: slope {fit.exponent:.2f} [{low:.2f}, {high:.2f}]",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of weights n_w")
    ax.set_ylabel("λ* (largest λ within tolerance of the best)")
    plain_log(ax)
    add_legend(ax)
    return ax


def plot_lambda_transfer(result: ConventionResult, ax: Axes | None = None) -> Axes:
    """λ* against training-set size n, with what each transfer rule would use."""
    ax = axes(ax)
    if len(result.ns) == 0:
        ax.set_axis_off()
        return ax
    stars = result.transfer_lambda_star
    x = np.repeat(result.ns, stars.shape[1]).astype(float)
    ax.scatter(x, stars.ravel(), color="tab:blue", s=25, label="λ* (one seed)")
    reference = int(np.argmax(result.ns))
    star_ref = float(np.exp(np.mean(np.log(stars[reference]))))
    ns = np.geomspace(result.ns.min() / 1.2, result.ns.max() * 1.2, 20)
    ax.plot(
        ns,
        star_ref * ns / result.ns[reference],
        color="tab:red",
        ls="--",
        label="λ ∝ n (fixed ηλ/n)",
    )
    ax.plot(
        ns, np.full_like(ns, star_ref), color="tab:green", ls=":", label="fixed λ (fixed m/(ηλ))"
    )
    if result.n_fit is not None:
        fit = result.n_fit
        ax.plot(
            ns,
            fit.predict(ns),
            color="black",
            lw=1,
            label=f"fit: slope {fit.exponent:.2f} [{fit.interval[0]:.2f}, {fit.interval[1]:.2f}]",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training-set size n")
    ax.set_ylabel("λ* (sum convention)")
    ax.set_xticks(result.ns)
    plain_log(ax)
    ax.xaxis.set_minor_formatter(NullFormatter())
    add_legend(ax)
    return ax


def figure_conventions(result: ConventionResult) -> Figure:
    """Q6: the λ scans of both conventions, λ* against n_w, and λ* against n.

    Without a data-set-size sweep (no ``ns``) the last panel is left out and
    the figure is one row of three.
    """
    if len(result.ns):
        fig = Figure(figsize=(12, 9), layout="constrained")
        (scan_sum, scan_mean), (star, transfer) = fig.subplots(2, 2)
    else:
        fig = Figure(figsize=(16, 4.8), layout="constrained")
        scan_sum, scan_mean, star = fig.subplots(1, 3)
        transfer = None
    plot_lambda_scan(result, scan_sum, convention="sum")
    scan_sum.set_title("Sum convention (λ/2n)·Σw²")
    plot_lambda_scan(result, scan_mean, convention="mean")
    scan_mean.set_title("Mean convention (λ/2n)·(1/n_w)·Σw²")
    plot_lambda_star(result, star)
    star.set_title("Best λ against network size")
    if transfer is not None:
        plot_lambda_transfer(result, transfer)
        transfer.set_title(
            f"Best λ against data-set size (width {result.settings['transfer_hidden']})"
        )
    return fig
