"""Run every experiment and write a Markdown report with its figures.

:func:`write_report` answers the six questions of the design notes from
fresh measurements: it runs the experiments of :mod:`decaylab.experiments`,
draws each one's figure (:mod:`decaylab.plots`), and writes ``report.md``
(one section per question: the question, the numbers, the prediction, the
verdict, the figure), the PNG figures and ``results.json`` (every record,
as plain JSON) into one directory. ``decaylab report`` on the command line
calls it.
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
from decaylab.experiments.q1_dominance import early_decay_dominance
from decaylab.experiments.q2_factor import per_epoch_factor
from decaylab.experiments.q3_equilibrium import equilibrium_size
from decaylab.experiments.q4_initialisation import initialisation_comparison
from decaylab.experiments.q5_layers import layer_movement, mnist_stand_in
from decaylab.experiments.q6_conventions import convention_transfer
from decaylab.experiments.records import ExperimentResult
from decaylab.experiments.runs import single_threaded_blas

__all__ = ["Report", "experiment_settings", "markdown_section", "write_report"]

#: File names (without extension) of the six sections, in order.
SLUGS = (
    "q1_dominance",
    "q2_factor",
    "q3_equilibrium",
    "q4_initialisation",
    "q5_layers",
    "q6_conventions",
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
        The six records, in order.
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
            "q2_factor": {
                "etas": (0.5, 2.0),
                "lmbdas": (5.0, 200.0),
                "batch_sizes": (10, 300),
                "seeds": 1,
            },
            "q3_equilibrium": {
                "widths": (16, 50, 200),
                "epochs": 20,
                "lmbdas": (2.5, 5.0, 10.0),
                "relaxation_times": 5.0,
                "ns": _ns(n)[::2],
                "seeds": 2,
            },
            "q4_initialisation": {"epochs": 15, "seeds": 2},
            "q5_layers": {"lmbdas": (0.5, 5.0), "epochs": 15, "seeds": 2, "stand_in_n": 1000},
            "q6_conventions": {
                "widths": (16, 45, 128),
                "sum_lmbdas": tuple(4.0**k for k in range(-2, 3)),
                "mean_lmbdas": tuple(4.0**k for k in range(3, 9)),
                "ns": _ns(n),
                "epochs": 10,
                "seeds": 1,
            },
        }
    else:
        settings = {
            "q1_dominance": {},
            "q2_factor": {},
            "q3_equilibrium": {"ns": _ns(n)},
            "q4_initialisation": {},
            "q5_layers": {},
            "q6_conventions": {"ns": _ns(n)},
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


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table (pipes inside cells escaped)."""
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _settings_line(settings: dict) -> str:
    def show(value):
        if isinstance(value, float):
            return f"{value:g}"
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(show(v) for v in value) + "]"
        return str(value)

    return "; ".join(f"{k} = {show(v)}" for k, v in settings.items())


def markdown_section(result: ExperimentResult, figure: str | None = None) -> str:
    """One report section: question, settings, tables, prediction, verdict, figure.

    Parameters
    ----------
    result : ExperimentResult
    figure : str, optional
        Path of the figure relative to the Markdown file.

    Returns
    -------
    str
    """
    parts = [f"## Q{result.number}. {result.title}", "", f"> {result.question}", ""]
    parts += [f"*Settings:* {_settings_line(result.settings)}", ""]
    parts += [markdown_table(*result.table()), ""]
    for extra in ("fit_table", "transfer_table"):
        if hasattr(result, extra):
            parts += [markdown_table(*getattr(result, extra)()), ""]
    parts += [f"**Prediction.** {result.prediction}", ""]
    parts += [f"**Verdict.** {result.verdict}", ""]
    if result.diverged:
        parts.append(f"**Diverged runs ({len(result.diverged)})**, left out of the numbers:")
        parts += [f"- {d}" for d in result.diverged]
        parts.append("")
    if figure is not None:
        parts += [f"![Figure for question {result.number}]({figure})", ""]
    return "\n".join(parts)


# ----------------------------------------------------------------------------- running

_EXPERIMENTS = {
    "q1_dominance": early_decay_dominance,
    "q2_factor": per_epoch_factor,
    "q3_equilibrium": equilibrium_size,
    "q4_initialisation": initialisation_comparison,
    "q5_layers": layer_movement,
    "q6_conventions": convention_transfer,
}


def _executor(workers: int) -> ProcessPoolExecutor | None:
    """``workers`` fresh processes whose BLAS uses one thread each (None for 1)."""
    if workers == 1:
        return None
    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    # "spawn" starts clean interpreters, which read those variables when they import NumPy.
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


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
    workers: int = 1,
    progress: bool | None = None,
    overrides: dict | None = None,
) -> Report:
    """Run all six experiments and write ``report.md``, the figures and ``results.json``.

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
    workers : int
        Processes to train in; above 1, runs go through
        :func:`decaylab.sweep.sweep` on a ``ProcessPoolExecutor``.
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
    workers = check_int("workers", workers, minimum=1)
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

    executor = _executor(workers)
    results, figures, seconds = [], [], {}
    start = time.perf_counter()
    try:
        with single_threaded_blas():
            bar = tqdm(
                SLUGS,
                desc="decaylab report",
                unit="question",
                disable=not progress,
                file=sys.stderr,
            )
            for slug in bar:
                bar.set_postfix_str(slug)
                began = time.perf_counter()
                kwargs = dict(settings[slug])
                if slug != "q5_layers":
                    kwargs["data"] = data
                result = _EXPERIMENTS[slug](**kwargs, executor=executor, progress=progress)
                figure = directory / f"{slug}.png"
                figure = _save_figure(result, figure)
                seconds[slug] = time.perf_counter() - began
                results.append(result)
                figures.append(figure)
    finally:
        if executor is not None:
            executor.shutdown()
    seconds["total"] = time.perf_counter() - start

    markdown = directory / "report.md"
    markdown.write_text(
        _document(results, figures, data, quick=quick, note=note, seconds=seconds, workers=workers),
        encoding="utf-8",
    )
    json_path = directory / "results.json"
    json_path.write_text(
        json.dumps([r.to_dict() for r in results], indent=1, ensure_ascii=False), encoding="utf-8"
    )
    return Report(directory, markdown, figures, json_path, results, seconds)


def _layer_datasets(data: Dataset, kwargs: dict) -> list[Dataset]:
    """Q5 runs a digits-sized network and a 784-input one (MNIST if given, else the stand-in)."""
    n = kwargs.pop("stand_in_n", 1000)
    if data.n_inputs == 784:
        return [load_digits(), data]
    return [data, mnist_stand_in(n)]


def _document(results, figures, data, *, quick, note, seconds, workers) -> str:

    mode = "quick (small sweeps, wide uncertainties)" if quick else "full"
    lines = [
        "# decaylab report: the dynamics of L2 weight decay",
        "",
        "Every number below was measured in this run; every verdict is computed from those "
        "numbers by the experiment's verdict function (thresholds in its settings). Uncertainties "
        "are ± one standard error over seeds unless stated; exponent intervals are 95 % "
        "t-intervals of a log–log least-squares fit.",
        "",
        f"- decaylab {__version__}; run: {mode}; data: {data.name} (n = {data.train.n} training, "
        f"{data.validation.n} validation examples, {data.n_inputs} inputs, {data.n_classes} "
        "classes)",
        "- update rule (Nielsen, eq. 93): w → (1 − ηλ/n)·w − (η/m)·Σ_x ∂C_x/∂w; biases are "
        "not decayed; sigmoid units, cross-entropy cost",
        "- the 784-input network of Q5 is trained on "
        + (
            "MNIST"
            if any(d == "mnist" for d in results[4].datasets)
            else "the bundled digits enlarged to 28×28 pixels (MNIST's 784 inputs, 10 classes), "
            "because MNIST is not bundled; pass `--data mnist PATH` to use the real one"
        ),
        f"- time: {seconds['total']:.0f} s in all"
        + (f" on {workers} worker processes" if workers > 1 else "")
        + " ("
        + ", ".join(f"Q{i + 1} {seconds[s]:.1f} s" for i, s in enumerate(SLUGS))
        + ")",
    ]
    if note:
        lines.append(f"- {note}")
    lines += ["", "## Answers at a glance", ""]
    lines += [
        markdown_table(
            ["question", "verdict"],
            [[f"Q{r.number}. {r.title}", r.verdict] for r in results],
        ),
        "",
    ]
    for result, figure in zip(results, figures):
        if figure is None:
            lines.append(markdown_section(result))
            lines += ["*No figure: no run of this question finished without diverging.*", ""]
        else:
            lines.append(markdown_section(result, figure.name))
    return "\n".join(lines)
