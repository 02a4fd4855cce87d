"""The result record every experiment returns, its structure, and its one renderer.

A record returns its answer as structure (:meth:`ExperimentResult.section`):
a :class:`Section` holds the headline, the evidence bullets, captioned
:class:`Table` s, the claims it decides, notes and the details (question,
prediction, settings, diverged runs). One renderer writes it as Markdown for
the report and the docs (:meth:`Section.markdown`) and as HTML for a notebook
(:meth:`Section.html`, which ``_repr_html_`` shows). :func:`to_plain` turns a
record into JSON-ready values.
"""

from __future__ import annotations

import dataclasses
import html
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from decaylab.experiments.claims import Claim
from decaylab.experiments.estimates import Estimate
from decaylab.history import History

__all__ = [
    "ExperimentResult",
    "Section",
    "Table",
    "markdown_table",
    "markdown_text",
    "settings_line",
    "to_plain",
]


def to_plain(value: Any) -> Any:
    """Convert a result (dataclasses, arrays, numpy scalars) into JSON-ready Python values."""
    if isinstance(value, Estimate):
        return {"mean": _finite(value.mean), "stderr": _finite(value.stderr), "n": value.n}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, History):
        return {k: to_plain(v) for k, v in value.to_arrays().items() if k != "settings_json"}
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return [to_plain(v) for v in value.tolist()] if value.ndim else _finite(float(value))
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _finite(float(value))
    return value


def _finite(x: Any) -> Any:
    # JSON has no NaN; None says "not measured".
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return None if isinstance(x, float) and not math.isfinite(x) else x


def markdown_text(text: object) -> str:
    """Measured text as literal Markdown: the "*" of "λ*" must not start an emphasis."""
    return str(text).replace("*", "\\*")


def _cell(text: object) -> str:
    return markdown_text(text).replace("|", "\\|").replace("\n", " ")


def _pipe_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table of literal text (pipes and asterisks escaped)."""
    return _pipe_table([_cell(h) for h in header], [[_cell(c) for c in row] for row in rows])


def settings_line(settings: dict) -> str:
    """The settings as one compact line: ``lmbda = 5; seeds = [0, 1]``."""

    def show(value):
        if isinstance(value, float):
            return f"{value:g}"
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(show(v) for v in value) + "]"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
        return str(value)

    return "; ".join(f"{k} = {show(v)}" for k, v in settings.items())


@dataclass(frozen=True)
class Table:
    """A captioned table of strings: what it shows, its header and its rows."""

    caption: str
    header: tuple
    rows: tuple

    def markdown(self) -> str:
        """The caption in italics (if any), then the pipe table."""
        caption = f"*{markdown_text(self.caption)}*\n\n" if self.caption else ""
        return caption + markdown_table(list(self.header), [list(r) for r in self.rows])

    def html(self) -> str:
        """An HTML table with its caption."""
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in self.header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
            for row in self.rows
        )
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@dataclass(frozen=True)
class Section:
    """What a record says, as structure: one renderer makes Markdown and HTML of it.

    Attributes
    ----------
    number, title, question : int, str, str
    headline : str
        The answer in one line (the record's verdict).
    evidence : tuple of str
        Bullets, one piece of evidence each.
    tables : tuple of Table
    claims : tuple of Claim
        The claims the record decides, each with the numbers that decide it
        exactly as the claims table shows them.
    notes : tuple of str
        Computed sentences set beside the tables (another section's
        measurement of the same quantity).
    prediction : str
    settings : dict
    diverged : tuple of str
    """

    number: int
    title: str
    question: str
    headline: str
    evidence: tuple = ()
    tables: tuple = ()
    claims: tuple = ()
    notes: tuple = ()
    prediction: str = ""
    settings: dict = dataclasses.field(default_factory=dict)
    diverged: tuple = ()

    def claims_table(self) -> Table | None:
        """The claims decided here: claim, verdict and the numbers that decide it."""
        if not self.claims:
            return None
        rows = tuple((f"{c.number}", c.verdict, c.evidence) for c in self.claims)
        caption = "The claims this section decides, with the numbers that decide them."
        return Table(caption, ("claim", "verdict", "decided by"), rows)

    def markdown(self, figure: str | None = None, *, heading: bool = True) -> str:
        """Markdown: heading, headline, evidence, tables, claims, notes, figure, details.

        Parameters
        ----------
        figure : str, optional
            Path of the figure relative to the page; without one the section
            says that no run finished (when ``heading``) or shows none.
        heading : bool
            Start with the anchor and the "## Qn. title" heading (the report);
            the docs pages have their own.
        """
        parts = []
        if heading:
            parts += [f'<a id="q{self.number}"></a>', "", f"## Q{self.number}. {self.title}", ""]
        parts += [f"**{markdown_text(self.headline)}**", ""]
        if self.evidence:
            parts += [f"- {_cell(bullet)}" for bullet in self.evidence] + [""]
        claims = self.claims_table()
        for table in (*self.tables, *(() if claims is None else (claims,))):
            parts += [table.markdown(), ""]
        parts += [f"*Note.* {markdown_text(note)}\n" for note in self.notes]
        if figure is not None:
            parts += [f"![Figure for question {self.number}]({figure})", ""]
        elif heading:
            parts += ["*No figure: no run of this question finished without diverging.*", ""]
        parts += [
            '<details markdown="1"><summary>Question, prediction and settings</summary>',
            "",
            f"*Question.* {markdown_text(self.question)}",
            "",
            f"*Prediction.* {markdown_text(self.prediction)}",
            "",
            f"*Settings.* {markdown_text(settings_line(self.settings))}",
            "",
        ]
        if self.diverged:
            parts.append(f"*Diverged runs ({len(self.diverged)})*, left out of the numbers:")
            parts += [f"- {markdown_text(d)}" for d in self.diverged]
            parts.append("")
        parts += ["</details>", ""]
        return "\n".join(parts)

    def html(self) -> str:
        """HTML for a notebook: the same parts as :meth:`markdown`, without the figure."""
        esc = html.escape
        parts = [
            f"<h3>Q{self.number}. {esc(self.title)}</h3>",
            f"<p><b>{esc(self.headline)}</b></p>",
        ]
        if self.evidence:
            parts.append("<ul>" + "".join(f"<li>{esc(b)}</li>" for b in self.evidence) + "</ul>")
        claims = self.claims_table()
        parts += [t.html() for t in (*self.tables, *(() if claims is None else (claims,)))]
        parts += [f"<p><i>Note.</i> {esc(note)}</p>" for note in self.notes]
        details = [
            f"<p><i>Question.</i> {esc(self.question)}</p>",
            f"<p><i>Prediction.</i> {esc(self.prediction)}</p>",
            f"<p><i>Settings.</i> {esc(settings_line(self.settings))}</p>",
        ]
        if self.diverged:
            details.append(
                f"<p><i>Diverged runs ({len(self.diverged)})</i>: "
                + esc("; ".join(self.diverged))
                + "</p>"
            )
        parts.append(
            "<details><summary>Question, prediction and settings</summary>"
            + "".join(details)
            + "</details>"
        )
        return "\n".join(parts)


@dataclass
class ExperimentResult:
    """Base of every experiment's result record.

    Subclasses add the data behind the answer (plain arrays indexed by run,
    epoch and layer) and the measured numbers, and implement :meth:`table`.

    Attributes
    ----------
    settings : dict
        Every argument the experiment ran with (data set name, sizes, η, λ, m,
        epochs, seeds, ...).
    prediction : str
        What the theory or the claim under test predicts, stated before
        looking at the measurement (it contains no measured number).
    verdict : str
        The answer, computed from the measured numbers by the module's
        ``verdict`` function with the thresholds recorded in ``settings``.
    diverged : list of str
        A description of every training run that diverged (non-finite
        weights or cost); their numbers are left out of the estimates.
    """

    number: ClassVar[int] = 0
    title: ClassVar[str] = ""
    question: ClassVar[str] = ""

    settings: dict
    prediction: str
    verdict: str
    diverged: list[str]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # @dataclass writes a __repr__ listing every array unless the class
        # already has one in its own namespace: give it the compact one first.
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = ExperimentResult.__repr__

    def __repr__(self) -> str:
        """One line: the experiment, its verdict (cut at 80 characters) and its data's sizes."""
        verdict = self.verdict if len(self.verdict) <= 80 else self.verdict[:79] + "…"
        arrays = [
            f"{f.name}{list(value.shape)}"
            for f in dataclasses.fields(self)
            if isinstance(value := getattr(self, f.name), np.ndarray) and value.ndim
        ]
        shown = f", arrays: {' '.join(arrays)}" if arrays else ""
        diverged = f", {len(self.diverged)} diverged" if self.diverged else ""
        return f"{type(self).__name__}(Q{self.number}, verdict={verdict!r}{diverged}{shown})"

    def table(self) -> tuple[list[str], list[list[str]]]:
        """The measured numbers as (header, rows) of strings, for reports."""
        raise NotImplementedError

    def claims(self) -> list[Claim]:
        """The claims this experiment decides, each with a verdict computed from its numbers."""
        return []

    def captioned_tables(self) -> list[Table]:
        """The record's tables with their captions.

        A record with a ``tables()`` method gives (caption, header, rows)
        itself; otherwise its ``table()`` (and ``fit_table()`` /
        ``transfer_table()`` where present) are shown without a caption.
        """
        if hasattr(self, "tables"):
            found = list(self.tables())
        else:
            found = [("", *self.table())]
            for extra in ("fit_table", "transfer_table"):
                if hasattr(self, extra):
                    found.append(("", *getattr(self, extra)()))
        return [Table(c, tuple(h), tuple(tuple(r) for r in rows)) for c, h, rows in found]

    def section(self, notes: list[str] | tuple = ()) -> Section:
        """The record as structure: headline, evidence, captioned tables, claims, notes, details."""
        return Section(
            number=self.number,
            title=self.title,
            question=self.question,
            headline=self.verdict,
            evidence=tuple(getattr(self, "evidence", ())),
            tables=tuple(self.captioned_tables()),
            claims=tuple(self.claims()),
            notes=tuple(notes),
            prediction=self.prediction,
            settings=dict(self.settings),
            diverged=tuple(self.diverged),
        )

    def _repr_html_(self) -> str:
        """The section as HTML, for a notebook."""
        return self.section().html()

    def to_dict(self) -> dict:
        """All fields as plain Python values (lists, floats, str; NaN as None), JSON-ready."""
        out = {"number": self.number, "title": self.title, "question": self.question}
        out.update(to_plain(self))
        return out

    def summary(self) -> str:
        """A plain-text account: the question, the table, the prediction and the verdict."""
        header, rows = self.table()
        widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
        lines = [f"Q{self.number}. {self.title}", self.question, ""]
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
        lines += ["", f"Prediction: {self.prediction}", f"Verdict: {self.verdict}"]
        if self.diverged:
            lines.append(f"Diverged runs ({len(self.diverged)}): " + "; ".join(self.diverged))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()
