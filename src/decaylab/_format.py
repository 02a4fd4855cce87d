"""The one number convention of the library's reports: an error to two significant digits.

A measured value is shown to the decimal place of its error's first
significant digit and the error to two significant digits
(:func:`format_measured`); an interval likewise, its half-width standing for
the error (:func:`format_interval`). :class:`~decaylab.experiments.Estimate`
and :class:`~decaylab.dynamics.scaling.ScalingFit` format themselves with them.
"""

from __future__ import annotations

import math

__all__ = ["error_decimals", "format_interval", "format_measured", "format_range"]


def error_decimals(error: float) -> int | None:
    """Decimal place of the first significant digit of ``error`` once rounded to two digits.

    None when ``error`` is not a finite positive number. Negative for errors
    of 10 or more (0.00075 → 4, 0.0996 → 1, 670 → −2).
    """
    if error is None or not math.isfinite(error) or error <= 0:
        return None
    rounded = float(f"{error:.2g}")
    return -math.floor(math.log10(rounded))


def _fixed(x: float, decimals: int) -> str:
    # Adding 0.0 turns a rounded -0.0 into 0.0: no "-0.0" in a report.
    if decimals >= 0:
        return f"{round(x, decimals) + 0.0:.{decimals}f}"
    return f"{round(x, decimals) + 0.0:.0f}"


def format_measured(value: float, error: float | None = None) -> str:
    """``value ± error``: the error to two significant digits, the value to its first digit's place.

    Parameters
    ----------
    value : float
    error : float or None
        A standard error (None, NaN or 0: no error shown, the value to 3
        significant digits).

    Returns
    -------
    str
        Fixed-point while the value is below 10⁶ and the error at least 10⁻⁸;
        otherwise both in scientific notation with one exponent each.

    Examples
    --------
    >>> format_measured(0.15, 0.00075)
    '0.1500 ± 0.00075'
    >>> format_measured(6.0, 0.047)
    '6.00 ± 0.047'
    >>> format_measured(12345.0, 670.0)
    '12300 ± 670'
    """
    if not math.isfinite(value):
        return "n/a"
    decimals = error_decimals(error)
    if decimals is None:
        return f"{value:.3g}"
    if abs(value) >= 1e6 or decimals > 8:
        digits = max(0, math.floor(math.log10(abs(value))) + decimals) if value else 1
        return f"{value:.{digits}e} ± {error:.1e}"
    shown_error = _fixed(float(f"{error:.2g}"), decimals + 1) if decimals >= -1 else f"{error:.2g}"
    if decimals < -1:
        shown_error = f"{float(f'{error:.2g}'):.0f}"
    return f"{_fixed(value, max(decimals, 0) if decimals >= 0 else decimals)} ± {shown_error}"


def format_interval(value: float, low: float, high: float) -> str:
    """``value [low, high]`` to the decimal place of the half-width's first significant digit.

    Examples
    --------
    >>> format_interval(-0.502, -0.505, -0.499)
    '-0.502 [-0.505, -0.499]'
    >>> format_interval(0.98, 0.78, 1.18)
    '1.0 [0.8, 1.2]'
    """
    if not all(math.isfinite(x) for x in (value, low, high)):
        return f"{value:.3g} [{low:.3g}, {high:.3g}]"
    decimals = error_decimals((high - low) / 2.0)
    if decimals is None:
        return f"{value:.3g} [{low:.3g}, {high:.3g}]"
    decimals = max(decimals, 0)
    return f"{_fixed(value, decimals)} [{_fixed(low, decimals)}, {_fixed(high, decimals)}]"


def format_range(low: float, high: float, significant: int = 3) -> str:
    """``low–high`` in one notation: ``significant`` digits of the smaller magnitude.

    Fixed-point while both magnitudes lie in [10⁻³, 10⁵), else both scientific.

    Examples
    --------
    >>> format_range(614.0, 2190.0)
    '614–2190'
    >>> format_range(0.097, 0.9, 2)
    '0.097–0.900'
    >>> format_range(2.6e-05, 0.78)
    '2.60e-05–7.80e-01'
    """
    if low == high:
        return f"{low:.{significant}g}"
    sizes = [abs(x) for x in (low, high) if x != 0 and math.isfinite(x)]
    if not sizes:
        return f"{low:g}–{high:g}"
    if min(sizes) >= 1e-3 and max(sizes) < 1e5:
        decimals = max(0, significant - 1 - math.floor(math.log10(min(sizes))))
        return f"{_fixed(low, decimals)}–{_fixed(high, decimals)}"
    return f"{low:.{significant - 1}e}–{high:.{significant - 1}e}"
