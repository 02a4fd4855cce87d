"""Several runs on one axes: an ensemble's members, a sweep's rows, runs of other settings."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes

from decaylab._validation import check_bool, check_choice, check_int
from decaylab.history import METRICS, STATISTICS, History
from decaylab.plots._helpers import (
    add_legend,
    axes,
    check_history,
    epoch_factor,
    integer_epochs,
    plain_log,
    statistic_label,
)

__all__ = ["plot_histories"]


#: Settings that follow from others (sizes, η, λ, n, m, dtype, the data); named only if
#: nothing else differs.
DERIVED_SETTINGS = (
    "n_weights",
    "multiplier",
    "multiplier_applied",
    "steps_per_epoch",
    "data_fingerprint",
    "evaluation_fingerprint",
)


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
) -> Axes:
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
    matplotlib Axes
        The axes drawn on; ``ax.lines`` holds one line per run, in the order
        of ``histories``, labelled as in the legend; colours from the
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
        check_history(f"histories[{k}]", history)
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
    for k, (history, label, colour) in enumerate(zip(histories, labels, colours)):
        y = _series(history, k, statistic, layer)
        x = history.epoch if time == "epoch" else history.epoch / _relaxation(history, k)
        ax.plot(x, y**2 if squared else y, color=colour, label=str(label))
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
        ax.set_ylabel(f"{statistic_label(statistic, squared)} ({where})")
    plain_log(ax, "y")
    if legend:
        add_legend(ax, fontsize="x-small", ncol=1 if len(histories) <= 6 else 2)
    return ax


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
    factor = epoch_factor(history)
    if not 0.0 < factor < 1.0:
        raise ValueError(
            f"histories[{k}] decays by a factor {factor:g} per epoch, so its relaxation time "
            "is not finite; expected time='epoch' for runs without decay"
        )
    return -1.0 / np.log(factor)


def _viridis(count: int) -> list:
    from matplotlib import colormaps

    return [colormaps["viridis"](value) for value in np.linspace(0.0, 0.9, count)]
