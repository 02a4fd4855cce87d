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


@pytest.mark.parametrize(
    ("rst", "markdown"),
    [
        ("Like this::\n\n    code()\n", "Like this:\n\n    code()"),
        ("Text.\n\n::\n\n    code()\n", "Text.\n\n\n    code()"),
        ("Not a directive:: here", "Not a directive:: here"),
    ],
)
def test_literal_block_marker_is_dropped(rst, markdown):
    assert griffe_rst.rst_to_markdown(rst) == markdown


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


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("λ*_sum and λ*_mean", r"λ\*\_sum and λ\*\_mean"),
        ("a | b", r"a \| b"),
        ("[x] `y` $z$ <w>", r"\[x\] \`y\` \$z\$ &lt;w>"),
        ("two\nlines", "two lines"),
    ],
)
def test_measured_text_is_escaped_as_literal_markdown(text, escaped):
    assert hooks.escape(text) == escaped


def _fake_result():
    from dataclasses import dataclass

    from decaylab.experiments.records import ExperimentResult

    @dataclass
    class FakeResult(ExperimentResult):
        number = 9
        title = "A title"
        question = "q?"

        def table(self):
            return ["λ", "x|y"], [["1", "2"]]

    return FakeResult({"eta": 0.5, "seeds": [0, 1]}, "p", "v_1", [])


def test_experiment_markdown_is_the_report_section_and_how_it_was_run():
    from decaylab.report import markdown_section

    result = _fake_result()
    text = hooks.experiment_markdown(result, 1.25, figure="figures/q1.png")
    section = markdown_section(result, "figures/q1.png")
    # The report's section without its anchor and heading, then the run line.
    assert section.endswith(text.split("\n*Quick run made")[0])
    assert section.startswith('<a id="q9"></a>\n\n## Q9. A title\n\n**v_1**\n\n| λ | x\\|y |')
    assert text.endswith(
        "*Quick run made by this build in 1.2 s, with* `eta=0.5`, `seeds=[0, 1]`.\n"
    )


def _slugs():
    from decaylab.experiments.registry import EXPERIMENTS

    return list(EXPERIMENTS.slugs)


def _nav() -> list:
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((DOCS.parent / "mkdocs.yml").read_text(encoding="utf-8"))
    hooks.add_questions_to_nav(config["nav"])
    return config["nav"]


def _pages(nav) -> list[str]:
    pages = []
    for item in nav:
        value = item if isinstance(item, str) else next(iter(item.values()))
        pages.extend(_pages(value) if isinstance(value, list) else [value])
    return pages


@pytest.mark.parametrize("slug", _slugs())
def test_every_registered_experiment_has_a_docs_page_in_the_nav(slug):
    experiment = hooks.registry()[slug]
    pages = _pages(_nav())
    assert (DOCS / "experiments" / experiment.page).is_file()
    assert pages.count(f"experiments/{experiment.page}") == 1
    assert pages.count(f"api/experiment-{experiment.number}.md") == 1


def test_the_nav_lists_the_questions_in_order_after_the_experiments_index():
    pages = _pages(_nav())
    start = pages.index("experiments/index.md") + 1
    expected = [f"experiments/{e.page}" for e in hooks.registry()]
    assert pages[start : start + len(expected)] == expected


def test_a_question_api_page_documents_its_module():
    experiment = hooks.registry()["q3"]
    assert hooks.api_page(experiment).splitlines()[-1] == (
        "::: decaylab.experiments.q3_equilibrium"
    )


def _generated_markers() -> list[tuple[str, str]]:
    return [
        (page.name, name)
        for page in sorted(DOCS.rglob("*.md"))
        for name in hooks._GENERATED.findall(page.read_text(encoding="utf-8"))
    ]


@pytest.mark.parametrize(("page", "name"), _generated_markers())
def test_generated_marker_names_an_experiment_the_hook_runs(page, name):
    assert name in [*_slugs(), "experiment_list", "api_questions"]


def test_the_api_row_of_questions_links_each_registered_question():
    row = hooks.api_questions()
    assert "\n" not in row  # it replaces one line of a table
    assert row.count("](experiment-") == len(_slugs())


def test_the_experiment_list_has_one_row_per_registered_question():
    rows = hooks.experiment_list().splitlines()[2:]
    assert [row.split(" | ")[0] for row in rows] == [f"| {n}" for n in range(1, len(_slugs()) + 1)]
    assert "[Where decay tails off](q3-tail-off.md) | `equilibrium_size`" in rows[2]


def _experiment_calls() -> list[tuple[str, str, frozenset]]:
    """(page, function, keyword names) of each experiment call in the docs' code blocks."""
    import ast
    import re

    import decaylab.experiments

    names = set(decaylab.experiments.__all__)
    calls = []
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        for code in re.findall(r"^```python[^\n]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
            for node in ast.walk(ast.parse(code)):
                if isinstance(node, ast.Call):
                    func = node.func
                    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                    if name in names:
                        keywords = frozenset(k.arg for k in node.keywords)
                        calls.append((page.name, name, keywords))
    return calls


@pytest.mark.parametrize(("page", "function", "keywords"), _experiment_calls())
def test_experiment_calls_in_the_docs_use_real_keyword_arguments(page, function, keywords):
    import inspect

    import decaylab.experiments

    parameters = inspect.signature(getattr(decaylab.experiments, function)).parameters
    assert keywords <= set(parameters), f"{page}: {function} has no {keywords - set(parameters)}"


@pytest.mark.parametrize(
    ("indexed", "searchable"),
    [
        (r"the norm \(\lVert w\rVert^2\) shrinks", "the norm ‖w‖² shrinks"),
        (r"near \(1/\sqrt{n_w}\) or \(1/n_w\)", "near 1/√n_w or 1/n_w"),
        (r"by \(e^{-\eta\lambda/m}\) per epoch", "by e^(-ηλ/m) per epoch"),
        (r"\[ \tau_\text{epoch} \approx m/(\eta\lambda) \]", "τ_epoch ≈ m/(ηλ)"),
        (r"\(\frac{\eta}{1-\beta_1^t}\,q/(\sqrt{\hat v}+\epsilon)\)", "(η)/(1-β_1^t) q/(√(v̂)+ε)"),
        (r"\(n_w = h\,(n_\text{in} + n_\text{classes})\)", "n_w = h (n_in + n_classes)"),
        ("Install ¶ decaylab needs Python", "Install decaylab needs Python"),
    ],
)
def test_search_index_text_has_no_raw_tex_and_no_pilcrow(indexed, searchable):
    assert hooks.search_text(indexed) == searchable


def test_search_index_of_a_built_site_is_rewritten(tmp_path):
    import json

    (tmp_path / "search").mkdir()
    entries = [
        {"location": "", "title": "Home", "text": r"decaylab ¶ decays by \(e^{-\eta\lambda/m}\)"},
        {"location": "a/", "title": r"The factor \(d\) ¶", "text": "plain"},
    ]
    index = {"config": {"lang": ["en"]}, "docs": entries}
    (tmp_path / "search" / "search_index.json").write_text(json.dumps(index))
    assert hooks.clean_search_index(tmp_path) == 2
    cleaned = json.loads((tmp_path / "search" / "search_index.json").read_text())
    assert cleaned["config"] == index["config"]
    assert [(e["title"], e["text"]) for e in cleaned["docs"]] == [
        ("Home", "decaylab decays by e^(-ηλ/m)"),
        ("The factor d", "plain"),
    ]


def _notebook(cells):
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}


def test_notebook_page_shows_code_and_printed_text_as_blocks():
    cell = {
        "cell_type": "code",
        "source": ["x = 6\n", "print(x)"],
        "outputs": [{"output_type": "stream", "name": "stdout", "text": ["6\n"]}],
    }
    page, _ = hooks.notebook_markdown(_notebook([cell]), "nb/")
    assert page == "```python\nx = 6\nprint(x)\n```\n\n```text\n6\n```\n"


def test_notebook_page_keeps_markdown_cells_as_they_are():
    cell = {"cell_type": "markdown", "source": "## A heading\n\nSome $e^{-x}$ text."}
    page, _ = hooks.notebook_markdown(_notebook([cell]), "nb/")
    assert page == "## A heading\n\nSome $e^{-x}$ text.\n"


def test_notebook_page_writes_each_stored_image_as_a_file_it_links():
    import base64

    png = b"\x89PNG\r\n\x1a\n not really an image"
    output = {
        "output_type": "display_data",
        "data": {"image/png": base64.b64encode(png).decode(), "text/plain": "<Figure>"},
        "metadata": {},
    }
    cell = {"cell_type": "code", "source": "f()", "outputs": [output]}
    page, files = hooks.notebook_markdown(_notebook([cell]), "nb/")
    assert files == {"nb/cell0-0.png": png}
    assert "![Output of the code above](nb/cell0-0.png)" in page


def test_walkthrough_page_has_every_image_the_notebook_stored():
    import json

    notebook = json.loads(hooks.NOTEBOOK.read_text(encoding="utf-8"))
    stored = [
        o
        for c in notebook["cells"]
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    page, files = hooks.notebook_markdown(notebook, "walkthrough/")
    assert len(files) == len(stored) > 0
    assert all(f"]({name})" in page for name in files)
