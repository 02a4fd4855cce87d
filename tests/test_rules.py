"""The Rule protocol: each rule answers its own physics, and the dynamics ask it."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import decaylab as dl  # noqa: E402
from decaylab.plots.run import plot_history  # noqa: E402
from reference import InterruptAt  # noqa: E402

SIZES = [5, 4, 3]
N, BATCH = 23, 5  # K = 5 steps an epoch, the last of 3 examples


def _data(seed=1, zero_inputs=False):
    rng = np.random.default_rng(seed)
    X = np.zeros((N, SIZES[0])) if zero_inputs else rng.normal(size=(N, SIZES[0]))
    return X, rng.integers(0, SIZES[-1], size=N)


def _nesterov_pure_decay(a, beta, steps, epochs):
    """w after each epoch of PyTorch's Nesterov step with only the L2 term, w₀ = 1, v₀ = 0."""
    w, v, out = 1.0, 0.0, [1.0]
    for _ in range(epochs):
        for _ in range(steps):
            g = a * w  # η = 1: the L2 term c·w with c = a
            v = beta * v + g
            w = w - (g + beta * v)
        out.append(w)
    return np.array(out)


@pytest.mark.parametrize("a, beta", [(0.001, 0.9), (0.01, 0.5), (0.05, 0.9), (0.2, 0.99)])
def test_nesterov_epoch_factors_follow_a_pure_decay_simulation(a, beta):
    w = _nesterov_pure_decay(a, beta, steps=5, epochs=6)
    got = dl.Momentum(beta, nesterov=True).epoch_factors(N, BATCH, 1.0, a, epochs=6)
    np.testing.assert_allclose(got, w[1:] / w[:-1], rtol=1e-9)


@pytest.mark.parametrize("a, beta", [(0.001, 0.9), (0.01, 0.5)])
def test_nesterov_epoch_factor_is_the_factor_once_the_transient_has_gone(a, beta):
    w = _nesterov_pure_decay(a, beta, steps=5, epochs=400)
    got = dl.Momentum(beta, nesterov=True).epoch_factor(N, BATCH, 1.0, a)
    assert got == pytest.approx(w[-1] / w[-2], rel=1e-9)


def test_nesterov_closed_form_and_tau_are_momentums_to_first_order():
    rule = dl.Momentum(0.9, nesterov=True)
    a, n, m = 1e-5, 1000, 10
    assert rule.closed_form(n, m, 1.0, a) == pytest.approx(np.exp(-a * n / m / 0.1), rel=1e-12)
    assert rule.relaxation_epochs(n, m, 1.0, a) == pytest.approx(m * 0.1 / (a * n), rel=1e-3)


@pytest.mark.parametrize("nesterov", [False, True], ids=["heavy ball", "nesterov"])
def test_a_layer_without_data_gradient_decays_by_the_rules_factors(nesterov):
    # Zero inputs: the first layer's data gradient is exactly 0, so it decays purely.
    rule = dl.Momentum(0.9, nesterov=nesterov)
    net = dl.Network(SIZES, init="large", seed=0)
    history = dl.train(net, _data(zero_inputs=True), epochs=6, batch_size=BATCH, eta=0.05,
                       lmbda=3.0, optimizer=rule, shuffle=False)  # fmt: skip
    measured = history.weights.norm[1:, 0] / history.weights.norm[:-1, 0]
    predicted = rule.epoch_factors(N, BATCH, 0.05, 3.0 / N, epochs=6)
    np.testing.assert_allclose(measured, np.abs(predicted), rtol=1e-10)


RULES = [dl.SGD(), dl.Momentum(0.9), dl.Momentum(0.9, nesterov=True), dl.Adam(), dl.AdamW()]
IDS = ["sgd", "momentum", "nesterov", "adam", "adamw"]


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_settings_rebuild_the_rule_through_json(rule):
    assert dl.rule_from_settings(json.loads(json.dumps(rule.settings()))) == rule


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_monitored_run_is_bit_identical_to_an_unmonitored_one(rule):
    eta = 0.5 if isinstance(rule, dl.SGD) else 0.01
    options = dict(epochs=3, batch_size=BATCH, eta=eta, lmbda=3.0, seed=2, optimizer=rule)
    plain, watched = dl.Network(SIZES, seed=0), dl.Network(SIZES, seed=0)
    dl.train(plain, _data(), optimizer_state=rule.init(plain), **options)
    monitors = [dl.DecompositionMonitor(displacement=True), dl.RotationMonitor(per_step=True)]
    dl.train(watched, _data(), optimizer_state=rule.init(watched), monitors=monitors, **options)
    np.testing.assert_array_equal(watched.params, plain.params)


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_decomposition_closes_the_norm_budget_for_every_rule(rule):
    net = dl.Network(SIZES, seed=0)
    history = dl.train(net, _data(), epochs=2, batch_size=BATCH, eta=0.01, lmbda=3.0, seed=2,
                       optimizer=rule, monitors=[dl.DecompositionMonitor()])  # fmt: skip
    record = history.monitors["decomposition"]
    change = np.diff(history.weights.norm**2, axis=0)
    total = record["contraction"] + record["radial"] + record["noise"]
    np.testing.assert_allclose(total, change, rtol=1e-9, atol=1e-12)


# -- a rule defined outside the package, through the public protocol -------------------


class TwiceDecoupledSGD:
    """SGD whose decoupled decay multiplies the weights by d = 1 − ηc twice a step.

    Written from the protocol alone (no decaylab base class): its physics answers are
    its own, and differ from eq. 93's (it decays twice as fast).
    """

    name = "twice_decoupled_sgd"

    def __init__(self, multiplies: bool = True):
        self.multiplies = multiplies

    @property
    def multiplies_weights(self):
        return self.multiplies

    def init(self, net):
        return {}

    def step(self, net, grad, state, *, coefficient, eta, batch_length):
        flat = grad.grad if isinstance(grad, dl.network.Backprop) else grad
        weights = net.weights_flat
        weights *= (1.0 - eta * coefficient) ** 2
        net.params[...] -= (eta / batch_length) * flat

    def decay_part(self, net, state, *, coefficient, eta):
        return lambda before, state: (1.0 - (1.0 - eta * coefficient) ** 2) * before

    def settings(self):
        return {"name": self.name, "multiplies": self.multiplies}

    def epoch_factor(self, n, batch_size, eta, coefficient):
        return (1.0 - eta * coefficient) ** (2 * dl.steps_per_epoch(n, batch_size))

    def epoch_factors(self, n, batch_size, eta, coefficient, *, epochs):
        return np.full(epochs, self.epoch_factor(n, batch_size, eta, coefficient))

    def closed_form(self, n, batch_size, eta, coefficient):
        return float(np.exp(-2.0 * eta * coefficient * n / batch_size))

    def relaxation_epochs(self, n, batch_size, eta, coefficient):
        return -1.0 / np.log(self.epoch_factor(n, batch_size, eta, coefficient))


ETA, LMBDA = 0.5, 2.0
C = LMBDA / N


@pytest.fixture
def outside():
    dl.register_rule(TwiceDecoupledSGD)
    yield TwiceDecoupledSGD
    del dl.rules.RULES[TwiceDecoupledSGD.name]


def _outside_run(rule, epochs=40, zero_inputs=False):
    net = dl.Network(SIZES, init="large", seed=0)
    return dl.train(net, _data(zero_inputs=zero_inputs), epochs=epochs, batch_size=BATCH, eta=ETA,
                    lmbda=LMBDA, seed=1, optimizer=rule,
                    monitors=[dl.DecompositionMonitor()])  # fmt: skip


def test_a_protocol_rule_from_outside_is_a_rule():
    assert isinstance(TwiceDecoupledSGD(), dl.Rule)


def test_find_equilibrium_takes_tau_from_the_outside_rule(outside):
    history = _outside_run(outside())
    tau = dl.find_equilibrium(history).relaxation_epochs
    # c is read back from the recorded d = 1 − ηc: equal to rounding.
    assert tau == pytest.approx(outside().relaxation_epochs(N, BATCH, ETA, C), rel=1e-12)
    assert tau == pytest.approx(dl.SGD().relaxation_epochs(N, BATCH, ETA, C) / 2, rel=1e-2)


def test_measured_factors_predict_with_the_outside_rule(outside):
    history = _outside_run(outside(), epochs=3, zero_inputs=True)
    factors = dl.measured_factors(history)
    assert factors.predicted == pytest.approx(outside().epoch_factor(N, BATCH, ETA, C), rel=1e-12)
    assert factors.closed_form == pytest.approx(outside().closed_form(N, BATCH, ETA, C), rel=1e-12)
    # Zero inputs leave the first layer to pure decay: the rule's answer is the truth.
    np.testing.assert_allclose(factors.measured[:, 0], factors.predicted, rtol=1e-12)


def test_run_figures_pure_decay_line_uses_the_outside_rule(outside):
    history = _outside_run(outside(), epochs=3)
    fig, ax = plt.subplots()
    plot_history(history, ax=ax, statistic="norm", pooled=True)
    line = next(ln for ln in ax.get_lines() if "pure decay" in str(ln.get_label()))
    factor = outside().epoch_factor(N, BATCH, ETA, C)
    x, y = line.get_data()
    np.testing.assert_allclose(y, y[0] * factor ** (x - x[0]), rtol=1e-12)
    plt.close(fig)


def test_budget_uses_the_outside_rules_multiplication(outside):
    history = _outside_run(outside(), epochs=30)
    equilibrium = dl.find_equilibrium(history, start=10, window=5, tolerance=1.0)
    budget = dl.equilibrium_budget(history, equilibrium=equilibrium)
    d = outside().epoch_factor(N, BATCH, ETA, C) ** (1 / dl.steps_per_epoch(N, BATCH))
    assert d == pytest.approx((1 - ETA * C) ** 2, rel=1e-12)
    contraction = history.monitors["decomposition"]["contraction"][equilibrium.epoch :].sum(1)
    steps = dl.steps_per_epoch(N, BATCH)
    assert budget.norm_squared[-1] == pytest.approx(
        -contraction.mean() / (steps * (1 - d * d)), rel=1e-9
    )


def test_budget_refuses_an_outside_rule_that_does_not_multiply(outside):
    history = _outside_run(outside(multiplies=False), epochs=30)
    equilibrium = dl.find_equilibrium(history, start=10, window=5, tolerance=1.0)
    with pytest.raises(ValueError, match="twice_decoupled_sgd"):
        dl.equilibrium_budget(history, equilibrium=equilibrium)


# -- an unknown recorded rule -----------------------------------------------------------


@pytest.fixture
def unknown():
    net = dl.Network(SIZES, seed=0)
    history = dl.train(net, _data(), epochs=3, batch_size=BATCH, eta=0.05, lmbda=3.0,
                       optimizer=dl.Momentum(), monitors=[dl.DecompositionMonitor()])  # fmt: skip
    history.settings["optimizer"] = {"name": "lion", "beta": 0.9}
    return history


@pytest.mark.parametrize(
    "ask",
    [
        lambda h: dl.find_equilibrium(h),
        lambda h: dl.measured_factors(h),
        lambda h: dl.equilibrium_budget(h),
        lambda h: plot_history(h, ax=plt.subplots()[1]),
        lambda h: dl.rule_of(h),
    ],
    ids=["find_equilibrium", "measured_factors", "equilibrium_budget", "plot_history", "rule_of"],
)
def test_an_unknown_recorded_rule_raises_where_its_physics_is_needed(unknown, ask):
    with pytest.raises(ValueError, match="'lion' is not known"):
        ask(unknown)
    plt.close("all")


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_interrupted_run_resumes_bit_for_bit_for_every_rule(rule):
    options = dict(batch_size=BATCH, eta=0.01, lmbda=3.0, optimizer=rule, training_metrics=False)
    straight, stopped = dl.Network(SIZES, seed=0), dl.Network(SIZES, seed=0)
    whole = dl.train(straight, _data(), epochs=4, seed=np.random.default_rng(3), **options)
    state = rule.init(stopped)
    with pytest.raises(dl.TrainingInterrupted) as caught:
        dl.train(stopped, _data(), epochs=4, seed=np.random.default_rng(3), optimizer_state=state,
                 monitors=[InterruptAt(epoch=3, step=2)], **options)  # fmt: skip
    error = caught.value
    resumed = dl.train(stopped, _data(), epochs=2, seed=error.generator, history=error.history,
                       optimizer_state=None if isinstance(rule, dl.SGD) else state,
                       **options)  # fmt: skip
    np.testing.assert_array_equal(stopped.params, straight.params)
    assert resumed.equals(whole)
