"""MkDocs hooks: every number and figure on the site comes from running the current code.

Two mechanisms, both strict (any failure fails the build):

- A fenced block whose info string is ``python exec`` is run when its page is
  built (the blocks of one page share a namespace, top to bottom); it is shown
  as an ordinary Python block followed by what it printed.
- A line ``{{ generated NAME }}`` is replaced by the Markdown that
  :func:`on_pre_build` produced under NAME: an experiment's figure, the table
  of what it measured and its verdict. The figures are added to the site as
  generated files, so nothing is written into ``docs/``.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import textwrap
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the build has no display; set before pyplot is imported

from mkdocs.exceptions import PluginError  # noqa: E402
from mkdocs.structure.files import File  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))  # document the checkout being built, not an installed copy

_EXEC_BLOCK = re.compile(r"^```python exec[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_GENERATED = re.compile(r"^\{\{ generated ([\w./-]+) \}\}[ \t]*$", re.MULTILINE)

# Filled by on_pre_build: Markdown snippets by name, and figure bytes by site path.
_snippets: dict[str, str] = {}
_figures: dict[str, bytes] = {}


def run_exec_blocks(markdown: str, where: str, namespace: dict | None = None) -> str:
    """Run every ``python exec`` block of ``markdown`` and show its output after it.

    Parameters
    ----------
    markdown : str
        Page source.
    where : str
        Name of the page, for error messages.
    namespace : dict, optional
        Globals shared by the page's blocks; a fresh one by default.

    Returns
    -------
    str
        The page with each block turned into a ``python`` block followed, if
        it printed anything, by a ``text`` block holding what it printed.

    Raises
    ------
    PluginError
        If a block raises; the message names the page and the block.
    """
    namespace = {"__name__": "__docs__"} if namespace is None else namespace

    def run(match: re.Match) -> str:
        code = match.group(1)
        number = markdown.count("```python exec", 0, match.start()) + 1
        output = io.StringIO()
        try:
            with contextlib.redirect_stdout(output):
                exec(compile(code, f"<{where}, block {number}>", "exec"), namespace)
        except Exception as exc:
            raise PluginError(
                f"{where}: python exec block {number} raised {type(exc).__name__}: {exc}"
            ) from exc
        shown = f"```python\n{code}```\n"
        printed = output.getvalue()
        if printed:
            shown += f"\n```text\n{printed.rstrip()}\n```\n"
        return shown

    return _EXEC_BLOCK.sub(run, markdown)


def insert_generated(markdown: str, where: str, snippets: dict[str, str]) -> str:
    """Replace each ``{{ generated NAME }}`` line by ``snippets[NAME]``.

    Raises
    ------
    PluginError
        If NAME was not generated.
    """

    def insert(match: re.Match) -> str:
        name = match.group(1)
        if name not in snippets:
            known = ", ".join(sorted(snippets)) or "none"
            raise PluginError(f"{where}: nothing was generated under {name!r} (generated: {known})")
        return snippets[name]

    return _GENERATED.sub(insert, markdown)


def _generate() -> tuple[dict[str, str], dict[str, bytes]]:
    """Run what the pages show; return their Markdown snippets and figures."""
    return {}, {}


# -- MkDocs events -------------------------------------------------------------


def on_pre_build(config, **kwargs) -> None:
    start = time.perf_counter()
    snippets, figures = _generate()
    _snippets.clear()
    _snippets.update(snippets)
    _figures.clear()
    _figures.update(figures)
    if figures:
        print(
            f"INFO    -  hooks: generated {len(figures)} figures in "
            f"{time.perf_counter() - start:.1f} s"
        )


def on_files(files, config, **kwargs):
    for path, content in _figures.items():
        files.append(File.generated(config, path, content=content))
    return files


def on_page_markdown(markdown, page, config, files, **kwargs):
    where = page.file.src_uri
    markdown = insert_generated(markdown, where, _snippets)
    return run_exec_blocks(markdown, where)


def _indent(text: str, prefix: str = "    ") -> str:
    return textwrap.indent(text, prefix)
