"""``import decaylab`` leaves SciPy's heavy parts to the first call that needs them.

Every worker process of a report or a sweep imports decaylab; SciPy's stats,
linalg and special modules were most of that import's time. They are loaded
where they are used, and what depended on their being loaded (the BLAS
thread limits, the environment record) loads them first.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from decaylab._blas import BlasRoutines


def _run(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.mark.parametrize(
    "module", ["scipy.stats", "scipy.linalg", "scipy.special", "threadpoolctl", "matplotlib"]
)
def test_import_decaylab_does_not_import(module):
    code = f"import sys, decaylab; print({module!r} in sys.modules)"
    assert _run(code) == ["False"]


def test_training_in_a_fresh_process_holds_every_blas_pool_to_one_thread():
    # SciPy's BLAS is first loaded inside dl.train: the limit must still reach its pool.
    code = (
        "import decaylab as dl\n"
        "from threadpoolctl import threadpool_info\n"
        "seen = set()\n"
        "class Seen:\n"
        "    name = 'seen'\n"
        "    def start(self, net, *, eta, multiplier): pass\n"
        "    def step_parts(self, before, decay, rest):\n"
        "        seen.update((p['filepath'], p['num_threads']) for p in threadpool_info()\n"
        "                    if p['user_api'] == 'blas')\n"
        "    def end_epoch(self, net): pass\n"
        "    def result(self): return {}\n"
        "d = dl.load_digits()\n"
        "split = dl.Split(d.train.X[:40], d.train.y[:40])\n"
        "dl.train(dl.Network([64, 8, 10], seed=0), split, epochs=1, batch_size=20, eta=0.5,\n"
        "         seed=0, monitors=[Seen()])\n"
        "import scipy.linalg, scipy.special\n"
        "pools = {p['filepath'] for p in threadpool_info() if p['user_api'] == 'blas'}\n"
        "print({path for path, _ in seen} == pools, sorted({t for _, t in seen}))"
    )
    assert _run(code) == ["True", "[1]"]


def test_environment_lists_scipys_blas_before_any_product():
    code = (
        "from decaylab._blas import environment\n"
        "first = environment()['blas']\n"
        "import scipy.linalg\n"
        "print(first == environment()['blas'])"
    )
    assert _run(code) == ["True"]


@pytest.mark.parametrize(
    ("dtype", "name"),
    [(np.float64, "ddot"), (np.float32, "sdot")],
)
def test_blas_routines_are_scipys_by_dtype(dtype, name):
    from scipy.linalg import blas

    assert BlasRoutines("dot")[np.dtype(dtype)] is getattr(blas, name)


def test_blas_routines_refuse_other_dtypes():
    routines = BlasRoutines("dot")
    with pytest.raises(KeyError):
        routines[np.dtype(np.int64)]
    assert routines.get(np.dtype(np.float16), "numpy") == "numpy"
