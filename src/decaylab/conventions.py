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
when ηλ ≪ n. :func:`convert_lmbda` turns a strength in one convention into
the strength that gives the same d in another.

Only the ``mean`` convention depends on n_w; every function that turns its
strength into a multiplier needs ``n_weights`` (``net.n_weights``) and
refuses to run without it rather than assume a value.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import ClassVar

from decaylab._validation import check_choice, check_int, check_real

__all__ = [
    "CONVENTIONS",
    "DecayConvention",
    "DecoupledDecay",
    "MeanDecay",
    "PerStepDecay",
    "SumDecay",
    "closed_form_factor",
    "convert_lmbda",
    "decay_factor",
    "get_convention",
    "steps_per_epoch",
]

#: How many floats on each side of the quotient :func:`convert_lmbda` tries.
_ULPS_SEARCHED = 64


@dataclass(frozen=True)
class DecayConvention:
    """Base class: a rule that turns (η, strength, n, n_w) into the L2 coefficient c.

    Subclasses state their coefficient in :meth:`coefficient`; the per-step
    multiplier is always d = 1 − η·c, and the penalty added to the
    mean-reduced cost is (c/2)·Σw². ``n_weights`` (the total number of
    weights n_w) may be None for a convention that does not use it; one that
    does raises a ValueError then.
    """

    name: ClassVar[str] = ""

    def coefficient(
        self, lmbda: float, *, eta: float, n: int, n_weights: int | None = None
    ) -> float:
        """The coefficient c of the penalty (c/2)·Σw² on the mean-reduced cost."""
        raise NotImplementedError

    def multiplier(
        self, lmbda: float, *, eta: float, n: int, n_weights: int | None = None
    ) -> float:
        """The exact per-step multiplier d = 1 − η·c applied to every weight.

        Raises
        ------
        ValueError
            If d <= 0: the step would flip or zero the weights instead of
            shrinking them; or if the convention needs ``n_weights`` and it
            is None.
        """
        eta = check_real("eta", eta, positive=True)
        lmbda = check_real("lmbda", lmbda, nonnegative=True)
        n = check_int("n", n, minimum=1)
        if n_weights is not None:
            n_weights = check_int("n_weights", n_weights, minimum=1)
        d = 1.0 - self._step_decay(lmbda, eta=eta, n=n, n_weights=n_weights)
        if d <= 0.0:
            raise ValueError(
                f"the '{self.name}' decay multiplier 1 - eta*c = {d:.6g} is <= 0 for eta={eta}, "
                f"lmbda={lmbda}, n={n}; expected eta*c < 1 (for the sum convention, eta*lmbda/n < 1)"
            )
        return d

    def _step_decay(self, lmbda: float, *, eta: float, n: int, n_weights: int | None) -> float:
        """η·c, the fraction of each weight one step of decay removes."""
        return eta * self.coefficient(lmbda, eta=eta, n=n, n_weights=n_weights)

    def penalty(
        self,
        sum_of_squares: float,
        lmbda: float,
        *,
        eta: float,
        n: int,
        n_weights: int | None = None,
    ) -> float:
        """The regularisation term (c/2)·Σw² that this convention adds to the cost."""
        return 0.5 * self.coefficient(lmbda, eta=eta, n=n, n_weights=n_weights) * sum_of_squares


@dataclass(frozen=True)
class SumDecay(DecayConvention):
    """Nielsen's convention: penalty (λ/2n)·Σw², multiplier d = 1 − ηλ/n (eq. 93)."""

    name: ClassVar[str] = "sum"

    def coefficient(
        self, lmbda: float, *, eta: float, n: int, n_weights: int | None = None
    ) -> float:
        return lmbda / n


@dataclass(frozen=True)
class MeanDecay(DecayConvention):
    """Mean-square penalty (λ/2n)·(1/n_w)·Σw², multiplier d = 1 − ηλ/(n·n_w)."""

    name: ClassVar[str] = "mean"

    def coefficient(
        self, lmbda: float, *, eta: float, n: int, n_weights: int | None = None
    ) -> float:
        if n_weights is None:
            # Assuming n_w = 1 would make the mean convention the sum convention.
            raise ValueError(
                "n_weights=None, but the 'mean' convention divides by the total number of "
                "weights n_w; expected n_weights=net.n_weights (it is not assumed to be 1)"
            )
        return lmbda / (n * n_weights)


@dataclass(frozen=True)
class PerStepDecay(DecayConvention):
    """PyTorch's ``weight_decay=wd``: multiplier d = 1 − η·wd, independent of n."""

    name: ClassVar[str] = "per_step"

    def coefficient(
        self, lmbda: float, *, eta: float, n: int, n_weights: int | None = None
    ) -> float:
        return lmbda


@dataclass(frozen=True)
class DecoupledDecay(DecayConvention):
    """SGDW's decoupled decay: multiplier d = 1 − wd, independent of η and n."""

    name: ClassVar[str] = "decoupled"

    def coefficient(
        self, lmbda: float, *, eta: float, n: int, n_weights: int | None = None
    ) -> float:
        return lmbda / eta

    def _step_decay(self, lmbda: float, *, eta: float, n: int, n_weights: int | None) -> float:
        # wd itself: η·(wd/η) overflows to inf·η at a subnormal η.
        return lmbda


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
    n_weights: int | None = None,
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
        Total number of weights n_w (``net.n_weights``); required by the
        "mean" convention, ignored by the others.

    Returns
    -------
    float
        d^⌈n/m⌉, with d the convention's per-step multiplier.

    Raises
    ------
    ValueError
        For out-of-range arguments, a multiplier d <= 0, or the "mean"
        convention without ``n_weights``.

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
    d = get_convention(decay).multiplier(lmbda, eta=eta, n=n, n_weights=n_weights)
    return d**steps


def closed_form_factor(eta: float, lmbda: float, batch_size: int) -> float:
    """Nielsen's approximate per-epoch factor e^{−ηλ/m} (sum convention)."""
    eta = check_real("eta", eta, positive=True)
    lmbda = check_real("lmbda", lmbda, nonnegative=True)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    return math.exp(-eta * lmbda / batch_size)


def convert_lmbda(
    value: float,
    source: str | DecayConvention,
    target: str | DecayConvention,
    *,
    eta: float,
    n: int,
    n_weights: int | None = None,
) -> float:
    r"""The strength in convention ``target`` that gives the same per-step multiplier as ``value``.

    Parameters
    ----------
    value : float
        A strength >= 0 in convention ``source`` (λ for "sum" and "mean",
        ``wd`` for "per_step" and "decoupled").
    source, target : str or DecayConvention
        The conventions to convert from and to.
    eta : float
        Learning rate η > 0.
    n : int
        Training-set size.
    n_weights : int, optional
        Total number of weights n_w (``net.n_weights``); required when either
        convention is "mean".

    Returns
    -------
    float
        The strength s with d_target(s) = d_source(value), equal as floats:
        training with it from the same seed gives the same weights bit for bit.

    Raises
    ------
    ValueError
        For out-of-range arguments, a multiplier d <= 0, "mean" without
        ``n_weights``, or a target convention in which no strength gives
        exactly that multiplier.

    Notes
    -----
    Every convention's coefficient is proportional to its strength,
    c = s·c(1), so s = c_source / c_target(1): for example λ_mean = n_w·λ_sum,
    wd_per_step = λ_sum/n and wd_decoupled = ηλ_sum/n. The quotient can leave
    1 − η·c one rounding step away from the source's multiplier; the result is
    then moved to the nearest float strength whose multiplier is exactly the
    source's. Such a strength exists whenever d >= 0.75 (a property test
    checks this over random settings of every pair of conventions); for
    stronger per-step decay, far outside training that learns, some
    multipliers cannot be reached exactly and a ValueError says so.

    Examples
    --------
    >>> convert_lmbda(5.0, "sum", "mean", eta=0.5, n=1000, n_weights=2220)
    11100.0
    >>> convert_lmbda(5.0, "sum", "decoupled", eta=0.5, n=1000)
    0.0025
    """
    source, target = get_convention(source), get_convention(target)
    value = check_real("value", value, nonnegative=True)
    eta = check_real("eta", eta, positive=True)
    n = check_int("n", n, minimum=1)
    if n_weights is not None:
        n_weights = check_int("n_weights", n_weights, minimum=1)
    given = {"eta": eta, "n": n, "n_weights": n_weights}
    d = source.multiplier(value, **given)
    strength = source.coefficient(value, **given) / target.coefficient(1.0, **given)
    if not math.isfinite(strength):
        raise ValueError(
            f"eta={eta!r} is so small that the '{source.name}' coefficient of value={value!r} "
            f"over the '{target.name}' one is not a finite float ({strength!r}), so no strength "
            f"in '{target.name}' gives its multiplier d = {d!r}; expected a normal eta "
            f"(>= {sys.float_info.min!r})"
        )
    # Rounding in the quotient and in 1 − η·c leaves the target's multiplier at
    # most a few ulps of c away; search the neighbouring floats, nearest first.
    below = above = strength
    for _ in range(_ULPS_SEARCHED):
        for candidate in (above, below):
            if candidate >= 0.0 and target.multiplier(candidate, **given) == d:
                return candidate
        below, above = math.nextafter(below, -math.inf), math.nextafter(above, math.inf)
    raise ValueError(
        f"no strength in the '{target.name}' convention gives exactly the multiplier d = {d!r} "
        f"of value={value!r} in '{source.name}' (nearest {strength!r}); expected conventions "
        "whose coefficient is proportional to the strength"
    )
