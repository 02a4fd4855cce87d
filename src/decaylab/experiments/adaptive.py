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

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from decaylab._validation import as_generator, check_int, check_real
from decaylab.dynamics.equilibrium import Equilibrium, find_equilibrium
from decaylab.errors import TrainingInterrupted
from decaylab.history import History
from decaylab.network import Network
from decaylab.optimizers import get_optimizer
from decaylab.training import StepMonitor, train

__all__ = ["AdaptiveRun", "train_ensemble_until_equilibrium", "train_until_equilibrium"]


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
    diverged : str or None
        For a member of :func:`train_ensemble_until_equilibrium` that
        diverged, what happened (its History ends at its last finite epoch).
    """

    history: History
    equilibrium: Equilibrium
    max_epochs: int
    diverged: str | None = None

    @property
    def reached(self) -> bool:
        """Whether the run settled before its cap (and did not diverge)."""
        return self.equilibrium.reached and self.diverged is None

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
    TrainingInterrupted
        On Ctrl-C, as :func:`decaylab.train`; its History holds every completed epoch.

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
    while (more := _more_epochs(history.n_epochs, equilibrium, cap, min_epochs, chunk)) is not None:
        history = train(net, data, epochs=more, history=history, **settings)
        equilibrium = detect(history, detection, equilibrium)
    return AdaptiveRun(history, equilibrium, cap)


def detect(history: History, detection: dict, earlier: Equilibrium) -> Equilibrium:
    """``find_equilibrium(history, **detection)``, given its answer on an earlier part of the run.

    The detector answers with the first window boundary that passes its drift
    test, and a boundary's test reads only the epochs around it, which training
    on does not change. When ``earlier`` (on the first epochs of ``history``)
    found none, the boundaries it tested fail again; only the later ones are
    tested, and the answer is the whole detector's, with its own ``start``.
    """
    if earlier.reached or earlier.drift_epoch is None:
        return find_equilibrium(history, **detection)
    first = int(np.searchsorted(np.asarray(history.epoch), earlier.drift_epoch)) + 1
    later = find_equilibrium(history, **{**detection, "start": first})
    return dataclasses.replace(later, start=earlier.start)


def _more_epochs(trained: int, equilibrium, cap: int, min_epochs: int, chunk: int) -> int | None:
    """The next chunk of a run trained ``trained`` epochs; None when it is over.

    Over when it reached its cap, or its equilibrium after ``min_epochs``.
    The next chunk reaches the first epoch at which the drift test can be
    made, and is at least ``chunk`` epochs, never past the cap.
    """
    if trained >= cap or (equilibrium.reached and trained >= min_epochs):
        return None
    first_test = max(equilibrium.start + equilibrium.window - 1, min_epochs)
    return min(max(first_test - trained, chunk), cap - trained)


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


def train_ensemble_until_equilibrium(
    nets: Sequence[Network],
    data,
    *,
    batch_size: int,
    eta,
    lmbda,
    max_relaxations: float = 60.0,
    max_epochs=None,
    min_epochs=0,
    decay="sum",
    evaluation=None,
    seed=None,
    training_metrics: bool = False,
    detection=None,
    optimizer=None,
    optimizer_state=None,
    step_observer=None,
) -> list[AdaptiveRun]:
    r"""Train K networks together (:func:`decaylab.train_ensemble`), each until its equilibrium.

    Member k is :func:`train_until_equilibrium` with its own arguments: it is
    tested for equilibrium at the ends of the chunks its separate run would
    make, and stops when its own detector says reached (after its own
    ``min_epochs``) or at its own cap; it then leaves the stack, and its
    network, rule state and History stay as they were at its stop. Each
    member's History, network and stop equal its separate run's up to the
    order of floating-point sums (about 1e-10), so a member whose drift test
    is decided within that margin could stop a chunk apart from it.

    Parameters
    ----------
    nets, data, batch_size, eta, lmbda, decay, evaluation, seed, optimizer, optimizer_state
        As in :func:`decaylab.train_ensemble` (per member, or one for all);
        every λ > 0. ``seed`` as a list gives each member its own batch order.
    max_relaxations : float
        Cap in units of each member's τ, > 0.
    max_epochs, min_epochs : int or sequence of K int, optional
        As in :func:`train_until_equilibrium`, one for all or one per member.
    training_metrics : bool
        Record each member's training cost and accuracy each epoch.
    detection : mapping or sequence of K mappings, optional
        Keyword arguments of :func:`find_equilibrium`, one for all or per member.
    step_observer : optional
        As in :func:`decaylab.train_ensemble`: its records cover every epoch.

    Returns
    -------
    list of K AdaptiveRun
        A member that diverged has ``diverged`` set and its finite epochs.

    Raises
    ------
    TrainingInterrupted
        On Ctrl-C, as :func:`train_until_equilibrium`: the unfinished epoch is
        undone; ``.history`` is a list of every member's completed epochs, and
        every network is at the end of its last completed epoch.
    """
    from decaylab.ensemble import EnsembleRun, _per_member, check_ensemble, check_observer

    K = len(nets) if isinstance(nets, Sequence) else 1
    _per_member("lmbda", lmbda, K, lambda name, v: check_real(name, v, positive=True))
    max_relaxations = check_real("max_relaxations", max_relaxations, positive=True)
    caps = _per_member("max_epochs", max_epochs, K, _check_cap)
    minimums = _per_member(
        "min_epochs", min_epochs, K, lambda name, v: check_int(name, v, minimum=0)
    )
    detections = _detections(detection, K)
    checked = check_ensemble(
        nets, data, epochs=0, batch_size=batch_size, eta=eta, lmbda=lmbda, decay=decay,
        evaluation=evaluation, shuffle=True, seed=seed, training_metrics=training_metrics,
        optimizer=optimizer, optimizer_state=optimizer_state,
    )  # fmt: skip
    run = EnsembleRun(checked, check_observer(step_observer, checked))
    plans = [_Plan(k, run, detections[k], caps[k], minimums[k], max_relaxations) for k in range(K)]
    for plan in plans:
        _check_practical(checked["nets"][plan.k], data, plan.cap, plan.equilibrium,
                         plan.min_epochs, explicit=plan.explicit)  # fmt: skip
    run.drop([p.k for p in plans if p.next is None])
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            while run.active:
                run.train(min(plans[k].next for k in run.active) - run.epoch)
                for plan in plans:
                    if plan.next is not None and plan.k not in run.active:  # diverged
                        plan.stop(run, diverged=True)
                    elif plan.next == run.epoch:
                        plan.test(run)
                run.drop([p.k for p in plans if p.next is None and p.k in run.active])
    except KeyboardInterrupt:
        raise _interrupted(run, plans) from None
    return [plan.result(run) for plan in plans]


def _interrupted(run, plans) -> TrainingInterrupted:
    """The error for Ctrl-C, as :func:`train_until_equilibrium` raises it: every member's
    completed epochs (the unfinished one is undone), its generator(s) and rule states."""
    done = run.epoch
    history = [plan.history if plan.next is None else plan._history(run) for plan in plans]
    kept = run.interrupted()
    return TrainingInterrupted(
        f"training of the ensemble until equilibrium interrupted after epoch {done}; each "
        "member's completed epochs are kept in .history (a list, one History per member: "
        f"up to epoch {done}, or to its stop for a member that had stopped) and every network "
        "is at the end of its last completed epoch. .generator and .optimizer_state are the "
        "shuffling generator(s) and rule states at that point.",
        history=history,
        generator=kept.generator,
        optimizer_state=kept.optimizer_state,
    )


def _check_cap(name: str, value):
    return None if value is None else check_int(name, value, minimum=1)


def _detections(detection, K: int) -> list[dict]:
    if detection is None or isinstance(detection, Mapping):
        return [dict(detection or {})] * K
    detections = [dict(d or {}) for d in detection]
    if len(detections) != K:
        raise ValueError(
            f"detection has {len(detections)} mapping(s); expected one for all members or one "
            f"per member ({K})"
        )
    return detections


class _Plan:
    """One member's schedule of :func:`train_until_equilibrium`: its tests, cap and stop."""

    def __init__(self, k, run, detection, cap, min_epochs, max_relaxations):
        self.k, self.detection, self.min_epochs = k, detection, min_epochs
        self.explicit = cap is not None
        self.diverged: str | None = None
        # As a separate run's chunks, which continue one Generator, record no seed.
        run.recorders[k].settings["seed"] = None
        self.history = run.history(k)
        self.equilibrium = find_equilibrium(self.history, **detection)
        self.cap = cap or math.ceil(max_relaxations * self.equilibrium.relaxation_epochs)
        self.chunk = max(1, math.ceil(self.equilibrium.window / 3))
        self.next: int | None = None
        self._schedule()

    def _schedule(self) -> None:
        trained = self.history.n_epochs
        more = _more_epochs(trained, self.equilibrium, self.cap, self.min_epochs, self.chunk)
        self.next = None if more is None else trained + more

    def _history(self, run) -> History:
        recorder = run.recorders[self.k]
        recorder.settings["epochs"] = len(recorder.epochs) - 1  # as the chunks' record says
        return run.history(self.k)

    def test(self, run) -> None:
        """The test at the end of a chunk: the detector on the whole history, then the next."""
        self.history = self._history(run)
        self.equilibrium = detect(self.history, self.detection, self.equilibrium)
        self._schedule()

    def stop(self, run, *, diverged: bool) -> None:
        self.history = self._history(run)
        self.equilibrium = find_equilibrium(self.history, **self.detection)
        self.next = None
        if diverged:
            self.diverged = (
                f"training diverged in epoch {self.history.n_epochs + 1}; epochs "
                f"0-{self.history.n_epochs} are kept"
            )

    def result(self, run) -> AdaptiveRun:
        return AdaptiveRun(self.history, self.equilibrium, self.cap, self.diverged)
