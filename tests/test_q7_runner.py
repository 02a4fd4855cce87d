"""Question 7 through the batched runner: its equilibria and transfer scores as runs trained alone.

The reference trains each rule at each λ and seed alone with
:func:`train_until_equilibrium`, from the documented seed streams, and reads
the detector's answer and Adam + L2's effective decay off that run.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import decaylab as dl
from decaylab.conventions import steps_per_epoch
from decaylab.dynamics.optimizer_factors import adam_l2_decay
from decaylab.experiments.adaptive import train_until_equilibrium
from decaylab.experiments.q7_factors import optimizer_of
from decaylab.experiments.q7_optimizers import optimizer_comparison

SETTINGS = dict(
    hidden=8, seeds=2, equilibrium_n=100, max_relaxations=12.0, average_epochs=1, ns=(100, 200),
    transfer_timescales=(2.0, 8.0, 32.0), transfer_epochs=2,
)  # fmt: skip


@pytest.fixture(scope="module")
def record():
    return optimizer_comparison(**SETTINGS)


def _alone(rule, lam, seed, eta):
    """One equilibrium run trained by itself: (equilibrium, history, net, state)."""
    net_stream, order_stream = np.random.SeedSequence(seed).spawn(2)
    net = dl.Network((64, 8, 10), init="scaled", seed=np.random.default_rng(net_stream))
    optimizer = optimizer_of(rule, 0.9)
    state = None if optimizer is None else optimizer.init(net)
    data = dl.load_digits().train
    run = train_until_equilibrium(
        net, (data.X[:100], data.y[:100]), batch_size=10, eta=eta, lmbda=lam,
        max_relaxations=12.0, seed=np.random.default_rng(order_stream), optimizer=optimizer,
        optimizer_state=state,
    )  # fmt: skip
    return run.equilibrium, run.history, net, state


@pytest.fixture(scope="module")
def alone(record):
    return {
        (rule, g, s): _alone(rule, lam, s, record.eta[rule])
        for rule in record.rules
        for g, lam in enumerate(record.equilibrium_lmbda[rule])
        for s in (0, 1)
    }


@pytest.mark.parametrize("rule", ["sgd", "momentum", "adam", "adamw"])
def test_q7_equilibria_equal_the_runs_trained_one_at_a_time(record, alone, rule):
    G = len(record.equilibrium_lmbda[rule])
    found = [[alone[rule, g, s][0] for s in (0, 1)] for g in range(G)]
    tau = np.array([[f.relaxation_epochs for f in row] for row in found])
    norm2 = np.array([[f.total_norm_squared if f.reached else math.nan for f in row]
                      for row in found])  # fmt: skip
    epoch = np.array([[f.epoch if f.reached else math.nan for f in row] for row in found])
    np.testing.assert_allclose(record.equilibrium_tau[rule], tau, rtol=1e-10)
    np.testing.assert_allclose(record.equilibrium_norm2[rule], norm2, rtol=1e-10)
    np.testing.assert_array_equal(record.equilibrium_epoch[rule], epoch)


def test_q7_adam_l2_decay_equals_that_of_its_run_trained_alone(record, alone):
    middle = len(record.equilibrium_lmbda["adam"]) // 2
    lam, adam = record.equilibrium_lmbda["adam"][middle], optimizer_of("adam", 0.9)
    decays = [
        adam_l2_decay(
            alone["adam", middle, s][2],
            alone["adam", middle, s][3],
            eta=record.eta["adam"],
            coefficient=lam / 100,
            beta2=adam.beta2,
            eps=adam.eps,
            steps=steps_per_epoch(100, 10),
        )  # fmt: skip
        for s in (0, 1)
    ]
    np.testing.assert_allclose(record.adam_ratio, [d.ratio for d in decays], rtol=1e-10)
    np.testing.assert_allclose(
        record.adam_gradient_rms, [d.gradient_rms for d in decays], rtol=1e-10
    )


def test_q7_final_norms_at_the_middle_lambda_equal_those_trained_alone(record, alone):
    middle = len(record.equilibrium_lmbda["adam"]) // 2
    final = {r: np.array([alone[r, middle, s][1].weights.norm[-1] for s in (0, 1)])
             for r in ("adam", "adamw")}  # fmt: skip
    np.testing.assert_allclose(record.adam_norm_ratio, final["adam"] / final["adamw"], rtol=1e-10)


@pytest.mark.parametrize("n_index", [0, 1])
def test_q7_transfer_scores_equal_the_last_epoch_of_runs_trained_alone(record, n_index):
    # average_epochs = 1: a run's scores are C₀ and the accuracy at its last epoch.
    mnist, n = dl.load_mnist(), SETTINGS["ns"][n_index]
    expected = np.empty((1, len(record.transfer_lmbda), 2))
    for g, lam in enumerate(record.transfer_lmbda):
        net_stream, order_stream = np.random.SeedSequence(0).spawn(2)
        net = dl.Network((784, 8, 10), init="scaled", seed=np.random.default_rng(net_stream))
        dl.train(
            net, (mnist.train.X[:n], mnist.train.y[:n]), epochs=2, batch_size=20, eta=0.02,
            lmbda=lam, seed=np.random.default_rng(order_stream), optimizer="adamw",
        )  # fmt: skip
        expected[0, g] = net.evaluate(mnist.validation)
    np.testing.assert_allclose(record.transfer_cost[n_index, :1], expected[..., 0], rtol=1e-10)
    np.testing.assert_array_equal(record.transfer_accuracy[n_index, :1], expected[..., 1])


LAM = 10 / (0.003 * 2.0)  # τ = m/(ηλ) = 2 epochs


@pytest.mark.parametrize("together", [1, 2])
def test_a_run_capped_in_tau_with_adam_decay_equals_its_run_trained_alone(together):
    # One spec goes through run_one, two through one stack (run_group).
    from dataclasses import replace

    from decaylab.experiments.runs import RunSpec, run_many

    data = dl.load_digits()
    adam = optimizer_of("adam", 0.9)
    spec = RunSpec(
        (64, 8, 10), "scaled", 0, 0, 10, 0.003, LAM, n_train=100, evaluate=False,
        until_equilibrium=True, rule=adam, max_relaxations=12.0, adam_decay=True,
    )  # fmt: skip
    specs = [spec, replace(spec, lmbda=2 * LAM)][:together]
    outcome = run_many(specs, data)[0]
    found, history, net, state = _alone("adam", LAM, 0, 0.003)
    decay = adam_l2_decay(net, state, eta=0.003, coefficient=LAM / 100, beta2=adam.beta2,
                          eps=adam.eps, steps=steps_per_epoch(100, 10))  # fmt: skip
    assert outcome.history.n_epochs == history.n_epochs
    assert outcome.measurements["reached"] == found.reached
    got = [outcome.measurements[f"adam_ratio_{l}"] for l in (0, 1)]
    np.testing.assert_allclose(got, decay.ratio, rtol=1e-10)
