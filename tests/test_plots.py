"""The plotting module: it draws from records, on the axes given, and never shows.

Run under the Agg backend; every drawing function must draw on the axes it
was given and return them (matplotlib's and seaborn's convention), and label
its axes.
"""

from __future__ import annotations

import dataclasses

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import decaylab as dl  # noqa: E402
import decaylab.plots as dp  # noqa: E402
from small_data import small_digits  # noqa: E402


@pytest.fixture(scope="module")
def records():
    small = small_digits(200, 100)
    return {
        "q1": dl.early_decay_dominance(small, lmbdas=(0.1, 5.0), epochs=3, seeds=2, hidden=8),
        "q2": dl.per_epoch_factor(
            small, etas=(0.5,), lmbdas=(5.0, 50.0), batch_sizes=(10, 30), seeds=2, hidden=8
        ),
        "q3": dl.equilibrium_size(
            small,
            widths=(4, 8, 16),
            seeds=2,
            epochs=8,
            lmbdas=(5.0, 10.0),
            ns=(100, 200),
            batch_sizes=(10, 20),
        ),
        "q4": dl.initialisation_comparison(small, hidden=8, epochs=3, seeds=2),
        "q5": dl.layer_movement(
            [small], hidden=8, lmbdas=(0.5, 5.0), reference_n=200, epochs=3, seeds=2
        ),
        "q6": dl.convention_transfer(
            small,
            widths=(4, 8),
            sum_lmbdas=(0.5, 4.0, 32.0),
            mean_lmbdas=(100.0, 1000.0, 10000.0),
            ns=(100, 200),
            transfer_lmbdas=(0.1, 1.0, 10.0),
            transfer_epochs=2,
            epochs=3,
            average_epochs=1,
            seeds=2,
        ),
    }


@pytest.fixture(autouse=True)
def no_show(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("plt.show() was called")

    monkeypatch.setattr(plt, "show", refuse)
    yield
    plt.close("all")


# (record, function, keyword arguments)
PANELS = [
    ("q1", dp.plot_decay_share, {}),
    ("q1", dp.plot_decay_share, {"layer": 0}),
    ("q2", dp.plot_factors, {}),
    ("q2", dp.plot_factor_error, {}),
    ("q3", dp.plot_weight_rms, {}),
    ("q3", dp.plot_weight_rms, {"width": 4}),
    ("q3", dp.plot_equilibrium_scaling, {}),
    ("q3", dp.plot_norm_against_width, {}),
    ("q3", dp.plot_equilibrium_sweep, {"against": "lmbda"}),
    ("q3", dp.plot_equilibrium_sweep, {"against": "n"}),
    ("q3", dp.plot_equilibrium_sweep, {"against": "batch_size"}),
    ("q4", dp.plot_layer_scale, {"layer": 1}),
    ("q4", dp.plot_learning_curves, {}),
    ("q5", dp.plot_layer_statistic, {"statistic": "norm"}),
    ("q5", dp.plot_layer_statistic, {"statistic": "sum", "condition": 1}),
    ("q6", dp.plot_lambda_scan, {"convention": "mean"}),
    ("q6", dp.plot_lambda_star, {}),
    ("q6", dp.plot_lambda_transfer, {}),
    ("q6", dp.plot_cost_against_lambda, {}),
    ("q6", dp.plot_transfer_loss, {}),
]
IDS = [f"{f.__name__}-{key}-{sorted(kw)}" for key, f, kw in PANELS]


@pytest.mark.parametrize("key, function, kwargs", PANELS, ids=IDS)
def test_panel_draws_on_the_given_axes_and_returns_them(records, key, function, kwargs):
    fig = Figure()
    ax = fig.add_subplot()
    returned = function(records[key], ax, **kwargs)
    assert returned is ax
    assert ax.lines or ax.collections or ax.patches


@pytest.mark.parametrize("key, function, kwargs", PANELS, ids=IDS)
def test_panel_labels_its_axes(records, key, function, kwargs):
    fig = Figure()
    ax = fig.add_subplot()
    function(records[key], ax, **kwargs)
    assert ax.get_xlabel() and ax.get_ylabel()


def test_panel_without_axes_uses_the_current_ones(records):
    fig, ax = plt.subplots()
    returned = dp.plot_learning_curves(records["q4"])
    assert returned is ax and ax.lines


@pytest.mark.parametrize("key", ["q1", "q2", "q3", "q4", "q5", "q6"])
def test_figure_for_every_record_saves_a_png(records, key, tmp_path):
    fig = dp.figure_for(records[key])
    assert isinstance(fig, Figure)
    path = tmp_path / f"{key}.png"
    fig.savefig(path, dpi=60, bbox_inches="tight")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_figure_for_refuses_other_objects():
    with pytest.raises(TypeError, match="result has type dict"):
        dp.figure_for({})


def test_sweep_panel_refuses_unknown_axis(records):
    with pytest.raises(ValueError, match="against='eta'"):
        dp.plot_equilibrium_sweep(records["q3"], Figure().add_subplot(), against="eta")


def test_scaling_panel_draws_the_fitted_slope(records):
    ax = Figure().add_subplot()
    dp.plot_equilibrium_scaling(records["q3"], ax)
    fit = records["q3"].fit
    line = next(line for line in ax.get_lines() if line.get_label().startswith("fit"))
    x, y = line.get_data()
    slope = np.polyfit(np.log(x), np.log(y), 1)[0]
    assert slope == pytest.approx(fit.exponent)


def test_weight_rms_panel_draws_the_reference_levels(records):
    ax = Figure().add_subplot()
    dp.plot_weight_rms(records["q3"], ax, width=8)
    n_w = 8 * (64 + 10)
    levels = sorted(
        line.get_ydata()[0] for line in ax.get_lines() if line.get_label().startswith("1/")
    )
    expected = sorted([1 / n_w, 1 / np.sqrt(n_w), 1 / np.sqrt(64), 1 / np.sqrt(8)])
    assert levels == pytest.approx(expected)


def test_dominance_figure_puts_one_legend_of_every_condition_beneath_the_panels(records):
    fig = dp.figure_for(records["q1"])
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    assert len(legends) == 1 and not legends[0].axes.axison
    result = records["q1"]
    expected = [f"{i} init, λ = {lm:g}" for i, lm in zip(result.inits, result.lmbdas)]
    assert [t.get_text() for t in legends[0].get_texts()] == [*expected, "threshold"]


@pytest.mark.parametrize(
    ("limits", "labelled"),
    [
        ((0.6, 2.0), [0.6, 0.7, 0.8, 0.9, 2.0]),  # half a decade: every minor tick
        ((0.1, 3.0), [0.2, 0.3, 0.5, 2.0, 3.0]),  # about 1.5 decades: 2, 3 and 5
        ((0.05, 20.0), [0.05, 0.2, 0.5, 2.0, 5.0, 20.0]),  # 2.6 decades: 2 and 5
        ((1e-3, 10.0), []),  # 4 decades: the powers of ten only
    ],
)
def test_log_axis_labels_as_many_minor_ticks_as_fit(limits, labelled):
    from decaylab.plots._helpers import plain_log

    ax = Figure().add_subplot()
    ax.set_yscale("log")
    ax.set_ylim(*limits)
    plain_log(ax, "y")
    ticks = ax.yaxis.get_minor_locator()()
    formatter = ax.yaxis.get_minor_formatter()
    shown = [t for t in ticks if limits[0] <= t <= limits[1] and formatter(t)]
    assert shown == pytest.approx(labelled)


def _sweeps_removed(result, names):
    # A sweep held as a typed record (Q6's size_scan) is None when absent; the others are empty.
    empty = {name: None if name == "size_scan" else np.array([]) for name in names}
    return dataclasses.replace(result, **empty)


@pytest.mark.parametrize(
    ("key", "removed", "panels"),
    [
        ("q3", (), 6),  # three panels of the widths, one per sweep (λ, n, m)
        ("q3", ("batch_sizes",), 5),
        ("q3", ("lmbdas", "ns", "batch_sizes"), 3),
        ("q6", (), 6),
        ("q6", ("size_scan",), 3),
    ],
)
def test_figures_leave_out_the_panels_of_sweeps_the_record_lacks(records, key, removed, panels):
    fig = dp.figure_for(_sweeps_removed(records[key], removed))
    assert len(fig.axes) == panels
    assert all(ax.axison for ax in fig.axes)


def test_weight_rms_panel_ends_at_the_last_epoch_trained(records):
    ax = Figure().add_subplot()
    result = records["q3"]
    dp.plot_weight_rms(result, ax)
    index = len(result.widths) // 2
    trained = np.flatnonzero(np.isfinite(result.total_rms[index]).any(axis=0))
    assert ax.get_xlim()[1] == result.epoch[trained[-1]]


def test_scaling_panel_draws_the_mnist_runs_and_their_fit_beside_the_digits(records):
    import dataclasses

    n_weights = np.array([10, 30, 100]) * 794
    rms = np.outer(n_weights**-0.5, [1.0, 1.1])  # two seeds on an exact 1/√n_w law
    fit = dl.fit_power_law(np.repeat(n_weights, 2), rms.ravel(), variable="n_w")
    record = dataclasses.replace(
        records["q3"],
        mnist_widths=np.array([10, 30, 100]),
        mnist_n_weights=n_weights,
        mnist_equilibrium_rms=rms,
        mnist_reached=np.ones_like(rms, dtype=bool),
        mnist_fit=fit,
    )
    ax = Figure().add_subplot()
    dp.plot_equilibrium_scaling(record, ax)
    line = next(line for line in ax.get_lines() if "MNIST" in line.get_label())
    x, y = line.get_data()
    assert np.polyfit(np.log(x), np.log(y), 1)[0] == pytest.approx(-0.5)
    points = [c for c in ax.collections if "MNIST" in c.get_label()]
    assert len(points[0].get_offsets()) == 6
