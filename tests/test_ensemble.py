"""train_ensemble: every member equals its separate run, and the per-example reference loop."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import decaylab as dl
from decaylab.ensemble import _Stack
from reference import one_hot, train_epoch

# Members of one ensemble differ in seed, η, λ and convention.
ETAS = [0.3, 0.7, 0.5, 0.2]
LMBDAS = [0.0, 2.0, 5.0, 0.01]
DECAYS = ["sum", "mean", "sum", "per_step"]


def _nets(sizes, k, **settings):
    return [
        dl.Network(sizes, seed=s, init=("large", "scaled")[s % 2], **settings) for s in range(k)
    ]


def _assert_histories_close(actual: dl.History, expected: dl.History, tol: float) -> None:
    assert actual.settings == expected.settings
    np.testing.assert_array_equal(actual.epoch, expected.epoch)
    for kind in ("weights", "biases"):
        for f in dataclasses.fields(dl.ParameterStats):
            np.testing.assert_allclose(
                getattr(getattr(actual, kind), f.name),
                getattr(getattr(expected, kind), f.name),
                rtol=tol,
                atol=tol,
                err_msg=f"{kind}.{f.name}",
            )
    for name in ("training_cost", "training_accuracy", "evaluation_cost", "evaluation_accuracy"):
        a, e = getattr(actual, name), getattr(expected, name)
        assert (a is None) == (e is None), name
        if a is not None:
            np.testing.assert_allclose(a, e, rtol=tol, atol=tol, err_msg=name)


# (sizes, activation, cost, n, batch_size, shuffle): m ∤ n gives a shorter last batch.
CASES = [
    ([12, 7, 4], "sigmoid", "cross_entropy", 53, 10, True),
    ([12, 7, 4], "sigmoid", "quadratic", 40, 8, False),
    ([12, 9, 6, 4], "tanh", "cross_entropy", 37, 5, True),
    ([12, 8, 4], "relu", "quadratic", 30, 1, True),
    ([12, 4], "sigmoid", "cross_entropy", 25, 25, True),
]


@pytest.mark.parametrize(("sizes", "activation", "cost", "n", "batch_size", "shuffle"), CASES)
def test_each_member_history_equals_its_separate_run(
    sizes, activation, cost, n, batch_size, shuffle, make_problem
):
    X, y = make_problem(12, 4, n, seed=n)
    evaluation = make_problem(12, 4, 15, seed=n + 1)
    nets = _nets(sizes, 4, activation=activation, cost=cost)
    alone = [net.copy() for net in nets]
    common = dict(epochs=3, batch_size=batch_size, shuffle=shuffle, seed=7, evaluation=evaluation)
    histories = dl.train_ensemble(
        nets, (X, y), eta=ETAS, lmbda=LMBDAS, decay=DECAYS, **common
    )  # fmt: skip
    for k in range(4):
        expected = dl.train(
            alone[k], (X, y), eta=ETAS[k], lmbda=LMBDAS[k], decay=DECAYS[k], **common
        )
        _assert_histories_close(histories[k], expected, tol=1e-10)


@pytest.mark.parametrize(("sizes", "activation", "cost", "n", "batch_size", "shuffle"), CASES)
def test_each_member_is_trained_in_place_like_its_separate_run(
    sizes, activation, cost, n, batch_size, shuffle, make_problem
):
    X, y = make_problem(12, 4, n, seed=n)
    nets = _nets(sizes, 4, activation=activation, cost=cost)
    alone = [net.copy() for net in nets]
    common = dict(epochs=3, batch_size=batch_size, shuffle=shuffle, seed=3)
    dl.train_ensemble(nets, (X, y), eta=ETAS, lmbda=LMBDAS, decay=DECAYS, **common)
    for k in range(4):
        dl.train(alone[k], (X, y), eta=ETAS[k], lmbda=LMBDAS[k], decay=DECAYS[k], **common)
        np.testing.assert_allclose(nets[k].params, alone[k].params, rtol=1e-10, atol=1e-10)


def test_members_match_the_per_example_reference_loop(make_problem):
    n, m = 31, 4
    X, y = make_problem(12, 4, n, seed=0)
    nets = _nets([12, 7, 4], 3)
    start = [([w.copy() for w in net.weights], [b.copy() for b in net.biases]) for net in nets]
    etas, lmbdas = [0.4, 0.4, 0.9], [0.0, 3.0, 6.0]
    dl.train_ensemble(nets, (X, y), epochs=2, batch_size=m, eta=etas, lmbda=lmbdas, seed=5)
    generator = np.random.default_rng(5)
    orders = [generator.permutation(n) for _ in range(2)]
    for net, (weights, biases), eta, lmbda in zip(nets, start, etas, lmbdas):
        for order in orders:
            weights, biases = train_epoch(
                weights, biases, X, one_hot(y, 4), order, batch_size=m, eta=eta, lmbda=lmbda
            )
        expected = np.concatenate([w.ravel() for w in weights] + [b.ravel() for b in biases])
        np.testing.assert_allclose(net.params, expected, rtol=1e-12, atol=1e-12)


def test_scalar_settings_apply_to_every_member(make_problem):
    X, y = make_problem(12, 4, 30, seed=1)
    nets, listed = _nets([12, 7, 4], 3), _nets([12, 7, 4], 3)
    dl.train_ensemble(nets, (X, y), epochs=2, batch_size=6, eta=0.5, lmbda=2.0, seed=0)
    dl.train_ensemble(
        listed, (X, y), epochs=2, batch_size=6, eta=[0.5] * 3, lmbda=[2.0] * 3, seed=0
    )
    for a, b in zip(nets, listed):
        np.testing.assert_array_equal(a.params, b.params)


def test_single_member_equals_train(make_problem):
    X, y = make_problem(12, 4, 30, seed=2)
    (net,) = nets = _nets([12, 7, 4], 1)
    alone = net.copy()
    (history,) = dl.train_ensemble(nets, (X, y), epochs=2, batch_size=4, eta=0.5, lmbda=1.0, seed=1)
    expected = dl.train(alone, (X, y), epochs=2, batch_size=4, eta=0.5, lmbda=1.0, seed=1)
    _assert_histories_close(history, expected, tol=1e-12)
    np.testing.assert_allclose(net.params, alone.params, rtol=1e-12, atol=1e-12)


def test_float32_members_follow_their_separate_runs(make_problem):
    X, y = make_problem(12, 4, 30, seed=4)
    nets = _nets([12, 7, 4], 3, dtype="float32")
    alone = [net.copy() for net in nets]
    dl.train_ensemble(nets, (X, y), epochs=2, batch_size=5, eta=0.5, lmbda=[0.0, 1.0, 4.0], seed=2)
    for net, other, lmbda in zip(nets, alone, [0.0, 1.0, 4.0]):
        dl.train(other, (X, y), epochs=2, batch_size=5, eta=0.5, lmbda=lmbda, seed=2)
        assert net.params.dtype == np.float32
        np.testing.assert_allclose(net.params, other.params, rtol=1e-5, atol=1e-5)


def test_same_seed_gives_bit_identical_ensembles(make_problem):
    X, y = make_problem(12, 4, 30, seed=5)
    runs = []
    for _ in range(2):
        nets = _nets([12, 7, 4], 3)
        dl.train_ensemble(nets, (X, y), epochs=2, batch_size=4, eta=0.5, lmbda=LMBDAS[:3], seed=9)
        runs.append(np.concatenate([net.params for net in nets]))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_stacked_buffer_round_trips_the_members():
    nets = _nets([5, 4, 3], 3)
    stack = _Stack(nets, batch_size=2)
    copies = [net.copy() for net in nets]
    for net in nets:
        net.params[...] = 0.0
    stack.store(nets)
    for net, original in zip(nets, copies):
        np.testing.assert_array_equal(net.params, original.params)


def test_wide_first_layer_holds_each_member_in_its_own_rows():
    nets = _nets([5, 4, 3], 3)
    stack = _Stack(nets, batch_size=2)
    wide = stack.wide_weights_transposed.T  # (K·4, 5)
    for k, net in enumerate(nets):
        np.testing.assert_array_equal(wide[4 * k : 4 * (k + 1)], net.weights[0])


def test_diverging_member_stops_and_the_others_carry_on(make_problem):
    X, y = make_problem(12, 4, 40, seed=6)
    nets = _nets([12, 7, 4], 3)
    alone = [net.copy() for net in nets]
    etas = [0.5, 1e155, 0.5]  # the middle member overflows in its first epoch
    with pytest.warns(RuntimeWarning, match=r"nets\[1\].*epoch 1"):
        histories = dl.train_ensemble(nets, (X, y), epochs=3, batch_size=5, eta=etas, seed=0)
    assert [h.n_epochs for h in histories] == [3, 0, 3]
    np.testing.assert_array_equal(nets[1].params, alone[1].params)
    for k in (0, 2):
        dl.train(alone[k], (X, y), epochs=3, batch_size=5, eta=etas[k], seed=0)
        np.testing.assert_allclose(nets[k].params, alone[k].params, rtol=1e-10, atol=1e-10)


def _interrupt_at_step(monkeypatch, step: int) -> None:
    calls = {"n": 0}
    original = _Stack.sgd_step

    def interrupting(self, batch_length):
        calls["n"] += 1
        if calls["n"] == step:
            raise KeyboardInterrupt
        original(self, batch_length)

    monkeypatch.setattr(_Stack, "sgd_step", interrupting)


def test_interrupted_ensemble_keeps_the_completed_epochs(make_problem, monkeypatch):
    X, y = make_problem(12, 4, 20, seed=7)
    nets = _nets([12, 7, 4], 2)
    alone = [net.copy() for net in nets]
    _interrupt_at_step(monkeypatch, step=4 * 2 + 3)  # 4 steps per epoch: inside epoch 3
    with pytest.raises(dl.TrainingInterrupted, match="after epoch 2") as info:
        dl.train_ensemble(nets, (X, y), epochs=5, batch_size=5, eta=0.5, lmbda=[1.0, 3.0], seed=0)
    assert [h.n_epochs for h in info.value.history] == [2, 2]
    for net, other, lmbda in zip(nets, alone, [1.0, 3.0]):
        dl.train(other, (X, y), epochs=2, batch_size=5, eta=0.5, lmbda=lmbda, seed=0)
        np.testing.assert_allclose(net.params, other.params, rtol=1e-10, atol=1e-10)


def test_interrupted_ensemble_resumes_bit_for_bit(make_problem, monkeypatch):
    X, y = make_problem(12, 4, 20, seed=8)
    nets, uninterrupted = _nets([12, 7, 4], 2), _nets([12, 7, 4], 2)
    settings = dict(batch_size=5, eta=0.5, lmbda=[1.0, 3.0])
    dl.train_ensemble(uninterrupted, (X, y), epochs=4, seed=0, **settings)
    with monkeypatch.context() as patch:
        _interrupt_at_step(patch, step=6)
        with pytest.raises(dl.TrainingInterrupted) as info:
            dl.train_ensemble(nets, (X, y), epochs=4, seed=0, **settings)
    dl.train_ensemble(nets, (X, y), epochs=3, seed=info.value.generator, **settings)
    for net, other in zip(nets, uninterrupted):
        np.testing.assert_array_equal(net.params, other.params)


def test_bad_arguments_leave_the_networks_unchanged(make_problem):
    X, y = make_problem(12, 4, 20, seed=9)
    nets = _nets([12, 7, 4], 2)
    before = [net.params.copy() for net in nets]
    with pytest.raises(ValueError, match=r"lmbda\[1\]=-1.0 must be >= 0"):
        dl.train_ensemble(nets, (X, y), epochs=1, batch_size=5, eta=0.5, lmbda=[1.0, -1.0])
    for net, params in zip(nets, before):
        np.testing.assert_array_equal(net.params, params)


NET = dl.Network([12, 7, 4], seed=0)

# (nets, keyword arguments, error, message)
BAD = [
    (NET, {}, TypeError, "nets has type Network; expected a sequence"),
    ([], {}, ValueError, "nets is empty"),
    ([NET, "net"], {}, TypeError, r"nets\[1\] has type str"),
    ([NET, NET], {}, ValueError, r"nets\[1\] is the same object as nets\[0\]"),
    ([NET, dl.Network([12, 6, 4])], {}, ValueError, r"nets\[1\] is Network\(sizes=\[12, 6, 4\]"),
    ([NET, dl.Network([12, 7, 4], activation="tanh")], {}, ValueError, "same sizes, activation"),
    ([NET, NET.copy()], {"eta": [0.5]}, ValueError, "eta has 1 value.s.; expected one value"),
    ([NET, NET.copy()], {"eta": [0.5, 0.0]}, ValueError, r"eta\[1\]=0.0 must be > 0"),
    (
        [NET, NET.copy()],
        {"decay": ["sum", "cubic"]},
        ValueError,
        r"decay\[1\]='cubic' is not recog",
    ),
    ([NET, NET.copy()], {"batch_size": 0}, ValueError, "batch_size=0 is too small"),
    ([NET, NET.copy()], {"shuffle": 1}, TypeError, "shuffle=1 has type int"),
    ([NET, NET.copy()], {"lmbda": [0.0, 1e9]}, ValueError, "member 1: the 'sum' decay multiplier"),
]


@pytest.mark.parametrize(("nets", "kwargs", "error", "message"), BAD)
def test_bad_arguments_are_rejected(nets, kwargs, error, message, make_problem):
    X, y = make_problem(12, 4, 20, seed=10)
    arguments = {"epochs": 1, "batch_size": 5, "eta": 0.5, **kwargs}
    with pytest.raises(error, match=message):
        dl.train_ensemble(nets, (X, y), **arguments)


def test_data_of_the_wrong_width_is_rejected(make_problem):
    X, y = make_problem(11, 4, 20, seed=11)
    with pytest.raises(ValueError, match="data X has 11 columns"):
        dl.train_ensemble(_nets([12, 7, 4], 2), (X, y), epochs=1, batch_size=5, eta=0.5)


def test_members_sharing_one_multiplier_follow_their_separate_runs(make_problem):
    # One λ, η and convention for all: the first layer decays inside the update's product.
    X, y = make_problem(12, 4, 43, seed=11)
    nets = _nets([12, 9, 6, 4], 3)
    alone = [net.copy() for net in nets]
    common = dict(epochs=3, batch_size=5, eta=0.4, lmbda=3.0, seed=4)
    dl.train_ensemble(nets, (X, y), **common)
    for net in alone:
        dl.train(net, (X, y), **common)
    np.testing.assert_allclose(
        np.concatenate([net.params for net in nets]),
        np.concatenate([net.params for net in alone]),
        rtol=1e-10,
        atol=1e-10,
    )


@pytest.mark.parametrize("lmbdas", [[0.1, 0.999], [0.5, 0.99], [0.2, 0.05]])
def test_members_with_strong_or_weak_decay_follow_their_separate_runs(lmbdas, make_problem):
    # Decoupled decay multiplies by d = 1 − λ per step: members whose weights shrink a
    # thousandfold or barely at every step, decayed each by its own d before the wide update.
    X, y = make_problem(12, 4, 30, seed=12)
    nets = _nets([12, 7, 4], 2)
    alone = [net.copy() for net in nets]
    common = dict(epochs=2, batch_size=1, eta=0.3, decay="decoupled", seed=5)
    dl.train_ensemble(nets, (X, y), lmbda=lmbdas, **common)
    for net, lmbda in zip(alone, lmbdas):
        dl.train(net, (X, y), lmbda=lmbda, **common)
    np.testing.assert_allclose(
        np.concatenate([net.params for net in nets]),
        np.concatenate([net.params for net in alone]),
        rtol=1e-10,
        atol=1e-10,
    )
