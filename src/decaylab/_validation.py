"""Argument checks shared by the public entry points.

Every check raises a ``ValueError`` or ``TypeError`` whose message names the
argument, shows the value received and says what was expected, before any
state is touched.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping

import numpy as np


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``."""
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        expected = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}={_show(value)} is not recognised; expected one of {expected}")
    return value


def check_int(
    name: str, value: object, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as an ``int`` if it is an integer within [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name}={_show(value)} has type {type(value).__name__}; expected an integer"
        )
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}={value} is too small; expected an integer >= {minimum}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}={value} is too large; expected an integer <= {maximum}")
    return value


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is a ``bool`` (not merely truthy)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name}={value!r} has type {type(value).__name__}; expected a bool")
    return value


def check_real(
    name: str, value: object, *, positive: bool = False, nonnegative: bool = False
) -> float:
    """Return ``value`` as a finite ``float``, optionally > 0 or >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name}={_show(value)} has type {type(value).__name__}; expected a real number"
        )
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name}={value} is not finite; expected a finite real number")
    if positive and value <= 0:
        raise ValueError(f"{name}={value} must be > 0")
    if nonnegative and value < 0:
        raise ValueError(f"{name}={value} must be >= 0")
    return value


def check_sizes(sizes: object) -> tuple[int, ...]:
    """Return the layer sizes as a tuple of at least two positive ints."""
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Iterable):
        raise TypeError(
            f"sizes={_show(sizes)} is not a sequence; expected layer sizes like [64, 30, 10]"
        )
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(
            f"sizes={sizes} has {len(sizes)} layer(s); expected at least 2 (input, output)"
        )
    return tuple(check_int(f"sizes[{i}]", s, minimum=1) for i, s in enumerate(sizes))


def _from_pairs(data: object, name: str) -> object:
    """(X, y) stacked from network2's list of (x, y) pairs; any other ``data`` as it is.

    The two forms differ in their first element: X is an array, a pair is a tuple whose
    x is a column array of shape (n_inputs, 1).
    """
    if not isinstance(data, (list, tuple)) or len(data) == 0:
        return data
    first = data[0]
    if not (
        isinstance(first, (tuple, list))
        and len(first) == 2
        and isinstance(first[0], np.ndarray)
        and first[0].ndim == 2
        and first[0].shape[1] == 1
    ):
        return data
    try:
        X = np.stack([np.asarray(x, dtype=float).ravel() for x, _ in data])
        ys = [np.asarray(y) for _, y in data]
        y = np.stack([v.ravel() for v in ys]) if ys[0].ndim else np.array(ys)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} is a list of pairs, as network2.py holds data, but they do not stack "
            f"({exc}); expected every x a column of the same length and every y a label or a "
            "one-hot column of the same length"
        ) from None
    return X, y


def check_data(
    data: object, *, n_inputs: int, n_outputs: int, name: str = "data", dtype: np.dtype = np.float64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check a data set ``(X, y)`` against a network's shape.

    Parameters
    ----------
    data : tuple of (X, y), or a list of (x, y) pairs as network2.py holds them
        X of shape (n, n_inputs); y of shape (n,) with integer labels in
        [0, n_outputs) or of shape (n, n_outputs), one-hot. A list of n
        pairs (x, y) with x a column of shape (n_inputs, 1) and y a label or
        a one-hot column of shape (n_outputs, 1), the format of Nielsen's
        ``mnist_loader``, is stacked into that (X, y) first.
    n_inputs, n_outputs : int
        The network's input and output widths.
    name : str
        What the caller calls this data set, for the error messages.
    dtype : numpy dtype
        The network's floating-point type.

    Returns
    -------
    X : ndarray, shape (n, n_inputs), ``dtype``, C-contiguous
    labels : ndarray, shape (n,), int64
    targets : ndarray, shape (n, n_outputs), ``dtype``, one-hot
    """
    if isinstance(data, Mapping):
        # Unpacking a dict of two entries would give its keys, not its arrays.
        keys = ", ".join(repr(k) for k in list(data)[:4])
        raise TypeError(
            f"{name} is a {type(data).__name__} with keys [{keys}]; expected a pair (X, y), "
            "e.g. (d['X'], d['y'])"
        )
    if hasattr(data, "train") and hasattr(data, "validation"):
        raise TypeError(
            f"{name} has type {type(data).__name__}, a whole data set; expected one pair "
            f"(X, y) of it, e.g. {name}.train"
        )
    data = _from_pairs(data, name)
    try:
        X, y = data
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} has type {type(data).__name__}; expected a pair (X, y), or a list of "
            "(x, y) pairs as network2.py holds them (an iterator such as zip: list(data))"
        ) from None
    X = check_inputs(X, n_inputs=n_inputs, name=f"{name} X", dtype=dtype)
    y = np.asarray(y)
    if y.ndim == 0 or len(y) != len(X):
        raise ValueError(
            f"{name} has len(X)={len(X)} but y has shape {y.shape}; "
            "expected one label (or one-hot row) per example"
        )
    if np.issubdtype(y.dtype, np.floating) and not np.isfinite(y).all():
        bad = np.flatnonzero(~np.isfinite(y.reshape(len(y), -1)).all(axis=1))
        raise ValueError(
            f"{name} y contains NaN or infinite values in {bad.size} of its {len(y)} "
            f"{'labels' if y.ndim == 1 else 'rows'} (first y[{bad[0]}]); expected "
            "integer class labels or one-hot rows"
        )
    if y.ndim == 2 and y.shape[1] == 1 and n_outputs != 1:
        raise ValueError(
            f"{name} y has shape {y.shape}, a column of labels; expected labels of shape "
            f"({len(y)},), e.g. y.ravel(), or one-hot rows of width {n_outputs}"
        )
    if y.ndim == 1:
        if not np.issubdtype(y.dtype, np.integer):
            if not np.issubdtype(y.dtype, np.floating):
                raise ValueError(f"{name} y has dtype {y.dtype}; expected integer class labels")
            fractional = np.flatnonzero(np.mod(y, 1) != 0)
            if fractional.size:
                i = fractional[0]
                raise ValueError(
                    f"{name} y has {fractional.size} label(s) that are not whole numbers, first "
                    f"y[{i}]={float(y[i])!r}; expected integer class labels"
                )
        if y.min() < 0 or y.max() >= n_outputs:
            raise ValueError(
                f"{name} y has labels in [{y.min()}, {y.max()}]; expected labels in "
                f"[0, {n_outputs}), the network's output size sizes[-1]={n_outputs}"
            )
        labels = y.astype(np.int64)
        targets = np.zeros((len(y), n_outputs), dtype=dtype)
        targets[np.arange(len(y)), labels] = 1.0
    elif y.ndim == 2:
        if y.shape[1] != n_outputs:
            raise ValueError(
                f"{name} y is one-hot of width {y.shape[1]} (shape {y.shape}); "
                f"expected width {n_outputs}, the network's output size"
            )
        if not (np.isin(y, (0, 1)).all() and np.all(y.sum(axis=1) == 1)):
            raise ValueError(
                f"{name} y has shape {y.shape} but its rows are not one-hot; "
                "expected each row to hold a single 1 and zeros elsewhere"
            )
        labels = np.argmax(y, axis=1).astype(np.int64)
        targets = np.ascontiguousarray(y, dtype=dtype)
    else:
        raise ValueError(f"{name} y has shape {y.shape}; expected (n,) labels or (n, k) one-hot")
    return X, labels, targets


def check_inputs(
    X: object, *, n_inputs: int, name: str = "X", dtype: np.dtype = np.float64
) -> np.ndarray:
    """Return ``X`` as a finite C-contiguous array of shape (n, n_inputs) and type ``dtype``."""
    X = np.asarray(X)
    real = np.issubdtype(X.dtype, np.number) and not np.issubdtype(X.dtype, np.complexfloating)
    if X.ndim != 2 or not (real or X.dtype == bool):
        raise ValueError(
            f"{name} has shape {X.shape} and dtype {X.dtype}; "
            f"expected a real-valued array of shape (n, {n_inputs})"
        )
    if X.shape[1] != n_inputs:
        raise ValueError(
            f"{name} has {X.shape[1]} columns (shape {X.shape}); expected "
            f"{n_inputs}, the network's input size sizes[0]"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{name} has no rows; expected at least one example")
    X = np.ascontiguousarray(X, dtype=dtype)
    if not np.isfinite(X).all():
        bad = int(np.count_nonzero(~np.isfinite(X)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); expected finite inputs")
    return X


def as_generator(name: str, seed: object) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from an int seed, ``None`` or a Generator.

    A Generator passed in is used as it is (and advanced); the global NumPy
    random state is never used.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"{name}={_show(seed)} is not a seed; expected a non-negative int, "
            "None, or a numpy.random.Generator"
        )
    if seed < 0:
        raise ValueError(f"{name}={seed} is not a seed; expected a non-negative int")
    return np.random.default_rng(int(seed))
