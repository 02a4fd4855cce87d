"""Progress bars: no tqdm at import, and no "IProgress not found" warning in a notebook.

The notebook is a Jupyter kernel as tqdm recognises one (``ipykernel.zmqshell``
loaded, a ZMQ shell from ``IPython.get_ipython()``) in which ipywidgets cannot
be imported; each case runs in a fresh interpreter, since tqdm decides once.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

FAKE_KERNEL_WITHOUT_WIDGETS = """
import sys, types
sys.modules["ipykernel.zmqshell"] = types.ModuleType("ipykernel.zmqshell")
ipython = types.ModuleType("IPython")
ipython.get_ipython = lambda: type("ZMQInteractiveShell", (), {})()
sys.modules["IPython"] = ipython
sys.modules["ipywidgets"] = None
"""

TRAIN_WITH_A_BAR = """
import warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import decaylab as dl
    data = dl.load_digits()
    net = dl.Network([64, 5, 10], seed=0)
    dl.train(net, data.train, epochs=1, batch_size=100, eta=0.5, progress=True, seed=0)
print([f"{type(w.message).__name__}: {w.message}" for w in caught])
"""


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_import_decaylab_does_not_import_tqdm():
    assert _run("import sys, decaylab; print('tqdm' in sys.modules)") == "False"


@pytest.mark.parametrize("kernel", [False, True], ids=["terminal", "notebook without ipywidgets"])
def test_a_progress_bar_warns_nothing(kernel):
    code = (FAKE_KERNEL_WITHOUT_WIDGETS if kernel else "") + TRAIN_WITH_A_BAR
    assert _run(code) == "[]"


def test_a_notebook_without_ipywidgets_gets_text_bars():
    code = FAKE_KERNEL_WITHOUT_WIDGETS + (
        "from decaylab._progress import progress_bar\n"
        "print(type(progress_bar(range(2), disable=True)).__mro__[1].__module__)"
    )
    assert _run(code) == "tqdm.std"
