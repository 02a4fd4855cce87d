"""Step monitors under momentum, Adam + L2 and AdamW, against a split written out here."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl
from decaylab.optimizers import Adam, AdamW, Momentum
from reference import example_gradient, one_hot

SIZES = [5, 4, 3]
N, BATCH, EPOCHS, LMBDA = 23, 5, 3, 3.0  # last batch of 3: its own m_B
RULES = [(Momentum(beta=0.9), 0.05), (Adam(), 0.01), (AdamW(), 0.01)]
IDS = ["momentum", "adam", "adamw"]


def _data(seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N, SIZES[0])), rng.integers(0, SIZES[-1], size=N)


def _mean_gradient(weights, biases, X, targets):
    gw = [np.zeros_like(w) for w in weights]
    gb = [np.zeros_like(b) for b in biases]
    for x, t in zip(X, targets):
        ew, eb = example_gradient(weights, biases, x, t)
        for l in range(len(weights)):
            gw[l] += ew[l] / len(X)
            gb[l] += eb[l] / len(X)
    return gw, gb


def _reference_epochs(rule, weights, biases, X, labels, *, c, eta, b1=0.9, b2=0.999, eps=1e-8):
    """Each step's decay part D and rest R per layer, the rule written out with two moments:
    one of the data gradient alone and one of the L2 term alone (their sum is the rule's)."""
    weights = [np.array(w, dtype=float) for w in weights]
    biases = [np.array(b, dtype=float) for b in biases]
    targets = one_hot(labels, SIZES[-1])
    data_moment = [np.zeros_like(w) for w in weights]
    decay_moment = [np.zeros_like(w) for w in weights]
    bias_moment = [np.zeros_like(b) for b in biases]
    second = [np.zeros_like(w) for w in weights]
    bias_second = [np.zeros_like(b) for b in biases]
    epochs, t = [], 0
    for _ in range(EPOCHS):
        steps = []
        for start in range(0, N, BATCH):
            gw, gb = _mean_gradient(
                weights, biases, X[start : start + BATCH], targets[start : start + BATCH]
            )
            t += 1
            parts = []
            for l, (w, g) in enumerate(zip(weights, gw)):
                if rule == "momentum":
                    data_moment[l] = 0.9 * data_moment[l] + g
                    decay_moment[l] = 0.9 * decay_moment[l] + c * w
                    D, R = eta * decay_moment[l], eta * data_moment[l]
                elif rule == "adam":
                    u = g + c * w
                    data_moment[l] = b1 * data_moment[l] + (1 - b1) * g
                    decay_moment[l] = b1 * decay_moment[l] + (1 - b1) * c * w
                    second[l] = b2 * second[l] + (1 - b2) * u**2
                    denominator = np.sqrt(second[l] / (1 - b2**t)) + eps
                    D = eta * decay_moment[l] / (1 - b1**t) / denominator
                    R = eta * data_moment[l] / (1 - b1**t) / denominator
                else:
                    data_moment[l] = b1 * data_moment[l] + (1 - b1) * g
                    second[l] = b2 * second[l] + (1 - b2) * g**2
                    D = eta * c * w
                    R = (
                        eta
                        * data_moment[l]
                        / (1 - b1**t)
                        / (np.sqrt(second[l] / (1 - b2**t)) + eps)
                    )
                parts.append((w.copy(), D, R))
                weights[l] = w - D - R
            for l, g in enumerate(gb):
                if rule == "momentum":
                    bias_moment[l] = 0.9 * bias_moment[l] + g
                    biases[l] = biases[l] - eta * bias_moment[l]
                else:
                    bias_moment[l] = b1 * bias_moment[l] + (1 - b1) * g
                    bias_second[l] = b2 * bias_second[l] + (1 - b2) * g**2
                    v_hat = bias_second[l] / (1 - b2**t)
                    biases[l] = biases[l] - eta * bias_moment[l] / (1 - b1**t) / (
                        np.sqrt(v_hat) + eps
                    )
            steps.append(parts)
        epochs.append(steps)
    return epochs


def _expected_record(epochs):
    """The decomposition record from the reference steps, by its definitions."""

    def total(f):
        return np.array(
            [
                [sum(f(*step[l]) for step in steps) for l in range(len(SIZES) - 1)]
                for steps in epochs
            ]
        )

    return {
        "decay_norm": total(lambda w, D, R: np.linalg.norm(D)),
        "gradient_norm": total(lambda w, D, R: np.linalg.norm(R)),
        "contraction": total(lambda w, D, R: np.sum((w - D) ** 2) - np.sum(w**2)),
        "radial": total(lambda w, D, R: -2 * np.sum((w - D) * R)),
        "noise": total(lambda w, D, R: np.sum(R**2)),
    }


def _train(optimizer, eta, monitors=(), *, shuffle=False, epochs=EPOCHS):
    X, labels = _data()
    net = dl.Network(SIZES, init="large", seed=0)
    history = dl.train(
        net,
        (X, labels),
        epochs=epochs,
        batch_size=BATCH,
        eta=eta,
        lmbda=LMBDA,
        shuffle=shuffle,
        seed=0,
        training_metrics=False,
        optimizer=optimizer,
        monitors=list(monitors),
    )
    return net, history


@pytest.mark.parametrize("optimizer, eta", RULES, ids=IDS)
def test_decomposition_matches_the_split_written_out(optimizer, eta):
    X, labels = _data()
    start = dl.Network(SIZES, init="large", seed=0)
    expected = _expected_record(
        _reference_epochs(
            optimizer.name, start.weights, start.biases, X, labels, c=LMBDA / N, eta=eta
        )
    )
    _, history = _train(optimizer, eta, [dl.DecompositionMonitor()])
    record = history.monitors["decomposition"]
    for key, want in expected.items():
        np.testing.assert_allclose(record[key], want, rtol=1e-9, atol=1e-13, err_msg=key)


@pytest.mark.parametrize("optimizer, eta", RULES, ids=IDS)
def test_budget_closes_on_the_measured_change_of_the_squared_norm(optimizer, eta):
    _, history = _train(optimizer, eta, [dl.DecompositionMonitor()], shuffle=True)
    record = history.monitors["decomposition"]
    change = np.diff(history.weights.norm**2, axis=0)
    budget = record["contraction"] + record["radial"] + record["noise"]
    np.testing.assert_allclose(budget, change, rtol=1e-11, atol=0)


@pytest.mark.parametrize("optimizer, eta", RULES, ids=IDS)
def test_displacement_parts_add_up_to_the_epoch_change(optimizer, eta):
    X, labels = _data()
    start = dl.Network(SIZES, init="large", seed=0)
    steps = _reference_epochs(
        optimizer.name, start.weights, start.biases, X, labels, c=LMBDA / N, eta=eta
    )
    want = [
        [np.linalg.norm(sum(step[l][1] for step in epoch)) for l in range(2)] for epoch in steps
    ]
    _, history = _train(optimizer, eta, [dl.DecompositionMonitor(displacement=True)])
    np.testing.assert_allclose(history.monitors["decomposition"]["net_decay_norm"], want, rtol=1e-9)


@pytest.mark.parametrize("optimizer, eta", RULES, ids=IDS)
def test_monitored_run_is_bit_identical_to_an_unmonitored_one(optimizer, eta):
    monitors = [dl.DecompositionMonitor(displacement=True), dl.RotationMonitor(per_step=True)]
    plain, plain_history = _train(optimizer, eta, shuffle=True)
    watched, watched_history = _train(optimizer, eta, monitors, shuffle=True)
    np.testing.assert_array_equal(watched.params, plain.params)
    np.testing.assert_array_equal(watched_history.weights.norm, plain_history.weights.norm)


@pytest.mark.parametrize("optimizer, eta", RULES, ids=IDS)
def test_mean_step_angle_matches_the_angles_written_out(optimizer, eta):
    X, labels = _data()
    start = dl.Network(SIZES, init="large", seed=0)
    steps = _reference_epochs(
        optimizer.name, start.weights, start.biases, X, labels, c=LMBDA / N, eta=eta
    )

    def angle(a, b):
        a, b = a.ravel(), b.ravel()
        along = a @ b / (a @ a) * a
        return np.arctan2(np.linalg.norm(b - along) * np.linalg.norm(a), a @ b)

    want = [
        [np.mean([angle(s[l][0], s[l][0] - s[l][1] - s[l][2]) for s in epoch]) for l in range(2)]
        for epoch in steps
    ]
    _, history = _train(optimizer, eta, [dl.RotationMonitor(per_step=True)])
    np.testing.assert_allclose(history.monitors["rotation"]["mean_step_angle"], want, rtol=1e-7)


class _Eq93OnlyMonitor:
    """A monitor of the protocol before rules were one kind: step() before eq. 93's update."""

    name = "plain"

    def start(self, net, *, eta, multiplier): ...

    def step(self, net, grad_weights, batch_length): ...

    def end_epoch(self, net): ...

    def result(self):
        return {}


@pytest.mark.parametrize("optimizer", [None, Momentum()], ids=["eq93", "momentum"])
def test_train_refuses_a_monitor_without_step_parts(optimizer):
    with pytest.raises(TypeError, match=r"lacks \['step_parts'\]"):
        _train(optimizer, 0.05, [_Eq93OnlyMonitor()])


@pytest.mark.parametrize(
    "optimizer, state_key", [(Momentum(), "velocity"), (Adam(), "step")], ids=["momentum", "adam"]
)
def test_train_refuses_monitors_on_a_state_under_way(optimizer, state_key):
    X, labels = _data()
    net = dl.Network(SIZES, init="large", seed=0)
    state = optimizer.init(net)
    state[state_key][...] = 1
    before = net.params.copy()
    with pytest.raises(ValueError, match="decay share is unknown"):
        dl.train(
            net,
            (X, labels),
            epochs=1,
            batch_size=BATCH,
            eta=0.01,
            lmbda=LMBDA,
            seed=0,
            optimizer=optimizer,
            optimizer_state=state,
            monitors=[dl.DecompositionMonitor()],
        )
    np.testing.assert_array_equal(net.params, before)


def test_adamw_monitors_accept_a_state_under_way():
    X, labels = _data()
    net = dl.Network(SIZES, init="large", seed=0)
    state = AdamW().init(net)
    dl.train(
        net,
        (X, labels),
        epochs=1,
        batch_size=BATCH,
        eta=0.01,
        lmbda=LMBDA,
        seed=0,
        optimizer="adamw",
        optimizer_state=state,
    )
    history = dl.train(
        net,
        (X, labels),
        epochs=1,
        batch_size=BATCH,
        eta=0.01,
        lmbda=LMBDA,
        seed=1,
        optimizer="adamw",
        optimizer_state=state,
        monitors=[dl.DecompositionMonitor()],
    )
    record = history.monitors["decomposition"]
    budget = record["contraction"] + record["radial"] + record["noise"]
    np.testing.assert_allclose(budget[0], np.diff(history.weights.norm**2, axis=0)[0], rtol=1e-11)
