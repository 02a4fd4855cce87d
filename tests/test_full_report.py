"""The full report checked in with the docs: its command still gives its verdict words and,
within tolerances a change of BLAS kernel respects, its numbers.

The same seed gives the same bits only with the same library versions and BLAS kernels
(results.json records them). How the tolerances were chosen: the checked-in report
(OpenBLAS, SkylakeX kernels) was compared with the same command run with OpenBLAS's
Haswell kernels. 7,081 of its numbers differed, no word of text; the largest relative
differences were 0.94 % for values, 23 % for standard errors over seeds, 6.5 % for
p-values near 1e-27 and 41 % for signed sums of weights (Σw, in which the weights
cancel, so that reordered additions early in a run grow through the SGD trajectory).
Each tolerance below is about twice the largest difference seen in its class.
"""

from __future__ import annotations

import importlib.util
import json
import math
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


#: (class, test on the path, relative tolerance); the first matching class applies.
TOLERANCES = (
    ("standard error", lambda path: path[-1] in ("stderr", "standard_error"), 0.5),
    ("p-value", lambda path: "p_values" in path, 0.15),
    ("signed sum", lambda path: "sum" in path or "cancellation" in path, 0.85),
    ("value", lambda path: True, 0.02),
)
#: Numbers printed in text are rounded: their standard errors to two digits.
TEXT_RTOL = 0.5
_NUMBER = re.compile(r"[-+−]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _number(text: str) -> float:
    return float(text.replace("−", "-"))


def _close(a: float, b: float, rtol: float) -> bool:
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return a == b or (math.isnan(a) and math.isnan(b))
    return abs(a - b) <= rtol * max(abs(a), abs(b)) + 1e-12


def mismatches(expected, got, path=()) -> list[str]:
    """Where two results.json trees differ beyond :data:`TOLERANCES` (text exactly, its numbers
    within TEXT_RTOL; integers and booleans exactly)."""
    where = "/".join(map(str, path))
    if isinstance(expected, dict) and isinstance(got, dict):
        if expected.keys() != got.keys():
            return [f"{where}: keys {sorted(expected.keys() ^ got.keys())} differ"]
        return [m for key in expected for m in mismatches(expected[key], got[key], (*path, key))]
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            return [f"{where}: {len(expected)} items, now {len(got)}"]
        return [m for a, b in zip(expected, got) for m in mismatches(a, b, (*path, "[]"))]
    if isinstance(expected, float) and isinstance(got, (int, float)):
        rtol = next(r for _, test, r in TOLERANCES if test(path))
        return [] if _close(expected, float(got), rtol) else [f"{where}: {expected} -> {got}"]
    if isinstance(expected, str) and isinstance(got, str):
        if _NUMBER.sub("#", expected) != _NUMBER.sub("#", got):
            return [f"{where}: {expected!r} -> {got!r}"]
        pairs = zip(_NUMBER.findall(expected), _NUMBER.findall(got))
        return [
            f"{where}: {a} -> {b}"
            for a, b in pairs
            if not _close(_number(a), _number(b), TEXT_RTOL)
        ]
    return [] if expected == got else [f"{where}: {expected!r} -> {got!r}"]


def _checked_in() -> dict:
    content = json.loads((REPORT / "results.json").read_text(encoding="utf-8"))
    content.pop("environment", None)  # the machine's, not the results'
    return content


def _scaled(tree, factor: float, only: str):
    """``tree`` with every float under a key named ``only`` multiplied by ``factor``."""
    if isinstance(tree, dict):
        return {
            k: (_scaled(v, factor, only) if k != only else _scaled(v, factor, "*"))
            for k, v in tree.items()
        }
    if isinstance(tree, list):
        return [_scaled(v, factor, only) for v in tree]
    return tree * factor if isinstance(tree, float) and only == "*" else tree


@pytest.mark.parametrize(
    ("key", "factor", "equal"),
    [("mean", 1.01, True), ("mean", 1.05, False), ("stderr", 1.3, True), ("stderr", 2.5, False)],
)
def test_the_comparison_allows_what_a_kernel_change_does_and_no_more(key, factor, equal):
    results = _checked_in()
    assert (mismatches(results, _scaled(results, factor, key)) == []) == equal


def test_the_comparison_reads_the_words_of_the_text():
    results = _checked_in()
    changed = json.loads(json.dumps(results).replace('"does not hold"', '"holds"', 1))
    assert any("does not hold" in m for m in mismatches(results, changed))


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
    got = json.loads(written.json.read_text(encoding="utf-8"))
    got.pop("environment")
    assert mismatches(_checked_in(), got) == []
