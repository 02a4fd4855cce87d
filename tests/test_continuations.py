"""A continuation accepts only the run it continues; decay that float32 cannot apply warns."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import decaylab as dl
from decaylab.errors import DecayPrecisionWarning

SETTINGS = dict(batch_size=6, eta=0.8, lmbda=2.0)  # 32 examples: 6 steps an epoch


@pytest.fixture
def problem():
    rng = np.random.default_rng(5)
    train = rng.uniform(-1.0, 1.0, (32, 4)), rng.integers(0, 3, 32)
    evaluation = rng.uniform(-1.0, 1.0, (9, 4)), rng.integers(0, 3, 9)
    return train, evaluation


def _relabelled(data):
    X, y = data
    return X, (y + 1) % 3


def _reversed(data):
    X, y = data
    return X[::-1].copy(), y[::-1].copy()


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda train, evaluation: (_reversed(train), evaluation), "data_fingerprint"),
        (lambda train, evaluation: (_relabelled(train), evaluation), "data_fingerprint"),
        (lambda train, evaluation: (train, _reversed(evaluation)), "evaluation_fingerprint"),
    ],
    ids=["reversed", "relabelled", "other evaluation"],
)
def test_resume_refuses_other_data_of_the_same_size(tmp_path, problem, change, key):
    train, evaluation = problem
    dl.train(dl.Network([4, 3], seed=0), train, epochs=2, evaluation=evaluation, seed=1,
             checkpoint_path=tmp_path / "run.npz", **SETTINGS)  # fmt: skip
    checkpoint = dl.load_checkpoint(tmp_path / "run.npz")
    other_train, other_evaluation = change(train, evaluation)
    with pytest.raises(ValueError, match=f"{key}: 'crc32:"):
        dl.resume(checkpoint, other_train, epochs=1, evaluation=other_evaluation)


def test_resume_on_the_same_data_passed_as_a_copy_continues(tmp_path, problem):
    train, _ = problem
    dl.train(dl.Network([4, 3], seed=0), train, epochs=2, seed=1,
             checkpoint_path=tmp_path / "run.npz", **SETTINGS)  # fmt: skip
    copy = (train[0].copy(), train[1].astype(np.int32))
    history = dl.resume(dl.load_checkpoint(tmp_path / "run.npz"), copy, epochs=1)
    assert history.n_epochs == 3


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_a_fresh_optimizer_state_cannot_continue_a_run(problem, optimizer):
    train, _ = problem
    net = dl.Network([4, 3], seed=0)
    rng = np.random.default_rng(1)
    history = dl.train(net, train, epochs=2, seed=rng, optimizer=optimizer, **SETTINGS)
    fresh = dl.get_optimizer(optimizer).init(net)
    with pytest.raises(ValueError, match="optimizer_state"):
        dl.train(net, train, epochs=1, seed=rng, optimizer=optimizer, history=history,
                 optimizer_state=fresh, **SETTINGS)  # fmt: skip


def _train32(problem, lmbda):
    X, y = problem[0]
    net = dl.Network([4, 3], seed=0, dtype=np.float32)
    # n = 32, eta = 1: eta*lmbda/n is the decay asked for per step.
    return dl.train(net, (X.astype(np.float32), y), epochs=1, batch_size=8, eta=1.0,
                    lmbda=lmbda, seed=0)  # fmt: skip


@pytest.mark.parametrize(
    ("decay", "applied", "message"),
    [
        (2e-8, 1.0, "no decay at all"),
        # float32's neighbours of 1 are 2**-24 apart: 1 - 5e-8 rounds to 1 - 2**-24.
        (5e-8, 1.0 - 2.0**-24, r"a decay \+19% of the one asked for"),
    ],
)
def test_decay_that_float32_cannot_apply_is_recorded_and_warned(problem, decay, applied, message):
    with pytest.warns(DecayPrecisionWarning, match=message):
        history = _train32(problem, decay * 32)
    assert history.settings["multiplier_applied"] == applied
    assert history.settings["multiplier"] == 1.0 - decay * 32 / 32


@pytest.mark.parametrize("decay", [0.0, 1e-3])
def test_decay_float32_applies_within_the_tolerance_does_not_warn(problem, decay):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DecayPrecisionWarning)
        history = _train32(problem, decay * 32)
    assert history.settings["multiplier_applied"] == float(np.float32(1.0 - decay))


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_decay_through_the_gradient_does_not_warn_in_float32(problem, optimizer):
    # Momentum and Adam + L2 add c*w to the gradient: d is never applied, so its
    # rounding in float32 (1 - 2e-8 rounds to 1) loses nothing.
    X, y = problem[0]
    net = dl.Network([4, 3], seed=0, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DecayPrecisionWarning)
        history = dl.train(net, (X.astype(np.float32), y), epochs=1, batch_size=8, eta=1.0,
                           lmbda=2e-8 * 32, seed=0, optimizer=optimizer)  # fmt: skip
    assert history.settings["multiplier_applied"] == 1.0


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_decay_multiplying_the_weights_warns_in_float32_under_every_rule(problem, optimizer):
    X, y = problem[0]
    net = dl.Network([4, 3], seed=0, dtype=np.float32)
    with pytest.warns(DecayPrecisionWarning, match="no decay at all"):
        dl.train(net, (X.astype(np.float32), y), epochs=1, batch_size=8, eta=1.0,
                 lmbda=2e-8 * 32, seed=0, optimizer=optimizer)  # fmt: skip


def test_a_decay_recorded_as_not_applied_trains_as_no_decay(problem):
    with pytest.warns(DecayPrecisionWarning):
        decayed = _train32(problem, 2e-8 * 32)
    undecayed = _train32(problem, 0.0)
    assert decayed.settings["multiplier_applied"] == undecayed.settings["multiplier_applied"]
    assert np.array_equal(decayed.weights.norm, undecayed.weights.norm)
