"""Run a grid of configurations through any executor and collect a tidy table.

:func:`sweep` calls ``fn(**config)`` for every configuration of a grid, in this
process or through any :class:`concurrent.futures.Executor`: a
``ProcessPoolExecutor`` on one machine, or Dask distributed when one machine is
not enough::

    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=4, threads_per_worker=1)   # or Client("tcp://host:8786")
    with Client(cluster) as client:
        result = dl.sweep(grid, fn, executor=client.get_executor())

A configuration that raises is reported as a row with its error; the others
are kept. Ctrl-C keeps every configuration completed so far
(:class:`SweepInterrupted`), and ``sweep(grid, fn, resume=exc.result)`` runs
only the rest.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import numbers
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from decaylab.history import History

__all__ = ["SweepInterrupted", "SweepResult", "grid_product", "sweep"]

#: The column of :attr:`SweepResult.rows` that holds a configuration's error.
ERROR = "error"
_NOT_RUN = "not run: the sweep was interrupted first"


def grid_product(**axes: Sequence) -> list[dict]:
    """The Cartesian product of the given axes, as a list of configurations.

    Parameters
    ----------
    **axes : sequence
        One sequence of values per parameter.

    Returns
    -------
    list of dict
        One dict per combination, the last axis varying fastest.

    Examples
    --------
    >>> grid_product(eta=[0.1, 0.5], lmbda=[0.0, 5.0])  # doctest: +NORMALIZE_WHITESPACE
    [{'eta': 0.1, 'lmbda': 0.0}, {'eta': 0.1, 'lmbda': 5.0},
     {'eta': 0.5, 'lmbda': 0.0}, {'eta': 0.5, 'lmbda': 5.0}]
    """
    for name, values in axes.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence | np.ndarray):
            raise TypeError(
                f"{name}={values!r} has type {type(values).__name__}; expected a sequence "
                f"of values, e.g. {name}=[{values!r}]"
            )
        if len(values) == 0:
            raise ValueError(f"{name} is empty; expected at least one value")
    names = list(axes)
    return [dict(zip(names, combination)) for combination in itertools.product(*axes.values())]


@dataclass
class SweepResult:
    """What a sweep measured: one row per configuration, in the order of the grid.

    Attributes
    ----------
    grid : list of dict
        The configurations, as given.
    rows : list of dict
        ``rows[i]`` holds ``grid[i]``'s parameters, the scalars its ``fn``
        returned, and ``"error"``: None, or ``"ExceptionType: message"`` when
        the call raised (or ``"not run: ..."`` when the sweep was interrupted
        before it).
    histories : list of History or None
        The History ``fn`` returned for ``grid[i]``, if any.
    tracebacks : list of str or None
        The formatted traceback of each failed configuration.
    """

    grid: list[dict]
    rows: list[dict]
    histories: list[History | None]
    tracebacks: list[str | None] = field(default_factory=list)

    @property
    def completed(self) -> list[bool]:
        """Whether each configuration ran (successfully or not)."""
        return [row[ERROR] != _NOT_RUN for row in self.rows]

    @property
    def errors(self) -> list[dict]:
        """The configurations that raised: dicts with index, config, error and traceback."""
        return [
            {"index": i, "config": self.grid[i], "error": row[ERROR], "traceback": tb}
            for i, (row, tb) in enumerate(zip(self.rows, self.tracebacks))
            if row[ERROR] is not None and row[ERROR] != _NOT_RUN
        ]

    @property
    def pending(self) -> list[dict]:
        """The configurations not run because the sweep was interrupted."""
        return [config for config, done in zip(self.grid, self.completed) if not done]

    def to_frame(self):
        """The rows as a pandas DataFrame, one row per configuration (requires pandas)."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError("SweepResult.to_frame needs pandas: pip install pandas") from exc
        return pd.DataFrame(self.rows)

    def __repr__(self) -> str:
        failed, pending = len(self.errors), len(self.pending)
        return (
            f"SweepResult({len(self.rows)} configurations, {failed} failed"
            + (f", {pending} not run" if pending else "")
            + ")"
        )


class SweepInterrupted(KeyboardInterrupt):
    """A sweep was interrupted (Ctrl-C); every configuration completed so far is kept.

    Attributes
    ----------
    result : SweepResult
        The completed configurations' rows and Histories; the others have the
        error ``"not run: ..."`` and are listed in ``result.pending``.
        ``sweep(grid, fn, resume=exc.result)`` runs only those.
    """

    def __init__(self, message: str, *, result: SweepResult):
        super().__init__(message)
        self.result = result


def _call(fn: Callable, config: dict) -> tuple[dict, History | None, str | None, str | None]:
    """Run ``fn(**config)`` and split its result into scalars and a History.

    Runs in the worker, so that any exception, including one about what ``fn``
    returned, comes back as data instead of being lost with the worker.
    """
    try:
        scalars, history = _split(fn(**config), config)
    except Exception as exc:
        return {}, None, f"{type(exc).__name__}: {exc}", traceback.format_exc()
    return scalars, history, None, None


def _split(result, config: dict) -> tuple[dict, History | None]:
    if isinstance(result, History):
        return {}, result
    if not isinstance(result, Mapping):
        raise TypeError(
            f"fn returned {type(result).__name__}; expected a dict of scalars (and at most "
            "one History) or a History"
        )
    scalars, history = {}, None
    for key, value in result.items():
        if isinstance(value, History):
            if history is not None:
                raise ValueError(
                    f"fn returned two Histories (the second under {key!r}); expected at most one"
                )
            history = value
        elif key == ERROR or key in config:
            raise ValueError(
                f"fn returned the key {key!r}, which is "
                + ("reserved for errors" if key == ERROR else "a parameter of the configuration")
                + "; expected result names distinct from the parameters and from 'error'"
            )
        elif value is None or isinstance(value, (str, bool, numbers.Number, np.generic)):
            scalars[key] = value.item() if isinstance(value, np.generic) else value
        else:
            raise TypeError(
                f"fn returned {key}={value!r} of type {type(value).__name__}; expected scalars "
                "(numbers, str, bool, None), so that the rows form a table"
            )
    return scalars, history


def _check_grid(grid) -> list[dict]:
    if isinstance(grid, Mapping) or not isinstance(grid, Sequence):
        raise TypeError(
            f"grid has type {type(grid).__name__}; expected a list of dicts "
            "(see grid_product for a Cartesian product)"
        )
    grid = list(grid)
    if not grid:
        raise ValueError("grid is empty; expected at least one configuration")
    for i, config in enumerate(grid):
        if not isinstance(config, Mapping) or not all(isinstance(k, str) for k in config):
            raise TypeError(
                f"grid[{i}]={config!r} is not a dict with str keys; expected the keyword "
                "arguments of one call of fn"
            )
        if ERROR in config:
            raise ValueError(f"grid[{i}] has the key 'error', which is reserved for errors")
    return [dict(config) for config in grid]


def sweep(
    grid: Sequence[Mapping],
    fn: Callable[..., Mapping | History],
    *,
    executor: concurrent.futures.Executor | None = None,
    progress: bool | None = None,
    resume: SweepResult | None = None,
) -> SweepResult:
    """Call ``fn(**config)`` for every configuration of ``grid`` and tabulate the results.

    Parameters
    ----------
    grid : sequence of dict
        The configurations, each the keyword arguments of one call; see
        :func:`grid_product`.
    fn : callable
        ``fn(**config)`` returns a dict of scalars (numbers, str, bool, None)
        holding at most one :class:`~decaylab.History` among its values, or a
        History alone. With a process-based executor, ``fn`` and the
        configurations are pickled: define ``fn`` at module level (Dask's
        cloudpickle also accepts closures and lambdas).
    executor : concurrent.futures.Executor, optional
        Where the calls run: None runs them here, one after the other;
        ``concurrent.futures.ProcessPoolExecutor(n)`` on n local processes;
        ``distributed.Client(...).get_executor()`` on a Dask cluster. The
        executor is not shut down.
    progress : bool or None
        Show a progress bar over configurations; by default only when standard
        error is a terminal.
    resume : SweepResult, optional
        The ``result`` of a :class:`SweepInterrupted` of a sweep over the same
        grid: its completed rows are kept and only its pending configurations
        are run.

    Returns
    -------
    SweepResult
        Rows and Histories in the order of ``grid``, whatever order the calls
        finished in. A configuration whose call raised has its parameters and
        ``error`` set, and the others are unaffected.

    Raises
    ------
    ValueError, TypeError
        For a bad grid, ``fn``, executor or ``resume``; nothing has run then.
    SweepInterrupted
        On Ctrl-C, carrying every configuration completed so far. Calls not
        yet started are cancelled; calls already running in an executor's
        workers are abandoned.

    Examples
    --------
    >>> import decaylab as dl
    >>> data = dl.load_digits()
    >>> def final_accuracy(lmbda):
    ...     net = dl.Network([64, 30, 10], seed=0)
    ...     hist = dl.train(net, data.train, epochs=2, batch_size=10, eta=0.5, lmbda=lmbda,
    ...                     evaluation=data.validation, seed=0)
    ...     return {"accuracy": float(hist.evaluation_accuracy[-1]), "history": hist}
    >>> result = dl.sweep(dl.grid_product(lmbda=[0.0, 5.0]), final_accuracy)
    >>> [sorted(row) for row in result.rows]
    [['accuracy', 'error', 'lmbda'], ['accuracy', 'error', 'lmbda']]
    """
    grid = _check_grid(grid)
    if not callable(fn):
        raise TypeError(f"fn={fn!r} has type {type(fn).__name__}; expected a callable")
    if executor is not None and not isinstance(executor, concurrent.futures.Executor):
        raise TypeError(
            f"executor has type {type(executor).__name__}; expected None or a "
            "concurrent.futures.Executor, e.g. distributed.Client(...).get_executor()"
        )
    if resume is not None:
        if not isinstance(resume, SweepResult):
            raise TypeError(
                f"resume has type {type(resume).__name__}; expected the SweepResult of an "
                "interrupted sweep (exc.result)"
            )
        if resume.grid != grid:
            raise ValueError(
                f"resume holds a sweep over another grid ({len(resume.grid)} configurations, "
                f"first {resume.grid[0]!r}); expected the grid it was interrupted on"
            )
        rows, histories = list(resume.rows), list(resume.histories)
        tracebacks = list(resume.tracebacks)
    else:
        rows = [{**config, ERROR: _NOT_RUN} for config in grid]
        histories, tracebacks = [None] * len(grid), [None] * len(grid)
    todo = [i for i, row in enumerate(rows) if row[ERROR] == _NOT_RUN]

    if progress is None:
        progress = sys.stderr.isatty()
    bar = tqdm(total=len(todo), desc="sweep", unit="config", disable=not progress, leave=False)
    failed = 0

    def keep(i: int, outcome) -> None:
        nonlocal failed
        scalars, history, error, trace = outcome
        rows[i] = {**grid[i], **scalars, ERROR: error}
        histories[i], tracebacks[i] = history, trace
        if error is not None:
            failed += 1
            bar.set_postfix(failed=failed, refresh=False)
        bar.update()

    futures: dict = {}
    try:
        if executor is None:
            for i in todo:
                keep(i, _call(fn, grid[i]))
        else:
            futures = {executor.submit(_call, fn, grid[i]): i for i in todo}
            for future in concurrent.futures.as_completed(futures):
                try:
                    outcome = future.result()
                except Exception as exc:  # the call never ran: pickling, a lost worker...
                    outcome = {}, None, f"{type(exc).__name__}: {exc}", traceback.format_exc()
                keep(futures[future], outcome)
    except KeyboardInterrupt:
        for future in futures:
            future.cancel()
        result = SweepResult(grid, rows, histories, tracebacks)
        done = sum(result.completed)
        raise SweepInterrupted(
            f"sweep interrupted with {done} of {len(grid)} configurations completed; they are "
            f"kept in .result. To run the other {len(grid) - done}, call "
            "sweep(grid, fn, resume=exc.result) with the same grid.",
            result=result,
        ) from None
    finally:
        bar.close()
    return SweepResult(grid, rows, histories, tracebacks)
