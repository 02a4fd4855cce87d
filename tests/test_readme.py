"""The README's examples print exactly what the README says they print."""

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLES = re.findall(
    r"```python\n(.*?)```\s*\nprints\n\n```\n(.*?)```", README.read_text(encoding="utf-8"), re.S
)


def test_the_readme_has_its_two_examples():
    assert len(EXAMPLES) == 2


@pytest.mark.parametrize(("code", "stated"), EXAMPLES, ids=["quickstart", "own-runs"])
def test_readme_example_prints_its_stated_output(code, stated):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(README), "exec"), {})
    assert printed.getvalue() == stated
