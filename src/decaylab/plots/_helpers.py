"""What every figure shares: the axes to draw on, bands, reference lines, log ticks, legends,
and what the figures of a run read from a History."""

from __future__ import annotations

import math
import warnings

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from decaylab.history import History
from decaylab.rules import decay_inputs, rule_of

#: One colour per weight layer, in order; the pooled weights are drawn in black.
LAYER_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def layer_colour(layer: int) -> str:
    return LAYER_COLOURS[layer % len(LAYER_COLOURS)]


def axes(ax: Axes | None) -> Axes:
    """``ax``, or pyplot's current axes when None (pyplot is imported only then)."""
    if ax is None:
        import matplotlib.pyplot as plt

        return plt.gca()
    if not isinstance(ax, Axes):
        raise TypeError(f"ax has type {type(ax).__name__}; expected a matplotlib Axes or None")
    return ax


class quiet:
    """Silence the RuntimeWarnings of NaN-only slices (runs that diverged early)."""

    def __enter__(self):
        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)


def band(ax: Axes, x, samples: np.ndarray, **line) -> list:
    """Mean over axis 0 of ``samples`` as a line, ± one standard error as a band."""
    samples = np.asarray(samples, dtype=float)
    with np.errstate(invalid="ignore"), quiet():
        mean = np.nanmean(samples, axis=0)
        count = np.sum(np.isfinite(samples), axis=0)
        se = np.nanstd(samples, axis=0, ddof=1) / np.sqrt(count) if samples.shape[0] > 1 else None
    drawn = ax.plot(x, mean, **line)
    if se is not None and np.isfinite(se).any():
        colour = drawn[0].get_color()
        drawn.append(ax.fill_between(x, mean - se, mean + se, color=colour, alpha=0.2, lw=0))
    return drawn


def hline(ax: Axes, y: float, label: str | None, **style) -> list:
    """A horizontal reference level, dotted grey unless ``style`` says otherwise."""
    style = {"color": "grey", "lw": 1.0, "ls": ":", **style}
    return [ax.axhline(y, label=label, **style)]


def extreme(values, kind: str) -> float:
    """nanmin or nanmax of ``values``; NaN (no warning) when none is finite."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan")
    return float(finite.min() if kind == "min" else finite.max())


def integer_epochs(ax: Axes) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _minor_digits(decades: float) -> tuple[int, ...]:
    """Which minor ticks 2..9 of each decade get a label, so that labels never collide."""
    if decades < 0.6:
        return (2, 3, 4, 5, 6, 7, 8, 9)
    if decades < 1.6:
        return (2, 3, 5)
    if decades < 3:
        return (2, 5)
    return ()


def plain_log(ax: Axes, which: str = "both") -> None:
    """Label log axes with plain numbers (0.2, 50, 1e+04) instead of 2×10⁻¹.

    Call after everything is drawn: how many minor ticks get a label depends
    on how many decades the axis spans, so that neighbouring labels never
    overlap.
    """
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    for name in ("x", "y") if which == "both" else (which,):
        axis = getattr(ax, f"{name}axis")
        if getattr(ax, f"get_{name}scale")() != "log":
            continue
        axis.set_major_formatter(plain)
        low, high = getattr(ax, f"get_{name}lim")()
        digits = _minor_digits(math.log10(high / low)) if low > 0 and high > low else ()
        if digits:
            axis.set_minor_formatter(
                FuncFormatter(
                    lambda value, _, digits=digits: (
                        f"{value:g}"
                        if round(value / 10 ** math.floor(math.log10(value))) in digits
                        else ""
                    )
                )
            )
        else:
            axis.set_minor_formatter(NullFormatter())


def add_legend(ax: Axes, **options):
    """The legend of ``ax`` in the figures' common small type; None if nothing is labelled."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    return ax.legend(handles, labels, **{"fontsize": "small", **options})


def legend_row(row: Axes, source: Axes, **options):
    """The legend of ``source`` in one row on the empty axes ``row`` beneath the panels.

    A layout row rather than ``fig.legend(loc="outside ...")``, which needs
    matplotlib 3.7: constrained layout makes room for it on every version.
    """
    row.set_axis_off()
    handles, labels = source.get_legend_handles_labels()
    return row.legend(
        handles, labels, loc="center", ncol=len(labels), **{"fontsize": "small", **options}
    )


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


def check_history(name: str, history) -> History:
    if not isinstance(history, History):
        raise TypeError(f"{name} has type {type(history).__name__}; expected a decaylab.History")
    return history


def statistic_label(statistic: str, squared: bool) -> str:
    label = STATISTIC_LABELS.get(statistic, statistic.replace("_", " "))
    if not squared:
        return label
    return "‖w‖²" if statistic == "norm" else f"({label})²"


def epoch_factor(history: History) -> float:
    """The run's pure-decay factor per epoch, as its update rule answers it.

    d^⌈n/m⌉ for eq. 93 and AdamW; for momentum |r₊|^⌈n/m⌉, the slower
    characteristic root of its recurrence (the factor after the first
    epoch's transient). A rule with no fixed factor (Adam + L2) is refused,
    and so is a recorded rule that is not known.
    """
    rule = rule_of(history)
    factor = rule.epoch_factor(**decay_inputs(history.settings))
    if np.isnan(factor):
        raise ValueError(
            f"history was trained with optimizer {rule.name!r} ({rule.settings()}), which has "
            "no fixed prediction of its pure-decay factor per epoch (Adam + L2's depends on √v̂); "
            "expected eq. 93, momentum or AdamW (pass prediction=False)"
        )
    return float(factor)
