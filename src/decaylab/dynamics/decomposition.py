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
‖w_end‖² − ‖w_start‖² exactly, up to rounding) and, on request, the net
displacement each part caused over the epoch, ‖Σu‖ and ‖Σv‖. :func:`decay_share` turns them
into the fraction of the epoch's change that decay accounts for, and
:func:`decay_dominated_epochs` lists the epochs where it is above a
threshold (Nielsen's claim that the first epochs are dominated by decay).

**Every update rule** (``train(..., optimizer=...)``). Each step is split
as w' = w − u − v, with u the part the decay made and v the rest of the
update (their definitions for momentum, Adam + L2 and AdamW are in
:mod:`decaylab.optimizers`), and the budget becomes

.. math::  \|w'\|^2 - \|w\|^2
           = \underbrace{\|w - u\|^2 - \|w\|^2}_{\text{contraction}}
             \underbrace{- 2\,(w - u)\cdot v}_{\text{radial}}
             + \underbrace{\|v\|^2}_{\text{noise}},

which is eq. 93's with d·w, the weights after the decay alone, written as
w − u. It closes exactly as before. For momentum and Adam + L2, v is the
update direction the data gradient made (through the velocity, or Adam's
moments over the step's √v̂ + ε), not a gradient step, so "noise" is the
squared length of that update; for AdamW v is Adam's whole step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from decaylab._step_budget import StepBudget
from decaylab._validation import check_bool, check_choice, check_int, check_real
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

    Parameters
    ----------
    displacement : bool
        Also record how far each part moved the weights over the whole epoch
        (``net_decay_norm``, ``net_gradient_norm``; needed by
        ``decay_share(..., measure="net")``). Costs one more addition over
        the weights per step; off by default.

    Record (arrays of shape (epochs, n_layers))
    -------------------------------------------
    decay_norm : Σ_steps ‖u‖ (eq. 93: Σ (1 − d)‖w‖), the path length of the decay part.
    gradient_norm : Σ_steps ‖v‖ (eq. 93: Σ (η/m_B)‖Σ_x ∂C_x/∂w‖; another rule:
        the rest of its update, see the module docstring).
    ratio : decay_norm / gradient_norm (inf where the gradient was exactly 0).
    contraction : Σ ‖w − u‖² − ‖w‖² (eq. 93: Σ (d² − 1)‖w‖²), the decay term of
        the ‖w‖² budget (<= 0).
    radial : Σ −2(w − u)·v (eq. 93: Σ −2d·w·v), the part of the gradient step along w.
    noise : Σ ‖v‖², the squared length of the gradient steps (>= 0).
    net_decay_norm : (with ``displacement``) ‖Σ_steps u‖, how far decay moved
        the weights over the epoch.
    net_gradient_norm : (with ``displacement``) ‖Σ_steps v‖, how far the
        gradient moved them; the epoch's change is w_end − w_start = −Σu − Σv.

    contraction + radial + noise = ‖w_end‖² − ‖w_start‖² for every epoch and layer.

    Notes
    -----
    The monitor reads the steps' ‖w‖² budget by blocks of steps
    (:meth:`step_budgets`), the Gram matrix of (w, u, v) per step and layer
    that the training loop computes for all the monitors that read it:
    contraction ‖w − u‖² − ‖w‖² = u·u − 2w·u and radial −2(w − u)·v. When the
    rule's decay multiplies the weights (eq. 93, AdamW: u = (1 − d)·w; float64)
    u is never formed: the loop keeps x = d·w before each step, forms
    v = x − w′ after it in the same buffer and takes two products per layer
    (w′·v, v·v), the rest of the budget once a block; under eq. 93 with
    batches small beside the layers not even that: the products come from
    the batch's backpropagation (k × k Gram matrices, no
    pass over the weights; :mod:`decaylab._step_budget`). Under other rules
    the rule forms u and six dot products are taken at each step. With
    ``displacement`` the loop also sums u over each block (Σv follows from the
    epoch's start and end weights).
    """

    name = "decomposition"

    def __init__(self, displacement: bool = False) -> None:
        check_bool("displacement", displacement)
        self.displacement = displacement
        self._rows: list[np.ndarray] = []

    @property
    def reads_step_arrays(self) -> bool:
        """Whether :meth:`step_budgets` reads the budget's arrays (with ``displacement``,
        Σu), not only its products: without it the training loop may leave them unformed."""
        return self.displacement

    #: Reads the products of the steps (and Σu), never a step's arrays: the loop may show
    #: it blocks of steps whatever the rule.
    reads_formed_parts = False

    @property
    def keys(self) -> tuple[str, ...]:
        """The names of the record's arrays."""
        return RECORD_KEYS if self.displacement else RECORD_KEYS[:6]

    def start(self, net: Network, *, eta: float, multiplier: float) -> None:
        """Reset the record and allocate the buffers for ``net``."""
        self.eta = float(eta)
        self.multiplier = float(multiplier)
        self.n_layers = net.n_layers
        # Sums over each epoch's steps, per layer: the six products, then ‖u‖ and ‖v‖;
        # the record is formed from them in :meth:`result`, not at every epoch.
        self._rows = []
        self._sums = np.zeros((8, self.n_layers))
        self._totals, self._lengths = self._sums[:6], self._sums[6:]
        self._displacements: list[np.ndarray] = []
        self._ones = np.ones(0)
        self._weights = [w.reshape(-1) for w in net.weights]
        if self.displacement:
            self._decay_sum = [np.zeros_like(w) for w in self._weights]
            self._epoch_start = [w.copy() for w in self._weights]

    def step_parts(
        self,
        weights_before: Sequence[np.ndarray],
        decay: Sequence[np.ndarray],
        rest: Sequence[np.ndarray],
    ) -> None:
        """Account for one step, called after it with w before and its parts u and v."""
        self.step_budgets(StepBudget.of_parts(weights_before, decay, rest))

    def step_budgets(self, budget: StepBudget) -> None:
        """Account for a block of steps from their ‖w‖² budget (the Gram matrix of w, u, v
        per step and layer)."""
        products, steps = budget.products, budget.steps
        if len(self._ones) < steps:
            self._ones = np.ones(steps)
        # Sums over the steps as products with ones: a sum over the middle axis of
        # (6, steps, L) iterates badly, at several times the cost of the block's products.
        ones = self._ones[:steps]
        self._totals += ones @ products
        self._lengths += ones @ np.sqrt(products[3::2])  # ‖u‖ and ‖v‖ from u·u and v·v
        if self.displacement:
            for total, u in zip(self._decay_sum, budget.decay_sum):
                total += u

    def end_epoch(self, net: Network) -> None:
        """Close the epoch's sums and start new ones."""
        self._rows.append(self._sums.copy())
        self._sums[...] = 0.0
        if self.displacement:
            row = np.empty((2, self.n_layers))
            for l, (w, total, start) in enumerate(
                zip(self._weights, self._decay_sum, self._epoch_start)
            ):
                row[0, l] = np.sqrt(np.dot(total, total))  # ‖Σu‖
                start -= w  # w_start − w_end = Σu + Σv
                start -= total  # Σv
                row[1, l] = np.sqrt(np.dot(start, start))
                start[...] = w
                total[...] = 0.0
            self._displacements.append(row)

    def result(self) -> dict[str, np.ndarray]:
        """The record of the completed epochs: arrays of shape (epochs, n_layers)."""
        sums = np.array(self._rows).reshape(len(self._rows), 8, self.n_layers)
        _, wu, wv, uu, uv, vv = sums.transpose(1, 0, 2)[:6]
        record = {"decay_norm": sums[:, 6].copy(), "gradient_norm": sums[:, 7].copy()}
        with np.errstate(divide="ignore", invalid="ignore"):
            record["ratio"] = record["decay_norm"] / record["gradient_norm"]
        record["contraction"] = uu - 2.0 * wu  # Σ ‖w − u‖² − ‖w‖²
        record["radial"] = 2.0 * (uv - wv)  # Σ −2(w − u)·v
        record["noise"] = vv.copy()
        if self.displacement:
            rows = np.array(self._displacements).reshape(len(self._rows), 2, self.n_layers)
            record["net_decay_norm"], record["net_gradient_norm"] = rows[:, 0], rows[:, 1]
        return {key: np.ascontiguousarray(record[key]) for key in self.keys}


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
    missing = [k for k in RECORD_KEYS[:6] if k not in record]
    if missing:
        raise ValueError(f"the decomposition record lacks {missing}; expected keys {RECORD_KEYS}")
    return {k: np.asarray(record[k])[:epochs] for k in RECORD_KEYS if k in record}


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
            ‖Σu‖ / (‖Σu‖ + ‖Σv‖) (needs ``DecompositionMonitor(displacement=True)``).
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
        if "net_decay_norm" not in record:
            raise ValueError(
                "measure='net' needs the epoch displacements; expected a run trained with "
                "DecompositionMonitor(displacement=True)"
            )
        decay, gradient = record["net_decay_norm"], record["net_gradient_norm"]
    else:
        decay, gradient = record["decay_norm"], record["gradient_norm"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return decay / (decay + gradient)


def decay_dominated_epochs(
    history: History | Mapping[str, np.ndarray],
    threshold: float = 0.5,
    *,
    layer: int | None = None,
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
        None (default) judges every layer: an epoch counts only if decay
        dominates the change of each layer's weights. An int judges that
        layer alone, e.g. 0, the first (hidden) layer, the one behind
        saturated sigmoids, whose data gradient is small under the "large"
        initialisation, while the output layer's gradient may not be.
    measure : {"norm", "net", "step"}
        See :func:`decay_share`.

    Returns
    -------
    ndarray of int
        Epoch numbers (1-based, as in ``History.epoch``), increasing.

    Notes
    -----
    With the default "norm" measure a share above 1/2 means decay shrank
    ‖w‖² by more than the gradient grew it, i.e. the layer's norm fell over
    the epoch. Near an equilibrium the share hovers around 1/2, so with
    ``threshold=0.5`` SGD noise alone can mark late epochs; "dominated almost
    entirely" (Nielsen's words) is better read with a threshold such as 0.9.
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
