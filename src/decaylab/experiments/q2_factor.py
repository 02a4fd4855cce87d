r"""Question 2: is the per-epoch decay factor e^{−ηλ/m}?

Nielsen: provided ηλ ≪ n, one epoch of decay multiplies the weights by
e^{−ηλ/m}. Exactly, one epoch of pure decay multiplies them by
(1 − ηλ/n)^⌈n/m⌉. This experiment computes both across a grid of η, λ and m
(including settings where ηλ is not small against n), and measures the
factor ‖w_1‖/‖w_0‖ by which real training changes the weights in the first
epoch from the large initialisation, where decay dominates (question 1).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from decaylab._validation import check_int
from decaylab.experiments.estimates import estimate
from decaylab.experiments.inputs import check_positive_list, resolve_data
from decaylab.experiments.pipeline import checked, echo, estimates, tabulate
from decaylab.experiments.q2_record import FactorResult
from decaylab.experiments.q2_theory import (
    PER_STEP_DECAYS,
    closed_forms,
    crossover,
    exact_threshold,
    limit,
    threshold_grid,
    thresholds,
)
from decaylab.experiments.q2_verdicts import (
    closed_form_claim,
    condition_claim,
    factor_verdict,
    limit_claim,
)
from decaylab.experiments.runs import RunSpec

__all__ = [
    "FactorResult",
    "closed_form_claim",
    "condition_claim",
    "crossover",
    "exact_threshold",
    "factor_verdict",
    "limit_claim",
    "per_epoch_factor",
    "threshold_grid",
]


_RULES = {
    "etas": "positives", "batch_sizes": "batches", "hidden": "count", "tolerance": "positive",
    "much_less": "positive", "limit_factors": "counts", "seeds": "seeds",
}  # fmt: skip


def _measure(outcome, layer: int) -> dict:
    """‖w_1‖/‖w_0‖ of the first epoch, for ``layer`` and for all weights (NaN if diverged)."""
    from decaylab.dynamics.factors import measured_factors

    if outcome.diverged or outcome.history.n_epochs < 1:
        return {"measured": np.nan, "total": np.nan}
    factors = measured_factors(outcome.history)
    return {"measured": factors.measured[0, layer], "total": factors.total[0]}


def per_epoch_factor(
    data=None,
    *,
    etas: Sequence[float] = (0.5,),
    lmbdas: Sequence[float] | None = None,
    batch_sizes: Sequence[int] | None = None,
    hidden: int = 30,
    layer: int = 0,
    seeds: int | Sequence[int] = 3,
    tolerance: float = 0.01,
    limit_factors: Sequence[int] = (1, 10, 100, 1000),
    much_less: float = 0.01,
    executor=None,
    progress: bool = False,
) -> FactorResult:
    r"""Compare e^{−ηλ/m}, (1 − ηλ/n)^⌈n/m⌉ and the measured first-epoch factor.

    For every (η, λ, m) of the grid, a [n_in, hidden, n_classes] network
    with the large N(0, 1) initialisation is trained for one epoch, once per
    seed.

    Parameters
    ----------
    data : Dataset, optional
        Training data (``data.train``); the bundled digits by default.
    etas : sequence of float
        Learning rates η.
    lmbdas : sequence of float, optional
        Regularisation strengths λ (sum convention); every pair needs
        ηλ/n < 1. By default, for each η, the λ = a·n/η that give the
        per-step decays a of :data:`PER_STEP_DECAYS`.
    batch_sizes : sequence of int, optional
        Mini-batch sizes m; a size that does not divide n makes ⌈n/m⌉ ≠ n/m.
        By default n/10, 3n/10 (rounded down: ⌈n/m⌉ ≠ n/m) and n, so that
        even the largest decay leaves a measurable factor after one epoch.
    hidden : int
        Width of the hidden layer.
    layer : int
        The weight layer whose factor is compared (0, the input layer, has
        the smallest data gradient under the large initialisation, so its
        factor is closest to pure decay).
    seeds : int or sequence of int
        Number of seeds (0..k−1) or the seeds themselves.
    tolerance : float
        Relative error up to which the closed form is said to hold.
    limit_factors : sequence of int
        Multiples of n at which the limit n → ∞ of (1 − ηλ/n)^{n/m} is examined.
    much_less : float
        The ηλ/n that reads "ηλ ≪ n" in claim 3 (ηλ a hundredth of n); the
        claim is decided by the exact thresholds of :func:`exact_threshold` at
        the (n, m) of :func:`threshold_grid`, no training needed.
    executor : concurrent.futures.Executor, optional
        Run the trainings through it.
    progress : bool
        Show a progress bar.

    Returns
    -------
    FactorResult

    Notes
    -----
    .. math:: \text{exact} = (1 - \eta\lambda/n)^{\lceil n/m\rceil},\qquad
              \log\text{exact} = -\frac{\eta\lambda}{m}\Big(1 + \frac{\eta\lambda}{2n}
              + \dots\Big) \text{ when } m \mid n.
    """
    data = resolve_data(data)
    n = data.train.n
    default_batches = sorted({max(1, n // 10), max(1, 3 * n // 10), n})
    s = checked(
        data, _RULES, etas=etas, seeds=seeds, tolerance=tolerance, much_less=much_less,
        batch_sizes=default_batches if batch_sizes is None else batch_sizes, hidden=hidden,
        limit_factors=limit_factors,
    )  # fmt: skip
    s["layer"] = check_int("layer", layer, minimum=0, maximum=1)
    if len(set(s["limit_factors"])) < 2:
        raise ValueError(
            f"limit_factors={s['limit_factors']!r}; expected at least two distinct values"
        )
    if lmbdas is None:
        pairs = [(eta, a * n / eta) for eta in s["etas"] for a in PER_STEP_DECAYS]
    else:
        pairs = list(itertools.product(s["etas"], check_positive_list("lmbdas", lmbdas)))
    for eta, lmbda in pairs:
        if eta * lmbda / n >= 1:
            raise ValueError(
                f"etas and lmbdas contain eta={eta}, lmbda={lmbda} with eta*lmbda/n = "
                f"{eta * lmbda / n:.3g} for n={n}; expected eta*lmbda/n < 1"
            )
    grid = [(eta, lmbda, m) for eta, lmbda in pairs for m in s["batch_sizes"]]
    sizes = (data.n_inputs, s.pop("hidden"), data.n_classes)
    runs = [(g, RunSpec(sizes, "large", 0, 1, g[2], g[0], g[1], evaluate=False)) for g in grid]
    table = tabulate(
        runs, s["seeds"], data, lambda outcome: _measure(outcome, s["layer"]),
        executor=executor, progress=progress, desc="Q2 factor",
    )  # fmt: skip
    fields = closed_forms(grid, n, s["batch_sizes"], s["tolerance"])
    fields |= limit(grid, n, s["limit_factors"]) | thresholds(n, s["tolerance"], s["much_less"])
    measured = table.column("measured")
    exact, closed = fields["exact"], fields["closed_form"]
    means = np.array([e.mean for e in estimates(measured)])
    answer = factor_verdict(
        fields["eta_lambda_over_n"], fields["relative_error"], exact, closed,
        fields["leading_term"], estimates(measured), fields["crossover_of_setting"],
        tolerance=s["tolerance"], threshold=fields["threshold"],
        threshold_ceiling=fields["threshold_ceiling"],
    )  # fmt: skip
    settings = {"sizes": list(sizes), "init": "large", "etas": s["etas"]}
    settings["lmbdas"] = sorted({lmbda for _, lmbda in pairs})
    settings |= {k: s[k] for k in ("batch_sizes", "layer", "seeds")} | {"epochs": 1}
    settings |= {k: s[k] for k in ("tolerance", "limit_factors", "much_less")}
    return FactorResult(
        settings=echo(data, **settings),
        prediction=(
            "the closed form e^(−ηλ/m) matches the exact factor (1 − ηλ/n)^⌈n/m⌉ to relative "
            "order (ηλ)²/(2nm) when m divides n, so it holds while ηλ ≪ n and fails visibly "
            "when ηλ/n is a few per cent with many steps per epoch; training, being decay-"
            "dominated in the first epoch, should follow the exact factor"
        ),
        verdict=answer.headline,
        diverged=table.diverged,
        measured=measured,
        measured_total=table.column("total"),
        measured_estimate=estimates(measured),
        excess=[estimate(row / exact[i]) for i, row in enumerate(measured)],
        closer_to_exact=np.abs(np.log(means / exact)) < np.abs(np.log(means / closed)),
        evidence=list(answer.evidence),
        **fields,
    )
