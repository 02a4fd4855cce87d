"""decaylab: measure the dynamics of L2 weight decay in networks trained by mini-batch SGD."""

from decaylab.checkpoint import (
    Checkpoint,
    load_checkpoint,
    load_network2,
    resume,
    save_checkpoint,
    save_network2,
)
from decaylab.conventions import (
    CONVENTIONS,
    DecayConvention,
    DecoupledDecay,
    MeanDecay,
    PerStepDecay,
    SumDecay,
    closed_form_factor,
    decay_factor,
    get_convention,
    steps_per_epoch,
)
from decaylab.errors import DataFileError, TrainingDiverged, TrainingInterrupted
from decaylab.history import History, ParameterStats, layer_statistics
from decaylab.network import Network
from decaylab.training import sgd_step, train

try:  # the data module is optional while it is being written
    from decaylab.data import Dataset, Split, load_digits, load_mnist, make_teacher_student
except ImportError:  # pragma: no cover
    pass

# dynamics
from decaylab.decomposition import DecompositionMonitor, decay_dominated_epochs, decay_share
from decaylab.equilibrium import (
    Equilibrium,
    Stationarity,
    find_equilibrium,
    relaxation_steps,
    relaxation_time,
    stationarity,
)
from decaylab.factors import FactorComparison, MeasuredFactors, compare_factors, measured_factors
from decaylab.noise import (
    NoiseEquilibrium,
    ar1_stationary_variance,
    noise_equilibrium,
    simulate_ar1,
)
from decaylab.rotation import (
    RotationMonitor,
    angular_update,
    effective_learning_rate,
    equilibrium_angle,
)
from decaylab.scaling import ScalingFit, fit_power_law

# speed and scale
from decaylab.ensemble import train_ensemble
from decaylab.sweep import SweepInterrupted, SweepResult, grid_product, sweep

# experiments
from decaylab.experiments import (
    convention_transfer,
    early_decay_dominance,
    equilibrium_size,
    initialisation_comparison,
    layer_movement,
    per_epoch_factor,
)
from decaylab.report import write_report

__version__ = "0.1.0"

__all__ = [
    "CONVENTIONS",
    "Checkpoint",
    "DataFileError",
    "Dataset",
    "DecayConvention",
    "DecoupledDecay",
    "History",
    "MeanDecay",
    "Network",
    "ParameterStats",
    "PerStepDecay",
    "Split",
    "SumDecay",
    "TrainingDiverged",
    "TrainingInterrupted",
    "closed_form_factor",
    "decay_factor",
    "get_convention",
    "layer_statistics",
    "load_checkpoint",
    "load_digits",
    "load_mnist",
    "load_network2",
    "make_teacher_student",
    "resume",
    "save_checkpoint",
    "save_network2",
    "sgd_step",
    "steps_per_epoch",
    "train",
]
# dynamics
__all__ += [
    "DecompositionMonitor",
    "Equilibrium",
    "FactorComparison",
    "MeasuredFactors",
    "NoiseEquilibrium",
    "RotationMonitor",
    "ScalingFit",
    "Stationarity",
    "angular_update",
    "ar1_stationary_variance",
    "compare_factors",
    "decay_dominated_epochs",
    "decay_share",
    "effective_learning_rate",
    "equilibrium_angle",
    "find_equilibrium",
    "fit_power_law",
    "measured_factors",
    "noise_equilibrium",
    "relaxation_steps",
    "relaxation_time",
    "simulate_ar1",
    "stationarity",
]
# speed and scale
__all__ += ["SweepInterrupted", "SweepResult", "grid_product", "sweep", "train_ensemble"]
# experiments
__all__ += [
    "convention_transfer",
    "early_decay_dominance",
    "equilibrium_size",
    "initialisation_comparison",
    "layer_movement",
    "per_epoch_factor",
    "write_report",
]
