"""MkDocs hooks: every number and figure on the site comes from running the current code.

Three mechanisms, all strict (any failure fails the build):

- A fenced block whose info string is ``python exec`` is run when its page is
  built (the blocks of one page share a namespace, top to bottom); it is shown
  as an ordinary Python block followed by what it printed.
- A line ``{{ generated NAME }}`` is replaced by the Markdown that
  :func:`on_pre_build` produced under NAME: an experiment's figure, the table
  of what it measured and its verdict, from a quick run made by this build.
  The figures are added to the site as generated files, so nothing is
  written into ``docs/``.
- The walkthrough notebook, stored executed in ``examples/``, becomes the
  page ``walkthrough.md`` (:func:`notebook_markdown`): its text, its code and
  the outputs it was stored with (text as text, images as files beside the
  page); nothing is run again and nothing is fetched.
- A line ``{{ full report NAME }}`` is replaced by a part of the full report
  checked in under ``docs/report/`` (``claims``, its claims table, or a
  question's section, ``q1``, ``q2``, …). The full run takes longer than
  a docs build should, so it is made once by the command
  its run line names and kept with its figures and ``results.json``; a test
  reruns that command and checks that it still gives the same verdict words.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import logging
import re
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the build has no display; set before pyplot is imported

import mkdocs.plugins  # noqa: E402
from mkdocs.exceptions import PluginError  # noqa: E402
from mkdocs.structure.files import File  # noqa: E402

log = logging.getLogger("mkdocs.hooks")
SOURCE = str(Path(__file__).resolve().parent.parent / "src")

_EXEC_BLOCK = re.compile(r"^```python exec[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_GENERATED = re.compile(r"^\{\{ generated ([\w./-]+) \}\}[ \t]*$", re.MULTILINE)
_FULL_REPORT = re.compile(r"^\{\{ full report ([\w./-]+) \}\}[ \t]*$", re.MULTILINE)

#: The checked-in full report (report.md, its figures and results.json).
FULL_REPORT = Path(__file__).resolve().parent / "report"

#: The notebook shown, with its stored outputs, as the page ``walkthrough.md``.
NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "walkthrough.ipynb"
NOTEBOOK_PAGE = "walkthrough.md"


def registry():
    """The experiments of the checkout being built (imported only once on_config set the path)."""
    from decaylab.experiments.registry import EXPERIMENTS

    return EXPERIMENTS


def question_pages() -> dict[int, str]:
    """The page of each question, relative to the experiment pages' directory."""
    return {e.number: e.page for e in registry() if e.page}


# Filled by on_pre_build: Markdown snippets by name, figure bytes by site path, and the
# parts of the checked-in full report.
_snippets: dict[str, str] = {}
_figures: dict[str, bytes] = {}
_full: dict[str, str] = {}
_notebook: dict[str, bytes] = {}


def _text(value) -> str:
    # Notebook fields hold a string or a list of lines.
    return value if isinstance(value, str) else "".join(value)


def notebook_markdown(notebook: dict, images: str) -> tuple[str, dict[str, bytes]]:
    """A stored, executed notebook as Markdown, with its images as files.

    Parameters
    ----------
    notebook : dict
        The notebook's JSON (nbformat 4).
    images : str
        Path prefix of the image files, relative to the page (e.g. ``"walkthrough/"``).

    Returns
    -------
    markdown : str
        Markdown cells as they are; each code cell as a Python block followed
        by its outputs: printed text as a text block, a PNG as an image, HTML
        as it is, anything else by its plain-text form.
    files : dict of str to bytes
        The images, by their path under ``images``.
    """
    import base64

    parts, files = [], {}
    for i, cell in enumerate(notebook.get("cells", [])):
        source = _text(cell.get("source", "")).rstrip("\n")
        if cell.get("cell_type") == "markdown":
            parts.append(source)
            continue
        if cell.get("cell_type") != "code":
            continue
        parts.append(f"```python\n{source}\n```")
        for k, output in enumerate(cell.get("outputs", [])):
            data = output.get("data", {})
            if output.get("output_type") == "stream":
                parts.append(f"```text\n{_text(output.get('text', '')).rstrip()}\n```")
            elif "image/png" in data:
                name = f"{images}cell{i}-{k}.png"
                files[name] = base64.b64decode(_text(data["image/png"]))
                parts.append(f"![Output of the code above]({name})")
            elif "text/html" in data:
                parts.append(f'<div class="notebook-output">{_text(data["text/html"])}</div>')
            elif "text/plain" in data:
                parts.append(f"```text\n{_text(data['text/plain']).rstrip()}\n```")
    return "\n\n".join(p for p in parts if p) + "\n", files


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


FIGURE_DIRECTORY = "experiments/figures"

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]$|])")


def escape(text: object) -> str:
    """``text`` as literal Markdown: "λ*_sum" must not start an emphasis, "|" a cell."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
    return escaped.replace("<", "&lt;").replace("\n", " ")


def full_report_snippets(report: str, *, report_link: str = "../report/report.md") -> dict:
    """Cut a full report into the parts the experiment pages show.

    Parameters
    ----------
    report : str
        The text of a ``report.md`` written by :func:`decaylab.report.write_report`.
    report_link : str
        Where the report is, relative to the experiment pages.

    Returns
    -------
    dict of str to str
        ``"claims"``: the claims table, its links pointing at the experiment
        pages; and one entry per question, keyed ``"q1"``, ``"q2"``, ...: its
        section without the heading, its figure and links pointing into the
        report's directory.
    """
    directory = report_link.rsplit("/", 1)[0]
    pages = question_pages()
    head, *rest = re.split(r'^<a id="q(\d+)"></a>[ \t]*$', report, flags=re.MULTILINE)
    if "## The claims, answered" not in head or not rest:
        raise PluginError("the full report has no claims table or no sections")

    def page(match: re.Match) -> str:
        number = int(match.group(1))
        return f"({pages.get(number, f'{report_link}#q{number}')})"

    table = head.split("## The claims, answered", 1)[1].strip().split("\n\n")[0]
    snippets = {"claims": re.sub(r"\(#q(\d+)\)", page, table) + "\n"}
    for number, section in zip(rest[::2], rest[1::2]):
        body = section.strip().split("\n", 1)[1]  # without the "## Qn." heading
        body = re.sub(r"\]\(([\w-]+\.png)\)", rf"]({directory}/\1)", body)
        body = re.sub(r"\(#q(\d+)\)", page, body)
        snippets[f"q{number}"] = body.strip() + "\n"
    return snippets


def insert_full_report(markdown: str, where: str, snippets: dict[str, str]) -> str:
    """Replace each ``{{ full report NAME }}`` line by ``snippets[NAME]``.

    Raises
    ------
    PluginError
        If NAME is not a part of the full report.
    """

    def insert(match: re.Match) -> str:
        name = match.group(1)
        if name not in snippets:
            known = ", ".join(sorted(snippets)) or "none: no report under docs/report"
            raise PluginError(f"{where}: the full report has no part {name!r} (it has: {known})")
        return snippets[name]

    return _FULL_REPORT.sub(insert, markdown)


def _settings_text(settings: dict) -> str:
    return ", ".join(f"`{key}={value!r}`" for key, value in settings.items())


def experiment_markdown(result, seconds: float, figure: str | None = None) -> str:
    """What an experiment page shows of a result: the report's section, then how it was run.

    Parameters
    ----------
    result : ExperimentResult
        The record an experiment returned.
    seconds : float
        How long the run took.
    figure : str, optional
        Link to the figure drawn from ``result``, relative to the page.

    Returns
    -------
    str
        The record's section rendered by the renderer the report uses
        (:meth:`decaylab.experiments.records.Section.markdown`, without the
        heading the page has), then a line saying how long this build's quick
        run took and with which settings.
    """
    body = result.section().markdown(figure, heading=False)
    settings = _settings_text(result.settings)
    return body + f"\n*Quick run made by this build in {seconds:.1f} s, with* {settings}.\n"


def _png(figure) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    # No timestamp in the PNG, so an unchanged figure gives unchanged bytes.
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def _generate() -> tuple[dict[str, str], dict[str, bytes]]:
    """Run every registered experiment with its quick preset; return snippets and figures.

    The settings are those ``decaylab report --quick`` uses on the bundled
    digits (each experiment's quick preset in
    :data:`decaylab.experiments.registry.EXPERIMENTS`), and each figure is the
    experiment's own figure of the result.
    """
    from decaylab.data import load_digits

    data = load_digits()
    snippets: dict[str, str] = {}
    figures: dict[str, bytes] = {}
    for experiment in registry():
        slug = experiment.slug
        start = time.perf_counter()
        try:
            kwargs = experiment.inputs(data, experiment.settings(data, quick=True))
            result = experiment.run(**kwargs)
        except Exception as exc:
            raise PluginError(f"experiment {slug} failed: {exc!r}") from exc
        seconds = time.perf_counter() - start
        try:
            figures[f"{FIGURE_DIRECTORY}/{slug}.png"] = _png(experiment.draw(result))
        except Exception as exc:
            raise PluginError(f"the figure of experiment {slug} failed: {exc!r}") from exc
        snippets[slug] = experiment_markdown(result, seconds, figure=f"figures/{slug}.png")
        log.info(f"hooks: {slug} ran in {seconds:.1f} s")
    snippets["experiment_list"] = experiment_list()
    snippets["api_questions"] = api_questions()
    return snippets, figures


# -- Search index ---------------------------------------------------------------

#: TeX commands and what a reader types for them in the search box.
_TEX_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "Delta": "Δ", "epsilon": "ε",
    "varepsilon": "ε", "eta": "η", "theta": "θ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "omega": "ω",
    "Sigma": "Σ", "sum": "Σ", "prod": "Π", "nabla": "∇", "partial": "∂", "infty": "∞",
    "lVert": "‖", "rVert": "‖", "Vert": "‖", "|": "‖", "lvert": "|", "rvert": "|",
    "langle": "⟨", "rangle": "⟩", "lceil": "⌈", "rceil": "⌉", "lfloor": "⌊", "rfloor": "⌋",
    "cdot": "·", "times": "×", "to": "→", "rightarrow": "→", "mapsto": "↦", "approx": "≈",
    "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ll": "≪", "gg": "≫", "ne": "≠",
    "neq": "≠", "pm": "±", "in": "∈", "sim": "~", "propto": "∝", "ldots": "…", "dots": "…",
    "cdots": "…", "top": "ᵀ", "quad": " ", "qquad": " ", ",": " ", ";": " ", ":": " ", "!": "",
    "left": "", "right": "", "big": "", "Big": "", "bigl": "", "bigr": "", "displaystyle": "",
}  # fmt: skip
_SUPERSCRIPTS = str.maketrans("0123456789+-−()nT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁽⁾ⁿᵀ")
_MATH = re.compile(r"\\\((.*?)\\\)|\\\[(.*?)\\\]", re.DOTALL)
#: A command whose one argument is kept as it is (text) or marked (sqrt, hat).
_ONE_ARGUMENT = re.compile(
    r"\\(text|mathrm|mathbf|mathit|operatorname|sqrt|hat|bar|underbrace)\{([^{}]*)\}"
)


def _tex_words(tex: str) -> str:
    r"""A TeX formula as the plain text a reader would type: ``\lVert w\rVert^2`` → ``‖w‖²``."""
    previous = None
    while previous != tex:  # innermost braces first, so that nesting unwinds
        previous = tex
        tex = re.sub(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}", r"(\1)/(\2)", tex)
        tex = _ONE_ARGUMENT.sub(_one_argument, tex)
        tex = re.sub(r"\^\{([^{}]*)\}", _superscript, tex)
        tex = re.sub(r"(?<!\\)\{([^{}]*)\}", r"\1", tex)
    tex = re.sub(r"\^(\w)", _superscript, tex)
    tex = re.sub(r"\\hat\s*(\w)", "\\1\u0302", tex)
    # A command name ends at its first non-letter; one space after it may only separate.
    tex = re.sub(r"\\([A-Za-z]+) ?|\\([|,;:!])", _symbol, tex)
    tex = re.sub(r"\(([\w.]+)\)/\(([\w.]+)\)", r"\1/\2", tex)  # (a)/(b) of single terms
    return re.sub(r"\s+", " ", tex).strip()


#: Symbols that attach to what follows them (a space after them in TeX only separates).
_ATTACHED = {"lVert", "rVert", "Vert", "langle", "lceil", "lfloor", "left", "partial", "nabla"}


def _symbol(match: re.Match) -> str:
    name = match[1] or match[2]
    symbol = _TEX_SYMBOLS.get(name, name)
    return symbol if name in _ATTACHED or not match[0].endswith(" ") else symbol + " "


def _one_argument(match: re.Match) -> str:
    command, argument = match[1], match[2]
    if command == "sqrt":
        return f"√{argument}" if re.fullmatch(r"\w+", argument) else f"√({argument})"
    if command == "hat":
        return f"{argument}\u0302"
    return argument


def _superscript(match: re.Match) -> str:
    text = match[1]
    raised = text.translate(_SUPERSCRIPTS)
    if all(c in "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾ⁿᵀ" for c in raised):
        return raised
    return f"^{text}" if len(text) == 1 else f"^({text})"


def search_text(text: str) -> str:
    """Text for the search index: formulas as plain symbols, headings without their "¶" link."""
    text = _MATH.sub(lambda m: _tex_words(m[1] if m[1] is not None else m[2]), text)
    return re.sub(r"[ \t]*¶", "", text)


def clean_search_index(site_dir: str | Path) -> int:
    """Rewrite the search index in ``site_dir`` with :func:`search_text`; return how many entries
    changed (the index is missing when the search plugin is not used: 0)."""
    path = Path(site_dir) / "search" / "search_index.json"
    if not path.exists():
        return 0
    index = json.loads(path.read_text(encoding="utf-8"))
    changed = 0
    for entry in index.get("docs", []):
        for key in ("title", "text"):
            clean = search_text(entry.get(key, ""))
            changed += clean != entry.get(key, "")
            entry[key] = clean
    path.write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")
    return changed


def experiment_list() -> str:
    """The table of the registered questions: number, page and the function that runs it."""
    rows = [f"| {e.number} | [{e.title}]({e.page}) | `{e.run.__name__}` |" for e in registry()]
    return "\n".join(["| | question | function |", "|-|----------|----------|", *rows]) + "\n"


def api_questions() -> str:
    """The API reference's row of question modules: one link per registered question."""
    links = ", ".join(f"[{e.number}](experiment-{e.number}.md)" for e in registry())
    # No final newline: the line it replaces sits inside a table.
    return f"| questions {links} | one module per question, its record, runs and verdicts |"


def api_page(experiment) -> str:
    """The API page of one question: the reference of its module, named by its slug."""
    module = f"decaylab.experiments.{experiment.slug}"
    if importlib.util.find_spec(module) is None:  # a question defined outside the package
        module = experiment.run.__module__
    return f"# Question {experiment.number}: {experiment.title}\n\n::: {module}\n"


def _insert_after(items: list, anchor: str, entries: list[dict]) -> None:
    """Insert ``entries`` into the nav list holding the page ``anchor``, just after it."""
    for i, item in enumerate(items):
        page = item if isinstance(item, str) else next(iter(item.values()))
        if page == anchor:
            items[i + 1 : i + 1] = entries
            return
        if isinstance(page, list):
            with contextlib.suppress(LookupError):
                return _insert_after(page, anchor, entries)
    raise LookupError(anchor)


def add_questions_to_nav(nav: list) -> None:
    """Put every registered question in the nav: its page after ``experiments/index.md``
    and its API page after ``api/adaptive.md`` (mkdocs.yml lists neither)."""
    questions = list(registry())
    for anchor, path in [
        ("experiments/index.md", "experiments/{e.page}"),
        ("api/adaptive.md", "api/experiment-{e.number}.md"),
    ]:
        entries = [{f"{e.number}. {e.title}": path.format(e=e)} for e in questions]
        try:
            _insert_after(nav, anchor, entries)
        except LookupError:
            message = f"mkdocs.yml's nav has no {anchor} to list the questions after"
            raise PluginError(message) from None


# -- MkDocs events -------------------------------------------------------------


def on_config(config, **kwargs):
    # Run and document the checkout being built, not an installed copy. (MkDocs
    # restores sys.path after importing this file, so this cannot be done above.)
    if SOURCE not in sys.path:
        sys.path.insert(0, SOURCE)
    add_questions_to_nav(config["nav"])
    return config


def on_pre_build(config, **kwargs) -> None:
    start = time.perf_counter()
    snippets, figures = _generate()
    _snippets.clear()
    _snippets.update(snippets)
    _figures.clear()
    _figures.update(figures)
    _full.clear()
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    page, images = notebook_markdown(notebook, "walkthrough/")
    _notebook.clear()
    _notebook.update({NOTEBOOK_PAGE: page.encode("utf-8"), **images})
    report = FULL_REPORT / "report.md"
    if report.exists():
        _full.update(full_report_snippets(report.read_text(encoding="utf-8")))
    log.info(
        f"hooks: ran {len(figures)} experiments and drew their figures "
        f"in {time.perf_counter() - start:.1f} s"
    )


def on_files(files, config, **kwargs):
    for path, content in (*_figures.items(), *_notebook.items()):
        files.append(File.generated(config, path, content=content))
    for experiment in registry():
        path = f"api/experiment-{experiment.number}.md"
        if files.get_file_from_path(path) is None:  # a written page, if any, comes first
            files.append(File.generated(config, path, content=api_page(experiment)))
    return files


def on_page_markdown(markdown, page, config, files, **kwargs):
    where = page.file.src_uri
    markdown = insert_generated(markdown, where, _snippets)
    markdown = insert_full_report(markdown, where, _full)
    return run_exec_blocks(markdown, where)


@mkdocs.plugins.event_priority(-100)  # after the search plugin has written its index
def on_post_build(config, **kwargs) -> None:
    changed = clean_search_index(config["site_dir"])
    log.info(f"hooks: {changed} search entries without raw TeX and ¶")
