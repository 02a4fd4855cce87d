"""Window summaries: means and AR(1)-corrected standard errors, computed here by hand."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl


@pytest.fixture(scope="module")
def run(digits):
    X, y = digits.train
    net = dl.Network([64, 12, 10], init="large", seed=1)
    return dl.train(
        net, (X[:200], y[:200]), epochs=12, batch_size=10, eta=0.5, lmbda=5.0, seed=2,
        monitors=[dl.DecompositionMonitor()],
    )  # fmt: skip


def _mean_and_error(x):
    """The AR(1) effective-sample-size standard error, written out for a 1-D series."""
    x = np.asarray(x, dtype=float)
    t = len(x)
    mean = sum(x) / t
    d = [v - mean for v in x]
    s2 = sum(v * v for v in d) / (t - 1)
    rho = sum(d[i] * d[i + 1] for i in range(t - 1)) / sum(v * v for v in d)
    rho = min(max(rho, 0.0), 0.99)
    return mean, np.sqrt(s2 / (t * (1 - rho) / (1 + rho)))


@pytest.mark.parametrize(
    ("name", "series"),
    [
        ("weights.norm", lambda h: h.weights.norm[4:10, 1]),
        ("weights.rms.total", lambda h: h.weights.total.rms[4:10]),
        ("biases.variance", lambda h: h.biases.variance[4:10, 1]),
        ("training_cost", lambda h: h.training_cost[4:10]),
        # epochs 5..9 trained inside the window: record rows 4..8
        ("monitors.decomposition.noise", lambda h: h.monitors["decomposition"]["noise"][4:9, 1]),
    ],
)
def test_mean_and_standard_error_over_the_window(run, name, series):
    window = dl.summarise(run, 4, 10)
    mean, error = window[name]
    expected_mean, expected_error = _mean_and_error(series(run))
    assert np.ravel(mean)[-1] == pytest.approx(expected_mean, rel=1e-12)
    assert np.ravel(error)[-1] == pytest.approx(expected_error, rel=1e-9)


def test_the_standard_error_allows_for_autocorrelation(run):
    # Norms still decaying are strongly correlated: the error exceeds s/√T.
    values = run.weights.norm[4:10, 0]
    naive = values.std(ddof=1) / np.sqrt(len(values))
    assert dl.summarise(run, 4, 10)["weights.norm"][1][0] > 1.5 * naive


def test_window_bounds_and_rows(run):
    window = dl.summarise(run, -5)
    assert (window.first_epoch, window.last_epoch, window.rows) == (8, 12, 5)


def test_a_window_of_two_epochs_has_no_standard_error(run):
    mean, error = dl.summarise(run, 3, 5)["weights.norm.total"]
    assert mean == pytest.approx(run.weights.total.norm[3:5].mean())
    assert np.isnan(error)


def test_a_one_epoch_window_has_no_monitor_mean(run):
    mean, _ = dl.summarise(run, 3, 4)["monitors.decomposition.radial"]
    assert mean.shape == (2,) and np.isnan(mean).all()


def test_every_statistic_and_layer_is_in_the_table(run):
    header, rows = dl.summarise(run).table()
    assert header == ["record", "layer", "mean", "standard error"]
    assert ["weights.norm", "1"] in [row[:2] for row in rows]
    assert ["biases.max_abs", "total"] in [row[:2] for row in rows]


def test_unknown_record_names_the_known_ones(run):
    with pytest.raises(KeyError, match="weights.norm"):
        dl.summarise(run)["weights.median"]


def test_summarise_refuses_what_is_not_a_history():
    with pytest.raises(TypeError, match="history has type dict"):
        dl.summarise({"epoch": [0, 1]})


def test_repr_is_compact(run):
    assert repr(dl.summarise(run, 2, 6)).startswith("WindowSummary(epochs 2 to 5, 4 rows, ")


def test_a_monitor_row_past_the_last_epoch_is_not_averaged(run):
    # As a diverged run leaves it: the monitor recorded the epoch the History dropped.
    arrays = {k: np.array(v, copy=True) for k, v in run.to_arrays().items()}
    noise = arrays["monitors.decomposition.noise"]
    arrays["monitors.decomposition.noise"] = np.vstack([noise, np.full((1, 2), 1e300)])
    mean, _ = dl.summarise(dl.History.from_arrays(arrays), 6)["monitors.decomposition.noise"]
    np.testing.assert_allclose(mean, noise[6:12].mean(axis=0), rtol=1e-12)


@pytest.mark.parametrize(
    ("name", "series"),
    [
        ("weights.rms.0", lambda h: h.weights.rms[4:10, 0]),
        ("weights.rms.1", lambda h: h.weights.rms[4:10, 1]),
        ("biases.norm.1", lambda h: h.biases.norm[4:10, 1]),
        (
            "monitors.decomposition.contraction.0",
            lambda h: h.monitors["decomposition"]["contraction"][4:9, 0],
        ),
    ],
)
def test_one_layer_of_a_record_by_its_index(run, name, series):
    mean, error = dl.summarise(run, 4, 10)[name]
    expected_mean, expected_error = _mean_and_error(series(run))
    assert isinstance(mean, float) and isinstance(error, float)
    assert mean == pytest.approx(expected_mean, rel=1e-12)
    assert error == pytest.approx(expected_error, rel=1e-9)


@pytest.mark.parametrize(
    ("name", "match"), [("weights.rms.2", "layers 0 to 1"), ("weights.size.0", "weights.rms.0")]
)
def test_a_layer_out_of_range_or_an_unknown_record_is_named(run, name, match):
    with pytest.raises(KeyError, match=match):
        dl.summarise(run)[name]
