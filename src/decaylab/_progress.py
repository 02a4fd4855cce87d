"""Progress bars: widgets in a notebook that has ipywidgets, text elsewhere, without a warning.

tqdm is imported when the first bar is made, not when decaylab is. ``tqdm.auto``
picks the notebook bar inside a Jupyter kernel; without ipywidgets it warns
"IProgress not found" and falls back to the text bar, which is what we want,
so that warning is silenced here and nowhere else.
"""

from __future__ import annotations

import functools
import warnings

__all__ = ["progress_bar"]


def progress_bar(iterable=None, **options):
    """A tqdm bar over ``iterable`` (or of ``total=`` steps), with tqdm's ``options``."""
    return _bar_class()(iterable, **options)


@functools.lru_cache(maxsize=1)
def _bar_class() -> type:
    from tqdm import TqdmWarning

    with warnings.catch_warnings():
        # tqdm.auto's "IProgress not found": a notebook without ipywidgets gets text bars.
        warnings.simplefilter("ignore", TqdmWarning)
        from tqdm.auto import tqdm
    return tqdm
