"""Question 5's verdicts: each statistic against the L2 norm, claims 9 and 10, the headline.

Functions of measured numbers only: :func:`statistic_agreement`, the claim
words :func:`reduction_claim` and :func:`sum_claim`, and the section's
headline and evidence over the λ sweep (:func:`layer_verdict`); the reader's
run has its own (:func:`~decaylab.experiments.q5_analysis.reader_verdict`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from decaylab.experiments.claims import MAX_HEADLINE, Answer, side
from decaylab.experiments.estimates import Estimate

__all__ = [
    "READER",
    "READER_VARIANCE",
    "STATISTICS",
    "STATISTIC_NAMES",
    "layer_verdict",
    "reduction_claim",
    "statistic_agreement",
    "sum_claim",
]

#: The summaries compared, as named in :class:`decaylab.ParameterStats`.
STATISTICS = ("norm", "l1", "variance", "sum")
STATISTIC_NAMES = {"norm": "L2 norm", "l1": "L1 norm", "variance": "variance", "sum": "sum"}


#: The reader's run: n, η, λ, m of the reported 784-30-10 MNIST run.
READER = {"n": 50000, "eta": 0.1, "lmbda": 5.0, "batch_size": 10}
#: The variances the reader reported, hidden then output layer: (start, end).
READER_VARIANCE = ((1.01, 0.08), (1.15, 3.62))


def direction_of(ratio: Estimate) -> int:
    """+1 when a ratio is above 1 by two standard errors, −1 below, 0 otherwise."""
    return side(ratio, 1.0)


def statistic_agreement(direction: dict) -> dict[str, tuple[int, int]]:
    """For each statistic, in how many layer-runs it moves the way the L2 norm does.

    Parameters
    ----------
    direction : dict of str to ndarray of int, shape (C, L)
        +1, −1 or 0 per statistic, as in :class:`LayerResult`.

    Returns
    -------
    dict of str to (int, int)
        (agreeing, decided) counts, over the layer-runs whose L2 norm moved
        by more than two standard errors.
    """
    norm = np.asarray(direction["norm"])
    decided = norm != 0
    return {
        stat: (
            int((np.asarray(direction[stat])[decided] == norm[decided]).sum()),
            int(decided.sum()),
        )
        for stat in STATISTICS
    }


def reduction_claim(total: np.ndarray, layers: np.ndarray) -> str:
    """Claim 9's verdict word: does L2 shrink the weights, in total and layer by layer?

    Parameters
    ----------
    total : ndarray of int, shape (C,)
        Direction of the total L2 norm at the end against the run without L2,
        per run condition (+1 larger, −1 smaller, 0 undecided).
    layers : ndarray of int, shape (C, L)
        The same per layer.

    Returns
    -------
    str
        "does not hold" when a total is larger; "undecided" when a total is
        undecided; "holds with a qualification" when every total is smaller
        but a layer is larger; "holds" when everything is smaller.
    """
    total, layers = np.asarray(total), np.asarray(layers)
    if (total == 1).any():
        return "does not hold"
    if (total == 0).any():
        return "undecided"
    if (layers == 1).any():
        return "holds with a qualification"
    return "holds"


def sum_claim(
    counts: dict[str, tuple[int, int]],
    cancellation: np.ndarray,
    *,
    agreement: float = 0.9,
    cancelled: float = 0.5,
) -> str:
    """Claim 10's verdict word: does the plain sum Σw measure the weights' size?

    Parameters
    ----------
    counts : dict of str to (int, int)
        :func:`statistic_agreement` of the record; "sum" is used.
    cancellation : ndarray, shape (C, L)
        |Σw| / Σ|w| at the end of each layer-run.
    agreement : float
        Fraction of layer-runs in which |Σw| must move the way the L2 norm does.
    cancelled : float
        |Σw| / Σ|w| below which the sum has cancelled most of the size away.

    Returns
    -------
    str
        "undecided" when no layer's L2 norm moved clearly; "does not hold"
        when |Σw| agrees with the L2 norm in fewer than ``agreement`` of the
        layer-runs; "holds with a qualification" when it agrees but some
        layer's |Σw|/Σ|w| is below ``cancelled``; "holds" otherwise.
    """
    agree, decided = counts["sum"]
    if decided == 0:
        return "undecided"
    if agree < agreement * decided:
        return "does not hold"
    if np.nanmin(cancellation) < cancelled:
        return "holds with a qualification"
    return "holds"


def layer_verdict(
    datasets: Sequence[str],
    lmbdas: np.ndarray,
    ratio: dict,
    direction: dict,
    cancellation: Sequence[Sequence[Estimate]],
    sum_sign_flips: np.ndarray,
    n_seeds: int,
) -> Answer:
    """Headline and evidence: opposite-moving layers, and each statistic against the L2 norm.

    Parameters
    ----------
    datasets : sequence of str, length C
    lmbdas : ndarray, shape (C,)
    ratio, direction : dict
        As in :class:`LayerResult`.
    cancellation : C × L Estimates
    sum_sign_flips : ndarray of int, shape (C, L)
    n_seeds : int

    Returns
    -------
    Answer
    """
    norm_dir = np.asarray(direction["norm"])
    measured = [c for c in range(len(datasets)) if np.isfinite(ratio["norm"][c][0].mean)]
    if not measured:
        return Answer("Not measured: every run diverged.")
    opposite = [c for c in measured if (norm_dir[c] == 1).any() and (norm_dir[c] == -1).any()]
    counts = statistic_agreement(direction)
    agree, decided = counts["sum"]
    evidence = []
    for c in opposite:
        moves = ", ".join(
            f"layer {l} ×{ratio['norm'][c][l].mean:.2f}" for l in range(norm_dir.shape[1])
        )
        evidence.append(f"{datasets[c]}, λ = {lmbdas[c]:g}: L2 norm {moves}.")
    if opposite:
        # The clearest example: the run whose layers moved furthest apart.
        c = max(opposite, key=lambda c: np.ptp(np.log([e.mean for e in ratio["norm"][c]])))
        moves = ", ".join(
            f"layer {l}'s{' L2 norm' * (l == 0)} ×{ratio['norm'][c][l].mean:.2f}"
            for l in range(norm_dir.shape[1])
        )
        headline = (
            f"Yes, in {len(opposite)} of {len(measured)} runs: at λ = {lmbdas[c]:g} "
            f"({datasets[c]}) {moves}; the plain sum follows the L2 norm in {agree} of "
            f"{decided} layer-runs."
        )
        if len(headline) > MAX_HEADLINE:
            headline = (
                f"Yes, in {len(opposite)} of {len(measured)} runs one layer's L2 norm grows while "
                f"another's shrinks; the plain sum follows it in {agree} of {decided} layer-runs."
            )
    else:
        headline = (
            f"No run had one layer's L2 norm grow while another's shrank; the plain sum follows "
            f"the L2 norm in {agree} of {decided} layer-runs."
        )
    evidence.append(
        "Layer-runs in which each statistic moves the way the L2 norm does: "
        + ", ".join(f"{STATISTIC_NAMES[k]} {a}/{d}" for k, (a, d) in counts.items() if k != "norm")
        + "."
    )
    cancel = np.array([[e.mean for e in row] for row in cancellation])
    if np.isfinite(cancel).any():
        evidence.append(
            f"|Σw| is {np.nanmin(cancel):.1%}–{np.nanmax(cancel):.1%} of Σ|w| at the end, and Σw "
            f"changed sign in {int(sum_sign_flips.sum())} of {sum_sign_flips.size * n_seeds} "
            "layer-seeds: positive and negative weights cancel."
        )
    return Answer(headline, evidence)
