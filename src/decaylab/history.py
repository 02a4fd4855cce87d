"""The record of a training run: plain NumPy arrays indexed by epoch.

Row 0 of every array is the state before training; row e the state after
epoch e. Per-layer statistics have one column per weight layer.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields

import numpy as np

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
    stats = {name: np.empty(len(arrays)) for name in STATISTICS}
    for i, w in enumerate(arrays):
        flat = w.reshape(-1)
        sq = float(np.dot(flat, flat))
        absolute = np.abs(flat)
        stats["norm"][i] = np.sqrt(sq)
        stats["rms"][i] = np.sqrt(sq / flat.size)
        stats["l1"][i] = absolute.sum()
        stats["mean_abs"][i] = stats["l1"][i] / flat.size
        stats["sum"][i] = flat.sum()
        stats["variance"][i] = flat.var()
        stats["max_abs"][i] = absolute.max()
    return stats


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

    def __repr__(self) -> str:
        s = self.settings
        keys = ("sizes", "eta", "lmbda", "batch_size", "decay")
        shown = ", ".join(f"{k}={s[k]!r}" for k in keys if k in s)
        return f"History({self.n_epochs} epochs, {shown})"

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
        """Rebuild a History from :meth:`to_arrays` output."""
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
        """Write the history to ``path`` in ``.npz`` format (no pickle).

        The file is written exactly at ``path``; no ``.npz`` suffix is added.
        """
        with open(path, "wb") as file:
            np.savez_compressed(file, **self.to_arrays())

    @classmethod
    def load(cls, path: str | os.PathLike) -> History:
        """Read a history written by :meth:`save`, without executing anything."""
        from decaylab._files import open_npz

        with open_npz(path) as arrays:
            return cls.from_arrays({k: arrays[k] for k in arrays.files}, source=str(path))

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


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"settings value {value!r} of type {type(value).__name__} is not JSON")
