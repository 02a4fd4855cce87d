"""Network structure, initialisation, parameter access, evaluation and dtypes."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl
from reference import feedforward, one_hot

SIZES_TABLE = [[3, 2], [64, 30, 10], [5, 7, 4, 3], [2, 1, 1, 1, 2]]


@pytest.mark.parametrize("sizes", SIZES_TABLE)
def test_weight_shapes_follow_nielsen_w_jk(sizes):
    net = dl.Network(sizes, seed=0)
    assert [w.shape for w in net.weights] == [(o, i) for i, o in zip(sizes[:-1], sizes[1:])]


@pytest.mark.parametrize("sizes", SIZES_TABLE)
def test_bias_shapes(sizes):
    net = dl.Network(sizes, seed=0)
    assert [b.shape for b in net.biases] == [(o,) for o in sizes[1:]]


@pytest.mark.parametrize("sizes", SIZES_TABLE)
def test_n_weights_counts_weights_only(sizes):
    net = dl.Network(sizes, seed=0)
    expected = 0
    for i, o in zip(sizes[:-1], sizes[1:]):
        expected += i * o
    assert net.n_weights == expected
    assert net.params.shape == (expected + sum(sizes[1:]),)
    assert net.n_layers == len(sizes) - 1


def test_digits_network_has_2220_weights():
    assert dl.Network([64, 30, 10], seed=0).n_weights == 64 * 30 + 30 * 10


def test_weights_and_biases_are_views_into_params():
    net = dl.Network([3, 4, 2], seed=0)
    net.weights[1][1, 3] = 7.5
    net.biases[0][2] = -2.5
    assert net.params[12 + 1 * 4 + 3] == 7.5  # second layer starts after 4·3 weights
    assert net.params[net.n_weights + 2] == -2.5
    assert np.shares_memory(net.weights_flat, net.params)


# -- initialisation -------------------------------------------------------------
# A sample standard deviation of N draws has standard error ≈ σ/√(2N); 5 standard
# errors makes a false failure a ~1e-6 event while a wrong scale (e.g. 1/n_in
# instead of 1/√n_in) misses by hundreds of standard errors.

WIDE = [400, 1000]  # 400,000 weights, 1000 biases


def _within_sampling_error(sample, sigma):
    n = sample.size
    assert abs(sample.std() - sigma) < 5 * sigma / np.sqrt(2 * n)
    assert abs(sample.mean()) < 5 * sigma / np.sqrt(n)


def test_large_init_weights_are_standard_normal():
    net = dl.Network(WIDE, init="large", seed=0)
    _within_sampling_error(net.weights[0], 1.0)


@pytest.mark.parametrize("init", ["large", "scaled"])
def test_biases_are_standard_normal(init):
    net = dl.Network(WIDE, init=init, seed=1)
    _within_sampling_error(net.biases[0], 1.0)


def test_scaled_init_weights_have_std_one_over_sqrt_fan_in():
    net = dl.Network(WIDE, init="scaled", seed=2)
    _within_sampling_error(net.weights[0], 1.0 / np.sqrt(WIDE[0]))


def test_scaled_init_uses_each_layers_own_fan_in():
    sizes = [900, 400, 100]
    net = dl.Network(sizes, init="scaled", seed=3)
    for layer, w in enumerate(net.weights):
        _within_sampling_error(w, 1.0 / np.sqrt(sizes[layer]))


def test_large_init_weights_are_not_scaled():
    # Guards the test above: the two inits must differ by the fan-in factor.
    large = dl.Network([100, 50], init="large", seed=4)
    scaled = dl.Network([100, 50], init="scaled", seed=4)
    np.testing.assert_allclose(scaled.weights[0] * 10.0, large.weights[0], rtol=1e-15)


# -- seeds ------------------------------------------------------------------------


def test_same_seed_gives_bit_identical_networks():
    assert np.array_equal(
        dl.Network([10, 8, 3], seed=5).params, dl.Network([10, 8, 3], seed=5).params
    )


def test_different_seeds_give_different_networks():
    a, b = dl.Network([10, 8, 3], seed=5), dl.Network([10, 8, 3], seed=6)
    assert not np.any(a.params == b.params)


def test_generator_is_used_and_advanced():
    rng = np.random.default_rng(5)
    first, second = dl.Network([10, 3], seed=rng), dl.Network([10, 3], seed=rng)
    assert np.array_equal(first.params, dl.Network([10, 3], seed=5).params)
    assert not np.any(first.params == second.params)


def test_construction_does_not_touch_global_random_state():
    # The legacy global state is read only to show that nothing draws from it.
    _, key, position, *_ = np.random.get_state()  # noqa: NPY002
    dl.Network([10, 3], seed=None)
    dl.Network([10, 3], seed=1)
    _, key_after, position_after, *_ = np.random.get_state()  # noqa: NPY002
    assert np.array_equal(key_after, key) and position_after == position


# -- setting parameters ---------------------------------------------------------


def test_assigning_weights_copies_into_the_buffer():
    net = dl.Network([3, 2], seed=0)
    new = np.arange(6.0).reshape(2, 3)
    net.weights[0] = new
    new[0, 0] = 99.0  # the network keeps its own copy
    assert np.array_equal(net.params[:6], np.arange(6.0))


def test_assigning_biases_copies_into_the_buffer():
    net = dl.Network([3, 2], seed=0)
    net.biases[0] = [1.5, -1.5]
    assert np.array_equal(net.params[6:], [1.5, -1.5])


@pytest.mark.parametrize(
    ("kind", "shape"),
    [("weights", (3, 2)), ("weights", (6,)), ("biases", (3,)), ("biases", (2, 1))],
)
def test_assigning_the_wrong_shape_raises(kind, shape):
    net = dl.Network([3, 2], seed=0)
    before = net.params.copy()
    with pytest.raises(ValueError, match=rf"{kind}\[0\] has shape"):
        getattr(net, kind)[0] = np.zeros(shape)
    assert np.array_equal(net.params, before)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_assigning_non_finite_weights_raises(bad):
    net = dl.Network([3, 2], seed=0)
    value = np.zeros((2, 3))
    value[1, 1] = bad
    with pytest.raises(ValueError, match="weights"):
        net.weights[0] = value


def test_copy_is_independent():
    net = dl.Network([4, 3, 2], seed=0)
    other = net.copy()
    other.weights[0][0, 0] += 1.0
    other.biases[1][0] += 1.0
    assert net.params[0] != other.params[0]
    assert net.params[-2] != other.params[-2]
    assert np.array_equal(net.params[1:-2], other.params[1:-2])


def test_copy_views_point_into_its_own_buffer():
    other = dl.Network([4, 3, 2], seed=0).copy()
    assert all(np.shares_memory(w, other.params) for w in list(other.weights) + list(other.biases))


# -- evaluation -----------------------------------------------------------------


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_forward_matches_the_reference_forward_pass(activation, make_problem):
    net = dl.Network([5, 4, 3], activation=activation, seed=0)
    X, _ = make_problem(5, 3, 9)
    expected = [feedforward(list(net.weights), list(net.biases), x, activation)[1][-1] for x in X]
    np.testing.assert_allclose(net.forward(X), expected, rtol=1e-14, atol=1e-15)


def test_predict_is_the_index_of_the_largest_output(make_problem):
    net = dl.Network([5, 4, 3], seed=0)
    X, _ = make_problem(5, 3, 20)
    outputs = [feedforward(list(net.weights), list(net.biases), x)[1][-1] for x in X]
    assert np.array_equal(net.predict(X), [int(np.argmax(a)) for a in outputs])


@pytest.mark.parametrize("cost", ["cross_entropy", "quadratic"])
def test_evaluate_is_mean_cost_plus_penalty_and_accuracy(cost, make_problem):
    net = dl.Network([5, 4, 3], cost=cost, seed=0)
    X, y = make_problem(5, 3, 11)
    targets = one_hot(y, 3)
    lmbda, n = 2.0, 50
    total, correct = 0.0, 0
    for x, t, label in zip(X, targets, y):
        a = feedforward(list(net.weights), list(net.biases), x)[1][-1]
        if cost == "cross_entropy":
            total += -np.sum(t * np.log(a) + (1 - t) * np.log(1 - a))
        else:
            total += 0.5 * np.sum((a - t) ** 2)
        correct += int(np.argmax(a) == label)
    squares = sum(np.sum(w**2) for w in net.weights)
    cost_value, accuracy = net.evaluate((X, y), lmbda=lmbda, n=n)
    assert cost_value == pytest.approx(total / 11 + lmbda / (2 * n) * squares, rel=1e-13)
    assert accuracy == correct / 11


def test_evaluate_penalty_defaults_to_the_evaluated_set_size(make_problem):
    net = dl.Network([5, 3], seed=0)
    X, y = make_problem(5, 3, 8)
    bare = net.evaluate((X, y))[0]
    squares = float(np.sum(net.weights[0] ** 2))
    assert net.evaluate((X, y), lmbda=3.0)[0] == pytest.approx(bare + 3.0 / 16 * squares)


def test_weight_sum_of_squares_excludes_biases():
    net = dl.Network([3, 2], seed=0)
    net.weights[0] = np.ones((2, 3))
    net.biases[0] = [10.0, 10.0]
    assert net.weight_sum_of_squares() == 6.0


def test_cost_value_and_accuracy_agree_with_evaluate(make_problem):
    net = dl.Network([5, 3], seed=0)
    data = make_problem(5, 3, 8)
    assert net.cost_value(data, lmbda=1.0, n=10) == net.evaluate(data, lmbda=1.0, n=10)[0]
    assert net.accuracy(data) == net.evaluate(data)[1]


def test_evaluation_of_a_large_set_in_chunks_matches_one_pass(make_problem):
    # More rows than one forward chunk, so the chunked sums are exercised.
    net = dl.Network([3, 4, 2], seed=0)
    X, y = make_problem(3, 2, 9000)
    a = X
    for w, b in zip(net.weights, net.biases):
        a = 1.0 / (1.0 + np.exp(-(a @ w.T + b)))
    np.testing.assert_allclose(net.forward(X), a, rtol=1e-14)
    t = one_hot(y, 2)
    mean_cost = -np.sum(t * np.log(a) + (1 - t) * np.log(1 - a)) / len(X)
    assert net.evaluate((X, y))[0] == pytest.approx(mean_cost, rel=1e-12)


# -- dtypes ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", np.float32, np.dtype("float32")])
def test_float32_on_request(dtype):
    net = dl.Network([5, 4, 3], seed=0, dtype=dtype)
    assert net.params.dtype == np.float32
    assert net.weights[0].dtype == np.float32
    assert net.forward(np.ones((2, 5))).dtype == np.float32


def test_float32_network_draws_the_same_numbers_as_float64():
    net32 = dl.Network([5, 4, 3], seed=0, dtype="float32")
    net64 = dl.Network([5, 4, 3], seed=0)
    assert np.array_equal(net32.params, net64.params.astype(np.float32))


def test_float64_is_the_default():
    assert dl.Network([3, 2], seed=0).params.dtype == np.float64


def test_float32_training_works(digits):
    net = dl.Network([64, 30, 10], seed=0, dtype="float32")
    before = net.params.copy()
    hist = dl.train(net, digits.train, epochs=2, batch_size=10, eta=0.5, lmbda=5.0, seed=0)
    assert net.params.dtype == np.float32
    assert np.isfinite(net.params).all()
    assert not np.array_equal(net.params, before)
    assert hist.training_accuracy[-1] > hist.training_accuracy[0]


def test_float32_training_tracks_float64(digits):
    nets = {dt: dl.Network([64, 30, 10], seed=0, dtype=dt) for dt in ("float32", "float64")}
    for net in nets.values():
        dl.train(net, digits.train, epochs=1, batch_size=10, eta=0.1, lmbda=1.0, seed=0)
    np.testing.assert_allclose(nets["float32"].params, nets["float64"].params, atol=1e-3)


def test_settings_and_repr_name_the_construction():
    net = dl.Network([5, 4, 3], init="scaled", activation="tanh", cost="quadratic", seed=0)
    assert net.settings() == {
        "sizes": [5, 4, 3],
        "init": "scaled",
        "activation": "tanh",
        "cost": "quadratic",
        "dtype": "float64",
    }
    assert "tanh" in repr(net) and "quadratic" in repr(net)
