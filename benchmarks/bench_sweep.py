"""Why a sweep's process workers hold BLAS to one thread: the same sweep with and without.

Run ``python benchmarks/bench_sweep.py`` (``--quick`` for a smaller one). It
sweeps 2 × ``configs`` trainings of the book's [784, 30, 10] network on
MNIST-shaped random data (n examples, batch sizes 10 and 100, 2 epochs) on a
``ProcessPoolExecutor`` of 2 workers, once with ``blas_threads=1`` (the
default of :func:`decaylab.sweep`) and once with ``blas_threads=None`` (BLAS as
each worker has it: OpenBLAS starts one thread per core). Both run on the same
pool, in interleaved rounds so that changes in the machine's load hit them
alike; the best wall time of each is kept. The ratio
``unlimited / limited`` > 1 means the limit saves time. The table is printed
and written to ``benchmarks/results/sweep.json``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import threadpoolctl

import decaylab as dl


def train_one(batch_size: int, seed: int, n: int) -> dict:
    """One training run; module-level so that the worker processes can receive it."""
    rng = np.random.default_rng(seed)
    data = (rng.random((n, 784)), rng.integers(0, 10, n))
    net = dl.Network([784, 30, 10], init="large", seed=seed)
    hist = dl.train(net, data, epochs=2, batch_size=batch_size, eta=0.5, lmbda=5.0, seed=seed,
                    training_metrics=False, progress=False)  # fmt: skip
    return {"norm": float(hist.weights.total.norm[-1])}


def _blas_threads() -> int:
    info = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    return max(info, default=0)


def run(n: int = 2000, configs: int = 4, repeats: int = 3, workers: int = 2) -> dict:
    """Time the sweep under both settings and return the results (also what the JSON holds)."""
    results: dict = {
        "network": [784, 30, 10],
        "n": n,
        "epochs": 2,
        "workers": workers,
        "cpu_count": os.cpu_count(),
        # Other programs' load: timings from a shared machine say so.
        "load_average_at_start": os.getloadavg()[0],
        "blas_threads_per_process": _blas_threads(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "batch_sizes": {},
    }
    settings = {"limited": 1, "unlimited": None}
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as executor:
        for batch_size in (10, 100):
            grid = dl.grid_product(batch_size=[batch_size], seed=list(range(configs)), n=[n])
            dl.sweep(grid, train_one, executor=executor)  # start the workers, warm the caches
            best = dict.fromkeys(settings, float("inf"))
            rows = {}
            for _ in range(repeats):
                for name, threads in settings.items():
                    start = time.perf_counter()
                    result = dl.sweep(grid, train_one, executor=executor, blas_threads=threads)
                    best[name] = min(best[name], time.perf_counter() - start)
                    rows[name] = result.rows
            # Threaded BLAS may sum in another order: equal to rounding, not always bit for bit.
            norms = {name: np.array([row["norm"] for row in rows[name]]) for name in settings}
            difference = np.abs(norms["unlimited"] / norms["limited"] - 1.0).max()
            if difference > 1e-9:
                raise RuntimeError(
                    f"the settings trained different weights (relative {difference})"
                )
            results["batch_sizes"][str(batch_size)] = {
                "seconds": best,
                "unlimited_over_limited": best["unlimited"] / best["limited"],
                "largest_relative_difference_of_final_norms": float(difference),
            }
    return results


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 1000, 2 configurations")
    args = parser.parse_args(argv)
    results = run(n=1000, configs=2, repeats=2) if args.quick else run()
    print(
        f"sweep of [784, 30, 10] runs on {results['workers']} worker processes, "
        f"{results['cpu_count']} cores (load average {results['load_average_at_start']:.1f} at "
        f"start), BLAS {results['blas_threads_per_process']} threads per process when "
        "unlimited; best wall times"
    )
    print(
        f"{'batch':>6} {'limited (1) s':>14} {'unlimited s':>12} {'unlimited/limited':>18} "
        f"{'norms differ by':>16}"
    )
    for batch, entry in results["batch_sizes"].items():
        seconds = entry["seconds"]
        print(
            f"{batch:>6} {seconds['limited']:>14.3f} {seconds['unlimited']:>12.3f} "
            f"{entry['unlimited_over_limited']:>18.2f} "
            f"{entry['largest_relative_difference_of_final_norms']:>16.1e}"
        )
    out = Path(__file__).parent / "results" / "sweep.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
