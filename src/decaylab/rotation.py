r"""Rotation of the weight vectors: angular updates and the effective learning rate.

For a layer whose output does not depend on the scale of its weights, only
the direction ŵ = w/‖w‖ matters, and a gradient step of size η turns it by
about η‖g‖/‖w‖ — as if the learning rate were η/‖w‖² (van Laarhoven 2017).
Weight decay keeps ‖w‖ from growing, so it sets that effective rate.

At equilibrium (Kosson et al., "Rotational equilibrium"), with the gradient
orthogonal to w and ‖w‖ stationary, a step w' = d·w − v has
‖w'‖² = d²‖w‖² + ‖v‖² = ‖w‖², so cos θ = d·‖w‖/‖w'‖ = d and the angle per
step is exactly

.. math::  \theta^* = \arccos d \approx \sqrt{2(1-d)},

which is Kosson et al.'s √(2ηλ) for plain SGD when their per-step decay
ηλ is our 1 − d: ηλ/n in Nielsen's sum convention, so θ* ≈ √(2ηλ/n).
:func:`equilibrium_angle` returns arccos d (or the square-root form on request).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from decaylab.conventions import DecayConvention, get_convention
from decaylab.network import Network


def angular_update(w_before: np.ndarray, w_after: np.ndarray) -> float:
    r"""Angle in radians between two weight vectors (any shape, flattened).

    Parameters
    ----------
    w_before, w_after : ndarray
        Same number of elements, neither all zero.

    Returns
    -------
    float
        θ in [0, π].

    Notes
    -----
    θ = 2·atan2(‖â − b̂‖, ‖â + b̂‖) with â, b̂ the unit vectors: accurate for
    tiny angles, where arccos of the cosine loses half the digits.
    """
    a = np.asarray(w_before, dtype=np.float64).reshape(-1)
    b = np.asarray(w_after, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(
            f"w_before has {a.size} elements and w_after {b.size}; expected the same number"
        )
    norm_a, norm_b = np.sqrt(np.dot(a, a)), np.sqrt(np.dot(b, b))
    if norm_a == 0 or norm_b == 0:
        raise ValueError("w_before or w_after is all zeros; expected non-zero vectors")
    unit_a, unit_b = a / norm_a, b / norm_b
    difference, total = unit_a - unit_b, unit_a + unit_b
    return 2.0 * math.atan2(
        math.sqrt(float(np.dot(difference, difference))), math.sqrt(float(np.dot(total, total)))
    )


def _angle_from_sides(a: float, b: float, c: float) -> float:
    """Angle between sides of lengths a and b of a triangle whose third side is c.

    Kahan's formula ("Miscalculating area and angles of a needle-like
    triangle"), accurate when the angle is tiny.
    """
    if a < b:
        a, b = b, a
    if a == 0.0 or b == 0.0:
        return float("nan")
    mu = c - (a - b) if b >= c else b - (a - c)
    numerator = ((a - b) + c) * mu
    denominator = (a + (b + c)) * ((a - c) + b)
    # Rounding can push the sides past the triangle inequality when the
    # vectors are collinear: c <= a - b means parallel, c >= a + b opposite.
    if denominator <= 0.0:
        return math.pi
    if numerator <= 0.0:
        return 0.0
    return 2.0 * math.atan(math.sqrt(numerator / denominator))


def effective_learning_rate(eta, norm):
    r"""η/‖w‖², the rate at which a step of size η turns a scale-invariant weight vector.

    Parameters
    ----------
    eta : float or array_like
        Learning rate η.
    norm : float or array_like
        ‖w‖, e.g. ``history.weights.norm`` of shape (E + 1, L).

    Returns
    -------
    float or ndarray
        Broadcast over the arguments.
    """
    result = np.asarray(eta, dtype=np.float64) / np.asarray(norm, dtype=np.float64) ** 2
    return float(result) if result.ndim == 0 else result


def equilibrium_angle(
    eta: float,
    lmbda: float,
    n: int,
    *,
    decay: str | DecayConvention = "sum",
    n_weights: int = 1,
    approximate: bool = False,
) -> float:
    r"""Angle per step at rotational equilibrium of a scale-invariant layer.

    Parameters
    ----------
    eta, lmbda, n, decay, n_weights
        As for :func:`decaylab.train`; they fix the per-step multiplier d.
    approximate : bool
        Return √(2(1 − d)) (Kosson et al.'s √(2ηλ) with ηλ the per-step
        decay) instead of the exact arccos d.

    Returns
    -------
    float
        Radians per step; for the sum convention arccos(1 − ηλ/n) ≈ √(2ηλ/n).
    """
    d = get_convention(decay).multiplier(lmbda, eta=eta, n=n, n_weights=n_weights)
    return math.sqrt(2.0 * (1.0 - d)) if approximate else math.acos(d)


class RotationMonitor:
    """Angular updates and effective learning rate per epoch and layer (a StepMonitor).

    Pass an instance in ``train(..., monitors=[RotationMonitor()])``; the
    History then holds its record under ``history.monitors["rotation"]``.

    Parameters
    ----------
    per_step : bool
        Also record the mean angle of a single step (costs a copy and a
        subtraction of the weights per step; off by default).

    Record (arrays of shape (epochs, n_layers))
    -------------------------------------------
    angle : angle in radians between the layer's weights at the start and
        at the end of the epoch.
    effective_learning_rate : η/‖w‖² at the end of the epoch.
    mean_step_angle : (only with ``per_step``) mean over the epoch's steps
        of the angle turned by one step.
    """

    name = "rotation"

    def __init__(self, per_step: bool = False) -> None:
        if not isinstance(per_step, bool):
            raise TypeError(
                f"per_step={per_step!r} has type {type(per_step).__name__}; expected a bool"
            )
        self.per_step = per_step
        self._rows: list[np.ndarray] = []

    def start(self, net: Network, *, eta: float, multiplier: float) -> None:
        """Reset the record and keep a copy of the starting weights."""
        self.eta = float(eta)
        self.n_layers = net.n_layers
        self._rows = []
        self._weights = [w.reshape(-1) for w in net.weights]
        self._epoch_start = [w.copy() for w in self._weights]
        if self.per_step:
            self._previous = [w.copy() for w in self._weights]
            self._previous_sq = [float(np.dot(w, w)) for w in self._weights]
            self._difference = [np.empty_like(w) for w in self._weights]
            self._angle_sum = np.zeros(self.n_layers)
            self._steps = 0
            self._pending = False

    def _close_step(self) -> None:
        """Add the angle between the stored weights and the current ones."""
        for l, (w, previous, difference) in enumerate(
            zip(self._weights, self._previous, self._difference)
        ):
            np.subtract(w, previous, out=difference)
            current_sq = float(np.dot(w, w))
            self._angle_sum[l] += _angle_from_sides(
                math.sqrt(self._previous_sq[l]),
                math.sqrt(current_sq),
                math.sqrt(float(np.dot(difference, difference))),
            )
            previous[...] = w
            self._previous_sq[l] = current_sq
        self._steps += 1

    def step(self, net: Network, grad_weights: Sequence[np.ndarray], batch_length: int) -> None:
        """Called before each update; with ``per_step``, closes the previous step's angle."""
        if self.per_step:
            if self._pending:
                self._close_step()
            self._pending = True

    def end_epoch(self, net: Network) -> None:
        """Record the epoch's angle and effective learning rate."""
        if self.per_step and self._pending:
            self._close_step()
            self._pending = False
        row = np.empty((3 if self.per_step else 2, self.n_layers))
        for l, (w, start) in enumerate(zip(self._weights, self._epoch_start)):
            row[0, l] = angular_update(start, w)
            row[1, l] = effective_learning_rate(self.eta, np.sqrt(np.dot(w, w)))
            start[...] = w
        if self.per_step:
            row[2] = self._angle_sum / max(self._steps, 1)
            self._angle_sum[...] = 0.0
            self._steps = 0
        self._rows.append(row)

    def result(self) -> dict[str, np.ndarray]:
        """The record of the completed epochs: arrays of shape (epochs, n_layers)."""
        keys = ["angle", "effective_learning_rate"] + (["mean_step_angle"] if self.per_step else [])
        rows = np.array(self._rows).reshape(len(self._rows), len(keys), self.n_layers)
        return {key: rows[:, i, :].copy() for i, key in enumerate(keys)}
