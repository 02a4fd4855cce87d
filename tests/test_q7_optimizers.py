"""Experiment 7: its verdict functions on constructed inputs, and one small run."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from decaylab.experiments.claims import VERDICTS
from decaylab.experiments.q7_optimizers import (
    OptimizerResult,
    adam_layers_claim,
    equilibrium_claim,
    momentum_factor_claim,
    optimizer_comparison,
    transfer_claim,
)
from decaylab.experiments.q7_transfer import slope_side


@pytest.mark.parametrize(
    "measured, exact, closed, sgd_closed, asymptotic_error, word",
    [
        (0.779, 0.780, 0.7788, 0.975, 0.005, "holds"),
        (0.80, 0.7927, 0.7788, 0.975, 0.006, "holds with a qualification"),  # the transient
        (0.78, 0.78, 0.7788, 0.975, 0.03, "holds with a qualification"),  # a/(1-β)² not small
        (0.97, 0.7927, 0.7788, 0.975, 0.006, "does not hold"),
        (float("nan"), 0.7927, 0.7788, 0.975, 0.006, "undecided"),
    ],
)
def test_momentum_factor_claim(measured, exact, closed, sgd_closed, asymptotic_error, word):
    assert momentum_factor_claim(measured, exact, closed, sgd_closed, asymptotic_error) == word


@pytest.mark.parametrize(
    "ratio, rms, norms, word",
    [
        ([80.0, 9.0], [0.07, 0.16], [0.01, 0.35], "holds"),
        ([80.0, 9.0], [0.07, 0.16], [0.5, 0.35], "holds with a qualification"),
        ([80.0, 9.0], [0.16, 0.07], [0.01, 0.35], "does not hold"),
        ([10.0, 10.5], [0.07, 0.16], [0.01, 0.35], "undecided"),
        ([np.nan, 9.0], [0.07, 0.16], [0.01, 0.35], "undecided"),
    ],
)
def test_adam_layers_claim(ratio, rms, norms, word):
    assert adam_layers_claim(np.array(ratio), np.array(rms), np.array(norms)) == word


def _interval(low, high):
    return SimpleNamespace(interval=(low, high))


@pytest.mark.parametrize(
    "interval, fixed, proportional, word",
    [
        ((-0.2, 0.3), 0.01, 0.05, "holds"),  # both favour the fixed timescale
        ((0.7, 1.2), 0.05, 0.01, "does not hold"),  # both favour λ ∝ n
        ((0.2, 0.9), 0.01, 0.05, "undecided"),  # the interval holds 1/2
        ((-0.2, 0.3), 0.05, 0.01, "undecided"),  # slope and losses disagree
        ((-0.2, 0.3), 0.030, 0.035, "undecided"),  # losses within the margin
        ((-0.2, 0.3), 0.01, float("nan"), "undecided"),  # a loss off the grid
        (None, 0.01, 0.05, "undecided"),  # no fit
    ],
)
def test_transfer_claim_needs_slope_and_losses_to_agree(interval, fixed, proportional, word):
    fit = None if interval is None else _interval(*interval)
    losses = {"fixed timescale": fixed, "λ ∝ n": proportional}
    assert transfer_claim(losses, fit, margin=0.02) == word


@pytest.mark.parametrize("b, nearer", [(0.3, "fixed timescale"), (0.7, "λ ∝ n")])
def test_slope_side_names_the_rule_that_misses_log_lambda_star_least(b, nearer):
    # λ* = n^b exactly: carry it from n = 4000 to 250 and measure each rule's miss in log λ.
    star = {n: float(n) ** b for n in (250, 4000)}
    miss = {
        "fixed timescale": abs(np.log(star[4000] / star[250])),
        "λ ∝ n": abs(np.log(star[4000] * 250 / 4000 / star[250])),
    }
    assert min(miss, key=miss.get) == nearer
    assert slope_side(_interval(b - 0.1, b + 0.1)) == nearer


def test_transfer_cost_is_the_validation_cross_entropy_without_the_penalty():
    # Against the cross-entropy of the trained network on the validation set, computed here.
    import decaylab as dl
    from decaylab.experiments.q7_transfer import _scores

    data = dl.load_mnist()
    evaluation = dl.Split(data.validation.X[:100], data.validation.y[:100])
    split = dl.Split(data.train.X[:100], data.train.y[:100])
    net = dl.Network([784, 6, 10], init="scaled", seed=0)
    lam, eta = 50.0, 0.02
    history = dl.train(
        net, split, epochs=2, batch_size=20, eta=eta, lmbda=lam, optimizer="adamw",
        evaluation=evaluation, seed=1, progress=False,
    )  # fmt: skip
    a = net.forward(evaluation.X)
    y = np.eye(10)[evaluation.y]
    expected = np.mean(np.sum(-y * np.log(a) - (1 - y) * np.log(1 - a), axis=1))
    outcome = SimpleNamespace(
        diverged=False, history=history, spec=SimpleNamespace(lmbda=lam, eta=eta, n_train=100)
    )
    cost, accuracy = _scores(outcome, 1)
    assert cost == pytest.approx(expected, rel=1e-10)
    assert accuracy == pytest.approx(np.mean(net.predict(evaluation.X) == evaluation.y))


def _fit(low, high):
    return SimpleNamespace(interval=(low, high), exponent=(low + high) / 2)


@pytest.mark.parametrize(
    "fits, word",
    [
        ({"sgd": _fit(-2, -1), "adamw": _fit(-1.5, -0.5)}, "holds"),
        ({"sgd": _fit(-2, -1), "adam": _fit(-0.1, 0.05)}, "holds with a qualification"),
        ({"sgd": _fit(-2, -1), "adam": None}, "holds with a qualification"),
        ({"sgd": _fit(-2, -1), "adam": _fit(0.2, 0.6)}, "does not hold"),
        ({"sgd": None}, "undecided"),
    ],
)
def test_equilibrium_claim(fits, word):
    assert equilibrium_claim(fits) == word


QUICK = dict(
    hidden=8,
    seeds=1,
    equilibrium_n=100,
    max_relaxations=12.0,
    average_epochs=1,
    ns=(100, 200),
    transfer_timescales=(2.0, 8.0, 32.0),
    transfer_epochs=2,
)


@pytest.fixture(scope="module")
def small():
    return optimizer_comparison(**QUICK)


def test_small_run_decides_claims_13_to_16(small):
    claims = small.claims()
    assert [c.number for c in claims] == [13, 14, 15, 16]
    assert all(c.verdict in VERDICTS and c.question == 7 for c in claims)
    assert isinstance(small, OptimizerResult)
    header, rows = small.table()
    assert len(rows) == 4 and all(len(r) == len(header) for r in rows)


def test_small_run_factors_follow_their_predictions(small):
    # The decay-dominated first epoch: AdamW's measured factor near its exact (1 - ηc)^K.
    measured = small.factor_measured["adamw"][0]
    np.testing.assert_allclose(measured, small.factor_predicted["adamw"][0], rtol=0.05)
    # The rule's own factor (from its recurrence's matrix) against the closed-form roots.
    exact = small.momentum.epoch_factors[0]
    assert small.factor_predicted["momentum"][0, 0] == pytest.approx(exact, rel=1e-12, abs=0.0)


def test_small_run_record_is_plain_json(small):
    text = json.dumps(small.to_dict(), allow_nan=False)
    assert json.loads(text)["number"] == 7


def test_small_run_is_reproducible(small):
    again = optimizer_comparison(**QUICK)
    for rule in small.rules:
        np.testing.assert_array_equal(again.factor_measured[rule], small.factor_measured[rule])
        np.testing.assert_array_equal(again.equilibrium_norm2[rule], small.equilibrium_norm2[rule])


@pytest.mark.parametrize(
    "options, error, match",
    [
        ({"rules": ("sgd", "lion")}, ValueError, "lion"),
        ({"rules": ("sgd", "momentum")}, ValueError, "adam"),
        ({"timescales": (2.0,)}, ValueError, "timescales"),
        ({"eta": [0.1]}, TypeError, "eta"),
        ({"beta": 1.0}, ValueError, "beta=1.0"),
        ({"ns": (100, 5000)}, ValueError, "ns"),
        ({"ns": (100,)}, ValueError, "fewer than 2 sizes"),
        ({"transfer_timescales": (2.0, 8.0)}, ValueError, "transfer_timescales"),
        ({"transfer_data": "mnist"}, TypeError, "transfer_data"),
        ({"transfer_eta": 0.0}, ValueError, "transfer_eta"),
    ],
)
def test_bad_settings_are_refused(options, error, match):
    with pytest.raises(error, match=match):
        optimizer_comparison(**{**QUICK, **options})


def test_default_sizes_follow_the_training_set():
    from decaylab.data import Dataset, Split, load_digits

    digits = load_digits()
    small = Dataset(
        Split(digits.train.X[:120], digits.train.y[:120]),
        digits.validation,
        digits.test,
        digits.n_classes,
        "first 120 digits",
    )
    result = optimizer_comparison(
        small,
        hidden=4,
        seeds=1,
        timescales=(1.0, 2.0),
        max_relaxations=12.0,
        average_epochs=1,
        transfer_data=None,
        transfer_batch_size=5,
        transfer_timescales=(1.0, 4.0, 16.0),
        transfer_epochs=1,
    )
    # n/16, n/4 and n of the scan's own training set (here the 120 digits).
    assert result.ns.tolist() == [120 // 16, 120 // 4, 120]
    assert result.settings["equilibrium_n"] == 60
    assert result.settings["transfer_data"] == "first 120 digits"


def test_default_transfer_grid_spans_e_over_8_to_8e():
    # τ = m/(ηλ) of each grid λ, in units of E: 1/8, 1/4, ..., 8.
    result = optimizer_comparison(**{**QUICK, "transfer_timescales": None})
    s = result.settings
    tau = s["transfer_batch_size"] / (s["transfer_eta"] * result.transfer_lmbda)
    np.testing.assert_allclose(np.sort(tau / s["transfer_epochs"]), 2.0 ** np.arange(-3, 4))


def test_transfer_runs_on_the_bundled_mnist_by_default(small):
    assert small.settings["transfer_data"] == "mnist5k"
    assert small.settings["transfer_sizes"] == [784, 8, 10]
    assert small.transfer_cost.shape == (2, 1, 3)


def test_lambda_star_lies_between_the_neighbours_of_the_least_cost(small):
    grid = small.transfer_lmbda
    for cost, star in zip(small.transfer_cost[:, 0], small.transfer_lambda_star[:, 0]):
        i = int(np.nanargmin(cost))
        assert grid[max(i - 1, 0)] <= star <= grid[min(i + 1, grid.size - 1)]


def test_fixed_timescale_loss_is_the_cost_at_the_largest_n_lambda_star(small):
    # Recomputed here: the seed-mean cost curve at n[0], read at λ* of the largest n.
    grid = small.transfer_lmbda
    curve = np.nanmean(small.transfer_cost[0], axis=0)
    star = np.exp(np.mean(np.log(small.transfer_lambda_star[-1])))
    expected = np.interp(np.log(star), np.log(grid), curve) / curve.min() - 1
    assert small.transfer_loss["fixed timescale"][0] == pytest.approx(expected, rel=1e-12)


def test_train_until_equilibrium_under_adamw_continues_one_run():
    # Chunks of one AdamW run (its state carried across them) give the run of that
    # many epochs trained in one call, bit for bit.
    import decaylab as dl
    from decaylab.experiments.adaptive import train_until_equilibrium

    data = dl.load_digits().train
    split = dl.Split(data.X[:100], data.y[:100])
    settings = dict(batch_size=10, eta=0.003, lmbda=300.0)
    chunked = dl.Network([64, 8, 10], init="scaled", seed=0)
    run = train_until_equilibrium(
        chunked, split, max_epochs=7, optimizer="adamw", seed=1, **settings
    )
    whole = dl.Network([64, 8, 10], init="scaled", seed=0)
    dl.train(whole, split, epochs=run.epochs, optimizer="adamw", seed=1, **settings)
    assert run.epochs > 1
    np.testing.assert_array_equal(chunked.weights[0], whole.weights[0])


def test_equilibrium_runs_record_their_detected_epoch_and_tau(small):
    for rule in small.rules:
        epochs, tau = small.equilibrium_epoch[rule], small.equilibrium_tau[rule]
        settled = np.isfinite(epochs)
        # The detected window starts no earlier than 3τ (the detector's default start).
        assert np.all(epochs[settled] >= np.floor(3.0 * tau[settled]))
        assert np.array_equal(settled, np.isfinite(small.equilibrium_norm2[rule]))


def test_claim_16_is_decided_from_the_settled_runs_only(small):
    fit = small.equilibrium_fit["sgd"]
    settled = np.isfinite(small.equilibrium_norm2["sgd"]).sum()
    assert fit is None or fit.n_points == settled


def test_small_run_headline_carries_adam_l2_against_adamw(small):
    # The mean over seeds of layer 0's decay-rate ratio, computed here from the record.
    ratio = float(np.nanmean(small.adam_ratio[:, 0]))
    assert small.verdict.startswith(f"Adam + L2 decays layer 0 at {ratio:.3g}× AdamW's rate. ")
    assert small.verdict.endswith(f"claim 16 {small.claims()[-1].verdict}.")


@pytest.mark.parametrize("n_inputs, own", [(784, True), (64, False)])
def test_report_data_reaches_the_transfer_scan_only_when_it_is_mnist(n_inputs, own):
    import decaylab as dl
    from decaylab.experiments.registry import EXPERIMENTS

    fake = dl.make_teacher_student(n=40, n_inputs=n_inputs, n_classes=10, n_validation=20, seed=0)
    kwargs = EXPERIMENTS["q7"].inputs(fake, {})
    assert kwargs["data"] is fake
    assert (kwargs.get("transfer_data") is fake) == own
