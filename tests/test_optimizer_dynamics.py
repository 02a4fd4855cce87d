"""Measured factors and equilibrium detection on runs of momentum, Adam + L2 and AdamW."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl

N, BATCH = 40, 6  # K = 7 steps, the last of 4 examples
STEPS = -(-N // BATCH)


def _zero_input_run(optimizer, *, eta, lmbda, epochs=4):
    """A run whose first layer has a vanishing data gradient (all inputs 0): pure decay."""
    data = (np.zeros((N, 4)), np.arange(N) % 3)
    net = dl.Network([4, 5, 3], init="large", seed=2)
    return dl.train(
        net,
        data,
        epochs=epochs,
        batch_size=BATCH,
        eta=eta,
        lmbda=lmbda,
        seed=0,
        optimizer=optimizer,
    )


def _momentum_epoch_factors(a, beta, epochs):
    """w_{t+1} = w_t − η v_{t+1}, v_{t+1} = β v_t + c w_t, iterated step by step from v₀ = 0."""
    w, v, factors = 1.0, 0.0, []
    for _ in range(epochs):
        start = w
        for _ in range(STEPS):
            v = beta * v + a * w  # a = ηc, so η v is folded into v
            w = w - v
        factors.append(w / start)
    return np.array(factors)


@pytest.mark.parametrize("beta", [0.5, 0.9])
def test_momentum_measured_factor_is_the_recurrence_written_out(beta):
    eta, lmbda = 0.1, 4.0
    history = _zero_input_run(dl.optimizers.Momentum(beta=beta), eta=eta, lmbda=lmbda)
    factors = dl.measured_factors(history)
    # Norms: with complex roots (β = 0.9 here) the weights change sign.
    want = np.abs(_momentum_epoch_factors(eta * lmbda / N, beta, 4))
    np.testing.assert_allclose(factors.measured[:, 0], want, rtol=1e-12)
    np.testing.assert_allclose(factors.predicted_by_epoch, want, rtol=1e-12)
    np.testing.assert_allclose(factors.excess[:, 0], 1.0, rtol=1e-12)


def test_momentum_closed_form_uses_one_minus_beta():
    history = _zero_input_run("momentum", eta=0.1, lmbda=4.0)
    want = np.exp(-0.1 * 4.0 / BATCH / (1 - 0.9))
    assert dl.measured_factors(history).closed_form == pytest.approx(want, rel=1e-14)


def test_adamw_measured_factor_is_the_decoupled_multiplier_to_the_k():
    eta, lmbda = 0.01, 4.0
    history = _zero_input_run("adamw", eta=eta, lmbda=lmbda)
    factors = dl.measured_factors(history)
    # Adam's step on a zero gradient is 0, so only (1 − ηλ/n) acts, K times an epoch.
    want = (1 - eta * lmbda / N) ** STEPS
    np.testing.assert_allclose(factors.measured[:, 0], want, rtol=1e-12)
    assert factors.predicted == pytest.approx(want, rel=1e-14)


def test_adam_l2_has_no_fixed_prediction():
    history = _zero_input_run("adam", eta=0.01, lmbda=4.0)
    factors = dl.measured_factors(history)
    assert factors.rule == "adam"
    assert np.isnan(factors.predicted) and np.isnan(factors.closed_form)
    assert np.isnan(factors.excess).all()
    # Still measured: with a vanishing data gradient the L2 step alone shrinks layer 0.
    assert (factors.measured[:, 0] < 1).all()


@pytest.mark.parametrize("rule, eta", [("momentum", 0.1), ("adam", 0.01), ("adamw", 0.01)])
def test_a_vanishing_data_gradient_leaves_only_the_decay_part(rule, eta):
    data = (np.zeros((N, 4)), np.arange(N) % 3)
    net = dl.Network([4, 5, 3], init="large", seed=2)
    history = dl.train(
        net,
        data,
        epochs=2,
        batch_size=BATCH,
        eta=eta,
        lmbda=4.0,
        seed=0,
        optimizer=rule,
        monitors=[dl.DecompositionMonitor()],
    )
    record = history.monitors["decomposition"]
    # Layer 0 sees zero inputs: its whole step is the decay's, the rest is rounding.
    assert (record["gradient_norm"][:, 0] < 1e-12 * record["decay_norm"][:, 0]).all()
    np.testing.assert_allclose(dl.decay_share(history)[:, 0], 1.0, atol=1e-12)


@pytest.mark.parametrize("rule", ["momentum", "adam", "adamw"])
def test_rotation_record_reports_eta_over_the_squared_norm(rule):
    rng = np.random.default_rng(0)
    data = (rng.normal(size=(N, 4)), rng.integers(0, 3, size=N))
    net = dl.Network([4, 5, 3], init="large", seed=2)
    history = dl.train(
        net,
        data,
        epochs=2,
        batch_size=BATCH,
        eta=0.01,
        lmbda=4.0,
        seed=0,
        optimizer=rule,
        monitors=[dl.RotationMonitor()],
    )
    want = 0.01 / history.weights.norm[1:] ** 2
    np.testing.assert_allclose(
        history.monitors["rotation"]["effective_learning_rate"], want, rtol=1e-12
    )


def _short_run(rule, *, eta=0.1, lmbda=4.0):
    rng = np.random.default_rng(0)
    data = (rng.normal(size=(N, 4)), rng.integers(0, 3, size=N))
    net = dl.Network([4, 5, 3], init="large", seed=2)
    return dl.train(
        net, data, epochs=3, batch_size=BATCH, eta=eta, lmbda=lmbda, seed=0, optimizer=rule
    )


@pytest.mark.parametrize("beta", [0.5, 0.9])
def test_equilibrium_scales_momentum_runs_by_their_own_relaxation_time(beta):
    eta, lmbda = 0.01, 4.0
    a = eta * lmbda / N
    # The larger root of r² − (1 + β − a)r + β, the characteristic polynomial of pure decay.
    r_plus = max(np.roots([1.0, -(1 + beta - a), beta]), key=abs)
    history = _short_run(dl.optimizers.Momentum(beta=beta), eta=eta, lmbda=lmbda)
    tau = dl.find_equilibrium(history).relaxation_epochs
    assert tau == pytest.approx(-1 / (STEPS * np.log(abs(r_plus))), rel=1e-12)
    # About (1 − β)/(Ka) epochs, m(1 − β)/(ηλ) when m divides n: 1 − β times eq. 93's,
    # to a relative a/(1 − β)² (0.1 at β = 0.9).
    assert tau == pytest.approx((1 - beta) / (STEPS * a), rel=0.15)


@pytest.mark.parametrize("rule", ["adam", "adamw"])
def test_equilibrium_scales_adam_runs_by_the_decoupled_time(rule):
    # 1/(ηc) steps for AdamW; Adam + L2 has no fixed one and takes AdamW's at the same c.
    eta, lmbda = 0.01, 4.0
    tau = dl.find_equilibrium(_short_run(rule, eta=eta, lmbda=lmbda)).relaxation_epochs
    assert tau == pytest.approx(-1 / (STEPS * np.log1p(-eta * lmbda / N)), rel=1e-12)
