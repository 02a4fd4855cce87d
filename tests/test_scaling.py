"""Power-law fits: estimates, interval coverage and the verdict."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import decaylab as dl
from decaylab.dynamics.scaling import power_label

SIZES = np.repeat([100.0, 300.0, 1000.0, 3000.0, 10000.0], 3)  # three seeds per size


def _synthetic(exponent, noise, seed, prefactor=2.0):
    rng = np.random.default_rng(seed)
    return prefactor * SIZES**exponent * np.exp(rng.normal(0.0, noise, SIZES.size))


@pytest.mark.parametrize("exponent", [-1.0, -0.5, 0.3])
def test_an_exact_power_law_is_recovered(exponent):
    fit = dl.fit_power_law(SIZES, 3.0 * SIZES**exponent)
    assert fit.exponent == pytest.approx(exponent, abs=1e-12)
    assert fit.intercept == pytest.approx(np.log(3.0), abs=1e-10)
    assert fit.r_squared == pytest.approx(1.0)
    np.testing.assert_allclose(fit.predict([50.0]), 3.0 * 50.0**exponent, rtol=1e-10)


@pytest.mark.parametrize("seed", range(4))
def test_estimates_match_scipy_linregress(seed):
    y = _synthetic(-0.7, 0.2, seed)
    fit = dl.fit_power_law(SIZES, y)
    reference = stats.linregress(np.log(SIZES), np.log(y))
    assert fit.exponent == pytest.approx(reference.slope, rel=1e-12)
    assert fit.intercept == pytest.approx(reference.intercept, rel=1e-12)
    assert fit.standard_error == pytest.approx(reference.stderr, rel=1e-10)
    assert fit.r_squared == pytest.approx(reference.rvalue**2, rel=1e-10)
    assert fit.degrees_of_freedom == SIZES.size - 2


@pytest.mark.parametrize("confidence", [0.95, 0.8])
def test_interval_covers_the_true_exponent_at_the_stated_rate(confidence):
    replicates = 400
    covered = 0
    for seed in range(replicates):
        low, high = dl.fit_power_law(
            SIZES, _synthetic(-0.7, 0.3, seed), confidence=confidence
        ).interval
        covered += low <= -0.7 <= high
    standard_error = np.sqrt(confidence * (1 - confidence) / replicates)
    assert abs(covered / replicates - confidence) <= 3 * standard_error


@pytest.mark.parametrize(
    ("exponent", "noise", "verdict"),
    [(-1.0, 0.02, "1/n_w"), (-0.5, 0.02, "1/√n_w"), (-0.75, 1.2, "both"), (-2.0, 0.02, "neither")],
)
def test_verdict_follows_the_admitted_hypotheses(exponent, noise, verdict):
    # Seed 3's 95% intervals happen to cover every true exponent (seed 0's miss -1 and -1/2).
    fit = dl.fit_power_law(SIZES, _synthetic(exponent, noise, seed=3), variable="n_w")
    assert fit.verdict == verdict
    low, high = fit.interval
    assert fit.admitted == tuple(h for h in (-1.0, -0.5) if low <= h <= high)


def test_p_values_agree_with_the_interval():
    fit = dl.fit_power_law(SIZES, _synthetic(-0.7, 0.3, seed=1), hypotheses=(-1.0, -0.7, -0.5))
    for hypothesis, p_value in zip(fit.hypotheses, fit.p_values):
        assert (p_value > 0.05) == (hypothesis in fit.admitted)


def test_labels_are_data():
    fit = dl.fit_power_law(SIZES, _synthetic(-2.0, 0.02, seed=3), hypotheses=(-2.0, -1.0),
                           labels={-2.0: "1/n_w²"})  # fmt: skip
    assert fit.labels == ("1/n_w²", "1/x")
    assert fit.verdict == "1/n_w²"


@pytest.mark.parametrize(
    ("exponent", "variable", "label"),
    [
        (-1.0, "n_w", "1/n_w"),
        (-0.5, "n_w", "1/√n_w"),
        (-1.0, "λ", "1/λ"),
        (1.0, "n", "n"),
        (0.5, "m", "√m"),
        (0.0, "x", "x^0"),
        (-2.0, "x", "x^-2"),
        (0.25, "batch size", "batch size^0.25"),
    ],
)
def test_power_label(exponent, variable, label):
    assert power_label(exponent, variable) == label


def test_default_labels_assume_no_variable():
    # A fit against λ must not call its hypotheses 1/n_w.
    lambdas = np.repeat([0.5, 1.0, 2.0, 4.0], 2)
    fit = dl.fit_power_law(lambdas, 3.0 / lambdas)
    assert fit.labels == ("1/x", "1/√x") and fit.verdict == "1/x"
    assert dl.fit_power_law(lambdas, 3.0 / lambdas, variable="λ").verdict == "1/λ"


def test_variable_is_recorded():
    assert dl.fit_power_law(SIZES, 3.0 / SIZES, variable="n").variable == "n"


@pytest.mark.parametrize(
    ("x", "y", "kwargs", "error", "match"),
    [
        ([1, 2, 3], [1, 2], {}, ValueError, "one y per x"),
        ([1, 2], [1, 2], {}, ValueError, "at least 3"),
        ([5, 5, 5], [1, 2, 3], {}, ValueError, "distinct"),
        (
            [1, 2, -3],
            [1, 2, 3],
            {},
            ValueError,
            r"x has 1 zero or negative value\(s\), first x\[2\]",
        ),
        (
            [1, 2, 3],
            [1, 0, 3],
            {},
            ValueError,
            r"y has 1 zero or negative value\(s\), first y\[1\]",
        ),
        (
            [1, 2, 3],
            [1, np.nan, np.nan],
            {},
            ValueError,
            r"y has 2 NaN value\(s\), first y\[1\]=nan",
        ),
        ([1, 2, np.inf], [1, 2, 3], {}, ValueError, r"x has 1 infinite value\(s\)"),
        ([1, 2, 3], [1, 2, 3], {"variable": 3}, TypeError, "variable=3 is not a name"),
        ([1, 2, 3], [1, 2, 3], {"confidence": 1.5}, ValueError, "confidence"),
        ([[1, 2, 3]], [1, 2, 3], {}, ValueError, "1-D"),
    ],
)
def test_bad_arguments_are_named(x, y, kwargs, error, match):
    with pytest.raises(error, match=match):
        dl.fit_power_law(x, y, **kwargs)
