"""Figures of experiment 6: the best λ under the sum and mean conventions."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from decaylab.experiments.q6_conventions import ConventionResult
from decaylab.plots._helpers import add_legend, axes, band, extreme, plain_log

__all__ = [
    "figure_conventions",
    "plot_cost_against_lambda",
    "plot_lambda_scan",
    "plot_lambda_star",
    "plot_lambda_transfer",
    "plot_transfer_loss",
]


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
    ax.set_ylabel(f"λ* (largest λ within {result.settings['rise']:.0%} of the least cost)")
    plain_log(ax)
    add_legend(ax)
    return ax


def plot_lambda_transfer(result: ConventionResult, ax: Axes | None = None) -> Axes:
    """λ* against training-set size n, with what each transfer rule would use."""
    ax = axes(ax)
    scan = result.size_scan
    if scan is None:
        ax.set_axis_off()
        return ax
    stars = scan.lambda_star
    x = np.repeat(scan.ns, stars.shape[1]).astype(float)
    ax.scatter(x, stars.ravel(), color="tab:blue", s=25, label="λ* (one seed)")
    ns = np.geomspace(scan.ns.min() / 1.2, scan.ns.max() * 1.2, 20)
    ax.plot(
        ns, scan.reference * ns / scan.ns[-1], color="tab:red", ls="--", label="λ ∝ n (fixed ηλ/n)"
    )
    ax.plot(
        ns,
        np.full_like(ns, scan.reference),
        color="tab:green",
        ls=":",
        label="fixed λ (fixed m/(ηλ))",
    )
    if scan.n_fit is not None:
        ax.plot(ns, scan.n_fit.predict(ns), color="black", lw=1, label=f"fit: slope {scan.n_fit}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training-set size n")
    ax.set_ylabel("λ* (least validation cost)")
    ax.set_xticks(scan.ns)
    plain_log(ax)
    ax.xaxis.set_minor_formatter(NullFormatter())
    add_legend(ax)
    return ax


def plot_cost_against_lambda(result: ConventionResult, ax: Axes | None = None) -> Axes:
    """Validation data cost against λ at each training-set size, with each n's λ* marked."""
    ax = axes(ax)
    scan = result.size_scan
    if scan is None:
        ax.set_axis_off()
        return ax
    colours = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")
    for i, n in enumerate(scan.ns):
        colour = colours[i % len(colours)]
        band(ax, scan.lmbdas, scan.cost[i], color=colour, marker="o", ms=3, label=f"n = {n}")
        ax.axvline(scan.best[i].estimate.mean, color=colour, ls=":", lw=1.2)
    ax.set_xscale("log")
    plain_log(ax, "x")
    ax.set_xlabel("λ (sum convention)")
    ax.set_ylabel("validation cost C₀")
    add_legend(ax, title="dotted: λ*", title_fontsize="small")
    return ax


def plot_transfer_loss(result: ConventionResult, ax: Axes | None = None) -> Axes:
    """Validation cost each rule loses at each n, carrying λ* from the largest n."""
    ax = axes(ax)
    scan = result.size_scan
    if scan is None:
        ax.set_axis_off()
        return ax
    styles = {"λ ∝ n": ("tab:red", "--"), "fixed λ": ("tab:green", ":")}
    for rule, loss in scan.cost_lost.items():
        colour, ls = styles.get(rule, ("black", "-"))
        ax.plot(scan.ns, loss, color=colour, ls=ls, marker="o", ms=4, label=rule)
    ax.axhline(scan.loss_margin, color="grey", lw=0.8, label="margin")
    ax.set_xscale("log")
    ax.set_xlabel("training-set size n")
    ax.set_ylabel(f"validation cost lost (λ carried from n = {int(scan.ns[-1])})")
    ax.set_xticks(scan.ns)
    plain_log(ax, "x")
    ax.xaxis.set_minor_formatter(NullFormatter())
    add_legend(ax)
    return ax


def figure_conventions(result: ConventionResult) -> Figure:
    """Q6: the λ scans of both conventions and λ* against n_w; the cost against λ and λ* against n.

    The second row shows the scan across n: the cost curves, λ* with both rules,
    and what each rule loses. Without that scan the second row is left out
    and the figure is one row of three.
    """
    if result.size_scan is not None:
        fig = Figure(figsize=(17, 9), layout="constrained")
        (scan_sum, scan_mean, star), (costs, transfer, loss) = fig.subplots(2, 3)
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
        data, sizes = result.settings["transfer_data"], result.settings["transfer_sizes"]
        plot_cost_against_lambda(result, costs)
        costs.set_title(f"Validation cost against λ ({data}, [{sizes}])")
        plot_lambda_transfer(result, transfer)
        transfer.set_title("Best λ against data-set size")
        plot_transfer_loss(result, loss)
        loss.set_title("What each rule loses carrying λ*")
    return fig
