"""Decay conventions: per-step multipliers, per-epoch factors and their equivalences."""

from __future__ import annotations

import math

import numpy as np
import pytest

import decaylab as dl
from reference import one_hot, train_reference

# (convention, eta, strength, n, n_weights, closed-form multiplier written out)
MULTIPLIERS = [
    ("sum", 0.5, 5.0, 1000, 2220, 1 - 0.5 * 5.0 / 1000),
    ("sum", 3.0, 0.1, 50000, 23820, 1 - 3.0 * 0.1 / 50000),
    ("sum", 0.1, 0.0, 10, 7, 1.0),
    ("mean", 0.5, 5.0, 1000, 2220, 1 - 0.5 * 5.0 / (1000 * 2220)),
    ("mean", 2.0, 300.0, 100, 30, 1 - 2.0 * 300.0 / (100 * 30)),
    ("per_step", 0.5, 1e-4, 1000, 2220, 1 - 0.5 * 1e-4),
    ("per_step", 0.1, 2.0, 7, 3, 1 - 0.1 * 2.0),
    ("decoupled", 0.5, 1e-3, 1000, 2220, 1 - 1e-3),
    ("decoupled", 7.0, 0.25, 3, 1, 1 - 0.25),
]


@pytest.mark.parametrize(("decay", "eta", "lmbda", "n", "n_weights", "expected"), MULTIPLIERS)
def test_multiplier_matches_closed_form(decay, eta, lmbda, n, n_weights, expected):
    d = dl.get_convention(decay).multiplier(lmbda, eta=eta, n=n, n_weights=n_weights)
    assert d == pytest.approx(expected, rel=1e-15)


# (convention, c/2 written out for eta=0.5, lmbda=4.0, n=200, n_weights=10)
PENALTY_COEFFICIENTS = [
    ("sum", 4.0 / (2 * 200)),
    ("mean", 4.0 / (2 * 200 * 10)),
    ("per_step", 4.0 / 2),
    ("decoupled", 4.0 / (2 * 0.5)),
]


@pytest.mark.parametrize(("decay", "half_coefficient"), PENALTY_COEFFICIENTS)
def test_penalty_is_half_coefficient_times_sum_of_squares(decay, half_coefficient):
    penalty = dl.get_convention(decay).penalty(3.0, 4.0, eta=0.5, n=200, n_weights=10)
    assert penalty == pytest.approx(half_coefficient * 3.0, rel=1e-15)


# (convention, eta, strength, n, n_weights): each makes d = 1 − η·c <= 0
NON_POSITIVE = [
    ("sum", 1.0, 100.0, 100, 1),  # ηλ/n = 1 exactly
    ("sum", 2.0, 100.0, 100, 1),
    ("mean", 1.0, 100.0, 10, 10),
    ("per_step", 0.5, 2.0, 100, 1),
    ("per_step", 0.5, 3.0, 100, 1),
    ("decoupled", 0.1, 1.0, 100, 1),
    ("decoupled", 0.1, 1.5, 100, 1),
]


@pytest.mark.parametrize(("decay", "eta", "lmbda", "n", "n_weights"), NON_POSITIVE)
def test_non_positive_multiplier_raises(decay, eta, lmbda, n, n_weights):
    with pytest.raises(ValueError, match="multiplier"):
        dl.get_convention(decay).multiplier(lmbda, eta=eta, n=n, n_weights=n_weights)


# (eta, lmbda, n, m): m divides n, does not divide n, m = 1, m = n
FACTORS = [
    (0.5, 5.0, 1000, 10),
    (0.5, 5.0, 1000, 7),
    (3.0, 0.1, 50000, 10),
    (0.1, 2.0, 23, 5),
    (0.1, 2.0, 23, 1),
    (0.1, 2.0, 23, 23),
    (1.0, 0.0, 40, 3),
]


@pytest.mark.parametrize(("eta", "lmbda", "n", "m"), FACTORS)
def test_decay_factor_is_multiplier_to_the_number_of_steps(eta, lmbda, n, m):
    expected = (1 - eta * lmbda / n) ** math.ceil(n / m)
    assert dl.decay_factor(eta, lmbda, n, m) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize(
    ("decay", "expected"),
    [
        ("mean", (1 - 0.5 * 5.0 / (100 * 40)) ** 15),
        ("per_step", (1 - 0.5 * 5.0e-3) ** 15),
        ("decoupled", (1 - 5.0e-3) ** 15),
    ],
)
def test_decay_factor_of_other_conventions(decay, expected):
    strength = 5.0 if decay == "mean" else 5.0e-3
    factor = dl.decay_factor(0.5, strength, 100, 7, decay=decay, n_weights=40)
    assert factor == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize(("n", "m", "steps"), [(10, 1, 10), (10, 3, 4), (10, 5, 2), (10, 10, 1)])
def test_steps_per_epoch_is_ceiling(n, m, steps):
    assert dl.steps_per_epoch(n, m) == steps


@pytest.mark.parametrize(("eta", "lmbda", "m"), [(0.5, 5.0, 10), (3.0, 0.1, 10), (0.1, 0.0, 1)])
def test_closed_form_factor_is_exp_of_minus_eta_lambda_over_m(eta, lmbda, m):
    assert dl.closed_form_factor(eta, lmbda, m) == pytest.approx(math.exp(-eta * lmbda / m))


def test_closed_form_is_close_to_exact_when_eta_lambda_much_less_than_n():
    # ηλ/n = 1e-5: the relative error of e^{−ηλ/m} is about (ηλ/m)·ηλ/(2n) ≈ 1e-6.
    exact = dl.decay_factor(0.5, 1.0, 50000, 10)
    assert abs(dl.closed_form_factor(0.5, 1.0, 10) / exact - 1) < 1e-5


def test_decay_factor_equals_repeated_zero_gradient_steps():
    # An epoch of pure decay, stepped by sgd_step with a zero data gradient.
    net = dl.Network([6, 5, 4], seed=0)
    before = net.params.copy()
    eta, lmbda, n, m = 0.5, 5.0, 103, 10
    d = dl.get_convention("sum").multiplier(lmbda, eta=eta, n=n, n_weights=net.n_weights)
    for _ in range(math.ceil(n / m)):
        dl.sgd_step(net, np.zeros_like(net.params), multiplier=d, eta=eta, batch_length=m)
    factor = dl.decay_factor(eta, lmbda, n, m)
    np.testing.assert_allclose(net.weights_flat, factor * before[: net.n_weights], rtol=1e-13)
    assert np.array_equal(net.params[net.n_weights :], before[net.n_weights :])


def test_get_convention_returns_an_instance_unchanged():
    convention = dl.MeanDecay()
    assert dl.get_convention(convention) is convention


@pytest.mark.parametrize("name", ["sum", "mean", "per_step", "decoupled"])
def test_conventions_are_registered_by_name(name):
    assert dl.get_convention(name).name == name
    assert dl.CONVENTIONS[name].name == name


# -- equivalences, on whole training runs --------------------------------------


def _run(data, **kwargs):
    net = dl.Network([64, 12, 10], seed=3)
    hist = dl.train(net, data, epochs=2, batch_size=16, eta=0.5, seed=7, **kwargs)
    return net, hist


@pytest.fixture(scope="module")
def small_digits(digits):
    X, y = digits.train
    return X[:200], y[:200]


def test_sum_with_lmbda_equals_per_step_with_lmbda_over_n(small_digits):
    lmbda, n = 5.0, len(small_digits[0])
    net_sum, hist_sum = _run(small_digits, lmbda=lmbda, decay="sum")
    net_step, hist_step = _run(small_digits, lmbda=lmbda / n, decay="per_step")
    assert np.array_equal(net_sum.params, net_step.params)
    assert np.array_equal(hist_sum.weights.norm, hist_step.weights.norm)
    assert np.array_equal(hist_sum.training_cost, hist_step.training_cost)


def test_decoupled_with_wd_equals_per_step_with_wd_over_eta(small_digits):
    wd, eta = 0.02, 0.5
    net_dec, _ = _run(small_digits, lmbda=wd, decay="decoupled")
    net_step, _ = _run(small_digits, lmbda=wd / eta, decay="per_step")
    np.testing.assert_allclose(net_dec.params, net_step.params, rtol=1e-14, atol=1e-15)


def test_equivalence_tests_can_fail(small_digits):
    # The same strength under two conventions that are not equivalent differs.
    net_sum, _ = _run(small_digits, lmbda=5.0, decay="sum")
    net_step, _ = _run(small_digits, lmbda=5.0 / 201, decay="per_step")
    assert np.abs(net_sum.params - net_step.params).max() > 1e-8


@pytest.mark.parametrize(
    ("decay", "strength", "closed_form"),
    [
        ("sum", 5.0, lambda eta, s, n, nw: 1 - eta * s / n),
        ("mean", 500.0, lambda eta, s, n, nw: 1 - eta * s / (n * nw)),
        ("per_step", 0.01, lambda eta, s, n, nw: 1 - eta * s),
        ("decoupled", 0.01, lambda eta, s, n, nw: 1 - s),
    ],
)
def test_training_under_each_convention_matches_reference(decay, strength, closed_form):
    rng = np.random.default_rng(0)
    X, y = rng.uniform(-1, 1, (13, 4)), rng.integers(0, 3, 13)
    net = dl.Network([4, 5, 3], seed=1)
    w0, b0 = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    dl.train(
        net, (X, y), epochs=2, batch_size=4, eta=0.3, lmbda=strength, decay=decay, shuffle=False
    )
    d = closed_form(0.3, strength, 13, net.n_weights)
    weights, biases = train_reference(
        w0, b0, X, one_hot(y, 3), epochs=2, batch_size=4, eta=0.3, lmbda=0.0, multiplier=d
    )
    expected = np.concatenate([w.ravel() for w in weights] + biases)
    np.testing.assert_allclose(net.params, expected, rtol=1e-12, atol=1e-14)


# -- the mean convention needs n_w ---------------------------------------------

NEEDS_N_WEIGHTS = [
    lambda: dl.decay_factor(0.5, 5.0, 1000, 10, decay="mean"),
    lambda: dl.MeanDecay().multiplier(5.0, eta=0.5, n=1000),
    lambda: dl.MeanDecay().penalty(3.0, 5.0, eta=0.5, n=1000),
    lambda: dl.compare_factors(0.5, 5.0, 1000, 10, decay="mean"),
    lambda: dl.convert_lmbda(5.0, "sum", "mean", eta=0.5, n=1000),
    lambda: dl.convert_lmbda(5.0, "mean", "per_step", eta=0.5, n=1000),
]


@pytest.mark.parametrize("call", NEEDS_N_WEIGHTS)
def test_mean_convention_without_n_weights_is_refused(call):
    with pytest.raises(ValueError, match="n_weights=None"):
        call()


@pytest.mark.parametrize("decay", ["sum", "per_step", "decoupled"])
def test_other_conventions_need_no_n_weights(decay):
    assert dl.decay_factor(0.5, 1e-3, 1000, 10, decay=decay) == dl.decay_factor(
        0.5, 1e-3, 1000, 10, decay=decay, n_weights=123
    )


# -- converting a strength between conventions ----------------------------------

# (source, target, value, expected written out) for eta=0.5, n=1000, n_weights=2220
CONVERSIONS = [
    ("sum", "mean", 5.0, 5.0 * 2220),
    ("sum", "per_step", 5.0, 5.0 / 1000),
    ("sum", "decoupled", 5.0, 0.5 * 5.0 / 1000),
    ("mean", "sum", 11100.0, 11100.0 / 2220),
    ("per_step", "sum", 0.005, 0.005 * 1000),
    ("decoupled", "per_step", 0.01, 0.01 / 0.5),
    ("per_step", "mean", 1e-4, 1e-4 * 1000 * 2220),
    ("sum", "sum", 5.0, 5.0),
    ("mean", "decoupled", 0.0, 0.0),
]


@pytest.mark.parametrize(("source", "target", "value", "expected"), CONVERSIONS)
def test_convert_lmbda_matches_the_coefficients_written_out(source, target, value, expected):
    converted = dl.convert_lmbda(value, source, target, eta=0.5, n=1000, n_weights=2220)
    assert converted == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize(("source", "target", "value", "expected"), CONVERSIONS)
def test_converted_strength_gives_the_same_multiplier_exactly(source, target, value, expected):
    given = dict(eta=0.5, n=1000, n_weights=2220)
    converted = dl.convert_lmbda(value, source, target, **given)
    d_source = dl.get_convention(source).multiplier(value, **given)
    assert dl.get_convention(target).multiplier(converted, **given) == d_source


@pytest.mark.parametrize(
    ("source", "value", "target"),
    [
        ("sum", 5.0, "mean"),
        ("sum", 5.0, "per_step"),
        ("sum", 5.0, "decoupled"),
        ("sum", 0.7, "mean"),
        ("decoupled", 3e-3, "mean"),
        ("per_step", 7e-3, "sum"),
    ],
)
def test_converted_strength_trains_the_same_weights_bit_for_bit(
    small_digits, source, value, target
):
    n_weights = dl.Network([64, 12, 10]).n_weights
    n = len(small_digits[0])
    converted = dl.convert_lmbda(value, source, target, eta=0.5, n=n, n_weights=n_weights)
    net_source, hist_source = _run(small_digits, lmbda=value, decay=source)
    net_target, hist_target = _run(small_digits, lmbda=converted, decay=target)
    assert np.array_equal(net_source.params, net_target.params)
    assert np.array_equal(hist_source.weights.norm, hist_target.weights.norm)


def test_the_same_strength_in_another_convention_trains_other_weights(small_digits):
    # What the bit-for-bit test above would see without the conversion.
    net_sum, _ = _run(small_digits, lmbda=5.0, decay="sum")
    net_mean, _ = _run(small_digits, lmbda=5.0, decay="mean")
    assert not np.array_equal(net_sum.params, net_mean.params)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(value=-1.0), ValueError, r"value=-1.0 must be >= 0"),
        (dict(value="5"), TypeError, r"value='5'"),
        (dict(source="L2"), ValueError, r"decay='L2' is not recognised"),
        (dict(eta=0.0), ValueError, r"eta=0.0 must be > 0"),
        (dict(n=0), ValueError, r"n=0 is too small"),
        (dict(n_weights=0), ValueError, r"n_weights=0 is too small"),
        (dict(value=300.0), ValueError, r"multiplier"),
    ],
)
def test_convert_lmbda_rejects_bad_input(kwargs, error, match):
    arguments = dict(value=5.0, source="sum", target="mean", eta=0.5, n=100, n_weights=40)
    with pytest.raises(error, match=match):
        dl.convert_lmbda(**{**arguments, **kwargs})
