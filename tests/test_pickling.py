"""Every decaylab exception crosses a process boundary with its data (pickle round trip)."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import pickle
import sys

import numpy as np
import pytest

import decaylab as dl
from decaylab.errors import CheckpointWriteError


def _history():
    net = dl.Network([3, 2], seed=0)
    X = np.linspace(0.0, 1.0, 12).reshape(4, 3)
    return dl.train(net, (X, np.array([0, 1, 0, 1])), epochs=2, batch_size=2, eta=0.1, seed=0)


def _errors():
    history, generator = _history(), np.random.default_rng(5)
    state = {"velocity": np.arange(8.0)}
    return [
        dl.DataFileError("file.npz: damaged"),
        dl.TrainingDiverged("diverged", history=history, epoch=3, step=1, layer=0),
        dl.TrainingInterrupted(
            "interrupted", history=history, generator=generator, optimizer_state=state
        ),
        dl.SweepInterrupted("stopped", result=dl.sweep([{"x": 1}], _square)),
        CheckpointWriteError(
            "run.npz: cannot be written", path="run.npz", history=history, generator=generator
        ),
    ]


def _square(x):
    return {"square": x * x}


def _same(first, second) -> bool:
    if isinstance(first, np.random.Generator):
        return first.bit_generator.state == second.bit_generator.state
    if isinstance(first, dict):
        return first.keys() == second.keys() and all(_same(first[k], second[k]) for k in first)
    if isinstance(first, np.ndarray):
        return np.array_equal(first, second)
    if isinstance(first, dl.SweepResult):
        return first.rows == second.rows
    return first == second


@pytest.mark.parametrize("error", _errors(), ids=lambda e: type(e).__name__)
def test_an_exception_round_trips_through_pickle_with_its_data(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.__dict__.keys() == error.__dict__.keys()
    assert all(_same(getattr(error, k), getattr(copy, k)) for k in error.__dict__)


def _raise_diverged(x):
    raise dl.TrainingDiverged("diverged", history=_history(), epoch=x, step=None, layer=None)


def test_a_pool_worker_that_diverges_reports_the_error_instead_of_hanging():
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        pending = pool.apply_async(_raise_diverged, (7,))
        with pytest.raises(dl.TrainingDiverged) as caught:
            pending.get(timeout=60)
    assert caught.value.epoch == 7 and caught.value.history == _history()


def _interrupted_at_two(x):
    if x == 2:
        raise dl.TrainingInterrupted("stopped", history=_history(), generator=None)
    return {"square": x * x}


def test_an_interrupted_worker_keeps_the_finished_rows_of_a_process_pool_sweep():
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as executor:
        with pytest.raises(dl.SweepInterrupted) as caught:
            dl.sweep(dl.grid_product(x=[0, 1, 2, 3]), _interrupted_at_two, executor=executor)
    assert [row.get("square") for row in caught.value.result.rows[:2]] == [0, 1]


def _exits_at_one(x):
    if x == 1:
        sys.exit(3)
    return {"square": x * x}


def test_sys_exit_in_fn_fails_its_configuration_and_keeps_the_others():
    result = dl.sweep(dl.grid_product(x=[0, 1, 2]), _exits_at_one)
    assert [row.get("square") for row in result.rows] == [0, None, 4]
    assert result.rows[1]["error"] == "SystemExit: 3"
