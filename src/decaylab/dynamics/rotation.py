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

Under the other update rules (``train(..., optimizer=...)``) the angles
are measured the same way, between the weights before and after each step
or epoch. η/‖w‖² is the effective rate of SGD and of momentum (whose steps
are η times a velocity in gradient units, so a step turns w by about
η‖v‖/‖w‖). It is not Adam's: Adam's step has a size set by η alone (each
coordinate moves by about η, whatever ‖w‖), so it turns w by about
η√n_w/‖w‖ and its effective rate goes as η/‖w‖. For Adam + L2 and AdamW the
record's ``effective_learning_rate`` still reports η/‖w‖², a number to
compare with the SGD runs, not Adam's rate; the measured ``angle`` is the
quantity to read there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from decaylab._step_budget import StepBudget, dot_of
from decaylab._validation import check_bool
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


def effective_learning_rate(eta, norm):
    r"""η/‖w‖², the rate at which a step of size η turns a scale-invariant weight vector.

    Meaningful for SGD (eq. 93) and momentum; not Adam's effective rate
    (see the module docstring).

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
    n_weights: int | None = None,
    approximate: bool = False,
) -> float:
    r"""Angle per step at rotational equilibrium of a scale-invariant layer.

    Parameters
    ----------
    eta, lmbda, n, decay
        As for :func:`decaylab.train`; they fix the per-step multiplier d.
    n_weights : int, optional
        Number of decayed weights n_w; required by the mean convention,
        whose multiplier 1 − ηλ/(n·n_w) depends on it (never guessed).
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
    r"""Angular updates and effective learning rate per epoch and layer (a StepMonitor).

    Pass an instance in ``train(..., monitors=[RotationMonitor()])``; the
    History then holds its record under ``history.monitors["rotation"]``.

    Parameters
    ----------
    per_step : bool
        Also record the mean angle turned by a single step (from the step's
        ‖w‖² budget, shared with :class:`DecompositionMonitor`: two dot
        products per step and layer, none under eq. 93 with small batches;
        off by default).

    Record (arrays of shape (epochs, n_layers))
    -------------------------------------------
    angle : angle in radians between the layer's weights at the start and
        at the end of the epoch.
    effective_learning_rate : η/‖w‖² at the end of the epoch (the effective
        rate of SGD and momentum only; see the module docstring for Adam).
    mean_step_angle : (only with ``per_step``) mean over the epoch's steps
        of the angle between w and w' = d·w − (η/m_B)·g (under another
        rule, w' is the weights after its step).

    Notes
    -----
    The angle of one step is that between the weights before it and the
    weights after it, for every update rule alike. It is read from the
    step's ‖w‖² budget (:meth:`step_budgets`), which the training loop
    computes for all the monitors that read it and shows them by blocks of steps. When the rule's
    decay multiplies the weights (eq. 93, AdamW: w′ = d·w − R; float64), only R turns
    w, and the angle follows from w·w, w·R and R·R without forming w:

    .. math::  \theta = \operatorname{atan2}\bigl(\sqrt{(w\cdot w)(R\cdot R)
               - (w\cdot R)^2},\; d\,w\cdot w - w\cdot R\bigr),

    exactly 0 for a step of pure decay (R = 0). Under other rules the decay
    part turns w too, and the angle is taken as :func:`angular_update` takes
    it, on unit vectors, in buffers made once per run.
    """

    name = "rotation"

    def __init__(self, per_step: bool = False) -> None:
        check_bool("per_step", per_step)
        self.per_step = per_step
        self._rows: list[np.ndarray] = []

    def start(self, net: Network, *, eta: float, multiplier: float) -> None:
        """Reset the record and keep a copy of the starting weights."""
        self.eta = float(eta)
        self.multiplier = float(multiplier)
        self.n_layers = net.n_layers
        self._rows = []
        self._weights = [w.reshape(-1) for w in net.weights]
        self._epoch_start = [w.copy() for w in self._weights]
        self._squared = [float(np.dot(w, w)) for w in self._weights]
        self._angle_sum = np.zeros(self.n_layers)
        self._steps = 0
        self._units = None  # buffers of the unit vectors, made at the first step that needs them

    def step_parts(
        self,
        weights_before: Sequence[np.ndarray],
        decay: Sequence[np.ndarray],
        rest: Sequence[np.ndarray],
    ) -> None:
        """With ``per_step``, add the angle the step just made turned each layer by.

        Called after the step: the network holds w_after, ``weights_before`` w.
        """
        if self.per_step:
            self.step_budgets(StepBudget.of_parts(weights_before, decay, rest, self._weights))

    def step_budgets(self, budget: StepBudget) -> None:
        """With ``per_step``, add the angles of a block of steps from their ‖w‖² budget."""
        if not self.per_step:
            return
        d = budget.multiplier
        if d is None:  # one step, its parts formed
            self._add_unit_vector_angles(budget)
        else:
            ww, wr, rr = budget.ww, budget.wr, budget.rr
            sine = np.sqrt(np.maximum(ww * rr - wr * wr, 0.0))
            angles = np.arctan2(sine, d * ww - wr)
            # A zero layer has no direction (as angular_update refuses it).
            self._angle_sum += np.where(ww > 0.0, angles, 0.0).sum(axis=0)
        self._steps += budget.steps

    def _add_unit_vector_angles(self, budget: StepBudget) -> None:
        """:func:`angular_update` of each layer's w and w′ (one step), into buffers made once."""
        if self._units is None:
            self._units = [(np.empty_like(w), np.empty_like(w)) for w in self._weights]
        dot, sqrt, atan2 = dot_of(self._weights[0].dtype), math.sqrt, math.atan2
        squares, angles = budget.ww[0].tolist(), self._angle_sum
        for l, (before, after, (a, b)) in enumerate(zip(budget.before, budget.after, self._units)):
            norm_a, norm_b = sqrt(squares[l]), sqrt(dot(after, after))
            if norm_a == 0.0 or norm_b == 0.0:
                continue
            np.divide(before, norm_a, out=a)
            np.divide(after, norm_b, out=b)
            np.subtract(a, b, out=b)
            np.multiply(a, 2.0, out=a)
            np.subtract(a, b, out=a)  # â + b̂ = 2â − (â − b̂)
            angles[l] += 2.0 * atan2(sqrt(dot(b, b)), sqrt(dot(a, a)))

    @property
    def sees_steps(self) -> bool:
        """Whether the training loop shows this monitor each step (only with ``per_step``)."""
        return self.per_step

    #: The training loop may leave the budget's arrays unformed: under a decay that
    #: multiplies the weights :meth:`step_budgets` reads only its products.
    reads_step_arrays = False

    #: Under a decay part that is formed (not a multiplication of the weights), the angle
    #: is taken from each step's unit vectors: the loop shows such steps one at a time.
    reads_formed_parts = True

    def end_epoch(self, net: Network) -> None:
        """Record the epoch's angle and effective learning rate."""
        row = np.empty((3 if self.per_step else 2, self.n_layers))
        for l, (w, start) in enumerate(zip(self._weights, self._epoch_start)):
            row[0, l] = angular_update(start, w)
            self._squared[l] = float(np.dot(w, w))
            row[1, l] = effective_learning_rate(self.eta, math.sqrt(self._squared[l]))
            start[...] = w
        if self.per_step:
            row[2] = self._angle_sum / max(self._steps, 1)
            self._angle_sum = np.zeros(self.n_layers)
            self._steps = 0
        self._rows.append(row)

    def result(self) -> dict[str, np.ndarray]:
        """The record of the completed epochs: arrays of shape (epochs, n_layers)."""
        keys = ["angle", "effective_learning_rate"] + (["mean_step_angle"] if self.per_step else [])
        rows = np.array(self._rows).reshape(len(self._rows), len(keys), self.n_layers)
        return {key: rows[:, i, :].copy() for i, key in enumerate(keys)}
