"""Q3's and Q7's eq. 93 λ-slopes set side by side, on records built from known curves."""

from types import SimpleNamespace

import numpy as np
import pytest

from decaylab._format import format_measured
from decaylab.dynamics.scaling import fit_power_law
from decaylab.experiments.cross_notes import cross_notes

# One factor per seed, the same at every λ: a fit over two λ is then exactly the secant.
WOBBLE = np.array([1.0, 1.02, 0.99])
LMBDAS3, N3, NS3, LMBDA3 = np.array([2.5, 5.0, 10.0, 20.0]), 1000, np.array([250, 500, 1000]), 5.0
LMBDAS7, N7 = np.array([20.0, 10.0, 5.0]), 500


def bent(rate):
    """log ‖w‖² = A·u² + B·u with u = ln(λ/n): slope 2A·u + B, falling as λ/n grows."""
    u = np.log(rate)
    return np.exp(-0.4 * u**2 - 4.0 * u)


def power(b):
    return lambda rate: rate**b


def _records(curve3, curve7):
    norm3 = curve3(LMBDAS3 / N3)[:, None] * WOBBLE
    norm7 = curve7(LMBDAS7 / N7)[:, None] * WOBBLE[:2]
    fit = lambda lam, norm: fit_power_law(  # noqa: E731
        np.repeat(lam, norm.shape[1]), norm.ravel(), hypotheses=(0.0, -1.0)
    )
    q3 = SimpleNamespace(
        number=3, lmbdas=LMBDAS3, lambda_norm_squared=norm3,
        lambda_reached=np.ones(norm3.shape, bool), lambda_fit=fit(LMBDAS3, norm3), ns=NS3,
        n_norm_squared=curve3(LMBDA3 / NS3)[:, None] * WOBBLE,
        n_reached=np.ones((NS3.size, WOBBLE.size), bool),
        settings={"sweep_hidden": 30, "n": N3, "batch_size": 10, "eta": 0.5, "lmbda": LMBDA3,
                  "init": "scaled"},
    )  # fmt: skip
    q7 = SimpleNamespace(
        number=7, equilibrium_fit={"sgd": fit(LMBDAS7, norm7)},
        equilibrium_lmbda={"sgd": LMBDAS7}, equilibrium_norm2={"sgd": norm7},
        settings={"sizes": [64, 30, 10], "equilibrium_n": N7, "batch_size": 10,
                  "eta": {"sgd": 0.5}},
    )  # fmt: skip
    return q3, q7


def _secant(curve, low, high):
    return (np.log(curve(high)) - np.log(curve(low))) / (np.log(high) - np.log(low))


@pytest.mark.parametrize("curve3, curve7, verdict", [
    (power(-1.0), power(-0.99), "overlap"),
    (power(-1.0), power(-2.0), "do not overlap"),
    (bent, bent, "do not overlap"),
])  # fmt: skip
def test_each_section_gets_both_slopes_its_own_first(curve3, curve7, verdict):
    q3, q7 = _records(curve3, curve7)
    notes = cross_notes([q3, q7])
    own3, own7 = f"{q3.lambda_fit}", f"{q7.equilibrium_fit['sgd']}"
    assert len(notes[3]) == len(notes[7]) == 1
    assert notes[3][0].index(own3) < notes[3][0].index(own7)
    assert notes[7][0].index(own7) < notes[7][0].index(own3)
    assert f"their intervals {verdict}" in notes[3][0]


def test_one_curve_of_lambda_over_n_reconciles_the_slopes():
    q3, q7 = _records(bent, bent)
    note = cross_notes([q3, q7])[3][0]
    middle = fit_power_law(np.repeat([10.0, 20.0], 3), q3.lambda_norm_squared[2:].ravel())
    assert middle.exponent == pytest.approx(_secant(bent, 0.01, 0.02), rel=1e-12)
    assert f"λ/n meet (0.01–0.02) their slopes are {middle} in Q3" in note
    assert "which agree" in note
    assert "bends down as λ/n grows" in note
    assert "because Q7 spans larger λ/n" in note


def test_different_curves_of_lambda_over_n_are_not_reconciled():
    note = cross_notes(_records(power(-1.0), power(-2.0)))[3][0]
    assert "which disagree too" in note
    assert "bends down" not in note


def test_a_run_both_made_is_shown_from_each():
    q3, q7 = _records(bent, bent)
    at_500 = bent(np.array(LMBDA3 / N7)) * WOBBLE
    q3_mean = format_measured(at_500.mean(), at_500.std(ddof=1) / np.sqrt(3))
    q7_mean = format_measured(at_500[:2].mean(), at_500[:2].std(ddof=1) / np.sqrt(2))
    note = cross_notes([q3, q7])[7][0]
    assert f"At n = 500, λ = 5, which both ran, the equilibrium ‖w‖² is {q3_mean} (3 seeds) " \
        f"in Q3 and {q7_mean} (2 seeds) in Q7." in note


def test_a_different_initialisation_is_named_where_the_sweeps_differ():
    q3, q7 = _records(power(-1.0), power(-2.0))
    q3.settings["init"] = "large"
    note = cross_notes([q3, q7])[3][0]
    assert "large initialisation)" in note and "scaled initialisation)" in note
    assert "differ in n, the λ range and the initialisation" in note


def test_a_run_both_made_from_different_initialisations_says_so():
    q3, q7 = _records(bent, bent)
    q3.settings["init"] = "large"
    note = cross_notes([q3, q7])[7][0]
    assert "which both ran (Q3 from the large initialisation, Q7 from the scaled)" in note


def test_the_same_initialisation_is_not_named_as_a_difference():
    note = cross_notes(_records(power(-1.0), power(-2.0)))[3][0]
    assert "differ in n and the λ range;" in note or "differ in n and the λ range." in note


def test_no_note_without_both_sections():
    q3, _ = _records(power(-1.0), power(-1.0))
    assert cross_notes([q3]) == {}
