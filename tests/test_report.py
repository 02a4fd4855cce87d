"""The report: one section per question with numbers, verdict and figure, written to disk."""

from __future__ import annotations

import json
import re

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

import decaylab as dl  # noqa: E402
from decaylab import report as report_module  # noqa: E402
from decaylab.report import SLUGS, experiment_settings, markdown_table, write_report  # noqa: E402

TINY = {
    "q1_dominance": {"lmbdas": (0.1, 5.0), "epochs": 2, "first_epochs": 1, "hidden": 6},
    "q2_factor": {"etas": (0.5,), "lmbdas": (5.0, 100.0), "batch_sizes": (10, 40), "hidden": 6},
    "q3_equilibrium": {
        "widths": (4, 8, 16),
        "epochs": 6,
        "lmbdas": (5.0, 10.0),
        "relaxation_times": 1.0,
        "ns": (100, 200),
        "sweep_hidden": 6,
    },
    "q4_initialisation": {"epochs": 3, "hidden": 6},
    "q5_layers": {"lmbdas": (0.5,), "epochs": 3, "hidden": 6, "stand_in_n": 100},
    "q6_conventions": {
        "widths": (4, 8),
        "sum_lmbdas": (0.5, 4.0, 32.0),
        "mean_lmbdas": (100.0, 1000.0, 10000.0),
        "ns": (100, 200),
        "transfer_hidden": 6,
        "epochs": 3,
        "average_epochs": 1,
    },
}


def small_digits():
    data = dl.load_digits()
    return dl.Dataset(
        dl.Split(data.train.X[:200], data.train.y[:200]),
        dl.Split(data.validation.X[:100], data.validation.y[:100]),
        data.test,
        10,
        "small digits",
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    result = write_report(out, data=small_digits(), seeds=2, overrides=TINY, progress=False)
    return result, (out / "report.md").read_text(encoding="utf-8")


def test_report_has_one_section_per_question(written):
    _, text = written
    assert re.findall(r"^## Q(\d)\. ", text, flags=re.M) == ["1", "2", "3", "4", "5", "6"]


def test_every_section_has_a_table_prediction_verdict_and_figure(written):
    _, text = written
    sections = re.split(r"^## Q\d\. ", text, flags=re.M)[1:]
    for number, section in enumerate(sections, start=1):
        assert "\n|---|" in section
        assert "**Prediction.**" in section and "**Verdict.**" in section
        assert f"![Figure for question {number}]({SLUGS[number - 1]}.png)" in section


def test_report_verdicts_are_the_records_verdicts(written):
    result, text = written
    for record in result.results:
        assert record.verdict.replace("|", "\\|") in text


def test_figures_are_pngs_beside_the_report(written):
    result, _ = written
    assert [p.name for p in result.figures] == [f"{slug}.png" for slug in SLUGS]
    for path in result.figures:
        assert path.parent == result.markdown.parent
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_results_json_holds_every_record(written):
    result, _ = written
    records = json.loads(result.json.read_text(encoding="utf-8"))
    assert [r["number"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert records[2]["fit"]["exponent"] == pytest.approx(result.results[2].fit.exponent)


def test_report_records_its_settings_and_timings(written):
    result, text = written
    assert result.results[0].settings["seeds"] == [0, 1]
    assert set(result.seconds) == {*SLUGS, "total"}
    assert "data: small digits (n = 200 training" in text


def test_report_names_the_mnist_stand_in(written):
    _, text = written
    assert "digits enlarged to 28×28 pixels" in text


@pytest.mark.slow
def test_diverged_runs_are_listed_in_the_report(tmp_path):
    overrides = {slug: dict(kwargs) for slug, kwargs in TINY.items()}
    overrides["q1_dominance"].update(eta=1e300, lmbdas=(1e-300,), inits=("large",))
    result = write_report(
        tmp_path, data=small_digits(), seeds=1, overrides=overrides, progress=False
    )
    text = result.markdown.read_text(encoding="utf-8")
    section = text.split("## Q1. ")[1].split("## Q2. ")[0]
    assert "**Diverged runs (1)**" in section and "eta=1e+300" in section


def test_unknown_override_is_refused(tmp_path):
    with pytest.raises(ValueError, match="'q7'"):
        write_report(tmp_path, overrides={"q7": {}}, progress=False)


@pytest.mark.parametrize("quick", [True, False])
def test_seeds_option_applies_to_every_experiment(quick):
    settings = experiment_settings(dl.load_digits(), quick=quick, seeds=4)
    assert all(kwargs["seeds"] == 4 for kwargs in settings.values())


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


@pytest.mark.slow
def test_mnist_shaped_data_replaces_the_stand_in(tmp_path):
    fake = dl.make_teacher_student(n=200, n_inputs=784, n_classes=10, n_validation=100, seed=1)
    mnist = dl.Dataset(fake.train, fake.validation, fake.test, 10, "mnist")
    result = write_report(tmp_path, data=mnist, seeds=2, overrides=TINY, progress=False)
    assert result.results[4].datasets == ["digits", "mnist"]
    assert "Q5 is trained on MNIST" in result.markdown.read_text(encoding="utf-8")
