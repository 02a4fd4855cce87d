"""The steps the questions share: settings checked by rule, a table of runs, estimates, fits."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl
from decaylab.experiments.pipeline import (
    checked,
    echo,
    estimates,
    fit_reached,
    per_layer,
    scan_data,
    subtable,
    tabulate,
)
from decaylab.experiments.runs import RunSpec
from small_data import small_digits

RULES = {"eta": "positive", "batch_size": "batch", "lmbdas": "positives?", "seeds": "seeds"}


def test_checked_returns_the_settings_in_the_rules_order_as_checked_values():
    s = checked(small_digits(60, 30), RULES, seeds=2, lmbdas=[1, 2.5], batch_size=10, eta=1)
    assert list(s.items()) == [("eta", 1.0), ("batch_size", 10), ("lmbdas", (1.0, 2.5)),
                               ("seeds", (0, 1))]  # fmt: skip


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ({"eta": -1.0}, "eta"),
        ({"batch_size": 61}, "batch_size"),
        ({"lmbdas": 5.0}, "lmbdas"),
        ({"lmbdas": (1.0, 0.0)}, r"lmbdas\[1\]"),
        ({"seeds": 0}, "seeds"),
    ],
)
def test_checked_names_the_setting_that_breaks_its_rule(given, match):
    settings = {"eta": 0.5, "batch_size": 10, "lmbdas": (), "seeds": 1} | given
    with pytest.raises((ValueError, TypeError), match=match):
        checked(small_digits(60, 30), RULES, **settings)


def test_an_empty_optional_sequence_skips_its_sweep():
    s = checked(small_digits(60, 30), RULES, eta=0.5, batch_size=10, lmbdas=[], seeds=1)
    assert s["lmbdas"] == ()


def test_echo_starts_with_the_data_and_lists_tuples():
    assert echo(small_digits(60, 30), widths=(4, 8), eta=0.5) == {
        "data": "small digits", "n": 60, "widths": [4, 8], "eta": 0.5,
    }  # fmt: skip


SPEC = RunSpec((64, 4, 10), "large", 0, 1, 10, 0.5, 5.0, evaluate=False)


@pytest.fixture(scope="module")
def counted():
    calls = []

    def measure(outcome):
        calls.append(outcome.spec.seed)
        return {"norm": outcome.history.weights.total.norm[-1]}

    other = RunSpec((64, 4, 10), "large", 0, 1, 10, 0.5, 1.0, evaluate=False)
    conditions = [("a", SPEC), ("b", other), ("a again", SPEC)]
    return tabulate(conditions, [3, 4], small_digits(60, 30), measure), calls


def test_tabulate_trains_equal_conditions_once(counted):
    _, calls = counted
    assert sorted(calls) == [3, 3, 4, 4]


def test_tabulate_has_a_row_per_condition_and_seed_equal_conditions_alike(counted):
    table, _ = counted
    assert [(r["condition"], r["seed"]) for r in table.rows] == [
        (c, k) for c in ("a", "b", "a again") for k in (3, 4)
    ]
    norm = table.column("norm")
    np.testing.assert_array_equal(norm[0], norm[2])
    assert not np.array_equal(norm[0], norm[1])


def test_subtable_keeps_the_rows_of_the_labels_asked_in_their_order(counted):
    table, _ = counted
    part = subtable(table, ["b", "a"])
    np.testing.assert_array_equal(part.column("norm"), table.column("norm")[[1, 0]])


def test_estimates_and_per_layer_are_means_and_standard_errors_over_seeds():
    values = np.array([[1.0, 2.0, 6.0], [4.0, np.nan, 4.0]])
    got = estimates(values)
    assert (got[0].mean, got[0].n) == (3.0, 3)
    assert got[0].stderr == pytest.approx(np.sqrt(((1 - 3) ** 2 + 1 + 9) / 2 / 3))
    assert (got[1].mean, got[1].n) == (4.0, 2)
    layered = per_layer(np.stack([values, 2 * values], axis=-1))
    assert [[e.mean for e in row] for row in layered] == [[3.0, 6.0], [4.0, 8.0]]


def test_fit_reached_fits_only_the_runs_that_reached():
    x = np.repeat([100.0, 1000.0, 10000.0], 2)
    y = 3.0 * x**-0.5
    y[1] = 1e6  # a run that did not reach: left out
    reached = np.ones(6, dtype=bool)
    reached[1] = False
    assert fit_reached(x, y, reached).exponent == pytest.approx(-0.5)


@pytest.mark.parametrize("reached", [[1, 1, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0]])
def test_fit_reached_is_none_with_too_few_runs_or_one_size(reached):
    x = np.array([100.0, 100.0, 100.0, 1000.0, 1000.0, 1000.0])
    assert fit_reached(x, x**-0.5, np.array(reached, dtype=bool)) is None


def test_scan_data_is_the_question_data_for_none_and_a_given_dataset_as_itself():
    digits, other = (
        dl.load_digits(),
        dl.make_teacher_student(n=50, n_inputs=4, n_classes=3, n_validation=20, seed=0),
    )
    assert scan_data(None, digits) is digits
    assert scan_data(other, digits) is other


@pytest.mark.parametrize("value", ["mnist", 3, [1, 2]])
def test_scan_data_refuses_what_is_not_a_dataset_naming_transfer_data(value):
    with pytest.raises(TypeError, match="transfer_data has type"):
        scan_data(value, dl.load_digits())
