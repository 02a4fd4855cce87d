"""Checkpoints: a network with everything needed to continue training, in an open format.

A checkpoint is an ``.npz`` archive, read back without pickle, holding

* ``weights.<l>``, shape (sizes[l+1], sizes[l]), and ``biases.<l>``, shape
  (sizes[l+1],): the parameters, in the network's dtype;
* ``checkpoint_json``: one JSON string with the format name and version, the
  network's settings (sizes, init, activation, cost, dtype), the epoch, the
  state of the shuffling generator's bit generator and the training settings
  (eta, lmbda, batch_size, decay, shuffle, the planned number of epochs...);
* ``history.<name>``: optionally, the History up to the checkpoint's epoch, laid
  out as by :meth:`decaylab.History.to_arrays`.

Any tool that reads ``.npz`` and JSON can read it. Files are written
atomically: to a temporary file in the same directory, then renamed over the
target, so a crash during a write leaves the previous checkpoint intact.

:func:`decaylab.train` writes checkpoints through :class:`CheckpointFiles`
(its ``checkpoint_path``): one file that each checkpoint replaces, or one
file per checkpoint when the name holds ``{epoch}``. This module hands that
class to :mod:`decaylab.training` when it is imported, since training sits
below it (:func:`resume` trains) and does not import it.

:func:`resume` continues training from a checkpoint; the run it produces is
bit for bit the run that was never stopped. Networks saved by Nielsen's
``network2.py`` are read by :mod:`decaylab.network2`.
"""

from __future__ import annotations

import json
import os
import string
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from decaylab import training
from decaylab._files import open_npz, read_entry, write_atomically
from decaylab._network_files import build_network, checked_array, parameter_shapes
from decaylab._validation import check_int, check_sizes
from decaylab.conventions import DecayConvention
from decaylab.errors import DataFileError
from decaylab.history import History, read_record
from decaylab.network import Network

FORMAT = "decaylab-checkpoint"
VERSION = 1

# Bit generators a checkpoint may name; each is rebuilt from its JSON state.
_BIT_GENERATORS = {
    name: getattr(np.random, name) for name in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
}


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` reads back.

    Attributes
    ----------
    network : Network
        The network, parameters bit for bit as saved.
    epoch : int
        The number of epochs the network had been trained for.
    generator : numpy.random.Generator or None
        The shuffling generator, in the state it had after ``epoch`` epochs
        (the state the next epoch starts from); None if none was saved.
    training : dict
        The training settings (eta, lmbda, batch_size, decay, shuffle, the
        planned final epoch ``epochs``, ``training_metrics``...); empty if none
        were saved.
    history : History or None
        The record of epochs 0..``epoch``, if it was saved.
    optimizer_state : dict of ndarray or None
        The state of the run's update rule (:mod:`decaylab.optimizers`), if it
        had one beside eq. 93.
    """

    network: Network
    epoch: int
    generator: np.random.Generator | None = None
    training: dict = field(default_factory=dict)
    history: History | None = None
    optimizer_state: dict[str, np.ndarray] | None = None


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


# train writes its checkpoints through this class, without importing this module.
training.checkpoint_files = CheckpointFiles


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`, without pickle.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Checkpoint

    Raises
    ------
    DataFileError
        If the file is missing, truncated, corrupted, not a decaylab
        checkpoint, or inconsistent (shapes, non-finite parameters, a
        generator state that does not fit); the message names the file and
        what was wrong.
    """
    path = os.fspath(path)
    with open_npz(path) as archive:
        names = set(archive.files)
        if "checkpoint_json" not in names:
            raise DataFileError(
                f"{path}: not a decaylab checkpoint (no 'checkpoint_json' entry; "
                f"found {sorted(names)[:8]})"
            )
        meta = _read_meta(path, read_entry(path, archive, "checkpoint_json", shape=()))
        sizes = _check_network_settings(path, meta["network"])
        # Every entry's shape is read from its header and checked against the network
        # the file declares before its data are decompressed, so neither a corrupted
        # 'sizes' nor a crafted entry can ask for a huge allocation.
        shapes = parameter_shapes(sizes)
        parameters = {}
        for key, shape in shapes.items():
            if key not in names:
                raise DataFileError(f"{path}: entry {key!r} is missing")
            parameters[key] = checked_array(
                path, key, read_entry(path, archive, key, shape=shape), shape
            )
        net = build_network(path, meta["network"], parameters)
        expected = {"checkpoint_json", *parameters}
        prefix = "optimizer."
        # An update rule keeps at most one value per parameter in each of its arrays.
        n_parameters = sum(int(np.prod(shape)) for shape in shapes.values())
        optimizer_state = {
            k[len(prefix) :]: np.array(read_entry(path, archive, k, max_size=n_parameters))
            for k in sorted(names)
            if k.startswith(prefix)
        }
        expected |= {f"optimizer.{k}" for k in optimizer_state}
        history = None
        if meta["history"]:
            expected |= {k for k in names if k.startswith("history.")}
            entries = read_record(path, archive, prefix="history.", max_rows=meta["epoch"] + 1)
            history = History.from_arrays(entries, source=f"{path} (its history)")
        unexpected = sorted(names - expected)
        if unexpected:
            raise DataFileError(
                f"{path}: unexpected entries {unexpected[:8]}; expected only the parameters "
                f"of a {list(net.sizes)} network, checkpoint_json and the history"
            )
    if history is not None:
        try:
            _check_history(history, net, meta["epoch"], where="its history")
        except ValueError as exc:
            raise DataFileError(f"{path}: {exc}") from None
    return Checkpoint(
        network=net,
        epoch=meta["epoch"],
        generator=_build_generator(path, meta["generator"]),
        training=meta["training"] or {},
        history=history,
        optimizer_state=optimizer_state or None,
    )


def resume(
    checkpoint: Checkpoint,
    data,
    *,
    epochs: int | None = None,
    evaluation=None,
    decay: str | DecayConvention | None = None,
    monitors: Sequence = (),
    progress: bool | None = None,
    checkpoint_every: int | None = None,
    checkpoint_path: str | os.PathLike | None = None,
) -> History:
    """Continue training from a checkpoint written by :func:`decaylab.train`.

    Trains ``checkpoint.network`` in place with the checkpoint's settings and
    generator, so that the result is bit for bit the run that was never
    stopped.

    Parameters
    ----------
    checkpoint : Checkpoint
        From :func:`load_checkpoint`.
    data : pair (X, y)
        The same training data as the original run.
    epochs : int, optional
        Further epochs to train; by default those the original run had left,
        ``checkpoint.training["epochs"] − checkpoint.epoch``.
    evaluation : pair (X, y), optional
        The evaluation data of the original run, if it had one.
    decay : str or DecayConvention, optional
        Only needed if the original run used a convention object that is not
        one of the named conventions; by default the checkpoint's.
    monitors, progress, checkpoint_every, checkpoint_path
        As for :func:`decaylab.train`.

    Returns
    -------
    History
        Epochs 0..(checkpoint.epoch + epochs) when the checkpoint holds the
        history so far, else epochs 0..``epochs`` of this call.

    Raises
    ------
    TypeError, ValueError
        If the checkpoint lacks the training settings or the data do not
        match them.
    TrainingDiverged, TrainingInterrupted
        As for :func:`decaylab.train`.
    """
    if not isinstance(checkpoint, Checkpoint):
        raise TypeError(
            f"checkpoint has type {type(checkpoint).__name__}; expected a Checkpoint "
            "from decaylab.load_checkpoint"
        )
    settings = checkpoint.training
    missing = [k for k in ("eta", "lmbda", "batch_size", "decay", "shuffle") if k not in settings]
    if missing:
        raise ValueError(
            f"checkpoint.training lacks {missing}; expected a checkpoint written by "
            "decaylab.train (checkpoint_path=...)"
        )
    if settings["shuffle"] and checkpoint.generator is None:
        raise ValueError(
            "checkpoint.generator is None but the run shuffles its data; expected a "
            "checkpoint that stores the shuffling generator"
        )
    if epochs is None:
        if "epochs" not in settings:
            raise ValueError(
                "epochs=None but checkpoint.training does not record the planned number of "
                "epochs; expected epochs= to be given"
            )
        epochs = settings["epochs"] - checkpoint.epoch
    return training.train(
        checkpoint.network,
        data,
        epochs=epochs,
        batch_size=settings["batch_size"],
        eta=settings["eta"],
        lmbda=settings["lmbda"],
        decay=settings["decay"] if decay is None else decay,
        evaluation=evaluation,
        shuffle=settings["shuffle"],
        seed=checkpoint.generator,
        training_metrics=settings.get("training_metrics", True),
        monitors=monitors,
        progress=progress,
        history=checkpoint.history,
        checkpoint_every=checkpoint_every,
        checkpoint_path=checkpoint_path,
        optimizer=settings.get("optimizer"),
        optimizer_state=checkpoint.optimizer_state,
    )


# -- helpers -------------------------------------------------------------------------


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


def _read_meta(path: str, entry: np.ndarray) -> dict:
    if entry.shape != () or entry.dtype.kind != "U":
        raise DataFileError(
            f"{path}: 'checkpoint_json' holds a {entry.dtype} array of shape {entry.shape}; "
            "expected one JSON string"
        )
    try:
        meta = json.loads(str(entry))
    except (ValueError, RecursionError) as exc:
        raise DataFileError(f"{path}: 'checkpoint_json' is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DataFileError(f"{path}: 'checkpoint_json' does not describe a {FORMAT!r} file")
    if meta.get("version") != VERSION:
        raise DataFileError(
            f"{path}: checkpoint format version {meta.get('version')!r}; this decaylab reads "
            f"version {VERSION}"
        )
    epoch = meta.get("epoch")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise DataFileError(f"{path}: epoch {epoch!r} is not an integer >= 0")
    if not isinstance(meta.get("network"), dict):
        raise DataFileError(f"{path}: 'network' settings are missing")
    if meta.get("training") is not None and not isinstance(meta["training"], dict):
        raise DataFileError(f"{path}: 'training' settings are not a JSON object")
    if not isinstance(meta.get("history"), bool):
        raise DataFileError(f"{path}: 'history' flag is not true or false")
    return meta


def _check_network_settings(path: str, settings: dict) -> tuple[int, ...]:
    """Check the keys of the saved network settings and return its sizes."""
    keys = {"sizes", "init", "activation", "cost", "dtype"}
    if set(settings) != keys:
        raise DataFileError(
            f"{path}: network settings have keys {sorted(settings)}; expected {sorted(keys)}"
        )
    try:
        return check_sizes(settings["sizes"])
    except (TypeError, ValueError) as exc:
        raise DataFileError(f"{path}: bad network sizes ({exc})") from None


def _build_generator(path: str, state) -> np.random.Generator | None:
    if state is None:
        return None
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if not isinstance(name, str) or name not in _BIT_GENERATORS:
        raise DataFileError(
            f"{path}: generator state names bit generator {str(name)[:40]!r}; expected one of "
            f"{sorted(_BIT_GENERATORS)}"
        )
    # The seed is overwritten at once by the saved state.
    bit_generator = _BIT_GENERATORS[name](0)
    try:
        bit_generator.state = state
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
        # A short MT19937 key is an IndexError inside NumPy.
        raise DataFileError(f"{path}: generator state does not fit {name} ({exc})") from None
    return np.random.Generator(bit_generator)
