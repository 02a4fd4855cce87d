"""The record of a training run: plain NumPy arrays indexed by epoch.

Row 0 of every array is the state before training; row e the state after
epoch e. Per-layer statistics have one column per weight layer. A monitor's
record (``history.monitors[name][key]``) has one row per epoch *trained*: its
row i describes epoch ``epoch[0] + i + 1``, the step from row i to row i + 1
of the statistics, so it has no row for the initial state.

Histories compare with :meth:`History.equals` (or ``==``) and slice by epoch
number (``history[10:51]``); :func:`decaylab.dynamics.summary.summarise` gives
means and standard errors over such a window.
"""

from __future__ import annotations

import json
import numbers
import os
from dataclasses import dataclass, field, fields

import numpy as np

from decaylab._validation import check_real
from decaylab.errors import DataFileError

#: Summary statistics kept for weights and (separately) biases.
STATISTICS = ("norm", "rms", "mean_abs", "l1", "sum", "variance", "max_abs")

#: Per-epoch costs and accuracies, each recorded only when it was measured.
METRICS = ("training_cost", "training_accuracy", "evaluation_cost", "evaluation_accuracy")


def layer_statistics(arrays) -> dict[str, np.ndarray]:
    """Summary statistics of each array in ``arrays``.

    Parameters
    ----------
    arrays : sequence of ndarray
        One array per layer, any shape.

    Returns
    -------
    dict of str to ndarray, shape (len(arrays),)
        ``norm`` = ‖w‖₂ (the quantity L2 regularises), ``rms`` = ‖w‖₂/√size,
        ``mean_abs`` = mean |w|, ``l1`` = Σ|w|, ``sum`` = Σw (signed, so it
        can stay near zero while the weights grow), ``variance`` = population
        variance, ``max_abs`` = max |w|.
    """
    table = np.empty((len(STATISTICS), len(arrays)))
    norm, rms, mean_abs, l1, total, variance, max_abs = table  # the rows, in STATISTICS order
    for i, w in enumerate(arrays):
        flat = w.reshape(-1)
        size = flat.size
        sq = float(np.dot(flat, flat))
        absolute = np.abs(flat)
        norm[i] = np.sqrt(sq)
        rms[i] = np.sqrt(sq / size)
        l1[i] = absolute.sum()
        mean_abs[i] = l1[i] / size
        total[i] = summed = flat.sum()
        # flat.var() as NumPy computes it (the same sums in the array's dtype, so the same
        # bits), without its Python-level overhead, which dominates for small layers.
        centred = flat - summed / size
        np.multiply(centred, centred, out=centred)
        variance[i] = centred.sum() / size
        max_abs[i] = absolute.max()
    return dict(zip(STATISTICS, table))


@dataclass
class ParameterStats:
    """Per-epoch, per-layer statistics of one kind of parameter (weights or biases).

    Each statistic is an array of shape (epochs + 1, n_layers); ``counts``
    (n_layers,) holds the number of parameters in each layer. :attr:`total`
    gives the same statistics over all layers together.
    """

    counts: np.ndarray
    norm: np.ndarray
    rms: np.ndarray
    mean_abs: np.ndarray
    l1: np.ndarray
    sum: np.ndarray
    variance: np.ndarray
    max_abs: np.ndarray

    @classmethod
    def from_rows(cls, counts, rows: list[dict[str, np.ndarray]]) -> ParameterStats:
        return cls(
            counts=np.asarray(counts, dtype=np.int64),
            **{
                name: np.array([r[name] for r in rows], dtype=np.float64).reshape(
                    len(rows), len(counts)
                )
                for name in STATISTICS
            },
        )

    @property
    def total(self) -> ParameterStats:
        """The statistics over all layers pooled; arrays of shape (epochs + 1,)."""
        n = self.counts.sum()
        sq = (self.norm**2).sum(axis=1)
        s = self.sum.sum(axis=1)
        l1 = self.l1.sum(axis=1)
        mean = s / n
        second = ((self.variance + (self.sum / self.counts) ** 2) * self.counts).sum(axis=1) / n
        return ParameterStats(
            counts=np.array(n),
            norm=np.sqrt(sq),
            rms=np.sqrt(sq / n),
            mean_abs=l1 / n,
            l1=l1,
            sum=s,
            variance=second - mean**2,
            max_abs=self.max_abs.max(axis=1),
        )

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in STATISTICS:
            raise KeyError(f"{name!r} is not a statistic; expected one of {STATISTICS}")
        return getattr(self, name)

    def rows(self, index: slice) -> ParameterStats:
        """The statistics of the epochs (rows) selected by ``index``; counts unchanged."""
        return ParameterStats(
            counts=self.counts, **{name: self[name][index].copy() for name in STATISTICS}
        )

    def equals(self, other: object, *, rtol: float = 0.0, atol: float = 0.0) -> bool:
        """Whether ``other`` holds the same counts and, within the tolerances, the same statistics.

        NaN equals NaN in the same place. See :meth:`History.equals`.
        """
        if not isinstance(other, ParameterStats):
            return False
        rtol, atol = _tolerances(rtol, atol)
        return np.array_equal(self.counts, other.counts) and all(
            _arrays_equal(self[name], other[name], rtol, atol) for name in STATISTICS
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParameterStats):
            return NotImplemented
        return self.equals(other)

    __hash__ = None  # mutable arrays


@dataclass
class History:
    """What a training run measured, epoch by epoch.

    Attributes
    ----------
    epoch : ndarray of int, shape (E + 1,)
        Epoch numbers; 0 is the state before training.
    weights, biases : ParameterStats
        Statistics per epoch and layer, e.g. ``weights.norm[e, l]`` = ‖w_l‖
        after epoch e, ``weights.total.rms[e]`` over all weights.
    training_cost, training_accuracy : ndarray, shape (E + 1,), or None
        Cost (with the penalty, n = training-set size) and accuracy on the
        training data; None when training metrics were switched off.
    evaluation_cost, evaluation_accuracy : ndarray, shape (E + 1,), or None
        The same on the evaluation data; None when none was given. The
        evaluation cost carries the same penalty, computed once with the
        training-set n.
    settings : dict
        The hyper-parameters and network settings that produced the run.
    monitors : dict of str to dict of str to ndarray
        Records of opt-in monitors, by monitor name.
    """

    epoch: np.ndarray
    weights: ParameterStats
    biases: ParameterStats
    training_cost: np.ndarray | None = None
    training_accuracy: np.ndarray | None = None
    evaluation_cost: np.ndarray | None = None
    evaluation_accuracy: np.ndarray | None = None
    settings: dict = field(default_factory=dict)
    monitors: dict = field(default_factory=dict)

    @property
    def n_epochs(self) -> int:
        """Number of epochs trained (rows minus the initial state)."""
        return len(self.epoch) - 1

    def concatenate(self, later: History) -> History:
        """This history followed by ``later``, a run that continued from its last epoch.

        ``later.epoch[0]`` must equal ``self.epoch[-1]``: the first row of
        ``later`` is the state this history ends in, so it is dropped. The
        settings are this history's with ``epochs`` set to the total; monitor
        records, which hold only what happened during a run, are joined whole
        along their first axis.

        Raises
        ------
        TypeError
            If ``later`` is not a History.
        ValueError
            If ``later`` does not start at this history's last epoch, has other
            layers, or records other metrics or monitors.
        """
        if not isinstance(later, History):
            raise TypeError(f"later has type {type(later).__name__}; expected a History")
        if len(later.epoch) == 0 or len(self.epoch) == 0 or later.epoch[0] != self.epoch[-1]:
            raise ValueError(
                f"later starts at epoch {later.epoch[:1].tolist()}; expected it to start at "
                f"epoch {self.epoch[-1:].tolist()}, where this history ends"
            )
        # The parts of one run differ only in their length and in the seed of a part
        # continued from a Generator (recorded as None).
        differ = sorted(
            key
            for key in set(self.settings) | set(later.settings)
            if key not in _PER_PART_SETTINGS
            and not _settings_equal({"v": self.settings.get(key)}, {"v": later.settings.get(key)})
        )
        if differ:
            shown = ", ".join(
                f"{k}: {self.settings.get(k)!r} here, {later.settings.get(k)!r} in later"
                for k in differ[:6]
            )
            raise ValueError(
                f"later was recorded with other settings ({shown}); expected the continuation "
                "of this run, with the same settings"
            )
        for kind in ("weights", "biases"):
            ours, theirs = getattr(self, kind).counts, getattr(later, kind).counts
            if not np.array_equal(ours, theirs):
                raise ValueError(
                    f"later has {kind} layers of sizes {theirs.tolist()}; expected "
                    f"{ours.tolist()} as in this history"
                )
        for name in METRICS:
            if (getattr(self, name) is None) != (getattr(later, name) is None):
                have = "records" if getattr(later, name) is not None else "does not record"
                raise ValueError(f"later {have} {name} but this history does not; expected both")
        # A record without arrays cannot be told from none once saved: ignore those.
        keys = {m: sorted(r) for m, r in self.monitors.items() if r}
        if keys != {m: sorted(r) for m, r in later.monitors.items() if r}:
            raise ValueError(
                f"later has monitor records {sorted(later.monitors)}; expected the same "
                f"monitors and keys as this history, {keys}"
            )

        def join(first, second):
            return np.concatenate([first, second[1:]])

        stats = {
            kind: ParameterStats(
                counts=getattr(self, kind).counts,
                **{
                    name: join(getattr(self, kind)[name], getattr(later, kind)[name])
                    for name in STATISTICS
                },
            )
            for kind in ("weights", "biases")
        }
        metrics = {
            name: join(getattr(self, name), getattr(later, name))
            for name in METRICS
            if getattr(self, name) is not None
        }
        monitors = {
            m: {
                key: np.concatenate([np.asarray(value), np.asarray(later.monitors[m][key])])
                for key, value in record.items()
            }
            for m, record in self.monitors.items()
            if record
        }
        return History(
            epoch=join(self.epoch, later.epoch),
            **stats,
            **metrics,
            settings={**self.settings, "epochs": self.n_epochs + later.n_epochs},
            monitors=monitors,
        )

    # -- comparison -----------------------------------------------------------
    def equals(self, other: object, *, rtol: float = 0.0, atol: float = 0.0) -> bool:
        """Whether ``other`` is a History of the same run, exactly or within tolerances.

        Parameters
        ----------
        other : object
            Anything; only a History can be equal.
        rtol, atol : float, optional
            Relative and absolute tolerances for the floating-point arrays (the
            statistics, metrics and monitor records), as in
            :func:`numpy.allclose`: |a − b| <= atol + rtol·|b|. Zero by
            default: equal means bit for bit.

        Returns
        -------
        bool
            True when the epoch numbers, layer counts, settings and the set of
            recorded metrics and monitor arrays are identical and every array
            agrees within the tolerances. NaN equals NaN in the same place (a
            diverged run equals itself); shapes must match.

        Notes
        -----
        ``a == b`` is ``a.equals(b)``: it answers True or False instead of
        comparing array by array. Histories are mutable, so they are not
        hashable.
        """
        rtol, atol = _tolerances(rtol, atol)
        if not isinstance(other, History):
            return False
        if not (
            np.array_equal(self.epoch, other.epoch)
            and self.weights.equals(other.weights, rtol=rtol, atol=atol)
            and self.biases.equals(other.biases, rtol=rtol, atol=atol)
            and _settings_equal(self.settings, other.settings)
        ):
            return False
        for name in METRICS:
            ours, theirs = getattr(self, name), getattr(other, name)
            if (ours is None) != (theirs is None):
                return False
            if ours is not None and not _arrays_equal(ours, theirs, rtol, atol):
                return False
        if {m: sorted(r) for m, r in self.monitors.items()} != {
            m: sorted(r) for m, r in other.monitors.items()
        }:
            return False
        return all(
            _arrays_equal(value, other.monitors[m][key], rtol, atol)
            for m, record in self.monitors.items()
            for key, value in record.items()
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, History):
            return NotImplemented
        return self.equals(other)

    __hash__ = None  # mutable arrays

    # -- selection by epoch ----------------------------------------------------
    def select(self, start: int | None = None, stop: int | None = None) -> History:
        """The epochs start, start + 1, …, stop − 1 of this run, as a History.

        Parameters
        ----------
        start, stop : int or None
            Epoch *numbers* (the values of :attr:`epoch`, not row positions),
            half-open as in Python: ``select(10, 51)`` keeps epochs 10 to 50.
            None means from the first or to the last epoch; a negative value
            counts back from one past the last epoch, so ``select(-10)`` keeps
            the last ten epochs. Values beyond the recorded epochs are clipped.

        Returns
        -------
        History
            Epoch numbers are kept, not renumbered: the first row is the state
            after epoch ``start`` (before training when start is 0), and
            ``h.select(0, 11).concatenate(h.select(10))`` equals ``h``. A
            monitor keeps the rows of the epochs trained inside the window,
            start + 1 to stop − 1 (one row fewer than the statistics), plus
            any row past the History's last epoch when the window reaches it
            (a diverged run's monitor). Settings are copied, with ``epochs``
            set to the epochs the selection spans.

        Raises
        ------
        TypeError
            If start or stop is not an int or None.
        ValueError
            If the window holds no recorded epoch, or a monitor array does not
            have one row per epoch trained.

        Notes
        -----
        ``history[start:stop]`` is ``history.select(start, stop)``; a step
        other than 1 is refused, since a monitor's row describes one epoch.
        """
        first, last = int(self.epoch[0]), int(self.epoch[-1])
        bounds = []
        for name, value, default in (("start", start, first), ("stop", stop, last + 1)):
            if value is None:
                bounds.append(default)
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(
                    f"{name}={value!r} has type {type(value).__name__}; expected an epoch "
                    "number (int) or None"
                )
            bounds.append(int(value) + last + 1 if value < 0 else int(value))
        low, high = bounds
        rows = np.flatnonzero((self.epoch >= low) & (self.epoch < high))
        if rows.size == 0:
            raise ValueError(
                f"start={start!r}, stop={stop!r} selects no epoch; this history records "
                f"epochs {first} to {last}"
            )
        head, tail = int(rows[0]), int(rows[-1]) + 1
        index = slice(head, tail)
        # Monitor row i is the step from statistics row i to row i + 1.
        monitor_rows = slice(head, None if tail == len(self.epoch) else tail - 1)
        monitors = {}
        for m, record in self.monitors.items():
            monitors[m] = {}
            for key, value in record.items():
                value = np.asarray(value)
                if value.ndim == 0 or len(value) < self.n_epochs:
                    raise ValueError(
                        f"monitors[{m!r}][{key!r}] has shape {value.shape}; expected one row "
                        f"per epoch trained ({self.n_epochs}), so that it can be selected by epoch"
                    )
                monitors[m][key] = value[monitor_rows].copy()
        epoch = self.epoch[index].copy()
        return History(
            epoch=epoch,
            weights=self.weights.rows(index),
            biases=self.biases.rows(index),
            **{
                name: getattr(self, name)[index].copy()
                for name in METRICS
                if getattr(self, name) is not None
            },
            settings={**self.settings, "epochs": int(epoch[-1] - epoch[0])},
            monitors=monitors,
        )

    def __getitem__(self, index: slice) -> History:
        if not isinstance(index, slice):
            raise TypeError(
                f"history[{index!r}]: a History is indexed by a slice of epoch numbers, "
                "e.g. history[10:51]; for one statistic use history.weights.norm[epoch]"
            )
        if index.step not in (None, 1):
            raise ValueError(
                f"history[{index.start}:{index.stop}:{index.step}] has step {index.step!r}; "
                "expected consecutive epochs (step 1), since a monitor's row describes one epoch"
            )
        return self.select(index.start, index.stop)

    def __repr__(self) -> str:
        s = self.settings
        keys = ("sizes", "eta", "lmbda", "batch_size", "decay")
        shown = "".join(f", {k}={s[k]!r}" for k in keys if k in s)
        first, last = int(self.epoch[0]), int(self.epoch[-1])
        span = f"epochs {first} to {last}" if first else f"{self.n_epochs} epochs"
        monitors = f", monitors={sorted(self.monitors)}" if self.monitors else ""
        return f"History({span}{shown}{monitors})"

    # -- serialisation -------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """All arrays under flat names, plus the settings as a JSON string."""
        out = {
            "epoch": self.epoch,
            "settings_json": np.array(json.dumps(self.settings, default=_json_default)),
        }
        for kind in ("weights", "biases"):
            stats = getattr(self, kind)
            for f in fields(stats):
                out[f"{kind}.{f.name}"] = getattr(stats, f.name)
        for name in METRICS:
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        for monitor, record in self.monitors.items():
            for key, value in record.items():
                out[f"monitors.{monitor}.{key}"] = np.asarray(value)
        return out

    @classmethod
    def from_arrays(cls, arrays, *, source: str = "arrays") -> History:
        """Rebuild a History from :meth:`to_arrays` output.

        Raises
        ------
        DataFileError
            If an entry is missing or the record is not consistent: epoch numbers
            that are not strictly increasing integers >= 0, layer counts that are
            not positive integers, statistics or metrics that are not real numbers
            with one row per epoch (and one column per layer), a monitor record
            with more rows than epochs, or settings that are not a JSON object.
        """
        _check_record(arrays, source)
        try:
            kinds = {
                kind: ParameterStats(
                    **{
                        f.name: np.asarray(arrays[f"{kind}.{f.name}"])
                        for f in fields(ParameterStats)
                    }
                )
                for kind in ("weights", "biases")
            }
            monitors: dict = {}
            for key in arrays:
                if key.startswith("monitors."):
                    _, monitor, name = key.split(".", 2)
                    monitors.setdefault(monitor, {})[name] = np.asarray(arrays[key])
            optional = {
                name: (np.asarray(arrays[name]) if name in arrays else None) for name in METRICS
            }
            return cls(
                epoch=np.asarray(arrays["epoch"]),
                **kinds,
                **optional,
                settings=json.loads(str(arrays["settings_json"])),
                monitors=monitors,
            )
        except KeyError as exc:
            raise DataFileError(f"{source} is not a decaylab History: no entry {exc}") from exc
        except (ValueError, TypeError) as exc:
            raise DataFileError(f"{source} is not a decaylab History: {exc}") from exc

    def save(self, path: str | os.PathLike) -> None:
        """Write the history to ``path`` in ``.npz`` format (no pickle), atomically.

        The file is written exactly at ``path``; no ``.npz`` suffix is added. It
        is written to a temporary file in the same directory and renamed over
        ``path`` once complete, so a failure (settings that are not JSON, a
        full disk, Ctrl-C) leaves any previous file at ``path`` as it was.

        Raises
        ------
        TypeError
            If a settings value cannot be stored as JSON (nothing is written).
        OSError
            If the file cannot be written; the message names ``path``.
        """
        from decaylab._files import write_atomically

        arrays = self.to_arrays()  # a settings value that is not JSON fails here, first
        write_atomically(os.fspath(path), lambda fh: np.savez_compressed(fh, **arrays))

    @classmethod
    def load(cls, path: str | os.PathLike) -> History:
        """Read a history written by :meth:`save`, without executing anything.

        Every entry's shape is read from its header and checked against the record
        the file declares (its settings, epochs and layers) before its data are
        decompressed, so a crafted file cannot exhaust memory.

        Raises
        ------
        DataFileError
            If the file is missing, damaged, or not a consistent History.
        """
        from decaylab._files import open_npz

        with open_npz(path) as archive:
            return cls.from_arrays(read_record(str(path), archive), source=str(path))

    def to_frame(self):
        """A pandas DataFrame, one row per epoch (requires pandas).

        Columns: ``epoch``; ``weights.<stat>.<layer>`` and ``weights.<stat>.total``
        for every statistic; the same for ``biases``; and the cost/accuracy
        columns that were recorded.
        """
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "History.to_frame needs pandas: pip install 'decaylab[tables]'"
            ) from exc
        columns: dict[str, np.ndarray] = {"epoch": self.epoch}
        for kind in ("weights", "biases"):
            stats, total = getattr(self, kind), getattr(self, kind).total
            for name in STATISTICS:
                for layer in range(stats.norm.shape[1]):
                    columns[f"{kind}.{name}.{layer}"] = stats[name][:, layer]
                columns[f"{kind}.{name}.total"] = total[name]
        for name in METRICS:
            if getattr(self, name) is not None:
                columns[name] = getattr(self, name)
        return pd.DataFrame(columns).set_index("epoch")


#: How far a History's epoch numbers and layer counts may deflate (they deflate about 5:1).
_MAX_RECORD_RATIO = 64

#: Settings that may differ between the parts of one run (see History.concatenate).
_PER_PART_SETTINGS = ("epochs", "seed")


def read_record(
    path: str, archive, *, prefix: str = "", max_rows: int | None = None
) -> dict[str, np.ndarray]:
    """The History entries (``prefix`` + name) of an open ``.npz`` archive, each read only
    once its header shows a shape that fits the record the file declares.

    The settings are read first, then the epoch numbers (at most the declared
    ``epochs`` + 1 rows, and at most ``max_rows``), then the layer counts (one per
    layer of the declared ``sizes``); every statistic must then be (rows, layers),
    every metric (rows,) and every monitor record at most ``rows`` rows of at most
    one value per parameter (or per layer and step). Entries without the prefix
    are not read.
    """
    from decaylab._files import entry_header, entry_ratio, read_entry

    names = {k[len(prefix) :] for k in archive.files if k.startswith(prefix)}
    if "epoch" in names:
        entry_header(path, archive, prefix + "epoch")  # a pickle is named as such first
    for key in ("settings_json", "epoch"):
        if key not in names:
            raise DataFileError(f"{path} is not a decaylab History: no entry {prefix + key!r}")

    def read(key, **bounds):
        return read_entry(path, archive, prefix + key, **bounds)

    out = {"settings_json": read("settings_json", shape=())}
    try:
        settings = json.loads(str(out["settings_json"]))
    except (ValueError, RecursionError) as exc:
        raise DataFileError(f"{path}: {prefix}settings_json is not valid JSON ({exc})") from None
    settings = settings if isinstance(settings, dict) else {}
    declared = settings.get("epochs")
    if isinstance(declared, int) and not isinstance(declared, bool) and declared >= 0:
        max_rows = declared + 1 if max_rows is None else min(max_rows, declared + 1)
    found, _ = entry_header(path, archive, prefix + "epoch")
    # Strictly increasing integers deflate about 5 to 1; a record whose epoch numbers (or
    # layer counts) deflate far more declares a size it does not hold.
    for key in ("epoch", "weights.counts", "biases.counts"):
        if key in names and entry_ratio(archive, prefix + key) > _MAX_RECORD_RATIO:
            raise DataFileError(
                f"{path}: {prefix}{key} deflates {entry_ratio(archive, prefix + key):.0f} to 1, "
                f"more than {_MAX_RECORD_RATIO} to 1, which distinct epoch numbers and layer "
                "sizes cannot; the file is damaged or crafted"
            )
    if max_rows is not None and len(found) == 1 and found[0] > max_rows:
        raise DataFileError(
            f"{path}: {prefix}epoch has {found[0]} rows; the file declares a record of at most "
            f"{max_rows} rows (up to epoch {max_rows - 1})"
        )
    out["epoch"] = read("epoch", max_size=max_rows)
    rows = int(np.size(out["epoch"]))
    sizes = settings.get("sizes")
    layers = len(sizes) - 1 if isinstance(sizes, list) and len(sizes) >= 2 else None
    for kind in ("weights", "biases"):
        if f"{kind}.counts" not in names:
            raise DataFileError(f"{path} is not a decaylab History: no entry {prefix}{kind}.counts")
        counts = read(f"{kind}.counts", shape=None if layers is None else (layers,))
        layers = int(np.size(counts))
        for name in STATISTICS:
            if f"{kind}.{name}" in names:
                out[f"{kind}.{name}"] = read(f"{kind}.{name}", shape=(rows, layers))
        out[f"{kind}.counts"] = counts
    for name in METRICS:
        if name in names:
            out[name] = read(name, shape=(rows,))
    parameters = int(np.sum(out["weights.counts"], dtype=np.float64)) + int(
        np.sum(out["biases.counts"], dtype=np.float64)
    )
    per_row = max(parameters, layers * int(settings.get("steps_per_epoch", 1) or 1), 1)
    for key in sorted(names):
        if key.startswith("monitors."):
            out[key] = read(key, max_size=rows * per_row)
    return out


def _check_record(arrays, source: str) -> None:
    """Refuse arrays that do not make one consistent History (see History.from_arrays)."""

    def fail(what: str):
        raise DataFileError(f"{source} is not a consistent decaylab History: {what}")

    missing = [
        key
        for key in (
            "epoch",
            "settings_json",
            *(f"{k}.{f.name}" for k in ("weights", "biases") for f in fields(ParameterStats)),
        )
        if key not in arrays
    ]
    if missing:
        fail(f"no entries {missing[:6]}")
    epoch = np.asarray(arrays["epoch"])
    if epoch.ndim != 1 or epoch.size == 0 or epoch.dtype.kind not in "iu":
        fail(f"epoch is a {epoch.dtype} array of shape {epoch.shape}; expected integers (E + 1,)")
    if epoch[0] < 0 or np.any(np.diff(epoch) <= 0):
        fail(f"epoch numbers {epoch[:8].tolist()}... are not strictly increasing from >= 0")
    rows = len(epoch)
    for kind in ("weights", "biases"):
        counts = np.asarray(arrays[f"{kind}.counts"])
        if counts.ndim != 1 or counts.dtype.kind not in "iu" or np.any(counts < 1):
            fail(f"{kind}.counts is {counts!r}; expected positive integers, one per layer")
        for name in STATISTICS:
            _check_real(fail, f"{kind}.{name}", arrays[f"{kind}.{name}"], (rows, len(counts)))
    for name in METRICS:
        if name in arrays:
            _check_real(fail, name, arrays[name], (rows,))
    for key in arrays:
        if key.startswith("monitors."):
            value = np.asarray(arrays[key])
            if key.count(".") < 2 or value.ndim == 0 or len(value) > rows:
                fail(f"{key} has shape {value.shape}; expected at most one row per epoch ({rows})")
            if value.dtype.kind not in "biuf":
                fail(f"{key} holds {value.dtype}; expected numbers")
    text = np.asarray(arrays["settings_json"])
    if text.shape != () or text.dtype.kind != "U":
        fail(f"settings_json is a {text.dtype} array of shape {text.shape}; expected a string")
    try:
        settings = json.loads(str(text))
    except (ValueError, RecursionError) as exc:
        fail(f"settings_json is not valid JSON ({exc})")
    if not isinstance(settings, dict):
        fail(f"settings_json holds a {type(settings).__name__}; expected a JSON object")


def _check_real(fail, name: str, value, shape: tuple[int, ...]) -> None:
    value = np.asarray(value)
    if value.dtype.kind not in "iuf" or value.shape != shape:
        fail(
            f"{name} is a {value.dtype} array of shape {value.shape}; expected real numbers "
            f"of shape {shape}"
        )


def _tolerances(rtol: object, atol: object) -> tuple[float, float]:
    return (
        check_real("rtol", rtol, nonnegative=True),
        check_real("atol", atol, nonnegative=True),
    )


def _arrays_equal(first, second, rtol: float, atol: float) -> bool:
    first, second = np.asarray(first), np.asarray(second)
    if first.shape != second.shape:
        return False
    if (rtol == 0.0 and atol == 0.0) or first.dtype.kind not in "fc":
        return bool(np.array_equal(first, second, equal_nan=first.dtype.kind in "fc"))
    return bool(np.allclose(first, second, rtol=rtol, atol=atol, equal_nan=True))


def _settings_equal(first: dict, second: dict) -> bool:
    # Settings hold lists, numbers and str, and after a save-load round trip
    # the same values in JSON form: compare them in that form.
    return json.dumps(first, sort_keys=True, default=_json_default) == json.dumps(
        second, sort_keys=True, default=_json_default
    )


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"settings value {value!r} of type {type(value).__name__} is not JSON")
