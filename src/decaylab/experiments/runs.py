"""The training runs of an experiment: one :class:`RunSpec` each, run serially or many at once.

An experiment builds a list of :class:`RunSpec`, runs them with
:func:`run_many` (runs of one network shape, rule and stopping rule are
trained together as one ensemble, whatever their seeds, η, λ and
conventions; an executor spreads the ensembles over processes) and
reduces the :class:`RunOutcome` histories to numbers. :func:`run_table`
does the whole pipeline for conditions × seeds: it names each run by its
condition and seed and returns a tidy :class:`RunTable` of what each
measurement function took from it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from decaylab._progress import progress_bar
from decaylab.data import Dataset
from decaylab.errors import TrainingDiverged
from decaylab.experiments._run_parts import (
    cap_of,
    final_measurements,
    fresh_state,
    make_monitor,
    run_evaluation,
    seed_streams,
)
from decaylab.experiments.adaptive import train_until_equilibrium
from decaylab.experiments.inputs import subset
from decaylab.experiments.run_spec import RunOutcome, RunSpec
from decaylab.network import Network
from decaylab.training import train

__all__ = [
    "RunOutcome",
    "RunSpec",
    "RunTable",
    "run_group",
    "run_many",
    "run_one",
    "run_table",
    "single_threaded_blas",
]


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


def run_one(spec: RunSpec, data: Dataset) -> RunOutcome:
    """Train one network as ``spec`` says, on ``data.train``, evaluating on ``data.validation``.

    A run that diverges is returned with ``diverged=True`` and the history of
    its finite epochs, never as NaN values.
    """
    outcome = _train_one(spec, data)
    if spec.monitor_from > 1 and "decomposition" in outcome.history.monitors:
        # As a stacked run records it: NaN for the epochs its analysis does not read.
        first = outcome.history.epoch[0] + 1  # the epoch of the record's row 0
        for values in outcome.history.monitors["decomposition"].values():
            epochs = first + np.arange(len(values))
            values[(epochs >= 2) & (epochs <= spec.monitor_from)] = np.nan
    return outcome


def _train_one(spec: RunSpec, data: Dataset) -> RunOutcome:
    net_rng, order_rng = seed_streams(spec.seed)
    net = Network(spec.sizes, init=spec.init, seed=net_rng)
    state = fresh_state(spec, net)
    evaluation, at_epochs = run_evaluation(spec, data, [net])
    monitors = [make_monitor(name) for name in spec.monitors]
    settings = dict(
        batch_size=spec.batch_size,
        eta=spec.eta,
        lmbda=spec.lmbda,
        decay=spec.decay,
        evaluation=evaluation,
        seed=order_rng,
        training_metrics=spec.training_metrics,
        monitors=monitors if at_epochs is None else [*monitors, at_epochs],
        optimizer=spec.rule,
        optimizer_state=state,
    )
    try:
        if spec.until_equilibrium:
            run = train_until_equilibrium(
                net,
                subset(data.train, spec.n_train),
                detection=dict(spec.detection),
                **cap_of(spec),
                **settings,
            )
            measurements = {"reached": run.reached, **final_measurements(spec, net, data, state)}
            return RunOutcome(spec, run.history, False, None, measurements)
        history = train(
            net, subset(data.train, spec.n_train), epochs=spec.epochs, progress=False, **settings
        )
    except TrainingDiverged as exc:
        return RunOutcome(spec, exc.history, True, str(exc))
    return RunOutcome(spec, history, False, None, final_measurements(spec, net, data, state))


def _group_nets(specs: Sequence[RunSpec]) -> tuple[list[Network], object]:
    """Each spec's initial network, and the batch order: one Generator shared by members
    of one seed (the same batches, as their separate runs see), else one per member."""
    streams = [seed_streams(spec.seed) for spec in specs]
    nets = [Network(s.sizes, init=s.init, seed=net_rng) for s, (net_rng, _) in zip(specs, streams)]
    if len({spec.seed for spec in specs}) == 1:
        return nets, streams[0][1]
    return nets, [order_rng for _, order_rng in streams]


def _train_group(specs: Sequence[RunSpec], data: Dataset, nets, seed, states) -> list:
    """Each member's History, or its AdaptiveRun for runs until equilibrium."""
    from decaylab.ensemble import train_ensemble
    from decaylab.experiments._epoch_evaluation import Observers
    from decaylab.experiments._stacked_decomposition import StackedDecomposition
    from decaylab.experiments.adaptive import train_ensemble_until_equilibrium

    first = specs[0]
    evaluation, at_epochs = run_evaluation(first, data, nets)
    watched_from = [s.monitor_from for s in specs]
    observers = [StackedDecomposition(len(specs), watched_from)] if first.monitors else []
    observers += [at_epochs] if at_epochs is not None else []
    observer = observers[0] if len(observers) == 1 else Observers(observers) if observers else None
    settings = dict(
        batch_size=first.batch_size,
        eta=[s.eta for s in specs],
        lmbda=[s.lmbda for s in specs],
        decay=[s.decay for s in specs],
        evaluation=evaluation,
        seed=seed,
        training_metrics=first.training_metrics,
        optimizer=first.rule,
        optimizer_state=None if first.rule is None else states,
        step_observer=observer,
    )
    train_set = subset(data.train, first.n_train)
    with warnings.catch_warnings():
        # A diverged member is reported through its outcome, not as a warning.
        warnings.simplefilter("ignore", RuntimeWarning)
        if first.until_equilibrium:
            return train_ensemble_until_equilibrium(
                nets, train_set, max_epochs=[cap_of(s)["max_epochs"] for s in specs],
                max_relaxations=cap_of(first).get("max_relaxations", 60.0),
                detection=[dict(s.detection) for s in specs], **settings,
            )  # fmt: skip
        return train_ensemble(nets, train_set, epochs=first.epochs, progress=False, **settings)


def run_group(specs: Sequence[RunSpec], data: Dataset) -> list[RunOutcome]:
    """Train runs of one network shape, rule and stopping rule together, as one ensemble.

    The runs may differ in seed, initialisation, η, λ and decay convention
    (and, until equilibrium, in cap and detection). Every member starts from
    the network :func:`run_one` would give it and sees its batches, so the
    outcomes are those of separate runs (up to the order of floating-point
    sums); see :func:`decaylab.ensemble.train_ensemble` and
    :func:`~decaylab.experiments.adaptive.train_ensemble_until_equilibrium`.
    """
    nets, seed = _group_nets(specs)
    states = [fresh_state(spec, net) for spec, net in zip(specs, nets)]
    results = _train_group(specs, data, nets, seed, states)
    outcomes = []
    for spec, net, state, result in zip(specs, nets, states, results):
        adaptive = spec.until_equilibrium
        history = result.history if adaptive else result
        if (result.diverged is not None) if adaptive else history.n_epochs < spec.epochs:
            message = (
                f"training diverged in epoch {history.n_epochs + 1} ({spec.describe()}); "
                f"epochs 0-{history.n_epochs} are kept"
            )
            outcomes.append(RunOutcome(spec, history, True, message))
            continue
        measurements = {"reached": result.reached} if adaptive else {}
        measurements.update(final_measurements(spec, net, data, state))
        outcomes.append(RunOutcome(spec, history, False, None, measurements))
    return outcomes


def _groups(specs: Sequence[RunSpec]) -> list[list[int]]:
    """Indices of ``specs`` grouped for ensemble training (runs with monitors that have no
    stacked form stay alone)."""
    groups: dict[tuple, list[int]] = {}
    alone = []
    for i, spec in enumerate(specs):
        if not _stacked_monitors(spec):
            alone.append([i])
        else:
            groups.setdefault(spec._group_key(), []).append(i)
    return alone + [part for group in groups.values() for part in _by_seed(specs, group)]


def _by_seed(specs: Sequence[RunSpec], group: list[int]) -> list[list[int]]:
    """``group`` as one stack, or one per seed when every seed has two runs or more on
    average: members of one seed share their batches and the first layer's wide product,
    which outweighs a larger stack (Q6's 300 runs in 7 stacks: about 11 % less CPU time)."""
    seeds: dict[int, list[int]] = {}
    for i in group:
        seeds.setdefault(specs[i].seed, []).append(i)
    return list(seeds.values()) if len(group) >= 2 * len(seeds) else [group]


def _stacked_monitors(spec: RunSpec) -> bool:
    """Whether the run's monitors (and evaluation at chosen epochs) have a stacked form for
    its rule: none, or the decomposition and the evaluation, under a rule whose decay is the
    multiplication w → d·w, which alone lets an ensemble be observed
    (:class:`~decaylab.experiments._stacked_decomposition.StackedDecomposition`)."""
    from decaylab.rules import get_rule

    sparse = spec.evaluate and spec.evaluate_epochs is not None
    if not (spec.monitors or sparse):
        return True
    return spec.monitors in ((), ("decomposition",)) and get_rule(spec.rule).multiplies_weights


def _run_indices(specs: Sequence[RunSpec], data: Dataset) -> list[RunOutcome]:
    """The outcomes of ``specs``, one group: together, or alone for a single run."""
    with single_threaded_blas():
        return run_group(specs, data) if len(specs) > 1 else [run_one(specs[0], data)]


def run_many(
    specs: Sequence[RunSpec],
    data: Dataset,
    *,
    executor=None,
    progress: bool = False,
    desc: str = "runs",
) -> list[RunOutcome]:
    """Run every spec, in this process or through a ``concurrent.futures`` executor.

    Runs of one network shape, update rule and stopping rule (a number of
    epochs, or until equilibrium) are trained together as one ensemble
    (:func:`run_group`), whatever their seeds, η, λ and conventions; runs
    with step monitors train alone, except the decomposition under eq. 93 or
    a decoupled rule, which is recorded for a stack at once. An executor gets whole groups, so the
    outcomes are the same whatever runs them. Either way BLAS is held to one
    thread while training (:func:`single_threaded_blas`).

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
    outcomes: list[RunOutcome | None] = [None] * len(specs)
    groups = _groups(specs)
    bar = progress_bar(
        total=len(specs), desc=desc, unit="run", disable=not progress, leave=False, file=sys.stderr
    )
    try:
        if executor is None:
            done = ((g, _run_indices([specs[i] for i in g], data)) for g in groups)
        else:
            done = _through(executor, specs, groups, data)
        for group, results in done:
            for i, outcome in zip(group, results):
                outcomes[i] = outcome
            bar.update(len(group))
    finally:
        bar.close()
    return outcomes


def _through(executor, specs, groups, data):
    """(group, outcomes) of every group, each trained by one call in ``executor``."""
    futures = {executor.submit(_run_indices, [specs[i] for i in g], data): g for g in groups}
    failed = []
    try:
        for future in concurrent.futures.as_completed(futures):
            group = futures[future]
            error = future.exception()
            if error is not None:
                failed.append((group, error))
                continue
            yield group, future.result()
    finally:
        for future in futures:
            future.cancel()
    if failed:
        group, error = min(failed, key=lambda item: item[0][0])
        raise RuntimeError(
            f"{sum(len(g) for g, _ in failed)} of {len(specs)} runs failed; the first, "
            f"{specs[group[0]].describe()}, with {type(error).__name__}: {error}"
        )


@dataclass
class RunTable:
    """A tidy table of runs: one row per (condition, seed), one column per measurement.

    Attributes
    ----------
    conditions : list of str
        The condition labels, in order.
    seeds : list of int
    rows : list of dict
        ``{"condition": label, "seed": seed, "diverged": bool, name: value, ...}``
        in condition-major order; a value is whatever its measurement function
        returned (a float, or an array such as a per-epoch curve).
    diverged : list of str
        The description of every run that diverged.
    """

    conditions: list
    seeds: list
    rows: list
    diverged: list

    def column(self, name: str, shape: tuple | None = None) -> np.ndarray:
        """``name`` of every run as an array of shape (conditions, seeds, *shape).

        Arrays shorter than ``shape`` (runs that diverged early) are padded
        with NaN at the end; ``shape`` is the largest run's by default.
        """
        values = [np.asarray(row[name], dtype=float) for row in self.rows]
        if shape is None:
            shape = tuple(max(v.shape[i] for v in values) for i in range(values[0].ndim))
        out = np.full((len(self.rows), *shape), np.nan)
        for k, v in enumerate(values):
            out[(k, *(slice(0, n) for n in v.shape))] = v
        return out.reshape(len(self.conditions), len(self.seeds), *shape)


def run_table(
    conditions: dict,
    seeds: Sequence[int],
    data: Dataset,
    measure: dict,
    *,
    executor=None,
    progress: bool = False,
    desc: str = "runs",
) -> RunTable:
    """Run every condition at every seed and measure each run: a tidy :class:`RunTable`.

    Parameters
    ----------
    conditions : dict of str to RunSpec
        Each condition's run, by label; its ``seed`` is replaced by each of ``seeds``.
    seeds : sequence of int
    data : Dataset
    measure : dict of str to callable
        ``measure[name](outcome)`` gives the value of column ``name`` for a
        :class:`RunOutcome` (also for a diverged one, whose history holds its
        finite epochs).
    executor, progress, desc
        As in :func:`run_many`, which trains the runs.

    Returns
    -------
    RunTable
    """
    from dataclasses import replace

    labels = list(conditions)
    specs = [replace(conditions[label], seed=seed) for label in labels for seed in seeds]
    outcomes = run_many(specs, data, executor=executor, progress=progress, desc=desc)
    rows = []
    for k, outcome in enumerate(outcomes):
        label, seed = labels[k // len(seeds)], seeds[k % len(seeds)]
        row = {"condition": label, "seed": seed, "diverged": outcome.diverged}
        row.update({name: fn(outcome) for name, fn in measure.items()})
        rows.append(row)
    diverged = [o.spec.describe() for o in outcomes if o.diverged]
    return RunTable(labels, list(seeds), rows, diverged)
