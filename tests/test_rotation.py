"""Angular updates, the effective learning rate and the rotation monitor."""

from __future__ import annotations

import math

import numpy as np
import pytest

import decaylab as dl
from reference import example_gradient, one_hot


def _rotated_pair(theta, scale_before=1.0, scale_after=1.0, dimension=5, seed=0):
    """Two vectors at angle theta, built from an orthonormal pair."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((dimension, 2)))
    before = scale_before * q[:, 0]
    after = scale_after * (math.cos(theta) * q[:, 0] + math.sin(theta) * q[:, 1])
    return before, after


@pytest.mark.parametrize(
    ("theta", "scale_before", "scale_after"),
    [(1e-9, 1.0, 1.0), (1e-4, 3.0, 0.2), (0.3, 1.0, 10.0), (math.pi / 2, 2.0, 2.0),
     (math.pi - 1e-6, 1.0, 1.0), (0.0, 1.0, 5.0)],
)  # fmt: skip
def test_angular_update_recovers_a_known_angle(theta, scale_before, scale_after):
    before, after = _rotated_pair(theta, scale_before, scale_after)
    assert dl.angular_update(before, after) == pytest.approx(theta, rel=1e-7, abs=1e-15)


def test_angular_update_flattens_matrices():
    before, after = _rotated_pair(0.25, dimension=12)
    assert dl.angular_update(before.reshape(3, 4), after.reshape(3, 4)) == pytest.approx(0.25)


@pytest.mark.parametrize(("before", "after"), [(np.zeros(3), np.ones(3)), (np.ones(3), np.ones(4))])
def test_angular_update_rejects_zero_or_mismatched_vectors(before, after):
    with pytest.raises(ValueError, match="w_"):
        dl.angular_update(before, after)


@pytest.mark.parametrize(("eta", "norm"), [(0.5, 2.0), (0.1, 0.3)])
def test_effective_learning_rate_is_eta_over_squared_norm(eta, norm):
    assert dl.effective_learning_rate(eta, norm) == pytest.approx(eta / norm**2)


@pytest.mark.parametrize(("eta", "lmbda", "n"), [(0.5, 5.0, 1000), (0.1, 5.0, 50000), (1, 1, 4)])
def test_equilibrium_angle_is_arccos_of_the_multiplier(eta, lmbda, n):
    d = 1.0 - eta * lmbda / n
    assert dl.equilibrium_angle(eta, lmbda, n) == pytest.approx(math.acos(d), rel=1e-14)
    approximate = dl.equilibrium_angle(eta, lmbda, n, approximate=True)
    assert approximate == pytest.approx(math.sqrt(2 * eta * lmbda / n), rel=1e-14)


@pytest.mark.parametrize("d", [0.98, 0.995])
def test_a_scale_invariant_walk_settles_at_the_equilibrium_angle(d):
    # w' = d·w − v with v ⟂ w of fixed length: ‖w‖ settles where d²‖w‖² + ‖v‖² = ‖w‖².
    rng = np.random.default_rng(0)
    w = rng.standard_normal(50)
    angles = []
    for step in range(int(40 / (1 - d))):
        v = rng.standard_normal(50)
        v -= (v @ w) / (w @ w) * w
        v *= 0.1 / np.linalg.norm(v)
        new = d * w - v
        if step >= int(30 / (1 - d)):
            angles.append(dl.angular_update(w, new))
        w = new
    predicted = dl.equilibrium_angle(1.0, 1.0 - d, 1, decay="decoupled")  # d = 1 − wd
    assert np.mean(angles) == pytest.approx(predicted, rel=1e-6)


# ----------------------------------------------------------------------------- monitor


def _reference_weights(net, X, targets, *, batch_size, eta, lmbda, epochs):
    """Weights after every in-order step of eq. 93, by the per-example reference."""
    weights = [w.copy() for w in net.weights]
    biases = [b.copy() for b in net.biases]
    d = 1.0 - eta * lmbda / len(X)
    trajectory = [[w.copy() for w in weights]]
    boundaries = [0]
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            batch = range(start, min(start + batch_size, len(X)))
            sums = [example_gradient(weights, biases, X[i], targets[i]) for i in batch]
            grad_w = [sum(s[0][l] for s in sums) for l in range(len(weights))]
            grad_b = [sum(s[1][l] for s in sums) for l in range(len(weights))]
            weights = [d * w - eta / len(batch) * g for w, g in zip(weights, grad_w)]
            biases = [b - eta / len(batch) * g for b, g in zip(biases, grad_b)]
            trajectory.append([w.copy() for w in weights])
        boundaries.append(len(trajectory) - 1)
    return trajectory, boundaries


def _cosine_angle(a, b):
    a, b = a.ravel(), b.ravel()
    return math.acos(min(1.0, a @ b / math.sqrt((a @ a) * (b @ b))))


@pytest.fixture(scope="module")
def monitored_run():
    rng = np.random.default_rng(3)
    X, y = rng.uniform(-1, 1, (23, 4)), rng.integers(0, 3, 23)
    net = dl.Network([4, 5, 3], seed=3)
    settings = dict(batch_size=5, eta=2.0, lmbda=3.0, epochs=3)
    trajectory, boundaries = _reference_weights(net, X, one_hot(y, 3), **settings)
    history = dl.train(net, (X, y), shuffle=False, training_metrics=False,
                       monitors=[dl.RotationMonitor(per_step=True)], **settings)  # fmt: skip
    return history, trajectory, boundaries


def test_epoch_angle_is_between_the_epochs_start_and_end_weights(monitored_run):
    history, trajectory, boundaries = monitored_run
    expected = [
        [_cosine_angle(trajectory[a][l], trajectory[b][l]) for l in range(2)]
        for a, b in zip(boundaries[:-1], boundaries[1:])
    ]
    np.testing.assert_allclose(history.monitors["rotation"]["angle"], expected, rtol=1e-8)


def test_mean_step_angle_averages_the_angles_of_single_steps(monitored_run):
    history, trajectory, boundaries = monitored_run
    expected = [
        [
            np.mean([_cosine_angle(trajectory[t][l], trajectory[t + 1][l]) for t in range(a, b)])
            for l in range(2)
        ]
        for a, b in zip(boundaries[:-1], boundaries[1:])
    ]
    np.testing.assert_allclose(history.monitors["rotation"]["mean_step_angle"], expected, rtol=1e-7)


def test_monitor_effective_learning_rate_uses_the_end_of_epoch_norm(monitored_run):
    history, _, _ = monitored_run
    expected = 2.0 / history.weights.norm[1:] ** 2
    np.testing.assert_allclose(
        history.monitors["rotation"]["effective_learning_rate"], expected, rtol=1e-12
    )


def test_per_step_angles_are_off_by_default(make_problem):
    X, y = make_problem(4, 3, 20)
    history = dl.train(dl.Network([4, 3]), (X, y), epochs=2, batch_size=5, eta=0.5, seed=0,
                       monitors=[dl.RotationMonitor()])  # fmt: skip
    record = history.monitors["rotation"]
    assert set(record) == {"angle", "effective_learning_rate"}
    assert record["angle"].shape == (2, 1)


def test_per_step_must_be_a_bool():
    with pytest.raises(TypeError, match="per_step"):
        dl.RotationMonitor(per_step="yes")


def test_equilibrium_angle_refuses_to_guess_n_weights_for_the_mean_convention():
    with pytest.raises(ValueError, match="n_weights"):
        dl.equilibrium_angle(0.5, 5.0, 1000, decay="mean")
