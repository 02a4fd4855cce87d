"""The figure of experiment 7 draws exactly the numbers of its record."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from decaylab.experiments.q7_optimizers import optimizer_comparison  # noqa: E402
from decaylab.plots import figure_for  # noqa: E402
from decaylab.plots.q7_optimizers import (  # noqa: E402
    plot_adam_layers,
    plot_optimizer_equilibrium,
    plot_optimizer_factors,
    plot_optimizer_transfer,
)


@pytest.fixture(scope="module")
def result():
    return optimizer_comparison(
        hidden=8,
        seeds=2,
        equilibrium_n=100,
        max_relaxations=12.0,
        average_epochs=1,
        ns=(100, 200),
        transfer_timescales=(2.0, 8.0, 32.0),
        transfer_epochs=2,
    )


def _axes():
    return Figure().subplots()


def test_factor_panel_plots_every_measured_factor(result):
    ax = _axes()
    plot_optimizer_factors(result, ax)
    drawn = np.sort(np.concatenate([c.get_offsets()[:, 1] for c in ax.collections]))
    want = np.concatenate(
        [
            np.concatenate([result.factor_measured[r].T.ravel() for r in result.rules]),
            [np.nanmean(result.factor_predicted[r][:, l]) for r in result.rules for l in (0, 1)],
        ]
    )
    np.testing.assert_allclose(drawn, np.sort(want))


def test_equilibrium_panel_draws_the_seed_mean_per_rule(result):
    ax = _axes()
    plot_optimizer_equilibrium(result, ax)
    lines = {line.get_label().split(":")[0]: line for line in ax.get_lines()}
    line = lines["AdamW"]
    np.testing.assert_allclose(line.get_xdata(), result.equilibrium_lmbda["adamw"])
    np.testing.assert_allclose(
        line.get_ydata(), np.nanmean(result.equilibrium_norm2["adamw"], axis=1)
    )
    assert ax.get_xscale() == ax.get_yscale() == "log"


def test_layer_panel_bars_are_the_seed_means(result):
    ax = _axes()
    bars = plot_adam_layers(result, ax).containers
    heights = [rect.get_height() for rect in bars[0]]
    np.testing.assert_allclose(heights, np.nanmean(result.adam_ratio, axis=0))


def test_transfer_panel_marks_lambda_star_of_the_largest_n(result):
    ax = _axes()
    plot_optimizer_transfer(result, ax)
    star = np.exp(np.mean(np.log(result.transfer_lambda_star[-1])))
    dotted = [line for line in ax.get_lines() if line.get_label() == "λ* at the largest n"]
    assert dotted and dotted[0].get_xdata()[0] == pytest.approx(star)


def test_transfer_panel_draws_the_seed_mean_validation_cost_per_n(result):
    ax = _axes()
    plot_optimizer_transfer(result, ax)
    lines = {line.get_label(): line for line in ax.get_lines()}
    for i, n in enumerate(result.ns):
        np.testing.assert_allclose(lines[f"n = {n}"].get_xdata(), result.transfer_lmbda)
        np.testing.assert_allclose(
            lines[f"n = {n}"].get_ydata(), result.transfer_cost[i].mean(axis=0)
        )


def test_figure_for_draws_the_record(result, tmp_path):
    fig = figure_for(result)
    assert len(fig.axes) == 4
    fig.savefig(tmp_path / "q7.png")
    assert (tmp_path / "q7.png").stat().st_size > 10_000
