"""One number convention: an error to two significant digits, the value to its first digit."""

from __future__ import annotations

import math

import pytest

from decaylab._format import format_interval, format_measured, format_range
from decaylab.dynamics.scaling import fit_power_law
from decaylab.experiments.claims import format_column
from decaylab.experiments.estimates import Estimate


@pytest.mark.parametrize(
    "value, error, text",
    [
        (0.15, 0.00075, "0.1500 ± 0.00075"),
        (6.0, 0.047, "6.00 ± 0.047"),
        (0.8156, 0.00081, "0.8156 ± 0.00081"),
        (0.49996, 0.00009, "0.49996 ± 0.000090"),
        (620.0, 2.1, "620 ± 2.1"),
        (12345.0, 670.0, "12300 ± 670"),
        (0.1, 0.0996, "0.1 ± 0.10"),
        (-0.502, 0.0015, "-0.502 ± 0.0015"),
        (2.0e7, 3.0e5, "2.00e+07 ± 3.0e+05"),
        (0.25, None, "0.25"),
        (0.25, math.nan, "0.25"),
    ],
)
def test_format_measured(value, error, text):
    assert format_measured(value, error) == text


@pytest.mark.parametrize(
    "estimate, text",
    [
        (Estimate(0.15, 0.00075, 3), "0.1500 ± 0.00075"),
        (Estimate(6.0, 0.047, 3), "6.00 ± 0.047"),
        (Estimate(6.0, math.nan, 1), "6"),
        (Estimate(math.nan, math.nan, 0), "n/a"),
    ],
)
def test_an_estimate_formats_itself(estimate, text):
    assert f"{estimate}" == text


@pytest.mark.parametrize(
    "value, low, high, text",
    [
        (-0.502, -0.505, -0.499, "-0.502 [-0.505, -0.499]"),
        (0.98, 0.78, 1.18, "1.0 [0.8, 1.2]"),
        (-1.88, -2.42, -1.34, "-1.9 [-2.4, -1.3]"),
        (-0.490, -0.4934, -0.4866, "-0.490 [-0.493, -0.487]"),
    ],
)
def test_format_interval(value, low, high, text):
    assert format_interval(value, low, high) == text


def test_a_scaling_fit_formats_itself_as_its_interval():
    # y = x^-0.5 times a small, known wobble: the fit's own numbers, formatted by hand.
    x = [1.0, 2.0, 4.0, 8.0, 16.0]
    y = [v**-0.5 * (1.0 + 0.01 * (-1) ** i) for i, v in enumerate(x)]
    fit = fit_power_law(x, y)
    half = (fit.interval[1] - fit.interval[0]) / 2
    decimals = -math.floor(math.log10(float(f"{half:.2g}")))
    low, high = fit.interval
    expected = f"{fit.exponent:.{decimals}f} [{low:.{decimals}f}, {high:.{decimals}f}]"
    assert f"{fit}" == str(fit) == expected


@pytest.mark.parametrize(
    "column, cells",
    [
        ([Estimate(620.0, 2.1, 3), Estimate(1100.0, 0.22, 3)], ["620 ± 2.1", "1100.0 ± 0.22"]),
        ([0.15, 2.5], ["0.150", "2.500"]),
        ([2.6e-05, 0.78], ["2.60e-05", "7.80e-01"]),
    ],
)
def test_a_column_keeps_one_notation(column, cells):
    assert format_column(column) == cells


@pytest.mark.parametrize(
    "low, high, significant, text",
    [
        (614.0, 2190.0, 3, "614–2190"),
        (614.0, 5040.0, 3, "614–5040"),
        (0.097, 0.9, 2, "0.097–0.900"),
        (2.6e-05, 0.78, 3, "2.60e-05–7.80e-01"),
    ],
)
def test_a_range_keeps_one_notation(low, high, significant, text):
    assert format_range(low, high, significant) == text


@pytest.mark.parametrize("value, low, high", [(-0.04, -0.2, 0.1), (-0.004, -0.02, 0.01)])
def test_no_negative_zero_is_shown(value, low, high):
    assert not format_interval(value, low, high).startswith("-0 ")
    assert not format_interval(value, low, high).startswith("-0.0 ")
