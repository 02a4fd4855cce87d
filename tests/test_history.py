"""The History record: shapes, statistics computed independently, pooling, serialisation."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl
from decaylab.errors import DataFileError

SIZES = [64, 30, 10]
EPOCHS = 3

# name -> the statistic of a flat array, written with plain NumPy
STATISTICS = {
    "norm": lambda w: np.linalg.norm(w),
    "rms": lambda w: np.sqrt(np.mean(w**2)),
    "mean_abs": lambda w: np.mean(np.abs(w)),
    "l1": lambda w: np.sum(np.abs(w)),
    "sum": lambda w: np.sum(w),
    "variance": lambda w: np.var(w),
    "max_abs": lambda w: np.max(np.abs(w)),
}


@pytest.fixture(scope="module")
def run(digits):
    """A short run with evaluation data: (history, initial network, final network)."""
    net = dl.Network(SIZES, init="large", seed=0)
    start = net.copy()
    hist = dl.train(
        net, digits.train, epochs=EPOCHS, batch_size=10, eta=0.5, lmbda=5.0,
        evaluation=digits.validation, seed=0,
    )  # fmt: skip
    return hist, start, net


@pytest.mark.parametrize("kind", ["weights", "biases"])
@pytest.mark.parametrize("name", list(STATISTICS))
def test_statistic_shape_is_epochs_plus_one_by_layers(run, kind, name):
    hist = run[0]
    assert getattr(hist, kind)[name].shape == (EPOCHS + 1, len(SIZES) - 1)


def test_epoch_numbers(run):
    assert np.array_equal(run[0].epoch, np.arange(EPOCHS + 1))
    assert run[0].n_epochs == EPOCHS


@pytest.mark.parametrize("kind", ["weights", "biases"])
@pytest.mark.parametrize("name", list(STATISTICS))
def test_epoch_zero_is_the_initial_state(run, kind, name):
    hist, start, _ = run
    expected = [STATISTICS[name](np.ravel(p)) for p in getattr(start, kind)]
    np.testing.assert_allclose(getattr(hist, kind)[name][0], expected, rtol=1e-12)


@pytest.mark.parametrize("kind", ["weights", "biases"])
@pytest.mark.parametrize("name", list(STATISTICS))
def test_last_epoch_is_the_final_state(run, kind, name):
    hist, _, final = run
    expected = [STATISTICS[name](np.ravel(p)) for p in getattr(final, kind)]
    np.testing.assert_allclose(getattr(hist, kind)[name][-1], expected, rtol=1e-12)


@pytest.mark.parametrize("kind", ["weights", "biases"])
@pytest.mark.parametrize("name", list(STATISTICS))
@pytest.mark.parametrize("which", [0, -1])
def test_total_is_the_statistic_of_all_layers_concatenated(run, kind, name, which):
    hist, start, final = run
    net = start if which == 0 else final
    pooled = np.concatenate([np.ravel(p) for p in getattr(net, kind)])
    total = getattr(hist, kind).total[name]
    assert total.shape == (EPOCHS + 1,)
    assert total[which] == pytest.approx(STATISTICS[name](pooled), rel=1e-11)


def test_counts_are_parameters_per_layer(run):
    hist = run[0]
    assert np.array_equal(hist.weights.counts, [64 * 30, 30 * 10])
    assert np.array_equal(hist.biases.counts, [30, 10])


def test_biases_are_kept_apart_from_weights(run):
    # Biases are never decayed, so their statistics must not be pooled into the weights'.
    hist, start, _ = run
    weights_only = np.concatenate([w.ravel() for w in start.weights])
    assert hist.weights.total.norm[0] == pytest.approx(np.linalg.norm(weights_only), rel=1e-12)
    assert hist.weights.total.norm[0] != pytest.approx(np.linalg.norm(start.params), rel=1e-6)


def test_statistic_lookup_rejects_unknown_names(run):
    with pytest.raises(KeyError, match="median"):
        run[0].weights["median"]


def test_settings_record_the_run(run):
    settings = run[0].settings
    assert settings["sizes"] == SIZES
    assert (settings["eta"], settings["lmbda"], settings["batch_size"]) == (0.5, 5.0, 10)
    assert settings["n"] == 1000 and settings["steps_per_epoch"] == 100
    assert settings["multiplier"] == pytest.approx(1 - 0.5 * 5.0 / 1000)
    assert settings["n_weights"] == 64 * 30 + 30 * 10


@pytest.mark.parametrize(
    "name", ["training_cost", "training_accuracy", "evaluation_cost", "evaluation_accuracy"]
)
def test_metrics_have_one_value_per_epoch(run, name):
    assert getattr(run[0], name).shape == (EPOCHS + 1,)


def test_metrics_are_none_when_not_recorded(make_problem):
    hist = dl.train(
        dl.Network([4, 3], seed=0), make_problem(4, 3, 10), epochs=1, batch_size=5, eta=0.1,
        training_metrics=False, seed=0,
    )  # fmt: skip
    assert hist.training_cost is None and hist.evaluation_cost is None


# -- serialisation ----------------------------------------------------------------


def test_save_and_load_round_trip(run, tmp_path):
    hist = run[0]
    path = tmp_path / "history.npz"
    hist.save(path)
    loaded = dl.History.load(path)
    original, restored = hist.to_arrays(), loaded.to_arrays()
    assert original.keys() == restored.keys()
    assert all(np.array_equal(original[k], restored[k]) for k in original)
    assert loaded.settings == hist.settings
    assert np.array_equal(loaded.weights.total.norm, hist.weights.total.norm)


def test_saved_history_reads_without_pickle(run, tmp_path):
    path = tmp_path / "history.npz"
    run[0].save(path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    assert np.array_equal(arrays["weights.norm"], run[0].weights.norm)
    assert all(a.dtype != object for a in arrays.values())


def test_loading_a_file_that_is_not_a_history_raises(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, something=np.zeros(3))
    with pytest.raises(DataFileError, match="not a decaylab History"):
        dl.History.load(path)


def test_loading_a_missing_file_raises(tmp_path):
    with pytest.raises(DataFileError, match="not found"):
        dl.History.load(tmp_path / "missing.npz")


def test_loading_a_corrupted_file_raises(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"PK\x03\x04 this is not a zip archive")
    with pytest.raises(DataFileError, match="broken.npz"):
        dl.History.load(path)


def test_to_frame_columns(run):
    pd = pytest.importorskip("pandas")
    frame = run[0].to_frame()
    assert isinstance(frame, pd.DataFrame)
    expected = {
        f"{kind}.{name}.{layer}"
        for kind in ("weights", "biases")
        for name in STATISTICS
        for layer in ("0", "1", "total")
    } | {"training_cost", "training_accuracy", "evaluation_cost", "evaluation_accuracy"}
    assert set(frame.columns) == expected
    assert list(frame.index) == list(range(EPOCHS + 1))


def test_to_frame_values_follow_the_arrays(run):
    pytest.importorskip("pandas")
    hist = run[0]
    frame = hist.to_frame()
    assert np.array_equal(frame["weights.norm.1"].to_numpy(), hist.weights.norm[:, 1])
    assert np.array_equal(frame["biases.rms.total"].to_numpy(), hist.biases.total.rms)


# -- joining runs -------------------------------------------------------------------


def _in_order_run(net, data, epochs):
    return dl.train(net, data, epochs=epochs, batch_size=5, eta=0.5, lmbda=1.0, shuffle=False)


def test_concatenated_histories_equal_one_long_run(make_problem):
    data = make_problem(4, 3, 20)
    whole = _in_order_run(dl.Network([4, 5, 3], seed=0), data, 4)
    net = dl.Network([4, 5, 3], seed=0)
    first = _in_order_run(net, data, 2)
    second = _in_order_run(net, data, 2)
    second.epoch = second.epoch + 2  # the continuation starts where the first run ended
    joined = first.concatenate(second)
    expected, got = whole.to_arrays(), joined.to_arrays()
    assert expected.keys() == got.keys()
    assert all(np.array_equal(expected[k], got[k]) for k in expected if k != "settings_json")
    assert joined.settings["epochs"] == 4


def test_concatenating_a_run_that_does_not_continue_raises(make_problem):
    data = make_problem(4, 3, 20)
    first = _in_order_run(dl.Network([4, 5, 3], seed=0), data, 2)
    with pytest.raises(ValueError, match="later starts at epoch"):
        first.concatenate(first)


# -- comparing ------------------------------------------------------------------------

MONITORED_EPOCHS = 8


def _monitored_run(digits):
    X, y = digits.train
    net = dl.Network([64, 12, 10], init="large", seed=1)
    return dl.train(
        net, (X[:200], y[:200]), epochs=MONITORED_EPOCHS, batch_size=10, eta=0.5, lmbda=5.0,
        evaluation=digits.validation, seed=2,
        monitors=[dl.DecompositionMonitor(), dl.RotationMonitor()],
    )  # fmt: skip


@pytest.fixture(scope="module")
def monitored(digits):
    """An 8-epoch run with evaluation data and two monitors."""
    return _monitored_run(digits)


def test_the_same_run_twice_is_equal(digits, monitored):
    again = _monitored_run(digits)
    assert again is not monitored
    assert monitored.equals(again)
    assert monitored == again


def test_a_saved_and_loaded_history_equals_the_original(monitored, tmp_path):
    monitored.save(tmp_path / "h.npz")
    assert dl.History.load(tmp_path / "h.npz") == monitored


def _perturb_weights(h):
    h.weights.norm[3, 1] *= 1 + 1e-12


def _perturb_monitor(h):
    h.monitors["rotation"]["angle"][2, 0] += 1e-15


def _drop_metric(h):
    h.evaluation_cost = None


def _drop_monitor(h):
    del h.monitors["rotation"]


def _change_setting(h):
    h.settings["lmbda"] = 5.0000001


def _renumber(h):
    h.epoch = h.epoch + 1


# Each edit changes one part of a copy; exact comparison must notice it.
EDITS = [
    _perturb_weights,
    _perturb_monitor,
    _drop_metric,
    _drop_monitor,
    _change_setting,
    _renumber,
]


def _copy(h):
    return dl.History.from_arrays({k: np.array(v, copy=True) for k, v in h.to_arrays().items()})


@pytest.mark.parametrize("edit", EDITS)
def test_a_history_differing_in_one_place_is_not_equal(monitored, edit):
    other = _copy(monitored)
    edit(other)
    assert not monitored.equals(other)
    assert monitored != other


@pytest.mark.parametrize(
    ("rtol", "atol", "equal"),
    [(0.0, 0.0, False), (1e-9, 0.0, True), (1e-14, 0.0, False), (0.0, 1e-6, True)],
)
def test_equals_with_tolerances(monitored, rtol, atol, equal):
    other = _copy(monitored)
    _perturb_weights(other)  # a relative change of 1e-12 to one norm of about 10
    assert monitored.equals(other, rtol=rtol, atol=atol) is equal


def test_nan_in_the_same_place_is_equal(monitored):
    first, second = _copy(monitored), _copy(monitored)
    first.training_cost[-1] = second.training_cost[-1] = np.nan
    assert first == second
    assert first != monitored


@pytest.mark.parametrize("other", [None, 3, "history", {"epoch": [0, 1]}])
def test_a_history_is_not_equal_to_other_types(monitored, other):
    assert monitored != other
    assert not monitored.equals(other)


def test_histories_are_not_hashable(monitored):
    with pytest.raises(TypeError, match="unhashable"):
        hash(monitored)


def test_parameter_stats_compare_too(monitored):
    assert monitored.weights == _copy(monitored).weights
    assert monitored.weights != monitored.biases


@pytest.mark.parametrize(("rtol", "atol"), [(-1.0, 0.0), (0.0, float("nan"))])
def test_equals_rejects_bad_tolerances(monitored, rtol, atol):
    with pytest.raises(ValueError, match="rtol|atol"):
        monitored.equals(monitored, rtol=rtol, atol=atol)


# -- selecting epochs -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "stop", "epochs"),
    [
        (2, 6, [2, 3, 4, 5]),
        (0, 1, [0]),
        (None, 3, [0, 1, 2]),
        (5, None, [5, 6, 7, 8]),
        (-3, None, [6, 7, 8]),
        (1, -2, [1, 2, 3, 4, 5, 6]),
        (6, 100, [6, 7, 8]),
    ],
)
def test_select_keeps_the_epoch_numbers_in_the_window(monitored, start, stop, epochs):
    assert monitored.select(start, stop).epoch.tolist() == epochs
    assert monitored[start:stop].epoch.tolist() == epochs


@pytest.mark.parametrize("name", ["norm", "variance", "max_abs"])
def test_selected_statistics_are_the_rows_of_those_epochs(monitored, name):
    window = monitored[2:6]
    np.testing.assert_array_equal(window.weights[name], monitored.weights[name][2:6])
    np.testing.assert_array_equal(window.biases.total[name], monitored.biases.total[name][2:6])
    np.testing.assert_array_equal(window.evaluation_accuracy, monitored.evaluation_accuracy[2:6])


@pytest.mark.parametrize(
    ("monitor", "key"), [("decomposition", "contraction"), ("rotation", "angle")]
)
def test_selected_monitor_rows_are_the_epochs_trained_inside_the_window(monitored, monitor, key):
    # Row i of a record describes epoch i + 1 (from state i to state i + 1):
    # the window 2..5 holds the steps into epochs 3, 4 and 5.
    record = monitored.monitors[monitor][key]
    np.testing.assert_array_equal(monitored[2:6].monitors[monitor][key], record[[2, 3, 4]])


def test_a_selection_of_a_selection_is_the_selection(monitored):
    assert monitored[2:][3:6] == monitored[3:6]


def test_selections_sharing_their_boundary_concatenate_to_the_whole(monitored):
    assert monitored[:4].concatenate(monitored[3:]) == monitored


def test_the_whole_selection_equals_the_history(monitored):
    assert monitored[:] == monitored


def test_selection_records_the_epochs_it_spans(monitored):
    assert monitored[2:6].settings["epochs"] == 3
    assert monitored[2:6].n_epochs == 3


@pytest.mark.parametrize(
    ("index", "error", "match"),
    [
        (3, TypeError, r"indexed by a slice of epoch numbers"),
        (slice(0, 6, 2), ValueError, r"step 2"),
        (slice(20, 30), ValueError, r"selects no epoch; this history records epochs 0 to 8"),
        (slice(5, 5), ValueError, r"selects no epoch"),
        (slice(1.5, 3), TypeError, r"start=1.5 has type float"),
        (slice(None, "3"), TypeError, r"stop='3' has type str"),
    ],
)
def test_bad_selections_are_refused(monitored, index, error, match):
    with pytest.raises(error, match=match):
        monitored[index]


def test_a_monitor_record_without_a_row_per_epoch_cannot_be_selected(monitored):
    other = _copy(monitored)
    other.monitors["custom"] = {"scalar": np.array(3.0)}
    with pytest.raises(ValueError, match=r"monitors\['custom'\]\['scalar'\] has shape \(\)"):
        other[1:3]


# -- repr ----------------------------------------------------------------------------


def test_repr_is_one_line_with_the_settings(monitored):
    assert repr(monitored) == (
        "History(8 epochs, sizes=[64, 12, 10], eta=0.5, lmbda=5.0, batch_size=10, "
        "decay='sum', monitors=['decomposition', 'rotation'])"
    )


def test_repr_of_a_selection_names_its_epochs(monitored):
    assert repr(monitored[3:6]).startswith("History(epochs 3 to 5, sizes=[64, 12, 10]")
