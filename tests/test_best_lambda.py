"""The best λ on a grid: synthetic validation costs whose minimum is known."""

import math

import numpy as np
import pytest

from decaylab.experiments.best_lambda import (
    BestLambda,
    find_best_lambda,
    geometric_estimate,
    parabola_vertex,
)

GRID = 2.0 ** np.arange(-4, 5)  # 1/16 … 16, log-spaced


def quadratic_cost(lmbda_min: float, curvature: float = 1.0, floor: float = 0.3) -> np.ndarray:
    """A cost exactly quadratic in log λ with its minimum at ``lmbda_min``."""
    return floor + curvature * (np.log(GRID) - math.log(lmbda_min)) ** 2


@pytest.mark.parametrize("lmbda_min", [0.1, 0.37, 1.0, 2.9, 11.0])
def test_refined_lambda_star_is_the_minimum_of_a_cost_quadratic_in_log_lambda(lmbda_min):
    best = find_best_lambda(GRID, quadratic_cost(lmbda_min))
    assert best.lambda_star[0] == pytest.approx(lmbda_min, rel=1e-12)


@pytest.mark.parametrize("lmbda_min", [0.37, 2.9])
def test_unrefined_lambda_star_is_the_nearest_grid_point_in_log_lambda(lmbda_min):
    best = find_best_lambda(GRID, quadratic_cost(lmbda_min), refine=False)
    nearest = GRID[np.argmin(np.abs(np.log(GRID) - math.log(lmbda_min)))]
    assert best.lambda_star[0] == nearest


@pytest.mark.parametrize(
    "lmbda_min, interior",
    [(0.001, False), (0.0625, False), (0.1, True), (1.0, True), (15.0, False), (500.0, False)],
)
def test_interior_only_when_the_least_cost_is_not_at_a_grid_end(lmbda_min, interior):
    assert bool(find_best_lambda(GRID, quadratic_cost(lmbda_min)).interior[0]) is interior


def test_a_minimum_at_a_grid_end_stays_on_that_grid_point():
    best = find_best_lambda(GRID, quadratic_cost(500.0))
    assert best.lambda_star[0] == GRID[-1]


def test_seeds_are_found_separately_and_counted():
    cost = np.stack([quadratic_cost(0.5), quadratic_cost(2.0), quadratic_cost(100.0)])
    best = find_best_lambda(GRID, cost)
    assert (best.lambda_star[:2].tolist(), best.n_interior, best.n_seeds, best.all_interior) == (
        pytest.approx([0.5, 2.0]),
        2,
        3,
        False,
    )


def test_estimate_is_the_geometric_mean_over_seeds():
    cost = np.stack([quadratic_cost(0.5), quadratic_cost(2.0)])
    best = find_best_lambda(GRID, cost)
    assert best.estimate.mean == pytest.approx(1.0, rel=1e-12)


def test_geometric_estimate_carries_the_standard_error_from_the_logs():
    values = np.array([1.0, 4.0])
    # logs 0 and ln 4: sample std ln4/√2, stderr ln4/2; geometric mean 2.
    expected = 2.0 * math.log(4.0) / 2
    assert geometric_estimate(values).stderr == pytest.approx(expected, rel=1e-12)


def test_geometric_estimate_of_one_value_has_no_error():
    got = geometric_estimate([3.0])
    assert (got.mean, math.isnan(got.stderr), got.n) == (pytest.approx(3.0), True, 1)


def test_diverged_runs_are_never_the_best():
    cost = quadratic_cost(16.0)
    cost[-1] = np.nan  # the run at the largest λ diverged
    best = find_best_lambda(GRID, cost)
    assert (best.index[0], bool(best.interior[0]), best.lambda_star[0]) == (7, True, 8.0)


def test_a_seed_whose_runs_all_diverged_gives_nan_and_is_left_out_of_the_estimate():
    cost = np.stack([quadratic_cost(1.0), np.full(GRID.size, np.nan)])
    best = find_best_lambda(GRID, cost)
    assert (math.isnan(best.lambda_star[1]), best.index[1], best.estimate.n) == (True, -1, 1)


def test_a_one_dimensional_cost_is_one_seed():
    assert isinstance(find_best_lambda(GRID, quadratic_cost(1.0)), BestLambda)


@pytest.mark.parametrize(
    "x, y, expected",
    [
        ((0.0, 1.0, 2.0), (1.0, 0.0, 1.0), 1.0),
        ((0.0, 1.0, 2.0), (4.0, 1.0, 0.0 + 2.0), (1.0 - 0.5 * (1 * (-1) - 1 * (-3)) / (-1 - 3))),
        ((0.0, 1.0, 3.0), (1.0, 1.0, 1.0), 1.0),
    ],
)
def test_parabola_vertex_matches_the_closed_form(x, y, expected):
    assert parabola_vertex(np.array(x), np.array(y)) == pytest.approx(expected)


def test_parabola_vertex_of_an_asymmetric_quadratic():
    x = np.array([-1.0, 0.5, 3.0])
    y = 2.0 * (x - 0.8) ** 2 + 5.0
    assert parabola_vertex(x, y) == pytest.approx(0.8, rel=1e-12)


@pytest.mark.parametrize(
    "lmbdas, match",
    [
        ([1.0, 2.0], "at least 3"),
        ([1.0, 3.0, 2.0], "increasing"),
        ([0.0, 1.0, 2.0], "positive"),
    ],
)
def test_bad_grid_is_refused(lmbdas, match):
    with pytest.raises(ValueError, match=match):
        find_best_lambda(lmbdas, np.ones(len(lmbdas)))


def test_cost_not_matching_the_grid_is_refused():
    with pytest.raises(ValueError, match="cost has shape"):
        find_best_lambda(GRID, np.ones((2, GRID.size - 1)))
