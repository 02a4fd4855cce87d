r"""Question 4: does L2 turn the large initialisation into the scaled one?

The scaled initialisation draws each layer's weights from N(0, 1/n_in), so
their RMS starts at 1/√n_in. This experiment trains the same network three
ways — large N(0, 1) initialisation with L2, scaled initialisation without
L2, scaled initialisation with L2 — and follows each layer's RMS against
1/√n_in, and the validation accuracy, epoch by epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from decaylab._validation import check_int, check_real
from decaylab.experiments.claims import STATEMENTS, Answer, Claim, format_column, side
from decaylab.experiments.estimates import Estimate, estimate
from decaylab.experiments.inputs import as_seeds, resolve_data
from decaylab.experiments.records import ExperimentResult
from decaylab.experiments.runs import RunSpec, run_table

__all__ = [
    "InitialisationResult",
    "emulation_claim",
    "initialisation_comparison",
    "initialisation_verdict",
]


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


def initialisation_verdict(
    labels: Sequence[str],
    scale_ratio_initial: Sequence[Sequence[Estimate]],
    scale_ratio_final: Sequence[Sequence[Estimate]],
    epochs_to_target: Sequence[Estimate],
    final_accuracy: Sequence[Estimate],
    *,
    target_accuracy: float,
    scale_tolerance: float = 2.0,
) -> Answer:
    """Headline and evidence: the approach to 1/√n_in, and the learning curves compared.

    Parameters
    ----------
    labels : sequence of str
        Condition 0 must be the large initialisation with L2 and condition
        2 (when present) the scaled initialisation with the same λ.
    scale_ratio_initial, scale_ratio_final : C × L Estimates
        RMS·√n_in at the start and end of training.
    epochs_to_target, final_accuracy : sequence of Estimate, length C
    target_accuracy : float
    scale_tolerance : float
        A layer "reaches" the scale 1/√n_in when its final RMS·√n_in lies
        within a factor ``scale_tolerance`` of 1.

    Returns
    -------
    Answer
    """
    start, end = scale_ratio_initial[0], scale_ratio_final[0]
    if any(e.n == 0 for e in end):
        return Answer(f"Not measured: every run of {labels[0]} diverged.")
    moves = []
    for l, (a, b) in enumerate(zip(start, end)):
        if abs(np.log(b.mean)) <= np.log(scale_tolerance):
            state = f"reaches 1/√n_in (within ×{scale_tolerance:g})"
        elif abs(np.log(b.mean)) < abs(np.log(a.mean)):
            state = "moves toward 1/√n_in"
        else:
            state = "does not move toward 1/√n_in"
        moves.append(f"layer {l} {state}: RMS·√n_in {a.mean:.3g} → {b}")
    ends = " and ".join(f"{e.mean:.2g}×" for e in end)
    if len(labels) > 2 and all(e.n for e in scale_ratio_final[2]):
        ratio = [e.mean / f.mean for e, f in zip(end, scale_ratio_final[2])]
        headline = (
            f"L2 brings the large initialisation to where the scaled one ends with the same λ "
            f"(final RMS ratio {', '.join(f'{r:.2f}' for r in ratio)}): {ends} 1/√n_in."
        )
    else:
        headline = f"With L2 the large initialisation's layers end at {ends} 1/√n_in."
    evidence = [f"{labels[0]}: " + "; ".join(moves)]
    speed = [
        f"{label} {e}" if e.n else f"{label} never" for label, e in zip(labels, epochs_to_target)
    ]
    evidence.append(f"Epochs to {target_accuracy:.0%} validation accuracy: " + ", ".join(speed))
    measured = [c for c, a in enumerate(final_accuracy) if a.n > 0]
    evidence.append(
        "Final validation accuracy: "
        + ", ".join(f"{labels[c]} {final_accuracy[c]}" for c in measured)
    )
    missing = [labels[c] for c in range(len(labels)) if c not in measured]
    if missing:
        evidence.append("Not measured (every run diverged): " + ", ".join(missing))
    return Answer(headline, evidence)


def _epochs_to(accuracy: np.ndarray, target: float) -> float:
    reached = np.flatnonzero(accuracy >= target)
    return float(reached[0]) if reached.size else np.nan


def initialisation_comparison(
    data=None,
    *,
    hidden: int = 30,
    lmbda: float = 5.0,
    eta: float = 0.5,
    batch_size: int = 10,
    epochs: int = 30,
    target_accuracy: float = 0.9,
    scale_tolerance: float = 2.0,
    match: float = 0.1,
    seeds: int | Sequence[int] = 3,
    executor=None,
    progress: bool = False,
) -> InitialisationResult:
    """Train large+L2, scaled without L2 and scaled+L2; compare weight scales and accuracy.

    Parameters
    ----------
    data : Dataset, optional
        The bundled digits by default; accuracy is measured on ``data.validation``.
    hidden : int
        Width of the hidden layer of the [n_in, hidden, n_classes] network.
    lmbda : float
        λ of the two runs with L2 (sum convention).
    eta, batch_size, epochs : float, int, int
    target_accuracy : float
        The validation accuracy whose first epoch is reported.
    scale_tolerance : float
        Factor within which a layer's RMS counts as having reached 1/√n_in.
    match : float
        Relative difference within which two final scales count as the same (claim 8).
    seeds : int or sequence of int
    executor : concurrent.futures.Executor, optional
    progress : bool

    Returns
    -------
    InitialisationResult
    """
    data = resolve_data(data)
    hidden = check_int("hidden", hidden, minimum=1)
    lmbda = check_real("lmbda", lmbda, positive=True)
    eta = check_real("eta", eta, positive=True)
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=data.train.n)
    epochs = check_int("epochs", epochs, minimum=1)
    target_accuracy = check_real("target_accuracy", target_accuracy, positive=True)
    if target_accuracy > 1:
        raise ValueError(f"target_accuracy={target_accuracy} must be <= 1")
    scale_tolerance = check_real("scale_tolerance", scale_tolerance, positive=True)
    if scale_tolerance <= 1:
        raise ValueError(f"scale_tolerance={scale_tolerance} must be > 1 (a factor)")
    match = check_real("match", match, positive=True)
    seeds = as_seeds(seeds)

    conditions = [("large", lmbda), ("scaled", 0.0), ("scaled", lmbda)]
    labels = [f"large init, λ={lmbda:g}", "scaled init, λ=0", f"scaled init, λ={lmbda:g}"]
    sizes = (data.n_inputs, hidden, data.n_classes)
    runs = {
        label: RunSpec(sizes, init, 0, epochs, batch_size, eta, lam)
        for label, (init, lam) in zip(labels, conditions)
    }
    measure = {
        "rms": lambda outcome: outcome.history.weights.rms,
        "accuracy": lambda outcome: outcome.history.evaluation_accuracy,
    }
    table = run_table(
        runs, seeds, data, measure, executor=executor, progress=progress, desc="Q4 init"
    )
    n_layers = len(sizes) - 1
    reference = 1.0 / np.sqrt(np.array(sizes[:-1], dtype=float))
    rms = table.column("rms", shape=(epochs + 1, n_layers))
    accuracy, diverged = table.column("accuracy", shape=(epochs + 1,)), table.diverged
    ratio = rms / reference
    finished = ~np.isnan(rms[:, :, -1, 0])
    initial = [[estimate(ratio[c, :, 0, l]) for l in range(n_layers)] for c in range(3)]
    final = [[estimate(ratio[c, finished[c], -1, l]) for l in range(n_layers)] for c in range(3)]
    to_target = np.array(
        [
            [
                _epochs_to(accuracy[c, k], target_accuracy) if finished[c, k] else np.nan
                for k in range(len(seeds))
            ]
            for c in range(3)
        ]
    )
    epochs_to_target = [estimate(to_target[c]) for c in range(3)]
    final_accuracy = [estimate(accuracy[c, finished[c], -1]) for c in range(3)]
    answer = initialisation_verdict(
        labels,
        initial,
        final,
        epochs_to_target,
        final_accuracy,
        target_accuracy=target_accuracy,
        scale_tolerance=scale_tolerance,
    )
    return InitialisationResult(
        settings={
            "data": data.name,
            "n": data.train.n,
            "sizes": list(sizes),
            "lmbda": lmbda,
            "eta": eta,
            "batch_size": batch_size,
            "epochs": epochs,
            "target_accuracy": target_accuracy,
            "scale_tolerance": scale_tolerance,
            "match": match,
            "seeds": list(seeds),
        },
        prediction=(
            "L2 shrinks the large-initialised weights every epoch by up to e^(−ηλ/m), so each "
            "layer's RMS·√n_in (√n_in at the start) should fall toward 1, where the scaled "
            "initialisation starts; the scaled initialisation, which starts unsaturated, "
            "should reach a given accuracy in fewer epochs"
        ),
        verdict=answer.headline,
        diverged=diverged,
        labels=labels,
        inits=[c[0] for c in conditions],
        lmbdas=np.array([c[1] for c in conditions]),
        epoch=np.arange(epochs + 1),
        reference=reference,
        weight_rms=rms,
        accuracy=accuracy,
        scale_ratio_initial=initial,
        scale_ratio_final=final,
        epochs_to_target=epochs_to_target,
        reached_target=np.sum(np.isfinite(to_target), axis=1),
        finished=finished.sum(axis=1),
        final_accuracy=final_accuracy,
        evidence=list(answer.evidence),
    )
