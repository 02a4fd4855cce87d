"""Figures of any run: each draws the numbers it says, checked against values computed here.

The per-layer statistics are recomputed from the network's weights before
and after training, the pure-decay line from (1 − ηλ/n)^⌈n/m⌉, the budget's
sum from the change of ‖w‖² that the History measured, and the reference
sizes from the layer sizes.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import decaylab as dl  # noqa: E402
import decaylab.plots as dp  # noqa: E402

SIZES = [64, 8, 10]
SETTINGS = {"epochs": 6, "batch_size": 30, "eta": 0.5, "lmbda": 5.0}
N = 200  # 200/30 is not whole: the epoch has ⌈n/m⌉ = 7 steps, the last one shorter


@pytest.fixture(scope="module")
def small(digits):
    return dl.Split(digits.train.X[:N], digits.train.y[:N])


@pytest.fixture(scope="module")
def run(small):
    """A trained run with its weights before and after, and a decomposition record."""
    net = dl.Network(SIZES, init="large", seed=0)
    before = [w.copy() for w in net.weights]
    history = dl.train(
        net, small, **SETTINGS, monitors=[dl.DecompositionMonitor()], evaluation=small, seed=0
    )
    return SimpleNamespace(history=history, before=before, after=[w.copy() for w in net.weights])


@pytest.fixture
def ax():
    return Figure().add_subplot()


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# Each statistic computed with NumPy from the flattened weights.
STATISTICS = {
    "norm": lambda w: np.sqrt(np.sum(w**2)),
    "rms": lambda w: np.sqrt(np.mean(w**2)),
    "mean_abs": lambda w: np.mean(np.abs(w)),
    "l1": lambda w: np.sum(np.abs(w)),
    "sum": np.sum,
    "variance": np.var,
    "max_abs": lambda w: np.max(np.abs(w)),
}


def _line(ax, label_start: str):
    return next(line for line in ax.get_lines() if str(line.get_label()).startswith(label_start))


def _pooled(weights):
    return np.concatenate([w.ravel() for w in weights])


@pytest.mark.parametrize("squared", [False, True])
@pytest.mark.parametrize("statistic", sorted(STATISTICS))
def test_history_lines_are_the_statistic_before_and_after_training(run, ax, statistic, squared):
    dp.plot_history(run.history, statistic, ax=ax, squared=squared, equilibrium=False)
    power = 2 if squared else 1
    f = STATISTICS[statistic]
    for layer in range(len(SIZES) - 1):
        y = _line(ax, f"layer {layer} ").get_ydata()
        assert y[0] == pytest.approx(f(run.before[layer]) ** power, rel=1e-12)
        assert y[-1] == pytest.approx(f(run.after[layer]) ** power, rel=1e-12)
    y = _line(ax, "all weights").get_ydata()
    assert y[0] == pytest.approx(f(_pooled(run.before)) ** power, rel=1e-10)
    assert y[-1] == pytest.approx(f(_pooled(run.after)) ** power, rel=1e-10)


@pytest.mark.parametrize(
    ("statistic", "squared", "power"),
    [("norm", False, 1), ("norm", True, 2), ("rms", False, 1), ("variance", False, 2)],
)
def test_pure_decay_line_is_the_exact_epoch_factor_to_the_epoch(run, ax, statistic, squared, power):
    dp.plot_history(run.history, statistic, ax=ax, squared=squared, equilibrium=False)
    eta, lmbda, m = SETTINGS["eta"], SETTINGS["lmbda"], SETTINGS["batch_size"]
    factor = (1 - eta * lmbda / N) ** math.ceil(N / m)
    start = STATISTICS[statistic](_pooled(run.before)) ** (2 if squared else 1)
    x, y = _line(ax, "pure decay").get_data()
    np.testing.assert_allclose(x, np.arange(SETTINGS["epochs"] + 1))
    np.testing.assert_allclose(y, start * factor ** (power * x), rtol=1e-10)


def test_pure_decay_line_of_a_window_starts_at_its_first_epoch(run, ax):
    dp.plot_history(run.history[3:7], ax=ax, equilibrium=False)
    factor = (1 - SETTINGS["eta"] * SETTINGS["lmbda"] / N) ** math.ceil(N / SETTINGS["batch_size"])
    start = np.sqrt((run.history.weights.norm[3] ** 2).sum())
    x, y = _line(ax, "pure decay").get_data()
    np.testing.assert_allclose(y, start * factor ** (x - 3), rtol=1e-12)


def test_pure_decay_line_is_drawn_per_layer_when_the_pooled_weights_are_not(run, ax):
    dp.plot_history(run.history, "norm", ax=ax, pooled=False, references=False, equilibrium=False)
    decay = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    starts = sorted(line.get_ydata()[0] for line in decay)
    assert starts == pytest.approx(sorted(np.linalg.norm(w) for w in run.before))


N_W = 64 * 8 + 8 * 10


@pytest.mark.parametrize(
    ("statistic", "squared", "expected"),
    [
        # One weight's size: 1/√n_w and 1/n_w pooled, 1/√n_in per layer.
        ("rms", False, [1 / math.sqrt(N_W), 1 / N_W, 1 / math.sqrt(64), 1 / math.sqrt(8)]),
        # The norm at those sizes, size·√count: 1, 1/√n_w, and √n_out per layer.
        ("norm", False, [1.0, 1 / math.sqrt(N_W), math.sqrt(8), math.sqrt(10)]),
        ("norm", True, [1.0, 1 / N_W, 8.0, 10.0]),
    ],
)
def test_reference_levels_are_the_candidate_sizes(run, ax, statistic, squared, expected):
    dp.plot_history(
        run.history, statistic, ax=ax, squared=squared, equilibrium=False, references=True
    )
    levels = [line.get_ydata()[0] for line in ax.get_lines() if "1/" in str(line.get_label())]
    assert sorted(levels) == pytest.approx(sorted(expected))


def test_reference_levels_are_off_by_default_for_other_statistics(run, ax):
    dp.plot_history(run.history, "l1", ax=ax, equilibrium=False)
    assert not [line for line in ax.get_lines() if "1/" in str(line.get_label())]


def test_equilibrium_span_starts_at_the_given_epoch(run, ax):
    found = SimpleNamespace(reached=True, epoch=2)
    dp.plot_history(run.history, ax=ax, equilibrium=found)
    span = next(artist for artist in ax.patches if "equilibrium" in str(artist.get_label()))
    extent = span.get_extents().transformed(ax.transData.inverted())
    assert (extent.x0, extent.x1) == pytest.approx((2, SETTINGS["epochs"]))


def test_an_equilibrium_not_reached_is_said_not_drawn(run, ax):
    dp.plot_history(run.history, ax=ax, equilibrium=SimpleNamespace(reached=False))
    assert [a.get_text() for a in ax.texts] == ["no equilibrium detected"]


def test_equilibrium_true_marks_what_find_equilibrium_finds(run, ax):
    found = dl.find_equilibrium(run.history)
    dp.plot_history(run.history, ax=ax)
    texts = list(ax.texts)
    spans = [a for a in ax.patches if "equilibrium from epoch" in str(a.get_label())]
    if found.reached:
        assert spans[0].get_label() == f"equilibrium from epoch {found.epoch}" and not texts
    else:
        assert texts and not spans


def _refuse(history):
    raise ValueError("the run's relaxation time is inf; expected relaxation_epochs=")


def test_a_run_the_detector_cannot_test_is_said_on_the_figure(run, ax, monkeypatch):
    monkeypatch.setattr("decaylab.plots.run.find_equilibrium", _refuse)
    dp.plot_history(run.history, ax=ax)
    notes = [a.get_text() for a in ax.texts]
    assert notes == ["equilibrium not tested: the run's relaxation time is inf"]


def test_equilibrium_true_raises_when_the_detector_cannot_test_the_run(run, ax, monkeypatch):
    monkeypatch.setattr("decaylab.plots.run.find_equilibrium", _refuse)
    with pytest.raises(ValueError, match="equilibrium=True, but find_equilibrium"):
        dp.plot_history(run.history, ax=ax, equilibrium=True)


def test_a_run_without_decay_predicts_a_flat_line(small, ax):
    history = dl.train(
        dl.Network(SIZES, seed=0), small, epochs=2, batch_size=50, eta=0.5, lmbda=0.0
    )
    dp.plot_history(history, ax=ax)
    assert _line(ax, "pure decay").get_ydata() == pytest.approx(history.weights.total.norm[0])


def test_history_without_axes_draws_on_the_current_ones(run):
    fig, ax = plt.subplots()
    returned = dp.plot_history(run.history, equilibrium=False)
    assert returned is ax and ax.lines


@pytest.mark.parametrize("statistic", ["norm", "rms", "sum"])
def test_history_draws_linear_for_the_sum_and_log_otherwise(run, ax, statistic):
    dp.plot_history(run.history, statistic, ax=ax, equilibrium=False)
    assert ax.get_yscale() == ("linear" if statistic == "sum" else "log")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"statistic": "size"}, ValueError, "statistic='size'"),
        ({"layers": [2]}, ValueError, "layers"),
        ({"layers": 0}, TypeError, "layers=0"),
        ({"statistic": "l1", "references": True}, ValueError, "references=True"),
        ({"equilibrium": "yes"}, TypeError, "equilibrium='yes'"),
        ({"equilibrium": 1}, TypeError, "equilibrium=1"),
        ({"squared": 1}, TypeError, "squared=1"),
        ({"ax": "left"}, TypeError, "ax has type str"),
    ],
)
def test_history_refuses_bad_arguments(run, kwargs, error, match):
    kwargs = {"ax": Figure().add_subplot(), **kwargs}
    with pytest.raises(error, match=match):
        dp.plot_history(run.history, **kwargs)


def test_history_refuses_what_is_not_a_history():
    with pytest.raises(TypeError, match="history has type dict"):
        dp.plot_history({}, ax=Figure().add_subplot())


def test_prediction_needs_the_recorded_multiplier(run, ax):
    settings = {k: v for k, v in run.history.settings.items() if k != "multiplier"}
    bare = dl.History(run.history.epoch, run.history.weights, run.history.biases, settings=settings)
    with pytest.raises(ValueError, match="multiplier"):
        dp.plot_history(bare, ax=ax, equilibrium=False)


# ----------------------------------------------------------------------------- budget


@pytest.mark.parametrize("layer", [None, 0, 1])
def test_budget_sum_is_the_measured_change_of_the_squared_norm(run, ax, layer):
    dp.plot_budget(run.history, ax=ax, layer=layer)
    norms = run.history.weights.norm
    squared = (norms**2).sum(axis=1) if layer is None else norms[:, layer] ** 2
    x, y = _line(ax, "Δ‖w‖²").get_data()
    np.testing.assert_array_equal(x, np.arange(1, SETTINGS["epochs"] + 1))
    np.testing.assert_allclose(y, np.diff(squared), rtol=1e-9, atol=1e-9 * squared.max())


def test_budget_of_a_window_of_the_run_draws_that_window(run, ax):
    window = run.history[2:5]
    dp.plot_budget(window, ax=ax)
    x, y = _line(ax, "Δ‖w‖²").get_data()
    np.testing.assert_array_equal(x, [3, 4])
    squared = (run.history.weights.norm[2:5] ** 2).sum(axis=1)
    np.testing.assert_allclose(y, np.diff(squared), rtol=1e-9)


def test_budget_relative_terms_are_divided_by_the_squared_norm_at_the_epoch_start(run, ax):
    dp.plot_budget(run.history, ax=ax, layer=1, relative=True)
    squared = run.history.weights.norm[:, 1] ** 2
    y = _line(ax, "Δ‖w‖²").get_ydata()
    np.testing.assert_allclose(y, np.diff(squared) / squared[:-1], rtol=1e-9, atol=1e-12)


def test_budget_contraction_under_pure_decay_is_the_exact_multiplier(run, ax):
    # Relative contraction of the first step alone is d² − 1; over an epoch of
    # 7 steps, Σ(d²−1)‖w_t‖²/‖w_0‖², which with ‖w_t‖² ≈ d^{2t}‖w_0‖² (the
    # gradient is small at the large initialisation) is about d^{14} − 1.
    dp.plot_budget(run.history, ax=ax, relative=True)
    d = 1 - SETTINGS["eta"] * SETTINGS["lmbda"] / N
    first = _line(ax, "contraction").get_ydata()[0]
    assert first == pytest.approx(d ** (2 * 7) - 1, rel=0.05)


@pytest.mark.parametrize("layer", [0, 1])
def test_budget_share_of_a_layer_is_decay_share(run, ax, layer):
    returned = dp.plot_budget(run.history, ax=ax, layer=layer)
    share = next(a for a in returned.right_ax.lines if a.get_label() == "decay share (right)")
    np.testing.assert_allclose(share.get_ydata(), dl.decay_share(run.history)[:, layer])
    assert share.axes is not ax and share.axes.get_ylim()[0] == 0
    assert share.axes.get_ylim()[1] >= 1


def test_budget_share_of_all_weights_pools_the_terms(run, ax):
    dp.plot_budget(run.history, ax=ax)
    record = run.history.monitors["decomposition"]
    c, r, v = (record[key].sum(axis=1) for key in ("contraction", "radial", "noise"))
    share = next(a for a in ax.right_ax.lines if a.get_label() == "decay share (right)")
    np.testing.assert_allclose(share.get_ydata(), -c / (-c + np.abs(r) + v))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"layer": 2}, ValueError, "layer"),
        ({"yscale": "log"}, ValueError, "yscale='log'"),
        ({"relative": "yes"}, TypeError, "relative='yes'"),
    ],
)
def test_budget_refuses_bad_arguments(run, ax, kwargs, error, match):
    with pytest.raises(error, match=match):
        dp.plot_budget(run.history, ax=ax, **kwargs)


def test_budget_needs_a_decomposition_record(small, ax):
    history = dl.train(
        dl.Network(SIZES, seed=0), small, epochs=1, batch_size=50, eta=0.5, lmbda=1.0, seed=0
    )
    with pytest.raises(ValueError, match="DecompositionMonitor"):
        dp.plot_budget(history, ax=ax)


# ----------------------------------------------------------------------------- several runs


@pytest.fixture(scope="module")
def runs(small):
    return [
        dl.train(
            dl.Network(SIZES, seed=0), small, epochs=3, batch_size=50, eta=0.5, lmbda=lmbda, seed=0
        )
        for lmbda in (0.5, 5.0)
    ]


def test_histories_draw_one_line_per_run_labelled_by_what_differs(runs, ax):
    drawn = dp.plot_histories(runs, ax=ax).lines
    assert [line.get_label() for line in drawn] == ["lmbda=0.5", "lmbda=5"]
    for line, history in zip(drawn, runs):
        np.testing.assert_allclose(
            line.get_ydata(), np.sqrt((history.weights.norm**2).sum(axis=1)), rtol=1e-12
        )


def test_histories_draw_a_metric_with_the_given_labels(runs, ax):
    drawn = dp.plot_histories(runs, ["small", "large"], "training_accuracy", ax=ax).lines
    assert [line.get_label() for line in drawn] == ["small", "large"]
    np.testing.assert_array_equal(drawn[1].get_ydata(), runs[1].training_accuracy)
    assert ax.get_yscale() == "linear"


def test_histories_of_one_layer_squared(runs, ax):
    drawn = dp.plot_histories(runs, statistic="norm", layer=1, squared=True, ax=ax).lines
    np.testing.assert_allclose(drawn[0].get_ydata(), runs[0].weights.norm[:, 1] ** 2)


def test_histories_against_relaxation_time_divide_each_epoch_by_its_tau(runs, ax):
    drawn = dp.plot_histories(runs, ax=ax, time="relaxation").lines
    for line, lmbda in zip(drawn, (0.5, 5.0)):
        tau = -1 / math.log((1 - 0.5 * lmbda / N) ** math.ceil(N / 50))
        np.testing.assert_allclose(line.get_xdata(), np.arange(4) / tau, rtol=1e-12)


def test_histories_against_relaxation_time_refuse_a_run_without_decay(runs, small, ax):
    flat = dl.train(dl.Network(SIZES, seed=0), small, epochs=1, batch_size=50, eta=0.5, seed=0)
    with pytest.raises(ValueError, match=r"histories\[1\] decays by a factor 1"):
        dp.plot_histories([runs[0], flat], ax=ax, time="relaxation")


def test_histories_of_identical_settings_are_numbered(runs, ax):
    drawn = dp.plot_histories([runs[0], runs[0]], ax=ax).lines
    assert [line.get_label() for line in drawn] == ["run 0", "run 1"]


@pytest.mark.parametrize(
    ("histories", "kwargs", "error", "match"),
    [
        ("one", {}, TypeError, "histories has type History"),
        ("text", {}, TypeError, "histories has type str"),
        ("empty", {}, ValueError, "histories is empty"),
        ("with None", {}, TypeError, r"histories\[1\] is None"),
        ("two", {"labels": ["a"]}, ValueError, "labels has 1 entries"),
        ("two", {"labels": "ab"}, TypeError, "labels has type str"),
        ("two", {"statistic": "evaluation_cost"}, ValueError, r"histories\[0\] did not record"),
        ("two", {"statistic": "training_cost", "layer": 0}, ValueError, "layer=None"),
        ("two", {"layer": 3}, ValueError, "layer"),
        ("two", {"time": "step"}, ValueError, "time='step'"),
    ],
)
def test_histories_refuse_bad_arguments(runs, ax, histories, kwargs, error, match):
    given = {"one": runs[0], "text": "ab", "empty": [], "with None": [runs[0], None], "two": runs}[
        histories
    ]
    with pytest.raises(error, match=match):
        dp.plot_histories(given, ax=ax, **kwargs)


def test_many_histories_take_their_colours_in_order_from_viridis(runs, ax):
    drawn = dp.plot_histories([runs[0]] * 12, ax=ax, legend=False).lines
    colours = [matplotlib.colors.to_rgba(line.get_color()) for line in drawn]
    assert colours[0] == pytest.approx(matplotlib.colormaps["viridis"](0.0))
    assert colours[-1] == pytest.approx(matplotlib.colormaps["viridis"](0.9))


def test_pure_decay_line_of_a_momentum_run_follows_the_slower_root(small, ax):
    beta = 0.9
    net = dl.Network(SIZES, init="large", seed=0)
    history = dl.train(net, small, **{**SETTINGS, "eta": 0.05}, seed=0, optimizer=dl.Momentum(beta))
    dp.plot_history(history, "norm", ax=ax, equilibrium=False, references=False)
    a = 0.05 * SETTINGS["lmbda"] / N
    # r² − (1 + β − a)·r + β = 0, the larger root; real for these a and β
    b = 1 + beta - a
    root = (b + math.sqrt(b * b - 4 * beta)) / 2
    x, y = _line(ax, "pure decay").get_data()
    np.testing.assert_allclose(y, y[0] * root ** (math.ceil(N / SETTINGS["batch_size"]) * x))


def test_adam_with_l2_has_no_pure_decay_line_to_draw(small, ax):
    net = dl.Network(SIZES, init="large", seed=0)
    history = dl.train(net, small, **{**SETTINGS, "eta": 0.005}, seed=0, optimizer="adam")
    with pytest.raises(ValueError, match="no fixed prediction"):
        dp.plot_history(history, "norm", ax=ax, equilibrium=False)
    returned = dp.plot_history(history, "norm", ax=ax, equilibrium=False, prediction=False)
    assert returned is ax and ax.lines


# ----------------------------------------------------------------------------- conventions


def test_plot_history_returns_the_axes_whose_figure_saves(run, tmp_path):
    # A notebook's first call: no axes given, then save what came back.
    plt.figure()
    ax = dl.plots.plot_history(run.history)
    ax.figure.savefig(tmp_path / "run.png")
    assert isinstance(ax, matplotlib.axes.Axes)
    assert (tmp_path / "run.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("relative", [False, True])
def test_budget_legend_lies_inside_a_plain_figure(run, relative):
    fig, ax = plt.subplots()
    dp.plot_budget(run.history, ax=ax, relative=relative)
    fig.canvas.draw()
    box = ax.get_legend().get_window_extent()
    figure = fig.bbox
    assert (box.x0, box.y0) >= (figure.x0, figure.y0)
    assert box.x1 <= figure.x1 and box.y1 <= figure.y1


def test_budget_legend_covers_none_of_the_drawn_points(run):
    fig, ax = plt.subplots()
    dp.plot_budget(run.history, ax=ax)
    fig.canvas.draw()
    box = ax.get_legend().get_window_extent()
    lines = [*ax.lines, *ax.right_ax.lines]
    points = np.concatenate([line.get_transform().transform(line.get_xydata()) for line in lines])
    points = points[np.isfinite(points).all(axis=1)]
    inside = (points[:, 0] > box.x0) & (points[:, 0] < box.x1)
    inside &= (points[:, 1] > box.y0) & (points[:, 1] < box.y1)
    assert not inside.any()


def _reference_lines(ax):
    return [line for line in ax.get_lines() if "1/" in str(line.get_label())]


def test_rms_references_outside_the_data_are_left_out_by_default(run, ax):
    dp.plot_history(run.history, "rms", ax=ax, equilibrium=False, prediction=False)
    data = np.concatenate([run.history.weights.rms.ravel(), run.history.weights.total.rms])
    # The candidate levels computed here: 1/n_w, 1/√n_w, and 1/√n_in of each layer.
    candidates = [1 / N_W, 1 / math.sqrt(N_W), 1 / math.sqrt(64), 1 / math.sqrt(8)]
    inside = [v for v in candidates if data.min() <= v <= data.max()]
    drawn = [line.get_ydata()[0] for line in _reference_lines(ax)]
    assert sorted(drawn) == pytest.approx(sorted(inside))
    assert ax.get_ylim()[0] >= data.min() / 1.6 * (1 - 1e-9)


def test_rms_references_false_draws_none(run, ax):
    dp.plot_history(run.history, "rms", ax=ax, equilibrium=False, references=False)
    assert _reference_lines(ax) == []
