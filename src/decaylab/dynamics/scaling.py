r"""Power-law fits on log–log axes, with an interval and an honest verdict.

Claim 3 of the design says the weights settle at a size around 1/√n_w (or,
in a paraphrase, 1/n_w). Which one holds is a question about an exponent:
fit log y = c + b·log x by ordinary least squares over runs of several sizes
x = n_w (several seeds may share an x), form the t-based interval for b and
see which hypothesised exponents it admits. The same fit serves any x (λ, n,
the batch size): ``variable`` names it in the hypotheses' labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from decaylab._format import format_interval
from decaylab._validation import check_real

#: Names of the powers y ∝ variable^b that have a usual written form.
_POWERS: dict[float, str] = {-1.0: "1/{}", -0.5: "1/√{}", 0.5: "√{}", 1.0: "{}"}


def power_label(exponent: float, variable: str = "x") -> str:
    """How y ∝ ``variable``^``exponent`` is written: "1/n_w", "1/√λ", "n", "x^-2".

    Examples
    --------
    >>> power_label(-0.5, "n_w"), power_label(1.0, "n"), power_label(-2.0)
    ('1/√n_w', 'n', 'x^-2')
    """
    form = _POWERS.get(float(exponent))
    return form.format(variable) if form else f"{variable}^{exponent:g}"


@dataclass(frozen=True)
class ScalingFit:
    """A least-squares fit of log y = intercept + exponent·log x.

    Attributes
    ----------
    exponent : float
        The fitted slope b on log–log axes.
    standard_error : float
        Its standard error, s/√Σ(log x − mean)².
    interval : tuple of float
        (low, high), the two-sided t interval at ``confidence``.
    confidence : float
        Coverage of ``interval``, e.g. 0.95.
    intercept : float
        c; y ≈ e^c·x^b.
    r_squared : float
        Fraction of the variance of log y the fit explains (NaN if log y is constant).
    n_points : int
        Number of (x, y) pairs.
    degrees_of_freedom : int
        n_points − 2.
    hypotheses : tuple of float
        The exponents tested.
    labels : tuple of str
        Their names, e.g. "1/n_w" for −1 when ``variable`` is "n_w".
    admitted : tuple of float
        The hypotheses inside ``interval``.
    p_values : tuple of float
        Two-sided t-test p-value of each hypothesis.
    verdict : str
        The label of the only admitted hypothesis, "both" if exactly two are
        admitted, "neither" if none is, otherwise the admitted labels joined
        by " or ".
    variable : str
        The name of x used in the default labels.
    """

    exponent: float
    standard_error: float
    interval: tuple[float, float]
    confidence: float
    intercept: float
    r_squared: float
    n_points: int
    degrees_of_freedom: int
    hypotheses: tuple[float, ...]
    labels: tuple[str, ...]
    admitted: tuple[float, ...]
    p_values: tuple[float, ...]
    verdict: str
    variable: str = "x"

    def __format__(self, spec: str) -> str:
        """``exponent [low, high]`` to the decimal of the interval's half-width's first digit.

        A non-empty ``spec`` formats the three numbers with it instead.
        """
        low, high = self.interval
        if spec:
            return f"{self.exponent:{spec}} [{low:{spec}}, {high:{spec}}]"
        return format_interval(self.exponent, low, high)

    def __str__(self) -> str:
        return format(self)

    def predict(self, x) -> np.ndarray:
        """Fitted y = e^intercept · x^exponent."""
        return np.exp(self.intercept) * np.asarray(x, dtype=np.float64) ** self.exponent

    def to_dict(self) -> dict:
        """The fields as a plain dict."""
        return asdict(self)


def _positive_vector(name: str, value) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} has shape {array.shape}; expected a 1-D array")
    for problem, bad in (
        ("NaN", np.isnan(array)),
        ("infinite", np.isinf(array)),
        ("zero or negative", array <= 0),
    ):
        if bad.any():
            where = np.flatnonzero(bad)
            raise ValueError(
                f"{name} has {where.size} {problem} value(s), first {name}[{where[0]}]="
                f"{float(array[where[0]])!r}; expected finite values > 0 (drop the runs that "
                "did not give one, e.g. with a mask np.isfinite(y) & (y > 0) on x and y alike)"
            )
    return array


def fit_power_law(
    x,
    y,
    *,
    hypotheses: Sequence[float] = (-1.0, -0.5),
    confidence: float = 0.95,
    labels: Mapping[float, str] | None = None,
    variable: str = "x",
) -> ScalingFit:
    r"""Fit y ∝ x^b on log–log axes and say which hypothesised exponents the interval admits.

    Parameters
    ----------
    x, y : array_like, shape (N,)
        Positive values; x may repeat (several seeds per size). N >= 3 and at
        least two distinct x.
    hypotheses : sequence of float
        Exponents to test; by default −1 and −1/2 (for x = n_w: 1/n_w and
        1/√n_w).
    confidence : float
        Coverage of the interval, in (0, 1).
    labels : mapping of float to str, optional
        Names of the hypotheses for the verdict; an exponent it does not
        name is written as a power of ``variable`` (:func:`power_label`).
    variable : str
        What x is, for those names: "n_w" gives "1/n_w" and "1/√n_w", "λ"
        gives "1/λ"; "x" by default, which assumes nothing.

    Returns
    -------
    ScalingFit

    Notes
    -----
    Ordinary least squares of v = log y on u = log x:
    b = Σ(u − ū)(v − v̄)/Σ(u − ū)², s² = Σ residual²/(N − 2),
    SE(b) = s/√Σ(u − ū)², interval b ± t_{(1+confidence)/2, N−2}·SE(b).
    The interval has the stated coverage when log y scatters normally and
    independently about the line with constant variance.

    Examples
    --------
    >>> fit = fit_power_law([10, 100, 1000], [0.1, 0.0316, 0.01], variable="n_w")
    >>> round(fit.exponent, 2), fit.verdict
    (-0.5, '1/√n_w')
    """
    x = _positive_vector("x", x)
    y = _positive_vector("y", y)
    if x.shape != y.shape:
        raise ValueError(f"x has {x.size} values and y {y.size}; expected one y per x")
    if x.size < 3:
        raise ValueError(f"x has {x.size} values; expected at least 3 to estimate an interval")
    if np.unique(x).size < 2:
        raise ValueError(f"x has the single value {x[0]!r}; expected at least two distinct values")
    confidence = check_real("confidence", confidence, positive=True)
    if confidence >= 1.0:
        raise ValueError(f"confidence={confidence} must be < 1")
    hypotheses = tuple(float(check_real("hypotheses", h)) for h in hypotheses)
    if not isinstance(variable, str) or not variable:
        raise TypeError(f"variable={variable!r} is not a name; expected a str such as 'n_w'")
    labels = {} if labels is None else {float(h): str(name) for h, name in dict(labels).items()}

    u, v = np.log(x), np.log(y)
    u_centred = u - u.mean()
    v_centred = v - v.mean()
    sxx = float(np.dot(u_centred, u_centred))
    exponent = float(np.dot(u_centred, v_centred) / sxx)
    intercept = float(v.mean() - exponent * u.mean())
    residual = v_centred - exponent * u_centred
    rss = float(np.dot(residual, residual))
    tss = float(np.dot(v_centred, v_centred))
    dof = x.size - 2
    standard_error = float(np.sqrt(rss / dof / sxx))
    # Student's t through scipy.special (stdtrit, stdtr: what scipy.stats.t calls),
    # imported here: scipy.stats took half of ``import decaylab``'s time.
    from scipy.special import stdtr, stdtrit

    quantile = float(stdtrit(dof, 0.5 + confidence / 2.0))
    low, high = exponent - quantile * standard_error, exponent + quantile * standard_error
    admitted = tuple(h for h in hypotheses if low <= h <= high)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_values = np.abs(exponent - np.array(hypotheses)) / standard_error
    p_values = tuple(float(2.0 * stdtr(dof, -t)) for t in np.nan_to_num(t_values, nan=0.0))
    names = tuple(labels.get(h, power_label(h, variable)) for h in hypotheses)
    admitted_names = [name for h, name in zip(hypotheses, names) if h in admitted]
    if not admitted_names:
        verdict = "neither"
    elif len(admitted_names) == 1:
        verdict = admitted_names[0]
    elif len(admitted_names) == 2:
        verdict = "both"
    else:
        verdict = " or ".join(admitted_names)
    return ScalingFit(
        exponent=exponent,
        standard_error=standard_error,
        interval=(low, high),
        confidence=confidence,
        intercept=intercept,
        r_squared=1.0 - rss / tss if tss > 0 else float("nan"),
        n_points=int(x.size),
        degrees_of_freedom=dof,
        hypotheses=hypotheses,
        labels=names,
        admitted=admitted,
        p_values=p_values,
        verdict=verdict,
        variable=variable,
    )
