"""Question 2's record: closed-form, exact and measured factors, their tables, claims 3 and 4."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from decaylab.experiments.claims import STATEMENTS, Claim, format_column
from decaylab.experiments.estimates import Estimate
from decaylab.experiments.q2_theory import crossover
from decaylab.experiments.q2_verdicts import condition_claim, limit_claim
from decaylab.experiments.records import ExperimentResult

__all__ = ["FactorResult"]


@dataclass
class FactorResult(ExperimentResult):
    """Closed-form, exact and measured per-epoch factors over a grid of (η, λ, m).

    Arrays have one entry per setting s of the grid (shape (S,)) unless noted.

    Attributes
    ----------
    eta, lmbda : ndarray of float, shape (S,)
    batch_size, steps : ndarray of int, shape (S,)
        m and the number of steps per epoch ⌈n/m⌉.
    eta_lambda_over_n : ndarray, shape (S,)
        ηλ/n, the per-step decay; "ηλ ≪ n" means this is ≪ 1.
    exact : ndarray, shape (S,)
        (1 − ηλ/n)^⌈n/m⌉.
    closed_form : ndarray, shape (S,)
        e^{−ηλ/m}.
    relative_error : ndarray, shape (S,)
        closed_form/exact − 1.
    leading_term : ndarray, shape (S,)
        The leading-order estimate of that relative error (see
        :func:`decaylab.dynamics.factors.compare_factors`).
    measured : ndarray, shape (S, seeds)
        ‖w‖ after epoch 1 over ‖w‖ before, for the weights of layer ``layer``
        (NaN for a diverged run).
    measured_total : ndarray, shape (S, seeds)
        The same for all weights together.
    measured_estimate : list of Estimate
        Mean ± standard error over seeds of ``measured``, per setting.
    excess : list of Estimate
        measured/exact per setting: 1 for pure decay, > 1 where the data
        gradient adds to the weights.
    closer_to_exact : ndarray of bool, shape (S,)
        Whether the measured factor is nearer (in log) to the exact factor
        than to the closed form.
    ceiling_term : ndarray, shape (S,)
        a(⌈n/m⌉ − n/m), the part of the error due to whole steps per epoch.
    batch_sizes : ndarray of int, shape (M,)
        The distinct m of the grid, increasing.
    steps_of_batch : ndarray of int, shape (M,)
        ⌈n/m⌉ of each.
    crossover : ndarray, shape (M,)
        The ηλ/n at which the leading-order error reaches ``tolerance``, per m.
    crossover_of_setting : ndarray, shape (S,)
        The same, for each setting's m.
    limit_ns : ndarray of int, shape (J,)
        Training-set sizes n·10^j at which the limit n → ∞ is examined.
    limit_error : ndarray, shape (S, J)
        |(1 − ηλ/n)^{n/m} e^{ηλ/m} − 1| at those n, with η, λ, m fixed.
    limit_slope : ndarray, shape (S,)
        Slope of log limit_error against log n (−1 for an error ∝ 1/n).
    threshold_n, threshold_batch_size : ndarray of int, shape (T,)
        The (n, m) pairs at which claim 3's condition is decided: the data's
        n with m dividing it and not, and the book's n = 50,000 with m = 10, 30.
    threshold : ndarray, shape (T,)
        The exact ηλ/n at which e^{−ηλ/m} is ``tolerance`` above
        (1 − ηλ/n)^⌈n/m⌉ (:func:`exact_threshold`); the closed form is within
        ``tolerance`` for every smaller ηλ/n.
    threshold_ceiling : ndarray, shape (T,)
        ⌈n/m⌉ − n/m (0 when m divides n).
    error_at_much_less : ndarray, shape (T,)
        closed/exact − 1 at ηλ/n = ``much_less``, the reading of "ηλ ≪ n".
    evidence : list of str
        The bullets under the verdict (the headline).
    """

    number = 2
    title = "The per-epoch decay factor"
    question = (
        "Provided ηλ ≪ n, do the weights decay by a factor of e^{−ηλ/m} per epoch? "
        "How far is that from the exact factor (1 − ηλ/n)^⌈n/m⌉ and from what training measures?"
    )

    eta: np.ndarray
    lmbda: np.ndarray
    batch_size: np.ndarray
    steps: np.ndarray
    eta_lambda_over_n: np.ndarray
    exact: np.ndarray
    closed_form: np.ndarray
    relative_error: np.ndarray
    leading_term: np.ndarray
    measured: np.ndarray
    measured_total: np.ndarray
    measured_estimate: list[Estimate]
    excess: list[Estimate]
    closer_to_exact: np.ndarray
    ceiling_term: np.ndarray
    batch_sizes: np.ndarray
    steps_of_batch: np.ndarray
    crossover: np.ndarray
    crossover_of_setting: np.ndarray
    limit_ns: np.ndarray
    limit_error: np.ndarray
    limit_slope: np.ndarray
    threshold_n: np.ndarray
    threshold_batch_size: np.ndarray
    threshold: np.ndarray
    threshold_ceiling: np.ndarray
    error_at_much_less: np.ndarray
    evidence: list[str]

    def table(self) -> tuple[list[str], list[list[str]]]:
        header = [
            "m",
            "ηλ/n",
            "exact",
            "e^(−ηλ/m)",
            "closed/exact − 1",
            "leading order",
            f"measured (layer {self.settings['layer']})",
            "measured/exact",
        ]
        columns = [
            format_column(self.eta_lambda_over_n, 2),
            format_column(self.exact),
            format_column(self.closed_form),
            [f"{x:+.2e}" for x in self.relative_error],
            [f"{x:+.2e}" for x in self.leading_term],
            format_column(self.measured_estimate),
            format_column(self.excess),
        ]
        rows = [
            [f"{self.batch_size[s]:d}"] + [column[s] for column in columns]
            for s in range(len(self.eta))
        ]
        return header, rows

    def tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """The tables with their captions, for reports."""
        tol = self.settings["tolerance"]
        much_less = self.settings["much_less"]
        thresholds = [
            [f"{nn:,}", f"{m:d}", "yes" if c == 0 else "no", f"{c:.3g}", f"{a:.2g}",
             f"{crossover(math.ceil(nn / m), nn, m, tol):.2g}", f"{e:.2%}"]
            for nn, m, c, a, e in zip(
                self.threshold_n, self.threshold_batch_size, self.threshold_ceiling,
                self.threshold, self.error_at_much_less,
            )
        ]  # fmt: skip
        return [
            (
                "One epoch from the large initialisation per (ηλ/n, m): the exact pure-decay "
                "factor, Nielsen's closed form, its error and the leading-order error, and "
                "the factor training measured (mean over seeds).",
                *self.table(),
            ),
            (
                f"Claim 3's condition, computed exactly: the ηλ/n below which e^(−ηλ/m) is within "
                f"{tol:.0%} of (1 − ηλ/n)^⌈n/m⌉, beside its leading-order estimate, and the "
                f"error at ηλ/n = {much_less:g} (ηλ a hundredth of n).",
                ["n", "m", "m divides n", "⌈n/m⌉ − n/m", f"ηλ/n for {tol:.0%} (exact)",
                 "leading order", f"error at ηλ/n = {much_less:g}"],
                thresholds,
            ),
        ]  # fmt: skip

    def claims(self) -> list[Claim]:
        tol, much_less = self.settings["tolerance"], self.settings["much_less"]
        word = condition_claim(self.threshold, much_less=much_less)
        divides = self.threshold_ceiling == 0

        def span(mask):
            a, m = self.threshold[mask], self.threshold_batch_size[mask]
            nn = self.threshold_n[mask]
            lo, hi = int(np.argmin(a)), int(np.argmax(a))
            return (
                f"{a[lo]:.2g} (n = {nn[lo]:,}, m = {m[lo]}) to {a[hi]:.2g} (n = {nn[hi]:,}, "
                f"m = {m[hi]})"
            )

        worst = int(np.argmax(self.error_at_much_less))
        evidence = (
            f"exact {tol:.0%} threshold of ηλ/n: m divides n {span(divides)}; m does not "
            f"{span(~divides)}; at ηλ/n = {much_less:g} the error reaches "
            f"{self.error_at_much_less[worst]:.1%} (n = {self.threshold_n[worst]:,}, m = "
            f"{self.threshold_batch_size[worst]})"
        )
        reason = {
            "holds": f"Every threshold is above ηλ/n = {much_less:g}: ηλ ≪ n is enough.",
            "holds with a qualification": "ηλ ≪ n is needed, not enough: also (ηλ)²/(2nm) "
            f"< {tol:.0%}, and (ηλ/n)(⌈n/m⌉ − n/m) < {tol:.0%} when m does not divide n.",
            "undecided": "No threshold could be computed.",
        }[word]
        limit = limit_claim(self.limit_slope, self.ceiling_term, tolerance=tol)
        worst = int(np.argmax(self.ceiling_term))
        reason4 = {
            "holds": "The error falls as 1/n and ⌈n/m⌉ = n/m in every setting.",
            "holds with a qualification": "The limit is exact (error ∝ 1/n), but at finite n an "
            f"epoch has ⌈n/m⌉ steps: {self.ceiling_term[worst]:.2g} extra error at m = "
            f"{self.batch_size[worst]:d}.",
            "does not hold": "The error does not fall with n.",
        }[limit]
        return [
            Claim(3, STATEMENTS[3], word, evidence, reason, 2),
            Claim(
                4,
                STATEMENTS[4],
                limit,
                f"error ∝ n^{np.max(self.limit_slope):.2f} at fixed ηλ, m; ceiling term up to "
                f"{np.max(self.ceiling_term):.2g} (at ηλ/n = "
                f"{self.eta_lambda_over_n[int(np.argmax(self.ceiling_term))]:.2g})",
                reason4,
                2,
            ),
        ]
