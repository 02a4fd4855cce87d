"""run_many stacks runs of one shape, rule and stopping rule: each equals its run alone."""

from __future__ import annotations

import concurrent.futures
from dataclasses import replace

import numpy as np
import pytest

from decaylab.experiments.runs import RunSpec, _groups, run_many, run_one
from small_data import small_digits


@pytest.fixture(scope="module")
def small():
    """The first 200 training and 100 validation digits."""
    return small_digits(200, 100)


def _specs(rule, eta, **extra):
    # Seeds, inits, η, λ and conventions all differ; 200 examples at m = 30: a last batch of 20.
    base = RunSpec((64, 6, 10), "scaled", 0, 3, 30, eta, 1.0, rule=rule, **extra)
    return [
        replace(base, seed=1),
        replace(base, seed=2, init="large", lmbda=5.0),
        replace(base, seed=2, eta=eta / 2, decay="mean", lmbda=20.0),
        replace(base, seed=5, lmbda=0.5),
    ]


RULES = [(None, 0.5), ("momentum", 0.2), ("adam", 0.01), ("adamw", 0.01)]


@pytest.mark.parametrize(("rule", "eta"), RULES, ids=["sgd", "momentum", "adam", "adamw"])
def test_stacked_runs_equal_their_runs_alone(rule, eta, small):
    specs = _specs(rule, eta, stationarity=True)
    assert _groups(specs) == [[0, 1, 2, 3]]
    for outcome, spec in zip(run_many(specs, small), specs):
        alone = run_one(spec, small)
        np.testing.assert_allclose(outcome.history.weights.norm, alone.history.weights.norm,
                                   rtol=1e-10)  # fmt: skip
        np.testing.assert_allclose(outcome.history.evaluation_cost, alone.history.evaluation_cost,
                                   rtol=1e-10)  # fmt: skip
        assert outcome.measurements["stationarity_ratio"] == pytest.approx(
            alone.measurements["stationarity_ratio"], rel=1e-8
        )


@pytest.mark.parametrize(("rule", "eta"), [(None, 1.0), ("momentum", 0.5), ("adamw", 0.05)],
                         ids=["sgd", "momentum", "adamw"])  # fmt: skip
def test_stacked_runs_until_equilibrium_stop_where_their_runs_alone_stop(rule, eta, small):
    base = RunSpec((64, 6, 10), "scaled", 0, 120, 10, eta, 10.0, rule=rule, evaluate=False,
                   until_equilibrium=True)  # fmt: skip
    specs = [
        replace(base, seed=1),
        replace(base, seed=2, lmbda=30.0, epochs=60),
        replace(base, seed=3, lmbda=20.0, detection=(("window_relaxations", 4.0),)),
    ]
    assert _groups(specs) == [[0, 1, 2]]
    for outcome, spec in zip(run_many(specs, small), specs):
        alone = run_one(spec, small)
        assert outcome.history.n_epochs == alone.history.n_epochs
        assert outcome.measurements["reached"] == alone.measurements["reached"]
        np.testing.assert_allclose(outcome.history.weights.norm, alone.history.weights.norm,
                                   rtol=1e-10)  # fmt: skip


def test_an_executor_gives_the_serial_outcomes_bit_for_bit(small):
    specs = _specs("momentum", 0.2) + _specs(None, 0.5) + [
        replace(_specs(None, 0.5)[0], monitors=("decomposition",))
    ]  # fmt: skip
    serial = run_many(specs, small)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        parallel = run_many(specs, small, executor=pool)
    for a, b in zip(parallel, serial):
        np.testing.assert_array_equal(a.history.weights.norm, b.history.weights.norm)


def test_monitored_runs_train_alone_and_others_by_shape_rule_and_stopping():
    base = RunSpec((64, 6, 10), "scaled", 0, 3, 30, 0.5, 1.0)
    specs = [
        base,
        replace(base, seed=1),
        replace(base, monitors=("rotation",)),
        replace(base, rule="adam"),
        replace(base, epochs=4),
        replace(base, sizes=(64, 7, 10)),
        replace(base, until_equilibrium=True),
        replace(base, until_equilibrium=True, epochs=9, seed=3),
        replace(base, monitors=("decomposition",), seed=4),
        replace(base, monitors=("decomposition",), lmbda=3.0),
        replace(base, monitors=("decomposition",), rule="momentum"),
        replace(base, monitors=("decomposition",), rule="adamw"),
    ]
    assert sorted(_groups(specs)) == [[0, 1], [2], [3], [4], [5], [6, 7], [8, 9], [10], [11]]


@pytest.mark.parametrize("monitor_from", [0, 5], ids=["every epoch", "from epoch 5"])
@pytest.mark.parametrize(("rule", "eta"), [(None, 1.0), ("adamw", 0.05)], ids=["sgd", "adamw"])
def test_stacked_decomposition_records_equal_those_of_the_runs_alone(rule, eta, monitor_from,
                                                                     small):  # fmt: skip
    # Q3's runs: until equilibrium, each with the decomposition monitor and its measurements;
    # with monitor_from, the first run's rows of epochs 2-5 are NaN both ways.
    base = RunSpec((64, 6, 10), "scaled", 0, 80, 10, eta, 10.0, rule=rule, evaluate=False,
                   until_equilibrium=True, monitors=("decomposition",),
                   gradient_noise=True)  # fmt: skip
    specs = [replace(base, seed=1, monitor_from=monitor_from),
             replace(base, seed=2, lmbda=30.0, init="large")]  # fmt: skip
    noise = run_many(specs, small)[0].history.monitors["decomposition"]["noise"]
    assert np.isnan(noise[1:monitor_from]).all() and np.isfinite(noise[monitor_from:]).all()
    assert np.isfinite(noise[0]).all()
    assert _groups(specs) == [[0, 1]]
    for outcome, spec in zip(run_many(specs, small), specs):
        alone = run_one(spec, small)
        assert outcome.history.n_epochs == alone.history.n_epochs
        record, expected = (
            outcome.history.monitors["decomposition"],
            alone.history.monitors["decomposition"],
        )
        assert sorted(record) == sorted(expected)
        for key in expected:
            np.testing.assert_allclose(record[key], expected[key], rtol=1e-9, err_msg=key)
        assert outcome.measurements["gradient_variance_0"] == pytest.approx(
            alone.measurements["gradient_variance_0"], rel=1e-8
        )


def test_a_failing_group_is_named_through_an_executor(small):
    specs = _specs(None, 0.5)
    bad = [replace(spec, decay="cubic") for spec in specs]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        with pytest.raises(RuntimeError, match=r"4 of 4 runs failed; the first, .*seed=1"):
            run_many(bad, small, executor=pool)


def test_runs_of_a_seed_share_a_stack_when_every_seed_has_two_or_more():
    base = RunSpec((64, 6, 10), "scaled", 0, 3, 30, 0.5, 1.0)
    lambda_scan = [replace(base, seed=s, lmbda=lam) for s in (0, 1) for lam in (1.0, 2.0, 3.0)]
    seed_scan = [replace(base, seed=s) for s in (0, 1, 2)]
    assert sorted(_groups(lambda_scan)) == [[0, 1, 2], [3, 4, 5]]
    assert _groups(seed_scan) == [[0, 1, 2]]
