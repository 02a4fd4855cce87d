r"""Question 7, part 3: how the best λ of AdamW moves with the training-set size n.

AdamW here decays by ηλ/n per step, so its pure-decay timescale is
τ = m/(ηλ) epochs whatever n is: holding the timescale fixed in epochs
(Wang & Aitchison 2024) is holding λ fixed, and λ ∝ n is holding the decay
per step fixed. The scan (:func:`transfer_scan`) trains AdamW for the same
number of epochs E at every n on a λ grid given as timescales (E/8 to 8E by
default), takes λ* per seed as the λ of least validation data cost C₀
(:func:`~decaylab.experiments.best_lambda.find_best_lambda`), fits
λ* ∝ n^b (b = 0: fixed timescale; b = 1: λ ∝ n), and measures the validation
cost each rule loses when it carries λ* from the largest n to the smaller
ones. :func:`transfer_claim` decides claim 15 from the two together.
"""

from __future__ import annotations

import numpy as np

from decaylab.conventions import get_convention
from decaylab.data import Dataset
from decaylab.experiments.best_lambda import find_best_lambda
from decaylab.experiments.runs import RunSpec, run_table

__all__ = [
    "TRANSFER_RULES",
    "loss_side",
    "slope_side",
    "transfer_claim",
    "transfer_scan",
]

#: The two ways of carrying λ* from the largest n to a smaller one.
TRANSFER_RULES = ("fixed timescale", "λ ∝ n")

#: The exponent b of λ* ∝ n^b at which both rules miss log λ* by the same amount.
MIDPOINT = 0.5


def slope_side(fit) -> str | None:
    """Which rule the fit λ* ∝ n^b favours: the nearer exponent, by the whole interval.

    Carrying λ* over a factor r of n misses log λ* by |b|·log r under a fixed
    timescale (b = 0) and by |1 − b|·log r under λ ∝ n (b = 1), so the fixed
    timescale is nearer when b < 1/2.

    Returns
    -------
    str or None
        "fixed timescale" when the interval lies below 1/2, "λ ∝ n" when it
        lies above, "neither" when it holds 1/2, None when not fitted.
    """
    if fit is None:
        return None
    low, high = fit.interval
    if high < MIDPOINT:
        return TRANSFER_RULES[0]
    if low > MIDPOINT:
        return TRANSFER_RULES[1]
    return "neither"


def loss_side(losses: dict, margin: float) -> str | None:
    """Which rule loses less validation cost, by more than ``margin``.

    Returns
    -------
    str or None
        "fixed timescale" or "λ ∝ n"; "neither" when they differ by at most
        ``margin``; None when a loss was not measured.
    """
    fixed, proportional = losses[TRANSFER_RULES[0]], losses[TRANSFER_RULES[1]]
    if not (np.isfinite(fixed) and np.isfinite(proportional)):
        return None
    if proportional - fixed > margin:
        return TRANSFER_RULES[0]
    if fixed - proportional > margin:
        return TRANSFER_RULES[1]
    return "neither"


def transfer_claim(losses: dict, fit, *, margin: float = 0.02) -> str:
    """Verdict on claim 15 from the slope of log λ* on log n and the cost each rule loses.

    Parameters
    ----------
    losses : dict of str to float
        The largest relative validation cost lost over the smaller n by
        "fixed timescale" and by "λ ∝ n".
    fit : ScalingFit or None
        λ* ∝ n^b with its interval (see :func:`slope_side`).
    margin : float
        Relative cost difference below which neither rule is called better.

    Returns
    -------
    str
        "holds" when the slope and the losses both favour the fixed timescale,
        "does not hold" when both favour λ ∝ n, "undecided" otherwise (one of
        them cannot tell, or they disagree).
    """
    slope, loss = slope_side(fit), loss_side(losses, margin)
    if slope == loss == TRANSFER_RULES[0]:
        return "holds"
    if slope == loss == TRANSFER_RULES[1]:
        return "does not hold"
    return "undecided"


def _scores(outcome, average_epochs: int) -> tuple[float, float]:
    """(validation data cost C₀, accuracy) over the run's last epochs; NaN if it diverged."""
    if outcome.diverged:
        return np.nan, np.nan
    h, spec = outcome.history, outcome.spec
    if "evaluation" in h.monitors:  # evaluated at the last epochs only, C₀ itself
        record = h.monitors["evaluation"]
        return float(np.mean(record["cost"])), float(np.mean(record["accuracy"]))
    last = slice(-average_epochs, None)
    # The recorded evaluation cost carries the penalty (λ/2n)·Σw²; λ is chosen on C₀ alone.
    squares = (np.asarray(h.weights["norm"])[last] ** 2).sum(axis=1)
    penalty = get_convention("sum").penalty(squares, spec.lmbda, eta=spec.eta, n=spec.n_train)
    cost = np.asarray(h.evaluation_cost)[last] - penalty
    return float(np.mean(cost)), float(np.mean(h.evaluation_accuracy[last]))


def _carried(grid, curve, lmbda: float) -> float:
    """``curve`` at ``lmbda``, linear in log λ between grid points; NaN off the grid."""
    if not grid[0] <= lmbda <= grid[-1]:
        return np.nan
    return float(np.interp(np.log(lmbda), np.log(grid), curve))


def _losses(grid, ns, cost, accuracy, reference: float) -> dict:
    """Relative cost and accuracy each rule loses at each n, carrying ``reference`` from ns[-1]."""
    cost_curve, acc_curve = np.nanmean(cost, axis=1), np.nanmean(accuracy, axis=1)
    out = {key: {r: np.full(len(ns), np.nan) for r in TRANSFER_RULES} for key in ("cost", "acc")}
    for i, n in enumerate(ns):
        for rule, lam in zip(TRANSFER_RULES, (reference, reference * n / ns[-1])):
            out["cost"][rule][i] = _carried(grid, cost_curve[i], lam) / np.nanmin(cost_curve[i]) - 1
            out["acc"][rule][i] = np.nanmax(acc_curve[i]) - _carried(grid, acc_curve[i], lam)
    return out


def transfer_scan(
    data: Dataset, *, hidden, ns, timescales, eta, batch_size, epochs, average_epochs, seeds,
    confidence, progress=False,
) -> dict:  # fmt: skip
    """AdamW at each n and λ for ``epochs`` epochs: λ* per seed, its fit on n, the transfer losses.

    Parameters
    ----------
    data : Dataset
        Training examples (the first n of ``data.train``) and validation set.
    hidden : int
        Hidden width of [n_in, hidden, n_classes].
    ns : tuple of int, shape (N,)
        Increasing training-set sizes.
    timescales : tuple of float, shape (G,)
        The grid as decay timescales τ = m/(ηλ) in epochs, the same at every n.
    eta, batch_size, epochs, average_epochs
        AdamW's η, m, the number of epochs E of every run, and the last epochs
        its validation cost and accuracy are averaged over.
    seeds : tuple of int
    confidence : float
        Coverage of the slope interval.
    progress : bool

    Returns
    -------
    dict
        The record's transfer fields: "transfer_lmbda" (G,) increasing;
        "transfer_cost" and "transfer_accuracy" (N, S, G); "transfer_lambda_star"
        and "transfer_interior" (N, S); "transfer_loss" and
        "transfer_accuracy_loss" (rule → (N,)); "transfer_fit"; "diverged".
    """
    from decaylab.dynamics.scaling import fit_power_law

    grid = np.sort(np.array([batch_size / (eta * tau) for tau in timescales]))
    sizes = (data.n_inputs, hidden, data.n_classes)
    conditions = {
        f"n = {n}, λ = {lam:.6g}": RunSpec(
            sizes,
            "scaled",
            0,
            epochs,
            batch_size,
            eta,
            float(lam),
            n_train=n,
            rule="adamw",
            evaluate_epochs=tuple(range(epochs - average_epochs + 1, epochs + 1)),
        )
        for n in ns
        for lam in grid
    }
    table = run_table(
        conditions,
        seeds,
        data,
        {"scores": lambda outcome: _scores(outcome, average_epochs)},
        progress=progress,
        desc="Q7 AdamW transfer",
    )
    scores = table.column("scores", (2,)).reshape(len(ns), grid.size, len(seeds), 2)
    cost, accuracy = (scores[..., k].transpose(0, 2, 1) for k in (0, 1))
    best = [find_best_lambda(grid, cost[i]) for i in range(len(ns))]
    star = np.array([b.lambda_star for b in best])
    losses = _losses(grid, ns, cost, accuracy, best[-1].estimate.mean)
    x, ok = np.repeat(np.array(ns, dtype=float), len(seeds)), np.isfinite(star.ravel())
    fit = (
        fit_power_law(
            x[ok],
            star.ravel()[ok],
            hypotheses=(0.0, 1.0),
            confidence=confidence,
            labels={0.0: "fixed timescale", 1.0: "λ ∝ n"},
        )
        if ok.sum() >= 3 and np.unique(x[ok]).size >= 2
        else None
    )
    return {
        "transfer_lmbda": grid,
        "transfer_cost": cost,
        "transfer_accuracy": accuracy,
        "transfer_lambda_star": star,
        "transfer_interior": np.array([b.interior for b in best], dtype=bool),
        "transfer_loss": losses["cost"],
        "transfer_accuracy_loss": losses["acc"],
        "transfer_fit": fit,
        "diverged": [f"AdamW transfer: {d}" for d in table.diverged],
    }
