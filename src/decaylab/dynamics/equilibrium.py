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

import math
from dataclasses import asdict, dataclass

import numpy as np

from decaylab._validation import check_choice, check_data, check_int, check_real
from decaylab.conventions import DecayConvention, get_convention
from decaylab.history import History
from decaylab.network import Network
from decaylab.rules import decay_inputs, rule_of

#: Statistics on which :func:`find_equilibrium` can test for a plateau (all positive).
EQUILIBRIUM_STATISTICS = ("norm_squared", "rms", "norm", "mean_abs")

#: The fewest epochs a window may have: its standard error needs a few values.
MIN_WINDOW = 5


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


def window_drift(
    series: np.ndarray, boundary: int, window: int, relaxation_epochs: float
) -> tuple[np.ndarray, np.ndarray]:
    r"""Relative change of the window mean across ``boundary``, and its standard error.

    Parameters
    ----------
    series : ndarray, shape (T, k)
        k positive statistics, one row per epoch.
    boundary : int
        First row of the later window; the earlier one is the ``window`` rows before it.
    window : int
        Rows per window, >= 3.
    relaxation_epochs : float
        τ, which bounds the correlation of the SGD fluctuations (see Notes).

    Returns
    -------
    drift, drift_se : ndarray, shape (k,)
        (m₂ − m₁)/m₁ and its standard error, m₁ and m₂ the two window means.

    Notes
    -----
    The fluctuation is measured about a straight line fitted to both windows
    together, so that a trend is not mistaken for noise. Its lag-1
    autocorrelation ρ is capped at e^{−1/τ} (and 0.99), the correlation after one epoch
    of a weight relaxing with time constant τ: a smooth curvature left over
    by the line would otherwise look like noise so slow that any drift is
    insignificant. Each window mean then has variance s²(1 + ρ)/(W(1 − ρ)).
    """
    both = series[boundary - window : boundary + window]
    t = np.arange(2 * window, dtype=np.float64)
    t -= t.mean()
    slope = t @ both / np.dot(t, t)
    residual = both - both.mean(axis=0) - t[:, None] * slope
    variance = (residual**2).sum(axis=0) / (2 * window - 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = (residual[1:] * residual[:-1]).sum(axis=0) / (residual**2).sum(axis=0)
    cap = min(math.exp(-1.0 / relaxation_epochs), 0.99)
    rho = np.clip(np.nan_to_num(rho, nan=0.0), 0.0, cap)
    mean_variance = variance * (1.0 + rho) / (window * (1.0 - rho))
    first = both[:window].mean(axis=0)
    second = both[window:].mean(axis=0)
    return (second - first) / first, np.sqrt(2.0 * mean_variance) / first


@dataclass(frozen=True)
class Equilibrium:
    r"""The plateau of a run's weight sizes, if it reached one.

    Attributes
    ----------
    reached : bool
        Whether the statistic settled within the run; False is an answer,
        and then every equilibrium value is NaN and ``epoch`` is None.
    epoch : int or None
        First epoch of the equilibrium window, which runs to the end of the run.
    statistic : str
        Statistic the test used ("norm_squared", "rms", "norm" or "mean_abs").
    layer : int, None or "each"
        Layer the test used; None for all weights pooled, "each" for every layer.
    relaxation_epochs : float
        τ = −1/log(d^K), the pure-decay e-folding time in epochs (≈ m/(ηλ)).
    window : int
        Epochs per window of the drift test.
    start : int
        Earliest epoch at which the equilibrium window could begin.
    z, tolerance : float
        The drift test's settings (see :func:`find_equilibrium`).
    drift, drift_se : float
        Relative change of the windowed mean, (m₂ − m₁)/m₁, with its standard
        error, across ``drift_epoch``: the test that decided (reached), or the
        last one the run allows (not reached: the remaining drift). For
        ``layer="each"`` the layer furthest from passing.
    drift_epoch : int or None
        Where the two compared windows meet (None if the run is too short to
        test: fewer than ``start + window − 1`` epochs, then ``repr`` says so).
    norm_squared, rms, mean_abs, norm : ndarray, shape (L,)
        Per-layer means over the equilibrium window, each with ``*_se``, its
        standard error (see :func:`mean_and_standard_error`).
    total_norm_squared, total_rms, total_mean_abs, total_norm : float
        The same for all weights together, with ``total_*_se``.
    n_weights : int
        Total number of weights n_w.
    fan_in : ndarray of int, shape (L,)
        n_in of each layer.
    ratio_to_inverse_n_weights, ratio_to_inverse_sqrt_n_weights : float
        total_rms / (1/n_w) and total_rms / (1/√n_w).
    ratio_to_inverse_sqrt_fan_in : ndarray, shape (L,)
        rms / (1/√n_in) per layer: 1 means the "scaled" initialisation's size.
    run_epochs : int or None
        Epochs in the run tested (its rows less one).
    """

    reached: bool
    epoch: int | None
    statistic: str
    layer: int | str | None
    relaxation_epochs: float
    window: int
    start: int
    z: float
    tolerance: float
    drift: float
    drift_se: float
    drift_epoch: int | None
    norm_squared: np.ndarray
    norm_squared_se: np.ndarray
    rms: np.ndarray
    rms_se: np.ndarray
    mean_abs: np.ndarray
    mean_abs_se: np.ndarray
    norm: np.ndarray
    norm_se: np.ndarray
    total_norm_squared: float
    total_norm_squared_se: float
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
    run_epochs: int | None = None

    def __repr__(self) -> str:
        drift = f"drift {self.drift:+.2%} ± {self.drift_se:.2%} per {self.window} epochs"
        tau = f"τ = {self.relaxation_epochs:.3g} epochs"
        if self.drift_epoch is None and self.run_epochs is not None:
            # The windows do not fit in the run: there is no drift to report.
            tau_units = (self.start + self.window) / self.relaxation_epochs
            return (
                f"Equilibrium(not tested: the test needs at least {self.start + self.window - 1} "
                f"epochs (≈ {tau_units:.3g}τ: a start of {self.start} and a window of "
                f"{self.window} epochs) and the run has {self.run_epochs}; {tau})"
            )
        if not self.reached:
            return f"Equilibrium(not reached; remaining {drift}; {tau})"
        return (
            f"Equilibrium(reached at epoch {self.epoch} "
            f"({self.epoch / self.relaxation_epochs:.1f} τ), "
            f"‖w‖² = {self.total_norm_squared:.4g} ± {self.total_norm_squared_se:.2g}, "
            f"{drift}; {tau})"
        )

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


def _relaxation_epochs(settings: dict) -> float:
    """τ in epochs, as the run's update rule answers it; NaN without the multiplier.

    For eq. 93 and AdamW −1/log(d^K); for momentum −1/log|r₊|^K, about
    1/(1 − β) times faster (:mod:`decaylab.rules`). A recorded rule that is
    not known raises ValueError.
    """
    if "multiplier" not in settings or "steps_per_epoch" not in settings:
        return float("nan")
    return float(rule_of(settings).relaxation_epochs(**decay_inputs(settings)))


def _statistic_series(history: History, statistic: str, layer) -> np.ndarray:
    """The tested series, shape (E + 1, k): pooled, one layer or every layer."""
    weights = history.weights
    name = "norm" if statistic == "norm_squared" else statistic
    power = 2 if statistic == "norm_squared" else 1
    if layer is None:
        return (weights.total[name] ** power)[:, None]
    per_layer = weights[name] ** power
    return per_layer if layer == "each" else per_layer[:, [layer]]


def find_equilibrium(
    history: History,
    *,
    statistic: str = "norm_squared",
    layer: int | str | None = None,
    start: int | None = None,
    window: int | None = None,
    window_relaxations: float = 3.0,
    start_relaxations: float = 3.0,
    z: float = 1.0,
    tolerance: float = 0.002,
    relaxation_epochs: float | None = None,
) -> Equilibrium:
    r"""Find the epoch from which the weights no longer drift (in units of τ); measure them there.

    Parameters
    ----------
    history : History
        A training run (the epochs are its rows; a continued run counts on).
    statistic : {"norm_squared", "rms", "norm", "mean_abs"}
        Weight statistic whose windowed mean is tested; ‖w‖² by default.
    layer : int, None or "each"
        Test this layer's statistic; None (default) all weights pooled;
        "each" requires every layer to pass.
    start : int, optional
        Earliest epoch the equilibrium window may begin, >= 0; by default
        ⌈``start_relaxations``·τ⌉ (and never before one window has passed).
    window : int, optional
        Epochs per window, >= 5; by default ⌈``window_relaxations``·τ⌉, at least 5.
    window_relaxations, start_relaxations : float
        The default window and start in units of τ, > 0.
    z : float
        A drift within ``z`` standard errors counts as none, >= 0.
    tolerance : float
        A relative drift per window below this counts as none whatever its
        standard error, >= 0: a floor for runs so quiet that any slow trend is
        significant (and for noise-free ones).
    relaxation_epochs : float, optional
        τ in epochs; by default the run's update rule answers it from the
        run's settings (``relaxation_epochs`` of :mod:`decaylab.rules`): for
        eq. 93 −1/log(d^K) (d the per-step multiplier, K steps per epoch),
        ≈ m/(ηλ); under momentum, Nesterov's too, −1/log|r₊|^K ≈
        m(1 − β)/(ηλ) (r₊ the slow root of its recurrence); AdamW's is d^K's,
        1/(ηc) steps; Adam + L2 has none of its own and takes AdamW's at the
        same c. A History whose recorded rule is not known raises ValueError.

    Returns
    -------
    Equilibrium
        ``reached`` is False, with the remaining drift and its standard
        error, when no window passes the test within the run.

    Raises
    ------
    ValueError
        For bad arguments, or when τ is not finite (λ = 0) and ``window``
        and ``start`` are not given.

    Notes
    -----
    With s_e the statistic after epoch e and W the window, the drift across
    epoch b is the relative change D_b = (m₂ − m₁)/m₁ of the means
    m₁ = mean(s_{b−W}, …, s_{b−1}) and m₂ = mean(s_b, …, s_{b+W−1}), with
    the standard error σ_D of :func:`window_drift`. The equilibrium window
    starts at the first b >= ``start`` with

    .. math:: |D_b| \le \max(z\,\sigma_D,\ \text{tolerance}),

    and the equilibrium values are the means over epochs b … E.

    *False positives.* For a relaxation s_e = s_∞(1 + A e^{−e/τ_r}), the
    excess left at b is A e^{−b/τ_r} = |D_b|·e^{−W/τ_r}/((τ_r/W)(1 − e^{−W/τ_r})²)
    (to first order in A): 0.17·|D_b| for W = 3τ_r, 0.9·|D_b| for W = τ_r,
    4·|D_b| for W = τ_r/4. So a relaxation as fast as τ is called settled
    only when its excess is far below the drift allowed, while a mode four
    times slower than the window can be called settled with an excess of
    about four times the allowed drift. Under noise alone (a true plateau)
    the test passes with probability about erf(z/√2) at each b (68 % for z = 1).
    """
    if not isinstance(history, History):
        raise TypeError(f"history has type {type(history).__name__}; expected a decaylab.History")
    statistic = check_choice("statistic", statistic, EQUILIBRIUM_STATISTICS)
    n_layers = history.weights.norm.shape[1]
    if isinstance(layer, str):
        check_choice("layer", layer, ("each",))
    elif layer is not None:
        layer = check_int("layer", layer, minimum=0, maximum=n_layers - 1)
    window_relaxations = check_real("window_relaxations", window_relaxations, positive=True)
    start_relaxations = check_real("start_relaxations", start_relaxations, positive=True)
    z = check_real("z", z, nonnegative=True)
    tolerance = check_real("tolerance", tolerance, nonnegative=True)
    tau, window, start = _time_scales(
        history.settings, relaxation_epochs=relaxation_epochs, window=window, start=start,
        window_relaxations=window_relaxations, start_relaxations=start_relaxations,
    )  # fmt: skip
    sizes = history.settings.get("sizes")
    if sizes is None or len(sizes) != n_layers + 1:
        raise ValueError(
            f"history.settings['sizes'] is {sizes!r}; expected the {n_layers + 1} layer sizes "
            "recorded by decaylab.train"
        )

    series = _statistic_series(history, statistic, layer)
    rows = len(series)
    reached, drift_row, drift, drift_se = _first_settled_window(
        series, start=start, window=window, tau=tau, z=z, tolerance=tolerance
    )
    weights = history.weights
    values = _window_means(weights, slice(drift_row if reached else rows, None), reached)
    n_weights = int(weights.counts.sum())
    fan_in = np.asarray(sizes[:-1], dtype=np.int64)
    epochs = np.asarray(history.epoch)
    return Equilibrium(
        reached=reached,
        epoch=int(epochs[drift_row]) if reached else None,
        statistic=statistic,
        layer=layer,
        relaxation_epochs=tau,
        window=window,
        start=start,
        z=z,
        tolerance=tolerance,
        drift=drift,
        drift_se=drift_se,
        drift_epoch=None if drift_row is None else int(epochs[drift_row]),
        **values,
        n_weights=n_weights,
        fan_in=fan_in,
        ratio_to_inverse_n_weights=values["total_rms"] * n_weights,
        ratio_to_inverse_sqrt_n_weights=values["total_rms"] * np.sqrt(n_weights),
        ratio_to_inverse_sqrt_fan_in=values["rms"] * np.sqrt(fan_in),
        run_epochs=rows - 1,
    )


def _time_scales(settings: dict, *, relaxation_epochs, window, start, window_relaxations,
                 start_relaxations) -> tuple[float, int, int]:  # fmt: skip
    """(τ, window, start) of :func:`find_equilibrium`: given, or in units of the run's τ.

    The start is never before one window has passed.
    """
    tau = (
        _relaxation_epochs(settings)
        if relaxation_epochs is None
        else check_real("relaxation_epochs", relaxation_epochs, positive=True)
    )
    if not math.isfinite(tau) and (window is None or start is None):
        raise ValueError(
            f"the run's relaxation time is {tau} (no decay, or settings without 'multiplier'); "
            "expected relaxation_epochs=, or both window= and start= in epochs"
        )
    if window is None:
        window = max(MIN_WINDOW, math.ceil(window_relaxations * tau))
    else:
        window = check_int("window", window, minimum=MIN_WINDOW)
    if start is None:
        start = math.ceil(start_relaxations * tau)
    else:
        start = check_int("start", start, minimum=0)
    return tau, window, max(start, window)


def _first_settled_window(series: np.ndarray, *, start: int, window: int, tau: float, z: float,
                          tolerance: float) -> tuple[bool, int | None, float, float]:  # fmt: skip
    """(reached, row b, drift D_b, its standard error) of the first b >= start that passes.

    When none passes: False and the last b tested, with its worst drift (row
    None and NaN drifts when the run is too short to test any).
    """
    # Without decay (τ infinite or unknown) only the correlation cap uses τ: 0.99 then.
    correlation_time = tau if math.isfinite(tau) else math.inf
    drift_row, drift, drift_se = None, math.nan, math.nan
    for b in range(start, len(series) - window + 1):
        d, se = window_drift(series, b, window, correlation_time)
        allowed = np.maximum(z * se, tolerance)
        with np.errstate(divide="ignore", invalid="ignore"):
            # 0/0 (no drift allowed, none found) counts as passing, not as the worst.
            worst = int(np.argmax(np.nan_to_num(np.abs(d) / allowed, nan=0.0)))
        drift_row, drift, drift_se = b, float(d[worst]), float(se[worst])
        if np.all(np.abs(d) <= allowed):
            return True, drift_row, drift, drift_se
    return False, drift_row, drift, drift_se


def _window_means(weights, rows: slice, reached: bool) -> dict:
    """Mean and standard error of each weight statistic over ``rows``, per layer and pooled.

    NaN everywhere when the equilibrium was not reached.
    """
    n_layers = weights.norm.shape[1]
    values = {}
    for name in ("norm_squared", "rms", "mean_abs", "norm"):
        source = "norm" if name == "norm_squared" else name
        power = 2 if name == "norm_squared" else 1
        if reached:
            per_layer = weights[source][rows] ** power
            pooled = weights.total[source][rows] ** power
            values[name], values[f"{name}_se"] = mean_and_standard_error(per_layer)
            mean, se = mean_and_standard_error(pooled)
            values[f"total_{name}"], values[f"total_{name}_se"] = float(mean), float(se)
        else:
            values[name] = values[f"{name}_se"] = np.full(n_layers, np.nan)
            values[f"total_{name}"] = values[f"total_{name}_se"] = float("nan")
    return values


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
