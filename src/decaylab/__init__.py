"""decaylab: measure the dynamics of L2 weight decay in networks trained by mini-batch SGD."""

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

__version__ = "0.1.0"

__all__ = [
    "CONVENTIONS",
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
    "load_digits",
    "load_mnist",
    "make_teacher_student",
    "sgd_step",
    "steps_per_epoch",
    "train",
]
