"""The documentation build's own machinery: the docstring converter and the page hooks."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("griffe")

from mkdocs.exceptions import PluginError  # noqa: E402

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"docs_{name}", DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


griffe_rst = _load("griffe_rst")
hooks = _load("hooks")


@pytest.mark.parametrize(
    ("rst", "markdown"),
    [
        ("Plain text, `code` and ``code``.", "Plain text, `code` and ``code``."),
        ("See :func:`decay_factor`.", "See `decay_factor`."),
        ("See :meth:`~decaylab.Network.copy`.", "See `copy`."),
        ("A :class:`.History` record.", "A `History` record."),
        ("Area :math:`\\pi r^2` here.", "Area $\\pi r^2$ here."),
    ],
)
def test_inline_roles_become_markdown(rst, markdown):
    assert griffe_rst.rst_to_markdown(rst) == markdown


def test_role_that_resolves_becomes_an_optional_cross_reference():
    paths = {"decay_factor": "decaylab.conventions.decay_factor"}
    text = griffe_rst.rst_to_markdown("See :func:`decay_factor`.", paths.get)
    assert text == (
        'See <autoref identifier="decaylab.conventions.decay_factor" optional>'
        "<code>decay_factor</code></autoref>."
    )


def test_role_that_does_not_resolve_stays_plain_code():
    assert griffe_rst.rst_to_markdown("See :mod:`nowhere`.", {}.get) == "See `nowhere`."


def test_math_directive_with_continuation_becomes_display_math():
    rst = "Intro,\n\n.. math::  a = b\n           + c,\n\nafter."
    assert griffe_rst.rst_to_markdown(rst) == "Intro,\n\n$$\na = b\n+ c,\n$$\n\nafter."


def test_indented_math_directive_keeps_its_indentation_after_a_blank_line():
    rst = "Text:\n    .. math:: x\n\n    text"
    assert griffe_rst.rst_to_markdown(rst) == "Text:\n\n    $$\n    x\n    $$\n\n    text"


def test_simple_table_becomes_pipe_table_with_continuations_joined():
    rst = (
        "=====  ======\n"
        "name   value\n"
        "=====  ======\n"
        "a      one\n"
        "       more\n"
        "b      two|x\n"
        "=====  ======\n"
        "after"
    )
    expected = "| name | value |\n|---|---|\n| a | one more |\n| b | two\\|x |\n\nafter"
    assert griffe_rst.rst_to_markdown(rst) == expected


def test_exec_block_is_shown_with_its_output():
    page = "Text\n\n```python exec\nprint(6 * 7)\n```\n\nEnd\n"
    assert hooks.run_exec_blocks(page, "page.md") == (
        "Text\n\n```python\nprint(6 * 7)\n```\n\n```text\n42\n```\n\n\nEnd\n"
    )


def test_exec_block_without_output_is_shown_alone():
    page = "```python exec\nx = 1\n```\n"
    assert hooks.run_exec_blocks(page, "page.md") == "```python\nx = 1\n```\n\n"


def test_exec_blocks_of_a_page_share_a_namespace():
    page = "```python exec\nx = 5\n```\n\n```python exec\nprint(x + 1)\n```\n"
    assert "```text\n6\n```" in hooks.run_exec_blocks(page, "page.md")


def test_ordinary_python_block_is_not_run():
    page = "```python\nraise RuntimeError\n```\n"
    assert hooks.run_exec_blocks(page, "page.md") == page


def test_failing_exec_block_fails_the_build_naming_page_and_block():
    page = "```python exec\nx = 1\n```\n\n```python exec\n1 / 0\n```\n"
    with pytest.raises(PluginError, match=r"page\.md: python exec block 2 raised ZeroDivision"):
        hooks.run_exec_blocks(page, "page.md")


def test_generated_marker_is_replaced_by_its_snippet():
    page = "Before\n{{ generated q1 }}\nAfter\n"
    assert hooks.insert_generated(page, "p.md", {"q1": "![figure](q1.png)"}) == (
        "Before\n![figure](q1.png)\nAfter\n"
    )


def test_unknown_generated_marker_fails_the_build():
    with pytest.raises(PluginError, match=r"p\.md: nothing was generated under 'q9'"):
        hooks.insert_generated("{{ generated q9 }}\n", "p.md", {"q1": "x"})
