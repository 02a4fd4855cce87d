"""Stacked members trained until equilibrium: each stops where its separate run stops."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl
from decaylab.experiments.adaptive import (
    train_ensemble_until_equilibrium,
    train_until_equilibrium,
)
from decaylab.rules import Adam, AdamW, Momentum
from test_ensemble import _assert_histories_close

# (rule, η): τ = m/(ηλ/n) steps of a few epochs at λ = 10, 20, 40 on 300 examples.
RULES = [
    (None, 1.0),
    (Momentum(0.5), 0.5),
    (Momentum(0.5, nesterov=True), 0.5),
    (Adam(), 0.05),
    (AdamW(), 0.05),
]
LMBDAS = [10.0, 20.0, 40.0]
SEEDS = [3, 4, 5]


@pytest.fixture(scope="module")
def small(digits):
    return dl.Split(digits.train.X[:300], digits.train.y[:300])


def _nets():
    return [dl.Network([64, 12, 10], init=("large", "scaled")[s % 2], seed=s) for s in SEEDS]


def _separate(rule, eta, small, **extra):
    nets, runs = _nets(), []
    for net, lmbda, seed in zip(nets, LMBDAS, SEEDS):
        runs.append(
            train_until_equilibrium(net, small, batch_size=10, eta=eta, lmbda=lmbda, seed=seed,
                                    optimizer=rule, max_epochs=150, **extra)
        )  # fmt: skip
    return nets, runs


@pytest.mark.parametrize(("rule", "eta"), RULES, ids=["sgd", "momentum", "nesterov", "adam",
                                                      "adamw"])  # fmt: skip
def test_each_member_stops_where_its_separate_run_stops(rule, eta, small):
    nets = _nets()
    runs = train_ensemble_until_equilibrium(
        nets, small, batch_size=10, eta=eta, lmbda=LMBDAS, seed=SEEDS, optimizer=rule,
        max_epochs=150,
    )  # fmt: skip
    alone, expected = _separate(rule, eta, small)
    assert [r.epochs for r in runs] == [r.epochs for r in expected]
    assert [r.reached for r in runs] == [r.reached for r in expected]
    for k in range(3):
        _assert_histories_close(runs[k].history, expected[k].history, tol=1e-10)
        np.testing.assert_allclose(nets[k].params, alone[k].params, rtol=1e-10, atol=1e-12)
        assert runs[k].equilibrium.epoch == expected[k].equilibrium.epoch


def test_members_stop_at_different_epochs(small):
    # Otherwise the test above would not show that a stopped member is frozen.
    runs = train_ensemble_until_equilibrium(
        _nets(), small, batch_size=10, eta=1.0, lmbda=LMBDAS, seed=SEEDS, max_epochs=150
    )
    assert len({r.epochs for r in runs}) > 1


def test_per_member_caps_and_minimums_are_those_of_separate_runs(small):
    nets = _nets()
    caps, minimums = [8, 150, 150], [0, 0, 60]
    runs = train_ensemble_until_equilibrium(
        nets, small, batch_size=10, eta=1.0, lmbda=LMBDAS, seed=SEEDS, max_epochs=caps,
        min_epochs=minimums,
    )  # fmt: skip
    expected = []
    for net, lmbda, seed, cap, least in zip(_nets(), LMBDAS, SEEDS, caps, minimums):
        expected.append(
            train_until_equilibrium(net, small, batch_size=10, eta=1.0, lmbda=lmbda, seed=seed,
                                    max_epochs=cap, min_epochs=least)
        )  # fmt: skip
    assert [(r.epochs, r.reached, r.max_epochs) for r in runs] == [
        (r.epochs, r.reached, r.max_epochs) for r in expected
    ]
    assert runs[0].epochs == 8 and runs[2].epochs >= 60


def test_a_diverging_member_is_reported_and_the_others_settle(small):
    nets = _nets()
    runs = train_ensemble_until_equilibrium(
        nets, small, batch_size=10, eta=[1.0, 1e155, 1.0], lmbda=[10.0, 1e-160, 40.0],
        seed=SEEDS, max_epochs=150,
    )  # fmt: skip
    assert runs[1].diverged is not None and not runs[1].reached
    assert runs[1].history.n_epochs == 0
    assert runs[0].reached and runs[2].reached


def test_a_bad_lmbda_is_named(small):
    with pytest.raises(ValueError, match=r"lmbda\[1\]=0.0 must be > 0"):
        train_ensemble_until_equilibrium(_nets(), small, batch_size=10, eta=1.0,
                                         lmbda=[1.0, 0.0, 1.0])  # fmt: skip
