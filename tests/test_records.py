"""The result records' compact repr."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np
import pytest

from decaylab.experiments.records import ExperimentResult


@dataclass
class _Result(ExperimentResult):
    number = 7
    curves: np.ndarray = None
    count: int = 0


def _result(verdict="holds", diverged=()):
    return _Result(
        settings={"seeds": 3}, prediction="p", verdict=verdict, diverged=list(diverged),
        curves=np.arange(600.0).reshape(20, 30), count=4,
    )  # fmt: skip


def test_repr_is_one_line_with_the_verdict_and_array_shapes():
    assert repr(_result()) == "_Result(Q7, verdict='holds', arrays: curves[20, 30])"


def test_repr_cuts_a_long_verdict_and_counts_diverged_runs():
    text = repr(_result("x" * 200, diverged=["run 1", "run 2"]))
    assert text == f"_Result(Q7, verdict='{'x' * 79}…', 2 diverged, arrays: curves[20, 30])"


def test_a_subclass_with_its_own_repr_keeps_it():
    @dataclass
    class Own(ExperimentResult):
        def __repr__(self):
            return "own"

    assert repr(Own({}, "", "", [])) == "own"


@pytest.mark.parametrize(
    "name",
    [
        "q1_dominance.DominanceResult",
        "q2_factor.FactorResult",
        "q3_equilibrium.EquilibriumResult",
        "q4_initialisation.InitialisationResult",
        "q5_layers.LayerResult",
        "q6_conventions.ConventionResult",
    ],
)
def test_every_experiment_record_has_the_compact_repr(name):
    module, cls = name.split(".")
    record = getattr(importlib.import_module(f"decaylab.experiments.{module}"), cls)
    assert record.__repr__ is ExperimentResult.__repr__


def _section():
    from decaylab.experiments.claims import Claim
    from decaylab.experiments.records import Section, Table

    claim = Claim(3, "a claim", "holds", "x = 0.1500 ± 0.00075", "because", 2)
    return Section(
        2,
        "T",
        "q?",
        "λ* is <small>",
        evidence=("a | b",),
        tables=(Table("cap", ("h",), (("1",),)),),
        claims=(claim,),
        notes=("see Q3",),
        prediction="p",
        settings={"eta": 0.5},
    )


def test_a_section_renders_markdown_in_order():
    text = _section().markdown("f.png")
    assert text == (
        '<a id="q2"></a>\n\n## Q2. T\n\n**λ\\* is <small>**\n\n- a \\| b\n\n'
        "*cap*\n\n| h |\n|---|\n| 1 |\n\n"
        "*The claims this section decides, with the numbers that decide them.*\n\n"
        "| claim | verdict | decided by |\n|---|---|---|\n| 3 | holds | x = 0.1500 ± 0.00075 |\n\n"
        "*Note.* see Q3\n\n![Figure for question 2](f.png)\n\n"
        '<details markdown="1"><summary>Question, prediction and settings</summary>\n\n'
        "*Question.* q?\n\n*Prediction.* p\n\n*Settings.* eta = 0.5\n\n</details>\n"
    )


def test_a_section_renders_escaped_html():
    text = _section().html()
    assert "<p><b>λ* is &lt;small&gt;</b></p>" in text
    assert "<caption>cap</caption>" in text and "<td>x = 0.1500 ± 0.00075</td>" in text
