r"""Figures drawn from runs and from experiment records; nothing here computes a result.

Every ``plot_*`` function draws on the given ``ax`` (pyplot's current axes
when None) and returns that Axes, as matplotlib's and seaborn's functions do:
what it drew stays on it, labelled (``ax.lines``, ``ax.collections``,
``ax.patches``, ``ax.texts``; a second y axis as ``ax.right_ax``), and
``ax.figure.savefig(...)`` saves it. Every ``figure_*``
function lays out the panels of one question on a new
:class:`matplotlib.figure.Figure`, which it returns without showing (save it
with ``fig.savefig``; in a notebook it displays itself). This package is the
only one that imports matplotlib, and ``import decaylab`` does not import it.

Modules
-------
``run``, ``budget``, ``comparison``
    Figures of any run: :func:`plot_history` (a weight statistic against
    epoch), :func:`plot_budget` (the ‖w‖² budget), :func:`plot_histories`
    (several runs on one axes).
``q1_dominance`` … ``q7_optimizers``
    The panels and the figure of each experiment's record.
``figures``
    :func:`figure_for`, the standard figure of any experiment's record.

Examples
--------
``import decaylab as dl`` is enough: ``dl.plots`` imports this package (and
matplotlib) the first time it is used.

>>> import decaylab as dl
>>> result = dl.early_decay_dominance(epochs=3, seeds=1)  # doctest: +SKIP
>>> fig = dl.plots.figure_for(result)                      # doctest: +SKIP
>>> fig.savefig("q1.png")                                  # doctest: +SKIP
"""

from decaylab.plots.budget import plot_budget
from decaylab.plots.comparison import plot_histories
from decaylab.plots.figures import figure_for
from decaylab.plots.q1_dominance import figure_dominance, plot_decay_share
from decaylab.plots.q2_factor import figure_factor, plot_factor_error, plot_factors
from decaylab.plots.q3_equilibrium import (
    figure_equilibrium,
    plot_equilibrium_scaling,
    plot_equilibrium_sweep,
    plot_norm_against_width,
    plot_weight_rms,
)
from decaylab.plots.q4_initialisation import (
    figure_initialisation,
    plot_layer_scale,
    plot_learning_curves,
)
from decaylab.plots.q5_layers import figure_layers, plot_layer_statistic
from decaylab.plots.q6_conventions import (
    figure_conventions,
    plot_cost_against_lambda,
    plot_lambda_scan,
    plot_lambda_star,
    plot_lambda_transfer,
    plot_transfer_loss,
)
from decaylab.plots.q7_optimizers import (
    figure_optimizers,
    plot_adam_layers,
    plot_optimizer_equilibrium,
    plot_optimizer_factors,
    plot_optimizer_transfer,
)
from decaylab.plots.run import plot_history

__all__ = [
    "figure_conventions",
    "figure_dominance",
    "figure_equilibrium",
    "figure_factor",
    "figure_for",
    "figure_initialisation",
    "figure_layers",
    "figure_optimizers",
    "plot_adam_layers",
    "plot_budget",
    "plot_cost_against_lambda",
    "plot_decay_share",
    "plot_equilibrium_scaling",
    "plot_equilibrium_sweep",
    "plot_factor_error",
    "plot_factors",
    "plot_histories",
    "plot_history",
    "plot_lambda_scan",
    "plot_lambda_star",
    "plot_lambda_transfer",
    "plot_layer_scale",
    "plot_layer_statistic",
    "plot_learning_curves",
    "plot_norm_against_width",
    "plot_optimizer_equilibrium",
    "plot_optimizer_factors",
    "plot_optimizer_transfer",
    "plot_transfer_loss",
    "plot_weight_rms",
]
