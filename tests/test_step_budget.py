"""The step monitors' shared ‖w‖² budget against every step's weights, written out here.

Under eq. 93 and AdamW (a decay that multiplies the weights) the monitors read
the budget in closed form from d·w and R, without forming the decay part; the
expected records below are summed step by step from the weights before and
after each step, recorded by a monitor of the plain ``step_parts`` protocol
in a separate run (monitored runs are bit for bit the unmonitored run).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import decaylab as dl

SIZES = [6, 5, 3]
# 103 examples in batches of 4: 26 steps an epoch, the last of 3 examples; 3 epochs
# cross the budget's periodic fresh x·x several times.
N, BATCH, EPOCHS, LMBDA = 103, 4, 3, 4.0
# The last flag adds a monitor of the plain step_parts protocol beside the two, so that
# the decay part is formed and the budget taken from w, D and R directly.
RULES = [
    (None, 0.6, "sum", False),
    (None, 0.3, "per_step", False),
    ("adamw", 0.01, "sum", False),
    (None, 0.6, "sum", True),
    ("adamw", 0.01, "sum", True),
]
IDS = ["eq93", "eq93-per-step-convention", "adamw", "eq93-parts-formed", "adamw-parts-formed"]


class _Trajectory:
    """Keeps the weights before and after every step (a plain ``step_parts`` monitor)."""

    name = "trajectory"

    def start(self, net, *, eta, multiplier):
        self.net, self.multiplier, self.epochs = net, multiplier, [[]]

    def step_parts(self, weights_before, decay, rest):
        after = [w.reshape(-1).copy() for w in self.net.weights]
        self.epochs[-1].append([(b.copy(), a) for b, a in zip(weights_before, after)])

    def end_epoch(self, net):
        self.epochs.append([])

    def result(self):
        return {}


def _train(optimizer, eta, decay, monitors, sizes=SIZES):
    rng = np.random.default_rng(5)
    X, y = rng.uniform(-1, 1, (N, sizes[0])), rng.integers(0, sizes[-1], N)
    net = dl.Network(sizes, init="large", seed=2)
    lmbda = LMBDA if decay == "sum" else 0.02
    history = dl.train(net, (X, y), epochs=EPOCHS, batch_size=BATCH, eta=eta, lmbda=lmbda,
                       decay=decay, seed=3, training_metrics=False, optimizer=optimizer,
                       monitors=monitors)  # fmt: skip
    return net, history


def _angle(a, b):
    """Angle between a and b from their unit vectors, as angular_update defines it."""
    ua, ub = a / np.sqrt(a @ a), b / np.sqrt(b @ b)
    return 2.0 * math.atan2(np.linalg.norm(ua - ub), np.linalg.norm(ua + ub))


def _per_epoch(trajectory, term):
    """[epoch][layer] → the list of ``term(w, w′)`` over that epoch's steps."""
    return [
        [[term(*step[l]) for step in steps] for l in range(len(steps[0]))]
        for steps in trajectory.epochs[:EPOCHS]
    ]


def _expected(trajectory):
    """Each record entry per epoch and layer, and the scale its rounding is judged against."""
    d = trajectory.multiplier
    terms = {  # per step of a layer, from w before and w′ after: u = (1 − d)w, v = d·w − w′
        "decay_norm": lambda w, after: (1 - d) * np.sqrt(w @ w),
        "gradient_norm": lambda w, after: np.linalg.norm(d * w - after),
        "contraction": lambda w, after: (d * d - 1) * (w @ w),
        "radial": lambda w, after: -2 * d * (w @ (d * w - after)),
        "noise": lambda w, after: np.sum((d * w - after) ** 2),
    }
    record, scale = {}, {}
    for key, term in terms.items():
        values = _per_epoch(trajectory, term)
        record[key] = np.array([[sum(steps) for steps in epoch] for epoch in values])
        scale[key] = np.array([[sum(map(abs, steps)) for steps in epoch] for epoch in values])
    displacements = {
        "net_decay_norm": lambda w, after: (1 - d) * w,
        "net_gradient_norm": lambda w, after: d * w - after,
    }
    for key, part in displacements.items():
        values = _per_epoch(trajectory, part)
        record[key] = scale[key] = np.array(
            [[np.linalg.norm(sum(steps)) for steps in epoch] for epoch in values]
        )
    values = _per_epoch(trajectory, _angle)
    record["mean_step_angle"] = scale["mean_step_angle"] = np.array(
        [[np.mean(steps) for steps in epoch] for epoch in values]
    )
    return record, scale


def _assert_record_matches(runs, key):
    """The monitors' record of ``key`` equals the steps written out, to 1e-12 of its scale."""
    _, _, history, (expected, scale) = runs
    record = {**history.monitors["decomposition"], **history.monitors["rotation"]}
    error = np.abs(record[key] - expected[key])
    assert np.all(error <= 1e-12 * scale[key]), (error / scale[key]).max()


def _assert_budget_closes(runs):
    """Contraction + radial + noise equals each epoch's change of ‖w‖², to 1e-10."""
    _, _, history, _ = runs
    record = history.monitors["decomposition"]
    budget = record["contraction"] + record["radial"] + record["noise"]
    np.testing.assert_allclose(budget, np.diff(history.weights.norm**2, axis=0), rtol=1e-10)


def _watched_runs(optimizer, eta, decay, *, sizes=SIZES, parts_formed=False,
                  displacement=False):  # fmt: skip
    """The unmonitored run, the monitored run with its history, and the record its steps
    give written out (a trajectory monitor beside the package's ones forms the parts)."""
    trajectory = _Trajectory()
    plain, _ = _train(optimizer, eta, decay, [], sizes)
    _train(optimizer, eta, decay, [trajectory], sizes)
    monitors = [dl.DecompositionMonitor(displacement=displacement),
                dl.RotationMonitor(per_step=True)]  # fmt: skip
    if parts_formed:
        monitors.append(_Trajectory())
    watched, history = _train(optimizer, eta, decay, monitors, sizes)
    return plain, watched, history, _expected(trajectory)


@pytest.fixture(scope="module", params=RULES, ids=IDS)
def runs(request):
    optimizer, eta, decay, parts_formed = request.param
    return _watched_runs(optimizer, eta, decay, parts_formed=parts_formed, displacement=True)


@pytest.mark.parametrize(
    "key",
    ["decay_norm", "gradient_norm", "contraction", "radial", "noise", "net_decay_norm",
     "net_gradient_norm", "mean_step_angle"],
)  # fmt: skip
def test_record_matches_the_steps_written_out(runs, key):
    _assert_record_matches(runs, key)


def test_monitored_run_is_bit_identical_to_the_unmonitored_one(runs):
    plain, watched, _, _ = runs
    np.testing.assert_array_equal(watched.params, plain.params)


def test_budget_closes_on_the_change_of_the_squared_norm(runs):
    _assert_budget_closes(runs)


def test_float32_budget_closes_to_a_few_roundings_of_the_contraction():
    # In float32 the rounding of d·w is of the order of the decay itself; the decay part
    # must be the one the step applied, not (1 − d)·w, for the budget to close.
    rng = np.random.default_rng(0)
    X, y = rng.uniform(-1, 1, (40, 4)).astype(np.float32), rng.integers(0, 3, 40)
    net = dl.Network([4, 5, 3], seed=0, dtype=np.float32)
    history = dl.train(net, (X, y), epochs=3, batch_size=5, eta=0.5, lmbda=2.0, seed=0,
                       training_metrics=False, monitors=[dl.DecompositionMonitor()])  # fmt: skip
    record = history.monitors["decomposition"]
    budget = record["contraction"] + record["radial"] + record["noise"]
    error = np.abs(budget - np.diff(history.weights.norm**2, axis=0))
    assert np.all(error <= 3 * np.finfo(np.float32).eps * np.abs(record["contraction"]))


# Eq. 93 with batches small beside the layers, and no monitor reading the budget's arrays:
# the budget is taken from the batch, neither x = d·w nor R formed: the k × k Gram
# matrix of the inputs (the batch X in the first layer, a¹ in the second) times δ, and
# the output layer's gradient δᵀa itself.
BATCH_SIZES = [400, 90, 60, 5]


@pytest.fixture(scope="module")
def batch_runs():
    return _watched_runs(None, 0.6, "sum", sizes=BATCH_SIZES)


def test_the_budget_of_these_runs_is_taken_from_the_batch():
    from decaylab._epochs import StepSplit

    net = dl.Network(BATCH_SIZES, seed=0)
    part = dl.SGD().decay_part(net, {}, coefficient=LMBDA / N, eta=0.6)
    monitors = (dl.DecompositionMonitor(), dl.RotationMonitor(per_step=True))
    split = StepSplit(net, part, monitors, state={}, batch_size=BATCH)
    assert split.prepare == split._budget_of_batch


@pytest.mark.parametrize("k", [BATCH, N % BATCH])
def test_these_runs_take_both_forms_of_a_deeper_layer(k):
    # the batch's Gram matrix in the first two layers, G itself in the output layer
    from decaylab._epochs import _layer_products

    layers = enumerate(zip(BATCH_SIZES[:-1], BATCH_SIZES[1:]))
    formed = [_layer_products(k, i, o, first=l == 0)[0] for l, (i, o) in layers]
    assert formed == [False, False, True]


@pytest.mark.parametrize(
    "key", ["decay_norm", "gradient_norm", "contraction", "radial", "noise", "mean_step_angle"]
)
def test_record_from_the_batch_matches_the_steps_written_out(batch_runs, key):
    _assert_record_matches(batch_runs, key)


def test_run_with_the_budget_from_the_batch_is_bit_identical_to_the_unmonitored_one(batch_runs):
    plain, watched, _, _ = batch_runs
    np.testing.assert_array_equal(watched.params, plain.params)


def test_budget_from_the_batch_closes_on_the_change_of_the_squared_norm(batch_runs):
    _assert_budget_closes(batch_runs)


# The loop shows the monitors the steps by blocks (at most BLOCK_STEPS, and the rest of
# an epoch at its end); with blocks of EXACT_EVERY steps an epoch of 26 steps is shown
# as 16 + 10, in each of the three ways the budget is taken.
BLOCK_CASES = [
    (None, 0.6, False, SIZES),  # d·w form
    ("adamw", 0.01, False, SIZES),  # d·w form
    (None, 0.6, True, SIZES),  # parts formed
    (None, 0.6, False, BATCH_SIZES),  # from the batch
]


@pytest.fixture(scope="module", params=BLOCK_CASES,
                ids=["eq93", "adamw", "eq93-parts-formed", "eq93-batch"])  # fmt: skip
def block_runs(request):
    from decaylab import _epochs
    from decaylab._step_budget import EXACT_EVERY

    optimizer, eta, parts_formed, sizes = request.param
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_epochs, "BLOCK_STEPS", EXACT_EVERY)
        return _watched_runs(optimizer, eta, "sum", sizes=sizes, parts_formed=parts_formed)


@pytest.mark.parametrize("key", ["decay_norm", "contraction", "radial", "noise", "mean_step_angle"])
def test_record_shown_in_short_blocks_matches_the_steps_written_out(block_runs, key):
    _assert_record_matches(block_runs, key)


@pytest.mark.parametrize("steps", [1, 15, 16, 17, 40])
@pytest.mark.parametrize("multiplier", [0.999, 0.9, -0.5])
def test_carried_squares_follow_the_step_by_step_recurrence(steps, multiplier):
    from decaylab._step_budget import EXACT_EVERY, carried_squares, carry_matrix

    rng = np.random.default_rng(steps)
    fresh = rng.uniform(1.0, 2.0, (-(-steps // EXACT_EVERY), 2))
    wr, rr = rng.normal(size=(steps, 2)), rng.uniform(0.0, 0.1, (steps, 2))
    expected = np.empty((steps, 2))
    for t in range(steps):  # w′·w′ = d²w·w − 2d·w·R + R·R, restarted every EXACT_EVERY steps
        if t % EXACT_EVERY == 0:
            expected[t] = fresh[t // EXACT_EVERY]
        else:
            previous = expected[t - 1]
            expected[t] = multiplier**2 * previous - 2 * multiplier * wr[t - 1] + rr[t - 1]
    result = carried_squares(fresh, wr, rr, multiplier, carry_matrix(multiplier))
    np.testing.assert_allclose(result, expected, rtol=1e-13)


@pytest.mark.parametrize("steps", [1, 16, 21, 40])
@pytest.mark.parametrize("multiplier", [0.999, 0.9])
def test_kept_budget_equals_the_dot_products_of_the_steps(steps, multiplier):
    from decaylab._step_budget import EXACT_EVERY, kept_block_matrix, kept_budget

    # Steps w′ = d·w − R of two layers, and the floats the d·w form keeps of them.
    rng = np.random.default_rng(steps)
    weights = [rng.normal(size=12), rng.normal(size=5)]
    kept, expected = [], np.empty((steps, 6, 2))
    for t in range(steps):
        rests = [rng.normal(scale=0.05, size=w.size) for w in weights]
        after = [multiplier * w - r for w, r in zip(weights, rests)]
        if t % EXACT_EVERY == 0:
            kept += [float(w @ w) for w in weights]
        kept += [float(a @ r) for a, r in zip(after, rests)] + [float(r @ r) for r in rests]
        for l, (w, r) in enumerate(zip(weights, rests)):
            u = (1.0 - multiplier) * w
            expected[t, :, l] = [w @ w, w @ u, w @ r, u @ u, u @ r, r @ r]
        weights = after
    budget = kept_budget(kept, steps, 2, kept_block_matrix(multiplier), multiplier)
    assert budget.multiplier == multiplier
    np.testing.assert_allclose(budget.products, expected.transpose(1, 0, 2), rtol=1e-12)
