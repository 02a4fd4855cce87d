"""A run that cannot write its checkpoint, or is interrupted under momentum or Adam, keeps
everything it needs to continue, and the advice its message gives works."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest

import decaylab as dl
import decaylab.checkpoint
from decaylab.errors import CheckpointWriteError

SETTINGS = dict(batch_size=7, eta=0.5, lmbda=1.0)  # 40 examples: 6 steps an epoch
EPOCHS = 4


@pytest.fixture
def problem():
    rng = np.random.default_rng(3)
    return rng.uniform(-1.0, 1.0, (40, 5)), rng.integers(0, 3, 40)


def _whole(problem, **options):
    net = dl.Network([5, 4, 3], seed=0)
    return net, dl.train(net, problem, epochs=EPOCHS, seed=11, **SETTINGS, **options)


def _same(got: dl.History, expected: dl.History) -> bool:
    a, b = got.to_arrays(), expected.to_arrays()
    return a.keys() == b.keys() and all(
        np.array_equal(a[k], b[k]) for k in a if k != "settings_json"
    )


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs a directory no one can write")
def test_an_unwritable_checkpoint_directory_is_refused_before_training(problem):
    net = dl.Network([5, 4, 3], seed=0)
    before = net.params.copy()
    with pytest.raises(ValueError, match="no file can be written"):
        dl.train(net, problem, epochs=2, seed=0, checkpoint_path="/proc/self/run.npz", **SETTINGS)
    assert np.array_equal(net.params, before)


def _disk_full_at(monkeypatch, epoch: int):
    """Make the checkpoint of ``epoch`` fail as on a full disk, after writing some bytes."""
    write = decaylab._checkpoint_files._write_npz

    def write_or_fail(fh, arrays):
        if f'"epoch": {epoch},' in str(arrays["checkpoint_json"]):
            fh.write(b"PK\x03\x04 part of a zip")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        write(fh, arrays)

    monkeypatch.setattr(decaylab._checkpoint_files, "_write_npz", write_or_fail)


@pytest.mark.parametrize("optimizer", [None, "momentum", "adam"])
def test_a_failed_checkpoint_write_keeps_the_run_and_names_the_real_file(
    problem, tmp_path, monkeypatch, optimizer
):
    _, whole = _whole(problem, optimizer=optimizer)
    _disk_full_at(monkeypatch, 2)
    net = dl.Network([5, 4, 3], seed=0)
    path = tmp_path / "run.npz"
    with pytest.raises(CheckpointWriteError) as caught:
        dl.train(net, problem, epochs=EPOCHS, seed=11, checkpoint_every=1, checkpoint_path=path,
                 optimizer=optimizer, **SETTINGS)  # fmt: skip
    error = caught.value
    assert error.path == str(path) and str(path) in str(error)
    assert ".tmp" not in str(error) and "No space left on device" in str(error)
    assert int(error.history.epoch[-1]) == 2
    state = {} if optimizer is None else {"optimizer_state": error.optimizer_state}
    # The message's advice: train(net, data, epochs=2, seed=exc.generator, history=exc.history
    # [, optimizer_state=exc.optimizer_state]).
    assert f"epochs={EPOCHS - 2}, seed=exc.generator" in str(error)
    assert ("optimizer_state=exc.optimizer_state" in str(error)) == (optimizer is not None)
    rest = dl.train(net, problem, epochs=EPOCHS - 2, seed=error.generator, history=error.history,
                    optimizer=optimizer, **SETTINGS, **state)  # fmt: skip
    assert _same(rest, whole)


class _InterruptAtStep:
    """Presses Ctrl-C after ``steps`` steps of any update rule."""

    name = "interrupter"

    def __init__(self, steps: int):
        self.left = steps

    def start(self, net, *, eta, multiplier):
        pass

    def step(self, net, grad_weights, batch_length):
        self._count()

    def step_parts(self, before, decay, rest):
        self._count()

    def _count(self):
        if self.left == 0:
            raise KeyboardInterrupt
        self.left -= 1

    def end_epoch(self, net):
        pass

    def result(self):
        return {}


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_an_interrupted_run_under_another_rule_continues_as_its_message_says(problem, optimizer):
    _, whole = _whole(problem, optimizer=optimizer)
    net = dl.Network([5, 4, 3], seed=0)
    with pytest.raises(dl.TrainingInterrupted) as caught:
        dl.train(net, problem, epochs=EPOCHS, seed=11, optimizer=optimizer,
                 monitors=[_InterruptAtStep(15)], **SETTINGS)  # fmt: skip
    error = caught.value
    assert "optimizer_state=exc.optimizer_state" in str(error)
    rest = dl.train(net, problem, epochs=EPOCHS - 2, seed=error.generator, history=error.history,
                    optimizer=optimizer, optimizer_state=error.optimizer_state,
                    **SETTINGS)  # fmt: skip
    assert _same(rest, whole)


def test_ctrl_c_with_a_checkpoint_that_cannot_be_written_is_still_an_interruption(
    problem, tmp_path, monkeypatch
):
    _disk_full_at(monkeypatch, 2)
    net = dl.Network([5, 4, 3], seed=0)
    with pytest.raises(dl.TrainingInterrupted) as caught:
        dl.train(net, problem, epochs=EPOCHS, seed=11, monitors=[_InterruptAtStep(15)],
                 checkpoint_path=tmp_path / "run.npz", **SETTINGS)  # fmt: skip
    assert "could not be written" in str(caught.value) and ".tmp" not in str(caught.value)
    assert int(caught.value.history.epoch[-1]) == 2
