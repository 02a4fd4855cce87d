r"""Means and autocorrelation-aware standard errors of a run's records over an epoch window.

Successive epochs of one run are correlated, so the standard error of a mean
over a window is not s/√T: :func:`summarise` uses the AR(1) correction of
:func:`decaylab.dynamics.equilibrium.mean_and_standard_error` for every
statistic, metric and monitor array of the window.

It lives in ``dynamics`` rather than as a History method because it reuses
that measurement, and ``dynamics`` imports ``history``, never the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from decaylab.dynamics.equilibrium import mean_and_standard_error
from decaylab.history import METRICS, STATISTICS, History

__all__ = ["WindowSummary", "summarise"]


@dataclass(frozen=True)
class WindowSummary:
    """The mean and standard error of every record of a History over a window of epochs.

    Attributes
    ----------
    first_epoch, last_epoch : int
        The first and last epoch of the window (both included).
    rows : int
        Number of epochs averaged for the statistics and metrics,
        last_epoch − first_epoch + 1; monitor records, one row per epoch
        trained, average the rows − 1 epochs trained inside the window.
    means, standard_errors : dict of str to float or ndarray
        Keyed by the names of :meth:`History.to_arrays`: ``"weights.norm"``
        (shape (L,), one value per layer), ``"weights.norm.total"`` (all
        weights pooled, a float), the same for every statistic and for
        ``"biases.*"``, each recorded metric (``"training_cost"``, …), and
        ``"monitors.<monitor>.<key>"`` (shape (L,)). A standard error is NaN
        when fewer than 3 epochs are averaged.

    Examples
    --------
    ``summary["weights.rms"]`` gives every layer's (mean, standard error),
    ``summary["weights.rms.1"]`` layer 1's alone, as floats, and
    ``summary["weights.rms.total"]`` all weights pooled.
    """

    first_epoch: int
    last_epoch: int
    rows: int
    means: dict
    standard_errors: dict

    def __getitem__(self, name: str) -> tuple[float | np.ndarray, float | np.ndarray]:
        """``(mean, standard_error)`` of the record ``name``, or of one layer: ``"<name>.<l>"``."""
        if not isinstance(name, str):
            raise KeyError(f"{name!r} is not a record name; expected a str like 'weights.rms.1'")
        if name in self.means:
            return self.means[name], self.standard_errors[name]
        base, _, layer = name.rpartition(".")
        per_layer = base in self.means and np.ndim(self.means[base]) == 1
        if per_layer and layer.isdigit():
            count = np.size(self.means[base])
            if int(layer) >= count:
                raise KeyError(
                    f"{name!r}: layer {layer} is out of range; {base!r} has layers 0 to {count - 1}"
                )
            l = int(layer)
            return float(self.means[base][l]), float(self.standard_errors[base][l])
        raise KeyError(
            f"{name!r} is not summarised; expected one of {sorted(self.means)}, or a per-layer "
            "record with its layer index, e.g. 'weights.rms.0'"
        )

    def table(self) -> tuple[list[str], list[list[str]]]:
        """(header, rows) of strings: one row per record and layer (or "total")."""
        header = ["record", "layer", "mean", "standard error"]
        rows = []
        for name, mean in self.means.items():
            error = self.standard_errors[name]
            if np.ndim(mean):
                layers = [str(i) for i in range(np.size(mean))]
            else:
                layers = ["total" if name.endswith(".total") else ""]
            base = name.removesuffix(".total")
            for layer, m, e in zip(layers, np.ravel(mean), np.ravel(error)):
                rows.append([base, layer, f"{m:.6g}", f"{e:.2g}"])
        return header, rows

    def __repr__(self) -> str:
        return (
            f"WindowSummary(epochs {self.first_epoch} to {self.last_epoch}, {self.rows} rows, "
            f"{len(self.means)} records)"
        )


def summarise(history: History, start: int | None = None, stop: int | None = None) -> WindowSummary:
    r"""Mean and autocorrelation-aware standard error of every record over epochs [start, stop).

    Parameters
    ----------
    history : History
        A training run.
    start, stop : int or None
        The window in epoch numbers, half-open, as in :meth:`History.select`
        (None: from the first, to the last epoch; negative: counted back from
        one past the last). ``summarise(h, -20)`` summarises the last 20 epochs.

    Returns
    -------
    WindowSummary

    Raises
    ------
    TypeError
        If history is not a History.
    ValueError
        If the window selects no epoch.

    Notes
    -----
    For a series x₁…x_T: mean x̄, s² = Σ(xₜ − x̄)²/(T − 1), ρ the lag-1
    autocorrelation clipped to [0, 0.99], and standard error
    s/√(T(1 − ρ)/(1 + ρ)), the AR(1) effective sample size. Pooled
    statistics (``.total``) are computed per epoch first, then averaged.

    Examples
    --------
    >>> import decaylab as dl
    >>> net = dl.Network([64, 10, 10], seed=0)
    >>> hist = dl.train(net, dl.load_digits().train, epochs=8, batch_size=10, eta=0.5,
    ...                 lmbda=5.0, seed=0)
    >>> window = dl.summarise(hist, 4)
    >>> window.rows, window["weights.norm"][0].shape
    (5, (2,))
    """
    if not isinstance(history, History):
        raise TypeError(f"history has type {type(history).__name__}; expected a decaylab.History")
    window = history.select(start, stop)
    series: dict[str, np.ndarray] = {}
    for kind in ("weights", "biases"):
        stats, total = getattr(window, kind), getattr(window, kind).total
        for name in STATISTICS:
            series[f"{kind}.{name}"] = stats[name]
            series[f"{kind}.{name}.total"] = total[name]
    for name in METRICS:
        if getattr(window, name) is not None:
            series[name] = getattr(window, name)
    trained = len(window.epoch) - 1
    for monitor, record in window.monitors.items():
        for key, value in record.items():
            # A diverged run's monitor holds one more epoch than the History: not averaged.
            series[f"monitors.{monitor}.{key}"] = np.asarray(value, dtype=np.float64)[:trained]
    means, errors = {}, {}
    for name, values in series.items():
        if len(values) == 0:  # a monitor over a one-epoch window: no epoch trained inside it
            mean = error = np.full(values.shape[1:], np.nan)
        else:
            mean, error = mean_and_standard_error(values)
        means[name], errors[name] = _plain(mean), _plain(error)
    return WindowSummary(
        first_epoch=int(window.epoch[0]),
        last_epoch=int(window.epoch[-1]),
        rows=len(window.epoch),
        means=means,
        standard_errors=errors,
    )


def _plain(value: np.ndarray) -> float | np.ndarray:
    return float(value) if np.ndim(value) == 0 else value
