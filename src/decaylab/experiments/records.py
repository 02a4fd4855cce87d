"""The result record every experiment returns, and its conversion to plain JSON values."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from decaylab.experiments.claims import Claim
from decaylab.experiments.estimates import Estimate
from decaylab.history import History

__all__ = ["ExperimentResult", "to_plain"]


def to_plain(value: Any) -> Any:
    """Convert a result (dataclasses, arrays, numpy scalars) into JSON-ready Python values."""
    if isinstance(value, Estimate):
        return {"mean": _finite(value.mean), "stderr": _finite(value.stderr), "n": value.n}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, History):
        return {k: to_plain(v) for k, v in value.to_arrays().items() if k != "settings_json"}
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return [to_plain(v) for v in value.tolist()] if value.ndim else _finite(float(value))
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _finite(float(value))
    return value


def _finite(x: Any) -> Any:
    # JSON has no NaN; None says "not measured".
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return None if isinstance(x, float) and not math.isfinite(x) else x


@dataclass
class ExperimentResult:
    """Base of every experiment's result record.

    Subclasses add the data behind the answer (plain arrays indexed by run,
    epoch and layer) and the measured numbers, and implement :meth:`table`.

    Attributes
    ----------
    settings : dict
        Every argument the experiment ran with (data set name, sizes, η, λ, m,
        epochs, seeds, ...).
    prediction : str
        What the theory or the claim under test predicts, stated before
        looking at the measurement (it contains no measured number).
    verdict : str
        The answer, computed from the measured numbers by the module's
        ``verdict`` function with the thresholds recorded in ``settings``.
    diverged : list of str
        A description of every training run that diverged (non-finite
        weights or cost); their numbers are left out of the estimates.
    """

    number: ClassVar[int] = 0
    title: ClassVar[str] = ""
    question: ClassVar[str] = ""

    settings: dict
    prediction: str
    verdict: str
    diverged: list[str]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # @dataclass writes a __repr__ listing every array unless the class
        # already has one in its own namespace: give it the compact one first.
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = ExperimentResult.__repr__

    def __repr__(self) -> str:
        """One line: the experiment, its verdict (cut at 80 characters) and its data's sizes."""
        verdict = self.verdict if len(self.verdict) <= 80 else self.verdict[:79] + "…"
        arrays = [
            f"{f.name}{list(value.shape)}"
            for f in dataclasses.fields(self)
            if isinstance(value := getattr(self, f.name), np.ndarray) and value.ndim
        ]
        shown = f", arrays: {' '.join(arrays)}" if arrays else ""
        diverged = f", {len(self.diverged)} diverged" if self.diverged else ""
        return f"{type(self).__name__}(Q{self.number}, verdict={verdict!r}{diverged}{shown})"

    def table(self) -> tuple[list[str], list[list[str]]]:
        """The measured numbers as (header, rows) of strings, for reports."""
        raise NotImplementedError

    def claims(self) -> list[Claim]:
        """The claims this experiment decides, each with a verdict computed from its numbers."""
        return []

    def to_dict(self) -> dict:
        """All fields as plain Python values (lists, floats, str; NaN as None), JSON-ready."""
        out = {"number": self.number, "title": self.title, "question": self.question}
        out.update(to_plain(self))
        return out

    def summary(self) -> str:
        """A plain-text account: the question, the table, the prediction and the verdict."""
        header, rows = self.table()
        widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
        lines = [f"Q{self.number}. {self.title}", self.question, ""]
        lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
        lines += ["", f"Prediction: {self.prediction}", f"Verdict: {self.verdict}"]
        if self.diverged:
            lines.append(f"Diverged runs ({len(self.diverged)}): " + "; ".join(self.diverged))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()
