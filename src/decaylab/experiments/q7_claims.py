"""Question 7, part 4: claims 13–16 decided from the record, and what the section says of them.

Each ``claim_1x`` function reads an :class:`~decaylab.experiments.q7_optimizers.OptimizerResult`
and returns its :class:`~decaylab.experiments.claims.Claim`: the verdict of
the part's verdict function, the numbers that decide it (as the section shows
them) and the reason in a sentence.
"""

from __future__ import annotations

import numpy as np

from decaylab.experiments.claims import Claim
from decaylab.experiments.q7_equilibria import adam_layers_claim, equilibrium_claim
from decaylab.experiments.q7_factors import RULES, momentum_factor_claim
from decaylab.experiments.q7_transfer import (
    TRANSFER_RULES,
    loss_side,
    slope_side,
    transfer_claim,
)

__all__ = ["STATEMENTS", "claims", "headline", "largest_losses", "transfer_numbers"]

STATEMENTS = {
    13: "Heavy-ball momentum β turns the per-epoch decay factor e^(−ηλ/m) into about "
    "e^(−ηλ/(m(1−β))).",
    14: "Adam + L2 decays the weights with larger gradients less; AdamW decays all alike.",
    15: "Under AdamW, holding the decay timescale fixed in epochs transfers λ across data-set "
    "sizes better than λ ∝ n.",
    16: "Under every update rule, the equilibrium ‖w‖² falls as λ grows.",
}


def claim_13(result) -> Claim:
    """Momentum's first-epoch factor against e^(−ηλ/(m(1−β))) and e^(−ηλ/m)."""
    tol, m = result.settings["tolerance"], result.momentum
    measured = float(np.nanmean(result.factor_measured["momentum"][:, 0]))
    first_error = result.closed_form["momentum"] / m.epoch_factors[0] - 1.0
    word = momentum_factor_claim(
        measured,
        float(m.epoch_factors[0]),
        result.closed_form["momentum"],
        result.closed_form["sgd_at_momentum"],
        m.relative_error,
        tolerance=tol,
    )
    reason = {
        "holds": f"The measured factor follows the momentum form; the closed form is within "
        f"{tol:.0%} of the exact recurrence.",
        "holds with a qualification": "The measured factor follows the momentum form, but "
        + (
            f"the closed form misses the exact first epoch by {first_error:+.1%} (the "
            "velocity builds up from zero)."
            if abs(m.relative_error) <= tol
            else f"after the transient the closed form is off by {m.relative_error:+.1%} "
            "(a/(1 − β)² is not small)."
        ),
        "does not hold": "The measured factor is nearer e^(−ηλ/m) than the momentum form.",
        "undecided": "Every momentum run diverged.",
    }[word]
    evidence = (
        f"first epoch, layer 0: measured {measured:.4f}, exact {m.epoch_factors[0]:.4f}, "
        f"e^(−ηλ/(m(1−β))) {result.closed_form['momentum']:.4f}, e^(−ηλ/m) "
        f"{result.closed_form['sgd_at_momentum']:.4f}; after the transient the closed "
        f"form is off by {m.relative_error:+.2%}"
    )
    return Claim(13, STATEMENTS[13], word, evidence, reason, 7)


def claim_14(result) -> Claim:
    """Adam + L2's decay rate per layer over AdamW's, against each layer's √v̂."""
    ratio = np.nanmean(result.adam_ratio, axis=0)
    rms = np.nanmean(result.adam_gradient_rms, axis=0)
    norms = np.nanmean(result.adam_norm_ratio, axis=0)
    word = adam_layers_claim(ratio, rms, norms, margin=result.settings["layer_margin"])
    least = int(np.nanargmin(ratio)) if np.isfinite(ratio).any() else 0
    most = int(np.nanargmax(ratio)) if np.isfinite(ratio).any() else 0
    reason = {
        "holds": f"Adam + L2 decays layer {least} (largest √v̂) at {ratio[least]:.3g}× "
        f"AdamW's rate, layer {most} at {ratio[most]:.3g}×, and layer {least} keeps the "
        "most weight against AdamW.",
        "holds with a qualification": f"Adam + L2 decays layer {least} (largest √v̂) at "
        f"{ratio[least]:.3g}× AdamW's rate, layer {most} at {ratio[most]:.3g}×, but its "
        "final weights are not the largest against AdamW.",
        "does not hold": f"Layer {least} decays least, but another layer has larger gradients.",
        "undecided": "The layers' effective decay rates differ by less than "
        f"{result.settings['layer_margin']:.0%}.",
    }[word]
    evidence = (
        "Adam + L2 rate over AdamW's per layer: "
        + ", ".join(f"{r:.3g}" for r in ratio)
        + "; √v̂ per layer: "
        + ", ".join(f"{v:.2g}" for v in rms)
    )
    return Claim(14, STATEMENTS[14], word, evidence, reason, 7)


def largest_losses(result) -> dict:
    """Each rule's largest relative validation cost lost over the n below the largest."""
    out = {}
    for rule in TRANSFER_RULES:
        loss = np.asarray(result.transfer_loss[rule], dtype=float)[:-1]
        finite = loss[np.isfinite(loss)]
        # A rule whose λ fell off the grid at some n was not measured there: no verdict.
        out[rule] = float(finite.max()) if finite.size == loss.size and loss.size else np.nan
    return out


def transfer_numbers(result) -> str:
    """Claim 15's deciding numbers, as its row and the section both show them."""
    fit, losses = result.transfer_fit, largest_losses(result)
    if fit is None:
        slope = "λ* ∝ n^b not fitted"
    else:
        admits = {"neither": "neither 0 nor 1", "both": "both 0 and 1"}.get(
            fit.verdict, f"only {fit.admitted[0]:g}" if fit.admitted else fit.verdict
        )
        width = fit.interval[1] - fit.interval[0]
        slope = f"λ* ∝ n^b, b = {fit} (width {width:.2g}, admits {admits})"
    lost = ", ".join(
        f"{rule} {'not measured' if not np.isfinite(v) else f'{v:.1%}'}"
        for rule, v in losses.items()
    )
    interior = result.transfer_interior
    return (
        f"{slope}; largest validation cost lost: {lost}; "
        f"λ* interior in {int(interior.sum())} of {interior.size}"
    )


def claim_15(result) -> Claim:
    """The fit λ* ∝ n^b and the validation cost each rule loses, together."""
    margin = result.settings["loss_margin"]
    losses = largest_losses(result)
    word = transfer_claim(losses, result.transfer_fit, margin=margin)
    slope, loss = slope_side(result.transfer_fit), loss_side(losses, margin)
    slope = "midpoint" if slope == "neither" else slope
    says = {
        TRANSFER_RULES[0]: "favours the fixed timescale",
        TRANSFER_RULES[1]: "favours λ ∝ n",
        "neither": "cannot tell the rules apart",
        "midpoint": "holds 1/2 in its interval, where both rules miss λ* alike",
        None: "was not measured",
    }
    if word == "holds":
        reason = "b's interval lies below 1/2 and the fixed timescale loses less cost."
    elif word == "does not hold":
        reason = "b's interval lies above 1/2 and λ ∝ n loses less cost."
    else:
        reason = f"The slope {says[slope]}; the cost lost {says[loss]} (margin {margin:.0%})."
    return Claim(15, STATEMENTS[15], word, transfer_numbers(result), reason, 7)


def claim_16(result) -> Claim:
    """Each rule's slope of log ‖w‖² at equilibrium on log λ."""
    word = equilibrium_claim(result.equilibrium_fit)
    slopes = {r: f.exponent for r, f in result.equilibrium_fit.items() if f is not None}
    flattest = max(slopes, key=slopes.get) if slopes else None
    reason = {
        "holds": "Every rule's slope interval of log ‖w‖² against log λ lies below 0.",
        "holds with a qualification": "No slope interval lies above 0, but that of "
        f"{RULES.get(flattest, 'a rule')} includes 0 (or a rule could not be fitted).",
        "does not hold": f"Under {RULES.get(flattest, 'a rule')} ‖w‖² grows with λ.",
        "undecided": "No rule's runs could be fitted.",
    }[word]
    evidence = "slopes: " + ", ".join(
        f"{RULES[r]} {f}" for r, f in result.equilibrium_fit.items() if f is not None
    )
    return Claim(16, STATEMENTS[16], word, evidence, reason, 7)


def claims(result) -> list[Claim]:
    """Claims 13–16 of ``result``."""
    return [claim_13(result), claim_14(result), claim_15(result), claim_16(result)]


def headline(result, decided: list[Claim]) -> str:
    """The section's one line: Adam + L2 against AdamW on layer 0, then the verdicts."""
    ratio = np.asarray(result.adam_ratio, dtype=float)[:, 0]
    number = (
        f"Adam + L2 decays layer 0 at {np.nanmean(ratio):.3g}× AdamW's rate. "
        if np.isfinite(ratio).any()
        else ""
    )
    verdicts = ", ".join(f"claim {c.number} {c.verdict}" for c in decided) + "."
    return number + verdicts[0].upper() + verdicts[1:]
