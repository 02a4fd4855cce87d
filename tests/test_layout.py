"""The package's layout keeps its one-way flow: no import cycles, dynamics below experiments."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import decaylab

PACKAGE = Path(decaylab.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package modules that ``path`` imports anywhere (top level or inside a function)."""
    name = _module_name(path)
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # "from package import module" imports the module; "from module import name" the module.
            targets = [f"{base}.{alias.name}" for alias in node.names]
            targets = [t if t in modules else base for t in targets]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    return {_module_name(p): _imports(p, modules) for p in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A list of modules forming a cycle (first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
        ({"a": {"b"}, "b": {"c"}, "c": {"b"}}, ["b", "c", "b"]),
    ],
)
def test_find_cycle_on_known_graphs(graph, expected):
    assert find_cycle(graph) == expected


def test_the_graph_sees_the_package_modules():
    graph = import_graph()
    assert "decaylab.dynamics.equilibrium" in graph
    assert "decaylab.conventions" in graph["decaylab.dynamics.factors"]


def test_no_import_cycle_among_the_package_modules():
    assert find_cycle(import_graph()) is None


@pytest.mark.parametrize("forbidden", ["decaylab.experiments", "decaylab.report", "decaylab.plots"])
def test_dynamics_never_imports_what_sits_above_it(forbidden):
    graph = import_graph()
    offenders = {
        module: sorted(t for t in targets if t == forbidden or t.startswith(forbidden + "."))
        for module, targets in graph.items()
        if module.startswith("decaylab.dynamics")
    }
    assert {m: t for m, t in offenders.items() if t} == {}


def test_training_does_not_import_checkpoint():
    assert "decaylab.checkpoint" not in import_graph()["decaylab.training"]


def test_importing_dynamics_does_not_import_matplotlib():
    code = "import sys, decaylab.dynamics; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_dl_plots_is_there_after_import_decaylab_and_imports_matplotlib_only_then():
    code = (
        "import sys, decaylab as dl\n"
        "before = 'matplotlib' in sys.modules\n"
        "fig_function = dl.plots.plot_history\n"
        "print(before, 'matplotlib' in sys.modules, fig_function.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "decaylab.plots.run"]


def test_unknown_attribute_of_decaylab_still_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'plotz'"):
        decaylab.plotz  # noqa: B018


@pytest.mark.parametrize(
    "name",
    ["factors", "decomposition", "equilibrium", "noise", "rotation", "scaling"],
)
def test_dynamics_modules_are_reachable_as_attributes(name):
    assert getattr(decaylab.dynamics, name).__name__ == f"decaylab.dynamics.{name}"
