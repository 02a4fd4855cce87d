"""The standard figure of each experiment's result record, chosen by the record's type."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from decaylab.experiments.q1_dominance import DominanceResult
from decaylab.experiments.q2_factor import FactorResult
from decaylab.experiments.q3_equilibrium import EquilibriumResult
from decaylab.experiments.q4_initialisation import InitialisationResult
from decaylab.experiments.q5_layers import LayerResult
from decaylab.experiments.q6_conventions import ConventionResult
from decaylab.experiments.q7_optimizers import OptimizerResult
from decaylab.plots._helpers import quiet
from decaylab.plots.q1_dominance import figure_dominance
from decaylab.plots.q2_factor import figure_factor
from decaylab.plots.q3_equilibrium import figure_equilibrium
from decaylab.plots.q4_initialisation import figure_initialisation
from decaylab.plots.q5_layers import figure_layers
from decaylab.plots.q6_conventions import figure_conventions
from decaylab.plots.q7_optimizers import figure_optimizers

__all__ = ["figure_for"]

_FIGURES = {
    DominanceResult: figure_dominance,
    FactorResult: figure_factor,
    EquilibriumResult: figure_equilibrium,
    InitialisationResult: figure_initialisation,
    LayerResult: figure_layers,
    ConventionResult: figure_conventions,
    OptimizerResult: figure_optimizers,
}


def figure_for(result) -> Figure:
    """The standard figure of any experiment's result record.

    Parameters
    ----------
    result : ExperimentResult
        A record returned by one of the seven experiment functions.

    Returns
    -------
    matplotlib.figure.Figure
        Not shown and not attached to pyplot; save it with ``fig.savefig``.
    """
    for kind, make in _FIGURES.items():
        if isinstance(result, kind):
            # Runs that diverged leave NaN in the records; they are drawn as gaps.
            with quiet(), np.errstate(all="ignore"):
                return make(result)
    raise TypeError(
        f"result has type {type(result).__name__}; expected the record of a decaylab experiment "
        f"({', '.join(k.__name__ for k in _FIGURES)})"
    )
