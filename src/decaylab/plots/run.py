r"""A run's weight statistic against epoch: per layer and pooled, with what decay alone predicts.

Like the other figures of a run (:mod:`decaylab.plots.budget`,
:mod:`decaylab.plots.comparison`), it takes a :class:`~decaylab.History` —
one returned by :func:`decaylab.train`, :func:`decaylab.train_ensemble`, a
sweep's row or :meth:`decaylab.History.load` — and draws only what the
history holds or what follows from its settings by a formula stated in the
docstring.

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
>>> ax = dp.plot_history(history, "rms", ax=left)
>>> ax = dp.plot_budget(history, ax=right, relative=True)
>>> fig.savefig("run.png")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.text import Text

from decaylab._validation import check_bool, check_choice, check_int
from decaylab.dynamics.equilibrium import find_equilibrium
from decaylab.history import STATISTICS, History
from decaylab.plots._helpers import (
    add_legend,
    axes,
    check_history,
    epoch_factor,
    extreme,
    hline,
    integer_epochs,
    layer_colour,
    plain_log,
    statistic_label,
)

__all__ = ["plot_history"]


def _check_layers(layers, n_layers: int) -> list[int]:
    if layers is None:
        return list(range(n_layers))
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise TypeError(
            f"layers={layers!r} has type {type(layers).__name__}; expected None (every layer) "
            "or a sequence of layer indices"
        )
    return [
        check_int(f"layers[{i}]", layer, minimum=0, maximum=n_layers - 1)
        for i, layer in enumerate(layers)
    ]


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


def _draw_references(ax: Axes, history: History, what, which, within) -> list[float]:
    """Draw the reference levels; with ``within`` (the drawn data), only those inside its range.

    Returns the levels drawn when they may widen the y axis (``within`` is None), else [].
    """
    (statistic, squared), (layers, pooled) = what, which
    levels = _reference_levels(history, statistic, squared, layers, pooled)
    if within is not None:
        data = np.concatenate([np.ravel(v) for v in within]) if within else np.empty(0)
        low, high = extreme(data, "min"), extreme(data, "max")
        levels = [level for level in levels if low <= level[0] <= high]
    for value, label, colour, style in levels:
        hline(ax, value, label, color=colour, ls=style, lw=1)
    return [] if within is not None else [value for value, *_ in levels]


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
) -> Axes:
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
        RMS (RMS·√count), for ``"norm"``. True draws all of them and widens
        the y axis to show them; False draws none. By default (None), for
        those two statistics, only the levels that fall within the range of
        the drawn lines (the y axis fitted to the data) are drawn, so that a
        level decades below the weights neither squeezes the data into a
        corner nor appears without being asked for.
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
    matplotlib Axes
        The axes drawn on. What was drawn is on it, labelled: ``ax.lines``
        holds the layer lines first (in layer order, labelled "layer l
        (n_in→n_out)"), then the pooled line ("all weights"), the pure-decay
        lines ("pure decay: …") and the reference levels ("RMS = 1/…");
        the equilibrium span is in ``ax.patches`` and a note in ``ax.texts``.

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
    history = check_history("history", history)
    statistic = check_choice("statistic", statistic, STATISTICS)
    for name, flag in (("pooled", pooled), ("squared", squared), ("prediction", prediction)):
        check_bool(name, flag)
    check_bool("legend", legend)
    log = (statistic != "sum" or squared) if log is None else check_bool("log", log)
    references = _check_references(references, statistic)
    _check_equilibrium(equilibrium)
    ax = axes(ax)
    weights = history.weights
    layers = _check_layers(layers, weights.norm.shape[1])
    power = (2 if statistic == "variance" else 1) * (2 if squared else 1)
    factor = epoch_factor(history) if prediction else None

    series = [
        (weights[statistic][:, layer], layer_colour(layer), _layer_label(history, layer))
        for layer in layers
    ]
    if pooled:
        series.append((weights.total[statistic], "black", "all weights"))
    x = history.epoch
    shown = []
    for values, colour, label in series:
        y = values**2 if squared else values
        shown.append(y)
        ax.plot(x, y, color=colour, lw=1.6, label=label)
    if factor is not None:
        # Pure decay scales every layer by the same factor: one line, on the pooled
        # weights when they are drawn, else on each layer.
        _draw_pure_decay(ax, x, series[-1:] if pooled else series, (factor, power), squared)
    if references:
        shown += _draw_references(
            ax,
            history,
            (statistic, squared),
            (layers, pooled),
            shown if references == "within" else None,
        )
    if equilibrium is not False:
        _mark_equilibrium(ax, history, equilibrium)

    _finish_axes(ax, x, shown, log, statistic_label(statistic, squared))
    if legend:
        add_legend(ax, fontsize="x-small", ncol=2)
    return ax


def _check_references(references, statistic: str):
    """``references`` as drawn: "within" (the default for rms and norm), True or False."""
    if references is None:
        return "within" if statistic in ("rms", "norm") else False
    if check_bool("references", references) and statistic not in ("rms", "norm"):
        raise ValueError(
            f"references=True with statistic={statistic!r}; the reference sizes are defined "
            "for 'rms' and 'norm', expected one of those or references=False"
        )
    return references


def _check_equilibrium(equilibrium) -> None:
    if any(equilibrium is flag for flag in (None, True, False)) or hasattr(equilibrium, "reached"):
        return
    raise TypeError(
        f"equilibrium={equilibrium!r} has type {type(equilibrium).__name__}; expected None, "
        "a bool or the result of decaylab.find_equilibrium"
    )


def _draw_pure_decay(ax: Axes, x: np.ndarray, series: list, decay: tuple, squared: bool) -> None:
    """From each series' first value on, what pure decay alone would give (dashed).

    ``decay`` is (F, p): the statistic scales by F^p per epoch.
    """
    factor, power = decay
    for k, (values, colour, _) in enumerate(series):
        y0 = values[0] ** 2 if squared else values[0]
        label = f"pure decay: ×{factor**power:.4g} per epoch" if k == 0 else None
        predicted = y0 * factor ** (power * (x - x[0]))
        ax.plot(x, predicted, color=colour, alpha=0.6, lw=1.2, ls="--", label=label)


def _finish_axes(ax: Axes, x: np.ndarray, shown: list, log: bool, ylabel: str) -> None:
    """Scale, limits (fitted to the ``shown`` values) and labels of the axes."""
    if log:
        ax.set_yscale("log")
    _set_limits(ax, np.concatenate([np.ravel(v) for v in shown]) if shown else np.empty(0), log)
    if len(x) > 1:
        ax.set_xlim(x[0], x[-1])
    ax.set_xlabel("epoch")
    integer_epochs(ax)
    ax.set_ylabel(ylabel)
    plain_log(ax, "y")


def _layer_label(history: History, layer: int) -> str:
    sizes = history.settings.get("sizes")
    if sizes is not None and len(sizes) > layer + 1:
        return f"layer {layer} ({sizes[layer]}→{sizes[layer + 1]})"
    return f"layer {layer}"
