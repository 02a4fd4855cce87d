"""What watching the weights costs: training time with and without the dynamics monitors.

Run ``python benchmarks/bench_monitoring.py``. It trains a [784, 30, 10]
network on MNIST-shaped random data (batch sizes 10 and 100) under five
set-ups, side by side in one process, and reports the best of several
repeats of each:

* ``bare``: no training metrics and the per-epoch weight statistics stubbed
  out (``layer_statistics`` replaced by a constant), the cost of SGD alone;
* ``baseline``: no training metrics (``training_metrics=False``), the
  per-epoch statistics that every run records;
* ``decomposition``: baseline plus a :class:`decaylab.DecompositionMonitor`;
* ``decomposition_displacement``: the same with ``displacement=True``;
* ``rotation``: baseline plus a :class:`decaylab.RotationMonitor`;
* ``rotation_per_step``: baseline plus ``RotationMonitor(per_step=True)``.

Overheads: per-epoch statistics = the time of one epoch's statistics
(timed alone, best of many calls) × epochs / bare (target < 5 %; the
end-to-end baseline/bare − 1 is shown too, but at a few percent it is within
timing noise); each monitor = its time/baseline − 1 (target < 25 % for the
decomposition). The
set-ups are timed in interleaved rounds so that drifts in machine load hit
them alike; times are the process's CPU time (less sensitive to other
programs than wall time), with BLAS limited to one thread when threadpoolctl
is installed. The table is printed and written to
``benchmarks/results/monitoring.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import time
from pathlib import Path

import numpy as np

import decaylab as dl
import decaylab.training as training

TARGETS = {"statistics": 0.05, "decomposition": 0.25}


def _monitors(setup: str) -> list:
    return {
        "decomposition": [dl.DecompositionMonitor()],
        "decomposition_displacement": [dl.DecompositionMonitor(displacement=True)],
        "rotation": [dl.RotationMonitor()],
        "rotation_per_step": [dl.RotationMonitor(per_step=True)],
    }.get(setup, [])


def _time_once(setup: str, data, *, batch_size: int, epochs: int, seed: int) -> float:
    net = dl.Network([784, 30, 10], init="large", seed=seed)
    original = training.layer_statistics
    if setup == "bare":
        constant = original(net.weights)
        training.layer_statistics = lambda arrays: {k: v.copy() for k, v in constant.items()}
    try:
        start = time.process_time()
        dl.train(net, data, epochs=epochs, batch_size=batch_size, eta=0.5, lmbda=5.0, seed=seed,
                 training_metrics=False, monitors=_monitors(setup), progress=False)  # fmt: skip
        return time.process_time() - start
    finally:
        training.layer_statistics = original


def _statistics_time_per_epoch(repeats: int) -> float:
    """Best time of one epoch's statistics (weights and biases, as training records them)."""
    net = dl.Network([784, 30, 10], seed=0)
    best = float("inf")
    for _ in range(repeats * 20):
        start = time.perf_counter()
        dl.layer_statistics(net.weights)
        dl.layer_statistics(net.biases)
        best = min(best, time.perf_counter() - start)
    return best


def _one_blas_thread():
    """Limit BLAS to one thread if threadpoolctl is installed; return what was done.

    Two BLAS threads on a busy two-core machine make timings of small matrix
    products erratic, and the overhead ratios are about single-core work anyway.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext(), "default (threadpoolctl not installed)"
    return threadpool_limits(limits=1, user_api="blas"), 1


def run(n: int = 3000, epochs: int = 2, repeats: int = 7, batch_sizes=(10, 100)) -> dict:
    """Time every set-up and return the results as a dict (also what the JSON holds)."""
    limit, blas_threads = _one_blas_thread()
    with limit:
        results = _run(n, epochs, repeats, batch_sizes)
    results["blas_threads"] = blas_threads
    return results


def _run(n, epochs, repeats, batch_sizes) -> dict:
    rng = np.random.default_rng(0)
    data = (rng.random((n, 784)), rng.integers(0, 10, n))
    setups = (
        "bare",
        "baseline",
        "decomposition",
        "decomposition_displacement",
        "rotation",
        "rotation_per_step",
    )
    results: dict = {
        "network": [784, 30, 10],
        "n": n,
        "epochs": epochs,
        "repeats": repeats,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "targets": TARGETS,
        "statistics_seconds_per_epoch": _statistics_time_per_epoch(repeats),
        "batch_sizes": {},
    }
    for batch_size in batch_sizes:
        _time_once("baseline", data, batch_size=batch_size, epochs=1, seed=0)  # warm-up
        best = dict.fromkeys(setups, float("inf"))
        for round_ in range(repeats):
            for setup in setups:
                seconds = _time_once(setup, data, batch_size=batch_size, epochs=epochs, seed=round_)
                best[setup] = min(best[setup], seconds)
        overhead = {
            # One epoch's statistics timed on their own, against SGD alone: precise where
            # the end-to-end difference below is lost in timing noise.
            "statistics": results["statistics_seconds_per_epoch"] * epochs / best["bare"],
            "statistics_end_to_end": best["baseline"] / best["bare"] - 1.0,
            "decomposition": best["decomposition"] / best["baseline"] - 1.0,
            "decomposition_displacement": best["decomposition_displacement"] / best["baseline"]
            - 1.0,
            "rotation": best["rotation"] / best["baseline"] - 1.0,
            "rotation_per_step": best["rotation_per_step"] / best["baseline"] - 1.0,
        }
        results["batch_sizes"][str(batch_size)] = {
            "seconds": best,
            "overhead": overhead,
            "meets_target": {k: overhead[k] < v for k, v in TARGETS.items()},
        }
    return results


def format_table(results: dict) -> str:
    """The results as a plain-text table."""
    lines = [
        f"[784, 30, 10] on {results['n']} random MNIST-shaped examples, {results['epochs']} "
        f"epoch(s), best of {results['repeats']} in process CPU time, BLAS threads: "
        f"{results['blas_threads']}",
        f"one epoch's weight and bias statistics: "
        f"{results['statistics_seconds_per_epoch'] * 1e6:.0f} µs",
        "",
        f"{'batch':>5}  {'set-up':<26} {'seconds':>8}  {'overhead':>9}  target",
    ]
    for batch_size, entry in results["batch_sizes"].items():
        for setup, seconds in entry["seconds"].items():
            key = {"baseline": "statistics_end_to_end"}.get(setup, setup)
            overhead = entry["overhead"].get(key)
            shown = "" if overhead is None else f"{overhead:+9.1%}"
            target = ""
            if key in TARGETS:
                met = entry["meets_target"][key]
                target = f"< {TARGETS[key]:.0%}: {'met' if met else 'NOT met'}"
            lines.append(f"{batch_size:>5}  {setup:<26} {seconds:8.3f}  {shown:>9}  {target}")
        direct = entry["overhead"]["statistics"]
        met = "met" if entry["meets_target"]["statistics"] else "NOT met"
        lines.append(
            f"{batch_size:>5}  {'statistics, timed alone':<26} {'':>8}  {direct:+9.1%}  "
            f"< {TARGETS['statistics']:.0%}: {met}"
        )
    lines.append("")
    lines.append(
        "overhead: baseline vs bare and statistics timed alone vs bare (per-epoch "
        "statistics); monitors vs baseline"
    )
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="training examples (default 3000)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timing (default 2)")
    parser.add_argument("--repeats", type=int, default=7, help="rounds, best kept (default 7)")
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).resolve().parent / "results" / "monitoring.json",
        help="where to write the JSON results",
    )
    args = parser.parse_args(argv)
    results = run(n=args.n, epochs=args.epochs, repeats=args.repeats)
    print(format_table(results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {args.output}")
    return results


if __name__ == "__main__":
    main()
