r"""The ‖w‖² budget at equilibrium: what holds the weights at the size they settle at.

Summed over the K steps of an epoch, the budget of
:mod:`decaylab.dynamics.decomposition` reads

.. math::  \Delta\|w\|^2 = C + R + N, \qquad
           C = -(1 - d^2)\sum_t \|w_t\|^2,\quad
           R = -2d\sum_t w_t\cdot v_t,\quad
           N = \sum_t \|v_t\|^2 ,

with v_t the gradient step. At equilibrium Δ‖w‖² averages to zero, so the
contraction balances the two gradient terms, −C = R + N, and the mean
‖w‖² over the steps is

.. math::  \langle\|w\|^2\rangle = \frac{R + N}{K(1 - d^2)}
           = \underbrace{\frac{R}{K(1 - d^2)}}_{\text{radial part}}
           + \underbrace{\frac{N}{K(1 - d^2)}}_{\text{noise part}} .

Averaging the radial term over the batches gives the full-batch gradient,
so the radial part is the stationarity identity (n/λ)(−w·∇C₀) up to the
factor 2(1 − a)/(2 − a) ≈ 1 (a = ηλ/n); the noise part is the AR(1)
equilibrium of the mini-batch noise (:mod:`decaylab.dynamics.noise`) plus
η²‖∇C₀‖²/(1 − d²) from the mean gradient. :func:`equilibrium_budget` measures
both parts, so that the size the weights settle at, and its excess over the
full-batch prediction, are read off measured terms.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from decaylab.dynamics.decomposition import _record
from decaylab.dynamics.equilibrium import Equilibrium, find_equilibrium, mean_and_standard_error
from decaylab.dynamics.noise import ar1_stationary_variance
from decaylab.history import History
from decaylab.rules import decay_inputs, rule_of

__all__ = ["Budget", "equilibrium_budget"]


@dataclass(frozen=True)
class Budget:
    r"""Per-epoch ‖w‖² budget terms averaged over an equilibrium window.

    Every array has shape (L + 1,): entry l is weight layer l, the last entry
    (index −1) all weights pooled. Each ``*_se`` is the autocorrelation-aware
    standard error of the mean over the window's epochs.

    Attributes
    ----------
    epoch : int
        First epoch of the window (the equilibrium epoch).
    epochs : int
        Number of epochs averaged.
    contraction, radial, noise : ndarray
        Mean per-epoch C (<= 0), R and N.
    imbalance : ndarray
        Mean C + R + N = mean Δ‖w‖² per epoch; 0 at equilibrium.
    closure : ndarray
        Mean of (R + N)/(−C) per epoch: 1 when the contraction balances the
        gradient terms.
    noise_share : ndarray
        Mean of N/(R + N) per epoch: the part of what the gradient adds to
        ‖w‖² that is squared step length rather than a push along w.
    norm_squared : ndarray
        Mean ‖w‖² over the steps, −C/(K(1 − d²)).
    implied, implied_radial, implied_noise : ndarray
        (R + N), R and N over K(1 − d²): the ‖w‖² the stationary budget
        implies, and its radial and noise parts.
    stationarity : ndarray
        The full-batch stationarity prediction (n/λ)(−w·∇C₀) passed in (NaN
        if none): compare with ``implied_radial``.
    ar1_noise : ndarray
        The AR(1) prediction of the mini-batch noise part,
        η²(s²/m)(n − m)/(n − 1)/(1 − d²) with s² the per-example gradient
        variance summed over the weights (NaN if not given): compare with
        ``implied_noise``.
    """

    epoch: int
    epochs: int
    contraction: np.ndarray
    contraction_se: np.ndarray
    radial: np.ndarray
    radial_se: np.ndarray
    noise: np.ndarray
    noise_se: np.ndarray
    imbalance: np.ndarray
    imbalance_se: np.ndarray
    closure: np.ndarray
    closure_se: np.ndarray
    noise_share: np.ndarray
    noise_share_se: np.ndarray
    norm_squared: np.ndarray
    norm_squared_se: np.ndarray
    implied: np.ndarray
    implied_se: np.ndarray
    implied_radial: np.ndarray
    implied_noise: np.ndarray
    stationarity: np.ndarray
    ar1_noise: np.ndarray

    def __repr__(self) -> str:
        return (
            f"Budget(epochs {self.epoch}–{self.epoch + self.epochs - 1}, all weights: "
            f"closure {self.closure[-1]:.3f} ± {self.closure_se[-1]:.2g}, "
            f"noise share {self.noise_share[-1]:.3f} ± {self.noise_share_se[-1]:.2g}, "
            f"implied ‖w‖² {self.implied[-1]:.4g} (radial {self.implied_radial[-1]:.4g} "
            f"+ noise {self.implied_noise[-1]:.4g}))"
        )

    def to_dict(self) -> dict:
        """The fields as a plain dict."""
        return asdict(self)


def _pooled(values: np.ndarray) -> np.ndarray:
    """Append the sum over layers as a last column: (E, L) -> (E, L + 1)."""
    return np.concatenate([values, values.sum(axis=1, keepdims=True)], axis=1)


def _per_layer(name: str, values, n_layers: int) -> np.ndarray:
    """``values`` as shape (L + 1,), NaN when None; a pooled entry is added to (L,)."""
    if values is None:
        return np.full(n_layers + 1, np.nan)
    values = np.asarray(values, dtype=np.float64)
    if values.shape == (n_layers,):
        return np.append(values, values.sum())
    if values.shape != (n_layers + 1,):
        raise ValueError(
            f"{name} has shape {values.shape}; expected ({n_layers},) per layer or "
            f"({n_layers + 1},) with the pooled value last"
        )
    return values


def equilibrium_budget(
    history: History,
    equilibrium: Equilibrium | None = None,
    *,
    stationarity_prediction=None,
    gradient_variance=None,
) -> Budget:
    r"""Average the ‖w‖² budget of a run over its equilibrium window, per layer and pooled.

    Parameters
    ----------
    history : History
        A run trained with ``monitors=[DecompositionMonitor()]``.
    equilibrium : Equilibrium, optional
        The window to average over; by default ``find_equilibrium(history)``.
        It must be reached.
    stationarity_prediction : array_like, shape (L,) or (L + 1,), optional
        (n/λ)(−w·∇C₀) per layer, e.g. ``stationarity(net, data, lmbda).predicted``.
    gradient_variance : array_like, shape (L,) or (L + 1,), optional
        Per-example gradient variance summed over each layer's weights, e.g.
        :func:`decaylab.dynamics.noise.gradient_variance`; gives ``ar1_noise``.

    Returns
    -------
    Budget

    Raises
    ------
    ValueError
        If the history has no decomposition record, the equilibrium was not
        reached, or the run's update rule does not decay by multiplying the
        weights (its ``multiplies_weights`` is False: momentum and Adam + L2,
        whose decay enters through the update direction, not as the
        multiplication by d that the implied ‖w‖² assumes).

    Notes
    -----
    Row e − 1 of the record is epoch e, the change from the state after epoch
    e − 1 to the state after epoch e; the window's rows are those of epochs
    ``epoch + 1`` … E. The AR(1) noise part uses a = 1 − d (ηλ/n in the sum
    convention) and σ² = η²(s²/m)(n − m)/(n − 1), the variance of a batch mean
    drawn without replacement: Var = σ²/(2a − a²) = σ²/(1 − d²) summed over the weights.
    """
    record = _record(history)
    rule = rule_of(history)  # raises for a recorded rule that is not known
    if not rule.multiplies_weights:
        # The implied ‖w‖² = −contraction/(K(1 − d²)) needs the decay to be the
        # multiplication by d; under momentum and Adam + L2 it enters through the
        # update direction, and that formula would be off by about 1/(1 − β).
        raise ValueError(
            f"history was trained with optimizer {rule.name!r} ({rule.settings()}), whose decay "
            "is not "
            "a multiplication of the weights by d; expected eq. 93, AdamW or another rule that "
            "multiplies the weights (use the DecompositionMonitor record directly)"
        )
    if equilibrium is None:
        equilibrium = find_equilibrium(history)
    if not isinstance(equilibrium, Equilibrium):
        raise TypeError(
            f"equilibrium has type {type(equilibrium).__name__}; expected a decaylab.Equilibrium"
        )
    if not equilibrium.reached:
        raise ValueError(
            f"equilibrium is not reached ({equilibrium!r}); expected a run that settled, "
            "e.g. one trained with train_until_equilibrium"
        )
    settings = history.settings
    first = int(np.searchsorted(history.epoch, equilibrium.epoch))
    rows = slice(first, None)  # row r of the record ends at history row r + 1
    n_layers = record["contraction"].shape[1]
    terms = {k: _pooled(record[k][rows]) for k in ("contraction", "radial", "noise")}
    if len(terms["contraction"]) < 3:
        raise ValueError(
            f"the equilibrium window has {len(terms['contraction'])} epochs of the decomposition "
            "record; expected at least 3"
        )
    steps = settings["steps_per_epoch"]
    # The rule's own multiplication per step (eq. 93's d = 1 − ηλ/n), from its epoch factor.
    d = float(rule.epoch_factor(**decay_inputs(settings))) ** (1.0 / steps)
    per_step = steps * (1.0 - d * d)
    gained = terms["radial"] + terms["noise"]
    with np.errstate(divide="ignore", invalid="ignore"):
        series = {
            **terms,
            "imbalance": terms["contraction"] + gained,
            "closure": gained / -terms["contraction"],
            "noise_share": terms["noise"] / gained,
            "norm_squared": -terms["contraction"] / per_step,
            "implied": gained / per_step,
        }
    values = {}
    for name, per_epoch in series.items():
        values[name], values[f"{name}_se"] = mean_and_standard_error(per_epoch)
    ar1 = np.full(n_layers + 1, np.nan)
    if gradient_variance is not None:
        variance = _per_layer("gradient_variance", gradient_variance, n_layers)
        n, m, eta = settings["n"], settings["batch_size"], settings["eta"]
        finite_population = (n - m) / (n - 1) if n > 1 else 0.0
        ar1 = ar1_stationary_variance(1.0 - d, eta**2 * variance / m * finite_population)
    return Budget(
        epoch=int(equilibrium.epoch),
        epochs=len(terms["contraction"]),
        **values,
        implied_radial=values["radial"] / per_step,
        implied_noise=values["noise"] / per_step,
        stationarity=_per_layer("stationarity_prediction", stationarity_prediction, n_layers),
        ar1_noise=ar1,
    )
