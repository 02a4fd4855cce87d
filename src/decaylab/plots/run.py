r"""Figures of any run: a weight statistic against epoch, the ‖w‖² budget, several runs compared.

Each function takes a :class:`~decaylab.History` — one returned by
:func:`decaylab.train`, :func:`decaylab.train_ensemble`, a sweep's row or
:meth:`decaylab.History.load` — and draws only what the history holds or
what follows from its settings by a formula stated in the docstring.

Examples
--------
A run's weight sizes and its ‖w‖² budget, side by side:

>>> import decaylab as dl, decaylab.plots as dp
>>> from matplotlib.figure import Figure
>>> data = dl.load_digits()
>>> net = dl.Network([64, 30, 10], init="large", seed=0)
>>> history = dl.train(net, data.train, epochs=10, batch_size=10, eta=0.5, lmbda=5.0,
...                    monitors=[dl.DecompositionMonitor()], seed=0)
>>> fig = Figure(figsize=(11, 4.5), layout="constrained")
>>> left, right = fig.subplots(1, 2)
>>> lines = dp.plot_history(history, "rms", ax=left)
>>> terms = dp.plot_budget(history, ax=right, relative=True)
>>> fig.savefig("run.png")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.text import Text

from decaylab._validation import check_bool, check_choice, check_int
from decaylab.dynamics.equilibrium import find_equilibrium
from decaylab.history import METRICS, STATISTICS, History
from decaylab.plots._helpers import (
    add_legend,
    axes,
    extreme,
    hline,
    integer_epochs,
    layer_colour,
    plain_log,
)

__all__ = ["plot_budget", "plot_histories", "plot_history"]

#: How each weight statistic reads on an axis label.
STATISTIC_LABELS = {
    "norm": "‖w‖",
    "rms": "RMS of w",
    "mean_abs": "mean |w|",
    "l1": "‖w‖₁",
    "sum": "Σw",
    "variance": "Var w",
    "max_abs": "max |w|",
}


def _check_history(name: str, history) -> History:
    if not isinstance(history, History):
        raise TypeError(f"{name} has type {type(history).__name__}; expected a decaylab.History")
    return history


def _statistic_label(statistic: str, squared: bool) -> str:
    label = STATISTIC_LABELS.get(statistic, statistic.replace("_", " "))
    if not squared:
        return label
    return "‖w‖²" if statistic == "norm" else f"({label})²"


def _check_layers(layers, n_layers: int) -> list[int]:
    if layers is None:
        return list(range(n_layers))
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise TypeError(
            f"layers={layers!r} has type {type(layers).__name__}; expected None (every layer) "
            "or a sequence of layer indices"
        )
    return [check_int("layers[]", layer, minimum=0, maximum=n_layers - 1) for layer in layers]


def _epoch_factor(history: History) -> float:
    """The run's exact pure-decay factor per epoch, d^⌈n/m⌉, from its settings."""
    settings = history.settings
    missing = [key for key in ("multiplier", "steps_per_epoch") if key not in settings]
    if missing:
        raise ValueError(
            f"history.settings lacks {missing}; expected the settings that decaylab.train records"
        )
    return float(settings["multiplier"]) ** int(settings["steps_per_epoch"])


def _reference_levels(
    history: History, statistic: str, squared: bool, layers: list[int], pooled: bool
) -> list[tuple]:
    """(value, label, colour, style) of each reference size, in the units drawn.

    The references are sizes of one weight (an RMS): 1/n_w and 1/√n_w for all
    weights, 1/√n_in for each layer. For the norm they become the norm the
    weights would have at that RMS, RMS·√(number of weights), which is exact.
    """
    sizes = history.settings.get("sizes")
    counts = history.weights.counts
    if sizes is None or len(sizes) != len(counts) + 1:
        raise ValueError(
            f"history.settings['sizes'] is {sizes!r}; expected the {len(counts) + 1} layer sizes "
            "recorded by decaylab.train (or pass references=False)"
        )
    n_w = int(counts.sum())
    # (RMS of one weight, how many weights share it, its name, colour, line style)
    candidates = [
        (1 / np.sqrt(sizes[layer]), counts[layer], "1/√n_in", layer_colour(layer), ":")
        for layer in layers
    ]
    if pooled:
        candidates[:0] = [
            (1 / np.sqrt(n_w), n_w, "1/√n_w", "dimgrey", "-."),
            (1 / n_w, n_w, "1/n_w", "dimgrey", (0, (1, 3))),
        ]
    power, square = (2, "²") if squared else (1, "")
    levels = []
    for rms, count, name, colour, style in candidates:
        if statistic == "rms":
            value = rms**power
            label = f"RMS = {name}" + (f": RMS² = {value:.3g}" if squared else f" = {value:.3g}")
        else:
            value = (rms * np.sqrt(count)) ** power
            label = f"RMS = {name}: ‖w‖{square} = {value:.3g}"
        levels.append((value, label, colour, style))
    return levels


def _equilibrium_start(equilibrium) -> int | None:
    """The epoch at which a detected equilibrium's window starts; None if none was reached."""
    if not getattr(equilibrium, "reached", False):
        return None
    for name in ("epoch", "start_epoch", "window_start"):
        value = getattr(equilibrium, name, None)
        if value is not None:
            return int(value)
    raise TypeError(
        f"equilibrium of type {type(equilibrium).__name__} is reached but names no start "
        "epoch; expected the result of decaylab.find_equilibrium"
    )


def _corner_note(ax: Axes, text: str) -> Text:
    return ax.text(
        0.99,
        0.99,
        text,
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize="x-small",
        color="dimgrey",
    )


def _mark_equilibrium(ax: Axes, history: History, equilibrium) -> list:
    if equilibrium is None or equilibrium is True:
        try:
            equilibrium = find_equilibrium(history)
        except ValueError as exc:
            if equilibrium is None:
                # Said on the figure: a run without decay has no relaxation time to test in.
                reason = str(exc).split(";")[0]
                reason = reason if len(reason) <= 60 else reason[:59] + "…"
                return [_corner_note(ax, f"equilibrium not tested: {reason}")]
            raise ValueError(
                f"equilibrium=True, but find_equilibrium(history) refused this history: {exc}; "
                "pass equilibrium=False, or the result of find_equilibrium with other settings"
            ) from exc
    start = _equilibrium_start(equilibrium)
    if start is None:
        return [_corner_note(ax, "no equilibrium detected")]
    return [
        ax.axvspan(
            start,
            history.epoch[-1],
            color="grey",
            alpha=0.12,
            lw=0,
            label=f"equilibrium from epoch {start}",
        )
    ]


def _set_limits(ax: Axes, values: np.ndarray, log: bool) -> None:
    """Fit the y axis to the data and the reference levels, not to the pure-decay lines."""
    if log:
        values = values[values > 0]
    low, high = extreme(values, "min"), extreme(values, "max")
    if not (np.isfinite(low) and np.isfinite(high)):
        return
    if log:
        ax.set_ylim(low / 1.6, high * 1.6)
    else:
        pad = 0.05 * (high - low) or 0.05 * abs(high) or 1.0
        ax.set_ylim(low - pad, high + pad)


def plot_history(
    history: History,
    statistic: str = "norm",
    *,
    ax: Axes | None = None,
    layers: Sequence[int] | None = None,
    pooled: bool = True,
    squared: bool = False,
    log: bool | None = None,
    prediction: bool = True,
    references: bool | None = None,
    equilibrium=None,
    legend: bool = True,
) -> list:
    r"""A weight statistic of each layer, and of all weights pooled, against epoch.

    Parameters
    ----------
    history : History
        A run; ``history.weights[statistic]`` has shape (E + 1, L).
    statistic : {"norm", "rms", "mean_abs", "l1", "sum", "variance", "max_abs"}
        The weight statistic (see :func:`decaylab.layer_statistics`).
    ax : matplotlib Axes, optional
        Where to draw; pyplot's current axes by default.
    layers : sequence of int, optional
        The layers to draw, by default all; ``()`` draws none.
    pooled : bool
        Also draw the statistic of all weights together (black).
    squared : bool
        Draw the square of the statistic (‖w‖² for the norm).
    log : bool, optional
        Log y axis; by default log for every statistic but a plain ``"sum"``.
    prediction : bool
        Draw what pure decay would give from the first epoch on (dashed):
        s_e = s_{e₀}·F^{p(e − e₀)} with F = d^⌈n/m⌉ the exact per-epoch
        factor of the run's convention (``history.settings["multiplier"]``
        d raised to ``steps_per_epoch``) and p = 1 for every statistic but
        the variance (p = 2), doubled when squared.
    references : bool, optional
        Draw the reference sizes 1/n_w and 1/√n_w (pooled) and 1/√n_in (each
        layer, from ``history.settings["sizes"]``). They are sizes of one
        weight, so they are defined for ``"rms"`` and, as the norm at that
        RMS (RMS·√count), for ``"norm"``; by default drawn for those two.
    equilibrium : None, bool or Equilibrium
        None (default) marks the epochs from which
        :func:`decaylab.find_equilibrium` (with its defaults) finds the
        weights settled, as a shaded span, or writes "no equilibrium
        detected" in the corner, or "equilibrium not tested: <why>" when it
        cannot test the run (e.g. a run without decay, whose relaxation time
        is infinite). True is the same but raises instead of the last. An
        :class:`~decaylab.Equilibrium` computed with other settings is marked
        as it is; False marks nothing.
    legend : bool
        Draw a legend.

    Returns
    -------
    list of matplotlib artists
        Layer lines first (in layer order), then the pooled line, the
        pure-decay lines, the reference levels and the equilibrium mark.

    Raises
    ------
    TypeError
        If ``history`` is not a History, or a flag is not a bool.
    ValueError
        If ``statistic`` or a layer is unknown, references are asked for a
        statistic they are not defined for, the settings the prediction or
        the references need are missing, or ``equilibrium=True`` and
        :func:`decaylab.find_equilibrium` cannot test the run.
    """
    history = _check_history("history", history)
    statistic = check_choice("statistic", statistic, STATISTICS)
    for name, flag in (("pooled", pooled), ("squared", squared), ("prediction", prediction)):
        check_bool(name, flag)
    check_bool("legend", legend)
    log = (statistic != "sum" or squared) if log is None else check_bool("log", log)
    if references is None:
        references = statistic in ("rms", "norm")
    elif check_bool("references", references) and statistic not in ("rms", "norm"):
        raise ValueError(
            f"references=True with statistic={statistic!r}; the reference sizes are defined "
            "for 'rms' and 'norm', expected one of those or references=False"
        )
    if not (
        any(equilibrium is flag for flag in (None, True, False)) or hasattr(equilibrium, "reached")
    ):
        raise TypeError(
            f"equilibrium={equilibrium!r} has type {type(equilibrium).__name__}; expected None, "
            "a bool or the result of decaylab.find_equilibrium"
        )
    ax = axes(ax)
    weights = history.weights
    layers = _check_layers(layers, weights.norm.shape[1])
    power = (2 if statistic == "variance" else 1) * (2 if squared else 1)
    factor = _epoch_factor(history) if prediction else None

    series = [
        (weights[statistic][:, layer], layer_colour(layer), _layer_label(history, layer))
        for layer in layers
    ]
    if pooled:
        series.append((weights.total[statistic], "black", "all weights"))
    x = history.epoch
    drawn, shown = [], []
    for values, colour, label in series:
        y = values**2 if squared else values
        shown.append(y)
        drawn += ax.plot(x, y, color=colour, lw=1.6, label=label)
    if factor is not None:
        # Pure decay scales every layer by the same factor: one line, on the pooled
        # weights when they are drawn, else on each layer.
        for k, (values, colour, _) in enumerate(series[-1:] if pooled else series):
            y0 = values[0] ** 2 if squared else values[0]
            label = f"pure decay: ×{factor**power:.4g} per epoch" if k == 0 else None
            predicted = y0 * factor ** (power * (x - x[0]))
            drawn += ax.plot(x, predicted, color=colour, alpha=0.6, lw=1.2, ls="--", label=label)
    if references:
        for value, label, colour, style in _reference_levels(
            history, statistic, squared, layers, pooled
        ):
            shown.append(value)
            drawn += hline(ax, value, label, color=colour, ls=style, lw=1)
    if equilibrium is not False:
        drawn += _mark_equilibrium(ax, history, equilibrium)

    if log:
        ax.set_yscale("log")
    _set_limits(ax, np.concatenate([np.ravel(v) for v in shown]) if shown else np.empty(0), log)
    if len(x) > 1:
        ax.set_xlim(x[0], x[-1])
    ax.set_xlabel("epoch")
    integer_epochs(ax)
    ax.set_ylabel(_statistic_label(statistic, squared))
    plain_log(ax, "y")
    if legend:
        add_legend(ax, fontsize="x-small", ncol=2)
    return drawn


def _layer_label(history: History, layer: int) -> str:
    sizes = history.settings.get("sizes")
    if sizes is not None and len(sizes) > layer + 1:
        return f"layer {layer} ({sizes[layer]}→{sizes[layer + 1]})"
    return f"layer {layer}"


#: The three terms of the ‖w‖² budget of one epoch, with their colours and labels.
BUDGET_TERMS = (
    ("contraction", "tab:red", "contraction Σ(d²−1)‖w‖²"),
    ("radial", "tab:blue", "radial Σ−2d·w·v"),
    ("noise", "tab:green", "noise Σ‖v‖²"),
)


def plot_budget(
    history: History,
    *,
    ax: Axes | None = None,
    layer: int | None = None,
    relative: bool = False,
    share: bool = True,
    yscale: str | None = None,
    legend: bool = True,
) -> list:
    r"""The ‖w‖² budget of each epoch: contraction, radial and noise terms, and decay's share.

    Over one epoch of steps w′ = d·w − v (v the gradient step), the squared
    norm changes by

    .. math:: \Delta\|w\|^2 = \sum_\text{steps}(d^2 - 1)\|w\|^2
              + \sum_\text{steps} -2d\,w\cdot v + \sum_\text{steps}\|v\|^2,

    contraction (decay, <= 0) + radial (the gradient along w) + noise (>= 0);
    see :class:`decaylab.DecompositionMonitor`. Their sum is drawn in black.

    Parameters
    ----------
    history : History
        A run trained with ``monitors=[DecompositionMonitor()]``; its record
        ``history.monitors["decomposition"]`` has arrays of shape (E, L), row
        e − 1 for epoch e.
    ax : matplotlib Axes, optional
        Where to draw; pyplot's current axes by default.
    layer : int, optional
        One layer's budget; by default all weights pooled (the terms of the
        layers add up, since ‖w‖² is the sum of the layers' ‖w_l‖²).
    relative : bool
        Divide each epoch's terms by ‖w‖² at the start of that epoch, which
        makes them comparable across sizes: the contraction is then
        d^{2⌈n/m⌉} − 1 under pure decay, and ⌈n/m⌉(d² − 1) ≈ −2ηλ/m once
        ‖w‖² holds still.
    share : bool
        Also draw decay's share of the change of ‖w‖²,
        |contraction| / (|contraction| + |radial| + noise) (the ``"norm"``
        measure of :func:`decaylab.decay_share`), on a second y axis from 0
        to 1, with the balance ½ that an equilibrium hovers around.
    yscale : {"symlog", "linear"}, optional
        By default "symlog" for the absolute terms, which span decades while
        the weights decay, and "linear" for relative ones.
    legend : bool
        Draw one legend for both y axes.

    Returns
    -------
    list of matplotlib artists
        The three terms, their sum, the zero line, then (with ``share``) the
        share and its ½ line, which live on the second axes
        ``drawn[-1].axes``.

    Raises
    ------
    TypeError
        If ``history`` is not a History, or a flag is not a bool.
    ValueError
        If the history has no decomposition record, or ``layer`` or
        ``yscale`` is not one of the allowed values.
    """
    history = _check_history("history", history)
    for name, flag in (("relative", relative), ("share", share), ("legend", legend)):
        check_bool(name, flag)
    if "decomposition" not in history.monitors:
        raise ValueError(
            "history has no 'decomposition' record; expected a run trained with "
            "monitors=[DecompositionMonitor()]"
        )
    yscale = ("linear" if relative else "symlog") if yscale is None else yscale
    yscale = check_choice("yscale", yscale, ("symlog", "linear"))
    n_layers = history.weights.norm.shape[1]
    if layer is not None:
        layer = check_int("layer", layer, minimum=0, maximum=n_layers - 1)
    ax = axes(ax)
    record = history.monitors["decomposition"]
    # A diverged run's monitor may hold one epoch more than the History kept.
    epochs = history.n_epochs

    def pick(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)[:epochs]
        return values.sum(axis=1) if layer is None else values[:, layer]

    terms = {key: pick(record[key]) for key, _, _ in BUDGET_TERMS}
    if relative:
        start = history.weights.norm[:epochs] ** 2
        start = start.sum(axis=1) if layer is None else start[:, layer]
        terms = {key: values / start for key, values in terms.items()}
    x = history.epoch[1 : epochs + 1]
    drawn = []
    for key, colour, label in BUDGET_TERMS:
        drawn += ax.plot(x, terms[key], color=colour, marker="o", ms=3, lw=1.2, label=label)
    change = terms["contraction"] + terms["radial"] + terms["noise"]
    drawn += ax.plot(x, change, color="black", lw=1.6, label="Δ‖w‖² (their sum)")
    drawn += hline(ax, 0.0, None, color="grey", ls="-", lw=0.6)
    if yscale == "symlog":
        # Linear within a decade below the smallest term's typical size, log beyond.
        typical = [
            np.median(np.abs(v[nonzero]))
            for v in terms.values()
            if (nonzero := np.isfinite(v) & (v != 0)).any()
        ]
        if typical:
            ax.set_yscale("symlog", linthresh=10.0 ** np.floor(np.log10(min(typical))))
    ax.set_xlabel("epoch")
    integer_epochs(ax)
    where = "all weights" if layer is None else f"layer {layer}"
    ax.set_ylabel(f"per-epoch terms of Δ‖w‖²{' / ‖w‖²' if relative else ''} ({where})")
    legend_axes = ax
    if share:
        twin = legend_axes = ax.twinx()
        contraction = np.abs(terms["contraction"])
        with np.errstate(divide="ignore", invalid="ignore"):
            fraction = contraction / (contraction + np.abs(terms["radial"]) + terms["noise"])
        drawn += twin.plot(
            x, fraction, color="dimgrey", ls=":", marker="s", ms=3, label="decay share (right)"
        )
        drawn += hline(twin, 0.5, "share ½: decay balances the gradient", color="dimgrey", lw=0.8)
        twin.set_ylim(0, 1)
        twin.set_ylabel("decay share of the change of ‖w‖²")
    if legend:
        # Below the axes: the terms fill the panel from top to bottom, and the
        # second axes would hide a legend drawn on the first.
        handles, labels = ax.get_legend_handles_labels()
        if share:
            more = twin.get_legend_handles_labels()
            handles, labels = handles + more[0], labels + more[1]
        legend_axes.legend(
            handles,
            labels,
            fontsize="x-small",
            ncol=3,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.13),
        )
    return drawn


#: Settings that follow from others (sizes, η, λ, n, m); named only if nothing else differs.
DERIVED_SETTINGS = ("n_weights", "multiplier", "steps_per_epoch")


def _differing_settings(histories: Sequence[History]) -> list[str]:
    """One label per run from the settings in which the runs differ, "run k" if none do."""
    keys = sorted({key for h in histories for key in h.settings})
    differing = [key for key in keys if len({repr(h.settings.get(key)) for h in histories}) > 1]
    primary = [key for key in differing if key not in DERIVED_SETTINGS]
    differing = primary or differing
    if not differing:
        return [f"run {k}" for k in range(len(histories))]
    return [
        ", ".join(f"{key}={_show(h.settings.get(key))}" for key in differing) for h in histories
    ]


def _show(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def plot_histories(
    histories: Sequence[History],
    labels: Sequence[str] | None = None,
    statistic: str = "norm",
    *,
    ax: Axes | None = None,
    layer: int | None = None,
    squared: bool = False,
    log: bool | None = None,
    time: str = "epoch",
    legend: bool = True,
) -> list:
    """One statistic of several runs against epoch, one line per run, for comparisons.

    Parameters
    ----------
    histories : sequence of History
        The runs, e.g. the list :func:`decaylab.train_ensemble` returns, or
        a sweep's ``result.histories`` (without the rows that failed, which
        are None).
    labels : sequence of str, optional
        One legend label per run; by default the settings in which the runs
        differ (e.g. ``"lmbda=5"``), or "run k" if they differ in none.
    statistic : str
        A weight statistic (``"norm"``, ``"rms"``, … as in
        :func:`plot_history`) or a recorded metric (``"training_cost"``,
        ``"training_accuracy"``, ``"evaluation_cost"``,
        ``"evaluation_accuracy"``).
    ax : matplotlib Axes, optional
        Where to draw; pyplot's current axes by default.
    layer : int, optional
        For a weight statistic: one layer's, by default all weights pooled.
    squared : bool
        Draw the square of the weight statistic (‖w‖² for the norm).
    log : bool, optional
        Log y axis; by default log for the weight statistics but a plain
        ``"sum"``, linear for the metrics.
    time : {"epoch", "relaxation"}
        The x axis: epochs, or epochs in units of each run's own pure-decay
        relaxation time τ = −1/log(d^⌈n/m⌉) ≈ m/(ηλ), which puts runs of
        different m, η or λ on the dynamics' common clock.
    legend : bool
        Draw a legend.

    Returns
    -------
    list of matplotlib Line2D
        One per run, in the order of ``histories``; colours from the
        default cycle, or from viridis in run order for more than ten runs.

    Raises
    ------
    TypeError
        If ``histories`` is not a sequence of History (a failed sweep row,
        None, is named by its index) or ``labels`` is not a sequence of str.
    ValueError
        If ``histories`` is empty, ``labels`` has another length, the
        statistic is unknown or a run did not record the metric, or
        ``layer`` does not exist in every run, or ``time="relaxation"`` and
        a run has no decay (τ infinite) or lacks the settings τ needs.
    """
    if isinstance(histories, (History, str, bytes)) or not isinstance(histories, Sequence):
        raise TypeError(
            f"histories has type {type(histories).__name__}; expected a sequence of "
            "decaylab.History (for one run, use plot_history)"
        )
    if len(histories) == 0:
        raise ValueError("histories is empty; expected at least one History")
    for k, history in enumerate(histories):
        if history is None:
            raise TypeError(
                f"histories[{k}] is None (a sweep row that failed?); expected a History; leave "
                "those rows out, e.g. [h for h in result.histories if h is not None]"
            )
        _check_history(f"histories[{k}]", history)
    if labels is None:
        labels = _differing_settings(histories)
    elif isinstance(labels, str) or not isinstance(labels, Sequence):
        raise TypeError(
            f"labels has type {type(labels).__name__}; expected a sequence of str, one per run"
        )
    elif len(labels) != len(histories):
        raise ValueError(
            f"labels has {len(labels)} entries; expected {len(histories)}, one per history"
        )
    statistic = check_choice("statistic", statistic, STATISTICS + METRICS)
    check_bool("squared", squared)
    check_bool("legend", legend)
    time = check_choice("time", time, ("epoch", "relaxation"))
    metric = statistic in METRICS
    if metric and (layer is not None or squared):
        raise ValueError(
            f"statistic={statistic!r} is a metric of the run; expected layer=None and "
            "squared=False, which apply to weight statistics"
        )
    if log is None:
        log = not metric and (statistic != "sum" or squared)
    else:
        check_bool("log", log)
    ax = axes(ax)
    colours = _viridis(len(histories)) if len(histories) > 10 else [None] * len(histories)
    drawn = []
    for k, (history, label, colour) in enumerate(zip(histories, labels, colours)):
        y = _series(history, k, statistic, layer)
        x = history.epoch if time == "epoch" else history.epoch / _relaxation(history, k)
        drawn += ax.plot(x, y**2 if squared else y, color=colour, label=str(label))
    if log:
        ax.set_yscale("log")
    if time == "epoch":
        ax.set_xlabel("epoch")
        integer_epochs(ax)
    else:
        ax.set_xlabel("epoch / τ (each run's relaxation time)")
    if metric:
        ax.set_ylabel(statistic.replace("_", " "))
    else:
        where = "all weights" if layer is None else f"layer {layer}"
        ax.set_ylabel(f"{_statistic_label(statistic, squared)} ({where})")
    plain_log(ax, "y")
    if legend:
        add_legend(ax, fontsize="x-small", ncol=1 if len(histories) <= 6 else 2)
    return drawn


def _series(history: History, k: int, statistic: str, layer: int | None) -> np.ndarray:
    if statistic in METRICS:
        values = getattr(history, statistic)
        if values is None:
            raise ValueError(
                f"histories[{k}] did not record {statistic}; expected every run to record it"
            )
        return values
    if layer is None:
        return history.weights.total[statistic]
    n_layers = history.weights.norm.shape[1]
    layer = check_int("layer", layer, minimum=0, maximum=n_layers - 1)
    return history.weights[statistic][:, layer]


def _relaxation(history: History, k: int) -> float:
    """τ = −1/log F in epochs, F the run's pure-decay factor per epoch."""
    factor = _epoch_factor(history)
    if not 0.0 < factor < 1.0:
        raise ValueError(
            f"histories[{k}] decays by a factor {factor:g} per epoch, so its relaxation time "
            "is not finite; expected time='epoch' for runs without decay"
        )
    return -1.0 / np.log(factor)


def _viridis(count: int) -> list:
    from matplotlib import colormaps

    return [colormaps["viridis"](value) for value in np.linspace(0.0, 0.9, count)]
