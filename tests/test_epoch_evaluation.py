"""Runs evaluated at chosen epochs only: the same numbers as a run evaluated every epoch.

The reference trains each network alone with :func:`decaylab.train`, evaluating
every epoch, from the documented seed streams, and takes the data cost C₀ as
the recorded cost less the penalty (λ/2n)·Σ‖w_l‖², written out here.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import decaylab as dl
from decaylab.experiments.q6_widths import scan_widths
from decaylab.experiments.runs import RunSpec, run_many
from small_data import small_digits

EPOCHS = (0, 2, 3)
SPEC = RunSpec((64, 6, 10), "large", 0, 3, 10, 0.5, 2.0, evaluate_epochs=EPOCHS)


@pytest.fixture(scope="module")
def data():
    return small_digits(60, 30)


def _every_epoch(spec, data):
    """(C₀, accuracy) at every epoch of the run trained alone, evaluated each epoch."""
    net_stream, order_stream = np.random.SeedSequence(spec.seed).spawn(2)
    net = dl.Network(spec.sizes, init=spec.init, seed=np.random.default_rng(net_stream))
    h = dl.train(
        net, data.train, epochs=spec.epochs, batch_size=spec.batch_size, eta=spec.eta,
        lmbda=spec.lmbda, evaluation=data.validation, seed=np.random.default_rng(order_stream),
        optimizer=spec.rule,
    )  # fmt: skip
    penalty = spec.lmbda / (2 * data.train.n) * (np.asarray(h.weights.norm) ** 2).sum(axis=1)
    return np.asarray(h.evaluation_cost) - penalty, np.asarray(h.evaluation_accuracy)


# Stacked (two λ of one seed; two seeds), alone (one run), alone under a rule with no
# stacked observer (momentum).
CASES = {
    "stacked by seed": [SPEC, replace(SPEC, lmbda=8.0)],
    "stacked across seeds": [SPEC, replace(SPEC, seed=1)],
    "alone": [SPEC],
    "momentum": [replace(SPEC, rule="momentum"), replace(SPEC, rule="momentum", lmbda=8.0)],
}


@pytest.mark.parametrize("case", list(CASES))
def test_evaluation_at_chosen_epochs_equals_the_every_epoch_evaluation(case, data):
    specs = CASES[case]
    for outcome in run_many(specs, data):
        record = outcome.history.monitors["evaluation"]
        cost, accuracy = _every_epoch(outcome.spec, data)
        assert record["epoch"].tolist() == list(EPOCHS)
        np.testing.assert_allclose(record["cost"], cost[list(EPOCHS)], rtol=1e-10)
        np.testing.assert_array_equal(record["accuracy"], accuracy[list(EPOCHS)])


def test_a_run_evaluated_at_chosen_epochs_has_no_every_epoch_evaluation(data):
    (outcome,) = run_many([SPEC], data)
    assert outcome.history.evaluation_cost is None


def test_q6_width_scan_equals_its_runs_evaluated_every_epoch(data):
    settings = dict(init="large", eta=0.5, batch_size=10, epochs=3, average_epochs=2,
                    tolerance=0.01, rise=0.1, confidence=0.95)  # fmt: skip
    grids = {"sum": np.array([0.5, 4.0]), "mean": np.array([100.0, 800.0])}
    fields = scan_widths(data, widths=(4, 6), grids=grids, seeds=(0, 1), settings=settings)
    expected = np.array([
        [[_every_epoch(RunSpec((64, h, 10), "large", s, 3, 10, 0.5, lam, "sum"), data)[0][-2:]
          .mean() for lam in grids["sum"]] for s in (0, 1)]
        for h in (4, 6)
    ])  # fmt: skip
    np.testing.assert_allclose(fields["cost"]["sum"], expected, rtol=1e-10)


def test_q5_final_accuracy_equals_its_runs_evaluated_every_epoch(data):
    record = dl.layer_movement(
        [data], hidden=6, lmbdas=(0.5, 5.0), reference_n=data.train.n, epochs=3, seeds=2,
        mnist=None,
    )  # fmt: skip
    expected = [
        np.mean([_every_epoch(RunSpec((64, 6, 10), "large", s, 3, 10, 0.5, lam), data)[1][-1]
                 for s in (0, 1)])
        for lam in (0.5, 5.0)
    ]  # fmt: skip
    assert [e.mean for e in record.final_accuracy] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("together", [1, 2])
def test_a_run_until_equilibrium_in_chunks_is_evaluated_once_at_each_chosen_epoch(together, data):
    # τ = m/(ηλ) = 1 epoch: the run is tested (and continued) in chunks of an epoch or two.
    spec = RunSpec((64, 6, 10), "large", 0, 12, 10, 1.0, 10.0, until_equilibrium=True,
                   evaluate_epochs=(0, 4, 7, 12))  # fmt: skip
    outcome = run_many([spec, replace(spec, seed=1)][:together], data)[0]
    trained = outcome.history.n_epochs
    chosen = [e for e in (0, 4, 7, 12) if e <= trained]
    record = outcome.history.monitors["evaluation"]
    cost, accuracy = _every_epoch(replace(spec, epochs=trained), data)
    assert trained > 7 and record["epoch"].tolist() == chosen
    np.testing.assert_allclose(record["cost"], cost[chosen], rtol=1e-10)
