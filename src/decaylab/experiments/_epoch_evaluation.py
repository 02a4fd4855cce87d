r"""Validation cost and accuracy at chosen epochs only, for runs that read a few of them.

A run's History records the validation numbers at every epoch when it is
given ``evaluation=``, and each is a pass over the validation data per
network: a scan that reads only its last epochs (question 6 averages a run
over its last few) spends most of its evaluation on epochs it never reads.
:class:`EpochEvaluation` measures them at the epochs asked for: for one
network as a step monitor of :func:`decaylab.train` (it needs no steps), for
an ensemble as the step observer of :class:`decaylab.ensemble.EnsembleRun`.
Either way the run's History gets the record ``monitors["evaluation"]``:
``epoch`` (E_k,), the data cost C₀ (no penalty) ``cost`` and ``accuracy``,
each (E_k,), as :meth:`decaylab.Network.evaluate` gives them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from decaylab._validation import check_data

__all__ = ["EpochEvaluation", "Observers"]


class EpochEvaluation:
    """C₀ and accuracy of networks on ``data`` at the epochs ``epochs`` (0 is the start).

    Parameters
    ----------
    nets : sequence of Network
        The networks trained (one for :func:`decaylab.train`, K for an ensemble),
        as they are before training.
    data : pair (X, y)
        The validation data.
    epochs : iterable of int
        The epochs whose end is evaluated.
    """

    name = "evaluation"
    sees_steps = False  # as a monitor of decaylab.train: no step is split for it

    def __init__(self, nets: Sequence, data, epochs):
        first = nets[0]
        self.nets, self.epochs, self.epoch = list(nets), frozenset(epochs), 0
        self.data = check_data(
            data, n_inputs=first.sizes[0], n_outputs=first.sizes[-1], dtype=first.dtype
        )
        self.rows: list[list[tuple]] = [[] for _ in self.nets]
        self.started = False
        if 0 in self.epochs:
            for k in range(len(self.nets)):
                self._row(k, 0)

    def _row(self, k: int, epoch: int) -> None:
        self.rows[k].append((epoch, *self.nets[k]._evaluate(*self.data)))

    # A monitor of decaylab.train, for one network.
    def start(self, net, *, eta: float, multiplier: float) -> None:
        """Start a call of :func:`decaylab.train`; one that continues a run (``history=``)
        records only its own epochs, which the History appends to the earlier ones."""
        if self.started:
            self.rows[0] = []
        self.nets[0], self.started = net, True

    def step_parts(self, weights_before, decay, rest) -> None:  # never shown: sees_steps
        pass

    def result(self) -> dict[str, np.ndarray]:
        return _record(self.rows[0])

    # The step observer of an ensemble (decaylab.ensemble.EnsembleRun).
    def bind(self, stack, members, multipliers) -> None:
        pass

    def before_step(self) -> None:
        pass

    def after_step(self) -> None:
        pass

    def end_epoch(self, members) -> None:
        """Close an epoch: of the networks ``members`` (an ensemble) or of one network."""
        self.epoch += 1
        if self.epoch not in self.epochs:
            return
        for k in [0] if not isinstance(members, list) else members:
            self._row(k, self.epoch)

    def monitors(self, k: int) -> tuple:
        return (_Record(self.rows[k]),)


def _record(rows: list[tuple]) -> dict[str, np.ndarray]:
    table = np.array(rows, dtype=np.float64).reshape(len(rows), 3)
    return {"epoch": table[:, 0].astype(np.int64), "cost": table[:, 1], "accuracy": table[:, 2]}


class _Record:
    name = "evaluation"

    def __init__(self, rows: list[tuple]):
        self.rows = rows

    def result(self) -> dict[str, np.ndarray]:
        return _record(self.rows)


class Observers:
    """Several step observers of one ensemble, seen as one (each sees every call).

    An observer with ``sees_steps = False`` (:class:`EpochEvaluation`) is not
    called at the steps; when one observer is left, its own ``before_step`` and
    ``after_step`` are handed out (the ensemble reads them at each epoch's
    start), which saves two calls a step.
    """

    def __init__(self, observers: Sequence):
        self.observers = list(observers)
        self.stepping = [o for o in self.observers if getattr(o, "sees_steps", True)]

    def bind(self, stack, members, multipliers) -> None:
        for observer in self.observers:
            observer.bind(stack, members, multipliers)

    @property
    def before_step(self):
        if len(self.stepping) == 1:
            return self.stepping[0].before_step
        return self._before_each_step

    @property
    def after_step(self):
        if len(self.stepping) == 1:
            return self.stepping[0].after_step
        return self._after_each_step

    def _before_each_step(self) -> None:
        for observer in self.stepping:
            observer.before_step()

    def _after_each_step(self) -> None:
        for observer in self.stepping:
            observer.after_step()

    def end_epoch(self, members) -> None:
        for observer in self.observers:
            observer.end_epoch(members)

    def monitors(self, k: int) -> tuple:
        return tuple(record for observer in self.observers for record in observer.monitors(k))
