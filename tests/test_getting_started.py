"""The getting-started page's Dask script runs as it is when saved to a file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "getting-started.md"


def _dask_script() -> str:
    blocks = re.findall(r"^```python\n(.*?)^```$", PAGE.read_text(), re.MULTILINE | re.DOTALL)
    (script,) = [block for block in blocks if "LocalCluster" in block]
    return script


def test_the_dask_script_is_guarded_for_worker_processes():
    script = _dask_script()
    guard = script.index('if __name__ == "__main__":')
    assert script.index("LocalCluster(") > guard and script.index("dl.sweep(") > guard


@pytest.mark.slow
def test_the_dask_script_runs_when_saved_to_a_file(tmp_path):
    pytest.importorskip("distributed")
    path = tmp_path / "sweep_on_dask.py"
    path.write_text(_dask_script())
    done = subprocess.run(
        [sys.executable, str(path)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    rows = re.findall(r"^λ = (\S+), seed (\d): validation accuracy (0\.\d{3})$", done.stdout, re.M)
    assert [(lmbda, seed) for lmbda, seed, _ in rows] == [
        ("0.1", "0"), ("0.1", "1"), ("5.0", "0"), ("5.0", "1"),
    ]  # fmt: skip
