r"""The best λ on a grid: where the validation cost is least, per seed, and over seeds.

A λ scan gives a validation cost C(λ) per seed on a grid λ₁ < … < λ_G
(log-spaced in practice). The best λ of a seed is the grid point of least
cost, optionally refined by the vertex of the parabola through it and its two
neighbours in log λ. It is *interior* when the least cost is not at an end of
the grid: only then is it a minimum rather than a bound. Over seeds, λ* is
summarised by its geometric mean with a standard error carried from log λ*.

Examples
--------
>>> import numpy as np
>>> grid = np.array([0.1, 1.0, 10.0])
>>> best = find_best_lambda(grid, [[2.0, 1.0, 2.0], [3.0, 1.0, 3.0]])
>>> np.round(best.lambda_star, 12).tolist(), best.n_interior, best.all_interior
([1.0, 1.0], 2, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from decaylab.experiments.estimates import Estimate, estimate

__all__ = ["BestLambda", "find_best_lambda", "geometric_estimate", "parabola_vertex"]


def geometric_estimate(values) -> Estimate:
    """Geometric mean of positive values, with a standard error carried from their logs.

    Parameters
    ----------
    values : array_like of float, shape (S,)
        Positive values (NaN ones are left out and not counted).

    Returns
    -------
    Estimate
        mean = exp(mean(log v)); stderr = mean · stderr(log v) (first order),
        NaN with fewer than two values.
    """
    logs = estimate(np.log(np.asarray(values, dtype=float)))
    if logs.n == 0:
        return logs
    mean = float(np.exp(logs.mean))
    return Estimate(mean, mean * logs.stderr if logs.n > 1 else math.nan, logs.n)


def parabola_vertex(x: np.ndarray, y: np.ndarray) -> float:
    r"""The abscissa of the vertex of the parabola through three points.

    Parameters
    ----------
    x : ndarray, shape (3,)
        Increasing abscissae (here log λ).
    y : ndarray, shape (3,)
        Ordinates, with y[1] ≤ y[0] and y[1] ≤ y[2] (a bracketed minimum).

    Returns
    -------
    float
        .. math:: x_1 - \tfrac12\,\frac{(x_1-x_0)^2 (y_1-y_2) - (x_1-x_2)^2 (y_1-y_0)}
                  {(x_1-x_0)(y_1-y_2) - (x_1-x_2)(y_1-y_0)},

        clipped to [x₀, x₂]; x₁ itself when the three points are collinear.
    """
    (x0, x1, x2), (y0, y1, y2) = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    num = (x1 - x0) ** 2 * (y1 - y2) - (x1 - x2) ** 2 * (y1 - y0)
    den = (x1 - x0) * (y1 - y2) - (x1 - x2) * (y1 - y0)
    if den == 0 or not np.isfinite(den):
        return float(x1)
    return float(np.clip(x1 - 0.5 * num / den, x0, x2))


@dataclass(frozen=True)
class BestLambda:
    """The λ of least validation cost, per seed, and its summary over seeds.

    Attributes
    ----------
    lmbdas : ndarray, shape (G,)
        The increasing λ grid.
    index : ndarray of int, shape (S,)
        Grid index of each seed's least cost (−1 when every run of the seed diverged).
    lambda_star : ndarray, shape (S,)
        Each seed's best λ: the grid point of least cost, or the parabola's
        vertex in log λ when refined; NaN when every run diverged.
    interior : ndarray of bool, shape (S,)
        True where the least cost is not at either end of the grid (a minimum,
        not a bound).
    estimate : Estimate
        Geometric mean ± standard error of the finite λ* over seeds
        (:func:`geometric_estimate`).
    """

    lmbdas: np.ndarray
    index: np.ndarray
    lambda_star: np.ndarray
    interior: np.ndarray
    estimate: Estimate

    @property
    def n_interior(self) -> int:
        """How many seeds' λ* are interior."""
        return int(np.count_nonzero(self.interior))

    @property
    def n_seeds(self) -> int:
        """How many seeds were scanned (S)."""
        return int(self.interior.size)

    @property
    def all_interior(self) -> bool:
        """True when every seed's λ* is interior."""
        return self.n_interior == self.n_seeds


def _check_grid(lmbdas) -> np.ndarray:
    grid = np.asarray(lmbdas, dtype=float)
    if grid.ndim != 1 or grid.size < 3:
        raise ValueError(
            f"lmbdas has shape {grid.shape}; expected a one-dimensional grid of at least 3 values"
        )
    if not (np.all(np.isfinite(grid)) and np.all(grid > 0) and np.all(np.diff(grid) > 0)):
        raise ValueError(f"lmbdas={grid.tolist()!r}; expected finite, positive, increasing values")
    return grid


def find_best_lambda(lmbdas, cost, *, refine: bool = True) -> BestLambda:
    """The λ of least validation cost on a grid, per seed, with its summary over seeds.

    Parameters
    ----------
    lmbdas : array_like of float, shape (G,)
        Increasing, positive λ grid (G ≥ 3), log-spaced in practice.
    cost : array_like of float, shape (S, G) or (G,)
        Validation cost of each seed at each λ; NaN or ±∞ for a diverged run,
        which is never the least cost. A 1-D array is one seed.
    refine : bool
        Move each interior λ* to the vertex of the parabola through the least
        cost and its two neighbours in log λ (between grid points). λ* at a grid
        end, or beside a diverged run, stays on the grid point.

    Returns
    -------
    BestLambda
    """
    grid = _check_grid(lmbdas)
    c = np.asarray(cost, dtype=float)
    if c.ndim == 1:
        c = c[None, :]
    if c.ndim != 2 or c.shape[1] != grid.size:
        raise ValueError(
            f"cost has shape {np.shape(cost)}; expected (seeds, {grid.size}) or ({grid.size},) "
            "to match lmbdas"
        )
    c = np.where(np.isfinite(c), c, np.inf)
    log_grid = np.log(grid)
    S = c.shape[0]
    index = np.full(S, -1, dtype=np.int64)
    star = np.full(S, np.nan)
    interior = np.zeros(S, dtype=bool)
    for k in range(S):
        if not np.isfinite(c[k]).any():
            continue
        i = int(np.argmin(c[k]))
        index[k] = i
        interior[k] = 0 < i < grid.size - 1
        star[k] = grid[i]
        if refine and interior[k] and np.isfinite(c[k, i - 1 : i + 2]).all():
            x = parabola_vertex(log_grid[i - 1 : i + 2], c[k, i - 1 : i + 2])
            # exp(log λ) is not λ to the last bit; a vertex on the grid point keeps it.
            star[k] = grid[i] if x == log_grid[i] else float(np.exp(x))
    return BestLambda(grid, index, star, interior, geometric_estimate(star))
