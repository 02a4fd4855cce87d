"""The ‖w‖² budget at equilibrium and the per-example gradient variance."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import decaylab as dl
from decaylab.dynamics.budget import equilibrium_budget
from decaylab.dynamics.noise import gradient_variance
from decaylab.experiments.adaptive import train_until_equilibrium


@pytest.fixture(scope="module")
def settled(digits):
    """A small network trained with the decomposition monitor until its equilibrium."""
    train = dl.Split(digits.train.X[:400], digits.train.y[:400])
    net = dl.Network([64, 16, 10], init="large", seed=1)
    run = train_until_equilibrium(
        net, train, batch_size=10, eta=1.0, lmbda=8.0, seed=1,
        monitors=[dl.DecompositionMonitor()],
    )  # fmt: skip
    assert run.reached
    return net, train, run


def test_budget_closes_within_its_standard_error_at_equilibrium(settled):
    _, _, run = settled
    budget = equilibrium_budget(run.history, run.equilibrium)
    assert np.all(np.abs(budget.closure - 1.0) <= 3 * budget.closure_se)
    assert np.all(np.abs(budget.imbalance) <= 3 * budget.imbalance_se)


def test_mean_imbalance_is_the_net_change_of_the_squared_norm(settled):
    # The epoch terms add up to ‖w_E‖² − ‖w_b‖² (the decomposition's exact budget).
    _, _, run = settled
    budget = equilibrium_budget(run.history, run.equilibrium)
    squared = run.history.weights.norm**2
    b = run.equilibrium.epoch
    change = (squared[-1] - squared[b]) / (len(squared) - 1 - b)
    np.testing.assert_allclose(budget.imbalance[:-1], change, rtol=1e-6, atol=1e-9)


def test_implied_norm_is_the_sum_of_its_radial_and_noise_parts(settled):
    _, _, run = settled
    budget = equilibrium_budget(run.history, run.equilibrium)
    np.testing.assert_allclose(budget.implied, budget.implied_radial + budget.implied_noise)
    # …and, the budget closing, it is the measured ‖w‖² to within a few per cent.
    np.testing.assert_allclose(budget.implied, budget.norm_squared, rtol=0.05)


def test_pooled_entry_sums_the_layers(settled):
    _, _, run = settled
    budget = equilibrium_budget(run.history, run.equilibrium)
    for name in ("contraction", "radial", "noise", "norm_squared"):
        values = getattr(budget, name)
        assert values[-1] == pytest.approx(values[:-1].sum())


def test_radial_part_is_close_to_the_stationarity_prediction(settled):
    # The mean radial push is the full-batch one: (n/λ)(−w·∇C₀) at equilibrium (to the
    # fluctuation of w over the window, a few per cent).
    net, train, run = settled
    prediction = dl.stationarity(net, train, 8.0).predicted
    budget = equilibrium_budget(run.history, run.equilibrium, stationarity_prediction=prediction)
    np.testing.assert_allclose(budget.stationarity[:-1], prediction)
    np.testing.assert_allclose(budget.implied_radial, budget.stationarity, rtol=0.25)


def test_ar1_noise_part_uses_the_measured_gradient_variance(settled):
    net, train, run = settled
    variance = gradient_variance(net, train)
    budget = equilibrium_budget(run.history, run.equilibrium, gradient_variance=variance)
    eta, lmbda, n, m = 1.0, 8.0, 400, 10
    a = eta * lmbda / n
    expected = eta**2 * variance / m * (n - m) / (n - 1) / (2 * a - a**2)
    np.testing.assert_allclose(budget.ar1_noise[:-1], expected, rtol=1e-12)
    # The noise term is the AR(1) part plus the mean gradient's own square: never below it
    # by more than the window's fluctuation.
    assert np.all(budget.implied_noise > 0.7 * budget.ar1_noise)


def test_budget_refuses_a_run_that_has_not_settled(digits):
    net = dl.Network([64, 8, 10], init="large", seed=0)
    history = dl.train(net, digits.train, epochs=3, batch_size=10, eta=0.5, lmbda=5.0, seed=0,
                       monitors=[dl.DecompositionMonitor()], training_metrics=False)  # fmt: skip
    with pytest.raises(ValueError, match="not reached"):
        equilibrium_budget(history)


def test_budget_needs_the_decomposition_record(settled, digits):
    net = dl.Network([64, 8, 10], init="large", seed=0)
    history = dl.train(net, digits.train, epochs=2, batch_size=10, eta=0.5, lmbda=5.0, seed=0,
                       training_metrics=False)  # fmt: skip
    with pytest.raises(ValueError, match="decomposition"):
        equilibrium_budget(history)


def test_gradient_variance_predicts_the_spread_of_every_batch_mean(make_problem):
    # Over all C(8, 3) batches drawn without replacement, the batch-mean gradient has
    # covariance trace s²(n − m)/(m(n − 1)); the batch gradients come from Network.gradient.
    X, y = make_problem(4, 3, 8, seed=5)
    net = dl.Network([4, 5, 3], seed=5)
    n, m = 8, 3
    means = []
    for batch in itertools.combinations(range(n), m):
        weights, _ = net.unflatten(net.gradient(X[list(batch)], y[list(batch)]) / m)
        means.append(weights)
    expected = [
        np.mean([np.sum((g[l] - np.mean([h[l] for h in means], axis=0)) ** 2) for g in means])
        for l in range(2)
    ]
    variance = gradient_variance(net, (X, y))
    np.testing.assert_allclose(variance * (n - m) / (m * (n - 1)), expected, rtol=1e-10)


def test_gradient_variance_needs_a_network(make_problem):
    X, y = make_problem(4, 3, 8, seed=5)
    with pytest.raises(TypeError, match="net"):
        gradient_variance("network", (X, y))


def test_budget_names_a_prediction_of_the_wrong_shape(settled):
    _, _, run = settled
    with pytest.raises(ValueError, match="stationarity_prediction"):
        equilibrium_budget(
            run.history, run.equilibrium, stationarity_prediction=[1.0, 2.0, 3.0, 4.0]
        )


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_budget_refuses_rules_whose_decay_is_not_a_multiplication(digits, optimizer):
    net = dl.Network([64, 8, 10], init="large", seed=0)
    history = dl.train(
        net, digits.train, epochs=2, batch_size=50, eta=0.01, lmbda=5.0, seed=0,
        optimizer=optimizer, monitors=[dl.DecompositionMonitor()],
    )  # fmt: skip
    with pytest.raises(ValueError, match=f"optimizer '{optimizer}'"):
        equilibrium_budget(history)
