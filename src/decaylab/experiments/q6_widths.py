r"""Question 6, first half: which convention keeps the best λ stable as the model grows? (claim 11)

λ is scanned under the sum convention (λ/2n)·Σw² and the mean convention
(λ/2n)·(1/n_w)·Σw² at several widths. Over the short trainings of this scan
the validation cost keeps falling as λ → 0, so λ* here is the *largest* λ
whose validation data cost stays within ``rise`` (10 %) of its minimum
(:func:`best_lambda_by_cost`): the most decay the model takes before it
costs. The same point read off the accuracy (:func:`best_lambda`) is kept
beside it. The slope of log λ* on log n_w says which convention's λ* stays put.
"""

from __future__ import annotations

import numpy as np

from decaylab.conventions import get_convention
from decaylab.experiments.best_lambda import geometric_estimate
from decaylab.experiments.claims import format_column
from decaylab.experiments.inputs import check_positive_list
from decaylab.experiments.runs import RunSpec, run_table

__all__ = [
    "CONVENTIONS",
    "best_lambda",
    "best_lambda_by_cost",
    "check_grids",
    "estimate_geometric",
    "fit_or_none",
    "scan_widths",
    "validation_curves",
    "validation_scores",
    "width_table",
]

CONVENTIONS = ("sum", "mean")

#: Geometric mean ± standard error over seeds (the name this module has always exported).
estimate_geometric = geometric_estimate


def _crossing(lam: np.ndarray, values: np.ndarray, level: float, i: int, j: int) -> float:
    """Where the line through grid points i and j (in log λ) crosses ``level``."""
    t = (values[i] - level) / (values[i] - values[j])
    return float(np.exp(np.log(lam[i]) + t * (np.log(lam[j]) - np.log(lam[i]))))


def validation_curves(outcome, n_all: int) -> np.ndarray:
    """Validation accuracy and data cost C₀ at every epoch of a run, shape (2, E + 1).

    The recorded evaluation cost includes the run's penalty; λ is chosen on C₀
    alone, so the penalty of the run's convention (at its n: ``spec.n_train``,
    or ``n_all`` for the whole training set) is taken off. A diverged run gives
    NaN, shape (2, 1).
    """
    if outcome.diverged:
        return np.full((2, 1), np.nan)
    spec, h = outcome.spec, outcome.history
    if "evaluation" in h.monitors:  # evaluated at chosen epochs only (C₀ itself); NaN elsewhere
        record, curves = h.monitors["evaluation"], np.full((2, h.n_epochs + 1), np.nan)
        curves[:, record["epoch"]] = record["accuracy"], record["cost"]
        return curves
    squares = (np.asarray(h.weights["norm"]) ** 2).sum(axis=1)
    n_w = sum(a * b for a, b in zip(spec.sizes[:-1], spec.sizes[1:]))
    n = n_all if spec.n_train is None else spec.n_train
    penalty = get_convention(spec.decay).penalty(
        squares, spec.lmbda, eta=spec.eta, n=n, n_weights=n_w
    )
    cost = np.asarray(h.evaluation_cost, dtype=float) - penalty
    return np.stack([np.asarray(h.evaluation_accuracy, dtype=float), cost])


def validation_scores(outcome, average_epochs: int, n_all: int) -> tuple[float, float]:
    """(accuracy, data cost C₀) of :func:`validation_curves`, averaged over the last epochs."""
    accuracy, cost = validation_curves(outcome, n_all)[:, -average_epochs:].mean(axis=1)
    return float(accuracy), float(cost)


def best_lambda(lmbdas: np.ndarray, accuracy: np.ndarray, tolerance: float) -> tuple[float, bool]:
    """The largest λ whose accuracy stays within ``tolerance`` of the best on the grid.

    Parameters
    ----------
    lmbdas : ndarray, shape (G,)
        Increasing λ grid.
    accuracy : ndarray, shape (G,)
        Validation accuracy at each λ (NaN for a diverged run, treated as 0;
        all NaN gives λ* = NaN).
    tolerance : float
        Accuracy (a fraction, e.g. 0.01 = one percentage point) that may be given up.

    Returns
    -------
    lmbda_star : float
        Interpolated linearly in log λ between the last grid point at or above
        best − tolerance (scanning up from the best) and the next one.
    censored : bool
        True when the accuracy never fell below best − tolerance on the grid
        (λ* is then the grid's largest λ, a lower bound).
    """
    acc = np.asarray(accuracy, dtype=float)
    if not np.isfinite(acc).any():
        return float("nan"), False
    acc = np.nan_to_num(acc, nan=0.0)
    lam = np.asarray(lmbdas, dtype=float)
    level = acc.max() - tolerance
    start = int(np.argmax(acc))
    below = np.flatnonzero(acc[start:] < level)
    if below.size == 0:
        return float(lam[-1]), True
    j = start + int(below[0])
    return _crossing(lam, acc, level, j - 1, j), False


def best_lambda_by_cost(lmbdas: np.ndarray, cost: np.ndarray, rise: float) -> tuple[float, bool]:
    """The largest λ whose validation cost stays within a factor 1 + ``rise`` of its minimum.

    Parameters
    ----------
    lmbdas : ndarray, shape (G,)
        Increasing λ grid.
    cost : ndarray, shape (G,)
        Validation data cost C₀ (without the penalty) at each λ; NaN for a
        diverged run, treated as +∞ (all NaN gives λ* = NaN).
    rise : float
        Relative increase of the cost over its minimum on the grid that λ* may cost.

    Returns
    -------
    lmbda_star : float
        Interpolated linearly in log λ between the last grid point at or below
        (1 + rise)·minimum (scanning up from the minimum) and the next one.
    censored : bool
        True when the cost never rose that far on the grid (a lower bound).
    """
    c = np.asarray(cost, dtype=float)
    if not np.isfinite(c).any():
        return float("nan"), False
    c = np.where(np.isfinite(c), c, np.inf)
    lam = np.asarray(lmbdas, dtype=float)
    start = int(np.argmin(c))
    level = c[start] * (1.0 + rise)
    above = np.flatnonzero(c[start:] > level)
    if above.size == 0:
        return float(lam[-1]), True
    j = start + int(above[0])
    if not np.isfinite(c[j]):
        return float(lam[j - 1]), False
    return _crossing(lam, c, level, j - 1, j), False


def check_grids(sum_lmbdas, mean_lmbdas) -> dict:
    """The two conventions' λ grids, sorted; each of at least two positive values."""
    grids = {
        "sum": np.array(sorted(check_positive_list("sum_lmbdas", sum_lmbdas))),
        "mean": np.array(sorted(check_positive_list("mean_lmbdas", mean_lmbdas))),
    }
    for name, grid in grids.items():
        if grid.size < 2:
            raise ValueError(f"{name}_lmbdas has {grid.size} value; expected at least 2")
    return grids


def fit_or_none(x, y, **options):
    """The power-law fit over the finite points, or None when they cannot support one."""
    from decaylab.dynamics.scaling import fit_power_law

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(y)
    if ok.sum() < 3 or np.unique(x[ok]).size < 2:
        return None
    return fit_power_law(x[ok], y[ok], **options)


def scan_widths(data, *, widths, grids, seeds, settings: dict, executor=None, progress=False):
    """Scan λ under both conventions at each width; the record's width fields, as a dict.

    ``settings`` holds init, eta, batch_size, epochs, average_epochs, tolerance,
    rise and confidence, checked by
    :func:`~decaylab.experiments.q6_conventions.convention_transfer`.
    """
    init, eta, m = settings["init"], settings["eta"], settings["batch_size"]
    epochs, average_epochs = settings["epochs"], settings["average_epochs"]
    tolerance, rise = settings["tolerance"], settings["rise"]

    n_in, n_out, S, W = data.n_inputs, data.n_classes, len(seeds), len(widths)
    # Only the last average_epochs epochs are read: the others are not evaluated.
    last = tuple(range(epochs - average_epochs + 1, epochs + 1))
    conditions = {
        (h, conv, lam): RunSpec(
            (n_in, h, n_out), init, 0, epochs, m, eta, lam, conv, evaluate_epochs=last
        )
        for h in widths
        for conv in CONVENTIONS
        for lam in grids[conv]
    }
    table = run_table(
        conditions,
        list(seeds),
        data,
        {"scores": lambda o: validation_scores(o, average_epochs, data.train.n)},
        executor=executor,
        progress=progress,
        desc="Q6 conventions",
    )
    scores = table.column("scores")
    n_weights = np.array([h * (n_in + n_out) for h in widths], dtype=np.int64)
    options = {
        "hypotheses": (0.0, 1.0),
        "confidence": settings["confidence"],
        "labels": {0.0: "a stable λ*", 1.0: "λ* ∝ n_w"},
    }
    out = {k: {} for k in ("accuracy", "cost", "lambda_star", "censored", "lambda_star_estimate")}
    out.update(accuracy_lambda_star={}, width_fit={}, accuracy_width_fit={})
    start = 0
    for w, conv in ((w, c) for w in range(W) for c in CONVENTIONS):
        G = grids[conv].size
        block = np.moveaxis(scores[start : start + G], 0, 1)  # (S, G, 2)
        start += G
        for key, j in (("accuracy", 0), ("cost", 1)):
            out[key].setdefault(conv, np.full((W, S, G), np.nan))[w] = block[..., j]
    for conv in CONVENTIONS:
        grid, cost, acc = grids[conv], out["cost"][conv], out["accuracy"][conv]
        pairs = np.array(
            [[best_lambda_by_cost(grid, cost[w, k], rise) for k in range(S)] for w in range(W)]
        )
        out["lambda_star"][conv] = pairs[..., 0]
        out["censored"][conv] = pairs[..., 1].astype(bool)
        out["lambda_star_estimate"][conv] = [geometric_estimate(row) for row in pairs[..., 0]]
        by_accuracy = np.array(
            [[best_lambda(grid, acc[w, k], tolerance)[0] for k in range(S)] for w in range(W)]
        )
        out["accuracy_lambda_star"][conv] = by_accuracy
        x = np.repeat(n_weights, S)
        out["width_fit"][conv] = fit_or_none(x, pairs[..., 0].ravel(), **options)
        out["accuracy_width_fit"][conv] = fit_or_none(x, by_accuracy.ravel(), **options)
    out.update(n_weights=n_weights, diverged=table.diverged)
    return out


def width_table(record) -> tuple[list[str], list[list[str]]]:
    """λ* per width and convention (≥: the top of the grid), beside the accuracy-based λ*."""
    header = ["hidden width", "n_w", "λ* (sum)", "λ* (mean)", "λ*(mean)/n_w"]
    header += ["λ* (sum), by accuracy"]
    W = len(record.widths)
    columns = {}
    for c in CONVENTIONS:
        flags = ["≥ " if record.censored[c][w].any() else "" for w in range(W)]
        columns[c] = [f + t for f, t in zip(flags, format_column(record.lambda_star_estimate[c]))]
    per_weight = format_column(
        [e.mean / nw for e, nw in zip(record.lambda_star_estimate["mean"], record.n_weights)]
    )
    by_accuracy = format_column(
        [geometric_estimate(row) for row in record.accuracy_lambda_star["sum"]]
    )
    rows = [
        [f"{record.widths[w]:d}", f"{record.n_weights[w]:d}", columns["sum"][w]]
        + [columns["mean"][w], per_weight[w], by_accuracy[w]]
        for w in range(W)
    ]
    return header, rows
