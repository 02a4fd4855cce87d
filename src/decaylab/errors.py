"""Exceptions raised by decaylab.

Every error that comes from bad input is a ``ValueError`` or ``TypeError``
(or a subclass) whose message names the argument, the value received and
what was expected.
"""

from __future__ import annotations


def _rebuild(cls, args, state):
    """Recreate an exception of ``cls`` from its message arguments and attributes (unpickling)."""
    error = cls.__new__(cls)
    BaseException.__init__(error, *args)
    error.__dict__.update(state)
    return error


class _KeepsData:
    """Pickles with the attributes (History, generator, ...) as well as the message.

    An exception whose ``__init__`` takes keyword-only data cannot be rebuilt by
    pickle's default ``cls(*args)``; a worker process that raises one would then
    break the pool instead of reporting it.
    """

    def __reduce__(self):
        return _rebuild, (type(self), self.args, dict(self.__dict__))


class DataFileError(_KeepsData, ValueError):
    """A data, network or checkpoint file is missing, truncated, corrupted or of the wrong format.

    The message names the file and what was wrong with it.
    """


class TrainingDiverged(_KeepsData, FloatingPointError):
    """Training produced a non-finite weight, bias or cost.

    Attributes
    ----------
    history : History
        Every epoch up to the last finite one.
    epoch : int
        The epoch in which the first non-finite value appeared (1-based).
    step : int or None
        The step within that epoch (0-based), when it could be located.
    layer : int or None
        The weight layer (0-based) that first became non-finite.

    Notes
    -----
    The network is left at the state it had at the end of the last finite
    epoch, matching the last row of ``history``.
    """

    def __init__(self, message: str, *, history, epoch: int, step: int | None, layer: int | None):
        super().__init__(message)
        self.history = history
        self.epoch = epoch
        self.step = step
        self.layer = layer


class TrainingInterrupted(_KeepsData, KeyboardInterrupt):
    """Training was interrupted (Ctrl-C); everything completed so far is kept.

    Attributes
    ----------
    history : History
        Every epoch completed before the interruption.
    generator : numpy.random.Generator
        The shuffling generator, rewound to the start of the unfinished epoch:
        passing it as ``seed=`` to a new :func:`decaylab.train` call with the
        remaining epochs continues the run bit for bit.

    Notes
    -----
    The network is left at the end of the last completed epoch.
    """

    def __init__(self, message: str, *, history, generator, optimizer_state=None):
        super().__init__(message)
        self.history = history
        self.generator = generator
        self.optimizer_state = optimizer_state


class CheckpointWriteError(_KeepsData, OSError):
    """A checkpoint could not be written; the run's record and generator are kept.

    Attributes
    ----------
    path : str
        The checkpoint file that could not be written.
    history : History
        Every epoch completed, up to the network's current state.
    generator : numpy.random.Generator
        The shuffling generator, in the state the next epoch starts from.
    optimizer_state : dict of ndarray or None
        The update rule's state at the end of the last completed epoch.

    Notes
    -----
    The network is left at the end of the last completed epoch, so that
    ``train(net, data, ..., history=exc.history, seed=exc.generator,
    optimizer_state=exc.optimizer_state)`` continues the run.
    """

    def __init__(self, message: str, *, path, history, generator, optimizer_state=None):
        super().__init__(message)
        self.path = path
        self.history = history
        self.generator = generator
        self.optimizer_state = optimizer_state

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DecayPrecisionWarning(UserWarning):
    """The decay multiplier d, rounded to the network's dtype, is not the one asked for.

    In float32, 1 − ηλ/n is rounded to the nearest of numbers spaced 6e-8 apart
    near 1, so a small decay is applied stronger, weaker or not at all.
    """
