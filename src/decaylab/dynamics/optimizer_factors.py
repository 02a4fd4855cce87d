r"""Pure-decay factors of the update rules beside eq. 93 (:mod:`decaylab.optimizers`).

Write a = ηc for the per-step decay of eq. 93 (ηλ/n in Nielsen's convention,
so eq. 93 multiplies a weight by d = 1 − a), K = ⌈n/m⌉ for the steps of an
epoch.

**AdamW** multiplies every weight by the same d = 1 − a each step, outside
the adaptive step: with a vanishing data gradient its epoch factor is eq. 93's
d^K exactly (:func:`decaylab.dynamics.factors.compare_factors`).

**Heavy-ball momentum** with the L2 term in the gradient, v ← βv + cw,
w ← w − ηv, is with a vanishing data gradient the linear recurrence

.. math:: w_{t+1} = (1 + \beta - a)\,w_t - \beta\,w_{t-1}, \qquad w_1 = (1 - a)\,w_0

(v₀ = 0). Its characteristic roots r± = [(1 + β − a) ± √((1 + β − a)² − 4β)]/2
give w_t = w₀(A r₊ᵗ + B r₋ᵗ) with A = (1 − a − r₋)/(r₊ − r₋), B = 1 − A, so
the factor of epoch e is exactly

.. math:: \frac{w_{eK}}{w_{(e-1)K}}
          = r_+^K\,\frac{A + B\rho^{eK}}{A + B\rho^{(e-1)K}}, \qquad \rho = r_-/r_+ .

After the transient (ρ^K ≈ β^K → 0) every epoch multiplies by r₊^K. With
log r₊ = −a/(1 − β) − a²(1 + β)/(2(1 − β)³) + O(a³), the closed form
e^{−(a n/m)/(1−β)} — e^{−ηλ/(m(1−β))} for Nielsen's convention — differs
from r₊^K by the relative error

.. math:: \frac{\text{closed}}{r_+^K} - 1 \approx
          \underbrace{\frac{a\,(K - n/m)}{1-\beta}}_{\text{ceiling}}
          + \underbrace{K\,\frac{a^2 (1+\beta)}{2(1-\beta)^3}}_{\text{discretisation}},

which is eq. 93's with a replaced by a/(1 − β) and a factor (1 + β)/(1 − β)
on the second term; the rest is smaller than it by a factor of order
a/(1 − β)². Momentum thus needs a/(1 − β)² ≪ 1, not only a ≪ 1. The
transient: the first epoch multiplies by r₊^K·A instead (when β^K ≪ 1), with
A − 1 = aβ/(1 − β)²·(1 + O(a/(1 − β)²)): the velocity needs about 1/(1 − β)
steps to build up, so the weights first decay more slowly.

**Adam + L2** adds cw to the gradient, which Adam then divides by √v̂ + ε:
the L2 term's own step −ηcw/(√v̂ + ε) shrinks ‖w‖² of a layer at the
effective per-step rate

.. math:: a_\text{eff} = \eta c\,\frac{\sum_j w_j^2/(\sqrt{\hat v_j} + \epsilon)}{\sum_j w_j^2},

a w²-weighted mean over the layer, so weights with larger (or more variable)
gradients, larger √v̂, are decayed less. This is measured from the network and
Adam's state (:func:`adam_l2_decay`) and set against AdamW's fixed ηc. (The
first moment averages cw over about 1/(1 − β₁) steps; while w changes little
over that window, that average is cw itself.)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from decaylab._validation import check_int, check_real
from decaylab.conventions import steps_per_epoch
from decaylab.network import Network

__all__ = ["AdamDecay", "MomentumFactors", "adam_l2_decay", "momentum_factors", "momentum_roots"]


def _check_rate(name: str, value: float) -> float:
    value = check_real(name, value, nonnegative=True)
    if value >= 1.0:
        raise ValueError(f"{name}={value} is too large; expected 0 <= {name} < 1")
    return value


def momentum_roots(per_step_decay: float, beta: float) -> tuple[complex, complex]:
    r"""The characteristic roots (r₊, r₋) of pure decay under heavy-ball momentum.

    Parameters
    ----------
    per_step_decay : float
        a = ηc, 0 <= a < 1 (ηλ/n in Nielsen's convention).
    beta : float
        Momentum β, 0 <= β < 1.

    Returns
    -------
    r_plus, r_minus : complex
        The roots of r² − (1 + β − a)r + β = 0, r₊ the one of larger modulus
        (real when (1 + β − a)² >= 4β, as for any a < (1 − √β)²).
    """
    a = _check_rate("per_step_decay", per_step_decay)
    beta = _check_rate("beta", beta)
    half_sum = (1.0 + beta - a) / 2.0
    root = np.sqrt(complex(half_sum * half_sum - beta))
    return complex(half_sum + root), complex(half_sum - root)


@dataclass(frozen=True)
class MomentumFactors:
    """Exact and closed-form pure-decay factors of heavy-ball momentum.

    Attributes
    ----------
    per_step_decay : float
        a = ηc.
    beta : float
    steps : int
        K = ⌈n/m⌉.
    roots : ndarray, shape (2, 2)
        r₊ and r₋ (:func:`momentum_roots`) as rows of (real part, imaginary part).
    per_step : float
        |r₊|, the asymptotic per-step factor (1 − a/(1 − β) to first order).
    epoch_factors : ndarray, shape (epochs,)
        w_{eK}/w_{(e−1)K} for e = 1..epochs, from v₀ = 0 (the transient included).
    asymptotic : float
        |r₊|^K, the factor of every epoch once the transient has gone.
    closed_form : float
        e^{−(a n/m)/(1 − β)}.
    relative_error : float
        closed_form/asymptotic − 1.
    ceiling_term, discretisation_term, leading_term : float
        a(K − n/m)/(1 − β), K a²(1 + β)/(2(1 − β)³), and their sum: the
        leading-order prediction of ``relative_error``.
    transient : float
        epoch_factors[0]/asymptotic − 1.
    transient_leading_term : float
        aβ/(1 − β)², its leading order (when β^K ≪ 1).
    """

    per_step_decay: float
    beta: float
    steps: int
    roots: np.ndarray
    per_step: float
    epoch_factors: np.ndarray
    asymptotic: float
    closed_form: float
    relative_error: float
    ceiling_term: float
    discretisation_term: float
    leading_term: float
    transient: float
    transient_leading_term: float

    def to_dict(self) -> dict:
        """The fields as a plain dict."""
        return asdict(self)


def momentum_factors(
    per_step_decay: float, beta: float, n: int, batch_size: int, *, epochs: int = 1
) -> MomentumFactors:
    r"""Pure-decay factors of heavy-ball momentum, exact (from the roots) and closed form.

    Parameters
    ----------
    per_step_decay : float
        a = ηc, 0 <= a < 1: ηλ/n in Nielsen's convention, 1 − d for the
        multiplier d a History's settings record.
    beta : float
        Momentum β, 0 <= β < 1 (β = 0 is eq. 93).
    n : int
        Training-set size.
    batch_size : int
        Mini-batch size m, 1 <= m <= n.
    epochs : int, optional
        Number of epochs whose exact factors are returned (>= 1).

    Returns
    -------
    MomentumFactors

    Notes
    -----
    See the module docstring: epoch e multiplies every weight by
    r₊^K (A + Bρ^{eK})/(A + Bρ^{(e−1)K}). A double root (a = (1 − √β)²)
    takes the limit w_t = w₀ rᵗ(1 + t(1 − a − r)/r).

    Examples
    --------
    >>> f = momentum_factors(per_step_decay=0.0005, beta=0.9, n=1000, batch_size=10)
    >>> round(f.asymptotic, 4), round(f.closed_form, 4), round(f.leading_term, 4)
    (0.5908, 0.6065, 0.0238)
    """
    a = _check_rate("per_step_decay", per_step_decay)
    beta = _check_rate("beta", beta)
    steps = steps_per_epoch(n, batch_size)
    epochs = check_int("epochs", epochs, minimum=1)
    r_plus, r_minus = momentum_roots(a, beta)
    t = steps * np.arange(epochs + 1)
    if r_plus == r_minus:
        r = r_plus
        trajectory = (r**t) * (1.0 + t * (1.0 - a - r) / r)
        amplitude = 1.0
    else:
        amplitude = (1.0 - a - r_minus) / (r_plus - r_minus)
        ratio = r_minus / r_plus if r_plus != 0 else 0.0
        # w_t / r₊ᵗ, which stays of order one however long the run.
        trajectory = amplitude + (1.0 - amplitude) * ratio**t
    if r_plus == r_minus:
        epoch_factors = (trajectory[1:] / trajectory[:-1]).real
    else:
        epoch_factors = (r_plus**steps * trajectory[1:] / trajectory[:-1]).real
    per_step = abs(r_plus)
    asymptotic = per_step**steps
    # Logs keep full precision when a is tiny.
    log_closed = -a * (n / batch_size) / (1.0 - beta)
    closed = float(np.exp(log_closed))
    relative_error = float(np.expm1(log_closed - steps * np.log(per_step)))
    ceiling = a * (steps - n / batch_size) / (1.0 - beta)
    discretisation = steps * a**2 * (1.0 + beta) / (2.0 * (1.0 - beta) ** 3)
    return MomentumFactors(
        per_step_decay=a,
        beta=beta,
        steps=steps,
        roots=np.array([[r_plus.real, r_plus.imag], [r_minus.real, r_minus.imag]]),
        per_step=float(per_step),
        epoch_factors=np.asarray(epoch_factors, dtype=np.float64),
        asymptotic=float(asymptotic),
        closed_form=closed,
        relative_error=relative_error,
        ceiling_term=float(ceiling),
        discretisation_term=float(discretisation),
        leading_term=float(ceiling + discretisation),
        transient=float(epoch_factors[0] / asymptotic - 1.0),
        transient_leading_term=a * beta / (1.0 - beta) ** 2,
    )


@dataclass(frozen=True)
class AdamDecay:
    """The per-layer decay Adam + L2 applies, against AdamW's at the same coefficient.

    Attributes
    ----------
    effective_per_step : ndarray, shape (L,)
        a_eff of each weight layer (see the module docstring).
    effective_epoch : ndarray, shape (L,)
        (1 − a_eff)^K, the per-epoch factor at that rate (0 where a_eff >= 1).
    decoupled_per_step : float
        ηc, AdamW's per-step decay at the same coefficient.
    decoupled_epoch : float
        (1 − ηc)^K.
    ratio : ndarray, shape (L,)
        a_eff/(ηc), the w²-weighted mean of 1/(√v̂ + ε) over the layer: how
        many times AdamW's rate at the same c the layer is decayed at. AdamW
        treats every layer alike; Adam + L2 decays a layer with a smaller
        ratio less, relative to the others.
    gradient_rms : ndarray, shape (L,)
        The layer's root-mean-square √v̂, the gradient size Adam divides by.
    """

    effective_per_step: np.ndarray
    effective_epoch: np.ndarray
    decoupled_per_step: float
    decoupled_epoch: float
    ratio: np.ndarray
    gradient_rms: np.ndarray

    def to_dict(self) -> dict:
        """The fields as a plain dict."""
        return asdict(self)


def adam_l2_decay(
    net: Network,
    state: dict[str, np.ndarray],
    *,
    eta: float,
    coefficient: float,
    beta2: float,
    eps: float,
    steps: int,
) -> AdamDecay:
    r"""Measure the effective decay Adam + L2 applies to each layer, from its state.

    Parameters
    ----------
    net : Network
        The network, in the state the optimizer state belongs to.
    state : dict of ndarray
        The Adam state (``second_moment`` and ``step``; see
        :class:`decaylab.optimizers.Adam`), after at least one step.
    eta : float
        Learning rate η.
    coefficient : float
        The L2 coefficient c (λ/n in Nielsen's convention).
    beta2, eps : float
        Adam's second-moment rate and ε.
    steps : int
        Steps per epoch K, for the per-epoch factors.

    Returns
    -------
    AdamDecay

    Notes
    -----
    With v̂ = v/(1 − β₂ᵗ),
    :math:`a_\text{eff} = \eta c\,\sum_j w_j^2/(\sqrt{\hat v_j}+\epsilon) / \sum_j w_j^2`
    per layer; AdamW at the same c decays at ηc per step.
    """
    eta = check_real("eta", eta, positive=True)
    coefficient = check_real("coefficient", coefficient, nonnegative=True)
    beta2 = _check_rate("beta2", beta2)
    eps = check_real("eps", eps, positive=True)
    steps = check_int("steps", steps, minimum=1)
    t = int(state["step"])
    if t < 1:
        raise ValueError(f"state['step']={t}; expected the state after at least one Adam step")
    second = state["second_moment"][: net.n_weights]
    rms = np.sqrt(second / (1.0 - beta2**t))
    inverse = 1.0 / (rms + eps)
    sizes = np.cumsum([0] + [w.size for w in net.weights])
    w2 = net.weights_flat**2
    ratio = np.array(
        [np.sum(w2[i:j] * inverse[i:j]) / np.sum(w2[i:j]) for i, j in zip(sizes[:-1], sizes[1:])]
    )
    layer_rms = np.array([np.sqrt(np.mean(rms[i:j] ** 2)) for i, j in zip(sizes[:-1], sizes[1:])])
    effective = eta * coefficient * ratio
    decoupled = eta * coefficient
    # A rate of 1 or more would take the weights through zero in one step: factor 0.
    effective_epoch = np.clip(1.0 - effective, 0.0, None) ** steps
    return AdamDecay(
        effective_per_step=effective,
        effective_epoch=effective_epoch,
        decoupled_per_step=decoupled,
        decoupled_epoch=(1.0 - decoupled) ** steps,
        ratio=ratio,
        gradient_rms=layer_rms,
    )
