"""Training until equilibrium: chunks that continue one run, a cap that is reported."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl
from decaylab.experiments.adaptive import train_until_equilibrium
from decaylab.experiments.runs import RunSpec, run_one

SETTINGS = dict(batch_size=10, eta=1.0, lmbda=10.0)  # τ = m/(ηλ) = 1 epoch


@pytest.fixture(scope="module")
def small(digits):
    return dl.Split(digits.train.X[:300], digits.train.y[:300])


@pytest.fixture(scope="module")
def adaptive(small):
    net = dl.Network([64, 12, 10], init="large", seed=0)
    return net, train_until_equilibrium(net, small, seed=0, **SETTINGS)


def test_the_run_stops_once_reached_and_within_a_chunk_of_it(adaptive):
    _, run = adaptive
    assert run.reached
    # Chunks of ⌈window/3⌉ epochs: at most one chunk past the end of the passing window.
    equilibrium = run.equilibrium
    assert run.epochs - (equilibrium.epoch + equilibrium.window - 1) <= -(-equilibrium.window // 3)


def test_chunks_are_bit_for_bit_one_run(adaptive, small):
    net, run = adaptive
    reference = dl.Network([64, 12, 10], init="large", seed=0)
    history = dl.train(reference, small, epochs=run.epochs, seed=0, training_metrics=False,
                       progress=False, **SETTINGS)  # fmt: skip
    np.testing.assert_array_equal(run.history.weights.norm, history.weights.norm)
    np.testing.assert_array_equal(net.params, reference.params)


def test_the_detector_answer_is_that_of_the_whole_history(adaptive):
    _, run = adaptive
    again = dl.find_equilibrium(run.history)
    assert (run.equilibrium.epoch, run.equilibrium.total_norm_squared) == (
        again.epoch,
        again.total_norm_squared,
    )


def test_a_run_that_hits_the_cap_is_not_reached(small):
    net = dl.Network([64, 12, 10], init="large", seed=0)
    run = train_until_equilibrium(net, small, seed=0, max_epochs=6, **SETTINGS)
    assert not run.reached and run.epochs == 6 and run.max_epochs == 6
    assert "not reached" in repr(run)


def test_the_cap_in_relaxation_times_is_converted_with_tau(small):
    net = dl.Network([64, 12, 10], init="large", seed=0)
    run = train_until_equilibrium(net, small, seed=0, max_relaxations=4.0, **SETTINGS)
    tau = run.equilibrium.relaxation_epochs
    assert run.max_epochs == int(np.ceil(4.0 * tau))


def test_min_epochs_trains_on_past_the_equilibrium(adaptive, small):
    _, first = adaptive
    net = dl.Network([64, 12, 10], init="large", seed=0)
    run = train_until_equilibrium(net, small, seed=0, min_epochs=first.epochs + 20, **SETTINGS)
    assert run.reached and run.epochs >= first.epochs + 20


def test_monitor_records_cover_every_chunk(small):
    net = dl.Network([64, 12, 10], init="large", seed=0)
    run = train_until_equilibrium(
        net, small, seed=0, monitors=[dl.DecompositionMonitor()], **SETTINGS
    )
    assert run.history.monitors["decomposition"]["contraction"].shape == (run.epochs, 2)


def test_run_specs_train_adaptively_and_report_it(small, digits):
    data = dl.Dataset(small, digits.validation, digits.test, 10, "small")
    spec = RunSpec((64, 12, 10), "large", 0, 200, 10, 1.0, 10.0, evaluate=False,
                   until_equilibrium=True)  # fmt: skip
    outcome = run_one(spec, data)
    assert outcome.measurements["reached"] is True
    assert outcome.history.n_epochs < 200


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(max_relaxations=0.0), ValueError, "max_relaxations"),
        (dict(max_epochs=0), ValueError, "max_epochs"),
        (dict(min_epochs=-1), ValueError, "min_epochs"),
        (dict(lmbda=0.0), ValueError, "lmbda"),
    ],
)
def test_bad_arguments_are_named(small, kwargs, error, match):
    net = dl.Network([64, 12, 10], init="large", seed=0)
    with pytest.raises(error, match=match):
        train_until_equilibrium(net, small, seed=0, **{**SETTINGS, **kwargs})


def test_a_cap_beyond_any_practical_run_is_refused_saying_how_long_it_would_take(monkeypatch):
    import decaylab.experiments.adaptive as adaptive

    def train_nothing(net, data, *, epochs, **settings):
        assert epochs == 0, f"asked to train {epochs} epochs of a run that cannot finish"
        return dl.train(net, data, epochs=0, **settings)

    monkeypatch.setattr(adaptive, "train", train_nothing)
    data = dl.load_digits().train
    net = dl.Network([64, 10], seed=0)
    # τ = m/(ηλ) = 10/(0.5·2e-9) = 1e10 epochs.
    with pytest.raises(
        ValueError, match=r"at least 6e\+10 epochs .* cap 6e\+11.* days at"
    ) as caught:
        dl.train_until_equilibrium(net, data, batch_size=10, eta=0.5, lmbda=2e-9, seed=0)
    assert "1e+10 epochs per τ" in str(caught.value)
