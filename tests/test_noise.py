"""The AR(1) stationary variance of a weight whose gradient is pure noise."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl


def _within_sampling_error(samples, variance, sigmas=4.0):
    """Sample variance of independent Gaussian draws against ``variance``.

    Var(s²) = 2σ⁴/(N − 1) for N independent normal values.
    """
    standard_error = variance * np.sqrt(2.0 / (samples.size - 1))
    return abs(samples.var(ddof=1) - variance) < sigmas * standard_error


@pytest.mark.parametrize(("a", "sigma2"), [(0.05, 1.0), (0.01, 0.3), (0.5, 2.0), (1.5, 1.0)])
def test_stationary_variance_matches_independent_simulated_chains(a, sigma2):
    # After 30/a steps from 0 each chain has forgotten its start ((1 − a)^{60/a} ≈ e^{-60}).
    steps = int(np.ceil(30 / min(a, 2 - a)))
    final = dl.simulate_ar1(a, sigma2, steps, chains=4000, seed=11)[-1]
    assert _within_sampling_error(final, dl.ar1_stationary_variance(a, sigma2))


def test_a_single_long_chain_matches_with_its_autocorrelation():
    # Var of the sample variance of a Gaussian AR(1) with φ = 1 − a: (2V²/N)(1 + φ²)/(1 − φ²).
    a, sigma2, steps = 0.1, 1.0, 200_000
    path = dl.simulate_ar1(a, sigma2, steps, seed=5)[1000:, 0]
    variance = dl.ar1_stationary_variance(a, sigma2)
    phi = 1.0 - a
    standard_error = variance * np.sqrt(2.0 / path.size * (1 + phi**2) / (1 - phi**2))
    assert abs(path.var() - variance) < 4 * standard_error


def test_a_noise_only_run_of_eq_93_reaches_the_predicted_spread():
    # Every weight of a network takes eq. 93 steps whose gradient is the sum of m per-example
    # noise terms of variance s²; the weights are independent AR(1) chains.
    eta, lmbda, n, batch_size, s2 = 0.5, 5.0, 100, 10, 4.0
    net = dl.Network([40, 50], seed=0)
    net.params[...] = 0.0
    rng = np.random.default_rng(1)
    multiplier = 1.0 - eta * lmbda / n
    for _ in range(1200):  # 30 relaxation times n/(ηλ) = 40 steps
        per_example = rng.normal(0.0, np.sqrt(s2), (batch_size, net.params.size))
        dl.sgd_step(net, per_example.sum(axis=0), multiplier=multiplier, eta=eta,
                    batch_length=batch_size)  # fmt: skip
    predicted = dl.noise_equilibrium(eta, lmbda, n, batch_size, s2).variance
    assert _within_sampling_error(net.weights_flat, predicted)


def test_the_biases_of_a_noise_only_run_are_not_held_back():
    # Without decay the biases random-walk: their spread grows far past the weights'.
    eta, lmbda, n, batch_size = 0.5, 5.0, 100, 10
    net = dl.Network([2, 400], seed=0)
    net.params[...] = 0.0
    rng = np.random.default_rng(2)
    for _ in range(800):
        grad = rng.normal(0.0, np.sqrt(batch_size), net.params.size)
        dl.sgd_step(net, grad, multiplier=1.0 - eta * lmbda / n, eta=eta, batch_length=batch_size)
    assert net.biases[0].var() > 5 * net.weights[0].var()


@pytest.mark.parametrize(
    ("eta", "lmbda", "n", "batch_size", "s2"),
    [(0.5, 5.0, 1000, 10, 1.0), (0.1, 5.0, 50000, 10, 0.3), (3.0, 1.0, 10, 2, 2.0)],
)
def test_noise_equilibrium_uses_a_and_sigma2_of_eq_93(eta, lmbda, n, batch_size, s2):
    result = dl.noise_equilibrium(eta, lmbda, n, batch_size, s2)
    a, sigma2 = eta * lmbda / n, eta**2 * s2 / batch_size
    assert result.a == pytest.approx(a)
    assert result.sigma2 == pytest.approx(sigma2)
    assert result.variance == pytest.approx(sigma2 / (2 * a - a * a))
    assert result.rms == pytest.approx(np.sqrt(sigma2 / (2 * a - a * a)))
    assert result.relaxation_steps == pytest.approx(n / (eta * lmbda))
    assert result.relaxation_epochs == pytest.approx(batch_size / (eta * lmbda))


def test_stationary_variance_is_vectorised():
    a = np.array([0.01, 0.1, 1.0])
    np.testing.assert_allclose(dl.ar1_stationary_variance(a, 2.0), 2.0 / (2 * a - a * a))


def test_simulation_is_reproducible_from_its_seed():
    first = dl.simulate_ar1(0.1, 1.0, 50, chains=3, seed=4)
    np.testing.assert_array_equal(first, dl.simulate_ar1(0.1, 1.0, 50, chains=3, seed=4))
    assert not np.array_equal(first, dl.simulate_ar1(0.1, 1.0, 50, chains=3, seed=5))


def test_simulation_starts_from_the_initial_value():
    path = dl.simulate_ar1(0.2, 0.0, 3, chains=2, initial=1.0, seed=0)
    np.testing.assert_allclose(path[:, 0], [1.0, 0.8, 0.64, 0.512])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: dl.ar1_stationary_variance(0.0, 1.0), ValueError, "a="),
        (lambda: dl.ar1_stationary_variance(2.0, 1.0), ValueError, "a="),
        (lambda: dl.ar1_stationary_variance(0.1, -1.0), ValueError, "sigma2"),
        (lambda: dl.noise_equilibrium(0.5, 0.0, 100, 10, 1.0), ValueError, "lmbda"),
        (lambda: dl.noise_equilibrium(0.5, 5.0, 100, 200, 1.0), ValueError, "batch_size"),
        (lambda: dl.noise_equilibrium(0.5, 5.0, 100, 10, -1.0), ValueError, "s2"),
        (lambda: dl.noise_equilibrium(50.0, 5.0, 100, 10, 1.0), ValueError, "eta"),
        (lambda: dl.simulate_ar1(0.1, 1.0, 0, seed=0), ValueError, "steps"),
        (lambda: dl.simulate_ar1(0.1, 1.0, 10, chains=2.0, seed=0), TypeError, "chains"),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
