"""Training holds BLAS to the threads it is given, and refuses what is not a thread count."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import decaylab as dl


class ThreadsSeen:
    """A step monitor that records the BLAS threads in force during the steps."""

    name = "threads_seen"

    def __init__(self):
        self.seen = set()

    def start(self, net, *, eta, multiplier):
        pass

    def step_parts(self, weights_before, decay, rest):
        self.seen.update(pool["num_threads"] for pool in threadpool_info()
                         if pool["user_api"] == "blas")  # fmt: skip

    def end_epoch(self, net):
        pass

    def result(self):
        return {}


@pytest.fixture
def small(digits):
    return dl.Split(digits.train.X[:60], digits.train.y[:60])


def test_training_holds_blas_to_one_thread_by_default(small):
    monitor = ThreadsSeen()
    net = dl.Network([64, 8, 10], seed=0)
    dl.train(net, small, epochs=1, batch_size=30, eta=0.5, seed=0, monitors=[monitor])
    assert monitor.seen == {1}


@pytest.mark.parametrize("threads", [None, 1, 2])
def test_the_thread_count_does_not_change_the_run(small, threads):
    runs = []
    for blas_threads in (1, threads):
        net = dl.Network([64, 8, 10], seed=0)
        dl.train(net, small, epochs=2, batch_size=7, eta=0.5, lmbda=1.0, seed=0,
                 blas_threads=blas_threads)  # fmt: skip
        runs.append(net.params.copy())
    np.testing.assert_allclose(runs[1], runs[0], rtol=0, atol=1e-14)


@pytest.mark.parametrize(
    ("value", "error"), [(0, ValueError), (-1, ValueError), (1.0, TypeError), (True, TypeError)]
)
def test_bad_thread_counts_are_refused_before_training(small, value, error):
    net = dl.Network([64, 8, 10], seed=0)
    before = net.params.copy()
    with pytest.raises(error, match="blas_threads"):
        dl.train(net, small, epochs=1, batch_size=30, eta=0.5, blas_threads=value)
    with pytest.raises(error, match="blas_threads"):
        dl.train_ensemble([net], small, epochs=1, batch_size=30, eta=0.5, blas_threads=value)
    np.testing.assert_array_equal(net.params, before)
