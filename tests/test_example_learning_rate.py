"""The learning-rate example: its runs are the runs it says, and it draws its figure."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import decaylab as dl  # noqa: E402
from small_data import small_digits  # noqa: E402

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "learning_rate_equilibrium.py"
SETTINGS = {"etas": (0.5, 2.0), "seeds": 2, "hidden": 8, "relaxations": 12.0}


@pytest.fixture(scope="module")
def small():
    return small_digits(200, 100)


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("learning_rate_equilibrium", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def study(script, small, tmp_path_factory):
    figure = tmp_path_factory.mktemp("figure") / "learning_rate.png"
    return script.main(data=small, figure=str(figure), **SETTINGS), figure


def test_every_run_trains_for_the_same_number_of_relaxation_times(study):
    result, _ = study
    # τ = m/(ηλ) epochs with m = 10, λ = 5: 12 τ is 48 epochs at η = 0.5, 12 at η = 2.
    assert result["epochs"].tolist() == [48, 48, 12, 12]
    assert result["eta"].tolist() == [0.5, 0.5, 2.0, 2.0]


def test_each_run_is_the_run_train_gives_alone(study, small):
    result, _ = study
    for eta, seed, epochs, history in zip(
        result["eta"], result["seed"], result["epochs"], result["histories"]
    ):
        net = dl.Network([64, 8, 10], init="large", seed=int(seed))
        alone = dl.train(
            net,
            small.train,
            epochs=int(epochs),
            batch_size=10,
            eta=float(eta),
            lmbda=5.0,
            seed=int(seed),
            training_metrics=False,
        )
        np.testing.assert_array_equal(history.weights.norm, alone.weights.norm)


def test_equilibria_are_those_find_equilibrium_reports(study):
    result, _ = study
    for k, history in enumerate(result["histories"]):
        found = dl.find_equilibrium(history)
        assert result["reached"][k] == found.reached
        if found.reached:
            assert result["norm_squared"][k] == found.total_norm_squared
            assert 0.0 < result["noise_share"][k] < 1.0
        else:
            assert math.isnan(result["norm_squared"][k])


def test_the_fit_covers_the_runs_that_reached_equilibrium(study):
    result, _ = study
    reached = int(result["reached"].sum())
    if reached >= 3:
        assert result["fit"]["points"] == reached
    else:
        assert result["fit"] is None


def test_the_figure_is_written(study):
    _, figure = study
    assert figure.read_bytes()[:4] == b"\x89PNG"


def test_the_line_fit_recovers_a_known_line(script):
    x = np.array([0.25, 0.5, 1.0, 2.0, 0.25, 0.5, 1.0, 2.0])
    noise = np.array([0.1, -0.1, 0.2, -0.2, -0.1, 0.1, -0.2, 0.2])
    fit = script.fit_line(x, 300.0 + 25.0 * x + noise)
    # The same regression written out: slope = Σ(x − x̄)(y − ȳ)/Σ(x − x̄)².
    y = 300.0 + 25.0 * x + noise
    slope = np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2)
    assert fit["slope"] == pytest.approx(slope)
    assert fit["intercept"] == pytest.approx(y.mean() - slope * x.mean())
    low, high = fit["interval"]
    assert low < 25.0 < high and high - low < 1.0
