r"""Weight-decay conventions: how a regularisation strength becomes a per-step multiplier.

Every convention here is plain L2 decay on a mean-reduced data loss: one SGD
step multiplies each weight by a number d and then subtracts the gradient
step (Nielsen, eq. 93),

.. math::  w \to d\,w - \frac{\eta}{m}\sum_x \frac{\partial C_x}{\partial w},
           \qquad d = 1 - \eta c,

and they differ only in the coefficient c of the penalty (c/2)·Σw² that is
added to the mean-reduced loss C₀ = (1/n)Σ_x C_x:

============  ==================  =============================  ====================================
name          c                   per-step multiplier d          known as
============  ==================  =============================  ====================================
``sum``       λ/n                 1 − ηλ/n                       Nielsen's (λ/2n)Σw²; PyTorch SGD
                                                                 ``weight_decay=λ/n``; Keras
                                                                 ``L2(l2=λ/(2n))``; optax
                                                                 ``add_decayed_weights(λ/n)`` before
                                                                 ``sgd(η)``
``mean``      λ/(n·n_w)           1 − ηλ/(n·n_w)                 (λ/2n)·(1/n_w)·Σw², a mean over the
                                                                 n_w weights
``per_step``  wd                  1 − η·wd                       PyTorch SGD ``weight_decay=wd``
``decoupled`` wd/η                1 − wd                         SGDW (Loshchilov & Hutter 2019)
============  ==================  =============================  ====================================

For ``per_step`` and ``decoupled`` the strength passed as ``lmbda`` is the
``wd`` of the table. Biases are never decayed under any convention.

One epoch of ⌈n/m⌉ steps of pure decay multiplies a weight by d^⌈n/m⌉
(:func:`decay_factor`); for the sum convention that is close to e^{−ηλ/m}
when ηλ ≪ n.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from decaylab._validation import check_choice, check_int, check_real


@dataclass(frozen=True)
class DecayConvention:
    """Base class: a rule that turns (η, strength, n, n_w) into the L2 coefficient c.

    Subclasses state their coefficient in :meth:`coefficient`; the per-step
    multiplier is always d = 1 − η·c, and the penalty added to the
    mean-reduced cost is (c/2)·Σw².
    """

    name: ClassVar[str] = ""

    def coefficient(self, lmbda: float, *, eta: float, n: int, n_weights: int) -> float:
        """The coefficient c of the penalty (c/2)·Σw² on the mean-reduced cost."""
        raise NotImplementedError

    def multiplier(self, lmbda: float, *, eta: float, n: int, n_weights: int) -> float:
        """The exact per-step multiplier d = 1 − η·c applied to every weight.

        Raises
        ------
        ValueError
            If d <= 0: the step would flip or zero the weights instead of
            shrinking them.
        """
        eta = check_real("eta", eta, positive=True)
        lmbda = check_real("lmbda", lmbda, nonnegative=True)
        n = check_int("n", n, minimum=1)
        n_weights = check_int("n_weights", n_weights, minimum=1)
        d = 1.0 - eta * self.coefficient(lmbda, eta=eta, n=n, n_weights=n_weights)
        if d <= 0.0:
            raise ValueError(
                f"the '{self.name}' decay multiplier 1 - eta*c = {d:.6g} is <= 0 for eta={eta}, "
                f"lmbda={lmbda}, n={n}; expected eta*c < 1 (for the sum convention, eta*lmbda/n < 1)"
            )
        return d

    def penalty(
        self, sum_of_squares: float, lmbda: float, *, eta: float, n: int, n_weights: int
    ) -> float:
        """The regularisation term (c/2)·Σw² that this convention adds to the cost."""
        return 0.5 * self.coefficient(lmbda, eta=eta, n=n, n_weights=n_weights) * sum_of_squares


@dataclass(frozen=True)
class SumDecay(DecayConvention):
    """Nielsen's convention: penalty (λ/2n)·Σw², multiplier d = 1 − ηλ/n (eq. 93)."""

    name: ClassVar[str] = "sum"

    def coefficient(self, lmbda: float, *, eta: float, n: int, n_weights: int) -> float:
        return lmbda / n


@dataclass(frozen=True)
class MeanDecay(DecayConvention):
    """Mean-square penalty (λ/2n)·(1/n_w)·Σw², multiplier d = 1 − ηλ/(n·n_w)."""

    name: ClassVar[str] = "mean"

    def coefficient(self, lmbda: float, *, eta: float, n: int, n_weights: int) -> float:
        return lmbda / (n * n_weights)


@dataclass(frozen=True)
class PerStepDecay(DecayConvention):
    """PyTorch's ``weight_decay=wd``: multiplier d = 1 − η·wd, independent of n."""

    name: ClassVar[str] = "per_step"

    def coefficient(self, lmbda: float, *, eta: float, n: int, n_weights: int) -> float:
        return lmbda


@dataclass(frozen=True)
class DecoupledDecay(DecayConvention):
    """SGDW's decoupled decay: multiplier d = 1 − wd, independent of η and n."""

    name: ClassVar[str] = "decoupled"

    def coefficient(self, lmbda: float, *, eta: float, n: int, n_weights: int) -> float:
        return lmbda / eta


CONVENTIONS: dict[str, DecayConvention] = {
    c.name: c for c in (SumDecay(), MeanDecay(), PerStepDecay(), DecoupledDecay())
}


def get_convention(decay: str | DecayConvention) -> DecayConvention:
    """Return the convention named ``decay`` ("sum", "mean", "per_step", "decoupled").

    A :class:`DecayConvention` instance is returned unchanged.
    """
    if isinstance(decay, DecayConvention):
        return decay
    return CONVENTIONS[check_choice("decay", decay, CONVENTIONS)]


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Number of SGD steps in one epoch, ⌈n/m⌉ (the last batch may be shorter)."""
    n = check_int("n", n, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=n)
    return -(-n // batch_size)


def decay_factor(
    eta: float,
    lmbda: float,
    n: int,
    batch_size: int,
    *,
    decay: str | DecayConvention = "sum",
    n_weights: int = 1,
) -> float:
    r"""Exact factor by which one epoch of pure decay multiplies every weight.

    Parameters
    ----------
    eta : float
        Learning rate η > 0.
    lmbda : float
        Regularisation strength λ >= 0 (``wd`` for "per_step" and "decoupled").
    n : int
        Training-set size.
    batch_size : int
        Mini-batch size m, 1 <= m <= n.
    decay : str or DecayConvention, optional
        The convention; Nielsen's "sum" by default.
    n_weights : int, optional
        Total number of weights n_w; only the "mean" convention uses it.

    Returns
    -------
    float
        d^⌈n/m⌉, with d the convention's per-step multiplier.

    Notes
    -----
    For the sum convention, :math:`(1-\eta\lambda/n)^{\lceil n/m\rceil}`; its
    logarithm is :math:`-(\eta\lambda/m)(1 + \eta\lambda/2n + \dots)` when m
    divides n, so it is close to :math:`e^{-\eta\lambda/m}` while ηλ ≪ n.

    Examples
    --------
    >>> round(decay_factor(eta=0.5, lmbda=5.0, n=1000, batch_size=10), 6)
    0.778557
    """
    steps = steps_per_epoch(n, batch_size)
    n_weights = check_int("n_weights", n_weights, minimum=1)
    d = get_convention(decay).multiplier(lmbda, eta=eta, n=n, n_weights=n_weights)
    return d**steps


def closed_form_factor(eta: float, lmbda: float, batch_size: int) -> float:
    """Nielsen's approximate per-epoch factor e^{−ηλ/m} (sum convention)."""
    eta = check_real("eta", eta, positive=True)
    lmbda = check_real("lmbda", lmbda, nonnegative=True)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    return math.exp(-eta * lmbda / batch_size)
