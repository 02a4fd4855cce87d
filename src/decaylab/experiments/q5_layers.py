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

import numpy as np

from decaylab._validation import check_int
from decaylab.data import Dataset, load_digits
from decaylab.experiments.pipeline import checked, mnist_data, tabulate
from decaylab.experiments.q5_analysis import BUDGET, layer_record, measure, reader_verdict
from decaylab.experiments.q5_record import LayerResult
from decaylab.experiments.q5_verdicts import (
    READER,
    READER_VARIANCE,
    STATISTIC_NAMES,
    STATISTICS,
    layer_verdict,
    reduction_claim,
    statistic_agreement,
    sum_claim,
)
from decaylab.experiments.runs import RunSpec

__all__ = [
    "READER",
    "READER_VARIANCE",
    "STATISTICS",
    "STATISTIC_NAMES",
    "LayerResult",
    "layer_movement",
    "layer_verdict",
    "reader_lmbdas",
    "reader_verdict",
    "reduction_claim",
    "statistic_agreement",
    "sum_claim",
]


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


def _scaled(lmbda: float, data: Dataset, reference_n: int | None) -> float:
    """λ as given, or λ·n/reference_n when a reference size was asked for."""
    return lmbda if reference_n is None else lmbda * data.train.n / reference_n


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
    mnist = mnist_data(mnist)
    if mnist is None:
        return None, None
    n = mnist.train.n if mnist_n is None else check_int("mnist_n", mnist_n, minimum=10)
    if n > mnist.train.n:
        raise ValueError(
            f"mnist_n={n} is larger than the {mnist.train.n} training examples of {mnist.name}"
        )
    return mnist, n


_RULES = {
    "hidden": "count", "lmbdas": "positives", "eta": "positive", "epochs": "count",
    "agreement": "positive", "cancelled": "positive", "seeds": "seeds",
}  # fmt: skip


def _run_group(g: dict, hidden, seeds, epochs, executor, progress) -> tuple[dict, list]:
    """Runs at λ = 0 (the baseline) then each λ of group ``g``, every seed: its arrays and losses.

    The arrays have one row per λ (the baseline's final norm repeated for each).
    """
    sizes = (g["data"].n_inputs, hidden, g["data"].n_classes)
    # Only the final accuracy is read: the validation data is evaluated at the last epoch only.
    # The baseline's budget is not read: its steps are not decomposed after the first epoch.
    runs = [
        (lam, RunSpec(sizes, "large", 0, epochs, g["batch_size"], g["eta"], lam,
                      n_train=g["n_train"], monitors=("decomposition",),
                      evaluate_epochs=(epochs,), monitor_from=epochs if lam == 0.0 else 0))
        for lam in (0.0, *g["lmbdas"])
    ]  # fmt: skip
    table = tabulate(runs, seeds, g["data"], measure, executor=executor, progress=progress,
                     desc=f"Q5 {g['data'].name}")  # fmt: skip
    L = len(sizes) - 1
    out = {s: table.column(s, shape=(epochs + 1, L))[1:] for s in STATISTICS}
    out |= {key: table.column(key, shape=(L,))[1:] for key in BUDGET}
    out["accuracy"] = table.column("accuracy")[1:]
    base = table.column("norm", shape=(epochs + 1, L))[0, :, -1]
    out["base"] = np.repeat(base[None], len(g["lmbdas"]), axis=0)
    return out, [f"{g['data'].name}: {d}" for d in table.diverged]


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
    s = checked(
        datasets[0], _RULES, hidden=hidden, lmbdas=lmbdas, eta=eta, epochs=epochs,
        agreement=agreement, cancelled=cancelled, seeds=seeds,
    )  # fmt: skip
    if reference_n is not None:
        reference_n = check_int("reference_n", reference_n, minimum=1)
    for d in datasets:
        check_int(f"batch_size (for {d.name})", batch_size, minimum=1, maximum=d.train.n)
    groups = [
        {"data": d, "n": d.train.n, "n_train": None, "eta": s["eta"], "batch_size": batch_size,
         "lmbdas": [_scaled(lam, d, reference_n) for lam in s["lmbdas"]]}
        for d in datasets
    ]  # fmt: skip
    if mnist is not None:
        groups.append(
            {"data": mnist, "n": mnist_n, "n_train": mnist_n, "eta": READER["eta"],
             "batch_size": READER["batch_size"], "lmbdas": list(reader_lmbdas(mnist_n)),
             "reader": True}
        )  # fmt: skip
    runs = [_run_group(g, s["hidden"], s["seeds"], s["epochs"], executor, progress) for g in groups]
    arrays = {key: np.concatenate([a[key] for a, _ in runs]) for key in runs[0][0]}
    settings = {"datasets": [g["data"].name for g in groups], "init": "large"}
    settings |= {"hidden": s["hidden"], "lmbdas": list(s["lmbdas"]), "reference_n": reference_n}
    settings |= {"eta": s["eta"], "batch_size": batch_size, "epochs": s["epochs"]}
    settings |= {k: s[k] for k in ("agreement", "cancelled")} | {"seeds": list(s["seeds"])}
    settings |= {"mnist": None if mnist is None else mnist.name, "mnist_n": mnist_n}
    diverged = [d for _, lost in runs for d in lost]
    return layer_record(groups, arrays, settings, diverged)
