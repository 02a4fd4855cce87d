"""A griffe extension that turns the reStructuredText in numpydoc docstrings into Markdown.

The library's docstrings follow numpydoc, which is reStructuredText: ``.. math::``
blocks, ``:math:`` and ``:func:`` roles, and simple tables. mkdocstrings renders
docstrings as Markdown, so before it does, each docstring is rewritten:

- ``.. math:: expr`` (and its indented continuation lines) becomes a ``$$ expr $$``
  block, and ``:math:`expr``` becomes ``$expr$``; both are typeset by MathJax;
- ``:func:`name``` and the other Python roles become inline code ``name``,
  linked to the object's API entry when the name resolves in the docstring's
  scope (an optional cross-reference: no link, and no warning, otherwise);
- a simple table (rows framed by ``====  ====`` rules) becomes a pipe table,
  with continuation lines (an empty first cell) joined to the row above;
- a paragraph ending in ``::`` loses one colon (its indented literal block is
  already a Markdown code block), and a bare ``::`` line disappears.

The docstrings themselves are left as they are in the source.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|meth|class|mod|attr|data|exc|obj|const|ref):`([^`]+)`")
_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_RULE = re.compile(r"^\s*=+(\s+=+)+\s*$")
_LITERAL = re.compile(r"^(?!\s*\.\. )(.*?)(\s*)::\s*$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _math_blocks(lines: list[str]) -> list[str]:
    """Replace every ``.. math::`` directive by a ``$$`` block at the same indentation."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip(" ")
        if not stripped.startswith(".. math::"):
            out.append(line)
            i += 1
            continue
        indent = _indent(line)
        body = [stripped[len(".. math::") :].strip()]
        i += 1
        # The directive's content is every following line indented deeper than
        # the directive, with blank lines allowed inside it.
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > indent):
            body.append(lines[i].strip())
            i += 1
        while body and not body[-1]:
            body.pop()
        pad = " " * indent
        if out and out[-1].strip():
            out.append("")
        out.extend([pad + "$$", *(pad + b for b in body if b), pad + "$$", ""])
    return out


def _cells(line: str, starts: list[int]) -> list[str]:
    bounds = [*starts[1:], None]
    return [
        line[a:b].strip() if b is not None else line[a:].strip() for a, b in zip(starts, bounds)
    ]


def _tables(lines: list[str]) -> list[str]:
    """Replace every reStructuredText simple table by a Markdown pipe table."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not _RULE.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        rule = lines[i]
        starts = [m.start() for m in re.finditer(r"=+", rule)]
        indent = " " * _indent(rule)
        rows: list[list[str]] = []
        rules_seen = 1
        header_rows = 0
        i += 1
        while i < len(lines) and rules_seen < 3:
            line = lines[i]
            i += 1
            if _RULE.match(line):
                rules_seen += 1
                if rules_seen == 2:
                    header_rows = len(rows)
                continue
            if not line.strip():
                continue
            cells = _cells(line, starts)
            if rows and not cells[0]:
                # A continuation line: its text belongs to the row above.
                rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells)]
            else:
                rows.append(cells)
        if header_rows == 0:
            header, body = ["" for _ in starts], rows
        else:
            header, body = rows[0], rows[header_rows:]
        if out and out[-1].strip():
            out.append("")
        for k, row in enumerate([header, *body]):
            out.append(indent + "| " + " | ".join(c.replace("|", r"\|") for c in row) + " |")
            if k == 0:
                out.append(indent + "|" + "|".join("---" for _ in row) + "|")
        out.append("")
    return out


def _role(match: re.Match, resolve: Callable[[str], str | None] | None) -> str:
    """A Python role as inline code, wrapped in an optional cross-reference if it resolves."""
    target = match.group(1)
    # numpydoc: "~a.b.c" shows "c"; ".name" means "search for name".
    name = target.lstrip("~").lstrip(".")
    shown = name.rsplit(".", 1)[-1] if target.startswith("~") else name
    path = resolve(name) if resolve is not None else None
    if path is None:
        return f"`{shown}`"
    return f'<autoref identifier="{path}" optional><code>{shown}</code></autoref>'


def _literal_markers(lines: list[str]) -> list[str]:
    """Turn ``text::`` into ``text:`` and drop bare ``::`` lines."""
    out = []
    for line in lines:
        match = _LITERAL.match(line)
        if match is None:
            out.append(line)
        elif match.group(1).strip():
            out.append(match.group(1) + ":")
        # a bare "::" introduces the literal block and shows nothing
    return out


def rst_to_markdown(text: str, resolve: Callable[[str], str | None] | None = None) -> str:
    """Rewrite the reStructuredText constructs of a numpydoc docstring as Markdown.

    Parameters
    ----------
    text : str
        The docstring.
    resolve : callable, optional
        Maps a name used in a role (``decay_factor``, ``Network.copy``) to the
        full path of the object it refers to, or None; roles whose name
        resolves become links.
    """
    lines = _literal_markers(_tables(_math_blocks(text.splitlines())))
    text = "\n".join(lines)
    text = _MATH_ROLE.sub(lambda m: f"${m.group(1)}$", text)
    return _ROLE.sub(lambda m: _role(m, resolve), text)


def _resolver(obj: griffe.Object) -> Callable[[str], str | None]:
    """Resolve names as Python would in the scope of ``obj``, following imports."""

    def resolve(name: str) -> str | None:
        if name.startswith(f"{obj.package.name}."):
            return name
        head, _, rest = name.partition(".")
        try:
            path = obj.resolve(head)
        except Exception:  # an unknown name is shown as plain code, not an error
            return None
        return f"{path}.{rest}" if rest else path

    return resolve


def _objects(obj: griffe.Object):
    """``obj`` and every object defined under it (aliases, i.e. imports, are skipped)."""
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _objects(member)


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring's reStructuredText as Markdown once the package is loaded.

    Waiting for the whole package lets a role name any object of it, wherever
    that object is defined.
    """

    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        for obj in _objects(pkg):
            if obj.docstring is not None:
                obj.docstring.value = rst_to_markdown(obj.docstring.value, _resolver(obj))
