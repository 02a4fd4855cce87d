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
  equilibrium), each alone (:func:`train_until_equilibrium`) against one stack
  per rule (:func:`train_ensemble_until_equilibrium`).

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
from decaylab.experiments import q3_equilibrium, q7_optimizers
from decaylab.experiments.adaptive import (
    train_ensemble_until_equilibrium,
    train_until_equilibrium,
)
from decaylab.experiments.registry import EXPERIMENTS
from decaylab.experiments.runs import _groups, run_many, run_one, single_threaded_blas


class _Captured(Exception):
    pass


def q3_specs(data, quick: bool) -> list:
    """The distinct runs Q3 trains under the report's preset, captured before training."""
    captured = []

    def capture(specs, data, **kwargs):
        captured.append(list(specs))
        raise _Captured

    preset = dict(EXPERIMENTS["q3"].quick if quick else {})
    preset.pop("ns", None)  # the report's n scan needs its data; Q3's default is taken
    original = q3_equilibrium.run_many
    q3_equilibrium.run_many = capture
    try:
        q3_equilibrium.equilibrium_size(data, **preset)
    except _Captured:
        pass
    finally:
        q3_equilibrium.run_many = original
    return captured[0]


def q7_runs(data, quick: bool) -> dict:
    """Q7's equilibrium runs by rule: (λ, seed) pairs and the shared settings."""
    preset = EXPERIMENTS["q7"].quick if quick else {}
    hidden, seeds = preset.get("hidden", 30), range(preset.get("seeds", 2))
    etas = {"sgd": 0.5, "momentum": 0.05, "adam": 0.003, "adamw": 0.003}
    runs = {}
    for rule in etas:
        lmbdas = [
            q7_optimizers._lmbda_for(rule, tau, eta=etas[rule], batch_size=10, beta=0.9)
            for tau in (1.0, 2.0, 4.0)
        ]
        runs[rule] = {
            "members": [(lam, seed) for lam in lmbdas for seed in seeds],
            "eta": etas[rule],
            "optimizer": q7_optimizers._optimizer(rule, 0.9),
            "max_relaxations": preset.get("max_relaxations", 60.0),
        }
    split = dl.Split(data.train.X[: data.train.n // 2], data.train.y[: data.train.n // 2])
    return {"sizes": (data.n_inputs, hidden, data.n_classes), "split": split, "rules": runs}


def _q7_nets(sizes, members):
    nets, orders = [], []
    for _, seed in members:
        net_rng, order_rng = q7_optimizers._streams(seed)
        nets.append(dl.Network(sizes, init="scaled", seed=net_rng))
        orders.append(order_rng)
    return nets, orders


def q7_alone(q7, rule) -> list[int]:
    run = q7["rules"][rule]
    nets, orders = _q7_nets(q7["sizes"], run["members"])
    epochs = []
    for net, order, (lam, _) in zip(nets, orders, run["members"]):
        optimizer = run["optimizer"]
        state = None if optimizer is None else optimizer.init(net)
        adaptive = train_until_equilibrium(
            net, q7["split"], batch_size=10, eta=run["eta"], lmbda=lam, seed=order,
            optimizer=optimizer, optimizer_state=state, max_relaxations=run["max_relaxations"],
        )  # fmt: skip
        epochs.append(adaptive.epochs)
    return epochs


def q7_stacked(q7, rule) -> list[int]:
    run = q7["rules"][rule]
    nets, orders = _q7_nets(q7["sizes"], run["members"])
    runs = train_ensemble_until_equilibrium(
        nets, q7["split"], batch_size=10, eta=run["eta"], lmbda=[m[0] for m in run["members"]],
        seed=orders, optimizer=run["optimizer"], max_relaxations=run["max_relaxations"],
    )  # fmt: skip
    return [r.epochs for r in runs]


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
    q7, results = q7_runs(data, quick), {}
    for rule in q7["rules"]:
        size = len(q7["rules"][rule]["members"])
        results[rule] = measure(
            f"Q7 {rule} ({size} runs)",
            lambda rule=rule: q7_alone(q7, rule),
            lambda rule=rule: q7_stacked(q7, rule),
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
