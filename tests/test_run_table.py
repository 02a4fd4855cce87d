"""run_table: conditions × seeds run and measured into a tidy table."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl
from decaylab.experiments.runs import RunSpec, run_one, run_table
from small_data import small_digits

CONDITIONS = {
    "λ = 0": RunSpec((64, 6, 10), "scaled", 0, 2, 10, 0.5, 0.0),
    "λ = 5": RunSpec((64, 6, 10), "scaled", 0, 2, 10, 0.5, 5.0),
    "AdamW": RunSpec((64, 6, 10), "scaled", 0, 2, 10, 0.003, 50.0, rule="adamw"),
}


@pytest.fixture(scope="module")
def table():
    measure = {"final_norm": lambda o: o.history.weights.total.norm[-1]}
    return run_table(CONDITIONS, [3, 4], small_digits(100, 50), measure)


def test_rows_are_one_per_condition_and_seed_in_order(table):
    assert [(r["condition"], r["seed"]) for r in table.rows] == [
        (label, seed) for label in CONDITIONS for seed in (3, 4)
    ]


@pytest.mark.parametrize("c, label", list(enumerate(CONDITIONS)))
def test_a_column_holds_each_runs_measurement(table, c, label):
    from dataclasses import replace

    data = small_digits(100, 50)
    # Each run alone, by hand.
    expected = [
        run_one(replace(CONDITIONS[label], seed=s), data).history.weights.total.norm[-1]
        for s in (3, 4)
    ]
    np.testing.assert_allclose(table.column("final_norm")[c], expected, rtol=1e-10)


def test_a_rule_in_the_spec_trains_under_that_rule():
    data = small_digits(100, 50)
    outcome = run_one(replace_seed(CONDITIONS["AdamW"], 1), data)
    net_rng, order_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(1).spawn(2))
    net = dl.Network([64, 6, 10], init="scaled", seed=net_rng)
    dl.train(
        net,
        data.train,
        epochs=2,
        batch_size=10,
        eta=0.003,
        lmbda=50.0,
        optimizer="adamw",
        evaluation=data.validation,
        seed=order_rng,
        training_metrics=False,
    )
    norm = np.sqrt(sum(float(np.sum(w**2)) for w in net.weights))
    assert outcome.history.weights.total.norm[-1] == pytest.approx(norm, rel=1e-12)


def replace_seed(spec, seed):
    from dataclasses import replace

    return replace(spec, seed=seed)


def test_short_runs_are_padded_with_nan():
    from decaylab.experiments.runs import RunTable

    table = RunTable(["a"], [0, 1], [{"x": [1.0, 2.0]}, {"x": [1.0]}], [])
    np.testing.assert_array_equal(
        table.column("x", shape=(3,)), [[[1, 2, np.nan], [1, np.nan, np.nan]]]
    )
