"""The readers' claims, each answered by a verdict word computed from measured numbers.

An experiment's result record returns its claims from :meth:`ExperimentResult.claims`:
one :class:`Claim` per claim it decides, whose ``verdict`` is one of
:data:`VERDICTS`, chosen by a function of the record's numbers (never typed
in), with the one or two numbers that decide it and a short reason.

The helpers here are shared by every experiment so that all of them read
alike: :class:`Answer` (a one-line headline and short evidence bullets),
:func:`side` (where an estimate lies against a threshold, by its standard
error), :func:`format_column` (one number format for a table column) and
:func:`not_measured` (the row of a claim no experiment of a run decided).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from decaylab.experiments.estimates import Estimate, format_measured

__all__ = [
    "Answer",
    "Claim",
    "MAX_CELL",
    "MAX_HEADLINE",
    "MAX_REASON_WORDS",
    "STATEMENTS",
    "VERDICTS",
    "format_column",
    "not_measured",
    "side",
]

#: The four verdict words, from "the numbers support the claim" to "they cannot tell".
VERDICTS = ("holds", "holds with a qualification", "does not hold", "undecided")

#: A reason longer than this is a paragraph, not a reason.
MAX_REASON_WORDS = 30

#: Longest headline of a section (one line of a page).
MAX_HEADLINE = 200

#: Longest evidence bullet, claim field or table cell.
MAX_CELL = 300

#: The claims of the design notes, as a reader states them.
STATEMENTS = {
    1: "With λ not too small, the first epochs are dominated almost entirely by weight decay.",
    2: "(A reader's reason for 1.) The mini-batch gradient is about 0 in those epochs.",
    3: "Provided ηλ ≪ n, the weights decay by e^(−ηλ/m) per epoch (and how small ηλ/n must be).",
    4: "(A reader's derivation.) (1 − ηλ/n)^(n/m) → e^(−ηλ/m) as n → ∞.",
    5: "With λ not too large, decay tails off when the weights are around 1/n_w.",
    6: "… or around 1/√n_w: the scaling and the level.",
    7: "(A reader's doubt.) The decay component vanishes in later epochs, irrespective of "
    "the weights.",
    8: "L2 with N(0, 1) initialisation drives each layer toward the N(0, 1/n_in) scale.",
    9: "L2 reduces the weights, in total and layer by layer.",
    10: "The plain sum of the weights measures their size (against L1, L2, variance).",
    11: "As the model grows, the sum-of-squares penalty keeps the best λ stable (against the "
    "mean).",
    12: "As the data set grows, λ should grow in proportion to n, rather than stay fixed.",
}

def _check_line(name: str, text: str, limit: int) -> None:
    if not isinstance(text, str):
        raise TypeError(f"{name} has type {type(text).__name__}; expected str")
    if "\n" in text or len(text) > limit:
        raise ValueError(
            f"{name} has {len(text)} characters and {text.count(chr(10))} line breaks; "
            f"expected one line of at most {limit} characters: {text!r}"
        )


@dataclass(frozen=True)
class Claim:
    """One claim under test and its answer.

    Attributes
    ----------
    number : int
        The claim's number in the design notes (1–12; later experiments
        continue the numbering).
    statement : str
        The claim, as a reader states it.
    verdict : str
        One of :data:`VERDICTS`, computed from the measured numbers.
    evidence : str
        The one or two numbers that decide it, with their uncertainty.
    reason : str
        Why the numbers give this verdict, in at most
        :data:`MAX_REASON_WORDS` words.
    question : int
        The number of the experiment (the report section) that measures it.
    """

    number: int
    statement: str
    verdict: str
    evidence: str
    reason: str
    question: int

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r} is not one of {VERDICTS}")
        words = len(self.reason.split())
        if words > MAX_REASON_WORDS:
            raise ValueError(
                f"reason has {words} words; expected at most {MAX_REASON_WORDS}: {self.reason!r}"
            )
        for name in ("statement", "evidence", "reason"):
            _check_line(name, getattr(self, name), MAX_CELL)


def not_measured(number: int, statement: str | None = None, question: int | None = None) -> Claim:
    """The claims-table row of a claim that no experiment of this run decided.

    ``statement`` defaults to the design notes' (:data:`STATEMENTS`);
    ``question`` is the number of the experiment that decides the claim (0: none).
    """
    return Claim(
        number,
        STATEMENTS.get(number, f"claim {number}") if statement is None else statement,
        "undecided",
        "not measured",
        "No experiment in this run returned this claim.",
        0 if question is None else question,
    )


@dataclass(frozen=True)
class Answer:
    """What a section of the report says first: a headline, then evidence bullets.

    Every experiment's verdict function returns one, so that all sections
    read alike: the headline (the answer and its decisive number) fits on
    one line, and each bullet carries one piece of evidence with its number.

    Attributes
    ----------
    headline : str
        One line, at most :data:`MAX_HEADLINE` characters.
    evidence : tuple of str
        Bullets of at most :data:`MAX_CELL` characters each.
    """

    headline: str
    evidence: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line("headline", self.headline, MAX_HEADLINE)
        object.__setattr__(self, "evidence", tuple(self.evidence))
        for i, bullet in enumerate(self.evidence):
            _check_line(f"evidence[{i}]", bullet, MAX_CELL)

    def __str__(self) -> str:
        return self.headline


def side(value: Estimate, threshold: float, k: float = 2.0) -> int:
    """Where an estimate lies against a threshold: +1 above, −1 below, 0 undecided.

    Parameters
    ----------
    value : Estimate
    threshold : float
    k : float
        Standard errors the mean must clear the threshold by. A single
        sample (no standard error) is judged by its value alone.

    Returns
    -------
    int
        +1 when mean − k·stderr > threshold, −1 when mean + k·stderr <
        threshold, 0 otherwise or when nothing was measured.
    """
    if value.n == 0 or math.isnan(value.mean):
        return 0
    if value.lower(k) > threshold:
        return 1
    if value.upper(k) < threshold:
        return -1
    return 0


def format_column(values: Sequence[Estimate | float], significant: int = 3) -> list[str]:
    """Format the numbers of one table column alike: one notation, one number of decimals.

    Parameters
    ----------
    values : sequence of Estimate or float
        The column; NaN (or an Estimate of no samples) shows as "n/a".
    significant : int
        Significant digits of the smallest non-zero magnitude in the column.

    Returns
    -------
    list of str
        Fixed-point with a common number of decimals when every magnitude
        lies in [10⁻³, 10⁵); otherwise scientific notation with
        ``significant`` digits for all. An Estimate with a standard error
        shows it to two significant digits after "±", its mean rounded to the
        error's first digit (:func:`~decaylab.experiments.estimates.format_measured`).

    Examples
    --------
    >>> format_column([Estimate(620.0, 2.1, 3), Estimate(1100.0, 0.22, 3)])
    ['620 ± 2.1', '1100.0 ± 0.22']
    >>> format_column([2.6e-05, 0.78])
    ['2.60e-05', '7.80e-01']
    """
    means = [v.mean if isinstance(v, Estimate) else float(v) for v in values]
    errors = [
        v.stderr if isinstance(v, Estimate) and v.n > 1 and math.isfinite(v.stderr) else None
        for v in values
    ]
    sizes = [abs(m) for m in means if math.isfinite(m) and m != 0]
    if not sizes:
        return ["n/a" if not math.isfinite(m) else "0" for m in means]
    fixed = min(sizes) >= 1e-3 and max(sizes) < 1e5
    if fixed:
        decimals = max(0, significant - 1 - math.floor(math.log10(min(sizes))))

        def show(x: float) -> str:
            return f"{x:.{decimals}f}"

    else:

        def show(x: float) -> str:
            return f"{x:.{significant - 1}e}"

    out = []
    for m, e in zip(means, errors):
        if not math.isfinite(m):
            out.append("n/a")
        elif e is None or e <= 0:
            out.append(show(m))
        elif fixed:
            # The value to its error's first digit, the error to two digits (one convention).
            out.append(format_measured(m, e))
        else:
            out.append(f"{show(m)} ± {e:.1e}")
    return out
