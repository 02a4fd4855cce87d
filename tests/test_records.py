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
