r"""Train until the weights reach their equilibrium, in chunks, up to a stated cap.

An experiment that needs an equilibrium cannot fix its number of epochs in
advance: the time to settle depends on τ = m/(ηλ) and, for wide networks, on
slower modes of the data term. :func:`train_until_equilibrium` trains in
chunks and asks :func:`~decaylab.dynamics.equilibrium.find_equilibrium` after
each one, until it reports ``reached`` or the cap is hit. The chunks continue
one run (the same generator, ``history=``), so the result is bit for bit the
run of that many epochs trained in one call.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from decaylab._validation import as_generator, check_int, check_real
from decaylab.dynamics.equilibrium import Equilibrium, find_equilibrium
from decaylab.history import History
from decaylab.network import Network
from decaylab.optimizers import get_optimizer
from decaylab.training import StepMonitor, train

__all__ = ["AdaptiveRun", "train_until_equilibrium"]


@dataclass(frozen=True)
class AdaptiveRun:
    """A run trained until its equilibrium (or its cap).

    Attributes
    ----------
    history : History
        Every epoch trained.
    equilibrium : Equilibrium
        The detector's answer on the whole history.
    max_epochs : int
        The cap; a run that reached it without settling is not reached.
    """

    history: History
    equilibrium: Equilibrium
    max_epochs: int

    @property
    def reached(self) -> bool:
        """Whether the run settled before its cap."""
        return self.equilibrium.reached

    @property
    def epochs(self) -> int:
        """Number of epochs trained."""
        return self.history.n_epochs

    @property
    def relaxation_times(self) -> float:
        """Epochs trained in units of τ."""
        return self.epochs / self.equilibrium.relaxation_epochs

    def __repr__(self) -> str:
        state = "reached" if self.reached else "not reached (cap)"
        return (
            f"AdaptiveRun({state} after {self.epochs} epochs = {self.relaxation_times:.1f} τ, "
            f"cap {self.max_epochs})"
        )


def train_until_equilibrium(
    net: Network,
    data,
    *,
    batch_size: int,
    eta: float,
    lmbda: float,
    max_relaxations: float = 60.0,
    max_epochs: int | None = None,
    min_epochs: int = 0,
    decay: str = "sum",
    evaluation=None,
    seed: int | np.random.Generator | None = None,
    training_metrics: bool = False,
    monitors: Sequence[StepMonitor] = (),
    detection: Mapping | None = None,
    optimizer=None,
    optimizer_state: dict | None = None,
) -> AdaptiveRun:
    r"""Train ``net`` in place until :func:`find_equilibrium` says reached, or up to a cap.

    Parameters
    ----------
    net : Network
        Trained in place.
    data : pair (X, y)
        Training data.
    batch_size, eta, lmbda : int, float, float
        m, η and λ > 0 as in :func:`decaylab.train`.
    max_relaxations : float
        Cap in units of τ (the run's pure-decay relaxation time), > 0.
    max_epochs : int, optional
        Cap in epochs instead (>= 1); overrides ``max_relaxations``.
    min_epochs : int
        Train at least this many epochs (up to the cap), >= 0.
    decay, evaluation, training_metrics, monitors
        As in :func:`decaylab.train`; the monitors' records cover every epoch.
    seed : int, numpy.random.Generator or None
        Source of the shuffling order, drawn from across all chunks.
    detection : mapping, optional
        Keyword arguments of :func:`~decaylab.dynamics.equilibrium.find_equilibrium`.
    optimizer, optimizer_state : optional
        The update rule and its state, as in :func:`decaylab.train` (eq. 93 by
        default); the state (a fresh one when None) carries across the chunks
        and is left, updated in place, at the run's last epoch.

    Returns
    -------
    AdaptiveRun

    Raises
    ------
    TrainingDiverged
        As :func:`decaylab.train`; its History holds every finite epoch.

    Notes
    -----
    The first chunk is the shortest run on which the drift test can be made
    (``start + window − 1`` epochs, or ``min_epochs``); each later chunk adds ⌈window/3⌉ epochs
    (about one τ), so a run stops at most that much after its first passing
    test. The cost is therefore about (epochs to settle + τ) epochs.
    """
    lmbda = check_real("lmbda", lmbda, positive=True)
    max_relaxations = check_real("max_relaxations", max_relaxations, positive=True)
    if max_epochs is not None:
        max_epochs = check_int("max_epochs", max_epochs, minimum=1)
    min_epochs = check_int("min_epochs", min_epochs, minimum=0)
    detection = dict(detection or {})
    rng = as_generator("seed", seed)
    optimizer = get_optimizer(optimizer)
    if optimizer is not None and optimizer_state is None:
        optimizer_state = optimizer.init(net)
    settings = {
        "batch_size": batch_size,
        "eta": eta,
        "lmbda": lmbda,
        "decay": decay,
        "evaluation": evaluation,
        "seed": rng,
        "training_metrics": training_metrics,
        "monitors": monitors,
        "progress": False,
        "optimizer": optimizer,
        "optimizer_state": optimizer_state,
    }
    # Zero epochs check every argument and record the state the run starts from.
    history = train(net, data, epochs=0, **settings)
    equilibrium = find_equilibrium(history, **detection)
    cap = max_epochs or math.ceil(max_relaxations * equilibrium.relaxation_epochs)
    _check_practical(net, data, cap, equilibrium, min_epochs, explicit=max_epochs is not None)
    chunk = max(1, math.ceil(equilibrium.window / 3))
    while history.n_epochs < cap and not (equilibrium.reached and history.n_epochs >= min_epochs):
        first_test = max(equilibrium.start + equilibrium.window - 1, min_epochs)
        needed = max(first_test - history.n_epochs, chunk)
        more = min(needed, cap - history.n_epochs)
        history = train(net, data, epochs=more, history=history, **settings)
        equilibrium = find_equilibrium(history, **detection)
    return AdaptiveRun(history, equilibrium, cap)


#: The most epochs a run may be asked to need: beyond this no run finishes in practice
#: (ten million epochs of the 1,000 bundled digits is days of training on one core).
MAX_PRACTICAL_EPOCHS = 10_000_000


def _check_practical(net, data, cap: int, equilibrium, min_epochs: int, *, explicit: bool) -> None:
    """Refuse a run that needs more than :data:`MAX_PRACTICAL_EPOCHS` epochs, saying how long
    it would take: the epochs it needs before it can first be tested for equilibrium (or
    its cap, if smaller) times a measured forward pass over the data, three of which an
    epoch costs at least (forward, backward, update)."""
    needed = min(cap, max(equilibrium.start + equilibrium.window - 1, min_epochs))
    if needed <= MAX_PRACTICAL_EPOCHS:
        return
    X = np.asarray(data[0], dtype=net.dtype)
    began = time.perf_counter()
    net.forward(X)
    per_epoch = 3 * (time.perf_counter() - began)
    days = needed * per_epoch / 86400
    source = "max_epochs" if explicit else f"{equilibrium.relaxation_epochs:.3g} epochs per τ"
    raise ValueError(
        f"train_until_equilibrium would need at least {needed:.3g} epochs ({source}; cap "
        f"{cap:.3g}), about {days:.3g} days at {per_epoch:.2g} s per epoch measured here; "
        f"expected at most {MAX_PRACTICAL_EPOCHS:,} epochs: a larger lmbda or eta, or a "
        "smaller batch_size, shortens τ = batch_size/(eta·lmbda)"
    )
