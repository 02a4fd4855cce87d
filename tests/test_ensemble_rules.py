"""train_ensemble under every rule and with per-member seeds: each member is its separate run."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl
from decaylab.rules import Adam, AdamW, Momentum
from test_ensemble import _assert_histories_close, _nets

ETAS = [0.3, 0.1, 0.05]
LMBDAS = [2.0, 0.0, 5.0]
DECAYS = ["sum", "mean", "sum"]

# (name, one rule per member): one kind of rule each, hyper-parameters per member.
RULES = [
    ("sgd", [None] * 3),
    ("momentum", [Momentum(0.9), Momentum(0.5), Momentum(0.9)]),
    ("nesterov", [Momentum(0.9, nesterov=True), Momentum(0.7, nesterov=True)] * 2),
    ("adam", [Adam(), Adam(beta1=0.8, beta2=0.99), Adam(eps=1e-6)]),
    ("adamw", [AdamW(), AdamW(beta1=0.85), AdamW(beta2=0.95)]),
]
# Adam's steps are about η per weight whatever the gradient: smaller η keeps them sane.
ADAM_ETAS = [0.01, 0.003, 0.02]


def _settings(name):
    return {"eta": ADAM_ETAS if name.startswith("adam") else ETAS}


def _separate(nets, data, rules, seeds, eta, **common):
    histories = []
    for k, net in enumerate(nets):
        histories.append(
            dl.train(net, data, eta=eta[k], lmbda=LMBDAS[k], decay=DECAYS[k], seed=seeds[k],
                     optimizer=rules[k], progress=False, **common)
        )  # fmt: skip
    return histories


@pytest.mark.parametrize(("name", "rules"), RULES, ids=[r[0] for r in RULES])
@pytest.mark.parametrize("own_seeds", [False, True], ids=["shared-batches", "own-seeds"])
def test_each_member_under_a_rule_equals_its_separate_run(name, rules, own_seeds, make_problem):
    # n = 53, m = 10: six steps an epoch, the last of three examples.
    X, y = make_problem(12, 4, 53, seed=3)
    evaluation = make_problem(12, 4, 15, seed=4)
    nets = _nets([12, 7, 4], 3)
    alone = [net.copy() for net in nets]
    seeds = [11, 12, 13] if own_seeds else [7] * 3
    common = dict(epochs=4, batch_size=10, evaluation=evaluation)
    rules = rules[:3]
    histories = dl.train_ensemble(
        nets, (X, y), lmbda=LMBDAS, decay=DECAYS, seed=seeds if own_seeds else 7,
        optimizer=rules if rules[0] is not None else None, **_settings(name), **common,
    )  # fmt: skip
    expected = _separate(alone, (X, y), rules, seeds, **_settings(name), **common)
    for k in range(3):
        _assert_histories_close(histories[k], expected[k], tol=1e-10)
        np.testing.assert_allclose(nets[k].params, alone[k].params, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("name", "rules"), RULES[1:], ids=[r[0] for r in RULES[1:]])
def test_each_member_rule_state_equals_its_separate_runs(name, rules, make_problem):
    X, y = make_problem(12, 4, 37, seed=5)
    nets = _nets([12, 9, 4], 3)
    alone = [net.copy() for net in nets]
    states = [rule.init(net) for rule, net in zip(rules, nets)]
    common = dict(epochs=3, batch_size=6, **_settings(name))
    dl.train_ensemble(nets, (X, y), lmbda=LMBDAS, decay=DECAYS, seed=[1, 2, 3],
                      optimizer=rules[:3], optimizer_state=states, **common)  # fmt: skip
    for k in range(3):
        expected = rules[k].init(alone[k])
        dl.train(alone[k], (X, y), epochs=3, batch_size=6, eta=common["eta"][k],
                 lmbda=LMBDAS[k], decay=DECAYS[k], seed=k + 1, optimizer=rules[k],
                 optimizer_state=expected, progress=False)  # fmt: skip
        for key, array in expected.items():
            np.testing.assert_allclose(states[k][key], array, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("rule", [None, Momentum(0.9), AdamW()], ids=["sgd", "momentum", "adamw"])
def test_a_single_member_with_its_own_seed_equals_train(rule, make_problem):
    X, y = make_problem(12, 4, 23, seed=6)
    (net,), alone = _nets([12, 7, 4], 1), _nets([12, 7, 4], 1)[0]
    common = dict(epochs=3, batch_size=5, eta=0.05, lmbda=1.0, optimizer=rule)
    (history,) = dl.train_ensemble([net], (X, y), seed=[4], **common)
    expected = dl.train(alone, (X, y), seed=4, progress=False, **common)
    _assert_histories_close(history, expected, tol=1e-10)


def test_members_with_their_own_seeds_see_different_batches(make_problem):
    # The same network and hyper-parameters under two seeds: only the order differs.
    X, y = make_problem(12, 4, 30, seed=7)
    net = dl.Network([12, 7, 4], seed=0)
    nets = [net.copy(), net.copy()]
    dl.train_ensemble(nets, (X, y), epochs=1, batch_size=5, eta=0.5, seed=[1, 2])
    assert not np.allclose(nets[0].params, nets[1].params)


def test_same_seeds_give_bit_identical_ensembles_under_a_rule(make_problem):
    X, y = make_problem(12, 4, 30, seed=8)
    runs = []
    for _ in range(2):
        nets = _nets([12, 7, 4], 3)
        dl.train_ensemble(nets, (X, y), epochs=2, batch_size=4, eta=0.01, lmbda=LMBDAS,
                          seed=[5, 6, 7], optimizer="adam")  # fmt: skip
        runs.append(np.concatenate([net.params for net in nets]))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_a_diverging_member_under_a_rule_keeps_its_last_finite_state(make_problem):
    X, y = make_problem(12, 4, 40, seed=9)
    nets = _nets([12, 7, 4], 3)
    alone = [net.copy() for net in nets]
    states = [Momentum(0.9).init(net) for net in nets]
    etas = [0.5, 1e155, 0.5]  # the middle member overflows in its first epoch
    with pytest.warns(RuntimeWarning, match=r"nets\[1\].*epoch 1"):
        histories = dl.train_ensemble(nets, (X, y), epochs=3, batch_size=5, eta=etas,
                                      seed=[0, 1, 2], optimizer="momentum",
                                      optimizer_state=states)  # fmt: skip
    assert [h.n_epochs for h in histories] == [3, 0, 3]
    np.testing.assert_array_equal(nets[1].params, alone[1].params)
    assert not np.any(states[1]["velocity"])
    dl.train(alone[2], (X, y), epochs=3, batch_size=5, eta=0.5, seed=2, optimizer="momentum")
    np.testing.assert_allclose(nets[2].params, alone[2].params, rtol=1e-10, atol=1e-12)


def test_an_interrupted_ensemble_under_a_rule_resumes_bit_for_bit(make_problem, monkeypatch):
    from decaylab._stack import StackedRule

    X, y = make_problem(12, 4, 20, seed=10)
    nets, uninterrupted = _nets([12, 7, 4], 2), _nets([12, 7, 4], 2)
    settings = dict(batch_size=5, eta=0.01, lmbda=[1.0, 3.0], optimizer="adam")
    dl.train_ensemble(uninterrupted, (X, y), epochs=4, seed=[0, 1], **settings)
    calls = {"n": 0}
    original = StackedRule.step

    def interrupting(self, batch_length):
        calls["n"] += 1
        if calls["n"] == 6:  # inside epoch 2
            raise KeyboardInterrupt
        original(self, batch_length)

    with monkeypatch.context() as patch:
        patch.setattr(StackedRule, "step", interrupting)
        with pytest.raises(dl.TrainingInterrupted, match="after epoch 1") as info:
            dl.train_ensemble(nets, (X, y), epochs=4, seed=[0, 1], **settings)
    exc = info.value
    dl.train_ensemble(nets, (X, y), epochs=3, seed=exc.generator,
                      optimizer_state=exc.optimizer_state, **settings)  # fmt: skip
    for net, other in zip(nets, uninterrupted):
        np.testing.assert_array_equal(net.params, other.params)


BAD = [
    ({"optimizer": ["momentum", "adam"]}, ValueError, "member 1's rule Adam"),
    ({"optimizer": [None, "momentum"]}, ValueError, "member 1's rule Momentum"),
    ({"optimizer": ["adam"]}, ValueError, "optimizer has 1 value.s.; expected one rule"),
    ({"optimizer": "rmsprop"}, ValueError, "optimizer='rmsprop' is not one of"),
    ({"seed": [1]}, ValueError, "seed has 1 value.s.; expected one seed"),
    ({"seed": [1, -2]}, ValueError, r"seed\[1\]=-2 is not a seed"),
    ({"optimizer": "adam", "optimizer_state": [{}, {}]}, ValueError, "optimizer_state has"),
]


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD)
def test_bad_rules_and_seeds_are_rejected(kwargs, error, message, make_problem):
    X, y = make_problem(12, 4, 20, seed=11)
    nets = _nets([12, 7, 4], 2)
    before = [net.params.copy() for net in nets]
    with pytest.raises(error, match=message):
        dl.train_ensemble(nets, (X, y), epochs=1, batch_size=5, eta=0.5, **kwargs)
    for net, params in zip(nets, before):
        np.testing.assert_array_equal(net.params, params)


def test_one_generator_for_two_members_is_rejected(make_problem):
    X, y = make_problem(12, 4, 20, seed=12)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"seed\[1\] is the same Generator as seed\[0\]"):
        dl.train_ensemble(_nets([12, 7, 4], 2), (X, y), epochs=1, batch_size=5, eta=0.5,
                          seed=[rng, rng])  # fmt: skip


@pytest.mark.parametrize("lmbdas", [[1.0, 1.0, 1.0], [0.5, 2.0, 8.0]], ids=["one-d", "own-d"])
def test_members_with_large_layers_and_their_own_seeds_equal_their_separate_runs(
    lmbdas, make_problem
):
    # 130·130 weights a member: each updated by its own fused gemm, w ← d·w − δᵀa.
    X, y = make_problem(130, 4, 23, seed=13)
    nets = [dl.Network([130, 130, 4], seed=s) for s in range(3)]
    alone = [net.copy() for net in nets]
    common = dict(epochs=2, batch_size=5, eta=0.1)
    histories = dl.train_ensemble(nets, (X, y), lmbda=lmbdas, seed=[1, 2, 3], **common)
    for k in range(3):
        expected = dl.train(alone[k], (X, y), lmbda=lmbdas[k], seed=k + 1, progress=False,
                            **common)  # fmt: skip
        _assert_histories_close(histories[k], expected, tol=1e-10)
        np.testing.assert_allclose(nets[k].params, alone[k].params, rtol=1e-10, atol=1e-12)
