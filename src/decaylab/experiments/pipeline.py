"""The steps every question repeats, written once.

A question checks its arguments by rule (:func:`checked`), runs its
conditions at every seed and measures each run into a tidy table
(:func:`tabulate`, over :func:`~decaylab.experiments.runs.run_table`), reduces
the table's (condition, seed) grids to estimates (:func:`estimates`,
:func:`per_layer`) and fits (:func:`fit_reached`), and echoes its settings
into the record (:func:`echo`). Each piece is small; a question's module
keeps only what is its own: which runs, which numbers, which verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from decaylab._validation import check_int, check_real
from decaylab.data import Dataset
from decaylab.experiments.estimates import Estimate, estimate, format_measured
from decaylab.experiments.inputs import as_seeds, check_int_list, check_positive_list
from decaylab.experiments.runs import RunSpec, RunTable, run_table

__all__ = [
    "RULES",
    "checked",
    "counts",
    "echo",
    "estimates",
    "fit_reached",
    "fit_row",
    "mnist_data",
    "per_layer",
    "scan_data",
    "subtable",
    "tabulate",
]


#: How :func:`checked` checks a setting, by rule name: ``rule(name, value, n)`` with n the
#: data's training-set size; "*s" rules take a sequence, "*s?" ones also accept it empty.
RULES = {
    "positive": lambda name, v, n: check_real(name, v, positive=True),
    "nonnegative": lambda name, v, n: check_real(name, v, nonnegative=True),
    "count": lambda name, v, n: check_int(name, v, minimum=1),
    "count0": lambda name, v, n: check_int(name, v, minimum=0),
    "batch": lambda name, v, n: check_int(name, v, minimum=1, maximum=n),
    "seeds": lambda name, v, n: as_seeds(v, name),
    "positives": lambda name, v, n: check_positive_list(name, v),
    "positives?": lambda name, v, n: () if _empty(v) else check_positive_list(name, v),
    "counts": lambda name, v, n: check_int_list(name, v),
    "batches": lambda name, v, n: _batches(name, v, n),
    "batches?": lambda name, v, n: () if _empty(v) else _batches(name, v, n),
    "any": lambda name, v, n: v,
}


def _empty(values) -> bool:
    # An empty sequence skips a sweep; anything else is checked (and refused if not a sequence).
    return isinstance(values, (list, tuple, np.ndarray)) and len(values) == 0


def _batches(name: str, values, n: int) -> tuple[int, ...]:
    values = check_int_list(name, values)
    return tuple(check_int(f"{name}[{i}]", m, minimum=1, maximum=n) for i, m in enumerate(values))


def checked(data: Dataset, rules: Mapping[str, str], **given) -> dict:
    """The settings ``given``, each checked by its rule (:data:`RULES`), in the order of ``rules``.

    Parameters
    ----------
    data : Dataset
        Batch sizes are checked against its training-set size.
    rules : mapping of str to str
        Setting name → rule name; every setting in ``given`` must have one.
    **given
        The settings as the caller passed them.

    Returns
    -------
    dict
        The checked values (tuples for sequences), keyed as ``rules``.

    Raises
    ------
    ValueError, TypeError
        From the first setting that breaks its rule, naming it and its value.
    """
    n = data.train.n
    return {name: RULES[rule](name, given[name], n) for name, rule in rules.items()}


def _given_data(name: str, value) -> Dataset:
    """A Dataset given as itself or as "bundled" (:func:`decaylab.load_mnist`'s real MNIST)."""
    if isinstance(value, str) and value == "bundled":
        from decaylab.data import load_mnist

        value = load_mnist()
    if not isinstance(value, Dataset):
        raise TypeError(
            f"{name} has type {type(value).__name__}; expected a Dataset, 'bundled' "
            "(real MNIST) or None"
        )
    return value


def mnist_data(mnist) -> Dataset | None:
    """The MNIST a question runs on: None, "bundled" (:func:`decaylab.load_mnist`) or a Dataset.

    Raises
    ------
    TypeError
        When ``mnist`` is none of these.
    ValueError
        When the Dataset does not have MNIST's 784 inputs.
    """
    if mnist is None:
        return None
    mnist = _given_data("mnist", mnist)
    if mnist.n_inputs != 784:
        raise ValueError(f"mnist has {mnist.n_inputs} inputs; expected MNIST's 784")
    return mnist


def scan_data(transfer_data, data: Dataset) -> Dataset:
    """The data of a scan across n (Q6, Q7): ``data`` for None, else as :func:`mnist_data`
    takes it (any number of inputs).

    Raises
    ------
    TypeError
        When ``transfer_data`` is not None, "bundled" or a Dataset.
    """
    return data if transfer_data is None else _given_data("transfer_data", transfer_data)


def counts(*, minimum: int = 1, maximum: int | None = None, **values: int) -> tuple[int, ...]:
    """Each keyword's value checked as an int in [``minimum``, ``maximum``], in the order given."""
    return tuple(
        check_int(name, value, minimum=minimum, maximum=maximum) for name, value in values.items()
    )


def echo(data: Dataset, **settings) -> dict:
    """The settings a record reports: the data's name and n, then ``settings`` as plain values.

    Tuples become lists, so that a record's settings read the same whether
    they came from a preset or from a call.
    """

    def plain(value):
        return [plain(v) for v in value] if isinstance(value, tuple) else value

    return {"data": data.name, "n": data.train.n} | {k: plain(v) for k, v in settings.items()}


def tabulate(
    conditions: Mapping[object, RunSpec] | Sequence[tuple[object, RunSpec]],
    seeds: Sequence[int],
    data: Dataset,
    measure: Callable[[object], dict],
    *,
    executor=None,
    progress: bool = False,
    desc: str = "runs",
) -> RunTable:
    """Run every distinct condition at every seed once; one row per (condition, seed).

    Parameters
    ----------
    conditions : mapping of label to RunSpec, or sequence of (label, RunSpec)
        Each condition's run (its seed is replaced by each of ``seeds``);
        conditions whose specs are equal share their runs, which are trained once.
    seeds : sequence of int
    data : Dataset
    measure : callable
        ``measure(outcome)`` returns a dict of the run's numbers; each key
        becomes a column of the table (see :meth:`RunTable.column`).
    executor, progress, desc
        As in :func:`~decaylab.experiments.runs.run_many`.

    Returns
    -------
    RunTable
        Its conditions are the labels of ``conditions``, in order; its
        ``diverged`` lists each diverged run once.
    """
    pairs = list(conditions.items() if isinstance(conditions, Mapping) else conditions)
    distinct = list(dict.fromkeys(spec for _, spec in pairs))
    trained = run_table(
        dict(enumerate(distinct)),
        seeds,
        data,
        {"_": measure},
        executor=executor,
        progress=progress,
        desc=desc,
    )
    at = {spec: i for i, spec in enumerate(distinct)}
    k = len(seeds)
    rows = []
    for label, spec in pairs:
        for row in trained.rows[at[spec] * k : (at[spec] + 1) * k]:
            rows.append({"condition": label, "seed": row["seed"], "diverged": row["diverged"]})
            rows[-1].update(row["_"])
    return RunTable([label for label, _ in pairs], list(seeds), rows, trained.diverged)


def subtable(table: RunTable, labels: Sequence) -> RunTable:
    """The rows of ``table`` whose condition is one of ``labels``, in the order of ``labels``.

    Its ``diverged`` is empty: the whole table's lists every diverged run once.
    """
    rows = [row for label in labels for row in table.rows if row["condition"] == label]
    return RunTable(list(labels), list(table.seeds), rows, [])


def estimates(values: np.ndarray) -> list[Estimate]:
    """One :class:`Estimate` per row of ``values`` (shape (C, seeds)), over its finite entries."""
    return [estimate(row) for row in np.asarray(values, dtype=float)]


def per_layer(values: np.ndarray) -> list[list[Estimate]]:
    """C × L Estimates over seeds of an array of shape (C, seeds, L)."""
    values = np.asarray(values, dtype=float)
    return [[estimate(values[c, :, l]) for l in range(values.shape[2])] for c in range(len(values))]


def fit_reached(x, y, reached, **options):
    """The power-law fit of ``y`` against ``x`` over the runs that ``reached`` (else None).

    Parameters
    ----------
    x, y : array_like, shape (C, seeds) or (C·seeds,)
        The variable and the measured size of every run (x repeated per seed).
    reached : array_like of bool, same shape
        The runs that enter the fit.
    **options
        Keyword arguments of :func:`decaylab.dynamics.scaling.fit_power_law`.

    Returns
    -------
    ScalingFit or None
        None with fewer than 3 runs or 2 distinct values of x.
    """
    from decaylab.dynamics.scaling import fit_power_law

    x, y = np.ravel(x).astype(float), np.ravel(y).astype(float)
    ok = np.ravel(reached).astype(bool)
    if ok.sum() < 3 or np.unique(x[ok]).size < 2:
        return None
    return fit_power_law(x[ok], y[ok], **options)


def fit_row(quantity: str, against: str, fit) -> list[str]:
    """A fit as a table row: quantity, variable, exponent ± error, interval, admitted laws, runs."""
    admitted = ", ".join(label for h, label in zip(fit.hypotheses, fit.labels) if h in fit.admitted)
    return [
        quantity,
        against,
        format_measured(fit.exponent, fit.standard_error),
        f"{fit}".partition(" ")[2],  # the interval part of the fit's own format
        admitted or "none of " + ", ".join(fit.labels),
        f"{fit.n_points}",
    ]
