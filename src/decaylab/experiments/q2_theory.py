"""Question 2's factors computed, not trained: exact, closed form, crossovers, thresholds, limit.

Functions of n, m, η and λ only: the leading-order :func:`crossover` and the
exact :func:`exact_threshold` of ηλ/n, the (n, m) pairs of claim 3
(:func:`threshold_grid`), and the record's fields of the grid
(:func:`closed_forms`), of the limit n → ∞ (:func:`limit`) and of claim 3's
condition (:func:`thresholds`).
"""

from __future__ import annotations

import math

import numpy as np

from decaylab._validation import check_real
from decaylab.conventions import steps_per_epoch

__all__ = [
    "PER_STEP_DECAYS",
    "closed_forms",
    "crossover",
    "exact_threshold",
    "limit",
    "threshold_grid",
    "thresholds",
]

#: Per-step decays ηλ/n of the default grid: from well inside the closed form's validity
#: (1e−4 of error) to well outside it (30 % per step), each measurable in one epoch.
PER_STEP_DECAYS = (0.0005, 0.005, 0.02, 0.08, 0.3)


def crossover(steps, n, batch_size, tolerance: float = 0.01) -> np.ndarray:
    r"""The ηλ/n at which the leading-order error of e^{−ηλ/m} reaches ``tolerance``.

    Parameters
    ----------
    steps : int or array_like of int
        K = ⌈n/m⌉.
    n : int
        Training-set size.
    batch_size : int or array_like of int
        m.
    tolerance : float

    Returns
    -------
    ndarray
        The positive root a* of c·a + K a²/2 = tolerance with c = K − n/m:

        .. math:: a^* = \frac{\sqrt{c^2 + 2K\,\text{tol}} - c}{K},

        which is √(2·tol/K) when m divides n.
    """
    k = np.asarray(steps, dtype=float)
    c = k - n / np.asarray(batch_size, dtype=float)
    return (np.sqrt(c**2 + 2.0 * k * tolerance) - c) / k


def exact_threshold(n, batch_size, tolerance: float = 0.01) -> np.ndarray:
    r"""The ηλ/n at which e^{−ηλ/m} is exactly ``tolerance`` above (1 − ηλ/n)^⌈n/m⌉.

    Parameters
    ----------
    n : int or array_like of int
        Training-set size.
    batch_size : int or array_like of int
        m, broadcast against ``n``.
    tolerance : float
        Relative error, > 0.

    Returns
    -------
    ndarray
        The root a* in (0, 1) of

        .. math:: -K\log(1 - a) - a\,n/m = \log(1 + \text{tol}),\qquad K = \lceil n/m\rceil,

        i.e. closed/exact − 1 = tol. The left side is 0 at a = 0 and increases
        (its derivative K/(1 − a) − n/m is positive since K ≥ n/m), so the
        closed form is within ``tolerance`` exactly for ηλ/n ≤ a*. To leading
        order a* = √(2 tol m/n) when m divides n and about tol/(K − n/m) when
        it does not (see :func:`crossover`).
    """
    from scipy.optimize import brentq

    tolerance = check_real("tolerance", tolerance, positive=True)
    n_arr, m_arr = np.broadcast_arrays(np.asarray(n), np.asarray(batch_size))
    target = math.log1p(tolerance)
    out = np.empty(n_arr.shape)
    for i, (nn, m) in enumerate(zip(n_arr.ravel(), m_arr.ravel())):
        k, q = math.ceil(int(nn) / int(m)), int(nn) / int(m)

        def excess(a, k=k, q=q):
            return -k * math.log1p(-a) - a * q - target

        out.flat[i] = brentq(excess, 0.0, 1.0 - 1e-15, xtol=1e-15, rtol=1e-12)
    return out


def threshold_grid(n: int, book_n: int = 50000) -> list[tuple[int, int]]:
    """The (n, m) pairs of claim 3: the data's n with m dividing it and not, and the book's n.

    Parameters
    ----------
    n : int
        The data's training-set size.
    book_n : int
        Nielsen's n (50,000), with his m = 10 and m = 30 (which does not divide it).

    Returns
    -------
    list of (int, int)
        Distinct pairs, sorted; every m ≤ its n.
    """
    ms = {1, 3, 10, 30, max(1, n // 10), max(1, 3 * n // 10), n}
    pairs = {(n, m) for m in ms if m <= n} | {(book_n, 10), (book_n, 30)}
    return sorted(pairs)


def closed_forms(grid, n: int, batch_sizes, tolerance: float) -> dict:
    """Exact and closed-form factors of every (η, λ, m), and the crossovers of each m."""
    from decaylab.dynamics.factors import compare_factors

    comparisons = [compare_factors(eta, lmbda, n, m) for eta, lmbda, m in grid]
    steps = np.array([steps_per_epoch(n, m) for _, _, m in grid], dtype=np.int64)
    batch = np.array([m for _, _, m in grid], dtype=np.int64)
    distinct = np.array(sorted(set(batch_sizes)), dtype=np.int64)
    distinct_steps = np.array([steps_per_epoch(n, m) for m in distinct], dtype=np.int64)
    return {
        "eta": np.array([g[0] for g in grid]),
        "lmbda": np.array([g[1] for g in grid]),
        "batch_size": batch,
        "steps": steps,
        **{
            name: np.array([getattr(c, name) for c in comparisons])
            for name in ("eta_lambda_over_n", "exact", "closed_form", "relative_error")
        },
        "leading_term": np.array([c.leading_term for c in comparisons]),
        "ceiling_term": np.array([c.ceiling_term for c in comparisons]),
        "batch_sizes": distinct,
        "steps_of_batch": distinct_steps,
        "crossover": crossover(distinct_steps, n, distinct, tolerance),
        "crossover_of_setting": crossover(steps, n, batch, tolerance),
    }


def limit(grid, n: int, limit_factors) -> dict:
    """The limit n → ∞ at fixed η, λ, m, with the real exponent n/m of the reader's derivation."""
    limit_ns = np.array([n * f for f in limit_factors], dtype=np.int64)
    batch = np.array([m for _, _, m in grid], dtype=np.int64)[:, None]
    eta_lambda = np.array([eta * lmbda for eta, lmbda, _ in grid])[:, None]
    with np.errstate(divide="ignore"):
        log_ratio = limit_ns / batch * np.log1p(-eta_lambda / limit_ns) + eta_lambda / batch
        limit_error = np.abs(np.expm1(log_ratio))
        limit_slope = np.polyfit(np.log(limit_ns), np.log(limit_error).T, 1)[0]
    return {
        "limit_ns": limit_ns,
        "limit_error": limit_error,
        "limit_slope": np.asarray(limit_slope, dtype=float),
    }


def thresholds(n: int, tolerance: float, much_less: float) -> dict:
    """Claim 3's condition, decided by exact computation at the (n, m) where it matters."""
    pairs = threshold_grid(n)
    nn = np.array([p for p, _ in pairs], dtype=np.int64)
    m = np.array([q for _, q in pairs], dtype=np.int64)
    k_steps = np.array([math.ceil(p / q) for p, q in pairs])
    return {
        "threshold_n": nn,
        "threshold_batch_size": m,
        "threshold": exact_threshold(nn, m, tolerance),
        "threshold_ceiling": np.array([math.ceil(p / q) - p / q for p, q in pairs]),
        "error_at_much_less": np.expm1(-much_less * nn / m - k_steps * np.log1p(-much_less)),
    }
