"""Question 2's verdicts: the words of claims 3 and 4, and the section's headline.

Functions of computed and measured numbers only: :func:`condition_claim`,
:func:`closed_form_claim`, :func:`limit_claim` and :func:`factor_verdict`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from decaylab.experiments.claims import Answer
from decaylab.experiments.estimates import Estimate

__all__ = ["closed_form_claim", "condition_claim", "factor_verdict", "limit_claim"]


def condition_claim(threshold: np.ndarray, *, much_less: float = 0.01) -> str:
    """Claim 3's verdict word: is ηλ ≪ n enough for e^{−ηλ/m} to be within the tolerance?

    Parameters
    ----------
    threshold : ndarray, shape (T,)
        The exact threshold of ηλ/n of each (n, m) (:func:`exact_threshold`).
    much_less : float
        The ηλ/n that reads "ηλ ≪ n" (0.01: ηλ a hundredth of n).

    Returns
    -------
    str
        "undecided" when no threshold is finite; "holds" when every threshold
        is at or above ``much_less`` (ηλ ≪ n suffices everywhere); otherwise
        "holds with a qualification": the closed form holds for small enough
        ηλ/n, but how small depends on n and m, not on ηλ/n alone.
    """
    threshold = np.asarray(threshold, dtype=float)
    finite = threshold[np.isfinite(threshold)]
    if finite.size == 0:
        return "undecided"
    if (finite >= much_less).all():
        return "holds"
    return "holds with a qualification"


def closed_form_claim(
    eta_lambda_over_n: np.ndarray,
    relative_error: np.ndarray,
    crossover: np.ndarray,
    *,
    tolerance: float = 0.01,
) -> str:
    """Claim 3's verdict word: is e^{−ηλ/m} the per-epoch factor wherever ηλ/n is small enough?

    Parameters
    ----------
    eta_lambda_over_n, relative_error : ndarray, shape (S,)
        ηλ/n and closed/exact − 1 of each setting.
    crossover : ndarray, shape (S,)
        The crossover ηλ/n of each setting's batch size (:func:`crossover`).
    tolerance : float

    Returns
    -------
    str
        "holds" when every setting below its crossover is within
        ``tolerance``; "does not hold" when one is not; "undecided" when no
        setting lies below its crossover.
    """
    inside = np.asarray(eta_lambda_over_n) <= np.asarray(crossover)
    if not inside.any():
        return "undecided"
    if (np.abs(np.asarray(relative_error)[inside]) <= tolerance).all():
        return "holds"
    return "does not hold"


def limit_claim(
    limit_slope: np.ndarray, ceiling_term: np.ndarray, *, tolerance: float = 0.01
) -> str:
    """Claim 4's verdict word: (1 − ηλ/n)^{n/m} → e^{−ηλ/m}, and the role of ⌈n/m⌉.

    Parameters
    ----------
    limit_slope : ndarray, shape (S,)
        Slope of log |(1 − ηλ/n)^{n/m} e^{ηλ/m} − 1| against log n at fixed
        η, λ, m (−1 for an error ∝ 1/n).
    ceiling_term : ndarray, shape (S,)
        a(⌈n/m⌉ − n/m) at the data's n: the error an epoch of ⌈n/m⌉ steps adds.
    tolerance : float

    Returns
    -------
    str
        "does not hold" when some error does not fall with n (slope > −0.5);
        else "holds with a qualification" when the ceiling term exceeds
        ``tolerance`` somewhere, "holds" when it does not.
    """
    if (np.asarray(limit_slope) > -0.5).any():
        return "does not hold"
    if (np.abs(np.asarray(ceiling_term)) > tolerance).any():
        return "holds with a qualification"
    return "holds"


def _headline(crossover, ratio, ok, tolerance, threshold, threshold_ceiling) -> str:
    """Where e^(−ηλ/m) is within ``tolerance``: the exact thresholds when given, else the grid's."""
    followed = (
        f"; training follows the exact factor (measured/exact {np.min(ratio[ok]):.3f}–"
        f"{np.max(ratio[ok]):.3f})"
        if ok.any()
        else ""
    )
    if threshold is None or threshold_ceiling is None:
        low, high = float(np.min(crossover)), float(np.max(crossover))
        return (
            f"e^(−ηλ/m) is within {tolerance:.0%} of the exact factor only while ηλ/n < "
            f"{low:.2g}–{high:.2g}, depending on m{followed}."
        )
    parts = []
    for mask, label in (
        (threshold_ceiling == 0, "if m divides n"),
        (threshold_ceiling > 0, "if not"),
    ):
        if mask.any():
            parts.append(f"{np.min(threshold[mask]):.2g}–{np.max(threshold[mask]):.2g} {label}")
    return (
        f"e^(−ηλ/m) is within {tolerance:.0%} of the exact factor only while ηλ/n < "
        f"{', '.join(parts)}: ηλ ≪ n is not enough{followed}."
    )


def factor_verdict(
    eta_lambda_over_n: np.ndarray,
    relative_error: np.ndarray,
    exact: np.ndarray,
    closed_form: np.ndarray,
    leading_term: np.ndarray,
    measured: Sequence[Estimate],
    crossover: np.ndarray,
    *,
    tolerance: float = 0.01,
    threshold: np.ndarray | None = None,
    threshold_ceiling: np.ndarray | None = None,
) -> Answer:
    """Headline and evidence: where the closed form holds, and what training follows.

    Parameters
    ----------
    eta_lambda_over_n, relative_error, exact, closed_form, leading_term : ndarray, shape (S,)
        As in :class:`FactorResult`.
    measured : sequence of Estimate, length S
        The measured first-epoch factors.
    crossover : ndarray, shape (S,)
        The crossover ηλ/n of each setting's batch size.
    tolerance : float
        The closed form "holds" where |closed/exact − 1| <= tolerance.
    threshold, threshold_ceiling : ndarray, shape (T,), optional
        The exact thresholds of ηλ/n and their ⌈n/m⌉ − n/m (as in
        :class:`FactorResult`); when given, the headline states them for m
        dividing n and not, instead of the grid's leading-order crossovers.

    Returns
    -------
    Answer
    """
    holds = np.abs(relative_error) <= tolerance
    mean = np.array([e.mean for e in measured])
    ok = np.isfinite(mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = mean / exact
    headline = _headline(crossover, ratio, ok, tolerance, threshold, threshold_ceiling)
    evidence = []
    if (~holds).any():
        worst = int(np.argmax(np.abs(relative_error)))
        evidence.append(
            "Beyond the crossover it fails: closed/exact = "
            f"{closed_form[worst] / exact[worst]:.3g} at ηλ/n = {eta_lambda_over_n[worst]:.2g}."
        )
    small = np.abs(leading_term) < 0.1
    if small.any():
        misfit = np.abs(relative_error[small] / leading_term[small] - 1.0)
        evidence.append(
            f"The leading-order error a(⌈n/m⌉ − n/m) + ⌈n/m⌉a²/2 (a = ηλ/n) is within "
            f"{misfit.max():.1%} of the actual error in the {int(small.sum())} settings where it "
            "is below 0.1."
        )
    evidence.append(
        f"In {int(holds.sum())} of {holds.size} settings the closed form is within "
        f"{tolerance:.0%}: exactly those with ηλ/n below their m's crossover."
        if np.array_equal(holds, eta_lambda_over_n <= crossover)
        else f"In {int(holds.sum())} of {holds.size} settings the closed form is within "
        f"{tolerance:.0%}."
    )
    if ok.any():
        failing = ~holds & ok
        with np.errstate(divide="ignore", invalid="ignore"):
            nearer = np.abs(np.log(ratio)) < np.abs(np.log(mean / closed_form))
        if failing.any():
            evidence.append(
                f"Where the closed form fails, the measured factor is nearer the exact one in "
                f"{int((nearer & failing).sum())} of {int(failing.sum())} settings."
            )
    else:
        evidence.append("No measured factor: every run diverged.")
    return Answer(headline, evidence)
