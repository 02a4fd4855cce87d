"""Question 5's record: each layer's summaries and ‖w‖² budget, their tables, claims 9 and 10."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from decaylab._format import format_range
from decaylab.experiments.claims import STATEMENTS, Claim, format_column, side
from decaylab.experiments.estimates import Estimate
from decaylab.experiments.q5_verdicts import (
    STATISTIC_NAMES,
    direction_of,
    reduction_claim,
    statistic_agreement,
    sum_claim,
)
from decaylab.experiments.records import ExperimentResult

__all__ = ["LayerResult"]


@dataclass
class LayerResult(ExperimentResult):
    """Per-layer summaries before and after training, per data set and λ.

    Conditions c run over ``datasets`` × λ (data-set-major), then the
    reader's run on MNIST at its two λ (``reader``).

    Attributes
    ----------
    datasets : list of str, length C
        Data-set name of each condition.
    sizes : list of list of int, length C
    n : ndarray of int, shape (C,)
        Training-set size.
    lmbdas : ndarray, shape (C,)
        λ used (the sweep's scaled with n so that ηλ/n matches across data sets).
    etas : ndarray, shape (C,)
        η used.
    eta_lambda_over_n : ndarray, shape (C,)
    reader : list of int
        The conditions that are the reader's run (empty without MNIST).
    epoch : ndarray of int, shape (E + 1,)
    trajectories : dict of str to ndarray, shape (C, seeds, E + 1, L)
        "norm", "l1", "variance", "sum" of each layer after each epoch.
    ratio : dict of str to list of list of Estimate, C × L
        final/initial of each statistic ("sum": of |Σw|).
    initial, final : dict of str to list of list of Estimate, C × L
    direction : dict of str to ndarray of int, shape (C, L)
        +1 grows, −1 shrinks, 0 not distinguishable (ratio within two
        standard errors of 1).
    cancellation : list of list of Estimate, C × L
        |Σw| / Σ|w| at the end: how much of the weights' size the plain sum
        cancels away (0 = all, 1 = none).
    sum_sign_flips : ndarray of int, shape (C, L)
        Number of seeds whose Σw changed sign during training.
    final_accuracy : list of Estimate, length C
    total_ratio : list of Estimate, length C
        Final over initial L2 norm of all weights together.
    versus_baseline : list of list of Estimate, C × L
        Each layer's final L2 norm over that of the same seed trained with
        λ = 0 (< 1: L2 made the layer smaller).
    total_versus_baseline : list of Estimate, length C
        The same for all weights together.
    budget : dict of str to ndarray, shape (C, seeds, L)
        Each layer's ‖w‖² budget summed over the run: "contraction" (decay,
        ≤ 0), "radial" and "noise" (the gradient part); they add up to
        ‖w_end‖² − ‖w_start‖².
    decay_share : list of list of Estimate, C × L
        |C| / (|C| + |R| + N) over the run: the share of the layer's ‖w‖²
        changes that decay made.
    push : list of list of Estimate, C × L
        (R + N) / |C|: the gradient's push on ‖w‖² against decay's pull;
        the layer grows when it is above 1.
    evidence : list of str
        The bullets under the verdict (the headline).
    """

    number = 5
    title = "Layers move differently"
    question = (
        "Under the same λ, can one layer's weights shrink while another's grow (a reported "
        "784-30-10 MNIST run: hidden-layer variance 1.01 → 0.08, output-layer variance "
        "1.15 → 3.62)? Which summary statistics are meaningful?"
    )

    datasets: list[str]
    sizes: list[list[int]]
    n: np.ndarray
    lmbdas: np.ndarray
    etas: np.ndarray
    eta_lambda_over_n: np.ndarray
    reader: list[int]
    epoch: np.ndarray
    trajectories: dict
    ratio: dict
    initial: dict
    final: dict
    direction: dict
    cancellation: list[list[Estimate]]
    sum_sign_flips: np.ndarray
    final_accuracy: list[Estimate]
    total_ratio: list[Estimate]
    versus_baseline: list[list[Estimate]]
    total_versus_baseline: list[Estimate]
    budget: dict
    decay_share: list[list[Estimate]]
    push: list[list[Estimate]]
    evidence: list[str]

    def table(self) -> tuple[list[str], list[list[str]]]:
        header = ["data", "λ", "layer", "variance start → end", "L2 norm end/start"]
        header += ["L1 norm end/start", "|Σw| end/start", "|Σw| / Σ|w| at end", "accuracy"]
        C, L = len(self.datasets), len(self.sizes[0]) - 1
        cells = [(c, l) for c in range(C) for l in range(L)]

        def column(values, significant=2):
            return format_column([values[c][l] for c, l in cells], significant)

        start, end = column(self.initial["variance"]), column(self.final["variance"])
        norm, l1 = column(self.ratio["norm"], 3), column(self.ratio["l1"], 3)
        total, cancel = column(self.ratio["sum"]), column(self.cancellation)
        accuracy = format_column(self.final_accuracy)
        rows = []
        for i, (c, l) in enumerate(cells):
            rows.append(
                [
                    self.datasets[c] if l == 0 else "",
                    f"{self.lmbdas[c]:g}" if l == 0 else "",
                    f"{l} ({self.sizes[c][l]}→{self.sizes[c][l + 1]})",
                    f"{start[i]} → {end[i]}",
                    f"{norm[i]} {_arrow(self.direction['norm'][c, l])}",
                    f"{l1[i]} {_arrow(self.direction['l1'][c, l])}",
                    f"{total[i]} {_arrow(self.direction['sum'][c, l])}",
                    cancel[i],
                    accuracy[c] if l == 0 else "",
                ]
            )
        return header, rows

    def tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """The table with its caption, for reports."""
        caption = (
            "Each layer's summaries after training against before (↑ grows, ↓ shrinks, ~ within "
            "two standard errors of 1), how much of Σ|w| the plain sum Σw keeps, and the "
            "final validation accuracy."
        )
        budget = (
            "What decides whether a layer grows: over the whole run, decay's contraction C of "
            "‖w‖² against the gradient's radial (R) and noise (N) terms; the layer grows when "
            "(R + N)/|C| > 1. Its end against its start, and against the same seed at λ = 0 "
            "(claim 9's comparison)."
        )
        return [(caption, *self.table()), (budget, *self.budget_table())]

    def budget_table(self) -> tuple[list[str], list[list[str]]]:
        """Per condition and layer: ηλ/n, the budget ratios, and the two comparisons."""
        header = ["data", "η", "λ", "ηλ/n", "layer", "decay share", "(R + N)/|C|"]
        header += ["L2 norm end/start", "L2 norm end / at λ = 0"]
        C, L = len(self.datasets), len(self.sizes[0]) - 1
        cells = [(c, l) for c in range(C) for l in range(L)]

        def column(values, significant=2):
            return format_column([values[c][l] for c, l in cells], significant)

        share, push = column(self.decay_share), column(self.push)
        norm, versus = column(self.ratio["norm"], 3), column(self.versus_baseline, 3)
        rows = []
        for i, (c, l) in enumerate(cells):
            first = l == 0
            rows.append(
                [
                    (self.datasets[c] + " (reader's run)" * (c in self.reader)) if first else "",
                    f"{self.etas[c]:g}" if first else "",
                    f"{self.lmbdas[c]:g}" if first else "",
                    f"{self.eta_lambda_over_n[c]:.2g}" if first else "",
                    f"{l} ({self.sizes[c][l]}→{self.sizes[c][l + 1]})",
                    share[i],
                    push[i],
                    f"{norm[i]} {_arrow(self.direction['norm'][c, l])}",
                    versus[i],
                ]
            )
        return header, rows

    def claims(self) -> list[Claim]:
        s = self.settings
        total = np.array([direction_of(e) for e in self.total_versus_baseline])
        layers = np.array([[direction_of(e) for e in row] for row in self.versus_baseline])
        word = reduction_claim(total, layers)
        grew = list(zip(*np.nonzero(layers == 1)))
        totals = [e.mean for e in self.total_versus_baseline if e.n]
        reason = {
            "holds": "Every layer, and all weights together, end smaller than without L2.",
            "holds with a qualification": "All weights together end smaller than without L2, "
            f"but a layer ends larger in {len(grew)} runs.",
            "does not hold": "In a run the weights end larger than without L2.",
            "undecided": "A total is within two standard errors of the run without L2.",
        }[word]
        if word == "holds":
            reason = _start_versus_baseline(self) or reason
        evidence = (
            f"final L2 norm / the same seed's at λ = 0: {format_range(min(totals), max(totals), 2)}"
            if totals
            else "not measured"
        )
        if grew:
            c, l = grew[0]
            evidence += (
                f"; layer {l} ×{self.versus_baseline[c][l]} ({self.datasets[c]}, λ = "
                f"{self.lmbdas[c]:g})"
            )
        agree = statistic_agreement(self.direction)
        cancel = np.array([[e.mean for e in row] for row in self.cancellation])
        word10 = sum_claim(agree, cancel, agreement=s["agreement"], cancelled=s["cancelled"])
        reason10 = {
            "holds": "|Σw| moves with the L2 norm and keeps most of Σ|w|.",
            "holds with a qualification": "|Σw| happens to move with the L2 norm here, but keeps "
            f"under {s['cancelled']:g} of Σ|w|: positive and negative weights cancel.",
            "does not hold": f"|Σw| moves with the L2 norm in only {agree['sum'][0]} of "
            f"{agree['sum'][1]} layer-runs: positive and negative weights cancel, so the sum "
            "follows their mean, not their size.",
            "undecided": "No layer's L2 norm changed by more than two standard errors.",
        }[word10]
        counts = ", ".join(
            f"{STATISTIC_NAMES[k]} {a}/{d}" for k, (a, d) in agree.items() if k != "norm"
        )
        return [
            Claim(9, STATEMENTS[9], word, evidence, reason, 5),
            Claim(
                10,
                STATEMENTS[10],
                word10,
                f"moves with the L2 norm in: {counts} layer-runs; |Σw|/Σ|w| "
                + format_range(np.nanmin(cancel), np.nanmax(cancel), 2),
                reason10,
                5,
            ),
        ]


def _start_versus_baseline(result: LayerResult) -> str:
    """Claim 9's reason when a layer grew from its start yet ends smaller than at λ = 0."""
    for c, l in zip(*np.nonzero(np.asarray(result.direction["norm"]) == 1)):
        if side(result.versus_baseline[c][l], 1.0) < 0:
            return (
                f"Every layer ends smaller than at λ = 0, though layer {l} ({result.datasets[c]}, "
                f"λ = {result.lmbdas[c]:g}) grows ×{result.ratio['norm'][c][l].mean:.2f} from its "
                "start: Q5's tables compare with the start."
            )
    return ""


def _arrow(direction: int) -> str:
    return {1: "↑", -1: "↓", 0: "~"}[int(direction)]
