"""Checkpoints and resume; networks from Nielsen's network2.py.

A checkpoint holds everything needed to continue (weights, biases, settings,
convention, the generator's state, the epoch, the History so far) in an
``.npz`` with a JSON entry; training resumed from it is bit for bit the
uninterrupted run.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import decaylab as dl
import decaylab._checkpoint_files
import decaylab.checkpoint

SETTINGS = dict(batch_size=6, eta=0.8, lmbda=2.0)  # 32 examples: 6 steps, the last of 2


@pytest.fixture
def problem():
    rng = np.random.default_rng(5)
    train = rng.uniform(-1.0, 1.0, (32, 4)), rng.integers(0, 3, 32)
    evaluation = rng.uniform(-1.0, 1.0, (9, 4)), rng.integers(0, 3, 9)
    return train, evaluation


def _same_history(got: dl.History, expected: dl.History) -> bool:
    a, b = got.to_arrays(), expected.to_arrays()
    return (
        sorted(a) == sorted(b)
        and all(np.array_equal(a[k], b[k]) for k in a)
        and got.settings == expected.settings
    )


NETWORKS = [
    dict(sizes=[4, 3], init="large"),
    dict(sizes=[4, 5, 3], init="scaled", activation="tanh", cost="quadratic"),
    dict(sizes=[4, 2, 6, 3], activation="relu", dtype="float32"),
]


# -- saving and loading --------------------------------------------------------------


@pytest.mark.parametrize("options", NETWORKS)
def test_parameters_round_trip_bit_for_bit(tmp_path, options):
    net = dl.Network(**options, seed=3)
    dl.save_checkpoint(tmp_path / "c.npz", net)
    loaded = dl.load_checkpoint(tmp_path / "c.npz").network
    assert loaded.params.dtype == net.params.dtype
    assert np.array_equal(loaded.params, net.params)


@pytest.mark.parametrize("options", NETWORKS)
def test_network_settings_round_trip(tmp_path, options):
    net = dl.Network(**options, seed=3)
    dl.save_checkpoint(tmp_path / "c.npz", net)
    assert dl.load_checkpoint(tmp_path / "c.npz").network.settings() == net.settings()


@pytest.mark.parametrize("bit_generator", ["PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"])
def test_generator_continues_where_it_was_saved(tmp_path, bit_generator):
    generator = np.random.Generator(getattr(np.random, bit_generator)(17))
    generator.random(5)
    dl.save_checkpoint(tmp_path / "c.npz", dl.Network([2, 2], seed=0), generator=generator)
    loaded = dl.load_checkpoint(tmp_path / "c.npz").generator
    assert type(loaded.bit_generator).__name__ == bit_generator
    assert np.array_equal(loaded.random(7), generator.random(7))
    assert np.array_equal(loaded.permutation(30), generator.permutation(30))


def test_epoch_training_settings_and_history_round_trip(tmp_path, problem):
    net = dl.Network([4, 5, 3], seed=0)
    history = dl.train(net, problem[0], epochs=2, seed=1, **SETTINGS)
    training = {"eta": 0.8, "decay": "mean", "shuffle": True, "sizes": [4, 5, 3], "note": None}
    dl.save_checkpoint(tmp_path / "c.npz", net, epoch=2, training=training, history=history)
    loaded = dl.load_checkpoint(tmp_path / "c.npz")
    assert loaded.epoch == 2
    assert loaded.training == training
    assert loaded.generator is None
    assert _same_history(loaded.history, history)


def test_file_is_plain_npz_with_a_json_entry(tmp_path):
    net = dl.Network([3, 4, 2], seed=0)
    dl.save_checkpoint(tmp_path / "c.npz", net, generator=np.random.default_rng(0), epoch=4)
    # Any npz reader, without pickle, sees Nielsen-shaped arrays and readable JSON.
    with np.load(tmp_path / "c.npz", allow_pickle=False) as archive:
        entries = {k: archive[k] for k in archive.files}
    assert sorted(entries) == ["biases.0", "biases.1", "checkpoint_json", "weights.0", "weights.1"]
    assert entries["weights.1"].shape == (2, 4)
    assert np.array_equal(entries["biases.0"], net.biases[0])
    meta = json.loads(str(entries["checkpoint_json"]))
    assert meta["epoch"] == 4
    assert meta["network"]["sizes"] == [3, 4, 2]
    assert meta["generator"]["bit_generator"] == "PCG64"


def test_path_is_used_exactly_as_given(tmp_path):
    dl.save_checkpoint(tmp_path / "checkpoint", dl.Network([2, 2], seed=0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]


def test_failed_write_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    before = dl.Network([3, 4, 2], seed=0)
    dl.save_checkpoint(path, before, epoch=1)

    def crash_midway(fh, arrays):
        fh.write(b"PK\x03\x04 the first bytes of a zip")
        raise OSError("disk full")

    monkeypatch.setattr(decaylab._checkpoint_files, "_write_npz", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        dl.save_checkpoint(path, dl.Network([3, 4, 2], seed=1), epoch=2)
    monkeypatch.undo()
    loaded = dl.load_checkpoint(path)
    assert loaded.epoch == 1
    assert np.array_equal(loaded.network.params, before.params)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]


class _HomemadeBitGenerator(np.random.PCG64):
    """A bit generator load_checkpoint would not know how to rebuild."""


SAVE_ERRORS = [
    (dict(net="not a network"), TypeError, "net"),
    (dict(generator=42), TypeError, "generator"),
    (dict(generator=np.random.Generator(_HomemadeBitGenerator(0))), TypeError, "Homemade"),
    (dict(epoch=-1), ValueError, "epoch"),
    (dict(epoch=1.5), TypeError, "epoch"),
    (dict(training=[1, 2]), TypeError, "training"),
    (dict(training={"f": object()}), TypeError, "training"),
    (dict(training={"eta": float("nan")}), TypeError, "training"),
]


@pytest.mark.parametrize(("change", "error", "name"), SAVE_ERRORS)
def test_save_rejects_bad_arguments(tmp_path, change, error, name):
    arguments = dict(net=dl.Network([2, 2], seed=0), epoch=0)
    arguments.update(change)
    net = arguments.pop("net")
    with pytest.raises(error, match=name):
        dl.save_checkpoint(tmp_path / "c.npz", net, **arguments)
    assert list(tmp_path.iterdir()) == []


def test_save_rejects_a_history_that_ends_at_another_epoch(tmp_path, problem):
    net = dl.Network([4, 3], seed=0)
    history = dl.train(net, problem[0], epochs=2, seed=1, **SETTINGS)
    with pytest.raises(ValueError, match="epoch 3"):
        dl.save_checkpoint(tmp_path / "c.npz", net, epoch=3, history=history)


# -- checkpoints written by train, and resume ----------------------------------------


def test_train_writes_every_k_epochs_and_at_the_end(tmp_path, problem, monkeypatch):
    written = []
    original = decaylab._checkpoint_files.save_checkpoint

    def spy(path, net, **options):
        written.append(options["epoch"])
        original(path, net, **options)

    monkeypatch.setattr(decaylab._checkpoint_files, "save_checkpoint", spy)
    net = dl.Network([4, 3], seed=0)
    dl.train(net, problem[0], epochs=7, seed=1, checkpoint_every=3,
             checkpoint_path=tmp_path / "c.npz", **SETTINGS)  # fmt: skip
    assert written == [3, 6, 7]


@pytest.mark.parametrize(
    "options",
    [
        dict(shuffle=True),
        dict(shuffle=False),
        dict(decay="mean", lmbda=50.0),
        dict(decay="decoupled", lmbda=0.01),
        dict(training_metrics=False),
    ],
)
def test_three_plus_three_epochs_equal_six_bit_for_bit(tmp_path, problem, options):
    train, evaluation = problem
    settings = {**SETTINGS, "evaluation": evaluation, "seed": 7, **options}
    whole = dl.Network([4, 5, 3], seed=0)
    whole_history = dl.train(whole, train, epochs=6, **settings)

    first = dl.Network([4, 5, 3], seed=0)
    path = tmp_path / "c.npz"
    dl.train(first, train, epochs=3, checkpoint_every=3, checkpoint_path=path, **settings)
    checkpoint = dl.load_checkpoint(path)
    history = dl.resume(checkpoint, train, epochs=3, evaluation=evaluation)

    assert np.array_equal(checkpoint.network.params, whole.params)
    assert _same_history(history, whole_history)


def test_resume_after_a_crash_finishes_the_planned_run(tmp_path, problem):
    class Crash:
        """A step monitor that fails in epoch ``at``, as a power cut would."""

        name = "crash"

        def __init__(self, at):
            self.at = at

        def start(self, net, *, eta, multiplier):
            self.epoch = 1

        def step_parts(self, weights_before, decay, rest):
            if self.epoch == self.at:
                raise RuntimeError("power cut")

        def end_epoch(self, net):
            self.epoch += 1

        def result(self):
            return {}

    train, evaluation = problem
    settings = {**SETTINGS, "evaluation": evaluation, "seed": 7}
    whole = dl.Network([4, 5, 3], seed=0)
    whole_history = dl.train(whole, train, epochs=8, monitors=[Crash(at=None)], **settings)
    crashed = dl.Network([4, 5, 3], seed=0)
    path = tmp_path / "c.npz"
    with pytest.raises(RuntimeError, match="power cut"):
        dl.train(crashed, train, epochs=8, checkpoint_every=2, checkpoint_path=path,
                 monitors=[Crash(at=6)], **settings)  # fmt: skip

    checkpoint = dl.load_checkpoint(path)
    assert checkpoint.epoch == 4
    history = dl.resume(checkpoint, train, evaluation=evaluation, monitors=[Crash(at=None)])
    assert np.array_equal(checkpoint.network.params, whole.params)
    assert _same_history(history, whole_history)


def test_resumed_run_keeps_writing_checkpoints(tmp_path, problem):
    train, _ = problem
    path = tmp_path / "c.npz"
    dl.train(dl.Network([4, 3], seed=0), train, epochs=2, seed=1, checkpoint_path=path,
             **SETTINGS)  # fmt: skip
    dl.resume(dl.load_checkpoint(path), train, epochs=3, checkpoint_path=path)
    checkpoint = dl.load_checkpoint(path)
    assert checkpoint.epoch == 5
    np.testing.assert_array_equal(checkpoint.history.epoch, np.arange(6))


@pytest.mark.parametrize(
    ("template", "names"),
    [
        ("c-{epoch}.npz", ["c-3.npz", "c-6.npz", "c-7.npz"]),
        ("run-{epoch:04d}.npz", ["run-0003.npz", "run-0006.npz", "run-0007.npz"]),
        ("c.npz", ["c.npz"]),
    ],
)
def test_an_epoch_field_keeps_one_file_per_checkpoint(tmp_path, problem, template, names):
    net = dl.Network([4, 3], seed=0)
    dl.train(net, problem[0], epochs=7, seed=1, checkpoint_every=3,
             checkpoint_path=tmp_path / template, **SETTINGS)  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == names


@pytest.mark.parametrize("epoch", [3, 6, 7])
def test_each_checkpoint_file_holds_the_network_of_its_epoch(tmp_path, problem, epoch):
    dl.train(dl.Network([4, 3], seed=0), problem[0], epochs=7, seed=1, checkpoint_every=3,
             checkpoint_path=tmp_path / "c-{epoch}.npz", **SETTINGS)  # fmt: skip
    alone = dl.Network([4, 3], seed=0)
    dl.train(alone, problem[0], epochs=epoch, seed=1, **SETTINGS)
    checkpoint = dl.load_checkpoint(tmp_path / f"c-{epoch}.npz")
    assert checkpoint.epoch == epoch == checkpoint.history.epoch[-1]
    assert np.array_equal(checkpoint.network.params, alone.params)


def test_train_from_the_checkpoints_generator_is_the_whole_run(tmp_path, problem):
    train, evaluation = problem
    settings = {**SETTINGS, "evaluation": evaluation}
    whole = dl.Network([4, 5, 3], seed=0)
    whole_history = dl.train(whole, train, epochs=6, seed=7, **settings)
    path = tmp_path / "c.npz"
    dl.train(dl.Network([4, 5, 3], seed=0), train, epochs=3, seed=7, checkpoint_path=path,
             **settings)  # fmt: skip
    checkpoint = dl.load_checkpoint(path)
    history = dl.train(checkpoint.network, train, epochs=3, seed=checkpoint.generator,
                       history=checkpoint.history, **settings)  # fmt: skip
    assert np.array_equal(checkpoint.network.params, whole.params)
    assert _same_history(history, whole_history)


@pytest.mark.parametrize("seed", [1, 2, None])
def test_continuing_a_shuffled_run_from_a_new_seed_is_refused(problem, seed):
    net = dl.Network([4, 3], seed=0)
    history = dl.train(net, problem[0], epochs=2, seed=1, **SETTINGS)
    before = net.params.copy()
    with pytest.raises(ValueError, match=r"exc\.generator.*checkpoint's generator"):
        dl.train(net, problem[0], epochs=1, seed=seed, history=history, **SETTINGS)
    assert np.array_equal(net.params, before)


def test_continuing_an_unshuffled_run_takes_any_seed(problem):
    train = problem[0]
    whole = dl.Network([4, 3], seed=0)
    dl.train(whole, train, epochs=5, shuffle=False, **SETTINGS)
    net = dl.Network([4, 3], seed=0)
    first = dl.train(net, train, epochs=2, shuffle=False, **SETTINGS)
    dl.train(net, train, epochs=3, shuffle=False, seed=4, history=first, **SETTINGS)
    assert np.array_equal(net.params, whole.params)


TRAIN_ERRORS = [
    (dict(checkpoint_every=2), ValueError, "checkpoint_path"),
    (dict(checkpoint_every=0, checkpoint_path="c.npz"), ValueError, "checkpoint_every"),
    (dict(checkpoint_every="2", checkpoint_path="c.npz"), TypeError, "checkpoint_every"),
    (dict(checkpoint_path=3), TypeError, "checkpoint_path"),
    (dict(checkpoint_path="no/such/directory/c.npz"), ValueError, "checkpoint_path"),
    (dict(checkpoint_path="c-{step}.npz"), ValueError, r"\['step'\]"),
    (dict(checkpoint_path="c-{epoch.real}.npz"), ValueError, "epoch.real"),
    (dict(checkpoint_path="c-{epoch.npz"), ValueError, "template"),
    (dict(checkpoint_path="c-{epoch:q}.npz"), ValueError, "template"),
    (dict(checkpoint_path="{epoch}/c.npz"), ValueError, "directory"),
]


@pytest.mark.parametrize(("options", "error", "name"), TRAIN_ERRORS)
def test_train_rejects_bad_checkpoint_arguments(problem, options, error, name):
    net = dl.Network([4, 3], seed=0)
    before = net.params.copy()
    with pytest.raises(error, match=name):
        dl.train(net, problem[0], epochs=1, **SETTINGS, **options)
    assert np.array_equal(net.params, before)


CONTINUATION_ERRORS = [
    (dict(eta=0.5), "eta"),
    (dict(batch_size=5), "batch_size"),
    (dict(decay="per_step", lmbda=0.01), "decay"),
    (dict(shuffle=False), "shuffle"),
    (dict(training_metrics=False), "training_cost"),
    (dict(monitors=[dl.RotationMonitor()]), "monitors"),
]


@pytest.mark.parametrize(("change", "name"), CONTINUATION_ERRORS)
def test_continuing_with_other_settings_is_refused(problem, change, name):
    net = dl.Network([4, 3], seed=0)
    history = dl.train(net, problem[0], epochs=2, seed=1, **SETTINGS)
    with pytest.raises(ValueError, match=name):
        dl.train(net, problem[0], epochs=1, history=history, **{**SETTINGS, **change})


def test_continuing_another_network_is_refused(problem):
    history = dl.train(dl.Network([4, 3], seed=0), problem[0], epochs=2, seed=1, **SETTINGS)
    with pytest.raises(ValueError, match="state history ends in"):
        dl.train(dl.Network([4, 3], seed=0), problem[0], epochs=1, history=history, **SETTINGS)


RESUME_ERRORS = [
    (dict(training={}), ValueError, "eta"),
    (dict(training={**SETTINGS, "decay": "sum", "shuffle": True}), ValueError, "generator"),
    (dict(training={**SETTINGS, "decay": "sum", "shuffle": False}), ValueError, "epochs"),
]


@pytest.mark.parametrize(("change", "error", "match"), RESUME_ERRORS)
def test_resume_explains_what_the_checkpoint_lacks(problem, change, error, match):
    checkpoint = dl.Checkpoint(network=dl.Network([4, 3], seed=0), epoch=0, **change)
    with pytest.raises(error, match=match):
        dl.resume(checkpoint, problem[0])


def test_resume_refuses_other_objects(problem):
    with pytest.raises(TypeError, match="checkpoint"):
        dl.resume("c.npz", problem[0])


# -- History.concatenate ---------------------------------------------------------------


def test_concatenated_history_numbers_epochs_on(problem):
    net = dl.Network([4, 3], seed=0)
    first = dl.train(net, problem[0], epochs=2, seed=1, **SETTINGS)
    branch = np.random.default_rng(2)
    second = dl.train(net, problem[0], epochs=3, seed=branch, history=first, **SETTINGS)
    np.testing.assert_array_equal(second.epoch, np.arange(6))
    assert second.settings["epochs"] == 5
    assert second.settings["seed"] == 1


@pytest.mark.parametrize("start", [0, 1, 3])
def test_concatenate_refuses_a_history_that_does_not_start_at_the_end(problem, start):
    net = dl.Network([4, 3], seed=0)
    first = dl.train(net, problem[0], epochs=2, seed=1, **SETTINGS)
    later = dl.train(net, problem[0], epochs=1, seed=1, **SETTINGS)
    later.epoch = later.epoch + start
    with pytest.raises(ValueError, match="epoch"):
        first.concatenate(later)


# -- Nielsen's network2.py -------------------------------------------------------------


def _network2_json(sizes, seed, cost="CrossEntropyCost"):
    """What network2.Network.save writes: column-vector biases, weights (out, in)."""
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((y, x)) / np.sqrt(x) for x, y in zip(sizes[:-1], sizes[1:])]
    biases = [rng.standard_normal((y, 1)) for y in sizes[1:]]
    data = {
        "sizes": list(sizes),
        "weights": [w.tolist() for w in weights],
        "biases": [b.tolist() for b in biases],
        "cost": cost,
    }
    return json.dumps(data), weights, biases


def _network2_feedforward(weights, biases, x):
    """network2.Network.feedforward, on a column vector."""
    a = x.reshape(-1, 1)
    for w, b in zip(weights, biases):
        a = 1.0 / (1.0 + np.exp(-(np.dot(w, a) + b)))
    return a.ravel()


@pytest.mark.parametrize("sizes", [[4, 3], [4, 6, 3], [5, 4, 4, 2]])
def test_network2_file_computes_what_network2_computed(tmp_path, sizes):
    text, weights, biases = _network2_json(sizes, seed=2)
    (tmp_path / "net.json").write_text(text)
    net = dl.load_network2(tmp_path / "net.json")
    X = np.random.default_rng(0).uniform(0.0, 1.0, (6, sizes[0]))
    expected = np.array([_network2_feedforward(weights, biases, x) for x in X])
    np.testing.assert_allclose(net.forward(X), expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(
    ("name", "cost"), [("CrossEntropyCost", "cross_entropy"), ("QuadraticCost", "quadratic")]
)
def test_network2_cost_is_translated(tmp_path, name, cost):
    (tmp_path / "net.json").write_text(_network2_json([3, 2], seed=0, cost=name)[0])
    net = dl.load_network2(tmp_path / "net.json")
    assert (net.cost, net.activation.name) == (cost, "sigmoid")


def test_network2_parameters_are_copied_exactly(tmp_path):
    text, weights, biases = _network2_json([4, 6, 3], seed=1)
    (tmp_path / "net.json").write_text(text)
    net = dl.load_network2(tmp_path / "net.json")
    for l in range(2):
        assert np.array_equal(net.weights[l], weights[l])
        assert np.array_equal(net.biases[l], biases[l][:, 0])


def test_save_network2_writes_network2s_format(tmp_path):
    net = dl.Network([4, 6, 3], cost="quadratic", seed=0)
    dl.save_network2(net, tmp_path / "net.json")
    data = json.loads((tmp_path / "net.json").read_text())
    assert sorted(data) == ["biases", "cost", "sizes", "weights"]
    assert data["cost"] == "QuadraticCost"
    assert [np.shape(b) for b in data["biases"]] == [(6, 1), (3, 1)]
    assert [np.shape(w) for w in data["weights"]] == [(6, 4), (3, 6)]
    assert np.array_equal(dl.load_network2(tmp_path / "net.json").params, net.params)


def test_save_network2_refuses_what_network2_cannot_hold(tmp_path):
    with pytest.raises(ValueError, match="relu"):
        dl.save_network2(dl.Network([3, 2, 2], activation="relu"), tmp_path / "net.json")
