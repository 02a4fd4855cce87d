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

import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from decaylab._validation import check_int
from decaylab._version import __version__
from decaylab.data import Dataset, Split, load_digits
from decaylab.experiments.claims import STATEMENTS, Claim, not_measured
from decaylab.experiments.q1_dominance import early_decay_dominance
from decaylab.experiments.q2_factor import per_epoch_factor
from decaylab.experiments.q3_equilibrium import equilibrium_size
from decaylab.experiments.q4_initialisation import initialisation_comparison
from decaylab.experiments.q5_layers import layer_movement
from decaylab.experiments.q6_conventions import convention_transfer
from decaylab.experiments.q7_optimizers import optimizer_comparison
from decaylab.experiments.records import ExperimentResult, to_plain
from decaylab.experiments.runs import single_threaded_blas
from decaylab.notation import notation_markdown

__all__ = [
    "Report",
    "answered_claims",
    "claims_table",
    "experiment_settings",
    "markdown_section",
    "usable_cores",
    "write_report",
]

#: File names (without extension) of the sections, in order; one experiment each.
SLUGS = (
    "q1_dominance",
    "q2_factor",
    "q3_equilibrium",
    "q4_initialisation",
    "q5_layers",
    "q6_conventions",
    "q7_optimizers",
)

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


def _ns(n: int) -> tuple[int, ...]:
    """Training-set sizes for the n sweeps: a quarter, a half and all of n."""
    return tuple(sorted({max(10, n // 4), max(10, n // 2), n}))


def experiment_settings(data: Dataset, *, quick: bool = False, seeds: int | None = None) -> dict:
    """The keyword arguments each experiment gets in a report.

    Parameters
    ----------
    data : Dataset
        The data set the report runs on (its training-set size sets the n sweeps).
    quick : bool
        Smaller sweeps, fewer epochs and seeds: a check that runs in under a
        minute, with wide uncertainties.
    seeds : int, optional
        Number of seeds for every experiment, instead of each one's default.

    Returns
    -------
    dict of str to dict
        Keyed by the slugs of :data:`SLUGS`.
    """
    n = data.train.n
    if quick:
        settings = {
            "q1_dominance": {"lmbdas": (0.1, 5.0), "epochs": 5, "first_epochs": 3, "seeds": 1},
            "q2_factor": {"seeds": 1},
            "q3_equilibrium": {
                "widths": (16, 50, 200),
                "seeds": 2,
                "lmbdas": (5.0, 20.0),
                "ns": _ns(n)[1:],
                "batch_sizes": (10, 50),
                "max_relaxations": 40.0,
            },
            "q4_initialisation": {"epochs": 15, "seeds": 2},
            "q5_layers": {"lmbdas": (0.5, 5.0), "epochs": 15, "seeds": 2, "mnist_n": 1000},
            "q6_conventions": {
                "widths": (16, 45, 128),
                "sum_lmbdas": tuple(2.0**k for k in range(-4, 4, 2)),
                "mean_lmbdas": tuple(2.0**k for k in range(6, 16, 2)),
                "ns": _ns(n),
                "seeds": 2,
            },
            "q7_optimizers": {
                "hidden": 10,
                "seeds": 1,
                "equilibrium_epochs": 4,
                "average_epochs": 2,
                "transfer_timescales": (2.0, 8.0, 32.0),
                "transfer_epochs": 3,
            },
        }
    else:
        settings = {
            "q1_dominance": {},
            "q2_factor": {},
            # The widths on real MNIST too, unless the report already runs on MNIST.
            "q3_equilibrium": {"ns": _ns(n), "mnist": "bundled" if data.n_inputs != 784 else None},
            "q4_initialisation": {},
            "q5_layers": {},
            "q6_conventions": {"ns": _ns(n)},
            "q7_optimizers": {},
        }
    if seeds is not None:
        seeds = check_int("seeds", seeds, minimum=1)
        for kwargs in settings.values():
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


def _text(text: object) -> str:
    """Measured text as literal Markdown: the "*" of "λ*" must not start an emphasis."""
    return str(text).replace("*", "\\*")


def _cell(text: object) -> str:
    return _text(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table of literal text (pipes and asterisks escaped)."""
    return _table([_cell(h) for h in header], [[_cell(c) for c in row] for row in rows])


def _settings_line(settings: dict) -> str:
    def show(value):
        if isinstance(value, float):
            return f"{value:g}"
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(show(v) for v in value) + "]"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
        return str(value)

    return "; ".join(f"{k} = {show(v)}" for k, v in settings.items())


def anchor(number: int) -> str:
    """The id of question ``number``'s section, which the claims table links to."""
    return f"q{number}"


def section_tables(result: ExperimentResult) -> list[tuple[str, list[str], list[list[str]]]]:
    """The tables of a record as (caption, header, rows), the caption saying what it shows.

    A record with a ``tables()`` method gives them itself; otherwise its
    ``table()`` (and ``fit_table()`` / ``transfer_table()`` where present)
    are shown without a caption.
    """
    if hasattr(result, "tables"):
        return list(result.tables())
    tables = [("", *result.table())]
    for extra in ("fit_table", "transfer_table"):
        if hasattr(result, extra):
            tables.append(("", *getattr(result, extra)()))
    return tables


def markdown_section(result: ExperimentResult, figure: str | None = None) -> str:
    """One report section: headline, evidence, tables, figure, then the details.

    Parameters
    ----------
    result : ExperimentResult
    figure : str, optional
        Path of the figure relative to the Markdown file.

    Returns
    -------
    str
        The headline is the record's ``verdict`` (its answer), the bullets
        its ``evidence``; the question, the prediction and the settings sit
        in a collapsed ``<details>`` block at the end.
    """
    parts = [
        f'<a id="{anchor(result.number)}"></a>',
        "",
        f"## Q{result.number}. {result.title}",
        "",
        f"**{_text(result.verdict)}**",
        "",
    ]
    evidence = list(getattr(result, "evidence", ()))
    if evidence:
        parts += [f"- {_cell(bullet)}" for bullet in evidence] + [""]
    for caption, header, rows in section_tables(result):
        if caption:
            parts += [f"*{_text(caption)}*", ""]
        parts += [markdown_table(header, rows), ""]
    if figure is not None:
        parts += [f"![Figure for question {result.number}]({figure})", ""]
    else:
        parts += ["*No figure: no run of this question finished without diverging.*", ""]
    parts += [
        '<details markdown="1"><summary>Question, prediction and settings</summary>',
        "",
        f"*Question.* {_text(result.question)}",
        "",
        f"*Prediction.* {_text(result.prediction)}",
        "",
        f"*Settings.* {_text(_settings_line(result.settings))}",
        "",
    ]
    if result.diverged:
        parts.append(f"*Diverged runs ({len(result.diverged)})*, left out of the numbers:")
        parts += [f"- {_text(d)}" for d in result.diverged]
        parts.append("")
    parts += ["</details>", ""]
    return "\n".join(parts)


def answered_claims(results: list[ExperimentResult]) -> list[Claim]:
    """Every claim the records decide, in order, with the unmeasured ones of 1–12 filled in.

    A claim (of :data:`~decaylab.experiments.claims.STATEMENTS`) that no
    record returns shows as "undecided" with the evidence "not measured";
    claims numbered beyond 12 appear when an experiment returns them.
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
    numbers = sorted(set(STATEMENTS) | set(found))
    return [found.get(k) or not_measured(k) for k in numbers]


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
    return _table(["claim", "verdict", "decided by", "reason", "section"], rows)


# ----------------------------------------------------------------------------- running

_EXPERIMENTS = {
    "q1_dominance": early_decay_dominance,
    "q2_factor": per_epoch_factor,
    "q3_equilibrium": equilibrium_size,
    "q4_initialisation": initialisation_comparison,
    "q5_layers": layer_movement,
    "q6_conventions": convention_transfer,
    "q7_optimizers": optimizer_comparison,
}


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


def _run_experiment(slug: str, kwargs: dict, progress: bool) -> tuple[ExperimentResult, float]:
    """One experiment in this process with single-threaded BLAS: (record, seconds)."""
    began = time.perf_counter()
    with single_threaded_blas():
        result = _EXPERIMENTS[slug](**kwargs, progress=progress)
    return result, time.perf_counter() - began


def _save_figure(result: ExperimentResult, path: Path) -> Path | None:
    """Draw and save the result's figure; None when there was nothing finite to draw."""
    import decaylab.plots as plots

    try:
        fig = plots.figure_for(result)
        fig.savefig(path, dpi=120, bbox_inches="tight")
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
) -> Report:
    """Run every experiment and write ``report.md``, the figures and ``results.json``.

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
    settings = experiment_settings(data, quick=quick, seeds=seeds)
    for slug, kwargs in (overrides or {}).items():
        if slug not in settings:
            raise ValueError(
                f"overrides has the key {slug!r}; expected experiment slugs from {SLUGS}"
            )
        settings[slug].update(kwargs)
    settings["q5_layers"]["datasets"] = _layer_datasets(data, settings["q5_layers"])
    directory.mkdir(parents=True, exist_ok=True)

    jobs = {}
    for slug in SLUGS:
        jobs[slug] = dict(settings[slug])
        if slug != "q5_layers":
            jobs[slug]["data"] = data
    results, figures, seconds = [], [], {}
    start = time.perf_counter()
    bar = tqdm(
        total=len(SLUGS),
        desc="decaylab report",
        unit="question",
        disable=not progress,
        file=sys.stderr,
    )
    executor = _executor(min(workers, len(SLUGS)))
    try:
        if executor is None:
            runs = (_run_experiment(slug, jobs[slug], progress) for slug in SLUGS)
        else:
            # Whole experiments go to the workers, each run there exactly as it runs here.
            futures = [executor.submit(_run_experiment, slug, jobs[slug], False) for slug in SLUGS]
            runs = (future.result() for future in futures)
        for slug, (result, took) in zip(SLUGS, runs):
            bar.set_postfix_str(slug)
            began = time.perf_counter()
            figures.append(_save_figure(result, directory / f"{slug}.png"))
            seconds[slug] = took + time.perf_counter() - began
            results.append(result)
            bar.update()
    finally:
        bar.close()
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    seconds["total"] = time.perf_counter() - start

    markdown = directory / "report.md"
    command = "decaylab report" + " --quick" * quick
    if data.name != "digits":
        command += f" --data {'mnist PATH' if data.name == 'mnist' else data.name}"
    if seeds is not None:
        command += f" --seeds {seeds}"
    command = f"`{command}`"
    if overrides:
        command += " (with overrides from Python for " + ", ".join(overrides) + ")"
    markdown.write_text(
        _document(
            results,
            figures,
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
        "claims": [to_plain(c) for c in answered_claims(results)],
        "experiments": [r.to_dict() for r in results],
    }
    json_path.write_text(json.dumps(content, indent=1, ensure_ascii=False), encoding="utf-8")
    return Report(directory, markdown, figures, json_path, results, seconds)


def _layer_datasets(data: Dataset, kwargs: dict) -> list[Dataset]:
    """Q5's λ sweep runs on the digits; the reader's 784-input run on MNIST (given or bundled)."""
    if data.n_inputs == 784:
        kwargs.setdefault("mnist", data)
        return [load_digits()]
    return [data]


def _document(results, figures, data, *, command, quick, note, seconds, workers) -> str:
    mode = "quick (small sweeps, wide uncertainties)" if quick else "full"
    layers = results[SLUGS.index("q5_layers")]
    reader = sorted({layers.datasets[c] for c in layers.reader})
    stand_in = (
        f"real MNIST ({', '.join(reader)}, n = {layers.n[layers.reader[0]]:,})"
        if reader
        else "nothing (no MNIST given)"
    )
    timing = ", ".join(f"Q{r.number} {seconds[s]:.0f} s" for r, s in zip(results, SLUGS))
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
        claims_table(answered_claims(results)),
        "",
        f"*Run:* {command} with decaylab {__version__}, {mode}; data: {data.name} "
        f"(n = {data.train.n} training, {data.validation.n} validation examples); "
        f"the reader's 784-input run of Q5 on {stand_in}; "
        f"{seconds['total']:.0f} s on {workers} worker process{'es' * (workers > 1)} "
        f"({timing}).",
        "",
        "*Update rule* (Nielsen, eq. 93): w → (1 − ηλ/n)·w − (η/m)·Σ_x ∂C_x/∂w; biases are not "
        "decayed; sigmoid units, cross-entropy cost. Q7 sets momentum, Adam + L2 and AdamW "
        "beside it.",
        "",
    ]
    if note:
        lines += [f"*Data note:* {note}.", ""]
    for result, figure in zip(results, figures):
        lines.append(markdown_section(result, None if figure is None else figure.name))
    return "\n".join(lines)
