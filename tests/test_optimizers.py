"""The update rules beside eq. 93 against straightforward per-example loops written here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

import decaylab as dl
from decaylab.optimizers import Adam, AdamW, Momentum, get_optimizer
from reference import example_gradient, one_hot, train_reference

SIZES = [5, 4, 3]
N, BATCH, EPOCHS, ETA, LMBDA = 23, 5, 4, 0.05, 3.0  # last batch of 3: its own m_B


def _data(seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, SIZES[0]))
    labels = rng.integers(0, SIZES[-1], size=N)
    return X, labels


def _batch_mean_gradient(weights, biases, X, targets):
    gw = [np.zeros_like(w) for w in weights]
    gb = [np.zeros_like(b) for b in biases]
    for x, t in zip(X, targets):
        ew, eb = example_gradient(weights, biases, x, t)
        for l in range(len(weights)):
            gw[l] += ew[l]
            gb[l] += eb[l]
    return [g / len(X) for g in gw], [g / len(X) for g in gb]


def _reference(rule, weights, biases, X, labels, *, c, eta, beta=0.9, nesterov=False, b1=0.9,
               b2=0.999, eps=1e-8):  # fmt: skip
    """The rule written the obvious way: lists of arrays, one example at a time, no shared code."""
    weights = [np.array(w, dtype=float) for w in weights]
    biases = [np.array(b, dtype=float) for b in biases]
    params = weights + biases
    decayed = [True] * len(weights) + [False] * len(biases)
    targets = one_hot(labels, SIZES[-1])
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    t = 0
    for _ in range(EPOCHS):
        for start in range(0, N, BATCH):
            gw, gb = _batch_mean_gradient(
                weights, biases, X[start : start + BATCH], targets[start : start + BATCH]
            )
            grads = gw + gb
            t += 1
            for i, (p, g) in enumerate(zip(params, grads)):
                if rule in ("momentum", "adam") and decayed[i]:
                    g = g + c * p
                if rule == "momentum":
                    first[i] = beta * first[i] + g
                    p -= eta * (g + beta * first[i]) if nesterov else eta * first[i]
                    continue
                if rule == "adamw" and decayed[i]:
                    p *= 1.0 - eta * c
                first[i] = b1 * first[i] + (1 - b1) * g
                second[i] = b2 * second[i] + (1 - b2) * g**2
                m_hat = first[i] / (1 - b1**t)
                v_hat = second[i] / (1 - b2**t)
                p -= eta * m_hat / (np.sqrt(v_hat) + eps)
    return weights, biases


def _decaylab(optimizer, net, X, labels, *, c, eta):
    """Train with decaylab.train, taking the examples in the given order; return the state."""
    state = optimizer.init(net)
    dl.train(
        net,
        (X, labels),
        epochs=EPOCHS,
        batch_size=BATCH,
        eta=eta,
        lmbda=c * N,
        shuffle=False,
        training_metrics=False,
        optimizer=optimizer,
        optimizer_state=state,
    )
    return state


@pytest.mark.parametrize(
    "optimizer, eta",
    [(Momentum(beta=0.9), ETA), (Momentum(0.9, nesterov=True), ETA), (Adam(), 0.01),
     (AdamW(), 0.01)],
    ids=["momentum", "nesterov", "adam", "adamw"],
)  # fmt: skip
def test_trajectory_matches_reference_loop(optimizer, eta):
    X, labels = _data()
    net = dl.Network(SIZES, init="large", seed=0)
    start_w = [w.copy() for w in net.weights]
    start_b = [b.copy() for b in net.biases]
    c = LMBDA / N
    _decaylab(optimizer, net, X, labels, c=c, eta=eta)
    rule = optimizer.name
    beta, nesterov = getattr(optimizer, "beta", 0.9), getattr(optimizer, "nesterov", False)
    ref_w, ref_b = _reference(
        rule, start_w, start_b, X, labels, c=c, eta=eta, beta=beta, nesterov=nesterov
    )
    moved = max(np.abs(w - w0).max() for w, w0 in zip(net.weights, start_w))
    assert moved > 1e-3  # the run did something worth comparing
    for got, want in zip([*net.weights, *net.biases], [*ref_w, *ref_b]):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_momentum_with_beta_zero_is_eq_93():
    X, labels = _data()
    net = dl.Network(SIZES, init="large", seed=0)
    start_w, start_b = list(net.weights), list(net.biases)
    ref_w, ref_b = train_reference(
        start_w,
        start_b,
        X,
        one_hot(labels, SIZES[-1]),
        epochs=EPOCHS,
        batch_size=BATCH,
        eta=ETA,
        lmbda=LMBDA,
    )
    _decaylab(Momentum(beta=0.0), net, X, labels, c=LMBDA / N, eta=ETA)
    for got, want in zip([*net.weights, *net.biases], [*ref_w, *ref_b]):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("rule", ["adam", "momentum"])
def test_l2_decays_weights_not_biases(rule):
    # With zero input the first layer's data gradient vanishes; only the L2 term moves it.
    X = np.zeros((N, SIZES[0]))
    labels = np.zeros(N, dtype=int)
    net = dl.Network(SIZES, init="large", seed=0)
    w0 = net.weights[0].copy()
    _decaylab(get_optimizer(rule), net, X, labels, c=LMBDA / N, eta=ETA)
    assert np.all(np.abs(net.weights[0]) < np.abs(w0))


def test_adamw_without_decay_equals_adam_without_decay():
    X, labels = _data()
    a, b = dl.Network(SIZES, seed=0), dl.Network(SIZES, seed=0)
    _decaylab(Adam(), a, X, labels, c=0.0, eta=0.01)
    _decaylab(AdamW(), b, X, labels, c=0.0, eta=0.01)
    np.testing.assert_array_equal(a.params, b.params)


@pytest.mark.parametrize("optimizer", [Momentum(0.5), Adam(0.8, 0.99, 1e-6), AdamW()])
def test_settings_round_trip_through_json(optimizer):
    assert get_optimizer(json.loads(json.dumps(optimizer.settings()))) == optimizer


@pytest.mark.parametrize("name", ["sgd", None])
def test_sgd_means_eq_93(name):
    assert get_optimizer(name) is None


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: Momentum(beta=1.0), ValueError, "beta=1.0"),
        (lambda: Momentum(beta=-0.1), ValueError, "beta=-0.1"),
        (lambda: Adam(beta2=1.5), ValueError, "beta2=1.5"),
        (lambda: AdamW(eps=0.0), ValueError, "eps=0.0"),
        (lambda: Adam(beta1="0.9"), TypeError, "beta1"),
        (lambda: get_optimizer("rmsprop"), ValueError, "rmsprop"),
        (lambda: get_optimizer(3), TypeError, "optimizer=3"),
        (lambda: get_optimizer({"name": "adam", "beta": 0.5}), ValueError, "adam"),
    ],
)
def test_bad_settings_are_refused(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize(
    "state, match",
    [
        ({"velocity": np.zeros(3)}, "shape"),
        ({"first_moment": np.zeros(1)}, "velocity"),
        ([], "list"),
    ],
)
def test_bad_state_is_refused(state, match):
    net = dl.Network(SIZES, seed=0)
    with pytest.raises(ValueError, match=match):
        Momentum().check_state(state, net)


def _torch_run(optimizer, net, X, labels, *, c, eta):
    """The same run in PyTorch: biases in a group without weight decay."""
    torch = pytest.importorskip("torch")
    weights = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in net.weights]
    biases = [torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in net.biases]
    groups = [{"params": weights, "weight_decay": c}, {"params": biases, "weight_decay": 0.0}]
    if optimizer.name == "sgd":
        torch_optimizer = torch.optim.SGD(groups, lr=eta)
    elif optimizer.name == "momentum":
        torch_optimizer = torch.optim.SGD(
            groups, lr=eta, momentum=optimizer.beta, nesterov=optimizer.nesterov
        )
    else:
        make = torch.optim.Adam if optimizer.name == "adam" else torch.optim.AdamW
        torch_optimizer = make(
            groups, lr=eta, betas=(optimizer.beta1, optimizer.beta2), eps=optimizer.eps
        )
    X_t = torch.tensor(X, dtype=torch.float64)
    targets = torch.tensor(one_hot(labels, SIZES[-1]), dtype=torch.float64)
    for _ in range(EPOCHS):
        for start in range(0, N, BATCH):
            a = X_t[start : start + BATCH]
            for l, (w, b) in enumerate(zip(weights, biases)):
                z = a @ w.T + b
                a = torch.sigmoid(z) if l < len(weights) - 1 else z
            # Cross-entropy summed over the outputs, averaged over the batch.
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                z, targets[start : start + BATCH], reduction="sum"
            ) / len(z)
            torch_optimizer.zero_grad()
            loss.backward()
            torch_optimizer.step()
    return [p.detach().numpy() for p in weights + biases]


@pytest.mark.parametrize(
    "optimizer, eta",
    [(dl.SGD(), 0.5), (Momentum(beta=0.9), ETA), (Momentum(0.9, nesterov=True), ETA),
     (Adam(), 0.01), (AdamW(), 0.01)],
    ids=["SGD(weight_decay)", "SGD(momentum=0.9)", "SGD(momentum=0.9, nesterov=True)",
         "Adam(weight_decay)", "AdamW"],
)  # fmt: skip
def test_trajectory_matches_pytorch(optimizer, eta):
    # EPOCHS epochs of N = 23 examples in batches of 5: every epoch ends on a batch of 3.
    X, labels = _data()
    net = dl.Network(SIZES, init="large", seed=0)
    c = LMBDA / N
    want = _torch_run(optimizer, net, X, labels, c=c, eta=eta)
    _decaylab(optimizer, net, X, labels, c=c, eta=eta)
    got = np.concatenate([p.ravel() for p in [*net.weights, *net.biases]])
    expected = np.concatenate([p.ravel() for p in want])
    assert np.max(np.abs(got - expected)) <= 1e-10 * np.max(np.abs(expected))


RULES = [Momentum(beta=0.9), Momentum(0.9, nesterov=True), Adam(), AdamW()]
ETAS = {"momentum": 0.05, "adam": 0.01, "adamw": 0.01}
IDS = ["momentum", "nesterov", "adam", "adamw"]


def _shuffled(optimizer, net, state, epochs, **options):
    X, labels = _data()
    return dl.train(
        net,
        (X, labels),
        epochs=epochs,
        batch_size=BATCH,
        eta=ETAS[optimizer.name],
        lmbda=LMBDA,
        training_metrics=False,
        optimizer=optimizer,
        optimizer_state=state,
        **options,
    )


@pytest.mark.parametrize("optimizer", RULES, ids=IDS)
def test_continued_run_is_the_run_never_stopped(optimizer):
    straight, parts = dl.Network(SIZES, seed=0), dl.Network(SIZES, seed=0)
    state, state_parts = optimizer.init(straight), optimizer.init(parts)
    rng = np.random.default_rng(5)
    whole = _shuffled(optimizer, straight, state, 4, seed=np.random.default_rng(5))
    first = _shuffled(optimizer, parts, state_parts, 2, seed=rng)
    both = _shuffled(optimizer, parts, state_parts, 2, seed=rng, history=first)
    np.testing.assert_array_equal(parts.params, straight.params)
    for key in state:
        np.testing.assert_array_equal(state_parts[key], state[key])
    assert both.equals(whole)


@pytest.mark.parametrize("optimizer", RULES, ids=IDS)
def test_checkpoint_resumes_bit_for_bit(optimizer, tmp_path):
    X, labels = _data()
    straight, interrupted = dl.Network(SIZES, seed=0), dl.Network(SIZES, seed=0)
    _shuffled(optimizer, straight, optimizer.init(straight), 4, seed=3)
    path = tmp_path / "run-{epoch}.npz"
    _shuffled(optimizer, interrupted, None, 4, seed=3, checkpoint_every=2, checkpoint_path=path)
    checkpoint = dl.load_checkpoint(tmp_path / "run-2.npz")
    assert set(checkpoint.optimizer_state) == set(optimizer.init(straight))
    dl.resume(checkpoint, (X, labels))
    np.testing.assert_array_equal(checkpoint.network.params, straight.params)


@dataclass(frozen=True)
class _BreaksAtStepEight(Momentum):
    """Momentum that writes a NaN into the weights at its eighth step (epoch 2 of 5 steps)."""

    name: ClassVar[str] = "breaks"

    def init(self, net):
        return {**super().init(net), "count": np.zeros((), dtype=np.int64)}

    def step(self, net, grad, state, **options):
        super().step(net, grad, state, **options)
        state["count"] += 1
        if state["count"] == 8:
            net.params[0] = np.nan


def test_diverged_epoch_rolls_the_state_back():
    X, labels = _data()
    net, reference = dl.Network(SIZES, seed=0), dl.Network(SIZES, seed=0)
    state, reference_state = _BreaksAtStepEight().init(net), Momentum().init(reference)
    options = dict(batch_size=BATCH, eta=ETA, lmbda=LMBDA, shuffle=False, training_metrics=False)
    dl.train(
        reference,
        (X, labels),
        epochs=1,
        optimizer=Momentum(),
        optimizer_state=reference_state,
        **options,
    )
    with pytest.raises(dl.TrainingDiverged, match="epoch 2"):
        dl.train(
            net,
            (X, labels),
            epochs=2,
            optimizer=_BreaksAtStepEight(),
            optimizer_state=state,
            **options,
        )
    np.testing.assert_array_equal(net.params, reference.params)
    np.testing.assert_array_equal(state["velocity"], reference_state["velocity"])
    assert int(state["count"]) == 5  # epoch 1's steps; the replay to locate the NaN undone too


def test_plain_train_records_no_optimizer():
    X, labels = _data()
    history = dl.train(
        dl.Network(SIZES, seed=0), (X, labels), epochs=1, batch_size=BATCH, eta=ETA, seed=0
    )
    assert "optimizer" not in history.settings


def _adam_history():
    net = dl.Network(SIZES, seed=0)
    state = Adam().init(net)
    history = _shuffled(Adam(), net, state, 1, seed=np.random.default_rng(0))
    return net, state, history


@pytest.mark.parametrize(
    "change, match",
    [
        ({"optimizer_state": None}, "optimizer_state is None"),
        ({"optimizer": "adamw"}, "optimizer"),
        ({"optimizer": None, "optimizer_state": None}, "optimizer"),
    ],
    ids=["state dropped", "other rule", "eq. 93"],
)
def test_continuation_under_another_rule_or_fresh_state_is_refused(change, match):
    net, state, history = _adam_history()
    X, labels = _data()
    options = {"optimizer": Adam(), "optimizer_state": state, **change}
    with pytest.raises(ValueError, match=match):
        dl.train(
            net,
            (X, labels),
            epochs=1,
            batch_size=BATCH,
            eta=0.01,
            lmbda=LMBDA,
            training_metrics=False,
            history=history,
            seed=np.random.default_rng(1),
            **options,
        )


@pytest.mark.parametrize(
    "options, match",
    [
        ({"optimizer_state": {"velocity": np.zeros(3)}}, "optimizer_state"),
        ({"optimizer": None, "optimizer_state": {}}, "optimizer_state is given"),
        ({"optimizer": "lion"}, "lion"),
    ],
)
def test_train_refuses_bad_optimizer_arguments(options, match):
    net = dl.Network(SIZES, seed=0)
    before = net.params.copy()
    X, labels = _data()
    options = {"optimizer": "momentum", **options}
    with pytest.raises(ValueError, match=match):
        dl.train(net, (X, labels), epochs=1, batch_size=BATCH, eta=ETA, seed=0, **options)
    np.testing.assert_array_equal(net.params, before)
