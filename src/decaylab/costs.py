"""Per-example costs C_x of the output layer, which is always a sigmoid layer.

Both costs are summed over the k output units and averaged over examples by
the caller: C₀ = (1/n) Σ_x C_x (Nielsen, eqs. 63 and 6).

* ``cross_entropy``: C_x = −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)], written
  as Σ_j [softplus(z_j) − y_j z_j] so that saturated outputs give a finite
  cost instead of ln 0. With a sigmoid output, δ = a − y (eq. 66).
* ``quadratic``: C_x = ½ ‖a − y‖², δ = (a − y) ⊙ σ'(z) (eq. BP1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from decaylab._validation import check_choice


def _cross_entropy_value(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.sum(np.logaddexp(0.0, z) - y * z, axis=1)


def _cross_entropy_delta(z: np.ndarray, a: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
    np.subtract(a, y, out)


def _quadratic_value(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 0.5 * np.sum((a - y) ** 2, axis=1)


def _quadratic_delta(z: np.ndarray, a: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
    np.subtract(a, y, out=out)
    out *= a
    out *= 1.0 - a


@dataclass(frozen=True)
class Cost:
    """A per-example cost: ``value(z, a, y)`` of shape (m,), ``delta(z, a, y, out)`` = ∂C_x/∂z."""

    name: str
    value: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    delta: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], None]


COSTS: dict[str, Cost] = {
    "cross_entropy": Cost("cross_entropy", _cross_entropy_value, _cross_entropy_delta),
    "quadratic": Cost("quadratic", _quadratic_value, _quadratic_delta),
}


def get_cost(name: str) -> Cost:
    """Return the cost called ``name`` ("cross_entropy" or "quadratic")."""
    return COSTS[check_choice("cost", name, COSTS)]
