"""Backpropagation against central finite differences of the summed per-example cost.

The cost used for the finite differences is written here from its definition,
with its own forward pass over the batch; it shares no code with decaylab.
"""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl
from reference import example_gradient, one_hot

ACTIVATIONS = ["sigmoid", "tanh", "relu"]
COSTS = ["cross_entropy", "quadratic"]
SIZES = [4, 6, 5, 3]  # three weight layers, so the backward recursion is used twice
STEP = 1e-6  # central differences: truncation ~ STEP², rounding ~ 1e-16/STEP
KINK_MARGIN = 1e-3  # relu: no pre-activation closer to 0 than this (≫ STEP · |x|)


def _split(flat, sizes):
    """Weights (sizes[l+1], sizes[l]) then biases, in the order of Network.params."""
    weights, biases, start = [], [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        weights.append(flat[start : start + n_in * n_out].reshape(n_out, n_in))
        start += n_in * n_out
    for n_out in sizes[1:]:
        biases.append(flat[start : start + n_out])
        start += n_out
    assert start == flat.size
    return weights, biases


def _hidden(z, activation):
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if activation == "tanh":
        return np.tanh(z)
    return np.maximum(z, 0.0)


def _pre_activations(flat, sizes, X, activation):
    weights, biases = _split(flat, sizes)
    a, zs = X, []
    for l, (w, b) in enumerate(zip(weights, biases)):
        z = a @ w.T + b
        zs.append(z)
        a = 1.0 / (1.0 + np.exp(-z)) if l == len(weights) - 1 else _hidden(z, activation)
    return zs, a


def summed_cost(flat, sizes, X, targets, activation, cost):
    """Σ_x C_x with the cost written from its definition."""
    a = _pre_activations(flat, sizes, X, activation)[1]
    if cost == "cross_entropy":
        return -np.sum(targets * np.log(a) + (1.0 - targets) * np.log(1.0 - a))
    return 0.5 * np.sum((a - targets) ** 2)


def finite_difference_gradient(flat, sizes, X, targets, activation, cost):
    grad = np.empty_like(flat)
    for i in range(flat.size):
        up, down = flat.copy(), flat.copy()
        up[i] += STEP
        down[i] -= STEP
        grad[i] = (
            summed_cost(up, sizes, X, targets, activation, cost)
            - summed_cost(down, sizes, X, targets, activation, cost)
        ) / (2 * STEP)
    return grad


def _problem(activation, cost, seed=1, m=7):
    net = dl.Network(SIZES, init="scaled", activation=activation, cost=cost, seed=seed)
    rng = np.random.default_rng(100 + seed)
    X = rng.uniform(-1.0, 1.0, (m, SIZES[0]))
    labels = rng.integers(0, SIZES[-1], m)
    return net, X, labels, one_hot(labels, SIZES[-1])


@pytest.mark.parametrize("cost", COSTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_matches_finite_differences(activation, cost):
    net, X, labels, targets = _problem(activation, cost)
    flat = net.params.copy()
    zs = _pre_activations(flat, SIZES, X, activation)[0]
    # Away from relu's kink the cost is smooth within ±STEP of every parameter.
    assert min(np.abs(z).min() for z in zs[:-1]) > KINK_MARGIN
    expected = finite_difference_gradient(flat, SIZES, X, targets, activation, cost)
    np.testing.assert_allclose(net.gradient(X, labels), expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("cost", COSTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_reference_gradient_matches_finite_differences(activation, cost):
    # The reference loop that the training tests trust is itself checked here.
    net, X, labels, targets = _problem(activation, cost, seed=2, m=1)
    weights, biases = _split(net.params.copy(), SIZES)
    gw, gb = example_gradient(weights, biases, X[0], targets[0], activation, cost)
    expected = finite_difference_gradient(net.params.copy(), SIZES, X, targets, activation, cost)
    np.testing.assert_allclose(
        np.concatenate([g.ravel() for g in gw + gb]), expected, rtol=1e-6, atol=1e-8
    )


def test_gradient_is_a_sum_over_the_batch_not_a_mean():
    net, X, labels, targets = _problem("sigmoid", "cross_entropy", m=5)
    doubled = net.gradient(np.concatenate([X, X]), np.concatenate([labels, labels]))
    np.testing.assert_allclose(doubled, 2.0 * net.gradient(X, labels), rtol=1e-13, atol=1e-15)


def test_unflatten_follows_the_params_layout():
    net = dl.Network(SIZES, seed=0)
    weights, biases = net.unflatten(net.params)
    expected_w, expected_b = _split(net.params, SIZES)
    assert [w.shape for w in weights] == [w.shape for w in expected_w]
    assert all(np.array_equal(a, b) for a, b in zip(weights + biases, expected_w + expected_b))
    assert all(np.array_equal(a, b) for a, b in zip(weights, net.weights))


def test_unflatten_rejects_a_vector_of_the_wrong_length():
    net = dl.Network(SIZES, seed=0)
    with pytest.raises(ValueError, match="flat has shape"):
        net.unflatten(np.zeros(net.params.size + 1))


def test_gradient_per_layer_matches_reference_loop():
    net, X, labels, targets = _problem("tanh", "quadratic", m=6)
    weights, biases = _split(net.params.copy(), SIZES)
    grad_w, grad_b = net.unflatten(net.gradient(X, labels))
    for x, t in zip(X, targets):
        gw, gb = example_gradient(weights, biases, x, t, "tanh", "quadratic")
        grad_w = [g - e for g, e in zip(grad_w, gw)]
        grad_b = [g - e for g, e in zip(grad_b, gb)]
    assert max(np.abs(g).max() for g in grad_w + grad_b) < 1e-13


def test_one_hot_targets_give_the_same_gradient_as_labels():
    net, X, labels, targets = _problem("relu", "cross_entropy")
    assert np.array_equal(net.gradient(X, targets), net.gradient(X, labels))


def test_gradient_leaves_the_parameters_unchanged():
    net, X, labels, _ = _problem("sigmoid", "quadratic")
    before = net.params.copy()
    net.gradient(X, labels)
    assert np.array_equal(net.params, before)


def test_gradient_returns_a_new_array_each_call():
    net, X, labels, _ = _problem("sigmoid", "cross_entropy")
    first = net.gradient(X, labels)
    kept = first.copy()
    net.gradient(X[:3], labels[:3])
    assert np.array_equal(first, kept)


def test_saturated_cross_entropy_gradient_is_finite():
    # Large weights and inputs saturate the sigmoid output to exactly 0 or 1;
    # δ = a − y must stay finite where ln a would not be.
    net = dl.Network([3, 2], seed=0)
    net.weights[0] = np.full((2, 3), 400.0)
    X = np.array([[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]])
    grad = net.gradient(X, np.array([0, 1]))
    assert np.isfinite(grad).all()
    assert np.isfinite(net.evaluate((X, np.array([0, 1])))[0])


def test_float32_gradient_is_close_to_float64():
    net64, X, labels, _ = _problem("tanh", "cross_entropy")
    net32 = dl.Network(SIZES, init="scaled", activation="tanh", seed=1, dtype="float32")
    grad32 = net32.gradient(X, labels)
    assert grad32.dtype == np.float32
    np.testing.assert_allclose(grad32, net64.gradient(X, labels), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cost", COSTS)
def test_single_layer_gradient_matches_finite_differences(cost):
    # One weight layer: the backward recursion is not entered at all.
    sizes = [5, 3]
    net = dl.Network(sizes, init="scaled", cost=cost, seed=4)
    rng = np.random.default_rng(4)
    X, labels = rng.uniform(-1.0, 1.0, (6, 5)), rng.integers(0, 3, 6)
    expected = finite_difference_gradient(
        net.params.copy(), sizes, X, one_hot(labels, 3), "sigmoid", cost
    )
    np.testing.assert_allclose(net.gradient(X, labels), expected, rtol=1e-6, atol=1e-8)
