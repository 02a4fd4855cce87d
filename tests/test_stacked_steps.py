"""The stacked steps of an ensemble: the decomposition observer's records against the
step's parts recomputed in the test, observed runs against unobserved ones, and the
batches gathered in chunks against one chunk per epoch."""

from __future__ import annotations

import numpy as np
import pytest

import decaylab as dl
import decaylab.ensemble as ensemble
from decaylab.dynamics.decomposition import RECORD_KEYS
from decaylab.experiments._stacked_decomposition import StackedDecomposition

KEYS = RECORD_KEYS[:6]


class _Recomputed:
    """A step observer around StackedDecomposition that recomputes each member's record
    from the weights before and after every step, one member and layer at a time, in
    float64: u = (1 − d)·w, v = d·w − w′ (the separate monitor's definitions)."""

    def __init__(self, members: int):
        self.inner = StackedDecomposition(members)
        self.rows: list[list[np.ndarray]] = [[] for _ in range(members)]

    def bind(self, stack, members, multipliers):
        self.inner.bind(stack, members, multipliers)
        self.stack, self.members, self.d = stack, list(members), list(multipliers)
        self.sums = np.zeros((len(members), len(KEYS), len(stack.weights)))

    def before_step(self):
        self.inner.before_step()
        self.before = [w.astype(np.float64) for w in self.stack.weights]

    def after_step(self):
        self.inner.after_step()
        for j, d in enumerate(self.d):
            for l, (before, after) in enumerate(zip(self.before, self.stack.weights)):
                w = before[j].ravel()
                u, v = (1.0 - d) * w, d * w - after[j].ravel().astype(np.float64)
                sums = self.sums[j, :, l]
                sums[0] += np.sqrt(u @ u)
                sums[1] += np.sqrt(v @ v)
                sums[3] += u @ u - 2.0 * (w @ u)  # contraction
                sums[4] += 2.0 * (u @ v - w @ v)  # radial
                sums[5] += v @ v  # noise

    def end_epoch(self, members):
        self.inner.end_epoch(members)
        for j, k in enumerate(self.members):
            if k in members:
                row = self.sums[j].copy()
                row[2] = row[0] / row[1]
                self.rows[k].append(row)
        self.sums[:] = 0.0

    def monitors(self, k):
        return self.inner.monitors(k)


# name: (hidden layers, λ per member, seed, optimizer, η, dtype, rtol)
CASES = {
    "shared batches, one d": ((12,), [2.0, 2.0, 2.0], 0, None, 0.3, "float64", 1e-10),
    "shared batches, own d, d = 1": ((12,), [0.0, 2.0, 9.0], 0, None, 0.3, "float64", 1e-10),
    "own batches, own d": ((12,), [0.5, 2.0, 9.0], [1, 2, 3], None, 0.3, "float64", 1e-10),
    "one member": ((12,), [2.0], [1], None, 0.3, "float64", 1e-10),
    "five members": ((12,), [0.5, 1, 2, 4, 8.0], [1, 2, 3, 4, 5], None, 0.3, "float64", 1e-10),
    "fused first layer, own batches": ((300,), [2.0, 5.0], [4, 5], None, 0.3, "float64", 1e-10),
    "fused first layer, shared": ((300,), [3.0, 3.0], 0, None, 0.3, "float64", 1e-10),
    "two hidden layers": ((20, 15), [1.0, 3.0, 5.0], [1, 2, 3], None, 0.3, "float64", 1e-10),
    # The second and third layers (17,000 weights each) fused, the first not.
    "fused deeper layers": ((10, 1700), [1.0, 3.0], [1, 2], None, 0.3, "float64", 1e-10),
    "adamw": ((12,), [1.0, 3.0], [1, 2], "adamw", 0.01, "float64", 1e-10),
    "float32": ((12,), [1.0, 3.0], [1, 2], None, 0.3, "float32", 1e-4),
}


def _train(digits, case, observer, epochs=2):
    hidden, lmbdas, seed, optimizer, eta, dtype, _ = case
    nets = [dl.Network([64, *hidden, 10], seed=10 + k, dtype=dtype) for k in range(len(lmbdas))]
    # 230 examples at m = 20: a last batch of 10.
    data = (digits.train.X[:230], digits.train.y[:230])
    histories = dl.train_ensemble(nets, data, epochs=epochs, batch_size=20, eta=eta, lmbda=lmbdas,
                                  seed=seed, optimizer=optimizer, step_observer=observer,
                                  training_metrics=False, progress=False)  # fmt: skip
    return nets, histories


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_stacked_decomposition_equals_the_steps_recomputed(case, digits):
    observer = _Recomputed(len(case[1]))
    _, histories = _train(digits, case, observer)
    for k, history in enumerate(histories):
        record = history.monitors["decomposition"]
        expected = np.array(observer.rows[k])  # (epochs, keys, layers)
        for i, key in enumerate(KEYS):
            scale = np.abs(expected[:, i]).max()
            np.testing.assert_allclose(record[key], expected[:, i], rtol=case[-1],
                                       atol=case[-1] * scale, err_msg=key)  # fmt: skip


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_observed_members_train_bit_for_bit_as_unobserved(case, digits):
    observed, _ = _train(digits, case, StackedDecomposition(len(case[1])))
    alone, _ = _train(digits, case, None)
    for a, b in zip(observed, alone):
        np.testing.assert_array_equal(a.params, b.params)


WATCHED = ["shared batches, one d", "five members", "fused first layer, own batches", "adamw"]


@pytest.mark.parametrize("pattern", ["mixed", "none in epochs 2-3"])
@pytest.mark.parametrize("name", WATCHED)
def test_members_watched_from_an_epoch_record_its_other_rows_bit_for_bit(name, pattern, digits):
    case = CASES[name]
    K = len(case[1])
    watched_from = [(0, 2, 3, 4, 1)[k % 5] for k in range(K)] if pattern == "mixed" else [3] * K
    _, every = _train(digits, case, StackedDecomposition(K), epochs=4)
    _, some = _train(digits, case, StackedDecomposition(K, watched_from), epochs=4)
    for k in range(K):
        epoch = np.arange(1, 5)
        unread = ((epoch >= 2) & (epoch <= watched_from[k]))[:, None]
        for key in KEYS:
            expected = np.where(unread, np.nan, every[k].monitors["decomposition"][key])
            np.testing.assert_array_equal(some[k].monitors["decomposition"][key], expected)


@pytest.mark.parametrize(("seed", "shuffle"), [(0, True), ([1, 2, 3], True), (0, False)],
                         ids=["shared batches", "own batches", "no shuffle"])  # fmt: skip
def test_batches_gathered_in_small_chunks_train_bit_for_bit_as_in_one(seed, shuffle, digits,
                                                                      monkeypatch):  # fmt: skip
    def trained():
        nets = [dl.Network([64, 9, 10], seed=k) for k in range(3)]
        dl.train_ensemble(nets, (digits.train.X[:230], digits.train.y[:230]), epochs=2,
                          batch_size=20, eta=0.4, lmbda=[1.0, 2.0, 4.0], seed=seed,
                          shuffle=shuffle, progress=False)  # fmt: skip
        return nets

    whole = trained()
    # One batch per chunk: every batch gathered on its own.
    monkeypatch.setattr(ensemble, "_CHUNK_BYTES", 1)
    for a, b in zip(trained(), whole):
        np.testing.assert_array_equal(a.params, b.params)
