"""The standard figure of each experiment's result record, found through the registry."""

from __future__ import annotations

from matplotlib.figure import Figure

from decaylab.experiments.registry import EXPERIMENTS
from decaylab.plots._helpers import quiet

__all__ = ["figure_for"]


def figure_for(result) -> Figure:
    """The standard figure of any experiment's result record.

    The figure function is the one the question's registry entry names
    (:data:`decaylab.experiments.registry.EXPERIMENTS`), as in the report.

    Parameters
    ----------
    result : ExperimentResult
        A record returned by one of the registered experiments.

    Returns
    -------
    matplotlib.figure.Figure
        Not shown and not attached to pyplot; save it with ``fig.savefig``.
    """
    for experiment in EXPERIMENTS:
        if isinstance(result, experiment.record):
            with quiet():
                return experiment.draw(result)
    raise TypeError(
        f"result has type {type(result).__name__}; expected the record of a decaylab experiment "
        f"({', '.join(e.record.__name__ for e in EXPERIMENTS)})"
    )
