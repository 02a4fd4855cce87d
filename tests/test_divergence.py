"""Divergence: training that produces non-finite values stops with TrainingDiverged.

The error must say in which epoch, step and layer it happened, carry the
History of the finite epochs only, and leave the network at the end of the
last finite epoch. Where it happened is checked against a step-by-step run of
eq. 93 written in the test (tests/reference.py).
"""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl
import reference

# (sizes, eta, batch_size, seed) and where the run must stop: (epoch, step, layer).
# Absurd learning rates with unbounded relu units make the weights, their
# statistics or the cost overflow; each row reaches a different check.
CASES = {
    "weights of layer 0 overflow at step 1": (([3, 8, 8, 2], 1e300, 5, 0), (1, 1, 0)),
    "weights of layer 1 overflow at step 0": (([3, 8, 8, 2], 1e308, 5, 1), (1, 0, 1)),
    "norm overflows after epoch 2": (([3, 4, 4, 2], 1e100, 20, 0), (2, None, 0)),
    "norm overflows after epoch 5": (([3, 5, 4], 1e20, 5, 2), (5, None, 0)),
    "cost overflows after epoch 1": (([3, 4, 4, 2], 1e105, 20, 0), (1, None, None)),
}


def _problem(k: int):
    rng = np.random.default_rng(0)
    return rng.uniform(-1.0, 1.0, (20, 3)), rng.integers(0, k, 20)


def _cost_overflows(weights, biases, X, targets) -> bool:
    # C_x = Σ_j softplus(z_j) − y_j z_j, the cross-entropy of a sigmoid output.
    total = 0.0
    for x, t in zip(X, targets):
        z = reference.feedforward(weights, biases, x, "relu")[0][-1]
        total += float(np.sum(np.logaddexp(0.0, z) - t * z))
    return not np.isfinite(total)


def _reference_divergence(net, X, y, *, epochs, batch_size, eta):
    """(epoch, step, layer) where plain eq. 93, in order, first gives a non-finite value.

    Checked after every step: every weight and bias. After every epoch: each
    layer's sum of squares (which the History's norms need) and the cost.
    """
    weights = [w.copy() for w in net.weights]
    biases = [b.copy() for b in net.biases]
    targets = reference.one_hot(y, net.sizes[-1])
    with np.errstate(all="ignore"):
        for epoch in range(1, epochs + 1):
            for step, start in enumerate(range(0, len(X), batch_size)):
                batch = slice(start, start + batch_size)
                weights, biases = reference.sgd_step(
                    weights, biases, X[batch], targets[batch], eta=eta, multiplier=1.0,
                    activation="relu",
                )  # fmt: skip
                for layer, (w, b) in enumerate(zip(weights, biases)):
                    if not (np.isfinite(w).all() and np.isfinite(b).all()):
                        return epoch, step, layer
            for layer, (w, b) in enumerate(zip(weights, biases)):
                if not (np.isfinite(np.sum(w * w)) and np.isfinite(np.sum(b * b))):
                    return epoch, None, layer
            if _cost_overflows(weights, biases, X, targets):
                return epoch, None, None
    return None


def _run(case, epochs=8, **options):
    (sizes, eta, batch_size, seed), _ = CASES[case]
    X, y = _problem(sizes[-1])
    net = dl.Network(sizes, activation="relu", seed=seed)
    settings = dict(epochs=epochs, batch_size=batch_size, eta=eta, shuffle=False)
    with pytest.raises(dl.TrainingDiverged) as caught:
        dl.train(net, (X, y), **settings, **options)
    return net, caught.value, (X, y), settings


@pytest.mark.parametrize("case", CASES)
def test_reference_run_diverges_where_the_table_says(case):
    (sizes, eta, batch_size, seed), expected = CASES[case]
    X, y = _problem(sizes[-1])
    net = dl.Network(sizes, activation="relu", seed=seed)
    found = _reference_divergence(net, X, y, epochs=8, batch_size=batch_size, eta=eta)
    assert found == expected


@pytest.mark.parametrize("case", CASES)
def test_error_gives_epoch_step_and_layer(case):
    _, error, _, _ = _run(case)
    assert (error.epoch, error.step, error.layer) == CASES[case][1]


@pytest.mark.parametrize("case", CASES)
def test_message_names_the_epoch_and_where(case):
    _, error, _, _ = _run(case)
    epoch, step, layer = CASES[case][1]
    message = str(error)
    assert f"epoch {epoch}" in message
    if step is not None:
        assert f"step {step}" in message
    if layer is not None:
        assert f"layer {layer}" in message
    else:
        assert "training cost" in message


@pytest.mark.parametrize("case", CASES)
def test_history_holds_exactly_the_finite_epochs(case):
    _, error, _, _ = _run(case, evaluation=_problem(CASES[case][0][0][-1]))
    history = error.history
    np.testing.assert_array_equal(history.epoch, np.arange(error.epoch))


@pytest.mark.parametrize("case", CASES)
def test_history_has_no_nan_or_inf(case):
    _, error, _, _ = _run(case, evaluation=_problem(CASES[case][0][0][-1]))
    history = error.history
    arrays = history.to_arrays()
    del arrays["settings_json"]
    assert "evaluation_cost" in arrays and "training_cost" in arrays
    for name, values in arrays.items():
        assert np.isfinite(values).all(), name


@pytest.mark.parametrize("case", CASES)
def test_network_is_left_at_the_end_of_the_last_finite_epoch(case):
    net, error, data, settings = _run(case)
    (sizes, _, _, seed), _ = CASES[case]
    last_finite = dl.Network(sizes, activation="relu", seed=seed)
    dl.train(last_finite, data, **{**settings, "epochs": error.epoch - 1})
    assert np.array_equal(net.params, last_finite.params)


@pytest.mark.parametrize("case", CASES)
def test_divergence_is_not_a_value_error(case):
    # Bad input raises ValueError; divergence is a different failure, caught apart.
    _, error, _, _ = _run(case)
    assert isinstance(error, FloatingPointError)
    assert not isinstance(error, ValueError)


def test_monitors_do_not_record_the_diverged_epoch():
    _, error, _, _ = _run("norm overflows after epoch 5", monitors=[dl.DecompositionMonitor()])
    record = error.history.monitors["decomposition"]
    for key, values in record.items():
        assert values.shape[0] == error.epoch - 1, key
        assert not np.isnan(values).any(), key


def test_no_checkpoint_is_written_for_the_diverged_epoch(tmp_path):
    path = tmp_path / "run.npz"
    _, error, _, _ = _run("norm overflows after epoch 5", checkpoint_every=1, checkpoint_path=path)
    checkpoint = dl.load_checkpoint(path)
    assert checkpoint.epoch == error.epoch - 1
    assert np.isfinite(checkpoint.history.weights.norm).all()


def test_continued_run_that_diverges_keeps_the_earlier_epochs():
    case = "norm overflows after epoch 5"
    (sizes, eta, batch_size, seed), (epoch, _, _) = CASES[case]
    X, y = _problem(sizes[-1])
    settings = dict(batch_size=batch_size, eta=eta, shuffle=False)
    net = dl.Network(sizes, activation="relu", seed=seed)
    first = dl.train(net, (X, y), epochs=2, **settings)
    with pytest.raises(dl.TrainingDiverged) as caught:
        dl.train(net, (X, y), epochs=6, history=first, **settings)
    assert caught.value.epoch == epoch
    np.testing.assert_array_equal(caught.value.history.epoch, np.arange(epoch))


def test_non_finite_network_is_refused_before_training():
    X, y = _problem(2)
    net = dl.Network([3, 4, 2], seed=0)
    net.params[0] = np.nan  # past the checks of net.weights[l] = ...
    with pytest.raises(ValueError, match="layer 0"):
        dl.train(net, (X, y), epochs=1, batch_size=5, eta=0.5)


def test_sweep_marks_a_diverged_configuration_and_keeps_the_others():
    case = "norm overflows after epoch 5"
    (sizes, _, batch_size, seed), (epoch, _, _) = CASES[case]
    X, y = _problem(sizes[-1])

    def final_norm(eta):
        net = dl.Network(sizes, activation="relu", seed=seed)
        history = dl.train(net, (X, y), epochs=8, batch_size=batch_size, eta=eta, shuffle=False)
        return {"norm": float(history.weights.total.norm[-1])}

    result = dl.sweep(dl.grid_product(eta=[0.1, CASES[case][0][1], 0.2]), final_norm)
    assert [row["error"] is None for row in result.rows] == [True, False, True]
    assert result.rows[1]["error"].startswith("TrainingDiverged")
    assert f"epoch {epoch}" in result.rows[1]["error"]
    assert "norm" not in result.rows[1]
    assert all(np.isfinite(row["norm"]) for row in (result.rows[0], result.rows[2]))
