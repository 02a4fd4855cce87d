"""The shared pieces of every verdict: claims, answers, sides of a threshold, number columns."""

from __future__ import annotations

import math

import pytest

from decaylab.experiments.claims import (
    MAX_CELL,
    MAX_HEADLINE,
    STATEMENTS,
    Answer,
    Claim,
    format_column,
    not_measured,
    side,
)
from decaylab.experiments.estimates import Estimate


def test_the_design_notes_have_twelve_claims():
    assert sorted(STATEMENTS) == list(range(1, 13))


@pytest.mark.parametrize(
    "value, threshold, expected",
    [
        (Estimate(0.9, 0.01, 3), 0.5, 1),
        (Estimate(0.1, 0.01, 3), 0.5, -1),
        (Estimate(0.51, 0.01, 3), 0.5, 0),
        (Estimate(0.6, math.nan, 1), 0.5, 1),
        (Estimate(math.nan, math.nan, 0), 0.5, 0),
    ],
)
def test_side_of_a_threshold_by_two_standard_errors(value, threshold, expected):
    assert side(value, threshold) == expected


@pytest.mark.parametrize(
    "values, expected",
    [
        ([Estimate(620.0, 2.1, 3), Estimate(1100.0, 0.22, 3)], ["620 ± 2.1", "1100.0 ± 0.22"]),
        ([0.817, 0.0158], ["0.8170", "0.0158"]),
        ([2.6e-05, 0.78], ["2.60e-05", "7.80e-01"]),
        ([math.nan, 1.5], ["n/a", "1.50"]),
        ([Estimate(0.5, math.nan, 1)], ["0.500"]),
    ],
)
def test_format_column_uses_one_notation(values, expected):
    assert format_column(values) == expected


def test_not_measured_claim_is_undecided():
    claim = not_measured(6, question=3)
    assert (claim.verdict, claim.evidence, claim.question) == ("undecided", "not measured", 3)
    assert claim.statement == STATEMENTS[6]


def test_not_measured_claim_names_no_question_unless_given():
    assert not_measured(6).question == 0


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("verdict", "mostly", "verdict"),
        ("reason", "word " * 31, "31 words"),
        ("evidence", "x" * (MAX_CELL + 1), "evidence"),
        ("evidence", "two\nlines", "evidence"),
    ],
)
def test_claim_refuses_bad_fields(field, value, match):
    fields = {"verdict": "holds", "evidence": "1 ± 0.1", "reason": "because"}
    fields[field] = value
    with pytest.raises(ValueError, match=match):
        Claim(1, "a claim", question=1, **fields)


@pytest.mark.parametrize(
    "headline, evidence, match",
    [
        ("x" * (MAX_HEADLINE + 1), (), "headline"),
        ("one\ntwo", (), "headline"),
        ("fine", ("y" * (MAX_CELL + 1),), r"evidence\[0\]"),
    ],
)
def test_answer_refuses_long_or_broken_lines(headline, evidence, match):
    with pytest.raises(ValueError, match=match):
        Answer(headline, evidence)


def test_answer_reads_as_its_headline():
    answer = Answer("It holds.", ["a = 1"])
    assert str(answer) == "It holds." and answer.evidence == ("a = 1",)
