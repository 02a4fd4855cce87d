"""The readers' claims, each answered by a verdict word computed from measured numbers.

An experiment's result record returns its claims from :meth:`ExperimentResult.claims`:
one :class:`Claim` per claim it decides, whose ``verdict`` is one of
:data:`VERDICTS`, chosen by a function of the record's numbers (never typed
in), with the one or two numbers that decide it and a short reason.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Claim", "VERDICTS", "MAX_REASON_WORDS"]

#: The four verdict words, from "the numbers support the claim" to "they cannot tell".
VERDICTS = ("holds", "holds with a qualification", "does not hold", "undecided")

#: A reason longer than this is a paragraph, not a reason.
MAX_REASON_WORDS = 30


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
