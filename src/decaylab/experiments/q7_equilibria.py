r"""Question 7, part 2: equilibria under each rule, and Adam + L2 against AdamW.

Each rule at each λ from the scaled initialisation, trained until its
equilibrium detector says ‖w‖² settled (:func:`equilibria`): the slope of
log ‖w‖² against log λ decides claim 16 (:func:`equilibrium_claim`), and
Adam + L2's effective decay rate of each layer, ηc/(√v̂ + ε) against AdamW's
ηc at the middle λ, decides claim 14 (:func:`adam_layers_claim`).
"""

from __future__ import annotations

import math

import numpy as np

from decaylab.experiments.q7_factors import optimizer_of
from decaylab.experiments.runs import RunSpec
from decaylab.rules import get_rule

__all__ = [
    "EQUILIBRIUM_INIT",
    "adam_layers_claim",
    "equilibria",
    "equilibrium_claim",
    "equilibrium_fits",
    "equilibrium_specs",
]

#: The initialisation every equilibrium run starts from.
EQUILIBRIUM_INIT = "scaled"


def adam_layers_claim(
    ratio: np.ndarray, gradient_rms: np.ndarray, norm_ratio: np.ndarray, *, margin: float = 0.1
) -> str:
    """Verdict on claim 14 from the per-layer effective decay of Adam + L2.

    Parameters
    ----------
    ratio : ndarray, shape (L,)
        a_eff/(ηc) of each layer: Adam + L2's decay rate over AdamW's.
    gradient_rms : ndarray, shape (L,)
        Each layer's root-mean-square √v̂.
    norm_ratio : ndarray, shape (L,)
        ‖w_l‖ under Adam + L2 over ‖w_l‖ under AdamW at the end of training.
    margin : float
        Rates that differ by less than this fraction are called equal.

    Returns
    -------
    str
        "undecided" when the layers' rates differ by less than ``margin``
        (or are not finite); "does not hold" when the layer decayed least is
        not the one with the largest gradients; "holds" when it is, and it
        also keeps the largest weights relative to AdamW; "holds with a
        qualification" when the rates say so but the final weights do not.
    """
    ratio, rms, norms = (np.asarray(v, dtype=float) for v in (ratio, gradient_rms, norm_ratio))
    if not (np.isfinite(ratio).all() and np.isfinite(rms).all()) or ratio.size < 2:
        return "undecided"
    if ratio.max() < (1.0 + margin) * ratio.min():
        return "undecided"
    least = int(np.argmin(ratio))
    if least != int(np.argmax(rms)):
        return "does not hold"
    if np.isfinite(norms).all() and least == int(np.argmax(norms)):
        return "holds"
    return "holds with a qualification"


def equilibrium_claim(fits: dict) -> str:
    """Verdict on claim 16 from the fits of log ‖w‖² against log λ, one per rule.

    Parameters
    ----------
    fits : dict of str to ScalingFit or None
        None for a rule whose runs could not be fitted.

    Returns
    -------
    str
        "does not hold" if some rule's slope interval lies above 0;
        "holds" if every rule's lies below 0; "undecided" if no rule could
        be fitted; "holds with a qualification" otherwise (some intervals
        include 0, or some rules were not fitted).
    """
    fitted = [f for f in fits.values() if f is not None]
    if not fitted:
        return "undecided"
    if any(f.interval[0] > 0 for f in fitted):
        return "does not hold"
    if len(fitted) == len(fits) and all(f.interval[1] < 0 for f in fitted):
        return "holds"
    return "holds with a qualification"


def equilibrium_specs(sizes, seeds, lmbdas, *, etas, beta, batch_size, n_train, max_relaxations):
    """The runs of :func:`equilibria`, rule-major, then λ, then seed: each from the scaled
    initialisation until its detector says settled, capped at ``max_relaxations`` of its τ;
    Adam + L2's at the middle λ also measure its effective decay."""
    middle = len(next(iter(lmbdas.values()))) // 2
    common = {"sizes": tuple(sizes), "init": EQUILIBRIUM_INIT, "epochs": 0,
              "batch_size": batch_size, "n_train": n_train, "evaluate": False,
              "until_equilibrium": True, "max_relaxations": max_relaxations}  # fmt: skip
    specs = []
    for rule, grid in lmbdas.items():
        optimizer = optimizer_of(rule, beta)
        fixed = not math.isnan(get_rule(optimizer).epoch_factor(1, 1, 1.0, 0.0))
        for g, lam in enumerate(grid):
            given = {"eta": etas[rule], "lmbda": float(lam), "rule": optimizer,
                     "adam_decay": g == middle and not fixed}  # fmt: skip
            specs += [RunSpec(seed=seed, **common, **given) for seed in seeds]
    return specs


def equilibria(specs, outcomes, rules, seeds) -> dict:
    """Each rule at each λ (:func:`equilibrium_specs`), as its runs' detectors found it.

    Parameters
    ----------
    specs, outcomes : lists
        The runs of :func:`equilibrium_specs` and their outcomes
        (:func:`~decaylab.experiments.runs.run_many`).
    rules, seeds : sequences
        The rules (in the order of the specs) and the seeds.

    Returns
    -------
    dict
        "norm2", "epoch" (the detected equilibrium epoch) and "tau" (the
        detector's τ in epochs): each a dict of rule to an array of shape
        (G, S), NaN where a run diverged or did not settle within its cap;
        τ is kept for a run that did not settle. "final_norms": ‖w_l‖ of
        Adam + L2 and of AdamW at the middle λ, shape (S, L). "adam_ratio"
        and "adam_rms": shape (S, L).
    """
    from decaylab.dynamics.equilibrium import find_equilibrium

    S, L = len(seeds), len(specs[0].sizes) - 1
    G = len(specs) // (len(rules) * S)
    out = {key: {r: np.full((G, S), np.nan) for r in rules} for key in ("norm2", "epoch", "tau")}
    out["final_norms"] = {r: np.full((S, L), np.nan) for r in ("adam", "adamw")}
    out["adam_ratio"], out["adam_rms"] = np.full((S, L), np.nan), np.full((S, L), np.nan)
    for i, outcome in enumerate(outcomes):
        if outcome.diverged:
            continue
        rule, g, s = rules[i // (G * S)], (i // S) % G, i % S
        found = find_equilibrium(outcome.history, **dict(outcome.spec.detection))
        out["tau"][rule][g, s] = found.relaxation_epochs
        if found.reached:
            out["norm2"][rule][g, s] = found.total_norm_squared
            out["epoch"][rule][g, s] = found.epoch
        if g == G // 2 and rule in out["final_norms"]:
            out["final_norms"][rule][s] = outcome.history.weights.norm[-1]
        if outcome.spec.adam_decay:  # Adam + L2: no fixed pure-decay factor
            m = outcome.measurements
            out["adam_ratio"][s] = [m[f"adam_ratio_{l}"] for l in range(L)]
            out["adam_rms"][s] = [m[f"adam_gradient_rms_{l}"] for l in range(L)]
    return out


def equilibrium_fits(lmbdas: dict, norm2: dict, *, confidence: float) -> dict:
    """log ‖w‖² against log λ for each rule, from its settled runs (None with too few).

    Parameters
    ----------
    lmbdas : dict of str to ndarray, shape (G,)
    norm2 : dict of str to ndarray, shape (G, S)
        NaN for a run that diverged or did not settle.
    confidence : float

    Returns
    -------
    dict of str to ScalingFit or None
        Hypotheses 0 ("no change") and −1 ("‖w‖² ∝ 1/λ"); None for a rule with
        fewer than three settled runs or a single λ among them.
    """
    from decaylab.dynamics.scaling import fit_power_law

    fits = {}
    for rule, grid in lmbdas.items():
        x = np.repeat(grid, norm2[rule].shape[1])
        y = norm2[rule].ravel()
        ok = np.isfinite(y) & (y > 0)
        fits[rule] = (
            fit_power_law(
                x[ok],
                y[ok],
                hypotheses=(0.0, -1.0),
                confidence=confidence,
                labels={0.0: "no change", -1.0: "‖w‖² ∝ 1/λ"},
            )
            if ok.sum() >= 3 and np.unique(x[ok]).size >= 2
            else None
        )
    return fits
