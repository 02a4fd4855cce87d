"""Bad input: a clear ValueError or TypeError that names the argument, and nothing changed."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl

N, N_IN, K = 12, 4, 3


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (N, N_IN)), rng.integers(0, K, N)


def _with(array, index, value):
    out = np.array(array, dtype=float)
    out[index] = value
    return out


X, Y = _data()
ONE_HOT = np.eye(K)[Y]

# (case, keyword arguments replacing the good ones, exception, pattern the message must match)
BAD_TRAIN_CALLS = [
    ("X too wide", {"data": (np.ones((N, N_IN + 1)), Y)}, ValueError, r"data X has 5 columns"),
    ("X 1-d", {"data": (np.ones(N), Y)}, ValueError, r"data X has shape \(12,\)"),
    ("X empty", {"data": (np.ones((0, N_IN)), Y[:0])}, ValueError, r"data X has no rows"),
    ("X NaN", {"data": (_with(X, (3, 1), np.nan), Y)}, ValueError, r"data X contains 1 NaN"),
    ("X inf", {"data": (_with(X, (0, 0), np.inf), Y)}, ValueError, r"data X contains 1 NaN or inf"),
    ("X -inf", {"data": (_with(X, (5, 2), -np.inf), Y)}, ValueError, r"data X contains"),
    ("y too short", {"data": (X, Y[:-1])}, ValueError, r"data has len\(X\)=12 but y has shape"),
    ("y too long", {"data": (X, np.append(Y, 0))}, ValueError, r"len\(X\)=12"),
    ("label k", {"data": (X, _with(Y, 2, K).astype(int))}, ValueError, r"data y has labels in"),
    ("label -1", {"data": (X, _with(Y, 2, -1).astype(int))}, ValueError, r"labels in \[-1"),
    (
        "label 2.5",
        {"data": (X, _with(Y, 2, 2.5))},
        ValueError,
        r"data y has 1 label\(s\) that are not whole numbers, first y\[2\]=2.5",
    ),
    ("label str", {"data": (X, Y.astype(str))}, ValueError, r"data y has dtype <U"),
    (
        "label NaN",
        {"data": (X, _with(Y, 4, np.nan))},
        ValueError,
        r"data y contains NaN or infinite values in 1 of its 12 labels \(first y\[4\]\)",
    ),
    (
        "one-hot NaN",
        {"data": (X, _with(ONE_HOT, (7, 1), np.nan))},
        ValueError,
        r"in 1 of its 12 rows \(first y\[7\]\)",
    ),
    (
        "y column",
        {"data": (X, Y[:, None])},
        ValueError,
        r"data y has shape \(12, 1\), a column of labels; expected labels of shape \(12,\), "
        r"e.g. y.ravel\(\), or one-hot rows of width 3",
    ),
    (
        "data dict",
        {"data": {"X": X, "y": Y}},
        TypeError,
        r"data is a dict with keys \['X', 'y'\]; expected a pair \(X, y\)",
    ),
    (
        "data set",
        {"data": dl.Dataset(dl.Split(X, Y), dl.Split(X, Y), dl.Split(X, Y), K, "t")},
        TypeError,
        r"data has type Dataset, a whole data set; expected one pair .* data.train",
    ),
    ("eval dict", {"evaluation": {"X": X, "y": Y}}, TypeError, r"evaluation is a dict"),
    ("one-hot narrow", {"data": (X, ONE_HOT[:, :2])}, ValueError, r"data y is one-hot of width 2"),
    ("one-hot wide", {"data": (X, np.eye(K + 1)[Y])}, ValueError, r"width 4 .*expected width 3"),
    ("not one-hot", {"data": (X, 0.5 * ONE_HOT)}, ValueError, r"data y .* not one-hot"),
    ("y 3-d", {"data": (X, ONE_HOT[:, :, None])}, ValueError, r"data y has shape"),
    ("not a pair", {"data": X}, TypeError, r"data has type ndarray; expected a pair"),
    ("eval width", {"evaluation": (np.ones((3, 9)), Y[:3])}, ValueError, r"evaluation X has 9"),
    ("eval labels", {"evaluation": (X, Y + K)}, ValueError, r"evaluation y has labels"),
    ("batch 0", {"batch_size": 0}, ValueError, r"batch_size=0 is too small"),
    ("batch > n", {"batch_size": N + 1}, ValueError, r"batch_size=13 is too large"),
    ("batch float", {"batch_size": 2.5}, TypeError, r"batch_size=2.5 .*expected an integer"),
    ("batch bool", {"batch_size": True}, TypeError, r"batch_size=True"),
    ("eta 0", {"eta": 0.0}, ValueError, r"eta=0.0 must be > 0"),
    ("eta < 0", {"eta": -0.1}, ValueError, r"eta=-0.1 must be > 0"),
    ("eta NaN", {"eta": np.nan}, ValueError, r"eta=nan is not finite"),
    ("eta str", {"eta": "0.5"}, TypeError, r"eta='0.5' .*expected a real number"),
    ("lmbda < 0", {"lmbda": -1.0}, ValueError, r"lmbda=-1.0 must be >= 0"),
    ("lmbda inf", {"lmbda": np.inf}, ValueError, r"lmbda=inf is not finite"),
    ("eta*lmbda/n = 1", {"eta": 1.0, "lmbda": float(N)}, ValueError, r"eta\*lmbda/n"),
    ("eta*lmbda/n > 1", {"eta": 2.0, "lmbda": 100.0}, ValueError, r"eta=2.0, lmbda=100.0"),
    ("epochs < 0", {"epochs": -1}, ValueError, r"epochs=-1 is too small"),
    ("epochs float", {"epochs": 1.0}, TypeError, r"epochs=1.0 .*expected an integer"),
    ("decay name", {"decay": "l2"}, ValueError, r"decay='l2' is not recognised"),
    ("decay type", {"decay": 3}, ValueError, r"decay=3 is not recognised"),
    ("per_step too big", {"decay": "per_step", "lmbda": 3.0}, ValueError, r"'per_step'"),
    ("shuffle str", {"shuffle": "yes"}, TypeError, r"shuffle='yes'"),
    ("seed negative", {"seed": -1}, ValueError, r"seed=-1 is not a seed"),
    ("seed float", {"seed": 1.5}, TypeError, r"seed=1.5 is not a seed"),
    ("not a network", {"net": "net"}, TypeError, r"net has type str"),
]


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [case[1:] for case in BAD_TRAIN_CALLS],
    ids=[case[0] for case in BAD_TRAIN_CALLS],
)
def test_bad_train_call_raises_and_changes_nothing(kwargs, error, pattern):
    net = dl.Network([N_IN, 5, K], seed=0)
    before = net.params.copy()
    call = {"net": net, "data": (X, Y), "epochs": 2, "batch_size": 4, "eta": 0.5, "lmbda": 1.0}
    call.update(kwargs)
    with pytest.raises(error, match=pattern):
        dl.train(call.pop("net"), call.pop("data"), **call)
    assert np.array_equal(net.params, before)


def test_good_call_of_the_table_trains():
    # Guards the table: the baseline call itself is accepted and changes the network.
    net = dl.Network([N_IN, 5, K], seed=0)
    before = net.params.copy()
    dl.train(net, (X, Y), epochs=2, batch_size=4, eta=0.5, lmbda=1.0)
    assert not np.array_equal(net.params, before)


BAD_NETWORKS = [
    ("init", {"init": "xavier"}, ValueError, r"init='xavier' is not recognised"),
    ("activation", {"activation": "softmax"}, ValueError, r"activation='softmax'"),
    ("cost", {"cost": "log_likelihood"}, ValueError, r"cost='log_likelihood'"),
    ("dtype", {"dtype": "float16"}, ValueError, r"dtype='float16' is not recognised"),
    ("dtype int", {"dtype": np.int32}, ValueError, r"dtype=.*int32.* is not recognised"),
    ("one layer", {"sizes": [3]}, ValueError, r"sizes=\[3\] has 1 layer"),
    ("zero width", {"sizes": [3, 0, 2]}, ValueError, r"sizes\[1\]=0 is too small"),
    ("float width", {"sizes": [3, 2.0]}, TypeError, r"sizes\[1\]=2.0"),
    ("sizes str", {"sizes": "64"}, TypeError, r"sizes='64' is not a sequence"),
    ("seed", {"seed": "zero"}, TypeError, r"seed='zero' is not a seed"),
]


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [case[1:] for case in BAD_NETWORKS],
    ids=[case[0] for case in BAD_NETWORKS],
)
def test_bad_network_settings_raise(kwargs, error, pattern):
    call = {"sizes": [3, 4, 2], "seed": 0}
    call.update(kwargs)
    with pytest.raises(error, match=pattern):
        dl.Network(**call)


@pytest.mark.parametrize(
    ("method", "args", "pattern"),
    [
        ("forward", (np.ones((2, 5)),), r"X has 5 columns"),
        ("forward", (_with(np.ones((2, 4)), (0, 0), np.nan),), r"X contains 1 NaN"),
        ("predict", (np.ones(4),), r"X has shape \(4,\)"),
        ("gradient", (np.ones((2, 5)), np.array([0, 1])), r"data X has 5 columns"),
        ("gradient", (np.ones((2, 4)), np.array([0, 3])), r"data y has labels"),
        ("gradient", (np.ones((2, 4)), np.array([0])), r"len\(X\)=2"),
        ("evaluate", ((np.ones((2, 4)), np.array([0, 9])),), r"data y has labels"),
    ],
)
def test_bad_input_to_network_methods_raises(method, args, pattern):
    net = dl.Network([4, 3], seed=0)
    with pytest.raises(ValueError, match=pattern):
        getattr(net, method)(*args)


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"lmbda": -1.0}, ValueError, r"lmbda=-1.0 must be >= 0"),
        ({"lmbda": 1.0, "n": 0}, ValueError, r"n=0 is too small"),
        ({"lmbda": 1.0, "n": 2.5}, TypeError, r"n=2.5"),
        ({"decay": "l1"}, ValueError, r"decay='l1' is not recognised"),
    ],
)
def test_bad_evaluate_arguments_raise(kwargs, error, pattern):
    net = dl.Network([4, 3], seed=0)
    with pytest.raises(error, match=pattern):
        net.evaluate((np.ones((2, 4)), np.array([0, 1])), **kwargs)


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (lambda: dl.decay_factor(0.5, 1.0, 10, 11), ValueError, r"batch_size=11 is too large"),
        (lambda: dl.decay_factor(0.5, 1.0, 0, 1), ValueError, r"n=0 is too small"),
        (lambda: dl.decay_factor(0.0, 1.0, 10, 1), ValueError, r"eta=0.0 must be > 0"),
        (lambda: dl.decay_factor(0.5, -1.0, 10, 1), ValueError, r"lmbda=-1.0 must be >= 0"),
        (lambda: dl.decay_factor(1.0, 10.0, 10, 1), ValueError, r"multiplier"),
        (lambda: dl.decay_factor(0.5, 1.0, 10, 1, decay="x"), ValueError, r"decay='x'"),
        (lambda: dl.decay_factor(0.5, 1, 10, 1, n_weights=0), ValueError, r"n_weights=0"),
        (lambda: dl.closed_form_factor(0.5, 1.0, 0), ValueError, r"batch_size=0"),
        (lambda: dl.SumDecay().multiplier(1.0, eta=0.5, n=0, n_weights=1), ValueError, r"n=0"),
        (
            lambda: dl.MeanDecay().multiplier(1.0, eta=0.5, n=10, n_weights=0),
            ValueError,
            r"n_weights=0",
        ),
        (lambda: dl.steps_per_epoch(10, 0), ValueError, r"batch_size=0"),
    ],
)
def test_bad_convention_arguments_raise(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_labels_may_be_integral_floats():
    # Labels read from a float array are accepted when they are whole numbers.
    net_int, net_float = dl.Network([N_IN, K], seed=0), dl.Network([N_IN, K], seed=0)
    dl.train(net_int, (X, Y), epochs=1, batch_size=4, eta=0.5, shuffle=False)
    dl.train(net_float, (X, Y.astype(float)), epochs=1, batch_size=4, eta=0.5, shuffle=False)
    assert np.array_equal(net_int.params, net_float.params)
