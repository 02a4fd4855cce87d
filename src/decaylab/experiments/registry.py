"""The one list of experiments: what the report, the command line, the docs and the tests run.

Each question is an :class:`Experiment`: its record type (which carries the
number, title and question), a slug, the claims it decides, its quick and
full presets as data, the function that runs it and the one that draws its
figure. :data:`EXPERIMENTS` lists them in order; adding a question is one
module and one :meth:`Registry.register` call.

Examples
--------
>>> EXPERIMENTS.slugs[0]
'q1_dominance'
>>> EXPERIMENTS["q3"].title
'Where decay tails off'
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from decaylab._validation import check_int
from decaylab.data import Dataset, load_digits
from decaylab.experiments import claims as _claims
from decaylab.experiments.q1_dominance import DominanceResult, early_decay_dominance
from decaylab.experiments.q2_factor import FactorResult, per_epoch_factor
from decaylab.experiments.q3_equilibrium import EquilibriumResult, equilibrium_size
from decaylab.experiments.q4_initialisation import InitialisationResult, initialisation_comparison
from decaylab.experiments.q5_layers import LayerResult, layer_movement
from decaylab.experiments.q6_conventions import ConventionResult, convention_transfer
from decaylab.experiments.q7_optimizers import STATEMENTS as Q7_STATEMENTS
from decaylab.experiments.q7_optimizers import OptimizerResult, optimizer_comparison
from decaylab.experiments.records import ExperimentResult

__all__ = ["EXPERIMENTS", "Experiment", "Registry", "TrainingSizes"]


@dataclass(frozen=True)
class TrainingSizes:
    """A preset value that stands for training-set sizes: fractions of the data's n.

    Resolved against the data a run gets (:meth:`Experiment.settings`):
    ``max(10, n·f)`` for each fraction f, sorted and without repeats.
    """

    fractions: tuple[float, ...] = (0.25, 0.5, 1.0)

    def resolve(self, n: int) -> tuple[int, ...]:
        """The sizes for a training set of ``n`` examples."""
        return tuple(sorted({max(10, int(n * f)) if f < 1 else n for f in self.fractions}))


def _with_data(data: Dataset, kwargs: dict) -> dict:
    """The default way an experiment gets its data: as the keyword ``data``."""
    return {**kwargs, "data": data}


@dataclass(frozen=True)
class Experiment:
    """One question: how to run it, what it decides, how to draw it.

    Attributes
    ----------
    slug : str
        File name of its report section and figure, e.g. ``"q3_equilibrium"``.
    record : type of ExperimentResult
        What :attr:`run` returns; its class attributes give the number, title
        and question.
    run : callable
        ``run(**settings, progress=bool)`` trains and measures; returns a ``record``.
    claims : dict of int to str
        The claims it decides, by number, as a reader states them.
    quick, full : dict
        Keyword arguments of the report's quick and full runs (data;
        :class:`TrainingSizes` values are resolved against the data's n).
    figure : str or callable
        ``"module:function"`` (imported only when drawing) or a function of
        the record returning a matplotlib Figure.
    page : str
        The docs page of the question, relative to ``docs/experiments/``.
    inputs : callable
        ``inputs(data, kwargs) -> kwargs``: how the report's data set reaches
        the run (by default as ``data=``).
    """

    slug: str
    record: type
    run: Callable[..., ExperimentResult]
    claims: Mapping[int, str]
    quick: Mapping[str, Any] = field(default_factory=dict)
    full: Mapping[str, Any] = field(default_factory=dict)
    figure: str | Callable | None = None
    page: str = ""
    inputs: Callable[[Dataset, dict], dict] = _with_data

    @property
    def number(self) -> int:
        """The question's number (its record's)."""
        return self.record.number

    @property
    def title(self) -> str:
        """The question's title (its record's)."""
        return self.record.title

    @property
    def question(self) -> str:
        """The question as asked (its record's)."""
        return self.record.question

    def settings(self, data: Dataset, *, quick: bool = False) -> dict:
        """The preset's keyword arguments for ``data`` (training sizes resolved, data not added)."""
        preset = self.quick if quick else self.full
        return {
            k: v.resolve(data.train.n) if isinstance(v, TrainingSizes) else v
            for k, v in preset.items()
        }

    def draw(self, result: ExperimentResult):
        """The figure of ``result`` (imports matplotlib through the figure function)."""
        if self.figure is None:
            raise ValueError(f"experiment {self.slug!r} has no figure function")
        make = self.figure
        if isinstance(make, str):
            module, name = make.split(":")
            make = getattr(importlib.import_module(module), name)
        # Runs that diverged leave NaN in the records; they are drawn as gaps.
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            return make(result)


class Registry:
    """Experiments in order of their numbers, looked up by slug, "qN" or number.

    Parameters
    ----------
    experiments : iterable of Experiment
    """

    def __init__(self, experiments: Iterable[Experiment] = ()) -> None:
        self._items: dict[str, Experiment] = {}
        for experiment in experiments:
            self.register(experiment)

    def register(self, experiment: Experiment) -> Experiment:
        """Add ``experiment``; refuses a slug, number or claim number already taken."""
        if not isinstance(experiment, Experiment):
            raise TypeError(
                f"experiment has type {type(experiment).__name__}; expected an Experiment"
            )
        for other in self._items.values():
            if experiment.slug == other.slug or experiment.number == other.number:
                raise ValueError(
                    f"experiment {experiment.slug!r} (question {experiment.number}) clashes "
                    f"with {other.slug!r} (question {other.number}); expected a new slug and number"
                )
            shared = set(experiment.claims) & set(other.claims)
            if shared:
                raise ValueError(
                    f"experiment {experiment.slug!r} decides claims {sorted(shared)} that "
                    f"{other.slug!r} decides; expected one experiment per claim"
                )
        self._items[experiment.slug] = experiment
        self._items = dict(sorted(self._items.items(), key=lambda item: item[1].number))
        return experiment

    def unregister(self, slug: str) -> Experiment:
        """Remove and return the experiment ``slug``."""
        return self._items.pop(self[slug].slug)

    def __iter__(self) -> Iterator[Experiment]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        try:
            self[key]
        except (KeyError, TypeError):
            return False
        return True

    def __getitem__(self, key: str | int) -> Experiment:
        """The experiment of a slug ("q3_equilibrium"), a short name ("q3") or a number (3)."""
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            raise TypeError(f"key has type {type(key).__name__}; expected a slug or a number")
        for experiment in self._items.values():
            if key in (experiment.slug, experiment.number, f"q{experiment.number}"):
                return experiment
        raise KeyError(f"no experiment {key!r}; expected one of {self.names()}")

    @property
    def slugs(self) -> tuple[str, ...]:
        """The slugs, in order."""
        return tuple(self._items)

    def names(self) -> str:
        """The short names "q1, q2, …" for messages and help texts."""
        return ", ".join(f"q{e.number}" for e in self)

    def select(self, only: Iterable[str | int] | str | None = None) -> list[Experiment]:
        """The experiments named in ``only`` (short names, slugs or numbers), in order.

        ``only`` may be a comma-separated string ("q3,q5"); None selects all.
        """
        if only is None:
            return list(self)
        if isinstance(only, str):
            only = [part.strip() for part in only.split(",") if part.strip()]
        keys = list(only)
        if not keys:
            raise ValueError(f"only={only!r} names no experiment; expected some of {self.names()}")
        chosen = set()
        for key in keys:
            if key not in self:
                raise ValueError(
                    f"only names {key!r}, which is not an experiment; expected some of "
                    f"{self.names()}"
                )
            chosen.add(self[key].slug)
        return [e for e in self if e.slug in chosen]

    def statements(self, experiments: Iterable[Experiment] | None = None) -> dict[int, str]:
        """Every claim of ``experiments`` (all by default) by number."""
        out = {}
        for experiment in self if experiments is None else experiments:
            out.update(experiment.claims)
        return dict(sorted(out.items()))

    def question_of(self, claim: int) -> int:
        """The number of the experiment that decides ``claim`` (0 if none does)."""
        claim = check_int("claim", claim, minimum=1)
        return next((e.number for e in self if claim in e.claims), 0)


def _layer_inputs(data: Dataset, kwargs: dict) -> dict:
    """Q5's λ sweep runs on the digits; the reader's 784-input run on MNIST (given or bundled)."""
    if data.n_inputs == 784:
        return {"mnist": data, **kwargs, "datasets": [load_digits()]}
    return {**kwargs, "datasets": [data]}


def _equilibrium_inputs(data: Dataset, kwargs: dict) -> dict:
    """Q3 runs its widths on real MNIST too (full preset), unless the report already runs on
    MNIST."""
    if data.n_inputs == 784:
        kwargs = {**kwargs, "mnist": None}
    return {**kwargs, "data": data}


def _optimizer_inputs(data: Dataset, kwargs: dict) -> dict:
    """Q7's AdamW transfer scan runs on real MNIST: the report's own data when that is MNIST."""
    if data.n_inputs == 784:
        kwargs = {**kwargs, "transfer_data": data}
    return {**kwargs, "data": data}


def _convention_inputs(data: Dataset, kwargs: dict) -> dict:
    """Q6 scans λ across n on real MNIST (bundled), or on the report's data when it is MNIST."""
    if data.n_inputs == 784:
        kwargs = {**kwargs, "transfer_data": None}
    return {**kwargs, "data": data}


def _statements(*numbers: int) -> dict[int, str]:
    return {k: _claims.STATEMENTS[k] for k in numbers}


_PLOTS = "decaylab.plots."

#: The questions of the design notes, in order.
EXPERIMENTS = Registry(
    [
        Experiment(
            "q1_dominance",
            DominanceResult,
            early_decay_dominance,
            _statements(1, 2),
            quick={"lmbdas": (0.1, 5.0), "epochs": 5, "first_epochs": 3, "seeds": 1},
            figure=_PLOTS + "q1_dominance:figure_dominance",
            page="q1-early-decay.md",
        ),
        Experiment(
            "q2_factor",
            FactorResult,
            per_epoch_factor,
            _statements(3, 4),
            quick={"seeds": 1},
            figure=_PLOTS + "q2_factor:figure_factor",
            page="q2-epoch-factor.md",
        ),
        Experiment(
            "q3_equilibrium",
            EquilibriumResult,
            equilibrium_size,
            _statements(5, 6, 7),
            quick={
                "widths": (16, 50, 200),
                "seeds": 2,
                "lmbdas": (5.0, 20.0),
                "ns": TrainingSizes((0.5, 1.0)),
                "batch_sizes": (10, 50),
                "max_relaxations": 40.0,
            },
            full={"ns": TrainingSizes(), "mnist": "bundled"},
            figure=_PLOTS + "q3_equilibrium:figure_equilibrium",
            page="q3-tail-off.md",
            inputs=_equilibrium_inputs,
        ),
        Experiment(
            "q4_initialisation",
            InitialisationResult,
            initialisation_comparison,
            _statements(8),
            quick={"epochs": 15, "seeds": 2},
            figure=_PLOTS + "q4_initialisation:figure_initialisation",
            page="q4-initialisation.md",
        ),
        Experiment(
            "q5_layers",
            LayerResult,
            layer_movement,
            _statements(9, 10),
            quick={"lmbdas": (0.5, 5.0), "epochs": 15, "seeds": 2, "mnist_n": 1000},
            figure=_PLOTS + "q5_layers:figure_layers",
            page="q5-layers.md",
            inputs=_layer_inputs,
        ),
        Experiment(
            "q6_conventions",
            ConventionResult,
            convention_transfer,
            _statements(11, 12),
            quick={
                "widths": (16, 45, 128),
                "sum_lmbdas": tuple(2.0**k for k in range(-4, 4, 2)),
                "mean_lmbdas": tuple(2.0**k for k in range(6, 16, 2)),
                "ns": (250, 500, 1000),
                "transfer_lmbdas": tuple(10.0 ** (k / 2) for k in range(-3, 2)),
                "transfer_epochs": 20,
                "seeds": 2,
            },
            full={"transfer_seeds": 2},
            figure=_PLOTS + "q6_conventions:figure_conventions",
            page="q6-conventions.md",
            inputs=_convention_inputs,
        ),
        Experiment(
            "q7_optimizers",
            OptimizerResult,
            optimizer_comparison,
            dict(Q7_STATEMENTS),
            quick={
                "hidden": 10,
                "seeds": 1,
                "max_relaxations": 30.0,
                "average_epochs": 2,
                "ns": (250, 1000),
                "transfer_epochs": 8,
            },
            figure=_PLOTS + "q7_optimizers:figure_optimizers",
            page="q7-optimizers.md",
            inputs=_optimizer_inputs,
        ),
    ]
)
