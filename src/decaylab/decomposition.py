r"""Split every SGD step into its decay part and its gradient part, and account for ‖w‖².

One step of eq. 93 on a layer's weights w is

.. math::  w' = d\,w - v = w - u - v, \qquad u = (1 - d)\,w, \qquad
           v = \frac{\eta}{m_B}\sum_{x\in B}\frac{\partial C_x}{\partial w},

so the squared norm changes by

.. math::  \|w'\|^2 - \|w\|^2
           = \underbrace{(d^2 - 1)\|w\|^2}_{\text{contraction}}
             \underbrace{- 2d\,w\cdot v}_{\text{radial}}
             + \underbrace{\|v\|^2}_{\text{noise}}.

:class:`DecompositionMonitor` accumulates, per epoch and layer, Σ‖u‖,
Σ‖v‖, the three budget terms (whose epoch sums add up to
‖w_end‖² − ‖w_start‖² exactly, up to rounding) and the net displacement each
part caused over the epoch, ‖Σu‖ and ‖Σv‖. :func:`decay_share` turns them
into the fraction of the epoch's change that decay accounts for, and
:func:`decay_dominated_epochs` lists the epochs where it is above a
threshold (Nielsen's claim that the first epochs are dominated by decay).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from decaylab._validation import check_choice, check_int, check_real
from decaylab.history import History
from decaylab.network import Network

#: Keys of the per-epoch record, each an array of shape (epochs, n_layers).
RECORD_KEYS = (
    "decay_norm",
    "gradient_norm",
    "ratio",
    "contraction",
    "radial",
    "noise",
    "net_decay_norm",
    "net_gradient_norm",
)

#: Ways of measuring how much of an epoch's weight change decay accounts for.
MEASURES = ("norm", "net", "step")


class DecompositionMonitor:
    """Per-step decay/gradient decomposition of every weight layer (a StepMonitor).

    Pass an instance in ``train(..., monitors=[DecompositionMonitor()])``;
    the History then holds its record under ``history.monitors["decomposition"]``.

    Record (all arrays of shape (epochs, n_layers))
    -----------------------------------------------
    decay_norm : Σ_steps ‖u‖ = Σ (1 − d)‖w‖, the path length of the decay part.
    gradient_norm : Σ_steps ‖v‖ = Σ (η/m_B)‖Σ_x ∂C_x/∂w‖.
    ratio : decay_norm / gradient_norm (inf where the gradient was exactly 0).
    contraction : Σ (d² − 1)‖w‖², the decay term of the ‖w‖² budget (<= 0).
    radial : Σ −2d·w·v, the part of the gradient step along w.
    noise : Σ ‖v‖², the squared length of the gradient steps (>= 0).
    net_decay_norm : ‖Σ_steps u‖, how far decay moved the weights over the epoch.
    net_gradient_norm : ‖Σ_steps v‖, how far the gradient moved them; the
        epoch's change is w_end − w_start = −Σu − Σv.

    contraction + radial + noise = ‖w_end‖² − ‖w_start‖² for every epoch and layer.

    Notes
    -----
    Per step and layer the cost is three dot products and one addition over
    the layer's weights (Σu is (1 − d)·Σ_steps w, and Σv follows from the
    epoch's start and end weights), on preallocated buffers.
    """

    name = "decomposition"

    def __init__(self) -> None:
        self._rows: list[np.ndarray] = []

    def start(self, net: Network, *, eta: float, multiplier: float) -> None:
        """Reset the record and allocate the buffers for ``net``."""
        self.eta = float(eta)
        self.multiplier = float(multiplier)
        self.n_layers = net.n_layers
        self._rows = []
        # Rows of the running epoch: decay_norm, gradient_norm, contraction, radial, noise.
        self._epoch = np.zeros((5, self.n_layers))
        self._weights = [w.reshape(-1) for w in net.weights]
        self._weight_sum = [np.zeros_like(w) for w in self._weights]
        self._epoch_start = [w.copy() for w in self._weights]
        self._grad_source = None
        self._grads: list[np.ndarray] = []

    def step(self, net: Network, grad_weights: Sequence[np.ndarray], batch_length: int) -> None:
        """Account for one step, called before the update with the batch gradient sums."""
        if grad_weights is not self._grad_source:
            self._grad_source = grad_weights
            self._grads = [g.reshape(-1) for g in grad_weights]
        d = self.multiplier
        scale = self.eta / batch_length
        acc = self._epoch
        for l, (w, g, total) in enumerate(zip(self._weights, self._grads, self._weight_sum)):
            ww = float(np.dot(w, w))
            wg = float(np.dot(w, g))
            gg = float(np.dot(g, g))
            acc[0, l] += (1.0 - d) * np.sqrt(ww)
            acc[1, l] += scale * np.sqrt(gg)
            acc[2, l] += (d * d - 1.0) * ww
            acc[3, l] += -2.0 * d * scale * wg
            acc[4, l] += scale * scale * gg
            total += w

    def end_epoch(self, net: Network) -> None:
        """Close the epoch's row and start a new one."""
        row = np.empty((len(RECORD_KEYS), self.n_layers))
        decay_norm, gradient_norm, contraction, radial, noise = self._epoch
        row[0], row[1] = decay_norm, gradient_norm
        with np.errstate(divide="ignore", invalid="ignore"):
            row[2] = decay_norm / gradient_norm
        row[3], row[4], row[5] = contraction, radial, noise
        for l, (w, total, start) in enumerate(
            zip(self._weights, self._weight_sum, self._epoch_start)
        ):
            total *= 1.0 - self.multiplier  # now Σu
            row[6, l] = np.sqrt(np.dot(total, total))
            start -= w  # w_start − w_end = Σu + Σv
            start -= total  # Σv
            row[7, l] = np.sqrt(np.dot(start, start))
            start[...] = w
            total[...] = 0.0
        self._rows.append(row)
        self._epoch[...] = 0.0

    def result(self) -> dict[str, np.ndarray]:
        """The record of the completed epochs: arrays of shape (epochs, n_layers)."""
        rows = np.array(self._rows).reshape(len(self._rows), len(RECORD_KEYS), self.n_layers)
        return {key: rows[:, i, :].copy() for i, key in enumerate(RECORD_KEYS)}


def _record(source: History | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The decomposition record of a History (or the record itself), cut to its epochs."""
    if isinstance(source, History):
        if "decomposition" not in source.monitors:
            raise ValueError(
                "history has no 'decomposition' record; expected a run trained with "
                "monitors=[DecompositionMonitor()]"
            )
        record = source.monitors["decomposition"]
        # A diverged run's monitor may hold one epoch more than the History kept.
        epochs = source.n_epochs
    elif isinstance(source, Mapping):
        record, epochs = source, None
    else:
        raise TypeError(
            f"history has type {type(source).__name__}; expected a decaylab.History or the "
            "record dict of a DecompositionMonitor"
        )
    missing = [k for k in RECORD_KEYS if k not in record]
    if missing:
        raise ValueError(f"the decomposition record lacks {missing}; expected keys {RECORD_KEYS}")
    return {k: np.asarray(record[k])[:epochs] for k in RECORD_KEYS}


def decay_share(
    history: History | Mapping[str, np.ndarray], *, measure: str = "norm"
) -> np.ndarray:
    r"""Fraction of each epoch's weight change that decay accounts for, per layer.

    Parameters
    ----------
    history : History or dict
        A run trained with a :class:`DecompositionMonitor`, or that monitor's record.
    measure : {"norm", "net", "step"}
        What "weight change" means:

        ``"norm"`` (default): the change of ‖w‖², the quantity decay acts on,
            |contraction| / (|contraction| + |radial| + noise).
        ``"net"``: the epoch's displacement w_end − w_start = −Σu − Σv,
            ‖Σu‖ / (‖Σu‖ + ‖Σv‖).
        ``"step"``: the path travelled step by step,
            Σ‖u‖ / (Σ‖u‖ + Σ‖v‖).

    Returns
    -------
    ndarray, shape (E, L)
        Shares in [0, 1]; NaN where both parts are zero. Row e − 1 is epoch e.

    Notes
    -----
    The measures differ because SGD's gradient steps are mostly noise: their
    per-step lengths are large but their directions cancel over an epoch, and
    the noise term enters ‖w‖² only at second order. "step" therefore counts
    the gradient far more heavily than "norm" or "net". At an equilibrium
    every measure is about 1/2 (decay and gradient balance) except "step".
    """
    record = _record(history)
    measure = check_choice("measure", measure, MEASURES)
    if measure == "norm":
        decay = np.abs(record["contraction"])
        gradient = np.abs(record["radial"]) + record["noise"]
    elif measure == "net":
        decay, gradient = record["net_decay_norm"], record["net_gradient_norm"]
    else:
        decay, gradient = record["decay_norm"], record["gradient_norm"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return decay / (decay + gradient)


def decay_dominated_epochs(
    history: History | Mapping[str, np.ndarray],
    threshold: float = 0.5,
    *,
    layer: int | None = 0,
    measure: str = "norm",
) -> np.ndarray:
    """The epochs in which decay accounts for more than ``threshold`` of the weight change.

    Parameters
    ----------
    history : History or dict
        A run trained with a :class:`DecompositionMonitor`, or that monitor's record.
    threshold : float
        Share above which an epoch counts as decay-dominated, in [0, 1).
    layer : int or None
        Weight layer to judge, by default 0, the first (hidden) layer: the one
        behind saturated sigmoids, whose data gradient is small under the
        "large" initialisation. None requires every layer to be dominated.
    measure : {"norm", "net", "step"}
        See :func:`decay_share`.

    Returns
    -------
    ndarray of int
        Epoch numbers (1-based, as in ``History.epoch``), increasing.
    """
    threshold = check_real("threshold", threshold, nonnegative=True)
    if threshold >= 1.0:
        raise ValueError(f"threshold={threshold} must be < 1; a share never exceeds 1")
    share = decay_share(history, measure=measure)
    if layer is None:
        dominated = np.all(share > threshold, axis=1)
    else:
        layer = check_int("layer", layer, minimum=0, maximum=share.shape[1] - 1)
        dominated = share[:, layer] > threshold
    return np.flatnonzero(dominated) + 1
