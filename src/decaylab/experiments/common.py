"""What every experiment shares: the result record, the training runs, uncertainties.

An experiment builds a list of :class:`RunSpec` (one training run each), runs
them with :func:`run_many` (serially, or through an executor), reduces the
histories to numbers with their standard errors (:class:`Estimate`), and
returns a subclass of :class:`ExperimentResult` whose ``verdict`` is computed
from those numbers by a function with explicit thresholds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import warnings
from collections.abc import Iterable, Sequence
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
    "run_group",
    "run_many",
    "run_one",
    "single_threaded_blas",
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
    stationarity : bool
        Measure the stationarity identity on the final network (see
        :func:`decaylab.equilibrium.stationarity`); its ``total_ratio`` goes
        into ``RunOutcome.measurements["stationarity_ratio"]``.
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
    stationarity: bool = False

    def describe(self) -> str:
        """A one-line description, used when a run diverges."""
        n = "" if self.n_train is None else f", n={self.n_train}"
        return (
            f"sizes={list(self.sizes)}, init={self.init}, eta={self.eta:g}, "
            f"lmbda={self.lmbda:g} ({self.decay}), batch_size={self.batch_size}{n}, "
            f"seed={self.seed}"
        )

    def _group_key(self) -> tuple:
        # Runs that differ only in eta, lmbda and decay share their initial network
        # and batch order, so they can be trained together as one ensemble.
        return (
            self.sizes,
            self.init,
            self.seed,
            self.epochs,
            self.batch_size,
            self.n_train,
            self.evaluate,
            self.training_metrics,
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
    measurements : dict of str to float
        Numbers measured on the final network (e.g. "stationarity_ratio").
    """

    spec: RunSpec
    history: History
    diverged: bool
    message: str | None
    measurements: dict = field(default_factory=dict)


def _monitor(name: str):
    # Imported here: the dynamics monitors are only needed by the runs that ask for them.
    if name == "decomposition":
        from decaylab.decomposition import DecompositionMonitor

        return DecompositionMonitor()
    if name == "rotation":
        from decaylab.rotation import RotationMonitor

        return RotationMonitor()
    raise ValueError(f"monitor {name!r} is not recognised; expected 'decomposition' or 'rotation'")


def single_threaded_blas():
    """A context in which BLAS uses one thread (when threadpoolctl is installed).

    The matrix products of a mini-batch step are small: splitting them over
    threads costs more than it saves, and many times more when other
    processes share the cores. Without threadpoolctl this does nothing.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent generators for the initial weights and the batch order of one seed."""
    net_stream, order_stream = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(net_stream), np.random.default_rng(order_stream)


def _measure(spec: RunSpec, net: Network, data: Dataset) -> dict:
    out = {}
    if spec.stationarity and spec.lmbda > 0:
        from decaylab.equilibrium import stationarity

        result = stationarity(
            net, subset(data.train, spec.n_train), spec.lmbda, decay=spec.decay, eta=spec.eta
        )
        out["stationarity_ratio"] = float(result.total_ratio)
    return out


def run_one(spec: RunSpec, data: Dataset) -> RunOutcome:
    """Train one network as ``spec`` says, on ``data.train``, evaluating on ``data.validation``.

    A run that diverges is returned with ``diverged=True`` and the history of
    its finite epochs, never as NaN values.
    """
    net_rng, order_rng = _streams(spec.seed)
    net = Network(spec.sizes, init=spec.init, seed=net_rng)
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
            seed=order_rng,
            training_metrics=spec.training_metrics,
            monitors=[_monitor(name) for name in spec.monitors],
            progress=False,
        )
    except TrainingDiverged as exc:
        return RunOutcome(spec, exc.history, True, str(exc))
    return RunOutcome(spec, history, False, None, _measure(spec, net, data))


def run_group(specs: Sequence[RunSpec], data: Dataset) -> list[RunOutcome]:
    """Train runs that differ only in η, λ and decay convention together, as one ensemble.

    Every member starts from the same network and sees the same batches as
    :func:`run_one` would give it, so the outcomes are those of separate runs
    (up to the order of floating-point sums); see
    :func:`decaylab.ensemble.train_ensemble`.
    """
    from decaylab.ensemble import train_ensemble

    first = specs[0]
    net_rng, order_rng = _streams(first.seed)
    template = Network(first.sizes, init=first.init, seed=net_rng)
    nets = [template.copy() for _ in specs]
    with warnings.catch_warnings():
        # A diverged member is reported through its outcome, not as a warning.
        warnings.simplefilter("ignore", RuntimeWarning)
        histories = train_ensemble(
            nets,
            subset(data.train, first.n_train),
            epochs=first.epochs,
            batch_size=first.batch_size,
            eta=[s.eta for s in specs],
            lmbda=[s.lmbda for s in specs],
            decay=[s.decay for s in specs],
            evaluation=data.validation if first.evaluate else None,
            seed=order_rng,
            training_metrics=first.training_metrics,
            progress=False,
        )
    outcomes = []
    for spec, net, history in zip(specs, nets, histories):
        if history.n_epochs < spec.epochs:
            message = (
                f"training diverged in epoch {history.n_epochs + 1} ({spec.describe()}); "
                f"epochs 0-{history.n_epochs} are kept"
            )
            outcomes.append(RunOutcome(spec, history, True, message))
        else:
            outcomes.append(RunOutcome(spec, history, False, None, _measure(spec, net, data)))
    return outcomes


def _groups(specs: Sequence[RunSpec]) -> list[list[int]]:
    """Indices of ``specs`` grouped for ensemble training (monitored runs stay alone)."""
    groups: dict[tuple, list[int]] = {}
    alone = []
    for i, spec in enumerate(specs):
        if spec.monitors:
            alone.append([i])
        else:
            groups.setdefault(spec._group_key(), []).append(i)
    return alone + list(groups.values())


def run_many(
    specs: Sequence[RunSpec],
    data: Dataset,
    *,
    executor=None,
    progress: bool = False,
    desc: str = "runs",
) -> list[RunOutcome]:
    """Run every spec, in this process or through a ``concurrent.futures`` executor.

    In this process, runs that differ only in η, λ and convention are trained
    together (:func:`run_group`), which is several times faster for λ scans.
    With an executor, every run is one call of :func:`decaylab.sweep.sweep`.
    Either way BLAS is held to one thread while training
    (:func:`single_threaded_blas`).

    Parameters
    ----------
    specs : sequence of RunSpec
    data : Dataset
    executor : concurrent.futures.Executor, optional
        E.g. ``ProcessPoolExecutor(2)``; it is not shut down.
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
        If a run failed with an error other than divergence (a bug or bad
        settings, not a result); the message names the run and the error.
    """
    specs = list(specs)
    if executor is not None:
        return _run_with_executor(specs, data, executor, progress=progress)
    outcomes: list[RunOutcome | None] = [None] * len(specs)
    bar = tqdm(
        total=len(specs), desc=desc, unit="run", disable=not progress, leave=False, file=sys.stderr
    )
    with single_threaded_blas():
        for group in _groups(specs):
            members = [specs[i] for i in group]
            if len(members) > 1:
                results = run_group(members, data)
            else:
                results = [run_one(members[0], data)]
            for i, outcome in zip(group, results):
                outcomes[i] = outcome
            bar.update(len(group))
    bar.close()
    return outcomes


def sweep_run(spec: RunSpec, data: Dataset) -> dict:
    """One run as :func:`decaylab.sweep.sweep` wants it: a History and scalars."""
    with single_threaded_blas():
        outcome = run_one(spec, data)
    return {
        "history": outcome.history,
        "diverged": outcome.diverged,
        "message": outcome.message,
        **outcome.measurements,
    }


def _run_with_executor(specs, data, executor, *, progress) -> list[RunOutcome]:
    from decaylab.sweep import sweep

    result = sweep(
        [{"spec": spec} for spec in specs],
        partial(sweep_run, data=data),
        executor=executor,
        progress=progress,
    )
    errors = result.errors
    if errors:
        first = errors[0]
        raise RuntimeError(
            f"{len(errors)} of {len(specs)} runs failed; the first, "
            f"{first['config']['spec'].describe()}, with {first['error']}"
        )
    outcomes = []
    for spec, row, history in zip(specs, result.rows, result.histories):
        measurements = {
            k: v for k, v in row.items() if k not in ("spec", "error", "diverged", "message")
        }
        outcomes.append(RunOutcome(spec, history, row["diverged"], row["message"], measurements))
    return outcomes
