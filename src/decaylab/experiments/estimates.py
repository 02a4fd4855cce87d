"""Numbers with their uncertainty: the mean over independent runs and its standard error.

Every number an experiment reports is an :class:`Estimate` made by
:func:`estimate` from one value per seed; runs that produced no value (a
diverged run) are left out and counted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from decaylab._format import error_decimals, format_interval, format_measured

__all__ = ["Estimate", "error_decimals", "estimate", "format_interval", "format_measured"]


@dataclass(frozen=True)
class Estimate:
    """A measured number: the mean over independent runs and its standard error.

    Attributes
    ----------
    mean : float
        Mean of the samples (NaN when there are none).
    stderr : float
        Standard error of the mean, s/√k with s the sample standard deviation
        (ddof = 1); NaN with fewer than two samples.
    n : int
        Number of samples k.
    """

    mean: float
    stderr: float
    n: int

    def __format__(self, spec: str) -> str:
        """``mean ± stderr`` in the library's one convention (:func:`format_measured`).

        With an empty ``spec`` the stderr shows two significant digits and the
        mean is rounded to the place of the stderr's first one; otherwise
        ``spec`` formats the mean (and the stderr keeps two significant digits).
        """
        if math.isnan(self.mean):
            return "n/a"
        has_error = self.n > 1 and math.isfinite(self.stderr)
        if not spec:
            return format_measured(self.mean, self.stderr if has_error else None)
        if not has_error:
            return f"{self.mean:{spec}}"
        return f"{self.mean:{spec}} ± {self.stderr:.2g}"

    def __str__(self) -> str:
        return format(self)

    def upper(self, k: float = 1.0) -> float:
        """mean + k·stderr (the mean itself when the stderr is undefined)."""
        return self.mean + (k * self.stderr if self.n > 1 else 0.0)

    def lower(self, k: float = 1.0) -> float:
        """mean − k·stderr (the mean itself when the stderr is undefined)."""
        return self.mean - (k * self.stderr if self.n > 1 else 0.0)


def estimate(samples: Iterable[float]) -> Estimate:
    """Mean and standard error of the finite values in ``samples``.

    Parameters
    ----------
    samples : iterable of float
        One value per independent run (e.g. per seed). NaN values (runs that
        did not produce the number, such as diverged ones) are left out.

    Returns
    -------
    Estimate
    """
    values = np.asarray(list(samples), dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    k = int(values.size)
    if k == 0:
        return Estimate(math.nan, math.nan, 0)
    stderr = float(values.std(ddof=1) / math.sqrt(k)) if k > 1 else math.nan
    return Estimate(float(values.mean()), stderr, k)
