"""Question 1's record: the decay share of the first epochs, its table and claims 1 and 2."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from decaylab.experiments.claims import STATEMENTS, Claim, format_column, not_measured, side
from decaylab.experiments.estimates import Estimate
from decaylab.experiments.records import ExperimentResult

__all__ = ["DominanceResult", "dominance_claim", "gradient_claim"]


@dataclass
class DominanceResult(ExperimentResult):
    """Decay share of the weight change, epoch by epoch, per initialisation and λ.

    Conditions c run over ``inits`` × ``lmbdas`` (init-major).

    Attributes
    ----------
    inits : list of str, length C
    lmbdas : ndarray, shape (C,)
    epochs : ndarray of int, shape (E,)
        1..E.
    share : ndarray, shape (C, seeds, E, L)
        Decay share of each layer's ‖w‖² change in each epoch (NaN after a
        divergence).
    share_total : ndarray, shape (C, seeds, E)
        The same for all weights together.
    early_share : list of Estimate, length C
        share_total averaged over the first ``first_epochs`` epochs, mean ±
        standard error over seeds.
    early_share_layers : list of list of Estimate, C × L
        The same per layer.
    dominated : ndarray of bool, shape (C,)
        Whether the early share exceeds ``threshold`` by more than two
        standard errors.
    weight_rms : ndarray, shape (C, seeds, E + 1, L)
        RMS of each layer's weights after each epoch.
    step_ratio : list of Estimate, length C
        Σ‖v‖ / Σ‖u‖ over the first epochs' steps, all layers: how long the
        gradient steps are against the decay steps (0 if the gradient were 0).
    radial_ratio : list of Estimate, length C
        |Σ −2d·w·v| / |Σ (d² − 1)‖w‖²| over the same steps: how much the
        gradient's radial part changes ‖w‖² against the decay contraction.
    evidence : list of str
        The bullets under the verdict (the headline).
    """

    number = 1
    title = "Early decay dominance"
    question = (
        "With the large N(0, 1) initialisation and λ not too small, are the first epochs "
        "dominated almost entirely by weight decay (saturated sigmoids making the data "
        "gradient tiny)?"
    )

    inits: list[str]
    lmbdas: np.ndarray
    epochs: np.ndarray
    share: np.ndarray
    share_total: np.ndarray
    early_share: list[Estimate]
    early_share_layers: list[list[Estimate]]
    dominated: np.ndarray
    weight_rms: np.ndarray
    step_ratio: list[Estimate]
    radial_ratio: list[Estimate]
    evidence: list[str]

    def table(self) -> tuple[list[str], list[list[str]]]:
        k = self.settings["first_epochs"]
        n_layers = self.share.shape[-1]
        header = ["init", "λ", f"decay share, epochs 1–{k}"]
        header += [f"layer {l}" for l in range(n_layers)]
        header += ["gradient step / decay step", "radial / contraction"]
        columns = [format_column(self.early_share)]
        columns += [
            format_column([row[l] for row in self.early_share_layers]) for l in range(n_layers)
        ]
        columns += [format_column(self.step_ratio, 2), format_column(self.radial_ratio, 2)]
        rows = [
            [self.inits[c], f"{self.lmbdas[c]:g}"] + [column[c] for column in columns]
            for c in range(len(self.inits))
        ]
        return header, rows

    def tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """The table with its caption, for reports."""
        k = self.settings["first_epochs"]
        caption = (
            f"Share of the change of ‖w‖² in epochs 1–{k} that decay accounts for (1 = all), "
            "and how the gradient steps compare with the decay steps (lengths, and the part "
            "along w)."
        )
        return [(caption, *self.table())]

    def _deciding(self) -> int | None:
        """The condition that decides the claims: large initialisation, largest λ measured."""
        large = [c for c, i in enumerate(self.inits) if i == "large" and self.early_share[c].n]
        return max(large, key=lambda c: self.lmbdas[c]) if large else None

    def claims(self) -> list[Claim]:
        c = self._deciding()
        if c is None:
            return [not_measured(1, question=self.number), not_measured(2, question=self.number)]
        s = self.settings
        where = f"large init, λ = {self.lmbdas[c]:g}, epochs 1–{s['first_epochs']}"
        share = self.early_share[c]
        word = dominance_claim(share, dominant=s["threshold"], almost_all=s["almost_all"])
        reason = {
            "holds": f"Decay's share is above {s['almost_all']:g}: almost all of the change.",
            "holds with a qualification": f"Decay dominates (share above {s['threshold']:g}) "
            f"but not almost entirely (below {s['almost_all']:g}).",
            "does not hold": f"Decay's share is below {s['threshold']:g}: it does not dominate.",
            "undecided": "The share's uncertainty straddles a threshold.",
        }[word]
        steps, radial = self.step_ratio[c], self.radial_ratio[c]
        word2 = gradient_claim(steps, radial, small=s["small"])
        lengths = f"Gradient steps are {steps.mean:.2g}× the decay steps' length"
        reason2 = {
            "holds": f"{lengths}, under {s['small']:g}.",
            "holds with a qualification": f"{lengths}, but their part along w is only "
            f"{radial.mean:.2g} of the contraction: they turn w rather than grow it.",
            "does not hold": f"{lengths} but mostly turn w: decay makes most of ‖w‖²'s "
            f"change (claim 1); their radial part is {radial.mean:.2g} of the contraction, "
            f"above {s['small']:g}.",
            "undecided": f"{lengths}; the ratios' uncertainty straddles {s['small']:g}.",
        }[word2]
        return [
            Claim(1, STATEMENTS[1], word, f"decay share {share} ({where})", reason, 1),
            Claim(
                2,
                STATEMENTS[2],
                word2,
                f"gradient/decay step length {steps}; radial/contraction {radial} ({where})",
                reason2,
                1,
            ),
        ]


def dominance_claim(
    share: Estimate, *, dominant: float = 0.5, almost_all: float = 0.9, k: float = 2.0
) -> str:
    """Claim 1's verdict word from the decay share of the first epochs.

    Parameters
    ----------
    share : Estimate
        Decay share of the change of ‖w‖² (large initialisation, the largest λ).
    dominant, almost_all : float
        Share above which decay dominates, and above which it is "almost all".
    k : float
        Standard errors a share must clear a threshold by.

    Returns
    -------
    str
        "holds" above ``almost_all``, "holds with a qualification" between
        the two thresholds, "does not hold" below ``dominant``, "undecided"
        when the share's interval straddles the threshold that matters.
    """
    if side(share, almost_all, k) > 0:
        return "holds"
    if side(share, dominant, k) < 0:
        return "does not hold"
    if side(share, dominant, k) > 0 and side(share, almost_all, k) < 0:
        return "holds with a qualification"
    return "undecided"


def gradient_claim(
    step_ratio: Estimate, radial_ratio: Estimate, *, small: float = 0.1, k: float = 2.0
) -> str:
    """Claim 2's verdict word: is the mini-batch gradient about 0 in the first epochs?

    Parameters
    ----------
    step_ratio : Estimate
        Length of the gradient steps over the length of the decay steps.
    radial_ratio : Estimate
        The gradient's radial term of the ‖w‖² budget over the decay contraction.
    small : float
        A ratio below this counts as "about 0".
    k : float
        Standard errors a ratio must clear ``small`` by.

    Returns
    -------
    str
        "holds" when the gradient steps themselves are short; "holds with a
        qualification" when they are not, but their radial part is (the
        gradient turns w without changing its length, so decay still
        dominates ‖w‖); "does not hold" when both are above ``small``;
        "undecided" otherwise.
    """
    steps, radial = side(step_ratio, small, k), side(radial_ratio, small, k)
    if steps < 0:
        return "holds"
    if steps > 0 and radial < 0:
        return "holds with a qualification"
    if steps > 0 and radial > 0:
        return "does not hold"
    return "undecided"
