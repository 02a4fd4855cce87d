r"""Question 6's verdicts: the words of claims 11 and 12, and the section's headline and evidence.

Each word is a function of measured numbers: slope intervals (claim 11; claim
12 with the validation cost each rule loses carrying λ* across n). The texts
that show those numbers are built once here, so the claims table and the
section show them under the same name and in the same format.
"""

from __future__ import annotations

import numpy as np

from decaylab.experiments.claims import STATEMENTS, Answer, Claim, format_column
from decaylab.experiments.q6_data_size import RULES

__all__ = [
    "convention_verdict",
    "data_size_claim",
    "q6_claims",
    "size_claim_evidence",
    "size_table",
    "slope_preference",
    "stability_claim",
    "transfer_preference",
]


def _abs_interval(interval: tuple[float, float]) -> tuple[float, float]:
    """The range of |b| for b in the interval."""
    low, high = interval
    if low <= 0 <= high:
        return 0.0, max(-low, high)
    return min(abs(low), abs(high)), max(abs(low), abs(high))


def stability_claim(sum_fit, mean_fit, *, stable_slope: float = 0.1) -> str:
    """Claim 11's verdict word: does the sum convention keep λ* stable as the model grows?

    "holds" when the sum convention's |slope| interval lies within
    ``stable_slope`` and the mean's beyond it; "holds with a qualification"
    when the sum's lies wholly below the mean's but reaches beyond
    ``stable_slope``; "does not hold" when the mean's lies wholly below the
    sum's; "undecided" otherwise (overlapping intervals, or a fit is missing).
    Over a tenfold growth of n_w, |slope| < 0.1 moves λ* by less than ×1.26.
    """
    if sum_fit is None or mean_fit is None:
        return "undecided"
    sum_abs, mean_abs = _abs_interval(sum_fit.interval), _abs_interval(mean_fit.interval)
    if sum_abs[1] <= stable_slope < mean_abs[0]:
        return "holds"
    if sum_abs[1] < mean_abs[0]:
        return "holds with a qualification"
    if mean_abs[1] < sum_abs[0]:
        return "does not hold"
    return "undecided"


def slope_preference(n_fit) -> str | None:
    """Which rule the slope interval favours: a rule of :data:`RULES`, or None.

    An interval that admits exactly one of the slopes 1 and 0 favours that
    rule. One that admits neither favours the rule whose λ lies nearer λ* in
    log λ over the range: λ ∝ n when the interval lies above ½, a fixed λ when
    below ½, neither when it contains ½. One that admits both favours neither.
    """
    if n_fit is None:
        return None
    low, high = n_fit.interval
    one, zero = low <= 1 <= high, low <= 0 <= high
    if one != zero:
        return RULES[0] if one else RULES[1]
    if one and zero:
        return None
    return RULES[0] if low > 0.5 else RULES[1] if high < 0.5 else None


def transfer_preference(worst: dict, loss_margin: float) -> str | None:
    """The rule that loses less carrying λ*, or None within ``loss_margin`` (or unmeasured)."""
    values = [worst.get(rule, np.nan) for rule in RULES]
    if not np.isfinite(values).all() or abs(values[0] - values[1]) <= loss_margin:
        return None
    return RULES[int(np.argmin(values))]


def data_size_claim(
    n_fit, worst: dict | None = None, loss_margin: float = 0.01, *, at_grid_end: int = 0
) -> str:
    """Claim 12's verdict word, from the slope interval and the transfer loss together.

    Parameters
    ----------
    n_fit : ScalingFit or None
        log λ* on log n with its interval.
    worst : dict of str to float, optional
        Per rule of :data:`RULES`, the largest validation cost lost carrying λ*.
    loss_margin : float
    at_grid_end : int
        How many λ* lie at an end of their grid (bounds, not minima).

    Returns
    -------
    str
        "undecided" when a λ* lies at a grid end, when the slope interval admits
        both 1 and 0, when the slope and the transfer favour different rules,
        or when neither favours any (see :func:`slope_preference`,
        :func:`transfer_preference`). Otherwise, for λ ∝ n: "holds" when the
        interval admits 1, "holds with a qualification" when λ* grows but not
        in proportion (the interval excludes 1); for a fixed λ, "does not hold".
    """
    return _size_case(n_fit, worst or {}, loss_margin, at_grid_end)[0]


def _size_case(n_fit, worst: dict, loss_margin: float, at_grid_end: int) -> tuple[str, str]:
    """Claim 12's word and its reason (at most 30 words)."""
    if n_fit is None:
        return "undecided", "λ* could not be fitted against n."
    if at_grid_end:
        return "undecided", f"{at_grid_end} λ* lie at a grid end: bounds, not minima."
    low, high = n_fit.interval
    if low <= 0 <= 1 <= high:
        return "undecided", "The slope interval admits both λ ∝ n and a fixed λ."
    by_slope = slope_preference(n_fit)
    by_transfer = transfer_preference(worst, loss_margin)
    if by_slope and by_transfer and by_slope != by_transfer:
        return "undecided", (
            f"The slope ({n_fit}) favours {by_slope}, but carried across n, {by_transfer} "
            "loses less."
        )
    preferred = by_slope or by_transfer
    if preferred is None:
        return "undecided", (
            f"The slope ({n_fit}) lies midway between the rules, and carried across n both "
            f"lose within {loss_margin:g}."
        )
    carry = (
        f"carried across n, {by_transfer} loses less"
        if by_transfer
        else f"carried across n, both rules lose within {loss_margin:g}"
    )
    if preferred == RULES[1]:
        return "does not hold", f"The slope ({n_fit}) favours a fixed λ; {carry}."
    if low <= 1 <= high:
        return "holds", f"The slope interval admits 1 (λ ∝ n) and excludes 0; {carry}."
    return "holds with a qualification", (
        f"λ* grows, but {'slower' if high < 1 else 'faster'} than n (slope {n_fit}); {carry}."
    )


_WIDTH_REASONS = {
    "holds": "The sum convention's slope is within ±{s:g} (λ* stable); the mean convention's "
    "λ* grows with width.",
    "holds with a qualification": "The sum convention's λ* moves least, but its slope interval "
    "reaches beyond ±{s:g}.",
    "does not hold": "The mean convention's λ* moves less with width than the sum's.",
    "undecided": "The slope intervals cannot tell the conventions apart: more widths or seeds "
    "are needed.",
}


def _width_headline(fits: dict, word: str) -> str:
    if len(fits) < 2:
        return "Undecided: λ* could not be fitted against width under both conventions."
    steadiest = min(fits, key=lambda c: abs(fits[c].exponent))
    return {
        "holds": f"The sum convention keeps λ* stable as the model grows (slope {fits['sum']}); "
        f"under the mean convention λ* ∝ n_w^{fits['mean'].exponent:.2f}.",
        "does not hold": f"The mean convention's λ* moves least with width (slope "
        f"{fits['mean']}, sum {fits['sum'].exponent:.2f}).",
        "holds with a qualification": f"The sum convention's λ* moves least with width (slope "
        f"{fits['sum']}), but it moves.",
        "undecided": f"Undecided: the slope intervals overlap (sum {fits['sum']}, mean "
        f"{fits['mean']}); {steadiest} moves least.",
    }[word]


def size_claim_evidence(scan) -> str:
    """The numbers that decide claim 12, as the claims table and the section show them."""
    return f"{scan.slope_text()}; {scan.loss_text()}; {scan.interior_text()}"


def _size_evidence(scan, settings: dict) -> list[str]:
    ns = scan.ns
    evidence = [
        f"Across n (data {settings['transfer_data']}, network [{settings['transfer_sizes']}], n = "
        f"{int(ns[0])}–{int(ns[-1])}, ×{ns[-1] / ns[0]:.3g}, {settings['transfer_epochs']} "
        f"epochs): {scan.interior_text()}: the least validation cost lies inside the λ grid.",
        f"Across n, {scan.slope_text()} (1: λ ∝ n, fixed ηλ/n; 0: fixed λ, fixed m/(ηλ)).",
        f"Worst over the smaller n, {scan.loss_text()} (margin {scan.loss_margin:g}); accuracy "
        "lost: "
        + ", ".join(f"{rule} {value:.3f}" for rule, value in scan.worst_loss("accuracy").items())
        + ".",
    ]
    if scan.checkpoints:
        evidence.append(
            f"Shorter training, read off the same runs: slope of log λ* on log n at "
            f"{scan.checkpoint_text()}."
        )
    return evidence


def convention_verdict(width_fit: dict, scan, *, stable_slope: float, settings: dict) -> Answer:
    """Headline and evidence: which convention keeps λ* stable, and how λ* moves with n.

    Parameters
    ----------
    width_fit : dict of str to ScalingFit or None
        λ* against n_w per convention.
    scan : DataSizeScan or None
        The scan across training-set sizes (None when none was run).
    stable_slope : float
        |slope| below which λ* counts as stable (see :func:`stability_claim`).
    settings : dict
        The record's settings (names the data and network of the scan across n).

    Returns
    -------
    Answer
    """
    fits = {c: f for c, f in width_fit.items() if f is not None}
    evidence = [
        f"{c} convention: slope of log λ* on log n_w {f} (interval width "
        f"{f.interval[1] - f.interval[0]:.2f}): λ* ×{10**f.exponent:.3g} per tenfold n_w."
        for c, f in fits.items()
    ]
    missing = [c for c in width_fit if c not in fits]
    if missing:
        evidence.append(f"Not fitted ({', '.join(missing)}): fewer than three finite λ*.")
    word = stability_claim(fits.get("sum"), fits.get("mean"), stable_slope=stable_slope)
    headline = _width_headline(fits, word)
    if scan is not None:
        evidence += _size_evidence(scan, settings)
        if scan.n_fit is not None:
            extra = f" Across n ({settings['transfer_data']}), λ* ∝ n^b, b = {scan.n_fit}."
            headline += extra if len(headline + extra) <= 200 else ""
    return Answer(headline, evidence)


def q6_claims(record) -> list[Claim]:
    """Claims 11 and 12 of a :class:`~decaylab.experiments.q6_conventions.ConventionResult`."""
    fits, stable = record.width_fit, record.settings["stable_slope"]
    word = stability_claim(fits.get("sum"), fits.get("mean"), stable_slope=stable)
    slopes = "; ".join(f"{c} {f}" for c, f in fits.items() if f is not None) or "no fit"
    claims = [
        Claim(
            11,
            STATEMENTS[11],
            word,
            f"slope of log λ* on log n_w: {slopes}",
            _WIDTH_REASONS[word].format(s=stable),
            6,
        )
    ]
    scan = record.size_scan
    if scan is not None:
        at_end = int(scan.interior.size - scan.interior.sum())
        word12, reason = _size_case(scan.n_fit, scan.worst_loss(), scan.loss_margin, at_end)
        evidence = size_claim_evidence(scan)
        claims.append(Claim(12, STATEMENTS[12], word12, evidence, reason, 6))
    return claims


def size_table(scan) -> tuple[list[str], list[list[str]]]:
    """λ* per n, the λ each rule carries there, and the validation cost and accuracy it loses."""
    header = ["n", "λ*", "interior", "λ ∝ n: λ", "cost lost", "accuracy lost"]
    header += ["fixed λ: λ", "cost lost", "accuracy lost"]
    stars = format_column([b.estimate for b in scan.best])
    carried = {rule: format_column(list(scan.carried(rule))) for rule in RULES}
    rows = []
    for i, n in enumerate(scan.ns):
        row = [f"{int(n):d}", stars[i], f"{scan.best[i].n_interior} of {scan.best[i].n_seeds}"]
        for rule in RULES:
            cost, acc = scan.cost_lost[rule][i], scan.accuracy_lost[rule][i]
            row += [carried[rule][i], f"{cost:.3f}", f"{acc:.3f}"]
        rows.append(row)
    return header, rows
