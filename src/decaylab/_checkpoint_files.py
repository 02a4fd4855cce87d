"""Writing checkpoints: :func:`save_checkpoint` and :class:`CheckpointFiles`.

The writer sits below :mod:`decaylab.training`, which hands
:class:`CheckpointFiles` its ``checkpoint_path``; :mod:`decaylab.checkpoint`
(the format, reading, :func:`~decaylab.resume`) sits above it and re-exports
these names. See :mod:`decaylab.checkpoint` for the format.
"""

from __future__ import annotations

import json
import os
import string
import tempfile

import numpy as np

from decaylab._files import write_atomically
from decaylab._validation import check_int
from decaylab.history import History
from decaylab.network import Network

FORMAT = "decaylab-checkpoint"
VERSION = 1

# Bit generators a checkpoint may name; each is rebuilt from its JSON state.
_BIT_GENERATORS = {
    name: getattr(np.random, name) for name in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
}


def save_checkpoint(
    path: str | os.PathLike,
    net: Network,
    *,
    generator: np.random.Generator | None = None,
    epoch: int = 0,
    training: dict | None = None,
    history: History | None = None,
    optimizer_state: dict[str, np.ndarray] | None = None,
) -> None:
    """Write ``net`` and the state needed to continue training it to ``path``, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write, used exactly as given (no suffix is added); by
        convention it ends in ``.npz``. An existing file is replaced only once
        the new one is complete.
    net : Network
        The network; its parameters are stored in its dtype, bit for bit.
    generator : numpy.random.Generator, optional
        The shuffling generator; its bit generator's state is stored.
    epoch : int
        Epochs trained so far, >= 0.
    training : dict, optional
        Training settings, JSON-serialisable (numbers, strings, lists, dicts).
    history : History, optional
        The record of the run so far; its last epoch must be ``epoch``.
    optimizer_state : dict of ndarray, optional
        The update rule's state (``optimizer.<key>`` entries), bit for bit.

    Raises
    ------
    TypeError, ValueError
        For arguments of the wrong type or inconsistent with each other.
    OSError
        If the file cannot be written (the target is then left unchanged).
    """
    if not isinstance(net, Network):
        raise TypeError(f"net has type {type(net).__name__}; expected a decaylab.Network")
    if generator is not None and not isinstance(generator, np.random.Generator):
        raise TypeError(
            f"generator has type {type(generator).__name__}; expected a numpy.random.Generator"
        )
    if generator is not None and type(generator.bit_generator).__name__ not in _BIT_GENERATORS:
        raise TypeError(
            f"generator runs on a {type(generator.bit_generator).__name__}; expected one of "
            f"NumPy's {sorted(_BIT_GENERATORS)}, whose state can be stored"
        )
    epoch = check_int("epoch", epoch, minimum=0)
    if training is not None and not isinstance(training, dict):
        raise TypeError(f"training has type {type(training).__name__}; expected a dict or None")
    if history is not None:
        _check_history(history, net, epoch, where="history")
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "network": net.settings(),
        "epoch": epoch,
        "generator": None if generator is None else _plain(generator.bit_generator.state),
        "training": None if training is None else _plain(training),
        "history": history is not None,
    }
    try:
        text = json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"training cannot be stored as JSON ({exc}); expected finite numbers, strings, "
            "booleans, None, lists and dicts"
        ) from None
    arrays = {"checkpoint_json": np.array(text)}
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"weights.{l}"] = w
        arrays[f"biases.{l}"] = b
    if history is not None:
        arrays.update({f"history.{k}": v for k, v in history.to_arrays().items()})
    if optimizer_state is not None:
        if not isinstance(optimizer_state, dict) or not all(
            isinstance(v, np.ndarray) for v in optimizer_state.values()
        ):
            raise TypeError(
                f"optimizer_state has type {type(optimizer_state).__name__}; expected a dict of "
                "str to numpy arrays"
            )
        arrays.update({f"optimizer.{k}": v for k, v in optimizer_state.items()})
    _write_atomically(os.fspath(path), arrays)


def _write_atomically(path: str, arrays: dict[str, np.ndarray]) -> None:
    # Also on KeyboardInterrupt: never leave a half-written file behind.
    write_atomically(path, lambda fh: _write_npz(fh, arrays))


def _write_npz(fh, arrays: dict[str, np.ndarray]) -> None:
    np.savez(fh, **arrays)


class CheckpointFiles:
    """Where :func:`decaylab.train` writes the checkpoints of a run (its ``checkpoint_path``).

    Parameters
    ----------
    path : str or os.PathLike
        A file in an existing directory. If its name holds the field
        ``{epoch}`` (a format spec may follow, as in ``run-{epoch:04d}.npz``),
        every checkpoint goes to its own file, named by its epoch; otherwise
        each write replaces the last. Literal braces are written ``{{`` and
        ``}}``, as in :meth:`str.format`.

    Raises
    ------
    TypeError, ValueError
        If ``path`` is not a path, holds another field or lies in a directory
        that does not exist.
    """

    def __init__(self, path: str | os.PathLike):
        if not isinstance(path, (str, os.PathLike)) or not isinstance(os.fspath(path), str):
            raise TypeError(
                f"checkpoint_path={path!r} has type {type(path).__name__}; "
                "expected a str or os.PathLike"
            )
        self.template = os.fspath(path)
        try:
            fields = {name for _, name, _, _ in string.Formatter().parse(self.template)} - {None}
            if fields <= {"epoch"}:
                self.path(0)  # a bad format spec fails only here
        except ValueError as exc:
            raise ValueError(
                f"checkpoint_path={self.template!r} is not a valid file name template ({exc}); "
                "expected a file name, with {epoch} in it for one file per checkpoint"
            ) from None
        if not fields <= {"epoch"}:
            raise ValueError(
                f"checkpoint_path={self.template!r} has the format fields {sorted(fields)}; "
                "expected none or {epoch} (a literal brace is written {{ or }})"
            )
        directory = os.path.dirname(os.path.abspath(self.path(0)))
        if not os.path.isdir(directory):
            raise ValueError(
                f"checkpoint_path={self.template!r} is in a directory that does not exist; "
                "expected a file in an existing directory"
            )
        _check_writable(self.template, directory)

    def path(self, epoch: int) -> str:
        """The file of the checkpoint of ``epoch``."""
        return self.template.format(epoch=epoch)

    def __call__(
        self,
        epoch: int,
        *,
        net: Network,
        generator,
        training: dict,
        history: History,
        optimizer_state: dict | None = None,
    ) -> str:
        """Write the checkpoint of ``epoch`` (see :func:`save_checkpoint`); return its file."""
        path = self.path(epoch)
        save_checkpoint(
            path,
            net,
            generator=generator,
            epoch=epoch,
            training=training,
            history=history,
            optimizer_state=optimizer_state,
        )
        return path


def _plain(value):
    """``value`` with NumPy arrays and scalars turned into lists and Python numbers, for JSON."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _check_history(history: History, net: Network, epoch: int, *, where: str) -> None:
    if not isinstance(history, History):
        raise TypeError(f"{where} has type {type(history).__name__}; expected a History")
    last = int(history.epoch[-1]) if len(history.epoch) else None
    if last != epoch:
        raise ValueError(f"{where} ends at epoch {last}; expected epoch {epoch}")
    counts = history.weights.counts.tolist()
    if counts != [w.size for w in net.weights]:
        raise ValueError(
            f"{where} has weight layers of sizes {counts}; expected "
            f"{[w.size for w in net.weights]} for a {list(net.sizes)} network"
        )


def _check_writable(template: str, directory: str) -> None:
    """Refuse a checkpoint directory in which no file can be created, before training.

    A file is tried rather than permissions read: they do not tell, for a
    read-only file system or for root.
    """
    try:
        fd, probe = tempfile.mkstemp(prefix=".decaylab-write-test.", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ValueError(
            f"checkpoint_path={template!r} is in a directory where no file can be written "
            f"({exc.strerror or exc}); expected a writable directory"
        ) from None
