"""What every experiment shares: the result record, the training runs, uncertainties.

An experiment builds a list of :class:`RunSpec` (one training run each), runs
them with :func:`run_many` (serially, or through an executor), reduces the
histories to numbers with their standard errors (:class:`Estimate`), and
returns a subclass of :class:`ExperimentResult` whose ``verdict`` is computed
from those numbers by a function with explicit thresholds.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar

import numpy as np
from tqdm.auto import tqdm

from decaylab._validation import check_int, check_real
from decaylab.data import Dataset, Split, load_digits
from decaylab.errors import TrainingDiverged
from decaylab.history import History
from decaylab.network import Network
from decaylab.training import train

__all__ = [
    "Estimate",
    "ExperimentResult",
    "RunOutcome",
    "RunSpec",
    "as_seeds",
    "estimate",
    "resolve_data",
    "run_many",
    "run_one",
    "subset",
]


# ----------------------------------------------------------------------------- numbers


@dataclass(frozen=True)
class Estimate:
    """A measured number: the mean over independent runs and its standard error.

    Attributes
    ----------
    mean : float
        Mean of the samples (NaN when there are none).
    stderr : float
        Standard error of the mean, s/√k with s the sample standard deviation
        (ddof = 1); NaN with fewer than two samples.
    n : int
        Number of samples k.
    """

    mean: float
    stderr: float
    n: int

    def __format__(self, spec: str) -> str:
        """``mean ± stderr``, the stderr rounded to one or two significant digits.

        With an empty ``spec`` the mean is rounded to the stderr's last digit;
        otherwise ``spec`` formats the mean.
        """
        if math.isnan(self.mean):
            return "n/a"
        has_error = self.n > 1 and math.isfinite(self.stderr)
        if not spec and has_error and self.stderr > 0:
            # Two significant digits of the stderr when they start with 1 or 2, else one.
            exponent = math.floor(math.log10(self.stderr))
            leading = self.stderr / 10.0**exponent
            decimals = (1 if leading < 2.95 else 0) - exponent
            if 0 <= decimals <= 6 and 1e-3 <= abs(self.mean) < 1e6:
                return f"{self.mean:.{decimals}f} ± {self.stderr:.{decimals}f}"
        spec = spec or ".3g"
        if not has_error:
            return f"{self.mean:{spec}}"
        return f"{self.mean:{spec}} ± {self.stderr:.2g}"

    def __str__(self) -> str:
        return format(self)

    def upper(self, k: float = 1.0) -> float:
        """mean + k·stderr (the mean itself when the stderr is undefined)."""
        return self.mean + (k * self.stderr if self.n > 1 else 0.0)

    def lower(self, k: float = 1.0) -> float:
        """mean − k·stderr (the mean itself when the stderr is undefined)."""
        return self.mean - (k * self.stderr if self.n > 1 else 0.0)


def estimate(samples: Iterable[float]) -> Estimate:
    """Mean and standard error of the finite values in ``samples``.

    Parameters
    ----------
    samples : iterable of float
        One value per independent run (e.g. per seed). NaN values (runs that
        did not produce the number, such as diverged ones) are left out.

    Returns
    -------
    Estimate
    """
    values = np.asarray(list(samples), dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    k = int(values.size)
    if k == 0:
        return Estimate(math.nan, math.nan, 0)
    stderr = float(values.std(ddof=1) / math.sqrt(k)) if k > 1 else math.nan
    return Estimate(float(values.mean()), stderr, k)


def estimates_along(samples: np.ndarray, axis: int = 0) -> list[Estimate]:
    """One :func:`estimate` per position of ``samples`` with ``axis`` as the run axis."""
    moved = np.moveaxis(np.asarray(samples, dtype=np.float64), axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    return [estimate(row) for row in flat]


# ----------------------------------------------------------------------------- records


def to_plain(value: Any) -> Any:
    """Convert a result (dataclasses, arrays, numpy scalars) into JSON-ready Python values."""
    if isinstance(value, Estimate):
        return {"mean": _finite(value.mean), "stderr": _finite(value.stderr), "n": value.n}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, History):
        return {k: to_plain(v) for k, v in value.to_arrays().items() if k != "settings_json"}
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return [to_plain(v) for v in value.tolist()] if value.ndim else _finite(float(value))
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _finite(float(value))
    return value


def _finite(x: Any) -> Any:
    # JSON has no NaN; None says "not measured".
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return None if isinstance(x, float) and not math.isfinite(x) else x


@dataclass
class ExperimentResult:
    """Base of every experiment's result record.

    Subclasses add the data behind the answer (plain arrays indexed by run,
    epoch and layer) and the measured numbers, and implement :meth:`table`.

    Attributes
    ----------
    settings : dict
        Every argument the experiment ran with (data set name, sizes, η, λ, m,
        epochs, seeds, ...).
    prediction : str
        What the theory or the claim under test predicts, stated before
        looking at the measurement (it contains no measured number).
    verdict : str
        The answer, computed from the measured numbers by the module's
        ``verdict`` function with the thresholds recorded in ``settings``.
    diverged : list of str
        A description of every training run that diverged (non-finite
        weights or cost); their numbers are left out of the estimates.
    """

    number: ClassVar[int] = 0
    title: ClassVar[str] = ""
    question: ClassVar[str] = ""

    settings: dict
    prediction: str
    verdict: str
    diverged: list[str]

    def table(self) -> tuple[list[str], list[list[str]]]:
        """The measured numbers as (header, rows) of strings, for reports."""
        raise NotImplementedError

    def to_dict(self) -> dict:
        """All fields as plain Python values (lists, floats, str; NaN as None), JSON-ready."""
        out = {"number": self.number, "title": self.title, "question": self.question}
        out.update(to_plain(self))
        return out

    def summary(self) -> str:
        """A plain-text account: the question, the table, the prediction and the verdict."""
        header, rows = self.table()
        widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
        lines = [f"Q{self.number}. {self.title}", self.question, ""]
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
        lines += ["", f"Prediction: {self.prediction}", f"Verdict: {self.verdict}"]
        if self.diverged:
            lines.append(f"Diverged runs ({len(self.diverged)}): " + "; ".join(self.diverged))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


# ----------------------------------------------------------------------------- data


def resolve_data(data: Dataset | None) -> Dataset:
    """The data set to use: ``data`` itself, or the bundled digits when None."""
    if data is None:
        return load_digits()
    if not isinstance(data, Dataset):
        raise TypeError(
            f"data has type {type(data).__name__}; expected a decaylab.Dataset "
            "(dl.load_digits(), dl.load_mnist(path), dl.make_teacher_student(...)) or None"
        )
    return data


def subset(split: Split, n: int | None) -> Split:
    """The first ``n`` examples of ``split`` (all of it when n is None or >= its size)."""
    if n is None or n >= split.n:
        return split
    return Split(split.X[:n], split.y[:n])


def as_seeds(seeds: int | Sequence[int], name: str = "seeds") -> tuple[int, ...]:
    """Seeds from a count (``k`` → 0..k−1) or an explicit sequence of ints."""
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        return tuple(range(check_int(name, seeds, minimum=1)))
    try:
        values = tuple(check_int(f"{name}[{i}]", s, minimum=0) for i, s in enumerate(seeds))
    except TypeError:
        raise TypeError(
            f"{name}={seeds!r} has type {type(seeds).__name__}; expected a number of seeds "
            "or a sequence of non-negative ints"
        ) from None
    if not values:
        raise ValueError(f"{name}={seeds!r} is empty; expected at least one seed")
    return values


def check_positive_list(name: str, values: Sequence[float]) -> tuple[float, ...]:
    """A non-empty tuple of positive reals."""
    if isinstance(values, (int, float, str)) or not isinstance(values, Iterable):
        raise TypeError(
            f"{name}={values!r} has type {type(values).__name__}; "
            "expected a sequence of positive numbers"
        )
    out = tuple(check_real(f"{name}[{i}]", v, positive=True) for i, v in enumerate(values))
    if not out:
        raise ValueError(f"{name}={values!r} is empty; expected at least one value")
    return out


def check_int_list(name: str, values: Sequence[int], minimum: int = 1) -> tuple[int, ...]:
    """A non-empty tuple of ints >= ``minimum``."""
    if isinstance(values, (int, float, str)) or not isinstance(values, Iterable):
        raise TypeError(
            f"{name}={values!r} has type {type(values).__name__}; expected a sequence of integers"
        )
    out = tuple(check_int(f"{name}[{i}]", v, minimum=minimum) for i, v in enumerate(values))
    if not out:
        raise ValueError(f"{name}={values!r} is empty; expected at least one value")
    return out


# ----------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class RunSpec:
    """One training run of an experiment: a network, its hyper-parameters and its seed.

    Attributes
    ----------
    sizes : tuple of int
        Layer sizes, input first.
    init : {"large", "scaled"}
        Initialisation (N(0, 1) or N(0, 1/n_in) weights).
    seed : int
        Seeds both the initial weights and the shuffling (through two
        independent streams spawned from it).
    epochs, batch_size : int
        Number of epochs and mini-batch size m.
    eta, lmbda : float
        Learning rate η and regularisation strength λ.
    decay : str
        Decay convention ("sum" = Nielsen's eq. 93).
    n_train : int or None
        Train on the first ``n_train`` training examples only (all when None).
    monitors : tuple of str
        Step monitors to attach: "decomposition", "rotation".
    evaluate : bool
        Record validation cost and accuracy every epoch.
    training_metrics : bool
        Record training cost and accuracy every epoch.
    tag : tuple
        The experiment's own key for this run (e.g. ("width", 128)).
    """

    sizes: tuple[int, ...]
    init: str
    seed: int
    epochs: int
    batch_size: int
    eta: float
    lmbda: float
    decay: str = "sum"
    n_train: int | None = None
    monitors: tuple[str, ...] = ()
    evaluate: bool = True
    training_metrics: bool = False
    tag: tuple = ()

    def describe(self) -> str:
        """A one-line description, used when a run diverges."""
        n = "" if self.n_train is None else f", n={self.n_train}"
        return (
            f"sizes={list(self.sizes)}, init={self.init}, eta={self.eta:g}, "
            f"lmbda={self.lmbda:g} ({self.decay}), batch_size={self.batch_size}{n}, "
            f"seed={self.seed}"
        )


@dataclass
class RunOutcome:
    """What one run produced.

    Attributes
    ----------
    spec : RunSpec
    history : History
        All finite epochs (up to the last finite one when the run diverged).
    diverged : bool
        True when training produced a non-finite weight or cost.
    message : str or None
        The divergence message.
    final_params : ndarray, shape (n_weights + n_biases,)
        The network's parameters at the end (at the last finite epoch).
    """

    spec: RunSpec
    history: History
    diverged: bool
    message: str | None
    final_params: np.ndarray = field(repr=False)

    def network(self) -> Network:
        """Rebuild the final network of the run (in this process)."""
        net = Network(self.spec.sizes, init=self.spec.init, seed=0)
        net.params[...] = self.final_params
        return net


def _monitor(name: str):
    # Imported here: the dynamics monitors are only needed by the runs that ask for them.
    if name == "decomposition":
        from decaylab.decomposition import DecompositionMonitor

        return DecompositionMonitor()
    if name == "rotation":
        from decaylab.rotation import RotationMonitor

        return RotationMonitor()
    raise ValueError(f"monitor {name!r} is not recognised; expected 'decomposition' or 'rotation'")


def run_one(spec: RunSpec, data: Dataset) -> RunOutcome:
    """Train one network as ``spec`` says, on ``data.train``, evaluating on ``data.validation``.

    A run that diverges is returned with ``diverged=True`` and the history of
    its finite epochs, never as NaN values.
    """
    net_stream, order_stream = np.random.SeedSequence(spec.seed).spawn(2)
    net = Network(spec.sizes, init=spec.init, seed=np.random.default_rng(net_stream))
    try:
        history = train(
            net,
            subset(data.train, spec.n_train),
            epochs=spec.epochs,
            batch_size=spec.batch_size,
            eta=spec.eta,
            lmbda=spec.lmbda,
            decay=spec.decay,
            evaluation=data.validation if spec.evaluate else None,
            seed=np.random.default_rng(order_stream),
            training_metrics=spec.training_metrics,
            monitors=[_monitor(name) for name in spec.monitors],
            progress=False,
        )
    except TrainingDiverged as exc:
        return RunOutcome(spec, exc.history, True, str(exc), net.params.copy())
    return RunOutcome(spec, history, False, None, net.params.copy())


def run_many(
    specs: Sequence[RunSpec],
    data: Dataset,
    *,
    executor=None,
    progress: bool = False,
    desc: str = "runs",
) -> list[RunOutcome]:
    """Run every spec, in order, serially or through a ``concurrent.futures`` executor.

    Parameters
    ----------
    specs : sequence of RunSpec
    data : Dataset
    executor : concurrent.futures.Executor, optional
        Runs go through :func:`decaylab.sweep.sweep` with it when given.
    progress : bool
        Show a progress bar over the runs on standard error.
    desc : str
        Label of the progress bar.

    Returns
    -------
    list of RunOutcome
        In the order of ``specs``.

    Raises
    ------
    RuntimeError
        If a run failed with an error other than divergence (a bug, not a
        result); the message names the run.
    """
    specs = list(specs)
    fn: Callable[[RunSpec], RunOutcome] = partial(run_one, data=data)
    if executor is None:
        bar = tqdm(specs, desc=desc, unit="run", disable=not progress, leave=False, file=sys.stderr)
        return [fn(spec) for spec in bar]
    return _run_with_executor(specs, fn, executor, progress=progress, desc=desc)


def _run_with_executor(specs, fn, executor, *, progress, desc):
    try:
        from decaylab.sweep import sweep
    except ImportError:  # the sweep module is optional; plain map keeps the order
        return list(executor.map(fn, specs))
    outcome = sweep(specs, fn, executor=executor, progress=progress, desc=desc)
    return _sweep_values(outcome, specs)


def _sweep_values(outcome, specs) -> list[RunOutcome]:
    """The run outcomes, in order, from whatever :func:`decaylab.sweep.sweep` returned."""
    failures = getattr(outcome, "failures", None) or getattr(outcome, "failed", None)
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(specs)} runs failed: {failures}")
    results = getattr(outcome, "results", outcome)
    values = [getattr(r, "value", getattr(r, "result", r)) for r in results]
    return values
