r"""Question 6: which way of writing the penalty keeps the best λ stable?

The sum convention penalises (λ/2n)·Σw² (Nielsen, per-step multiplier
1 − ηλ/n); the mean convention penalises (λ/2n)·(1/n_w)·Σw² (multiplier
1 − ηλ/(n·n_w)). This experiment scans a λ grid under each convention at
several widths and reads off the best λ from the validation accuracy; the
slope of log λ* against log n_w says which convention's λ* stays put as the
model grows. It then scans λ at several training-set sizes n and asks how
λ* moves with n: in proportion to n (Nielsen's rule, keeping ηλ/n, the
per-step decay, fixed) or not at all (keeping the epoch timescale m/(ηλ)
fixed).

Over the short trainings of a scan the validation cost keeps falling as
λ → 0, and the accuracy is flat at the small-λ end, so neither has an
optimum worth the name. The λ* used here is the *largest* λ whose
validation data cost stays within ``rise`` (10 %) of its minimum, found by
interpolating the cost curve on log λ: the most decay the model can take
before it costs, read off a smooth curve that SGD noise moves little. The
same point read off the accuracy (within ``tolerance`` of the best) is kept
beside it for comparison.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from decaylab._validation import check_int, check_real
from decaylab.conventions import get_convention
from decaylab.experiments.claims import STATEMENTS, Answer, Claim, format_column
from decaylab.experiments.estimates import Estimate, estimate
from decaylab.experiments.inputs import as_seeds, check_int_list, check_positive_list, resolve_data
from decaylab.experiments.records import ExperimentResult
from decaylab.experiments.runs import RunSpec, run_many

__all__ = [
    "ConventionResult",
    "best_lambda",
    "best_lambda_by_cost",
    "convention_transfer",
    "convention_verdict",
    "data_size_claim",
    "transfer_preference",
    "stability_claim",
]

CONVENTIONS = ("sum", "mean")


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
    i = j - 1
    # Crossing of the line acc = level between grid points i and j, on log λ.
    t = (acc[i] - level) / (acc[i] - acc[j])
    return float(np.exp(np.log(lam[i]) + t * (np.log(lam[j]) - np.log(lam[i])))), False


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
        True when the cost never rose that far on the grid (λ* is then the
        grid's largest λ, a lower bound).

    Notes
    -----
    Over a short training the validation cost falls as λ → 0 with no
    interior minimum, so "the λ of least cost" sits at the grid's end. The
    most decay a model takes before its cost rises is a point the cost,
    smooth in λ, fixes with little seed-to-seed scatter, unlike the
    accuracy, which moves in steps of one example.
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
    i = j - 1
    if not np.isfinite(c[j]):
        return float(lam[i]), False
    t = (level - c[i]) / (c[j] - c[i])
    return float(np.exp(np.log(lam[i]) + t * (np.log(lam[j]) - np.log(lam[i])))), False


def _abs_interval(interval: tuple[float, float]) -> tuple[float, float]:
    """The range of |b| for b in the interval."""
    low, high = interval
    if low <= 0 <= high:
        return 0.0, max(-low, high)
    return min(abs(low), abs(high)), max(abs(low), abs(high))


def stability_claim(sum_fit, mean_fit, *, stable_slope: float = 0.1) -> str:
    """Claim 11's verdict word: does the sum convention keep λ* stable as the model grows?

    Parameters
    ----------
    sum_fit, mean_fit : ScalingFit or None
        log λ* against log n_w under each convention, with its interval.
    stable_slope : float
        |slope| below which λ* counts as stable: over a tenfold growth of
        n_w, λ* then moves by less than a factor 10^stable_slope (1.26 for 0.1).

    Returns
    -------
    str
        "holds" when the sum convention's whole interval lies within
        ±``stable_slope`` and the mean's lies outside it; "holds with a
        qualification" when the sum's |slope| interval lies wholly below the
        mean's but reaches beyond ``stable_slope`` (it moves least, yet
        moves); "does not hold" when the mean's |slope| interval lies wholly
        below the sum's; "undecided" otherwise (overlapping intervals, or a
        fit is missing).
    """
    if sum_fit is None or mean_fit is None:
        return "undecided"
    sum_abs, mean_abs = _abs_interval(sum_fit.interval), _abs_interval(mean_fit.interval)
    if sum_abs[1] <= stable_slope < mean_abs[0]:
        return "holds"
    if sum_abs[1] < mean_abs[0]:
        return "holds with a qualification"
    if mean_abs[1] < sum_abs[0]:
        return "does not hold"
    return "undecided"


def transfer_preference(transfer_loss: dict | None, loss_margin: float = 0.005) -> str | None:
    """Which rule carries λ* across n with less accuracy lost: "λ ∝ n", "fixed", or None.

    Parameters
    ----------
    transfer_loss : dict of str to ndarray, shape (N,), or None
        Accuracy lost at each n, keyed "λ ∝ n" and "fixed m/(ηλ)"; the last
        n (the reference, where both rules give λ* itself) is left out.
    loss_margin : float
        The largest losses must differ by more than this for a preference.

    Returns
    -------
    str or None
        None when there is no finite loss or the rules are within the margin.
    """
    if not transfer_loss:
        return None
    losses = {}
    for rule, loss in transfer_loss.items():
        loss = np.asarray(loss, dtype=float)
        loss = loss[:-1] if loss.size > 1 else loss
        if not np.isfinite(loss).any():
            return None
        losses[rule] = float(np.nanmax(loss))
    proportional, fixed = losses["λ ∝ n"], losses["fixed m/(ηλ)"]
    if abs(proportional - fixed) <= loss_margin:
        return None
    return "λ ∝ n" if proportional < fixed else "fixed"


def data_size_claim(n_fit, transfer_loss: dict | None = None, loss_margin: float = 0.005) -> str:
    """Claim 12's verdict word: should λ grow in proportion to n rather than stay fixed?

    Parameters
    ----------
    n_fit : ScalingFit or None
        log λ* against log n, with its interval.
    transfer_loss : dict, optional
        Accuracy lost carrying λ* with each rule (see :func:`transfer_preference`).
        When the slope decides ("holds" or "does not hold") and the transfer
        prefers the other rule by more than ``loss_margin``, the two disagree
        and the word is "undecided".
    loss_margin : float

    Returns
    -------
    str
        "holds" when the interval contains 1 and not 0; "does not hold" when
        it contains 0 and not 1; "holds with a qualification" when it contains
        neither but lies above 0 (λ* grows with n, not in proportion);
        "undecided" when it contains both (or the fit is missing); a slope
        interval wholly below 0 also "does not hold".
    """
    if n_fit is None:
        return "undecided"
    low, high = n_fit.interval
    one, zero = low <= 1 <= high, low <= 0 <= high
    if one and zero:
        return "undecided"
    if one and not zero:
        word = "holds"
    elif zero and not one:
        word = "does not hold"
    else:
        word = "holds with a qualification" if low > 0 else "does not hold"
    preferred = transfer_preference(transfer_loss, loss_margin)
    if (word == "holds" and preferred == "fixed") or (
        word == "does not hold" and preferred == "λ ∝ n"
    ):
        return "undecided"
    return word


@dataclass
class ConventionResult(ExperimentResult):
    """λ scans under the sum and mean conventions across widths and training-set sizes.

    λ* is the largest λ whose validation cost stays within ``rise`` of its
    minimum (:func:`best_lambda_by_cost`); the accuracy-based λ*
    (:func:`best_lambda`) is kept beside it.

    Attributes
    ----------
    widths : ndarray of int, shape (W,)
    n_weights : ndarray of int, shape (W,)
    grids : dict of str to ndarray
        The λ grid of each convention ("sum", "mean").
    accuracy : dict of str to ndarray, shape (W, S, G)
        Validation accuracy (mean over the last ``average_epochs`` epochs)
        per width, seed and grid λ, per convention.
    cost : dict of str to ndarray, shape (W, S, G)
        Validation data cost C₀ (penalty excluded), averaged likewise.
    lambda_star : dict of str to ndarray, shape (W, S)
        λ* (from the validation cost) per width and seed, per convention.
    censored : dict of str to ndarray of bool, shape (W, S)
        Where the cost never rose by ``rise`` on the grid (λ* a lower bound).
    lambda_star_estimate : dict of str to list of Estimate, length W
        Geometric mean ± standard error (in λ, from the log) over seeds.
    accuracy_lambda_star : dict of str to ndarray, shape (W, S)
        The largest λ within ``tolerance`` of the best accuracy, for comparison.
    width_fit : dict of str to ScalingFit or None
        λ* ∝ n_w^b per convention, hypotheses 0 (λ* stable) and 1 (λ* ∝ n_w);
        None when fewer than three finite λ* (diverged runs) remain.
    accuracy_width_fit : dict of str to ScalingFit or None
        The same fit of the accuracy-based λ*.
    ns : ndarray of int, shape (N,)
        Training-set sizes of the transfer scan (sum convention, width ``transfer_hidden``).
    transfer_accuracy, transfer_cost : ndarray, shape (N, S, G)
    transfer_lambda_star : ndarray, shape (N, S)
        Cost-based λ* per n and seed.
    transfer_censored : ndarray of bool, shape (N, S)
    n_fit : ScalingFit or None
        λ* ∝ n^b, hypotheses 1 (λ ∝ n: fixed ηλ/n) and 0 (fixed m/(ηλ)).
    transfer_loss : dict of str to ndarray, shape (N,)
        Accuracy lost against the best at each n when λ is carried over from
        the largest n by each rule ("λ ∝ n", "fixed m/(ηλ)"), read off the
        measured (seed-mean) accuracy curve interpolated on log λ.
    evidence : list of str
        The bullets under the verdict (the headline).
    """

    number = 6
    title = "Sum against mean conventions"
    question = (
        "The penalty can be a sum of squares (λ/2n)·Σw² or a mean (λ/2n)·(1/n_w)·Σw². Which "
        "keeps the best λ stable as the model grows? And as the data set grows, should λ grow "
        "in proportion to n (Nielsen: 0.1 at n = 1,000 to 5.0 at n = 50,000, fixed ηλ/n) or "
        "stay fixed (fixed epoch timescale m/(ηλ))?"
    )

    widths: np.ndarray
    n_weights: np.ndarray
    grids: dict
    accuracy: dict
    cost: dict
    lambda_star: dict
    censored: dict
    lambda_star_estimate: dict
    accuracy_lambda_star: dict
    width_fit: dict
    accuracy_width_fit: dict
    ns: np.ndarray
    transfer_grid: np.ndarray
    transfer_accuracy: np.ndarray
    transfer_cost: np.ndarray
    transfer_lambda_star: np.ndarray
    transfer_censored: np.ndarray
    n_fit: object
    transfer_loss: dict
    evidence: list[str]

    def table(self) -> tuple[list[str], list[list[str]]]:
        header = ["hidden width", "n_w", "λ* (sum)", "λ* (mean)", "λ*(mean)/n_w"]
        header += ["λ* (sum), by accuracy"]
        columns = {}
        for c in CONVENTIONS:
            flags = ["≥ " if self.censored[c][w].any() else "" for w in range(len(self.widths))]
            texts = format_column(self.lambda_star_estimate[c])
            columns[c] = [f + t for f, t in zip(flags, texts)]
        per_weight = format_column(
            [e.mean / nw for e, nw in zip(self.lambda_star_estimate["mean"], self.n_weights)]
        )
        by_accuracy = format_column(
            [estimate_geometric(row) for row in self.accuracy_lambda_star["sum"]]
        )
        rows = [
            [
                f"{self.widths[w]:d}",
                f"{self.n_weights[w]:d}",
                columns["sum"][w],
                columns["mean"][w],
                per_weight[w],
                by_accuracy[w],
            ]
            for w in range(len(self.widths))
        ]
        return header, rows

    def transfer_table(self) -> tuple[list[str], list[list[str]]]:
        """λ* against n, and what each transfer rule uses and gives up, as (header, rows)."""
        header = [
            "n",
            "λ* (sum)",
            "λ by λ ∝ n",
            "accuracy lost",
            "λ by fixed m/(ηλ)",
            "accuracy lost",
        ]
        reference = int(np.argmax(self.ns))
        star_ref = estimate_geometric(self.transfer_lambda_star[reference]).mean
        stars = format_column([estimate_geometric(row) for row in self.transfer_lambda_star])
        by_n = format_column([star_ref * n / self.ns[reference] for n in self.ns])
        rows = []
        for i, n in enumerate(self.ns):
            flag = "≥ " if self.transfer_censored[i].any() else ""
            rows.append(
                [
                    f"{n:d}",
                    flag + stars[i],
                    by_n[i],
                    f"{self.transfer_loss['λ ∝ n'][i]:.3f}",
                    f"{star_ref:.3g}",
                    f"{self.transfer_loss['fixed m/(ηλ)'][i]:.3f}",
                ]
            )
        return header, rows

    def tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """The tables with their captions, for reports."""
        tables = [
            (
                f"λ*: the largest λ whose validation cost stays within {self.settings['rise']:.0%} "
                "of its minimum (geometric mean ± standard error over seeds; ≥: the top of the "
                "grid), per width and convention, beside the accuracy-based λ*.",
                *self.table(),
            )
        ]
        if len(self.ns):
            tables.append(
                (
                    "λ* (sum convention) against the training-set size n, and the accuracy each "
                    "rule gives up when λ* is carried over from the largest n.",
                    *self.transfer_table(),
                )
            )
        return tables

    def claims(self) -> list[Claim]:
        fits = self.width_fit
        word = stability_claim(
            fits.get("sum"), fits.get("mean"), stable_slope=self.settings["stable_slope"]
        )
        slopes = "; ".join(f"{c} {_slope(f)}" for c, f in fits.items() if f is not None) or "no fit"
        reason = {
            "holds": f"The sum convention's slope is within ±{self.settings['stable_slope']:g} "
            "(λ* stable); the mean convention's λ* grows with width.",
            "holds with a qualification": "The sum convention's λ* moves least, but its "
            f"slope interval reaches beyond ±{self.settings['stable_slope']:g}.",
            "does not hold": "The mean convention's λ* moves less with width than the sum's.",
            "undecided": "The slope intervals cannot tell the conventions apart: more widths or "
            "seeds are needed.",
        }[word]
        word12 = data_size_claim(self.n_fit, self.transfer_loss)
        slope_word = data_size_claim(self.n_fit)
        span = f"n = {int(np.min(self.ns))}–{int(np.max(self.ns))}" if len(self.ns) else "no n"
        losses = {
            rule: float(np.nanmax(loss[:-1] if loss.size > 1 else loss))
            if np.isfinite(loss).any()
            else float("nan")
            for rule, loss in self.transfer_loss.items()
        }
        at_end = int(np.asarray(self.transfer_censored).sum())
        lost = (
            f"; accuracy lost carrying λ*: λ ∝ n {losses['λ ∝ n']:.3f}, fixed λ "
            f"{losses['fixed m/(ηλ)']:.3f}; {at_end} of {np.asarray(self.transfer_censored).size} "
            "λ* at a grid end"
        )
        reason12 = {
            "holds": f"The slope interval admits 1 (λ ∝ n) and excludes 0, over {span}.",
            "holds with a qualification": f"λ* grows with n, but slower or faster than in "
            f"proportion, over {span}.",
            "does not hold": "The slope interval admits a fixed λ and excludes λ ∝ n, over "
            f"{span}.",
            "undecided": f"The slope interval admits both rules: {span} is too narrow a range "
            "to decide.",
        }[word12]
        if word12 == "undecided" and slope_word != "undecided":
            favours = "a fixed λ" if slope_word == "does not hold" else "λ ∝ n"
            reason12 = (
                f"The slope favours {favours}, but carrying λ* favours the other rule: the two "
                f"disagree over {span}, too narrow a range to decide."
            )
        return [
            Claim(11, STATEMENTS[11], word, f"slope of log λ* on log n_w: {slopes}", reason, 6),
            Claim(
                12,
                STATEMENTS[12],
                word12,
                (f"slope of log λ* on log n: {_slope(self.n_fit)}" if self.n_fit else "no fit")
                + lost,
                reason12,
                6,
            ),
        ]


def estimate_geometric(values: np.ndarray) -> Estimate:
    """Geometric mean of positive values with a standard error carried from the log."""
    logs = estimate(np.log(np.asarray(values, dtype=float)))
    if logs.n == 0:
        return logs
    mean = float(np.exp(logs.mean))
    return Estimate(mean, mean * logs.stderr if logs.n > 1 else float("nan"), logs.n)


def _slope(fit) -> str:
    return f"{fit}"


def convention_verdict(
    width_fit: dict,
    n_fit,
    transfer_loss: dict,
    *,
    censored_fraction: float = 0.0,
    loss_margin: float = 0.005,
    stable_slope: float = 0.1,
    n_range: tuple[int, int] | None = None,
) -> Answer:
    """Headline and evidence: which convention keeps λ* stable, and how λ* moves with n.

    Parameters
    ----------
    width_fit : dict of str to ScalingFit or None
        λ* against n_w per convention.
    n_fit : ScalingFit or None
        λ* against n.
    transfer_loss : dict of str to ndarray
        Accuracy lost by each transfer rule at each n, in increasing n (the
        last, largest n is the one λ* is carried over from).
    censored_fraction : float
        Fraction of λ* values that lay at an end of their grid (reported).
    loss_margin : float
        Accuracy difference below which neither transfer rule is called better.
    stable_slope : float
        |slope| below which λ* counts as stable (see :func:`stability_claim`).
    n_range : (int, int), optional
        Smallest and largest n of the transfer scan, to say how far it reaches.

    Returns
    -------
    Answer
    """
    fits = {c: f for c, f in width_fit.items() if f is not None}
    evidence = [
        f"{c} convention: slope of log λ* on log n_w {_slope(f)} (interval width "
        f"{f.interval[1] - f.interval[0]:.2f}): λ* ×{10**f.exponent:.3g} per tenfold n_w."
        for c, f in fits.items()
    ]
    missing = [c for c in width_fit if c not in fits]
    if missing:
        evidence.append(f"Not fitted ({', '.join(missing)}): fewer than three finite λ*.")
    if len(fits) == 2:
        word = stability_claim(fits["sum"], fits["mean"], stable_slope=stable_slope)
        steadiest = min(fits, key=lambda c: abs(fits[c].exponent))
        headline = {
            "holds": f"The sum convention keeps λ* stable as the model grows (slope "
            f"{_slope(fits['sum'])}); under the mean convention λ* ∝ "
            f"n_w^{fits['mean'].exponent:.2f}.",
            "does not hold": f"The mean convention's λ* moves least with width (slope "
            f"{_slope(fits['mean'])}, sum {fits['sum'].exponent:.2f}).",
            "holds with a qualification": f"The sum convention's λ* moves least with width "
            f"(slope {_slope(fits['sum'])}), but it moves.",
            "undecided": f"Undecided: the slope intervals overlap (sum {_slope(fits['sum'])}, "
            f"mean {_slope(fits['mean'])}); {steadiest} moves least.",
        }[word]
    else:
        headline = "Undecided: λ* could not be fitted against width under both conventions."
    if n_fit is not None:
        evidence.append(
            f"Across n: slope of log λ* on log n {_slope(n_fit)} (1: λ ∝ n, Nielsen's rule; 0: "
            f"fixed λ); admits "
            + (
                " and ".join(
                    l for h, l in zip(n_fit.hypotheses, n_fit.labels) if h in n_fit.admitted
                )
                or "neither"
            )
            + "."
        )
    if n_fit is not None and n_range is not None:
        low, high = n_range
        evidence.append(
            f"The n scan spans only ×{high / low:.3g} ({low}–{high}); Nielsen's rule was stated "
            "for n = 1,000 → 50,000 (×50), beyond what this data set can test."
        )
    finite_losses = all(np.isfinite(loss).any() for loss in transfer_loss.values())
    if n_fit is not None and finite_losses:
        # At the largest n both rules give λ* itself; the other sizes tell them apart.
        losses = {
            rule: float(np.nanmax(loss[:-1] if loss.size > 1 else loss))
            for rule, loss in transfer_loss.items()
        }
        better = min(losses, key=losses.get)
        text = "Carrying λ* from the largest n to smaller ones costs at most " + " and ".join(
            f"{v:.3f} accuracy with {rule}" for rule, v in losses.items()
        )
        if max(losses.values()) - losses[better] > loss_margin:
            text += f": {better} transfers better."
        else:
            text += f": within {loss_margin:g}, neither rule is better."
        evidence.append(text)
    if censored_fraction > 0:
        evidence.append(
            f"{censored_fraction:.0%} of the λ* values lay at an end of their grid (bounds only)."
        )
    return Answer(headline, evidence)


def _fit(x, y, **options):
    """The power-law fit over the finite points, or None when they cannot support one."""
    from decaylab.dynamics.scaling import fit_power_law

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(y)
    if ok.sum() < 3 or np.unique(x[ok]).size < 2:
        return None
    return fit_power_law(x[ok], y[ok], **options)


def convention_transfer(
    data=None,
    *,
    widths: Sequence[int] = (16, 45, 128, 360),
    sum_lmbdas: Sequence[float] = tuple(2.0**k for k in range(-4, 4)),
    mean_lmbdas: Sequence[float] = tuple(2.0**k for k in range(6, 17)),
    ns: Sequence[int] = (250, 500, 1000),
    transfer_hidden: int = 30,
    init: str = "scaled",
    eta: float = 0.5,
    batch_size: int = 10,
    epochs: int = 10,
    average_epochs: int = 3,
    tolerance: float = 0.01,
    rise: float = 0.1,
    stable_slope: float = 0.1,
    seeds: int | Sequence[int] = 3,
    confidence: float = 0.95,
    executor=None,
    progress: bool = False,
) -> ConventionResult:
    r"""Scan λ under the sum and mean conventions across widths, and across training-set sizes.

    Parameters
    ----------
    data : Dataset, optional
        The bundled digits by default; accuracy on ``data.validation``.
    widths : sequence of int
        Hidden widths of the [n_in, h, n_classes] networks (at least two).
    sum_lmbdas, mean_lmbdas : sequence of float
        λ grids of the two conventions, increasing. The mean convention's λ
        is divided by n_w, so its grid must reach n_w times higher.
    ns : sequence of int
        Training-set sizes (first n examples) of the transfer scan; empty to skip.
    transfer_hidden : int
        Hidden width of the transfer scan (sum convention, grid ``sum_lmbdas``).
    init : {"large", "scaled"}
    eta, batch_size, epochs : float, int, int
    average_epochs : int
        Accuracy of a run = mean validation accuracy over its last epochs.
    tolerance : float
        Accuracy that the accuracy-based λ* may give up against the best
        (see :func:`best_lambda`).
    rise : float
        Relative rise of the validation cost over its minimum that λ* may
        cost (see :func:`best_lambda_by_cost`).
    stable_slope : float
        |slope| of log λ* on log n_w below which λ* counts as stable (claim 11).
    seeds : int or sequence of int
    confidence : float
        Coverage of the slope intervals.
    executor : concurrent.futures.Executor, optional
    progress : bool

    Returns
    -------
    ConventionResult

    Notes
    -----
    The mean convention's multiplier 1 − ηλ/(n·n_w) equals the sum
    convention's at λ_sum = λ_mean/n_w, so if λ*_sum is independent of n_w
    then λ*_mean ∝ n_w (slope 1), and vice versa.
    """
    data = resolve_data(data)
    widths = check_int_list("widths", widths)
    if len(set(widths)) < 2:
        raise ValueError(f"widths={widths!r} has fewer than two distinct widths; expected >= 2")
    grids = {
        "sum": np.array(sorted(check_positive_list("sum_lmbdas", sum_lmbdas))),
        "mean": np.array(sorted(check_positive_list("mean_lmbdas", mean_lmbdas))),
    }
    for name, grid in grids.items():
        if grid.size < 2:
            raise ValueError(f"{name}_lmbdas has {grid.size} value; expected at least 2")
    ns = tuple(sorted(check_int_list("ns", ns, minimum=batch_size))) if len(ns) else ()
    for i, n in enumerate(ns):
        check_int(f"ns[{i}]", n, minimum=batch_size, maximum=data.train.n)
    transfer_hidden = check_int("transfer_hidden", transfer_hidden, minimum=1)
    if init not in ("large", "scaled"):
        raise ValueError(f"init={init!r} is not recognised; expected 'large' or 'scaled'")
    eta = check_real("eta", eta, positive=True)
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=data.train.n)
    epochs = check_int("epochs", epochs, minimum=1)
    average_epochs = check_int("average_epochs", average_epochs, minimum=1, maximum=epochs)
    tolerance = check_real("tolerance", tolerance, positive=True)
    rise = check_real("rise", rise, positive=True)
    stable_slope = check_real("stable_slope", stable_slope, positive=True)
    seeds = as_seeds(seeds)
    n_in, n_out = data.n_inputs, data.n_classes
    n_max = data.train.n
    for name, grid in grids.items():
        n_weights = min(h * (n_in + n_out) for h in widths)
        scale = 1.0 if name == "sum" else 1.0 / n_weights
        if eta * grid.max() * scale / min([n_max, *ns]) >= 1:
            raise ValueError(
                f"{name}_lmbdas reaches {grid.max():g}, which makes the per-step decay >= 1 for "
                f"eta={eta}; expected smaller values"
            )

    S = len(seeds)
    specs = [
        RunSpec((n_in, h, n_out), init, seed, epochs, batch_size, eta, lam, decay=conv)
        for h in widths
        for conv in CONVENTIONS
        for lam in grids[conv]
        for seed in seeds
    ]
    transfer_specs = [
        RunSpec((n_in, transfer_hidden, n_out), init, seed, epochs, batch_size, eta, lam, n_train=n)
        for n in ns
        for lam in grids["sum"]
        for seed in seeds
    ]
    outcomes = run_many(
        specs + transfer_specs, data, executor=executor, progress=progress, desc="Q6 conventions"
    )
    diverged = [o.spec.describe() for o in outcomes if o.diverged]

    def scores(outcome, lam: float, conv: str, n_train: int) -> tuple[float, float]:
        """(accuracy, validation data cost) of a run over its last epochs; NaN if it diverged."""
        if outcome.diverged:
            return np.nan, np.nan
        h = outcome.history
        last = slice(-average_epochs, None)
        # The recorded evaluation cost includes the run's penalty; λ is chosen on C₀ alone.
        squares = (np.asarray(h.weights["norm"])[last] ** 2).sum(axis=1)
        n_w = sum(a * b for a, b in zip(outcome.spec.sizes[:-1], outcome.spec.sizes[1:]))
        penalty = get_convention(conv).penalty(squares, lam, eta=eta, n=n_train, n_weights=n_w)
        cost = np.asarray(h.evaluation_cost)[last] - penalty
        return float(np.mean(h.evaluation_accuracy[last])), float(np.mean(cost))

    accuracy = {c: np.full((len(widths), S, grids[c].size), np.nan) for c in CONVENTIONS}
    cost = {c: np.full_like(accuracy[c], np.nan) for c in CONVENTIONS}
    it = iter(outcomes)
    for w, conv in itertools.product(range(len(widths)), CONVENTIONS):
        for g in range(grids[conv].size):
            for k in range(S):
                accuracy[conv][w, k, g], cost[conv][w, k, g] = scores(
                    next(it), grids[conv][g], conv, n_max
                )
    transfer_accuracy = np.full((len(ns), S, grids["sum"].size), np.nan)
    transfer_cost = np.full_like(transfer_accuracy, np.nan)
    for i, g, k in itertools.product(range(len(ns)), range(grids["sum"].size), range(S)):
        transfer_accuracy[i, k, g], transfer_cost[i, k, g] = scores(
            next(it), grids["sum"][g], "sum", ns[i]
        )

    n_weights = np.array([h * (n_in + n_out) for h in widths], dtype=np.int64)
    lambda_star, censored, star_estimate, width_fit = {}, {}, {}, {}
    accuracy_star, accuracy_fit = {}, {}
    width_options = {
        "hypotheses": (0.0, 1.0),
        "confidence": confidence,
        "labels": {0.0: "a stable λ*", 1.0: "λ* ∝ n_w"},
    }
    for conv in CONVENTIONS:
        pairs = [
            [best_lambda_by_cost(grids[conv], cost[conv][w, k], rise) for k in range(S)]
            for w in range(len(widths))
        ]
        lambda_star[conv] = np.array([[p[0] for p in row] for row in pairs])
        censored[conv] = np.array([[p[1] for p in row] for row in pairs])
        star_estimate[conv] = [estimate_geometric(lambda_star[conv][w]) for w in range(len(widths))]
        width_fit[conv] = _fit(np.repeat(n_weights, S), lambda_star[conv].ravel(), **width_options)
        accuracy_star[conv] = np.array(
            [
                [best_lambda(grids[conv], accuracy[conv][w, k], tolerance)[0] for k in range(S)]
                for w in range(len(widths))
            ]
        )
        accuracy_fit[conv] = _fit(
            np.repeat(n_weights, S), accuracy_star[conv].ravel(), **width_options
        )

    transfer_pairs = [
        [best_lambda_by_cost(grids["sum"], transfer_cost[i, k], rise) for k in range(S)]
        for i in range(len(ns))
    ]
    transfer_star = np.array([[p[0] for p in row] for row in transfer_pairs]).reshape(len(ns), S)
    transfer_censored = np.array([[p[1] for p in row] for row in transfer_pairs], dtype=bool)
    transfer_censored = transfer_censored.reshape(len(ns), S)
    transfer_loss = {"λ ∝ n": np.full(len(ns), np.nan), "fixed m/(ηλ)": np.full(len(ns), np.nan)}
    n_fit = _fit(
        np.repeat(np.array(ns, dtype=float), S),
        transfer_star.ravel(),
        hypotheses=(1.0, 0.0),
        confidence=confidence,
        labels={1.0: "λ ∝ n (fixed ηλ/n)", 0.0: "fixed λ (fixed m/(ηλ))"},
    )
    if n_fit is not None and np.isfinite(transfer_star).all():
        log_grid = np.log(grids["sum"])
        mean_curves = np.nanmean(transfer_accuracy, axis=1)
        reference = int(np.argmax(ns))
        star_ref = float(np.exp(np.mean(np.log(transfer_star[reference]))))
        for i, n in enumerate(ns):
            best = np.nanmax(mean_curves[i])
            for rule, lam in (("λ ∝ n", star_ref * n / ns[reference]), ("fixed m/(ηλ)", star_ref)):
                # The curve is measured on the grid; between grid points it is interpolated.
                got = np.interp(np.log(lam), log_grid, mean_curves[i])
                transfer_loss[rule][i] = best - got

    all_censored = np.concatenate(
        [censored["sum"].ravel(), censored["mean"].ravel(), transfer_censored.ravel()]
    )
    answer = convention_verdict(
        width_fit,
        n_fit,
        transfer_loss,
        censored_fraction=float(all_censored.mean()) if all_censored.size else 0.0,
        stable_slope=stable_slope,
        n_range=(int(min(ns)), int(max(ns))) if len(ns) else None,
    )
    return ConventionResult(
        settings={
            "data": data.name,
            "n": data.train.n,
            "widths": list(widths),
            "init": init,
            "eta": eta,
            "batch_size": batch_size,
            "epochs": epochs,
            "average_epochs": average_epochs,
            "tolerance": tolerance,
            "rise": rise,
            "stable_slope": stable_slope,
            "sum_lmbdas": grids["sum"].tolist(),
            "mean_lmbdas": grids["mean"].tolist(),
            "ns": list(ns),
            "transfer_hidden": transfer_hidden,
            "seeds": list(seeds),
            "confidence": confidence,
        },
        prediction=(
            "the per-weight decay of the sum convention does not depend on n_w, so if the "
            "right amount of decay per weight does not change with width, λ*_sum stays put "
            "(slope 0) and λ*_mean grows in proportion to n_w (slope 1); across data-set sizes, "
            "Nielsen's rule predicts λ* ∝ n (slope 1), the fixed-timescale rule a fixed λ* "
            "(slope 0)"
        ),
        verdict=answer.headline,
        diverged=diverged,
        widths=np.array(widths, dtype=np.int64),
        n_weights=n_weights,
        grids=grids,
        accuracy=accuracy,
        cost=cost,
        lambda_star=lambda_star,
        censored=censored,
        lambda_star_estimate=star_estimate,
        accuracy_lambda_star=accuracy_star,
        width_fit=width_fit,
        accuracy_width_fit=accuracy_fit,
        ns=np.array(ns, dtype=np.int64),
        transfer_grid=grids["sum"],
        transfer_accuracy=transfer_accuracy,
        transfer_cost=transfer_cost,
        transfer_lambda_star=transfer_star,
        transfer_censored=transfer_censored,
        n_fit=n_fit,
        transfer_loss=transfer_loss,
        evidence=list(answer.evidence),
    )
