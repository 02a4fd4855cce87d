"""Figures of experiment 3: where decay tails off, and how that size scales."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from decaylab.experiments.q3_equilibrium import EquilibriumResult
from decaylab.plots._helpers import (
    add_legend,
    axes,
    band,
    extreme,
    hline,
    integer_epochs,
    layer_colour,
    plain_log,
)

__all__ = [
    "plot_weight_rms",
    "plot_equilibrium_scaling",
    "plot_norm_against_width",
    "plot_equilibrium_sweep",
    "figure_equilibrium",
]


def plot_weight_rms(result: EquilibriumResult, ax: Axes | None = None, *, width=None) -> Axes:
    """Weight RMS per layer against epoch (log scale), with the pure-decay prediction and
    the reference levels 1/n_w, 1/√n_w and 1/√n_in.

    Parameters
    ----------
    result : EquilibriumResult
    ax : matplotlib Axes, optional
    width : int, optional
        Hidden width to show; by default the middle one of the sweep.
    """
    ax = axes(ax)
    index = len(result.widths) // 2 if width is None else list(result.widths).index(width)
    n_w = int(result.n_weights[index])
    for l in range(result.weight_rms.shape[-1]):
        colour = layer_colour(l)
        n_in = int(result.fan_ins[index, l])
        band(
            ax,
            result.epoch,
            result.weight_rms[index, :, :, l],
            color=colour,
            label=f"layer {l} (n_in = {n_in})",
        )
        hline(ax, 1 / np.sqrt(n_in), f"1/√n_in = {1 / np.sqrt(n_in):.3g}", color=colour)
    band(ax, result.epoch, result.total_rms[index], color="black", label="all weights")
    ax.plot(
        result.epoch,
        result.pure_decay_rms[index],
        color="black",
        ls="--",
        lw=1,
        label="pure decay (all weights)",
    )
    hline(ax, 1 / np.sqrt(n_w), f"1/√n_w = {1 / np.sqrt(n_w):.3g}", ls="-.")
    hline(ax, 1 / n_w, f"1/n_w = {1 / n_w:.2g}", ls="--")
    ax.set_yscale("log")
    top = extreme(result.weight_rms[index], "max")
    if np.isfinite(top):
        ax.set_ylim(0.3 / n_w, 3 * top)
    # Runs stop at their equilibrium; the rows after the longest one are NaN.
    trained = np.flatnonzero(np.isfinite(result.total_rms[index]).any(axis=0))
    if len(trained) > 1:
        ax.set_xlim(result.epoch[0], result.epoch[trained[-1]])
    ax.set_xlabel("epoch")
    ax.set_ylabel("weight RMS")
    ax.set_title(f"hidden width {result.widths[index]} (n_w = {n_w})")
    integer_epochs(ax)
    add_legend(ax, fontsize="x-small", ncol=2, loc="lower left")
    return ax


def _fit_lines(ax: Axes, fit, x: np.ndarray, anchor_y: float, names, *, name: str = "") -> list:
    """The fitted power law, and each hypothesis drawn through the data's centre."""
    drawn = []
    xs = np.geomspace(x.min() / 1.3, x.max() * 1.3, 50)
    low, high = fit.interval
    drawn += ax.plot(
        xs,
        fit.predict(xs),
        color="black",
        lw=1.5,
        label=f"fit{f' ({name})' if name else ''}: slope {fit.exponent:.3f} "
        f"[{low:.3f}, {high:.3f}]",
    )
    centre = np.exp(np.mean(np.log(x)))
    for h, style in zip(fit.hypotheses, ("--", ":", "-.")):
        drawn += ax.plot(
            xs,
            anchor_y * (xs / centre) ** h,
            color="grey",
            ls=style,
            lw=1,
            label=f"slope {h:g} ({names.get(h, '')})",
        )
    return drawn


def plot_equilibrium_scaling(result: EquilibriumResult, ax: Axes | None = None) -> Axes:
    """Equilibrium RMS against n_w on log–log axes, every run, with the fit and the slopes
    −1 (1/n_w) and −1/2 (1/√n_w) through the centre of the data.

    When the record holds the width sweep on real MNIST (``mnist_fit``), its
    runs and fit are drawn beside the digits' on the same axes.
    """
    ax = axes(ax)
    x = np.repeat(result.n_weights, result.equilibrium_rms.shape[1]).astype(float)
    y = result.equilibrium_rms.ravel()
    reached = result.reached.ravel()
    data = result.settings.get("data", "digits")
    n = result.settings.get("n")
    label = f"{data}{f' (n = {n:,})' if n else ''}: one run"
    ax.scatter(x[reached], y[reached], color="tab:blue", s=25, label=label)
    if (~reached).any():
        ax.scatter(
            x[~reached],
            y[~reached],
            facecolors="none",
            edgecolors="tab:red",
            s=25,
            label="not reached: last epochs",
        )
    ok = np.isfinite(y)
    anchor = float(np.exp(np.mean(np.log(y[ok]))))
    _fit_lines(ax, result.fit, x[ok], anchor, {-1.0: "1/n_w", -0.5: "1/√n_w"}, name=data)
    _mnist_points(result, ax)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of weights n_w")
    ax.set_ylabel("equilibrium weight RMS")
    plain_log(ax)
    add_legend(ax, fontsize="x-small")
    return ax


def _mnist_points(result: EquilibriumResult, ax: Axes) -> None:
    """The width sweep on real MNIST ([784, h, 10]): its runs at equilibrium and its fit."""
    fit = getattr(result, "mnist_fit", None)
    if getattr(result, "mnist_equilibrium_rms", None) is None:
        return
    rms = np.asarray(result.mnist_equilibrium_rms, dtype=float)
    x = np.repeat(np.asarray(result.mnist_n_weights, dtype=float), rms.shape[1])
    y, ok = rms.ravel(), np.asarray(result.mnist_reached, dtype=bool).ravel()
    n = result.settings.get("mnist_n")
    label = f"real MNIST{f' (n = {n:,})' if n else ''}: one run"
    ax.scatter(x[ok], y[ok], color="tab:orange", marker="s", s=25, label=label)
    if fit is None:
        return
    xs = np.geomspace(x[ok].min() / 1.3, x[ok].max() * 1.3, 50)
    low, high = fit.interval
    ax.plot(
        xs,
        fit.predict(xs),
        color="tab:orange",
        lw=1.5,
        label=f"fit (real MNIST): slope {fit.exponent:.3f} [{low:.3f}, {high:.3f}]",
    )


def plot_norm_against_width(result: EquilibriumResult, ax: Axes | None = None) -> Axes:
    """Total ‖w‖² at equilibrium against n_w (log–log), with its fit."""
    ax = axes(ax)
    x = np.repeat(result.n_weights, result.equilibrium_norm_squared.shape[1]).astype(float)
    y = result.equilibrium_norm_squared.ravel()
    ok = np.isfinite(y)
    ax.scatter(x[ok], y[ok], color="tab:blue", s=25, label="equilibrium (one run)")
    anchor = float(np.exp(np.mean(np.log(y[ok]))))
    _fit_lines(ax, result.norm_fit, x[ok], anchor, {0.0: "‖w‖² fixed", 1.0: "‖w‖² ∝ n_w"})
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of weights n_w")
    ax.set_ylabel("equilibrium ‖w‖² (all weights)")
    plain_log(ax)
    add_legend(ax)
    return ax


#: against → (values, ‖w‖², reached, fit attributes of the record; axis label; hypothesis names)
SWEEPS = {
    "lmbda": (
        ("lmbdas", "lambda_norm_squared", "lambda_reached", "lambda_fit"),
        "regularisation strength λ",
        {-1.0: "‖w‖² ∝ 1/λ", 0.0: "no dependence"},
    ),
    "n": (
        ("ns", "n_norm_squared", "n_reached", "n_fit"),
        "training-set size n",
        {1.0: "‖w‖² ∝ n", 0.0: "no dependence"},
    ),
    "batch_size": (
        ("batch_sizes", "batch_norm_squared", "batch_reached", "batch_fit"),
        "mini-batch size m",
        {-1.0: "‖w‖² ∝ 1/m", 0.0: "no dependence"},
    ),
}


def _sweep(result: EquilibriumResult, against: str):
    """(x, ‖w‖², reached, fit) of one sweep; empty arrays when the record has none."""
    names = SWEEPS[against][0]
    xs, values, reached, fit = (getattr(result, name, None) for name in names)
    if xs is None or len(xs) == 0:
        return np.empty(0), np.empty((0, 0)), np.empty((0, 0), dtype=bool), None
    values = np.asarray(values, dtype=float)
    reached = np.isfinite(values) if reached is None else np.asarray(reached, dtype=bool)
    return np.asarray(xs, dtype=float), values, reached, fit


def plot_equilibrium_sweep(
    result: EquilibriumResult, ax: Axes | None = None, *, against: str = "lmbda"
) -> Axes:
    """Equilibrium ‖w‖² against λ, n or m at one width, log–log, with the fit.

    Parameters
    ----------
    result : EquilibriumResult
    ax : matplotlib Axes, optional
    against : {"lmbda", "n", "batch_size"}
        The sweep to draw. A sweep the result does not hold leaves the axes
        empty and switched off; :func:`figure_equilibrium` leaves its panel out.
    """
    ax = axes(ax)
    if against not in SWEEPS:
        raise ValueError(f"against={against!r} is not recognised; expected one of {sorted(SWEEPS)}")
    xs, values, reached, fit = _sweep(result, against)
    _, label, names = SWEEPS[against]
    if len(xs) == 0:
        ax.set_axis_off()
        return ax
    x = np.repeat(xs, values.shape[1])
    y = values.ravel()
    ok = np.isfinite(y) & reached.ravel()
    ax.scatter(x[ok], y[ok], color="tab:green", s=25, label="equilibrium (one run)")
    late = np.isfinite(y) & ~reached.ravel()
    if late.any():
        ax.scatter(
            x[late],
            y[late],
            facecolors="none",
            edgecolors="tab:red",
            s=25,
            label="not reached: last epochs",
        )
    if fit is not None and ok.any():
        _fit_lines(ax, fit, x[ok], float(np.exp(np.mean(np.log(y[ok])))), names)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel("equilibrium ‖w‖² (all weights)")
    ax.set_xticks(np.unique(xs))
    plain_log(ax)
    ax.xaxis.set_minor_formatter(NullFormatter())
    add_legend(ax, fontsize="x-small")
    return ax


def figure_equilibrium(result: EquilibriumResult) -> Figure:
    """Q3: trajectories, the size law and ‖w‖² against n_w; then ‖w‖² against λ, n and m.

    The second row holds one panel per sweep the result has (λ, n, batch
    size m); without any, the figure is the first row alone.
    """
    sweeps = [against for against in SWEEPS if len(_sweep(result, against)[0])]
    rows = 2 if sweeps else 1
    fig = Figure(figsize=(15, 4.6 * rows), layout="constrained")
    grid = fig.add_gridspec(rows, 6)
    trajectories, scaling, norm = (fig.add_subplot(grid[0, 2 * k : 2 * k + 2]) for k in range(3))
    plot_weight_rms(result, trajectories)
    plot_equilibrium_scaling(result, scaling)
    mnist = getattr(result, "mnist_equilibrium_rms", None) is not None
    scaling.set_title(
        "Equilibrium size against network size" + (": digits and real MNIST" if mnist else "")
    )
    plot_norm_against_width(result, norm)
    norm.set_title("Total ‖w‖² against network size")
    hidden = result.settings["sweep_hidden"]
    span = 6 // max(len(sweeps), 1)
    for k, against in enumerate(sweeps):
        ax = fig.add_subplot(grid[1, k * span : (k + 1) * span])
        plot_equilibrium_sweep(result, ax, against=against)
        ax.set_title(f"Against {SWEEPS[against][1].split()[-1]} (width {hidden})")
    return fig
