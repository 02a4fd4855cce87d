r"""Question 5: under one λ, can one layer shrink while another grows?

A reader ran Nielsen's [784, 30, 10] network on MNIST (n = 50,000) from the
large initialisation with η = 0.1, λ = 5, m = 10 for 30 epochs and saw the
hidden layer's weight variance go 1.01 → 0.08 while the output layer's went
1.15 → 3.62. This experiment runs that setting on the bundled real MNIST
images, at λ = 5 and at the λ that gives the reader's per-step decay ηλ/n on
the smaller training set, and a λ sweep of a [64, 30, 10] network on the
bundled digits. It follows four per-layer summaries (the L2 norm, the
quantity L2 regularises, the L1 norm, the variance and the plain sum of the
weights) and each layer's ‖w‖² budget (decay's contraction C, the gradient's
radial term R and noise term N), which decides whether a layer grows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from decaylab._format import format_range
from decaylab._validation import check_int, check_real
from decaylab.data import Dataset, load_digits, load_mnist
from decaylab.experiments.claims import (
    MAX_HEADLINE,
    STATEMENTS,
    Answer,
    Claim,
    format_column,
    side,
)
from decaylab.experiments.estimates import Estimate, estimate
from decaylab.experiments.inputs import as_seeds, check_positive_list
from decaylab.experiments.records import ExperimentResult
from decaylab.experiments.runs import RunSpec, run_many

__all__ = [
    "LayerResult",
    "layer_movement",
    "layer_verdict",
    "reader_lmbdas",
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


def reader_lmbdas(n: int, *, lmbda: float = 5.0, reader_n: int = 50000) -> tuple[float, float]:
    """The two λ of the reader's run on ``n`` examples: the same per-step decay, and the same λ.

    Parameters
    ----------
    n : int
        Training-set size used here.
    lmbda : float
        The reader's λ (5).
    reader_n : int
        The reader's training-set size (50,000).

    Returns
    -------
    (float, float)
        ``lmbda * n / reader_n``, which keeps ηλ/n at the reader's value, and ``lmbda``.
    """
    return (lmbda * n / reader_n, float(lmbda))


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
        total = np.array([_direction(e) for e in self.total_versus_baseline])
        layers = np.array([[_direction(e) for e in row] for row in self.versus_baseline])
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


def _direction(ratio: Estimate) -> int:
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


def _scaled(lmbda: float, data: Dataset, reference_n: int | None) -> float:
    """λ as given, or λ·n/reference_n when a reference size was asked for."""
    return lmbda if reference_n is None else lmbda * data.train.n / reference_n


def reader_verdict(result_fields: dict, reader: Sequence[int]) -> tuple[str | None, list[str]]:
    """Headline and bullets of the reader's run: which layer shrank, which grew, and why.

    Parameters
    ----------
    result_fields : dict
        The record's fields (datasets, lmbdas, eta_lambda_over_n, n, initial, final,
        direction, decay_share, push, budget).
    reader : sequence of int
        The reader's conditions: the same per-step decay first, then the same λ.

    Returns
    -------
    (str or None, list of str)
        The headline (None when the reader's run did not show layers moving
        apart) and the evidence bullets.
    """
    f = result_fields
    bullets = []
    headline = None
    for c in reader:
        var0, var1 = f["initial"]["variance"][c], f["final"]["variance"][c]
        if not np.isfinite(var1[0].mean):
            continue
        push = [e.mean for e in f["push"][c]]
        share = [e.mean for e in f["decay_share"][c]]
        moves = ", ".join(
            f"layer {l} variance {var0[l].mean:.2f} → {var1[l].mean:.2g} "
            f"(decay share {share[l]:.2f}, (R + N)/|C| = {push[l]:.2g})"
            for l in range(len(push))
        )
        bullets.append(
            f"Reader's run on {f['datasets'][c]} (n = {f['n'][c]}), λ = {f['lmbdas'][c]:g}, "
            f"ηλ/n = {f['eta_lambda_over_n'][c]:.2g}: {moves}."
        )
        opposite = (f["direction"]["norm"][c] == 1).any() and (
            f["direction"]["norm"][c] == -1
        ).any()
        if headline is None and opposite:
            l_down = int(np.argmin(push))
            l_up = int(np.argmax(push))
            headline = (
                f"Yes: in the reader's run on real MNIST at the reader's ηλ/n (λ = "
                f"{f['lmbdas'][c]:g}) layer {l_down}'s variance goes {var0[l_down].mean:.2f} → "
                f"{var1[l_down].mean:.2g} and layer {l_up}'s {var0[l_up].mean:.2f} → "
                f"{var1[l_up].mean:.2g}: a layer grows when (R + N)/|C| > 1 "
                f"({push[l_down]:.2g} and {push[l_up]:.2g})."
            )
    if bullets:
        c = reader[0]
        contraction = -np.nanmean(f["budget"]["contraction"][c], axis=0)
        bullets.append(
            "What decides: decay pulls ‖w‖² in by 2(ηλ/n)‖w‖² per step, in proportion to the "
            f"layer's size (over this run |C| = {contraction[0]:.3g} in layer 0, "
            f"{contraction[1]:.3g} in layer 1); the gradient pushes out through R + N, little "
            "behind the saturated hidden units, much in the output layer."
        )
        n, same = f["n"][c], reader[-1]
        exponent = f["eta_lambda_over_n"][same] * n / READER["batch_size"]
        bullets.append(
            f"The reader (n = {READER['n']:,}) saw hidden 1.01 → 0.08, output 1.15 → 3.62. "
            f"n = {n:,} has {READER['n'] / n:.3g}× fewer steps per epoch: λ = "
            f"{f['lmbdas'][same]:g} keeps the reader's per-epoch factor e^(−ηλ/m) = "
            f"{np.exp(-exponent):.3f} (layer 0 ends at "
            f"{f['final']['variance'][same][0].mean:.2g}); the reader's ηλ/n decays "
            f"{READER['n'] / n:.3g}× less per epoch."
        )
    return headline, bullets


def _checked_datasets(datasets) -> list[Dataset]:
    if datasets is None:
        return [load_digits()]
    if isinstance(datasets, Dataset):
        datasets = [datasets]
    datasets = list(datasets)
    for i, d in enumerate(datasets):
        if not isinstance(d, Dataset):
            raise TypeError(f"datasets[{i}] has type {type(d).__name__}; expected a Dataset")
    if not datasets:
        raise ValueError("datasets is empty; expected at least one Dataset")
    return datasets


def _checked_mnist(mnist, mnist_n: int | None) -> tuple[Dataset | None, int | None]:
    if mnist is None:
        return None, None
    if isinstance(mnist, str) and mnist == "bundled":
        mnist = load_mnist()
    if not isinstance(mnist, Dataset):
        raise TypeError(
            f"mnist has type {type(mnist).__name__}; expected a Dataset, 'bundled' or None"
        )
    if mnist.n_inputs != 784:
        raise ValueError(f"mnist has {mnist.n_inputs} inputs; expected MNIST's 784")
    n = mnist.train.n if mnist_n is None else check_int("mnist_n", mnist_n, minimum=10)
    if n > mnist.train.n:
        raise ValueError(
            f"mnist_n={n} is larger than the {mnist.train.n} training examples of {mnist.name}"
        )
    return mnist, n


def _run_group(data, n_train, sizes, eta, lmbdas, seeds, epochs, batch_size, executor, progress):
    """Runs at λ = 0 (the baseline) then each λ, every seed, with the decomposition monitor."""
    specs = [
        RunSpec(
            sizes, "large", seed, epochs, batch_size, eta, lam,
            n_train=n_train, monitors=("decomposition",),
        )
        for lam in (0.0, *lmbdas)
        for seed in seeds
    ]  # fmt: skip
    done = run_many(specs, data, executor=executor, progress=progress, desc=f"Q5 {data.name}")
    return done[: len(seeds)], done[len(seeds) :]


def _per_layer(values: np.ndarray) -> list[list[Estimate]]:
    """C × L Estimates over seeds of an array of shape (C, seeds, L)."""
    return [[estimate(values[c, :, l]) for l in range(values.shape[2])] for c in range(len(values))]


def _collect(groups, seeds, epochs, n_layers, diverged):
    """Trajectories, accuracies, budgets and λ = 0 final norms of every condition."""
    C = sum(len(g["lmbdas"]) for g in groups)
    K = len(seeds)
    traj = {s: np.full((C, K, epochs + 1, n_layers), np.nan) for s in STATISTICS}
    budget = {k: np.full((C, K, n_layers), np.nan) for k in ("contraction", "radial", "noise")}
    accuracy = np.full((C, K), np.nan)
    base = np.full((C, K, n_layers), np.nan)
    c = 0
    for g in groups:
        for k, outcome in enumerate(g["baseline"]):
            if outcome.diverged:
                diverged.append(f"{g['data'].name}: {outcome.spec.describe()}")
            else:
                base[c : c + len(g["lmbdas"]), k] = outcome.history.weights["norm"][-1]
        for i, outcome in enumerate(g["outcomes"]):
            cc, k = c + i // K, i % K
            if outcome.diverged:
                diverged.append(f"{g['data'].name}: {outcome.spec.describe()}")
                continue
            h = outcome.history
            for s in STATISTICS:
                traj[s][cc, k] = h.weights[s]
            accuracy[cc, k] = h.evaluation_accuracy[-1]
            record = h.monitors["decomposition"]
            for key in budget:
                budget[key][cc, k] = record[key].sum(axis=0)
        c += len(g["lmbdas"])
    return traj, budget, accuracy, base


def layer_movement(
    datasets: Sequence[Dataset] | Dataset | None = None,
    *,
    hidden: int = 30,
    lmbdas: Sequence[float] = (0.1, 0.5, 5.0),
    reference_n: int | None = None,
    eta: float = 0.5,
    batch_size: int = 10,
    epochs: int = 30,
    mnist: Dataset | str | None = "bundled",
    mnist_n: int | None = None,
    agreement: float = 0.9,
    cancelled: float = 0.5,
    seeds: int | Sequence[int] = 3,
    executor=None,
    progress: bool = False,
) -> LayerResult:
    r"""Train from the large initialisation and follow each layer's summaries and ‖w‖² budget.

    Parameters
    ----------
    datasets : Dataset or sequence of Dataset, optional
        Data sets of the λ sweep, each with a [n_in, hidden, n_classes]
        network; the bundled digits ([64, 30, 10]) by default.
    hidden : int
    lmbdas : sequence of float
        The λ values each data set is trained at, as given.
    reference_n : int, optional
        Asks for a rescaling by name: with it, the λ values are for a
        training set of ``reference_n`` examples and a data set of n examples
        is trained at λ·n/reference_n, which keeps the per-step decay ηλ/n the
        same on every data set. The λ each condition was trained at is
        ``result.lmbdas``.
    eta, batch_size, epochs : float, int, int
        η and m of the sweep; ``epochs`` for every run (the reader's: 30).
    mnist : Dataset, "bundled" or None
        Data of the reader's run ([784, hidden, 10], η = 0.1, m = 10 as the
        reader ran it, at the two λ of :func:`reader_lmbdas`): the bundled
        real MNIST images by default, another MNIST (e.g. ``load_mnist(path)``),
        or None for no reader's run.
    mnist_n : int, optional
        Training examples of the reader's run (the first ``mnist_n``; all by default).
    agreement, cancelled : float
        Thresholds of claim 10 (see :func:`sum_claim`).
    seeds : int or sequence of int
    executor : concurrent.futures.Executor, optional
    progress : bool

    Returns
    -------
    LayerResult

    Notes
    -----
    Over a run, each layer's ‖w_end‖² − ‖w_start‖² = C + R + N, with C =
    Σ(d² − 1)‖w‖² ≤ 0 decay's contraction, R = −2dη Σ w·g the radial
    gradient term and N = η² Σ‖g‖² the noise term
    (:mod:`decaylab.dynamics.decomposition`): a layer grows exactly when
    (R + N)/|C| > 1. Σw of N(0, 1) weights is N(0, n_l): of order √n_l while
    Σ|w| is of order n_l, so the sum hides the size of the weights behind
    cancellations and can even change sign while every |w| shrinks.
    """
    datasets = _checked_datasets(datasets)
    mnist, mnist_n = _checked_mnist(mnist, mnist_n)
    hidden = check_int("hidden", hidden, minimum=1)
    lmbdas = check_positive_list("lmbdas", lmbdas)
    if reference_n is not None:
        reference_n = check_int("reference_n", reference_n, minimum=1)
    eta = check_real("eta", eta, positive=True)
    epochs = check_int("epochs", epochs, minimum=1)
    agreement = check_real("agreement", agreement, positive=True)
    cancelled = check_real("cancelled", cancelled, positive=True)
    seeds = as_seeds(seeds)
    for d in datasets:
        check_int(f"batch_size (for {d.name})", batch_size, minimum=1, maximum=d.train.n)

    groups = [
        {"data": d, "n": d.train.n, "n_train": None, "eta": eta, "batch_size": batch_size,
         "lmbdas": [_scaled(lam, d, reference_n) for lam in lmbdas]}
        for d in datasets
    ]  # fmt: skip
    if mnist is not None:
        groups.append(
            {"data": mnist, "n": mnist_n, "n_train": mnist_n, "eta": READER["eta"],
             "batch_size": READER["batch_size"], "lmbdas": list(reader_lmbdas(mnist_n)),
             "reader": True}
        )  # fmt: skip
    for g in groups:
        sizes = (g["data"].n_inputs, hidden, g["data"].n_classes)
        g["baseline"], g["outcomes"] = _run_group(
            g["data"], g["n_train"], sizes, g["eta"], g["lmbdas"], seeds, epochs,
            g["batch_size"], executor, progress,
        )  # fmt: skip
    return _layer_record(groups, locals_=dict(
        hidden=hidden, lmbdas=lmbdas, reference_n=reference_n, eta=eta, batch_size=batch_size,
        epochs=epochs, agreement=agreement, cancelled=cancelled, seeds=seeds,
        mnist=None if mnist is None else mnist.name, mnist_n=mnist_n,
    ))  # fmt: skip


def _statistics(traj: dict) -> tuple[dict, dict, dict, dict, list, np.ndarray]:
    """initial, final, ratio, direction, cancellation and sign flips of the trajectories."""
    initial = {s: _per_layer(traj[s][:, :, 0]) for s in STATISTICS}
    final = {s: _per_layer(traj[s][:, :, -1]) for s in STATISTICS}
    ratio, direction = {}, {}
    for s in STATISTICS:
        values = np.abs(traj[s]) if s == "sum" else traj[s]
        ratio[s] = _per_layer(values[:, :, -1] / values[:, :, 0])
        direction[s] = np.array([[_direction(e) for e in row] for row in ratio[s]], dtype=int)
    cancellation = _per_layer(np.abs(traj["sum"][:, :, -1]) / traj["l1"][:, :, -1])
    flips = (np.sign(traj["sum"][:, :, 0]) != np.sign(traj["sum"][:, :, -1])) & np.isfinite(
        traj["sum"][:, :, -1]
    )
    return initial, final, ratio, direction, cancellation, flips.sum(axis=1)


def _layer_record(groups: list[dict], locals_: dict) -> LayerResult:
    """Reduce the runs of every group to the record."""
    seeds, epochs, n_layers = locals_["seeds"], locals_["epochs"], 2
    diverged: list[str] = []
    traj, budget, accuracy, base = _collect(groups, seeds, epochs, n_layers, diverged)
    initial, final, ratio, direction, cancellation, flips = _statistics(traj)
    conditions = [(g, lam) for g in groups for lam in g["lmbdas"]]
    names = [g["data"].name for g, _ in conditions]
    lam = np.array([lm for _, lm in conditions])
    etas = np.array([g["eta"] for g, _ in conditions])
    n = np.array([g["n"] for g, _ in conditions], dtype=np.int64)
    reader = [c for c, (g, _) in enumerate(conditions) if g.get("reader")]
    contraction = np.abs(budget["contraction"])
    with np.errstate(divide="ignore", invalid="ignore"):
        push = (budget["radial"] + budget["noise"]) / contraction
        share = contraction / (contraction + np.abs(budget["radial"]) + budget["noise"])
    total_norm = np.sqrt((traj["norm"] ** 2).sum(axis=-1))
    versus = traj["norm"][:, :, -1] / base
    total_versus = total_norm[:, :, -1] / np.sqrt((base**2).sum(axis=-1))
    fields = dict(
        datasets=names, lmbdas=lam, n=n, eta_lambda_over_n=etas * lam / n, initial=initial,
        final=final, direction=direction, decay_share=_per_layer(share), push=_per_layer(push),
        budget=budget,
    )  # fmt: skip
    answer = layer_verdict(names, lam, ratio, direction, cancellation, flips, len(seeds))
    headline, bullets = reader_verdict(fields, reader)
    settings = {"datasets": [g["data"].name for g in groups], "init": "large", **locals_}
    settings["seeds"] = list(seeds)
    settings["lmbdas"] = list(settings["lmbdas"])
    return LayerResult(
        settings=settings,
        prediction=(
            "decay shrinks every layer in proportion to its own ‖w‖² while the data gradient "
            "grows the layers the task needs, so under one λ a hidden layer can shrink while "
            "the output layer grows (reported: variance 1.01 → 0.08 and 1.15 → 3.62); the L2 "
            "norm, L1 norm and variance all measure size and should agree in direction, while "
            "the plain sum Σw, dominated by cancellation, should not"
        ),
        verdict=headline or answer.headline,
        diverged=diverged,
        sizes=[[g["data"].n_inputs, locals_["hidden"], g["data"].n_classes] for g, _ in conditions],
        etas=etas,
        reader=reader,
        epoch=np.arange(epochs + 1),
        trajectories=traj,
        ratio=ratio,
        cancellation=cancellation,
        sum_sign_flips=flips,
        final_accuracy=[estimate(accuracy[c]) for c in range(len(conditions))],
        total_ratio=[estimate(r) for r in total_norm[:, :, -1] / total_norm[:, :, 0]],
        versus_baseline=_per_layer(versus),
        total_versus_baseline=[estimate(r) for r in total_versus],
        evidence=bullets + list(answer.evidence),
        **{k: v for k, v in fields.items() if k != "n"},
        n=n,
    )
