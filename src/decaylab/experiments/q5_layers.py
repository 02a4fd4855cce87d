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

from decaylab._validation import check_int, check_real
from decaylab.data import Dataset, Split, load_digits
from decaylab.experiments.estimates import Estimate, estimate
from decaylab.experiments.inputs import as_seeds, check_positive_list
from decaylab.experiments.records import ExperimentResult
from decaylab.experiments.runs import RunSpec, run_many

__all__ = ["LayerResult", "layer_movement", "layer_verdict", "mnist_stand_in"]

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

    def table(self) -> tuple[list[str], list[list[str]]]:
        header = ["data", "λ", "layer", "variance start → end"]
        header += [f"{STATISTIC_NAMES[s]} end/start" for s in STATISTICS if s != "sum"]
        header += ["|Σw| end/start", "|Σw| / Σ|w| at end", "accuracy"]
        rows = []
        for c in range(len(self.datasets)):
            for l in range(len(self.sizes[c]) - 1):
                row = [
                    self.datasets[c] if l == 0 else "",
                    f"{self.lmbdas[c]:g}" if l == 0 else "",
                    f"{l} ({self.sizes[c][l]}→{self.sizes[c][l + 1]})",
                    f"{self.initial['variance'][c][l]} → {self.final['variance'][c][l]}",
                ]
                for s in STATISTICS:
                    if s != "sum":
                        row.append(f"{self.ratio[s][c][l]} {_arrow(self.direction[s][c, l])}")
                row.append(f"{self.ratio['sum'][c][l]}")
                row.append(f"{self.cancellation[c][l]}")
                row.append(format(self.final_accuracy[c]) if l == 0 else "")
                rows.append(row)
        return header, rows


def _arrow(direction: int) -> str:
    return {1: "(grows)", -1: "(shrinks)", 0: "(unclear)"}[int(direction)]


def _direction(ratio: Estimate) -> int:
    if ratio.lower(2.0) > 1.0:
        return 1
    if ratio.upper(2.0) < 1.0:
        return -1
    return 0


def layer_verdict(
    datasets: Sequence[str],
    lmbdas: np.ndarray,
    ratio: dict,
    direction: dict,
    cancellation: Sequence[Sequence[Estimate]],
    sum_sign_flips: np.ndarray,
    n_seeds: int,
) -> str:
    """Find opposite-moving layers and judge each statistic against the L2 norm.

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
    str
    """
    norm_dir = np.asarray(direction["norm"])
    parts = []
    opposite = [
        c for c in range(len(datasets)) if (norm_dir[c] == 1).any() and (norm_dir[c] == -1).any()
    ]
    measured = [c for c in range(len(datasets)) if np.isfinite(ratio["norm"][c][0].mean)]
    if opposite:
        examples = []
        for c in opposite:
            moves = ", ".join(
                f"layer {l} ×{ratio['norm'][c][l].mean:.3g}" for l in range(norm_dir.shape[1])
            )
            examples.append(f"{datasets[c]} at λ = {lmbdas[c]:g} ({moves} in L2 norm)")
        parts.append(
            f"yes: under one λ the layers move in opposite directions in {len(opposite)} of "
            f"{len(datasets)} runs: " + "; ".join(examples)
        )
    elif measured:
        parts.append(
            f"no run of the {len(measured)} measured had one layer's L2 norm grow while "
            "another's shrank (by more than two standard errors)"
        )
    else:
        return "not measured: every run diverged."
    decided = norm_dir != 0
    for stat in ("l1", "variance"):
        agree = int((np.asarray(direction[stat])[decided] == norm_dir[decided]).sum())
        parts.append(
            f"the {STATISTIC_NAMES[stat]} moves the same way as the L2 norm in {agree} of "
            f"{int(decided.sum())} layer-runs"
        )
    sum_dir = np.asarray(direction["sum"])
    sum_agree = int((sum_dir[decided] == norm_dir[decided]).sum())
    cancel = np.array([[e.mean for e in row] for row in cancellation])
    if not np.isfinite(cancel).any():
        return "; ".join(parts + ["the sum could not be judged (every run diverged)"]) + "."
    decided_count = int(decided.sum())
    flips, layer_seeds = int(sum_sign_flips.sum()), sum_sign_flips.size * n_seeds
    evidence = (
        f"|Σw| is {np.nanmin(cancel):.1%}–{np.nanmax(cancel):.1%} of Σ|w| at the end, and Σw "
        f"changed sign during training in {flips} of {layer_seeds} layer-seeds"
    )
    if sum_agree < decided_count:
        parts.append(
            f"the plain sum does not: |Σw| changes in the L2 norm's direction (by more than two "
            f"standard errors across seeds) in only {sum_agree} of {decided_count}, because "
            f"positive and negative weights cancel ({evidence}); the sum follows the weights' "
            "mean, not their size"
        )
    else:
        parts.append(
            f"the plain sum happens to agree in all {decided_count} here, though positive and "
            f"negative weights cancel in it ({evidence})"
        )
    return "; ".join(parts) + "."


def layer_movement(
    datasets: Sequence[Dataset] | None = None,
    *,
    hidden: int = 30,
    lmbdas: Sequence[float] = (0.1, 0.5, 5.0),
    reference_n: int = 1000,
    eta: float = 0.5,
    batch_size: int = 10,
    epochs: int = 30,
    stand_in_n: int = 1000,
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
        λ values for a training set of ``reference_n`` examples. A data set
        of n examples gets λ·n/reference_n, which keeps the per-step decay
        ηλ/n the same on every data set.
    reference_n : int
    eta, batch_size, epochs : float, int, int
    stand_in_n : int
        Training-set size of the default MNIST-shaped stand-in.
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
    reference_n = check_int("reference_n", reference_n, minimum=1)
    eta = check_real("eta", eta, positive=True)
    epochs = check_int("epochs", epochs, minimum=1)
    seeds = as_seeds(seeds)
    for d in datasets:
        check_int(f"batch_size (for {d.name})", batch_size, minimum=1, maximum=d.train.n)

    conditions = list(itertools.product(range(len(datasets)), lmbdas))
    outcomes = []
    for data in datasets:
        sizes = (data.n_inputs, hidden, data.n_classes)
        specs = [
            RunSpec(sizes, "large", seed, epochs, batch_size, eta, lam * data.train.n / reference_n)
            for lam in lmbdas
            for seed in seeds
        ]
        outcomes += run_many(
            specs, data, executor=executor, progress=progress, desc=f"Q5 {data.name}"
        )

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
    lam = np.array([lm * datasets[d].train.n / reference_n for d, lm in conditions])
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
            "seeds": list(seeds),
        },
        prediction=(
            "decay shrinks every layer alike while the data gradient grows the layers the task "
            "needs, so under one λ a hidden layer can shrink while the output layer grows "
            "(reported: variance 1.01 → 0.08 and 1.15 → 3.62); the L2 norm, L1 norm and "
            "variance all measure size and should agree in direction, while the plain sum "
            "Σw, dominated by cancellation, should not"
        ),
        verdict=layer_verdict(names, lam, ratio, direction, cancellation, sum_sign_flips, K),
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
    )
