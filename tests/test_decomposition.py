"""The per-step decay/gradient decomposition and the ‖w‖² budget."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl
from reference import example_gradient, one_hot


def _train(problem, *, batch_size, eta=0.7, lmbda=3.0, epochs=2, decay="sum", shuffle=True):
    X, y = problem
    net = dl.Network([X.shape[1], 5, 3], seed=len(X))
    monitor = dl.DecompositionMonitor(displacement=True)
    history = dl.train(
        net, (X, y), epochs=epochs, batch_size=batch_size, eta=eta, lmbda=lmbda, decay=decay,
        shuffle=shuffle, seed=1, training_metrics=False, monitors=[monitor],
    )  # fmt: skip
    return net, history


@pytest.mark.parametrize(
    ("n", "batch_size", "decay"),
    [(30, 5, "sum"), (31, 4, "sum"), (23, 23, "sum"), (25, 1, "sum"), (29, 6, "per_step")],
)
def test_budget_adds_up_to_the_change_of_the_squared_norm(n, batch_size, decay, make_problem):
    lmbda = 3.0 if decay == "sum" else 0.05
    _, history = _train(make_problem(4, 3, n, seed=n), batch_size=batch_size, decay=decay,
                        lmbda=lmbda)  # fmt: skip
    record = history.monitors["decomposition"]
    budget = record["contraction"] + record["radial"] + record["noise"]
    change = np.diff(history.weights.norm**2, axis=0)
    np.testing.assert_allclose(budget, change, rtol=1e-9, atol=1e-12)


def _reference_epoch(weights, biases, X, targets, *, batch_size, eta, lmbda):
    """One in-order epoch of eq. 93 by the per-example reference, with the decomposition."""
    n, d = len(X), 1.0 - eta * lmbda / len(X)
    layers = len(weights)
    sums = {k: np.zeros(layers) for k in ("decay_norm", "gradient_norm", "radial", "noise")}
    decay_total = [np.zeros_like(w) for w in weights]
    gradient_total = [np.zeros_like(w) for w in weights]
    for start in range(0, n, batch_size):
        batch = range(start, min(start + batch_size, n))
        grad_w = [np.zeros_like(w) for w in weights]
        grad_b = [np.zeros_like(b) for b in biases]
        for i in batch:
            gw, gb = example_gradient(weights, biases, X[i], targets[i])
            grad_w = [a + b for a, b in zip(grad_w, gw)]
            grad_b = [a + b for a, b in zip(grad_b, gb)]
        for l in range(layers):
            u = (1.0 - d) * weights[l]
            v = eta / len(batch) * grad_w[l]
            sums["decay_norm"][l] += np.linalg.norm(u)
            sums["gradient_norm"][l] += np.linalg.norm(v)
            sums["radial"][l] += -2.0 * d * np.sum(weights[l] * v)
            sums["noise"][l] += np.sum(v * v)
            decay_total[l] += u
            gradient_total[l] += v
        weights = [w - (1.0 - d) * w - eta / len(batch) * g for w, g in zip(weights, grad_w)]
        biases = [b - eta / len(batch) * g for b, g in zip(biases, grad_b)]
    sums["net_decay_norm"] = np.array([np.linalg.norm(t) for t in decay_total])
    sums["net_gradient_norm"] = np.array([np.linalg.norm(t) for t in gradient_total])
    return sums


@pytest.mark.parametrize(("n", "batch_size"), [(20, 5), (23, 4)])
@pytest.mark.parametrize(
    "key", ["decay_norm", "gradient_norm", "radial", "noise", "net_decay_norm", "net_gradient_norm"]
)
def test_record_matches_a_per_example_reference(n, batch_size, key, make_problem):
    X, y = make_problem(4, 3, n, seed=n)
    net = dl.Network([4, 5, 3], seed=len(X))
    weights, biases = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    expected = _reference_epoch(
        weights, biases, X, one_hot(y, 3), batch_size=batch_size, eta=0.7, lmbda=3.0
    )
    _, history = _train((X, y), batch_size=batch_size, epochs=1, shuffle=False)
    np.testing.assert_allclose(history.monitors["decomposition"][key][0], expected[key], rtol=1e-10)


def test_displacement_is_off_by_default(make_problem):
    X, y = make_problem(4, 3, 20)
    history = dl.train(dl.Network([4, 3]), (X, y), epochs=2, batch_size=5, eta=0.5, lmbda=1.0,
                       seed=0, monitors=[dl.DecompositionMonitor()])  # fmt: skip
    assert "net_decay_norm" not in history.monitors["decomposition"]
    assert dl.decay_share(history, measure="step").shape == (2, 1)
    with pytest.raises(ValueError, match="displacement=True"):
        dl.decay_share(history, measure="net")


def test_displacement_must_be_a_bool():
    with pytest.raises(TypeError, match="displacement"):
        dl.DecompositionMonitor(displacement=1)


def test_ratio_is_decay_over_gradient_norm(make_problem):
    _, history = _train(make_problem(4, 3, 30, seed=0), batch_size=5)
    record = history.monitors["decomposition"]
    np.testing.assert_allclose(record["ratio"], record["decay_norm"] / record["gradient_norm"])


def test_record_has_one_row_per_epoch_and_layer(make_problem):
    _, history = _train(make_problem(4, 3, 30, seed=0), batch_size=5, epochs=3)
    for key, values in history.monitors["decomposition"].items():
        assert values.shape == (3, 2), key


def _zero_input_history(lmbda):
    rng = np.random.default_rng(0)
    problem = (np.zeros((30, 4)), rng.integers(0, 3, 30))
    return _train(problem, batch_size=7, lmbda=lmbda)[1]


@pytest.mark.parametrize("key", ["gradient_norm", "radial", "noise"])
def test_zero_inputs_give_the_first_layer_no_gradient_part(key):
    record = _zero_input_history(3.0).monitors["decomposition"]
    np.testing.assert_array_equal(record[key][:, 0], 0.0)


def test_zero_inputs_give_the_first_layer_no_net_gradient_displacement():
    # Σv is w_start − w_end − Σu, so it is zero only up to rounding.
    record = _zero_input_history(3.0).monitors["decomposition"]
    assert np.all(record["net_gradient_norm"][:, 0] <= 1e-12 * record["net_decay_norm"][:, 0])


@pytest.mark.parametrize("measure", ["norm", "net", "step"])
def test_a_layer_without_data_gradient_is_all_decay(measure):
    share = dl.decay_share(_zero_input_history(3.0), measure=measure)
    np.testing.assert_allclose(share[:, 0], 1.0, rtol=1e-12)
    assert np.all(share[:, 1] < 1.0)


@pytest.mark.parametrize("measure", ["norm", "net", "step"])
def test_without_decay_the_share_is_zero(measure, make_problem):
    _, history = _train(make_problem(4, 3, 30, seed=0), batch_size=5, lmbda=0.0)
    np.testing.assert_array_equal(dl.decay_share(history, measure=measure), 0.0)


def test_norm_share_reads_the_budget(make_problem):
    _, history = _train(make_problem(4, 3, 30, seed=0), batch_size=5)
    record = history.monitors["decomposition"]
    contraction = -record["contraction"]
    expected = contraction / (contraction + np.abs(record["radial"]) + record["noise"])
    np.testing.assert_allclose(dl.decay_share(history), expected, rtol=1e-14)


def test_share_works_on_the_record_and_after_save_and_load(tmp_path, make_problem):
    _, history = _train(make_problem(4, 3, 30, seed=0), batch_size=5)
    history.save(tmp_path / "run.npz")
    loaded = dl.History.load(tmp_path / "run.npz")
    expected = dl.decay_share(history)
    np.testing.assert_array_equal(dl.decay_share(loaded), expected)
    np.testing.assert_array_equal(dl.decay_share(history.monitors["decomposition"]), expected)


@pytest.mark.parametrize(
    ("share", "threshold", "layer", "expected"),
    [
        ([[0.9, 0.2], [0.6, 0.7], [0.4, 0.9]], 0.5, 0, [1, 2]),
        ([[0.9, 0.2], [0.6, 0.7], [0.4, 0.9]], 0.5, 1, [2, 3]),
        ([[0.9, 0.2], [0.6, 0.7], [0.4, 0.9]], 0.5, None, [2]),
        ([[0.9, 0.2], [0.6, 0.7], [0.4, 0.9]], 0.8, 0, [1]),
        ([[0.5, 0.5]], 0.5, 0, []),
    ],
)
def test_dominated_epochs_are_those_above_the_threshold(share, threshold, layer, expected):
    share = np.array(share)
    record = {key: np.zeros_like(share) for key in dl.dynamics.decomposition.RECORD_KEYS}
    record["decay_norm"], record["gradient_norm"] = share, 1.0 - share
    epochs = dl.decay_dominated_epochs(record, threshold, layer=layer, measure="step")
    np.testing.assert_array_equal(epochs, expected)


# ----------------------------------------------------------------------------- claim 1


@pytest.fixture(scope="module")
def digits_runs(digits):
    runs = {}
    for lmbda in (5.0, 0.0):
        net = dl.Network([64, 30, 10], init="large", seed=0)
        runs[lmbda] = dl.train(
            net, digits.train, epochs=3, batch_size=10, eta=0.5, lmbda=lmbda, seed=0,
            training_metrics=False, monitors=[dl.DecompositionMonitor()],
        )  # fmt: skip
    return runs


def test_decay_dominates_the_first_digits_epochs_with_large_init(digits_runs):
    # Claim 1: λ = 5, N(0, 1) weights; decay drives over 90% of the hidden layer's ‖w‖² change.
    epochs = dl.decay_dominated_epochs(digits_runs[5.0], threshold=0.9, layer=0)
    np.testing.assert_array_equal(epochs[:2], [1, 2])


def test_without_decay_no_digits_epoch_is_decay_dominated(digits_runs):
    for layer in (0, 1):
        assert dl.decay_dominated_epochs(digits_runs[0.0], threshold=0.5, layer=layer).size == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(measure="path"), ValueError, "measure"),
        (dict(threshold=1.0), ValueError, "threshold"),
        (dict(threshold=-0.1), ValueError, "threshold"),
        (dict(layer=2), ValueError, "layer"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match, digits_runs):
    with pytest.raises(error, match=match):
        dl.decay_dominated_epochs(digits_runs[5.0], **kwargs)


def test_a_history_without_the_monitor_is_rejected(make_problem):
    X, y = make_problem(4, 3, 20)
    history = dl.train(dl.Network([4, 3]), (X, y), epochs=1, batch_size=5, eta=0.5, seed=0)
    with pytest.raises(ValueError, match="DecompositionMonitor"):
        dl.decay_share(history)


def test_dominated_epochs_by_default_judge_every_layer(digits_runs):
    record = digits_runs[5.0].monitors["decomposition"]
    # The "norm" share of each layer, from the record's terms.
    contraction = np.abs(record["contraction"])
    share = contraction / (contraction + np.abs(record["radial"]) + record["noise"])
    # Nielsen's "almost entirely": the hidden layer passes 0.9 in epochs 1 and 2, the output
    # layer in none, so judging every layer marks no epoch.
    expected = [e + 1 for e in range(len(share)) if all(share[e] > 0.9)]
    np.testing.assert_array_equal(
        dl.decay_dominated_epochs(digits_runs[5.0], threshold=0.9), expected
    )
