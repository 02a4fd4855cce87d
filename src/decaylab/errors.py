"""Exceptions raised by decaylab.

Every error that comes from bad input is a ``ValueError`` or ``TypeError``
(or a subclass) whose message names the argument, the value received and
what was expected.
"""

from __future__ import annotations


class DataFileError(ValueError):
    """A data, network or checkpoint file is missing, truncated, corrupted or of the wrong format.

    The message names the file and what was wrong with it.
    """


class TrainingDiverged(FloatingPointError):
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


class TrainingInterrupted(KeyboardInterrupt):
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

    def __init__(self, message: str, *, history, generator):
        super().__init__(message)
        self.history = history
        self.generator = generator
