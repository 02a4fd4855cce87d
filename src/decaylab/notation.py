"""The symbols and terms the report uses, one line each, with the documentation page behind each.

:func:`notation_markdown` renders them as the notation block at the top of
``report.md`` (:func:`decaylab.report.write_report`), so that a reader meets
every symbol defined before the claims use it.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["NOTATION", "Term", "notation_markdown"]


class Term(NamedTuple):
    """One symbol or term of the report.

    Attributes
    ----------
    symbol : str
        As the report writes it, e.g. ``"n_w"``.
    meaning : str
        One line: what it is, with its formula where it has one.
    page : str
        The documentation page that explains it, relative to ``docs/``.
    """

    symbol: str
    meaning: str
    page: str


_RULE = "update-rule.md"
_FACTOR = "theory/decay-factor.md"
_BUDGET = "theory/norm-budget.md"
_EQUILIBRIUM = "theory/equilibrium.md"
_FITS = "theory/scaling-fits.md"
_OPTIMIZERS = "optimizers.md"

#: Every symbol and term of the report, in the order a reader needs them.
NOTATION: tuple[Term, ...] = (
    Term("w", "a layer's weight matrix (or all weights together); biases are not decayed", _RULE),
    Term("η", "learning rate: the size of each gradient step", _RULE),
    Term("λ", "regularisation rate; the penalty is (λ/2n)·‖w‖² (sum convention)", _RULE),
    Term("n", "training-set size (number of training examples)", _RULE),
    Term("m", "mini-batch size; an epoch has ⌈n/m⌉ steps", _RULE),
    Term("⌈n/m⌉", "steps per epoch: n/m rounded up (a last, shorter batch counts as a step)", _FACTOR),
    Term("ηλ/n", "per-step decay: each step multiplies w by d = 1 − ηλ/n (also written a)", _FACTOR),
    Term("e^(−ηλ/m)", "Nielsen's per-epoch decay factor; the exact one is (1 − ηλ/n)^⌈n/m⌉", _FACTOR),
    Term("E", "the number of epochs every run of a scan trains, whatever its n", _RULE),
    Term("τ", "relaxation time of pure decay, m/(ηλ) epochs: w shrinks by e in τ epochs", _EQUILIBRIUM),
    Term("‖w‖", "L2 norm, √(Σw²): the size of the weights the penalty acts on; ‖w‖² its square", _BUDGET),
    Term("n_w", "number of weights of the network (all layers, biases excluded)", _FITS),
    Term("n_in", "inputs to a layer (its fan-in); the scaled initialisation draws N(0, 1/n_in)", _RULE),
    Term("N(0, s²)", "normal distribution with mean 0 and variance s²", _RULE),
    Term("large initialisation", "weights drawn from N(0, 1), as in Nielsen's chapter 3", _RULE),
    Term("scaled initialisation", "weights drawn from N(0, 1/n_in)", _RULE),
    Term("RMS", "root mean square of the weights, ‖w‖/√n_w", _FITS),
    Term("C₀", "the data cost (cross-entropy) without the penalty", _BUDGET),
    Term("C", "contraction: the change of ‖w‖² decay makes in a step, (d² − 1)‖w‖² ≤ 0", _BUDGET),
    Term("R", "radial term: the change of ‖w‖² from the gradient's part along w, −2dη·w·g (g: the batch's mean gradient)", _BUDGET),
    Term("N", "noise term: the change of ‖w‖² from the gradient step's length, η²‖g‖² ≥ 0", _BUDGET),
    Term("radial", "along w (towards or away from 0); the rest of a step only turns w", _BUDGET),
    Term("decay share", "|C| / (|C| + |R| + N): the part of the ‖w‖² changes that decay made", _BUDGET),
    Term("closure", "(R + N)/(−C): 1 when the gradient's push balances decay's pull", _BUDGET),
    Term("equilibrium", "where ‖w‖² no longer drifts: decay's pull and the gradient's push balance", _EQUILIBRIUM),
    Term("b", "fitted exponent of a power law, e.g. RMS ∝ n_w^b, with its 95 % interval", _FITS),
    Term("λ*", "the best λ of a grid: across n in Q6, the λ of least validation C₀ (interior: not at a grid end); across widths in Q6 and in Q7, the largest λ whose validation C₀ or accuracy stays within the section's margin of the best", _FITS),
    Term("sum convention", "penalty (λ/2n)·Σw² (Nielsen); mean convention: (λ/2n)·Σw²/n_w", _RULE),
    Term("β", "momentum coefficient of heavy-ball SGD", _OPTIMIZERS),
    Term("v̂", "Adam's running mean of squared gradients (bias-corrected); √v̂ scales each step", _OPTIMIZERS),
    Term("AdamW", "Adam with decay applied to w directly, not through the gradient (Adam + L2)", _OPTIMIZERS),
    Term("±", "one standard error over seeds; [low, high] is a 95 % interval", _FITS),
)  # fmt: skip


def notation_markdown(link_prefix: str = "../") -> str:
    """The notation block: a heading and one bullet per symbol, each linking its page.

    Parameters
    ----------
    link_prefix : str
        Prepended to each page (relative to ``docs/``); the default suits a
        report in ``docs/report/``, as the checked-in one is.

    Returns
    -------
    str
        Markdown, ending with a newline.
    """
    lines = ["## Notation", ""]
    for term in NOTATION:
        symbol = term.symbol.replace("*", "\\*")
        lines.append(f"- **{symbol}**: {term.meaning} ([theory]({link_prefix}{term.page}))")
    return "\n".join(lines) + "\n"
