"""Question 6 across training-set sizes (claim 12): λ* on real MNIST, its slope and the two rules.

Reference values: slopes of synthetic λ* (numpy arithmetic), losses read off
curves quadratic in log λ by hand, and the validation cost of one run trained
here with run_one on the same seed, size and λ.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import decaylab as dl
from decaylab.experiments.q6_data_size import RULES, carried_loss
from decaylab.experiments.q6_verdicts import (
    convention_verdict,
    data_size_claim,
    slope_preference,
    transfer_preference,
)
from decaylab.experiments.runs import RunSpec, run_one

PROPORTIONAL, FIXED = RULES


@pytest.fixture(scope="module")
def mnist():
    return dl.load_mnist()


#: A small Q6: two widths, three sizes n, four λ of the scan across n, two seeds.
SMALL = dict(
    widths=(4, 8),
    sum_lmbdas=(0.5, 2.0, 8.0),
    mean_lmbdas=(150.0, 600.0, 2400.0),
    epochs=2,
    average_epochs=2,
    ns=(100, 200, 400),
    transfer_hidden=8,
    transfer_lmbdas=(0.1, 1.0, 10.0, 100.0),
    seeds=2,
)


@pytest.fixture(scope="module")
def record(digits):
    return dl.convention_transfer(digits, **SMALL, transfer_epochs=3)


def _fit(slope, spread=0.02):
    x = np.array([250, 250, 1000, 1000, 4000, 4000], dtype=float)
    noise = 1 + spread * np.array([1, -1, -0.5, 0.5, 1, -1])
    return dl.fit_power_law(x, x**slope * noise, hypotheses=(1.0, 0.0))


def _worst(proportional, fixed):
    return {PROPORTIONAL: proportional, FIXED: fixed}


# ----------------------------------------------------------------------------- the verdict


@pytest.mark.parametrize(
    "slope, preferred",
    [(1.0, PROPORTIONAL), (0.0, FIXED), (0.7, PROPORTIONAL), (0.3, FIXED), (0.5, None)],
)
def test_slope_favours_the_rule_nearer_lambda_star(slope, preferred):
    assert slope_preference(_fit(slope)) == preferred


def test_a_slope_interval_admitting_both_slopes_favours_neither():
    assert slope_preference(_fit(0.5, spread=0.9)) is None


@pytest.mark.parametrize(
    "worst, preferred",
    [
        (_worst(0.01, 0.05), PROPORTIONAL),
        (_worst(0.05, 0.01), FIXED),
        (_worst(0.02, 0.025), None),
        (_worst(float("nan"), 0.01), None),
    ],
)
def test_transfer_prefers_the_rule_that_loses_less_by_the_margin(worst, preferred):
    assert transfer_preference(worst, loss_margin=0.01) == preferred


@pytest.mark.parametrize(
    "slope, worst, word",
    [
        (1.0, _worst(0.01, 0.05), "holds"),
        (1.0, _worst(0.02, 0.025), "holds"),  # transfer within the margin: the slope decides
        (1.0, _worst(0.05, 0.01), "undecided"),  # slope: λ ∝ n; transfer: a fixed λ
        (0.0, _worst(0.05, 0.01), "does not hold"),
        (0.0, _worst(0.01, 0.05), "undecided"),  # slope: a fixed λ; transfer: λ ∝ n
        (0.7, _worst(0.01, 0.05), "holds with a qualification"),
        (0.5, _worst(0.01, 0.05), "holds with a qualification"),  # midway: the transfer decides
        (0.5, _worst(0.05, 0.01), "does not hold"),
        (0.5, _worst(0.02, 0.025), "undecided"),  # midway, and the rules lose alike
    ],
)
def test_claim_12_needs_the_slope_and_the_transfer_to_agree(slope, worst, word):
    assert data_size_claim(_fit(slope), worst, loss_margin=0.01) == word


def test_claim_12_is_undecided_when_the_slope_admits_both_rules():
    assert data_size_claim(_fit(0.5, spread=0.9), _worst(0.01, 0.05)) == "undecided"


def test_claim_12_is_undecided_when_a_lambda_star_lies_at_a_grid_end():
    assert data_size_claim(_fit(1.0), _worst(0.01, 0.05), at_grid_end=1) == "undecided"


# ----------------------------------------------------------------------------- the losses


def test_carried_loss_reads_the_curve_between_grid_points_in_log_lambda():
    grid = np.array([0.1, 1.0, 10.0])
    curves = np.array([[0.9, 0.5, 0.7]])
    # Halfway in log λ between 1 (0.5) and 10 (0.7) the curve is 0.6; its least is 0.5.
    got = carried_loss(grid, curves, np.array([math.sqrt(10.0)]), lower=True)
    assert got[0] == pytest.approx(0.1)


def test_carried_accuracy_loss_is_the_best_less_the_carried():
    grid = np.array([0.1, 1.0, 10.0])
    curves = np.array([[0.80, 0.90, 0.70]])
    got = carried_loss(grid, curves, np.array([0.1]), lower=False)
    assert got[0] == pytest.approx(0.10)


def test_carried_loss_outside_the_grid_is_not_measured():
    grid = np.array([0.1, 1.0, 10.0])
    got = carried_loss(grid, np.array([[0.9, 0.5, 0.7]]), np.array([20.0]), lower=True)
    assert math.isnan(got[0])


def test_a_rule_that_follows_lambda_star_loses_nothing_and_the_other_loses_its_miss():
    grid = 2.0 ** np.arange(-8, 2)
    ns = np.array([250, 1000, 4000])
    stars = 0.25 * ns / 4000  # λ* ∝ n: 1/64, 1/16, 1/4, all on the grid
    curves = np.array([(np.log(grid) - np.log(s)) ** 2 for s in stars])
    proportional = carried_loss(grid, curves, stars, lower=True)
    fixed = carried_loss(grid, curves, np.full(3, 0.25), lower=True)
    # Carrying 1/4 to λ* = 1/64 misses by log 16 in log λ: the quadratic gives (log 16)².
    expected = np.log([16.0, 4.0, 1.0]) ** 2
    assert proportional.tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(fixed, expected, atol=1e-12)


# ----------------------------------------------------------------------------- the scan


def test_scan_runs_on_real_mnist_by_default(record):
    assert (record.settings["transfer_data"], record.size_scan.cost.shape) == ("mnist5k", (3, 2, 4))


def test_scan_cost_is_the_validation_data_cost_of_that_run(record, mnist):
    # n = 200 (index 1), seed 1, λ = 10 (index 2), trained here on its own.
    spec = RunSpec((784, 8, 10), "scaled", 1, 3, 10, 0.5, 10.0, n_train=200)
    h = run_one(spec, mnist).history
    penalty = 10.0 / (2 * 200) * (h.weights.norm[-2:] ** 2).sum(axis=1)
    expected = np.mean(h.evaluation_cost[-2:] - penalty)
    assert record.size_scan.cost[1, 1, 2] == pytest.approx(expected, rel=1e-8)


def test_scan_lambda_star_is_the_argmin_of_each_seed(record):
    scan = record.size_scan
    index = np.argmin(scan.cost, axis=2)
    assert [[b.index[k] for k in range(2)] for b in scan.best] == index.tolist()


def test_rules_carry_lambda_star_of_the_largest_n(record):
    scan = record.size_scan
    reference = math.exp(np.mean(np.log(scan.lambda_star[-1])))
    np.testing.assert_allclose(scan.carried(PROPORTIONAL), reference * np.array([0.25, 0.5, 1]))


def test_claim_12_row_shows_numbers_the_section_shows(record):
    section = record.section().markdown(figure="q6.png")
    row = record.claims()[1]
    assert row.number == 12 and row.evidence.replace("*", "\\*") in section


def test_claim_12_row_counts_the_interior_lambda_star(record):
    k, total = int(record.size_scan.interior.sum()), record.size_scan.interior.size
    assert f"{k} of {total} λ* interior" in record.claims()[1].evidence


def test_convention_verdict_names_the_steadier_convention():
    fits = {"sum": dl.fit_power_law([1e3, 1e4, 1e5], [1.0, 1.01, 0.99], hypotheses=(0.0, 1.0))}
    fits["mean"] = dl.fit_power_law([1e3, 1e4, 1e5], [1e3, 1.02e4, 0.98e5], hypotheses=(0.0, 1.0))
    answer = convention_verdict(fits, None, stable_slope=0.1, settings={})
    assert answer.headline.startswith("The sum convention keeps λ* stable")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"transfer_data": "mnist"}, TypeError, "transfer_data"),
        ({"transfer_lmbdas": (0.1, 1.0)}, ValueError, "transfer_lmbdas"),
        ({"ns": (100, 100)}, ValueError, "ns"),
        ({"ns": (250, 8000)}, ValueError, r"ns\[1\]"),
        ({"transfer_epochs": 0}, ValueError, "transfer_epochs"),
    ],
)
def test_bad_scan_settings_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        dl.convention_transfer(**kwargs)


def test_a_checkpoint_reads_the_same_lambda_star_as_a_shorter_scan(record, digits):
    # The record trains 3 epochs; its checkpoint at 2 must match a scan of 2 epochs.
    shorter = dl.convention_transfer(digits, **SMALL, transfer_epochs=2)
    fit, interior = record.size_scan.checkpoints[2]
    assert (fit.exponent, interior) == (
        pytest.approx(shorter.n_fit.exponent, rel=1e-9),
        int(shorter.size_scan.interior.sum()),
    )
