"""Eq. 93 as one GEMM per layer: the fused update against the straightforward computation.

The straightforward step is written here: the flat gradient Σ_x ∂C_x/∂θ,
then w ← d·w − (η/m_B)·g and b ← b − (η/m_B)·g with NumPy arithmetic.
"""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl
from decaylab._blas import (
    add_column_sums,
    matmul_into,
    prepared_add_rows,
    prepared_gram,
    prepared_subtract_rows,
    prepared_symmetric_product,
    update_call,
)
from decaylab.network import Backprop
from reference import one_hot

SIZES = [12, 9, 6, 4]  # three weight layers


def _straightforward_epochs(net, X, targets, *, epochs, batch_size, eta, multiplier):
    """Eq. 93 the obvious way, batches in the given order, the last one of its own length."""
    weights = [w.copy() for w in net.weights]
    biases = [b.copy() for b in net.biases]
    probe = net.copy()
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            xb, tb = X[start : start + batch_size], targets[start : start + batch_size]
            for l in range(len(weights)):
                probe.weights[l], probe.biases[l] = weights[l], biases[l]
            grad_w, grad_b = probe.unflatten(probe.gradient(xb, tb))
            m = len(xb)
            weights = [multiplier * w - (eta / m) * g for w, g in zip(weights, grad_w)]
            biases = [b - (eta / m) * g for b, g in zip(biases, grad_b)]
    return np.concatenate([w.ravel() for w in weights] + [b.ravel() for b in biases])


@pytest.mark.parametrize(("activation", "batch_size"), [("sigmoid", 10), ("tanh", 7), ("relu", 1)])
def test_fused_epochs_equal_the_straightforward_update(activation, batch_size, make_problem):
    X, y = make_problem(SIZES[0], SIZES[-1], 53, seed=3)
    net = dl.Network(SIZES, init="scaled", activation=activation, seed=1)
    eta, lmbda, epochs = 0.5, 5.0, 4
    expected = _straightforward_epochs(
        net, X, one_hot(y, SIZES[-1]), epochs=epochs, batch_size=batch_size, eta=eta,
        multiplier=1.0 - eta * lmbda / len(X),
    )  # fmt: skip
    dl.train(net, (X, y), epochs=epochs, batch_size=batch_size, eta=eta, lmbda=lmbda,
             shuffle=False, training_metrics=False)  # fmt: skip
    assert np.abs(net.params - expected).max() <= 2e-15 * np.abs(expected).max()


def test_ensemble_members_equal_the_straightforward_update(make_problem):
    X, y = make_problem(SIZES[0], SIZES[-1], 53, seed=10)
    nets = [dl.Network(SIZES, init="scaled", seed=s) for s in range(3)]
    etas, lmbdas, epochs = [0.5, 0.2, 0.8], [5.0, 0.0, 20.0], 4
    expected = [
        _straightforward_epochs(net, X, one_hot(y, SIZES[-1]), epochs=epochs, batch_size=10,
                                eta=eta, multiplier=1.0 - eta * lmbda / len(X))
        for net, eta, lmbda in zip(nets, etas, lmbdas)
    ]  # fmt: skip
    dl.train_ensemble(nets, (X, y), epochs=epochs, batch_size=10, eta=etas, lmbda=lmbdas,
                      shuffle=False, training_metrics=False)  # fmt: skip
    for net, params in zip(nets, expected):
        assert np.abs(net.params - params).max() <= 5e-15 * np.abs(params).max()


@pytest.mark.parametrize(("dtype", "tol"), [("float64", 4e-16), ("float32", 2e-7)])
def test_one_fused_step_equals_the_flat_gradient_step(dtype, tol, make_problem):
    X, y = make_problem(SIZES[0], SIZES[-1], 8, seed=4)
    X = X.astype(dtype)
    targets = one_hot(y, SIZES[-1]).astype(dtype)
    fused = dl.Network(SIZES, seed=2, dtype=dtype)
    flat = fused.copy()
    step = dict(multiplier=0.99, eta=0.3, batch_length=len(X))
    dl.sgd_step(fused, Backprop(fused, len(X)).run(X, targets), **step)
    dl.sgd_step(flat, flat.gradient(X, targets), **step)
    assert np.abs(fused.params - flat.params).max() <= tol * np.abs(flat.params).max()


def test_fused_step_does_not_decay_the_biases(make_problem):
    X, y = make_problem(SIZES[0], SIZES[-1], 5, seed=5)
    net = dl.Network(SIZES, seed=3)
    before = net.copy()
    backprop = Backprop(net, len(X)).run(X, one_hot(y, SIZES[-1]))
    grad_b = [g.copy() for g in backprop.grad_biases]
    dl.sgd_step(net, backprop, multiplier=0.5, eta=0.2, batch_length=len(X))
    for b, b0, g in zip(net.biases, before.biases, grad_b):
        np.testing.assert_allclose(b, b0 - 0.2 / len(X) * g, rtol=1e-15, atol=1e-15)


def test_short_batch_in_a_full_size_backprop_uses_its_own_rows(make_problem):
    X, y = make_problem(SIZES[0], SIZES[-1], 10, seed=6)
    targets = one_hot(y, SIZES[-1])
    net = dl.Network(SIZES, seed=4)
    reference = net.copy()
    backprop = Backprop(net, 10)
    backprop.run(X, targets)  # fills every row of the buffers
    dl.sgd_step(net, backprop.run(X[:3], targets[:3]), multiplier=0.9, eta=0.4, batch_length=3)
    dl.sgd_step(reference, reference.gradient(X[:3], targets[:3]), multiplier=0.9, eta=0.4,
                batch_length=3)  # fmt: skip
    np.testing.assert_allclose(net.params, reference.params, rtol=1e-14, atol=1e-15)


def test_backprop_of_another_network_is_rejected(make_problem):
    X, y = make_problem(SIZES[0], SIZES[-1], 4, seed=7)
    net, other = dl.Network(SIZES, seed=5), dl.Network(SIZES, seed=6)
    backprop = Backprop(other, 4).run(X, one_hot(y, SIZES[-1]))
    before = net.params.copy()
    with pytest.raises(ValueError, match="another network"):
        dl.sgd_step(net, backprop, multiplier=1.0, eta=0.1, batch_length=4)
    np.testing.assert_array_equal(net.params, before)


class _GradientRecorder:
    """A step monitor that keeps a copy of every step's parts it is shown."""

    name = "gradients"

    def start(self, net, *, eta, multiplier):
        self.steps = []

    def step_parts(self, weights_before, decay, rest):
        self.steps.append([[a.copy() for a in part] for part in (weights_before, decay, rest)])

    def end_epoch(self, net):
        pass

    def result(self):
        return {}


def test_monitors_do_not_change_the_trajectory(make_problem):
    X, y = make_problem(SIZES[0], SIZES[-1], 40, seed=8)
    plain, monitored = dl.Network(SIZES, seed=7), dl.Network(SIZES, seed=7)
    settings = dict(epochs=3, batch_size=6, eta=0.5, lmbda=2.0, seed=0, training_metrics=False)
    dl.train(plain, (X, y), **settings)
    monitors = [_GradientRecorder(), dl.DecompositionMonitor()]
    dl.train(monitored, (X, y), monitors=monitors, **settings)
    np.testing.assert_array_equal(monitored.params, plain.params)


@pytest.mark.parametrize("part", [0, 1, 2], ids=["weights_before", "decay", "rest"])
def test_monitor_is_shown_the_parts_of_the_step(make_problem, part):
    # Monitors see each step after it is made: w before, the decay (1 − d)·w and the
    # gradient step (η/m_B)·Σ_x ∂C_x/∂w, from a gradient computed here independently.
    X, y = make_problem(SIZES[0], SIZES[-1], 20, seed=9)
    net = dl.Network(SIZES, seed=8)
    w0 = [w.ravel().copy() for w in net.weights]
    grad = [g.ravel() for g in net.unflatten(net.gradient(X[:6], y[:6]))[0]]
    a = 0.5 * 2.0 / 20
    expected = (w0, [a * w for w in w0], [0.5 / 6 * g for g in grad])[part]
    recorder = _GradientRecorder()
    dl.train(net, (X, y), epochs=1, batch_size=6, eta=0.5, lmbda=2.0, shuffle=False,
             monitors=[recorder], training_metrics=False)  # fmt: skip
    for shown, want in zip(recorder.steps[0][part], expected):
        np.testing.assert_allclose(shown, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("left_order", ["C", "F"])
@pytest.mark.parametrize("right_order", ["C", "F"])
def test_matmul_into_adds_the_product_into_a_view_of_a_flat_buffer(dtype, left_order, right_order):
    rng = np.random.default_rng(0)
    flat = rng.standard_normal(5 * 4 + 3).astype(dtype)
    out = flat[3:].reshape(5, 4)
    left = np.asarray(rng.standard_normal((5, 6)), dtype=dtype, order=left_order)
    right = np.asarray(rng.standard_normal((6, 4)), dtype=dtype, order=right_order)
    expected = 0.7 * out.astype(np.float64) - 0.2 * left.astype(np.float64) @ right
    matmul_into(out, left, right, alpha=-0.2, beta=0.7)
    tol = 1e-6 if dtype == "float32" else 1e-15
    np.testing.assert_allclose(flat[3:].reshape(5, 4), expected, rtol=tol, atol=tol)


def test_matmul_into_refuses_an_output_it_would_have_to_copy():
    out = np.zeros((4, 6))[:, ::2]  # not contiguous: BLAS would write into a copy
    with pytest.raises(RuntimeError, match="in place"):
        matmul_into(out, np.ones((4, 2)), np.ones((2, 3)))


def test_add_column_sums_adds_the_scaled_sum_of_the_rows():
    rng = np.random.default_rng(1)
    y, matrix = rng.standard_normal(5), rng.standard_normal((7, 5))
    expected = y - 0.3 * matrix.sum(axis=0)
    add_column_sums(y, matrix, np.ones(7), alpha=-0.3)
    np.testing.assert_allclose(y, expected, rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("shuffle", [False, True])
def test_trained_steps_are_bit_for_bit_sgd_step_on_the_factored_gradient(shuffle, make_problem):
    # train's stepper prepares its BLAS calls once per batch length; sgd_step works them
    # out at every call. 23 examples in batches of 5: a short last batch of 3.
    X, y = make_problem(SIZES[0], SIZES[-1], 23, seed=11)
    net, reference = dl.Network(SIZES, seed=9), dl.Network(SIZES, seed=9)
    eta, lmbda, epochs = 0.5, 2.0, 3
    dl.train(net, (X, y), epochs=epochs, batch_size=5, eta=eta, lmbda=lmbda, shuffle=shuffle,
             seed=4, training_metrics=False)  # fmt: skip
    targets, backprop = one_hot(y, SIZES[-1]), Backprop(reference, 5)
    rng = np.random.default_rng(4)  # train's shuffling generator for seed 4
    for _ in range(epochs):
        order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
        for start in range(0, len(X), 5):
            idx = order[start : start + 5]
            backprop.run(np.ascontiguousarray(X[idx]), targets[idx])
            dl.sgd_step(reference, backprop, multiplier=1.0 - eta * lmbda / len(X), eta=eta,
                        batch_length=len(idx))  # fmt: skip
    np.testing.assert_array_equal(net.params, reference.params)


@pytest.mark.parametrize("rows", [1, 4])
def test_prepared_gram_writes_the_upper_triangle_of_a_times_a_transposed(rows):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((rows, 9))
    out = np.full((rows, rows), 7.0)
    syrk, arguments = prepared_gram(out, a)
    b = rng.standard_normal((rows, 9))
    syrk(1.0, b.T, *arguments[2:])  # another array of the shape, as the loop passes the batch
    upper = np.triu_indices(rows)
    np.testing.assert_allclose(out[upper], (b @ b.T)[upper], rtol=1e-14)
    assert np.all(out[np.tril_indices(rows, -1)] == 7.0)


def test_update_call_adds_the_scaled_product_into_the_weights_in_place():
    rng = np.random.default_rng(3)
    flat = rng.standard_normal(5 * 4 + 2)
    out = flat[:20].reshape(5, 4)
    left, right = rng.standard_normal((5, 6)), rng.standard_normal((6, 4))
    expected = 0.9 * out - 0.1 * left @ right
    gemm, arguments = update_call(out, left, right, alpha=-0.1, beta=0.9)
    assert gemm(*arguments) is arguments[4]
    np.testing.assert_allclose(flat[:20].reshape(5, 4), expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rows", [1, 7, 300])
def test_prepared_add_rows_is_bit_for_bit_numpys_broadcast_sum(dtype, rows):
    # The forward pass adds the biases by BLAS ger; NumPy's z + b is the reference. Values
    # of every scale, signed zeros, infinities and NaN, so that any second rounding shows.
    rng = np.random.default_rng(4)
    info = np.finfo(dtype)  # a subnormal and the largest finite value of the type among them
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, info.tiny / 4, -info.max, 3.0],
                       dtype=dtype)  # fmt: skip
    out = (rng.standard_normal((rows, 8)) * 10.0 ** rng.integers(-20, 20, (rows, 8))).astype(dtype)
    out[0] = special
    row = (rng.standard_normal(8) * 10.0 ** rng.integers(-20, 20, 8)).astype(dtype)
    ger, arguments = prepared_add_rows(out, row, np.ones(rows, dtype=dtype))
    out[...] = 0.0  # the preparing call added row once
    z = (rng.standard_normal((rows, 8)) * 10.0 ** rng.integers(-20, 20, (rows, 8))).astype(dtype)
    z[-1] = special[::-1]
    with np.errstate(over="ignore", invalid="ignore"):
        expected = z + row
        out[...] = z
        assert ger(*arguments) is arguments[5]
    np.testing.assert_array_equal(out, expected)
    assert np.array_equal(np.signbit(out), np.signbit(expected))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rows", [1, 7, 300])
def test_prepared_subtract_rows_is_bit_for_bit_numpys_broadcast_difference(dtype, rows):
    # The step monitors take z − b this way; NumPy's subtraction is the reference.
    rng = np.random.default_rng(5)
    source = rng.standard_normal((rows, 8)) * 10.0 ** rng.integers(-20, 20, (rows, 8))
    source = source.astype(dtype)
    source[0] = [0.0, -0.0, np.inf, -np.inf, np.nan, np.finfo(dtype).tiny / 4, 1.0, 3.0]
    row = (rng.standard_normal(8) * 10.0 ** rng.integers(-20, 20, 8)).astype(dtype)
    row[:2] = 0.0  # −0 − 0 is −0, 0 − 0 is 0: signs must survive
    out = np.full_like(source, 7.0)
    for call, arguments in prepared_subtract_rows(out, source, row, np.ones(rows, dtype=dtype)):
        call(*arguments)
    with np.errstate(invalid="ignore"):
        expected = source - row
    np.testing.assert_array_equal(out, expected)
    assert np.array_equal(np.signbit(out), np.signbit(expected))


@pytest.mark.parametrize("rows", [1, 7, 30])
def test_prepared_symmetric_product_reads_the_upper_triangle_as_the_whole_matrix(rows):
    rng = np.random.default_rng(6)
    a = rng.standard_normal((rows, 9))
    gram = np.zeros((rows, rows))
    prepared_gram(gram, a)  # the upper triangle; the lower stays 0
    right = rng.standard_normal((rows, 5))
    out = np.full((rows, 5), 7.0)
    symm, arguments = prepared_symmetric_product(out, gram, right)
    np.testing.assert_allclose(out, (a @ a.T) @ right, rtol=1e-13, atol=1e-13)
    right[...] = rng.standard_normal((rows, 5))  # the same buffers at the next step
    assert symm(*arguments) is arguments[4]
    np.testing.assert_allclose(out, (a @ a.T) @ right, rtol=1e-13, atol=1e-13)
