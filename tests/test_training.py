"""The training loop against the per-example reference loop of eq. 93 (tests/reference.py)."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl
from reference import InterruptAt, one_hot, train_epoch, train_reference


def _initial(net):
    return [w.copy() for w in net.weights], [b.copy() for b in net.biases]


def _flat(weights, biases):
    return np.concatenate([w.ravel() for w in weights] + [b.ravel() for b in biases])


# (activation, cost, n, batch_size): m | n, m ∤ n, m = 1, m = n
ONE_EPOCH = [
    ("sigmoid", "cross_entropy", 30, 5),
    ("sigmoid", "cross_entropy", 31, 4),
    ("sigmoid", "quadratic", 17, 1),
    ("tanh", "cross_entropy", 23, 23),
    ("tanh", "quadratic", 29, 6),
    ("relu", "cross_entropy", 26, 8),
    ("relu", "quadratic", 20, 3),
]


@pytest.mark.parametrize(("activation", "cost", "n", "batch_size"), ONE_EPOCH)
def test_one_epoch_in_order_matches_reference(activation, cost, n, batch_size, make_problem):
    X, y = make_problem(6, 4, n, seed=n)
    net = dl.Network([6, 5, 4], activation=activation, cost=cost, seed=n)
    w0, b0 = _initial(net)
    dl.train(net, (X, y), epochs=1, batch_size=batch_size, eta=0.7, lmbda=2.0, shuffle=False)
    weights, biases = train_epoch(
        w0, b0, X, one_hot(y, 4), np.arange(n), batch_size=batch_size, eta=0.7, lmbda=2.0,
        activation=activation, cost=cost,
    )  # fmt: skip
    np.testing.assert_allclose(net.params, _flat(weights, biases), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("n", "batch_size", "seed"), [(30, 5, 0), (31, 4, 1), (25, 7, 2)])
def test_one_shuffled_epoch_matches_reference_in_the_seeded_order(
    n, batch_size, seed, make_problem
):
    X, y = make_problem(6, 4, n, seed=seed)
    net = dl.Network([6, 5, 4], seed=seed)
    w0, b0 = _initial(net)
    dl.train(net, (X, y), epochs=1, batch_size=batch_size, eta=0.7, lmbda=2.0, seed=seed)
    order = np.random.default_rng(seed).permutation(n)
    weights, biases = train_epoch(
        w0, b0, X, one_hot(y, 4), order, batch_size=batch_size, eta=0.7, lmbda=2.0
    )
    np.testing.assert_allclose(net.params, _flat(weights, biases), rtol=1e-12, atol=1e-12)


def test_shuffled_epoch_is_not_the_in_order_epoch(make_problem):
    # Guards the test above: the order matters at the tolerance used.
    X, y = make_problem(6, 4, 30)
    nets = [dl.Network([6, 5, 4], seed=0) for _ in range(2)]
    dl.train(nets[0], (X, y), epochs=1, batch_size=5, eta=0.7, lmbda=2.0, seed=0)
    dl.train(nets[1], (X, y), epochs=1, batch_size=5, eta=0.7, lmbda=2.0, shuffle=False)
    assert np.abs(nets[0].params - nets[1].params).max() > 1e-6


@pytest.mark.parametrize("batch_size", [10, 7])
def test_several_epochs_on_digits_match_reference(batch_size, digits):
    X, y = digits.train
    net = dl.Network([64, 30, 10], init="large", seed=0)
    w0, b0 = _initial(net)
    dl.train(net, (X, y), epochs=3, batch_size=batch_size, eta=0.5, lmbda=5.0, seed=11)
    weights, biases = train_reference(
        w0, b0, X, one_hot(y, 10), epochs=3, batch_size=batch_size, eta=0.5, lmbda=5.0,
        shuffle=True, seed=11,
    )  # fmt: skip
    np.testing.assert_allclose(net.params, _flat(weights, biases), rtol=1e-10, atol=1e-10)


# -- the short last batch ----------------------------------------------------------


def _short_last_batch_runs(make_problem):
    n, m = 23, 5  # four batches of 5, then one of 3
    X, y = make_problem(6, 4, n, seed=4)
    net = dl.Network([6, 5, 4], seed=4)
    w0, b0 = _initial(net)
    dl.train(net, (X, y), epochs=1, batch_size=m, eta=2.0, lmbda=1.0, shuffle=False)
    runs = {
        divisor: _flat(
            *train_epoch(
                w0, b0, X, one_hot(y, 4), np.arange(n), batch_size=m, eta=2.0, lmbda=1.0,
                last_batch_divisor=divisor,
            )
        )
        for divisor in ("own", "batch_size")
    }  # fmt: skip
    return net.params, runs


def test_short_last_batch_uses_its_own_length(make_problem):
    params, runs = _short_last_batch_runs(make_problem)
    np.testing.assert_allclose(params, runs["own"], rtol=1e-12, atol=1e-12)


def test_dividing_the_short_last_batch_by_m_would_not_match(make_problem):
    params, runs = _short_last_batch_runs(make_problem)
    assert np.abs(params - runs["batch_size"]).max() > 1e-4


# -- what decay touches --------------------------------------------------------------


def _one_step(lmbda, make_problem):
    X, y = make_problem(6, 4, 12, seed=5)
    net = dl.Network([6, 5, 4], seed=5)
    start = net.params.copy()
    dl.train(net, (X, y), epochs=1, batch_size=12, eta=0.5, lmbda=lmbda, shuffle=False)
    return start, net


def test_biases_are_not_decayed(make_problem):
    # One full-batch step from the same start: the gradient is the same for
    # both λ, so the biases must come out identical.
    _, plain = _one_step(0.0, make_problem)
    _, decayed = _one_step(3.0, make_problem)
    n_w = plain.n_weights
    assert np.array_equal(plain.params[n_w:], decayed.params[n_w:])


def test_weights_are_decayed_by_eta_lambda_over_n(make_problem):
    start, plain = _one_step(0.0, make_problem)
    _, decayed = _one_step(3.0, make_problem)
    n_w = plain.n_weights
    difference = decayed.params[:n_w] - plain.params[:n_w]
    np.testing.assert_allclose(difference, -(0.5 * 3.0 / 12) * start[:n_w], rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize(("n", "batch_size"), [(20, 4), (21, 4)])
def test_lambda_zero_is_plain_sgd(n, batch_size, make_problem):
    X, y = make_problem(6, 4, n, seed=6)
    net = dl.Network([6, 5, 4], seed=6)
    w0, b0 = _initial(net)
    dl.train(net, (X, y), epochs=2, batch_size=batch_size, eta=1.0, lmbda=0.0, shuffle=False)
    weights, biases = train_reference(
        w0, b0, X, one_hot(y, 4), epochs=2, batch_size=batch_size, eta=1.0, lmbda=0.0,
        multiplier=1.0,
    )  # fmt: skip
    np.testing.assert_allclose(net.params, _flat(weights, biases), rtol=1e-12, atol=1e-12)


def test_zero_epochs_records_the_start_and_changes_nothing(make_problem):
    X, y = make_problem(6, 4, 10)
    net = dl.Network([6, 5, 4], seed=0)
    before = net.params.copy()
    hist = dl.train(net, (X, y), epochs=0, batch_size=5, eta=0.5, lmbda=1.0, seed=0)
    assert np.array_equal(net.params, before)
    assert hist.n_epochs == 0
    assert hist.weights.norm.shape == (1, 2)


def test_one_hot_labels_train_like_integer_labels(make_problem):
    X, y = make_problem(6, 4, 20)
    nets = [dl.Network([6, 5, 4], seed=0) for _ in range(2)]
    dl.train(nets[0], (X, y), epochs=2, batch_size=6, eta=0.5, lmbda=1.0, seed=3)
    dl.train(nets[1], (X, one_hot(y, 4)), epochs=2, batch_size=6, eta=0.5, lmbda=1.0, seed=3)
    assert np.array_equal(nets[0].params, nets[1].params)


def test_training_does_not_modify_the_data(make_problem):
    X, y = make_problem(6, 4, 20)
    X_before, y_before = X.copy(), y.copy()
    dl.train(dl.Network([6, 5, 4], seed=0), (X, y), epochs=2, batch_size=6, eta=0.5, seed=0)
    assert np.array_equal(X, X_before) and np.array_equal(y, y_before)


# -- recorded costs ----------------------------------------------------------------


def test_recorded_training_cost_equals_evaluate_after_training(digits):
    net = dl.Network([64, 30, 10], seed=0)
    hist = dl.train(net, digits.train, epochs=2, batch_size=10, eta=0.5, lmbda=5.0, seed=0)
    cost, accuracy = net.evaluate(digits.train, lmbda=5.0, n=len(digits.train.X))
    assert hist.training_cost[-1] == pytest.approx(cost, rel=1e-13)
    assert hist.training_accuracy[-1] == accuracy


def test_evaluation_cost_uses_the_training_set_size_in_the_penalty(digits):
    net = dl.Network([64, 30, 10], seed=0)
    hist = dl.train(
        net, digits.train, epochs=1, batch_size=10, eta=0.5, lmbda=5.0,
        evaluation=digits.validation, seed=0,
    )  # fmt: skip
    n_train, n_eval = len(digits.train.X), len(digits.validation.X)
    with_train_n = net.evaluate(digits.validation, lmbda=5.0, n=n_train)[0]
    with_eval_n = net.evaluate(digits.validation, lmbda=5.0, n=n_eval)[0]
    assert hist.evaluation_cost[-1] == pytest.approx(with_train_n, rel=1e-13)
    assert abs(hist.evaluation_cost[-1] - with_eval_n) > 1e-3


def test_recorded_initial_cost_is_the_cost_before_training(digits):
    net = dl.Network([64, 30, 10], seed=0)
    cost_before = net.evaluate(digits.train, lmbda=5.0, n=len(digits.train.X))[0]
    hist = dl.train(net, digits.train, epochs=1, batch_size=10, eta=0.5, lmbda=5.0, seed=0)
    assert hist.training_cost[0] == pytest.approx(cost_before, rel=1e-13)


# -- determinism ------------------------------------------------------------------


def _seeded_run(seed, make_problem):
    X, y = make_problem(6, 4, 40)
    net = dl.Network([6, 5, 4], seed=0)
    hist = dl.train(
        net, (X, y), epochs=3, batch_size=7, eta=0.5, lmbda=1.0, evaluation=(X, y), seed=seed
    )
    return net.params, hist.to_arrays()


def test_same_seed_gives_bit_identical_results(make_problem):
    params_a, arrays_a = _seeded_run(9, make_problem)
    params_b, arrays_b = _seeded_run(9, make_problem)
    assert np.array_equal(params_a, params_b)
    assert arrays_a.keys() == arrays_b.keys()
    assert all(np.array_equal(arrays_a[k], arrays_b[k]) for k in arrays_a)


def test_different_seeds_give_different_results(make_problem):
    params_a, arrays_a = _seeded_run(9, make_problem)
    params_b, arrays_b = _seeded_run(10, make_problem)
    assert not np.array_equal(params_a, params_b)
    assert not np.array_equal(arrays_a["weights.norm"][1:], arrays_b["weights.norm"][1:])


def test_generator_passed_as_seed_is_used(make_problem):
    params_int, _ = _seeded_run(9, make_problem)
    params_gen, _ = _seeded_run(np.random.default_rng(9), make_problem)
    assert np.array_equal(params_int, params_gen)


def test_generator_is_advanced_by_training(make_problem):
    X, y = make_problem(6, 4, 40)
    rng = np.random.default_rng(9)
    first, second = dl.Network([6, 5, 4], seed=0), dl.Network([6, 5, 4], seed=0)
    dl.train(first, (X, y), epochs=1, batch_size=7, eta=0.5, seed=rng)
    dl.train(second, (X, y), epochs=1, batch_size=7, eta=0.5, seed=rng)
    assert not np.array_equal(first.params, second.params)


def test_training_does_not_touch_global_random_state(make_problem):
    X, y = make_problem(6, 4, 40)
    # The legacy global state is read only to show that nothing draws from it.
    _, key, position, *_ = np.random.get_state()  # noqa: NPY002
    dl.train(dl.Network([6, 5, 4], seed=0), (X, y), epochs=2, batch_size=7, eta=0.5, seed=None)
    _, key_after, position_after, *_ = np.random.get_state()  # noqa: NPY002
    assert np.array_equal(key_after, key) and position_after == position


# -- interruption and divergence ----------------------------------------------------


def test_interrupted_run_resumes_bit_for_bit(make_problem):
    X, y = make_problem(6, 4, 40)
    whole = dl.Network([6, 5, 4], seed=0)
    dl.train(whole, (X, y), epochs=3, batch_size=7, eta=0.5, lmbda=1.0, seed=4)
    net = dl.Network([6, 5, 4], seed=0)
    with pytest.raises(dl.TrainingInterrupted) as caught:
        dl.train(net, (X, y), epochs=3, batch_size=7, eta=0.5, lmbda=1.0, seed=4,
                 monitors=[InterruptAt(epoch=2, step=3)])  # fmt: skip
    assert caught.value.history.n_epochs == 1
    dl.train(net, (X, y), epochs=2, batch_size=7, eta=0.5, lmbda=1.0, seed=caught.value.generator)
    assert np.array_equal(net.params, whole.params)


def test_interrupted_network_is_at_the_end_of_the_last_full_epoch(make_problem):
    X, y = make_problem(6, 4, 40)
    one_epoch = dl.Network([6, 5, 4], seed=0)
    dl.train(one_epoch, (X, y), epochs=1, batch_size=7, eta=0.5, seed=4)
    net = dl.Network([6, 5, 4], seed=0)
    with pytest.raises(dl.TrainingInterrupted):
        dl.train(net, (X, y), epochs=3, batch_size=7, eta=0.5, seed=4,
                 monitors=[InterruptAt(epoch=2, step=3)])  # fmt: skip
    assert np.array_equal(net.params, one_epoch.params)


def _diverging_run(make_problem):
    # Unbounded relu units and an absurd learning rate: the weights grow by ~η per
    # step and the cost overflows after a couple of epochs.
    X, y = make_problem(6, 4, 40)
    net = dl.Network([6, 5, 4], activation="relu", seed=0)
    with pytest.raises(dl.TrainingDiverged) as caught:
        dl.train(net, (X, y), epochs=8, batch_size=10, eta=1e20, seed=0)
    assert caught.value.epoch > 1  # so "the last finite epoch" is not the initial state
    return net, caught.value


def test_divergence_is_reported_with_the_finite_history(make_problem):
    net, error = _diverging_run(make_problem)
    assert error.history.n_epochs == error.epoch - 1
    assert np.isfinite(error.history.weights.norm).all()
    assert np.isfinite(net.params).all()


def test_divergence_leaves_the_network_at_the_last_finite_epoch(make_problem):
    net, error = _diverging_run(make_problem)
    last = error.history
    norms = [np.linalg.norm(w) for w in net.weights]
    np.testing.assert_allclose(norms, last.weights.norm[-1], rtol=1e-12)
