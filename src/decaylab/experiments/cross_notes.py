"""Sentences that set one section's measurement beside another's.

Q3 and Q7 both measure how eq. 93's equilibrium ‖w‖² falls with λ, on the
same [n_in, 30, n_classes] network at the same η and m but at different n
and over different λ. Eq. 93 decays the weights by ηλ/n per step, so the two
sweeps are compared on the scale of λ/n: each section gets the two fitted
slopes, then the slopes refitted over the λ/n both sweeps cover, the slope
of each beyond that common range, and the equilibrium ‖w‖² of any (n, λ)
both ran. Every word of the comparison follows from those numbers.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from decaylab._format import format_measured
from decaylab.dynamics.scaling import fit_power_law
from decaylab.experiments.q7_equilibria import EQUILIBRIUM_INIT
from decaylab.experiments.records import ExperimentResult

__all__ = ["cross_notes"]

# λ/n values are products of short decimals; compare them to this relative precision.
_SAME = 1e-9


def cross_notes(results: Iterable[ExperimentResult]) -> dict[int, list[str]]:
    """Sentences that set one section's measurement beside another's, by question number.

    Parameters
    ----------
    results : iterable of ExperimentResult
        The report's records; a note needs every record it speaks of.

    Returns
    -------
    dict of int to list of str
        Today Q3's and Q7's eq. 93 λ-slopes of the equilibrium ‖w‖²: one
        note in each section, empty without both records or either fit.
    """
    by_number = {r.number: r for r in results}
    q3, q7 = by_number.get(3), by_number.get(7)
    if q3 is None or q7 is None or getattr(q3, "lambda_fit", None) is None:
        return {}
    fit3, fit7 = q3.lambda_fit, q7.equilibrium_fit.get("sgd")
    if fit7 is None:
        return {}
    where3, where7 = _settings(q3, q7)
    overlap = _overlap(fit3, fit7)
    differ = [_NAMES.get(k, k) for k in where3 if where3[k] != where7[k]]
    agree = (
        "their intervals overlap"
        if overlap
        else "their intervals do not overlap; the two sweeps differ in "
        + (_listed(differ) or "their seeds only")
    )
    reconciled = "" if overlap else _reconcile(q3, q7)
    text3, text7 = _where_text(where3), _where_text(where7)
    q3_note = (
        f"Eq. 93's λ-slope of the equilibrium ‖w‖² here is {fit3} ({text3}); "
        f"Q7's detected equilibria give {fit7} ({text7}); {agree}.{reconciled}"
    )
    q7_note = (
        f"Eq. 93's λ-slope of the equilibrium ‖w‖² here is {fit7} ({text7}); "
        f"Q3's λ sweep gives {fit3} ({text3}); {agree}.{reconciled}"
    )
    return {3: [q3_note], 7: [q7_note]}


def _settings(q3, q7) -> tuple[dict, dict]:
    s3, s7 = q3.settings, q7.settings
    lam3, lam7 = np.asarray(q3.lmbdas, dtype=float), np.asarray(q7.equilibrium_lmbda["sgd"])
    where3 = {"hidden": s3["sweep_hidden"], "n": s3["n"], "m": s3["batch_size"],
              "η": f"{s3['eta']:g}", "λ": _span(lam3), "init": s3["init"]}  # fmt: skip
    where7 = {"hidden": s7["sizes"][1], "n": s7["equilibrium_n"], "m": s7["batch_size"],
              "η": f"{s7['eta']['sgd']:g}", "λ": _span(lam7), "init": EQUILIBRIUM_INIT}  # fmt: skip
    return where3, where7


# How a setting is named where the sweeps differ in it.
_NAMES = {"λ": "the λ range", "init": "the initialisation"}


def _listed(items: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return " and ".join(filter(None, [", ".join(items[:-1]), "".join(items[-1:])]))


def _where_text(where: dict) -> str:
    return ", ".join(
        f"hidden {v}" if k == "hidden" else f"{v} initialisation" if k == "init" else f"{k} = {v}"
        for k, v in where.items()
    )


def _overlap(a, b) -> bool:
    return a.interval[0] <= b.interval[1] and b.interval[0] <= a.interval[1]


def _points(q3, q7) -> tuple[tuple, tuple]:
    """(λ/n, ‖w‖²) of every settled λ-sweep run of Q3 and of Q7's eq. 93 runs."""
    norm3 = np.asarray(q3.lambda_norm_squared, dtype=float)
    ok3 = np.asarray(q3.lambda_reached, dtype=bool) & np.isfinite(norm3) & (norm3 > 0)
    rate3 = np.repeat(np.asarray(q3.lmbdas, dtype=float), norm3.shape[1]) / q3.settings["n"]
    norm7 = np.asarray(q7.equilibrium_norm2["sgd"], dtype=float)
    ok7 = np.isfinite(norm7) & (norm7 > 0)
    lam7 = np.asarray(q7.equilibrium_lmbda["sgd"], dtype=float)
    rate7 = np.repeat(lam7, norm7.shape[1]) / q7.settings["equilibrium_n"]
    return (rate3[ok3.ravel()], norm3[ok3]), (rate7[ok7.ravel()], norm7[ok7])


def _fit_between(points, low: float, high: float):
    """The λ-slope over the runs with low <= λ/n <= high; None with too few."""
    rate, norm = points
    inside = (rate >= low * (1 - _SAME)) & (rate <= high * (1 + _SAME))
    if inside.sum() < 3 or np.unique(rate[inside]).size < 2:
        return None
    return fit_power_law(rate[inside], norm[inside], hypotheses=(0.0, -1.0))


def _reconcile(q3, q7) -> str:
    """One sentence comparing the sweeps on the λ/n scale, then any run both made."""
    s3, s7 = q3.settings, q7.settings
    if (s3["sweep_hidden"], s3["batch_size"], s3["eta"]) != (
        s7["sizes"][1], s7["batch_size"], s7["eta"]["sgd"]
    ):
        return ""
    p3, p7 = _points(q3, q7)
    if p3[0].size == 0 or p7[0].size == 0:
        return ""
    spans = f"Q3 spans {_span(p3[0])}, Q7 {_span(p7[0])}"
    low, high = max(p3[0].min(), p7[0].min()), min(p3[0].max(), p7[0].max())
    shared3, shared7 = _fit_between(p3, low, high), _fit_between(p7, low, high)
    scale = " On the scale of λ/n (eq. 93 decays the weights by ηλ/n per step; " + spans + "),"
    if shared3 is None or shared7 is None:
        return scale + " the sweeps share too few λ/n to compare slopes." + _shared_runs(q3, q7)
    meet = f"where both sweeps' λ/n meet ({_span(np.array([low, high]))}) their slopes are "
    meet += f"{shared3} in Q3 and {shared7} in Q7"
    if not _overlap(shared3, shared7):
        return scale + f" {meet}, which disagree too." + _shared_runs(q3, q7)
    return scale + f" {meet}, which agree{_beyond(p3, p7, (low, high))}." + _shared_runs(q3, q7)


def _span(rate: np.ndarray) -> str:
    return f"{rate.min():.3g}–{rate.max():.3g}"


def _beyond(p3, p7, common) -> str:
    """Each sweep's slope outside the common λ/n range, and whether they bend the same way."""
    below, above = (p3, p7) if p3[0].min() < p7[0].min() else (p7, p3)
    name_below, name_above = ("Q3", "Q7") if below is p3 else ("Q7", "Q3")
    fit_below = _fit_between(below, below[0].min(), common[0])
    fit_above = _fit_between(above, common[1], above[0].max())
    shared = _fit_between((np.concatenate([p3[0], p7[0]]), np.concatenate([p3[1], p7[1]])),
                          *common)  # fmt: skip
    if fit_below is None or fit_above is None or shared is None:
        return ""
    text = f"; {name_below}'s slope below that range is {fit_below} and {name_above}'s above it "
    text += f"{fit_above}"
    if fit_below.interval[0] > shared.interval[1] and fit_above.interval[1] < shared.interval[0]:
        text += (
            f", so log ‖w‖² bends down as λ/n grows, and the whole-sweep slopes differ "
            f"because {name_above} spans larger λ/n"
        )
    return text


def _shared_runs(q3, q7) -> str:
    """The equilibrium ‖w‖² of an (n, λ) run in both sections: Q3's n sweep or λ sweep."""
    s3 = q3.settings
    rows3 = [(n, s3["lmbda"], q3.n_norm_squared[i], q3.n_reached[i])
             for i, n in enumerate(q3.ns)]  # fmt: skip
    rows3 += [(s3["n"], lam, q3.lambda_norm_squared[i], q3.lambda_reached[i])
              for i, lam in enumerate(q3.lmbdas)]  # fmt: skip
    n7 = q7.settings["equilibrium_n"]
    both = "both ran" if s3["init"] == EQUILIBRIUM_INIT else (
        f"both ran (Q3 from the {s3['init']} initialisation, Q7 from the {EQUILIBRIUM_INIT})"
    )
    for g, lam7 in enumerate(q7.equilibrium_lmbda["sgd"]):
        for n3, lam3, norm3, reached3 in rows3:
            if n3 != n7 or abs(lam3 - lam7) > _SAME * lam7:
                continue
            values3 = np.asarray(norm3, dtype=float)[np.asarray(reached3, dtype=bool)]
            values7 = np.asarray(q7.equilibrium_norm2["sgd"][g], dtype=float)
            values7 = values7[np.isfinite(values7)]
            if values3.size and values7.size:
                return (
                    f" At n = {n7}, λ = {lam7:g}, which {both}, the equilibrium ‖w‖² is "
                    f"{_mean_text(values3)} in Q3 and {_mean_text(values7)} in Q7."
                )
    return ""


def _mean_text(values: np.ndarray) -> str:
    error = values.std(ddof=1) / np.sqrt(values.size) if values.size > 1 else None
    runs = f"{values.size} seed" + ("s" if values.size > 1 else "")
    return f"{format_measured(values.mean(), error)} ({runs})"
