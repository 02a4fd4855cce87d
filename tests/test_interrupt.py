"""Interruption: Ctrl-C during training keeps every completed epoch and says how to resume.

Ctrl-C is simulated deterministically: a step monitor, the evaluation or a
checkpoint write raises KeyboardInterrupt at a chosen moment.
"""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl
import decaylab._checkpoint_files
import decaylab.checkpoint
from reference import InterruptAt

SETTINGS = dict(batch_size=7, eta=0.5, lmbda=1.0)  # 40 examples: 6 steps per epoch, last of 5
EPOCHS = 4


@pytest.fixture
def problem():
    rng = np.random.default_rng(3)
    train = rng.uniform(-1.0, 1.0, (40, 5)), rng.integers(0, 3, 40)
    evaluation = rng.uniform(-1.0, 1.0, (15, 5)), rng.integers(0, 3, 15)
    return train, evaluation


def _uninterrupted(problem, epochs=EPOCHS, monitors=()):
    train, evaluation = problem
    net = dl.Network([5, 4, 3], seed=0)
    history = dl.train(
        net, train, epochs=epochs, evaluation=evaluation, seed=11, monitors=monitors, **SETTINGS
    )
    return net, history


def _interrupted(problem, epoch, step, **options):
    train, evaluation = problem
    net = dl.Network([5, 4, 3], seed=0)
    monitors = [InterruptAt(epoch, step), *options.pop("monitors", ())]
    with pytest.raises(dl.TrainingInterrupted) as caught:
        dl.train(
            net, train, epochs=EPOCHS, evaluation=evaluation, seed=11, monitors=monitors,
            **SETTINGS, **options,
        )  # fmt: skip
    return net, caught.value


def _assert_same_history(got: dl.History, expected: dl.History):
    a, b = got.to_arrays(), expected.to_arrays()
    assert sorted(a) == sorted(b)
    for key in a:
        assert np.array_equal(a[key], b[key]), key
    assert got.settings == expected.settings


# Ctrl-C at the first step, in the middle, and at the last (short) step of an epoch.
WHEN = [(1, 0), (2, 3), (3, 5), (4, 2)]


@pytest.mark.parametrize(("epoch", "step"), WHEN)
def test_interruption_is_a_keyboard_interrupt(problem, epoch, step):
    # Scripts that stop on KeyboardInterrupt still stop.
    _, error = _interrupted(problem, epoch, step)
    assert isinstance(error, KeyboardInterrupt)


@pytest.mark.parametrize(("epoch", "step"), WHEN)
def test_history_holds_exactly_the_completed_epochs(problem, epoch, step):
    _, error = _interrupted(problem, epoch, step)
    np.testing.assert_array_equal(error.history.epoch, np.arange(epoch))


@pytest.mark.parametrize(("epoch", "step"), WHEN)
def test_kept_history_equals_the_uninterrupted_one_so_far(problem, epoch, step):
    _, error = _interrupted(problem, epoch, step)
    _, whole = _uninterrupted(problem)
    np.testing.assert_array_equal(error.history.weights.norm, whole.weights.norm[:epoch])
    np.testing.assert_array_equal(error.history.evaluation_cost, whole.evaluation_cost[:epoch])


@pytest.mark.parametrize(("epoch", "step"), WHEN)
def test_network_is_at_the_end_of_the_last_completed_epoch(problem, epoch, step):
    net, _ = _interrupted(problem, epoch, step)
    completed, _ = _uninterrupted(problem, epochs=epoch - 1)
    assert np.array_equal(net.params, completed.params)


@pytest.mark.parametrize(("epoch", "step"), WHEN)
def test_resuming_with_generator_and_history_is_bit_identical(problem, epoch, step):
    net, error = _interrupted(problem, epoch, step)
    train, evaluation = problem
    resumed = dl.train(
        net, train, epochs=EPOCHS - epoch + 1, evaluation=evaluation, seed=error.generator,
        history=error.history, monitors=[InterruptAt(99, 0)], **SETTINGS,
    )  # fmt: skip
    whole_net, whole = _uninterrupted(problem, monitors=[InterruptAt(99, 0)])
    assert np.array_equal(net.params, whole_net.params)
    _assert_same_history(resumed, whole)


def test_message_says_how_to_resume(problem):
    _, error = _interrupted(problem, 3, 2)
    message = str(error)
    assert "epoch 2" in message
    assert f"epochs={EPOCHS - 2}" in message
    assert "seed=exc.generator" in message
    assert "history=exc.history" in message


def test_monitor_records_resume_bit_for_bit(problem):
    net, error = _interrupted(problem, 3, 4, monitors=[dl.DecompositionMonitor()])
    train, evaluation = problem
    resumed = dl.train(
        net, train, epochs=EPOCHS - 2, evaluation=evaluation, seed=error.generator,
        history=error.history, monitors=[InterruptAt(99, 0), dl.DecompositionMonitor()],
        **SETTINGS,
    )  # fmt: skip
    _, whole = _uninterrupted(problem, monitors=[InterruptAt(99, 0), dl.DecompositionMonitor()])
    for key, values in whole.monitors["decomposition"].items():
        assert np.array_equal(resumed.monitors["decomposition"][key], values), key


class InterruptAtEndOf(InterruptAt):
    """A step monitor that presses Ctrl-C as epoch ``epoch`` closes, after it was recorded."""

    def __init__(self, epoch: int):
        super().__init__(epoch, step=-1)

    def end_epoch(self, net):
        if self.epoch == self.target[0]:
            raise KeyboardInterrupt
        super().end_epoch(net)


@pytest.mark.parametrize("epoch", [1, 3])
def test_interruption_as_an_epoch_closes_drops_that_epoch_everywhere(problem, epoch):
    train, evaluation = problem
    net = dl.Network([5, 4, 3], seed=0)
    with pytest.raises(dl.TrainingInterrupted) as caught:
        dl.train(net, train, epochs=EPOCHS, evaluation=evaluation, seed=11,
                 monitors=[InterruptAtEndOf(epoch)], **SETTINGS)  # fmt: skip
    np.testing.assert_array_equal(caught.value.history.epoch, np.arange(epoch))
    completed, _ = _uninterrupted(problem, epochs=epoch - 1)
    assert np.array_equal(net.params, completed.params)


@pytest.mark.parametrize(
    "monitor", [dl.DecompositionMonitor, dl.RotationMonitor, lambda: dl.RotationMonitor(True)]
)
def test_interruption_in_the_first_epoch_keeps_empty_monitor_records(problem, monitor):
    monitor = monitor()
    _, error = _interrupted(problem, 1, 2, monitors=[monitor])
    record = error.history.monitors[monitor.name]
    assert record and all(values.shape == (0, 2) for values in record.values())


def _evaluate_interrupted_at(call: int):
    """A stand-in for Network._evaluate that presses Ctrl-C on its ``call``-th call (0-based)."""
    original, calls = dl.Network._evaluate, []

    def evaluate(net, *args, **kwargs):
        if len(calls) == call:
            raise KeyboardInterrupt
        calls.append(1)
        return original(net, *args, **kwargs)

    return evaluate


# Each epoch evaluates twice (training, then evaluation data); calls 0 and 1 are epoch 0.
@pytest.mark.parametrize(("call", "epoch"), [(2, 1), (5, 2), (7, 3)])
def test_interruption_while_evaluating_keeps_the_completed_epochs(
    problem, monkeypatch, call, epoch
):
    train, evaluation = problem
    net = dl.Network([5, 4, 3], seed=0)
    monkeypatch.setattr(dl.Network, "_evaluate", _evaluate_interrupted_at(call))
    with pytest.raises(dl.TrainingInterrupted) as caught:
        dl.train(net, train, epochs=EPOCHS, evaluation=evaluation, seed=11, **SETTINGS)
    monkeypatch.undo()
    np.testing.assert_array_equal(caught.value.history.epoch, np.arange(epoch))
    completed, _ = _uninterrupted(problem, epochs=epoch - 1)
    assert np.array_equal(net.params, completed.params)


def test_interruption_writes_a_checkpoint_that_resumes_bit_for_bit(problem, tmp_path):
    path = tmp_path / "run.npz"
    _interrupted(problem, 3, 1, checkpoint_path=path)
    checkpoint = dl.load_checkpoint(path)
    assert checkpoint.epoch == 2
    resumed = dl.resume(checkpoint, problem[0], evaluation=problem[1])
    whole_net, whole = _uninterrupted(problem)
    assert np.array_equal(checkpoint.network.params, whole_net.params)
    _assert_same_history(resumed, whole)


def test_message_names_the_checkpoint(problem, tmp_path):
    path = tmp_path / "run.npz"
    _, error = _interrupted(problem, 3, 1, checkpoint_path=path)
    assert str(path) in str(error)
    assert "decaylab.resume" in str(error)


def test_interruption_with_an_epoch_field_names_the_file_it_wrote(problem, tmp_path):
    _, error = _interrupted(
        problem, 3, 1, checkpoint_every=1, checkpoint_path=tmp_path / "{epoch}.npz"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1.npz", "2.npz"]
    assert repr(str(tmp_path / "2.npz")) in str(error)


def test_interruption_while_writing_a_checkpoint_keeps_that_epoch(problem, tmp_path, monkeypatch):
    writes = []
    original = decaylab._checkpoint_files._write_npz

    def interrupted_first_write(fh, arrays):
        writes.append(1)
        if len(writes) == 1:
            fh.write(b"PK\x03\x04 half a zip")
            raise KeyboardInterrupt
        original(fh, arrays)

    monkeypatch.setattr(decaylab._checkpoint_files, "_write_npz", interrupted_first_write)
    train, evaluation = problem
    net = dl.Network([5, 4, 3], seed=0)
    path = tmp_path / "run.npz"
    with pytest.raises(dl.TrainingInterrupted) as caught:
        dl.train(
            net, train, epochs=EPOCHS, evaluation=evaluation, seed=11, checkpoint_every=2,
            checkpoint_path=path, **SETTINGS,
        )  # fmt: skip
    # Epoch 2 was complete when its checkpoint write was interrupted: it is kept, and
    # written again when the interruption is handled.
    np.testing.assert_array_equal(caught.value.history.epoch, np.arange(3))
    assert dl.load_checkpoint(path).epoch == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]


# -- sweeps ----------------------------------------------------------------------------


def _sweep_fn(problem, interrupt_at=None):
    """A sweep function that trains; Ctrl-C inside the training of lmbda == interrupt_at."""

    def final_norm(lmbda):
        monitors = [InterruptAt(2, 1)] if lmbda == interrupt_at else []
        net = dl.Network([5, 4, 3], seed=0)
        history = dl.train(net, problem[0], epochs=3, seed=1, monitors=monitors,
                           **{**SETTINGS, "lmbda": lmbda})  # fmt: skip
        return {"norm": float(history.weights.total.norm[-1]), "history": history}

    return final_norm


def test_ctrl_c_inside_training_keeps_the_completed_configurations(problem):
    grid = dl.grid_product(lmbda=[0.0, 1.0, 2.0, 3.0])
    with pytest.raises(dl.SweepInterrupted) as caught:
        dl.sweep(grid, _sweep_fn(problem, interrupt_at=2.0))
    result = caught.value.result
    assert result.completed == [True, True, False, False]
    assert "resume=exc.result" in str(caught.value)
    whole = dl.sweep(grid, _sweep_fn(problem))
    assert result.rows[:2] == whole.rows[:2]


def test_resumed_sweep_equals_the_uninterrupted_one(problem):
    grid = dl.grid_product(lmbda=[0.0, 1.0, 2.0, 3.0])
    with pytest.raises(dl.SweepInterrupted) as caught:
        dl.sweep(grid, _sweep_fn(problem, interrupt_at=2.0))
    resumed = dl.sweep(grid, _sweep_fn(problem), resume=caught.value.result)
    whole = dl.sweep(grid, _sweep_fn(problem))
    assert resumed.rows == whole.rows
    for got, expected in zip(resumed.histories, whole.histories):
        _assert_same_history(got, expected)
