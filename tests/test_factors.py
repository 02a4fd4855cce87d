"""Decay factors: exact vs closed form, the leading-order error, and measured norm ratios."""

from __future__ import annotations

import decimal
import math

import numpy as np
import pytest

import decaylab as dl


def _per_step_decay(eta, lmbda, n, decay, n_weights):
    """a = 1 − d, written out from the table of conventions."""
    return {
        "sum": eta * lmbda / n,
        "mean": eta * lmbda / (n * n_weights),
        "per_step": eta * lmbda,
        "decoupled": lmbda,
    }[decay]


def _exact_by_loop(a, steps):
    factor = 1.0
    for _ in range(steps):
        factor *= 1.0 - a
    return factor


# (eta, lmbda, n, batch_size, decay, n_weights): m | n and m ∤ n, every convention
CASES = [
    (0.5, 5.0, 1000, 10, "sum", 1),
    (0.5, 5.0, 1000, 7, "sum", 1),
    (0.1, 5.0, 50000, 10, "sum", 1),
    (3.0, 20.0, 137, 12, "sum", 1),
    (0.5, 5.0, 1000, 10, "mean", 2220),
    (0.5, 1e-3, 1000, 30, "per_step", 1),
    (0.5, 1e-4, 999, 100, "decoupled", 1),
]


@pytest.mark.parametrize(("eta", "lmbda", "n", "batch_size", "decay", "n_weights"), CASES)
def test_exact_factor_is_the_product_of_the_per_step_multipliers(
    eta, lmbda, n, batch_size, decay, n_weights
):
    comparison = dl.compare_factors(eta, lmbda, n, batch_size, decay=decay, n_weights=n_weights)
    a = _per_step_decay(eta, lmbda, n, decay, n_weights)
    expected = _exact_by_loop(a, -(-n // batch_size))
    assert comparison.exact == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("eta", "lmbda", "n", "batch_size"), [c[:4] for c in CASES[:4]])
def test_closed_form_is_nielsens_exponential(eta, lmbda, n, batch_size):
    comparison = dl.compare_factors(eta, lmbda, n, batch_size)
    assert comparison.closed_form == pytest.approx(math.exp(-eta * lmbda / batch_size), rel=1e-14)


@pytest.mark.parametrize(("eta", "lmbda", "n", "batch_size", "decay", "n_weights"), CASES)
def test_relative_error_compares_closed_form_with_exact(
    eta, lmbda, n, batch_size, decay, n_weights
):
    comparison = dl.compare_factors(eta, lmbda, n, batch_size, decay=decay, n_weights=n_weights)
    a = _per_step_decay(eta, lmbda, n, decay, n_weights)
    exact = _exact_by_loop(a, -(-n // batch_size))
    closed = math.exp(-a * n / batch_size)
    assert comparison.relative_error == pytest.approx((closed - exact) / exact, rel=1e-9)


def _relative_error_decimal(a, n, batch_size):
    """(closed − exact)/exact in 60-digit decimal arithmetic, a reference free of rounding."""
    with decimal.localcontext() as context:
        context.prec = 60
        a = decimal.Decimal(a)
        exact = (1 - a) ** (-(-n // batch_size))
        closed = (-a * n / batch_size).exp()
        return (closed - exact) / exact


# The expansion is asymptotic in a = 1 − d: only small a (and every convention) here.
SMALL_DECAY = [c for c in CASES if _per_step_decay(*c[:3], c[4], c[5]) <= 0.01]


@pytest.mark.parametrize(("eta", "lmbda", "n", "batch_size", "decay", "n_weights"), SMALL_DECAY)
def test_leading_term_predicts_the_relative_error_to_the_next_order(
    eta, lmbda, n, batch_size, decay, n_weights
):
    comparison = dl.compare_factors(eta, lmbda, n, batch_size, decay=decay, n_weights=n_weights)
    a = _per_step_decay(eta, lmbda, n, decay, n_weights)
    steps = -(-n // batch_size)
    relative_error = _relative_error_decimal(a, n, batch_size)
    # Next order of e^δ − 1 with δ = a(K − n/m) + K a²/2 + K a³/3 + …
    next_order = steps * a**3 / 3 + comparison.leading_term**2 / 2
    remainder = float(relative_error - decimal.Decimal(comparison.leading_term))
    assert abs(remainder - next_order) <= 0.05 * next_order


@pytest.mark.parametrize(
    ("n", "batch_size", "expected_ceiling"),
    [(1000, 10, 0.0), (1000, 7, 1 / 7), (1000, 999, 998 / 999), (50, 50, 0.0)],
)
def test_ceiling_term_is_the_fraction_of_a_step_that_ceil_adds(n, batch_size, expected_ceiling):
    eta, lmbda = 0.5, 2.0
    comparison = dl.compare_factors(eta, lmbda, n, batch_size)
    assert comparison.ceiling_term == pytest.approx(eta * lmbda / n * expected_ceiling, abs=1e-16)


@pytest.mark.parametrize(
    ("eta", "lmbda", "n"), [(0.5, 5.0, 1000), (0.1, 5.0, 50000), (3.0, 1.0, 7)]
)
def test_eta_lambda_over_n_is_reported(eta, lmbda, n):
    assert dl.compare_factors(eta, lmbda, n, 1).eta_lambda_over_n == pytest.approx(eta * lmbda / n)


def test_array_arguments_give_the_scalar_results_elementwise():
    etas = np.array([0.1, 0.5, 3.0])
    lmbdas = np.array([[1.0], [5.0]])
    batch_sizes = np.array([7, 10, 100])
    vectorised = dl.compare_factors(etas, lmbdas, 1000, batch_sizes)
    assert vectorised.exact.shape == (2, 3)
    for i, lmbda in enumerate(lmbdas[:, 0]):
        for j, (eta, m) in enumerate(zip(etas, batch_sizes)):
            scalar = dl.compare_factors(float(eta), float(lmbda), 1000, int(m))
            assert vectorised.relative_error[i, j] == pytest.approx(
                scalar.relative_error, rel=1e-12
            )
            assert vectorised.exact[i, j] == pytest.approx(scalar.exact, rel=1e-14)


@pytest.mark.parametrize(("eta", "lmbda", "holds"), [(0.5, 5.0, True), (3.0, 50.0, False)])
def test_closed_form_holds_reads_the_relative_error(eta, lmbda, holds):
    comparison = dl.compare_factors(eta, lmbda, 1000, 10)
    assert comparison.closed_form_holds(0.01) == holds


@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        (dict(eta=0.0, lmbda=1.0, n=10, batch_size=1), ValueError, "eta"),
        (dict(eta=0.5, lmbda=-1.0, n=10, batch_size=1), ValueError, "lmbda"),
        (dict(eta=0.5, lmbda=1.0, n=0, batch_size=1), ValueError, "n="),
        (dict(eta=0.5, lmbda=1.0, n=10, batch_size=11), ValueError, "batch_size"),
        (dict(eta=0.5, lmbda=1.0, n=10.0, batch_size=1), TypeError, "n="),
        (dict(eta="0.5", lmbda=1.0, n=10, batch_size=1), TypeError, "eta"),
        (dict(eta=np.nan, lmbda=1.0, n=10, batch_size=1), ValueError, "eta"),
        (dict(eta=5.0, lmbda=3.0, n=10, batch_size=1), ValueError, "eta*lmbda/n"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, names):
    with pytest.raises(error, match=names.replace("*", r"\*")):
        dl.compare_factors(**kwargs)


# ----------------------------------------------------------------------------- measured


def _zero_input_run(n, batch_size, eta, lmbda, epochs=3, decay="sum"):
    """A run whose first layer sees only zero inputs, so its data gradient δ·xᵀ is exactly 0."""
    rng = np.random.default_rng(n)
    X, y = np.zeros((n, 5)), rng.integers(0, 3, n)
    net = dl.Network([5, 4, 3], seed=n)
    return dl.train(
        net, (X, y), epochs=epochs, batch_size=batch_size, eta=eta, lmbda=lmbda, decay=decay,
        seed=0, training_metrics=False,
    )  # fmt: skip


# (n, batch_size, eta, lmbda)
ZERO_INPUT = [(37, 5, 0.5, 2.0), (40, 8, 0.5, 2.0), (37, 37, 0.5, 2.0), (50, 3, 0.3, 4.0)]


@pytest.mark.parametrize(("n", "batch_size", "eta", "lmbda"), ZERO_INPUT)
def test_a_layer_without_data_gradient_decays_by_the_exact_factor(n, batch_size, eta, lmbda):
    history = _zero_input_run(n, batch_size, eta, lmbda)
    factors = dl.measured_factors(history)
    exact = _exact_by_loop(eta * lmbda / n, -(-n // batch_size))
    np.testing.assert_allclose(factors.measured[:, 0], exact, rtol=1e-12)
    np.testing.assert_allclose(factors.excess[:, 0], 1.0, rtol=1e-12)


@pytest.mark.parametrize(("n", "batch_size", "eta", "lmbda"), ZERO_INPUT)
def test_measured_error_of_the_closed_form_matches_the_leading_term(n, batch_size, eta, lmbda):
    history = _zero_input_run(n, batch_size, eta, lmbda)
    measured = dl.measured_factors(history).measured[:, 0]
    comparison = dl.compare_factors(eta, lmbda, n, batch_size)
    relative_error = (math.exp(-eta * lmbda / batch_size) - measured) / measured
    a, steps = eta * lmbda / n, -(-n // batch_size)
    next_order = steps * a**3 / 3 + comparison.leading_term**2 / 2
    np.testing.assert_allclose(relative_error - comparison.leading_term, next_order, rtol=0.1)


def test_other_layers_are_not_pure_decay():
    history = _zero_input_run(37, 5, 0.5, 2.0)
    excess = dl.measured_factors(history).excess[:, 1]
    assert np.all(np.abs(excess - 1.0) > 1e-6)


def test_measured_ratios_come_from_the_history_norms():
    history = _zero_input_run(40, 8, 0.5, 2.0)
    factors = dl.measured_factors(history)
    norm = history.weights.norm
    total = np.sqrt((norm**2).sum(axis=1))
    np.testing.assert_allclose(factors.measured, norm[1:] / norm[:-1], rtol=1e-15)
    np.testing.assert_allclose(factors.total, total[1:] / total[:-1], rtol=1e-12)
    np.testing.assert_array_equal(factors.epoch, [1, 2, 3])


@pytest.mark.parametrize("decay", ["mean", "per_step"])
def test_prediction_follows_the_runs_convention(decay):
    history = _zero_input_run(37, 5, 0.5, 0.01, decay=decay)
    factors = dl.measured_factors(history)
    np.testing.assert_allclose(factors.measured[:, 0], factors.predicted, rtol=1e-12)


def test_lambda_zero_predicts_no_decay():
    history = _zero_input_run(37, 5, 0.5, 0.0)
    factors = dl.measured_factors(history)
    assert factors.predicted == 1.0
    np.testing.assert_allclose(factors.measured[:, 0], 1.0, rtol=1e-15)


@pytest.fixture(scope="module")
def digits_large_init(digits):
    net = dl.Network([64, 30, 10], init="large", seed=0)
    return dl.train(net, digits.train, epochs=2, batch_size=10, eta=0.5, lmbda=5.0, seed=0)


def test_first_digits_epochs_decay_by_nielsens_factor(digits_large_init):
    # Claim 2: with N(0, 1) weights the hidden layer's factor is e^{-ηλ/m} within a few percent.
    factors = dl.measured_factors(digits_large_init)
    closed = math.exp(-0.5 * 5.0 / 10)
    np.testing.assert_allclose(factors.measured[:, 0], closed, rtol=0.03)


def test_measured_factors_needs_a_trained_history(digits):
    net = dl.Network([64, 30, 10], seed=0)
    history = dl.train(net, digits.train, epochs=0, batch_size=10, eta=0.5, lmbda=5.0)
    with pytest.raises(ValueError, match="epochs"):
        dl.measured_factors(history)


def test_measured_factors_rejects_other_types():
    with pytest.raises(TypeError, match="history"):
        dl.measured_factors({"weights": None})
