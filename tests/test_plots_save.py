"""How the report saves a figure: the layout constrained layout gives, one pass, nothing lost.

``save_figure`` runs the figure's layout engine once and saves the whole
figure, where ``savefig(bbox_inches="tight")`` drew it twice; it must lay the
panels out where a plain draw under constrained layout puts them, keep every
tick label inside the image, and leave the figure as it found it.
"""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

import decaylab as dl  # noqa: E402
import decaylab.plots as dp  # noqa: E402
from decaylab.plots.figures import save_figure  # noqa: E402
from small_data import small_digits  # noqa: E402


@pytest.fixture(scope="module")
def factor():
    # ηλ/n from 0.0025 to 0.05 (n = 200), as in the walkthrough: the span at which
    # matplotlib's own log labels (2×10⁻³, 3×10⁻³, …) ran into each other.
    small = small_digits(200, 100)
    return dl.per_epoch_factor(
        small, etas=(0.5,), lmbdas=(1.0, 20.0), batch_sizes=(10, 30), seeds=1, hidden=8
    )


def _log_panels() -> Figure:
    """Log-log panels with titles, legends and decades of ticks, as in the report's figures."""
    fig = Figure(figsize=(9, 6), layout="constrained")
    for k, ax in enumerate(fig.subplots(2, 2).ravel()):
        x = np.geomspace(1e-3, 10.0 ** (k + 1), 20)
        ax.loglog(x, x ** (0.5 + k), label=f"slope {0.5 + k}")
        ax.set_title(f"panel {k}")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        dp._helpers.plain_log(ax)
        ax.legend()
    return fig


def _positions(fig: Figure) -> np.ndarray:
    return np.array([ax.get_position().bounds for ax in fig.axes])


def test_panels_are_where_constrained_layout_puts_them(tmp_path):
    reference = _log_panels()
    FigureCanvasAgg(reference)
    reference.set_dpi(120)
    reference.canvas.draw()  # constrained layout, run by matplotlib during the draw
    fig = _log_panels()
    save_figure(fig, tmp_path / "panels.png", dpi=120)
    fig.set_layout_engine(None)  # keep the positions save_figure used
    np.testing.assert_allclose(_positions(fig), _positions(reference), atol=2e-3)


def test_the_image_is_the_whole_figure_at_the_dpi(tmp_path):
    fig = _log_panels()
    save_figure(fig, tmp_path / "panels.png", dpi=80)
    assert Image.open(tmp_path / "panels.png").size == (9 * 80, 6 * 80)


def test_the_figure_is_left_as_it_was(tmp_path):
    fig = _log_panels()
    engine, dpi = fig.get_layout_engine(), fig.dpi
    ax = fig.axes[0]
    locators = (ax.xaxis.get_major_locator(), ax.yaxis.get_minor_locator())
    save_figure(fig, tmp_path / "panels.png", dpi=150)
    assert (fig.get_layout_engine(), fig.dpi) == (engine, dpi)
    assert (ax.xaxis.get_major_locator(), ax.yaxis.get_minor_locator()) == locators
    assert all(spine.get_in_layout() for spine in ax.spines.values())


def test_every_tick_label_is_inside_the_image(factor, tmp_path):
    fig = dp.figure_factor(factor)
    save_figure(fig, tmp_path / "q2.png", dpi=120)
    fig.set_layout_engine(None)
    FigureCanvasAgg(fig)
    fig.set_dpi(120)
    fig.canvas.draw()
    width, height = fig.canvas.get_width_height()
    boxes = [
        label.get_window_extent()
        for ax in fig.axes
        for axis in (ax.xaxis, ax.yaxis)
        for label in _shown_labels(axis)
    ]
    assert boxes
    assert all(b.x0 >= 0 and b.y0 >= 0 and b.x1 <= width and b.y1 <= height for b in boxes)


def _shown_labels(axis) -> list:
    """The tick labels ``axis`` draws: with text, at a tick in its view."""
    low, high = sorted(axis.get_view_interval())
    coordinate = 0 if axis.axis_name == "x" else 1
    return [
        label
        for label in axis.get_majorticklabels() + axis.get_minorticklabels()
        if label.get_visible()
        and label.get_text()
        and low <= label.get_position()[coordinate] <= high
    ]


def _overlapping(labels) -> list:
    boxes = [(label.get_text(), label.get_window_extent()) for label in labels]
    return [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2)
            if box_a.overlaps(box_b)]  # fmt: skip


def test_factor_error_panel_x_labels_do_not_overlap(factor):
    fig = Figure(figsize=(6.9, 5.2), layout="constrained")
    ax = dp.plot_factor_error(factor, fig.add_subplot())
    FigureCanvasAgg(fig).draw()
    shown = _shown_labels(ax.xaxis)
    assert len(shown) >= 2
    assert _overlapping(shown) == []
