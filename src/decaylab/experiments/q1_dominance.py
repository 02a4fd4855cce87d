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
from decaylab.experiments.estimates import Estimate, estimate
from decaylab.experiments.inputs import as_seeds, check_positive_list, resolve_data
from decaylab.experiments.records import ExperimentResult
from decaylab.experiments.runs import RunSpec, run_many

__all__ = ["DominanceResult", "dominance_verdict", "early_decay_dominance"]

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

    def table(self) -> tuple[list[str], list[list[str]]]:
        k = self.settings["first_epochs"]
        n_layers = self.share.shape[-1]
        header = ["init", "λ", f"decay share, epochs 1–{k} (all weights)"]
        header += [f"layer {l}" for l in range(n_layers)]
        header += [f"> {self.settings['threshold']:g}?"]
        rows = []
        for c in range(len(self.inits)):
            rows.append(
                [self.inits[c], f"{self.lmbdas[c]:g}", format(self.early_share[c])]
                + [format(e) for e in self.early_share_layers[c]]
                + ["yes" if self.dominated[c] else "no"]
            )
        return header, rows


def dominance_verdict(
    inits: Sequence[str],
    lmbdas: np.ndarray,
    early_share: Sequence[Estimate],
    *,
    first_epochs: int,
    threshold: float = 0.5,
) -> str:
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
    str
    """
    lmbdas = np.asarray(lmbdas, dtype=float)
    measured = np.array([e.n > 0 for e in early_share])
    lower = np.array([e.lower(2.0) if e.n else np.nan for e in early_share])
    dominated = measured & (lower > threshold)
    parts = []
    for init in dict.fromkeys(inits):
        mine = np.array([i == init for i in inits])
        indices = np.flatnonzero(mine & measured)
        if indices.size == 0:
            parts.append(f"{init} initialisation: not measured (every run diverged)")
            continue
        best = int(indices[np.argmax([early_share[c].mean for c in indices])])
        if (dominated & mine).any():
            which = (
                "every λ tested"
                if not (mine & ~dominated).any()
                else "λ = "
                + ", ".join(f"{x:g}" for x in lmbdas[mine & dominated])
                + " (not at λ = "
                + ", ".join(f"{x:g}" for x in lmbdas[mine & ~dominated])
                + ")"
            )
            parts.append(
                f"{init} initialisation: decay dominates the first {first_epochs} epochs at "
                f"{which}; decay share up to {early_share[best]} > {threshold:g}"
            )
        else:
            parts.append(
                f"{init} initialisation: decay does not dominate the first {first_epochs} "
                f"epochs at any λ tested (largest share {early_share[best]}, threshold "
                f"{threshold:g})"
            )
    large = np.array([i == "large" for i in inits]) & measured
    scaled = np.array([i == "scaled" for i in inits]) & measured
    if large.any():
        top = lmbdas[large].max()
        holds = bool((dominated & large & (lmbdas == top)).any())
        claim = "holds" if holds else "does not hold"
        text = f"the claim {claim} at the largest λ measured ({top:g})"
        if scaled.any() and np.array_equal(lmbdas[large], lmbdas[scaled]):
            share = np.array([e.mean for e in early_share])
            ratio = share[large] / share[scaled]
            text += (
                f"; the large initialisation's share exceeds the scaled one's by a factor "
                f"{ratio.min():.2g}–{ratio.max():.2g} at equal λ"
                if (ratio > 1).all()
                else f"; the ratio of the large to the scaled initialisation's share is "
                f"{ratio.min():.2g}–{ratio.max():.2g} at equal λ"
            )
        parts.append(text)
    return "; ".join(parts) + "."


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
    early = share_total[:, :, :first_epochs].mean(axis=2)
    early_layers = share[:, :, :first_epochs].mean(axis=2)
    early_share = [estimate(early[c]) for c in range(len(conditions))]
    early_share_layers = [
        [estimate(early_layers[c, :, l]) for l in range(n_layers)] for c in range(len(conditions))
    ]
    cond_inits = [c[0] for c in conditions]
    cond_lmbdas = np.array([c[1] for c in conditions])
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
            "seeds": list(seeds),
        },
        prediction=(
            f"under the large initialisation and λ not too small, decay accounts for almost "
            f"all of the change of ‖w‖² in the first epochs (share near 1, above "
            f"{threshold:g}); under the scaled initialisation the data gradient is not "
            "suppressed, so its share should be much lower"
        ),
        verdict=dominance_verdict(
            cond_inits, cond_lmbdas, early_share, first_epochs=first_epochs, threshold=threshold
        ),
        diverged=diverged,
        inits=cond_inits,
        lmbdas=cond_lmbdas,
        epochs=np.arange(1, epochs + 1),
        share=share,
        share_total=share_total,
        early_share=early_share,
        early_share_layers=early_share_layers,
        dominated=np.array([e.n > 0 and e.lower(2.0) > threshold for e in early_share]),
        weight_rms=rms,
    )
