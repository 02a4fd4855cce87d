r"""Where the weights stop decaying: detection, equilibrium sizes, and the stationarity identity.

At a stationary point of the regularised cost C = C₀ + (λ/2n)‖w‖², the
weight gradient vanishes, ∇C₀ + (λ/n)w = 0; taking the dot product with w
gives the *stationarity identity*

.. math::  \|w\|^2 = \frac{n}{\lambda}\,\bigl(-w\cdot\nabla C_0\bigr),

which holds for each layer separately. It ties the equilibrium size of the
weights to n/λ and to how the data cost falls along w. Under pure decay the
weights relax with the time constant τ = m/(ηλ) epochs (n/(ηλ) steps).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from decaylab._validation import check_choice, check_data, check_int, check_real
from decaylab.conventions import DecayConvention, get_convention
from decaylab.history import History
from decaylab.network import Network

#: Statistics on which :func:`find_equilibrium` can detect a plateau (all positive).
EQUILIBRIUM_STATISTICS = ("rms", "mean_abs", "norm")


def _slopes(values: np.ndarray, window: int) -> np.ndarray:
    """Least-squares slope of ``values`` over every run of window + 1 consecutive points."""
    t = np.arange(window + 1, dtype=np.float64)
    t -= t.mean()
    runs = np.lib.stride_tricks.sliding_window_view(values, window + 1)
    return runs @ t / np.dot(t, t)


def mean_and_standard_error(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Mean over axis 0 and its standard error, allowing for autocorrelation.

    Parameters
    ----------
    values : ndarray, shape (T, ...)
        A time series (e.g. one statistic per epoch), T >= 1.

    Returns
    -------
    mean, standard_error : ndarray, shape values.shape[1:]
        The standard error is NaN when T < 3.

    Notes
    -----
    Successive epochs are correlated, so the naive s/√T is too small. With
    ρ the lag-1 autocorrelation (clipped to [0, 0.99]) the effective number
    of independent values of an AR(1) series is T(1 − ρ)/(1 + ρ), and the
    standard error is s/√(that).
    """
    values = np.asarray(values, dtype=np.float64)
    count = values.shape[0]
    mean = values.mean(axis=0)
    if count < 3:
        return mean, np.full(mean.shape, np.nan)
    centred = values - mean
    variance = (centred**2).sum(axis=0) / (count - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = (centred[1:] * centred[:-1]).sum(axis=0) / (centred**2).sum(axis=0)
    rho = np.clip(np.nan_to_num(rho, nan=0.0), 0.0, 0.99)
    effective = count * (1.0 - rho) / (1.0 + rho)
    return mean, np.sqrt(variance / effective)


@dataclass(frozen=True)
class Equilibrium:
    """The plateau of a run's weight sizes, if it reached one.

    Attributes
    ----------
    reached : bool
        Whether the statistic settled within the run; False is an answer,
        and then every equilibrium value is NaN and ``epoch`` is None.
    epoch : int or None
        First epoch of the plateau.
    statistic : str
        Statistic the detection used ("rms", "mean_abs" or "norm").
    layer : int or None
        Layer the detection used; None for all weights pooled.
    tolerance, patience, window
        The detection settings (see :func:`find_equilibrium`).
    rate_epoch : ndarray of int, shape (R,)
        Epoch at which each smoothed rate starts.
    rate : ndarray, shape (R,)
        Smoothed relative change of the statistic per epoch.
    drift : float
        Relative change per epoch fitted over the whole plateau; near 0 if
        the weights stayed put after ``epoch``.
    rms, mean_abs, norm : ndarray, shape (L,)
        Per-layer means over the plateau epochs ``epoch``..E.
    rms_se, mean_abs_se, norm_se : ndarray, shape (L,)
        Their standard errors (see :func:`mean_and_standard_error`).
    total_rms, total_mean_abs, total_norm : float
        The same for all weights together, with ``total_*_se``.
    n_weights : int
        Total number of weights n_w.
    fan_in : ndarray of int, shape (L,)
        n_in of each layer.
    ratio_to_inverse_n_weights : float
        total_rms / (1/n_w).
    ratio_to_inverse_sqrt_n_weights : float
        total_rms / (1/√n_w).
    ratio_to_inverse_sqrt_fan_in : ndarray, shape (L,)
        rms / (1/√n_in) per layer: 1 means the "scaled" initialisation's size.
    relaxation_epochs : float
        The pure-decay e-folding time −1/log(d^K) in epochs, ≈ m/(ηλ).
    """

    reached: bool
    epoch: int | None
    statistic: str
    layer: int | None
    tolerance: float
    patience: int
    window: int
    rate_epoch: np.ndarray
    rate: np.ndarray
    drift: float
    rms: np.ndarray
    rms_se: np.ndarray
    mean_abs: np.ndarray
    mean_abs_se: np.ndarray
    norm: np.ndarray
    norm_se: np.ndarray
    total_rms: float
    total_rms_se: float
    total_mean_abs: float
    total_mean_abs_se: float
    total_norm: float
    total_norm_se: float
    n_weights: int
    fan_in: np.ndarray
    ratio_to_inverse_n_weights: float
    ratio_to_inverse_sqrt_n_weights: float
    ratio_to_inverse_sqrt_fan_in: np.ndarray
    relaxation_epochs: float

    def scale_ratios(self, statistic: str = "rms") -> dict[str, float | np.ndarray]:
        """Ratios of the equilibrium ``statistic`` ("rms" or "mean_abs") to the candidate sizes.

        Returns
        -------
        dict
            ``inverse_n_weights`` = total/(1/n_w), ``inverse_sqrt_n_weights`` =
            total/(1/√n_w), ``inverse_sqrt_fan_in`` = per-layer/(1/√n_in), shape (L,).
        """
        statistic = check_choice("statistic", statistic, ("rms", "mean_abs"))
        total = getattr(self, f"total_{statistic}")
        per_layer = getattr(self, statistic)
        return {
            "inverse_n_weights": total * self.n_weights,
            "inverse_sqrt_n_weights": total * np.sqrt(self.n_weights),
            "inverse_sqrt_fan_in": per_layer * np.sqrt(self.fan_in),
        }

    def to_dict(self) -> dict:
        """The fields as a plain dict."""
        return asdict(self)


def find_equilibrium(
    history: History,
    *,
    tolerance: float = 0.01,
    patience: int = 5,
    statistic: str = "rms",
    window: int = 5,
    layer: int | None = None,
) -> Equilibrium:
    r"""Detect the epoch from which the weights stop decaying, and measure them there.

    Parameters
    ----------
    history : History
        A training run.
    tolerance : float
        Largest relative change per epoch that counts as "not changing", > 0.
    patience : int
        Number of consecutive epochs whose smoothed rate must stay under
        ``tolerance``, >= 1.
    statistic : {"rms", "mean_abs", "norm"}
        Weight statistic to watch.
    window : int
        Number of epochs over which each rate is fitted, >= 1; larger
        averages out more SGD noise.
    layer : int or None
        Watch this layer's statistic; None (default) watches all weights pooled.

    Returns
    -------
    Equilibrium
        ``reached`` is False if no such run of epochs exists within the
        history (including when it has fewer than window + patience − 1 epochs).

    Notes
    -----
    With s_e the statistic after epoch e, the rate at epoch e is
    r_e = exp(b_e) − 1, where b_e is the least-squares slope of log s_t over
    t = e, …, e + window: a relative change per epoch that a single noisy
    epoch cannot fake. The equilibrium epoch is the first e with
    |r_e|, …, |r_{e+patience−1}| all below ``tolerance``; the equilibrium
    values are means over epochs e..E.
    """
    if not isinstance(history, History):
        raise TypeError(f"history has type {type(history).__name__}; expected a decaylab.History")
    tolerance = check_real("tolerance", tolerance, positive=True)
    patience = check_int("patience", patience, minimum=1)
    window = check_int("window", window, minimum=1)
    statistic = check_choice("statistic", statistic, EQUILIBRIUM_STATISTICS)
    weights = history.weights
    n_layers = weights.norm.shape[1]
    if layer is not None:
        layer = check_int("layer", layer, minimum=0, maximum=n_layers - 1)
    sizes = history.settings.get("sizes")
    if sizes is None or len(sizes) != n_layers + 1:
        raise ValueError(
            f"history.settings['sizes'] is {sizes!r}; expected the {n_layers + 1} layer sizes "
            "recorded by decaylab.train"
        )
    total = weights.total
    series = total[statistic] if layer is None else weights[statistic][:, layer]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_series = np.log(series)
    if len(series) > window:
        rate = np.expm1(_slopes(log_series, window))
    else:
        rate = np.empty(0)
    rate_epoch = np.asarray(history.epoch[: len(rate)])
    below = np.abs(rate) < tolerance
    runs = (
        np.lib.stride_tricks.sliding_window_view(below, patience).all(axis=1)
        if len(below) >= patience
        else np.zeros(0, dtype=bool)
    )
    reached = bool(runs.any())
    start = int(np.argmax(runs)) if reached else len(series)
    plateau = slice(start, None)

    values = {}
    for name in ("rms", "mean_abs", "norm"):
        per_layer = weights[name][plateau]
        pooled = total[name][plateau]
        if reached:
            values[name], values[f"{name}_se"] = mean_and_standard_error(per_layer)
            mean, se = mean_and_standard_error(pooled)
            values[f"total_{name}"], values[f"total_{name}_se"] = float(mean), float(se)
        else:
            values[name] = values[f"{name}_se"] = np.full(n_layers, np.nan)
            values[f"total_{name}"] = values[f"total_{name}_se"] = float("nan")
    plateau_length = len(series) - start
    drift = (
        float(np.expm1(_slopes(log_series[plateau], plateau_length - 1)[0]))
        if plateau_length >= 2
        else float("nan")
    )
    n_weights = int(weights.counts.sum())
    fan_in = np.asarray(sizes[:-1], dtype=np.int64)
    settings = history.settings
    if "multiplier" in settings and "steps_per_epoch" in settings:
        log_factor = settings["steps_per_epoch"] * np.log(settings["multiplier"])
        relaxation = float(-1.0 / log_factor) if log_factor < 0 else float("inf")
    else:
        relaxation = float("nan")
    return Equilibrium(
        reached=reached,
        epoch=int(history.epoch[start]) if reached else None,
        statistic=statistic,
        layer=layer,
        tolerance=tolerance,
        patience=patience,
        window=window,
        rate_epoch=rate_epoch,
        rate=rate,
        drift=drift,
        **values,
        n_weights=n_weights,
        fan_in=fan_in,
        ratio_to_inverse_n_weights=values["total_rms"] * n_weights,
        ratio_to_inverse_sqrt_n_weights=values["total_rms"] * np.sqrt(n_weights),
        ratio_to_inverse_sqrt_fan_in=values["rms"] * np.sqrt(fan_in),
        relaxation_epochs=relaxation,
    )


@dataclass(frozen=True)
class Stationarity:
    """The stationarity identity ‖w‖² = (n/λ)(−w·∇C₀), measured on a data set.

    Attributes
    ----------
    measured : ndarray, shape (L,)
        ‖w_l‖² per layer.
    predicted : ndarray, shape (L,)
        (1/c)(−w_l·∇_l C₀) per layer, with c = λ/n in the sum convention.
    ratio : ndarray, shape (L,)
        measured / predicted.
    relative_gap : ndarray, shape (L,)
        (predicted − measured) / measured.
    residual : ndarray, shape (L,)
        ‖∇_l C₀ + c·w_l‖ / ‖c·w_l‖: how far from stationary the weights are
        (0 at a stationary point, where the identity must hold).
    total_measured, total_predicted, total_ratio, total_relative_gap, total_residual : float
        The same over all weights together.
    """

    measured: np.ndarray
    predicted: np.ndarray
    ratio: np.ndarray
    relative_gap: np.ndarray
    residual: np.ndarray
    total_measured: float
    total_predicted: float
    total_ratio: float
    total_relative_gap: float
    total_residual: float

    def to_dict(self) -> dict:
        """The fields as a plain dict."""
        return asdict(self)


def stationarity(
    net: Network,
    data,
    lmbda: float,
    *,
    n: int | None = None,
    decay: str | DecayConvention = "sum",
    eta: float = 1.0,
) -> Stationarity:
    r"""Compare ‖w‖² with the stationarity prediction (n/λ)(−w·∇C₀), per layer and in total.

    Parameters
    ----------
    net : Network
        The trained network.
    data : pair (X, y)
        The training set; ∇C₀ = (1/len(X)) Σ_x ∂C_x/∂w is its mean data gradient.
    lmbda : float
        Regularisation strength λ > 0 used in training.
    n : int, optional
        Training-set size in the penalty; defaults to len(X).
    decay : str or DecayConvention
        Convention of the penalty (c/2)‖w‖²; "sum" gives c = λ/n.
    eta : float
        Learning rate, needed only by the "decoupled" convention (c = wd/η).

    Returns
    -------
    Stationarity

    Notes
    -----
    At a stationary point ∇C₀ + c·w = 0 for the weights of every layer, so
    ‖w_l‖² = −w_l·∇_l C₀ / c. Away from one the ``residual`` says how far off
    the point is, and the gap says how much that matters for the norm.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net has type {type(net).__name__}; expected a decaylab.Network")
    X, labels, targets = check_data(
        data, n_inputs=net.sizes[0], n_outputs=net.sizes[-1], dtype=net.dtype
    )
    lmbda = check_real("lmbda", lmbda, positive=True)
    n = len(X) if n is None else check_int("n", n, minimum=1)
    c = get_convention(decay).coefficient(lmbda, eta=eta, n=n, n_weights=net.n_weights)
    gradient_sum = net.gradient(X, labels)
    gradients, _ = net.unflatten(gradient_sum.astype(np.float64) / len(X))
    measured, along, residual_sq, decay_sq = (np.empty(net.n_layers) for _ in range(4))
    for l, (w, g) in enumerate(zip(net.weights, gradients)):
        w = w.reshape(-1).astype(np.float64)
        g = g.reshape(-1)
        measured[l] = np.dot(w, w)
        along[l] = -np.dot(w, g)
        full = g + c * w
        residual_sq[l] = np.dot(full, full)
        decay_sq[l] = c * c * measured[l]
    predicted = along / c
    total_measured, total_predicted = float(measured.sum()), float(predicted.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        return Stationarity(
            measured=measured,
            predicted=predicted,
            ratio=measured / predicted,
            relative_gap=(predicted - measured) / measured,
            residual=np.sqrt(residual_sq / decay_sq),
            total_measured=total_measured,
            total_predicted=total_predicted,
            total_ratio=total_measured / total_predicted,
            total_relative_gap=(total_predicted - total_measured) / total_measured,
            total_residual=float(np.sqrt(residual_sq.sum() / decay_sq.sum())),
        )


def relaxation_time(eta: float, lmbda: float, batch_size: int) -> float:
    r"""Pure-decay relaxation time in epochs, τ = m/(ηλ) (sum convention).

    Under decay alone ‖w‖ ∝ e^{−e/τ} after e epochs, to the accuracy of the
    closed form e^{−ηλ/m} (see :func:`decaylab.compare_factors`). Infinite for λ = 0.
    """
    eta = check_real("eta", eta, positive=True)
    lmbda = check_real("lmbda", lmbda, nonnegative=True)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    return float("inf") if lmbda == 0 else batch_size / (eta * lmbda)


def relaxation_steps(eta: float, lmbda: float, n: int) -> float:
    r"""Pure-decay relaxation time in SGD steps, 1/a = n/(ηλ) (sum convention); inf for λ = 0."""
    eta = check_real("eta", eta, positive=True)
    lmbda = check_real("lmbda", lmbda, nonnegative=True)
    n = check_int("n", n, minimum=1)
    return float("inf") if lmbda == 0 else n / (eta * lmbda)
