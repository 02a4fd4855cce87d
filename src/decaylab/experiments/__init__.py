"""The experiments that answer the questions of the design notes, one module per question.

Each function trains the networks it needs, measures, and returns a result
record (a subclass of :class:`ExperimentResult`) holding the data behind the
answer, the measured numbers with their standard errors, the prediction
under test and a verdict computed from the numbers.
"""

from decaylab.experiments.common import Estimate, ExperimentResult, RunOutcome, RunSpec
from decaylab.experiments.q1_dominance import (
    DominanceResult,
    dominance_verdict,
    early_decay_dominance,
)
from decaylab.experiments.q2_factor import FactorResult, factor_verdict, per_epoch_factor

__all__ = [
    "DominanceResult",
    "dominance_verdict",
    "early_decay_dominance",
    "Estimate",
    "ExperimentResult",
    "FactorResult",
    "RunOutcome",
    "RunSpec",
    "factor_verdict",
    "per_epoch_factor",
]
