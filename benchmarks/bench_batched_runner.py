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

``--only steps`` measures instead the stacked step itself on the report's
small networks ([64, h, 10] on the 1,000 digits at batch 10, h = 30 and 200),
CPU time per member and step, interleaved, best of the rounds, each as the
difference of a few-epoch and a zero-epoch call (so that the fixed cost of a
call is not counted):

- **Q3's stacks**: two members with their own seeds, each with the
  decomposition monitor (eq. 93, until equilibrium in the report; here a
  fixed number of epochs), against one member trained alone by
  :func:`decaylab.train` with :class:`decaylab.DecompositionMonitor`;
- **a λ sweep**: 24 members sharing their batches, λ from 0.1 to 10, no
  monitor, against one member alone and, if JAX is installed (it is never a
  dependency), a JAX single run (jit + ``lax.scan`` over the epoch, float64;
  ``bench_training.py``'s).

A ratio alone / stacked per member > 1 means a member of the stack costs less
than its run alone. Written to ``benchmarks/results/batched_steps.json``.
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
from decaylab.experiments._stacked_decomposition import StackedDecomposition
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


STEP_SIZES = {"h = 30": [64, 30, 10], "h = 200": [64, 200, 10]}
STEP_BATCH, STEP_EPOCHS, STEP_ETA, STEP_LMBDA = 10, 3, 0.5, 5.0


def _step_pieces(sizes, X, y, use_jax: bool) -> dict:
    """Zero- and STEP_EPOCHS-epoch calls of each way of training, by name, and members."""
    common = dict(batch_size=STEP_BATCH, eta=STEP_ETA, training_metrics=False, progress=False)
    sweep = list(np.geomspace(0.1, 10.0, 24))

    def q3_stack(epochs):
        nets = [dl.Network(sizes, seed=s) for s in (1, 2)]
        observer = StackedDecomposition(2)
        dl.train_ensemble(nets, (X, y), epochs=epochs, lmbda=STEP_LMBDA, seed=[1, 2],
                          step_observer=observer, **common)  # fmt: skip

    def q3_alone(epochs):
        dl.train(dl.Network(sizes, seed=1), (X, y), epochs=epochs, lmbda=STEP_LMBDA, seed=1,
                 monitors=[dl.DecompositionMonitor()], **common)  # fmt: skip

    def sweep_stack(epochs):
        nets = [dl.Network(sizes, seed=s) for s in range(len(sweep))]
        dl.train_ensemble(nets, (X, y), epochs=epochs, lmbda=sweep, seed=1, **common)

    def sweep_alone(epochs):
        dl.train(dl.Network(sizes, seed=0), (X, y), epochs=epochs, lmbda=STEP_LMBDA, seed=1,
                 **common)  # fmt: skip

    pieces = {
        "q3_stack": (q3_stack, 2),
        "q3_alone": (q3_alone, 1),
        "sweep_stack": (sweep_stack, len(sweep)),
        "sweep_alone": (sweep_alone, 1),
    }
    jax_run = _jax_run(sizes, X, y) if use_jax else None
    if jax_run is not None:
        # One JAX epoch per call: the difference of STEP_EPOCHS calls and none.
        pieces["jax"] = (lambda epochs: [jax_run() for _ in range(epochs)], 1)
    return pieces


def _jax_run(sizes, X, y):
    """A JAX single run's epoch (bench_training.jax_epoch), or None without JAX."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
    try:
        import jax
    except ImportError:
        return None
    from bench_training import jax_epoch

    targets = np.eye(sizes[-1])[y]
    order = np.random.default_rng(1).permutation(len(X))
    return jax_epoch(jax, dl.Network(sizes, seed=0), X, targets, order, STEP_BATCH,
                     eta=STEP_ETA, multiplier=1.0 - STEP_ETA * STEP_LMBDA / len(X))  # fmt: skip


def steps(repeats: int, use_jax: bool) -> dict:
    """CPU µs per member and step of each way of training the report's small networks."""
    X, y = dl.load_digits().train
    results = {"batch_size": STEP_BATCH, "n": len(X), "epochs_timed": STEP_EPOCHS}
    n_steps = -(-len(X) // STEP_BATCH) * STEP_EPOCHS
    for label, sizes in STEP_SIZES.items():
        pieces = _step_pieces(sizes, X, y, use_jax)
        best = {(name, e): np.inf for name in pieces for e in (0, STEP_EPOCHS)}
        with single_threaded_blas(), np.errstate(over="ignore"):
            for _ in range(repeats):  # interleaved
                for (name, epochs), seconds in best.items():
                    fn = pieces[name][0]
                    start = time.process_time()
                    fn(epochs)
                    best[name, epochs] = min(seconds, time.process_time() - start)
        per = {name: 1e6 * (best[name, STEP_EPOCHS] - best[name, 0]) / (n_steps * members)
               for name, (_, members) in pieces.items()}  # fmt: skip
        row = {"us_per_member_step": per,
               "q3_alone_over_stack_member": per["q3_alone"] / per["q3_stack"],
               "alone_over_sweep_member": per["sweep_alone"] / per["sweep_stack"]}  # fmt: skip
        if "jax" in per:
            row["jax_over_sweep_member"] = per["jax"] / per["sweep_stack"]
        results[label] = row
        print(f"[64, {sizes[1]}, 10] batch {STEP_BATCH}, CPU µs per member and step: "
              + "  ".join(f"{name} {v:.1f}" for name, v in per.items()))  # fmt: skip
        print("    ratios: " + "  ".join(f"{k} {v:.2f}" for k, v in row.items()
                                         if k != "us_per_member_step"))  # fmt: skip
    return results


def run(quick: bool, repeats: int, only: str = "q3,q7", use_jax: bool = True) -> dict:
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
    if "steps" in only:
        results["steps"] = steps(max(repeats, 3), use_jax)
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
    parser.add_argument(
        "--only",
        default="q3,q7",
        help="which questions' runs: q3, q7 or both; or steps (the stacked step)",
    )
    parser.add_argument("--no-jax", action="store_true", help="steps without JAX")
    args = parser.parse_args()
    results = run(args.quick, args.repeats, args.only, use_jax=not args.no_jax)
    name = "batched_steps.json" if args.only == "steps" else "batched_runner.json"
    out = Path(__file__).parent / "results" / name
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
