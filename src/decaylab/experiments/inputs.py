"""What an experiment is given: its data set, subsets of it, seeds and lists of settings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from decaylab._validation import check_int, check_real
from decaylab.data import Dataset, Split, load_digits

__all__ = ["as_seeds", "check_int_list", "check_positive_list", "resolve_data", "subset"]


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
