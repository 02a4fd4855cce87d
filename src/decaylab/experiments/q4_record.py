"""Question 4's record: each layer's scale against 1/√n_in, the learning curves, claim 8."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from decaylab.experiments.claims import STATEMENTS, Claim, format_column, side
from decaylab.experiments.estimates import Estimate
from decaylab.experiments.records import ExperimentResult

__all__ = ["InitialisationResult", "emulation_claim"]


@dataclass
class InitialisationResult(ExperimentResult):
    """Per-layer weight scale and learning curves of three initialisation/L2 conditions.

    Conditions c: 0 = large init with L2 (λ), 1 = scaled init without L2,
    2 = scaled init with L2 (λ).

    Attributes
    ----------
    labels : list of str, length 3
    inits : list of str, length 3
    lmbdas : ndarray, shape (3,)
    epoch : ndarray of int, shape (E + 1,)
    reference : ndarray, shape (L,)
        1/√n_in of each weight layer.
    weight_rms : ndarray, shape (3, seeds, E + 1, L)
        RMS of each layer's weights after each epoch (NaN after a divergence).
    accuracy : ndarray, shape (3, seeds, E + 1)
        Validation accuracy after each epoch.
    scale_ratio_initial, scale_ratio_final : list of list of Estimate, 3 × L
        RMS·√n_in before training and after the last epoch.
    epochs_to_target : list of Estimate, length 3
        First epoch at which validation accuracy reached ``target_accuracy``
        (over the seeds that reached it).
    reached_target : ndarray of int, shape (3,)
        How many seeds reached it.
    finished : ndarray of int, shape (3,)
        How many seeds trained all epochs without diverging.
    final_accuracy : list of Estimate, length 3
        Validation accuracy after the last epoch.
    evidence : list of str
        The bullets under the verdict (the headline).
    """

    number = 4
    title = "Large initialisation with L2 against the scaled initialisation"
    question = (
        "Does L2 with the large N(0, 1) initialisation drive each layer's weights toward the "
        "scale 1/√n_in that the scaled N(0, 1/n_in) initialisation starts from, and how do the "
        "learning curves compare?"
    )

    labels: list[str]
    inits: list[str]
    lmbdas: np.ndarray
    epoch: np.ndarray
    reference: np.ndarray
    weight_rms: np.ndarray
    accuracy: np.ndarray
    scale_ratio_initial: list[list[Estimate]]
    scale_ratio_final: list[list[Estimate]]
    epochs_to_target: list[Estimate]
    reached_target: np.ndarray
    finished: np.ndarray
    final_accuracy: list[Estimate]
    evidence: list[str]

    def table(self) -> tuple[list[str], list[list[str]]]:
        n_layers = len(self.reference)
        target = self.settings["target_accuracy"]
        header = ["condition"]
        header += [f"layer {l}: RMS·√n_in start → end" for l in range(n_layers)]
        header += [f"epochs to {target:.0%}", "final accuracy"]
        columns = []
        for l in range(n_layers):
            start = format_column([row[l] for row in self.scale_ratio_initial], 2)
            end = format_column([row[l] for row in self.scale_ratio_final], 2)
            columns.append([f"{a} → {b}" for a, b in zip(start, end)])
        to_target = format_column(self.epochs_to_target, 2)
        columns.append(
            [
                f"{t} ({int(r)}/{int(f)} seeds)" if r else f"not reached ({int(f)} seeds)"
                for t, r, f in zip(to_target, self.reached_target, self.finished)
            ]
        )
        columns.append(format_column(self.final_accuracy))
        rows = [[label] + [column[c] for column in columns] for c, label in enumerate(self.labels)]
        return header, rows

    def tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """The table with its caption, for reports."""
        caption = (
            "Each layer's RMS in units of 1/√n_in (1 = the scaled initialisation's start) "
            "before and after training, and the validation accuracy of each condition."
        )
        return [(caption, *self.table())]

    def claims(self) -> list[Claim]:
        s = self.settings
        word = emulation_claim(
            self.scale_ratio_initial[0],
            self.scale_ratio_final[0],
            self.scale_ratio_final[2],
            self.final_accuracy[0],
            self.final_accuracy[2],
            scale_tolerance=s["scale_tolerance"],
            match=s["match"],
        )
        ends = ", ".join(f"{e.mean:.2g}" for e in self.scale_ratio_final[0])
        scaled = ", ".join(f"{e.mean:.2g}" for e in self.scale_ratio_final[2])
        reason = {
            "holds": f"Every layer ends within ×{s['scale_tolerance']:g} of 1/√n_in, with the "
            "scaled initialisation's accuracy.",
            "holds with a qualification": "Every layer moves toward 1/√n_in and ends where the "
            "scaled initialisation with the same λ ends, but that is λ's scale, not 1/√n_in.",
            "does not hold": "A layer does not move toward 1/√n_in, nor to the scaled "
            "initialisation's scale.",
            "undecided": "Not measured: every run diverged.",
        }[word]
        return [
            Claim(
                8,
                STATEMENTS[8],
                word,
                f"final RMS·√n_in per layer {ends} (scaled init, same λ: {scaled}); accuracy "
                f"{self.final_accuracy[0]} vs {self.final_accuracy[2]}",
                reason,
                4,
            )
        ]


def emulation_claim(
    start: Sequence[Estimate],
    end: Sequence[Estimate],
    scaled_end: Sequence[Estimate],
    accuracy: Estimate,
    scaled_accuracy: Estimate,
    *,
    scale_tolerance: float = 2.0,
    match: float = 0.1,
) -> str:
    """Claim 8's verdict word: does L2 turn the large initialisation into the scaled one?

    Parameters
    ----------
    start, end : sequence of Estimate, length L
        RMS·√n_in of each layer of the large initialisation with L2, before and after.
    scaled_end : sequence of Estimate, length L
        The same, at the end, for the scaled initialisation with the same λ.
    accuracy, scaled_accuracy : Estimate
        Final validation accuracy of the two.
    scale_tolerance : float
        A layer "reaches" 1/√n_in when it ends within this factor of it.
    match : float
        Relative difference within which two final scales are the same.

    Returns
    -------
    str
        "holds" when every layer reaches 1/√n_in and the accuracies do not
        differ by more than two standard errors; "holds with a qualification"
        when every layer moves toward 1/√n_in and ends at the scaled
        initialisation's scale (within ``match``) without reaching 1/√n_in,
        or reaches it at a lower accuracy; "does not hold" otherwise;
        "undecided" when nothing was measured.
    """
    values = [*start, *end, *scaled_end]
    if any(e.n == 0 for e in values):
        return "undecided"
    start_log = np.abs(np.log([e.mean for e in start]))
    end_log = np.abs(np.log([e.mean for e in end]))
    toward = bool((end_log < start_log).all())
    reaches = bool((end_log <= np.log(scale_tolerance)).all())
    same = bool(
        (
            np.abs(np.log([e.mean / f.mean for e, f in zip(end, scaled_end)])) <= np.log1p(match)
        ).all()
    )
    gap = Estimate(
        accuracy.mean - scaled_accuracy.mean,
        float(np.hypot(*(x.stderr if x.n > 1 else 0.0 for x in (accuracy, scaled_accuracy)))),
        min(accuracy.n, scaled_accuracy.n),
    )
    if reaches and side(gap, 0.0) >= 0:
        return "holds"
    if toward and (same or reaches):
        return "holds with a qualification"
    return "does not hold"
