r"""Figures drawn from experiment records; nothing here computes a result.

Every ``plot_*`` function draws one panel from a result record of
:mod:`decaylab.experiments` on the given ``ax`` (the current axes when None)
and returns the list of artists it drew. Every ``figure_*`` function lays out
the panels of one question on a new :class:`matplotlib.figure.Figure`, which
it returns without showing (save it with ``fig.savefig``; in a notebook it
displays itself). This module is the only one that imports matplotlib, and
``import decaylab`` does not import it.

Examples
--------
>>> import decaylab as dl, decaylab.plots as dp
>>> result = dl.early_decay_dominance(epochs=3, seeds=1)  # doctest: +SKIP
>>> fig = dp.figure_for(result)                            # doctest: +SKIP
>>> fig.savefig("q1.png")                                  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from decaylab.experiments.q1_dominance import DominanceResult
from decaylab.experiments.q2_factor import FactorResult
from decaylab.experiments.q3_equilibrium import EquilibriumResult
from decaylab.experiments.q4_initialisation import InitialisationResult
from decaylab.experiments.q5_layers import STATISTIC_NAMES, LayerResult
from decaylab.experiments.q6_conventions import ConventionResult

__all__ = [
    "figure_for",
    "plot_decay_share",
    "plot_equilibrium_scaling",
    "plot_equilibrium_sweep",
    "plot_factor_error",
    "plot_factors",
    "plot_lambda_scan",
    "plot_lambda_star",
    "plot_lambda_transfer",
    "plot_layer_scale",
    "plot_layer_statistic",
    "plot_learning_curves",
    "plot_norm_against_width",
    "plot_weight_rms",
]

LAYER_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red")


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.gca()


def _band(ax: Axes, x, samples: np.ndarray, **line) -> list:
    """Mean over axis 0 of ``samples`` as a line, ± one standard error as a band."""
    samples = np.asarray(samples, dtype=float)
    with np.errstate(invalid="ignore"), _quiet():
        mean = np.nanmean(samples, axis=0)
        count = np.sum(np.isfinite(samples), axis=0)
        se = np.nanstd(samples, axis=0, ddof=1) / np.sqrt(count) if samples.shape[0] > 1 else None
    drawn = ax.plot(x, mean, **line)
    if se is not None and np.isfinite(se).any():
        colour = drawn[0].get_color()
        drawn.append(ax.fill_between(x, mean - se, mean + se, color=colour, alpha=0.2, lw=0))
    return drawn


class _quiet:
    """Silence the warnings of NaN-only slices (runs that diverged early)."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)


def _plain_log(ax: Axes, which: str = "both") -> None:
    """Label log axes with plain numbers (0.2, 50, 1e+04) instead of 2×10⁻¹."""
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    for name in ("x", "y") if which == "both" else (which,):
        axis = getattr(ax, f"{name}axis")
        if getattr(ax, f"get_{name}scale")() == "log":
            axis.set_major_formatter(plain)
            low, high = getattr(ax, f"get_{name}lim")()
            # Few decades: label the minor ticks 2..9 too, else they stay unlabelled.
            if high / low < 30:
                axis.set_minor_formatter(plain)
            else:
                axis.set_minor_formatter(NullFormatter())


def _integer_epochs(ax: Axes) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _extreme(values, kind: str) -> float:
    """nanmin or nanmax of ``values``; NaN (no warning) when none is finite."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan")
    return float(finite.min() if kind == "min" else finite.max())


def _hline(ax: Axes, y: float, label: str, **style) -> list:
    style = {"color": "grey", "lw": 1.0, "ls": ":", **style}
    return [ax.axhline(y, label=label, **style)]


# ----------------------------------------------------------------------------- Q1


def plot_decay_share(
    result: DominanceResult, ax: Axes | None = None, *, layer=None, legend: bool = True
) -> list:
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
    list of matplotlib artists
    """
    ax = _axes(ax)
    data = result.share_total if layer is None else result.share[..., layer]
    lmbdas = np.unique(result.lmbdas)
    colours = dict(zip(lmbdas, ("tab:green", "tab:orange", "tab:red", "tab:purple", "tab:brown")))
    drawn = []
    for c, (init, lmbda) in enumerate(zip(result.inits, result.lmbdas)):
        drawn += _band(
            ax,
            result.epochs,
            data[c],
            color=colours.get(lmbda, "black"),
            ls="-" if init == "large" else "--",
            marker="o" if init == "large" else "s",
            ms=3,
            label=f"{init} init, λ = {lmbda:g}",
        )
    drawn += _hline(ax, result.settings["threshold"], "threshold", ls="-", color="black", lw=0.8)
    ax.set_ylim(0, 1)
    ax.set_xlabel("epoch")
    where = "all weights" if layer is None else f"layer {layer}"
    ax.set_ylabel(f"decay share of Δ‖w‖² ({where})")
    _integer_epochs(ax)
    if legend:
        ax.legend(fontsize="small", ncol=2)
    return drawn


def figure_dominance(result: DominanceResult) -> Figure:
    """Q1: decay share of all weights, and of the first (hidden) layer."""
    fig = Figure(figsize=(11, 4.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    plot_decay_share(result, left, legend=False)
    left.set_title("All weights")
    plot_decay_share(result, right, layer=0, legend=False)
    right.set_title("Layer 0 (input → hidden)")
    handles, labels = left.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize="small")
    return fig


# ----------------------------------------------------------------------------- Q2


def plot_factors(result: FactorResult, ax: Axes | None = None) -> list:
    """Measured first-epoch factor and e^{−ηλ/m} against the exact factor, on linear axes.

    Points on the diagonal agree with the exact factor (1 − ηλ/n)^⌈n/m⌉;
    error bars are ± one standard error over seeds.
    """
    ax = _axes(ax)
    measured = np.array([e.mean for e in result.measured_estimate])
    stderr = np.array([e.stderr if e.n > 1 else 0.0 for e in result.measured_estimate])
    drawn = ax.plot([0, 1], [0, 1], color="grey", lw=1, label="= exact factor")
    drawn.append(
        ax.scatter(
            result.exact,
            result.closed_form,
            marker="x",
            color="tab:red",
            s=40,
            label="closed form e^(−ηλ/m)",
            zorder=3,
        )
    )
    bars = ax.errorbar(
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
    drawn += bars.get_children()
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_aspect("equal")
    ax.set_xlabel("exact pure-decay factor (1 − ηλ/n)^⌈n/m⌉")
    ax.set_ylabel("per-epoch factor")
    ax.legend(fontsize="small", loc="upper left")
    return drawn


def plot_factor_error(result: FactorResult, ax: Axes | None = None) -> list:
    """How far the closed form and the measurement are from the exact factor, against ηλ/n.

    |f/exact − 1| on log axes for f = e^{−ηλ/m} (crosses) and f = the measured
    first-epoch factor (circles), one colour per batch size m, with the tolerance.
    """
    ax = _axes(ax)
    drawn = []
    measured = np.array([e.mean for e in result.measured_estimate])
    colours = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown")
    for m, colour in zip(np.unique(result.batch_size), colours):
        pick = result.batch_size == m
        steps = int(result.steps[pick][0])
        x = result.eta_lambda_over_n[pick]
        drawn.append(
            ax.scatter(
                x,
                np.abs(result.relative_error[pick]),
                marker="x",
                color=colour,
                s=40,
                label=f"e^(−ηλ/m), m = {m} ({steps} steps/epoch)",
            )
        )
        drawn.append(
            ax.scatter(
                x * 1.06,  # nudged right so that the two markers of a setting do not overlap
                np.abs(measured[pick] / result.exact[pick] - 1),
                marker="o",
                facecolors="none",
                edgecolors=colour,
                s=40,
                label=f"measured, m = {m}",
            )
        )
    drawn += _hline(ax, result.settings["tolerance"], "tolerance", ls="--", color="black")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("per-step decay ηλ/n")
    ax.set_ylabel("|factor / exact factor − 1|")
    ax.legend(fontsize="x-small", ncol=2, loc="upper left")
    return drawn


def figure_factor(result: FactorResult) -> Figure:
    """Q2: the factors against the exact one, and how far each is from it."""
    fig = Figure(figsize=(12, 5.2), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1, 1.35))
    plot_factors(result, left)
    left.set_title("First-epoch factor")
    plot_factor_error(result, right)
    right.set_title("Distance from the exact factor")
    return fig


# ----------------------------------------------------------------------------- Q3


def plot_weight_rms(result: EquilibriumResult, ax: Axes | None = None, *, width=None) -> list:
    """Weight RMS per layer against epoch (log scale), with the pure-decay prediction and
    the reference levels 1/n_w, 1/√n_w and 1/√n_in.

    Parameters
    ----------
    result : EquilibriumResult
    ax : matplotlib Axes, optional
    width : int, optional
        Hidden width to show; by default the middle one of the sweep.
    """
    ax = _axes(ax)
    index = len(result.widths) // 2 if width is None else list(result.widths).index(width)
    n_w = int(result.n_weights[index])
    drawn = []
    for l in range(result.weight_rms.shape[-1]):
        colour = LAYER_COLOURS[l % len(LAYER_COLOURS)]
        n_in = int(result.fan_ins[index, l])
        drawn += _band(
            ax,
            result.epoch,
            result.weight_rms[index, :, :, l],
            color=colour,
            label=f"layer {l} (n_in = {n_in})",
        )
        drawn += _hline(ax, 1 / np.sqrt(n_in), f"1/√n_in = {1 / np.sqrt(n_in):.3g}", color=colour)
    drawn += _band(ax, result.epoch, result.total_rms[index], color="black", label="all weights")
    drawn += ax.plot(
        result.epoch,
        result.pure_decay_rms[index],
        color="black",
        ls="--",
        lw=1,
        label="pure decay (all weights)",
    )
    drawn += _hline(ax, 1 / np.sqrt(n_w), f"1/√n_w = {1 / np.sqrt(n_w):.3g}", ls="-.")
    drawn += _hline(ax, 1 / n_w, f"1/n_w = {1 / n_w:.2g}", ls="--")
    ax.set_yscale("log")
    top = _extreme(result.weight_rms[index], "max")
    if np.isfinite(top):
        ax.set_ylim(0.3 / n_w, 3 * top)
    ax.set_xlabel("epoch")
    ax.set_ylabel("weight RMS")
    ax.set_title(f"hidden width {result.widths[index]} (n_w = {n_w})")
    _integer_epochs(ax)
    ax.legend(fontsize="x-small", ncol=2, loc="lower left")
    return drawn


def _fit_lines(ax: Axes, fit, x: np.ndarray, anchor_y: float, names) -> list:
    """The fitted power law, and each hypothesis drawn through the data's centre."""
    drawn = []
    xs = np.geomspace(x.min() / 1.3, x.max() * 1.3, 50)
    low, high = fit.interval
    drawn += ax.plot(
        xs,
        fit.predict(xs),
        color="black",
        lw=1.5,
        label=f"fit: slope {fit.exponent:.3f} [{low:.3f}, {high:.3f}]",
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


def plot_equilibrium_scaling(result: EquilibriumResult, ax: Axes | None = None) -> list:
    """Equilibrium RMS against n_w on log–log axes, every run, with the fit and the slopes
    −1 (1/n_w) and −1/2 (1/√n_w) through the centre of the data."""
    ax = _axes(ax)
    x = np.repeat(result.n_weights, result.equilibrium_rms.shape[1]).astype(float)
    y = result.equilibrium_rms.ravel()
    reached = result.reached.ravel()
    drawn = [
        ax.scatter(x[reached], y[reached], color="tab:blue", s=25, label="equilibrium (one run)")
    ]
    if (~reached).any():
        drawn.append(
            ax.scatter(
                x[~reached],
                y[~reached],
                facecolors="none",
                edgecolors="tab:red",
                s=25,
                label="not reached: last epochs",
            )
        )
    ok = np.isfinite(y)
    anchor = float(np.exp(np.mean(np.log(y[ok]))))
    drawn += _fit_lines(ax, result.fit, x[ok], anchor, {-1.0: "1/n_w", -0.5: "1/√n_w"})
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of weights n_w")
    ax.set_ylabel("equilibrium weight RMS")
    _plain_log(ax)
    ax.legend(fontsize="small")
    return drawn


def plot_norm_against_width(result: EquilibriumResult, ax: Axes | None = None) -> list:
    """Total ‖w‖² at equilibrium against n_w (log–log), with its fit."""
    ax = _axes(ax)
    x = np.repeat(result.n_weights, result.equilibrium_norm_squared.shape[1]).astype(float)
    y = result.equilibrium_norm_squared.ravel()
    ok = np.isfinite(y)
    drawn = [ax.scatter(x[ok], y[ok], color="tab:blue", s=25, label="equilibrium (one run)")]
    anchor = float(np.exp(np.mean(np.log(y[ok]))))
    drawn += _fit_lines(ax, result.norm_fit, x[ok], anchor, {0.0: "‖w‖² fixed", 1.0: "‖w‖² ∝ n_w"})
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of weights n_w")
    ax.set_ylabel("equilibrium ‖w‖² (all weights)")
    _plain_log(ax)
    ax.legend(fontsize="small")
    return drawn


def plot_equilibrium_sweep(
    result: EquilibriumResult, ax: Axes | None = None, *, against: str = "lmbda"
) -> list:
    """Equilibrium ‖w‖² against λ (``against="lmbda"``) or n (``against="n"``), log–log."""
    ax = _axes(ax)
    if against == "lmbda":
        xs, values, fit = result.lmbdas, result.lambda_norm_squared, result.lambda_fit
        label, names = "regularisation strength λ", {-1.0: "‖w‖² ∝ 1/λ", 0.0: "no dependence"}
    elif against == "n":
        xs, values, fit = result.ns.astype(float), result.n_norm_squared, result.n_fit
        label, names = "training-set size n", {1.0: "‖w‖² ∝ n", 0.0: "no dependence"}
    else:
        raise ValueError(f"against={against!r} is not recognised; expected 'lmbda' or 'n'")
    drawn = []
    if len(xs) == 0:
        ax.set_axis_off()
        return drawn
    x = np.repeat(xs, values.shape[1])
    y = values.ravel()
    ok = np.isfinite(y)
    drawn.append(ax.scatter(x[ok], y[ok], color="tab:green", s=25, label="equilibrium (one run)"))
    if fit is not None:
        drawn += _fit_lines(ax, fit, x[ok], float(np.exp(np.mean(np.log(y[ok])))), names)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel("equilibrium ‖w‖² (all weights)")
    ax.set_xticks(np.unique(xs))
    _plain_log(ax)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize="small")
    return drawn


def figure_equilibrium(result: EquilibriumResult) -> Figure:
    """Q3: trajectories, the size law against n_w, ‖w‖² against n_w, and against λ and n."""
    fig = Figure(figsize=(13, 9), layout="constrained")
    grid = fig.add_gridspec(2, 4)
    plot_weight_rms(result, fig.add_subplot(grid[0, :2]))
    ax = fig.add_subplot(grid[0, 2:])
    plot_equilibrium_scaling(result, ax)
    ax.set_title("Equilibrium size against network size")
    ax = fig.add_subplot(grid[1, :2])
    plot_norm_against_width(result, ax)
    ax.set_title("Total ‖w‖² against network size")
    hidden = result.settings["sweep_hidden"]
    for column, against, title in ((2, "lmbda", "λ"), (3, "n", "n")):
        ax = fig.add_subplot(grid[1, column])
        plot_equilibrium_sweep(result, ax, against=against)
        ax.set_title(f"Against {title} (width {hidden})")
        if ax.get_legend() is not None:
            ax.legend(fontsize="x-small")
    return fig


# ----------------------------------------------------------------------------- Q4

CONDITION_COLOURS = ("tab:red", "tab:blue", "tab:green")


def plot_layer_scale(
    result: InitialisationResult, ax: Axes | None = None, *, layer: int = 0
) -> list:
    """One layer's weight RMS against epoch for each condition, log scale, with 1/√n_in."""
    ax = _axes(ax)
    drawn = []
    for c, label in enumerate(result.labels):
        drawn += _band(
            ax,
            result.epoch,
            result.weight_rms[c, :, :, layer],
            color=CONDITION_COLOURS[c % 3],
            label=label,
        )
    reference = float(result.reference[layer])
    drawn += _hline(ax, reference, f"1/√n_in = {reference:.3g}", color="black", ls="--")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"weight RMS of layer {layer}")
    _integer_epochs(ax)
    _plain_log(ax, "y")
    ax.legend(fontsize="small")
    return drawn


def plot_learning_curves(result: InitialisationResult, ax: Axes | None = None) -> list:
    """Validation accuracy against epoch for each condition, with the target accuracy."""
    ax = _axes(ax)
    drawn = []
    for c, label in enumerate(result.labels):
        drawn += _band(
            ax, result.epoch, result.accuracy[c], color=CONDITION_COLOURS[c % 3], label=label
        )
    target = result.settings["target_accuracy"]
    drawn += _hline(ax, target, f"target {target:.0%}", color="black", ls="--")
    low = _extreme(result.accuracy[:, :, 1:], "min")
    ax.set_ylim(max(0.0, low - 0.05) if np.isfinite(low) else 0.0, 1.0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    _integer_epochs(ax)
    ax.legend(fontsize="small", loc="lower right")
    return drawn


def figure_initialisation(result: InitialisationResult) -> Figure:
    """Q4: each layer's RMS against 1/√n_in, and the learning curves."""
    n_layers = len(result.reference)
    fig = Figure(figsize=(4.3 * (n_layers + 1), 4.2), layout="constrained")
    axes = fig.subplots(1, n_layers + 1)
    for l in range(n_layers):
        plot_layer_scale(result, axes[l], layer=l)
        axes[l].set_title(f"Layer {l}: n_in = {round(1 / result.reference[l] ** 2)}")
    plot_learning_curves(result, axes[-1])
    axes[-1].set_title("Learning curves")
    return fig


# ----------------------------------------------------------------------------- Q5


def plot_layer_statistic(
    result: LayerResult, ax: Axes | None = None, *, statistic: str = "variance", condition=None
) -> list:
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
    ax = _axes(ax)
    if statistic not in result.trajectories:
        raise ValueError(
            f"statistic={statistic!r} is not recognised; expected one of "
            f"{sorted(result.trajectories)}"
        )
    c = _default_condition(result) if condition is None else condition
    values = result.trajectories[statistic][c]
    relative = values / values[:, :1, :]
    drawn = []
    for l in range(values.shape[-1]):
        colour = LAYER_COLOURS[l % len(LAYER_COLOURS)]
        size = f"{result.sizes[c][l]}→{result.sizes[c][l + 1]}"
        if statistic == "sum":
            for k in range(values.shape[0]):
                drawn += ax.plot(
                    result.epoch,
                    relative[k, :, l],
                    color=colour,
                    alpha=0.8,
                    lw=1,
                    label=f"layer {l} ({size}), each seed" if k == 0 else None,
                )
        else:
            drawn += _band(
                ax, result.epoch, relative[:, :, l], color=colour, label=f"layer {l} ({size})"
            )
    drawn += _hline(ax, 1.0, "start", color="black", ls="--")
    if statistic == "sum":
        drawn += _hline(ax, 0.0, None, color="grey", ls="-", lw=0.6)
    else:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{STATISTIC_NAMES[statistic]} / its start")
    _integer_epochs(ax)
    _plain_log(ax, "y")
    ax.legend(fontsize="small")
    return drawn


def _default_condition(result: LayerResult) -> int:
    direction = np.asarray(result.direction["norm"])
    for c in range(direction.shape[0]):
        if (direction[c] == 1).any() and (direction[c] == -1).any():
            return c
    return 0


def figure_layers(result: LayerResult, *, condition=None) -> Figure:
    """Q5: the four statistics of each layer, relative to their start, for one condition."""
    c = _default_condition(result) if condition is None else condition
    fig = Figure(figsize=(13, 3.8), layout="constrained")
    axes = fig.subplots(1, 4)
    for ax, statistic in zip(axes, ("norm", "l1", "variance", "sum")):
        plot_layer_statistic(result, ax, statistic=statistic, condition=c)
        ax.set_title(STATISTIC_NAMES[statistic])
    fig.suptitle(
        f"{result.datasets[c]}, sizes {result.sizes[c]}, λ = {result.lmbdas[c]:g} "
        f"(large initialisation)"
    )
    return fig


# ----------------------------------------------------------------------------- Q6


def plot_lambda_scan(result: ConventionResult, ax: Axes | None = None, *, convention="sum") -> list:
    """Validation accuracy against λ for each width under one convention, with λ* marked."""
    ax = _axes(ax)
    grid = result.grids[convention]
    drawn = []
    colours = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")
    for w, width in enumerate(result.widths):
        colour = colours[w % len(colours)]
        drawn += _band(
            ax,
            grid,
            result.accuracy[convention][w],
            color=colour,
            marker="o",
            ms=3,
            label=f"width {width} (n_w = {result.n_weights[w]})",
        )
        star = result.lambda_star_estimate[convention][w].mean
        drawn.append(ax.axvline(star, color=colour, ls=":", lw=1.2))
    ax.set_xscale("log")
    _plain_log(ax, "x")
    ax.set_xlabel(f"λ ({convention} convention)")
    ax.set_ylabel("validation accuracy")
    top = _extreme(result.accuracy[convention], "max")
    if np.isfinite(top):
        ax.set_ylim(max(0.0, top - 0.25), min(1.0, top + 0.03))
    ax.legend(fontsize="small", loc="lower left", title="dotted: λ*", title_fontsize="small")
    return drawn


def plot_lambda_star(result: ConventionResult, ax: Axes | None = None) -> list:
    """λ* against n_w under each convention, log–log, with the fitted slopes."""
    ax = _axes(ax)
    drawn = []
    for convention, colour in (("sum", "tab:blue"), ("mean", "tab:red")):
        stars = result.lambda_star[convention]
        x = np.repeat(result.n_weights, stars.shape[1]).astype(float)
        fit = result.width_fit[convention]
        drawn.append(ax.scatter(x, stars.ravel(), color=colour, s=25, label=f"{convention}: λ*"))
        if fit is not None:
            low, high = fit.interval
            xs = np.geomspace(x.min() / 1.3, x.max() * 1.3, 30)
            drawn += ax.plot(
                xs,
                fit.predict(xs),
                color=colour,
                label=f"{convention}: slope {fit.exponent:.2f} [{low:.2f}, {high:.2f}]",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of weights n_w")
    ax.set_ylabel("λ* (largest λ within tolerance of the best)")
    _plain_log(ax)
    ax.legend(fontsize="small")
    return drawn


def plot_lambda_transfer(result: ConventionResult, ax: Axes | None = None) -> list:
    """λ* against training-set size n, with what each transfer rule would use."""
    ax = _axes(ax)
    drawn = []
    if len(result.ns) == 0:
        ax.set_axis_off()
        return drawn
    stars = result.transfer_lambda_star
    x = np.repeat(result.ns, stars.shape[1]).astype(float)
    drawn.append(ax.scatter(x, stars.ravel(), color="tab:blue", s=25, label="λ* (one seed)"))
    reference = int(np.argmax(result.ns))
    star_ref = float(np.exp(np.mean(np.log(stars[reference]))))
    ns = np.geomspace(result.ns.min() / 1.2, result.ns.max() * 1.2, 20)
    drawn += ax.plot(
        ns,
        star_ref * ns / result.ns[reference],
        color="tab:red",
        ls="--",
        label="λ ∝ n (fixed ηλ/n)",
    )
    drawn += ax.plot(
        ns, np.full_like(ns, star_ref), color="tab:green", ls=":", label="fixed λ (fixed m/(ηλ))"
    )
    if result.n_fit is not None:
        fit = result.n_fit
        drawn += ax.plot(
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
    _plain_log(ax)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize="small")
    return drawn


def figure_conventions(result: ConventionResult) -> Figure:
    """Q6: the λ scans of both conventions, λ* against n_w, and λ* against n."""
    fig = Figure(figsize=(12, 9), layout="constrained")
    axes = fig.subplots(2, 2)
    plot_lambda_scan(result, axes[0, 0], convention="sum")
    axes[0, 0].set_title("Sum convention (λ/2n)·Σw²")
    plot_lambda_scan(result, axes[0, 1], convention="mean")
    axes[0, 1].set_title("Mean convention (λ/2n)·(1/n_w)·Σw²")
    plot_lambda_star(result, axes[1, 0])
    axes[1, 0].set_title("Best λ against network size")
    plot_lambda_transfer(result, axes[1, 1])
    axes[1, 1].set_title(
        f"Best λ against data-set size (width {result.settings['transfer_hidden']})"
    )
    return fig


# ----------------------------------------------------------------------------- dispatch

_FIGURES = {
    DominanceResult: figure_dominance,
    FactorResult: figure_factor,
    EquilibriumResult: figure_equilibrium,
    InitialisationResult: figure_initialisation,
    LayerResult: figure_layers,
    ConventionResult: figure_conventions,
}


def figure_for(result) -> Figure:
    """The standard figure of any experiment's result record.

    Parameters
    ----------
    result : ExperimentResult
        A record returned by one of the six experiment functions.

    Returns
    -------
    matplotlib.figure.Figure
        Not shown and not attached to pyplot; save it with ``fig.savefig``.
    """
    for kind, make in _FIGURES.items():
        if isinstance(result, kind):
            # Runs that diverged leave NaN in the records; they are drawn as gaps.
            with _quiet(), np.errstate(all="ignore"):
                return make(result)
    raise TypeError(
        f"result has type {type(result).__name__}; expected the record of a decaylab experiment "
        f"({', '.join(k.__name__ for k in _FIGURES)})"
    )
