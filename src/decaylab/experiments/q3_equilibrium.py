r"""Question 3: at what size do the weights stop decaying, and what holds them there?

Nielsen's text says decay tails off when the weights are down to a size
around 1/√n_w; a paraphrase says 1/n_w (n_w the number of weights). The two
differ by an exponent, so this experiment trains networks of several widths
(n_w from about 10³ to 10⁵) from the large initialisation with several seeds,
each *until its equilibrium*
(:func:`decaylab.experiments.adaptive.train_until_equilibrium`, detection in
units of τ = m/(ηλ) by :func:`decaylab.dynamics.equilibrium.find_equilibrium`),
and fits the exponent of the equilibrium RMS against n_w with a confidence
interval (:func:`decaylab.dynamics.scaling.fit_power_law`). Runs that hit
the cap are reported by name and kept out of the fits. It then moves λ, the
training-set size n and the batch size m at a fixed width, and explains
every equilibrium by its measured ‖w‖² budget
(:func:`decaylab.dynamics.budget.equilibrium_budget`): the contraction
balances a radial term (the full-batch stationarity identity) and a noise
term (the AR(1) picture), and the noise share says how much of the size the
mini-batch noise sets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from decaylab._validation import check_int
from decaylab.data import Dataset
from decaylab.experiments.estimates import estimate
from decaylab.experiments.inputs import check_int_list, resolve_data
from decaylab.experiments.pipeline import checked, counts, echo, mnist_data, tabulate
from decaylab.experiments.q3_analysis import (
    SWEEPS,
    equilibrium_values,
    measure,
    mnist_fields,
    not_reached,
    sweep_fields,
    width_fields,
)
from decaylab.experiments.q3_record import EquilibriumResult
from decaylab.experiments.q3_verdicts import (
    LAW_MARGIN,
    _mnist_bullet,
    decay_vanishes_claim,
    equilibrium_verdict,
    scaling_claim,
)
from decaylab.experiments.runs import RunSpec

__all__ = [
    "LAW_MARGIN",
    "EquilibriumResult",
    "decay_vanishes_claim",
    "equilibrium_size",
    "equilibrium_verdict",
    "scaling_claim",
]

_RULES = {
    "widths": "counts", "seeds": "seeds", "init": "any", "eta": "positive", "lmbda": "positive",
    "batch_size": "batch", "epochs": "count0", "max_relaxations": "positive",
    "relaxation_times": "nonnegative", "relaxation_epochs": "any", "lmbdas": "positives?",
    "ns": "any", "batch_sizes": "batches?", "sweep_hidden": "count",
    "window_relaxations": "positive", "tolerance": "nonnegative", "z": "nonnegative",
    "law_margin": "positive", "max_interval_width": "positive", "level_factor": "positive",
    "vanished_share": "positive", "balancing_share": "positive", "confidence": "any",
}  # fmt: skip


def _checked(data: Dataset, mnist, mnist_widths, mnist_n, **given) -> tuple[dict, Dataset | None]:
    """The checked settings, in the order the record reports them, and the MNIST data."""
    s = checked(data, _RULES, relaxation_epochs=None, **given)
    if len(set(s["widths"])) < 2:
        raise ValueError(
            f"widths={s['widths']!r} has fewer than two distinct widths; expected >= 2"
        )
    if s["init"] not in ("large", "scaled"):
        raise ValueError(f"init={s['init']!r} is not recognised; expected 'large' or 'scaled'")
    m = s["batch_size"]
    ns = tuple(sorted(check_int_list("ns", s["ns"], minimum=m))) if len(s["ns"]) else ()
    s["ns"] = counts(**{f"ns[{i}]": x for i, x in enumerate(ns)}, minimum=m, maximum=data.train.n)
    s["relaxation_epochs"] = m / (s["eta"] * s["lmbda"])
    mnist = mnist_data(mnist)
    if mnist is None:
        return s, None
    s["mnist"] = mnist.name
    s["mnist_widths"] = [int(h) for h in check_int_list("mnist_widths", mnist_widths)]
    s["mnist_n"] = check_int("mnist_n", mnist_n, minimum=m, maximum=mnist.train.n)
    return s, mnist


def _spec(s: dict, sizes, *, lmbda=None, batch_size=None, n_train=None) -> RunSpec:
    """One run until equilibrium, capped at ``max_relaxations`` of its own τ = m/(ηλ)."""
    lam = s["lmbda"] if lmbda is None else lmbda
    m = s["batch_size"] if batch_size is None else batch_size
    tau = m / (s["eta"] * lam)
    detection = tuple((k, s[k]) for k in ("window_relaxations", "tolerance", "z"))
    start = max(s["epochs"], math.ceil(s["relaxation_times"] * tau))
    return RunSpec(
        tuple(sizes), s["init"], 0, max(math.ceil(s["max_relaxations"] * tau), 1), m, s["eta"],
        lam, n_train=n_train, monitors=("decomposition",), evaluate=False, stationarity=True,
        until_equilibrium=True, detection=detection + (("start", start),), gradient_noise=True,
        monitor_from=start,  # the budget reads the window after the equilibrium, never before
    )  # fmt: skip


def _conditions(s: dict, data: Dataset) -> dict:
    """The width sweep, then λ, n and m at ``sweep_hidden``, labelled (sweep, value).

    The n sweep's whole training set is the run without ``n_train``, so that the
    runs the sweeps share (λ, n = all, m of the width sweep) are one spec, trained once.
    """
    n_in, n_out = data.n_inputs, data.n_classes
    hidden = (n_in, s["sweep_hidden"], n_out)
    runs = {("width", h): _spec(s, (n_in, h, n_out)) for h in s["widths"]}
    runs |= {("lambda", lam): _spec(s, hidden, lmbda=lam) for lam in s["lmbdas"]}
    runs |= {("n", n): _spec(s, hidden, n_train=None if n == data.train.n else n)
             for n in s["ns"]}  # fmt: skip
    runs |= {("batch", m): _spec(s, hidden, batch_size=m) for m in s["batch_sizes"]}
    return runs


def _on_mnist(mnist: Dataset, s: dict, n_out: int, executor, progress):
    """The mnist_* fields of the width sweep on MNIST, and its diverged runs."""
    # Only each run's equilibrium RMS is reported: no budget, so no monitor or final measurements.
    lean = {"monitors": (), "stationarity": False, "gradient_noise": False}
    runs = {
        h: replace(_spec(s, (784, h, n_out), n_train=s["mnist_n"]), **lean)
        for h in s["mnist_widths"]
    }
    table = tabulate(runs, s["seeds"], mnist, equilibrium_values, executor=executor,
                     progress=progress, desc="Q3 MNIST")  # fmt: skip
    return mnist_fields(table, s, n_out), table.diverged


def _answer(fields: dict, s: dict) -> tuple[str, list[str]]:
    """The headline and evidence of the record's fields (:func:`equilibrium_verdict`)."""
    reached = fields["reached"]
    return equilibrium_verdict(
        fields["fit"], reached, fields["ratio_to_inverse_sqrt_n_weights"],
        estimate(fields["noise_share"][reached]), fields["stationarity_ratio"],
        estimate((fields["implied_radial"] / fields["stationarity_norm_squared"])[reached]),
        fields["norm_over_n_over_lambda"], margin=s["law_margin"],
        sweep_fits=[(x, fields[f"{name}_fit"]) for x, name in zip("λnm", SWEEPS)],
        batch_noise_share=[estimate(row) for row in fields["batch_noise_share"]],
        batch_sizes=s["batch_sizes"],
    )  # fmt: skip


def equilibrium_size(
    data=None,
    *,
    widths: Sequence[int] = (16, 45, 128, 360, 1000),
    seeds: int | Sequence[int] = 3,
    eta: float = 0.5,
    lmbda: float = 5.0,
    batch_size: int = 10,
    epochs: int = 0,
    max_relaxations: float = 60.0,
    init: str = "large",
    lmbdas: Sequence[float] = (2.5, 5.0, 10.0, 20.0),
    ns: Sequence[int] = (250, 500, 1000),
    batch_sizes: Sequence[int] = (5, 10, 20, 50, 100),
    sweep_hidden: int = 30,
    relaxation_times: float = 3.0,
    window_relaxations: float = 3.0,
    tolerance: float = 0.002,
    z: float = 1.0,
    law_margin: float = LAW_MARGIN,
    max_interval_width: float = 0.5,
    level_factor: float = 3.0,
    vanished_share: float = 0.05,
    balancing_share: float = 0.25,
    confidence: float = 0.95,
    mnist=None,
    mnist_widths: Sequence[int] = (10, 30, 100),
    mnist_n: int = 1000,
    executor=None,
    progress: bool = False,
) -> EquilibriumResult:
    r"""Measure equilibrium weight sizes against n_w, λ, n and m, with their ‖w‖² budgets.

    Parameters
    ----------
    data : Dataset, optional
        The bundled digits by default.
    widths : sequence of int
        Hidden widths h of the [n_in, h, n_classes] networks; n_w = h·(n_in + n_classes).
    seeds : int or sequence of int
    eta, lmbda, batch_size : float, float, int
        Settings of the width sweep (sum convention); τ = m/(ηλ) epochs.
    epochs : int
        No equilibrium window starts before this epoch.
    max_relaxations : float
        Every run stops at this many τ (its own τ) if it has not settled; it
        is then reported in ``not_reached`` and left out of the fits.
    init : {"large", "scaled"}
    lmbdas, ns, batch_sizes : sequences
        The λ, n (first n examples) and m of the sweeps at width ``sweep_hidden``
        (empty to skip a sweep).
    sweep_hidden : int
        Hidden width of the sweeps.
    relaxation_times : float
        …nor before this many of the run's τ, >= 0 (the detector's own default is 3 τ).
    window_relaxations, tolerance, z : float
        Equilibrium detection (see :func:`decaylab.dynamics.equilibrium.find_equilibrium`).
    law_margin, max_interval_width, level_factor : float
        Claims 5 and 6 (see :func:`scaling_claim`).
    vanished_share, balancing_share : float
        Claim 7 (see :func:`decay_vanishes_claim`).
    confidence : float
        Coverage of the exponent intervals.
    mnist : Dataset, "bundled" or None
        Also run the width sweep on real MNIST ([784, h, 10], the same η, λ, m
        and detection; "bundled" for :func:`decaylab.load_mnist`'s images), so
        that the 1/√n_w answer is shown on the book's data; None to skip.
    mnist_widths : sequence of int
        Hidden widths of that sweep.
    mnist_n : int
        Training examples of that sweep (the first ``mnist_n``).
    executor : concurrent.futures.Executor, optional
    progress : bool

    Returns
    -------
    EquilibriumResult

    Notes
    -----
    At equilibrium the budget gives ‖w‖² = (R + N)/(K(1 − d²)): a radial part,
    about the stationarity identity's (n/λ)(−w·∇C₀), and a noise part, about
    the AR(1) σ²/(2a − a²) ∝ ηn/(mλ). Both scale as n/λ; only the noise part
    falls with m, which is what the batch-size sweep tests.
    """

    data = resolve_data(data)
    s, mnist = _checked(
        data, mnist, widths=widths, seeds=seeds, eta=eta, lmbda=lmbda, batch_size=batch_size,
        epochs=epochs, max_relaxations=max_relaxations, init=init, lmbdas=lmbdas, ns=ns,
        batch_sizes=batch_sizes, sweep_hidden=sweep_hidden, relaxation_times=relaxation_times,
        window_relaxations=window_relaxations, tolerance=tolerance, z=z, law_margin=law_margin,
        max_interval_width=max_interval_width, level_factor=level_factor,
        vanished_share=vanished_share, balancing_share=balancing_share, confidence=confidence,
        mnist_widths=mnist_widths, mnist_n=mnist_n,
    )  # fmt: skip
    table = tabulate(_conditions(s, data), s["seeds"], data, measure,
                     executor=executor, progress=progress, desc="Q3 equilibrium")  # fmt: skip
    cap = _spec(s, (data.n_inputs, 1, data.n_classes)).epochs
    fields = width_fields(table, data, s, cap)
    for name in SWEEPS:
        fields |= sweep_fields(table, name, s)
    headline, evidence = _answer(fields, s)
    diverged = list(table.diverged)
    if mnist is not None:
        on_mnist, lost = _on_mnist(mnist, s, data.n_classes, executor, progress)
        fields |= on_mnist
        diverged += lost
        evidence.append(_mnist_bullet(on_mnist, s["mnist_n"]))
    unsettled = not_reached(table)
    if unsettled:
        evidence.append(f"Not reached within {s['max_relaxations']:g} τ: " + "; ".join(unsettled))
    return EquilibriumResult(
        settings=echo(data, **s),
        prediction=(
            "the equilibrium RMS scales as n_w^(−1/2) (Nielsen's 1/√n_w: a total ‖w‖² that does "
            "not grow with width) or as n_w^(−1) (the paraphrase's 1/n_w); the stationarity "
            "identity and the noise-driven (AR(1)) picture both give ‖w‖² ∝ n/λ, and only the "
            "noise part falls with the batch size"
        ),
        verdict=headline,
        diverged=diverged,
        not_reached=unsettled,
        lmbdas=np.array(s["lmbdas"], dtype=float),
        ns=np.array(s["ns"], dtype=np.int64),
        batch_sizes=np.array(s["batch_sizes"], dtype=np.int64),
        evidence=evidence,
        **fields,
    )
