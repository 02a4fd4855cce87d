"""The report's notation block: every symbol the report uses is defined there, once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from decaylab.notation import NOTATION, notation_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"
FULL_REPORT = DOCS / "report" / "report.md"

# Symbols and terms a reader meets in the report, each with a pattern that finds it in the
# Markdown (where "*" is written "\*"), written here independently of the notation module.
USES = [
    (r"n_w", "n_w"),
    (r"n_in", "n_in"),
    (r"η", "η"),
    (r"λ(?!\\\*)", "λ"),
    (r"λ\\\*", "λ*"),
    (r"τ", "τ"),
    (r"C₀", "C₀"),
    (r"‖w‖", "‖w‖"),
    (r"v̂", "v̂"),
    (r"β", "β"),
    (r"⌈n/m⌉", "⌈n/m⌉"),
    (r"ηλ/n", "ηλ/n"),
    (r"e\^\(−ηλ/m\)", "e^(−ηλ/m)"),
    (r"\bN\((?!0, 1/)", "N(0, s²)"),
    (r"\bR\b", "R"),
    (r"\bN\b(?!\()", "N"),
    (r"\(−C\)|\|C\||\bC\b(?![₀(])", "C"),
    (r"\bm\b", "m"),
    (r"\bn\b", "n"),
    (r"\bw\b", "w"),
    (r"\bb\b", "b"),
    (r"RMS", "RMS"),
    (r"closure", "closure"),
    (r"[Rr]adial", "radial"),
    (r"decay share", "decay share"),
    (r"equilibri", "equilibrium"),
    (r"large init", "large initialisation"),
    (r"scaled init", "scaled initialisation"),
    (r"sum convention|mean convention", "sum convention"),
    (r"AdamW", "AdamW"),
    (r"±", "±"),
]
SYMBOLS = [term.symbol for term in NOTATION]


def test_every_symbol_is_defined_once():
    assert len(SYMBOLS) == len(set(SYMBOLS))


@pytest.mark.parametrize("term", NOTATION, ids=SYMBOLS)
def test_every_term_links_a_page_that_exists(term):
    assert (DOCS / term.page).is_file()


@pytest.mark.parametrize("term", NOTATION, ids=SYMBOLS)
def test_block_shows_each_symbol_on_one_line(term):
    symbol = term.symbol.replace("*", "\\*")
    lines = [
        line for line in notation_markdown().splitlines() if line.startswith(f"- **{symbol}**:")
    ]
    assert len(lines) == 1


def _uses(text: str) -> set[str]:
    return {symbol for pattern, symbol in USES if re.search(pattern, text)}


def test_full_report_opens_with_the_notation_block():
    text = FULL_REPORT.read_text(encoding="utf-8")
    assert notation_markdown() in text
    assert text.index("## Notation") < text.index("## The claims, answered")


def test_every_symbol_the_full_report_uses_is_defined():
    body = FULL_REPORT.read_text(encoding="utf-8").replace(notation_markdown(), "")
    used = _uses(body)
    assert len(used) > 20  # the patterns do find the report's symbols
    assert used - set(SYMBOLS) == set()


def test_the_patterns_tell_symbols_apart():
    assert _uses("RMS ∝ n_w^b, λ\\* and N(0, 1)") == {"RMS", "n_w", "b", "λ*", "N(0, s²)"}
