r"""Question 6: which penalty convention keeps the best λ stable, and how should λ move with n?

The sum convention penalises (λ/2n)·Σw² (Nielsen, per-step multiplier
1 − ηλ/n); the mean convention penalises (λ/2n)·(1/n_w)·Σw² (multiplier
1 − ηλ/(n·n_w)). The experiment has two halves:

- across widths (claim 11, :mod:`~decaylab.experiments.q6_widths`): λ is
  scanned under each convention at several widths, and the slope of
  log λ* on log n_w says which convention's λ* stays put as the model grows;
- across training-set sizes (claim 12, :mod:`~decaylab.experiments.q6_data_size`):
  λ is scanned on real MNIST at n from 250 to 4,000, each run long enough
  for the validation cost to have an interior minimum in λ, and λ* (the λ of
  least validation cost) is set against Nielsen's rule λ ∝ n (fixed ηλ/n) and
  a fixed λ (fixed epoch timescale m/(ηλ)), by its slope on n and by what
  each rule loses carrying λ* from the largest n to the others.

The verdicts are computed in :mod:`~decaylab.experiments.q6_verdicts`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from decaylab._validation import check_int, check_real
from decaylab.data import Dataset
from decaylab.experiments.inputs import as_seeds, check_int_list, check_positive_list, resolve_data
from decaylab.experiments.pipeline import scan_data
from decaylab.experiments.q6_data_size import scan_data_size
from decaylab.experiments.q6_record import ConventionResult
from decaylab.experiments.q6_verdicts import (
    convention_verdict,
    data_size_claim,
    stability_claim,
    transfer_preference,
)
from decaylab.experiments.q6_widths import (
    best_lambda,
    best_lambda_by_cost,
    check_grids,
    estimate_geometric,
    scan_widths,
)

__all__ = [
    "ConventionResult",
    "best_lambda",
    "best_lambda_by_cost",
    "convention_transfer",
    "convention_verdict",
    "data_size_claim",
    "estimate_geometric",
    "stability_claim",
    "transfer_preference",
]


def _check_decay(name: str, grid, eta: float, scale: float, n: int) -> None:
    if eta * max(grid) * scale / n >= 1:
        raise ValueError(
            f"{name} reaches {max(grid):g}, which makes the per-step decay >= 1 for eta={eta} "
            f"at n={n}; expected smaller values"
        )


def _check_size_scan(ns, transfer_lmbdas, batch_size, size_data: Dataset):
    """The sizes n (sorted, at least two distinct) and the λ grid (at least 3) of the scan."""
    ns = tuple(sorted(check_int_list("ns", ns, minimum=batch_size))) if len(ns) else ()
    if ns and len(set(ns)) < 2:
        raise ValueError(f"ns={ns!r} has fewer than two distinct sizes; expected >= 2")
    for i, n in enumerate(ns):
        check_int(f"ns[{i}]", n, minimum=batch_size, maximum=size_data.train.n)
    size_grid = np.array(sorted(check_positive_list("transfer_lmbdas", transfer_lmbdas)))
    if size_grid.size < 3:
        raise ValueError(f"transfer_lmbdas has {size_grid.size} values; expected at least 3")
    return ns, size_grid


def _checkpoints(transfer_checkpoints, average_epochs: int, transfer_epochs: int) -> list[int]:
    """The shorter training lengths λ* is also read at (a third and two thirds by default)."""
    if transfer_checkpoints is None:
        given = {transfer_epochs // 3, 2 * transfer_epochs // 3}
    elif len(transfer_checkpoints):
        given = set(check_int_list("transfer_checkpoints", transfer_checkpoints))
    else:
        given = set()
    # A checkpoint needs average_epochs epochs before it and lies before the end.
    return sorted(given & set(range(average_epochs, transfer_epochs)))


def convention_transfer(
    data=None,
    *,
    widths: Sequence[int] = (16, 45, 128, 360),
    sum_lmbdas: Sequence[float] = tuple(2.0**k for k in range(-4, 4)),
    mean_lmbdas: Sequence[float] = tuple(2.0**k for k in range(6, 17)),
    ns: Sequence[int] = (250, 500, 1000, 2000, 4000),
    transfer_data: Dataset | str | None = "bundled",
    transfer_hidden: int = 30,
    transfer_lmbdas: Sequence[float] = tuple(10.0 ** (k / 2) for k in range(-4, 3)),
    transfer_epochs: int = 30,
    transfer_seeds: int | Sequence[int] | None = None,
    transfer_checkpoints: Sequence[int] | None = None,
    loss_margin: float = 0.01,
    init: str = "scaled",
    eta: float = 0.5,
    batch_size: int = 10,
    epochs: int = 10,
    average_epochs: int = 3,
    tolerance: float = 0.01,
    rise: float = 0.1,
    stable_slope: float = 0.1,
    seeds: int | Sequence[int] = 3,
    confidence: float = 0.95,
    executor=None,
    progress: bool = False,
) -> ConventionResult:
    r"""Scan λ under the sum and mean conventions across widths, and across training-set sizes.

    Parameters
    ----------
    data : Dataset, optional
        Data of the widths' scan (the bundled digits by default); accuracy on ``data.validation``.
    widths : sequence of int
        Hidden widths of the [n_in, h, n_classes] networks (at least two).
    sum_lmbdas, mean_lmbdas : sequence of float
        λ grids of the widths' scan. The mean convention's λ is divided by n_w,
        so its grid must reach n_w times higher.
    ns : sequence of int
        Training-set sizes (first n examples of ``transfer_data``) of the scan
        across n, at least three; empty to skip it.
    transfer_data : Dataset, "bundled" or None
        Data of the scan across n: the bundled real MNIST images
        (:func:`decaylab.load_mnist`) by default; None for ``data``.
    transfer_hidden : int
        Hidden width of the scan across n (sum convention).
    transfer_lmbdas : sequence of float
        Its λ grid (at least three, log-spaced), the same at every n; it must
        reach past λ* on both sides for the minima to be interior.
    transfer_epochs : int
        Epochs of each run across n: long enough to overfit at small λ, which
        gives the validation cost its interior minimum.
    transfer_seeds : int or sequence of int, optional
        Seeds of the scan across n (``seeds`` when None).
    transfer_checkpoints : sequence of int, optional
        Shorter training lengths (epochs) at which λ* and its slope on n are
        also read off the same runs, to show how the answer moves with the
        length of training; by default a third and two thirds of ``transfer_epochs``.
    loss_margin : float
        Validation cost (per example) by which one rule must lose less than
        the other to carry λ* better.
    init : {"large", "scaled"}
    eta, batch_size, epochs : float, int, int
        η, m and the epochs of the widths' scan (η and m also across n).
    average_epochs : int
        A run's numbers are means over its last ``average_epochs`` epochs.
    tolerance : float
        Accuracy the accuracy-based λ* may give up (:func:`best_lambda`).
    rise : float
        Relative rise of the validation cost the widths' λ* may cost
        (:func:`best_lambda_by_cost`).
    stable_slope : float
        |slope| of log λ* on log n_w below which λ* counts as stable (claim 11).
    seeds : int or sequence of int
    confidence : float
        Coverage of the slope intervals.
    executor : concurrent.futures.Executor, optional
    progress : bool

    Returns
    -------
    ConventionResult

    Notes
    -----
    The mean convention's multiplier 1 − ηλ/(n·n_w) equals the sum
    convention's at λ_sum = λ_mean/n_w, so if λ*_sum is independent of n_w
    then λ*_mean ∝ n_w (slope 1), and vice versa.
    """
    data = resolve_data(data)
    widths = check_int_list("widths", widths)
    if len(set(widths)) < 2:
        raise ValueError(f"widths={widths!r} has fewer than two distinct widths; expected >= 2")
    grids = check_grids(sum_lmbdas, mean_lmbdas)
    size_data = scan_data(transfer_data, data)
    ns, size_grid = _check_size_scan(ns, transfer_lmbdas, batch_size, size_data)
    if init not in ("large", "scaled"):
        raise ValueError(f"init={init!r} is not recognised; expected 'large' or 'scaled'")
    eta = check_real("eta", eta, positive=True)
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=data.train.n)
    epochs = check_int("epochs", epochs, minimum=1)
    transfer_epochs = check_int("transfer_epochs", transfer_epochs, minimum=1)
    average_epochs = check_int(
        "average_epochs", average_epochs, minimum=1, maximum=min(epochs, transfer_epochs)
    )
    checkpoints = _checkpoints(transfer_checkpoints, average_epochs, transfer_epochs)
    settings = {
        "data": data.name,
        "n": data.train.n,
        "widths": list(widths),
        "init": init,
        "eta": eta,
        "batch_size": batch_size,
        "epochs": epochs,
        "average_epochs": average_epochs,
        "tolerance": check_real("tolerance", tolerance, positive=True),
        "rise": check_real("rise", rise, positive=True),
        "stable_slope": check_real("stable_slope", stable_slope, positive=True),
        "sum_lmbdas": grids["sum"].tolist(),
        "mean_lmbdas": grids["mean"].tolist(),
        "ns": list(ns),
        "transfer_data": size_data.name,
        "transfer_hidden": check_int("transfer_hidden", transfer_hidden, minimum=1),
        "transfer_sizes": f"{size_data.n_inputs}, {transfer_hidden}, {size_data.n_classes}",
        "transfer_lmbdas": size_grid.tolist(),
        "transfer_epochs": transfer_epochs,
        "transfer_checkpoints": checkpoints,
        "loss_margin": check_real("loss_margin", loss_margin, positive=True),
        "seeds": list(as_seeds(seeds)),
        "transfer_seeds": list(as_seeds(seeds if transfer_seeds is None else transfer_seeds)),
        "confidence": confidence,
    }
    n_weights = min(h * (data.n_inputs + data.n_classes) for h in widths)
    _check_decay("sum_lmbdas", grids["sum"], eta, 1.0, data.train.n)
    _check_decay("mean_lmbdas", grids["mean"], eta, 1.0 / n_weights, data.train.n)
    if ns:
        _check_decay("transfer_lmbdas", size_grid, eta, 1.0, min(ns))
    return _run(data, size_data, grids, settings, executor=executor, progress=progress)


def _run(data, size_data, grids, settings: dict, *, executor, progress) -> ConventionResult:
    """Both scans, the verdict and the record, from checked arguments."""
    common = {k: settings[k] for k in ("init", "eta", "batch_size", "average_epochs")}
    width_fields = scan_widths(
        data,
        widths=settings["widths"],
        grids=grids,
        seeds=settings["seeds"],
        settings=settings,
        executor=executor,
        progress=progress,
    )
    scan = None
    if settings["ns"]:
        scan = scan_data_size(
            size_data,
            ns=settings["ns"],
            lmbdas=np.array(settings["transfer_lmbdas"]),
            hidden=settings["transfer_hidden"],
            epochs=settings["transfer_epochs"],
            seeds=settings["transfer_seeds"],
            confidence=settings["confidence"],
            loss_margin=settings["loss_margin"],
            checkpoints=tuple(settings["transfer_checkpoints"]),
            executor=executor,
            progress=progress,
            **common,
        )
    diverged = width_fields.pop("diverged") + ([] if scan is None else list(scan.diverged))
    answer = convention_verdict(
        width_fields["width_fit"], scan, stable_slope=settings["stable_slope"], settings=settings
    )
    return ConventionResult(
        settings=settings,
        prediction=(
            "the per-weight decay of the sum convention does not depend on n_w, so if the "
            "right amount of decay per weight does not change with width, λ*_sum stays put "
            "(slope 0) and λ*_mean grows in proportion to n_w (slope 1); across data-set sizes, "
            "Nielsen's rule predicts λ* ∝ n (slope 1), the fixed-timescale rule a fixed λ* "
            "(slope 0)"
        ),
        verdict=answer.headline,
        diverged=diverged,
        widths=np.array(settings["widths"], dtype=np.int64),
        grids=grids,
        size_scan=scan,
        evidence=list(answer.evidence),
        **width_fields,
    )
