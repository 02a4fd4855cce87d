"""Equilibrium detection, equilibrium sizes, the stationarity identity, relaxation times."""

from __future__ import annotations

import math

import numpy as np
import pytest

import decaylab as dl
from decaylab.dynamics.equilibrium import mean_and_standard_error, window_drift
from decaylab.history import ParameterStats, layer_statistics

SIZES = [6, 4, 3]


def _history(norm_squared, *, multiplier=0.99, steps_per_epoch=10):
    """A History whose layers' ‖w‖² after epoch e are ``norm_squared[e]``.

    ``norm_squared`` has shape (E + 1,) (every layer alike) or (E + 1, 2); the
    weights are a fixed random draw rescaled to those norms. With the default
    settings τ = −1/(10 log 0.99) ≈ 9.95 epochs.
    """
    norm_squared = np.asarray(norm_squared, dtype=float)
    if norm_squared.ndim == 1:
        norm_squared = np.repeat(norm_squared[:, None], 2, axis=1)
    rng = np.random.default_rng(0)
    base = [rng.standard_normal((o, i)) for i, o in zip(SIZES[:-1], SIZES[1:])]
    base = [b / np.linalg.norm(b) for b in base]
    rows = [layer_statistics([b * np.sqrt(s) for b, s in zip(base, row)]) for row in norm_squared]
    bias_rows = [layer_statistics([np.ones(4), np.ones(3)])] * len(rows)
    return dl.History(
        epoch=np.arange(len(norm_squared)),
        weights=ParameterStats.from_rows([b.size for b in base], rows),
        biases=ParameterStats.from_rows([4, 3], bias_rows),
        settings={"sizes": SIZES, "multiplier": multiplier, "steps_per_epoch": steps_per_epoch},
    )


def _relaxation(tau, amplitude, epochs, *, noise=0.0, seed=0, level=100.0):
    """level·(1 + amplitude·e^{−e/τ}) times AR(1) noise of relative size ``noise``.

    The noise has lag-1 correlation e^{−1/τ} per epoch, as a weight relaxing
    with time constant τ would.
    """
    e = np.arange(epochs + 1)
    rho = math.exp(-1.0 / tau)
    shocks = np.random.default_rng(seed).standard_normal(epochs + 1) * np.sqrt(1 - rho**2)
    ar = np.empty(epochs + 1)
    ar[0] = shocks[0] / np.sqrt(1 - rho**2)
    for t in range(1, epochs + 1):
        ar[t] = rho * ar[t - 1] + shocks[t]
    return level * (1.0 + amplitude * np.exp(-e / tau)) * (1.0 + noise * ar)


# ----------------------------------------------------------------------------- detection


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("amplitude", [3.0, 300.0])
@pytest.mark.parametrize("tau", [2.0, 5.0, 12.0])
def test_noisy_relaxation_is_called_settled_within_two_percent_of_its_plateau(tau, amplitude, seed):
    # 1 % AR(1) noise on ‖w‖²; the plateau is 100 by construction.
    series = _relaxation(tau, amplitude, math.ceil(40 * tau), noise=0.01, seed=seed)
    equilibrium = dl.find_equilibrium(_history(series), relaxation_epochs=tau)
    assert equilibrium.reached
    excess_at_start = amplitude * math.exp(-equilibrium.epoch / tau)
    assert excess_at_start < 0.02
    assert equilibrium.total_norm_squared / 2 == pytest.approx(100.0, rel=0.02)


@pytest.mark.parametrize("tau", [2.0, 5.0, 12.0])
def test_noise_free_relaxation_is_settled_once_its_excess_is_below_the_tolerance(tau):
    series = _relaxation(tau, 300.0, math.ceil(40 * tau))
    equilibrium = dl.find_equilibrium(_history(series), relaxation_epochs=tau, tolerance=0.001)
    assert equilibrium.reached
    assert 300.0 * math.exp(-equilibrium.epoch / tau) < 0.001
    # …but not much later: the excess one epoch earlier was still above a tenth of it.
    assert 300.0 * math.exp(-(equilibrium.epoch - 1) / tau) > 1e-4


@pytest.mark.parametrize("relaxations", [6, 10])
def test_a_run_stopped_while_relaxing_is_not_reached_and_says_how_far_it_still_drifts(relaxations):
    tau = 5.0
    series = _relaxation(tau, 300.0, int(relaxations * tau), noise=0.001)
    equilibrium = dl.find_equilibrium(_history(series), relaxation_epochs=tau)
    assert not equilibrium.reached and equilibrium.epoch is None
    assert np.isnan(equilibrium.total_norm_squared) and np.all(np.isnan(equilibrium.rms))
    # The last two windows, [E − 2W + 1, E − W] and [E − W + 1, E], computed here.
    w = equilibrium.window
    first, second = series[-2 * w : -w].mean(), series[-w:].mean()
    assert equilibrium.drift == pytest.approx((second - first) / first, rel=1e-9)
    assert equilibrium.drift < -equilibrium.z * equilibrium.drift_se  # the test it failed


def test_a_run_shorter_than_start_and_window_has_no_test_at_all():
    equilibrium = dl.find_equilibrium(_history(np.ones(20)), relaxation_epochs=5.0)
    assert not equilibrium.reached
    assert equilibrium.drift_epoch is None and np.isnan(equilibrium.drift)


def test_window_and_start_default_to_relaxation_times():
    equilibrium = dl.find_equilibrium(_history(np.ones(100)))
    tau = -1.0 / (10 * np.log(0.99))
    assert equilibrium.relaxation_epochs == pytest.approx(tau)
    assert (equilibrium.window, equilibrium.start) == (math.ceil(3 * tau), math.ceil(3 * tau))
    assert equilibrium.epoch == equilibrium.start  # a flat series passes at once


def test_the_start_argument_delays_the_equilibrium():
    assert dl.find_equilibrium(_history(np.ones(100)), start=40).epoch == 40


@pytest.mark.parametrize(
    ("layer", "settles"), [(0, 12), (1, 46), ("each", 46), (None, 46)], ids=str
)
def test_layer_argument_picks_the_series_tested(layer, settles):
    # Layer 0 is flat from epoch 0; layer 1 falls linearly until epoch 40, so the
    # first pair of 6-epoch windows both flat meet at epoch 46.
    epochs = np.arange(121)
    layer1 = np.where(epochs < 40, 2.0 + 0.5 * (40 - epochs), 2.0)
    history = _history(np.stack([np.ones(121), layer1], axis=1))
    equilibrium = dl.find_equilibrium(
        history, layer=layer, window=6, start=12, relaxation_epochs=1.0
    )
    assert equilibrium.epoch == settles


def test_drift_standard_error_is_that_of_independent_noise_for_white_noise():
    # White noise: residual variance s², ρ ≈ 0, each mean has variance s²/W.
    rng = np.random.default_rng(3)
    series = 100.0 + rng.standard_normal((2000, 1))
    window = 1000
    _, se = window_drift(series, window, window, 1.0)
    assert se[0] == pytest.approx(np.sqrt(2.0 / window) / 100.0, rel=0.05)


def test_a_trend_is_not_mistaken_for_noise():
    # A noise-free straight line has no fluctuation about its fit: drift is exact, se is 0.
    series = np.linspace(100.0, 90.0, 41)[:, None]
    drift, se = window_drift(series, 20, 10, 5.0)
    assert drift[0] == pytest.approx(series[20:30].mean() / series[10:20].mean() - 1)
    assert se[0] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("statistic", ["norm_squared", "rms", "norm", "mean_abs"])
def test_every_statistic_sees_the_same_end_of_a_linear_fall(statistic):
    epochs = np.arange(101)
    series = np.where(epochs < 30, 5.0 - 0.1 * epochs, 2.0)
    equilibrium = dl.find_equilibrium(
        _history(series), statistic=statistic, window=5, start=10, relaxation_epochs=1.0
    )
    assert equilibrium.epoch == 35  # the first pair of 5-epoch windows both after epoch 30


def test_equilibrium_values_are_means_over_the_equilibrium_window():
    series = _relaxation(5.0, 30.0, 200, noise=0.01, seed=1)
    history = _history(series)
    equilibrium = dl.find_equilibrium(history, relaxation_epochs=5.0)
    window = slice(equilibrium.epoch, None)
    np.testing.assert_allclose(equilibrium.norm_squared, series[window].mean())
    np.testing.assert_allclose(equilibrium.rms, history.weights.rms[window].mean(axis=0))
    assert equilibrium.total_norm_squared == pytest.approx(2 * series[window].mean())
    assert equilibrium.total_rms == pytest.approx(np.sqrt(2 * series[window] / 36).mean())
    assert np.all(equilibrium.norm_squared_se > 0)


def test_ratios_compare_with_the_candidate_sizes():
    equilibrium = dl.find_equilibrium(_history(np.ones(60)))
    n_weights = 6 * 4 + 4 * 3
    assert equilibrium.n_weights == n_weights
    assert equilibrium.ratio_to_inverse_n_weights == pytest.approx(equilibrium.total_rms * 36)
    assert equilibrium.ratio_to_inverse_sqrt_n_weights == pytest.approx(equilibrium.total_rms * 6)
    np.testing.assert_allclose(
        equilibrium.ratio_to_inverse_sqrt_fan_in, equilibrium.rms * np.sqrt([6, 4])
    )
    ratios = equilibrium.scale_ratios("mean_abs")
    assert ratios["inverse_sqrt_n_weights"] == pytest.approx(equilibrium.total_mean_abs * 6)


@pytest.mark.parametrize(
    ("series", "words"),
    [(np.ones(60), "reached at epoch 30 (3.0 τ)"), (np.linspace(9, 1, 60), "not reached")],
)
def test_repr_is_one_short_line(series, words):
    text = repr(dl.find_equilibrium(_history(series), relaxation_epochs=10.0))
    assert words in text and "\n" not in text and len(text) < 130


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(tolerance=-0.1), ValueError, "tolerance"),
        (dict(z=-1.0), ValueError, "z"),
        (dict(window=4), ValueError, "window"),
        (dict(window=5.5), TypeError, "window"),
        (dict(start=-1), ValueError, "start"),
        (dict(statistic="sum"), ValueError, "statistic"),
        (dict(layer=2), ValueError, "layer"),
        (dict(layer="all"), ValueError, "layer"),
        (dict(relaxation_epochs=0.0), ValueError, "relaxation_epochs"),
        (dict(window_relaxations=0.0), ValueError, "window_relaxations"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        dl.find_equilibrium(_history(np.ones(10)), **kwargs)


def test_without_decay_the_window_must_be_given():
    history = _history(np.ones(30), multiplier=1.0)
    with pytest.raises(ValueError, match="relaxation_epochs"):
        dl.find_equilibrium(history)
    assert dl.find_equilibrium(history, window=5, start=5).epoch == 5


def test_a_real_run_trained_far_past_its_plateau_is_measured_at_it(digits):
    # τ = m/(ηλ) = 2 epochs; 120 epochs is 60 τ, far past the plateau of this width.
    net = dl.Network([64, 30, 10], init="large", seed=0)
    history = dl.train(net, digits.train, epochs=120, batch_size=10, eta=1.0, lmbda=5.0, seed=0,
                       training_metrics=False)  # fmt: skip
    equilibrium = dl.find_equilibrium(history)
    assert equilibrium.reached
    assert equilibrium.epoch < 60
    last_stretch = (history.weights.total.norm[-30:] ** 2).mean()
    assert equilibrium.total_norm_squared == pytest.approx(last_stretch, rel=0.03)


# ----------------------------------------------------------------------------- standard error


def test_standard_error_covers_the_mean_of_autocorrelated_series():
    # 400 AR(1) series with φ = 0.6: the nominal 95% interval covers the true mean 0.
    rng = np.random.default_rng(7)
    phi, length, replicates = 0.6, 400, 400
    shocks = rng.standard_normal((length, replicates))
    series = np.empty_like(shocks)
    series[0] = shocks[0] / np.sqrt(1 - phi**2)
    for t in range(1, length):
        series[t] = phi * series[t - 1] + shocks[t]
    mean, se = mean_and_standard_error(series)
    coverage = np.mean(np.abs(mean) < 1.96 * se)
    assert abs(coverage - 0.95) < 3 * np.sqrt(0.95 * 0.05 / replicates)


def test_standard_error_needs_three_values():
    _, se = mean_and_standard_error(np.array([[1.0], [2.0]]))
    assert np.isnan(se).all()


# ----------------------------------------------------------------------------- stationarity


@pytest.fixture(scope="module")
def full_batch_minimum():
    """A two-layer net trained by full-batch eq. 93 to its regularised minimum."""
    data = dl.make_teacher_student(60, 5, 3, seed=0)
    net = dl.Network([5, 4, 3], init="scaled", seed=1)
    dl.train(net, data.train, epochs=3000, batch_size=60, eta=2.5, lmbda=2.0,
             training_metrics=False)  # fmt: skip
    return net, data.train


def test_full_batch_training_reaches_a_stationary_point(full_batch_minimum):
    net, train = full_batch_minimum
    result = dl.stationarity(net, train, 2.0)
    assert result.total_residual < 1e-6
    assert np.all(result.measured > 0.1)  # not the trivial w = 0


def test_stationarity_identity_holds_at_the_minimum(full_batch_minimum):
    net, train = full_batch_minimum
    result = dl.stationarity(net, train, 2.0)
    np.testing.assert_allclose(result.measured, result.predicted, rtol=1e-6)
    assert abs(result.total_relative_gap) < 1e-6


def test_stationarity_identity_fails_away_from_the_minimum():
    data = dl.make_teacher_student(60, 5, 3, seed=0)
    net = dl.Network([5, 4, 3], init="scaled", seed=1)
    assert np.all(np.abs(dl.stationarity(net, data.train, 2.0).relative_gap) > 0.1)


@pytest.mark.parametrize("layer", [0, 1, None])
def test_prediction_is_the_derivative_of_the_cost_along_w(layer, make_problem):
    # −w·∇C₀ = −d/dt C₀(w(1 + t)) at t = 0, by central differences on the cost.
    X, y = make_problem(5, 3, 40, seed=2)
    net = dl.Network([5, 4, 3], seed=2)
    lmbda = 1.5
    layers = range(net.n_layers) if layer is None else [layer]
    original = [w.copy() for w in net.weights]

    def cost(t):
        for l in layers:
            net.weights[l] = original[l] * (1.0 + t)
        value = net.cost_value((X, y))
        for l in layers:
            net.weights[l] = original[l]
        return value

    h = 1e-5
    derivative = (cost(h) - cost(-h)) / (2 * h)
    result = dl.stationarity(net, (X, y), lmbda)
    predicted = result.total_predicted if layer is None else result.predicted[layer]
    assert predicted == pytest.approx(len(X) / lmbda * -derivative, rel=1e-7)


@pytest.mark.parametrize("seed", range(5))
def test_gap_is_bounded_by_the_residual(seed, make_problem):
    # |w·(∇C₀ + c w)| / (c ‖w‖²) <= ‖∇C₀ + c w‖ / (c ‖w‖) by Cauchy–Schwarz.
    X, y = make_problem(5, 3, 40, seed=seed)
    result = dl.stationarity(dl.Network([5, 4, 3], seed=seed), (X, y), 1.0)
    assert np.all(np.abs(result.relative_gap) <= result.residual * (1 + 1e-12))


def test_stationarity_uses_the_given_training_set_size(make_problem):
    X, y = make_problem(5, 3, 40, seed=4)
    net = dl.Network([5, 4, 3], seed=4)
    default = dl.stationarity(net, (X, y), 1.0)
    doubled = dl.stationarity(net, (X, y), 1.0, n=80)
    np.testing.assert_allclose(doubled.predicted, 2 * default.predicted, rtol=1e-14)


@pytest.mark.parametrize(
    ("lmbda", "error"), [(0.0, ValueError), (-1.0, ValueError), ("1", TypeError)]
)
def test_stationarity_needs_a_positive_lambda(lmbda, error, make_problem):
    X, y = make_problem(5, 3, 10)
    with pytest.raises(error, match="lmbda"):
        dl.stationarity(dl.Network([5, 3]), (X, y), lmbda)


# ----------------------------------------------------------------------------- relaxation


@pytest.mark.parametrize(
    ("eta", "lmbda", "batch_size", "n"), [(0.5, 5.0, 10, 1000), (0.1, 5.0, 10, 50000)]
)
def test_relaxation_time_is_m_over_eta_lambda(eta, lmbda, batch_size, n):
    assert dl.relaxation_time(eta, lmbda, batch_size) == pytest.approx(batch_size / (eta * lmbda))
    assert dl.relaxation_steps(eta, lmbda, n) == pytest.approx(n / (eta * lmbda))


def test_relaxation_time_is_the_e_folding_time_of_the_closed_form():
    tau = dl.relaxation_time(0.5, 5.0, 10)
    factor = dl.compare_factors(0.5, 5.0, 1000, 10).closed_form
    assert factor**tau == pytest.approx(np.exp(-1.0), rel=1e-12)


def test_relaxation_time_without_decay_is_infinite():
    assert dl.relaxation_time(0.5, 0.0, 10) == float("inf")
    assert dl.relaxation_steps(0.5, 0.0, 100) == float("inf")


def test_a_run_too_short_to_test_says_how_long_the_test_needs(digits):
    # η = 0.5, λ = 1, n = 1000, m = 10: τ = −1/log((1 − ηλ/n)^100) ≈ 20 epochs; the test
    # compares windows of ⌈3τ⌉ epochs from epoch ⌈3τ⌉ on, so it needs 2⌈3τ⌉ − 1 of them.
    tau = -1 / math.log((1 - 0.5 * 1.0 / 1000) ** 100)
    needed = 2 * math.ceil(3 * tau) - 1
    net = dl.Network([64, 10, 10], seed=0)
    history = dl.train(net, digits.train, epochs=30, batch_size=10, eta=0.5, lmbda=1.0, seed=0)
    text = repr(dl.find_equilibrium(history))
    assert f"the test needs at least {needed} epochs" in text
    assert "the run has 30" in text and "nan" not in text
