"""The calls a reader of Nielsen's book makes on a network, with the data as the book holds it.

network2.py keeps a data set as a list of (x, y) pairs, x a column (n_in, 1),
y a one-hot column (training data) or an integer label (validation and test
data); its ``accuracy`` counts the examples right and its ``total_cost`` is
C₀ + ½(λ/n)·Σw². Each expected value here is computed example by example
from the network's weights, as network2 would.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import decaylab as dl
from reference import feedforward, one_hot

N = 120


@pytest.fixture(scope="module")
def arrays(digits):
    return digits.train.X[:N], digits.train.y[:N]


def _network2_pairs(X, y, *, one_hot_columns: bool):
    """mnist_loader's format: training pairs carry one-hot columns, the others plain labels."""
    if one_hot_columns:
        return [(x.reshape(-1, 1), t.reshape(-1, 1)) for x, t in zip(X, one_hot(y, 10))]
    return [(x.reshape(-1, 1), int(label)) for x, label in zip(X, y)]


def _outputs(net, X):
    return np.array([feedforward(net.weights, net.biases, x)[1][-1] for x in X])


def _network2_accuracy(net, X, y) -> float:
    return sum(int(np.argmax(a) == label) for a, label in zip(_outputs(net, X), y)) / len(X)


def _network2_total_cost(net, X, y, lmbda: float) -> float:
    a, t = _outputs(net, X), one_hot(y, 10)
    data = np.sum(np.nan_to_num(-t * np.log(a) - (1 - t) * np.log(1 - a))) / len(X)
    return data + 0.5 * (lmbda / len(X)) * sum(np.linalg.norm(w) ** 2 for w in net.weights)


def test_accuracy_of_x_and_y_as_two_arguments(arrays):
    net = dl.Network([64, 10, 10], seed=0)
    X, y = arrays
    assert net.accuracy(X, y) == pytest.approx(_network2_accuracy(net, X, y), abs=1e-15)
    assert net.accuracy(X, y) == net.accuracy((X, y))


@pytest.mark.parametrize("one_hot_columns", [False, True])
def test_accuracy_of_network2_pairs(arrays, one_hot_columns):
    net = dl.Network([64, 10, 10], seed=0)
    X, y = arrays
    pairs = _network2_pairs(X, y, one_hot_columns=one_hot_columns)
    assert net.accuracy(pairs) == pytest.approx(_network2_accuracy(net, X, y), abs=1e-15)
    assert net.accuracy(pairs, convert=one_hot_columns) == net.accuracy(pairs)


@pytest.mark.parametrize("lmbda", [0.0, 5.0])
def test_total_cost_is_network2s(arrays, lmbda):
    net = dl.Network([64, 10, 10], seed=1)
    X, y = arrays
    pairs = _network2_pairs(X, y, one_hot_columns=True)
    expected = _network2_total_cost(net, X, y, lmbda)
    assert net.total_cost(pairs, lmbda) == pytest.approx(expected, rel=1e-12)
    assert net.cost_value(X, y, lmbda=lmbda) == pytest.approx(expected, rel=1e-12)


def test_training_on_network2_pairs_is_training_on_the_arrays(arrays):
    X, y = arrays
    settings = {"epochs": 2, "batch_size": 10, "eta": 0.5, "lmbda": 5.0, "seed": 3}
    on_pairs = dl.Network([64, 10, 10], seed=0)
    on_arrays = on_pairs.copy()
    a = dl.train(on_pairs, _network2_pairs(X, y, one_hot_columns=True), **settings)
    b = dl.train(on_arrays, (X, y), **settings)
    assert np.array_equal(on_pairs.params, on_arrays.params)
    assert a == b


def test_pairs_that_do_not_stack_are_refused_by_name(arrays):
    X, y = arrays
    pairs = _network2_pairs(X, y, one_hot_columns=False)
    pairs[3] = (X[3, :10].reshape(-1, 1), 0)
    with pytest.raises(ValueError, match="data is a list of pairs"):
        dl.Network([64, 10, 10], seed=0).accuracy(pairs)


def test_an_iterator_of_pairs_is_refused_with_the_fix(arrays):
    X, y = arrays
    pairs = zip(*zip(*_network2_pairs(X, y, one_hot_columns=False)))
    with pytest.raises(TypeError, match=r"list\(data\)"):
        dl.Network([64, 10, 10], seed=0).accuracy(pairs)


def test_save_writes_network2s_json_that_loads_back(tmp_path):
    net = dl.Network([4, 6, 3], seed=0)
    net.save(tmp_path / "net.json")
    data = json.loads((tmp_path / "net.json").read_text())
    assert sorted(data) == ["biases", "cost", "sizes", "weights"]
    assert data["weights"][1] == net.weights[1].tolist()
    assert np.array_equal(dl.load_network2(tmp_path / "net.json").params, net.params)


def test_load_network2_records_the_initialisation_as_unknown(tmp_path):
    dl.Network([4, 6, 3], init="large", seed=0).save(tmp_path / "net.json")
    net = dl.load_network2(tmp_path / "net.json")
    assert net.init is None and net.settings()["init"] is None
    X = np.zeros((5, 4))
    history = dl.train(net, (X, np.zeros(5, dtype=int)), epochs=1, batch_size=5, eta=0.1)
    assert history.settings["init"] is None


def test_load_network2_records_the_initialisation_the_caller_gives(tmp_path):
    dl.Network([4, 6, 3], init="large", seed=0).save(tmp_path / "net.json")
    assert dl.load_network2(tmp_path / "net.json", init="large").init == "large"


def test_a_network_of_unknown_initialisation_survives_a_checkpoint(tmp_path):
    dl.Network([4, 6, 3], seed=0).save(tmp_path / "net.json")
    net = dl.load_network2(tmp_path / "net.json")
    dl.save_checkpoint(tmp_path / "ck.npz", net, epoch=0)
    loaded = dl.load_checkpoint(tmp_path / "ck.npz").network
    assert loaded.init is None and np.array_equal(loaded.params, net.params)
