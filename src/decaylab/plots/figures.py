"""The standard figure of each experiment's result record, found through the registry, and
how the report saves it."""

from __future__ import annotations

import contextlib
import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import Locator

from decaylab.experiments.registry import EXPERIMENTS
from decaylab.plots._helpers import quiet

__all__ = ["figure_for", "save_figure"]


def figure_for(result) -> Figure:
    """The standard figure of any experiment's result record.

    The figure function is the one the question's registry entry names
    (:data:`decaylab.experiments.registry.EXPERIMENTS`), as in the report.

    Parameters
    ----------
    result : ExperimentResult
        A record returned by one of the registered experiments.

    Returns
    -------
    matplotlib.figure.Figure
        Not shown and not attached to pyplot; save it with ``fig.savefig``.
    """
    for experiment in EXPERIMENTS:
        if isinstance(result, experiment.record):
            with quiet():
                return experiment.draw(result)
    raise TypeError(
        f"result has type {type(result).__name__}; expected the record of a decaylab experiment "
        f"({', '.join(e.record.__name__ for e in EXPERIMENTS)})"
    )


def save_figure(fig: Figure, path, *, dpi: float = 120) -> None:
    """Save ``fig`` as the report does: one layout pass and one draw.

    ``fig.savefig(path, bbox_inches="tight")`` on a constrained-layout figure
    draws it twice (once to lay it out and find its tight box, once to
    render) and measures every axis's tick labels a dozen times; most of a
    figure's cost was there. Here the layout engine runs once at ``dpi``, and
    the figure is then saved whole with its layout fixed: constrained layout
    already keeps everything inside the figure, so the tight box would only
    trim the margin. While it is laid out, what cannot change the layout is
    left out of the measuring: the spines (inside the tick labels), the
    automatic placement of titles when nothing sits above an axes (no top
    ticks, no offset text), and ticks outside the view. The figure's state
    (dpi, layout engine, locators, flags) is restored afterwards.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A figure, with or without a layout engine.
    path : str or path-like
        Where to write; the format follows the suffix, as in ``fig.savefig``.
    dpi : float, default 120
        Resolution of the saved image.
    """
    engine, original_dpi, canvas = fig.get_layout_engine(), fig.dpi, fig.canvas
    with contextlib.ExitStack() as undo:
        # One Agg canvas, so that the layout and the saving share one renderer, and with it
        # matplotlib's cache of text sizes (kept per renderer).
        FigureCanvasAgg(fig)
        undo.callback(fig.set_canvas, canvas)
        titles_stay = _nothing_above(fig)
        for ax in fig.axes:
            _measure_less(ax, undo, titles_stay=titles_stay)
        fig.set_dpi(dpi)
        undo.callback(fig.set_dpi, original_dpi)
        if engine is not None:
            engine.execute(fig)
            fig.set_layout_engine(None)
            undo.callback(fig.set_layout_engine, engine)
        fig.savefig(path, dpi=dpi, **_png_options(path))


def _png_options(path) -> dict:
    """For a ``.png`` path, zlib level 3: quicker to write than the default 6, files about
    as small on the report's figures (line art compresses well either way), same pixels."""
    if isinstance(path, (str, os.PathLike)) and os.fspath(path).lower().endswith(".png"):
        return {"pil_kwargs": {"compress_level": 3}}
    return {}


def _nothing_above(fig: Figure) -> bool:
    """Whether no axes of ``fig`` has anything above it that would push its title up.

    That is when matplotlib's automatic title placement leaves every title
    where it starts: x ticks and label at the bottom, no offset text (such as
    ``1e-5``) above a y axis.
    """
    for ax in fig.axes:
        if ax.xaxis.get_ticks_position() in ("top", "unknown"):
            return False
        if ax.xaxis.get_label_position() == "top":
            return False
        formatter = ax.yaxis.get_major_formatter()
        formatter.set_locs(ax.yaxis.get_majorticklocs())
        if formatter.get_offset():
            return False
    return True


def _measure_less(ax, undo: contextlib.ExitStack, *, titles_stay: bool) -> None:
    """Leave out of ``ax``'s layout what cannot change it, until ``undo`` closes."""
    for spine in ax.spines.values():
        if spine.get_in_layout():
            spine.set_in_layout(False)
            undo.callback(spine.set_in_layout, True)
    if titles_stay and getattr(ax, "_autotitlepos", None):
        # Placing a title re-measures the y axis's tick labels at every pass;
        # with nothing above the axes the title stays at its start anyway.
        ax._autotitlepos = False
        undo.callback(setattr, ax, "_autotitlepos", True)
    for axis in (ax.xaxis, ax.yaxis):
        if axis.get_scale() == "log":
            _ticks_in_view(axis, undo)


def _ticks_in_view(axis, undo: contextlib.ExitStack) -> None:
    """Give ``axis`` only the ticks in its view until ``undo`` closes (log axes).

    A linear axis is left alone: its number format is chosen from all its
    tick locations, in view or not.
    """
    defaults = (axis.isDefault_majloc, axis.isDefault_minloc)
    major, minor = axis.get_major_locator(), axis.get_minor_locator()
    axis.set_major_locator(_InView(major))
    axis.set_minor_locator(_InView(minor))

    def restore():
        axis.set_major_locator(major)
        axis.set_minor_locator(minor)
        axis.isDefault_majloc, axis.isDefault_minloc = defaults

    undo.callback(restore)


class _InView(Locator):
    """The ticks of ``inner`` that lie in the axis's view.

    matplotlib makes a tick (two lines and two texts) for every location a
    locator returns and then draws only those in view; a log locator returns
    whole decades beyond the view, often more ticks than are drawn.
    """

    def __init__(self, inner: Locator):
        self.inner = inner

    def set_axis(self, axis):
        super().set_axis(axis)
        self.inner.set_axis(axis)

    def tick_values(self, vmin, vmax):
        return self.inner.tick_values(vmin, vmax)

    def nonsingular(self, v0, v1):
        return self.inner.nonsingular(v0, v1)

    def view_limits(self, vmin, vmax):
        return self.inner.view_limits(vmin, vmax)

    def __call__(self):
        locs = np.asarray(self.inner(), dtype=float)
        if locs.size == 0:
            return locs
        transform = self.axis.get_transform()
        with np.errstate(invalid="ignore", divide="ignore"):
            low, high = np.sort(transform.transform(np.asarray(self.axis.get_view_interval())))
            at = transform.transform(locs)
        slack = 1e-6 * (high - low)
        return locs[(at >= low - slack) & (at <= high + slack)]
