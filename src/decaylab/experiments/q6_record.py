"""Question 6's result record: the λ scans across widths and across training-set sizes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from decaylab.experiments.q6_data_size import DataSizeScan
from decaylab.experiments.q6_verdicts import q6_claims, size_table
from decaylab.experiments.q6_widths import width_table
from decaylab.experiments.records import ExperimentResult

__all__ = ["ConventionResult"]


@dataclass
class ConventionResult(ExperimentResult):
    """λ scans under the sum and mean conventions across widths, and across training-set sizes.

    Attributes
    ----------
    widths, n_weights : ndarray of int, shape (W,)
    grids : dict of str to ndarray
        The λ grid of each convention ("sum", "mean").
    accuracy, cost : dict of str to ndarray, shape (W, S, G)
        Validation accuracy and data cost C₀ (penalty excluded), each the mean
        over a run's last ``average_epochs`` epochs, per width, seed and λ.
    lambda_star : dict of str to ndarray, shape (W, S)
        Largest λ whose validation cost stays within ``rise`` of its minimum
        (:func:`best_lambda_by_cost`), per width and seed.
    censored : dict of str to ndarray of bool, shape (W, S)
        Where the cost never rose by ``rise`` on the grid (λ* a lower bound).
    lambda_star_estimate : dict of str to list of Estimate, length W
        Geometric mean ± standard error over seeds.
    accuracy_lambda_star : dict of str to ndarray, shape (W, S)
        The largest λ within ``tolerance`` of the best accuracy, for comparison.
    width_fit, accuracy_width_fit : dict of str to ScalingFit or None
        λ* ∝ n_w^b per convention (hypotheses 0: stable, 1: λ* ∝ n_w).
    size_scan : DataSizeScan or None
        The scan across training-set sizes (claim 12); None when ``ns`` is empty.
    evidence : list of str
        The bullets under the verdict (the headline).
    """

    number = 6
    title = "Sum against mean conventions"
    question = (
        "The penalty can be a sum of squares (λ/2n)·Σw² or a mean (λ/2n)·(1/n_w)·Σw². Which "
        "keeps the best λ stable as the model grows? And as the data set grows, should λ grow "
        "in proportion to n (Nielsen: 0.1 at n = 1,000 to 5.0 at n = 50,000, fixed ηλ/n) or "
        "stay fixed (fixed epoch timescale m/(ηλ))?"
    )

    widths: np.ndarray
    n_weights: np.ndarray
    grids: dict
    accuracy: dict
    cost: dict
    lambda_star: dict
    censored: dict
    lambda_star_estimate: dict
    accuracy_lambda_star: dict
    width_fit: dict
    accuracy_width_fit: dict
    size_scan: DataSizeScan | None
    evidence: list[str]

    @property
    def ns(self) -> np.ndarray:
        """Training-set sizes of the scan across n (empty without one)."""
        return np.array([], dtype=np.int64) if self.size_scan is None else self.size_scan.ns

    @property
    def n_fit(self):
        """log λ* on log n (None without a scan across n)."""
        return None if self.size_scan is None else self.size_scan.n_fit

    def table(self) -> tuple[list[str], list[list[str]]]:
        return width_table(self)

    def tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """The tables with their captions, for reports."""
        tables = [
            (
                f"λ* across widths: the largest λ whose validation cost stays within "
                f"{self.settings['rise']:.0%} of its minimum (geometric mean ± standard error "
                "over seeds; ≥: the top of the grid), per width and convention, beside the "
                "accuracy-based λ*.",
                *self.table(),
            )
        ]
        if self.size_scan is not None:
            tables.append(
                (
                    f"λ* across n ({self.settings['transfer_data']}, sum convention): the λ of "
                    "least validation cost (geometric mean ± standard error over seeds), how "
                    "many seeds' λ* are interior, and what each rule's λ, carried from the "
                    "largest n, loses against the best λ of the seed-mean curve.",
                    *size_table(self.size_scan),
                )
            )
        return tables

    def claims(self):
        return q6_claims(self)
