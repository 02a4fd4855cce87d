"""The README's examples print exactly what the README says they print."""

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLES = re.findall(
    # A code block never spans a fence: blocks without "prints" are not examples of output.
    r"```python\n((?:(?!```).)*?)```\s*\nprints\n\n```\n(.*?)```",
    README.read_text(encoding="utf-8"),
    re.S,
)


def test_the_readme_has_its_two_examples():
    assert len(EXAMPLES) == 2


@pytest.mark.parametrize(("code", "stated"), EXAMPLES, ids=["quickstart", "own-runs"])
def test_readme_example_prints_its_stated_output(code, stated):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(README), "exec"), {})
    assert printed.getvalue() == stated


def test_readme_plot_of_the_first_example_saves_a_figure(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    text = README.read_text(encoding="utf-8")
    (plot,) = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "dl.plots" in b]
    monkeypatch.chdir(tmp_path)
    namespace = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(EXAMPLES[0][0], str(README), "exec"), namespace)
    exec(compile(plot, str(README), "exec"), namespace)
    assert (tmp_path / "rms.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert namespace["ax"].get_ylabel() == "RMS of w"
