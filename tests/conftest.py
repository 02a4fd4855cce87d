"""Shared fixtures: the bundled digits and small random classification problems."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl


@pytest.fixture(scope="session")
def digits():
    """The bundled UCI digits (train split: 1000 examples of 64 inputs, 10 classes)."""
    return dl.load_digits()


@pytest.fixture
def make_problem():
    """Factory for a random problem: inputs uniform in [-1, 1), integer labels in [0, k)."""

    def make(n_inputs: int, n_classes: int, n: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        return rng.uniform(-1.0, 1.0, (n, n_inputs)), rng.integers(0, n_classes, n)

    return make
