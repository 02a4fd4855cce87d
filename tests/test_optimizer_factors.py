"""Pure-decay factors of momentum, AdamW and Adam + L2 against loops and runs written here."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl
from decaylab.dynamics.optimizer_factors import adam_l2_decay, momentum_factors, momentum_roots
from decaylab.optimizers import Adam, AdamW, Momentum


def _recurrence_epoch_factors(a, beta, steps, epochs):
    """Iterate v <- beta v + c w, w <- w - eta v (with eta c = a) one step at a time."""
    w, v, out = 1.0, 0.0, []
    for _ in range(epochs):
        start = w
        for _ in range(steps):
            v = beta * v + a * w  # eta folded in: v here is eta times the velocity
            w = w - v
        out.append(w / start)
    return np.array(out)


@pytest.mark.parametrize(
    "a, beta, n, m",
    [
        (0.0025, 0.9, 1000, 10),
        (0.0005, 0.5, 1003, 7),  # last batch shorter
        (0.3, 0.9, 50, 10),  # complex roots: the decay oscillates
        ((1 - 0.81**0.5) ** 2, 0.81, 30, 5),  # double root
        (0.01, 0.0, 100, 10),  # beta = 0 is eq. 93
    ],
)
def test_epoch_factors_equal_the_recurrence(a, beta, n, m):
    f = momentum_factors(a, beta, n, m, epochs=4)
    want = _recurrence_epoch_factors(a, beta, -(-n // m), 4)
    np.testing.assert_allclose(f.epoch_factors, want, rtol=1e-12, atol=0)


def test_beta_zero_gives_eq_93s_factor():
    a, n, m = 0.004, 1000, 10
    f = momentum_factors(a, 0.0, n, m)
    assert f.asymptotic == pytest.approx((1 - a) ** 100, rel=1e-13)
    assert f.transient == pytest.approx(0.0, abs=1e-13)


@pytest.mark.parametrize("a, beta", [(0.3, 0.9), (0.001, 0.5), (0.0, 0.9)])
def test_roots_solve_the_characteristic_equation(a, beta):
    for r in momentum_roots(a, beta):
        assert abs(r * r - (1 + beta - a) * r + beta) < 1e-14


@pytest.mark.parametrize(
    "a, beta, n, m",
    [
        (1e-3, 0.5, 1000, 10),
        (1e-4, 0.9, 1000, 10),
        (1e-5, 0.9, 1000, 10),
        (1e-4, 0.9, 1003, 10),  # the ceiling term dominates
        (1e-5, 0.99, 500, 10),
    ],
)
def test_closed_form_error_matches_leading_term(a, beta, n, m):
    f = momentum_factors(a, beta, n, m)
    closed = np.exp(-a * (n / m) / (1 - beta))
    assert f.relative_error == pytest.approx(closed / f.asymptotic - 1, rel=1e-9)
    # The module states the remainder is smaller by a factor of order a/(1 - beta)^2.
    assert abs(f.relative_error - f.leading_term) <= 4 * a / (1 - beta) ** 2 * abs(f.leading_term)


@pytest.mark.parametrize("a, beta", [(1e-4, 0.5), (1e-4, 0.9), (1e-5, 0.9), (1e-3, 0.5)])
def test_transient_matches_its_leading_term(a, beta):
    f = momentum_factors(a, beta, 1000, 10)
    lead = a * beta / (1 - beta) ** 2
    assert abs(f.transient - lead) <= 4 * a / (1 - beta) ** 2 * lead


def _pure_decay_run(optimizer, eta, lmbda, n, m, epochs):
    """Weight norms of layer 0 after each epoch: with zero inputs its data gradient vanishes."""
    X = np.zeros((n, 4))
    labels = np.arange(n) % 3
    net = dl.Network([4, 5, 3], init="large", seed=2)
    state = optimizer.init(net)
    targets = np.eye(3)[labels]
    norms = [np.linalg.norm(net.weights[0])]
    for _ in range(epochs):
        for start in range(0, n, m):
            grad = net.gradient(X[start : start + m], targets[start : start + m])
            assert not grad[: net.weights[0].size].any()
            optimizer.step(
                net,
                grad,
                state,
                coefficient=lmbda / n,
                eta=eta,
                batch_length=len(X[start : start + m]),
            )
        norms.append(np.linalg.norm(net.weights[0]))
    return np.array(norms)


@pytest.mark.parametrize(
    "beta, n, m, lmbda",
    [(0.9, 200, 10, 2.0), (0.5, 203, 10, 2.0), (0.99, 100, 5, 0.02)],  # all with real roots
)
def test_momentum_measured_factor_equals_exact_recurrence(beta, n, m, lmbda):
    eta, epochs = 0.1, 5
    norms = _pure_decay_run(Momentum(beta=beta), eta, lmbda, n, m, epochs)
    f = momentum_factors(eta * lmbda / n, beta, n, m, epochs=epochs)
    np.testing.assert_allclose(norms[1:] / norms[:-1], f.epoch_factors, rtol=1e-12, atol=0)


def test_adamw_pure_decay_is_eq_93s_factor():
    eta, lmbda, n, m = 0.01, 30.0, 200, 10
    norms = _pure_decay_run(AdamW(), eta, lmbda, n, m, 3)
    np.testing.assert_allclose(norms[1:] / norms[:-1], (1 - eta * lmbda / n) ** 20, rtol=1e-12)


def _adam_state(net, second, step):
    return {
        "first_moment": np.zeros_like(net.params),
        "second_moment": np.asarray(second, dtype=float),
        "step": np.array(step, dtype=np.int64),
    }


def test_adam_l2_decay_is_the_first_order_shrinkage_of_the_l2_step():
    net = dl.Network([4, 5, 3], seed=0)
    rng = np.random.default_rng(3)
    second = rng.uniform(1e-6, 1e-2, size=net.params.size)
    eta, c, b2, eps, t = 1e-4, 0.01, 0.999, 1e-8, 7
    got = adam_l2_decay(
        net, _adam_state(net, second, t), eta=eta, coefficient=c, beta2=b2, eps=eps, steps=10
    )
    v_hat = second / (1 - b2**t)
    for l, w in enumerate(net.weights):
        start = sum(x.size for x in net.weights[:l])
        root = np.sqrt(v_hat[start : start + w.size]).reshape(w.shape)
        after = w - eta * c * w / (root + eps)  # the L2 term's own Adam step
        shrink = (np.sum(w**2) - np.sum(after**2)) / (2 * np.sum(w**2))
        assert got.effective_per_step[l] == pytest.approx(shrink, rel=1e-3)
    assert got.decoupled_per_step == pytest.approx(eta * c)
    np.testing.assert_allclose(got.effective_epoch, (1 - got.effective_per_step) ** 10)


def test_adam_l2_decays_the_layer_with_larger_gradients_less():
    net = dl.Network([4, 5, 3], seed=0)
    n0 = net.weights[0].size
    second = np.full(net.params.size, 1e-4)
    second[n0 : net.n_weights] = 1e-2  # layer 1: gradients ten times larger
    got = adam_l2_decay(
        net,
        _adam_state(net, second, 10**6),
        eta=1e-3,
        coefficient=0.1,
        beta2=0.999,
        eps=1e-8,
        steps=10,
    )
    np.testing.assert_allclose(got.gradient_rms, [1e-2, 1e-1], rtol=1e-12)
    np.testing.assert_allclose(got.ratio, [1 / (1e-2 + 1e-8), 1 / (1e-1 + 1e-8)], rtol=1e-12)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: momentum_factors(1.0, 0.9, 100, 10), ValueError, "per_step_decay=1.0"),
        (lambda: momentum_factors(0.01, 1.0, 100, 10), ValueError, "beta=1.0"),
        (lambda: momentum_factors(0.01, 0.9, 100, 200), ValueError, "batch_size=200"),
        (lambda: momentum_factors(0.01, 0.9, 100, 10, epochs=0), ValueError, "epochs=0"),
        (lambda: momentum_roots("0.1", 0.9), TypeError, "per_step_decay"),
    ],
)
def test_bad_input_is_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_adam_l2_decay_needs_a_stepped_state():
    net = dl.Network([4, 5, 3], seed=0)
    state = Adam().init(net)
    with pytest.raises(ValueError, match="step"):
        adam_l2_decay(net, state, eta=1e-3, coefficient=0.1, beta2=0.999, eps=1e-8, steps=10)
