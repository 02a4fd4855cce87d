"""Property tests over random architectures, batch sizes, η, λ and conventions.

Every reference value is computed in this file: finite differences of a cost
written here, eq. 93 applied step by step, the per-epoch factor as a product
and the bounds of its series expansion. Example counts are kept small so the
whole file runs in well under a minute.
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import decaylab as dl
from decaylab.errors import DataFileError

FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ACTIVATIONS = ["sigmoid", "tanh", "relu"]
COSTS = ["cross_entropy", "quadratic"]
DECAYS = ["sum", "mean", "per_step", "decoupled"]


@st.composite
def networks(draw, activations=ACTIVATIONS):
    """Keyword arguments of a Network with 1–3 weight layers of width 1–8."""
    layers = draw(st.integers(1, 3))
    return dict(
        sizes=draw(st.lists(st.integers(1, 8), min_size=layers + 1, max_size=layers + 1)),
        init=draw(st.sampled_from(["large", "scaled"])),
        activation=draw(st.sampled_from(activations)),
        cost=draw(st.sampled_from(COSTS)),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def _data(sizes, n, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, (n, sizes[0])), rng.integers(0, sizes[-1], n)


def _multiplier(decay, eta, lmbda, n, n_weights):
    """The per-step multiplier d of each convention, from the table in the design notes."""
    return {
        "sum": 1.0 - eta * lmbda / n,
        "mean": 1.0 - eta * lmbda / (n * n_weights),
        "per_step": 1.0 - eta * lmbda,
        "decoupled": 1.0 - lmbda,
    }[decay]


# -- gradients -------------------------------------------------------------------------

_ACTIVATION_FUNCTIONS = {
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
}


def _total_cost(weights, biases, X, targets, activation, cost):
    """Σ_x C_x, one example at a time with column vectors, as in network2.py."""
    total = 0.0
    for x, t in zip(X, targets):
        a = x
        for l, (w, b) in enumerate(zip(weights, biases)):
            z = w @ a + b
            last = l == len(weights) - 1
            a = _ACTIVATION_FUNCTIONS["sigmoid" if last else activation](z)
        if cost == "cross_entropy":
            total += float(np.sum(np.logaddexp(0.0, z) - t * z))  # −[t ln a + (1−t) ln(1−a)]
        else:
            total += 0.5 * float(np.sum((a - t) ** 2))
    return total


def _hidden_inputs(weights, biases, X):
    zs, A = [], X
    for w, b in zip(weights[:-1], biases[:-1]):
        z = A @ w.T + b
        zs.append(z.ravel())
        A = np.maximum(z, 0.0)
    return np.concatenate(zs) if zs else np.array([np.inf])


@FAST
@given(options=networks(), n=st.integers(1, 6), data_seed=st.integers(0, 1000))
def test_gradient_matches_finite_differences(options, n, data_seed):
    net = dl.Network(**options)
    X, y = _data(net.sizes, n, data_seed)
    weights = [w.copy() for w in net.weights]
    biases = [b.copy() for b in net.biases]
    if options["activation"] == "relu":
        # Finite differences are meaningless across the kink of a relu.
        assume(np.min(np.abs(_hidden_inputs(weights, biases, X))) > 1e-4)
    targets = np.eye(net.sizes[-1])[y]

    def cost():
        return _total_cost(weights, biases, X, targets, options["activation"], options["cost"])

    h = 1e-6
    numeric = []
    for array in weights + biases:
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + h
            up = cost()
            array[index] = saved - h
            down = cost()
            array[index] = saved
            numeric.append((up - down) / (2 * h))
    np.testing.assert_allclose(net.gradient(X, y), numeric, rtol=1e-5, atol=1e-6)


# -- one epoch is eq. 93 -----------------------------------------------------------------


@FAST
@given(
    options=networks(),
    n=st.integers(1, 12),
    batch_fraction=st.floats(0.0, 1.0),
    eta=st.floats(1e-3, 5.0),
    lmbda=st.floats(0.0, 10.0),
    decay=st.sampled_from(DECAYS),
    data_seed=st.integers(0, 1000),
)
def test_one_epoch_is_eq_93_step_by_step(options, n, batch_fraction, eta, lmbda, decay, data_seed):
    batch_size = max(1, math.ceil(batch_fraction * n))
    net = dl.Network(**options)
    if decay in ("per_step", "decoupled"):
        lmbda /= 20.0  # a per-step wd: keep d = 1 − η·wd (or 1 − wd) positive
    d = _multiplier(decay, eta, lmbda, n, net.n_weights)
    assume(d > 0.0)
    X, y = _data(net.sizes, n, data_seed)

    expected = net.copy()
    for start in range(0, n, batch_size):
        batch = slice(start, start + batch_size)
        m = len(X[batch])
        grad_w, grad_b = expected.unflatten(expected.gradient(X[batch], y[batch]))
        for l in range(expected.n_layers):
            w, b = expected.weights[l], expected.biases[l]
            w[...] = d * w - (eta / m) * grad_w[l]  # eq. 93
            b[...] = b - (eta / m) * grad_b[l]  # biases are not decayed

    dl.train(net, (X, y), epochs=1, batch_size=batch_size, eta=eta, lmbda=lmbda, decay=decay,
             shuffle=False, training_metrics=False)  # fmt: skip
    np.testing.assert_allclose(net.params, expected.params, rtol=1e-10, atol=1e-12)


@FAST
@given(
    eta=st.floats(1e-3, 10.0),
    lmbda=st.floats(1e-3, 100.0),
    n=st.integers(1, 10_000),
    decay=st.sampled_from(DECAYS),
    n_weights=st.integers(1, 5000),
)
def test_a_multiplier_at_or_below_zero_is_refused(eta, lmbda, n, decay, n_weights):
    d = _multiplier(decay, eta, lmbda, n, n_weights)
    if d > 0.0:
        dl.decay_factor(eta, lmbda, n, 1, decay=decay, n_weights=n_weights)
    else:
        with pytest.raises(ValueError, match="multiplier"):
            dl.decay_factor(eta, lmbda, n, 1, decay=decay, n_weights=n_weights)


# -- the per-epoch factor ----------------------------------------------------------------


@FAST
@given(
    eta=st.floats(1e-3, 10.0),
    lmbda=st.floats(1e-3, 50.0),
    n=st.integers(1, 100_000),
    batch_fraction=st.floats(0.0, 1.0),
    decay=st.sampled_from(DECAYS),
    n_weights=st.integers(1, 10_000),
)
def test_epoch_factor_is_the_step_multiplier_to_the_number_of_steps(
    eta, lmbda, n, batch_fraction, decay, n_weights
):
    batch_size = max(1, math.ceil(batch_fraction * n))
    if decay in ("per_step", "decoupled"):
        lmbda /= 100.0
    d = _multiplier(decay, eta, lmbda, n, n_weights)
    assume(d > 0.0)
    product = 1.0
    for _ in range(0, n, batch_size):  # one multiplication per step, ⌈n/m⌉ of them
        product *= d
    factor = dl.decay_factor(eta, lmbda, n, batch_size, decay=decay, n_weights=n_weights)
    assert factor == pytest.approx(product, rel=1e-9, abs=1e-300)


@FAST
@given(
    x=st.floats(1e-4, 0.9),  # ηλ/n
    n=st.integers(1, 100_000),
    batch_fraction=st.floats(0.0, 1.0),
    eta=st.floats(1e-2, 10.0),
)
def test_exact_factor_and_closed_form_obey_their_stated_relation(x, n, batch_fraction, eta):
    r"""log f = −(ηλ/m)·c·(1 + x/2 + x²/3 + …), with x = ηλ/n and c = ⌈n/m⌉·m/n ≥ 1.

    So f <= e^{−ηλ/m}, and the ratio r = log f / (−ηλ/m) lies between c(1 + x/2)
    and c(1 + x/2 + x²/(3(1 − x))) (the tail x²/3 + x³/4 + … is below x²/3·Σxᵏ).
    """
    batch_size = max(1, math.ceil(batch_fraction * n))
    lmbda = x * n / eta
    exact = dl.decay_factor(eta, lmbda, n, batch_size)
    closed = dl.closed_form_factor(eta, lmbda, batch_size)
    assume(exact > 0.0)  # not underflowed
    assert exact <= closed * (1.0 + 1e-12)
    x = eta * lmbda / n
    c = -(-n // batch_size) * batch_size / n
    ratio = math.log(exact) / (-eta * lmbda / batch_size)
    assert ratio >= c * (1.0 + x / 2.0) * (1.0 - 1e-9)
    assert ratio <= c * (1.0 + x / 2.0 + x * x / (3.0 * (1.0 - x))) * (1.0 + 1e-9)


@FAST
@given(
    eta=st.floats(1e-3, 10.0),
    n=st.integers(1, 100_000),
    n_weights=st.integers(1, 1_000_000),
    source=st.sampled_from(DECAYS),
    target=st.sampled_from(DECAYS),
    per_step_decay=st.floats(1e-9, 0.25),  # 1 − d
)
def test_a_converted_strength_gives_the_same_multiplier_exactly(
    eta, n, n_weights, source, target, per_step_decay
):
    # The strength whose multiplier is 1 − per_step_decay, from the table of d.
    per_unit = {"sum": n, "mean": n * n_weights, "per_step": 1.0, "decoupled": eta}
    value = per_step_decay / eta * per_unit[source]
    given = dict(eta=eta, n=n, n_weights=n_weights)
    converted = dl.convert_lmbda(value, source, target, **given)
    assert converted == pytest.approx(per_step_decay / eta * per_unit[target], rel=1e-9)
    # Exactly the multiplier training will apply: the runs then coincide bit for bit.
    d = dl.get_convention(source).multiplier(value, **given)
    assert dl.get_convention(target).multiplier(converted, **given) == d


# -- History invariants -----------------------------------------------------------------


@FAST
@given(
    options=networks(),
    n=st.integers(1, 12),
    batch_fraction=st.floats(0.0, 1.0),
    eta=st.one_of(st.floats(1e-3, 10.0), st.floats(1e100, 1e300)),  # the second diverges
    lmbda=st.floats(0.0, 5.0),
    decay=st.sampled_from(DECAYS),
    epochs=st.integers(0, 4),
    evaluate=st.booleans(),
    data_seed=st.integers(0, 1000),
)
def test_history_invariants(
    options, n, batch_fraction, eta, lmbda, decay, epochs, evaluate, data_seed
):
    batch_size = max(1, math.ceil(batch_fraction * n))
    net = dl.Network(**options)
    if decay != "mean":
        lmbda = min(lmbda, 0.5 * n / eta) if decay == "sum" else lmbda / (10.0 + 10.0 * eta)
    assume(_multiplier(decay, eta, lmbda, n, net.n_weights) > 0.0)
    data = _data(net.sizes, n, data_seed)
    evaluation = _data(net.sizes, 5, data_seed + 1) if evaluate else None
    try:
        history = dl.train(
            net, data, epochs=epochs, batch_size=batch_size, eta=eta, lmbda=lmbda, decay=decay,
            evaluation=evaluation, seed=data_seed,
        )  # fmt: skip
        rows = epochs + 1
    except dl.TrainingDiverged as error:
        history, rows = error.history, error.epoch

    np.testing.assert_array_equal(history.epoch, np.arange(rows))
    counts = [o * i for i, o in zip(net.sizes[:-1], net.sizes[1:])]
    np.testing.assert_array_equal(history.weights.counts, counts)
    np.testing.assert_array_equal(history.biases.counts, net.sizes[1:])
    for stats in (history.weights, history.biases):
        for name in ("norm", "rms", "mean_abs", "l1", "sum", "variance", "max_abs"):
            assert stats[name].shape == (rows, net.n_layers)
            assert np.isfinite(stats[name]).all()
        tolerance = 1e-12 * (1.0 + stats.l1)
        assert (stats.norm >= 0).all()
        assert (stats.variance >= -tolerance).all()
        np.testing.assert_allclose(stats.rms, stats.norm / np.sqrt(stats.counts), rtol=1e-12)
        assert (stats.l1 >= stats.norm - tolerance).all()  # ‖w‖₁ >= ‖w‖₂
        assert (stats.norm >= stats.max_abs - tolerance).all()  # ‖w‖₂ >= max |w|
        assert (stats.max_abs >= stats.rms - tolerance).all()
        assert (stats.max_abs >= stats.mean_abs - tolerance).all()
    for prefix in ("training", "evaluation") if evaluate else ("training",):
        cost, accuracy = getattr(history, f"{prefix}_cost"), getattr(history, f"{prefix}_accuracy")
        assert cost.shape == accuracy.shape == (rows,)
        assert np.isfinite(cost).all() and (cost >= 0).all()
        assert ((accuracy >= 0) & (accuracy <= 1)).all()
    if not evaluate:
        assert history.evaluation_cost is None


@functools.cache
def _monitored_history() -> dl.History:
    """A 6-epoch run with a decomposition monitor, trained once for the selection properties."""
    X, y = _data([5, 4, 3], 30, 0)
    return dl.train(dl.Network([5, 4, 3], seed=0), (X, y), epochs=6, batch_size=7, eta=0.5,
                    lmbda=1.0, seed=0, monitors=[dl.DecompositionMonitor()])  # fmt: skip


@FAST
@given(
    start=st.one_of(st.none(), st.integers(-8, 8)), stop=st.one_of(st.none(), st.integers(-8, 8))
)
def test_a_selection_holds_the_epochs_python_slicing_would(start, stop):
    history = _monitored_history()
    expected = list(range(7))[start:stop]  # epochs 0..6 are rows 0..6
    if not expected:
        with pytest.raises(ValueError, match="selects no epoch"):
            history[start:stop]
        return
    window = history[start:stop]
    assert window.epoch.tolist() == expected
    np.testing.assert_array_equal(window.weights.norm, history.weights.norm[expected])
    # Monitor row e - 1 is the step into epoch e: the window keeps the steps inside it.
    steps = [e - 1 for e in expected[1:]]
    record = history.monitors["decomposition"]["radial"]
    np.testing.assert_array_equal(window.monitors["decomposition"]["radial"], record[steps])


@FAST
@given(cut=st.integers(0, 6))
def test_two_selections_that_share_their_boundary_join_into_the_run(cut):
    history = _monitored_history()
    assert history[: cut + 1].concatenate(history[cut:]) == history


# -- bad input raises only the documented exceptions ------------------------------------

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 9),
    st.integers(10**20, 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.binary(max_size=6),
    st.lists(st.integers(-2, 9), max_size=4),
    st.lists(st.floats(allow_nan=True), max_size=3).map(tuple),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(
        [
            np.array([[np.nan, 1.0]]),
            np.array([[1 + 2j, 0.5]]),
            np.array([["a", "b"]]),
            np.array([[None, 1]], dtype=object),
            np.zeros((0, 2)),
            np.ones((3, 2, 1)),
            np.array([0.5, -1]),
            object(),
            dl.Network([2, 2], seed=0),
            np.random.default_rng(0),
        ]
    ),
)


def _call_allowing_only_documented_errors(function, *args, **kwargs):
    """Call; return the ValueError or TypeError raised, or None. Anything else fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a value silently mangled with a warning fails too
        try:
            function(*args, **kwargs)
        except (ValueError, TypeError) as error:
            return error
    return None


GOOD_NETWORK = dict(sizes=[2, 3, 2], init="large", activation="sigmoid", cost="quadratic", seed=0)


@FAST
@given(argument=st.sampled_from(sorted(GOOD_NETWORK)), value=JUNK)
def test_network_raises_only_documented_errors(argument, value):
    _call_allowing_only_documented_errors(dl.Network, **{**GOOD_NETWORK, argument: value})


GOOD_TRAINING = dict(
    data=(np.array([[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]]), np.array([0, 1, 1])),
    epochs=1,
    batch_size=2,
    eta=0.5,
    lmbda=0.1,
    decay="sum",
    evaluation=None,
    shuffle=True,
    seed=0,
    training_metrics=True,
    monitors=(),
    history=None,
    checkpoint_every=None,
)


@FAST
@given(argument=st.sampled_from(sorted(GOOD_TRAINING)), value=JUNK)
@example(argument="epochs", value=10**20)  # once an OverflowError from the progress bar
def test_train_raises_only_documented_errors(argument, value):
    net = dl.Network([2, 3, 2], seed=0)
    before = net.params.copy()
    arguments = {**GOOD_TRAINING, argument: value}
    data = arguments.pop("data")
    if _call_allowing_only_documented_errors(dl.train, net, data, **arguments) is not None:
        assert np.array_equal(net.params, before)  # refused before anything changed


@FAST
@given(
    method=st.sampled_from(["forward", "predict", "accuracy", "evaluate", "gradient"]),
    first=JUNK,
    second=JUNK,
)
def test_network_methods_raise_only_documented_errors(method, first, second):
    net = dl.Network([2, 3, 2], seed=0)
    if method == "gradient":
        _call_allowing_only_documented_errors(net.gradient, first, second)
    elif method in ("accuracy", "evaluate"):
        _call_allowing_only_documented_errors(getattr(net, method), (first, second))
    else:
        _call_allowing_only_documented_errors(getattr(net, method), first)


GOOD_FACTOR = dict(eta=0.5, lmbda=5.0, n=1000, batch_size=10, decay="sum", n_weights=100)


@FAST
@given(argument=st.sampled_from(sorted(GOOD_FACTOR)), value=JUNK)
def test_factor_functions_raise_only_documented_errors(argument, value):
    arguments = {**GOOD_FACTOR, argument: value}
    _call_allowing_only_documented_errors(dl.decay_factor, **arguments)
    del arguments["decay"], arguments["n_weights"], arguments["n"]
    _call_allowing_only_documented_errors(dl.closed_form_factor, **arguments)


LOADERS = {
    "History.load": (dl.History.load, "file.npz"),
    "load_checkpoint": (dl.load_checkpoint, "file.npz"),
    "load_network2": (dl.load_network2, "net.json"),
    "load_mnist": (lambda path: dl.load_mnist(path, validation_size=1), "mnist.pkl.gz"),
}


@settings(max_examples=100, deadline=None)
@given(loader=st.sampled_from(sorted(LOADERS)), content=st.binary(max_size=3000))
def test_loaders_given_random_bytes_raise_only_data_file_errors(tmp_path_factory, loader, content):
    function, name = LOADERS[loader]
    path = tmp_path_factory.mktemp("random") / name
    path.write_bytes(content)
    with pytest.raises(DataFileError, match="file.npz|net.json|mnist.pkl.gz"):
        function(path)


@settings(max_examples=60, deadline=None)
@given(loader=st.sampled_from(sorted(LOADERS)), text=st.text(max_size=300))
def test_loaders_given_random_text_raise_only_data_file_errors(tmp_path_factory, loader, text):
    function, name = LOADERS[loader]
    path = tmp_path_factory.mktemp("text") / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError):
        function(path)


@settings(max_examples=100, deadline=None)
@given(
    cut=st.one_of(st.none(), st.integers(0, 10_000)),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=3),
)
def test_damaged_checkpoint_loads_or_raises_a_data_file_error(tmp_path_factory, cut, flips):
    directory = tmp_path_factory.mktemp("damaged")
    net = dl.Network([3, 2, 2], seed=0)
    history = dl.train(net, (np.eye(3), np.array([0, 1, 1])), epochs=1, batch_size=2, eta=0.5)
    dl.save_checkpoint(directory / "c.npz", net, epoch=1, history=history,
                       generator=np.random.default_rng(0))  # fmt: skip
    raw = bytearray((directory / "c.npz").read_bytes())
    for position, mask in flips:
        raw[position % len(raw)] ^= mask
    if cut is not None:
        raw = raw[: cut % len(raw)]
    (directory / "c.npz").write_bytes(bytes(raw))
    try:
        loaded = dl.load_checkpoint(directory / "c.npz")
    except DataFileError as error:
        assert str(directory / "c.npz") in str(error)
    else:
        # A change the zip checksums cannot see (a date, a name) may leave it loadable.
        assert loaded.network.sizes == (3, 2, 2)
