"""Question 7's record: the four rules' factors, equilibria and layers, and AdamW's λ transfer."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from decaylab.experiments import q7_claims
from decaylab.experiments.claims import Claim
from decaylab.experiments.estimates import estimate
from decaylab.experiments.q7_factors import RULES
from decaylab.experiments.q7_transfer import TRANSFER_RULES
from decaylab.experiments.records import ExperimentResult

__all__ = ["OptimizerResult"]


def _loss_cell(loss: float, largest: bool, form: str) -> str:
    if largest:
        return "— (λ* itself)"
    return "off the grid" if not np.isfinite(loss) else format(loss, form)


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
        Training-set sizes of the AdamW transfer scan (on ``settings["transfer_data"]``).
    transfer_lmbda : ndarray, shape (G2,)
        Its increasing λ grid: τ = m/(ηλ) epochs for each of ``transfer_timescales``.
    transfer_cost : ndarray, shape (N, S, G2)
        Validation data cost C₀ (penalty excluded), mean over the last
        ``average_epochs`` epochs; NaN for a diverged run.
    transfer_accuracy : ndarray, shape (N, S, G2)
        Validation accuracy, averaged likewise.
    transfer_lambda_star : ndarray, shape (N, S)
        λ* of each seed: the λ of least ``transfer_cost``, refined by a parabola
        in log λ (:func:`~decaylab.experiments.best_lambda.find_best_lambda`).
    transfer_interior : ndarray of bool, shape (N, S)
        Whether that least cost lies inside the grid (a minimum, not a bound).
    transfer_loss : dict of str to ndarray, shape (N,)
        Relative validation cost lost at each n, C(λ)/min C − 1 on the seed-mean
        curve, when λ* of the largest n is carried over by "fixed timescale"
        (the same λ) or "λ ∝ n"; NaN where that λ lies off the grid.
    transfer_accuracy_loss : dict of str to ndarray, shape (N,)
        The validation accuracy lost likewise (best on the grid minus carried).
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
    transfer_cost: np.ndarray
    transfer_accuracy: np.ndarray
    transfer_lambda_star: np.ndarray
    transfer_interior: np.ndarray
    transfer_loss: dict
    transfer_accuracy_loss: dict
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
                closed = self.closed_form[rule]
                rows.append(
                    [RULES[rule], f"{self.eta[rule]:g}", f"{self.factor_lmbda[rule]:.3g}"]
                    + [f"{p:.4f}" for p in predicted]
                    + [f"{m:.4f}" for m in measured]
                    + ["—" if not np.isfinite(closed) else f"{closed:.4f}"]
                    + ["—" if fit is None else f"{fit}"]
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
                rows.append(
                    [
                        RULES[rule],
                        f"{lam:.4g}",
                        f"{np.nanmean(self.equilibrium_tau[rule][g]):.3g}",
                        f"{settled.sum()}/{settled.size}",
                        ", ".join(f"{e:.0f}" for e in epochs[settled]) or "—",
                        f"{estimate(self.equilibrium_norm2[rule][g])}",
                    ]
                )
        return header, rows

    def transfer_table(self) -> tuple[list[str], list[list[str]]]:
        """Per n: λ*, τ*/E, how many λ* are interior, the cost and accuracy there, the losses."""
        s = self.settings
        epochs, scale = s["transfer_epochs"], s["transfer_batch_size"] / s["transfer_eta"]
        header = ["n", "λ*", "τ*/E", "interior", "C₀ at λ*", "accuracy at λ*"]
        header += [f"cost lost, {rule}" for rule in TRANSFER_RULES]
        header += [f"accuracy lost, {rule}" for rule in TRANSFER_RULES]
        rows = []
        with np.errstate(invalid="ignore"):
            for i, n in enumerate(self.ns):
                star = self.transfer_lambda_star[i]
                best = int(np.nanargmin(np.nanmean(self.transfer_cost[i], axis=0)))
                rows.append(
                    [
                        f"{n}",
                        f"{estimate(star)}",
                        f"{estimate(scale / star / epochs)}",
                        f"{int(self.transfer_interior[i].sum())}/{star.size}",
                        f"{estimate(self.transfer_cost[i][:, best])}",
                        f"{estimate(self.transfer_accuracy[i][:, best])}",
                    ]
                    + [
                        _loss_cell(losses[rule][i], i == len(self.ns) - 1, form)
                        for losses, form in (
                            (self.transfer_loss, ".1%"),
                            (self.transfer_accuracy_loss, ".4f"),
                        )
                        for rule in TRANSFER_RULES
                    ]  # fmt: skip
                )
        return header, rows

    def tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """The factor, equilibrium and transfer tables with their captions."""
        cap = self.settings["max_relaxations"]
        s = self.settings
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
            (
                f"AdamW on {s['transfer_data']}, E = {s['transfer_epochs']} epochs at every n: "
                "λ* (least validation C₀, ± over seeds), its timescale τ* = m/(ηλ*) over E, "
                "and what each rule loses carrying λ* from the largest n: the validation cost "
                "(relative; it decides claim 15) and the accuracy.",
                *self.transfer_table(),
            ),
        ]

    @property
    def evidence(self) -> list[str]:
        """The transfer scan's regime and claim 15's deciding numbers, one bullet each."""
        s = self.settings
        epochs, scale = s["transfer_epochs"], s["transfer_batch_size"] / s["transfer_eta"]
        taus = np.asarray(s["transfer_timescales"], dtype=float)
        with np.errstate(invalid="ignore"):
            tau_star = np.nanmean(scale / self.transfer_lambda_star, axis=1) / epochs
            best = [int(np.nanargmin(np.nanmean(c, axis=0))) for c in self.transfer_cost]
            accuracy = [np.nanmean(a[:, g]) for a, g in zip(self.transfer_accuracy, best)]
        return [
            f"Claim 15's scan: AdamW, {s['transfer_sizes']} on {s['transfer_data']}, "
            f"n = {self.ns[0]}–{self.ns[-1]}, the same E = {epochs} epochs at every n "
            f"(m = {s['transfer_batch_size']}, η = {s['transfer_eta']:g}), λ grid "
            f"τ = m/(ηλ) = {taus.min():.3g}–{taus.max():.3g} epochs "
            f"({taus.min() / epochs:.3g}E to {taus.max() / epochs:.3g}E).",
            f"Its regime: the best timescale τ* = m/(ηλ*) is {np.nanmin(tau_star):.2g}E to "
            f"{np.nanmax(tau_star):.2g}E over n ({np.nanmin(tau_star) * epochs:.2g} to "
            f"{np.nanmax(tau_star) * epochs:.2g} epochs)"
            + (
                ", comparable to the training length (E/4 to 4E) as in the published rule"
                if np.nanmin(tau_star) >= 0.25 and np.nanmax(tau_star) <= 4.0
                else ", not everywhere within E/4 to 4E of the training length"
            )
            + f"; validation accuracy at λ* {accuracy[0]:.3f} (n = {self.ns[0]}) to "
            f"{accuracy[-1]:.3f} (n = {self.ns[-1]}).",
            self._steps(),
            "Claim 15: " + q7_claims.transfer_numbers(self) + ".",
        ]

    def _steps(self) -> str:
        """How λ* moves from one n to the next, beside what each rule would make of it."""
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            star = np.exp(np.nanmean(np.log(self.transfer_lambda_star), axis=1))
        pairs = list(zip(self.ns[:-1], self.ns[1:], star[1:] / star[:-1]))
        moves = ", ".join(f"×{r:.2g} from n = {a} to {b}" for a, b, r in pairs)
        ideal = ", ".join(f"×{b / a:.2g}" for a, b, _ in pairs)
        return (
            f"λ* (geometric mean over seeds) moves {moves}; a fixed timescale keeps it ×1, "
            f"λ ∝ n moves it {ideal}."
        )

    def claims(self) -> list[Claim]:
        return q7_claims.claims(self)
