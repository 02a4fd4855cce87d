r"""Question 5: under one λ, can one layer shrink while another grows?

A reported 784-30-10 MNIST run (λ = 5, n = 50,000) saw the hidden layer's
weight variance go 1.01 → 0.08 while the output layer's went 1.15 → 3.62.
This experiment trains a [n_in, 30, 10] network from the large
initialisation on each data set given (by default the bundled digits and a
digits enlarged to 28×28 as an offline MNIST-shaped stand-in), over a
range of λ, and follows four per-layer summaries: the L2 norm (the quantity
L2 regularises), the L1 norm, the variance, and the plain sum of the weights.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from decaylab._format import format_range
from decaylab._validation import check_int, check_real
from decaylab.data import Dataset, Split, load_digits
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
    "mnist_stand_in",
    "reduction_claim",
    "statistic_agreement",
    "sum_claim",
]

#: The summaries compared, as named in :class:`decaylab.ParameterStats`.
STATISTICS = ("norm", "l1", "variance", "sum")
STATISTIC_NAMES = {"norm": "L2 norm", "l1": "L1 norm", "variance": "variance", "sum": "sum"}


def mnist_stand_in(n: int = 1000) -> Dataset:
    """The bundled digits enlarged to 28×28 pixels: MNIST's shape without MNIST.

    Each 8×8 digit is resampled to 28×28 by linear interpolation
    (``scipy.ndimage.zoom``, factor 3.5) and clipped to [0, 1], so a
    [784, 30, 10] network sees 784 inputs of real handwritten digits, as it
    would on MNIST, with MNIST's input width and far fewer examples.

    Parameters
    ----------
    n : int
        Training examples, at most 1000 (the first n of the digits' training
        split); validation and test are the digits' own splits.

    Returns
    -------
    Dataset
        Named "digits at 28×28 (784 inputs)".
    """
    digits = load_digits()
    n = check_int("n", n, minimum=1, maximum=digits.train.n)

    def enlarge(split: Split, count: int) -> Split:
        images = split.X[:count].reshape(-1, 8, 8)
        large = ndimage.zoom(images, (1, 3.5, 3.5), order=1)
        return Split(np.clip(large, 0.0, 1.0).reshape(len(images), 784), split.y[:count])

    return Dataset(
        enlarge(digits.train, n),
        enlarge(digits.validation, digits.validation.n),
        enlarge(digits.test, digits.test.n),
        digits.n_classes,
        "digits at 28×28 (784 inputs)",
    )


@dataclass
class LayerResult(ExperimentResult):
    """Per-layer summaries before and after training, per data set and λ.

    Conditions c run over ``datasets`` × λ (data-set-major).

    Attributes
    ----------
    datasets : list of str, length C
        Data-set name of each condition.
    sizes : list of list of int, length C
    n : ndarray of int, shape (C,)
        Training-set size.
    lmbdas : ndarray, shape (C,)
        λ used (scaled with n so that ηλ/n matches across data sets).
    eta_lambda_over_n : ndarray, shape (C,)
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
    eta_lambda_over_n: np.ndarray
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
        return [(caption, *self.table())]

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


def layer_movement(
    datasets: Sequence[Dataset] | None = None,
    *,
    hidden: int = 30,
    lmbdas: Sequence[float] = (0.1, 0.5, 5.0),
    reference_n: int | None = None,
    eta: float = 0.5,
    batch_size: int = 10,
    epochs: int = 30,
    stand_in_n: int = 1000,
    agreement: float = 0.9,
    cancelled: float = 0.5,
    seeds: int | Sequence[int] = 3,
    executor=None,
    progress: bool = False,
) -> LayerResult:
    r"""Train from the large initialisation and follow each layer's summaries.

    Parameters
    ----------
    datasets : sequence of Dataset, optional
        Data sets to train on, each with a [n_in, hidden, n_classes]
        network. By default the bundled digits ([64, 30, 10]) and
        :func:`mnist_stand_in` with ``stand_in_n`` examples ([784, 30, 10]).
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
    stand_in_n : int
        Training-set size of the default MNIST-shaped stand-in.
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
    Σw of N(0, 1) weights is N(0, n_l): of order √n_l while Σ|w| is of order
    n_l, so the sum hides the size of the weights behind cancellations and
    can even change sign while every |w| shrinks.
    """
    if datasets is None:
        datasets = [load_digits(), mnist_stand_in(check_int("stand_in_n", stand_in_n, minimum=10))]
    if isinstance(datasets, Dataset):
        datasets = [datasets]
    datasets = list(datasets)
    for i, d in enumerate(datasets):
        if not isinstance(d, Dataset):
            raise TypeError(f"datasets[{i}] has type {type(d).__name__}; expected a Dataset")
    if not datasets:
        raise ValueError("datasets is empty; expected at least one Dataset")
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

    conditions = list(itertools.product(range(len(datasets)), lmbdas))
    outcomes, baselines = [], []
    for data in datasets:
        sizes = (data.n_inputs, hidden, data.n_classes)
        # The first K runs of each data set are the λ = 0 baseline of claim 9.
        specs = [
            RunSpec(sizes, "large", seed, epochs, batch_size, eta, _scaled(lam, data, reference_n))
            for lam in (0.0, *lmbdas)
            for seed in seeds
        ]
        done = run_many(specs, data, executor=executor, progress=progress, desc=f"Q5 {data.name}")
        baselines.append(done[: len(seeds)])
        outcomes += done[len(seeds) :]

    n_layers = 2
    C, K = len(conditions), len(seeds)
    traj = {s: np.full((C, K, epochs + 1, n_layers), np.nan) for s in STATISTICS}
    accuracy = np.full((C, K), np.nan)
    diverged = []
    for i, outcome in enumerate(outcomes):
        c, k = divmod(i, K)
        h = outcome.history
        if outcome.diverged:
            diverged.append(f"{datasets[conditions[c][0]].name}: {outcome.spec.describe()}")
            continue
        for s in STATISTICS:
            traj[s][c, k] = h.weights[s]
        accuracy[c, k] = h.evaluation_accuracy[-1]

    initial = {
        s: [[estimate(traj[s][c, :, 0, l]) for l in range(n_layers)] for c in range(C)]
        for s in STATISTICS
    }
    final = {
        s: [[estimate(traj[s][c, :, -1, l]) for l in range(n_layers)] for c in range(C)]
        for s in STATISTICS
    }
    ratio, direction = {}, {}
    for s in STATISTICS:
        values = traj[s]
        if s == "sum":
            values = np.abs(values)
        r = values[:, :, -1] / values[:, :, 0]
        ratio[s] = [[estimate(r[c, :, l]) for l in range(n_layers)] for c in range(C)]
        direction[s] = np.array([[_direction(e) for e in row] for row in ratio[s]], dtype=int)
    cancellation = [
        [
            estimate(np.abs(traj["sum"][c, :, -1, l]) / traj["l1"][c, :, -1, l])
            for l in range(n_layers)
        ]
        for c in range(C)
    ]
    flips = (np.sign(traj["sum"][:, :, 0]) != np.sign(traj["sum"][:, :, -1])) & np.isfinite(
        traj["sum"][:, :, -1]
    )
    sum_sign_flips = flips.sum(axis=1)

    names = [datasets[d].name for d, _ in conditions]
    lam = np.array([_scaled(lm, datasets[d], reference_n) for d, lm in conditions])
    answer = layer_verdict(names, lam, ratio, direction, cancellation, sum_sign_flips, K)
    total_norm = np.sqrt((traj["norm"] ** 2).sum(axis=-1))
    total_ratio = total_norm[:, :, -1] / total_norm[:, :, 0]
    # Final L2 norms against the same seed's run without L2 (NaN where either diverged).
    baseline = np.full((len(datasets), K, n_layers), np.nan)
    for d, runs in enumerate(baselines):
        for k, outcome in enumerate(runs):
            if outcome.diverged:
                diverged.append(f"{datasets[d].name}: {outcome.spec.describe()}")
            else:
                baseline[d, k] = outcome.history.weights["norm"][-1]
    base = baseline[[d for d, _ in conditions]]
    versus = traj["norm"][:, :, -1] / base
    total_versus = total_norm[:, :, -1] / np.sqrt((base**2).sum(axis=-1))
    n = np.array([datasets[d].train.n for d, _ in conditions], dtype=np.int64)
    return LayerResult(
        settings={
            "datasets": [d.name for d in datasets],
            "hidden": hidden,
            "init": "large",
            "lmbdas": list(lmbdas),
            "reference_n": reference_n,
            "eta": eta,
            "batch_size": batch_size,
            "epochs": epochs,
            "agreement": agreement,
            "cancelled": cancelled,
            "seeds": list(seeds),
        },
        prediction=(
            "decay shrinks every layer alike while the data gradient grows the layers the task "
            "needs, so under one λ a hidden layer can shrink while the output layer grows "
            "(reported: variance 1.01 → 0.08 and 1.15 → 3.62); the L2 norm, L1 norm and "
            "variance all measure size and should agree in direction, while the plain sum "
            "Σw, dominated by cancellation, should not"
        ),
        verdict=answer.headline,
        diverged=diverged,
        datasets=names,
        sizes=[[datasets[d].n_inputs, hidden, datasets[d].n_classes] for d, _ in conditions],
        n=n,
        lmbdas=lam,
        eta_lambda_over_n=eta * lam / n,
        epoch=np.arange(epochs + 1),
        trajectories=traj,
        ratio=ratio,
        initial=initial,
        final=final,
        direction=direction,
        cancellation=cancellation,
        sum_sign_flips=sum_sign_flips,
        final_accuracy=[estimate(accuracy[c]) for c in range(C)],
        total_ratio=[estimate(total_ratio[c]) for c in range(C)],
        versus_baseline=[[estimate(versus[c, :, l]) for l in range(n_layers)] for c in range(C)],
        total_versus_baseline=[estimate(total_versus[c]) for c in range(C)],
        evidence=list(answer.evidence),
    )
