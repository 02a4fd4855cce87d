r"""Question 7: does the picture of eq. 93 carry over to momentum, Adam + L2 and AdamW?

Four update rules (:mod:`decaylab.optimizers`) are trained on one network,
each with its own learning rate, at the same *nominal* decay: the L2
coefficient c = λ/n of Nielsen's convention, added to the gradient by
momentum and Adam + L2, applied as w → (1 − ηc)·w by eq. 93 and AdamW. λ
is chosen per rule from a pure-decay timescale τ in epochs: τ = m/(ηλ) for
eq. 93, AdamW and Adam + L2, τ = m(1 − β)/(ηλ) for momentum, so that the
rules are compared at equal nominal decay per epoch.

1. **Per-epoch factor** (:mod:`~decaylab.experiments.q7_factors`, claim 13).
   The first epoch from the large initialisation, where decay dominates
   under eq. 93 (question 1): the measured ‖w_1‖/‖w_0‖ of each layer against
   each rule's prediction, and momentum's closed form e^{−ηλ/(m(1−β))}.
2. **Equilibrium ‖w‖² against λ** under each rule, from the scaled
   initialisation (:mod:`~decaylab.experiments.q7_equilibria`, claim 16).
3. **Adam + L2 against AdamW** at equal nominal decay: which layers
   Adam + L2 decays less (its effective rate ηc/(√v̂ + ε) against AdamW's
   ηc), and whether the weights it ends with say the same (claim 14).
4. **λ transfer under AdamW** across training-set sizes n, on real MNIST in
   the report (:mod:`~decaylab.experiments.q7_transfer`, claim 15): the same
   number of epochs E at every n, λ* the λ of least validation cost, and
   whether it stays fixed (a fixed decay timescale m/(ηλ) in epochs; Wang &
   Aitchison 2024) or grows ∝ n (a fixed decay per step).

The claims are decided in :mod:`~decaylab.experiments.q7_claims` and the
record is :class:`OptimizerResult`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from decaylab._progress import progress_bar
from decaylab.data import Dataset
from decaylab.experiments.q7_claims import STATEMENTS, headline
from decaylab.experiments.q7_equilibria import (
    adam_layers_claim,
    equilibria,
    equilibrium_claim,
    equilibrium_fits,
    equilibrium_specs,
)
from decaylab.experiments.q7_factors import (
    RULES,
    first_epoch_factors,
    lmbda_for,
    momentum_factor_claim,
    run_rule,
)
from decaylab.experiments.q7_record import OptimizerResult
from decaylab.experiments.q7_settings import checked, record_settings
from decaylab.experiments.q7_transfer import (
    TRANSFER_RULES,
    transfer_claim,
    transfer_scan,
)
from decaylab.experiments.runs import run_many

__all__ = [
    "RULES",
    "STATEMENTS",
    "TRANSFER_RULES",
    "OptimizerResult",
    "adam_layers_claim",
    "equilibrium_claim",
    "momentum_factor_claim",
    "optimizer_comparison",
    "transfer_claim",
]

PREDICTION = (
    "momentum multiplies the per-epoch decay exponent by 1/(1 − β), after a transient in which "
    "the velocity builds up; Adam + L2 decays the layers with larger √v̂ less, AdamW all alike; "
    "under AdamW the best λ stays fixed as n grows at a fixed number of epochs (a fixed decay "
    "timescale in epochs); ‖w‖² at equilibrium falls as λ grows under every rule"
)


def _factors_and_equilibria(c: dict, progress: bool):
    """Parts 1 and 2 on the question's data: the first-epoch factors at the factor
    timescale and the equilibria at each timescale, per rule; and the runs that diverged.

    The equilibrium runs go through the batched runner (:func:`run_many`): the runs of one
    rule are trained together, each until its own detector says settled."""
    rules, etas, seeds, sizes = c["rules"], c["eta"], c["seeds"], c["sizes"]
    diverged: list[str] = []
    bar = progress_bar(
        total=len(rules) * len(seeds), desc="Q7 factors", unit="run", disable=not progress,
        leave=False,
    )  # fmt: skip

    def run(*args, **options):
        outcome = run_rule(*args, **options)
        bar.update()
        return outcome

    def note(message, rule):
        if message is not None:
            diverged.append(f"{RULES[rule]}: {message.split(';')[0]}")

    def lmbda_of(rule, tau):
        return lmbda_for(rule, tau, eta=etas[rule], batch_size=c["batch_size"], beta=c["beta"])

    common = {"etas": etas, "beta": c["beta"], "batch_size": c["batch_size"]}
    factor_lmbda = {r: lmbda_of(r, c["factor_timescale"]) for r in rules}
    factors = first_epoch_factors(run, note, sizes, seeds, c["data"].train, factor_lmbda, **common)
    bar.close()
    eq_lmbda = {r: np.array([lmbda_of(r, tau) for tau in c["timescales"]]) for r in rules}
    specs = equilibrium_specs(
        sizes, seeds, eq_lmbda, n_train=c["equilibrium_n"],
        max_relaxations=c["max_relaxations"], **common,
    )  # fmt: skip
    outcomes = run_many(specs, c["data"], progress=progress, desc="Q7 equilibria")
    for i, outcome in enumerate(outcomes):
        note(outcome.message, rules[i * len(rules) // len(specs)])
    return factor_lmbda, factors, eq_lmbda, equilibria(specs, outcomes, rules, seeds), diverged


def optimizer_comparison(
    data=None,
    *,
    hidden: int = 30,
    rules: Sequence[str] = tuple(RULES),
    eta: dict | None = None,
    beta: float = 0.9,
    batch_size: int = 10,
    factor_timescale: float = 4.0,
    timescales: Sequence[float] = (1.0, 2.0, 4.0),
    equilibrium_n: int | None = None,
    max_relaxations: float = 60.0,
    transfer_data: Dataset | str | None = "bundled",
    ns: Sequence[int] | None = None,
    transfer_epochs: int = 25,
    transfer_timescales: Sequence[float] | None = None,
    transfer_eta: float = 0.02,
    transfer_batch_size: int = 20,
    average_epochs: int = 3,
    tolerance: float = 0.01,
    layer_margin: float = 0.1,
    loss_margin: float = 0.02,
    seeds: int | Sequence[int] = 2,
    confidence: float = 0.95,
    progress: bool = False,
) -> OptimizerResult:
    r"""Compare eq. 93, momentum, Adam + L2 and AdamW on one network (experiment 7).

    Parameters
    ----------
    data : Dataset, optional
        Data of the factor and equilibrium runs; the bundled digits by default.
    hidden : int
        Hidden width of the [n_in, hidden, n_classes] networks (also the transfer scan's).
    rules : sequence of str
        Which of "sgd", "momentum", "adam", "adamw" to compare (all four
        by default; "momentum", "adam" and "adamw" are needed by claims 13–15).
    eta : dict of str to float, optional
        Learning rate per rule; by default 0.5 (eq. 93), 0.05 (momentum: the
        same η/(1 − β)), 0.003 (Adam + L2, AdamW).
    beta : float
        Momentum β.
    batch_size : int
        Mini-batch size m of the factor and equilibrium runs.
    factor_timescale : float
        Pure-decay timescale (epochs) of the first-epoch factor runs, which
        start from the large initialisation.
    timescales : sequence of float
        Timescales of the equilibrium runs (scaled initialisation), one λ per
        rule each; at least two.
    equilibrium_n : int, optional
        Training examples of the equilibrium runs (the first ones); half the
        training set by default.
    max_relaxations : float
        Cap of the equilibrium runs in units of their τ: each runs until
        :func:`~decaylab.dynamics.equilibrium.find_equilibrium` says its ‖w‖²
        settled (:func:`~decaylab.experiments.adaptive.train_until_equilibrium`),
        and a run that has not settled by the cap is left out of the fits.
    transfer_data : Dataset, "bundled" or None
        Data of the AdamW transfer scan: the 4,000 bundled real MNIST training
        images by default (:func:`decaylab.load_mnist`), None for ``data``.
    ns : sequence of int, optional
        Its training-set sizes (the first n examples), at least two; by
        default n/16, n/4 and n of ``transfer_data`` (250, 1,000, 4,000 on MNIST).
    transfer_epochs : int
        E, the epochs of every transfer run, the same at every n.
    transfer_timescales : sequence of float, optional
        The scan's λ grid as decay timescales τ = m/(ηλ) in epochs (at least
        three); by default E/8, E/4, …, 8E, so that a timescale comparable to
        the training length lies inside it.
    transfer_eta, transfer_batch_size : float, int
        AdamW's η and m in the transfer scan.
    average_epochs : int
        Last epochs the transfer runs' validation cost and accuracy are averaged over.
    tolerance : float
        Relative error within which a closed form holds.
    layer_margin, loss_margin : float
        See :func:`adam_layers_claim` and :func:`transfer_claim`.
    seeds : int or sequence of int
    confidence : float
        Coverage of the slope intervals.
    progress : bool
        Show progress bars over the runs.

    Returns
    -------
    OptimizerResult

    Notes
    -----
    The factor and equilibrium runs are trained one after the other, in this
    process (an update rule's state is needed back from each run); the
    transfer runs go through :func:`~decaylab.experiments.runs.run_table`.
    On the bundled MNIST with the defaults, the scan's smallest set gets
    E·n/m = 312 steps, enough that its validation cost has a least value
    inside the grid.
    """
    c = checked(dict(locals()))
    rules, etas = c["rules"], c["eta"]
    factor_lmbda, factors, eq_lmbda, eq, diverged = _factors_and_equilibria(c, progress)
    transfer = transfer_scan(
        c["transfer_data"],
        **{k: c[k] for k in ("hidden", "ns", "average_epochs", "seeds", "confidence")},
        timescales=c["transfer_timescales"],
        eta=c["transfer_eta"],
        batch_size=c["transfer_batch_size"],
        epochs=c["transfer_epochs"],
        progress=progress,
    )
    diverged += transfer.pop("diverged")
    result = OptimizerResult(
        settings=record_settings(c),
        prediction=PREDICTION,
        verdict="",
        diverged=diverged,
        rules=rules,
        eta={r: etas[r] for r in rules},
        factor_lmbda=factor_lmbda,
        **factors,
        equilibrium_lmbda=eq_lmbda,
        equilibrium_norm2=eq["norm2"],
        equilibrium_fit=equilibrium_fits(eq_lmbda, eq["norm2"], confidence=c["confidence"]),
        equilibrium_epoch=eq["epoch"],
        equilibrium_tau=eq["tau"],
        adam_ratio=eq["adam_ratio"],
        adam_gradient_rms=eq["adam_rms"],
        adam_norm_ratio=eq["final_norms"]["adam"] / eq["final_norms"]["adamw"],
        ns=np.array(c["ns"], dtype=np.int64),
        **transfer,
    )
    result.verdict = headline(result, result.claims())
    return result
