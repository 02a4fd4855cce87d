"""The registry of experiments: one list that the report, the CLI and the claims table follow."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from decaylab.cli import main  # noqa: E402
from decaylab.experiments.claims import STATEMENTS  # noqa: E402
from decaylab.experiments.registry import (  # noqa: E402
    EXPERIMENTS,
    Experiment,
    Registry,
    TrainingSizes,
)
from decaylab.report import write_report  # noqa: E402
from small_data import small_digits  # noqa: E402
from toy_question import STATEMENT, TOY  # noqa: E402


@pytest.fixture
def toy():
    EXPERIMENTS.register(TOY)
    yield TOY
    EXPERIMENTS.unregister(TOY.slug)


def test_the_registry_lists_the_questions_in_order():
    assert [e.number for e in EXPERIMENTS][:7] == [1, 2, 3, 4, 5, 6, 7]


def test_the_registry_holds_every_claim_of_the_design_notes():
    statements = EXPERIMENTS.statements()
    assert {k: statements[k] for k in STATEMENTS} == STATEMENTS


@pytest.mark.parametrize("key", ["q3", "q3_equilibrium", 3])
def test_an_experiment_is_found_by_short_name_slug_or_number(key):
    assert EXPERIMENTS[key].slug == "q3_equilibrium"


def test_select_keeps_the_registry_order():
    assert [e.slug for e in EXPERIMENTS.select("q5, q3")] == ["q3_equilibrium", "q5_layers"]


@pytest.mark.parametrize("only", ["q9", "", "q3,nine"])
def test_select_refuses_unknown_names(only):
    with pytest.raises(ValueError, match="only"):
        EXPERIMENTS.select(only)


def test_a_second_experiment_with_a_taken_number_is_refused(toy):
    clash = Experiment("other", TOY.record, TOY.run, {99: "x"})
    with pytest.raises(ValueError, match="clashes"):
        EXPERIMENTS.register(clash)


def test_a_claim_decided_by_two_experiments_is_refused():
    registry = Registry([TOY])
    other = Experiment("q1_dominance", EXPERIMENTS[1].record, TOY.run, {17: "again"})
    with pytest.raises(ValueError, match=r"claims \[17\]"):
        registry.register(other)


@pytest.mark.parametrize(
    "fractions, n, sizes", [((0.25, 0.5, 1.0), 1000, (250, 500, 1000)), ((0.5, 1.0), 12, (10, 12))]
)
def test_training_sizes_are_fractions_of_n(fractions, n, sizes):
    assert TrainingSizes(fractions).resolve(n) == sizes


def test_a_toy_question_appears_in_the_report_and_the_claims_table(toy, tmp_path):
    report = write_report(tmp_path, data=small_digits(100, 50), quick=True, only="q8", workers=1)
    text = report.markdown.read_text(encoding="utf-8")
    assert re.findall(r"^## Q(\d+)\. ", text, flags=re.M) == ["8"]
    table = text.split("## The claims, answered")[1].split("\n\n")[1]
    assert table.splitlines()[2].startswith(f"| 17. {STATEMENT} | ")
    assert (tmp_path / "q8_toy.png").read_bytes()[:4] == b"\x89PNG"


def test_the_command_line_runs_a_toy_question_alone(toy, tmp_path, capsys):
    args = ["report", "--quick", "--only", "q8", "--out", str(tmp_path), "--workers", "1"]
    assert main(args + ["--no-progress"]) == 0
    assert "(Q8 " in capsys.readouterr().out
    assert "## Q8. A toy question" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_the_command_line_refuses_an_unknown_question(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--only", "q99"])
    assert "--only q99" in capsys.readouterr().err
