"""Question 3 trains each distinct run once, and its MNIST sweep only what it reports.

Reference values come from the same runs trained separately (:func:`run_one`)
and measured by the full per-run analysis (:func:`run_values`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import decaylab as dl
from decaylab.experiments import runs
from decaylab.experiments.q3_analysis import run_values
from decaylab.experiments.q3_equilibrium import _spec
from small_data import small_digits

# τ = m/(ηλ) = 1 epoch: every run settles within a few dozen epochs.
FAST = {"eta": 1.0, "lmbda": 10.0, "epochs": 0, "seeds": 2, "sweep_hidden": 8}


@pytest.fixture(scope="module")
def data():
    return small_digits(200, 100)


@pytest.fixture(scope="module")
def counted(data):
    """Q3 with an n sweep reaching the whole training set, and the specs it trained."""
    trained = []
    original = runs._run_indices

    def spy(specs, data):
        trained.extend(specs)
        return original(specs, data)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runs, "_run_indices", spy)
        record = dl.equilibrium_size(
            data, widths=(4, 8), lmbdas=(10.0,), ns=(100, 200), batch_sizes=(10,), **FAST
        )
    return record, trained


def _settings(data, **changes):
    """The checked settings ``_spec`` takes, as equilibrium_size makes them."""
    from decaylab.experiments.q3_equilibrium import _checked

    given = dict(
        widths=(4, 8), seeds=2, eta=1.0, lmbda=10.0, batch_size=10, epochs=0,
        max_relaxations=60.0, init="large", lmbdas=(10.0,), ns=(100, 200), batch_sizes=(10,),
        sweep_hidden=8, relaxation_times=3.0, window_relaxations=3.0, tolerance=0.002, z=1.0,
        law_margin=0.25, max_interval_width=0.5, level_factor=3.0, vanished_share=0.05,
        balancing_share=0.25, confidence=0.95, mnist_widths=(10,), mnist_n=100,
    )  # fmt: skip
    return _checked(data, None, **{**given, **changes})[0]


def test_q3_trains_the_whole_training_set_of_the_n_sweep_once(counted):
    # Distinct runs: width 4; width 8 (= λ 10 = n 200 = m 10 at sweep_hidden 8); n 100.
    _, trained = counted
    assert len(trained) == 3 * 2
    assert len(set(trained)) == len(trained)


@pytest.mark.parametrize("seed", [0, 1])
def test_q3_whole_training_set_equals_its_separate_run_on_the_first_n_examples(counted, data, seed):
    record, _ = counted
    spec = replace(_spec(_settings(data), (64, 8, 10), n_train=200), seed=seed)
    separate = run_values(runs.run_one(spec, data))
    assert record.n_reached[1, seed] and separate["reached"]
    np.testing.assert_allclose(record.n_norm_squared[1, seed], separate["norm_squared"], rtol=1e-10)


@pytest.fixture(scope="module")
def mnist():
    full = dl.load_mnist()
    return dl.Dataset(
        dl.Split(full.train.X[:100], full.train.y[:100]),
        dl.Split(full.validation.X[:50], full.validation.y[:50]),
        full.test,
        10,
        "small MNIST",
    )


def test_q3_mnist_sweep_rms_equals_its_monitored_runs_trained_separately(data, mnist):
    record = dl.equilibrium_size(
        data, widths=(4, 8), lmbdas=(), ns=(), batch_sizes=(), mnist=mnist,
        mnist_widths=(4, 8), mnist_n=100, **FAST,
    )  # fmt: skip
    s = _settings(data, lmbdas=(), ns=(), batch_sizes=())
    expected = [
        [run_values(runs.run_one(replace(_spec(s, (784, h, 10), n_train=100), seed=k), mnist))
         for k in (0, 1)]
        for h in (4, 8)
    ]  # fmt: skip
    rms = np.array([[v["rms"] for v in row] for row in expected])
    reached = np.array([[v["reached"] for v in row] for row in expected])
    np.testing.assert_array_equal(record.mnist_reached, reached)
    np.testing.assert_allclose(record.mnist_equilibrium_rms, rms, rtol=1e-10)
