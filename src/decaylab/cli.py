"""The ``decaylab`` command.

``decaylab report [--out DIR] [--quick] [--only q3,q5] [--data digits | --data mnist [PATH]]
[--seeds K] [--workers N]`` runs every experiment (or those named by ``--only``), writes
``report.md`` with its figures and ``results.json`` into DIR, and prints where they are.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from decaylab.experiments.registry import EXPERIMENTS

    titles = ", ".join(f"q{e.number} {e.title[0].lower()}{e.title[1:]}" for e in EXPERIMENTS)
    parser = argparse.ArgumentParser(
        prog="decaylab",
        description="Measure the dynamics of L2 weight decay in networks trained by SGD.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    report = commands.add_parser(
        "report",
        help="run every experiment and write a Markdown report with figures",
        usage=(
            "decaylab report [--out DIR] [--quick] [--only q3,q5] "
            "[--data digits | --data mnist [PATH]] [--seeds K] [--workers N] [--no-progress]"
        ),
        description=(
            f"Run every experiment ({titles}) and write report.md, which opens with the table "
            "of the claims and their verdicts, one PNG figure per question and results.json "
            "into DIR."
        ),
    )
    report.add_argument(
        "--out",
        metavar="DIR",
        default="decaylab-report",
        help="directory to write into (default: %(default)s)",
    )
    report.add_argument(
        "--quick",
        action="store_true",
        help="small sweeps, few epochs and seeds: under a minute, wide uncertainties",
    )
    report.add_argument(
        "--only",
        metavar="QUESTIONS",
        default=None,
        help="comma-separated questions to run, e.g. q3,q5 (default: all of "
        f"{EXPERIMENTS.names()})",
    )
    report.add_argument(
        "--data",
        nargs="+",
        metavar="SOURCE",
        default=["digits"],
        help="'digits' (bundled 8x8 digits, the default), 'mnist' (the bundled 5,000 real "
        "MNIST images) or 'mnist PATH' with PATH Nielsen's mnist.pkl.gz or a directory of "
        "the MNIST IDX files",
    )
    report.add_argument(
        "--seeds",
        type=int,
        metavar="K",
        default=None,
        help="seeds per configuration for every experiment and every scan in it "
        "(default: each experiment's own)",
    )
    report.add_argument(
        "--workers",
        type=int,
        metavar="N",
        default=None,
        help="run the experiments in N processes, each with a single-threaded BLAS (default: "
        "every usable core); 1 runs serially in this process, with identical results",
    )
    report.add_argument(
        "--no-progress", action="store_true", help="do not show progress bars on standard error"
    )
    return parser


def _load(parser: argparse.ArgumentParser, values: list[str]):
    from decaylab.data import load_digits, load_mnist

    name, *rest = values
    if name == "digits" and not rest:
        return load_digits()
    if name == "mnist" and not rest:
        return load_mnist()
    if name == "mnist" and len(rest) == 1:
        try:
            return load_mnist(rest[0])
        except (ValueError, OSError) as exc:
            parser.error(f"--data mnist {rest[0]}: {exc}")
    parser.error(
        f"--data {' '.join(values)} is not recognised; expected 'digits', 'mnist' or 'mnist PATH'"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``decaylab`` command line; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name; ``sys.argv[1:]`` by default.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "report":
        if args.seeds is not None and args.seeds < 1:
            parser.error(f"--seeds {args.seeds} is too small; expected a count >= 1")
        if args.workers is not None and args.workers < 1:
            parser.error(f"--workers {args.workers} is too small; expected a count >= 1")
        from decaylab.experiments.registry import EXPERIMENTS
        from decaylab.report import write_report

        try:
            experiments = EXPERIMENTS.select(args.only)
        except ValueError as exc:
            parser.error(f"--only {args.only}: {exc}")
        data = _load(parser, args.data)

        try:
            report = write_report(
                args.out,
                quick=args.quick,
                data=data,
                seeds=args.seeds,
                workers=args.workers,
                progress=False if args.no_progress else None,
                only=args.only,
            )
        except (ValueError, TypeError, OSError) as exc:
            # --out is checked before any experiment runs; one line, no traceback.
            print(f"decaylab report: error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(f"decaylab report: interrupted; {args.out} is left as it was", file=sys.stderr)
            return 130
        timings = ", ".join(f"Q{e.number} {report.seconds[e.slug]:.1f} s" for e in experiments)
        print(f"wrote {report.markdown} in {report.seconds['total']:.0f} s ({timings})")
        print(f"figures and results.json are beside it in {report.directory}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
