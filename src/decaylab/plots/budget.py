r"""The ‖w‖² budget of a run trained with a DecompositionMonitor, epoch by epoch."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes

from decaylab._validation import check_bool, check_choice, check_int
from decaylab.history import History
from decaylab.plots._helpers import axes, check_history, hline, integer_epochs

__all__ = ["plot_budget"]


#: The three terms of the ‖w‖² budget of one epoch, with their colours and labels.
BUDGET_TERMS = (
    ("contraction", "tab:red", "contraction Σ(d²−1)‖w‖²"),
    ("radial", "tab:blue", "radial Σ−2d·w·v"),
    ("noise", "tab:green", "noise Σ‖v‖²"),
)


#: The legend's band above the data, as a fraction of the data's span on the axis's scale.
LEGEND_HEADROOM = 0.32


def _headroom(ax: Axes, fraction: float) -> None:
    """Raise the top of the y axis by ``fraction`` of its span, on its own scale (symlog too)."""
    scale = ax.yaxis.get_transform()
    low, high = scale.transform(np.array(ax.get_ylim()))
    top = scale.inverted().transform(np.array([high + fraction * (high - low)]))[0]
    ax.set_ylim(ax.get_ylim()[0], top)


def plot_budget(
    history: History,
    *,
    ax: Axes | None = None,
    layer: int | None = None,
    relative: bool = False,
    share: bool = True,
    yscale: str | None = None,
    legend: bool = True,
) -> Axes:
    r"""The ‖w‖² budget of each epoch: contraction, radial and noise terms, and decay's share.

    Over one epoch of steps w′ = d·w − v (v the gradient step), the squared
    norm changes by

    .. math:: \Delta\|w\|^2 = \sum_\text{steps}(d^2 - 1)\|w\|^2
              + \sum_\text{steps} -2d\,w\cdot v + \sum_\text{steps}\|v\|^2,

    contraction (decay, <= 0) + radial (the gradient along w) + noise (>= 0);
    see :class:`decaylab.DecompositionMonitor`. Their sum is drawn in black.

    Parameters
    ----------
    history : History
        A run trained with ``monitors=[DecompositionMonitor()]``; its record
        ``history.monitors["decomposition"]`` has arrays of shape (E, L), row
        e − 1 for epoch e.
    ax : matplotlib Axes, optional
        Where to draw; pyplot's current axes by default.
    layer : int, optional
        One layer's budget; by default all weights pooled (the terms of the
        layers add up, since ‖w‖² is the sum of the layers' ‖w_l‖²).
    relative : bool
        Divide each epoch's terms by ‖w‖² at the start of that epoch, which
        makes them comparable across sizes: the contraction is then
        d^{2⌈n/m⌉} − 1 under pure decay, and ⌈n/m⌉(d² − 1) ≈ −2ηλ/m once
        ‖w‖² holds still.
    share : bool
        Also draw decay's share of the change of ‖w‖²,
        |contraction| / (|contraction| + |radial| + noise) (the ``"norm"``
        measure of :func:`decaylab.decay_share`), on a second y axis from 0
        to 1, with the balance ½ that an equilibrium hovers around.
    yscale : {"symlog", "linear"}, optional
        By default "symlog" for the absolute terms, which span decades while
        the weights decay, and "linear" for relative ones.
    legend : bool
        Draw one legend for both y axes.

    Returns
    -------
    matplotlib Axes
        The axes of the terms. ``ax.lines`` holds the three terms, their sum
        (labelled "Δ‖w‖² (their sum)") and the zero line; with ``share``,
        the share and its ½ line are on the second y axis, ``ax.right_ax``
        (as pandas names it). The legend is inside the axes, so that a plain
        ``savefig`` keeps it.

    Raises
    ------
    TypeError
        If ``history`` is not a History, or a flag is not a bool.
    ValueError
        If the history has no decomposition record, or ``layer`` or
        ``yscale`` is not one of the allowed values.
    """
    history = check_history("history", history)
    for name, flag in (("relative", relative), ("share", share), ("legend", legend)):
        check_bool(name, flag)
    if "decomposition" not in history.monitors:
        raise ValueError(
            "history has no 'decomposition' record; expected a run trained with "
            "monitors=[DecompositionMonitor()]"
        )
    yscale = ("linear" if relative else "symlog") if yscale is None else yscale
    yscale = check_choice("yscale", yscale, ("symlog", "linear"))
    n_layers = history.weights.norm.shape[1]
    if layer is not None:
        layer = check_int("layer", layer, minimum=0, maximum=n_layers - 1)
    ax = axes(ax)
    x, terms = _budget_terms(history, layer, relative)
    for key, colour, label in BUDGET_TERMS:
        ax.plot(x, terms[key], color=colour, marker="o", ms=3, lw=1.2, label=label)
    change = terms["contraction"] + terms["radial"] + terms["noise"]
    ax.plot(x, change, color="black", lw=1.6, label="Δ‖w‖² (their sum)")
    hline(ax, 0.0, None, color="grey", ls="-", lw=0.6)
    if yscale == "symlog":
        _symlog(ax, terms)
    ax.set_xlabel("epoch")
    integer_epochs(ax)
    where = "all weights" if layer is None else f"layer {layer}"
    ax.set_ylabel(f"per-epoch terms of Δ‖w‖²{' / ‖w‖²' if relative else ''} ({where})")
    twin = _draw_share(ax, x, terms) if share else None
    if legend:
        # Inside the axes, so that a plain savefig keeps it: one legend for both y axes.
        handles, labels = ax.get_legend_handles_labels()
        if share:
            more = twin.get_legend_handles_labels()
            handles, labels = handles + more[0], labels + more[1]
        # In a band of headroom at the top of the axes, which the terms and the share
        # (0 to 1) leave free: inside the figure, so that a plain savefig keeps it.
        _headroom(ax, LEGEND_HEADROOM)
        if share:
            _headroom(twin, LEGEND_HEADROOM)
            twin.set_yticks(np.linspace(0, 1, 6))
        ax.legend(handles, labels, fontsize="x-small", ncol=2, loc="upper center")
    return ax


def _budget_terms(history: History, layer: int | None, relative: bool) -> tuple:
    """(epochs (E,), {term: values (E,)}): each epoch's terms, of ``layer`` or pooled.

    ``relative`` divides them by ‖w‖² at the start of the epoch.
    """
    record = history.monitors["decomposition"]
    # A diverged run's monitor may hold one epoch more than the History kept.
    epochs = history.n_epochs

    def pick(values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)[:epochs]
        return values.sum(axis=1) if layer is None else values[:, layer]

    terms = {key: pick(record[key]) for key, _, _ in BUDGET_TERMS}
    if relative:
        start = pick(history.weights.norm**2)
        terms = {key: values / start for key, values in terms.items()}
    return history.epoch[1 : epochs + 1], terms


def _symlog(ax: Axes, terms: dict) -> None:
    """Linear within a decade below the smallest term's typical size, log beyond."""
    typical = [
        np.median(np.abs(v[nonzero]))
        for v in terms.values()
        if (nonzero := np.isfinite(v) & (v != 0)).any()
    ]
    if typical:
        ax.set_yscale("symlog", linthresh=10.0 ** np.floor(np.log10(min(typical))))


def _draw_share(ax: Axes, x: np.ndarray, terms: dict) -> Axes:
    """Decay's share of the change of ‖w‖² on a second y axis (0 to 1), returned.

    It is also kept as ``ax.right_ax``, as pandas names it.
    """
    twin = ax.twinx()
    # The terms' axes above the share's, so that the legend drawn on them is not hidden.
    ax.set_zorder(twin.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.right_ax = twin
    contraction = np.abs(terms["contraction"])
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = contraction / (contraction + np.abs(terms["radial"]) + terms["noise"])
    twin.plot(x, fraction, color="dimgrey", ls=":", marker="s", ms=3, label="decay share (right)")
    hline(twin, 0.5, "share ½: decay balances the gradient", color="dimgrey", lw=0.8)
    twin.set_ylim(0, 1)
    twin.set_ylabel("decay share of the change of ‖w‖²")
    return twin
