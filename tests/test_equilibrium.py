"""Equilibrium detection, equilibrium sizes, the stationarity identity, relaxation times."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl
from decaylab.dynamics.equilibrium import mean_and_standard_error
from decaylab.history import ParameterStats, layer_statistics

SIZES = [6, 4, 3]


def _history(scales):
    """A History whose weights are a fixed random draw times ``scales[e]`` at epoch e.

    ``scales`` has shape (E + 1,) (every layer alike) or (E + 1, 2).
    """
    scales = np.asarray(scales, dtype=float)
    if scales.ndim == 1:
        scales = np.repeat(scales[:, None], 2, axis=1)
    rng = np.random.default_rng(0)
    base = [rng.standard_normal((o, i)) for i, o in zip(SIZES[:-1], SIZES[1:])]
    rows = [layer_statistics([b * s for b, s in zip(base, row)]) for row in scales]
    counts = [b.size for b in base]
    bias_rows = [layer_statistics([np.ones(4), np.ones(3)])] * len(rows)
    return dl.History(
        epoch=np.arange(len(scales)),
        weights=ParameterStats.from_rows(counts, rows),
        biases=ParameterStats.from_rows([4, 3], bias_rows),
        settings={"sizes": SIZES, "multiplier": 0.99, "steps_per_epoch": 10},
    )


def _decay_then_flat(decay_epochs, total_epochs, factor=0.8):
    """Scale 0.8^e until ``decay_epochs``, constant afterwards."""
    epochs = np.arange(total_epochs + 1)
    return factor ** np.minimum(epochs, decay_epochs)


@pytest.mark.parametrize("window", [1, 3, 5])
@pytest.mark.parametrize("decay_epochs", [4, 10])
def test_plateau_is_found_where_the_decay_stops(window, decay_epochs):
    history = _history(_decay_then_flat(decay_epochs, 30))
    equilibrium = dl.find_equilibrium(history, window=window)
    assert equilibrium.reached
    assert equilibrium.epoch == decay_epochs


@pytest.mark.parametrize("statistic", ["rms", "mean_abs", "norm"])
def test_every_statistic_sees_the_same_plateau(statistic):
    history = _history(_decay_then_flat(7, 25))
    assert dl.find_equilibrium(history, statistic=statistic).epoch == 7


def test_smoothing_makes_detection_robust_to_noise():
    # 1% epoch-to-epoch noise on the plateau: single-epoch changes often cross 1%.
    noise = np.exp(np.random.default_rng(2).normal(0.0, 0.01, 61))
    history = _history(_decay_then_flat(10, 60) * noise)
    assert dl.find_equilibrium(history, window=5, patience=5).epoch == 10
    assert dl.find_equilibrium(history, window=1, patience=5).epoch != 10


@pytest.mark.parametrize(
    "scales",
    [0.9 ** np.arange(31), 1.05 ** np.arange(31), _decay_then_flat(28, 30)],
    ids=["still-decaying", "growing", "too-late"],
)
def test_no_plateau_is_an_honest_answer(scales):
    equilibrium = dl.find_equilibrium(_history(scales))
    assert not equilibrium.reached
    assert equilibrium.epoch is None
    assert np.isnan(equilibrium.total_rms)
    assert np.all(np.isnan(equilibrium.rms))


def test_a_history_shorter_than_the_window_has_no_plateau():
    equilibrium = dl.find_equilibrium(_history(np.ones(4)), window=5)
    assert not equilibrium.reached
    assert equilibrium.rate.size == 0


def test_rate_is_the_relative_change_per_epoch():
    history = _history(0.9 ** np.arange(12))
    np.testing.assert_allclose(dl.find_equilibrium(history, window=3).rate, -0.1, rtol=1e-12)


def test_layer_detection_uses_that_layer():
    scales = np.stack([_decay_then_flat(5, 30), _decay_then_flat(12, 30)], axis=1)
    history = _history(scales)
    assert dl.find_equilibrium(history, layer=0).epoch == 5
    assert dl.find_equilibrium(history, layer=1).epoch == 12


def test_equilibrium_values_are_plateau_means():
    noise = np.exp(np.random.default_rng(1).normal(0.0, 0.002, 31))
    history = _history(_decay_then_flat(8, 30) * noise)
    equilibrium = dl.find_equilibrium(history)
    plateau = slice(equilibrium.epoch, None)
    np.testing.assert_allclose(equilibrium.rms, history.weights.rms[plateau].mean(axis=0))
    np.testing.assert_allclose(equilibrium.mean_abs, history.weights.mean_abs[plateau].mean(axis=0))
    all_weights = np.sqrt((history.weights.norm[plateau] ** 2).sum(axis=1))
    assert equilibrium.total_norm == pytest.approx(all_weights.mean())
    assert equilibrium.total_rms == pytest.approx((all_weights / np.sqrt(24 + 12)).mean())
    assert np.all(equilibrium.rms_se > 0)


def test_ratios_compare_with_the_candidate_sizes():
    equilibrium = dl.find_equilibrium(_history(_decay_then_flat(8, 30)))
    n_weights = 6 * 4 + 4 * 3
    assert equilibrium.n_weights == n_weights
    assert equilibrium.ratio_to_inverse_n_weights == pytest.approx(equilibrium.total_rms * 36)
    assert equilibrium.ratio_to_inverse_sqrt_n_weights == pytest.approx(equilibrium.total_rms * 6)
    np.testing.assert_allclose(
        equilibrium.ratio_to_inverse_sqrt_fan_in, equilibrium.rms * np.sqrt([6, 4])
    )
    ratios = equilibrium.scale_ratios("mean_abs")
    assert ratios["inverse_sqrt_n_weights"] == pytest.approx(equilibrium.total_mean_abs * 6)


def test_relaxation_epochs_come_from_the_run_settings():
    equilibrium = dl.find_equilibrium(_history(_decay_then_flat(8, 30)))
    assert equilibrium.relaxation_epochs == pytest.approx(-1.0 / (10 * np.log(0.99)))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(tolerance=0.0), ValueError, "tolerance"),
        (dict(patience=0), ValueError, "patience"),
        (dict(window=0), ValueError, "window"),
        (dict(statistic="sum"), ValueError, "statistic"),
        (dict(layer=2), ValueError, "layer"),
        (dict(patience=2.5), TypeError, "patience"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        dl.find_equilibrium(_history(np.ones(10)), **kwargs)


def test_find_equilibrium_reads_a_real_run(digits):
    net = dl.Network([64, 30, 10], init="large", seed=0)
    history = dl.train(net, digits.train, epochs=20, batch_size=10, eta=0.5, lmbda=5.0, seed=0,
                       training_metrics=False)  # fmt: skip
    equilibrium = dl.find_equilibrium(history)
    # λ = 5 relaxes the N(0, 1) weights with τ = m/(ηλ) = 4 epochs: a plateau is reached.
    assert equilibrium.reached
    assert equilibrium.relaxation_epochs == pytest.approx(4.0, rel=0.01)
    assert equilibrium.total_rms < history.weights.total.rms[0]


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
