r"""Question 7: does the picture of eq. 93 carry over to momentum, Adam + L2 and AdamW?

Four update rules (:mod:`decaylab.optimizers`) are trained on one network,
each with its own learning rate, at the same *nominal* decay: the L2
coefficient c = λ/n of Nielsen's convention, added to the gradient by
momentum and Adam + L2, applied as w → (1 − ηc)·w by eq. 93 and AdamW. λ
is chosen per rule from a pure-decay timescale τ in epochs: τ = m/(ηλ) for
eq. 93, AdamW and Adam + L2, τ = m(1 − β)/(ηλ) for momentum, so that the
rules are compared at equal nominal decay per epoch.

1. **Per-epoch factor.** The first epoch from the large initialisation,
   where decay dominates under eq. 93 (question 1): the measured
   ‖w_1‖/‖w_0‖ of each layer against each rule's prediction (d^⌈n/m⌉ for
   eq. 93 and AdamW, the exact momentum recurrence with its transient,
   Adam + L2's effective factor measured from its √v̂), and momentum's
   closed form e^{−ηλ/(m(1−β))}.
2. **Equilibrium ‖w‖² against λ** under each rule, from the scaled
   initialisation: the slope of log ‖w‖² against log λ.
3. **Adam + L2 against AdamW** at equal nominal decay: which layers
   Adam + L2 decays less (its effective rate ηc/(√v̂ + ε) against AdamW's
   ηc), and whether the weights it ends with say the same.
4. **λ transfer under AdamW** across training-set sizes n: the best λ at
   the largest n carried to the smaller ones by holding the decay timescale
   fixed in epochs (λ fixed, AdamW's weight_decay = λ/n ∝ 1/n; Wang &
   Aitchison 2024) or by λ ∝ n (a fixed weight_decay).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from decaylab._progress import progress_bar
from decaylab._validation import check_int, check_real
from decaylab.conventions import steps_per_epoch
from decaylab.dynamics.optimizer_factors import adam_l2_decay, momentum_factors
from decaylab.errors import TrainingDiverged
from decaylab.experiments.adaptive import train_until_equilibrium
from decaylab.experiments.claims import Claim
from decaylab.experiments.estimates import estimate
from decaylab.experiments.inputs import (
    as_seeds,
    check_int_list,
    check_positive_list,
    resolve_data,
    subset,
)
from decaylab.experiments.q6_conventions import best_lambda, estimate_geometric
from decaylab.experiments.records import ExperimentResult
from decaylab.network import Network
from decaylab.optimizers import Adam, AdamW, Momentum
from decaylab.rules import get_rule
from decaylab.training import train

__all__ = [
    "RULES",
    "OptimizerResult",
    "adam_layers_claim",
    "equilibrium_claim",
    "momentum_factor_claim",
    "optimizer_comparison",
    "transfer_claim",
]

#: The update rules compared, and how the report names them.
RULES = {"sgd": "eq. 93", "momentum": "momentum", "adam": "Adam + L2", "adamw": "AdamW"}

TRANSFER_RULES = ("fixed timescale", "λ ∝ n")

STATEMENTS = {
    13: "Heavy-ball momentum β turns the per-epoch decay factor e^(−ηλ/m) into about "
    "e^(−ηλ/(m(1−β))).",
    14: "Adam + L2 decays the weights with larger gradients less; AdamW decays all alike.",
    15: "Under AdamW, holding the decay timescale fixed in epochs transfers λ across data-set "
    "sizes better than λ ∝ n.",
    16: "Under every update rule, the equilibrium ‖w‖² falls as λ grows.",
}


def momentum_factor_claim(
    measured: float,
    exact: float,
    closed_form: float,
    sgd_closed_form: float,
    asymptotic_error: float,
    *,
    tolerance: float = 0.01,
) -> str:
    """Verdict on claim 13 from momentum's first-epoch factors.

    Parameters
    ----------
    measured : float
        ‖w_1‖/‖w_0‖ measured under momentum (NaN when the runs diverged).
    exact : float
        The exact first-epoch factor of the momentum recurrence (transient included).
    closed_form : float
        e^{−ηλ/(m(1−β))}.
    sgd_closed_form : float
        e^{−ηλ/m}, what the factor would be without momentum.
    asymptotic_error : float
        closed form / r₊^K − 1, the closed form's error once the transient has gone.
    tolerance : float
        The closed form "holds" within this relative error.

    Returns
    -------
    str
        "undecided" if nothing was measured; "does not hold" if the measured
        factor is nearer (in log) to e^{−ηλ/m} than to the momentum form;
        "holds" if it is nearer the momentum form and the closed form is
        within ``tolerance`` of the exact factor both in the first epoch and
        after the transient; "holds with a qualification" otherwise.
    """
    if not np.isfinite(measured) or measured <= 0:
        return "undecided"
    if abs(np.log(measured / sgd_closed_form)) < abs(np.log(measured / closed_form)):
        return "does not hold"
    first_epoch_error = closed_form / exact - 1.0
    if max(abs(first_epoch_error), abs(asymptotic_error)) <= tolerance:
        return "holds"
    return "holds with a qualification"


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


def transfer_claim(losses: dict, *, margin: float = 0.005, fit=None) -> str:
    """Verdict on claim 15 from the accuracy each transfer rule loses.

    Parameters
    ----------
    losses : dict of str to float
        The largest accuracy lost over the smaller n by "fixed timescale"
        and by "λ ∝ n".
    margin : float
        Accuracy difference below which neither rule is called better.
    fit : ScalingFit, optional
        The fit λ* ∝ n^b. When its interval holds both 0 (fixed timescale)
        and 1 (λ ∝ n), the measurement cannot tell the rules apart.

    Returns
    -------
    str
        "undecided" when ``fit``'s interval admits both rules or a loss is
        not measured; otherwise "holds" when the fixed timescale loses less
        by more than ``margin``, "does not hold" when λ ∝ n does, and
        "undecided" when they differ by less.
    """
    if fit is not None and fit.interval[0] <= 0.0 and fit.interval[1] >= 1.0:
        return "undecided"
    fixed, proportional = losses["fixed timescale"], losses["λ ∝ n"]
    if not (np.isfinite(fixed) and np.isfinite(proportional)):
        return "undecided"
    if proportional - fixed > margin:
        return "holds"
    if fixed - proportional > margin:
        return "does not hold"
    return "undecided"


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


@dataclass
class OptimizerResult(ExperimentResult):
    """The four update rules side by side: decay factors, equilibria, layers and λ transfer.

    Arrays are indexed by seed s and weight layer l unless noted; dicts are keyed
    by rule ("sgd", "momentum", "adam", "adamw").

    Attributes
    ----------
    rules : list of str
    eta : dict of str to float
        Each rule's learning rate.
    factor_lmbda : dict of str to float
        λ of the factor runs (pure-decay timescale ``factor_timescale`` epochs).
    factor_measured : dict of str to ndarray, shape (S, L)
        ‖w_l‖ after the first epoch over before (NaN for a diverged run).
    factor_predicted : dict of str to ndarray, shape (S, L)
        Each rule's prediction: d^K (eq. 93, AdamW), the exact momentum
        recurrence's first epoch, Adam + L2's (1 − a_eff)^K from its state
        after the epoch.
    closed_form : dict of str to float
        e^{−ηλ/m} (eq. 93, AdamW), e^{−ηλ/(m(1−β))} (momentum); NaN for Adam + L2.
    momentum : MomentumFactors
        The exact momentum factors of the factor runs.
    equilibrium_lmbda : dict of str to ndarray, shape (G,)
        λ of the equilibrium runs, one per timescale of ``timescales``.
    equilibrium_norm2 : dict of str to ndarray, shape (G, S)
        ‖w‖² of all weights at the run's detected equilibrium (the mean over the
        detector's window); NaN for a run that did not settle within the cap.
    equilibrium_epoch : dict of str to ndarray, shape (G, S)
        The epoch at which each run's equilibrium was detected (NaN: not settled).
    equilibrium_tau : dict of str to ndarray, shape (G, S)
        Each run's relaxation time τ in epochs, as its detector took it.
    equilibrium_fit : dict of str to ScalingFit or None
        log ‖w‖² against log λ.
    adam_ratio : ndarray, shape (S, L)
        a_eff/(ηc) of Adam + L2 at the end of its equilibrium run at the
        middle timescale: its decay rate of each layer over AdamW's.
    adam_gradient_rms : ndarray, shape (S, L)
        Each layer's root-mean-square √v̂ there.
    adam_norm_ratio : ndarray, shape (S, L)
        ‖w_l‖ under Adam + L2 over ‖w_l‖ under AdamW at the end of those runs.
    ns : ndarray of int, shape (N,)
        Training-set sizes of the AdamW transfer scan.
    transfer_lmbda : ndarray, shape (G2,)
    transfer_accuracy : ndarray, shape (N, S, G2)
        Validation accuracy, mean over the last ``average_epochs`` epochs.
    transfer_lambda_star : ndarray, shape (N, S)
        The largest λ within ``tolerance`` of the best accuracy.
    transfer_censored : ndarray of bool, shape (N, S)
    transfer_loss : dict of str to ndarray, shape (N,)
        Accuracy lost at each n when λ* of the largest n is carried over by
        "fixed timescale" (the same λ) or "λ ∝ n"; NaN where that λ lies off
        the grid.
    transfer_fit : ScalingFit or None
        λ* ∝ n^b, hypotheses 0 (fixed timescale) and 1 (λ ∝ n).
    """

    number = 7
    title = "Momentum, Adam with L2 and AdamW"
    question = (
        "Does the picture of eq. 93 carry over to heavy-ball momentum, Adam with L2 and AdamW: "
        "how fast do the weights decay per epoch, where do they settle, which layers does "
        "Adam + L2 decay less, and how should λ change with the data-set size under AdamW?"
    )

    rules: list
    eta: dict
    factor_lmbda: dict
    factor_measured: dict
    factor_predicted: dict
    closed_form: dict
    momentum: object
    equilibrium_lmbda: dict
    equilibrium_norm2: dict
    equilibrium_fit: dict
    equilibrium_epoch: dict
    equilibrium_tau: dict
    adam_ratio: np.ndarray
    adam_gradient_rms: np.ndarray
    adam_norm_ratio: np.ndarray
    ns: np.ndarray
    transfer_lmbda: np.ndarray
    transfer_accuracy: np.ndarray
    transfer_lambda_star: np.ndarray
    transfer_censored: np.ndarray
    transfer_loss: dict
    transfer_fit: object

    def table(self) -> tuple[list[str], list[list[str]]]:
        layers = self.factor_measured[self.rules[0]].shape[1]
        header = ["rule", "η", "λ"]
        header += [f"predicted (layer {l})" for l in range(layers)]
        header += [f"measured (layer {l})" for l in range(layers)]
        header += ["closed form", "‖w‖² slope in λ"]
        rows = []
        with np.errstate(invalid="ignore"):
            for rule in self.rules:
                predicted = np.nanmean(self.factor_predicted[rule], axis=0)
                measured = np.nanmean(self.factor_measured[rule], axis=0)
                fit = self.equilibrium_fit[rule]
                slope = "—" if fit is None else f"{fit}"
                closed = self.closed_form[rule]
                rows.append(
                    [RULES[rule], f"{self.eta[rule]:g}", f"{self.factor_lmbda[rule]:.3g}"]
                    + [f"{p:.4f}" for p in predicted]
                    + [f"{m:.4f}" for m in measured]
                    + ["—" if not np.isfinite(closed) else f"{closed:.4f}", slope]
                )
        return header, rows

    def equilibrium_table(self) -> tuple[list[str], list[list[str]]]:
        """Each rule's equilibrium runs: λ, τ, detected equilibrium epoch, ‖w‖² there."""
        header = ["rule", "λ", "τ (epochs)", "settled", "equilibrium epoch", "‖w‖²"]
        rows = []
        for rule in self.rules:
            for g, lam in enumerate(self.equilibrium_lmbda[rule]):
                epochs = self.equilibrium_epoch[rule][g]
                settled = np.isfinite(epochs)
                shown = ", ".join(f"{e:.0f}" for e in epochs[settled]) or "—"
                rows.append(
                    [
                        RULES[rule],
                        f"{lam:.4g}",
                        f"{np.nanmean(self.equilibrium_tau[rule][g]):.3g}",
                        f"{settled.sum()}/{settled.size}",
                        shown,
                        f"{estimate(self.equilibrium_norm2[rule][g])}",
                    ]
                )
        return header, rows

    def tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """The factor and equilibrium tables with their captions."""
        cap = self.settings["max_relaxations"]
        return [
            (
                "First-epoch factor ‖w_1‖/‖w_0‖ per layer from the large initialisation, "
                "predicted and measured, and each rule's fitted slope of log ‖w‖² on log λ.",
                *self.table(),
            ),
            (
                "Equilibrium runs from the scaled initialisation, each trained until its "
                f"detector says ‖w‖² settled (cap {cap:g} τ); ‖w‖² is the mean over the "
                "detector's window, ± over seeds.",
                *self.equilibrium_table(),
            ),
        ]

    def _transfer_losses(self) -> dict:
        # At the largest n both rules give λ* itself; the smaller sizes tell them apart.
        losses = {}
        for rule, loss in self.transfer_loss.items():
            finite = loss[:-1][np.isfinite(loss[:-1])] if loss.size > 1 else loss
            losses[rule] = float(np.max(finite)) if finite.size else float("nan")
        return losses

    def claims(self) -> list[Claim]:
        tol = self.settings["tolerance"]
        m = self.momentum
        measured = float(np.nanmean(self.factor_measured["momentum"][:, 0]))
        first_error = self.closed_form["momentum"] / m.epoch_factors[0] - 1.0
        word13 = momentum_factor_claim(
            measured,
            float(m.epoch_factors[0]),
            self.closed_form["momentum"],
            self.closed_form["sgd_at_momentum"],
            m.relative_error,
            tolerance=tol,
        )
        reason13 = {
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
        }[word13]
        ratio = np.nanmean(self.adam_ratio, axis=0)
        rms = np.nanmean(self.adam_gradient_rms, axis=0)
        norms = np.nanmean(self.adam_norm_ratio, axis=0)
        word14 = adam_layers_claim(ratio, rms, norms, margin=self.settings["layer_margin"])
        least = int(np.nanargmin(ratio)) if np.isfinite(ratio).any() else 0
        most = int(np.nanargmax(ratio)) if np.isfinite(ratio).any() else 0
        reason14 = {
            "holds": f"Adam + L2 decays layer {least} (largest √v̂) at {ratio[least]:.3g}× "
            f"AdamW's rate, layer {most} at {ratio[most]:.3g}×, and layer {least} keeps the "
            "most weight against AdamW.",
            "holds with a qualification": f"Adam + L2 decays layer {least} (largest √v̂) at "
            f"{ratio[least]:.3g}× AdamW's rate, layer {most} at {ratio[most]:.3g}×, but its "
            "final weights are not the largest against AdamW.",
            "does not hold": f"Layer {least} decays least, but another layer has larger gradients.",
            "undecided": "The layers' effective decay rates differ by less than "
            f"{self.settings['layer_margin']:.0%}.",
        }[word14]
        losses = self._transfer_losses()
        word15 = transfer_claim(losses, margin=self.settings["loss_margin"], fit=self.transfer_fit)
        reason15 = {
            "holds": "Carrying λ* over with a fixed timescale costs less accuracy than λ ∝ n.",
            "does not hold": "Carrying λ* over with λ ∝ n costs less accuracy than a fixed "
            "timescale.",
            "undecided": "λ*'s fitted exponent admits both rules, or the two rules' accuracy "
            f"losses differ by less than {self.settings['loss_margin']:g} (or were not measured).",
        }[word15]
        word16 = equilibrium_claim(self.equilibrium_fit)
        slopes = {r: f.exponent for r, f in self.equilibrium_fit.items() if f is not None}
        flattest = max(slopes, key=slopes.get) if slopes else None
        reason16 = {
            "holds": "Every rule's slope interval of log ‖w‖² against log λ lies below 0.",
            "holds with a qualification": "No slope interval lies above 0, but that of "
            f"{RULES.get(flattest, 'a rule')} includes 0 (or a rule could not be fitted).",
            "does not hold": f"Under {RULES.get(flattest, 'a rule')} ‖w‖² grows with λ.",
            "undecided": "No rule's runs could be fitted.",
        }[word16]
        return [
            Claim(
                13,
                STATEMENTS[13],
                word13,
                f"first epoch, layer 0: measured {measured:.4f}, exact {m.epoch_factors[0]:.4f}, "
                f"e^(−ηλ/(m(1−β))) {self.closed_form['momentum']:.4f}, e^(−ηλ/m) "
                f"{self.closed_form['sgd_at_momentum']:.4f}; after the transient the closed "
                f"form is off by {m.relative_error:+.2%}",
                reason13,
                7,
            ),
            Claim(
                14,
                STATEMENTS[14],
                word14,
                "Adam + L2 rate over AdamW's per layer: "
                + ", ".join(f"{r:.3g}" for r in ratio)
                + "; √v̂ per layer: "
                + ", ".join(f"{v:.2g}" for v in rms),
                reason14,
                7,
            ),
            Claim(
                15,
                STATEMENTS[15],
                word15,
                "largest accuracy lost: "
                + ", ".join(f"{rule} {v:.3f}" for rule, v in losses.items())
                + ("" if self.transfer_fit is None else f"; λ* ∝ n^{self.transfer_fit}"),
                reason15,
                7,
            ),
            Claim(
                16,
                STATEMENTS[16],
                word16,
                "slopes: "
                + ", ".join(
                    f"{RULES[r]} {f}" for r, f in self.equilibrium_fit.items() if f is not None
                ),
                reason16,
                7,
            ),
        ]


def _optimizer(rule: str, beta: float):
    return {"sgd": None, "momentum": Momentum(beta=beta), "adam": Adam(), "adamw": AdamW()}[rule]


def _streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    # The same two streams as the other experiments' runs: weights, then batch order.
    net_stream, order_stream = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(net_stream), np.random.default_rng(order_stream)


def _run(
    sizes, init, seed, split, *, rule, beta, eta, lmbda, epochs, batch_size, evaluation, until=None
):
    """Train one network; return (history, net, optimizer state, diverged message or None).

    With ``until`` (a cap in τ) the run goes on until its equilibrium detector
    says settled (:func:`train_until_equilibrium`) and ``epochs`` is the least
    it trains; the AdaptiveRun is then returned in place of the history.
    """
    net_rng, order_rng = _streams(seed)
    net = Network(sizes, init=init, seed=net_rng)
    optimizer = _optimizer(rule, beta)
    state = None if optimizer is None else optimizer.init(net)
    settings = {"batch_size": batch_size, "eta": eta, "lmbda": lmbda, "seed": order_rng}
    settings.update(optimizer=optimizer, optimizer_state=state, evaluation=evaluation)
    try:
        if until is not None:
            run = train_until_equilibrium(
                net, split, max_relaxations=until, min_epochs=epochs, **settings
            )
            return run, net, state, None
        history = train(
            net, split, epochs=epochs, training_metrics=False, progress=False, **settings
        )
    except TrainingDiverged as exc:
        return exc.history, net, state, str(exc)
    return history, net, state, None


def _equilibria(run, note, sizes, seeds, split, lmbdas, *, etas, beta, batch_size, max_relaxations):
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
        fixed = not math.isnan(get_rule(_optimizer(rule, beta)).epoch_factor(1, 1, 1.0, 0.0))
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
                    adam = get_rule(_optimizer(rule, beta))
                    decay = adam_l2_decay(
                        net, state, eta=etas[rule], coefficient=lam / n, beta2=adam.beta2,
                        eps=adam.eps, steps=steps_per_epoch(n, batch_size),
                    )  # fmt: skip
                    out["adam_ratio"][s], out["adam_rms"][s] = decay.ratio, decay.gradient_rms
    return out


def _lmbda_for(rule: str, timescale: float, *, eta: float, batch_size: int, beta: float) -> float:
    """λ whose pure-decay timescale is ``timescale`` epochs: m/(ηλ), m(1 − β)/(ηλ) with momentum.

    The factor is the rule's own: the rate of its closed form e^{−rate·n/m} per unit
    ηλ/n (Adam + L2 has none; AdamW's, 1, is taken).
    """
    speed = -math.log(get_rule(_optimizer(rule, beta)).closed_form(1, 1, 1.0, 1.0))
    scale = 1.0 / speed if math.isfinite(speed) else 1.0
    return batch_size * scale / (eta * timescale)


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
    average_epochs: int = 3,
    ns: Sequence[int] | None = None,
    transfer_timescales: Sequence[float] = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0),
    transfer_epochs: int = 8,
    tolerance: float = 0.01,
    layer_margin: float = 0.1,
    loss_margin: float = 0.005,
    seeds: int | Sequence[int] = 2,
    confidence: float = 0.95,
    progress: bool = False,
) -> OptimizerResult:
    r"""Compare eq. 93, momentum, Adam + L2 and AdamW on one network (experiment 7).

    Parameters
    ----------
    data : Dataset, optional
        The bundled digits by default; accuracy on ``data.validation``.
    hidden : int
        Hidden width of the [n_in, hidden, n_classes] network.
    rules : sequence of str
        Which of "sgd", "momentum", "adam", "adamw" to compare (all four
        by default; "momentum", "adam" and "adamw" are needed by claims 13–15).
    eta : dict of str to float, optional
        Learning rate per rule; by default 0.5 (eq. 93), 0.05 (momentum: the
        same η/(1 − β)), 0.003 (Adam + L2, AdamW).
    beta : float
        Momentum β.
    batch_size : int
        Mini-batch size m.
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
    average_epochs : int
        Epochs the transfer runs' validation accuracy is averaged over.
    ns : sequence of int, optional
        Training-set sizes of the AdamW transfer scan (empty to skip); by
        default a quarter, a half and all of the training set.
    transfer_timescales : sequence of float
        The λ grid of the transfer scan, as timescales at the largest n.
    transfer_epochs : int
    tolerance : float
        Relative error within which a closed form holds, and accuracy that
        λ* may give up against the best.
    layer_margin, loss_margin : float
        See :func:`adam_layers_claim` and :func:`transfer_claim`.
    seeds : int or sequence of int
    confidence : float
        Coverage of the slope intervals.
    progress : bool
        Show a progress bar over the runs.

    Returns
    -------
    OptimizerResult

    Notes
    -----
    The runs are trained one after the other, in this process (an update
    rule's state is needed back from each run, and the ensemble trains eq. 93
    only).
    """
    from decaylab.dynamics.scaling import fit_power_law

    data = resolve_data(data)
    hidden = check_int("hidden", hidden, minimum=1)
    rules = list(rules)
    for i, rule in enumerate(rules):
        if rule not in RULES:
            raise ValueError(
                f"rules[{i}]={rule!r} is not recognised; expected one of {list(RULES)}"
            )
    missing = [r for r in ("momentum", "adam", "adamw") if r not in rules]
    if missing:
        raise ValueError(f"rules={rules!r} lacks {missing}; claims 13-15 need them")
    etas = {"sgd": 0.5, "momentum": 0.05, "adam": 0.003, "adamw": 0.003}
    if eta is not None:
        if not isinstance(eta, dict):
            raise TypeError(f"eta has type {type(eta).__name__}; expected a dict of rule to η")
        etas.update({r: check_real(f"eta[{r!r}]", v, positive=True) for r, v in eta.items()})
    beta = check_real("beta", beta, nonnegative=True)
    if beta >= 1.0:
        raise ValueError(f"beta={beta} is too large; expected 0 <= beta < 1")
    n_max = data.train.n
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=n_max)
    factor_timescale = check_real("factor_timescale", factor_timescale, positive=True)
    timescales = sorted(check_positive_list("timescales", timescales))
    if len(timescales) < 2:
        raise ValueError(f"timescales={timescales!r} has one value; expected at least 2")
    if equilibrium_n is None:
        equilibrium_n = max(batch_size, n_max // 2)
    equilibrium_n = check_int("equilibrium_n", equilibrium_n, minimum=batch_size, maximum=n_max)
    if ns is None:
        ns = tuple(sorted({max(batch_size, n_max // 4), max(batch_size, n_max // 2), n_max}))
    max_relaxations = check_real("max_relaxations", max_relaxations, positive=True)
    average_epochs = check_int("average_epochs", average_epochs, minimum=1)
    ns = tuple(sorted(check_int_list("ns", ns, minimum=batch_size))) if len(ns) else ()
    for i, n in enumerate(ns):
        check_int(f"ns[{i}]", n, minimum=batch_size, maximum=n_max)
    transfer_timescales = sorted(check_positive_list("transfer_timescales", transfer_timescales))
    transfer_epochs = check_int("transfer_epochs", transfer_epochs, minimum=average_epochs)
    tolerance = check_real("tolerance", tolerance, positive=True)
    layer_margin = check_real("layer_margin", layer_margin, positive=True)
    loss_margin = check_real("loss_margin", loss_margin, positive=True)
    seeds = as_seeds(seeds)
    sizes = (data.n_inputs, hidden, data.n_classes)
    S, L = len(seeds), len(sizes) - 1
    diverged: list[str] = []

    def lmbda_of(rule, tau):
        return _lmbda_for(rule, tau, eta=etas[rule], batch_size=batch_size, beta=beta)

    n_runs = len(rules) * S * (1 + len(timescales)) + len(ns) * len(transfer_timescales) * S
    bar = progress_bar(
        total=n_runs, desc="Q7 optimizers", unit="run", disable=not progress, leave=False
    )

    def run(*args, **options):
        outcome = _run(*args, **options)
        bar.update()
        return outcome

    def note(message, rule):
        if message is not None:
            diverged.append(f"{RULES[rule]}: {message.split(';')[0]}")

    # 1. First-epoch factors from the large initialisation.
    K = steps_per_epoch(n_max, batch_size)
    factor_lmbda = {r: lmbda_of(r, factor_timescale) for r in rules}
    factor_measured = {r: np.full((S, L), np.nan) for r in rules}
    factor_predicted = {r: np.full((S, L), np.nan) for r in rules}
    closed_form = {}
    for rule in rules:
        optimizer, c = get_rule(_optimizer(rule, beta)), factor_lmbda[rule] / n_max
        closed_form[rule] = optimizer.closed_form(n_max, batch_size, etas[rule], c)
        for s, seed in enumerate(seeds):
            history, net, state, message = run(
                sizes,
                "large",
                seed,
                data.train,
                rule=rule,
                beta=beta,
                eta=etas[rule],
                lmbda=factor_lmbda[rule],
                epochs=1,
                batch_size=batch_size,
                evaluation=None,
            )
            note(message, rule)
            if message is not None:
                continue
            factor_measured[rule][s] = history.weights.norm[1] / history.weights.norm[0]
            # The rule's exact first-epoch factor from a fresh state; a rule with none
            # (Adam + L2) has its effective decay measured from its state instead.
            predicted = optimizer.epoch_factors(n_max, batch_size, etas[rule], c, epochs=1)[0]
            if math.isnan(predicted):
                factor_predicted[rule][s] = adam_l2_decay(
                    net,
                    state,
                    eta=etas[rule],
                    coefficient=c,
                    beta2=optimizer.beta2,
                    eps=optimizer.eps,
                    steps=K,
                ).effective_epoch
            else:
                factor_predicted[rule][s] = predicted
    a_momentum = etas["momentum"] * factor_lmbda["momentum"] / n_max
    momentum = momentum_factors(a_momentum, beta, n_max, batch_size, epochs=3)
    closed_form["momentum"] = momentum.closed_form
    closed_form["sgd_at_momentum"] = float(np.exp(-a_momentum * n_max / batch_size))

    # 2 and 3. Equilibrium ‖w‖² against λ, and Adam + L2 against AdamW at equal nominal decay.
    split = subset(data.train, equilibrium_n)
    equilibrium_lmbda = {r: np.array([lmbda_of(r, tau) for tau in timescales]) for r in rules}
    eq = _equilibria(
        run,
        note,
        sizes,
        seeds,
        split,
        equilibrium_lmbda,
        etas=etas,
        beta=beta,
        batch_size=batch_size,
        max_relaxations=max_relaxations,
    )
    equilibrium_norm2 = eq["norm2"]
    equilibrium_fit = {}
    for rule in rules:
        x = np.repeat(equilibrium_lmbda[rule], S)
        y = equilibrium_norm2[rule].ravel()
        ok = np.isfinite(y) & (y > 0)
        equilibrium_fit[rule] = (
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

    # 4. λ transfer across n under AdamW.
    eta_w = etas["adamw"]
    transfer_lmbda = np.array([lmbda_of("adamw", tau) for tau in transfer_timescales])[::-1]
    transfer_accuracy = np.full((len(ns), S, transfer_lmbda.size), np.nan)
    for i, n in enumerate(ns):
        for g, lam in enumerate(transfer_lmbda):
            if eta_w * lam / n >= 1.0:
                continue
            for s, seed in enumerate(seeds):
                history, _, _, message = run(
                    sizes,
                    "scaled",
                    seed,
                    subset(data.train, n),
                    rule="adamw",
                    beta=beta,
                    eta=eta_w,
                    lmbda=lam,
                    epochs=transfer_epochs,
                    batch_size=batch_size,
                    evaluation=data.validation,
                )
                note(message, "adamw")
                if message is None:
                    acc = history.evaluation_accuracy[-average_epochs:]
                    transfer_accuracy[i, s, g] = float(np.mean(acc))
    pairs = [
        [best_lambda(transfer_lmbda, transfer_accuracy[i, s], tolerance) for s in range(S)]
        for i in range(len(ns))
    ]
    transfer_star = np.array([[p[0] for p in row] for row in pairs]).reshape(len(ns), S)
    transfer_censored = np.array([[p[1] for p in row] for row in pairs], dtype=bool)
    transfer_censored = transfer_censored.reshape(len(ns), S)
    transfer_loss = {rule: np.full(len(ns), np.nan) for rule in TRANSFER_RULES}
    if ns and np.isfinite(transfer_star[-1]).all():
        star_ref = estimate_geometric(transfer_star[-1]).mean
        curves = np.nanmean(transfer_accuracy, axis=1)
        for i, n in enumerate(ns):
            best = np.nanmax(curves[i])
            for rule, lam in (("fixed timescale", star_ref), ("λ ∝ n", star_ref * n / ns[-1])):
                # Measured on the grid, interpolated between its points on log λ; off the
                # grid it was not measured.
                if transfer_lmbda[0] <= lam <= transfer_lmbda[-1]:
                    got = np.interp(np.log(lam), np.log(transfer_lmbda), curves[i])
                    transfer_loss[rule][i] = best - got

    stars = transfer_star.ravel()
    x_ns = np.repeat(np.array(ns, dtype=float), S)
    ok = np.isfinite(stars)
    transfer_fit = (
        fit_power_law(
            x_ns[ok],
            stars[ok],
            hypotheses=(0.0, 1.0),
            confidence=confidence,
            labels={0.0: "fixed timescale", 1.0: "λ ∝ n"},
        )
        if ok.sum() >= 3 and np.unique(x_ns[ok]).size >= 2
        else None
    )

    bar.close()
    result = OptimizerResult(
        settings={
            "data": data.name,
            "n": n_max,
            "sizes": list(sizes),
            "rules": rules,
            "eta": etas,
            "beta": beta,
            "batch_size": batch_size,
            "factor_timescale": factor_timescale,
            "timescales": list(timescales),
            "equilibrium_n": equilibrium_n,
            "max_relaxations": max_relaxations,
            "average_epochs": average_epochs,
            "ns": list(ns),
            "transfer_timescales": list(transfer_timescales),
            "transfer_epochs": transfer_epochs,
            "tolerance": tolerance,
            "layer_margin": layer_margin,
            "loss_margin": loss_margin,
            "seeds": list(seeds),
            "confidence": confidence,
        },
        prediction=(
            "momentum multiplies the per-epoch decay exponent by 1/(1 − β), after a transient in "
            "which the velocity builds up; Adam + L2 decays the layers with larger √v̂ less, "
            "AdamW all alike; under AdamW a fixed decay timescale in epochs (fixed λ) transfers "
            "across n; ‖w‖² at equilibrium falls as λ grows under every rule"
        ),
        verdict="",
        diverged=diverged,
        rules=rules,
        eta={r: etas[r] for r in rules},
        factor_lmbda=factor_lmbda,
        factor_measured=factor_measured,
        factor_predicted=factor_predicted,
        closed_form=closed_form,
        momentum=momentum,
        equilibrium_lmbda=equilibrium_lmbda,
        equilibrium_norm2=equilibrium_norm2,
        equilibrium_fit=equilibrium_fit,
        equilibrium_epoch=eq["epoch"],
        equilibrium_tau=eq["tau"],
        adam_ratio=eq["adam_ratio"],
        adam_gradient_rms=eq["adam_rms"],
        adam_norm_ratio=eq["final_norms"]["adam"] / eq["final_norms"]["adamw"],
        ns=np.array(ns, dtype=np.int64),
        transfer_lmbda=transfer_lmbda,
        transfer_accuracy=transfer_accuracy,
        transfer_lambda_star=transfer_star,
        transfer_censored=transfer_censored,
        transfer_loss=transfer_loss,
        transfer_fit=transfer_fit,
    )
    verdicts = ", ".join(f"claim {c.number} {c.verdict}" for c in result.claims()) + "."
    result.verdict = _headline_number(result) + verdicts[0].upper() + verdicts[1:]
    return result


def _headline_number(result: OptimizerResult) -> str:
    """The section's decisive number: how much faster Adam + L2 decays layer 0 than AdamW."""
    ratio = np.asarray(result.adam_ratio, dtype=float)[:, 0]
    if not np.isfinite(ratio).any():
        return ""
    return f"Adam + L2 decays layer 0 at {np.nanmean(ratio):.3g}× AdamW's rate. "
