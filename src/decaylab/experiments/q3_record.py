"""Question 3's record: equilibrium sizes, budgets and fits, their tables and claims 5–7."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from decaylab.experiments.claims import STATEMENTS, Claim
from decaylab.experiments.estimates import Estimate, estimate
from decaylab.experiments.pipeline import fit_row
from decaylab.experiments.q3_verdicts import (
    _range,
    decay_vanishes_claim,
    scaling_claim,
)
from decaylab.experiments.records import ExperimentResult

__all__ = ["EquilibriumResult"]


@dataclass
class EquilibriumResult(ExperimentResult):
    """Equilibrium weight sizes against width, λ, n and m, their budgets and fitted exponents.

    W widths, S seeds, E the most epochs of any width run (the cap), L = 2 weight layers.
    Every per-run array holds NaN for a run that did not reach its equilibrium.

    Attributes
    ----------
    widths : ndarray of int, shape (W,)
        Hidden-layer widths.
    n_weights : ndarray of int, shape (W,)
        n_w of each width.
    fan_ins : ndarray of int, shape (W, L)
        n_in of each layer for each width.
    epoch : ndarray of int, shape (E + 1,)
    weight_rms : ndarray, shape (W, S, E + 1, L)
        RMS of each layer's weights after each epoch (NaN after a run stopped).
    total_rms : ndarray, shape (W, S, E + 1)
        RMS of all weights after each epoch.
    pure_decay_rms : ndarray, shape (W, E + 1)
        What the initial total RMS would become under decay alone,
        rms₀·(1 − ηλ/n)^(e⌈n/m⌉) (mean initial RMS over seeds).
    reached : ndarray of bool, shape (W, S)
        Whether each run reached its equilibrium before the cap.
    epochs_trained : ndarray of int, shape (W, S)
        Epochs each run trained (``settings["relaxation_epochs"]`` converts to τ).
    equilibrium_epoch : ndarray, shape (W, S)
        First epoch of the equilibrium window.
    equilibrium_rms : ndarray, shape (W, S)
        Total RMS over the equilibrium window.
    equilibrium_layer_rms : ndarray, shape (W, S, L)
    equilibrium_norm_squared : ndarray, shape (W, S)
        ‖w‖² of all weights over the equilibrium window.
    noise_share, closure : ndarray, shape (W, S)
        The budget's noise share N/(R + N) and closure (R + N)/(−C), all weights.
    implied_radial, implied_noise : ndarray, shape (W, S)
        The radial and noise parts of the ‖w‖² the budget implies.
    stationarity_norm_squared : ndarray, shape (W, S)
        The full-batch prediction (n/λ)(−w·∇C₀) on the final network.
    ar1_noise_norm_squared : ndarray, shape (W, S)
        The AR(1) prediction of the mini-batch noise part.
    decay_share : ndarray, shape (W, S)
        |C|/(|C| + |R| + N) over the equilibrium window: decay's share of the
        changes of ‖w‖² (1/2 when it balances the gradient terms).
    contraction_ratio : ndarray, shape (W, S)
        The decay term per epoch at equilibrium over its value in epoch 1.
    not_reached : list of str
        Every run that hit its cap, by its settings; kept out of the fits.
    fit : ScalingFit
        equilibrium RMS ∝ n_w^b, hypotheses −1 (1/n_w) and −1/2 (1/√n_w).
    norm_fit : ScalingFit
        ‖w‖² ∝ n_w^b, hypotheses 0 (independent of width) and 1.
    ratio_to_inverse_n_weights, ratio_to_inverse_sqrt_n_weights : list of Estimate, length W
        Equilibrium RMS·n_w and RMS·√n_w per width: the level against each law.
    stationarity_ratio : list of Estimate, length W
        Measured ‖w‖² over the stationarity prediction.
    norm_over_n_over_lambda : list of Estimate, length W
        ‖w‖²·λ/n: the level against the scale n/λ both predictions share.
    lmbdas, ns, batch_sizes : ndarray, shapes (Λ,), (N,), (B,)
        The λ, n and m of the sweeps at width ``settings["sweep_hidden"]``.
    lambda_norm_squared, n_norm_squared, batch_norm_squared : ndarray, shapes (Λ, S), (N, S), (B, S)
        Equilibrium ‖w‖² of each sweep run.
    lambda_reached, n_reached, batch_reached : ndarray of bool, same shapes
    lambda_noise_share, n_noise_share, batch_noise_share : ndarray, same shapes
    lambda_fit, n_fit, batch_fit : ScalingFit or None
        ‖w‖² ∝ λ^b (hypotheses −1, 0), ∝ n^b (1, 0) and ∝ m^b (0, −1).
    lambda_relaxations, n_relaxations, batch_relaxations : ndarray, same shapes
        Epochs each sweep run trained, in units of its own τ = m/(ηλ).
    evidence : list of str
        The bullets under the verdict (the headline).
    mnist_widths, mnist_n_weights : ndarray of int, shape (W',), or None
        The widths of the same width sweep on real MNIST ([784, h, 10]) and their n_w.
    mnist_equilibrium_rms : ndarray, shape (W', S), or None
        Equilibrium RMS of those runs (NaN where not reached).
    mnist_reached : ndarray of bool, shape (W', S), or None
    mnist_fit : ScalingFit or None
        Equilibrium RMS ∝ n_w^b on MNIST; None without MNIST or too few runs at equilibrium.
    """

    number = 3
    title = "Where decay tails off"
    question = (
        "With λ not too large, decay tails off when the weights are down to a size around "
        "1/√n_w (Nielsen's text) — or 1/n_w, as a paraphrase states it. Which holds, measured "
        "at equilibria that are really reached? What sets the level: the full-batch "
        "stationary point or the mini-batch noise?"
    )

    widths: np.ndarray
    n_weights: np.ndarray
    fan_ins: np.ndarray
    epoch: np.ndarray
    weight_rms: np.ndarray
    total_rms: np.ndarray
    pure_decay_rms: np.ndarray
    reached: np.ndarray
    epochs_trained: np.ndarray
    equilibrium_epoch: np.ndarray
    equilibrium_rms: np.ndarray
    equilibrium_layer_rms: np.ndarray
    equilibrium_norm_squared: np.ndarray
    noise_share: np.ndarray
    closure: np.ndarray
    implied_radial: np.ndarray
    implied_noise: np.ndarray
    stationarity_norm_squared: np.ndarray
    ar1_noise_norm_squared: np.ndarray
    decay_share: np.ndarray
    contraction_ratio: np.ndarray
    not_reached: list[str]
    fit: object
    norm_fit: object
    ratio_to_inverse_n_weights: list[Estimate]
    ratio_to_inverse_sqrt_n_weights: list[Estimate]
    stationarity_ratio: list[Estimate]
    norm_over_n_over_lambda: list[Estimate]
    lmbdas: np.ndarray
    lambda_norm_squared: np.ndarray
    lambda_reached: np.ndarray
    lambda_noise_share: np.ndarray
    lambda_fit: object
    lambda_relaxations: np.ndarray
    ns: np.ndarray
    n_norm_squared: np.ndarray
    n_reached: np.ndarray
    n_noise_share: np.ndarray
    n_fit: object
    n_relaxations: np.ndarray
    batch_sizes: np.ndarray
    batch_norm_squared: np.ndarray
    batch_reached: np.ndarray
    batch_noise_share: np.ndarray
    batch_fit: object
    batch_relaxations: np.ndarray
    evidence: list[str]
    mnist_widths: np.ndarray | None = None
    mnist_n_weights: np.ndarray | None = None
    mnist_equilibrium_rms: np.ndarray | None = None
    mnist_reached: np.ndarray | None = None
    mnist_fit: object = None

    def table(self) -> tuple[list[str], list[list[str]]]:
        header = [
            "hidden width",
            "n_w",
            "reached",
            "τ trained",
            "RMS·√n_w",
            "‖w‖²",
            "‖w‖² / stationarity",
            "noise share",
        ]
        tau = self.settings["relaxation_epochs"]
        rows = [
            [f"{self.widths[w]:d}", f"{self.n_weights[w]:d}", _count(self.reached[w]),
             f"{np.mean(self.epochs_trained[w]) / tau:.0f}",
             format(self.ratio_to_inverse_sqrt_n_weights[w]),
             format(estimate(self.equilibrium_norm_squared[w])), format(self.stationarity_ratio[w]),
             format(estimate(self.noise_share[w]))]
            for w in range(len(self.widths))
        ]  # fmt: skip
        return header, rows

    def tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """The width, sweep and fit tables with their captions, for reports."""
        tau = self.settings["relaxation_epochs"]
        return [
            (
                f"Each width at its equilibrium (τ = {tau:g} epochs): the level RMS·√n_w, the "
                "total ‖w‖², its ratio to the full-batch stationarity prediction, and the "
                "noise share N/(R + N) of the ‖w‖² budget (mean ± standard error over seeds).",
                *self.table(),
            ),
            (
                f"Equilibrium ‖w‖² and noise share against λ, n and the batch size m, at hidden "
                f"width {self.settings['sweep_hidden']}.",
                *self.sweep_table(),
            ),
            ("The fitted exponents, over the runs that reached equilibrium.", *self.fit_table()),
        ]

    def sweep_table(self) -> tuple[list[str], list[list[str]]]:
        """The λ, n and m sweeps: equilibrium ‖w‖² and noise share per setting."""
        header = ["sweep", "value", "reached", "τ trained", "‖w‖²", "noise share"]
        rows = []
        for symbol, name, values in (("λ", "lambda", self.lmbdas), ("n", "n", self.ns),
                                     ("m", "batch", self.batch_sizes)):  # fmt: skip
            norm, reached, share, relaxations = (
                getattr(self, f"{name}_{key}")
                for key in ("norm_squared", "reached", "noise_share", "relaxations")
            )
            rows += [
                [symbol, f"{value:g}", _count(reached[i]), f"{np.mean(relaxations[i]):.0f}",
                 format(estimate(norm[i])), format(estimate(share[i]))]
                for i, value in enumerate(values)
            ]  # fmt: skip
        return header, rows

    def fit_table(self) -> tuple[list[str], list[list[str]]]:
        """The fitted exponents as (header, rows)."""
        header = ["quantity", "against", "exponent", "95 % interval", "admits", "runs"]
        fits = (
            ("equilibrium RMS", "n_w", self.fit),
            ("equilibrium RMS, real MNIST", "n_w", self.mnist_fit),
            ("equilibrium ‖w‖²", "n_w", self.norm_fit),
            ("equilibrium ‖w‖²", "λ", self.lambda_fit),
            ("equilibrium ‖w‖²", "n", self.n_fit),
            ("equilibrium ‖w‖²", "m", self.batch_fit),
        )
        return header, [fit_row(name, x, fit) for name, x, fit in fits if fit is not None]

    def claims(self) -> list[Claim]:
        s, fit = self.settings, self.fit
        reached = f"{int(self.reached.sum())}/{self.reached.size} runs at equilibrium"
        claims = []
        for number, law, name, ratios in (
            (5, -1.0, "RMS·n_w", self.ratio_to_inverse_n_weights),
            (6, -0.5, "RMS·√n_w", self.ratio_to_inverse_sqrt_n_weights),
        ):
            word, reason = scaling_claim(
                fit.exponent, fit.interval, law, margin=s["law_margin"],
                max_width=s["max_interval_width"], level=[e.mean for e in ratios],
                level_factor=s["level_factor"],
            )  # fmt: skip
            evidence = f"RMS ∝ n_w^b, b = {fit} ({reached}); {name} = {_range(ratios)}"
            claims.append(Claim(number, STATEMENTS[number], word, evidence, reason, 3))
        share, ratio, closure = (
            estimate(x[self.reached])
            for x in (self.decay_share, self.contraction_ratio, self.closure)
        )
        word, reason = decay_vanishes_claim(
            share, ratio, vanished=s["vanished_share"], balancing=s["balancing_share"]
        )
        evidence = (
            f"decay share at equilibrium {share}; decay term {ratio.mean:.2g} of epoch 1's; "
            f"closure (R + N)/(−C) = {closure}"
        )
        return [*claims, Claim(7, STATEMENTS[7], word, evidence, reason, 3)]


def _count(reached: np.ndarray) -> str:
    """ "k/S": how many of the seeds reached equilibrium."""
    return f"{int(np.sum(reached))}/{len(reached)}"
