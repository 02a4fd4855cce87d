"""Every example script runs with small settings, and the walkthrough notebook executes."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import decaylab as dl  # noqa: E402
from decaylab import experiments  # noqa: E402
from small_data import small_digits  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name: str):
    """Import examples/<name>.py as a module, without running its __main__ block."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# (script, small settings, expected record type)
CASES = [
    (
        "q1_dominance",
        {"lmbdas": (0.1, 5.0), "epochs": 3, "seeds": 2, "hidden": 8},
        experiments.DominanceResult,
    ),
    (
        "q2_factor",
        {"etas": (0.5,), "lmbdas": (5.0, 100.0), "batch_sizes": (10, 40), "seeds": 1},
        experiments.FactorResult,
    ),
    (
        "q3_equilibrium",
        {"widths": (4, 8, 16), "seeds": 2, "epochs": 8, "lmbdas": (), "ns": (), "batch_sizes": ()},
        experiments.EquilibriumResult,
    ),
    ("q4_initialisation", {"epochs": 3, "seeds": 2, "hidden": 8}, experiments.InitialisationResult),
    (
        "q5_layers",
        {"lmbdas": (0.5,), "epochs": 3, "seeds": 2, "hidden": 8, "mnist_n": 200},
        experiments.LayerResult,
    ),
    (
        "q6_conventions",
        {
            "widths": (4, 8),
            "sum_lmbdas": (0.5, 4.0, 32.0),
            "mean_lmbdas": (100.0, 1000.0, 10000.0),
            "ns": (100, 200),
            "transfer_lmbdas": (0.1, 1.0, 10.0),
            "transfer_epochs": 3,
            "epochs": 3,
            "average_epochs": 1,
            "seeds": 1,
        },
        experiments.ConventionResult,
    ),
    (
        "q7_optimizers",
        {
            "hidden": 6,
            "seeds": 1,
            "equilibrium_n": 100,
            "max_relaxations": 12.0,
            "average_epochs": 1,
            "ns": (100, 200),
            "transfer_timescales": (2.0, 8.0, 32.0),
            "transfer_epochs": 2,
        },
        experiments.OptimizerResult,
    ),
]


@pytest.mark.parametrize("slug", experiments.EXPERIMENTS.slugs)
def test_every_registered_question_has_an_example_script_run_here(slug):
    assert (EXAMPLES / f"{slug}.py").is_file()
    assert slug in [case[0] for case in CASES]


@pytest.mark.parametrize("name, settings, kind", CASES, ids=[c[0] for c in CASES])
def test_example_main_returns_its_record_and_saves_its_figure(name, settings, kind, tmp_path):
    options = dict(settings)
    if name != "q5_layers":
        options["data"] = small_digits(200, 100)
    figure = tmp_path / f"{name}.png"
    result = load(name).main(figure=str(figure), **options)
    assert isinstance(result, kind)
    assert result.verdict
    assert figure.read_bytes()[:4] == b"\x89PNG"


def test_q2_example_exact_factor_matches_hand_computation():
    result = load("q2_factor").main(
        etas=(0.5,),
        lmbdas=(5.0,),
        batch_sizes=(10,),
        seeds=1,
        figure=None,
        data=small_digits(200, 100),
    )
    assert result.exact[0] == pytest.approx((1 - 0.5 * 5.0 / 200) ** 20)


def test_q3_example_fits_over_every_run():
    result = load("q3_equilibrium").main(
        widths=(4, 8, 16),
        seeds=2,
        epochs=8,
        lmbdas=(),
        ns=(),
        batch_sizes=(),
        figure=None,
        data=small_digits(200, 100),
    )
    assert result.fit.n_points == 6
    assert np.all(np.isfinite(result.equilibrium_rms))


def test_example_scripts_run_as_programs_without_a_figure_argument():
    # Each script's __main__ block calls main() and prints the summary; check it is there.
    for name, _, _ in CASES:
        text = (EXAMPLES / f"{name}.py").read_text(encoding="utf-8")
        assert 'if __name__ == "__main__":' in text and "summary()" in text


@pytest.mark.slow
def test_walkthrough_notebook_executes(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(EXAMPLES / "walkthrough.ipynb", as_version=4)
    # The kernel must import the same decaylab as the tests do.
    source = str(Path(dl.__file__).resolve().parent.parent)
    paths = [source, os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # Warnings (tqdm's "IProgress not found", deprecations) reach a notebook on stderr.
    assert not [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 3


def test_walkthrough_notebook_is_stored_executed_and_clean():
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(EXAMPLES / "walkthrough.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    assert all(cell.outputs for cell in code)
    outputs = [o for cell in code for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error" or o.get("name") == "stderr"]
    assert len([o for o in outputs if "image/png" in o.get("data", {})]) == 3
