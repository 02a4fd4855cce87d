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
