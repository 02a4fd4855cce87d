"""The equilibrium test after each chunk tests only the new boundaries, with the same answer.

The reference is :func:`decaylab.find_equilibrium` on the whole history.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import decaylab as dl
from decaylab.experiments.adaptive import detect
from test_equilibrium import _history, _relaxation

# τ = 5: start and window 15 epochs, so the first boundary is testable after 30 epochs.
TAU = 5.0


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize(("short", "long"), [(29, 60), (31, 32), (40, 90), (60, 200)])
@pytest.mark.parametrize("noise", [0.0, 0.01, 0.05])
def test_detect_after_an_earlier_answer_is_the_detector_on_the_whole_history(
    seed, short, long, noise
):
    series = _relaxation(TAU, 300.0, long, noise=noise, seed=seed)
    detection = {"relaxation_epochs": TAU, "tolerance": 0.002}
    earlier = dl.find_equilibrium(_history(series[: short + 1]), **detection)
    got = detect(_history(series), detection, earlier)
    expected = dl.find_equilibrium(_history(series), **detection)
    for name in (f.name for f in dataclasses.fields(expected)):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), err_msg=name)


def test_detect_tests_only_the_boundaries_after_those_tested_before(monkeypatch):
    import decaylab.dynamics.equilibrium as equilibrium

    series = _relaxation(TAU, 300.0, 100)
    detection = {"relaxation_epochs": TAU, "tolerance": 1e-9}  # nothing passes
    earlier = dl.find_equilibrium(_history(series[:61]), **detection)
    tested = []
    original = equilibrium.window_drift
    monkeypatch.setattr(
        equilibrium, "window_drift", lambda s, b, w, t: tested.append(b) or original(s, b, w, t)
    )
    detect(_history(series), detection, earlier)
    assert tested == list(range(61 - 15 + 1, 101 - 15 + 1))
    assert earlier.drift_epoch == 61 - 15 and not math.isnan(earlier.drift)
