r"""Question 4: does L2 turn the large initialisation into the scaled one?

The scaled initialisation draws each layer's weights from N(0, 1/n_in), so
their RMS starts at 1/√n_in. This experiment trains the same network three
ways — large N(0, 1) initialisation with L2, scaled initialisation without
L2, scaled initialisation with L2 — and follows each layer's RMS against
1/√n_in, and the validation accuracy, epoch by epoch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from decaylab.experiments.claims import Answer
from decaylab.experiments.estimates import Estimate, estimate
from decaylab.experiments.inputs import resolve_data
from decaylab.experiments.pipeline import checked, echo, estimates, tabulate
from decaylab.experiments.q4_record import InitialisationResult, emulation_claim
from decaylab.experiments.runs import RunSpec

__all__ = [
    "InitialisationResult",
    "emulation_claim",
    "initialisation_comparison",
    "initialisation_verdict",
]


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


_RULES = {
    "hidden": "count", "lmbda": "positive", "eta": "positive", "batch_size": "batch",
    "epochs": "count", "target_accuracy": "positive", "scale_tolerance": "positive",
    "match": "positive", "seeds": "seeds",
}  # fmt: skip


def _measure(outcome) -> dict:
    """Each layer's weight RMS and the validation accuracy, after each epoch."""
    history = outcome.history
    return {"rms": history.weights.rms, "accuracy": history.evaluation_accuracy}


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
    s = checked(
        data, _RULES, hidden=hidden, lmbda=lmbda, eta=eta, batch_size=batch_size, epochs=epochs,
        target_accuracy=target_accuracy, scale_tolerance=scale_tolerance, match=match,
        seeds=seeds,
    )  # fmt: skip
    if s["target_accuracy"] > 1:
        raise ValueError(f"target_accuracy={s['target_accuracy']} must be <= 1")
    if s["scale_tolerance"] <= 1:
        raise ValueError(f"scale_tolerance={s['scale_tolerance']} must be > 1 (a factor)")
    lam, E = s["lmbda"], s["epochs"]
    conditions = [("large", lam), ("scaled", 0.0), ("scaled", lam)]
    labels = [f"large init, λ={lam:g}", "scaled init, λ=0", f"scaled init, λ={lam:g}"]
    sizes = (data.n_inputs, s.pop("hidden"), data.n_classes)
    runs = {
        label: RunSpec(sizes, init, 0, E, s["batch_size"], s["eta"], value)
        for label, (init, value) in zip(labels, conditions)
    }
    table = tabulate(runs, s["seeds"], data, _measure, executor=executor, progress=progress,
                     desc="Q4 init")  # fmt: skip
    reference = 1.0 / np.sqrt(np.array(sizes[:-1], dtype=float))
    rms = table.column("rms", shape=(E + 1, len(sizes) - 1))
    accuracy = table.column("accuracy", shape=(E + 1,))
    ratio = rms / reference
    finished = ~np.isnan(rms[:, :, -1, 0])
    initial = [estimates(ratio[c, :, 0].T) for c in range(3)]
    final = [estimates(ratio[c, finished[c], -1].T) for c in range(3)]
    first = np.apply_along_axis(_epochs_to, 2, accuracy, s["target_accuracy"])
    to_target = np.where(finished, first, np.nan)
    final_accuracy = [estimate(accuracy[c, finished[c], -1]) for c in range(3)]
    epochs_to_target = estimates(to_target)
    answer = initialisation_verdict(
        labels, initial, final, epochs_to_target, final_accuracy,
        target_accuracy=s["target_accuracy"], scale_tolerance=s["scale_tolerance"],
    )  # fmt: skip
    return InitialisationResult(
        settings=echo(data, sizes=list(sizes), **s),
        prediction=(
            "L2 shrinks the large-initialised weights every epoch by up to e^(−ηλ/m), so each "
            "layer's RMS·√n_in (√n_in at the start) should fall toward 1, where the scaled "
            "initialisation starts; the scaled initialisation, which starts unsaturated, "
            "should reach a given accuracy in fewer epochs"
        ),
        verdict=answer.headline,
        diverged=table.diverged,
        labels=labels,
        inits=[c[0] for c in conditions],
        lmbdas=np.array([c[1] for c in conditions]),
        epoch=np.arange(E + 1),
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
