"""The layout table of the API reference (docs/api/index.md) says what the package holds.

Every public module is named in the table or documented on a page the table
links to; every name and link in it exists; and the layers it lists are in
import order, as the page says: no module imports one of a later layer.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from test_layout import PACKAGE, import_graph

DOCS = Path(__file__).resolve().parent.parent / "docs"
API = DOCS / "api"
INDEX = API / "index.md"
_MODULE = re.compile(r"`(decaylab(?:\.\w+)*)`")
_LINK = re.compile(r"\]\(([^)#]+)\)")


def table_rows(text: str) -> list[str]:
    """The body rows of the first pipe table of ``text``."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return rows[2:]


def layers(rows: list[str]) -> list[tuple[str, list[str]]]:
    """(layer title, module names) in table order; a row in bold opens a layer."""
    found: list[tuple[str, list[str]]] = []
    for row in rows:
        title = re.match(r"\|\s*\*\*(.+?)\*\*", row)
        if title:
            found.append((title.group(1), []))
        elif found:
            found[-1][1].extend(_MODULE.findall(row.split("|")[1]))
    return found


def public_modules(packages: bool = True) -> list[str]:
    """The package's public modules, with or without the packages themselves."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            if not packages:
                continue
            parts = parts[:-1]
        if not any(part.startswith("_") for part in parts):
            names.append(".".join(parts))
    return names


def _rows() -> list[str]:
    return table_rows(INDEX.read_text(encoding="utf-8"))


def _links() -> list[str]:
    return sorted({link for row in _rows() for link in _LINK.findall(row)})


def _named() -> list[str]:
    return sorted({name for _, names in layers(_rows()) for name in names})


def layer_of(module: str, table: list[tuple[str, list[str]]]) -> int | None:
    """Index of the layer whose names hold ``module``, are inside it, or contain it.

    A private helper (``decaylab._name``) serves the core, the first layer; the
    package root, which re-exports everything, is in none.
    """
    if module == "decaylab":
        return None
    if module.split(".")[1].startswith("_"):
        return 0
    for index, (_, names) in enumerate(table):
        for name in names:
            if module == name or module.startswith(name + ".") or name.startswith(module + "."):
                return index
    raise AssertionError(f"{module} is in no layer of the table")


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (["| **Core** | |", "| [`decaylab.a`](a.md) | x |"], [("Core", ["decaylab.a"])]),
        (["| **A** | |", "| `decaylab.a`, `decaylab.b` | `decaylab.c` |", "| **B** | |"],
         [("A", ["decaylab.a", "decaylab.b"]), ("B", [])]),
    ],
)  # fmt: skip
def test_layers_are_read_from_bold_rows_and_first_cells(rows, expected):
    assert layers(rows) == expected


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("decaylab.dynamics.factors", 1),
        ("decaylab.dynamics", 1),
        ("decaylab.plots.run", 2),
        ("decaylab._blas", 0),
        ("decaylab", None),
    ],
)
def test_layer_of_matches_names_inside_and_around(module, expected):
    table = [("Core", ["decaylab.network"]), ("D", ["decaylab.dynamics.factors"]),
             ("P", ["decaylab.plots"])]  # fmt: skip
    assert layer_of(module, table) == expected


def test_the_table_lists_the_five_layers_in_import_order():
    titles = [title for title, _ in layers(_rows())]
    assert titles == [
        "Core",
        "Many runs",
        "Dynamics",
        "Experiments",
        "Report, plots and command line",
    ]


@pytest.mark.parametrize("module", public_modules(packages=False))
def test_every_public_module_is_named_or_on_a_linked_page(module):
    from decaylab.experiments.registry import EXPERIMENTS

    # Each question's API page is written in docs/api or, if not, by the docs build from
    # the registry (docs/hooks.py); the nav links them all.
    written = [API / f"experiment-{e.number}.md" for e in EXPERIMENTS]
    links = [API / link for link in _links()] + [page for page in written if page.is_file()]
    pages = "".join(page.read_text(encoding="utf-8") for page in links)
    questions = {f"decaylab.experiments.{e.slug}" for e in EXPERIMENTS}
    assert module in _named() or f"::: {module}\n" in pages or module in questions


@pytest.mark.parametrize("link", _links())
def test_every_page_the_table_links_exists(link):
    assert (API / link).is_file()


@pytest.mark.parametrize("name", _named())
def test_every_module_the_table_names_exists(name):
    assert name in public_modules()


def test_no_module_imports_one_of_a_later_layer():
    table = layers(_rows())
    later = sorted(
        (module, target)
        for module, targets in import_graph().items()
        for target in targets
        if layer_of(module, table) is not None
        and layer_of(target, table) is not None
        and layer_of(target, table) > layer_of(module, table)
    )
    assert later == []


def _home_page_names() -> list[tuple[str, str]]:
    text = (DOCS / "index.md").read_text(encoding="utf-8")
    names = {("decaylab", name) for name in re.findall(r"`dl\.(\w+)", text)}
    names |= {("decaylab.plots", name) for name in re.findall(r"`(plot_\w+)`", text)}
    names |= {("decaylab.History", name) for name in re.findall(r"`history\.(\w+)", text)}
    return sorted(names)


@pytest.mark.parametrize(("owner", "name"), _home_page_names())
def test_every_name_the_home_page_uses_exists(owner, name):
    import importlib

    import decaylab

    if owner == "decaylab.History":
        assert hasattr(decaylab.History, name)
    else:
        # A public name, or a subpackage reached as an attribute (dl.plots, imported lazily).
        module = importlib.import_module(owner)
        assert name in module.__all__ or getattr(module, name).__name__ == f"{owner}.{name}"
