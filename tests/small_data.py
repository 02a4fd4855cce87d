"""Small data sets for tests that run whole experiments: the first examples of the digits.

Other test modules import it: ``from small_data import small_digits``.
"""

from __future__ import annotations

import decaylab as dl


def small_digits(n_train: int, n_validation: int) -> dl.Dataset:
    """The first ``n_train`` training and ``n_validation`` validation digits, all the test ones."""
    data = dl.load_digits()
    return dl.Dataset(
        dl.Split(data.train.X[:n_train], data.train.y[:n_train]),
        dl.Split(data.validation.X[:n_validation], data.validation.y[:n_validation]),
        data.test,
        10,
        "small digits",
    )
