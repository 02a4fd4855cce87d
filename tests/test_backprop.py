"""The one forward and backward pass, for one network and for K stacked members.

``Backprop(net, m)`` serves a single network and ``Backprop.stacked`` K networks
whose parameters lie on a leading member axis (the ensemble's stack). Both are
checked against the per-example loop of ``tests/reference.py`` (itself checked
against finite differences in test_gradients.py), member by member.
"""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl
from decaylab.network import Backprop
from reference import example_gradient, feedforward, one_hot

SIZES = [5, 6, 4, 3]  # three weight layers: the backward recursion runs twice
M = 8  # buffers for batches of up to 8; the batches below are shorter
ACTIVATIONS = ["sigmoid", "tanh", "relu"]
COSTS = ["cross_entropy", "quadratic"]


def _members(K, activation, cost="cross_entropy"):
    nets = [
        dl.Network(SIZES, init="scaled", activation=activation, cost=cost, seed=s) for s in range(K)
    ]
    # Stacked copies: weights (K, o, i) and biases (K, o), as the ensemble lays them out.
    weights = [np.stack([net.weights[l] for net in nets]) for l in range(len(SIZES) - 1)]
    biases = [np.stack([net.biases[l] for net in nets]) for l in range(len(SIZES) - 1)]
    backprop = Backprop.stacked(
        weights, biases, M, activation=nets[0].activation, cost_function=nets[0].cost_function
    )
    return nets, backprop


def _batch(n=5, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, SIZES[-1], n)
    return rng.uniform(-1.0, 1.0, (n, SIZES[0])), one_hot(labels, SIZES[-1])


def _reference_gradients(nets, X, targets, activation, cost):
    """Σ_x ∂C_x/∂θ of every member by the per-example loop: weights then biases per layer,
    each stacked over the members, (K, o, i) and (K, o)."""
    per_member = []
    for net in nets:
        weights, biases = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
        sums = [np.zeros_like(p) for p in weights + biases]
        for x, t in zip(X, targets):
            gw, gb = example_gradient(weights, biases, x, t, activation, cost)
            sums = [s + g for s, g in zip(sums, gw + gb)]
        per_member.append(sums)
    return [np.stack(layer) for layer in zip(*per_member)]


@pytest.mark.parametrize("K", [1, 3])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_outputs_of_every_member_match_the_per_example_forward_pass(K, activation):
    nets, backprop = _members(K, activation)
    X, _ = _batch()
    expected = np.array(
        [[feedforward(list(net.weights), list(net.biases), x, activation)[1][-1] for net in nets]
         for x in X]
    )  # fmt: skip
    # Wide rows: member k's outputs are columns k·3 .. k·3 + 2 of each example's row.
    outputs = backprop.feedforward(X).a[-1].reshape(len(X), K, SIZES[-1])
    np.testing.assert_allclose(outputs, expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("K", [1, 3])
@pytest.mark.parametrize("cost", COSTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradients_of_every_member_match_the_per_example_loop(K, activation, cost):
    nets, backprop = _members(K, activation, cost)
    X, targets = _batch(seed=K)
    expected = _reference_gradients(nets, X, targets, activation, cost)
    backprop.run(X, targets)
    actual = [*backprop.grad_weights, *backprop.grad_biases]
    assert [a.shape for a in actual] == [e.shape for e in expected]
    np.testing.assert_allclose(
        np.concatenate([a.ravel() for a in actual]),
        np.concatenate([e.ravel() for e in expected]),
        rtol=1e-12,
        atol=1e-14,
    )


@pytest.mark.parametrize(("K", "shape"), [(1, (1, 1)), (3, (3, 1, 1))])
def test_output_scale_multiplies_each_members_gradient(K, shape):
    nets, backprop = _members(K, "sigmoid")
    X, targets = _batch(seed=7)
    scales = np.array([0.5, -2.0, 3.0][:K])
    expected = _reference_gradients(nets, X, targets, "sigmoid", "cross_entropy")
    backprop.run(X, targets, scales.reshape(shape))
    actual = [*backprop.grad_weights, *backprop.grad_biases]
    np.testing.assert_allclose(
        np.concatenate([a.ravel() for a in actual]),
        np.concatenate(
            [(e * scales.reshape((K,) + (1,) * (e.ndim - 1))).ravel() for e in expected]
        ),  # fmt: skip
        rtol=1e-12,
        atol=1e-14,
    )


def test_single_network_factors_give_its_gradient_by_the_per_example_loop():
    (net,), _ = _members(1, "tanh", "quadratic")
    X, targets = _batch(seed=3)
    expected = _reference_gradients([net], X, targets, "tanh", "quadratic")
    factors = Backprop(net, M).run(X, targets).factors()
    formed = [d.T @ a for d, a in factors] + [d.sum(axis=0) for d, _ in factors]
    np.testing.assert_allclose(
        np.concatenate([f.ravel() for f in formed]),
        np.concatenate([e.ravel() for e in expected]),
        rtol=1e-12,
        atol=1e-14,
    )
