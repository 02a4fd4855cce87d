"""Memory over a long run: thousands of epochs, sampled as they go.

Run ``python benchmarks/bench_long_run.py`` (one to two minutes; ``--epochs`` to
change). It trains a [64, 30, 10] network on 200 of the bundled digits for
5,000 epochs, twice: plainly, and writing a checkpoint every 100 epochs. A
step monitor samples the memory every 100 epochs:

* ``traced``: bytes held by Python and NumPy allocations (``tracemalloc``,
  which NumPy reports its array buffers to);
* ``rss``: the resident set size of the process (Linux ``/proc/self/statm``;
  it also counts allocator caches, so it moves in pages, not bytes).

The History grows by design: one row of statistics per epoch. Its share is
measured, not assumed: the bytes that ``rows`` rows of the training loop's
record take are traced on their own, with the loop's own recorder. The growth
left over is what a leak would show; the run counts as flat when that remainder
is under 16 bytes per epoch: anything kept once per epoch, even one float (24
bytes), exceeds it, while the over-allocation of the record's lists stays
below it. Growth rates are least-squares slopes over the second half of the
run, after warm-up. The table is printed and written to
``benchmarks/results/long_run.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

import decaylab as dl
from decaylab import training
from decaylab._validation import check_data

RESULTS = Path(__file__).parent / "results" / "long_run.json"
#: Leak allowance: growth not explained by the History, bytes per epoch. The smallest
#: object Python keeps (a float, 24 bytes) per epoch would exceed it.
FLAT_BYTES_PER_EPOCH = 16.0


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class MemorySampler:
    """A step monitor that records traced memory and RSS every ``every`` epochs.

    Its table is allocated up front, so that sampling adds nothing to what it measures.
    """

    name = "memory_sampler"

    def __init__(self, every: int, epochs: int):
        self.every = every
        self.table = np.full((epochs // every + 1, 3), -1, dtype=np.int64)
        self.rows = 0

    @property
    def samples(self) -> list[tuple[int, int, int | None]]:
        """(epoch, traced bytes, RSS bytes or None) of each sample."""
        return [(int(e), int(t), None if r < 0 else int(r)) for e, t, r in self.table[: self.rows]]

    def start(self, net, *, eta, multiplier):
        self.epoch = 0
        self._sample()

    sees_steps = False  # an epoch-end sampler: the run need not split its steps

    def step_parts(self, weights_before, decay, rest):
        pass

    def end_epoch(self, net):
        self.epoch += 1
        if self.epoch % self.every == 0:
            self._sample()

    def result(self):
        return {}  # kept out of the History, so it adds nothing to what it measures

    def _sample(self):
        rss = _rss_bytes()
        self.table[self.rows] = (
            self.epoch,
            tracemalloc.get_traced_memory()[0],
            -1 if rss is None else rss,
        )
        self.rows += 1


def _history_row_bytes(net: dl.Network, data, first_epoch: int, rows: int = 2000) -> float:
    """Traced bytes per epoch that the training loop's record keeps, by design.

    The loop's own recorder records ``rows`` further epochs of ``net`` on the
    same data, alone, and its growth is traced.
    """
    train = check_data(data.train, n_inputs=64, n_outputs=10)
    evaluation = check_data(data.validation, n_inputs=64, n_outputs=10)
    recorder = training._Recorder(net, {}, train, evaluation, True, lambda sum_of_squares: 0.0)
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    for epoch in range(first_epoch, first_epoch + rows):
        recorder.record(epoch)
    gc.collect()
    return (tracemalloc.get_traced_memory()[0] - before) / rows


def _slope(samples, column: int) -> float:
    """Bytes per epoch: least-squares slope over the second half of the samples."""
    points = np.array([(s[0], s[column]) for s in samples[len(samples) // 2 :]], dtype=float)
    return float(np.polyfit(points[:, 0], points[:, 1], 1)[0])


def run(setup: str, data, *, epochs: int, every: int, directory: Path) -> dict:
    net = dl.Network([64, 30, 10], init="large", seed=0)
    sampler = MemorySampler(every, epochs)
    options = {}
    if setup == "checkpoint_every_100":
        options = dict(checkpoint_every=100, checkpoint_path=directory / "long_run.npz")
    gc.collect()
    started = time.perf_counter()
    history = dl.train(net, data.train, epochs=epochs, batch_size=10, eta=0.5, lmbda=5.0,
                       evaluation=data.validation, seed=0, monitors=[sampler], progress=False,
                       **options)  # fmt: skip
    seconds = time.perf_counter() - started
    per_row = _history_row_bytes(net, data, first_epoch=epochs + 1)
    traced_slope = _slope(sampler.samples, 1)
    rss = [s[2] for s in sampler.samples]
    middle = len(sampler.samples) // 2
    return {
        "setup": setup,
        "epochs": history.n_epochs,
        "seconds": seconds,
        "samples": [{"epoch": e, "traced": t, "rss": r} for e, t, r in sampler.samples],
        "traced_start": sampler.samples[0][1],
        "traced_middle": sampler.samples[middle][1],
        "traced_end": sampler.samples[-1][1],
        "rss_start": rss[0],
        "rss_middle": rss[middle],
        "rss_end": rss[-1],
        "traced_growth_per_1000_epochs": 1000 * traced_slope,
        "history_bytes_per_epoch": per_row,
        "unexplained_growth_per_1000_epochs": 1000 * (traced_slope - per_row),
        "rss_growth_per_1000_epochs": None if rss[0] is None else 1000 * _slope(sampler.samples, 2),
        "flat": bool(traced_slope - per_row < FLAT_BYTES_PER_EPOCH),
    }


def _kib(value) -> str:
    return "n/a" if value is None else f"{value / 1024:,.1f}"


def main(epochs: int = 5000, every: int = 100, train_size: int = 200) -> dict:
    digits = dl.load_digits()
    train = dl.Split(digits.train.X[:train_size], digits.train.y[:train_size])
    data = dl.Dataset(train, digits.validation, digits.test, n_classes=10, name="digits-200")
    tracemalloc.start()
    try:
        with tempfile.TemporaryDirectory() as directory:
            runs = [
                run(setup, data, epochs=epochs, every=every, directory=Path(directory))
                for setup in ("plain", "checkpoint_every_100")
            ]
    finally:
        tracemalloc.stop()
    report = {
        "description": "memory of a long training run; see benchmarks/bench_long_run.py",
        "network": [64, 30, 10],
        "train_size": train_size,
        "flat_bytes_per_epoch": FLAT_BYTES_PER_EPOCH,
        "machine": {"python": platform.python_version(), "numpy": np.__version__},
        "runs": runs,
    }
    header = (
        f"{'setup':<22}{'epochs':>7}{'s':>7}  traced KiB start/middle/end"
        f"{'':>6}growth/1000 ep  history/1000 ep  rest/1000 ep  RSS KiB start/end  flat"
    )
    print(header)
    for r in runs:
        print(
            f"{r['setup']:<22}{r['epochs']:>7}{r['seconds']:>7.1f}  "
            f"{_kib(r['traced_start'])}/{_kib(r['traced_middle'])}/{_kib(r['traced_end'])}"
            f"{_kib(r['traced_growth_per_1000_epochs']):>14} KiB"
            f"{_kib(1000 * r['history_bytes_per_epoch']):>13} KiB"
            f"{_kib(r['unexplained_growth_per_1000_epochs']):>10} KiB"
            f"  {_kib(r['rss_start'])}/{_kib(r['rss_end'])}  {r['flat']}"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(f"written to {RESULTS}")
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5000)
    parser.add_argument("--every", type=int, default=100, help="epochs between samples")
    args = parser.parse_args()
    main(epochs=args.epochs, every=args.every)
