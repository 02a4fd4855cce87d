r"""Decay factors: the exact per-epoch multiplier, Nielsen's closed form, and what was measured.

One step of eq. 93 multiplies every weight by d (1 − ηλ/n in Nielsen's
convention) before the gradient step, so one epoch of K = ⌈n/m⌉ steps of
pure decay multiplies it by d^K. Nielsen's closed form is e^{−ηλ/m}. Writing
a = 1 − d for the per-step decay,

.. math::

    \log(\text{closed}) - \log(\text{exact})
        = -a\,\frac{n}{m} - K\log(1 - a)
        = \underbrace{a\left(K - \frac{n}{m}\right)}_{\text{ceiling term}}
          + \underbrace{K\,\frac{a^2}{2}}_{\text{discretisation term}}
          + K\frac{a^3}{3} + \dots

so the relative error (closed − exact)/exact = e^{that} − 1 is, to leading
order, the sum of the two underbraced terms. For the sum convention
a = ηλ/n and the discretisation term is (ηλ/m)·(ηλ/2n) when m divides n: the
closed form holds while ηλ/n ≪ 1 ("ηλ ≪ n") and n/m is not so large that
the product stops being small.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass

import numpy as np

from decaylab.conventions import DecayConvention, get_convention
from decaylab.history import History
from decaylab.rules import decay_inputs, rule_of


@dataclass(frozen=True)
class FactorComparison:
    """Exact and closed-form per-epoch decay factors, side by side.

    Every field is a float, or an ndarray when the arguments of
    :func:`compare_factors` were arrays (all fields then share their
    broadcast shape).

    Attributes
    ----------
    per_step : float or ndarray
        The per-step multiplier d (1 − ηλ/n for the sum convention).
    steps : int or ndarray
        Steps per epoch, K = ⌈n/m⌉.
    exact : float or ndarray
        d^K, the factor one epoch of pure decay applies to every weight.
    closed_form : float or ndarray
        e^{−a·n/m} with a = 1 − d; for the sum convention Nielsen's e^{−ηλ/m}.
    relative_error : float or ndarray
        (closed_form − exact)/exact.
    ceiling_term : float or ndarray
        a·(K − n/m): the part of the relative error due to ⌈n/m⌉ ≠ n/m.
    discretisation_term : float or ndarray
        K·a²/2: the part due to log(1 − a) ≠ −a, (ηλ/m)(ηλ/2n) when m | n.
    leading_term : float or ndarray
        ceiling_term + discretisation_term, the leading-order prediction
        of ``relative_error``; the remainder is K·a³/3 + leading_term²/2 + …
    eta_lambda_over_n : float or ndarray
        a = 1 − d, the per-step decay, ηλ/n for the sum convention: the
        number that "ηλ ≪ n" asks to be small.
    """

    per_step: float | np.ndarray
    steps: int | np.ndarray
    exact: float | np.ndarray
    closed_form: float | np.ndarray
    relative_error: float | np.ndarray
    ceiling_term: float | np.ndarray
    discretisation_term: float | np.ndarray
    leading_term: float | np.ndarray
    eta_lambda_over_n: float | np.ndarray

    def closed_form_holds(self, tolerance: float = 0.01) -> bool | np.ndarray:
        """Whether |relative_error| < ``tolerance``, i.e. e^{−ηλ/m} is good to that fraction."""
        return np.abs(self.relative_error) < tolerance

    def to_dict(self) -> dict[str, float | np.ndarray]:
        """The fields as a plain dict."""
        return asdict(self)


def _as_array(name: str, value, *, integer: bool = False) -> np.ndarray:
    """``value`` as a finite float (or int) array, with an error naming ``name``."""
    if isinstance(value, bool) or isinstance(value, str):
        raise TypeError(f"{name}={value!r} has type {type(value).__name__}; expected a number")
    array = np.asarray(value)
    if integer:
        if not np.issubdtype(array.dtype, np.integer):
            raise TypeError(
                f"{name}={value!r} has dtype {array.dtype}; expected an integer or integer array"
            )
        return array.astype(np.int64)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise TypeError(f"{name}={value!r} has dtype {array.dtype}; expected real numbers")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{name}={value!r} is not finite; expected finite real numbers")
    return array


def compare_factors(
    eta,
    lmbda,
    n,
    batch_size,
    *,
    decay: str | DecayConvention = "sum",
    n_weights=None,
) -> FactorComparison:
    r"""Compare the exact per-epoch decay factor with the closed form e^{−ηλ/m}.

    Parameters
    ----------
    eta : float or array_like
        Learning rate η > 0.
    lmbda : float or array_like
        Regularisation strength λ >= 0 (``wd`` for "per_step" and "decoupled").
    n : int or array_like of int
        Training-set size, >= 1.
    batch_size : int or array_like of int
        Mini-batch size m, 1 <= m <= n.
    decay : str or DecayConvention, optional
        The convention that turns λ into d; Nielsen's "sum" by default.
    n_weights : int or array_like of int, optional
        Total number of weights n_w (``net.n_weights``); required by the
        "mean" convention (a ValueError without it), ignored by the others.

    Returns
    -------
    FactorComparison
        Scalars if every argument is a scalar, otherwise arrays of the
        arguments' broadcast shape.

    Notes
    -----
    With a = 1 − d and K = ⌈n/m⌉: exact = (1 − a)^K, closed = e^{−a n/m},
    relative error = e^{−a n/m − K log(1 − a)} − 1, leading term
    a(K − n/m) + K a²/2 (see the module docstring). Logarithms are taken with
    ``log1p`` so that tiny a keeps full precision.

    Examples
    --------
    >>> c = compare_factors(eta=0.5, lmbda=5.0, n=1000, batch_size=10)
    >>> round(c.exact, 6), round(c.closed_form, 6), round(c.eta_lambda_over_n, 6)
    (0.778557, 0.778801, 0.0025)
    """
    convention = get_convention(decay)
    eta_a = _as_array("eta", eta)
    lmbda_a = _as_array("lmbda", lmbda)
    n_a = _as_array("n", n, integer=True)
    m_a = _as_array("batch_size", batch_size, integer=True)
    nw_a = None if n_weights is None else _as_array("n_weights", n_weights, integer=True)
    if np.any(eta_a <= 0):
        raise ValueError(f"eta={eta!r} must be > 0")
    if np.any(lmbda_a < 0):
        raise ValueError(f"lmbda={lmbda!r} must be >= 0")
    if np.any(n_a < 1):
        raise ValueError(f"n={n!r} is too small; expected integers >= 1")
    if nw_a is not None and np.any(nw_a < 1):
        raise ValueError(f"n_weights={n_weights!r} is too small; expected integers >= 1")
    if np.any(m_a < 1) or np.any(m_a > n_a):
        raise ValueError(
            f"batch_size={batch_size!r} is out of range; expected 1 <= batch_size <= n={n!r}"
        )
    if nw_a is None:
        eta_a, lmbda_a, n_a, m_a = np.broadcast_arrays(eta_a, lmbda_a, n_a, m_a)
    else:
        eta_a, lmbda_a, n_a, m_a, nw_a = np.broadcast_arrays(eta_a, lmbda_a, n_a, m_a, nw_a)

    a = eta_a * convention.coefficient(lmbda_a, eta=eta_a, n=n_a, n_weights=nw_a)
    a = np.asarray(a, dtype=np.float64)
    if np.any(a >= 1.0):
        raise ValueError(
            f"the '{convention.name}' per-step decay 1 - d reaches {float(np.max(a)):.6g} >= 1 "
            f"for eta={eta!r}, lmbda={lmbda!r}, n={n!r}; expected 1 - d < 1 "
            f"(for the sum convention, eta*lmbda/n < 1)"
        )
    steps = -(-n_a // m_a)
    epochs_of_steps = n_a / m_a
    log_exact = steps * np.log1p(-a)
    log_closed = -a * epochs_of_steps
    ceiling_term = a * (steps - epochs_of_steps)
    discretisation_term = steps * a**2 / 2.0
    values = {
        "per_step": 1.0 - a,
        "steps": steps,
        "exact": np.exp(log_exact),
        "closed_form": np.exp(log_closed),
        "relative_error": np.expm1(log_closed - log_exact),
        "ceiling_term": ceiling_term,
        "discretisation_term": discretisation_term,
        "leading_term": ceiling_term + discretisation_term,
        "eta_lambda_over_n": a,
    }
    scalar = all(
        isinstance(v, numbers.Number) or np.ndim(v) == 0
        for v in (eta, lmbda, n, batch_size, n_weights)
    )
    if scalar:
        values = {k: (int(v) if k == "steps" else float(v)) for k, v in values.items()}
    return FactorComparison(**values)


@dataclass(frozen=True)
class MeasuredFactors:
    """Per-epoch norm ratios of a training run beside the pure-decay prediction.

    The prediction is the update rule's own pure-decay factor: d^K for eq. 93
    and AdamW (whose decoupled decay multiplies by d every step), the exact
    momentum recurrence for momentum
    (:func:`decaylab.dynamics.optimizer_factors.momentum_factors`), and none
    for Adam + L2, whose decay is divided by √v̂ and so has no fixed factor
    (NaN: see :func:`decaylab.dynamics.optimizer_factors.adam_l2_decay` for
    what it measures instead).

    Attributes
    ----------
    rule : str
        The update rule: "sgd" (eq. 93), "momentum", "adam" or "adamw".
    epoch : ndarray of int, shape (E,)
        The epoch each row ends (1..E).
    measured : ndarray, shape (E, L)
        ‖w_{e}‖/‖w_{e−1}‖ for each weight layer, from the History's norms.
    total : ndarray, shape (E,)
        The same ratio for all weights together.
    predicted : float
        The exact pure-decay factor of an epoch: d^K of the run's settings;
        for momentum r₊^K, once the transient from v₀ = 0 has gone; NaN for
        Adam + L2.
    predicted_by_epoch : ndarray, shape (E,)
        The exact pure-decay factor of each epoch: ``predicted``, except for
        momentum, whose first epochs decay more slowly while the velocity
        builds up (counted from a run's epoch 0 with v₀ = 0), and whose
        factor can be negative (complex roots): its absolute value then, as
        the ratio of norms is.
    closed_form : float
        e^{−(1−d)·n/m}, Nielsen's e^{−ηλ/m} for the sum convention;
        e^{−(1−d)·n/(m(1−β))} for momentum; NaN for Adam + L2.
    excess : ndarray, shape (E, L)
        measured / predicted_by_epoch: 1 where the layer decayed purely;
        above 1 where the data gradient grew the weights against the decay.
    total_excess : ndarray, shape (E,)
        total / predicted_by_epoch.
    """

    rule: str
    epoch: np.ndarray
    measured: np.ndarray
    total: np.ndarray
    predicted: float
    predicted_by_epoch: np.ndarray
    closed_form: float
    excess: np.ndarray
    total_excess: np.ndarray

    def to_dict(self) -> dict[str, float | np.ndarray]:
        """The fields as a plain dict."""
        return asdict(self)


def measured_factors(history: History) -> MeasuredFactors:
    """Measured per-epoch norm ratios of each layer and the exact pure-decay factor.

    Parameters
    ----------
    history : History
        A training run; its ``settings`` must hold ``multiplier``,
        ``steps_per_epoch``, ``n`` and ``batch_size`` (as :func:`decaylab.train`
        records them).

    Returns
    -------
    MeasuredFactors

    Notes
    -----
    measured[e−1, l] = ‖w_l‖ after epoch e over ‖w_l‖ after epoch e − 1;
    predicted = d^{⌈n/m⌉} for eq. 93 and AdamW, the momentum recurrence's
    factor of each epoch for momentum (from the run's epoch 0 with v₀ = 0,
    which a History continued with ``history=`` keeps), NaN for Adam + L2
    (see :class:`MeasuredFactors`). A ratio equal to the prediction means
    the data gradient changed that layer's norm not at all over the epoch.
    """
    if not isinstance(history, History):
        raise TypeError(f"history has type {type(history).__name__}; expected a decaylab.History")
    settings = history.settings
    missing = [k for k in ("multiplier", "steps_per_epoch", "n", "batch_size") if k not in settings]
    if missing:
        raise ValueError(
            f"history.settings lacks {missing}; expected a History returned by decaylab.train"
        )
    rule = rule_of(history)  # raises for a recorded rule that is not known
    if history.n_epochs < 1:
        raise ValueError(
            f"history has {history.n_epochs} epochs; expected at least 1 to form a ratio"
        )
    inputs = decay_inputs(settings)
    norm = history.weights.norm
    total_norm = history.weights.total.norm
    with np.errstate(divide="ignore", invalid="ignore"):
        measured = norm[1:] / norm[:-1]
        total = total_norm[1:] / total_norm[:-1]
    epoch = np.asarray(history.epoch[1:])
    predicted = rule.epoch_factor(**inputs)
    # Counted from the run's epoch 0 with a fresh state; norms, so absolute values
    # (with complex roots a weight can change sign).
    by_epoch = np.abs(np.asarray(rule.epoch_factors(**inputs, epochs=int(epoch[-1]))))[epoch - 1]
    closed = rule.closed_form(**inputs)
    return MeasuredFactors(
        rule=str(rule.settings()["name"]),
        epoch=epoch,
        measured=measured,
        total=total,
        predicted=float(predicted),
        predicted_by_epoch=by_epoch,
        closed_form=float(closed),
        excess=measured / by_epoch[:, None],
        total_excess=total / by_epoch,
    )
