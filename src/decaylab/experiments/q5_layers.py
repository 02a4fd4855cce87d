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
from decaylab.experiments.pipeline import checked, estimates, mnist_data, per_layer, tabulate
from decaylab.experiments.q5_record import LayerResult
from decaylab.experiments.q5_verdicts import (
    READER,
    READER_VARIANCE,
    STATISTIC_NAMES,
    STATISTICS,
    direction_of,
    layer_verdict,
    reader_verdict,
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


_BUDGET = ("contraction", "radial", "noise")
_RULES = {
    "hidden": "count", "lmbdas": "positives", "eta": "positive", "epochs": "count",
    "agreement": "positive", "cancelled": "positive", "seeds": "seeds",
}  # fmt: skip


def _measure(outcome) -> dict:
    """Each statistic's trajectory, the final accuracy and the ‖w‖² budget (None: diverged)."""
    if outcome.diverged:
        return dict.fromkeys((*STATISTICS, "accuracy", *_BUDGET))
    h = outcome.history
    record = h.monitors["decomposition"]
    return {
        **{s: h.weights[s] for s in STATISTICS},
        "accuracy": h.evaluation_accuracy[-1],
        **{key: record[key].sum(axis=0) for key in _BUDGET},
    }


def _run_group(g: dict, hidden, seeds, epochs, executor, progress) -> tuple[dict, list]:
    """Runs at λ = 0 (the baseline) then each λ of group ``g``, every seed: its arrays and losses.

    The arrays have one row per λ (the baseline's final norm repeated for each).
    """
    sizes = (g["data"].n_inputs, hidden, g["data"].n_classes)
    runs = [
        (lam, RunSpec(sizes, "large", 0, epochs, g["batch_size"], g["eta"], lam,
                      n_train=g["n_train"], monitors=("decomposition",)))
        for lam in (0.0, *g["lmbdas"])
    ]  # fmt: skip
    table = tabulate(runs, seeds, g["data"], _measure, executor=executor, progress=progress,
                     desc=f"Q5 {g['data'].name}")  # fmt: skip
    L = len(sizes) - 1
    out = {s: table.column(s, shape=(epochs + 1, L))[1:] for s in STATISTICS}
    out |= {key: table.column(key, shape=(L,))[1:] for key in _BUDGET}
    out["accuracy"] = table.column("accuracy")[1:]
    base = table.column("norm", shape=(epochs + 1, L))[0, :, -1]
    out["base"] = np.repeat(base[None], len(g["lmbdas"]), axis=0)
    return out, [f"{g['data'].name}: {d}" for d in table.diverged]


def _statistics(traj: dict) -> tuple[dict, dict, dict, dict, list, np.ndarray]:
    """initial, final, ratio, direction, cancellation and sign flips of the trajectories."""
    initial = {s: per_layer(traj[s][:, :, 0]) for s in STATISTICS}
    final = {s: per_layer(traj[s][:, :, -1]) for s in STATISTICS}
    ratio, direction = {}, {}
    for s in STATISTICS:
        values = np.abs(traj[s]) if s == "sum" else traj[s]
        ratio[s] = per_layer(values[:, :, -1] / values[:, :, 0])
        direction[s] = np.array([[direction_of(e) for e in row] for row in ratio[s]], dtype=int)
    cancellation = per_layer(np.abs(traj["sum"][:, :, -1]) / traj["l1"][:, :, -1])
    flips = (np.sign(traj["sum"][:, :, 0]) != np.sign(traj["sum"][:, :, -1])) & np.isfinite(
        traj["sum"][:, :, -1]
    )
    return initial, final, ratio, direction, cancellation, flips.sum(axis=1)


def _layer_record(groups: list[dict], arrays: dict, settings: dict, diverged: list) -> LayerResult:
    """Reduce the runs' arrays (one row per condition: data set × λ) to the record."""
    traj, hidden = {s: arrays[s] for s in STATISTICS}, settings["hidden"]
    budget = {key: arrays[key] for key in _BUDGET}
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
    base = arrays["base"]
    fields = dict(
        datasets=names, lmbdas=lam, n=n, eta_lambda_over_n=etas * lam / n, initial=initial,
        final=final, direction=direction, decay_share=per_layer(share), push=per_layer(push),
        budget=budget,
    )  # fmt: skip
    answer = layer_verdict(
        names, lam, ratio, direction, cancellation, flips, len(settings["seeds"])
    )
    headline, bullets = reader_verdict(fields, reader)
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
        sizes=[[g["data"].n_inputs, hidden, g["data"].n_classes] for g, _ in conditions],
        etas=etas,
        reader=reader,
        epoch=np.arange(settings["epochs"] + 1),
        trajectories=traj,
        ratio=ratio,
        cancellation=cancellation,
        sum_sign_flips=flips,
        final_accuracy=estimates(arrays["accuracy"]),
        total_ratio=estimates(total_norm[:, :, -1] / total_norm[:, :, 0]),
        versus_baseline=per_layer(traj["norm"][:, :, -1] / base),
        total_versus_baseline=estimates(total_norm[:, :, -1] / np.sqrt((base**2).sum(axis=-1))),
        evidence=bullets + list(answer.evidence),
        **fields,
    )


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
    return _layer_record(groups, arrays, settings, diverged)
