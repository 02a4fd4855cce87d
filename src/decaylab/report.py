"""Run every experiment and write a Markdown report with its figures.

:func:`write_report` answers the claims of the design notes from fresh
measurements: it runs the experiments of :mod:`decaylab.experiments`, draws
each one's figure (:mod:`decaylab.plots`), and writes into one directory
``report.md`` — first the claims table (one row per claim: its verdict word,
the numbers that decide it, a short reason, a link to its section), then one
section per question (a one-line answer, evidence bullets, tables with
captions, the figure, and the question, prediction and settings folded
away) — the PNG figures and ``results.json`` (the claims and every record,
as plain JSON). ``decaylab report`` on the command line calls it.
"""

from __future__ import annotations

import inspect
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from decaylab._blas import describe_environment, environment
from decaylab._progress import progress_bar
from decaylab._validation import check_int
from decaylab._version import __version__
from decaylab.data import Dataset, Split, load_digits
from decaylab.experiments.claims import Claim, not_measured
from decaylab.experiments.cross_notes import cross_notes
from decaylab.experiments.records import (
    ExperimentResult,
    _pipe_table,
    markdown_table,
    markdown_text,
    settings_line,
    to_plain,
)
from decaylab.experiments.registry import EXPERIMENTS, Experiment
from decaylab.experiments.runs import single_threaded_blas
from decaylab.notation import notation_markdown

__all__ = [
    "Report",
    "answered_claims",
    "claims_table",
    "experiment_settings",
    "markdown_section",
    "markdown_table",
    "usable_cores",
    "write_report",
]

#: File names (without extension) of the sections, in order; one experiment each (the
#: slugs of :data:`decaylab.experiments.registry.EXPERIMENTS` when this module was imported).
SLUGS = EXPERIMENTS.slugs

#: Training examples kept from a data set larger than the digits (the full MNIST would
#: take hours); validation examples likewise.
LARGE_DATA_TRAIN = {False: 5000, True: 2000}
LARGE_DATA_VALIDATION = {False: 2000, True: 1000}


@dataclass
class Report:
    """What :func:`write_report` wrote.

    Attributes
    ----------
    directory : pathlib.Path
        Where everything went.
    markdown : pathlib.Path
        ``report.md``.
    figures : list of pathlib.Path or None
        One PNG per question, in order (None where every run diverged and
        there was nothing to draw).
    json : pathlib.Path
        ``results.json``, every record as plain JSON.
    results : list of ExperimentResult
        The records, one per experiment, in order.
    seconds : dict of str to float
        Wall-clock time of each experiment (figure included), and "total".
    """

    directory: Path
    markdown: Path
    figures: list[Path]
    json: Path
    results: list[ExperimentResult]
    seconds: dict = field(default_factory=dict)


def experiment_settings(
    data: Dataset,
    *,
    quick: bool = False,
    seeds: int | None = None,
    only: str | list | None = None,
) -> dict:
    """The keyword arguments each experiment gets in a report: its registry preset.

    Parameters
    ----------
    data : Dataset
        The data set the report runs on (its training-set size sets the n sweeps).
    quick : bool
        Smaller sweeps, fewer epochs and seeds: a check that runs in under a
        minute, with wide uncertainties.
    seeds : int, optional
        Number of seeds for every experiment, instead of each one's default;
        it also replaces a preset's seeds of a secondary scan (a key ending in
        ``_seeds``, such as question 6's ``transfer_seeds``), which then
        follow ``seeds``.
    only : str or list, optional
        The experiments to include (see :meth:`Registry.select`); all by default.

    Returns
    -------
    dict of str to dict
        Keyed by the experiments' slugs, in order.
    """
    settings = {e.slug: e.settings(data, quick=quick) for e in EXPERIMENTS.select(only)}
    if seeds is not None:
        seeds = check_int("seeds", seeds, minimum=1)
        for kwargs in settings.values():
            for key in [k for k in kwargs if k.endswith("_seeds")]:
                del kwargs[key]
            kwargs["seeds"] = seeds
    return settings


def _limit(data: Dataset, quick: bool) -> tuple[Dataset, str | None]:
    """Cut a large data set down to a size the report can afford, and say so."""
    n_train, n_val = LARGE_DATA_TRAIN[quick], LARGE_DATA_VALIDATION[quick]
    if data.train.n <= n_train and data.validation.n <= n_val:
        return data, None
    cut = Dataset(
        Split(data.train.X[:n_train], data.train.y[:n_train]),
        Split(data.validation.X[:n_val], data.validation.y[:n_val]),
        data.test,
        data.n_classes,
        data.name,
    )
    note = (
        f"{data.name}: the first {cut.train.n} of {data.train.n} training and {cut.validation.n} "
        f"of {data.validation.n} validation examples are used, to keep the run short"
    )
    return cut, note


# ----------------------------------------------------------------------------- Markdown


# One renderer for the report, the docs and notebooks: the records' own.
_text = markdown_text
_settings_line = settings_line


def _cell(text: object) -> str:
    return _text(text).replace("|", "\\|").replace("\n", " ")


def anchor(number: int) -> str:
    """The id of question ``number``'s section, which the claims table links to."""
    return f"q{number}"


def section_tables(result: ExperimentResult) -> list[tuple[str, list[str], list[list[str]]]]:
    """The tables of a record as (caption, header, rows) (see ``captioned_tables``)."""
    return [
        (t.caption, list(t.header), [list(r) for r in t.rows]) for t in result.captioned_tables()
    ]


def markdown_section(
    result: ExperimentResult, figure: str | None = None, notes: list[str] | tuple = ()
) -> str:
    """One report section: headline, evidence, tables, claims, notes, figure, then the details.

    Parameters
    ----------
    result : ExperimentResult
    figure : str, optional
        Path of the figure relative to the Markdown file.
    notes : list of str
        Computed sentences shown after the tables (e.g. another section's
        measurement of the same quantity, :func:`~decaylab.experiments.cross_notes.cross_notes`).

    Returns
    -------
    str
        ``result.section(notes).markdown(figure)``: the headline is the
        record's ``verdict`` (its answer), the bullets its ``evidence``; the
        claims it decides follow its tables with the numbers that decide them;
        the question, the prediction and the settings sit in a collapsed
        ``<details>`` block at the end.
    """
    return result.section(notes).markdown(figure)


def answered_claims(
    results: list[ExperimentResult], experiments: list[Experiment] | None = None
) -> list[Claim]:
    """Every claim the records decide, in order, with the unmeasured ones filled in.

    Parameters
    ----------
    results : list of ExperimentResult
    experiments : list of Experiment, optional
        The experiments of the run: each of their claims that no record
        returns shows as "undecided" with the evidence "not measured". By
        default every experiment of the registry
        (:data:`~decaylab.experiments.registry.EXPERIMENTS`).

    Returns
    -------
    list of Claim
        Also the claims a record returns beyond those, in order of number.
    """
    found = {}
    for result in results:
        for claim in result.claims():
            if claim.number in found:
                raise ValueError(
                    f"claim {claim.number} is decided by questions {found[claim.number].question} "
                    f"and {claim.question}; expected one experiment per claim"
                )
            found[claim.number] = claim
    experiments = EXPERIMENTS if experiments is None else experiments
    statements = {k: (text, e.number) for e in experiments for k, text in e.claims.items()}
    numbers = sorted(set(statements) | set(found))
    return [found.get(k) or not_measured(k, *statements[k]) for k in numbers]


def claims_table(claims: list[Claim]) -> str:
    """The claims table of the report: claim, verdict, the deciding numbers, reason, section."""
    rows = [
        [
            _cell(f"{c.number}. {c.statement}"),
            f"**{c.verdict}**",
            _cell(c.evidence),
            _cell(c.reason),
            f"[Q{c.question}](#{anchor(c.question)})" if c.question else "",
        ]
        for c in claims
    ]
    return _pipe_table(["claim", "verdict", "decided by", "reason", "section"], rows)


# ----------------------------------------------------------------------------- running


def usable_cores() -> int:
    """The number of cores this process may run on (its CPU affinity where known)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _executor(workers: int) -> ProcessPoolExecutor | None:
    """``workers`` fresh processes whose BLAS uses one thread each (None for 1).

    Whole experiments are sent, not single runs: a run sent alone would lose
    the ensemble training of λ scans, which is both faster and what a serial
    run computes (ensembles sum in another order, in the last bits).
    """
    if workers == 1:
        return None
    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    # "spawn" starts clean interpreters, which read those variables when they import NumPy.
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def _run_experiment(run, kwargs: dict, progress: bool) -> tuple[ExperimentResult, float]:
    """One experiment's ``run`` in this process with single-threaded BLAS: (record, seconds)."""
    began = time.perf_counter()
    with single_threaded_blas():
        result = run(**kwargs, progress=progress)
    return result, time.perf_counter() - began


def _save_figure(experiment: Experiment, result: ExperimentResult, path: Path) -> Path | None:
    """Draw and save the result's figure; None when there was nothing finite to draw."""
    try:
        from decaylab.plots.figures import save_figure

        save_figure(experiment.draw(result), path, dpi=120)
    except ValueError:
        # Only when every run diverged: log axes with no finite value to show.
        if not result.diverged:
            raise
        path.unlink(missing_ok=True)
        return None
    return path


def write_report(
    out: str | os.PathLike = "decaylab-report",
    *,
    quick: bool = False,
    data: Dataset | None = None,
    seeds: int | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    overrides: dict | None = None,
    only: str | list | None = None,
) -> Report:
    """Run the experiments and write ``report.md``, the figures and ``results.json``.

    Parameters
    ----------
    out : str or path-like
        Directory to write into (created if needed; files in it are replaced).
    quick : bool
        Smaller sweeps, fewer epochs and seeds (see :func:`experiment_settings`).
    data : Dataset, optional
        The bundled digits by default. A larger data set (e.g. MNIST) is cut
        to its first few thousand examples, which the report states.
    seeds : int, optional
        Seeds per configuration for every experiment.
    workers : int, optional
        Processes to run the experiments in, each with a single-threaded
        BLAS; every usable core (:func:`usable_cores`) by default, 1 for a
        serial run in this process. Whole experiments go to the workers
        (never more workers than experiments), each run exactly as it runs
        serially (λ scans trained together as ensembles), so the records are
        bit for bit those of ``workers=1``.
    progress : bool or None
        Progress bars on standard error; by default when it is a terminal.
    overrides : dict of str to dict, optional
        Keyword arguments that replace the defaults of single experiments,
        keyed by slug, e.g. ``{"q3_equilibrium": {"widths": (16, 64, 256)}}``.
    only : str or list, optional
        The experiments to run, by short name, slug or number ("q3,q5"; see
        :meth:`~decaylab.experiments.registry.Registry.select`); every
        experiment of :data:`~decaylab.experiments.registry.EXPERIMENTS` by default.
        The claims table lists the claims of the experiments run.

    Returns
    -------
    Report
    """
    directory = Path(out)
    workers = usable_cores() if workers is None else check_int("workers", workers, minimum=1)
    if progress is None:
        progress = sys.stderr.isatty()
    if data is None:
        data = load_digits()
    elif not isinstance(data, Dataset):
        raise TypeError(f"data has type {type(data).__name__}; expected a decaylab.Dataset")
    data, note = _limit(data, quick)
    experiments = EXPERIMENTS.select(only)
    settings = experiment_settings(data, quick=quick, seeds=seeds, only=only)
    for slug, kwargs in (overrides or {}).items():
        if slug not in EXPERIMENTS.slugs:
            raise ValueError(
                f"overrides has the key {slug!r}; expected experiment slugs from "
                f"{EXPERIMENTS.slugs}"
            )
        _check_override(EXPERIMENTS[slug], kwargs)
        settings.get(slug, {}).update(kwargs)
    # Written into a folder beside ``out`` and moved into place whole at the end.
    final, directory = directory, _staging_folder(directory)
    jobs = [(e, e.inputs(data, settings[e.slug])) for e in experiments]
    start = time.perf_counter()
    try:
        results, figures, seconds = _run_all(jobs, directory, workers=workers, progress=progress)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)  # Ctrl-C too: ``out`` stays as it was
        raise
    seconds["total"] = time.perf_counter() - start

    markdown = directory / "report.md"
    command = "decaylab report" + " --quick" * quick
    if data.name != "digits":
        # The bundled real MNIST is named "mnist5k"; "mnist" is a file the reader gave.
        source = {"mnist5k": "mnist", "mnist": "mnist PATH"}.get(data.name, data.name)
        command += f" --data {source}"
    if seeds is not None:
        command += f" --seeds {seeds}"
    command = f"`{command}`"
    if overrides:
        command += " (with overrides from Python for " + ", ".join(overrides) + ")"
    markdown.write_text(
        _document(
            results,
            figures,
            experiments,
            data,
            command=command,
            quick=quick,
            note=note,
            seconds=seconds,
            workers=workers,
        ),
        encoding="utf-8",
    )
    json_path = directory / "results.json"
    content = {
        "claims": [to_plain(c) for c in answered_claims(results, experiments)],
        "experiments": [r.to_dict() for r in results],
        # Same seed, same bits holds only with these versions and BLAS kernels.
        "environment": environment(),
    }
    json_path.write_text(json.dumps(content, indent=1, ensure_ascii=False), encoding="utf-8")
    _publish(directory, final)
    figures = [None if f is None else final / f.name for f in figures]
    return Report(final, final / markdown.name, figures, final / json_path.name, results, seconds)


#: What a report writes; other files in ``out`` are kept when it is replaced.
def _report_files() -> set[str]:
    return {"report.md", "results.json", *(f"{slug}.png" for slug in SLUGS)}


def _check_override(experiment: Experiment, kwargs: object) -> None:
    """Refuse an override that the experiment does not take, before any experiment runs."""
    slug = experiment.slug
    if not isinstance(kwargs, dict):
        raise TypeError(
            f"overrides[{slug!r}] has type {type(kwargs).__name__}; expected a dict of keyword "
            "arguments"
        )
    parameters = inspect.signature(experiment.run).parameters
    # Preset keys that the experiment's inputs consume are taken too.
    taken = set(parameters) - {"data", "progress"} | set(experiment.quick) | set(experiment.full)
    unknown = sorted(set(kwargs) - taken)
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        raise ValueError(
            f"overrides[{slug!r}] has the keys {unknown}, which {slug} does not take; "
            f"expected some of {sorted(taken)}"
        )


def _staging_folder(out: Path) -> Path:
    """A new hidden folder beside ``out`` to write the report into; checks ``out`` first."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"out={str(out)!r} is a file; expected a directory to write into")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # the permissions a new ``out`` gets, not mkdtemp's 0700
        return staging
    except OSError as exc:
        raise ValueError(
            f"out={str(out)!r} cannot be written ({exc.strerror or exc}); expected a directory "
            "in a writable place"
        ) from None


def _publish(staging: Path, out: Path) -> None:
    """Move the finished report in ``staging`` to ``out`` whole, keeping ``out``'s other files.

    The old folder is renamed aside before the new one takes its name, and put back
    if that fails, so ``out`` holds either the old report or the new one, never a mix.
    Files of the old folder that a report does not write are then moved into the new
    one; the old folder is removed only once they all are.
    """
    if not out.exists():
        os.replace(staging, out)
        return
    old = out.with_name(staging.name.replace(".partial", ".old"))
    os.replace(out, old)
    try:
        os.replace(staging, out)
    except BaseException:
        os.replace(old, out)
        raise
    for entry in old.iterdir():
        if entry.name not in _report_files():
            os.replace(entry, out / entry.name)
    shutil.rmtree(old, ignore_errors=True)


def _run_all(jobs, directory: Path, *, workers: int, progress: bool):
    """Run each (experiment, keyword arguments) job and save its figure into ``directory``.

    Returns (records, figure paths or None, seconds by slug), in the jobs' order.
    """
    results, figures, seconds = [], [], {}
    bar = progress_bar(
        total=len(jobs),
        desc="decaylab report",
        unit="question",
        disable=not progress,
        file=sys.stderr,
    )
    executor = None
    try:
        executor = _executor(min(workers, len(jobs)))
        if executor is None:
            runs = (_run_experiment(e.run, kwargs, progress) for e, kwargs in jobs)
        else:
            # Whole experiments go to the workers, each run there exactly as it runs here.
            futures = [executor.submit(_run_experiment, e.run, kw, False) for e, kw in jobs]
            runs = (future.result() for future in futures)
        for (experiment, _), (result, took) in zip(jobs, runs):
            bar.set_postfix_str(experiment.slug)
            began = time.perf_counter()
            figures.append(_save_figure(experiment, result, directory / f"{experiment.slug}.png"))
            seconds[experiment.slug] = took + time.perf_counter() - began
            results.append(result)
            bar.update()
    finally:
        bar.close()
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    return results, figures, seconds


def _stand_in(results) -> str:
    """Which questions also ran on another data set (real MNIST), named from their settings.

    A record names such data under ``mnist`` (Q3's widths, Q5's reader's run) or
    ``transfer_data`` (the scans across n of Q6 and Q7).
    """
    where: dict[str, list[str]] = {}
    for result in results:
        for key in ("mnist", "transfer_data"):
            name = result.settings.get(key)
            if isinstance(name, str) and name != result.settings.get("data"):
                where.setdefault(name, []).append(f"Q{result.number}")
    return "".join(f"real MNIST ({name}) in {', '.join(qs)}; " for name, qs in where.items())


def _document(
    results, figures, experiments, data, *, command, quick, note, seconds, workers
) -> str:
    mode = "quick (small sweeps, wide uncertainties)" if quick else "full"
    timing = ", ".join(f"Q{e.number} {seconds[e.slug]:.0f} s" for e in experiments)
    lines = [
        "# decaylab report: the dynamics of L2 weight decay",
        "",
        "Each claim below gets a verdict word computed from this run's numbers by a verdict "
        "function (thresholds in its section's settings). ± is one standard error over seeds; "
        "intervals in brackets are 95 % intervals.",
        "",
        notation_markdown(),
        "## The claims, answered",
        "",
        claims_table(answered_claims(results, experiments)),
        "",
        f"*Run:* {command} with decaylab {__version__}, {mode}; data: {data.name} "
        f"(n = {data.train.n} training, {data.validation.n} validation examples); "
        f"{_stand_in(results)}"
        f"{seconds['total']:.0f} s on {workers} worker process{'es' * (workers > 1)} "
        f"({timing}); {describe_environment(environment())}.",
        "",
        "*Update rule* (Nielsen, eq. 93): w → (1 − ηλ/n)·w − (η/m)·Σ_x ∂C_x/∂w; biases are not "
        "decayed; sigmoid units, cross-entropy cost. Q7 sets momentum, Adam + L2 and AdamW "
        "beside it.",
        "",
    ]
    if note:
        lines += [f"*Data note:* {note}.", ""]
    notes = cross_notes(results)
    for result, figure in zip(results, figures):
        shown = None if figure is None else figure.name
        lines.append(markdown_section(result, shown, notes.get(result.number, ())))
    return "\n".join(lines)
