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

from decaylab.conventions import steps_per_epoch
from decaylab.dynamics.optimizer_factors import adam_l2_decay
from decaylab.experiments.q7_factors import optimizer_of
from decaylab.rules import get_rule

__all__ = ["adam_layers_claim", "equilibria", "equilibrium_claim", "equilibrium_fits"]


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


def equilibria(run, note, sizes, seeds, split, lmbdas, *, etas, beta, batch_size, max_relaxations):
    """Each rule at each λ from the scaled initialisation, trained until its equilibrium.

    Returns a dict: "norm2", "epoch" (detected equilibrium epoch) and "tau"
    (the detector's τ in epochs), each a dict of rule to an array of shape
    (G, S), NaN where a run diverged or did not settle within
    ``max_relaxations`` τ; "final_norms" (‖w_l‖ of Adam + L2 and AdamW at the
    middle λ, shape (S, L)); "adam_ratio" and "adam_rms", shape (S, L).
    """
    S, L, G = len(seeds), len(sizes) - 1, len(next(iter(lmbdas.values())))
    middle = G // 2
    out = {key: {r: np.full((G, S), np.nan) for r in lmbdas} for key in ("norm2", "epoch", "tau")}
    out["final_norms"] = {r: np.full((S, L), np.nan) for r in ("adam", "adamw")}
    out["adam_ratio"], out["adam_rms"] = np.full((S, L), np.nan), np.full((S, L), np.nan)
    n = split.n
    for rule, grid in lmbdas.items():
        fixed = not math.isnan(get_rule(optimizer_of(rule, beta)).epoch_factor(1, 1, 1.0, 0.0))
        for g, lam in enumerate(grid):
            for s, seed in enumerate(seeds):
                adaptive, net, state, message = run(
                    sizes, "scaled", seed, split, rule=rule, beta=beta, eta=etas[rule],
                    lmbda=lam, epochs=0, batch_size=batch_size, evaluation=None,
                    until=max_relaxations,
                )  # fmt: skip
                note(message, rule)
                if message is not None:
                    continue
                found = adaptive.equilibrium
                out["tau"][rule][g, s] = found.relaxation_epochs
                if found.reached:
                    out["norm2"][rule][g, s] = found.total_norm_squared
                    out["epoch"][rule][g, s] = found.epoch
                if g == middle and rule in out["final_norms"]:
                    out["final_norms"][rule][s] = adaptive.history.weights.norm[-1]
                if g == middle and not fixed:  # Adam + L2: no fixed pure-decay factor
                    adam = get_rule(optimizer_of(rule, beta))
                    decay = adam_l2_decay(
                        net, state, eta=etas[rule], coefficient=lam / n, beta2=adam.beta2,
                        eps=adam.eps, steps=steps_per_epoch(n, batch_size),
                    )  # fmt: skip
                    out["adam_ratio"][s], out["adam_rms"][s] = decay.ratio, decay.gradient_rms
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
