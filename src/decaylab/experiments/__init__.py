"""The experiments that answer the questions of the design notes, one module per question.

Each function trains the networks it needs, measures, and returns a result
record (a subclass of :class:`ExperimentResult`) holding the data behind the
answer, the measured numbers with their standard errors, the prediction
under test and a verdict computed from the numbers. Every function runs with
sensible defaults on the bundled digits and accepts any
:class:`~decaylab.data.Dataset`.

======  ====================================  ==========================
number  question                              function
======  ====================================  ==========================
1       early decay dominance                 early_decay_dominance
2       the per-epoch decay factor            per_epoch_factor
3       where decay tails off (1/√n_w?)       equilibrium_size
4       large init + L2 vs scaled init        initialisation_comparison
5       layers move differently               layer_movement
6       sum vs mean conventions, λ transfer   convention_transfer
7       momentum, Adam + L2 and AdamW         optimizer_comparison
======  ====================================  ==========================

The same list, with each question's claims, presets and figure, is
:data:`~decaylab.experiments.registry.EXPERIMENTS`, which the report, the
command line and the docs follow; a new question is one module and one
:meth:`~decaylab.experiments.registry.Registry.register` call.
"""

from decaylab.experiments.estimates import Estimate, estimate
from decaylab.experiments.q1_dominance import (
    DominanceResult,
    dominance_verdict,
    early_decay_dominance,
)
from decaylab.experiments.q2_factor import FactorResult, factor_verdict, per_epoch_factor
from decaylab.experiments.q3_equilibrium import (
    EquilibriumResult,
    equilibrium_size,
    equilibrium_verdict,
)
from decaylab.experiments.q4_initialisation import (
    InitialisationResult,
    initialisation_comparison,
    initialisation_verdict,
)
from decaylab.experiments.q5_layers import (
    LayerResult,
    layer_movement,
    layer_verdict,
    reader_lmbdas,
)
from decaylab.experiments.q6_conventions import (
    ConventionResult,
    best_lambda,
    convention_transfer,
    convention_verdict,
)
from decaylab.experiments.q7_optimizers import OptimizerResult, optimizer_comparison
from decaylab.experiments.records import ExperimentResult
from decaylab.experiments.registry import EXPERIMENTS, Experiment, Registry, TrainingSizes
from decaylab.experiments.runs import RunOutcome, RunSpec, run_many

__all__ = [
    "EXPERIMENTS",
    "ConventionResult",
    "DominanceResult",
    "EquilibriumResult",
    "Estimate",
    "Experiment",
    "ExperimentResult",
    "FactorResult",
    "InitialisationResult",
    "LayerResult",
    "Registry",
    "RunOutcome",
    "RunSpec",
    "best_lambda",
    "convention_transfer",
    "convention_verdict",
    "dominance_verdict",
    "early_decay_dominance",
    "equilibrium_size",
    "equilibrium_verdict",
    "estimate",
    "factor_verdict",
    "initialisation_comparison",
    "initialisation_verdict",
    "layer_movement",
    "layer_verdict",
    "reader_lmbdas",
    "optimizer_comparison",
    "OptimizerResult",
    "per_epoch_factor",
    "TrainingSizes",
    "run_many",
]
