"""What stacking buys the report's two slowest questions: Q3's and Q7's equilibrium runs.

Run ``python benchmarks/bench_batched_runner.py`` (``--quick`` for the
report's quick presets). It measures CPU time (``time.process_time``, BLAS
on one thread) of the same runs trained two ways, in interleaved rounds so
that changes in the machine's load hit both alike, keeping the best of each:

- **Q3**: the run specs :func:`decaylab.equilibrium_size` builds on the
  bundled digits (until equilibrium, each with the decomposition monitor and
  its end-of-run measurements), each trained alone (:func:`run_one`, as the
  report did before the batched runner) against :func:`run_many`, which
  stacks the runs of one shape, batch size and data;
- **Q7**: the equilibrium runs of :func:`decaylab.optimizer_comparison` (each
  rule at each of its λ and seeds, from the scaled initialisation, until
  equilibrium), each alone (:func:`run_one`, :func:`train_until_equilibrium`)
  against :func:`run_many`, which stacks them per rule (and seed)
  (:func:`train_ensemble_until_equilibrium`), as the report does.

The ratio alone / stacked > 1 means stacking saves CPU time. The table is
printed and written to ``benchmarks/results/batched_runner.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

import decaylab as dl
from decaylab.experiments import q3_equilibrium
from decaylab.experiments.q7_equilibria import equilibrium_specs
from decaylab.experiments.q7_factors import lmbda_for, optimizer_of
from decaylab.experiments.registry import EXPERIMENTS
from decaylab.experiments.runs import _groups, run_many, run_one, single_threaded_blas


class _Captured(Exception):
    pass


def q3_specs(data, quick: bool) -> list:
    """The distinct runs Q3 trains under the report's preset (each condition at each
    seed, once), captured before training."""
    from dataclasses import replace

    captured = []

    def capture(conditions, seeds, data, measure, **kwargs):
        distinct = dict.fromkeys(conditions.values())
        captured.extend(replace(spec, seed=seed) for spec in distinct for seed in seeds)
        raise _Captured

    preset = dict(EXPERIMENTS["q3"].quick if quick else {})
    preset.pop("ns", None)  # the report's n scan needs its data; Q3's default is taken
    original = q3_equilibrium.tabulate
    q3_equilibrium.tabulate = capture
    try:
        q3_equilibrium.equilibrium_size(data, **preset)
    except _Captured:
        pass
    finally:
        q3_equilibrium.tabulate = original
    return captured


def q7_runs(data, quick: bool) -> dict:
    """Q7's equilibrium runs by rule, as :func:`decaylab.optimizer_comparison` builds them."""
    preset = EXPERIMENTS["q7"].quick if quick else {}
    hidden, seeds = preset.get("hidden", 30), tuple(range(preset.get("seeds", 2)))
    etas = {"sgd": 0.5, "momentum": 0.05, "adam": 0.003, "adamw": 0.003}
    lmbdas = {
        rule: np.array([lmbda_for(rule, tau, eta=eta, batch_size=10, beta=0.9)
                        for tau in (1.0, 2.0, 4.0)])
        for rule, eta in etas.items()
    }  # fmt: skip
    specs = equilibrium_specs(
        (data.n_inputs, hidden, data.n_classes), seeds, lmbdas, etas=etas, beta=0.9,
        batch_size=10, n_train=data.train.n // 2,
        max_relaxations=preset.get("max_relaxations", 60.0),
    )  # fmt: skip
    return {rule: [s for s in specs if s.rule == optimizer_of(rule, 0.9)] for rule in etas}


def _cpu(fn) -> tuple[float, object]:
    start = time.process_time()
    with single_threaded_blas():
        result = fn()
    return time.process_time() - start, result


def measure(label: str, alone, stacked, repeats: int) -> dict:
    """Best CPU time of each way over interleaved rounds, and what each trained."""
    best = {"alone": np.inf, "stacked": np.inf}
    for _ in range(repeats):
        for name, fn in (("alone", alone), ("stacked", stacked)):
            seconds, result = _cpu(fn)
            best[name] = min(best[name], seconds)
            best[f"{name}_result"] = result
    row = {
        "alone_s": best["alone"],
        "stacked_s": best["stacked"],
        "alone_over_stacked": best["alone"] / best["stacked"],
        "same_epochs": best["alone_result"] == best["stacked_result"],
    }
    print(f"{label:28s} alone {row['alone_s']:7.2f} s  stacked {row['stacked_s']:7.2f} s  "
          f"ratio {row['alone_over_stacked']:5.2f}  same epochs: {row['same_epochs']}")  # fmt: skip
    return row


def run(quick: bool, repeats: int, only: str = "q3,q7") -> dict:
    data = dl.load_digits()
    results: dict = {
        "preset": "quick" if quick else "full",
        "repeats": repeats,
        "cpu_count": os.cpu_count(),
        # Other programs' load: CPU times from a shared machine still vary with it.
        "load_average_at_start": os.getloadavg()[0],
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    if "q3" in only:
        results.update(_q3(data, quick, repeats))
    if "q7" in only:
        results["q7"] = _q7(data, quick, repeats)
    return results


def _q3(data, quick: bool, repeats: int) -> dict:
    results = {}
    specs = q3_specs(data, quick)
    groups = _groups(specs)
    results["q3_runs"], results["q3_group_sizes"] = len(specs), sorted(len(g) for g in groups)

    def epochs(outcomes):
        return [o.history.n_epochs for o in outcomes]

    results["q3"] = measure(
        f"Q3 ({len(specs)} runs, {len(groups)} stacks)",
        lambda: epochs([run_one(spec, data) for spec in specs]),
        lambda: epochs(run_many(specs, data)),
        repeats,
    )
    return results


def _q7(data, quick: bool, repeats: int) -> dict:
    results = {}
    for rule, specs in q7_runs(data, quick).items():
        results[rule] = measure(
            f"Q7 {rule} ({len(specs)} runs)",
            lambda specs=specs: [run_one(spec, data).history.n_epochs for spec in specs],
            lambda specs=specs: [o.history.n_epochs for o in run_many(specs, data)],
            repeats,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the report's quick presets")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved rounds (best kept)")
    parser.add_argument("--only", default="q3,q7", help="which questions' runs: q3, q7 or both")
    args = parser.parse_args()
    results = run(args.quick, args.repeats, args.only)
    out = Path(__file__).parent / "results" / "batched_runner.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
