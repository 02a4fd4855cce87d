"""The experiments: their numbers, their verdicts, and how they handle runs and bad input.

Reference values come from computations written here: the pure-decay factor
(1 − ηλ/n)^⌈n/m⌉ by hand, means and standard errors with the statistics
module, slopes with numpy.polyfit, the interpolated λ* by the crossing
formula, and networks rebuilt from the documented seed streams.
"""

from __future__ import annotations

import concurrent.futures
import json
import math
import statistics
import subprocess
import sys

import numpy as np
import pytest

import decaylab as dl
from decaylab.experiments import (
    Estimate,
    best_lambda,
    dominance_verdict,
    estimate,
)
from decaylab.experiments import q3_equilibrium as q3
from decaylab.experiments.q1_dominance import dominance_claim, gradient_claim
from decaylab.experiments.q2_factor import (
    closed_form_claim,
    condition_claim,
    crossover,
    exact_threshold,
    limit_claim,
)
from decaylab.experiments.q4_initialisation import emulation_claim
from decaylab.experiments.q5_layers import reduction_claim, statistic_agreement, sum_claim
from decaylab.experiments.q6_conventions import best_lambda_by_cost, stability_claim
from decaylab.experiments.runs import RunSpec, run_group, run_many, run_one
from small_data import small_digits


@pytest.fixture(scope="module")
def small():
    """The first 200 training and 100 validation digits."""
    return small_digits(200, 100)


@pytest.fixture(scope="module")
def records(small):
    """One small record of each experiment, shared by the tests that only read them."""
    return {
        "q1": dl.early_decay_dominance(
            small, lmbdas=(0.1, 5.0), epochs=3, first_epochs=2, seeds=2, hidden=10
        ),
        "q2": dl.per_epoch_factor(
            small, etas=(0.5,), lmbdas=(5.0, 50.0), batch_sizes=(10, 30), seeds=2, hidden=10
        ),
        "q3": dl.equilibrium_size(
            small,
            widths=(4, 8, 16),
            seeds=2,
            eta=1.0,
            lmbda=10.0,  # τ = m/(ηλ) = 1 epoch
            epochs=0,
            lmbdas=(5.0, 10.0),
            ns=(100, 200),
            batch_sizes=(5, 20),
            sweep_hidden=8,
        ),
        "q4": dl.initialisation_comparison(small, hidden=10, epochs=4, seeds=2),
        "q5": dl.layer_movement(
            [small], hidden=10, lmbdas=(0.5, 5.0), reference_n=200, epochs=4, seeds=2, mnist_n=200
        ),
        "q6": dl.convention_transfer(
            small,
            widths=(4, 8),
            sum_lmbdas=(0.5, 2.0, 8.0, 32.0),
            mean_lmbdas=(148.0, 592.0, 2368.0, 9472.0),
            ns=(100, 200),
            transfer_hidden=8,
            transfer_lmbdas=(0.1, 1.0, 10.0),
            transfer_epochs=3,
            epochs=3,
            average_epochs=2,
            seeds=2,
        ),
    }


# ----------------------------------------------------------------------------- estimates


@pytest.mark.parametrize("samples", [[1.0, 2.0, 4.0], [0.5, 0.5, 0.7, 0.9], [-3.0, 3.0]])
def test_estimate_is_mean_and_standard_error(samples):
    e = estimate(samples)
    assert e.mean == pytest.approx(statistics.fmean(samples))
    assert e.stderr == pytest.approx(statistics.stdev(samples) / math.sqrt(len(samples)))
    assert e.n == len(samples)


def test_estimate_leaves_out_nan():
    assert estimate([1.0, np.nan, 3.0]) == estimate([1.0, 3.0])


def test_estimate_of_one_sample_has_no_stderr():
    e = estimate([2.5])
    assert (e.mean, e.n) == (2.5, 1) and math.isnan(e.stderr)


@pytest.mark.parametrize(
    "value, spec, text",
    [
        (Estimate(0.81557, 0.00086, 3), "", "0.8156 ± 0.00086"),
        (Estimate(0.9712, 0.0123, 3), "", "0.97 ± 0.012"),
        (Estimate(120.0, 14.0, 3), "", "120 ± 14"),
        (Estimate(0.5, float("nan"), 1), "", "0.5"),
        (Estimate(float("nan"), float("nan"), 0), "", "n/a"),
        (Estimate(0.12345, 0.01, 2), ".2f", "0.12 ± 0.01"),
    ],
)
def test_estimate_format(value, spec, text):
    assert format(value, spec) == text


# ----------------------------------------------------------------------------- runs


def test_run_group_matches_separate_runs(small):
    specs = [RunSpec((64, 6, 10), "scaled", 3, 2, 10, 0.5, lam) for lam in (0.0, 1.0, 20.0)]
    together = run_group(specs, small)
    for spec, outcome in zip(specs, together):
        alone = run_one(spec, small).history
        np.testing.assert_allclose(outcome.history.weights.norm, alone.weights.norm, rtol=1e-10)
        np.testing.assert_allclose(
            outcome.history.evaluation_accuracy, alone.evaluation_accuracy, rtol=1e-10
        )


def test_run_many_through_an_executor_matches_serial(small):
    specs = [RunSpec((64, 5, 10), "large", seed, 2, 20, 0.5, 5.0) for seed in (0, 1)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        parallel = run_many(specs, small, executor=pool)
    serial = run_many(specs, small)
    for a, b in zip(parallel, serial):
        np.testing.assert_array_equal(a.history.weights.norm, b.history.weights.norm)


def test_network_comes_from_the_first_spawned_stream(small):
    spec = RunSpec((64, 5, 10), "large", 7, 1, 10, 0.5, 5.0, evaluate=False)
    outcome = run_one(spec, small)
    stream = np.random.SeedSequence(7).spawn(2)[0]
    net = dl.Network([64, 5, 10], init="large", seed=np.random.default_rng(stream))
    assert outcome.history.weights.norm[0, 0] == pytest.approx(np.linalg.norm(net.weights[0]))


def test_diverged_run_is_marked_not_nan(small):
    outcome = run_one(RunSpec((64, 5, 10), "large", 0, 3, 10, 1e300, 0.0), small)
    assert outcome.diverged
    assert "diverged" in outcome.message
    assert np.isfinite(outcome.history.weights.norm).all()


def test_experiment_lists_diverged_runs(small):
    result = dl.early_decay_dominance(
        small, eta=1e300, lmbdas=(1e-300,), inits=("large",), epochs=2, first_epochs=1, seeds=1
    )
    assert len(result.diverged) == 1
    assert "not measured" in result.verdict.lower()


# ----------------------------------------------------------------------------- Q1


def test_q1_shares_are_fractions(records):
    share = records["q1"].share
    assert share.shape == (4, 2, 3, 2)
    assert np.all((share >= 0) & (share <= 1))


def test_q1_early_share_averages_the_first_epochs(records):
    r = records["q1"]
    expected = r.share_total[0, :, :2].mean(axis=1)
    assert r.early_share[0].mean == pytest.approx(expected.mean())


def test_q1_step_ratios_are_the_decomposition_sums(records, small):
    # Rebuild condition 1 (large init, λ = 5) for both seeds; sum its first 2 epochs by hand.
    steps, radial = [], []
    for seed in (0, 1):
        spec = RunSpec((64, 10, 10), "large", seed, 3, 10, 0.5, 5.0, monitors=("decomposition",))
        record = run_one(spec, small).history.monitors["decomposition"]
        first = {k: np.asarray(v)[:2].sum() for k, v in record.items()}
        steps.append(first["gradient_norm"] / first["decay_norm"])
        radial.append(abs(first["radial"]) / abs(first["contraction"]))
    r = records["q1"]
    assert r.step_ratio[1].mean == pytest.approx(np.mean(steps), rel=1e-6)
    assert r.radial_ratio[1].mean == pytest.approx(np.mean(radial), rel=1e-6)


@pytest.mark.parametrize(
    "share, word",
    [
        (0.95, "holds"),
        (0.7, "holds with a qualification"),
        (0.3, "does not hold"),
        (0.52, "undecided"),
    ],
)
def test_dominance_claim_words(share, word):
    assert dominance_claim(Estimate(share, 0.02, 3), dominant=0.5, almost_all=0.9) == word


@pytest.mark.parametrize(
    "steps, radial, word",
    [
        (0.05, 0.01, "holds"),
        (6.0, 0.02, "holds with a qualification"),
        (6.0, 0.5, "does not hold"),
        (0.1, 0.1, "undecided"),
    ],
)
def test_gradient_claim_words(steps, radial, word):
    ratios = (Estimate(steps, 0.01, 3), Estimate(radial, 0.01, 3))
    assert gradient_claim(*ratios, small=0.1) == word


def test_dominance_verdict_headline_names_the_dominated_lambdas():
    early = [Estimate(s, 0.01, 3) for s in (0.3, 0.9, 0.1, 0.2)]
    answer = dominance_verdict(
        ["large", "large", "scaled", "scaled"],
        np.array([1.0, 5.0, 1.0, 5.0]),
        early,
        first_epochs=3,
    )
    assert "at λ = 5:" in answer.headline and len(answer.evidence) == 2


def test_q1_claims_are_one_and_two(records):
    assert [c.number for c in records["q1"].claims()] == [1, 2]


# ----------------------------------------------------------------------------- Q2


def test_q2_exact_and_closed_form_factors(records):
    r = records["q2"]
    n = r.settings["n"]
    for s in range(len(r.eta)):
        eta, lam, m = r.eta[s], r.lmbda[s], int(r.batch_size[s])
        assert r.exact[s] == pytest.approx((1 - eta * lam / n) ** math.ceil(n / m), rel=1e-12)
        assert r.closed_form[s] == pytest.approx(math.exp(-eta * lam / m), rel=1e-12)


@pytest.mark.parametrize("batch_size", [7, 20])
def test_q2_measured_factor_is_pure_decay_without_input(small, batch_size):
    # Zero inputs make the first layer's data gradient exactly zero: pure decay.
    blank = dl.Dataset(
        dl.Split(np.zeros_like(small.train.X), small.train.y),
        small.validation,
        small.test,
        10,
        "blank",
    )
    r = dl.per_epoch_factor(
        blank, etas=(0.5,), lmbdas=(20.0,), batch_sizes=(batch_size,), seeds=1, hidden=4
    )
    n = small.train.n
    expected = (1 - 0.5 * 20.0 / n) ** math.ceil(n / batch_size)
    assert r.measured[0, 0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("steps, m", [(10, 100), (4, 250), (1, 1000)])
def test_crossover_is_root_two_tolerance_over_steps_when_m_divides_n(steps, m):
    assert crossover(steps, 1000, m, 0.01) == pytest.approx(math.sqrt(0.02 / steps))


def test_crossover_with_a_ceiling_solves_the_leading_order():
    a = crossover(4, 1000, 300, 0.01)
    assert a * (4 - 1000 / 300) + 4 * a**2 / 2 == pytest.approx(0.01)


@pytest.mark.parametrize("n, m", [(1000, 1), (1000, 10), (1000, 300), (50000, 10), (50000, 30)])
def test_exact_threshold_is_where_the_error_reaches_the_tolerance(n, m):
    a = float(exact_threshold(n, m, 0.01))
    # Written out in plain floats: e^(−ηλ/m) over (1 − ηλ/n)^⌈n/m⌉ with ηλ = a·n.
    assert math.exp(-a * n / m) / (1 - a) ** math.ceil(n / m) - 1 == pytest.approx(0.01, rel=1e-6)


@pytest.mark.parametrize("n, m", [(1000, 10), (50000, 10), (100000, 100)])
def test_exact_threshold_is_root_two_tol_m_over_n_when_m_divides_n(n, m):
    assert float(exact_threshold(n, m, 0.01)) == pytest.approx(math.sqrt(0.02 * m / n), rel=0.05)


def test_exact_threshold_below_it_the_closed_form_is_within_tolerance():
    a = 0.999 * float(exact_threshold(1000, 300, 0.01))
    assert math.exp(-a * 1000 / 300) / (1 - a) ** 4 - 1 < 0.01


@pytest.mark.parametrize(
    "threshold, word",
    [
        ([0.02, 0.5], "holds"),
        ([0.002, 0.5], "holds with a qualification"),
        ([np.nan], "undecided"),
    ],
)
def test_condition_claim_words(threshold, word):
    assert condition_claim(np.array(threshold), much_less=0.01) == word


def test_q2_threshold_grid_has_m_dividing_n_and_not(records):
    r = records["q2"]
    divides = r.threshold_n % r.threshold_batch_size == 0
    assert divides.any() and (~divides).any()
    np.testing.assert_array_equal(r.threshold_ceiling == 0, divides)


def test_q2_claim_3_is_decided_by_the_thresholds(records):
    r = records["q2"]
    claim = next(c for c in r.claims() if c.number == 3)
    expected = condition_claim(r.threshold, much_less=r.settings["much_less"])
    assert claim.verdict == expected == "holds with a qualification"


def test_q2_limit_error_falls_as_one_over_n(records):
    r = records["q2"]
    eta, lam, m = r.eta[0], r.lmbda[0], int(r.batch_size[0])
    n = r.limit_ns[-1]
    by_hand = abs((1 - eta * lam / n) ** (n / m) * math.exp(eta * lam / m) - 1)
    assert r.limit_error[0, -1] == pytest.approx(by_hand, rel=1e-6)
    np.testing.assert_allclose(r.limit_slope, -1.0, atol=0.05)


@pytest.mark.parametrize(
    "errors, word",
    [
        ([0.001, 0.5], "holds"),
        ([0.05, 0.5], "does not hold"),
    ],
)
def test_closed_form_claim_words(errors, word):
    claim = closed_form_claim(np.array([0.001, 0.3]), np.array(errors), np.array([0.01, 0.01]))
    assert claim == word


def test_closed_form_claim_is_undecided_without_a_setting_inside():
    assert closed_form_claim(np.array([0.3]), np.array([0.5]), np.array([0.01])) == "undecided"


@pytest.mark.parametrize(
    "slopes, ceiling, word",
    [
        ([-1.0, -1.0], [0.0, 0.001], "holds"),
        ([-1.0, -1.0], [0.0, 0.2], "holds with a qualification"),
        ([-1.0, 0.0], [0.0, 0.0], "does not hold"),
    ],
)
def test_limit_claim_words(slopes, ceiling, word):
    assert limit_claim(np.array(slopes), np.array(ceiling), tolerance=0.01) == word


def test_q2_default_grid_keeps_the_factor_measurable(small):
    r = dl.per_epoch_factor(small, seeds=1, hidden=4)
    # Well inside and well outside the closed form's validity, yet a measurable factor.
    assert r.eta_lambda_over_n.min() < r.crossover.min() / 10
    assert r.eta_lambda_over_n.max() > 2 * r.crossover.max()
    assert r.exact.min() > 1e-2


# ----------------------------------------------------------------------------- Q3


def test_q3_fit_is_the_log_log_regression_of_the_reached_runs(records):
    r = records["q3"]
    x = np.repeat(r.n_weights, r.equilibrium_rms.shape[1])
    ok = r.reached.ravel()
    slope = np.polyfit(np.log(x[ok]), np.log(r.equilibrium_rms.ravel()[ok]), 1)[0]
    assert r.fit.exponent == pytest.approx(slope, rel=1e-10)
    assert r.fit.n_points == ok.sum()


def test_q3_equilibrium_rms_is_the_mean_from_the_equilibrium_epoch_to_the_end(records):
    r = records["q3"]
    assert r.reached.any()
    for w, k in zip(*np.nonzero(r.reached)):
        start, end = int(r.equilibrium_epoch[w, k]), int(r.epochs_trained[w, k])
        window = r.total_rms[w, k, start : end + 1]
        assert r.equilibrium_rms[w, k] == pytest.approx(window.mean())
        assert np.isnan(r.total_rms[w, k, end + 1 :]).all()  # the run stopped there


def test_q3_budget_closes_at_every_equilibrium(records):
    # Contraction balances radial + noise: Δ‖w‖² averages to zero over the window.
    r = records["q3"]
    np.testing.assert_allclose(r.closure[r.reached], 1.0, atol=0.05)
    # The implied ‖w‖² (radial + noise parts) is the measured one, to the difference between
    # the mean over steps and the mean over epoch ends.
    implied = r.implied_radial + r.implied_noise
    np.testing.assert_allclose(implied[r.reached], r.equilibrium_norm_squared[r.reached], rtol=0.1)


def test_q3_runs_that_hit_the_cap_are_named_and_kept_out_of_the_fit(small):
    with pytest.raises(RuntimeError, match=r"reached their equilibrium.*sizes=\[64, 4, 10\]"):
        dl.equilibrium_size(
            small, widths=(4, 8), seeds=2, eta=1.0, lmbda=10.0, max_relaxations=3.0,
            lmbdas=(), ns=(), batch_sizes=(),
        )  # fmt: skip


def test_q3_a_partly_capped_sweep_fits_the_reached_runs_and_names_the_others(small):
    # τ = 1 epoch; a cap of 40 τ stops both width-16 runs of this data before they settle.
    r = dl.equilibrium_size(
        small, widths=(4, 8, 16), seeds=2, eta=1.0, lmbda=10.0, max_relaxations=40.0,
        lmbdas=(), ns=(), batch_sizes=(),
    )  # fmt: skip
    assert r.reached.tolist() == [[True, True], [True, True], [False, False]]
    assert r.fit.n_points == 4
    assert all(name.startswith("sizes=[64, 16, 10]") for name in r.not_reached)
    assert len(r.not_reached) == 2
    assert np.isnan(r.equilibrium_rms[2]).all() and np.all(r.epochs_trained[2] == 40)


def test_q3_claims_are_5_6_and_7_with_verdicts_from_their_functions(records):
    r = records["q3"]
    claims = r.claims()
    assert [c.number for c in claims] == [5, 6, 7]
    s = r.settings
    levels = (r.ratio_to_inverse_n_weights, r.ratio_to_inverse_sqrt_n_weights)
    for claim, law, level in zip(claims[:2], (-1.0, -0.5), levels):
        word, reason = q3.scaling_claim(
            r.fit.exponent, r.fit.interval, law, margin=s["law_margin"],
            max_width=s["max_interval_width"], level=[e.mean for e in level],
            level_factor=s["level_factor"],
        )  # fmt: skip
        assert (claim.verdict, claim.reason) == (word, reason)
    # Claim 7: decay balances the gradient terms at equilibrium, so it has not vanished.
    assert claims[2].verdict == "does not hold"


def test_q3_headline_is_one_line_with_the_exponent(records):
    r = records["q3"]
    assert "\n" not in r.verdict and len(r.verdict) < 200
    assert f"n_w^{r.fit}" in r.verdict
    assert all(len(bullet) < 300 for bullet in r.evidence)


@pytest.mark.parametrize(
    ("exponent", "interval", "law", "word"),
    [
        (-0.49, (-0.55, -0.43), -0.5, "holds"),
        (-0.45, (-0.47, -0.43), -0.5, "holds with a qualification"),
        (-0.30, (-0.35, -0.25), -0.5, "does not hold"),
        (-0.50, (-1.2, 0.2), -0.5, "undecided"),
        (-0.50, (-0.55, -0.45), -1.0, "does not hold"),
        (-0.95, (-0.99, -0.91), -1.0, "holds with a qualification"),
    ],
)
def test_q3_scaling_claim_returns_each_word_where_it_is_right(exponent, interval, law, word):
    assert q3.scaling_claim(exponent, interval, law, margin=0.1, max_width=0.5)[0] == word


@pytest.mark.parametrize(
    ("level", "word"),
    [
        ([0.8, 1.5], "holds"),
        ([17.7, 18.5], "holds with a qualification"),
        ([0.2], "holds with a qualification"),
    ],
)
def test_q3_a_scaling_at_a_level_far_from_one_is_qualified(level, word):
    verdict = q3.scaling_claim(-0.5, (-0.52, -0.48), -0.5, level=level, level_factor=3.0)
    assert verdict[0] == word


@pytest.mark.parametrize(
    ("share", "word"),
    [
        (Estimate(0.01, 0.002, 5), "holds"),
        (Estimate(0.10, 0.01, 5), "holds with a qualification"),
        (Estimate(0.50, 0.01, 5), "does not hold"),
        (Estimate(0.24, 0.05, 5), "undecided"),
        (Estimate(float("nan"), float("nan"), 0), "undecided"),
    ],
)
def test_q3_decay_vanishes_claim_returns_each_word_where_it_is_right(share, word):
    ratio = Estimate(0.005, 0.001, 5)
    assert q3.decay_vanishes_claim(share, ratio, vanished=0.05, balancing=0.25)[0] == word


def test_q3_pure_decay_curve_uses_the_exact_factor(records):
    r = records["q3"]
    s = r.settings
    factor = (1 - s["eta"] * s["lmbda"] / s["n"]) ** math.ceil(s["n"] / s["batch_size"])
    np.testing.assert_allclose(r.pure_decay_rms[0, 3] / r.pure_decay_rms[0, 0], factor**3)


# ----------------------------------------------------------------------------- Q4


def test_q4_scaled_start_is_one_over_root_fan_in(records):
    r = records["q4"]
    for l in range(2):
        assert r.scale_ratio_initial[1][l].mean == pytest.approx(1.0, abs=0.15)


def test_q4_epochs_to_target_is_the_first_epoch_at_target(records):
    r = records["q4"]
    target = r.settings["target_accuracy"]
    first = [np.flatnonzero(a >= target) for a in r.accuracy[0]]
    values = [f[0] for f in first if f.size]
    assert r.reached_target[0] == len(values)
    if values:
        assert r.epochs_to_target[0].mean == pytest.approx(np.mean(values))


@pytest.mark.parametrize(
    "end, scaled_end, accuracy, word",
    [
        (1.5, 1.5, 0.95, "holds"),
        (3.0, 3.1, 0.95, "holds with a qualification"),
        (3.0, 1.2, 0.95, "does not hold"),
        (9.0, 9.0, 0.95, "does not hold"),
        (1.5, 1.5, 0.80, "holds with a qualification"),
    ],
)
def test_emulation_claim_words(end, scaled_end, accuracy, word):
    e = lambda x: Estimate(x, 0.01, 3)  # noqa: E731
    got = emulation_claim([e(8.0)], [e(end)], [e(scaled_end)], e(accuracy), e(0.95))
    assert got == word


def test_emulation_claim_is_undecided_when_nothing_was_measured():
    nothing = Estimate(math.nan, math.nan, 0)
    e = Estimate(8.0, 0.1, 3)
    assert emulation_claim([e], [nothing], [nothing], nothing, nothing) == "undecided"


# ----------------------------------------------------------------------------- Q5


def test_q5_starting_variance_is_the_networks(records, small):
    r = records["q5"]
    net_stream = np.random.SeedSequence(0).spawn(2)[0]
    net = dl.Network([64, 10, 10], init="large", seed=np.random.default_rng(net_stream))
    assert r.trajectories["variance"][0, 0, 0, 0] == pytest.approx(net.weights[0].var())


def test_q5_cancellation_is_abs_sum_over_l1(records):
    r = records["q5"]
    expected = np.abs(r.trajectories["sum"][1, :, -1, 1]) / r.trajectories["l1"][1, :, -1, 1]
    assert r.cancellation[1][1].mean == pytest.approx(expected.mean())


def test_q5_lambda_keeps_per_step_decay(records):
    r = records["q5"]
    np.testing.assert_allclose(r.eta_lambda_over_n[:2], [0.5 * 0.5 / 200, 0.5 * 5.0 / 200])


def test_q5_readers_run_is_the_readers_setting_on_mnist(records):
    r = records["q5"]
    assert r.reader == [2, 3]
    assert [r.datasets[c] for c in r.reader] == ["mnist5k", "mnist5k"]
    assert [r.sizes[c] for c in r.reader] == [[784, 10, 10], [784, 10, 10]]
    # λ = 5·n/50,000 gives the reader's ηλ/n = 0.1·5/50,000; then the reader's own λ = 5.
    np.testing.assert_allclose(r.lmbdas[r.reader], [5.0 * 200 / 50000, 5.0])
    np.testing.assert_allclose(r.eta_lambda_over_n[r.reader], [0.1 * 5 / 50000, 0.1 * 5 / 200])


def test_q5_budget_adds_up_to_the_change_of_the_squared_norm(records):
    r = records["q5"]
    change = r.trajectories["norm"][:, :, -1] ** 2 - r.trajectories["norm"][:, :, 0] ** 2
    total = r.budget["contraction"] + r.budget["radial"] + r.budget["noise"]
    np.testing.assert_allclose(total, change, rtol=1e-9, atol=1e-9)


def test_q5_push_is_gradient_terms_over_contraction(records):
    r = records["q5"]
    b = r.budget
    expected = (b["radial"][3, :, 1] + b["noise"][3, :, 1]) / -b["contraction"][3, :, 1]
    assert r.push[3][1].mean == pytest.approx(expected.mean())


def test_q5_a_layer_grows_exactly_when_the_push_beats_decay(records):
    r = records["q5"]
    grew = r.trajectories["norm"][:, :, -1] > r.trajectories["norm"][:, :, 0]
    b = r.budget
    np.testing.assert_array_equal(grew, b["radial"] + b["noise"] > -b["contraction"])


def test_q5_baseline_is_the_same_seed_without_decay(records, small):
    r = records["q5"]
    plain = [
        run_one(RunSpec((64, 10, 10), "large", seed, 4, 10, 0.5, 0.0), small).history
        for seed in (0, 1)
    ]
    # Condition 1 is λ = 5: each seed's final norms over its own run without decay.
    ratios = [r.trajectories["norm"][1, k, -1] / plain[k].weights.norm[-1] for k in (0, 1)]
    for l in range(2):
        expected = estimate([ratio[l] for ratio in ratios]).mean
        assert r.versus_baseline[1][l].mean == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "total, layers, word",
    [
        ([-1, -1], [[-1, -1], [-1, -1]], "holds"),
        ([-1, -1], [[-1, 1], [-1, -1]], "holds with a qualification"),
        ([-1, 1], [[-1, -1], [1, 1]], "does not hold"),
        ([-1, 0], [[-1, -1], [0, -1]], "undecided"),
    ],
)
def test_reduction_claim_words(total, layers, word):
    assert reduction_claim(np.array(total), np.array(layers)) == word


@pytest.mark.parametrize(
    "agree, cancellation, word",
    [
        ((8, 8), 0.8, "holds"),
        ((8, 8), 0.1, "holds with a qualification"),
        ((2, 8), 0.1, "does not hold"),
        ((0, 0), 0.1, "undecided"),
    ],
)
def test_sum_claim_words(agree, cancellation, word):
    assert sum_claim({"sum": agree}, np.full((2, 2), cancellation)) == word


def test_statistic_agreement_counts_layer_runs_with_a_clear_norm_change():
    direction = {
        "norm": np.array([[1, -1], [0, -1]]),
        "l1": np.array([[1, -1], [1, -1]]),
        "variance": np.array([[1, 1], [1, -1]]),
        "sum": np.array([[0, 1], [1, 1]]),
    }
    counts = statistic_agreement(direction)
    assert counts == {"norm": (3, 3), "l1": (3, 3), "variance": (2, 3), "sum": (0, 3)}


# ----------------------------------------------------------------------------- Q6


def test_best_lambda_interpolates_the_crossing():
    grid = np.array([0.1, 1.0, 10.0, 100.0])
    acc = np.array([0.95, 0.96, 0.94, 0.5])
    # level = 0.96 - 0.01 = 0.95 is crossed between 1 (0.96) and 10 (0.94), halfway in log λ.
    star, censored = best_lambda(grid, acc, 0.01)
    assert star == pytest.approx(10**0.5) and not censored


def test_best_lambda_censored_at_top_of_grid():
    star, censored = best_lambda(np.array([1.0, 2.0, 4.0]), np.array([0.9, 0.91, 0.905]), 0.01)
    assert star == 4.0 and censored


def test_q6_mean_convention_is_sum_with_lambda_over_n_weights(records):
    # Width 4 has n_w = 296 and the mean grid is the sum grid times 296: the same runs.
    r = records["q6"]
    assert r.n_weights[0] == 296
    np.testing.assert_allclose(r.accuracy["mean"][0], r.accuracy["sum"][0], atol=1e-12)
    np.testing.assert_allclose(r.lambda_star["mean"][0], 296 * r.lambda_star["sum"][0])


def test_best_lambda_by_cost_interpolates_the_rise():
    grid = np.array([0.1, 1.0, 10.0, 100.0])
    cost = np.array([0.40, 0.42, 0.48, 2.0])
    # level = 1.1 * 0.40 = 0.44 is crossed a third of the way from 1 (0.42) to 10 (0.48).
    star, censored = best_lambda_by_cost(grid, cost, 0.1)
    assert star == pytest.approx(10 ** (1 / 3)) and not censored


def test_best_lambda_by_cost_censored_at_top_of_grid():
    star, censored = best_lambda_by_cost(np.array([1.0, 2.0]), np.array([0.5, 0.52]), 0.1)
    assert star == 2.0 and censored


def test_q6_cost_excludes_the_penalty(records, small):
    r = records["q6"]
    spec = RunSpec((64, 4, 10), "scaled", 0, 3, 10, 0.5, 32.0)
    h = run_one(spec, small).history
    penalty = 32.0 / (2 * 200) * (h.weights.norm[-2:] ** 2).sum(axis=1)
    expected = np.mean(h.evaluation_cost[-2:] - penalty)
    assert r.cost["sum"][0, 0, -1] == pytest.approx(expected, rel=1e-8)


def _fit(slope):
    x = np.array([1e3, 1e3, 1e4, 1e4, 1e5, 1e5])
    noise = np.array([1.02, 0.98, 0.99, 1.01, 1.03, 0.97])
    return dl.fit_power_law(x, x**slope * noise, hypotheses=(0.0, 1.0))


@pytest.mark.parametrize(
    "sum_slope, mean_slope, word",
    [
        (0.0, 1.0, "holds"),
        (0.3, 1.3, "holds with a qualification"),
        (1.0, 0.0, "does not hold"),
        (0.5, 0.52, "undecided"),
    ],
)
def test_stability_claim_words(sum_slope, mean_slope, word):
    assert stability_claim(_fit(sum_slope), _fit(mean_slope), stable_slope=0.1) == word


# ----------------------------------------------------------------------------- records


@pytest.mark.parametrize("key", ["q1", "q2", "q3", "q4", "q5", "q6"])
def test_record_is_json_without_nan(records, key):
    text = json.dumps(records[key].to_dict(), allow_nan=False)
    assert json.loads(text)["number"] == int(key[1])


@pytest.mark.parametrize("key", ["q1", "q2", "q3", "q4", "q5", "q6"])
def test_summary_holds_question_table_and_verdict(records, key):
    r = records[key]
    text = r.summary()
    assert r.question in text and r.verdict in text and r.table()[0][0] in text


@pytest.mark.parametrize("key", ["q1", "q2", "q4", "q5", "q6"])
def test_claims_are_short_and_belong_to_their_question(records, key):
    for claim in records[key].claims():
        assert claim.question == int(key[1])
        assert len(claim.evidence) <= 300 and len(claim.reason.split()) <= 30


def test_same_seeds_give_identical_records(small):
    def run():
        return dl.initialisation_comparison(small, hidden=5, epochs=2, seeds=(3, 4)).to_dict()

    assert run() == run()


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "function, kwargs, error, match",
    [
        (dl.early_decay_dominance, {"lmbdas": (1.0, -1.0)}, ValueError, r"lmbdas\[1\]=-1"),
        (dl.early_decay_dominance, {"inits": ("huge",)}, ValueError, "inits"),
        (dl.early_decay_dominance, {"inits": "large"}, TypeError, "inits"),
        (dl.per_epoch_factor, {"batch_sizes": (5000,)}, ValueError, "batch_sizes"),
        (dl.per_epoch_factor, {"etas": (10.0,), "lmbdas": (500.0,)}, ValueError, "eta"),
        (dl.equilibrium_size, {"widths": (16,)}, ValueError, "widths"),
        (dl.equilibrium_size, {"ns": (5000,)}, ValueError, "ns"),
        (dl.initialisation_comparison, {"target_accuracy": 1.5}, ValueError, "target_accuracy"),
        (dl.initialisation_comparison, {"seeds": 0}, ValueError, "seeds"),
        (dl.initialisation_comparison, {"seeds": "three"}, TypeError, "seeds"),
        (dl.layer_movement, {"datasets": ["digits"]}, TypeError, "datasets"),
        (dl.convention_transfer, {"sum_lmbdas": (1.0,)}, ValueError, "sum_lmbdas"),
        (dl.convention_transfer, {"data": "digits"}, TypeError, "data"),
    ],
)
def test_bad_input_names_the_argument(function, kwargs, error, match):
    with pytest.raises(error, match=match):
        function(**kwargs)


def test_experiments_do_not_import_matplotlib():
    code = (
        "import sys, decaylab as dl\n"
        "dl.per_epoch_factor(etas=(0.5,), lmbdas=(5.0,), batch_sizes=(100,), seeds=1, hidden=4)\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# ----------------------------------------------------------------------------- λ as given


def _q5(small, **kwargs):
    return dl.layer_movement(
        [small], hidden=4, lmbdas=(5.0,), epochs=2, seeds=1, mnist=None, **kwargs
    )


def test_layer_movement_trains_at_the_lambda_given(small):
    # 200 examples: the old default reference_n=1000 trained these at λ = 1.
    given = _q5(small)
    assert given.lmbdas.tolist() == [5.0]
    # The same runs as when asking for a reference size equal to n (no rescaling).
    same = _q5(small, reference_n=small.train.n)
    np.testing.assert_array_equal(given.trajectories["norm"], same.trajectories["norm"])


def test_layer_movement_rescales_only_when_asked_by_name(small):
    scaled = _q5(small, reference_n=1000)
    assert scaled.lmbdas.tolist() == [5.0 * 200 / 1000]
    assert scaled.settings["reference_n"] == 1000


def test_q3_width_sweep_on_mnist_fits_rms_against_n_w():
    r = dl.equilibrium_size(
        widths=(4, 8, 16), seeds=2, eta=1.0, lmbda=10.0, epochs=0, lmbdas=(), ns=(),
        batch_sizes=(), mnist="bundled", mnist_widths=(4, 16), mnist_n=100,
        data=dl.Dataset(*(dl.Split(p.X[:100], p.y[:100]) for p in (
            dl.load_digits().train, dl.load_digits().validation, dl.load_digits().test)),
            10, "small digits"),
    )  # fmt: skip
    np.testing.assert_array_equal(r.mnist_n_weights, [4 * 794, 16 * 794])
    ok = r.mnist_reached.ravel()
    x = np.repeat(r.mnist_n_weights, 2)[ok]
    slope = np.polyfit(np.log(x), np.log(r.mnist_equilibrium_rms.ravel()[ok]), 1)[0]
    assert r.mnist_fit.exponent == pytest.approx(slope, rel=1e-9)
    assert any("On real MNIST" in bullet for bullet in r.evidence)
