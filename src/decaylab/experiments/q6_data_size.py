r"""Question 6, second half: how should the best λ move as the training set grows? (claim 12)

λ is scanned (sum convention) at several training-set sizes n, each run long
enough that the validation data cost C₀ has an interior minimum in λ: λ* is
the λ of least C₀ (:func:`~decaylab.experiments.best_lambda.find_best_lambda`),
not a bound. Two rules are tested against it. Nielsen's keeps the per-step
decay ηλ/n fixed, so λ ∝ n (slope 1 of log λ* on log n); the other keeps the
epoch timescale m/(ηλ) fixed, so λ stays put (slope 0). Each rule is also
tried in use: λ* of the largest n is carried to the smaller ones, and the
validation cost it loses there against the best λ is measured. The verdict
needs the slope interval and the transfer loss to agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from decaylab.experiments.best_lambda import BestLambda, find_best_lambda
from decaylab.experiments.q6_widths import fit_or_none, validation_curves
from decaylab.experiments.runs import RunSpec, run_table

__all__ = [
    "DataSizeScan",
    "RULES",
    "carried_loss",
    "scan_data_size",
]

#: The two rules for carrying λ to another n, by their names in the report.
RULES = ("λ ∝ n", "fixed λ")

_HYPOTHESES = {
    "hypotheses": (1.0, 0.0),
    "labels": {1.0: "λ ∝ n (fixed ηλ/n)", 0.0: "fixed λ (fixed m/(ηλ))"},
}


@dataclass(frozen=True)
class DataSizeScan:
    """λ scans at several training-set sizes, λ* per size, its slope, and the two rules' losses.

    Attributes
    ----------
    ns : ndarray of int, shape (N,)
        Training-set sizes, increasing; the last is the reference λ* is carried from.
    lmbdas : ndarray, shape (G,)
        The λ grid (sum convention), the same at every n.
    accuracy, cost : ndarray, shape (N, S, G)
        Validation accuracy and data cost C₀, averaged over each run's last epochs.
    best : list of BestLambda, length N
        λ* per seed at each n, whether it is interior, and its geometric mean.
    n_fit : ScalingFit or None
        log λ* on log n over every (n, seed), hypotheses 1 (λ ∝ n) and 0 (fixed λ).
    cost_lost, accuracy_lost : dict of str to ndarray, shape (N,)
        Per rule (:data:`RULES`): what λ* of the largest n, carried to each n,
        gives up there against the best λ of the seed-mean curve (validation
        C₀ gained, accuracy lost; NaN where the carried λ leaves the grid).
    loss_margin : float
        Cost difference below which neither rule carries λ* better.
    diverged : list of str
    checkpoints : dict of int to (ScalingFit or None, int)
        At shorter training lengths (epochs), read off the same runs: the slope
        of log λ* on log n and how many λ* are interior.
    """

    ns: np.ndarray
    lmbdas: np.ndarray
    accuracy: np.ndarray
    cost: np.ndarray
    best: list[BestLambda]
    n_fit: object
    cost_lost: dict
    accuracy_lost: dict
    loss_margin: float
    diverged: list = field(default_factory=list)
    checkpoints: dict = field(default_factory=dict)

    @property
    def lambda_star(self) -> np.ndarray:
        """λ* per size and seed, shape (N, S)."""
        return np.array([b.lambda_star for b in self.best])

    @property
    def interior(self) -> np.ndarray:
        """Whether each λ* is an interior minimum, shape (N, S)."""
        return np.array([b.interior for b in self.best])

    @property
    def reference(self) -> float:
        """λ* of the largest n (geometric mean over seeds), the one the rules carry."""
        return float(self.best[-1].estimate.mean)

    def carried(self, rule: str) -> np.ndarray:
        """The λ a rule uses at each n, shape (N,)."""
        scale = self.ns / self.ns[-1] if rule == RULES[0] else np.ones(len(self.ns))
        return self.reference * scale

    def worst_loss(self, which: str = "cost") -> dict:
        """Per rule, the largest loss over the smaller n (the reference loses nothing)."""
        losses = self.cost_lost if which == "cost" else self.accuracy_lost
        return {rule: _worst(loss) for rule, loss in losses.items()}

    def interior_text(self) -> str:
        """ "k of N λ* interior": how many λ* are minima, not grid ends."""
        return f"{int(self.interior.sum())} of {self.interior.size} λ* interior"

    def slope_text(self) -> str:
        """The slope with its interval and the interval's width, as every text shows it."""
        if self.n_fit is None:
            return "slope of log λ* on log n: not fitted"
        low, high = self.n_fit.interval
        return f"slope of log λ* on log n: {self.n_fit} (width {high - low:.2f})"

    def checkpoint_text(self) -> str:
        """The slope and the interior count at each shorter training length."""
        return "; ".join(
            f"{end} epochs: {'not fitted' if fit is None else fit} ({k} of "
            f"{self.interior.size} interior)"
            for end, (fit, k) in sorted(self.checkpoints.items())
        )

    def loss_text(self) -> str:
        """The worst validation cost each rule loses, as every text shows it."""
        worst = self.worst_loss()
        shown = ", ".join(f"{rule} {value:.3f}" for rule, value in worst.items())
        return f"validation cost lost carrying λ* from n = {int(self.ns[-1])}: {shown}"


def _worst(loss: np.ndarray) -> float:
    loss = np.asarray(loss, dtype=float)[:-1]
    if loss.size == 0 or not np.isfinite(loss).all():
        return float("nan")
    return float(loss.max())


def carried_loss(grid: np.ndarray, curves: np.ndarray, carried: np.ndarray, *, lower: bool):
    """What a carried λ gives up on each curve against the curve's best grid point.

    Parameters
    ----------
    grid : ndarray, shape (G,)
        Increasing λ grid.
    curves : ndarray, shape (N, G)
        Validation cost (``lower=True``: the least is best) or accuracy
        (``lower=False``) at each n.
    carried : ndarray, shape (N,)
        The λ used at each n.

    Returns
    -------
    ndarray, shape (N,)
        The curve interpolated linearly in log λ at the carried λ, less its
        minimum (or the maximum less it, for accuracy): ≥ 0. NaN where the
        carried λ lies outside the grid (the curve is not measured there) or
        the curve has a diverged run.
    """
    log_grid, out = np.log(grid), np.full(len(curves), np.nan)
    for i, (curve, lam) in enumerate(zip(curves, carried)):
        x = np.log(lam)
        if log_grid[0] - 1e-12 <= x <= log_grid[-1] + 1e-12 and np.isfinite(curve).all():
            got = np.interp(x, log_grid, curve)
            out[i] = got - curve.min() if lower else curve.max() - got
    return out


def scan_data_size(
    data,
    *,
    ns,
    lmbdas,
    hidden: int,
    init: str,
    eta: float,
    batch_size: int,
    epochs: int,
    average_epochs: int,
    seeds,
    confidence: float,
    loss_margin: float,
    checkpoints: tuple[int, ...] = (),
    executor=None,
    progress: bool = False,
) -> DataSizeScan:
    """Scan λ at each n, find λ*, fit its slope on n and measure both rules' losses.

    Arguments are checked by :func:`~decaylab.experiments.q6_conventions.convention_transfer`.
    ``checkpoints`` are shorter training lengths (epochs) at which λ* and its
    slope are also read off the same runs.

    Returns
    -------
    DataSizeScan
    """
    grid, S = np.asarray(lmbdas, dtype=float), len(seeds)
    sizes = (data.n_inputs, hidden, data.n_classes)
    # Only the windows of average_epochs ending at each checkpoint and at the end are read.
    ends = (*checkpoints, epochs)
    read = sorted({e for end in ends for e in range(end - average_epochs + 1, end + 1)})
    conditions = {
        (n, lam): RunSpec(
            sizes, init, 0, epochs, batch_size, eta, lam, n_train=n, evaluate_epochs=tuple(read)
        )
        for n in ns
        for lam in grid
    }
    table = run_table(
        conditions,
        list(seeds),
        data,
        {"curves": lambda o: validation_curves(o, data.train.n)},
        executor=executor,
        progress=progress,
        desc="Q6 data sizes",
    )
    curves = table.column("curves", shape=(2, epochs + 1)).reshape(len(ns), grid.size, S, 2, -1)
    x = np.repeat(np.array(ns, dtype=float), S)
    fits = {}
    for end in (*checkpoints, epochs):
        # Mean over the epochs end − average_epochs + 1 … end; (N, S, G) each.
        window = curves[..., end - average_epochs + 1 : end + 1].mean(axis=-1)
        accuracy, cost = (np.moveaxis(window[..., j], 1, 2) for j in (0, 1))
        best = [find_best_lambda(grid, cost[i]) for i in range(len(ns))]
        stars = np.array([b.lambda_star for b in best]).ravel()
        fits[end] = (fit_or_none(x, stars, confidence=confidence, **_HYPOTHESES), best)
    n_fit, best = fits.pop(epochs)
    scan = DataSizeScan(
        np.array(ns, dtype=np.int64), grid, accuracy, cost, best, n_fit, {}, {}, loss_margin
    )
    mean_cost, mean_accuracy = np.nanmean(cost, axis=1), np.nanmean(accuracy, axis=1)
    for rule in RULES:
        carried = scan.carried(rule)
        scan.cost_lost[rule] = carried_loss(grid, mean_cost, carried, lower=True)
        scan.accuracy_lost[rule] = carried_loss(grid, mean_accuracy, carried, lower=False)
    for end, (fit, checkpoint_best) in fits.items():
        interior = sum(b.n_interior for b in checkpoint_best)
        scan.checkpoints[end] = (fit, interior)
    scan.diverged.extend(table.diverged)
    return scan
