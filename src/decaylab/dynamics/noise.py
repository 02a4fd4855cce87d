r"""The noise-driven equilibrium of a weight whose gradient is pure noise (AR(1)).

If a weight's mini-batch gradient carries no signal, eq. 93 reduces to the
autoregression

.. math::  w_{t+1} = (1 - a)\,w_t + \xi_t, \qquad
           \xi_t \sim (0, \sigma^2) \text{ independent},

with a = ηλ/n (the per-step decay) and σ² = η²s²/m, where s² is the
variance of the per-example gradient ∂C_x/∂w and m the batch size (the
mean of m independent terms has variance s²/m). Its stationary variance is

.. math::  \operatorname{Var} w = \frac{\sigma^2}{2a - a^2}
           = \frac{\eta\, s^2\, n}{m\,\lambda\,(2 - \eta\lambda/n)}
           \approx \frac{\eta s^2 n}{2 m \lambda},

reached with the relaxation time 1/a steps, m/(ηλ) epochs (the discrete
Ornstein–Uhlenbeck process of Mandt, Hoffman & Blei 2017).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from decaylab._validation import as_generator, check_data, check_int, check_real
from decaylab.network import Backprop, Network


def ar1_stationary_variance(a, sigma2):
    r"""Stationary variance σ²/(2a − a²) of w_{t+1} = (1 − a)w_t + ξ_t, Var ξ = σ².

    Parameters
    ----------
    a : float or array_like
        Per-step decay, 0 < a < 2 (|1 − a| < 1, so the process is stationary).
    sigma2 : float or array_like
        Variance of the innovation ξ, >= 0.

    Returns
    -------
    float or ndarray
        Broadcast over the arguments.

    Examples
    --------
    >>> round(ar1_stationary_variance(0.01, 1e-4), 6)
    0.005025
    """
    a_array = np.asarray(a, dtype=np.float64)
    sigma2_array = np.asarray(sigma2, dtype=np.float64)
    if not np.all((a_array > 0) & (a_array < 2)):
        raise ValueError(f"a={a!r} is out of range; expected 0 < a < 2 for a stationary AR(1)")
    if not np.all(np.isfinite(sigma2_array) & (sigma2_array >= 0)):
        raise ValueError(f"sigma2={sigma2!r} must be finite and >= 0")
    variance = sigma2_array / (2.0 * a_array - a_array**2)
    return float(variance) if variance.ndim == 0 else variance


@dataclass(frozen=True)
class NoiseEquilibrium:
    """The AR(1) equilibrium of a pure-noise weight under eq. 93.

    Attributes
    ----------
    a : float
        Per-step decay ηλ/n.
    sigma2 : float
        Per-step innovation variance η²s²/m.
    variance : float
        Stationary variance σ²/(2a − a²).
    rms : float
        √variance, the typical size of such a weight at equilibrium.
    relaxation_steps : float
        1/a steps.
    relaxation_epochs : float
        (1/a)/(n/m) = m/(ηλ) epochs.
    """

    a: float
    sigma2: float
    variance: float
    rms: float
    relaxation_steps: float
    relaxation_epochs: float

    def to_dict(self) -> dict[str, float]:
        """The fields as a plain dict."""
        return asdict(self)


def noise_equilibrium(
    eta: float, lmbda: float, n: int, batch_size: int, s2: float
) -> NoiseEquilibrium:
    r"""Stationary spread of a weight whose per-example gradient is noise of variance s².

    Parameters
    ----------
    eta : float
        Learning rate η > 0.
    lmbda : float
        Regularisation strength λ > 0 (sum convention, a = ηλ/n).
    n : int
        Training-set size.
    batch_size : int
        Mini-batch size m.
    s2 : float
        Variance of the per-example gradient ∂C_x/∂w, >= 0.

    Returns
    -------
    NoiseEquilibrium

    Notes
    -----
    a = ηλ/n, σ² = η²s²/m, Var = σ²/(2a − a²) (see the module docstring).
    """
    eta = check_real("eta", eta, positive=True)
    lmbda = check_real("lmbda", lmbda, positive=True)
    n = check_int("n", n, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=n)
    s2 = check_real("s2", s2, nonnegative=True)
    a = eta * lmbda / n
    if a >= 1.0:
        raise ValueError(
            f"eta*lmbda/n = {a:.6g} >= 1 for eta={eta}, lmbda={lmbda}, n={n}; expected < 1"
        )
    sigma2 = eta**2 * s2 / batch_size
    variance = ar1_stationary_variance(a, sigma2)
    return NoiseEquilibrium(
        a=a,
        sigma2=sigma2,
        variance=variance,
        rms=float(np.sqrt(variance)),
        relaxation_steps=1.0 / a,
        relaxation_epochs=batch_size / (eta * lmbda),
    )


def simulate_ar1(
    a: float,
    sigma2: float,
    steps: int,
    *,
    chains: int = 1,
    initial: float | np.ndarray = 0.0,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    r"""Simulate w_{t+1} = (1 − a)w_t + ξ_t with Gaussian ξ_t ~ N(0, σ²).

    Parameters
    ----------
    a : float
        Per-step decay, 0 < a < 2.
    sigma2 : float
        Innovation variance σ² >= 0.
    steps : int
        Number of steps, >= 1.
    chains : int
        Number of independent chains, >= 1.
    initial : float or ndarray of shape (chains,)
        w_0 of every chain.
    seed : int, numpy.random.Generator or None
        Source of the innovations.

    Returns
    -------
    ndarray, shape (steps + 1, chains)
        Row t is w_t; row 0 is ``initial``.
    """
    a = check_real("a", a)
    if not 0.0 < a < 2.0:
        raise ValueError(f"a={a} is out of range; expected 0 < a < 2")
    sigma2 = check_real("sigma2", sigma2, nonnegative=True)
    steps = check_int("steps", steps, minimum=1)
    chains = check_int("chains", chains, minimum=1)
    rng = as_generator("seed", seed)
    path = np.empty((steps + 1, chains))
    path[0] = initial
    innovations = rng.standard_normal((steps, chains))
    innovations *= np.sqrt(sigma2)
    keep = 1.0 - a
    for t in range(steps):
        np.multiply(path[t], keep, out=path[t + 1])
        path[t + 1] += innovations[t]
    return path


def gradient_variance(net: Network, data) -> np.ndarray:
    r"""Per-example gradient variance of each layer's weights, summed over the weights.

    Parameters
    ----------
    net : Network
    data : pair (X, y)
        The training set, n examples.

    Returns
    -------
    ndarray, shape (L,)
        s²_l = (1/n) Σ_x ‖∂C_x/∂w_l − ∇_l C₀‖², with ∇_l C₀ the mean over x:
        the trace of the per-example gradient covariance, the s² of the AR(1)
        picture summed over layer l's weights.

    Notes
    -----
    A batch of m examples drawn without replacement has a mean gradient of
    covariance trace s²(n − m)/(m(n − 1)). Costs one backward pass over the
    data: each per-example weight gradient is an outer product δaᵀ, whose
    squared norm is ‖δ‖²‖a‖².
    """
    if not isinstance(net, Network):
        raise TypeError(f"net has type {type(net).__name__}; expected a decaylab.Network")
    X, _, targets = check_data(
        data, n_inputs=net.sizes[0], n_outputs=net.sizes[-1], dtype=net.dtype
    )
    n = len(X)
    variance = np.empty(net.n_layers)
    # ∂C_x/∂w^l = δ^l(x) a^{l−1}(x)ᵀ is an outer product, so ‖∂C_x/∂w^l‖² = ‖δ^l(x)‖²‖a^{l−1}(x)‖²:
    # one backward pass over all examples gives every per-example norm.
    for l, (delta, inputs) in enumerate(Backprop(net, n).run(X, targets).factors()):
        delta, inputs = delta.astype(np.float64), inputs.astype(np.float64)
        squares = np.einsum("ij,ij->i", delta, delta) * np.einsum("ij,ij->i", inputs, inputs)
        mean = delta.T @ inputs / n
        variance[l] = squares.mean() - np.vdot(mean, mean)
    return variance
