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
are kept, and a warning says so when every configuration failed. Ctrl-C keeps
every configuration completed so far (:class:`SweepInterrupted`), and
``sweep(grid, fn, resume=exc.result)`` runs only the rest.

Before submitting to an executor whose workers are other processes, ``sweep``
pickles ``fn`` and every configuration as the executor will (``pickle`` for a
``ProcessPoolExecutor``, ``cloudpickle`` for Dask and loky) and raises a
TypeError that says what cannot be sent, instead of a table of error rows.
In those workers BLAS is held to ``blas_threads`` threads (1 by default, as
joblib does): a process per core already uses every core, and BLAS threads on
top of it only compete for them.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import numbers
import pickle
import sys
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from decaylab._blas import scipy_blas
from decaylab._progress import progress_bar
from decaylab._validation import check_int
from decaylab.errors import _KeepsData
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


class SweepInterrupted(_KeepsData, KeyboardInterrupt):
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


def _call(
    fn: Callable, config: dict, blas_threads: int | None = None
) -> tuple[dict, History | None, str | None, str | None]:
    """Run ``fn(**config)`` and split its result into scalars and a History.

    Runs in the worker, so that any exception, including one about what ``fn``
    returned, comes back as data instead of being lost with the worker.
    """
    limit = contextlib.nullcontext()
    if blas_threads is not None:
        from threadpoolctl import threadpool_limits

        scipy_blas()  # loaded first, so that its pool is limited too
        limit = threadpool_limits(limits=blas_threads, user_api="blas")
    try:
        with limit:
            scalars, history = _split(fn(**config), config)
    except (Exception, SystemExit) as exc:
        # sys.exit() in fn ends that configuration, not the sweep and the rows it finished.
        return {}, None, f"{type(exc).__name__}: {exc}", traceback.format_exc()
    return scalars, history, None, None


def _serialiser(executor: concurrent.futures.Executor) -> str | None:
    """How ``executor`` sends calls to its workers: "pickle", "cloudpickle" or None (in-process)."""
    if isinstance(executor, concurrent.futures.ProcessPoolExecutor):
        return "pickle"
    package = type(executor).__module__.split(".")[0]
    if package in ("distributed", "dask", "loky") or type(executor).__module__.startswith(
        "joblib.externals.loky"
    ):
        return "cloudpickle"
    return None  # threads, or an executor this module does not know


class _Discard:
    """A write-only file that discards what it is given (bytes or, for arrays, buffers)."""

    def write(self, data) -> None:
        pass


def _check_sendable(
    fn: Callable, grid: list[dict], executor: concurrent.futures.Executor, serialiser: str
) -> None:
    """Raise a TypeError naming what of ``fn`` and ``grid`` the workers cannot receive."""
    where = f"the worker processes of {type(executor).__name__}"
    if serialiser == "cloudpickle":
        try:
            from cloudpickle import CloudPickler as Pickler
        except ImportError:
            return  # the executor brings its own serialiser; let it decide
    else:
        Pickler = pickle.Pickler

    def dumps(value) -> None:
        # Into a sink that keeps nothing: a large data set is not copied to memory.
        Pickler(_Discard(), protocol=pickle.HIGHEST_PROTOCOL).dump(value)

    try:
        dumps(fn)
    except Exception as exc:
        raise TypeError(
            f"fn={fn!r} cannot be sent to {where}: {serialiser} fails with "
            f"{type(exc).__name__}: {exc}. Expected a function defined at module level in an "
            "importable file (a lambda, or a function defined inside another, cannot be "
            "pickled), or run the sweep with executor=None"
        ) from None
    main = sys.modules.get("__main__")
    method = getattr(getattr(executor, "_mp_context", None), "get_start_method", lambda: None)()
    if (
        serialiser == "pickle"
        and getattr(fn, "__module__", None) == "__main__"
        and not hasattr(main, "__file__")
        and method in ("spawn", "forkserver")
    ):
        raise TypeError(
            f"fn={fn!r} is defined in an interactive session, which {where} (start method "
            f"{method!r}) cannot import. Expected fn in an importable module, e.g. "
            "`from mymodule import fn`"
        )
    for i, config in enumerate(grid):
        for key, value in config.items():
            try:
                dumps(value)
            except Exception as exc:
                raise TypeError(
                    f"grid[{i}][{key!r}]={value!r} cannot be sent to {where}: {serialiser} "
                    f"fails with {type(exc).__name__}: {exc}. Expected configuration values "
                    "that can be pickled (numbers, str, arrays, plain records)"
                ) from None


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
    blas_threads: int | None = 1,
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
        configurations are pickled, and checked to pickle before anything is
        submitted: define ``fn`` at module level (Dask's cloudpickle also
        accepts closures and lambdas).
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
    blas_threads : int or None
        Threads each call may give BLAS in an executor's worker *processes*
        (a ``ProcessPoolExecutor``, Dask, loky); 1 by default, as joblib
        does. None leaves the workers' BLAS as it is. Calls run here or in
        threads are not limited. See Notes for the measured reason.

    Returns
    -------
    SweepResult
        Rows and Histories in the order of ``grid``, whatever order the calls
        finished in. A configuration whose call raised has its parameters and
        ``error`` set, and the others are unaffected.

    Raises
    ------
    ValueError, TypeError
        For a bad grid, ``fn``, executor, ``resume`` or ``blas_threads``, or
        an ``fn`` or configuration that cannot be sent to the executor's
        worker processes; nothing has run then.
    SweepInterrupted
        On Ctrl-C, carrying every configuration completed so far. Calls not
        yet started are cancelled; calls already running in an executor's
        workers are abandoned.

    Warns
    -----
    RuntimeWarning
        When every configuration failed, with the first error: the table
        then holds no result at all.

    Notes
    -----
    Why one BLAS thread per worker: OpenBLAS gives each process as many
    threads as there are cores, so p worker processes run p × cores threads
    on the cores, and a thread that waits for a busy core stalls the matrix
    product it shares. ``benchmarks/bench_sweep.py`` times the same sweep of
    [784, 30, 10] trainings on a ``ProcessPoolExecutor(2)`` with
    ``blas_threads=1`` and with ``blas_threads=None``, side by side in one
    run. On a 2-core machine that other jobs were also using (load average
    about 3), two runs of it found the unlimited sweep 1.7 and 2.2 times
    slower at batch size 10, and 6.8 and 16 times slower at batch size 100;
    its latest table is in ``benchmarks/results/sweep.json``. Threaded BLAS
    may also add in another order: the final norms differed in the last bit.

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
    grid, blas_threads = _check_sweep(grid, fn, executor, blas_threads)
    rows, histories, tracebacks = _starting_table(grid, resume)
    todo = [i for i, row in enumerate(rows) if row[ERROR] == _NOT_RUN]

    if progress is None:
        progress = sys.stderr.isatty()
    bar = progress_bar(
        total=len(todo), desc="sweep", unit="config", disable=not progress, leave=False
    )
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

    futures: dict = {}  # filled by _run_calls, so that Ctrl-C can cancel what has not started
    try:
        _run_calls(fn, grid, todo, keep, executor=executor, blas_threads=blas_threads,
                   futures=futures)  # fmt: skip
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
    result = SweepResult(grid, rows, histories, tracebacks)
    if len(result.errors) == len(grid):
        warnings.warn(
            f"every one of the {len(grid)} configurations failed; the first with "
            f"{result.errors[0]['error']!r}. See result.errors for the tracebacks",
            RuntimeWarning,
            stacklevel=2,
        )
    return result


def _check_sweep(grid, fn, executor, blas_threads) -> tuple[list, int | None]:
    """The checked grid, and the BLAS threads of the workers (None when calls run here).

    With a process-based executor, ``fn`` and the configurations are checked to pickle.
    """
    grid = _check_grid(grid)
    if not callable(fn):
        raise TypeError(f"fn={fn!r} has type {type(fn).__name__}; expected a callable")
    if executor is not None and not isinstance(executor, concurrent.futures.Executor):
        raise TypeError(
            f"executor has type {type(executor).__name__}; expected None or a "
            "concurrent.futures.Executor, e.g. distributed.Client(...).get_executor()"
        )
    if blas_threads is not None:
        blas_threads = check_int("blas_threads", blas_threads, minimum=1)
    serialiser = None if executor is None else _serialiser(executor)
    if serialiser is not None:
        _check_sendable(fn, grid, executor, serialiser)
    else:
        blas_threads = None  # this process's threads share one BLAS: leave it alone
    return grid, blas_threads


def _starting_table(grid: list, resume) -> tuple[list, list, list]:
    """(rows, histories, tracebacks) to fill: ``resume``'s, or every configuration not run."""
    if resume is None:
        rows = [{**config, ERROR: _NOT_RUN} for config in grid]
        return rows, [None] * len(grid), [None] * len(grid)
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
    return list(resume.rows), list(resume.histories), list(resume.tracebacks)


def _run_calls(fn, grid, todo, keep, *, executor, blas_threads, futures: dict) -> None:
    """Run the configurations ``todo`` here or on ``executor``; ``keep(i, outcome)`` each.

    ``futures`` receives the executor's futures (to their configuration's index).
    """
    if executor is None:
        for i in todo:
            keep(i, _call(fn, grid[i]))
        return
    futures.update({executor.submit(_call, fn, grid[i], blas_threads): i for i in todo})
    for future in concurrent.futures.as_completed(futures):
        try:
            outcome = future.result()
        except Exception as exc:  # the call never ran: pickling, a lost worker...
            outcome = {}, None, f"{type(exc).__name__}: {exc}", traceback.format_exc()
        keep(futures[future], outcome)
