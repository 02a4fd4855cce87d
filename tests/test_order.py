"""train(..., order=...): an explicit example order instead of shuffling."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl

SIZES = [5, 4, 3]
N = 23
OPTIONS = dict(batch_size=5, eta=0.5, lmbda=2.0, training_metrics=False)


def _data():
    rng = np.random.default_rng(1)
    return rng.normal(size=(N, SIZES[0])), rng.integers(0, SIZES[-1], size=N)


def _shuffled_run(epochs=3):
    net = dl.Network(SIZES, seed=0)
    dl.train(net, _data(), epochs=epochs, seed=np.random.default_rng(4), **OPTIONS)
    return net.params


def _permutations(epochs=3):
    # The permutations train draws from the same generator, one per epoch.
    rng = np.random.default_rng(4)
    return [rng.permutation(N) for _ in range(epochs)]


@pytest.mark.parametrize(
    "make",
    [
        lambda p: p,
        lambda p: iter(p),
        lambda p: lambda epoch: p[epoch - 1],
        lambda p: [list(x) for x in p] + [np.arange(N)],
    ],
    ids=["list", "iterator", "callable", "longer list of lists"],
)
def test_given_order_is_the_run_shuffled_in_that_order(make):
    net = dl.Network(SIZES, seed=0)
    history = dl.train(net, _data(), epochs=3, order=make(_permutations()), **OPTIONS)
    np.testing.assert_array_equal(net.params, _shuffled_run())
    assert history.settings["order"] == "given" and history.settings["shuffle"] is False


def test_identity_order_is_no_shuffle():
    a, b = dl.Network(SIZES, seed=0), dl.Network(SIZES, seed=0)
    dl.train(a, _data(), epochs=2, shuffle=False, **OPTIONS)
    dl.train(b, _data(), epochs=2, order=[np.arange(N)] * 2, **OPTIONS)
    np.testing.assert_array_equal(a.params, b.params)


@pytest.mark.parametrize(
    "order, error, match",
    [
        ([np.arange(N), np.r_[0, np.arange(N - 1)]], ValueError, r"epoch 2 is not a permutation"),
        ([np.arange(N), np.arange(N)[::-1] + 1], ValueError, r"epoch 2 is not a permutation"),
        ([np.arange(N - 1)] * 2, ValueError, r"shape \(22,\); expected integers of shape \(23,\)"),
        ([np.arange(N) * 1.0] * 2, ValueError, "float64"),
        ([np.arange(N)], ValueError, "gives 1 permutations; expected 2"),
        ("abc", TypeError, "order has type str"),
    ],
    ids=["repeated index", "out of range", "short", "floats", "too few", "a string"],
)
def test_a_wrong_order_is_refused_before_training(order, error, match):
    net = dl.Network(SIZES, seed=0)
    before = net.params.copy()
    with pytest.raises(error, match=match):
        dl.train(net, _data(), epochs=2, order=order, **OPTIONS)
    np.testing.assert_array_equal(net.params, before)
