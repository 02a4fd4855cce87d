"""The report: the claims table, then one section per question, written to disk."""

from __future__ import annotations

import json
import re

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

import decaylab as dl  # noqa: E402
from decaylab import report as report_module  # noqa: E402
from decaylab.experiments.claims import MAX_CELL, MAX_HEADLINE, VERDICTS, Claim  # noqa: E402
from decaylab.report import (  # noqa: E402
    SLUGS,
    answered_claims,
    experiment_settings,
    markdown_table,
    write_report,
)
from small_data import small_digits  # noqa: E402

TINY = {
    "q1_dominance": {"lmbdas": (0.1, 5.0), "epochs": 2, "first_epochs": 1, "hidden": 6},
    "q2_factor": {"etas": (0.5,), "lmbdas": (5.0, 100.0), "batch_sizes": (10, 40), "hidden": 6},
    "q3_equilibrium": {
        "widths": (4, 8, 16),
        "epochs": 6,
        "lmbdas": (5.0, 10.0),
        "relaxation_times": 1.0,
        "ns": (100, 200),
        "batch_sizes": (),
        "sweep_hidden": 6,
    },
    "q4_initialisation": {"epochs": 3, "hidden": 6},
    "q5_layers": {"lmbdas": (0.5,), "epochs": 3, "hidden": 6, "mnist_n": 100},
    "q6_conventions": {
        "widths": (4, 8),
        "sum_lmbdas": (0.5, 4.0, 32.0),
        "mean_lmbdas": (100.0, 1000.0, 10000.0),
        "ns": (100, 200),
        "transfer_hidden": 6,
        "transfer_lmbdas": (0.1, 1.0, 10.0),
        "transfer_epochs": 2,
        "epochs": 3,
        "average_epochs": 1,
    },
    "q7_optimizers": {
        "hidden": 6,
        "timescales": (1.0, 4.0),
        "max_relaxations": 12.0,
        "average_epochs": 1,
        "transfer_timescales": (2.0, 8.0, 32.0),
        "transfer_epochs": 2,
    },
}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    result = write_report(
        out, data=small_digits(200, 100), seeds=2, overrides=TINY, progress=False, workers=1
    )
    return result, (out / "report.md").read_text(encoding="utf-8")


def test_report_has_one_section_per_question(written):
    _, text = written
    assert re.findall(r"^## Q(\d)\. ", text, flags=re.M) == ["1", "2", "3", "4", "5", "6", "7"]


def _sections(text):
    return re.split(r"^## Q\d\. ", text, flags=re.M)[1:]


def test_every_section_has_headline_table_figure_and_details(written):
    result, text = written
    for number, (record, section) in enumerate(zip(result.results, _sections(text)), start=1):
        assert section.splitlines()[2] == "**" + record.verdict.replace("*", "\\*") + "**"
        assert "\n|---|" in section
        assert f"![Figure for question {number}]({SLUGS[number - 1]}.png)" in section
        assert '<details markdown="1"><summary>' in section and "*Prediction.*" in section


def test_report_opens_with_the_sixteen_claims(written):
    _, text = written
    table = text.split("## The claims, answered")[1].split("\n\n")[1]
    rows = table.splitlines()[2:]
    assert [int(re.match(r"\| (\d+)\. ", row).group(1)) for row in rows] == list(range(1, 17))
    verdicts = [row.split(" | ")[1].strip("*") for row in rows]
    assert set(verdicts) <= set(VERDICTS)


@pytest.mark.parametrize("number", [13, 14, 15, 16])
def test_claims_of_question_7_show_their_own_statements(written, number):
    from decaylab.experiments.q7_optimizers import STATEMENTS as Q7_STATEMENTS

    _, text = written
    table = text.split("## The claims, answered")[1].split("\n\n")[1]
    row = table.splitlines()[2 + number - 1]
    assert row.startswith(f"| {number}. {Q7_STATEMENTS[number]} | ")
    assert row.endswith("| [Q7](#q7) |")


def test_claims_link_to_their_sections(written):
    _, text = written
    for number in re.findall(r"\[Q(\d)\]\(#q\d\)", text):
        assert f'<a id="q{number}"></a>' in text


def test_no_cell_or_bullet_is_longer_than_the_limit(written):
    _, text = written
    cells = [c for line in text.splitlines() if line.startswith("|") for c in line.split(" | ")]
    bullets = [line for line in text.splitlines() if line.startswith("- ")]
    assert max(len(c) for c in cells + bullets) <= MAX_CELL + 4


def test_every_headline_is_one_short_line(written):
    result, _ = written
    assert all(len(r.verdict) <= MAX_HEADLINE and "\n" not in r.verdict for r in result.results)


def _record(number, claims):
    class Fake:
        def __init__(self):
            self.number = number

        def claims(self):
            return claims

    return Fake()


def _claim(number, verdict="holds"):
    return Claim(number, "a claim", verdict, "x = 1 ± 0.1", "because", 1)


def test_a_claim_no_experiment_returns_is_undecided_not_measured():
    claims = answered_claims([_record(1, [_claim(1), _claim(2)])])
    assert [c.number for c in claims] == list(range(1, 17))  # every claim of the registry
    assert (claims[4].verdict, claims[4].evidence, claims[4].question) == (
        "undecided", "not measured", 3
    )
    assert claims[0] == _claim(1)


def test_claims_beyond_the_registry_are_added():
    claims = answered_claims([_record(7, [_claim(17, "does not hold")])])
    assert [c.number for c in claims] == list(range(1, 18))
    assert claims[-1].verdict == "does not hold"


def test_a_claim_decided_twice_is_refused():
    with pytest.raises(ValueError, match="claim 2 is decided by"):
        answered_claims([_record(1, [_claim(2)]), _record(2, [_claim(2)])])


def test_figures_are_pngs_beside_the_report(written):
    result, _ = written
    assert [p.name for p in result.figures] == [f"{slug}.png" for slug in SLUGS]
    for path in result.figures:
        assert path.parent == result.markdown.parent
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_results_json_holds_every_record(written):
    result, _ = written
    records = json.loads(result.json.read_text(encoding="utf-8"))["experiments"]
    assert [r["number"] for r in records] == [1, 2, 3, 4, 5, 6, 7]
    assert records[2]["fit"]["exponent"] == pytest.approx(result.results[2].fit.exponent)


def test_results_json_opens_with_the_claims(written):
    result, _ = written
    content = json.loads(result.json.read_text(encoding="utf-8"))
    assert list(content) == ["claims", "experiments", "environment"]
    assert [c["number"] for c in content["claims"]] == list(range(1, 17))


def test_results_json_and_the_run_line_record_what_reproduces_the_bits(written):
    import platform

    import numpy as np
    import scipy
    import threadpoolctl

    result, text = written
    environment = json.loads(result.json.read_text(encoding="utf-8"))["environment"]
    kernels = {
        (pool["internal_api"], pool["version"], pool["architecture"])
        for pool in threadpoolctl.threadpool_info()
        if pool["user_api"] == "blas"
    }
    assert environment["numpy"] == np.__version__ and environment["scipy"] == scipy.__version__
    assert environment["python"] == platform.python_version()
    assert {(b["internal_api"], b["version"], b["architecture"]) for b in environment["blas"]} == (
        kernels
    )
    run_line = next(line for line in text.splitlines() if line.startswith("*Run:*"))
    assert f"NumPy {np.__version__}, SciPy {scipy.__version__}" in run_line
    assert all(f"({architecture} kernels)" in run_line for *_, architecture in kernels)


def test_worker_processes_give_the_serial_records(written, tmp_path):
    serial, _ = written
    parallel = write_report(
        tmp_path, data=small_digits(200, 100), seeds=2, overrides=TINY, progress=False, workers=2
    )
    assert parallel.json.read_text(encoding="utf-8") == serial.json.read_text(encoding="utf-8")


class _Asked(Exception):
    """Raised by a stand-in executor once it was asked for its workers."""


@pytest.mark.parametrize("cores, expected", [(3, 3), (9, len(SLUGS))])
def test_default_workers_are_the_usable_cores_at_most_one_per_experiment(
    monkeypatch, tmp_path, cores, expected
):
    seen = []

    def executor(workers):
        seen.append(workers)
        raise _Asked  # nothing after this point depends on the count

    monkeypatch.setattr(report_module, "_executor", executor)
    monkeypatch.setattr(report_module, "usable_cores", lambda: cores)
    with pytest.raises(_Asked):
        write_report(tmp_path, data=small_digits(200, 100), progress=False)
    assert seen == [expected]


def test_report_records_its_settings_and_timings(written):
    result, text = written
    assert result.results[0].settings["seeds"] == [0, 1]
    assert set(result.seconds) == {*SLUGS, "total"}
    assert "data: small digits (n = 200 training" in text


def test_report_opens_with_the_notation_block(written):
    _, text = written
    assert text.index("## Notation") < text.index("## The claims, answered")
    assert "- **n_w**: number of weights" in text


def test_report_names_the_questions_that_also_ran_on_real_mnist(written):
    # Changed with the scans across n on real MNIST: the run line names every question
    # whose settings name a second data set, not only Q5's reader's run.
    result, text = written
    expected = [f"Q{r.number}" for r in result.results if "mnist5k" in str(r.settings)]
    assert expected
    assert f"real MNIST (mnist5k) in {', '.join(expected)}; " in text


@pytest.mark.slow
def test_diverged_runs_are_listed_in_the_report(tmp_path):
    overrides = {slug: dict(kwargs) for slug, kwargs in TINY.items()}
    overrides["q1_dominance"].update(eta=1e300, lmbdas=(1e-300,), inits=("large",))
    result = write_report(
        tmp_path,
        data=small_digits(200, 100),
        seeds=1,
        overrides=overrides,
        progress=False,
        workers=1,
    )
    text = result.markdown.read_text(encoding="utf-8")
    section = text.split("## Q1. ")[1].split("## Q2. ")[0]
    assert "*Diverged runs (1)*" in section and "eta=1e+300" in section


def test_unknown_override_is_refused(tmp_path):
    with pytest.raises(ValueError, match="'q8'"):
        write_report(tmp_path, overrides={"q8": {}}, progress=False)


@pytest.mark.parametrize("quick", [True, False])
def test_seeds_option_applies_to_every_experiment(quick):
    settings = experiment_settings(dl.load_digits(), quick=quick, seeds=4)
    assert all(kwargs["seeds"] == 4 for kwargs in settings.values())


def test_seeds_option_replaces_the_seeds_of_secondary_scans():
    # The full preset fixes Q6's scan across n at two seeds; --seeds K sets them all to K.
    data = dl.load_digits()
    assert experiment_settings(data)["q6_conventions"]["transfer_seeds"] == 2
    assert "transfer_seeds" not in experiment_settings(data, seeds=4)["q6_conventions"]


def test_quick_settings_are_smaller_than_full_ones():
    data = dl.load_digits()
    quick = experiment_settings(data, quick=True)
    assert len(quick["q3_equilibrium"]["widths"]) < 5
    assert quick["q4_initialisation"]["epochs"] < 30


def test_full_settings_meet_the_equilibrium_requirement():
    # At least five widths and three seeds in the full run (the experiment's defaults).
    import inspect

    defaults = inspect.signature(dl.equilibrium_size).parameters
    assert "widths" not in experiment_settings(dl.load_digits())["q3_equilibrium"]
    assert len(defaults["widths"].default) >= 5 and defaults["seeds"].default >= 3


def test_large_data_is_cut_and_the_report_says_so():
    big = dl.make_teacher_student(n=6000, n_inputs=8, n_classes=3, n_validation=3000, seed=0)
    cut, note = report_module._limit(big, quick=False)
    assert (cut.train.n, cut.validation.n) == (5000, 2000)
    assert "first 5000 of 6000 training" in note


@pytest.mark.parametrize(
    "cells, row",
    [(["a", "b"], "| a | b |"), (["|Σw|", "x"], "| \\|Σw\\| | x |")],
)
def test_markdown_table_escapes_pipes(cells, row):
    assert markdown_table(["h1", "h2"], [cells]).splitlines()[2] == row


@pytest.mark.parametrize(
    "settings, line",
    [
        ({"lmbda": 5.0, "seeds": [0, 1]}, "lmbda = 5; seeds = [0, 1]"),
        ({"eta": {"sgd": 0.5, "adam": 0.003}}, "eta = {sgd: 0.5, adam: 0.003}"),
    ],
)
def test_settings_line_is_compact(settings, line):
    assert report_module._settings_line(settings) == line


@pytest.mark.slow
def test_mnist_given_replaces_the_bundled_one_in_the_readers_run(tmp_path):
    # Changed with the bundled MNIST: given MNIST now runs the reader's run (two λ).
    fake = dl.make_teacher_student(n=200, n_inputs=784, n_classes=10, n_validation=100, seed=1)
    mnist = dl.Dataset(fake.train, fake.validation, fake.test, 10, "mnist")
    result = write_report(tmp_path, data=mnist, seeds=2, overrides=TINY, progress=False, workers=1)
    assert result.results[4].datasets == ["digits", "mnist", "mnist"]
    # The report's own data are MNIST: no second data set to name on the run line.
    assert "data: mnist (n = 200 training" in result.markdown.read_text(encoding="utf-8")


def _claim_rows(text):
    table = text.split("## The claims, answered")[1].split("\n\n")[1]
    return {int(re.match(r"\| (\d+)\. ", row).group(1)): row for row in table.splitlines()[2:]}


def _section(text, number):
    return text.split(f'<a id="q{number}"></a>')[1].split('<a id="q')[0]


@pytest.mark.parametrize("claim", range(1, 17))
def test_every_deciding_number_appears_in_its_section(written, claim):
    _, text = written
    row = _claim_rows(text)[claim]
    cells = row.split(" | ")
    decided_by, number = cells[2], int(re.search(r"\[Q(\d+)\]", cells[-1]).group(1))
    section = _section(text, number)
    numbers = re.findall(r"-?\d+(?:\.\d+)?(?:e[+-]\d+)?%?", decided_by)
    assert numbers and all(n in section for n in numbers)
    # Under the same name and in the same format: the whole cell, as the section shows it.
    assert f"| {claim} | {cells[1].strip('*')} | {decided_by} |" in section


def test_a_record_renders_itself_as_html_for_a_notebook(written):
    result, _ = written
    html = result.results[6]._repr_html_()
    assert html.startswith("<h3>Q7. Momentum, Adam with L2 and AdamW</h3>")
    assert "<caption>" in html and "<details>" in html and "&lt;" not in result.results[6].title


# -- writing the folder ------------------------------------------------------------------


class _Result:
    """Stands in for an experiment's record where only the writing is tested."""

    def to_dict(self):
        return {"stand-in": True}


@pytest.fixture
def fake_runs(monkeypatch):
    """Experiments that return at once and figures that are a few bytes; ``stop_at`` slug
    raises KeyboardInterrupt while its figure is being written."""
    calls = {"stop_at": None, "runs": 0}

    def run(slug, kwargs, progress):
        calls["runs"] += 1
        return _Result(), 0.0

    def figure(experiment, result, path):
        if path.stem == calls["stop_at"]:
            raise KeyboardInterrupt
        path.write_bytes(b"new figure")
        return path

    monkeypatch.setattr(report_module, "_run_experiment", run)
    monkeypatch.setattr(report_module, "_save_figure", figure)
    monkeypatch.setattr(report_module, "answered_claims", lambda results, experiments: [])
    monkeypatch.setattr(report_module, "_document", lambda *a, **k: "new report")
    return calls


def _old_report(out):
    out.mkdir()
    for name in ("report.md", "results.json", "q1_dominance.png", "notes.txt"):
        (out / name).write_text(f"old {name}")
    return {p.name: p.read_text() for p in out.iterdir()}


def test_ctrl_c_during_a_report_leaves_the_old_one_intact(tmp_path, fake_runs):
    out = tmp_path / "report"
    before = _old_report(out)
    fake_runs["stop_at"] = "q3_equilibrium"
    with pytest.raises(KeyboardInterrupt):
        write_report(out, data=small_digits(200, 100), progress=False, workers=1)
    assert {p.name: p.read_text() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


def test_a_finished_report_replaces_the_old_one_whole_and_keeps_other_files(tmp_path, fake_runs):
    out = tmp_path / "report"
    _old_report(out)
    write_report(out, data=small_digits(200, 100), progress=False, workers=1)
    files = {p.name: p.read_text() for p in out.iterdir()}
    assert files["report.md"] == "new report" and files["q1_dominance.png"] == "new figure"
    assert files["notes.txt"] == "old notes.txt"
    assert [p.name for p in tmp_path.iterdir()] == ["report"]


def _a_file(tmp_path, below: str = ""):
    (tmp_path / "file").write_text("x")
    return tmp_path / "file" / below if below else tmp_path / "file"


@pytest.mark.parametrize(
    ("below", "message"), [("", "is a file"), ("out", "cannot be written")], ids=["file", "under"]
)
def test_a_bad_out_is_refused_before_any_experiment_runs(tmp_path, fake_runs, below, message):
    with pytest.raises(ValueError, match=message):
        write_report(
            _a_file(tmp_path, below), data=small_digits(200, 100), progress=False, workers=1
        )
    assert fake_runs["runs"] == 0


def test_a_misspelt_override_is_refused_before_any_experiment_runs(tmp_path, fake_runs):
    overrides = {"q1_dominance": {"epochs": 2}, "q7_optimizers": {"timescale": (1.0,)}}
    with pytest.raises(
        ValueError, match=r"overrides\['q7_optimizers'\] has the keys \['timescale'\]"
    ):
        write_report(tmp_path / "r", data=small_digits(200, 100), overrides=overrides, workers=1)
    assert fake_runs["runs"] == 0
