"""decaylab: measure the dynamics of L2 weight decay in networks trained by mini-batch SGD.

``import decaylab as dl`` gives the network, the training loop (eq. 93), the
decay conventions, the History, the data sets, the dynamics measurements and
the experiments. Plotting lives in :mod:`decaylab.plots`, reachable as
``dl.plots``: it is imported (with matplotlib) the first time it is used, so
that ``import decaylab`` and every computation never import matplotlib.
"""

from decaylab._version import __version__ as __version__
from decaylab.checkpoint import (
    Checkpoint,
    load_checkpoint,
    resume,
    save_checkpoint,
)
from decaylab.conventions import (
    CONVENTIONS,
    DecayConvention,
    DecoupledDecay,
    MeanDecay,
    PerStepDecay,
    SumDecay,
    closed_form_factor,
    convert_lmbda,
    decay_factor,
    get_convention,
    steps_per_epoch,
)
from decaylab.data import (
    Dataset,
    Split,
    dataset_from_arrays,
    load_csv,
    load_digits,
    load_mnist,
    make_teacher_student,
)
from decaylab.dynamics.budget import Budget, equilibrium_budget
from decaylab.dynamics.decomposition import (
    DecompositionMonitor,
    decay_dominated_epochs,
    decay_share,
)
from decaylab.dynamics.equilibrium import (
    Equilibrium,
    Stationarity,
    find_equilibrium,
    relaxation_steps,
    relaxation_time,
    stationarity,
)
from decaylab.dynamics.factors import (
    FactorComparison,
    MeasuredFactors,
    compare_factors,
    measured_factors,
)
from decaylab.dynamics.noise import (
    NoiseEquilibrium,
    ar1_stationary_variance,
    gradient_variance,
    noise_equilibrium,
    simulate_ar1,
)
from decaylab.dynamics.optimizer_factors import (
    AdamDecay,
    MomentumFactors,
    adam_l2_decay,
    momentum_factors,
    momentum_roots,
)
from decaylab.dynamics.rotation import (
    RotationMonitor,
    angular_update,
    effective_learning_rate,
    equilibrium_angle,
)
from decaylab.dynamics.scaling import ScalingFit, fit_power_law
from decaylab.dynamics.summary import WindowSummary, summarise
from decaylab.ensemble import train_ensemble
from decaylab.errors import (
    CheckpointWriteError,
    DataFileError,
    DecayPrecisionWarning,
    TrainingDiverged,
    TrainingInterrupted,
)
from decaylab.experiments import (
    convention_transfer,
    early_decay_dominance,
    equilibrium_size,
    initialisation_comparison,
    layer_movement,
    optimizer_comparison,
    per_epoch_factor,
)
from decaylab.experiments.adaptive import AdaptiveRun, train_until_equilibrium
from decaylab.history import History, ParameterStats, layer_statistics
from decaylab.network import Network
from decaylab.network2 import load_network2, save_network2
from decaylab.optimizers import (
    Adam,
    AdamW,
    Momentum,
    Optimizer,
    adam_step,
    adamw_step,
    get_optimizer,
    momentum_step,
)
from decaylab.report import write_report
from decaylab.rules import SGD, Rule, register_rule, rule_from_settings, rule_of
from decaylab.sweep import SweepInterrupted, SweepResult, grid_product, sweep
from decaylab.training import sgd_step, train

__all__ = [
    "AdaptiveRun",
    "angular_update",
    "ar1_stationary_variance",
    "Budget",
    "Checkpoint",
    "closed_form_factor",
    "compare_factors",
    "convention_transfer",
    "convert_lmbda",
    "CONVENTIONS",
    "CheckpointWriteError",
    "DataFileError",
    "DecayPrecisionWarning",
    "Dataset",
    "dataset_from_arrays",
    "decay_dominated_epochs",
    "decay_factor",
    "decay_share",
    "DecayConvention",
    "DecompositionMonitor",
    "DecoupledDecay",
    "early_decay_dominance",
    "effective_learning_rate",
    "Equilibrium",
    "equilibrium_angle",
    "equilibrium_budget",
    "equilibrium_size",
    "FactorComparison",
    "find_equilibrium",
    "fit_power_law",
    "get_convention",
    "gradient_variance",
    "grid_product",
    "History",
    "initialisation_comparison",
    "layer_movement",
    "layer_statistics",
    "Adam",
    "adam_l2_decay",
    "adam_step",
    "AdamDecay",
    "AdamW",
    "adamw_step",
    "get_optimizer",
    "load_checkpoint",
    "load_csv",
    "load_digits",
    "load_mnist",
    "load_network2",
    "make_teacher_student",
    "MeanDecay",
    "measured_factors",
    "MeasuredFactors",
    "Network",
    "Momentum",
    "momentum_factors",
    "momentum_roots",
    "momentum_step",
    "MomentumFactors",
    "noise_equilibrium",
    "NoiseEquilibrium",
    "Optimizer",
    "optimizer_comparison",
    "ParameterStats",
    "per_epoch_factor",
    "PerStepDecay",
    "relaxation_steps",
    "relaxation_time",
    "register_rule",
    "resume",
    "RotationMonitor",
    "Rule",
    "rule_from_settings",
    "rule_of",
    "save_checkpoint",
    "save_network2",
    "ScalingFit",
    "SGD",
    "sgd_step",
    "simulate_ar1",
    "Split",
    "Stationarity",
    "stationarity",
    "steps_per_epoch",
    "summarise",
    "SumDecay",
    "sweep",
    "SweepInterrupted",
    "SweepResult",
    "train",
    "train_until_equilibrium",
    "train_ensemble",
    "TrainingDiverged",
    "TrainingInterrupted",
    "WindowSummary",
    "write_report",
]


def __getattr__(name: str):
    # PEP 562: ``dl.plots`` imports the plotting package (and matplotlib) on first use only.
    if name == "plots":
        import importlib

        return importlib.import_module("decaylab.plots")
    raise AttributeError(f"module 'decaylab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"plots"})
