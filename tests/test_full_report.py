"""The full report checked in with the docs: its command still gives its verdict words."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from decaylab._version import __version__
from decaylab.experiments.claims import MAX_CELL, MAX_HEADLINE
from decaylab.experiments.registry import EXPERIMENTS

DOCS = Path(__file__).resolve().parent.parent / "docs"
REPORT = DOCS / "report"


def _hooks():
    pytest.importorskip("mkdocs")
    spec = importlib.util.spec_from_file_location("docs_hooks_full", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _claims(path: Path) -> list[tuple[int, str]]:
    content = json.loads(path.read_text(encoding="utf-8"))
    return [(c["number"], c["verdict"]) for c in content["claims"]]


def _reads_at_a_glance(text: str) -> None:
    """The report's shape: every claim a row, every section a one-line headline, short cells."""
    table = text.split("## The claims, answered", 1)[1].split("\n\n")[1]
    numbers = [int(re.match(r"\| (\d+)\. ", row).group(1)) for row in table.splitlines()[2:]]
    assert numbers == sorted(EXPERIMENTS.statements())
    sections = re.findall(r"^## Q(\d+)\. .*\n\n\*\*(.*)\*\*$", text, flags=re.M)
    assert [int(number) for number, _ in sections] == [e.number for e in EXPERIMENTS]
    assert max(len(headline) for _, headline in sections) <= MAX_HEADLINE
    cells = [c for line in text.splitlines() if line.startswith("|") for c in line.split(" | ")]
    bullets = [line for line in text.splitlines() if line.startswith("- ")]
    assert max(len(c) for c in cells + bullets) <= MAX_CELL + 4


def test_checked_in_report_names_its_command_and_version():
    text = (REPORT / "report.md").read_text(encoding="utf-8")
    assert f"*Run:* `decaylab report` with decaylab {__version__}, full" in text


def test_checked_in_report_reads_at_a_glance():
    _reads_at_a_glance((REPORT / "report.md").read_text(encoding="utf-8"))


def test_checked_in_report_has_its_figures():
    text = (REPORT / "report.md").read_text(encoding="utf-8")
    for name in re.findall(r"\]\(([\w-]+\.png)\)", text):
        assert (REPORT / name).read_bytes()[:4] == b"\x89PNG"


def test_claims_snippet_links_to_the_experiment_pages():
    snippets = _hooks().full_report_snippets((REPORT / "report.md").read_text(encoding="utf-8"))
    assert "(q1-early-decay.md)" in snippets["claims"] and "(#q1)" not in snippets["claims"]
    assert "(q7-optimizers.md)" in snippets["claims"]
    assert {f"q{e.number}" for e in EXPERIMENTS} <= set(snippets)


def test_section_snippet_points_its_figure_into_the_report_directory():
    report = (
        "## The claims, answered\n\n| claim | section |\n|---|---|\n| 1. x | [Q1](#q1) |\n\n"
        '<a id="q1"></a>\n\n## Q1. Title\n\n**Answer.**\n\n![Figure](q1_dominance.png)\n'
    )
    snippets = _hooks().full_report_snippets(report)
    assert snippets["q1"] == "**Answer.**\n\n![Figure](../report/q1_dominance.png)\n"
    assert snippets["claims"].endswith("| 1. x | [Q1](q1-early-decay.md) |\n")


def test_unknown_full_report_part_fails_the_build():
    hooks = _hooks()
    with pytest.raises(hooks.PluginError, match="no part 'q9'"):
        hooks.insert_full_report("{{ full report q9 }}\n", "p.md", {"q1": "x"})


@pytest.mark.slow
def test_the_command_reproduces_the_verdict_words(tmp_path):
    from decaylab.report import write_report

    # `decaylab report` with its defaults: the full settings on every usable core.
    written = write_report(tmp_path, progress=False)
    assert _claims(written.json) == _claims(REPORT / "results.json")
    _reads_at_a_glance(written.markdown.read_text(encoding="utf-8"))
