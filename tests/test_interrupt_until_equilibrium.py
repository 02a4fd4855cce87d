"""Ctrl-C while training an ensemble until equilibrium: decaylab's TrainingInterrupted, as
:func:`train_until_equilibrium` raises, with every completed epoch kept.

Ctrl-C is simulated deterministically: the stacked step raises KeyboardInterrupt
at a chosen step. References are the members trained alone with :func:`decaylab.train`.
"""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl
from decaylab._stack import Stack
from decaylab.experiments.adaptive import train_ensemble_until_equilibrium

SETTINGS = dict(batch_size=10, eta=1.0, lmbda=[10.0, 20.0])  # 40 examples: 4 steps per epoch
CAPS = [2, 50]  # member 0 stops at its cap of 2 epochs, member 1 trains on


@pytest.fixture
def problem(digits):
    return digits.train.X[:40], digits.train.y[:40]


def _nets():
    return [dl.Network([64, 6, 10], seed=s) for s in (0, 1)]


def _interrupt_at_step(monkeypatch, step: int) -> None:
    calls = {"n": 0}
    original = Stack.sgd_step

    def interrupting(self, batch_length):
        calls["n"] += 1
        if calls["n"] == step:
            raise KeyboardInterrupt
        original(self, batch_length)

    monkeypatch.setattr(Stack, "sgd_step", interrupting)


@pytest.fixture
def interrupted(problem, monkeypatch):
    """Ctrl-C at the third step of epoch 4 (after member 0 stopped at epoch 2)."""
    nets = _nets()
    _interrupt_at_step(monkeypatch, step=3 * 4 + 3)
    with pytest.raises(dl.TrainingInterrupted) as caught:
        train_ensemble_until_equilibrium(
            nets, problem, max_epochs=CAPS, seed=[np.random.default_rng(7 + k) for k in (0, 1)],
            **SETTINGS,
        )  # fmt: skip
    return nets, caught.value


def test_interruption_is_decaylabs_training_interrupted_a_keyboard_interrupt(interrupted):
    _, error = interrupted
    assert isinstance(error, KeyboardInterrupt)
    assert "interrupted after epoch 3" in str(error)


def test_each_member_keeps_its_completed_epochs(interrupted):
    _, error = interrupted
    assert [h.n_epochs for h in error.history] == [2, 3]


@pytest.mark.parametrize("k", [0, 1])
def test_networks_are_at_the_end_of_their_last_completed_epoch(interrupted, problem, k):
    nets, error = interrupted
    alone = _nets()[k]
    history = dl.train(
        alone, problem, epochs=error.history[k].n_epochs, batch_size=10, eta=1.0,
        lmbda=SETTINGS["lmbda"][k], seed=np.random.default_rng(7 + k),
    )  # fmt: skip
    np.testing.assert_allclose(nets[k].params, alone.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        error.history[k].weights.norm, history.weights.norm, rtol=1e-10, atol=1e-12
    )
