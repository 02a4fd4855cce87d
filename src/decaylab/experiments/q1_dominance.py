r"""Question 1: do the first epochs belong to weight decay?

Nielsen: with the large N(0, 1) initialisation and λ not too small, the first
epochs are dominated almost entirely by weight decay, because saturated
sigmoids make the data gradient tiny. Each run carries a
:class:`~decaylab.dynamics.decomposition.DecompositionMonitor`, which splits every
step's change of ‖w‖² into the decay contraction (d² − 1)‖w‖², the radial
gradient term −2d·w·v and the noise term ‖v‖²; the decay share of an epoch
is |contraction| / (|contraction| + |radial| + noise).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from decaylab._validation import check_int, check_real
from decaylab.experiments.claims import STATEMENTS, Answer, Claim, format_column, not_measured, side
from decaylab.experiments.estimates import Estimate, estimate
from decaylab.experiments.inputs import as_seeds, check_positive_list, resolve_data
from decaylab.experiments.records import ExperimentResult
from decaylab.experiments.runs import RunSpec, run_many

__all__ = [
    "DominanceResult",
    "dominance_claim",
    "dominance_verdict",
    "early_decay_dominance",
    "gradient_claim",
]

INITS = ("large", "scaled")


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
            return [not_measured(1), not_measured(2)]
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


def dominance_verdict(
    inits: Sequence[str],
    lmbdas: np.ndarray,
    early_share: Sequence[Estimate],
    *,
    first_epochs: int,
    threshold: float = 0.5,
) -> Answer:
    """Say for which initialisations and λ decay dominates the first epochs.

    A condition counts as dominated when its early decay share (all weights)
    is above ``threshold`` by more than two standard errors.

    Parameters
    ----------
    inits : sequence of str, length C
    lmbdas : ndarray, shape (C,)
    early_share : sequence of Estimate, length C
    first_epochs : int
        How many epochs the early share averages over.
    threshold : float
        The share above which decay "dominates".

    Returns
    -------
    Answer
        The headline names the dominated conditions of the large
        initialisation and its largest share; one bullet per initialisation.
    """
    lmbdas = np.asarray(lmbdas, dtype=float)
    dominated = np.array([side(e, threshold) > 0 for e in early_share])
    measured = np.array([e.n > 0 for e in early_share])
    evidence = []
    for init in dict.fromkeys(inits):
        mine = [c for c, i in enumerate(inits) if i == init and measured[c]]
        if not mine:
            evidence.append(f"{init} initialisation: not measured (every run diverged)")
            continue
        shares = ", ".join(f"{early_share[c]} at λ = {lmbdas[c]:g}" for c in mine)
        evidence.append(f"{init} initialisation, decay share of epochs 1–{first_epochs}: {shares}")
    large = [c for c, i in enumerate(inits) if i == "large" and measured[c]]
    if not large:
        return Answer("Not measured: every run of the large initialisation diverged.", evidence)
    top = max(large, key=lambda c: early_share[c].mean)
    won = [c for c in large if dominated[c]]
    if won:
        where = ", ".join(f"{lmbdas[c]:g}" for c in won)
        headline = (
            f"Decay dominates the first {first_epochs} epochs of the large initialisation at "
            f"λ = {where}: share up to {early_share[top]} (threshold {threshold:g})."
        )
    else:
        headline = (
            f"Decay does not dominate the first {first_epochs} epochs at any λ tested: the "
            f"largest share is {early_share[top]} (threshold {threshold:g})."
        )
    return Answer(headline, evidence)


def _total_share(history) -> np.ndarray:
    """Decay share of all weights together: the layers' ‖w‖² budgets added up."""
    from decaylab.dynamics.decomposition import decay_share

    record = history.monitors["decomposition"]
    summed = {k: np.asarray(v).sum(axis=1, keepdims=True) for k, v in record.items()}
    return decay_share(summed)[: history.n_epochs, 0]


def early_decay_dominance(
    data=None,
    *,
    lmbdas: Sequence[float] = (0.1, 1.0, 5.0),
    inits: Sequence[str] = INITS,
    hidden: int = 30,
    eta: float = 0.5,
    batch_size: int = 10,
    epochs: int = 10,
    first_epochs: int = 3,
    threshold: float = 0.5,
    almost_all: float = 0.9,
    small: float = 0.1,
    seeds: int | Sequence[int] = 3,
    executor=None,
    progress: bool = False,
) -> DominanceResult:
    r"""Measure how much of the first epochs' weight change is decay, across λ and init.

    Parameters
    ----------
    data : Dataset, optional
        The bundled digits by default.
    lmbdas : sequence of float
        Regularisation strengths λ (sum convention, Nielsen's eq. 93).
    inits : sequence of {"large", "scaled"}
        Initialisations to compare.
    hidden : int
        Width of the hidden layer of the [n_in, hidden, n_classes] network.
    eta, batch_size, epochs : float, int, int
        η, m and the number of epochs trained.
    first_epochs : int
        The "first epochs" k over which the early share is averaged.
    threshold : float
        Share above which decay is said to dominate (by two standard errors).
    almost_all : float
        Share above which decay accounts for "almost all" of the change (claim 1).
    small : float
        Ratio of gradient to decay below which the gradient is "about 0" (claim 2).
    seeds : int or sequence of int
    executor : concurrent.futures.Executor, optional
    progress : bool

    Returns
    -------
    DominanceResult

    Notes
    -----
    Per epoch and layer,

    .. math:: \text{share} = \frac{|\sum (d^2-1)\|w\|^2|}
              {|\sum (d^2-1)\|w\|^2| + |\sum -2d\,w\cdot v| + \sum \|v\|^2},

    sums over the epoch's steps, d = 1 − ηλ/n and v the gradient step.
    """
    data = resolve_data(data)
    lmbdas = check_positive_list("lmbdas", lmbdas)
    if isinstance(inits, str):
        raise TypeError(
            f"inits={inits!r} is a str; expected a sequence such as ('large', 'scaled')"
        )
    inits = tuple(inits)
    for i, init in enumerate(inits):
        if init not in INITS:
            raise ValueError(f"inits[{i}]={init!r} is not recognised; expected 'large' or 'scaled'")
    hidden = check_int("hidden", hidden, minimum=1)
    eta = check_real("eta", eta, positive=True)
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=data.train.n)
    epochs = check_int("epochs", epochs, minimum=1)
    first_epochs = check_int("first_epochs", first_epochs, minimum=1, maximum=epochs)
    threshold = check_real("threshold", threshold, positive=True)
    almost_all = check_real("almost_all", almost_all, positive=True)
    if not threshold < almost_all <= 1:
        raise ValueError(
            f"almost_all={almost_all} with threshold={threshold}; expected threshold < "
            "almost_all <= 1"
        )
    small = check_real("small", small, positive=True)
    seeds = as_seeds(seeds)

    conditions = list(itertools.product(inits, lmbdas))
    sizes = (data.n_inputs, hidden, data.n_classes)
    specs = [
        RunSpec(
            sizes,
            init,
            seed,
            epochs,
            batch_size,
            eta,
            lmbda,
            monitors=("decomposition",),
            evaluate=False,
        )
        for init, lmbda in conditions
        for seed in seeds
    ]
    outcomes = run_many(specs, data, executor=executor, progress=progress, desc="Q1 dominance")

    from decaylab.dynamics.decomposition import decay_share

    n_layers = len(sizes) - 1
    share = np.full((len(conditions), len(seeds), epochs, n_layers), np.nan)
    share_total = np.full((len(conditions), len(seeds), epochs), np.nan)
    rms = np.full((len(conditions), len(seeds), epochs + 1, n_layers), np.nan)
    step_ratio = np.full((len(conditions), len(seeds)), np.nan)
    radial_ratio = np.full_like(step_ratio, np.nan)
    diverged = []
    for i, outcome in enumerate(outcomes):
        c, k = divmod(i, len(seeds))
        h = outcome.history
        if outcome.diverged:
            diverged.append(outcome.spec.describe())
        e = h.n_epochs
        rms[c, k, : e + 1] = h.weights.rms
        if e:
            share[c, k, :e] = decay_share(h)[:e]
            share_total[c, k, :e] = _total_share(h)
        if e >= first_epochs:
            # Sums over the first epochs' steps and over the layers.
            early = {
                key: np.asarray(v)[:first_epochs].sum()
                for key, v in h.monitors["decomposition"].items()
            }
            step_ratio[c, k] = early["gradient_norm"] / early["decay_norm"]
            radial_ratio[c, k] = abs(early["radial"]) / abs(early["contraction"])
    early = share_total[:, :, :first_epochs].mean(axis=2)
    early_layers = share[:, :, :first_epochs].mean(axis=2)
    early_share = [estimate(early[c]) for c in range(len(conditions))]
    early_share_layers = [
        [estimate(early_layers[c, :, l]) for l in range(n_layers)] for c in range(len(conditions))
    ]
    cond_inits = [c[0] for c in conditions]
    cond_lmbdas = np.array([c[1] for c in conditions])
    answer = dominance_verdict(
        cond_inits, cond_lmbdas, early_share, first_epochs=first_epochs, threshold=threshold
    )
    return DominanceResult(
        settings={
            "data": data.name,
            "n": data.train.n,
            "sizes": list(sizes),
            "eta": eta,
            "batch_size": batch_size,
            "epochs": epochs,
            "lmbdas": list(lmbdas),
            "inits": list(inits),
            "first_epochs": first_epochs,
            "threshold": threshold,
            "almost_all": almost_all,
            "small": small,
            "seeds": list(seeds),
        },
        prediction=(
            f"under the large initialisation and λ not too small, decay accounts for almost "
            f"all of the change of ‖w‖² in the first epochs (share near 1, above "
            f"{threshold:g}); under the scaled initialisation the data gradient is not "
            "suppressed, so its share should be much lower"
        ),
        verdict=answer.headline,
        diverged=diverged,
        inits=cond_inits,
        lmbdas=cond_lmbdas,
        epochs=np.arange(1, epochs + 1),
        share=share,
        share_total=share_total,
        early_share=early_share,
        early_share_layers=early_share_layers,
        dominated=np.array([side(e, threshold) > 0 for e in early_share]),
        weight_rms=rms,
        step_ratio=[estimate(row) for row in step_ratio],
        radial_ratio=[estimate(row) for row in radial_ratio],
        evidence=list(answer.evidence),
    )
