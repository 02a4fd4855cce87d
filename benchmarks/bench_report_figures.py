"""What the report's figures cost to draw and save, the old way against the new.

Run ``python benchmarks/bench_report_figures.py`` (``--full`` for the full
report's presets, ``--only q3,q5`` for some questions). It runs the
experiments once, as the report does (its presets on the bundled digits),
then draws each question's figure from the record and saves it as a PNG at
the report's 120 dpi, two ways, side by side in one process:

- **old**: ``fig.savefig(path, dpi=120, bbox_inches="tight")``, as the
  report saved its figures before: matplotlib draws a constrained-layout
  figure twice (once, unrendered, to lay it out and find its tight box; once
  to render it) and measures every axis's tick labels many times over;
- **new**: :func:`decaylab.plots.figures.save_figure`, the report's way now:
  the layout engine runs once, with what cannot move the layout (spines,
  titles with nothing above them, log ticks outside the view) left out of the
  measuring, and the figure is drawn once.

Both include drawing the figure from its record (``Experiment.draw``). Times
are CPU seconds (``time.process_time``) of each figure, the best of
``--rounds`` interleaved rounds so that changes in the machine's load hit
both alike; the ratio new / old < 1 means the new way is cheaper. Each
figure is written to a PNG file (in a temporary directory), as the report
writes it. The first
figure drawn in a process also pays matplotlib's one-off costs (fonts, the
math-text parser): one figure is drawn and saved before timing so that
neither way is charged for them. The table is printed and written to
``benchmarks/results/report_figures.json`` (``--output`` to write elsewhere).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import decaylab as dl  # noqa: E402
from decaylab._blas import describe_environment, environment  # noqa: E402
from decaylab.experiments.registry import EXPERIMENTS  # noqa: E402
from decaylab.plots.figures import save_figure  # noqa: E402
from decaylab.report import experiment_settings  # noqa: E402

#: The target of the figure work: drawing and saving at most a third of the old way's CPU.
TARGET = 1 / 3


def old_way(experiment, record, path) -> None:
    experiment.draw(record).savefig(path, dpi=120, bbox_inches="tight")


def new_way(experiment, record, path) -> None:
    save_figure(experiment.draw(record), path, dpi=120)


def cpu_seconds(function, *args) -> float:
    began = time.process_time()
    function(*args)
    return time.process_time() - began


def records(quick: bool, only) -> list:
    """(experiment, record) of each question, run as the report runs it."""
    data = dl.load_digits()
    settings = experiment_settings(data, quick=quick, only=only)
    return [(e, e.run(**settings[e.slug], progress=False)) for e in EXPERIMENTS.select(only)]


def measure(runs: list, rounds: int, directory: Path) -> list[dict]:
    # Fonts, the math-text parser and matplotlib's caches are loaded by a first figure.
    new_way(*runs[0], directory / "warm-up.png")
    best = {(e.slug, way): float("inf") for e, _ in runs for way in ("old", "new")}
    for _ in range(rounds):
        for experiment, record in runs:
            for way, function in (("old", old_way), ("new", new_way)):
                path = directory / f"{experiment.slug}-{way}.png"
                seconds = cpu_seconds(function, experiment, record, path)
                key = (experiment.slug, way)
                best[key] = min(best[key], seconds)
    return [
        {
            "figure": e.slug,
            "old_s": best[e.slug, "old"],
            "new_s": best[e.slug, "new"],
            "ratio": best[e.slug, "new"] / best[e.slug, "old"],
        }
        for e, _ in runs
    ]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full report's presets")
    parser.add_argument("--only", default=None, help="questions, e.g. q3,q5")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--output", type=Path, default=Path(__file__).parent / "results" / "report_figures.json"
    )
    args = parser.parse_args(argv)
    began = time.process_time()
    runs = records(not args.full, args.only)
    print(f"experiments run in {time.process_time() - began:.1f} s CPU")
    with tempfile.TemporaryDirectory() as directory:
        rows = measure(runs, args.rounds, Path(directory))
    old, new = sum(r["old_s"] for r in rows), sum(r["new_s"] for r in rows)
    print(f"{'figure':20s} {'old s':>7s} {'new s':>7s} {'new/old':>8s}")
    for r in rows:
        print(f"{r['figure']:20s} {r['old_s']:7.2f} {r['new_s']:7.2f} {r['ratio']:8.2f}")
    print(f"{'all figures':20s} {old:7.2f} {new:7.2f} {new / old:8.2f}")
    verdict = "met" if new / old <= TARGET else "not met"
    print(f"target new/old <= {TARGET:.2f} over all figures: {verdict}")
    result = {
        "preset": "full" if args.full else "quick",
        "rounds": args.rounds,
        "figures": rows,
        "total_old_s": old,
        "total_new_s": new,
        "ratio": new / old,
        "target": TARGET,
        "target_met": new / old <= TARGET,
        "machine": platform.machine(),
        "environment": describe_environment(environment()),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
